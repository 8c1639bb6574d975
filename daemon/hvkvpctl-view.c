/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hvkvpctl-view.c - settings as hvkvpctl shows them: columns side by side, or JSON. */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>

#include "hvkvpctl-view.h"
#include "link.h"
#include "util.h"

static void line(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static void line(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len && len + 1 < size)
		buf[len++] = '\n';
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

void ctl_view_from_settings(struct ctl_view *v, const struct failover_settings *s)
{
	char ip[INET6_ADDRSTRLEN];

	v->present = true;
	for (size_t i = 0; i < s->n_addrs; i++)
		line(v->addrs, sizeof(v->addrs), "%s/%u",
		     failover_ip_to_string(s->addrs[i].family, &s->addrs[i].addr, ip, sizeof(ip)),
		     s->addrs[i].prefixlen);
	for (size_t i = 0; i < s->n_gateways; i++)
		line(v->gws, sizeof(v->gws), "%s",
		     failover_ip_to_string(s->gateways[i].family, &s->gateways[i].addr, ip, sizeof(ip)));
	for (size_t i = 0; i < s->n_dns; i++)
		line(v->dns, sizeof(v->dns), "%s",
		     failover_ip_to_string(s->dns[i].family, &s->dns[i].addr, ip, sizeof(ip)));
	v->dhcp = s->dhcp4;
}

void ctl_view_from_link(struct ctl_view *v, const struct link_state *l, const struct kvp_ip_fields *live)
{
	char ip[INET6_ADDRSTRLEN];

	v->present = true;
	for (size_t i = 0; l && i < l->n_addrs; i++) {
		const struct link_addr *x = &l->addrs[i];

		if (x->scope != RT_SCOPE_UNIVERSE)
			continue; /* link-local addresses are nobody's to change */
		line(v->addrs, sizeof(v->addrs), "%s/%u",
		     failover_ip_to_string(x->family, &x->addr, ip, sizeof(ip)), x->prefixlen);
	}
	for (size_t i = 0; l && i < l->n_routes; i++)
		if (l->routes[i].has_gateway && !l->routes[i].dst_len)
			line(v->gws, sizeof(v->gws), "%s",
			     failover_ip_to_string(l->routes[i].family, &l->routes[i].gateway, ip,
						   sizeof(ip)));
	for (const char *p = live->dns_addr; *p;) {
		size_t len = strcspn(p, ";");
		line(v->dns, sizeof(v->dns), "%.*s", (int)len, p);
		p += len + (p[len] == ';');
	}
	v->dhcp = live->dhcp_enabled;
}

void ctl_view_from_fields(struct ctl_view *v, const struct kvp_ip_fields *f)
{
	_cleanup_free_ struct failover_settings *s = malloc(sizeof(*s));
	char err[256], e1[ESCAPED_SIZE(KVP_IP_ADDR_BYTES)];

	if (s && failover_parse(f, s, err, sizeof(err)) == 0) {
		ctl_view_from_settings(v, s);
		return;
	}
	/* what does not parse is shown as it came */
	v->present = true;
	line(v->addrs, sizeof(v->addrs), "IPAddresses=%s", escape_str(e1, sizeof(e1), f->ip_addr));
	line(v->addrs, sizeof(v->addrs), "Subnets=%s", escape_str(e1, sizeof(e1), f->sub_net));
	line(v->gws, sizeof(v->gws), "%s", escape_str(e1, sizeof(e1), f->gate_way));
	line(v->dns, sizeof(v->dns), "%s", escape_str(e1, sizeof(e1), f->dns_addr));
	v->dhcp = f->dhcp_enabled;
}

enum { ROW_WHEN, ROW_BY, ROW_RESULT, ROW_ADDRS, ROW_GWS, ROW_DNS, ROW_DHCP, N_ROWS };
static const char *const row_labels[N_ROWS] = { "when", "by", "result", "addresses", "gateways", "DNS", "DHCPv4" };

static const char *cell(const struct ctl_view *v, unsigned row)
{
	if (!v->present)
		return "-";
	switch (row) {
	case ROW_WHEN:
		return v->when;
	case ROW_BY:
		return v->by;
	case ROW_RESULT:
		return v->result;
	case ROW_ADDRS:
		return isempty(v->addrs) ? "(none)" : v->addrs;
	case ROW_GWS:
		return isempty(v->gws) ? "(none)" : v->gws;
	case ROW_DNS:
		return isempty(v->dns) ? "(none)" : v->dns;
	default:
		return v->dhcp < 0 ? "?" : v->dhcp ? "on" : "off";
	}
}

/* The line'th line of a cell ("" past its end), its length in *ret_len. */
static const char *nth_line(const char *c, unsigned n, int *ret_len)
{
	for (; n > 0 && c; n--) {
		c = strchr(c, '\n');
		if (c)
			c++;
	}
	if (!c) {
		*ret_len = 0;
		return "";
	}
	*ret_len = (int)strcspn(c, "\n");
	return c;
}

/* One line of a row, without trailing blanks. */
static void print_line(const char *label, const struct ctl_view *const *views, const int *width,
		       size_t n, unsigned row, unsigned i)
{
	char buf[4096];
	size_t off = (size_t)snprintf(buf, sizeof(buf), "  %-12s", i == 0 ? label : "");

	for (size_t k = 0; k < n && off < sizeof(buf); k++) {
		int len;
		const char *c = nth_line(cell(views[k], row), i, &len);

		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "  %.*s%*s", len, c,
					k + 1 < n ? width[k] - len : 0, "");
	}
	off = MIN(off, sizeof(buf) - 1);
	while (off > 0 && buf[off - 1] == ' ')
		off--;
	printf("%.*s\n", (int)off, buf);
}

void ctl_view_print(const char *const *heads, const struct ctl_view *const *views, size_t n)
{
	int width[8] = { 0 };

	n = MIN(n, ARRAY_SIZE(width));
	for (size_t k = 0; k < n; k++) {
		width[k] = (int)strlen(heads[k]);
		for (unsigned row = 0; row < N_ROWS; row++) {
			const char *c = cell(views[k], row);
			int len;

			for (unsigned i = 0; *nth_line(c, i, &len) || len; i++)
				width[k] = MAX(width[k], len);
		}
	}
	printf("  %-12s", "");
	for (size_t k = 0; k < n; k++)
		printf("  %-*s", k + 1 < n ? width[k] : 0, heads[k]);
	printf("\n");
	for (unsigned row = 0; row < N_ROWS; row++) {
		bool any = row >= ROW_ADDRS;

		for (size_t k = 0; k < n && !any; k++)
			any = views[k]->present && !isempty(cell(views[k], row));
		if (!any)
			continue;
		for (unsigned i = 0;; i++) {
			bool more = false;

			for (size_t k = 0; k < n; k++) {
				int len;
				nth_line(cell(views[k], row), i, &len);
				more = more || len > 0 || i == 0;
			}
			if (!more)
				break;
			print_line(row_labels[row], views, width, n, row, i);
		}
	}
}

static void json_lines(struct json *j, const char *key, const char *lines)
{
	json_key(j, key);
	json_begin_array(j);
	for (const char *p = lines; *p;) {
		size_t len = strcspn(p, "\n");
		json_string_len(j, p, len);
		p += len + (p[len] == '\n');
	}
	json_end_array(j);
}

void ctl_view_json(struct json *j, const char *key, const struct ctl_view *v)
{
	json_key(j, key);
	if (!v->present) {
		json_null(j);
		return;
	}
	json_begin_object(j);
	json_lines(j, "addresses", v->addrs);
	json_lines(j, "gateways", v->gws);
	json_lines(j, "dns", v->dns);
	if (v->dhcp < 0)
		json_kv_null(j, "dhcp4");
	else
		json_kv_bool(j, "dhcp4", v->dhcp);
	json_end_object(j);
}

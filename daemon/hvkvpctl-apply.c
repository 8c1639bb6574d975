/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hvkvpctl-apply.c - `hvkvpctl apply`: flags checked in the user's terms, one family at a time, dry run. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <stdio.h>

#include "adapter.h"
#include "addr-probe.h"
#include "backend.h"
#include "dns.h"
#include "failover.h"
#include "hv-error.h"
#include "hvkvpctl.h"
#include "hvkvpctl-view.h"
#include "link.h"
#include "netlink.h"
#include "settings-file.h"
#include "state.h"

#define MAX_GW 8

struct cli_settings {
	const char *adapter;
	const char *v4[FAILOVER_MAX_ADDRS], *v4mask[FAILOVER_MAX_ADDRS];
	const char *v6[FAILOVER_MAX_ADDRS], *v6len[FAILOVER_MAX_ADDRS];
	const char *gw4[MAX_GW], *gw6[MAX_GW];
	const char *dns4[2], *dns6[2]; /* preferred, alternate */
	size_t n4, n4mask, n6, n6len, ngw4, ngw6;
	bool dhcp, clear4, clear6;
};

struct apply_args {
	struct cli_settings c;
	const char *file;
	bool dry, any;
};

/* Whether the command line gives settings of a family (not counting --clear-*). */
static bool sets_v4(const struct cli_settings *c)
{
	return c->n4 || c->n4mask || c->ngw4 || c->dns4[0] || c->dns4[1] || c->dhcp;
}

static bool sets_v6(const struct cli_settings *c)
{
	return c->n6 || c->n6len || c->ngw6 || c->dns6[0] || c->dns6[1];
}

/* ---- the flags, checked one by one ---------------------------------------------------- */

static int push(const char **arr, size_t *n, size_t max, const char *v, const char *flag)
{
	if (*n >= max)
		return ctl_error(EXIT_INVALID, "%s given more than %zu times", flag, max);
	arr[(*n)++] = v;
	return EXIT_OK;
}

/* A flag that takes one value, given twice. */
static int once(const char **slot, const char *v, const char *flag, const char *hint)
{
	if (*slot && !streq(*slot, v))
		return ctl_error(EXIT_INVALID, "%s given twice ('%s' and '%s'): it takes one value%s",
				 flag, ctl_esc(0, *slot), ctl_esc(1, v), hint);
	*slot = v;
	return EXIT_OK;
}

static int apply_option(struct apply_args *args, const struct ctl_optval *o)
{
	struct cli_settings *c = &args->c;
	const char *v = o->value;

	args->any = args->any || (o->id != O_DRY && o->id != O_FILE && o->id != O_ADAPTER);
	switch (o->id) {
	case O_ADAPTER:
		return once(&c->adapter, v, "--adapter", "");
	case O_V4:
		return push(c->v4, &c->n4, FAILOVER_MAX_ADDRS, v, "--ipv4-address");
	case O_V4MASK:
		return push(c->v4mask, &c->n4mask, FAILOVER_MAX_ADDRS, v, "--ipv4-subnet-mask");
	case O_GW4:
		return push(c->gw4, &c->ngw4, MAX_GW, v, "--ipv4-default-gateway");
	case O_V6:
		return push(c->v6, &c->n6, FAILOVER_MAX_ADDRS, v, "--ipv6-address");
	case O_V6LEN:
		return push(c->v6len, &c->n6len, FAILOVER_MAX_ADDRS, v, "--ipv6-subnet-prefix-length");
	case O_GW6:
		return push(c->gw6, &c->ngw6, MAX_GW, v, "--ipv6-default-gateway");
	case O_DNS4P:
		return once(&c->dns4[0], v, "--ipv4-preferred-dns-server",
			    " (a second server goes to --ipv4-alternate-dns-server)");
	case O_DNS4A:
		return once(&c->dns4[1], v, "--ipv4-alternate-dns-server", "");
	case O_DNS6P:
		return once(&c->dns6[0], v, "--ipv6-preferred-dns-server",
			    " (a second server goes to --ipv6-alternate-dns-server)");
	case O_DNS6A:
		return once(&c->dns6[1], v, "--ipv6-alternate-dns-server", "");
	case O_DHCP:
		c->dhcp = true;
		return EXIT_OK;
	case O_CLEAR4:
		c->clear4 = true;
		return EXIT_OK;
	case O_CLEAR6:
		c->clear6 = true;
		return EXIT_OK;
	case O_DRY:
		args->dry = true;
		return EXIT_OK;
	case O_FILE:
		return once(&args->file, v, "--file", "");
	default:
		return EXIT_USAGE;
	}
}

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

/* An address for `flag` of `family`, optionally with "/N" when with_prefix;
 * an address of the other family names the flag to use instead. */
static int check_ip(const char *flag, const char *other_flag, const char *v, int family,
		    bool with_prefix, int *ret_prefix)
{
	char addr[INET6_ADDRSTRLEN + 8];
	unsigned char buf[sizeof(struct in6_addr)];
	int other = family == AF_INET ? AF_INET6 : AF_INET, max = family == AF_INET ? 32 : 128;
	const char *slash = with_prefix ? strchr(v, '/') : NULL;
	unsigned long n;

	if (ret_prefix)
		*ret_prefix = -1;
	if (strlen(v) >= sizeof(addr))
		goto bad;
	strscpy(addr, sizeof(addr), v);
	if (slash)
		addr[slash - v] = '\0';
	if (inet_pton(other, addr, buf) == 1)
		return ctl_error(EXIT_INVALID, "%s '%s' is an %s address: give it with %s", flag,
				 ctl_esc(0, v), family_name(other), other_flag);
	if (inet_pton(family, addr, buf) != 1)
		goto bad;
	if (slash) {
		if (parse_uint(slash + 1, (unsigned long)max, &n) < 0 || n == 0)
			return ctl_error(EXIT_INVALID,
					 "%s '%s': the prefix length after '/' must be 1..%d", flag,
					 ctl_esc(0, v), max);
		*ret_prefix = (int)n;
	}
	return EXIT_OK;
bad:
	return ctl_error(EXIT_INVALID, "%s '%s' is not an %s address (such as %s)", flag, ctl_esc(0, v),
			 family_name(family),
			 family == AF_INET ? (with_prefix ? "192.0.2.10 or 192.0.2.10/24" : "192.0.2.1")
					   : (with_prefix ? "2001:db8::10 or 2001:db8::10/64" : "2001:db8::1"));
}

static int check_v4mask(const char *v)
{
	struct in_addr m;
	unsigned long n;

	if (parse_uint(v, 32, &n) == 0 && n > 0)
		return EXIT_OK;
	if (inet_pton(AF_INET, v, &m) == 1 && failover_mask_to_prefix(m) > 0)
		return EXIT_OK;
	return ctl_error(EXIT_INVALID,
			 "--ipv4-subnet-mask '%s' is not valid: give a prefix length 1..32 or a contiguous dotted mask such as 255.255.255.0",
			 ctl_esc(0, v));
}

static int check_v6len(const char *v)
{
	unsigned long n;

	if (parse_uint(v[0] == '/' ? v + 1 : v, 128, &n) == 0 && n > 0)
		return EXIT_OK;
	return ctl_error(EXIT_INVALID,
			 "--ipv6-subnet-prefix-length '%s' is not valid: give a prefix length 1..128",
			 ctl_esc(0, v));
}

/* How many addresses of a family lack a "/N": they take the masks. */
static int count_masks(const char *flag, const char *mask_flag, size_t n_addrs, size_t n_without,
		       size_t n_masks)
{
	if (n_masks == n_without || (n_masks == 1 && n_without > 1) || (n_masks == 0 && n_without == 0))
		return EXIT_OK;
	if (n_masks > 0 && n_without == 0 && n_addrs > 0)
		return ctl_usage("%s has its prefix length after '/' already: drop %s", flag, mask_flag);
	return ctl_usage("%zu %s without '/N' but %zu %s: give one per address, or one for all (or write A/N)",
			 n_without, flag, n_masks, mask_flag);
}

/* Every value in the user's terms, before anything else looks at them. */
static int check_flags(const struct cli_settings *c, int *pfx4, int *pfx6)
{
	size_t without4 = 0, without6 = 0;
	int ec = EXIT_OK;

	for (size_t i = 0; i < c->n4 && !ec; i++) {
		ec = check_ip("--ipv4-address", "--ipv6-address", c->v4[i], AF_INET, true, &pfx4[i]);
		without4 += pfx4[i] < 0;
	}
	for (size_t i = 0; i < c->n6 && !ec; i++) {
		ec = check_ip("--ipv6-address", "--ipv4-address", c->v6[i], AF_INET6, true, &pfx6[i]);
		without6 += pfx6[i] < 0;
	}
	for (size_t i = 0; i < c->n4mask && !ec; i++)
		ec = check_v4mask(c->v4mask[i]);
	for (size_t i = 0; i < c->n6len && !ec; i++)
		ec = check_v6len(c->v6len[i]);
	for (size_t i = 0; i < c->ngw4 && !ec; i++)
		ec = check_ip("--ipv4-default-gateway", "--ipv6-default-gateway", c->gw4[i], AF_INET,
			      false, NULL);
	for (size_t i = 0; i < c->ngw6 && !ec; i++)
		ec = check_ip("--ipv6-default-gateway", "--ipv4-default-gateway", c->gw6[i], AF_INET6,
			      false, NULL);
	for (size_t i = 0; i < 2 && !ec; i++)
		if (c->dns4[i])
			ec = check_ip(i ? "--ipv4-alternate-dns-server" : "--ipv4-preferred-dns-server",
				      i ? "--ipv6-alternate-dns-server" : "--ipv6-preferred-dns-server",
				      c->dns4[i], AF_INET, false, NULL);
	for (size_t i = 0; i < 2 && !ec; i++)
		if (c->dns6[i])
			ec = check_ip(i ? "--ipv6-alternate-dns-server" : "--ipv6-preferred-dns-server",
				      i ? "--ipv4-alternate-dns-server" : "--ipv4-preferred-dns-server",
				      c->dns6[i], AF_INET6, false, NULL);
	if (!ec && c->ngw4 + c->ngw6 > FAILOVER_MAX_GATEWAYS)
		ec = ctl_error(EXIT_INVALID,
			       "%zu default gateways given: the host allows %d in all (IPv4 and IPv6)",
			       c->ngw4 + c->ngw6, FAILOVER_MAX_GATEWAYS);
	if (!ec)
		ec = count_masks("--ipv4-address", "--ipv4-subnet-mask", c->n4, without4, c->n4mask);
	if (!ec)
		ec = count_masks("--ipv6-address", "--ipv6-subnet-prefix-length", c->n6, without6,
				 c->n6len);
	return ec;
}

/* ---- the host's strings, and what each of their items came from ----------------------- */

/* The label of each item of the four lists, to say a rejection in the
 * user's terms: "--ipv4-address '...'" for "IPAddresses[0] '...'". */
struct origin {
	const char *ip[FAILOVER_MAX_ADDRS * 2], *sub[FAILOVER_MAX_ADDRS * 2];
	const char *gw[FAILOVER_MAX_GATEWAYS * 4], *dns[FAILOVER_MAX_DNS];
	size_t n_ip, n_sub, n_gw, n_dns;
};

static int add(char *list, size_t size, const char **labels, size_t *n, size_t max, const char *v,
	       const char *label)
{
	if (*n >= max || strlist_append(list, size, v) < 0)
		return ctl_error(EXIT_INVALID, "the settings are longer than the host's fields allow");
	labels[(*n)++] = label;
	return EXIT_OK;
}

#define ADD(field, lab, v, label) \
	add(f->field, sizeof(f->field), o->lab, &o->n_##lab, ARRAY_SIZE(o->lab), (v), (label))

/* An address flag's value without its "/N" (that goes to Subnets). */
static const char *addr_part(const char *v, char *buf, size_t size)
{
	strscpy(buf, size, v);
	buf[strcspn(buf, "/")] = '\0';
	return buf;
}

/* The named families from the flags. */
static int flags_to_fields(const struct cli_settings *c, const int *pfx4, const int *pfx6,
			   struct kvp_ip_fields *f, struct origin *o)
{
	char num[16], addr[INET6_ADDRSTRLEN + 8];
	const char *sub;
	size_t k = 0;
	int ec = EXIT_OK;

	for (size_t i = 0; i < c->n4 && !ec; i++) {
		ec = ADD(ip_addr, ip, addr_part(c->v4[i], addr, sizeof(addr)), "--ipv4-address");
		if (pfx4[i] >= 0) {
			snprintf(num, sizeof(num), "%d", pfx4[i]);
			sub = num;
		} else
			sub = c->v4mask[c->n4mask == 1 ? 0 : k++];
		ec = ec ?: ADD(sub_net, sub, sub, pfx4[i] >= 0 ? "--ipv4-address" : "--ipv4-subnet-mask");
	}
	k = 0;
	for (size_t i = 0; i < c->n6 && !ec; i++) {
		ec = ADD(ip_addr, ip, addr_part(c->v6[i], addr, sizeof(addr)), "--ipv6-address");
		if (pfx6[i] >= 0) {
			snprintf(num, sizeof(num), "%d", pfx6[i]);
			sub = num;
		} else {
			sub = c->v6len[c->n6len == 1 ? 0 : k++];
			sub += sub[0] == '/';
		}
		ec = ec ?: ADD(sub_net, sub, sub,
			       pfx6[i] >= 0 ? "--ipv6-address" : "--ipv6-subnet-prefix-length");
	}
	for (size_t i = 0; i < c->ngw4 && !ec; i++)
		ec = ADD(gate_way, gw, c->gw4[i], "--ipv4-default-gateway");
	for (size_t i = 0; i < c->ngw6 && !ec; i++)
		ec = ADD(gate_way, gw, c->gw6[i], "--ipv6-default-gateway");
	for (size_t i = 0; i < 2 && !ec; i++)
		if (c->dns4[i])
			ec = ADD(dns_addr, dns, c->dns4[i],
				 i ? "--ipv4-alternate-dns-server" : "--ipv4-preferred-dns-server");
	for (size_t i = 0; i < 2 && !ec; i++)
		if (c->dns6[i])
			ec = ADD(dns_addr, dns, c->dns6[i],
				 i ? "--ipv6-alternate-dns-server" : "--ipv6-preferred-dns-server");
	f->dhcp_enabled = f->dhcp_enabled || c->dhcp;
	return ec;
}

/* The family not named on the command line stays as the link has it: its
 * own (permanent, global) addresses, its gateways, its DNS servers, its
 * DHCP. What DHCP or router advertisements gave is theirs, not copied. */
static int keep_family(int family, const struct link_state *l, const struct kvp_ip_fields *live,
		       struct kvp_ip_fields *f, struct origin *o)
{
	const char *what = family == AF_INET ? "the link's IPv4 address (kept)" : "the link's IPv6 address (kept)";
	char ip[INET6_ADDRSTRLEN], num[16];
	bool dhcp = family == AF_INET && live->dhcp_enabled;
	int ec = EXIT_OK;

	if (dhcp)
		f->dhcp_enabled = 1;
	for (size_t i = 0; i < l->n_addrs && !ec && !dhcp; i++) {
		const struct link_addr *x = &l->addrs[i];

		if (x->family != family || x->scope != RT_SCOPE_UNIVERSE || !x->permanent)
			continue;
		snprintf(num, sizeof(num), "%u", x->prefixlen);
		ec = ADD(ip_addr, ip, failover_ip_to_string(family, &x->addr, ip, sizeof(ip)), what);
		ec = ec ?: ADD(sub_net, sub, num, what);
	}
	for (size_t i = 0; i < l->n_routes && !ec && !dhcp; i++) {
		const struct link_route *x = &l->routes[i];

		if (x->family != family || !x->has_gateway || x->dst_len || x->protocol == RTPROT_RA ||
		    x->protocol == RTPROT_DHCP)
			continue;
		ec = ADD(gate_way, gw, failover_ip_to_string(family, &x->gateway, ip, sizeof(ip)),
			 family == AF_INET ? "the link's IPv4 gateway (kept)" : "the link's IPv6 gateway (kept)");
	}
	for (const char *p = live->dns_addr; *p && !ec;) {
		size_t len = strcspn(p, ";");
		unsigned char b[sizeof(struct in6_addr)];

		if (len < sizeof(ip)) {
			memcpy(ip, p, len);
			ip[len] = '\0';
			if (inet_pton(family, ip, b) == 1)
				ec = ADD(dns_addr, dns, ip,
					 family == AF_INET ? "the link's IPv4 DNS server (kept)"
							   : "the link's IPv6 DNS server (kept)");
		}
		p += len + (p[len] == ';');
	}
	return ec;
}

/* failover_parse()'s sentence with each "Field[i]" said as its origin. */
static void translate(const char *msg, const struct origin *o, char *buf, size_t size)
{
	static const struct {
		const char *name;
		size_t off_labels, off_n;
	} fields[] = {
		{ "IPAddresses[", offsetof(struct origin, ip), offsetof(struct origin, n_ip) },
		{ "Subnets[", offsetof(struct origin, sub), offsetof(struct origin, n_sub) },
		{ "DefaultGateways[", offsetof(struct origin, gw), offsetof(struct origin, n_gw) },
		{ "DNSServers[", offsetof(struct origin, dns), offsetof(struct origin, n_dns) },
	};
	size_t n = 0;

	if (strstr(msg, "nothing to configure")) {
		strscpy(buf, size,
			"nothing would be left to configure: give an address or --dhcp (to give the link its own configuration back: hvkvpctl revert)");
		return;
	}
	while (*msg && n + 1 < size) {
		bool done = false;

		for (size_t f = 0; f < ARRAY_SIZE(fields) && !done; f++) {
			size_t len = strlen(fields[f].name);
			const char *const *labels = (const void *)((const char *)o + fields[f].off_labels);
			size_t nl = *(const size_t *)(const void *)((const char *)o + fields[f].off_n);
			char *end;
			unsigned long i;

			if (strncmp(msg, fields[f].name, len) != 0)
				continue;
			i = strtoul(msg + len, &end, 10);
			if (*end != ']' || i >= nl)
				continue;
			n += (size_t)snprintf(buf + n, size - n, "%s", labels[i]);
			n = MIN(n, size - 1);
			msg = end + 1;
			done = true;
		}
		if (!done)
			buf[n++] = *msg++;
	}
	buf[n] = '\0';
}

/* ---- dry run ---------------------------------------------------------------------- */

/* Whether the backend could run now: its daemon on the bus, its directory
 * writable, the capability. NULL when it could, else why not. */
static const char *backend_unreachable(const char *backend, const struct failover_settings *s,
				       int *ret_status)
{
	*ret_status = EXIT_FAILED;
	if (streq(backend, "networkmanager")) {
		if (bus_name_has_owner(NULL, "org.freedesktop.NetworkManager") != 1)
			return "NetworkManager is not on the system bus";
	} else if (streq(backend, "networkd")) {
		if (bus_name_has_owner(NULL, "org.freedesktop.network1") != 1)
			return "systemd-networkd is not on the system bus";
		/* where backend-networkd.c writes its .network files */
		if (access("/etc/systemd/network", W_OK) < 0 &&
		    (errno != ENOENT || access("/etc/systemd", W_OK) < 0)) {
			*ret_status = geteuid() ? EXIT_NO_ROOT : EXIT_FAILED;
			return "/etc/systemd/network is not writable (run with sudo)";
		}
	}
	if (!ctl_have_net_admin()) {
		*ret_status = EXIT_NO_ROOT;
		return "this user lacks CAP_NET_ADMIN (run with sudo)";
	}
	if (streq(backend, "netlink") && s->n_dns > 0 &&
	    bus_name_has_owner(NULL, "org.freedesktop.resolve1") != 1 && access("/etc", W_OK) < 0) {
		*ret_status = geteuid() ? EXIT_NO_ROOT : EXIT_FAILED;
		return "/etc/resolv.conf cannot be written (run with sudo)";
	}
	return NULL;
}

static int plan_one(struct link_config *ic, const struct kvp_ip_fields *f, const char *shown)
{
	_cleanup_free_ struct failover_settings *s = malloc(sizeof(*s));
	_cleanup_free_ struct link_state *now = NULL;
	_cleanup_free_ struct ctl_view *v_now = calloc(1, sizeof(*v_now));
	_cleanup_free_ struct ctl_view *v_new = calloc(1, sizeof(*v_new));
	struct kvp_ip_fields q = { 0 }, live = { 0 };
	const char *backend = NULL, *why = NULL;
	char err[512] = "", key[ADAPTER_MAC_KEY_SIZE] = "";
	struct adapter a;
	int r, status = EXIT_OK;

	if (!s || !v_now || !v_new)
		return ctl_error(EXIT_FAILED, "out of memory");
	r = link_config_plan(ic, f, &a, &backend, s, &now, err, sizeof(err));
	if (r < 0)
		status = ctl_error(ctl_exit_code(r), "%s: %s", ctl_esc(0, shown), ctl_esc_line(1, err));
	else {
		adapter_mac_key(a.mac, key, sizeof(key));
		strscpy(q.adapter_id, sizeof(q.adapter_id), a.mac);
		if (link_config_get(ic, &q, &live) < 0)
			memset(&live, 0, sizeof(live));
		ctl_view_from_link(v_now, now, &live);
		ctl_view_from_settings(v_new, s);
		why = backend_unreachable(backend, s, &status);
		if (!why)
			status = EXIT_OK;
	}
	if (arg_json) {
		json_begin_object(&out);
		json_kv_string(&out, "adapter", shown);
		json_kv_string(&out, "ifname", r == 0 ? a.ifname : NULL);
		json_kv_string(&out, "mac", r == 0 ? key : NULL);
		json_kv_string(&out, "backend", r == 0 ? backend : NULL);
		json_kv_bool(&out, "backend_reachable", r == 0 && !why);
		json_kv_string(&out, "result", r < 0 ? hv_error_to_string(hv_error_from_errno(r)) : why ? "unreachable" : "ok");
		json_kv_string(&out, "message", r < 0 ? err : why ? why : "nothing changed (dry run)");
		if (r == 0) {
			ctl_view_json(&out, "now", v_now);
			ctl_view_json(&out, "would_be", v_new);
		} else {
			json_kv_null(&out, "now");
			json_kv_null(&out, "would_be");
		}
		json_end_object(&out);
	} else if (r == 0) {
		const char *heads[2] = { "now", "would be" };
		const struct ctl_view *views[2] = { v_now, v_new };

		if (why)
			printf("%s (%s): nothing changed (dry run)\n", a.ifname, key);
		else
			printf("%s (%s): would apply through %s; nothing changed (dry run)\n", a.ifname,
			       key, backend);
		ctl_view_print(heads, views, 2);
		fflush(stdout);
	}
	if (why)
		ctl_error(status, "%s: the apply could not run through %s now: %s", a.ifname, backend, why);
	return status;
}

/* ---- apply ------------------------------------------------------------------------ */

static int apply_one(struct link_config *ic, const struct kvp_ip_fields *f, const char *shown,
		     const char *kept)
{
	struct link_config_result res;
	char key[ADAPTER_MAC_KEY_SIZE] = "";
	struct adapter a;
	int r;

	r = link_config_set(ic, f, &res);
	if (adapter_resolve(arg_sysfs_root, f->adapter_id, 0, &a) == 0)
		adapter_mac_key(a.mac, key, sizeof(key));
	if (arg_json) {
		json_begin_object(&out);
		json_kv_string(&out, "adapter", shown);
		json_kv_string(&out, "ifname", isempty(res.ifname) ? NULL : res.ifname);
		json_kv_string(&out, "mac", isempty(key) ? NULL : key);
		json_kv_string(&out, "backend", isempty(res.backend) ? NULL : res.backend);
		json_kv_string(&out, "result", hv_error_to_string(hv_error_from_errno(r)));
		json_kv_string(&out, "message", res.message);
		json_kv_bool(&out, "waiting_for_carrier", res.waiting_for_carrier);
		json_end_object(&out);
	} else if (r == 0)
		printf("%s: %s through %s%s%s%s\n", ctl_esc(0, res.ifname), ctl_esc_line(1, res.message),
		       res.backend,
		       res.waiting_for_carrier ? " (no carrier yet: it applies when the cable is up)" : "",
		       kept ? "; " : "", kept ? kept : "");
	if (r == -EOPNOTSUPP && f->dhcp_enabled && !isempty(res.backend))
		/* the engine's words for it are the host's ("the host asks for DHCP") */
		return ctl_error(EXIT_UNSUPPORTED,
				 "%s: --dhcp: the %s backend cannot do DHCP on this link (no DHCP client runs on it); nothing changed",
				 res.ifname, res.backend);
	if (r < 0 && !isempty(res.backend))
		return ctl_error(ctl_exit_code(r), "%s: not applied through %s: %s; the link is as it was (-v shows the backend's log)",
				 res.ifname, res.backend, ctl_esc_line(1, res.message));
	if (r < 0)
		return ctl_error(ctl_exit_code(r), "%s: %s; nothing changed%s",
				 ctl_esc(0, isempty(res.ifname) ? shown : res.ifname), ctl_esc_line(1, res.message),
				 r == -EACCES || r == -EPERM ? " (run with sudo)" : "");
	return EXIT_OK;
}

/* Reads a settings file and looks its adapters up; returns an exit status. */
static int load_settings_file(const char *path, struct kvp_ip_fields *fields, const char **shown,
			      size_t max, size_t *ret_n)
{
	static struct settings_file *sf;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ struct failover_settings *s = malloc(sizeof(*s));
	struct adapter a;
	size_t len;
	int r, ec;

	if (!s)
		return ctl_error(EXIT_FAILED, "out of memory");
	r = read_file_bounded(path, 0, SETTINGS_FILE_MAX_SIZE, &text, &len);
	if (r == -EFBIG)
		return ctl_error(EXIT_USAGE, "%s: larger than 256 KiB", path);
	if (r < 0)
		return ctl_error(EXIT_USAGE, "%s: %s", path, strerror(-r));
	if (strlen(text) != len)
		return ctl_error(EXIT_USAGE, "%s: contains a NUL byte", path);
	/* kept until exit: shown[] points into it */
	settings_file_free(sf);
	sf = settings_file_new();
	r = sf ? settings_file_parse(sf, text, path) : -ENOMEM;
	if (r == -ENOMEM)
		return ctl_error(EXIT_USAGE, "%s: %s", path, strerror(-r));
	/* an adapter named above a bad line is reported first, in file order */
	for (size_t i = 0; i < sf->n && i < max; i++) {
		struct settings_section *sec = &sf->sections[i];
		char err[512];

		ec = ctl_resolve(sec->adapter, &a, sec->fields.adapter_id, sizeof(sec->fields.adapter_id));
		if (ec != EXIT_OK) {
			fprintf(stderr, "hvkvpctl: %s:%u: in this section header\n", path, sec->line);
			return ec;
		}
		/* the file's keys are the WMI names: the engine's words are its own */
		if (r == 0 && failover_parse(&sec->fields, s, err, sizeof(err)) < 0)
			return ctl_error(EXIT_INVALID, "%s:%u: [%s]: %s", path, sec->line,
					 ctl_esc(0, sec->adapter), ctl_esc_line(1, err));
		fields[i] = sec->fields;
		shown[i] = sec->adapter;
	}
	if (r < 0)
		return ctl_error(EXIT_USAGE, "%s", sf->error);
	*ret_n = MIN(sf->n, max);
	return EXIT_OK;
}

/* Where the link's DNS is a plain resolv.conf (netlink, ifupdown), the
 * servers the family keeps are those of the link's own hvkvpd block: the
 * site's lines serve every link and are not this adapter's settings, and
 * another adapter's block is that adapter's. */
static void keep_own_dns(struct link_config *ic, const struct adapter *a, struct kvp_ip_fields *live)
{
	const char *b = link_config_backend_of(ic, a);
	_cleanup_free_ char *text = NULL;
	struct failover_ip ip[FAILOVER_MAX_DNS];
	char buf[INET6_ADDRSTRLEN];
	size_t n, off = 0;

	if (!b || !(streq(b, "netlink") || streq(b, "ifupdown")))
		return;
	live->dns_addr[0] = '\0';
	if (read_file_bounded(DNS_RESOLV_CONF, O_NOFOLLOW, 1024 * 1024, &text, NULL) < 0)
		return;
	n = dns_resolv_conf_parse_block(text, a->ifname, ip, ARRAY_SIZE(ip));
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(live->dns_addr + off, sizeof(live->dns_addr) - off, "%s%s", off ? ";" : "",
				 failover_ip_to_string(ip[i].family, &ip[i].addr, buf, sizeof(buf)));

		if (k < 0 || (size_t)k >= sizeof(live->dns_addr) - off) {
			live->dns_addr[off] = '\0';
			break;
		}
		off += (size_t)k;
	}
}

/* The settings given on the command line as the host would send them, the
 * family not named kept as the link has it; returns an exit status. */
static int fields_from_cli(struct link_config *ic, const struct cli_settings *c, const int *pfx4,
			   const int *pfx6, struct kvp_ip_fields *f)
{
	_cleanup_free_ struct failover_settings *s = malloc(sizeof(*s));
	_cleanup_free_ struct origin *o = calloc(1, sizeof(*o));
	_cleanup_free_ struct link_state *l = NULL;
	struct nl_sock *sk = NULL;
	struct kvp_ip_fields q = { 0 }, live = { 0 };
	bool named4 = sets_v4(c) || c->clear4, named6 = sets_v6(c) || c->clear6;
	char err[512], msg[1024];
	struct adapter a;
	int ec, r;

	if (!s || !o)
		return ctl_error(EXIT_FAILED, "out of memory");
	memset(f, 0, sizeof(*f));
	ec = ctl_resolve(c->adapter, &a, f->adapter_id, sizeof(f->adapter_id));
	if (ec != EXIT_OK)
		return ec;
	if (!named4 || !named6) {
		r = nlx_open(&sk);
		if (r >= 0) {
			r = nlx_read_link_new(sk, a.ifindex, &l);
			nlx_close(sk);
		}
		if (r < 0)
			return ctl_error(ctl_exit_code(r), "%s: cannot read the link to keep its %s settings: %s",
					 a.ifname, named4 ? "IPv6" : "IPv4", strerror(-r));
		strscpy(q.adapter_id, sizeof(q.adapter_id), a.mac);
		if (link_config_get(ic, &q, &live) < 0)
			memset(&live, 0, sizeof(live));
		keep_own_dns(ic, &a, &live);
	}
	/* in the host's order: IPv4 first */
	ec = named4 ? EXIT_OK : keep_family(AF_INET, l, &live, f, o);
	ec = ec ?: flags_to_fields(c, pfx4, pfx6, f, o);
	if (!ec && !named6)
		ec = keep_family(AF_INET6, l, &live, f, o);
	if (ec)
		return ec;
	f->addr_family = (c->n4 || c->ngw4 ? ADDR_FAMILY_IPV4 : 0) | (c->n6 || c->ngw6 ? ADDR_FAMILY_IPV6 : 0);
	/* what the engine would still refuse, said in the user's terms */
	if (failover_parse(f, s, err, sizeof(err)) < 0) {
		translate(err, o, msg, sizeof(msg));
		return ctl_error(EXIT_INVALID, "%s: %s", a.ifname, ctl_esc_line(0, msg));
	}
	return EXIT_OK;
}

/* Which family an apply from the command line left as it was, for the text. */
static const char *kept_note(const struct cli_settings *c)
{
	bool named4 = sets_v4(c) || c->clear4, named6 = sets_v6(c) || c->clear6;

	if (!named4)
		return "IPv4 kept as it was";
	if (!named6)
		return "IPv6 kept as it was";
	return NULL;
}

static const int apply_opts[] = { O_ADAPTER, O_V4,  O_V4MASK, O_GW4,	O_DNS4P, O_DNS4A,
				  O_V6,	     O_V6LEN, O_GW6,  O_DNS6P,	O_DNS6A, O_DHCP,
				  O_CLEAR4,  O_CLEAR6, O_DRY, O_FILE,	0 };

static int parse_apply_args(const struct ctl_args *a, struct apply_args *args)
{
	struct cli_settings *c = &args->c;
	int ec = ctl_check_opts(a, "apply", apply_opts);

	for (size_t i = 0; i < a->n_opts && ec == EXIT_OK; i++)
		if (a->opts[i].id >= 0x100)
			ec = apply_option(args, &a->opts[i]);
	if (ec != EXIT_OK)
		return ec;
	if (a->argc > 2)
		return ctl_usage("apply takes one adapter; unexpected '%s'", ctl_esc(0, a->argv[2]));
	if (a->argc == 2 && (ec = once(&c->adapter, a->argv[1], "the adapter", "")))
		return ec;
	if (args->file && (args->any || c->adapter))
		return ctl_usage("--file cannot be combined with an adapter or settings");
	if (!args->file && !c->adapter)
		return ctl_usage("apply needs an adapter (e.g. 'apply eth0 ...') or --file FILE");
	if (!args->file && !args->any)
		return ctl_usage("no settings given for %s (e.g. --ipv4-address and --ipv4-subnet-mask, --dhcp, or --clear-ipv6)",
				 ctl_esc(0, c->adapter));
	if (c->clear4 && sets_v4(c))
		return ctl_usage("--clear-ipv4 removes that family's settings: it takes no --ipv4-* setting nor --dhcp");
	if (c->clear6 && sets_v6(c))
		return ctl_usage("--clear-ipv6 removes that family's settings: it takes no --ipv6-* setting");
	return EXIT_OK;
}

int cmd_apply(const struct ctl_args *a)
{
	static struct apply_args args;
	static struct kvp_ip_fields fields[SETTINGS_FILE_MAX_ADAPTERS];
	const char *shown[SETTINGS_FILE_MAX_ADAPTERS] = { 0 };
	_cleanup_(kvp_pool_freep) struct kvp_pool *guest = NULL;
	_cleanup_(ctl_free_link_configp) struct link_config *ic = NULL;
	int pfx4[FAILOVER_MAX_ADDRS], pfx6[FAILOVER_MAX_ADDRS];
	size_t n = 1;
	int ec, r, first = EXIT_OK;

	ec = parse_apply_args(a, &args);
	if (ec == EXIT_OK && !args.file)
		ec = check_flags(&args.c, pfx4, pfx6);
	if (arg_json)
		json_kv_bool(&out, "dry_run", args.dry);
	if (ec != EXIT_OK)
		return ec;
	if (!args.dry && (ec = ctl_need_root("apply")))
		return ec;
	r = ctl_open_link_config(&guest, &ic);
	if (r < 0)
		return ctl_error(ctl_exit_code(r), "cannot start: %s", strerror(-r));
	if (args.file)
		ec = load_settings_file(args.file, fields, shown, ARRAY_SIZE(fields), &n);
	else {
		ec = fields_from_cli(ic, &args.c, pfx4, pfx6, &fields[0]);
		shown[0] = args.c.adapter;
	}
	if (ec != EXIT_OK)
		return ec;
	if (arg_json) {
		json_key(&out, "adapters");
		json_begin_array(&out);
	}
	/* each in turn, all of them even after a failure; the exit status is
	 * that of the first failure */
	for (size_t i = 0; i < n; i++) {
		ec = args.dry ? plan_one(ic, &fields[i], shown[i])
			      : apply_one(ic, &fields[i], shown[i], args.file ? NULL : kept_note(&args.c));
		if (ec != EXIT_OK && first == EXIT_OK)
			first = ec;
	}
	if (arg_json)
		json_end_array(&out);
	/* the later ARP announcements and neighbour advertisements (2 s) */
	if (!args.dry)
		addr_announce_drain(now_usec() + 3 * 1000 * 1000ULL);
	return first;
}

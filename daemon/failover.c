/* SPDX-License-Identifier: GPL-2.0-or-later */
/* failover.c - parse and validate the host's failover settings; never touches the system. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>

#include "failover.h"
#include "util.h"

static int fail(char *err, size_t size, const char *fmt, ...) _printf_(3, 4);
static int fail(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (err && size) {
		va_start(ap, fmt);
		vsnprintf(err, size, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const char *failover_quote(const char *v, size_t len, char *buf, size_t size)
{
	if (escape_bytes(buf, size, v, len) == 0)
		return buf;
	/* cut: again with room for the "..." that says so */
	(void)escape_bytes(buf, size - 3, v, len);
	memcpy(buf + strlen(buf), "...", 4);
	return buf;
}

static const char *shown(const char *v, size_t len, char *buf, size_t size)
{
	return failover_quote(v, len, buf, size);
}

/* Token iterator over a ';'-separated list: blanks trimmed, empties skipped. */
struct tokens {
	const char *p;
	const char *field;
	size_t index;
};

/* Returns 1 with tok/len set, 0 at the end, -EINVAL for an over-long token. */
static int next_token(struct tokens *t, char tok[FAILOVER_MAX_TOKEN + 1], char *err,
		      size_t err_size)
{
	while (*t->p) {
		const char *start = t->p, *end = strchr(start, ';');
		size_t len;

		if (!end)
			end = start + strlen(start);
		t->p = *end ? end + 1 : end;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
				       end[-1] == '\n'))
			end--;
		len = (size_t)(end - start);
		if (len == 0)
			continue;
		if (len > FAILOVER_MAX_TOKEN) {
			char b[48];
			return fail(err, err_size, "%s[%zu] '%s' is too long (%zu bytes, at most %d)",
				    t->field, t->index, shown(start, len, b, sizeof(b)), len,
				    FAILOVER_MAX_TOKEN);
		}
		memcpy(tok, start, len);
		tok[len] = '\0';
		return 1;
	}
	return 0;
}

static bool parse_ip(const char *s, struct failover_ip *ret)
{
	if (inet_pton(AF_INET, s, &ret->addr.in) == 1) {
		ret->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, &ret->addr.in6) == 1) {
		ret->family = AF_INET6;
		return true;
	}
	return false;
}

int failover_mask_to_prefix(struct in_addr mask)
{
	uint32_t m = ntohl(mask.s_addr);
	int n = __builtin_popcount(m);

	/* contiguous: the ones are all on the left */
	if (n != 0 && n < 32 && (uint32_t)(m << n) != 0)
		return -EINVAL;
	if (n == 0 && m != 0)
		return -EINVAL;
	return n;
}

/* Why an address cannot be put on an interface, or NULL when it can. */
static const char *unusable_reason(int family, const union in_addr_union *a, bool as_host)
{
	if (family == AF_INET) {
		uint32_t v = ntohl(a->in.s_addr);

		if (v == 0)
			return "is the unspecified address";
		if ((v >> 24) == 127)
			return "is a loopback address";
		if ((v >> 28) == 0xe)
			return "is a multicast address";
		if (v == 0xffffffffu)
			return "is the broadcast address";
		if (as_host && (v >> 28) == 0xf)
			return "is a reserved (class E) address";
		return NULL;
	}
	if (IN6_IS_ADDR_UNSPECIFIED(&a->in6))
		return "is the unspecified address";
	if (IN6_IS_ADDR_LOOPBACK(&a->in6))
		return "is the loopback address";
	if (IN6_IS_ADDR_MULTICAST(&a->in6))
		return "is a multicast address";
	if (IN6_IS_ADDR_V4MAPPED(&a->in6))
		return "is an IPv4-mapped address";
	return NULL;
}

static int parse_prefix_number(const char *s, int max)
{
	unsigned long v;

	if (*s == '/')
		s++;
	if (parse_uint(s, (unsigned long)max, &v) < 0)
		return -EINVAL;
	return (int)v;
}

/* Subnet token for an address of `family`: IPv4 dotted mask or length;
 * IPv6 length (or a contiguous IPv6 mask, which some tools send). */
static int parse_subnet(int family, const char *s)
{
	struct in_addr m4;
	struct in6_addr m6;

	if (family == AF_INET) {
		if (strchr(s, '.')) {
			if (inet_pton(AF_INET, s, &m4) != 1)
				return -EINVAL;
			return failover_mask_to_prefix(m4);
		}
		return parse_prefix_number(s, 32);
	}
	if (strchr(s, ':')) {
		int n = 0;
		bool zero = false;

		if (inet_pton(AF_INET6, s, &m6) != 1)
			return -EINVAL;
		for (int i = 0; i < 128; i++) {
			bool bit = m6.s6_addr[i / 8] & (0x80 >> (i % 8));
			if (bit && zero)
				return -EINVAL;
			if (bit)
				n++;
			else
				zero = true;
		}
		return n;
	}
	return parse_prefix_number(s, 128);
}

static bool same_ip(int family, const union in_addr_union *a, const union in_addr_union *b)
{
	return family == AF_INET ? a->in.s_addr == b->in.s_addr
				 : memcmp(&a->in6, &b->in6, sizeof(a->in6)) == 0;
}

static int parse_addresses(const struct kvp_ip_fields *in, struct failover_settings *s,
			   char *err, size_t err_size)
{
	struct tokens at = { .p = in->ip_addr, .field = "IPAddresses" };
	struct tokens st = { .p = in->sub_net, .field = "Subnets" };
	char tok[FAILOVER_MAX_TOKEN + 1], sub[FAILOVER_MAX_TOKEN + 1], b[48];
	int r;

	for (;; at.index++, st.index++) {
		struct failover_addr *a;
		struct failover_ip ip;
		const char *why;
		char *slash;
		int plen = -1, sr;

		r = next_token(&at, tok, err, err_size);
		if (r < 0)
			return r;
		sr = next_token(&st, sub, err, err_size);
		if (sr < 0)
			return sr;
		if (r == 0) {
			if (sr > 0)
				return fail(err, err_size,
					    "Subnets[%zu] '%s' has no matching IPAddresses entry",
					    st.index, shown(sub, strlen(sub), b, sizeof(b)));
			return 0;
		}
		if (s->n_addrs >= FAILOVER_MAX_ADDRS)
			return fail(err, err_size,
				    "IPAddresses[%zu] '%s' is one too many (at most %d entries)",
				    at.index, shown(tok, strlen(tok), b, sizeof(b)), FAILOVER_MAX_ADDRS);

		slash = strchr(tok, '/');
		if (slash)
			*slash = '\0';
		if (!parse_ip(tok, &ip))
			return fail(err, err_size,
				    "IPAddresses[%zu] '%s' is not an IPv4 or IPv6 address", at.index,
				    shown(tok, strlen(tok), b, sizeof(b)));
		why = unusable_reason(ip.family, &ip.addr, true);
		if (why)
			return fail(err, err_size, "IPAddresses[%zu] '%s' %s", at.index, tok, why);
		if (slash) {
			plen = parse_prefix_number(slash + 1, ip.family == AF_INET ? 32 : 128);
			if (plen < 0)
				return fail(err, err_size,
					    "IPAddresses[%zu] '%s/%s' has an invalid prefix length",
					    at.index, tok, shown(slash + 1, strlen(slash + 1), b, sizeof(b)));
		}
		if (sr > 0) {
			int sp = parse_subnet(ip.family, sub);
			if (sp < 0)
				return fail(err, err_size,
					    "Subnets[%zu] '%s' is not a valid %s for IPAddresses[%zu] '%s'",
					    st.index, shown(sub, strlen(sub), b, sizeof(b)),
					    ip.family == AF_INET ? "contiguous IPv4 mask or prefix length"
								 : "IPv6 prefix length",
					    at.index, tok);
			if (plen >= 0 && plen != sp)
				return fail(err, err_size,
					    "IPAddresses[%zu] '%s/%d' disagrees with Subnets[%zu] '%s'",
					    at.index, tok, plen, st.index,
					    shown(sub, strlen(sub), b, sizeof(b)));
			plen = sp;
		} else if (plen < 0) {
			return fail(err, err_size, "IPAddresses[%zu] '%s' has no matching Subnets entry",
				    at.index, tok);
		}
		if (plen == 0)
			return fail(err, err_size, "IPAddresses[%zu] '%s' has a zero-length prefix",
				    at.index, tok);
		if (ip.family == AF_INET && plen <= 30) {
			uint32_t v = ntohl(ip.addr.in.s_addr), host = 0xffffffffu >> plen;
			if ((v & host) == 0 || (v & host) == host)
				return fail(err, err_size,
					    "IPAddresses[%zu] '%s' is the %s address of its /%d subnet",
					    at.index, tok, (v & host) == 0 ? "network" : "broadcast", plen);
		}
		for (size_t i = 0; i < s->n_addrs; i++)
			if (s->addrs[i].family == ip.family &&
			    same_ip(ip.family, &s->addrs[i].addr, &ip.addr))
				return fail(err, err_size, "IPAddresses[%zu] '%s' is listed twice",
					    at.index, tok);
		a = &s->addrs[s->n_addrs++];
		a->family = ip.family;
		a->addr = ip.addr;
		a->prefixlen = (uint8_t)plen;
	}
}

static int parse_ip_list(const char *list, const char *field, size_t max, struct failover_ip *out,
			 size_t *ret_n, char *err, size_t err_size)
{
	struct tokens t = { .p = list, .field = field };
	char tok[FAILOVER_MAX_TOKEN + 1], b[48];
	size_t n = 0;
	int r;

	for (;; t.index++) {
		struct failover_ip ip;
		const char *why;

		r = next_token(&t, tok, err, err_size);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		if (n >= max)
			return fail(err, err_size, "%s[%zu] '%s' is one too many (at most %zu entries)",
				    field, t.index, shown(tok, strlen(tok), b, sizeof(b)), max);
		if (!parse_ip(tok, &ip))
			return fail(err, err_size, "%s[%zu] '%s' is not an IPv4 or IPv6 address", field,
				    t.index, shown(tok, strlen(tok), b, sizeof(b)));
		why = unusable_reason(ip.family, &ip.addr, false);
		if (why)
			return fail(err, err_size, "%s[%zu] '%s' %s", field, t.index, tok, why);
		for (size_t i = 0; i < n; i++)
			if (out[i].family == ip.family && same_ip(ip.family, &out[i].addr, &ip.addr))
				return fail(err, err_size, "%s[%zu] '%s' is listed twice", field,
					    t.index, tok);
		out[n++] = ip;
	}
	*ret_n = n;
	return 0;
}

int failover_parse(const struct kvp_ip_fields *in, struct failover_settings *ret, char *err,
		   size_t err_size)
{
	struct failover_settings *s = ret;
	int r;

	if (err && err_size)
		err[0] = '\0';
	memset(s, 0, sizeof(*s));
	if (strscpy(s->adapter_id, sizeof(s->adapter_id), in->adapter_id) < 0 ||
	    isempty(in->adapter_id))
		return fail(err, err_size, "the adapter id is empty");
	if (in->dhcp_enabled > 1)
		return fail(err, err_size, "DHCPEnabled is %u, expected 0 or 1", in->dhcp_enabled);
	if (in->addr_family & ~(ADDR_FAMILY_IPV4 | ADDR_FAMILY_IPV6))
		return fail(err, err_size, "addr_family 0x%02x has unknown bits", in->addr_family);
	s->dhcp4 = in->dhcp_enabled;
	s->addr_family_hint = in->addr_family;

	r = parse_addresses(in, s, err, err_size);
	if (r < 0)
		return r;
	r = parse_ip_list(in->gate_way, "DefaultGateways", FAILOVER_MAX_GATEWAYS, s->gateways,
			  &s->n_gateways, err, err_size);
	if (r < 0)
		return r;
	r = parse_ip_list(in->dns_addr, "DNSServers", FAILOVER_MAX_DNS, s->dns, &s->n_dns, err,
			  err_size);
	if (r < 0)
		return r;
	if (s->n_addrs == 0 && !s->dhcp4)
		return fail(err, err_size,
			    "no IPAddresses and DHCPEnabled is false: nothing to configure");
	return 0;
}

const char *failover_ip_to_string(int family, const union in_addr_union *a, char *buf,
				  size_t size)
{
	if (!inet_ntop(family, a, buf, (socklen_t)size))
		strscpy(buf, size, "?");
	return buf;
}

/* Every address list failover_parse accepts can be written back. */
_Static_assert(FAILOVER_MAX_ADDRS * INET6_ADDRSTRLEN <= KVP_IP_ADDR_BYTES, "ip_addr fits");

int failover_format(const struct failover_settings *s, struct kvp_ip_fields *out)
{
	char a[INET6_ADDRSTRLEN], m[INET6_ADDRSTRLEN];
	int r = 0;

	memset(out, 0, sizeof(*out));
	strscpy(out->adapter_id, sizeof(out->adapter_id), s->adapter_id);
	out->dhcp_enabled = s->dhcp4;
	out->addr_family = s->addr_family_hint;
	for (size_t i = 0; i < s->n_addrs && r == 0; i++) {
		const struct failover_addr *x = &s->addrs[i];

		failover_ip_to_string(x->family, &x->addr, a, sizeof(a));
		if (x->family == AF_INET) {
			struct in_addr mask = {
				.s_addr = htonl(x->prefixlen ? 0xffffffffu << (32 - x->prefixlen) : 0)
			};
			inet_ntop(AF_INET, &mask, m, sizeof(m));
		} else {
			snprintf(m, sizeof(m), "%u", x->prefixlen);
		}
		r = strlist_append(out->ip_addr, sizeof(out->ip_addr), a);
		if (r == 0)
			r = strlist_append(out->sub_net, sizeof(out->sub_net), m);
	}
	for (size_t i = 0; i < s->n_gateways && r == 0; i++)
		r = strlist_append(out->gate_way, sizeof(out->gate_way),
				failover_ip_to_string(s->gateways[i].family, &s->gateways[i].addr, a,
						      sizeof(a)));
	for (size_t i = 0; i < s->n_dns && r == 0; i++)
		r = strlist_append(out->dns_addr, sizeof(out->dns_addr),
				failover_ip_to_string(s->dns[i].family, &s->dns[i].addr, a,
						      sizeof(a)));
	return r;
}

void failover_count(const struct failover_settings *s, unsigned *ret_v4, unsigned *ret_v6)
{
	unsigned v4 = 0, v6 = 0;

	for (size_t i = 0; i < s->n_addrs; i++) {
		if (s->addrs[i].family == AF_INET)
			v4++;
		else
			v6++;
	}
	*ret_v4 = v4;
	*ret_v6 = v6;
}

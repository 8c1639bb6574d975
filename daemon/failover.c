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

/* The limits as the rejection messages and hvkvpd(8) state them. */
static const char *limit_wire(char *buf, size_t size)
{
	snprintf(buf, size,
		 "at most %d entries: the driver hands each list over in %d bytes, and the shortest entry takes %d bytes",
		 FAILOVER_MAX_ADDRS, FAILOVER_WIRE_LIST_BYTES, FAILOVER_MIN_ENTRY_BYTES);
	return buf;
}

static const char *limit_gateways(char *buf, size_t size)
{
	snprintf(buf, size, "at most %d entries: the host's limit", FAILOVER_MAX_GATEWAYS);
	return buf;
}

_Static_assert(FAILOVER_MAX_DNS == FAILOVER_MAX_ADDRS, "one wire limit for both lists");

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

/* Why an address can be neither one of the adapter's, nor a gateway, nor a
 * DNS server, or NULL when it can. */
static const char *unusable_reason(int family, const union in_addr_union *a)
{
	if (family == AF_INET) {
		uint32_t v = ntohl(a->in.s_addr);

		if (v == 0)
			return "is the unspecified address";
		if ((v >> 24) == 0)
			return "is in 0.0.0.0/8 (\"this network\", reserved)";
		if ((v >> 24) == 127)
			return "is a loopback address";
		if ((v >> 28) == 0xe)
			return "is a multicast address";
		if (v == 0xffffffffu)
			return "is the broadcast address";
		if ((v >> 28) == 0xf)
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
		if (s->n_addrs >= FAILOVER_MAX_ADDRS) {
			char lim[128];

			return fail(err, err_size, "IPAddresses[%zu] '%s' is one too many (%s)",
				    at.index, shown(tok, strlen(tok), b, sizeof(b)),
				    limit_wire(lim, sizeof(lim)));
		}

		slash = strchr(tok, '/');
		if (slash)
			*slash = '\0';
		if (!parse_ip(tok, &ip))
			return fail(err, err_size,
				    "IPAddresses[%zu] '%s' is not an IPv4 or IPv6 address", at.index,
				    shown(tok, strlen(tok), b, sizeof(b)));
		why = unusable_reason(ip.family, &ip.addr);
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

static int parse_ip_list(const char *list, const char *field, size_t max, const char *why_max,
			 struct failover_ip *out, size_t *ret_n, char *err, size_t err_size)
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
			return fail(err, err_size, "%s[%zu] '%s' is one too many (%s)", field, t.index,
				    shown(tok, strlen(tok), b, sizeof(b)), why_max);
		if (!parse_ip(tok, &ip))
			return fail(err, err_size, "%s[%zu] '%s' is not an IPv4 or IPv6 address", field,
				    t.index, shown(tok, strlen(tok), b, sizeof(b)));
		why = unusable_reason(ip.family, &ip.addr);
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

static int check_gateways(const struct failover_settings *s, char *err, size_t err_size);

int failover_parse(const struct kvp_ip_fields *in, struct failover_settings *ret, char *err,
		   size_t err_size)
{
	struct failover_settings *s = ret;
	char lim[128];
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
	r = parse_ip_list(in->gate_way, "DefaultGateways", FAILOVER_MAX_GATEWAYS,
			  limit_gateways(lim, sizeof(lim)), s->gateways, &s->n_gateways, err, err_size);
	if (r < 0)
		return r;
	r = parse_ip_list(in->dns_addr, "DNSServers", FAILOVER_MAX_DNS, limit_wire(lim, sizeof(lim)),
			  s->dns, &s->n_dns, err, err_size);
	if (r < 0)
		return r;
	if (s->n_addrs == 0 && !s->dhcp4)
		return fail(err, err_size,
			    "no IPAddresses and DHCPEnabled is false: nothing to configure");
	return check_gateways(s, err, err_size);
}

static bool in_prefix(int family, const union in_addr_union *net, unsigned plen,
		      const union in_addr_union *a)
{
	const uint8_t *x = (const uint8_t *)net, *y = (const uint8_t *)a;
	unsigned full = plen / 8, rest = plen % 8;

	if (plen > (family == AF_INET ? 32u : 128u))
		return false;
	if (memcmp(x, y, full) != 0)
		return false;
	return rest == 0 || ((x[full] ^ y[full]) & (0xff00 >> rest)) == 0;
}

bool failover_gateway_onlink(const struct failover_settings *s, size_t i)
{
	const struct failover_ip *gw = &s->gateways[i];
	bool any = false;

	if (i >= s->n_gateways || gw->family != AF_INET)
		return false;
	for (size_t j = 0; j < s->n_addrs; j++) {
		const struct failover_addr *x = &s->addrs[j];

		if (x->family != AF_INET)
			continue;
		any = true;
		if (in_prefix(AF_INET, &x->addr, x->prefixlen, &gw->addr))
			return false;
	}
	return any;
}

/* The gateways against the addresses: what no router can be. Runs after
 * every list parsed, before anything is done with them. */
static int check_gateways(const struct failover_settings *s, char *err, size_t err_size)
{
	char g[INET6_ADDRSTRLEN], a[INET6_ADDRSTRLEN];
	unsigned v4, v6;

	failover_count(s, &v4, &v6);
	for (size_t i = 0; i < s->n_gateways; i++) {
		const struct failover_ip *gw = &s->gateways[i];
		bool inside = false;

		failover_ip_to_string(gw->family, &gw->addr, g, sizeof(g));
		if (gw->family == AF_INET && v4 == 0 && !s->dhcp4)
			return fail(err, err_size,
				    "DefaultGateways[%zu] '%s' is an IPv4 gateway, but there is no IPv4 address in IPAddresses and DHCPEnabled is false",
				    i, g);
		for (size_t j = 0; j < s->n_addrs; j++) {
			const struct failover_addr *x = &s->addrs[j];

			if (x->family != gw->family)
				continue;
			failover_ip_to_string(x->family, &x->addr, a, sizeof(a));
			if (same_ip(x->family, &x->addr, &gw->addr))
				return fail(err, err_size,
					    "DefaultGateways[%zu] '%s' is the adapter's own address (IPAddresses[%zu])",
					    i, g, j);
			if (!in_prefix(x->family, &x->addr, x->prefixlen, &gw->addr))
				continue;
			inside = true;
			if (x->family == AF_INET && x->prefixlen <= 30) {
				uint32_t v = ntohl(gw->addr.in.s_addr), host = 0xffffffffu >> x->prefixlen;

				if ((v & host) == 0 || (v & host) == host)
					return fail(err, err_size,
						    "DefaultGateways[%zu] '%s' is the %s address of the subnet of IPAddresses[%zu] '%s/%u'",
						    i, g, (v & host) == 0 ? "network" : "broadcast", j, a,
						    x->prefixlen);
			}
		}
		if (gw->family == AF_INET6 && !inside && !IN6_IS_ADDR_LINKLOCAL(&gw->addr.in6))
			return fail(err, err_size,
				    "DefaultGateways[%zu] '%s' is neither link-local (fe80::/10) nor inside the prefix of an IPv6 address in IPAddresses, so it cannot be reached",
				    i, g);
	}
	return 0;
}

const char *failover_ip_to_string(int family, const union in_addr_union *a, char *buf,
				  size_t size)
{
	if (!inet_ntop(family, a, buf, (socklen_t)size))
		strscpy(buf, size, "?");
	return buf;
}

/*
 * The shortest spelling of an IPv6 address: lower-case groups without
 * leading zeros, "::" where it saves the most (a single zero group too;
 * inet_ntop() never compresses one, and prints ::a.b.c.d for ::/96). No
 * valid spelling the host can send is shorter, so a list written back
 * always fits the field it was read from.
 */
static void ip6_shortest(const struct in6_addr *a, char *buf, size_t size)
{
	unsigned g[8], best = 0, best_len = 0, best_gain = 0;
	size_t n = 0;

	for (unsigned i = 0; i < 8; i++)
		g[i] = (unsigned)a->s6_addr[2 * i] << 8 | a->s6_addr[2 * i + 1];
	for (unsigned i = 0; i < 8;) {
		unsigned k = 0, gain;

		while (i + k < 8 && g[i + k] == 0)
			k++;
		if (k == 0) {
			i++;
			continue;
		}
		/* k digits and (in the middle) k - 1 colons go, "::" comes */
		gain = i == 0 || i + k == 8 ? 2 * k - 2 : 2 * k - 1;
		if (k == 8)
			gain = 13;
		if (gain > best_gain) {
			best = i;
			best_len = k;
			best_gain = gain;
		}
		i += k;
	}
	buf[0] = '\0';
	for (unsigned i = 0; i < 8 && n < size; i++) {
		if (best_len && i == best) {
			n += (size_t)snprintf(buf + n, size - n, "%s", i == 0 ? "::" : ":");
			i += best_len - 1;
			continue;
		}
		n += (size_t)snprintf(buf + n, size - n, "%x%s", g[i], i < 7 ? ":" : "");
	}
}

static const char *ip_shortest(int family, const union in_addr_union *a, char *buf, size_t size)
{
	if (family == AF_INET6)
		ip6_shortest(&a->in6, buf, size);
	else
		failover_ip_to_string(family, a, buf, size);
	return buf;
}

/* Every list failover_parse accepts can be written back: the addresses and
 * DNS servers take no more than they did on the way in (ip_shortest()), and
 * the prefixes fit as numbers ("128;" each) when dotted masks would not. */
_Static_assert(FAILOVER_MAX_ADDRS * 4 <= KVP_IP_ADDR_BYTES + 1, "sub_net fits as prefix lengths");
_Static_assert(FAILOVER_MAX_GATEWAYS * INET6_ADDRSTRLEN <= KVP_GATEWAY_BYTES, "gate_way fits");

static int format_subnets(const struct failover_settings *s, bool dotted, char *out, size_t size)
{
	char m[INET6_ADDRSTRLEN];
	int r = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->n_addrs && r == 0; i++) {
		const struct failover_addr *x = &s->addrs[i];

		if (x->family == AF_INET && dotted) {
			struct in_addr mask = {
				.s_addr = htonl(x->prefixlen ? 0xffffffffu << (32 - x->prefixlen) : 0)
			};
			inet_ntop(AF_INET, &mask, m, sizeof(m));
		} else {
			snprintf(m, sizeof(m), "%u", x->prefixlen);
		}
		r = strlist_append(out, size, m);
	}
	return r;
}

int failover_format(const struct failover_settings *s, struct kvp_ip_fields *out)
{
	char a[INET6_ADDRSTRLEN + 8];
	int r = 0;

	memset(out, 0, sizeof(*out));
	strscpy(out->adapter_id, sizeof(out->adapter_id), s->adapter_id);
	out->dhcp_enabled = s->dhcp4;
	out->addr_family = s->addr_family_hint;
	for (size_t i = 0; i < s->n_addrs && r == 0; i++)
		r = strlist_append(out->ip_addr, sizeof(out->ip_addr),
				   ip_shortest(s->addrs[i].family, &s->addrs[i].addr, a, sizeof(a)));
	if (r == 0 && format_subnets(s, true, out->sub_net, sizeof(out->sub_net)) < 0)
		r = format_subnets(s, false, out->sub_net, sizeof(out->sub_net));
	for (size_t i = 0; i < s->n_gateways && r == 0; i++)
		r = strlist_append(out->gate_way, sizeof(out->gate_way),
				   ip_shortest(s->gateways[i].family, &s->gateways[i].addr, a,
					       sizeof(a)));
	for (size_t i = 0; i < s->n_dns && r == 0; i++)
		r = strlist_append(out->dns_addr, sizeof(out->dns_addr),
				   ip_shortest(s->dns[i].family, &s->dns[i].addr, a, sizeof(a)));
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

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-resolv-conf.c - libFuzzer target: any resolv.conf text through the editor and the reader of dns.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "fuzz-util.h"
#include "util.h"

/* The text with DNS_DISABLED_MARKER taken off every line it stands in front
 * of a nameserver line: what the markers hide. */
static char *unmarked(const char *text)
{
	size_t m = strlen(DNS_DISABLED_MARKER);
	char *out = malloc(strlen(text) + 1), *o = out;

	CHECK(out);
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) + 1 : strlen(p);
		size_t line = eol ? len - 1 : len; /* without its newline */

		if (line > m + 10 && strncmp(p, DNS_DISABLED_MARKER, m) == 0 &&
		    strncmp(p + m, "nameserver", 10) == 0 && (p[m + 10] == ' ' || p[m + 10] == '\t')) {
			p += m;
			len -= m;
		}
		memcpy(o, p, len);
		o += len;
		p += len;
	}
	*o = '\0';
	return out;
}

static void check_same_unmarked(const char *a, const char *b)
{
	char *x = unmarked(a), *y = unmarked(b);

	CHECK(streq(x, y));
	free(x);
	free(y);
}

static size_t count_marked(const char *text)
{
	size_t n = 0;

	for (const char *p = strstr(text, DNS_DISABLED_MARKER); p;
	     p = strstr(p + 1, DNS_DISABLED_MARKER))
		n += p == text || p[-1] == '\n';
	return n;
}

/* With the host's servers in place, a nameserver line in use below our
 * block belongs to another adapter's block: right after its begin marker
 * or another such line. */
static void check_site_servers_out_of_use(const char *rest)
{
	bool inside = false;

	for (const char *p = rest; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		bool ns = len > 10 && strncmp(p, "nameserver", 10) == 0 &&
			  (p[10] == ' ' || p[10] == '\t');

		if (ns)
			CHECK(inside);
		else
			inside = len > 9 && strncmp(p, "# hvkvpd ", 9) == 0 &&
				 memmem(p, len, " begin", 6) != NULL;
		p += len + (eol ? 1 : 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one byte picks the interface, one byte the number of servers, then
 * per server a byte (even: IPv4, odd: IPv6) and its 4 or 16 address bytes;
 * whatever follows is the file's text (cut at its first NUL, as a C string).
 * "eth" and "eth0" share a prefix: a block of one must never be taken for
 * the other's.
 */
static const char *const ifnames[] = { "eth0", "eth1", "eth", "eth0.100" };

static bool loopback(const struct failover_ip *ip)
{
	if (ip->family == AF_INET)
		return (ntohl(ip->addr.in.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&ip->addr.in6);
}

static bool ip_eq(const struct failover_ip *a, const struct failover_ip *b)
{
	return a->family == b->family &&
	       memcmp(&a->addr, &b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static size_t take_servers(const uint8_t **p, size_t *left, struct failover_ip *out)
{
	size_t want, n = 0;

	if (*left < 1)
		return 0;
	want = **p % (FAILOVER_MAX_DNS + 1);
	(*p)++, (*left)--;
	while (n < want && *left >= 1) {
		size_t len = (**p & 1) ? 16 : 4;

		if (*left < 1 + len)
			break;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].family = len == 4 ? AF_INET : AF_INET6;
		memcpy(&out[n].addr, *p + 1, len);
		*p += 1 + len;
		*left -= 1 + len;
		n++;
	}
	return n;
}

/* What the reader must give back for our block: the servers in order,
 * without the loopback ones (a stub says nothing about the link). */
static size_t expected(const struct failover_ip *servers, size_t n, struct failover_ip *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!loopback(&servers[i]))
			out[k++] = servers[i];
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct failover_ip servers[FAILOVER_MAX_DNS], want[FAILOVER_MAX_DNS],
		got[FAILOVER_MAX_DNS];
	const uint8_t *p = data;
	size_t left = size, n, n_want, n_got;
	const char *ifname = "eth0";
	char *text, *edited, *removed, *again, *block_only;

	if (left > 0) {
		ifname = ifnames[*p % ARRAY_SIZE(ifnames)];
		p++, left--;
	}
	n = take_servers(&p, &left, servers);
	text = malloc(left + 1);
	CHECK(text);
	memcpy(text, p, left);
	text[left] = '\0';

	/* the reader on the file as found: bounded, no loopback */
	n_got = dns_resolv_conf_parse(text, ifname, got, ARRAY_SIZE(got));
	CHECK(n_got <= ARRAY_SIZE(got));
	for (size_t i = 0; i < n_got; i++)
		CHECK((got[i].family == AF_INET || got[i].family == AF_INET6) && !loopback(&got[i]));
	CHECK(dns_resolv_conf_parse(text, ifname, got, 1) <= 1);

	edited = dns_resolv_conf_edit(text, ifname, servers, n);
	removed = dns_resolv_conf_edit(text, ifname, servers, 0);
	CHECK(edited && removed);

	/* our block first, then the other lines as they were, but for the
	 * marker in front of the site's nameserver lines */
	block_only = dns_resolv_conf_edit("", ifname, servers, n);
	CHECK(block_only);
	CHECK(strncmp(edited, block_only, strlen(block_only)) == 0);
	check_same_unmarked(edited + strlen(block_only), removed);
	/* nothing is added but the block and the markers; removing adds nothing */
	CHECK(strlen(removed) <= strlen(text));
	if (n > 0)
		check_site_servers_out_of_use(edited + strlen(block_only));

	/* the reader finds exactly what was written */
	n_want = expected(servers, n, want);
	if (n > 0) {
		n_got = dns_resolv_conf_parse(edited, ifname, got, ARRAY_SIZE(got));
		CHECK(n_got == n_want);
		for (size_t i = 0; i < n_got; i++)
			CHECK(ip_eq(&got[i], &want[i]));
	}

	/* editing is idempotent, and removing after setting is removing */
	again = dns_resolv_conf_edit(edited, ifname, servers, n);
	CHECK(again && streq(again, edited));
	free(again);
	again = dns_resolv_conf_edit(edited, ifname, servers, 0);
	CHECK(again);
	/* the site's lines come back unless another adapter's block is left */
	if (count_marked(again) == 0)
		CHECK(streq(again, removed) || count_marked(removed) > 0);
	check_same_unmarked(again, removed);
	free(again);

	free(block_only);
	free(removed);
	free(edited);
	free(text);
	return 0;
}

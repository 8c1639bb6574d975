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

	/* our block first, then the other lines as they were */
	block_only = dns_resolv_conf_edit("", ifname, servers, n);
	CHECK(block_only);
	CHECK(strlen(edited) == strlen(block_only) + strlen(removed));
	CHECK(strncmp(edited, block_only, strlen(block_only)) == 0);
	CHECK(streq(edited + strlen(block_only), removed));
	/* nothing is added but the block */
	CHECK(strlen(removed) <= strlen(text));

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
	CHECK(again && streq(again, removed));
	free(again);

	free(block_only);
	free(removed);
	free(edited);
	free(text);
	return 0;
}

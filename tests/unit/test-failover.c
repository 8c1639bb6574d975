/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-failover.c - the failover settings parser: a table of host inputs, formatting, masks. */
#include <arpa/inet.h>
#include <stdio.h>

#include "failover.h"
#include "state.h"
#include "suites.h"
#include "util.h"

#define GUID "{f3b2f2d8-3fb1-4a36-9a1b-4f2e2e2a6c11}"
#define V4 ADDR_FAMILY_IPV4
#define V6 ADDR_FAMILY_IPV6
#define STR_(x) #x
#define STR(x) STR_(x)

/*
 * One SET_IP_INFO payload and what the parser must make of it. A row with
 * .err expects -EINVAL and a message containing .err (field[index] 'value'
 * wherever there is one); a row without expects success and the parsed
 * lists rendered as "addr/plen addr/plen", "gw gw", "dns dns".
 */
struct fo_case {
	const char *name;
	const char *adapter_id; /* NULL: GUID */
	const char *ip, *sub, *gw, *dns;
	uint8_t dhcp, family;
	/* fills what a string literal cannot (long tokens, many entries) */
	void (*prep)(struct kvp_ip_fields *f);
	const char *err;
	const char *want_addrs, *want_gw, *want_dns;
	size_t want_n_addrs; /* when the addresses are too many to spell */
	size_t want_n_dns;   /* likewise for the DNS servers */
};

/* ---- inputs that do not fit in a literal ---------------------------------- */

static void fill_char(char *dst, size_t n, char c)
{
	memset(dst, c, n);
	dst[n] = '\0';
}

static void prep_ip_64_bytes(struct kvp_ip_fields *f)
{
	fill_char(f->ip_addr, 64, 'x');
}

static void prep_ip_65_bytes(struct kvp_ip_fields *f)
{
	fill_char(f->ip_addr, 65, '1');
}

/* The upstream daemon copies such a token into a 46-byte stack buffer. */
static void prep_ip_2000_bytes(struct kvp_ip_fields *f)
{
	fill_char(f->ip_addr, 2000, '9');
}

static void prep_ip_2000_bytes_second(struct kvp_ip_fields *f)
{
	strcpy(f->ip_addr, "192.0.2.10;");
	fill_char(f->ip_addr + strlen(f->ip_addr), 2000, 'a');
	strcpy(f->sub_net, "24;24");
}

static void prep_sub_2000_bytes(struct kvp_ip_fields *f)
{
	fill_char(f->sub_net, 2000, '2');
}

static void prep_gw_1000_bytes(struct kvp_ip_fields *f)
{
	fill_char(f->gate_way, 1000, 'f');
}

static void prep_dns_2000_bytes(struct kvp_ip_fields *f)
{
	fill_char(f->dns_addr, 2000, '8');
}

/* Every byte of the field used: 2038 blanks, then one address. */
static void prep_ip_field_full_of_blanks(struct kvp_ip_fields *f)
{
	size_t n = KVP_IP_ADDR_BYTES - strlen("192.0.2.10");

	fill_char(f->ip_addr, n, ' ');
	strcpy(f->ip_addr + n, "192.0.2.10");
	ck_assert_uint_eq(strlen(f->ip_addr), KVP_IP_ADDR_BYTES);
}

/* n distinct IPv6 addresses "1::", "2::", ... (the shortest kind of entry)
 * with prefix 64 each. */
static void prep_addrs(struct kvp_ip_fields *f, unsigned n)
{
	size_t len = 0, slen = 0;

	for (unsigned i = 1; i <= n; i++) {
		len += (size_t)snprintf(f->ip_addr + len, sizeof(f->ip_addr) - len, "%s%x::",
					i > 1 ? ";" : "", i);
		slen += (size_t)snprintf(f->sub_net + slen, sizeof(f->sub_net) - slen, "%s64",
					 i > 1 ? ";" : "");
	}
	ck_assert_uint_lt(len, sizeof(f->ip_addr) - 1);
	ck_assert_uint_lt(slen, sizeof(f->sub_net) - 1);
}

static void prep_max_addrs(struct kvp_ip_fields *f)
{
	prep_addrs(f, FAILOVER_MAX_ADDRS);
}

static void prep_max_addrs_plus_1(struct kvp_ip_fields *f)
{
	prep_addrs(f, FAILOVER_MAX_ADDRS + 1);
}

static void prep_dns(struct kvp_ip_fields *f, unsigned n)
{
	size_t len = 0;

	strcpy(f->ip_addr, "192.0.2.10");
	strcpy(f->sub_net, "24");
	for (unsigned i = 1; i <= n; i++)
		len += (size_t)snprintf(f->dns_addr + len, sizeof(f->dns_addr) - len, "%s%x::",
					i > 1 ? ";" : "", i);
	ck_assert_uint_lt(len, sizeof(f->dns_addr) - 1);
}

static void prep_max_dns(struct kvp_ip_fields *f)
{
	prep_dns(f, FAILOVER_MAX_DNS);
}

static void prep_max_dns_plus_1(struct kvp_ip_fields *f)
{
	prep_dns(f, FAILOVER_MAX_DNS + 1);
}

/* What the issue saw refused: 60 addresses of the usual length. */
static void prep_60_ipv4(struct kvp_ip_fields *f)
{
	size_t len = 0, slen = 0;

	for (unsigned i = 1; i <= 60; i++) {
		len += (size_t)snprintf(f->ip_addr + len, sizeof(f->ip_addr) - len,
					"%s192.168.100.%u", i > 1 ? ";" : "", 100 + i);
		slen += (size_t)snprintf(f->sub_net + slen, sizeof(f->sub_net) - slen, "%s24",
					 i > 1 ? ";" : "");
	}
	ck_assert_uint_le(len, FAILOVER_WIRE_LIST_BYTES);
}

/* The limit as every "one too many" message states it: 1024 / 4. */
_Static_assert(FAILOVER_MAX_ADDRS == 256 && FAILOVER_MAX_DNS == 256, "the wire's limit");
#define LIMIT_TEXT                                                                           \
	"is one too many (at most 256 entries: the driver hands each list over in 1024 bytes, " \
	"and the shortest entry takes 4 bytes)"

/* ---- the table -------------------------------------------------------------- */

static const struct fo_case cases[] = {
	/* --- what hosts send ------------------------------------------------ */
	{ .name = "single IPv4", .family = V4, .ip = "192.0.2.10", .sub = "255.255.255.0",
	  .gw = "192.0.2.1", .dns = "192.0.2.53", .want_addrs = "192.0.2.10/24",
	  .want_gw = "192.0.2.1", .want_dns = "192.0.2.53" },
	{ .name = "multiple IPv4, masks paired by index", .family = V4,
	  .ip = "192.0.2.10;198.51.100.7;203.0.113.9",
	  .sub = "255.255.255.0;255.255.0.0;255.255.255.128", .gw = "192.0.2.1",
	  .dns = "192.0.2.53;198.51.100.53",
	  .want_addrs = "192.0.2.10/24 198.51.100.7/16 203.0.113.9/25", .want_gw = "192.0.2.1",
	  .want_dns = "192.0.2.53 198.51.100.53" },
	{ .name = "IPv6 with prefix 64", .family = V6, .ip = "2001:db8::10", .sub = "64",
	  .gw = "fe80::1", .dns = "2001:db8::53", .want_addrs = "2001:db8::10/64",
	  .want_gw = "fe80::1", .want_dns = "2001:db8::53" },
	{ .name = "IPv6 with prefix /64", .family = V6, .ip = "2001:db8::10", .sub = "/64",
	  .want_addrs = "2001:db8::10/64" },
	{ .name = "IPv6 written in full and upper case", .family = V6,
	  .ip = "2001:0DB8:0000:0000:0000:0000:0000:0010", .sub = "64",
	  .want_addrs = "2001:db8::10/64" },
	{ .name = "IPv6 /128 and /1", .family = V6, .ip = "2001:db8::1;2001:db8::2",
	  .sub = "128;1", .want_addrs = "2001:db8::1/128 2001:db8::2/1" },
	{ .name = "IPv6 link-local address", .family = V6, .ip = "fe80::15:5dff:fe01:203",
	  .sub = "64", .want_addrs = "fe80::15:5dff:fe01:203/64" },
	{ .name = "mixed families, hint says IPv4 only", .family = V4,
	  .ip = "192.0.2.10;2001:db8::10", .sub = "255.255.255.0;64",
	  .gw = "192.0.2.1;2001:db8::1", .dns = "2001:db8::53;192.0.2.53",
	  .want_addrs = "192.0.2.10/24 2001:db8::10/64", .want_gw = "192.0.2.1 2001:db8::1",
	  .want_dns = "2001:db8::53 192.0.2.53" },
	{ .name = "mixed families, hint says IPv6 only", .family = V6,
	  .ip = "2001:db8::10;192.0.2.10", .sub = "64;255.255.255.0",
	  .want_addrs = "2001:db8::10/64 192.0.2.10/24" },
	{ .name = "mixed families, no hint", .family = 0, .ip = "192.0.2.10;2001:db8::10",
	  .sub = "24;64", .want_addrs = "192.0.2.10/24 2001:db8::10/64" },
	{ .name = "IPv4 only, hint says IPv6 only", .family = V6, .ip = "192.0.2.10",
	  .sub = "255.255.255.0", .want_addrs = "192.0.2.10/24" },
	{ .name = "ProtocolIFType 4098: both bits", .family = V4 | V6,
	  .ip = "192.0.2.10;2001:db8::10", .sub = "255.255.255.0;64",
	  .want_addrs = "192.0.2.10/24 2001:db8::10/64" },

	/* --- prefix spellings ------------------------------------------------ */
	{ .name = "24 as an IPv4 prefix length", .ip = "192.0.2.10", .sub = "24",
	  .want_addrs = "192.0.2.10/24" },
	{ .name = "/24 as an IPv4 prefix length", .ip = "192.0.2.10", .sub = "/24",
	  .want_addrs = "192.0.2.10/24" },
	{ .name = "IPv4 addr/len without subnets", .ip = "192.0.2.10/24;10.1.2.3/8",
	  .want_addrs = "192.0.2.10/24 10.1.2.3/8" },
	{ .name = "IPv6 addr/len without subnets", .ip = "2001:db8::10/48",
	  .want_addrs = "2001:db8::10/48" },
	{ .name = "addr/len with an agreeing mask", .ip = "192.0.2.10/24;2001:db8::10/64",
	  .sub = "255.255.255.0;64", .want_addrs = "192.0.2.10/24 2001:db8::10/64" },
	{ .name = "IPv6 mask in address form", .ip = "2001:db8::10",
	  .sub = "ffff:ffff:ffff:ffff::", .want_addrs = "2001:db8::10/64" },
	{ .name = "IPv6 all-ones mask", .ip = "2001:db8::10",
	  .sub = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .want_addrs = "2001:db8::10/128" },
	{ .name = "/31 mask: both addresses usable", .ip = "192.0.2.0;192.0.2.1",
	  .sub = "255.255.255.254;31", .want_addrs = "192.0.2.0/31 192.0.2.1/31" },
	{ .name = "/32 mask, dotted", .ip = "192.0.2.255", .sub = "255.255.255.255",
	  .want_addrs = "192.0.2.255/32" },
	{ .name = "/32 as addr/len and as a number", .ip = "192.0.2.7/32;192.0.2.8",
	  .sub = "32;32", .want_addrs = "192.0.2.7/32 192.0.2.8/32" },
	{ .name = "/30 host address", .ip = "192.0.2.1", .sub = "255.255.255.252",
	  .want_addrs = "192.0.2.1/30" },
	{ .name = "/8 mask", .ip = "10.20.30.40", .sub = "255.0.0.0",
	  .want_addrs = "10.20.30.40/8" },
	{ .name = "/1 mask", .ip = "10.20.30.40", .sub = "128.0.0.0",
	  .want_addrs = "10.20.30.40/1" },

	/* --- separators and blanks ------------------------------------------- */
	{ .name = "blanks and tabs around tokens", .ip = " 192.0.2.10 ;\t198.51.100.7\t",
	  .sub = "\t255.255.255.0 ; 24 ", .gw = "\t 192.0.2.1 \t", .dns = " 192.0.2.53 ;\t9.9.9.9",
	  .want_addrs = "192.0.2.10/24 198.51.100.7/24", .want_gw = "192.0.2.1",
	  .want_dns = "192.0.2.53 9.9.9.9" },
	{ .name = "trailing ';' in every list", .ip = "192.0.2.10;", .sub = "255.255.255.0;",
	  .gw = "192.0.2.1;", .dns = "192.0.2.53;", .want_addrs = "192.0.2.10/24",
	  .want_gw = "192.0.2.1", .want_dns = "192.0.2.53" },
	{ .name = "empty tokens skipped in both lists alike", .ip = ";192.0.2.10;;198.51.100.7;;",
	  .sub = "255.255.255.0;;; 16", .want_addrs = "192.0.2.10/24 198.51.100.7/16" },
	{ .name = "gateway and DNS lists of separators only", .ip = "192.0.2.10", .sub = "24",
	  .gw = ";; ;\t;", .dns = " ; ", .want_addrs = "192.0.2.10/24" },
	{ .name = "trailing CR LF trimmed", .ip = "192.0.2.10\r\n", .sub = "24\r\n",
	  .want_addrs = "192.0.2.10/24" },
	{ .name = "field full of blanks around one address", .sub = "24",
	  .prep = prep_ip_field_full_of_blanks, .want_addrs = "192.0.2.10/24" },

	/* --- gateways, DNS, DHCP --------------------------------------------- */
	{ .name = "5 gateways, mixed families, order kept", .ip = "192.0.2.10;2001:db8::10",
	  .sub = "24;64", .gw = "192.0.2.1;2001:db8::1;192.0.2.2;fe80::1;192.0.2.3",
	  .want_addrs = "192.0.2.10/24 2001:db8::10/64",
	  .want_gw = "192.0.2.1 2001:db8::1 192.0.2.2 fe80::1 192.0.2.3" },
	{ .name = "16 DNS servers", .ip = "192.0.2.10", .sub = "24",
	  .dns = "10.0.0.1;10.0.0.2;10.0.0.3;10.0.0.4;10.0.0.5;10.0.0.6;10.0.0.7;10.0.0.8;"
		 "10.0.0.9;10.0.0.10;10.0.0.11;10.0.0.12;10.0.0.13;10.0.0.14;10.0.0.15;"
		 "2001:db8::35",
	  .want_addrs = "192.0.2.10/24",
	  .want_dns = "10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7 10.0.0.8 "
		      "10.0.0.9 10.0.0.10 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.14 10.0.0.15 "
		      "2001:db8::35" },
	{ .name = "one address as gateway and DNS", .ip = "192.0.2.10", .sub = "24",
	  .gw = "192.0.2.1", .dns = "192.0.2.1", .want_addrs = "192.0.2.10/24",
	  .want_gw = "192.0.2.1", .want_dns = "192.0.2.1" },
	{ .name = "DHCP only, no addresses", .family = V4, .dhcp = 1, .dns = "192.0.2.53",
	  .want_dns = "192.0.2.53" },
	{ .name = "DHCP plus static addresses", .family = V4, .dhcp = 1, .ip = "192.0.2.10",
	  .sub = "24", .want_addrs = "192.0.2.10/24" },
	{ .name = "IPv6-only with DHCPEnabled=1, as hosts send it", .family = V6, .dhcp = 1,
	  .ip = "2001:db8::10", .sub = "64", .gw = "2001:db8::1", .dns = "2001:db8::53",
	  .want_addrs = "2001:db8::10/64", .want_gw = "2001:db8::1",
	  .want_dns = "2001:db8::53" },
	{ .name = "as many addresses as allowed", .prep = prep_max_addrs,
	  .want_n_addrs = FAILOVER_MAX_ADDRS },
	{ .name = "as many DNS servers as allowed", .prep = prep_max_dns,
	  .want_addrs = "192.0.2.10/24", .want_n_dns = FAILOVER_MAX_DNS },
	{ .name = "60 typical IPv4 addresses (the issue's case)", .prep = prep_60_ipv4,
	  .want_n_addrs = 60 },
	/* --- gateways that are accepted ---------------------------------------- */
	{ .name = "IPv4 gateway outside every subnet: accepted (on-link)", .ip = "192.0.2.10",
	  .sub = "24", .gw = "198.51.100.1", .want_addrs = "192.0.2.10/24",
	  .want_gw = "198.51.100.1" },
	{ .name = "IPv4 gateway without addresses, with DHCP", .dhcp = 1, .gw = "192.0.2.1",
	  .want_gw = "192.0.2.1" },
	{ .name = "/31: both ends are hosts, the other one the gateway", .ip = "192.0.2.0",
	  .sub = "31", .gw = "192.0.2.1", .want_addrs = "192.0.2.0/31", .want_gw = "192.0.2.1" },
	{ .name = "IPv6 link-local gateway without IPv6 addresses", .ip = "192.0.2.10",
	  .sub = "24", .gw = "fe80::1", .want_addrs = "192.0.2.10/24", .want_gw = "fe80::1" },
	{ .name = "IPv6 gateway inside a pushed /48", .ip = "2001:db8:1::10", .sub = "48",
	  .gw = "2001:db8:1:ff::1", .want_addrs = "2001:db8:1::10/48",
	  .want_gw = "2001:db8:1:ff::1" },
	{ .name = "IPv6 gateway inside a pushed /61 (not on a byte boundary)",
	  .ip = "2001:db8:0:8::10", .sub = "61", .gw = "2001:db8:0:f::1",
	  .want_addrs = "2001:db8:0:8::10/61", .want_gw = "2001:db8:0:f::1" },
	{ .name = "adapter id is carried, whatever it says", .adapter_id = "not-a-guid",
	  .ip = "192.0.2.10", .sub = "24", .want_addrs = "192.0.2.10/24" },

	/* --- rejected: header ------------------------------------------------ */
	{ .name = "empty adapter id", .adapter_id = "", .ip = "192.0.2.10", .sub = "24",
	  .err = "adapter id is empty" },
	{ .name = "DHCPEnabled 2", .dhcp = 2, .ip = "192.0.2.10", .sub = "24",
	  .err = "DHCPEnabled is 2" },
	{ .name = "DHCPEnabled 255", .dhcp = 255, .err = "DHCPEnabled is 255" },
	{ .name = "addr_family 0x04", .family = 0x04, .ip = "192.0.2.10", .sub = "24",
	  .err = "addr_family 0x04" },
	{ .name = "addr_family 0x83", .family = 0x83, .ip = "192.0.2.10", .sub = "24",
	  .err = "addr_family 0x83" },
	{ .name = "no addresses and no DHCP", .gw = "192.0.2.1", .err = "nothing to configure" },
	{ .name = "nothing at all", .err = "nothing to configure" },

	/* --- rejected: masks and prefixes -------------------------------------- */
	{ .name = "non-contiguous mask 255.0.255.0", .ip = "192.0.2.10", .sub = "255.0.255.0",
	  .err = "Subnets[0] '255.0.255.0'" },
	{ .name = "non-contiguous mask 0.255.255.255", .ip = "192.0.2.10;192.0.2.11",
	  .sub = "24;0.255.255.255", .err = "Subnets[1] '0.255.255.255'" },
	{ .name = "mask 0.0.0.0 is a zero-length prefix", .ip = "192.0.2.10", .sub = "0.0.0.0",
	  .err = "IPAddresses[0] '192.0.2.10' has a zero-length prefix" },
	{ .name = "IPv6 prefix 0", .ip = "2001:db8::10", .sub = "0",
	  .err = "IPAddresses[0] '2001:db8::10' has a zero-length prefix" },
	{ .name = "IPv4 prefix 33", .ip = "192.0.2.10", .sub = "33", .err = "Subnets[0] '33'" },
	{ .name = "IPv6 prefix 129", .ip = "2001:db8::10", .sub = "129",
	  .err = "Subnets[0] '129'" },
	{ .name = "IPv4 addr/33", .ip = "192.0.2.10/33", .err = "IPAddresses[0] '192.0.2.10/33'" },
	{ .name = "IPv6 addr/129", .ip = "2001:db8::10/129",
	  .err = "IPAddresses[0] '2001:db8::10/129'" },
	{ .name = "addr/ with nothing after the slash", .ip = "192.0.2.10/",
	  .err = "IPAddresses[0] '192.0.2.10/'" },
	{ .name = "addr/-1", .ip = "192.0.2.10/-1", .err = "IPAddresses[0] '192.0.2.10/-1'" },
	{ .name = "addr/len vs mask disagree", .ip = "192.0.2.10/24", .sub = "255.255.0.0",
	  .err = "IPAddresses[0] '192.0.2.10/24' disagrees with Subnets[0] '255.255.0.0'" },
	{ .name = "IPv6 addr/len vs prefix disagree", .ip = "2001:db8::10/64", .sub = "48",
	  .err = "IPAddresses[0] '2001:db8::10/64' disagrees with Subnets[0] '48'" },
	{ .name = "non-contiguous IPv6 mask", .ip = "2001:db8::10", .sub = "ffff:0:ffff::",
	  .err = "Subnets[0] 'ffff:0:ffff::'" },
	{ .name = "IPv6 mask for an IPv4 address", .ip = "192.0.2.10", .sub = "ffff:ffff::",
	  .err = "Subnets[0] 'ffff:ffff::'" },
	{ .name = "IPv4 mask for an IPv6 address", .ip = "2001:db8::10", .sub = "255.255.255.0",
	  .err = "Subnets[0] '255.255.255.0'" },
	{ .name = "prefix with trailing garbage", .ip = "192.0.2.10", .sub = "24abc",
	  .err = "Subnets[0] '24abc'" },
	{ .name = "blank inside a prefix", .ip = "192.0.2.10", .sub = "2 4",
	  .err = "Subnets[0] '2 4'" },
	{ .name = "more addresses than subnets", .ip = "192.0.2.10;192.0.2.11", .sub = "24",
	  .err = "IPAddresses[1] '192.0.2.11' has no matching Subnets entry" },
	{ .name = "more subnets than addresses", .ip = "192.0.2.10", .sub = "24;255.255.255.0",
	  .err = "Subnets[1] '255.255.255.0' has no matching IPAddresses entry" },
	{ .name = "subnets without any address", .dhcp = 1, .sub = "24",
	  .err = "Subnets[0] '24' has no matching IPAddresses entry" },
	{ .name = "addr/len mixed with a mask list that skips it", .ip = "192.0.2.10/24;192.0.2.11",
	  .sub = "255.255.255.0", .err = "IPAddresses[1] '192.0.2.11' has no matching Subnets" },

	/* --- rejected: addresses ----------------------------------------------- */
	{ .name = "network address of a /24", .ip = "192.0.2.0", .sub = "255.255.255.0",
	  .err = "IPAddresses[0] '192.0.2.0' is the network address" },
	{ .name = "broadcast address of a /24", .ip = "192.0.2.255", .sub = "24",
	  .err = "IPAddresses[0] '192.0.2.255' is the broadcast address" },
	{ .name = "loopback", .ip = "127.0.0.1", .sub = "8",
	  .err = "IPAddresses[0] '127.0.0.1' is a loopback" },
	{ .name = "multicast", .ip = "224.0.0.1", .sub = "24",
	  .err = "IPAddresses[0] '224.0.0.1' is a multicast" },
	{ .name = "unspecified IPv4", .ip = "0.0.0.0", .sub = "24",
	  .err = "IPAddresses[0] '0.0.0.0' is the unspecified" },
	{ .name = "255.255.255.255", .ip = "255.255.255.255", .sub = "32",
	  .err = "IPAddresses[0] '255.255.255.255' is the broadcast address" },
	{ .name = "class E", .ip = "240.0.0.1", .sub = "24",
	  .err = "IPAddresses[0] '240.0.0.1' is a reserved (class E)" },
	{ .name = "IPv6 loopback", .ip = "::1", .sub = "128",
	  .err = "IPAddresses[0] '::1' is the loopback" },
	{ .name = "IPv6 unspecified", .ip = "::", .sub = "64",
	  .err = "IPAddresses[0] '::' is the unspecified" },
	{ .name = "IPv6 multicast", .ip = "ff02::1", .sub = "64",
	  .err = "IPAddresses[0] 'ff02::1' is a multicast" },
	{ .name = "IPv4-mapped IPv6", .ip = "::ffff:192.0.2.10", .sub = "96",
	  .err = "IPAddresses[0] '::ffff:192.0.2.10' is an IPv4-mapped" },
	{ .name = "duplicate IPv4", .ip = "192.0.2.10;192.0.2.10", .sub = "24;16",
	  .err = "IPAddresses[1] '192.0.2.10' is listed twice" },
	{ .name = "duplicate IPv6, spelled differently", .ip = "2001:db8::1;2001:DB8:0::1",
	  .sub = "64;64", .err = "IPAddresses[1] '2001:DB8:0::1' is listed twice" },
	{ .name = "octet over 255", .ip = "300.1.1.1", .sub = "24",
	  .err = "IPAddresses[0] '300.1.1.1' is not an IPv4 or IPv6 address" },
	{ .name = "three octets", .ip = "192.0.2", .sub = "24", .err = "IPAddresses[0] '192.0.2'" },
	{ .name = "host name", .ip = "host.example.com", .sub = "24",
	  .err = "IPAddresses[0] 'host.example.com'" },
	{ .name = "IPv6 with a zone", .ip = "fe80::1%eth0", .sub = "64",
	  .err = "IPAddresses[0] 'fe80::1%eth0'" },
	{ .name = "IPv6 with ':::'", .ip = "2001:db8:::1", .sub = "64",
	  .err = "IPAddresses[0] '2001:db8:::1'" },
	{ .name = "blank inside an address", .ip = "192.0.2. 10", .sub = "24",
	  .err = "IPAddresses[0] '192.0.2. 10'" },
	{ .name = "index counts tokens, not empties", .ip = "192.0.2.10;;192.0.2.11;;bogus",
	  .sub = "24;24;24", .err = "IPAddresses[2] 'bogus'" },
	{ .name = "one address too many", .prep = prep_max_addrs_plus_1,
	  .err = "IPAddresses[256] '101::' " LIMIT_TEXT },
	{ .name = "address in 0.0.0.0/8", .ip = "0.1.2.3", .sub = "8",
	  .err = "IPAddresses[0] '0.1.2.3' is in 0.0.0.0/8" },
	{ .name = "network address of a /30", .ip = "192.0.2.4", .sub = "30",
	  .err = "IPAddresses[0] '192.0.2.4' is the network address of its /30 subnet" },
	{ .name = "broadcast address of a /30", .ip = "192.0.2.7", .sub = "30",
	  .err = "IPAddresses[0] '192.0.2.7' is the broadcast address of its /30 subnet" },

	/* --- rejected: gateways and DNS ---------------------------------------- */
	{ .name = "6 gateways", .ip = "192.0.2.10", .sub = "24",
	  .gw = "192.0.2.1;192.0.2.2;192.0.2.3;192.0.2.4;192.0.2.5;192.0.2.6",
	  .err = "DefaultGateways[5] '192.0.2.6'" },
	{ .name = "gateway garbage", .ip = "192.0.2.10", .sub = "24", .gw = "192.0.2.1;router",
	  .err = "DefaultGateways[1] 'router' is not an IPv4 or IPv6 address" },
	{ .name = "gateway octet over 255", .ip = "192.0.2.10", .sub = "24", .gw = "192.0.2.300",
	  .err = "DefaultGateways[0] '192.0.2.300'" },
	{ .name = "gateway multicast", .ip = "192.0.2.10", .sub = "24", .gw = "224.0.0.1",
	  .err = "DefaultGateways[0] '224.0.0.1' is a multicast" },
	{ .name = "duplicate gateway", .ip = "192.0.2.10", .sub = "24", .gw = "192.0.2.1;192.0.2.1",
	  .err = "DefaultGateways[1] '192.0.2.1' is listed twice" },
	{ .name = "DNS garbage", .ip = "192.0.2.10", .sub = "24", .dns = "dns.example.com",
	  .err = "DNSServers[0] 'dns.example.com'" },
	{ .name = "DNS unspecified", .ip = "192.0.2.10", .sub = "24", .dns = "192.0.2.53;::",
	  .err = "DNSServers[1] '::' is the unspecified" },
	{ .name = "duplicate DNS", .ip = "192.0.2.10", .sub = "24", .dns = "9.9.9.9; 9.9.9.9",
	  .err = "DNSServers[1] '9.9.9.9' is listed twice" },
	{ .name = "one DNS server too many", .prep = prep_max_dns_plus_1,
	  .err = "DNSServers[256] '101::' " LIMIT_TEXT },
	{ .name = "6 gateways: the message names the host's limit", .ip = "192.0.2.10",
	  .sub = "24", .gw = "192.0.2.1;192.0.2.2;192.0.2.3;192.0.2.4;192.0.2.5;192.0.2.6",
	  .err = "DefaultGateways[5] '192.0.2.6' is one too many (at most 5 entries: the host's limit)" },
	{ .name = "DNS server class E", .ip = "192.0.2.10", .sub = "24", .dns = "250.1.2.3",
	  .err = "DNSServers[0] '250.1.2.3' is a reserved (class E)" },
	{ .name = "DNS server loopback", .ip = "192.0.2.10", .sub = "24", .dns = "127.0.0.53",
	  .err = "DNSServers[0] '127.0.0.53' is a loopback" },

	/* --- rejected: gateways against the addresses --------------------------- */
	{ .name = "gateway is the adapter's own IPv4 address", .ip = "192.0.2.10;192.0.2.11",
	  .sub = "24;24", .gw = "192.0.2.1;192.0.2.11",
	  .err = "DefaultGateways[1] '192.0.2.11' is the adapter's own address (IPAddresses[1])" },
	{ .name = "gateway is the adapter's own IPv6 address", .ip = "2001:db8::10", .sub = "64",
	  .gw = "2001:db8::10",
	  .err = "DefaultGateways[0] '2001:db8::10' is the adapter's own address (IPAddresses[0])" },
	{ .name = "gateway is the network address", .ip = "192.0.2.10", .sub = "24",
	  .gw = "192.0.2.0",
	  .err = "DefaultGateways[0] '192.0.2.0' is the network address of the subnet of IPAddresses[0] '192.0.2.10/24'" },
	{ .name = "gateway is the broadcast address", .ip = "10.1.2.3", .sub = "255.255.0.0",
	  .gw = "10.1.255.255",
	  .err = "DefaultGateways[0] '10.1.255.255' is the broadcast address of the subnet of IPAddresses[0] '10.1.2.3/16'" },
	{ .name = "gateway is the broadcast address of a /30", .ip = "192.0.2.5", .sub = "30",
	  .gw = "192.0.2.7", .err = "DefaultGateways[0] '192.0.2.7' is the broadcast address" },
	{ .name = "gateway class E", .ip = "192.0.2.10", .sub = "24", .gw = "240.0.0.1",
	  .err = "DefaultGateways[0] '240.0.0.1' is a reserved (class E) address" },
	{ .name = "gateway 255.255.255.255", .ip = "192.0.2.10", .sub = "24",
	  .gw = "255.255.255.255",
	  .err = "DefaultGateways[0] '255.255.255.255' is the broadcast address" },
	{ .name = "gateway in 0.0.0.0/8", .ip = "192.0.2.10", .sub = "24", .gw = "0.0.0.1",
	  .err = "DefaultGateways[0] '0.0.0.1' is in 0.0.0.0/8" },
	{ .name = "gateway 0.0.0.0", .ip = "192.0.2.10", .sub = "24", .gw = "0.0.0.0",
	  .err = "DefaultGateways[0] '0.0.0.0' is the unspecified address" },
	{ .name = "gateway loopback", .ip = "192.0.2.10", .sub = "24", .gw = "127.0.0.1",
	  .err = "DefaultGateways[0] '127.0.0.1' is a loopback address" },
	{ .name = "IPv6 gateway loopback", .ip = "2001:db8::10", .sub = "64", .gw = "::1",
	  .err = "DefaultGateways[0] '::1' is the loopback address" },
	{ .name = "IPv6 gateway multicast", .ip = "2001:db8::10", .sub = "64", .gw = "ff02::2",
	  .err = "DefaultGateways[0] 'ff02::2' is a multicast address" },
	{ .name = "IPv6 gateway unspecified", .ip = "2001:db8::10", .sub = "64", .gw = "::",
	  .err = "DefaultGateways[0] '::' is the unspecified address" },
	{ .name = "IPv6 gateway outside every prefix", .ip = "2001:db8::10", .sub = "64",
	  .gw = "2001:db8:1::1",
	  .err = "DefaultGateways[0] '2001:db8:1::1' is neither link-local (fe80::/10) nor inside the prefix of an IPv6 address in IPAddresses" },
	{ .name = "IPv6 gateway just outside a /61", .ip = "2001:db8:0:8::10", .sub = "61",
	  .gw = "2001:db8:0:10::1", .err = "DefaultGateways[0] '2001:db8:0:10::1' is neither" },
	{ .name = "global IPv6 gateway without IPv6 addresses", .ip = "192.0.2.10", .sub = "24",
	  .gw = "2001:db8::1", .err = "DefaultGateways[0] '2001:db8::1' is neither" },
	{ .name = "IPv4 gateway without IPv4 address or DHCP", .ip = "2001:db8::10", .sub = "64",
	  .gw = "192.0.2.1",
	  .err = "DefaultGateways[0] '192.0.2.1' is an IPv4 gateway, but there is no IPv4 address in IPAddresses and DHCPEnabled is false" },

	/* --- rejected: long tokens and control characters ---------------------- */
	{ .name = "64-byte token is parsed, not cut", .sub = "24", .prep = prep_ip_64_bytes,
	  .err = "is not an IPv4 or IPv6 address" },
	{ .name = "65-byte token", .sub = "24", .prep = prep_ip_65_bytes,
	  .err = "IPAddresses[0] '1111" },
	{ .name = "65-byte token: length named", .sub = "24", .prep = prep_ip_65_bytes,
	  .err = "too long (65 bytes, at most 64)" },
	{ .name = "2000-byte address token", .sub = "24", .prep = prep_ip_2000_bytes,
	  .err = "IPAddresses[0] '9999" },
	{ .name = "2000-byte address token: length named", .sub = "24",
	  .prep = prep_ip_2000_bytes, .err = "too long (2000 bytes" },
	{ .name = "2000-byte token after a good one", .prep = prep_ip_2000_bytes_second,
	  .err = "IPAddresses[1] 'aaaa" },
	{ .name = "2000-byte subnet token", .ip = "192.0.2.10", .prep = prep_sub_2000_bytes,
	  .err = "Subnets[0] '2222" },
	{ .name = "1000-byte gateway token", .ip = "192.0.2.10", .sub = "24",
	  .prep = prep_gw_1000_bytes, .err = "DefaultGateways[0] 'ffff" },
	{ .name = "2000-byte DNS token", .ip = "192.0.2.10", .sub = "24",
	  .prep = prep_dns_2000_bytes, .err = "DNSServers[0] '8888" },
	{ .name = "43-byte value shown whole",
	  .ip = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", .sub = "24",
	  .err = "IPAddresses[0] 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ'" },
	/* 21 x U+20AC: the cut for the "..." must not split a character */
	{ .name = "truncated value stays UTF-8",
	  .ip = "\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac"
		"\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac"
		"\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac",
	  .sub = "24", .err = "IPAddresses[0] '\u20ac\u20ac\u20ac" },
	{ .name = "control character escaped", .ip = "192.0.2.10\x01", .sub = "24",
	  .err = "IPAddresses[0] '192.0.2.10\\x01'" },
	{ .name = "escape sequence escaped", .ip = "192.0.2.10", .sub = "24",
	  .dns = "9.9.9.9\x1b[31m", .err = "DNSServers[0] '9.9.9.9\\x1b[31m'" },
	{ .name = "DEL escaped", .ip = "192.0.2.10", .sub = "24", .gw = "\x7f" "192.0.2.1",
	  .err = "DefaultGateways[0] '\\x7f192.0.2.1'" },
	{ .name = "newline inside a token escaped", .ip = "192.0.2.10\n192.0.2.11", .sub = "24",
	  .err = "IPAddresses[0] '192.0.2.10\\n192.0.2.11'" },
	{ .name = "vertical tab before a prefix", .ip = "192.0.2.10", .sub = "\v24",
	  .err = "Subnets[0] '\\x0b24'" },
	{ .name = "form feed before an addr/len prefix", .ip = "192.0.2.10/\f24",
	  .err = "IPAddresses[0] '192.0.2.10/\\x0c24'" },
	{ .name = "line feed before a disagreeing prefix", .ip = "192.0.2.10/25", .sub = "\n24",
	  .err = "Subnets[0] '\\n24'" },
	/* the forged line of the issue "A hostile host": one line, escaped */
	{ .name = "forged MAINPID= line", .ip = "x\nMAINPID=4242\nX=", .sub = "24",
	  .err = "IPAddresses[0] 'x\\nMAINPID=4242\\nX=' is not" },
	{ .name = "carriage return escaped", .ip = "192.0.2.10", .sub = "24",
	  .gw = "192.0.2.1\rforged", .err = "DefaultGateways[0] '192.0.2.1\\rforged'" },
	{ .name = "C1 CSI escaped", .ip = "192.0.2.10", .sub = "24", .dns = "\xc2\x9b" "2J",
	  .err = "DNSServers[0] '\\xc2\\x9b2J'" },
	{ .name = "invalid UTF-8 escaped", .ip = "192.0.2.10\xff\xfe", .sub = "24",
	  .err = "IPAddresses[0] '192.0.2.10\\xff\\xfe'" },
	{ .name = "backslash doubled, so that the escapes read back", .ip = "a\\nb", .sub = "24",
	  .err = "IPAddresses[0] 'a\\\\nb'" },
	/* a long value of escapes is cut between two of them, never inside one */
	{ .name = "cut between escapes", .ip = "\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b",
	  .sub = "24",
	  .err = "IPAddresses[0] '\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b...'" },
};

/* ---- helpers ---------------------------------------------------------------- */

static void set_field(char *dst, size_t size, const char *src)
{
	ck_assert_int_eq(strscpy(dst, size, src ? src : ""), 0);
}

static void fill_fields(const struct fo_case *c, struct kvp_ip_fields *f)
{
	memset(f, 0, sizeof(*f));
	set_field(f->adapter_id, sizeof(f->adapter_id), c->adapter_id ? c->adapter_id : GUID);
	set_field(f->ip_addr, sizeof(f->ip_addr), c->ip);
	set_field(f->sub_net, sizeof(f->sub_net), c->sub);
	set_field(f->gate_way, sizeof(f->gate_way), c->gw);
	set_field(f->dns_addr, sizeof(f->dns_addr), c->dns);
	f->dhcp_enabled = c->dhcp;
	f->addr_family = c->family;
	if (c->prep)
		c->prep(f);
}

static void join(char *buf, size_t size, const char *item)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len ? " " : "", item);
}

static void render_addrs(const struct failover_settings *s, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN], item[INET6_ADDRSTRLEN + 8];

	buf[0] = '\0';
	for (size_t i = 0; i < s->n_addrs; i++) {
		failover_ip_to_string(s->addrs[i].family, &s->addrs[i].addr, a, sizeof(a));
		snprintf(item, sizeof(item), "%s/%u", a, s->addrs[i].prefixlen);
		join(buf, size, item);
	}
}

static void render_ips(const struct failover_ip *ips, size_t n, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		join(buf, size, failover_ip_to_string(ips[i].family, &ips[i].addr, a, sizeof(a)));
}

/* A message goes to the journal: no raw control bytes, however hostile the input. */
static void assert_printable(const char *msg)
{
	for (const char *p = msg; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f,
			      "raw control byte 0x%02x in message \"%s\"", (unsigned char)*p, msg);
}

static bool ip_eq(int family, const union in_addr_union *a, const union in_addr_union *b)
{
	if (family == AF_INET)
		return a->in.s_addr == b->in.s_addr;
	return memcmp(&a->in6, &b->in6, sizeof(a->in6)) == 0;
}

/* Everything but addr_family_hint, which test_round_trip_hint covers on its own. */
static void assert_settings_eq(const struct failover_settings *x,
			       const struct failover_settings *y)
{
	ck_assert_str_eq(x->adapter_id, y->adapter_id);
	ck_assert_int_eq(x->dhcp4, y->dhcp4);
	ck_assert_uint_eq(x->n_addrs, y->n_addrs);
	for (size_t i = 0; i < x->n_addrs; i++) {
		ck_assert_int_eq(x->addrs[i].family, y->addrs[i].family);
		ck_assert(ip_eq(x->addrs[i].family, &x->addrs[i].addr, &y->addrs[i].addr));
		ck_assert_uint_eq(x->addrs[i].prefixlen, y->addrs[i].prefixlen);
	}
	ck_assert_uint_eq(x->n_gateways, y->n_gateways);
	for (size_t i = 0; i < x->n_gateways; i++) {
		ck_assert_int_eq(x->gateways[i].family, y->gateways[i].family);
		ck_assert(ip_eq(x->gateways[i].family, &x->gateways[i].addr, &y->gateways[i].addr));
	}
	ck_assert_uint_eq(x->n_dns, y->n_dns);
	for (size_t i = 0; i < x->n_dns; i++) {
		ck_assert_int_eq(x->dns[i].family, y->dns[i].family);
		ck_assert(ip_eq(x->dns[i].family, &x->dns[i].addr, &y->dns[i].addr));
	}
}

/* The structs are large; keep them off the (forked) test's stack. */
static struct kvp_ip_fields fields, formatted;
static struct failover_settings parsed, reparsed;

/* ---- table-driven parse ------------------------------------------------------- */

START_TEST(test_parse_table)
{
	const struct fo_case *c = &cases[_i];
	char err[512], buf[2048];
	int r;

	fill_fields(c, &fields);
	memset(err, 'X', sizeof(err));
	r = failover_parse(&fields, &parsed, err, sizeof(err));
	ck_assert_msg(memchr(err, '\0', sizeof(err)), "%s: message not terminated", c->name);
	assert_printable(err);
	ck_assert_msg(utf8_valid(err, strlen(err)), "%s: message is not UTF-8: %s", c->name, err);

	if (c->err) {
		ck_assert_msg(r == -EINVAL, "%s: expected -EINVAL, got %d", c->name, r);
		ck_assert_msg(strstr(err, c->err), "%s: message \"%s\" lacks \"%s\"", c->name, err,
			      c->err);
		return;
	}
	ck_assert_msg(r == 0, "%s: expected success, got %d: %s", c->name, r, err);
	ck_assert_msg(err[0] == '\0', "%s: message on success: %s", c->name, err);
	ck_assert_str_eq(parsed.adapter_id, c->adapter_id ? c->adapter_id : GUID);
	ck_assert_int_eq(parsed.dhcp4, c->dhcp);
	ck_assert_uint_eq(parsed.addr_family_hint, c->family);
	for (size_t i = 0; i < parsed.n_addrs; i++) {
		int fam = parsed.addrs[i].family;

		ck_assert(fam == AF_INET || fam == AF_INET6);
		ck_assert_uint_ge(parsed.addrs[i].prefixlen, 1);
		ck_assert_uint_le(parsed.addrs[i].prefixlen, fam == AF_INET ? 32 : 128);
	}
	if (c->want_n_addrs) {
		ck_assert_uint_eq(parsed.n_addrs, c->want_n_addrs);
	} else {
		render_addrs(&parsed, buf, sizeof(buf));
		ck_assert_msg(streq(buf, c->want_addrs ? c->want_addrs : ""),
			      "%s: addresses \"%s\", expected \"%s\"", c->name, buf,
			      c->want_addrs ? c->want_addrs : "");
	}
	render_ips(parsed.gateways, parsed.n_gateways, buf, sizeof(buf));
	ck_assert_msg(streq(buf, c->want_gw ? c->want_gw : ""), "%s: gateways \"%s\"", c->name,
		      buf);
	if (c->want_n_dns) {
		ck_assert_uint_eq(parsed.n_dns, c->want_n_dns);
		return;
	}
	render_ips(parsed.dns, parsed.n_dns, buf, sizeof(buf));
	ck_assert_msg(streq(buf, c->want_dns ? c->want_dns : ""), "%s: dns \"%s\"", c->name, buf);
}
END_TEST

/* Every accepted row survives parse -> format -> parse unchanged. */
START_TEST(test_round_trip_table)
{
	const struct fo_case *c = &cases[_i];
	char err[512];

	if (c->err)
		return;
	fill_fields(c, &fields);
	ck_assert_int_eq(failover_parse(&fields, &parsed, err, sizeof(err)), 0);
	ck_assert_msg(failover_format(&parsed, &formatted) == 0, "%s: format failed", c->name);
	ck_assert_msg(failover_parse(&formatted, &reparsed, err, sizeof(err)) == 0,
		      "%s: formatted settings rejected: %s", c->name, err);
	assert_settings_eq(&parsed, &reparsed);
}
END_TEST

/*
 * The hint is what the host said, not what the lists hold: a settings struct
 * rendered and parsed again keeps it, even when the host got it wrong or
 * sent none.
 */
static const struct {
	uint8_t hint;
	const char *ip, *sub;
} hint_cases[] = {
	{ 0, "192.0.2.10", "24" },
	{ V4, "2001:db8::10", "64" },
	{ V6, "192.0.2.10", "24" },
	{ V4, "192.0.2.10;2001:db8::10", "24;64" },
	{ V4 | V6, "192.0.2.10", "24" },
};

START_TEST(test_round_trip_hint)
{
	char err[256];

	memset(&fields, 0, sizeof(fields));
	strcpy(fields.adapter_id, GUID);
	strcpy(fields.ip_addr, hint_cases[_i].ip);
	strcpy(fields.sub_net, hint_cases[_i].sub);
	fields.addr_family = hint_cases[_i].hint;
	ck_assert_int_eq(failover_parse(&fields, &parsed, err, sizeof(err)), 0);
	ck_assert_uint_eq(parsed.addr_family_hint, hint_cases[_i].hint);
	ck_assert_int_eq(failover_format(&parsed, &formatted), 0);
	ck_assert_int_eq(failover_parse(&formatted, &reparsed, err, sizeof(err)), 0);
	ck_assert_msg(reparsed.addr_family_hint == parsed.addr_family_hint,
		      "hint 0x%02x for \"%s\" came back as 0x%02x", parsed.addr_family_hint,
		      hint_cases[_i].ip, reparsed.addr_family_hint);
}
END_TEST

/* ---- failover_format ------------------------------------------------------------ */

START_TEST(test_format_strings)
{
	char err[256];

	memset(&fields, 0, sizeof(fields));
	strcpy(fields.adapter_id, GUID);
	strcpy(fields.ip_addr, " 192.0.2.10/24 ; 2001:DB8:0::10;10.1.2.3");
	strcpy(fields.sub_net, "24;/64;255.0.0.0");
	strcpy(fields.gate_way, "192.0.2.1;2001:db8::1");
	strcpy(fields.dns_addr, "192.0.2.53");
	fields.addr_family = V4 | V6;
	fields.dhcp_enabled = 1;
	ck_assert_int_eq(failover_parse(&fields, &parsed, err, sizeof(err)), 0);
	ck_assert_int_eq(failover_format(&parsed, &formatted), 0);
	ck_assert_str_eq(formatted.adapter_id, GUID);
	ck_assert_str_eq(formatted.ip_addr, "192.0.2.10;2001:db8::10;10.1.2.3");
	ck_assert_str_eq(formatted.sub_net, "255.255.255.0;64;255.0.0.0");
	ck_assert_str_eq(formatted.gate_way, "192.0.2.1;2001:db8::1");
	ck_assert_str_eq(formatted.dns_addr, "192.0.2.53");
	ck_assert_uint_eq(formatted.addr_family, V4 | V6);
	ck_assert_uint_eq(formatted.dhcp_enabled, 1);
}
END_TEST

START_TEST(test_format_dhcp_only)
{
	struct failover_settings s = { .dhcp4 = true, .addr_family_hint = V4 };

	strcpy(s.adapter_id, GUID);
	ck_assert_int_eq(failover_format(&s, &formatted), 0);
	ck_assert_str_eq(formatted.ip_addr, "");
	ck_assert_str_eq(formatted.sub_net, "");
	ck_assert_str_eq(formatted.gate_way, "");
	ck_assert_str_eq(formatted.dns_addr, "");
	ck_assert_uint_eq(formatted.dhcp_enabled, 1);
	ck_assert_uint_eq(formatted.addr_family, V4);
}
END_TEST

/*
 * inet_ntop never compresses a single zero group, so "1111::3333:...:8888"
 * (35 bytes) comes back as "1111:0:3333:...:8888" (36). 56 of them fit in
 * ip_addr on the way in; if the parser takes them, they must also fit on the
 * way out.
 */
START_TEST(test_format_canonical_longer_than_input)
{
	char err[256];
	size_t len = 0, slen = 0;
	unsigned n = 56;

	memset(&fields, 0, sizeof(fields));
	strcpy(fields.adapter_id, GUID);
	for (unsigned i = 0; i < n; i++) {
		len += (size_t)snprintf(fields.ip_addr + len, sizeof(fields.ip_addr) - len,
					"%s1111::3333:4444:5555:6666:7777:%04x", i ? ";" : "",
					0x1000 + i);
		slen += (size_t)snprintf(fields.sub_net + slen, sizeof(fields.sub_net) - slen,
					 "%s64", i ? ";" : "");
	}
	ck_assert_uint_le(len, KVP_IP_ADDR_BYTES);
	/* refusing that many is fine too, as long as the message says why */
	if (failover_parse(&fields, &parsed, err, sizeof(err)) != 0) {
		ck_assert_uint_lt(FAILOVER_MAX_ADDRS, n);
		ck_assert_ptr_nonnull(strstr(err, "IPAddresses[" STR(FAILOVER_MAX_ADDRS) "]"));
		return;
	}
	ck_assert_uint_eq(parsed.n_addrs, n);
	ck_assert_int_eq(failover_format(&parsed, &formatted), 0);
	ck_assert_int_eq(failover_parse(&formatted, &reparsed, err, sizeof(err)), 0);
	assert_settings_eq(&parsed, &reparsed);
}
END_TEST


/* The shortest IPv6 spelling: never longer than what the host may send. */
START_TEST(test_format_ipv6_shortest)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "::1:2", "::1:2" }, /* inet_ntop: ::0.1.0.2 */
		{ "1111::3333:4444:5555:6666:7777:8888", "1111::3333:4444:5555:6666:7777:8888" },
		{ "1:0:0:2:0:0:0:3", "1:0:0:2::3" },
		{ "1:0:0:2:3:0:0:4", "1::2:3:0:0:4" },
		{ "1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0" },
		{ "0:1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7" },
		{ "1:2:3:4:5:6:0:0", "1:2:3:4:5:6::" },
		{ "1::", "1::" },
		{ "2001:DB8::10", "2001:db8::10" },
	};
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		memset(&fields, 0, sizeof(fields));
		strcpy(fields.adapter_id, GUID);
		strcpy(fields.ip_addr, v[i].in);
		strcpy(fields.sub_net, "64");
		ck_assert_int_eq(failover_parse(&fields, &parsed, err, sizeof(err)), 0);
		ck_assert_int_eq(failover_format(&parsed, &formatted), 0);
		ck_assert_str_eq(formatted.ip_addr, v[i].out);
		ck_assert_uint_le(strlen(formatted.ip_addr), strlen(v[i].in));
	}
}
END_TEST

/* 150 IPv4 addresses fit in ip_addr, their dotted masks would not in
 * sub_net: written back as prefix lengths instead. */
START_TEST(test_format_masks_as_lengths_when_dotted_do_not_fit)
{
	size_t len = 0, slen = 0;
	char err[256];

	memset(&fields, 0, sizeof(fields));
	strcpy(fields.adapter_id, GUID);
	for (unsigned i = 0; i < 150; i++) {
		len += (size_t)snprintf(fields.ip_addr + len, sizeof(fields.ip_addr) - len,
					"%s10.%u.0.1", i ? ";" : "", i);
		slen += (size_t)snprintf(fields.sub_net + slen, sizeof(fields.sub_net) - slen,
					 "%s24", i ? ";" : "");
	}
	ck_assert_int_eq(failover_parse(&fields, &parsed, err, sizeof(err)), 0);
	ck_assert_uint_lt(len, sizeof(fields.ip_addr) - 1);
	ck_assert_uint_eq(parsed.n_addrs, 150);
	ck_assert_int_eq(failover_format(&parsed, &formatted), 0);
	ck_assert_ptr_null(strchr(formatted.sub_net, '.'));
	ck_assert(strncmp(formatted.sub_net, "24;24;", 6) == 0);
	ck_assert_int_eq(failover_parse(&formatted, &reparsed, err, sizeof(err)), 0);
	assert_settings_eq(&parsed, &reparsed);

	/* a few still get dotted masks, as upstream writes them */
	strcpy(fields.ip_addr, "10.0.0.1;10.1.0.1");
	strcpy(fields.sub_net, "16;16");
	ck_assert_int_eq(failover_parse(&fields, &parsed, err, sizeof(err)), 0);
	ck_assert_int_eq(failover_format(&parsed, &formatted), 0);
	ck_assert_str_eq(formatted.sub_net, "255.255.0.0;255.255.0.0");
}
END_TEST

/* Which gateways go on-link: IPv4 ones outside every pushed subnet. */
START_TEST(test_gateway_onlink)
{
	char err[256];

	memset(&fields, 0, sizeof(fields));
	strcpy(fields.adapter_id, GUID);
	strcpy(fields.ip_addr, "192.0.2.10;198.51.100.10;2001:db8::10");
	strcpy(fields.sub_net, "24;25;64");
	strcpy(fields.gate_way, "192.0.2.1;203.0.113.1;198.51.100.126;198.51.100.129;2001:db8::1");
	ck_assert_int_eq(failover_parse(&fields, &parsed, err, sizeof(err)), 0);
	ck_assert(!failover_gateway_onlink(&parsed, 0));
	ck_assert(failover_gateway_onlink(&parsed, 1));
	ck_assert(!failover_gateway_onlink(&parsed, 2));
	ck_assert(failover_gateway_onlink(&parsed, 3)); /* just past the /25 */
	ck_assert(!failover_gateway_onlink(&parsed, 4)); /* IPv6: never */
	ck_assert(!failover_gateway_onlink(&parsed, 5)); /* out of range */

	/* DHCP and no IPv4 address: the lease brings the subnet, nothing to say */
	memset(&fields, 0, sizeof(fields));
	strcpy(fields.adapter_id, GUID);
	strcpy(fields.gate_way, "192.0.2.1");
	fields.dhcp_enabled = 1;
	ck_assert_int_eq(failover_parse(&fields, &parsed, err, sizeof(err)), 0);
	ck_assert(!failover_gateway_onlink(&parsed, 0));
}
END_TEST

/* The most settings the parser takes survive the state file, which the
 * daemon re-applies at start-up. */
START_TEST(test_max_settings_in_state_file)
{
	static struct adapter_state st, back;
	static char text[64 * 1024];
	char err[256];

	memset(&fields, 0, sizeof(fields));
	strcpy(fields.adapter_id, GUID);
	prep_dns(&fields, FAILOVER_MAX_DNS);
	/* prep_dns() wrote one IPv4 address: the 256 IPv6 ones instead */
	prep_max_addrs(&fields);
	ck_assert_int_eq(failover_parse(&fields, &parsed, err, sizeof(err)), 0);
	ck_assert_uint_eq(parsed.n_addrs, FAILOVER_MAX_ADDRS);
	ck_assert_uint_eq(parsed.n_dns, FAILOVER_MAX_DNS);

	memset(&st, 0, sizeof(st));
	strcpy(st.mac, "00:15:5d:00:00:01");
	strcpy(st.ifname, "eth0");
	st.host = fields;
	st.applied = fields;
	st.applied_usec = 1;
	ck_assert_int_eq(state_format(&st, text, sizeof(text)), 0);
	ck_assert_int_eq(state_parse(text, &back), 0);
	ck_assert_str_eq(back.applied.ip_addr, fields.ip_addr);
	ck_assert_str_eq(back.applied.dns_addr, fields.dns_addr);
	ck_assert_int_eq(failover_parse(&back.applied, &reparsed, err, sizeof(err)), 0);
	assert_settings_eq(&parsed, &reparsed);
}
END_TEST

/* ---- error buffer handling ------------------------------------------------------ */

START_TEST(test_err_buffer)
{
	char small[12];

	memset(&fields, 0, sizeof(fields));
	strcpy(fields.adapter_id, GUID);
	strcpy(fields.ip_addr, "192.0.2.300");
	strcpy(fields.sub_net, "24");
	ck_assert_int_eq(failover_parse(&fields, &parsed, NULL, 0), -EINVAL);
	ck_assert_int_eq(failover_parse(&fields, &parsed, small, sizeof(small)), -EINVAL);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert(strncmp(small, "IPAddresses", sizeof(small) - 1) == 0);

	/* success clears a stale message */
	strcpy(fields.ip_addr, "192.0.2.10");
	strcpy(small, "stale");
	ck_assert_int_eq(failover_parse(&fields, &parsed, small, sizeof(small)), 0);
	ck_assert_str_eq(small, "");
}
END_TEST

/* ---- failover_mask_to_prefix ---------------------------------------------------- */

START_TEST(test_mask_valid)
{
	/* _i = 0..32: the mask with _i leading ones */
	uint32_t m = _i ? 0xffffffffu << (32 - _i) : 0;
	struct in_addr mask = { .s_addr = htonl(m) };

	ck_assert_int_eq(failover_mask_to_prefix(mask), _i);
}
END_TEST

static const uint32_t bad_masks[] = {
	0xff00ff00, /* 255.0.255.0 */
	0x00ffffff, 0x7fffffff, 0x00000001, 0xfffffffd, 0xffff00ff,
	0xfeffffff, 0x80000001, 0xaaaaaaaa, 0x0000ff00,
};

START_TEST(test_mask_invalid)
{
	struct in_addr mask = { .s_addr = htonl(bad_masks[_i]) };

	ck_assert_int_eq(failover_mask_to_prefix(mask), -EINVAL);
}
END_TEST

/* ---- failover_count / failover_ip_to_string -------------------------------------- */

START_TEST(test_count)
{
	unsigned v4 = 99, v6 = 99;
	char err[256];

	memset(&parsed, 0, sizeof(parsed));
	failover_count(&parsed, &v4, &v6);
	ck_assert_uint_eq(v4, 0);
	ck_assert_uint_eq(v6, 0);

	memset(&fields, 0, sizeof(fields));
	strcpy(fields.adapter_id, GUID);
	strcpy(fields.ip_addr, "192.0.2.10;2001:db8::1;198.51.100.7;2001:db8::2;fe80::1;10.0.0.1");
	strcpy(fields.sub_net, "24;64;24;64;64;8");
	ck_assert_int_eq(failover_parse(&fields, &parsed, err, sizeof(err)), 0);
	failover_count(&parsed, &v4, &v6);
	ck_assert_uint_eq(v4, 3);
	ck_assert_uint_eq(v6, 3);

	strcpy(fields.ip_addr, "2001:db8::1");
	strcpy(fields.sub_net, "64");
	ck_assert_int_eq(failover_parse(&fields, &parsed, err, sizeof(err)), 0);
	failover_count(&parsed, &v4, &v6);
	ck_assert_uint_eq(v4, 0);
	ck_assert_uint_eq(v6, 1);
}
END_TEST

START_TEST(test_ip_to_string)
{
	union in_addr_union a = { 0 };
	char buf[INET6_ADDRSTRLEN];

	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.10", &a.in), 1);
	ck_assert_str_eq(failover_ip_to_string(AF_INET, &a, buf, sizeof(buf)), "192.0.2.10");
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:DB8:0:0::1", &a.in6), 1);
	ck_assert_str_eq(failover_ip_to_string(AF_INET6, &a, buf, sizeof(buf)), "2001:db8::1");
	/* a family it does not know, or a buffer too small, gives "?" */
	ck_assert_str_eq(failover_ip_to_string(12345, &a, buf, sizeof(buf)), "?");
	ck_assert_str_eq(failover_ip_to_string(AF_INET6, &a, buf, 4), "?");
}
END_TEST

Suite *failover_suite(void)
{
	Suite *s = suite_create("failover");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_table, 0, (int)ARRAY_SIZE(cases));
	tcase_add_test(tc, test_err_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_round_trip_table, 0, (int)ARRAY_SIZE(cases));
	tcase_add_loop_test(tc, test_round_trip_hint, 0, (int)ARRAY_SIZE(hint_cases));
	tcase_add_test(tc, test_format_strings);
	tcase_add_test(tc, test_format_dhcp_only);
	tcase_add_test(tc, test_format_canonical_longer_than_input);
	tcase_add_test(tc, test_format_ipv6_shortest);
	tcase_add_test(tc, test_format_masks_as_lengths_when_dotted_do_not_fit);
	tcase_add_test(tc, test_max_settings_in_state_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_loop_test(tc, test_mask_valid, 0, 33);
	tcase_add_loop_test(tc, test_mask_invalid, 0, (int)ARRAY_SIZE(bad_masks));
	tcase_add_test(tc, test_count);
	tcase_add_test(tc, test_gateway_onlink);
	tcase_add_test(tc, test_ip_to_string);
	suite_add_tcase(s, tc);
	return s;
}

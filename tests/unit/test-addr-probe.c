/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-addr-probe.c - ARP and neighbour advertisement codecs, the RFC 5227 conflict rule, ConflictProbeSec=. */
#include <arpa/inet.h>
#include <stdio.h>

#include "addr-probe.h"
#include "conf.h"
#include "suites.h"
#include "util.h"

static const uint8_t our_mac[6] = { 0x00, 0x15, 0x5d, 0x00, 0x00, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x10 };

static struct in_addr ip4(const char *s)
{
	struct in_addr a;

	ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;

	ck_assert_int_eq(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

START_TEST(test_arp_probe_bytes)
{
	static const uint8_t want[ARP_PACKET_LEN] = {
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,	    /* Ethernet, IPv4, request */
		0x00, 0x15, 0x5d, 0x00, 0x00, 0x01, 0, 0, 0, 0, /* our MAC, 0.0.0.0 */
		0, 0, 0, 0, 0, 0, 192, 0, 2, 10,		    /* zero MAC, the candidate */
	};
	uint8_t buf[ARP_PACKET_LEN];

	arp_build_probe(buf, our_mac, ip4("192.0.2.10"));
	ck_assert_mem_eq(buf, want, sizeof(want));
}
END_TEST

START_TEST(test_arp_announce_bytes)
{
	uint8_t buf[ARP_PACKET_LEN];
	struct arp_packet p;

	arp_build_announce(buf, our_mac, ip4("192.0.2.20"));
	ck_assert_int_eq(arp_parse(buf, sizeof(buf), &p), 0);
	ck_assert_uint_eq(p.op, ARP_OP_REQUEST);
	ck_assert_mem_eq(p.sha, our_mac, 6);
	ck_assert_uint_eq(p.spa.s_addr, ip4("192.0.2.20").s_addr);
	ck_assert_uint_eq(p.tpa.s_addr, ip4("192.0.2.20").s_addr);
	ck_assert_mem_eq(p.tha, (uint8_t[6]){ 0 }, 6);
}
END_TEST

START_TEST(test_arp_parse)
{
	uint8_t buf[60] = { 0 }; /* an Ethernet frame padded to its minimum */
	struct arp_packet p;

	arp_build_probe(buf, peer_mac, ip4("198.51.100.7"));
	buf[7] = ARP_OP_REPLY;
	ck_assert_int_eq(arp_parse(buf, sizeof(buf), &p), 0);
	ck_assert_uint_eq(p.op, ARP_OP_REPLY);
	ck_assert_mem_eq(p.sha, peer_mac, 6);
	ck_assert_uint_eq(p.tpa.s_addr, ip4("198.51.100.7").s_addr);

	ck_assert_int_eq(arp_parse(buf, ARP_PACKET_LEN - 1, &p), -EBADMSG);
	ck_assert_int_eq(arp_parse(buf, 0, &p), -EBADMSG);
	for (size_t i = 0; i < 8; i++) {
		/* hardware type, protocol type, lengths and op each checked */
		uint8_t bad[ARP_PACKET_LEN];

		memcpy(bad, buf, sizeof(bad));
		bad[i] ^= 0x40;
		ck_assert_int_eq(arp_parse(bad, sizeof(bad), &p), -EBADMSG);
	}
	buf[7] = 3; /* RARP request */
	ck_assert_int_eq(arp_parse(buf, sizeof(buf), &p), -EBADMSG);
}
END_TEST

/* arp_conflict() of a packet built from its fields. */
static int conflict(uint16_t op, const uint8_t sha[6], const char *spa, const char *tpa)
{
	const struct in_addr cands[2] = { ip4("192.0.2.10"), ip4("192.0.2.11") };
	struct arp_packet p = { .op = op, .spa = ip4(spa), .tpa = ip4(tpa) };

	memcpy(p.sha, sha, 6);
	return arp_conflict(&p, our_mac, cands, ARRAY_SIZE(cands));
}

START_TEST(test_arp_conflict_rule)
{
	/* a host answering our probe */
	ck_assert_int_eq(conflict(ARP_OP_REPLY, peer_mac, "192.0.2.11", "0.0.0.0"), 1);
	/* a host using the address asks for another one */
	ck_assert_int_eq(conflict(ARP_OP_REQUEST, peer_mac, "192.0.2.10", "192.0.2.1"), 0);
	/* its gratuitous ARP */
	ck_assert_int_eq(conflict(ARP_OP_REQUEST, peer_mac, "192.0.2.10", "192.0.2.10"), 0);
	/* another host probing for the same address */
	ck_assert_int_eq(conflict(ARP_OP_REQUEST, peer_mac, "0.0.0.0", "192.0.2.11"), 1);
	/* someone asking who has it: no one claims it */
	ck_assert_int_eq(conflict(ARP_OP_REQUEST, peer_mac, "192.0.2.99", "192.0.2.10"), -1);
	/* a reply about another address */
	ck_assert_int_eq(conflict(ARP_OP_REPLY, peer_mac, "192.0.2.99", "192.0.2.10"), -1);
	/* our own probes and announcements, looped back */
	ck_assert_int_eq(conflict(ARP_OP_REQUEST, our_mac, "0.0.0.0", "192.0.2.10"), -1);
	ck_assert_int_eq(conflict(ARP_OP_REQUEST, our_mac, "192.0.2.10", "192.0.2.10"), -1);
	/* a probe answer is no probe: a reply from 0.0.0.0 claims nothing */
	ck_assert_int_eq(conflict(ARP_OP_REPLY, peer_mac, "0.0.0.0", "192.0.2.10"), -1);
}
END_TEST

START_TEST(test_na_bytes)
{
	const struct in6_addr t = ip6("2001:db8::20");
	uint8_t buf[NA_PACKET_LEN];
	struct na_packet na;

	na_build(buf, &t, our_mac, NA_FLAG_OVERRIDE);
	ck_assert_uint_eq(buf[0], 136);
	ck_assert_uint_eq(buf[1], 0);
	ck_assert_uint_eq(buf[2] | buf[3], 0); /* the kernel's to fill */
	ck_assert_uint_eq(buf[4], 0x20);
	ck_assert_uint_eq(buf[5] | buf[6] | buf[7], 0);
	ck_assert_mem_eq(buf + 8, &t, 16);
	ck_assert_uint_eq(buf[24], 2); /* target link-layer address */
	ck_assert_uint_eq(buf[25], 1);
	ck_assert_mem_eq(buf + 26, our_mac, 6);

	ck_assert_int_eq(na_parse(buf, sizeof(buf), &na), 0);
	ck_assert_uint_eq(na.flags, NA_FLAG_OVERRIDE);
	ck_assert(IN6_ARE_ADDR_EQUAL(&na.target, &t));
	ck_assert(na.has_tlla);
	ck_assert_mem_eq(na.tlla, our_mac, 6);
}
END_TEST

START_TEST(test_na_parse)
{
	const struct in6_addr t = ip6("2001:db8::10");
	uint8_t buf[48];
	struct na_packet na;

	/* a nonce option (type 14) before the TLLA, and S+O as a DAD answer has */
	na_build(buf, &t, peer_mac, NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE | 0x1f);
	memmove(buf + 32, buf + 24, 8);
	memset(buf + 24, 0, 8);
	buf[24] = 14;
	buf[25] = 1;
	ck_assert_int_eq(na_parse(buf, 40, &na), 0);
	ck_assert_uint_eq(na.flags, NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE); /* reserved bits dropped */
	ck_assert(na.has_tlla);
	ck_assert_mem_eq(na.tlla, peer_mac, 6);

	/* no option at all */
	ck_assert_int_eq(na_parse(buf, 24, &na), 0);
	ck_assert(!na.has_tlla);

	/* broken: short, zero-length option, option past the end, half an option header */
	ck_assert_int_eq(na_parse(buf, 23, &na), -EBADMSG);
	buf[25] = 0;
	ck_assert_int_eq(na_parse(buf, 40, &na), -EBADMSG);
	buf[25] = 3;
	ck_assert_int_eq(na_parse(buf, 40, &na), -EBADMSG);
	buf[25] = 1;
	ck_assert_int_eq(na_parse(buf, 41, &na), -EBADMSG);

	/* not an NA, or not code 0, or a multicast target */
	buf[0] = 135;
	ck_assert_int_eq(na_parse(buf, 40, &na), -EBADMSG);
	buf[0] = 136;
	buf[1] = 1;
	ck_assert_int_eq(na_parse(buf, 40, &na), -EBADMSG);
	buf[1] = 0;
	buf[8] = 0xff;
	ck_assert_int_eq(na_parse(buf, 40, &na), -EBADMSG);
}
END_TEST

START_TEST(test_mac)
{
	uint8_t m[6];
	char s[18];

	ck_assert_int_eq(mac_parse("00:15:5d:00:00:01", m), 0);
	ck_assert_mem_eq(m, our_mac, 6);
	ck_assert_int_eq(mac_parse("02:00:00:00:00:1F", m), 0);
	ck_assert_str_eq(mac_format(m, s, sizeof(s)), "02:00:00:00:00:1f");
	ck_assert_int_eq(mac_parse("", m), -EINVAL);
	ck_assert_int_eq(mac_parse("00:15:5d:00:00", m), -EINVAL);
	ck_assert_int_eq(mac_parse("00:15:5d:00:00:01:", m), -EINVAL);
	ck_assert_int_eq(mac_parse("00-15-5d-00-00-01", m), -EINVAL);
	ck_assert_int_eq(mac_parse("0g:15:5d:00:00:01", m), -EINVAL);
	ck_assert_int_eq(mac_parse("0:15:5d:00:00:01:", m), -EINVAL);
}
END_TEST

START_TEST(test_conf_probe)
{
	static const struct {
		const char *v;
		uint64_t usec;
	} good[] = {
		{ "0", 0 },	       { "1", 1000000 },   { "0.5", 500000 },  { "0.250", 250000 },
		{ "10", 10000000 },    { "10.000", 10000000 }, { "007", 7000000 }, { "2.05", 2050000 },
	};
	static const char *const bad[] = { "",	   "-1",     "+1",    " 1",   "1 ", "1e0", ".5",
					   "1.",   "0.1234", "10.001", "11",   "1,5", "inf", "0x1",
					   "99999999999999999999" };
	struct conf c;
	char err[256];
	uint64_t u;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		ck_assert_msg(conf_parse_probe(good[i].v, &u) == 0, "%s", good[i].v);
		ck_assert_uint_eq(u, good[i].usec);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(conf_parse_probe(bad[i], &u) == -EINVAL, "'%s' accepted", bad[i]);

	conf_defaults(&c);
	ck_assert_uint_eq(c.conflict_probe_usec, ADDR_PROBE_DEFAULT_USEC);
	ck_assert_int_eq(conf_parse(&c, "ConflictProbeSec=0.3\n", "t.conf", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.conflict_probe_usec, 300000);
	ck_assert_int_eq(conf_parse(&c, "\nConflictProbeSec=12\n", "t.conf", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err,
			 "t.conf:2: ConflictProbeSec: '12' is not a number of seconds in 0..10 with at most 3 decimals");
	ck_assert_uint_eq(c.conflict_probe_usec, 300000);
}
END_TEST

/* Off: the hooks do nothing and touch no link (ifindex 0 does not exist). */
START_TEST(test_hooks_off)
{
	const struct adapter a = { .ifname = "none0", .ifindex = 0, .mac = "00:15:5d:00:00:01" };
	struct failover_settings s = { .n_addrs = 1 };
	struct addr_probe *p = (struct addr_probe *)&s;
	char why[64] = "";

	s.addrs[0].family = AF_INET;
	s.addrs[0].addr.in = ip4("192.0.2.10");
	s.addrs[0].prefixlen = 24;
	addr_probe_configure(0, false);
	ck_assert_int_eq(addr_probe_before_apply(&a, &s, now_usec() + 1000000, &p, why, sizeof(why)), 0);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(addr_probe_after_verify(p, now_usec() + 1000000, why, sizeof(why)), 0);
	ck_assert_str_eq(addr_probe_note(p), "");
	addr_probe_announce(p);
	ck_assert_uint_eq(addr_announce_pending(), 0);
	addr_announce_drain(now_usec());
	ck_assert_str_eq(why, "");
	ck_assert_ptr_null(addr_probe_free(p));
}
END_TEST

Suite *addr_probe_suite(void)
{
	Suite *s = suite_create("addr-probe");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_arp_probe_bytes);
	tcase_add_test(tc, test_arp_announce_bytes);
	tcase_add_test(tc, test_arp_parse);
	tcase_add_test(tc, test_arp_conflict_rule);
	tcase_add_test(tc, test_na_bytes);
	tcase_add_test(tc, test_na_parse);
	tcase_add_test(tc, test_mac);
	tcase_add_test(tc, test_conf_probe);
	tcase_add_test(tc, test_hooks_off);
	suite_add_tcase(s, tc);
	return s;
}

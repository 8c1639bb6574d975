/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-addr-probe.c - libFuzzer target: any frame from the LAN as an ARP packet (first byte even) or a neighbour advertisement (odd). */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "addr-probe.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_arp(const uint8_t *data, size_t size)
{
	static const uint8_t ours[6] = { 0x00, 0x15, 0x5d, 0x00, 0x00, 0x01 };
	struct in_addr cands[2];
	struct arp_packet p, again;
	uint8_t buf[ARP_PACKET_LEN];
	int i;

	if (arp_parse(data, size, &p) < 0)
		return;
	CHECK(size >= ARP_PACKET_LEN);
	CHECK(p.op == ARP_OP_REQUEST || p.op == ARP_OP_REPLY);
	/* the verdict always names one of the candidates, never our own MAC's */
	inet_pton(AF_INET, "192.0.2.10", &cands[0]);
	cands[1] = p.spa.s_addr ? p.spa : p.tpa;
	i = arp_conflict(&p, ours, cands, 2);
	CHECK(i >= -1 && i < 2);
	if (memcmp(p.sha, ours, 6) == 0)
		CHECK(i == -1);
	else if (p.spa.s_addr || p.op == ARP_OP_REQUEST)
		CHECK(i >= 0);
	/* what parses is what an announcement or a probe of its fields is */
	if (p.op == ARP_OP_REQUEST && p.spa.s_addr == p.tpa.s_addr) {
		arp_build_announce(buf, p.sha, p.spa);
		CHECK(arp_parse(buf, sizeof(buf), &again) == 0);
		CHECK(memcmp(again.sha, p.sha, 6) == 0 && again.spa.s_addr == p.spa.s_addr);
	}
	if (p.op == ARP_OP_REQUEST && p.spa.s_addr == 0) {
		arp_build_probe(buf, p.sha, p.tpa);
		CHECK(arp_parse(buf, sizeof(buf), &again) == 0);
		CHECK(again.tpa.s_addr == p.tpa.s_addr && again.spa.s_addr == 0);
	}
}

static void fuzz_na(const uint8_t *data, size_t size)
{
	struct na_packet na, again;
	uint8_t buf[NA_PACKET_LEN];

	if (na_parse(data, size, &na) < 0)
		return;
	CHECK(size >= 24);
	CHECK(!IN6_IS_ADDR_MULTICAST(&na.target));
	CHECK((na.flags & ~(NA_FLAG_ROUTER | NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE)) == 0);
	if (!na.has_tlla)
		return;
	/* built again from what was read, it reads the same */
	na_build(buf, &na.target, na.tlla, na.flags);
	CHECK(na_parse(buf, sizeof(buf), &again) == 0);
	CHECK(again.flags == na.flags && again.has_tlla);
	CHECK(memcmp(&again.target, &na.target, 16) == 0 && memcmp(again.tlla, na.tlla, 6) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_na(data + 1, size - 1);
	else
		fuzz_arp(data + 1, size - 1);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* addr-probe.h - address conflict detection before a commit (ARP probes, the kernel's DAD) and announcements after it. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"
#include "failover.h"

/*
 * A failover that takes an address another host holds (a test failover
 * attached to the production network) must fail, not steal it; and after a
 * failover onto a stretched VLAN the neighbours must learn the new MAC at
 * once, not when their caches expire. So the transaction (backend.c) asks
 * this module, for the host's addresses that are not on the link yet:
 *
 *   before apply:  IPv4 ARP probes (RFC 5227 2.1.1, sender 0.0.0.0) for a
 *                  short window; a reply or a probe of another MAC = conflict
 *   after verify:  the kernel's IPv6 DAD (RFC 4862): wait for IFA_F_TENTATIVE
 *                  to clear; IFA_F_DADFAILED, or a neighbour advertisement
 *                  for the address from another MAC = conflict
 *   after commit:  ARP announcements (RFC 5227 2.3) and unsolicited neighbour
 *                  advertisements (RFC 4861 7.2.6, override, to ff02::1):
 *                  the first round at once, the others from sd-event timers
 *                  on the thread's default event loop
 *
 * IPv4 is probed before the address is configured because a Linux host with
 * the address would answer ARP requests for it and so take the traffic; an
 * IPv6 address is harmless while the kernel holds it tentative.
 */

/* ---- pure codecs: no I/O, unit-tested and fuzzed ------------------------------ */

#define ARP_PACKET_LEN 28 /* Ethernet/IPv4 ARP without the link header */
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

struct arp_packet {
	uint16_t op;
	uint8_t sha[6];
	struct in_addr spa;
	uint8_t tha[6];
	struct in_addr tpa;
};

/* An ARP probe: a request from `mac` with sender IP 0.0.0.0 for `target`. */
void arp_build_probe(uint8_t buf[ARP_PACKET_LEN], const uint8_t mac[6], struct in_addr target);
/* An ARP announcement: a request with sender and target IP both `addr`. */
void arp_build_announce(uint8_t buf[ARP_PACKET_LEN], const uint8_t mac[6], struct in_addr addr);
/* An Ethernet/IPv4 ARP request or reply (bytes after the link header; a
 * longer frame is padding). -EBADMSG for anything else. */
int arp_parse(const uint8_t *buf, size_t len, struct arp_packet *ret);
/* RFC 5227 2.1.1 for one received packet during the probe window: the index
 * of the candidate it says another host holds (or probes for), or -1. */
int arp_conflict(const struct arp_packet *p, const uint8_t our_mac[6],
		 const struct in_addr *candidates, size_t n);

#define NA_PACKET_LEN 32 /* ICMPv6 header, flags, target, one TLLA option */
#define NA_FLAG_ROUTER 0x80
#define NA_FLAG_SOLICITED 0x40
#define NA_FLAG_OVERRIDE 0x20

struct na_packet {
	uint8_t flags; /* NA_FLAG_* */
	struct in6_addr target;
	bool has_tlla;
	uint8_t tlla[6];
};

/* An unsolicited neighbour advertisement for `target` with its target
 * link-layer address option (the checksum is left 0: the kernel computes it
 * on a raw ICMPv6 socket). */
void na_build(uint8_t buf[NA_PACKET_LEN], const struct in6_addr *target, const uint8_t mac[6],
	      uint8_t flags);
/* An ICMPv6 neighbour advertisement (from the type byte on, as a raw ICMPv6
 * socket delivers it), options checked as RFC 4861 7.1.2 asks. -EBADMSG for
 * anything else. */
int na_parse(const uint8_t *buf, size_t len, struct na_packet *ret);

/* "02:00:5e:00:53:01" into 6 bytes: -EINVAL unless exactly that form. */
int mac_parse(const char *s, uint8_t ret[6]);
/* 6 bytes as "02:00:5e:00:53:01" (buf: at least 18 bytes). */
const char *mac_format(const uint8_t mac[6], char *buf, size_t size);

/* ---- the transaction's hooks -------------------------------------------------- */

/* Default of ConflictProbeSec= (hvkvpd.conf(5) says why 1 s and 3 probes). */
#define ADDR_PROBE_DEFAULT_USEC (1000 * 1000ULL)
#define ADDR_PROBE_NUM 3

/* Process-wide, set once from the configuration (link_config_new()):
 * window_usec 0 turns probing off; announce turns the announcements on.
 * Until it is called the hooks below do nothing (unit tests of the
 * transaction with fake links). */
void addr_probe_configure(uint64_t window_usec, bool announce);

struct addr_probe;

/* Before apply: finds the host's addresses that the link does not hold,
 * probes the IPv4 ones, and starts listening for neighbour advertisements
 * of the IPv6 ones. 0 (and *ret, possibly NULL: nothing to do), or
 * -EADDRINUSE with `why` naming the address and the MAC that holds it. A
 * probe that cannot run (no carrier, no socket) is no conflict: it leaves a
 * note (addr_probe_note()). */
int addr_probe_before_apply(const struct adapter *a, const struct failover_settings *s,
			    uint64_t deadline, struct addr_probe **ret, char *why, size_t why_size);
/* After verify: waits (until deadline at most) for the kernel's duplicate
 * address detection of the new IPv6 addresses. 0, or -EADDRINUSE with why. */
int addr_probe_after_verify(struct addr_probe *p, uint64_t deadline, char *why, size_t why_size);
/* After a failed step, before the rollback: when why is still empty and
 * a new IPv6 address failed DAD (a backend that waits for DAD itself saw
 * it), fills why as addr_probe_after_verify() would, with the MAC of the
 * host that answered for the address when one did. */
void addr_probe_explain(struct addr_probe *p, char *why, size_t why_size);
/* What the result line should add (", ..." or ""). */
const char *addr_probe_note(const struct addr_probe *p);
/* After the commit: announces the new addresses (see above). */
void addr_probe_announce(struct addr_probe *p);
struct addr_probe *addr_probe_free(struct addr_probe *p);

/* Pending announcements (rounds left on timers), for hvkvpctl and tests. */
size_t addr_announce_pending(void);
/* Runs the default event loop until the pending announcements are out or
 * deadline passes: a process that exits after its apply (hvkvpctl) calls it
 * so that the later rounds are sent too. */
void addr_announce_drain(uint64_t deadline);

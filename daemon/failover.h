/* SPDX-License-Identifier: GPL-2.0-or-later */
/* failover.h - the host's failover IP settings: ';'-separated strings <-> a typed struct. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvp-msg.h"

/*
 * Bounds, from the wire rather than from a guess. The Linux driver hands
 * each list to the daemon as at most MAX_IP_ADDR_SIZE (1024) bytes of UTF-8
 * (process_ib_ipinfo() in hv_kvp.c; the uapi field is twice that because it
 * is declared in UTF-16 units). The shortest entry the parser accepts is 3
 * bytes ("1::"; an IPv4 address takes at least 7) plus its ';', so no list
 * the driver can deliver holds more than 1024 / 4 = 256 entries: that many
 * addresses (each paired with a subnet) and DNS servers are accepted. The
 * host itself allows at most 5 default gateways per adapter
 * (Msvm_FailoverNetworkAdapterSettingData.DefaultGateways).
 */
#define FAILOVER_WIRE_LIST_BYTES MAX_IP_ADDR_SIZE
#define FAILOVER_MIN_ENTRY_BYTES 4 /* "1::" and its ';' */
#define FAILOVER_MAX_ADDRS (FAILOVER_WIRE_LIST_BYTES / FAILOVER_MIN_ENTRY_BYTES)
#define FAILOVER_MAX_GATEWAYS 5
#define FAILOVER_MAX_DNS (FAILOVER_WIRE_LIST_BYTES / FAILOVER_MIN_ENTRY_BYTES)
#define FAILOVER_MAX_TOKEN 64

union in_addr_union {
	struct in_addr in;
	struct in6_addr in6;
};

struct failover_ip {
	int family; /* AF_INET or AF_INET6 */
	union in_addr_union addr;
};

struct failover_addr {
	int family;
	union in_addr_union addr;
	uint8_t prefixlen;
};

struct failover_settings {
	char adapter_id[KVP_ADAPTER_ID_BYTES + 1];
	bool dhcp4; /* DHCPEnabled: the adapter's IPv4 side only */
	uint8_t addr_family_hint;
	size_t n_addrs;
	struct failover_addr addrs[FAILOVER_MAX_ADDRS];
	size_t n_gateways; /* in the host's order: first = preferred */
	struct failover_ip gateways[FAILOVER_MAX_GATEWAYS];
	size_t n_dns; /* in the host's order */
	struct failover_ip dns[FAILOVER_MAX_DNS];
};

/*
 * Parses a SET_IP_INFO payload. Pure.
 *
 * Each list is split on ';' (blanks around tokens are ignored, empty tokens
 * skipped). Every address token is classified on its own (IPv4 and IPv6 may
 * be mixed; addr_family is only a hint). The Nth address pairs with the Nth
 * subnet: IPv4 takes a dotted mask (contiguous) or a prefix length, IPv6 a
 * prefix length; an "addr/len" token carries its own prefix.
 *
 * Everything is checked here, before any backend step, so that a refused
 * request changes nothing (not even a route that would be deleted and added
 * back): no address or gateway may be unspecified, loopback, multicast,
 * in 0.0.0.0/8 or 240.0.0.0/4, 255.255.255.255, IPv4-mapped; no address the
 * network or broadcast address of its subnet (prefixes up to /30); no
 * gateway one of the adapter's own addresses or the network or broadcast
 * address of one of its subnets; an IPv4 gateway needs an IPv4 address or
 * DHCP; an IPv6 gateway must be link-local or inside one of the pushed IPv6
 * prefixes. (An IPv4 gateway outside every pushed subnet is accepted: see
 * failover_gateway_onlink().)
 *
 * Returns 0, or -EINVAL (host code HV_INVALIDARG) with a sentence in err
 * naming the field, the index and the value. The value is quoted as
 * failover_quote() shows it, so err is one line of safe text whatever the
 * host sent: it goes to the log, STATUS=, the state file and pool 1.
 */
int failover_parse(const struct kvp_ip_fields *in, struct failover_settings *ret, char *err,
		   size_t err_size);

/* Renders settings back into the wire strings (IPv4 masks dotted, or as
 * prefix lengths when dotted ones would not fit the field; IPv6 addresses in
 * their shortest spelling, prefixes as numbers), e.g. to build requests.
 * Whatever failover_parse() accepted fits. */
int failover_format(const struct failover_settings *s, struct kvp_ip_fields *out);

/* True when the i-th gateway is IPv4 and outside the subnet of every IPv4
 * address of s (there is at least one): it is installed on-link
 * (RTNH_F_ONLINK), and the result line says so. */
bool failover_gateway_onlink(const struct failover_settings *s, size_t i);

/* Counts per family, for logs and STATUS=. */
void failover_count(const struct failover_settings *s, unsigned *ret_v4, unsigned *ret_v6);

/* "192.0.2.1" / "2001:db8::1"; buf of at least INET6_ADDRSTRLEN. */
const char *failover_ip_to_string(int family, const union in_addr_union *a, char *buf,
				  size_t size);

/* A host string as messages quote it: escape_bytes() of v[0..len) into buf,
 * ending in "..." when it had to be cut (never inside an escape or a UTF-8
 * character). size must be at least 8. Returns buf. */
const char *failover_quote(const char *v, size_t len, char *buf, size_t size);

/* Prefix length of a contiguous dotted IPv4 mask; -EINVAL if not contiguous. */
int failover_mask_to_prefix(struct in_addr mask);

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* failover.h - the host's failover IP settings: ';'-separated strings <-> a typed struct. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvp-msg.h"

/* Bounds. The host allows at most 5 default gateways per adapter
 * (Msvm_FailoverNetworkAdapterSettingData.DefaultGateways); the other bounds
 * are far above what the WMI API or the wire fields can carry in practice. */
#define FAILOVER_MAX_ADDRS 32
#define FAILOVER_MAX_GATEWAYS 5
#define FAILOVER_MAX_DNS 16
/* Longest token we look at: an IPv6 address with a /prefix, plus blanks. */
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
 * Returns 0, or -EINVAL (host code HV_INVALIDARG) with a sentence in err
 * naming the field, the index and the value. The value is quoted as
 * failover_quote() shows it, so err is one line of safe text whatever the
 * host sent: it goes to the log, STATUS=, the state file and pool 1.
 */
int failover_parse(const struct kvp_ip_fields *in, struct failover_settings *ret, char *err,
		   size_t err_size);

/* Renders settings back into the wire strings (IPv4 masks dotted, IPv6
 * prefixes as numbers), e.g. for `hvkvpctl show` or to build requests. */
int failover_format(const struct failover_settings *s, struct kvp_ip_fields *out);

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

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* link.h - what one link holds (addresses, default routes, flags), and the facts about it every backend shares. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "failover.h"

/* Room for every address the host can push (FAILOVER_MAX_ADDRS) and the
 * link-local, SLAAC and DHCP ones beside them: the verify step must see
 * them all. */
#define LINK_MAX_ADDRS (FAILOVER_MAX_ADDRS + 64)
#define LINK_MAX_ROUTES 32

struct link_addr {
	int family;
	union in_addr_union addr;
	uint8_t prefixlen;
	uint8_t scope;	    /* RT_SCOPE_* */
	uint32_t flags;	    /* IFA_F_* */
	bool permanent;	    /* configured by hand, not by a DHCP client or SLAAC */
	/* Read from the kernel: put back exactly as it was (a rollback), with
	 * its broadcast or none, its label and flags. A new address (false)
	 * gets the broadcast `ip addr add ... brd +` would give. */
	bool from_kernel;
	bool has_broadcast;
	union in_addr_union broadcast;
	char label[16];		  /* IFNAMSIZ */
};

struct link_route {
	int family;
	union in_addr_union dst; /* with dst_len 0: a default route */
	uint8_t dst_len;
	union in_addr_union gateway;
	bool has_gateway;
	bool onlink;		  /* RTNH_F_ONLINK */
	bool has_prefsrc;
	union in_addr_union prefsrc;
	uint32_t metric;
	uint8_t protocol; /* RTPROT_* */
	uint32_t table;
};

/* A link as the kernel holds it: flags, carrier, addresses, and the default
 * routes of the main table that leave through it. */
struct link_state {
	int ifindex;
	unsigned flags; /* IFF_* */
	bool carrier;
	size_t n_addrs;
	struct link_addr addrs[LINK_MAX_ADDRS];
	size_t n_routes;
	struct link_route routes[LINK_MAX_ROUTES];
	/* The other routes of the main table through the link that someone
	 * added (not the kernel's prefix routes, not router advertisements):
	 * the kernel drops the IPv4 ones with the last address of the link,
	 * and a rollback puts them back. */
	size_t n_statics;
	struct link_route statics[LINK_MAX_ROUTES];
};

/* Metric of the Nth default route of a family: the host's order is the
 * preference order, and below the 1024 of router advertisements. The same
 * for every backend, so that a failover looks the same whoever applied it. */
#define LINK_ROUTE_METRIC_BASE 100

bool link_addr_equal(const struct link_addr *a, const struct link_addr *b);
const struct link_addr *link_find_addr(const struct link_state *s, const struct link_addr *a);

/* One of the host's addresses as the kernel holds a static one. */
void link_addr_from_failover(const struct failover_addr *f, struct link_addr *ret);
/* A hand-configured global address: what the host's settings put on a link,
 * and what a new apply replaces. Link-local addresses and those a DHCP
 * client or SLAAC put there (finite lifetime) are not. */
bool link_addr_static(const struct link_addr *x);
/* An IPv4 address with a lifetime: a DHCP client keeps the link. */
bool link_has_dynamic_ipv4(const struct link_state *l);

/* The same route: family, destination, gateway and metric. */
bool link_route_equal(const struct link_route *a, const struct link_route *b);
const struct link_route *link_find_route(const struct link_route *routes, size_t n,
					 const struct link_route *r);
/* A default route through the link via gw, whatever its metric. */
bool link_has_gateway(const struct link_state *l, const struct failover_ip *gw);

/* The metric of the host's i-th gateway: LINK_ROUTE_METRIC_BASE plus the
 * number of gateways of its family before it. */
uint32_t link_gateway_metric(const struct failover_settings *s, size_t i);
/* The host's i-th gateway as a static default route of the main table. */
void link_route_from_gateway(const struct failover_settings *s, size_t i, struct link_route *ret);
/* An IPv4 gateway outside every subnet of the host's addresses can only be
 * reached with the onlink flag. */
bool link_gateway_onlink(const struct failover_settings *s, const struct failover_ip *gw);

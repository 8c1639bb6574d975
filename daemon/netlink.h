/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netlink.h - what one link holds (addresses, default routes, flags), read and changed through libnl-route-3. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "failover.h"

#define LINK_MAX_ADDRS 128
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

struct nl_sock;

/* A connected NETLINK_ROUTE socket. */
int nlx_open(struct nl_sock **ret);
void nlx_close(struct nl_sock *sk);

/* Negative errno for a libnl error code. */
int nlx_errno(int nle);

int nlx_read_link(struct nl_sock *sk, int ifindex, struct link_state *ret);

int nlx_link_set_up(struct nl_sock *sk, int ifindex, bool up);
int nlx_addr_add(struct nl_sock *sk, int ifindex, const struct link_addr *a);
int nlx_addr_del(struct nl_sock *sk, int ifindex, const struct link_addr *a);
/* A route (main table) through ifindex: a default route unless r->dst_len;
 * `onlink` (or r->onlink) for an IPv4 gateway outside every subnet of the
 * link. */
int nlx_default_route_add(struct nl_sock *sk, int ifindex, const struct link_route *r, bool onlink);
int nlx_default_route_del(struct nl_sock *sk, int ifindex, const struct link_route *r);

bool link_addr_equal(const struct link_addr *a, const struct link_addr *b);
const struct link_addr *link_find_addr(const struct link_state *s, const struct link_addr *a);

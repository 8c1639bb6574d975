/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netlink.h - one link (see link.h) read and changed through libnl-route-3. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "link.h"

struct nl_sock;

/* A connected NETLINK_ROUTE socket. */
int nlx_open(struct nl_sock **ret);
void nlx_close(struct nl_sock *sk);

/* Negative errno for a libnl error code. */
int nlx_errno(int nle);

int nlx_read_link(struct nl_sock *sk, int ifindex, struct link_state *ret);
/* The same into a malloc'ed struct (it is large: keep it off the stack). */
int nlx_read_link_new(struct nl_sock *sk, int ifindex, struct link_state **ret);

int nlx_link_set_up(struct nl_sock *sk, int ifindex, bool up);
int nlx_addr_add(struct nl_sock *sk, int ifindex, const struct link_addr *a);
int nlx_addr_del(struct nl_sock *sk, int ifindex, const struct link_addr *a);
/* A route (main table) through ifindex: a default route unless r->dst_len;
 * `onlink` (or r->onlink) for an IPv4 gateway outside every subnet of the
 * link. */
int nlx_default_route_add(struct nl_sock *sk, int ifindex, const struct link_route *r, bool onlink);
int nlx_default_route_del(struct nl_sock *sk, int ifindex, const struct link_route *r);

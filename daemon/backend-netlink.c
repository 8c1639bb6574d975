/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backend-netlink.c - failover settings straight into the kernel (libnl-route-3), for links no manager owns. */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <stdio.h>

#include "backend.h"
#include "dns.h"
#include "log.h"
#include "netlink.h"
#include "util.h"

/* Metric of the Nth default route of a family: the host's order is the
 * preference order, and below the 1024 of router advertisements. */
#define ROUTE_METRIC_BASE 100

struct nlb {
	struct nl_sock *sk;
	struct nlb_snapshot *current; /* the transaction in progress */
};

struct nlb_snapshot {
	struct link_state link;
	struct dns_snapshot *dns;
	bool dns_changed;
};

/* the struct starts with its netlink socket, as backend_nl_data_new() wants */
_Static_assert(offsetof(struct nlb, sk) == 0, "sk first");

static int nlb_init(struct backend *b)
{
	return backend_nl_data_new(b, sizeof(struct nlb));
}

static void nlb_done(struct backend *b)
{
	backend_nl_data_free(b);
}

/* The kernel is always there: netlink takes every link nobody else owns. */
static int nlb_probe(struct backend *b, const struct adapter *a)
{
	return 1;
}

static int nlb_snapshot(struct backend *b, const struct adapter *a, void **ret)
{
	struct nlb *n = b->data;
	struct nlb_snapshot *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	r = nlx_read_link(n->sk, a->ifindex, &s->link);
	if (r < 0) {
		free(s);
		return r;
	}
	n->current = s;
	*ret = s;
	return 0;
}

static void nlb_snapshot_free(void *p)
{
	struct nlb_snapshot *s = p;

	if (s) {
		dns_snapshot_free(s->dns);
		free(s);
	}
}

/* Addresses we replace: hand-configured global ones. Link-local addresses
 * and those a DHCP client or SLAAC put there (finite lifetime) stay. */
static bool ours_to_replace(const struct link_addr *x)
{
	return x->permanent && x->scope == RT_SCOPE_UNIVERSE;
}

static bool has_dynamic_ipv4(const struct link_state *l)
{
	for (size_t i = 0; i < l->n_addrs; i++)
		if (l->addrs[i].family == AF_INET && !l->addrs[i].permanent)
			return true;
	return false;
}

static void wanted_addrs(const struct failover_settings *s, struct link_addr *out)
{
	for (size_t i = 0; i < s->n_addrs; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].family = s->addrs[i].family;
		out[i].addr = s->addrs[i].addr;
		out[i].prefixlen = s->addrs[i].prefixlen;
		out[i].scope = RT_SCOPE_UNIVERSE;
		out[i].permanent = true;
	}
}

static size_t wanted_routes(const struct failover_settings *s, struct link_route *out)
{
	unsigned per_family[2] = { 0, 0 };

	for (size_t i = 0; i < s->n_gateways; i++) {
		int fi = s->gateways[i].family == AF_INET ? 0 : 1;

		memset(&out[i], 0, sizeof(out[i]));
		out[i].family = s->gateways[i].family;
		out[i].gateway = s->gateways[i].addr;
		out[i].has_gateway = true;
		out[i].metric = ROUTE_METRIC_BASE + per_family[fi]++;
		out[i].protocol = RTPROT_STATIC;
		out[i].table = RT_TABLE_MAIN;
	}
	return s->n_gateways;
}

static bool route_same(const struct link_route *a, const struct link_route *b)
{
	if (a->family != b->family || a->metric != b->metric || a->has_gateway != b->has_gateway ||
	    a->dst_len != b->dst_len)
		return false;
	if (a->dst_len && (a->family == AF_INET ? a->dst.in.s_addr != b->dst.in.s_addr
						: memcmp(&a->dst.in6, &b->dst.in6, 16) != 0))
		return false;
	if (!a->has_gateway)
		return true;
	return a->family == AF_INET ? a->gateway.in.s_addr == b->gateway.in.s_addr
				    : memcmp(&a->gateway.in6, &b->gateway.in6, 16) == 0;
}

static bool route_in(const struct link_route *r, const struct link_route *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (route_same(r, &list[i]))
			return true;
	return false;
}

/* Default routes we replace: static ones, and any IPv4 one unless a DHCP
 * client keeps this link (then its routes stay); IPv6 routes learnt from
 * router advertisements stay. */
static bool route_to_replace(const struct link_route *r, bool dhcp4)
{
	if (r->family == AF_INET)
		return !dhcp4 || r->protocol == RTPROT_STATIC;
	return r->protocol != RTPROT_RA;
}

/* An IPv4 gateway outside every subnet we configure needs the onlink flag. */
static bool needs_onlink(const struct link_route *r, const struct link_addr *addrs, size_t n)
{
	if (r->family != AF_INET)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint32_t mask;

		if (addrs[i].family != AF_INET)
			continue;
		mask = addrs[i].prefixlen ? htonl(0xffffffffu << (32 - addrs[i].prefixlen)) : 0;
		if ((addrs[i].addr.in.s_addr & mask) == (r->gateway.in.s_addr & mask))
			return false;
	}
	return true;
}

static const char *addr_str(const struct link_addr *x, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	snprintf(buf, size, "%s/%u", failover_ip_to_string(x->family, &x->addr, ip, sizeof(ip)),
		 x->prefixlen);
	return buf;
}

static int nlb_apply(struct backend *b, const struct adapter *a, const struct failover_settings *s,
		     uint64_t deadline_usec, struct backend_result *res)
{
	struct nlb *n = b->data;
	struct link_state *cur = &n->current->link;
	_cleanup_free_ struct link_state *now = NULL;
	struct link_addr want[FAILOVER_MAX_ADDRS];
	struct link_route routes[FAILOVER_MAX_GATEWAYS];
	size_t n_routes;
	unsigned changes = 0, v4, v6;
	const char *dns_note = "", *dhcp_note = "";
	char buf[INET6_ADDRSTRLEN + 8];
	int r;

	/* Refuse before touching anything: nothing here can run DHCP, and a
	 * silent success would leave the adapter without its IPv4 address. */
	if (s->dhcp4 && !has_dynamic_ipv4(cur))
		return log_error_errno(-EOPNOTSUPP,
				       "%s: the host asks for DHCP, but no DHCP client runs on this link and the netlink backend cannot do DHCP; nothing changed (answering HV_ERROR_NOT_SUPPORTED)",
				       a->ifname);

	wanted_addrs(s, want);
	n_routes = wanted_routes(s, routes);

	if (!(cur->flags & IFF_UP)) {
		r = nlx_link_set_up(n->sk, a->ifindex, true);
		if (r < 0)
			return log_error_errno(r, "%s: cannot bring the link up", a->ifname);
		changes++;
	}
	/* stale routes first, so that deleting an address cannot take a route
	 * we still need with it */
	for (size_t i = 0; i < cur->n_routes; i++) {
		const struct link_route *x = &cur->routes[i];

		if (!route_to_replace(x, s->dhcp4) || route_in(x, routes, n_routes))
			continue;
		r = nlx_default_route_del(n->sk, a->ifindex, x);
		if (r < 0 && r != -ESRCH)
			return log_error_errno(r, "%s: cannot remove an old default route", a->ifname);
		changes++;
	}
	for (size_t i = 0; i < cur->n_addrs; i++) {
		const struct link_addr *x = &cur->addrs[i];
		bool keep = false;

		if (!ours_to_replace(x))
			continue;
		for (size_t j = 0; j < s->n_addrs && !keep; j++)
			keep = link_addr_equal(x, &want[j]);
		if (keep)
			continue;
		r = nlx_addr_del(n->sk, a->ifindex, x);
		if (r < 0 && r != -EADDRNOTAVAIL)
			return log_error_errno(r, "%s: cannot remove the old address %s", a->ifname,
					       addr_str(x, buf, sizeof(buf)));
		changes++;
	}
	/* What to add is what the link lacks now, not what the snapshot lacked:
	 * deleting a primary address takes the secondary ones of its subnet
	 * with it (promote_secondaries=0), and deleting the last IPv4 address
	 * takes the link's IPv4 routes, a default route we keep included. */
	now = malloc(sizeof(*now));
	if (!now)
		return -ENOMEM;
	r = nlx_read_link(n->sk, a->ifindex, now);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read the link again", a->ifname);
	for (size_t i = 0; i < s->n_addrs; i++) {
		if (link_find_addr(now, &want[i]))
			continue;
		r = nlx_addr_add(n->sk, a->ifindex, &want[i]);
		if (r < 0)
			return log_error_errno(r, "%s: cannot add the address %s", a->ifname,
					       addr_str(&want[i], buf, sizeof(buf)));
		changes++;
	}
	for (size_t i = 0; i < n_routes; i++) {
		char gw[INET6_ADDRSTRLEN];

		if (route_in(&routes[i], now->routes, now->n_routes))
			continue;
		r = nlx_default_route_add(n->sk, a->ifindex, &routes[i],
					  needs_onlink(&routes[i], want, s->n_addrs));
		if (r < 0)
			return log_error_errno(r, "%s: cannot add the default route via %s (metric %u)",
					       a->ifname,
					       failover_ip_to_string(routes[i].family, &routes[i].gateway,
								     gw, sizeof(gw)),
					       routes[i].metric);
		changes++;
	}

	/* DNS is best effort here: the addresses and routes are what keeps the
	 * machine reachable, and resolv.conf can be out of our hands (a manager's
	 * symlink, or a file another program replaced under the unit's sandbox).
	 * A failure is logged and said in the result line, not rolled back. */
	r = dns_set(a->ifname, a->ifindex, s->dns, s->n_dns, &n->current->dns);
	if (r == 0)
		n->current->dns_changed = true;
	else
		dns_note = ", DNS not applied (see the journal)";

	/* ifupdown's dhclient flushes the link's addresses when its lease
	 * changes: static settings under a running DHCP client do not last */
	if (!s->dhcp4 && has_dynamic_ipv4(cur)) {
		log_warning("%s: a DHCP client keeps this link (it holds a leased address); it may remove the failover addresses when its lease changes: stop it, or let NetworkManager or networkd own the link",
			    a->ifname);
		dhcp_note = ", a DHCP client still runs";
	}

	failover_count(s, &v4, &v6);
	res->waiting_for_carrier = !cur->carrier;
	strprintf(res->detail, sizeof(res->detail), "%s %u IPv4, %u IPv6, %zu gateway%s, %zu DNS%s%s%s",
		  changes ? "applied" : "unchanged:", v4, v6, s->n_gateways,
		  s->n_gateways == 1 ? "" : "s", s->n_dns, s->dhcp4 ? ", DHCPv4 kept" : "", dns_note,
		  dhcp_note);
	log_debug("%s: %u change%s through netlink", a->ifname, changes, changes == 1 ? "" : "s");
	return 0;
}

static int nlb_verify(struct backend *b, const struct adapter *a, const struct failover_settings *s,
		      uint64_t deadline_usec, struct backend_result *res)
{
	struct nlb *n = b->data;
	struct link_state *now = malloc(sizeof(*now));
	struct link_addr want[FAILOVER_MAX_ADDRS];
	struct link_route routes[FAILOVER_MAX_GATEWAYS];
	char buf[INET6_ADDRSTRLEN + 8];
	size_t n_routes;
	int r = 0;

	if (!now)
		return -ENOMEM;
	r = nlx_read_link(n->sk, a->ifindex, now);
	if (r < 0)
		goto out;
	wanted_addrs(s, want);
	n_routes = wanted_routes(s, routes);
	if (!(now->flags & IFF_UP)) {
		r = log_error_errno(-EIO, "%s: verify: the link is not up", a->ifname);
		goto out;
	}
	for (size_t i = 0; i < s->n_addrs; i++)
		if (!link_find_addr(now, &want[i])) {
			r = log_error_errno(-EIO, "%s: verify: the address %s is missing", a->ifname,
					    addr_str(&want[i], buf, sizeof(buf)));
			goto out;
		}
	for (size_t i = 0; i < n_routes; i++)
		if (!route_in(&routes[i], now->routes, now->n_routes)) {
			r = log_error_errno(-EIO, "%s: verify: default route %zu of %zu is missing",
					    a->ifname, i + 1, n_routes);
			goto out;
		}
	res->waiting_for_carrier = !now->carrier;
out:
	free(now);
	return r;
}

static int nlb_rollback(struct backend *b, const struct adapter *a, void *p, uint64_t deadline_usec)
{
	struct nlb *n = b->data;
	struct nlb_snapshot *snap = p;
	struct link_state *now = malloc(sizeof(*now));
	int r, first = 0;

	if (!now)
		return -ENOMEM;
	r = nlx_read_link(n->sk, a->ifindex, now);
	if (r < 0) {
		free(now);
		return r;
	}
	/* routes that were not there go; addresses that were not there go;
	 * then what was there comes back, routes last (they need the subnets) */
	for (size_t i = 0; i < now->n_routes; i++)
		if (!route_in(&now->routes[i], snap->link.routes, snap->link.n_routes)) {
			r = nlx_default_route_del(n->sk, a->ifindex, &now->routes[i]);
			if (r < 0 && r != -ESRCH && !first)
				first = r;
		}
	for (size_t i = 0; i < now->n_addrs; i++)
		if (ours_to_replace(&now->addrs[i]) && !link_find_addr(&snap->link, &now->addrs[i])) {
			r = nlx_addr_del(n->sk, a->ifindex, &now->addrs[i]);
			if (r < 0 && r != -EADDRNOTAVAIL && !first)
				first = r;
		}
	/* a deleted primary took its secondaries with it: look again */
	r = nlx_read_link(n->sk, a->ifindex, now);
	if (r < 0) {
		free(now);
		return r;
	}
	for (size_t i = 0; i < snap->link.n_addrs; i++)
		if (ours_to_replace(&snap->link.addrs[i]) && !link_find_addr(now, &snap->link.addrs[i])) {
			r = nlx_addr_add(n->sk, a->ifindex, &snap->link.addrs[i]);
			if (r < 0 && !first)
				first = r;
		}
	free(now);
	now = malloc(sizeof(*now));
	if (now && nlx_read_link(n->sk, a->ifindex, now) == 0) {
		/* the other routes first: a default route may need one of them */
		for (size_t i = 0; i < snap->link.n_statics; i++)
			if (!route_in(&snap->link.statics[i], now->statics, now->n_statics)) {
				r = nlx_default_route_add(n->sk, a->ifindex, &snap->link.statics[i], false);
				if (r < 0 && r != -EEXIST && !first)
					first = r;
			}
		for (size_t i = 0; i < snap->link.n_routes; i++)
			if (!route_in(&snap->link.routes[i], now->routes, now->n_routes)) {
				r = nlx_default_route_add(n->sk, a->ifindex, &snap->link.routes[i], false);
				if (r < 0 && r != -EEXIST && !first)
					first = r;
			}
	}
	free(now);
	if (!(snap->link.flags & IFF_UP)) {
		r = nlx_link_set_up(n->sk, a->ifindex, false);
		if (r < 0 && !first)
			first = r;
	}
	if (snap->dns_changed) {
		r = dns_restore(snap->dns);
		if (r < 0 && !first)
			first = r;
	}
	return first;
}

static int nlb_query(struct backend *b, const struct adapter *a, struct backend_link_info *ret)
{
	struct nlb *n = b->data;
	struct link_state *now = malloc(sizeof(*now));
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!now)
		return -ENOMEM;
	r = nlx_read_link(n->sk, a->ifindex, now);
	if (r == 0) {
		/* an IPv4 address with a lifetime came from a DHCP client */
		ret->dhcp4 = has_dynamic_ipv4(now);
		ret->dhcp4_known = true;
	}
	free(now);
	if (dns_get(a->ifname, a->ifindex, ret->dns, ARRAY_SIZE(ret->dns), &ret->n_dns) == 0)
		ret->dns_known = true;
	return r;
}

const struct backend_ops backend_netlink_ops = {
	.name = "netlink",
	.init = nlb_init,
	.done = nlb_done,
	.probe = nlb_probe,
	.snapshot = nlb_snapshot,
	.apply = nlb_apply,
	.verify = nlb_verify,
	.persist = NULL, /* the daemon's state file, re-applied at start-up */
	.rollback = nlb_rollback,
	.snapshot_free = nlb_snapshot_free,
	.query = nlb_query,
};

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

struct nlb {
	struct nl_sock *sk;
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

static int nlb_snapshot(struct backend *b, const struct adapter *a, uint64_t deadline_usec,
			struct backend_result *res, void **ret)
{
	struct nlb *n = b->data;
	struct nlb_snapshot *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	r = nlx_read_link(n->sk, a->ifindex, &s->link);
	if (r < 0) {
		free(s);
		return log_error_errno(r, "%s: cannot read the link; nothing changed", a->ifname);
	}
	*ret = s;
	return 0;
}

static void nlb_snapshot_free(struct backend *b, void *p)
{
	struct nlb_snapshot *s = p;

	if (s) {
		dns_snapshot_free(s->dns);
		free(s);
	}
}

static void wanted_addrs(const struct failover_settings *s, struct link_addr *out)
{
	for (size_t i = 0; i < s->n_addrs; i++)
		link_addr_from_failover(&s->addrs[i], &out[i]);
}

static void wanted_routes(const struct failover_settings *s, struct link_route *out)
{
	for (size_t i = 0; i < s->n_gateways; i++)
		link_route_from_gateway(s, i, &out[i]);
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

static const char *addr_str(const struct link_addr *x, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	snprintf(buf, size, "%s/%u", failover_ip_to_string(x->family, &x->addr, ip, sizeof(ip)),
		 x->prefixlen);
	return buf;
}

/* What the link holds of ours that the settings do not: stale routes first,
 * so that deleting an address cannot take a route we still need with it.
 * Counts the changes in *changes. */
static int remove_stale(struct nlb *n, const struct adapter *a, const struct link_state *cur,
			const struct failover_settings *s, const struct link_addr *want,
			const struct link_route *routes, bool keep_v4, unsigned *changes)
{
	char buf[INET6_ADDRSTRLEN + 8];
	int r;

	for (size_t i = 0; i < cur->n_routes; i++) {
		const struct link_route *x = &cur->routes[i];

		if ((keep_v4 && x->family == AF_INET) || !route_to_replace(x, s->dhcp4) ||
		    link_find_route(routes, s->n_gateways, x))
			continue;
		r = nlx_default_route_del(n->sk, a->ifindex, x);
		if (r < 0 && r != -ESRCH)
			return log_error_errno(r, "%s: cannot remove an old default route", a->ifname);
		(*changes)++;
	}
	for (size_t i = 0; i < cur->n_addrs; i++) {
		const struct link_addr *x = &cur->addrs[i];
		bool keep = false;

		if (!link_addr_static(x) || (keep_v4 && x->family == AF_INET))
			continue;
		for (size_t j = 0; j < s->n_addrs && !keep; j++)
			keep = link_addr_equal(x, &want[j]);
		if (keep)
			continue;
		r = nlx_addr_del(n->sk, a->ifindex, x);
		if (r < 0 && r != -EADDRNOTAVAIL)
			return log_error_errno(r, "%s: cannot remove the old address %s", a->ifname,
					       addr_str(x, buf, sizeof(buf)));
		(*changes)++;
	}
	return 0;
}

/* What the settings want that the link lacks now, not what the snapshot
 * lacked: deleting a primary address takes the secondary ones of its subnet
 * with it (promote_secondaries=0), and deleting the last IPv4 address takes
 * the link's IPv4 routes, a default route we keep included. */
static int add_missing(struct nlb *n, const struct adapter *a, const struct failover_settings *s,
		       const struct link_addr *want, const struct link_route *routes,
		       unsigned *changes)
{
	_cleanup_free_ struct link_state *now = NULL;
	char buf[INET6_ADDRSTRLEN + 8];
	int r;

	r = nlx_read_link_new(n->sk, a->ifindex, &now);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read the link again", a->ifname);
	for (size_t i = 0; i < s->n_addrs; i++) {
		if (link_find_addr(now, &want[i]))
			continue;
		r = nlx_addr_add(n->sk, a->ifindex, &want[i]);
		if (r < 0)
			return log_error_errno(r, "%s: cannot add the address %s", a->ifname,
					       addr_str(&want[i], buf, sizeof(buf)));
		(*changes)++;
	}
	for (size_t i = 0; i < s->n_gateways; i++) {
		if (link_find_route(now->routes, now->n_routes, &routes[i]))
			continue;
		r = nlx_default_route_add(n->sk, a->ifindex, &routes[i],
					  link_gateway_onlink(s, &s->gateways[i]));
		if (r < 0)
			return log_error_errno(r, "%s: cannot add the default route via %s (metric %u)",
					       a->ifname,
					       failover_ip_to_string(routes[i].family, &routes[i].gateway,
								     buf, sizeof(buf)),
					       routes[i].metric);
		(*changes)++;
	}
	return 0;
}

int netlink_dhcp_check(const struct adapter *a, const struct failover_settings *s,
		       const struct link_state *cur, bool *ret_keep_v4, char *why, size_t why_size)
{
	unsigned v4, v6, gw4 = 0;

	*ret_keep_v4 = false;
	if (!s->dhcp4 || link_has_dynamic_ipv4(cur))
		return 0;
	failover_count(s, &v4, &v6);
	for (size_t i = 0; i < s->n_gateways; i++)
		gw4 += s->gateways[i].family == AF_INET;
	if (v4 || gw4 || !v6) {
		strprintf(why, why_size,
			  "DHCPEnabled, but no DHCP client runs on %s and the netlink backend cannot do DHCP",
			  a->ifname);
		return -EOPNOTSUPP;
	}
	*ret_keep_v4 = true;
	return 0;
}

static int nlb_apply(struct backend *b, void *p, const struct adapter *a,
		     const struct failover_settings *s, uint64_t deadline_usec,
		     struct backend_result *res)
{
	struct nlb *n = b->data;
	struct nlb_snapshot *snap = p;
	const struct link_state *cur = &snap->link;
	struct link_addr want[FAILOVER_MAX_ADDRS];
	struct link_route routes[FAILOVER_MAX_GATEWAYS];
	unsigned changes = 0;
	const char *dns_note = "", *dhcp_note = "", *v4_note = "";
	bool keep_v4 = false;
	int r;

	/* DHCPEnabled concerns IPv4 only (hosts send it with IPv6-only
	 * settings). Nothing here can run DHCP: with IPv4 settings too, a
	 * silent success would leave the adapter without its IPv4 address, so
	 * refuse before touching anything; with IPv6 settings alone, apply
	 * those and leave IPv4 as it is. */
	r = netlink_dhcp_check(a, s, cur, &keep_v4, res->failure, sizeof(res->failure));
	if (r < 0)
		return log_error_errno(r, "%s: the host asks for DHCP, but no DHCP client runs on this link and the netlink backend cannot do DHCP; nothing changed (answering HV_ERROR_NOT_SUPPORTED)",
				       a->ifname);
	if (keep_v4) {
		v4_note = ", IPv4 left as configured (DHCPEnabled, but no DHCP client runs on this link and netlink cannot run one)";
		log_notice("%s: the host sends IPv6 settings with DHCPEnabled; no DHCP client runs on this link and netlink cannot run one, so its IPv4 configuration is left as it is",
			   a->ifname);
	}

	wanted_addrs(s, want);
	wanted_routes(s, routes);
	if (!(cur->flags & IFF_UP)) {
		r = nlx_link_set_up(n->sk, a->ifindex, true);
		if (r < 0)
			return log_error_errno(r, "%s: cannot bring the link up", a->ifname);
		changes++;
	}
	r = remove_stale(n, a, cur, s, want, routes, keep_v4, &changes);
	if (r < 0)
		return r;
	r = add_missing(n, a, s, want, routes, &changes);
	if (r < 0)
		return r;

	/* DNS is best effort here: the addresses and routes are what keeps the
	 * machine reachable, and resolv.conf can be out of our hands (a manager's
	 * symlink, or a file another program replaced under the unit's sandbox).
	 * A failure is logged and said in the result line, not rolled back. */
	r = dns_set(a->ifname, a->ifindex, s->dns, s->n_dns, &snap->dns);
	if (r == 0) {
		snap->dns_changed = true;
		/* a change of DNS alone is a change, not "unchanged:" */
		if (dns_snapshot_changed(snap->dns))
			changes++;
	}
	else
		dns_note = ", DNS not applied (see the journal)";

	/* ifupdown's dhclient flushes the link's addresses when its lease
	 * changes: static settings under a running DHCP client do not last */
	if (!s->dhcp4 && link_has_dynamic_ipv4(cur)) {
		log_warning("%s: a DHCP client keeps this link (it holds a leased address); it may remove the failover addresses when its lease changes: stop it, or let NetworkManager or networkd own the link",
			    a->ifname);
		dhcp_note = ", a DHCP client still runs";
	}

	res->waiting_for_carrier = !cur->carrier;
	backend_result_set(res, changes > 0, s, "%s%s%s",
			   keep_v4 ? v4_note : s->dhcp4 ? ", DHCPv4 kept" : "", dns_note, dhcp_note);
	log_debug("%s: %u change%s through netlink", a->ifname, changes, changes == 1 ? "" : "s");
	return 0;
}

static int nlb_verify(struct backend *b, void *p, const struct adapter *a,
		      const struct failover_settings *s, uint64_t deadline_usec,
		      struct backend_result *res)
{
	struct nlb *n = b->data;
	_cleanup_free_ struct link_state *now = NULL;
	struct link_addr want[FAILOVER_MAX_ADDRS];
	struct link_route routes[FAILOVER_MAX_GATEWAYS];
	char buf[INET6_ADDRSTRLEN + 8];
	int r;

	r = nlx_read_link_new(n->sk, a->ifindex, &now);
	if (r < 0)
		return log_error_errno(r, "%s: verify: cannot read the link", a->ifname);
	wanted_addrs(s, want);
	wanted_routes(s, routes);
	if (!(now->flags & IFF_UP))
		return log_error_errno(-EIO, "%s: verify: the link is not up", a->ifname);
	for (size_t i = 0; i < s->n_addrs; i++)
		if (!link_find_addr(now, &want[i]))
			return log_error_errno(-EIO, "%s: verify: the address %s is missing", a->ifname,
					       addr_str(&want[i], buf, sizeof(buf)));
	for (size_t i = 0; i < s->n_gateways; i++)
		if (!link_find_route(now->routes, now->n_routes, &routes[i]))
			return log_error_errno(-EIO, "%s: verify: default route %zu of %zu is missing",
					       a->ifname, i + 1, s->n_gateways);
	res->waiting_for_carrier = !now->carrier;
	return 0;
}

/* Takes what the link has and the snapshot had not away: routes, then
 * addresses. Returns the first error. */
static int rollback_remove(struct nlb *n, const struct adapter *a, const struct link_state *was,
			   const struct link_state *now)
{
	int r, first = 0;

	for (size_t i = 0; i < now->n_routes; i++)
		if (!link_find_route(was->routes, was->n_routes, &now->routes[i])) {
			r = nlx_default_route_del(n->sk, a->ifindex, &now->routes[i]);
			if (r < 0 && r != -ESRCH && !first)
				first = r;
		}
	for (size_t i = 0; i < now->n_addrs; i++)
		if (link_addr_static(&now->addrs[i]) && !link_find_addr(was, &now->addrs[i])) {
			r = nlx_addr_del(n->sk, a->ifindex, &now->addrs[i]);
			if (r < 0 && r != -EADDRNOTAVAIL && !first)
				first = r;
		}
	return first;
}

/* Puts back what the snapshot had and the link lacks: addresses, then
 * (read again, as they need the subnets) the other routes and the default
 * routes. Returns the first error, a failed read included. */
static int rollback_restore(struct nlb *n, const struct adapter *a, const struct link_state *was,
			    struct link_state *now)
{
	int r, first = 0;

	for (size_t i = 0; i < was->n_addrs; i++)
		if (link_addr_static(&was->addrs[i]) && !link_find_addr(now, &was->addrs[i])) {
			r = nlx_addr_add(n->sk, a->ifindex, &was->addrs[i]);
			if (r < 0 && !first)
				first = r;
		}
	r = nlx_read_link(n->sk, a->ifindex, now);
	if (r < 0)
		return first ?: r; /* the routes cannot be put back unseen */
	/* the other routes first: a default route may need one of them */
	for (size_t i = 0; i < was->n_statics; i++)
		if (!link_find_route(now->statics, now->n_statics, &was->statics[i])) {
			r = nlx_default_route_add(n->sk, a->ifindex, &was->statics[i], false);
			if (r < 0 && r != -EEXIST && !first)
				first = r;
		}
	for (size_t i = 0; i < was->n_routes; i++)
		if (!link_find_route(now->routes, now->n_routes, &was->routes[i])) {
			r = nlx_default_route_add(n->sk, a->ifindex, &was->routes[i], false);
			if (r < 0 && r != -EEXIST && !first)
				first = r;
		}
	return first;
}

static int nlb_rollback(struct backend *b, void *p, const struct adapter *a, uint64_t deadline_usec)
{
	struct nlb *n = b->data;
	struct nlb_snapshot *snap = p;
	_cleanup_free_ struct link_state *now = NULL;
	int r, first;

	r = nlx_read_link_new(n->sk, a->ifindex, &now);
	if (r < 0)
		return log_error_errno(r, "%s: rollback: cannot read the link; nothing restored",
				       a->ifname);
	first = rollback_remove(n, a, &snap->link, now);
	/* a deleted primary took its secondaries with it: look again */
	r = nlx_read_link(n->sk, a->ifindex, now);
	if (r < 0)
		return log_error_errno(r, "%s: rollback: cannot read the link again; the previous addresses and routes are not restored",
				       a->ifname);
	r = rollback_restore(n, a, &snap->link, now);
	if (r < 0 && !first)
		first = r;
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
	if (first < 0)
		return log_error_errno(first, "%s: rollback: not every address, route or DNS server could be restored",
				       a->ifname);
	return 0;
}

/* ---- revert ------------------------------------------------------------------------ */

int backend_netlink_restore(struct nl_sock *sk, const struct adapter *a, const struct link_state *was)
{
	struct nlb n = { .sk = sk };
	_cleanup_free_ struct link_state *now = NULL;
	int r, first;

	r = nlx_read_link_new(sk, a->ifindex, &now);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read the link; nothing restored", a->ifname);
	first = rollback_remove(&n, a, was, now);
	/* a deleted primary took its secondaries with it: look again */
	r = nlx_read_link(sk, a->ifindex, now);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read the link again; the previous addresses and routes are not restored",
				       a->ifname);
	r = rollback_restore(&n, a, was, now);
	if (r < 0 && !first)
		first = r;
	r = nlx_link_set_up(sk, a->ifindex, was->flags & IFF_UP);
	if (r < 0 && !first)
		first = r;
	if (first < 0)
		return log_error_errno(first, "%s: not every address or route could be restored",
				       a->ifname);
	return 0;
}

/* "192.0.2.10/24, 2001:db8::10/64; default via 192.0.2.1 (metric 100)": a
 * link state's static addresses and default routes, for messages. */
void backend_describe_link(const struct link_state *l, char *buf, size_t size)
{
	char one[INET6_ADDRSTRLEN + 40], ip[INET6_ADDRSTRLEN];
	unsigned n = 0;

	strscpy(buf, size, "");
	for (size_t i = 0; i < l->n_addrs; i++) {
		if (!link_addr_static(&l->addrs[i]))
			continue;
		addr_str(&l->addrs[i], one, sizeof(one));
		(void)strlist_append(buf, size, one);
		n++;
	}
	if (!n)
		strscpy(buf, size, "no static address");
	for (size_t i = 0; i < l->n_routes; i++) {
		const struct link_route *x = &l->routes[i];

		if (!x->has_gateway)
			continue;
		snprintf(one, sizeof(one), "default via %s metric %u",
			 failover_ip_to_string(x->family, &x->gateway, ip, sizeof(ip)), x->metric);
		(void)strlist_append(buf, size, one);
	}
}

static int nlb_revert(struct backend *b, const struct adapter *a, const struct link_state *original,
		      bool dry_run, uint64_t deadline_usec, char *msg, size_t msg_size)
{
	struct nlb *n = b->data;
	char was[200];
	int r;

	if (!original) {
		strprintf(msg, msg_size,
			  "what %s held before the first failover was never recorded; nothing changed",
			  a->ifname);
		return log_error_errno(-ENOENT, "%s: revert: %s", a->ifname, msg);
	}
	backend_describe_link(original, was, sizeof(was));
	if (dry_run) {
		strprintf(msg, msg_size,
			  "would give %s back what it held before the first failover (%s) and remove hvkvpd's DNS servers",
			  a->ifname, was);
		return 0;
	}
	r = backend_netlink_restore(n->sk, a, original);
	if (r < 0) {
		strprintf(msg, msg_size, "cannot restore %s as before the first failover: %s", a->ifname,
			  strerror(-r));
		return r;
	}
	/* n == 0 takes our servers away (resolved's list or our resolv.conf block) */
	r = dns_set(a->ifname, a->ifindex, NULL, 0, NULL);
	strprintf(msg, msg_size, "restored what %s held before the first failover (%s)%s", a->ifname,
		  was, r < 0 ? "; hvkvpd's DNS servers could not be removed (see the journal)" : "");
	return 0;
}

static int nlb_query(struct backend *b, const struct adapter *a, struct backend_link_info *ret)
{
	struct nlb *n = b->data;
	_cleanup_free_ struct link_state *now = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = nlx_read_link_new(n->sk, a->ifindex, &now);
	if (r == 0) {
		/* an IPv4 address with a lifetime came from a DHCP client */
		ret->dhcp4 = link_has_dynamic_ipv4(now);
		ret->dhcp4_known = true;
	}
	if (dns_get(a->ifname, a->ifindex, ret->dns, ARRAY_SIZE(ret->dns), &ret->n_dns) == 0)
		ret->dns_known = true;
	return r;
}

const struct backend_ops backend_netlink_ops = {
	.name = "netlink",
	.keeps_config = false, /* the daemon's state file, re-applied at start-up */
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
	.revert = nlb_revert,
};

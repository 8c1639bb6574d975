/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netlink.c - libnl-route-3 at the edge: libnl codes become negative errno here. */
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "netlink.h"
#include "util.h"

int nlx_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case 0:
		return 0;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	case NLE_OBJ_NOTFOUND:
		return -ESRCH;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

int nlx_open(struct nl_sock **ret)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return -ENOMEM;
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		return nlx_errno(r);
	}
	*ret = sk;
	return 0;
}

void nlx_close(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk);
}

static void from_nl_addr(struct nl_addr *a, int *family, union in_addr_union *out)
{
	size_t len = nl_addr_get_len(a);

	*family = nl_addr_get_family(a);
	memset(out, 0, sizeof(*out));
	memcpy(out, nl_addr_get_binary_addr(a), MIN(len, sizeof(*out)));
}

static struct nl_addr *to_nl_addr(int family, const union in_addr_union *a, uint8_t prefixlen)
{
	struct nl_addr *n = nl_addr_build(family, a, family == AF_INET ? 4 : 16);

	if (n)
		nl_addr_set_prefixlen(n, prefixlen);
	return n;
}

struct walk {
	struct link_state *s;
};

static void collect_addr(struct nl_object *obj, void *arg)
{
	struct link_state *s = ((struct walk *)arg)->s;
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct nl_addr *local = rtnl_addr_get_local(a);
	struct link_addr *x;
	int family;

	if (rtnl_addr_get_ifindex(a) != s->ifindex || !local || s->n_addrs >= LINK_MAX_ADDRS)
		return;
	family = rtnl_addr_get_family(a);
	if (family != AF_INET && family != AF_INET6)
		return;
	x = &s->addrs[s->n_addrs++];
	from_nl_addr(local, &x->family, &x->addr);
	x->family = family;
	x->prefixlen = (uint8_t)rtnl_addr_get_prefixlen(a);
	x->scope = (uint8_t)rtnl_addr_get_scope(a);
	x->flags = rtnl_addr_get_flags(a);
	x->permanent = x->flags & IFA_F_PERMANENT;
	x->from_kernel = true;
	if (family == AF_INET && rtnl_addr_get_broadcast(a)) {
		int fam;
		from_nl_addr(rtnl_addr_get_broadcast(a), &fam, &x->broadcast);
		x->has_broadcast = true;
	}
	if (rtnl_addr_get_label(a))
		strscpy(x->label, sizeof(x->label), rtnl_addr_get_label(a));
}

static void add_route(struct link_route *x, struct rtnl_route *r, struct rtnl_nexthop *nh)
{
	struct nl_addr *dst = rtnl_route_get_dst(r);
	int fam;

	memset(x, 0, sizeof(*x));
	x->family = rtnl_route_get_family(r);
	if (dst && nl_addr_get_prefixlen(dst) != 0) {
		from_nl_addr(dst, &fam, &x->dst);
		x->dst_len = (uint8_t)nl_addr_get_prefixlen(dst);
	}
	x->metric = rtnl_route_get_priority(r);
	x->protocol = rtnl_route_get_protocol(r);
	x->table = rtnl_route_get_table(r);
	if (rtnl_route_nh_get_gateway(nh)) {
		from_nl_addr(rtnl_route_nh_get_gateway(nh), &fam, &x->gateway);
		x->has_gateway = true;
	}
	x->onlink = rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK;
	if (rtnl_route_get_pref_src(r)) {
		from_nl_addr(rtnl_route_get_pref_src(r), &fam, &x->prefsrc);
		x->has_prefsrc = true;
	}
}

static void collect_route(struct nl_object *obj, void *arg)
{
	struct link_state *s = ((struct walk *)arg)->s;
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct nl_addr *dst = rtnl_route_get_dst(r);
	int n = rtnl_route_get_nnexthops(r);

	if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_type(r) != RTN_UNICAST)
		return;
	if (dst && nl_addr_get_prefixlen(dst) != 0) {
		struct rtnl_nexthop *nh = n == 1 ? rtnl_route_nexthop_n(r, 0) : NULL;

		/* a route someone added, which a rollback must be able to put back */
		if (nh && rtnl_route_nh_get_ifindex(nh) == s->ifindex &&
		    rtnl_route_get_protocol(r) != RTPROT_KERNEL &&
		    rtnl_route_get_protocol(r) != RTPROT_RA && s->n_statics < LINK_MAX_ROUTES)
			add_route(&s->statics[s->n_statics++], r, nh);
		return;
	}
	/* The kernel merges IPv6 routes with a gateway and the same metric
	 * into one multipath route, even across links (a second adapter's
	 * failover): each hop through this link is a route of its own here,
	 * and can be deleted alone (RTA_GATEWAY + RTA_OIF). An IPv4 multipath
	 * route is one object the kernel cannot split: not ours to touch. */
	if (n != 1 && rtnl_route_get_family(r) != AF_INET6)
		return;
	for (int i = 0; i < n; i++) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, i);

		if (nh && rtnl_route_nh_get_ifindex(nh) == s->ifindex && s->n_routes < LINK_MAX_ROUTES)
			add_route(&s->routes[s->n_routes++], r, nh);
	}
}

static int on_route_msg(struct nl_msg *msg, void *arg)
{
	/* one object per message, whatever libnl's cache would merge */
	nl_msg_parse(msg, collect_route, arg);
	return NL_OK;
}

/* A dump without a cache: rtnl_route_alloc_cache() keeps one object per
 * (family, tos, table, dst, priority), so of two adapters' default routes
 * with the same metric it would keep only the last one. */
static int dump_routes(struct nl_sock *sk, struct walk *w)
{
	struct rtmsg rtm = { .rtm_family = AF_UNSPEC };
	struct nl_cb *base = nl_socket_get_cb(sk), *cb = base ? nl_cb_clone(base) : NULL;
	int r;

	if (base)
		nl_cb_put(base);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_route_msg, w);
	r = nl_send_simple(sk, RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
	if (r >= 0)
		r = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	return r < 0 ? nlx_errno(r) : 0;
}

int nlx_read_link(struct nl_sock *sk, int ifindex, struct link_state *ret)
{
	struct nl_cache *cache = NULL;
	struct rtnl_link *link = NULL;
	struct walk w = { .s = ret };
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->ifindex = ifindex;
	r = rtnl_link_get_kernel(sk, ifindex, NULL, &link);
	if (r < 0)
		return nlx_errno(r);
	ret->flags = rtnl_link_get_flags(link);
	ret->carrier = rtnl_link_get_carrier(link) || (ret->flags & IFF_LOWER_UP);
	rtnl_link_put(link);

	r = rtnl_addr_alloc_cache(sk, &cache);
	if (r < 0)
		return nlx_errno(r);
	nl_cache_foreach(cache, collect_addr, &w);
	nl_cache_free(cache);

	return dump_routes(sk, &w);
}

int nlx_read_link_new(struct nl_sock *sk, int ifindex, struct link_state **ret)
{
	_cleanup_free_ struct link_state *s = malloc(sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	r = nlx_read_link(sk, ifindex, s);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

int nlx_link_set_up(struct nl_sock *sk, int ifindex, bool up)
{
	struct rtnl_link *link = NULL, *change;
	int r;

	r = rtnl_link_get_kernel(sk, ifindex, NULL, &link);
	if (r < 0)
		return nlx_errno(r);
	change = rtnl_link_alloc();
	if (!change) {
		rtnl_link_put(link);
		return -ENOMEM;
	}
	if (up)
		rtnl_link_set_flags(change, IFF_UP);
	else
		rtnl_link_unset_flags(change, IFF_UP);
	r = rtnl_link_change(sk, link, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(link);
	return nlx_errno(r);
}

static int addr_op(struct nl_sock *sk, int ifindex, const struct link_addr *a, bool add)
{
	struct rtnl_addr *ra = rtnl_addr_alloc();
	struct nl_addr *local;
	int r;

	if (!ra)
		return -ENOMEM;
	local = to_nl_addr(a->family, &a->addr, a->prefixlen);
	if (!local) {
		rtnl_addr_put(ra);
		return -ENOMEM;
	}
	rtnl_addr_set_ifindex(ra, ifindex);
	rtnl_addr_set_family(ra, a->family);
	r = rtnl_addr_set_local(ra, local);
	nl_addr_put(local);
	if (r >= 0) {
		rtnl_addr_set_prefixlen(ra, a->prefixlen);
		if (add && a->from_kernel) {
			/* back exactly as it was: broadcast or none, label, flags */
			if (a->has_broadcast) {
				struct nl_addr *brd = to_nl_addr(AF_INET, &a->broadcast, 32);
				if (brd) {
					rtnl_addr_set_broadcast(ra, brd);
					nl_addr_put(brd);
				}
			}
			if (a->label[0])
				rtnl_addr_set_label(ra, a->label);
			rtnl_addr_set_scope(ra, a->scope);
			rtnl_addr_set_flags(ra, a->flags & (IFA_F_NODAD | IFA_F_OPTIMISTIC |
							    IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR |
							    IFA_F_NOPREFIXROUTE | IFA_F_MCAUTOJOIN));
			r = rtnl_addr_add(sk, ra, NLM_F_REPLACE);
		} else if (add) {
			/* IPv4 brd is what `ip addr add ... brd +` would give */
			if (a->family == AF_INET && a->prefixlen < 31) {
				union in_addr_union b = a->addr;
				struct nl_addr *brd;

				b.in.s_addr |= htonl(0xffffffffu >> a->prefixlen);
				brd = to_nl_addr(AF_INET, &b, 32);
				if (brd) {
					rtnl_addr_set_broadcast(ra, brd);
					nl_addr_put(brd);
				}
			}
			r = rtnl_addr_add(sk, ra, NLM_F_REPLACE);
		} else
			r = rtnl_addr_delete(sk, ra, 0);
	}
	rtnl_addr_put(ra);
	return nlx_errno(r);
}

int nlx_addr_add(struct nl_sock *sk, int ifindex, const struct link_addr *a)
{
	return addr_op(sk, ifindex, a, true);
}

int nlx_addr_del(struct nl_sock *sk, int ifindex, const struct link_addr *a)
{
	return addr_op(sk, ifindex, a, false);
}

static int route_op(struct nl_sock *sk, int ifindex, const struct link_route *x, bool add,
		    bool onlink)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *dst = NULL, *gw = NULL;
	int e = -ENOMEM;

	if (!r)
		return -ENOMEM;
	dst = to_nl_addr(x->family, &x->dst, x->dst_len);
	nh = rtnl_route_nh_alloc();
	if (!dst || !nh)
		goto out;
	rtnl_route_set_family(r, (uint8_t)x->family);
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_type(r, RTN_UNICAST);
	rtnl_route_set_scope(r, x->has_gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	if (x->has_prefsrc) {
		struct nl_addr *src = to_nl_addr(x->family, &x->prefsrc,
						 x->family == AF_INET ? 32 : 128);
		if (src) {
			rtnl_route_set_pref_src(r, src);
			nl_addr_put(src);
		}
	}
	rtnl_route_set_protocol(r, x->protocol ? x->protocol : RTPROT_STATIC);
	rtnl_route_set_priority(r, x->metric);
	e = nlx_errno(rtnl_route_set_dst(r, dst));
	if (e < 0)
		goto out;
	rtnl_route_nh_set_ifindex(nh, ifindex);
	if (x->has_gateway) {
		gw = nl_addr_build(x->family, &x->gateway, x->family == AF_INET ? 4 : 16);
		if (!gw) {
			e = -ENOMEM;
			goto out;
		}
		rtnl_route_nh_set_gateway(nh, gw);
	}
	if (onlink || x->onlink)
		rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
	rtnl_route_add_nexthop(r, nh);
	nh = NULL; /* owned by the route now */
	/* no NLM_F_EXCL: another link may hold a default route with the same
	 * metric (a second adapter's failover), and that must not fail ours */
	if (add)
		e = nlx_errno(rtnl_route_add(sk, r, NLM_F_CREATE));
	else
		e = nlx_errno(rtnl_route_delete(sk, r, 0));
out:
	if (nh)
		rtnl_route_nh_free(nh);
	if (gw)
		nl_addr_put(gw);
	if (dst)
		nl_addr_put(dst);
	rtnl_route_put(r);
	return e;
}

int nlx_default_route_add(struct nl_sock *sk, int ifindex, const struct link_route *r, bool onlink)
{
	return route_op(sk, ifindex, r, true, onlink);
}

int nlx_default_route_del(struct nl_sock *sk, int ifindex, const struct link_route *r)
{
	return route_op(sk, ifindex, r, false, false);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* link.c - pure facts about addresses and routes, shared by every backend (no I/O). */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include "link.h"
#include "util.h"

static bool ip_equal(int family, const union in_addr_union *a, const union in_addr_union *b)
{
	return family == AF_INET ? a->in.s_addr == b->in.s_addr
				 : memcmp(&a->in6, &b->in6, sizeof(a->in6)) == 0;
}

bool link_addr_equal(const struct link_addr *a, const struct link_addr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       ip_equal(a->family, &a->addr, &b->addr);
}

const struct link_addr *link_find_addr(const struct link_state *s, const struct link_addr *a)
{
	for (size_t i = 0; i < s->n_addrs; i++)
		if (link_addr_equal(&s->addrs[i], a))
			return &s->addrs[i];
	return NULL;
}

void link_addr_from_failover(const struct failover_addr *f, struct link_addr *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->family = f->family;
	ret->addr = f->addr;
	ret->prefixlen = f->prefixlen;
	ret->scope = RT_SCOPE_UNIVERSE;
	ret->permanent = true;
}

bool link_addr_static(const struct link_addr *x)
{
	return x->permanent && x->scope == RT_SCOPE_UNIVERSE;
}

bool link_has_dynamic_ipv4(const struct link_state *l)
{
	for (size_t i = 0; i < l->n_addrs; i++)
		if (l->addrs[i].family == AF_INET && !l->addrs[i].permanent)
			return true;
	return false;
}

bool link_route_equal(const struct link_route *a, const struct link_route *b)
{
	if (a->family != b->family || a->metric != b->metric || a->has_gateway != b->has_gateway ||
	    a->dst_len != b->dst_len)
		return false;
	if (a->dst_len && !ip_equal(a->family, &a->dst, &b->dst))
		return false;
	return !a->has_gateway || ip_equal(a->family, &a->gateway, &b->gateway);
}

const struct link_route *link_find_route(const struct link_route *routes, size_t n,
					 const struct link_route *r)
{
	for (size_t i = 0; i < n; i++)
		if (link_route_equal(&routes[i], r))
			return &routes[i];
	return NULL;
}

bool link_has_gateway(const struct link_state *l, const struct failover_ip *gw)
{
	for (size_t i = 0; i < l->n_routes; i++) {
		const struct link_route *x = &l->routes[i];

		if (x->has_gateway && x->family == gw->family &&
		    ip_equal(x->family, &x->gateway, &gw->addr))
			return true;
	}
	return false;
}

uint32_t link_gateway_metric(const struct failover_settings *s, size_t i)
{
	uint32_t before = 0;

	for (size_t j = 0; j < i && j < s->n_gateways; j++)
		before += s->gateways[j].family == s->gateways[i].family;
	return LINK_ROUTE_METRIC_BASE + before;
}

void link_route_from_gateway(const struct failover_settings *s, size_t i, struct link_route *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->family = s->gateways[i].family;
	ret->gateway = s->gateways[i].addr;
	ret->has_gateway = true;
	ret->metric = link_gateway_metric(s, i);
	ret->protocol = RTPROT_STATIC;
	ret->table = RT_TABLE_MAIN;
}

bool link_gateway_onlink(const struct failover_settings *s, const struct failover_ip *gw)
{
	if (gw->family != AF_INET)
		return false;
	for (size_t i = 0; i < s->n_addrs; i++) {
		const struct failover_addr *x = &s->addrs[i];
		uint32_t mask;

		if (x->family != AF_INET)
			continue;
		mask = x->prefixlen ? htonl(0xffffffffu << (32 - x->prefixlen)) : 0;
		if ((x->addr.in.s_addr & mask) == (gw->addr.in.s_addr & mask))
			return false;
	}
	return true;
}

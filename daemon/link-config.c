/* SPDX-License-Identifier: GPL-2.0-or-later */
/* link-config.c - one failover request from the host's strings to a committed (or rolled back) link. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "adapter.h"
#include "addr-probe.h"
#include "backend.h"
#include "failover.h"
#include "hv-error.h"
#include "link-config.h"
#include "link-original.h"
#include "log.h"
#include "netlink.h"
#include "pid1.h"
#include "state.h"
#include "util.h"

struct link_config {
	struct link_config_options o;
	char state_dir[4096];
	struct backend_set *backends;
	struct kvp_pool *guest_pool;
	struct nl_sock *sk;
	unsigned reapply_missing; /* saved adapters not present at start-up */
};

int link_config_new(const struct link_config_options *o, struct kvp_pool *guest_pool,
		 struct link_config **ret)
{
	struct link_config *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->o = *o;
	strscpy(c->state_dir, sizeof(c->state_dir), o->state_dir ? o->state_dir : STATE_DEFAULT_DIR);
	if (!c->o.budget_usec)
		c->o.budget_usec = LINK_CONFIG_DEFAULT_BUDGET_USEC;
	c->guest_pool = guest_pool;
	addr_probe_configure(o->conflict_probe_usec, o->announce);
	r = nlx_open(&c->sk);
	if (r < 0) {
		free(c);
		return log_error_errno(r, "cannot open a netlink socket");
	}
	/* test seam: ifupdown's configuration in a directory of the test's */
	if (!c->o.ifupdown_dir && streq_ptr(getenv("HVKVPD_TEST_SEAMS"), "1"))
		c->o.ifupdown_dir = getenv("HVKVPD_TEST_IFUPDOWN_DIR");
	r = backend_set_new_paths(&(struct backend_paths){ .ifupdown_dir = c->o.ifupdown_dir },
				  &c->backends);
	if (r < 0) {
		nlx_close(c->sk);
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

struct link_config *link_config_free(struct link_config *c)
{
	if (c) {
		backend_set_free(c->backends);
		nlx_close(c->sk);
		free(c);
	}
	return NULL;
}

/* One apply at a time per machine, shared with hvkvpctl: an flock on a file
 * in the state directory, waited for until the deadline. */
static int take_apply_lock(struct link_config *c, uint64_t deadline, int *ret_fd)
{
	char path[4200];
	int fd;

	if (mkdir(c->state_dir, 0755) < 0 && errno != EEXIST)
		return negative_errno();
	snprintf(path, sizeof(path), "%s/.apply.lock", c->state_dir);
	fd = open_regular(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		/* a lock file is never a symbolic link or a FIFO: whoever made
		 * one may hope that we create or lock its target, or hang */
		if (fd == -ELOOP)
			log_error("refusing the apply lock %s: it is a symbolic link", path);
		else if (fd == -EINVAL)
			log_error("refusing the apply lock %s: it is not a regular file", path);
		return fd;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int r = negative_errno();
			close(fd);
			return r;
		}
		if (now_usec() >= deadline) {
			close(fd);
			return -EBUSY;
		}
		usleep(20 * 1000);
	}
	*ret_fd = fd;
	return 0;
}

/* Room for a GUID with its braces, escaped, with some to spare; a longer id
 * is cut with "..." so that the message around it still fits its line. */
#define ADAPTER_ID_SHOWN 72

/* The host's adapter id as every message, STATUS= and result line quotes it. */
static const char *quote_id(const char *id, char *buf, size_t size)
{
	return failover_quote(id, strlen(id), buf, size);
}

static void result_key(const char *mac, char *buf, size_t size)
{
	char k[ADAPTER_MAC_KEY_SIZE];

	if (adapter_mac_key(mac, k, sizeof(k)) < 0)
		strscpy(k, sizeof(k), "unknown");
	snprintf(buf, size, "%s%s", LINK_CONFIG_RESULT_KEY_PREFIX, k);
}

/* Writes the result line; the key of versions that spelt the MAC in upper
 * case goes, so that the host reads one line per adapter. */
static int result_line_set(struct kvp_pool *pool, const char *key, const char *value)
{
	char old[64];
	int q = kvp_pool_set_nowait(pool, key, value);

	strscpy(old, sizeof(old), key);
	for (char *p = old + strlen(LINK_CONFIG_RESULT_KEY_PREFIX); *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	if (q == 0 && !streq(old, key))
		(void)kvp_pool_delete(pool, old); /* -ENOENT: nothing to migrate */
	return q;
}

static void iso_time(uint64_t usec, char *buf, size_t size)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Records the outcome where an operator (state file) and the host (pool 1)
 * can read it. Failures here are logged, never turned into a failed apply. */
static void record(struct link_config *c, const struct adapter *a, const struct kvp_ip_fields *in,
		   const struct backend *b, int r, const struct backend_result *res, const char *why,
		   uint64_t received)
{
	const char *backend = b ? b->ops->name : NULL;
	struct adapter_state st = { 0 };
	char key[64], when[32], value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
	uint32_t code = hv_error_from_errno(r);
	bool manual = c->o.manual_user != NULL;
	int q;

	/* by hand, only what was applied is recorded: the user saw any
	 * failure on the terminal, and the link is as it was */
	if (manual && r < 0)
		return;
	/* a failed or rejected request keeps the record of what is applied,
	 * and every request keeps the record of the other source */
	if (state_load(c->state_dir, a->mac, &st) < 0)
		memset(&st, 0, sizeof(st));
	strscpy(st.mac, sizeof(st.mac), a->mac);
	strscpy(st.ifname, sizeof(st.ifname), a->ifname);
	if (manual) {
		st.manual = *in;
		st.manual_usec = received;
		strscpy(st.manual_user, sizeof(st.manual_user), c->o.manual_user);
		st.manual_result = code;
		strscpy(st.manual_detail, sizeof(st.manual_detail), r == 0 ? res->detail : why);
		strscpy(st.manual_backend, sizeof(st.manual_backend), backend ? backend : "");
	} else {
		st.host = *in;
		st.received_usec = received;
		st.result = code;
		strscpy(st.detail, sizeof(st.detail), r == 0 ? res->detail : why);
	}
	if (r == 0) {
		st.applied = *in;
		st.applied_usec = realtime_usec();
		st.applied_manual = manual;
		strscpy(st.backend, sizeof(st.backend), backend ? backend : "");
		st.reapply = b && !b->ops->keeps_config;
		st.waiting_for_carrier = res->waiting_for_carrier;
	}
	q = state_save(c->state_dir, &st);
	if (q < 0)
		log_warning_errno(q, "cannot save the state of %s in %s", a->ifname, c->state_dir);

	/* the host's line tells the host what became of what it sent */
	if (!c->guest_pool || manual)
		return;
	result_key(a->mac, key, sizeof(key));
	iso_time(received, when, sizeof(when));
	strprintf(value, sizeof(value), "%s %s %s %s: %s%s", when, hv_error_to_string(code), a->ifname,
		 backend ? backend : "-", st.detail,
		 st.waiting_for_carrier ? " (waiting for carrier)" : "");
	/* never delays or changes the host's answer: a locked pool 1 queues
	 * the line, and the daemon's timer flushes it (kvp_pool_flush) */
	q = result_line_set(c->guest_pool, key, value);
	if (q < 0)
		log_warning_errno(q, "cannot write the result key %s to the guest pool", key);
	else if (q > 0)
		log_info("the guest pool is locked by another process; the result key %s is written when it is free",
			 key);
}

static int apply_settings(struct link_config *c, const struct adapter *a,
			  const struct failover_settings *s, uint64_t deadline, struct backend **ret_b,
			  struct backend_result *res)
{
	_cleanup_free_ struct link_state *before = NULL;
	struct backend *b = NULL;
	int r, q;

	r = backend_select(c->backends, c->o.forced_backend, a, &b);
	if (r < 0)
		return r;
	*ret_b = b;
	/* what a revert gives back: the link before the FIRST failover (a
	 * later one finds the file there and leaves it) */
	q = nlx_read_link_new(c->sk, a->ifindex, &before);
	if (q < 0)
		log_warning_errno(q, "%s: cannot read the link before the apply; a revert will not know what it held",
				  a->ifname);
	log_info("%s: applying the host's settings through %s", a->ifname, b->ops->name);
	r = backend_apply(b, a, s, deadline, res);
	if (r == 0 && before) {
		q = link_original_save(c->state_dir, a->mac, before);
		if (q < 0)
			log_warning_errno(q, "%s: cannot save what the link held before the failover in %s",
					  a->ifname, c->state_dir);
		else if (q == 0)
			log_debug("%s: saved what the link held before its first failover", a->ifname);
	}
	return r;
}

/* A gateway that is an address of another link of this guest: the kernel
 * refuses the route only after the old default routes are gone (a flap),
 * so refuse it here, before anything changes. The adapter's own current
 * addresses are not looked at: the failover replaces them. */
static int check_gateways_not_local(const struct adapter *a, const struct failover_settings *s,
				    char *err, size_t size)
{
	struct ifaddrs *list = NULL;
	char buf[INET6_ADDRSTRLEN];

	if (s->n_gateways == 0 || getifaddrs(&list) < 0)
		return 0;
	for (size_t i = 0; i < s->n_gateways; i++) {
		const struct failover_ip *g = &s->gateways[i];

		for (struct ifaddrs *x = list; x; x = x->ifa_next) {
			const void *local;

			if (!x->ifa_addr || x->ifa_addr->sa_family != g->family || streq(x->ifa_name, a->ifname))
				continue;
			local = g->family == AF_INET
					? (const void *)&((const struct sockaddr_in *)(const void *)x->ifa_addr)->sin_addr
					: (const void *)&((const struct sockaddr_in6 *)(const void *)x->ifa_addr)->sin6_addr;
			if (memcmp(local, &g->addr, g->family == AF_INET ? 4 : 16) != 0)
				continue;
			strprintf(err, size, "DefaultGateways[%zu] '%s' is an address of %s, another link of this guest",
				  i, failover_ip_to_string(g->family, &g->addr, buf, sizeof(buf)), x->ifa_name);
			freeifaddrs(list);
			return -EINVAL;
		}
	}
	freeifaddrs(list);
	return 0;
}

/* At boot a network manager may still be starting: the link's owner is the
 * one that is about to manage it. Waits (pid1_wait_starting) for at most
 * half the reply budget, leaving the other half to apply. */
static void wait_for_managers(uint64_t deadline)
{
	uint64_t now = now_usec();
	int64_t waited;

	if (deadline <= now)
		return;
	waited = pid1_wait_starting(pid1_network_units, now + (deadline - now) / 2);
	/* a failure was logged by pid1_wait_starting() */
	if (waited >= 100 * 1000)
		log_info("waited %.1f s for the network managers starting at boot",
			 (double)waited / 1e6);
}

int link_config_set(struct link_config *c, const struct kvp_ip_fields *in, struct link_config_result *ret)
{
	uint64_t received = realtime_usec(), deadline = now_usec() + c->o.budget_usec;
	struct failover_settings *s = NULL;
	struct backend_result res = { 0 };
	struct backend *b = NULL;
	struct adapter a;
	char clock[16];
	_cleanup_close_ int lock = -1;
	unsigned v4 = 0, v6 = 0;
	time_t t = time(NULL);
	struct tm tm;
	int r;

	memset(ret, 0, sizeof(*ret));
	localtime_r(&t, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);

	r = adapter_resolve(c->o.sysfs_root, in->adapter_id, 0, &a);
	if (r < 0) {
		char id[ADAPTER_ID_SHOWN];

		quote_id(in->adapter_id, id, sizeof(id));
		if (r == -ENODEV)
			strprintf(ret->message, sizeof(ret->message),
				 "no network adapter has the id '%s' (VMBus GUID or MAC)", id);
		else
			strprintf(ret->message, sizeof(ret->message),
				 "cannot resolve the adapter id '%s': %s", id, strerror(-r));
		log_error("SET_IP_INFO: %s; nothing changed", ret->message);
		strprintf(ret->status, sizeof(ret->status), "failover settings for unknown adapter %s ignored %s",
			 id, clock);
		return r;
	}
	strscpy(ret->ifname, sizeof(ret->ifname), a.ifname);

	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = failover_parse(in, s, ret->message, sizeof(ret->message));
	if (r == 0)
		r = check_gateways_not_local(&a, s, ret->message, sizeof(ret->message));
	if (r < 0) {
		log_error("%s: the host's failover settings were rejected: %s; nothing changed",
			  a.ifname, ret->message);
		record(c, &a, in, NULL, r, &res, ret->message, received);
		strprintf(ret->status, sizeof(ret->status), "rejected settings for %s: %s %s", a.ifname,
			 ret->message, clock);
		goto out;
	}

	r = take_apply_lock(c, deadline, &lock);
	if (r < 0) {
		strprintf(ret->message, sizeof(ret->message),
			 r == -EBUSY ? "another apply (hvkvpctl or hvkvpd) holds the lock"
				     : "cannot take the apply lock");
		log_error_errno(r, "%s: %s; nothing changed", a.ifname, ret->message);
		record(c, &a, in, NULL, r, &res, ret->message, received);
		strprintf(ret->status, sizeof(ret->status), "%s busy: settings not applied %s", a.ifname,
			 clock);
		goto out;
	}
	wait_for_managers(deadline);
	r = apply_settings(c, &a, s, deadline, &b, &res);
	if (b)
		strscpy(ret->backend, sizeof(ret->backend), b->ops->name);
	if (r < 0 && !b && c->backends->error[0])
		/* no backend taken: say which manager, module or bus call */
		strprintf(ret->message, sizeof(ret->message), "%s; nothing changed (%s)",
			  c->backends->error, hv_error_to_string(hv_error_from_errno(r)));
	else if (r < 0)
		strprintf(ret->message, sizeof(ret->message), "%s (%s)",
			  res.failure[0] ? res.failure : strerror(-r),
			  hv_error_to_string(hv_error_from_errno(r)));
	else
		strscpy(ret->message, sizeof(ret->message), res.detail);
	ret->waiting_for_carrier = r == 0 && res.waiting_for_carrier;
	record(c, &a, in, b, r, &res, ret->message, received);

	failover_count(s, &v4, &v6);
	for (size_t i = 0; r == 0 && i < s->n_gateways; i++)
		if (failover_gateway_onlink(s, i)) {
			char ip[INET6_ADDRSTRLEN];

			log_warning("%s: DefaultGateways[%zu] '%s' is outside every subnet of the host's addresses; installed on-link (is a subnet mask wrong?)",
				    a.ifname, i,
				    failover_ip_to_string(AF_INET, &s->gateways[i].addr, ip, sizeof(ip)));
		}
	if (r == 0) {
		log_info("%s: %s through %s%s", a.ifname, res.detail, b->ops->name,
			 res.waiting_for_carrier ? "; no carrier yet, waiting for it" : "");
		strprintf(ret->status, sizeof(ret->status), "%s %u IPv4, %u IPv6 to %s (%s)%s %s",
			 res.changed ? "applied" : "unchanged:", v4, v6,
			 a.ifname, b->ops->name, res.waiting_for_carrier ? ", waiting for carrier" : "",
			 clock);
	} else
		strprintf(ret->status, sizeof(ret->status),
			 "failed to apply failover settings to %s (%s): %s %s", a.ifname,
			 b ? b->ops->name : "-", ret->message, clock);
out:
	free(s);
	return r;
}

const char *link_config_backend_of(struct link_config *c, const struct adapter *a)
{
	struct backend *b = NULL;

	return backend_select(c->backends, c->o.forced_backend, a, &b) < 0 ? NULL : b->ops->name;
}

int link_config_plan(struct link_config *c, const struct kvp_ip_fields *in, struct adapter *ret_adapter,
		  const char **ret_backend, struct failover_settings *ret_settings,
		  struct link_state **ret_now, char *err, size_t err_size)
{
	struct backend *b = NULL;
	struct link_state *now;
	int r;

	r = adapter_resolve(c->o.sysfs_root, in->adapter_id, 0, ret_adapter);
	if (r < 0) {
		char id[ADAPTER_ID_SHOWN];

		strprintf(err, err_size, "no network adapter has the id '%s'",
			  quote_id(in->adapter_id, id, sizeof(id)));
		return r;
	}
	r = failover_parse(in, ret_settings, err, err_size);
	if (r < 0)
		return r;
	r = backend_select(c->backends, c->o.forced_backend, ret_adapter, &b);
	if (r < 0) {
		if (c->backends->error[0])
			strprintf(err, err_size, "%s", c->backends->error);
		else
			strprintf(err, err_size, "no backend can configure %s", ret_adapter->ifname);
		return r;
	}
	r = nlx_read_link_new(c->sk, ret_adapter->ifindex, &now);
	if (r < 0) {
		strprintf(err, err_size, "cannot read %s: %s", ret_adapter->ifname, strerror(-r));
		return r;
	}
	if (streq(b->ops->name, "netlink")) {
		bool keep_v4;

		/* what the apply would refuse, the dry run refuses too */
		r = netlink_dhcp_check(ret_adapter, ret_settings, now, &keep_v4, err, err_size);
		if (r < 0) {
			free(now);
			return r;
		}
	}
	*ret_backend = b->ops->name;
	*ret_now = now;
	return 0;
}

/* What the driver carries to the host of each GET_IP_INFO list: it
 * converts at most MAX_IP_ADDR_SIZE units (gate_way: MAX_GATEWAY_SIZE), the
 * terminator included (process_ob_ipinfo()); anything longer would reach
 * the host cut inside an entry. */
#define GET_LIST_MAX (FAILOVER_WIRE_LIST_BYTES - 1)
#define GET_GATEWAYS_MAX (MAX_GATEWAY_SIZE - 1)

/* Appends item to a GET list unless that takes it past max bytes. */
static int get_append(char *list, size_t size, size_t max, const char *item)
{
	size_t len = strlen(list);

	if (len + (len ? 1 : 0) + strlen(item) > max)
		return -EMSGSIZE;
	return strlist_append(list, size, item);
}

/* The link's addresses in the host's format: ';'-lists of addresses and
 * of IPv4 masks or "/prefix" for IPv6 (upstream's format). An address goes
 * only with its mask: the two lists stay paired when they fill up. */
static void get_addresses(const struct link_state *l, struct kvp_ip_fields *out)
{
	char ip[INET6_ADDRSTRLEN], mask[INET6_ADDRSTRLEN + 2];
	size_t left_out = 0;

	for (size_t i = 0; i < l->n_addrs; i++) {
		const struct link_addr *x = &l->addrs[i];

		failover_ip_to_string(x->family, &x->addr, ip, sizeof(ip));
		if (x->family == AF_INET) {
			struct in_addr m = { .s_addr = htonl(x->prefixlen ? 0xffffffffu
									<< (32 - x->prefixlen)
								  : 0) };
			inet_ntop(AF_INET, &m, mask, sizeof(mask));
			out->addr_family |= ADDR_FAMILY_IPV4;
		} else {
			snprintf(mask, sizeof(mask), "/%u", x->prefixlen);
			out->addr_family |= ADDR_FAMILY_IPV6;
		}
		if (strlen(out->ip_addr) + strlen(ip) + 1 > GET_LIST_MAX ||
		    strlen(out->sub_net) + strlen(mask) + 1 > GET_LIST_MAX) {
			left_out = l->n_addrs - i;
			break;
		}
		(void)get_append(out->ip_addr, sizeof(out->ip_addr), GET_LIST_MAX, ip);
		(void)get_append(out->sub_net, sizeof(out->sub_net), GET_LIST_MAX, mask);
	}
	if (left_out)
		log_notice("GET_IP_INFO: %zu of the link's %zu addresses left out: the host's lists hold %d bytes",
			   left_out, l->n_addrs, FAILOVER_WIRE_LIST_BYTES);
}

/* This link's default gateways only: IPv4 first, each family lowest metric
 * first (the kernel's dump order is not a promise). */
static void get_gateways(const struct link_state *l, struct kvp_ip_fields *out)
{
	char ip[INET6_ADDRSTRLEN];

	for (unsigned pass = 0; pass < 2; pass++) {
		size_t order[LINK_MAX_ROUTES], n = 0;

		for (size_t i = 0; i < l->n_routes; i++) {
			const struct link_route *x = &l->routes[i];
			size_t k;

			if (!x->has_gateway || (pass == 0) != (x->family == AF_INET))
				continue;
			/* insertion sort, stable for equal metrics */
			for (k = n; k > 0 && l->routes[order[k - 1]].metric > x->metric; k--)
				order[k] = order[k - 1];
			order[k] = i;
			n++;
		}
		for (size_t k = 0; k < n; k++)
			(void)get_append(out->gate_way, sizeof(out->gate_way), GET_GATEWAYS_MAX,
					 failover_ip_to_string(l->routes[order[k]].family,
							       &l->routes[order[k]].gateway, ip,
							       sizeof(ip)));
	}
}

int link_config_get(struct link_config *c, const struct kvp_ip_fields *in, struct kvp_ip_fields *out)
{
	_cleanup_free_ struct link_state *l = NULL;
	struct backend_link_info info;
	struct backend *b = NULL;
	struct adapter a;
	char ip[INET6_ADDRSTRLEN];
	int r;

	r = adapter_resolve(c->o.sysfs_root, in->adapter_id, 0, &a);
	if (r < 0) {
		char id[ADAPTER_ID_SHOWN];

		quote_id(in->adapter_id, id, sizeof(id));
		if (r == -ENODEV)
			log_warning("GET_IP_INFO: no network adapter has the MAC '%s'", id);
		else
			log_warning_errno(r, "GET_IP_INFO: cannot resolve the adapter id '%s'", id);
		return r;
	}
	r = nlx_read_link_new(c->sk, a.ifindex, &l);
	if (r < 0)
		return log_warning_errno(r, "GET_IP_INFO: cannot read %s", a.ifname);
	memset(out, 0, sizeof(*out));
	strscpy(out->adapter_id, sizeof(out->adapter_id), in->adapter_id);
	get_addresses(l, out);
	get_gateways(l, out);

	r = backend_select(c->backends, c->o.forced_backend, &a, &b);
	if (r == 0 && b->ops->query && b->ops->query(b, &a, &info) >= 0) {
		for (size_t i = 0; i < info.n_dns; i++)
			(void)get_append(out->dns_addr, sizeof(out->dns_addr), GET_LIST_MAX,
					 failover_ip_to_string(info.dns[i].family, &info.dns[i].addr,
							       ip, sizeof(ip)));
		out->dhcp_enabled = info.dhcp4_known && info.dhcp4;
	}
	log_debug("GET_IP_INFO %s: %s / %s / gw %s / dns %s / dhcp %u", a.ifname, out->ip_addr,
		  out->sub_net, out->gate_way, out->dns_addr, out->dhcp_enabled);
	return 0;
}

struct carrier_ctx {
	struct link_config *c;
	int ifindex;
	bool found;
	char ifname[IF_NAMESIZE];
};

static int carrier_one(const struct adapter_state *st, void *userdata)
{
	struct carrier_ctx *cc = userdata;
	struct adapter_state copy = *st;
	struct adapter a;
	char key[64], when[32], value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];

	if (!st->waiting_for_carrier || adapter_resolve(cc->c->o.sysfs_root, st->mac, 0, &a) < 0 ||
	    a.ifindex != cc->ifindex)
		return 0;
	copy.waiting_for_carrier = false;
	if (state_save(cc->c->state_dir, &copy) < 0)
		return 0;
	cc->found = true;
	strscpy(cc->ifname, sizeof(cc->ifname), a.ifname);
	log_info("%s: carrier is up; the failover settings applied through %s are active now",
		 a.ifname, st->backend);
	if (cc->c->guest_pool && st->result == HV_S_OK && !st->applied_manual) {
		result_key(a.mac, key, sizeof(key));
		iso_time(realtime_usec(), when, sizeof(when));
		strprintf(value, sizeof(value), "%s HV_S_OK %s %s: %s (carrier up)", when, a.ifname,
			  st->backend, st->detail);
		(void)result_line_set(cc->c->guest_pool, key, value);
	}
	return 0;
}

int link_config_carrier_changed(struct link_config *c, int ifindex, bool carrier, char *status,
			     size_t status_size)
{
	struct carrier_ctx cc = { .c = c, .ifindex = ifindex };

	if (!carrier)
		return 0;
	(void)state_foreach(c->state_dir, carrier_one, &cc);
	if (!cc.found)
		return 0;
	strprintf(status, status_size, "carrier up on %s: failover settings active", cc.ifname);
	return 1;
}

struct reapply_ctx {
	struct link_config *c;
	unsigned done, failed, missing;
	char last[256];
};

static int reapply_one(const struct adapter_state *st, void *userdata)
{
	struct reapply_ctx *rc = userdata;
	struct link_config *c = rc->c;
	struct failover_settings *s;
	struct backend_result res;
	struct backend *b = NULL;
	struct adapter a;
	char err[256];
	bool upgrade;
	int r;

	if (!st->reapply || !st->applied_usec)
		return 0;
	r = adapter_resolve(c->o.sysfs_root, st->mac, 0, &a);
	if (r < 0) {
		char key[ADAPTER_MAC_KEY_SIZE] = "";

		rc->missing++;
		(void)adapter_mac_key(st->mac, key, sizeof(key));
		log_info("saved failover settings for %s (%s) wait for the adapter to appear",
			 st->ifname, key);
		return 0;
	}
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = failover_parse(&st->applied, s, err, sizeof(err));
	if (r < 0) {
		log_warning("saved failover settings for %s do not parse (%s); not re-applied", a.ifname,
			    err);
		free(s);
		return 0;
	}
	r = backend_select(c->backends, c->o.forced_backend, &a, &b);
	/* settings an older hvkvpd put on an ifupdown link through netlink
	 * are in no file of ifupdown's: moved there once, so that ifup keeps
	 * them from now on */
	upgrade = r == 0 && streq(b->ops->name, "ifupdown") && streq(st->backend, "netlink");
	if (r == 0 && b->ops->keeps_config && !upgrade) {
		/* a manager owns the link now and keeps its own configuration */
		log_info("%s is managed by %s now; its saved settings are left to it", a.ifname,
			 b->ops->name);
		free(s);
		return 0;
	}
	if (r == 0)
		r = backend_apply(b, &a, s, now_usec() + c->o.budget_usec, &res);
	free(s);
	if (r < 0) {
		/* backend_select() or the failed step and the rollback said why */
		rc->failed++;
		return 0;
	}
	if (upgrade) {
		struct adapter_state moved = *st;

		strscpy(moved.backend, sizeof(moved.backend), b->ops->name);
		moved.reapply = false;
		if (state_save(c->state_dir, &moved) < 0)
			log_warning("%s: cannot record that ifupdown keeps the settings now", a.ifname);
	}
	rc->done++;
	strprintf(rc->last, sizeof(rc->last), "%s", a.ifname);
	log_info("%s: re-applied the saved failover settings (%s)", a.ifname, res.detail);
	return 0;
}

int link_config_reapply(struct link_config *c, char *status, size_t status_size)
{
	struct reapply_ctx rc = { .c = c };
	int r = state_foreach(c->state_dir, reapply_one, &rc);

	c->reapply_missing = rc.missing;
	if (status && (rc.done || rc.failed))
		strprintf(status, status_size, "re-applied saved failover settings to %u adapter%s%s",
			 rc.done, rc.done == 1 ? "" : "s", rc.failed ? " (some failed, see the journal)" : "");
	return r;
}

int link_config_reapply_pending(struct link_config *c, char *status, size_t status_size)
{
	unsigned before = c->reapply_missing;

	if (before == 0)
		return 0;
	/* the ones that were applied already are idempotent: nothing changes */
	(void)link_config_reapply(c, status, status_size);
	return c->reapply_missing < before;
}

/* Forgets the saved failover settings: <dir>/<key>.state (state.h names it). */
static int state_forget(const char *dir, const char *mac)
{
	char path[4200], key[ADAPTER_MAC_KEY_SIZE];

	if (adapter_mac_key(mac, key, sizeof(key)) < 0)
		return -EINVAL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.state", dir, key) >= sizeof(path))
		return -ENAMETOOLONG;
	if (unlink(path) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

int link_config_revert(struct link_config *c, const char *adapter, bool dry_run,
		       struct link_config_result *ret)
{
	uint64_t deadline = now_usec() + c->o.budget_usec;
	_cleanup_free_ struct link_state *original = NULL;
	_cleanup_close_ int lock = -1;
	struct adapter_state st;
	struct backend *b = NULL;
	struct adapter a;
	char id[ADAPTER_ID_SHOWN], msg[sizeof(ret->message)];
	bool have_state, have_original;
	int r, q;

	memset(ret, 0, sizeof(*ret));
	r = adapter_resolve(c->o.sysfs_root, adapter, ADAPTER_MATCH_IFNAME, &a);
	if (r < 0) {
		quote_id(adapter, id, sizeof(id));
		strprintf(ret->message, sizeof(ret->message), "no network adapter has the id '%s'", id);
		return r;
	}
	strscpy(ret->ifname, sizeof(ret->ifname), a.ifname);

	if (!dry_run) {
		r = take_apply_lock(c, deadline, &lock);
		if (r < 0) {
			strprintf(ret->message, sizeof(ret->message), "%s",
				  r == -EBUSY ? "another apply (hvkvpctl or hvkvpd) holds the lock"
					      : "cannot take the apply lock");
			return r;
		}
	}
	have_state = state_load(c->state_dir, a.mac, &st) == 0 && st.applied_usec;
	r = link_original_load(c->state_dir, a.mac, &original);
	if (r < 0 && r != -ENOENT)
		log_warning_errno(r, "%s: what the link held before the first failover is unreadable",
				  a.ifname);
	have_original = r == 0;
	if (!have_state && !have_original) {
		strprintf(ret->message, sizeof(ret->message),
			  "%s has no failover settings to revert (no state in %s)", a.ifname, c->state_dir);
		return -ENOENT;
	}
	/* the backend that applied the failover undoes it; else whichever
	 * owns the link now */
	if (have_state && !isempty(st.backend))
		b = backend_by_name(c->backends, st.backend);
	if (!b) {
		r = backend_select(c->backends, c->o.forced_backend, &a, &b);
		if (r < 0) {
			strprintf(ret->message, sizeof(ret->message), "no backend can configure %s", a.ifname);
			return r;
		}
	}
	strscpy(ret->backend, sizeof(ret->backend), b->ops->name);
	if (!b->ops->revert) {
		strprintf(ret->message, sizeof(ret->message), "the %s backend cannot revert",
			  b->ops->name);
		return -EOPNOTSUPP;
	}
	msg[0] = '\0';
	r = b->ops->revert(b, &a, original, dry_run, deadline, msg, sizeof(msg));
	strscpy(ret->message, sizeof(ret->message), msg);
	if (dry_run || r < 0) {
		strprintf(ret->status, sizeof(ret->status), "%s%s revert of %s (%s): %s",
			  dry_run ? "dry-run: " : "", r < 0 ? "failed" : "would", a.ifname, b->ops->name,
			  msg);
		return r;
	}
	log_info("%s: reverted through %s: %s", a.ifname, b->ops->name, msg);
	q = state_forget(c->state_dir, a.mac);
	if (q < 0)
		log_warning_errno(q, "%s: cannot remove the saved failover settings from %s", a.ifname,
				  c->state_dir);
	q = link_original_remove(c->state_dir, a.mac);
	if (q < 0)
		log_warning_errno(q, "%s: cannot remove the saved original configuration from %s",
				  a.ifname, c->state_dir);
	if (c->guest_pool) {
		char key[64], when[32], value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];

		result_key(a.mac, key, sizeof(key));
		iso_time(realtime_usec(), when, sizeof(when));
		strprintf(value, sizeof(value), "%s HV_S_OK %s %s: reverted: %s", when, a.ifname,
			  b->ops->name, msg);
		q = kvp_pool_set_nowait(c->guest_pool, key, value);
		if (q < 0)
			log_warning_errno(q, "cannot write the result key %s to the guest pool", key);
	}
	strprintf(ret->status, sizeof(ret->status), "reverted %s (%s)", a.ifname, b->ops->name);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backend.c - the backend table, per-link selection, and the apply transaction. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "addr-probe.h"
#include "backend.h"
#include "hv-error.h"
#include "log.h"
#include "netlink.h"
#include "util.h"

extern const struct backend_ops backend_netlink_ops;
extern const struct backend_ops backend_networkd_ops;
#ifdef HAVE_IFUPDOWN
extern const struct backend_ops backend_ifupdown_ops;
#endif

int bus_name_has_owner(sd_bus *bus, const char *name)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *own = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r = 0, has = 0;

	if (!bus) {
		r = sd_bus_open_system(&own);
		/* the bus daemon answers at once or is stuck: never wait out
		 * sd-bus's default 25 s inside a reply budget */
		if (r >= 0)
			r = sd_bus_set_method_call_timeout(own, BUS_CALL_TIMEOUT_USEC);
		bus = own;
	}
	if (r >= 0)
		r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
				       "org.freedesktop.DBus", "NameHasOwner", NULL, &reply, "s",
				       name);
	if (r >= 0)
		r = sd_bus_message_read(reply, "b", &has);
	if (r < 0) {
		/* no system bus: nothing that lives on it can manage a link */
		log_debug_errno(r, "system bus unreachable while looking for %s", name);
		return 0;
	}
	return has;
}

#define NM_BUS_NAME "org.freedesktop.NetworkManager"
#define NM_BUS_PATH "/org/freedesktop/NetworkManager"
#define NM_DEVICE_IFACE "org.freedesktop.NetworkManager.Device"
#define NM_STATE_UNMANAGED 10 /* NMDeviceState: 0 unknown, 10 unmanaged */

/*
 * Whether NetworkManager manages the link, asked over D-Bus without libnm:
 * for when its module cannot be used. GetDeviceByIpIface, then the
 * device's Managed and State properties (the module's test). 1 or 0, or a
 * negative errno with why filled when the bus cannot tell.
 */
static int nm_bus_manages(const struct adapter *a, char *why, size_t size)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *path, *step = "connecting to the system bus";
	int managed = 0, r;
	uint32_t state = 0;

	r = sd_bus_open_system(&bus);
	if (r >= 0) {
		(void)sd_bus_set_method_call_timeout(bus, BUS_CALL_TIMEOUT_USEC);
		step = "GetDeviceByIpIface";
		r = sd_bus_call_method(bus, NM_BUS_NAME, NM_BUS_PATH, NM_BUS_NAME,
				       "GetDeviceByIpIface", &err, &reply, "s", a->ifname);
		if (r < 0 && sd_bus_error_has_name(&err, NM_BUS_NAME ".UnknownDevice")) {
			sd_bus_error_free(&err);
			return 0;
		}
	}
	if (r >= 0)
		r = sd_bus_message_read(reply, "o", &path);
	if (r >= 0) {
		step = "the device's Managed property";
		r = sd_bus_get_property_trivial(bus, NM_BUS_NAME, path, NM_DEVICE_IFACE, "Managed",
						&err, 'b', &managed);
	}
	if (r >= 0) {
		step = "the device's State property";
		r = sd_bus_get_property_trivial(bus, NM_BUS_NAME, path, NM_DEVICE_IFACE, "State",
						&err, 'u', &state);
	}
	if (r < 0) {
		snprintf(why, size, "NetworkManager's %s for %s failed: %s", step, a->ifname,
			 sd_bus_error_is_set(&err) ? err.message : strerror(-r));
		sd_bus_error_free(&err);
		return r;
	}
	return managed && state > NM_STATE_UNMANAGED;
}

/* NetworkManager runs but hvkvpd cannot drive it (module): 0 when it does
 * not manage the link, else -ENOPKG (or the bus's errno) with b->why
 * saying which module or bus call failed. */
static int nm_unusable(struct backend *b, const struct adapter *a, const char *module_error)
{
	char bus_why[160] = "";
	int r = nm_bus_manages(a, bus_why, sizeof(bus_why));

	if (r == 0)
		return 0;
	if (r > 0)
		strprintf(b->why, sizeof(b->why),
			 "NetworkManager manages %s, but hvkvpd cannot drive it: %s", a->ifname,
			 module_error);
	else
		strprintf(b->why, sizeof(b->why), "%s, and hvkvpd cannot drive NetworkManager: %s",
			 bus_why, module_error);
	log_error("%s: %s; the link is left alone (configuring it through netlink would fight NetworkManager)",
		  a->ifname, b->why);
	return r > 0 ? -ENOPKG : r;
}

/* ---- NetworkManager: a module loaded on first use --------------------------------
 *
 * libnm and GLib add more than 5 MB to the daemon's resident memory, which
 * most guests (no NetworkManager) would pay for nothing. So the backend is a
 * module (backend-nm.so) that this proxy loads the first time it finds
 * NetworkManager running; every op is then forwarded to it.
 */
#ifdef HAVE_LIBNM
#define NM_MODULE "backend-nm.so"

struct nm_proxy {
	void *dl;
	const struct backend_ops *ops;
	struct backend inner;
	bool failed; /* loading failed once: do not retry on every request */
	char error[160]; /* why, for the result line */
};

static int nmp_init(struct backend *b)
{
	b->data = calloc(1, sizeof(struct nm_proxy));
	return b->data ? 0 : -ENOMEM;
}

static void nmp_done(struct backend *b)
{
	struct nm_proxy *p = b->data;

	if (!p)
		return;
	if (p->ops && p->ops->done)
		p->ops->done(&p->inner);
	/* the module stays mapped: GLib types cannot be unregistered */
	free(p);
	b->data = NULL;
}

static int nmp_load(struct nm_proxy *p)
{
	const char *dir = MODULEDIR;
	char path[4096];
	int r;

	if (p->ops)
		return 0;
	if (p->failed)
		return -ENOPKG;
	/* test seam: the module from the build tree */
	if (streq_ptr(getenv("HVKVPD_TEST_SEAMS"), "1") && getenv("HVKVPD_TEST_MODULE_DIR"))
		dir = getenv("HVKVPD_TEST_MODULE_DIR");
	snprintf(path, sizeof(path), "%s/%s", dir, NM_MODULE);
	p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->dl) {
		p->failed = true;
		snprintf(p->error, sizeof(p->error), "its module cannot be loaded (%s)", dlerror());
		log_error("NetworkManager runs, but %s; links it manages are left alone", p->error);
		return -ENOPKG;
	}
	p->ops = dlsym(p->dl, "backend_nm_ops");
	if (!p->ops) {
		p->failed = true;
		strprintf(p->error, sizeof(p->error), "its module %s has no backend_nm_ops", path);
		log_error("NetworkManager runs, but %s; links it manages are left alone", p->error);
		return -ENOPKG;
	}
	p->inner.ops = p->ops;
	if (p->ops->init) {
		r = p->ops->init(&p->inner);
		if (r < 0) {
			p->ops = NULL;
			p->failed = true;
			strprintf(p->error, sizeof(p->error), "its module %s cannot start (%s)", path,
				 strerror(-r));
			return log_error_errno(r, "the NetworkManager backend cannot start");
		}
	}
	log_info("NetworkManager backend loaded from %s", path);
	return 0;
}

static int nmp_probe(struct backend *b, const struct adapter *a)
{
	struct nm_proxy *p = b->data;
	int r = bus_name_has_owner(NULL, NM_BUS_NAME);

	if (r <= 0)
		return r; /* NetworkManager is not running (or no bus): not ours */
	r = nmp_load(p);
	if (r < 0)
		return nm_unusable(b, a, p->error);
	r = p->ops->probe(&p->inner, a);
	if (r < 0)
		strprintf(b->why, sizeof(b->why),
			 "cannot ask NetworkManager whether it manages %s (%s)", a->ifname,
			 strerror(-r));
	return r;
}

#define NMP(b) (((struct nm_proxy *)(b)->data))

static int nmp_snapshot(struct backend *b, const struct adapter *a, uint64_t deadline_usec,
			struct backend_result *res, void **ret)
{
	int r = nmp_load(NMP(b));
	return r < 0 ? r : NMP(b)->ops->snapshot(&NMP(b)->inner, a, deadline_usec, res, ret);
}

/* The steps after the snapshot: the module is loaded (nmp_snapshot). */
static int nmp_apply(struct backend *b, void *snap, const struct adapter *a,
		     const struct failover_settings *s, uint64_t deadline, struct backend_result *res)
{
	return NMP(b)->ops->apply(&NMP(b)->inner, snap, a, s, deadline, res);
}

static int nmp_verify(struct backend *b, void *snap, const struct adapter *a,
		      const struct failover_settings *s, uint64_t deadline, struct backend_result *res)
{
	return NMP(b)->ops->verify(&NMP(b)->inner, snap, a, s, deadline, res);
}

static int nmp_persist(struct backend *b, void *snap, const struct adapter *a,
		       const struct failover_settings *s)
{
	const struct backend_ops *ops = NMP(b)->ops;
	return ops->persist ? ops->persist(&NMP(b)->inner, snap, a, s) : 0;
}

static int nmp_rollback(struct backend *b, void *snap, const struct adapter *a, uint64_t deadline)
{
	return NMP(b)->ops->rollback(&NMP(b)->inner, snap, a, deadline);
}

static void nmp_snapshot_free(struct backend *b, void *snap)
{
	if (snap)
		NMP(b)->ops->snapshot_free(&NMP(b)->inner, snap);
}

static int nmp_query(struct backend *b, const struct adapter *a, struct backend_link_info *ret)
{
	int r = nmp_load(NMP(b));
	return r < 0 ? r : NMP(b)->ops->query(&NMP(b)->inner, a, ret);
}

static int nmp_revert(struct backend *b, const struct adapter *a, const struct link_state *original,
		      bool dry_run, uint64_t deadline, char *msg, size_t msg_size)
{
	int r = nmp_load(NMP(b));

	if (r < 0) {
		strprintf(msg, msg_size, "the NetworkManager backend module cannot be loaded");
		return r;
	}
	if (!NMP(b)->ops->revert) {
		strprintf(msg, msg_size, "this NetworkManager backend module cannot revert");
		return -EOPNOTSUPP;
	}
	return NMP(b)->ops->revert(&NMP(b)->inner, a, original, dry_run, deadline, msg, msg_size);
}

static const struct backend_ops backend_nm_proxy_ops = {
	.name = "networkmanager",
	.keeps_config = true,
	.init = nmp_init,
	.done = nmp_done,
	.probe = nmp_probe,
	.snapshot = nmp_snapshot,
	.apply = nmp_apply,
	.verify = nmp_verify,
	.persist = nmp_persist,
	.rollback = nmp_rollback,
	.snapshot_free = nmp_snapshot_free,
	.query = nmp_query,
	.revert = nmp_revert,
};
#endif

void backend_result_set(struct backend_result *res, bool changed, const struct failover_settings *s,
			const char *fmt, ...)
{
	unsigned v4, v6;
	size_t len;
	va_list ap;

	failover_count(s, &v4, &v6);
	res->changed = changed;
	strprintf(res->detail, sizeof(res->detail), "%s %u IPv4, %u IPv6, %zu gateway%s, %zu DNS",
		  changed ? "applied" : "unchanged:", v4, v6, s->n_gateways,
		  s->n_gateways == 1 ? "" : "s", s->n_dns);
	len = strlen(res->detail);
	va_start(ap, fmt);
	vsnprintf(res->detail + len, sizeof(res->detail) - len, fmt, ap);
	va_end(ap);
	/* every backend installs such a gateway with the onlink flag; the host
	 * and the operator hear of it, since it often means a wrong mask */
	for (size_t i = 0; i < s->n_gateways; i++) {
		char ip[INET6_ADDRSTRLEN];

		if (!failover_gateway_onlink(s, i))
			continue;
		failover_ip_to_string(AF_INET, &s->gateways[i].addr, ip, sizeof(ip));
		len = strlen(res->detail);
		snprintf(res->detail + len, sizeof(res->detail) - len,
			 "; warning: DefaultGateways[%zu] '%s' is outside every subnet, installed on-link",
			 i, ip);
	}
}

int backend_nl_data_new(struct backend *b, size_t size)
{
	struct nl_sock **sk;
	int r;

	if (size < sizeof(*sk))
		return -EINVAL;
	sk = calloc(1, size);
	if (!sk)
		return -ENOMEM;
	r = nlx_open(sk);
	if (r < 0) {
		free(sk);
		return r;
	}
	b->data = sk;
	return 0;
}

void backend_nl_data_free(struct backend *b)
{
	struct nl_sock **sk = b->data;

	if (sk) {
		nlx_close(*sk);
		free(sk);
		b->data = NULL;
	}
}

/* In probing order: the first that manages the link wins. */
static const struct backend_ops *const table[] = {
#ifdef HAVE_LIBNM
	&backend_nm_proxy_ops,
#endif
	&backend_networkd_ops,
#ifdef HAVE_IFUPDOWN
	/* after the managers: NetworkManager's ifupdown plugin and networkd
	 * leave alone what they do not manage, which then falls to ifupdown */
	&backend_ifupdown_ops,
#endif
	&backend_netlink_ops,
};

const char *const backend_names[] = { "auto", "networkmanager", "networkd", "ifupdown", "netlink",
				      NULL };

static const struct backend_ops *ops_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (streq(table[i]->name, name))
			return table[i];
	return NULL;
}

bool backend_name_valid(const char *name)
{
	for (size_t i = 0; backend_names[i]; i++)
		if (streq(backend_names[i], name))
			return true;
	return false;
}

bool backend_available(const char *name)
{
	return streq(name, "auto") || ops_by_name(name);
}

int backend_set_new(struct backend_set **ret)
{
	return backend_set_new_paths(NULL, ret);
}

struct backend *backend_by_name(struct backend_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (streq(set->backends[i].ops->name, name))
			return &set->backends[i];
	return NULL;
}

int backend_set_new_paths(const struct backend_paths *paths, struct backend_set **ret)
{
	struct backend_set *set = calloc(1, sizeof(*set));

	_Static_assert(ARRAY_SIZE(table) <= BACKEND_MAX, "BACKEND_MAX too small");
	if (!set)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		struct backend *b = &set->backends[set->n];

		b->ops = table[i];
		if (paths)
			b->paths = *paths;
		if (b->ops->init) {
			int r = b->ops->init(b);
			if (r < 0) {
				/* an optional backend that cannot start is skipped, not fatal */
				log_warning_errno(r, "%s backend unavailable", b->ops->name);
				continue;
			}
		}
		set->n++;
	}
	*ret = set;
	return 0;
}

struct backend_set *backend_set_free(struct backend_set *set)
{
	if (!set)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (set->backends[i].ops->done)
			set->backends[i].ops->done(&set->backends[i]);
	free(set);
	return NULL;
}

int backend_select(struct backend_set *set, const char *forced, const struct adapter *a,
		   struct backend **ret)
{
	if (!isempty(forced) && !streq(forced, "auto")) {
		for (size_t i = 0; i < set->n; i++)
			if (streq(set->backends[i].ops->name, forced)) {
				*ret = &set->backends[i];
				return 0;
			}
		return log_error_errno(-EOPNOTSUPP,
				       "backend '%s' is forced by the configuration but not available in this build",
				       forced);
	}
	set->error[0] = '\0';
#ifndef HAVE_LIBNM
	/* no module in this build: NetworkManager's links are still not ours */
	if (bus_name_has_owner(NULL, NM_BUS_NAME) > 0) {
		struct backend guard = { 0 };
		int r = nm_unusable(&guard, a, "this hvkvpd is built without NetworkManager support");

		if (r < 0) {
			strscpy(set->error, sizeof(set->error), guard.why);
			return hv_error_apply_errno(r);
		}
	}
#endif
	for (size_t i = 0; i < set->n; i++) {
		struct backend *b = &set->backends[i];
		int r;

		b->why[0] = '\0';
		r = b->ops->probe(b, a);
		/* a manager that runs but cannot say whether it owns the link, or
		 * owns it and cannot be driven, must not be bypassed: configuring
		 * behind its back is worse than failing */
		if (r < 0) {
			if (b->why[0])
				strscpy(set->error, sizeof(set->error), b->why);
			else
				snprintf(set->error, sizeof(set->error),
					 "cannot tell whether %s manages %s (%s)", b->ops->name,
					 a->ifname, strerror(-r));
			log_error_errno(r, "%s: %s; nothing changed", a->ifname, set->error);
			return hv_error_apply_errno(r);
		}
		if (r > 0) {
			*ret = b;
			return 0;
		}
	}
	/* cannot happen (netlink takes every link), and must not reach the
	 * host as the -ENOENT of "no more items" */
	log_error("%s: no backend takes the link; nothing changed", a->ifname);
	return hv_error_apply_errno(-ENOENT);
}

/* The failure-injection seam for the rollback tests (see backend.h): -EIO
 * after `step` ran, when the environment asks for it. */
static int injected_failure(const struct adapter *a, const char *step)
{
	const char *seams = getenv("HVKVPD_TEST_SEAMS"), *at = getenv("HVKVPD_TEST_FAIL_AT");
	const char *pause = getenv("HVKVPD_TEST_PAUSE_AT"), *go = getenv("HVKVPD_TEST_PAUSE_FILE");

	if (!seams || !streq(seams, "1"))
		return 0;
	/* a test acting inside the transaction (with the stack's locks held):
	 * it creates the file when done, 10 s at most */
	if (pause && streq(pause, step) && go) {
		log_info("%s: paused after %s until %s exists (test seam)", a->ifname, step, go);
		for (unsigned i = 0; i < 1000 && access(go, F_OK) < 0; i++)
			usleep(10 * 1000);
	}
	if (!at || !streq(at, step))
		return 0;
	return log_error_errno(-EIO, "%s: failure injected after %s (test seam)", a->ifname, step);
}

/* The part of the budget kept for a rollback, so that the reply still comes
 * in time after a failure discovered at the last moment. */
#define ROLLBACK_RESERVE_USEC (8 * 1000 * 1000ULL)

int backend_apply(struct backend *b, const struct adapter *a, const struct failover_settings *s,
		  uint64_t deadline_usec, struct backend_result *res)
{
	const struct backend_ops *ops = b->ops;
	uint64_t now = now_usec(), work_deadline = deadline_usec;
	struct addr_probe *probe = NULL;
	void *snap = NULL;
	const char *step = "apply";
	int r, rr;

	if (deadline_usec > now)
		work_deadline = deadline_usec - MIN(ROLLBACK_RESERVE_USEC, (deadline_usec - now) / 3);
	memset(res, 0, sizeof(*res));
	res->backend = ops->name;
	/* the host's new IPv4 addresses are probed before anything changes,
	 * before a snapshot too (a checkpoint of NetworkManager); see addr-probe.h */
	r = addr_probe_before_apply(a, s, work_deadline, &probe, res->failure, sizeof(res->failure));
	if (r >= 0)
		r = ops->snapshot(b, a, work_deadline, res, &snap);
	if (r < 0) {
		addr_probe_free(probe);
		return hv_error_apply_errno(r); /* nothing changed yet: nothing to roll back */
	}
	r = ops->apply(b, snap, a, s, work_deadline, res);
	if (r == 0)
		r = injected_failure(a, step);
	if (r == 0) {
		step = "verify";
		r = ops->verify(b, snap, a, s, work_deadline, res);
		if (r == 0)
			r = injected_failure(a, step);
	}
	if (r == 0) {
		step = "duplicate address detection";
		r = addr_probe_after_verify(probe, work_deadline, res->failure, sizeof(res->failure));
	}
	if (r == 0 && ops->persist) {
		step = "persist";
		r = ops->persist(b, snap, a, s);
		if (r == 0)
			r = injected_failure(a, step);
	}
	if (r < 0) {
		/* a backend that saw DAD fail itself: who holds the address */
		addr_probe_explain(probe, res->failure, sizeof(res->failure));
		rr = ops->rollback(b, snap, a, deadline_usec);
		if (rr < 0)
			log_error("%s: %s could not be rolled back after the failed %s step; the link may be half configured",
				  ops->name, a->ifname, step);
		else
			log_notice("%s: %s rolled back to its previous configuration after the failed %s step",
				   ops->name, a->ifname, step);
	} else {
		/* after the commit: the probe's note, then tell the neighbours */
		strprintf(res->detail + strlen(res->detail), sizeof(res->detail) - strlen(res->detail),
			  "%s", addr_probe_note(probe));
		addr_probe_announce(probe);
	}
	addr_probe_free(probe);
	ops->snapshot_free(b, snap);
	return hv_error_apply_errno(r);
}

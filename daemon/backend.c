/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backend.c - the backend table, per-link selection, and the apply transaction. */
#include <stdio.h>

#include "backend.h"
#include "log.h"
#include "util.h"

extern const struct backend_ops backend_netlink_ops;
extern const struct backend_ops backend_networkd_ops;
#ifdef HAVE_LIBNM
extern const struct backend_ops backend_nm_ops;
#endif

/* In probing order: the first that manages the link wins. */
static const struct backend_ops *const table[] = {
#ifdef HAVE_LIBNM
	&backend_nm_ops,
#endif
	&backend_networkd_ops,
	&backend_netlink_ops,
};

const char *const backend_names[] = { "auto", "networkmanager", "networkd", "netlink", NULL };

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
	struct backend_set *set = calloc(1, sizeof(*set));

	if (!set)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		struct backend *b = &set->backends[set->n];

		b->ops = table[i];
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
	for (size_t i = 0; i < set->n; i++) {
		struct backend *b = &set->backends[i];
		int r = b->ops->probe(b, a);

		if (r < 0)
			log_debug("probing %s for %s failed: %s", b->ops->name, a->ifname, strerror(-r));
		if (r > 0) {
			*ret = b;
			return 0;
		}
	}
	return -ENOENT; /* cannot happen: netlink takes every link */
}

/* The failure-injection seam for the rollback tests (see backend.h). */
static bool fail_at(const char *step)
{
	const char *seams = getenv("HVKVPD_TEST_SEAMS"), *at = getenv("HVKVPD_TEST_FAIL_AT");

	return seams && streq(seams, "1") && at && streq(at, step);
}

int backend_apply(struct backend *b, const struct adapter *a, const struct failover_settings *s,
		  uint64_t deadline_usec, struct backend_result *res)
{
	const struct backend_ops *ops = b->ops;
	void *snap = NULL;
	const char *step = "snapshot";
	int r, rr;

	memset(res, 0, sizeof(*res));
	res->backend = ops->name;
	r = ops->snapshot(b, a, &snap);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read the current configuration of %s; nothing changed",
				       ops->name, a->ifname);
	step = "apply";
	r = ops->apply(b, a, s, deadline_usec, res);
	if (r == 0 && fail_at(step))
		r = log_error_errno(-EIO, "%s: failure injected after apply (test seam)", a->ifname);
	if (r == 0) {
		step = "verify";
		r = ops->verify(b, a, s, deadline_usec, res);
		if (r == 0 && fail_at(step))
			r = log_error_errno(-EIO, "%s: failure injected after verify (test seam)", a->ifname);
	}
	if (r == 0 && ops->persist) {
		step = "persist";
		r = ops->persist(b, a, s);
		if (r == 0 && fail_at(step))
			r = log_error_errno(-EIO, "%s: failure injected after persist (test seam)", a->ifname);
	}
	if (r < 0) {
		rr = ops->rollback(b, a, snap, deadline_usec);
		if (rr < 0)
			log_error_errno(rr, "%s: rolling %s back after the failed %s step failed too; the link may be half configured",
					ops->name, a->ifname, step);
		else
			log_notice("%s: %s rolled back to its previous configuration after the failed %s step",
				   ops->name, a->ifname, step);
	}
	ops->snapshot_free(snap);
	return r;
}

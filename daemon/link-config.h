/* SPDX-License-Identifier: GPL-2.0-or-later */
/* link-config.h - SET_IP_INFO and GET_IP_INFO end to end: parse, find the adapter, pick the backend, apply, record. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"
#include "failover.h"
#include "kvp-msg.h"
#include "pool.h"

#define LINK_CONFIG_DEFAULT_BUDGET_USEC (20 * 1000 * 1000ULL)
/* Key of the one-line result per adapter in the guest pool (pool 1); the
 * MAC is appended as adapter_mac_key() spells it, e.g.
 * "HvKvpdFailoverResult_00155d000001" (before 0.x: upper case; writing the
 * new key removes the old one). */
#define LINK_CONFIG_RESULT_KEY_PREFIX "HvKvpdFailoverResult_"

struct link_config_options {
	const char *sysfs_root;	    /* NULL: /sys (other values: tests only) */
	const char *state_dir;	    /* NULL: /var/lib/hvkvpd */
	const char *forced_backend; /* NULL or "auto": per link */
	uint64_t budget_usec;	    /* 0: LINK_CONFIG_DEFAULT_BUDGET_USEC */
	/* NULL: /etc/network (other values: tests only; with
	 * HVKVPD_TEST_SEAMS=1, HVKVPD_TEST_IFUPDOWN_DIR fills it) */
	const char *ifupdown_dir;
	/* NULL: applies come from the host (hvkvpd). Else the user applying by
	 * hand (hvkvpctl): the state file's manual record and `applied` are
	 * written, never the host's record nor the pool-1 result line, and a
	 * request that is rejected or fails records nothing. */
	const char *manual_user;
	/* Conflict probing of new addresses (0: off) and their announcement
	 * after a commit (addr-probe.h); both off in a zeroed struct. */
	uint64_t conflict_probe_usec;
	bool announce;
};

struct link_config;

int link_config_new(const struct link_config_options *o, struct kvp_pool *guest_pool,
		 struct link_config **ret);
struct link_config *link_config_free(struct link_config *c);

struct link_config_result {
	char ifname[16];
	char backend[32];
	char message[256]; /* what was applied, or why not */
	bool waiting_for_carrier;
	char status[256];  /* one line for STATUS= */
};

/* SET_IP_INFO. Returns 0 or the negative errno that hv_error_from_errno()
 * turns into the host's code (-ENODEV: no such adapter; -EINVAL: settings
 * rejected; -EOPNOTSUPP: DHCP where nothing can do it; -EBUSY: another
 * apply holds the lock; else HV_E_FAIL). *ret is always filled. */
int link_config_set(struct link_config *c, const struct kvp_ip_fields *in, struct link_config_result *ret);

struct link_state;
/* What an apply would do, without doing it (hvkvpctl --dry-run): the
 * adapter, the backend that would run, the parsed settings, and the link as
 * it is now (*ret_now, malloc'ed). -ENODEV / -EINVAL with err filled. */
int link_config_plan(struct link_config *c, const struct kvp_ip_fields *in, struct adapter *ret_adapter,
		  const char **ret_backend, struct failover_settings *ret_settings,
		  struct link_state **ret_now, char *err, size_t err_size);

/* The backend an apply to adapter a would go through now (NULL: none). */
const char *link_config_backend_of(struct link_config *c, const struct adapter *a);

/* GET_IP_INFO for the adapter in->adapter_id (a MAC; a GUID works too). */
int link_config_get(struct link_config *c, const struct kvp_ip_fields *in, struct kvp_ip_fields *out);

/* A link's carrier changed (from the daemon's netlink monitor). When the
 * adapter's settings were committed while it had no carrier, the state file
 * and the pool-1 result line are updated, and `status` gets a line for
 * STATUS=; returns 1 then, 0 when the event concerns nothing pending. */
int link_config_carrier_changed(struct link_config *c, int ifindex, bool carrier, char *status,
			     size_t status_size);

/* At start-up: applies again what was applied through netlink before
 * (nothing else keeps those settings across a reboot). */
int link_config_reapply(struct link_config *c, char *status, size_t status_size);

/* Re-applies the saved settings of adapters that were missing at start-up,
 * once they are there (called on link events; cheap when nothing waits).
 * Returns 1 when something was applied (status filled), else 0. */
int link_config_reapply_pending(struct link_config *c, char *status, size_t status_size);

/* `hvkvpctl revert`: returns the adapter (a MAC, a GUID or an interface
 * name) to its own configuration: the failover profile / .network file /
 * ifupdown stanza is removed and the administrator's own one brought back,
 * a netlink link gets what it held before the first failover, the saved
 * failover settings are forgotten and a result line is written. With
 * dry_run, nothing changes and ret->message says what would be done.
 * -ENODEV: no such adapter; -ENOENT: no failover to revert. */
int link_config_revert(struct link_config *c, const char *adapter, bool dry_run,
		       struct link_config_result *ret);

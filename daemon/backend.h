/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backend.h - the small ops table every network backend implements, and the transaction around it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "adapter.h"
#include "failover.h"
#include "util.h"

/*
 * A backend owns a link (NetworkManager, systemd-networkd) or talks to the
 * kernel directly (netlink). backend_apply() runs the same transaction for
 * each of them:
 *
 *     snapshot -> apply -> verify -> persist      (success)
 *                   \________\_________\-> rollback(snapshot)  (any failure)
 *
 * with the address conflict check of addr-probe.h around it: the host's new
 * IPv4 addresses are ARP-probed before the snapshot (a conflict changes
 * nothing), the kernel's DAD of the new IPv6 ones is awaited after verify
 * (a conflict rolls back), and the new addresses are announced after the
 * commit.
 *
 * so that either the whole adapter configuration is in place, or the link is
 * back as it was. The snapshot a backend made is handed to every later step
 * of the same transaction, and to snapshot_free() with the backend: nothing
 * of a transaction lives in the backend itself.
 *
 * Logging: an op that fails logs why, once, naming the adapter and the
 * value (it alone knows them), and returns a negative errno; nobody logs
 * that errno again. backend_apply() logs only what it decides itself: the
 * rollback, and whether it brought the link back.
 */

struct backend;
struct link_state;
struct nl_sock;

/* What GET_IP_INFO and `hvkvpctl show` report besides addresses and routes,
 * which every backend reads from the kernel the same way. */
struct backend_link_info {
	size_t n_dns;
	struct failover_ip dns[FAILOVER_MAX_DNS];
	bool dns_known; /* false: nobody could tell (then resolv.conf is used) */
	bool dhcp4;
	bool dhcp4_known;
};

/* The result of one apply, for the state file, STATUS= and the pool-1 key. */
struct backend_result {
	const char *backend; /* name of the backend that ran */
	bool changed;	     /* false: the link already held these settings */
	bool waiting_for_carrier;
	char detail[256]; /* one line, e.g. "applied 2 IPv4, 1 IPv6, 2 gateways, 3 DNS" */
	/* Why the transaction failed when it knows better than an errno (an
	 * address conflict, naming the address and the MAC that holds it);
	 * "" otherwise. */
	char failure[192];
};

/* Fills res->changed and res->detail: "applied" (or "unchanged:" when
 * nothing had to change), the counts of the settings, then the backend's
 * own note (fmt, e.g. ", DHCPv4 (05-hvkvpd-....network)"). */
void backend_result_set(struct backend_result *res, bool changed, const struct failover_settings *s,
			const char *fmt, ...) _printf_(4, 5);

struct backend_ops {
	const char *name;
	/* true: the backend (a network manager) keeps the configuration across
	 * restarts itself; false: the daemon re-applies its saved settings at
	 * start-up (netlink). */
	bool keeps_config;
	/* Optional: set up b->data (sockets, bus). A failing init leaves the
	 * backend out of the set (e.g. libnm present but unusable). */
	int (*init)(struct backend *b);
	void (*done)(struct backend *b);
	/* > 0: this backend manages the link; 0: it does not; < 0: error. */
	int (*probe)(struct backend *b, const struct adapter *a);
	/* Captures whatever apply() may change (and whatever the later steps
	 * of this transaction need to share); freed by snapshot_free(). Waits
	 * (a lock of the stack's) end by deadline_usec; a refusal says why in
	 * res->failure. */
	int (*snapshot)(struct backend *b, const struct adapter *a, uint64_t deadline_usec,
			struct backend_result *res, void **ret_snapshot);
	int (*apply)(struct backend *b, void *snapshot, const struct adapter *a,
		     const struct failover_settings *s, uint64_t deadline_usec,
		     struct backend_result *res);
	int (*verify)(struct backend *b, void *snapshot, const struct adapter *a,
		      const struct failover_settings *s, uint64_t deadline_usec,
		      struct backend_result *res);
	/* Makes the configuration survive a reboot (NULL: nothing to do here;
	 * the daemon's own state file covers netlink links). */
	int (*persist)(struct backend *b, void *snapshot, const struct adapter *a,
		       const struct failover_settings *s);
	int (*rollback)(struct backend *b, void *snapshot, const struct adapter *a,
			uint64_t deadline_usec);
	void (*snapshot_free)(struct backend *b, void *snapshot);
	/* DNS servers and DHCP state as this backend knows them. */
	int (*query)(struct backend *b, const struct adapter *a, struct backend_link_info *ret);
	/* `hvkvpctl revert`: takes the failover configuration away and gives
	 * the adapter back its own (the previous profile, the administrator's
	 * .network file or ifupdown stanza; for netlink, `original`). original
	 * is what the link held before the first failover (NULL: never
	 * captured). With dry_run nothing changes. Either way msg gets one
	 * line saying what is (or would be) done. Logs its failure. */
	int (*revert)(struct backend *b, const struct adapter *a, const struct link_state *original,
		      bool dry_run, uint64_t deadline_usec, char *msg, size_t msg_size);
};

/* Where backends find the files they edit: NULL is the real path; other
 * values are test seams only (link_config_options). */
struct backend_paths {
	const char *ifupdown_dir; /* NULL: /etc/network */
};

struct backend {
	const struct backend_ops *ops;
	void *data; /* the backend's own state (sockets, bus connections) */
	struct backend_paths paths;
	/* Set by a probe that fails: why, in one line naming the module or
	 * the bus call (for the result line). */
	char why[200];
};

/* For backends whose private data starts with their netlink socket: the
 * init and done ops they share (b->data is a zeroed `size`-byte struct
 * whose first member is `struct nl_sock *`). */
int backend_nl_data_new(struct backend *b, size_t size);
void backend_nl_data_free(struct backend *b);

#define BACKEND_MAX 5

/* Every backend built in, in probing order. */
struct backend_set {
	size_t n;
	struct backend backends[BACKEND_MAX];
	/* Why the last backend_select() failed, one line; "" after a success. */
	char error[256];
};

/* Names accepted by the configuration: "auto", "networkmanager", "networkd",
 * "ifupdown", "netlink" (NULL-terminated). */
extern const char *const backend_names[];
bool backend_name_valid(const char *name);
/* True if the named backend was built in ("auto" always is). */
bool backend_available(const char *name);

/* Bound of one D-Bus call made inside a reply budget. */
#define BUS_CALL_TIMEOUT_USEC (2 * 1000 * 1000ULL)

struct link_state;
/* DHCPEnabled concerns IPv4 only (hosts send it with IPv6-only settings).
 * The netlink backend runs no DHCP client: on a link none serves, IPv4
 * settings or gateways with DHCPEnabled (or nothing else) are refused
 * (-EOPNOTSUPP, the sentence in why); IPv6 settings alone are applied and
 * IPv4 left as it is (*ret_keep_v4). Pure; shared by the apply and the
 * dry run. */
int netlink_dhcp_check(const struct adapter *a, const struct failover_settings *s,
		       const struct link_state *cur, bool *ret_keep_v4, char *why, size_t why_size);

struct sd_bus;

/* 1 when a D-Bus name has an owner on bus (NULL: a connection of its own to
 * the system bus, bounded by BUS_CALL_TIMEOUT_USEC), 0 when not or when
 * there is no bus to ask. */
int bus_name_has_owner(struct sd_bus *bus, const char *name);

int backend_set_new(struct backend_set **ret);
/* The same, with the paths every backend gets (NULL: the real ones). */
int backend_set_new_paths(const struct backend_paths *paths, struct backend_set **ret);
struct backend_set *backend_set_free(struct backend_set *set);

/* The backend with this name in the set, or NULL. */
struct backend *backend_by_name(struct backend_set *set, const char *name);

/* The netlink way back to a link state read earlier (a rollback, a revert):
 * what the link has and `was` had not goes (default routes, then static
 * addresses), what `was` had comes back (addresses, other routes, default
 * routes), and the link goes down if it was down. First error returned. */
int backend_netlink_restore(struct nl_sock *sk, const struct adapter *a, const struct link_state *was);

/* A link state's static addresses and default routes as one line. */
void backend_describe_link(const struct link_state *l, char *buf, size_t size);

/* The backend for one link: the forced one, or NetworkManager if it manages
 * the link, else systemd-networkd if it does, else netlink. Never netlink
 * behind a manager's back: when NetworkManager manages the link but its
 * module cannot be loaded (or this build has none), or a manager cannot say
 * whether it manages the link, it fails (set->error says which module or
 * bus call). Logs its failure; the errno is already narrowed by
 * hv_error_apply_errno(). */
int backend_select(struct backend_set *set, const char *forced, const struct adapter *a,
		   struct backend **ret);

/* Runs the transaction (see above). apply and verify get the deadline less
 * a reserve for the rollback; rollback gets the whole deadline. A failure
 * comes back through hv_error_apply_errno(): -EOPNOTSUPP, -EBUSY or -EIO
 * (the host then reads NOT_SUPPORTED, MACHINE_LOCKED or E_FAIL). Test seam: the environment variable
 * HVKVPD_TEST_FAIL_AT=apply|verify|persist makes that step fail with -EIO
 * after it ran, to prove the rollback, and HVKVPD_TEST_PAUSE_AT=STEP with
 * HVKVPD_TEST_PAUSE_FILE=PATH waits after STEP until PATH exists (10 s at
 * most); they are honoured only when HVKVPD_TEST_SEAMS=1 is also set, and
 * never read from a config file. */
int backend_apply(struct backend *b, const struct adapter *a, const struct failover_settings *s,
		  uint64_t deadline_usec, struct backend_result *res);

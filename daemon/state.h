/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state.h - per adapter: what the host last sent, what was applied, by which backend, when, with what result. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvp-msg.h"

#define STATE_DEFAULT_DIR "/var/lib/hvkvpd"

struct adapter_state {
	char mac[18];		  /* as sysfs has it; the file is <adapter_mac_key()>.state */
	char ifname[IF_NAMESIZE];
	/* the last request, whatever became of it */
	struct kvp_ip_fields host; /* exactly what the host sent (adapter_id included) */
	uint64_t received_usec;	  /* CLOCK_REALTIME */
	uint32_t result;	  /* HV_* code the host got */
	char detail[256];	  /* one line */
	/* the last request that was applied: a later bad or failed request
	 * leaves it (and the link) as it was */
	struct kvp_ip_fields applied;
	uint64_t applied_usec; /* 0 when nothing was ever applied */
	char backend[32];
	bool reapply; /* netlink-applied: hvkvpd re-applies `applied` at start-up */
	bool waiting_for_carrier;
	bool applied_manual; /* `applied` came from hvkvpctl, not from the host */
	/* the last apply made by hand (hvkvpctl) that succeeded,
	 * kept apart from what the host sent: it never changes host,
	 * received_usec, result or detail (nor the host's pool-1 line) */
	struct kvp_ip_fields manual;
	uint64_t manual_usec; /* 0: never */
	char manual_user[64];
	uint32_t manual_result; /* HV_* code of that apply */
	char manual_detail[256];
	char manual_backend[32];
};

/* Writes <dir>/<mac>.state atomically (0600; dir created 0755). */
int state_save(const char *dir, const struct adapter_state *st);
/* -ENOENT when there is none; -EBADMSG for a file that does not parse. */
int state_load(const char *dir, const char *mac, struct adapter_state *ret);

/* At daemon start: renames state files named in an older spelling of the
 * MAC ("00:15:5d:0a:0b:0c.state") to adapter_mac_key()'s; when both exist
 * the newer name wins and the old file is removed. Returns the number of
 * files renamed, or a negative errno when dir cannot be read. */
int state_migrate_names(const char *dir);

/* Calls cb for each parseable state file in dir (sorted by name). */
typedef int (*state_cb)(const struct adapter_state *st, void *userdata);
int state_foreach(const char *dir, state_cb cb, void *userdata);

/* ---- pure, for tests and the fuzzer ---- */
int state_format(const struct adapter_state *st, char *buf, size_t size);
int state_parse(const char *text, struct adapter_state *ret);

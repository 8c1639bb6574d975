/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conf.h - /etc/hvkvpd.conf: the settings an operator may change, shared by hvkvpd and hvkvpctl. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define CONF_DEFAULT_PATH "/etc/hvkvpd.conf"

/*
 * The file is a list of "Key=Value" lines; '#' and ';' start comments; blank
 * lines are ignored; an optional "[hvkvpd]" section header is accepted.
 * Keys (case-sensitive, as in systemd's files):
 *
 *   Backend=auto|networkmanager|networkd|netlink
 *   ReplyBudgetSec=1..25          how long a SET_IP_INFO may take before the reply
 *   Device=PATH                   the KVP device
 *   PoolDirectory=DIR             the .kvp_pool_N files
 *   StateDirectory=DIR            the per-adapter failover state
 *   LogLevel=error|warning|notice|info|debug
 *   ConflictProbeSec=0..10        ARP probe window for new IPv4 addresses, up to
 *                                 3 decimals (0: no probing, no DAD wait)
 */
struct conf {
	char backend[32];
	uint64_t budget_usec;
	char device[4096];
	char pool_dir[4096];
	char state_dir[4096];
	int log_level; /* LOG_* */
	uint64_t conflict_probe_usec;
};

/* Defaults: auto, 20 s, /dev/vmbus/hv_kvp, /var/lib/hyperv, /var/lib/hvkvpd, info,
 * 1 s (ADDR_PROBE_DEFAULT_USEC). */
void conf_defaults(struct conf *c);

/* Parses text into c (on top of what is there), with the tokenizer of ini.h
 * (a line may be at most 8191 bytes long). On error returns -EINVAL and
 * writes "<origin>:<line>: <key>: <why>" into err (-ENOMEM: err is empty).
 * Pure: no I/O. */
int conf_parse(struct conf *c, const char *text, const char *origin, char *err, size_t err_size);

/* Reads (at most 65535 bytes, no NUL) and parses path; a missing file is
 * not an error when !must_exist. */
int conf_load(struct conf *c, const char *path, bool must_exist, char *err, size_t err_size);

/* Shared value checks, also used for the command-line options. */
int conf_parse_budget(const char *v, uint64_t *ret_usec);
int conf_parse_log_level(const char *v, int *ret);
/* "1", "0.5", "0.250": seconds with at most 3 decimals, 0..10. */
int conf_parse_probe(const char *v, uint64_t *ret_usec);

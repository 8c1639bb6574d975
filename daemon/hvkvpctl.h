/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hvkvpctl.h - what the parts of hvkvpctl share: exit codes, options, output and errors. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "json.h"
#include "kvp-msg.h"
#include "link-config.h"
#include "pool.h"
#include "util.h"

/* Exit codes (documented in hvkvpctl(8), EXIT STATUS). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,      /* the operation failed (an apply was rolled back) */
	EXIT_USAGE = 2,	      /* bad command line, settings file or configuration */
	EXIT_NO_ADAPTER = 3,  /* no adapter matches */
	EXIT_INVALID = 4,     /* the settings were rejected; nothing changed */
	EXIT_UNSUPPORTED = 5, /* e.g. DHCP where nothing on the link can do it */
	EXIT_BUSY = 6,	      /* another apply holds the lock */
	EXIT_NOT_FOUND = 7,   /* pool key not found, or nothing to revert */
	EXIT_NO_ROOT = 8,     /* the command needs root */
};

/* Every option, global or a command's; getopt permutes, so any may come
 * anywhere on the line, and the command checks that it takes the ones given. */
enum ctl_opt {
	O_CONFIG = 'c',
	O_POOL_DIR = 'p',
	O_STATE_DIR = 's',
	O_BACKEND = 'b',
	O_JSON = 'j',
	O_HELP = 'h',
	O_VERSION = 'V',
	O_VERBOSE = 'v',
	O_ADAPTER = 0x100,
	O_V4,
	O_V4MASK,
	O_GW4,
	O_DNS4P,
	O_DNS4A,
	O_V6,
	O_V6LEN,
	O_GW6,
	O_DNS6P,
	O_DNS6A,
	O_DHCP,
	O_CLEAR4,
	O_CLEAR6,
	O_DRY,
	O_FILE,
	O_POOL,
};

struct ctl_optval {
	int id;
	const char *name; /* "ipv4-address", for messages */
	const char *value;
};

/* The command line after getopt: the options in order, and the words. */
struct ctl_args {
	size_t n_opts;
	struct ctl_optval *opts;
	int argc; /* words: the command and its arguments */
	char **argv;
};

/* Set up by main() before a command runs. */
extern struct conf cfg;
extern bool arg_json;
extern const char *arg_sysfs_root;
/* The JSON document of the command (an object), when arg_json. */
extern struct json out;

/* Prints "hvkvpctl: <message>" on stderr and, the first time, keeps it for
 * the JSON document's "error" object; returns `status`. */
int ctl_error(int status, const char *fmt, ...) _printf_(2, 3);
/* The same, with "Try 'hvkvpctl --help'." after it; returns EXIT_USAGE. */
int ctl_usage(const char *fmt, ...) _printf_(1, 2);
/* EXIT_NO_ROOT with "<what> requires root (run with sudo)" unless root. */
int ctl_need_root(const char *what);
/* Whether this process may change links (CAP_NET_ADMIN). */
bool ctl_have_net_admin(void);
/* Exit status for a negative errno of the library. */
int ctl_exit_code(int r);

/* The command words, checked against a command's own options. */
int ctl_check_opts(const struct ctl_args *a, const char *command, const int *allowed);

/* Host strings as text shows them: escaped (slots 0..3 live until reused). */
const char *ctl_esc(unsigned slot, const char *s);
/* A message of ours that quotes escaped host strings: made one line. */
const char *ctl_esc_line(unsigned slot, const char *s);

/* "2026-11-30T23:36:49Z"; "-" for 0. */
void ctl_iso_utc(uint64_t usec, char *buf, size_t size);
/* A ';'-list of the host's as a JSON array of its items (blanks trimmed). */
void ctl_json_strlist(struct json *j, const char *key, const char *list);

/* The link configuration engine, with its guest pool (for the host's
 * result lines, which manual applies do not write). */
int ctl_open_link_config(struct kvp_pool **ret_guest, struct link_config **ret);
void ctl_free_link_configp(struct link_config **p);

/* Resolves what the user typed (MAC, GUID, name) into the id the host
 * would send; says why not. Returns an exit status. */
int ctl_resolve(const char *id, struct adapter *a, char *host_id, size_t size);

int cmd_apply(const struct ctl_args *a);
int cmd_show(const struct ctl_args *a);
int cmd_revert(const struct ctl_args *a);
int cmd_pool(const struct ctl_args *a);

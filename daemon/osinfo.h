/* SPDX-License-Identifier: GPL-2.0-or-later */
/* osinfo.h - the auto pool (KVP_POOL_AUTO): ten intrinsic keys in upstream order. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define OSINFO_KEY_COUNT 10

struct fqdn_lookup;
struct ifaddrs;
typedef struct sd_event sd_event;

struct osinfo {
	char fqdn[256];
	char ic_version[128]; /* from the driver's registration reply */
	char os_build[128];   /* uname -r */
	char os_name[256];
	char os_major[64];
	char os_minor[64];
	char os_version[128]; /* uname -r up to the first '-' */
	char arch[64];	      /* uname -m */
	struct fqdn_lookup *lookup; /* in flight, or NULL */
	char hostname[256];	    /* the name the FQDN was looked up for */
	sd_event *event;	    /* for new lookups when the host name changes */
};

/* Reads uname and os-release (from <root>/etc/os-release, then
 * <root>/usr/lib/os-release; root NULL means "/"), and sets the FQDN to the
 * plain host name. Never blocks on the network. */
void osinfo_init(struct osinfo *o, const char *root);

/* Upstream's legacy fallbacks when there is no os-release: first lines of
 * SuSE-release / redhat-release. Exposed for tests. Pure. */
void osinfo_parse_os_release(struct osinfo *o, const char *text);

/* Once the asynchronous canonical-name lookup finishes. */
void osinfo_set_fqdn(struct osinfo *o, const char *fqdn);
void osinfo_set_ic_version(struct osinfo *o, const char *version);

/* Key name of an index 0..9 (NULL past the end). */
const char *osinfo_key_name(uint32_t index);

/* Key and value of index 0..9; -ENOENT past the end. The address keys (2, 3)
 * are read live from the interfaces; when the host name has changed since
 * the last lookup (cloud-init sets it after hvkvpd starts), the new name is
 * served and looked up again. */
int osinfo_enumerate(struct osinfo *o, uint32_t index, char *key, size_t key_size, char *value,
		     size_t value_size);

/* ';'-separated list of non-loopback addresses of one family (AF_INET or
 * AF_INET6), all interfaces, as upstream reports them. */
int osinfo_addresses(int family, char *buf, size_t size);
/* The same over a getifaddrs() list (tests hand in their own). Pure. */
int osinfo_addresses_from(const struct ifaddrs *list, int family, char *buf, size_t size);

/* Starts the canonical-name lookup of the host name in a forked child;
 * when it answers, the loop stores the result with osinfo_set_fqdn(). Until
 * then, and if it fails, the FQDN is the plain host name — the lookup never
 * delays a reply. */
int osinfo_lookup_fqdn_async(struct osinfo *o, sd_event *e);
/* Stops a lookup still in flight (its child is killed and reaped). */
void osinfo_lookup_cancel(struct osinfo *o);
/* What the lookup child does first, exposed for tests: dies with `parent`
 * (PR_SET_PDEATHSIG; -ESRCH when parent is already gone), unblocks every
 * signal and puts every disposition back to the default (so that a stop's
 * SIGTERM ends it), and bounds its own lifetime with alarm(). */
int osinfo_child_setup(pid_t parent);

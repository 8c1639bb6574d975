/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dns.h - per-link DNS servers where no network manager owns the link: systemd-resolved, else resolv.conf. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "failover.h"

#define DNS_RESOLV_CONF "/etc/resolv.conf"
/* Prefix of the site's own nameserver lines in a plain resolv.conf while
 * the host's servers are in place: "#hvkvpd-disabled: nameserver 10.0.0.53". */
#define DNS_DISABLED_MARKER "#hvkvpd-disabled: "

struct dns_snapshot;

/*
 * Sets the DNS servers of one link:
 *   - systemd-resolved running: SetLinkDNS over the system bus (runtime);
 *   - else /etc/resolv.conf is a plain file: an atomic rewrite that puts
 *     our servers in a block marked with the interface name, first, and
 *     keeps every other line, but takes the site's own nameserver lines
 *     out of use (DNS_DISABLED_MARKER in front) so that the resolver uses
 *     the host's servers only; they come back when no adapter's block is
 *     left (n == 0 for the last one, or dns_restore_resolv_conf());
 *   - else: a log line saying why nothing was set, and success (DNS is not
 *     worth failing an address change for).
 * n == 0 removes what we set before. *ret_snapshot (optional) restores the
 * previous state with dns_restore(). Returns 0 when set, 1 when there was
 * nowhere to set them (logged), negative errno when setting them failed.
 */
int dns_set(const char *ifname, int ifindex, const struct failover_ip *servers, size_t n,
	    struct dns_snapshot **ret_snapshot);
int dns_restore(struct dns_snapshot *s);
/* For a revert: removes ifname's block from a plain resolv.conf and puts the
 * site's nameserver lines back in use unless another adapter's block is
 * still there. 0 also when there was nothing to do (no file, a manager's
 * symbolic link, no block); negative errno when the file cannot be
 * rewritten. systemd-resolved's per-link servers are not touched. */
int dns_restore_resolv_conf(const char *ifname);
struct dns_snapshot *dns_snapshot_free(struct dns_snapshot *s);
/* Whether the dns_set() that made the snapshot changed what the resolver
 * uses (false for NULL). */
bool dns_snapshot_changed(const struct dns_snapshot *s);

/* The link's DNS servers: resolved's per-link list, else our block in
 * resolv.conf, else its nameserver lines; never a loopback stub. */
int dns_get(const char *ifname, int ifindex, struct failover_ip *out, size_t max, size_t *ret_n);

/* ---- pure, for tests: rewrite resolv.conf text ---- */

/* Returns a malloc'ed copy of `text` with the block for ifname replaced by
 * `servers` (removed when n == 0). With n > 0, every nameserver line
 * outside the blocks of hvkvpd gets DNS_DISABLED_MARKER in front; with
 * n == 0 and no other interface's block left, those lines lose it again. */
char *dns_resolv_conf_edit(const char *text, const char *ifname, const struct failover_ip *servers,
			   size_t n);
/* Only the servers of ifname's own hvkvpd block (none: 0), never the
 * site's lines nor another adapter's block (the settings hvkvpd put there
 * for this link). Pure. */
size_t dns_resolv_conf_parse_block(const char *text, const char *ifname, struct failover_ip *out,
				   size_t max);
/* What the resolver uses for ifname (GET_IP_INFO): the nameserver lines of
 * the block for ifname (if any block), else all non-loopback nameserver
 * lines in use (resolv.conf serves every link). */
size_t dns_resolv_conf_parse(const char *text, const char *ifname, struct failover_ip *out,
			     size_t max);

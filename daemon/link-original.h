/* SPDX-License-Identifier: GPL-2.0-or-later */
/* link-original.h - what a link held before its first failover, kept next to the state files for `hvkvpctl revert`. */
#pragma once

#include <stddef.h>

#include "link.h"

/*
 * <dir>/<key>.original (key: adapter_mac_key(), as for <key>.state):
 * written once, at the first failover applied to
 * the adapter (never overwritten by later ones), removed by a revert. Text,
 * one record per line:
 *
 *   link FLAGS CARRIER
 *   addr FAMILY ADDRESS PREFIXLEN SCOPE FLAGS PERMANENT BROADCAST|- LABEL|-
 *   route FAMILY DST DST_LEN GATEWAY|- ONLINK PREFSRC|- METRIC PROTOCOL TABLE
 *   static (same fields as route)
 *
 * FAMILY is 4 or 6, numbers are decimal, addresses as inet_ntop prints
 * them. Unknown or malformed lines are skipped.
 */

#define LINK_ORIGINAL_SUFFIX ".original"

/* Saves l as the link's original unless one is saved already (returns 1
 * then, 0 when written). Atomic, 0600. */
int link_original_save(const char *dir, const char *mac, const struct link_state *l);
/* -ENOENT when none was saved; *ret malloc'ed. */
int link_original_load(const char *dir, const char *mac, struct link_state **ret);
int link_original_remove(const char *dir, const char *mac);

/* ---- pure, for tests ---- */
int link_original_format(const struct link_state *l, char *buf, size_t size);
int link_original_parse(const char *text, struct link_state *ret);

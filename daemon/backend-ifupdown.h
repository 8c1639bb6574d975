/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backend-ifupdown.h - the pure part of the ifupdown backend: its edits of ifupdown's configuration text. */
#pragma once

#include <stdbool.h>

#include "adapter.h"
#include "failover.h"

/* text with every line of a->ifname's stanzas (outside our block for
 * a->mac) prefixed with "#hvkvpd-off <mac> "; blank and comment lines
 * stay. *changed is set when a line was disabled. NULL on OOM. */
char *ifu_disable_stanzas(const char *text, const struct adapter *a, bool *changed);
/* text with that prefix taken off a->mac's lines and a->mac's block
 * removed, then `block` (NULL: none) appended. NULL on OOM. */
char *ifu_restore_and_block(const char *text, const struct adapter *a, const char *block,
			    bool *changed);
/* The failover stanzas for the settings, printed from binary values only.
 * -EOPNOTSUPP for an interface name that is not a plain word. */
int ifu_render_stanzas(const struct adapter *a, const struct failover_settings *s, bool add_auto,
		       bool with_dns, const char *where, char **ret);

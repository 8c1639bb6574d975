/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backend-networkd.h - the pure part of the networkd backend: its per-link state file, as text. */
#pragma once

#include <limits.h>
#include <stddef.h>

#include "failover.h"

/* What networkd says about one link in /run/systemd/netif/links/<ifindex>. */
struct nd_link_file {
	char admin[32];			/* ADMIN_STATE */
	char network_file[PATH_MAX];	/* NETWORK_FILE */
	struct failover_ip dns[FAILOVER_MAX_DNS];
	size_t n_dns;			/* DNS= addresses; ports, scopes and names dropped */
};

/* Parses the state file's text (cut into lines in place) into *ret, which
 * is always filled: unknown keys, comments and lines without '=' are
 * skipped, values too long are cut. Pure; exposed for the fuzzer. */
void nd_link_file_parse(char *text, struct nd_link_file *ret);

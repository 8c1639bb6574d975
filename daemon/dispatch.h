/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dispatch.h - one host request in, one reply out: pools, auto pool, IP ops. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "link-config.h"
#include "kvp-proto.h"
#include "osinfo.h"
#include "pool.h"

struct hvkvp_ctx {
	struct kvp_pool *pools[KVP_POOL_COUNT]; /* KVP_POOL_AUTO's file is kept but unused */
	struct osinfo osinfo;
	struct link_config *link_config; /* NULL: the IP operations answer NOT_SUPPORTED */
	/* counters for STATUS= and tests */
	uint64_t n_requests;
	uint64_t n_errors;
	/* the last failover outcome, one line; status_changed tells the loop */
	char status[256];
	bool status_changed;
};

/* Opens the five pool files in pool_dir; with ipo != NULL also sets up the
 * failover machinery (netlink, backends, state directory). */
int hvkvp_ctx_init(struct hvkvp_ctx *ctx, const char *pool_dir, const char *os_root,
		   const struct link_config_options *ipo);
void hvkvp_ctx_done(struct hvkvp_ctx *ctx);

/* Handles one request in place: decodes msg, performs it, and rewrites msg
 * as the reply (error code in the header union, data where the op has some).
 * Returns the HV_* code written. Never fails to produce a reply. */
uint32_t hvkvp_dispatch(struct hvkvp_ctx *ctx, uint8_t msg[KVP_MSG_SIZE]);

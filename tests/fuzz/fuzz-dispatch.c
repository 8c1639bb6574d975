/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-dispatch.c - libFuzzer target: hostile host messages through hvkvp_dispatch(), the daemon's real entry point. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dispatch.h"
#include "fuzz-util.h"
#include "hv-error.h"
#include "kvp-msg.h"
#include "log.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * The context is the daemon's own (hvkvp_ctx_init()), with everything on
 * disk in a private temporary directory: the five pool files, the state
 * directory, an os-release, and a sysfs tree whose class/net is empty. So
 * the failover machinery is there (SET_IP_INFO and GET_IP_INFO run through
 * link_config_set()/_get() for real), yet no adapter id can ever resolve to
 * a link: no network setting is touched, whatever the host says.
 *
 * Input: up to MAX_MSGS messages of KVP_MSG_SIZE bytes back to back (the
 * last one zero-filled like the kernel's buffer), dispatched in order on
 * emptied pools, so that a SET and then a GET or an ENUMERATE of what
 * it wrote fit in one input and every input starts from the same state.
 */
#define MAX_MSGS 3

static char tmp[256];
static char pool_dir[300], sys_dir[300], state_dir[300];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static struct hvkvp_ctx *ctx_to_free;

static void cleanup(void)
{
	if (ctx_to_free)
		hvkvp_ctx_done(ctx_to_free);
	(void)nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkdir_in(const char *base, const char *rel)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	CHECK(mkdir(path, 0755) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *f;
	char path[320];

	const char *base = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/hvkvp-fuzz-dispatch.XXXXXX", isempty(base) ? "/tmp" : base);
	CHECK(mkdtemp(tmp));
	atexit(cleanup);
	mkdir_in(tmp, "sys");
	mkdir_in(tmp, "sys/class");
	mkdir_in(tmp, "sys/class/net");
	mkdir_in(tmp, "etc");
	snprintf(path, sizeof(path), "%s/etc/os-release", tmp);
	f = fopen(path, "we");
	CHECK(f);
	fputs("NAME=\"Fuzz Linux\"\nVERSION_ID=\"1.0\"\n", f);
	CHECK(fclose(f) == 0);
	snprintf(pool_dir, sizeof(pool_dir), "%s/pools", tmp);
	snprintf(sys_dir, sizeof(sys_dir), "%s/sys", tmp);
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
	/* HVKVP_FUZZ_LOG=1 shows what the daemon would log; it is off by
	 * default, a log line per input would drown libFuzzer's output */
	log_setup("fuzz-dispatch", LOG_TARGET_STDERR);
	log_set_max_level(streq_ptr(getenv("HVKVP_FUZZ_LOG"), "1") ? LOG_DEBUG : -1);
	return 0;
}

/* Back to empty pools through the pool API: cheaper than a fresh context
 * (five inotify instances, whose close waits for an RCU grace period), and
 * the same state for every input. */
static void empty_pools(struct hvkvp_ctx *ctx)
{
	char key[HV_KVP_EXCHANGE_MAX_KEY_SIZE], value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];

	for (unsigned i = 0; i < KVP_POOL_COUNT; i++) {
		size_t n = 1;

		while (kvp_pool_enumerate(ctx->pools[i], 0, key, sizeof(key), value,
					  sizeof(value)) == 0)
			CHECK(kvp_pool_delete(ctx->pools[i], key) == 0);
		CHECK(kvp_pool_count(ctx->pools[i], &n) == 0 && n == 0);
	}
	ctx->status[0] = '\0';
	ctx->status_changed = false;
}

static bool auto_key(uint8_t pool, const char *key)
{
	if (pool != KVP_POOL_AUTO)
		return false;
	for (uint32_t i = 0; i < OSINFO_KEY_COUNT; i++)
		if (streq(osinfo_key_name(i), key))
			return true;
	return false;
}

/* GET through the dispatcher, as the host would ask next. */
static uint32_t get_back(struct hvkvp_ctx *ctx, uint8_t pool, const char *key,
			 struct kvp_reply *rep)
{
	uint8_t *m = malloc(KVP_MSG_SIZE);
	uint32_t code;

	CHECK(m);
	CHECK(kvp_msg_build_get(m, pool, key) == 0);
	code = hvkvp_dispatch(ctx, m);
	CHECK(kvp_msg_decode_reply(m, KVP_MSG_SIZE, KVP_OP_GET, rep) == 0);
	free(m);
	return code;
}

static void dispatch_one(struct hvkvp_ctx *ctx, uint8_t *msg)
{
	static struct kvp_request req;
	static struct kvp_reply rep;
	uint64_t before = ctx->n_requests;
	bool valid = kvp_msg_decode(msg, KVP_MSG_SIZE, false, &req, NULL) == 0;
	uint8_t op = msg[0];
	uint32_t code = hvkvp_dispatch(ctx, msg);

	/* one reply per request, its code in the header */
	CHECK(ctx->n_requests == before + 1);
	CHECK(kvp_msg_get_error(msg) == code);
	CHECK(memchr(ctx->status, 0, sizeof(ctx->status)));
	if (!valid) {
		CHECK(code != HV_S_OK);
		return;
	}
	/* no adapter exists: nothing is ever applied, and nothing is reported */
	if (op == KVP_OP_SET_IP_INFO || op == KVP_OP_GET_IP_INFO)
		CHECK(code != HV_S_OK);
	CHECK(kvp_msg_decode_reply(msg, KVP_MSG_SIZE, op, &rep) == 0);

	switch (op) {
	case KVP_OP_GET:
		if (code == HV_S_OK)
			CHECK(streq(rep.key, req.get.key));
		break;
	case KVP_OP_ENUMERATE:
		if (code == HV_S_OK)
			CHECK(rep.key[0] != '\0');
		break;
	case KVP_OP_SET:
		/* what was written reads back the same */
		if (code == HV_S_OK && !auto_key(req.pool, req.set.key)) {
			CHECK(get_back(ctx, req.pool, req.set.key, &rep) == HV_S_OK);
			CHECK(streq(rep.value, req.set.value));
		}
		break;
	case KVP_OP_DELETE:
		if (code == HV_S_OK && !auto_key(req.pool, req.del.key))
			CHECK(get_back(ctx, req.pool, req.del.key, &rep) != HV_S_OK);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hvkvp_ctx ctx;
	static bool ready;
	const struct link_config_options ipo = {
		.sysfs_root = sys_dir,
		.state_dir = state_dir,
		.forced_backend = "netlink",
		.budget_usec = 1000 * 1000,
	};
	size_t off = 0;

	if (!ready) {
		CHECK(hvkvp_ctx_init(&ctx, pool_dir, tmp, &ipo) == 0);
		CHECK(ctx.link_config);
		ctx_to_free = &ctx;
		ready = true;
	}
	empty_pools(&ctx);
	for (unsigned i = 0; i < MAX_MSGS && (off < size || i == 0); i++) {
		size_t n = MIN(size - off, (size_t)KVP_MSG_SIZE);
		uint8_t *msg = calloc(1, KVP_MSG_SIZE);

		CHECK(msg);
		if (n)
			memcpy(msg, data + off, n);
		off += n;
		dispatch_one(&ctx, msg);
		free(msg);
	}
	return 0;
}

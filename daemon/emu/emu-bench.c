/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-bench.c - the `bench` control command: requests back to back, latency percentiles. */
#include <stdio.h>

#include "emu-cmd.h"

#define BENCH_MAX_COUNT 10000000ul

enum bench_op { BENCH_SET, BENCH_GET, BENCH_ENUM_ALL, BENCH_GET_IP, BENCH_SET_IP };
static const char *const bench_op_names[] = { "set", "get", "enumerate-all", "get-ip-info",
					      "set-ip-info" };

struct ctl_bench {
	enum bench_op op;
	char key_prefix[HV_KVP_EXCHANGE_MAX_KEY_SIZE];
	unsigned long count, done, errors, timeouts, requests;
	unsigned long keys; /* key names cycle over prefix0..prefix(keys-1); 0: no cycle */
	uint64_t *lat;
	uint64_t enum_acc;
	uint64_t start_usec;
};

struct ctl_bench *ctl_bench_free(struct ctl_bench *b)
{
	if (b) {
		free(b->lat);
		free(b);
	}
	return NULL;
}

/* The next request into cmd->msg. */
static int bench_next(struct ctl_cmd *cmd)
{
	struct ctl_bench *b = cmd->bench;
	/* the prefix was checked to leave room for the number */
	char key[sizeof(b->key_prefix) + 24];

	switch (b->op) {
	case BENCH_SET:
	case BENCH_GET:
		snprintf(key, sizeof(key), "%s%lu", b->key_prefix, b->keys ? b->done % b->keys : b->done);
		if (strscpy(cmd->key, sizeof(cmd->key), key) < 0)
			return -ENAMETOOLONG;
		if (b->op == BENCH_GET)
			return kvp_msg_build_get(cmd->msg, cmd->pool, cmd->key);
		return kvp_msg_build_set(cmd->msg, cmd->pool, cmd->key, cmd->value, REG_SZ);
	case BENCH_ENUM_ALL:
		return kvp_msg_build_enumerate(cmd->msg, cmd->pool, cmd->index);
	case BENCH_GET_IP:
		return kvp_msg_build_ip(cmd->msg, KVP_OP_GET_IP_INFO, &cmd->ip);
	case BENCH_SET_IP:
		return kvp_msg_build_ip(cmd->msg, KVP_OP_SET_IP_INFO, &cmd->ip);
	}
	return -EINVAL;
}

/* --op, --count, --keys and --key-prefix */
static int bench_parse(struct ctl_bench *b, const struct ctl_args *a, char **err)
{
	const char *prefix = a->val[O_KEY_PREFIX] ? a->val[O_KEY_PREFIX] : "bench-key-";
	uint64_t v;
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(bench_op_names); i++)
		if (streq(a->val[O_OP], bench_op_names[i]))
			break;
	if (i == ARRAY_SIZE(bench_op_names)) {
		ctl_errf(err, "bench --op must be set, get, enumerate-all, get-ip-info or set-ip-info");
		return -EINVAL;
	}
	b->op = (enum bench_op)i;
	r = ctl_parse_u64(a->val[O_COUNT], BENCH_MAX_COUNT, &v);
	if (r < 0 || v == 0) {
		ctl_errf(err, "--count must be a number in 1..%lu", BENCH_MAX_COUNT);
		return -EINVAL;
	}
	b->count = (unsigned long)v;
	if (a->val[O_KEYS]) {
		r = ctl_parse_u64(a->val[O_KEYS], BENCH_MAX_COUNT, &v);
		if (r < 0 || v == 0) {
			ctl_errf(err, "--keys must be a number in 1..%lu", BENCH_MAX_COUNT);
			return -EINVAL;
		}
		b->keys = (unsigned long)v;
	}
	/* room for the decimal index within the driver's 511 bytes */
	if (strlen(prefix) > KEY_MAX_BYTES - 24 || !utf8_valid(prefix, strlen(prefix))) {
		ctl_errf(err, "--key-prefix must be valid UTF-8 of at most %d bytes",
			 KEY_MAX_BYTES - 24);
		return -EINVAL;
	}
	strscpy(b->key_prefix, sizeof(b->key_prefix), prefix);
	return 0;
}

int ctl_bench_build(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	struct ctl_bench *b;
	int r;

	b = cmd->bench = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	r = bench_parse(b, a, err);
	if (r < 0)
		return r;
	r = ctl_kernel_string("--value", a->val[O_VALUE] ? a->val[O_VALUE] : "bench-value",
			      VALUE_MAX_BYTES, cmd->value, sizeof(cmd->value), &cmd->value_truncated,
			      err);
	if (r < 0)
		return r;
	if (b->op == BENCH_GET_IP || b->op == BENCH_SET_IP) {
		r = ctl_build_ip_fields(cmd, a, b->op == BENCH_SET_IP, err);
		if (r < 0)
			return r;
	}
	b->lat = calloc(b->count, sizeof(b->lat[0]));
	if (!b->lat)
		return -ENOMEM;
	r = bench_next(cmd);
	/* the command starts as soon as it is built */
	b->start_usec = now_usec();
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of a sorted array */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned pct)
{
	size_t rank = (n * pct + 99) / 100;

	return v[rank > 0 ? rank - 1 : 0];
}

static void bench_answer(const struct ctl_cmd *cmd, struct json *j)
{
	const struct ctl_bench *b = cmd->bench;
	double seconds = (double)(now_usec() - b->start_usec) / 1e6;
	size_t n = b->done;

	qsort(b->lat, n, sizeof(b->lat[0]), cmp_u64);
	ctl_json_head(j, cmd);
	json_kv_string(j, "bench_op", bench_op_names[b->op]);
	json_kv_uint(j, "pool", cmd->pool);
	json_kv_uint(j, "ops", n);
	json_kv_uint(j, "requests", b->requests);
	json_kv_uint(j, "errors", b->errors);
	json_kv_uint(j, "timeouts", b->timeouts);
	json_kv_double(j, "seconds", seconds);
	json_kv_double(j, "ops_per_sec", seconds > 0 ? (double)n / seconds : 0);
	json_key(j, "latency_us");
	json_begin_object(j);
	json_kv_uint(j, "min", n ? b->lat[0] : 0);
	json_kv_uint(j, "median", n ? percentile(b->lat, n, 50) : 0);
	json_kv_uint(j, "p90", n ? percentile(b->lat, n, 90) : 0);
	json_kv_uint(j, "max", n ? b->lat[n - 1] : 0);
	json_end_object(j);
	json_end_object(j);
}

/* Counts one result in; true when the bench is over. */
static bool bench_count(struct ctl_cmd *cmd, const struct emu_txn_result *res)
{
	struct ctl_bench *b = cmd->bench;

	b->requests++;
	if (b->op == BENCH_ENUM_ALL) {
		b->enum_acc += res->latency_usec;
		if (res->code == HV_S_OK && cmd->index < ENUM_ALL_MAX) {
			cmd->index++;
			return false;
		}
		/* one whole-pool enumeration is over */
		b->lat[b->done++] = b->enum_acc;
		if (res->code != HV_S_CONT)
			b->errors++;
		b->enum_acc = 0;
		cmd->index = 0;
	} else {
		b->lat[b->done++] = res->latency_usec;
		if (res->code != HV_S_OK)
			b->errors++;
	}
	if (res->timeout)
		b->timeouts++;
	return res->aborted || b->done >= b->count;
}

int ctl_bench_done(struct ctl_cmd *cmd, const struct emu_txn_result *res, struct json *j)
{
	int r;

	if (bench_count(cmd, res)) {
		bench_answer(cmd, j);
		return 0;
	}
	r = bench_next(cmd);
	return r < 0 ? r : 1;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-dispatch.c - whole requests in, replies out; malformed input changes nothing. */
#include <stdio.h>
#include <sys/stat.h>

#include "dispatch.h"
#include "hv-error.h"
#include "kvp-msg.h"
#include "log.h"
#include "suites.h"
#include "test-util.h"
#include "util.h"

static char dir[64];
static struct hvkvp_ctx ctx;

static void setup(void)
{
	test_tmpdir(dir, sizeof(dir), "dispatch");
	log_set_max_level(LOG_ERR); /* the bad-input cases log warnings by design */
	ck_assert_int_eq(hvkvp_ctx_init(&ctx, dir, dir, NULL), 0);
}

static void teardown(void)
{
	hvkvp_ctx_done(&ctx);
	test_rm_tree(dir);
}

/* Sends one message through the dispatcher and decodes the reply. */
static uint32_t roundtrip(uint8_t *msg, uint8_t op, struct kvp_reply *reply)
{
	uint32_t code = hvkvp_dispatch(&ctx, msg);

	ck_assert_int_eq(kvp_msg_decode_reply(msg, KVP_MSG_SIZE, op, reply), 0);
	ck_assert_uint_eq(reply->error, code);
	return code;
}

static uint32_t do_set(uint8_t pool, const char *key, const char *value)
{
	uint8_t msg[KVP_MSG_SIZE];
	struct kvp_reply reply;

	ck_assert_int_eq(kvp_msg_build_set(msg, pool, key, value, REG_SZ), 0);
	return roundtrip(msg, KVP_OP_SET, &reply);
}

static uint32_t do_get(uint8_t pool, const char *key, struct kvp_reply *reply)
{
	uint8_t msg[KVP_MSG_SIZE];

	ck_assert_int_eq(kvp_msg_build_get(msg, pool, key), 0);
	return roundtrip(msg, KVP_OP_GET, reply);
}

static uint32_t do_enum(uint8_t pool, uint32_t index, struct kvp_reply *reply)
{
	uint8_t msg[KVP_MSG_SIZE];

	ck_assert_int_eq(kvp_msg_build_enumerate(msg, pool, index), 0);
	return roundtrip(msg, KVP_OP_ENUMERATE, reply);
}

START_TEST(test_set_get_delete)
{
	uint8_t msg[KVP_MSG_SIZE];
	struct kvp_reply r;

	ck_assert_uint_eq(do_set(KVP_POOL_EXTERNAL, "alpha", "one"), HV_S_OK);
	ck_assert_uint_eq(do_set(KVP_POOL_EXTERNAL, "beta", "two"), HV_S_OK);
	ck_assert_uint_eq(do_set(KVP_POOL_EXTERNAL, "alpha", "uno"), HV_S_OK);
	ck_assert_uint_eq(do_get(KVP_POOL_EXTERNAL, "alpha", &r), HV_S_OK);
	ck_assert_str_eq(r.key, "alpha");
	ck_assert_str_eq(r.value, "uno");
	ck_assert_uint_eq(do_get(KVP_POOL_EXTERNAL, "gamma", &r), HV_S_CONT);
	/* pools are separate */
	ck_assert_uint_eq(do_get(KVP_POOL_GUEST, "alpha", &r), HV_S_CONT);

	ck_assert_int_eq(kvp_msg_build_delete(msg, KVP_POOL_EXTERNAL, "alpha"), 0);
	ck_assert_uint_eq(roundtrip(msg, KVP_OP_DELETE, &r), HV_S_OK);
	ck_assert_int_eq(kvp_msg_build_delete(msg, KVP_POOL_EXTERNAL, "alpha"), 0);
	ck_assert_uint_eq(roundtrip(msg, KVP_OP_DELETE, &r), HV_S_CONT);
	ck_assert_uint_eq(do_get(KVP_POOL_EXTERNAL, "alpha", &r), HV_S_CONT);
}
END_TEST

START_TEST(test_enumerate_pool)
{
	struct kvp_reply r;

	do_set(KVP_POOL_GUEST, "k0", "v0");
	do_set(KVP_POOL_GUEST, "k1", "v1");
	ck_assert_uint_eq(do_enum(KVP_POOL_GUEST, 0, &r), HV_S_OK);
	ck_assert_str_eq(r.key, "k0");
	ck_assert_str_eq(r.value, "v0");
	ck_assert_uint_eq(do_enum(KVP_POOL_GUEST, 1, &r), HV_S_OK);
	ck_assert_str_eq(r.key, "k1");
	ck_assert_uint_eq(do_enum(KVP_POOL_GUEST, 2, &r), HV_S_CONT);
	ck_assert_uint_eq(do_enum(KVP_POOL_GUEST, UINT32_MAX, &r), HV_S_CONT);
}
END_TEST

START_TEST(test_enumerate_auto)
{
	struct kvp_reply r;

	for (uint32_t i = 0; i < OSINFO_KEY_COUNT; i++) {
		ck_assert_uint_eq(do_enum(KVP_POOL_AUTO, i, &r), HV_S_OK);
		ck_assert_str_eq(r.key, osinfo_key_name(i));
	}
	ck_assert_uint_eq(do_enum(KVP_POOL_AUTO, OSINFO_KEY_COUNT, &r), HV_S_CONT);
	/* auto keys can also be read by name */
	ck_assert_uint_eq(do_get(KVP_POOL_AUTO, "ProcessorArchitecture", &r), HV_S_OK);
	ck_assert_str_eq(r.value, ctx.osinfo.arch);
}
END_TEST

START_TEST(test_ip_ops_not_supported)
{
	uint8_t msg[KVP_MSG_SIZE];
	struct kvp_ip_fields ip = { .adapter_id = "{11111111-2222-3333-4444-555555555555}",
				    .addr_family = ADDR_FAMILY_IPV4,
				    .ip_addr = "192.0.2.10",
				    .sub_net = "255.255.255.0" };
	struct kvp_reply r;

	ck_assert_int_eq(kvp_msg_build_ip(msg, KVP_OP_SET_IP_INFO, &ip), 0);
	ck_assert_uint_eq(roundtrip(msg, KVP_OP_SET_IP_INFO, &r), HV_ERROR_NOT_SUPPORTED);
	ck_assert_int_eq(kvp_msg_build_ip(msg, KVP_OP_GET_IP_INFO, &ip), 0);
	ck_assert_uint_eq(roundtrip(msg, KVP_OP_GET_IP_INFO, &r), HV_ERROR_NOT_SUPPORTED);
}
END_TEST

/* ---- malformed messages: each gets a defined code and writes nothing ---- */

static void put_u32(uint8_t *msg, size_t off, uint32_t v)
{
	memcpy(msg + off, &v, sizeof(v));
}

static off_t pool_size(unsigned pool)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/.kvp_pool_%u", dir, pool);
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

struct bad_case {
	const char *name;
	void (*make)(uint8_t *msg);
	uint32_t expect;
};

static void bad_unknown_op(uint8_t *m) { kvp_msg_build_set(m, 0, "k", "v", REG_SZ); m[0] = 9; }
static void bad_register_op(uint8_t *m) { kvp_msg_build_set(m, 0, "k", "v", REG_SZ); m[0] = KVP_OP_REGISTER1; }
static void bad_pool(uint8_t *m) { kvp_msg_build_set(m, 0, "k", "v", REG_SZ); m[1] = 5; }
static void bad_pool_255(uint8_t *m) { kvp_msg_build_get(m, 0, "k"); m[1] = 255; }
static void bad_keysize_zero(uint8_t *m) { kvp_msg_build_set(m, 0, "k", "v", REG_SZ); put_u32(m, 8, 0); }
static void bad_keysize_big(uint8_t *m) { kvp_msg_build_set(m, 0, "k", "v", REG_SZ); put_u32(m, 8, 600); }
static void bad_keysize_huge(uint8_t *m) { kvp_msg_build_set(m, 0, "k", "v", REG_SZ); put_u32(m, 8, 0xffffffffu); }
static void bad_key_no_nul(uint8_t *m) { kvp_msg_build_set(m, 0, "k", "v", REG_SZ); memset(m + 16, 'A', 512); put_u32(m, 8, 512); }
static void bad_key_inner_nul(uint8_t *m) { kvp_msg_build_set(m, 0, "abc", "v", REG_SZ); m[17] = 0; }
static void bad_key_utf8(uint8_t *m) { kvp_msg_build_set(m, 0, "abc", "v", REG_SZ); m[17] = (uint8_t)0xc0; }
static void bad_value_size(uint8_t *m) { kvp_msg_build_set(m, 0, "k", "v", REG_SZ); put_u32(m, 12, 3000); }
static void bad_value_no_nul(uint8_t *m) { kvp_msg_build_set(m, 0, "k", "v", REG_SZ); memset(m + 528, 'B', 2048); put_u32(m, 12, 2048); }
static void bad_value_utf8(uint8_t *m) { kvp_msg_build_set(m, 0, "k", "vvv", REG_SZ); m[529] = (uint8_t)0xff; }
static void bad_delete_keysize(uint8_t *m) { kvp_msg_build_delete(m, 0, "k"); put_u32(m, 4, 0); }
static void bad_get_keysize(uint8_t *m) { kvp_msg_build_get(m, 0, "k"); put_u32(m, 8, 513); }
static void bad_enum_range(uint8_t *m) { kvp_msg_build_enumerate(m, 0, 1000000); }
static void bad_ip_no_nul(uint8_t *m)
{
	struct kvp_ip_fields ip = { .adapter_id = "x" };
	kvp_msg_build_ip(m, KVP_OP_SET_IP_INFO, &ip);
	memset(m + 262, '1', 2048);
}

START_TEST(test_bad_input)
{
	static const struct bad_case cases[] = {
		{ "unknown op", bad_unknown_op, HV_ERROR_NOT_SUPPORTED },
		{ "register op after handshake", bad_register_op, HV_ERROR_NOT_SUPPORTED },
		{ "pool 5", bad_pool, HV_INVALIDARG },
		{ "pool 255", bad_pool_255, HV_INVALIDARG },
		{ "key_size 0", bad_keysize_zero, HV_INVALIDARG },
		{ "key_size 600", bad_keysize_big, HV_INVALIDARG },
		{ "key_size 2^32-1", bad_keysize_huge, HV_INVALIDARG },
		{ "key without NUL", bad_key_no_nul, HV_INVALIDARG },
		{ "key with inner NUL", bad_key_inner_nul, HV_INVALIDARG },
		{ "key invalid UTF-8", bad_key_utf8, HV_INVALIDARG },
		{ "value_size 3000", bad_value_size, HV_INVALIDARG },
		{ "value without NUL", bad_value_no_nul, HV_INVALIDARG },
		{ "value invalid UTF-8", bad_value_utf8, HV_INVALIDARG },
		{ "delete key_size 0", bad_delete_keysize, HV_INVALIDARG },
		{ "get key_size 513", bad_get_keysize, HV_INVALIDARG },
		{ "enumerate out of range", bad_enum_range, HV_S_CONT },
		{ "ip_addr without NUL", bad_ip_no_nul, HV_INVALIDARG },
	};
	off_t before[KVP_POOL_COUNT];
	struct kvp_reply r;

	do_set(KVP_POOL_EXTERNAL, "keep", "me");
	for (unsigned p = 0; p < KVP_POOL_COUNT; p++)
		before[p] = pool_size(p);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t msg[KVP_MSG_SIZE];
		uint32_t code;

		memset(msg, 0, sizeof(msg));
		cases[i].make(msg);
		code = hvkvp_dispatch(&ctx, msg);
		ck_assert_msg(code == cases[i].expect, "%s: got %s, expected %s", cases[i].name,
			      hv_error_to_string(code), hv_error_to_string(cases[i].expect));
		ck_assert_uint_eq(kvp_msg_get_error(msg), code);
		for (unsigned p = 0; p < KVP_POOL_COUNT; p++)
			ck_assert_msg(pool_size(p) == before[p], "%s changed pool %u", cases[i].name, p);
	}
	/* and the daemon keeps serving */
	ck_assert_uint_eq(do_get(KVP_POOL_EXTERNAL, "keep", &r), HV_S_OK);
	ck_assert_str_eq(r.value, "me");
}
END_TEST

Suite *dispatch_suite(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_set_get_delete);
	tcase_add_test(tc, test_enumerate_pool);
	tcase_add_test(tc, test_enumerate_auto);
	tcase_add_test(tc, test_ip_ops_not_supported);
	tcase_add_test(tc, test_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

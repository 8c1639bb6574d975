/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-kvp-msg.c - the message codec against hand-laid bytes, so wire offsets are pinned too. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kvp-msg.h"
#include "suites.h"
#include "util.h"

/*
 * Offsets are written out as numbers (PROTOCOL.md §1.2) rather than taken
 * from offsetof(): if the codec and the uapi header ever drifted together,
 * only literal numbers would notice.
 */
#define O_OP 0
#define O_POOL 1
#define O_GET_TYPE 4
#define O_GET_KSIZE 8
#define O_GET_VSIZE 12
#define O_GET_KEY 16
#define O_GET_VALUE 528
#define O_DEL_KSIZE 4
#define O_DEL_KEY 8
#define O_ENUM_INDEX 4
#define O_ENUM_TYPE 8
#define O_ENUM_KSIZE 12
#define O_ENUM_VSIZE 16
#define O_ENUM_KEY 20
#define O_ENUM_VALUE 532
#define O_IP_ADAPTER 4
#define O_IP_FAMILY 260
#define O_IP_DHCP 261
#define O_IP_ADDR 262
#define O_IP_SUBNET 2310
#define O_IP_GATEWAY 4358
#define O_IP_DNS 5382
#define O_VERSION 4

static void poke_u32(uint8_t *m, size_t off, uint32_t v)
{
	memcpy(m + off, &v, sizeof(v));
}

static uint32_t peek_u32(const uint8_t *m, size_t off)
{
	uint32_t v;

	memcpy(&v, m + off, sizeof(v));
	return v;
}

/* Writes s including its NUL. */
static void poke_str(uint8_t *m, size_t off, const char *s)
{
	memcpy(m + off, s, strlen(s) + 1);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void assert_reason(const char *reason, const char *want)
{
	ck_assert_ptr_nonnull(reason);
	ck_assert_msg(strstr(reason, want) != NULL, "reason \"%s\" lacks \"%s\"", reason, want);
}

static char *repeat(char *dst, char c, size_t n)
{
	memset(dst, c, n);
	dst[n] = '\0';
	return dst;
}

/* ---- decoding hand-made requests ---- */

START_TEST(test_decode_length)
{
	static uint8_t m[KVP_MSG_SIZE + 1];
	static const size_t lens[] = { 0, 1, 4, KVP_MSG_SIZE - 1, KVP_MSG_SIZE + 1 };
	struct kvp_request req;
	const char *reason;

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		ck_assert_int_eq(kvp_msg_decode(m, lens[i], false, &req, &reason), -EBADMSG);
		assert_reason(reason, "expected 7432");
		ck_assert_int_eq(kvp_msg_decode(m, lens[i], true, &req, &reason), -EBADMSG);
	}
	ck_assert_int_eq(kvp_msg_decode(m, KVP_MSG_SIZE - 1, false, &req, &reason), -EBADMSG);
	assert_reason(reason, "message length 7431");
}
END_TEST

START_TEST(test_decode_get_by_hand)
{
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;
	const char *reason = "stale";

	m[O_OP] = KVP_OP_GET;
	m[O_POOL] = KVP_POOL_GUEST;
	poke_u32(m, O_GET_KSIZE, 2);
	poke_str(m, O_GET_KEY, "k");
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, &reason), 0);
	ck_assert_ptr_null(reason);
	ck_assert_uint_eq(req.op, KVP_OP_GET);
	ck_assert_uint_eq(req.pool, KVP_POOL_GUEST);
	ck_assert_str_eq(req.get.key, "k");
	ck_assert_uint_eq(req.get.key_len, 1);
}
END_TEST

START_TEST(test_decode_set_by_hand)
{
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;

	m[O_OP] = KVP_OP_SET;
	m[O_POOL] = KVP_POOL_AUTO_INTERNAL;
	poke_u32(m, O_GET_TYPE, REG_SZ);
	poke_u32(m, O_GET_KSIZE, 8);
	poke_u32(m, O_GET_VSIZE, 6);
	poke_str(m, O_GET_KEY, "HostKey");
	poke_str(m, O_GET_VALUE, "hello");
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.pool, KVP_POOL_AUTO_INTERNAL);
	ck_assert_str_eq(req.set.key, "HostKey");
	ck_assert_uint_eq(req.set.key_len, 7);
	ck_assert_str_eq(req.set.value, "hello");
	ck_assert_uint_eq(req.set.value_len, 5);
	ck_assert_uint_eq(req.set.value_type, REG_SZ);
}
END_TEST

START_TEST(test_decode_set_empty_value)
{
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;

	m[O_OP] = KVP_OP_SET;
	poke_u32(m, O_GET_KSIZE, 2);
	poke_str(m, O_GET_KEY, "k");
	/* value_size 0 means "empty", whatever the value area holds. */
	memset(m + O_GET_VALUE, 'x', HV_KVP_EXCHANGE_MAX_VALUE_SIZE);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_str_eq(req.set.value, "");
	ck_assert_uint_eq(req.set.value_len, 0);

	/* value_size 1: the empty string with its NUL, as the kernel sends it. */
	memset(m + O_GET_VALUE, 0, HV_KVP_EXCHANGE_MAX_VALUE_SIZE);
	poke_u32(m, O_GET_VSIZE, 1);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_str_eq(req.set.value, "");
}
END_TEST

START_TEST(test_decode_value_type_informational)
{
	static const uint32_t types[] = { REG_SZ, REG_U32, REG_U64, 0, 0xdeadbeef };
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;

	m[O_OP] = KVP_OP_SET;
	poke_u32(m, O_GET_KSIZE, 2);
	poke_str(m, O_GET_KEY, "n");
	poke_u32(m, O_GET_VSIZE, 3);
	poke_str(m, O_GET_VALUE, "42");
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		poke_u32(m, O_GET_TYPE, types[i]);
		ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
		ck_assert_uint_eq(req.set.value_type, types[i]);
		ck_assert_str_eq(req.set.value, "42");
	}
}
END_TEST

START_TEST(test_decode_delete_by_hand)
{
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;

	m[O_OP] = KVP_OP_DELETE;
	m[O_POOL] = KVP_POOL_EXTERNAL;
	poke_u32(m, O_DEL_KSIZE, 4);
	poke_str(m, O_DEL_KEY, "old");
	/* A GET-shaped key_size at offset 8 would be "old\0" read as u32: the
	 * decode must take DELETE's own layout. */
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.op, KVP_OP_DELETE);
	ck_assert_str_eq(req.del.key, "old");
	ck_assert_uint_eq(req.del.key_len, 3);
}
END_TEST

START_TEST(test_decode_enumerate_by_hand)
{
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;

	m[O_OP] = KVP_OP_ENUMERATE;
	m[O_POOL] = KVP_POOL_AUTO;
	poke_u32(m, O_ENUM_INDEX, 0xdeadbeef);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.pool, KVP_POOL_AUTO);
	ck_assert_uint_eq(req.enumerate.index, 0xdeadbeef);
}
END_TEST

START_TEST(test_decode_set_ip_by_hand)
{
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;

	m[O_OP] = KVP_OP_SET_IP_INFO;
	poke_str(m, O_IP_ADAPTER, "{6e5a0b3c-1f2d-4c5b-9a8e-7d6c5b4a3f2e}");
	m[O_IP_FAMILY] = ADDR_FAMILY_IPV4 | ADDR_FAMILY_IPV6;
	m[O_IP_DHCP] = 1;
	poke_str(m, O_IP_ADDR, "192.168.1.10;fd00::10");
	poke_str(m, O_IP_SUBNET, "255.255.255.0;64");
	poke_str(m, O_IP_GATEWAY, "192.168.1.1");
	poke_str(m, O_IP_DNS, "192.168.1.1;8.8.8.8");
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_str_eq(req.ip.adapter_id, "{6e5a0b3c-1f2d-4c5b-9a8e-7d6c5b4a3f2e}");
	ck_assert_uint_eq(req.ip.addr_family, 3);
	ck_assert_uint_eq(req.ip.dhcp_enabled, 1);
	ck_assert_str_eq(req.ip.ip_addr, "192.168.1.10;fd00::10");
	ck_assert_str_eq(req.ip.sub_net, "255.255.255.0;64");
	ck_assert_str_eq(req.ip.gate_way, "192.168.1.1");
	ck_assert_str_eq(req.ip.dns_addr, "192.168.1.1;8.8.8.8");

	/* Lists filling their field up to the last byte (NUL there) are fine. */
	memset(m + O_IP_ADDR, '1', KVP_IP_ADDR_BYTES - 1);
	m[O_IP_ADDR + KVP_IP_ADDR_BYTES - 1] = '\0';
	memset(m + O_IP_GATEWAY, '2', KVP_GATEWAY_BYTES - 1);
	m[O_IP_GATEWAY + KVP_GATEWAY_BYTES - 1] = '\0';
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(strlen(req.ip.ip_addr), KVP_IP_ADDR_BYTES - 1);
	ck_assert_uint_eq(strlen(req.ip.gate_way), KVP_GATEWAY_BYTES - 1);
}
END_TEST

START_TEST(test_decode_get_ip_by_hand)
{
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;

	m[O_OP] = KVP_OP_GET_IP_INFO;
	m[O_POOL] = 200; /* ignored for IP operations */
	poke_str(m, O_IP_ADAPTER, "00:15:5D:01:02:03");
	m[O_IP_FAMILY] = ADDR_FAMILY_IPV6;
	m[O_IP_DHCP] = 7;
	/* Unterminated junk where GET_IP_INFO carries nothing: not judged, not copied. */
	memset(m + O_IP_ADDR, 0xff, KVP_MSG_SIZE - O_IP_ADDR);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.op, KVP_OP_GET_IP_INFO);
	ck_assert_str_eq(req.ip.adapter_id, "00:15:5D:01:02:03");
	ck_assert_uint_eq(req.ip.addr_family, ADDR_FAMILY_IPV6);
	ck_assert_uint_eq(req.ip.dhcp_enabled, 0);
	ck_assert_str_eq(req.ip.ip_addr, "");
	ck_assert_str_eq(req.ip.sub_net, "");
	ck_assert_str_eq(req.ip.gate_way, "");
	ck_assert_str_eq(req.ip.dns_addr, "");

	/* The pool byte is not validated for SET_IP_INFO either. */
	memset(m + O_IP_ADDR, 0, KVP_MSG_SIZE - O_IP_ADDR);
	m[O_OP] = KVP_OP_SET_IP_INFO;
	m[O_POOL] = 9;
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
}
END_TEST

START_TEST(test_decode_register)
{
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;
	const char *reason;

	m[O_OP] = KVP_OP_REGISTER1;
	poke_str(m, O_VERSION, KVP_DRIVER_VERSION);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), true, &req, &reason), 0);
	ck_assert_ptr_null(reason);
	ck_assert_uint_eq(req.op, KVP_OP_REGISTER1);
	ck_assert_str_eq(req.reg.version, "3.1");

	m[O_OP] = KVP_OP_REGISTER;
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), true, &req, NULL), 0);
	ck_assert_uint_eq(req.op, KVP_OP_REGISTER);
	ck_assert_str_eq(req.reg.version, "3.1");

	/* A version using all 511 bytes is still terminated inside the field. */
	memset(m + O_VERSION, 'v', 511);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), true, &req, NULL), 0);
	ck_assert_uint_eq(strlen(req.reg.version), 511);

	/* Empty version: the driver always sends one, but it is not our business. */
	memset(m + O_VERSION, 0, 512);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), true, &req, NULL), 0);
	ck_assert_str_eq(req.reg.version, "");
}
END_TEST

/* ---- every rejection path, table-driven ---- */

struct reject_case {
	const char *name;
	bool handshake;
	uint8_t op, pool;
	struct {
		size_t off; /* 0 ends the list: offset 0 is the header, never a u32 field */
		uint32_t v;
	} u32[3];
	struct {
		size_t off;
		const char *bytes;
		size_t len;
	} raw[2];
	struct {
		size_t off;
		uint8_t byte;
		size_t count;
	} fill;
	int error;
	const char *reason;
};

#define RAW(off, lit) { (off), (lit), sizeof(lit) - 1 }
/* A well-formed GET key, so a case can break exactly one other thing. */
#define GOOD_GET_KEY .u32 = { { O_GET_KSIZE, 2 } }, .raw = { RAW(O_GET_KEY, "k\0") }

static const struct reject_case rejects[] = {
	/* operation and pool */
	{ "op 6", .op = 6, .error = -EOPNOTSUPP, .reason = "operation 6 unknown" },
	{ "op 9", .op = 9, .error = -EOPNOTSUPP, .reason = "operation 9 unknown" },
	{ "register1 outside handshake", .op = KVP_OP_REGISTER1, .error = -EOPNOTSUPP,
	  .reason = "operation 100 unknown" },
	{ "op 255", .op = 255, .error = -EOPNOTSUPP, .reason = "operation 255 unknown" },
	{ "get in handshake", .handshake = true, .op = KVP_OP_GET, .error = -EOPNOTSUPP,
	  .reason = "operation 0 (get) is not a registration reply" },
	{ "op 9 in handshake", .handshake = true, .op = 9, .error = -EOPNOTSUPP,
	  .reason = "operation 9 (op9) is not a registration reply" },
	{ "get pool 5", .op = KVP_OP_GET, .pool = 5, GOOD_GET_KEY, .error = -EINVAL,
	  .reason = "pool 5 out of range 0..4" },
	{ "set pool 7", .op = KVP_OP_SET, .pool = 7, GOOD_GET_KEY, .error = -EINVAL,
	  .reason = "pool 7 out of range 0..4" },
	{ "delete pool 255", .op = KVP_OP_DELETE, .pool = 255, .u32 = { { O_DEL_KSIZE, 2 } },
	  .raw = { RAW(O_DEL_KEY, "k\0") }, .error = -EINVAL, .reason = "pool 255 out of range" },
	{ "enumerate pool 9", .op = KVP_OP_ENUMERATE, .pool = 9, .error = -EINVAL,
	  .reason = "pool 9 out of range 0..4 for operation enumerate" },
	/* key_size */
	{ "get key_size 0", .op = KVP_OP_GET, .error = -EINVAL,
	  .reason = "key_size 0 out of range 2..512" },
	{ "get key_size 1 (empty key)", .op = KVP_OP_GET, .u32 = { { O_GET_KSIZE, 1 } },
	  .error = -EINVAL, .reason = "key_size 1 out of range 2..512" },
	{ "get key_size 513", .op = KVP_OP_GET, .u32 = { { O_GET_KSIZE, 513 } },
	  .error = -EINVAL, .reason = "key_size 513 out of range" },
	{ "get key_size 600", .op = KVP_OP_GET, .u32 = { { O_GET_KSIZE, 600 } },
	  .error = -EINVAL, .reason = "key_size 600 out of range 2..512" },
	{ "get key_size 2^32-1", .op = KVP_OP_GET, .u32 = { { O_GET_KSIZE, UINT32_MAX } },
	  .error = -EINVAL, .reason = "key_size 4294967295 out of range" },
	{ "delete key_size 0", .op = KVP_OP_DELETE, .raw = { RAW(O_DEL_KEY, "k\0") },
	  .error = -EINVAL, .reason = "key_size 0 out of range 2..512" },
	{ "set key_size 0", .op = KVP_OP_SET, .error = -EINVAL,
	  .reason = "key_size 0 out of range" },
	/* key terminator */
	{ "get key missing NUL", .op = KVP_OP_GET, .u32 = { { O_GET_KSIZE, 3 } },
	  .raw = { RAW(O_GET_KEY, "abc") }, .error = -EINVAL,
	  .reason = "key has no NUL terminator at byte 2 (key_size 3)" },
	{ "get key NUL too early", .op = KVP_OP_GET, .u32 = { { O_GET_KSIZE, 4 } },
	  .raw = { RAW(O_GET_KEY, "a\0b\0") }, .error = -EINVAL,
	  .reason = "key has a NUL at byte 1" },
	{ "get key 512 bytes, no NUL", .op = KVP_OP_GET, .u32 = { { O_GET_KSIZE, 512 } },
	  .fill = { O_GET_KEY, 'a', 512 }, .error = -EINVAL,
	  .reason = "key has no NUL terminator at byte 511" },
	{ "delete key missing NUL", .op = KVP_OP_DELETE, .u32 = { { O_DEL_KSIZE, 2 } },
	  .raw = { RAW(O_DEL_KEY, "ab") }, .error = -EINVAL,
	  .reason = "key has no NUL terminator at byte 1" },
	/* value */
	{ "set value_size 2049", .op = KVP_OP_SET,
	  .u32 = { { O_GET_KSIZE, 2 }, { O_GET_VSIZE, 2049 } }, .raw = { RAW(O_GET_KEY, "k\0") },
	  .error = -EINVAL,
	  .reason = "value_size 2049 out of range 0..2048" },
	{ "set value missing NUL", .op = KVP_OP_SET,
	  .u32 = { { O_GET_KSIZE, 2 }, { O_GET_VSIZE, 3 } },
	  .raw = { RAW(O_GET_KEY, "k\0"), RAW(O_GET_VALUE, "xyz") }, .error = -EINVAL,
	  .reason = "value has no NUL terminator at byte 2 (value_size 3)" },
	{ "set value NUL too early", .op = KVP_OP_SET,
	  .u32 = { { O_GET_KSIZE, 2 }, { O_GET_VSIZE, 5 } },
	  .raw = { RAW(O_GET_KEY, "k\0"), RAW(O_GET_VALUE, "ab\0d\0") }, .error = -EINVAL,
	  .reason = "value has a NUL at byte 2" },
	/* UTF-8 */
	{ "key overlong", .op = KVP_OP_SET, .u32 = { { O_GET_KSIZE, 3 } },
	  .raw = { RAW(O_GET_KEY, "\xc0\xaf\0") }, .error = -EILSEQ,
	  .reason = "key is not valid UTF-8 at byte 0" },
	{ "key 3-byte overlong", .op = KVP_OP_GET, .u32 = { { O_GET_KSIZE, 5 } },
	  .raw = { RAW(O_GET_KEY, "a\xe0\x80\xaf\0") }, .error = -EILSEQ,
	  .reason = "key is not valid UTF-8 at byte 1" },
	{ "key surrogate", .op = KVP_OP_GET, .u32 = { { O_GET_KSIZE, 6 } },
	  .raw = { RAW(O_GET_KEY, "ab\xed\xa0\x80\0") }, .error = -EILSEQ,
	  .reason = "key is not valid UTF-8 at byte 2" },
	{ "key truncated sequence", .op = KVP_OP_DELETE, .u32 = { { O_DEL_KSIZE, 6 } },
	  .raw = { RAW(O_DEL_KEY, "abc\xe2\x82\0") }, .error = -EILSEQ,
	  .reason = "key is not valid UTF-8 at byte 3" },
	{ "key above U+10FFFF", .op = KVP_OP_GET, .u32 = { { O_GET_KSIZE, 5 } },
	  .raw = { RAW(O_GET_KEY, "\xf4\x90\x80\x80\0") }, .error = -EILSEQ,
	  .reason = "key is not valid UTF-8 at byte 0" },
	{ "key lone continuation", .op = KVP_OP_GET, .u32 = { { O_GET_KSIZE, 4 } },
	  .raw = { RAW(O_GET_KEY, "x\x80y\0") }, .error = -EILSEQ,
	  .reason = "key is not valid UTF-8 at byte 1" },
	{ "value invalid at byte 17", .op = KVP_OP_SET,
	  .u32 = { { O_GET_KSIZE, 2 }, { O_GET_VSIZE, 19 } },
	  .raw = { RAW(O_GET_KEY, "k\0"), RAW(O_GET_VALUE, "abcdefghijklmnopq\xff\0") },
	  .error = -EILSEQ, .reason = "value is not valid UTF-8 at byte 17" },
	/* IP operations */
	{ "set_ip adapter_id unterminated", .op = KVP_OP_SET_IP_INFO,
	  .fill = { O_IP_ADAPTER, 'a', 256 }, .error = -EINVAL,
	  .reason = "adapter_id has no NUL terminator within 256 bytes" },
	{ "set_ip ip_addr unterminated", .op = KVP_OP_SET_IP_INFO,
	  .fill = { O_IP_ADDR, '1', 2048 }, .error = -EINVAL,
	  .reason = "ip_addr has no NUL terminator within 2048 bytes" },
	{ "set_ip sub_net unterminated", .op = KVP_OP_SET_IP_INFO,
	  .fill = { O_IP_SUBNET, '2', 2048 }, .error = -EINVAL,
	  .reason = "sub_net has no NUL terminator within 2048 bytes" },
	{ "set_ip gate_way unterminated", .op = KVP_OP_SET_IP_INFO,
	  .fill = { O_IP_GATEWAY, '3', 1024 }, .error = -EINVAL,
	  .reason = "gate_way has no NUL terminator within 1024 bytes" },
	{ "set_ip dns_addr unterminated", .op = KVP_OP_SET_IP_INFO,
	  .fill = { O_IP_DNS, '4', 2048 }, .error = -EINVAL,
	  .reason = "dns_addr has no NUL terminator within 2048 bytes" },
	{ "set_ip dns_addr invalid UTF-8", .op = KVP_OP_SET_IP_INFO,
	  .raw = { RAW(O_IP_DNS, "1.2\x80\0") }, .error = -EILSEQ,
	  .reason = "dns_addr is not valid UTF-8 at byte 3" },
	{ "set_ip ip_addr invalid UTF-8", .op = KVP_OP_SET_IP_INFO,
	  .raw = { RAW(O_IP_ADDR, "10.0.0.1;\xfe\0") }, .error = -EILSEQ,
	  .reason = "ip_addr is not valid UTF-8 at byte 9" },
	{ "get_ip adapter_id unterminated", .op = KVP_OP_GET_IP_INFO,
	  .fill = { O_IP_ADAPTER, 'A', 256 }, .error = -EINVAL,
	  .reason = "adapter_id has no NUL terminator within 256 bytes" },
	{ "get_ip adapter_id invalid UTF-8", .op = KVP_OP_GET_IP_INFO,
	  .raw = { RAW(O_IP_ADAPTER, "00:15\xc3\0") }, .error = -EILSEQ,
	  .reason = "adapter_id is not valid UTF-8 at byte 5" },
	/* registration reply */
	{ "register1 version unterminated", .handshake = true, .op = KVP_OP_REGISTER1,
	  .fill = { O_VERSION, 'v', 512 }, .error = -EINVAL,
	  .reason = "version has no NUL terminator within 512 bytes" },
	{ "register version invalid UTF-8", .handshake = true, .op = KVP_OP_REGISTER,
	  .raw = { RAW(O_VERSION, "3.\xff\0") }, .error = -EILSEQ,
	  .reason = "version is not valid UTF-8 at byte 2" },
};

START_TEST(test_reject)
{
	const struct reject_case *c = &rejects[_i];
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;
	const char *reason = NULL;
	int r;

	m[O_OP] = c->op;
	m[O_POOL] = c->pool;
	for (size_t i = 0; i < ARRAY_SIZE(c->u32) && c->u32[i].off; i++)
		poke_u32(m, c->u32[i].off, c->u32[i].v);
	for (size_t i = 0; i < ARRAY_SIZE(c->raw) && c->raw[i].bytes; i++)
		memcpy(m + c->raw[i].off, c->raw[i].bytes, c->raw[i].len);
	if (c->fill.count)
		memset(m + c->fill.off, c->fill.byte, c->fill.count);

	r = kvp_msg_decode(m, sizeof(m), c->handshake, &req, &reason);
	ck_assert_msg(r == c->error, "%s: got %d, want %d (%s)", c->name, r, c->error,
		      reason ? reason : "no reason");
	assert_reason(reason, c->reason);
	/* The same input without a reason pointer fails the same way. */
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), c->handshake, &req, NULL), c->error);
}
END_TEST

/* ---- boundaries ---- */

START_TEST(test_key_boundaries)
{
	static char key[HV_KVP_EXCHANGE_MAX_KEY_SIZE + 1];
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;

	/* By hand: key_size 512, 511 bytes of key, NUL at 511. */
	m[O_OP] = KVP_OP_GET;
	poke_u32(m, O_GET_KSIZE, 512);
	memset(m + O_GET_KEY, 'k', 511);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.get.key_len, 511);
	ck_assert_uint_eq(strlen(req.get.key), 511);

	/* Through the builders: 511 characters fit, 512 do not. */
	ck_assert_int_eq(kvp_msg_build_set(m, 0, repeat(key, 'k', 511), "v", REG_SZ), 0);
	ck_assert_uint_eq(peek_u32(m, O_GET_KSIZE), 512);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.set.key_len, 511);
	ck_assert_int_eq(kvp_msg_build_get(m, 0, repeat(key, 'k', 512)), -ENAMETOOLONG);
	ck_assert_int_eq(kvp_msg_build_set(m, 0, key, "v", REG_SZ), -ENAMETOOLONG);
	ck_assert_int_eq(kvp_msg_build_delete(m, 0, key), -ENAMETOOLONG);

	/* Shortest legal key. */
	ck_assert_int_eq(kvp_msg_build_delete(m, 0, "x"), 0);
	ck_assert_uint_eq(peek_u32(m, O_DEL_KSIZE), 2);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_str_eq(req.del.key, "x");
}
END_TEST

START_TEST(test_value_boundaries)
{
	static char value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE + 1];
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;
	const char *reason;

	/* By hand: value_size 2048, NUL in the last byte of the field. */
	m[O_OP] = KVP_OP_SET;
	poke_u32(m, O_GET_KSIZE, 2);
	poke_str(m, O_GET_KEY, "k");
	poke_u32(m, O_GET_VSIZE, 2048);
	memset(m + O_GET_VALUE, 'v', 2047);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.set.value_len, 2047);
	ck_assert_uint_eq(strlen(req.set.value), 2047);

	poke_u32(m, O_GET_VSIZE, 2049);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, &reason), -EINVAL);
	assert_reason(reason, "value_size 2049");

	ck_assert_int_eq(kvp_msg_build_set(m, 0, "k", repeat(value, 'v', 2047), REG_SZ), 0);
	ck_assert_uint_eq(peek_u32(m, O_GET_VSIZE), 2048);
	ck_assert_int_eq(kvp_msg_build_set(m, 0, "k", repeat(value, 'v', 2048), REG_SZ),
			 -EMSGSIZE);
}
END_TEST

START_TEST(test_utf8_multibyte_ok)
{
	/* 2-, 3- and 4-byte sequences, plus the largest code point. */
	static const char key[] = "Gr\xc3\xbc\xc3\x9f" "e-\xe6\x97\xa5\xe6\x9c\xac";
	static const char value[] = "\xf0\x9f\x90\xa7 \xf4\x8f\xbf\xbf \xe2\x82\xac" "1";
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;

	m[O_OP] = KVP_OP_SET;
	poke_u32(m, O_GET_KSIZE, sizeof(key));
	poke_u32(m, O_GET_VSIZE, sizeof(value));
	poke_str(m, O_GET_KEY, key);
	poke_str(m, O_GET_VALUE, value);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_str_eq(req.set.key, key);
	ck_assert_uint_eq(req.set.key_len, sizeof(key) - 1);
	ck_assert_str_eq(req.set.value, value);
}
END_TEST

/* ---- builders ---- */

START_TEST(test_build_layout)
{
	uint8_t m[KVP_MSG_SIZE];
	struct kvp_ip_fields ip = { .addr_family = ADDR_FAMILY_IPV4, .dhcp_enabled = 1 };

	/* Stale bytes everywhere: each builder must zero-fill first. */
	memset(m, 0xa5, sizeof(m));
	ck_assert_int_eq(kvp_msg_build_set(m, KVP_POOL_GUEST, "key", "value", REG_U32), 0);
	ck_assert_uint_eq(m[O_OP], KVP_OP_SET);
	ck_assert_uint_eq(m[O_POOL], KVP_POOL_GUEST);
	ck_assert_uint_eq(m[2], 0);
	ck_assert_uint_eq(m[3], 0);
	ck_assert_uint_eq(peek_u32(m, O_GET_TYPE), REG_U32);
	ck_assert_uint_eq(peek_u32(m, O_GET_KSIZE), 4);
	ck_assert_uint_eq(peek_u32(m, O_GET_VSIZE), 6);
	ck_assert_mem_eq(m + O_GET_KEY, "key", 4);
	ck_assert_mem_eq(m + O_GET_VALUE, "value", 6);
	ck_assert(all_zero(m + O_GET_KEY + 4, 512 - 4));
	ck_assert(all_zero(m + O_GET_VALUE + 6, KVP_MSG_SIZE - O_GET_VALUE - 6));

	memset(m, 0xa5, sizeof(m));
	ck_assert_int_eq(kvp_msg_build_get(m, KVP_POOL_AUTO, "FullyQualifiedDomainName"), 0);
	ck_assert_uint_eq(m[O_OP], KVP_OP_GET);
	ck_assert_uint_eq(m[O_POOL], KVP_POOL_AUTO);
	ck_assert_uint_eq(peek_u32(m, O_GET_TYPE), 0);
	ck_assert_uint_eq(peek_u32(m, O_GET_KSIZE), 25);
	ck_assert_uint_eq(peek_u32(m, O_GET_VSIZE), 0); /* as the kernel leaves it */
	ck_assert_str_eq((const char *)m + O_GET_KEY, "FullyQualifiedDomainName");

	memset(m, 0xa5, sizeof(m));
	ck_assert_int_eq(kvp_msg_build_delete(m, KVP_POOL_EXTERNAL, "gone"), 0);
	ck_assert_uint_eq(m[O_OP], KVP_OP_DELETE);
	ck_assert_uint_eq(peek_u32(m, O_DEL_KSIZE), 5);
	ck_assert_mem_eq(m + O_DEL_KEY, "gone", 5);
	ck_assert(all_zero(m + O_DEL_KEY + 5, KVP_MSG_SIZE - O_DEL_KEY - 5));

	memset(m, 0xa5, sizeof(m));
	ck_assert_int_eq(kvp_msg_build_enumerate(m, KVP_POOL_AUTO, 9), 0);
	ck_assert_uint_eq(m[O_OP], KVP_OP_ENUMERATE);
	ck_assert_uint_eq(peek_u32(m, O_ENUM_INDEX), 9);
	ck_assert(all_zero(m + 8, KVP_MSG_SIZE - 8));

	memset(m, 0xa5, sizeof(m));
	ck_assert_int_eq(kvp_msg_build_register(m, KVP_OP_REGISTER1, NULL), 0);
	ck_assert_uint_eq(m[O_OP], KVP_OP_REGISTER1);
	ck_assert(all_zero(m + 1, KVP_MSG_SIZE - 1));
	ck_assert_int_eq(kvp_msg_build_register(m, KVP_OP_REGISTER, "3.1"), 0);
	ck_assert_uint_eq(m[O_OP], KVP_OP_REGISTER);
	ck_assert_mem_eq(m + O_VERSION, "3.1", 4);

	/* GET_IP_INFO carries only adapter_id and addr_family, like the kernel's. */
	strcpy(ip.adapter_id, "00:15:5D:AA:BB:CC");
	strcpy(ip.ip_addr, "10.0.0.1");
	strcpy(ip.dns_addr, "10.0.0.53");
	memset(m, 0xa5, sizeof(m));
	ck_assert_int_eq(kvp_msg_build_ip(m, KVP_OP_GET_IP_INFO, &ip), 0);
	ck_assert_uint_eq(m[O_OP], KVP_OP_GET_IP_INFO);
	ck_assert_uint_eq(m[O_POOL], 0);
	ck_assert_str_eq((const char *)m + O_IP_ADAPTER, "00:15:5D:AA:BB:CC");
	ck_assert_uint_eq(m[O_IP_FAMILY], ADDR_FAMILY_IPV4);
	ck_assert_uint_eq(m[O_IP_DHCP], 0);
	ck_assert(all_zero(m + O_IP_ADDR, KVP_MSG_SIZE - O_IP_ADDR));

	memset(m, 0xa5, sizeof(m));
	ck_assert_int_eq(kvp_msg_build_ip(m, KVP_OP_SET_IP_INFO, &ip), 0);
	ck_assert_uint_eq(m[O_IP_DHCP], 1);
	ck_assert_str_eq((const char *)m + O_IP_ADDR, "10.0.0.1");
	ck_assert_str_eq((const char *)m + O_IP_DNS, "10.0.0.53");
	ck_assert(all_zero(m + O_IP_SUBNET, 2048));
	ck_assert(all_zero(m + KVP_MSG_SIZE - 2, 2)); /* tail padding */
}
END_TEST

START_TEST(test_build_limits)
{
	static char s[KVP_IP_ADDR_BYTES + 1];
	static struct kvp_ip_fields ip;
	uint8_t m[KVP_MSG_SIZE];

	ck_assert_int_eq(kvp_msg_build_register(m, KVP_OP_REGISTER1, repeat(s, 'v', 511)), 0);
	ck_assert_int_eq(kvp_msg_build_register(m, KVP_OP_REGISTER1, repeat(s, 'v', 512)),
			 -EMSGSIZE);

	ck_assert_int_eq(kvp_msg_build_ip(m, KVP_OP_GET, &ip), -EINVAL);
	ck_assert_int_eq(kvp_msg_build_ip(m, KVP_OP_SET_IP_INFO, NULL), -EINVAL);
	ck_assert_int_eq(kvp_msg_build_get(m, 0, NULL), -EINVAL);

	/* Each list at its limit fits, one more byte does not. */
	memset(&ip, 0, sizeof(ip));
	repeat(ip.adapter_id, 'a', KVP_ADAPTER_ID_BYTES - 1);
	repeat(ip.ip_addr, '1', KVP_IP_ADDR_BYTES - 1);
	repeat(ip.sub_net, '2', KVP_IP_ADDR_BYTES - 1);
	repeat(ip.gate_way, '3', KVP_GATEWAY_BYTES - 1);
	repeat(ip.dns_addr, '4', KVP_IP_ADDR_BYTES - 1);
	ck_assert_int_eq(kvp_msg_build_ip(m, KVP_OP_SET_IP_INFO, &ip), 0);
	repeat(ip.gate_way, '3', KVP_GATEWAY_BYTES);
	ck_assert_int_eq(kvp_msg_build_ip(m, KVP_OP_SET_IP_INFO, &ip), -EMSGSIZE);
	/* ...but GET_IP_INFO does not carry gate_way, so it does not matter there. */
	ck_assert_int_eq(kvp_msg_build_ip(m, KVP_OP_GET_IP_INFO, &ip), 0);
	repeat(ip.adapter_id, 'a', KVP_ADAPTER_ID_BYTES);
	ck_assert_int_eq(kvp_msg_build_ip(m, KVP_OP_GET_IP_INFO, &ip), -EMSGSIZE);
}
END_TEST

/* ---- build -> decode, every op ---- */

START_TEST(test_roundtrip_requests)
{
	uint8_t m[KVP_MSG_SIZE];
	struct kvp_request req;
	struct kvp_ip_fields ip = { .addr_family = 3, .dhcp_enabled = 0 };

	ck_assert_int_eq(kvp_msg_build_register(m, KVP_OP_REGISTER1, KVP_DRIVER_VERSION), 0);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), true, &req, NULL), 0);
	ck_assert_uint_eq(req.op, KVP_OP_REGISTER1);
	ck_assert_str_eq(req.reg.version, "3.1");

	ck_assert_int_eq(kvp_msg_build_get(m, KVP_POOL_AUTO_EXTERNAL, "HostName"), 0);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.op, KVP_OP_GET);
	ck_assert_uint_eq(req.pool, KVP_POOL_AUTO_EXTERNAL);
	ck_assert_str_eq(req.get.key, "HostName");

	ck_assert_int_eq(kvp_msg_build_set(m, KVP_POOL_EXTERNAL, "k1", "", REG_SZ), 0);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.op, KVP_OP_SET);
	ck_assert_str_eq(req.set.key, "k1");
	ck_assert_str_eq(req.set.value, "");
	ck_assert_uint_eq(req.set.value_len, 0);

	ck_assert_int_eq(kvp_msg_build_delete(m, KVP_POOL_GUEST, "k1"), 0);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.op, KVP_OP_DELETE);
	ck_assert_str_eq(req.del.key, "k1");

	ck_assert_int_eq(kvp_msg_build_enumerate(m, KVP_POOL_AUTO, 3), 0);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.op, KVP_OP_ENUMERATE);
	ck_assert_uint_eq(req.enumerate.index, 3);

	strcpy(ip.adapter_id, "{6e5a0b3c-1f2d-4c5b-9a8e-7d6c5b4a3f2e}");
	strcpy(ip.ip_addr, "192.168.0.5;fe80::5");
	strcpy(ip.sub_net, "255.255.255.0;64");
	strcpy(ip.gate_way, "192.168.0.1");
	strcpy(ip.dns_addr, "1.1.1.1");
	ck_assert_int_eq(kvp_msg_build_ip(m, KVP_OP_SET_IP_INFO, &ip), 0);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.op, KVP_OP_SET_IP_INFO);
	ck_assert_mem_eq(&req.ip, &ip, sizeof(ip));

	ck_assert_int_eq(kvp_msg_build_ip(m, KVP_OP_GET_IP_INFO, &ip), 0);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, NULL), 0);
	ck_assert_uint_eq(req.op, KVP_OP_GET_IP_INFO);
	ck_assert_str_eq(req.ip.adapter_id, ip.adapter_id);
	ck_assert_uint_eq(req.ip.addr_family, 3);
	ck_assert_str_eq(req.ip.ip_addr, "");
}
END_TEST

/* ---- replies ---- */

START_TEST(test_get_reply)
{
	uint8_t m[KVP_MSG_SIZE];
	struct kvp_reply rep;

	/* A request full of junk, as if the kernel had left bytes behind. */
	memset(m, 0xee, sizeof(m));
	ck_assert_int_eq(kvp_msg_encode_get_reply(m, "OSName", "Debian GNU/Linux"), 0);
	kvp_msg_set_error(m, HV_S_OK);
	/* The driver reads a GET answer from the kvp_enum_data area (+4 bytes). */
	ck_assert_uint_eq(peek_u32(m, O_ENUM_TYPE), REG_SZ);
	ck_assert_uint_eq(peek_u32(m, O_ENUM_KSIZE), 7);
	ck_assert_uint_eq(peek_u32(m, O_ENUM_VSIZE), 17);
	ck_assert_mem_eq(m + O_ENUM_KEY, "OSName", 7);
	ck_assert_mem_eq(m + O_ENUM_VALUE, "Debian GNU/Linux", 17);
	ck_assert(all_zero(m + O_ENUM_KEY + 7, 512 - 7));
	ck_assert(all_zero(m + O_ENUM_VALUE + 17, 2048 - 17));
	/* Past the exchg area the request is left alone. */
	ck_assert_uint_eq(m[O_ENUM_VALUE + 2048], 0xee);

	ck_assert_int_eq(kvp_msg_decode_reply(m, sizeof(m), KVP_OP_GET, &rep), 0);
	ck_assert_uint_eq(rep.error, HV_S_OK);
	ck_assert_str_eq(rep.key, "OSName");
	ck_assert_str_eq(rep.value, "Debian GNU/Linux");
}
END_TEST

START_TEST(test_enumerate_reply)
{
	uint8_t m[KVP_MSG_SIZE];
	struct kvp_reply rep;

	ck_assert_int_eq(kvp_msg_build_enumerate(m, KVP_POOL_AUTO, 1), 0);
	memset(m + O_ENUM_KEY, 'j', 40);
	ck_assert_int_eq(kvp_msg_encode_enumerate_reply(m, "IntegrationServicesVersion", "3.1"), 0);
	ck_assert_uint_eq(peek_u32(m, O_ENUM_INDEX), 1); /* index untouched */
	ck_assert_uint_eq(peek_u32(m, O_ENUM_TYPE), REG_SZ);
	ck_assert_uint_eq(peek_u32(m, O_ENUM_KSIZE), 27);
	ck_assert_uint_eq(peek_u32(m, O_ENUM_VSIZE), 4);
	ck_assert_str_eq((const char *)m + O_ENUM_KEY, "IntegrationServicesVersion");
	ck_assert_str_eq((const char *)m + O_ENUM_VALUE, "3.1");
	ck_assert(all_zero(m + O_ENUM_KEY + 27, 512 - 27));

	kvp_msg_set_error(m, HV_S_OK);
	ck_assert_int_eq(kvp_msg_decode_reply(m, sizeof(m), KVP_OP_ENUMERATE, &rep), 0);
	ck_assert_uint_eq(rep.error, HV_S_OK);
	ck_assert_str_eq(rep.key, "IntegrationServicesVersion");
	ck_assert_str_eq(rep.value, "3.1");

	/* An empty value is legal in a reply (e.g. OSMinorVersion). */
	ck_assert_int_eq(kvp_msg_encode_enumerate_reply(m, "OSMinorVersion", ""), 0);
	ck_assert_uint_eq(peek_u32(m, O_ENUM_VSIZE), 1);
}
END_TEST

START_TEST(test_reply_limits)
{
	static char big[HV_KVP_EXCHANGE_MAX_VALUE_SIZE + 1];
	uint8_t m[KVP_MSG_SIZE], before[KVP_MSG_SIZE];

	memset(m, 0x5a, sizeof(m));
	memcpy(before, m, sizeof(m));
	ck_assert_int_eq(kvp_msg_encode_get_reply(m, repeat(big, 'k', 512), "v"), -ENAMETOOLONG);
	ck_assert_int_eq(kvp_msg_encode_enumerate_reply(m, "k", repeat(big, 'v', 2048)),
			 -EMSGSIZE);
	ck_assert_int_eq(kvp_msg_encode_get_reply(m, NULL, "v"), -EINVAL);
	/* A rejected reply leaves the buffer as it was. */
	ck_assert_mem_eq(m, before, sizeof(m));

	ck_assert_int_eq(kvp_msg_encode_get_reply(m, repeat(big, 'k', 511), "v"), 0);
	ck_assert_uint_eq(peek_u32(m, O_ENUM_KSIZE), 512);
	ck_assert_int_eq(kvp_msg_encode_enumerate_reply(m, "k", repeat(big, 'v', 2047)), 0);
	ck_assert_uint_eq(peek_u32(m, O_ENUM_VSIZE), 2048);
}
END_TEST

START_TEST(test_ip_reply)
{
	static struct kvp_ip_fields ip, big;
	static struct kvp_reply rep;
	uint8_t m[KVP_MSG_SIZE], before[KVP_MSG_SIZE];

	/* Start from a GET_IP_INFO request with junk where the answer goes. */
	strcpy(ip.adapter_id, "00:15:5D:01:02:03");
	ck_assert_int_eq(kvp_msg_build_ip(m, KVP_OP_GET_IP_INFO, &ip), 0);
	memset(m + O_IP_ADDR, 'j', KVP_MSG_SIZE - O_IP_ADDR);

	ip.addr_family = ADDR_FAMILY_IPV4 | ADDR_FAMILY_IPV6;
	ip.dhcp_enabled = 1;
	strcpy(ip.ip_addr, "10.1.2.3;fe80::1");
	strcpy(ip.sub_net, "255.255.0.0;/64");
	strcpy(ip.gate_way, "10.1.0.1;");
	strcpy(ip.dns_addr, "10.1.0.53;");
	ck_assert_int_eq(kvp_msg_encode_ip_reply(m, &ip), 0);
	kvp_msg_set_error(m, HV_S_OK);
	ck_assert_uint_eq(m[O_IP_FAMILY], 3);
	ck_assert_uint_eq(m[O_IP_DHCP], 1);
	ck_assert_str_eq((const char *)m + O_IP_ADDR, "10.1.2.3;fe80::1");
	ck_assert_str_eq((const char *)m + O_IP_SUBNET, "255.255.0.0;/64");
	ck_assert_str_eq((const char *)m + O_IP_GATEWAY, "10.1.0.1;");
	ck_assert_str_eq((const char *)m + O_IP_DNS, "10.1.0.53;");
	ck_assert(all_zero(m + O_IP_DNS + 11, KVP_MSG_SIZE - O_IP_DNS - 11));

	ck_assert_int_eq(kvp_msg_decode_reply(m, sizeof(m), KVP_OP_GET_IP_INFO, &rep), 0);
	ck_assert_uint_eq(rep.error, HV_S_OK);
	ck_assert_mem_eq(&rep.ip, &ip, sizeof(ip));

	/* Each field must fit with its NUL; nothing is written otherwise. */
	memcpy(before, m, sizeof(m));
	big = ip;
	repeat(big.dns_addr, '9', KVP_IP_ADDR_BYTES);
	ck_assert_int_eq(kvp_msg_encode_ip_reply(m, &big), -EMSGSIZE);
	big = ip;
	repeat(big.adapter_id, 'a', KVP_ADAPTER_ID_BYTES);
	ck_assert_int_eq(kvp_msg_encode_ip_reply(m, &big), -EMSGSIZE);
	big = ip;
	repeat(big.gate_way, 'g', KVP_GATEWAY_BYTES);
	ck_assert_int_eq(kvp_msg_encode_ip_reply(m, &big), -EMSGSIZE);
	big = ip;
	repeat(big.ip_addr, '1', KVP_IP_ADDR_BYTES);
	ck_assert_int_eq(kvp_msg_encode_ip_reply(m, &big), -EMSGSIZE);
	big = ip;
	repeat(big.sub_net, '2', KVP_IP_ADDR_BYTES);
	ck_assert_int_eq(kvp_msg_encode_ip_reply(m, &big), -EMSGSIZE);
	ck_assert_int_eq(kvp_msg_encode_ip_reply(m, NULL), -EINVAL);
	ck_assert_mem_eq(m, before, sizeof(m));
	big = ip;
	repeat(big.gate_way, 'g', KVP_GATEWAY_BYTES - 1);
	ck_assert_int_eq(kvp_msg_encode_ip_reply(m, &big), 0);
}
END_TEST

START_TEST(test_error_field)
{
	uint8_t m[KVP_MSG_SIZE];
	const uint32_t code = HV_S_CONT;

	ck_assert_int_eq(kvp_msg_build_get(m, KVP_POOL_GUEST, "k"), 0);
	kvp_msg_set_error(m, HV_S_CONT);
	/* Native endian, in bytes 0..3, replacing the header. */
	ck_assert_mem_eq(m, &code, 4);
	ck_assert_uint_eq(kvp_msg_get_error(m), HV_S_CONT);
	ck_assert_uint_eq(peek_u32(m, O_GET_KSIZE), 2); /* the body is untouched */
	kvp_msg_set_error(m, HV_E_FAIL);
	ck_assert_uint_eq(kvp_msg_get_error(m), 0x80004005);
	kvp_msg_set_error(m, HV_S_OK);
	ck_assert(all_zero(m, 4));
}
END_TEST

START_TEST(test_decode_reply_bounded)
{
	static struct kvp_reply rep;
	uint8_t m[KVP_MSG_SIZE] = { 0 };

	ck_assert_int_eq(kvp_msg_decode_reply(m, KVP_MSG_SIZE - 1, KVP_OP_GET, &rep), -EBADMSG);
	ck_assert_int_eq(kvp_msg_decode_reply(m, 0, KVP_OP_GET, &rep), -EBADMSG);

	/* A daemon that forgot every terminator: copies stop at the field end. */
	memset(m, 'A', sizeof(m));
	ck_assert_int_eq(kvp_msg_decode_reply(m, sizeof(m), KVP_OP_GET, &rep), 0);
	ck_assert_uint_eq(rep.error, 0x41414141);
	ck_assert_uint_eq(strlen(rep.key), 512);
	ck_assert_uint_eq(strlen(rep.value), 2048);
	ck_assert_int_eq(kvp_msg_decode_reply(m, sizeof(m), KVP_OP_ENUMERATE, &rep), 0);
	ck_assert_uint_eq(strlen(rep.key), 512);
	ck_assert_uint_eq(strlen(rep.value), 2048);
	ck_assert_int_eq(kvp_msg_decode_reply(m, sizeof(m), KVP_OP_GET_IP_INFO, &rep), 0);
	ck_assert_uint_eq(strlen(rep.ip.adapter_id), KVP_ADAPTER_ID_BYTES);
	ck_assert_uint_eq(strlen(rep.ip.ip_addr), KVP_IP_ADDR_BYTES);
	ck_assert_uint_eq(strlen(rep.ip.sub_net), KVP_IP_ADDR_BYTES);
	ck_assert_uint_eq(strlen(rep.ip.gate_way), KVP_GATEWAY_BYTES);
	ck_assert_uint_eq(strlen(rep.ip.dns_addr), KVP_IP_ADDR_BYTES);
	ck_assert_uint_eq(rep.ip.addr_family, 'A');

	/* Status-only replies: nothing but the error is taken. */
	ck_assert_int_eq(kvp_msg_decode_reply(m, sizeof(m), KVP_OP_SET, &rep), 0);
	ck_assert_str_eq(rep.key, "");
	ck_assert_str_eq(rep.value, "");
	ck_assert_str_eq(rep.ip.adapter_id, "");
	ck_assert_int_eq(kvp_msg_decode_reply(m, sizeof(m), KVP_OP_DELETE, &rep), 0);
	ck_assert_uint_eq(rep.error, 0x41414141);
	ck_assert_str_eq(rep.key, "");

	/* GET and ENUMERATE answers are both read where the driver reads them:
	 * a value left in the kvp_get area (as upstream's daemon leaves it) shows
	 * up to the host without its first 4 bytes. */
	ck_assert_int_eq(kvp_msg_build_get(m, 0, "x"), 0);
	ck_assert_int_eq(kvp_msg_encode_get_reply(m, "x", "get-value"), 0);
	ck_assert_int_eq(kvp_msg_decode_reply(m, sizeof(m), KVP_OP_GET, &rep), 0);
	ck_assert_str_eq(rep.value, "get-value");
	ck_assert_int_eq(kvp_msg_build_get(m, 0, "x"), 0);
	memcpy(m + O_GET_VALUE, "get-value", 10);
	ck_assert_int_eq(kvp_msg_decode_reply(m, sizeof(m), KVP_OP_GET, &rep), 0);
	ck_assert_str_eq(rep.value, "value");
}
END_TEST

START_TEST(test_unaligned)
{
	/* 8-aligned storage, then every offset from 1 to 7: none is 4-aligned. */
	static uint64_t storage[KVP_MSG_SIZE / 8 + 2];
	uint8_t *base = (uint8_t *)storage;
	struct kvp_request req;
	static struct kvp_reply rep;

	for (size_t shift = 1; shift < 8; shift++) {
		uint8_t *m = base + shift;

		memset(base, 0, sizeof(storage));
		m[O_OP] = KVP_OP_SET;
		m[O_POOL] = KVP_POOL_GUEST;
		poke_u32(m, O_GET_KSIZE, 3);
		poke_u32(m, O_GET_VSIZE, 4);
		poke_str(m, O_GET_KEY, "ab");
		poke_str(m, O_GET_VALUE, "xyz");
		ck_assert_int_eq(kvp_msg_decode(m, KVP_MSG_SIZE, false, &req, NULL), 0);
		ck_assert_str_eq(req.set.key, "ab");
		ck_assert_str_eq(req.set.value, "xyz");

		ck_assert_int_eq(kvp_msg_build_enumerate(m, KVP_POOL_AUTO, 5), 0);
		ck_assert_int_eq(kvp_msg_decode(m, KVP_MSG_SIZE, false, &req, NULL), 0);
		ck_assert_uint_eq(req.enumerate.index, 5);
		ck_assert_int_eq(kvp_msg_encode_enumerate_reply(m, "OSName", "Linux"), 0);
		kvp_msg_set_error(m, HV_S_OK);
		ck_assert_uint_eq(kvp_msg_get_error(m), HV_S_OK);
		ck_assert_int_eq(kvp_msg_decode_reply(m, KVP_MSG_SIZE, KVP_OP_ENUMERATE, &rep), 0);
		ck_assert_str_eq(rep.key, "OSName");
		ck_assert_str_eq(rep.value, "Linux");
		/* Nothing before the message was touched. */
		ck_assert(all_zero(base, shift));
	}
}
END_TEST

START_TEST(test_to_string)
{
	ck_assert_str_eq(kvp_op_to_string(KVP_OP_GET), "get");
	ck_assert_str_eq(kvp_op_to_string(KVP_OP_SET), "set");
	ck_assert_str_eq(kvp_op_to_string(KVP_OP_DELETE), "delete");
	ck_assert_str_eq(kvp_op_to_string(KVP_OP_ENUMERATE), "enumerate");
	ck_assert_str_eq(kvp_op_to_string(KVP_OP_GET_IP_INFO), "get_ip_info");
	ck_assert_str_eq(kvp_op_to_string(KVP_OP_SET_IP_INFO), "set_ip_info");
	ck_assert_str_eq(kvp_op_to_string(KVP_OP_REGISTER1), "register1");
	ck_assert_str_eq(kvp_op_to_string(6), "op6");
	ck_assert_str_eq(kvp_op_to_string(255), "op255");

	ck_assert_str_eq(kvp_pool_to_string(KVP_POOL_EXTERNAL), "external");
	ck_assert_str_eq(kvp_pool_to_string(KVP_POOL_GUEST), "guest");
	ck_assert_str_eq(kvp_pool_to_string(KVP_POOL_AUTO), "auto");
	ck_assert_str_eq(kvp_pool_to_string(KVP_POOL_AUTO_EXTERNAL), "auto_external");
	ck_assert_str_eq(kvp_pool_to_string(KVP_POOL_AUTO_INTERNAL), "auto_internal");
	ck_assert_str_eq(kvp_pool_to_string(5), "pool5");
	/* Separate buffers: both unknown names can sit in one log line. */
	ck_assert_str_ne(kvp_op_to_string(77), kvp_pool_to_string(77));
}
END_TEST

START_TEST(test_reason_lifecycle)
{
	uint8_t m[KVP_MSG_SIZE] = { 0 };
	struct kvp_request req;
	const char *reason = NULL;

	m[O_OP] = 42;
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, &reason), -EOPNOTSUPP);
	ck_assert_str_eq(reason, "operation 42 unknown");
	/* Success after a failure reports no reason, not the stale one. */
	ck_assert_int_eq(kvp_msg_build_enumerate(m, 0, 0), 0);
	ck_assert_int_eq(kvp_msg_decode(m, sizeof(m), false, &req, &reason), 0);
	ck_assert_ptr_null(reason);
}
END_TEST

Suite *kvp_msg_suite(void)
{
	Suite *s = suite_create("kvp_msg");
	TCase *tc;

	tc = tcase_create("decode");
	tcase_add_test(tc, test_decode_length);
	tcase_add_test(tc, test_decode_get_by_hand);
	tcase_add_test(tc, test_decode_set_by_hand);
	tcase_add_test(tc, test_decode_set_empty_value);
	tcase_add_test(tc, test_decode_value_type_informational);
	tcase_add_test(tc, test_decode_delete_by_hand);
	tcase_add_test(tc, test_decode_enumerate_by_hand);
	tcase_add_test(tc, test_decode_set_ip_by_hand);
	tcase_add_test(tc, test_decode_get_ip_by_hand);
	tcase_add_test(tc, test_decode_register);
	tcase_add_test(tc, test_key_boundaries);
	tcase_add_test(tc, test_value_boundaries);
	tcase_add_test(tc, test_utf8_multibyte_ok);
	tcase_add_test(tc, test_unaligned);
	tcase_add_test(tc, test_reason_lifecycle);
	suite_add_tcase(s, tc);

	tc = tcase_create("reject");
	tcase_add_loop_test(tc, test_reject, 0, (int)ARRAY_SIZE(rejects));
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, test_build_layout);
	tcase_add_test(tc, test_build_limits);
	tcase_add_test(tc, test_roundtrip_requests);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_test(tc, test_get_reply);
	tcase_add_test(tc, test_enumerate_reply);
	tcase_add_test(tc, test_reply_limits);
	tcase_add_test(tc, test_ip_reply);
	tcase_add_test(tc, test_error_field);
	tcase_add_test(tc, test_decode_reply_bounded);
	tcase_add_test(tc, test_to_string);
	suite_add_tcase(s, tc);

	return s;
}

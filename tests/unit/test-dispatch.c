/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-dispatch.c - whole requests in, replies out; malformed input changes nothing. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

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

/* ---- a hostile host: its bytes never make a line of their own ------------ */

/* The line sinks' last defence: whatever a caller formats is one line. */
START_TEST(test_log_one_line)
{
	char buf[ESCAPED_SIZE(64)];

	log_one_line(buf, sizeof(buf), "a\nMAINPID=4242\nX=");
	ck_assert_str_eq(buf, "a\\nMAINPID=4242\\nX=");
	log_one_line(buf, sizeof(buf), "\x1b[2J\r\x7f\xc2\x9b\xff");
	ck_assert_str_eq(buf, "\\x1b[2J\\r\\x7f\\xc2\\x9b\\xff");
	/* text of ours that quotes an escaped host string: not escaped twice */
	log_one_line(buf, sizeof(buf), "id 'x\\nY' \\ end\\");
	ck_assert_str_eq(buf, "id 'x\\nY' \\ end\\");
	log_one_line(buf, sizeof(buf), "caf\xc3\xa9");
	ck_assert_str_eq(buf, "caf\xc3\xa9");
	/* cut short, never inside an escape */
	log_one_line(buf, 4, "a\nb");
	ck_assert_str_eq(buf, "a\\n");
	log_one_line(buf, 3, "a\nb");
	ck_assert_str_eq(buf, "a");
	log_one_line(buf, 2, "\\\\");
	ck_assert_str_eq(buf, "\\");
	log_one_line(buf, 1, "abc");
	ck_assert_str_eq(buf, "");
}
END_TEST

/* Runs fn with stderr going to a file; returns what it wrote (malloc'ed). */
static char *capture_stderr(void (*fn)(void))
{
	char path[128], *text = NULL;
	size_t len;
	int fd, saved;

	snprintf(path, sizeof(path), "%s/stderr", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	close(fd);
	fn();
	fflush(stderr);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	ck_assert_int_eq(read_file_bounded(path, 0, 1 << 20, &text, &len), 0);
	return text;
}

/* Every line is the logger's own: "hvkvpd: ...", no raw control byte. */
static void assert_own_lines(const char *text)
{
	const char *p = text;

	ck_assert_msg(*text, "nothing was logged");
	while (*p) {
		const char *eol = strchr(p, '\n');

		ck_assert_msg(eol, "a line without its newline: %s", p);
		ck_assert_msg(strncmp(p, "hvkvpd: ", 8) == 0, "a line not ours: %.*s",
			      (int)(eol - p), p);
		for (const char *c = p; c < eol; c++)
			ck_assert_msg((unsigned char)*c >= 0x20 && *c != 0x7f,
				      "control byte 0x%02x in: %.*s", (unsigned char)*c, (int)(eol - p), p);
		p = eol + 1;
	}
}

static void log_forged(void)
{
	log_info("unescaped by mistake: %s", "x\nMAINPID=4242\nX=\x1b[2J");
	log_warning_errno(-EINVAL, "with an error: %s", "a\rb");
}

START_TEST(test_log_is_one_line)
{
	_cleanup_free_ char *text = NULL;

	log_setup("hvkvpd", LOG_TARGET_STDERR);
	log_set_max_level(LOG_DEBUG);
	text = capture_stderr(log_forged);
	assert_own_lines(text);
	ck_assert_ptr_nonnull(strstr(text, "x\\nMAINPID=4242\\nX=\\x1b[2J"));
	ck_assert_ptr_nonnull(strstr(text, "a\\rb: Invalid argument"));
}
END_TEST

/* Pool keys and adapter ids, as the host sends them. */
static const char *const hostile_keys[] = {
	"x\nMAINPID=4242\nX=",
	"\x1b[31mred\x1b[0m",
	"cr\rhidden",
	"del\x7f",
	"csi\xc2\x9b" "2J",
	"back\\slash",
};

static void dispatch_hostile(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(hostile_keys); i++) {
		const char *k = hostile_keys[i];
		uint8_t msg[KVP_MSG_SIZE];
		struct kvp_reply r;
		struct kvp_ip_fields ip = { .addr_family = ADDR_FAMILY_IPV4 };

		ck_assert_uint_eq(do_set(KVP_POOL_EXTERNAL, k, k), HV_S_OK);
		ck_assert_uint_eq(do_get(KVP_POOL_EXTERNAL, k, &r), HV_S_OK);
		ck_assert_str_eq(r.value, k); /* the pool keeps the host's bytes */
		ck_assert_uint_eq(do_enum(KVP_POOL_EXTERNAL, 0, &r), HV_S_OK);
		ck_assert_int_eq(kvp_msg_build_delete(msg, KVP_POOL_EXTERNAL, k), 0);
		ck_assert_uint_eq(roundtrip(msg, KVP_OP_DELETE, &r), HV_S_OK);
		ck_assert_uint_eq(do_get(KVP_POOL_EXTERNAL, k, &r), HV_S_CONT);
		strscpy(ip.adapter_id, sizeof(ip.adapter_id), k);
		ck_assert_int_eq(kvp_msg_build_ip(msg, KVP_OP_SET_IP_INFO, &ip), 0);
		ck_assert_uint_eq(roundtrip(msg, KVP_OP_SET_IP_INFO, &r), HV_ERROR_NOT_SUPPORTED);
	}
}

START_TEST(test_hostile_keys_logged_escaped)
{
	_cleanup_free_ char *text = NULL;

	log_setup("hvkvpd", LOG_TARGET_STDERR);
	log_set_max_level(LOG_DEBUG);
	text = capture_stderr(dispatch_hostile);
	assert_own_lines(text);
	ck_assert_ptr_nonnull(strstr(text, "key 'x\\nMAINPID=4242\\nX='"));
	ck_assert_ptr_nonnull(strstr(text, "adapter 'x\\nMAINPID=4242\\nX='"));
	ck_assert_ptr_nonnull(strstr(text, "key '\\x1b[31mred\\x1b[0m'"));
	ck_assert_ptr_nonnull(strstr(text, "key 'csi\\xc2\\x9b2J'"));
	/* a host backslash is doubled, so "\\n" in the log is never a newline */
	ck_assert_ptr_nonnull(strstr(text, "key 'back\\\\slash'"));
}
END_TEST

/* STATUS= is one line: a NOTIFY_SOCKET of our own receives the datagram. */
START_TEST(test_notify_status_one_line)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[1024];
	ssize_t n;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", sa.sun_path, 1), 0);

	notify_status("rejected %s", "x\nMAINPID=4242\nX=\x1b[2J");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "STATUS=rejected x\\nMAINPID=4242\\nX=\\x1b[2J");

	notify_status_errno(-EACCES, "%s", "a\nERRNO=1");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "STATUS=a\\nERRNO=1\nERRNO=13");

	unsetenv("NOTIFY_SOCKET");
	close(fd);
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
	tcase_add_test(tc, test_log_one_line);
	tcase_add_test(tc, test_log_is_one_line);
	tcase_add_test(tc, test_hostile_keys_logged_escaped);
	tcase_add_test(tc, test_notify_status_one_line);
	suite_add_tcase(s, tc);
	return s;
}

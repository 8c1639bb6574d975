/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-conf.c - /etc/hvkvpd.conf: values, defaults, and the exact "file:line: why" of each error. */
#include <fcntl.h>
#include <stdio.h>
#include <syslog.h>

#include "conf.h"
#include "suites.h"
#include "test-util.h"
#include "util.h"

static char tmpdir[256];

static void setup(void)
{
	test_tmpdir(tmpdir, sizeof(tmpdir), "conf");
}

static void teardown(void)
{
	test_rm_tree(tmpdir);
}

START_TEST(test_defaults)
{
	struct conf c;

	conf_defaults(&c);
	ck_assert_str_eq(c.backend, "auto");
	ck_assert_uint_eq(c.budget_usec, 20 * 1000 * 1000ULL);
	ck_assert_str_eq(c.device, "/dev/vmbus/hv_kvp");
	ck_assert_str_eq(c.pool_dir, "/var/lib/hyperv");
	ck_assert_str_eq(c.state_dir, "/var/lib/hvkvpd");
	ck_assert_int_eq(c.log_level, LOG_INFO);
}
END_TEST

START_TEST(test_every_key)
{
	static const char text[] = "# hvkvpd.conf\r\n"
				   "; windows line ends, blanks and comments\r\n"
				   "\r\n"
				   "  [hvkvpd]  \r\n"
				   "Backend = netlink\r\n"
				   "ReplyBudgetSec=25\r\n"
				   "\tDevice=/run/kvp dev\r\n"
				   "PoolDirectory =/srv/pools\n"
				   "StateDirectory= /srv/state\n"
				   "LogLevel=debug";
	struct conf c;
	char err[256];

	conf_defaults(&c);
	ck_assert_int_eq(conf_parse(&c, text, "t.conf", err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(c.backend, "netlink");
	ck_assert_uint_eq(c.budget_usec, 25 * 1000 * 1000ULL);
	ck_assert_str_eq(c.device, "/run/kvp dev");
	ck_assert_str_eq(c.pool_dir, "/srv/pools");
	ck_assert_str_eq(c.state_dir, "/srv/state");
	ck_assert_int_eq(c.log_level, LOG_DEBUG);
}
END_TEST

START_TEST(test_on_top_of_what_is_there)
{
	struct conf c;
	char err[256];

	conf_defaults(&c);
	ck_assert_int_eq(conf_parse(&c, "LogLevel=error\n", "a", err, sizeof(err)), 0);
	ck_assert_int_eq(conf_parse(&c, "", "b", err, sizeof(err)), 0);
	ck_assert_int_eq(c.log_level, LOG_ERR);
	ck_assert_str_eq(c.backend, "auto");
}
END_TEST

START_TEST(test_errors)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "Foo=1\n", "t.conf:1: unknown key 'Foo'" },
		{ "\n\nbackend=netlink\n", "t.conf:3: unknown key 'backend'" },
		{ "Backend=netlnk\n", "t.conf:1: Backend: 'netlnk' is not auto, networkmanager, networkd, ifupdown or netlink" },
		{ "ReplyBudgetSec=0\n", "t.conf:1: ReplyBudgetSec: '0' is not a number of seconds in 1..25 (the driver gives up after 30)" },
		{ "ReplyBudgetSec=26\n", "t.conf:1: ReplyBudgetSec: '26' is not a number of seconds in 1..25 (the driver gives up after 30)" },
		{ "ReplyBudgetSec=5s\n", "t.conf:1: ReplyBudgetSec: '5s' is not a number of seconds in 1..25 (the driver gives up after 30)" },
		{ "Device=dev/hv_kvp\n", "t.conf:1: Device: 'dev/hv_kvp' is not an absolute path" },
		{ "PoolDirectory=\n", "t.conf:1: PoolDirectory: '' is not an absolute path" },
		{ "StateDirectory=state\n", "t.conf:1: StateDirectory: 'state' is not an absolute path" },
		{ "LogLevel=verbose\n", "t.conf:1: LogLevel: 'verbose' is not error, warning, notice, info or debug" },
		{ "just words\n", "t.conf:1: 'just words' is not Key=Value" },
		{ "[main]\n", "t.conf:1: unknown section '[main]' (only [hvkvpd] is known)" },
		{ " [hvkvpd\n", "t.conf:1: unknown section '[hvkvpd' (only [hvkvpd] is known)" },
		{ "[ hvkvpd ]\n", "t.conf:1: unknown section '[ hvkvpd ]' (only [hvkvpd] is known)" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conf c;
		char err[512];

		conf_defaults(&c);
		ck_assert_int_eq(conf_parse(&c, cases[i].text, "t.conf", err, sizeof(err)), -EINVAL);
		ck_assert_str_eq(err, cases[i].err);
	}
}
END_TEST

START_TEST(test_long_lines)
{
	_cleanup_free_ char *text = malloc(8192 + 16);
	struct conf c;
	char err[256];

	/* 8191 bytes is the longest line, comments included */
	text[0] = '#';
	memset(text + 1, 'x', 8190);
	strscpy(text + 8191, 16, "\nLogLevel=debug");
	conf_defaults(&c);
	ck_assert_int_eq(conf_parse(&c, text, "t.conf", err, sizeof(err)), 0);
	ck_assert_int_eq(c.log_level, LOG_DEBUG);

	text[0] = 'L';
	memset(text + 1, 'x', 8191);
	strscpy(text + 8192, 16, "\n");
	ck_assert_int_eq(conf_parse(&c, text, "t.conf", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t.conf:1: line too long");

	/* a path that does not fit is refused, not cut */
	strscpy(text, 8192, "Device=/");
	memset(text + 8, 'd', 4096);
	text[8 + 4096] = '\0';
	ck_assert_int_eq(conf_parse(&c, text, "t.conf", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t.conf:1: Device: the path is too long");
}
END_TEST

START_TEST(test_error_buffer_small)
{
	struct conf c;
	char err[8];

	conf_defaults(&c);
	ck_assert_int_eq(conf_parse(&c, "Foo=1", "a-long-origin.conf", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "a-long-");
	ck_assert_int_eq(conf_parse(&c, "Foo=1", "x", NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_value_checks)
{
	uint64_t usec = 7;
	int level = -1;

	ck_assert_int_eq(conf_parse_budget("1", &usec), 0);
	ck_assert_uint_eq(usec, 1000 * 1000ULL);
	ck_assert_int_eq(conf_parse_budget("", &usec), -EINVAL);
	ck_assert_int_eq(conf_parse_budget("-1", &usec), -EINVAL);
	ck_assert_uint_eq(usec, 1000 * 1000ULL);
	ck_assert_int_eq(conf_parse_log_level("warning", &level), 0);
	ck_assert_int_eq(level, LOG_WARNING);
	ck_assert_int_eq(conf_parse_log_level("Warning", &level), -EINVAL);
}
END_TEST

static void write_file(const char *name, const char *text, size_t len, char *path, size_t size)
{
	int fd;

	snprintf(path, size, "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(loop_write(fd, text, len), 0);
	close(fd);
}

START_TEST(test_load)
{
	_cleanup_free_ char *big = malloc(65536);
	char path[512], err[1024], want[1024];
	struct conf c;

	conf_defaults(&c);
	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	ck_assert_int_eq(conf_load(&c, path, false, err, sizeof(err)), 0);
	ck_assert_int_eq(conf_load(&c, path, true, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	ck_assert_str_eq(err, want);

	write_file("ok.conf", "LogLevel=notice\n", 16, path, sizeof(path));
	ck_assert_int_eq(conf_load(&c, path, true, err, sizeof(err)), 0);
	ck_assert_int_eq(c.log_level, LOG_NOTICE);

	write_file("bad.conf", "\nLogLevel=x\n", 12, path, sizeof(path));
	ck_assert_int_eq(conf_load(&c, path, false, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: LogLevel: 'x' is not error, warning, notice, info or debug",
		 path);
	ck_assert_str_eq(err, want);

	write_file("nul.conf", "LogLevel=info\0\n", 15, path, sizeof(path));
	ck_assert_int_eq(conf_load(&c, path, false, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: contains a NUL byte", path);
	ck_assert_str_eq(err, want);

	/* 65535 bytes are read, one more is refused */
	memset(big, '#', 65536);
	big[65534] = '\n';
	for (size_t i = 8000; i < 65534; i += 8000)
		big[i] = '\n';
	write_file("max.conf", big, 65535, path, sizeof(path));
	ck_assert_int_eq(conf_load(&c, path, false, err, sizeof(err)), 0);
	write_file("big.conf", big, 65536, path, sizeof(path));
	ck_assert_int_eq(conf_load(&c, path, false, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 65535 bytes", path);
	ck_assert_str_eq(err, want);
}
END_TEST

Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_on_top_of_what_is_there);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_error_buffer_small);
	tcase_add_test(tc, test_value_checks);
	tcase_add_test(tc, test_load);
	suite_add_tcase(s, tc);
	return s;
}

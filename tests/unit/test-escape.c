/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-escape.c - host bytes made safe for logs, STATUS= and terminals. */
#include <errno.h>
#include <string.h>

#include "suites.h"
#include "util.h"

static const char *esc(const char *s, size_t len)
{
	static char buf[ESCAPED_SIZE(64)];

	ck_assert_int_eq(escape_bytes(buf, sizeof(buf), s, len), 0);
	return buf;
}

START_TEST(test_plain_text_unchanged)
{
	ck_assert_str_eq(esc("eth0 {4e0c1a2b-0000}", 20), "eth0 {4e0c1a2b-0000}");
	/* valid UTF-8 passes as is */
	ck_assert_str_eq(esc("caf\xc3\xa9 \xe2\x82\xac", 9), "caf\xc3\xa9 \xe2\x82\xac");
}
END_TEST

START_TEST(test_controls_escaped)
{
	ck_assert_str_eq(esc("x\nMAINPID=4242\nX=", 17), "x\\nMAINPID=4242\\nX=");
	ck_assert_str_eq(esc("a\rb\tc", 5), "a\\rb\\tc");
	ck_assert_str_eq(esc("\x1b[2J", 4), "\\x1b[2J");
	ck_assert_str_eq(esc("\x7f\x01", 2), "\\x7f\\x01");
	ck_assert_str_eq(esc("a\0b", 3), "a\\x00b");
	/* the backslash itself, so that the escapes read back unambiguously */
	ck_assert_str_eq(esc("a\\nb", 4), "a\\\\nb");
}
END_TEST

START_TEST(test_bad_utf8_and_c1_escaped)
{
	/* a lone continuation byte, a truncated sequence, an overlong NUL */
	ck_assert_str_eq(esc("\x80", 1), "\\x80");
	ck_assert_str_eq(esc("\xe2\x82", 2), "\\xe2\\x82");
	ck_assert_str_eq(esc("\xc0\x80", 2), "\\xc0\\x80");
	/* U+009B (CSI as a C1 control) in UTF-8 is C2 9B */
	ck_assert_str_eq(esc("\xc2\x9b" "31m", 5), "\\xc2\\x9b31m");
	/* U+00A0 is printable */
	ck_assert_str_eq(esc("\xc2\xa0", 2), "\xc2\xa0");
}
END_TEST

START_TEST(test_truncation)
{
	char buf[6]; /* "(null)" does not fit either: cut to "(null" */

	/* "ab\n" needs 5 bytes: "ab\\n" + NUL; one more byte does not fit */
	ck_assert_int_eq(escape_bytes(buf, sizeof(buf), "ab\ncd", 5), -ENOBUFS);
	ck_assert_str_eq(buf, "ab\\nc");
	/* never half an escape */
	ck_assert_int_eq(escape_bytes(buf, 4, "a\n", 2), 0);
	ck_assert_str_eq(buf, "a\\n");
	ck_assert_int_eq(escape_bytes(buf, 3, "a\n", 2), -ENOBUFS);
	ck_assert_str_eq(buf, "a");
	/* never half a UTF-8 character */
	ck_assert_int_eq(escape_bytes(buf, 3, "a\xc3\xa9", 3), -ENOBUFS);
	ck_assert_str_eq(buf, "a");
	ck_assert_str_eq(escape_str(buf, sizeof(buf), NULL), "(null");
}
END_TEST

START_TEST(test_every_byte_is_safe)
{
	char src[256], out[ESCAPED_SIZE(256)];

	for (int i = 0; i < 256; i++)
		src[i] = (char)i;
	ck_assert_int_eq(escape_bytes(out, sizeof(out), src, sizeof(src)), 0);
	for (const unsigned char *p = (const unsigned char *)out; *p; p++)
		ck_assert_msg(*p >= 0x20 && *p != 0x7f, "control byte 0x%02x in the output", *p);
	ck_assert(strchr(out, '\n') == NULL);
}
END_TEST

Suite *escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_plain_text_unchanged);
	tcase_add_test(tc, test_controls_escaped);
	tcase_add_test(tc, test_bad_utf8_and_c1_escaped);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_every_byte_is_safe);
	suite_add_tcase(s, tc);
	return s;
}

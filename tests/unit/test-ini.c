/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-ini.c - the INI line tokenizer shared by hvkvpd.conf and the settings files. */
#include "ini.h"
#include "suites.h"
#include "util.h"

START_TEST(test_kinds_and_numbers)
{
	char text[] = "# comment\n"
		      "; comment too\n"
		      "\n"
		      "  [Section One]  \r\n"
		      "\tKey  =  a value = with equals \t\r\n"
		      "[broken\n"
		      "no equals here\n"
		      "Empty=\n"
		      "=novalue\n"
		      "last=line";
	struct ini_line l;
	struct ini t;

	ini_init(&t, text, 0);
	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_SECTION);
	ck_assert_uint_eq(l.number, 4);
	ck_assert_uint_eq(l.length, strlen("  [Section One]  \r"));
	ck_assert_str_eq(l.section, "Section One");

	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_ASSIGNMENT);
	ck_assert_uint_eq(l.number, 5);
	ck_assert_str_eq(l.key, "Key");
	ck_assert_str_eq(l.value, "a value = with equals");

	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_BAD_SECTION);
	ck_assert_str_eq(l.text, "[broken");

	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_NOT_ASSIGNMENT);
	ck_assert_str_eq(l.text, "no equals here");

	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_ASSIGNMENT);
	ck_assert_str_eq(l.key, "Empty");
	ck_assert_str_eq(l.value, "");

	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_ASSIGNMENT);
	ck_assert_str_eq(l.key, "");
	ck_assert_str_eq(l.value, "novalue");

	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_uint_eq(l.number, 10);
	ck_assert_str_eq(l.key, "last");
	ck_assert_str_eq(l.value, "line");

	ck_assert_int_eq(ini_next(&t, &l), 0);
	ck_assert_int_eq(ini_next(&t, &l), 0);
}
END_TEST

START_TEST(test_sections)
{
	char text[] = "[]\n[\n[a]b\n[ spaced ]\n";
	struct ini_line l;
	struct ini t;

	ini_init(&t, text, 0);
	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_SECTION);
	ck_assert_str_eq(l.section, "");
	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_BAD_SECTION);
	ck_assert_str_eq(l.text, "[");
	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_BAD_SECTION);
	ck_assert_str_eq(l.text, "[a]b");
	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_SECTION);
	ck_assert_str_eq(l.section, " spaced ");
	ck_assert_int_eq(ini_next(&t, &l), 0);
}
END_TEST

START_TEST(test_blank_only_and_empty)
{
	char empty[] = "", blanks[] = " \t\r\n\n\r\n   ";
	struct ini_line l;
	struct ini t;

	ini_init(&t, empty, 0);
	ck_assert_int_eq(ini_next(&t, &l), 0);
	ini_init(&t, blanks, 0);
	ck_assert_int_eq(ini_next(&t, &l), 0);
}
END_TEST

START_TEST(test_max_length)
{
	char text[64];
	struct ini_line l;
	struct ini t;

	/* the limit applies to comments too, and to the raw line */
	strscpy(text, sizeof(text), "#123456789\nK=12345\n  K=1234\nK=123\n");
	ini_init(&t, text, 7);
	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_TOO_LONG);
	ck_assert_uint_eq(l.number, 1);
	ck_assert_uint_eq(l.length, 10);
	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_ASSIGNMENT);
	ck_assert_str_eq(l.value, "12345");
	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_TOO_LONG);
	ck_assert_uint_eq(l.number, 3);
	ck_assert_int_eq(ini_next(&t, &l), 1);
	ck_assert_int_eq(l.kind, INI_ASSIGNMENT);
	ck_assert_int_eq(ini_next(&t, &l), 0);
}
END_TEST

Suite *ini_suite(void)
{
	Suite *s = suite_create("ini");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_kinds_and_numbers);
	tcase_add_test(tc, test_sections);
	tcase_add_test(tc, test_blank_only_and_empty);
	tcase_add_test(tc, test_max_length);
	suite_add_tcase(s, tc);
	return s;
}

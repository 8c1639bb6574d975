/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-osinfo.c - auto pool keys, order and formats (upstream compatible). */
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "osinfo.h"
#include "suites.h"
#include "util.h"

static char root[64];

static void write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/etc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s%s", root, rel);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	strcpy(root, "/tmp/hvkvp-osinfo-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_key_order)
{
	static const char *const expected[] = {
		"FullyQualifiedDomainName", "IntegrationServicesVersion", "NetworkAddressIPv4",
		"NetworkAddressIPv6", "OSBuildNumber", "OSName", "OSMajorVersion",
		"OSMinorVersion", "OSVersion", "ProcessorArchitecture",
	};
	struct osinfo o;
	char key[512], value[2048];

	osinfo_init(&o, root);
	for (uint32_t i = 0; i < ARRAY_SIZE(expected); i++) {
		ck_assert_int_eq(osinfo_enumerate(&o, i, key, sizeof(key), value, sizeof(value)), 0);
		ck_assert_str_eq(key, expected[i]);
		ck_assert_str_eq(osinfo_key_name(i), expected[i]);
	}
	ck_assert_int_eq(osinfo_enumerate(&o, 10, key, sizeof(key), value, sizeof(value)), -ENOENT);
	ck_assert_int_eq(osinfo_enumerate(&o, UINT32_MAX, key, sizeof(key), value, sizeof(value)),
			 -ENOENT);
	ck_assert_ptr_null(osinfo_key_name(10));
}
END_TEST

START_TEST(test_os_release)
{
	struct osinfo o;
	char key[512], value[2048];

	write_file("/etc/os-release", "# comment\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
				      "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n");
	osinfo_init(&o, root);
	osinfo_enumerate(&o, 5, key, sizeof(key), value, sizeof(value));
	ck_assert_str_eq(value, "Debian GNU/Linux");
	osinfo_enumerate(&o, 6, key, sizeof(key), value, sizeof(value));
	ck_assert_str_eq(value, "12");
	osinfo_enumerate(&o, 7, key, sizeof(key), value, sizeof(value));
	ck_assert_str_eq(value, "");
}
END_TEST

START_TEST(test_os_release_quoting)
{
	struct osinfo o;

	memset(&o, 0, sizeof(o));
	osinfo_parse_os_release(&o, "NAME='Single Quoted'\nVERSION_ID=9.3\n");
	ck_assert_str_eq(o.os_name, "Single Quoted");
	ck_assert_str_eq(o.os_major, "9.3");
	osinfo_parse_os_release(&o, "NAME=\"Esc \\\"aped\\\" \\\\ name\"");
	ck_assert_str_eq(o.os_name, "Esc \"aped\" \\ name");
	/* no '=' and comments are skipped, unknown keys ignored */
	osinfo_parse_os_release(&o, "garbage line\n#NAME=no\nFOO=bar");
	ck_assert_str_eq(o.os_name, "Esc \"aped\" \\ name");
}
END_TEST

START_TEST(test_legacy_release)
{
	struct osinfo o;

	write_file("/etc/redhat-release", "Red Hat Enterprise Linux Server\n7\n9\n");
	osinfo_init(&o, root);
	ck_assert_str_eq(o.os_name, "Red Hat Enterprise Linux Server");
	ck_assert_str_eq(o.os_major, "7");
	ck_assert_str_eq(o.os_minor, "9");
}
END_TEST

START_TEST(test_no_release_defaults)
{
	struct osinfo o;
	struct utsname u;
	char expect[128], *dash;

	ck_assert_int_eq(uname(&u), 0);
	osinfo_init(&o, root);
	ck_assert_str_eq(o.os_name, u.sysname);
	ck_assert_str_eq(o.os_build, u.release);
	ck_assert_str_eq(o.arch, u.machine);
	ck_assert_str_eq(o.ic_version, "Unknown version");
	strscpy(expect, sizeof(expect), u.release);
	dash = strchr(expect, '-');
	if (dash)
		*dash = '\0';
	ck_assert_str_eq(o.os_version, expect);
	ck_assert_ptr_null(strchr(o.os_version, '-'));
}
END_TEST

START_TEST(test_setters)
{
	struct osinfo o;
	char key[512], value[2048];

	osinfo_init(&o, root);
	osinfo_set_ic_version(&o, "3.1");
	osinfo_set_fqdn(&o, "vm1.example.com");
	osinfo_set_fqdn(&o, ""); /* an empty answer keeps the previous name */
	osinfo_enumerate(&o, 0, key, sizeof(key), value, sizeof(value));
	ck_assert_str_eq(value, "vm1.example.com");
	osinfo_enumerate(&o, 1, key, sizeof(key), value, sizeof(value));
	ck_assert_str_eq(value, "3.1");
}
END_TEST

static void check_address_list(int family, const char *list)
{
	char copy[2048], *save = NULL, *tok;
	unsigned char bin[16];

	strscpy(copy, sizeof(copy), list);
	for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		ck_assert_int_eq(inet_pton(family, tok, bin), 1);
		ck_assert_str_ne(tok, "127.0.0.1");
		ck_assert_str_ne(tok, "::1");
	}
	ck_assert(list[0] != ';');
	ck_assert(strlen(list) == 0 || list[strlen(list) - 1] != ';');
}

START_TEST(test_addresses)
{
	char buf[2048], tiny[8];

	ck_assert_int_eq(osinfo_addresses(AF_INET, buf, sizeof(buf)), 0);
	check_address_list(AF_INET, buf);
	ck_assert_int_eq(osinfo_addresses(AF_INET6, buf, sizeof(buf)), 0);
	check_address_list(AF_INET6, buf);
	/* a list that does not fit ends early but stays well-formed */
	osinfo_addresses(AF_INET6, tiny, sizeof(tiny));
	check_address_list(AF_INET6, tiny);
}
END_TEST

Suite *osinfo_suite(void)
{
	Suite *s = suite_create("osinfo");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_key_order);
	tcase_add_test(tc, test_os_release);
	tcase_add_test(tc, test_os_release_quoting);
	tcase_add_test(tc, test_legacy_release);
	tcase_add_test(tc, test_no_release_defaults);
	tcase_add_test(tc, test_setters);
	tcase_add_test(tc, test_addresses);
	suite_add_tcase(s, tc);
	return s;
}

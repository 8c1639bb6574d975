/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-settings-file.c - hvkvpctl's settings files: fields per section, and each error's "file:line: why". */
#include <stdio.h>

#include "settings-file.h"
#include "suites.h"
#include "util.h"

static struct settings_file *sf;

static void setup(void)
{
	sf = settings_file_new();
	ck_assert_ptr_nonnull(sf);
}

static void teardown(void)
{
	sf = settings_file_free(sf);
}

START_TEST(test_two_adapters)
{
	static const char text[] = "# failover settings\r\n"
				   "[00:15:5d:00:00:c1]\r\n"
				   "IPAddresses = 198.51.100.7;2001:db8:7::7\r\n"
				   "Subnets=255.255.255.0;64\r\n"
				   "DefaultGateways=198.51.100.1;198.51.100.2\r\n"
				   "DNSServers=198.51.100.53\r\n"
				   "ProtocolIFType=4098\r\n"
				   "\r\n"
				   "[ eth1 ]\n"
				   "DHCPEnabled=True\n"
				   "ProtocolIFType=4096\n";
	const struct settings_section *s;

	ck_assert_int_eq(settings_file_parse(sf, text, "s.ini"), 0);
	ck_assert_uint_eq(sf->n, 2);
	s = &sf->sections[0];
	ck_assert_uint_eq(s->line, 2);
	ck_assert_str_eq(s->adapter, "00:15:5d:00:00:c1");
	ck_assert_str_eq(s->fields.adapter_id, "");
	ck_assert_str_eq(s->fields.ip_addr, "198.51.100.7;2001:db8:7::7");
	ck_assert_str_eq(s->fields.sub_net, "255.255.255.0;64");
	ck_assert_str_eq(s->fields.gate_way, "198.51.100.1;198.51.100.2");
	ck_assert_str_eq(s->fields.dns_addr, "198.51.100.53");
	ck_assert_uint_eq(s->fields.addr_family, ADDR_FAMILY_IPV4 | ADDR_FAMILY_IPV6);
	ck_assert_uint_eq(s->fields.dhcp_enabled, 0);
	s = &sf->sections[1];
	ck_assert_uint_eq(s->line, 9);
	ck_assert_str_eq(s->adapter, " eth1 ");
	ck_assert_uint_eq(s->fields.dhcp_enabled, 1);
	ck_assert_uint_eq(s->fields.addr_family, ADDR_FAMILY_IPV4);
	ck_assert_str_eq(s->fields.ip_addr, "");
}
END_TEST

START_TEST(test_values)
{
	static const struct {
		const char *line;
		uint8_t dhcp, family;
	} cases[] = {
		{ "DHCPEnabled=true", 1, 0 },	 { "DHCPEnabled=1", 1, 0 },
		{ "DHCPEnabled=false", 0, 0 },	 { "DHCPEnabled=False", 0, 0 },
		{ "DHCPEnabled=0", 0, 0 },	 { "ProtocolIFType=4097", 0, ADDR_FAMILY_IPV6 },
		{ "DHCPEnabled=1\nDHCPEnabled=0", 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char text[128];

		snprintf(text, sizeof(text), "[eth0]\n%s\n", cases[i].line);
		ck_assert_int_eq(settings_file_parse(sf, text, "s.ini"), 0);
		ck_assert_uint_eq(sf->n, 1);
		ck_assert_uint_eq(sf->sections[0].fields.dhcp_enabled, cases[i].dhcp);
		ck_assert_uint_eq(sf->sections[0].fields.addr_family, cases[i].family);
	}
}
END_TEST

START_TEST(test_errors)
{
	static const struct {
		const char *text, *err;
		size_t n; /* sections before the bad line */
	} cases[] = {
		{ "", "s.ini: no [adapter] section", 0 },
		{ "# only a comment\n", "s.ini: no [adapter] section", 0 },
		{ "IPAddresses=1.2.3.4\n", "s.ini:1: a [adapter] section must come first", 0 },
		{ "words\n", "s.ini:1: a [adapter] section must come first", 0 },
		{ "[eth0]\nwords\n", "s.ini:2: expected Key=Value", 1 },
		{ "[eth0\n", "s.ini:1: '[eth0' is not a [section]", 0 },
		{ "[eth0]\n[eth1]\nIPAdresses=1.2.3.4\n",
		  "s.ini:3: unknown key 'IPAdresses' (IPAddresses, Subnets, DefaultGateways, DNSServers, DHCPEnabled, ProtocolIFType)",
		  2 },
		{ "[eth0]\nDHCPEnabled=yes\n", "s.ini:2: DHCPEnabled: 'yes' is not true or false", 1 },
		{ "[eth0]\nProtocolIFType=2\n",
		  "s.ini:2: ProtocolIFType: '2' is not 4096 (IPv4), 4097 (IPv6) or 4098 (both)", 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ck_assert_int_eq(settings_file_parse(sf, cases[i].text, "s.ini"), -EINVAL);
		ck_assert_str_eq(sf->error, cases[i].err);
		ck_assert_uint_eq(sf->n, cases[i].n);
	}
}
END_TEST

START_TEST(test_too_many_adapters)
{
	char text[1024] = "";

	for (unsigned i = 0; i <= SETTINGS_FILE_MAX_ADAPTERS; i++) {
		char line[64];

		snprintf(line, sizeof(line), "[eth%u]\nDHCPEnabled=1\n", i);
		strncat(text, line, sizeof(text) - strlen(text) - 1);
	}
	ck_assert_int_eq(settings_file_parse(sf, text, "s.ini"), -EINVAL);
	ck_assert_str_eq(sf->error, "s.ini:33: more than 16 adapters");
	ck_assert_uint_eq(sf->n, SETTINGS_FILE_MAX_ADAPTERS);
	ck_assert_str_eq(sf->sections[15].adapter, "eth15");
}
END_TEST

START_TEST(test_field_limits)
{
	static const char *const keys[] = { "IPAddresses", "Subnets", "DefaultGateways", "DNSServers" };
	static const size_t sizes[] = { KVP_IP_ADDR_BYTES, KVP_IP_ADDR_BYTES, KVP_GATEWAY_BYTES,
					KVP_IP_ADDR_BYTES };
	_cleanup_free_ char *text = malloc(KVP_IP_ADDR_BYTES + 64);

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		char want[128];
		int n = snprintf(text, 64, "[eth0]\n%s=", keys[i]);

		/* exactly the field's size fits, one byte more does not */
		memset(text + n, '1', sizes[i]);
		text[n + sizes[i]] = '\0';
		ck_assert_int_eq(settings_file_parse(sf, text, "s.ini"), 0);
		text[n + sizes[i]] = '1';
		text[n + sizes[i] + 1] = '\0';
		ck_assert_int_eq(settings_file_parse(sf, text, "s.ini"), -EINVAL);
		snprintf(want, sizeof(want), "s.ini:2: %s: longer than the host's field", keys[i]);
		ck_assert_str_eq(sf->error, want);
	}
}
END_TEST

START_TEST(test_long_section_name_kept_whole)
{
	_cleanup_free_ char *text = malloc(10000);

	/* the name is the caller's to judge: it is not cut to any size */
	text[0] = '[';
	memset(text + 1, 'a', 9000);
	strscpy(text + 9001, 8, "]\n");
	ck_assert_int_eq(settings_file_parse(sf, text, "s.ini"), 0);
	ck_assert_uint_eq(strlen(sf->sections[0].adapter), 9000);
}
END_TEST

START_TEST(test_long_origin)
{
	char origin[PATH_MAX + 100];

	memset(origin, 'o', sizeof(origin) - 1);
	origin[sizeof(origin) - 1] = '\0';
	ck_assert_int_eq(settings_file_parse(sf, "x\n", origin), -EINVAL);
	ck_assert_uint_eq(strlen(sf->error), sizeof(origin) - 1 + strlen(":1: a [adapter] section must come first"));
}
END_TEST

Suite *settings_file_suite(void)
{
	Suite *s = suite_create("settings-file");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_two_adapters);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_too_many_adapters);
	tcase_add_test(tc, test_field_limits);
	tcase_add_test(tc, test_long_section_name_kept_whole);
	tcase_add_test(tc, test_long_origin);
	suite_add_tcase(s, tc);
	return s;
}

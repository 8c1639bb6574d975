/* SPDX-License-Identifier: GPL-2.0-or-later */
/* runner.c - runs every unit suite; check prints the summary line. */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(kvp_msg_suite());
	int failed;

	srunner_add_suite(sr, hv_error_suite());
	srunner_add_suite(sr, pool_suite());
	srunner_add_suite(sr, osinfo_suite());
	srunner_add_suite(sr, dispatch_suite());
	srunner_add_suite(sr, failover_suite());
	srunner_add_suite(sr, adapter_suite());
	srunner_add_suite(sr, state_suite());
	srunner_add_suite(sr, dns_suite());
	srunner_add_suite(sr, escape_suite());
	srunner_add_suite(sr, ini_suite());
	srunner_add_suite(sr, conf_suite());
	srunner_add_suite(sr, settings_file_suite());
	srunner_add_suite(sr, transaction_suite());
	srunner_add_suite(sr, ifupdown_suite());
	srunner_add_suite(sr, addr_probe_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* suites.h - one check suite per module; runner.c runs them all. */
#pragma once

#include <check.h>

Suite *kvp_msg_suite(void);
Suite *hv_error_suite(void);
Suite *pool_suite(void);
Suite *osinfo_suite(void);
Suite *dispatch_suite(void);
Suite *failover_suite(void);
Suite *adapter_suite(void);
Suite *state_suite(void);
Suite *dns_suite(void);
Suite *escape_suite(void);
Suite *ini_suite(void);
Suite *conf_suite(void);
Suite *settings_file_suite(void);
Suite *transaction_suite(void);
Suite *ifupdown_suite(void);
Suite *addr_probe_suite(void);

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-pool.c - placeholder until the module's suite lands. */
#include "suites.h"

Suite *pool_suite(void)
{
	return suite_create("pool");
}

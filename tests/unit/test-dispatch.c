/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-dispatch.c - placeholder until the module's suite lands. */
#include "suites.h"

Suite *dispatch_suite(void)
{
	return suite_create("dispatch");
}

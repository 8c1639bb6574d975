/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-osinfo.c - placeholder until the module's suite lands. */
#include "suites.h"

Suite *osinfo_suite(void)
{
	return suite_create("osinfo");
}

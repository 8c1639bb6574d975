/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-kvp-msg.c - placeholder until the module's suite lands. */
#include "suites.h"

Suite *kvp_msg_suite(void)
{
	return suite_create("kvp_msg");
}

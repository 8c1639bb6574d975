/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-hv-error.c - the errno -> HV_* mapping the host sees. */
#include <errno.h>

#include "hv-error.h"
#include "kvp-proto.h"
#include "suites.h"
#include "util.h"

START_TEST(test_mapping)
{
	static const struct {
		int err;
		uint32_t code;
	} cases[] = {
		{ 0, HV_S_OK },
		{ -ENOENT, HV_S_CONT },
		{ -ENODEV, HV_GUID_NOTFOUND },
		{ -EINVAL, HV_INVALIDARG },
		{ -EBADMSG, HV_INVALIDARG },
		{ -EILSEQ, HV_INVALIDARG },
		{ -ENAMETOOLONG, HV_INVALIDARG },
		{ -EMSGSIZE, HV_INVALIDARG },
		{ -EOPNOTSUPP, HV_ERROR_NOT_SUPPORTED },
		{ -ENOSPC, HV_ERROR_DISK_FULL },
		{ -EEXIST, HV_ERROR_ALREADY_EXISTS },
		{ -EBUSY, HV_ERROR_MACHINE_LOCKED },
		{ -ENOTCONN, HV_ERROR_DEVICE_NOT_CONNECTED },
		{ -EIO, HV_E_FAIL },
		{ -ETIMEDOUT, HV_E_FAIL },
		{ EINVAL, HV_INVALIDARG }, /* sign does not matter */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		ck_assert_msg(hv_error_from_errno(cases[i].err) == cases[i].code,
			      "errno %d -> 0x%08x, expected 0x%08x", cases[i].err,
			      hv_error_from_errno(cases[i].err), cases[i].code);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(hv_error_to_string(HV_S_OK), "HV_S_OK");
	ck_assert_str_eq(hv_error_to_string(HV_GUID_NOTFOUND), "HV_GUID_NOTFOUND");
	ck_assert_str_eq(hv_error_to_string(0x12345678), "0x12345678");
}
END_TEST

/* A failed apply reaches the host as NOT_SUPPORTED, MACHINE_LOCKED or
 * E_FAIL, never as a code that blames the host's request or means
 * "no more items". */
START_TEST(test_apply_errno)
{
	static const struct {
		int err, want;
		uint32_t code;
	} cases[] = {
		{ 0, 0, HV_S_OK },
		{ -EOPNOTSUPP, -EOPNOTSUPP, HV_ERROR_NOT_SUPPORTED },
		{ -EBUSY, -EBUSY, HV_ERROR_MACHINE_LOCKED },
		{ -ENOENT, -EIO, HV_E_FAIL }, /* not HV_S_CONT */
		{ -ENODEV, -EIO, HV_E_FAIL }, /* not HV_GUID_NOTFOUND */
		{ -EINVAL, -EIO, HV_E_FAIL }, /* not HV_INVALIDARG */
		{ -EEXIST, -EIO, HV_E_FAIL },
		{ -ENOSPC, -EIO, HV_E_FAIL },
		{ -ENOTCONN, -EIO, HV_E_FAIL },
		{ -ETIMEDOUT, -EIO, HV_E_FAIL },
		{ -ECONNREFUSED, -EIO, HV_E_FAIL },
		{ -EIO, -EIO, HV_E_FAIL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int got = hv_error_apply_errno(cases[i].err);

		ck_assert_msg(got == cases[i].want, "errno %d -> %d, expected %d", cases[i].err, got,
			      cases[i].want);
		ck_assert_uint_eq(hv_error_from_errno(got), cases[i].code);
	}
}
END_TEST

Suite *hv_error_suite(void)
{
	Suite *s = suite_create("hv-error");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_mapping);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_apply_errno);
	suite_add_tcase(s, tc);
	return s;
}

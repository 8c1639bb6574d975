/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hv-error.c - errno to HV_* mapping and names for logs. */
#include <errno.h>
#include <stdio.h>

#include "hv-error.h"
#include "kvp-proto.h"
#include "util.h"

uint32_t hv_error_from_errno(int error)
{
	switch (error < 0 ? -error : error) {
	case 0:
		return HV_S_OK;
	case ENOENT:
		return HV_S_CONT;
	case ENODEV:
		return HV_GUID_NOTFOUND;
	case EINVAL:
	case EBADMSG:
	case EILSEQ:
	case ENAMETOOLONG:
	case EMSGSIZE:
	case EDOM:
		return HV_INVALIDARG;
	case EOPNOTSUPP:
		return HV_ERROR_NOT_SUPPORTED;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return HV_ERROR_DISK_FULL;
	case EEXIST:
		return HV_ERROR_ALREADY_EXISTS;
	case EBUSY:
		return HV_ERROR_MACHINE_LOCKED;
	case ENOTCONN:
		return HV_ERROR_DEVICE_NOT_CONNECTED;
	default:
		return HV_E_FAIL;
	}
}

int hv_error_apply_errno(int error)
{
	if (error >= 0)
		return 0;
	return error == -EOPNOTSUPP || error == -EBUSY ? error : -EIO;
}

const char *hv_error_to_string(uint32_t code)
{
	static const struct {
		uint32_t code;
		const char *name;
	} names[] = {
		{ HV_S_OK, "HV_S_OK" },
		{ HV_E_FAIL, "HV_E_FAIL" },
		{ HV_S_CONT, "HV_S_CONT" },
		{ HV_ERROR_NOT_SUPPORTED, "HV_ERROR_NOT_SUPPORTED" },
		{ HV_ERROR_MACHINE_LOCKED, "HV_ERROR_MACHINE_LOCKED" },
		{ HV_ERROR_DEVICE_NOT_CONNECTED, "HV_ERROR_DEVICE_NOT_CONNECTED" },
		{ HV_INVALIDARG, "HV_INVALIDARG" },
		{ HV_GUID_NOTFOUND, "HV_GUID_NOTFOUND" },
		{ HV_ERROR_ALREADY_EXISTS, "HV_ERROR_ALREADY_EXISTS" },
		{ HV_ERROR_DISK_FULL, "HV_ERROR_DISK_FULL" },
	};
	static char buf[16];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].code == code)
			return names[i].name;
	snprintf(buf, sizeof(buf), "0x%08x", (unsigned)code);
	return buf;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hv-error.h - the one place where negative errno values become HV_* host codes. */
#pragma once

#include <stdint.h>

/*
 * The errno vocabulary used inside hvkvpd, and what the host sees:
 *
 *   0                    HV_S_OK
 *   -ENOENT              HV_S_CONT   (pool key not found; enumeration past the end)
 *   -ENODEV              HV_GUID_NOTFOUND (no adapter matches the host's id)
 *   -EINVAL, -EBADMSG,
 *   -EILSEQ, -ENAMETOOLONG,
 *   -EMSGSIZE, -EDOM     HV_INVALIDARG
 *   -EOPNOTSUPP          HV_ERROR_NOT_SUPPORTED
 *   -ENOSPC, -EDQUOT,
 *   -EFBIG               HV_ERROR_DISK_FULL
 *   -EEXIST              HV_ERROR_ALREADY_EXISTS
 *   -EBUSY               HV_ERROR_MACHINE_LOCKED
 *   -ENOTCONN            HV_ERROR_DEVICE_NOT_CONNECTED
 *   anything else        HV_E_FAIL
 */
uint32_t hv_error_from_errno(int error);

/*
 * What the host may learn from a failed apply (the result of
 * backend_select() and backend_apply()): -EOPNOTSUPP (DHCP where nothing
 * can do it, a forced backend that is not there) and -EBUSY (another
 * apply, another tool's checkpoint) stay; every other error becomes -EIO,
 * i.e. HV_E_FAIL, whatever errno the kernel or a manager used (-EINVAL from
 * a rejected route must not read as "your settings were invalid", -ENODEV
 * not as "no such adapter", -ENOENT not as "no more items"). 0 stays 0.
 */
int hv_error_apply_errno(int error);

/* "HV_S_OK", "HV_E_FAIL", ... or "0x%08x" for unknown codes (static buffer). */
const char *hv_error_to_string(uint32_t code);

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* adapter.h - which interface does the host mean? VMBus GUID first, MAC second. */
#pragma once

#include <net/if.h>
#include <stdbool.h>

#define ADAPTER_SYSFS_ROOT "/sys"

struct adapter {
	char ifname[IF_NAMESIZE];
	int ifindex;
	char mac[18];  /* "00:15:5d:01:02:03", lower case as sysfs prints it */
	char guid[39]; /* "{xxxxxxxx-...}" from device/device_id, or "" */
	bool netvsc;   /* bound to hv_netvsc (a synthetic NIC) */
};

enum adapter_id_kind {
	ADAPTER_ID_INVALID,
	ADAPTER_ID_GUID,
	ADAPTER_ID_MAC,
	ADAPTER_ID_IFNAME,
};

/* Classifies and normalizes an adapter id: a GUID (braces optional, any case)
 * becomes "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" lower case; a MAC in any
 * usual spelling (colons, dashes, dots, none) becomes "xx:xx:xx:xx:xx:xx";
 * anything else that is a valid interface name is ADAPTER_ID_IFNAME (only
 * hvkvpctl accepts those). Pure. */
enum adapter_id_kind adapter_id_normalize(const char *id, char *buf, size_t size);

/*
 * The one spelling of a MAC in everything hvkvpd and hvkvpctl name after an
 * adapter: state files (<key>.state), the systemd-networkd file
 * (05-hvkvpd-<key>.network), the pool-1 result key
 * (HvKvpdFailoverResult_<key>) and messages. Twelve lower-case hex digits,
 * no separators ("00155d0a0b0c"): the form systemd uses in its own
 * interface names (enx00155d0a0b0c); it needs no quoting in any file name,
 * URL, make rule or shell word (a ':' does, for scp and rsync); and the
 * host's PowerShell, which shows 00155D0A0B0C, compares it equal
 * (-eq, -like and Where-Object ignore case). Any usual spelling goes in
 * (adapter_id_normalize()). Pure; -EINVAL for anything but a 6-octet MAC.
 */
#define ADAPTER_MAC_KEY_SIZE 13
int adapter_mac_key(const char *mac, char *buf, size_t size);

#define ADAPTER_MATCH_IFNAME (1u << 0) /* also accept interface names */

/*
 * Resolves the host's adapter id under <sysfs_root>/class/net. For a MAC,
 * an SR-IOV VF that shares the synthetic NIC's MAC (it is enslaved to it,
 * and is not bound to hv_netvsc) is never chosen.
 * Returns 0, -ENODEV when nothing matches, -EINVAL for an id that is neither
 * a GUID nor a MAC (nor, with ADAPTER_MATCH_IFNAME, a name).
 * sysfs_root NULL means /sys; other values are a test seam.
 */
int adapter_resolve(const char *sysfs_root, const char *id, unsigned flags, struct adapter *ret);

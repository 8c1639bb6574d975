/* SPDX-License-Identifier: GPL-2.0-or-later */
/* settings-file.h - hvkvpctl's failover settings files: text in, the host's fields out. */
#pragma once

#include <limits.h>
#include <stddef.h>

#include "kvp-msg.h"

#define SETTINGS_FILE_MAX_ADAPTERS 16
#define SETTINGS_FILE_MAX_SIZE (256 * 1024)

/*
 * One [section] per adapter (MAC, VMBus GUID or interface name, as written),
 * keys named as the properties of the WMI class
 * Msvm_FailoverNetworkAdapterSettingData:
 *
 *   IPAddresses=A;B  Subnets=M;N  DefaultGateways=G;H  DNSServers=D;E
 *   DHCPEnabled=true|false|True|False|1|0
 *   ProtocolIFType=4096 (IPv4)|4097 (IPv6)|4098 (both)
 *
 * Lines are split by ini.h. Values are copied as the host would send them
 * (failover_parse() judges them later); each must fit its field.
 */
struct settings_section {
	unsigned line;		     /* of the [header] */
	const char *adapter;	     /* the header's name as written (points into text) */
	struct kvp_ip_fields fields; /* adapter_id is left empty: the caller resolves adapter */
};

struct settings_file {
	char *text; /* the parsed copy of the input, owned */
	size_t n;
	struct settings_section sections[SETTINGS_FILE_MAX_ADAPTERS];
	char error[PATH_MAX + 1024]; /* "<origin>:<line>: <why>" or "<origin>: <why>" */
};

struct settings_file *settings_file_new(void);
struct settings_file *settings_file_free(struct settings_file *sf);
static inline void settings_file_freep(struct settings_file **p)
{
	settings_file_free(*p);
}

/*
 * Parses text (whatever sf held before is dropped). Returns 0, -EINVAL with
 * sf->error set, or -ENOMEM. Even on error, sections[0..n) are the sections
 * before the bad line, so that a caller resolving adapter names can report
 * problems in file order. Pure: no I/O, no look-ups.
 */
int settings_file_parse(struct settings_file *sf, const char *text, const char *origin);

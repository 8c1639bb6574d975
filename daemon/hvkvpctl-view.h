/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hvkvpctl-view.h - settings as hvkvpctl shows them: columns side by side, or JSON. */
#pragma once

#include <stdbool.h>

#include "failover.h"
#include "json.h"
#include "kvp-msg.h"

struct link_state;

/* One column: each list is '\n'-separated lines, already safe to print. */
struct ctl_view {
	bool present;	   /* false: "-" in every row (e.g. never applied by hand) */
	char when[64];	   /* optional rows: empty in every view leaves them out */
	char by[128];
	char result[192];
	char addrs[KVP_IP_ADDR_BYTES * 2];
	char gws[1024];
	char dns[2048];
	int dhcp; /* -1 unknown */
};

void ctl_view_from_settings(struct ctl_view *v, const struct failover_settings *s);
/* The link as the kernel has it, with the DNS and DHCP a backend reports. */
void ctl_view_from_link(struct ctl_view *v, const struct link_state *l, const struct kvp_ip_fields *live);
/* The host's strings: parsed when they parse, else shown (escaped) as sent. */
void ctl_view_from_fields(struct ctl_view *v, const struct kvp_ip_fields *f);

/* A table: a label column, then one column per view; "(none)" for an
 * empty list. */
void ctl_view_print(const char *const *heads, const struct ctl_view *const *views, size_t n);
/* {"addresses":[...],"gateways":[...],"dns":[...],"dhcp4":bool|null} */
void ctl_view_json(struct json *j, const char *key, const struct ctl_view *v);

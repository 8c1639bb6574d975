/* SPDX-License-Identifier: GPL-2.0-or-later */
/* link-monitor.h - rtnetlink link events for the failover code: late adapters, carrier changes. */
#pragma once

struct sd_event;
struct link_config;

struct link_monitor;

/*
 * Joins RTNLGRP_LINK and watches the socket on event, so that the loop
 * wakes only when a link changes (no polling). On every RTM_NEWLINK,
 * settings saved for an adapter that was not there yet are applied
 * (link_config_reapply_pending) and the carrier state is passed on
 * (link_config_carrier_changed); what they report becomes STATUS=. ic may be
 * NULL (no IP configuration: events are read and dropped).
 */
int link_monitor_new(struct sd_event *event, struct link_config *ic, struct link_monitor **ret);
struct link_monitor *link_monitor_free(struct link_monitor *m);
static inline void link_monitor_freep(struct link_monitor **p)
{
	link_monitor_free(*p);
}

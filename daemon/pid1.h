/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pid1.h - what the daemon asks the service manager: its private bus, units still starting. */
#pragma once

#include <stdint.h>

struct sd_bus;

/* PID 1 on its private socket (root only; no dbus-daemon needed, so it
 * works early in boot), else through the system bus. Method calls time
 * out after BUS_CALL_TIMEOUT_USEC. */
int pid1_bus(struct sd_bus **ret);

/* The network managers whose start at boot decides which backend owns a
 * link: NetworkManager.service, systemd-networkd.service and ifupdown's
 * networking.service, and dbus.service, the bus the first two are driven
 * through. */
extern const char *const pid1_network_units[];

/*
 * Waits, until `deadline` (CLOCK_MONOTONIC usec), while one of `units`
 * (NULL-terminated) is still starting: activating, or inactive with a start
 * job queued (at boot, the initial transaction queues every job at once).
 * hvkvpd starts early, before the network managers (cloud-init-local needs
 * it first); a SET_IP_INFO queued by the host arrives right after the
 * handshake, and probing the link then would find nobody managing it and
 * configure it behind the back of a manager about to start.
 * Returns the number of usec waited (0: nothing was starting), or a
 * negative errno when PID 1 cannot be asked (not booted with systemd: then
 * nothing is waited for).
 */
int64_t pid1_wait_starting(const char *const *units, uint64_t deadline);

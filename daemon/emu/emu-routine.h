/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-routine.h - what a Hyper-V host does around a daemon by itself: pool 3 at connection, periodic reads. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "emu-host.h"
#include "json.h"
#include "kvp-proto.h"

/*
 * The real host does three things no test asks for (hvkvp-emu(1), "THE
 * HOST'S ROUTINE", says where each fact comes from):
 *
 *  - requests made while no daemon is registered wait in the driver and
 *    are delivered after the handshake (emu-host.c's FIFO does that);
 *  - once a daemon has registered, the host's KVP component writes the
 *    Guest\Parameter items (pool 3): HostName, PhysicalHostName,
 *    PhysicalHostNameFullyQualified, VirtualMachineName, VirtualMachineId and
 *    the HostingSystem* items; Azure guests show 17 of them;
 *  - while the VM runs, management tools read the intrinsic items (pool 2,
 *    enumerated from index 0 until the guest says there are no more) and
 *    the guest's IP configuration (GET_IP_INFO per adapter) from time to time.
 *
 * The routine plays that part through emu_host_submit(), like any other
 * host request, so the daemon sees the same interleaving as on Hyper-V.
 */

#define EMU_ROUTINE_MAX_PARAMS 64
#define EMU_ROUTINE_MAX_ADAPTERS 8
/* enumeration of the auto pool stops here even if the daemon never fails */
#define EMU_ROUTINE_MAX_ENUM 64

struct emu_param {
	char key[HV_KVP_EXCHANGE_MAX_KEY_SIZE];
	char value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
};

struct emu_routine_config {
	size_t n_params; /* 0: push nothing at connection */
	struct emu_param params[EMU_ROUTINE_MAX_PARAMS];
	uint64_t poll_usec; /* 0: no periodic reads */
	size_t n_adapters;  /* GET_IP_INFO targets of each poll (MACs) */
	char adapters[EMU_ROUTINE_MAX_ADAPTERS][KVP_ADAPTER_ID_BYTES + 1];
};

struct emu_routine;

/* The 17 Guest\Parameter items an Azure host writes, with made-up values
 * (the VM name is given, the id derived from it). */
void emu_routine_default_params(struct emu_routine_config *cfg, const char *vm_name);
/* Reads KEY=VALUE lines (blank lines and '#' comments skipped) into
 * cfg->params; -EINVAL with a message on stderr for a bad line. */
int emu_routine_load_params(struct emu_routine_config *cfg, const char *path);

int emu_routine_new(sd_event *event, struct emu_host *host, const struct emu_routine_config *cfg,
		    struct emu_routine **ret);
/* Cancels what the routine still has queued; accepts NULL. */
struct emu_routine *emu_routine_free(struct emu_routine *r);
/* The host's registration state changed (emu_host's routine callback;
 * userdata is the routine). */
void emu_routine_state_changed(void *routine);
/* The routine's counters as a "routine" member of the current object. */
void emu_routine_json(const void *routine, struct json *j);

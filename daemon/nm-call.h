/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nm-call.h - one GLib/libnm call at a time under a deadline, on a private main context (NetworkManager module). */
#pragma once

/*
 * The daemon's loop is sd-event and no thread of ours runs GLib: libnm is
 * driven only from inside these calls. An operation (struct nm_op) owns a
 * private GMainContext, a private connection to the system bus and an
 * NMClient on both; each asynchronous call (struct nm_call) is started
 * with nm_call_done() as its callback and then waited for, bounded by a
 * CLOCK_MONOTONIC deadline in usec. Include after util.h and
 * <NetworkManager.h> (GLib redefines MIN/MAX).
 */

#include <stdbool.h>
#include <stdint.h>

#include "adapter.h"

#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC 1000000ULL

struct nm_op {
	GMainContext *ctx;
	GDBusConnection *bus;
	NMClient *client;
	bool entered; /* ctx is the thread-default context */
};

/* One asynchronous call. If the caller gives up on it (timeout), the call
 * is marked abandoned and the completion frees it whenever it comes. */
struct nm_call {
	GCancellable *cancel;
	GObject *source;
	GAsyncResult *result;
	bool abandoned;
};

/* Opens the operation by `until`; logs its failure. The context stays
 * pushed as the thread default until nm_op_leave() or nm_op_end(). */
int nm_op_begin(struct nm_op *op, const struct adapter *a, uint64_t until);
/* Drops client, connection and context (waiting briefly for libnm). */
void nm_op_end(struct nm_op *op);
/* Pushes the context (once) and catches up with what NetworkManager
 * announced since; nm_op_leave() pops it between two steps. */
void nm_op_enter(struct nm_op *op);
void nm_op_leave(struct nm_op *op);
/* Iterates the context until ready(data) or `until`; with poll_msec also
 * wakes up that often for state that arrives as no event (the kernel's).
 * Returns ready(data) at the end. */
bool nm_op_run(struct nm_op *op, bool (*ready)(void *), void *data, uint64_t until,
	       unsigned poll_msec);

struct nm_call *nm_call_new(void);
/* The GAsyncReadyCallback for every call (userdata: the struct nm_call). */
void nm_call_done(GObject *source, GAsyncResult *result, gpointer userdata);
/* 0 when the call completed (its result is in c->result), -ETIMEDOUT when
 * it did not by `until` (then it is cancelled). */
int nm_call_wait(struct nm_op *op, struct nm_call *c, uint64_t until);
void nm_call_free(struct nm_call *c);
void nm_call_freep(struct nm_call **c);
#define _cleanup_nm_call_ _cleanup_(nm_call_freep)

/* GError -> negative errno, at the edge of the module. */
int nm_gerror_errno(const GError *e);
/* Logs a failed NetworkManager call once, naming the adapter; returns the errno. */
int nm_call_fail(const struct adapter *a, const char *what, const GError *e);

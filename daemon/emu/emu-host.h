/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-host.h - hvkvp-emu's host side: hv_kvp.c's state machine and the host's request FIFO. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "emu-device.h"
#include "json.h"
#include "kvp-proto.h"

/*
 * This is the emulator's drivers/hv/hv_kvp.c (PROTOCOL.md §2.1-2.4): the
 * REGISTER1/REGISTER handshake, one outstanding host transaction at a time,
 * the deadline, legacy error derivation and the reset on close. Requests come
 * from the control socket (the "host"); they wait in FIFO order until a
 * daemon has registered and the previous transaction is over.
 */

struct emu_host;
struct emu_txn;

struct emu_host_config {
	uint64_t timeout_usec; /* the driver's deadline (HV_UTIL_TIMEOUT, 30 s) */
	const char *version;   /* sent in the registration reply ("3.1") */
	bool debug;            /* log every message */
};

/* What the host recorded for one request. */
struct emu_txn_result {
	uint32_t code;     /* HV_* status the host got */
	bool replied;      /* reply[] is what the daemon wrote */
	bool timeout;      /* the deadline expired (code HV_E_FAIL) */
	bool reset;        /* the daemon closed the device mid-transaction (HV_E_FAIL) */
	bool send_failed;  /* the device still held an unread message (HV_E_FAIL) */
	bool aborted;      /* the emulator is stopping (HV_E_FAIL) */
	uint64_t wait_usec;    /* submitted -> queued for the daemon's read() */
	uint64_t latency_usec; /* queued for read() -> reply written (or failure) */
	uint8_t reply[KVP_MSG_SIZE];
};

/* Runs once per submitted request unless it was cancelled first. */
typedef void (*emu_txn_done_t)(const struct emu_txn_result *res, void *userdata);
/* Runs whenever a daemon registers or goes away. */
typedef void (*emu_host_state_cb)(void *userdata);

struct emu_host_status {
	bool registered;
	uint8_t mode; /* KVP_OP_REGISTER1, KVP_OP_REGISTER, or 0 */
	const char *version;
	bool open, in_flight, unread;
	uint64_t timeout_usec;
	unsigned opens, transactions, timeouts, closes, queued;
	/* the host's routine (emu-routine.c), when one runs: adds its members
	 * to the status object */
	void (*routine_json)(const void *routine, struct json *j);
	const void *routine;
};

/* The device callbacks the host implements; pass with the host as userdata. */
extern const struct emu_device_ops emu_host_device_ops;

int emu_host_new(sd_event *event, const struct emu_host_config *cfg, struct emu_host **ret);
/* Fails whatever is queued or in flight (aborted), then frees. Accepts NULL. */
struct emu_host *emu_host_free(struct emu_host *h);
void emu_host_attach_device(struct emu_host *h, struct emu_device *dev);
void emu_host_set_state_cb(struct emu_host *h, emu_host_state_cb cb, void *userdata);
/* The host's own routine: told of every state change before the control
 * socket is, and shown in the status. */
void emu_host_set_routine(struct emu_host *h, emu_host_state_cb cb,
			  void (*json)(const void *routine, struct json *j), void *routine);
void emu_host_get_status(const struct emu_host *h, struct emu_host_status *ret);
/* Completes every request with HV_E_FAIL ("aborted") and refuses new ones. */
void emu_host_abort(struct emu_host *h);

/* Queue one request (a whole message as the kernel would hand it to the
 * daemon). -ESHUTDOWN after emu_host_abort(). */
int emu_host_submit(struct emu_host *h, const uint8_t msg[KVP_MSG_SIZE], emu_txn_done_t done,
		    void *userdata, struct emu_txn **ret);
/* Forget a request: a queued one is dropped (returns true); for one already
 * handed to the daemon the transaction runs on, its result is discarded
 * (returns false). */
bool emu_host_cancel(struct emu_host *h, struct emu_txn *t);

/*
 * Kernel string conversions, for building requests and judging replies.
 *
 * emu_kernel_string(): the host's string (here UTF-8 from the control client;
 * on Hyper-V UTF-16) converted the way utf16s_to_utf8s() does with a limit of
 * maxout bytes: a character that does not fit in what is left is skipped, the
 * result is never longer than maxout. -EILSEQ if `in` is not valid UTF-8,
 * -ENOBUFS if out_size <= maxout.
 *
 * emu_host_view(): how much of a daemon's UTF-8 string the host receives
 * when the driver converts it to at most max_units UTF-16 units
 * (utf8s_to_utf16s()); *ret_len is the byte length of that prefix. -EILSEQ
 * if the driver's conversion would fail on an invalid sequence.
 */
int emu_kernel_string(const char *in, size_t maxout, char *out, size_t out_size,
		      bool *ret_truncated);
int emu_host_view(const char *in, size_t max_units, size_t *ret_len, bool *ret_truncated);

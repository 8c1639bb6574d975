/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kvp-device.h - the /dev/vmbus/hv_kvp character device: whole messages, and its life cycle. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kvp-proto.h"

#define KVP_DEVICE_DEFAULT_PATH "/dev/vmbus/hv_kvp"

/* open(O_RDWR|O_CLOEXEC). -ENOENT when it does not exist (yet), -EBUSY when
 * another daemon holds it. */
int kvp_device_open(const char *path, int *ret_fd);

/* Writes the KVP_OP_REGISTER1 request. */
int kvp_device_register(int fd);

/* Reads exactly one message. A short or over-long read is -EIO (the caller
 * must close, reopen and register again), EINTR/EAGAIN are -EAGAIN. */
int kvp_device_read(int fd, uint8_t buf[KVP_MSG_SIZE]);

/* Writes exactly one message; a short write is -EIO, a rejected one
 * (reply after the kernel's deadline, after hibernation) is -EINVAL. */
int kvp_device_write(int fd, const uint8_t buf[KVP_MSG_SIZE]);

/* ---- the device's life cycle on an sd-event loop -------------------------------- */

struct sd_event;

/*
 * Waits for the node to appear (inotify on the nearest existing ancestor,
 * plus a slow timer for mounts), opens it, registers (REGISTER1, answered
 * within 10 s), then serves requests; on any error it closes the device and
 * starts over after a backoff (100 ms doubling up to 5 s): the driver resets
 * its state on close. Sends READY=1 after the first registration and
 * STATUS= on every change. A permission error ends the loop with -EPERM or
 * -EACCES, so that the service restarts with a fresh DeviceAllow=.
 */
struct kvp_device_ops {
	/* REGISTER1 was answered; version is the driver's */
	void (*registered)(void *userdata, const char *version);
	/* msg holds a host request: write the reply over it */
	void (*request)(void *userdata, uint8_t msg[KVP_MSG_SIZE]);
	/* the reply was handed to the driver, or failed to be (the device
	 * is then reopened) */
	void (*replied)(void *userdata);
};

struct kvp_device;

/* path is copied. Nothing is opened until kvp_device_start(). */
int kvp_device_new(struct sd_event *event, const char *path, const struct kvp_device_ops *ops,
		   void *userdata, struct kvp_device **ret);
void kvp_device_start(struct kvp_device *d);
struct kvp_device *kvp_device_free(struct kvp_device *d);
static inline void kvp_device_freep(struct kvp_device **p)
{
	kvp_device_free(*p);
}

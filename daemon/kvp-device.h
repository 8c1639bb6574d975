/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kvp-device.h - the /dev/vmbus/hv_kvp character device: whole messages only. */
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

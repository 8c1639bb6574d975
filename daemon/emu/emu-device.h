/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-device.h - the FUSE side of hvkvp-emu: a file that behaves like /dev/vmbus/hv_kvp. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/*
 * This is the emulator's hv_utils_transport.c (PROTOCOL.md §2.5): a FUSE
 * file system whose only file, "hv_kvp", allows one opener, delivers exactly
 * one queued message per read(), rejects short reads and writes of another
 * size, implements poll(), and forgets everything on the last close. What a
 * message means is the host's business (emu-host.c), reached through ops.
 */

struct emu_device;

struct emu_device_ops {
	/* The file was opened (single opener; a second open already got EBUSY). */
	void (*opened)(void *userdata);
	/* One whole message written by the daemon (len is KVP_MSG_SIZE). Return
	 * 0 to accept it, or the negative errno write() must fail with. */
	int (*write)(void *userdata, const uint8_t *msg, size_t len);
	/* The last reference was closed; the unread message is already dropped. */
	void (*released)(void *userdata);
};

/* Runs once the daemon has read() the message it was queued with. */
typedef void (*emu_device_read_cb)(void *userdata);

/* Mounts the file system at mountpoint (which must exist) and serves it from
 * `event`. `debug` logs every FUSE operation that reaches the file. */
int emu_device_new(sd_event *event, const char *mountpoint, const struct emu_device_ops *ops,
		   void *userdata, bool debug, struct emu_device **ret);
/* The same device on a real kernel device: the test module's host end at
 * `path` (tests/system/kmod, emu-kdev.h). */
int emu_device_new_kdev(sd_event *event, const char *path, const struct emu_device_ops *ops,
			void *userdata, bool debug, struct emu_device **ret);
/* Answers blocked readers with EBADF, unmounts, frees. Accepts NULL. */
struct emu_device *emu_device_free(struct emu_device *d);

/* Queue one message for the daemon (the kernel's hvutil_transport_send).
 * -ENOTCONN when the file is not open, -EFAULT when the previous message has
 * not been read yet, -EMSGSIZE when len is 0 or larger than a message. */
int emu_device_send(struct emu_device *d, const void *msg, size_t len, emu_device_read_cb on_read);

bool emu_device_is_open(const struct emu_device *d);
bool emu_device_has_unread(const struct emu_device *d);

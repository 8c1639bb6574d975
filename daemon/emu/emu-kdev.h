/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-kdev.h - hvkvp-emu's device side on the test module's /dev/hvkvp_host (QEMU guests). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "emu-device.h"

/*
 * The same contract as the FUSE device of emu-device.h, on a real kernel
 * device: tests/system/kmod/hv_kvp_test.ko registers /dev/vmbus/hv_kvp and
 * its host end, `path` (normally /dev/hvkvp_host), which this opens. The
 * emu_device_* functions dispatch here for a device made by
 * emu_device_new_kdev().
 */

struct emu_kdev;

int emu_kdev_new(sd_event *event, const char *path, const struct emu_device_ops *ops,
		 void *userdata, bool debug, struct emu_kdev **ret);
struct emu_kdev *emu_kdev_free(struct emu_kdev *k);
int emu_kdev_send(struct emu_kdev *k, const void *msg, size_t len, emu_device_read_cb on_read);
bool emu_kdev_is_open(const struct emu_kdev *k);
bool emu_kdev_has_unread(const struct emu_kdev *k);

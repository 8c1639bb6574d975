/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hvkvp_host.h - the frames on /dev/hvkvp_host, the host end of the test
 * module hv_kvp_test.ko (tests/system/kmod). Shared by the module and by
 * hvkvp-emu's kernel-device mode (daemon/emu/emu-kdev.c), which includes
 * this file.
 *
 * Every read() and write() on /dev/hvkvp_host moves exactly one struct
 * hvkvp_host_frame. The module reports what the daemon does with
 * /dev/vmbus/hv_kvp (HVKVP_EV_*); the host answers with HVKVP_CMD_*.
 */
#ifndef HVKVP_HOST_H
#define HVKVP_HOST_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
typedef uint32_t __u32;
typedef int32_t __s32;
typedef uint8_t __u8;
#endif

/* sizeof(struct hv_kvp_msg) in include/uapi/linux/hyperv.h */
#define HVKVP_MSG_SIZE 7432

enum {
	/* module -> host */
	HVKVP_EV_OPEN = 1,    /* the daemon opened the device; gen is new */
	HVKVP_EV_RELEASE = 2, /* its last reference was closed (reset) */
	HVKVP_EV_READ = 3,    /* it read the message queued with CMD_SEND */
	HVKVP_EV_WRITE = 4,   /* it wrote msg; its write() waits for CMD_VERDICT seq */
	/* host -> module */
	HVKVP_CMD_SEND = 16,    /* queue msg[len] for the daemon's next read() */
	HVKVP_CMD_VERDICT = 17, /* write() seq returns: arg 0 = success, <0 = -errno */
};

struct hvkvp_host_frame {
	__u32 type;
	__u32 gen; /* which open of the device (EV_*, CMD_SEND) */
	__u32 seq; /* EV_WRITE / CMD_VERDICT */
	__s32 arg; /* CMD_VERDICT */
	__u32 len; /* bytes of msg used: EV_WRITE, CMD_SEND */
	__u8 msg[HVKVP_MSG_SIZE];
};

#endif

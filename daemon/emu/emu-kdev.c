/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-kdev.c - hvkvp-emu's device side on a real kernel device: the test module's /dev/hvkvp_host. */
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>
#include <unistd.h>

#include "../../tests/system/kmod/hvkvp_host.h"
#include "emu-kdev.h"
#include "kvp-proto.h"
#include "log.h"
#include "util.h"

/*
 * The daemon opens a real /dev/vmbus/hv_kvp here, registered by the
 * test-only module tests/system/kmod/hv_kvp_test.ko, which implements
 * hv_utils_transport.c's semantics in the kernel (single opener, one
 * message per read, poll, reset on close) and relays the rest to us through
 * /dev/hvkvp_host, one struct hvkvp_host_frame per read or write. We play
 * the driver's hv_kvp.c and the host with the same emu-host.c as the FUSE
 * mode: its device callbacks run for the events, and emu_device_send()
 * becomes HVKVP_CMD_SEND. The 30 s deadline is emu-host.c's timer, as in
 * the FUSE mode; the kernel only bounds how long a daemon's write() waits
 * for any host at all.
 */

/* How long to wait for the module's node to appear (udev is not involved:
 * devtmpfs creates it when the module registers it). */
#define OPEN_WAIT_USEC (10 * 1000000ULL)

struct emu_kdev {
	sd_event *event;
	sd_event_source *io;
	int fd;
	const struct emu_device_ops *ops;
	void *userdata;
	bool debug;

	bool open;    /* the daemon holds the device (generation gen) */
	uint32_t gen;
	bool unread;  /* a message we queued was not read yet */
	emu_device_read_cb on_read;
	struct hvkvp_host_frame in, out;
};

#define kdev_debug(k, ...)                                                     \
	do {                                                                   \
		if ((k)->debug)                                                \
			log_debug(__VA_ARGS__);                                \
	} while (0)

static int put_frame(struct emu_kdev *k)
{
	ssize_t n = write(k->fd, &k->out, sizeof(k->out));

	if (n < 0)
		return negative_errno();
	return n == (ssize_t)sizeof(k->out) ? 0 : -EIO;
}

static void on_event_write(struct emu_kdev *k, const struct hvkvp_host_frame *f)
{
	int r;

	if (!k->open || f->gen != k->gen) {
		r = -EBADF;
	} else if (f->len != KVP_MSG_SIZE) {
		r = -EINVAL;
	} else {
		kdev_debug(k, "daemon wrote %u bytes (op %u)", f->len, f->msg[0]);
		r = k->ops->write(k->userdata, f->msg, f->len);
	}
	memset(&k->out, 0, offsetof(struct hvkvp_host_frame, msg));
	k->out.type = HVKVP_CMD_VERDICT;
	k->out.gen = f->gen;
	k->out.seq = f->seq;
	k->out.arg = r < 0 ? r : 0;
	r = put_frame(k);
	if (r < 0)
		log_warning_errno(r, "answering the daemon's write %" PRIu32 " failed", f->seq);
}

static void on_event(struct emu_kdev *k, const struct hvkvp_host_frame *f)
{
	emu_device_read_cb cb;

	switch (f->type) {
	case HVKVP_EV_OPEN:
		kdev_debug(k, "open: generation %" PRIu32, f->gen);
		if (k->open) {
			/* the close of the previous open was lost (a full queue) */
			k->open = false;
			k->ops->released(k->userdata);
		}
		k->open = true;
		k->gen = f->gen;
		k->unread = false;
		k->on_read = NULL;
		k->ops->opened(k->userdata);
		break;
	case HVKVP_EV_RELEASE:
		if (!k->open || f->gen != k->gen)
			break;
		kdev_debug(k, "release: generation %" PRIu32 "%s", f->gen,
			   k->unread ? ", the unread message dropped" : "");
		k->open = false;
		k->unread = false;
		k->on_read = NULL;
		k->ops->released(k->userdata);
		break;
	case HVKVP_EV_READ:
		if (!k->open || f->gen != k->gen)
			break;
		kdev_debug(k, "read: the daemon has the message");
		k->unread = false;
		cb = TAKE_PTR(k->on_read);
		if (cb)
			cb(k->userdata);
		break;
	case HVKVP_EV_WRITE:
		on_event_write(k, f);
		break;
	default:
		log_warning("unknown event %" PRIu32 " from the kernel device, ignored", f->type);
	}
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct emu_kdev *k = userdata;

	for (;;) {
		ssize_t n = read(fd, &k->in, sizeof(k->in));

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			log_error_errno(negative_errno(), "reading the kernel device");
			sd_event_source_set_enabled(s, SD_EVENT_OFF);
			return sd_event_exit(k->event, -EIO);
		}
		if (n != (ssize_t)sizeof(k->in)) {
			log_error("short frame (%zd bytes) from the kernel device", n);
			sd_event_source_set_enabled(s, SD_EVENT_OFF);
			return sd_event_exit(k->event, -EIO);
		}
		on_event(k, &k->in);
	}
}

int emu_kdev_send(struct emu_kdev *k, const void *msg, size_t len, emu_device_read_cb on_read)
{
	int r;

	if (len == 0 || len > KVP_MSG_SIZE)
		return -EMSGSIZE;
	if (!k->open)
		return -ENOTCONN;
	if (k->unread)
		return -EFAULT;
	memset(&k->out, 0, sizeof(k->out));
	k->out.type = HVKVP_CMD_SEND;
	k->out.gen = k->gen;
	k->out.len = (uint32_t)len;
	memcpy(k->out.msg, msg, len);
	/* the kernel has the last word: it knows of a close we have not read yet */
	r = put_frame(k);
	if (r < 0)
		return r;
	k->unread = true;
	k->on_read = on_read;
	return 0;
}

bool emu_kdev_is_open(const struct emu_kdev *k)
{
	return k->open;
}

bool emu_kdev_has_unread(const struct emu_kdev *k)
{
	return k->unread;
}

int emu_kdev_new(sd_event *event, const char *path, const struct emu_device_ops *ops,
		 void *userdata, bool debug, struct emu_kdev **ret)
{
	struct emu_kdev *k;
	uint64_t until = now_usec() + OPEN_WAIT_USEC;
	int r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->fd = -1;
	k->ops = ops;
	k->userdata = userdata;
	k->debug = debug;
	for (;;) {
		k->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (k->fd >= 0 || errno != ENOENT || now_usec() >= until)
			break;
		(void)nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
	}
	if (k->fd < 0) {
		r = log_error_errno(negative_errno(), "opening %s (is hv_kvp_test.ko loaded?)", path);
		goto fail;
	}
	k->event = sd_event_ref(event);
	r = sd_event_add_io(event, &k->io, k->fd, EPOLLIN, on_io, k);
	if (r < 0)
		goto fail;
	log_info("serving the kernel device through %s", path);
	*ret = k;
	return 0;
fail:
	emu_kdev_free(k);
	return r;
}

struct emu_kdev *emu_kdev_free(struct emu_kdev *k)
{
	if (!k)
		return NULL;
	sd_event_source_disable_unref(k->io);
	/* the module fails a daemon's write that still waits with EIO */
	if (k->fd >= 0)
		close(k->fd);
	sd_event_unref(k->event);
	free(k);
	return NULL;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-device.c - the fake /dev/vmbus/hv_kvp: a libfuse3 low-level file system on sd-event. */
#define FUSE_USE_VERSION 32

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "emu-device.h"
#include "emu-event.h"
#include "emu-kdev.h"
#include "kvp-proto.h"
#include "log.h"
#include "util.h"

#define INO_ROOT FUSE_ROOT_ID
#define INO_KVP 2
#define KVP_NAME "hv_kvp"
/* Nothing about the tree ever changes, so the kernel may cache it for long. */
#define ATTR_TIMEOUT 3600.0

/* A read() that found no message and waits for one (the kernel's
 * wait_event_interruptible in hvt_op_read). */
struct pending_read {
	struct emu_device *dev;
	fuse_req_t req;
	size_t size;
	bool interrupted;
	struct pending_read *prev, *next;
};

struct emu_device {
	/* set: a real kernel device (emu-kdev.c) serves instead of FUSE */
	struct emu_kdev *kdev;
	sd_event *event;
	struct fuse_session *se;
	sd_event_source *io;
	/* answers interrupted reads outside libfuse's interrupt callback */
	sd_event_source *intr;
	struct fuse_buf fbuf;
	const struct emu_device_ops *ops;
	void *userdata;
	bool debug;
	bool mounted;
	time_t mtime;

	bool open;
	uint64_t open_gen;

	/* the one kernel->daemon message (hvt->outmsg) */
	uint8_t outmsg[KVP_MSG_SIZE];
	size_t outmsg_len;
	emu_device_read_cb on_read;

	struct pending_read *reads_head, *reads_tail;
	struct fuse_pollhandle *ph;
};

#define dev_debug(d, ...)                                                      \
	do {                                                                   \
		if ((d)->debug)                                                \
			log_debug(__VA_ARGS__);                                \
	} while (0)

/* ---- pending reads ---------------------------------------------------- */

static void reads_unlink(struct emu_device *d, struct pending_read *pr)
{
	if (pr->prev)
		pr->prev->next = pr->next;
	else
		d->reads_head = pr->next;
	if (pr->next)
		pr->next->prev = pr->prev;
	else
		d->reads_tail = pr->prev;
	pr->prev = pr->next = NULL;
}

static void reads_append(struct emu_device *d, struct pending_read *pr)
{
	pr->prev = d->reads_tail;
	pr->next = NULL;
	if (d->reads_tail)
		d->reads_tail->next = pr;
	else
		d->reads_head = pr;
	d->reads_tail = pr;
}

/* Answer a waiting read with an error and forget it. */
static void read_fail(struct emu_device *d, struct pending_read *pr, int error)
{
	reads_unlink(d, pr);
	/* The interrupt callback must not fire for a request we answered. */
	fuse_req_interrupt_func(pr->req, NULL, NULL);
	fuse_reply_err(pr->req, error);
	free(pr);
}

static void fail_all_reads(struct emu_device *d, int error)
{
	while (d->reads_head)
		read_fail(d, d->reads_head, error);
}

/*
 * Hand the queued message to waiting readers, oldest first. A reader whose
 * buffer is too small gets EINVAL and the message stays queued, as in
 * hvt_op_read(). The on-read callback runs after the state is consistent,
 * because it may queue the next message.
 */
static void deliver(struct emu_device *d)
{
	while (d->outmsg_len > 0 && d->reads_head) {
		struct pending_read *pr = d->reads_head;
		emu_device_read_cb cb;
		int r;

		if (pr->size < d->outmsg_len) {
			dev_debug(d, "read of %zu bytes < %zu: EINVAL", pr->size, d->outmsg_len);
			read_fail(d, pr, EINVAL);
			continue;
		}
		reads_unlink(d, pr);
		fuse_req_interrupt_func(pr->req, NULL, NULL);
		r = fuse_reply_buf(pr->req, (const char *)d->outmsg, d->outmsg_len);
		free(pr);
		if (r < 0) {
			/* The reader is gone (killed); the message is still unread. */
			log_debug_errno(r, "reply to read() failed, message stays queued");
			continue;
		}
		dev_debug(d, "read: delivered %zu bytes (op %u)", d->outmsg_len, d->outmsg[0]);
		d->outmsg_len = 0;
		cb = TAKE_PTR(d->on_read);
		if (cb)
			cb(d->userdata);
	}
}

static int on_interrupt_defer(sd_event_source *s, void *userdata)
{
	struct emu_device *d = userdata;
	struct pending_read *pr = d->reads_head;

	while (pr) {
		struct pending_read *next = pr->next;

		if (pr->interrupted) {
			dev_debug(d, "read interrupted by a signal: EINTR");
			read_fail(d, pr, EINTR);
		}
		pr = next;
	}
	return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

/*
 * libfuse calls this with its request lock held, possibly from inside
 * fuse_req_interrupt_func() itself; answering the request here could free it
 * under that lock, so the answer is deferred to the next loop iteration.
 */
static void on_read_interrupted(fuse_req_t req, void *data)
{
	struct pending_read *pr = data;

	pr->interrupted = true;
	sd_event_source_set_enabled(pr->dev->intr, SD_EVENT_ONESHOT);
}

/* ---- FUSE operations -------------------------------------------------- */

static void fill_attr(const struct emu_device *d, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_atime = st->st_mtime = st->st_ctime = d->mtime;
	if (ino == INO_ROOT) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = 0;
	}
	st->st_blksize = KVP_MSG_SIZE;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	/* Every request is answered from memory in one loop; splicing through
	 * a pipe would only add a per-thread pipe behind our back. */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct emu_device *d = fuse_req_userdata(req);
	struct fuse_entry_param e = {
		.ino = INO_KVP,
		.generation = 1,
		.attr_timeout = ATTR_TIMEOUT,
		.entry_timeout = ATTR_TIMEOUT,
	};

	if (parent != INO_ROOT || !streq(name, KVP_NAME)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(d, INO_KVP, &e.attr);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct emu_device *d = fuse_req_userdata(req);
	struct stat st;

	if (ino != INO_ROOT && ino != INO_KVP) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(d, ino, &st);
	fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

/* open(O_TRUNC) and touch(1) end up here; like a character device, the file
 * ignores size and time changes. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	op_getattr(req, ino, fi);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct emu_device *d = fuse_req_userdata(req);
	static const struct {
		const char *name;
		fuse_ino_t ino;
	} entries[] = { { ".", INO_ROOT }, { "..", INO_ROOT }, { KVP_NAME, INO_KVP } };
	char buf[512];
	size_t used = 0;

	if (ino != INO_ROOT) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	for (size_t i = (size_t)MAX(off, 0); i < ARRAY_SIZE(entries); i++) {
		struct stat st;
		size_t n;

		fill_attr(d, entries[i].ino, &st);
		n = fuse_add_direntry(req, buf + used, MIN(size, sizeof(buf)) - used,
				      entries[i].name, &st, (off_t)(i + 1));
		if (n > MIN(size, sizeof(buf)) - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct emu_device *d = fuse_req_userdata(req);

	if (ino != INO_KVP) {
		fuse_reply_err(req, ino == INO_ROOT ? EISDIR : ENOENT);
		return;
	}
	if (d->open) {
		/* hvt_op_open: the transport is already in CHARDEV mode */
		dev_debug(d, "open: already open, EBUSY");
		fuse_reply_err(req, EBUSY);
		return;
	}
	d->open = true;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fi->keep_cache = 0;
	fi->fh = ++d->open_gen;
	if (fuse_reply_open(req, fi) < 0) {
		/* The opener vanished before it got the file: no release will
		 * ever come for this handle, so undo the open here. */
		log_debug("open: the opener went away before the reply");
		d->open = false;
		return;
	}
	dev_debug(d, "open: handle %" PRIu64, d->open_gen);
	d->ops->opened(d->userdata);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct emu_device *d = fuse_req_userdata(req);
	struct pending_read *pr;

	if (ino != INO_KVP || !d->open || fi->fh != d->open_gen) {
		fuse_reply_err(req, EBADF);
		return;
	}
	pr = calloc(1, sizeof(*pr));
	if (!pr) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pr->dev = d;
	pr->req = req;
	pr->size = size;
	reads_append(d, pr);
	fuse_req_interrupt_func(req, on_read_interrupted, pr);
	if (d->outmsg_len == 0)
		dev_debug(d, "read of %zu bytes: waiting for a message", size);
	deliver(d);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct emu_device *d = fuse_req_userdata(req);
	int r;

	if (ino != INO_KVP || !d->open || fi->fh != d->open_gen) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if (size != KVP_MSG_SIZE) {
		dev_debug(d, "write of %zu bytes, not %d: EINVAL", size, KVP_MSG_SIZE);
		fuse_reply_err(req, EINVAL);
		return;
	}
	r = d->ops->write(d->userdata, (const uint8_t *)buf, size);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fuse_reply_write(req, size);
}

static void op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct emu_device *d = fuse_req_userdata(req);
	unsigned revents = d->outmsg_len > 0 ? POLLIN | POLLRDNORM : 0;

	if (ph) {
		/* Keep only the newest handle; they all wake the same file. */
		if (d->ph)
			fuse_pollhandle_destroy(d->ph);
		d->ph = ph;
	}
	fuse_reply_poll(req, revents);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct emu_device *d = fuse_req_userdata(req);

	fuse_reply_err(req, 0);
	if (ino != INO_KVP || !d->open || fi->fh != d->open_gen)
		return;
	dev_debug(d, "release: handle %" PRIu64 "%s", fi->fh,
		  d->outmsg_len > 0 ? ", dropping the unread message" : "");
	d->open = false;
	d->outmsg_len = 0;
	d->on_read = NULL;
	if (d->ph) {
		fuse_pollhandle_destroy(d->ph);
		d->ph = NULL;
	}
	fail_all_reads(d, EBADF);
	d->ops->released(d->userdata);
}

static const struct fuse_lowlevel_ops fuse_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readdir = op_readdir,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.poll = op_poll,
	.flush = op_flush,
	.release = op_release,
};

/* ---- the loop side ---------------------------------------------------- */

static int on_fuse_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct emu_device *d = userdata;
	int r;

	r = fuse_session_receive_buf(d->se, &d->fbuf);
	if (r == -EINTR || r == -EAGAIN)
		return 0;
	if (r <= 0 || fuse_session_exited(d->se)) {
		if (r < 0)
			log_error_errno(r, "reading from /dev/fuse failed");
		else
			log_notice("the file system was unmounted; exiting");
		d->mounted = false;
		sd_event_source_set_enabled(s, SD_EVENT_OFF);
		return sd_event_exit(d->event, r < 0 ? r : -ENODEV);
	}
	fuse_session_process_buf(d->se, &d->fbuf);
	return 0;
}

int emu_device_send(struct emu_device *d, const void *msg, size_t len, emu_device_read_cb on_read)
{
	if (d->kdev)
		return emu_kdev_send(d->kdev, msg, len, on_read);
	if (len == 0 || len > sizeof(d->outmsg))
		return -EMSGSIZE;
	if (!d->open)
		return -ENOTCONN;
	if (d->outmsg_len > 0)
		return -EFAULT; /* as hvutil_transport_send with an unread message */
	memcpy(d->outmsg, msg, len);
	d->outmsg_len = len;
	d->on_read = on_read;
	if (d->ph)
		fuse_lowlevel_notify_poll(d->ph);
	deliver(d);
	return 0;
}

bool emu_device_is_open(const struct emu_device *d)
{
	if (d->kdev)
		return emu_kdev_is_open(d->kdev);
	return d->open;
}

bool emu_device_has_unread(const struct emu_device *d)
{
	if (d->kdev)
		return emu_kdev_has_unread(d->kdev);
	return d->outmsg_len > 0;
}

int emu_device_new_kdev(sd_event *event, const char *path, const struct emu_device_ops *ops,
			void *userdata, bool debug, struct emu_device **ret)
{
	struct emu_device *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	r = emu_kdev_new(event, path, ops, userdata, debug, &d->kdev);
	if (r < 0) {
		free(d);
		return r;
	}
	*ret = d;
	return 0;
}

int emu_device_new(sd_event *event, const char *mountpoint, const struct emu_device_ops *ops,
		   void *userdata, bool debug, struct emu_device **ret)
{
	/* allow_other is not needed: the emulator and the daemon are both root. */
	char *argv[] = { (char *)"hvkvp-emu", (char *)"-o",
			 (char *)"fsname=hvkvp-emu,subtype=hvkvp-emu", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct emu_device *d;
	struct stat st;
	int r;

	if (stat(mountpoint, &st) < 0 && errno == ENOTCONN) {
		/* the FUSE mount of an emulator that was killed */
		log_notice("%s is a dead FUSE mount, detaching it", mountpoint);
		if (umount2(mountpoint, MNT_DETACH) < 0)
			return log_error_errno(negative_errno(), "umount %s", mountpoint);
	}
	if (stat(mountpoint, &st) < 0)
		return log_error_errno(negative_errno(), "mount point %s", mountpoint);
	if (!S_ISDIR(st.st_mode))
		return log_error_errno(-ENOTDIR, "mount point %s", mountpoint);

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->event = sd_event_ref(event);
	d->ops = ops;
	d->userdata = userdata;
	d->debug = debug;
	d->mtime = time(NULL);

	d->se = fuse_session_new(&args, &fuse_ops, sizeof(fuse_ops), d);
	fuse_opt_free_args(&args);
	if (!d->se) {
		r = log_error_errno(-EINVAL, "fuse_session_new() failed");
		goto fail;
	}
	if (fuse_session_mount(d->se, mountpoint) != 0) {
		r = log_error_errno(-EIO, "mounting the FUSE file system at %s failed", mountpoint);
		goto fail;
	}
	d->mounted = true;

	r = sd_event_add_io(event, &d->io, fuse_session_fd(d->se), EPOLLIN, on_fuse_io, d);
	if (r < 0)
		goto fail;
	r = emu_add_defer_off(event, &d->intr, on_interrupt_defer, d);
	if (r < 0)
		goto fail;

	log_info("serving %s/%s (FUSE)", mountpoint, KVP_NAME);
	*ret = d;
	return 0;
fail:
	emu_device_free(d);
	return r;
}

struct emu_device *emu_device_free(struct emu_device *d)
{
	if (!d)
		return NULL;
	emu_kdev_free(d->kdev);
	/* hvt_op_read after hvutil_transport_destroy(): EBADF */
	if (d->se)
		fail_all_reads(d, EBADF);
	if (d->ph) {
		/* wake pollers so they see the file system go away */
		fuse_lowlevel_notify_poll(d->ph);
		fuse_pollhandle_destroy(d->ph);
	}
	sd_event_source_disable_unref(d->io);
	sd_event_source_disable_unref(d->intr);
	if (d->se) {
		if (d->mounted)
			fuse_session_unmount(d->se);
		fuse_session_destroy(d->se);
	}
	free(d->fbuf.mem);
	sd_event_unref(d->event);
	free(d);
	return NULL;
}

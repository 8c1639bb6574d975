/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kvp-device.c - /dev/vmbus/hv_kvp: whole-message I/O, and its open/register/reopen life cycle. */
#include <fcntl.h>
#include <limits.h>
#include <sys/inotify.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "kvp-device.h"
#include "kvp-msg.h"
#include "log.h"
#include "util.h"

int kvp_device_open(const char *path, int *ret_fd)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return negative_errno();
	*ret_fd = fd;
	return 0;
}

int kvp_device_register(int fd)
{
	uint8_t msg[KVP_MSG_SIZE];
	int r = kvp_msg_build_register(msg, KVP_OP_REGISTER1, NULL);

	if (r < 0)
		return r;
	return kvp_device_write(fd, msg);
}

int kvp_device_read(int fd, uint8_t buf[KVP_MSG_SIZE])
{
	ssize_t n = read(fd, buf, KVP_MSG_SIZE);

	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return -EAGAIN;
		return negative_errno();
	}
	/* the driver hands over exactly one message per read */
	if (n != KVP_MSG_SIZE)
		return -EIO;
	return 0;
}

int kvp_device_write(int fd, const uint8_t buf[KVP_MSG_SIZE])
{
	ssize_t n;

	do
		n = write(fd, buf, KVP_MSG_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	/* a partial message is no message: the caller resets the device */
	if (n != KVP_MSG_SIZE)
		return -EIO;
	return 0;
}

/* ---- the life cycle ------------------------------------------------------------- */

#define BACKOFF_MIN_USEC (100 * 1000ULL)
#define BACKOFF_MAX_USEC (5 * 1000 * 1000ULL)
#define REGISTER_TIMEOUT_USEC (10 * 1000 * 1000ULL)
#define WAIT_RETRY_USEC (2 * 1000 * 1000ULL)

enum device_state {
	DEVICE_WAITING,	    /* not open: missing, busy, or backing off after an error */
	DEVICE_REGISTERING, /* REGISTER1 written, waiting for the driver's reply */
	DEVICE_READY,	    /* serving host requests */
};

struct kvp_device {
	sd_event *event;
	char *path;
	const struct kvp_device_ops *ops;
	void *userdata;

	enum device_state state;
	int fd;
	sd_event_source *io;
	sd_event_source *retry;
	sd_event_source *reg_timer; /* the driver's registration reply is late */
	sd_event_source *watch;
	int inotify_fd;
	uint64_t backoff_usec;
	bool ready_sent;
	uint8_t msg[KVP_MSG_SIZE];
};

static void device_open(struct kvp_device *d);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	device_open(userdata);
	return 0;
}

static void schedule_retry(struct kvp_device *d, uint64_t delay)
{
	int r;

	d->retry = sd_event_source_disable_unref(d->retry);
	r = sd_event_add_time_relative(d->event, &d->retry, CLOCK_MONOTONIC, delay, 10 * 1000,
				       on_retry, d);
	if (r < 0) {
		log_error_errno(r, "cannot arm the retry timer");
		sd_event_exit(d->event, r);
	}
}

static void unwatch(struct kvp_device *d)
{
	d->watch = sd_event_source_disable_unref(d->watch);
	d->inotify_fd = safe_close(d->inotify_fd);
}

static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct kvp_device *d = userdata;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	/* any change on the way to the device path is worth one more open() */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	unwatch(d);
	device_open(d);
	return 0;
}

/* Watches the nearest existing ancestor of the device path so that the open
 * is retried as soon as udev creates the node. Mounts (the emulator) make no
 * inotify event, so the slow retry timer stays armed as well. */
static void watch_for_device(struct kvp_device *d)
{
	char dir[PATH_MAX];
	char *slash;

	if (d->watch)
		return;
	if (strscpy(dir, sizeof(dir), d->path) < 0)
		return;
	d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->inotify_fd < 0)
		return;
	while ((slash = strrchr(dir, '/'))) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (inotify_add_watch(d->inotify_fd, dir,
				      IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR) >= 0)
			break;
		if (slash == dir)
			break;
	}
	if (sd_event_add_io(d->event, &d->watch, d->inotify_fd, EPOLLIN, on_watch, d) < 0)
		d->inotify_fd = safe_close(d->inotify_fd);
}

/* Drops the device and tries again later: the driver resets its state on
 * close, so close + open + REGISTER1 recovers from every error (hibernation,
 * a reply after the deadline, a short read). */
static void device_reset(struct kvp_device *d, int error, const char *why)
{
	log_full(LOG_WARNING, error, NULL, "%s; reopening %s in %llu ms", why, d->path,
		 (unsigned long long)(d->backoff_usec / 1000));
	d->io = sd_event_source_disable_unref(d->io);
	d->reg_timer = sd_event_source_disable_unref(d->reg_timer);
	d->fd = safe_close(d->fd);
	d->state = DEVICE_WAITING;
	notify_status("reconnecting to %s: %s", d->path, why);
	schedule_retry(d, d->backoff_usec);
	d->backoff_usec = MIN(d->backoff_usec * 2, BACKOFF_MAX_USEC);
}

static void handle_registration(struct kvp_device *d)
{
	char version[ESCAPED_SIZE(sizeof(((struct kvp_request *)0)->reg.version))];
	struct kvp_request req;
	const char *reason = NULL;
	int r;

	r = kvp_msg_decode(d->msg, KVP_MSG_SIZE, true, &req, &reason);
	if (r < 0 || req.op != KVP_OP_REGISTER1) {
		device_reset(d, r, r < 0 ? reason : "driver accepted only the legacy protocol");
		return;
	}
	d->ops->registered(d->userdata, req.reg.version);
	d->reg_timer = sd_event_source_disable_unref(d->reg_timer);
	d->state = DEVICE_READY;
	d->backoff_usec = BACKOFF_MIN_USEC;
	/* the driver's version string reaches the host's osinfo as it is, and
	 * the log and STATUS= escaped */
	escape_str(version, sizeof(version), req.reg.version);
	log_info("registered with the KVP driver on %s (driver version %s)", d->path, version);
	if (!d->ready_sent) {
		sd_notify(0, "READY=1");
		d->ready_sent = true;
	}
	notify_status("serving host requests on %s (driver %s)", d->path, version);
}

static int on_device(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct kvp_device *d = userdata;
	int r;

	if ((revents & (EPOLLERR | EPOLLHUP)) && !(revents & EPOLLIN)) {
		device_reset(d, 0, "the device reported an error");
		return 0;
	}
	r = kvp_device_read(fd, d->msg);
	if (r == -EAGAIN)
		return 0;
	if (r < 0) {
		device_reset(d, r, "read from the KVP device failed");
		return 0;
	}
	if (d->state == DEVICE_REGISTERING) {
		handle_registration(d);
		return 0;
	}

	d->ops->request(d->userdata, d->msg);
	r = kvp_device_write(fd, d->msg);
	d->ops->replied(d->userdata);
	if (r < 0)
		device_reset(d, r, "writing the reply failed (after the driver's deadline, or after hibernation?)");
	return 0;
}

static int on_register_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct kvp_device *d = userdata;

	d->reg_timer = sd_event_source_disable_unref(d->reg_timer);
	if (d->state == DEVICE_REGISTERING)
		device_reset(d, -ETIMEDOUT, "the KVP driver did not answer the registration");
	return 0;
}

/* The node is not there (yet): udev, or the emulator's mount, brings it. */
static void wait_for_node(struct kvp_device *d)
{
	if (d->state != DEVICE_WAITING || !d->watch)
		log_info("waiting for %s to appear", d->path);
	notify_status("waiting for %s", d->path);
	watch_for_device(d);
	schedule_retry(d, WAIT_RETRY_USEC);
}

static void register_device(struct kvp_device *d)
{
	int r;

	r = sd_event_add_io(d->event, &d->io, d->fd, EPOLLIN, on_device, d);
	if (r < 0) {
		device_reset(d, r, "cannot watch the KVP device");
		return;
	}
	r = kvp_device_register(d->fd);
	if (r < 0) {
		device_reset(d, r, "registration with the KVP driver failed");
		return;
	}
	d->state = DEVICE_REGISTERING;
	notify_status("registering with the KVP driver on %s", d->path);
	/* the driver answers at once; silence means a stuck device: start over */
	if (sd_event_add_time_relative(d->event, &d->reg_timer, CLOCK_MONOTONIC,
				       REGISTER_TIMEOUT_USEC, 100 * 1000, on_register_timeout, d) < 0)
		log_warning("cannot arm the registration timer");
}

static void device_open(struct kvp_device *d)
{
	int r;

	d->retry = sd_event_source_disable_unref(d->retry);
	r = kvp_device_open(d->path, &d->fd);
	if (r == -ENOENT || r == -ENXIO || r == -ENODEV) {
		wait_for_node(d);
		return;
	}
	if (r == -EPERM || r == -EACCES) {
		/* under systemd, DeviceAllow= was resolved when the unit started:
		 * a device that appeared (or changed its number) later stays
		 * forbidden until the unit restarts, so let Restart= do that */
		log_error_errno(r, "%s cannot be opened", d->path);
		notify_status_errno(r, "%s: permission denied; exiting so that the service restarts",
				    d->path);
		sd_event_exit(d->event, r);
		return;
	}
	if (r < 0) {
		device_reset(d, r,
			     r == -EBUSY ? "the KVP device is held by another daemon (hv_kvp_daemon?)"
					 : "cannot open the KVP device");
		return;
	}
	unwatch(d);
	register_device(d);
}

int kvp_device_new(struct sd_event *event, const char *path, const struct kvp_device_ops *ops,
		   void *userdata, struct kvp_device **ret)
{
	struct kvp_device *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->path = strdup(path);
	if (!d->path) {
		free(d);
		return -ENOMEM;
	}
	d->event = sd_event_ref(event);
	d->ops = ops;
	d->userdata = userdata;
	d->fd = -1;
	d->inotify_fd = -1;
	d->backoff_usec = BACKOFF_MIN_USEC;
	*ret = d;
	return 0;
}

void kvp_device_start(struct kvp_device *d)
{
	device_open(d);
}

struct kvp_device *kvp_device_free(struct kvp_device *d)
{
	if (!d)
		return NULL;
	d->io = sd_event_source_disable_unref(d->io);
	d->retry = sd_event_source_disable_unref(d->retry);
	d->reg_timer = sd_event_source_disable_unref(d->reg_timer);
	unwatch(d);
	safe_close(d->fd);
	sd_event_unref(d->event);
	free(d->path);
	free(d);
	return NULL;
}

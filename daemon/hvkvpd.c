/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hvkvpd.c - the daemon: owns the KVP device, one sd-event loop, one reply per request. */
#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "backend.h"
#include "conf.h"
#include "dispatch.h"
#include "state.h"
#include "kvp-device.h"
#include "kvp-msg.h"
#include "log.h"
#include "util.h"

/* <linux/if.h> has it, but cannot be included next to <net/if.h> */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

#define BACKOFF_MIN_USEC (100 * 1000ULL)
#define BACKOFF_MAX_USEC (5 * 1000 * 1000ULL)
#define REGISTER_TIMEOUT_USEC (10 * 1000 * 1000ULL)

enum device_state {
	DEVICE_WAITING,	    /* not open: missing, busy, or backing off after an error */
	DEVICE_REGISTERING, /* REGISTER1 written, waiting for the driver's reply */
	DEVICE_READY,	    /* serving host requests */
};

struct daemon {
	sd_event *event;
	const char *device_path;
	const char *pool_dir;
	struct hvkvp_ctx ctx;
	struct ipconfig_options ipo;

	enum device_state state;
	int fd;
	sd_event_source *io;
	sd_event_source *retry;
	sd_event_source *reg_timer; /* the driver's registration reply is late */
	sd_event_source *watch;
	int inotify_fd;
	struct nl_sock *monitor; /* link events: carrier for pending failovers */
	sd_event_source *monitor_src;
	uint64_t backoff_usec;
	bool ready_sent;
	unsigned registrations;
	uint8_t msg[KVP_MSG_SIZE];
};

static void set_status(const char *fmt, ...) _printf_(1, 2);
static void set_status(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", buf);
}

static void device_open(struct daemon *d);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	device_open(userdata);
	return 0;
}

static void schedule_retry(struct daemon *d, uint64_t delay)
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

static void unwatch(struct daemon *d)
{
	d->watch = sd_event_source_disable_unref(d->watch);
	d->inotify_fd = safe_close(d->inotify_fd);
}

static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;
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
static void watch_for_device(struct daemon *d)
{
	char dir[PATH_MAX];
	char *slash;

	if (d->watch)
		return;
	if (strscpy(dir, sizeof(dir), d->device_path) < 0)
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
static void device_reset(struct daemon *d, int error, const char *why)
{
	log_full(LOG_WARNING, error, NULL, "%s; reopening %s in %llu ms", why, d->device_path,
		 (unsigned long long)(d->backoff_usec / 1000));
	d->io = sd_event_source_disable_unref(d->io);
	d->reg_timer = sd_event_source_disable_unref(d->reg_timer);
	d->fd = safe_close(d->fd);
	d->state = DEVICE_WAITING;
	set_status("reconnecting to %s: %s", d->device_path, why);
	schedule_retry(d, d->backoff_usec);
	d->backoff_usec = MIN(d->backoff_usec * 2, BACKOFF_MAX_USEC);
}

static void handle_registration(struct daemon *d)
{
	struct kvp_request req;
	const char *reason = NULL;
	int r;

	r = kvp_msg_decode(d->msg, KVP_MSG_SIZE, true, &req, &reason);
	if (r < 0 || req.op != KVP_OP_REGISTER1) {
		device_reset(d, r, r < 0 ? reason : "driver accepted only the legacy protocol");
		return;
	}
	osinfo_set_ic_version(&d->ctx.osinfo, req.reg.version);
	d->reg_timer = sd_event_source_disable_unref(d->reg_timer);
	d->state = DEVICE_READY;
	d->backoff_usec = BACKOFF_MIN_USEC;
	d->registrations++;
	log_info("registered with the KVP driver on %s (driver version %s)", d->device_path,
		 req.reg.version);
	if (!d->ready_sent) {
		sd_notify(0, "READY=1");
		d->ready_sent = true;
	}
	set_status("serving host requests on %s (driver %s)", d->device_path, req.reg.version);
}

static int on_device(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;
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

	hvkvp_dispatch(&d->ctx, d->msg);
	r = kvp_device_write(fd, d->msg);
	if (d->ctx.status_changed) {
		d->ctx.status_changed = false;
		set_status("%s", d->ctx.status);
	}
	if (r < 0)
		device_reset(d, r, "writing the reply failed (after the driver's deadline, or after hibernation?)");
	return 0;
}

static int on_register_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	d->reg_timer = sd_event_source_disable_unref(d->reg_timer);
	if (d->state == DEVICE_REGISTERING)
		device_reset(d, -ETIMEDOUT, "the KVP driver did not answer the registration");
	return 0;
}

static void device_open(struct daemon *d)
{
	int r;

	d->retry = sd_event_source_disable_unref(d->retry);
	r = kvp_device_open(d->device_path, &d->fd);
	if (r == -ENOENT || r == -ENXIO || r == -ENODEV) {
		if (d->state != DEVICE_WAITING || !d->watch)
			log_info("waiting for %s to appear", d->device_path);
		set_status("waiting for %s", d->device_path);
		watch_for_device(d);
		schedule_retry(d, 2 * 1000 * 1000ULL);
		return;
	}
	if (r == -EPERM || r == -EACCES) {
		/* under systemd, DeviceAllow= was resolved when the unit started:
		 * a device that appeared (or changed its number) later stays
		 * forbidden until the unit restarts, so let Restart= do that */
		log_error_errno(r, "%s cannot be opened", d->device_path);
		sd_notifyf(0, "STATUS=%s: permission denied; exiting so that the service restarts\nERRNO=%d",
			   d->device_path, -r);
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
	set_status("registering with the KVP driver on %s", d->device_path);
	/* the driver answers at once; silence means a stuck device: start over */
	if (sd_event_add_time_relative(d->event, &d->reg_timer, CLOCK_MONOTONIC,
				       REGISTER_TIMEOUT_USEC, 100 * 1000, on_register_timeout, d) < 0)
		log_warning("cannot arm the registration timer");
}

static int on_link_msg(struct nl_msg *msg, void *userdata)
{
	struct daemon *d = userdata;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct ifinfomsg *ifi;
	char status[256];

	if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return NL_OK;
	ifi = nlmsg_data(h);
	if (!d->ctx.ipconfig)
		return NL_OK;
	/* an adapter that was not there at start-up (netvsc probing late) gets
	 * its saved settings when it appears */
	if (ipconfig_reapply_pending(d->ctx.ipconfig, status, sizeof(status)) > 0)
		set_status("%s", status);
	if (ipconfig_carrier_changed(d->ctx.ipconfig, ifi->ifi_index,
				     (ifi->ifi_flags & IFF_LOWER_UP) != 0, status, sizeof(status)) > 0)
		set_status("%s", status);
	return NL_OK;
}

static int on_monitor(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;

	/* ENOBUFS (events lost) is harmless: the next change comes anyway */
	(void)nl_recvmsgs_default(d->monitor);
	return 0;
}

/* Carrier changes wake the loop only when a link changes: no polling. */
static void monitor_links(struct daemon *d)
{
	d->monitor = nl_socket_alloc();
	if (!d->monitor)
		return;
	nl_socket_disable_seq_check(d->monitor);
	nl_socket_modify_cb(d->monitor, NL_CB_VALID, NL_CB_CUSTOM, on_link_msg, d);
	if (nl_connect(d->monitor, NETLINK_ROUTE) < 0 ||
	    nl_socket_add_membership(d->monitor, RTNLGRP_LINK) < 0 ||
	    nl_socket_set_nonblocking(d->monitor) < 0 ||
	    sd_event_add_io(d->event, &d->monitor_src, nl_socket_get_fd(d->monitor), EPOLLIN,
			    on_monitor, d) < 0) {
		log_warning("cannot watch link events; \"waiting for carrier\" will not clear by itself");
		nl_socket_free(d->monitor);
		d->monitor = NULL;
	}
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;

	log_info("received %s, stopping", strsignal((int)si->ssi_signo));
	sd_event_exit(d->event, 0);
	return 0;
}

static void help(void)
{
	printf("Usage: hvkvpd [OPTIONS]\n"
	       "\n"
	       "Hyper-V KVP daemon: serves the host's key-value pools, OS information and\n"
	       "guest IP queries over " KVP_DEVICE_DEFAULT_PATH ".\n"
	       "Runs in the foreground, as systemd expects.\n"
	       "\n"
	       "  -c, --config=PATH      configuration file (default " CONF_DEFAULT_PATH ")\n"
	       "  -D, --device=PATH      KVP device (default " KVP_DEVICE_DEFAULT_PATH ")\n"
	       "  -p, --pool-dir=DIR     directory of the .kvp_pool_N files\n"
	       "                         (default " KVP_POOL_DEFAULT_DIR ")\n"
	       "  -s, --state-dir=DIR    where the failover state is kept\n"
	       "                         (default " STATE_DEFAULT_DIR ")\n"
	       "  -b, --backend=NAME     auto, networkmanager, networkd or netlink\n"
	       "                         (default auto: per link)\n"
	       "      --reply-budget=SEC longest time before answering SET_IP_INFO\n"
	       "                         (default 20, at most 25)\n"
	       "  -d, --debug            log every request (LogLevel=debug)\n"
	       "      --log-target=T     auto, stderr or journal (default auto)\n"
	       "  -h, --help             show this help\n"
	       "  -V, --version          show the version\n"
	       "\n"
	       "Options given here override " CONF_DEFAULT_PATH " (see hvkvpd.conf(5)).\n"
	       "Exit status: 0 stopped cleanly, 1 failed to start or run, 2 bad usage or\n"
	       "a bad configuration file.\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "device", required_argument, NULL, 'D' },
		{ "pool-dir", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "backend", required_argument, NULL, 'b' },
		{ "reply-budget", required_argument, NULL, 'R' },
		{ "debug", no_argument, NULL, 'd' },
		{ "log-target", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct daemon d = {
		.fd = -1,
		.inotify_fd = -1,
		.backoff_usec = BACKOFF_MIN_USEC,
	};
	enum log_target target = LOG_TARGET_AUTO;
	const char *config_path = CONF_DEFAULT_PATH;
	bool config_given = false, debug = false;
	static struct conf cfg;
	char err[512];
	sigset_t mask;
	int c, r;

	/* the file first, so that every option given on the command line wins */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:D:p:s:b:dhV", options, NULL)) >= 0)
		if (c == 'c') {
			config_path = optarg;
			config_given = true;
		}
	conf_defaults(&cfg);
	r = conf_load(&cfg, config_path, config_given, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "hvkvpd: %s\n", err);
		return 2;
	}
	opterr = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:D:p:s:b:dhV", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			break;
		case 's':
			strscpy(cfg.state_dir, sizeof(cfg.state_dir), optarg);
			break;
		case 'b':
			if (!backend_name_valid(optarg)) {
				fprintf(stderr, "hvkvpd: --backend: '%s' is not auto, networkmanager, networkd or netlink\n",
					optarg);
				return 2;
			}
			if (!backend_available(optarg)) {
				fprintf(stderr, "hvkvpd: --backend: '%s' is not built into this hvkvpd\n",
					optarg);
				return 2;
			}
			strscpy(cfg.backend, sizeof(cfg.backend), optarg);
			break;
		case 'R':
			if (conf_parse_budget(optarg, &cfg.budget_usec) < 0) {
				fprintf(stderr, "hvkvpd: --reply-budget: '%s' is not a number of seconds in 1..25 (the driver gives up after 30)\n",
					optarg);
				return 2;
			}
			break;
		case 'D':
			strscpy(cfg.device, sizeof(cfg.device), optarg);
			break;
		case 'p':
			strscpy(cfg.pool_dir, sizeof(cfg.pool_dir), optarg);
			break;
		case 'd':
			debug = true;
			break;
		case 'L':
			if (streq(optarg, "stderr"))
				target = LOG_TARGET_STDERR;
			else if (streq(optarg, "journal"))
				target = LOG_TARGET_JOURNAL;
			else if (streq(optarg, "auto"))
				target = LOG_TARGET_AUTO;
			else {
				fprintf(stderr, "hvkvpd: --log-target: '%s' is not auto, stderr or journal\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("hvkvpd " PKG_VERSION "\n");
			return 0;
		default:
			fprintf(stderr, "Try 'hvkvpd --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hvkvpd: unexpected argument '%s'\nTry 'hvkvpd --help'.\n", argv[optind]);
		return 2;
	}
	d.device_path = cfg.device;
	d.pool_dir = cfg.pool_dir;
	d.ipo.state_dir = cfg.state_dir;
	d.ipo.forced_backend = cfg.backend;
	d.ipo.budget_usec = cfg.budget_usec;
	log_set_max_level(debug ? LOG_DEBUG : cfg.log_level);
	log_setup("hvkvpd", target);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a reload would change nothing that a restart does not do better */
	signal(SIGHUP, SIG_IGN);

	r = sd_event_default(&d.event);
	if (r < 0) {
		log_error_errno(r, "cannot create the event loop");
		return 1;
	}
	if (sd_event_add_signal(d.event, NULL, SIGTERM, on_signal, &d) < 0 ||
	    sd_event_add_signal(d.event, NULL, SIGINT, on_signal, &d) < 0) {
		log_error("cannot handle SIGTERM/SIGINT");
		return 1;
	}
	/* WATCHDOG=1 from the loop itself, so a stuck loop is noticed */
	sd_event_set_watchdog(d.event, true);

	/* test seam only: a fake sysfs tree for the adapter resolver */
	if (streq_ptr(getenv("HVKVPD_TEST_SEAMS"), "1"))
		d.ipo.sysfs_root = getenv("HVKVPD_TEST_SYSFS_ROOT");

	r = hvkvp_ctx_init(&d.ctx, d.pool_dir, NULL, &d.ipo);
	if (r < 0) {
		sd_notifyf(0, "STATUS=cannot start: %s\nERRNO=%d", strerror(-r), -r);
		sd_event_unref(d.event);
		return 1;
	}
	/* settings applied through netlink live only in the kernel: put them
	 * back before telling systemd we are ready */
	{
		char status[256] = "";
		ipconfig_reapply(d.ctx.ipconfig, status, sizeof(status));
		if (status[0])
			set_status("%s", status);
	}
	if (osinfo_lookup_fqdn_async(&d.ctx.osinfo, d.event) < 0)
		log_debug("canonical host name lookup not started; reporting '%s'",
			  d.ctx.osinfo.fqdn);

	monitor_links(&d);
	log_info("hvkvpd " PKG_VERSION " starting (device %s, pools in %s)", d.device_path,
		 d.pool_dir);
	device_open(&d);

	r = sd_event_loop(d.event);
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	if (r < 0)
		log_error_errno(r, "event loop failed");

	d.io = sd_event_source_disable_unref(d.io);
	d.retry = sd_event_source_disable_unref(d.retry);
	d.reg_timer = sd_event_source_disable_unref(d.reg_timer);
	d.monitor_src = sd_event_source_disable_unref(d.monitor_src);
	if (d.monitor)
		nl_socket_free(d.monitor);
	unwatch(&d);
	safe_close(d.fd);
	hvkvp_ctx_done(&d.ctx);
	sd_event_unref(d.event);
	return r < 0 ? 1 : 0;
}

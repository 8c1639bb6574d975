/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hvkvpd.c - the daemon: options and configuration, then one sd-event loop serving the KVP device. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "backend.h"
#include "conf.h"
#include "dispatch.h"
#include "kvp-device.h"
#include "link-monitor.h"
#include "log.h"
#include "state.h"
#include "util.h"

struct args {
	struct conf cfg;
	enum log_target target;
	bool debug;
	bool done; /* --help or --version: nothing more to do */
};

/* ---- the device's requests go to the dispatcher --------------------------------- */

static void on_registered(void *userdata, const char *version)
{
	struct hvkvp_ctx *ctx = userdata;

	osinfo_set_ic_version(&ctx->osinfo, version);
}

static void on_request(void *userdata, uint8_t msg[KVP_MSG_SIZE])
{
	hvkvp_dispatch(userdata, msg);
}

/* Writes a pool deferred because another process held its lock (the
 * result line of a SET_IP_INFO never waits for pool 1), once a second
 * until none is left. */
static sd_event *loop_event;
static sd_event_source *flush_timer;

static int on_flush(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct hvkvp_ctx *ctx = userdata;
	int left = 0;

	for (unsigned i = 0; i < KVP_POOL_COUNT; i++)
		if (ctx->pools[i] && kvp_pool_pending(ctx->pools[i]) > 0)
			left += MAX(kvp_pool_flush(ctx->pools[i]), 0);
	if (left == 0)
		return sd_event_source_set_enabled(s, SD_EVENT_OFF);
	return sd_event_source_set_time_relative(s, KVP_POOL_DEFER_RETRY_USEC);
}

static void schedule_flush(struct hvkvp_ctx *ctx)
{
	bool pending = false;
	int enabled = SD_EVENT_OFF;

	for (unsigned i = 0; i < KVP_POOL_COUNT; i++)
		pending |= ctx->pools[i] && kvp_pool_pending(ctx->pools[i]) > 0;
	if (!pending)
		return;
	if (!flush_timer) {
		if (sd_event_add_time_relative(loop_event, &flush_timer, CLOCK_MONOTONIC,
					       KVP_POOL_DEFER_RETRY_USEC, 0, on_flush, ctx) < 0)
			log_warning("cannot schedule the deferred pool writes; they wait for the next request");
		return;
	}
	(void)sd_event_source_get_enabled(flush_timer, &enabled);
	if (enabled == SD_EVENT_OFF) {
		(void)sd_event_source_set_time_relative(flush_timer, KVP_POOL_DEFER_RETRY_USEC);
		(void)sd_event_source_set_enabled(flush_timer, SD_EVENT_ONESHOT);
	}
}

/* A pool that cannot be used (a symbolic link, too large, unreadable) is
 * served in its degraded way; STATUS= names it while it lasts. */
static void pool_health_status(struct hvkvp_ctx *ctx, char *buf, size_t size)
{
	char one[128];

	buf[0] = '\0';
	for (unsigned i = 0; i < KVP_POOL_COUNT; i++) {
		if (i == KVP_POOL_AUTO || !ctx->pools[i] || kvp_pool_health(ctx->pools[i], one, sizeof(one)) == 0)
			continue;
		strprintf(buf + strlen(buf), size - strlen(buf), "%spool %u: %s", buf[0] ? "; " : "", i, one);
	}
}

static void on_replied(void *userdata)
{
	struct hvkvp_ctx *ctx = userdata;
	static char last_health[512];
	char health[512];

	schedule_flush(ctx);
	pool_health_status(ctx, health, sizeof(health));
	if (ctx->status_changed || !streq(health, last_health)) {
		ctx->status_changed = false;
		strscpy(last_health, sizeof(last_health), health);
		if (health[0])
			notify_status("%s; degraded: %s", ctx->status[0] ? ctx->status : "serving host requests",
				      health);
		else if (ctx->status[0])
			notify_status("%s", ctx->status);
	}
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	log_info("received %s, stopping", strsignal((int)si->ssi_signo));
	sd_event_exit(sd_event_source_get_event(s), 0);
	return 0;
}

static void ctx_donep(struct hvkvp_ctx **p)
{
	if (*p)
		hvkvp_ctx_done(*p);
}

/* SIGTERM/SIGINT end the loop; SIGPIPE and SIGHUP change nothing. */
static int setup_signals(sd_event *event)
{
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a reload would change nothing that a restart does not do better */
	signal(SIGHUP, SIG_IGN);

	r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, NULL);
	if (r >= 0)
		r = sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL);
	return r;
}

/* Settings applied through netlink live only in the kernel: put them back
 * before telling systemd we are ready. */
static void reapply_saved(struct hvkvp_ctx *ctx)
{
	char status[256] = "";

	link_config_reapply(ctx->link_config, status, sizeof(status));
	if (status[0])
		notify_status("%s", status);
}

static int run(const struct conf *cfg)
{
	static const struct kvp_device_ops ops = {
		.registered = on_registered,
		.request = on_request,
		.replied = on_replied,
	};
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	_cleanup_(ctx_donep) struct hvkvp_ctx *ctx = NULL;
	_cleanup_(link_monitor_freep) struct link_monitor *monitor = NULL;
	_cleanup_(kvp_device_freep) struct kvp_device *device = NULL;
	static struct hvkvp_ctx ctx_storage;
	struct link_config_options ipo = {
		.state_dir = cfg->state_dir,
		.forced_backend = cfg->backend,
		.budget_usec = cfg->budget_usec,
		.conflict_probe_usec = cfg->conflict_probe_usec,
		.announce = true,
	};
	int r;

	r = sd_event_default(&event);
	if (r < 0)
		return log_error_errno(r, "cannot create the event loop");
	r = setup_signals(event);
	if (r < 0)
		return log_error_errno(r, "cannot handle SIGTERM/SIGINT");
	/* WATCHDOG=1 from the loop itself, so a stuck loop is noticed */
	sd_event_set_watchdog(event, true);

	/* test seam only: a fake sysfs tree for the adapter resolver */
	if (streq_ptr(getenv("HVKVPD_TEST_SEAMS"), "1"))
		ipo.sysfs_root = getenv("HVKVPD_TEST_SYSFS_ROOT");

	/* hvkvp_ctx_init() logs why it failed */
	r = hvkvp_ctx_init(&ctx_storage, cfg->pool_dir, NULL, &ipo);
	if (r < 0) {
		notify_status_errno(r, "cannot start: %s", strerror(-r));
		return r;
	}
	ctx = &ctx_storage;
	/* state files named in an older spelling of the MAC (adapter.h) */
	r = state_migrate_names(cfg->state_dir);
	if (r < 0)
		log_warning_errno(r, "cannot look for old state file names in %s", cfg->state_dir);
	reapply_saved(ctx);
	if (osinfo_lookup_fqdn_async(&ctx->osinfo, event) < 0)
		log_debug("canonical host name lookup not started; reporting '%s'", ctx->osinfo.fqdn);

	if (link_monitor_new(event, ctx->link_config, &monitor) < 0)
		log_warning("cannot watch link events; \"waiting for carrier\" will not clear by itself");
	log_info("hvkvpd " PKG_VERSION " starting (device %s, pools in %s)", cfg->device,
		 cfg->pool_dir);
	r = kvp_device_new(event, cfg->device, &ops, ctx, &device);
	if (r < 0)
		return log_error_errno(r, "cannot set up the KVP device");
	kvp_device_start(device);

	loop_event = event;
	r = sd_event_loop(event);
	flush_timer = sd_event_source_disable_unref(flush_timer);
	loop_event = NULL;
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	if (r < 0)
		return log_error_errno(r, "event loop failed");
	return 0;
}

/* ---- the command line ----------------------------------------------------------- */

static const struct option options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "device", required_argument, NULL, 'D' },
	{ "pool-dir", required_argument, NULL, 'p' },
	{ "state-dir", required_argument, NULL, 's' },
	{ "backend", required_argument, NULL, 'b' },
	{ "reply-budget", required_argument, NULL, 'R' },
	{ "debug", no_argument, NULL, 'd' },
	{ "no-daemon", no_argument, NULL, 'n' },
	{ "log-target", required_argument, NULL, 'L' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{}
};
#define SHORT_OPTIONS "c:D:p:s:b:dnhV"

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
	       "  -b, --backend=NAME     auto, networkmanager, networkd, ifupdown or netlink\n"
	       "                         (default auto: per link)\n"
	       "      --reply-budget=SEC longest time before answering SET_IP_INFO\n"
	       "                         (default 20, at most 25)\n"
	       "  -d, --debug            log every request (LogLevel=debug)\n"
	       "  -n, --no-daemon        accepted for hv_kvp_daemon compatibility (always foreground)\n"
	       "      --log-target=T     auto, stderr or journal (default auto)\n"
	       "  -h, --help             show this help\n"
	       "  -V, --version          show the version\n"
	       "\n"
	       "Options given here override " CONF_DEFAULT_PATH " (see hvkvpd.conf(5)).\n"
	       "Exit status: 0 stopped cleanly, 1 failed to start or run, 2 bad usage or\n"
	       "a bad configuration file.\n");
}

/* The file first, so that every option given on the command line wins.
 * Returns 0 or the exit status 2. */
static int load_conf(int argc, char **argv, struct conf *cfg)
{
	const char *path = CONF_DEFAULT_PATH;
	bool given = false;
	char err[512];
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, SHORT_OPTIONS, options, NULL)) >= 0)
		if (c == 'c') {
			path = optarg;
			given = true;
		}
	opterr = 1;
	optind = 0;
	conf_defaults(cfg);
	if (conf_load(cfg, path, given, err, sizeof(err)) < 0) {
		fprintf(stderr, "hvkvpd: %s\n", err);
		return 2;
	}
	return 0;
}

static int parse_backend(const char *v, struct conf *cfg)
{
	if (!backend_name_valid(v)) {
		fprintf(stderr, "hvkvpd: --backend: '%s' is not auto, networkmanager, networkd, ifupdown or netlink\n",
			v);
		return 2;
	}
	if (!backend_available(v)) {
		fprintf(stderr, "hvkvpd: --backend: '%s' is not built into this hvkvpd\n", v);
		return 2;
	}
	strscpy(cfg->backend, sizeof(cfg->backend), v);
	return 0;
}

static int parse_log_target(const char *v, enum log_target *ret)
{
	if (streq(v, "stderr"))
		*ret = LOG_TARGET_STDERR;
	else if (streq(v, "journal"))
		*ret = LOG_TARGET_JOURNAL;
	else if (streq(v, "auto"))
		*ret = LOG_TARGET_AUTO;
	else {
		fprintf(stderr, "hvkvpd: --log-target: '%s' is not auto, stderr or journal\n", v);
		return 2;
	}
	return 0;
}

/* One option; returns 0 or the exit status. */
static int parse_option(struct args *a, int c, const char *v)
{
	switch (c) {
	case 'c':
		return 0;
	case 's':
		strscpy(a->cfg.state_dir, sizeof(a->cfg.state_dir), v);
		return 0;
	case 'b':
		return parse_backend(v, &a->cfg);
	case 'R':
		if (conf_parse_budget(v, &a->cfg.budget_usec) < 0) {
			fprintf(stderr, "hvkvpd: --reply-budget: '%s' is not a number of seconds in 1..25 (the driver gives up after 30)\n",
				v);
			return 2;
		}
		return 0;
	case 'D':
		strscpy(a->cfg.device, sizeof(a->cfg.device), v);
		return 0;
	case 'p':
		strscpy(a->cfg.pool_dir, sizeof(a->cfg.pool_dir), v);
		return 0;
	case 'd':
		a->debug = true;
		return 0;
	case 'n':
		/* upstream hv_kvp_daemon's "stay in the foreground", which units
		 * and scripts written for it pass; hvkvpd never forks */
		return 0;
	case 'L':
		return parse_log_target(v, &a->target);
	case 'h':
		help();
		a->done = true;
		return 0;
	case 'V':
		printf("hvkvpd " PKG_VERSION "\n");
		a->done = true;
		return 0;
	default:
		fprintf(stderr, "Try 'hvkvpd --help'.\n");
		return 2;
	}
}

/* Returns 0 or the exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
	int c, status;

	status = load_conf(argc, argv, &a->cfg);
	if (status != 0)
		return status;
	while ((c = getopt_long(argc, argv, SHORT_OPTIONS, options, NULL)) >= 0) {
		status = parse_option(a, c, optarg);
		if (status != 0 || a->done)
			return status;
	}
	if (optind < argc) {
		fprintf(stderr, "hvkvpd: unexpected argument '%s'\nTry 'hvkvpd --help'.\n", argv[optind]);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct args a = { .target = LOG_TARGET_AUTO };
	int status;

	status = parse_args(argc, argv, &a);
	if (status != 0 || a.done)
		return status;
	log_set_max_level(a.debug ? LOG_DEBUG : a.cfg.log_level);
	log_setup("hvkvpd", a.target);
	return run(&a.cfg) < 0 ? 1 : 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hvkvp-emu.c - the emulated Hyper-V host and KVP kernel device: command line and main loop. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "emu-ctl.h"
#include "emu-device.h"
#include "emu-host.h"
#include "emu-routine.h"
#include "log.h"
#include "util.h"

#define DEFAULT_TIMEOUT_SEC 30.0 /* HV_UTIL_TIMEOUT */
#define DEFAULT_POLL_SEC 30     /* not documented by Microsoft; see hvkvp-emu(1) */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hvkvp-emu serve --mount DIR|--kdev DEV --control SOCKET [--timeout SEC]\n"
		"                       [--version STR] [--params default|none|FILE]\n"
		"                       [--vm-name NAME] [--poll SEC] [--poll-adapter MAC]...\n"
		"                       [--quiet-host] [--debug]\n"
		"       hvkvp-emu ctl --control SOCKET [--wait SEC] COMMAND [OPTIONS...]\n"
		"       hvkvp-emu --help | --version\n"
		"\n"
		"An emulated Hyper-V host and KVP kernel device, so that a KVP daemon\n"
		"(hvkvpd, or the upstream hv_kvp_daemon) runs end to end without Hyper-V.\n"
		"\n"
		"serve  mounts a FUSE file system at DIR whose file DIR/hv_kvp behaves like\n"
		"       /dev/vmbus/hv_kvp (drivers/hv/hv_kvp.c + hv_utils_transport.c): one\n"
		"       opener (EBUSY for a second), the REGISTER1/REGISTER handshake, exactly\n"
		"       one 7432-byte message per read() (EINVAL for a smaller buffer), writes\n"
		"       of another size rejected, poll(), one host transaction at a time with a\n"
		"       deadline, a full reset on close. Host requests arrive on the control\n"
		"       socket and wait until a daemon has registered. Runs until SIGTERM or\n"
		"       SIGINT, then fails what is in flight, unmounts and removes the socket.\n"
		"  --mount DIR       where to mount (e.g. /dev/vmbus in a private mount\n"
		"                    namespace); must exist\n"
		"  --kdev DEV        instead of FUSE, serve the real /dev/vmbus/hv_kvp of the\n"
		"                    test module hv_kvp_test.ko (QEMU system tests) through\n"
		"                    its host end DEV (/dev/hvkvp_host)\n"
		"  --control SOCKET  path of the control socket (AF_UNIX, SOCK_SEQPACKET)\n"
		"  --timeout SEC     the driver's deadline for a daemon reply (default 30,\n"
		"                    fractions allowed); after it the host records HV_E_FAIL\n"
		"                    and a late reply gets EINVAL\n"
		"  --version STR     version string of the registration reply (default \"3.1\")\n"
		"  --params WHAT     the Guest\\Parameter items (pool 3) the host writes each\n"
		"                    time a daemon registers: \"default\" (the 16 items an\n"
		"                    Azure host writes, with invented values), \"none\", or a\n"
		"                    FILE of KEY=VALUE lines\n"
		"  --vm-name NAME    VirtualMachineName of the default items (\"hvemu-vm\")\n"
		"  --poll SEC        every SEC seconds while a daemon is registered, read the\n"
		"                    auto pool (pool 2) from index 0 to its end and the IP\n"
		"                    configuration of each --poll-adapter (default 30; 0: never)\n"
		"  --poll-adapter MAC  an adapter the periodic reads ask GET_IP_INFO for\n"
		"  --quiet-host      neither items nor periodic reads: the host sends only\n"
		"                    what the control socket asks for (tests that count)\n"
		"  --debug           log every message and device operation\n"
		"\n"
		"ctl    plays the host: sends one command to a running emulator and prints\n"
		"       its JSON answer (see `hvkvp-emu ctl --help`).\n"
		"  --control SOCKET  the emulator's control socket\n"
		"  --wait SEC        how long a request may wait for a daemon to register and\n"
		"                    reply (default %d)\n"
		"\n",
		EMU_CTL_DEFAULT_WAIT_SEC);
	emu_ctl_print_commands(f);
	fprintf(f,
		"\n"
		"ctl exit status: 0 the command ran (whatever the daemon's code), 1 it could\n"
		"not complete (no emulator, no daemon within --wait), 2 usage error.\n"
		"serve exit status: 0 after SIGTERM/SIGINT, 1 on errors.\n");
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	log_info("signal %u received, stopping", si->ssi_signo);
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

struct serve_args {
	struct emu_host_config cfg;
	struct emu_routine_config routine;
	const char *params;  /* "default", "none" or a file */
	const char *vm_name;
	const char *mount;
	const char *kdev;
	const char *control;
};

/* Returns -1 to go on serving, else the exit status. */
static int serve_parse(int argc, char **argv, struct serve_args *a)
{
	enum { OPT_TIMEOUT = 0x100, OPT_VERSION, OPT_DEBUG, OPT_PARAMS, OPT_VM_NAME, OPT_POLL,
	       OPT_POLL_ADAPTER, OPT_QUIET, OPT_KDEV };
	static const struct option opts[] = {
		{ "mount", required_argument, NULL, 'm' },
		{ "control", required_argument, NULL, 'c' },
		{ "kdev", required_argument, NULL, OPT_KDEV },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "driver-version", required_argument, NULL, OPT_VERSION },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "params", required_argument, NULL, OPT_PARAMS },
		{ "vm-name", required_argument, NULL, OPT_VM_NAME },
		{ "poll", required_argument, NULL, OPT_POLL },
		{ "poll-adapter", required_argument, NULL, OPT_POLL_ADAPTER },
		{ "quiet-host", no_argument, NULL, OPT_QUIET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double secs;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+hm:c:", opts, NULL)) >= 0) {
		switch (c) {
		case 'm':
			a->mount = optarg;
			break;
		case 'c':
			a->control = optarg;
			break;
		case OPT_KDEV:
			a->kdev = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_seconds(optarg, &secs) < 0 || secs <= 0 || secs > 86400) {
				fprintf(stderr, "hvkvp-emu: --timeout: \"%s\" is not a number of seconds in (0, 86400]\n",
					optarg);
				return 2;
			}
			a->cfg.timeout_usec = MAX((uint64_t)(secs * 1e6), (uint64_t)1);
			break;
		case OPT_VERSION:
			if (strlen(optarg) >= HV_KVP_EXCHANGE_MAX_KEY_SIZE) {
				fprintf(stderr, "hvkvp-emu: --version: at most %d bytes\n",
					HV_KVP_EXCHANGE_MAX_KEY_SIZE - 1);
				return 2;
			}
			a->cfg.version = optarg;
			break;
		case OPT_DEBUG:
			a->cfg.debug = true;
			break;
		case OPT_PARAMS:
			a->params = optarg;
			break;
		case OPT_VM_NAME:
			if (strlen(optarg) >= HV_KVP_EXCHANGE_MAX_VALUE_SIZE) {
				fprintf(stderr, "hvkvp-emu: --vm-name: at most %d bytes\n",
					HV_KVP_EXCHANGE_MAX_VALUE_SIZE - 1);
				return 2;
			}
			a->vm_name = optarg;
			break;
		case OPT_POLL:
			if (parse_seconds(optarg, &secs) < 0 || secs < 0 || secs > 86400) {
				fprintf(stderr, "hvkvp-emu: --poll: \"%s\" is not a number of seconds in [0, 86400]\n",
					optarg);
				return 2;
			}
			a->routine.poll_usec = (uint64_t)(secs * 1e6);
			break;
		case OPT_POLL_ADAPTER:
			if (a->routine.n_adapters >= EMU_ROUTINE_MAX_ADAPTERS ||
			    strlen(optarg) > KVP_ADAPTER_ID_BYTES) {
				fprintf(stderr, "hvkvp-emu: --poll-adapter: at most %d, of at most %d bytes\n",
					EMU_ROUTINE_MAX_ADAPTERS, KVP_ADAPTER_ID_BYTES);
				return 2;
			}
			snprintf(a->routine.adapters[a->routine.n_adapters++],
				 sizeof(a->routine.adapters[0]), "%s", optarg);
			break;
		case OPT_QUIET:
			a->params = "none";
			a->routine.poll_usec = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "hvkvp-emu serve: bad option (see --help)\n");
			return 2;
		}
	}
	if (optind < argc || !a->mount == !a->kdev || !a->control) {
		fprintf(stderr, "hvkvp-emu serve: needs --mount DIR or --kdev DEV, and --control SOCKET (see --help)\n");
		return 2;
	}
	if (streq(a->params, "default"))
		emu_routine_default_params(&a->routine, a->vm_name);
	else if (!streq(a->params, "none") && emu_routine_load_params(&a->routine, a->params) < 0)
		return 2;
	return -1;
}

/* The host, the device and the control socket on one event loop until
 * SIGTERM/SIGINT; the exit status. */
static int serve_run(const struct serve_args *a)
{
	struct emu_host *host = NULL;
	struct emu_device *dev = NULL;
	struct emu_ctl_server *ctl = NULL;
	struct emu_routine *routine = NULL;
	sd_event *event = NULL;
	sigset_t mask;
	int r, exit_code = 1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = sd_event_default(&event);
	if (r < 0) {
		log_error_errno(r, "sd_event_default()");
		return 1;
	}
	r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, NULL);
	if (r >= 0)
		r = sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL);
	if (r < 0) {
		log_error_errno(r, "signal handling");
		goto out;
	}
	r = emu_host_new(event, &a->cfg, &host);
	if (r < 0) {
		log_error_errno(r, "setting up the host side");
		goto out;
	}
	if (a->kdev)
		r = emu_device_new_kdev(event, a->kdev, &emu_host_device_ops, host, a->cfg.debug, &dev);
	else
		r = emu_device_new(event, a->mount, &emu_host_device_ops, host, a->cfg.debug, &dev);
	if (r < 0)
		goto out;
	emu_host_attach_device(host, dev);
	r = emu_routine_new(event, host, &a->routine, &routine);
	if (r < 0) {
		log_error_errno(r, "setting up the host's routine");
		goto out;
	}
	emu_host_set_routine(host, emu_routine_state_changed, emu_routine_json, routine);
	if (emu_ctl_server_new(event, a->control, host, &ctl) < 0)
		goto out;
	log_info("ready: deadline %.3g s, driver version \"%s\", %zu pool 3 items, reads every %.3g s",
		 (double)a->cfg.timeout_usec / 1e6, a->cfg.version, a->routine.n_params,
		 (double)a->routine.poll_usec / 1e6);

	r = sd_event_loop(event);
	if (r < 0)
		log_error_errno(r, "stopping");
	else
		exit_code = 0;
out:
	/* Answer everyone who waits (HV_E_FAIL), then unmount and remove the
	 * socket: the order keeps every pointer valid while it is used. */
	if (host)
		emu_host_abort(host);
	emu_ctl_server_free(ctl);
	if (host)
		emu_host_set_routine(host, NULL, NULL, NULL);
	emu_routine_free(routine);
	emu_device_free(dev);
	emu_host_free(host);
	sd_event_unref(event);
	return exit_code;
}

static int serve_main(int argc, char **argv)
{
	struct serve_args a = {
		.cfg = {
			.timeout_usec = (uint64_t)(DEFAULT_TIMEOUT_SEC * 1e6),
			.version = KVP_DRIVER_VERSION,
		},
		.routine = { .poll_usec = DEFAULT_POLL_SEC * 1000000ULL },
		.params = "default",
		.vm_name = "hvemu-vm",
	};
	int status = serve_parse(argc, argv, &a);

	if (status >= 0)
		return status;
	if (a.cfg.debug)
		log_set_max_level(LOG_DEBUG);
	return serve_run(&a);
}

int main(int argc, char **argv)
{
	log_setup("hvkvp-emu", LOG_TARGET_STDERR);

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (streq(argv[1], "--version")) {
		printf("hvkvp-emu %s\n", PKG_VERSION);
		return 0;
	}
	if (streq(argv[1], "serve"))
		return serve_main(argc - 1, argv + 1);
	if (streq(argv[1], "ctl"))
		return emu_ctl_client_main(argc - 1, argv + 1);
	fprintf(stderr, "hvkvp-emu: unknown command \"%s\" (see --help)\n", argv[1]);
	return 2;
}

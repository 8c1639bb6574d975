/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hvkvpctl.c - one-shot tool: the command line, errors, JSON document; commands in hvkvpctl-*.c. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "adapter.h"
#include "backend.h"
#include "hvkvpctl.h"
#include "log.h"

struct conf cfg;
bool arg_json;
const char *arg_sysfs_root;
struct json out;

static int err_status; /* the first error's exit status, 0: none */
static char err_message[1024];

static void help(void)
{
	printf("Usage: hvkvpctl COMMAND [ARGUMENTS] [OPTIONS]\n"
	       "\n"
	       "Applies Hyper-V failover IP settings by hand through the same code as hvkvpd,\n"
	       "shows what the host sent, what was applied and what the link has, and reads\n"
	       "and writes the KVP pools. Options may come anywhere on the line.\n"
	       "\n"
	       "Commands:\n"
	       "  apply ADAPTER SETTINGS... [--dry-run]   apply settings to one adapter; the\n"
	       "                                         address family not named is kept\n"
	       "  apply --file FILE [--dry-run]           apply a settings file (one section per\n"
	       "                                         adapter, WMI property names)\n"
	       "  show [ADAPTER]                          host's, manual and live settings\n"
	       "  revert ADAPTER [--dry-run]              give the adapter its own configuration\n"
	       "                                         back\n"
	       "  pool list [--pool N]                    every record of a pool (or of all)\n"
	       "  pool get --pool N KEY\n"
	       "  pool set --pool N KEY VALUE\n"
	       "  pool delete --pool N KEY\n"
	       "\n"
	       "ADAPTER is a MAC (any spelling), a VMBus GUID or an interface name; apply\n"
	       "also takes it as --adapter ADAPTER.\n"
	       "\n"
	       "Settings (as Set-VMNetworkAdapterFailoverConfiguration names them):\n"
	       "  --ipv4-address A[/N]               (repeatable)\n"
	       "  --ipv4-subnet-mask M               1..32 or a dotted mask; one per address,\n"
	       "                                     or one for all\n"
	       "  --ipv4-default-gateway G           (repeatable)\n"
	       "  --ipv4-preferred-dns-server D      (once)\n"
	       "  --ipv4-alternate-dns-server D      (once)\n"
	       "  --ipv6-address A[/N]               (repeatable)\n"
	       "  --ipv6-subnet-prefix-length N      1..128; one per address, or one for all\n"
	       "  --ipv6-default-gateway G           (repeatable; 5 gateways at most in all)\n"
	       "  --ipv6-preferred-dns-server D      (once)\n"
	       "  --ipv6-alternate-dns-server D      (once)\n"
	       "  --dhcp                             IPv4 from DHCP (DHCPEnabled)\n"
	       "  --clear-ipv4, --clear-ipv6         remove that family's settings\n"
	       "  --dry-run                          show now and would-be; change nothing\n"
	       "\n"
	       "Global options:\n"
	       "  -c, --config PATH     configuration (default " CONF_DEFAULT_PATH ")\n"
	       "  -p, --pool-dir DIR    pool files (default from the configuration)\n"
	       "  -s, --state-dir DIR   failover state (default from the configuration)\n"
	       "  -b, --backend NAME    auto, networkmanager, networkd, ifupdown or netlink\n"
	       "  -j, --json            machine-readable output (one JSON object)\n"
	       "  -v, --verbose         also the engine's own log lines\n"
	       "  -h, --help            this help\n"
	       "  -V, --version         the version\n"
	       "\n"
	       "Examples:\n"
	       "  Static IPv4 for eth0 (its IPv6 settings stay as they are):\n"
	       "    sudo hvkvpctl apply eth0 --ipv4-address 192.0.2.10 --ipv4-subnet-mask 24 \\\n"
	       "         --ipv4-default-gateway 192.0.2.1 --ipv4-preferred-dns-server 192.0.2.53\n"
	       "  See what an apply would change, first:\n"
	       "    hvkvpctl apply eth0 --ipv6-address 2001:db8::10/64 --dry-run\n"
	       "  What the host sent, what was applied by hand, what the link has:\n"
	       "    sudo hvkvpctl show eth0\n"
	       "  Give eth0 its own configuration back:\n"
	       "    sudo hvkvpctl revert eth0\n"
	       "\n"
	       "Exit status: 0 done, 1 failed (rolled back), 2 usage or file error,\n"
	       "3 no such adapter, 4 settings rejected, 5 not supported, 6 busy,\n"
	       "7 not found (pool key, nothing to revert), 8 requires root.\n");
}

static void keep_error(int status, const char *fmt, va_list ap)
{
	char msg[sizeof(err_message)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "hvkvpctl: %s\n", msg);
	if (!err_status) {
		err_status = status;
		strscpy(err_message, sizeof(err_message), msg);
	}
}

int ctl_error(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	keep_error(status, fmt, ap);
	va_end(ap);
	return status;
}

int ctl_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	keep_error(EXIT_USAGE, fmt, ap);
	va_end(ap);
	fputs("Try 'hvkvpctl --help'.\n", stderr);
	return EXIT_USAGE;
}

int ctl_need_root(const char *what)
{
	if (geteuid() == 0)
		return EXIT_OK;
	return ctl_error(EXIT_NO_ROOT, "%s requires root (run with sudo)", what);
}

bool ctl_have_net_admin(void)
{
	_cleanup_free_ char *text = NULL;
	const char *p;
	size_t len;
	unsigned long long caps;

	if (read_file_bounded("/proc/self/status", 0, 64 * 1024, &text, &len) < 0)
		return geteuid() == 0;
	p = strstr(text, "\nCapEff:");
	if (!p || sscanf(p + 8, "%llx", &caps) != 1)
		return geteuid() == 0;
	return caps & (1ULL << 12); /* CAP_NET_ADMIN */
}

int ctl_exit_code(int r)
{
	switch (r) {
	case 0:
		return EXIT_OK;
	case -ENODEV:
		return EXIT_NO_ADAPTER;
	case -EINVAL:
		return EXIT_INVALID;
	case -EOPNOTSUPP:
		return EXIT_UNSUPPORTED;
	case -EBUSY:
		return EXIT_BUSY;
	case -ENOENT:
		return EXIT_NOT_FOUND;
	case -EACCES:
	case -EPERM:
		return EXIT_NO_ROOT;
	default:
		return EXIT_FAILED;
	}
}

/* The "code" of the JSON error object, one per exit status. */
static const char *error_code(int status)
{
	static const char *const names[] = {
		[EXIT_FAILED] = "failed",	    [EXIT_USAGE] = "usage",
		[EXIT_NO_ADAPTER] = "no-adapter",   [EXIT_INVALID] = "invalid-settings",
		[EXIT_UNSUPPORTED] = "unsupported", [EXIT_BUSY] = "busy",
		[EXIT_NOT_FOUND] = "not-found",	    [EXIT_NO_ROOT] = "requires-root",
	};

	if (status > 0 && (size_t)status < ARRAY_SIZE(names) && names[status])
		return names[status];
	return "failed";
}

/* Human output never carries a raw control byte: what the host sent (and
 * what the state and pool files hold) is shown escaped, as the log shows
 * it; --json gives the exact bytes. */
#define ESC_SLOTS 4
static char esc_bufs[ESC_SLOTS][ESCAPED_SIZE(MAX(KVP_IP_ADDR_BYTES, HV_KVP_EXCHANGE_MAX_VALUE_SIZE))];

const char *ctl_esc(unsigned slot, const char *s)
{
	return escape_str(esc_bufs[slot % ESC_SLOTS], sizeof(esc_bufs[0]), s);
}

const char *ctl_esc_line(unsigned slot, const char *s)
{
	log_one_line(esc_bufs[slot % ESC_SLOTS], sizeof(esc_bufs[0]), s);
	return esc_bufs[slot % ESC_SLOTS];
}

void ctl_iso_utc(uint64_t usec, char *buf, size_t size)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;

	if (!usec) {
		strscpy(buf, size, "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void ctl_json_strlist(struct json *j, const char *key, const char *list)
{
	json_key(j, key);
	json_begin_array(j);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		size_t b = 0;

		while (b < len && (p[b] == ' ' || p[b] == '\t'))
			b++;
		while (len > b && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len > b)
			json_string_len(j, p + b, len - b);
		if (!end)
			break;
		p = end + 1;
	}
	json_end_array(j);
}

void ctl_free_link_configp(struct link_config **p)
{
	link_config_free(*p);
}

int ctl_open_link_config(struct kvp_pool **ret_guest, struct link_config **ret)
{
	static char user[64];
	struct link_config_options o = {
		.sysfs_root = arg_sysfs_root,
		.state_dir = cfg.state_dir,
		.forced_backend = cfg.backend,
		.budget_usec = cfg.budget_usec,
		.manual_user = user,
		.conflict_probe_usec = cfg.conflict_probe_usec,
		.announce = true,
	};
	const char *sudo = getenv("SUDO_USER");

	/* who applied by hand: the one behind sudo, else the uid */
	if (!isempty(sudo) && geteuid() == 0)
		snprintf(user, sizeof(user), "%s (uid %u, via sudo)", sudo, (unsigned)getuid());
	else
		snprintf(user, sizeof(user), "uid %u", (unsigned)geteuid());
	/* manual applies write no result line, but the engine wants the
	 * pool for GET_IP_INFO's sake; a missing one is no error here */
	if (kvp_pool_open(cfg.pool_dir, KVP_POOL_GUEST, ret_guest) < 0)
		*ret_guest = NULL;
	return link_config_new(&o, *ret_guest, ret);
}

int ctl_resolve(const char *id, struct adapter *a, char *host_id, size_t size)
{
	int r = adapter_resolve(arg_sysfs_root, id, ADAPTER_MATCH_IFNAME, a);

	if (r == -EINVAL)
		return ctl_error(EXIT_NO_ADAPTER, "'%s' is not a MAC, a VMBus GUID or an interface name",
				 ctl_esc(0, id));
	if (r == -ENODEV)
		return ctl_error(EXIT_NO_ADAPTER,
				 "no network adapter matches '%s' (see 'ip link' for the names)",
				 ctl_esc(0, id));
	if (r < 0)
		return ctl_error(ctl_exit_code(r), "cannot look up '%s': %s", ctl_esc(0, id),
				 strerror(-r));
	if (host_id)
		strscpy(host_id, size, !isempty(a->guid) ? a->guid : a->mac);
	return EXIT_OK;
}

int ctl_check_opts(const struct ctl_args *a, const char *command, const int *allowed)
{
	for (size_t i = 0; i < a->n_opts; i++) {
		int id = a->opts[i].id;
		bool ok = id < 0x100; /* the global ones */

		for (const int *p = allowed; !ok && *p; p++)
			ok = *p == id;
		if (!ok)
			return ctl_usage("%s does not take --%s", command, a->opts[i].name);
	}
	return EXIT_OK;
}

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "pool-dir", required_argument, NULL, O_POOL_DIR },
	{ "state-dir", required_argument, NULL, O_STATE_DIR },
	{ "backend", required_argument, NULL, O_BACKEND },
	{ "json", no_argument, NULL, O_JSON },
	{ "verbose", no_argument, NULL, O_VERBOSE },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ "adapter", required_argument, NULL, O_ADAPTER },
	{ "ipv4-address", required_argument, NULL, O_V4 },
	{ "ipv4-subnet-mask", required_argument, NULL, O_V4MASK },
	{ "ipv4-default-gateway", required_argument, NULL, O_GW4 },
	{ "ipv4-preferred-dns-server", required_argument, NULL, O_DNS4P },
	{ "ipv4-alternate-dns-server", required_argument, NULL, O_DNS4A },
	{ "ipv6-address", required_argument, NULL, O_V6 },
	{ "ipv6-subnet-prefix-length", required_argument, NULL, O_V6LEN },
	{ "ipv6-default-gateway", required_argument, NULL, O_GW6 },
	{ "ipv6-preferred-dns-server", required_argument, NULL, O_DNS6P },
	{ "ipv6-alternate-dns-server", required_argument, NULL, O_DNS6A },
	{ "dhcp", no_argument, NULL, O_DHCP },
	{ "clear-ipv4", no_argument, NULL, O_CLEAR4 },
	{ "clear-ipv6", no_argument, NULL, O_CLEAR6 },
	{ "dry-run", no_argument, NULL, O_DRY },
	{ "file", required_argument, NULL, O_FILE },
	{ "pool", required_argument, NULL, O_POOL },
	{}
};

/* "ipv4-address" for O_V4 (static) */
static const char *long_name(int id)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == id)
			return o->name;
	return "?";
}

/* "--ipv4-address" (a static buffer) */
static const char *opt_name(int id)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "--%s", long_name(id));
	return buf;
}

struct global_args {
	const char *config_path, *pool_dir, *state_dir, *backend;
	bool config_given, help, version, verbose;
};

/* The whole command line in one pass (GNU getopt permutes: options may come
 * after the command and its words; "--" ends them). Returns an exit status. */
static int parse_args(int argc, char **argv, struct global_args *g, struct ctl_args *a)
{
	int o;

	a->opts = calloc((size_t)argc, sizeof(*a->opts));
	if (!a->opts)
		return ctl_error(EXIT_FAILED, "out of memory");
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":c:p:s:b:jvhV", long_opts, NULL)) >= 0) {
		const char *arg = argv[optind - 1];

		if (o == '?') {
			if (optopt)
				return ctl_usage("unknown option '-%c'", optopt);
			return ctl_usage("unknown option '%s'", ctl_esc(0, arg));
		}
		if (o == ':')
			return ctl_usage("%s needs a value", optopt ? opt_name(optopt) : ctl_esc(0, arg));
		/* "--ipv4-address --ipv4-subnet-mask 24": the value is missing,
		 * and getopt took the next option for it */
		if (optarg && optarg[0] == '-' && optarg[1] == '-')
			return ctl_usage("%s needs a value before %s", opt_name(o), ctl_esc(0, optarg));
		switch (o) {
		case O_CONFIG:
			g->config_path = optarg;
			g->config_given = true;
			break;
		case O_POOL_DIR:
			g->pool_dir = optarg;
			break;
		case O_STATE_DIR:
			g->state_dir = optarg;
			break;
		case O_BACKEND:
			if (!backend_name_valid(optarg) || !backend_available(optarg))
				return ctl_usage("--backend '%s' is not valid: give auto, networkmanager, networkd, ifupdown or netlink (built in)",
						 ctl_esc(0, optarg));
			g->backend = optarg;
			break;
		case O_JSON:
			arg_json = true;
			break;
		case O_VERBOSE:
			g->verbose = true;
			break;
		case O_HELP:
			g->help = true;
			break;
		case O_VERSION:
			g->version = true;
			break;
		default:
			a->opts[a->n_opts++] = (struct ctl_optval){ o, long_name(o), optarg };
			break;
		}
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	return EXIT_OK;
}

/* The configuration file, then the options that override it; returns an exit status. */
static int load_conf(const struct global_args *g)
{
	char err[512];

	conf_defaults(&cfg);
	if (conf_load(&cfg, g->config_path, g->config_given, err, sizeof(err)) < 0)
		return ctl_error(EXIT_USAGE, "%s", err);
	if (g->pool_dir)
		strscpy(cfg.pool_dir, sizeof(cfg.pool_dir), g->pool_dir);
	if (g->state_dir)
		strscpy(cfg.state_dir, sizeof(cfg.state_dir), g->state_dir);
	if (g->backend)
		strscpy(cfg.backend, sizeof(cfg.backend), g->backend);
	return EXIT_OK;
}

static int run_command(const struct ctl_args *a)
{
	const char *cmd = a->argv[0];

	if (arg_json)
		json_kv_string(&out, "command", cmd);
	if (streq(cmd, "apply"))
		return cmd_apply(a);
	if (streq(cmd, "show"))
		return cmd_show(a);
	if (streq(cmd, "revert"))
		return cmd_revert(a);
	if (streq(cmd, "pool"))
		return cmd_pool(a);
	if (streq(cmd, "help")) {
		help();
		return EXIT_OK;
	}
	return ctl_usage("'%s' is not a command (apply, show, revert or pool)", ctl_esc(0, cmd));
}

/* With --json, stdout gets one object whatever happened: the command's
 * members, and "error" when it failed. */
static void finish_json(int ec)
{
	char *doc = NULL;
	size_t len;

	if (ec != EXIT_OK) {
		json_key(&out, "error");
		json_begin_object(&out);
		json_kv_string(&out, "code", error_code(err_status ?: ec));
		json_kv_string(&out, "message", err_status ? err_message : "failed");
		json_kv_int(&out, "exit_status", ec);
		json_end_object(&out);
	}
	json_end_object(&out);
	if (json_finish(&out, &doc, &len) >= 0) {
		fwrite(doc, 1, len, stdout);
		fputc('\n', stdout);
	} else /* a command left the document unbalanced: still say something */
		printf("{\"error\":{\"code\":\"failed\",\"message\":\"internal error writing JSON\",\"exit_status\":%d}}\n",
		       ec ?: EXIT_FAILED);
	free(doc);
}

int main(int argc, char **argv)
{
	struct global_args g = { .config_path = CONF_DEFAULT_PATH };
	struct ctl_args a = { 0 };
	int ec;

	/* --json anywhere, even after a mistake on the line, asks for JSON */
	for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
		if (streq(argv[i], "--json") || streq(argv[i], "-j"))
			arg_json = true;
	json_init(&out);
	json_begin_object(&out);

	ec = parse_args(argc, argv, &g, &a);
	if (ec == EXIT_OK && (g.help || g.version)) {
		json_done(&out);
		free(a.opts);
		if (g.version)
			printf("hvkvpctl " PKG_VERSION "\n");
		else
			help();
		return EXIT_OK;
	}
	if (ec == EXIT_OK && a.argc == 0)
		ec = ctl_usage("no command given (apply, show, revert or pool)");
	if (ec == EXIT_OK)
		ec = load_conf(&g);
	if (ec == EXIT_OK) {
		log_setup("hvkvpctl", LOG_TARGET_STDERR);
		/* the engine logs in the host's terms (IPAddresses[0]...); hvkvpctl
		 * says it again in the user's, so its lines are for -v only */
		log_set_max_level(g.verbose ? (cfg.log_level > LOG_INFO ? cfg.log_level : LOG_INFO)
					    : LOG_CRIT);
		if (streq_ptr(getenv("HVKVPD_TEST_SEAMS"), "1"))
			arg_sysfs_root = getenv("HVKVPD_TEST_SYSFS_ROOT");
		ec = run_command(&a);
	}
	if (arg_json)
		finish_json(ec);
	else
		json_done(&out);
	free(a.opts);
	return ec;
}

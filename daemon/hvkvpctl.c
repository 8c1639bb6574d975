/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hvkvpctl.c - one-shot tool: apply failover settings by hand, show state, read and write the pools. */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "adapter.h"
#include "addr-probe.h"
#include "backend.h"
#include "conf.h"
#include "failover.h"
#include "hv-error.h"
#include "link-config.h"
#include "json.h"
#include "log.h"
#include "netlink.h"
#include "pool.h"
#include "settings-file.h"
#include "state.h"
#include "util.h"

/* Exit codes (documented in hvkvpctl(8)). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,       /* the operation failed (an apply was rolled back) */
	EXIT_USAGE = 2,	       /* bad command line, settings file or configuration */
	EXIT_NO_ADAPTER = 3,   /* no adapter matches */
	EXIT_INVALID = 4,      /* the settings were rejected; nothing changed */
	EXIT_UNSUPPORTED = 5,  /* e.g. DHCP where nothing on the link can do it */
	EXIT_BUSY = 6,	       /* another apply holds the lock */
	EXIT_NOT_FOUND = 7,    /* pool key not found */
};

static int exit_code(int r)
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
	default:
		return EXIT_FAILED;
	}
}

static struct conf cfg;
static bool arg_json;
static const char *arg_sysfs_root;

static void help(void)
{
	printf("Usage: hvkvpctl [GLOBAL OPTIONS] COMMAND ...\n"
	       "\n"
	       "Applies Hyper-V failover IP settings by hand through the same code as hvkvpd,\n"
	       "shows what the host sent and what was applied, and reads and writes the KVP pools.\n"
	       "\n"
	       "Commands:\n"
	       "  apply --adapter ID [SETTINGS] [--dry-run]   apply settings to one adapter\n"
	       "  apply --file FILE [--dry-run]                apply a settings file (one section\n"
	       "                                               per adapter, WMI property names)\n"
	       "  show [--adapter ID]                          host's settings, result, live state\n"
	       "  pool list [--pool N]                         every record of a pool (or all)\n"
	       "  pool get --pool N KEY\n"
	       "  pool set --pool N KEY VALUE\n"
	       "  pool delete --pool N KEY\n"
	       "\n"
	       "Settings (named after Set-VMNetworkAdapterFailoverConfiguration; repeatable\n"
	       "where several values make sense):\n"
	       "  --adapter ID                       MAC, VMBus GUID or interface name\n"
	       "  --ipv4-address A                   (repeatable)\n"
	       "  --ipv4-subnet-mask M               one per address, or one for all\n"
	       "  --ipv4-default-gateway G           (repeatable; at most 5 gateways in all)\n"
	       "  --ipv4-preferred-dns-server D\n"
	       "  --ipv4-alternate-dns-server D\n"
	       "  --ipv6-address A                   (repeatable)\n"
	       "  --ipv6-subnet-prefix-length N      one per address, or one for all\n"
	       "  --ipv6-default-gateway G           (repeatable)\n"
	       "  --ipv6-preferred-dns-server D\n"
	       "  --ipv6-alternate-dns-server D\n"
	       "  --dhcp                             DHCP for IPv4 (DHCPEnabled)\n"
	       "  --dry-run                          print the plan, change nothing\n"
	       "\n"
	       "Global options:\n"
	       "  -c, --config PATH     configuration (default " CONF_DEFAULT_PATH ")\n"
	       "  -p, --pool-dir DIR    pool files (default from the configuration)\n"
	       "  -s, --state-dir DIR   failover state (default from the configuration)\n"
	       "  -b, --backend NAME    auto, networkmanager, networkd or netlink\n"
	       "  -j, --json            machine-readable output\n"
	       "  -h, --help            this help\n"
	       "  -V, --version         the version\n"
	       "\n"
	       "Exit status: 0 done, 1 failed (rolled back), 2 usage or file error,\n"
	       "3 no such adapter, 4 settings rejected, 5 not supported, 6 busy\n"
	       "(another apply is running), 7 pool key not found.\n");
}

static int usage(const char *fmt, ...) _printf_(1, 2);
static int usage(const char *fmt, ...)
{
	va_list ap;

	fputs("hvkvpctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'hvkvpctl --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Human output never carries a raw control byte: what the host sent (and
 * what the state and pool files hold) is shown escaped, as the log shows
 * it; --json gives the exact bytes. Each slot is one buffer, so up to four
 * escaped strings can go into one printf. */
#define ESC_SLOTS 4
static char esc_bufs[ESC_SLOTS][ESCAPED_SIZE(MAX(KVP_IP_ADDR_BYTES, HV_KVP_EXCHANGE_MAX_VALUE_SIZE))];

/* A host string, escaped. */
static const char *esc(unsigned slot, const char *s)
{
	return escape_str(esc_bufs[slot], sizeof(esc_bufs[slot]), s);
}

/* A message of ours that quotes host strings (escaped already): made one
 * line, its backslashes kept. */
static const char *esc_line(unsigned slot, const char *s)
{
	log_one_line(esc_bufs[slot], sizeof(esc_bufs[slot]), s);
	return esc_bufs[slot];
}

static void print_json(struct json *j)
{
	char *doc = NULL;
	size_t len;

	if (json_finish(j, &doc, &len) >= 0) {
		fwrite(doc, 1, len, stdout);
		fputc('\n', stdout);
	}
	free(doc);
}

/* link-config.h has no cleanup helper (yet): a local one */
static void free_link_configp(struct link_config **p)
{
	link_config_free(*p);
}

static int open_link_config(struct kvp_pool **ret_guest, struct link_config **ret)
{
	struct link_config_options o = {
		.sysfs_root = arg_sysfs_root,
		.state_dir = cfg.state_dir,
		.forced_backend = cfg.backend,
		.budget_usec = cfg.budget_usec,
		.conflict_probe_usec = cfg.conflict_probe_usec,
		.announce = true,
	};
	int r;

	/* the result line goes to the guest pool, as when hvkvpd applies */
	r = kvp_pool_open(cfg.pool_dir, KVP_POOL_GUEST, ret_guest);
	if (r < 0)
		*ret_guest = NULL;
	return link_config_new(&o, *ret_guest, ret);
}

/* ---- building the host's strings ------------------------------------------------- */

struct cli_settings {
	const char *adapter;
	const char *v4[FAILOVER_MAX_ADDRS], *v4mask[FAILOVER_MAX_ADDRS];
	const char *v6[FAILOVER_MAX_ADDRS], *v6len[FAILOVER_MAX_ADDRS];
	const char *gw4[8], *gw6[8];
	const char *dns4[2], *dns6[2]; /* preferred, alternate */
	size_t n4, n4mask, n6, n6len, ngw4, ngw6;
	bool dhcp;
};

static int push(const char **arr, size_t *n, size_t max, const char *v, const char *opt)
{
	if (*n >= max)
		return usage("%s given more than %zu times", opt, max);
	arr[(*n)++] = v;
	return 0;
}

/* Pairs addresses with masks the way the PowerShell cmdlet does (one each),
 * or one mask for all addresses of a family. */
static int cli_to_fields(const struct cli_settings *c, struct kvp_ip_fields *f)
{
	int r = 0;

	if (c->n4mask != c->n4 && !(c->n4mask == 1 && c->n4 > 1))
		return usage("%zu --ipv4-address but %zu --ipv4-subnet-mask (give one per address, or one for all)",
			     c->n4, c->n4mask);
	if (c->n6len != c->n6 && !(c->n6len == 1 && c->n6 > 1))
		return usage("%zu --ipv6-address but %zu --ipv6-subnet-prefix-length (give one per address, or one for all)",
			     c->n6, c->n6len);
	for (size_t i = 0; i < c->n4 && r == 0; i++) {
		r = strlist_append(f->ip_addr, sizeof(f->ip_addr), c->v4[i]);
		r = r ?: strlist_append(f->sub_net, sizeof(f->sub_net), c->v4mask[c->n4mask == 1 ? 0 : i]);
	}
	for (size_t i = 0; i < c->n6 && r == 0; i++) {
		r = strlist_append(f->ip_addr, sizeof(f->ip_addr), c->v6[i]);
		r = r ?: strlist_append(f->sub_net, sizeof(f->sub_net), c->v6len[c->n6len == 1 ? 0 : i]);
	}
	for (size_t i = 0; i < c->ngw4 && r == 0; i++)
		r = strlist_append(f->gate_way, sizeof(f->gate_way), c->gw4[i]);
	for (size_t i = 0; i < c->ngw6 && r == 0; i++)
		r = strlist_append(f->gate_way, sizeof(f->gate_way), c->gw6[i]);
	for (size_t i = 0; i < 2 && r == 0; i++)
		if (c->dns4[i])
			r = strlist_append(f->dns_addr, sizeof(f->dns_addr), c->dns4[i]);
	for (size_t i = 0; i < 2 && r == 0; i++)
		if (c->dns6[i])
			r = strlist_append(f->dns_addr, sizeof(f->dns_addr), c->dns6[i]);
	if (r < 0)
		return usage("the settings are longer than the host's fields allow");
	f->dhcp_enabled = c->dhcp;
	f->addr_family = (c->n4 || c->ngw4 ? ADDR_FAMILY_IPV4 : 0) |
			 (c->n6 || c->ngw6 ? ADDR_FAMILY_IPV6 : 0);
	return 0;
}

/* The host names adapters by GUID (or MAC); hvkvpctl also takes a name. */
static int resolve_for_host(const char *id, struct adapter *a, char *host_id, size_t size)
{
	int r = adapter_resolve(arg_sysfs_root, id, ADAPTER_MATCH_IFNAME, a);

	if (r == -EINVAL)
		fprintf(stderr, "hvkvpctl: '%s' is not a MAC, a VMBus GUID or an interface name\n", id);
	else if (r == -ENODEV)
		fprintf(stderr, "hvkvpctl: no network adapter matches '%s'\n", id);
	else if (r < 0)
		fprintf(stderr, "hvkvpctl: cannot look up '%s': %s\n", id, strerror(-r));
	if (r < 0)
		return r;
	strscpy(host_id, size, !isempty(a->guid) ? a->guid : a->mac);
	return 0;
}

/* ---- apply ----------------------------------------------------------------------- */

static void print_addr_list(const char *title, const struct link_state *l)
{
	char ip[INET6_ADDRSTRLEN];

	printf("  %-16s", title);
	for (size_t i = 0, n = 0; i < l->n_addrs; i++) {
		if (l->addrs[i].scope != 0)
			continue; /* link-local addresses are nobody's to change */
		printf("%s%s/%u", n++ ? ", " : "",
		       failover_ip_to_string(l->addrs[i].family, &l->addrs[i].addr, ip, sizeof(ip)),
		       l->addrs[i].prefixlen);
	}
	printf("\n  %-16s", "");
	for (size_t i = 0, n = 0; i < l->n_routes; i++)
		if (l->routes[i].has_gateway)
			printf("%sdefault via %s metric %u", n++ ? ", " : "",
			       failover_ip_to_string(l->routes[i].family, &l->routes[i].gateway, ip,
						     sizeof(ip)),
			       l->routes[i].metric);
	printf("\n");
}

static void print_settings(const char *title, const struct failover_settings *s)
{
	char ip[INET6_ADDRSTRLEN];

	printf("  %-16s", title);
	for (size_t i = 0; i < s->n_addrs; i++)
		printf("%s%s/%u", i ? ", " : "",
		       failover_ip_to_string(s->addrs[i].family, &s->addrs[i].addr, ip, sizeof(ip)),
		       s->addrs[i].prefixlen);
	if (s->dhcp4)
		printf("%sDHCPv4", s->n_addrs ? ", " : "");
	printf("\n  %-16s", "");
	for (size_t i = 0; i < s->n_gateways; i++)
		printf("%sdefault via %s", i ? ", " : "",
		       failover_ip_to_string(s->gateways[i].family, &s->gateways[i].addr, ip,
					     sizeof(ip)));
	printf("\n  %-16s", "DNS");
	for (size_t i = 0; i < s->n_dns; i++)
		printf("%s%s", i ? ", " : "",
		       failover_ip_to_string(s->dns[i].family, &s->dns[i].addr, ip, sizeof(ip)));
	printf("\n");
}

static void json_settings(struct json *j, const char *key, const struct failover_settings *s)
{
	char ip[INET6_ADDRSTRLEN];

	json_key(j, key);
	json_begin_object(j);
	json_key(j, "addresses");
	json_begin_array(j);
	for (size_t i = 0; i < s->n_addrs; i++) {
		char buf[INET6_ADDRSTRLEN + 8];
		snprintf(buf, sizeof(buf), "%s/%u",
			 failover_ip_to_string(s->addrs[i].family, &s->addrs[i].addr, ip, sizeof(ip)),
			 s->addrs[i].prefixlen);
		json_string(j, buf);
	}
	json_end_array(j);
	json_key(j, "gateways");
	json_begin_array(j);
	for (size_t i = 0; i < s->n_gateways; i++)
		json_string(j, failover_ip_to_string(s->gateways[i].family, &s->gateways[i].addr, ip,
						     sizeof(ip)));
	json_end_array(j);
	json_key(j, "dns");
	json_begin_array(j);
	for (size_t i = 0; i < s->n_dns; i++)
		json_string(j, failover_ip_to_string(s->dns[i].family, &s->dns[i].addr, ip, sizeof(ip)));
	json_end_array(j);
	json_kv_bool(j, "dhcp4", s->dhcp4);
	json_end_object(j);
}

static void print_plan(const struct kvp_ip_fields *f, int r, const struct adapter *a,
		       const char *backend, const struct failover_settings *s,
		       const struct link_state *now, const char *err)
{
	struct json j;

	if (arg_json) {
		json_init(&j);
		json_begin_object(&j);
		json_kv_bool(&j, "dry_run", true);
		json_kv_string(&j, "adapter_id", f->adapter_id);
		if (r == 0) {
			json_kv_string(&j, "ifname", a->ifname);
			json_kv_string(&j, "backend", backend);
			json_settings(&j, "settings", s);
		} else
			json_kv_string(&j, "error", err);
		json_kv_string(&j, "result", r == 0 ? "ok" : "rejected");
		json_end_object(&j);
		print_json(&j);
	} else if (r == 0) {
		printf("%s (%s): would apply through %s; nothing changed (dry run)\n", a->ifname,
		       a->mac, backend);
		print_addr_list("now:", now);
		print_settings("would be:", s);
	} else
		fprintf(stderr, "hvkvpctl: %s\n", esc_line(0, err));
}

static int plan_one(struct link_config *ic, const struct kvp_ip_fields *f)
{
	_cleanup_free_ struct failover_settings *s = malloc(sizeof(*s));
	_cleanup_free_ struct link_state *now = NULL;
	const char *backend = NULL;
	struct adapter a;
	char err[256] = "";
	int r;

	if (!s)
		return -ENOMEM;
	r = link_config_plan(ic, f, &a, &backend, s, &now, err, sizeof(err));
	print_plan(f, r, &a, backend, s, now, err);
	return r;
}

static void print_result(const struct kvp_ip_fields *f, int r, const struct link_config_result *res)
{
	struct json j;

	if (arg_json) {
		json_init(&j);
		json_begin_object(&j);
		json_kv_string(&j, "adapter_id", f->adapter_id);
		json_kv_string(&j, "ifname", res->ifname);
		json_kv_string(&j, "backend", res->backend);
		json_kv_string(&j, "result", hv_error_to_string(hv_error_from_errno(r)));
		json_kv_string(&j, "message", res->message);
		json_kv_bool(&j, "waiting_for_carrier", res->waiting_for_carrier);
		json_end_object(&j);
		print_json(&j);
	} else if (r == 0)
		printf("%s: %s through %s%s\n", esc(0, res->ifname), esc_line(1, res->message),
		       res->backend,
		       res->waiting_for_carrier ? " (no carrier yet: it applies when the cable is up)"
						: "");
	else
		fprintf(stderr, "hvkvpctl: %s: %s\n",
			esc(0, isempty(res->ifname) ? f->adapter_id : res->ifname),
			esc_line(1, res->message));
}

static int apply_one(struct link_config *ic, const struct kvp_ip_fields *f, bool dry_run)
{
	struct link_config_result res;
	int r;

	if (dry_run)
		return plan_one(ic, f);
	r = link_config_set(ic, f, &res);
	print_result(f, r, &res);
	return r;
}

/* Reads a settings file and looks its adapters up; returns an exit code. */
static int load_settings_file(const char *path, struct kvp_ip_fields *out, size_t max,
			      size_t *ret_n)
{
	_cleanup_(settings_file_freep) struct settings_file *sf = NULL;
	_cleanup_free_ char *text = NULL;
	struct adapter a;
	size_t len;
	int r;

	r = read_file_bounded(path, 0, SETTINGS_FILE_MAX_SIZE, &text, &len);
	if (r == -EFBIG) {
		fprintf(stderr, "hvkvpctl: %s: larger than 256 KiB\n", path);
		return EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "hvkvpctl: %s: %s\n", path, strerror(-r));
		return EXIT_USAGE;
	}
	if (strlen(text) != len) {
		fprintf(stderr, "hvkvpctl: %s: contains a NUL byte\n", path);
		return EXIT_USAGE;
	}
	sf = settings_file_new();
	r = sf ? settings_file_parse(sf, text, path) : -ENOMEM;
	if (r == -ENOMEM) {
		fprintf(stderr, "hvkvpctl: %s: %s\n", path, strerror(-r));
		return EXIT_USAGE;
	}
	/* an adapter named above a bad line is reported first, in file order */
	for (size_t i = 0; i < sf->n && i < max; i++) {
		struct settings_section *s = &sf->sections[i];

		if (resolve_for_host(s->adapter, &a, s->fields.adapter_id,
				     sizeof(s->fields.adapter_id)) < 0) {
			fprintf(stderr, "hvkvpctl: %s:%u: in this section header\n", path, s->line);
			return EXIT_NO_ADAPTER;
		}
		out[i] = s->fields;
	}
	if (r < 0) {
		fprintf(stderr, "hvkvpctl: %s\n", sf->error);
		return EXIT_USAGE;
	}
	*ret_n = MIN(sf->n, max);
	return EXIT_OK;
}

enum {
	O_V4 = 0x100,
	O_V4MASK,
	O_GW4,
	O_DNS4P,
	O_DNS4A,
	O_V6,
	O_V6LEN,
	O_GW6,
	O_DNS6P,
	O_DNS6A,
	O_DHCP,
	O_DRY,
	O_FILE,
	O_ADAPTER,
};

struct apply_args {
	struct cli_settings c;
	const char *file;
	bool dry, any;
};

/* One option of apply; returns an exit code. */
static int apply_option(struct apply_args *args, int o, const char *v)
{
	struct cli_settings *c = &args->c;

	args->any = args->any || (o != O_DRY && o != O_FILE && o != O_ADAPTER);
	switch (o) {
	case O_ADAPTER:
		c->adapter = v;
		return EXIT_OK;
	case O_V4:
		return push(c->v4, &c->n4, FAILOVER_MAX_ADDRS, v, "--ipv4-address");
	case O_V4MASK:
		return push(c->v4mask, &c->n4mask, FAILOVER_MAX_ADDRS, v, "--ipv4-subnet-mask");
	case O_GW4:
		return push(c->gw4, &c->ngw4, ARRAY_SIZE(c->gw4), v, "--ipv4-default-gateway");
	case O_V6:
		return push(c->v6, &c->n6, FAILOVER_MAX_ADDRS, v, "--ipv6-address");
	case O_V6LEN:
		return push(c->v6len, &c->n6len, FAILOVER_MAX_ADDRS, v, "--ipv6-subnet-prefix-length");
	case O_GW6:
		return push(c->gw6, &c->ngw6, ARRAY_SIZE(c->gw6), v, "--ipv6-default-gateway");
	case O_DNS4P:
	case O_DNS4A:
		c->dns4[o == O_DNS4A] = v;
		return EXIT_OK;
	case O_DNS6P:
	case O_DNS6A:
		c->dns6[o == O_DNS6A] = v;
		return EXIT_OK;
	case O_DHCP:
		c->dhcp = true;
		return EXIT_OK;
	case O_DRY:
		args->dry = true;
		return EXIT_OK;
	case O_FILE:
		args->file = v;
		return EXIT_OK;
	default: /* getopt has said what is wrong */
		return EXIT_USAGE;
	}
}

/* Returns an exit code. */
static int parse_apply_args(int argc, char **argv, struct apply_args *args)
{
	static const struct option opts[] = {
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
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "file", required_argument, NULL, O_FILE },
		{}
	};
	int o, ec;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		ec = apply_option(args, o, optarg);
		if (ec != EXIT_OK)
			return ec;
	}
	if (optind < argc)
		return usage("apply: unexpected argument '%s'", argv[optind]);
	if (args->file && (args->any || args->c.adapter))
		return usage("apply: --file cannot be combined with --adapter or settings options");
	if (!args->file && !args->c.adapter)
		return usage("apply: give --adapter ID with settings, or --file FILE");
	if (!args->file && !args->any)
		return usage("apply: no settings given for %s (e.g. --ipv4-address and --ipv4-subnet-mask, or --dhcp)",
			     args->c.adapter);
	return EXIT_OK;
}

/* The settings given with --adapter as the host would send them; returns an exit code. */
static int fields_from_cli(const struct cli_settings *c, struct kvp_ip_fields *f)
{
	struct adapter a;
	int ec, r;

	memset(f, 0, sizeof(*f));
	ec = cli_to_fields(c, f);
	if (ec != EXIT_OK)
		return ec;
	r = resolve_for_host(c->adapter, &a, f->adapter_id, sizeof(f->adapter_id));
	return exit_code(r);
}

/* Applies (or plans) each in turn, all of them even after a failure; the
 * exit code is that of the first failure. */
static int apply_all(const struct kvp_ip_fields *fields, size_t n, bool dry)
{
	_cleanup_(kvp_pool_freep) struct kvp_pool *guest = NULL;
	_cleanup_(free_link_configp) struct link_config *ic = NULL;
	int r, first = 0;

	r = open_link_config(&guest, &ic);
	if (r < 0) {
		fprintf(stderr, "hvkvpctl: cannot start: %s\n", strerror(-r));
		return EXIT_FAILED;
	}
	for (size_t i = 0; i < n; i++) {
		r = apply_one(ic, &fields[i], dry);
		if (r < 0 && first == 0)
			first = r;
	}
	/* the later ARP announcements and neighbour advertisements (2 s) */
	addr_announce_drain(now_usec() + 3 * 1000 * 1000ULL);
	return exit_code(first);
}

static int cmd_apply(int argc, char **argv)
{
	static struct apply_args args;
	static struct kvp_ip_fields fields[SETTINGS_FILE_MAX_ADAPTERS];
	size_t n = 1;
	int ec;

	ec = parse_apply_args(argc, argv, &args);
	if (ec != EXIT_OK)
		return ec;
	if (args.file)
		ec = load_settings_file(args.file, fields, ARRAY_SIZE(fields), &n);
	else
		ec = fields_from_cli(&args.c, &fields[0]);
	if (ec != EXIT_OK)
		return ec;
	return apply_all(fields, n, args.dry);
}

/* ---- show ------------------------------------------------------------------------ */

static void iso(uint64_t usec, char *buf, size_t size)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;

	if (!usec) {
		strscpy(buf, size, "-");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm);
}

struct show_ctx {
	struct link_config *ic;
	const char *only_mac;
	struct json *j;
	unsigned n;
};

static void json_fields(struct json *j, const struct kvp_ip_fields *f)
{
	json_kv_string(j, "IPAddresses", f->ip_addr);
	json_kv_string(j, "Subnets", f->sub_net);
	json_kv_string(j, "DefaultGateways", f->gate_way);
	json_kv_string(j, "DNSServers", f->dns_addr);
	json_kv_bool(j, "DHCPEnabled", f->dhcp_enabled);
}

static void show_json(struct json *j, const struct adapter_state *st, int r,
		      const struct kvp_ip_fields *live)
{
	json_begin_object(j);
	json_kv_string(j, "mac", st->mac);
	json_kv_string(j, "ifname", st->ifname);
	json_key(j, "host");
	json_begin_object(j);
	json_kv_string(j, "adapter_id", st->host.adapter_id);
	json_fields(j, &st->host);
	json_kv_uint(j, "received_usec", st->received_usec);
	json_end_object(j);
	json_key(j, "applied");
	json_begin_object(j);
	json_fields(j, &st->applied);
	json_kv_uint(j, "applied_usec", st->applied_usec);
	json_end_object(j);
	json_kv_string(j, "backend", st->backend);
	json_kv_string(j, "result", hv_error_to_string(st->result));
	json_kv_string(j, "detail", st->detail);
	json_kv_bool(j, "waiting_for_carrier", st->waiting_for_carrier);
	json_kv_bool(j, "reapplied_at_start", st->reapply);
	json_key(j, "live");
	if (r == 0) {
		json_begin_object(j);
		json_fields(j, live);
		json_end_object(j);
	} else
		json_null(j);
	json_end_object(j);
}

static void show_text(const struct adapter_state *st, int r, const struct kvp_ip_fields *live)
{
	char recv[64], appl[64];

	iso(st->received_usec, recv, sizeof(recv));
	iso(st->applied_usec, appl, sizeof(appl));
	printf("%s (%s, %s)\n", esc(0, st->ifname), esc(1, st->mac), esc(2, st->host.adapter_id));
	printf("  host sent:  %s\n", recv);
	printf("              IPAddresses=%s Subnets=%s\n", esc(0, st->host.ip_addr),
	       esc(1, st->host.sub_net));
	printf("              DefaultGateways=%s DNSServers=%s DHCPEnabled=%s\n",
	       esc(0, st->host.gate_way), esc(1, st->host.dns_addr),
	       st->host.dhcp_enabled ? "true" : "false");
	printf("  result:     %s: %s\n", hv_error_to_string(st->result), esc_line(0, st->detail));
	if (st->applied_usec) {
		printf("  applied:    %s via %s%s%s\n", appl, esc(0, st->backend),
		       st->waiting_for_carrier ? ", waiting for carrier" : "",
		       st->reapply ? " (hvkvpd re-applies it at start-up)" : "");
		if (st->result != 0)
			printf("              IPAddresses=%s Subnets=%s DefaultGateways=%s DNSServers=%s\n",
			       esc(0, st->applied.ip_addr), esc(1, st->applied.sub_net),
			       esc(2, st->applied.gate_way), esc(3, st->applied.dns_addr));
	} else
		printf("  applied:    nothing yet\n");
	if (r == 0) {
		printf("  live:       %s / %s\n", isempty(live->ip_addr) ? "(no address)" : live->ip_addr,
		       live->sub_net);
		printf("              gateways %s, DNS %s, DHCPv4 %s\n",
		       isempty(live->gate_way) ? "-" : live->gate_way,
		       isempty(live->dns_addr) ? "-" : live->dns_addr, live->dhcp_enabled ? "on" : "off");
	} else
		printf("  live:       %s\n", r == -ENODEV ? "the adapter is not present" : strerror(-r));
}

static int show_one(const struct adapter_state *st, void *userdata)
{
	struct show_ctx *sc = userdata;
	struct kvp_ip_fields q = { 0 }, live;
	int r;

	if (sc->only_mac && !streq(sc->only_mac, st->mac))
		return 0;
	sc->n++;
	strscpy(q.adapter_id, sizeof(q.adapter_id), st->mac);
	r = link_config_get(sc->ic, &q, &live);
	if (sc->j)
		show_json(sc->j, st, r, &live);
	else
		show_text(st, r, &live);
	return 0;
}

static int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = { { "adapter", required_argument, NULL, 'a' }, {} };
	_cleanup_(kvp_pool_freep) struct kvp_pool *guest = NULL;
	_cleanup_(free_link_configp) struct link_config *ic = NULL;
	struct show_ctx sc = { 0 };
	struct adapter a;
	struct json j;
	char id[64];
	int o, r;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		if (o != 'a')
			return EXIT_USAGE;
		r = resolve_for_host(optarg, &a, id, sizeof(id));
		if (r < 0)
			return exit_code(r);
		sc.only_mac = strdupa(a.mac);
	}
	if (optind < argc)
		return usage("show: unexpected argument '%s'", argv[optind]);
	r = open_link_config(&guest, &ic);
	if (r < 0) {
		fprintf(stderr, "hvkvpctl: cannot start: %s\n", strerror(-r));
		return EXIT_FAILED;
	}
	sc.ic = ic;
	if (arg_json) {
		json_init(&j);
		json_begin_array(&j);
		sc.j = &j;
	}
	r = state_foreach(cfg.state_dir, show_one, &sc);
	if (arg_json) {
		json_end_array(&j);
		print_json(&j);
	} else if (r == 0 && sc.n == 0)
		printf("no failover settings received%s (state directory %s)\n",
		       sc.only_mac ? " for this adapter" : "", cfg.state_dir);
	if (r < 0) {
		fprintf(stderr, "hvkvpctl: %s: %s\n", cfg.state_dir, strerror(-r));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* ---- pool ------------------------------------------------------------------------ */

static int pool_list_one(unsigned idx, struct json *j)
{
	_cleanup_(kvp_pool_freep) struct kvp_pool *p = NULL;
	static char key[HV_KVP_EXCHANGE_MAX_KEY_SIZE], value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
	int r = kvp_pool_open(cfg.pool_dir, idx, &p);

	if (r < 0) {
		fprintf(stderr, "hvkvpctl: pool %u in %s: %s\n", idx, cfg.pool_dir, strerror(-r));
		return r;
	}
	for (uint32_t i = 0;; i++) {
		r = kvp_pool_enumerate(p, i, key, sizeof(key), value, sizeof(value));
		if (r == -ENOENT)
			break;
		if (r < 0 && r != -ENOBUFS) {
			fprintf(stderr, "hvkvpctl: pool %u: %s\n", idx, strerror(-r));
			return r;
		}
		if (j) {
			json_begin_object(j);
			json_kv_uint(j, "pool", idx);
			json_kv_uint(j, "index", i);
			json_kv_string(j, "key", key);
			json_kv_string(j, "value", value);
			json_end_object(j);
		} else
			printf("%u\t%s\t%s\n", idx, esc(0, key), esc(1, value));
	}
	return 0;
}

static int parse_pool_index(const char *v, unsigned *ret)
{
	unsigned long n;

	if (!v || parse_uint(v, KVP_POOL_COUNT - 1, &n) < 0)
		return usage("--pool: '%s' is not a pool number 0..%d", v ? v : "", KVP_POOL_COUNT - 1);
	*ret = (unsigned)n;
	return 0;
}

static int pool_list(bool all, unsigned idx)
{
	struct json j;
	int r = 0;

	if (arg_json) {
		json_init(&j);
		json_begin_array(&j);
	}
	for (unsigned i = 0; i < KVP_POOL_COUNT && r == 0; i++)
		if (all || i == idx)
			r = pool_list_one(i, arg_json ? &j : NULL);
	if (arg_json) {
		json_end_array(&j);
		print_json(&j);
	}
	return r < 0 ? EXIT_FAILED : EXIT_OK;
}

static void print_value(unsigned idx, const char *key, const char *value)
{
	struct json j;

	if (arg_json) {
		json_init(&j);
		json_begin_object(&j);
		json_kv_uint(&j, "pool", idx);
		json_kv_string(&j, "key", key);
		json_kv_string(&j, "value", value);
		json_end_object(&j);
		print_json(&j);
	} else
		printf("%s\n", esc(0, value));
}

/* get, set or delete KEY [VALUE] in pool idx; returns an exit code. */
static int pool_edit(const char *verb, unsigned idx, char **args)
{
	_cleanup_(kvp_pool_freep) struct kvp_pool *p = NULL;
	static char value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
	int r;

	r = kvp_pool_open(cfg.pool_dir, idx, &p);
	if (r < 0) {
		fprintf(stderr, "hvkvpctl: pool %u in %s: %s\n", idx, cfg.pool_dir, strerror(-r));
		return EXIT_FAILED;
	}
	if (streq(verb, "get"))
		r = kvp_pool_get(p, args[0], value, sizeof(value));
	else if (streq(verb, "set"))
		r = kvp_pool_set(p, args[0], args[1]);
	else
		r = kvp_pool_delete(p, args[0]);
	if (r == -ENOENT) {
		fprintf(stderr, "hvkvpctl: pool %u has no key '%s'\n", idx, args[0]);
		return EXIT_NOT_FOUND;
	}
	if (r == -ENAMETOOLONG || r == -EMSGSIZE || (r == -EINVAL && streq(verb, "set"))) {
		fprintf(stderr, "hvkvpctl: pool %s: %s (keys 1..511 bytes, values up to 2047 bytes)\n",
			verb, r == -EMSGSIZE ? "the value is too long" : r == -EINVAL ? "the key is empty" : "the key is too long");
		return EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "hvkvpctl: pool %u: %s\n", idx, strerror(-r));
		return EXIT_FAILED;
	}
	if (streq(verb, "get"))
		print_value(idx, args[0], value);
	return EXIT_OK;
}

static int cmd_pool(int argc, char **argv)
{
	static const struct option opts[] = { { "pool", required_argument, NULL, 'P' }, {} };
	const char *verb, *pool_arg = NULL;
	unsigned idx = 0;
	int o, ec;

	if (argc < 2)
		return usage("pool: give list, get, set or delete");
	verb = argv[1];
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		if (o != 'P')
			return EXIT_USAGE;
		pool_arg = optarg;
	}
	if (pool_arg && (ec = parse_pool_index(pool_arg, &idx)))
		return ec;

	if (streq(verb, "list")) {
		if (optind < argc)
			return usage("pool list: unexpected argument '%s'", argv[optind]);
		return pool_list(!pool_arg, idx);
	}
	if (!streq(verb, "get") && !streq(verb, "set") && !streq(verb, "delete"))
		return usage("pool: '%s' is not list, get, set or delete", verb);
	if (!pool_arg)
		return usage("pool %s: --pool N is required", verb);
	if (argc - optind != (streq(verb, "set") ? 2 : 1))
		return usage("pool %s: expected %s", verb, streq(verb, "set") ? "KEY VALUE" : "KEY");
	return pool_edit(verb, idx, argv + optind);
}

struct global_args {
	const char *config_path, *pool_dir, *state_dir, *backend;
	bool config_given;
	bool done; /* --help or --version: nothing more to do */
};

/* Global options stop at the command; the command parses the rest. Returns an exit code. */
static int parse_global_args(int argc, char **argv, struct global_args *g)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "pool-dir", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "backend", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	int o;

	while ((o = getopt_long(argc, argv, "+c:p:s:b:jhV", opts, NULL)) >= 0) {
		switch (o) {
		case 'c':
			g->config_path = optarg;
			g->config_given = true;
			break;
		case 'p':
			g->pool_dir = optarg;
			break;
		case 's':
			g->state_dir = optarg;
			break;
		case 'b':
			if (!backend_name_valid(optarg) || !backend_available(optarg))
				return usage("--backend: '%s' is not auto, networkmanager, networkd or netlink (built in)",
					     optarg);
			g->backend = optarg;
			break;
		case 'j':
			arg_json = true;
			break;
		case 'h':
			help();
			g->done = true;
			return EXIT_OK;
		case 'V':
			printf("hvkvpctl " PKG_VERSION "\n");
			g->done = true;
			return EXIT_OK;
		default:
			return usage("bad option");
		}
	}
	if (optind >= argc)
		return usage("no command (apply, show or pool)");
	return EXIT_OK;
}

/* The configuration file, then the options that override it; returns an exit code. */
static int load_conf(const struct global_args *g)
{
	char err[512];

	conf_defaults(&cfg);
	if (conf_load(&cfg, g->config_path, g->config_given, err, sizeof(err)) < 0) {
		fprintf(stderr, "hvkvpctl: %s\n", err);
		return EXIT_USAGE;
	}
	if (g->pool_dir)
		strscpy(cfg.pool_dir, sizeof(cfg.pool_dir), g->pool_dir);
	if (g->state_dir)
		strscpy(cfg.state_dir, sizeof(cfg.state_dir), g->state_dir);
	if (g->backend)
		strscpy(cfg.backend, sizeof(cfg.backend), g->backend);
	return EXIT_OK;
}

static int run_command(int argc, char **argv)
{
	if (streq(argv[0], "apply"))
		return cmd_apply(argc, argv);
	if (streq(argv[0], "show"))
		return cmd_show(argc, argv);
	if (streq(argv[0], "pool"))
		return cmd_pool(argc, argv);
	if (streq(argv[0], "help")) {
		help();
		return EXIT_OK;
	}
	return usage("'%s' is not a command (apply, show or pool)", argv[0]);
}

int main(int argc, char **argv)
{
	struct global_args g = { .config_path = CONF_DEFAULT_PATH };
	int ec;

	ec = parse_global_args(argc, argv, &g);
	if (ec != EXIT_OK || g.done)
		return ec;
	ec = load_conf(&g);
	if (ec != EXIT_OK)
		return ec;
	log_setup("hvkvpctl", LOG_TARGET_STDERR);
	log_set_max_level(cfg.log_level < LOG_NOTICE ? cfg.log_level : LOG_WARNING);
	if (streq_ptr(getenv("HVKVPD_TEST_SEAMS"), "1"))
		arg_sysfs_root = getenv("HVKVPD_TEST_SYSFS_ROOT");
	return run_command(argc - optind, argv + optind);
}

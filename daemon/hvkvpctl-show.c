/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hvkvpctl-show.c - `hvkvpctl show`, `revert` and `pool`: what was sent, applied and is live. */
#include <stdio.h>
#include <time.h>

#include "adapter.h"
#include "hv-error.h"
#include "hvkvpctl-view.h"
#include "hvkvpctl.h"
#include "link.h"
#include "netlink.h"
#include "state.h"

/* ---- show ------------------------------------------------------------------------ */

static void local_time(uint64_t usec, char *buf, size_t size)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm);
}

static void json_time(struct json *j, const char *key, uint64_t usec)
{
	char buf[32];

	if (!usec) {
		json_kv_null(j, key);
		return;
	}
	ctl_iso_utc(usec, buf, sizeof(buf));
	json_kv_string(j, key, buf);
}

static void json_fields(struct json *j, const struct kvp_ip_fields *f)
{
	json_kv_string(j, "adapter_id", f->adapter_id);
	ctl_json_strlist(j, "ip_addresses", f->ip_addr);
	ctl_json_strlist(j, "subnets", f->sub_net);
	ctl_json_strlist(j, "default_gateways", f->gate_way);
	ctl_json_strlist(j, "dns_servers", f->dns_addr);
	json_kv_bool(j, "dhcp_enabled", f->dhcp_enabled);
}

struct show_ctx {
	struct link_config *ic;
	struct nl_sock *sk;
	const char *only_mac;
	unsigned n;
};

/* One adapter: its state (st may be all zero: nothing recorded) and the link. */
static void show_one_adapter(struct show_ctx *sc, const struct adapter_state *st)
{
	_cleanup_free_ struct link_state *l = NULL;
	_cleanup_free_ struct ctl_view *v = calloc(3, sizeof(*v));
	struct kvp_ip_fields q = { 0 }, live = { 0 };
	char key[ADAPTER_MAC_KEY_SIZE] = "", when[64];
	struct adapter a;
	bool have_link = false;
	int r;

	if (!v)
		return;
	adapter_mac_key(st->mac, key, sizeof(key));
	r = adapter_resolve(arg_sysfs_root, st->mac, 0, &a);
	if (r == 0 && sc->sk && nlx_read_link_new(sc->sk, a.ifindex, &l) == 0) {
		strscpy(q.adapter_id, sizeof(q.adapter_id), a.mac);
		if (link_config_get(sc->ic, &q, &live) < 0)
			memset(&live, 0, sizeof(live));
		have_link = true;
	}
	if (st->received_usec) {
		ctl_view_from_fields(&v[0], &st->host);
		local_time(st->received_usec, v[0].when, sizeof(v[0].when));
		strscpy(v[0].by, sizeof(v[0].by), "the Hyper-V host");
		strscpy(v[0].result, sizeof(v[0].result), hv_error_to_string(st->result));
	}
	if (st->manual_usec) {
		ctl_view_from_fields(&v[1], &st->manual);
		local_time(st->manual_usec, v[1].when, sizeof(v[1].when));
		strscpy(v[1].by, sizeof(v[1].by), ctl_esc(0, st->manual_user));
		strscpy(v[1].result, sizeof(v[1].result), hv_error_to_string(st->manual_result));
	}
	if (have_link) {
		ctl_view_from_link(&v[2], l, &live);
		strscpy(v[2].when, sizeof(v[2].when), "now");
	}

	if (arg_json) {
		json_begin_object(&out);
		json_kv_string(&out, "mac", key);
		json_kv_string(&out, "ifname", r == 0 ? a.ifname : st->ifname);
		json_kv_string(&out, "guid", r == 0 && !isempty(a.guid) ? a.guid : NULL);
		json_key(&out, "host");
		if (st->received_usec) {
			json_begin_object(&out);
			json_time(&out, "received", st->received_usec);
			json_fields(&out, &st->host);
			json_kv_string(&out, "result", hv_error_to_string(st->result));
			json_kv_string(&out, "message", st->detail);
			json_end_object(&out);
		} else
			json_null(&out);
		json_key(&out, "manual");
		if (st->manual_usec) {
			json_begin_object(&out);
			json_time(&out, "time", st->manual_usec);
			json_kv_string(&out, "user", st->manual_user);
			json_fields(&out, &st->manual);
			json_kv_string(&out, "backend", st->manual_backend);
			json_kv_string(&out, "result", hv_error_to_string(st->manual_result));
			json_kv_string(&out, "message", st->manual_detail);
			json_end_object(&out);
		} else
			json_null(&out);
		json_key(&out, "applied");
		if (st->applied_usec) {
			json_begin_object(&out);
			json_time(&out, "time", st->applied_usec);
			json_kv_string(&out, "source", st->applied_manual ? "manual" : "host");
			json_kv_string(&out, "backend", st->backend);
			json_kv_bool(&out, "waiting_for_carrier", st->waiting_for_carrier);
			json_kv_bool(&out, "reapplied_at_start", st->reapply);
			json_end_object(&out);
		} else
			json_null(&out);
		ctl_view_json(&out, "live", &v[2]);
		json_end_object(&out);
		return;
	}

	{
		const char *heads[3] = { "host sent", "applied by hand", "live" };
		const struct ctl_view *views[3] = { &v[0], &v[1], &v[2] };

		printf("%s%s (%s%s%s)\n", sc->n > 1 ? "\n" : "",
		       ctl_esc(0, r == 0 ? a.ifname : st->ifname), key,
		       r == 0 && !isempty(a.guid) ? ", " : "", r == 0 ? a.guid : "");
		ctl_view_print(heads, views, 3);
	}
	if (st->received_usec)
		printf("  host:    %s\n", ctl_esc_line(0, st->detail));
	if (st->manual_usec)
		printf("  by hand: %s\n", ctl_esc_line(0, st->manual_detail));
	if (st->applied_usec) {
		local_time(st->applied_usec, when, sizeof(when));
		printf("  applied: %s's settings, %s, through %s%s%s\n",
		       st->applied_manual ? "the manual apply" : "the host", when, ctl_esc(0, st->backend),
		       st->waiting_for_carrier ? ", waiting for carrier" : "",
		       st->reapply ? " (hvkvpd re-applies them at start-up)" : "");
	} else
		printf("  applied: nothing yet\n");
	if (!have_link)
		printf("  live:    %s\n", r == -ENODEV ? "the adapter is not present" : "cannot be read");
}

static int show_state(const struct adapter_state *st, void *userdata)
{
	struct show_ctx *sc = userdata;

	if (sc->only_mac && !streq(sc->only_mac, st->mac))
		return 0;
	sc->n++;
	show_one_adapter(sc, st);
	return 0;
}

static const int show_opts[] = { O_ADAPTER, 0 };

int cmd_show(const struct ctl_args *a)
{
	_cleanup_(kvp_pool_freep) struct kvp_pool *guest = NULL;
	_cleanup_(ctl_free_link_configp) struct link_config *ic = NULL;
	struct show_ctx sc = { 0 };
	const char *id = NULL;
	struct adapter ad;
	int ec, r;

	ec = ctl_check_opts(a, "show", show_opts);
	for (size_t i = 0; i < a->n_opts && ec == EXIT_OK; i++)
		if (a->opts[i].id == O_ADAPTER) {
			if (id && !streq(id, a->opts[i].value))
				ec = ctl_error(EXIT_INVALID, "--adapter given twice ('%s' and '%s')",
					       ctl_esc(0, id), ctl_esc(1, a->opts[i].value));
			id = a->opts[i].value;
		}
	if (ec != EXIT_OK)
		return ec;
	if (a->argc > 2)
		return ctl_usage("show takes at most one adapter; unexpected '%s'", ctl_esc(0, a->argv[2]));
	if (a->argc == 2) {
		if (id && !streq(id, a->argv[1]))
			return ctl_error(EXIT_INVALID, "the adapter given twice ('%s' and '%s')",
					 ctl_esc(0, id), ctl_esc(1, a->argv[1]));
		id = a->argv[1];
	}
	if (id && (ec = ctl_resolve(id, &ad, NULL, 0)))
		return ec;
	/* the state files are root's alone (0600) */
	ec = ctl_need_root("show");
	if (ec != EXIT_OK)
		return ec;
	r = ctl_open_link_config(&guest, &ic);
	if (r < 0)
		return ctl_error(ctl_exit_code(r), "cannot start: %s", strerror(-r));
	sc.ic = ic;
	if (nlx_open(&sc.sk) < 0)
		sc.sk = NULL;
	sc.only_mac = id ? ad.mac : NULL;
	if (arg_json) {
		json_key(&out, "adapters");
		json_begin_array(&out);
	}
	r = state_foreach(cfg.state_dir, show_state, &sc);
	if (r >= 0 && id && sc.n == 0) {
		/* nothing recorded for it: still its live state */
		struct adapter_state st = { 0 };

		strscpy(st.mac, sizeof(st.mac), ad.mac);
		strscpy(st.ifname, sizeof(st.ifname), ad.ifname);
		sc.n++;
		show_one_adapter(&sc, &st);
	}
	if (arg_json)
		json_end_array(&out);
	else if (r >= 0 && sc.n == 0)
		printf("no failover settings were received or applied by hand (state directory %s)\n",
		       cfg.state_dir);
	if (sc.sk)
		nlx_close(sc.sk);
	if (r < 0)
		return ctl_error(ctl_exit_code(r), "%s: %s", cfg.state_dir, strerror(-r));
	return EXIT_OK;
}

/* ---- revert ---------------------------------------------------------------------- */

static const int revert_opts[] = { O_ADAPTER, O_DRY, 0 };

int cmd_revert(const struct ctl_args *a)
{
	_cleanup_(kvp_pool_freep) struct kvp_pool *guest = NULL;
	_cleanup_(ctl_free_link_configp) struct link_config *ic = NULL;
	struct link_config_result res = { 0 };
	char key[ADAPTER_MAC_KEY_SIZE] = "";
	const char *id = NULL;
	struct adapter ad;
	bool dry = false;
	int ec, r;

	ec = ctl_check_opts(a, "revert", revert_opts);
	for (size_t i = 0; i < a->n_opts && ec == EXIT_OK; i++) {
		if (a->opts[i].id == O_DRY)
			dry = true;
		else if (a->opts[i].id == O_ADAPTER) {
			if (id && !streq(id, a->opts[i].value))
				ec = ctl_error(EXIT_INVALID, "--adapter given twice ('%s' and '%s')",
					       ctl_esc(0, id), ctl_esc(1, a->opts[i].value));
			id = a->opts[i].value;
		}
	}
	if (arg_json)
		json_kv_bool(&out, "dry_run", dry);
	if (ec != EXIT_OK)
		return ec;
	if (a->argc > 2)
		return ctl_usage("revert takes one adapter; unexpected '%s'", ctl_esc(0, a->argv[2]));
	if (a->argc == 2) {
		if (id && !streq(id, a->argv[1]))
			return ctl_error(EXIT_INVALID, "the adapter given twice ('%s' and '%s')",
					 ctl_esc(0, id), ctl_esc(1, a->argv[1]));
		id = a->argv[1];
	}
	if (!id)
		return ctl_usage("revert needs an adapter (e.g. 'revert eth0')");
	ec = ctl_resolve(id, &ad, NULL, 0);
	if (ec != EXIT_OK)
		return ec;
	adapter_mac_key(ad.mac, key, sizeof(key));
	if (!dry && (ec = ctl_need_root("revert")))
		return ec;
	r = ctl_open_link_config(&guest, &ic);
	if (r < 0)
		return ctl_error(ctl_exit_code(r), "cannot start: %s", strerror(-r));
	r = link_config_revert(ic, ad.mac, dry, &res);
	if (arg_json) {
		json_kv_string(&out, "adapter", id);
		json_kv_string(&out, "ifname", ad.ifname);
		json_kv_string(&out, "mac", key);
		json_kv_string(&out, "backend", isempty(res.backend) ? NULL : res.backend);
		json_kv_string(&out, "result", hv_error_to_string(hv_error_from_errno(r)));
		json_kv_string(&out, "message", res.message);
	}
	if (r == -EOPNOTSUPP)
		return ctl_error(EXIT_UNSUPPORTED, "%s: revert is not available in this build (%s)",
				 ad.ifname, ctl_esc_line(0, res.message));
	if (r == -ENOENT)
		return ctl_error(EXIT_NOT_FOUND, "%s: no failover settings to revert%s%s", ad.ifname,
				 isempty(res.message) ? "" : ": ", ctl_esc_line(0, res.message));
	if (r < 0)
		return ctl_error(ctl_exit_code(r), "%s: %s", ad.ifname,
				 isempty(res.message) ? strerror(-r) : ctl_esc_line(0, res.message));
	if (!arg_json)
		printf("%s: %s%s\n", ad.ifname, ctl_esc_line(0, res.message),
		       dry ? " (dry run: nothing changed)" : "");
	return EXIT_OK;
}

/* ---- pool ------------------------------------------------------------------------ */

static int pool_open_error(const char *verb, unsigned idx, int r)
{
	if (r == -EACCES || r == -EPERM)
		return ctl_error(EXIT_NO_ROOT, "pool %s requires root (run with sudo): pool %u in %s: %s",
				 verb, idx, cfg.pool_dir, strerror(-r));
	return ctl_error(EXIT_FAILED, "pool %u in %s: %s", idx, cfg.pool_dir, strerror(-r));
}

static int pool_list_one(unsigned idx)
{
	_cleanup_(kvp_pool_freep) struct kvp_pool *p = NULL;
	static char key[HV_KVP_EXCHANGE_MAX_KEY_SIZE], value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
	int r = kvp_pool_open(cfg.pool_dir, idx, &p);

	if (r < 0)
		return pool_open_error("list", idx, r);
	for (uint32_t i = 0;; i++) {
		r = kvp_pool_enumerate(p, i, key, sizeof(key), value, sizeof(value));
		if (r == -ENOENT)
			break;
		if (r < 0 && r != -ENOBUFS)
			return ctl_error(ctl_exit_code(r) == EXIT_NO_ROOT ? EXIT_NO_ROOT : EXIT_FAILED,
					 "pool %u: %s", idx, strerror(-r));
		if (arg_json) {
			json_begin_object(&out);
			json_kv_uint(&out, "pool", idx);
			json_kv_uint(&out, "index", i);
			json_kv_string(&out, "key", key);
			json_kv_string(&out, "value", value);
			json_end_object(&out);
		} else
			printf("%u\t%s\t%s\n", idx, ctl_esc(0, key), ctl_esc(1, value));
	}
	return EXIT_OK;
}

static int pool_list(bool all, unsigned idx)
{
	int ec = EXIT_OK;

	if (arg_json) {
		json_key(&out, "records");
		json_begin_array(&out);
	}
	for (unsigned i = 0; i < KVP_POOL_COUNT && ec == EXIT_OK; i++)
		if (all || i == idx)
			ec = pool_list_one(i);
	if (arg_json)
		json_end_array(&out);
	return ec;
}

/* get, set or delete KEY [VALUE] in pool idx; returns an exit status. */
static int pool_edit(const char *verb, unsigned idx, char **args)
{
	_cleanup_(kvp_pool_freep) struct kvp_pool *p = NULL;
	static char value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
	int r;

	if (arg_json) {
		json_kv_uint(&out, "pool", idx);
		json_kv_string(&out, "key", args[0]);
	}
	r = kvp_pool_open(cfg.pool_dir, idx, &p);
	if (r < 0)
		return pool_open_error(verb, idx, r);
	if (streq(verb, "get"))
		r = kvp_pool_get(p, args[0], value, sizeof(value));
	else if (streq(verb, "set"))
		r = kvp_pool_set(p, args[0], args[1]);
	else
		r = kvp_pool_delete(p, args[0]);
	if (r == -ENOENT)
		return ctl_error(EXIT_NOT_FOUND, "pool %u has no key '%s'", idx, ctl_esc(0, args[0]));
	if (r == -ENAMETOOLONG || r == -EMSGSIZE || (r == -EINVAL && streq(verb, "set")))
		return ctl_error(EXIT_USAGE, "pool %s: %s (keys 1..511 bytes, values up to 2047 bytes)",
				 verb,
				 r == -EMSGSIZE ? "the value is too long"
				 : r == -EINVAL ? "the key is empty"
						: "the key is too long");
	if (r == -EACCES || r == -EPERM)
		return pool_open_error(verb, idx, r);
	if (r < 0)
		return ctl_error(EXIT_FAILED, "pool %u: %s", idx, strerror(-r));
	if (streq(verb, "get")) {
		if (arg_json)
			json_kv_string(&out, "value", value);
		else
			printf("%s\n", ctl_esc(0, value));
	}
	return EXIT_OK;
}

static const int pool_opts[] = { O_POOL, 0 };

int cmd_pool(const struct ctl_args *a)
{
	const char *verb, *pool_arg = NULL;
	unsigned long n = 0;
	int ec;

	ec = ctl_check_opts(a, "pool", pool_opts);
	if (ec != EXIT_OK)
		return ec;
	for (size_t i = 0; i < a->n_opts; i++)
		if (a->opts[i].id == O_POOL) {
			if (pool_arg && !streq(pool_arg, a->opts[i].value))
				return ctl_error(EXIT_USAGE, "--pool given twice ('%s' and '%s')",
						 ctl_esc(0, pool_arg), ctl_esc(1, a->opts[i].value));
			pool_arg = a->opts[i].value;
		}
	if (a->argc < 2)
		return ctl_usage("pool needs list, get, set or delete");
	verb = a->argv[1];
	if (arg_json)
		json_kv_string(&out, "verb", verb);
	if (pool_arg && parse_uint(pool_arg, KVP_POOL_COUNT - 1, &n) < 0)
		return ctl_usage("--pool '%s' is not valid: give a pool number 0..%d", ctl_esc(0, pool_arg),
				 KVP_POOL_COUNT - 1);
	if (streq(verb, "list")) {
		if (a->argc > 2)
			return ctl_usage("pool list: unexpected '%s'", ctl_esc(0, a->argv[2]));
		return pool_list(!pool_arg, (unsigned)n);
	}
	if (!streq(verb, "get") && !streq(verb, "set") && !streq(verb, "delete"))
		return ctl_usage("pool: '%s' is not list, get, set or delete", ctl_esc(0, verb));
	if (!pool_arg)
		return ctl_usage("pool %s needs --pool N", verb);
	if (a->argc - 2 != (streq(verb, "set") ? 2 : 1))
		return ctl_usage("pool %s takes %s", verb, streq(verb, "set") ? "KEY VALUE" : "KEY");
	return pool_edit(verb, (unsigned)n, a->argv + 2);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-routine.c - what a Hyper-V host does around a daemon by itself: pool 3 at connection, periodic reads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu-event.h"
#include "emu-routine.h"
#include "hv-error.h"
#include "kvp-msg.h"
#include "log.h"
#include "util.h"

struct emu_routine {
	sd_event *event;
	struct emu_host *host;
	struct emu_routine_config cfg;
	bool registered;

	/* pool 3 at connection: one request per item, all queued at once */
	struct param_slot {
		struct emu_routine *r;
		size_t i;
		struct emu_txn *txn; /* queued or in flight */
	} slot[EMU_ROUTINE_MAX_PARAMS];
	unsigned param_rounds, params_ok, params_failed;

	/* the periodic reads: one request at a time */
	sd_event_source *poll_timer;
	struct emu_txn *poll_txn;
	bool poll_running;
	uint32_t enum_index;
	size_t adapter_next;
	unsigned polls, poll_requests, poll_failures, enum_items;
	uint32_t last_poll_code;
};

/* ---- the items -------------------------------------------------------------- */

static void add_param(struct emu_routine_config *cfg, const char *key, const char *value)
{
	struct emu_param *p;

	if (cfg->n_params >= EMU_ROUTINE_MAX_PARAMS)
		return;
	p = &cfg->params[cfg->n_params++];
	snprintf(p->key, sizeof(p->key), "%s", key);
	snprintf(p->value, sizeof(p->value), "%s", value);
}

void emu_routine_default_params(struct emu_routine_config *cfg, const char *vm_name)
{
	/* The names and their order are what an Azure host writes (seen in
	 * guests' .kvp_pool_3); the values are invented but of the same kind. */
	static const char *const fixed[][2] = {
		{ "HostName", "HVEMU-HOST-01" },
		{ "HostingSystemEditionId", "168" },
		{ "HostingSystemNestedLevel", "0" },
		{ "HostingSystemOsMajor", "10" },
		{ "HostingSystemOsMinor", "0" },
		{ "HostingSystemProcessorArchitecture", "9" },
		{ "HostingSystemProcessorIdleStateMax", "0" },
		{ "HostingSystemProcessorThrottleMax", "100" },
		{ "HostingSystemProcessorThrottleMin", "100" },
		{ "HostingSystemSpMajor", "0" },
		{ "HostingSystemSpMinor", "0" },
		{ "PhysicalHostName", "HVEMU-HOST-01" },
		{ "PhysicalHostNameFullyQualified", "hvemu-host-01.example.test" },
		{ "VirtualMachineDynamicMemoryBalancingEnabled", "0" },
	};
	char id[40];
	uint32_t h = 2166136261u;

	cfg->n_params = 0;
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		add_param(cfg, fixed[i][0], fixed[i][1]);
	/* a stable id per VM name (FNV-1a), formatted like the host's GUIDs */
	for (const char *c = vm_name; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	snprintf(id, sizeof(id), "%08X-%04X-4%03X-8%03X-%012X", h, h >> 16, h & 0xfff,
		 (h >> 8) & 0xfff, h);
	add_param(cfg, "VirtualMachineId", id);
	add_param(cfg, "VirtualMachineName", vm_name);
}

int emu_routine_load_params(struct emu_routine_config *cfg, const char *path)
{
	char line[HV_KVP_EXCHANGE_MAX_KEY_SIZE + HV_KVP_EXCHANGE_MAX_VALUE_SIZE + 4];
	unsigned lineno = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		int r = -errno;

		fprintf(stderr, "hvkvp-emu: %s: %s\n", path, strerror(-r));
		return r;
	}
	cfg->n_params = 0;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		char *eq;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f))
			goto bad;
		if (len == 0 || line[0] == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq || eq == line || (size_t)(eq - line) >= HV_KVP_EXCHANGE_MAX_KEY_SIZE ||
		    strlen(eq + 1) >= HV_KVP_EXCHANGE_MAX_VALUE_SIZE ||
		    cfg->n_params >= EMU_ROUTINE_MAX_PARAMS)
			goto bad;
		*eq = '\0';
		add_param(cfg, line, eq + 1);
	}
	fclose(f);
	return 0;
bad:
	fprintf(stderr,
		"hvkvp-emu: %s:%u: not KEY=VALUE (key < %d bytes, value < %d bytes, at most %d items)\n",
		path, lineno, HV_KVP_EXCHANGE_MAX_KEY_SIZE, HV_KVP_EXCHANGE_MAX_VALUE_SIZE,
		EMU_ROUTINE_MAX_PARAMS);
	fclose(f);
	return -EINVAL;
}

/* ---- pool 3 at connection --------------------------------------------------- */

static void param_done(const struct emu_txn_result *res, void *userdata)
{
	struct param_slot *slot = userdata;
	struct emu_routine *r = slot->r;
	size_t i = slot->i;

	slot->txn = NULL;
	if (res->code == HV_S_OK)
		r->params_ok++;
	else
		r->params_failed++;
	if (res->code != HV_S_OK && !res->aborted)
		log_notice("host: pool 3 item \"%s\" got %s", r->cfg.params[i].key,
			   hv_error_to_string(res->code));
}

static void push_params(struct emu_routine *r)
{
	uint8_t msg[KVP_MSG_SIZE];

	if (r->cfg.n_params == 0)
		return;
	r->param_rounds++;
	for (size_t i = 0; i < r->cfg.n_params; i++) {
		int k;

		struct param_slot *slot = &r->slot[i];

		if (slot->txn)
			continue; /* still queued from the last connection */
		k = kvp_msg_build_set(msg, KVP_POOL_AUTO_EXTERNAL, r->cfg.params[i].key,
				      r->cfg.params[i].value, REG_SZ);
		if (k >= 0)
			k = emu_host_submit(r->host, msg, param_done, slot, &slot->txn);
		if (k < 0)
			log_warning_errno(k, "host: cannot queue pool 3 item %zu", i);
	}
	log_info("host: %zu Guest\\Parameter items queued for pool 3", r->cfg.n_params);
}

/* ---- the periodic reads ----------------------------------------------------- */

static void poll_next(struct emu_routine *r);

static void poll_finish(struct emu_routine *r)
{
	int k;

	r->poll_running = false;
	r->polls++;
	if (r->registered) {
		k = emu_timer_arm_in(r->poll_timer, r->cfg.poll_usec);
		if (k < 0)
			log_warning_errno(k, "host: cannot arm the poll timer");
	}
}

static void poll_done(const struct emu_txn_result *res, void *userdata)
{
	struct emu_routine *r = userdata;
	uint8_t op = r->enum_index == UINT32_MAX ? KVP_OP_GET_IP_INFO : KVP_OP_ENUMERATE;

	r->poll_txn = NULL;
	r->poll_requests++;
	r->last_poll_code = res->code;
	if (res->aborted)
		return;
	if (op == KVP_OP_ENUMERATE) {
		if (res->code == HV_S_OK && r->enum_index + 1 < EMU_ROUTINE_MAX_ENUM) {
			r->enum_items++;
			r->enum_index++;
		} else {
			/* "no more items" (HV_S_CONT, or HV_E_FAIL from a legacy daemon) ends the walk */
			r->enum_index = UINT32_MAX;
			r->adapter_next = 0;
		}
	} else {
		if (res->code != HV_S_OK)
			r->poll_failures++;
		r->adapter_next++;
	}
	poll_next(r);
}

static void poll_next(struct emu_routine *r)
{
	uint8_t msg[KVP_MSG_SIZE];
	int k;

	if (!r->registered) {
		r->poll_running = false;
		return;
	}
	if (r->enum_index != UINT32_MAX) {
		k = kvp_msg_build_enumerate(msg, KVP_POOL_AUTO, r->enum_index);
	} else if (r->adapter_next < r->cfg.n_adapters) {
		struct kvp_ip_fields f = { .addr_family = ADDR_FAMILY_IPV4 | ADDR_FAMILY_IPV6 };

		snprintf(f.adapter_id, sizeof(f.adapter_id), "%s", r->cfg.adapters[r->adapter_next]);
		k = kvp_msg_build_ip(msg, KVP_OP_GET_IP_INFO, &f);
	} else {
		poll_finish(r);
		return;
	}
	if (k >= 0)
		k = emu_host_submit(r->host, msg, poll_done, r, &r->poll_txn);
	if (k < 0) {
		log_warning_errno(k, "host: cannot queue a periodic read");
		poll_finish(r);
	}
}

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct emu_routine *r = userdata;

	(void)s;
	(void)usec;
	if (!r->registered || r->poll_running)
		return 0;
	r->poll_running = true;
	r->enum_index = 0;
	r->adapter_next = 0;
	poll_next(r);
	return 0;
}

/* ---- life cycle --------------------------------------------------------------- */

int emu_routine_new(sd_event *event, struct emu_host *host, const struct emu_routine_config *cfg,
		    struct emu_routine **ret)
{
	struct emu_routine *r = calloc(1, sizeof(*r));
	int k;

	if (!r)
		return -ENOMEM;
	r->event = sd_event_ref(event);
	r->host = host;
	r->cfg = *cfg;
	for (size_t i = 0; i < EMU_ROUTINE_MAX_PARAMS; i++)
		r->slot[i] = (struct param_slot){ .r = r, .i = i };
	if (cfg->poll_usec > 0) {
		k = emu_add_timer_off(event, &r->poll_timer, on_poll_timer, r);
		if (k < 0) {
			emu_routine_free(r);
			return k;
		}
	}
	*ret = r;
	return 0;
}

struct emu_routine *emu_routine_free(struct emu_routine *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < EMU_ROUTINE_MAX_PARAMS; i++)
		if (r->slot[i].txn && !emu_host_cancel(r->host, r->slot[i].txn))
			r->slot[i].txn = NULL; /* in flight: its result is discarded */
	if (r->poll_txn)
		emu_host_cancel(r->host, r->poll_txn);
	sd_event_source_disable_unref(r->poll_timer);
	sd_event_unref(r->event);
	free(r);
	return NULL;
}

void emu_routine_state_changed(void *routine)
{
	struct emu_routine *r = routine;
	struct emu_host_status st;
	int k;

	emu_host_get_status(r->host, &st);
	if (st.registered == r->registered)
		return;
	r->registered = st.registered;
	if (!st.registered) {
		/* the driver holds what is queued for the next daemon; the
		 * periodic reads pause until one registers */
		if (r->poll_timer)
			sd_event_source_set_enabled(r->poll_timer, SD_EVENT_OFF);
		return;
	}
	push_params(r);
	if (r->poll_timer && !r->poll_running) {
		k = emu_timer_arm_in(r->poll_timer, r->cfg.poll_usec);
		if (k < 0)
			log_warning_errno(k, "host: cannot arm the poll timer");
	}
}

void emu_routine_json(const void *routine, struct json *j)
{
	const struct emu_routine *r = routine;

	json_key(j, "routine");
	json_begin_object(j);
	json_kv_uint(j, "params", r->cfg.n_params);
	json_kv_uint(j, "param_rounds", r->param_rounds);
	json_kv_uint(j, "params_ok", r->params_ok);
	json_kv_uint(j, "params_failed", r->params_failed);
	json_kv_double(j, "poll_sec", (double)r->cfg.poll_usec / 1e6);
	json_kv_uint(j, "polls", r->polls);
	json_kv_uint(j, "poll_requests", r->poll_requests);
	json_kv_uint(j, "poll_failures", r->poll_failures);
	json_kv_uint(j, "auto_items_read", r->enum_items);
	json_kv_string(j, "last_poll_code", hv_error_to_string(r->last_poll_code));
	json_end_object(j);
}

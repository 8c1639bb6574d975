/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-cmd.c - the control commands: the table, option parsing, the messages they send, their JSON. */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "emu-cmd.h"
#include "emu-ctl.h"
#include "hv-error.h"

/* Joined IP lists longer than this are certainly a mistake (the kernel keeps
 * at most 1024 bytes of each). */
#define CTL_MAX_LIST (64 * 1024)

/* what the driver lets through to the host (utf8s_to_utf16s limits) */
#define HOST_KEY_UNITS (HV_KVP_EXCHANGE_MAX_KEY_SIZE / 2 - 2)     /* 254 */
#define HOST_VALUE_UNITS (HV_KVP_EXCHANGE_MAX_VALUE_SIZE / 2 - 2) /* 1022 */

#define IP_LIST_OPTS (B(O_IPADDRESSES) | B(O_SUBNETS) | B(O_GATEWAYS) | B(O_DNSSERVERS))
#define SET_IP_OPTS (B(O_ADAPTER_ID) | B(O_ADDR_FAMILY) | IP_LIST_OPTS | B(O_DHCP))

static const struct option ctl_options[] = {
	{ "pool", required_argument, NULL, 0x100 + O_POOL },
	{ "key", required_argument, NULL, 0x100 + O_KEY },
	{ "value", required_argument, NULL, 0x100 + O_VALUE },
	{ "type", required_argument, NULL, 0x100 + O_TYPE },
	{ "index", required_argument, NULL, 0x100 + O_INDEX },
	{ "adapter-id", required_argument, NULL, 0x100 + O_ADAPTER_ID },
	{ "addr-family", required_argument, NULL, 0x100 + O_ADDR_FAMILY },
	{ "IPAddresses", required_argument, NULL, 0x100 + O_IPADDRESSES },
	{ "Subnets", required_argument, NULL, 0x100 + O_SUBNETS },
	{ "DefaultGateways", required_argument, NULL, 0x100 + O_GATEWAYS },
	{ "DNSServers", required_argument, NULL, 0x100 + O_DNSSERVERS },
	{ "DHCPEnabled", required_argument, NULL, 0x100 + O_DHCP },
	{ "op", required_argument, NULL, 0x100 + O_OP },
	{ "key-size", required_argument, NULL, 0x100 + O_KEY_SIZE },
	{ "value-size", required_argument, NULL, 0x100 + O_VALUE_SIZE },
	{ "value-type", required_argument, NULL, 0x100 + O_VALUE_TYPE },
	{ "fill", required_argument, NULL, 0x100 + O_FILL },
	{ "file", required_argument, NULL, 0x100 + O_FILE },
	{ "count", required_argument, NULL, 0x100 + O_COUNT },
	{ "key-prefix", required_argument, NULL, 0x100 + O_KEY_PREFIX },
	{ "keys", required_argument, NULL, 0x100 + O_KEYS },
	{ NULL, 0, NULL, 0 },
};

static const char *const list_json_names[_L_MAX] = { "IPAddresses", "Subnets", "DefaultGateways",
						     "DNSServers" };

static void ctl_args_done(struct ctl_args *a)
{
	for (size_t i = 0; i < _L_MAX; i++)
		free(a->list[i]);
}

/* ---- small parsers --------------------------------------------------------- */

void *ctl_errf(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return NULL;
}

int ctl_parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (isempty(s) || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	/* decimal, or hexadecimal with 0x (never octal: "010" is ten) */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		if (!isxdigit((unsigned char)*s))
			return -EINVAL;
		v = strtoull(s, &end, 16);
	} else {
		v = strtoull(s, &end, 10);
	}
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int ctl_parse_seconds(const char *s, uint64_t *ret_usec)
{
	double v;

	if (parse_seconds(s, &v) < 0 || v <= 0 || v > 86400.0 * 365)
		return -EINVAL;
	*ret_usec = (uint64_t)(v * 1e6);
	if (*ret_usec == 0)
		*ret_usec = 1;
	return 0;
}

static int parse_bool(const char *s, bool *ret)
{
	if (streq(s, "true") || streq(s, "1") || streq(s, "yes") || streq(s, "True"))
		*ret = true;
	else if (streq(s, "false") || streq(s, "0") || streq(s, "no") || streq(s, "False"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

int ctl_opt_u64(const struct ctl_args *a, enum opt_id o, const char *name, uint64_t max,
		uint64_t def, uint64_t *ret, char **err)
{
	int r;

	if (!(a->seen & B(o))) {
		*ret = def;
		return 0;
	}
	r = ctl_parse_u64(a->val[o], max, ret);
	if (r < 0)
		ctl_errf(err, "--%s: \"%s\" is not a number in 0..%" PRIu64, name, a->val[o], max);
	return r;
}

/* Apply the driver's limit to a control-client string. */
int ctl_kernel_string(const char *what, const char *in, size_t maxout, char *out,
		      size_t out_size, bool *truncated, char **err)
{
	int r = emu_kernel_string(in, maxout, out, out_size, truncated);

	if (r == -EILSEQ)
		ctl_errf(err, "%s is not valid UTF-8 (use `raw` to send arbitrary bytes)", what);
	else if (r < 0)
		ctl_errf(err, "%s: %s", what, strerror(-r));
	return r;
}

static int list_append(struct ctl_args *a, enum list_id l, const char *s, char **err)
{
	size_t n = strlen(s), old = a->list_len[l];
	char *p;

	if (old + n + 2 > CTL_MAX_LIST) {
		ctl_errf(err, "--%s: list longer than %d bytes", list_json_names[l], CTL_MAX_LIST);
		return -E2BIG;
	}
	p = realloc(a->list[l], old + n + 2);
	if (!p)
		return -ENOMEM;
	if (old > 0)
		p[old++] = ';';
	memcpy(p + old, s, n + 1);
	a->list[l] = p;
	a->list_len[l] = old + n;
	return 0;
}

/* ---- JSON pieces ---------------------------------------------------------- */

void ctl_json_head(struct json *j, const struct ctl_cmd *cmd)
{
	json_begin_object(j);
	json_kv_string(j, "op", cmd->def->name);
}

static void json_code(struct json *j, uint32_t code)
{
	char hex[16];

	snprintf(hex, sizeof(hex), "0x%08" PRIx32, code);
	json_kv_uint(j, "code", code);
	json_kv_string(j, "code_hex", hex);
	json_kv_string(j, "code_name", hv_error_to_string(code));
}

/* timeout and, when set, reset/send_failed/aborted */
static void json_outcome(struct json *j, const struct emu_txn_result *res)
{
	json_kv_bool(j, "timeout", res->timeout);
	if (res->reset)
		json_kv_bool(j, "reset", true);
	if (res->send_failed)
		json_kv_bool(j, "send_failed", true);
	if (res->aborted)
		json_kv_bool(j, "aborted", true);
}

static void json_result(struct json *j, const struct emu_txn_result *res, uint32_t code)
{
	json_code(j, code);
	json_outcome(j, res);
	json_kv_uint(j, "elapsed_us", res->latency_usec);
	json_kv_uint(j, "wait_us", res->wait_usec);
}

/* A ';'-separated list as a JSON array (empty items dropped). */
static void json_list(struct json *j, const char *name, const char *s)
{
	json_key(j, name);
	json_begin_array(j);
	while (*s) {
		size_t n = strcspn(s, ";");

		if (n > 0)
			json_string_len(j, s, n);
		s += n;
		if (*s == ';')
			s++;
	}
	json_end_array(j);
}

/* The four address lists of a SET/GET_IP_INFO, in the host's names. */
static void json_ip_lists(struct json *j, const struct kvp_ip_fields *ip)
{
	json_list(j, "IPAddresses", ip->ip_addr);
	json_list(j, "Subnets", ip->sub_net);
	json_list(j, "DefaultGateways", ip->gate_way);
	json_list(j, "DNSServers", ip->dns_addr);
}

/*
 * A daemon string and what the host would get of it. Writes "NAME" (the
 * daemon's bytes) and NAME_truncated; when the host's copy differs, also
 * host_NAME; host_invalid_utf8 when the driver's conversion would fail.
 * Returns false in that last case.
 */
static bool json_host_string(struct json *j, const char *name, const char *s, size_t units)
{
	char buf[64];
	size_t len;
	bool trunc = false;
	int r;

	json_kv_string(j, name, s);
	r = emu_host_view(s, units, &len, &trunc);
	snprintf(buf, sizeof(buf), "%s_truncated", name);
	json_kv_bool(j, buf, r == 0 && trunc);
	if (r < 0) {
		snprintf(buf, sizeof(buf), "%s_invalid_utf8", name);
		json_kv_bool(j, buf, true);
		return false;
	}
	if (trunc) {
		snprintf(buf, sizeof(buf), "host_%s", name);
		json_key(j, buf);
		json_string_len(j, s, len);
	}
	return true;
}

/* ---- status, wait-registered ------------------------------------------------ */

static const char *mode_name(uint8_t mode)
{
	switch (mode) {
	case KVP_OP_REGISTER1:
		return "register1";
	case KVP_OP_REGISTER:
		return "legacy";
	default:
		return NULL;
	}
}

static void json_status(struct json *j, const struct emu_host_status *st)
{
	json_kv_bool(j, "registered", st->registered);
	if (mode_name(st->mode))
		json_kv_string(j, "mode", mode_name(st->mode));
	else
		json_kv_null(j, "mode");
	json_kv_string(j, "version", st->version);
	json_kv_bool(j, "open", st->open);
	json_kv_uint(j, "opens", st->opens);
	json_kv_uint(j, "closes", st->closes);
	json_kv_uint(j, "transactions", st->transactions);
	json_kv_uint(j, "timeouts", st->timeouts);
	json_kv_uint(j, "queued", st->queued);
	json_kv_bool(j, "in_flight", st->in_flight);
	json_kv_bool(j, "unread", st->unread);
	json_kv_double(j, "timeout_sec", (double)st->timeout_usec / 1e6);
	if (st->routine_json)
		st->routine_json(st->routine, j);
}

static void status_answer(const struct ctl_cmd *cmd, const struct emu_host_status *st,
			  struct json *j)
{
	ctl_json_head(j, cmd);
	json_status(j, st);
	json_end_object(j);
}

static void wait_registered_answer(const struct ctl_cmd *cmd, const struct emu_host_status *st,
				   struct json *j)
{
	ctl_json_head(j, cmd);
	json_status(j, st);
	json_kv_uint(j, "elapsed_us", now_usec() - cmd->start_usec);
	json_end_object(j);
}

static int build_nothing(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	return 0;
}

/* ---- one request, one answer ------------------------------------------------ */

/* A failing kvp_msg_build_*() (the driver's limits were applied, so this
 * is a bug rather than a usage error, but it is reported as one). */
static int built(int r, char **err)
{
	if (r < 0)
		ctl_errf(err, "cannot build the message: %s", strerror(-r));
	return r;
}

static int build_key(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	return ctl_kernel_string("--key", a->val[O_KEY], KEY_MAX_BYTES, cmd->key, sizeof(cmd->key),
				 &cmd->key_truncated, err);
}

/* get, set, delete, enumerate, get/set-ip-info, raw: the command's fields,
 * then what the host got. */
static int done_single(struct ctl_cmd *cmd, const struct emu_txn_result *res, struct json *j)
{
	struct kvp_reply *reply = NULL;
	uint32_t code = res->code;

	ctl_json_head(j, cmd);
	if (res->replied && code == HV_S_OK && cmd->def->decode_reply) {
		reply = malloc(sizeof(*reply));
		if (reply && kvp_msg_decode_reply(res->reply, KVP_MSG_SIZE, cmd->msg[0], reply) < 0) {
			free(reply);
			reply = NULL;
		}
	}
	cmd->def->render(cmd, reply, &code, j);
	free(reply);
	json_result(j, res, code);
	json_end_object(j);
	return 0;
}

static int build_get(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	int r = build_key(cmd, a, err);

	if (r < 0)
		return r;
	return built(kvp_msg_build_get(cmd->msg, cmd->pool, cmd->key), err);
}

static void render_get(const struct ctl_cmd *cmd, const struct kvp_reply *reply, uint32_t *code,
		       struct json *j)
{
	json_kv_uint(j, "pool", cmd->pool);
	json_kv_string(j, "key", cmd->key);
	json_kv_bool(j, "truncated", cmd->key_truncated);
	/* the driver takes the value from the kvp_enum_data area, where
	 * kvp_msg_decode_reply() reads it too (PROTOCOL.md §2.4) */
	if (reply)
		json_host_string(j, "value", reply->value, HOST_VALUE_UNITS);
}

static int build_set_value(struct ctl_cmd *cmd, const struct ctl_args *a, uint32_t *ret_type,
			   char **err)
{
	const char *type = a->val[O_TYPE] ? a->val[O_TYPE] : "sz";
	uint64_t v;

	if (streq(type, "sz")) {
		cmd->type_name = "sz";
		*ret_type = REG_SZ;
		return ctl_kernel_string("--value", a->val[O_VALUE], VALUE_MAX_BYTES, cmd->value,
					 sizeof(cmd->value), &cmd->value_truncated, err);
	}
	if (streq(type, "u32") || streq(type, "u64")) {
		bool is32 = streq(type, "u32");

		if (ctl_parse_u64(a->val[O_VALUE], is32 ? UINT32_MAX : UINT64_MAX, &v) < 0) {
			ctl_errf(err, "--value \"%s\" is not a %s number", a->val[O_VALUE], type);
			return -EINVAL;
		}
		/* the driver turns numbers into decimal strings ("%u", "%llu") */
		snprintf(cmd->value, sizeof(cmd->value), "%" PRIu64, v);
		cmd->type_name = is32 ? "u32" : "u64";
		*ret_type = is32 ? REG_U32 : REG_U64;
		return 0;
	}
	ctl_errf(err, "--type must be sz, u32 or u64, not \"%s\"", type);
	return -EINVAL;
}

static int build_set(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	uint32_t type;
	int r;

	r = build_key(cmd, a, err);
	if (r < 0)
		return r;
	r = build_set_value(cmd, a, &type, err);
	if (r < 0)
		return r;
	return built(kvp_msg_build_set(cmd->msg, cmd->pool, cmd->key, cmd->value, type), err);
}

static void render_set(const struct ctl_cmd *cmd, const struct kvp_reply *reply, uint32_t *code,
		       struct json *j)
{
	json_kv_uint(j, "pool", cmd->pool);
	json_kv_string(j, "key", cmd->key);
	json_kv_string(j, "value", cmd->value);
	json_kv_string(j, "value_type", cmd->type_name);
	json_kv_bool(j, "truncated", cmd->key_truncated || cmd->value_truncated);
}

static int build_delete(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	int r = build_key(cmd, a, err);

	if (r < 0)
		return r;
	return built(kvp_msg_build_delete(cmd->msg, cmd->pool, cmd->key), err);
}

static void render_delete(const struct ctl_cmd *cmd, const struct kvp_reply *reply,
			  uint32_t *code, struct json *j)
{
	json_kv_uint(j, "pool", cmd->pool);
	json_kv_string(j, "key", cmd->key);
	json_kv_bool(j, "truncated", cmd->key_truncated);
}

static int build_enumerate(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	uint64_t v;
	int r;

	r = ctl_opt_u64(a, O_INDEX, "index", UINT32_MAX, 0, &v, err);
	if (r < 0)
		return r;
	cmd->index = (uint32_t)v;
	return built(kvp_msg_build_enumerate(cmd->msg, cmd->pool, cmd->index), err);
}

static void render_enumerate(const struct ctl_cmd *cmd, const struct kvp_reply *reply,
			     uint32_t *code, struct json *j)
{
	json_kv_uint(j, "pool", cmd->pool);
	json_kv_uint(j, "index", cmd->index);
	if (reply) {
		json_host_string(j, "key", reply->key, HOST_KEY_UNITS);
		json_host_string(j, "value", reply->value, HOST_VALUE_UNITS);
	}
}

/* ---- IP commands ------------------------------------------------------------ */

/* ADDR_FAMILY_* from the address tokens, as the host's ProtocolIFType. */
static uint8_t guess_family(const char *const *lists, size_t n)
{
	uint8_t f = 0;

	for (size_t i = 0; i < n; i++) {
		const char *s = lists[i];

		if (strchr(s, '.'))
			f |= ADDR_FAMILY_IPV4;
		if (strchr(s, ':'))
			f |= ADDR_FAMILY_IPV6;
	}
	return f;
}

/* The four lists through the driver's limits, and DHCPEnabled. */
static int build_ip_lists(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	static const struct {
		enum list_id l;
		size_t max;
		const char *what;
	} lim[] = { { L_IP, MAX_IP_ADDR_SIZE, "--IPAddresses" },
		    { L_SUBNET, MAX_IP_ADDR_SIZE, "--Subnets" },
		    { L_GATEWAY, MAX_GATEWAY_SIZE, "--DefaultGateways" },
		    { L_DNS, MAX_IP_ADDR_SIZE, "--DNSServers" } };
	char *dst[_L_MAX] = { cmd->ip.ip_addr, cmd->ip.sub_net, cmd->ip.gate_way,
			      cmd->ip.dns_addr };
	size_t dst_size[_L_MAX] = { sizeof(cmd->ip.ip_addr), sizeof(cmd->ip.sub_net),
				    sizeof(cmd->ip.gate_way), sizeof(cmd->ip.dns_addr) };
	bool t = false, dhcp = false;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(lim); i++) {
		const char *src = a->list[lim[i].l] ? a->list[lim[i].l] : "";

		r = ctl_kernel_string(lim[i].what, src, lim[i].max, dst[lim[i].l],
				      dst_size[lim[i].l], &t, err);
		if (r < 0)
			return r;
		cmd->ip_truncated |= t;
	}
	if (a->val[O_DHCP] && parse_bool(a->val[O_DHCP], &dhcp) < 0) {
		ctl_errf(err, "--DHCPEnabled: expected true or false, got \"%s\"", a->val[O_DHCP]);
		return -EINVAL;
	}
	cmd->ip.dhcp_enabled = dhcp;
	return 0;
}

int ctl_build_ip_fields(struct ctl_cmd *cmd, const struct ctl_args *a, bool with_lists,
			char **err)
{
	uint64_t v;
	bool t = false;
	int r;

	memset(&cmd->ip, 0, sizeof(cmd->ip));
	if (!a->val[O_ADAPTER_ID]) {
		ctl_errf(err, "--adapter-id is required");
		return -EINVAL;
	}
	/* process_ib_ipinfo(): adapter_id converted with MAX_ADAPTER_ID_SIZE */
	r = ctl_kernel_string("--adapter-id", a->val[O_ADAPTER_ID], MAX_ADAPTER_ID_SIZE,
			      cmd->ip.adapter_id, sizeof(cmd->ip.adapter_id), &t, err);
	if (r < 0)
		return r;
	cmd->ip_truncated = t;
	if (with_lists) {
		r = build_ip_lists(cmd, a, err);
		if (r < 0)
			return r;
	}
	if (a->seen & B(O_ADDR_FAMILY)) {
		r = ctl_opt_u64(a, O_ADDR_FAMILY, "addr-family", UINT8_MAX, 0, &v, err);
		if (r < 0)
			return r;
		cmd->ip.addr_family = (uint8_t)v;
	} else if (with_lists) {
		const char *addrs[] = { cmd->ip.ip_addr };
		const char *all[] = { cmd->ip.ip_addr, cmd->ip.sub_net, cmd->ip.gate_way,
				      cmd->ip.dns_addr };

		cmd->ip.addr_family = guess_family(addrs, ARRAY_SIZE(addrs));
		if (!cmd->ip.addr_family)
			cmd->ip.addr_family = guess_family(all, ARRAY_SIZE(all));
	} else {
		cmd->ip.addr_family = ADDR_FAMILY_IPV4 | ADDR_FAMILY_IPV6;
	}
	cmd->req_addr_family = cmd->ip.addr_family;
	return 0;
}

static int build_get_ip(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	int r = ctl_build_ip_fields(cmd, a, false, err);

	if (r < 0)
		return r;
	return built(kvp_msg_build_ip(cmd->msg, KVP_OP_GET_IP_INFO, &cmd->ip), err);
}

/* process_ob_ipinfo(): each field converted to UTF-16 with its limit; a
 * conversion failure becomes HV_E_FAIL. */
static void render_ip_reply(const struct kvp_ip_fields *ip, uint32_t *code, struct json *j)
{
	static const struct {
		const char *name;
		size_t units;
	} lim[] = { { "adapter_id", MAX_ADAPTER_ID_SIZE }, { "ip_addr", MAX_IP_ADDR_SIZE },
		    { "sub_net", MAX_IP_ADDR_SIZE }, { "gate_way", MAX_GATEWAY_SIZE },
		    { "dns_addr", MAX_IP_ADDR_SIZE } };
	const char *vals[] = { ip->adapter_id, ip->ip_addr, ip->sub_net, ip->gate_way,
			       ip->dns_addr };
	bool truncated = false, invalid = false;

	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		size_t len;
		bool t = false;

		if (emu_host_view(vals[i], lim[i].units, &len, &t) < 0)
			invalid = true;
		truncated |= t;
	}
	json_kv_uint(j, "addr_family", ip->addr_family);
	json_kv_bool(j, "DHCPEnabled", ip->dhcp_enabled != 0);
	json_ip_lists(j, ip);
	json_key(j, "raw");
	json_begin_object(j);
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++)
		json_kv_string(j, lim[i].name, vals[i]);
	json_kv_uint(j, "dhcp_enabled", ip->dhcp_enabled);
	json_end_object(j);
	json_kv_bool(j, "truncated", truncated);
	if (invalid) {
		json_kv_bool(j, "host_invalid_utf8", true);
		json_kv_uint(j, "daemon_code", *code);
		*code = HV_E_FAIL;
	}
}

static void render_get_ip(const struct ctl_cmd *cmd, const struct kvp_reply *reply,
			  uint32_t *code, struct json *j)
{
	json_kv_string(j, "adapter_id", cmd->ip.adapter_id);
	json_kv_uint(j, "request_addr_family", cmd->req_addr_family);
	json_kv_bool(j, "request_truncated", cmd->ip_truncated);
	if (reply)
		render_ip_reply(&reply->ip, code, j);
}

static int build_set_ip(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	int r = ctl_build_ip_fields(cmd, a, true, err);

	if (r < 0)
		return r;
	return built(kvp_msg_build_ip(cmd->msg, KVP_OP_SET_IP_INFO, &cmd->ip), err);
}

static void render_set_ip(const struct ctl_cmd *cmd, const struct kvp_reply *reply,
			  uint32_t *code, struct json *j)
{
	json_kv_string(j, "adapter_id", cmd->ip.adapter_id);
	json_kv_uint(j, "addr_family", cmd->ip.addr_family);
	json_kv_bool(j, "DHCPEnabled", cmd->ip.dhcp_enabled != 0);
	json_ip_lists(j, &cmd->ip);
	json_kv_bool(j, "truncated", cmd->ip_truncated);
}

/* ---- enumerate-all ---------------------------------------------------------- */

static int build_enumerate_all(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	cmd->index = 0;
	json_init(&cmd->items);
	json_begin_array(&cmd->items);
	return built(kvp_msg_build_enumerate(cmd->msg, cmd->pool, 0), err);
}

/* Appends the item a reply carries; false when there is none (the end). */
static bool enumerate_all_item(struct ctl_cmd *cmd, const struct emu_txn_result *res)
{
	_cleanup_free_ struct kvp_reply *reply = NULL;

	if (res->code != HV_S_OK || !res->replied || cmd->index >= ENUM_ALL_MAX)
		return false;
	reply = malloc(sizeof(*reply));
	if (!reply || kvp_msg_decode_reply(res->reply, KVP_MSG_SIZE, KVP_OP_ENUMERATE, reply) != 0)
		return false;
	json_begin_object(&cmd->items);
	json_kv_uint(&cmd->items, "index", cmd->index);
	json_host_string(&cmd->items, "key", reply->key, HOST_KEY_UNITS);
	json_host_string(&cmd->items, "value", reply->value, HOST_VALUE_UNITS);
	json_end_object(&cmd->items);
	cmd->n_items++;
	return true;
}

/* One ENUMERATE after the other until the daemon says stop. */
static int done_enumerate_all(struct ctl_cmd *cmd, const struct emu_txn_result *res,
			      struct json *j)
{
	char *items = NULL;
	size_t items_len = 0;

	if (enumerate_all_item(cmd, res)) {
		cmd->index++;
		kvp_msg_build_enumerate(cmd->msg, cmd->pool, cmd->index);
		return 1;
	}

	json_end_array(&cmd->items);
	ctl_json_head(j, cmd);
	json_kv_uint(j, "pool", cmd->pool);
	json_kv_uint(j, "count", cmd->n_items);
	json_key(j, "items");
	if (json_finish(&cmd->items, &items, &items_len) == 0)
		json_raw(j, items, items_len);
	else
		json_null(j);
	free(items);
	if (cmd->index >= ENUM_ALL_MAX)
		json_kv_bool(j, "stopped_at_limit", true);
	json_key(j, "end_code");
	json_uint(j, res->code);
	json_kv_string(j, "end_code_name", hv_error_to_string(res->code));
	json_outcome(j, res);
	json_kv_uint(j, "elapsed_us", now_usec() - cmd->start_usec);
	json_end_object(j);
	return 0;
}

/* ---- the table -------------------------------------------------------------- */

static const struct cmd_def cmd_defs[] = {
	{
		.name = "status",
		.synopsis = "status",
		.build = build_nothing,
		.status = status_answer,
	},
	{
		.name = "wait-registered",
		.synopsis = "wait-registered",
		.build = build_nothing,
		.status = wait_registered_answer,
		.wait_registered = true,
	},
	{
		.name = "get",
		.allowed = B(O_POOL) | B(O_KEY),
		.required = B(O_KEY),
		.synopsis = "get [--pool N] --key K",
		.build = build_get,
		.done = done_single,
		.render = render_get,
		.decode_reply = true,
	},
	{
		.name = "set",
		.allowed = B(O_POOL) | B(O_KEY) | B(O_VALUE) | B(O_TYPE),
		.required = B(O_KEY) | B(O_VALUE),
		.synopsis = "set [--pool N] --key K --value V [--type sz|u32|u64]",
		.build = build_set,
		.done = done_single,
		.render = render_set,
	},
	{
		.name = "delete",
		.allowed = B(O_POOL) | B(O_KEY),
		.required = B(O_KEY),
		.synopsis = "delete [--pool N] --key K",
		.build = build_delete,
		.done = done_single,
		.render = render_delete,
	},
	{
		.name = "enumerate",
		.allowed = B(O_POOL) | B(O_INDEX),
		.synopsis = "enumerate [--pool N] [--index I]",
		.build = build_enumerate,
		.done = done_single,
		.render = render_enumerate,
		.decode_reply = true,
	},
	{
		.name = "enumerate-all",
		.allowed = B(O_POOL),
		.synopsis = "enumerate-all [--pool N]",
		.build = build_enumerate_all,
		.done = done_enumerate_all,
	},
	{
		.name = "get-ip-info",
		.allowed = B(O_ADAPTER_ID) | B(O_ADDR_FAMILY),
		.required = B(O_ADAPTER_ID),
		.synopsis = "get-ip-info --adapter-id MAC [--addr-family N]",
		.build = build_get_ip,
		.done = done_single,
		.render = render_get_ip,
		.decode_reply = true,
	},
	{
		.name = "set-ip-info",
		.allowed = SET_IP_OPTS,
		.required = B(O_ADAPTER_ID),
		.synopsis = "set-ip-info --adapter-id ID [--IPAddresses A]... [--Subnets S]...\n"
			    "              [--DefaultGateways G]... [--DNSServers D]... [--DHCPEnabled true|false]\n"
			    "              [--addr-family N]",
		.build = build_set_ip,
		.done = done_single,
		.render = render_set_ip,
	},
	{
		.name = "raw",
		.allowed = B(O_OP) | B(O_POOL) | B(O_KEY_SIZE) | B(O_KEY) | B(O_VALUE_SIZE) |
			   B(O_VALUE) | B(O_VALUE_TYPE) | B(O_INDEX) | B(O_FILL) | B(O_FILE),
		.synopsis = "raw --op N [--pool N] [--key-size N] [--key S] [--value-size N] [--value S]\n"
			    "              [--value-type N] [--index N] [--fill BYTE] | raw --file PATH",
		.build = ctl_raw_build,
		.done = done_single,
		.render = ctl_raw_render,
	},
	{
		.name = "bench",
		.allowed = B(O_OP) | B(O_COUNT) | B(O_POOL) | B(O_KEY_PREFIX) | B(O_KEYS) |
			   B(O_VALUE) | SET_IP_OPTS,
		.required = B(O_OP) | B(O_COUNT),
		.synopsis = "bench --op set|get|enumerate-all|get-ip-info|set-ip-info --count N [--pool N]\n"
			    "              [--key-prefix K] [--keys N (cycle over N key names)] [--value V]\n"
			    "              [--adapter-id ID] [IP options]",
		.build = ctl_bench_build,
		.done = ctl_bench_done,
	},
};

/* ---- parsing ---------------------------------------------------------------- */

struct ctl_cmd *ctl_cmd_free(struct ctl_cmd *cmd)
{
	if (!cmd)
		return NULL;
	json_done(&cmd->items);
	ctl_bench_free(cmd->bench);
	free(cmd);
	return NULL;
}

/* "[--wait SEC] COMMAND": the command's entry, argv[optind] its name. */
static const struct cmd_def *parse_global(int argc, char **argv, uint64_t *wait_usec, char **err)
{
	static const struct option global[] = {
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0; /* full reset of getopt's state between commands */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", global, NULL)) >= 0) {
		switch (c) {
		case 'w':
			if (ctl_parse_seconds(optarg, wait_usec) < 0)
				return ctl_errf(err,
						"--wait: \"%s\" is not a positive number of seconds",
						optarg);
			break;
		case ':':
			return ctl_errf(err, "option %s needs a value", argv[optind - 1]);
		default:
			return ctl_errf(err, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return ctl_errf(err, "no command given");
	for (size_t i = 0; i < ARRAY_SIZE(cmd_defs); i++)
		if (streq(argv[optind], cmd_defs[i].name))
			return &cmd_defs[i];
	return ctl_errf(err, "unknown command \"%s\"", argv[optind]);
}

/* The command's own options ("COMMAND [OPTIONS...]"). */
static int parse_options(const struct cmd_def *def, int argc, char **argv, struct ctl_args *a,
			 char **err)
{
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":", ctl_options, NULL)) >= 0) {
		enum opt_id o;

		if (c == ':') {
			ctl_errf(err, "option %s needs a value", argv[optind - 1]);
			return -EINVAL;
		}
		if (c < 0x100 || c >= 0x100 + _O_MAX) {
			ctl_errf(err, "unknown option %s", argv[optind - 1]);
			return -EINVAL;
		}
		o = (enum opt_id)(c - 0x100);
		if (!(def->allowed & B(o))) {
			ctl_errf(err, "--%s is not an option of %s", ctl_options[o].name, def->name);
			return -EINVAL;
		}
		a->seen |= B(o);
		a->val[o] = optarg;
		if (o >= O_IPADDRESSES && o <= O_DNSSERVERS &&
		    list_append(a, (enum list_id)(o - O_IPADDRESSES), optarg, err) < 0)
			return -EINVAL;
	}
	if (optind < argc) {
		ctl_errf(err, "unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	for (unsigned o = 0; o < _O_MAX; o++)
		if ((def->required & B(o)) && !(a->seen & B(o))) {
			ctl_errf(err, "%s needs --%s", def->name, ctl_options[o].name);
			return -EINVAL;
		}
	return 0;
}

static int cmd_build(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	uint64_t v;
	int r;

	r = ctl_opt_u64(a, O_POOL, "pool", UINT8_MAX, 0, &v, err);
	if (r < 0)
		return r;
	cmd->pool = (uint8_t)v;
	return cmd->def->build(cmd, a, err);
}

struct ctl_cmd *ctl_cmd_parse(int argc, char **argv, char **err)
{
	struct ctl_cmd *cmd = NULL;
	struct ctl_args a = { 0 };
	const struct cmd_def *def;
	uint64_t wait_usec = EMU_CTL_DEFAULT_WAIT_SEC * 1000000ULL;

	def = parse_global(argc, argv, &wait_usec, err);
	if (!def)
		return NULL;
	if (parse_options(def, argc - optind, argv + optind, &a, err) < 0)
		goto out;
	cmd = calloc(1, sizeof(*cmd));
	if (!cmd) {
		ctl_errf(err, "out of memory");
		goto out;
	}
	cmd->def = def;
	cmd->wait_usec = wait_usec;
	cmd->start_usec = now_usec();
	if (cmd_build(cmd, &a, err) < 0)
		cmd = ctl_cmd_free(cmd);
out:
	ctl_args_done(&a);
	return cmd;
}

/* ---- the reference ---------------------------------------------------------- */

void emu_ctl_print_commands(FILE *f)
{
	fprintf(f, "Commands (each prints one JSON document):\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmd_defs); i++)
		fprintf(f, "  %s\n", cmd_defs[i].synopsis);
	fprintf(f,
		"\n"
		"  status           registered, mode (register1|legacy|null), version, open,\n"
		"                   opens, closes, transactions, timeouts, queued, in_flight,\n"
		"                   unread, timeout_sec\n"
		"  wait-registered  returns (with the status fields) once a daemon has\n"
		"                   registered; error \"no daemon registered\" after --wait\n"
		"  get/set/delete/enumerate\n"
		"                   one request on pool N (default 0; any 0..255 is sent).\n"
		"                   set --type u32|u64 sends the number as the driver formats\n"
		"                   it (\"%%u\"). Keys over 511 bytes and values over 2047 are\n"
		"                   cut on a UTF-8 boundary as the driver does (\"truncated\").\n"
		"                   get/enumerate replies carry key/value as the daemon wrote\n"
		"                   them, *_truncated when the host would get less (254/1022\n"
		"                   UTF-16 units; then host_key/host_value), *_invalid_utf8\n"
		"                   when the driver's conversion would fail\n"
		"  enumerate-all    ENUMERATE 0, 1, 2... until a code other than HV_S_OK:\n"
		"                   items [{index,key,value}], end_code, end_code_name\n"
		"  get-ip-info      GET_IP_INFO for a MAC (addr-family default 3): code,\n"
		"                   IPAddresses, Subnets, DefaultGateways, DNSServers (arrays\n"
		"                   split on ';'), DHCPEnabled, addr_family, raw strings; a\n"
		"                   reply the driver cannot convert becomes HV_E_FAIL\n"
		"                   (host_invalid_utf8, daemon_code)\n"
		"  set-ip-info      SET_IP_INFO (Msvm_FailoverNetworkAdapterSettingData): each\n"
		"                   list option repeatable and/or ';'-joined; addr-family\n"
		"                   defaults to the address tokens' families (1 IPv4, 2 IPv6)\n"
		"  raw              a hand-made message: --op/--pool bytes, --fill for every\n"
		"                   other byte (default 0), --key/--value copied as given\n"
		"                   (\\xNN escapes, no NUL added) with their size fields set\n"
		"                   to length+1 unless --key-size/--value-size say otherwise;\n"
		"                   layout by op: 2 delete, 3 enumerate (--index), 4/5 IP\n"
		"                   (--key = adapter_id, --value = ip_addr), others kvp_set.\n"
		"                   --file sends a 7432-byte file as is\n"
		"  bench            --count requests back to back (keys PREFIX0..N-1 for set\n"
		"                   and get; whole-pool enumerations for enumerate-all): ops,\n"
		"                   requests, errors, timeouts, seconds, ops_per_sec,\n"
		"                   latency_us {min, median, p90, max} measured from \"queued\n"
		"                   for the daemon\" to \"reply written\"\n"
		"\n"
		"Single-request answers: op, the request fields, code, code_hex, code_name,\n"
		"timeout, elapsed_us (queued for the daemon -> reply), wait_us (time in the\n"
		"host's queue); reset/send_failed/aborted when the device was closed, still\n"
		"held an unread message, or the emulator stopped (all HV_E_FAIL).\n");
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-ctl.c - the control socket: parses host commands, runs them asynchronously, answers JSON. */
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "emu-ctl.h"
#include "hv-error.h"
#include "json.h"
#include "kvp-msg.h"
#include "log.h"
#include "util.h"

/* Largest request packet: a few thousand bytes of arguments is the most any
 * command needs; the limit only keeps a confused client from costing memory. */
#define CTL_MAX_REQUEST (256 * 1024)
#define CTL_MAX_ARGS 1024
#define CTL_CHUNK (32 * 1024)
/* Joined IP lists longer than this are certainly a mistake (the kernel keeps
 * at most 1024 bytes of each). */
#define CTL_MAX_LIST (64 * 1024)
/* enumerate-all stops here even if the daemon never says HV_S_CONT. */
#define ENUM_ALL_MAX 1000000u
#define BENCH_MAX_COUNT 10000000ul

#define KEY_MAX_BYTES (HV_KVP_EXCHANGE_MAX_KEY_SIZE - 1)     /* 511, kvp_send_key */
#define VALUE_MAX_BYTES (HV_KVP_EXCHANGE_MAX_VALUE_SIZE - 1) /* 2047 */
/* what the driver lets through to the host (utf8s_to_utf16s limits) */
#define HOST_KEY_UNITS (HV_KVP_EXCHANGE_MAX_KEY_SIZE / 2 - 2)     /* 254 */
#define HOST_VALUE_UNITS (HV_KVP_EXCHANGE_MAX_VALUE_SIZE / 2 - 2) /* 1022 */

#define MSG_OFF(member) offsetof(struct hv_kvp_msg, member)

/* ---- options ------------------------------------------------------------- */

enum opt_id {
	O_POOL,
	O_KEY,
	O_VALUE,
	O_TYPE,
	O_INDEX,
	O_ADAPTER_ID,
	O_ADDR_FAMILY,
	O_IPADDRESSES,
	O_SUBNETS,
	O_GATEWAYS,
	O_DNSSERVERS,
	O_DHCP,
	O_OP,
	O_KEY_SIZE,
	O_VALUE_SIZE,
	O_VALUE_TYPE,
	O_FILL,
	O_FILE,
	O_COUNT,
	O_KEY_PREFIX,
	O_KEYS,
	_O_MAX,
};

#define B(o) (1u << (o))
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

enum cmd_kind {
	CMD_STATUS,
	CMD_WAIT_REGISTERED,
	CMD_GET,
	CMD_SET,
	CMD_DELETE,
	CMD_ENUMERATE,
	CMD_ENUMERATE_ALL,
	CMD_GET_IP_INFO,
	CMD_SET_IP_INFO,
	CMD_RAW,
	CMD_BENCH,
};

static const struct cmd_def {
	const char *name;
	enum cmd_kind kind;
	unsigned allowed, required;
	const char *synopsis;
} cmd_defs[] = {
	{ "status", CMD_STATUS, 0, 0, "status" },
	{ "wait-registered", CMD_WAIT_REGISTERED, 0, 0, "wait-registered" },
	{ "get", CMD_GET, B(O_POOL) | B(O_KEY), B(O_KEY), "get [--pool N] --key K" },
	{ "set", CMD_SET, B(O_POOL) | B(O_KEY) | B(O_VALUE) | B(O_TYPE), B(O_KEY) | B(O_VALUE),
	  "set [--pool N] --key K --value V [--type sz|u32|u64]" },
	{ "delete", CMD_DELETE, B(O_POOL) | B(O_KEY), B(O_KEY), "delete [--pool N] --key K" },
	{ "enumerate", CMD_ENUMERATE, B(O_POOL) | B(O_INDEX), 0,
	  "enumerate [--pool N] [--index I]" },
	{ "enumerate-all", CMD_ENUMERATE_ALL, B(O_POOL), 0, "enumerate-all [--pool N]" },
	{ "get-ip-info", CMD_GET_IP_INFO, B(O_ADAPTER_ID) | B(O_ADDR_FAMILY), B(O_ADAPTER_ID),
	  "get-ip-info --adapter-id MAC [--addr-family N]" },
	{ "set-ip-info", CMD_SET_IP_INFO, SET_IP_OPTS, B(O_ADAPTER_ID),
	  "set-ip-info --adapter-id ID [--IPAddresses A]... [--Subnets S]...\n"
	  "              [--DefaultGateways G]... [--DNSServers D]... [--DHCPEnabled true|false]\n"
	  "              [--addr-family N]" },
	{ "raw", CMD_RAW,
	  B(O_OP) | B(O_POOL) | B(O_KEY_SIZE) | B(O_KEY) | B(O_VALUE_SIZE) | B(O_VALUE) |
		  B(O_VALUE_TYPE) | B(O_INDEX) | B(O_FILL) | B(O_FILE),
	  0,
	  "raw --op N [--pool N] [--key-size N] [--key S] [--value-size N] [--value S]\n"
	  "              [--value-type N] [--index N] [--fill BYTE] | raw --file PATH" },
	{ "bench", CMD_BENCH,
	  B(O_OP) | B(O_COUNT) | B(O_POOL) | B(O_KEY_PREFIX) | B(O_KEYS) | B(O_VALUE) |
		  SET_IP_OPTS,
	  B(O_OP) | B(O_COUNT),
	  "bench --op set|get|enumerate-all|get-ip-info|set-ip-info --count N [--pool N]\n"
	  "              [--key-prefix K] [--keys N (cycle over N key names)] [--value V]\n"
	  "              [--adapter-id ID] [IP options]" },
};

enum list_id { L_IP, L_SUBNET, L_GATEWAY, L_DNS, _L_MAX };

static const char *const list_json_names[_L_MAX] = { "IPAddresses", "Subnets", "DefaultGateways",
						     "DNSServers" };

struct ctl_args {
	unsigned seen;
	const char *val[_O_MAX]; /* last value given */
	char *list[_L_MAX];      /* repeatable IP lists, joined with ';' */
	size_t list_len[_L_MAX];
};

static void ctl_args_done(struct ctl_args *a)
{
	for (size_t i = 0; i < _L_MAX; i++)
		free(a->list[i]);
}

/* ---- commands ---------------------------------------------------------- */

enum bench_op { BENCH_SET, BENCH_GET, BENCH_ENUM_ALL, BENCH_GET_IP, BENCH_SET_IP };
static const char *const bench_op_names[] = { "set", "get", "enumerate-all", "get-ip-info",
					      "set-ip-info" };

struct ctl_conn;

struct ctl_cmd {
	struct ctl_conn *conn;
	const struct cmd_def *def;
	uint64_t wait_usec;
	uint64_t start_usec;
	sd_event_source *wait_timer;
	struct emu_txn *txn;

	uint8_t pool;
	uint32_t index;
	/* the strings as the driver delivers them (after its limits) */
	char key[HV_KVP_EXCHANGE_MAX_KEY_SIZE];
	char value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
	bool key_truncated, value_truncated, ip_truncated;
	const char *type_name;
	uint8_t raw_op;
	struct kvp_ip_fields ip;
	uint8_t req_addr_family;
	uint8_t msg[KVP_MSG_SIZE];

	/* enumerate-all */
	struct json items;
	unsigned n_items;

	/* bench */
	enum bench_op bench_op;
	char key_prefix[HV_KVP_EXCHANGE_MAX_KEY_SIZE];
	unsigned long count, done, errors, timeouts, requests;
	unsigned long keys; /* key names cycle over prefix0..prefix(keys-1); 0: no cycle */
	uint64_t *lat;
	uint64_t enum_acc;
	uint64_t bench_start;
};

struct ctl_conn {
	struct emu_ctl_server *srv;
	int fd;
	sd_event_source *io;
	struct ctl_cmd *cmd;
	bool got_request;
	/* the answer being sent: status packet, then the JSON in chunks */
	char status[4];
	bool status_sent;
	char *out;
	size_t out_len, out_off;
	bool answering;
	struct ctl_conn *prev, *next;
};

struct emu_ctl_server {
	sd_event *event;
	struct emu_host *host;
	int fd;
	sd_event_source *io;
	char *path;
	struct ctl_conn *conns;
};

static void conn_free(struct ctl_conn *c);
static void cmd_submit_next(struct ctl_cmd *cmd);

/* ---- small parsers --------------------------------------------------------- */

_printf_(2, 3) static void *errf(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return NULL;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
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

static int parse_seconds(const char *s, uint64_t *ret_usec)
{
	double v;
	char *end;

	if (isempty(s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v <= 0 || v > 86400.0 * 365)
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

/* \xNN and \\ escapes, so that raw can send any byte. Returns the length. */
static int unescape(const char *s, uint8_t *out, size_t cap, size_t *ret_len, char **err)
{
	size_t n = 0;

	while (*s) {
		unsigned c;

		if (*s == '\\') {
			if (s[1] == '\\') {
				c = '\\';
				s += 2;
			} else if (s[1] == 'x' && isxdigit((unsigned char)s[2]) &&
				   isxdigit((unsigned char)s[3])) {
				char hex[3] = { s[2], s[3], 0 };

				c = (unsigned)strtoul(hex, NULL, 16);
				s += 4;
			} else {
				errf(err, "bad escape in \"%s\": only \\xNN and \\\\ are understood", s);
				return -EINVAL;
			}
		} else {
			c = (unsigned char)*s++;
		}
		if (n >= cap) {
			errf(err, "string longer than its %zu-byte field", cap);
			return -EMSGSIZE;
		}
		out[n++] = (uint8_t)c;
	}
	*ret_len = n;
	return 0;
}

static int opt_u64(const struct ctl_args *a, enum opt_id o, const char *name, uint64_t max,
		   uint64_t def, uint64_t *ret, char **err)
{
	int r;

	if (!(a->seen & B(o))) {
		*ret = def;
		return 0;
	}
	r = parse_u64(a->val[o], max, ret);
	if (r < 0)
		errf(err, "--%s: \"%s\" is not a number in 0..%" PRIu64, name, a->val[o], max);
	return r;
}

/* Apply the driver's limit to a control-client string. */
static int kernel_string(const char *what, const char *in, size_t maxout, char *out,
			 size_t out_size, bool *truncated, char **err)
{
	int r = emu_kernel_string(in, maxout, out, out_size, truncated);

	if (r == -EILSEQ)
		errf(err, "%s is not valid UTF-8 (use `raw` to send arbitrary bytes)", what);
	else if (r < 0)
		errf(err, "%s: %s", what, strerror(-r));
	return r;
}

static int list_append(struct ctl_args *a, enum list_id l, const char *s, char **err)
{
	size_t n = strlen(s), old = a->list_len[l];
	char *p;

	if (old + n + 2 > CTL_MAX_LIST) {
		errf(err, "--%s: list longer than %d bytes", list_json_names[l], CTL_MAX_LIST);
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

static void json_code(struct json *j, uint32_t code)
{
	char hex[16];

	snprintf(hex, sizeof(hex), "0x%08" PRIx32, code);
	json_kv_uint(j, "code", code);
	json_kv_string(j, "code_hex", hex);
	json_kv_string(j, "code_name", hv_error_to_string(code));
}

static void json_result(struct json *j, const struct emu_txn_result *res, uint32_t code)
{
	json_code(j, code);
	json_kv_bool(j, "timeout", res->timeout);
	if (res->reset)
		json_kv_bool(j, "reset", true);
	if (res->send_failed)
		json_kv_bool(j, "send_failed", true);
	if (res->aborted)
		json_kv_bool(j, "aborted", true);
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

/* ---- answering ------------------------------------------------------------ */

static void conn_update_events(struct ctl_conn *c)
{
	bool pending = c->answering && (!c->status_sent || c->out_off < c->out_len);

	/* keep EPOLLIN to notice a client that hangs up while it waits */
	sd_event_source_set_io_events(c->io, EPOLLIN | (pending ? EPOLLOUT : 0));
}

/* Send what the socket takes; returns 1 when everything is out, 0 when it
 * must wait for EPOLLOUT, <0 when the client is gone. */
static int conn_flush(struct ctl_conn *c)
{
	ssize_t n;

	if (!c->status_sent) {
		n = send(c->fd, c->status, strlen(c->status), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : negative_errno();
		c->status_sent = true;
	}
	while (c->out_off < c->out_len) {
		size_t chunk = MIN((size_t)CTL_CHUNK, c->out_len - c->out_off);

		n = send(c->fd, c->out + c->out_off, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : negative_errno();
		c->out_off += (size_t)n;
	}
	return 1;
}

static void cmd_free(struct ctl_cmd *cmd);

/* Finish the connection's command with an exit status and a document. */
static void conn_answer(struct ctl_conn *c, int status, char *doc, size_t len)
{
	int r;

	if (c->cmd) {
		cmd_free(c->cmd);
		c->cmd = NULL;
	}
	snprintf(c->status, sizeof(c->status), "%d", status);
	c->out = doc;
	c->out_len = len;
	c->out_off = 0;
	c->answering = true;
	r = conn_flush(c);
	if (r != 0) {
		conn_free(c);
		return;
	}
	conn_update_events(c);
}

static void answer_json(struct ctl_conn *c, int status, struct json *j)
{
	char *doc = NULL;
	size_t len = 0;

	if (json_finish(j, &doc, &len) < 0) {
		free(doc);
		doc = strdup("{\"error\":\"out of memory\"}");
		len = doc ? strlen(doc) : 0;
		status = EMU_CTL_FAILED;
	}
	conn_answer(c, status, doc, len);
}

static void answer_error(struct ctl_conn *c, int status, const char *op, const char *msg)
{
	struct json j;

	json_init(&j);
	json_begin_object(&j);
	if (op)
		json_kv_string(&j, "op", op);
	json_kv_string(&j, "error", msg ? msg : "out of memory");
	json_end_object(&j);
	answer_json(c, status, &j);
}

/* ---- command life cycle ---------------------------------------------------- */

static void cmd_free(struct ctl_cmd *cmd)
{
	if (!cmd)
		return;
	if (cmd->txn)
		emu_host_cancel(cmd->conn->srv->host, cmd->txn);
	sd_event_source_disable_unref(cmd->wait_timer);
	json_done(&cmd->items);
	free(cmd->lat);
	free(cmd);
}

static int on_wait_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct ctl_cmd *cmd = userdata;
	struct ctl_conn *c = cmd->conn;
	struct emu_host_status st;
	const char *why;
	bool was_queued = false;

	emu_host_get_status(cmd->conn->srv->host, &st);
	if (cmd->txn) {
		was_queued = emu_host_cancel(c->srv->host, cmd->txn);
		cmd->txn = NULL;
	}
	if (!st.registered)
		why = "no daemon registered";
	else if (was_queued)
		why = "the request was still queued behind others when --wait expired";
	else
		why = "no reply from the daemon within --wait";
	log_info("%s: %s", cmd->def->name, why);
	answer_error(c, EMU_CTL_FAILED, cmd->def->name, why);
	return 0;
}

static int cmd_arm_wait(struct ctl_cmd *cmd)
{
	sd_event *e = cmd->conn->srv->event;
	uint64_t now;
	int r;

	r = sd_event_now(e, CLOCK_MONOTONIC, &now);
	if (r < 0)
		return r;
	if (!cmd->wait_timer)
		return sd_event_add_time(e, &cmd->wait_timer, CLOCK_MONOTONIC,
					 now + cmd->wait_usec, 1000, on_wait_timeout, cmd);
	r = sd_event_source_set_time(cmd->wait_timer, now + cmd->wait_usec);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(cmd->wait_timer, SD_EVENT_ONESHOT);
}

static void on_txn_done(const struct emu_txn_result *res, void *userdata);

static void cmd_submit(struct ctl_cmd *cmd)
{
	int r;

	r = emu_host_submit(cmd->conn->srv->host, cmd->msg, on_txn_done, cmd, &cmd->txn);
	if (r < 0) {
		cmd->txn = NULL;
		answer_error(cmd->conn, EMU_CTL_FAILED, cmd->def->name,
			     r == -ESHUTDOWN ? "the emulator is stopping" : strerror(-r));
		return;
	}
	r = cmd_arm_wait(cmd);
	if (r < 0)
		log_warning_errno(r, "arming the --wait timer failed");
}

static void json_common_head(struct json *j, const struct ctl_cmd *cmd)
{
	json_begin_object(j);
	json_kv_string(j, "op", cmd->def->name);
}

/* One request, one answer: get, set, delete, enumerate, get/set-ip-info, raw. */
static void finish_single(struct ctl_cmd *cmd, const struct emu_txn_result *res)
{
	struct kvp_reply *reply = NULL;
	uint32_t code = res->code;
	struct json j;

	json_init(&j);
	json_common_head(&j, cmd);
	if (res->replied && code == HV_S_OK &&
	    (cmd->def->kind == CMD_GET || cmd->def->kind == CMD_ENUMERATE ||
	     cmd->def->kind == CMD_GET_IP_INFO)) {
		reply = malloc(sizeof(*reply));
		if (reply && kvp_msg_decode_reply(res->reply, KVP_MSG_SIZE, cmd->msg[0], reply) < 0) {
			free(reply);
			reply = NULL;
		}
	}

	switch (cmd->def->kind) {
	case CMD_GET:
		json_kv_uint(&j, "pool", cmd->pool);
		json_kv_string(&j, "key", cmd->key);
		json_kv_bool(&j, "truncated", cmd->key_truncated);
		/* the driver takes the value from the kvp_enum_data area, where
		 * kvp_msg_decode_reply() reads it too (PROTOCOL.md §2.4) */
		if (reply)
			json_host_string(&j, "value", reply->value, HOST_VALUE_UNITS);
		break;
	case CMD_SET:
		json_kv_uint(&j, "pool", cmd->pool);
		json_kv_string(&j, "key", cmd->key);
		json_kv_string(&j, "value", cmd->value);
		json_kv_string(&j, "value_type", cmd->type_name);
		json_kv_bool(&j, "truncated", cmd->key_truncated || cmd->value_truncated);
		break;
	case CMD_DELETE:
		json_kv_uint(&j, "pool", cmd->pool);
		json_kv_string(&j, "key", cmd->key);
		json_kv_bool(&j, "truncated", cmd->key_truncated);
		break;
	case CMD_ENUMERATE:
		json_kv_uint(&j, "pool", cmd->pool);
		json_kv_uint(&j, "index", cmd->index);
		if (reply) {
			json_host_string(&j, "key", reply->key, HOST_KEY_UNITS);
			json_host_string(&j, "value", reply->value, HOST_VALUE_UNITS);
		}
		break;
	case CMD_GET_IP_INFO:
		json_kv_string(&j, "adapter_id", cmd->ip.adapter_id);
		json_kv_uint(&j, "request_addr_family", cmd->req_addr_family);
		json_kv_bool(&j, "request_truncated", cmd->ip_truncated);
		if (reply) {
			/* process_ob_ipinfo(): each field converted to UTF-16 with
			 * its limit; a conversion failure becomes HV_E_FAIL. */
			static const struct {
				const char *name;
				size_t units;
			} lim[] = { { "adapter_id", MAX_ADAPTER_ID_SIZE }, { "ip_addr", MAX_IP_ADDR_SIZE },
				    { "sub_net", MAX_IP_ADDR_SIZE }, { "gate_way", MAX_GATEWAY_SIZE },
				    { "dns_addr", MAX_IP_ADDR_SIZE } };
			const char *vals[] = { reply->ip.adapter_id, reply->ip.ip_addr, reply->ip.sub_net,
					       reply->ip.gate_way, reply->ip.dns_addr };
			bool truncated = false, invalid = false;

			for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
				size_t len;
				bool t = false;

				if (emu_host_view(vals[i], lim[i].units, &len, &t) < 0)
					invalid = true;
				truncated |= t;
			}
			json_kv_uint(&j, "addr_family", reply->ip.addr_family);
			json_kv_bool(&j, "DHCPEnabled", reply->ip.dhcp_enabled != 0);
			json_list(&j, "IPAddresses", reply->ip.ip_addr);
			json_list(&j, "Subnets", reply->ip.sub_net);
			json_list(&j, "DefaultGateways", reply->ip.gate_way);
			json_list(&j, "DNSServers", reply->ip.dns_addr);
			json_key(&j, "raw");
			json_begin_object(&j);
			for (size_t i = 0; i < ARRAY_SIZE(vals); i++)
				json_kv_string(&j, lim[i].name, vals[i]);
			json_kv_uint(&j, "dhcp_enabled", reply->ip.dhcp_enabled);
			json_end_object(&j);
			json_kv_bool(&j, "truncated", truncated);
			if (invalid) {
				json_kv_bool(&j, "host_invalid_utf8", true);
				json_kv_uint(&j, "daemon_code", code);
				code = HV_E_FAIL;
			}
		}
		break;
	case CMD_SET_IP_INFO:
		json_kv_string(&j, "adapter_id", cmd->ip.adapter_id);
		json_kv_uint(&j, "addr_family", cmd->ip.addr_family);
		json_kv_bool(&j, "DHCPEnabled", cmd->ip.dhcp_enabled != 0);
		json_list(&j, "IPAddresses", cmd->ip.ip_addr);
		json_list(&j, "Subnets", cmd->ip.sub_net);
		json_list(&j, "DefaultGateways", cmd->ip.gate_way);
		json_list(&j, "DNSServers", cmd->ip.dns_addr);
		json_kv_bool(&j, "truncated", cmd->ip_truncated);
		break;
	case CMD_RAW:
		json_kv_uint(&j, "raw_op", cmd->msg[0]);
		json_kv_uint(&j, "pool", cmd->msg[1]);
		break;
	default:
		break;
	}
	free(reply);
	json_result(&j, res, code);
	json_end_object(&j);
	answer_json(cmd->conn, EMU_CTL_OK, &j);
}

/* enumerate-all: one ENUMERATE after the other until the daemon says stop. */
static void finish_enumerate_step(struct ctl_cmd *cmd, const struct emu_txn_result *res)
{
	char *items = NULL;
	size_t items_len = 0;
	struct json j;

	if (res->code == HV_S_OK && res->replied && cmd->index < ENUM_ALL_MAX) {
		struct kvp_reply *reply = malloc(sizeof(*reply));

		if (reply &&
		    kvp_msg_decode_reply(res->reply, KVP_MSG_SIZE, KVP_OP_ENUMERATE, reply) == 0) {
			json_begin_object(&cmd->items);
			json_kv_uint(&cmd->items, "index", cmd->index);
			json_host_string(&cmd->items, "key", reply->key, HOST_KEY_UNITS);
			json_host_string(&cmd->items, "value", reply->value, HOST_VALUE_UNITS);
			json_end_object(&cmd->items);
			cmd->n_items++;
			free(reply);
			cmd->index++;
			kvp_msg_build_enumerate(cmd->msg, cmd->pool, cmd->index);
			cmd_submit(cmd);
			return;
		}
		free(reply);
	}

	json_end_array(&cmd->items);
	json_init(&j);
	json_common_head(&j, cmd);
	json_kv_uint(&j, "pool", cmd->pool);
	json_kv_uint(&j, "count", cmd->n_items);
	json_key(&j, "items");
	if (json_finish(&cmd->items, &items, &items_len) == 0)
		json_raw(&j, items, items_len);
	else
		json_null(&j);
	free(items);
	if (cmd->index >= ENUM_ALL_MAX)
		json_kv_bool(&j, "stopped_at_limit", true);
	json_key(&j, "end_code");
	json_uint(&j, res->code);
	json_kv_string(&j, "end_code_name", hv_error_to_string(res->code));
	json_kv_bool(&j, "timeout", res->timeout);
	if (res->reset)
		json_kv_bool(&j, "reset", true);
	if (res->send_failed)
		json_kv_bool(&j, "send_failed", true);
	if (res->aborted)
		json_kv_bool(&j, "aborted", true);
	json_kv_uint(&j, "elapsed_us", now_usec() - cmd->start_usec);
	json_end_object(&j);
	answer_json(cmd->conn, EMU_CTL_OK, &j);
}

/* ---- bench ------------------------------------------------------------------ */

static int bench_build(struct ctl_cmd *cmd)
{
	/* the prefix was checked to leave room for the number */
	char key[sizeof(cmd->key_prefix) + 24];

	switch (cmd->bench_op) {
	case BENCH_SET:
	case BENCH_GET:
		snprintf(key, sizeof(key), "%s%lu", cmd->key_prefix,
			 cmd->keys ? cmd->done % cmd->keys : cmd->done);
		if (strscpy(cmd->key, sizeof(cmd->key), key) < 0)
			return -ENAMETOOLONG;
		if (cmd->bench_op == BENCH_GET)
			return kvp_msg_build_get(cmd->msg, cmd->pool, cmd->key);
		return kvp_msg_build_set(cmd->msg, cmd->pool, cmd->key, cmd->value, REG_SZ);
	case BENCH_ENUM_ALL:
		return kvp_msg_build_enumerate(cmd->msg, cmd->pool, cmd->index);
	case BENCH_GET_IP:
		return kvp_msg_build_ip(cmd->msg, KVP_OP_GET_IP_INFO, &cmd->ip);
	case BENCH_SET_IP:
		return kvp_msg_build_ip(cmd->msg, KVP_OP_SET_IP_INFO, &cmd->ip);
	}
	return -EINVAL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of a sorted array */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned pct)
{
	size_t rank = (n * pct + 99) / 100;

	return v[rank > 0 ? rank - 1 : 0];
}

static void bench_finish(struct ctl_cmd *cmd)
{
	double seconds = (double)(now_usec() - cmd->bench_start) / 1e6;
	size_t n = cmd->done;
	struct json j;

	qsort(cmd->lat, n, sizeof(cmd->lat[0]), cmp_u64);
	json_init(&j);
	json_common_head(&j, cmd);
	json_kv_string(&j, "bench_op", bench_op_names[cmd->bench_op]);
	json_kv_uint(&j, "pool", cmd->pool);
	json_kv_uint(&j, "ops", n);
	json_kv_uint(&j, "requests", cmd->requests);
	json_kv_uint(&j, "errors", cmd->errors);
	json_kv_uint(&j, "timeouts", cmd->timeouts);
	json_kv_double(&j, "seconds", seconds);
	json_kv_double(&j, "ops_per_sec", seconds > 0 ? (double)n / seconds : 0);
	json_key(&j, "latency_us");
	json_begin_object(&j);
	json_kv_uint(&j, "min", n ? cmd->lat[0] : 0);
	json_kv_uint(&j, "median", n ? percentile(cmd->lat, n, 50) : 0);
	json_kv_uint(&j, "p90", n ? percentile(cmd->lat, n, 90) : 0);
	json_kv_uint(&j, "max", n ? cmd->lat[n - 1] : 0);
	json_end_object(&j);
	json_end_object(&j);
	answer_json(cmd->conn, EMU_CTL_OK, &j);
}

static void bench_step(struct ctl_cmd *cmd, const struct emu_txn_result *res)
{
	cmd->requests++;
	if (cmd->bench_op == BENCH_ENUM_ALL) {
		cmd->enum_acc += res->latency_usec;
		if (res->code == HV_S_OK && cmd->index < ENUM_ALL_MAX) {
			cmd->index++;
			cmd_submit_next(cmd);
			return;
		}
		/* one whole-pool enumeration is over */
		cmd->lat[cmd->done++] = cmd->enum_acc;
		if (res->code != HV_S_CONT)
			cmd->errors++;
		cmd->enum_acc = 0;
		cmd->index = 0;
	} else {
		cmd->lat[cmd->done++] = res->latency_usec;
		if (res->code != HV_S_OK)
			cmd->errors++;
	}
	if (res->timeout)
		cmd->timeouts++;
	if (res->aborted || cmd->done >= cmd->count) {
		bench_finish(cmd);
		return;
	}
	cmd_submit_next(cmd);
}

static void cmd_submit_next(struct ctl_cmd *cmd)
{
	int r = bench_build(cmd);

	if (r < 0) {
		answer_error(cmd->conn, EMU_CTL_FAILED, cmd->def->name, strerror(-r));
		return;
	}
	cmd_submit(cmd);
}

static void on_txn_done(const struct emu_txn_result *res, void *userdata)
{
	struct ctl_cmd *cmd = userdata;

	cmd->txn = NULL;
	if (cmd->wait_timer)
		sd_event_source_set_enabled(cmd->wait_timer, SD_EVENT_OFF);
	switch (cmd->def->kind) {
	case CMD_ENUMERATE_ALL:
		finish_enumerate_step(cmd, res);
		break;
	case CMD_BENCH:
		bench_step(cmd, res);
		break;
	default:
		finish_single(cmd, res);
	}
}

/* ---- status ----------------------------------------------------------------- */

static void json_status(struct json *j, struct emu_host *host)
{
	struct emu_host_status st;

	emu_host_get_status(host, &st);
	json_kv_bool(j, "registered", st.registered);
	if (mode_name(st.mode))
		json_kv_string(j, "mode", mode_name(st.mode));
	else
		json_kv_null(j, "mode");
	json_kv_string(j, "version", st.version);
	json_kv_bool(j, "open", st.open);
	json_kv_uint(j, "opens", st.opens);
	json_kv_uint(j, "closes", st.closes);
	json_kv_uint(j, "transactions", st.transactions);
	json_kv_uint(j, "timeouts", st.timeouts);
	json_kv_uint(j, "queued", st.queued);
	json_kv_bool(j, "in_flight", st.in_flight);
	json_kv_bool(j, "unread", st.unread);
	json_kv_double(j, "timeout_sec", (double)st.timeout_usec / 1e6);
}

static void answer_status(struct ctl_cmd *cmd)
{
	struct json j;

	json_init(&j);
	json_common_head(&j, cmd);
	json_status(&j, cmd->conn->srv->host);
	if (cmd->def->kind == CMD_WAIT_REGISTERED)
		json_kv_uint(&j, "elapsed_us", now_usec() - cmd->start_usec);
	json_end_object(&j);
	answer_json(cmd->conn, EMU_CTL_OK, &j);
}

static void on_host_state(void *userdata)
{
	struct emu_ctl_server *s = userdata;
	struct emu_host_status st;
	struct ctl_conn *c, *next;

	emu_host_get_status(s->host, &st);
	if (!st.registered)
		return;
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->cmd && c->cmd->def->kind == CMD_WAIT_REGISTERED)
			answer_status(c->cmd);
	}
}

/* ---- building requests from options ----------------------------------------- */

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

static int build_ip_fields(struct ctl_cmd *cmd, const struct ctl_args *a, bool with_lists,
			   char **err)
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
	uint64_t v;
	bool t = false, dhcp = false;
	int r;

	memset(&cmd->ip, 0, sizeof(cmd->ip));
	if (!a->val[O_ADAPTER_ID]) {
		errf(err, "--adapter-id is required");
		return -EINVAL;
	}
	/* process_ib_ipinfo(): adapter_id converted with MAX_ADAPTER_ID_SIZE */
	r = kernel_string("--adapter-id", a->val[O_ADAPTER_ID], MAX_ADAPTER_ID_SIZE,
			  cmd->ip.adapter_id, sizeof(cmd->ip.adapter_id), &t, err);
	if (r < 0)
		return r;
	cmd->ip_truncated = t;
	if (with_lists) {
		for (size_t i = 0; i < ARRAY_SIZE(lim); i++) {
			const char *src = a->list[lim[i].l] ? a->list[lim[i].l] : "";

			r = kernel_string(lim[i].what, src, lim[i].max, dst[lim[i].l],
					  dst_size[lim[i].l], &t, err);
			if (r < 0)
				return r;
			cmd->ip_truncated |= t;
		}
		if (a->val[O_DHCP] && parse_bool(a->val[O_DHCP], &dhcp) < 0) {
			errf(err, "--DHCPEnabled: expected true or false, got \"%s\"", a->val[O_DHCP]);
			return -EINVAL;
		}
		cmd->ip.dhcp_enabled = dhcp;
	}
	if (a->seen & B(O_ADDR_FAMILY)) {
		r = opt_u64(a, O_ADDR_FAMILY, "addr-family", UINT8_MAX, 0, &v, err);
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

static int read_msg_file(const char *path, uint8_t *msg, char **err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t got = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		errf(err, "--file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_size != KVP_MSG_SIZE) {
		errf(err, "--file %s: must be a regular file of exactly %d bytes", path,
		     KVP_MSG_SIZE);
		return -EINVAL;
	}
	while (got < KVP_MSG_SIZE) {
		ssize_t n = read(fd, msg + got, KVP_MSG_SIZE - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errf(err, "--file %s: short read", path);
			return -EIO;
		}
		got += (size_t)n;
	}
	return 0;
}

static void put_u32(uint8_t *msg, size_t off, uint32_t v)
{
	memcpy(msg + off, &v, sizeof(v));
}

/* A deliberately malformed (or hand-made) message, byte by byte. */
static int build_raw(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	size_t key_off, key_cap, value_off = 0, value_cap = 0;
	ssize_t key_size_off = -1, value_size_off = -1, value_type_off = -1, index_off = -1;
	uint8_t buf[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
	uint64_t op, pool, fill, v;
	size_t len;
	int r;

	if (a->seen & B(O_FILE)) {
		if (a->seen & ~B(O_FILE)) {
			errf(err, "--file sends the file as is and takes no other option");
			return -EINVAL;
		}
		return read_msg_file(a->val[O_FILE], cmd->msg, err);
	}
	if (!(a->seen & B(O_OP))) {
		errf(err, "raw needs --op N (or --file PATH)");
		return -EINVAL;
	}
	if ((r = opt_u64(a, O_OP, "op", UINT8_MAX, 0, &op, err)) < 0 ||
	    (r = opt_u64(a, O_POOL, "pool", UINT8_MAX, 0, &pool, err)) < 0 ||
	    (r = opt_u64(a, O_FILL, "fill", UINT8_MAX, 0, &fill, err)) < 0)
		return r;

	memset(cmd->msg, (int)fill, KVP_MSG_SIZE);
	cmd->msg[0] = (uint8_t)op;
	cmd->msg[1] = (uint8_t)pool;

	switch (op) {
	case KVP_OP_DELETE:
		key_size_off = MSG_OFF(body.kvp_delete.key_size);
		key_off = MSG_OFF(body.kvp_delete.key);
		key_cap = HV_KVP_EXCHANGE_MAX_KEY_SIZE;
		break;
	case KVP_OP_ENUMERATE:
		index_off = MSG_OFF(body.kvp_enum_data.index);
		value_type_off = MSG_OFF(body.kvp_enum_data.data.value_type);
		key_size_off = MSG_OFF(body.kvp_enum_data.data.key_size);
		value_size_off = MSG_OFF(body.kvp_enum_data.data.value_size);
		key_off = MSG_OFF(body.kvp_enum_data.data.key);
		key_cap = HV_KVP_EXCHANGE_MAX_KEY_SIZE;
		value_off = MSG_OFF(body.kvp_enum_data.data.value);
		value_cap = HV_KVP_EXCHANGE_MAX_VALUE_SIZE;
		break;
	case KVP_OP_GET_IP_INFO:
	case KVP_OP_SET_IP_INFO:
		/* --key is the adapter id, --value the address list */
		key_off = MSG_OFF(body.kvp_ip_val.adapter_id);
		key_cap = KVP_ADAPTER_ID_BYTES;
		value_off = MSG_OFF(body.kvp_ip_val.ip_addr);
		value_cap = KVP_IP_ADDR_BYTES;
		break;
	default: /* GET, SET and unknown operations: the kvp_set layout */
		value_type_off = MSG_OFF(body.kvp_set.data.value_type);
		key_size_off = MSG_OFF(body.kvp_set.data.key_size);
		value_size_off = MSG_OFF(body.kvp_set.data.value_size);
		key_off = MSG_OFF(body.kvp_set.data.key);
		key_cap = HV_KVP_EXCHANGE_MAX_KEY_SIZE;
		value_off = MSG_OFF(body.kvp_set.data.value);
		value_cap = HV_KVP_EXCHANGE_MAX_VALUE_SIZE;
	}
	if ((a->seen & B(O_INDEX)) && index_off < 0) {
		errf(err, "--index only applies to --op 3 (ENUMERATE)");
		return -EINVAL;
	}
	if ((a->seen & (B(O_VALUE) | B(O_VALUE_SIZE))) && value_cap == 0) {
		errf(err, "operation %" PRIu64 " has no value field", op);
		return -EINVAL;
	}
	if ((a->seen & B(O_KEY_SIZE)) && key_size_off < 0) {
		errf(err, "operation %" PRIu64 " has no key_size field", op);
		return -EINVAL;
	}
	if ((a->seen & (B(O_VALUE_SIZE) | B(O_VALUE_TYPE))) && value_size_off < 0) {
		errf(err, "operation %" PRIu64 " has no value_size/value_type field", op);
		return -EINVAL;
	}

	if (a->seen & B(O_KEY)) {
		r = unescape(a->val[O_KEY], buf, key_cap, &len, err);
		if (r < 0)
			return r;
		memcpy(cmd->msg + key_off, buf, len);
		if (key_size_off >= 0)
			put_u32(cmd->msg, (size_t)key_size_off, (uint32_t)len + 1);
	}
	if (a->seen & B(O_VALUE)) {
		r = unescape(a->val[O_VALUE], buf, value_cap, &len, err);
		if (r < 0)
			return r;
		memcpy(cmd->msg + value_off, buf, len);
		if (value_size_off >= 0)
			put_u32(cmd->msg, (size_t)value_size_off, (uint32_t)len + 1);
		if (value_type_off >= 0)
			put_u32(cmd->msg, (size_t)value_type_off, REG_SZ);
	}
	if (a->seen & B(O_KEY_SIZE)) {
		if ((r = opt_u64(a, O_KEY_SIZE, "key-size", UINT32_MAX, 0, &v, err)) < 0)
			return r;
		put_u32(cmd->msg, (size_t)key_size_off, (uint32_t)v);
	}
	if (a->seen & B(O_VALUE_SIZE)) {
		if ((r = opt_u64(a, O_VALUE_SIZE, "value-size", UINT32_MAX, 0, &v, err)) < 0)
			return r;
		put_u32(cmd->msg, (size_t)value_size_off, (uint32_t)v);
	}
	if (a->seen & B(O_VALUE_TYPE)) {
		if ((r = opt_u64(a, O_VALUE_TYPE, "value-type", UINT32_MAX, 0, &v, err)) < 0)
			return r;
		put_u32(cmd->msg, (size_t)value_type_off, (uint32_t)v);
	}
	if (a->seen & B(O_INDEX)) {
		if ((r = opt_u64(a, O_INDEX, "index", UINT32_MAX, 0, &v, err)) < 0)
			return r;
		put_u32(cmd->msg, (size_t)index_off, (uint32_t)v);
	}
	return 0;
}

static int build_set_value(struct ctl_cmd *cmd, const struct ctl_args *a, uint32_t *ret_type,
			   char **err)
{
	const char *type = a->val[O_TYPE] ? a->val[O_TYPE] : "sz";
	uint64_t v;

	if (streq(type, "sz")) {
		cmd->type_name = "sz";
		*ret_type = REG_SZ;
		return kernel_string("--value", a->val[O_VALUE], VALUE_MAX_BYTES, cmd->value,
				     sizeof(cmd->value), &cmd->value_truncated, err);
	}
	if (streq(type, "u32") || streq(type, "u64")) {
		bool is32 = streq(type, "u32");

		if (parse_u64(a->val[O_VALUE], is32 ? UINT32_MAX : UINT64_MAX, &v) < 0) {
			errf(err, "--value \"%s\" is not a %s number", a->val[O_VALUE], type);
			return -EINVAL;
		}
		/* the driver turns numbers into decimal strings ("%u", "%llu") */
		snprintf(cmd->value, sizeof(cmd->value), "%" PRIu64, v);
		cmd->type_name = is32 ? "u32" : "u64";
		*ret_type = is32 ? REG_U32 : REG_U64;
		return 0;
	}
	errf(err, "--type must be sz, u32 or u64, not \"%s\"", type);
	return -EINVAL;
}

static int cmd_build(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	uint64_t v;
	uint32_t type;
	int r;

	r = opt_u64(a, O_POOL, "pool", UINT8_MAX, 0, &v, err);
	if (r < 0)
		return r;
	cmd->pool = (uint8_t)v;

	switch (cmd->def->kind) {
	case CMD_STATUS:
	case CMD_WAIT_REGISTERED:
		return 0;
	case CMD_GET:
	case CMD_DELETE:
		r = kernel_string("--key", a->val[O_KEY], KEY_MAX_BYTES, cmd->key, sizeof(cmd->key),
				  &cmd->key_truncated, err);
		if (r < 0)
			return r;
		r = cmd->def->kind == CMD_GET ? kvp_msg_build_get(cmd->msg, cmd->pool, cmd->key)
					      : kvp_msg_build_delete(cmd->msg, cmd->pool, cmd->key);
		break;
	case CMD_SET:
		r = kernel_string("--key", a->val[O_KEY], KEY_MAX_BYTES, cmd->key, sizeof(cmd->key),
				  &cmd->key_truncated, err);
		if (r < 0)
			return r;
		r = build_set_value(cmd, a, &type, err);
		if (r < 0)
			return r;
		r = kvp_msg_build_set(cmd->msg, cmd->pool, cmd->key, cmd->value, type);
		break;
	case CMD_ENUMERATE:
		r = opt_u64(a, O_INDEX, "index", UINT32_MAX, 0, &v, err);
		if (r < 0)
			return r;
		cmd->index = (uint32_t)v;
		r = kvp_msg_build_enumerate(cmd->msg, cmd->pool, cmd->index);
		break;
	case CMD_ENUMERATE_ALL:
		cmd->index = 0;
		json_init(&cmd->items);
		json_begin_array(&cmd->items);
		r = kvp_msg_build_enumerate(cmd->msg, cmd->pool, 0);
		break;
	case CMD_GET_IP_INFO:
	case CMD_SET_IP_INFO: {
		bool set = cmd->def->kind == CMD_SET_IP_INFO;

		r = build_ip_fields(cmd, a, set, err);
		if (r < 0)
			return r;
		r = kvp_msg_build_ip(cmd->msg, set ? KVP_OP_SET_IP_INFO : KVP_OP_GET_IP_INFO,
				     &cmd->ip);
		break;
	}
	case CMD_RAW:
		return build_raw(cmd, a, err);
	case CMD_BENCH: {
		const char *prefix = a->val[O_KEY_PREFIX] ? a->val[O_KEY_PREFIX] : "bench-key-";
		size_t i;

		for (i = 0; i < ARRAY_SIZE(bench_op_names); i++)
			if (streq(a->val[O_OP], bench_op_names[i]))
				break;
		if (i == ARRAY_SIZE(bench_op_names)) {
			errf(err, "bench --op must be set, get, enumerate-all, get-ip-info or set-ip-info");
			return -EINVAL;
		}
		cmd->bench_op = (enum bench_op)i;
		r = parse_u64(a->val[O_COUNT], BENCH_MAX_COUNT, &v);
		if (r < 0 || v == 0) {
			errf(err, "--count must be a number in 1..%lu", BENCH_MAX_COUNT);
			return -EINVAL;
		}
		cmd->count = (unsigned long)v;
		if (a->val[O_KEYS]) {
			r = parse_u64(a->val[O_KEYS], BENCH_MAX_COUNT, &v);
			if (r < 0 || v == 0) {
				errf(err, "--keys must be a number in 1..%lu", BENCH_MAX_COUNT);
				return -EINVAL;
			}
			cmd->keys = (unsigned long)v;
		}
		/* room for the decimal index within the driver's 511 bytes */
		if (strlen(prefix) > KEY_MAX_BYTES - 24 || !utf8_valid(prefix, strlen(prefix))) {
			errf(err, "--key-prefix must be valid UTF-8 of at most %d bytes",
			     KEY_MAX_BYTES - 24);
			return -EINVAL;
		}
		strscpy(cmd->key_prefix, sizeof(cmd->key_prefix), prefix);
		r = kernel_string("--value", a->val[O_VALUE] ? a->val[O_VALUE] : "bench-value",
				  VALUE_MAX_BYTES, cmd->value, sizeof(cmd->value),
				  &cmd->value_truncated, err);
		if (r < 0)
			return r;
		if (cmd->bench_op == BENCH_GET_IP || cmd->bench_op == BENCH_SET_IP) {
			r = build_ip_fields(cmd, a, cmd->bench_op == BENCH_SET_IP, err);
			if (r < 0)
				return r;
		}
		cmd->lat = calloc(cmd->count, sizeof(cmd->lat[0]));
		if (!cmd->lat)
			return -ENOMEM;
		return bench_build(cmd);
	}
	}
	if (r < 0)
		errf(err, "cannot build the message: %s", strerror(-r));
	return r;
}

/* Parse "[--wait SEC] COMMAND [OPTIONS...]" into a command ready to start. */
static struct ctl_cmd *cmd_parse(int argc, char **argv, char **err)
{
	static const struct option global[] = {
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_free_ struct ctl_cmd *cmd = NULL;
	struct ctl_args a = { 0 };
	const struct cmd_def *def = NULL;
	uint64_t wait_usec = EMU_CTL_DEFAULT_WAIT_SEC * 1000000ULL;
	int c, sub_argc;
	char **sub_argv;

	optind = 0; /* full reset of getopt's state between commands */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", global, NULL)) >= 0) {
		switch (c) {
		case 'w':
			if (parse_seconds(optarg, &wait_usec) < 0)
				return errf(err, "--wait: \"%s\" is not a positive number of seconds",
					    optarg);
			break;
		case ':':
			return errf(err, "option %s needs a value", argv[optind - 1]);
		default:
			return errf(err, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return errf(err, "no command given");
	for (size_t i = 0; i < ARRAY_SIZE(cmd_defs); i++)
		if (streq(argv[optind], cmd_defs[i].name))
			def = &cmd_defs[i];
	if (!def)
		return errf(err, "unknown command \"%s\"", argv[optind]);

	sub_argc = argc - optind;
	sub_argv = argv + optind;
	optind = 0;
	while ((c = getopt_long(sub_argc, sub_argv, ":", ctl_options, NULL)) >= 0) {
		enum opt_id o;

		if (c == ':') {
			errf(err, "option %s needs a value", sub_argv[optind - 1]);
			goto fail;
		}
		if (c < 0x100 || c >= 0x100 + _O_MAX) {
			errf(err, "unknown option %s", sub_argv[optind - 1]);
			goto fail;
		}
		o = (enum opt_id)(c - 0x100);
		if (!(def->allowed & B(o))) {
			errf(err, "--%s is not an option of %s", ctl_options[o].name, def->name);
			goto fail;
		}
		a.seen |= B(o);
		a.val[o] = optarg;
		if (o >= O_IPADDRESSES && o <= O_DNSSERVERS &&
		    list_append(&a, (enum list_id)(o - O_IPADDRESSES), optarg, err) < 0)
			goto fail;
	}
	if (optind < sub_argc) {
		errf(err, "unexpected argument \"%s\"", sub_argv[optind]);
		goto fail;
	}
	for (unsigned o = 0; o < _O_MAX; o++)
		if ((def->required & B(o)) && !(a.seen & B(o))) {
			errf(err, "%s needs --%s", def->name, ctl_options[o].name);
			goto fail;
		}

	cmd = calloc(1, sizeof(*cmd));
	if (!cmd) {
		errf(err, "out of memory");
		goto fail;
	}
	cmd->def = def;
	cmd->wait_usec = wait_usec;
	cmd->start_usec = now_usec();
	if (cmd_build(cmd, &a, err) < 0) {
		json_done(&cmd->items);
		free(cmd->lat);
		goto fail;
	}
	ctl_args_done(&a);
	return TAKE_PTR(cmd);
fail:
	ctl_args_done(&a);
	return NULL;
}

static void cmd_start(struct ctl_cmd *cmd)
{
	struct emu_host_status st;
	int r;

	switch (cmd->def->kind) {
	case CMD_STATUS:
		answer_status(cmd);
		return;
	case CMD_WAIT_REGISTERED:
		emu_host_get_status(cmd->conn->srv->host, &st);
		if (st.registered) {
			answer_status(cmd);
			return;
		}
		r = cmd_arm_wait(cmd);
		if (r < 0)
			answer_error(cmd->conn, EMU_CTL_FAILED, cmd->def->name, strerror(-r));
		return;
	case CMD_BENCH:
		cmd->bench_start = now_usec();
		cmd_submit(cmd);
		return;
	default:
		cmd_submit(cmd);
	}
}

/* ---- connections -------------------------------------------------------------- */

static void conn_free(struct ctl_conn *c)
{
	struct emu_ctl_server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	cmd_free(c->cmd);
	sd_event_source_disable_unref(c->io);
	safe_close(c->fd);
	free(c->out);
	free(c);
}

static void conn_handle_request(struct ctl_conn *c, char *buf, size_t len)
{
	char *argv[CTL_MAX_ARGS + 2];
	_cleanup_free_ char *err = NULL;
	struct ctl_cmd *cmd;
	int argc = 0;
	size_t i = 0;

	/* argv[0] is a placeholder: getopt starts at argv[1] */
	argv[argc++] = (char *)"ctl";
	if (len == 0 || buf[len - 1] != '\0') {
		answer_error(c, EMU_CTL_USAGE, NULL, "malformed request (arguments must end with NUL)");
		return;
	}
	while (i < len) {
		if (argc > CTL_MAX_ARGS) {
			answer_error(c, EMU_CTL_USAGE, NULL, "too many arguments");
			return;
		}
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;

	cmd = cmd_parse(argc, argv, &err);
	if (!cmd) {
		log_debug("control: usage error: %s", err ? err : "out of memory");
		answer_error(c, EMU_CTL_USAGE, NULL, err);
		return;
	}
	cmd->conn = c;
	c->cmd = cmd;
	log_debug("control: %s", cmd->def->name);
	cmd_start(cmd);
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct ctl_conn *c = userdata;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	char drain[64];
	ssize_t n;
	int r;

	if (c->answering && (revents & EPOLLOUT)) {
		r = conn_flush(c);
		if (r != 0) {
			conn_free(c);
			return 0;
		}
		conn_update_events(c);
	}
	if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return 0;

	if (!c->got_request) {
		_cleanup_free_ char *buf = malloc(CTL_MAX_REQUEST);

		if (!buf) {
			conn_free(c);
			return 0;
		}
		iov = (struct iovec){ buf, CTL_MAX_REQUEST };
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			conn_free(c);
			return 0;
		}
		c->got_request = true;
		if (mh.msg_flags & MSG_TRUNC) {
			answer_error(c, EMU_CTL_USAGE, NULL, "request too large");
			return 0;
		}
		conn_handle_request(c, buf, (size_t)n);
		return 0;
	}

	/* Anything after the request is ignored; EOF means the client left. */
	iov = (struct iovec){ drain, sizeof(drain) };
	n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		if (c->cmd)
			log_debug("control: client left before the answer to %s", c->cmd->def->name);
		conn_free(c);
	}
	return 0;
}

static int on_listen_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct emu_ctl_server *srv = userdata;
	struct ctl_conn *c;
	int cfd, r;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warning_errno(negative_errno(), "accept() on the control socket failed");
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		safe_close(cfd);
		return 0;
	}
	c->srv = srv;
	c->fd = cfd;
	r = sd_event_add_io(srv->event, &c->io, cfd, EPOLLIN, on_conn_io, c);
	if (r < 0) {
		safe_close(cfd);
		free(c);
		return 0;
	}
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	return 0;
}

int emu_ctl_server_new(sd_event *event, const char *path, struct emu_host *host,
		       struct emu_ctl_server **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct emu_ctl_server *s;
	struct stat st;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_error_errno(-ENAMETOOLONG, "control socket path %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->event = sd_event_ref(event);
	s->host = host;
	s->fd = -1;

	if (lstat(path, &st) == 0) {
		_cleanup_close_ int probe = -1;

		if (!S_ISSOCK(st.st_mode)) {
			r = log_error_errno(-EEXIST, "%s exists and is not a socket", path);
			goto fail;
		}
		probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			r = log_error_errno(-EADDRINUSE, "another emulator listens on %s", path);
			goto fail;
		}
		unlink(path); /* stale */
	}

	s->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		r = log_error_errno(negative_errno(), "socket()");
		goto fail;
	}
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = log_error_errno(negative_errno(), "bind(%s)", path);
		goto fail;
	}
	s->path = strdup(path);
	if (!s->path) {
		r = -ENOMEM;
		goto fail;
	}
	if (chmod(path, 0600) < 0 || listen(s->fd, 64) < 0) {
		r = log_error_errno(negative_errno(), "setting up %s", path);
		goto fail;
	}
	r = sd_event_add_io(event, &s->io, s->fd, EPOLLIN, on_listen_io, s);
	if (r < 0)
		goto fail;
	emu_host_set_state_cb(host, on_host_state, s);
	log_info("control socket %s", path);
	*ret = s;
	return 0;
fail:
	emu_ctl_server_free(s);
	return r;
}

struct emu_ctl_server *emu_ctl_server_free(struct emu_ctl_server *s)
{
	if (!s)
		return NULL;
	if (s->host)
		emu_host_set_state_cb(s->host, NULL, NULL);
	while (s->conns) {
		struct ctl_conn *c = s->conns;

		if (c->answering)
			(void)conn_flush(c); /* best effort: the loop is ending */
		conn_free(c);
	}
	sd_event_source_disable_unref(s->io);
	safe_close(s->fd);
	if (s->path)
		unlink(s->path);
	free(s->path);
	sd_event_unref(s->event);
	free(s);
	return NULL;
}

/* ---- the client ----------------------------------------------------------------- */

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

static void client_usage(FILE *f)
{
	fprintf(f,
		"Usage: hvkvp-emu ctl --control SOCKET [--wait SEC] COMMAND [OPTIONS...]\n"
		"\n"
		"Plays the Hyper-V host against a running `hvkvp-emu serve`.\n"
		"  --control SOCKET  the emulator's control socket\n"
		"  --wait SEC        how long a request may wait for a daemon to register and\n"
		"                    answer (default %d; fractions allowed)\n"
		"\n",
		EMU_CTL_DEFAULT_WAIT_SEC);
	emu_ctl_print_commands(f);
	fprintf(f, "\nExit status: 0 the command ran (the daemon's code is in the JSON),\n"
		   "1 it could not complete (no emulator, no daemon within --wait), 2 usage error.\n");
}

/* Append one argument (with its NUL) to the request packet. */
static int pkt_add(char **pkt, size_t *len, const char *arg)
{
	size_t n = strlen(arg) + 1;
	char *p;

	if (*len + n > CTL_MAX_REQUEST)
		return -E2BIG;
	p = realloc(*pkt, *len + n);
	if (!p)
		return -ENOMEM;
	memcpy(p + *len, arg, n);
	*pkt = p;
	*len += n;
	return 0;
}

/* The server may run in another directory: hand it absolute --file paths. */
static int pkt_add_path(char **pkt, size_t *len, const char *prefix, const char *path)
{
	_cleanup_free_ char *abs = NULL, *arg = NULL;

	abs = realpath(path, NULL);
	if (asprintf(&arg, "%s%s", prefix, abs ? abs : path) < 0)
		return -ENOMEM;
	return pkt_add(pkt, len, arg);
}

int emu_ctl_client_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *pkt = NULL, *buf = NULL;
	_cleanup_close_ int fd = -1;
	const char *control = NULL, *wait = NULL;
	bool got_status = false;
	size_t len = 0;
	int c, status = EMU_CTL_FAILED, r = 0;
	uint64_t dummy;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'c':
			control = optarg;
			break;
		case 'w':
			if (parse_seconds(optarg, &dummy) < 0) {
				fprintf(stderr, "hvkvp-emu ctl: --wait: bad number of seconds \"%s\"\n",
					optarg);
				return EMU_CTL_USAGE;
			}
			wait = optarg;
			break;
		case 'h':
			client_usage(stdout);
			return EMU_CTL_OK;
		case ':':
			fprintf(stderr, "hvkvp-emu ctl: %s needs a value\n", argv[optind - 1]);
			return EMU_CTL_USAGE;
		default:
			fprintf(stderr, "hvkvp-emu ctl: unknown option %s (see --help)\n",
				argv[optind - 1]);
			return EMU_CTL_USAGE;
		}
	}
	if (!control || optind >= argc) {
		client_usage(stderr);
		return EMU_CTL_USAGE;
	}
	if (strlen(control) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hvkvp-emu ctl: socket path too long: %s\n", control);
		return EMU_CTL_USAGE;
	}
	memcpy(sa.sun_path, control, strlen(control) + 1);

	if (wait)
		r = pkt_add(&pkt, &len, "--wait") ?: pkt_add(&pkt, &len, wait);
	for (int i = optind; i < argc && r == 0; i++) {
		if (streq(argv[i], "--file") && i + 1 < argc) {
			r = pkt_add(&pkt, &len, argv[i]) ?: pkt_add_path(&pkt, &len, "", argv[i + 1]);
			i++;
		} else if (strncmp(argv[i], "--file=", 7) == 0) {
			r = pkt_add_path(&pkt, &len, "--file=", argv[i] + 7);
		} else {
			r = pkt_add(&pkt, &len, argv[i]);
		}
	}
	if (r < 0) {
		fprintf(stderr, "hvkvp-emu ctl: arguments: %s\n", strerror(-r));
		return EMU_CTL_USAGE;
	}

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "hvkvp-emu ctl: cannot connect to %s: %s\n", control,
			strerror(errno));
		return EMU_CTL_FAILED;
	}
	if (send(fd, pkt, len, MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "hvkvp-emu ctl: sending the command failed: %s\n", strerror(errno));
		return errno == EMSGSIZE ? EMU_CTL_USAGE : EMU_CTL_FAILED;
	}
	buf = malloc(CTL_CHUNK + 1);
	if (!buf)
		return EMU_CTL_FAILED;
	for (;;) {
		ssize_t n = recv(fd, buf, CTL_CHUNK, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "hvkvp-emu ctl: receiving the answer failed: %s\n",
				strerror(errno));
			return EMU_CTL_FAILED;
		}
		if (n == 0)
			break;
		if (!got_status) {
			buf[n] = '\0';
			status = atoi(buf);
			got_status = true;
			continue;
		}
		fwrite(buf, 1, (size_t)n, stdout);
	}
	if (!got_status) {
		fprintf(stderr, "hvkvp-emu ctl: the emulator closed the connection without an answer\n");
		return EMU_CTL_FAILED;
	}
	fputc('\n', stdout);
	if (fflush(stdout) != 0)
		return EMU_CTL_FAILED;
	if (status == EMU_CTL_USAGE)
		fprintf(stderr, "hvkvp-emu ctl: usage error (see the JSON above and --help)\n");
	return status;
}

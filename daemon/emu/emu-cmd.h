/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-cmd.h - the control commands: options, the command table, and what each command sends and answers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "emu-host.h"
#include "json.h"
#include "kvp-msg.h"
#include "util.h"

/*
 * A command knows nothing of sockets: it is parsed from an argument vector,
 * builds the message(s) it sends into cmd->msg, and turns each result into
 * either the next message or the JSON answer. emu-ctl-server.c runs it.
 */

#define KEY_MAX_BYTES (HV_KVP_EXCHANGE_MAX_KEY_SIZE - 1)     /* 511, kvp_send_key */
#define VALUE_MAX_BYTES (HV_KVP_EXCHANGE_MAX_VALUE_SIZE - 1) /* 2047 */
/* enumerate-all stops here even if the daemon never says HV_S_CONT. */
#define ENUM_ALL_MAX 1000000u

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

enum list_id { L_IP, L_SUBNET, L_GATEWAY, L_DNS, _L_MAX };

/* A command's options as given. */
struct ctl_args {
	unsigned seen;
	const char *val[_O_MAX]; /* last value given */
	char *list[_L_MAX];      /* repeatable IP lists, joined with ';' */
	size_t list_len[_L_MAX];
};

struct ctl_cmd;
struct ctl_bench;

struct cmd_def {
	const char *name;
	unsigned allowed, required;
	const char *synopsis;
	/* Reads the options into cmd and the first message into cmd->msg
	 * (cmd->pool is already set); an error message in *err. */
	int (*build)(struct ctl_cmd *cmd, const struct ctl_args *a, char **err);
	/* Commands that send messages: one transaction's result. Returns 1
	 * when the next message is in cmd->msg, 0 when j holds the answer,
	 * or a negative errno for a command that cannot go on. */
	int (*done)(struct ctl_cmd *cmd, const struct emu_txn_result *res, struct json *j);
	/* done_single() commands: the fields between "op" and the result;
	 * may turn *code into what the host would really get. */
	void (*render)(const struct ctl_cmd *cmd, const struct kvp_reply *reply, uint32_t *code,
		       struct json *j);
	bool decode_reply; /* render() wants the daemon's reply decoded */
	/* Commands that send nothing: the answer from the host's status. */
	void (*status)(const struct ctl_cmd *cmd, const struct emu_host_status *st,
		       struct json *j);
	bool wait_registered; /* status() only once a daemon has registered */
};

struct ctl_cmd {
	const struct cmd_def *def;
	uint64_t wait_usec;
	uint64_t start_usec;

	uint8_t pool;
	uint32_t index;
	/* the strings as the driver delivers them (after its limits) */
	char key[HV_KVP_EXCHANGE_MAX_KEY_SIZE];
	char value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
	bool key_truncated, value_truncated, ip_truncated;
	const char *type_name;
	struct kvp_ip_fields ip;
	uint8_t req_addr_family;
	uint8_t msg[KVP_MSG_SIZE];

	/* enumerate-all */
	struct json items;
	unsigned n_items;

	struct ctl_bench *bench;
};

/* Parses "[--wait SEC] COMMAND [OPTIONS...]" (argv[0] is a placeholder) into
 * a command whose first message is built; NULL with *err set (NULL when out
 * of memory) on a usage error. */
struct ctl_cmd *ctl_cmd_parse(int argc, char **argv, char **err);
/* Accepts NULL. */
struct ctl_cmd *ctl_cmd_free(struct ctl_cmd *cmd);

/* Helpers shared by the command files and the client. */
_printf_(2, 3) void *ctl_errf(char **err, const char *fmt, ...);
int ctl_parse_u64(const char *s, uint64_t max, uint64_t *ret);
int ctl_parse_seconds(const char *s, uint64_t *ret_usec);
/* The option's number (at most max), or def when it was not given. */
int ctl_opt_u64(const struct ctl_args *a, enum opt_id o, const char *name, uint64_t max,
		uint64_t def, uint64_t *ret, char **err);
int ctl_kernel_string(const char *what, const char *in, size_t maxout, char *out,
		      size_t out_size, bool *truncated, char **err);
int ctl_build_ip_fields(struct ctl_cmd *cmd, const struct ctl_args *a, bool with_lists,
			char **err);
void ctl_json_head(struct json *j, const struct ctl_cmd *cmd);

/* emu-raw.c: the raw command. */
int ctl_raw_build(struct ctl_cmd *cmd, const struct ctl_args *a, char **err);
void ctl_raw_render(const struct ctl_cmd *cmd, const struct kvp_reply *reply, uint32_t *code,
		    struct json *j);

/* emu-bench.c: the bench command. */
int ctl_bench_build(struct ctl_cmd *cmd, const struct ctl_args *a, char **err);
int ctl_bench_done(struct ctl_cmd *cmd, const struct emu_txn_result *res, struct json *j);
struct ctl_bench *ctl_bench_free(struct ctl_bench *b);

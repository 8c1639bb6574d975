/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-raw.c - the `raw` control command: a hand-made (often malformed) message, byte by byte. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "emu-cmd.h"

#define MSG_OFF(member) offsetof(struct hv_kvp_msg, member)

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
				ctl_errf(err, "bad escape in \"%s\": only \\xNN and \\\\ are understood",
					 s);
				return -EINVAL;
			}
		} else {
			c = (unsigned char)*s++;
		}
		if (n >= cap) {
			ctl_errf(err, "string longer than its %zu-byte field", cap);
			return -EMSGSIZE;
		}
		out[n++] = (uint8_t)c;
	}
	*ret_len = n;
	return 0;
}

/* Where an operation's fields sit in the message; -1 for "no such field". */
struct raw_layout {
	size_t key_off, key_cap, value_off, value_cap;
	ssize_t key_size_off, value_size_off, value_type_off, index_off;
};

static void raw_layout(uint64_t op, struct raw_layout *l)
{
	*l = (struct raw_layout){ .key_size_off = -1,
				  .value_size_off = -1,
				  .value_type_off = -1,
				  .index_off = -1 };
	switch (op) {
	case KVP_OP_DELETE:
		l->key_size_off = MSG_OFF(body.kvp_delete.key_size);
		l->key_off = MSG_OFF(body.kvp_delete.key);
		l->key_cap = HV_KVP_EXCHANGE_MAX_KEY_SIZE;
		break;
	case KVP_OP_ENUMERATE:
		l->index_off = MSG_OFF(body.kvp_enum_data.index);
		l->value_type_off = MSG_OFF(body.kvp_enum_data.data.value_type);
		l->key_size_off = MSG_OFF(body.kvp_enum_data.data.key_size);
		l->value_size_off = MSG_OFF(body.kvp_enum_data.data.value_size);
		l->key_off = MSG_OFF(body.kvp_enum_data.data.key);
		l->key_cap = HV_KVP_EXCHANGE_MAX_KEY_SIZE;
		l->value_off = MSG_OFF(body.kvp_enum_data.data.value);
		l->value_cap = HV_KVP_EXCHANGE_MAX_VALUE_SIZE;
		break;
	case KVP_OP_GET_IP_INFO:
	case KVP_OP_SET_IP_INFO:
		/* --key is the adapter id, --value the address list */
		l->key_off = MSG_OFF(body.kvp_ip_val.adapter_id);
		l->key_cap = KVP_ADAPTER_ID_BYTES;
		l->value_off = MSG_OFF(body.kvp_ip_val.ip_addr);
		l->value_cap = KVP_IP_ADDR_BYTES;
		break;
	default: /* GET, SET and unknown operations: the kvp_set layout */
		l->value_type_off = MSG_OFF(body.kvp_set.data.value_type);
		l->key_size_off = MSG_OFF(body.kvp_set.data.key_size);
		l->value_size_off = MSG_OFF(body.kvp_set.data.value_size);
		l->key_off = MSG_OFF(body.kvp_set.data.key);
		l->key_cap = HV_KVP_EXCHANGE_MAX_KEY_SIZE;
		l->value_off = MSG_OFF(body.kvp_set.data.value);
		l->value_cap = HV_KVP_EXCHANGE_MAX_VALUE_SIZE;
	}
}

/* An option the operation's layout has no field for is a usage error. */
static int raw_check_fields(const struct ctl_args *a, uint64_t op, const struct raw_layout *l,
			    char **err)
{
	if ((a->seen & B(O_INDEX)) && l->index_off < 0) {
		ctl_errf(err, "--index only applies to --op 3 (ENUMERATE)");
		return -EINVAL;
	}
	if ((a->seen & (B(O_VALUE) | B(O_VALUE_SIZE))) && l->value_cap == 0) {
		ctl_errf(err, "operation %" PRIu64 " has no value field", op);
		return -EINVAL;
	}
	if ((a->seen & B(O_KEY_SIZE)) && l->key_size_off < 0) {
		ctl_errf(err, "operation %" PRIu64 " has no key_size field", op);
		return -EINVAL;
	}
	if ((a->seen & (B(O_VALUE_SIZE) | B(O_VALUE_TYPE))) && l->value_size_off < 0) {
		ctl_errf(err, "operation %" PRIu64 " has no value_size/value_type field", op);
		return -EINVAL;
	}
	return 0;
}

static void put_u32(uint8_t *msg, size_t off, uint32_t v)
{
	memcpy(msg + off, &v, sizeof(v));
}

/* --key or --value: the unescaped bytes, their size field set to length+1. */
static int raw_put_string(struct ctl_cmd *cmd, const char *s, size_t off, size_t cap,
			  ssize_t size_off, char **err)
{
	uint8_t buf[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
	size_t len;
	int r;

	r = unescape(s, buf, cap, &len, err);
	if (r < 0)
		return r;
	memcpy(cmd->msg + off, buf, len);
	if (size_off >= 0)
		put_u32(cmd->msg, (size_t)size_off, (uint32_t)len + 1);
	return 0;
}

/* --key-size, --value-size, --value-type and --index, as given. */
static int raw_put_numbers(struct ctl_cmd *cmd, const struct ctl_args *a,
			   const struct raw_layout *l, char **err)
{
	const struct {
		enum opt_id o;
		const char *name;
		ssize_t off;
	} nums[] = {
		{ O_KEY_SIZE, "key-size", l->key_size_off },
		{ O_VALUE_SIZE, "value-size", l->value_size_off },
		{ O_VALUE_TYPE, "value-type", l->value_type_off },
		{ O_INDEX, "index", l->index_off },
	};
	uint64_t v;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(nums); i++) {
		if (!(a->seen & B(nums[i].o)))
			continue;
		r = ctl_opt_u64(a, nums[i].o, nums[i].name, UINT32_MAX, 0, &v, err);
		if (r < 0)
			return r;
		put_u32(cmd->msg, (size_t)nums[i].off, (uint32_t)v);
	}
	return 0;
}

/* --file: a whole message, as is. */
static int read_msg_file(const char *path, uint8_t *msg, char **err)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;
	int r;

	if (stat(path, &st) < 0) {
		r = negative_errno();
		ctl_errf(err, "--file %s: %s", path, strerror(-r));
		return r;
	}
	r = S_ISREG(st.st_mode) ? read_file_bounded(path, 0, KVP_MSG_SIZE, &buf, &len) : -EFBIG;
	if (r == -EFBIG || (r == 0 && len != KVP_MSG_SIZE)) {
		ctl_errf(err, "--file %s: must be a regular file of exactly %d bytes", path,
			 KVP_MSG_SIZE);
		return -EINVAL;
	}
	if (r < 0) {
		ctl_errf(err, "--file %s: %s", path, strerror(-r));
		return r;
	}
	memcpy(msg, buf, KVP_MSG_SIZE);
	return 0;
}

/* A deliberately malformed (or hand-made) message, byte by byte. */
int ctl_raw_build(struct ctl_cmd *cmd, const struct ctl_args *a, char **err)
{
	struct raw_layout l;
	uint64_t op, pool, fill;
	int r;

	if (a->seen & B(O_FILE)) {
		if (a->seen & ~B(O_FILE)) {
			ctl_errf(err, "--file sends the file as is and takes no other option");
			return -EINVAL;
		}
		return read_msg_file(a->val[O_FILE], cmd->msg, err);
	}
	if (!(a->seen & B(O_OP))) {
		ctl_errf(err, "raw needs --op N (or --file PATH)");
		return -EINVAL;
	}
	if ((r = ctl_opt_u64(a, O_OP, "op", UINT8_MAX, 0, &op, err)) < 0 ||
	    (r = ctl_opt_u64(a, O_POOL, "pool", UINT8_MAX, 0, &pool, err)) < 0 ||
	    (r = ctl_opt_u64(a, O_FILL, "fill", UINT8_MAX, 0, &fill, err)) < 0)
		return r;

	memset(cmd->msg, (int)fill, KVP_MSG_SIZE);
	cmd->msg[0] = (uint8_t)op;
	cmd->msg[1] = (uint8_t)pool;

	raw_layout(op, &l);
	r = raw_check_fields(a, op, &l, err);
	if (r < 0)
		return r;
	if (a->seen & B(O_KEY)) {
		r = raw_put_string(cmd, a->val[O_KEY], l.key_off, l.key_cap, l.key_size_off, err);
		if (r < 0)
			return r;
	}
	if (a->seen & B(O_VALUE)) {
		r = raw_put_string(cmd, a->val[O_VALUE], l.value_off, l.value_cap,
				   l.value_size_off, err);
		if (r < 0)
			return r;
		if (l.value_type_off >= 0)
			put_u32(cmd->msg, (size_t)l.value_type_off, REG_SZ);
	}
	/* the numeric fields last, so that they override what the strings set */
	return raw_put_numbers(cmd, a, &l, err);
}

void ctl_raw_render(const struct ctl_cmd *cmd, const struct kvp_reply *reply, uint32_t *code,
		    struct json *j)
{
	json_kv_uint(j, "raw_op", cmd->msg[0]);
	json_kv_uint(j, "pool", cmd->msg[1]);
}

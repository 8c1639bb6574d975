/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kvp-msg.c - pure codec for struct hv_kvp_msg: validates requests, lays out replies. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "kvp-msg.h"
#include "util.h"

/*
 * Every access goes through byte offsets and memcpy(): the uapi structs are
 * packed, the caller's buffer has no alignment guarantee, and a pointer to a
 * packed u32 member is exactly what -Wcast-align and UBSan complain about.
 */
#define MSG_OFF(member) offsetof(struct hv_kvp_msg, member)
#define MSG_FIELD_SIZE(member) sizeof(((struct hv_kvp_msg *)0)->member)
#define XV_OFF(member) offsetof(struct hv_kvp_exchg_msg_value, member)

#define OFF_OP MSG_OFF(kvp_hdr.operation)
#define OFF_POOL MSG_OFF(kvp_hdr.pool)
#define OFF_ERROR MSG_OFF(error)
#define OFF_GET MSG_OFF(body.kvp_get.data)
#define OFF_SET MSG_OFF(body.kvp_set.data)
#define OFF_ENUM_DATA MSG_OFF(body.kvp_enum_data.data)
#define OFF_ENUM_INDEX MSG_OFF(body.kvp_enum_data.index)
#define OFF_DEL_KEY_SIZE MSG_OFF(body.kvp_delete.key_size)
#define OFF_DEL_KEY MSG_OFF(body.kvp_delete.key)
#define OFF_REG_VERSION MSG_OFF(body.kvp_register.version)
#define OFF_IP MSG_OFF(body.kvp_ip_val)
#define IP_OFF(member) MSG_OFF(body.kvp_ip_val.member)

#define KEY_SIZE HV_KVP_EXCHANGE_MAX_KEY_SIZE
#define VALUE_SIZE HV_KVP_EXCHANGE_MAX_VALUE_SIZE
#define VERSION_SIZE MSG_FIELD_SIZE(body.kvp_register.version)
/* The smallest key_size the daemon accepts: one byte of key plus the NUL. */
#define KEY_SIZE_MIN 2u

_Static_assert(OFF_OP == 0 && OFF_POOL == 1 && OFF_ERROR == 0, "header layout");
_Static_assert(MSG_FIELD_SIZE(error) == sizeof(uint32_t), "error is 4 bytes");
_Static_assert(OFF_GET == 4 && OFF_SET == 4 && OFF_ENUM_DATA == 8, "exchg areas");
_Static_assert(OFF_DEL_KEY_SIZE == 4 && OFF_DEL_KEY == 8, "delete layout");
_Static_assert(VERSION_SIZE == 512, "register version size");
_Static_assert(MSG_FIELD_SIZE(body.kvp_ip_val) == 7426, "kvp_ip_val size");
_Static_assert(MSG_FIELD_SIZE(body.kvp_ip_val.dns_addr) == KVP_IP_ADDR_BYTES, "dns_addr bytes");
_Static_assert(MSG_FIELD_SIZE(body.kvp_ip_val.sub_net) == KVP_IP_ADDR_BYTES, "sub_net bytes");
_Static_assert(sizeof(((struct kvp_request *)0)->reg.version) >= VERSION_SIZE, "version fits");

/* One sentence per failed decode; the header documents it as static and
 * overwritten by the next call (the daemon is single-threaded). */
static char reason_buf[256];

_printf_(2, 3) static int fail(int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason_buf, sizeof(reason_buf), fmt, ap);
	va_end(ap);
	return error;
}

static uint32_t get_u32(const uint8_t *msg, size_t off)
{
	uint32_t v;

	memcpy(&v, msg + off, sizeof(v));
	return v;
}

static void put_u32(uint8_t *msg, size_t off, uint32_t v)
{
	memcpy(msg + off, &v, sizeof(v));
}

/* Where GET (in an exchg value) and DELETE (in its own struct) keep the key
 * and its size field. */
static void key_offsets(uint8_t op, size_t *ret_size_off, size_t *ret_key_off)
{
	*ret_size_off = op == KVP_OP_GET ? OFF_GET + XV_OFF(key_size) : OFF_DEL_KEY_SIZE;
	*ret_key_off = op == KVP_OP_GET ? OFF_GET + XV_OFF(key) : OFF_DEL_KEY;
}

/*
 * utf8_valid() only answers yes or no. To name the offending byte, walk the
 * string one character at a time (length from utf8_lead_len()) and let
 * utf8_valid() judge each one, so there is still a single definition of
 * "valid UTF-8" in the project.
 */
static size_t utf8_error_offset(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = MIN(utf8_lead_len(s[i]), len - i);

		if (n == 0 || !utf8_valid((const char *)s + i, n))
			return i;
		i += n;
	}
	return len;
}

static int check_utf8(const char *name, const uint8_t *s, size_t len)
{
	if (utf8_valid((const char *)s, len))
		return 0;
	return fail(-EILSEQ, "%s is not valid UTF-8 at byte %zu", name, utf8_error_offset(s, len));
}

/*
 * A string whose size field (counting the NUL, as the kernel sets it) comes
 * from the message. The NUL must sit exactly at size-1: a disagreement means
 * the size or the string is corrupt, and the upstream daemon would then
 * compare keys with memcmp(key_size) and store bytes past the NUL.
 */
static int take_sized(const char *name, const uint8_t *field, size_t cap, uint32_t size,
		      uint32_t min_size, char *dst, size_t *ret_len)
{
	const uint8_t *nul;
	size_t len;
	int r;

	if (size < min_size || size > cap)
		return fail(-EINVAL, "%s_size %" PRIu32 " out of range %" PRIu32 "..%zu", name,
			    size, min_size, cap);
	if (size == 0) {
		/* Values only (keys need 2). The kernel never sends 0, since it
		 * counts the NUL, but 0 still means one thing: empty. */
		dst[0] = '\0';
		*ret_len = 0;
		return 0;
	}
	len = size - 1;
	if (field[len] != 0)
		return fail(-EINVAL, "%s has no NUL terminator at byte %zu (%s_size %" PRIu32 ")",
			    name, len, name, size);
	nul = memchr(field, 0, len);
	if (nul)
		return fail(-EINVAL,
			    "%s has a NUL at byte %td, before the end set by %s_size %" PRIu32,
			    name, nul - field, name, size);
	r = check_utf8(name, field, len);
	if (r < 0)
		return r;
	memcpy(dst, field, size);
	*ret_len = len;
	return 0;
}

/* A string that only has its field size as a bound (IP lists, version). */
static int take_terminated(const char *name, const uint8_t *field, size_t cap, char *dst)
{
	const uint8_t *nul = memchr(field, 0, cap);
	size_t len;
	int r;

	if (!nul)
		return fail(-EINVAL, "%s has no NUL terminator within %zu bytes", name, cap);
	len = (size_t)(nul - field);
	r = check_utf8(name, field, len);
	if (r < 0)
		return r;
	memcpy(dst, field, len + 1);
	return 0;
}

static int check_pool(uint8_t op, uint8_t pool)
{
	if (pool >= KVP_POOL_COUNT)
		return fail(-EINVAL, "pool %u out of range 0..%d for operation %s", pool,
			    KVP_POOL_COUNT - 1, kvp_op_to_string(op));
	return 0;
}

static int decode_ip(const uint8_t *msg, uint8_t op, struct kvp_ip_fields *ip)
{
	int r;

	r = take_terminated("adapter_id", msg + IP_OFF(adapter_id), KVP_ADAPTER_ID_BYTES,
			    ip->adapter_id);
	if (r < 0)
		return r;
	ip->addr_family = msg[IP_OFF(addr_family)];
	/* For GET_IP_INFO the kernel fills only adapter_id and addr_family; the
	 * rest is zero-filled by it and meaningless to us, so it is not judged. */
	if (op == KVP_OP_GET_IP_INFO)
		return 0;
	ip->dhcp_enabled = msg[IP_OFF(dhcp_enabled)];
	r = take_terminated("ip_addr", msg + IP_OFF(ip_addr), KVP_IP_ADDR_BYTES, ip->ip_addr);
	if (r < 0)
		return r;
	r = take_terminated("sub_net", msg + IP_OFF(sub_net), KVP_IP_ADDR_BYTES, ip->sub_net);
	if (r < 0)
		return r;
	r = take_terminated("gate_way", msg + IP_OFF(gate_way), KVP_GATEWAY_BYTES, ip->gate_way);
	if (r < 0)
		return r;
	return take_terminated("dns_addr", msg + IP_OFF(dns_addr), KVP_IP_ADDR_BYTES,
			       ip->dns_addr);
}

static int decode(const uint8_t *msg, size_t len, bool expect_register, struct kvp_request *ret)
{
	uint8_t op, pool;
	int r;

	if (len != KVP_MSG_SIZE)
		return fail(-EBADMSG, "message length %zu, expected %d", len, KVP_MSG_SIZE);

	/* Zeroed so that fields an operation does not carry are defined. */
	memset(ret, 0, sizeof(*ret));
	op = msg[OFF_OP];
	pool = msg[OFF_POOL];
	ret->op = op;
	ret->pool = pool;

	if (expect_register) {
		if (op != KVP_OP_REGISTER1 && op != KVP_OP_REGISTER)
			return fail(-EOPNOTSUPP, "operation %u (%s) is not a registration reply",
				    op, kvp_op_to_string(op));
		return take_terminated("version", msg + OFF_REG_VERSION, VERSION_SIZE,
				       ret->reg.version);
	}

	switch (op) {
	case KVP_OP_GET:
	case KVP_OP_DELETE: {
		size_t size_off, key_off;
		char *key = op == KVP_OP_GET ? ret->get.key : ret->del.key;
		size_t *key_len = op == KVP_OP_GET ? &ret->get.key_len : &ret->del.key_len;

		r = check_pool(op, pool);
		if (r < 0)
			return r;
		key_offsets(op, &size_off, &key_off);
		return take_sized("key", msg + key_off, KEY_SIZE, get_u32(msg, size_off),
				  KEY_SIZE_MIN, key, key_len);
	}
	case KVP_OP_SET:
		r = check_pool(op, pool);
		if (r < 0)
			return r;
		r = take_sized("key", msg + OFF_SET + XV_OFF(key), KEY_SIZE,
			       get_u32(msg, OFF_SET + XV_OFF(key_size)), KEY_SIZE_MIN, ret->set.key,
			       &ret->set.key_len);
		if (r < 0)
			return r;
		r = take_sized("value", msg + OFF_SET + XV_OFF(value), VALUE_SIZE,
			       get_u32(msg, OFF_SET + XV_OFF(value_size)), 0, ret->set.value,
			       &ret->set.value_len);
		if (r < 0)
			return r;
		/* Not checked: the kernel turns REG_U32/REG_U64 into decimal
		 * strings, so every value reaching us is text whatever the type. */
		ret->set.value_type = get_u32(msg, OFF_SET + XV_OFF(value_type));
		return 0;
	case KVP_OP_ENUMERATE:
		r = check_pool(op, pool);
		if (r < 0)
			return r;
		ret->enumerate.index = get_u32(msg, OFF_ENUM_INDEX);
		return 0;
	case KVP_OP_GET_IP_INFO:
	case KVP_OP_SET_IP_INFO:
		/* The pool byte means nothing for IP operations; it is kept as
		 * delivered for logging but never validated. */
		return decode_ip(msg, op, &ret->ip);
	default:
		return fail(-EOPNOTSUPP, "operation %u unknown", op);
	}
}

int kvp_msg_decode(const void *buf, size_t len, bool expect_register, struct kvp_request *ret,
		   const char **ret_reason)
{
	int r = decode(buf, len, expect_register, ret);

	if (ret_reason)
		*ret_reason = r < 0 ? reason_buf : NULL;
	return r;
}

const char *kvp_op_to_string(uint8_t op)
{
	/* Separate from the pool's buffer so both can appear in one printf. */
	static char unknown[sizeof("op255")];

	switch (op) {
	case KVP_OP_GET:
		return "get";
	case KVP_OP_SET:
		return "set";
	case KVP_OP_DELETE:
		return "delete";
	case KVP_OP_ENUMERATE:
		return "enumerate";
	case KVP_OP_GET_IP_INFO:
		/* Also KVP_OP_REGISTER: the legacy registration code collides with
		 * GET_IP_INFO, and host requests are what gets logged most. */
		return "get_ip_info";
	case KVP_OP_SET_IP_INFO:
		return "set_ip_info";
	case KVP_OP_REGISTER1:
		return "register1";
	default:
		snprintf(unknown, sizeof(unknown), "op%u", op);
		return unknown;
	}
}

const char *kvp_pool_to_string(uint8_t pool)
{
	static char unknown[sizeof("pool255")];

	switch (pool) {
	case KVP_POOL_EXTERNAL:
		return "external";
	case KVP_POOL_GUEST:
		return "guest";
	case KVP_POOL_AUTO:
		return "auto";
	case KVP_POOL_AUTO_EXTERNAL:
		return "auto_external";
	case KVP_POOL_AUTO_INTERNAL:
		return "auto_internal";
	default:
		snprintf(unknown, sizeof(unknown), "pool%u", pool);
		return unknown;
	}
}

void kvp_msg_set_error(void *buf, uint32_t hv_code)
{
	put_u32(buf, OFF_ERROR, hv_code);
}

uint32_t kvp_msg_get_error(const void *buf)
{
	return get_u32(buf, OFF_ERROR);
}

/* Length of s if it fits a wire field of cap bytes including its NUL. */
static int fit(const char *s, size_t cap, int too_long, size_t *ret_len)
{
	size_t n;

	if (!s)
		return -EINVAL;
	n = strnlen(s, cap);
	if (n >= cap)
		return too_long;
	*ret_len = n;
	return 0;
}

/* Zero the whole field first: the reply reuses the request buffer, and the
 * bytes behind a shorter string must not carry request data back out. */
static void put_string(uint8_t *msg, size_t off, size_t cap, const char *s, size_t len)
{
	memset(msg + off, 0, cap);
	memcpy(msg + off, s, len);
}

/* Fill one hv_kvp_exchg_msg_value at `base`, as the kernel expects a GET or
 * ENUMERATE answer: UTF-8 strings, sizes counting the NUL, type REG_SZ. */
static int encode_exchg(uint8_t *msg, size_t base, const char *key, const char *value)
{
	size_t klen, vlen;
	int r;

	r = fit(key, KEY_SIZE, -ENAMETOOLONG, &klen);
	if (r < 0)
		return r;
	r = fit(value, VALUE_SIZE, -EMSGSIZE, &vlen);
	if (r < 0)
		return r;
	put_u32(msg, base + XV_OFF(value_type), REG_SZ);
	put_u32(msg, base + XV_OFF(key_size), (uint32_t)klen + 1);
	put_u32(msg, base + XV_OFF(value_size), (uint32_t)vlen + 1);
	put_string(msg, base + XV_OFF(key), KEY_SIZE, key, klen);
	put_string(msg, base + XV_OFF(value), VALUE_SIZE, value, vlen);
	return 0;
}

/* The driver's kvp_respond_to_host() takes a GET answer's value from the
 * kvp_enum_data area (4 bytes further than kvp_get), so that is where it must
 * be for the host to see it. (Upstream writes kvp_get and copies 0 bytes, so
 * its hosts get an empty value.) */
int kvp_msg_encode_get_reply(void *buf, const char *key, const char *value)
{
	return encode_exchg(buf, OFF_ENUM_DATA, key, value);
}

int kvp_msg_encode_enumerate_reply(void *buf, const char *key, const char *value)
{
	return encode_exchg(buf, OFF_ENUM_DATA, key, value);
}

struct ip_len {
	size_t adapter_id, ip_addr, sub_net, gate_way, dns_addr;
};

/* All lengths are measured before anything is written, so a rejected
 * struct leaves the buffer as it was. */
static int measure_ip(const struct kvp_ip_fields *ip, bool only_adapter, struct ip_len *len)
{
	int r;

	*len = (struct ip_len){ 0 };
	r = fit(ip->adapter_id, KVP_ADAPTER_ID_BYTES, -EMSGSIZE, &len->adapter_id);
	if (r < 0 || only_adapter)
		return r;
	r = fit(ip->ip_addr, KVP_IP_ADDR_BYTES, -EMSGSIZE, &len->ip_addr);
	if (r < 0)
		return r;
	r = fit(ip->sub_net, KVP_IP_ADDR_BYTES, -EMSGSIZE, &len->sub_net);
	if (r < 0)
		return r;
	r = fit(ip->gate_way, KVP_GATEWAY_BYTES, -EMSGSIZE, &len->gate_way);
	if (r < 0)
		return r;
	return fit(ip->dns_addr, KVP_IP_ADDR_BYTES, -EMSGSIZE, &len->dns_addr);
}

static void put_ip(uint8_t *msg, const struct kvp_ip_fields *ip, const struct ip_len *len)
{
	/* Up to the end of the message, tail padding included: no request byte
	 * may travel back in a reply. */
	memset(msg + OFF_IP, 0, KVP_MSG_SIZE - OFF_IP);
	memcpy(msg + IP_OFF(adapter_id), ip->adapter_id, len->adapter_id);
	msg[IP_OFF(addr_family)] = ip->addr_family;
	msg[IP_OFF(dhcp_enabled)] = ip->dhcp_enabled;
	memcpy(msg + IP_OFF(ip_addr), ip->ip_addr, len->ip_addr);
	memcpy(msg + IP_OFF(sub_net), ip->sub_net, len->sub_net);
	memcpy(msg + IP_OFF(gate_way), ip->gate_way, len->gate_way);
	memcpy(msg + IP_OFF(dns_addr), ip->dns_addr, len->dns_addr);
}

int kvp_msg_encode_ip_reply(void *buf, const struct kvp_ip_fields *ip)
{
	struct ip_len len;
	int r;

	if (!ip)
		return -EINVAL;
	r = measure_ip(ip, false, &len);
	if (r < 0)
		return r;
	put_ip(buf, ip, &len);
	return 0;
}

/* ---- requests, laid out as the kernel's kvp_send_key() does ---- */

static uint8_t *start_msg(void *buf, uint8_t op, uint8_t pool)
{
	uint8_t *msg = buf;

	memset(msg, 0, KVP_MSG_SIZE);
	msg[OFF_OP] = op;
	msg[OFF_POOL] = pool;
	return msg;
}

int kvp_msg_build_register(void *buf, uint8_t op, const char *version)
{
	size_t vlen = 0;
	uint8_t *msg;
	int r;

	/* Any op is accepted on purpose: the emulator uses this to send the
	 * invalid registrations the real driver must refuse. */
	if (version) {
		r = fit(version, VERSION_SIZE, -EMSGSIZE, &vlen);
		if (r < 0)
			return r;
	}
	msg = start_msg(buf, op, 0);
	if (version)
		memcpy(msg + OFF_REG_VERSION, version, vlen);
	return 0;
}

/* Pools are not range-checked by the builders: the emulator must be able to
 * send what a buggy or hostile host could. Same for empty keys. */

/* GET and DELETE carry only a key: its size (counting the NUL) and bytes.
 * A GET's value_size stays 0, as the kernel leaves it. */
static int build_key_request(void *buf, uint8_t op, uint8_t pool, const char *key)
{
	size_t size_off, key_off, klen;
	uint8_t *msg;
	int r;

	r = fit(key, KEY_SIZE, -ENAMETOOLONG, &klen);
	if (r < 0)
		return r;
	key_offsets(op, &size_off, &key_off);
	msg = start_msg(buf, op, pool);
	put_u32(msg, size_off, (uint32_t)klen + 1);
	memcpy(msg + key_off, key, klen);
	return 0;
}

int kvp_msg_build_get(void *buf, uint8_t pool, const char *key)
{
	return build_key_request(buf, KVP_OP_GET, pool, key);
}

int kvp_msg_build_set(void *buf, uint8_t pool, const char *key, const char *value,
		      uint32_t value_type)
{
	size_t klen, vlen;
	uint8_t *msg;
	int r;

	r = fit(key, KEY_SIZE, -ENAMETOOLONG, &klen);
	if (r < 0)
		return r;
	r = fit(value, VALUE_SIZE, -EMSGSIZE, &vlen);
	if (r < 0)
		return r;
	msg = start_msg(buf, KVP_OP_SET, pool);
	put_u32(msg, OFF_SET + XV_OFF(value_type), value_type);
	put_u32(msg, OFF_SET + XV_OFF(key_size), (uint32_t)klen + 1);
	put_u32(msg, OFF_SET + XV_OFF(value_size), (uint32_t)vlen + 1);
	memcpy(msg + OFF_SET + XV_OFF(key), key, klen);
	memcpy(msg + OFF_SET + XV_OFF(value), value, vlen);
	return 0;
}

int kvp_msg_build_delete(void *buf, uint8_t pool, const char *key)
{
	return build_key_request(buf, KVP_OP_DELETE, pool, key);
}

int kvp_msg_build_enumerate(void *buf, uint8_t pool, uint32_t index)
{
	uint8_t *msg = start_msg(buf, KVP_OP_ENUMERATE, pool);

	put_u32(msg, OFF_ENUM_INDEX, index);
	return 0;
}

int kvp_msg_build_ip(void *buf, uint8_t op, const struct kvp_ip_fields *ip)
{
	struct kvp_ip_fields only;
	const struct kvp_ip_fields *src = ip;
	struct ip_len len;
	uint8_t *msg;
	int r;

	if (!ip || (op != KVP_OP_GET_IP_INFO && op != KVP_OP_SET_IP_INFO))
		return -EINVAL;
	r = measure_ip(ip, op == KVP_OP_GET_IP_INFO, &len);
	if (r < 0)
		return r;
	if (op == KVP_OP_GET_IP_INFO) {
		/* The kernel converts only adapter_id and addr_family for a
		 * GET_IP_INFO; everything else reaches the daemon as zeros. */
		memset(&only, 0, sizeof(only));
		memcpy(only.adapter_id, ip->adapter_id, len.adapter_id);
		only.addr_family = ip->addr_family;
		src = &only;
	}
	msg = start_msg(buf, op, 0);
	put_ip(msg, src, &len);
	return 0;
}

/* ---- replies, as the emulated kernel reads them ---- */

/* Copy a wire field into dst (at least cap+1 bytes), stopping at the first
 * NUL or the end of the field; never reads past the field. */
static void copy_bounded(char *dst, const uint8_t *field, size_t cap)
{
	size_t n = strnlen((const char *)field, cap);

	memcpy(dst, field, n);
	dst[n] = '\0';
}

int kvp_msg_decode_reply(const void *buf, size_t len, uint8_t op, struct kvp_reply *ret)
{
	const uint8_t *msg = buf;
	size_t base;

	if (len != KVP_MSG_SIZE)
		return -EBADMSG;
	memset(ret, 0, sizeof(*ret));
	ret->error = get_u32(msg, OFF_ERROR);

	switch (op) {
	case KVP_OP_GET:
	case KVP_OP_ENUMERATE:
		/* the driver reads both answers from the kvp_enum_data area */
		base = OFF_ENUM_DATA;
		copy_bounded(ret->key, msg + base + XV_OFF(key), KEY_SIZE);
		copy_bounded(ret->value, msg + base + XV_OFF(value), VALUE_SIZE);
		break;
	case KVP_OP_GET_IP_INFO:
	case KVP_OP_SET_IP_INFO:
		copy_bounded(ret->ip.adapter_id, msg + IP_OFF(adapter_id), KVP_ADAPTER_ID_BYTES);
		ret->ip.addr_family = msg[IP_OFF(addr_family)];
		ret->ip.dhcp_enabled = msg[IP_OFF(dhcp_enabled)];
		copy_bounded(ret->ip.ip_addr, msg + IP_OFF(ip_addr), KVP_IP_ADDR_BYTES);
		copy_bounded(ret->ip.sub_net, msg + IP_OFF(sub_net), KVP_IP_ADDR_BYTES);
		copy_bounded(ret->ip.gate_way, msg + IP_OFF(gate_way), KVP_GATEWAY_BYTES);
		copy_bounded(ret->ip.dns_addr, msg + IP_OFF(dns_addr), KVP_IP_ADDR_BYTES);
		break;
	default:
		/* SET, DELETE and the rest answer with the status alone. */
		break;
	}
	return 0;
}

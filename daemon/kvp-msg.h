/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kvp-msg.h - pure codec for struct hv_kvp_msg: bytes <-> typed requests and replies. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvp-proto.h"

/*
 * Everything here is pure: no I/O, no logging above debug, no allocation.
 * Both sides use it: the daemon decodes requests and encodes replies; the
 * emulator (and the tests) build requests and decode replies.
 *
 * Strings in the typed structs are NUL-terminated UTF-8 copies, bounded by
 * the wire field they came from, so a decoded struct can be used without
 * further length checks.
 */

/* The IP-settings payload (SET_IP_INFO request, GET_IP_INFO reply). Each list
 * is the host's ';'-separated string, exactly as the kernel delivered it. */
struct kvp_ip_fields {
	char adapter_id[KVP_ADAPTER_ID_BYTES + 1];
	uint8_t addr_family; /* ADDR_FAMILY_* bit flags */
	uint8_t dhcp_enabled;
	char ip_addr[KVP_IP_ADDR_BYTES + 1];
	char sub_net[KVP_IP_ADDR_BYTES + 1];
	char gate_way[KVP_GATEWAY_BYTES + 1];
	char dns_addr[KVP_IP_ADDR_BYTES + 1];
};

struct kvp_request {
	uint8_t op;   /* KVP_OP_* (0..5), or KVP_OP_REGISTER/KVP_OP_REGISTER1 */
	uint8_t pool; /* KVP_POOL_*; meaningful for GET/SET/DELETE/ENUMERATE */
	union {
		struct {
			char key[HV_KVP_EXCHANGE_MAX_KEY_SIZE];
			size_t key_len; /* strlen(key), >= 1 */
		} get, del;
		struct {
			char key[HV_KVP_EXCHANGE_MAX_KEY_SIZE];
			size_t key_len;
			char value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
			size_t value_len; /* strlen(value), may be 0 */
			uint32_t value_type; /* as delivered; informational only */
		} set;
		struct {
			uint32_t index;
		} enumerate;
		struct {
			char version[HV_KVP_EXCHANGE_MAX_KEY_SIZE];
		} reg; /* the driver's registration reply */
		struct kvp_ip_fields ip; /* GET_IP_INFO (adapter_id, addr_family) and SET_IP_INFO */
	};
};

/*
 * Decode one message read from the device.
 *
 * Returns 0 and fills *ret, or a negative errno and leaves *ret unspecified:
 *   -EBADMSG     len != KVP_MSG_SIZE
 *   -EOPNOTSUPP  unknown operation
 *   -EINVAL      pool out of range, size fields zero / over the limit /
 *                disagreeing with the NUL terminator, missing NUL
 *   -EILSEQ      a string is not valid UTF-8
 * If ret_reason is not NULL it receives a static English sentence naming the
 * field that was rejected (e.g. "key_size 0 out of range 2..512"), or NULL
 * on success. The reason buffer is static and overwritten by the next call.
 *
 * In handshake mode (registration reply from the driver) the caller passes
 * expect_register=true: then only KVP_OP_REGISTER1/KVP_OP_REGISTER are
 * accepted and reg.version is filled.
 */
int kvp_msg_decode(const void *buf, size_t len, bool expect_register, struct kvp_request *ret,
		   const char **ret_reason);

/* Short lower-case names for logs and JSON: "get", "set", "delete",
 * "enumerate", "get_ip_info", "set_ip_info", "register", "register1";
 * "op<N>" for unknown values (static buffer). */
const char *kvp_op_to_string(uint8_t op);
/* "external", "guest", "auto", "auto_external", "auto_internal", "pool<N>". */
const char *kvp_pool_to_string(uint8_t pool);

/* ---- replies (daemon -> kernel); buf is the request buffer, KVP_MSG_SIZE bytes ---- */

/* Overwrite the first 4 bytes (the header union) with the HV_* code. */
void kvp_msg_set_error(void *buf, uint32_t hv_code);
uint32_t kvp_msg_get_error(const void *buf);

/* Fill key/value (and key_size/value_size = strlen + 1, value_type REG_SZ)
 * of a GET or ENUMERATE reply. Both use the kvp_enum_data area, because that
 * is where the driver reads the value of either answer from. Strings
 * longer than the wire fields are rejected with -ENAMETOOLONG / -EMSGSIZE. */
int kvp_msg_encode_get_reply(void *buf, const char *key, const char *value);
int kvp_msg_encode_enumerate_reply(void *buf, const char *key, const char *value);
/* Fill the kvp_ip_val area of a GET_IP_INFO reply; -EMSGSIZE if a list does
 * not fit its wire field (including the NUL). */
int kvp_msg_encode_ip_reply(void *buf, const struct kvp_ip_fields *ip);

/* ---- requests (kernel/host -> daemon), for the emulator and the tests ---- */

/* Each zero-fills buf (KVP_MSG_SIZE bytes) and fills it the way the kernel's
 * kvp_send_key() does (sizes count the terminating NUL). Strings that do not
 * fit are rejected with -ENAMETOOLONG / -EMSGSIZE. */
int kvp_msg_build_register(void *buf, uint8_t op /* KVP_OP_REGISTER1 or KVP_OP_REGISTER */,
			   const char *version /* NULL for the daemon's request */);
int kvp_msg_build_get(void *buf, uint8_t pool, const char *key);
int kvp_msg_build_set(void *buf, uint8_t pool, const char *key, const char *value,
		      uint32_t value_type);
int kvp_msg_build_delete(void *buf, uint8_t pool, const char *key);
int kvp_msg_build_enumerate(void *buf, uint8_t pool, uint32_t index);
int kvp_msg_build_ip(void *buf, uint8_t op /* GET_IP_INFO or SET_IP_INFO */,
		     const struct kvp_ip_fields *ip);

/* ---- decoding replies (emulator/tests side) ---- */

struct kvp_reply {
	uint32_t error; /* HV_* code from the header union */
	char key[HV_KVP_EXCHANGE_MAX_KEY_SIZE + 1];
	char value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE + 1];
	struct kvp_ip_fields ip;
};

/* Interpret a daemon reply to a request of operation `op` (the emulator
 * remembers the op, as the kernel does), reading the fields where the driver
 * reads them (GET and ENUMERATE: the kvp_enum_data area). Strings are copied bounded and
 * always terminated; no validation beyond that (it is the daemon's output).
 * Returns -EBADMSG if len != KVP_MSG_SIZE. */
int kvp_msg_decode_reply(const void *buf, size_t len, uint8_t op, struct kvp_reply *ret);

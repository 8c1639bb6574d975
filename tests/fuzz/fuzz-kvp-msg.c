/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-kvp-msg.c - libFuzzer target: hostile kernel messages through the whole message codec. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "kvp-msg.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t reply_ops[] = {
	KVP_OP_GET,	    KVP_OP_SET,		KVP_OP_DELETE,	  KVP_OP_ENUMERATE,
	KVP_OP_GET_IP_INFO, KVP_OP_SET_IP_INFO, KVP_OP_REGISTER1, 0xff,
};

/* Every string the decoder hands out must be terminated inside its array
 * and agree with the length it reports. */
static void check_request(const struct kvp_request *req, bool expect_register)
{
	if (expect_register) {
		CHECK(req->op == KVP_OP_REGISTER1 || req->op == KVP_OP_REGISTER);
		CHECK(memchr(req->reg.version, 0, sizeof(req->reg.version)));
		return;
	}
	switch (req->op) {
	case KVP_OP_GET:
		CHECK(req->pool < KVP_POOL_COUNT);
		CHECK(req->get.key_len >= 1 && strnlen(req->get.key, sizeof(req->get.key)) ==
							req->get.key_len);
		break;
	case KVP_OP_DELETE:
		CHECK(req->pool < KVP_POOL_COUNT);
		CHECK(req->del.key_len >= 1 && strnlen(req->del.key, sizeof(req->del.key)) ==
							req->del.key_len);
		break;
	case KVP_OP_SET:
		CHECK(req->pool < KVP_POOL_COUNT);
		CHECK(req->set.key_len >= 1 && strnlen(req->set.key, sizeof(req->set.key)) ==
							req->set.key_len);
		CHECK(strnlen(req->set.value, sizeof(req->set.value)) == req->set.value_len);
		CHECK(utf8_valid(req->set.key, req->set.key_len));
		CHECK(utf8_valid(req->set.value, req->set.value_len));
		break;
	case KVP_OP_ENUMERATE:
		CHECK(req->pool < KVP_POOL_COUNT);
		break;
	case KVP_OP_GET_IP_INFO:
	case KVP_OP_SET_IP_INFO:
		CHECK(memchr(req->ip.adapter_id, 0, KVP_ADAPTER_ID_BYTES));
		CHECK(memchr(req->ip.ip_addr, 0, KVP_IP_ADDR_BYTES));
		CHECK(memchr(req->ip.sub_net, 0, KVP_IP_ADDR_BYTES));
		CHECK(memchr(req->ip.gate_way, 0, KVP_GATEWAY_BYTES));
		CHECK(memchr(req->ip.dns_addr, 0, KVP_IP_ADDR_BYTES));
		break;
	default:
		CHECK(!"decode accepted an unknown operation");
	}
}

/* What the daemon does next with an accepted request: answer in place, on a
 * copy, and read the answer back the way the (emulated) kernel would. */
static void exercise_replies(const uint8_t *msg, const struct kvp_request *req)
{
	static struct kvp_reply rep;
	static struct kvp_request again;
	uint8_t *copy = malloc(KVP_MSG_SIZE);
	const char *key = NULL, *value = NULL;
	int r;

	CHECK(copy);
	memcpy(copy, msg, KVP_MSG_SIZE);

	switch (req->op) {
	case KVP_OP_GET:
		key = req->get.key;
		value = req->get.key; /* any string will do as a value */
		break;
	case KVP_OP_SET:
		key = req->set.key;
		value = req->set.value;
		break;
	case KVP_OP_DELETE:
		key = req->del.key;
		value = "";
		break;
	default:
		break;
	}

	if (key) {
		r = kvp_msg_encode_get_reply(copy, key, value);
		CHECK(r == 0);
		kvp_msg_set_error(copy, HV_S_OK);
		CHECK(kvp_msg_get_error(copy) == HV_S_OK);
		CHECK(kvp_msg_decode_reply(copy, KVP_MSG_SIZE, KVP_OP_GET, &rep) == 0);
		CHECK(streq(rep.key, key) && streq(rep.value, value));

		memcpy(copy, msg, KVP_MSG_SIZE);
		r = kvp_msg_encode_enumerate_reply(copy, key, value);
		CHECK(r == 0);
		CHECK(kvp_msg_decode_reply(copy, KVP_MSG_SIZE, KVP_OP_ENUMERATE, &rep) == 0);
		CHECK(streq(rep.key, key) && streq(rep.value, value));
	}

	/* Rebuilding the request the way the kernel would must decode to the
	 * same thing: the decoder and the builders agree on the layout. */
	switch (req->op) {
	case KVP_OP_GET:
		CHECK(kvp_msg_build_get(copy, req->pool, req->get.key) == 0);
		CHECK(kvp_msg_decode(copy, KVP_MSG_SIZE, false, &again, NULL) == 0);
		CHECK(streq(again.get.key, req->get.key));
		break;
	case KVP_OP_SET:
		CHECK(kvp_msg_build_set(copy, req->pool, req->set.key, req->set.value,
					req->set.value_type) == 0);
		CHECK(kvp_msg_decode(copy, KVP_MSG_SIZE, false, &again, NULL) == 0);
		CHECK(streq(again.set.key, req->set.key) && streq(again.set.value, req->set.value));
		CHECK(again.set.value_type == req->set.value_type);
		break;
	case KVP_OP_DELETE:
		CHECK(kvp_msg_build_delete(copy, req->pool, req->del.key) == 0);
		CHECK(kvp_msg_decode(copy, KVP_MSG_SIZE, false, &again, NULL) == 0);
		CHECK(streq(again.del.key, req->del.key));
		break;
	case KVP_OP_ENUMERATE:
		CHECK(kvp_msg_build_enumerate(copy, req->pool, req->enumerate.index) == 0);
		CHECK(kvp_msg_decode(copy, KVP_MSG_SIZE, false, &again, NULL) == 0);
		CHECK(again.enumerate.index == req->enumerate.index);
		break;
	case KVP_OP_GET_IP_INFO:
	case KVP_OP_SET_IP_INFO:
		memcpy(copy, msg, KVP_MSG_SIZE);
		CHECK(kvp_msg_encode_ip_reply(copy, &req->ip) == 0);
		CHECK(kvp_msg_decode_reply(copy, KVP_MSG_SIZE, req->op, &rep) == 0);
		CHECK(memcmp(&rep.ip, &req->ip, sizeof(rep.ip)) == 0);
		CHECK(kvp_msg_build_ip(copy, req->op, &req->ip) == 0);
		CHECK(kvp_msg_decode(copy, KVP_MSG_SIZE, false, &again, NULL) == 0);
		CHECK(streq(again.ip.adapter_id, req->ip.adapter_id));
		if (req->op == KVP_OP_SET_IP_INFO)
			CHECK(memcmp(&again.ip, &req->ip, sizeof(again.ip)) == 0);
		break;
	default:
		break;
	}
	free(copy);
}

static void decode_both_modes(const uint8_t *msg, size_t len)
{
	static struct kvp_request req;
	static struct kvp_reply rep;
	const char *reason;
	int r;

	for (int mode = 0; mode < 2; mode++) {
		bool expect_register = mode == 1;

		r = kvp_msg_decode(msg, len, expect_register, &req, &reason);
		if (r < 0) {
			CHECK(r == -EBADMSG || r == -EOPNOTSUPP || r == -EINVAL || r == -EILSEQ);
			CHECK(reason && *reason);
			continue;
		}
		CHECK(r == 0 && reason == NULL);
		CHECK(len == KVP_MSG_SIZE);
		check_request(&req, expect_register);
		if (!expect_register)
			exercise_replies(msg, &req);
	}

	/* The emulator reads whatever a (possibly broken) daemon wrote. */
	for (size_t i = 0; i < ARRAY_SIZE(reply_ops); i++) {
		r = kvp_msg_decode_reply(msg, len, reply_ops[i], &rep);
		if (len != KVP_MSG_SIZE) {
			CHECK(r == -EBADMSG);
			continue;
		}
		CHECK(r == 0);
		CHECK(strlen(rep.key) < sizeof(rep.key) && strlen(rep.value) < sizeof(rep.value));
	}
	kvp_op_to_string(len ? msg[0] : 0);
	kvp_pool_to_string(len > 1 ? msg[1] : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *padded;

	/* As given: exercises the length check with every size. */
	decode_both_modes(data, size);

	/* Then padded/truncated to a whole message, the way the kernel
	 * zero-fills it, so short inputs still reach the field decoders. An
	 * exact-size heap copy lets ASan see any read past the end. */
	if (size == KVP_MSG_SIZE)
		return 0;
	padded = calloc(1, KVP_MSG_SIZE);
	CHECK(padded);
	if (size)
		memcpy(padded, data, MIN(size, (size_t)KVP_MSG_SIZE));
	decode_both_modes(padded, KVP_MSG_SIZE);
	free(padded);
	return 0;
}

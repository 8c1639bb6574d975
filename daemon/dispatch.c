/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dispatch.c - turns one decoded host request into an action and a reply code. */
#include <stdio.h>

#include "dispatch.h"
#include "hv-error.h"
#include "kvp-msg.h"
#include "log.h"

int hvkvp_ctx_init(struct hvkvp_ctx *ctx, const char *pool_dir, const char *os_root,
		   const struct link_config_options *ipo)
{
	memset(ctx, 0, sizeof(*ctx));
	for (unsigned i = 0; i < KVP_POOL_COUNT; i++) {
		int r = kvp_pool_open(pool_dir, i, &ctx->pools[i]);
		if (r < 0) {
			hvkvp_ctx_done(ctx);
			return log_error_errno(r, "cannot open pool %u in %s", i, pool_dir);
		}
	}
	osinfo_init(&ctx->osinfo, os_root);
	if (ipo) {
		int r = link_config_new(ipo, ctx->pools[KVP_POOL_GUEST], &ctx->link_config);
		if (r < 0) {
			hvkvp_ctx_done(ctx);
			return r;
		}
	}
	return 0;
}

void hvkvp_ctx_done(struct hvkvp_ctx *ctx)
{
	osinfo_lookup_cancel(&ctx->osinfo);
	ctx->link_config = link_config_free(ctx->link_config);
	for (unsigned i = 0; i < KVP_POOL_COUNT; i++)
		ctx->pools[i] = kvp_pool_free(ctx->pools[i]);
}

static int handle_ip(struct hvkvp_ctx *ctx, const struct kvp_request *req, uint8_t *msg)
{
	struct kvp_ip_fields out;
	int r;

	if (!ctx->link_config) {
		char id[ESCAPED_SIZE(sizeof(req->ip.adapter_id))];

		log_notice("%s for adapter '%s' is not supported without the failover machinery; answering %s",
			   kvp_op_to_string(req->op), escape_str(id, sizeof(id), req->ip.adapter_id),
			   hv_error_to_string(HV_ERROR_NOT_SUPPORTED));
		return -EOPNOTSUPP;
	}
	if (req->op == KVP_OP_SET_IP_INFO) {
		struct link_config_result res;

		r = link_config_set(ctx->link_config, &req->ip, &res);
		strscpy(ctx->status, sizeof(ctx->status), res.status);
		ctx->status_changed = true;
		return r;
	}
	r = link_config_get(ctx->link_config, &req->ip, &out);
	if (r < 0)
		return r;
	return kvp_msg_encode_ip_reply(msg, &out);
}

/* Journal fields naming the request; the strings live in `buf`. */
struct req_fields {
	char op[48], pool[48], key[ESCAPED_SIZE(HV_KVP_EXCHANGE_MAX_KEY_SIZE) + 16], code[48];
	const char *v[5];
};

/* `key` is the escaped form (escape_str()). */
static const char *const *req_fields(struct req_fields *f, const struct kvp_request *req,
				     const char *key, uint32_t code)
{
	size_t n = 0;

	snprintf(f->op, sizeof(f->op), "HVKVP_OP=%s", kvp_op_to_string(req->op));
	f->v[n++] = f->op;
	snprintf(f->pool, sizeof(f->pool), "HVKVP_POOL=%u", req->pool);
	f->v[n++] = f->pool;
	if (key) {
		snprintf(f->key, sizeof(f->key), "HVKVP_KEY=%s", key);
		f->v[n++] = f->key;
	}
	snprintf(f->code, sizeof(f->code), "HVKVP_RESULT=%s", hv_error_to_string(code));
	f->v[n++] = f->code;
	f->v[n] = NULL;
	return f->v;
}

static int handle_get(struct hvkvp_ctx *ctx, const struct kvp_request *req, uint8_t *msg)
{
	char value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
	int r = -ENOENT;

	/* The auto pool's values are generated, not stored: serve them by name
	 * (upstream only looks at the never-written .kvp_pool_2 file). */
	if (req->pool == KVP_POOL_AUTO) {
		char key[HV_KVP_EXCHANGE_MAX_KEY_SIZE];

		for (uint32_t i = 0; i < OSINFO_KEY_COUNT; i++)
			if (streq(osinfo_key_name(i), req->get.key)) {
				r = osinfo_enumerate(&ctx->osinfo, i, key, sizeof(key), value,
						     sizeof(value));
				break;
			}
	}
	if (r == -ENOENT)
		r = kvp_pool_get(ctx->pools[req->pool], req->get.key, value, sizeof(value));
	if (r < 0)
		return r;
	return kvp_msg_encode_get_reply(msg, req->get.key, value);
}

static int handle_enumerate(struct hvkvp_ctx *ctx, const struct kvp_request *req, uint8_t *msg,
			    char *key, size_t key_size)
{
	char value[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
	int r;

	if (req->pool == KVP_POOL_AUTO)
		r = osinfo_enumerate(&ctx->osinfo, req->enumerate.index, key, key_size, value,
				     sizeof(value));
	else
		r = kvp_pool_enumerate(ctx->pools[req->pool], req->enumerate.index, key, key_size,
				       value, sizeof(value));
	if (r < 0)
		return r;
	return kvp_msg_encode_enumerate_reply(msg, key, value);
}

uint32_t hvkvp_dispatch(struct hvkvp_ctx *ctx, uint8_t msg[KVP_MSG_SIZE])
{
	struct kvp_request req;
	struct req_fields f;
	char key[HV_KVP_EXCHANGE_MAX_KEY_SIZE] = "";
	/* the key (or adapter id) as the log shows it: the host chose its bytes */
	char shown[ESCAPED_SIZE(HV_KVP_EXCHANGE_MAX_KEY_SIZE)];
	const char *reason = NULL;
	uint32_t code;
	int r, level;

	ctx->n_requests++;
	r = kvp_msg_decode(msg, KVP_MSG_SIZE, false, &req, &reason);
	if (r < 0) {
		struct kvp_request hdr = { .op = msg[0], .pool = msg[1] };

		code = hv_error_from_errno(r);
		ctx->n_errors++;
		log_full(LOG_WARNING, 0, req_fields(&f, &hdr, NULL, code),
			 "rejected %s request (pool %u): %s; answering %s", kvp_op_to_string(msg[0]),
			 msg[1], reason ? reason : "malformed message", hv_error_to_string(code));
		kvp_msg_set_error(msg, code);
		return code;
	}

	switch (req.op) {
	case KVP_OP_GET:
		r = handle_get(ctx, &req, msg);
		strscpy(key, sizeof(key), req.get.key);
		break;
	case KVP_OP_SET:
		r = kvp_pool_set(ctx->pools[req.pool], req.set.key, req.set.value);
		strscpy(key, sizeof(key), req.set.key);
		break;
	case KVP_OP_DELETE:
		r = kvp_pool_delete(ctx->pools[req.pool], req.del.key);
		strscpy(key, sizeof(key), req.del.key);
		break;
	case KVP_OP_ENUMERATE:
		r = handle_enumerate(ctx, &req, msg, key, sizeof(key));
		break;
	case KVP_OP_GET_IP_INFO:
	case KVP_OP_SET_IP_INFO:
		strscpy(key, sizeof(key), req.ip.adapter_id);
		r = handle_ip(ctx, &req, msg);
		break;
	default:
		r = -EOPNOTSUPP;
	}

	code = hv_error_from_errno(r);
	kvp_msg_set_error(msg, code);
	escape_str(shown, sizeof(shown), key);

	/* Every request is one journal line at the default level, with
	 * HVKVP_OP/POOL/KEY/RESULT fields (hvkvpd(8), JOURNAL): reads at info
	 * (the host polls them, LogLevelMax=notice hides them), failover
	 * requests at notice, failures the daemon has not explained yet at
	 * warning. link-config and pool.c have already said why an IP request
	 * or a locked pool failed, naming the adapter or the holder. */
	if (r == -ENOENT) {
		/* the normal end of an enumeration, or a missing key */
		level = LOG_INFO;
	} else if (r < 0) {
		bool said = req.op == KVP_OP_SET_IP_INFO || req.op == KVP_OP_GET_IP_INFO || r == -EBUSY;

		ctx->n_errors++;
		level = said ? LOG_NOTICE : LOG_WARNING;
	} else {
		level = req.op == KVP_OP_SET_IP_INFO ? LOG_NOTICE : LOG_INFO;
	}
	if (req.op == KVP_OP_SET_IP_INFO || req.op == KVP_OP_GET_IP_INFO)
		log_full(level, 0, req_fields(&f, &req, shown, code), "%s adapter '%s': %s",
			 kvp_op_to_string(req.op), shown, hv_error_to_string(code));
	else if (r < 0 && r != -ENOENT)
		log_full(level, r, req_fields(&f, &req, shown, code), "%s pool %u key '%s' failed; answering %s",
			 kvp_op_to_string(req.op), req.pool, shown, hv_error_to_string(code));
	else
		log_full(level, 0, req_fields(&f, &req, shown, code), "%s pool %u key '%s': %s",
			 kvp_op_to_string(req.op), req.pool, shown, hv_error_to_string(code));
	return code;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-host.c - hv_kvp.c's state machine, the deadline, and the host's FIFO of requests. */
#include <inttypes.h>

#include "emu-event.h"
#include "emu-host.h"
#include "hv-error.h"
#include "kvp-msg.h"
#include "log.h"
#include "util.h"

/* enum hvutil_device_state, reduced to what user space can observe */
enum host_state {
	ST_INIT,           /* no daemon registered (HVUTIL_DEVICE_INIT) */
	ST_READY,          /* registered, idle (HVUTIL_READY) */
	ST_USERSPACE_REQ,  /* a request was handed to the daemon */
};

/* Where the legacy (REGISTER) daemon's key lives in its reply: the kernel
 * looks at body.kvp_enum_data.data.key whatever the operation was. */
#define LEGACY_KEY_OFFSET offsetof(struct hv_kvp_msg, body.kvp_enum_data.data.key)

struct emu_txn {
	struct emu_host *host;
	emu_txn_done_t done;
	void *userdata;
	uint64_t submit_usec, handed_usec;
	struct emu_txn *next;
	uint8_t msg[KVP_MSG_SIZE];
};

struct emu_host {
	sd_event *event;
	struct emu_device *dev;
	uint64_t timeout_usec;
	char version[HV_KVP_EXCHANGE_MAX_KEY_SIZE];
	bool debug;
	bool stopping;

	enum host_state state;
	uint8_t mode;
	struct emu_txn *cur;
	struct emu_txn *queue_head, *queue_tail;
	unsigned queued;

	sd_event_source *deadline; /* kvp_timeout_work */
	sd_event_source *kick;     /* dispatches the next queued request */

	emu_host_state_cb state_cb;
	void *state_cb_data;
	emu_host_state_cb routine_cb;
	void (*routine_json)(const void *routine, struct json *j);
	void *routine;

	unsigned opens, transactions, timeouts, closes;
};

/* ---- strings the way the driver converts them -------------------------- */

int emu_kernel_string(const char *in, size_t maxout, char *out, size_t out_size,
		      bool *ret_truncated)
{
	size_t len = strlen(in), i = 0, o = 0;
	bool truncated = false;

	if (out_size <= maxout)
		return -ENOBUFS;
	if (!utf8_valid(in, len))
		return -EILSEQ;
	while (i < len && o < maxout) {
		size_t n = utf8_lead_len((unsigned char)in[i]);

		/* utf32_to_utf8() refuses a character that does not fit and the
		 * loop goes on with the next one */
		if (n <= maxout - o) {
			memcpy(out + o, in + i, n);
			o += n;
		} else {
			truncated = true;
		}
		i += n;
	}
	out[o] = '\0';
	if (ret_truncated)
		*ret_truncated = truncated || i < len;
	return 0;
}

int emu_host_view(const char *in, size_t max_units, size_t *ret_len, bool *ret_truncated)
{
	size_t i = 0, units = 0;

	while (in[i] && units < max_units) {
		size_t n = utf8_lead_len((unsigned char)in[i]);

		if (n == 0 || strnlen(in + i, n) < n || !utf8_valid(in + i, n))
			return -EILSEQ;
		if (n == 4) {
			/* a surrogate pair needs two units */
			if (max_units - units < 2)
				break;
			units += 2;
		} else {
			units++;
		}
		i += n;
	}
	*ret_len = i;
	if (ret_truncated)
		*ret_truncated = in[i] != '\0';
	return 0;
}

/* ---- transactions -------------------------------------------------------- */

static void notify_state(struct emu_host *h)
{
	if (h->routine_cb)
		h->routine_cb(h->routine);
	if (h->state_cb)
		h->state_cb(h->state_cb_data);
}

static void kick(struct emu_host *h)
{
	if (h->kick)
		sd_event_source_set_enabled(h->kick, SD_EVENT_ONESHOT);
}

static void txn_finish(struct emu_txn *t, struct emu_txn_result *res)
{
	uint64_t now = now_usec();

	res->wait_usec = (t->handed_usec ? t->handed_usec : now) - t->submit_usec;
	res->latency_usec = t->handed_usec ? now - t->handed_usec : 0;
	if (t->done)
		t->done(res, t->userdata);
	free(t);
}

/* kvp_respond_to_host() for the transaction in flight, then back to READY
 * (or to INIT when the daemon is gone). */
static void finish_current(struct emu_host *h, struct emu_txn_result *res, enum host_state next)
{
	struct emu_txn *t = TAKE_PTR(h->cur);

	sd_event_source_set_enabled(h->deadline, SD_EVENT_OFF);
	h->state = next;
	if (h->debug)
		log_debug("host <- %s: %s%s%s", kvp_op_to_string(t->msg[0]),
			  hv_error_to_string(res->code), res->timeout ? " (deadline expired)" : "",
			  res->reset ? " (device closed)" : "");
	txn_finish(t, res);
	kick(h);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct emu_host *h = userdata;
	struct emu_txn_result res = { .code = HV_E_FAIL, .timeout = true };

	if (h->state != ST_USERSPACE_REQ || !h->cur)
		return 0;
	log_notice("no reply within %.3g s: the host records HV_E_FAIL",
		   (double)h->timeout_usec / 1e6);
	h->timeouts++;
	/* kvp_timeout_func: answer the host, state back to READY. An unread
	 * message stays queued in the device, as in the driver. */
	finish_current(h, &res, ST_READY);
	return 0;
}

static int arm_deadline(struct emu_host *h)
{
	return emu_timer_arm_in(h->deadline, h->timeout_usec);
}

/* kvp_send_key(): hand the oldest request to the daemon. */
static int on_kick(sd_event_source *s, void *userdata)
{
	struct emu_host *h = userdata;
	struct emu_txn *t;
	int r;

	if (h->state != ST_READY || h->cur || !h->queue_head)
		return 0;
	t = h->queue_head;
	h->queue_head = t->next;
	if (!h->queue_head)
		h->queue_tail = NULL;
	t->next = NULL;
	h->queued--;

	h->cur = t;
	h->state = ST_USERSPACE_REQ;
	t->handed_usec = now_usec();
	h->transactions++;
	r = arm_deadline(h);
	if (r < 0)
		log_warning_errno(r, "arming the deadline failed");
	if (h->debug)
		log_debug("host -> daemon: %s pool %u", kvp_op_to_string(t->msg[0]), t->msg[1]);
	r = emu_device_send(h->dev, t->msg, KVP_MSG_SIZE, NULL);
	if (r < 0) {
		struct emu_txn_result res = { .code = HV_E_FAIL, .send_failed = true };

		log_warning_errno(r, "cannot queue the request for the daemon, the host gets HV_E_FAIL");
		finish_current(h, &res, ST_READY);
	}
	return 0;
}

int emu_host_submit(struct emu_host *h, const uint8_t msg[KVP_MSG_SIZE], emu_txn_done_t done,
		    void *userdata, struct emu_txn **ret)
{
	struct emu_txn *t;

	if (h->stopping)
		return -ESHUTDOWN;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->host = h;
	t->done = done;
	t->userdata = userdata;
	t->submit_usec = now_usec();
	memcpy(t->msg, msg, KVP_MSG_SIZE);
	if (h->queue_tail)
		h->queue_tail->next = t;
	else
		h->queue_head = t;
	h->queue_tail = t;
	h->queued++;
	if (h->debug)
		log_debug("host: %s queued (%u waiting)%s", kvp_op_to_string(msg[0]), h->queued,
			  h->state == ST_INIT ? ", no daemon registered yet" : "");
	kick(h);
	if (ret)
		*ret = t;
	return 0;
}

bool emu_host_cancel(struct emu_host *h, struct emu_txn *t)
{
	struct emu_txn **pp, *prev = NULL;

	if (!t)
		return false;
	if (t == h->cur) {
		t->done = NULL;
		t->userdata = NULL;
		return false;
	}
	for (pp = &h->queue_head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != t)
			continue;
		*pp = t->next;
		if (h->queue_tail == t)
			h->queue_tail = prev;
		h->queued--;
		free(t);
		return true;
	}
	return false;
}

/* ---- the driver's side of the device ------------------------------------ */

/* kvp_register_done(): the daemon read the registration reply. */
static void on_register_read(void *userdata)
{
	struct emu_host *h = userdata;

	if (h->state != ST_INIT)
		return;
	h->state = ST_READY;
	log_info("daemon registered (%s, version \"%s\")",
		 h->mode == KVP_OP_REGISTER1 ? "REGISTER1" : "legacy REGISTER", h->version);
	notify_state(h);
	kick(h);
}

static void dev_opened(void *userdata)
{
	struct emu_host *h = userdata;

	h->opens++;
	log_info("device opened");
}

/* kvp_handle_handshake() */
static int handshake(struct emu_host *h, const uint8_t *msg)
{
	uint8_t reply[KVP_MSG_SIZE];
	uint8_t op = msg[0];
	int r;

	if (op != KVP_OP_REGISTER1 && op != KVP_OP_REGISTER) {
		log_notice("incompatible daemon: registration with operation %u refused (EINVAL)",
			   op);
		return -EINVAL;
	}
	h->mode = op;
	if (op == KVP_OP_REGISTER)
		log_notice("legacy daemon: IP injection functionality not available");
	r = kvp_msg_build_register(reply, op, h->version);
	if (r < 0)
		return log_error_errno(r, "building the registration reply failed");
	/* The driver ignores a failure here (reply already queued) and the
	 * write() still succeeds. */
	r = emu_device_send(h->dev, reply, sizeof(reply), on_register_read);
	if (r < 0)
		log_debug_errno(r, "registration reply not queued");
	return 0;
}

/* kvp_on_msg() */
static int dev_write(void *userdata, const uint8_t *msg, size_t len)
{
	struct emu_host *h = userdata;
	struct emu_txn_result res = { .code = HV_S_OK, .replied = true };

	if (len < KVP_MSG_SIZE)
		return -EINVAL;
	if (h->state == ST_INIT)
		return handshake(h, msg);
	if (h->state != ST_USERSPACE_REQ || !h->cur) {
		log_notice("spurious write from the daemon, no request outstanding (EINVAL)");
		return -EINVAL;
	}
	memcpy(res.reply, msg, KVP_MSG_SIZE);
	if (h->mode == KVP_OP_REGISTER1)
		res.code = kvp_msg_get_error(msg);
	else
		res.code = msg[LEGACY_KEY_OFFSET] == 0 ? HV_S_CONT : HV_S_OK;
	finish_current(h, &res, ST_READY);
	return 0;
}

/* hvt_reset() + kvp_on_reset() */
static void dev_released(void *userdata)
{
	struct emu_host *h = userdata;
	bool was_registered = h->state != ST_INIT;

	log_info("device closed%s", h->cur ? " with a request in flight: the host gets HV_E_FAIL" : "");
	h->closes++;
	if (h->cur) {
		struct emu_txn_result res = { .code = HV_E_FAIL, .reset = true };

		finish_current(h, &res, ST_INIT);
	}
	h->state = ST_INIT;
	h->mode = 0;
	if (was_registered)
		notify_state(h);
}

const struct emu_device_ops emu_host_device_ops = {
	.opened = dev_opened,
	.write = dev_write,
	.released = dev_released,
};

/* ---- life cycle ------------------------------------------------------------ */

int emu_host_new(sd_event *event, const struct emu_host_config *cfg, struct emu_host **ret)
{
	struct emu_host *h;
	int r;

	if (cfg->timeout_usec == 0)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->event = sd_event_ref(event);
	h->timeout_usec = cfg->timeout_usec;
	h->debug = cfg->debug;
	r = strscpy(h->version, sizeof(h->version), cfg->version ? cfg->version : KVP_DRIVER_VERSION);
	if (r < 0) {
		r = -ENAMETOOLONG;
		goto fail;
	}
	r = emu_add_timer_off(event, &h->deadline, on_deadline, h);
	if (r < 0)
		goto fail;
	r = emu_add_defer_off(event, &h->kick, on_kick, h);
	if (r < 0)
		goto fail;
	*ret = h;
	return 0;
fail:
	emu_host_free(h);
	return r;
}

void emu_host_attach_device(struct emu_host *h, struct emu_device *dev)
{
	h->dev = dev;
}

void emu_host_set_state_cb(struct emu_host *h, emu_host_state_cb cb, void *userdata)
{
	h->state_cb = cb;
	h->state_cb_data = userdata;
}

void emu_host_set_routine(struct emu_host *h, emu_host_state_cb cb,
			  void (*json)(const void *routine, struct json *j), void *routine)
{
	h->routine_cb = cb;
	h->routine_json = json;
	h->routine = routine;
}

void emu_host_get_status(const struct emu_host *h, struct emu_host_status *ret)
{
	*ret = (struct emu_host_status){
		.registered = h->state != ST_INIT,
		.mode = h->state != ST_INIT ? h->mode : 0,
		.version = h->version,
		.open = h->dev && emu_device_is_open(h->dev),
		.in_flight = h->cur != NULL,
		.unread = h->dev && emu_device_has_unread(h->dev),
		.timeout_usec = h->timeout_usec,
		.opens = h->opens,
		.transactions = h->transactions,
		.timeouts = h->timeouts,
		.closes = h->closes,
		.queued = h->queued,
		.routine_json = h->routine ? h->routine_json : NULL,
		.routine = h->routine,
	};
}

void emu_host_abort(struct emu_host *h)
{
	struct emu_txn_result res = { .code = HV_E_FAIL, .aborted = true };

	h->stopping = true;
	if (h->cur) {
		struct emu_txn *t = TAKE_PTR(h->cur);

		sd_event_source_set_enabled(h->deadline, SD_EVENT_OFF);
		h->state = ST_READY;
		txn_finish(t, &res);
	}
	while (h->queue_head) {
		struct emu_txn *t = h->queue_head;

		h->queue_head = t->next;
		if (!h->queue_head)
			h->queue_tail = NULL;
		h->queued--;
		txn_finish(t, &res);
	}
}

struct emu_host *emu_host_free(struct emu_host *h)
{
	if (!h)
		return NULL;
	emu_host_abort(h);
	sd_event_source_disable_unref(h->deadline);
	sd_event_source_disable_unref(h->kick);
	sd_event_unref(h->event);
	free(h);
	return NULL;
}

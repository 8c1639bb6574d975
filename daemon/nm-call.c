/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nm-call.c - one GLib/libnm call at a time under a deadline, on a private main context (NetworkManager module). */
#include "log.h"
#include "util.h"

/* after util.h: GLib #undefs and redefines MIN/MAX the same way */
#include <NetworkManager.h>

#include "nm-call.h"

static void nm_call_destroy(struct nm_call *c)
{
	g_clear_object(&c->cancel);
	g_clear_object(&c->source);
	g_clear_object(&c->result);
	g_free(c);
}

void nm_call_done(GObject *source, GAsyncResult *result, gpointer userdata)
{
	struct nm_call *c = userdata;

	if (c->abandoned) {
		nm_call_destroy(c);
		return;
	}
	c->source = source ? g_object_ref(source) : NULL;
	c->result = g_object_ref(result);
}

struct nm_call *nm_call_new(void)
{
	struct nm_call *c = g_new0(struct nm_call, 1);

	c->cancel = g_cancellable_new();
	return c;
}

void nm_call_free(struct nm_call *c)
{
	if (!c)
		return;
	if (!c->result) {
		c->abandoned = true;
		return;
	}
	nm_call_destroy(c);
}

void nm_call_freep(struct nm_call **c)
{
	nm_call_free(*c);
}

static gboolean on_expired(gpointer userdata)
{
	*(bool *)userdata = true;
	return G_SOURCE_REMOVE;
}

static gboolean on_tick(gpointer userdata)
{
	return G_SOURCE_CONTINUE; /* only wakes the context up */
}

bool nm_op_run(struct nm_op *op, bool (*ready)(void *), void *data, uint64_t until,
	       unsigned poll_msec)
{
	GSource *timer, *tick = NULL;
	bool expired = false;
	uint64_t now = now_usec();

	if (ready(data))
		return true;
	if (now >= until)
		return false;
	timer = g_timeout_source_new((guint)MIN((until - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC,
						(uint64_t)G_MAXUINT));
	g_source_set_callback(timer, on_expired, &expired, NULL);
	g_source_attach(timer, op->ctx);
	if (poll_msec) {
		tick = g_timeout_source_new(poll_msec);
		g_source_set_callback(tick, on_tick, NULL, NULL);
		g_source_attach(tick, op->ctx);
	}
	while (!expired && !ready(data))
		g_main_context_iteration(op->ctx, TRUE);
	g_source_destroy(timer);
	g_source_unref(timer);
	if (tick) {
		g_source_destroy(tick);
		g_source_unref(tick);
	}
	return ready(data);
}

static bool call_finished(void *p)
{
	return ((struct nm_call *)p)->result != NULL;
}

int nm_call_wait(struct nm_op *op, struct nm_call *c, uint64_t until)
{
	if (nm_op_run(op, call_finished, c, until, 0))
		return 0;
	g_cancellable_cancel(c->cancel);
	/* a cancelled D-Bus call completes at once; collect it if it does */
	nm_op_run(op, call_finished, c, now_usec() + 200 * USEC_PER_MSEC, 0);
	return -ETIMEDOUT;
}

/* GError -> negative errno: the edge of the module, as nlx_errno() is libnl's. */
int nm_gerror_errno(const GError *e)
{
	if (!e)
		return -ETIMEDOUT; /* nm_call_wait gave up: no GError */
	if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
	    g_error_matches(e, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
	    g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT) ||
	    g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY))
		return -ETIMEDOUT;
	if (g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED) ||
	    g_error_matches(e, NM_MANAGER_ERROR, NM_MANAGER_ERROR_PERMISSION_DENIED) ||
	    g_error_matches(e, NM_SETTINGS_ERROR, NM_SETTINGS_ERROR_PERMISSION_DENIED))
		return -EPERM;
	if (g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
	    g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
	    g_error_matches(e, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
	    g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
		return -ECONNREFUSED;
	if (e->domain == NM_CONNECTION_ERROR)
		return -EINVAL;
	return -EIO;
}

int nm_call_fail(const struct adapter *a, const char *what, const GError *e)
{
	int r = nm_gerror_errno(e);

	return log_error_errno(r, "%s: NetworkManager: %s failed: %s", a->ifname, what,
			       e ? e->message : "no answer in time");
}

void nm_op_enter(struct nm_op *op)
{
	if (!op->entered) {
		g_main_context_push_thread_default(op->ctx);
		op->entered = true;
	}
	/* catch up with what NetworkManager announced since the last step */
	while (g_main_context_iteration(op->ctx, FALSE))
		;
}

void nm_op_leave(struct nm_op *op)
{
	if (op->entered) {
		g_main_context_pop_thread_default(op->ctx);
		op->entered = false;
	}
}

static void on_gone(gpointer data, GObject *was)
{
	*(bool *)data = true;
}

static bool flag_set(void *p)
{
	return *(bool *)p;
}

/* Drops the client and the bus connection and waits (briefly) until libnm
 * no longer needs the context, so that nothing of it is left for later. */
void nm_op_end(struct nm_op *op)
{
	if (!op->ctx)
		return;
	nm_op_enter(op);
	if (op->client) {
		GObject *busy = nm_client_get_context_busy_watcher(op->client);
		bool gone = false;

		g_object_weak_ref(busy, on_gone, &gone);
		g_clear_object(&op->client);
		if (!nm_op_run(op, flag_set, &gone, now_usec() + USEC_PER_SEC, 0)) {
			g_object_weak_unref(busy, on_gone, &gone);
			log_debug("libnm still held its context after 1 s; leaving it behind");
		}
	}
	if (op->bus) {
		g_dbus_connection_close_sync(op->bus, NULL, NULL);
		g_clear_object(&op->bus);
	}
	while (g_main_context_iteration(op->ctx, FALSE))
		;
	nm_op_leave(op);
	g_main_context_unref(op->ctx);
	op->ctx = NULL;
}

/* A private context, a private connection to the system bus (never the
 * shared one: GLib would raise SIGTERM in the daemon when that one closes)
 * and an NMClient on both. The context stays pushed: nm_op_leave/nm_op_end. */
int nm_op_begin(struct nm_op *op, const struct adapter *a, uint64_t until)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *address = NULL;
	int r;

	memset(op, 0, sizeof(*op));
	op->ctx = g_main_context_new();
	nm_op_enter(op);

	address = g_dbus_address_get_for_bus_sync(G_BUS_TYPE_SYSTEM, NULL, &err);
	if (!address) {
		r = nm_call_fail(a, "finding the system bus", err);
		goto fail;
	}
	{
		_cleanup_nm_call_ struct nm_call *c = nm_call_new();

		g_dbus_connection_new_for_address(address,
						  G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
							  G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
						  NULL, c->cancel, nm_call_done, c);
		r = nm_call_wait(op, c, until);
		if (r == 0)
			op->bus = g_dbus_connection_new_for_address_finish(c->result, &err);
		if (!op->bus) {
			r = nm_call_fail(a, "connecting to the system bus", err);
			goto fail;
		}
	}
	{
		_cleanup_nm_call_ struct nm_call *c = nm_call_new();
		GObject *client = NULL;

		g_async_initable_new_async(NM_TYPE_CLIENT, G_PRIORITY_DEFAULT, c->cancel,
					   nm_call_done, c, NM_CLIENT_DBUS_CONNECTION, op->bus, NULL);
		r = nm_call_wait(op, c, until);
		if (r == 0)
			client = g_async_initable_new_finish(G_ASYNC_INITABLE(c->source), c->result,
							     &err);
		if (!client) {
			r = nm_call_fail(a, "reading its state (NMClient)", err);
			goto fail;
		}
		op->client = NM_CLIENT(client);
	}
	return 0;
fail:
	nm_op_end(op);
	return r;
}

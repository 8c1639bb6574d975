/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-ctl-server.c - the control socket: one connection per command, its life cycle, the answer. */
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "emu-cmd.h"
#include "emu-ctl.h"
#include "emu-event.h"
#include "log.h"

#define CTL_MAX_ARGS 1024

struct ctl_conn {
	struct emu_ctl_server *srv;
	int fd;
	sd_event_source *io;
	bool got_request;
	/* the command running for this connection, its request and --wait */
	struct ctl_cmd *cmd;
	struct emu_txn *txn;
	sd_event_source *wait_timer;
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
		size_t chunk = MIN((size_t)EMU_CTL_CHUNK, c->out_len - c->out_off);

		n = send(c->fd, c->out + c->out_off, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : negative_errno();
		c->out_off += (size_t)n;
	}
	return 1;
}

/* The command is over: forget its request (a queued one is dropped) and
 * its timer. */
static void conn_end_cmd(struct ctl_conn *c)
{
	if (c->txn)
		emu_host_cancel(c->srv->host, c->txn);
	c->txn = NULL;
	c->wait_timer = sd_event_source_disable_unref(c->wait_timer);
	c->cmd = ctl_cmd_free(c->cmd);
}

/* Finish the connection's command with an exit status and a document. */
static void conn_answer(struct ctl_conn *c, int status, char *doc, size_t len)
{
	int r;

	conn_end_cmd(c);
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

/* status and wait-registered */
static void answer_status(struct ctl_conn *c)
{
	struct emu_host_status st;
	struct json j;

	emu_host_get_status(c->srv->host, &st);
	json_init(&j);
	c->cmd->def->status(c->cmd, &st, &j);
	answer_json(c, EMU_CTL_OK, &j);
}

/* ---- command life cycle ---------------------------------------------------- */

static int on_wait_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct ctl_conn *c = userdata;
	const char *name = c->cmd->def->name;
	struct emu_host_status st;
	const char *why;
	bool was_queued = false;

	emu_host_get_status(c->srv->host, &st);
	if (c->txn) {
		was_queued = emu_host_cancel(c->srv->host, c->txn);
		c->txn = NULL;
	}
	if (!st.registered)
		why = "no daemon registered";
	else if (was_queued)
		why = "the request was still queued behind others when --wait expired";
	else
		why = "no reply from the daemon within --wait";
	log_info("%s: %s", name, why);
	answer_error(c, EMU_CTL_FAILED, name, why);
	return 0;
}

static int conn_arm_wait(struct ctl_conn *c)
{
	int r;

	if (!c->wait_timer) {
		r = emu_add_timer_off(c->srv->event, &c->wait_timer, on_wait_timeout, c);
		if (r < 0)
			return r;
	}
	return emu_timer_arm_in(c->wait_timer, c->cmd->wait_usec);
}

static void on_txn_done(const struct emu_txn_result *res, void *userdata);

/* Hands cmd->msg to the host, to wait its turn and the daemon's reply. */
static void conn_submit(struct ctl_conn *c)
{
	int r;

	r = emu_host_submit(c->srv->host, c->cmd->msg, on_txn_done, c, &c->txn);
	if (r < 0) {
		c->txn = NULL;
		answer_error(c, EMU_CTL_FAILED, c->cmd->def->name,
			     r == -ESHUTDOWN ? "the emulator is stopping" : strerror(-r));
		return;
	}
	r = conn_arm_wait(c);
	if (r < 0)
		log_warning_errno(r, "arming the --wait timer failed");
}

static void on_txn_done(const struct emu_txn_result *res, void *userdata)
{
	struct ctl_conn *c = userdata;
	struct json j;
	int r;

	c->txn = NULL;
	if (c->wait_timer)
		sd_event_source_set_enabled(c->wait_timer, SD_EVENT_OFF);
	json_init(&j);
	r = c->cmd->def->done(c->cmd, res, &j);
	if (r == 0) {
		answer_json(c, EMU_CTL_OK, &j);
		return;
	}
	json_done(&j);
	if (r > 0)
		conn_submit(c);
	else
		answer_error(c, EMU_CTL_FAILED, c->cmd->def->name, strerror(-r));
}

static void conn_start(struct ctl_conn *c)
{
	const struct cmd_def *def = c->cmd->def;
	struct emu_host_status st;
	int r;

	if (!def->status) {
		conn_submit(c);
		return;
	}
	emu_host_get_status(c->srv->host, &st);
	if (!def->wait_registered || st.registered) {
		answer_status(c);
		return;
	}
	r = conn_arm_wait(c);
	if (r < 0)
		answer_error(c, EMU_CTL_FAILED, def->name, strerror(-r));
}

/* A daemon registered: wait-registered commands are answered. */
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
		if (c->cmd && c->cmd->def->wait_registered)
			answer_status(c);
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
	conn_end_cmd(c);
	sd_event_source_disable_unref(c->io);
	safe_close(c->fd);
	free(c->out);
	free(c);
}

/* The request is the arguments, each ending with a NUL. */
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

	cmd = ctl_cmd_parse(argc, argv, &err);
	if (!cmd) {
		log_debug("control: usage error: %s", err ? err : "out of memory");
		answer_error(c, EMU_CTL_USAGE, NULL, err);
		return;
	}
	c->cmd = cmd;
	log_debug("control: %s", cmd->def->name);
	conn_start(c);
}

/* The one request packet of the connection. */
static void conn_read_request(struct ctl_conn *c)
{
	_cleanup_free_ char *buf = malloc(EMU_CTL_MAX_REQUEST);
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (!buf) {
		conn_free(c);
		return;
	}
	iov = (struct iovec){ buf, EMU_CTL_MAX_REQUEST };
	n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(c);
		return;
	}
	c->got_request = true;
	if (mh.msg_flags & MSG_TRUNC) {
		answer_error(c, EMU_CTL_USAGE, NULL, "request too large");
		return;
	}
	conn_handle_request(c, buf, (size_t)n);
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct ctl_conn *c = userdata;
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
		conn_read_request(c);
		return 0;
	}

	/* Anything after the request is ignored; EOF means the client left. */
	n = recv(fd, drain, sizeof(drain), MSG_DONTWAIT);
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

/* ---- the server ------------------------------------------------------------------ */

/* Binds path; a stale socket file is replaced, a live one is not. */
static int server_listen(struct emu_ctl_server *s, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_error_errno(-ENAMETOOLONG, "control socket path %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);

	if (lstat(path, &st) == 0) {
		_cleanup_close_ int probe = -1;

		if (!S_ISSOCK(st.st_mode))
			return log_error_errno(-EEXIST, "%s exists and is not a socket", path);
		probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return log_error_errno(-EADDRINUSE, "another emulator listens on %s", path);
		unlink(path); /* stale */
	}

	s->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return log_error_errno(negative_errno(), "socket()");
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return log_error_errno(negative_errno(), "bind(%s)", path);
	s->path = strdup(path);
	if (!s->path)
		return -ENOMEM;
	if (chmod(path, 0600) < 0 || listen(s->fd, 64) < 0)
		return log_error_errno(negative_errno(), "setting up %s", path);
	return 0;
}

int emu_ctl_server_new(sd_event *event, const char *path, struct emu_host *host,
		       struct emu_ctl_server **ret)
{
	struct emu_ctl_server *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->event = sd_event_ref(event);
	s->host = host;
	s->fd = -1;

	r = server_listen(s, path);
	if (r < 0)
		goto fail;
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

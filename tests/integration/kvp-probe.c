/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kvp-probe.c - a raw /dev/vmbus/hv_kvp client that checks the device semantics one by one. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "hv-error.h"
#include "kvp-msg.h"
#include "kvp-proto.h"
#include "util.h"

/*
 * Each subcommand performs one scenario against a device path and prints
 * what it observed, one line per step. Exit status: 0 when every observation
 * matched the kernel's documented behaviour (PROTOCOL.md §2.3-2.5), 1 when
 * one did not, 2 on usage errors. kvp-probe stands in for a daemon in the
 * emulator's fidelity tests, so it never interprets more than it must.
 */

#define LEGACY_KEY_OFFSET offsetof(struct hv_kvp_msg, body.kvp_enum_data.data.key)

static const char *prog = "kvp-probe";
static int failures;

struct probe_opts {
	bool legacy;
	unsigned long count;
	uint32_t reply_code;
	const char *value;
	unsigned long enum_items;
	struct kvp_ip_fields ip;
	bool have_ip;
	double delay;
	double timeout;
	const char *ready_file;
	const char *expect_version;
	unsigned long size;
};

_printf_(1, 2) static void ok(const char *fmt, ...)
{
	va_list ap;

	printf("ok: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

_printf_(1, 2) static void bad(const char *fmt, ...)
{
	va_list ap;

	failures++;
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static const char *errno_name(int e)
{
	switch (e) {
	case 0:
		return "success";
	case EBUSY:
		return "EBUSY";
	case EINVAL:
		return "EINVAL";
	case EINTR:
		return "EINTR";
	case EBADF:
		return "EBADF";
	case EAGAIN:
		return "EAGAIN";
	case ENOENT:
		return "ENOENT";
	case ENOTCONN:
		return "ENOTCONN";
	case EFAULT:
		return "EFAULT";
	default:
		return strerror(e);
	}
}

static void sleep_sec(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int open_dev(const char *path)
{
	/* exactly what the upstream daemon does */
	return open(path, O_RDWR | O_CLOEXEC);
}

/* write() of len bytes; returns the byte count or -errno */
static ssize_t xwrite(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

/* poll for POLLIN; 1 ready, 0 timeout, -errno */
static int wait_in(int fd, double timeout)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, timeout < 0 ? -1 : (int)(timeout * 1000));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n > 0 && (p.revents & POLLIN) ? 1 : 0;
}

/* Wait (bounded) for one message and read it whole. */
static int read_msg(int fd, uint8_t *buf, double timeout)
{
	ssize_t n;
	int r;

	r = wait_in(fd, timeout);
	if (r < 0)
		return r;
	if (r == 0)
		return -ETIMEDOUT;
	n = read(fd, buf, KVP_MSG_SIZE);
	if (n < 0)
		return -errno;
	if (n != KVP_MSG_SIZE)
		return -EIO;
	return 0;
}

/* Write REGISTER1 (or legacy REGISTER), read the driver's reply. */
static int do_register(int fd, bool legacy, double timeout, char *version, size_t version_size)
{
	uint8_t op = legacy ? KVP_OP_REGISTER : KVP_OP_REGISTER1;
	uint8_t msg[KVP_MSG_SIZE];
	ssize_t n;
	int r;

	kvp_msg_build_register(msg, op, NULL);
	n = xwrite(fd, msg, sizeof(msg));
	if (n != KVP_MSG_SIZE) {
		bad("write(REGISTER%s) = %s", legacy ? "" : "1",
		    n < 0 ? errno_name((int)-n) : "short");
		return n < 0 ? (int)n : -EIO;
	}
	r = read_msg(fd, msg, timeout);
	if (r < 0) {
		bad("reading the registration reply: %s", errno_name(-r));
		return r;
	}
	if (msg[0] != op) {
		bad("registration reply has op %u, expected %u", msg[0], op);
		return -EPROTO;
	}
	if (version) {
		const char *v = (const char *)msg + offsetof(struct hv_kvp_msg, body.kvp_register.version);

		snprintf(version, version_size, "%.*s", (int)strnlen(v, 512), v);
	}
	return 0;
}

static void touch(const char *path)
{
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

static void print_request(unsigned long n, const uint8_t *msg);

/* open_dev(); a failure is reported. Returns the fd or -1. */
static int open_or_bad(const char *path)
{
	int fd = open_dev(path);

	if (fd < 0)
		bad("open: %s", errno_name(errno));
	return fd;
}

/* open_or_bad(), then do_register(). Returns the fd or -1 (reported). */
static int open_registered(const char *path, bool legacy, double timeout, char *version,
			   size_t version_size)
{
	int fd = open_or_bad(path);

	if (fd < 0)
		return -1;
	if (do_register(fd, legacy, timeout, version, version_size) < 0)
		return safe_close(fd);
	return fd;
}

/* Tells the test we are ready, then waits for the host's first request
 * and prints it. */
static int first_request(int fd, const struct probe_opts *o, uint8_t *msg)
{
	int r;

	touch(o->ready_file);
	r = read_msg(fd, msg, o->timeout);
	if (r < 0) {
		bad("no request arrived: %s", errno_name(-r));
		return r;
	}
	print_request(1, msg);
	return 0;
}

/* ---- scenarios ----------------------------------------------------------- */

static int cmd_open_twice(const char *path, const struct probe_opts *o)
{
	int a, b, c;

	a = open_dev(path);
	if (a < 0) {
		bad("first open: %s", errno_name(errno));
		return 1;
	}
	ok("first open succeeds");
	b = open_dev(path);
	if (b >= 0) {
		bad("second open succeeded, expected EBUSY");
		close(b);
	} else if (errno == EBUSY) {
		ok("second open: EBUSY");
	} else {
		bad("second open: %s, expected EBUSY", errno_name(errno));
	}
	close(a);
	c = open_dev(path);
	if (c < 0)
		bad("open after close: %s", errno_name(errno));
	else
		ok("open after close succeeds");
	safe_close(c);
	return failures ? 1 : 0;
}

static int cmd_short_read(const char *path, const struct probe_opts *o)
{
	_cleanup_close_ int fd = open_or_bad(path);
	uint8_t msg[KVP_MSG_SIZE];
	size_t size = o->size ? o->size : 100;
	ssize_t n;

	if (fd < 0)
		return 1;
	kvp_msg_build_register(msg, KVP_OP_REGISTER1, NULL);
	if (xwrite(fd, msg, sizeof(msg)) != KVP_MSG_SIZE) {
		bad("write(REGISTER1) failed");
		return 1;
	}
	if (size > sizeof(msg))
		size = sizeof(msg);
	if (wait_in(fd, o->timeout) != 1) {
		bad("no registration reply to read");
		return 1;
	}
	n = read(fd, msg, size);
	if (n < 0 && errno == EINVAL)
		ok("read with a %zu-byte buffer: EINVAL", size);
	else
		bad("read with a %zu-byte buffer: %s, expected EINVAL",
		    size, n < 0 ? errno_name(errno) : "data");
	n = read(fd, msg, sizeof(msg));
	if (n == KVP_MSG_SIZE && msg[0] == KVP_OP_REGISTER1)
		ok("the message stayed queued: a full read returns it (7432 bytes, op 100)");
	else
		bad("full read after the short one: %zd bytes (%s)", n,
		    n < 0 ? errno_name(errno) : "unexpected");
	return failures ? 1 : 0;
}

static int cmd_bad_write(const char *path, const struct probe_opts *o, unsigned long size)
{
	_cleanup_close_ int fd = open_dev(path);
	_cleanup_free_ uint8_t *buf = calloc(1, size ? size : 1);
	ssize_t n;

	if (fd < 0 || !buf) {
		bad("open: %s", errno_name(errno));
		return 1;
	}
	buf[0] = KVP_OP_REGISTER1;
	n = xwrite(fd, buf, size);
	if (n == -EINVAL)
		ok("write of %lu bytes: EINVAL", size);
	else
		bad("write of %lu bytes: %s, expected EINVAL", size,
		    n < 0 ? errno_name((int)-n) : "accepted");
	return failures ? 1 : 0;
}

static int cmd_bad_op(const char *path, const struct probe_opts *o, unsigned long op)
{
	_cleanup_close_ int fd = open_or_bad(path);
	uint8_t msg[KVP_MSG_SIZE];
	ssize_t n;

	if (fd < 0)
		return 1;
	kvp_msg_build_register(msg, (uint8_t)op, NULL);
	n = xwrite(fd, msg, sizeof(msg));
	if (n == -EINVAL)
		ok("registration with op %lu: EINVAL", op);
	else
		bad("registration with op %lu: %s, expected EINVAL", op,
		    n < 0 ? errno_name((int)-n) : "accepted");
	return failures ? 1 : 0;
}

static int cmd_register(const char *path, const struct probe_opts *o)
{
	const char *want = o->expect_version ? o->expect_version : KVP_DRIVER_VERSION;
	char version[600];
	_cleanup_close_ int fd = open_registered(path, o->legacy, o->timeout, version,
						 sizeof(version));

	if (fd < 0)
		return 1;
	printf("registered: op=%u version=%s\n", o->legacy ? KVP_OP_REGISTER : KVP_OP_REGISTER1,
	       version);
	if (streq(version, want))
		ok("reply op %u, version \"%s\"", o->legacy ? KVP_OP_REGISTER : KVP_OP_REGISTER1,
		   version);
	else
		bad("reply version \"%s\", expected \"%s\"", version, want);
	return failures ? 1 : 0;
}

static void print_request(unsigned long n, const uint8_t *msg)
{
	struct kvp_request req;
	const char *reason = NULL;

	if (kvp_msg_decode(msg, KVP_MSG_SIZE, false, &req, &reason) < 0) {
		printf("request %lu: op=%u pool=%u undecodable: %s\n", n, msg[0], msg[1],
		       reason ? reason : "?");
		return;
	}
	printf("request %lu: op=%s pool=%u", n, kvp_op_to_string(req.op), req.pool);
	switch (req.op) {
	case KVP_OP_GET:
		printf(" key_len=%zu key=%s", req.get.key_len, req.get.key);
		break;
	case KVP_OP_DELETE:
		printf(" key_len=%zu key=%s", req.del.key_len, req.del.key);
		break;
	case KVP_OP_SET:
		printf(" key_len=%zu value_len=%zu value_type=%" PRIu32 " key=%s value=%s",
		       req.set.key_len, req.set.value_len, req.set.value_type, req.set.key,
		       req.set.value);
		break;
	case KVP_OP_ENUMERATE:
		printf(" index=%" PRIu32, req.enumerate.index);
		break;
	case KVP_OP_GET_IP_INFO:
	case KVP_OP_SET_IP_INFO:
		printf(" adapter_id=%s addr_family=%u dhcp=%u ip=%s subnet=%s gw=%s dns=%s",
		       req.ip.adapter_id, req.ip.addr_family, req.ip.dhcp_enabled, req.ip.ip_addr,
		       req.ip.sub_net, req.ip.gate_way, req.ip.dns_addr);
		break;
	default:
		break;
	}
	printf("\n");
	fflush(stdout);
}

/* The reply a scripted daemon writes back: the request buffer with the
 * code in front, plus whatever data the options asked for. */
static void make_reply(uint8_t *msg, const struct probe_opts *o)
{
	uint32_t code = o->reply_code;
	uint8_t op = msg[0];

	if (code == HV_S_OK) {
		if (op == KVP_OP_ENUMERATE && o->enum_items > 0) {
			uint32_t idx;
			char key[32], value[32];

			memcpy(&idx, msg + offsetof(struct hv_kvp_msg, body.kvp_enum_data.index),
			       sizeof(idx));
			if (idx < o->enum_items) {
				snprintf(key, sizeof(key), "key%" PRIu32, idx);
				snprintf(value, sizeof(value), "value%" PRIu32, idx);
				kvp_msg_encode_enumerate_reply(msg, key, value);
			} else {
				code = HV_S_CONT;
			}
		} else if (op == KVP_OP_GET && o->value) {
			struct kvp_request req;

			if (kvp_msg_decode(msg, KVP_MSG_SIZE, false, &req, NULL) == 0)
				kvp_msg_encode_get_reply(msg, req.get.key, o->value);
		} else if (op == KVP_OP_GET_IP_INFO && o->have_ip) {
			kvp_msg_encode_ip_reply(msg, &o->ip);
		}
	}
	if (o->legacy) {
		/* a legacy daemon reports failure with an empty key */
		if (code != HV_S_OK)
			msg[LEGACY_KEY_OFFSET] = 0;
		else if (msg[LEGACY_KEY_OFFSET] == 0)
			msg[LEGACY_KEY_OFFSET] = 'x';
	} else {
		kvp_msg_set_error(msg, code);
	}
}

static int cmd_serve(const char *path, const struct probe_opts *o)
{
	uint8_t msg[KVP_MSG_SIZE];
	char version[600];
	_cleanup_close_ int fd = open_registered(path, o->legacy, o->timeout, version,
						 sizeof(version));
	ssize_t n;
	int r;

	if (fd < 0)
		return 1;
	printf("registered: version=%s\n", version);
	fflush(stdout);
	touch(o->ready_file);
	for (unsigned long i = 1; i <= o->count; i++) {
		r = read_msg(fd, msg, o->timeout);
		if (r < 0) {
			bad("request %lu: %s", i, r == -ETIMEDOUT ? "none arrived" : errno_name(-r));
			return 1;
		}
		print_request(i, msg);
		make_reply(msg, o);
		sleep_sec(o->delay);
		n = xwrite(fd, msg, sizeof(msg));
		if (n != KVP_MSG_SIZE) {
			bad("reply %lu: write %s", i, n < 0 ? errno_name((int)-n) : "short");
			return 1;
		}
	}
	ok("answered %lu request(s) with %s", o->count, hv_error_to_string(o->reply_code));
	return 0;
}

static int cmd_late_reply(const char *path, const struct probe_opts *o)
{
	_cleanup_close_ int fd = open_registered(path, false, o->timeout, NULL, 0);
	uint8_t msg[KVP_MSG_SIZE];
	ssize_t n;

	if (fd < 0 || first_request(fd, o, msg) < 0)
		return 1;
	sleep_sec(o->delay);
	kvp_msg_set_error(msg, HV_S_OK);
	n = xwrite(fd, msg, sizeof(msg));
	if (n == -EINVAL)
		ok("reply after %.3g s: EINVAL", o->delay);
	else
		bad("reply after %.3g s: %s, expected EINVAL", o->delay,
		    n < 0 ? errno_name((int)-n) : "accepted");
	return failures ? 1 : 0;
}

static int cmd_spurious(const char *path, const struct probe_opts *o)
{
	_cleanup_close_ int fd = open_registered(path, o->legacy, o->timeout, NULL, 0);
	uint8_t msg[KVP_MSG_SIZE] = { 0 };
	ssize_t n;

	if (fd < 0)
		return 1;
	n = xwrite(fd, msg, sizeof(msg));
	if (n == -EINVAL)
		ok("reply with no request outstanding: EINVAL");
	else
		bad("reply with no request outstanding: %s, expected EINVAL",
		    n < 0 ? errno_name((int)-n) : "accepted");
	kvp_msg_build_register(msg, KVP_OP_REGISTER1, NULL);
	n = xwrite(fd, msg, sizeof(msg));
	if (n == -EINVAL)
		ok("a second REGISTER1 after registration: EINVAL");
	else
		bad("a second REGISTER1 after registration: %s, expected EINVAL",
		    n < 0 ? errno_name((int)-n) : "accepted");
	return failures ? 1 : 0;
}

static int cmd_close_in_flight(const char *path, const struct probe_opts *o)
{
	uint8_t msg[KVP_MSG_SIZE];
	char version[600];
	ssize_t n;
	int fd;

	fd = open_registered(path, false, o->timeout, NULL, 0);
	if (fd < 0)
		return 1;
	if (first_request(fd, o, msg) < 0) {
		close(fd);
		return 1;
	}
	close(fd);
	ok("closed the device with the request unanswered");

	fd = open_dev(path);
	if (fd < 0) {
		bad("reopen: %s", errno_name(errno));
		return 1;
	}
	memset(msg, 0, sizeof(msg)); /* a reply (op byte 0), not a registration */
	n = xwrite(fd, msg, sizeof(msg));
	if (n == -EINVAL)
		ok("after reopening, a non-registration write: EINVAL (must register again)");
	else
		bad("after reopening, a non-registration write: %s, expected EINVAL",
		    n < 0 ? errno_name((int)-n) : "accepted");
	if (do_register(fd, false, o->timeout, version, sizeof(version)) == 0)
		ok("registered again (version %s)", version);
	close(fd);
	return failures ? 1 : 0;
}

static int cmd_poll(const char *path, const struct probe_opts *o)
{
	_cleanup_close_ int fd = open_or_bad(path);
	uint8_t msg[KVP_MSG_SIZE];
	ssize_t n;
	int r;

	if (fd < 0)
		return 1;
	r = wait_in(fd, 0.3);
	if (r == 0)
		ok("poll before registering: nothing to read (timeout)");
	else
		bad("poll before registering: %s", r > 0 ? "POLLIN" : errno_name(-r));
	kvp_msg_build_register(msg, KVP_OP_REGISTER1, NULL);
	if (xwrite(fd, msg, sizeof(msg)) != KVP_MSG_SIZE) {
		bad("write(REGISTER1) failed");
		return 1;
	}
	r = wait_in(fd, 0);
	if (r == 1)
		ok("poll after REGISTER1: POLLIN at once (the driver's reply is queued)");
	else
		bad("poll after REGISTER1: %s", r == 0 ? "not readable" : errno_name(-r));
	n = read(fd, msg, sizeof(msg));
	if (n != KVP_MSG_SIZE || msg[0] != KVP_OP_REGISTER1) {
		bad("registration reply: %zd bytes", n);
		return 1;
	}
	r = wait_in(fd, 0.3);
	if (r == 0)
		ok("poll with nothing queued: timeout");
	else
		bad("poll with nothing queued: %s", r > 0 ? "POLLIN" : errno_name(-r));
	touch(o->ready_file);
	r = wait_in(fd, o->timeout);
	if (r == 1)
		ok("poll while a host request arrives: POLLIN");
	else {
		bad("poll while a host request arrives: %s", r == 0 ? "timeout" : errno_name(-r));
		return 1;
	}
	n = read(fd, msg, sizeof(msg));
	if (n != KVP_MSG_SIZE) {
		bad("reading the request: %zd", n);
		return 1;
	}
	print_request(1, msg);
	kvp_msg_set_error(msg, HV_S_OK);
	if (xwrite(fd, msg, sizeof(msg)) != KVP_MSG_SIZE)
		bad("reply rejected");
	r = wait_in(fd, 0);
	if (r == 0)
		ok("poll after the request was read: not readable");
	else
		bad("poll after the request was read: %s", r > 0 ? "POLLIN" : errno_name(-r));
	return failures ? 1 : 0;
}

static void on_alarm(int sig)
{
}

static int cmd_read_signal(const char *path, const struct probe_opts *o)
{
	_cleanup_close_ int fd = open_registered(path, false, o->timeout, NULL, 0);
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
	uint8_t msg[KVP_MSG_SIZE];
	ssize_t n;

	if (fd < 0)
		return 1;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	n = read(fd, msg, sizeof(msg));
	alarm(0);
	if (n < 0 && errno == EINTR)
		ok("a blocked read() interrupted by a signal: EINTR");
	else
		bad("a blocked read() interrupted by a signal: %s, expected EINTR",
		    n < 0 ? errno_name(errno) : "data");
	return failures ? 1 : 0;
}

/* ---- command line -------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s SCENARIO PATH [ARG] [OPTIONS]\n"
		"\n"
		"Scenarios (exit 0 when the device behaved as the kernel's does):\n"
		"  open-twice PATH        second open() fails with EBUSY; reopen after close works\n"
		"  short-read PATH        REGISTER1, then read(--size, default 100) -> EINVAL, and\n"
		"                         the reply is still there for a full read\n"
		"  bad-write PATH SIZE    a write of SIZE bytes (not 7432) -> EINVAL\n"
		"  bad-op PATH OP         registration with operation OP -> EINVAL\n"
		"  register PATH          REGISTER1 (or --legacy REGISTER), print op and version;\n"
		"                         checks the version against --expect-version (\"3.1\")\n"
		"  serve PATH             register, answer --count requests (default 1) with\n"
		"                         --reply-code; prints each request\n"
		"  late-reply PATH        register, read one request, sleep --delay, reply -> EINVAL\n"
		"  spurious PATH          register, reply with nothing outstanding -> EINVAL\n"
		"  close-in-flight PATH   register, read one request, close; reopen must register\n"
		"  poll PATH              poll() readiness before/after messages (touch\n"
		"                         --ready-file, then a host request must make it POLLIN)\n"
		"  read-signal PATH       a blocked read() gets EINTR on a signal\n"
		"\n"
		"Options:\n"
		"  --legacy               use KVP_OP_REGISTER (4) instead of REGISTER1 (100)\n"
		"  --count N              serve: number of requests to answer\n"
		"  --reply-code X         serve: HV code (number, 0x..., or HV_S_OK, HV_E_FAIL,\n"
		"                         HV_S_CONT, HV_INVALIDARG, HV_GUID_NOTFOUND...)\n"
		"  --value V              serve: GET replies carry this value\n"
		"  --enum-items N         serve: ENUMERATE index < N answers keyI/valueI, else HV_S_CONT\n"
		"  --ip-addr S --sub-net S --gate-way S --dns S --dhcp\n"
		"                         serve: GET_IP_INFO reply fields\n"
		"  --delay SEC            pause before each reply\n"
		"  --timeout SEC          how long to wait for a message (default 10)\n"
		"  --ready-file PATH      created once the scenario is ready for a host request\n"
		"  --expect-version STR   register: the version the reply must carry\n"
		"  --size N               short-read: buffer size\n",
		prog);
}

static int parse_code(const char *s, uint32_t *ret)
{
	static const uint32_t codes[] = { HV_S_OK,
					  HV_E_FAIL,
					  HV_S_CONT,
					  HV_ERROR_NOT_SUPPORTED,
					  HV_ERROR_MACHINE_LOCKED,
					  HV_ERROR_DEVICE_NOT_CONNECTED,
					  HV_INVALIDARG,
					  HV_GUID_NOTFOUND,
					  HV_ERROR_ALREADY_EXISTS,
					  HV_ERROR_DISK_FULL };
	unsigned long long v;
	char *end;

	for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
		if (streq(s, hv_error_to_string(codes[i]))) {
			*ret = codes[i];
			return 0;
		}
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_LEGACY = 0x100,
		OPT_COUNT,
		OPT_REPLY_CODE,
		OPT_VALUE,
		OPT_ENUM_ITEMS,
		OPT_IP,
		OPT_SUBNET,
		OPT_GW,
		OPT_DNS,
		OPT_DHCP,
		OPT_DELAY,
		OPT_TIMEOUT,
		OPT_READY,
		OPT_EXPECT_VERSION,
		OPT_SIZE,
	};
	static const struct option opts[] = {
		{ "legacy", no_argument, NULL, OPT_LEGACY },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "reply-code", required_argument, NULL, OPT_REPLY_CODE },
		{ "value", required_argument, NULL, OPT_VALUE },
		{ "enum-items", required_argument, NULL, OPT_ENUM_ITEMS },
		{ "ip-addr", required_argument, NULL, OPT_IP },
		{ "sub-net", required_argument, NULL, OPT_SUBNET },
		{ "gate-way", required_argument, NULL, OPT_GW },
		{ "dns", required_argument, NULL, OPT_DNS },
		{ "dhcp", no_argument, NULL, OPT_DHCP },
		{ "delay", required_argument, NULL, OPT_DELAY },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "ready-file", required_argument, NULL, OPT_READY },
		{ "expect-version", required_argument, NULL, OPT_EXPECT_VERSION },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct probe_opts o = { .count = 1, .timeout = 10 };
	const char *scenario, *path, *arg = NULL;
	unsigned long num = 0;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case OPT_LEGACY:
			o.legacy = true;
			break;
		case OPT_COUNT:
			r = parse_uint(optarg, 100000000, &o.count);
			break;
		case OPT_REPLY_CODE:
			r = parse_code(optarg, &o.reply_code);
			break;
		case OPT_VALUE:
			o.value = optarg;
			break;
		case OPT_ENUM_ITEMS:
			r = parse_uint(optarg, UINT32_MAX, &o.enum_items);
			break;
		case OPT_IP:
			r = strscpy(o.ip.ip_addr, sizeof(o.ip.ip_addr), optarg);
			o.have_ip = true;
			break;
		case OPT_SUBNET:
			r = strscpy(o.ip.sub_net, sizeof(o.ip.sub_net), optarg);
			o.have_ip = true;
			break;
		case OPT_GW:
			r = strscpy(o.ip.gate_way, sizeof(o.ip.gate_way), optarg);
			o.have_ip = true;
			break;
		case OPT_DNS:
			r = strscpy(o.ip.dns_addr, sizeof(o.ip.dns_addr), optarg);
			o.have_ip = true;
			break;
		case OPT_DHCP:
			o.ip.dhcp_enabled = 1;
			o.have_ip = true;
			break;
		case OPT_DELAY:
			r = parse_seconds(optarg, &o.delay);
			break;
		case OPT_TIMEOUT:
			r = parse_seconds(optarg, &o.timeout);
			break;
		case OPT_READY:
			o.ready_file = optarg;
			break;
		case OPT_EXPECT_VERSION:
			o.expect_version = optarg;
			break;
		case OPT_SIZE:
			r = parse_uint(optarg, KVP_MSG_SIZE, &o.size);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (r < 0) {
			fprintf(stderr, "%s: bad value for %s: %s\n", prog, argv[optind - 1], optarg);
			return 2;
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		return 2;
	}
	scenario = argv[optind];
	path = argv[optind + 1];
	if (argc - optind > 2)
		arg = argv[optind + 2];
	if (argc - optind > 3) {
		fprintf(stderr, "%s: too many arguments\n", prog);
		return 2;
	}
	if (o.have_ip) {
		/* the reply names the adapter it describes */
		o.ip.addr_family = (strchr(o.ip.ip_addr, '.') ? ADDR_FAMILY_IPV4 : 0) |
				   (strchr(o.ip.ip_addr, ':') ? ADDR_FAMILY_IPV6 : 0);
	}
	/* unbuffered enough for a test that reads our output while we run */
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (streq(scenario, "bad-write") || streq(scenario, "bad-op")) {
		if (!arg || parse_uint(arg, streq(scenario, "bad-op") ? 255 : 1 << 20, &num) < 0) {
			fprintf(stderr, "%s: %s needs a number argument\n", prog, scenario);
			return 2;
		}
		if (streq(scenario, "bad-write") && num == KVP_MSG_SIZE) {
			fprintf(stderr, "%s: bad-write needs a size other than %d\n", prog,
				KVP_MSG_SIZE);
			return 2;
		}
		return streq(scenario, "bad-write") ? cmd_bad_write(path, &o, num)
						    : cmd_bad_op(path, &o, num);
	}
	if (arg) {
		fprintf(stderr, "%s: unexpected argument %s\n", prog, arg);
		return 2;
	}
	if (streq(scenario, "open-twice"))
		return cmd_open_twice(path, &o);
	if (streq(scenario, "short-read"))
		return cmd_short_read(path, &o);
	if (streq(scenario, "register"))
		return cmd_register(path, &o);
	if (streq(scenario, "serve"))
		return cmd_serve(path, &o);
	if (streq(scenario, "late-reply"))
		return cmd_late_reply(path, &o);
	if (streq(scenario, "spurious"))
		return cmd_spurious(path, &o);
	if (streq(scenario, "close-in-flight"))
		return cmd_close_in_flight(path, &o);
	if (streq(scenario, "poll"))
		return cmd_poll(path, &o);
	if (streq(scenario, "read-signal"))
		return cmd_read_signal(path, &o);
	fprintf(stderr, "%s: unknown scenario %s\n", prog, scenario);
	return 2;
}

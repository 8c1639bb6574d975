/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-ctl-client.c - `hvkvp-emu ctl`: sends one command to the control socket, prints the JSON answer. */
#include <getopt.h>
#include <limits.h>
#include <strings.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "emu-cmd.h"
#include "emu-ctl.h"

static void client_usage(FILE *f)
{
	fprintf(f,
		"Usage: hvkvp-emu ctl --control SOCKET [--wait SEC] [--expect CODE] COMMAND [OPTIONS...]\n"
		"\n"
		"Plays the Hyper-V host against a running `hvkvp-emu serve`.\n"
		"  --control SOCKET  the emulator's control socket\n"
		"  --wait SEC        how long a request may wait for a daemon to register and\n"
		"                    answer (default %d; fractions allowed)\n"
		"  --expect CODE     exit 3 unless the daemon answers CODE: ok (HV_S_OK), a\n"
		"                    code name such as HV_INVALIDARG, or its hex value\n"
		"\n",
		EMU_CTL_DEFAULT_WAIT_SEC);
	emu_ctl_print_commands(f);
	fprintf(f, "\nExit status: 0 the command ran (the daemon's code is in the JSON),\n"
		   "1 it could not complete (no emulator, no daemon within --wait), 2 usage error,\n"
		   "3 the daemon answered another code than --expect named.\n");
}

/* Append one argument (with its NUL) to the request packet. */
static int pkt_add(char **pkt, size_t *len, const char *arg)
{
	size_t n = strlen(arg) + 1;
	char *p;

	if (*len + n > EMU_CTL_MAX_REQUEST)
		return -E2BIG;
	p = realloc(*pkt, *len + n);
	if (!p)
		return -ENOMEM;
	memcpy(p + *len, arg, n);
	*pkt = p;
	*len += n;
	return 0;
}

/* The server may run in another directory: hand it absolute --file paths. */
static int pkt_add_path(char **pkt, size_t *len, const char *prefix, const char *path)
{
	_cleanup_free_ char *abs = NULL, *arg = NULL;

	abs = realpath(path, NULL);
	if (asprintf(&arg, "%s%s", prefix, abs ? abs : path) < 0)
		return -ENOMEM;
	return pkt_add(pkt, len, arg);
}

/* The request packet: [--wait SEC] and the command line from argv[first]. */
static int build_request(const char *wait, int first, int argc, char **argv, char **ret_pkt,
			 size_t *ret_len)
{
	_cleanup_free_ char *pkt = NULL;
	size_t len = 0;
	int r = 0;

	if (wait)
		r = pkt_add(&pkt, &len, "--wait") ?: pkt_add(&pkt, &len, wait);
	for (int i = first; i < argc && r == 0; i++) {
		if (streq(argv[i], "--file") && i + 1 < argc) {
			r = pkt_add(&pkt, &len, argv[i]) ?: pkt_add_path(&pkt, &len, "", argv[i + 1]);
			i++;
		} else if (strncmp(argv[i], "--file=", 7) == 0) {
			r = pkt_add_path(&pkt, &len, "--file=", argv[i] + 7);
		} else {
			r = pkt_add(&pkt, &len, argv[i]);
		}
	}
	if (r < 0)
		return r;
	*ret_pkt = TAKE_PTR(pkt);
	*ret_len = len;
	return 0;
}

/* The value of the top-level string member "name" of the JSON object doc
 * (our own output: no escapes inside code names), copied to ret; false when
 * there is none. */
static bool json_top_string(const char *doc, const char *name, char *ret, size_t size)
{
	size_t nlen = strlen(name);
	int depth = 0;

	for (const char *p = doc; *p; p++) {
		if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			depth--;
		} else if (*p == '"') {
			const char *start = p + 1, *end = start;

			while (*end && *end != '"')
				end += end[0] == '\\' && end[1] ? 2 : 1;
			if (!*end)
				return false;
			if (depth == 1 && (size_t)(end - start) == nlen && !strncmp(start, name, nlen) &&
			    end[1] == ':' && end[2] == '"') {
				const char *v = end + 3, *ve = strchr(v, '"');

				if (!ve || (size_t)(ve - v) >= size)
					return false;
				memcpy(ret, v, (size_t)(ve - v));
				ret[ve - v] = '\0';
				return true;
			}
			p = end;
		}
	}
	return false;
}

/* --expect's word against the answer's code_name and code_hex. */
static bool code_matches(const char *expect, const char *name, const char *hex)
{
	if (!strcasecmp(expect, "ok"))
		return !strcmp(name, "HV_S_OK");
	return !strcasecmp(expect, name) || (hex[0] && !strcasecmp(expect, hex));
}

/* The status packet, then the document to stdout; returns the exit status
 * (EMU_CTL_UNEXPECTED when `expect` is set and the daemon's code differs). */
static int receive_answer(int fd, const char *expect)
{
	_cleanup_free_ char *buf = NULL, *doc = NULL;
	size_t doc_len = 0;
	bool got_status = false;
	int status = EMU_CTL_FAILED;

	buf = malloc(EMU_CTL_CHUNK + 1);
	if (!buf)
		return EMU_CTL_FAILED;
	for (;;) {
		ssize_t n = recv(fd, buf, EMU_CTL_CHUNK, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "hvkvp-emu ctl: receiving the answer failed: %s\n",
				strerror(errno));
			return EMU_CTL_FAILED;
		}
		if (n == 0)
			break;
		if (!got_status) {
			buf[n] = '\0';
			status = atoi(buf);
			got_status = true;
			continue;
		}
		fwrite(buf, 1, (size_t)n, stdout);
		if (expect) {
			char *more = realloc(doc, doc_len + (size_t)n + 1);

			if (!more)
				return EMU_CTL_FAILED;
			doc = more;
			memcpy(doc + doc_len, buf, (size_t)n);
			doc_len += (size_t)n;
			doc[doc_len] = '\0';
		}
	}
	if (!got_status) {
		fprintf(stderr, "hvkvp-emu ctl: the emulator closed the connection without an answer\n");
		return EMU_CTL_FAILED;
	}
	fputc('\n', stdout);
	if (fflush(stdout) != 0)
		return EMU_CTL_FAILED;
	if (status == EMU_CTL_USAGE)
		fprintf(stderr, "hvkvp-emu ctl: usage error (see the JSON above and --help)\n");
	if (status == EMU_CTL_OK && expect) {
		char name[64] = "", hex[16] = "";

		if (!doc || !json_top_string(doc, "code_name", name, sizeof(name))) {
			fprintf(stderr, "hvkvp-emu ctl: --expect %s: the answer carries no daemon code\n",
				expect);
			return EMU_CTL_UNEXPECTED;
		}
		(void)json_top_string(doc, "code_hex", hex, sizeof(hex));
		if (!code_matches(expect, name, hex)) {
			fprintf(stderr, "hvkvp-emu ctl: the daemon answered %s, expected %s\n", name,
				expect);
			return EMU_CTL_UNEXPECTED;
		}
	}
	return status;
}

/* --control, --wait, --expect and --help before the command. Returns -1 to go on
 * (optind then indexes the command), or the exit status. */
static int client_options(int argc, char **argv, const char **ret_control, const char **ret_wait,
			  const char **ret_expect)
{
	static const struct option opts[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "wait", required_argument, NULL, 'w' },
		{ "expect", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t dummy;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'c':
			*ret_control = optarg;
			break;
		case 'w':
			if (ctl_parse_seconds(optarg, &dummy) < 0) {
				fprintf(stderr, "hvkvp-emu ctl: --wait: bad number of seconds \"%s\"\n",
					optarg);
				return EMU_CTL_USAGE;
			}
			*ret_wait = optarg;
			break;
		case 'e':
			*ret_expect = optarg;
			break;
		case 'h':
			client_usage(stdout);
			return EMU_CTL_OK;
		case ':':
			fprintf(stderr, "hvkvp-emu ctl: %s needs a value\n", argv[optind - 1]);
			return EMU_CTL_USAGE;
		default:
			fprintf(stderr, "hvkvp-emu ctl: unknown option %s (see --help)\n",
				argv[optind - 1]);
			return EMU_CTL_USAGE;
		}
	}
	if (!*ret_control || optind >= argc) {
		client_usage(stderr);
		return EMU_CTL_USAGE;
	}
	return -1;
}

int emu_ctl_client_main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *pkt = NULL;
	_cleanup_close_ int fd = -1;
	const char *control = NULL, *wait = NULL, *expect = NULL;
	size_t len = 0;
	int r;

	r = client_options(argc, argv, &control, &wait, &expect);
	if (r >= 0)
		return r;
	if (strlen(control) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hvkvp-emu ctl: socket path too long: %s\n", control);
		return EMU_CTL_USAGE;
	}
	memcpy(sa.sun_path, control, strlen(control) + 1);

	r = build_request(wait, optind, argc, argv, &pkt, &len);
	if (r < 0) {
		fprintf(stderr, "hvkvp-emu ctl: arguments: %s\n", strerror(-r));
		return EMU_CTL_USAGE;
	}

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "hvkvp-emu ctl: cannot connect to %s: %s\n", control,
			strerror(errno));
		return EMU_CTL_FAILED;
	}
	if (send(fd, pkt, len, MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "hvkvp-emu ctl: sending the command failed: %s\n", strerror(errno));
		return errno == EMSGSIZE ? EMU_CTL_USAGE : EMU_CTL_FAILED;
	}
	return receive_answer(fd, expect);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c - one log line per event; journal fields when running under systemd. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "log.h"

static const char *log_ident = "hvkvpd";
static bool log_to_journal;
static int log_max_level = LOG_INFO;

static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(const char *ident, enum log_target target)
{
	if (ident)
		log_ident = ident;
	switch (target) {
	case LOG_TARGET_JOURNAL:
		log_to_journal = true;
		break;
	case LOG_TARGET_STDERR:
		log_to_journal = false;
		break;
	default:
		log_to_journal = stderr_is_journal();
	}
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

static const char *level_prefix(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error: ";
	case LOG_WARNING:
		return "warning: ";
	case LOG_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

void log_one_line(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	if (size == 0)
		return;
	dst[0] = '\0';
	/* escape_bytes() between the backslashes: a backslash is ASCII, so a
	 * cut there never splits a UTF-8 character */
	for (;;) {
		const char *bs = strchr(src, '\\');
		size_t n = bs ? (size_t)(bs - src) : strlen(src);

		if (escape_bytes(dst + o, size - o, src, n) < 0)
			return;
		o += strlen(dst + o);
		if (!bs || o + 2 > size)
			return;
		dst[o++] = '\\';
		dst[o] = '\0';
		src = bs + 1;
	}
}

/* True when s[0..n) needs no log_one_line(): printable ASCII only (the
 * common case, so that most fields are passed as they are). */
static bool plain_ascii_n(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static bool plain_ascii(const char *s)
{
	return plain_ascii_n(s, strlen(s));
}

#define LOG_MSG_MAX 2048
#define MESSAGE_PREFIX "MESSAGE="

int log_full(int level, int error, const char *const *fields, const char *fmt, ...)
{
	char msg[LOG_MSG_MAX], prio[32], errbuf[32];
	char msgfield[sizeof(MESSAGE_PREFIX) + ESCAPED_SIZE(LOG_MSG_MAX)];
	char *line = msgfield + strlen(MESSAGE_PREFIX);
	int r = error == 0 ? 0 : -abs(error);
	int saved = errno;
	va_list ap;

	if (level > log_max_level)
		goto out;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a log line is one line, whatever went into the format */
	memcpy(msgfield, MESSAGE_PREFIX, strlen(MESSAGE_PREFIX));
	log_one_line(line, sizeof(msgfield) - strlen(MESSAGE_PREFIX), msg);

	if (log_to_journal) {
		/* escaped copies of the fields that need it, one after another */
		char fbuf[4096];
		size_t fused = 0;
		struct iovec iov[24];
		size_t n = 0;

		snprintf(prio, sizeof(prio), "PRIORITY=%d", level);
		iov[n++] = (struct iovec){ msgfield, strlen(msgfield) };
		iov[n++] = (struct iovec){ prio, strlen(prio) };
		if (error != 0) {
			snprintf(errbuf, sizeof(errbuf), "ERRNO=%d", abs(error));
			iov[n++] = (struct iovec){ errbuf, strlen(errbuf) };
		}
		for (size_t i = 0; fields && fields[i] && n < ARRAY_SIZE(iov); i++) {
			const char *f = fields[i], *eq = strchr(f, '=');
			size_t klen;

			if (plain_ascii(f)) {
				iov[n++] = (struct iovec){ (void *)f, strlen(f) };
				continue;
			}
			/* a field name is ours and plain; only the value can need it */
			if (!eq || !plain_ascii_n(f, (size_t)(eq - f)))
				continue;
			klen = (size_t)(eq - f) + 1;
			if (fused + klen + 2 > sizeof(fbuf))
				break;
			memcpy(fbuf + fused, f, klen);
			log_one_line(fbuf + fused + klen, sizeof(fbuf) - fused - klen, eq + 1);
			iov[n++] = (struct iovec){ fbuf + fused, strlen(fbuf + fused) };
			fused += iov[n - 1].iov_len + 1;
		}
		if (sd_journal_sendv(iov, (int)n) >= 0)
			goto out;
		/* fall back to stderr if the journal is gone */
	}
	if (error != 0)
		fprintf(stderr, "%s: %s%s: %s\n", log_ident, level_prefix(level), line,
			strerror(abs(error)));
	else
		fprintf(stderr, "%s: %s%s\n", log_ident, level_prefix(level), line);
out:
	errno = saved;
	return r;
}

static void notify_statusv(int error, const char *fmt, va_list ap) _printf_(2, 0);
static void notify_statusv(int error, const char *fmt, va_list ap)
{
	char buf[512], line[ESCAPED_SIZE(sizeof(buf))];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_one_line(line, sizeof(line), buf);
	if (error != 0)
		sd_notifyf(0, "STATUS=%s\nERRNO=%d", line, abs(error));
	else
		sd_notifyf(0, "STATUS=%s", line);
}

void notify_status(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_statusv(0, fmt, ap);
	va_end(ap);
}

void notify_status_errno(int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_statusv(error, fmt, ap);
	va_end(ap);
}

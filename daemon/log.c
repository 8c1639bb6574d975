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

int log_full(int level, int error, const char *const *fields, const char *fmt, ...)
{
	char msg[2048], prio[32], errbuf[32], msgfield[2100];
	int r = error == 0 ? 0 : -abs(error);
	int saved = errno;
	va_list ap;

	if (level > log_max_level)
		goto out;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (log_to_journal) {
		struct iovec iov[24];
		size_t n = 0;

		snprintf(msgfield, sizeof(msgfield), "MESSAGE=%s", msg);
		snprintf(prio, sizeof(prio), "PRIORITY=%d", level);
		iov[n++] = (struct iovec){ msgfield, strlen(msgfield) };
		iov[n++] = (struct iovec){ prio, strlen(prio) };
		if (error != 0) {
			snprintf(errbuf, sizeof(errbuf), "ERRNO=%d", abs(error));
			iov[n++] = (struct iovec){ errbuf, strlen(errbuf) };
		}
		for (size_t i = 0; fields && fields[i] && n < ARRAY_SIZE(iov); i++)
			iov[n++] = (struct iovec){ (void *)fields[i], strlen(fields[i]) };
		if (sd_journal_sendv(iov, (int)n) >= 0)
			goto out;
		/* fall back to stderr if the journal is gone */
	}
	if (error != 0)
		fprintf(stderr, "%s: %s%s: %s\n", log_ident, level_prefix(level), msg,
			strerror(abs(error)));
	else
		fprintf(stderr, "%s: %s%s\n", log_ident, level_prefix(level), msg);
out:
	errno = saved;
	return r;
}

void notify_status(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", buf);
}

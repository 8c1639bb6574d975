/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h - logging to the journal (structured) or to stderr. */
#pragma once

#include <syslog.h>

#include "util.h"

/* Where log lines go. AUTO picks the journal when stderr is connected to it
 * (JOURNAL_STREAM), else stderr. */
enum log_target {
	LOG_TARGET_AUTO,
	LOG_TARGET_STDERR,
	LOG_TARGET_JOURNAL,
};

void log_setup(const char *ident, enum log_target target);
void log_set_max_level(int level);
int log_get_max_level(void);

/* Emits one line. `fields` is NULL or a NULL-terminated array of extra
 * "KEY=value" journal fields (ignored on stderr). A non-zero error is logged
 * as ERRNO= and the return value is -|error| (or 0 when error is 0), so that
 * callers can `return log_error_errno(r, ...)`.
 *
 * Host strings go in escaped (escape_str()); as a last line of defence the
 * message and each field's value are passed through log_one_line() on every
 * target, so a newline a caller forgot to escape cannot forge a second line. */
int log_full(int level, int error, const char *const *fields, const char *fmt, ...)
	_printf_(4, 5);

#define log_debug(...) log_full(LOG_DEBUG, 0, NULL, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, 0, NULL, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, 0, NULL, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, 0, NULL, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full(LOG_DEBUG, (e), NULL, __VA_ARGS__)
#define log_info_errno(e, ...) log_full(LOG_INFO, (e), NULL, __VA_ARGS__)
#define log_notice_errno(e, ...) log_full(LOG_NOTICE, (e), NULL, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full(LOG_WARNING, (e), NULL, __VA_ARGS__)
#define log_error_errno(e, ...) log_full(LOG_ERR, (e), NULL, __VA_ARGS__)

/* Copies src into dst (size bytes, always terminated) as one line: control
 * characters, C1 controls and bytes outside valid UTF-8 become the escapes
 * escape_bytes() writes (\n, \x1b, ...). A backslash is left as it is: the
 * text is ours, and the host strings in it were escaped (backslash
 * included) when they were put in, so escaping it again would show \\n
 * for what the host sent as a newline. Cut short, never inside an escape or
 * a UTF-8 character, when dst is too small. */
void log_one_line(char *dst, size_t size, const char *src);

/* STATUS= for systemd: the one line `systemctl status` shows (a no-op
 * outside a service). The text goes through log_one_line(), so whatever a
 * caller formats, systemd gets exactly one STATUS= line and nothing else. */
void notify_status(const char *fmt, ...) _printf_(1, 2);
/* The same with ERRNO=|error| (why a start failed). */
void notify_status_errno(int error, const char *fmt, ...) _printf_(2, 3);

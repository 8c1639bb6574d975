/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util.h - small helpers shared by every part of hvkvpd: cleanup, strings, time. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))
#define _const_ __attribute__((const))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Hand ownership over: returns the pointer and clears the variable. */
#define TAKE_PTR(p)                                                            \
	({                                                                     \
		__typeof__(p) _p_ = (p);                                       \
		(p) = NULL;                                                    \
		_p_;                                                           \
	})
#define TAKE_FD(fd)                                                            \
	({                                                                     \
		int _fd_ = (fd);                                               \
		(fd) = -1;                                                     \
		_fd_;                                                          \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}
static inline void closep(int *fd)
{
	safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return streq(a, b);
}
static inline bool isempty(const char *s)
{
	return !s || !*s;
}

/* Negative errno of the last libc failure, never 0. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* Copy at most dst_size-1 bytes and always terminate; returns -ENOBUFS when
 * the source did not fit (the copy is then truncated but terminated). */
int strscpy(char *dst, size_t dst_size, const char *src);

/* Length of the UTF-8 sequence the byte c announces when it leads one (1..4;
 * 1 for every ASCII byte, NUL included), 0 when it cannot lead (a
 * continuation byte, an overlong 2-byte lead, or above U+10FFFF). Says
 * nothing about the bytes that follow: utf8_valid() judges those. */
size_t utf8_lead_len(unsigned char c) _pure_;
/* The value of a hex digit (either case), -1 for any other character. */
int hex_digit_value(char c) _const_;
/* Appends a formatted string at buf + *len (bounded by size); -ENOBUFS,
 * with buf unchanged past *len, when it does not fit. */
int buf_appendf(char *buf, size_t size, size_t *len, const char *fmt, ...) _printf_(4, 5);

/* True when buf[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF) and holds no NUL byte. */
bool utf8_valid(const char *buf, size_t len);

/* Length of the longest prefix of s (at most max bytes) that ends on a UTF-8
 * character boundary. */
size_t utf8_truncate(const char *s, size_t len, size_t max);

/* Copies src[0..len) into dst as text that is safe for every line-based
 * sink (logs, STATUS=, terminals, state and result lines): each control
 * character (< 0x20, 0x7f, and the C1 controls U+0080..U+009F) and each byte
 * that is not part of valid UTF-8 becomes \n, \r, \t or \xNN, and a
 * backslash becomes \\, so the result holds no newline, no escape
 * sequence and reads back unambiguously. Stops before an escape that would
 * not fit; dst is always terminated. Returns -ENOBUFS when src was cut,
 * else 0. */
int escape_bytes(char *dst, size_t dst_size, const char *src, size_t len);
/* escape_bytes() of a NUL-terminated string (NULL shows as "(null)");
 * returns dst, for use as a printf argument. */
const char *escape_str(char *dst, size_t dst_size, const char *src);
/* A buffer that holds any escaped string of n source bytes. */
#define ESCAPED_SIZE(n) (4 * (n) + 1)

/* CLOCK_MONOTONIC / CLOCK_REALTIME in microseconds. */
uint64_t now_usec(void);
uint64_t realtime_usec(void);

/* Parse an unsigned decimal integer that must fill the whole string. */
int parse_uint(const char *s, unsigned long max, unsigned long *ret);

/* Parse a number of seconds (decimal, fractions allowed) that must fill the
 * whole string and be finite and not negative. Other bounds are the
 * caller's. */
int parse_seconds(const char *s, double *ret);

/* Write all of buf to fd, retrying on EINTR and short writes. */
int loop_write(int fd, const void *buf, size_t len);

/* pwrite()/pread() all of len bytes at off, retrying on EINTR and short
 * transfers. pread_full returns the byte count (short only at end of file). */
int pwrite_full(int fd, const void *buf, size_t len, off_t off);
ssize_t pread_full(int fd, void *buf, size_t len, off_t off);

/* open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode) that never
 * blocks on and never accepts anything but a regular file: opened with
 * O_NONBLOCK (a FIFO planted in place of a file would otherwise hang the
 * open until a writer came), checked with fstat(), then made blocking again.
 * Returns the fd, -ELOOP for a symbolic link, -EINVAL for a FIFO, device,
 * socket or directory, or another negative errno. */
int open_regular(const char *path, int flags, mode_t mode);

/* Reads the whole file at path, opened with O_RDONLY|O_CLOEXEC|O_NOCTTY
 * plus open_flags (e.g. O_NOFOLLOW), into a NUL-terminated malloc'ed buffer.
 * -EFBIG when it holds more than max bytes; *ret_len (may be NULL) gets the
 * length. Writes *ret only on success. */
int read_file_bounded(const char *path, int open_flags, size_t max, char **ret, size_t *ret_len);

/* snprintf() for one-line messages where cutting a long value short is the
 * intended behaviour (log text, STATUS=, result lines). */
void strprintf(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);

/* Replaces path with text atomically: a temporary file beside it (named
 * "<path>.tmp-XXXXXX", which no consumer of .network or .state files
 * picks up), given `mode`, fsync'ed, renamed over path. The temporary file
 * is removed on failure. The directory is not created. */
int write_file_atomic(const char *path, const char *text, mode_t mode);
/* What write_file_atomic() does, with the caller's mkostemp() template
 * `tmp` (in path's directory; rewritten) and, when `owner` is given, its
 * owner and group for the new file. */
int write_file_replace(const char *path, char *tmp, const char *text, mode_t mode,
		       const struct stat *owner);

/* Appends item to a ';'-separated list in buf (no separator before the
 * first item); -EMSGSIZE, with buf unchanged, when it does not fit. */
int strlist_append(char *buf, size_t size, const char *item);

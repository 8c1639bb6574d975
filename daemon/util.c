/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util.c - string, UTF-8 and time helpers. */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

int strscpy(char *dst, size_t dst_size, const char *src)
{
	size_t n;

	if (dst_size == 0)
		return -ENOBUFS;
	n = strnlen(src, dst_size);
	if (n >= dst_size) {
		memcpy(dst, src, dst_size - 1);
		dst[dst_size - 1] = '\0';
		return -ENOBUFS;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

size_t utf8_lead_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* Returns the length of the sequence starting at s (1..4), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail);

int escape_bytes(char *dst, size_t dst_size, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (dst_size == 0)
		return -ENOBUFS;
	for (size_t i = 0; i < len;) {
		char esc[5];
		const char *out = esc;
		size_t n = 1, k;

		if (s[i] == '\\') {
			out = "\\\\";
		} else if (s[i] == '\n') {
			out = "\\n";
		} else if (s[i] == '\r') {
			out = "\\r";
		} else if (s[i] == '\t') {
			out = "\\t";
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
		} else if (s[i] < 0x80) {
			esc[0] = (char)s[i];
			esc[1] = '\0';
		} else {
			n = utf8_seq_len(s + i, len - i);
			/* invalid UTF-8, or a C1 control (U+0080..U+009F: C2 80..C2 9F) */
			if (n == 0 || (s[i] == 0xc2 && s[i + 1] < 0xa0)) {
				n = 1;
				snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
			} else {
				memcpy(esc, s + i, n);
				esc[n] = '\0';
			}
		}
		k = strlen(out);
		if (o + k + 1 > dst_size) {
			dst[o] = '\0';
			return -ENOBUFS;
		}
		memcpy(dst + o, out, k);
		o += k;
		i += n;
	}
	dst[o] = '\0';
	return 0;
}

const char *escape_str(char *dst, size_t dst_size, const char *src)
{
	if (!src)
		src = "(null)";
	(void)escape_bytes(dst, dst_size, src, strlen(src));
	return dst;
}

static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	size_t n = utf8_lead_len(s[0]);
	uint32_t cp;

	if (n == 0 || s[0] == 0)
		return 0; /* NUL, a continuation byte or an impossible lead */
	if (n == 1)
		return 1;
	if (avail < n)
		return 0;
	cp = s[0] & (0x7f >> n); /* the lead's payload bits */
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0; /* overlong */
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool utf8_valid(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(s + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

size_t utf8_truncate(const char *s, size_t len, size_t max)
{
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);
		if (n == 0)
			n = 1; /* keep invalid bytes as single units */
		if (i + n > max)
			break;
		i += n;
	}
	return i;
}

static uint64_t clock_usec(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t now_usec(void)
{
	return clock_usec(CLOCK_MONOTONIC);
}

uint64_t realtime_usec(void)
{
	return clock_usec(CLOCK_REALTIME);
}

int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	unsigned long v;
	char *end;

	if (isempty(s) || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_seconds(const char *s, double *ret)
{
	double v;
	char *end;

	if (isempty(s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* write() (off < 0) or pwrite() at off, until all of buf is out. */
static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

int loop_write(int fd, const void *buf, size_t len)
{
	return write_all(fd, buf, len, -1);
}

int pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	if (off < 0)
		return -EINVAL;
	return write_all(fd, buf, len, off);
}

ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done, off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int open_regular(const char *path, int flags, mode_t mode)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = open(path, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

int read_file_bounded(const char *path, int open_flags, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | open_flags);
	if (fd < 0)
		return negative_errno();
	buf = malloc(max + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t k = read(fd, buf + len, max + 1 - len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

void strprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

int write_file_replace(const char *path, char *tmp, const char *text, mode_t mode,
		       const struct stat *owner)
{
	int fd, r = 0;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (owner && (owner->st_uid != geteuid() || owner->st_gid != getegid()) &&
	    fchown(fd, owner->st_uid, owner->st_gid) < 0)
		r = negative_errno();
	if (r == 0)
		r = loop_write(fd, text, strlen(text));
	if (r == 0 && fchmod(fd, mode) < 0)
		r = negative_errno();
	if (r == 0 && fsync(fd) < 0)
		r = negative_errno();
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = negative_errno();
	if (r < 0)
		unlink(tmp);
	return r;
}

int write_file_atomic(const char *path, const char *text, mode_t mode)
{
	char tmp[PATH_MAX + 16];

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	return write_file_replace(path, tmp, text, mode, NULL);
}

int strlist_append(char *buf, size_t size, const char *item)
{
	size_t len = strlen(buf), n = strlen(item);

	if (len + (len ? 1 : 0) + n + 1 > size)
		return -EMSGSIZE;
	if (len)
		buf[len++] = ';';
	memcpy(buf + len, item, n + 1);
	return 0;
}

int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int buf_appendf(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return -ENOBUFS;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *len) {
		buf[*len] = '\0';
		return -ENOBUFS;
	}
	*len += (size_t)n;
	return 0;
}

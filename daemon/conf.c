/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conf.c - parse /etc/hvkvpd.conf; every error names the file, the line and the key. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "backend.h"
#include "conf.h"
#include "kvp-device.h"
#include "pool.h"
#include "state.h"
#include "util.h"

#define CONF_MAX_SIZE (64 * 1024)

void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	strscpy(c->backend, sizeof(c->backend), "auto");
	c->budget_usec = 20 * 1000 * 1000ULL;
	strscpy(c->device, sizeof(c->device), KVP_DEVICE_DEFAULT_PATH);
	strscpy(c->pool_dir, sizeof(c->pool_dir), KVP_POOL_DEFAULT_DIR);
	strscpy(c->state_dir, sizeof(c->state_dir), STATE_DEFAULT_DIR);
	c->log_level = LOG_INFO;
}

int conf_parse_budget(const char *v, uint64_t *ret_usec)
{
	unsigned long s;

	/* the driver answers the host itself after 30 s: keep a margin for the
	 * rollback reserve overrunning by a step and for writing the reply */
	if (parse_uint(v, 25, &s) < 0 || s == 0)
		return -EINVAL;
	*ret_usec = s * 1000 * 1000ULL;
	return 0;
}

int conf_parse_log_level(const char *v, int *ret)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", LOG_ERR },	 { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		{ "info", LOG_INFO },	 { "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		if (streq(v, levels[i].name)) {
			*ret = levels[i].level;
			return 0;
		}
	return -EINVAL;
}

static int fail(char *err, size_t size, const char *origin, unsigned line, const char *fmt, ...)
	_printf_(5, 6);
static int fail(char *err, size_t size, const char *origin, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err && size) {
		n = snprintf(err, size, "%s:%u: ", origin, line);
		if (n > 0 && (size_t)n < size) {
			va_start(ap, fmt);
			vsnprintf(err + n, size - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

static char *strip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int set_path(char *dst, size_t size, const char *key, const char *v, char *err,
		    size_t err_size, const char *origin, unsigned line)
{
	if (v[0] != '/')
		return fail(err, err_size, origin, line, "%s: '%s' is not an absolute path", key, v);
	if (strscpy(dst, size, v) < 0)
		return fail(err, err_size, origin, line, "%s: the path is too long", key);
	return 0;
}

int conf_parse(struct conf *c, const char *text, const char *origin, char *err,
		 size_t err_size)
{
	const char *p = text;
	unsigned line = 0;

	if (err && err_size)
		err[0] = '\0';
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char buf[8192], *s, *eq, *key, *val;
		int r = 0;

		line++;
		if (len >= sizeof(buf))
			return fail(err, err_size, origin, line, "line too long");
		memcpy(buf, p, len);
		buf[len] = '\0';
		p += len + (eol ? 1 : 0);

		s = strip(buf);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			if (!streq(s, "[hvkvpd]"))
				return fail(err, err_size, origin, line,
					    "unknown section '%s' (only [hvkvpd] is known)", s);
			continue;
		}
		eq = strchr(s, '=');
		if (!eq)
			return fail(err, err_size, origin, line, "'%s' is not Key=Value", s);
		*eq = '\0';
		key = strip(s);
		val = strip(eq + 1);

		if (streq(key, "Backend")) {
			if (!backend_name_valid(val))
				return fail(err, err_size, origin, line,
					    "Backend: '%s' is not auto, networkmanager, networkd or netlink",
					    val);
			if (!backend_available(val))
				return fail(err, err_size, origin, line,
					    "Backend: '%s' is not built into this hvkvpd", val);
			strscpy(c->backend, sizeof(c->backend), val);
		} else if (streq(key, "ReplyBudgetSec")) {
			if (conf_parse_budget(val, &c->budget_usec) < 0)
				return fail(err, err_size, origin, line,
					    "ReplyBudgetSec: '%s' is not a number of seconds in 1..25 (the driver gives up after 30)",
					    val);
		} else if (streq(key, "Device")) {
			r = set_path(c->device, sizeof(c->device), key, val, err, err_size, origin, line);
		} else if (streq(key, "PoolDirectory")) {
			r = set_path(c->pool_dir, sizeof(c->pool_dir), key, val, err, err_size, origin,
				     line);
		} else if (streq(key, "StateDirectory")) {
			r = set_path(c->state_dir, sizeof(c->state_dir), key, val, err, err_size, origin,
				     line);
		} else if (streq(key, "LogLevel")) {
			if (conf_parse_log_level(val, &c->log_level) < 0)
				return fail(err, err_size, origin, line,
					    "LogLevel: '%s' is not error, warning, notice, info or debug",
					    val);
		} else
			return fail(err, err_size, origin, line, "unknown key '%s'", key);
		if (r < 0)
			return r;
	}
	return 0;
}

int conf_load(struct conf *c, const char *path, bool must_exist, char *err, size_t err_size)
{
	_cleanup_free_ char *text = malloc(CONF_MAX_SIZE);
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	ssize_t n;

	if (!text)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int r = negative_errno();
		if (r == -ENOENT && !must_exist)
			return 0;
		snprintf(err, err_size, "%s: %s", path, strerror(-r));
		return r;
	}
	while ((n = read(fd, text + len, CONF_MAX_SIZE - 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0) {
		int r = negative_errno();
		snprintf(err, err_size, "%s: %s", path, strerror(-r));
		return r;
	}
	if (len == CONF_MAX_SIZE - 1) {
		snprintf(err, err_size, "%s: larger than %d bytes", path, CONF_MAX_SIZE - 1);
		return -EFBIG;
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		snprintf(err, err_size, "%s: contains a NUL byte", path);
		return -EINVAL;
	}
	return conf_parse(c, text, path, err, err_size);
}

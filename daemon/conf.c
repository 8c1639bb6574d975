/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conf.c - parse /etc/hvkvpd.conf; every error names the file, the line and the key. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "addr-probe.h"
#include "backend.h"
#include "conf.h"
#include "ini.h"
#include "kvp-device.h"
#include "pool.h"
#include "state.h"
#include "util.h"

#define CONF_MAX_SIZE (64 * 1024 - 1)
/* longer lines are mistakes, not settings: every value fits in a path */
#define CONF_LINE_MAX 8191

void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	strscpy(c->backend, sizeof(c->backend), "auto");
	c->budget_usec = 20 * 1000 * 1000ULL;
	strscpy(c->device, sizeof(c->device), KVP_DEVICE_DEFAULT_PATH);
	strscpy(c->pool_dir, sizeof(c->pool_dir), KVP_POOL_DEFAULT_DIR);
	strscpy(c->state_dir, sizeof(c->state_dir), STATE_DEFAULT_DIR);
	c->log_level = LOG_INFO;
	c->conflict_probe_usec = ADDR_PROBE_DEFAULT_USEC;
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

int conf_parse_probe(const char *v, uint64_t *ret_usec)
{
	uint64_t ms = 0;
	const char *p = v;
	unsigned decimals = 0;

	/* digits only (no sign, exponent or locale): the window is part of a
	 * reply budget of at most 25 s */
	if (*p < '0' || *p > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9' && ms <= 10000)
		ms = ms * 10 + (uint64_t)(*p++ - '0') * 1000;
	if (*p == '.') {
		uint64_t unit = 100;

		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9' && decimals < 3) {
			ms += (uint64_t)(*p++ - '0') * unit;
			unit /= 10;
			decimals++;
		}
	}
	if (*p != '\0' || ms > 10000)
		return -EINVAL;
	*ret_usec = ms * 1000;
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

static int set_path(char *dst, size_t size, const char *key, const char *v, char *err,
		    size_t err_size, const char *origin, unsigned line)
{
	if (v[0] != '/')
		return fail(err, err_size, origin, line, "%s: '%s' is not an absolute path", key, v);
	if (strscpy(dst, size, v) < 0)
		return fail(err, err_size, origin, line, "%s: the path is too long", key);
	return 0;
}

static int set_backend(struct conf *c, const char *val, char *err, size_t err_size,
		       const char *origin, unsigned line)
{
	if (!backend_name_valid(val))
		return fail(err, err_size, origin, line,
			    "Backend: '%s' is not auto, networkmanager, networkd, ifupdown or netlink", val);
	if (!backend_available(val))
		return fail(err, err_size, origin, line,
			    "Backend: '%s' is not built into this hvkvpd", val);
	strscpy(c->backend, sizeof(c->backend), val);
	return 0;
}

static int set_key(struct conf *c, const struct ini_line *l, char *err, size_t err_size,
		   const char *origin)
{
	const char *key = l->key, *val = l->value;
	unsigned line = l->number;

	if (streq(key, "Backend"))
		return set_backend(c, val, err, err_size, origin, line);
	if (streq(key, "ReplyBudgetSec")) {
		if (conf_parse_budget(val, &c->budget_usec) < 0)
			return fail(err, err_size, origin, line,
				    "ReplyBudgetSec: '%s' is not a number of seconds in 1..25 (the driver gives up after 30)",
				    val);
		return 0;
	}
	if (streq(key, "Device"))
		return set_path(c->device, sizeof(c->device), key, val, err, err_size, origin, line);
	if (streq(key, "PoolDirectory"))
		return set_path(c->pool_dir, sizeof(c->pool_dir), key, val, err, err_size, origin,
				line);
	if (streq(key, "StateDirectory"))
		return set_path(c->state_dir, sizeof(c->state_dir), key, val, err, err_size, origin,
				line);
	if (streq(key, "LogLevel")) {
		if (conf_parse_log_level(val, &c->log_level) < 0)
			return fail(err, err_size, origin, line,
				    "LogLevel: '%s' is not error, warning, notice, info or debug", val);
		return 0;
	}
	if (streq(key, "ConflictProbeSec")) {
		if (conf_parse_probe(val, &c->conflict_probe_usec) < 0)
			return fail(err, err_size, origin, line,
				    "ConflictProbeSec: '%s' is not a number of seconds in 0..10 with at most 3 decimals",
				    val);
		return 0;
	}
	return fail(err, err_size, origin, line, "unknown key '%s'", key);
}

int conf_parse(struct conf *c, const char *text, const char *origin, char *err, size_t err_size)
{
	_cleanup_free_ char *copy = strdup(text);
	struct ini_line l;
	struct ini t;
	int r;

	if (err && err_size)
		err[0] = '\0';
	if (!copy)
		return -ENOMEM;
	ini_init(&t, copy, CONF_LINE_MAX);
	while (ini_next(&t, &l) > 0) {
		switch (l.kind) {
		case INI_TOO_LONG:
			return fail(err, err_size, origin, l.number, "line too long");
		case INI_SECTION:
			if (!streq(l.section, "hvkvpd"))
				return fail(err, err_size, origin, l.number,
					    "unknown section '[%s]' (only [hvkvpd] is known)", l.section);
			break;
		case INI_BAD_SECTION:
			return fail(err, err_size, origin, l.number,
				    "unknown section '%s' (only [hvkvpd] is known)", l.text);
		case INI_NOT_ASSIGNMENT:
			return fail(err, err_size, origin, l.number, "'%s' is not Key=Value", l.text);
		case INI_ASSIGNMENT:
			r = set_key(c, &l, err, err_size, origin);
			if (r < 0)
				return r;
			break;
		}
	}
	return 0;
}

int conf_load(struct conf *c, const char *path, bool must_exist, char *err, size_t err_size)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = read_file_bounded(path, 0, CONF_MAX_SIZE, &text, &len);
	if (r == -ENOENT && !must_exist)
		return 0;
	if (r == -EFBIG) {
		snprintf(err, err_size, "%s: larger than %d bytes", path, CONF_MAX_SIZE);
		return r;
	}
	if (r < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(-r));
		return r;
	}
	if (strlen(text) != len) {
		snprintf(err, err_size, "%s: contains a NUL byte", path);
		return -EINVAL;
	}
	return conf_parse(c, text, path, err, err_size);
}

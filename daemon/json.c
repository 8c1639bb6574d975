/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json.c - a tiny streaming JSON writer with byte-exact string escaping. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "json.h"
#include "util.h"

void json_init(struct json *j)
{
	memset(j, 0, sizeof(*j));
}

void json_done(struct json *j)
{
	free(j->buf);
	json_init(j);
}

static void put(struct json *j, const char *s, size_t n)
{
	if (j->error < 0)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = MAX(j->cap * 2, (size_t)256);
		char *p;

		while (cap < j->len + n + 1)
			cap *= 2;
		p = realloc(j->buf, cap);
		if (!p) {
			j->error = -ENOMEM;
			return;
		}
		j->buf = p;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void puts_(struct json *j, const char *s)
{
	put(j, s, strlen(s));
}

/* Called before every value and every key: places the separating comma. */
static void separate(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->need_comma[j->depth])
		put(j, ",", 1);
	j->need_comma[j->depth] = true;
}

static void open_(struct json *j, char c)
{
	separate(j);
	if (j->depth >= JSON_MAX_DEPTH) {
		j->error = j->error < 0 ? j->error : -E2BIG;
		return;
	}
	put(j, &c, 1);
	j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_(struct json *j, char c)
{
	if (j->depth == 0 || j->after_key) {
		j->error = j->error < 0 ? j->error : -EINVAL;
		return;
	}
	j->depth--;
	put(j, &c, 1);
}

void json_begin_object(struct json *j)
{
	open_(j, '{');
}

void json_end_object(struct json *j)
{
	close_(j, '}');
}

void json_begin_array(struct json *j)
{
	open_(j, '[');
}

void json_end_array(struct json *j)
{
	close_(j, ']');
}

static void put_escaped(struct json *j, const char *s, size_t len)
{
	size_t i = 0;
	char esc[8];

	put(j, "\"", 1);
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = utf8_lead_len(c);

		if (n > 1 && i + n <= len && utf8_valid(s + i, n)) {
			if (c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {
				/* a C1 control (U+0080..U+009F): the same character,
				 * but no raw CSI for a terminal that shows the JSON */
				snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)s[i + 1]);
				put(j, esc, 6);
			} else
				put(j, s + i, n);
			i += n;
			continue;
		}
		switch (c) {
		case '"':
			put(j, "\\\"", 2);
			break;
		case '\\':
			put(j, "\\\\", 2);
			break;
		case '\n':
			put(j, "\\n", 2);
			break;
		case '\r':
			put(j, "\\r", 2);
			break;
		case '\t':
			put(j, "\\t", 2);
			break;
		default:
			if (c < 0x20 || c >= 0x7f) {
				/* control characters (DEL too: JSON allows it raw, a
				 * terminal does not show it), and bytes outside any
				 * valid sequence */
				snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)c);
				put(j, esc, 6);
			} else {
				put(j, (const char *)&s[i], 1);
			}
		}
		i++;
	}
	put(j, "\"", 1);
}

void json_key(struct json *j, const char *name)
{
	separate(j);
	put_escaped(j, name, strlen(name));
	put(j, ":", 1);
	j->after_key = true;
}

void json_string_len(struct json *j, const char *s, size_t len)
{
	separate(j);
	put_escaped(j, s, len);
}

void json_string(struct json *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	json_string_len(j, s, strlen(s));
}

void json_uint(struct json *j, uint64_t v)
{
	char b[32];

	separate(j);
	snprintf(b, sizeof(b), "%" PRIu64, v);
	puts_(j, b);
}

void json_int(struct json *j, int64_t v)
{
	char b[32];

	separate(j);
	snprintf(b, sizeof(b), "%" PRId64, v);
	puts_(j, b);
}

void json_double(struct json *j, double v)
{
	char b[64];

	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	separate(j);
	snprintf(b, sizeof(b), "%.10g", v);
	puts_(j, b);
}

void json_bool(struct json *j, bool v)
{
	separate(j);
	puts_(j, v ? "true" : "false");
}

void json_null(struct json *j)
{
	separate(j);
	puts_(j, "null");
}

void json_raw(struct json *j, const char *text, size_t len)
{
	separate(j);
	put(j, text, len);
}

void json_kv_string(struct json *j, const char *name, const char *s)
{
	json_key(j, name);
	json_string(j, s);
}

void json_kv_uint(struct json *j, const char *name, uint64_t v)
{
	json_key(j, name);
	json_uint(j, v);
}

void json_kv_int(struct json *j, const char *name, int64_t v)
{
	json_key(j, name);
	json_int(j, v);
}

void json_kv_double(struct json *j, const char *name, double v)
{
	json_key(j, name);
	json_double(j, v);
}

void json_kv_bool(struct json *j, const char *name, bool v)
{
	json_key(j, name);
	json_bool(j, v);
}

void json_kv_null(struct json *j, const char *name)
{
	json_key(j, name);
	json_null(j);
}

int json_finish(struct json *j, char **ret, size_t *ret_len)
{
	int r = j->error;

	if (r == 0 && (j->depth != 0 || j->after_key || !j->buf))
		r = -EINVAL;
	if (r < 0) {
		json_done(j);
		return r;
	}
	*ret = TAKE_PTR(j->buf);
	if (ret_len)
		*ret_len = j->len;
	json_init(j);
	return 0;
}

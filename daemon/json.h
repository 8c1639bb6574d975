/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json.h - a tiny streaming JSON writer whose output is always valid JSON. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 16

/*
 * Values are appended in document order; commas and the ':' after a key are
 * placed by the writer. Memory errors and misuse (too deep, unbalanced) are
 * remembered in `error` and reported by json_finish(), so callers can write
 * a whole document without checking every call.
 *
 * Strings: valid UTF-8 passes through unchanged; '"', '\\' and control
 * characters (< 0x20, DEL, and the C1 controls U+0080..U+009F, as \u00XX)
 * are escaped, so a document holds no raw control byte; bytes that are not part of a valid UTF-8 sequence
 * are written as \u00XX (the byte's value as a code point), so any byte
 * string yields valid JSON and the original bytes remain recognisable.
 */
struct json {
	char *buf;
	size_t len, cap;
	int error; /* first negative errno, sticky */
	unsigned depth;
	bool need_comma[JSON_MAX_DEPTH + 1];
	bool after_key;
};

void json_init(struct json *j);
void json_done(struct json *j); /* frees the buffer; safe to call twice */

void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);

/* An object member name; the next value call writes its value. */
void json_key(struct json *j, const char *name);

void json_string(struct json *j, const char *s); /* NULL writes null */
void json_string_len(struct json *j, const char *s, size_t len);
void json_uint(struct json *j, uint64_t v);
void json_int(struct json *j, int64_t v);
void json_double(struct json *j, double v); /* non-finite values write null */
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* An already rendered JSON value (e.g. another writer's json_finish()). */
void json_raw(struct json *j, const char *text, size_t len);

/* key + value in one call */
void json_kv_string(struct json *j, const char *name, const char *s);
void json_kv_uint(struct json *j, const char *name, uint64_t v);
void json_kv_int(struct json *j, const char *name, int64_t v);
void json_kv_double(struct json *j, const char *name, double v);
void json_kv_bool(struct json *j, const char *name, bool v);
void json_kv_null(struct json *j, const char *name);

/* Returns the document (NUL-terminated, owned by the caller) and its length,
 * or a negative errno when writing failed or the document is unbalanced.
 * The writer is reset either way. */
int json_finish(struct json *j, char **ret, size_t *ret_len);

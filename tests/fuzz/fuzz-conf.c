/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-conf.c - libFuzzer target: hostile /etc/hvkvpd.conf text through conf_parse(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "backend.h"
#include "conf.h"
#include "fuzz-util.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORIGIN "fuzz.conf"

static bool terminated(const char *s, size_t size)
{
	return strnlen(s, size) < size;
}

/* What a successful parse may leave: only values the keys allow. */
static void check_valid(const struct conf *c)
{
	CHECK(terminated(c->backend, sizeof(c->backend)));
	CHECK(backend_name_valid(c->backend));
	CHECK(c->budget_usec >= 1000 * 1000ULL && c->budget_usec <= 25 * 1000 * 1000ULL);
	CHECK(c->budget_usec % (1000 * 1000ULL) == 0);
	CHECK(terminated(c->device, sizeof(c->device)) && c->device[0] == '/');
	CHECK(terminated(c->pool_dir, sizeof(c->pool_dir)) && c->pool_dir[0] == '/');
	CHECK(terminated(c->state_dir, sizeof(c->state_dir)) && c->state_dir[0] == '/');
	CHECK(c->log_level == LOG_ERR || c->log_level == LOG_WARNING ||
	      c->log_level == LOG_NOTICE || c->log_level == LOG_INFO || c->log_level == LOG_DEBUG);
}

/* "fuzz.conf:<line>: <why>", the line within the text. */
static void check_error(const char *err, size_t size, const char *text)
{
	unsigned long line, lines = 1;
	char *end;

	CHECK(terminated(err, size));
	CHECK(strncmp(err, ORIGIN ":", strlen(ORIGIN ":")) == 0);
	line = strtoul(err + strlen(ORIGIN ":"), &end, 10);
	CHECK(*end == ':');
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	CHECK(line >= 1 && line <= lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c, again;
	char *text = malloc(size + 1);
	char err[512], err2[512], tiny[7];
	int r, r2;

	if (!text)
		return 0;
	/* conf_load() refuses NULs; a string stops at the first one anyway */
	memcpy(text, data, size);
	text[size] = '\0';

	conf_defaults(&c);
	r = conf_parse(&c, text, ORIGIN, err, sizeof(err));
	CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r == 0) {
		CHECK(err[0] == '\0');
		check_valid(&c);
	} else if (r == -EINVAL)
		check_error(err, sizeof(err), text);

	/* pure: the same text gives the same answer */
	conf_defaults(&again);
	r2 = conf_parse(&again, text, ORIGIN, err2, sizeof(err2));
	CHECK(r2 == r);
	CHECK(strcmp(err, err2) == 0);
	if (r == 0)
		CHECK(memcmp(&c, &again, sizeof(c)) == 0);

	/* a short error buffer is cut, never overrun */
	memset(tiny, 'x', sizeof(tiny));
	conf_defaults(&again);
	r2 = conf_parse(&again, text, ORIGIN, tiny, sizeof(tiny));
	CHECK(r2 == r);
	CHECK(terminated(tiny, sizeof(tiny)));
	free(text);
	return 0;
}

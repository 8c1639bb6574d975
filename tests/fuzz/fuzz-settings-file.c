/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-settings-file.c - libFuzzer target: hostile hvkvpctl settings files through settings_file_parse(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "settings-file.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORIGIN "fuzz.ini"

static bool terminated(const char *s, size_t size)
{
	return strnlen(s, size) < size;
}

/* Every section, also those kept before a bad line: fields in bounds,
 * names inside the parser's own copy (text_len bytes, the input's length up
 * to its first NUL), headers in file order. */
static void check_sections(const struct settings_file *sf, size_t text_len)
{
	unsigned last = 0;

	CHECK(sf->n <= SETTINGS_FILE_MAX_ADAPTERS);
	for (size_t i = 0; i < sf->n; i++) {
		const struct settings_section *s = &sf->sections[i];
		const struct kvp_ip_fields *f = &s->fields;

		CHECK(s->line > last);
		last = s->line;
		CHECK(s->adapter > sf->text && s->adapter <= sf->text + text_len);
		CHECK(s->adapter[-1] == '[');
		CHECK(f->adapter_id[0] == '\0');
		CHECK(terminated(f->ip_addr, sizeof(f->ip_addr)));
		CHECK(terminated(f->sub_net, sizeof(f->sub_net)));
		CHECK(terminated(f->gate_way, sizeof(f->gate_way)));
		CHECK(terminated(f->dns_addr, sizeof(f->dns_addr)));
		CHECK(f->dhcp_enabled <= 1);
		CHECK(f->addr_family <= (ADDR_FAMILY_IPV4 | ADDR_FAMILY_IPV6));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct settings_file *sf = settings_file_new();
	char *text = malloc(size + 1);
	char err[sizeof(sf->error)];
	size_t n;
	int r, r2;

	if (!sf || !text)
		goto out;
	memcpy(text, data, size);
	text[size] = '\0';

	r = settings_file_parse(sf, text, ORIGIN);
	CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r == -ENOMEM)
		goto out;
	check_sections(sf, strlen(text));
	CHECK(terminated(sf->error, sizeof(sf->error)));
	if (r == 0) {
		CHECK(sf->n >= 1);
		CHECK(sf->error[0] == '\0');
	} else
		CHECK(strncmp(sf->error, ORIGIN ":", strlen(ORIGIN ":")) == 0);

	/* pure, and a second parse into the same object starts afresh */
	n = sf->n;
	strscpy(err, sizeof(err), sf->error);
	r2 = settings_file_parse(sf, text, ORIGIN);
	CHECK(r2 == r);
	CHECK(sf->n == n);
	CHECK(strcmp(sf->error, err) == 0);
out:
	free(text);
	settings_file_free(sf);
	return 0;
}

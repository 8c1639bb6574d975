/* SPDX-License-Identifier: GPL-2.0-or-later */
/* settings-file.c - parse hvkvpctl's settings files; every error names the file and the line. */
#include <stdarg.h>
#include <stdio.h>

#include "ini.h"
#include "settings-file.h"
#include "util.h"

#define KNOWN_KEYS "IPAddresses, Subnets, DefaultGateways, DNSServers, DHCPEnabled, ProtocolIFType"

struct settings_file *settings_file_new(void)
{
	return calloc(1, sizeof(struct settings_file));
}

struct settings_file *settings_file_free(struct settings_file *sf)
{
	if (sf) {
		free(sf->text);
		free(sf);
	}
	return NULL;
}

static int fail(struct settings_file *sf, const char *origin, unsigned line, const char *fmt, ...)
	_printf_(4, 5);
static int fail(struct settings_file *sf, const char *origin, unsigned line, const char *fmt, ...)
{
	size_t size = sizeof(sf->error);
	va_list ap;
	int n;

	n = line ? snprintf(sf->error, size, "%s:%u: ", origin, line)
		 : snprintf(sf->error, size, "%s: ", origin);
	if (n > 0 && (size_t)n < size) {
		va_start(ap, fmt);
		vsnprintf(sf->error + n, size - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int parse_dhcp(const char *v, uint8_t *ret)
{
	if (streq(v, "true") || streq(v, "True") || streq(v, "1"))
		*ret = 1;
	else if (streq(v, "false") || streq(v, "False") || streq(v, "0"))
		*ret = 0;
	else
		return -EINVAL;
	return 0;
}

/* 4096 IPv4, 4097 IPv6, 4098 both: only a hint, as on the wire */
static int parse_protocol(const char *v, uint8_t *ret)
{
	if (streq(v, "4096"))
		*ret = ADDR_FAMILY_IPV4;
	else if (streq(v, "4097"))
		*ret = ADDR_FAMILY_IPV6;
	else if (streq(v, "4098"))
		*ret = ADDR_FAMILY_IPV4 | ADDR_FAMILY_IPV6;
	else
		return -EINVAL;
	return 0;
}

static int set_key(struct settings_file *sf, struct kvp_ip_fields *f, const struct ini_line *l,
		   const char *origin)
{
	const struct {
		const char *key;
		char *field;
		size_t size;
	} lists[] = {
		{ "IPAddresses", f->ip_addr, sizeof(f->ip_addr) },
		{ "Subnets", f->sub_net, sizeof(f->sub_net) },
		{ "DefaultGateways", f->gate_way, sizeof(f->gate_way) },
		{ "DNSServers", f->dns_addr, sizeof(f->dns_addr) },
	};

	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		if (!streq(l->key, lists[i].key))
			continue;
		if (strscpy(lists[i].field, lists[i].size, l->value) < 0)
			return fail(sf, origin, l->number, "%s: longer than the host's field", l->key);
		return 0;
	}
	if (streq(l->key, "DHCPEnabled")) {
		if (parse_dhcp(l->value, &f->dhcp_enabled) < 0)
			return fail(sf, origin, l->number, "DHCPEnabled: '%s' is not true or false",
				    l->value);
		return 0;
	}
	if (streq(l->key, "ProtocolIFType")) {
		if (parse_protocol(l->value, &f->addr_family) < 0)
			return fail(sf, origin, l->number,
				    "ProtocolIFType: '%s' is not 4096 (IPv4), 4097 (IPv6) or 4098 (both)",
				    l->value);
		return 0;
	}
	return fail(sf, origin, l->number, "unknown key '%s' (" KNOWN_KEYS ")", l->key);
}

static int add_section(struct settings_file *sf, const struct ini_line *l, const char *origin)
{
	struct settings_section *s;

	if (sf->n >= ARRAY_SIZE(sf->sections))
		return fail(sf, origin, l->number, "more than %zu adapters",
			    ARRAY_SIZE(sf->sections));
	s = &sf->sections[sf->n++];
	memset(s, 0, sizeof(*s));
	s->line = l->number;
	s->adapter = l->section;
	return 0;
}

static int parse_line(struct settings_file *sf, const struct ini_line *l, const char *origin)
{
	struct settings_section *cur = sf->n ? &sf->sections[sf->n - 1] : NULL;

	switch (l->kind) {
	case INI_SECTION:
		return add_section(sf, l, origin);
	case INI_BAD_SECTION:
		return fail(sf, origin, l->number, "'%s' is not a [section]", l->text);
	case INI_ASSIGNMENT:
		if (cur)
			return set_key(sf, &cur->fields, l, origin);
		break;
	case INI_NOT_ASSIGNMENT:
	case INI_TOO_LONG:
		break;
	}
	return fail(sf, origin, l->number, "%s",
		    cur ? "expected Key=Value" : "a [adapter] section must come first");
}

int settings_file_parse(struct settings_file *sf, const char *text, const char *origin)
{
	struct ini_line l;
	struct ini t;
	int r;

	free(sf->text);
	sf->n = 0;
	sf->error[0] = '\0';
	sf->text = strdup(text);
	if (!sf->text)
		return -ENOMEM;
	ini_init(&t, sf->text, 0);
	while (ini_next(&t, &l) > 0) {
		r = parse_line(sf, &l, origin);
		if (r < 0)
			return r;
	}
	if (sf->n == 0)
		return fail(sf, origin, 0, "no [adapter] section");
	return 0;
}

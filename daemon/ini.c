/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ini.c - the INI-style line tokenizer shared by the configuration and the settings files. */
#include <stdbool.h>
#include <string.h>

#include "ini.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Drops trailing blanks and '\r' from s[0..*end) in place. */
static void strip_tail(char *s, char **end)
{
	char *e = *end;

	while (e > s && (is_blank(e[-1]) || e[-1] == '\r'))
		*--e = '\0';
	*end = e;
}

void ini_init(struct ini *t, char *text, size_t max_length)
{
	t->next = text;
	t->line = 0;
	t->max_length = max_length;
}

static void classify(char *s, char *e, struct ini_line *l)
{
	char *eq, *k;

	l->text = s;
	if (*s == '[') {
		if (e - s >= 2 && e[-1] == ']') {
			e[-1] = '\0';
			l->kind = INI_SECTION;
			l->section = s + 1;
		} else
			l->kind = INI_BAD_SECTION;
		return;
	}
	eq = strchr(s, '=');
	if (!eq) {
		l->kind = INI_NOT_ASSIGNMENT;
		return;
	}
	/* text keeps pointing at the key: it is cut at the '=' */
	*eq = '\0';
	k = eq;
	strip_tail(s, &k);
	l->kind = INI_ASSIGNMENT;
	l->key = s;
	l->value = eq + 1;
	while (is_blank(*l->value))
		l->value++;
}

int ini_next(struct ini *t, struct ini_line *ret)
{
	while (*t->next) {
		char *s = t->next, *eol = strchr(s, '\n'), *e;

		if (eol) {
			*eol = '\0';
			t->next = eol + 1;
		} else
			t->next = s + strlen(s);
		t->line++;
		e = eol ? eol : t->next;

		memset(ret, 0, sizeof(*ret));
		ret->number = t->line;
		ret->length = (size_t)(e - s);
		if (t->max_length && ret->length > t->max_length) {
			ret->kind = INI_TOO_LONG;
			return 1;
		}
		while (is_blank(*s))
			s++;
		strip_tail(s, &e);
		if (!*s || *s == '#' || *s == ';')
			continue;
		classify(s, e, ret);
		return 1;
	}
	return 0;
}

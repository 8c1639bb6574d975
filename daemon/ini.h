/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ini.h - the one INI-style line tokenizer behind hvkvpd.conf and hvkvpctl's settings files. */
#pragma once

#include <stddef.h>

/*
 * Splits text into lines and classifies each one; what a section or a key
 * means is the caller's business. The rules both files share:
 *
 *   - lines end at '\n'; a line longer than the limit given to ini_init()
 *     is reported as such and not looked into;
 *   - blanks (space, tab) around a line and a trailing
 *     '\r' (files written on Windows) are ignored;
 *   - empty lines and lines starting with '#' or ';' are skipped;
 *   - "[name]" is a section header, a line starting with '[' but not
 *     ending in ']' is a broken one;
 *   - "Key = Value" is split at the first '='; blanks around the key and
 *     before the value are dropped, the value is otherwise kept as written.
 *
 * Pure: no allocation, no I/O. The text is modified in place (NULs are
 * written over line ends and separators).
 */

enum ini_kind {
	INI_TOO_LONG,	    /* longer than max_length: only number and length are set */
	INI_SECTION,	    /* section is the name between the brackets (text lost the ']') */
	INI_BAD_SECTION,    /* starts with '[' but does not end with ']' */
	INI_ASSIGNMENT,	    /* key and value are set */
	INI_NOT_ASSIGNMENT, /* anything else: no '=' on the line */
};

struct ini_line {
	unsigned number; /* 1-based */
	size_t length;	 /* as in the file, without the '\n' */
	enum ini_kind kind;
	char *text; /* the line without surrounding blanks; an assignment's is
		     * cut at the '=', a section's loses its ']' */
	char *section;
	char *key;
	char *value;
};

struct ini {
	char *next;
	unsigned line;
	size_t max_length;
};

/* max_length 0 means no limit on the length of a line. */
void ini_init(struct ini *t, char *text, size_t max_length);

/* Returns 1 and fills *ret with the next meaningful line, 0 at the end. */
int ini_next(struct ini *t, struct ini_line *ret);

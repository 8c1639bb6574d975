/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-util.c - temp directories for the suites that need files. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "test-util.h"

void test_tmpdir(char *buf, size_t size, const char *name)
{
	if ((size_t)snprintf(buf, size, "/tmp/hvkvpd-test-%s-XXXXXX", name) >= size || !mkdtemp(buf))
		abort();
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void test_rm_tree(const char *path)
{
	if (*path)
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

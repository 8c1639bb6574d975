/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-util.h - temp directories for the suites that need files. */
#pragma once

#include <stddef.h>

/* mkdtemp() of "/tmp/hvkvpd-test-<name>-XXXXXX" into buf; aborts on failure
 * (it runs in unchecked fixtures, outside any test). */
void test_tmpdir(char *buf, size_t size, const char *name);

/* Removes a tree (no-op for ""), ignoring errors: cleanup after failed tests. */
void test_rm_tree(const char *path);

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# replay.sh - make check: replay each fuzz target's committed corpus through its replay build.
set -eu

# TESTS_ENVIRONMENT sets both; the fallbacks let it run by hand from the build tree.
top_srcdir=${top_srcdir:-$(dirname "$0")/../..}
top_builddir=${top_builddir:-.}

status=0
for target in fuzz-kvp-msg fuzz-pool-file fuzz-failover fuzz-state fuzz-conf fuzz-settings-file \
	fuzz-dispatch fuzz-resolv-conf fuzz-networkd-state fuzz-addr-probe fuzz-ifupdown; do
	corpus=$top_srcdir/tests/fuzz/corpus/${target#fuzz-}
	bin=$top_builddir/tests/fuzz/$target

	# An empty corpus replays nothing and so can never fail: refuse it.
	if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus" 2>/dev/null)" ]; then
		echo "FAIL: $target: corpus $corpus is missing or empty"
		status=1
		continue
	fi
	if [ ! -x "$bin" ]; then
		echo "FAIL: $target: $bin not built"
		status=1
		continue
	fi
	if "$bin" "$corpus/"; then
		echo "PASS: $target"
	else
		echo "FAIL: $target: replay of $corpus exited $?"
		status=1
	fi
done
exit $status

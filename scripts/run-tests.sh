#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-tests.sh - the one command that installs everything and runs every test:
#   1. dependencies (apt-get, idempotent)
#   2. a sanitizer build (ASan+UBSan, -Werror): unit suites + fuzz corpus replay
#   3. a plain build (-Werror): unit suites once under valgrind, then the
#      integration tests (namespaces, veth, the emulator, Debian's daemon)
#   4. the system tests: Debian and RPM packages, booted guests (nspawn;
#      QEMU with TCG for udev, the device policy and a real kernel device)
#   5. make distcheck
# and closes with "N passed, N failed, N skipped" over all of it.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

pass=0 fail=0 skip=0
step() { echo; echo "==== $*"; }
ok() { pass=$((pass + $1)); }
ko() { fail=$((fail + $1)); }

if [ "${HVKVP_SKIP_DEPS:-0}" != 1 ]; then
	step "dependencies"
	./scripts/install-deps.sh || { echo "cannot install dependencies"; exit 1; }
fi

step "autogen"
./autogen.sh >/dev/null 2>&1 || { ./autogen.sh; exit 1; }

jobs=$(nproc)

# Counts check's "NN%: Checks: N, Failures: F, Errors: E" line into the totals.
count_check() {
	local line n f e
	line=$(grep -E '^[0-9]+%: Checks: ' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		ko 1
		return
	fi
	n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
	f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
	e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
	ok $((n - f - e))
	ko $((f + e))
}

# Counts run.sh's closing "integration: N passed, N failed, N skipped" line
# into the totals; a missing line is a failure.
count_runner() {
	local line
	line=$(grep -E '^integration: [0-9]+ passed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		ko 1
		return
	fi
	ok "$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")"
	ko "$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
	skip=$((skip + $(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")))
}

build() { # dir configure-args...
	local dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" --enable-werror "$@" >configure.out 2>&1) ||
		{ cat "$dir/configure.out"; return 1; }
	make -C "$dir" -j"$jobs" >"$dir/make.out" 2>&1 || { tail -n 60 "$dir/make.out"; return 1; }
}

step "sanitizer build (ASan + UBSan): unit suites and fuzz corpus replay"
san=$top/build/sanitizers
if build "$san" --enable-asan --enable-ubsan; then
	make -C "$san" -j"$jobs" check >"$san/check.out" 2>&1
	rc=$?
	cat "$san/tests/unit/unit-tests.log" 2>/dev/null | tail -n 3
	count_check "$san/tests/unit/unit-tests.log"
	if grep -q '^PASS: tests/fuzz/replay.sh' "$san/check.out"; then
		ok 1
		grep -h 'replayed' "$san/tests/fuzz/replay.sh.log" || true
	else
		ko 1
		echo "fuzz corpus replay FAILED"
		cat "$san/tests/fuzz/replay.sh.log" 2>/dev/null | tail -n 30
	fi
	[ $rc -eq 0 ] || { echo "make check failed in the sanitizer build"; tail -n 40 "$san/check.out"; }
else
	ko 1
fi

step "plain build: unit suites under valgrind"
plain=$top/build/plain
if build "$plain"; then
	make -C "$plain" -j"$jobs" tests/unit/unit-tests tests/integration/kvp-probe >/dev/null 2>&1
	CK_FORK=no valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$plain/tests/unit/unit-tests" >"$plain/valgrind.out" 2>&1
	rc=$?
	tail -n 2 "$plain/valgrind.out"
	if [ $rc -eq 0 ]; then ok 1; else ko 1; echo "valgrind run FAILED (exit $rc)"; tail -n 40 "$plain/valgrind.out"; fi

	step "integration tests (network namespaces, emulator, Debian's hv_kvp_daemon)"
	top_srcdir=$top top_builddir=$plain HV_TEST_LOGDIR=$plain/tests/integration/logs \
		"$top/tests/integration/run.sh" | tee "$plain/integration.out"
	count_runner "$plain/integration.out"

	step "system tests (Debian and RPM packages; booted Debian 12 guests under systemd-nspawn and QEMU)"
	# the QEMU guest's image (kernel, test module, packages; cached in the
	# build tree), built first: on a fresh clone it takes minutes, which
	# would count against test-qemu.sh's time limit in run.sh
	t0=$SECONDS
	HV_QEMU_PREPARE_ONLY=1 top_srcdir=$top top_builddir=$plain \
		bash "$top/tests/system/test-qemu.sh" >"$plain/qemu-image.out" 2>&1
	echo "QEMU image: exit $? in $((SECONDS - t0)) s ($(tail -n 1 "$plain/qemu-image.out"))"
	top_srcdir=$top top_builddir=$plain HV_TEST_LOGDIR=$plain/tests/system/logs \
		"$top/tests/integration/run.sh" "$top"/tests/system/test-*.sh | tee "$plain/system.out"
	count_runner "$plain/system.out"

	step "make distcheck"
	if make -C "$plain" distcheck >"$plain/distcheck.out" 2>&1; then
		ok 1
		grep -E 'archives ready|\.tar\.' "$plain/distcheck.out" | tail -n 2
	else
		ko 1
		echo "distcheck FAILED"
		tail -n 60 "$plain/distcheck.out"
	fi
else
	ko 1
fi

echo
echo "all: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

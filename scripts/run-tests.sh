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
t_step=$SECONDS
step() { echo; echo "==== [$((SECONDS - t_step)) s since the start] $*"; }
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
	make -C "$plain" -j"$jobs" tests/unit/unit-tests tests/integration/kvp-probe \
		tests/integration/revert-driver >/dev/null 2>&1
	# The system tests (booted guests) spend most of their time waiting for
	# guests, so they run beside the integration tests, in two lanes of
	# their own: test-boot.sh (three idle minutes under the watchdog) and
	# the others in turn. Each test has its own namespaces; the guests'
	# cached rootfs and packages are built once, under a lock
	# (lib-guest.sh). Their output follows the integration tests'.
	sysenv=(top_srcdir=$top top_builddir=$plain HV_TEST_LOGDIR=$plain/tests/system/logs)
	lane_a=() lane_b=()
	for t in "$top"/tests/system/test-*.sh; do
		case $t in
		*/test-boot.sh) lane_b+=("$t") ;;
		*) lane_a+=("$t") ;;
		esac
	done
	t_sys=$SECONDS
	# lane a builds the QEMU guest's image first (cached in the build tree):
	# on a fresh clone that takes minutes, which would count against
	# test-qemu.sh's time limit in run.sh
	( t0=$SECONDS
	  HV_QEMU_PREPARE_ONLY=1 env "${sysenv[@]}" bash "$top/tests/system/test-qemu.sh" >"$plain/qemu-image.out" 2>&1
	  echo "QEMU image: exit $? in $((SECONDS - t0)) s ($(tail -n 1 "$plain/qemu-image.out"))" >"$plain/system-a.out"
	  env "${sysenv[@]}" "$top/tests/integration/run.sh" "${lane_a[@]}" >>"$plain/system-a.out" 2>&1
	  echo "lane done in $((SECONDS - t_sys)) s" >>"$plain/system-a.out" ) &
	pid_a=$!
	( env "${sysenv[@]}" "$top/tests/integration/run.sh" "${lane_b[@]}" >"$plain/system-b.out" 2>&1
	  echo "lane done in $((SECONDS - t_sys)) s" >>"$plain/system-b.out" ) &
	pid_b=$!
	CK_FORK=no valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$plain/tests/unit/unit-tests" >"$plain/valgrind.out" 2>&1
	rc=$?
	tail -n 2 "$plain/valgrind.out"
	if [ $rc -eq 0 ]; then ok 1; else ko 1; echo "valgrind run FAILED (exit $rc)"; tail -n 40 "$plain/valgrind.out"; fi

	step "integration tests (network namespaces, emulator, Debian's hv_kvp_daemon), the system tests beside them"
	top_srcdir=$top top_builddir=$plain HV_TEST_LOGDIR=$plain/tests/integration/logs \
		"$top/tests/integration/run.sh" | tee "$plain/integration.out"
	count_runner "$plain/integration.out"
	echo "(integration tests: $((SECONDS - t_sys)) s)"

	step "system tests (Debian and RPM packages; booted Debian 12 guests under systemd-nspawn and QEMU)"
	wait "$pid_a" "$pid_b"
	for lane in a b; do
		cat "$plain/system-$lane.out"
		count_runner "$plain/system-$lane.out"
	done

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
echo "total time: $((SECONDS - t_step)) s"
echo "all: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

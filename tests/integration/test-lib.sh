#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-lib.sh - the harness itself: a check fails when any of its steps fails, and stops what it started.
set -eu
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
HV_LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hvkvp-lib.XXXXXX")
trap 'rm -rf "$HV_LOG_DIR"' EXIT

# The checks under test run in a nested copy of the counters, so that their
# expected failures do not fail this test.
run_inner() { # FUNC: runs FUNC as one hv_check; prints "pass" or "fail"
	local before=$HV_CHECK_FAILURES
	hv_check "inner: $1" "$1" >/dev/null
	if [ "$HV_CHECK_FAILURES" -eq "$before" ]; then
		echo pass
	else
		HV_CHECK_FAILURES=$before
		echo fail
	fi
}

setup_step_fails() { # a failing setup step in the middle, a passing assertion last
	false
	true
}
substitution_fails() { # a failing command substitution in an assignment
	local x
	x=$(false)
	[ -z "$x" ]
}
helper_fails() {
	inner() { return 3; }
	inner
	true
}
last_passes() { true; }
or_list_is_handled() { false || true; }

sleeper_pid_file=$HV_LOG_DIR/sleeper.pid
starts_and_fails() { # starts a process, then fails: the check must stop it
	sleep 300 &
	hv_track_pid $!
	echo $! >"$sleeper_pid_file"
	false
}

verdict() { # NAME EXPECTED
	local got
	got=$(run_inner "$1")
	[ "$got" = "$2" ] && return 0
	echo "$1: the check should $2, it did $got"
	return 1
}

check_failing_steps_fail() {
	verdict setup_step_fails fail
	verdict substitution_fails fail
	verdict helper_fails fail
}
check_passing_passes() {
	verdict last_passes pass
	verdict or_list_is_handled pass
}
check_stops_pids() {
	verdict starts_and_fails fail
	local p
	p=$(cat "$sleeper_pid_file")
	if hv_alive "$p"; then
		echo "pid $p outlived its check"
		kill "$p"
		return 1
	fi
}
check_log_named() {
	local out
	out=$(hv_check "named failure" false)
	HV_CHECK_FAILURES=0
	grep -q '^FAIL - named failure' <<<"$out" || { echo "no FAIL line: $out"; return 1; }
	grep -q "full log: $HV_LOG_DIR/checks/" <<<"$out" || { echo "no log path: $out"; return 1; }
}
check_wait_in_subshell() {
	local p out rc=0
	sleep 0.2 &
	p=$!
	out=$(hv_wait "$p" 5 2>&1) || rc=$?
	hv_wait "$p" 5
	[ "$rc" -eq 2 ] || { echo "hv_wait inside \$(...) returned $rc: $out"; return 1; }
}

hv_check "a failing step fails its check (set -e in force)" check_failing_steps_fail
hv_check "a passing check passes; handled failures (||) do not count" check_passing_passes
hv_check "a failed check stops the processes it started" check_stops_pids
hv_check "a failed check is named with the path of its log" check_log_named
hv_check "hv_wait refuses a pid that is not this shell's child" check_wait_in_subshell
hv_checks_done

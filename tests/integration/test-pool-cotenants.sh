#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-pool-cotenants.sh - the pool files' other users: unprivileged lock
# holders, cloud-init's reporter under kill -9, a lock-less appender next to
# hvkvpd and next to Debian's daemon, links and oversized files.
set -eu
. "$(dirname "$0")/lib.sh"
hv_require_root
hv_require_cmd setpriv flock python3 md5sum

cache=${HV_CACHE_DIR:-$top_builddir/tests/integration/cache}
# fetched before entering the sandbox, whose network namespace has no route out
deb=$(hv_fetch_debian_daemon) || deb=
ci_deb=$(ls "$cache"/cloud-init_*.deb 2>/dev/null | tail -n 1) || true
if [ -z "$ci_deb" ]; then
	(mkdir -p "$cache" && cd "$cache" && apt-get download cloud-init >/dev/null 2>&1) || true
	ci_deb=$(ls "$cache"/cloud-init_*.deb 2>/dev/null | tail -n 1) || true
fi
hv_sandbox "$@"

helper=$top_srcdir/tests/integration/pool-cotenant.py
# Debian's own interpreter: the one apt installs cloud-init's modules for, and
# one that user nobody may run
PY=/usr/bin/python3
pools=/var/lib/hyperv
pool() { echo "$pools/.kvp_pool_$1"; }
# bounds, with room for a loaded machine: the lock wait is 2 s (pool.h)
LOCKED_MAX_US=3500000
FREE_MAX_US=1000000

hv_start_emu
hv_start_hvkvpd

for p in 0 1 3 4; do
	hv_ctl set --pool $p --key "host-$p" --value "before" >/dev/null
done

# waits until /proc/locks shows a lock on FILE
lock_shows() {
	grep -q ":$(stat -c %i "$1") " /proc/locks
}
wait_lock() { # FILE HOLDER_PID
	hv_wait_for 10 lock_shows "$1" && return 0
	echo "no lock on $1 (inode $(stat -c %i "$1")) by pid $2 (alive: $(hv_alive "$2" && echo yes || echo no)):"
	cat /proc/locks
	return 1
}

# Checks that restart hvkvpd do it inside their subshell, where the daemon
# is stopped when the check ends: each check starts one if none runs.
ensure_hvkvpd() {
	hv_alive "${HVKVPD_PID:-0}" || hv_start_hvkvpd
}

# SET on the locked pool P answers HV_ERROR_MACHINE_LOCKED within the bound
# and changes nothing; the other pools and the auto pool answer at once.
check_locked_pool() { # P HOLDER_PID
	local p=$1 holder=$2 sum out code us q
	sum=$(md5sum <"$(pool "$p")")
	out=$(hv_ctl --wait 30 set --pool "$p" --key "host-$p" --value "changed")
	code=$(hv_json "$out" .code_name)
	us=$(hv_json "$out" .elapsed_us)
	echo "locked pool $p: SET -> $code after $us us"
	[ "$code" = HV_ERROR_MACHINE_LOCKED ]
	[ "$us" -lt "$LOCKED_MAX_US" ]
	for q in 0 1 3 4; do
		[ "$q" != "$p" ] || continue
		out=$(hv_ctl --wait 30 set --pool "$q" --key "host-$q" --value "during")
		us=$(hv_json "$out" .elapsed_us)
		echo "free pool $q: SET -> $(hv_json "$out" .code_name) after $us us"
		hv_json_is "$out" .code_name HV_S_OK
		[ "$us" -lt "$FREE_MAX_US" ]
	done
	out=$(hv_ctl --wait 30 enumerate-all --pool 2)
	hv_json_is "$out" '.items | length' 10
	# a second request on the locked pool gives up sooner
	out=$(hv_ctl --wait 30 delete --pool "$p" --key "host-$p")
	us=$(hv_json "$out" .elapsed_us)
	echo "locked pool $p again: DELETE -> $(hv_json "$out" .code_name) after $us us"
	hv_json_is "$out" .code_name HV_ERROR_MACHINE_LOCKED
	[ "$us" -lt "$FREE_MAX_US" ]
	echo "pool $p before: $sum, after: $(md5sum <"$(pool "$p")")"
	[ "$sum" = "$(md5sum <"$(pool "$p")")" ]
	echo "the holder is pid ${holder:-unknown}; hvkvpd said:"
	grep "$(pool "$p"): locked by ${holder:+process $holder }" "$HV_TMP/hvkvpd.log"
}

unprivileged_flock() {
	local holder
	ensure_hvkvpd
	# one process holding the lock: a shell that takes it with flock(1)
	# on a read-only descriptor, then becomes sleep
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		bash -c 'exec 9<"$1"; flock -x 9; exec sleep 60' _ "$(pool 0)" &
	holder=$!
	hv_track_pid "$holder"
	wait_lock "$(pool 0)" "$holder"
	# /proc/locks names flock(1), gone since: no pid to name
	check_locked_pool 0 ""
	# reads are answered from the unchanged cache
	hv_json_is "$(hv_ctl get --pool 0 --key host-0)" .code_name HV_S_OK
	# started with the lock held: registers anyway, the pool answers busy
	hv_stop "$HVKVPD_PID"
	hv_start_hvkvpd
	hv_json_is "$(hv_ctl --wait 30 set --pool 0 --key host-0 --value x)" .code_name \
		HV_ERROR_MACHINE_LOCKED
	hv_json_is "$(hv_ctl --wait 30 set --pool 1 --key host-1 --value x)" .code_name HV_S_OK
	hv_stop "$holder"
	hv_json_is "$(hv_ctl --wait 30 set --pool 0 --key host-0 --value after)" .code_name HV_S_OK
	grep -q "$(pool 0): no longer locked" "$HV_TMP/hvkvpd.log"
}
hv_check "an unprivileged flock -x holder: bounded answer, other pools at once" unprivileged_flock

unprivileged_read_lock() {
	local holder
	ensure_hvkvpd
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$PY" -c 'import fcntl, sys, time
f = open(sys.argv[1], "rb")
fcntl.lockf(f, fcntl.LOCK_SH)
time.sleep(60)' "$(pool 1)" &
	holder=$!
	hv_track_pid "$holder"
	wait_lock "$(pool 1)" "$holder"
	check_locked_pool 1 "$holder"
	hv_json_is "$(hv_ctl get --pool 1 --key host-1)" .code_name HV_S_OK
	hv_stop "$holder"
	hv_json_is "$(hv_ctl --wait 30 set --pool 1 --key host-1 --value after)" .code_name HV_S_OK
}
hv_check "an unprivileged fcntl read-lock holder: bounded answer, other pools at once" \
	unprivileged_read_lock

# ---- bounded resources and refused files ------------------------------------------

symlink_refused() {
	local target=$HV_TMP/not-a-pool
	ensure_hvkvpd
	hv_stop "$HVKVPD_PID"
	printf 'precious' >"$target"
	rm -f "$(pool 4)"
	ln -s "$target" "$(pool 4)"
	hv_start_hvkvpd
	hv_json_is "$(hv_ctl --wait 30 set --pool 4 --key k --value v)" .code_name HV_E_FAIL
	hv_json_is "$(hv_ctl --wait 30 set --pool 0 --key k --value v)" .code_name HV_S_OK
	[ "$(cat "$target")" = precious ]
	[ -L "$(pool 4)" ]
	grep "$(pool 4): is a symbolic link" "$HV_TMP/hvkvpd.log"
	rm "$(pool 4)"
	hv_json_is "$(hv_ctl --wait 30 set --pool 4 --key k --value v)" .code_name HV_S_OK
}
hv_check "a symbolic link in place of a pool file is refused, never followed" symlink_refused

oversized_pools() {
	local before3 before1 hwm
	ensure_hvkvpd
	hv_stop "$HVKVPD_PID"
	truncate -s 11G "$(pool 3)"
	truncate -s 2G "$(pool 1)"
	before3=$(stat -c '%s %Y' "$(pool 3)")
	before1=$(stat -c '%s %Y' "$(pool 1)")
	hv_start_hvkvpd
	hv_json_is "$(hv_ctl --wait 30 set --pool 3 --key k --value v)" .code_name \
		HV_ERROR_DISK_FULL
	hv_json_is "$(hv_ctl --wait 30 delete --pool 1 --key k)" .code_name HV_ERROR_DISK_FULL
	hv_json_is "$(hv_ctl --wait 30 set --pool 0 --key k --value v2)" .code_name HV_S_OK
	hv_json_is "$(hv_ctl --wait 30 enumerate --pool 3 --index 0)" .code_name HV_S_OK
	# what changes the file (and would reload it): cut it down, then grow it
	truncate -s 5120 "$(pool 4)"
	hv_json_is "$(hv_ctl --wait 30 set --pool 4 --key k2 --value v)" .code_name HV_S_OK
	[ "$before3" = "$(stat -c '%s %Y' "$(pool 3)")" ]
	[ "$before1" = "$(stat -c '%s %Y' "$(pool 1)")" ]
	grep "$(pool 3): holds 11811160064 bytes" "$HV_TMP/hvkvpd.log"
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$HVKVPD_PID/status")
	echo "hvkvpd with an 11 GiB and a 2 GiB pool: VmHWM $hwm KiB"
	[ "$hwm" -lt $((200 * 1024)) ]
	hv_stop "$HVKVPD_PID"
	rm -f "$(pool 1)" "$(pool 3)" "$(pool 4)"
	hv_start_hvkvpd
}
hv_check "oversized pools are served read-only within bounded memory, unchanged" oversized_pools

# ---- cloud-init's reporter while the host writes and hvkvpd is killed ----------------

ci_root=$HV_TMP/cloud-init
ci_ready=
if [ -n "$ci_deb" ] && dpkg -x "$ci_deb" "$ci_root" 2>/dev/null &&
	PYTHONPATH=$ci_root/usr/lib/python3/dist-packages "$PY" -c \
		'from cloudinit.reporting.handlers import HyperVKvpReportingHandler' 2>"$HV_TMP/ci-import.log"; then
	ci_ready=1
fi

# host SETs and DELETEs on pool 1 until STOPFILE exists (answers ignored:
# hvkvpd is killed under them)
# Each HV_S_OK answer adds a line to OKFILE.
host_load() { # STOPFILE OKFILE
	local i=0
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		hv_ctl --wait 2 set --pool 1 --key "host-$((i % 7))" --value "value $i" 2>/dev/null |
			grep -o '"code_name":"HV_S_OK"' >>"$2" || true
		if [ $((i % 3)) -eq 0 ]; then
			hv_ctl --wait 2 delete --pool 1 --key "host-$(((i * 5) % 7))" 2>/dev/null |
				grep -o '"code_name":"HV_S_OK"' >>"$2" || true
		fi
	done
}

cloud_init_kills() {
	local stop=$HV_TMP/ci-stop log=$HV_TMP/ci-written.log ci host kills=0 tries=0 out
	ensure_hvkvpd
	[ -n "$ci_ready" ] || { echo "cloud-init cannot run here: $(cat "$HV_TMP/ci-import.log")"; false; }
	rm -f "$stop" "$log"
	: >"$(pool 1)"
	PYTHONPATH=$ci_root/usr/lib/python3/dist-packages \
		"$PY" "$helper" cloud-init "$(pool 1)" "$stop" "$log" 2>"$HV_TMP/ci.log" &
	ci=$!
	hv_track_pid "$ci"
	: >"$HV_TMP/host-ok.log"
	host_load "$stop" "$HV_TMP/host-ok.log" &
	host=$!
	hv_track_pid "$host"
	while [ "$kills" -lt "${HV_POOL_KILLS:-120}" ] && [ "$tries" -lt 1000 ]; do
		tries=$((tries + 1))
		sleep "0.$((RANDOM % 25))"
		! kill -KILL "$HVKVPD_PID" 2>/dev/null || kills=$((kills + 1))
		hv_stop "$HVKVPD_PID"
		"$HV_HVKVPD" --device /dev/vmbus/hv_kvp --pool-dir "$pools" \
			>>"$HV_TMP/hvkvpd.log" 2>&1 </dev/null &
		HVKVPD_PID=$!
		hv_track_pid "$HVKVPD_PID"
	done
	touch "$stop"
	hv_wait "$ci" 30
	hv_wait "$host" 30
	# the last one finishes what a kill cut short, and exits cleanly
	hv_stop "$HVKVPD_PID"
	hv_start_hvkvpd
	hv_stop "$HVKVPD_PID"
	echo "kill -9 of hvkvpd: $kills (restarts: $tries); host SET/DELETE answered HV_S_OK: $(wc -l <"$HV_TMP/host-ok.log")"
	[ "$kills" -ge "${HV_POOL_KILLS:-120}" ]
	out=$("$PY" "$helper" check "$(pool 1)" "$log" cloud-init)
	echo "$out"
	out=$(tail -n 1 <<<"$out")
	[ "$(hv_json "$out" .written)" -gt 100 ]
	[ "$(wc -l <"$HV_TMP/host-ok.log")" -gt 100 ]
	hv_json_is "$out" .lost 0
	hv_json_is "$out" .dup 0
	hv_json_is "$out" .torn 0
	hv_not grep -q 'failed posting events' "$HV_TMP/ci.log"
	hv_start_hvkvpd
}
if [ -n "$ci_deb" ]; then
	hv_check "cloud-init's reporter: no record lost, torn or doubled across 120 kill -9" \
		cloud_init_kills
else
	echo "# cloud-init's package could not be fetched: its check does not run"
	HV_CHECK_FAILURES=$((HV_CHECK_FAILURES + 1))
	HV_FAILED_CHECKS+=("cloud-init's reporter (package not fetched)")
fi

# ---- a writer without locks (LISA's kvp_client) under host SET load -----------------

# prints the lost count of COUNT lock-less appends while the host SETs pool 1
lockless_run() { # NAME COUNT
	local log=$HV_TMP/ll-$1.log host out t0
	rm -f "$log"
	t0=$(hv_ctl status | jq .transactions)
	# back-to-back SETs of 30 keys (each one a whole-file rewrite for
	# Debian's daemon), until stopped
	hv_ctl --wait 5 bench --op set --pool 1 --count 1000000 --keys 30 \
		--key-prefix host- >"$HV_TMP/bench-$1.log" 2>&1 &
	host=$!
	hv_track_pid "$host"
	sleep 0.5
	"$PY" "$helper" lockless "$(pool 1)" "$2" "$log"
	hv_alive "$host" || { echo "the host's SET load ended early: $(cat "$HV_TMP/bench-$1.log")" >&2; return 1; }
	hv_stop "$host"
	echo "$1: host SETs during the appends: $(($(hv_ctl status | jq .transactions) - t0))" >&2
	out=$("$PY" "$helper" check "$(pool 1)" "$log" lockless)
	echo "$1: $(head -n 1 <<<"$out")" >&2
	hv_json "$(tail -n 1 <<<"$out")" .lost
}

lockless_vs_debian() {
	local ours theirs root upstream n=${HV_POOL_LOCKLESS:-400}
	ensure_hvkvpd
	[ -n "$deb" ] || { echo "Debian's hyperv-daemons could not be fetched"; false; }
	root=$HV_TMP/debian
	dpkg -x "$deb" "$root"
	upstream=$root/usr/sbin/hv_kvp_daemon

	hv_stop "$HVKVPD_PID"
	rm -f "$pools"/.kvp_pool_*
	hv_start_hvkvpd
	ours=$(lockless_run hvkvpd "$n")
	hv_stop "$HVKVPD_PID"

	rm -f "$pools"/.kvp_pool_*
	"$upstream" -n >"$HV_TMP/upstream.log" 2>&1 &
	local up=$!
	hv_track_pid "$up"
	hv_ctl --wait 20 wait-registered >/dev/null
	theirs=$(lockless_run debian "$n")
	hv_stop "$up"
	echo "lock-less appends lost under host SET load: hvkvpd $ours of $n, Debian's hv_kvp_daemon $theirs of $n"
	[ "$ours" -le "$theirs" ]
	hv_start_hvkvpd
}
hv_check "a lock-less appender loses no more next to hvkvpd than next to Debian's daemon" \
	lockless_vs_debian

hv_checks_done

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-restart.sh - kill -9 and SIGTERM while the canonical-name lookup hangs:
# the lookup child goes with the daemon, and a restart registers within 3 s.
set -eu
. "$(dirname "$0")/lib.sh"
hv_require_root
hv_sandbox "$@"
hv_require_cmd getent timeout

# ---- a resolver that never answers --------------------------------------------------
# Only DNS resolves host names here, and the one name server is a neighbour
# on a veth whose frames nobody takes: queries vanish without an ICMP error,
# so getaddrinfo() waits out the resolver's timeouts (30 s x 5) as it does
# when a guest's DNS server is unreachable.
hv_private_overlay /etc
rm -f /etc/resolv.conf /etc/hosts
printf 'nameserver 198.18.53.2\noptions timeout:30 attempts:5\n' >/etc/resolv.conf
printf '127.0.0.1 localhost\n' >/etc/hosts
if [ -e /etc/nsswitch.conf ]; then
	sed -i '/^hosts:/d' /etc/nsswitch.conf
fi
echo 'hosts: dns' >>/etc/nsswitch.conf
ip link add hvdns0 type veth peer name hvdns1
ip addr add 198.18.53.1/24 dev hvdns0
ip link set hvdns0 up
ip link set hvdns1 up
ip neigh replace 198.18.53.2 lladdr 02:00:00:00:53:02 dev hvdns0 nud permanent

rc=0
timeout 2 getent ahostsv4 "$(hostname)" >/dev/null || rc=$?
[ "$rc" -eq 124 ] || hv_fail "the host name lookup does not hang here (getent exit $rc)"
echo "ok - a lookup of $(hostname) hangs"

hv_start_emu

# ---- helpers ---------------------------------------------------------------------------

# now_ms: monotonic enough for figures of a few seconds
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# children PID: the pids of PID's children, one per line
children() {
	local f
	for f in /proc/"$1"/task/*/children; do
		[ -r "$f" ] && tr ' ' '\n' <"$f"
	done | grep -v '^$' || true
}

# lookup_child: the hanging lookup child of $HVKVPD_PID (waits up to 2 s)
lookup_child() {
	local i c
	for ((i = 0; i < 20; i++)); do
		c=$(children "$HVKVPD_PID" | head -n 1)
		if [ -n "$c" ] && hv_alive "$c"; then
			echo "$c"
			return 0
		fi
		sleep 0.1
	done
	echo "hvkvpd ($HVKVPD_PID) has no lookup child" >&2
	return 1
}

# gone_within MS PID...: true once none of PID is alive (a zombie counts as
# gone); prints the time it took
gone_within() {
	local limit=$1 start p alive
	shift
	start=$(now_ms)
	while :; do
		alive=0
		for p in "$@"; do
			! hv_alive "$p" || alive=1
		done
		if [ "$alive" -eq 0 ]; then
			echo "gone after $(($(now_ms) - start)) ms"
			return 0
		fi
		if [ $(($(now_ms) - start)) -gt "$limit" ]; then
			echo "still alive after $limit ms: $*"
			return 1
		fi
		sleep 0.02
	done
}

# figure TEXT: a measured time, in the check's log and on the console at the end
figure() {
	echo "$*"
	echo "# figure: $*" >>"$HV_TMP/figures"
}

# device_released: the emulator has seen the old daemon's device close
device_released() {
	hv_json_is "$(hv_ctl status)" .registered false 2>/dev/null
}

# ---- the checks ---------------------------------------------------------------------
# Each lookup child is tracked too: a daemon that lets one outlive a check
# must not leave it running after the test.

check_kill9() {
	local child t0 t1 t2 ms
	hv_start_hvkvpd
	child=$(lookup_child)
	hv_track_pid "$child"
	echo "hvkvpd $HVKVPD_PID, lookup child $child (hanging)"
	t0=$(now_ms)
	kill -KILL "$HVKVPD_PID"
	wait "$HVKVPD_PID" 2>/dev/null || true
	gone_within 1000 "$child"
	hv_wait_for 2 device_released

	t1=$(now_ms)
	hv_start_hvkvpd
	t2=$(now_ms)
	ms=$((t2 - t0))
	figure "restart after kill -9: registered $ms ms after the kill ($((t2 - t1)) ms after the start)"
	# the new daemon's own lookup hangs too, and registration did not wait for it
	child=$(lookup_child)
	hv_track_pid "$child"
	echo "new lookup child $child still hanging"
	[ "$ms" -lt 3000 ] || { echo "restart took $ms ms (limit 3000)"; return 1; }
}

check_sigterm() {
	local child t0 ms
	hv_start_hvkvpd
	child=$(lookup_child)
	hv_track_pid "$child"
	t0=$(now_ms)
	kill -TERM "$HVKVPD_PID"
	gone_within 1000 "$HVKVPD_PID" "$child"
	ms=$(($(now_ms) - t0))
	figure "stop on SIGTERM: $ms ms"
	wait "$HVKVPD_PID" || { echo "hvkvpd exited $? on SIGTERM"; return 1; }
}

# the child alone, as systemd's stop signals the whole unit: SIGTERM ends it
check_child_sigterm() {
	local child
	hv_start_hvkvpd
	child=$(lookup_child)
	hv_track_pid "$child"
	grep -E '^Sig(Blk|Ign)' "/proc/$child/status"
	kill -TERM "$child"
	gone_within 1000 "$child"
	hv_alive "$HVKVPD_PID" || { echo "hvkvpd died with its lookup child"; return 1; }
}

hv_check "kill -9: the lookup child goes within 1 s, a restart registers within 3 s" check_kill9
hv_check "SIGTERM: hvkvpd and its lookup child stop within 1 s" check_sigterm
hv_check "the lookup child itself stops on SIGTERM" check_child_sigterm
cat "$HV_TMP/figures" 2>/dev/null || true
hv_checks_done

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-debian-fidelity.sh - the emulator drives Debian's own hv_kvp_daemon
# unchanged, and hvkvpd gives the same answers to the same host script; each
# daemon also serves the pool files the other one wrote.
set -eu
. "$(dirname "$0")/lib.sh"
hv_require_root

# ---- Debian's daemon, unpacked (never installed: its postinst starts it) ----
# fetched before entering the sandbox, whose network namespace has no route out
deb=$(hv_fetch_debian_daemon) ||
	hv_fail "apt-get download hyperv-daemons failed (Debian's package registry unreachable?)"
hv_sandbox "$@"

root=$HV_TMP/debian
dpkg -x "$deb" "$root"
upstream=$root/usr/sbin/hv_kvp_daemon
[ -x "$upstream" ] || hv_fail "no hv_kvp_daemon in $deb"
echo "upstream: $(basename "$deb")"
# its helper scripts live at a compiled-in path; show them there, privately
if [ -d "$root/usr/libexec/hypervkvpd" ]; then
	hv_private_overlay /usr/libexec
	mkdir -p /usr/libexec/hypervkvpd
	mount --bind "$root/usr/libexec/hypervkvpd" /usr/libexec/hypervkvpd
fi

# Give the auto pool something to report: one veth with both families.
ip link add hvf0 type veth peer name hvf1
ip addr add 192.0.2.10/24 dev hvf0
ip -6 addr add 2001:db8::10/64 dev hvf0 nodad
ip link set hvf0 up
ip link set hvf1 up

hv_start_emu

# The host script; each line prints one normalized JSON object.
host_script() {
	hv_ctl status | jq -c '{registered, mode, version}'
	hv_ctl enumerate-all --pool 2 | jq -c '{end: .end_code_name, items: [.items[] | {key, value}]}'
	for p in 0 1 3 4; do
		hv_ctl set --pool $p --key "k$p-a" --value "value a of pool $p" | jq -c '{op, code_name}'
		hv_ctl set --pool $p --key "k$p-b" --value "b" | jq -c '{op, code_name}'
		hv_ctl set --pool $p --key "k$p-a" --value "value a of pool $p, changed" | jq -c '{op, code_name}'
		hv_ctl set --pool $p --key "k$p-c" --value "UTF-8: été ✓" | jq -c '{op, code_name}'
	done
	# GET: codes only; upstream copies value_size (0 from the kernel) bytes, so
	# its GET replies carry an empty value where hvkvpd returns the value.
	hv_ctl get --pool 0 --key k0-a | jq -c '{op, code_name}'
	hv_ctl get --pool 0 --key missing | jq -c '{op, code_name}'
	hv_ctl delete --pool 0 --key k0-b | jq -c '{op, code_name}'
	hv_ctl delete --pool 0 --key k0-b | jq -c '{op, code_name}'
	hv_ctl enumerate --pool 0 --index 99 | jq -c '{op, code_name}'
	for p in 0 1 3 4; do
		hv_ctl enumerate-all --pool $p | jq -c '{end: .end_code_name, items: [.items[] | {key, value}]}'
	done
}

dump_pools() {
	for p in 0 1 3 4; do
		hv_ctl enumerate-all --pool $p | jq -c '{end: .end_code_name, items: [.items[] | {key, value}]}'
	done
}

run_upstream() { # poolsrc-dir or ""
	rm -rf /var/lib/hyperv && mkdir -p /var/lib/hyperv
	[ -z "$1" ] || cp -a "$1"/. /var/lib/hyperv/
	"$upstream" -n >"$HV_TMP/upstream.log" 2>&1 &
	upstream_pid=$!
	hv_track_pid "$upstream_pid"
	hv_ctl --wait 20 wait-registered >/dev/null || hv_fail "Debian's daemon did not register"
}

# A: Debian's daemon with empty pools.
run_upstream ""
host_script >"$HV_TMP/upstream.txt"
hv_stop "$upstream_pid"
cp -a /var/lib/hyperv "$HV_TMP/pools-upstream"

# B: hvkvpd with empty pools, same script.
mkdir -p "$HV_TMP/pools-ours"
hv_start_hvkvpd --pool-dir "$HV_TMP/pools-ours"
host_script >"$HV_TMP/ours.txt"
hv_stop "$HVKVPD_PID"

echo "--- host's view, Debian's hv_kvp_daemon:"
cat "$HV_TMP/upstream.txt"
if ! diff -u "$HV_TMP/upstream.txt" "$HV_TMP/ours.txt"; then
	hv_fail "hvkvpd answered the host script differently from Debian's hv_kvp_daemon"
fi
echo "same answers: $(wc -l <"$HV_TMP/ours.txt") host requests/sequences compared"
hv_assert_eq "auto pool keys" 10 "$(sed -n 2p "$HV_TMP/ours.txt" | jq '.items | length')"
hv_assert_eq "handshake" '{"registered":true,"mode":"register1","version":"3.1"}' \
	"$(sed -n 1p "$HV_TMP/ours.txt")"

# C: hvkvpd serves the pool files Debian's daemon wrote.
hv_start_hvkvpd --pool-dir "$HV_TMP/pools-upstream"
dump_pools >"$HV_TMP/ours-on-upstream.txt"
hv_stop "$HVKVPD_PID"
tail -n 4 "$HV_TMP/upstream.txt" | diff -u - "$HV_TMP/ours-on-upstream.txt" ||
	hv_fail "hvkvpd read Debian's pool files differently"

# D: Debian's daemon serves the pool files hvkvpd wrote.
run_upstream "$HV_TMP/pools-ours"
dump_pools >"$HV_TMP/upstream-on-ours.txt"
hv_stop "$upstream_pid"
tail -n 4 "$HV_TMP/ours.txt" | diff -u - "$HV_TMP/upstream-on-ours.txt" ||
	hv_fail "Debian's daemon read hvkvpd's pool files differently"

echo "PASS: handshake, auto pool (10 keys in order), pools 0/1/3/4 SET/GET/DELETE/ENUMERATE identical; pool files interchangeable"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-conflict.sh - address conflicts and announcements on the netlink backend: a peer namespace on the veth holds the addresses a failover wants.
#
# eth0 (ours, 00:15:5d:00:00:01) is a veth whose other end eth0p lives in a
# peer network namespace with the MAC 02:00:00:00:00:10 and 192.0.2.10/24,
# 2001:db8::10/64: the "production VM" a test failover must not rob. A
# small raw-socket listener in the peer namespace records every ARP frame
# and neighbour advertisement it sees (tests/integration's own, no tcpdump).
set -eu
. "$(dirname "$0")/lib.sh"
hv_require_root
hv_require_cmd jq ip nsenter unshare /usr/bin/python3
hv_sandbox "$@"

MAC0=00:15:5d:00:00:01 GUID0='{4e0c1a2b-0000-4000-8000-00155d0000c1}'
KEY0=HvKvpdFailoverResult_00155d000001
PEER_MAC=02:00:00:00:00:10
STATE=$HV_TMP/state
SYSFS=$HV_TMP/sys
export HV_BUDGET_US=20000000
export HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$SYSFS

# ---- the machine: eth0 here, eth0p in the peer's namespace ------------------

unshare -n sleep 3600 </dev/null >/dev/null 2>&1 &
PEER_PID=$!
hv_track_pid "$PEER_PID"
peer() { nsenter -t "$PEER_PID" -n "$@"; }
peer_ns_up() { [ "$(readlink "/proc/$PEER_PID/ns/net")" != "$(readlink /proc/self/ns/net)" ]; }
hv_wait_for 5 peer_ns_up || hv_fail "the peer namespace did not come up"

# the kernel's DAD on ours, for new links too
echo 1 >/proc/sys/net/ipv6/conf/default/accept_dad
ip link add eth0 address "$MAC0" type veth peer name eth0p
ip link set eth0p netns "$PEER_PID"
echo 1 >/proc/sys/net/ipv6/conf/eth0/accept_dad
mkdir -p "$SYSFS/class/net/eth0/device"
cat /sys/class/net/eth0/ifindex >"$SYSFS/class/net/eth0/ifindex"
echo "$MAC0" >"$SYSFS/class/net/eth0/address"
echo "$GUID0" >"$SYSFS/class/net/eth0/device/device_id"

peer ip link set lo up
peer ip link set eth0p address "$PEER_MAC" up
peer ip addr add 192.0.2.10/24 dev eth0p
# the production VM had its address long before: nothing tentative about it
peer ip -6 addr add 2001:db8::10/64 dev eth0p nodad

hv_private_overlay /etc
cat >"$HV_TMP/hvkvpd.conf" <<EOF
ConflictProbeSec=1
EOF

# The listener: one JSON line per ARP frame or neighbour advertisement
# received on eth0p ("ready" once bound).
cat >"$HV_TMP/listen.py" <<'EOF'
import json, socket, struct, sys

def mac(b): return ":".join("%02x" % x for x in b)

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((sys.argv[1], 0))
out = open(sys.argv[2], "a", buffering=1)
out.write('{"kind": "ready"}\n')
while True:
    try:
        frame, addr = s.recvfrom(65535)
    except OSError:  # ENETDOWN while a check takes eth0p down
        continue
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    etype, p = struct.unpack("!H", frame[12:14])[0], frame[14:]
    if etype == 0x0806 and len(p) >= 28:
        rec = {"kind": "arp", "op": struct.unpack("!H", p[6:8])[0], "sha": mac(p[8:14]),
               "spa": socket.inet_ntop(socket.AF_INET, p[14:18]),
               "tpa": socket.inet_ntop(socket.AF_INET, p[24:28])}
    elif etype == 0x86DD and len(p) >= 64 and p[6] == 58 and p[40] == 136:
        icmp, tlla, off = p[40:], None, 24
        while off + 8 <= len(icmp) and icmp[off + 1]:
            if icmp[off] == 2:
                tlla = mac(icmp[off + 2:off + 8])
            off += icmp[off + 1] * 8
        rec = {"kind": "na", "hop": p[7], "dst": socket.inet_ntop(socket.AF_INET6, p[24:40]),
               "target": socket.inet_ntop(socket.AF_INET6, icmp[8:24]),
               "override": bool(icmp[4] & 0x20), "solicited": bool(icmp[4] & 0x40), "tlla": tlla}
    else:
        continue
    rec["src"] = mac(frame[6:12])
    out.write(json.dumps(rec) + "\n")
EOF
FRAMES=$HV_TMP/frames.jsonl
: >"$FRAMES"
peer /usr/bin/python3 "$HV_TMP/listen.py" eth0p "$FRAMES" </dev/null >>"$HV_TMP/listen.log" 2>&1 &
hv_track_pid $!
hv_wait_for 10 grep -q ready "$FRAMES" || hv_fail "the listener did not start: $(cat "$HV_TMP/listen.log")"

# ---- helpers ----------------------------------------------------------------------

result_key() {
	hv_ctl enumerate-all --pool 1 | jq -r --arg k "$1" '[.items[] | select(.key == $k)] |
		if length == 1 then .[0].value elif length == 0 then "" else "DUPLICATE KEY" end'
}

# eth0 as `ip -j addr` shows it, without the lifetimes that count down.
link_json() {
	ip -j addr show dev eth0 | jq -S '.[0] | {flags, address,
		addr_info: (.addr_info | map(del(.valid_life_time, .preferred_life_time)) | sort_by(.family, .local))}'
}

# eth0 up with a carrier and only its link-local address; no saved state.
reset_nic() {
	peer ip link set eth0p up
	ip link set eth0 up
	ip -4 addr flush dev eth0
	ip -6 addr flush dev eth0 scope global
	rm -f "$STATE/${MAC0//:/}.state"
	# the link-local address is through its own DAD: it takes no part
	hv_wait_for 10 sh -c '! ip -6 addr show dev eth0 | grep -q tentative'
}

# frames_since MARK JQ-FILTER: how many recorded frames after line MARK match.
frames_since() {
	tail -n +$(($1 + 1)) "$FRAMES" | jq -s "[.[] | select($2)] | length"
}

hv_start_emu
hv_start_hvkvpd --config "$HV_TMP/hvkvpd.conf" --state-dir "$STATE" --backend netlink --debug

# ---- (a) IPv4 conflict ------------------------------------------------------------

check_v4_conflict() {
	local before after line
	reset_nic
	before=$(link_json)
	hv_expect_code HV_E_FAIL --adapter-id "$GUID0" --IPAddresses 192.0.2.10 --Subnets 24 \
		--DefaultGateways 192.0.2.1 --DHCPEnabled false
	after=$(link_json)
	[ "$before" = "$after" ] || { echo "eth0 changed:"; diff <(echo "$before") <(echo "$after"); return 1; }
	line=$(result_key "$KEY0")
	echo "result line: $line"
	case $line in
	*"HV_E_FAIL eth0 netlink: address conflict: 192.0.2.10 is in use by $PEER_MAC"*) ;;
	*) echo "the result line does not name 192.0.2.10 and $PEER_MAC"; return 1 ;;
	esac
}
hv_check "(a) 192.0.2.10 held by the peer: HV_E_FAIL, the result line names the address and the peer's MAC, eth0 unchanged" \
	check_v4_conflict

# ---- (b) IPv6 conflict: the kernel's DAD --------------------------------------------

check_v6_conflict() {
	local before after line
	reset_nic
	[ "$(cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" = 1 ] || { echo "accept_dad is off on eth0"; return 1; }
	before=$(link_json)
	hv_expect_code HV_E_FAIL --adapter-id "$GUID0" --IPAddresses 2001:db8::10 --Subnets 64 \
		--DefaultGateways 2001:db8::1 --DHCPEnabled false
	after=$(link_json)
	[ "$before" = "$after" ] || { echo "eth0 not rolled back:"; diff <(echo "$before") <(echo "$after"); return 1; }
	line=$(result_key "$KEY0")
	echo "result line: $line"
	case $line in
	*"HV_E_FAIL eth0 netlink: address conflict: 2001:db8::10 is in use by $PEER_MAC"*) ;;
	*) echo "the result line does not name 2001:db8::10 and $PEER_MAC"; return 1 ;;
	esac
}
hv_check "(b) 2001:db8::10 held by the peer: DAD fails, HV_E_FAIL naming the address and the MAC, eth0 rolled back" \
	check_v6_conflict

# ---- (c) no conflict: probes, then announcements --------------------------------------

NEW=(--adapter-id "$GUID0" --IPAddresses "192.0.2.20;2001:db8::20" --Subnets "24;64"
	--DefaultGateways 192.0.2.1 --DHCPEnabled false)

check_announced() {
	local mark n
	reset_nic
	mark=$(wc -l <"$FRAMES")
	hv_expect_code HV_S_OK "${NEW[@]}"
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 netlink: applied 1 IPv4, 1 IPv6"*) ;;
	*) echo "result line: $(result_key "$KEY0")"; return 1 ;;
	esac
	n=$(frames_since "$mark" '.kind == "arp" and .op == 1 and .spa == "0.0.0.0" and .tpa == "192.0.2.20" and .sha == "'$MAC0'"')
	echo "ARP probes for 192.0.2.20: $n"
	[ "$n" -eq 3 ] || return 1
	announced() {
		[ "$(frames_since "$mark" '.kind == "arp" and .op == 1 and .spa == "192.0.2.20" and .tpa == "192.0.2.20" and .sha == "'$MAC0'"')" -ge 2 ] &&
		[ "$(frames_since "$mark" '.kind == "na" and .target == "2001:db8::20" and .dst == "ff02::1" and .hop == 255 and .override and (.solicited | not) and .tlla == "'$MAC0'"')" -ge 1 ]
	}
	hv_wait_for 10 announced || { echo "frames seen:"; tail -n +$((mark + 1)) "$FRAMES"; return 1; }
	tail -n +$((mark + 1)) "$FRAMES"
}
hv_check "(c) 192.0.2.20 + 2001:db8::20, free: HV_S_OK after 3 ARP probes; the peer sees 2 ARP announcements and an unsolicited NA (override, ff02::1, hop limit 255, our MAC)" \
	check_announced

# ---- (d) the same again ---------------------------------------------------------------

check_reapply() {
	local mark n
	hv_expect_code HV_S_OK "${NEW[@]}"
	sleep 3 # the announcements of that first apply are out
	mark=$(wc -l <"$FRAMES")
	hv_expect_code HV_S_OK "${NEW[@]}"
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 netlink: unchanged"*) ;;
	*) echo "result line: $(result_key "$KEY0")"; return 1 ;;
	esac
	n=$(frames_since "$mark" '.kind == "arp" and .spa == "0.0.0.0" and .sha == "'$MAC0'"')
	[ "$n" -eq 0 ] || { echo "$n ARP probes for addresses eth0 already holds"; return 1; }
}
hv_check "(d) the same settings again: HV_S_OK unchanged, no probe for eth0's own addresses" check_reapply

# ---- (e) no carrier ----------------------------------------------------------------------

check_no_carrier() {
	reset_nic
	peer ip link set eth0p down
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses 192.0.2.10 --Subnets 24 --DHCPEnabled false
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 netlink: applied 1 IPv4"*"not probed for conflicts (no carrier)"*) ;;
	*) echo "result line: $(result_key "$KEY0")"; return 1 ;;
	esac
	peer ip link set eth0p up
}
hv_check "(e) eth0 without carrier: HV_S_OK, the result line says the addresses were not probed" check_no_carrier

# ---- (f) probing off ------------------------------------------------------------------------

check_probe_off() {
	local mark
	echo "ConflictProbeSec=0" >"$HV_TMP/off.conf"
	hv_stop "$HVKVPD_PID"
	hv_start_hvkvpd --config "$HV_TMP/off.conf" --state-dir "$STATE" --backend netlink --debug
	reset_nic
	mark=$(wc -l <"$FRAMES")
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses 192.0.2.30 --Subnets 24 --DHCPEnabled false
	[ "$(frames_since "$mark" '.kind == "arp" and .spa == "0.0.0.0"')" -eq 0 ] || { echo "probed"; return 1; }
	two_announcements() { [ "$(frames_since "$mark" '.kind == "arp" and .spa == "192.0.2.30"')" -ge 2 ]; }
	hv_wait_for 10 two_announcements
}
hv_check "(f) ConflictProbeSec=0: no ARP probe, the announcements still go out" check_probe_off

# ---- (g) hvkvpctl: the same checks, and every announcement before it exits ---------------

CTL=$top_builddir/hvkvpctl
ctl() { "$CTL" --config "$HV_TMP/hvkvpd.conf" --state-dir "$STATE" --pool-dir /var/lib/hyperv --backend netlink "$@"; }

check_ctl_conflict() {
	local out rc=0 before
	reset_nic
	before=$(link_json)
	out=$(ctl apply --adapter eth0 --ipv4-address 192.0.2.10 --ipv4-subnet-mask 255.255.255.0 2>&1) || rc=$?
	echo "hvkvpctl: exit $rc: $out"
	[ "$rc" -ne 0 ] || { echo "hvkvpctl succeeded"; return 1; }
	[[ $out == *"192.0.2.10 is in use by $PEER_MAC"* ]] || { echo "no address and MAC in the message"; return 1; }
	[ "$before" = "$(link_json)" ] || { echo "eth0 changed"; return 1; }
}
hv_check "(g1) hvkvpctl apply of an address the peer holds: fails naming the address and the MAC, eth0 unchanged" \
	check_ctl_conflict

check_ctl_announces() {
	local mark n
	reset_nic
	mark=$(wc -l <"$FRAMES")
	ctl apply --adapter eth0 --ipv4-address 192.0.2.40 --ipv4-subnet-mask 255.255.255.0
	# it exited: what it owed the LAN is out, nobody sends the rest now
	# (the wait is for the listener to write it down)
	two() {
		n=$(frames_since "$mark" '.kind == "arp" and .op == 1 and .spa == "192.0.2.40" and .tpa == "192.0.2.40" and .sha == "'$MAC0'"')
		[ "$n" -ge 2 ]
	}
	hv_wait_for 5 two || { echo "ARP announcements for 192.0.2.40 after hvkvpctl exited: $n"; return 1; }
}
hv_check "(g2) hvkvpctl apply: both ARP announcements are sent before it exits" check_ctl_announces

hv_checks_done

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-networkd.sh - the networkd backend against a real systemd-networkd on a private bus, in a private namespace.
#
# A veth "eth0" with a Hyper-V MAC, managed by networkd through a user's
# 50-eth0.network; hvkvpd (GUID resolved through a fake sysfs) gets the
# host's failover settings from the emulator and must apply them through
# networkd: its 05-hvkvpd-<mac>.network in use, addresses, default routes
# with the host's order as metrics, DNS; idempotence; rollback (injected
# failure) to the previous file and addresses; no carrier; a networkd
# restart. Everything runs in the sandbox; nothing of the machine's /etc,
# /run or links is touched.
set -eu
. "$(dirname "$0")/lib.sh"

NETWORKD=/lib/systemd/systemd-networkd
MAC=00:15:5d:00:00:01
GUID="{4e0c1a2b-0000-4000-8000-00155d000001}"
NETDIR=/etc/systemd/network
OURS=$NETDIR/05-hvkvpd-00155d000001.network
USER_FILE=$NETDIR/50-eth0.network

hv_require_root
[ -x "$NETWORKD" ] || hv_skip "$NETWORKD is missing (Debian package systemd)"
hv_require_cmd dbus-daemon networkctl busctl jq ip
getent passwd systemd-network >/dev/null || hv_skip "no systemd-network user (Debian package systemd)"
hv_sandbox "$@"

NETWORKD_PID=

# ---- private system bus and networkd (kept here, not in lib.sh) ----------------

nd_has_owner() {
	busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
		NameHasOwner s "$1" 2>/dev/null | grep -qx 'b true'
}

nd_start_networkd() {
	SYSTEMD_LOG_LEVEL=debug "$NETWORKD" >>"$HV_TMP/networkd.log" 2>&1 </dev/null &
	NETWORKD_PID=$!
	hv_track_pid "$NETWORKD_PID"
	hv_wait_for 20 nd_has_owner org.freedesktop.network1 ||
		hv_fail "systemd-networkd did not take its bus name: $(tail -n 5 "$HV_TMP/networkd.log")"
}

nd_stop_networkd() {
	hv_stop "$NETWORKD_PID"
	NETWORKD_PID=
}

# ---- observing the link ------------------------------------------------------------

# eth0's global addresses, "addr/prefix" sorted on one line; its default
# routes of a family (-4/-6), "gateway metric" joined by commas
global_addrs() { hv_addrs eth0 | paste -sd ' '; }
default_routes() { hv_default_routes eth0 "$1" | cut -d' ' -f1,2 | sort -k2n | paste -sd ,; }

network_file_in_use() {
	networkctl status eth0 --no-pager 2>/dev/null | sed -n 's/^ *Network File: //p'
}

addrs_are() {
	local got
	got=$(global_addrs)
	[ "$got" = "$1" ] && return 0
	echo "eth0 holds '$got', expected '$1'"
	return 1
}

routes_are() {
	local got
	got=$(default_routes "$1")
	[ "$got" = "$2" ] && return 0
	echo "default routes ($1) are '$got', expected '$2'"
	return 1
}

file_in_use_is() {
	local got
	got=$(network_file_in_use)
	[ "$got" = "$1" ] && return 0
	echo "networkctl says Network File: '$got', expected '$1'"
	networkctl status eth0 --no-pager 2>&1 | head -n 20
	return 1
}

dns_listed() {
	local out d
	out=$(networkctl status eth0 --no-pager 2>&1)
	for d in "$@"; do
		# "DNS: a" on the first line, the others indented below it
		printf '%s\n' "$out" | sed -n '/^ *DNS: /,/^ *[A-Za-z ]*: /p' | grep -qw -- "$d" ||
			{ echo "DNS server $d not in: $out"; return 1; }
	done
}

# the file's content without its comment lines, against the expected text
file_body_is() {
	local got
	[ -f "$OURS" ] || { echo "$OURS is missing"; ls -la "$NETDIR"; return 1; }
	got=$(grep -v '^#' "$OURS" | sed '1{/^$/d}')
	[ "$got" = "$1" ] && return 0
	echo "unexpected $OURS:"
	diff <(printf '%s\n' "$1") <(printf '%s\n' "$got")
	return 1
}

only_our_file() {
	local files
	files=$(cd "$NETDIR" && ls -A | tr '\n' ' ' | sed 's/ $//')
	[ "$files" = "05-hvkvpd-00155d000001.network 50-eth0.network" ] && return 0
	echo "$NETDIR holds: $files"
	return 1
}

state_has() {
	grep -qx -- "$1" "$HV_TMP/state/${MAC//:/}.state" && return 0
	echo "no line '$1' in:"
	cat "$HV_TMP/state/${MAC//:/}.state"
	return 1
}

# ---- the host's side -----------------------------------------------------------------

SET_OUT= SET_MS=
# nd_set ARGS...: SET_IP_INFO for eth0's GUID; the reply in SET_OUT, the
# turnaround (request to reply, through hvkvpd and networkd) in SET_MS
nd_set() {
	local t0 t1
	t0=$(date +%s%N)
	SET_OUT=$(hv_ctl set-ip-info --adapter-id "$GUID" "$@")
	t1=$(date +%s%N)
	SET_MS=$(((t1 - t0) / 1000000))
	echo "# SET_IP_INFO turnaround: $SET_MS ms -> $(hv_json "$SET_OUT" .code_name)"
}

code_is() {
	hv_json_is "$SET_OUT" .code_name "$1"
}

# start_hvkvpd [STEP]: (re)start hvkvpd with the fake sysfs and, with STEP,
# the failure seam after that step (HVKVPD_TEST_FAIL_AT)
start_hvkvpd() {
	if [ -n "$HVKVPD_PID" ]; then
		hv_stop "$HVKVPD_PID"
		HVKVPD_PID=
	fi
	# hv_start_hvkvpd passes its environment on: the seams and the bus
	HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$HV_TMP/sys HVKVPD_TEST_FAIL_AT=${1:-} \
		hv_start_hvkvpd --state-dir "$HV_TMP/state" --debug
}

# ---- set-up ------------------------------------------------------------------------------

# private /run/systemd (networkd's state) and /etc (its .network files, resolv.conf)
mount -t tmpfs -o mode=0755 hvkvp-run-systemd /run/systemd
hv_private_overlay /etc
mkdir -p "$NETDIR"
find "$NETDIR" -mindepth 1 -delete
rm -f /etc/resolv.conf
echo "nameserver 10.9.9.9" >/etc/resolv.conf

hv_start_system_bus

ip link add eth0 address "$MAC" type veth peer name eth0p
ip link set eth0p up
# the adapter resolver's view: a fake sysfs with the VMBus GUID
mkdir -p "$HV_TMP/sys/class/net/eth0/device"
cat /sys/class/net/eth0/ifindex >"$HV_TMP/sys/class/net/eth0/ifindex"
echo "$MAC" >"$HV_TMP/sys/class/net/eth0/address"
echo "$GUID" >"$HV_TMP/sys/class/net/eth0/device/device_id"

# the user's own file: what the link has before the host speaks
cat >"$USER_FILE" <<EOF
[Match]
Name=eth0

[Network]
Address=198.51.100.5/24
Gateway=198.51.100.1
DNS=198.51.100.53
ConfigureWithoutCarrier=yes
EOF

nd_start_networkd
hv_wait_for 20 addrs_are "198.51.100.5/24" >/dev/null ||
	hv_fail "networkd did not configure eth0 from $USER_FILE: $(networkctl status eth0 --no-pager 2>&1)"
hv_check "networkd manages eth0 with the user's file first" file_in_use_is "$USER_FILE"

hv_start_emu

# ---- 1. a failure on the first apply: our file goes away again ---------------------------

A_ARGS=(--IPAddresses "192.0.2.10;192.0.2.11;2001:db8::10" --Subnets "255.255.255.0;255.255.255.0;64"
	--DefaultGateways "192.0.2.1;192.0.2.254" --DNSServers "192.0.2.53;2001:db8::53"
	--DHCPEnabled false)

start_hvkvpd verify
nd_set "${A_ARGS[@]}"
hv_check "injected failure on the first apply is reported to the host (HV_E_FAIL)" code_is HV_E_FAIL
hv_check "rollback removed our file" test ! -e "$OURS"
hv_check "rollback: networkd uses the user's file again" file_in_use_is "$USER_FILE"
hv_check "rollback: eth0 has its previous address only" addrs_are "198.51.100.5/24"
hv_check "rollback: the previous default route is back" routes_are -4 "198.51.100.1 0"
hv_check "rollback: resolv.conf is as before" grep -qx "nameserver 10.9.9.9" /etc/resolv.conf

# ---- 2. the host's settings, applied through networkd ---------------------------------------

start_hvkvpd
nd_set "${A_ARGS[@]}"
A_MS=$SET_MS
hv_check "SET_IP_INFO (2 IPv4, 1 IPv6, 2 gateways, 2 DNS) answers HV_S_OK" code_is HV_S_OK
A_BODY='[Match]
MACAddress=00:15:5d:00:00:01
Name=eth0

[Network]
DHCP=no
IPv6AcceptRA=no
ConfigureWithoutCarrier=yes
Address=192.0.2.10/24
Address=192.0.2.11/24
Address=2001:db8::10/64
DNS=192.0.2.53
DNS=2001:db8::53

[Route]
Gateway=192.0.2.1
Metric=100

[Route]
Gateway=192.0.2.254
Metric=101'
hv_check "$OURS has the expected content" file_body_is "$A_BODY"
hv_check "$OURS is mode 0644" test "$(stat -c %a "$OURS")" = 644
hv_check "networkctl: Network File is ours" file_in_use_is "$OURS"
hv_check "ip addr: exactly the host's addresses" addrs_are "192.0.2.10/24 192.0.2.11/24 2001:db8::10/64"
hv_check "ip route: default routes in the host's order (metrics 100, 101)" \
	routes_are -4 "192.0.2.1 100,192.0.2.254 101"
hv_check "networkctl status lists the DNS servers" dns_listed 192.0.2.53 2001:db8::53
hv_check "resolv.conf carries the DNS servers (no resolved here)" \
	sh -c 'grep -qx "nameserver 192.0.2.53" /etc/resolv.conf && grep -qx "nameserver 2001:db8::53" /etc/resolv.conf'
hv_check "state file says backend=networkd" state_has "backend=networkd"
GET=$(hv_ctl get-ip-info --adapter-id 00:15:5D:00:00:01)
hv_check "GET_IP_INFO answers HV_S_OK" hv_json_is "$GET" .code_name HV_S_OK
# (the link-local address is reported too, as upstream's daemon does)
hv_check "GET_IP_INFO returns the addresses" \
	hv_json_is "$GET" '[.IPAddresses[] | select(startswith("fe80:") | not)] | sort | join(",")' \
	"192.0.2.10,192.0.2.11,2001:db8::10"
hv_check "GET_IP_INFO returns the gateways" \
	hv_json_is "$GET" '.DefaultGateways | join(",")' "192.0.2.1,192.0.2.254"
hv_check "GET_IP_INFO returns the DNS servers" \
	hv_json_is "$GET" '.DNSServers | join(",")' "192.0.2.53,2001:db8::53"
hv_check "GET_IP_INFO says no DHCP" hv_json_is "$GET" .DHCPEnabled false

# ---- 3. the same settings again change nothing -----------------------------------------------

INODE=$(stat -c %i.%Y "$OURS")
nd_set "${A_ARGS[@]}"
hv_check "the same SET again answers HV_S_OK" code_is HV_S_OK
hv_check "the same SET again leaves the file untouched" test "$(stat -c %i.%Y "$OURS")" = "$INODE"
hv_check "the same SET again is reported as unchanged" grep -q "^detail=unchanged" "$HV_TMP/state/${MAC//:/}.state"
hv_check "the same SET again: addresses still there" addrs_are "192.0.2.10/24 192.0.2.11/24 2001:db8::10/64"

# ---- 4. different settings update the same file -----------------------------------------------

B_ARGS=(--IPAddresses "203.0.113.20;2001:db8:1::20" --Subnets "24;64"
	--DefaultGateways "203.0.113.1;2001:db8:1::1" --DNSServers "203.0.113.53" --DHCPEnabled false)
nd_set "${B_ARGS[@]}"
B_MS=$SET_MS
hv_check "a second, different SET answers HV_S_OK" code_is HV_S_OK
hv_check "the second SET rewrote the same file, nothing piled up" only_our_file
hv_check "the second SET's file has its addresses" grep -qx "Address=203.0.113.20/24" "$OURS"
hv_check "the second SET: exactly the new addresses" addrs_are "2001:db8:1::20/64 203.0.113.20/24"
hv_check "the second SET: IPv4 default route" routes_are -4 "203.0.113.1 100"
hv_check "the second SET: IPv6 default route" routes_are -6 "2001:db8:1::1 100"
hv_check "the second SET: networkctl lists the new DNS server only" \
	sh -c 'networkctl status eth0 --no-pager | grep -q "DNS: 203.0.113.53" && ! networkctl status eth0 --no-pager | grep -q 192.0.2.53'
B_COPY=$HV_TMP/b.network
cp "$OURS" "$B_COPY"

# ---- 5. an IPv6 address another host already has: a failure, rolled back ------------------------

ip addr add 2001:db8:2::99/64 dev eth0p nodad
nd_set --IPAddresses "203.0.113.20;2001:db8:2::99" --Subnets "24;64" --DefaultGateways "203.0.113.1" \
	--DHCPEnabled false
hv_check "a duplicate IPv6 address (DAD failed) answers HV_E_FAIL" code_is HV_E_FAIL
hv_check "after the DAD failure our file has its previous content" cmp "$B_COPY" "$OURS"
hv_check "after the DAD failure the previous addresses are back" \
	hv_wait_for 5 addrs_are "2001:db8:1::20/64 203.0.113.20/24"
ip addr del 2001:db8:2::99/64 dev eth0p

# ---- 6. a failure with a previous file of ours: that file comes back ---------------------------------

start_hvkvpd verify
nd_set --IPAddresses "192.0.2.77" --Subnets "24" --DefaultGateways "192.0.2.1" --DHCPEnabled false
hv_check "injected failure after verify answers HV_E_FAIL" code_is HV_E_FAIL
hv_check "rollback restored the previous content of our file" cmp "$B_COPY" "$OURS"
hv_check "rollback: networkd still uses our file" file_in_use_is "$OURS"
hv_check "rollback: the previous addresses are back" addrs_are "2001:db8:1::20/64 203.0.113.20/24"
hv_check "rollback: the previous IPv4 default route is back" routes_are -4 "203.0.113.1 100"
hv_check "rollback: the state keeps the applied settings" state_has "applied_ip_addr=203.0.113.20;2001:db8:1::20"

# ---- 7. no carrier is not a failure ---------------------------------------------------------------------

start_hvkvpd
ip link set eth0p down
hv_wait_for 10 sh -c '! ip link show eth0 | grep -q LOWER_UP' || hv_fail "eth0 kept its carrier"
nd_set --IPAddresses "192.0.2.77" --Subnets "24" --DefaultGateways "192.0.2.1" --DNSServers "192.0.2.53" \
	--DHCPEnabled false
C_MS=$SET_MS
hv_check "SET without carrier answers HV_S_OK" code_is HV_S_OK
hv_check "without carrier: the state says waiting for carrier" state_has "waiting_for_carrier=1"
hv_check "without carrier: the address is configured anyway" addrs_are "192.0.2.77/24"
hv_check "without carrier: networkd uses our file" file_in_use_is "$OURS"
ip link set eth0p up
hv_check "carrier back: the default route follows" hv_wait_for 15 routes_are -4 "192.0.2.1 100"

# ---- 8. the settings survive a networkd restart ------------------------------------------------------------

nd_stop_networkd
ip addr flush dev eth0 scope global
ip route flush dev eth0
hv_check "networkd stopped and eth0 flushed" addrs_are ""
nd_start_networkd
hv_check "networkd restarted: the address returns from our file" hv_wait_for 20 addrs_are "192.0.2.77/24"
hv_check "networkd restarted: the default route returns" hv_wait_for 20 routes_are -4 "192.0.2.1 100"
hv_check "networkd restarted: our file is in use" file_in_use_is "$OURS"

GET=$(hv_ctl get-ip-info --adapter-id 00:15:5D:00:00:01)
hv_check "GET_IP_INFO after the restart: address and DNS" \
	hv_json_is "$GET" '([.IPAddresses[] | select(startswith("fe80:") | not)] | join(",")) + " " + (.DNSServers | join(","))' \
	"192.0.2.77 192.0.2.53"

# ---- 9. DHCP: the file asks networkd for a lease; the reply does not wait for one -------------------------

nd_set --DHCPEnabled true
hv_check "SET with DHCPEnabled answers HV_S_OK without a DHCP server" code_is HV_S_OK
hv_check "the DHCP file says DHCP=ipv4, IPv6 from router advertisements" \
	sh -c "grep -qx DHCP=ipv4 '$OURS' && grep -qx IPv6AcceptRA=yes '$OURS' && ! grep -q '^Address=' '$OURS'"
hv_check "with DHCP the static address is gone" addrs_are ""
GET=$(hv_ctl get-ip-info --adapter-id 00:15:5D:00:00:01)
hv_check "GET_IP_INFO says DHCPEnabled" hv_json_is "$GET" .DHCPEnabled true

# ---- 10. issue 10: the host's DNS exactly, on-link gateways, refusals change nothing -------------------

# section_has SECTION KEY=VALUE: our file has KEY=VALUE inside [SECTION]
section_has() {
	awk -v sec="[$1]" -v kv="$2" '/^\[/ { in_sec = ($0 == sec) } in_sec && $0 == kv { found = 1 } END { exit !found }' "$OURS" &&
		return 0
	echo "no $2 in [$1] of $OURS:"
	cat "$OURS"
	return 1
}

nd_set --DNSServers "192.0.2.53" --DHCPEnabled true
hv_check "DHCP with the host's DNS: HV_S_OK" code_is HV_S_OK
hv_check "DHCP with the host's DNS: the lease brings no DNS server ([DHCPv4] UseDNS=no)" section_has DHCPv4 UseDNS=no
hv_check "DHCP with the host's DNS: router advertisements bring none ([IPv6AcceptRA] UseDNS=no)" section_has IPv6AcceptRA UseDNS=no
hv_check "resolv.conf: the site's nameserver out of use behind the marker" \
	sh -c 'grep -qx "#hvkvpd-disabled: nameserver 10.9.9.9" /etc/resolv.conf && ! grep -q "^nameserver 10.9.9.9" /etc/resolv.conf'

nd_set --IPAddresses "192.0.2.77" --Subnets "24" --DefaultGateways "203.0.113.1" --DHCPEnabled false
hv_check "an IPv4 gateway outside the subnet: HV_S_OK" code_is HV_S_OK
hv_check "an IPv4 gateway outside the subnet: GatewayOnLink=yes in its [Route]" section_has Route GatewayOnLink=yes
onlink_route() { ip -j route show default dev eth0 | jq -e '.[] | select(.gateway == "203.0.113.1") | .flags | index("onlink")' >/dev/null; }
hv_check "an IPv4 gateway outside the subnet: the kernel's default route has onlink" hv_wait_for 15 onlink_route
hv_check "an IPv4 gateway outside the subnet: the result line warns" \
	grep -q "^detail=.*warning: DefaultGateways\[0\] '203.0.113.1' is outside every subnet, installed on-link" "$HV_TMP/state/${MAC//:/}.state"
hv_check "no DNS from the host: resolv.conf is the site's again, byte for byte" \
	sh -c '[ "$(cat /etc/resolv.conf)" = "nameserver 10.9.9.9" ]'

cp "$OURS" "$HV_TMP/ours.before-refused"
ip -o monitor address route >"$HV_TMP/monitor-refused.out" 2>&1 &
MON=$!
hv_track_pid "$MON"
sleep 0.2
nd_set --IPAddresses "192.0.2.77" --Subnets "24" --DefaultGateways "192.0.2.77" --DHCPEnabled false
sleep 0.3
hv_stop "$MON"
hv_check "a gateway that is the adapter's own address: HV_INVALIDARG" code_is HV_INVALIDARG
hv_check "refused: our file unchanged" cmp "$HV_TMP/ours.before-refused" "$OURS"
hv_check "refused: no address or route event while it was handled" sh -c "! grep -q . '$HV_TMP/monitor-refused.out'"
hv_check "refused: the result names DefaultGateways[0] and the value" \
	grep -q "^detail=DefaultGateways\[0\] '192.0.2.77' is the adapter's own address" "$HV_TMP/state/${MAC//:/}.state"

# ---- 11. an address another host holds: HV_E_FAIL naming it, nothing kept ---------------------------------

PEER_MAC=$(cat /sys/class/net/eth0p/address)
ip addr add 203.0.113.77/24 dev eth0p
ip -6 addr add 2001:db8:77::77/64 dev eth0p nodad
cp "$OURS" "$HV_TMP/before-conflict.network"
conflict_named() { # ADDR: pool 1's result line names ADDR held by eth0p's MAC
	hv_ctl enumerate-all --pool 1 | jq -r '.items[] | select(.key == "HvKvpdFailoverResult_00155d000001") | .value' |
		grep -F "HV_E_FAIL eth0 networkd: address conflict: $1 is in use by $PEER_MAC"
}
nd_set --IPAddresses 203.0.113.77 --Subnets 24 --DHCPEnabled false
hv_check "an IPv4 address the peer holds: HV_E_FAIL" code_is HV_E_FAIL
hv_check "IPv4 conflict: the result line names the address and the peer's MAC" conflict_named 203.0.113.77
hv_check "IPv4 conflict: our file is unchanged" cmp "$HV_TMP/before-conflict.network" "$OURS"
ADDRS_BEFORE_V6=$(global_addrs)
nd_set --IPAddresses 2001:db8:77::77 --Subnets 64 --DHCPEnabled false
hv_check "an IPv6 address the peer holds: DAD fails, HV_E_FAIL" code_is HV_E_FAIL
hv_check "IPv6 conflict: the result line names the address and the peer's MAC" conflict_named 2001:db8:77::77
hv_check "IPv6 conflict: our file is back as it was" cmp "$HV_TMP/before-conflict.network" "$OURS"
hv_check "IPv6 conflict: eth0 holds what it held before, not the address" hv_wait_for 10 addrs_are "$ADDRS_BEFORE_V6"
ip addr del 203.0.113.77/24 dev eth0p
ip -6 addr del 2001:db8:77::77/64 dev eth0p

# ---- 12. revert: the user's own file applies again, as before the first failover ----------------------

REVERT=$top_builddir/tests/integration/revert-driver
revert_driver() { # ARGS...: link_config_revert() as `hvkvpctl revert` calls it
	HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$HV_TMP/sys \
		"$REVERT" --state-dir "$HV_TMP/state" --pool-dir /var/lib/hyperv "$@"
}

check_revert_dry_run() {
	local before
	[ -x "$REVERT" ] || { echo "$REVERT is not built (make check)"; return 1; }
	before=$(sha256sum "$OURS" /etc/resolv.conf; global_addrs)
	revert_driver --dry-run eth0 | tee "$HV_TMP/revert.out"
	grep -q "would remove $OURS" "$HV_TMP/revert.out"
	[ "$before" = "$(sha256sum "$OURS" /etc/resolv.conf; global_addrs)" ] || { echo "the dry run changed something"; return 1; }
	test -e "$HV_TMP/state/${MAC//:/}.state"
}
hv_check "revert --dry-run says it would remove our file and changes nothing" check_revert_dry_run

check_revert() {
	revert_driver eth0 | tee "$HV_TMP/revert.out"
	test ! -e "$OURS" || { echo "$OURS is still there"; return 1; }
	file_in_use_is "$USER_FILE"
	hv_wait_for 10 addrs_are "198.51.100.5/24"
	hv_wait_for 10 routes_are -4 "198.51.100.1 0"
	! grep -q 192.0.2.53 /etc/resolv.conf || { echo "our DNS servers are still in resolv.conf"; cat /etc/resolv.conf; return 1; }
	grep -qx "nameserver 10.9.9.9" /etc/resolv.conf
	test ! -e "$HV_TMP/state/${MAC//:/}.state" || { echo "the state file is still there"; return 1; }
	test ! -e "$HV_TMP/state/${MAC//:/}.original" || { echo "the original file is still there"; return 1; }
	hv_ctl enumerate-all --pool 1 | jq -r '.items[].value' | grep -q "HV_S_OK eth0 networkd: reverted"
}
hv_check "revert: our file removed, networkd applies the user's file again: the address, default route and resolv.conf from before the first failover; state forgotten; pool 1 says reverted" check_revert

echo "# SET_IP_INFO through networkd: first apply ${A_MS} ms, second ${B_MS} ms, without carrier ${C_MS} ms"
hv_checks_done

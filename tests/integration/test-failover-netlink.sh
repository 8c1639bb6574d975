#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-failover-netlink.sh - SET_IP_INFO/GET_IP_INFO through the netlink backend in a namespace: what the kernel, resolv.conf, the state and pool 1 hold after each request.
#
# Two veth adapters with Hyper-V MACs, a fake sysfs tree giving their VMBus
# GUIDs (test seam), the emulated host pushing Msvm_FailoverNetworkAdapterSettingData,
# and hvkvpd forced onto its netlink backend with no system bus in reach. Each
# scenario is one named check ("ok - ..."/"FAIL - ..."); a failing one does
# not stop the others. The SET turnaround (elapsed_us from the emulator) is
# printed at the end; it is a figure, not an assertion (TESTING.md), except
# that every reply must come inside the daemon's reply budget.
set -eu
. "$(dirname "$0")/lib.sh"
hv_require_root
hv_require_cmd jq ip awk flock setpriv /usr/bin/python3
# the daemon's and the emulator's logs outlive the sandbox
hv_sandbox "$@"

MAC0=00:15:5d:00:00:01 GUID0='{4e0c1a2b-0000-4000-8000-00155d000001}'
MAC1=00:15:5d:00:00:02 GUID1='{4e0c1a2b-0000-4000-8000-00155d000002}'
KEY0=HvKvpdFailoverResult_00155d000001
KEY1=HvKvpdFailoverResult_00155d000002
STATE=$HV_TMP/state
SYSFS=$HV_TMP/sys
export HV_BUDGET_US=20000000 # hvkvpd's default --reply-budget
export HV_TIMES_FILE=$HV_TMP/set-elapsed-us
RESOLV_BASE='# resolv.conf of the test: every byte of it must survive
search example.org
nameserver 10.9.9.9
options edns0 timeout:2
'
: >"$HV_TIMES_FILE"

# The daemon under test: the GUID seam, and no system bus (so neither
# NetworkManager, networkd nor resolved of the real machine is ever asked).
export HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$SYSFS
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$HV_TMP/no-system-bus

# ---- the machine ------------------------------------------------------------

# make_nic IF MAC GUID: a veth IF (peer IFp up, so IF has carrier once up)
# and its sysfs entry with the VMBus device GUID, as the kernel prints it.
make_nic() {
	ip link add "$1" address "$2" type veth peer name "$1p"
	ip link set "$1p" up
	mkdir -p "$SYSFS/class/net/$1/device"
	cat "/sys/class/net/$1/ifindex" >"$SYSFS/class/net/$1/ifindex"
	echo "$2" >"$SYSFS/class/net/$1/address"
	echo "$3" >"$SYSFS/class/net/$1/device/device_id"
	# no duplicate address detection: addresses never sit "tentative", so
	# what a check reads does not depend on timing
	echo 0 >"/proc/sys/net/ipv6/conf/$1/accept_dad"
}
echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad
make_nic eth0 "$MAC0" "$GUID0"
make_nic eth1 "$MAC1" "$GUID1"

# /etc/resolv.conf: a plain file of our own, in a private /etc
hv_private_overlay /etc
rm -f /etc/resolv.conf
printf '%s' "$RESOLV_BASE" >/etc/resolv.conf

start_daemon() { # [FAIL_AT [ARGS...]]: hvkvpd on the netlink backend (FAIL_AT: the test seam)
	local at=${1:-}
	[ $# -eq 0 ] || shift
	if [ -n "$at" ]; then
		HVKVPD_TEST_FAIL_AT=$at hv_start_hvkvpd --state-dir "$STATE" --backend netlink --debug "$@"
	else
		hv_start_hvkvpd --state-dir "$STATE" --backend netlink --debug "$@"
	fi
}

restart_daemon() { # [FAIL_AT [ARGS...]]: a fresh daemon with no saved state to re-apply
	hv_stop "$HVKVPD_PID"
	rm -rf "$STATE"
	wc -l <"$HV_TMP/hvkvpd.log" >"$HV_TMP/log-mark"
	start_daemon "$@"
}

# daemon_log: what the daemon logged since the last restart_daemon.
daemon_log() {
	tail -n +$(($(cat "$HV_TMP/log-mark" 2>/dev/null || echo 0) + 1)) "$HV_TMP/hvkvpd.log"
}

# reset_nic IF: no global address, no route, link up, peer up; no saved state
# for it; resolv.conf back to the base text.
reset_nic() {
	ip link set "$1p" up
	ip link set "$1" up
	ip -4 addr flush dev "$1"
	ip -6 addr flush dev "$1" scope global
	ip -4 route flush dev "$1" 2>/dev/null || true
	ip -6 route flush dev "$1" proto static 2>/dev/null || true
	ip -6 route flush dev "$1" proto boot 2>/dev/null || true
	ip -6 route flush dev "$1" proto dhcp 2>/dev/null || true
	rm -f "$STATE/$(tr -d : <"$SYSFS/class/net/$1/address").state"
	printf '%s' "$RESOLV_BASE" >/etc/resolv.conf
}

# ---- what the host sends and gets ---------------------------------------------

# raw ARGS...: a hand-made message (hvkvp-emu ctl raw ARGS); prints the JSON.
raw() {
	hv_ctl --wait 30 raw "$@"
}

# get_ip MAC: GET_IP_INFO, JSON answer.
get_ip() {
	hv_ctl --wait 30 get-ip-info --adapter-id "$1"
}

# result_key KEY: the value of KEY in pool 1 (the guest pool), or nothing.
result_key() {
	hv_ctl enumerate-all --pool 1 | jq -r --arg k "$1" '[.items[] | select(.key == $k)] |
		if length == 1 then .[0].value elif length == 0 then "" else "DUPLICATE KEY" end'
}

# state_get MAC KEY: one key of the adapter's state file.
state_get() {
	sed -n "s/^$2=//p" "$STATE/${1//:/}.state" 2>/dev/null
}

# ---- what the kernel holds ---------------------------------------------------------

# same WHAT WANT GOT: equal, or say how they differ.
same() {
	[ "$2" = "$3" ] && return 0
	printf '%s differ:\n--- want\n%s\n--- got\n%s\n' "$1" "$2" "$3"
	return 1
}

lines() { # ARGS...: one per line, sorted
	[ $# -eq 0 ] || printf '%s\n' "$@" | sort
}

# resolv_block IF DNS...: the text our block for IF must be, after its first
# line (whose comment is not the test's business).
resolv_block() {
	local ifname=$1 d
	shift
	for d in "$@"; do
		echo "nameserver $d"
	done
	echo "# hvkvpd $ifname end"
}

# RESOLV_BASE as it reads while the host's servers are in place: the site's
# nameserver lines out of use behind the marker, every other byte as it was.
resolv_base_disabled() {
	printf '%s' "$RESOLV_BASE" | sed 's/^nameserver[[:space:]]/#hvkvpd-disabled: &/'
}

# resolv_is IF DNS...: resolv.conf is exactly our block for IF, then the base
# (its nameserver lines out of use).
resolv_is() {
	local ifname=$1 n got
	shift
	n=$(($# + 2))
	got=$(cat /etc/resolv.conf)
	case $(head -n 1 /etc/resolv.conf) in
	"# hvkvpd $ifname begin"*) ;;
	*) printf 'resolv.conf does not start with our block for %s:\n%s\n' "$ifname" "$got"; return 1 ;;
	esac
	same "resolv.conf block" "$(resolv_block "$ifname" "$@")" "$(sed -n "2,${n}p" /etc/resolv.conf)" ||
		return 1
	tail -n +$((n + 1)) /etc/resolv.conf >"$HV_TMP/resolv.rest"
	resolv_base_disabled >"$HV_TMP/resolv.base"
	cmp -s "$HV_TMP/resolv.rest" "$HV_TMP/resolv.base" ||
		{ echo "resolv.conf: the rest is not the old file byte for byte:"; diff -u "$HV_TMP/resolv.base" "$HV_TMP/resolv.rest"; return 1; }
}

# snapshot NAME IF: everything of IF a SET may change, normalized: the link's
# flags and addresses (without the lifetimes, which count down), every route
# of every table through it (sorted: the kernel state is a set), resolv.conf.
snapshot() {
	ip -j addr show dev "$2" | jq -S '.[0] | {flags, mtu, address,
		addr_info: (.addr_info | map(del(.valid_life_time, .preferred_life_time)) |
			sort_by(.family, .local))}' >"$HV_TMP/snap-$1.addr"
	{
		ip -j -4 route show table all
		ip -j -6 route show table all
	} | jq -S --arg dev "$2" '[.[] | select(.dev == $dev or any(.nexthops[]?; .dev == $dev)) |
		del(.expires)] | sort_by(tostring)' >"$HV_TMP/snap-$1.route"
	cp /etc/resolv.conf "$HV_TMP/snap-$1.resolv"
}

# unchanged NAME IF: IF and resolv.conf are exactly as in snapshot NAME.
unchanged() {
	local rc=0
	snapshot "$1.now" "$2"
	diff -u "$HV_TMP/snap-$1.addr" "$HV_TMP/snap-$1.now.addr" || { echo "^ $2: addresses/flags changed"; rc=1; }
	diff -u "$HV_TMP/snap-$1.route" "$HV_TMP/snap-$1.now.route" || { echo "^ $2: routes changed"; rc=1; }
	cmp -s "$HV_TMP/snap-$1.resolv" /etc/resolv.conf ||
		{ diff -u "$HV_TMP/snap-$1.resolv" /etc/resolv.conf; echo "^ resolv.conf changed"; rc=1; }
	return $rc
}

# The settings most scenarios use on eth0.
BASIC=(--adapter-id "$GUID0" --IPAddresses "192.0.2.10;192.0.2.11;2001:db8::10"
	--Subnets "255.255.255.0;255.255.255.0;64" --DefaultGateways "192.0.2.1;192.0.2.2"
	--DNSServers "192.0.2.53;192.0.2.54;2001:db8::53" --DHCPEnabled false)

hv_start_emu
start_daemon

# ---- (1) the basic apply ----------------------------------------------------------

check_basic() {
	reset_nic eth0
	ip link set eth0 down
	hv_expect_code HV_S_OK "${BASIC[@]}" || return 1
	same "eth0 addresses" "$(lines 192.0.2.10/24 192.0.2.11/24 2001:db8::10/64)" "$(hv_addrs eth0)" || return 1
	same "eth0 default routes" "$(lines '192.0.2.1 100 static' '192.0.2.2 101 static')" \
		"$(hv_default_routes eth0)" || return 1
	ip -j link show dev eth0 | jq -e '.[0].flags | index("UP")' >/dev/null ||
		{ echo "eth0 was not brought up"; return 1; }
	resolv_is eth0 192.0.2.53 192.0.2.54 2001:db8::53
}
hv_check "(1) 2 IPv4 + 1 IPv6, 2 gateways, 3 DNS: exactly these addresses, default routes metric 100/101, resolv.conf block first and the rest byte for byte" check_basic

# The kernel drops the secondary addresses of a subnet with its primary
# (promote_secondaries is 0 by default): a new list that keeps the old
# secondary must still end with it on the link.
check_keep_secondary() {
	reset_nic eth0
	ip addr add 192.0.2.10/24 brd + dev eth0
	ip addr add 192.0.2.20/24 brd + dev eth0
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses "192.0.2.20;192.0.2.30" --Subnets "24;24" \
		--DefaultGateways 192.0.2.1 --DHCPEnabled false || return 1
	same "eth0 addresses" "$(lines 192.0.2.20/24 192.0.2.30/24)" "$(hv_addrs eth0)"
}
hv_check "(1b) a new list that drops the primary address and keeps the old secondary one: HV_S_OK, both addresses there" check_keep_secondary

# The kernel drops the IPv4 routes of a link with its last IPv4 address: a new
# address with the same gateway must still end with the default route.
check_same_gateway() {
	reset_nic eth0
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses 192.0.2.10 --Subnets 24 \
		--DefaultGateways 192.0.2.1 --DHCPEnabled false || return 1
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses 192.0.2.20 --Subnets 24 \
		--DefaultGateways 192.0.2.1 --DHCPEnabled false || return 1
	same "eth0 addresses" 192.0.2.20/24 "$(hv_addrs eth0)" || return 1
	same "eth0 default routes" "192.0.2.1 100 static" "$(hv_default_routes eth0)"
}
hv_check "(1c) a new address in the same subnet with the same gateway: HV_S_OK, the default route still there" check_same_gateway

# ---- (2) idempotent ---------------------------------------------------------------

# A sentinel event on lo that tells when the monitor has seen everything before it.
sentinel() { # ADDR
	ip addr add "$1/32" dev lo
	hv_wait_for 5 grep -q "$1" "$HV_TMP/monitor.out" || { echo "ip monitor did not see $1"; return 1; }
	ip addr del "$1/32" dev lo
}

check_idempotent_inner() {
	local before_inode after_inode
	before_inode=$(stat -c '%i %Y %s' /etc/resolv.conf)
	snapshot idem eth0
	sentinel 203.0.113.254 || return 1
	hv_expect_code HV_S_OK "${BASIC[@]}" || return 1
	sentinel 203.0.113.253 || return 1
	if grep -E 'eth0|192\.0\.2\.|2001:db8::' "$HV_TMP/monitor.out"; then
		echo "^ netlink events on eth0 during an identical SET (a flap)"
		return 1
	fi
	unchanged idem eth0 || return 1
	after_inode=$(stat -c '%i %Y %s' /etc/resolv.conf)
	same "resolv.conf inode/mtime/size (not rewritten)" "$before_inode" "$after_inode" || return 1
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 netlink: unchanged"*) ;;
	*) echo "pool 1 $KEY0 does not say unchanged: $(result_key "$KEY0")"; return 1 ;;
	esac
}

# The detector itself: a deliberate flap between two sentinels is seen.
check_detector() {
	: >"$HV_TMP/monitor.out"
	sentinel 203.0.113.252 || return 1
	ip addr del 192.0.2.11/24 dev eth0
	ip addr add 192.0.2.11/24 brd + dev eth0
	sentinel 203.0.113.251 || return 1
	grep -q 'Deleted.*eth0.*192\.0\.2\.11' "$HV_TMP/monitor.out" ||
		{ echo "the flap detector missed a deliberate flap:"; cat "$HV_TMP/monitor.out"; return 1; }
}

check_idempotent() {
	local mon rc=0
	hv_expect_code HV_S_OK "${BASIC[@]}" >/dev/null || return 1
	ip -o monitor address route >>"$HV_TMP/monitor.out" 2>/dev/null </dev/null &
	mon=$!
	hv_track_pid "$mon"
	check_idempotent_inner || rc=1
	[ $rc -ne 0 ] || check_detector || rc=1
	hv_stop "$mon"
	return $rc
}
hv_check "(2) the same settings again: HV_S_OK, no address or route event on the link (no flap; the detector sees a deliberate one), resolv.conf not rewritten, result says unchanged" check_idempotent

# ---- (3) DHCP -----------------------------------------------------------------------

# A hand-configured link the failover replaces, or must leave alone.
preset_eth0() {
	reset_nic eth0
	ip addr add 198.51.100.5/24 brd + dev eth0
	ip addr add 198.51.100.6/24 brd + dev eth0
	ip -6 addr add 2001:db8:5::5/64 dev eth0
	ip route add default via 198.51.100.1 dev eth0 metric 50
	ip -6 route add default via 2001:db8:5::1 dev eth0 metric 50
}

V6ONLY=(--adapter-id "$GUID0" --IPAddresses "2001:db8::10" --Subnets 64
	--DefaultGateways "2001:db8::1" --DNSServers "2001:db8::53")

# IPv6-only settings with DHCPEnabled=true (hosts send them so: the flag
# concerns IPv4) where no DHCP client runs: the IPv6 part applies, IPv4
# stays exactly as configured, HV_S_OK, and the result and journal say why.
check_v6_dhcp_ipv4_left() {
	local v4addrs v4routes
	preset_eth0
	v4addrs=$(ip -4 -j addr show dev eth0 | jq -c '[.[0].addr_info[] | {local, prefixlen, broadcast}]')
	v4routes=$(ip -4 -j route show dev eth0 | jq -S -c 'sort_by(tostring)')
	wc -l <"$HV_TMP/hvkvpd.log" >"$HV_TMP/log-mark"
	hv_expect_code HV_S_OK "${V6ONLY[@]}" --DHCPEnabled true || return 1
	same "eth0 addresses" "$(lines 198.51.100.5/24 198.51.100.6/24 2001:db8::10/64)" "$(hv_addrs eth0)" || return 1
	same "eth0 IPv4 addresses (exactly)" "$v4addrs" \
		"$(ip -4 -j addr show dev eth0 | jq -c '[.[0].addr_info[] | {local, prefixlen, broadcast}]')" || return 1
	same "eth0 IPv4 routes (exactly)" "$v4routes" "$(ip -4 -j route show dev eth0 | jq -S -c 'sort_by(tostring)')" || return 1
	same "eth0 default routes" "$(lines '198.51.100.1 50 boot' '2001:db8::1 100 static')" \
		"$(hv_default_routes eth0)" || return 1
	resolv_is eth0 2001:db8::53 || return 1
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 netlink: applied 0 IPv4, 1 IPv6"*"IPv4 left as configured (DHCPEnabled, but no DHCP client runs on this link"*) ;;
	*) echo "pool 1 $KEY0: $(result_key "$KEY0")"; return 1 ;;
	esac
	daemon_log | grep -q "eth0: the host sends IPv6 settings with DHCPEnabled; no DHCP client runs on this link.*IPv4 configuration is left as it is" ||
		{ echo "journal lacks the note"; daemon_log | tail -n 5; return 1; }
}
hv_check "(3a) IPv6-only with DHCPEnabled=true and no DHCP client: HV_S_OK, IPv6 applied, IPv4 addresses and routes exactly as before, result and journal say why" check_v6_dhcp_ipv4_left

# DHCPEnabled=true with IPv4 settings too: nothing here can do that DHCP.
check_v4_dhcp_refused() {
	preset_eth0
	snapshot dhcp eth0
	hv_expect_code HV_ERROR_NOT_SUPPORTED --adapter-id "$GUID0" --IPAddresses "2001:db8::10" --Subnets 64 \
		--DefaultGateways "192.0.2.1;2001:db8::1" --DHCPEnabled true || return 1
	unchanged dhcp eth0 || return 1
	same "state result" 0x80070032 "$(state_get $MAC0 result)" || return 1
	hv_expect_code HV_ERROR_NOT_SUPPORTED --adapter-id "$GUID0" --DNSServers 192.0.2.53 --DHCPEnabled true || return 1
	unchanged dhcp eth0
}
hv_check "(3a') DHCPEnabled=true with an IPv4 gateway, or with nothing else, and no DHCP client: HV_ERROR_NOT_SUPPORTED, link and resolv.conf unchanged" check_v4_dhcp_refused

check_v6_static() {
	preset_eth0
	hv_expect_code HV_S_OK "${V6ONLY[@]}" --DHCPEnabled false || return 1
	same "eth0 addresses" "2001:db8::10/64" "$(hv_addrs eth0)" || return 1
	same "eth0 default routes" "2001:db8::1 100 static" "$(hv_default_routes eth0)" || return 1
	resolv_is eth0 2001:db8::53
}
hv_check "(3b) IPv6-only with DHCPEnabled=false: HV_S_OK, only the IPv6 address and gateway, old static IPv4 gone" check_v6_static

# A DHCP client keeps the link: its lease (an address with a lifetime) and
# its route stay, the host's IPv6 settings come on top.
check_dhcp_kept() {
	reset_nic eth0
	ip addr add 192.0.2.50/24 brd + dev eth0 valid_lft 3600 preferred_lft 3600
	ip route add default via 192.0.2.1 dev eth0 proto dhcp metric 1024
	hv_expect_code HV_S_OK "${V6ONLY[@]}" --DHCPEnabled true || return 1
	same "eth0 addresses" "$(lines 192.0.2.50/24 2001:db8::10/64)" "$(hv_addrs eth0)" || return 1
	same "eth0 default routes" "$(lines '192.0.2.1 1024 dhcp' '2001:db8::1 100 static')" \
		"$(hv_default_routes eth0)" || return 1
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 netlink: applied"*"DHCPv4 kept"*) ;;
	*) echo "pool 1 $KEY0: $(result_key "$KEY0")"; return 1 ;;
	esac
}
hv_check "(3c) DHCPEnabled=true where a DHCP client holds a lease: HV_S_OK, lease and its route kept, IPv6 added" check_dhcp_kept

# ---- (4) mixed families, wrong hint ----------------------------------------------------

check_mixed_hint() {
	reset_nic eth0
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --addr-family 1 --IPAddresses "2001:db8::10;192.0.2.10" \
		--Subnets "64;255.255.255.0" --DefaultGateways "2001:db8::1;192.0.2.1" \
		--DHCPEnabled false || return 1
	same "eth0 addresses" "$(lines 192.0.2.10/24 2001:db8::10/64)" "$(hv_addrs eth0)" || return 1
	same "eth0 default routes" "$(lines '192.0.2.1 100 static' '2001:db8::1 100 static')" \
		"$(hv_default_routes eth0)" || return 1
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --addr-family 2 --IPAddresses "192.0.2.20" \
		--Subnets "255.255.255.0" --DHCPEnabled false || return 1
	same "eth0 addresses" "192.0.2.20/24" "$(hv_addrs eth0)" || return 1
	same "eth0 default routes" "" "$(hv_default_routes eth0)"
}
hv_check "(4) mixed families with a wrong addr_family hint (1 for v6+v4, 2 for v4): every address applied by its own family" check_mixed_hint

# ---- (5) gateways ------------------------------------------------------------------------

FIVE_GW=(--adapter-id "$GUID0" --IPAddresses "192.0.2.10;2001:db8::10" --Subnets "24;64"
	--DefaultGateways "192.0.2.1;2001:db8::1;192.0.2.2;192.0.2.3;2001:db8::2" --DHCPEnabled false)

check_five_gateways() {
	reset_nic eth0
	hv_expect_code HV_S_OK "${FIVE_GW[@]}" || return 1
	same "eth0 default routes" "$(lines '192.0.2.1 100 static' '192.0.2.2 101 static' \
		'192.0.2.3 102 static' '2001:db8::1 100 static' '2001:db8::2 101 static')" \
		"$(hv_default_routes eth0)"
}
hv_check "(5a) 5 gateways (3 IPv4 + 2 IPv6, interleaved): 5 default routes, metrics 100.. per family in the host's order" check_five_gateways

check_six_gateways() {
	hv_expect_code HV_S_OK "${FIVE_GW[@]}" >/dev/null || return 1
	snapshot six eth0
	hv_expect_code HV_INVALIDARG --adapter-id "$GUID0" --IPAddresses "192.0.2.10;2001:db8::10" \
		--Subnets "24;64" --DefaultGateways "192.0.2.1;2001:db8::1;192.0.2.2;192.0.2.3;2001:db8::2;192.0.2.4" \
		--DHCPEnabled false || return 1
	unchanged six eth0 || return 1
	case $(result_key "$KEY0") in
	*"HV_INVALIDARG eth0"*DefaultGateways*) ;;
	*) echo "pool 1 $KEY0: $(result_key "$KEY0")"; return 1 ;;
	esac
}
hv_check "(5b) 6 gateways: HV_INVALIDARG, link unchanged, the result names DefaultGateways" check_six_gateways

check_onlink() {
	reset_nic eth0
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses 192.0.2.10 --Subnets 24 \
		--DefaultGateways 203.0.113.1 --DHCPEnabled false || return 1
	same "eth0 default routes" "203.0.113.1 100 static" "$(hv_default_routes eth0)" || return 1
	ip -j route show default dev eth0 | jq -e '.[0].flags | index("onlink")' >/dev/null ||
		{ echo "no onlink flag: $(ip route show default dev eth0)"; return 1; }
}
hv_check "(5c) an IPv4 gateway outside every configured subnet: default route with onlink" check_onlink

# ---- (6) bad input ------------------------------------------------------------------------

# Bad input arrives on a link that holds applied failover settings.
bad_setup() {
	reset_nic eth0
	hv_expect_code HV_S_OK "${BASIC[@]}" >/dev/null || return 1
	snapshot bad eth0
}

# bad_input WHY-PATTERN ARGS...: HV_INVALIDARG, link and resolv.conf as they
# were, the state and pool 1 say why (WHY-PATTERN) and still hold the applied
# settings.
bad_input() {
	local why=$1 key
	shift
	bad_setup || return 1
	hv_expect_code HV_INVALIDARG "$@" || return 1
	unchanged bad eth0 || return 1
	key=$(result_key "$KEY0")
	case $key in
	*"HV_INVALIDARG eth0 -: "*$why*) ;;
	*) echo "pool 1 $KEY0 does not say why ('$why'): $key"; return 1 ;;
	esac
	same "state result" 0x80070057 "$(state_get $MAC0 result)" || return 1
	case $(state_get $MAC0 detail) in
	*$why*) ;;
	*) echo "state detail does not say why: $(state_get $MAC0 detail)"; return 1 ;;
	esac
	same "state: what is applied" "192.0.2.10;192.0.2.11;2001:db8::10" \
		"$(state_get $MAC0 applied_ip_addr)"
}

hv_check "(6a) non-contiguous mask: HV_INVALIDARG, link + resolv.conf byte-identical, state and pool 1 say why" \
	bad_input "255.0.255.0" --adapter-id "$GUID0" --IPAddresses "192.0.2.20" \
	--Subnets "255.0.255.0" --DHCPEnabled false
hv_check "(6b) bad address 192.0.2.300: HV_INVALIDARG, link unchanged, why recorded" \
	bad_input "192.0.2.300" --adapter-id "$GUID0" --IPAddresses "192.0.2.20;192.0.2.300" \
	--Subnets "24;24" --DHCPEnabled false
hv_check "(6c) garbage in every field: HV_INVALIDARG, link unchanged, why recorded" \
	bad_input "hello" --adapter-id "$GUID0" --IPAddresses "hello world;\$(reboot)" \
	--Subnets "x;y" --DefaultGateways "\`id\`" --DNSServers "../../etc" --DHCPEnabled false
hv_check "(6d) garbage gateway after good addresses: HV_INVALIDARG, nothing half applied" \
	bad_input "gw!" --adapter-id "$GUID0" --IPAddresses "192.0.2.20" --Subnets "24" \
	--DefaultGateways "192.0.2.1;gw!" --DNSServers "192.0.2.53" --DHCPEnabled false

# raw_bad ARGS...: a malformed SET_IP_INFO message never gets to the link.
raw_bad() {
	local out
	bad_setup || return 1
	out=$(raw "$@") || { echo "raw: no answer: $out"; return 1; }
	hv_json_is "$out" .code_name HV_INVALIDARG || return 1
	unchanged bad eth0 || return 1
	# the request was not even decoded: the last result is the good one
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 netlink"*) ;;
	*) echo "pool 1 $KEY0 changed: $(result_key "$KEY0")"; return 1 ;;
	esac
}
hv_check "(6e) raw message, no NUL in any IP field: HV_INVALIDARG, link unchanged" \
	raw_bad --op 5 --key "$GUID0" --value "192.0.2.20" --fill 65
hv_check "(6f) raw message, adapter id not UTF-8: HV_INVALIDARG, link unchanged" \
	raw_bad --op 5 --key '{\xff\xfe}' --value "192.0.2.20"

# ---- (7) adapter ids ------------------------------------------------------------------------

check_unknown_guid() {
	bad_setup || return 1
	hv_expect_code HV_GUID_NOTFOUND --adapter-id '{00000000-0000-4000-8000-000000000000}' \
		--IPAddresses 192.0.2.99 --Subnets 24 --DHCPEnabled false || return 1
	unchanged bad eth0
}
hv_check "(7a) unknown GUID: HV_GUID_NOTFOUND, nothing changed" check_unknown_guid

check_guid_forms() {
	local id
	for id in '{4E0C1A2B-0000-4000-8000-00155D000001}' '4e0c1a2b-0000-4000-8000-00155d000001' \
		'4E0C1A2B-0000-4000-8000-00155D000001'; do
		reset_nic eth0
		hv_expect_code HV_S_OK --adapter-id "$id" --IPAddresses 192.0.2.10 --Subnets 24 \
			--DHCPEnabled false || return 1
		same "eth0 addresses for $id" "192.0.2.10/24" "$(hv_addrs eth0)" || return 1
	done
}
hv_check "(7b) the GUID in upper case, without braces, both: HV_S_OK on eth0" check_guid_forms

# ---- (8) a failure midway, rolled back ------------------------------------------------------------

FAILOVER=(--adapter-id "$GUID0" --IPAddresses "192.0.2.10;2001:db8::10" --Subnets "24;64"
	--DefaultGateways "192.0.2.1;2001:db8::1" --DNSServers "192.0.2.53;2001:db8::53" --DHCPEnabled false)

# rolled_back NAME STEP: HV_E_FAIL, and eth0 + resolv.conf exactly as in NAME.
rolled_back() {
	local key
	hv_expect_code HV_E_FAIL "${FAILOVER[@]}" || return 1
	unchanged "$1" eth0 || return 1
	daemon_log | grep -q "failure injected after $2" ||
		{ echo "the seam did not fire at $2"; return 1; }
	daemon_log | grep -q "eth0 rolled back to its previous configuration after the failed $2 step" ||
		{ echo "no (successful) rollback logged"; return 1; }
	same "state result" 0x80004005 "$(state_get $MAC0 result)" || return 1
	same "state: nothing applied" "" "$(state_get $MAC0 applied_ip_addr)" || return 1
	key=$(result_key "$KEY0")
	case $key in
	*"HV_E_FAIL eth0 netlink"*) ;;
	*) echo "pool 1 $KEY0: $key"; return 1 ;;
	esac
}

for step in verify apply; do
	restart_daemon "$step"
	preset_eth0
	snapshot "fail-$step" eth0
	hv_check "(8 $step) failure injected after $step (seam): HV_E_FAIL, eth0 addresses, flags, every route and resolv.conf exactly as before" \
		rolled_back "fail-$step" "$step"
done

# The link as other tools leave it: an address without broadcast, one with
# an alias label, an IPv6 address with nodad, static routes through the old
# gateway, a default route with onlink. The rollback must bring all of it back.
restart_daemon verify
preset_eth0
ip addr add 198.51.100.7/24 dev eth0
ip addr add 198.51.100.8/24 brd + dev eth0 label eth0:1
ip -6 addr add 2001:db8:5::7/64 dev eth0 nodad
ip route add 10.10.0.0/16 via 198.51.100.1 dev eth0
ip route add 10.20.0.0/16 dev eth0 src 198.51.100.5 metric 7
ip -6 route add 2001:db8:77::/48 via 2001:db8:5::1 dev eth0
ip route add default via 203.0.113.1 dev eth0 onlink metric 60
snapshot fail-rich eth0
hv_check "(8 rich) rollback restores an address without brd, an alias label, a nodad IPv6 address, static routes (via, src) and an onlink default route exactly" \
	rolled_back fail-rich verify
restart_daemon

# ---- (9) GET after SET ----------------------------------------------------------------------------

check_get() {
	local out
	reset_nic eth0
	reset_nic eth1
	# eth1 has a default route of its own, which is not eth0's to report
	ip addr add 198.51.100.10/24 dev eth1
	ip route add default via 198.51.100.1 dev eth1 metric 10
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses "192.0.2.10;192.0.2.11;2001:db8::10" \
		--Subnets "255.255.255.0;255.255.255.128;64" --DefaultGateways "192.0.2.1;2001:db8::1" \
		--DNSServers "192.0.2.53;2001:db8::53" --DHCPEnabled false || return 1
	for id in 00:15:5D:00:00:01 00:15:5d:00:00:01 00-15-5D-00-00-01; do
		out=$(get_ip "$id") || { echo "get-ip-info $id: $out"; return 1; }
		hv_json_is "$out" .code_name HV_S_OK || return 1
		# the global addresses, each with its own subnet; link-local may be there
		same "GET $id addresses/subnets" \
			"$(lines '192.0.2.10 255.255.255.0' '192.0.2.11 255.255.255.128' '2001:db8::10 /64')" \
			"$(jq -r '[.IPAddresses, .Subnets] | transpose[] | select(.[0] | startswith("fe80:") | not) | "\(.[0]) \(.[1])"' <<<"$out" | sort)" ||
			return 1
		same "GET $id: other addresses are link-local" "" \
			"$(jq -r '.IPAddresses[] | select(test("^(192\\.0\\.2\\.1[01]|2001:db8::10|fe80:.*)$") | not)' <<<"$out")" ||
			return 1
		same "GET $id gateways (eth0's only)" '["192.0.2.1","2001:db8::1"]' \
			"$(jq -c .DefaultGateways <<<"$out")" || return 1
		same "GET $id DNS" '["192.0.2.53","2001:db8::53"]' "$(jq -c .DNSServers <<<"$out")" ||
			return 1
		same "GET $id DHCP" false "$(jq -c .DHCPEnabled <<<"$out")" || return 1
		same "GET $id addr_family" 3 "$(jq -c .addr_family <<<"$out")" || return 1
	done
	out=$(get_ip 00:15:5D:00:00:02) || return 1
	same "GET eth1 gateways" '["198.51.100.1"]' "$(jq -c .DefaultGateways <<<"$out")"
}
hv_check "(9) GET after SET: addresses, subnets (IPv4 dotted, IPv6 /64), this link's gateways only, DNS, DHCP off; MAC in any case or with dashes" check_get

# ---- (10) re-applied after a restart ----------------------------------------------------------------

reset_nic eth1
hv_check "(10a) SET before the restart" hv_expect_code HV_S_OK "${BASIC[@]}"
hv_stop "$HVKVPD_PID"
# what a reboot does to settings only the kernel held
ip addr flush dev eth0
ip route flush dev eth0
ip -6 route flush dev eth0
wc -l <"$HV_TMP/hvkvpd.log" >"$HV_TMP/log-mark"
start_daemon # returns once registered: re-applying comes before READY and the handshake
check_reapplied() {
	same "eth0 addresses" "$(lines 192.0.2.10/24 192.0.2.11/24 2001:db8::10/64)" "$(hv_addrs eth0)" || return 1
	same "eth0 default routes" "$(lines '192.0.2.1 100 static' '192.0.2.2 101 static')" \
		"$(hv_default_routes eth0)" || return 1
	resolv_is eth0 192.0.2.53 192.0.2.54 2001:db8::53 || return 1
	daemon_log | grep -q "eth0: re-applied the saved failover settings" ||
		{ echo "no re-apply logged"; return 1; }
}
hv_check "(10b) restart after the link was flushed: addresses and routes back before the daemon registered" check_reapplied

# ---- (11) no carrier --------------------------------------------------------------------------------

check_no_carrier() {
	reset_nic eth1
	ip link set eth1p down
	hv_expect_code HV_S_OK --adapter-id "$GUID1" --IPAddresses "198.51.100.10;2001:db8:1::10" \
		--Subnets "24;64" --DefaultGateways "198.51.100.1;2001:db8:1::1" --DHCPEnabled false ||
		return 1
	ip -j link show dev eth1 | jq -e '.[0].flags | index("NO-CARRIER")' >/dev/null ||
		{ echo "eth1 has a carrier: the test is wrong"; return 1; }
	same "eth1 addresses" "$(lines 198.51.100.10/24 2001:db8:1::10/64)" "$(hv_addrs eth1)" || return 1
	same "eth1 default routes" "$(lines '198.51.100.1 100 static' '2001:db8:1::1 100 static')" \
		"$(hv_default_routes eth1)" || return 1
	same "state waiting_for_carrier" 1 "$(state_get $MAC1 waiting_for_carrier)" || return 1
	case $(result_key "$KEY1") in
	*"HV_S_OK eth1 netlink"*"waiting for carrier"*) ;;
	*) echo "pool 1 $KEY1: $(result_key "$KEY1")"; return 1 ;;
	esac
}
hv_check "(11a) no carrier (peer down): HV_S_OK, configuration on the link, state waiting_for_carrier=1, pool 1 says waiting for carrier" check_no_carrier

check_carrier_comes() {
	ip link set eth1p up
	hv_wait_for 5 test "$(state_get $MAC1 waiting_for_carrier)" = 0 ||
		{ echo "state still says waiting_for_carrier=$(state_get $MAC1 waiting_for_carrier) 5 s after the carrier came"; return 1; }
	case $(result_key "$KEY1") in
	*"waiting for carrier"*) echo "pool 1 $KEY1 still says waiting: $(result_key "$KEY1")"; return 1 ;;
	esac
}
hv_check "(11b) the carrier comes: the state and pool 1 stop saying waiting for carrier" check_carrier_comes
ip link set eth1p up

# ---- (12) the result key ----------------------------------------------------------------------------

check_result_key() {
	local v
	reset_nic eth0
	hv_expect_code HV_S_OK "${BASIC[@]}" || return 1
	v=$(result_key "$KEY0")
	[[ $v =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\ HV_S_OK\ eth0\ netlink:\ applied\ 2\ IPv4,\ 1\ IPv6,\ 2\ gateways,\ 3\ DNS$ ]] ||
		{ echo "pool 1 $KEY0 after success: '$v'"; return 1; }
	hv_expect_code HV_INVALIDARG --adapter-id "$GUID0" --IPAddresses 192.0.2.300 --Subnets 24 \
		--DHCPEnabled false || return 1
	v=$(result_key "$KEY0")
	[[ $v =~ ^[0-9-]{10}T[0-9:]{8}Z\ HV_INVALIDARG\ eth0\ -:\ .*192\.0\.2\.300 ]] ||
		{ echo "pool 1 $KEY0 after a rejection: '$v'"; return 1; }
	# one key per adapter, however many requests came
	same "keys for eth0 in pool 1" 1 \
		"$(hv_ctl enumerate-all --pool 1 | jq --arg k "$KEY0" '[.items[] | select(.key == $k)] | length')"
}
hv_check "(12) pool 1 HvKvpdFailoverResult_<MAC>: one key per adapter, time + code + link + backend + what/why" check_result_key

# ---- (13) two adapters ------------------------------------------------------------------------------

check_two_adapters_v4() {
	reset_nic eth0
	reset_nic eth1
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses 192.0.2.10 --Subnets 24 \
		--DefaultGateways 192.0.2.1 --DNSServers 192.0.2.53 --DHCPEnabled false || return 1
	hv_expect_code HV_S_OK --adapter-id "$GUID1" --IPAddresses 198.51.100.10 --Subnets 24 \
		--DefaultGateways 198.51.100.1 --DNSServers 198.51.100.53 --DHCPEnabled false || return 1
	same "eth0 addresses" 192.0.2.10/24 "$(hv_addrs eth0)" || return 1
	same "eth1 addresses" 198.51.100.10/24 "$(hv_addrs eth1)" || return 1
	same "eth0 default routes" "192.0.2.1 100 static" "$(hv_default_routes eth0)" || return 1
	same "eth1 default routes" "198.51.100.1 100 static" "$(hv_default_routes eth1)" || return 1
	if ! grep -qx 'nameserver 192.0.2.53' /etc/resolv.conf ||
		! grep -qx 'nameserver 198.51.100.53' /etc/resolv.conf; then
		echo "resolv.conf lacks a block:"
		cat /etc/resolv.conf
		return 1
	fi
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses 192.0.2.10 --Subnets 24 \
		--DefaultGateways 192.0.2.1 --DNSServers 192.0.2.53 --DHCPEnabled false
}
hv_check "(13a) two adapters, IPv4: each its own addresses, default route (both metric 100), DNS block" check_two_adapters_v4

check_two_adapters_dual() {
	local out
	reset_nic eth0
	reset_nic eth1
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses "192.0.2.10;2001:db8::10" --Subnets "24;64" \
		--DefaultGateways "192.0.2.1;2001:db8::1" --DNSServers 192.0.2.53 --DHCPEnabled false || return 1
	hv_expect_code HV_S_OK --adapter-id "$GUID1" --IPAddresses "198.51.100.10;2001:db8:1::10" --Subnets "24;64" \
		--DefaultGateways "198.51.100.1;2001:db8:1::1" --DNSServers 198.51.100.53 --DHCPEnabled false ||
		{ ip -6 route show default; return 1; }
	same "eth0 addresses" "$(lines 192.0.2.10/24 2001:db8::10/64)" "$(hv_addrs eth0)" || return 1
	same "eth1 addresses" "$(lines 198.51.100.10/24 2001:db8:1::10/64)" "$(hv_addrs eth1)" || return 1
	same "eth0 default routes" "$(lines '192.0.2.1 100 static' '2001:db8::1 100 static')" "$(hv_default_routes eth0)" || return 1
	same "eth1 default routes" "$(lines '198.51.100.1 100 static' '2001:db8:1::1 100 static')" "$(hv_default_routes eth1)" || return 1
	out=$(get_ip 00:15:5D:00:00:01) || return 1
	same "GET eth0 gateways" '["192.0.2.1","2001:db8::1"]' "$(jq -c .DefaultGateways <<<"$out")" || return 1
	out=$(get_ip 00:15:5D:00:00:02) || return 1
	same "GET eth1 gateways" '["198.51.100.1","2001:db8:1::1"]' "$(jq -c .DefaultGateways <<<"$out")" || return 1
	# the host retries eth0: nothing to do, and certainly no failure
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses "192.0.2.10;2001:db8::10" --Subnets "24;64" \
		--DefaultGateways "192.0.2.1;2001:db8::1" --DNSServers 192.0.2.53 --DHCPEnabled false
}
hv_check "(13b) two adapters, dual stack: each its own IPv4 and IPv6 default route (same metrics on two links), GET each, eth0 again OK" check_two_adapters_dual

# ---- (14) the reply budget holds when the apply lock is taken -------------------------------------

# Another apply (hvkvpctl) holds the lock for longer than the budget: the host
# still gets its answer inside the budget, and nothing changes.
restart_daemon "" --reply-budget 1
mkdir -p "$STATE"
(exec 9>"$STATE/.apply.lock" && flock 9 && exec sleep 60) &
lock_holder=$!
hv_track_pid "$lock_holder"
# shellcheck disable=SC2016 # $1 is the inner shell's
hv_wait_for 5 bash -c '! flock -n "$1" true' _ "$STATE/.apply.lock" || echo "# the lock was not taken"
check_locked() {
	local out
	snapshot locked eth0
	# timed apart: waiting for the lock is not a turnaround figure
	out=$(HV_TIMES_FILE=$HV_TMP/set-elapsed-us-locked hv_set_ip --adapter-id "$GUID0" --IPAddresses 192.0.2.99 --Subnets 24 --DHCPEnabled false) ||
		{ echo "$out"; return 1; }
	hv_json_is "$out" .code_name HV_ERROR_MACHINE_LOCKED || return 1
	[ "$(hv_json "$out" .elapsed_us)" -lt 10000000 ] ||
		{ echo "answered after $(hv_json "$out" .elapsed_us) us with a 1 s budget"; return 1; }
	unchanged locked eth0 || return 1
	case $(result_key "$KEY0") in
	*"HV_ERROR_MACHINE_LOCKED eth0"*lock*) ;;
	*) echo "pool 1 $KEY0: $(result_key "$KEY0")"; return 1 ;;
	esac
}
hv_check "(14) the apply lock held by another apply: HV_ERROR_MACHINE_LOCKED inside a 1 s reply budget, nothing changed, the result says why" check_locked
hv_stop "$lock_holder"
restart_daemon

# An unprivileged process holds a read lock on pool 1, where the result line
# goes: the host's answer must neither wait for it nor change; the line is
# written once the lock is gone.
check_result_line_deferred() {
	local out holder us
	reset_nic eth0
	setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "rb")
fcntl.lockf(f, fcntl.LOCK_SH)
print("locked", flush=True)
time.sleep(60)' /var/lib/hyperv/.kvp_pool_1 >"$HV_TMP/pool1.locked" &
	holder=$!
	hv_track_pid "$holder"
	hv_wait_for 10 grep -q locked "$HV_TMP/pool1.locked"
	out=$(hv_set_ip "${BASIC[@]}")
	hv_json_is "$out" .code_name HV_S_OK
	us=$(hv_json "$out" .elapsed_us)
	echo "SET_IP_INFO with pool 1 read-locked: HV_S_OK in $us us"
	# the pool's lock wait is 2 s: an answer well below it did not wait
	[ "$us" -lt 1500000 ] || { echo "the answer waited for the pool lock"; return 1; }
	same "eth0 addresses" "$(lines 192.0.2.10/24 192.0.2.11/24 2001:db8::10/64)" "$(hv_addrs eth0)"
	# it was queued, not written behind the lock's back
	grep -q "result key $KEY0 is written when it is free" "$HV_TMP/hvkvpd.log"
	hv_stop "$holder"
	result_ok() { case $(result_key "$KEY0") in *"HV_S_OK eth0 netlink"*) return 0 ;; esac; return 1; }
	hv_wait_for 10 result_ok || { echo "pool 1 $KEY0 after the lock: $(result_key "$KEY0")"; return 1; }
}
hv_check "(15) pool 1 read-locked by an unprivileged process: SET_IP_INFO answers HV_S_OK at once, the result line follows the lock" \
	check_result_line_deferred

# ---- (16) issue 10: refused before anything changes, limits, on-link warning, DNS marker ---------

restart_daemon

DUAL=(--adapter-id "$GUID0" --IPAddresses "192.0.2.10;2001:db8::10" --Subnets "24;64"
	--DefaultGateways "192.0.2.1;2001:db8::1" --DNSServers 192.0.2.53 --DHCPEnabled false)

# watch_start / watch_stop: every address and route event (ip monitor) while
# a request is handled; watch_stop prints them.
watch_start() {
	ip -o monitor address route >"$HV_TMP/monitor-16.out" 2>&1 &
	WATCH_PID=$!
	hv_track_pid "$WATCH_PID"
	sleep 0.2
}
watch_stop() {
	sleep 0.3
	hv_stop "$WATCH_PID"
	grep -v '^$' "$HV_TMP/monitor-16.out" || true
}

# refused_unchanged WHY ARGS...: on a link holding applied dual-stack
# settings (an IPv4 and an IPv6 default route), a refused request:
# HV_INVALIDARG, not one address or route event while it is handled (no
# route deleted and added back), link and resolv.conf byte-identical, and
# pool 1 names the field and value (WHY).
refused_unchanged() {
	local why=$1 events
	shift
	reset_nic eth0
	hv_expect_code HV_S_OK "${DUAL[@]}" >/dev/null || return 1
	snapshot refused eth0
	watch_start
	hv_expect_code HV_INVALIDARG "$@" || { watch_stop >/dev/null; return 1; }
	events=$(watch_stop)
	[ -z "$events" ] || { printf 'events while refusing:\n%s\n' "$events"; return 1; }
	unchanged refused eth0 || return 1
	case $(result_key "$KEY0") in
	*"HV_INVALIDARG eth0"*"$why"*) ;;
	*) echo "pool 1 $KEY0: $(result_key "$KEY0"); want '$why'"; return 1 ;;
	esac
}

# the detector itself: a deliberate delete and add of the IPv6 default route
check_watch_sees_flap() {
	local events
	reset_nic eth0
	hv_expect_code HV_S_OK "${DUAL[@]}" >/dev/null || return 1
	watch_start
	ip route del default via 192.0.2.1 dev eth0 metric 100
	ip route append default via 192.0.2.1 dev eth0 metric 100 proto static
	events=$(watch_stop)
	grep -q "Deleted default via 192.0.2.1" <<<"$events" || { echo "detector missed: $events"; return 1; }
}
hv_check "(16a) the route-event detector sees a deliberate default route flap" check_watch_sees_flap

hv_check "(16b) IPv6 gateway outside every prefix: HV_INVALIDARG, no route event (the IPv6 default route is not deleted and added back), nothing changed" \
	refused_unchanged "DefaultGateways[1] '2001:db8:1::1' is neither link-local" \
	--adapter-id "$GUID0" --IPAddresses "192.0.2.10;2001:db8::10" --Subnets "24;64" \
	--DefaultGateways "192.0.2.1;2001:db8:1::1" --DHCPEnabled false
hv_check "(16c) gateway = the adapter's own address: HV_INVALIDARG naming DefaultGateways[0], no route event, nothing changed" \
	refused_unchanged "DefaultGateways[0] '192.0.2.20' is the adapter's own address (IPAddresses[0])" \
	--adapter-id "$GUID0" --IPAddresses "192.0.2.20" --Subnets 24 --DefaultGateways 192.0.2.20 --DHCPEnabled false
hv_check "(16d) gateway = the subnet's network address: HV_INVALIDARG, no route event, nothing changed" \
	refused_unchanged "DefaultGateways[0] '192.0.2.0' is the network address of the subnet of IPAddresses[0] '192.0.2.20/24'" \
	--adapter-id "$GUID0" --IPAddresses "192.0.2.20" --Subnets 24 --DefaultGateways 192.0.2.0 --DHCPEnabled false
hv_check "(16e) gateway = the subnet's broadcast address: HV_INVALIDARG, no route event, nothing changed" \
	refused_unchanged "DefaultGateways[0] '192.0.2.255' is the broadcast address" \
	--adapter-id "$GUID0" --IPAddresses "192.0.2.20" --Subnets 24 --DefaultGateways 192.0.2.255 --DHCPEnabled false
hv_check "(16f) gateway in 240.0.0.0/4: HV_INVALIDARG, no route event, nothing changed" \
	refused_unchanged "DefaultGateways[0] '240.0.0.1' is a reserved (class E) address" \
	--adapter-id "$GUID0" --IPAddresses "192.0.2.20" --Subnets 24 --DefaultGateways 240.0.0.1 --DHCPEnabled false
hv_check "(16g) address in 0.0.0.0/8: HV_INVALIDARG naming IPAddresses[1], no route event, nothing changed" \
	refused_unchanged "IPAddresses[1] '0.1.2.3' is in 0.0.0.0/8" \
	--adapter-id "$GUID0" --IPAddresses "192.0.2.20;0.1.2.3" --Subnets "24;8" --DHCPEnabled false

# gateway = an address another link of this guest holds: refused before the
# old default routes are touched (the kernel would refuse the route only
# after they were deleted)
refused_other_link() {
	ip addr add 198.51.100.7/24 dev eth1
	refused_unchanged "DefaultGateways[0] '198.51.100.7' is an address of eth1" \
		--adapter-id "$GUID0" --IPAddresses "192.0.2.10;2001:db8::10" --Subnets "24;64" \
		--DefaultGateways 198.51.100.7 --DHCPEnabled false
	local rc=$?
	ip addr del 198.51.100.7/24 dev eth1
	return "$rc"
}
hv_check "(16l) gateway = another link's address: HV_INVALIDARG naming the link, no route event, nothing changed" refused_other_link

# The limit is the wire's: as many distinct addresses as the host's
# 1024-unit field carries (the emulator cuts there, as the driver does):
# "1::" .. "cf::", 207 of them in 1019 bytes, all applied. (The parser's
# bound, 256 = 1024 / 4, cannot be passed through the wire; the unit tests
# check its message.)
check_wire_full_of_addresses() {
	local i list="" subs="" out n
	reset_nic eth0
	for i in $(seq 1 207); do
		list+="${list:+;}$(printf '%x::' "$i")"
		subs+="${subs:+;}64"
	done
	same "list bytes" 1019 "${#list}" || return 1
	out=$(hv_set_ip --adapter-id "$GUID0" --IPAddresses "$list" --Subnets "$subs" --DHCPEnabled false) || return 1
	same "truncated by the wire" false "$(hv_json "$out" .truncated)" || return 1
	same "code" HV_S_OK "$(hv_json "$out" .code_name)" || return 1
	n=$(hv_addrs eth0 | wc -l)
	same "global addresses on eth0" 207 "$n" || return 1
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 netlink: applied 0 IPv4, 207 IPv6"*) ;;
	*) echo "pool 1 $KEY0: $(result_key "$KEY0")"; return 1 ;;
	esac
	# GET_IP_INFO: whole entries only, within what the driver carries back
	# (1023 bytes and the terminator), every address with its prefix
	out=$(get_ip "$MAC0") || return 1
	[ "$(jq '.IPAddresses | join(";") | length' <<<"$out")" -le 1023 ] ||
		{ echo "GET list too long: $(jq '.IPAddresses | join(";") | length' <<<"$out")"; return 1; }
	same "GET subnets paired" "$(jq '.IPAddresses | length' <<<"$out")" "$(jq '.Subnets | length' <<<"$out")" || return 1
	[ "$(jq '.IPAddresses | length' <<<"$out")" -ge 200 ] || { echo "GET: $out"; return 1; }
	reset_nic eth0
}
hv_check "(16h) as many addresses as the wire's field carries (207 shortest distinct ones): HV_S_OK, all on the link; GET answers whole, paired entries within the driver's 1024 units" check_wire_full_of_addresses

# What the issue saw refused (33 and more): 60 IPv4 addresses, all applied.
check_sixty_addresses() {
	local i list="" subs="" want=()
	reset_nic eth0
	for i in $(seq 1 60); do
		list+="${list:+;}192.168.100.$((100 + i))"
		subs+="${subs:+;}24"
		want+=("192.168.100.$((100 + i))/24")
	done
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses "$list" --Subnets "$subs" \
		--DefaultGateways 192.168.100.1 --DHCPEnabled false || return 1
	same "eth0 addresses" "$(lines "${want[@]}")" "$(hv_addrs eth0)" || return 1
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 netlink: applied 60 IPv4, 0 IPv6, 1 gateway"*) ;;
	*) echo "pool 1 $KEY0: $(result_key "$KEY0")"; return 1 ;;
	esac
	# GET_IP_INFO: every address with its mask, paired, inside what the driver carries
	out=$(get_ip "$MAC0") || return 1
	same "GET addresses" 60 "$(jq '[.IPAddresses[] | select(startswith("fe80") | not)] | length' <<<"$out")" || return 1
	same "GET subnets paired" "$(jq '.IPAddresses | length' <<<"$out")" "$(jq '.Subnets | length' <<<"$out")"
}
hv_check "(16i) 60 IPv4 addresses (the issue's case): HV_S_OK, all on the link, GET reports them with their masks" check_sixty_addresses

# An IPv4 gateway outside the subnet: on-link, and the warning reaches the
# result line and the journal.
check_onlink_warning() {
	reset_nic eth0
	wc -l <"$HV_TMP/hvkvpd.log" >"$HV_TMP/log-mark"
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses 192.0.2.10 --Subnets 24 \
		--DefaultGateways 203.0.113.1 --DHCPEnabled false || return 1
	ip -j route show default dev eth0 | jq -e '.[0].flags | index("onlink")' >/dev/null ||
		{ echo "no onlink flag: $(ip route show default dev eth0)"; return 1; }
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 netlink: applied"*"warning: DefaultGateways[0] '203.0.113.1' is outside every subnet, installed on-link"*) ;;
	*) echo "pool 1 $KEY0: $(result_key "$KEY0")"; return 1 ;;
	esac
	daemon_log | grep -q "eth0: DefaultGateways\[0\] '203.0.113.1' is outside every subnet of the host's addresses; installed on-link" ||
		{ echo "no journal warning"; return 1; }
}
hv_check "(16j) an IPv4 gateway outside the subnet: onlink route, warning in the result line and the journal" check_onlink_warning

# resolv.conf: the site's server is out of use while the host's are in
# place, with the marker; back when the host sends none, and only when no
# other adapter's block is left.
check_dns_marker() {
	reset_nic eth0
	reset_nic eth1
	hv_expect_code HV_S_OK "${BASIC[@]}" >/dev/null || return 1
	grep -qx "#hvkvpd-disabled: nameserver 10.9.9.9" /etc/resolv.conf || { cat /etc/resolv.conf; return 1; }
	! grep -q "^nameserver 10.9.9.9" /etc/resolv.conf || { cat /etc/resolv.conf; return 1; }
	hv_expect_code HV_S_OK --adapter-id "$GUID1" --IPAddresses 198.51.100.10 --Subnets 24 \
		--DNSServers 198.51.100.53 --DHCPEnabled false || return 1
	# eth0's servers go: eth1's are still the host's, the site's stays out
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses 192.0.2.10 --Subnets 24 --DHCPEnabled false || return 1
	grep -qx "#hvkvpd-disabled: nameserver 10.9.9.9" /etc/resolv.conf || { cat /etc/resolv.conf; return 1; }
	! grep -q "nameserver 192.0.2.5" /etc/resolv.conf || { cat /etc/resolv.conf; return 1; }
	# eth1's go too: the file as it was, byte for byte
	hv_expect_code HV_S_OK --adapter-id "$GUID1" --IPAddresses 198.51.100.10 --Subnets 24 --DHCPEnabled false || return 1
	printf '%s' "$RESOLV_BASE" >"$HV_TMP/resolv.want"
	cmp "$HV_TMP/resolv.want" /etc/resolv.conf || { diff -u "$HV_TMP/resolv.want" /etc/resolv.conf; return 1; }
	reset_nic eth1
}
hv_check "(16k) resolv.conf: the site's nameserver out of use (#hvkvpd-disabled:) while any adapter has the host's, restored byte for byte after the last" check_dns_marker

# ---- (17) revert: the link as before the FIRST failover ---------------------------------------------

REVERT=$top_builddir/tests/integration/revert-driver
restart_daemon
preset_eth0
snapshot orig eth0

check_revert_dry_run() {
	[ -x "$REVERT" ] || { echo "$REVERT is not built (make check)"; return 1; }
	hv_expect_code HV_S_OK "${BASIC[@]}" || return 1
	# a second failover: the revert still goes back to before the first
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses 192.0.2.40 --Subnets 24 \
		--DefaultGateways 192.0.2.1 --DNSServers 192.0.2.99 --DHCPEnabled false || return 1
	snapshot failover eth0
	"$REVERT" --state-dir "$STATE" --dry-run "$MAC0" | tee "$HV_TMP/revert.out"
	grep -q "would give eth0 back what it held before the first failover (198.51.100.5/24;198.51.100.6/24;2001:db8:5::5/64" \
		"$HV_TMP/revert.out" || return 1
	unchanged failover eth0 || return 1
	test -e "$STATE/${MAC0//:/}.state"
}
hv_check "(17a) revert --dry-run after two failovers: describes the link before the first one, changes nothing" check_revert_dry_run

check_revert() {
	"$REVERT" --state-dir "$STATE" --pool-dir /var/lib/hyperv eth0 | tee "$HV_TMP/revert.out"
	unchanged orig eth0 || return 1
	test ! -e "$STATE/${MAC0//:/}.state" || { echo "the state file is still there"; return 1; }
	test ! -e "$STATE/${MAC0//:/}.original" || { echo "the original file is still there"; return 1; }
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 netlink: reverted"*) ;;
	*) echo "pool 1 $KEY0: $(result_key "$KEY0")"; return 1 ;;
	esac
	# a restart has nothing to re-apply
	restart_daemon_keep() { hv_stop "$HVKVPD_PID"; start_daemon; }
	restart_daemon_keep
	unchanged orig eth0
}
hv_check "(17b) revert: addresses, every route and resolv.conf exactly as before the first failover; state and original forgotten, pool 1 says reverted, a restart re-applies nothing" check_revert
start_daemon_if_gone() { hv_alive "${HVKVPD_PID:-}" || start_daemon; }
start_daemon_if_gone

check_revert_nothing() {
	local rc=0
	snapshot none eth0
	"$REVERT" --state-dir "$STATE" eth0 || rc=$?
	[ "$rc" -eq 2 ] || { echo "exit $rc, want 2 (nothing to revert)"; return 1; }
	unchanged none eth0
}
hv_check "(17c) revert with nothing to revert: ENOENT, nothing changed" check_revert_nothing

# ---- the budget and the figures -------------------------------------------------------------------

check_budget() {
	local n max
	n=$(cat "$HV_TIMES_FILE" "$HV_TMP"/set-elapsed-us-locked 2>/dev/null | wc -l)
	max=$(cat "$HV_TIMES_FILE" "$HV_TMP"/set-elapsed-us-locked 2>/dev/null | sort -n | tail -n 1)
	[ "$n" -gt 0 ] || { echo "no SET was timed"; return 1; }
	[ "$max" -lt "$HV_BUDGET_US" ] || { echo "slowest SET: $max us"; return 1; }
}
hv_check "every SET_IP_INFO answered inside the reply budget ($((HV_BUDGET_US / 1000000)) s)" check_budget

sort -n "$HV_TIMES_FILE" | awk '{ v[NR] = $1; s += $1 }
	END { if (NR) printf "# SET_IP_INFO turnaround (elapsed_us, %d requests): min %d, median %d, p90 %d, max %d, mean %d\n",
		NR, v[1], v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.999)], v[NR], s / NR }'

hv_checks_done

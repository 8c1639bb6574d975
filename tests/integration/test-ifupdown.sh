#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-ifupdown.sh - the ifupdown backend against Debian's real ifupdown (unpacked): runtime apply, ifdown/ifup, both boot orders, the disabled admin stanza, a rejected request, revert.
#
# Debian's ifupdown package is fetched with `apt-get download` (cached in
# <build>/tests/integration/cache) and unpacked with dpkg -x, never
# installed. In the private mount + network namespace, /etc/network is a
# directory of the test's (bind-mounted; hvkvpd reads the same directory
# through its test seam HVKVPD_TEST_IFUPDOWN_DIR, so the
# "source /etc/network/..." lines exercise the path mapping), /run/network
# a tmpfs, and `ifup`/`ifdown` from the unpacked package configure veths.
# eth0's stanza is in interfaces itself (auto), eth1's in a sourced file
# (allow-hotplug) and never brought up before the failover.
set -eu
. "$(dirname "$0")/lib.sh"
hv_require_root
hv_require_cmd jq ip awk dpkg run-parts

if [ -z "${HV_SANDBOXED:-}" ]; then
	IFUPDOWN_DEB=$(hv_fetch_ifupdown) || hv_skip "cannot fetch Debian's ifupdown package (apt-get download ifupdown)"
	export IFUPDOWN_DEB
fi
[ -x "$top_builddir/tests/integration/revert-driver" ] || hv_skip "tests/integration/revert-driver is not built (make check)"
hv_sandbox "$@"

MAC0=00:15:5d:00:00:01 GUID0='{4e0c1a2b-0000-4000-8000-00155d000001}'
MAC1=00:15:5d:00:00:02 GUID1='{4e0c1a2b-0000-4000-8000-00155d000002}'
KEY0=HvKvpdFailoverResult_00155d000001
STATE=$HV_TMP/state
SYSFS=$HV_TMP/sys
NETDIR=$HV_TMP/etc-network
REVERT=$top_builddir/tests/integration/revert-driver
export HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$SYSFS HVKVPD_TEST_IFUPDOWN_DIR=$NETDIR
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$HV_TMP/no-system-bus
export HV_TIMES_FILE=$HV_TMP/set-elapsed-us
: >"$HV_TIMES_FILE"
RESOLV_BASE='# resolv.conf of the test
nameserver 10.9.9.9
'

# ---- the machine --------------------------------------------------------------

make_nic() { # IF MAC GUID
	ip link add "$1" address "$2" type veth peer name "$1p"
	ip link set "$1p" up
	mkdir -p "$SYSFS/class/net/$1/device"
	cat "/sys/class/net/$1/ifindex" >"$SYSFS/class/net/$1/ifindex"
	echo "$2" >"$SYSFS/class/net/$1/address"
	echo "$3" >"$SYSFS/class/net/$1/device/device_id"
	echo 0 >"/proc/sys/net/ipv6/conf/$1/accept_dad"
}
echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad
make_nic eth0 "$MAC0" "$GUID0"
make_nic eth1 "$MAC1" "$GUID1"

hv_private_overlay /etc
hv_ifupdown_root "$IFUPDOWN_DEB" "$NETDIR"
rm -f /etc/resolv.conf
printf '%s' "$RESOLV_BASE" >/etc/resolv.conf

ADMIN_INTERFACES='# the administrator'"'"'s own file: every byte of it must come back
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

auto eth0
iface eth0 inet static
	address 198.51.100.5/24
	gateway 198.51.100.1
	# a comment inside the stanza stays as it is

iface eth0 inet6 static
	address 2001:db8:5::5/64
	gateway 2001:db8:5::1
'
ADMIN_ETH1='allow-hotplug eth1
iface eth1 inet static
	address 203.0.113.5/24
	gateway 203.0.113.1
	metric 10
'

reset_config() {
	printf '%s' "$ADMIN_INTERFACES" >"$NETDIR/interfaces"
	printf '%s' "$ADMIN_ETH1" >"$NETDIR/interfaces.d/eth1"
	chmod 0640 "$NETDIR/interfaces"
	rm -f "$NETDIR"/interfaces.d/hvkvpd-*
}

flush_nic() { # IF: as after a reboot: nothing on it, down
	ip -4 addr flush dev "$1"
	ip -6 addr flush dev "$1" scope global
	ip -4 route flush dev "$1" 2>/dev/null || true
	ip link set "$1" down
}

# ---- what the kernel holds ------------------------------------------------------

lines() { [ $# -eq 0 ] || printf '%s\n' "$@" | sort; }

same() { # WHAT WANT GOT
	[ "$2" = "$3" ] && return 0
	printf '%s differ:\n--- want\n%s\n--- got\n%s\n' "$1" "$2" "$3"
	return 1
}

# gateways IF: "gateway metric" of IF's default routes (the protocol differs
# by design: ifup's are "boot", ours "static")
gateways() {
	hv_default_routes "$1" | awk '{ print $1, $2 }' | sort
}

FAILOVER=(--adapter-id "$GUID0" --IPAddresses "192.0.2.10;192.0.2.11;2001:db8::10"
	--Subnets "255.255.255.0;255.255.255.0;64" --DefaultGateways "192.0.2.1;192.0.2.2;2001:db8::1"
	--DNSServers "192.0.2.53" --DHCPEnabled false)
WANT_ADDRS=$(lines 192.0.2.10/24 192.0.2.11/24 2001:db8::10/64)
WANT_GWS=$(lines "192.0.2.1 100" "192.0.2.2 101" "2001:db8::1 100")
ADMIN_ADDRS=$(lines 198.51.100.5/24 2001:db8:5::5/64)
ADMIN_GWS=$(lines "198.51.100.1 0" "2001:db8:5::1 1024")

holds_failover() { # IF: exactly the failover settings
	same "$1 addresses" "$WANT_ADDRS" "$(hv_addrs "$1")" || return 1
	same "$1 default routes" "$WANT_GWS" "$(gateways "$1")"
}

holds_admin() {
	same "eth0 addresses" "$ADMIN_ADDRS" "$(hv_addrs eth0)" || return 1
	same "eth0 default routes" "$ADMIN_GWS" "$(gateways eth0)"
}

result_key() {
	hv_ctl enumerate-all --pool 1 | jq -r --arg k "$1" '[.items[] | select(.key == $k)] |
		if length == 1 then .[0].value else "" end'
}

start_daemon() {
	hv_start_hvkvpd --state-dir "$STATE" --debug "$@"
}

# the daemon's log from a mark on (HV_CHECK_REPEAT runs a check again on
# the same, appended log)
log_mark() { LOG_MARK=$(stat -c %s "$HV_TMP/hvkvpd.log"); }
log_since_mark() { tail -c +$((LOG_MARK + 1)) "$HV_TMP/hvkvpd.log" | grep "$@"; }

# ensure_daemon: after a check that restarted hvkvpd (its daemon ended with
# the check), a daemon for the next ones
ensure_daemon() {
	hv_alive "${HVKVPD_PID:-}" || start_daemon
}

# ---- the scenario ------------------------------------------------------------------

reset_config
ifup eth0 >"$HV_TMP/ifup.log" 2>&1 || hv_fail "ifup eth0 with the admin's stanza failed: $(cat "$HV_TMP/ifup.log")"
hv_start_emu
start_daemon

check_admin_first() {
	holds_admin
}
hv_check "(0) the real ifup configured eth0 from the administrator's stanza (setup)" check_admin_first

check_runtime() {
	hv_expect_code HV_S_OK "${FAILOVER[@]}" || return 1
	holds_failover eth0 || return 1
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 ifupdown: applied"*) ;;
	*) echo "pool 1 $KEY0: $(result_key "$KEY0")"; return 1 ;;
	esac
	grep -q "^nameserver 192.0.2.53" /etc/resolv.conf || { echo "resolv.conf:"; cat /etc/resolv.conf; return 1; }
	# what a revert gives back, saved at this first failover
	grep -q '^addr 4 198.51.100.5 24 ' "$STATE/${MAC0//:/}.original" || { cat "$STATE/${MAC0//:/}.original"; return 1; }
	cat "$STATE/${MAC0//:/}.original"
}
hv_check "(1) failover on an ifupdown link: HV_S_OK through ifupdown, at once exactly the failover addresses and default routes (old ones gone), DNS in resolv.conf" check_runtime

check_files() {
	local ours=$NETDIR/interfaces.d/hvkvpd-00155d000001
	[ -f "$ours" ] || { echo "no $ours"; ls -la "$NETDIR/interfaces.d"; return 1; }
	same "mode of our file" 644 "$(stat -c %a "$ours")" || return 1
	same "mode of interfaces (kept)" 640 "$(stat -c %a "$NETDIR/interfaces")" || return 1
	grep -q '^#hvkvpd-off 00155d000001 iface eth0 inet static$' "$NETDIR/interfaces" ||
		{ cat "$NETDIR/interfaces"; return 1; }
	grep -q '^#hvkvpd-off 00155d000001 	address 198.51.100.5/24$' "$NETDIR/interfaces" ||
		{ cat "$NETDIR/interfaces"; return 1; }
	# with the marker taken off, the administrator's file byte for byte
	cmp -s <(printf '%s' "$ADMIN_INTERFACES") <(sed 's/^#hvkvpd-off 00155d000001 //' "$NETDIR/interfaces") ||
		{ diff <(printf '%s' "$ADMIN_INTERFACES") <(sed 's/^#hvkvpd-off 00155d000001 //' "$NETDIR/interfaces"); return 1; }
	# eth1's file untouched; no temporary file left
	cmp -s <(printf '%s' "$ADMIN_ETH1") "$NETDIR/interfaces.d/eth1" || { echo "eth1's file changed"; return 1; }
	[ -z "$(find "$NETDIR" -name '.hvkvpd-tmp-*')" ] || { echo "a temporary file is left"; return 1; }
	# ifupdown itself sees only our stanzas for eth0
	ifquery eth0 >"$HV_TMP/ifquery" 2>&1 || { cat "$HV_TMP/ifquery"; return 1; }
	grep -qx "address: 192.0.2.10" "$HV_TMP/ifquery" || { cat "$HV_TMP/ifquery"; return 1; }
	! grep -q 198.51.100 "$HV_TMP/ifquery" || { cat "$HV_TMP/ifquery"; return 1; }
	cat "$ours"
}
hv_check "(2) the admin's stanzas kept, disabled with the marker (file otherwise byte for byte, mode kept); ours in interfaces.d/hvkvpd-<mac>, which ifquery reads" check_files

check_ifdown_ifup() {
	ifdown eth0 >"$HV_TMP/ifdown.log" 2>&1 || { cat "$HV_TMP/ifdown.log"; return 1; }
	same "eth0 addresses after ifdown" "" "$(hv_addrs eth0)" || return 1
	ifup eth0 >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	holds_failover eth0 || return 1
	# networking.service's restart
	ifdown -a --exclude=lo >"$HV_TMP/ifdown.log" 2>&1 || { cat "$HV_TMP/ifdown.log"; return 1; }
	ifup -a >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	holds_failover eth0
}
hv_check "(3) ifdown eth0 + ifup eth0, then ifdown -a + ifup -a (systemctl restart networking): exactly the failover settings" check_ifdown_ifup

# reboot: the link empty, ifupdown's state gone, the daemon restarted
reboot_prepare() {
	hv_stop "$HVKVPD_PID"
	flush_nic eth0
	rm -f /run/network/ifstate* /run/network/.ifstate*
}

check_boot_daemon_first() {
	reboot_prepare
	start_daemon
	ifup -a >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	holds_failover eth0
}
hv_check "(4a) reboot, hvkvpd before networking.service: ifup -a gives exactly the failover settings, the old default route gone" check_boot_daemon_first
ensure_daemon

check_boot_networking_first() {
	local before
	reboot_prepare
	ifup -a >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	before=$(cat "$NETDIR/interfaces" "$NETDIR"/interfaces.d/*)
	start_daemon
	holds_failover eth0 || return 1
	same "ifupdown's files after the daemon's start" "$before" "$(cat "$NETDIR/interfaces" "$NETDIR"/interfaces.d/*)"
}
hv_check "(4b) reboot, networking.service before hvkvpd: exactly the failover settings, the daemon's start changes no file" check_boot_networking_first
ensure_daemon

check_rejected() {
	local files link
	files=$(cd "$NETDIR" && sha256sum interfaces interfaces.d/*)
	link=$(ip -j addr show dev eth0 | jq -S 'map(del(.addr_info[]?.valid_life_time, .addr_info[]?.preferred_life_time))'; ip -j route show table all)
	hv_expect_code HV_INVALIDARG --adapter-id "$GUID0" --IPAddresses "192.0.2.300" --Subnets 24 \
		--DefaultGateways 192.0.2.1 --DHCPEnabled false || return 1
	same "file checksums" "$files" "$(cd "$NETDIR" && sha256sum interfaces interfaces.d/*)" || return 1
	same "link" "$link" "$(ip -j addr show dev eth0 | jq -S 'map(del(.addr_info[]?.valid_life_time, .addr_info[]?.preferred_life_time))'; ip -j route show table all)"
}
hv_check "(5) a rejected request (bad address): HV_INVALIDARG, ifupdown's files byte for byte and the link unchanged" check_rejected

check_same_again() {
	local files
	files=$(cd "$NETDIR" && stat -c '%n %i %Y' interfaces interfaces.d/*)
	hv_expect_code HV_S_OK "${FAILOVER[@]}" || return 1
	same "files (not rewritten)" "$files" "$(cd "$NETDIR" && stat -c '%n %i %Y' interfaces interfaces.d/*)" || return 1
	holds_failover eth0
}
hv_check "(6) the same settings again: HV_S_OK, no file rewritten" check_same_again

check_revert_dry_run() {
	local files
	files=$(cd "$NETDIR" && sha256sum interfaces interfaces.d/*)
	"$REVERT" --state-dir "$STATE" --dry-run eth0 >"$HV_TMP/revert.out" 2>&1 || { cat "$HV_TMP/revert.out"; return 1; }
	cat "$HV_TMP/revert.out"
	grep -q "would" "$HV_TMP/revert.out" || return 1
	same "file checksums" "$files" "$(cd "$NETDIR" && sha256sum interfaces interfaces.d/*)" || return 1
	holds_failover eth0 || return 1
	[ -f "$STATE/${MAC0//:/}.state" ] || { echo "the dry run removed the state"; return 1; }
}
hv_check "(7) revert --dry-run: says what it would do, changes nothing" check_revert_dry_run

check_revert() {
	local t0 t1
	t0=$(date +%s%N)
	"$REVERT" --state-dir "$STATE" --pool-dir /var/lib/hyperv eth0 >"$HV_TMP/revert.out" 2>&1 ||
		{ cat "$HV_TMP/revert.out"; return 1; }
	t1=$(date +%s%N)
	echo "$(((t1 - t0) / 1000))" >"$HV_TMP/revert-us"
	cat "$HV_TMP/revert.out"
	cmp -s <(printf '%s' "$ADMIN_INTERFACES") "$NETDIR/interfaces" ||
		{ diff <(printf '%s' "$ADMIN_INTERFACES") "$NETDIR/interfaces"; return 1; }
	same "mode of interfaces" 640 "$(stat -c %a "$NETDIR/interfaces")" || return 1
	[ ! -e "$NETDIR/interfaces.d/hvkvpd-00155d000001" ] || { echo "our file is still there"; return 1; }
	holds_admin || return 1
	! grep -q 192.0.2.53 /etc/resolv.conf || { echo "our DNS is still in resolv.conf"; return 1; }
	[ ! -e "$STATE/${MAC0//:/}.state" ] || { echo "the state file is still there"; return 1; }
	[ ! -e "$STATE/${MAC0//:/}.original" ] || { echo "the original file is still there"; return 1; }
	case $(result_key "$KEY0") in
	*"HV_S_OK eth0 ifupdown: reverted"*) ;;
	*) echo "pool 1 $KEY0: $(result_key "$KEY0")"; return 1 ;;
	esac
	ifdown eth0 >"$HV_TMP/ifdown.log" 2>&1 || { cat "$HV_TMP/ifdown.log"; return 1; }
	ifup eth0 >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	holds_admin
}
hv_check "(8) revert: interfaces byte for byte the admin's again, our file gone, the old addresses and routes back at once and after ifdown+ifup, DNS, state and original gone, pool 1 says reverted" check_revert

check_revert_again() {
	local rc=0
	"$REVERT" --state-dir "$STATE" eth0 >"$HV_TMP/revert.out" 2>&1 || rc=$?
	cat "$HV_TMP/revert.out"
	same "exit status" 2 "$rc"
}
hv_check "(9) revert again: nothing to revert (ENOENT), nothing changed" check_revert_again

# eth1: a stanza in a sourced file, never brought up before the failover
check_not_up_before() {
	hv_expect_code HV_S_OK --adapter-id "$GUID1" --IPAddresses "192.0.2.20" --Subnets 24 \
		--DefaultGateways 192.0.2.1 --DHCPEnabled false || return 1
	grep -q '^#hvkvpd-off 00155d000002 iface eth1 inet static$' "$NETDIR/interfaces.d/eth1" ||
		{ cat "$NETDIR/interfaces.d/eth1"; return 1; }
	grep -qx 'eth1=eth1' /run/network/ifstate || { echo "ifstate:"; cat /run/network/ifstate; return 1; }
	ifdown eth1 >"$HV_TMP/ifdown.log" 2>&1 || { cat "$HV_TMP/ifdown.log"; return 1; }
	same "eth1 after ifdown" "" "$(hv_addrs eth1)" || return 1
	ifup eth1 >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	same "eth1 addresses" 192.0.2.20/24 "$(hv_addrs eth1)" || return 1
	same "eth1 default routes" "192.0.2.1 100" "$(gateways eth1)" || return 1
	"$REVERT" --state-dir "$STATE" "$MAC1" >"$HV_TMP/revert.out" 2>&1 || { cat "$HV_TMP/revert.out"; return 1; }
	cmp -s <(printf '%s' "$ADMIN_ETH1") "$NETDIR/interfaces.d/eth1" ||
		{ diff <(printf '%s' "$ADMIN_ETH1") "$NETDIR/interfaces.d/eth1"; return 1; }
	# before its failover eth1 held nothing and was down: ifupdown's
	# state forgets it again, so ifup brings the admin's stanza up
	same "eth1 after revert" "" "$(hv_addrs eth1)" || return 1
	! grep -q '^eth1=' /run/network/ifstate || { echo "ifstate:"; cat /run/network/ifstate; return 1; }
	ifup eth1 >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	same "eth1 after ifup" 203.0.113.5/24 "$(hv_addrs eth1)" || return 1
	ifdown eth1 >/dev/null 2>&1
}
hv_check "(10) a stanza in a sourced file, never up: disabled there, the link marked up in ifupdown's state so ifdown/ifup work; revert restores the file, the empty link and ifupdown's state (ifup brings the admin's stanza up)" check_not_up_before

# no `source` line: our stanzas in a marked block of interfaces itself
check_block() {
	hv_stop "$HVKVPD_PID"
	grep -v '^source' <<<"$ADMIN_INTERFACES" >"$NETDIR/interfaces"
	cp "$NETDIR/interfaces" "$HV_TMP/interfaces.nosource"
	rm -f "$STATE"/*
	ifdown -a --exclude=lo >/dev/null 2>&1 || true
	ifup eth0 >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	start_daemon
	hv_expect_code HV_S_OK "${FAILOVER[@]}" || return 1
	holds_failover eth0 || return 1
	grep -q '^# hvkvpd 00155d000001 begin' "$NETDIR/interfaces" || { cat "$NETDIR/interfaces"; return 1; }
	grep -q '^#hvkvpd-off 00155d000001 iface eth0 inet static$' "$NETDIR/interfaces" || { cat "$NETDIR/interfaces"; return 1; }
	ifdown eth0 >/dev/null 2>&1 && ifup eth0 >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	holds_failover eth0 || return 1
	"$REVERT" --state-dir "$STATE" eth0 >"$HV_TMP/revert.out" 2>&1 || { cat "$HV_TMP/revert.out"; return 1; }
	cmp -s "$HV_TMP/interfaces.nosource" "$NETDIR/interfaces" ||
		{ diff "$HV_TMP/interfaces.nosource" "$NETDIR/interfaces"; return 1; }
	holds_admin
}
ensure_daemon
hv_check "(11) no source line: our stanzas in a marked block of interfaces; ifdown/ifup keep them; revert gives the file back byte for byte" check_block

# back to the administrator's configuration, eth0 up from it, no state
admin_again() {
	reset_config
	rm -f "$STATE"/*
	ifdown -a --exclude=lo >/dev/null 2>&1 || true
	ifup eth0 >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	holds_admin
}

files_sum() { (cd "$NETDIR" && ls -A . interfaces.d && sha256sum interfaces interfaces.d/*); }

check_rollback() {
	local files
	hv_stop "$HVKVPD_PID"
	admin_again
	files=$(files_sum)
	HVKVPD_TEST_FAIL_AT=persist start_daemon
	hv_expect_code HV_E_FAIL "${FAILOVER[@]}" || return 1
	same "ifupdown's files" "$files" "$(files_sum)" || return 1
	holds_admin || return 1
	grep -q "rolled back to its previous configuration after the failed persist" "$HV_TMP/hvkvpd.log"
}
hv_check "(12) a failure after persist (test seam): HV_E_FAIL, every file back byte for byte (no file of ours left), the admin's addresses and routes back" check_rollback

# the same with eth0 down, so not up in ifupdown's state: the rollback takes
# out the record the persist made, and ifup brings the admin's stanza up
check_rollback_state() {
	hv_stop "$HVKVPD_PID"
	admin_again
	ifdown eth0 >/dev/null 2>&1
	if grep '^eth0=' /run/network/ifstate; then echo "setup: eth0 still up in ifstate"; return 1; fi
	log_mark
	HVKVPD_TEST_FAIL_AT=persist start_daemon
	hv_expect_code HV_E_FAIL "${FAILOVER[@]}" || return 1
	log_since_mark -q "eth0: marked up in ifupdown's state" || { echo "the persist did not mark eth0 up"; return 1; }
	if grep '^eth0=' /run/network/ifstate; then echo "eth0 left up in ifupdown's state"; return 1; fi
	[ ! -s /run/network/ifstate.eth0 ] || { echo "ifstate.eth0: $(cat /run/network/ifstate.eth0)"; return 1; }
	ifup eth0 >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	holds_admin
}
hv_check "(12b) the same with eth0 down before: the rollback takes eth0 back out of ifupdown's state, and ifup brings the admin's stanza up" check_rollback_state
ensure_daemon

# DHCPEnabled with an IPv6 address and no DHCP client running: the IPv6
# side applies now (netlink leaves IPv4 as it is), and ifupdown's files say
# `inet dhcp`, so that ifup starts its DHCP client from then on
check_dhcp_v6() {
	local ours=$NETDIR/interfaces.d/hvkvpd-00155d000001
	admin_again
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses "2001:db8::10" --Subnets 64 \
		--DefaultGateways "2001:db8::1" --DHCPEnabled true || return 1
	grep -qx 'iface eth0 inet dhcp' "$ours" || { cat "$ours"; return 1; }
	grep -qx 'iface eth0 inet6 static' "$ours" || { cat "$ours"; return 1; }
	! grep -q '^iface eth0 inet static' "$ours" || { cat "$ours"; return 1; }
	hv_addrs eth0 | grep -qx 2001:db8::10/64 || { hv_addrs eth0; return 1; }
	grep -q '^#hvkvpd-off 00155d000001 iface eth0 inet static$' "$NETDIR/interfaces" || { cat "$NETDIR/interfaces"; return 1; }
	"$REVERT" --state-dir "$STATE" eth0 >"$HV_TMP/revert.out" 2>&1 || { cat "$HV_TMP/revert.out"; return 1; }
	cmp -s <(printf '%s' "$ADMIN_INTERFACES") "$NETDIR/interfaces" || return 1
	holds_admin
}
hv_check "(13) DHCP for IPv4 with an IPv6 address, no DHCP client: HV_S_OK, the IPv6 side at once, ifupdown's files say inet dhcp + inet6 static; revert gives the admin's back" check_dhcp_v6

check_v6_only() {
	local ours=$NETDIR/interfaces.d/hvkvpd-00155d000001
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses "2001:db8::10" --Subnets 64 \
		--DefaultGateways "2001:db8::1" --DHCPEnabled false || return 1
	same "eth0 addresses" 2001:db8::10/64 "$(hv_addrs eth0)" || return 1
	same "eth0 default routes" "2001:db8::1 100" "$(gateways eth0)" || return 1
	grep -q '^iface eth0 inet6 static$' "$ours" && ! grep -q '^iface eth0 inet ' "$ours" || { cat "$ours"; return 1; }
	ifdown eth0 >"$HV_TMP/ifdown.log" 2>&1 || { cat "$HV_TMP/ifdown.log"; return 1; }
	ifup eth0 >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	same "eth0 addresses after ifdown/ifup" 2001:db8::10/64 "$(hv_addrs eth0)" || return 1
	same "eth0 default routes after ifdown/ifup" "2001:db8::1 100" "$(gateways eth0)" || return 1
	"$REVERT" --state-dir "$STATE" eth0 >"$HV_TMP/revert.out" 2>&1 || { cat "$HV_TMP/revert.out"; return 1; }
	cmp -s <(printf '%s' "$ADMIN_INTERFACES") "$NETDIR/interfaces" || return 1
	holds_admin
}
hv_check "(14) IPv6 only: one inet6 static stanza, exactly that address and gateway, also after ifdown/ifup; revert brings the admin's IPv4 and IPv6 back" check_v6_only

# the shipped unit's view: /etc/network read-only but for interfaces (the
# file) and interfaces.d (ReadWritePaths=): interfaces is rewritten in place
check_unit_paths() {
	local rc=0
	admin_again
	mount --bind "$NETDIR" "$NETDIR"
	mount --bind "$NETDIR/interfaces" "$NETDIR/interfaces"
	mount --bind "$NETDIR/interfaces.d" "$NETDIR/interfaces.d"
	mount -o remount,bind,ro "$NETDIR"
	{
		! touch "$NETDIR/probe" 2>/dev/null || { echo "the directory is writable"; exit 1; }
		hv_expect_code HV_S_OK "${FAILOVER[@]}"
		holds_failover eth0
		grep -q '^#hvkvpd-off 00155d000001 iface eth0 inet static$' "$NETDIR/interfaces" || { cat "$NETDIR/interfaces"; exit 1; }
		[ -f "$NETDIR/interfaces.d/hvkvpd-00155d000001" ]
		"$REVERT" --state-dir "$STATE" eth0 >"$HV_TMP/revert.out" 2>&1 || { cat "$HV_TMP/revert.out"; exit 1; }
		cmp -s <(printf '%s' "$ADMIN_INTERFACES") "$NETDIR/interfaces"
		holds_admin
	} || rc=1
	umount "$NETDIR/interfaces.d" "$NETDIR/interfaces" "$NETDIR"
	return $rc
}
hv_check "(15) as under the shipped unit (only interfaces and interfaces.d writable): applied (interfaces rewritten in place) and reverted" check_unit_paths

# settings an older hvkvpd applied through netlink on an ifupdown link
# (state: backend=netlink, re-applied at start): the next start moves them
# into ifupdown's files, so that ifup keeps them
check_upgrade() {
	hv_stop "$HVKVPD_PID"
	admin_again
	start_daemon --backend netlink
	hv_expect_code HV_S_OK "${FAILOVER[@]}" || return 1
	grep -qx "backend=netlink" "$STATE/${MAC0//:/}.state" || { cat "$STATE/${MAC0//:/}.state"; return 1; }
	[ ! -e "$NETDIR/interfaces.d/hvkvpd-00155d000001" ] || { echo "netlink wrote ifupdown's files"; return 1; }
	hv_stop "$HVKVPD_PID"
	flush_nic eth0
	rm -f /run/network/ifstate* /run/network/.ifstate*
	start_daemon
	holds_failover eth0 || return 1
	[ -f "$NETDIR/interfaces.d/hvkvpd-00155d000001" ] || { echo "not moved into ifupdown's files"; return 1; }
	grep -qx "backend=ifupdown" "$STATE/${MAC0//:/}.state" || { cat "$STATE/${MAC0//:/}.state"; return 1; }
	grep -qx "reapply=0" "$STATE/${MAC0//:/}.state" || { cat "$STATE/${MAC0//:/}.state"; return 1; }
	ifup -a >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	holds_failover eth0 || return 1
	ifdown eth0 >/dev/null 2>&1 && ifup eth0 >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	holds_failover eth0
}
hv_check "(16) upgrade: settings saved by the netlink backend on an ifupdown link move into ifupdown's files at the next start; then ifup -a and ifdown/ifup keep exactly them" check_upgrade

ensure_daemon

# the operator's command: hvkvpctl revert (the engine above, through the CLI)
check_hvkvpctl_revert() {
	local ctl=$top_builddir/hvkvpctl out files
	[ -x "$ctl" ] || { echo "$ctl is not built"; return 1; }
	admin_again
	hv_expect_code HV_S_OK "${FAILOVER[@]}" || return 1
	files=$(files_sum)
	out=$("$ctl" --state-dir "$STATE" --pool-dir /var/lib/hyperv revert eth0 --dry-run) || { echo "$out"; return 1; }
	echo "$out"
	[[ $out == *"would remove hvkvpd's stanzas"*"(dry run: nothing changed)" ]] || return 1
	same "ifupdown's files after the dry run" "$files" "$(files_sum)" || return 1
	holds_failover eth0 || return 1
	out=$("$ctl" --state-dir "$STATE" --pool-dir /var/lib/hyperv --json revert eth0) || { echo "$out"; return 1; }
	echo "$out"
	hv_json_is "$out" .backend ifupdown || return 1
	hv_json_is "$out" .result HV_S_OK || return 1
	cmp -s <(printf '%s' "$ADMIN_INTERFACES") "$NETDIR/interfaces" || return 1
	holds_admin
}
hv_check "(17) hvkvpctl revert eth0 [--dry-run]: the dry run changes nothing, the revert gives the admin's stanzas and addresses back" check_hvkvpctl_revert

# ---- ifup at the same time: ifupdown's own lock of the interface ---------------

# HOLD: a pre-up line that keeps ifup (and its lock of the interface) at
# work until the test creates $GO (30 s at most)
GO=$HV_TMP/go
HOLD="	pre-up i=0; while [ ! -e $GO ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done"
with_hold() { # LINE: the admin's interfaces with HOLD after LINE
	local tmp=$HV_TMP/interfaces.hold
	awk -v at="$1" -v hold="$HOLD" '{ print } $0 == at { print hold }' "$NETDIR/interfaces" >"$tmp"
	cat "$tmp" >"$NETDIR/interfaces"
	grep -qF "$GO" "$NETDIR/interfaces" || { echo "no hold line in interfaces"; return 1; }
}
holding() { [ "$(cat "/run/network/ifstate.$1" 2>/dev/null)" = "$1" ]; }

# an ifup configuring eth0 from the admin's stanza when the failover comes
# (networking.service or ifup@eth0 at boot): hvkvpd waits for ifupdown's
# lock, then replaces what ifup added
check_ifup_at_work() {
	local ifup_pid set_pid out
	admin_again || return 1
	with_hold "iface eth0 inet static" || return 1
	ifdown eth0 >/dev/null 2>&1
	rm -f "$GO"
	ifup eth0 >"$HV_TMP/ifup-hold.log" 2>&1 &
	ifup_pid=$!
	hv_track_pid "$ifup_pid"
	hv_wait_for 10 holding eth0 || { echo "ifup did not take eth0's lock"; return 1; }
	log_mark
	hv_ctl --wait 30 set-ip-info "${FAILOVER[@]}" >"$HV_TMP/set-hold.json" 2>&1 &
	set_pid=$!
	hv_track_pid "$set_pid"
	hv_wait_for 10 log_since_mark -q "eth0: ifup or ifdown is configuring the interface" ||
		{ echo "hvkvpd did not wait for ifupdown's lock"; touch "$GO"; return 1; }
	touch "$GO"
	hv_wait "$ifup_pid" 30 || { echo "ifup eth0 failed:"; cat "$HV_TMP/ifup-hold.log"; return 1; }
	hv_wait "$set_pid" 30 || true
	out=$(cat "$HV_TMP/set-hold.json")
	echo "$out" | jq -c '{code_name, elapsed_us}'
	hv_json_is "$out" .code_name HV_S_OK || return 1
	log_since_mark -F "eth0: ifupdown is done with the interface" || return 1
	holds_failover eth0 || return 1
	grep -qx 'eth0=eth0' /run/network/ifstate || { echo "ifstate:"; cat /run/network/ifstate; return 1; }
	ifdown eth0 >/dev/null 2>&1 && ifup eth0 >"$HV_TMP/ifup.log" 2>&1 || { cat "$HV_TMP/ifup.log"; return 1; }
	holds_failover eth0
}
hv_check "(18) an ifup at work on eth0 (the admin's stanza) when the failover comes: hvkvpd waits for ifupdown's lock of eth0, then exactly the failover settings; ifup succeeds" check_ifup_at_work

# ifup -a read the admin's stanza before the failover and reaches eth0 after
# it (networking.service at boot, busy with lo first): it must find eth0
# configured and leave it alone
check_ifup_read_before() {
	local ifup_pid
	admin_again || return 1
	with_hold "iface lo inet loopback" || return 1
	ifdown eth0 >/dev/null 2>&1
	rm -f /run/network/ifstate* /run/network/.ifstate* "$GO"
	ifup -a >"$HV_TMP/ifup-all.log" 2>&1 &
	ifup_pid=$!
	hv_track_pid "$ifup_pid"
	hv_wait_for 10 holding lo || { echo "ifup -a did not take lo's lock"; touch "$GO"; return 1; }
	hv_expect_code HV_S_OK "${FAILOVER[@]}" || { touch "$GO"; return 1; }
	touch "$GO"
	hv_wait "$ifup_pid" 30 || { echo "ifup -a failed:"; cat "$HV_TMP/ifup-all.log"; return 1; }
	cat "$HV_TMP/ifup-all.log"
	holds_failover eth0
}
hv_check "(19) an ifup -a that read the admin's stanza before the failover and reaches eth0 after it: it finds eth0 configured; exactly the failover settings" check_ifup_read_before

# the other order: hvkvpd holds ifupdown's lock of eth0 (paused inside its
# apply by a test seam, the files not yet written) when ifup eth0 starts
# and reads the admin's stanza: ifup waits for the lock, then finds eth0
# configured and leaves it alone
ifup_waits_steps() { # SET_PID
	local ifup_pid out
	hv_wait_for 10 log_since_mark -q "eth0: paused after apply" ||
		{ echo "the daemon did not pause"; return 1; }
	ifup eth0 >"$HV_TMP/ifup-wait.log" 2>&1 &
	ifup_pid=$!
	hv_track_pid "$ifup_pid"
	hv_wait_for 10 grep -q "waiting for lock on /run/network/ifstate.eth0" "$HV_TMP/ifup-wait.log" ||
		{ echo "ifup did not wait for eth0's lock:"; cat "$HV_TMP/ifup-wait.log"; return 1; }
	touch "$GO"
	hv_wait "$ifup_pid" 30 || { echo "ifup eth0 failed:"; cat "$HV_TMP/ifup-wait.log"; return 1; }
	cat "$HV_TMP/ifup-wait.log"
	grep -q "interface eth0 already configured" "$HV_TMP/ifup-wait.log" || return 1
	hv_wait "$1" 30 || true
	out=$(cat "$HV_TMP/set-pause.json")
	echo "$out" | jq -c '{code_name, elapsed_us}'
	hv_json_is "$out" .code_name HV_S_OK || return 1
	holds_failover eth0
}
check_ifup_waits() {
	local set_pid rc=0
	hv_stop "$HVKVPD_PID"
	admin_again || return 1
	ifdown eth0 >/dev/null 2>&1
	rm -f "$GO"
	log_mark
	HVKVPD_TEST_PAUSE_AT=apply HVKVPD_TEST_PAUSE_FILE=$GO start_daemon
	hv_ctl --wait 30 set-ip-info "${FAILOVER[@]}" >"$HV_TMP/set-pause.json" 2>&1 &
	set_pid=$!
	hv_track_pid "$set_pid"
	ifup_waits_steps "$set_pid" || rc=1
	touch "$GO"
	return $rc
}
hv_check "(20) hvkvpd inside its apply, holding ifupdown's lock of eth0, when ifup eth0 starts with the admin's stanza: ifup waits for the lock, then finds eth0 configured; exactly the failover settings" check_ifup_waits
# the daemon of (20) ended with it: one without the seam for what follows
ensure_daemon

sort -n "$HV_TIMES_FILE" | awk '{ v[NR] = $1; s += $1 }
	END { if (NR) printf "# SET_IP_INFO turnaround through the ifupdown backend (elapsed_us, %d requests): min %d, median %d, max %d\n",
		NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
[ ! -s "$HV_TMP/revert-us" ] || echo "# revert of eth0 (files, link, DNS, state; revert-driver process included): $(cat "$HV_TMP/revert-us") us"
hv_checks_done

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-nm.sh - the NetworkManager backend against a real NetworkManager in a private namespace: apply, keyfile, restart, update, idempotence, rollback, GET, DHCP, no carrier.
#
# TESTING.md "A real NetworkManager in a private namespace": a private bus,
# NetworkManager with the keyfile plugin and its files in the sandbox, a veth
# eth0 with a Hyper-V MAC and NM's own "Wired connection 1" DHCP profile on
# it, the emulated host, and hvkvpd loading backend-nm.so from the build tree.
#
# scripts/bench-nm.sh sources this file with HV_NM_FUNCTIONS_ONLY=1 for the
# same sandbox (the functions below), without running the checks.
set -eu
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NM_GUID="{4E0C1A2B-0000-4000-8000-00155D000001}"
NM_MAC=00:15:5d:00:00:01
NM_IF=eth0
NM_PEER=hvp0 # the veth's other end: up = carrier on eth0
NM_PROFILE="Hyper-V failover $NM_IF"
NM_PID=
NM_BIN=

nm_find_bin() {
	NM_BIN=$(command -v NetworkManager 2>/dev/null || true)
	[ -n "$NM_BIN" ] || [ ! -x /usr/sbin/NetworkManager ] || NM_BIN=/usr/sbin/NetworkManager
	[ -n "$NM_BIN" ]
}

# ---- the sandbox: bus, NetworkManager, eth0 --------------------------------------------

# nm_config: NM's files in the sandbox only (tmpfs run and state
# directories, keyfiles in $HV_TMP/nm/keyfiles, no host conf.d).
nm_config() {
	NM_KEYFILES=$HV_TMP/nm/keyfiles
	mkdir -p "$NM_KEYFILES" "$HV_TMP/nm/conf.d" "$HV_TMP/nm/system-conf.d" \
		/run/NetworkManager /var/lib/NetworkManager
	mount -t tmpfs -o mode=0755 hvkvp-nm-run /run/NetworkManager
	mount -t tmpfs -o mode=0755 hvkvp-nm-lib /var/lib/NetworkManager
	cat >"$HV_TMP/nm/NetworkManager.conf" <<EOF
[main]
plugins=keyfile
auth-polkit=false
dns=none
rc-manager=unmanaged
hostname-mode=none

[keyfile]
path=$NM_KEYFILES

[connectivity]
enabled=false

[device-hyperv-eth]
match-device=interface-name:eth*
managed=1

[device-veth-peer]
match-device=interface-name:$NM_PEER
managed=0
EOF
}

nm_running() {
	[ "$(nmcli -t -f RUNNING general status 2>/dev/null)" = running ]
}

nm_start() {
	"$NM_BIN" --no-daemon --debug --config="$HV_TMP/nm/NetworkManager.conf" \
		--config-dir="$HV_TMP/nm/conf.d" --system-config-dir="$HV_TMP/nm/system-conf.d" \
		>>"$HV_TMP/nm.log" 2>&1 </dev/null &
	NM_PID=$!
	hv_track_pid "$NM_PID"
	hv_wait_for 20 nm_running || hv_fail "NetworkManager did not answer within 20 s"
}

nm_stop() {
	hv_stop "$NM_PID"
	NM_PID=
}

# nm_eth0: the Hyper-V-like NIC (a veth with a 00:15:5d MAC, carrier from
# its peer) and a fake sysfs that gives it a VMBus GUID.
nm_eth0() {
	local d=$HV_TMP/sys/class/net/$NM_IF
	ip link add "$NM_IF" address "$NM_MAC" type veth peer name "$NM_PEER"
	ip link set "$NM_PEER" up
	mkdir -p "$d/device"
	cat "/sys/class/net/$NM_IF/ifindex" >"$d/ifindex"
	echo "$NM_MAC" >"$d/address"
	echo "${NM_GUID,,}" >"$d/device/device_id"
}

# nm_device_is CONNECTION: the device's active profile is CONNECTION.
nm_device_is() {
	[ "$(nmcli -g GENERAL.CONNECTION device show "$NM_IF" 2>/dev/null)" = "$1" ]
}

nm_device_state() {
	nmcli -g GENERAL.STATE device show "$NM_IF" 2>/dev/null | cut -d' ' -f1
}

# nm_sandbox: everything above, then NM's "Wired connection 1" on eth0.
nm_sandbox() {
	hv_private_overlay /etc # nothing here may write the real /etc
	hv_start_system_bus
	nm_config
	nm_start
	nm_eth0
	hv_wait_for 20 nm_device_is "Wired connection 1" ||
		hv_fail "NetworkManager did not put its 'Wired connection 1' on $NM_IF: $(nmcli device 2>&1)"
}

# hvkvpd_restart [FAIL_AT]: (re)start hvkvpd with the module from the build
# tree, the fake sysfs, and optionally a failure injected at a step.
# NM_HVKVPD_ARGS: extra options (default --debug).
hvkvpd_restart() {
	[ -z "$HVKVPD_PID" ] || hv_stop "$HVKVPD_PID"
	# shellcheck disable=SC2086  # word splitting of the options is wanted
	HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$HV_TMP/sys HVKVPD_TEST_MODULE_DIR=$top_builddir \
		HVKVPD_TEST_FAIL_AT=${1:-} hv_start_hvkvpd --state-dir "$HV_TMP/state" ${NM_HVKVPD_ARGS---debug}
}

# nm_set ARGS...: SET_IP_INFO for eth0's GUID; prints the emulator's JSON.
nm_set() {
	hv_ctl set-ip-info --adapter-id "$NM_GUID" "$@"
}

# Settings of the scenarios.
SET_A=(--IPAddresses "192.0.2.10;192.0.2.11;2001:db8::10" --Subnets "255.255.255.0;255.255.255.0;64"
	--DefaultGateways "192.0.2.1;192.0.2.254;2001:db8::1" --DNSServers "192.0.2.53;2001:db8::53"
	--DHCPEnabled false)
SET_B=(--IPAddresses "198.51.100.20;2001:db8:1::20" --Subnets "255.255.255.0;64"
	--DefaultGateways "198.51.100.1;2001:db8:1::1" --DNSServers "198.51.100.53;198.51.100.54"
	--DHCPEnabled false)

# What the kernel holds on eth0: global addresses, default routes as
# gateway@metric, each list sorted and space-terminated.
kernel_addrs() { hv_addrs "$NM_IF" | tr '\n' ' '; }
kernel_defaults() { hv_default_routes "$NM_IF" | awk '{ print $1 "@" $2 }' | sort | tr '\n' ' '; }

# kernel_has ADDRS DEFAULTS: what eth0 holds, both lists sorted, space-terminated
kernel_has() {
	local a d
	a=$(kernel_addrs)
	d=$(kernel_defaults)
	[ "$a" = "$1" ] && [ "$d" = "$2" ] && return 0
	echo "kernel holds addresses '$a' and default routes '$d'; want '$1' and '$2'"
	return 1
}

A_ADDRS="192.0.2.10/24 192.0.2.11/24 2001:db8::10/64 "
A_DEFAULTS="192.0.2.1@100 192.0.2.254@101 2001:db8::1@100 "
B_ADDRS="198.51.100.20/24 2001:db8:1::20/64 "
B_DEFAULTS="198.51.100.1@100 2001:db8:1::1@100 "

nm_state_is() {
	[ "$(nm_device_state)" = "$1" ]
}

[ -z "${HV_NM_FUNCTIONS_ONLY:-}" ] || return 0

# ---- helpers for the checks ----------------------------------------------------------------

hv_require_root
nm_find_bin || hv_skip "NetworkManager is not installed"
# the rest comes with it in CI (network-manager, dbus-daemon, systemd, jq):
# missing there is a failure, not a reason to skip
for c in nmcli dbus-daemon busctl jq; do
	command -v "$c" >/dev/null || hv_fail "$c is missing (scripts/install-deps.sh installs it)"
done
hv_sandbox "$@"
nm_sandbox
# shellcheck disable=SC2119 # no options for the emulator
hv_start_emu
hvkvpd_restart

STATE=$HV_TMP/state/${NM_MAC//:/}.state
TURNAROUND=()

# record LABEL JSON: keep the SET turnaround for the summary
record() {
	TURNAROUND+=("$(printf '%-44s %8s us  %s' "$1" "$(hv_json "$2" .elapsed_us)" "$(hv_json "$2" .code_name)")")
}

code_is() {
	hv_json_is "$1" .code_name "$2"
}

our_uuid() {
	nmcli -g connection.uuid connection show "$NM_PROFILE" 2>/dev/null
}

profiles() {
	nmcli -t -f NAME,UUID connection show | sort
}

checkpoints() {
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property org.freedesktop.NetworkManager \
		/org/freedesktop/NetworkManager org.freedesktop.NetworkManager Checkpoints
}

no_checkpoint() {
	local c
	c=$(checkpoints)
	[ "$c" = "ao 0" ] || { echo "checkpoints left: $c"; return 1; }
}

# A profile's settings without what changes by itself (timestamps).
settings_of() {
	nmcli -t -f connection,802-3-ethernet,ipv4,ipv6 connection show "$1" | grep -v '^connection.timestamp:'
}

# our profile active on eth0 and the kernel holding ADDRS/DEFAULTS (waits)
ours_up_with() {
	hv_wait_for 15 nm_device_is "$NM_PROFILE" || { nmcli device; return 1; }
	hv_wait_for 10 kernel_has "$1" "$2" >/dev/null || kernel_has "$1" "$2"
}

# nmg FIELDS ARGS...: `nmcli -g FIELDS ARGS...` with nmcli's '\:' escapes undone
nmg() {
	local f=$1
	shift
	nmcli -g "$f" "$@" | sed 's/\\:/:/g'
}

# profile_file NAME: the file NetworkManager keeps the profile in
profile_file() {
	nmcli -t -f NAME,FILENAME connection show | sed -n "s|^$1:||p"
}

# nm_check NAME FUNCTION: like hv_check, but FUNCTION runs in this shell
# (it may restart NetworkManager or hvkvpd, whose pids must stay known).
nm_check() {
	local name=$1 rc=0
	HV_CHECK_COUNT=$((HV_CHECK_COUNT + 1))
	"$2" >"$HV_TMP/check.out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "ok - $name"
		[ -z "${HV_VERBOSE:-}" ] || sed 's/^/    | /' "$HV_TMP/check.out"
	else
		HV_CHECK_FAILURES=$((HV_CHECK_FAILURES + 1))
		echo "FAIL - $name (exit $rc)"
		sed 's/^/    | /' "$HV_TMP/check.out"
	fi
}

# ---- the checks ---------------------------------------------------------------------------

# NM's own profile and a user's persistent DHCP profile for eth0 (priority
# 0): ours must beat both and never touch them (ECOSYSTEM.md §3 #27).
nmcli connection add type ethernet ifname "$NM_IF" con-name "User DHCP $NM_IF" \
	ipv4.method auto connection.autoconnect yes >/dev/null
WIRED_BEFORE=$(settings_of "Wired connection 1")
USER_FILE=$(profile_file "User DHCP $NM_IF")
[ -f "$USER_FILE" ] || hv_fail "the user's profile has no keyfile: '$USER_FILE'"
USER_SUM=$(sha256sum "$USER_FILE")
hv_log "NetworkManager $("$NM_BIN" --version) on $NM_IF; profiles: $(profiles | cut -d: -f1 | tr '\n' ',')"

check_first_apply_rolls_back() {
	local out rc=0
	hvkvpd_restart verify
	out=$(nm_set "${SET_A[@]}")
	record "SET A, failure injected after verify" "$out"
	code_is "$out" HV_E_FAIL || rc=1
	[ -z "$(our_uuid)" ] || { echo "our profile survived the rollback"; rc=1; }
	! grep -qs "^id=$NM_PROFILE" "$NM_KEYFILES"/* || { echo "a keyfile of ours is left"; rc=1; }
	hv_wait_for 10 nm_device_is "Wired connection 1" ||
		{ echo "Wired connection 1 is not back on $NM_IF: $(nmcli device)"; rc=1; }
	no_checkpoint || rc=1
	hvkvpd_restart
	return "$rc"
}

check_set() {
	local out rc=0
	out=$(nm_set "${SET_A[@]}")
	record "SET A (new profile, activated)" "$out"
	echo "$out"
	code_is "$out" HV_S_OK || rc=1
	grep -qx "backend=networkmanager" "$STATE" || { cat "$STATE"; rc=1; }
	grep -qx "waiting_for_carrier=0" "$STATE" || rc=1
	return "$rc"
}

check_nm_view() {
	local rc=0 v
	ours_up_with "$A_ADDRS" "$A_DEFAULTS" >/dev/null || rc=1
	v=$(nmg IP4.ADDRESS,IP6.ADDRESS,IP4.GATEWAY,IP6.GATEWAY,IP4.ROUTE,IP6.ROUTE,IP4.DNS,IP6.DNS device show "$NM_IF")
	echo "$v"
	for want in 192.0.2.10/24 192.0.2.11/24 2001:db8::10/64 \
		"dst = 0.0.0.0/0, nh = 192.0.2.1, mt = 100" "dst = 0.0.0.0/0, nh = 192.0.2.254, mt = 101" \
		"dst = ::/0, nh = 2001:db8::1, mt = 100" 192.0.2.53 2001:db8::53; do
		grep -qF -- "$want" <<<"$v" || { echo "NetworkManager does not report '$want'"; rc=1; }
	done
	[ "$(nmg ipv4.method,ipv6.method,connection.autoconnect,connection.autoconnect-priority,connection.interface-name,802-3-ethernet.mac-address connection show "$NM_PROFILE")" = \
		"$(printf 'manual\nmanual\nyes\n100\n%s\n%s' "$NM_IF" "${NM_MAC^^}")" ] || { echo "profile settings differ"; rc=1; }
	return "$rc"
}

check_kernel() {
	kernel_has "$A_ADDRS" "$A_DEFAULTS"
}

check_keyfile() {
	local f rc=0
	f=$(profile_file "$NM_PROFILE")
	echo "$f"
	case $f in "$NM_KEYFILES"/*) ;; *) echo "not in the keyfile directory"; rc=1 ;; esac
	[ -f "$f" ] || return 1
	[ "$(stat -c '%a %U' "$f")" = "600 root" ] || { stat -c '%a %U' "$f"; rc=1; }
	grep -qx "uuid=$(our_uuid)" "$f" || rc=1
	grep -qx "autoconnect-priority=100" "$f" || rc=1
	# written by NetworkManager: it owns the file (it lists it) and nothing
	# else in the directory but the user's profile
	[ "$(find "$NM_KEYFILES" -mindepth 1 | wc -l)" = 2 ] || { ls -l "$NM_KEYFILES"; rc=1; }
	[ "$(nmcli -g connection.read-only connection show "$NM_PROFILE")" = no ] || rc=1
	return "$rc"
}

check_others_untouched() {
	local rc=0
	[ "$(settings_of "Wired connection 1")" = "$WIRED_BEFORE" ] ||
		{ echo "Wired connection 1 changed"; diff <(echo "$WIRED_BEFORE") <(settings_of "Wired connection 1"); rc=1; }
	sha256sum -c --quiet <<<"$USER_SUM" || rc=1
	return "$rc"
}

check_get() {
	local out
	out=$(hv_ctl get-ip-info --adapter-id "$NM_MAC")
	echo "$out"
	code_is "$out" HV_S_OK &&
		hv_json_is "$out" '[.IPAddresses[] | select(startswith("fe80") | not)] | join(",")' "192.0.2.10,192.0.2.11,2001:db8::10" &&
		hv_json_is "$out" '.DefaultGateways | join(",")' "192.0.2.1,192.0.2.254,2001:db8::1" &&
		hv_json_is "$out" '.DNSServers | join(",")' "192.0.2.53,2001:db8::53" &&
		hv_json_is "$out" .DHCPEnabled false
}

check_idempotent() {
	local out rc=0 path mtime events
	path=$(nmcli -g GENERAL.CON-PATH device show "$NM_IF")
	mtime=$(stat -c %Y.%y "$(profile_file "$NM_PROFILE")")
	ip -o monitor link address route >"$HV_TMP/monitor.out" 2>&1 &
	local mon=$!
	hv_track_pid "$mon"
	sleep 0.2
	out=$(nm_set "${SET_A[@]}")
	record "SET A again (idempotent)" "$out"
	sleep 0.3
	hv_stop "$mon"
	code_is "$out" HV_S_OK || rc=1
	grep -q "^detail=unchanged" "$STATE" || { grep detail "$STATE"; rc=1; }
	[ "$(nmcli -g GENERAL.CON-PATH device show "$NM_IF")" = "$path" ] || { echo "re-activated"; rc=1; }
	[ "$(stat -c %Y.%y "$(profile_file "$NM_PROFILE")")" = "$mtime" ] ||
		{ echo "the keyfile was rewritten"; rc=1; }
	# a re-activation or flap deletes addresses/routes or takes the link
	# down; DAD finishing on the new IPv6 address is no change of ours
	events=$(grep -w "$NM_IF" "$HV_TMP/monitor.out" | grep -E "Deleted|state DOWN|NO-CARRIER" || true)
	[ -z "$events" ] || { echo "link changes: $events"; rc=1; }
	return "$rc"
}

check_update() {
	local out rc=0 uuid path n
	uuid=$(our_uuid)
	path=$(nmcli -g GENERAL.CON-PATH device show "$NM_IF")
	n=$(profiles | wc -l)
	out=$(nm_set "${SET_B[@]}")
	record "SET B (update, reapplied)" "$out"
	code_is "$out" HV_S_OK || rc=1
	[ "$(our_uuid)" = "$uuid" ] || { echo "UUID changed: $(our_uuid) != $uuid"; rc=1; }
	[ "$(profiles | wc -l)" = "$n" ] || { echo "profiles piled up:"; profiles; rc=1; }
	[ "$(profiles | grep -c "^$NM_PROFILE:")" = 1 ] || rc=1
	ours_up_with "$B_ADDRS" "$B_DEFAULTS" || rc=1
	# reapplied in place: the same activation, no link flap
	[ "$(nmcli -g GENERAL.CON-PATH device show "$NM_IF")" = "$path" ] || { echo "re-activated"; rc=1; }
	[ "$(nmcli -g IP4.DNS device show "$NM_IF")" = "198.51.100.53 | 198.51.100.54" ] || rc=1
	return "$rc"
}

check_nm_restart() {
	nm_stop
	nm_start
	ours_up_with "$B_ADDRS" "$B_DEFAULTS" && nmcli -g NAME connection show | grep -qx "Wired connection 1"
}

# A reboot as NM sees it: no runtime state, addresses gone, link down; the
# stored profile must win over the user's DHCP profile for eth0.
check_reboot() {
	nm_stop
	ip addr flush dev "$NM_IF"
	ip link set "$NM_IF" down
	umount /run/NetworkManager
	mount -t tmpfs -o mode=0755 hvkvp-nm-run /run/NetworkManager
	nm_start
	ours_up_with "$B_ADDRS" "$B_DEFAULTS" && sha256sum -c --quiet <<<"$USER_SUM"
}

check_update_rolls_back() {
	local out rc=0 f saved
	f=$(profile_file "$NM_PROFILE")
	saved=$HV_TMP/keyfile.before
	cp -p "$f" "$saved"
	hvkvpd_restart verify
	out=$(nm_set --IPAddresses "203.0.113.5" --Subnets 24 --DefaultGateways "203.0.113.1" \
		--DNSServers "203.0.113.53" --DHCPEnabled false)
	record "SET C, failure injected after verify" "$out"
	code_is "$out" HV_E_FAIL || rc=1
	cmp "$saved" "$f" || { diff "$saved" "$f"; rc=1; }
	ours_up_with "$B_ADDRS" "$B_DEFAULTS" || rc=1
	no_checkpoint || rc=1
	grep -q "rolled back to its previous configuration" "$HV_TMP/hvkvpd.log" || rc=1
	hvkvpd_restart
	return "$rc"
}

check_dhcp() {
	local out rc=0
	out=$(nm_set --IPAddresses "2001:db8:2::5" --Subnets 64 --DefaultGateways "2001:db8:2::1" \
		--DNSServers "2001:db8:2::53" --DHCPEnabled true)
	record "SET DHCPv4 + one IPv6 address" "$out"
	code_is "$out" HV_S_OK || rc=1
	[ "$(nmg ipv4.method,ipv6.method,ipv6.addresses connection show "$NM_PROFILE")" = \
		"$(printf 'auto\nmanual\n2001:db8:2::5/64')" ] || { nmg ipv4.method,ipv6.method,ipv6.addresses connection show "$NM_PROFILE"; rc=1; }
	hv_wait_for 10 kernel_has "2001:db8:2::5/64 " "2001:db8:2::1@100 " >/dev/null || rc=1
	out=$(hv_ctl get-ip-info --adapter-id "$NM_MAC")
	hv_json_is "$out" .DHCPEnabled true || rc=1
	hv_json_is "$out" '.DNSServers | join(",")' "2001:db8:2::53" || rc=1
	return "$rc"
}

# DHCP only and no DHCP server: NM keeps asking; the reply must still come
# well within the budget (20 s), as a success that says so. From a
# disconnected device, as on a replica's first boot.
check_dhcp_only() {
	local out rc=0
	nmcli device disconnect "$NM_IF" >/dev/null
	out=$(nm_set --DNSServers "192.0.2.53" --DHCPEnabled true)
	record "SET DHCPv4 only (no DHCP server)" "$out"
	code_is "$out" HV_S_OK || rc=1
	[ "$(hv_json "$out" .elapsed_us)" -lt 15000000 ] || rc=1
	grep -q "^detail=.*DHCPv4 in progress" "$STATE" || { grep detail "$STATE"; rc=1; }
	[ "$(nmcli -g ipv4.method,ipv6.method connection show "$NM_PROFILE")" = "$(printf 'auto\nauto')" ] || rc=1
	return "$rc"
}

check_no_carrier() {
	local out rc=0 f
	ip link set "$NM_PEER" down
	hv_wait_for 10 nm_state_is 20 || { echo "state $(nm_device_state)"; rc=1; }
	out=$(nm_set "${SET_A[@]}")
	record "SET A without carrier (stored only)" "$out"
	code_is "$out" HV_S_OK || rc=1
	grep -qx "waiting_for_carrier=1" "$STATE" || rc=1
	hv_ctl enumerate-all --pool 1 | grep -q "waiting for carrier" || rc=1
	f=$(profile_file "$NM_PROFILE")
	grep -qx "address1=192.0.2.10/24,192.0.2.1" "$f" || { cat "$f"; rc=1; }
	[ "$(nmcli -g connection.autoconnect connection show "$NM_PROFILE")" = yes ] || rc=1
	# the carrier comes: NM brings our profile up by itself
	ip link set "$NM_PEER" up
	ours_up_with "$A_ADDRS" "$A_DEFAULTS" || rc=1
	return "$rc"
}

# conflict_named ADDR MAC: pool 1's result line for eth0 names ADDR held by MAC.
conflict_named() {
	hv_ctl enumerate-all --pool 1 | jq -r '.items[] | select(.key == "HvKvpdFailoverResult_00155d000001") | .value' |
		grep -F "HV_E_FAIL $NM_IF networkmanager: address conflict: $1 is in use by $2" && return 0
	echo "no conflict naming $1 and $2 in: $(hv_ctl enumerate-all --pool 1)"
	return 1
}

# An address another host on the link holds (the veth's peer, unmanaged by
# NetworkManager): HV_E_FAIL naming it, our profile and the link as before.
# IPv4 is probed before anything changes; IPv6 fails the kernel's DAD after
# NetworkManager activated the profile, and the checkpoint rolls it back.
check_conflict() { # ADDR PREFIX
	local out rc=0 mac before
	mac=$(cat "/sys/class/net/$NM_PEER/address")
	ours_up_with "$A_ADDRS" "$A_DEFAULTS" || return 1
	before=$(settings_of "$NM_PROFILE")
	# the peer's address is its own since long: no DAD of its own
	case $1 in
	*:*) ip addr add "$1/$2" dev "$NM_PEER" nodad ;;
	*) ip addr add "$1/$2" dev "$NM_PEER" ;;
	esac
	out=$(nm_set --IPAddresses "$1" --Subnets "$2" --DHCPEnabled false)
	record "SET $1, held by the peer (conflict)" "$out"
	ip addr del "$1/$2" dev "$NM_PEER"
	code_is "$out" HV_E_FAIL || rc=1
	conflict_named "$1" "$mac" || rc=1
	[ "$(settings_of "$NM_PROFILE")" = "$before" ] || { echo "our profile changed"; rc=1; }
	ours_up_with "$A_ADDRS" "$A_DEFAULTS" || rc=1
	no_checkpoint || rc=1
	return "$rc"
}
check_conflict_v4() { check_conflict 203.0.113.77 24; }
check_conflict_v6() { check_conflict 2001:db8:77::77 64; }

nm_check "a failed first apply rolls back: no profile of ours, Wired connection 1 back, no checkpoint" check_first_apply_rolls_back
nm_check "SET (2 IPv4, 1 IPv6, 3 gateways, 2 DNS) -> HV_S_OK, state backend=networkmanager" check_set
nm_check "NetworkManager shows our profile active on $NM_IF with those addresses, routes, DNS" check_nm_view
nm_check "the kernel holds the addresses and default routes" check_kernel
nm_check "the profile is a keyfile written by NetworkManager in its directory, mode 0600" check_keyfile
nm_check "Wired connection 1 and the user's DHCP profile are unchanged" check_others_untouched
nm_check "GET_IP_INFO after SET: addresses, gateways, DNS from NetworkManager, DHCP off" check_get
nm_check "the same SET again changes nothing (no re-activation, no keyfile write, no link event)" check_idempotent
nm_check "a second SET updates the same profile in place (same UUID, no pile-up, reapplied)" check_update
nm_check "the settings survive a NetworkManager restart" check_nm_restart
nm_check "after a reboot (no runtime state) our profile beats the user's DHCP profile" check_reboot
nm_check "a failed update rolls back exactly (keyfile bytes, addresses, no checkpoint)" check_update_rolls_back
nm_check "DHCP + one IPv6 address: ipv4.method auto, GET says DHCP" check_dhcp
nm_check "DHCP without a server: HV_S_OK well within the budget, 'DHCPv4 in progress'" check_dhcp_only
nm_check "no carrier: HV_S_OK, waiting for carrier, stored for autoconnect; up when carrier comes" check_no_carrier
nm_check "an IPv4 address the peer holds: HV_E_FAIL naming it and the peer's MAC, nothing changed" check_conflict_v4
nm_check "an IPv6 address the peer holds: DAD fails, HV_E_FAIL naming it, profile rolled back" check_conflict_v6

# ---- issue 10: DNS exactly the host's, on-link gateways, never behind NM's back ----------

# With DNS servers from the host the profile takes none from DHCP or RA
# (ignore-auto-dns), and NetworkManager reports exactly the host's.
check_dns_exact() {
	local out rc=0
	out=$(nm_set "${SET_B[@]}")
	code_is "$out" HV_S_OK || rc=1
	ours_up_with "$B_ADDRS" "$B_DEFAULTS" >/dev/null || rc=1
	[ "$(nmg ipv4.ignore-auto-dns,ipv6.ignore-auto-dns connection show "$NM_PROFILE")" = \
		"$(printf 'yes\nyes')" ] || { nmg ipv4.ignore-auto-dns,ipv6.ignore-auto-dns connection show "$NM_PROFILE"; rc=1; }
	[ "$(nmg IP4.DNS,IP6.DNS device show "$NM_IF" | grep -v '^$' | tr '\n' ' ')" = "198.51.100.53 | 198.51.100.54 " ] ||
		{ echo "device DNS: $(nmg IP4.DNS,IP6.DNS device show "$NM_IF")"; rc=1; }
	out=$(hv_ctl get-ip-info --adapter-id "$NM_MAC")
	hv_json_is "$out" '.DNSServers | join(",")' "198.51.100.53,198.51.100.54" || rc=1
	return "$rc"
}

# An IPv4 gateway outside the host's subnet: a route with NM's onlink
# attribute (the gateway property cannot carry it), in the kernel with the
# onlink flag, and a warning in the result line.
check_onlink_gateway() {
	local out rc=0 r
	out=$(nm_set --IPAddresses "192.0.2.10" --Subnets 24 --DefaultGateways "198.51.100.1" \
		--DHCPEnabled false)
	code_is "$out" HV_S_OK || rc=1
	ours_up_with "192.0.2.10/24 " "198.51.100.1@100 " >/dev/null || rc=1
	r=$(ip -4 route show default dev "$NM_IF")
	echo "$r"
	grep -q "via 198.51.100.1 .*onlink" <<<"$r" || { echo "no onlink default route"; rc=1; }
	nmg ipv4.routes connection show "$NM_PROFILE" | grep -q "onlink=true" ||
		{ echo "route attribute: $(nmg ipv4.routes connection show "$NM_PROFILE")"; rc=1; }
	grep -q "^detail=.*DefaultGateways\[0\] '198.51.100.1' is outside every subnet, installed on-link" "$STATE" ||
		{ grep detail "$STATE"; rc=1; }
	hv_ctl enumerate-all --pool 1 | grep -q "installed on-link" || rc=1
	return "$rc"
}

# NetworkManager manages eth0 but hvkvpd's module cannot be loaded (a split
# install: the module dir is empty): not HV_S_OK, nothing changes (no
# address, route or profile; no route deleted and added back), and the
# result line names the module.
no_tentative() { [ -z "$(ip -6 addr show dev "$NM_IF" tentative)" ]; }
check_module_unavailable() {
	local out rc=0 addrs defaults path sum events
	out=$(nm_set "${SET_A[@]}")
	code_is "$out" HV_S_OK || rc=1
	ours_up_with "$A_ADDRS" "$A_DEFAULTS" >/dev/null || rc=1
	addrs=$(kernel_addrs)
	defaults=$(kernel_defaults)
	path=$(nmcli -g GENERAL.CON-PATH device show "$NM_IF")
	sum=$(sha256sum "$(profile_file "$NM_PROFILE")")
	hv_stop "$HVKVPD_PID"
	mkdir -p "$HV_TMP/no-modules"
	HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$HV_TMP/sys HVKVPD_TEST_MODULE_DIR=$HV_TMP/no-modules \
		hv_start_hvkvpd --state-dir "$HV_TMP/state" --debug
	# the kernel announces each IPv6 address again when its duplicate
	# address detection ends: let SET_A's settle before watching
	hv_wait_for 10 no_tentative
	ip -o monitor address route >"$HV_TMP/monitor-nomod.out" 2>&1 &
	local mon=$!
	hv_track_pid "$mon"
	sleep 0.2
	out=$(nm_set "${SET_B[@]}")
	echo "$out"
	sleep 0.3
	hv_stop "$mon"
	[ "$(hv_json "$out" .code_name)" != HV_S_OK ] || { echo "HV_S_OK behind NetworkManager's back"; rc=1; }
	code_is "$out" HV_E_FAIL || rc=1
	[ "$(kernel_addrs)" = "$addrs" ] || { echo "addresses changed: $(kernel_addrs)"; rc=1; }
	[ "$(kernel_defaults)" = "$defaults" ] || { echo "routes changed: $(kernel_defaults)"; rc=1; }
	[ "$(nmcli -g GENERAL.CON-PATH device show "$NM_IF")" = "$path" ] || { echo "re-activated"; rc=1; }
	sha256sum -c --quiet <<<"$sum" || rc=1
	events=$(grep -w "$NM_IF" "$HV_TMP/monitor-nomod.out" | grep -E "Deleted|^[0-9]+: $NM_IF +inet|^default" || true)
	[ -z "$events" ] || { echo "link changes: $events"; rc=1; }
	grep -q "^detail=NetworkManager manages $NM_IF, but hvkvpd cannot drive it: its module cannot be loaded" "$STATE" ||
		{ grep detail "$STATE"; rc=1; }
	hv_ctl enumerate-all --pool 1 | grep -q "HV_E_FAIL $NM_IF -: NetworkManager manages $NM_IF, but hvkvpd cannot drive it: its module cannot be loaded" ||
		{ hv_ctl enumerate-all --pool 1; rc=1; }
	grep -q "the link is left alone" "$HV_TMP/hvkvpd.log" || rc=1
	hvkvpd_restart
	return "$rc"
}

# At start-up, saved settings applied through netlink before (reapply=1)
# meet a link that NetworkManager manages now, and the module cannot be
# loaded: they are not re-applied behind NM's back.
check_boot_module_unavailable() {
	local rc=0 addrs defaults
	ours_up_with "$A_ADDRS" "$A_DEFAULTS" >/dev/null || rc=1
	addrs=$(kernel_addrs)
	defaults=$(kernel_defaults)
	hv_stop "$HVKVPD_PID"
	sed -i -e 's/^reapply=.*/reapply=1/' -e 's/^backend=.*/backend=netlink/' \
		-e 's/^applied_ip_addr=.*/applied_ip_addr=203.0.113.9/' -e 's/^applied_sub_net=.*/applied_sub_net=24/' \
		-e 's/^applied_gate_way=.*/applied_gate_way=203.0.113.1/' -e 's/^applied_dns_addr=.*/applied_dns_addr=/' \
		-e 's/^applied_dhcp_enabled=.*/applied_dhcp_enabled=0/' "$STATE"
	grep -qx "reapply=1" "$STATE" || { cat "$STATE"; rc=1; }
	wc -l <"$HV_TMP/hvkvpd.log" >"$HV_TMP/log-mark"
	HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$HV_TMP/sys HVKVPD_TEST_MODULE_DIR=$HV_TMP/no-modules \
		hv_start_hvkvpd --state-dir "$HV_TMP/state" --debug
	sleep 0.5
	[ "$(kernel_addrs)" = "$addrs" ] || { echo "addresses changed: $(kernel_addrs)"; rc=1; }
	[ "$(kernel_defaults)" = "$defaults" ] || { echo "routes changed: $(kernel_defaults)"; rc=1; }
	tail -n +$(($(cat "$HV_TMP/log-mark") + 1)) "$HV_TMP/hvkvpd.log" >"$HV_TMP/boot.log"
	grep -q "NetworkManager manages $NM_IF, but hvkvpd cannot drive it: its module cannot be loaded" "$HV_TMP/boot.log" ||
		{ tail -n 20 "$HV_TMP/boot.log"; rc=1; }
	! grep -q "re-applied the saved failover settings" "$HV_TMP/boot.log" || { echo "re-applied"; rc=1; }
	hvkvpd_restart
	return "$rc"
}

nm_check "DNS is exactly the host's: ignore-auto-dns on both families, NM and GET report only those" check_dns_exact
nm_check "an IPv4 gateway outside the subnet: onlink route attribute and flag, warning in the result" check_onlink_gateway
nm_check "NM manages the link, its module cannot be loaded: HV_E_FAIL, link untouched, module named" check_module_unavailable
nm_check "at start-up, saved netlink settings for a link NM manages now, module missing: not re-applied, journal names the module" check_boot_module_unavailable

# revert: what `hvkvpctl revert` runs (link_config_revert), through a
# test driver until that command exists. Since the reboot above NM has no
# "Wired connection 1" (it makes that in-memory profile only for a device
# no stored profile matches), so the profile NM itself would pick without
# ours is the user's DHCP profile.
nm_revert() {
	HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$HV_TMP/sys HVKVPD_TEST_MODULE_DIR=$top_builddir \
		"$top_builddir/tests/integration/revert-driver" --state-dir "$HV_TMP/state" \
		--pool-dir /var/lib/hyperv "$@"
}

check_revert_dry_run() {
	local out rc=0 f sum
	# the checks above leave a state file they edited by hand: a failover
	# through NetworkManager first
	out=$(nm_set "${SET_A[@]}")
	code_is "$out" HV_S_OK || { echo "$out"; return 1; }
	ours_up_with "$A_ADDRS" "$A_DEFAULTS" || return 1
	grep -qx "backend=networkmanager" "$STATE" || { cat "$STATE"; return 1; }
	f=$(profile_file "$NM_PROFILE")
	sum=$(sha256sum "$f")
	out=$(nm_revert --dry-run "$NM_IF") || { echo "$out"; return 1; }
	echo "$out"
	grep -qF "would delete the NetworkManager profile '$NM_PROFILE' and activate 'User DHCP $NM_IF'" <<<"$out" || rc=1
	nm_device_is "$NM_PROFILE" || { echo "our profile is no longer active"; rc=1; }
	sha256sum -c --quiet <<<"$sum" || rc=1
	kernel_has "$A_ADDRS" "$A_DEFAULTS" || rc=1
	[ -f "$STATE" ] || { echo "the state file is gone"; rc=1; }
	return "$rc"
}

check_revert() {
	local out rc=0 f
	f=$(profile_file "$NM_PROFILE")
	out=$(nm_revert "$NM_IF") || { echo "$out"; return 1; }
	echo "$out"
	[ -z "$(our_uuid)" ] || { echo "our profile is still there"; rc=1; }
	[ ! -e "$f" ] || { echo "our keyfile $f is still there"; rc=1; }
	hv_wait_for 15 nm_device_is "User DHCP $NM_IF" || { echo "not back on the user's profile: $(nmcli device)"; rc=1; }
	# before the first failover: NM's DHCP profile, no DHCP server, so no
	# global address and no default route
	hv_wait_for 10 kernel_has "" "" >/dev/null || kernel_has "" "" || rc=1
	sha256sum -c --quiet <<<"$USER_SUM" || rc=1
	[ ! -e "$STATE" ] || { echo "the state file is still there"; rc=1; }
	hv_ctl enumerate-all --pool 1 | jq -r '.items[].value' | grep -q "HV_S_OK $NM_IF networkmanager: reverted" || rc=1
	return "$rc"
}

nm_check "revert --dry-run: names our profile and the one it would activate, changes nothing" check_revert_dry_run
nm_check "revert: our profile and keyfile deleted, the user's profile active again, the link as before the first failover, the other profiles untouched, state forgotten" check_revert

hv_log "SET_IP_INFO turnaround (emulated host, elapsed_us):"
for l in "${TURNAROUND[@]}"; do
	hv_log "  $l"
done
hv_checks_done

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-hvkvpctl.sh - the one-shot tool: apply in a namespace, dry run, settings file,
# show, pool commands next to a running daemon, bad arguments -> exit code + message.
set -eu
. "$(dirname "$0")/lib.sh"
hv_require_root
hv_sandbox "$@"

CTL=$top_builddir/hvkvpctl
[ -x "$CTL" ] || hv_skip "hvkvpctl is not built"
ctl() { "$CTL" --state-dir "$HV_TMP/state" --pool-dir /var/lib/hyperv "$@"; }

ip link add eth0 address 00:15:5d:00:00:c1 type veth peer name eth0-peer
ip link set eth0-peer up
guid="{c1c2c3c4-0000-4000-8000-00155d0000c1}"
mkdir -p "$HV_TMP/sys/class/net/eth0/device"
cp /sys/class/net/eth0/ifindex /sys/class/net/eth0/address "$HV_TMP/sys/class/net/eth0/"
echo "$guid" >"$HV_TMP/sys/class/net/eth0/device/device_id"
export HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$HV_TMP/sys
hv_private_overlay /etc
rm -f /etc/resolv.conf
echo "nameserver 198.51.100.53" >/etc/resolv.conf

# eth0's addresses and IPv4 default routes ("gateway@metric"), each on one line
addrs() { hv_addrs eth0 | paste -sd ' '; }
gws() { hv_default_routes eth0 -4 | awk '{ print $1 "@" $2 }' | paste -sd ' '; }

# expect_ctl CODE MESSAGE-SUBSTRING CMD...: exit status and a message on stderr
expect_ctl() {
	local code=$1 msg=$2 out rc=0
	shift 2
	out=$(ctl "$@" 2>&1) || rc=$?
	[ "$rc" = "$code" ] || hv_fail "hvkvpctl $*: exit $rc, expected $code: $out"
	[[ "$out" == *"$msg"* ]] || hv_fail "hvkvpctl $*: message lacks '$msg': $out"
	echo "ok - hvkvpctl $(cut -c1-100 <<<"$*") -> exit $code ($msg)"
}

# ---- dry run: prints the plan, changes nothing ---------------------------------------
before=$(addrs)
out=$(ctl apply --adapter eth0 --ipv4-address 203.0.113.10 --ipv4-subnet-mask 255.255.255.0 \
	--ipv4-default-gateway 203.0.113.1 --ipv4-preferred-dns-server 203.0.113.53 --dry-run)
echo "$out" | sed 's/^/    /'
[[ "$out" == *"would apply through netlink"* ]] || hv_fail "dry run does not name the backend"
[[ "$out" == *"203.0.113.10/24"* ]] || hv_fail "dry run does not show the new address"
hv_assert_eq "dry run changed nothing" "$before" "$(addrs)"
json=$(ctl --json apply --adapter 00-15-5D-00-00-C1 --ipv6-address 2001:db8::5 \
	--ipv6-subnet-prefix-length 64 --dry-run)
hv_assert_json "$json" '.backend + " " + .settings.addresses[0]' "netlink 2001:db8::5/64" "dry run --json"

# ---- apply by name, by MAC, by GUID -------------------------------------------------
ctl apply --adapter eth0 --ipv4-address 203.0.113.10 --ipv4-address 203.0.113.11 \
	--ipv4-subnet-mask 255.255.255.0 --ipv4-default-gateway 203.0.113.1 \
	--ipv6-address 2001:db8::10 --ipv6-subnet-prefix-length 64 \
	--ipv4-preferred-dns-server 203.0.113.53 --ipv4-alternate-dns-server 203.0.113.54
hv_assert_eq "apply: addresses" "2001:db8::10/64 203.0.113.10/24 203.0.113.11/24" "$(addrs)"
hv_assert_eq "apply: gateway" "203.0.113.1@100" "$(gws)"
grep -q "nameserver 203.0.113.54" /etc/resolv.conf || hv_fail "DNS not written"
echo "ok - DNS in resolv.conf"
json=$(ctl --json apply --adapter "$guid" --ipv4-address 203.0.113.20 --ipv4-subnet-mask 24)
hv_assert_json "$json" '.result' "HV_S_OK" "apply by GUID"
hv_assert_eq "apply by GUID replaced the addresses" "203.0.113.20/24" "$(addrs)"

# ---- settings file ------------------------------------------------------------------
cat >"$HV_TMP/settings.ini" <<EOF
# failover settings for the test adapter
[00:15:5d:00:00:c1]
IPAddresses=198.51.100.7;2001:db8:7::7
Subnets=255.255.255.0;64
DefaultGateways=198.51.100.1;198.51.100.2
DNSServers=198.51.100.53
DHCPEnabled=false
EOF
ctl apply --file "$HV_TMP/settings.ini"
hv_assert_eq "settings file: addresses" "198.51.100.7/24 2001:db8:7::7/64" "$(addrs)"
hv_assert_eq "settings file: gateways in order" "198.51.100.1@100 198.51.100.2@101" "$(gws)"

# ---- show ---------------------------------------------------------------------------
out=$(ctl show)
echo "$out" | sed 's/^/    /'
[[ "$out" == *"HV_S_OK"* && "$out" == *"via netlink"* && "$out" == *"198.51.100.7"* ]] ||
	hv_fail "show lacks the result, the backend or the live address"
json=$(ctl --json show --adapter eth0)
hv_assert_json "$json" '.[0].mac + " " + .[0].backend + " " + .[0].result' \
	"00:15:5d:00:00:c1 netlink HV_S_OK" "show --json"

# ---- bad input: exit codes and messages, nothing changed -------------------------------
before=$(addrs)
expect_ctl 4 "Subnets[0] '255.0.255.0'" apply --adapter eth0 --ipv4-address 203.0.113.9 --ipv4-subnet-mask 255.0.255.0
expect_ctl 4 "IPAddresses[0] '203.0.113.999'" apply --adapter eth0 --ipv4-address 203.0.113.999 --ipv4-subnet-mask 24
expect_ctl 3 "no network adapter matches 'eth9'" apply --adapter eth9 --ipv4-address 203.0.113.9 --ipv4-subnet-mask 24
expect_ctl 3 "no network adapter matches" apply --adapter "{00000000-0000-4000-8000-000000000000}" --dhcp
expect_ctl 5 "cannot do DHCP" apply --adapter eth0 --dhcp
expect_ctl 2 "give --adapter ID" apply --ipv4-address 203.0.113.9
expect_ctl 2 "no settings given" apply --adapter eth0
expect_ctl 2 "--ipv4-subnet-mask" apply --adapter eth0 --ipv4-address 203.0.113.9
expect_ctl 2 "not a command" frobnicate
printf '[eth0]\nIPAdresses=1.2.3.4\n' >"$HV_TMP/bad.ini"
expect_ctl 2 "bad.ini:2: unknown key 'IPAdresses'" apply --file "$HV_TMP/bad.ini"
printf 'Backend=netlnk\n' >"$HV_TMP/bad.conf"
expect_ctl 2 "bad.conf:1: Backend: 'netlnk'" --config "$HV_TMP/bad.conf" show
hv_assert_eq "bad input changed nothing" "$before" "$(addrs)"

# ---- the apply lock is shared: a held lock means exit 6 -----------------------------------
printf 'ReplyBudgetSec=1\n' >"$HV_TMP/short.conf"
exec 9>"$HV_TMP/state/.apply.lock"
flock -x 9
expect_ctl 6 "holds the lock" --config "$HV_TMP/short.conf" apply --adapter eth0 --ipv4-address 203.0.113.9 --ipv4-subnet-mask 24
exec 9>&-
hv_assert_eq "busy apply changed nothing" "$before" "$(addrs)"

# ---- pool commands next to a running daemon --------------------------------------------
hv_start_emu
hv_start_hvkvpd --state-dir "$HV_TMP/state"
ctl pool set --pool 0 FromCtl "written by hvkvpctl"
hv_assert_json "$(hv_ctl get --pool 0 --key FromCtl)" '.value' "written by hvkvpctl" "daemon sees hvkvpctl's write"
hv_ctl set --pool 0 --key FromHost --value "written by the host" >/dev/null
hv_assert_eq "hvkvpctl sees the daemon's write" "written by the host" "$(ctl pool get --pool 0 FromHost)"
out=$(ctl pool list --pool 0)
hv_assert_eq "pool list" "2" "$(echo "$out" | wc -l)"
hv_assert_json "$(ctl --json pool list --pool 0)" '.[1].key' "FromHost" "pool list --json"
ctl pool delete --pool 0 FromCtl
hv_assert_json "$(hv_ctl get --pool 0 --key FromCtl)" '.code_name' "HV_S_CONT" "daemon sees the delete"
expect_ctl 7 "has no key 'FromCtl'" pool get --pool 0 FromCtl
expect_ctl 2 "--pool: '9'" pool get --pool 9 x
expect_ctl 2 "the value is too long" pool set --pool 0 k "$(head -c 3000 /dev/zero | tr '\0' v)"
# the result line of hvkvpctl's applies is in the guest pool, as for the daemon's
[[ "$(ctl pool list --pool 1)" == *"HvKvpdFailoverResult_00155D0000C1"* ]] ||
	hv_fail "no result line in pool 1"
echo "ok - result line in the guest pool"
echo "PASS: hvkvpctl apply/dry-run/file/show/pool and its exit codes"

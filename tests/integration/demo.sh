#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# demo.sh - the main job, shown from the host's side: hvkvpd against the
# emulated Hyper-V host in a private namespace. Run through scripts/run-demo.sh.
set -eu
. "$(dirname "$0")/lib.sh"
hv_require_root
hv_sandbox "$@"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { echo "host> hvkvp-emu ctl $*"; hv_ctl "$@" | jq -c 'del(.elapsed_us, .wait_us, .code_hex)'; }

# A guest NIC like Hyper-V's: a veth with a 00:15:5d MAC and an old address.
ip link add eth0 address 00:15:5d:00:00:01 type veth peer name eth0-peer
ip addr add 192.0.2.10/24 dev eth0
ip link set eth0 up
ip link set eth0-peer up
# veths have no VMBus device: a sysfs tree (test seam) gives eth0 the
# device_id that Hyper-V would, so the host can name it by GUID
guid="{f1a2b3c4-1111-4222-8333-00155d000001}"
mkdir -p "$HV_TMP/sys/class/net/eth0/device"
cp /sys/class/net/eth0/ifindex /sys/class/net/eth0/address "$HV_TMP/sys/class/net/eth0/"
echo "$guid" >"$HV_TMP/sys/class/net/eth0/device/device_id"
export HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$HV_TMP/sys
# a private /etc whose resolv.conf is a plain file, as on a guest without resolved
hv_private_overlay /etc
rm -f /etc/resolv.conf
printf 'search example.internal\nnameserver 198.51.100.53\n' >/etc/resolv.conf

say "the emulated host mounts its KVP device at /dev/vmbus/hv_kvp"
hv_start_emu
ls -l /dev/vmbus/

say "hvkvpd starts, opens the device and registers (REGISTER1)"
hv_start_hvkvpd --state-dir "$HV_TMP/state"
show status

say "the host enumerates the auto pool (intrinsic guest data)"
echo "host> hvkvp-emu ctl enumerate-all --pool 2"
hv_ctl enumerate-all --pool 2 | jq -r '.items[] | "  \(.index)  \(.key) = \(.value)"'

say "a round trip through the external pool (host -> guest data, pool 0)"
show set --pool 0 --key Environment --value Production
show set --pool 0 --key Owner --value "ops team"
show get --pool 0 --key Environment
show enumerate-all --pool 0
show delete --pool 0 --key Owner
show get --pool 0 --key Owner
f=/var/lib/hyperv/.kvp_pool_0
echo "guest> $f, in upstream's format (what cloud-init and admin tools read):"
echo "  $(stat -c %s $f) bytes = $(( $(stat -c %s $f) / 2560 )) record(s) of 2560 bytes;" \
	"record 0: key '$(head -c 512 $f | tr -d '\0')' at byte 0," \
	"value '$(tail -c +513 $f | head -c 2048 | tr -d '\0')' at byte 512"

say "a malformed request is answered with a code, and the daemon keeps serving"
show raw --op 1 --pool 7 --key k --value v
show get --pool 0 --key Environment

say "guest before the failover"
ip -br addr show dev eth0 | sed 's/^/  /'
ip route show dev eth0 | sed 's/^/  /'

say "failover: the host pushes the replica's IP settings (SET_IP_INFO)"
echo "host> hvkvp-emu ctl set-ip-info --adapter-id $guid --IPAddresses '203.0.113.10;203.0.113.11;2001:db8:1::10' ..."
hv_ctl set-ip-info --adapter-id "$guid" \
	--IPAddresses "203.0.113.10;203.0.113.11;2001:db8:1::10" \
	--Subnets "255.255.255.0;255.255.255.0;64" \
	--DefaultGateways "203.0.113.1;2001:db8:1::1" \
	--DNSServers "203.0.113.53;2001:db8:1::53" --DHCPEnabled false |
	jq -c '{op, code_name, elapsed_us}'

say "guest after the failover: addresses, routes, DNS"
ip -br addr show dev eth0 | sed 's/^/  /'
ip route show dev eth0 | sed 's/^/  /'
ip -6 route show dev eth0 | grep default | sed 's/^/  /'
sed 's/^/  \/etc\/resolv.conf: /' /etc/resolv.conf

say "the host reads the adapter's configuration back (GET_IP_INFO, by MAC)"
show get-ip-info --adapter-id 00:15:5D:00:00:01
say "the one-line result the host can read from the guest pool (pool 1)"
hv_ctl enumerate-all --pool 1 | jq -r '.items[] | "  \(.key) = \(.value)"'
say "what an operator sees: hvkvpctl show"
"$top_builddir/hvkvpctl" --state-dir "$HV_TMP/state" show | sed 's/^/  /'

say "the same settings again change nothing (no flap)"
hv_ctl set-ip-info --adapter-id "$guid" \
	--IPAddresses "203.0.113.10;203.0.113.11;2001:db8:1::10" \
	--Subnets "255.255.255.0;255.255.255.0;64" \
	--DefaultGateways "203.0.113.1;2001:db8:1::1" \
	--DNSServers "203.0.113.53;2001:db8:1::53" --DHCPEnabled false |
	jq -c '{op, code_name, elapsed_us}'

say "a bad subnet is refused with a code; nothing changes"
hv_ctl set-ip-info --adapter-id "$guid" --IPAddresses 203.0.113.99 --Subnets 255.0.255.0 |
	jq -c '{op, code_name}'
ip -br addr show dev eth0 | sed 's/^/  /'

say "what hvkvpd logged"
sed 's/^/  /' "$HV_TMP/hvkvpd.log"

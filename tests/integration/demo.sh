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

# A guest NIC like Hyper-V's: a veth with a 00:15:5d MAC and an address.
ip link add eth0 address 00:15:5d:00:00:01 type veth peer name eth0-peer
ip addr add 192.0.2.10/24 dev eth0
ip link set eth0 up
ip link set eth0-peer up

say "the emulated host mounts its KVP device at /dev/vmbus/hv_kvp"
hv_start_emu
ls -l /dev/vmbus/

say "hvkvpd starts, opens the device and registers (REGISTER1)"
hv_start_hvkvpd
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

say "what hvkvpd logged"
sed 's/^/  /' "$HV_TMP/hvkvpd.log"

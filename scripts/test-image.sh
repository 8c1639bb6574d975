#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-image.sh - tests a guest image's KVP daemon end to end, without Hyper-V:
# boots a copy of the image's root file system under systemd-nspawn with the
# emulated KVP device (hvkvp-emu) as /dev/vmbus/hv_kvp, lets the "host" push
# failover IP settings for the guest's network adapter, and checks what the
# guest made of them. The image itself is never modified.
#
#   scripts/test-image.sh [--rootfs DIR] [--deb FILE]... [--address A/PREFIX]
#                         [--gateway G] [--dns D]
#
#   --rootfs DIR   the image's root file system (default: the Debian 12 rootfs
#                  the system tests build and cache, with --deb installed)
#   --deb FILE     a package to install in the booted copy first (repeatable),
#                  e.g. ../hvkvpd_*.deb
#   --address, --gateway, --dns
#                  the failover settings to push (default 192.0.2.10/24,
#                  192.0.2.1, 192.0.2.53)
#
# The guest gets one veth adapter (host0) whose MAC is the adapter id the host
# names. The unit's ConditionVirtualization=microsoft is cleared by a drop-in
# in the copy (nspawn is not Hyper-V). Exit status: 0 when the daemon answered
# HV_S_OK and the adapter holds the address and gateway, 1 otherwise, 2 usage.
# Needs root, systemd-nspawn (systemd-container), debootstrap (for the default
# rootfs) and a build tree with hvkvp-emu (top_builddir, default build/plain).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export top_srcdir=${top_srcdir:-$(cd "$here/.." && pwd)}
export top_builddir=${top_builddir:-$top_srcdir/build/plain}

if [ -z "${HV_SANDBOXED:-}" ]; then
	ROOTFS= DEBS=() ADDRESS=192.0.2.10/24 GATEWAY=192.0.2.1 DNS=192.0.2.53
	while [ $# -gt 0 ]; do
		case $1 in
		--rootfs) ROOTFS=$(readlink -f "$2"); shift 2 ;;
		--deb) DEBS+=("$(readlink -f "$2")"); shift 2 ;;
		--address) ADDRESS=$2; shift 2 ;;
		--gateway) GATEWAY=$2; shift 2 ;;
		--dns) DNS=$2; shift 2 ;;
		-h | --help) sed -n '3,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) echo "test-image.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
		esac
	done
	case $ADDRESS in
	*/*) ;;
	*) echo "test-image.sh: --address wants ADDRESS/PREFIX" >&2; exit 2 ;;
	esac
	export TI_ROOTFS=$ROOTFS TI_DEBS="${DEBS[*]}" TI_ADDRESS=$ADDRESS TI_GATEWAY=$GATEWAY TI_DNS=$DNS
fi

. "$top_srcdir/tests/system/lib-guest.sh"
sys_init

if [ -n "$TI_ROOTFS" ]; then
	[ -d "$TI_ROOTFS/etc" ] || hv_fail "$TI_ROOTFS does not look like a root file system"
	SYS_GUEST_DIR=$HV_TMP/image
	cp -a "$TI_ROOTFS" "$SYS_GUEST_DIR"
else
	sys_guest_new image
fi
mkdir -p "$SYS_GUEST_DIR/root/debs"
for d in $TI_DEBS; do cp "$d" "$SYS_GUEST_DIR/root/debs/"; done
for u in hvkvpd hv-kvp-daemon hypervkvpd hv_kvp_daemon; do
	mkdir -p "$SYS_GUEST_DIR/etc/systemd/system/$u.service.d"
	printf '[Unit]\nConditionVirtualization=\n' >"$SYS_GUEST_DIR/etc/systemd/system/$u.service.d/test-image.conf"
done

sys_start_emu
sys_boot_veth() { # sys_boot with one veth adapter in the guest
	SYS_NSPAWN_EXTRA=--network-veth sys_boot
}
sys_boot_veth
if [ -n "$TI_DEBS" ]; then
	guest sh -c 'dpkg -i /root/debs/*.deb' >"$HV_TMP/dpkg.log" 2>&1 ||
		hv_fail "installing the packages failed: $(tail -n 5 "$HV_TMP/dpkg.log")"
fi
# no udev under nspawn: start what its rule would start
for u in hvkvpd hv-kvp-daemon hypervkvpd hv_kvp_daemon; do
	guest systemctl start --no-block "$u.service" >/dev/null 2>&1 || true
done
hv_ctl --wait 30 wait-registered >/dev/null || hv_fail "no KVP daemon registered within 30 s"
# the other end of host0, in this script's own network namespace: up, so the
# guest's adapter has a carrier
for l in $(ip -o link show type veth | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
	ip link set "$l" up
done
mac=$(guest cat /sys/class/net/host0/address)
echo "# guest adapter host0, MAC $mac"

out=$(hv_ctl --wait 30 set-ip-info --adapter-id "$mac" --IPAddresses "${TI_ADDRESS%/*}" \
	--Subnets "${TI_ADDRESS#*/}" --DefaultGateways "$TI_GATEWAY" --DNSServers "$TI_DNS" \
	--DHCPEnabled false)
code=$(jq -r .code_name <<<"$out")
echo "host: SET_IP_INFO -> $code"
guest ip -br addr show dev host0
guest ip route show default dev host0

rc=0
[ "$code" = HV_S_OK ] || { echo "FAIL: the daemon answered $code"; rc=1; }
guest ip -j addr show dev host0 | jq -e --arg a "${TI_ADDRESS%/*}" \
	'[.[0].addr_info[] | select(.local == $a)] | length == 1' >/dev/null ||
	{ echo "FAIL: host0 does not hold $TI_ADDRESS"; rc=1; }
guest ip -j route show default dev host0 | jq -e --arg g "$TI_GATEWAY" \
	'[.[] | select(.gateway == $g)] | length >= 1' >/dev/null ||
	{ echo "FAIL: no default route through $TI_GATEWAY"; rc=1; }
sys_poweroff
[ $rc -eq 0 ] && echo "PASS: the image applied the failover settings"
exit $rc

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench-probe.sh - what the address conflict check costs: SET_IP_INFO medians with ConflictProbeSec=1 (the default) and 0, per backend (netlink, systemd-networkd, NetworkManager); prints figures, asserts nothing.
#
#   scripts/bench-probe.sh [RUNS]        RUNS SETs per backend and setting (default 10)
#
# Each backend runs in a sandbox of its own (as tests/integration does): a
# veth eth0 with a Hyper-V MAC whose peer is up (a carrier, no one holding
# the addresses), DAD on as the kernel's default, the emulated host, and
# hvkvpd with a configuration file that sets ConflictProbeSec=. Every SET
# alternates between two settings of 2 or 1 IPv4 and 1 IPv6 address, so
# each one brings new addresses: the IPv4 ones are probed (the window), the
# IPv6 one waits for the kernel's DAD (1-2 s with its defaults). The figure
# is the emulator's elapsed_us: host send to reply, as the host sees it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
export top_srcdir=$top
export top_builddir=${top_builddir:-$top/build/plain}

# ---- one backend, inside its sandbox: prints "RESULT backend on_us off_us runs" ------
if [ "${1:-}" = --one ]; then
	backend=$2 RUNS=$3
	shift 3
	if [ "$backend" = networkmanager ]; then
		HV_NM_FUNCTIONS_ONLY=1
		# shellcheck source=tests/integration/test-nm.sh
		. "$top/tests/integration/test-nm.sh"
	else
		# shellcheck source=tests/integration/lib.sh
		. "$top/tests/integration/lib.sh"
	fi
	hv_require_root
	hv_sandbox --one "$backend" "$RUNS"
	echo 1 >/proc/sys/net/ipv6/conf/default/accept_dad
	GUID="{4e0c1a2b-0000-4000-8000-00155d000001}"
	MAC=00:15:5d:00:00:01
	A=(--IPAddresses "192.0.2.10;192.0.2.11;2001:db8::10" --Subnets "24;24;64"
		--DefaultGateways "192.0.2.1;2001:db8::1" --DHCPEnabled false)
	B=(--IPAddresses "198.51.100.20;2001:db8:1::20" --Subnets "24;64"
		--DefaultGateways "198.51.100.1;2001:db8:1::1" --DHCPEnabled false)
	eth0() {
		ip link add eth0 address "$MAC" type veth peer name eth0p
		ip link set eth0p up
		mkdir -p "$HV_TMP/sys/class/net/eth0/device"
		cat /sys/class/net/eth0/ifindex >"$HV_TMP/sys/class/net/eth0/ifindex"
		echo "$MAC" >"$HV_TMP/sys/class/net/eth0/address"
		echo "$GUID" >"$HV_TMP/sys/class/net/eth0/device/device_id"
	}
	case $backend in
	netlink)
		hv_private_overlay /etc
		eth0
		ip link set eth0 up
		;;
	networkd)
		mount -t tmpfs -o mode=0755 hvkvp-run-systemd /run/systemd
		hv_private_overlay /etc
		mkdir -p /etc/systemd/network
		find /etc/systemd/network -mindepth 1 -delete
		hv_start_system_bus
		eth0
		printf '[Match]\nName=eth0\n\n[Network]\nAddress=203.0.113.5/24\nConfigureWithoutCarrier=yes\n' \
			>/etc/systemd/network/50-eth0.network
		/lib/systemd/systemd-networkd >>"$HV_TMP/networkd.log" 2>&1 </dev/null &
		hv_track_pid $!
		nd_up() { ip -j addr show dev eth0 | jq -e '.[0].addr_info[] | select(.local == "203.0.113.5")' >/dev/null; }
		hv_wait_for 20 nd_up || hv_fail "systemd-networkd did not configure eth0"
		;;
	networkmanager)
		nm_sandbox
		GUID=$NM_GUID
		;;
	esac
	hv_start_emu
	run_set() { # CONFLICT_PROBE_SEC: RUNS SETs; prints the median elapsed_us
		local i out code times=()
		echo "ConflictProbeSec=$1" >"$HV_TMP/bench.conf"
		[ -z "$HVKVPD_PID" ] || hv_stop "$HVKVPD_PID"
		HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$HV_TMP/sys HVKVPD_TEST_MODULE_DIR=$top_builddir \
			hv_start_hvkvpd --state-dir "$HV_TMP/state" --backend "$backend" --config "$HV_TMP/bench.conf"
		# a first apply, untimed: the backend's own first-time work (a
		# profile or file of its own) is not what is measured here
		hv_ctl --wait 60 set-ip-info --adapter-id "$GUID" "${B[@]}" >/dev/null
		for ((i = 0; i < RUNS; i++)); do
			if ((i % 2 == 0)); then
				out=$(hv_ctl --wait 60 set-ip-info --adapter-id "$GUID" "${A[@]}")
			else
				out=$(hv_ctl --wait 60 set-ip-info --adapter-id "$GUID" "${B[@]}")
			fi
			code=$(hv_json "$out" .code_name)
			[ "$code" = HV_S_OK ] || echo "# warning: $backend, ConflictProbeSec=$1: $code" >&2
			times+=("$(hv_json "$out" .elapsed_us)")
		done
		printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END {
			print NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
	}
	on=$(run_set 1)
	off=$(run_set 0)
	echo "RESULT $backend $on $off $RUNS"
	exit 0
fi

# ---- the driver ----------------------------------------------------------------------------
RUNS=${1:-10}
if [ ! -f "$top_builddir/Makefile" ]; then
	[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null 2>&1)
	mkdir -p "$top_builddir"
	(cd "$top_builddir" && "$top/configure" >/dev/null)
fi
make -C "$top_builddir" -j2 hvkvpd hvkvp-emu >/dev/null
make -C "$top_builddir" -j2 backend-nm.so >/dev/null 2>&1 || true

backends=(netlink)
[ -x /lib/systemd/systemd-networkd ] && command -v dbus-daemon >/dev/null && backends+=(networkd)
if [ -f "$top_builddir/backend-nm.so" ] && { command -v NetworkManager >/dev/null || [ -x /usr/sbin/NetworkManager ]; }; then
	backends+=(networkmanager)
fi

results=()
for b in "${backends[@]}"; do
	echo "# $b: $RUNS SETs with ConflictProbeSec=1, then $RUNS with 0 ..." >&2
	line=$(bash "$0" --one "$b" "$RUNS" 2>"${TMPDIR:-/tmp}/bench-probe-$b.log" | grep '^RESULT ' || true)
	[ -n "$line" ] || { echo "# $b: no result, see ${TMPDIR:-/tmp}/bench-probe-$b.log" >&2; continue; }
	results+=("$line")
done

echo
echo "SET_IP_INFO with address conflict probing (host send -> reply, median of $RUNS; every SET brings"
echo "new addresses: 1-2 IPv4 probed for the window, 1 IPv6 through the kernel's DAD)"
printf '%-16s %22s %22s %12s\n' backend "ConflictProbeSec=1 (ms)" "ConflictProbeSec=0 (ms)" "cost (ms)"
for line in "${results[@]}"; do
	read -r _ b on off _ <<<"$line"
	printf '%-16s %22.1f %22.1f %12.1f\n' "$b" "$(awk -v v="$on" 'BEGIN { print v / 1000 }')" \
		"$(awk -v v="$off" 'BEGIN { print v / 1000 }')" "$(awk -v a="$on" -v b="$off" 'BEGIN { print (a - b) / 1000 }')"
done

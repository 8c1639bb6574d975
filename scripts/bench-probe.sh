#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench-probe.sh - what the address conflict check costs: SET_IP_INFO medians with ConflictProbeSec=1 (the default) and 0, per backend (netlink, systemd-networkd, NetworkManager, ifupdown); prints figures, asserts nothing.
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
		nm_find_bin || hv_skip "NetworkManager is not installed"
		nm_sandbox
		GUID=$NM_GUID
		;;
	ifupdown)
		# Debian's ifupdown unpacked (as in test-ifupdown.sh), eth0's
		# stanza in the test's /etc/network
		hv_private_overlay /etc
		eth0
		hv_ifupdown_root "$IFUPDOWN_DEB" "$HV_TMP/etc-network"
		printf 'source /etc/network/interfaces.d/*\n\nauto eth0\niface eth0 inet static\n\taddress 203.0.113.5/24\n' \
			>"$HVKVPD_TEST_IFUPDOWN_DIR/interfaces"
		ifup eth0 >"$HV_TMP/ifup.log" 2>&1 || hv_fail "ifup eth0 failed: $(cat "$HV_TMP/ifup.log")"
		;;
	esac
	hv_start_emu
	A4=(--IPAddresses "192.0.2.10;192.0.2.11" --Subnets "24;24" --DefaultGateways 192.0.2.1 --DHCPEnabled false)
	B4=(--IPAddresses "198.51.100.20" --Subnets 24 --DefaultGateways 198.51.100.1 --DHCPEnabled false)
	median() { sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
	set_once() { # ARGS...: one SET, its elapsed_us appended to $HV_TMP/times
		local out code
		out=$(hv_ctl --wait 60 set-ip-info --adapter-id "$GUID" "$@")
		code=$(hv_json "$out" .code_name)
		[ "$code" = HV_S_OK ] || echo "# warning: $backend, ConflictProbeSec=$probe: $code" >&2
		hv_json "$out" .elapsed_us >>"$HV_TMP/times"
	}
	# run_set SEC v4|dual: RUNS SETs alternating two settings; the median
	# goes to R[SEC,family] (no $(...): hvkvpd must stay this shell's child)
	declare -A R
	run_set() {
		local i
		probe=$1
		echo "ConflictProbeSec=$probe" >"$HV_TMP/bench.conf"
		[ -z "$HVKVPD_PID" ] || hv_stop "$HVKVPD_PID"
		HVKVPD_PID=
		rm -rf "$HV_TMP/state"
		HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$HV_TMP/sys HVKVPD_TEST_MODULE_DIR=$top_builddir \
			hv_start_hvkvpd --state-dir "$HV_TMP/state" --backend "$backend" --config "$HV_TMP/bench.conf" --debug
		for fam in v4 dual; do
			# a first apply, untimed: the backend's first-time work (a
			# profile or file of its own) is not what is measured here
			if [ $fam = v4 ]; then set_once "${B4[@]}"; else set_once "${B[@]}"; fi
			: >"$HV_TMP/times"
			for ((i = 0; i < RUNS; i++)); do
				case $fam$((i % 2)) in
				v40) set_once "${A4[@]}" ;;
				v41) set_once "${B4[@]}" ;;
				dual0) set_once "${A[@]}" ;;
				dual1) set_once "${B[@]}" ;;
				esac
			done
			R[$probe,$fam]=$(median <"$HV_TMP/times")
		done
	}
	run_set 1
	run_set 0
	echo "RESULT $backend ${R[1,v4]} ${R[0,v4]} ${R[1,dual]} ${R[0,dual]} $RUNS"
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
# Debian's ifupdown package, fetched here (the sandboxes have no network)
IFUPDOWN_DEB=$(. "$top/tests/integration/lib.sh" && hv_fetch_ifupdown) || IFUPDOWN_DEB=
if [ -n "$IFUPDOWN_DEB" ]; then
	export IFUPDOWN_DEB
	backends+=(ifupdown)
else
	echo "# ifupdown: cannot fetch Debian's ifupdown package (apt-get download ifupdown); left out" >&2
fi

results=()
for b in "${backends[@]}"; do
	echo "# $b: $RUNS SETs with ConflictProbeSec=1, then $RUNS with 0 ..." >&2
	line=$(HV_LOG_DIR=$top_builddir/tests/integration/logs/bench-probe-$b bash "$0" --one "$b" "$RUNS" 2>"${TMPDIR:-/tmp}/bench-probe-$b.log" | grep '^RESULT ' || true)
	[ -n "$line" ] || { echo "# $b: no result, see ${TMPDIR:-/tmp}/bench-probe-$b.log" >&2; continue; }
	results+=("$line")
done

ms() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1000 }'; }
echo
echo "SET_IP_INFO with address conflict probing: median of $RUNS (host send -> reply, ms); every SET"
echo "brings new addresses (IPv4 probed for the window; IPv6 through the kernel's DAD, awaited)"
printf '%-16s %-22s %10s %10s %10s\n' backend settings "probe 1 s" "probe off" cost
for line in "${results[@]}"; do
	read -r _ b on4 off4 ondual offdual _ <<<"$line"
	printf '%-16s %-22s %10s %10s %10s\n' "$b" "1-2 IPv4" "$(ms "$on4")" "$(ms "$off4")" "$(ms $((on4 - off4)))"
	printf '%-16s %-22s %10s %10s %10s\n' "$b" "1-2 IPv4 + 1 IPv6" "$(ms "$ondual")" "$(ms "$offdual")" \
		"$(ms $((ondual - offdual)))"
done

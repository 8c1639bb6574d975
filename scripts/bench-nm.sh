#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench-nm.sh - SET_IP_INFO turnaround through hvkvpd's NetworkManager backend next to the same change made with nmcli, against a real NetworkManager in a private namespace; prints figures and ratios, asserts nothing.
#
#   scripts/bench-nm.sh [RUNS]     RUNS per case (default 10)
#
# The sandbox is the one of tests/integration/test-nm.sh (a private bus,
# NetworkManager with keyfiles in a temp dir, a veth eth0 with NM's "Wired
# connection 1"). Each case starts from the same state for both sides:
#   new profile: no profile of ours / nmcli's; eth0 activating "Wired
#                connection 1" (DHCP, no server), as on a replica's first boot;
#                hvkvpd: one SET_IP_INFO; nmcli: `nmcli con add ... && nmcli con up ...`
#   update:      the profile active with settings A; the change to B (and back);
#                hvkvpd: one SET_IP_INFO; nmcli: `nmcli con mod ... && nmcli con up ...`
# hvkvpd is timed twice: as the host sees it (the emulator's elapsed_us) and
# from the shell around `hvkvp-emu ctl` (like nmcli, with a process start).
# Ratios are of the medians; below 1 means hvkvpd is faster.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
export top_srcdir=$top
export top_builddir=${top_builddir:-$top/build/plain}
RUNS=${1:-${HVKVP_BENCH_RUNS:-10}}

if [ -z "${HV_SANDBOXED:-}" ]; then
	# the same plain build as scripts/bench.sh, configured on first use
	if [ ! -f "$top_builddir/Makefile" ]; then
		[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null 2>&1)
		mkdir -p "$top_builddir"
		(cd "$top_builddir" && "$top/configure" >/dev/null)
	fi
	make -C "$top_builddir" -j"$(nproc)" hvkvpd hvkvp-emu backend-nm.so >/dev/null
fi
[ -f "$top_builddir/backend-nm.so" ] || { echo "no $top_builddir/backend-nm.so (configure --with-libnm)" >&2; exit 1; }

HV_NM_FUNCTIONS_ONLY=1
# shellcheck source=tests/integration/test-nm.sh
. "$top/tests/integration/test-nm.sh"
hv_require_root
nm_find_bin || hv_skip "NetworkManager is not installed"
hv_require_cmd nmcli dbus-daemon jq
hv_sandbox "$@"
nm_sandbox
# shellcheck disable=SC2119 # no options for the emulator
hv_start_emu
NM_HVKVPD_ARGS='' hvkvpd_restart

OURS=$NM_PROFILE
THEIRS="bench nmcli $NM_IF"

now_us() {
	echo $(($(date +%s%N) / 1000))
}

# stats US...: "median min max" in ms
stats() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%8.1f %8.1f %8.1f", m / 1000, v[1] / 1000, v[NR] / 1000 }'
}

median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
		print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'
}

delete_profile() {
	nmcli connection delete "$1" >/dev/null 2>&1 || true
}

# eth0 activating NM's DHCP profile, no profile of ours or nmcli's
fresh_state() {
	delete_profile "$OURS"
	delete_profile "$THEIRS"
	nmcli -w 0 connection up "Wired connection 1" >/dev/null 2>&1 || true
	hv_wait_for 10 nm_device_is "Wired connection 1" >/dev/null || true
	hv_wait_for 10 nm_state_is 70 >/dev/null || true
}

# the settings of SET_A / SET_B as nmcli properties
NMCLI_A=(ipv4.method manual ipv4.addresses "192.0.2.10/24,192.0.2.11/24" ipv4.gateway 192.0.2.1
	ipv4.routes "0.0.0.0/0 192.0.2.254 101" ipv4.dns 192.0.2.53 ipv6.method manual
	ipv6.addresses 2001:db8::10/64 ipv6.gateway 2001:db8::1 ipv6.dns 2001:db8::53)
NMCLI_B=(ipv4.method manual ipv4.addresses 198.51.100.20/24 ipv4.gateway 198.51.100.1
	ipv4.routes "" ipv4.dns "198.51.100.53,198.51.100.54" ipv6.method manual
	ipv6.addresses 2001:db8:1::20/64 ipv6.gateway 2001:db8:1::1 ipv6.dns "")

BAD=0
# applied NAME ADDRS DEFAULTS: the run did what it should (untimed check)
applied() {
	if ! hv_wait_for 5 kernel_has "$2" "$3" >/dev/null || ! nm_device_is "$1"; then
		echo "# warning: a run of '$1' did not end with the expected state" >&2
		BAD=$((BAD + 1))
	fi
}

# ours_set A|B: one SET_IP_INFO; appends to HOST and SHELL (us)
ours_set() {
	local t0 t1 out
	if [ "$1" = A ]; then set -- "${SET_A[@]}"; else set -- "${SET_B[@]}"; fi
	t0=$(now_us)
	out=$(nm_set "$@")
	t1=$(now_us)
	[ "$(hv_json "$out" .code_name)" = HV_S_OK ] || { echo "# warning: $out" >&2; BAD=$((BAD + 1)); }
	HOST+=("$(hv_json "$out" .elapsed_us)")
	SHELL_US+=("$((t1 - t0))")
}

hv_log "NetworkManager $("$NM_BIN" --version), $RUNS runs per case"

# ---- new profile ----------------------------------------------------------------------
HOST=() SHELL_US=() THEIRS_US=()
for ((i = 0; i < RUNS; i++)); do
	fresh_state
	ours_set A
	applied "$OURS" "$A_ADDRS" "$A_DEFAULTS"
done
NEW_HOST=("${HOST[@]}") NEW_SHELL=("${SHELL_US[@]}")
for ((i = 0; i < RUNS; i++)); do
	fresh_state
	t0=$(now_us)
	nmcli connection add type ethernet con-name "$THEIRS" ifname "$NM_IF" \
		802-3-ethernet.mac-address "$NM_MAC" connection.autoconnect-priority 100 \
		ipv4.route-metric 100 ipv6.route-metric 100 "${NMCLI_A[@]}" >/dev/null &&
		nmcli connection up "$THEIRS" >/dev/null
	t1=$(now_us)
	THEIRS_US+=("$((t1 - t0))")
	applied "$THEIRS" "$A_ADDRS" "$A_DEFAULTS"
done
NEW_THEIRS=("${THEIRS_US[@]}")

# ---- update ----------------------------------------------------------------------------
HOST=() SHELL_US=() THEIRS_US=()
fresh_state
ours_set A
HOST=() SHELL_US=()
for ((i = 0; i < RUNS; i++)); do
	if ((i % 2 == 0)); then
		ours_set B
		applied "$OURS" "$B_ADDRS" "$B_DEFAULTS"
	else
		ours_set A
		applied "$OURS" "$A_ADDRS" "$A_DEFAULTS"
	fi
done
UPD_HOST=("${HOST[@]}") UPD_SHELL=("${SHELL_US[@]}")

# idempotent repeats, for the record
HOST=() SHELL_US=()
for ((i = 0; i < RUNS; i++)); do
	ours_set A
done
SAME_HOST=("${HOST[@]}") SAME_SHELL=("${SHELL_US[@]}")

fresh_state
nmcli connection add type ethernet con-name "$THEIRS" ifname "$NM_IF" \
	802-3-ethernet.mac-address "$NM_MAC" connection.autoconnect-priority 100 \
	ipv4.route-metric 100 ipv6.route-metric 100 "${NMCLI_A[@]}" >/dev/null
nmcli connection up "$THEIRS" >/dev/null
for ((i = 0; i < RUNS; i++)); do
	if ((i % 2 == 0)); then
		props=("${NMCLI_B[@]}") addrs=$B_ADDRS defaults=$B_DEFAULTS
	else
		props=("${NMCLI_A[@]}") addrs=$A_ADDRS defaults=$A_DEFAULTS
	fi
	t0=$(now_us)
	nmcli connection modify "$THEIRS" "${props[@]}" && nmcli connection up "$THEIRS" >/dev/null
	t1=$(now_us)
	THEIRS_US+=("$((t1 - t0))")
	applied "$THEIRS" "$addrs" "$defaults"
done
UPD_THEIRS=("${THEIRS_US[@]}")

# ---- figures -----------------------------------------------------------------------------
printf '\n%-52s %8s %8s %8s\n' "SET_IP_INFO turnaround, $RUNS runs (ms)" median min max
printf '%-52s %s\n' "new profile: hvkvpd, as the host sees it" "$(stats "${NEW_HOST[@]}")"
printf '%-52s %s\n' "new profile: hvkvpd, timed from the shell" "$(stats "${NEW_SHELL[@]}")"
printf '%-52s %s\n' "new profile: nmcli con add && nmcli con up" "$(stats "${NEW_THEIRS[@]}")"
printf '%-52s %s\n' "update:      hvkvpd, as the host sees it" "$(stats "${UPD_HOST[@]}")"
printf '%-52s %s\n' "update:      hvkvpd, timed from the shell" "$(stats "${UPD_SHELL[@]}")"
printf '%-52s %s\n' "update:      nmcli con mod && nmcli con up" "$(stats "${UPD_THEIRS[@]}")"
printf '%-52s %s\n' "unchanged:   hvkvpd (same SET again), host" "$(stats "${SAME_HOST[@]}")"
printf '%-52s %s\n' "unchanged:   hvkvpd (same SET again), shell" "$(stats "${SAME_SHELL[@]}")"
echo
printf 'ratio hvkvpd/nmcli, new profile: %s (host view), %s (shell)\n' \
	"$(ratio "$(median "${NEW_HOST[@]}")" "$(median "${NEW_THEIRS[@]}")")" \
	"$(ratio "$(median "${NEW_SHELL[@]}")" "$(median "${NEW_THEIRS[@]}")")"
printf 'ratio hvkvpd/nmcli, update:      %s (host view), %s (shell)\n' \
	"$(ratio "$(median "${UPD_HOST[@]}")" "$(median "${UPD_THEIRS[@]}")")" \
	"$(ratio "$(median "${UPD_SHELL[@]}")" "$(median "${UPD_THEIRS[@]}")")"
[ "$BAD" -eq 0 ] || echo "# $BAD run(s) did not end in the expected state; see above"

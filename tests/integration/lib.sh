# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - shared helpers for the integration tests: sandbox, emulator, daemon, assertions.
# shellcheck shell=bash disable=SC2034  # variables here are for the sourcing tests
#
# Usage, at the top of a bash test (tests run from a build tree as root):
#
#   set -eu
#   . "$(dirname "$0")/lib.sh"
#   hv_require_root
#   hv_sandbox "$@"          # from here on: private mount + net namespace
#   hv_start_emu             # /dev/vmbus/hv_kvp now exists (the emulator)
#   hv_start_hvkvpd          # our daemon, registered
#   out=$(hv_ctl set --pool 0 --key k --value v)
#   hv_assert_json "$out" .code_name HV_S_OK
#
# Exit statuses follow automake: 0 pass, 77 skip (with a "SKIP: reason"
# line), anything else fail. Everything a test starts is recorded by pid and
# stopped by pid on exit; nothing is ever killed by name.
#
# Environment:
#   top_builddir   build tree holding the binaries (default: the source tree
#                  containing this file)
#   top_srcdir     source tree (default: same)
#   HV_LOG_DIR     where the test's logs go: each check's full output
#                  (checks/NN-name.log) and, on exit, the sandbox's *.log
#                  files (default: <build>/tests/integration/logs/<test>;
#                  run.sh sets it per test)
#   HV_CTL_TIMEOUT upper bound in seconds for one hv_ctl call (default 300)
#   HV_VERBOSE     if set, hv_check also shows the output of passing checks
#   HV_CHECK_ONLY  a regular expression: run only the checks it matches
#   HV_CHECK_REPEAT run each check that many times (default 1)

# ---- locations ----------------------------------------------------------------

_hv_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$_hv_lib_dir/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir

# The binaries under test.
HV_EMU=$top_builddir/hvkvp-emu
HV_PROBE=$top_builddir/tests/integration/kvp-probe
HV_HVKVPD=$top_builddir/hvkvpd
# The test script itself, for the re-exec inside the namespaces.
HV_TEST_SCRIPT=$(readlink -f "$0")
HV_TEST_NAME=$(basename "$HV_TEST_SCRIPT" .sh)
: "${HV_LOG_DIR:=$top_builddir/tests/integration/logs/$HV_TEST_NAME}"
export HV_LOG_DIR

# Pids to stop on exit (hv_track_pid), the emulator's and our daemon's pid.
HV_PIDS=()
HV_EMU_PID=
HVKVPD_PID=
# Per-sandbox scratch directory (a private tmpfs), set by hv_sandbox.
HV_TMP=${HV_TMP:-}
# Failed hv_check count.
HV_CHECK_FAILURES=0
HV_CHECK_COUNT=0
HV_FAILED_CHECKS=()

# ---- results ----------------------------------------------------------------------

# hv_skip REASON: print "SKIP: REASON" and exit 77 (automake's skip).
hv_skip() {
	echo "SKIP: $*"
	exit 77
}

# hv_fail MSG: print "FAIL: MSG" to stderr and exit 1.
hv_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# hv_log MSG: one progress line on stdout, prefixed with "# ".
hv_log() {
	echo "# $*"
}

# hv_require_root: skip unless running as root (namespaces, FUSE, mounts).
hv_require_root() {
	[ "$(id -u)" -eq 0 ] || hv_skip "needs root (mount/network namespaces, FUSE mounts)"
}

# hv_require_cmd CMD...: skip unless every CMD is in PATH.
hv_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || hv_skip "$c is not installed"
	done
}

# ---- sandbox -----------------------------------------------------------------------

# hv_fetch_debian_daemon: print the path of Debian's hyperv-daemons .deb,
# downloading it once into $HV_CACHE_DIR (default: <build>/tests/integration/
# cache) with `apt-get download`. Never installs it (its postinst would start
# the service). Call it BEFORE hv_sandbox: the sandbox has no network.
hv_fetch_debian_daemon() {
	local cache=${HV_CACHE_DIR:-$top_builddir/tests/integration/cache} deb
	mkdir -p "$cache" || return 1
	deb=$(ls "$cache"/hyperv-daemons_*.deb 2>/dev/null | tail -n 1)
	if [ -z "$deb" ]; then
		(cd "$cache" && { apt-get download hyperv-daemons >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
			  apt-get download hyperv-daemons >/dev/null 2>&1; }; }) || return 1
		deb=$(ls "$cache"/hyperv-daemons_*.deb 2>/dev/null | tail -n 1)
	fi
	[ -n "$deb" ] || return 1
	echo "$deb"
}

# hv_sandbox "$@": run the rest of the test in a private mount + network
# namespace. The first call re-executes the calling test script under
# `unshare --mount --net --propagation private` (marker: HV_SANDBOXED=1), with
# the same arguments; inside, it sets up:
#   - HV_TMP: a fresh tmpfs work directory (logs, sockets, scratch files);
#   - a private /dev: a tmpfs with only null, zero, full, random, urandom, tty,
#     fuse, ptmx, net/tun (when present), pts (the host's devpts, so the
#     caller's terminal still works), shm (tmpfs), fd/stdin/stdout/stderr
#     links and log; then an empty /dev/vmbus for the emulator. The real /dev
#     (devtmpfs is shared with the host even in a private mount namespace) is
#     never written to.
#   - a tmpfs on /var/lib with an empty /var/lib/hyperv, so no test touches the
#     real pools; /var/lib/dpkg (read-only) and /var/lib/apt are bound back so
#     that apt-get download and dpkg -x keep working;
#   - a read-only sysfs of the new network namespace on /sys;
#   - loopback up;
#   - an EXIT trap (hv_cleanup) that stops every recorded pid and unmounts.
hv_sandbox() {
	if [ -z "${HV_SANDBOXED:-}" ]; then
		hv_require_cmd unshare mount umount ip
		[ -c /dev/fuse ] || hv_skip "no /dev/fuse (FUSE not available)"
		unshare --mount --net --propagation private true 2>/dev/null ||
			hv_skip "cannot create mount + network namespaces here"
		export HV_SANDBOXED=1
		exec unshare --mount --net --propagation private -- bash "$HV_TEST_SCRIPT" "$@"
	fi
	_hv_sandbox_setup
}

# hv_private_tmp: HV_TMP, a fresh tmpfs work directory (logs, sockets,
# scratch files) in this mount namespace, and the EXIT trap that stops
# everything and removes it.
hv_private_tmp() {
	HV_TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hvkvp-test.XXXXXX")
	HV_TMP=$HV_TMP_DIR
	mount -t tmpfs -o mode=0700 hvkvp-tmp "$HV_TMP" || hv_fail "cannot mount a tmpfs on $HV_TMP"
	export HV_TMP
	trap hv_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

_hv_sandbox_setup() {
	hv_private_tmp
	_hv_private_dev
	_hv_private_var_lib
	# a sysfs of this network namespace, so /sys/class/net shows its links;
	# read-only, as NetworkManager needs to manage links without udev
	mount -t sysfs -o ro hvkvp-sysfs /sys || hv_fail "cannot mount a private sysfs"
	ip link set lo up
	# /run is the host's: without this, hvkvpd (sd-bus, libnm) would ask the
	# host's system bus whether NetworkManager or networkd run, and talk to
	# them about links they cannot see; a test with its own bus exports its
	# own address
	export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$HV_TMP/no-system-bus"
	# nor the host's PID 1 on its private socket (hvkvpd asks it which
	# network managers are starting, and to bind a replaced resolv.conf)
	if [ -S /run/systemd/private ]; then
		mount --bind /dev/null /run/systemd/private || hv_fail "cannot hide /run/systemd/private"
	fi
	# nor the host's ifupdown configuration (the ifupdown backend would
	# claim a veth named like one of the machine's interfaces)
	# (test seams act only with HVKVPD_TEST_SEAMS=1, each only when its
	# variable is set)
	export HVKVPD_TEST_SEAMS=1
	export HVKVPD_TEST_IFUPDOWN_DIR=${HVKVPD_TEST_IFUPDOWN_DIR:-$HV_TMP/no-ifupdown}
}

_hv_private_dev() {
	local old=$HV_TMP/.host-dev n
	mkdir -p "$old"
	mount --rbind /dev "$old" || hv_fail "cannot bind the host's /dev"
	mount -t tmpfs -o mode=0755,nosuid hvkvp-dev /dev || hv_fail "cannot mount a tmpfs on /dev"
	for n in null zero full random urandom tty fuse ptmx net/tun; do
		[ -e "$old/$n" ] || continue
		mkdir -p "/dev/$(dirname "$n")"
		: >"/dev/$n"
		mount --bind "$old/$n" "/dev/$n" || hv_fail "cannot bind /dev/$n"
	done
	mkdir -p /dev/pts /dev/shm /dev/vmbus
	if mountpoint -q "$old/pts"; then
		mount --bind "$old/pts" /dev/pts
	fi
	mount -t tmpfs -o mode=1777,nosuid,nodev hvkvp-shm /dev/shm
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
	if [ -L "$old/log" ]; then
		cp -P "$old/log" /dev/log
	elif [ -S "$old/log" ]; then
		: >/dev/log
		mount --bind "$old/log" /dev/log
	fi
	umount -R "$old" 2>/dev/null || umount -R -l "$old"
	rmdir "$old"
}

_hv_private_var_lib() {
	local keep=$HV_TMP/.host-var-lib d
	mkdir -p "$keep"
	mount --bind /var/lib "$keep"
	mount -t tmpfs -o mode=0755 hvkvp-var-lib /var/lib || hv_fail "cannot mount a tmpfs on /var/lib"
	mkdir -p /var/lib/hyperv
	for d in dpkg apt; do
		[ -d "$keep/$d" ] || continue
		mkdir -p "/var/lib/$d"
		mount --bind "$keep/$d" "/var/lib/$d"
	done
	if [ -d /var/lib/dpkg ]; then
		mount -o remount,bind,ro /var/lib/dpkg 2>/dev/null || true
	fi
	umount -l "$keep"
	rmdir "$keep"
}

# hv_private_overlay DIR: make DIR writable inside the sandbox without
# touching the real one: an overlay with DIR as the lower layer and the upper
# layer in HV_TMP, so e.g. `mkdir /usr/libexec/hypervkvpd` or files written
# under /etc vanish when the test ends. Call after hv_sandbox.
hv_private_overlay() {
	local dir=$1 tag
	[ -n "$HV_TMP" ] || hv_fail "hv_private_overlay needs hv_sandbox first"
	[ -d "$dir" ] || hv_fail "hv_private_overlay: $dir is not a directory"
	tag=$(printf '%s' "$dir" | tr -c 'A-Za-z0-9' _)
	mkdir -p "$HV_TMP/.overlay/$tag/upper" "$HV_TMP/.overlay/$tag/work"
	mount -t overlay "hvkvp-overlay$tag" \
		-o "lowerdir=$dir,upperdir=$HV_TMP/.overlay/$tag/upper,workdir=$HV_TMP/.overlay/$tag/work" \
		"$dir" || hv_fail "cannot mount an overlay on $dir"
}

# hv_fetch_ifupdown: prints the path of Debian's ifupdown .deb, downloaded
# once into the build's cache (call before hv_sandbox: the sandbox has no
# network).
hv_fetch_ifupdown() {
	local cache=${HV_CACHE_DIR:-$top_builddir/tests/integration/cache} deb
	mkdir -p "$cache" || return 1
	deb=$(ls "$cache"/ifupdown_*.deb 2>/dev/null | tail -n 1)
	if [ -z "$deb" ]; then
		(cd "$cache" && { apt-get download ifupdown >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 && apt-get download ifupdown >/dev/null 2>&1; }; }) ||
			return 1
		deb=$(ls "$cache"/ifupdown_*.deb 2>/dev/null | tail -n 1)
	fi
	[ -n "$deb" ] || return 1
	echo "$deb"
}

# hv_ifupdown_root DEB DIR: Debian's ifupdown from DEB, unpacked (never
# installed), its ifup/ifdown first in PATH; DIR (made, with the package's
# if-*.d hooks) bind-mounted on /etc/network and exported for hvkvpd as
# HVKVPD_TEST_IFUPDOWN_DIR, so "source /etc/network/..." lines resolve the
# same for both; /run/network a tmpfs of the test's. Call after hv_sandbox
# and hv_private_overlay /etc.
hv_ifupdown_root() {
	local deb=$1 dir=$2
	dpkg -x "$deb" "$HV_TMP/ifupdown" || hv_fail "cannot unpack $deb"
	export PATH=$HV_TMP/ifupdown/sbin:$PATH
	mkdir -p /etc/network "$dir/interfaces.d"
	cp -a "$HV_TMP"/ifupdown/etc/network/if-*.d "$dir"/
	mount --bind "$dir" /etc/network
	[ -d /run/network ] || { hv_private_overlay /run; mkdir -p /run/network; }
	mount -t tmpfs -o mode=0755 hvkvp-run-network /run/network
	export HVKVPD_TEST_IFUPDOWN_DIR=$dir
}

# hv_cleanup: the EXIT trap. Stops every recorded pid (newest first), copies
# the sandbox's logs to $HV_LOG_DIR and, when the test failed, names them
# (the failing checks were already named by hv_check), unmounts and removes
# HV_TMP. Keeps the test's exit status.
hv_cleanup() {
	local rc=$? i f
	set +e
	trap - EXIT
	for ((i = ${#HV_PIDS[@]} - 1; i >= 0; i--)); do
		hv_stop "${HV_PIDS[i]}"
	done
	if [ -n "$HV_TMP" ] && [ -d "$HV_TMP" ]; then
		mkdir -p "$HV_LOG_DIR" && cp "$HV_TMP"/*.log "$HV_LOG_DIR"/ 2>/dev/null
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
			for f in "$HV_TMP"/*.log; do
				[ -s "$f" ] && echo "# log: $HV_LOG_DIR/$(basename "$f")" >&2
			done
		fi
	fi
	if mountpoint -q /dev/vmbus 2>/dev/null; then
		umount /dev/vmbus 2>/dev/null || umount -l /dev/vmbus
	fi
	if [ -n "${HV_TMP_DIR:-}" ]; then
		cd /
		umount -R "$HV_TMP_DIR" 2>/dev/null || umount -R -l "$HV_TMP_DIR"
		rmdir "$HV_TMP_DIR" 2>/dev/null
	fi
	exit "$rc"
}

# ---- processes ----------------------------------------------------------------------

# hv_track_pid PID: have hv_cleanup stop PID when the test exits.
hv_track_pid() {
	HV_PIDS+=("$1")
}

# hv_alive PID: true while PID exists and is not a zombie.
hv_alive() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# hv_stop PID: SIGTERM, wait up to 10 s, then SIGKILL; reaps it when it is
# our child and forgets it. Never signals anything but PID.
hv_stop() {
	local pid=$1 i keep=()
	[ -n "$pid" ] || return 0
	if hv_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			hv_alive "$pid" || break
			sleep 0.1
		done
		if hv_alive "$pid"; then
			echo "# pid $pid ignored SIGTERM for 10 s, sending SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
	for i in "${HV_PIDS[@]}"; do
		[ "$i" = "$pid" ] || keep+=("$i")
	done
	HV_PIDS=("${keep[@]}")
	return 0
}

# hv_wait PID [SECONDS]: wait (default 60 s) for PID, one of our background
# jobs, to exit; reap and forget it and return its exit status. When it
# overstays, stop it with hv_stop and return 124.
hv_wait() {
	local pid=$1 secs=${2:-60} i rc=0 keep=() parent
	# Only the shell that started PID can reap it: from inside $(...) the
	# final `wait` would fail or succeed depending on timing.
	parent=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || true
	if [ -n "$parent" ] && [ "$parent" != "$BASHPID" ]; then
		echo "hv_wait: pid $pid is not a child of this shell ($BASHPID); called inside \$(...)?" >&2
		return 2
	fi
	for ((i = 0; i < secs * 10; i++)); do
		hv_alive "$pid" || break
		sleep 0.1
	done
	if hv_alive "$pid"; then
		echo "# pid $pid still running after ${secs}s, stopping it" >&2
		hv_stop "$pid"
		return 124
	fi
	wait "$pid" || rc=$?
	for i in "${HV_PIDS[@]}"; do
		[ "$i" = "$pid" ] || keep+=("$i")
	done
	HV_PIDS=("${keep[@]}")
	return "$rc"
}

# hv_not CMD...: true when CMD fails. Unlike `! CMD`, which set -e never
# acts on, a CMD that succeeds stops the check there.
hv_not() {
	! "$@"
}

# hv_wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; false
# after SECONDS.
hv_wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# ---- the emulator --------------------------------------------------------------------

# hv_ctl ARGS...: `hvkvp-emu ctl --control $HV_TMP/emu.sock ARGS...` (JSON on
# stdout; exit 0 when the command ran, 1 when it could not, 2 usage).
hv_ctl() {
	timeout --kill-after=5 "${HV_CTL_TIMEOUT:-300}" \
		"$HV_EMU" ctl --control "$HV_TMP/emu.sock" "$@"
}

# hv_start_system_bus: a private system bus for the test (EXTERNAL auth,
# everything allowed) at $HV_TMP/bus, exported as DBUS_SYSTEM_BUS_ADDRESS
# for the managers under test, their tools and hvkvpd. $HV_TMP is opened to
# other users (0711) because networkd connects as systemd-network.
hv_start_system_bus() {
	chmod 0711 "$HV_TMP"
	cat >"$HV_TMP/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$HV_TMP/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
	dbus-daemon --config-file="$HV_TMP/bus.conf" --nofork --nopidfile \
		>>"$HV_TMP/dbus.log" 2>&1 </dev/null &
	hv_track_pid $!
	export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$HV_TMP/bus"
	hv_wait_for 10 test -S "$HV_TMP/bus" ||
		hv_fail "dbus-daemon did not create $HV_TMP/bus: $(tail -n 5 "$HV_TMP/dbus.log")"
}

# hv_start_emu [ARGS...]: start `hvkvp-emu serve --mount /dev/vmbus --control
# $HV_TMP/emu.sock ARGS...` in the background (log: $HV_TMP/emu.log), record
# HV_EMU_PID, and return once the control socket answers `status`.
hv_start_emu() {
	local i
	[ -x "$HV_EMU" ] || hv_skip "hvkvp-emu is not built (configure found no libfuse3?)"
	[ -n "$HV_TMP" ] || hv_fail "hv_start_emu needs hv_sandbox first"
	# a quiet host unless the test asks for the routine (--params/--poll
	# given later override it): the checks count what they send
	"$HV_EMU" serve --mount /dev/vmbus --control "$HV_TMP/emu.sock" --quiet-host "$@" \
		>>"$HV_TMP/emu.log" 2>&1 </dev/null &
	HV_EMU_PID=$!
	hv_track_pid "$HV_EMU_PID"
	for ((i = 0; i < 100; i++)); do
		if "$HV_EMU" ctl --control "$HV_TMP/emu.sock" status >/dev/null 2>&1; then
			return 0
		fi
		hv_alive "$HV_EMU_PID" || hv_fail "hvkvp-emu exited at start: $(tail -n 5 "$HV_TMP/emu.log")"
		sleep 0.1
	done
	hv_fail "hvkvp-emu did not answer on its control socket within 10 s"
}

# hv_stop_emu: stop the emulator started by hv_start_emu (it unmounts itself).
hv_stop_emu() {
	hv_stop "$HV_EMU_PID"
	HV_EMU_PID=
}

# hv_start_hvkvpd [ARGS...]: start `hvkvpd --device /dev/vmbus/hv_kvp
# --pool-dir /var/lib/hyperv ARGS...` in the background (stderr:
# $HV_TMP/hvkvpd.log), record HVKVPD_PID, and wait up to 10 s until it has
# registered with the emulator.
hv_start_hvkvpd() {
	[ -x "$HV_HVKVPD" ] || hv_skip "hvkvpd is not built"
	"$HV_HVKVPD" --device /dev/vmbus/hv_kvp --pool-dir /var/lib/hyperv "$@" \
		>>"$HV_TMP/hvkvpd.log" 2>&1 </dev/null &
	HVKVPD_PID=$!
	hv_track_pid "$HVKVPD_PID"
	if ! hv_ctl --wait 10 wait-registered >/dev/null; then
		hv_alive "$HVKVPD_PID" || hv_fail "hvkvpd exited: $(tail -n 5 "$HV_TMP/hvkvpd.log")"
		hv_fail "hvkvpd did not register within 10 s"
	fi
}

# ---- what the kernel holds --------------------------------------------------------------

# hv_addrs IF: IF's global addresses as "addr/plen", one per line, sorted.
hv_addrs() {
	ip -j addr show dev "$1" |
		jq -r '.[0].addr_info[] | select(.scope == "global") | "\(.local)/\(.prefixlen)"' | sort
}

# hv_default_routes IF [-4|-6]: the default routes of the main table that
# leave through IF (a nexthop of a multipath route counts), one "gateway
# metric protocol" per line, sorted; both families unless one is named.
hv_default_routes() {
	local fam
	for fam in ${2:--4 -6}; do
		ip -j "$fam" route show table main
	done | jq -r --arg dev "$1" '.[] | select(.dst == "default") | . as $r |
		(if .nexthops then .nexthops[] else . end) | select(.dev == $dev) |
		"\(.gateway // "-") \($r.metric // 0) \($r.protocol // "boot")"' | sort
}

# ---- what the host sends ------------------------------------------------------------------

# hv_set_ip ARGS...: one SET_IP_INFO (hvkvp-emu ctl set-ip-info ARGS); prints
# the JSON answer. Fails when the host got no answer, timed out, or (with
# HV_BUDGET_US set) was answered after that many microseconds. With
# HV_TIMES_FILE set, each answer's elapsed_us is appended to it.
hv_set_ip() {
	local out
	out=$(hv_ctl --wait 30 set-ip-info "$@") || { echo "set-ip-info $*: no answer: $out"; return 1; }
	[ -z "${HV_TIMES_FILE:-}" ] || hv_json "$out" .elapsed_us >>"$HV_TIMES_FILE"
	if ! hv_json_is "$out" .timeout false; then
		echo "set-ip-info $*: the host timed out"
		return 1
	fi
	if [ -n "${HV_BUDGET_US:-}" ] && [ "$(hv_json "$out" .elapsed_us)" -ge "$HV_BUDGET_US" ]; then
		echo "set-ip-info $*: answered after the reply budget: $out"
		return 1
	fi
	printf '%s\n' "$out"
}

# hv_expect_code CODE ARGS...: SET_IP_INFO with ARGS must answer CODE (a code_name).
hv_expect_code() {
	local want=$1 out
	shift
	out=$(hv_set_ip "$@") || { echo "$out"; return 1; }
	hv_json_is "$out" .code_name "$want" || return 1
	echo "SET -> $want in $(hv_json "$out" .elapsed_us) us"
}

# ---- assertions ------------------------------------------------------------------------

# hv_assert_eq WHAT EXPECTED ACTUAL: "ok - WHAT", or fail the test.
hv_assert_eq() {
	if [ "$2" = "$3" ]; then
		echo "ok - $1"
	else
		hv_fail "$1: expected '$2', got '$3'"
	fi
}

# hv_json JSON FILTER: print `jq -r FILTER` of JSON (fails on bad JSON).
hv_json() {
	printf '%s\n' "$1" | jq -r "$2"
}

# hv_json_is JSON FILTER EXPECTED: true when `jq -r FILTER` gives EXPECTED;
# otherwise says what it got on stderr and returns 1 (does not exit).
hv_json_is() {
	local got
	got=$(hv_json "$1" "$2" 2>&1) || { echo "jq $2 failed on: $1" >&2; return 1; }
	[ "$got" = "$3" ] && return 0
	echo "$2: expected '$3', got '$got' in: $1" >&2
	return 1
}

# hv_assert_json JSON FILTER EXPECTED [WHAT]: fail the test unless
# `jq -r FILTER` of JSON is EXPECTED.
hv_assert_json() {
	local got
	got=$(hv_json "$1" "$2") || hv_fail "${4:-$2}: not valid JSON: $1"
	hv_assert_eq "${4:-$2}" "$3" "$got"
}

# hv_check NAME CMD...: run CMD as one named check without stopping the test.
# CMD runs in a subshell of its own with `set -e` in force: the subshell is a
# plain statement here, not part of `$(...) &&`, `if` or `||`, where bash
# silently ignores set -e, so any failing step (a setup `ip addr add` as much
# as an assertion) fails the check. Pids the check records with hv_track_pid
# are stopped when it ends, so a failed check leaves nothing running behind
# it. The check's whole output goes to $HV_LOG_DIR/checks/NN-NAME.log; the
# console gets "ok - NAME", or "FAIL - NAME", the log's path and its last
# lines. Failures are counted for hv_checks_done.
hv_check() {
	local name=$1 i
	shift
	# HV_CHECK_ONLY=REGEX runs only the matching checks, HV_CHECK_REPEAT=N
	# runs each N times: the way to hunt a flaky check
	if [ -n "${HV_CHECK_ONLY:-}" ] && ! [[ $name =~ $HV_CHECK_ONLY ]]; then
		return 0
	fi
	for ((i = 0; i < ${HV_CHECK_REPEAT:-1}; i++)); do
		_hv_check_once "$name" "$@"
	done
}

_hv_check_once() {
	local name=$1 rc had_e=0 log slug
	shift
	HV_CHECK_COUNT=$((HV_CHECK_COUNT + 1))
	slug=$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' - | tr -s - | cut -c1-60)
	log=$HV_LOG_DIR/checks/$(printf '%02d' "$HV_CHECK_COUNT")-${slug%-}.log
	mkdir -p "$HV_LOG_DIR/checks"
	[[ $- == *e* ]] && had_e=1
	set +e
	(
		set -e
		_hv_check_outer_pids=("${HV_PIDS[@]}")
		trap '_hv_check_end $?' EXIT
		"$@"
	) >"$log" 2>&1 </dev/null
	rc=$?
	[ "$had_e" -eq 0 ] || set -e
	if [ "$rc" -eq 0 ]; then
		echo "ok - $name"
		if [ -n "${HV_VERBOSE:-}" ] && [ -s "$log" ]; then
			sed 's/^/    | /' "$log"
		fi
	else
		HV_CHECK_FAILURES=$((HV_CHECK_FAILURES + 1))
		HV_FAILED_CHECKS+=("$name")
		echo "FAIL - $name (exit $rc)"
		echo "    full log: $log"
		tail -n 20 "$log" | sed 's/^/    | /'
	fi
	return 0
}

# The EXIT trap of a check's subshell: stops what the check started and
# keeps its status.
_hv_check_end() {
	local rc=$1 p o mine
	set +e
	trap - EXIT
	for p in "${HV_PIDS[@]}"; do
		mine=1
		for o in "${_hv_check_outer_pids[@]}"; do
			[ "$o" = "$p" ] && mine=0
		done
		[ "$mine" -eq 0 ] || hv_stop "$p"
	done
	[ "$rc" -eq 0 ] || echo "# check failed with exit $rc" >&2
	exit "$rc"
}

# hv_checks_done: summary line; exit 1, naming the failed checks and where
# their logs are, if any hv_check failed.
hv_checks_done() {
	local n
	if [ "$HV_CHECK_FAILURES" -ne 0 ]; then
		for n in "${HV_FAILED_CHECKS[@]}"; do
			echo "FAILED CHECK: $n"
		done
		hv_fail "$HV_CHECK_FAILURES of $HV_CHECK_COUNT checks failed (logs: $HV_LOG_DIR/checks)"
	fi
	echo "all $HV_CHECK_COUNT checks passed"
}

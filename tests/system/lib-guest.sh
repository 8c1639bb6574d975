# SPDX-License-Identifier: GPL-2.0-or-later
# lib-guest.sh - booted Debian guests for the system tests: a bookworm rootfs
# built once by debootstrap (cached in the build tree), hvkvpd's Debian
# packages built once per source state, and systemd-nspawn boots of a
# throwaway copy with the emulated KVP device bound in as /dev/vmbus.
# shellcheck shell=bash disable=SC2034
#
# Usage, at the top of a bash test under tests/system/:
#
#   set -eu
#   . "$(dirname "$0")/lib-guest.sh"
#   sys_init "$@"              # root, tools, a private mount namespace, HV_TMP
#   sys_start_emu              # the emulated host, its device in $HV_TMP/vmbus
#   sys_guest_new g            # $HV_TMP/g: a copy of the cached rootfs
#   sys_boot g                 # systemd as PID 1 in it; GUEST_PID is that PID 1
#   guest systemctl ...        # run a command in the booted guest
#   sys_poweroff               # clean shutdown, waited for by pid
#
# The machine's own /etc, /var/lib/hyperv, interfaces and units are never
# touched: the guest has its own root and network namespace, and the
# emulator's FUSE mount lives in this test's private mount namespace.

# shellcheck source=tests/integration/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../integration" && pwd)/lib.sh"

SYS_CACHE=${HV_CACHE_DIR:-$top_builddir/tests/system/cache}
SYS_SUITE=bookworm
SYS_MIRROR=${HV_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What the guests need besides minbase: systemd as PID 1, D-Bus, udev,
# FUSE, the libraries hvkvpd links, and tools the checks use.
SYS_PACKAGES=systemd,systemd-sysv,dbus,udev,fuse3,libpam-systemd,libnl-3-200,libnl-route-3-200,libsystemd0,iproute2,procps
GUEST_PID=
SYS_NSPAWN_PID=
SYS_GUEST_DIR=

# _sys_locked CMD...: CMD under an exclusive lock of the cache, so that
# system tests running at the same time (run-tests.sh runs two lanes) build
# each cached rootfs and package once, the second waiting for the first.
_sys_locked() {
	local fd rc
	mkdir -p "$SYS_CACHE"
	exec {fd}>>"$SYS_CACHE/.lock"
	flock "$fd"
	"$@"
	rc=$?
	exec {fd}>&-
	return "$rc"
}

# sys_init "$@": skip unless root with debootstrap and systemd-nspawn; build
# or reuse the rootfs and fetch hyperv-daemons; then re-run the test in a
# private mount and network namespace with a tmpfs HV_TMP and the cleanup
# trap of lib.sh.
sys_init() {
	hv_require_root
	hv_require_cmd debootstrap systemd-nspawn nsenter unshare dpkg-deb jq
	[ -c /dev/fuse ] || hv_skip "no /dev/fuse (FUSE not available)"
	[ -x "$HV_EMU" ] || hv_skip "hvkvp-emu is not built (configure found no libfuse3?)"
	if [ -z "${HV_SANDBOXED:-}" ]; then
		# what needs the network (Debian's mirror) happens here, before the
		# private network namespace
		sys_rootfs || hv_fail "cannot build the guest rootfs (debootstrap: see $SYS_CACHE/debootstrap.log)"
		if [ -n "${SYS_VARIANT:-}" ]; then
			sys_rootfs_variant "$SYS_VARIANT" "$SYS_VARIANT_PACKAGES" ||
				hv_fail "cannot build the $SYS_VARIANT rootfs (see $SYS_CACHE/variant-$SYS_VARIANT.log)"
		fi
		sys_fetch_deb hyperv-daemons >/dev/null || echo "# cannot download hyperv-daemons" >&2
		export HV_SANDBOXED=1
		exec unshare --mount --net --propagation private -- bash "$HV_TEST_SCRIPT" "$@"
	fi
	hv_private_tmp
	# the host side of a guest's veth (--network-veth) lands here, never
	# among the machine's own interfaces
	ip link set lo up
}

# sys_rootfs: the cached bookworm rootfs ($SYS_CACHE/rootfs-$SYS_SUITE),
# built on first use (about 1-3 minutes, from Debian's mirror).
sys_rootfs() { _sys_locked _sys_rootfs "$@"; }
_sys_rootfs() {
	local dir=$SYS_CACHE/rootfs-$SYS_SUITE stamp
	stamp="$SYS_SUITE $SYS_PACKAGES"
	if [ -f "$dir/.hvkvp-stamp" ] && [ "$(cat "$dir/.hvkvp-stamp")" = "$stamp" ]; then
		return 0
	fi
	rm -rf "$dir" "$dir.new"
	mkdir -p "$SYS_CACHE"
	echo "# building the $SYS_SUITE guest rootfs (debootstrap, once)" >&2
	debootstrap --variant=minbase --include="$SYS_PACKAGES" "$SYS_SUITE" "$dir.new" "$SYS_MIRROR" \
		>"$SYS_CACHE/debootstrap.log" 2>&1 || return 1
	# no console login prompts, and a machine id for journald
	rm -f "$dir.new/etc/systemd/system/getty.target.wants/"* 2>/dev/null
	echo "$stamp" >"$dir.new/.hvkvp-stamp"
	mv "$dir.new" "$dir"
}

# sys_rootfs_variant NAME "PACKAGES": $SYS_CACHE/rootfs-$SYS_SUITE-NAME, the
# cached rootfs with more Debian packages installed by apt-get in an nspawn
# of a copy (no boot; the host's network, so call it before the private
# namespace: a test sets SYS_VARIANT and SYS_VARIANT_PACKAGES before
# sys_init). Their services stay as the packages enable them.
sys_rootfs_variant() { _sys_locked _sys_rootfs_variant "$@"; }
_sys_rootfs_variant() {
	local name=$1 pkgs=$2 dir stamp
	dir=$SYS_CACHE/rootfs-$SYS_SUITE-$name
	stamp="$SYS_SUITE $SYS_PACKAGES + $pkgs"
	if [ -f "$dir/.hvkvp-stamp" ] && [ "$(cat "$dir/.hvkvp-stamp")" = "$stamp" ]; then
		return 0
	fi
	rm -rf "$dir" "$dir.new"
	echo "# building the $name guest rootfs (apt-get install $pkgs, once)" >&2
	cp -a "$SYS_CACHE/rootfs-$SYS_SUITE" "$dir.new"
	# shellcheck disable=SC2086
	SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn --quiet --register=no --keep-unit -D "$dir.new" --pipe -E DEBIAN_FRONTEND=noninteractive \
		sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs && apt-get clean" \
		>"$SYS_CACHE/variant-$name.log" 2>&1 </dev/null || return 1
	echo "$stamp" >"$dir.new/.hvkvp-stamp"
	mv "$dir.new" "$dir"
}

# sys_fetch_deb NAME: path of Debian's NAME .deb in the cache (apt-get download).
sys_fetch_deb() { _sys_locked _sys_fetch_deb "$@"; }
_sys_fetch_deb() {
	local deb
	mkdir -p "$SYS_CACHE/debs"
	deb=$(ls "$SYS_CACHE/debs/$1"_*.deb 2>/dev/null | tail -n 1)
	if [ -z "$deb" ]; then
		(cd "$SYS_CACHE/debs" && { apt-get download "$1" >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 && apt-get download "$1" >/dev/null 2>&1; }; }) || return 1
		deb=$(ls "$SYS_CACHE/debs/$1"_*.deb 2>/dev/null | tail -n 1)
	fi
	[ -n "$deb" ] && echo "$deb"
}

# sys_build_debs: builds hvkvpd's own packages (dpkg-buildpackage, without
# the unit tests, which the test command runs elsewhere) from the source
# tree as it is, into $SYS_CACHE/hvkvpd-debs; reused while the sources that
# go into them are unchanged. Prints the directory.
sys_build_debs() { _sys_locked _sys_build_debs "$@"; }
_sys_build_debs() {
	local out=$SYS_CACHE/hvkvpd-debs key src
	key=$(cd "$top_srcdir" && find daemon systemd man debian configure.ac Makefile.am m4 \
		-type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
	if [ -f "$out/.key" ] && [ "$(cat "$out/.key")" = "$key" ] && ls "$out"/hvkvpd_*.deb >/dev/null 2>&1; then
		echo "$out"
		return 0
	fi
	rm -rf "$out" && mkdir -p "$out/src"
	src=$out/src/hvkvpd
	mkdir -p "$src"
	(cd "$top_srcdir" && tar -c --exclude=./build --exclude=./.git --exclude='./autom4te.cache' \
		--exclude='*.o' --exclude='*.a' --exclude='./config.status' --exclude='./Makefile' \
		--exclude='./config.h' --exclude='./config.log' -f - .) | tar -x -C "$src" || return 1
	(cd "$src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1) ||
		{ tail -n 30 "$out/build.log" >&2; return 1; }
	mv "$out/src/"*.deb "$out/"
	rm -rf "$out/src"
	echo "$key" >"$out/.key"
	echo "$out"
}

# sys_start_emu [ARGS...]: hvkvp-emu serving a device at $HV_TMP/vmbus/hv_kvp
# (control socket $HV_TMP/emu.sock, log $HV_TMP/emu.log).
sys_start_emu() {
	local i
	mkdir -p "$HV_TMP/vmbus"
	"$HV_EMU" serve --mount "$HV_TMP/vmbus" --control "$HV_TMP/emu.sock" "$@" \
		>>"$HV_TMP/emu.log" 2>&1 </dev/null &
	HV_EMU_PID=$!
	hv_track_pid "$HV_EMU_PID"
	for ((i = 0; i < 100; i++)); do
		hv_ctl status >/dev/null 2>&1 && return 0
		hv_alive "$HV_EMU_PID" || hv_fail "hvkvp-emu exited at start: $(tail -n 5 "$HV_TMP/emu.log")"
		sleep 0.1
	done
	hv_fail "hvkvp-emu did not answer on its control socket within 10 s"
}

# sys_guest_new NAME [VARIANT]: $HV_TMP/NAME, a fresh copy of the cached
# rootfs (or of its VARIANT, see sys_rootfs_variant).
sys_guest_new() {
	SYS_GUEST_DIR=$HV_TMP/$1
	cp -a "$SYS_CACHE/rootfs-$SYS_SUITE${2:+-$2}" "$SYS_GUEST_DIR"
}

# sys_boot [NAME]: boots the guest (default: the last sys_guest_new) under
# systemd-nspawn with its own network namespace and the emulator's device
# as /dev/vmbus (SYS_VMBUS: another emulator's directory); returns once systemd in it reports running (or degraded,
# which the caller checks). SYS_NSPAWN_EXTRA: more nspawn options (e.g.
# --network-veth); SYS_NSPAWN_NET: the network option in place of
# --private-network (e.g. --network-namespace-path=FILE). Log: $HV_TMP/nspawn-N.log.
SYS_BOOTS=0
sys_boot() {
	local dir=${1:+$HV_TMP/$1} i state
	dir=${dir:-$SYS_GUEST_DIR}
	SYS_BOOTS=$((SYS_BOOTS + 1))
	SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn --register=no --keep-unit --quiet \
		-D "$dir" --boot ${SYS_NSPAWN_NET:---private-network} ${SYS_NSPAWN_EXTRA:-} --bind=/dev/fuse --bind="${SYS_VMBUS:-$HV_TMP/vmbus}:/dev/vmbus" \
		>"$HV_TMP/nspawn-$SYS_BOOTS.log" 2>&1 </dev/null &
	SYS_NSPAWN_PID=$!
	hv_track_pid "$SYS_NSPAWN_PID"
	GUEST_PID=
	for ((i = 0; i < 300; i++)); do
		GUEST_PID=$(ps -o pid= --ppid "$SYS_NSPAWN_PID" 2>/dev/null | head -n 1 | tr -d ' ')
		[ -n "$GUEST_PID" ] && [ "$(cat "/proc/$GUEST_PID/comm" 2>/dev/null)" = systemd ] && break
		hv_alive "$SYS_NSPAWN_PID" || hv_fail "systemd-nspawn exited: $(tail -n 5 "$HV_TMP/nspawn-$SYS_BOOTS.log")"
		sleep 0.1
	done
	[ -n "$GUEST_PID" ] || hv_fail "no systemd in the guest after 30 s"
	# --wait needs the guest's bus, which comes up during boot: ask again
	# until systemd answers with a final state
	for ((i = 0; i < 900; i++)); do
		state=$(timeout 90 nsenter -t "$GUEST_PID" -a systemctl is-system-running --wait 2>/dev/null) || true
		case $state in
		running | degraded) break ;;
		esac
		hv_alive "$SYS_NSPAWN_PID" || hv_fail "systemd-nspawn exited: $(tail -n 5 "$HV_TMP/nspawn-$SYS_BOOTS.log")"
		sleep 0.1
	done
	case $state in
	running | degraded) echo "# guest booted ($state), PID 1 is $GUEST_PID" ;;
	*) hv_fail "the guest did not finish booting: '$state'" ;;
	esac
}

# guest CMD...: runs CMD in the booted guest (all its namespaces).
guest() {
	nsenter -t "$GUEST_PID" -a "$@"
}

# sys_poweroff: powers the guest off and waits (30 s) for systemd-nspawn to
# exit, then stops it by pid if it did not. Call it, like sys_boot and
# sys_reboot, at the top level of the test, not inside a check: the guest's
# pids must outlive the check's subshell.
sys_poweroff() {
	local i
	[ -n "$SYS_NSPAWN_PID" ] || return 0
	guest systemctl poweroff >/dev/null 2>&1 || true
	for ((i = 0; i < 300; i++)); do
		hv_alive "$SYS_NSPAWN_PID" || break
		sleep 0.1
	done
	hv_stop "$SYS_NSPAWN_PID"
	SYS_NSPAWN_PID= GUEST_PID=
}

# sys_reboot: what a reboot is to the guest's disk: power off, boot again.
sys_reboot() {
	sys_poweroff
	sys_boot
}

# sys_holder: the command name of the guest process that holds
# /dev/vmbus/hv_kvp open (as LISA looks for it: in /proc/PID/fd), or nothing.
sys_holder() {
	guest bash -c 'for f in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = /dev/vmbus/hv_kvp ] || continue
		f=${f#/proc/}; cat "/proc/${f%%/*}/comm"; break
	done'
}

# sys_unit UNIT PROPERTY...: the unit's properties in the guest, "P=V" lines.
sys_unit() {
	local u=$1
	shift
	guest systemctl show "$u" "${@/#/-p}"
}

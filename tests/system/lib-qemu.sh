# SPDX-License-Identifier: GPL-2.0-or-later
# lib-qemu.sh - a QEMU (TCG) guest with a real kernel, real udev and a real
# character device /dev/vmbus/hv_kvp, for the system tests.
# shellcheck shell=bash disable=SC2034
#
# Usage, at the top of a bash test under tests/system/:
#
#   set -eu
#   . "$(dirname "$0")/lib-qemu.sh"
#   qemu_init "$@"             # root, tools, the cached image, HV_TMP
#   qemu_overlay a             # $HV_TMP/a.qcow2: a fresh disk on the image
#   qemu_boot a                # boots it; returns when systemd is up
#   vm systemctl ...           # runs a command in the guest, its status back
#   qemu_poweroff              # clean shutdown, QEMU waited for by pid
#
# What is built, and cached in the build tree ($SYS_CACHE, as lib-guest.sh):
#
#   rootfs-bookworm-kernel/  the debootstrap rootfs of lib-guest.sh (copied,
#                            never changed) plus Debian's linux-image-amd64,
#                            linux-headers-amd64, gcc/make and
#                            qemu-guest-agent, installed with apt-get in a
#                            systemd-nspawn of the copy (network: Debian's
#                            mirror only). Keyed on the rootfs and the list.
#   qemu-image/disk.raw      an ext4 image (mkfs.ext4 -d) of a copy of that,
#                            with the test module (tests/system/kmod) built
#                            in a systemd-nspawn of the copy against the
#                            guest's own headers (not under TCG) and installed
#                            in /lib/modules/VERSION/extra, our hvkvp-emu .deb
#                            and Debian's hyperv-daemons .deb installed, our
#                            hvkvpd .deb in /root/debs (the tests install
#                            it), the guest's vmlinuz and initrd
#                            beside it. Keyed on the kernel rootfs, the kmod
#                            sources, the .debs and the functions that
#                            build it. scripts/run-tests.sh builds it ahead
#                            of the tests (HV_QEMU_PREPARE_ONLY=1).
#
# How the guest maps to a Hyper-V guest:
#
#   kernel side    hv_kvp_test.ko (tests/system/kmod) registers the misc
#                  device "vmbus/hv_kvp" as hv_utils does, so udev sees
#                  SUBSYSTEM=misc, KERNEL=vmbus/hv_kvp, the node
#                  /dev/vmbus/hv_kvp (0600 root, the kernel's default, which
#                  is what systemd/70-hvkvpd.rules expects: it sets no
#                  MODE) and the device unit
#                  sys-devices-virtual-misc-vmbus\x21hv_kvp.device that the
#                  shipped rule tags. That device has hv_utils_transport.c's
#                  semantics (single opener, one whole message per read,
#                  writes of another size refused, poll, reset on close).
#                  The module also registers /dev/hvkvp_host, the other
#                  end: it relays the daemon's open/close/read/write to user
#                  space and takes the host's messages and write verdicts.
#   host side      hvkvp-emu serve --kdev /dev/hvkvp_host, in the guest,
#                  plays hv_kvp.c (the REGISTER1 handshake, one transaction
#                  at a time, the 30 s deadline HV_UTIL_TIMEOUT, the reset
#                  on close) with the same code as its FUSE mode, and the
#                  Hyper-V host behind it: the same control socket, so
#                  `hvkvp-emu ctl --control /run/hvkvp-emu.sock ...` in the
#                  guest is what hv_ctl is to the other tests. The 30 s
#                  deadline therefore lives in user space, in emu-host.c's
#                  timer (hvkvp-emu --timeout), as in the FUSE mode; the
#                  module knows no host transactions and only bounds, at
#                  60 s, how long a daemon's write() waits for any host to
#                  answer it (then EIO). The unit
#                  hvkvp-emu-kdev.service in the image loads the module and
#                  starts it; enabling it makes the device appear at boot.
#
# Boots: qemu-system-x86_64 -accel tcg,thread=multi -cpu max (no KVM: the
# CPU has no VT-x), -kernel/-initrd from the image, root=/dev/vda on a
# virtio disk that is a qcow2 overlay in HV_TMP over the cached raw image
# (every overlay starts from the image; an overlay keeps its state across
# its reboots), no network backend, a serial console logged to
# $HV_TMP/console-N.log, and qemu-guest-agent on a virtio-serial port:
# `vm CMD...` runs CMD through guest-exec and returns its exit status and
# output. QEMU is always stopped by its pid.

# shellcheck source=tests/system/lib-guest.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib-guest.sh"

QEMU_KERNEL_PACKAGES="linux-image-amd64 linux-headers-amd64 make gcc qemu-guest-agent kmod initramfs-tools"
QEMU_PID=
QEMU_BOOTS=0
QEMU_DISK=
QEMU_MEM=${HV_QEMU_MEM:-1024}
QEMU_SMP=${HV_QEMU_SMP:-2}
# the guest's control socket of hvkvp-emu
QEMU_EMU_SOCK=/run/hvkvp-emu.sock

# _qemu_nspawn DIR CMD...: runs CMD in a systemd-nspawn of DIR (not booted;
# the machine's network, for apt-get).
_qemu_nspawn() {
	local dir=$1
	shift
	SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn --register=no --keep-unit --quiet \
		--resolv-conf=copy-host -D "$dir" -E DEBIAN_FRONTEND=noninteractive "$@"
}

_qemu_initramfs_hook() {
	cat <<'HOOK'
#!/bin/sh
# the QEMU test guest's root disk: virtio, ext4
case $1 in prereqs) exit 0 ;; esac
. /usr/share/initramfs-tools/hook-functions
manual_add_modules virtio_pci virtio_blk ext4 crc32c_generic
HOOK
}

# qemu_kernel_rootfs: $SYS_CACHE/rootfs-$SYS_SUITE-kernel, the rootfs with
# the kernel, its headers and the guest agent (apt-get, about 2 minutes once).
qemu_kernel_rootfs() {
	local dir=$SYS_CACHE/rootfs-$SYS_SUITE-kernel stamp
	stamp="$(cat "$SYS_CACHE/rootfs-$SYS_SUITE/.hvkvp-stamp") + $QEMU_KERNEL_PACKAGES $(_qemu_initramfs_hook | sha256sum | cut -c1-8)"
	if [ -f "$dir/.hvkvp-stamp" ] && [ "$(cat "$dir/.hvkvp-stamp")" = "$stamp" ]; then
		return 0
	fi
	rm -rf "$dir" "$dir.new"
	echo "# building the kernel rootfs (apt-get in a copy of the $SYS_SUITE rootfs, once)" >&2
	cp -a "$SYS_CACHE/rootfs-$SYS_SUITE" "$dir.new"
	# a small initrd: what a virtio root disk needs, not every block
	# driver (MODULES=most); quicker to make and to unpack under TCG
	mkdir -p "$dir.new/etc/initramfs-tools/conf.d" "$dir.new/etc/initramfs-tools/hooks"
	echo MODULES=list >"$dir.new/etc/initramfs-tools/conf.d/hvkvp-qemu.conf"
	_qemu_initramfs_hook >"$dir.new/etc/initramfs-tools/hooks/hvkvp-qemu"
	chmod 0755 "$dir.new/etc/initramfs-tools/hooks/hvkvp-qemu"
	# shellcheck disable=SC2086
	_qemu_nspawn "$dir.new" sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $QEMU_KERNEL_PACKAGES && apt-get clean" \
		>"$SYS_CACHE/kernel-rootfs.log" 2>&1 || { tail -n 20 "$SYS_CACHE/kernel-rootfs.log" >&2; return 1; }
	ls "$dir.new"/boot/vmlinuz-* "$dir.new"/boot/initrd.img-* >/dev/null || return 1
	echo "$stamp" >"$dir.new/.hvkvp-stamp"
	mv "$dir.new" "$dir"
}

# The emulated host's unit in the image: loads the test module (the device
# appears, udev runs the rules for it) and serves its host end. Enabled, it
# does so early at every boot, as hv_utils is loaded at coldplug on Hyper-V.
_qemu_emu_unit() {
	cat <<'UNIT'
[Unit]
Description=TEST ONLY: hvkvp-emu playing the Hyper-V host for hv_kvp_test.ko
DefaultDependencies=no
After=systemd-udevd.service
Before=sysinit.target shutdown.target
Conflicts=shutdown.target

[Service]
ExecStartPre=/sbin/modprobe hv_kvp_test
ExecStart=/usr/bin/hvkvp-emu serve --kdev /dev/hvkvp_host --control /run/hvkvp-emu.sock
# the device goes away with the host (fails while a daemon holds it)
ExecStopPost=-/sbin/rmmod hv_kvp_test

[Install]
WantedBy=sysinit.target
UNIT
}

# qemu_image DEBS_DIR HYPERV_DAEMONS_DEB: $SYS_CACHE/qemu-image (disk.raw,
# vmlinuz, initrd.img), rebuilt when an input changed. Prints the directory.
qemu_image() {
	local debs=$1 hvd=$2 out=$SYS_CACHE/qemu-image key work kver size
	key=$( {
		cat "$SYS_CACHE/rootfs-$SYS_SUITE-kernel/.hvkvp-stamp" "$debs/.key"
		basename "$hvd"
		cat "$top_srcdir"/tests/system/kmod/*
		declare -f qemu_image _qemu_emu_unit
	} | sha256sum | cut -c1-16)
	if [ -f "$out/.key" ] && [ "$(cat "$out/.key")" = "$key" ] && [ -f "$out/disk.raw" ]; then
		echo "$out"
		return 0
	fi
	echo "# building the QEMU guest image (module, hvkvp-emu, packages)" >&2
	rm -rf "$out" && mkdir -p "$out"
	work=$out/root
	cp -a "$SYS_CACHE/rootfs-$SYS_SUITE-kernel" "$work"
	rm -f "$work/.hvkvp-stamp"
	kver=$(basename "$(ls -d "$work"/lib/modules/*/ | tail -n 1)")
	# the module, built against the guest's headers in a container of it
	mkdir -p "$work/root/kmod"
	cp "$top_srcdir"/tests/system/kmod/* "$work/root/kmod/"
	cp "$(ls "$debs"/hvkvp-emu_*.deb | tail -n 1)" "$work/root/hvkvp-emu.deb"
	cp "$hvd" "$work/root/hyperv-daemons.deb"
	# hyperv-daemons installed as in a distribution's image, its
	# maintainer scripts kept from starting anything here (policy-rc.d)
	printf '#!/bin/sh
exit 101
' >"$work/usr/sbin/policy-rc.d"
	chmod 0755 "$work/usr/sbin/policy-rc.d"
	_qemu_nspawn "$work" sh -c "make -C /root/kmod KDIR=/lib/modules/$kver/build &&
		install -D -m 0644 /root/kmod/hv_kvp_test.ko /lib/modules/$kver/extra/hv_kvp_test.ko &&
		depmod $kver && dpkg -i /root/hvkvp-emu.deb /root/hyperv-daemons.deb" \
		>"$out/build.log" 2>&1 || { tail -n 30 "$out/build.log" >&2; return 1; }
	# no package lists: apt-get in the guest (remove) then reads only
	# dpkg's status, not all of Debian, which costs half a minute under TCG
	rm -rf "$work/root/kmod" "$work/root/hvkvp-emu.deb" "$work/root/hyperv-daemons.deb" \
		"$work/usr/sbin/policy-rc.d" "$work"/usr/src/linux-headers-* \
		"$work"/var/cache/apt/*.bin "$work"/var/lib/apt/lists/*
	# what every first boot of a fresh overlay would otherwise do or wait for
	_qemu_nspawn "$work" systemctl mask e2scrub_reap.service e2scrub_all.timer \
		>>"$out/build.log" 2>&1 || { tail -n 10 "$out/build.log" >&2; return 1; }
	mkdir -p "$work/root/debs"
	cp "$debs"/hvkvpd_*.deb "$work/root/debs/"
	_qemu_emu_unit >"$work/etc/systemd/system/hvkvp-emu-kdev.service"
	# the only test drop-in: QEMU is not Hyper-V
	mkdir -p "$work/etc/systemd/system/hvkvpd.service.d"
	printf '[Unit]\nConditionVirtualization=\n' >"$work/etc/systemd/system/hvkvpd.service.d/test.conf"
	echo hvkvp-qemu >"$work/etc/hostname"
	# the agent logs every command it runs: to its own file, not the journal
	mkdir -p "$work/etc/qemu"
	printf '[general]\nlogfile=/var/log/qemu-ga.log\n' >"$work/etc/qemu/qemu-ga.conf"
	# a persistent journal: the checks read what earlier boots logged
	mkdir -p "$work/var/log/journal"
	cp "$work/boot/vmlinuz-$kver" "$out/vmlinuz"
	cp "$work/boot/initrd.img-$kver" "$out/initrd.img"
	size=$(( $(du -sm "$work" | cut -f1) + 1024 ))
	mkfs.ext4 -q -L root -d "$work" "$out/disk.raw" "${size}M" >>"$out/build.log" 2>&1 ||
		{ tail -n 5 "$out/build.log" >&2; return 1; }
	rm -rf "$work"
	echo "$key" >"$out/.key"
	echo "$out"
}

# The guest agent client: python3 QGA.py SOCKET TIMEOUT ping | exec CMD...
# | shutdown. exec prints the command's stdout and stderr and exits with
# its status (128+N for a signal, 124 when TIMEOUT ran out, 125 when the
# agent could not be reached or refused).
_qemu_qga_py() {
	cat <<'PY'
import base64, json, os, socket, sys, time

path, timeout, what = sys.argv[1], float(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + timeout

def fail(msg, code=125):
    sys.stderr.write("qga: %s\n" % msg)
    sys.exit(code)

try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(max(1.0, min(timeout, 10.0)))
    s.connect(path)
except OSError as e:
    fail("connect %s: %s" % (path, e))
buf = b""

def send(obj):
    s.sendall(json.dumps(obj).encode() + b"\n")

def recv():
    global buf
    while True:
        i = buf.find(b"\n")
        if i >= 0:
            line, buf = buf[:i].strip(b"\xff \r"), buf[i + 1:]
            if not line:
                continue
            try:
                return json.loads(line)
            except ValueError:
                continue
        if time.monotonic() > deadline:
            fail("no answer from the agent", 124)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            fail("the agent closed the connection")
        buf += chunk

def call(cmd, args=None):
    send({"execute": cmd, "arguments": args or {}})
    while True:
        r = recv()
        if "error" in r:
            fail("%s: %s" % (cmd, r["error"].get("desc", r["error"])))
        if "return" in r:
            return r["return"]

# drop whatever an earlier, interrupted client left in the channel
sync_id = int.from_bytes(os.urandom(4), "little") & 0x7fffffff
s.sendall(b"\xff")
send({"execute": "guest-sync-delimited", "arguments": {"id": sync_id}})
while True:
    r = recv()
    if r.get("return") == sync_id:
        break

if what == "ping":
    call("guest-ping")
    sys.exit(0)
if what == "shutdown":
    send({"execute": "guest-shutdown", "arguments": {"mode": "powerdown"}})
    sys.exit(0)
argv = sys.argv[4:]
pid = call("guest-exec", {"path": argv[0], "arg": argv[1:], "capture-output": True})["pid"]
while True:
    st = call("guest-exec-status", {"pid": pid})
    if st.get("exited"):
        break
    if time.monotonic() > deadline:
        fail("%s still running after %gs" % (argv[0], timeout), 124)
    time.sleep(0.05)
sys.stdout.buffer.write(base64.b64decode(st.get("out-data", "")))
sys.stdout.flush()
sys.stderr.buffer.write(base64.b64decode(st.get("err-data", "")))
if "signal" in st:
    sys.exit(128 + st["signal"])
sys.exit(st.get("exitcode", 125))
PY
}

# qemu_init "$@": skip unless root with QEMU and the tools that build the
# image; build or reuse the rootfs, the packages and the image (the steps
# that need Debian's mirror), then re-run the test in a private mount and
# network namespace with a tmpfs HV_TMP and the cleanup trap of lib.sh.
qemu_init() {
	hv_require_root
	hv_require_cmd qemu-system-x86_64 qemu-img mkfs.ext4 python3 debootstrap systemd-nspawn \
		dpkg-buildpackage dpkg-deb unshare jq
	if [ -z "${HV_SANDBOXED:-}" ]; then
		local debs hvd t0=$SECONDS t
		sys_rootfs || hv_fail "cannot build the guest rootfs (debootstrap: see $SYS_CACHE/debootstrap.log)"
		hvd=$(sys_fetch_deb hyperv-daemons) || hv_fail "cannot download hyperv-daemons"
		t=$SECONDS
		debs=$(sys_build_debs) || hv_fail "dpkg-buildpackage failed"
		echo "# rootfs and packages (shared with test-package.sh): $((SECONDS - t0)) s"
		t=$SECONDS
		qemu_kernel_rootfs || hv_fail "cannot install the kernel into the rootfs (see $SYS_CACHE/kernel-rootfs.log)"
		echo "# kernel rootfs: $((SECONDS - t)) s"
		t=$SECONDS
		QEMU_IMAGE=$(qemu_image "$debs" "$hvd") || hv_fail "cannot build the QEMU image"
		echo "# image: $((SECONDS - t)) s"
		echo "# image ready in $((SECONDS - t0)) s: $QEMU_IMAGE"
		# scripts/run-tests.sh builds the image ahead of the tests, outside
		# the per-test time limit of run.sh
		[ -z "${HV_QEMU_PREPARE_ONLY:-}" ] || exit 0
		export QEMU_IMAGE HV_SANDBOXED=1
		exec unshare --mount --net --propagation private -- bash "$HV_TEST_SCRIPT" "$@"
	fi
	hv_private_tmp
	_qemu_qga_py >"$HV_TMP/qga.py"
}

# qemu_overlay NAME: $HV_TMP/NAME.qcow2, a fresh disk over the cached image
# (what the guest writes stays there, across reboots of that overlay).
qemu_overlay() {
	qemu-img create -q -f qcow2 -F raw -b "$QEMU_IMAGE/disk.raw" "$HV_TMP/$1.qcow2"
	QEMU_DISK=$HV_TMP/$1.qcow2
}

# qemu_boot [NAME]: boots the overlay NAME (default: the last one) and
# returns once the agent answers and systemd reports running or degraded.
# Console: $HV_TMP/console-N.log. Call at the top level of the test, not
# in a check (QEMU's pid must outlive the check's subshell).
# shellcheck disable=SC2120
qemu_boot() {
	local disk=${1:+$HV_TMP/$1.qcow2} i state t0=$SECONDS
	disk=${disk:-$QEMU_DISK}
	QEMU_BOOTS=$((QEMU_BOOTS + 1))
	rm -f "$HV_TMP/qga.sock"
	qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m "$QEMU_MEM" -smp "$QEMU_SMP" \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$QEMU_IMAGE/vmlinuz" -initrd "$QEMU_IMAGE/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0 panic=-1 quiet mitigations=off systemd.show_status=0" \
		-drive "file=$disk,if=virtio,format=qcow2,cache=unsafe" \
		-serial "file:$HV_TMP/console-$QEMU_BOOTS.log" \
		-chardev "socket,id=qga0,path=$HV_TMP/qga.sock,server=on,wait=off" \
		-device virtio-serial-pci -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
		-nic none >"$HV_TMP/qemu-$QEMU_BOOTS.log" 2>&1 </dev/null &
	QEMU_PID=$!
	hv_track_pid "$QEMU_PID"
	for ((i = 0; i < 1800; i++)); do
		[ -S "$HV_TMP/qga.sock" ] && python3 "$HV_TMP/qga.py" "$HV_TMP/qga.sock" 3 ping 2>/dev/null && break
		hv_alive "$QEMU_PID" || hv_fail "QEMU exited: $(tail -n 5 "$HV_TMP/qemu-$QEMU_BOOTS.log" "$HV_TMP/console-$QEMU_BOOTS.log")"
		sleep 0.2
	done
	state=$(vm_t 300 systemctl is-system-running --wait) || true
	case $state in
	running | degraded) echo "# guest booted ($state) in $((SECONDS - t0)) s, QEMU pid $QEMU_PID" ;;
	*) hv_fail "the guest did not finish booting: '$state' (console: $HV_TMP/console-$QEMU_BOOTS.log)" ;;
	esac
}

# vm CMD...: runs CMD in the guest (through the agent, as root), with its
# stdout, stderr and exit status; at most HV_VM_TIMEOUT (120) seconds.
# vm_t SECONDS CMD...: the same with its own limit.
vm() {
	vm_t "${HV_VM_TIMEOUT:-120}" "$@"
}
vm_t() {
	local t=$1
	shift
	python3 "$HV_TMP/qga.py" "$HV_TMP/qga.sock" "$t" exec "$@"
}

# qemu_poweroff: a clean shutdown (the agent's powerdown), QEMU waited for
# 90 s and then stopped by its pid.
qemu_poweroff() {
	local i
	[ -n "$QEMU_PID" ] || return 0
	python3 "$HV_TMP/qga.py" "$HV_TMP/qga.sock" 10 shutdown >/dev/null 2>&1 || true
	for ((i = 0; i < 900; i++)); do
		hv_alive "$QEMU_PID" || break
		sleep 0.1
	done
	if hv_alive "$QEMU_PID"; then
		echo "# the guest did not power off within 90 s; stopping QEMU" >&2
	else
		echo "# guest powered off in $((i / 10)) s"
	fi
	hv_stop "$QEMU_PID"
	QEMU_PID=
}

# qemu_reboot: power off and boot the same overlay again.
qemu_reboot() {
	qemu_poweroff
	qemu_boot
}

# vm_holder: the command name of the guest process holding
# /dev/vmbus/hv_kvp open (as LISA looks for it, in /proc/PID/fd), or nothing.
vm_holder() {
	# shellcheck disable=SC2016
	vm sh -c 'd=$(find /proc/[0-9]*/fd -maxdepth 1 -lname /dev/vmbus/hv_kvp -printf "%h\n" 2>/dev/null | head -n 1)
		[ -z "$d" ] || cat "${d%/fd}/comm"'
}

# vm_ctl ARGS...: `hvkvp-emu ctl` against the guest's emulator.
vm_ctl() {
	vm hvkvp-emu ctl --control "$QEMU_EMU_SOCK" "$@"
}

# vm_unit UNIT PROPERTY...: the unit's properties in the guest, "P=V" lines.
vm_unit() {
	local u=$1
	shift
	vm systemctl show "$u" "${@/#/-p}"
}

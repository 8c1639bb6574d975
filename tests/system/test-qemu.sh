#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-qemu.sh - hvkvpd's Debian package in a QEMU (TCG) guest with a real
# kernel, real udev and a real character device /dev/vmbus/hv_kvp (the
# test module tests/system/kmod, see lib-qemu.sh): udev starts the unit
# when the device appears, no device means no start and no failure, a
# start before the device waits, the device policy is enforced and lets
# the daemon in, and at a udev-driven boot hvkvpd takes the device over
# from Debian's hyperv-daemons and gives it back when removed.
#
# The unit and the udev rule are the package's, unchanged; the one test
# drop-in (in the image) clears ConditionVirtualization=, QEMU not being
# Hyper-V. Three boots of one disk: the first has hyperv-daemons (in the
# image), installs hvkvpd and moves the device in and out by loading the
# module; the second is a udev-driven boot with both installed; the third
# follows the removal of hvkvpd.
set -eu
. "$(dirname "$0")/lib-qemu.sh"
qemu_init "$@"

T_START=$SECONDS
scenario_start() {
	T_SCENARIO=$SECONDS
	echo "# ---- $1"
}
scenario_end() {
	echo "# scenario '$1': $((SECONDS - T_SCENARIO)) s"
}

# not CMD...: fails when CMD succeeds ("! CMD" would not trip set -e)
not() {
	if "$@"; then return 1; fi
}

# check NAME FUNC: hv_check, and the check's wall time
check() {
	local t=$SECONDS
	hv_check "$@"
	echo "#   ($((SECONDS - t)) s)"
}

# the guest's journal cursor now, for "what was logged since"
cursor() {
	vm journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p'
}
# journal lines about hvkvpd since CURSOR that report a failure
hvkvpd_failures() {
	vm journalctl --no-pager -o short ${1:+--after-cursor="$1"} | grep -v ' qemu-ga\[' |
		grep -iE '(hvkvpd|hypervkvpd)' | grep -iE "failed|failure|couldn't|error|denied|not permitted" || true
}
pool_has() { # POOL KEY VALUE: the guest's pool file holds the record
	# record by record (512-byte key, 2048-byte value): hv_kvp_daemon
	# leaves whatever was in memory after a value's NUL
	vm sh -c 'f=/var/lib/hyperv/.kvp_pool_$1 i=0
		n=$(( $(stat -c %s "$f") / 2560 ))
		while [ "$i" -lt "$n" ]; do
			k=$(dd if="$f" bs=2560 skip="$i" count=1 2>/dev/null | head -c 512 | tr "\000" "\n" | head -n 1)
			v=$(dd if="$f" bs=2560 skip="$i" count=1 2>/dev/null | tail -c 2048 | tr "\000" "\n" | head -n 1)
			[ "$k" = "$2" ] && [ "$v" = "$3" ] && exit 0
			i=$((i + 1))
		done
		exit 1' sh "$@"
}
ctl_ok() { # ctl ARGS: the host's request got HV_S_OK
	vm_ctl --wait 30 "$@" | tee /dev/stderr | jq -e '.code_name == "HV_S_OK"' >/dev/null
}

# ==== boot 1: hyperv-daemons, then hvkvpd; the device comes and goes ===========
scenario_start "boot 1: no device, by hand, udev, policy, round trip"
qemu_overlay g
qemu_boot g
vm systemd-analyze || true
vm sh -c "systemd-analyze blame | head -n 8" || true

check_hyperv_daemons() {
	# installed in the image, as in a distribution's Hyper-V image
	vm dpkg-query -W hyperv-daemons
	vm systemctl is-enabled hv-kvp-daemon.service >"$HV_TMP/kvp.enabled" || true
	cat "$HV_TMP/kvp.enabled"
	vm_unit hv-vss-daemon.service UnitFileState DropInPaths >"$HV_TMP/vss.before"
	vm_unit hv-fcopy-daemon.service UnitFileState DropInPaths >"$HV_TMP/fcopy.before"
	# the device appears: Debian's udev rule starts its daemon
	vm systemctl start hvkvp-emu-kdev.service
	vm_ctl --wait 60 wait-registered | jq -e '.registered' >/dev/null
	[ "$(vm_holder)" = hv_kvp_daemon ] || { echo "held by '$(vm_holder)'"; return 1; }
	vm systemctl is-active hv-kvp-daemon.service
	ctl_ok set --pool 0 --key SetBeforeSwitch --value kept
	pool_has 0 SetBeforeSwitch kept
	# and goes away again (the module unloads once nobody holds it)
	vm systemctl stop hv-kvp-daemon.service
	vm systemctl stop hvkvp-emu-kdev.service
	not vm test -e /dev/vmbus/hv_kvp
}
check "hyperv-daemons: udev starts hv-kvp-daemon for the device, it serves pool 0" check_hyperv_daemons

check_no_device() {
	vm sh -c 'dpkg -i /root/debs/hvkvpd_*.deb'
	vm udevadm settle
	# the package's files, and only the test drop-in beside them
	vm_unit hvkvpd.service FragmentPath DropInPaths | tee "$HV_TMP/paths"
	grep -qx 'FragmentPath=/lib/systemd/system/hvkvpd.service' "$HV_TMP/paths"
	grep -qx 'DropInPaths=/etc/systemd/system/hvkvpd.service.d/test.conf' "$HV_TMP/paths"
	vm dpkg -S /lib/udev/rules.d/70-hvkvpd.rules /lib/systemd/system/hvkvpd.service
	not vm test -e /dev/vmbus/hv_kvp
	not vm grep -q '^hv_kvp_test ' /proc/modules
	vm_unit hvkvpd.service ActiveState ExecMainStartTimestampMonotonic NRestarts | tee "$HV_TMP/st"
	grep -qx ActiveState=inactive "$HV_TMP/st"
	grep -qx ExecMainStartTimestampMonotonic=0 "$HV_TMP/st"
	not vm systemctl is-failed --quiet hvkvpd.service
	vm journalctl -b -u hvkvpd.service --no-pager | tee "$HV_TMP/j"
	not grep -q 'hvkvpd' "$HV_TMP/j"
	[ -z "$(hvkvpd_failures)" ] || { hvkvpd_failures; return 1; }
}
check "no device: hvkvpd installed, the unit never starts, nothing logged as failed" check_no_device

check_wait_for_device() {
	local c pid
	c=$(cursor)
	vm systemctl start --no-block hvkvpd.service
	# a while for it to fail, as it did before it waited for the device unit
	vm sleep 3
	vm systemctl list-jobs --no-pager | tee "$HV_TMP/jobs"
	grep -qE 'hvkvpd\.service +start +waiting' "$HV_TMP/jobs"
	not vm systemctl is-failed --quiet hvkvpd.service
	[ -z "$(hvkvpd_failures "$c")" ] || { hvkvpd_failures "$c"; return 1; }
	# the device appears: the emulated host loads the module
	vm systemctl start hvkvp-emu-kdev.service
	vm_ctl --wait 60 wait-registered | tee "$HV_TMP/reg"
	jq -e '.registered and .mode == "register1"' "$HV_TMP/reg" >/dev/null
	vm systemctl is-active hvkvpd.service
	[ "$(vm_holder)" = hypervkvpd ] || { echo "held by '$(vm_holder)'"; return 1; }
	vm_unit hvkvpd.service NRestarts MainPID | tee "$HV_TMP/st"
	grep -qx NRestarts=0 "$HV_TMP/st"
	pid=$(sed -n 's/^MainPID=//p' "$HV_TMP/st")
	vm test -e "/proc/$pid"
	[ -z "$(hvkvpd_failures "$c")" ] || { hvkvpd_failures "$c"; return 1; }
	# what systemd said when it set the sandbox up
	vm journalctl --no-pager -o cat _PID=1 --after-cursor="$c" >"$HV_TMP/pid1"
	not grep -F "Couldn't stat" "$HV_TMP/pid1"
	# Debian's unit, wanted by the same device, was skipped by its condition
	vm_unit hv-kvp-daemon.service ConditionResult ActiveState | tee "$HV_TMP/kvp"
	grep -qx ConditionResult=no "$HV_TMP/kvp"
	not vm systemctl is-failed --quiet hv-kvp-daemon.service
}
check "started by hand before the device exists: waits, starts when it appears, no failure, no restart" \
	check_wait_for_device

check_device_policy() {
	local out
	vm_unit hvkvpd.service DevicePolicy DeviceAllow | tee "$HV_TMP/pol"
	grep -qx DevicePolicy=closed "$HV_TMP/pol"
	grep -qx 'DeviceAllow=/dev/vmbus/hv_kvp rw' "$HV_TMP/pol"
	[ "$(vm_holder)" = hypervkvpd ]
	# the kernel device is single-open, as hv_utils_transport's
	out=$(vm sh -c 'exec 3<>/dev/vmbus/hv_kvp' 2>&1) && return 1
	echo "second open: $out"
	grep -q 'busy' <<<"$out"
	vm systemctl stop hvkvpd.service
	# the policy is enforced in this guest: closed refuses, the unit's allow admits
	out=$(vm systemd-run --wait --pipe -q -p DevicePolicy=closed sh -c 'exec 3<>/dev/vmbus/hv_kvp' 2>&1) &&
		{ echo "opened under DevicePolicy=closed without DeviceAllow="; return 1; }
	echo "closed: $out"
	grep -q 'not permitted' <<<"$out"
	vm systemd-run --wait --pipe -q -p DevicePolicy=closed -p 'DeviceAllow=/dev/vmbus/hv_kvp rw' \
		sh -c 'exec 3<>/dev/vmbus/hv_kvp'
}
check "DevicePolicy=closed is enforced here and the unit's DeviceAllow= lets the daemon open the device" \
	check_device_policy

check_device_semantics() {
	local out before after
	before=$(vm_ctl status | jq .opens)
	# writes of another size than one message: EINVAL (the transport)
	out=$(vm sh -c 'head -c 100 /dev/zero >/dev/vmbus/hv_kvp' 2>&1) && return 1
	grep -q 'Invalid argument' <<<"$out"
	# a whole message that is no REGISTER/REGISTER1: EINVAL (the handshake)
	out=$(vm sh -c 'head -c 7432 /dev/zero >/dev/vmbus/hv_kvp' 2>&1) && return 1
	grep -q 'Invalid argument' <<<"$out"
	after=$(vm_ctl status | jq .opens)
	[ "$after" -eq $((before + 2)) ]
	vm_ctl status | jq -e '.registered == false and .open == false' >/dev/null
}
check "the kernel device: short and non-handshake writes refused with EINVAL, every close a reset" \
	check_device_semantics

check_udev_start() {
	local c
	vm systemctl stop hvkvp-emu-kdev.service
	not vm test -e /dev/vmbus/hv_kvp
	c=$(cursor)
	vm systemctl start hvkvp-emu-kdev.service
	vm_ctl --wait 60 wait-registered | jq -e '.registered' >/dev/null
	vm systemctl is-active hvkvpd.service
	vm journalctl --no-pager -o cat --after-cursor="$c" | grep -E '^Started hvkvpd\.service'
	# the node as hv_utils' (and as the rule, which sets no MODE, expects)
	vm stat -c '%F %a %U %G %t' /dev/vmbus/hv_kvp | tee "$HV_TMP/node"
	grep -qx 'character special file 600 root root a' "$HV_TMP/node"
	vm udevadm info -q property /dev/vmbus/hv_kvp | tee "$HV_TMP/udev"
	grep -qx 'SUBSYSTEM=misc' "$HV_TMP/udev"
	grep -qx 'DEVPATH=/devices/virtual/misc/vmbus!hv_kvp' "$HV_TMP/udev"
	grep -qx 'SYSTEMD_WANTS=hvkvpd.service hv-kvp-daemon.service' "$HV_TMP/udev" ||
		grep -qx 'SYSTEMD_WANTS=hv-kvp-daemon.service hvkvpd.service' "$HV_TMP/udev"
	# the start came from the device (udev's SYSTEMD_WANTS)
	vm_unit hvkvpd.service WantedBy | tee "$HV_TMP/wb"
	grep -qE 'sys-devices-virtual-misc-vmbus\\+x21hv_kvp\.device' "$HV_TMP/wb"
	[ "$(vm_holder)" = hypervkvpd ]
	[ -z "$(hvkvpd_failures "$c")" ] || { hvkvpd_failures "$c"; return 1; }
}
check "udev starts hvkvpd.service when the device appears, and it registers" check_udev_start

check_round_trip() {
	ctl_ok set --pool 0 --key QemuKey --value 'from the host'
	vm_ctl --wait 30 get --pool 0 --key QemuKey | tee "$HV_TMP/get"
	jq -e '.code_name == "HV_S_OK" and .value == "from the host"' "$HV_TMP/get" >/dev/null
	pool_has 0 QemuKey 'from the host'
	# and what hv_kvp_daemon stored before hvkvpd came
	vm_ctl --wait 30 get --pool 0 --key SetBeforeSwitch | jq -e '.value == "kept"' >/dev/null
}
check "pool 0 through the kernel device: SET then GET, hv_kvp_daemon's record served" check_round_trip

check_security() {
	vm systemd-analyze security hvkvpd.service --no-pager | tail -n 3 | tee "$HV_TMP/sec"
	awk '/Overall exposure level/ { sub(/.*: /, ""); found = 1; ok = $1 + 0 <= 2.5 }
		END { exit !(found && ok) }' "$HV_TMP/sec"
}
HV_VERBOSE=1 check "systemd-analyze security hvkvpd in the guest: exposure at most 2.5" check_security
scenario_end "boot 1: no device, by hand, udev, policy, round trip"

# ==== boots 2 and 3: udev-driven boots, with both packages, then without ours ====
scenario_start "boot 2: both installed"
# from now on the device appears at every boot, early, as with hv_utils
vm systemctl enable hvkvp-emu-kdev.service
qemu_reboot

check_boot_hvkvpd() {
	vm_ctl --wait 60 wait-registered | jq -e '.registered' >/dev/null
	[ "$(vm_holder)" = hypervkvpd ] || { echo "held by '$(vm_holder)'"; return 1; }
	vm systemctl is-active hvkvpd.service
	vm_unit hv-kvp-daemon.service ConditionResult ActiveState ExecMainStartTimestampMonotonic DropInPaths |
		tee "$HV_TMP/kvp"
	grep -qx ActiveState=inactive "$HV_TMP/kvp"
	grep -qx ExecMainStartTimestampMonotonic=0 "$HV_TMP/kvp"
	grep -q 'hv-kvp-daemon.service.d/50-hvkvpd.conf' "$HV_TMP/kvp"
	not vm systemctl is-failed --quiet hv-kvp-daemon.service
	not vm systemctl is-failed --quiet hvkvpd.service
	vm_unit hv-vss-daemon.service UnitFileState DropInPaths | diff "$HV_TMP/vss.before" -
	vm_unit hv-fcopy-daemon.service UnitFileState DropInPaths | diff "$HV_TMP/fcopy.before" -
	vm_ctl --wait 30 get --pool 0 --key SetBeforeSwitch | jq -e '.value == "kept"' >/dev/null
	[ -z "$(hvkvpd_failures)" ] || { hvkvpd_failures; return 1; }
}
for ((boot = 1; boot <= ${HV_QEMU_TAKEOVER_BOOTS:-1}; boot++)); do
	[ "$boot" -eq 1 ] || qemu_reboot
	check "udev-driven boot with both installed ($boot): hvkvpd owns the device, hv-kvp-daemon never started, VSS/fcopy untouched" \
		check_boot_hvkvpd
done

check_remove() {
	ctl_ok set --pool 0 --key SetByHvkvpd --value yes
	vm apt-get remove -y -q hvkvpd
	not vm test -e /lib/systemd/system/hv-kvp-daemon.service.d/50-hvkvpd.conf
	[ "$(vm systemctl is-enabled hv-kvp-daemon.service || true)" = "$(cat "$HV_TMP/kvp.enabled")" ]
}
check "apt-get remove hvkvpd: the drop-in gone, hv-kvp-daemon.service as it was" check_remove
scenario_end "boot 2: both installed"

scenario_start "boot 3: hvkvpd removed"
qemu_reboot
check_boot_returned() {
	vm_ctl --wait 60 wait-registered | jq -e '.registered' >/dev/null
	[ "$(vm_holder)" = hv_kvp_daemon ] || { echo "held by '$(vm_holder)'"; return 1; }
	vm systemctl is-active hv-kvp-daemon.service
	pool_has 0 SetBeforeSwitch kept
	pool_has 0 SetByHvkvpd yes
	vm_unit hv-vss-daemon.service UnitFileState DropInPaths | diff "$HV_TMP/vss.before" -
	vm_unit hv-fcopy-daemon.service UnitFileState DropInPaths | diff "$HV_TMP/fcopy.before" -
}
check "boot after the removal: hv-kvp-daemon owns the device, both daemons' pool records kept" \
	check_boot_returned
qemu_poweroff
scenario_end "boot 3: hvkvpd removed"

echo "# QEMU part: $((SECONDS - T_START)) s for $QEMU_BOOTS boots"
hv_checks_done

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
# Hyper-V. Boots are combined: one for the device's comings and goings,
# three for the take-over (hyperv-daemons, then hvkvpd, then removed).
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

# the guest's journal cursor now, for "what was logged since"
cursor() {
	vm journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p'
}
# journal lines about hvkvpd since CURSOR that report a failure
hvkvpd_failures() {
	vm journalctl --no-pager -o cat ${1:+--after-cursor="$1"} |
		grep -iE '(hvkvpd|hypervkvpd)' | grep -iE "fail|couldn't|error|denied|not permitted" || true
}
pool_has() { # POOL KEY VALUE: the guest's pool file holds the record
	vm sh -c "tr -s '\\000' '\\n' </var/lib/hyperv/.kvp_pool_$1 | grep -A1 -x '$2' | tail -n 1 | grep -qx '$3'"
}
ctl_ok() { # ctl ARGS: the host's request got HV_S_OK
	vm_ctl --wait 30 "$@" | tee /dev/stderr | jq -e '.code_name == "HV_S_OK"' >/dev/null
}

# ==== boot 1: the device comes and goes =========================================
scenario_start "device: none, then by hand, then udev"
qemu_overlay a
qemu_boot a

check_no_device() {
	vm sh -c 'dpkg -i /root/debs/hvkvpd_*.deb'
	vm udevadm settle
	# the package's files, and only the test drop-in beside them
	vm_unit hvkvpd.service FragmentPath DropInPaths | tee "$HV_TMP/paths"
	grep -qx 'FragmentPath=/lib/systemd/system/hvkvpd.service' "$HV_TMP/paths"
	grep -qx 'DropInPaths=/etc/systemd/system/hvkvpd.service.d/test.conf' "$HV_TMP/paths"
	vm dpkg -S /lib/udev/rules.d/70-hvkvpd.rules /lib/systemd/system/hvkvpd.service
	! vm test -e /dev/vmbus/hv_kvp
	! vm grep -q '^hv_kvp_test ' /proc/modules
	vm_unit hvkvpd.service ActiveState ExecMainStartTimestampMonotonic NRestarts | tee "$HV_TMP/st"
	grep -qx ActiveState=inactive "$HV_TMP/st"
	grep -qx ExecMainStartTimestampMonotonic=0 "$HV_TMP/st"
	! vm systemctl is-failed --quiet hvkvpd.service
	vm journalctl -b -u hvkvpd.service --no-pager | tee "$HV_TMP/j"
	! grep -q 'hvkvpd' "$HV_TMP/j"
	[ -z "$(hvkvpd_failures)" ]
}
hv_check "no device: the package installed, the unit never starts, nothing logged as failed" check_no_device

check_wait_for_device() {
	local c pid
	c=$(cursor)
	vm systemctl start --no-block hvkvpd.service
	# a while for it to fail, as it did before it waited for the device unit
	vm sleep 5
	vm systemctl list-jobs --no-pager | tee "$HV_TMP/jobs"
	grep -qE 'hvkvpd\.service +start +waiting' "$HV_TMP/jobs"
	! vm systemctl is-failed --quiet hvkvpd.service
	[ -z "$(hvkvpd_failures "$c")" ] || { hvkvpd_failures "$c"; return 1; }
	# the device appears: the emulated host loads the module
	vm systemctl start hvkvp-emu-kdev.service
	vm_ctl --wait 60 wait-registered | tee "$HV_TMP/reg"
	jq -e '.registered and .mode == "register1"' "$HV_TMP/reg" >/dev/null
	vm systemctl is-active hvkvpd.service
	vm_unit hvkvpd.service NRestarts MainPID | tee "$HV_TMP/st"
	grep -qx NRestarts=0 "$HV_TMP/st"
	pid=$(sed -n 's/^MainPID=//p' "$HV_TMP/st")
	vm test -e "/proc/$pid"
	[ -z "$(hvkvpd_failures "$c")" ] || { hvkvpd_failures "$c"; return 1; }
	vm journalctl --no-pager -o cat --after-cursor="$c" | grep -F "Couldn't stat" && return 1
	return 0
}
hv_check "started by hand before the device exists: waits, starts when it appears, no failure, no restart" \
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
hv_check "DevicePolicy=closed is enforced here and the unit's DeviceAllow= lets the daemon open the device" \
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
hv_check "the kernel device: short and non-handshake writes refused with EINVAL, every close a reset" \
	check_device_semantics

check_udev_start() {
	local c
	vm systemctl stop hvkvp-emu-kdev.service
	! vm test -e /dev/vmbus/hv_kvp
	c=$(cursor)
	vm systemctl start hvkvp-emu-kdev.service
	vm_ctl --wait 60 wait-registered | jq -e '.registered' >/dev/null
	vm systemctl is-active hvkvpd.service
	vm journalctl --no-pager -o cat --after-cursor="$c" | grep -E '^Started hvkvpd\.service'
	# the start came from the device (udev's SYSTEMD_WANTS)
	vm_unit hvkvpd.service WantedBy | tee "$HV_TMP/wb"
	grep -qF 'sys-devices-virtual-misc-vmbus\x21hv_kvp.device' "$HV_TMP/wb"
	[ "$(vm_holder)" = hypervkvpd ]
	[ -z "$(hvkvpd_failures "$c")" ]
}
hv_check "udev starts hvkvpd.service when the device appears, and it registers" check_udev_start

check_round_trip() {
	ctl_ok set --pool 0 --key QemuKey --value 'from the host'
	vm_ctl --wait 30 get --pool 0 --key QemuKey | tee "$HV_TMP/get"
	jq -e '.code_name == "HV_S_OK" and .value == "from the host"' "$HV_TMP/get" >/dev/null
	pool_has 0 QemuKey 'from the host'
}
hv_check "a pool-0 SET then GET round trip through the kernel device" check_round_trip

check_security() {
	vm systemd-analyze security hvkvpd.service --no-pager | tail -n 3 | tee "$HV_TMP/sec"
	awk '/Overall exposure level/ { sub(/.*: /, ""); found = 1; ok = $1 + 0 <= 2.5 }
		END { exit !(found && ok) }' "$HV_TMP/sec"
}
HV_VERBOSE=1 hv_check "systemd-analyze security hvkvpd in the guest: exposure at most 2.5" check_security

qemu_poweroff
scenario_end "device: none, then by hand, then udev"

# ==== boots 2-4: take-over from hyperv-daemons at udev-driven boots ==============
scenario_start "take-over: hyperv-daemons, install hvkvpd, boot, remove, boot"
qemu_overlay b
qemu_boot b

check_hyperv_daemons() {
	vm sh -c 'dpkg -i /root/debs/hyperv-daemons_*.deb'
	vm systemctl is-enabled hv-kvp-daemon.service >"$HV_TMP/kvp.enabled" || true
	cat "$HV_TMP/kvp.enabled"
	vm_unit hv-vss-daemon.service UnitFileState DropInPaths >"$HV_TMP/vss.before"
	vm_unit hv-fcopy-daemon.service UnitFileState DropInPaths >"$HV_TMP/fcopy.before"
	# the device from now on at every boot, early, as hv_utils at coldplug
	vm systemctl enable --now hvkvp-emu-kdev.service
	vm_ctl --wait 60 wait-registered | jq -e '.registered' >/dev/null
	[ "$(vm_holder)" = hv_kvp_daemon ]
	vm systemctl is-active hv-kvp-daemon.service
	ctl_ok set --pool 0 --key SetBeforeSwitch --value kept
	pool_has 0 SetBeforeSwitch kept
}
hv_check "hyperv-daemons: udev starts hv-kvp-daemon for the device, it serves pool 0" check_hyperv_daemons

check_install_live() {
	vm sh -c 'dpkg -i /root/debs/hvkvpd_*.deb'
	vm_ctl --wait 60 wait-registered | jq -e '.registered' >/dev/null
	vm systemctl is-active hvkvpd.service
	[ "$(vm_holder)" = hypervkvpd ]
	vm_ctl --wait 30 get --pool 0 --key SetBeforeSwitch | jq -e '.value == "kept"' >/dev/null
}
hv_check "install on the live guest: hvkvpd takes the device, serves hv_kvp_daemon's pool" check_install_live

check_boot_hvkvpd() {
	vm_ctl --wait 60 wait-registered | jq -e '.registered' >/dev/null
	[ "$(vm_holder)" = hypervkvpd ] || { echo "held by '$(vm_holder)'"; return 1; }
	vm systemctl is-active hvkvpd.service
	vm_unit hv-kvp-daemon.service ConditionResult ActiveState ExecMainStartTimestampMonotonic DropInPaths |
		tee "$HV_TMP/kvp"
	grep -qx ActiveState=inactive "$HV_TMP/kvp"
	grep -qx ExecMainStartTimestampMonotonic=0 "$HV_TMP/kvp"
	grep -q 'hv-kvp-daemon.service.d/50-hvkvpd.conf' "$HV_TMP/kvp"
	! vm systemctl is-failed --quiet hv-kvp-daemon.service
	! vm systemctl is-failed --quiet hvkvpd.service
	vm_unit hv-vss-daemon.service UnitFileState DropInPaths | diff "$HV_TMP/vss.before" -
	vm_unit hv-fcopy-daemon.service UnitFileState DropInPaths | diff "$HV_TMP/fcopy.before" -
	vm_ctl --wait 30 get --pool 0 --key SetBeforeSwitch | jq -e '.value == "kept"' >/dev/null
	[ -z "$(hvkvpd_failures)" ] || { hvkvpd_failures; return 1; }
}
for ((boot = 1; boot <= ${HV_QEMU_TAKEOVER_BOOTS:-1}; boot++)); do
	qemu_reboot
	hv_check "boot with both installed ($boot): hvkvpd owns the device, hv-kvp-daemon never started, VSS/fcopy untouched" \
		check_boot_hvkvpd
done

check_remove() {
	ctl_ok set --pool 0 --key SetByHvkvpd --value yes
	vm apt-get remove -y -q hvkvpd
	! vm test -e /lib/systemd/system/hv-kvp-daemon.service.d/50-hvkvpd.conf
	[ "$(vm systemctl is-enabled hv-kvp-daemon.service || true)" = "$(cat "$HV_TMP/kvp.enabled")" ]
}
hv_check "apt-get remove hvkvpd: the drop-in gone, hv-kvp-daemon.service as it was" check_remove

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
hv_check "boot after the removal: hv-kvp-daemon owns the device, both daemons' pool records kept" \
	check_boot_returned

qemu_poweroff
scenario_end "take-over: hyperv-daemons, install hvkvpd, boot, remove, boot"
echo "# QEMU scenarios: $((SECONDS - T_START)) s for $QEMU_BOOTS boots"
hv_checks_done

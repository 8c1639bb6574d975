#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-image.sh - scripts/test-image.sh, the image builders' end-to-end check,
# passes on an image with hvkvpd's package and fails when the daemon refuses.
set -eu
. "$(dirname "$0")/lib-guest.sh"
hv_require_root
hv_require_cmd systemd-nspawn debootstrap dpkg-buildpackage jq
[ -x "$HV_EMU" ] || hv_skip "hvkvp-emu is not built"
sys_rootfs || hv_fail "cannot build the guest rootfs"
DEBS=$(sys_build_debs) || hv_fail "dpkg-buildpackage failed"
DEB=$(ls "$DEBS"/hvkvpd_*.deb)

run_script() {
	env -u HV_SANDBOXED -u HV_TMP -u HV_TMP_DIR HV_LOG_DIR="$HV_LOG_DIR/script" \
		"$top_srcdir/scripts/test-image.sh" --deb "$DEB" "$@"
}

check_pass() {
	run_script --address 198.51.100.7/24 --gateway 198.51.100.1 --dns 198.51.100.53 | tee "$HV_LOG_DIR/pass.out"
	grep -q '^host: SET_IP_INFO -> HV_S_OK' "$HV_LOG_DIR/pass.out"
	grep -q '198.51.100.7/24' "$HV_LOG_DIR/pass.out"
}
hv_check "an image with hvkvpd: the pushed settings are applied (exit 0, PASS)" check_pass

check_fail() {
	local rc=0
	run_script --address 198.51.100.7/24 --gateway 203.0.113.300 >"$HV_LOG_DIR/fail.out" 2>&1 || rc=$?
	cat "$HV_LOG_DIR/fail.out"
	[ "$rc" -eq 1 ]
	grep -q '^host: SET_IP_INFO -> HV_INVALIDARG' "$HV_LOG_DIR/fail.out"
}
hv_check "settings the daemon refuses: exit 1, the host's code shown" check_fail

hv_checks_done

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-rpm.sh - hvkvpd.spec builds with rpmbuild (Debian's rpm, --nodeps) from
# the release tarball and rpmlint reports no error; the packages hold the
# same file layout as the Debian ones.
set -eu
. "$(dirname "$0")/../integration/lib.sh"
hv_require_cmd rpmbuild rpmlint rpm make tar
T=$(mktemp -d "${TMPDIR:-/tmp}/hvkvp-rpm.XXXXXX")
trap 'rm -rf "$T"' EXIT

check_tarball() {
	mkdir -p "$T/build"
	(cd "$T/build" && "$top_srcdir/configure" >configure.out 2>&1 && make dist >dist.out 2>&1)
	ls "$T"/build/hvkvpd-*.tar.gz
	tar -tzf "$T"/build/hvkvpd-*.tar.gz | grep -qx 'hvkvpd-[0-9.]*/hvkvpd.spec'
}
hv_check "make dist: a tarball with hvkvpd.spec" check_tarball

check_rpmbuild() {
	# the spec's %check runs the unit suites, which the test command runs anyway
	rpmbuild --define "_topdir $T/rpm" --nodeps --nocheck -tb "$T"/build/hvkvpd-*.tar.gz >"$T/rpmbuild.log" 2>&1 ||
		{ tail -n 30 "$T/rpmbuild.log"; return 1; }
	tail -n 3 "$T/rpmbuild.log"
	ls "$T"/rpm/RPMS/*/hvkvpd-[0-9]*.rpm "$T"/rpm/RPMS/*/hvkvpd-networkmanager-*.rpm "$T"/rpm/RPMS/*/hvkvp-emu-*.rpm
}
hv_check "rpmbuild -tb --nodeps builds hvkvpd, hvkvpd-networkmanager and hvkvp-emu" check_rpmbuild

check_rpmlint() {
	local out
	out=$(rpmlint -r "$top_srcdir/hvkvpd.rpmlintrc" "$T"/rpm/RPMS/*/*.rpm "$top_srcdir/hvkvpd.spec" 2>&1) || true
	printf '%s\n' "$out" | tail -n 3
	grep -qE ' 0 errors, ' <<<"$out"
}
hv_check "rpmlint: no error" check_rpmlint

check_layout() {
	local files
	files=$(rpm -qpl "$T"/rpm/RPMS/*/hvkvpd-[0-9]*.rpm)
	printf '%s\n' "$files"
	for f in /usr/sbin/hvkvpd /usr/sbin/hvkvpctl /hvkvpd.service /70-hvkvpd.rules \
		/hv-kvp-daemon.service.d/50-hvkvpd.conf /hypervkvpd.service.d/50-hvkvpd.conf \
		/man8/hvkvpd.8 /man5/hvkvpd.conf.5; do
		grep -q -- "$f" <<<"$files" || { echo "missing: $f"; return 1; }
	done
	rpm -qpl "$T"/rpm/RPMS/*/hvkvpd-networkmanager-*.rpm | grep -q '/hvkvpd/backend-nm.so$'
}
hv_check "the RPM holds the daemon, hvkvpctl, the unit, the udev rule, the take-over drop-ins, the man pages" check_layout

hv_checks_done

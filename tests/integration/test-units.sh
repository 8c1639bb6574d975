#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-units.sh - what the package installs: the files land where configure said, the unit passes systemd-analyze verify silently and scores at most 2.5, the udev rule parses and starts the unit, every man page is lint-clean and documents every option and key, the example configuration parses.
#
# Builds nothing itself beyond what `make install` needs; systemd does not
# have to be PID 1. Needs systemd-analyze, mandoc and groff (CI installs
# them); the udevadm check also needs root for a private mount namespace.
set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
hv_require_cmd systemd-analyze mandoc groff make
[ -f "$top_builddir/Makefile" ] || hv_skip "no configured build tree at $top_builddir"
[ -x "$top_builddir/hvkvpd" ] || hv_skip "hvkvpd is not built in $top_builddir"

# Largest "Overall exposure level" accepted (systemd-analyze security).
MAX_EXPOSURE=2.5

T=$(mktemp -d "${TMPDIR:-/tmp}/hvkvp-units.XXXXXX")
trap 'rm -rf "$T"' EXIT
ROOT=$T/root

# ---- install ------------------------------------------------------------------
# A DESTDIR install: the real layout, including the unit whose ExecStart=
# names the installed binary (systemd-analyze verify --root checks it exists).
if ! make -C "$top_builddir" install DESTDIR="$ROOT" >"$T/install.log" 2>&1; then
	tail -n 30 "$T/install.log"
	hv_fail "make install DESTDIR=$ROOT failed"
fi
# mk VAR: the value of a make variable of the build tree (sbindir, ...).
# shellcheck disable=SC2016  # $(VAR) is for make
mk() { make -s --no-print-directory -C "$top_builddir" -f Makefile -f - print-var VAR="$1" <<<'print-var: ; @echo $($(VAR))'; }
sbindir=$(mk sbindir)
bindir=$(mk bindir)
unitdir=$(mk systemdsystemunitdir)
rulesdir=$(mk udevrulesdir)
mandir=$(mk mandir)
docdir=$(mk docdir)
UNIT=$ROOT$unitdir/hvkvpd.service
RULE=$ROOT$rulesdir/70-hvkvpd.rules

check_installed() {
	local f missing=0
	for f in "$sbindir/hvkvpd" "$sbindir/hvkvpctl" "$unitdir/hvkvpd.service" \
		"$rulesdir/70-hvkvpd.rules" "$mandir/man8/hvkvpd.8" "$mandir/man8/hvkvpctl.8" \
		"$mandir/man5/hvkvpd.conf.5" "$docdir/hvkvpd.conf.example" \
		"$unitdir/hv-kvp-daemon.service.d/50-hvkvpd.conf" \
		"$unitdir/hypervkvpd.service.d/50-hvkvpd.conf" \
		"$unitdir/hv_kvp_daemon.service.d/50-hvkvpd.conf"; do
		if [ -e "$ROOT$f" ]; then echo "  $f"; else echo "missing: $f"; missing=1; fi
	done
	# the take-over drop-in names the installed daemon
	grep -qx "ConditionPathExists=!$sbindir/hvkvpd" "$ROOT$unitdir/hv-kvp-daemon.service.d/50-hvkvpd.conf" ||
		{ echo "the drop-in does not name $sbindir/hvkvpd"; missing=1; }
	if [ -x "$top_builddir/hvkvp-emu" ]; then
		for f in "$bindir/hvkvp-emu" "$mandir/man1/hvkvp-emu.1"; do
			if [ -e "$ROOT$f" ]; then echo "  $f"; else echo "missing: $f"; missing=1; fi
		done
	fi
	return $missing
}
hv_check "make install DESTDIR= puts binaries, unit, udev rule, man pages, example config where configure said" \
	check_installed

# ---- the unit -----------------------------------------------------------------
check_unit_contract() {
	local bad=0 line exe
	[ -f "$UNIT" ] || { echo "no $UNIT"; return 1; }
	if grep -n '@[A-Za-z_]*@' "$UNIT"; then echo "unsubstituted placeholder"; bad=1; fi
	grep -qE "^ExecStart=$sbindir/(hvkvpd|hypervkvpd|hv_kvp_daemon)\$" "$UNIT" ||
		{ echo "ExecStart= is not $sbindir/hvkvpd or its compatibility name"; bad=1; }
	# the name it runs by is installed and is hvkvpd
	exe=$(sed -n 's/^ExecStart=//p' "$UNIT")
	[ "$(readlink -f "$ROOT$exe")" = "$(readlink -f "$ROOT$sbindir/hvkvpd")" ] ||
		{ echo "$exe is not installed as hvkvpd"; bad=1; }
	for line in Type=notify NotifyAccess=main Restart=on-failure WatchdogSec= \
		ConditionVirtualization=microsoft DefaultDependencies=no Conflicts=shutdown.target \
		'Before=cloud-init-local.service walinuxagent.service' \
		'After=hv-kvp-daemon.service hypervkvpd.service hv_kvp_daemon.service' \
		CapabilityBoundingSet=CAP_NET_ADMIN ProtectSystem=strict DevicePolicy=closed \
		'DeviceAllow=/dev/vmbus/hv_kvp rw' RestrictAddressFamilies= SystemCallFilter=; do
		grep -q "^$line" "$UNIT" || { echo "missing: $line"; bad=1; }
	done
	# the device guards that stall or skip boot (ECOSYSTEM.md pain #5, #7)
	if grep -nE '^(BindsTo|ConditionPathExists|Requires)=' "$UNIT"; then
		echo "device guard found"
		bad=1
	fi
	if grep -n '^\[Install\]' "$UNIT"; then echo "udev starts it; no [Install]"; bad=1; fi
	# a Conflicts= on the distributions' units would let their udev-started
	# start job stop hvkvpd at boot; the take-over drop-in keeps them off
	if grep -nE '^Conflicts=.*(hv-kvp-daemon|hypervkvpd|hv_kvp_daemon)' "$UNIT"; then
		echo "conflicts with a distribution KVP unit"
		bad=1
	fi
	return $bad
}
hv_check "hvkvpd.service: Type=notify, watchdog, restart, ordering, conflicts, no device guard" \
	check_unit_contract

# systemd-analyze runs man(1) for every Documentation=man: page.
export MANPATH=$ROOT$mandir
check_verify() {
	local out rc=0
	out=$(systemd-analyze verify --root="$ROOT" "$UNIT" 2>&1) || rc=$?
	echo "systemd-analyze verify --root=$ROOT $UNIT: exit $rc"
	[ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
	return $rc
}
hv_check "systemd-analyze verify prints nothing" check_verify

check_security() {
	local out level
	out=$(systemd-analyze security --offline=true --root="$ROOT" "$UNIT" 2>&1)
	printf '%s\n' "$out" | grep -E '^✗|^\s*x ' || true
	level=$(printf '%s\n' "$out" | sed -nE 's/.*Overall exposure level for [^:]*: ([0-9]+\.[0-9]+).*/\1/p')
	[ -n "$level" ] || { printf '%s\n' "$out" | tail -n 5; echo "no exposure level"; return 1; }
	echo "overall exposure level: $level (at most $MAX_EXPOSURE)"
	awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l + 0 <= m + 0) }'
}
HV_VERBOSE=1 hv_check "systemd-analyze security --offline=true: exposure at most $MAX_EXPOSURE" \
	check_security

# ---- the udev rule ------------------------------------------------------------
check_rule_text() {
	local n
	n=$(grep -cvE '^[[:space:]]*(#|$)' "$RULE")
	[ "$n" = 1 ] || { echo "expected one rule line, found $n"; return 1; }
	grep -E '^ACTION!="remove", SUBSYSTEM=="misc", KERNEL=="vmbus/hv_kvp", TAG\+="systemd", ENV\{SYSTEMD_WANTS\}\+="hvkvpd.service"$' "$RULE"
}
hv_check "70-hvkvpd.rules: matches misc device vmbus/hv_kvp, tags it for systemd, wants hvkvpd.service" \
	check_rule_text

# udevadm test with the rule in a private /run/udev/rules.d: the rule as
# shipped must load without a complaint, and the same rule matched on a misc
# device that exists here must tag it and pull in the unit. (There is no
# /dev/vmbus here; the kernel name "vmbus/hv_kvp" -- sysfs "vmbus!hv_kvp" --
# is what sd-device reports for the real device.)
check_rule_udevadm() {
	local dev=$1 name out
	name=$(basename "$dev")
	sed "s|KERNEL==\"vmbus/hv_kvp\"|KERNEL==\"$name\"|" "$RULE" >"$T/70-hvkvpd-as-$name.rules"
	# shellcheck disable=SC2016  # the inner shell expands $1..$3
	out=$(unshare --mount --propagation private sh -euc '
		mount -t tmpfs hvkvp-run /run
		mkdir -p /run/udev/rules.d
		cp "$1" "$2" /run/udev/rules.d/
		udevadm test --action=add --resolve-names=never "$3" 2>&1' sh \
		"$RULE" "$T/70-hvkvpd-as-$name.rules" "$dev") || { printf '%s\n' "$out" | tail; return 1; }
	printf '%s\n' "$out" | grep -E 'rules\.d/70-hvkvpd' || true
	if printf '%s\n' "$out" | grep -E 'rules\.d/70-hvkvpd[^ ]*\.rules:[0-9]+'; then
		echo "udevadm complains about the rule"
		return 1
	fi
	printf '%s\n' "$out" | grep -qx 'SYSTEMD_WANTS=hvkvpd.service' ||
		{ echo "no SYSTEMD_WANTS=hvkvpd.service for $dev"; return 1; }
	printf '%s\n' "$out" | grep -E '^TAGS=.*:systemd:' ||
		{ echo "$dev not tagged for systemd"; return 1; }
}
misc_dev=
for d in /sys/devices/virtual/misc/*; do
	if [ -e "$d/dev" ]; then misc_dev=$d; break; fi
done
if [ "$(id -u)" -eq 0 ] && command -v udevadm >/dev/null && unshare --mount true 2>/dev/null &&
	[ -n "$misc_dev" ]; then
	HV_VERBOSE=1 hv_check "udevadm test: the rule loads cleanly and wants hvkvpd.service" \
		check_rule_udevadm "$misc_dev"
else
	echo "# udevadm test skipped (needs root, udevadm, mount namespaces and a misc device)"
fi

# ---- man pages ----------------------------------------------------------------
check_man_lint() {
	local p=$1 out rc=0
	# the SPDX header first, or second after the preprocessor line ('\" t:
	# tbl) that man(1) reads only on the first line
	{ head -n 1 "$p" | grep -qx '.\\" SPDX-License-Identifier: GPL-2.0-or-later' ||
		{ head -n 1 "$p" | grep -qx "'\\\\\" [a-z]*" &&
			sed -n 2p "$p" | grep -qx '.\\" SPDX-License-Identifier: GPL-2.0-or-later'; }; } ||
		{ echo "the SPDX header is not the first line (or the second after a preprocessor line)"; rc=1; }
	out=$(mandoc -Tlint -Wwarning "$p" 2>&1) || rc=1
	[ -z "$out" ] || { printf '%s\n' "$out"; rc=1; }
	out=$(groff -ww -z -man "$p" 2>&1) || rc=1
	[ -z "$out" ] || { printf '%s\n' "$out"; rc=1; }
	return $rc
}
pages=("$top_srcdir"/man/*.[0-9])
[ -e "${pages[0]}" ] || hv_fail "no man pages in $top_srcdir/man"
for p in "${pages[@]}"; do
	hv_check "$(basename "$p"): mandoc -Tlint -Wwarning and groff -ww -z are silent" check_man_lint "$p"
done

# The text of a page with roff escapes for '-' and fonts removed.
man_text() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\&//g' -e 's/\\(aq/'"'"'/g' "$1"; }

# check_options [--tags] PAGE CMD...: every --long option that `CMD --help`
# prints appears in PAGE as a whole word; with --tags, in the tag of a .TP or
# .TQ entry (an OPTIONS item), not only in the synopsis.
check_options() {
	local tags=0 page text opt missing=0
	[ "$1" != --tags ] || { tags=1; shift; }
	page=$1
	shift
	if [ $tags = 1 ]; then
		text=$(awk 'prev ~ /^\.(TP|TQ)/ { print } { prev = $0 }' "$page" | man_text /dev/stdin)
	else
		text=$(man_text "$page")
	fi
	for opt in $("$@" --help 2>&1 | grep -oE -- '--[A-Za-z][A-Za-z0-9-]*' | sort -u); do
		grep -qE -- "(^|[^A-Za-z0-9-])$opt([^A-Za-z0-9-]|\$)" <<<"$text" ||
			{ echo "$opt (from $(basename "$1") --help) is not in $(basename "$page")"; missing=1; }
	done
	return $missing
}
hv_check "hvkvpd.8 documents every option of hvkvpd --help in OPTIONS" \
	check_options --tags "$top_srcdir/man/hvkvpd.8" "$top_builddir/hvkvpd"
if [ -f "$top_srcdir/man/hvkvpctl.8" ] && [ -x "$top_builddir/hvkvpctl" ]; then
	hv_check "hvkvpctl.8 documents every option of hvkvpctl --help" \
		check_options "$top_srcdir/man/hvkvpctl.8" "$top_builddir/hvkvpctl"
fi
check_emu_page() {
	local page=$top_srcdir/man/hvkvp-emu.1 text cmd missing=0
	check_options "$page" "$top_builddir/hvkvp-emu" || missing=1
	check_options "$page" "$top_builddir/hvkvp-emu" ctl || missing=1
	text=$(man_text "$page")
	for cmd in status wait-registered get set delete enumerate enumerate-all get-ip-info \
		set-ip-info raw bench; do
		grep -qE "^(\\.[A-Z]+ )?$cmd( |\$)" <<<"$text" ||
			{ echo "command $cmd is not described in hvkvp-emu.1"; missing=1; }
	done
	return $missing
}
if [ -x "$top_builddir/hvkvp-emu" ]; then
	hv_check "hvkvp-emu.1 documents every command and option of hvkvp-emu --help" check_emu_page
fi

# Every key config.c accepts is in hvkvpd.conf(5) and in the example.
check_keys() {
	local key missing=0 text
	text=$(man_text "$top_srcdir/man/hvkvpd.conf.5")
	# shellcheck disable=SC2013  # keys are single words
	for key in $(sed -nE 's/.*streq\(key, "([A-Za-z]+)"\).*/\1/p' "$top_srcdir/daemon/config.c"); do
		grep -qE "^\\.[A-Z]+ $key=" <<<"$text" || { echo "$key is not in hvkvpd.conf.5"; missing=1; }
		grep -qE "^#$key=" "$top_srcdir/systemd/hvkvpd.conf.example" ||
			{ echo "$key is not in hvkvpd.conf.example"; missing=1; }
	done
	return $missing
}
hv_check "hvkvpd.conf.5 and hvkvpd.conf.example name every configuration key" check_keys

# The example as shipped, and with every key uncommented (its defaults), is
# a valid configuration for the daemon.
check_example() {
	local ex=$top_srcdir/systemd/hvkvpd.conf.example
	"$top_builddir/hvkvpd" --config "$ex" --help >/dev/null || return 1
	sed -E 's/^#([A-Z][A-Za-z]*=)/\1/' "$ex" >"$T/all-keys.conf"
	grep -E '^[A-Z]' "$T/all-keys.conf"
	"$top_builddir/hvkvpd" --config "$T/all-keys.conf" --help >/dev/null
}
hv_check "hvkvpd.conf.example parses, as shipped and with every default uncommented" check_example

hv_checks_done

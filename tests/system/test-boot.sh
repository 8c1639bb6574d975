#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-boot.sh - hvkvpd in booted Debian 12 guests (systemd-nspawn), installed
# from its packages, started by systemd with the shipped unit, early in a boot
# where the network stack, the host's queued request and cloud-init's
# reporter all happen at once:
#
#   - a "plain" guest (no network manager: the netlink backend and a plain
#     resolv.conf) stays up for the whole test: restart, kill -9, stop, the
#     journal fields of every request, resolv.conf replaced by rename, and at
#     the end three minutes without a watchdog action;
#   - one guest per network stack (systemd-networkd, NetworkManager,
#     ifupdown) boots with a SET_IP_INFO already queued by the host, applies
#     it during boot, and keeps exactly the failover configuration at the
#     next boot; the test prints each boot's timeline.
#
# nspawn runs no udev: a sysinit.target.wants link stands in for the udev
# rule's SYSTEMD_WANTS (the QEMU guest of test-qemu.sh runs the real rule).
# The unit is otherwise as shipped; the only drop-in clears
# ConditionVirtualization= (nspawn is not Hyper-V).
set -eu
. "$(dirname "$0")/lib-guest.sh"
hv_require_cmd dpkg-buildpackage
SYS_VARIANT=stacks
SYS_VARIANT_PACKAGES="network-manager ifupdown"
# fetched before sys_init's private network namespace (cached)
[ -n "${HV_SANDBOXED:-}" ] || sys_fetch_deb cloud-init >/dev/null || echo "# cannot download cloud-init" >&2
sys_init "$@"

DEBS=$(sys_build_debs) || hv_fail "dpkg-buildpackage failed"

# cloud-init's reporter, unpacked (never installed): it writes pool 1 of the
# plain guest from outside while the guest boots (same kernel, same flock)
ci_deb=$(sys_fetch_deb cloud-init) || ci_deb=
PY=/usr/bin/python3
COTENANT=$top_srcdir/tests/integration/pool-cotenant.py

# ---- guests ---------------------------------------------------------------------------

# prepare NAME VARIANT: a guest copy with hvkvpd's packages installed offline
# (no boot: the postinst starts nothing), the test drop-in, and the udev
# stand-in.
prepare() {
	local dir
	if [ "$2" = base ]; then sys_guest_new "$1"; else sys_guest_new "$1" "$2"; fi
	dir=$SYS_GUEST_DIR
	mkdir -p "$dir/root/debs"
	cp "$DEBS"/hvkvpd_*.deb "$dir/root/debs/"
	[ "$2" = stacks ] && cp "$DEBS"/hvkvpd-networkmanager_*.deb "$dir/root/debs/"
	SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn --quiet --register=no --keep-unit --private-network -D "$dir" --pipe \
		sh -c 'dpkg -i /root/debs/*.deb' >"$HV_TMP/dpkg-$1.log" 2>&1 </dev/null ||
		hv_fail "installing hvkvpd in $1 failed: $(tail -n 5 "$HV_TMP/dpkg-$1.log")"
	mkdir -p "$dir/etc/systemd/system/hvkvpd.service.d" "$dir/etc/systemd/system/sysinit.target.wants"
	printf '[Unit]\nConditionVirtualization=\n' >"$dir/etc/systemd/system/hvkvpd.service.d/test.conf"
	ln -sf /lib/systemd/system/hvkvpd.service "$dir/etc/systemd/system/sysinit.target.wants/hvkvpd.service"
	# the guest's own resolv.conf (nspawn leaves it alone: --resolv-conf=off)
	rm -f "$dir/etc/resolv.conf"
	printf 'nameserver 10.0.0.53\n' >"$dir/etc/resolv.conf"
}

# Each guest has one adapter, hvN, the container end of a veth that nspawn
# makes (--network-veth-extra) before the guest's PID 1 starts, as a VM's NIC
# exists before its userspace; the other end, hvpN, stays here. nspawn
# derives the MAC from the machine name, so it is the same at every boot;
# mac_of learns it without booting. (--network-interface= would let the test
# choose a MAC, but nspawn needs udev to find such a link.)
mac_of() { # NAME N
	SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn --quiet --register=no --keep-unit -D "$HV_TMP/$1" \
		--network-veth-extra="hvp$2:hv$2" --pipe cat "/sys/class/net/hv$2/address" </dev/null
}

# boot NAME N: boots guest NAME with adapter hvN; its peer goes up (carrier).
boot() {
	SYS_GUEST_DIR=$HV_TMP/$1
	( for _ in $(seq 1 200); do ip link set "hvp$2" up 2>/dev/null && break; sleep 0.05; done ) &
	SYS_NSPAWN_EXTRA="--network-veth-extra=hvp$2:hv$2 --resolv-conf=off" sys_boot
}

# Guest switching: the plain guest runs while the others boot and stop.
save_guest() { eval "SAVED_$1=\"\$GUEST_PID \$SYS_NSPAWN_PID\""; }
use_guest() {
	local v="SAVED_$1"
	read -r GUEST_PID SYS_NSPAWN_PID <<<"${!v}"
}

# A second emulator for the stack guests: the plain guest holds the first
# one's device for the whole test.
EMU2=$HV_TMP/emu2
start_emu2() {
	mkdir -p "$EMU2/vmbus"
	"$HV_EMU" serve --mount "$EMU2/vmbus" --control "$EMU2/emu.sock" >>"$EMU2/emu.log" 2>&1 </dev/null &
	EMU2_PID=$!
	hv_track_pid "$EMU2_PID"
	hv_wait_for 10 "$HV_EMU" ctl --control "$EMU2/emu.sock" status >/dev/null
}
ctl2() { "$HV_EMU" ctl --control "$EMU2/emu.sock" "$@"; }

guest_addrs() { guest ip -j addr show dev "$1" | jq -r '[.[0].addr_info[] | select(.scope == "global") | "\(.local)/\(.prefixlen)"] | sort | join(" ")'; }
guest_gateways() { guest ip -j route show default dev "$1" | jq -r '[.[].gateway] | sort | join(" ")'; }
unit_prop() { guest systemctl show -P "$2" "$1"; }
registered() { hv_json_is "$("$HV_EMU" ctl --control "$1" status)" .registered true 2>/dev/null; }

push_plain() { # DNS [MASK]: SET_IP_INFO for the plain guest; prints the reply
	hv_ctl --wait 30 set-ip-info --adapter-id "$PLAIN_MAC" --IPAddresses 198.51.100.10 \
		--Subnets "${2:-24}" --DefaultGateways 198.51.100.1 --DNSServers "$1" --DHCPEnabled false
}

# ---- the plain guest: up for the whole test -----------------------------------------------

# HV_BOOT_STACKS="ifupdown ..." (a developer's run): those stack guests only,
# no plain guest
if [ -z "${HV_BOOT_STACKS:-}" ]; then
sys_start_emu
prepare plain base
PLAIN_MAC=$(mac_of plain 1) || hv_fail "cannot learn the plain guest's MAC"
CI_STOP=$HV_TMP/ci-stop CI_LOG=$HV_TMP/ci-written.log CI_PID=
ci_root=$HV_TMP/cloud-init
if [ -n "$ci_deb" ] && dpkg -x "$ci_deb" "$ci_root" 2>/dev/null; then
	# cloud-init's reporter writes the guest's pool 1 through the boot
	mkdir -p "$HV_TMP/plain/var/lib/hyperv"
	: >"$HV_TMP/plain/var/lib/hyperv/.kvp_pool_1"
	PYTHONPATH=$ci_root/usr/lib/python3/dist-packages \
		"$PY" "$COTENANT" cloud-init "$HV_TMP/plain/var/lib/hyperv/.kvp_pool_1" "$CI_STOP" "$CI_LOG" \
		2>"$HV_TMP/ci.log" &
	CI_PID=$!
	hv_track_pid "$CI_PID"
fi
boot plain 1
save_guest plain

check_plain_boot() {
	[ "$(guest systemctl is-system-running)" = running ]
	[ "$(unit_prop hvkvpd.service ActiveState)" = active ]
	hv_wait_for 10 registered "$HV_TMP/emu.sock"
	guest pgrep -x hypervkvpd
}
hv_check "plain guest: booted to 'running', hvkvpd started by systemd and registered" check_plain_boot

ended() { [ ! -e "/proc/$1" ] || [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]; }
check_cloud_init() {
	local host_ok=0 i out
	[ -n "$CI_PID" ] || { echo "cloud-init's package could not be fetched or unpacked"; return 1; }
	ended "$CI_PID" && { echo "cloud-init's reporter is gone: $(cat "$HV_TMP/ci.log")"; return 1; }
	# the host writes pool 1 too, through hvkvpd, while cloud-init appends
	for i in $(seq 1 40); do
		if hv_ctl --wait 10 set --pool 1 --key "host-$i" --value "v$i" | jq -e '.code_name == "HV_S_OK"' >/dev/null; then
			host_ok=$((host_ok + 1))
		fi
	done
	touch "$CI_STOP"
	# the reporter is the test's child, not this check's: it cannot be
	# waited for here, only seen to end (gone, or a zombie until the test
	# reaps it)
	hv_wait_for 30 ended "$CI_PID"
	out=$("$PY" "$COTENANT" check "$HV_TMP/plain/var/lib/hyperv/.kvp_pool_1" "$CI_LOG" cloud-init | tail -n 1)
	echo "cloud-init: $out; host SETs answered HV_S_OK: $host_ok of 40"
	cat "$HV_TMP/ci.log"
	[ "$host_ok" = 40 ]
	[ "$(hv_json "$out" .written)" -gt 50 ]
	hv_json_is "$out" .lost 0
	hv_json_is "$out" .dup 0
	hv_json_is "$out" .torn 0
	for i in 1 20 40; do
		tr '\000' '\n' <"$HV_TMP/plain/var/lib/hyperv/.kvp_pool_1" | grep -qx "host-$i"
	done
}
# the reporter is a child of this shell, not of the check: stopped here
if [ -n "$CI_PID" ]; then
	hv_check "cloud-init's reporter writing pool 1 through the boot next to hvkvpd: no record lost" check_cloud_init
else
	no_cloud_init() { echo "cloud-init's package could not be fetched or unpacked"; false; }
	hv_check "cloud-init's reporter writing pool 1 through the boot next to hvkvpd: no record lost" no_cloud_init
fi
touch "$CI_STOP"

check_journal_fields() {
	local out
	out=$(push_plain 198.51.100.53 33)
	hv_json_is "$out" .code_name HV_INVALIDARG
	guest journalctl -u hvkvpd.service --no-pager -o cat HVKVP_RESULT=HV_INVALIDARG | tee "$HV_TMP/j-inval"
	grep -q "set_ip_info adapter '$PLAIN_MAC'" "$HV_TMP/j-inval"
	[ "$(guest journalctl -u hvkvpd.service -o cat HVKVP_OP=set_ip_info HVKVP_RESULT=HV_INVALIDARG | wc -l)" -ge 1 ]
	# the host's own routine: pool 3 at registration, the auto pool polled
	guest journalctl -u hvkvpd.service -o cat HVKVP_OP=set HVKVP_POOL=3 | tail -n 3
	guest journalctl -u hvkvpd.service -o cat HVKVP_OP=set HVKVP_POOL=1 | tail -n 3
	[ "$(guest journalctl -u hvkvpd.service -o cat HVKVP_OP=set HVKVP_POOL=3 | wc -l)" -ge 16 ]
	[ "$(guest journalctl -u hvkvpd.service -o cat HVKVP_OP=set HVKVP_POOL=1 | wc -l)" -ge 40 ]
	# at the default level: the unit sets none, the daemon's default is info
	[ -z "$(guest journalctl -u hvkvpd.service -o json HVKVP_OP=set HVKVP_POOL=1 | jq -c 'select((.PRIORITY | tonumber) > 6)')" ]
	out=$(push_plain 198.51.100.53)
	hv_json_is "$out" .code_name HV_S_OK
	guest journalctl -u hvkvpd.service --no-pager -o cat HVKVP_OP=set_ip_info HVKVP_RESULT=HV_S_OK | grep -q "$PLAIN_MAC"
}
hv_check "journal: every host request findable by HVKVP_OP/HVKVP_RESULT at the default level, rejected SET_IP_INFO too" check_journal_fields

check_resolv_rename() {
	local out
	out=$(push_plain 198.51.100.53)
	hv_json_is "$out" .code_name HV_S_OK
	guest grep -q '^nameserver 198.51.100.53' /etc/resolv.conf
	# what NetworkManager, dhclient-script and mv do: a new file renamed over
	guest sh -c 'printf "nameserver 10.9.9.9\n" >/etc/resolv.conf.new && mv /etc/resolv.conf.new /etc/resolv.conf'
	out=$(push_plain 198.51.100.54)
	echo "$out" | jq -c '{code_name}'
	hv_json_is "$out" .code_name HV_S_OK
	guest cat /etc/resolv.conf
	guest grep -q '^nameserver 198.51.100.54' /etc/resolv.conf
	guest journalctl -u hvkvpd.service -o cat --no-pager | grep -F 'asking systemd to bind the new file'
}
hv_check "/etc/resolv.conf replaced by rename, then new DNS: applied without a restart" check_resolv_rename

check_restart() {
	local opens
	opens=$(hv_ctl status | jq .opens)
	guest systemctl restart hvkvpd.service
	[ "$(unit_prop hvkvpd.service ActiveState)" = active ]
	hv_wait_for 10 registered "$HV_TMP/emu.sock"
	[ "$(hv_ctl status | jq .opens)" -gt "$opens" ]
}
hv_check "systemctl restart: active and registered again" check_restart

# ms since an epoch in ms
ms_now() { date +%s%3N; }
check_kill9() {
	local pid t0 t1 i
	pid=$(unit_prop hvkvpd.service MainPID)
	t0=$(ms_now)
	guest kill -KILL "$pid"
	for ((i = 0; i < 300; i++)); do
		if [ "$(unit_prop hvkvpd.service ActiveState)" = active ] &&
			[ "$(unit_prop hvkvpd.service MainPID)" != "$pid" ] && registered "$HV_TMP/emu.sock"; then
			break
		fi
		sleep 0.1
	done
	t1=$(ms_now)
	echo "kill -9 -> active and registered again: $((t1 - t0)) ms (RestartSec=2s)"
	echo "$((t1 - t0))" >"$HV_TMP/kill9.ms"
	[ "$(unit_prop hvkvpd.service ActiveState)" = active ]
	registered "$HV_TMP/emu.sock"
	# no lookup child or other process was left behind in the unit
	[ "$(guest systemctl show -P NRestarts hvkvpd.service)" -ge 1 ]
}
hv_check "kill -9: restarted by systemd, active and registered again" check_kill9

check_stop_start() {
	local t0 t1
	t0=$(ms_now)
	guest systemctl stop hvkvpd.service
	t1=$(ms_now)
	echo "systemctl stop: $((t1 - t0)) ms"
	echo "$((t1 - t0))" >"$HV_TMP/stop.ms"
	[ "$(unit_prop hvkvpd.service ActiveState)" = inactive ]
	[ "$(unit_prop hvkvpd.service Result)" = success ]
	hv_wait_for 10 sh -c "! $HV_EMU ctl --control $HV_TMP/emu.sock status | jq -e .open >/dev/null"
	guest systemctl start hvkvpd.service
	hv_wait_for 10 registered "$HV_TMP/emu.sock"
}
hv_check "systemctl stop: inactive with result 'success', the device closed; start again" check_stop_start
IDLE_START=$(date +%s)
if [ -n "${HV_BOOT_PLAIN_ONLY:-}" ]; then # a developer's short run
	sys_poweroff
	hv_checks_done
	exit 0
fi
fi

# ---- one guest per network stack: a SET_IP_INFO queued before boot ---------------------------

start_emu2
SITE_ADDR=10.0.0.5/24 SITE_GW=10.0.0.1
FO_ADDR=192.0.2.10 FO_GW=192.0.2.1 FO_DNS=192.0.2.53

stack_backend() { case $1 in nm) echo networkmanager ;; *) echo "$1" ;; esac; }

configure_stack() { # NAME STACK
	local dir=$HV_TMP/$1
	case $2 in
	networkd)
		systemctl --root="$dir" disable NetworkManager.service networking.service >/dev/null 2>&1 || true
		systemctl --root="$dir" enable systemd-networkd.service >/dev/null 2>&1
		mkdir -p "$dir/etc/systemd/network"
		printf '[Match]\nName=hv2\n\n[Network]\nAddress=%s\nGateway=%s\nDNS=10.0.0.53\n' \
			"$SITE_ADDR" "$SITE_GW" >"$dir/etc/systemd/network/10-site.network"
		;;
	ifupdown)
		systemctl --root="$dir" disable NetworkManager.service >/dev/null 2>&1 || true
		systemctl --root="$dir" enable networking.service >/dev/null 2>&1
		printf 'auto lo\niface lo inet loopback\n\nauto hv2\niface hv2 inet static\n\taddress %s\n\tgateway %s\n' \
			"$SITE_ADDR" "$SITE_GW" >"$dir/etc/network/interfaces"
		;;
	nm)
		systemctl --root="$dir" disable networking.service >/dev/null 2>&1 || true
		systemctl --root="$dir" enable NetworkManager.service >/dev/null 2>&1
		install -m 600 /dev/null "$dir/etc/NetworkManager/system-connections/site.nmconnection"
		printf '[connection]\nid=site\ntype=ethernet\ninterface-name=hv2\n\n[ipv4]\nmethod=manual\naddress1=%s,%s\ndns=10.0.0.53;\n\n[ipv6]\nmethod=ignore\n' \
			"$SITE_ADDR" "$SITE_GW" >"$dir/etc/NetworkManager/system-connections/site.nmconnection"
		;;
	esac
}

# timeline NAME: the boot's milestones in ms after PID 1 started (the
# device is bound in before it): hvkvpd started, READY=1, the queued
# SET_IP_INFO answered (its journal line), then systemd-analyze blame.
timeline() {
	local t0 start ready answered applied
	t0=$(guest systemctl show -P UserspaceTimestampMonotonic)
	start=$(unit_prop hvkvpd.service ExecMainStartTimestampMonotonic)
	ready=$(unit_prop hvkvpd.service ActiveEnterTimestampMonotonic)
	answered=$(guest journalctl -b -u hvkvpd.service -o json HVKVP_OP=set_ip_info | head -n 1 | jq -r .__MONOTONIC_TIMESTAMP)
	applied=$(guest journalctl -b -u hvkvpd.service -o json | jq -r 'select(.MESSAGE | test("^hv2: (applied|unchanged).* through ")) | .__MONOTONIC_TIMESTAMP' | head -n 1)
	printf 'timeline (%s): hvkvpd started +%d ms, READY=1 +%d ms, link configured +%s ms, queued SET_IP_INFO answered +%d ms\n' \
		"$1" $(((start - t0) / 1000)) $(((ready - t0) / 1000)) \
		"$([ -n "$applied" ] && echo $(((applied - t0) / 1000)) || echo '?')" $(((answered - t0) / 1000)) |
		tee -a "$HV_TMP/timelines"
	guest systemd-analyze blame --no-pager | grep -E 'hvkvpd|NetworkManager.service|systemd-networkd.service|networking.service' |
		sed "s/^/  blame ($1): /" | tee -a "$HV_TMP/timelines"
}

# ifupdown's guest once showed a race here (the site's address next to the
# failover one): the wait for networking.service had given up on a bus
# error, and the sandbox had no writable /run/network for ifupdown's lock.
# The check below fails on either.
for stack in ${HV_BOOT_STACKS:-networkd nm ifupdown}; do
	prepare "$stack" stacks
	configure_stack "$stack" "$stack"
	STACK_MAC=$(mac_of "$stack" 2) || hv_fail "cannot learn the $stack guest's MAC"
	# the host queues the failover before the guest boots
	"$HV_EMU" ctl --control "$EMU2/emu.sock" --wait 120 set-ip-info --adapter-id "$STACK_MAC" \
		--IPAddresses "$FO_ADDR" --Subnets 24 --DefaultGateways "$FO_GW" --DNSServers "$FO_DNS" \
		--DHCPEnabled false >"$HV_TMP/queued-$stack.json" 2>&1 &
	queued=$!
	hv_track_pid "$queued"
	hv_wait_for 10 sh -c "$HV_EMU ctl --control $EMU2/emu.sock status | jq -e '.queued == 1' >/dev/null"
	SYS_VMBUS=$EMU2/vmbus boot "$stack" 2
	hv_wait "$queued" 120 || true

	check_applied_at_boot() {
		cat "$HV_TMP/queued-$stack.json"
		hv_json_is "$(cat "$HV_TMP/queued-$stack.json")" .code_name HV_S_OK
		[ "$(guest systemctl is-system-running)" = running ]
		guest systemctl list-jobs --no-pager | tee "$HV_TMP/jobs"
		grep -q 'No jobs running' "$HV_TMP/jobs"
		# addresses may settle a moment after the answer (manager's own commit)
		hv_wait_for 10 sh -c "[ \"\$(nsenter -t $GUEST_PID -a ip -j addr show dev hv2 | jq -r '[.[0].addr_info[] | select(.scope == \"global\") | .local] | join(\" \")')\" = $FO_ADDR ]" || true
		echo "hv2: $(guest_addrs hv2), default via $(guest_gateways hv2)"
		guest ls /etc/systemd/network /run/systemd/network 2>/dev/null || true
		[ "$(guest_addrs hv2)" = "$FO_ADDR/24" ]
		[ "$(guest_gateways hv2)" = "$FO_GW" ]
		# through the stack that owns the link, not behind its back
		guest journalctl -b -u hvkvpd.service -o cat --no-pager | grep -E "^hv2: (applied|unchanged).* through " | tee "$HV_TMP/through"
		grep -q " through $(stack_backend "$stack")\b" "$HV_TMP/through"
		# the wait for the stack, ifupdown's lock and state: nothing given up
		if guest journalctl -b -u hvkvpd.service -o cat --no-pager |
			grep -E "cannot (ask|reach) systemd|cannot take ifupdown's lock|cannot record the interface"; then
			return 1
		fi
		timeline "$stack"
	}
	boot_journal() { # the boot as hvkvpd and the stack saw it (kept in the log dir)
		guest journalctl -b --no-pager -o short-monotonic -u hvkvpd.service -u networking.service \
			-u systemd-networkd.service -u NetworkManager.service >"$HV_LOG_DIR/journal-$stack-$1.txt" 2>&1
	}
	failures=$HV_CHECK_FAILURES
	hv_check "$stack: a SET_IP_INFO queued before boot is applied during boot, through $stack; boot reaches 'running' with no job left" check_applied_at_boot
	boot_journal 1
	[ "$HV_CHECK_FAILURES" = "$failures" ] || tail -n 60 "$HV_LOG_DIR/journal-$stack-1.txt" | sed 's/^/# /'
	sys_poweroff
	SYS_VMBUS=$EMU2/vmbus boot "$stack" 2

	check_second_boot() {
		hv_wait_for 20 sh -c "[ \"\$(nsenter -t $GUEST_PID -a ip -j addr show dev hv2 | jq -r '[.[0].addr_info[] | select(.scope == \"global\") | .local] | join(\" \")')\" = $FO_ADDR ]" || true
		echo "hv2: $(guest_addrs hv2), default via $(guest_gateways hv2)"
		[ "$(guest_addrs hv2)" = "$FO_ADDR/24" ]
		[ "$(guest_gateways hv2)" = "$FO_GW" ]
		[ "$(guest systemctl is-system-running)" = running ]
		if [ "$stack" = ifupdown ]; then
			# ifdown -a and ifup -a by the real unit: the files say the same
			guest systemctl restart networking.service
			[ "$(unit_prop networking.service ActiveState)" = active ]
			echo "after systemctl restart networking: hv2: $(guest_addrs hv2), default via $(guest_gateways hv2)"
			[ "$(guest_addrs hv2)" = "$FO_ADDR/24" ]
			[ "$(guest_gateways hv2)" = "$FO_GW" ]
		fi
	}
	hv_check "$stack: the next boot keeps the failover configuration and only it$([ "$stack" != ifupdown ] || echo ', also after systemctl restart networking')" check_second_boot
	boot_journal 2
	sys_poweroff
done

# ---- back to the plain guest: three idle minutes under the watchdog ---------------------

[ -z "${HV_BOOT_STACKS:-}" ] || { hv_checks_done; exit 0; }
use_guest plain
idle=$(($(date +%s) - IDLE_START))
if [ "$idle" -lt 185 ]; then
	echo "# waiting $((185 - idle)) s more for three idle minutes under WatchdogSec=60s"
	sleep $((185 - idle))
fi
check_watchdog() {
	guest systemctl show -p WatchdogUSec -p ActiveState -p NRestarts hvkvpd.service
	[ "$(unit_prop hvkvpd.service WatchdogUSec)" = 60000000 ] || [ "$(unit_prop hvkvpd.service WatchdogUSec)" = 1min ]
	[ "$(unit_prop hvkvpd.service ActiveState)" = active ]
	if guest journalctl -u hvkvpd.service -o cat --no-pager | grep -i 'watchdog timeout'; then
		return 1
	fi
	# no restart since the last manual start (which reset the count)
	[ "$(unit_prop hvkvpd.service NRestarts)" = 0 ]
	registered "$HV_TMP/emu.sock"
	echo "idle for $(($(date +%s) - IDLE_START)) s: no watchdog action, no restart"
}
hv_check "three idle minutes: no watchdog action" check_watchdog
sys_poweroff

echo "# figures: kill -9 -> active again $(cat "$HV_TMP/kill9.ms" 2>/dev/null) ms; stop $(cat "$HV_TMP/stop.ms" 2>/dev/null) ms"
cat "$HV_TMP/timelines" 2>/dev/null | sed 's/^/# /'
hv_checks_done

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-emu-device.sh - hvkvp-emu's /dev/vmbus/hv_kvp behaves like the kernel device (PROTOCOL.md §2.3-2.5); kvp-probe plays the daemon.
set -eu
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
hv_require_root
hv_require_cmd jq
hv_sandbox "$@"
[ -x "$HV_PROBE" ] || hv_skip "kvp-probe is not built (make tests/integration/kvp-probe)"

DEV=/dev/vmbus/hv_kvp
probe() { "$HV_PROBE" "$@"; }

# bg_probe NAME ARGS...: kvp-probe ARGS in the background, output in
# $HV_TMP/NAME.out; it creates $HV_TMP/NAME.ready once it is ready for a host
# request. Sets PROBE_PID; the check stops the probe if it ends first.
bg_probe() {
	local name=$1
	shift
	rm -f "$HV_TMP/$name.ready"
	"$HV_PROBE" "$@" --ready-file "$HV_TMP/$name.ready" >"$HV_TMP/$name.out" 2>&1 &
	PROBE_PID=$!
	hv_track_pid "$PROBE_PID"
}
wait_ready() { hv_wait_for 10 test -e "$HV_TMP/$1.ready"; }
# end_probe NAME: wait for the background probe, show its output, return its
# status. Call it as a statement of the check, never inside $(...): `wait`
# in a subshell cannot reap the probe, which is the check's child, and fails
# whenever the probe has not been reaped before the subshell forked.
end_probe() {
	local rc=0
	hv_wait "$PROBE_PID" 30 || rc=$?
	cat "$HV_TMP/$1.out"
	return "$rc"
}
status_is() { hv_json_is "$(hv_ctl status)" "$1" "$2" 2>/dev/null; }

# ---- the file itself ----------------------------------------------------------------
check_mount() {
	findmnt -n -o FSTYPE /dev/vmbus | grep -q '^fuse' &&
		[ -f "$DEV" ] && [ "$(stat -c %a "$DEV")" = 600 ] &&
		[ "$(ls /dev/vmbus)" = hv_kvp ]
}

check_initial_status() {
	local s
	s=$(hv_ctl status)
	echo "$s"
	hv_json_is "$s" '[.registered, .mode, .version, .queued] | @csv' 'false,,"3.1",0'
}

# ---- host requests --------------------------------------------------------------------
check_queued_before_daemon() {
	local ctl rc=0 json
	hv_ctl --wait 20 set --pool 0 --key early --value bird >"$HV_TMP/early.json" 2>&1 &
	ctl=$!
	hv_wait_for 5 status_is .queued 1 || rc=1
	probe serve "$DEV" --count 1 || rc=1
	hv_wait "$ctl" 30 || rc=1
	json=$(cat "$HV_TMP/early.json")
	echo "$json"
	hv_json_is "$json" '[.code_name, .key, .value, .timeout] | @csv' '"HV_S_OK","early","bird",false' || rc=1
	return "$rc"
}

check_one_at_a_time() {
	local a b rc=0
	bg_probe serial serve "$DEV" --count 2 --delay 1
	wait_ready serial || rc=1
	hv_ctl --wait 20 set --key first --value 1 >"$HV_TMP/first.json" 2>&1 &
	a=$!
	hv_wait_for 5 status_is .in_flight true || rc=1
	hv_ctl --wait 20 set --key second --value 2 >"$HV_TMP/second.json" 2>&1 &
	b=$!
	# while the daemon sits on the first request, the second waits in the host
	hv_wait_for 5 status_is '[.in_flight, .queued] | @csv' 'true,1' || rc=1
	hv_wait "$a" 30 || rc=1
	hv_wait "$b" 30 || rc=1
	end_probe serial || rc=1
	hv_json_is "$(cat "$HV_TMP/first.json")" .code_name HV_S_OK || rc=1
	hv_json_is "$(cat "$HV_TMP/second.json")" .code_name HV_S_OK || rc=1
	return "$rc"
}

check_poll() {
	local rc=0 json
	bg_probe poll poll "$DEV"
	wait_ready poll || rc=1
	json=$(hv_ctl --wait 10 set --key polled --value yes) || rc=1
	end_probe poll || rc=1
	hv_json_is "$json" .code_name HV_S_OK || rc=1
	return "$rc"
}

check_close_in_flight() {
	local rc=0 json
	bg_probe cif close-in-flight "$DEV"
	wait_ready cif || rc=1
	json=$(hv_ctl --wait 10 set --key abandoned --value x) || rc=1
	echo "$json"
	hv_json_is "$json" '[.code_name, .reset, .timeout] | @csv' '"HV_E_FAIL",true,false' || rc=1
	end_probe cif || rc=1
	# the probe closed again after re-registering: nobody is registered now
	hv_wait_for 5 status_is '[.registered, .open] | @csv' 'false,false' || rc=1
	return "$rc"
}

check_enumerate_all() {
	local rc=0 json
	bg_probe enum serve "$DEV" --count 4 --enum-items 3
	wait_ready enum || rc=1
	json=$(hv_ctl --wait 10 enumerate-all --pool 3) || rc=1
	end_probe enum || rc=1
	echo "$json"
	hv_json_is "$json" '[.count, .items[2].key, .items[2].value, .end_code_name] | @csv' \
		'3,"key2","value2","HV_S_CONT"' || rc=1
	return "$rc"
}

check_legacy_errors() {
	local rc=0 json
	bg_probe legacy serve "$DEV" --legacy --count 1 --reply-code HV_E_FAIL
	wait_ready legacy || rc=1
	hv_json_is "$(hv_ctl status)" .mode legacy || rc=1
	json=$(hv_ctl --wait 10 delete --key gone) || rc=1
	end_probe legacy || rc=1
	echo "$json"
	# a legacy daemon signals failure with an empty key; the host sees HV_S_CONT
	hv_json_is "$json" .code_name HV_S_CONT || rc=1
	return "$rc"
}

check_string_limits() {
	local rc=0 json key value out
	key=$(printf 'k%.0s' $(seq 600))
	value=$(printf 'é%.0s' $(seq 1500)) # 3000 bytes
	bg_probe limits serve "$DEV" --count 1
	wait_ready limits || rc=1
	json=$(hv_ctl --wait 10 set --pool 1 --key "$key" --value "$value") || rc=1
	end_probe limits >"$HV_TMP/limits.shown" || rc=1
	cut -c1-120 "$HV_TMP/limits.shown"
	hv_json_is "$json" '[.truncated, (.key | length), (.value | utf8bytelength)] | @csv' \
		'true,511,2046' || rc=1
	grep -q 'key_len=511 value_len=2046 ' "$HV_TMP/limits.out" || rc=1
	return "$rc"
}

check_ip_info() {
	local rc=0 get set
	bg_probe ip serve "$DEV" --count 2 --ip-addr '192.0.2.5;2001:db8::5' \
		--sub-net '255.255.255.0;64' --gate-way '192.0.2.1;' --dns '192.0.2.53' --dhcp
	wait_ready ip || rc=1
	get=$(hv_ctl --wait 10 get-ip-info --adapter-id 00:15:5D:00:00:01) || rc=1
	set=$(hv_ctl --wait 10 set-ip-info --adapter-id '{12345678-1234-1234-1234-123456789abc}' \
		--IPAddresses 10.0.0.5 --IPAddresses '10.0.0.6' --Subnets '255.255.255.0;255.255.255.0' \
		--DefaultGateways 10.0.0.1 --DNSServers 10.0.0.53 --DHCPEnabled false) || rc=1
	end_probe ip || rc=1
	echo "$get"
	echo "$set"
	hv_json_is "$get" '[.code_name, (.IPAddresses | join(" ")), (.DefaultGateways | length), .DHCPEnabled, .addr_family] | @csv' \
		'"HV_S_OK","192.0.2.5 2001:db8::5",1,true,3' || rc=1
	hv_json_is "$set" '[.code_name, .addr_family, (.IPAddresses | length)] | @csv' '"HV_S_OK",1,2' || rc=1
	grep -q 'op=set_ip_info .*adapter_id={12345678-1234-1234-1234-123456789abc} addr_family=1 dhcp=0 ip=10.0.0.5;10.0.0.6 ' \
		"$HV_TMP/ip.out" || rc=1
	return "$rc"
}

check_raw() {
	local rc=0 json
	bg_probe raw serve "$DEV" --count 1
	wait_ready raw || rc=1
	json=$(hv_ctl --wait 10 raw --op 9 --pool 7 --key-size 600 --key 'bad\xff') || rc=1
	end_probe raw || rc=1
	echo "$json"
	hv_json_is "$json" '[.raw_op, .pool, .code_name] | @csv' '9,7,"HV_S_OK"' || rc=1
	grep -q 'request 1: op=9 pool=7 undecodable' "$HV_TMP/raw.out" || rc=1
	return "$rc"
}

check_expect() {
	local rc=0 r
	bg_probe expect serve "$DEV" --count 3
	wait_ready expect || rc=1
	hv_ctl --wait 10 --expect ok set --key e1 --value v >/dev/null || rc=1
	r=0
	hv_ctl --wait 10 --expect HV_INVALIDARG set --key e2 --value v >/dev/null 2>"$HV_TMP/expect.err" || r=$?
	cat "$HV_TMP/expect.err"
	[ "$r" -eq 3 ] || { echo "--expect HV_INVALIDARG on HV_S_OK: exit $r, not 3"; rc=1; }
	grep -q 'the daemon answered HV_S_OK, expected HV_INVALIDARG' "$HV_TMP/expect.err" || rc=1
	hv_ctl --wait 10 --expect 0x00000000 set --key e3 --value v >/dev/null || rc=1
	end_probe expect || rc=1
	return "$rc"
}

check_no_daemon() {
	local rc=0 json
	json=$(hv_ctl --wait 0.5 get --key nobody) && rc=1 || [ $? -eq 1 ] || rc=1
	echo "$json"
	hv_json_is "$json" .error "no daemon registered" || rc=1
	status_is .queued 0 || rc=1
	return "$rc"
}

check_usage_error() {
	local r=0
	hv_ctl get --pool 0 >/dev/null 2>&1 || r=$?
	[ "$r" -eq 2 ]
}

# ---- deadline --------------------------------------------------------------------------
check_stop_cleans_up() {
	! mountpoint -q /dev/vmbus && [ ! -e "$HV_TMP/emu.sock" ]
}

check_deadline() {
	local rc=0 json
	bg_probe late late-reply "$DEV" --delay 2
	wait_ready late || rc=1
	json=$(hv_ctl --wait 10 set --key slow --value x) || rc=1
	echo "$json"
	hv_json_is "$json" '[.code_name, .timeout] | @csv' '"HV_E_FAIL",true' || rc=1
	end_probe late || rc=1
	hv_json_is "$(hv_ctl status)" .timeouts 1 || rc=1
	return "$rc"
}

check_after_deadline() {
	local rc=0 json
	bg_probe again serve "$DEV" --count 1
	wait_ready again || rc=1
	json=$(hv_ctl --wait 10 set --key fast --value y) || rc=1
	end_probe again || rc=1
	hv_json_is "$json" '[.code_name, .timeout] | @csv' '"HV_S_OK",false' || rc=1
	return "$rc"
}

hv_start_emu
hv_check "mounted: /dev/vmbus holds one 0600 file hv_kvp (FUSE)" check_mount
hv_check "status before any daemon: not registered, version 3.1" check_initial_status
hv_check "second open(): EBUSY; open after close works" probe open-twice "$DEV"
hv_check "read() with a 100-byte buffer: EINVAL, message stays queued" probe short-read "$DEV"
hv_check "write() of 100 bytes: EINVAL" probe bad-write "$DEV" 100
hv_check "write() of 7431 bytes: EINVAL" probe bad-write "$DEV" 7431
hv_check "write() of 7433 bytes: EINVAL" probe bad-write "$DEV" 7433
hv_check "unknown op 0 before registration: EINVAL" probe bad-op "$DEV" 0
hv_check "op 5 (SET_IP_INFO) before registration: EINVAL" probe bad-op "$DEV" 5
hv_check "REGISTER1: reply op 100, version 3.1" probe register "$DEV"
hv_check "legacy REGISTER: reply op 4" probe register --legacy "$DEV"
hv_check "host request queued before any daemon is delivered after registration" check_queued_before_daemon
hv_check "spurious reply and re-registration after registering: EINVAL" probe spurious "$DEV"
hv_check "one host transaction at a time, the next one waits" check_one_at_a_time
hv_check "poll(): nothing -> timeout, queued message -> POLLIN" check_poll
hv_check "a blocked read() interrupted by a signal: EINTR" probe read-signal "$DEV"
hv_check "close with a request in flight: host gets HV_E_FAIL, next opener must register" check_close_in_flight
hv_check "enumerate-all walks the pool until HV_S_CONT" check_enumerate_all
hv_check "legacy daemon: empty key means HV_S_CONT" check_legacy_errors
hv_check "driver string limits: key 511 bytes, value 2047 bytes on a UTF-8 boundary" check_string_limits
hv_check "GET_IP_INFO / SET_IP_INFO fields both ways" check_ip_info
hv_check "raw: a malformed message reaches the daemon as is" check_raw
hv_check "ctl --expect: exit 0 on the expected code (ok, hex), 3 and a message on another" check_expect
hv_check "no daemon within --wait: exit 1, \"no daemon registered\", request dropped" check_no_daemon
hv_check "usage error: exit 2" check_usage_error

hv_stop_emu
hv_check "SIGTERM: unmounted, control socket removed" check_stop_cleans_up
hv_start_emu --timeout 1 --version 9.9
hv_check "--version: the registration reply carries 9.9" probe register --expect-version 9.9 "$DEV"
hv_check "deadline (--timeout 1): host records HV_E_FAIL, late reply gets EINVAL" check_deadline
hv_check "after a deadline the next request is served" check_after_deadline

# ---- the host's routine: pool 3 at registration, periodic reads ----------------------
routine() { hv_ctl status | jq -r ".routine.$1"; }
# routine_at_least FIELD N: for hv_wait_for (which runs it again each time)
routine_at_least() { [ "$(routine "$1")" -ge "$2" ]; }
pool3_records() { echo $(($(stat -c %s /var/lib/hyperv/.kvp_pool_3) / 2560)); }

check_routine_params() {
	hv_wait_for 20 routine_at_least params_ok 16
	hv_ctl status | jq .routine
	[ "$(routine params_ok)" = 16 ]
	[ "$(routine params_failed)" = 0 ]
	[ "$(pool3_records)" = 16 ]
	tr '\000' '\n' </var/lib/hyperv/.kvp_pool_3 | grep -qx VirtualMachineName
	tr '\000' '\n' </var/lib/hyperv/.kvp_pool_3 | grep -qx routine-vm
	tr '\000' '\n' </var/lib/hyperv/.kvp_pool_3 | grep -qx PhysicalHostNameFullyQualified
}

check_routine_polls() {
	hv_wait_for 20 routine_at_least polls 2
	hv_ctl status | jq .routine
	# rounds over the ten intrinsic items, each ended by the daemon's
	# "no more" (HV_S_CONT from a REGISTER1 daemon)
	[ "$(routine auto_items_read)" -ge 20 ]
	[ "$(routine last_poll_code)" = HV_S_CONT ]
}

check_routine_again() {
	hv_stop "$HVKVPD_PID"
	hv_wait_for 10 status_is .registered false
	hv_start_hvkvpd
	hv_wait_for 20 routine_at_least params_ok 32
	[ "$(routine params_ok)" = 32 ]
	# written again, not added: still 16 records
	[ "$(pool3_records)" = 16 ]
	[ "$(routine param_rounds)" = 2 ]
}

check_quiet_host() {
	hv_ctl status | jq -e '.routine.params == 0 and .routine.poll_sec == 0'
}

hv_stop_emu
hv_start_emu --params default --vm-name routine-vm --poll 0.5
# started here, not in a check: a check stops what it started when it ends
hv_start_hvkvpd
hv_check "routine: 16 Guest\\Parameter items written to pool 3 when a daemon registers" check_routine_params
hv_check "routine: the auto pool read periodically to its end" check_routine_polls
hv_check "routine: written again at the next registration, not duplicated" check_routine_again
hv_stop_emu
hv_start_emu
hv_check "tests' default host (--quiet-host): no items, no reads" check_quiet_host

hv_checks_done

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-hostile.sh - a hostile host: its bytes never forge a line in sd_notify, the logs, the state file, pool 1 or hvkvpctl's output, and never follow a planted symlink.
#
# The emulated host sends adapter ids, pool keys and failover settings
# holding newlines ("x\nMAINPID=4242\nX=" would make systemd take pid 4242
# for the service's), ESC and C1 sequences, CR, DEL and invalid UTF-8.
# hvkvpd runs with a NOTIFY_SOCKET of the test's own (a python3 listener
# keeping each datagram in a file), on its netlink backend, with one veth
# adapter whose VMBus GUID comes from a fake sysfs tree (test seam). Each
# scenario is one named check; after each, the daemon must still answer.
set -eu
. "$(dirname "$0")/lib.sh"
hv_require_root
hv_require_cmd jq ip python3
hv_sandbox "$@"

MAC0=00:15:5d:00:00:01 GUID0='{4e0c1a2b-0000-4000-8000-00155d000001}'
KEY0=HvKvpdFailoverResult_00155d000001
STATE=$HV_TMP/state
SYSFS=$HV_TMP/sys
NOTIFY_DIR=$HV_TMP/notify
CTL=$top_builddir/hvkvpctl
export HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$SYSFS
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$HV_TMP/no-system-bus

# The forged lines, and what every sink must show instead (the escaped form).
FORGED=$'x\nMAINPID=4242\nX='
FORGED_SHOWN='x\nMAINPID=4242\nX='
HOSTILE_IDS=(
	"$FORGED"
	$'\e[2J\e]0;owned\a'      # clear the screen, set the terminal's title
	$'a\rSTATUS=forged'       # CR: a line that overprints its start
	$'del\x7f\x7f'            # DEL
	$'csi\xc2\x9b31m'         # a C1 CSI, as valid UTF-8
	'back\slash\nnot-a-newline' # a backslash: must come out doubled
)

# ---- the machine ------------------------------------------------------------

ip link add eth0 address "$MAC0" type veth peer name eth0p
ip link set eth0p up
ip link set eth0 up
mkdir -p "$SYSFS/class/net/eth0/device"
cat /sys/class/net/eth0/ifindex >"$SYSFS/class/net/eth0/ifindex"
echo "$MAC0" >"$SYSFS/class/net/eth0/address"
echo "$GUID0" >"$SYSFS/class/net/eth0/device/device_id"
ip addr add 198.51.100.5/24 dev eth0
hv_private_overlay /etc
rm -f /etc/resolv.conf
echo "nameserver 198.51.100.53" >/etc/resolv.conf

# ---- systemd's side: a notify socket of our own --------------------------------

# the interpreter itself, not a version manager's wrapper that takes a
# second to start on each of the many calls below
PY=$(python3 -c 'import sys; print(sys.executable)')

mkdir -p "$NOTIFY_DIR"
cat >"$HV_TMP/notify-listener.py" <<'EOF'
# Keeps each datagram sent to the socket argv[1] as a file in argv[2].
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
open(os.path.join(out, ".ready"), "w").close()
n = 0
while True:
    data = s.recv(1 << 16)
    n += 1
    tmp = os.path.join(out, ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(out, "%06d" % n))
EOF
"$PY" "$HV_TMP/notify-listener.py" "$HV_TMP/notify.sock" "$NOTIFY_DIR" \
	>>"$HV_TMP/notify-listener.log" 2>&1 </dev/null &
hv_track_pid $!
hv_wait_for 10 test -e "$NOTIFY_DIR/.ready" || hv_fail "the notify listener did not start"

# clean_text WHAT FILE...: each line of each FILE is valid UTF-8 with no
# control character (C0 but the line ends, DEL, C1): nothing a terminal or
# a line-based reader would take for more than text.
cat >"$HV_TMP/clean-text.py" <<'EOF'
import os, re, sys
what, files = sys.argv[1], sys.argv[2:]
# CLEAN_TABS=1: a tab is a separator of the format (hvkvpctl pool list)
bad = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]" if os.environ.get("CLEAN_TABS") else r"[\x00-\x1f\x7f-\x9f]")
rc = 0
for name in files:
    data = open(name, "rb").read()
    for no, line in enumerate(data.split(b"\n"), 1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            print("%s: %s:%d is not UTF-8: %r" % (what, name, no, line))
            rc = 1
            continue
        if bad.search(text):
            print("%s: %s:%d holds a control character: %r" % (what, name, no, line))
            rc = 1
sys.exit(rc)
EOF
clean_text() {
	"$PY" "$HV_TMP/clean-text.py" "$@"
}

# notify_all_ours: every line of every datagram is one of the daemon's own
# assignments (never MAINPID=), and holds no control character.
notify_all_ours() {
	local f line n=0 rc=0
	clean_text "notify datagram" "$NOTIFY_DIR"/[0-9]* || rc=1
	for f in "$NOTIFY_DIR"/[0-9]*; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		while IFS= read -r line || [ -n "$line" ]; do
			if ! [[ $line =~ ^(READY|STATUS|STOPPING|WATCHDOG|ERRNO|EXTEND_TIMEOUT_USEC)= ]]; then
				echo "datagram $(basename "$f"): a line that is not the daemon's: $(printf '%q' "$line")"
				rc=1
			fi
		done <"$f"
	done
	[ "$n" -gt 0 ] || { echo "no datagram at all: is NOTIFY_SOCKET used?"; return 1; }
	[ $rc -ne 0 ] || echo "$n datagrams, every line the daemon's own"
	return $rc
}

# notify_has TEXT: some datagram holds TEXT (waits up to 5 s: STATUS= goes
# out after the reply).
notify_has() {
	hv_wait_for 5 grep -rqF -- "$1" "$NOTIFY_DIR" ||
		{ echo "no datagram holds: $1"; tail -n +1 "$NOTIFY_DIR"/[0-9]* | tail -n 40; return 1; }
}

# log_ours FILE IDENT: every line of the log starts with "IDENT: " and is
# clean text; no line is a forged one.
log_ours() {
	local bad
	clean_text "$2 log" "$1" || return 1
	bad=$(grep -v "^$2: " "$1" || true)
	[ -z "$bad" ] || { echo "lines in $1 that $2 did not write:"; printf '%s\n' "$bad" | head; return 1; }
}

# ---- the daemon ----------------------------------------------------------------

hv_start_emu
NOTIFY_SOCKET=$HV_TMP/notify.sock hv_start_hvkvpd --state-dir "$STATE" --backend netlink --debug
notify_has READY=1 || hv_fail "hvkvpd sent no READY=1"

# serving: the daemon answers a pool request.
serving() {
	local out
	hv_alive "$HVKVPD_PID" || { echo "hvkvpd is gone"; return 1; }
	out=$(hv_ctl --wait 10 set --pool 0 --key alive --value yes)
	hv_json_is "$out" .code_name HV_S_OK || return 1
	out=$(hv_ctl --wait 10 get --pool 0 --key alive)
	hv_json_is "$out" .value yes
}

# result_key KEY: the value of KEY in pool 1, or nothing.
result_key() {
	hv_ctl enumerate-all --pool 1 | jq -r --arg k "$1" '[.items[] | select(.key == $k)] |
		if length == 1 then .[0].value elif length == 0 then "" else "DUPLICATE KEY" end'
}

addrs() { hv_addrs eth0 | paste -sd ' '; }
ADDRS0=$(addrs)

# ---- (1) adapter ids ------------------------------------------------------------

check_ids() {
	local id
	for id in "${HOSTILE_IDS[@]}"; do
		# not a GUID, not a MAC: HV_INVALIDARG (a well-formed unknown one
		# would be HV_GUID_NOTFOUND)
		hv_expect_code HV_INVALIDARG --adapter-id "$id" --IPAddresses 192.0.2.10 \
			--Subnets 24 --DHCPEnabled false
		serving
	done
	# GET_IP_INFO names the id in its log line too
	out=$(hv_ctl --wait 10 get-ip-info --adapter-id "$FORGED")
	hv_json_is "$out" .code_name HV_INVALIDARG
	serving
	notify_has "STATUS=failover settings for unknown adapter $FORGED_SHOWN ignored"
	grep -qF "SET_IP_INFO: cannot resolve the adapter id '$FORGED_SHOWN'" "$HV_TMP/hvkvpd.log"
	grep -qF "GET_IP_INFO: cannot resolve the adapter id '$FORGED_SHOWN'" "$HV_TMP/hvkvpd.log"
	grep -qF "the adapter id '\\x1b[2J\\x1b]0;owned\\x07'" "$HV_TMP/hvkvpd.log"
	grep -qF "the adapter id 'a\\rSTATUS=forged'" "$HV_TMP/hvkvpd.log"
	grep -qF "the adapter id 'del\\x7f\\x7f'" "$HV_TMP/hvkvpd.log"
	# a well-formed id of no adapter: the other message, quoted as well
	hv_expect_code HV_GUID_NOTFOUND --adapter-id '{4e0c1a2b-0000-4000-8000-00155d0000ff}' \
		--IPAddresses 192.0.2.10 --Subnets 24 --DHCPEnabled false
	grep -qF "no network adapter has the id '{4e0c1a2b-0000-4000-8000-00155d0000ff}'" "$HV_TMP/hvkvpd.log"
	grep -qF 'csi\xc2\x9b31m' "$HV_TMP/hvkvpd.log"
	grep -qF 'back\\slash\\nnot-a-newline' "$HV_TMP/hvkvpd.log"
	same_addrs
	notify_all_ours
}
same_addrs() {
	[ "$(addrs)" = "$ADDRS0" ] || { echo "eth0 changed: '$(addrs)', was '$ADDRS0'"; return 1; }
}
hv_check "(1) SET_IP_INFO/GET_IP_INFO with adapter ids holding a forged MAINPID= line, ESC, CR, DEL, C1: HV_INVALIDARG, STATUS= and log escaped, every datagram line the daemon's own" check_ids

# An adapter id that is not UTF-8 at all: the kernel could never send it,
# but a message is bytes.
check_id_not_utf8() {
	out=$(hv_ctl --wait 10 raw --op 5 --key 'x\xff\xfe\x0aMAINPID=4242' --value 192.0.2.10)
	hv_json_is "$out" .code_name HV_INVALIDARG
	serving
	out=$(hv_ctl --wait 10 raw --op 0 --pool 0 --key 'k\xc0\x8a' --value v)
	hv_json_is "$out" .code_name HV_INVALIDARG
	serving
	same_addrs
	log_ours "$HV_TMP/hvkvpd.log" hvkvpd
}
hv_check "(2) raw SET_IP_INFO and SET whose strings are not UTF-8: HV_INVALIDARG, nothing changed, the log still clean" check_id_not_utf8

# ---- (3) pool keys ----------------------------------------------------------------

check_pool_keys() {
	local k i=0 out
	for k in "${HOSTILE_IDS[@]}"; do
		i=$((i + 1))
		out=$(hv_ctl --wait 10 set --pool 0 --key "$k" --value "$k")
		hv_json_is "$out" .code_name HV_S_OK
		out=$(hv_ctl --wait 10 get --pool 0 --key "$k")
		hv_json_is "$out" .code_name HV_S_OK
		# the pool keeps the host's bytes exactly
		[ "$(hv_json "$out" .value)" = "$k" ] || { echo "value $i came back changed"; return 1; }
	done
	# hvkvpctl's text output: one line per record, nothing raw
	"$CTL" --state-dir "$STATE" --pool-dir /var/lib/hyperv pool list --pool 0 >"$HV_TMP/pool-list.out"
	CLEAN_TABS=1 clean_text "hvkvpctl pool list" "$HV_TMP/pool-list.out"
	n=$(wc -l <"$HV_TMP/pool-list.out")
	[ "$n" -eq $((${#HOSTILE_IDS[@]} + 1)) ] ||
		{ echo "pool list: $n lines for $((${#HOSTILE_IDS[@]} + 1)) records:"; cat "$HV_TMP/pool-list.out"; return 1; }
	grep -qF "0"$'\t'"$FORGED_SHOWN"$'\t'"$FORGED_SHOWN" "$HV_TMP/pool-list.out"
	"$CTL" --state-dir "$STATE" --pool-dir /var/lib/hyperv pool get --pool 0 "$FORGED" >"$HV_TMP/pool-get.out"
	[ "$(cat "$HV_TMP/pool-get.out")" = "$FORGED_SHOWN" ]
	"$CTL" --json --state-dir "$STATE" --pool-dir /var/lib/hyperv pool get --pool 0 "$FORGED" >"$HV_TMP/pool-get.json"
	[ "$(jq -r .value "$HV_TMP/pool-get.json")" = "$FORGED" ]
	clean_text "hvkvpctl --json pool get" "$HV_TMP/pool-get.json"
	# JSON: DEL and C1 as \u00XX too, and every key reads back exactly
	"$CTL" --json --state-dir "$STATE" --pool-dir /var/lib/hyperv pool list --pool 0 >"$HV_TMP/pool-list.json"
	clean_text "hvkvpctl --json pool list" "$HV_TMP/pool-list.json"
	grep -qF 'del\u007f\u007f' "$HV_TMP/pool-list.json"
	grep -qF 'csi\u009b31m' "$HV_TMP/pool-list.json"
	for k in "${HOSTILE_IDS[@]}"; do
		jq -e --arg k "$k" 'any(.records[]; .key == $k and .value == $k)' "$HV_TMP/pool-list.json" >/dev/null ||
			{ echo "pool list --json lost the key $(printf '%q' "$k")"; return 1; }
	done
	for k in "${HOSTILE_IDS[@]}"; do
		out=$(hv_ctl --wait 10 delete --pool 0 --key "$k")
		hv_json_is "$out" .code_name HV_S_OK
		out=$(hv_ctl --wait 10 get --pool 0 --key "$k")
		hv_json_is "$out" .code_name HV_S_CONT
	done
	serving
	grep -qF "set pool 0 key '$FORGED_SHOWN': HV_S_OK" "$HV_TMP/hvkvpd.log"
	grep -qF "delete pool 0 key '$FORGED_SHOWN': HV_S_OK" "$HV_TMP/hvkvpd.log"
	log_ours "$HV_TMP/hvkvpd.log" hvkvpd
	notify_all_ours
}
hv_check "(3) pool SET/GET/DELETE with the same keys: stored exactly, logged escaped, hvkvpctl pool list/get show them escaped (--json exact)" check_pool_keys

# ---- (4) a real adapter, settings rejected with the host's strings quoted ------------

check_rejected() {
	local v st
	hv_expect_code HV_INVALIDARG --adapter-id "$GUID0" --IPAddresses $'192.0.2.10\nMAINPID=4242\nX=' \
		--Subnets 24 --DNSServers $'\e[31m192.0.2.53' --DHCPEnabled false
	same_addrs
	serving
	notify_has "STATUS=rejected settings for eth0: IPAddresses[0] '192.0.2.10\\nMAINPID=4242\\nX=' is not"
	grep -qF "eth0: the host's failover settings were rejected: IPAddresses[0] '192.0.2.10\\nMAINPID=4242\\nX='" \
		"$HV_TMP/hvkvpd.log"
	# the state file: key=value lines only, the host's value escaped in it
	st=$STATE/${MAC0//:/}.state
	clean_text "state file" "$st"
	if grep -vE '^(#|[a-z_]+=)' "$st"; then
		echo "^ lines in the state file that are not key=value"
		return 1
	fi
	grep -qxF 'host_ip_addr=192.0.2.10\x0aMAINPID=4242\x0aX=' "$st"
	grep -qxF 'host_dns_addr=\x1b[31m192.0.2.53' "$st"
	if grep '^MAINPID=' "$st"; then echo "^ a forged line in the state file"; return 1; fi
	# pool 1: one line, the escaped form
	v=$(result_key "$KEY0")
	[[ $v == *"HV_INVALIDARG eth0 -: IPAddresses[0] '192.0.2.10\\nMAINPID=4242\\nX='"* ]] ||
		{ echo "pool 1 $KEY0: $(printf '%q' "$v")"; return 1; }
	[[ $v != *$'\n'* && $v != *$'\e'* ]] || { echo "raw control byte in $KEY0"; return 1; }
	# hvkvpctl show: what the host sent, escaped
	"$CTL" --state-dir "$STATE" --pool-dir /var/lib/hyperv show >"$HV_TMP/show.out"
	clean_text "hvkvpctl show" "$HV_TMP/show.out"
	grep -qF 'IPAddresses=192.0.2.10\nMAINPID=4242\nX=' "$HV_TMP/show.out"
	grep -qF 'Subnets=24' "$HV_TMP/show.out"
	grep -qF '\x1b[31m192.0.2.53' "$HV_TMP/show.out"
	grep -qE '^  result +HV_INVALIDARG' "$HV_TMP/show.out"
	grep -qF "host:    IPAddresses[0] '192.0.2.10\\nMAINPID=4242\\nX='" "$HV_TMP/show.out"
	"$CTL" --json --state-dir "$STATE" --pool-dir /var/lib/hyperv show >"$HV_TMP/show.json"
	[ "$(jq -r '.adapters[0].host.ip_addresses[0]' "$HV_TMP/show.json")" = $'192.0.2.10\nMAINPID=4242\nX=' ]
	clean_text "hvkvpctl --json show" "$HV_TMP/show.json"

	# more fields, more bytes: each rejected, nothing changed
	hv_expect_code HV_INVALIDARG --adapter-id "$GUID0" --IPAddresses 192.0.2.10 \
		--Subnets $'24\r\e[1A' --DHCPEnabled false
	hv_expect_code HV_INVALIDARG --adapter-id "$GUID0" --IPAddresses 192.0.2.10 --Subnets 24 \
		--DefaultGateways $'\xc2\x9b2J192.0.2.1\x7f' --DHCPEnabled false
	same_addrs
	serving
	grep -qF "Subnets[0] '24\\r\\x1b[1A'" "$HV_TMP/hvkvpd.log"
	grep -qF "DefaultGateways[0] '\\xc2\\x9b2J192.0.2.1\\x7f'" "$HV_TMP/hvkvpd.log"
	log_ours "$HV_TMP/hvkvpd.log" hvkvpd
	notify_all_ours
}
hv_check "(4) eth0 with settings rejected for a forged line, ESC, CR, C1, DEL: HV_INVALIDARG, link unchanged, STATUS=, log, state file, pool-1 result and hvkvpctl show hold the escaped form" check_rejected

# ---- (5) planted symbolic links -----------------------------------------------------

check_state_symlink() {
	local st=$STATE/${MAC0//:/}.state
	printf 'victim\n' >"$HV_TMP/victim"
	rm -f "$st"
	ln -s "$HV_TMP/victim" "$st"
	hv_expect_code HV_INVALIDARG --adapter-id "$GUID0" --IPAddresses 192.0.2.300 --Subnets 24 \
		--DHCPEnabled false
	same_addrs
	serving
	[ "$(cat "$HV_TMP/victim")" = victim ] || { echo "the link's target was written"; return 1; }
	grep -qF "refusing the state file $st: it is a symbolic link" "$HV_TMP/hvkvpd.log"
	# the link itself was replaced by a state file of ours
	[ ! -L "$st" ]
	[ -f "$st" ]
	grep -qxF 'host_ip_addr=192.0.2.300' "$st"
}
hv_check "(5a) a state file that is a symbolic link: not followed, refused by name, replaced; its target untouched" check_state_symlink

check_lock_symlink() {
	local lock=$STATE/.apply.lock
	rm -f "$lock"
	ln -s "$HV_TMP/lock-target" "$lock"
	hv_expect_code HV_E_FAIL --adapter-id "$GUID0" --IPAddresses 192.0.2.10 --Subnets 24 \
		--DHCPEnabled false
	same_addrs
	serving
	[ ! -e "$HV_TMP/lock-target" ] || { echo "the lock's target was created"; return 1; }
	grep -qF "refusing the apply lock $lock: it is a symbolic link" "$HV_TMP/hvkvpd.log"
	# without the link, the same settings apply
	rm -f "$lock"
	hv_expect_code HV_S_OK --adapter-id "$GUID0" --IPAddresses 192.0.2.10 --Subnets 24 \
		--DHCPEnabled false
	[ "$(addrs)" = 192.0.2.10/24 ] || { echo "eth0: $(addrs)"; return 1; }
}
hv_check "(5b) an apply lock that is a symbolic link: HV_E_FAIL, refused by name, target not created, link unchanged; applies once it is gone" check_lock_symlink

# ---- (6) everything the daemon ever said ----------------------------------------------

check_all_sinks() {
	serving
	notify_all_ours
	log_ours "$HV_TMP/hvkvpd.log" hvkvpd
	log_ours "$HV_TMP/emu.log" hvkvp-emu
	if grep -r '^MAINPID=' "$NOTIFY_DIR" "$HV_TMP/hvkvpd.log" "$HV_TMP/emu.log" "$STATE"; then
		echo "^ a forged MAINPID= line"
		return 1
	fi
}
hv_check "(6) after all of it: the daemon serves, every datagram line is its own, every log line is hvkvpd's or hvkvp-emu's, clean text" check_all_sinks

hv_checks_done

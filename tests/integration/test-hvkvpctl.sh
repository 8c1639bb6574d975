#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-hvkvpctl.sh - the one-shot tool: command line (options anywhere, positional
# adapter), messages in the flags' terms, per-family applies, manual applies kept apart
# from the host's, JSON checked against its schema, non-root, dry run, state migration,
# revert's front end, pool commands next to a running daemon.
set -eu
. "$(dirname "$0")/lib.sh"
hv_require_root
hv_sandbox "$@"
hv_require_cmd jq python3 setpriv sha256sum

CTL=$top_builddir/hvkvpctl
[ -x "$CTL" ] || hv_skip "hvkvpctl is not built"
ctl() { "$CTL" --state-dir "$HV_TMP/state" --pool-dir /var/lib/hyperv "$@"; }
STATE_FILE=$HV_TMP/state/00155d0000c1.state
KEY=HvKvpdFailoverResult_00155d0000c1

ip link add eth0 address 00:15:5d:00:00:c1 type veth peer name eth0-peer
ip link set eth0-peer up
guid="{c1c2c3c4-0000-4000-8000-00155d0000c1}"
mkdir -p "$HV_TMP/sys/class/net/eth0/device"
cp /sys/class/net/eth0/ifindex /sys/class/net/eth0/address "$HV_TMP/sys/class/net/eth0/"
echo "$guid" >"$HV_TMP/sys/class/net/eth0/device/device_id"
export HVKVPD_TEST_SEAMS=1 HVKVPD_TEST_SYSFS_ROOT=$HV_TMP/sys
hv_private_overlay /etc
rm -f /etc/resolv.conf
echo "nameserver 198.51.100.53" >/etc/resolv.conf

# eth0's addresses and IPv4 default routes ("gateway@metric"), each on one line
addrs() { hv_addrs eth0 | paste -sd ' '; }
gws() { hv_default_routes eth0 -4 | awk '{ print $1 "@" $2 }' | paste -sd ' '; }
# the global addresses of one family from `ip -j addr`
family_addrs() {
	ip -j addr show dev eth0 | jq -r --arg f "$1" \
		'.[0].addr_info[] | select(.family == $f and .scope == "global") | "\(.local)/\(.prefixlen)"' |
		sort | paste -sd ' '
}
# pool 1's result line for eth0 ("" when there is none)
pool1_line() { ctl pool get --pool 1 "$KEY" 2>/dev/null || true; }
# what must not change when hvkvpctl refuses: link, state file, pool 1
fingerprint() {
	{
		addrs
		gws
		cat /etc/resolv.conf
		sha256sum "$STATE_FILE" 2>/dev/null || echo "no state file"
		pool1_line
	} | sha256sum
}

# expect_ctl CODE MESSAGE-SUBSTRING CMD...: exit status and a message on stderr
expect_ctl() {
	local code=$1 msg=$2 out rc=0
	shift 2
	out=$(ctl "$@" 2>&1) || rc=$?
	[ "$rc" = "$code" ] || hv_fail "hvkvpctl $*: exit $rc, expected $code: $out"
	[[ "$out" == *"$msg"* ]] || hv_fail "hvkvpctl $*: message lacks '$msg': $out"
	echo "ok - hvkvpctl $(cut -c1-100 <<<"$*") -> exit $code ($msg)"
}

# ---- the JSON schema (man/hvkvpctl.8, JSON OUTPUT): every --json output is checked ------
cat >"$HV_TMP/schema.py" <<'EOF'
import json, re, sys
T = lambda *t: {"type": list(t)}
STR, BOOL, INT = T("string"), T("boolean"), T("integer")
STRS = {"type": ["array"], "items": STR}
TIME = {"type": ["string"], "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"}
MAC = {"type": ["string"], "pattern": r"^[0-9a-f]{12}$"}
def obj(req, opt=None):
    props = dict(req, **(opt or {}))
    return {"type": ["object"], "properties": props, "required": list(req)}
def null(s):
    s = dict(s); s["type"] = s["type"] + ["null"]; return s
ERROR = obj({"code": {"type": ["string"], "enum": ["failed", "usage", "no-adapter",
        "invalid-settings", "unsupported", "busy", "not-found", "requires-root"]},
        "message": STR, "exit_status": INT})
VIEW = obj({"addresses": STRS, "gateways": STRS, "dns": STRS, "dhcp4": T("boolean", "null")})
FIELDS = {"adapter_id": STR, "ip_addresses": STRS, "subnets": STRS,
          "default_gateways": STRS, "dns_servers": STRS, "dhcp_enabled": BOOL}
RESULT = obj({"adapter": STR, "ifname": T("string", "null"), "mac": null(MAC),
              "backend": T("string", "null"), "result": STR, "message": STR},
             {"waiting_for_carrier": BOOL, "backend_reachable": BOOL,
              "now": null(VIEW), "would_be": null(VIEW)})
ADAPTER = obj({"mac": MAC, "ifname": STR, "guid": T("string", "null"),
    "host": null(obj(dict(FIELDS, received=TIME, result=STR, message=STR))),
    "manual": null(obj(dict(FIELDS, time=TIME, user=STR, backend=STR, result=STR, message=STR))),
    "applied": null(obj({"time": TIME, "source": {"type": ["string"], "enum": ["host", "manual"]},
        "backend": STR, "waiting_for_carrier": BOOL, "reapplied_at_start": BOOL})),
    "live": null(VIEW)})
RECORD = obj({"pool": INT, "index": INT, "key": STR, "value": STR})
COMMON = {"command": STR, "error": ERROR}
DOCS = {
    "apply": obj({}, dict(COMMON, dry_run=BOOL, adapters={"type": ["array"], "items": RESULT})),
    "show": obj({}, dict(COMMON, adapters={"type": ["array"], "items": ADAPTER})),
    "revert": obj({}, dict(COMMON, dry_run=BOOL, adapter=STR, ifname=STR, mac=MAC,
                           backend=T("string", "null"), result=STR, message=STR)),
    "pool": obj({}, dict(COMMON, verb=STR, pool=INT, key=STR, value=STR,
                         records={"type": ["array"], "items": RECORD})),
    None: obj({}, COMMON),
}
NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
         type(None): "null"}
def check(v, s, where):
    t = NAMES.get(type(v), "?")
    if t not in s["type"]:
        raise SystemExit(f"{where}: {t}, expected {s['type']}")
    if "enum" in s and v not in s["enum"]:
        raise SystemExit(f"{where}: {v!r} not in {s['enum']}")
    if "pattern" in s and isinstance(v, str) and not re.search(s["pattern"], v):
        raise SystemExit(f"{where}: {v!r} does not match {s['pattern']}")
    if t == "object":
        for k in s.get("required", []):
            if k not in v:
                raise SystemExit(f"{where}: no member {k}")
        for k, x in v.items():
            if k not in s.get("properties", {}):
                raise SystemExit(f"{where}: member {k} is not in the schema")
            check(x, s["properties"][k], f"{where}.{k}")
    if t == "array":
        for i, x in enumerate(v):
            check(x, s["items"], f"{where}[{i}]")
text, status = open(sys.argv[1]).read(), int(sys.argv[2])
lines = text.splitlines()
if len(lines) != 1:
    raise SystemExit(f"{len(lines)} lines on stdout, expected one JSON document")
doc = json.loads(lines[0])
check(doc, DOCS.get(doc.get("command") if isinstance(doc, dict) else None, DOCS[None]), "$")
if (status == 0) == ("error" in doc):
    raise SystemExit(f"exit {status} but error member {'present' if 'error' in doc else 'missing'}")
if status and doc["error"]["exit_status"] != status:
    raise SystemExit(f"error.exit_status {doc['error']['exit_status']} but exit {status}")
print("valid:", lines[0][:160])
EOF
# json_ok EXPECTED-STATUS CMD...: runs hvkvpctl --json CMD..., checks the exit status and
# the document against the schema; the document in $HV_TMP/last.json
json_ok() {
	local want=$1 rc=0
	shift
	ctl "$@" >"$HV_TMP/last.json" 2>"$HV_TMP/last.err" || rc=$?
	[ "$rc" = "$want" ] || { echo "hvkvpctl $*: exit $rc, expected $want"; cat "$HV_TMP/last.err"; return 1; }
	python3 "$HV_TMP/schema.py" "$HV_TMP/last.json" "$rc" || { echo "hvkvpctl $*"; cat "$HV_TMP/last.json"; return 1; }
}

# ---- (1) the command line --------------------------------------------------------------

check_command_line() {
	local out rc
	# options after the command and after its words, global ones included
	ctl apply eth0 --ipv4-address 203.0.113.5/24 --dry-run --json >"$HV_TMP/o.json"
	[ "$(jq -r '.adapters[0].would_be.addresses[0]' "$HV_TMP/o.json")" = 203.0.113.5/24 ]
	ctl pool list --json >/dev/null
	ctl show eth0 --json | jq -e '.adapters[0].ifname == "eth0"' >/dev/null
	# positional adapter, or --adapter, the same
	ctl show --adapter eth0 >/dev/null
	# errors: "hvkvpctl:" first, "Try 'hvkvpctl --help'." last
	rc=0
	out=$(ctl apply eth0 --ipv4-adress 1.2.3.4 2>&1) || rc=$?
	[ "$rc" = 2 ]
	[ "$(head -n1 <<<"$out")" = "hvkvpctl: unknown option '--ipv4-adress'" ]
	[ "$(tail -n1 <<<"$out")" = "Try 'hvkvpctl --help'." ]
	expect_ctl 2 "hvkvpctl: show does not take --ipv4-address" show eth0 --ipv4-address 1.2.3.4
	expect_ctl 2 "hvkvpctl: --ipv4-address needs a value before --ipv4-subnet-mask" \
		apply eth0 --ipv4-address --ipv4-subnet-mask 24
	expect_ctl 2 "hvkvpctl: 'frobnicate' is not a command" frobnicate
	expect_ctl 2 "hvkvpctl: no command given" --json
	expect_ctl 2 "apply takes one adapter; unexpected 'eth1'" apply eth0 eth1 --dhcp
	# --help: the four common tasks
	out=$(ctl apply --help)
	for ex in "hvkvpctl apply eth0 --ipv4-address" "--dry-run" "hvkvpctl show eth0" "hvkvpctl revert eth0"; do
		[[ $out == *"$ex"* ]] || { echo "--help lacks the example '$ex'"; return 1; }
	done
	# bash completion: commands, options after the command, adapter names
	bash -c '. "$1/scripts/completion/hvkvpctl"
		t() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _hvkvpctl; echo "${COMPREPLY[*]}"; }
		[ "$(t hvkvpctl re)" = revert ] &&
		[ "$(t hvkvpctl apply eth0 --ipv6-s)" = --ipv6-subnet-prefix-length ] &&
		[ "$(t hvkvpctl --json pool "")" = "list get set delete" ] &&
		[[ " $(t hvkvpctl show "")" == *" eth0"* ]]' _ "$top_srcdir"
}
hv_check "(1) options anywhere, positional adapter, hvkvpctl:/Try --help errors, --help examples, bash completion" check_command_line

# ---- (6) dry run: now vs would-be with DNS, (none), backend checked ----------------------

check_dry_run() {
	local before out
	before=$(fingerprint)
	out=$(ctl apply eth0 --ipv4-address 203.0.113.10 --ipv4-subnet-mask 255.255.255.0 \
		--ipv4-default-gateway 203.0.113.1 --ipv4-preferred-dns-server 203.0.113.53 --dry-run)
	echo "$out"
	[[ $out == *"would apply through netlink; nothing changed (dry run)"* ]]
	# nothing configured now: "(none)", never blank
	grep -qE '^  addresses +\(none\) +203\.0\.113\.10/24$' <<<"$out"
	grep -qE '^  gateways +\(none\) +203\.0\.113\.1$' <<<"$out"
	# the DNS that would be replaced, and the new one
	grep -qE '^  DNS +198\.51\.100\.53 +203\.0\.113\.53$' <<<"$out"
	[ "$(fingerprint)" = "$before" ]
	json_ok 0 --json apply --adapter 00-15-5D-00-00-C1 --ipv6-address 2001:db8::5 \
		--ipv6-subnet-prefix-length 64 --dry-run
	jq -e '.adapters[0] | .backend == "netlink" and .backend_reachable and
		.would_be.addresses == ["2001:db8::5/64"] and .now.dns == ["198.51.100.53"]' "$HV_TMP/last.json"
	# a backend that cannot run is not promised
	json_ok 1 --json --backend networkd apply eth0 --ipv4-address 203.0.113.10/24 --dry-run
	jq -e '.adapters[0] | .backend == "networkd" and (.backend_reachable | not) and
		(.message | test("not on the system bus"))' "$HV_TMP/last.json"
	[ "$(fingerprint)" = "$before" ]
}
hv_check "(6) dry run: now and would-be side by side with DNS, (none) for nothing, the backend checked before it is named" check_dry_run

# ---- apply by name, MAC, GUID; settings file ---------------------------------------------

check_apply() {
	ctl apply eth0 --ipv4-address 203.0.113.10 --ipv4-address 203.0.113.11 \
		--ipv4-subnet-mask 255.255.255.0 --ipv4-default-gateway 203.0.113.1 \
		--ipv6-address 2001:db8::10 --ipv6-subnet-prefix-length 64 \
		--ipv4-preferred-dns-server 203.0.113.53 --ipv4-alternate-dns-server 203.0.113.54
	hv_assert_eq "apply: addresses" "2001:db8::10/64 203.0.113.10/24 203.0.113.11/24" "$(addrs)"
	hv_assert_eq "apply: gateway" "203.0.113.1@100" "$(gws)"
	grep -q "nameserver 203.0.113.54" /etc/resolv.conf
	json_ok 0 --json apply --adapter "$guid" --ipv4-address 203.0.113.20 --ipv4-subnet-mask 24 \
		--ipv6-address 2001:db8::10/64
	hv_assert_json "$(cat "$HV_TMP/last.json")" '.adapters[0].result + " " + .adapters[0].mac' \
		"HV_S_OK 00155d0000c1" "apply by GUID"
	hv_assert_eq "apply by GUID replaced the IPv4 addresses" "2001:db8::10/64 203.0.113.20/24" "$(addrs)"
	cat >"$HV_TMP/settings.ini" <<EOF2
# failover settings for the test adapter
[00:15:5d:00:00:c1]
IPAddresses=198.51.100.7;2001:db8:7::7
Subnets=255.255.255.0;64
DefaultGateways=198.51.100.1;198.51.100.2
DNSServers=198.51.100.53
DHCPEnabled=false
EOF2
	ctl apply --file "$HV_TMP/settings.ini"
	hv_assert_eq "settings file: addresses" "198.51.100.7/24 2001:db8:7::7/64" "$(addrs)"
	hv_assert_eq "settings file: gateways in order" "198.51.100.1@100 198.51.100.2@101" "$(gws)"
	# a bad value in a file: file:line, the file's own key name
	printf '[eth0]\nIPAddresses=198.51.100.8\nSubnets=33\n' >"$HV_TMP/bad-mask.ini"
	expect_ctl 4 "bad-mask.ini:1: [eth0]: Subnets[0] '33' is not a valid contiguous IPv4 mask" \
		apply --file "$HV_TMP/bad-mask.ini"
	printf '[eth0]\nIPAdresses=1.2.3.4\n' >"$HV_TMP/bad.ini"
	expect_ctl 2 "bad.ini:2: unknown key 'IPAdresses'" apply --file "$HV_TMP/bad.ini"
}
hv_check "apply by name, MAC and GUID, and from a settings file" check_apply

# ---- (3) one family at a time ------------------------------------------------------------

check_per_family() {
	ctl apply eth0 --ipv4-address 203.0.113.30/24 --ipv4-default-gateway 203.0.113.1 \
		--ipv4-preferred-dns-server 203.0.113.53 --ipv6-address 2001:db8::30/64
	# only IPv6 named: IPv4 addresses, gateway and DNS stay (ip -j addr says so)
	ctl apply eth0 --ipv6-address 2001:db8::31/64 --ipv6-preferred-dns-server 2001:db8::53
	hv_assert_eq "IPv4 kept" "203.0.113.30/24" "$(family_addrs inet)"
	hv_assert_eq "IPv6 replaced" "2001:db8::31/64" "$(family_addrs inet6)"
	hv_assert_eq "IPv4 gateway kept" "203.0.113.1@100" "$(gws)"
	grep -q "nameserver 203.0.113.53" /etc/resolv.conf
	grep -q "nameserver 2001:db8::53" /etc/resolv.conf
	# only IPv4 named: the IPv6 address and DNS stay
	ctl apply eth0 --ipv4-address 203.0.113.31/24
	hv_assert_eq "IPv6 kept" "2001:db8::31/64" "$(family_addrs inet6)"
	hv_assert_eq "IPv4 replaced" "203.0.113.31/24" "$(family_addrs inet)"
	grep -q "nameserver 2001:db8::53" /etc/resolv.conf
	# --clear-ipv6 clears that family alone
	ctl apply eth0 --clear-ipv6
	hv_assert_eq "IPv6 cleared" "" "$(family_addrs inet6)"
	hv_assert_eq "IPv4 still" "203.0.113.31/24" "$(family_addrs inet)"
	if grep -q "nameserver 2001:db8::53" /etc/resolv.conf; then echo "IPv6 DNS not cleared"; return 1; fi
	expect_ctl 2 "--clear-ipv4 removes that family's settings" apply eth0 --clear-ipv4 --ipv4-address 203.0.113.32/24
}
hv_check "(3) per-family apply: the family not named keeps its addresses, gateways and DNS; --clear-ipv6 clears one" check_per_family

# ---- (2) the typical mistakes: the flag, the value, what is valid, once; nothing changed --

check_mistakes() {
	local before out rc
	before=$(fingerprint)
	# each message once (text mode printed rejections twice)
	rc=0
	out=$(ctl apply eth0 --ipv4-address 203.0.113.9 --ipv4-subnet-mask 33 2>&1) || rc=$?
	[ "$rc" = 4 ]
	[ "$out" = "hvkvpctl: --ipv4-subnet-mask '33' is not valid: give a prefix length 1..32 or a contiguous dotted mask such as 255.255.255.0" ] ||
		{ echo "got: $out"; return 1; }
	expect_ctl 4 "--ipv4-address '2001:db8::9' is an IPv6 address: give it with --ipv6-address" \
		apply eth0 --ipv4-address 2001:db8::9 --ipv4-subnet-mask 24
	expect_ctl 4 "--ipv4-default-gateway '2001:db8::1' is an IPv6 address: give it with --ipv6-default-gateway" \
		apply eth0 --ipv4-address 203.0.113.9/24 --ipv4-default-gateway 2001:db8::1
	expect_ctl 4 "--ipv6-address '203.0.113.9' is an IPv4 address: give it with --ipv4-address" \
		apply eth0 --ipv6-address 203.0.113.9 --ipv6-subnet-prefix-length 64
	expect_ctl 4 "--ipv4-preferred-dns-server given twice ('192.0.2.53' and '192.0.2.54')" \
		apply eth0 --ipv4-address 203.0.113.9/24 --ipv4-preferred-dns-server 192.0.2.53 \
		--ipv4-preferred-dns-server 192.0.2.54
	expect_ctl 4 "--ipv6-subnet-prefix-length '129' is not valid: give a prefix length 1..128" \
		apply eth0 --ipv6-address 2001:db8::9 --ipv6-subnet-prefix-length 129
	expect_ctl 4 "--ipv4-address '203.0.113.999' is not an IPv4 address" \
		apply eth0 --ipv4-address 203.0.113.999 --ipv4-subnet-mask 24
	# what only the engine judges, still in the flags' terms
	expect_ctl 4 "eth0: --ipv4-address '203.0.113.0' is the network address of its /24 subnet" \
		apply eth0 --ipv4-address 203.0.113.0/24
	expect_ctl 3 "no network adapter matches 'eth9'" apply eth9 --ipv4-address 203.0.113.9/24
	expect_ctl 3 "no network adapter matches" apply --adapter "{00000000-0000-4000-8000-000000000000}" --dhcp
	expect_ctl 5 "cannot do DHCP" apply eth0 --dhcp
	expect_ctl 2 "apply needs an adapter" apply --ipv4-address 203.0.113.9
	expect_ctl 2 "no settings given" apply eth0
	expect_ctl 2 "1 --ipv4-address without '/N' but 0 --ipv4-subnet-mask" apply eth0 --ipv4-address 203.0.113.9
	printf 'Backend=netlnk\n' >"$HV_TMP/bad.conf"
	expect_ctl 2 "bad.conf:1: Backend: 'netlnk'" --config "$HV_TMP/bad.conf" show
	[ "$(fingerprint)" = "$before" ] || { echo "a refused command changed the link, state or pool 1"; return 1; }
}
hv_check "(2) mistakes: mask 33, IPv6 to --ipv4-*, DNS flag twice, unknown adapter...: the flag, the value, the valid range, once; nothing changed" check_mistakes

check_busy() {
	local before
	before=$(fingerprint)
	printf 'ReplyBudgetSec=1\n' >"$HV_TMP/short.conf"
	exec 9>"$HV_TMP/state/.apply.lock"
	flock -x 9
	expect_ctl 6 "holds the lock" --config "$HV_TMP/short.conf" apply eth0 --ipv4-address 203.0.113.9/24
	exec 9>&-
	[ "$(fingerprint)" = "$before" ]
}
hv_check "the apply lock is shared: a held lock means exit 6, nothing changed" check_busy

# ---- (6) without root --------------------------------------------------------------------

check_non_root() {
	local out rc cmd
	# nobody may reach the binary and the fake sysfs, not more
	chmod 711 "$HV_TMP"
	chmod -R a+rX "$HV_TMP/sys"
	for cmd in "apply eth0 --ipv4-address 203.0.113.9/24" "show" "show eth0" "revert eth0"; do
		rc=0
		# shellcheck disable=SC2086  # the words of the command
		out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" --state-dir "$HV_TMP/state" \
			--pool-dir /var/lib/hyperv $cmd 2>&1) || rc=$?
		[ "$rc" = 8 ] || { echo "$cmd as nobody: exit $rc: $out"; return 1; }
		[ "$out" = "hvkvpctl: ${cmd%% *} requires root (run with sudo)" ] || { echo "$cmd: $out"; return 1; }
	done
	# a dry run as nobody plans, and says what the apply would lack
	rc=0
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" --state-dir "$HV_TMP/state" \
		--pool-dir /var/lib/hyperv apply eth0 --ipv4-address 203.0.113.9/24 --dry-run 2>&1) || rc=$?
	echo "$out"
	[ "$rc" = 8 ] && [[ $out == *"lacks CAP_NET_ADMIN (run with sudo)"* ]]
	# the pools: reading is for everyone, writing is root's
	ctl pool set --pool 0 ForNobody yes
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" --pool-dir /var/lib/hyperv \
		pool get --pool 0 ForNobody)
	[ "$out" = yes ]
	rc=0
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" --pool-dir /var/lib/hyperv \
		pool set --pool 0 ForNobody no 2>&1) || rc=$?
	[ "$rc" = 8 ] && [[ $out == "hvkvpctl: pool set requires root (run with sudo): "* ]] ||
		{ echo "pool set as nobody: exit $rc: $out"; return 1; }
	ctl pool delete --pool 0 ForNobody
	rc=0
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" --json --state-dir "$HV_TMP/state" \
		show >"$HV_TMP/nobody.json" || rc=$?
	python3 "$HV_TMP/schema.py" "$HV_TMP/nobody.json" 8
	jq -e '.error.code == "requires-root"' "$HV_TMP/nobody.json"
}
hv_check "(6) without root: apply, show, revert say 'requires root (run with sudo)' and exit 8; a dry run says what it lacks" check_non_root

# ---- revert's front end (the engine is a stub until it lands) -----------------------------

check_revert() {
	expect_ctl 3 "no network adapter matches 'eth9'" revert eth9
	expect_ctl 2 "revert needs an adapter" revert
	expect_ctl 2 "revert takes one adapter" revert eth0 eth1
	expect_ctl 2 "revert does not take --ipv4-address" revert eth0 --ipv4-address 1.2.3.4
	json_ok 3 --json revert eth9 --dry-run
	# what the engine answers today is passed on with its exit status
	local rc=0
	ctl revert eth0 --dry-run >/dev/null 2>&1 || rc=$?
	case $rc in 0 | 5 | 7) ;; *) echo "revert eth0 --dry-run: exit $rc"; return 1 ;; esac
	json_ok "$rc" --json revert eth0 --dry-run
}
hv_check "revert ADAPTER [--dry-run]: argument handling, unknown adapter exit 3, the engine's answer passed on" check_revert

# ---- next to a running daemon: host vs manual, pool commands, migration ---------------------

hv_start_emu
hv_start_hvkvpd --state-dir "$HV_TMP/state"

check_manual_apart() {
	local before host_line out
	hv_expect_code HV_S_OK --adapter-id "$guid" --IPAddresses 192.0.2.40 --Subnets 24 \
		--DefaultGateways 192.0.2.1 --DHCPEnabled false
	host_line=$(pool1_line)
	[[ $host_line == *"HV_S_OK eth0 netlink"* ]] || { echo "pool 1: $host_line"; return 1; }
	# a rejected manual apply changes nothing at all: link, state file, pool 1
	before=$(fingerprint)
	expect_ctl 4 "--ipv4-address '192.0.2.0' is the network address" apply eth0 --ipv4-address 192.0.2.0/24
	expect_ctl 4 "--ipv4-subnet-mask '33'" apply eth0 --ipv4-address 192.0.2.41 --ipv4-subnet-mask 33
	[ "$(fingerprint)" = "$before" ] || { echo "a rejected manual apply changed something"; return 1; }
	# a manual apply: its own record; the host's record and pool-1 line stay
	ctl apply eth0 --ipv4-address 192.0.2.42/24
	hv_assert_eq "manual apply applied" "192.0.2.42/24" "$(family_addrs inet)"
	hv_assert_eq "pool-1 line is the host's" "$host_line" "$(pool1_line)"
	grep -qx 'host_ip_addr=192.0.2.40' "$STATE_FILE"
	grep -qx 'manual_ip_addr=192.0.2.42' "$STATE_FILE"
	grep -qx 'applied_source=manual' "$STATE_FILE"
	grep -q '^manual_user=uid 0' "$STATE_FILE"
	out=$(ctl show eth0)
	echo "$out"
	grep -qE '^ +host sent +applied by hand +live$' <<<"$out"
	grep -qE '^  addresses +192\.0\.2\.40/24 +192\.0\.2\.42/24 +192\.0\.2\.42/24$' <<<"$out"
	json_ok 0 --json show eth0
	jq -e '.adapters[0] | .host.ip_addresses == ["192.0.2.40"] and .manual.ip_addresses == ["192.0.2.42"]
		and .applied.source == "manual" and .live.addresses == ["192.0.2.42/24"]' "$HV_TMP/last.json"
	# the host again: its record, its line; the manual record stays
	hv_expect_code HV_S_OK --adapter-id "$guid" --IPAddresses 192.0.2.43 --Subnets 24 --DHCPEnabled false
	grep -qx 'applied_source=host' "$STATE_FILE"
	grep -qx 'manual_ip_addr=192.0.2.42' "$STATE_FILE"
}
hv_check "(4) manual is manual: a rejected manual apply changes nothing (link, state, pool 1); an accepted one is recorded apart; show has host, manual, live" check_manual_apart

check_json_schema() {
	json_ok 0 --json show
	json_ok 0 show --json eth0
	json_ok 0 apply eth0 --ipv4-address 192.0.2.44/24 --json
	jq -e '.adapters[0].result == "HV_S_OK"' "$HV_TMP/last.json"
	json_ok 0 apply eth0 --ipv4-address 192.0.2.45/24 --dry-run --json
	json_ok 4 apply eth0 --ipv4-address 192.0.2.44 --ipv4-subnet-mask 33 --json
	jq -e '.error.code == "invalid-settings" and (.error.message | test("--ipv4-subnet-mask"))' "$HV_TMP/last.json"
	json_ok 3 apply eth9 --ipv4-address 192.0.2.44/24 --json
	jq -e '.error.code == "no-adapter"' "$HV_TMP/last.json"
	json_ok 2 apply eth0 --json --bogus
	json_ok 2 --json
	json_ok 7 pool get --pool 0 NoSuchKey --json
	jq -e '.error.code == "not-found"' "$HV_TMP/last.json"
	json_ok 0 pool list --pool 1 --json
	jq -e --arg k "$KEY" 'any(.records[]; .key == $k)' "$HV_TMP/last.json"
	json_ok 0 pool set --pool 0 Schema yes --json
	json_ok 0 pool get --pool 0 Schema --json
	# times are ISO 8601, lists are arrays
	ctl --json show | jq -e '.adapters[0].host.received | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")'
}
hv_check "(5) JSON: every output (success or failure) is one object valid against the schema in hvkvpctl(8)" check_json_schema

check_pool() {
	local out
	ctl pool set --pool 0 FromCtl "written by hvkvpctl"
	hv_assert_json "$(hv_ctl get --pool 0 --key FromCtl)" '.value' "written by hvkvpctl" "daemon sees hvkvpctl's write"
	hv_ctl set --pool 0 --key FromHost --value "written by the host" >/dev/null
	hv_assert_eq "hvkvpctl sees the daemon's write" "written by the host" "$(ctl pool get --pool 0 FromHost)"
	out=$(ctl pool list --pool 0)
	echo "$out"
	grep -q $'^0\tFromHost\twritten by the host$' <<<"$out"
	ctl pool delete --pool 0 FromCtl
	hv_assert_json "$(hv_ctl get --pool 0 --key FromCtl)" '.code_name' "HV_S_CONT" "daemon sees the delete"
	expect_ctl 7 "has no key 'FromCtl'" pool get --pool 0 FromCtl
	expect_ctl 2 "--pool '9' is not valid: give a pool number 0..4" pool get --pool 9 x
	expect_ctl 2 "the value is too long" pool set --pool 0 k "$(head -c 3000 /dev/zero | tr '\0' v)"
}
hv_check "pool commands next to a running daemon" check_pool

# ---- (9) the MAC's one spelling; old names migrate ---------------------------------------

check_migration() {
	local st=$HV_TMP/state-old
	mkdir -p "$st"
	# a state file and a pool-1 key as older versions named them
	sed 's/^applied_source=.*//' "$STATE_FILE" >"$st/00:15:5d:00:00:c1.state"
	ctl pool set --pool 1 HvKvpdFailoverResult_00155D0000C1 "old spelling"
	hv_stop_hvkvpd_for_migration
	hv_start_hvkvpd --state-dir "$st" --debug
	[ -f "$st/00155d0000c1.state" ] || { ls -la "$st"; return 1; }
	[ ! -e "$st/00:15:5d:00:00:c1.state" ]
	grep -q "renamed the state file 00:15:5d:00:00:c1.state to 00155d0000c1.state" "$HV_TMP/hvkvpd.log"
	# the next result line goes to the new key, and the old key goes
	hv_expect_code HV_S_OK --adapter-id "$guid" --IPAddresses 192.0.2.46 --Subnets 24 --DHCPEnabled false
	[[ $(pool1_line) == *"HV_S_OK eth0"* ]]
	if ctl pool get --pool 1 HvKvpdFailoverResult_00155D0000C1 >/dev/null 2>&1; then
		echo "the old-spelling pool-1 key is still there"
		return 1
	fi
}
hv_stop_hvkvpd_for_migration() {
	hv_stop "$HVKVPD_PID"
	HVKVPD_PID=
}
hv_check "(9) one MAC spelling: an old state file name is renamed at daemon start, the old pool-1 key removed" check_migration

# found by review: a dry run refuses what the apply would refuse; a
# per-family apply keeps this link's own DNS, not the site's resolver
check_review_fixes() {
	expect_ctl 5 "DHCPEnabled, but no DHCP client runs on eth0" apply eth0 --ipv4-address 192.0.2.10/24 --dhcp --dry-run
	ctl revert eth0 >/dev/null 2>&1 || true
	printf 'nameserver 198.51.100.53\n' >/etc/resolv.conf
	ctl apply eth0 --ipv6-address 2001:db8::77/64 | tee "$HV_TMP/keep-dns.out"
	grep -q ', 0 DNS' "$HV_TMP/keep-dns.out"
	cat /etc/resolv.conf
	[ "$(cat /etc/resolv.conf)" = "nameserver 198.51.100.53" ]
	# and back: revert returns the link to what it held before
	ctl revert eth0
	[ -z "$(hv_addrs eth0)" ] || { echo "after revert: $(hv_addrs eth0)"; return 1; }
}
hv_check "review fixes: a dry run refuses DHCP where the apply would; a per-family apply does not take the site's resolver as the link's DNS; revert" check_review_fixes

hv_checks_done
echo "PASS: hvkvpctl command line, messages, per-family, manual record, JSON schema, non-root, dry run, migration, pool"

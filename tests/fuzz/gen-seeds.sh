#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# gen-seeds.sh - developer tool: regenerate the committed seed corpus of fuzz-kvp-msg.
#
# Usage: tests/fuzz/gen-seeds.sh [OUTDIR]   (default: tests/fuzz/corpus/kvp-msg)
# Builds a throwaway generator against the codec (valid seeds come from the
# builders, i.e. the kernel's layout; malformed ones are the same messages
# with one field broken by hand) and writes one 7432-byte file per case, plus
# a few of the wrong length. Existing seeds of the same name are overwritten;
# anything else in OUTDIR (e.g. inputs a fuzzer found) is left alone.
# Seeds hold native-endian integers, like the messages the kernel writes.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$srcdir/tests/fuzz/corpus/kvp-msg}
cc=${CC:-cc}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

cat >"$tmp/gen.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvp-msg.h"

static const char *outdir;
static unsigned char m[KVP_MSG_SIZE + 1];

static void emit_len(const char *name, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(m, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void emit(const char *name)
{
	emit_len(name, KVP_MSG_SIZE);
}

static void ok(int r, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", what, strerror(-r));
		exit(1);
	}
}

static void u32_at(size_t off, unsigned int v)
{
	memcpy(m + off, &v, 4);
}

static char *fill(char *dst, char c, size_t n)
{
	memset(dst, c, n);
	dst[n] = '\0';
	return dst;
}

int main(int argc, char **argv)
{
	static char big[HV_KVP_EXCHANGE_MAX_VALUE_SIZE];
	static struct kvp_ip_fields ip;

	outdir = argv[1];
	(void)argc;

	/* ---- well-formed ---- */
	ok(kvp_msg_build_register(m, KVP_OP_REGISTER1, KVP_DRIVER_VERSION), "reg1");
	emit("valid-register1-reply.bin");
	ok(kvp_msg_build_register(m, KVP_OP_REGISTER, KVP_DRIVER_VERSION), "reg");
	emit("valid-register-legacy-reply.bin");
	ok(kvp_msg_build_register(m, KVP_OP_REGISTER1, NULL), "reg req");
	emit("valid-register1-request.bin");

	ok(kvp_msg_build_get(m, KVP_POOL_EXTERNAL, "Environment"), "get");
	emit("valid-get-external.bin");
	ok(kvp_msg_build_get(m, KVP_POOL_AUTO, "FullyQualifiedDomainName"), "get auto");
	emit("valid-get-auto-fqdn.bin");

	ok(kvp_msg_build_set(m, KVP_POOL_EXTERNAL, "Environment", "production", REG_SZ), "set");
	emit("valid-set-external.bin");
	ok(kvp_msg_build_set(m, KVP_POOL_AUTO_EXTERNAL, "PhysicalHostNameFullyQualified",
			     "hv-host01.contoso.com", REG_SZ), "set host");
	emit("valid-set-auto-external-hostname.bin");
	ok(kvp_msg_build_set(m, KVP_POOL_AUTO_EXTERNAL, "VirtualMachineId",
			     "0D6E5A3C-1F2D-4C5B-9A8E-7D6C5B4A3F2E", REG_SZ), "set vmid");
	emit("valid-set-auto-external-vmid.bin");
	/* The kernel turns REG_U32 into a decimal string. */
	ok(kvp_msg_build_set(m, KVP_POOL_GUEST, "RetryCount", "42", REG_U32), "set u32");
	emit("valid-set-guest-u32.bin");
	ok(kvp_msg_build_set(m, KVP_POOL_EXTERNAL,
			     "Gr\xc3\xbc\xc3\x9f" "e-\xe6\x97\xa5\xe6\x9c\xac",
			     "\xf0\x9f\x90\xa7 caf\xc3\xa9 \xe2\x82\xac" "5", REG_SZ), "set utf8");
	emit("valid-set-utf8.bin");
	ok(kvp_msg_build_set(m, KVP_POOL_EXTERNAL, "EmptyValue", "", REG_SZ), "set empty");
	emit("valid-set-empty-value.bin");
	ok(kvp_msg_build_set(m, KVP_POOL_GUEST, fill(big, 'k', 511), "v", REG_SZ), "set maxkey");
	emit("valid-set-max-key.bin");
	ok(kvp_msg_build_set(m, KVP_POOL_GUEST, "k", fill(big, 'v', 2047), REG_SZ), "set maxval");
	emit("valid-set-max-value.bin");
	ok(kvp_msg_build_delete(m, KVP_POOL_EXTERNAL, "Environment"), "delete");
	emit("valid-delete-external.bin");
	ok(kvp_msg_build_enumerate(m, KVP_POOL_AUTO, 0), "enum");
	emit("valid-enumerate-auto-0.bin");
	ok(kvp_msg_build_enumerate(m, KVP_POOL_AUTO, 10), "enum end");
	emit("valid-enumerate-auto-10.bin");
	ok(kvp_msg_build_enumerate(m, KVP_POOL_GUEST, 3), "enum guest");
	emit("valid-enumerate-guest-3.bin");

	strcpy(ip.adapter_id, "00:15:5D:01:02:03");
	ip.addr_family = ADDR_FAMILY_IPV4 | ADDR_FAMILY_IPV6;
	ok(kvp_msg_build_ip(m, KVP_OP_GET_IP_INFO, &ip), "get ip");
	emit("valid-get-ip-info.bin");

	memset(&ip, 0, sizeof(ip));
	strcpy(ip.adapter_id, "{6e5a0b3c-1f2d-4c5b-9a8e-7d6c5b4a3f2e}");
	ip.addr_family = ADDR_FAMILY_IPV4;
	strcpy(ip.ip_addr, "192.168.10.20;192.168.10.21");
	strcpy(ip.sub_net, "255.255.255.0;255.255.255.0");
	strcpy(ip.gate_way, "192.168.10.1");
	strcpy(ip.dns_addr, "192.168.10.1;8.8.8.8");
	ok(kvp_msg_build_ip(m, KVP_OP_SET_IP_INFO, &ip), "set ip v4");
	emit("valid-set-ip-info-v4.bin");

	ip.addr_family = ADDR_FAMILY_IPV4 | ADDR_FAMILY_IPV6;
	strcpy(ip.ip_addr, "10.0.0.5;fd00:1234::5");
	strcpy(ip.sub_net, "255.0.0.0;64");
	strcpy(ip.gate_way, "10.0.0.1;fd00:1234::1");
	strcpy(ip.dns_addr, "10.0.0.53;fd00:1234::53");
	ok(kvp_msg_build_ip(m, KVP_OP_SET_IP_INFO, &ip), "set ip dual");
	emit("valid-set-ip-info-dual.bin");

	memset(&ip, 0, sizeof(ip));
	strcpy(ip.adapter_id, "{6e5a0b3c-1f2d-4c5b-9a8e-7d6c5b4a3f2e}");
	ip.addr_family = ADDR_FAMILY_IPV4;
	ip.dhcp_enabled = 1;
	ok(kvp_msg_build_ip(m, KVP_OP_SET_IP_INFO, &ip), "set ip dhcp");
	emit("valid-set-ip-info-dhcp.bin");

	/* ---- malformed: wrong length ---- */
	ok(kvp_msg_build_get(m, KVP_POOL_EXTERNAL, "Environment"), "get");
	emit_len("bad-short-0.bin", 0);
	emit_len("bad-short-100.bin", 100);
	emit_len("bad-short-7431.bin", KVP_MSG_SIZE - 1);
	m[KVP_MSG_SIZE] = 'x';
	emit_len("bad-long-7433.bin", KVP_MSG_SIZE + 1);

	/* ---- malformed: header ---- */
	m[0] = 9;
	emit("bad-op-9.bin");
	m[0] = KVP_OP_COUNT;
	emit("bad-op-6.bin");
	ok(kvp_msg_build_get(m, 7, "Environment"), "pool 7");
	emit("bad-get-pool-7.bin");
	ok(kvp_msg_build_enumerate(m, 5, 0), "pool 5");
	emit("bad-enumerate-pool-5.bin");

	/* ---- malformed: key ---- */
	ok(kvp_msg_build_get(m, KVP_POOL_EXTERNAL, "Environment"), "get");
	u32_at(8, 0);
	emit("bad-get-key-size-0.bin");
	ok(kvp_msg_build_get(m, KVP_POOL_EXTERNAL, ""), "get empty");
	emit("bad-get-key-size-1-empty.bin");
	ok(kvp_msg_build_get(m, KVP_POOL_EXTERNAL, "Environment"), "get");
	u32_at(8, 600);
	emit("bad-get-key-size-600.bin");
	ok(kvp_msg_build_get(m, KVP_POOL_EXTERNAL, "Environment"), "get");
	u32_at(8, 6); /* "Envir" + 'o' where the NUL should be */
	emit("bad-get-key-no-nul.bin");
	ok(kvp_msg_build_get(m, KVP_POOL_EXTERNAL, "Environment"), "get");
	u32_at(8, 20); /* the real NUL at 11 comes before key_size says */
	emit("bad-get-key-early-nul.bin");
	ok(kvp_msg_build_delete(m, KVP_POOL_EXTERNAL, "Environment"), "delete");
	memset(m + 8, 'A', HV_KVP_EXCHANGE_MAX_KEY_SIZE);
	u32_at(4, HV_KVP_EXCHANGE_MAX_KEY_SIZE);
	emit("bad-delete-key-unterminated.bin");

	/* ---- malformed: value ---- */
	ok(kvp_msg_build_set(m, KVP_POOL_EXTERNAL, "Environment", "production", REG_SZ), "set");
	u32_at(12, 2049);
	emit("bad-set-value-size-2049.bin");
	ok(kvp_msg_build_set(m, KVP_POOL_EXTERNAL, "Environment", "production", REG_SZ), "set");
	u32_at(12, 5);
	emit("bad-set-value-no-nul.bin");

	/* ---- malformed: UTF-8 ---- */
	ok(kvp_msg_build_set(m, KVP_POOL_EXTERNAL, "k\xc0\xaf", "v", REG_SZ), "overlong");
	emit("bad-set-key-utf8-overlong.bin");
	ok(kvp_msg_build_set(m, KVP_POOL_EXTERNAL, "k", "a\xed\xa0\x80z", REG_SZ), "surrogate");
	emit("bad-set-value-utf8-surrogate.bin");
	ok(kvp_msg_build_delete(m, KVP_POOL_GUEST, "abc\xe2\x82"), "truncated");
	emit("bad-delete-key-utf8-truncated.bin");
	ok(kvp_msg_build_set(m, KVP_POOL_EXTERNAL, "k", "\xf4\x90\x80\x80", REG_SZ), "too big");
	emit("bad-set-value-utf8-above-10ffff.bin");

	/* ---- malformed: IP fields ---- */
	memset(&ip, 0, sizeof(ip));
	strcpy(ip.adapter_id, "{6e5a0b3c-1f2d-4c5b-9a8e-7d6c5b4a3f2e}");
	strcpy(ip.ip_addr, "192.168.10.20");
	ok(kvp_msg_build_ip(m, KVP_OP_SET_IP_INFO, &ip), "set ip");
	memset(m + 262, '1', KVP_IP_ADDR_BYTES);
	emit("bad-set-ip-info-ip-addr-no-nul.bin");
	ok(kvp_msg_build_ip(m, KVP_OP_SET_IP_INFO, &ip), "set ip");
	memset(m + 4358, '1', KVP_GATEWAY_BYTES);
	emit("bad-set-ip-info-gate-way-no-nul.bin");
	strcpy(ip.adapter_id, "{6e5a\xff}");
	ok(kvp_msg_build_ip(m, KVP_OP_GET_IP_INFO, &ip), "get ip");
	emit("bad-get-ip-info-adapter-utf8.bin");

	/* ---- malformed: registration ---- */
	ok(kvp_msg_build_register(m, KVP_OP_REGISTER1, "3.1"), "reg");
	memset(m + 4, 'v', 512);
	emit("bad-register1-version-no-nul.bin");
	return 0;
}
EOF

"$cc" -std=gnu11 -D_GNU_SOURCE -I"$srcdir/daemon" -o "$tmp/gen" "$tmp/gen.c" \
	"$srcdir/daemon/kvp-msg.c" "$srcdir/daemon/util.c"
mkdir -p "$out"
"$tmp/gen" "$out"
echo "seeds written to $out: $(ls "$out" | wc -l) files"

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kvp-proto.h - the kernel's KVP ABI (<linux/hyperv.h>) pinned by compile-time checks. */
#pragma once

#include <stddef.h>
#include <linux/hyperv.h>

/* One kernel<->daemon message, in both directions (PROTOCOL.md §1.2). */
#define KVP_MSG_SIZE 7432
/* One record of a /var/lib/hyperv/.kvp_pool_N file (key[512] + value[2048]). */
#define KVP_RECORD_SIZE (HV_KVP_EXCHANGE_MAX_KEY_SIZE + HV_KVP_EXCHANGE_MAX_VALUE_SIZE)
/* Version string the Linux driver sends in its registration reply. */
#define KVP_DRIVER_VERSION "3.1"

/* Byte sizes of the IP fields: the uapi declares them as __u16 arrays but the
 * kernel hands the daemon UTF-8, so each is a byte buffer of twice the count. */
#define KVP_ADAPTER_ID_BYTES (MAX_ADAPTER_ID_SIZE * 2)
#define KVP_IP_ADDR_BYTES (MAX_IP_ADDR_SIZE * 2)
#define KVP_GATEWAY_BYTES (MAX_GATEWAY_SIZE * 2)

#define KVP_ASSERT_OFFSET(type, member, off)                                   \
	_Static_assert(offsetof(type, member) == (off), #type "." #member " offset")

_Static_assert(sizeof(struct hv_kvp_msg) == KVP_MSG_SIZE, "hv_kvp_msg size");
_Static_assert(sizeof(struct hv_kvp_hdr) == 4, "hv_kvp_hdr size");
_Static_assert(sizeof(struct hv_kvp_exchg_msg_value) == 2572, "exchg_msg_value size");
_Static_assert(sizeof(struct hv_kvp_msg_enumerate) == 2576, "msg_enumerate size");
_Static_assert(sizeof(struct hv_kvp_msg_get) == 2572, "msg_get size");
_Static_assert(sizeof(struct hv_kvp_msg_set) == 2572, "msg_set size");
_Static_assert(sizeof(struct hv_kvp_msg_delete) == 516, "msg_delete size");
_Static_assert(sizeof(struct hv_kvp_register) == 512, "register size");
_Static_assert(sizeof(struct hv_kvp_ipaddr_value) == 7426, "ipaddr_value size");
_Static_assert(sizeof(struct hv_kvp_ip_msg) == 7428, "ip_msg size");
_Static_assert(sizeof(((struct hv_kvp_msg *)0)->body) == 7428, "hv_kvp_msg body size");
_Static_assert(KVP_RECORD_SIZE == 2560, "pool record size");

KVP_ASSERT_OFFSET(struct hv_kvp_exchg_msg_value, value_type, 0);
KVP_ASSERT_OFFSET(struct hv_kvp_exchg_msg_value, key_size, 4);
KVP_ASSERT_OFFSET(struct hv_kvp_exchg_msg_value, value_size, 8);
KVP_ASSERT_OFFSET(struct hv_kvp_exchg_msg_value, key, 12);
KVP_ASSERT_OFFSET(struct hv_kvp_exchg_msg_value, value, 524);
KVP_ASSERT_OFFSET(struct hv_kvp_ipaddr_value, adapter_id, 0);
KVP_ASSERT_OFFSET(struct hv_kvp_ipaddr_value, addr_family, 256);
KVP_ASSERT_OFFSET(struct hv_kvp_ipaddr_value, dhcp_enabled, 257);
KVP_ASSERT_OFFSET(struct hv_kvp_ipaddr_value, ip_addr, 258);
KVP_ASSERT_OFFSET(struct hv_kvp_ipaddr_value, sub_net, 2306);
KVP_ASSERT_OFFSET(struct hv_kvp_ipaddr_value, gate_way, 4354);
KVP_ASSERT_OFFSET(struct hv_kvp_ipaddr_value, dns_addr, 5378);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body, 4);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_set.data.key, 16);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_set.data.value, 528);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_delete.key, 8);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_enum_data.index, 4);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_enum_data.data.key, 20);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_enum_data.data.value, 532);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_ip_val.adapter_id, 4);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_ip_val.addr_family, 260);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_ip_val.dhcp_enabled, 261);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_ip_val.ip_addr, 262);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_ip_val.sub_net, 2310);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_ip_val.gate_way, 4358);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_ip_val.dns_addr, 5382);
KVP_ASSERT_OFFSET(struct hv_kvp_msg, body.kvp_register.version, 4);
_Static_assert(sizeof(((struct hv_kvp_ipaddr_value *)0)->ip_addr) == KVP_IP_ADDR_BYTES, "ip_addr bytes");
_Static_assert(sizeof(((struct hv_kvp_ipaddr_value *)0)->gate_way) == KVP_GATEWAY_BYTES, "gate_way bytes");
_Static_assert(sizeof(((struct hv_kvp_ipaddr_value *)0)->adapter_id) == KVP_ADAPTER_ID_BYTES, "adapter_id bytes");

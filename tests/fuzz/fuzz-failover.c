/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-failover.c - libFuzzer target: hostile SET_IP_INFO fields through the settings parser. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "adapter.h"
#include "failover.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input layout (what the seeds in corpus/failover/ are written in):
 *
 *   byte 0      addr_family
 *   byte 1      dhcp_enabled
 *   then        adapter_id \0 ip_addr \0 sub_net \0 gate_way \0 dns_addr
 *
 * Missing fields are empty; each is cut to its wire size, as the message
 * decoder would have delivered it; bytes after the fifth field are ignored.
 */
static void split(const uint8_t *data, size_t size, struct kvp_ip_fields *f)
{
	struct {
		char *dst;
		size_t max;
	} fields[] = {
		{ f->adapter_id, KVP_ADAPTER_ID_BYTES }, { f->ip_addr, KVP_IP_ADDR_BYTES },
		{ f->sub_net, KVP_IP_ADDR_BYTES },	 { f->gate_way, KVP_GATEWAY_BYTES },
		{ f->dns_addr, KVP_IP_ADDR_BYTES },
	};
	size_t pos = 2;

	memset(f, 0, sizeof(*f));
	f->addr_family = size > 0 ? data[0] : 0;
	f->dhcp_enabled = size > 1 ? data[1] : 0;
	for (size_t i = 0; i < ARRAY_SIZE(fields) && pos < size; i++) {
		const uint8_t *nul = memchr(data + pos, 0, size - pos);
		size_t len = nul ? (size_t)(nul - (data + pos)) : size - pos;

		memcpy(fields[i].dst, data + pos, MIN(len, fields[i].max));
		pos += len + 1;
	}
}

/* Messages end up in the journal: terminated, no raw control bytes, and
 * (when the host sent UTF-8, which the message decoder insists on) UTF-8. */
static void check_message(const char *err, size_t size, bool input_utf8)
{
	size_t len;

	CHECK(memchr(err, 0, size));
	len = strlen(err);
	for (size_t i = 0; i < len; i++)
		CHECK((unsigned char)err[i] >= 0x20 && err[i] != 0x7f);
	if (input_utf8)
		CHECK(utf8_valid(err, len));
}

static bool fields_utf8(const struct kvp_ip_fields *f)
{
	return utf8_valid(f->adapter_id, strlen(f->adapter_id)) &&
	       utf8_valid(f->ip_addr, strlen(f->ip_addr)) &&
	       utf8_valid(f->sub_net, strlen(f->sub_net)) &&
	       utf8_valid(f->gate_way, strlen(f->gate_way)) &&
	       utf8_valid(f->dns_addr, strlen(f->dns_addr));
}

static bool ip_eq(int family, const union in_addr_union *a, const union in_addr_union *b)
{
	if (family == AF_INET)
		return a->in.s_addr == b->in.s_addr;
	return memcmp(&a->in6, &b->in6, sizeof(a->in6)) == 0;
}

static bool ips_eq(const struct failover_ip *a, const struct failover_ip *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].family != b[i].family || !ip_eq(a[i].family, &a[i].addr, &b[i].addr))
			return false;
	return true;
}

static bool settings_eq(const struct failover_settings *x, const struct failover_settings *y)
{
	if (!streq(x->adapter_id, y->adapter_id) || x->dhcp4 != y->dhcp4 ||
	    x->addr_family_hint != y->addr_family_hint || x->n_addrs != y->n_addrs ||
	    x->n_gateways != y->n_gateways || x->n_dns != y->n_dns)
		return false;
	for (size_t i = 0; i < x->n_addrs; i++)
		if (x->addrs[i].family != y->addrs[i].family ||
		    x->addrs[i].prefixlen != y->addrs[i].prefixlen ||
		    !ip_eq(x->addrs[i].family, &x->addrs[i].addr, &y->addrs[i].addr))
			return false;
	return ips_eq(x->gateways, y->gateways, x->n_gateways) && ips_eq(x->dns, y->dns, x->n_dns);
}

static void check_settings(const struct kvp_ip_fields *in, const struct failover_settings *s)
{
	unsigned v4, v6;

	CHECK(streq(s->adapter_id, in->adapter_id) && !isempty(s->adapter_id));
	CHECK(s->dhcp4 == (in->dhcp_enabled == 1) && in->dhcp_enabled <= 1);
	CHECK(s->addr_family_hint == in->addr_family);
	CHECK(s->n_addrs <= FAILOVER_MAX_ADDRS);
	CHECK(s->n_gateways <= FAILOVER_MAX_GATEWAYS);
	CHECK(s->n_dns <= FAILOVER_MAX_DNS);
	CHECK(s->n_addrs >= 1 || s->dhcp4);
	for (size_t i = 0; i < s->n_addrs; i++) {
		const struct failover_addr *a = &s->addrs[i];

		CHECK(a->family == AF_INET || a->family == AF_INET6);
		CHECK(a->prefixlen >= 1 && a->prefixlen <= (a->family == AF_INET ? 32 : 128));
	}
	for (size_t i = 0; i < s->n_gateways; i++)
		CHECK(s->gateways[i].family == AF_INET || s->gateways[i].family == AF_INET6);
	for (size_t i = 0; i < s->n_dns; i++)
		CHECK(s->dns[i].family == AF_INET || s->dns[i].family == AF_INET6);
	failover_count(s, &v4, &v6);
	CHECK(v4 + v6 == s->n_addrs);
}

/* Parse -> format -> parse is the identity, and formatting is stable. */
static void check_round_trip(const struct failover_settings *s)
{
	static struct kvp_ip_fields out, out2;
	static struct failover_settings again;
	char err[256];
	int r;

	r = failover_format(s, &out);
	if (r != 0)
		fprintf(stderr, "failover_format: %d (%zu addresses)\n", r, s->n_addrs);
	CHECK(r == 0);
	r = failover_parse(&out, &again, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "formatted settings rejected: %s\n", err);
	CHECK(r == 0);
	CHECK(settings_eq(s, &again));
	CHECK(failover_format(&again, &out2) == 0);
	CHECK(memcmp(&out, &out2, sizeof(out)) == 0);
}

static bool lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void check_adapter_id(const char *id)
{
	char buf[64], again[64], *small;
	enum adapter_id_kind k = adapter_id_normalize(id, buf, sizeof(buf));
	size_t len;

	switch (k) {
	case ADAPTER_ID_GUID:
		CHECK(strlen(buf) == 36);
		for (size_t i = 0; i < 36; i++) {
			bool dash = i == 8 || i == 13 || i == 18 || i == 23;

			CHECK(dash ? buf[i] == '-' : lower_hex(buf[i]));
		}
		break;
	case ADAPTER_ID_MAC:
		CHECK(strlen(buf) == 17);
		for (size_t i = 0; i < 17; i++)
			CHECK(i % 3 == 2 ? buf[i] == ':' : lower_hex(buf[i]));
		break;
	case ADAPTER_ID_IFNAME:
		CHECK(streq(buf, id));
		CHECK(strlen(buf) < IF_NAMESIZE && !strchr(buf, '/'));
		break;
	case ADAPTER_ID_INVALID:
		return;
	default:
		CHECK(!"unknown adapter id kind");
	}
	CHECK(adapter_id_normalize(buf, again, sizeof(again)) == k);
	CHECK(streq(buf, again));

	/* exactly the room the result needs, on the heap so ASan sees past it */
	len = strlen(buf) + 1;
	small = malloc(len);
	CHECK(small);
	CHECK(adapter_id_normalize(id, small, len) == k);
	CHECK(streq(small, buf));
	free(small);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kvp_ip_fields in;
	static struct failover_settings s, s2;
	char err[256], tiny[8];
	bool utf8;
	int r;

	split(data, size, &in);
	utf8 = fields_utf8(&in);

	memset(err, 'X', sizeof(err));
	r = failover_parse(&in, &s, err, sizeof(err));
	CHECK(r == 0 || r == -EINVAL);
	check_message(err, sizeof(err), utf8);
	CHECK(r == 0 ? err[0] == '\0' : err[0] != '\0');

	/* the verdict does not depend on the message buffer */
	CHECK(failover_parse(&in, &s2, NULL, 0) == r);
	memset(tiny, 'X', sizeof(tiny));
	CHECK(failover_parse(&in, &s2, tiny, sizeof(tiny)) == r);
	CHECK(memchr(tiny, 0, sizeof(tiny)));
	CHECK(failover_parse(&in, &s2, tiny, 1) == r && tiny[0] == '\0');

	if (r == 0) {
		check_settings(&in, &s);
		check_round_trip(&s);
	}
	check_adapter_id(in.adapter_id);
	return 0;
}

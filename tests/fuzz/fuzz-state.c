/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-state.c - libFuzzer target: any file text through the state parser, then format -> parse is the identity. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "state.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What state_load() reads at most, and so what state_format() must fit in. */
#define STATE_TEXT_MAX (64 * 1024)

/* Terminated inside its array (parse never leaves a string open). */
#define TERMINATED(field) CHECK(memchr((field), 0, sizeof(field)) != NULL)

static void check_terminated(const struct adapter_state *st)
{
	TERMINATED(st->mac);
	TERMINATED(st->ifname);
	TERMINATED(st->host.adapter_id);
	TERMINATED(st->host.ip_addr);
	TERMINATED(st->host.sub_net);
	TERMINATED(st->host.gate_way);
	TERMINATED(st->host.dns_addr);
	TERMINATED(st->applied.adapter_id);
	TERMINATED(st->applied.ip_addr);
	TERMINATED(st->applied.sub_net);
	TERMINATED(st->applied.gate_way);
	TERMINATED(st->applied.dns_addr);
	TERMINATED(st->backend);
	TERMINATED(st->detail);
}

static bool ip_fields_eq(const struct kvp_ip_fields *a, const struct kvp_ip_fields *b)
{
	return streq(a->adapter_id, b->adapter_id) && a->addr_family == b->addr_family &&
	       a->dhcp_enabled == b->dhcp_enabled && streq(a->ip_addr, b->ip_addr) &&
	       streq(a->sub_net, b->sub_net) && streq(a->gate_way, b->gate_way) &&
	       streq(a->dns_addr, b->dns_addr);
}

/* Field by field: bytes after a string's NUL (a key given twice, the longer
 * value first) are not part of the state. */
static bool state_eq(const struct adapter_state *a, const struct adapter_state *b)
{
	return streq(a->mac, b->mac) && streq(a->ifname, b->ifname) &&
	       ip_fields_eq(&a->host, &b->host) && ip_fields_eq(&a->applied, &b->applied) &&
	       a->received_usec == b->received_usec && a->applied_usec == b->applied_usec &&
	       a->result == b->result && streq(a->backend, b->backend) &&
	       streq(a->detail, b->detail) && a->reapply == b->reapply &&
	       a->waiting_for_carrier == b->waiting_for_carrier;
}

/* One line per key, printable ASCII only: no host byte can start a line. */
static void check_text(const char *text)
{
	size_t len = strlen(text);

	CHECK(len > 0 && text[len - 1] == '\n');
	for (size_t i = 0; i < len; i++)
		CHECK(text[i] == '\n' || ((unsigned char)text[i] >= 0x20 && text[i] != 0x7f));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct adapter_state st, again, third;
	static char text[STATE_TEXT_MAX + 1], out[STATE_TEXT_MAX], out2[STATE_TEXT_MAX];
	int r;

	/* the file as state_load() hands it over: at most 64 KiB, one C string */
	if (size > STATE_TEXT_MAX)
		size = STATE_TEXT_MAX;
	memcpy(text, data, size);
	text[size] = '\0';

	r = state_parse(text, &st);
	CHECK(r == 0 || r == -EBADMSG);
	if (r < 0)
		return 0;
	check_terminated(&st);
	CHECK(!isempty(st.mac));

	/* whatever parsed can be written back, and reads back the same */
	r = state_format(&st, out, sizeof(out));
	if (r != 0)
		fprintf(stderr, "state_format of a parsed state: %d\n", r);
	CHECK(r == 0);
	check_text(out);
	r = state_parse(out, &again);
	if (r != 0)
		fprintf(stderr, "formatted state rejected:\n%s", out);
	CHECK(r == 0);
	CHECK(state_eq(&st, &again));

	/* and the text is stable from there on */
	CHECK(state_format(&again, out2, sizeof(out2)) == 0);
	CHECK(streq(out, out2));
	CHECK(state_parse(out2, &third) == 0);
	CHECK(state_eq(&again, &third));
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-ifupdown.c - libFuzzer target: any ifupdown configuration text through the ifupdown backend's edits, and any text as a link-original file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "link-original.h"
#include "util.h"
#ifdef HAVE_IFUPDOWN
#include "backend-ifupdown.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one byte picks the adapter (names and MACs that share prefixes),
 * the rest is the text (cut at its first NUL, as a C string). Properties:
 *   - taking our marker off undoes disabling exactly:
 *     restore(disable(x)) == restore(x), whatever x holds (markers,
 *     blocks, half blocks, CR, continuation lines);
 *   - disabling twice changes nothing the second time;
 *   - a block appended goes in last and comes out whole again;
 *   - a link-original text that parses formats to a text that parses to
 *     the same text again.
 */
#ifdef HAVE_IFUPDOWN
static const struct adapter adapters[] = {
	{ .ifname = "eth0", .ifindex = 2, .mac = "00:15:5d:00:00:01" },
	{ .ifname = "eth", .ifindex = 3, .mac = "00:15:5d:00:00:0a" },
	{ .ifname = "eth0.100", .ifindex = 4, .mac = "00:15:5d:00:00:01" },
};

static void edits(const struct adapter *a, const char *text)
{
	char block[256], key[ADAPTER_MAC_KEY_SIZE];
	bool changed = false;
	char *d = ifu_disable_stanzas(text, a, &changed);
	char *dd, *r1, *r2, *with, *r3;

	CHECK(d);
	CHECK(adapter_mac_key(a->mac, key, sizeof(key)) == 0);
	snprintf(block, sizeof(block),
		 "# hvkvpd %s begin\niface %s inet static\n\taddress 192.0.2.1/24\n# hvkvpd %s end\n",
		 key, a->ifname, key);
	changed = false;
	dd = ifu_disable_stanzas(d, a, &changed);
	CHECK(dd && !changed && streq(dd, d));
	r1 = ifu_restore_and_block(d, a, NULL, &changed);
	r2 = ifu_restore_and_block(text, a, NULL, &changed);
	CHECK(r1 && r2 && streq(r1, r2));
	with = ifu_restore_and_block(r2, a, block, &changed);
	CHECK(with);
	r3 = ifu_restore_and_block(with, a, NULL, &changed);
	/* the block goes in last and comes out whole */
	CHECK(strlen(with) >= strlen(block) && streq(with + strlen(with) - strlen(block), block));
	CHECK(r3 && !strstr(r3, block));
	free(d);
	free(dd);
	free(r1);
	free(r2);
	free(with);
	free(r3);
}
#endif

static void original(const char *text)
{
	static struct link_state l, back;
	static char buf[64 * 1024], buf2[64 * 1024];

	if (link_original_parse(text, &l) < 0)
		return;
	CHECK(link_original_format(&l, buf, sizeof(buf)) == 0);
	CHECK(link_original_parse(buf, &back) == 0);
	CHECK(link_original_format(&back, buf2, sizeof(buf2)) == 0);
	CHECK(streq(buf, buf2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	text = strndup((const char *)data + 1, size - 1);
	if (!text)
		return 0;
#ifdef HAVE_IFUPDOWN
	edits(&adapters[data[0] % ARRAY_SIZE(adapters)], text);
#endif
	original(text);
	free(text);
	return 0;
}

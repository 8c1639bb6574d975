/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-networkd-state.c - libFuzzer target: any text as networkd's per-link state file (/run/systemd/netif/links/N). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend-networkd.h"
#include "fuzz-util.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *text_copy(const uint8_t *data, size_t size)
{
	char *t = malloc(size + 1);

	CHECK(t);
	memcpy(t, data, size);
	t[size] = '\0';
	return t;
}

static void check_valid(const struct nd_link_file *lf)
{
	CHECK(memchr(lf->admin, 0, sizeof(lf->admin)));
	CHECK(memchr(lf->network_file, 0, sizeof(lf->network_file)));
	CHECK(lf->n_dns <= FAILOVER_MAX_DNS);
	for (size_t i = 0; i < lf->n_dns; i++)
		CHECK(lf->dns[i].family == AF_INET || lf->dns[i].family == AF_INET6);
}

/* The addresses, written back the way networkd writes them, read the same. */
static void check_dns_round_trip(const struct nd_link_file *lf)
{
	static struct nd_link_file again;
	char line[32 + FAILOVER_MAX_DNS * (INET6_ADDRSTRLEN + 1)] = "DNS=";
	size_t off = strlen(line);

	for (size_t i = 0; i < lf->n_dns; i++) {
		char ip[INET6_ADDRSTRLEN];

		CHECK(inet_ntop(lf->dns[i].family, &lf->dns[i].addr, ip, sizeof(ip)));
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s", i ? " " : "", ip);
		CHECK(off < sizeof(line));
	}
	nd_link_file_parse(line, &again);
	CHECK(again.n_dns == lf->n_dns);
	for (size_t i = 0; i < lf->n_dns; i++) {
		size_t len = lf->dns[i].family == AF_INET ? 4 : 16;

		CHECK(again.dns[i].family == lf->dns[i].family);
		CHECK(memcmp(&again.dns[i].addr, &lf->dns[i].addr, len) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nd_link_file lf, lf2;
	char *text = text_copy(data, size), *text2 = text_copy(data, size);

	nd_link_file_parse(text, &lf);
	check_valid(&lf);

	/* pure: the same text gives the same answer */
	nd_link_file_parse(text2, &lf2);
	CHECK(streq(lf.admin, lf2.admin) && streq(lf.network_file, lf2.network_file));
	CHECK(lf.n_dns == lf2.n_dns);
	CHECK(memcmp(lf.dns, lf2.dns, lf.n_dns * sizeof(lf.dns[0])) == 0);

	check_dns_round_trip(&lf);
	free(text);
	free(text2);
	return 0;
}

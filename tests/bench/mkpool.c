/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mkpool.c - writes a pool file of N upstream-format records, for the benchmark. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "pool.h"
#include "util.h"

int main(int argc, char **argv)
{
	unsigned long n;
	uint8_t rec[KVP_RECORD_SIZE];
	int fd;

	if (argc != 4 || parse_uint(argv[2], 10000000, &n) < 0) {
		fprintf(stderr, "usage: mkpool FILE COUNT KEY-PREFIX\n");
		return 2;
	}
	if (n > KVP_POOL_MAX_RECORDS)
		fprintf(stderr, "mkpool: note: %lu records is more than the %u a pool may hold; hvkvpd serves such a pool read-only\n",
			n, KVP_POOL_MAX_RECORDS);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	for (unsigned long i = 0; i < n; i++) {
		char key[256];

		snprintf(key, sizeof(key), "%s%lu", argv[3], i);
		if (kvp_pool_record_format(rec, key, "bench-value") < 0 ||
		    loop_write(fd, rec, sizeof(rec)) < 0) {
			perror("write");
			return 1;
		}
	}
	return close(fd) == 0 ? 0 : 1;
}

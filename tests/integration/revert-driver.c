/* SPDX-License-Identifier: GPL-2.0-or-later */
/* revert-driver.c - test-only: calls link_config_revert() as `hvkvpctl revert` will, and prints the result. */
#include <getopt.h>
#include <stdio.h>

#include "hv-error.h"
#include "link-config.h"
#include "log.h"
#include "pool.h"
#include "util.h"

/*
 * revert-driver --state-dir DIR [--pool-dir DIR] [--backend NAME]
 *               [--budget-sec N] [--dry-run] ADAPTER
 * Honours the same test seams as hvkvpd (HVKVPD_TEST_SEAMS=1 with
 * HVKVPD_TEST_SYSFS_ROOT, HVKVPD_TEST_IFUPDOWN_DIR). Prints
 * "rc=N backend=... message=..." and exits 0 on success, 1 on failure,
 * 2 on ENOENT (nothing to revert).
 */
int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "pool-dir", required_argument, NULL, 'p' },
		{ "backend", required_argument, NULL, 'b' },
		{ "budget-sec", required_argument, NULL, 't' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ 0 },
	};
	struct link_config_options o = { 0 };
	struct link_config_result res;
	struct link_config *c = NULL;
	struct kvp_pool *guest = NULL;
	const char *pool_dir = NULL;
	unsigned long sec;
	bool dry_run = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (opt) {
		case 's': o.state_dir = optarg; break;
		case 'p': pool_dir = optarg; break;
		case 'b': o.forced_backend = optarg; break;
		case 't':
			if (parse_uint(optarg, 600, &sec) < 0)
				return 64;
			o.budget_usec = sec * 1000000ULL;
			break;
		case 'n': dry_run = true; break;
		default: return 64;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: revert-driver --state-dir DIR [--pool-dir DIR] [--backend NAME] [--dry-run] ADAPTER\n");
		return 64;
	}
	log_setup("revert-driver", LOG_TARGET_STDERR);
	log_set_max_level(7);
	if (streq_ptr(getenv("HVKVPD_TEST_SEAMS"), "1"))
		o.sysfs_root = getenv("HVKVPD_TEST_SYSFS_ROOT");
	if (pool_dir && kvp_pool_open(pool_dir, KVP_POOL_GUEST, &guest) < 0)
		guest = NULL;
	r = link_config_new(&o, guest, &c);
	if (r < 0) {
		fprintf(stderr, "revert-driver: %s\n", strerror(-r));
		return 1;
	}
	r = link_config_revert(c, argv[optind], dry_run, &res);
	printf("rc=%d backend=%s message=%s\n", r, res.backend, res.message);
	link_config_free(c);
	if (guest) {
		(void)kvp_pool_flush(guest);
		kvp_pool_free(guest);
	}
	return r == 0 ? 0 : r == -ENOENT ? 2 : 1;
}

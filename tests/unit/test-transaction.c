/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-transaction.c - backend_apply() and backend_select() driven through a fake backend that records every call. */
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "hv-error.h"
#include "kvp-proto.h"
#include "suites.h"
#include "util.h"

#define SEC 1000000ULL

/* ---- the fake backend ---------------------------------------------------------- */

enum step { SNAPSHOT, APPLY, VERIFY, PERSIST, ROLLBACK, FREE, N_STEPS };

static const char *const step_names[N_STEPS] = { "snapshot", "apply", "verify",
						  "persist",  "rollback", "free" };

/* What the fake does and what it saw; b->data points to it. */
struct fake {
	int fail_step;	  /* the step that fails (N_STEPS: none) */
	int error;	  /* ... with this errno */
	int rollback_error;
	int probe;	  /* what probe() answers */
	char calls[128];  /* "snapshot apply verify ..." */
	int snapshot_token; /* the snapshot's identity: its address is handed out */
	bool wrong_snapshot; /* a step got another pointer than the one snapshot() made */
	bool wrong_backend;  /* snapshot_free() got another backend */
	struct backend *self;
	uint64_t apply_deadline, verify_deadline, rollback_deadline;
};

static void called(struct fake *f, enum step step, void *snapshot)
{
	size_t len = strlen(f->calls);

	snprintf(f->calls + len, sizeof(f->calls) - len, "%s%s", len ? " " : "", step_names[step]);
	if (step != SNAPSHOT && snapshot != &f->snapshot_token)
		f->wrong_snapshot = true;
}

static int outcome(struct fake *f, enum step step)
{
	return f->fail_step == (int)step ? f->error : 0;
}

static int fake_probe(struct backend *b, const struct adapter *a)
{
	return ((struct fake *)b->data)->probe;
}

static int fake_snapshot(struct backend *b, const struct adapter *a, uint64_t deadline_usec,
			 struct backend_result *res, void **ret)
{
	struct fake *f = b->data;

	called(f, SNAPSHOT, NULL);
	if (outcome(f, SNAPSHOT))
		return outcome(f, SNAPSHOT);
	*ret = &f->snapshot_token;
	return 0;
}

static int fake_apply(struct backend *b, void *snap, const struct adapter *a,
		      const struct failover_settings *s, uint64_t deadline, struct backend_result *res)
{
	struct fake *f = b->data;

	called(f, APPLY, snap);
	f->apply_deadline = deadline;
	backend_result_set(res, true, s, " (fake)");
	return outcome(f, APPLY);
}

static int fake_verify(struct backend *b, void *snap, const struct adapter *a,
		       const struct failover_settings *s, uint64_t deadline, struct backend_result *res)
{
	struct fake *f = b->data;

	called(f, VERIFY, snap);
	f->verify_deadline = deadline;
	return outcome(f, VERIFY);
}

static int fake_persist(struct backend *b, void *snap, const struct adapter *a,
			const struct failover_settings *s)
{
	struct fake *f = b->data;

	called(f, PERSIST, snap);
	return outcome(f, PERSIST);
}

static int fake_rollback(struct backend *b, void *snap, const struct adapter *a, uint64_t deadline)
{
	struct fake *f = b->data;

	called(f, ROLLBACK, snap);
	f->rollback_deadline = deadline;
	return f->rollback_error;
}

static void fake_snapshot_free(struct backend *b, void *snap)
{
	struct fake *f = b->data;

	called(f, FREE, snap);
	if (b != f->self)
		f->wrong_backend = true;
}

static const struct backend_ops fake_ops = {
	.name = "fake",
	.probe = fake_probe,
	.snapshot = fake_snapshot,
	.apply = fake_apply,
	.verify = fake_verify,
	.persist = fake_persist,
	.rollback = fake_rollback,
	.snapshot_free = fake_snapshot_free,
};

/* The same without a persist step (as netlink and networkd). */
static struct backend_ops fake_ops_no_persist;

static struct fake fake;
static struct backend fake_backend;
static const struct adapter adapter = { .ifname = "eth7", .ifindex = 7, .mac = "00:15:5d:00:00:07" };
static const struct failover_settings settings;

static void reset(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.fail_step = N_STEPS;
	fake.probe = 1;
	fake.self = &fake_backend;
	fake_backend.ops = &fake_ops;
	fake_backend.data = &fake;
	fake_ops_no_persist = fake_ops;
	fake_ops_no_persist.persist = NULL;
	unsetenv("HVKVPD_TEST_SEAMS");
	unsetenv("HVKVPD_TEST_FAIL_AT");
}

static void fixture_down(void)
{
	unsetenv("HVKVPD_TEST_SEAMS");
	unsetenv("HVKVPD_TEST_FAIL_AT");
}

/* Runs one transaction against the fake, 30 s ahead; returns the host's code. */
static uint32_t run(struct backend_result *res)
{
	return hv_error_from_errno(backend_apply(&fake_backend, &adapter, &settings,
						 now_usec() + 30 * SEC, res));
}

/* ---- order of the steps ---------------------------------------------------------- */

START_TEST(test_success_runs_every_step_once)
{
	struct backend_result res;

	reset();
	ck_assert_uint_eq(run(&res), HV_S_OK);
	ck_assert_str_eq(fake.calls, "snapshot apply verify persist free");
	ck_assert(!fake.wrong_snapshot);
	ck_assert(!fake.wrong_backend);
	ck_assert_str_eq(res.backend, "fake");
	ck_assert(res.changed);
	ck_assert_str_eq(res.detail, "applied 0 IPv4, 0 IPv6, 0 gateways, 0 DNS (fake)");
}
END_TEST

START_TEST(test_no_persist_op)
{
	struct backend_result res;

	reset();
	fake_backend.ops = &fake_ops_no_persist;
	ck_assert_uint_eq(run(&res), HV_S_OK);
	ck_assert_str_eq(fake.calls, "snapshot apply verify free");
}
END_TEST

/* Each step fails in turn: everything after it is skipped, a rollback
 * follows every failure once a snapshot exists, and the snapshot is freed
 * exactly once. */
START_TEST(test_each_step_fails)
{
	static const char *const want[] = {
		[SNAPSHOT] = "snapshot",
		[APPLY] = "snapshot apply rollback free",
		[VERIFY] = "snapshot apply verify rollback free",
		[PERSIST] = "snapshot apply verify persist rollback free",
	};
	struct backend_result res;

	reset();
	fake.fail_step = _i;
	fake.error = -EIO;
	ck_assert_uint_eq(run(&res), HV_E_FAIL);
	ck_assert_msg(streq(fake.calls, want[_i]), "failing %s: calls '%s', expected '%s'",
		      step_names[_i], fake.calls, want[_i]);
	ck_assert(!fake.wrong_snapshot);
	ck_assert(!fake.wrong_backend);
}
END_TEST

/* A rollback that fails too does not hide the step's error, nor leak. */
START_TEST(test_rollback_fails_too)
{
	struct backend_result res;

	reset();
	fake.fail_step = VERIFY;
	fake.error = -EBUSY;
	fake.rollback_error = -EIO;
	ck_assert_uint_eq(run(&res), HV_ERROR_MACHINE_LOCKED);
	ck_assert_str_eq(fake.calls, "snapshot apply verify rollback free");
}
END_TEST

/* ---- the deadlines ---------------------------------------------------------------- */

/* apply and verify get the deadline less the rollback's reserve (8 s at most,
 * a third of what is left when that is less); the rollback the whole of it. */
START_TEST(test_reserve_kept_for_rollback)
{
	struct backend_result res;
	uint64_t deadline;

	reset();
	fake.fail_step = VERIFY;
	fake.error = -EIO;
	deadline = now_usec() + 30 * SEC;
	ck_assert_uint_eq(hv_error_from_errno(backend_apply(&fake_backend, &adapter, &settings,
							    deadline, &res)),
			  HV_E_FAIL);
	ck_assert_uint_eq(fake.apply_deadline, deadline - 8 * SEC);
	ck_assert_uint_eq(fake.verify_deadline, deadline - 8 * SEC);
	ck_assert_uint_eq(fake.rollback_deadline, deadline);
}
END_TEST

START_TEST(test_reserve_short_budget)
{
	struct backend_result res;
	uint64_t deadline, start;

	reset();
	fake.fail_step = APPLY;
	fake.error = -EIO;
	start = now_usec();
	deadline = start + 6 * SEC;
	backend_apply(&fake_backend, &adapter, &settings, deadline, &res);
	/* a third of the 6 s left (a little less, as time passed) */
	ck_assert_uint_ge(fake.apply_deadline, deadline - 2 * SEC);
	ck_assert_uint_le(fake.apply_deadline, deadline - 2 * SEC + (now_usec() - start));
	ck_assert_uint_lt(fake.apply_deadline, deadline);
	ck_assert_uint_eq(fake.rollback_deadline, deadline);
}
END_TEST

START_TEST(test_deadline_passed)
{
	struct backend_result res;
	uint64_t deadline = now_usec() - 1;

	reset();
	fake.fail_step = APPLY;
	fake.error = -EIO;
	backend_apply(&fake_backend, &adapter, &settings, deadline, &res);
	ck_assert_uint_eq(fake.apply_deadline, deadline);
	ck_assert_uint_eq(fake.rollback_deadline, deadline);
}
END_TEST

/* ---- what the host reads --------------------------------------------------------- */

START_TEST(test_host_codes)
{
	static const struct {
		int step, error;
		uint32_t code;
	} cases[] = {
		{ SNAPSHOT, -EBUSY, HV_ERROR_MACHINE_LOCKED }, /* another tool's checkpoint */
		{ SNAPSHOT, -ENOENT, HV_E_FAIL },	       /* never HV_S_CONT */
		{ SNAPSHOT, -ENOMEM, HV_E_FAIL },
		{ APPLY, -EOPNOTSUPP, HV_ERROR_NOT_SUPPORTED }, /* DHCP nothing can do */
		{ APPLY, -EINVAL, HV_E_FAIL },			/* never HV_INVALIDARG */
		{ APPLY, -ENODEV, HV_E_FAIL },			/* never HV_GUID_NOTFOUND */
		{ VERIFY, -ETIMEDOUT, HV_E_FAIL },
		{ VERIFY, -EEXIST, HV_E_FAIL },
		{ PERSIST, -ENOSPC, HV_E_FAIL },
		{ PERSIST, -EBUSY, HV_ERROR_MACHINE_LOCKED },
	};
	struct backend_result res;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint32_t code;

		reset();
		fake.fail_step = cases[i].step;
		fake.error = cases[i].error;
		code = run(&res);
		ck_assert_msg(code == cases[i].code, "%s failing with %d: host reads %s, expected %s",
			      step_names[cases[i].step], cases[i].error, hv_error_to_string(code),
			      hv_error_to_string(cases[i].code));
	}
}
END_TEST

/* ---- the environment seam of the integration tests -------------------------------- */

START_TEST(test_seam_injects_after_the_step)
{
	struct backend_result res;

	reset();
	setenv("HVKVPD_TEST_SEAMS", "1", 1);
	setenv("HVKVPD_TEST_FAIL_AT", "verify", 1);
	ck_assert_uint_eq(run(&res), HV_E_FAIL);
	ck_assert_str_eq(fake.calls, "snapshot apply verify rollback free");
}
END_TEST

START_TEST(test_seam_needs_both_variables)
{
	struct backend_result res;

	reset();
	setenv("HVKVPD_TEST_FAIL_AT", "apply", 1);
	ck_assert_uint_eq(run(&res), HV_S_OK);
	ck_assert_str_eq(fake.calls, "snapshot apply verify persist free");
}
END_TEST

/* ---- selection --------------------------------------------------------------------- */

static struct fake second;

static void two_backends(struct backend_set *set)
{
	reset();
	memset(&second, 0, sizeof(second));
	second.fail_step = N_STEPS;
	memset(set, 0, sizeof(*set));
	set->n = 2;
	set->backends[0] = fake_backend;
	set->backends[1].ops = &fake_ops_no_persist;
	set->backends[1].data = &second;
}

START_TEST(test_select_first_that_manages)
{
	struct backend_set set;
	struct backend *b = NULL;

	two_backends(&set);
	fake.probe = 0;
	second.probe = 1;
	ck_assert_int_eq(backend_select(&set, "auto", &adapter, &b), 0);
	ck_assert_ptr_eq(b, &set.backends[1]);
	fake.probe = 1;
	ck_assert_int_eq(backend_select(&set, NULL, &adapter, &b), 0);
	ck_assert_ptr_eq(b, &set.backends[0]);
}
END_TEST

START_TEST(test_select_errors_reach_host_narrowed)
{
	struct backend_set set;
	struct backend *b = NULL;

	two_backends(&set);
	/* nobody takes the link: "cannot happen", and never HV_S_CONT */
	fake.probe = 0;
	second.probe = 0;
	ck_assert_uint_eq(hv_error_from_errno(backend_select(&set, "auto", &adapter, &b)),
			  HV_E_FAIL);
	/* a manager that cannot say whether it owns the link */
	fake.probe = -ENOENT;
	ck_assert_uint_eq(hv_error_from_errno(backend_select(&set, "auto", &adapter, &b)),
			  HV_E_FAIL);
	fake.probe = -ENODEV;
	ck_assert_uint_eq(hv_error_from_errno(backend_select(&set, "auto", &adapter, &b)),
			  HV_E_FAIL);
	/* a forced backend that is not there */
	ck_assert_uint_eq(hv_error_from_errno(backend_select(&set, "networkd", &adapter, &b)),
			  HV_ERROR_NOT_SUPPORTED);
	ck_assert_ptr_null(b);
}
END_TEST

START_TEST(test_result_line)
{
	struct failover_settings s = { 0 };
	struct backend_result res = { 0 };

	s.n_addrs = 2;
	s.addrs[0].family = AF_INET;
	s.addrs[1].family = AF_INET6;
	s.n_gateways = 1;
	s.gateways[0].family = AF_INET;
	s.n_dns = 3;
	backend_result_set(&res, false, &s, "%s (%s)", ", DHCPv4", "x.network");
	ck_assert(!res.changed);
	ck_assert_str_eq(res.detail, "unchanged: 1 IPv4, 1 IPv6, 1 gateway, 3 DNS, DHCPv4 (x.network)");
	backend_result_set(&res, true, &s, "%s", "");
	ck_assert(res.changed);
	ck_assert_str_eq(res.detail, "applied 1 IPv4, 1 IPv6, 1 gateway, 3 DNS");
}
END_TEST

Suite *transaction_suite(void)
{
	Suite *s = suite_create("transaction");
	TCase *tc;

	tc = tcase_create("steps");
	tcase_add_checked_fixture(tc, NULL, fixture_down);
	tcase_add_test(tc, test_success_runs_every_step_once);
	tcase_add_test(tc, test_no_persist_op);
	tcase_add_loop_test(tc, test_each_step_fails, SNAPSHOT, PERSIST + 1);
	tcase_add_test(tc, test_rollback_fails_too);
	tcase_add_test(tc, test_seam_injects_after_the_step);
	tcase_add_test(tc, test_seam_needs_both_variables);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadlines");
	tcase_add_test(tc, test_reserve_kept_for_rollback);
	tcase_add_test(tc, test_reserve_short_budget);
	tcase_add_test(tc, test_deadline_passed);
	suite_add_tcase(s, tc);

	tc = tcase_create("host codes");
	tcase_add_test(tc, test_host_codes);
	tcase_add_test(tc, test_select_first_that_manages);
	tcase_add_test(tc, test_select_errors_reach_host_narrowed);
	tcase_add_test(tc, test_result_line);
	suite_add_tcase(s, tc);
	return s;
}

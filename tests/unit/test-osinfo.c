/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-osinfo.c - auto pool keys, order and formats (upstream compatible). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "osinfo.h"
#include "suites.h"
#include "test-util.h"
#include "util.h"

static char root[64];

static void write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/etc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s%s", root, rel);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	test_tmpdir(root, sizeof(root), "osinfo");
}

static void teardown(void)
{
	test_rm_tree(root);
}

START_TEST(test_key_order)
{
	static const char *const expected[] = {
		"FullyQualifiedDomainName", "IntegrationServicesVersion", "NetworkAddressIPv4",
		"NetworkAddressIPv6", "OSBuildNumber", "OSName", "OSMajorVersion",
		"OSMinorVersion", "OSVersion", "ProcessorArchitecture",
	};
	struct osinfo o;
	char key[512], value[2048];

	osinfo_init(&o, root);
	for (uint32_t i = 0; i < ARRAY_SIZE(expected); i++) {
		ck_assert_int_eq(osinfo_enumerate(&o, i, key, sizeof(key), value, sizeof(value)), 0);
		ck_assert_str_eq(key, expected[i]);
		ck_assert_str_eq(osinfo_key_name(i), expected[i]);
	}
	ck_assert_int_eq(osinfo_enumerate(&o, 10, key, sizeof(key), value, sizeof(value)), -ENOENT);
	ck_assert_int_eq(osinfo_enumerate(&o, UINT32_MAX, key, sizeof(key), value, sizeof(value)),
			 -ENOENT);
	ck_assert_ptr_null(osinfo_key_name(10));
}
END_TEST

START_TEST(test_os_release)
{
	struct osinfo o;
	char key[512], value[2048];

	write_file("/etc/os-release", "# comment\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
				      "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n");
	osinfo_init(&o, root);
	osinfo_enumerate(&o, 5, key, sizeof(key), value, sizeof(value));
	ck_assert_str_eq(value, "Debian GNU/Linux");
	osinfo_enumerate(&o, 6, key, sizeof(key), value, sizeof(value));
	ck_assert_str_eq(value, "12");
	osinfo_enumerate(&o, 7, key, sizeof(key), value, sizeof(value));
	ck_assert_str_eq(value, "");
}
END_TEST

START_TEST(test_os_release_quoting)
{
	struct osinfo o;

	memset(&o, 0, sizeof(o));
	osinfo_parse_os_release(&o, "NAME='Single Quoted'\nVERSION_ID=9.3\n");
	ck_assert_str_eq(o.os_name, "Single Quoted");
	ck_assert_str_eq(o.os_major, "9.3");
	osinfo_parse_os_release(&o, "NAME=\"Esc \\\"aped\\\" \\\\ name\"");
	ck_assert_str_eq(o.os_name, "Esc \"aped\" \\ name");
	/* no '=' and comments are skipped, unknown keys ignored */
	osinfo_parse_os_release(&o, "garbage line\n#NAME=no\nFOO=bar");
	ck_assert_str_eq(o.os_name, "Esc \"aped\" \\ name");
}
END_TEST

START_TEST(test_legacy_release)
{
	struct osinfo o;

	write_file("/etc/redhat-release", "Red Hat Enterprise Linux Server\n7\n9\n");
	osinfo_init(&o, root);
	ck_assert_str_eq(o.os_name, "Red Hat Enterprise Linux Server");
	ck_assert_str_eq(o.os_major, "7");
	ck_assert_str_eq(o.os_minor, "9");
}
END_TEST

START_TEST(test_no_release_defaults)
{
	struct osinfo o;
	struct utsname u;
	char expect[128], *dash;

	ck_assert_int_eq(uname(&u), 0);
	osinfo_init(&o, root);
	ck_assert_str_eq(o.os_name, u.sysname);
	ck_assert_str_eq(o.os_build, u.release);
	ck_assert_str_eq(o.arch, u.machine);
	ck_assert_str_eq(o.ic_version, "Unknown version");
	strscpy(expect, sizeof(expect), u.release);
	dash = strchr(expect, '-');
	if (dash)
		*dash = '\0';
	ck_assert_str_eq(o.os_version, expect);
	ck_assert_ptr_null(strchr(o.os_version, '-'));
}
END_TEST

START_TEST(test_setters)
{
	struct osinfo o;
	char key[512], value[2048];

	osinfo_init(&o, root);
	osinfo_set_ic_version(&o, "3.1");
	osinfo_set_fqdn(&o, "vm1.example.com");
	osinfo_set_fqdn(&o, ""); /* an empty answer keeps the previous name */
	osinfo_enumerate(&o, 0, key, sizeof(key), value, sizeof(value));
	ck_assert_str_eq(value, "vm1.example.com");
	osinfo_enumerate(&o, 1, key, sizeof(key), value, sizeof(value));
	ck_assert_str_eq(value, "3.1");
}
END_TEST

static void check_address_list(int family, const char *list)
{
	char copy[2048], *save = NULL, *tok;
	unsigned char bin[16];

	strscpy(copy, sizeof(copy), list);
	for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		ck_assert_int_eq(inet_pton(family, tok, bin), 1);
		ck_assert_str_ne(tok, "127.0.0.1");
		ck_assert_str_ne(tok, "::1");
	}
	ck_assert(list[0] != ';');
	ck_assert(strlen(list) == 0 || list[strlen(list) - 1] != ';');
}

/* What getifaddrs() would list: one entry and its address. */
struct fake_ifaddr {
	struct ifaddrs ifa;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
		struct sockaddr_ll ll;
	} addr;
};

/* Appends an entry to f[0..*n) (linked in order); addr NULL for an entry
 * without an address, family AF_PACKET for a link-layer one. */
static void fake_add(struct fake_ifaddr *f, size_t *n, const char *name, unsigned flags,
		     int family, const char *addr)
{
	struct fake_ifaddr *e = &f[*n];

	memset(e, 0, sizeof(*e));
	e->ifa.ifa_name = (char *)name;
	e->ifa.ifa_flags = flags;
	if (addr) {
		e->addr.sa.sa_family = (sa_family_t)family;
		if (family == AF_INET)
			ck_assert_int_eq(inet_pton(AF_INET, addr, &e->addr.in.sin_addr), 1);
		else if (family == AF_INET6)
			ck_assert_int_eq(inet_pton(AF_INET6, addr, &e->addr.in6.sin6_addr), 1);
		e->ifa.ifa_addr = &e->addr.sa;
	}
	if (*n > 0)
		f[*n - 1].ifa.ifa_next = &e->ifa;
	(*n)++;
}

/* Loopback, link-layer and address-less entries mixed with real ones. */
static const struct ifaddrs *fake_list(struct fake_ifaddr *f)
{
	size_t n = 0;

	fake_add(f, &n, "lo", IFF_UP | IFF_LOOPBACK, AF_INET, "127.0.0.1");
	fake_add(f, &n, "eth0", IFF_UP, AF_PACKET, "");
	fake_add(f, &n, "eth0", IFF_UP, AF_INET, "192.0.2.10");
	fake_add(f, &n, "lo", IFF_UP | IFF_LOOPBACK, AF_INET6, "::1");
	fake_add(f, &n, "eth0", IFF_UP, AF_INET6, "2001:db8::10");
	fake_add(f, &n, "tun0", IFF_UP, AF_INET, NULL);
	fake_add(f, &n, "eth1", IFF_UP, AF_INET, "198.51.100.7");
	fake_add(f, &n, "eth1", IFF_UP, AF_INET6, "fe80::1");
	return &f[0].ifa;
}

START_TEST(test_addresses)
{
	struct fake_ifaddr f[8];
	const struct ifaddrs *list = fake_list(f);
	char buf[2048], small[12];

	ck_assert_int_eq(osinfo_addresses_from(list, AF_INET, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "192.0.2.10;198.51.100.7");
	ck_assert_int_eq(osinfo_addresses_from(list, AF_INET6, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "2001:db8::10;fe80::1");
	/* a list that does not fit ends early, on a whole address */
	ck_assert_int_eq(osinfo_addresses_from(list, AF_INET, small, sizeof(small)), -ENOBUFS);
	ck_assert_str_eq(small, "192.0.2.10");
	ck_assert_int_eq(osinfo_addresses_from(list, AF_INET6, small, 5), -ENOBUFS);
	ck_assert_str_eq(small, "");
	ck_assert_int_eq(osinfo_addresses_from(list, AF_INET, small, 0), -ENOBUFS);
	/* nothing to report is an empty list */
	ck_assert_int_eq(osinfo_addresses_from(NULL, AF_INET, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(osinfo_addresses_from(list, AF_UNIX, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

/* The machine's own interfaces: whatever they hold, the lists are well-formed. */
START_TEST(test_addresses_live)
{
	char buf[2048], tiny[8];

	ck_assert_int_eq(osinfo_addresses(AF_INET, buf, sizeof(buf)), 0);
	check_address_list(AF_INET, buf);
	ck_assert_int_eq(osinfo_addresses(AF_INET6, buf, sizeof(buf)), 0);
	check_address_list(AF_INET6, buf);
	osinfo_addresses(AF_INET6, tiny, sizeof(tiny));
	check_address_list(AF_INET6, tiny);
}
END_TEST

/* ---- the lookup child's start ---------------------------------------------------- */

/* The daemon's signal state: SIGTERM blocked (sd-event), SIGHUP ignored. */
static void daemon_like_signals(sigset_t *ret_old_mask, struct sigaction *ret_old_hup)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t term;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &term, ret_old_mask), 0);
	ck_assert_int_eq(sigaction(SIGHUP, &ign, ret_old_hup), 0);
}

static void restore_signals(const sigset_t *mask, const struct sigaction *hup)
{
	sigprocmask(SIG_SETMASK, mask, NULL);
	sigaction(SIGHUP, hup, NULL);
}

static int wait_status(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* Nothing of the daemon's signal state is left, the lifetime is bounded and
 * the child dies with its parent; exit code: a bit per thing found wrong. */
START_TEST(test_child_setup_state)
{
	struct sigaction old_hup;
	sigset_t old_mask;
	pid_t pid;
	int status;

	daemon_like_signals(&old_mask, &old_hup);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sigaction sa;
		sigset_t now;
		int pdeath = 0, bad = 0;

		if (osinfo_child_setup(getppid()) != 0)
			_exit(1);
		if (sigprocmask(SIG_SETMASK, NULL, &now) < 0 || sigismember(&now, SIGTERM) ||
		    sigismember(&now, SIGINT))
			bad |= 2;
		if (sigaction(SIGHUP, NULL, &sa) < 0 || sa.sa_handler != SIG_DFL)
			bad |= 4;
		if (prctl(PR_GET_PDEATHSIG, &pdeath) < 0 || pdeath != SIGKILL)
			bad |= 8;
		if (alarm(0) == 0)
			bad |= 16;
		_exit(bad);
	}
	status = wait_status(pid);
	restore_signals(&old_mask, &old_hup);
	ck_assert_msg(WIFEXITED(status), "child died of signal %d", WTERMSIG(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* A SIGTERM that arrived while the mask inherited from the daemon held it
 * (a stop racing the fork) ends the child as soon as it opens the mask. */
START_TEST(test_child_setup_pending_term)
{
	struct sigaction old_hup;
	sigset_t old_mask;
	pid_t pid;
	int status;

	daemon_like_signals(&old_mask, &old_hup);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		raise(SIGTERM);
		(void)osinfo_child_setup(getppid());
		_exit(0);
	}
	status = wait_status(pid);
	restore_signals(&old_mask, &old_hup);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGTERM);
}
END_TEST

/* A parent that is gone before the child arms PDEATHSIG is noticed. */
START_TEST(test_child_setup_orphan)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(osinfo_child_setup(getppid() + 1) == -ESRCH ? 0 : 1);
	ck_assert_int_eq(wait_status(pid), 0);
}
END_TEST

/* kill -9 of the daemon takes the child with it: a middle process plays the
 * daemon, we (a subreaper) inherit and reap its child. */
START_TEST(test_child_dies_with_parent)
{
	int p[2], status;
	pid_t middle, child = 0;

	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	middle = fork();
	ck_assert_int_ge(middle, 0);
	if (middle == 0) {
		pid_t self = getpid();

		if (fork() == 0) {
			pid_t me = getpid();

			if (osinfo_child_setup(self) < 0)
				_exit(1);
			/* armed: say who we are */
			(void)!write(p[1], &me, sizeof(me));
			for (;;)
				pause();
		}
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &child, sizeof(child)) != (ssize_t)sizeof(child) || child <= 0) {
		kill(middle, SIGKILL);
		(void)waitpid(middle, NULL, 0);
		ck_abort_msg("the lookup child did not start");
	}
	close(p[0]);
	kill(middle, SIGKILL);
	status = wait_status(middle);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	status = wait_status(child);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGKILL);
}
END_TEST

Suite *osinfo_suite(void)
{
	Suite *s = suite_create("osinfo");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_key_order);
	tcase_add_test(tc, test_os_release);
	tcase_add_test(tc, test_os_release_quoting);
	tcase_add_test(tc, test_legacy_release);
	tcase_add_test(tc, test_no_release_defaults);
	tcase_add_test(tc, test_setters);
	tcase_add_test(tc, test_addresses);
	tcase_add_test(tc, test_addresses_live);
	tcase_add_test(tc, test_child_setup_state);
	tcase_add_test(tc, test_child_setup_pending_term);
	tcase_add_test(tc, test_child_setup_orphan);
	tcase_add_test(tc, test_child_dies_with_parent);
	suite_add_tcase(s, tc);
	return s;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-adapter.c - adapter ids: normalization, and resolution against a fake sysfs tree. */
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "adapter.h"
#include "suites.h"
#include "test-util.h"
#include "util.h"

#define GUID0 "f3b2f2d8-3fb1-4a36-9a1b-4f2e2e2a6c11"
#define GUID0_UP "F3B2F2D8-3FB1-4A36-9A1B-4F2E2E2A6C11"
#define GUID1 "0c7e8a52-1d2f-4b3c-8e9d-a0b1c2d3e4f5"
#define MAC0 "00:15:5d:0a:0b:0c"
#define MAC1 "00:15:5d:0a:0b:0d"
/* an InfiniBand hardware address: 20 bytes */
#define IB_ADDR "80:00:02:08:fe:80:00:00:00:00:00:00:00:15:5d:ff:fe:00:00:06"

/* ---- adapter_id_normalize ------------------------------------------------------ */

struct norm_case {
	const char *id;
	size_t size; /* 0: a roomy buffer */
	enum adapter_id_kind kind;
	const char *want; /* the normalized id, for anything but INVALID */
};

static const struct norm_case norm_cases[] = {
	/* GUIDs: braces optional, any case, always lower case out */
	{ "{" GUID0 "}", 0, ADAPTER_ID_GUID, GUID0 },
	{ GUID0, 0, ADAPTER_ID_GUID, GUID0 },
	{ "{" GUID0_UP "}", 0, ADAPTER_ID_GUID, GUID0 },
	{ GUID0_UP, 0, ADAPTER_ID_GUID, GUID0 },
	{ "F3b2F2d8-3Fb1-4a36-9A1b-4f2E2e2a6C11", 0, ADAPTER_ID_GUID, GUID0 },
	{ "{" GUID0, 0, ADAPTER_ID_INVALID, NULL },
	{ GUID0 "}", 0, ADAPTER_ID_INVALID, NULL },
	{ "{{" GUID0 "}}", 0, ADAPTER_ID_INVALID, NULL },
	{ "(" GUID0 ")", 0, ADAPTER_ID_INVALID, NULL },
	{ "f3b2f2d8-3fb1-4a36-9a1b-4f2e2e2a6c1", 0, ADAPTER_ID_INVALID, NULL },    /* 35 */
	{ "f3b2f2d8-3fb1-4a36-9a1b-4f2e2e2a6c111", 0, ADAPTER_ID_INVALID, NULL },  /* 37 */
	{ "{f3b2f2d8-3fb1-4a36-9a1b-4f2e2e2a6c1}", 0, ADAPTER_ID_INVALID, NULL },  /* {35} */
	{ "g3b2f2d8-3fb1-4a36-9a1b-4f2e2e2a6c11", 0, ADAPTER_ID_INVALID, NULL },   /* bad hex */
	{ "f3b2f2d83-fb1-4a36-9a1b-4f2e2e2a6c11", 0, ADAPTER_ID_INVALID, NULL },   /* dash moved */
	{ "f3b2f2d8_3fb1_4a36_9a1b_4f2e2e2a6c11", 0, ADAPTER_ID_INVALID, NULL },   /* not dashes */
	{ "f3b2f2d83fb14a369a1b4f2e2e2a6c11", 0, ADAPTER_ID_INVALID, NULL },       /* no dashes */
	{ " {" GUID0 "}", 0, ADAPTER_ID_INVALID, NULL },
	{ "{" GUID0 "}\n", 0, ADAPTER_ID_INVALID, NULL },
	{ GUID0, 36, ADAPTER_ID_INVALID, NULL }, /* no room for the terminator */
	{ GUID0, 37, ADAPTER_ID_GUID, GUID0 },

	/* MACs in the usual spellings */
	{ "00:15:5D:0A:0B:0C", 0, ADAPTER_ID_MAC, MAC0 },
	{ MAC0, 0, ADAPTER_ID_MAC, MAC0 },
	{ "00-15-5d-0a-0b-0c", 0, ADAPTER_ID_MAC, MAC0 },
	{ "00-15-5D-0A-0B-0C", 0, ADAPTER_ID_MAC, MAC0 },
	{ "0015.5d0a.0b0c", 0, ADAPTER_ID_MAC, MAC0 },
	{ "0015.5D0A.0B0C", 0, ADAPTER_ID_MAC, MAC0 },
	{ "00155D0A0B0C", 0, ADAPTER_ID_MAC, MAC0 },
	{ "deadbeefcafe", 0, ADAPTER_ID_MAC, "de:ad:be:ef:ca:fe" },
	{ MAC0, 18, ADAPTER_ID_MAC, MAC0 },
	/* mixed separators */
	{ "00:15-5d:0a:0b:0c", 0, ADAPTER_ID_INVALID, NULL },
	{ "00-15-5d-0a-0b:0c", 0, ADAPTER_ID_INVALID, NULL },
	{ "0015.5d0a:0b0c", 0, ADAPTER_ID_INVALID, NULL },
	/* misplaced separators and wrong group counts */
	{ "00:155d:0a:0b:0c", 0, ADAPTER_ID_INVALID, NULL },
	{ "001:55d:0a:0b:0c", 0, ADAPTER_ID_INVALID, NULL },
	{ "0015:5d0a:0b0c", 0, ADAPTER_ID_INVALID, NULL },
	{ "00:15:5d:0a:0b", 0, ADAPTER_ID_INVALID, NULL },
	{ "0:15:5d:a:b:c", 0, ADAPTER_ID_INVALID, NULL },
	{ "00:15:5d:0a:0b:0c:0d", 0, ADAPTER_ID_INVALID, NULL },
	{ "00:15:5d:0a:0b:0c:", 0, ADAPTER_ID_INVALID, NULL },
	{ ":00:15:5d:0a:0b:0c", 0, ADAPTER_ID_INVALID, NULL },
	{ "00:15:5d:0a:0b:0g", 0, ADAPTER_ID_INVALID, NULL },
	{ "00::15:5d:0a:0b:0c", 0, ADAPTER_ID_INVALID, NULL },
	/* '.' and '-' are legal in interface names, so these are names, not MACs */
	{ "00.155d0a.0b0c", 0, ADAPTER_ID_IFNAME, "00.155d0a.0b0c" },
	{ "0015.5d0a.0b0c.", 0, ADAPTER_ID_IFNAME, "0015.5d0a.0b0c." },
	{ "00155d-0a0b0c", 0, ADAPTER_ID_IFNAME, "00155d-0a0b0c" },

	/* interface names */
	{ "eth0", 0, ADAPTER_ID_IFNAME, "eth0" },
	{ "enP1s1", 0, ADAPTER_ID_IFNAME, "enP1s1" },
	{ "eth0.100", 0, ADAPTER_ID_IFNAME, "eth0.100" },
	{ "br-lan", 0, ADAPTER_ID_IFNAME, "br-lan" },
	{ "x", 0, ADAPTER_ID_IFNAME, "x" },
	{ "abcdefghijklmno", 0, ADAPTER_ID_IFNAME, "abcdefghijklmno" }, /* 15 */
	{ "abcdefghijklmnop", 0, ADAPTER_ID_INVALID, NULL },           /* 16 */
	{ "eth0", 4, ADAPTER_ID_INVALID, NULL },
	{ "eth 0", 0, ADAPTER_ID_INVALID, NULL },
	{ "eth/0", 0, ADAPTER_ID_INVALID, NULL },
	{ "eth0:1", 0, ADAPTER_ID_INVALID, NULL }, /* the kernel refuses ':' in names */
	{ ".", 0, ADAPTER_ID_INVALID, NULL },
	{ "..", 0, ADAPTER_ID_INVALID, NULL },
	{ "eth0\n", 0, ADAPTER_ID_INVALID, NULL },
	{ "\teth0", 0, ADAPTER_ID_INVALID, NULL },
	{ "eth\x01", 0, ADAPTER_ID_INVALID, NULL },
	{ "eth\x7f", 0, ADAPTER_ID_INVALID, NULL },
	{ "eth\xc3\xa9", 0, ADAPTER_ID_INVALID, NULL },

	/* garbage */
	{ "", 0, ADAPTER_ID_INVALID, NULL },
	{ NULL, 0, ADAPTER_ID_INVALID, NULL },
	{ "not a mac, not a guid", 0, ADAPTER_ID_INVALID, NULL },
	{ "{}", 0, ADAPTER_ID_IFNAME, "{}" },
};

static const char *kind_name(enum adapter_id_kind k)
{
	switch (k) {
	case ADAPTER_ID_INVALID:
		return "INVALID";
	case ADAPTER_ID_GUID:
		return "GUID";
	case ADAPTER_ID_MAC:
		return "MAC";
	case ADAPTER_ID_IFNAME:
		return "IFNAME";
	}
	return "?";
}

START_TEST(test_normalize_table)
{
	const struct norm_case *c = &norm_cases[_i];
	size_t size = c->size ? c->size : 64;
	/* exact-size heap buffer: ASan and valgrind see a write past it */
	char *buf = malloc(size), got[64];
	enum adapter_id_kind k;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 'X', size);
	k = adapter_id_normalize(c->id, buf, size);
	/* free before asserting: a failed check leaves the function (CK_FORK=no) */
	memcpy(got, buf, MIN(size, sizeof(got)));
	got[sizeof(got) - 1] = '\0';
	free(buf);
	ck_assert_msg(k == c->kind, "\"%s\" (size %zu): %s, expected %s", c->id ? c->id : "(null)",
		      size, kind_name(k), kind_name(c->kind));
	if (c->want)
		ck_assert_str_eq(got, c->want);
}
END_TEST

/* Normalizing a normalized id changes nothing. */
START_TEST(test_normalize_idempotent)
{
	const struct norm_case *c = &norm_cases[_i];
	char once[64], twice[64];

	if (c->kind == ADAPTER_ID_INVALID || c->size)
		return;
	ck_assert_int_eq(adapter_id_normalize(c->id, once, sizeof(once)), c->kind);
	ck_assert_int_eq(adapter_id_normalize(once, twice, sizeof(twice)), c->kind);
	ck_assert_str_eq(once, twice);
}
END_TEST

/* ---- a fake sysfs ------------------------------------------------------------- */

/* One base directory per run, removed by the unchecked teardown even after a
 * failed test; one fake /sys inside it per test. */
static char base_dir[64];
static char root[128];

static void base_setup(void)
{
	test_tmpdir(base_dir, sizeof(base_dir), "adapter");
}

static void base_teardown(void)
{
	test_rm_tree(base_dir);
}

static void root_setup(void)
{
	snprintf(root, sizeof(root), "%s/sys-XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void root_teardown(void)
{
	test_rm_tree(root);
}

static void mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	ck_assert_int_lt(snprintf(tmp, sizeof(tmp), "%s", path), (int)sizeof(tmp));
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		ck_assert(mkdir(tmp, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	ck_assert(mkdir(tmp, 0755) == 0 || errno == EEXIST);
}

static void write_file(const char *dir, const char *name, const char *content)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(content, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static void link_at(const char *dir, const char *name, const char *target)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(symlink(target, path), 0);
}

struct fake_if {
	const char *name;
	int ifindex;		/* 0: no ifindex attribute */
	const char *mac;	/* NULL: no address attribute */
	const char *device_id;	/* written verbatim; NULL: none */
	const char *driver;	/* "hv_netvsc", "mlx5_core"...; NULL: unbound */
	const char *master;	/* enslaved to this interface; NULL: not */
	bool virtual_dev;	/* no device/ at all (veth, bond, bridge) */
};

/*
 * Lays an interface out the way sysfs does: class/net/<if> is a symlink to
 * the net directory under its device, device/ links back to the device,
 * device/driver and master are symlinks whose last component matters.
 */
static void add_if(const struct fake_if *fi)
{
	char devdir[512], netdir[PATH_MAX], classdir[PATH_MAX], target[PATH_MAX], buf[64];

	if (fi->virtual_dev) {
		snprintf(devdir, sizeof(devdir), "%s/devices/virtual", root);
		snprintf(netdir, sizeof(netdir), "%s/net/%s", devdir, fi->name);
		snprintf(target, sizeof(target), "../../devices/virtual/net/%s", fi->name);
	} else {
		snprintf(devdir, sizeof(devdir), "%s/devices/dev-%s", root, fi->name);
		snprintf(netdir, sizeof(netdir), "%s/net/%s", devdir, fi->name);
		snprintf(target, sizeof(target), "../../devices/dev-%s/net/%s", fi->name, fi->name);
	}
	mkdir_p(netdir);
	snprintf(classdir, sizeof(classdir), "%s/class/net", root);
	mkdir_p(classdir);
	link_at(classdir, fi->name, target);

	if (fi->ifindex) {
		snprintf(buf, sizeof(buf), "%d\n", fi->ifindex);
		write_file(netdir, "ifindex", buf);
	}
	if (fi->mac) {
		snprintf(buf, sizeof(buf), "%s\n", fi->mac);
		write_file(netdir, "address", buf);
	}
	if (fi->master) {
		snprintf(target, sizeof(target), "../../../dev-%s/net/%s", fi->master, fi->master);
		link_at(netdir, "master", target);
	}
	if (fi->virtual_dev)
		return;
	link_at(netdir, "device", "../..");
	if (fi->device_id) {
		snprintf(buf, sizeof(buf), "%s\n", fi->device_id);
		write_file(devdir, "device_id", buf);
	}
	if (fi->driver) {
		bool vmbus = streq(fi->driver, "hv_netvsc");

		snprintf(target, sizeof(target), "../../bus/%s/drivers/%s", vmbus ? "vmbus" : "pci",
			 fi->driver);
		link_at(devdir, "driver", target);
	}
}

/* The interfaces of a Hyper-V guest with accelerated networking on eth0. */
static const struct fake_if lo = { .name = "lo", .ifindex = 1, .mac = "00:00:00:00:00:00",
				    .virtual_dev = true };
static const struct fake_if vf0 = { .name = "enP1s1", .ifindex = 2, .mac = MAC0,
				     .driver = "mlx5_core", .master = "eth0" };
static const struct fake_if eth0 = { .name = "eth0", .ifindex = 3, .mac = MAC0,
				      .device_id = "{" GUID0 "}", .driver = "hv_netvsc" };
/* device_id printed in upper case, in case a kernel ever does */
static const struct fake_if eth1 = { .name = "eth1", .ifindex = 4, .mac = "00:15:5D:0A:0B:0D",
				      .device_id = "{" GUID1 "}", .driver = "hv_netvsc" };
static const struct fake_if veth0 = { .name = "veth0", .ifindex = 5, .mac = "02:00:00:00:00:01",
				       .virtual_dev = true };

static void std_tree(void)
{
	add_if(&lo);
	add_if(&vf0);
	add_if(&eth0);
	add_if(&eth1);
	add_if(&veth0);
}

static int resolve(const char *id, unsigned flags, struct adapter *a)
{
	memset(a, 0x5a, sizeof(*a));
	return adapter_resolve(root, id, flags, a);
}

/* ---- adapter_resolve: table over the standard tree ------------------------------ */

struct resolve_case {
	const char *id;
	unsigned flags;
	int r;
	const char *ifname;
};

static const struct resolve_case resolve_cases[] = {
	/* SET: VMBus GUID, any case, braces optional */
	{ "{" GUID0 "}", 0, 0, "eth0" },
	{ "{" GUID0_UP "}", 0, 0, "eth0" },
	{ GUID0, 0, 0, "eth0" },
	{ GUID0_UP, 0, 0, "eth0" },
	{ "F3b2F2d8-3Fb1-4a36-9A1b-4f2E2e2a6C11", 0, 0, "eth0" },
	{ "{" GUID1 "}", 0, 0, "eth1" },
	{ "{0C7E8A52-1D2F-4B3C-8E9D-A0B1C2D3E4F5}", 0, 0, "eth1" },
	{ "{00000000-0000-0000-0000-000000000000}", 0, -ENODEV, NULL },
	{ "f3b2f2d8-3fb1-4a36-9a1b-4f2e2e2a6c12", 0, -ENODEV, NULL },
	/* GET (and SET's fallback): MAC in any spelling; never the VF twin */
	{ MAC0, 0, 0, "eth0" },
	{ "00:15:5D:0A:0B:0C", 0, 0, "eth0" },
	{ "00-15-5d-0a-0b-0c", 0, 0, "eth0" },
	{ "0015.5d0a.0b0c", 0, 0, "eth0" },
	{ "00155D0A0B0C", 0, 0, "eth0" },
	{ MAC1, 0, 0, "eth1" },
	{ "00-15-5D-0A-0B-0D", 0, 0, "eth1" },
	{ "02:00:00:00:00:01", 0, 0, "veth0" }, /* no device/: matched by MAC alone */
	{ "00:15:5d:ff:ff:ff", 0, -ENODEV, NULL },
	/* names: only when asked for */
	{ "eth1", ADAPTER_MATCH_IFNAME, 0, "eth1" },
	{ "veth0", ADAPTER_MATCH_IFNAME, 0, "veth0" },
	{ "eth1", 0, -EINVAL, NULL },
	{ "eth9", ADAPTER_MATCH_IFNAME, -ENODEV, NULL },
	/* ids that are nothing */
	{ "", 0, -EINVAL, NULL },
	{ NULL, 0, -EINVAL, NULL },
	{ "", ADAPTER_MATCH_IFNAME, -EINVAL, NULL },
	{ "not a mac, not a guid", ADAPTER_MATCH_IFNAME, -EINVAL, NULL },
	{ "{" GUID0, 0, -EINVAL, NULL },
	{ "../../etc", ADAPTER_MATCH_IFNAME, -EINVAL, NULL },
};

START_TEST(test_resolve_table)
{
	const struct resolve_case *c = &resolve_cases[_i];
	struct adapter a;
	int r;

	std_tree();
	r = resolve(c->id, c->flags, &a);
	ck_assert_msg(r == c->r, "\"%s\" flags %u: %d, expected %d", c->id ? c->id : "(null)",
		      c->flags, r, c->r);
	if (c->ifname)
		ck_assert_str_eq(a.ifname, c->ifname);
}
END_TEST

/* ---- adapter_resolve: details --------------------------------------------------- */

START_TEST(test_resolve_fills_adapter)
{
	struct adapter a;

	std_tree();
	ck_assert_int_eq(resolve("{" GUID0_UP "}", 0, &a), 0);
	ck_assert_str_eq(a.ifname, "eth0");
	ck_assert_int_eq(a.ifindex, 3);
	ck_assert_str_eq(a.mac, MAC0);
	ck_assert_str_eq(a.guid, "{" GUID0 "}");
	ck_assert(a.netvsc);

	/* sysfs printed upper case; the struct holds the normal form */
	ck_assert_int_eq(resolve(MAC1, 0, &a), 0);
	ck_assert_str_eq(a.mac, MAC1);
	ck_assert_str_eq(a.guid, "{" GUID1 "}");

	ck_assert_int_eq(resolve("02-00-00-00-00-01", 0, &a), 0);
	ck_assert_str_eq(a.ifname, "veth0");
	ck_assert_int_eq(a.ifindex, 5);
	ck_assert_str_eq(a.guid, "");
	ck_assert(!a.netvsc);
}
END_TEST

/* The VF has the lower ifindex and the same MAC; whichever of the two the
 * directory lists first, the MAC means the synthetic NIC. */
START_TEST(test_vf_never_chosen_any_order)
{
	struct adapter a;

	if (_i == 0) {
		add_if(&vf0);
		add_if(&eth0);
	} else {
		add_if(&eth0);
		add_if(&vf0);
	}
	ck_assert_int_eq(resolve(MAC0, 0, &a), 0);
	ck_assert_str_eq(a.ifname, "eth0");
	ck_assert(a.netvsc);
	ck_assert_int_eq(resolve("0015.5D0A.0B0C", 0, &a), 0);
	ck_assert_str_eq(a.ifname, "eth0");
	ck_assert_int_eq(resolve("{" GUID0 "}", 0, &a), 0);
	ck_assert_str_eq(a.ifname, "eth0");
}
END_TEST

/* Several VFs (e.g. after a VF was hot-replaced) still lose to the NIC. */
START_TEST(test_vf_several)
{
	const struct fake_if vf1 = { .name = "enP2s2", .ifindex = 1, .mac = MAC0,
				    .driver = "mlx4_core", .master = "eth0" };
	const struct fake_if vf2 = { .name = "enP3s3", .ifindex = 7, .mac = MAC0,
				    .driver = "mana", .master = "eth0" };
	struct adapter a;

	add_if(&vf1);
	add_if(&eth0);
	add_if(&vf2);
	ck_assert_int_eq(resolve(MAC0, 0, &a), 0);
	ck_assert_str_eq(a.ifname, "eth0");
}
END_TEST

/* The synthetic NIC is gone but its VF is still enslaved to it (dangling master). */
START_TEST(test_lone_vf_enslaved)
{
	struct adapter a;

	add_if(&vf0);
	ck_assert_int_eq(resolve(MAC0, 0, &a), -ENODEV);
}
END_TEST

/* The synthetic NIC is gone and the kernel has released its VF (netvsc unlinks
 * it on removal; at boot the VF may also appear before the NIC): no master,
 * a PCI driver, the host's MAC. Still not the adapter the host means. */
START_TEST(test_lone_vf_released)
{
	const struct fake_if vf = { .name = "enP1s1", .ifindex = 2, .mac = MAC0,
				   .driver = "mlx5_core" };
	struct adapter a;

	add_if(&vf);
	ck_assert_int_eq(resolve(MAC0, 0, &a), -ENODEV);
}
END_TEST

/* Two devices without device/ and one MAC: the lower ifindex, in either order. */
START_TEST(test_virtual_tie_lower_ifindex)
{
	const struct fake_if a1 = { .name = "veth1", .ifindex = 9, .mac = "02:00:00:00:00:02",
				   .virtual_dev = true };
	const struct fake_if a2 = { .name = "veth2", .ifindex = 8, .mac = "02:00:00:00:00:02",
				   .virtual_dev = true };
	struct adapter a;

	if (_i == 0) {
		add_if(&a1);
		add_if(&a2);
	} else {
		add_if(&a2);
		add_if(&a1);
	}
	ck_assert_int_eq(resolve("02:00:00:00:00:02", 0, &a), 0);
	ck_assert_str_eq(a.ifname, "veth2");
}
END_TEST

/* Entries it cannot use are skipped, not fatal. */
START_TEST(test_resolve_odd_entries)
{
	const struct fake_if noidx = { .name = "eth5", .mac = "00:15:5d:00:00:05",
				      .device_id = "{" GUID1 "}", .driver = "hv_netvsc" };
	const struct fake_if ib = { .name = "ib0", .ifindex = 6,
				    .mac = IB_ADDR,
				    .driver = "mlx5_core" };
	const struct fake_if junk = { .name = "eth6", .ifindex = 7, .mac = "zz:zz",
				     .device_id = "not a guid", .driver = "hv_netvsc" };
	const struct fake_if hidden = { .name = ".hidden", .ifindex = 8, .mac = MAC0,
				       .device_id = "{" GUID0 "}", .driver = "hv_netvsc" };
	struct adapter a;

	add_if(&noidx);
	add_if(&ib);
	add_if(&junk);
	add_if(&hidden);
	ck_assert_int_eq(resolve("{" GUID1 "}", 0, &a), -ENODEV);
	ck_assert_int_eq(resolve("00:15:5d:00:00:05", 0, &a), -ENODEV);
	ck_assert_int_eq(resolve("{" GUID0 "}", 0, &a), -ENODEV);
	ck_assert_int_eq(resolve(MAC0, 0, &a), -ENODEV);
	ck_assert_int_eq(resolve("eth6", ADAPTER_MATCH_IFNAME, &a), 0);
	ck_assert_str_eq(a.mac, "");
	ck_assert_str_eq(a.guid, "");
	ck_assert_int_eq(resolve("ib0", ADAPTER_MATCH_IFNAME, &a), 0);
	ck_assert_str_eq(a.mac, "");
	add_if(&eth0);
	ck_assert_int_eq(resolve("{" GUID0 "}", 0, &a), 0);
	ck_assert_str_eq(a.ifname, "eth0");
}
END_TEST

START_TEST(test_resolve_missing_root)
{
	char missing[PATH_MAX];
	struct adapter a;

	snprintf(missing, sizeof(missing), "%s/does-not-exist", root);
	ck_assert_int_eq(adapter_resolve(missing, MAC0, 0, &a), -ENOENT);
	/* a root without class/net */
	ck_assert_int_eq(adapter_resolve(root, MAC0, 0, &a), -ENOENT);
	/* an invalid id is refused before sysfs is looked at */
	ck_assert_int_eq(adapter_resolve(missing, "no such thing", 0, &a), -EINVAL);
}
END_TEST

START_TEST(test_resolve_empty_class_net)
{
	char dir[PATH_MAX];
	struct adapter a;

	snprintf(dir, sizeof(dir), "%s/class/net", root);
	mkdir_p(dir);
	ck_assert_int_eq(resolve("{" GUID0 "}", 0, &a), -ENODEV);
	ck_assert_int_eq(resolve(MAC0, 0, &a), -ENODEV);
}
END_TEST

/* NULL means the real /sys; no real adapter has this GUID. */
START_TEST(test_resolve_real_sysfs)
{
	struct adapter a;
	int r = adapter_resolve(NULL, "{00000000-1111-2222-3333-444444444444}", 0, &a);

	if (access("/sys/class/net", F_OK) < 0)
		ck_assert_int_lt(r, 0);
	else
		ck_assert_int_eq(r, -ENODEV);
}
END_TEST

Suite *adapter_suite(void)
{
	Suite *s = suite_create("adapter");
	TCase *tc;

	tc = tcase_create("normalize");
	tcase_add_loop_test(tc, test_normalize_table, 0, (int)ARRAY_SIZE(norm_cases));
	tcase_add_loop_test(tc, test_normalize_idempotent, 0, (int)ARRAY_SIZE(norm_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("resolve");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, root_setup, root_teardown);
	tcase_add_loop_test(tc, test_resolve_table, 0, (int)ARRAY_SIZE(resolve_cases));
	tcase_add_test(tc, test_resolve_fills_adapter);
	tcase_add_loop_test(tc, test_vf_never_chosen_any_order, 0, 2);
	tcase_add_test(tc, test_vf_several);
	tcase_add_test(tc, test_lone_vf_enslaved);
	tcase_add_test(tc, test_lone_vf_released);
	tcase_add_loop_test(tc, test_virtual_tie_lower_ifindex, 0, 2);
	tcase_add_test(tc, test_resolve_odd_entries);
	tcase_add_test(tc, test_resolve_missing_root);
	tcase_add_test(tc, test_resolve_empty_class_net);
	tcase_add_test(tc, test_resolve_real_sysfs);
	suite_add_tcase(s, tc);
	return s;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-pool.c - the pool files: upstream layout, semantics, outside writers, kills, orphans. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "pool.h"
#include "suites.h"
#include "test-util.h"
#include "util.h"

#define REC KVP_RECORD_SIZE
#define KEYF HV_KVP_EXCHANGE_MAX_KEY_SIZE
#define VALF HV_KVP_EXCHANGE_MAX_VALUE_SIZE

/* One directory per run (removed by the unchecked teardown, even after a
 * failed test) and one per test inside it. */
static char base_dir[64];
static char dir[128];

static void base_setup(void)
{
	test_tmpdir(base_dir, sizeof(base_dir), "pool");
}

static void base_teardown(void)
{
	test_rm_tree(base_dir);
}

static void test_setup(void)
{
	snprintf(dir, sizeof(dir), "%s/t-XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void test_teardown(void)
{
	test_rm_tree(dir);
}

/* ---- helpers -------------------------------------------------------------- */

static const char *pool_file(unsigned n)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/.kvp_pool_%u", dir, n);
	return path;
}

static struct kvp_pool *open_pool(unsigned n)
{
	struct kvp_pool *p = NULL;

	ck_assert_int_eq(kvp_pool_open(dir, n, &p), 0);
	ck_assert_ptr_nonnull(p);
	return p;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void spew(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(loop_write(fd, buf, len), 0);
	close(fd);
}

static struct stat stat_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st;
}

/* A record as upstream's fwrite() of struct kvp_record lays it out. */
static void put_rec(unsigned char *img, const char *key, const char *value)
{
	ck_assert_int_eq(kvp_pool_record_format(img, key, value), 0);
}

static void check_get(struct kvp_pool *p, const char *key, const char *want)
{
	char value[VALF];

	ck_assert_int_eq(kvp_pool_get(p, key, value, sizeof(value)), 0);
	ck_assert_str_eq(value, want);
}

static void check_enum(struct kvp_pool *p, uint32_t i, const char *key, const char *value)
{
	char k[KEYF], v[VALF];

	ck_assert_int_eq(kvp_pool_enumerate(p, i, k, sizeof(k), v, sizeof(v)), 0);
	ck_assert_str_eq(k, key);
	ck_assert_str_eq(v, value);
}

static size_t count(struct kvp_pool *p)
{
	size_t n = SIZE_MAX;

	ck_assert_int_eq(kvp_pool_count(p, &n), 0);
	return n;
}

/* The file's record i must be exactly the canonical image of key/value. */
static void check_raw(const unsigned char *buf, size_t i, const char *key, const char *value)
{
	unsigned char img[REC];

	put_rec(img, key, value);
	ck_assert_mem_eq(buf + i * REC, img, REC);
}

static void make_value(char *buf, size_t len, char fill)
{
	memset(buf, fill, len);
	buf[len] = '\0';
}

/* ---- pure parsing --------------------------------------------------------- */

struct seen {
	char keys[8][KEYF];
	char values[8][VALF];
	size_t key_len[8], value_len[8];
	bool truncated[8];
	size_t n;
	int stop_at;
};

static int seen_cb(const char *key, size_t key_len, const char *value, size_t value_len,
		   bool truncated, void *userdata)
{
	struct seen *s = userdata;

	if ((int)s->n == s->stop_at)
		return -ECANCELED;
	ck_assert_uint_lt(s->n, 8);
	ck_assert_uint_eq(strlen(key), key_len);
	ck_assert_uint_eq(strlen(value), value_len);
	strcpy(s->keys[s->n], key);
	strcpy(s->values[s->n], value);
	s->key_len[s->n] = key_len;
	s->value_len[s->n] = value_len;
	s->truncated[s->n] = truncated;
	s->n++;
	return 0;
}

START_TEST(test_parse_empty)
{
	struct seen s = { .stop_at = -1 };
	size_t trailing = 99;

	ck_assert_int_eq(kvp_pool_parse(NULL, 0, seen_cb, &s, &trailing), 0);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_uint_eq(trailing, 0);
	ck_assert_int_eq(kvp_pool_parse(NULL, 1, seen_cb, &s, NULL), -EINVAL);
}
END_TEST

START_TEST(test_parse_records)
{
	static struct seen s = { .stop_at = -1 };
	unsigned char buf[3 * REC + 100];
	size_t trailing = 0;

	memset(buf, 0x5a, sizeof(buf));
	put_rec(buf, "a", "1");
	put_rec(buf + REC, "bb", "22");
	put_rec(buf + 2 * REC, "", "x");
	ck_assert_int_eq(kvp_pool_parse(buf, sizeof(buf), seen_cb, &s, &trailing), 0);
	ck_assert_uint_eq(trailing, 100);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.keys[0], "a");
	ck_assert_str_eq(s.values[1], "22");
	ck_assert_str_eq(s.keys[2], "");
	ck_assert_str_eq(s.values[2], "x");
	ck_assert(!s.truncated[0] && !s.truncated[1] && !s.truncated[2]);
	/* A NULL callback just walks. */
	ck_assert_int_eq(kvp_pool_parse(buf, sizeof(buf), NULL, NULL, &trailing), 0);
	ck_assert_uint_eq(trailing, 100);
}
END_TEST

START_TEST(test_parse_no_nul)
{
	static struct seen s = { .stop_at = -1 };
	unsigned char buf[2 * REC];

	memset(buf, 'k', KEYF);
	memset(buf + KEYF, 'v', VALF);
	put_rec(buf + REC, "key", "");
	memset(buf + REC + KEYF, 'w', VALF); /* key fine, value without NUL */
	ck_assert_int_eq(kvp_pool_parse(buf, sizeof(buf), seen_cb, &s, NULL), 0);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_uint_eq(s.key_len[0], KEYF - 1);
	ck_assert_uint_eq(s.value_len[0], VALF - 1);
	ck_assert(s.truncated[0]);
	ck_assert_str_eq(s.keys[1], "key");
	ck_assert_uint_eq(s.value_len[1], VALF - 1);
	ck_assert(s.truncated[1]);
}
END_TEST

START_TEST(test_parse_stop)
{
	static struct seen s = { .stop_at = 1 };
	unsigned char buf[2 * REC];

	put_rec(buf, "a", "1");
	put_rec(buf + REC, "b", "2");
	ck_assert_int_eq(kvp_pool_parse(buf, sizeof(buf), seen_cb, &s, NULL), -ECANCELED);
	ck_assert_uint_eq(s.n, 1);
}
END_TEST

START_TEST(test_record_format)
{
	unsigned char img[REC], zero[REC] = { 0 };
	char key[KEYF + 1], value[VALF + 1];

	memset(img, 0xff, sizeof(img));
	ck_assert_int_eq(kvp_pool_record_format(img, "key", "value"), 0);
	ck_assert_mem_eq(img, "key", 4);
	ck_assert_mem_eq(img + 4, zero, KEYF - 4);
	ck_assert_mem_eq(img + KEYF, "value", 6);
	ck_assert_mem_eq(img + KEYF + 6, zero, VALF - 6);

	make_value(key, KEYF - 1, 'k');
	make_value(value, VALF - 1, 'v');
	ck_assert_int_eq(kvp_pool_record_format(img, key, value), 0);
	ck_assert_int_eq(img[KEYF - 1], 0);
	ck_assert_int_eq(img[REC - 1], 0);
	make_value(key, KEYF, 'k');
	ck_assert_int_eq(kvp_pool_record_format(img, key, "v"), -ENAMETOOLONG);
	make_value(value, VALF, 'v');
	ck_assert_int_eq(kvp_pool_record_format(img, "k", value), -EMSGSIZE);
	ck_assert_int_eq(kvp_pool_record_format(img, "", "v"), 0);
	ck_assert_int_eq(kvp_pool_record_format(img, NULL, "v"), -EINVAL);
	ck_assert_int_eq(kvp_pool_record_format(img, "k", NULL), -EINVAL);
}
END_TEST

/* ---- basic semantics -------------------------------------------------------- */

START_TEST(test_open_creates)
{
	char sub[256];
	struct kvp_pool *p = NULL;
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/hyperv", dir);
	ck_assert_int_eq(kvp_pool_open(sub, 3, &p), 0);
	st = stat_of(sub);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_str_eq(strrchr(kvp_pool_path(p), '/'), "/.kvp_pool_3");
	st = stat_of(kvp_pool_path(p));
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_uint_eq(count(p), 0);
	kvp_pool_free(p);

	p = NULL;
	ck_assert_int_eq(kvp_pool_open(dir, KVP_POOL_COUNT, &p), -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_ptr_null(kvp_pool_free(NULL));
}
END_TEST

START_TEST(test_roundtrip)
{
	struct kvp_pool *p = open_pool(1);
	char k[KEYF], v[VALF];

	ck_assert_int_eq(kvp_pool_set(p, "alpha", "1"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "beta", "two"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "gamma", ""), 0);
	check_get(p, "alpha", "1");
	check_get(p, "beta", "two");
	check_get(p, "gamma", "");
	ck_assert_int_eq(kvp_pool_get(p, "delta", v, sizeof(v)), -ENOENT);
	ck_assert_int_eq(kvp_pool_get(p, "alph", v, sizeof(v)), -ENOENT);
	ck_assert_int_eq(kvp_pool_get(p, "alphaa", v, sizeof(v)), -ENOENT);
	ck_assert_uint_eq(count(p), 3);
	check_enum(p, 0, "alpha", "1");
	check_enum(p, 1, "beta", "two");
	check_enum(p, 2, "gamma", "");
	ck_assert_int_eq(kvp_pool_enumerate(p, 3, k, sizeof(k), v, sizeof(v)), -ENOENT);
	ck_assert_int_eq(kvp_pool_enumerate(p, UINT32_MAX, k, sizeof(k), v, sizeof(v)), -ENOENT);
	ck_assert_int_eq(kvp_pool_delete(p, "delta"), -ENOENT);
	ck_assert_int_eq(kvp_pool_set(p, "beta", "two"), 0); /* unchanged value */
	ck_assert_int_eq(kvp_pool_set(p, "beta", "three"), 0);
	kvp_pool_free(p);

	p = open_pool(1);
	check_get(p, "beta", "three");
	check_enum(p, 1, "beta", "three");
	ck_assert_uint_eq(count(p), 3);
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_layout)
{
	struct kvp_pool *p = open_pool(0);
	unsigned char *buf, zero[VALF] = { 0 };
	size_t len;

	ck_assert_int_eq(kvp_pool_set(p, "key1", "value1"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "k2", "v2"), 0);
	buf = slurp(pool_file(0), &len);
	ck_assert_uint_eq(len, 2 * REC);
	ck_assert_mem_eq(buf, "key1", 5);
	ck_assert_mem_eq(buf + 5, zero, KEYF - 5);
	ck_assert_mem_eq(buf + 512, "value1", 7);
	ck_assert_mem_eq(buf + 512 + 7, zero, VALF - 7);
	ck_assert_mem_eq(buf + 2560, "k2", 3);
	ck_assert_mem_eq(buf + 2560 + 512, "v2", 3);
	ck_assert_mem_eq(buf + 2560 + 512 + 3, zero, VALF - 3);
	free(buf);
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_upstream_file)
{
	unsigned char buf[3 * REC];
	struct kvp_pool *p;

	/* Upstream memcpy()s into a recycled record array, so bytes after a
	 * NUL may be left-overs; they must not matter. */
	memset(buf, 'X', sizeof(buf));
	memcpy(buf, "HostName", 9);
	memcpy(buf + KEYF, "host.example", 13);
	memcpy(buf + REC, "Key2", 5);
	memcpy(buf + REC + KEYF, "", 1);
	memcpy(buf + 2 * REC, "Key3", 5);
	memcpy(buf + 2 * REC + KEYF, "3", 2);
	spew(pool_file(3), buf, sizeof(buf));

	p = open_pool(3);
	ck_assert_uint_eq(count(p), 3);
	check_get(p, "HostName", "host.example");
	check_get(p, "Key2", "");
	check_enum(p, 2, "Key3", "3");
	ck_assert_int_eq(kvp_pool_set(p, "Key2", "now set"), 0);
	check_get(p, "Key2", "now set");
	check_get(p, "HostName", "host.example");
	kvp_pool_free(p);
	/* What is on disk, not what the cache says. */
	p = open_pool(3);
	check_get(p, "Key2", "now set");
	check_enum(p, 0, "HostName", "host.example");
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_modify_in_place)
{
	struct kvp_pool *p = open_pool(1);
	struct stat before, after;
	char key[16];

	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(kvp_pool_set(p, key, "initial"), 0);
		ck_assert_int_eq(stat_of(pool_file(1)).st_size, (i + 1) * REC);
	}
	before = stat_of(pool_file(1));
	ck_assert_int_eq(kvp_pool_set(p, "k5", "changed"), 0);
	after = stat_of(pool_file(1));
	ck_assert_int_eq(after.st_size, before.st_size);
	ck_assert_uint_eq(after.st_ino, before.st_ino);
	check_enum(p, 5, "k5", "changed");
	check_enum(p, 6, "k6", "initial");
	ck_assert_int_eq(kvp_pool_set(p, "new", "appended"), 0);
	ck_assert_int_eq(stat_of(pool_file(1)).st_size, before.st_size + REC);
	check_enum(p, 10, "new", "appended");
	kvp_pool_free(p);
}
END_TEST

/* Every transition between short and long values on every record position
 * of the 4 KiB page cycle (20 KiB = 8 records): the file must always hold
 * the canonical image and nothing else may move. */
START_TEST(test_modify_boundaries)
{
	static const size_t lens[] = { 0, 5, 511, 512, 600, 1023, 1100, 1535, 1600, 2047 };
	static char values[ARRAY_SIZE(lens)][VALF];
	struct kvp_pool *p = open_pool(4);
	char key[16];
	unsigned char *buf;
	size_t len;

	for (size_t v = 0; v < ARRAY_SIZE(lens); v++) {
		make_value(values[v], lens[v], (char)('a' + v));
		values[v][0] = (char)('A' + v); /* differ at the first byte too */
		if (lens[v] == 0)
			values[v][0] = '\0';
	}
	for (int r = 0; r < 16; r++) {
		snprintf(key, sizeof(key), "rec%02d", r);
		ck_assert_int_eq(kvp_pool_set(p, key, "seed"), 0);
	}
	for (int r = 0; r < 16; r++) {
		snprintf(key, sizeof(key), "rec%02d", r);
		for (size_t a = 0; a < ARRAY_SIZE(lens); a++) {
			for (size_t b = 0; b < ARRAY_SIZE(lens); b++) {
				ck_assert_int_eq(kvp_pool_set(p, key, values[a]), 0);
				ck_assert_int_eq(kvp_pool_set(p, key, values[b]), 0);
				check_get(p, key, values[b]);
			}
		}
		buf = slurp(pool_file(4), &len);
		ck_assert_uint_eq(len, 16 * REC);
		for (int o = 0; o < 16; o++) {
			char k2[16];

			snprintf(k2, sizeof(k2), "rec%02d", o);
			/* Done ones end on the last value, later ones are untouched. */
			check_raw(buf, (size_t)o, k2,
				  o <= r ? values[ARRAY_SIZE(lens) - 1] : "seed");
		}
		free(buf);
	}
	kvp_pool_free(p);
}
END_TEST

struct nth_value {
	size_t want, seen;
	char value[VALF];
};

static int nth_cb(const char *key, size_t key_len, const char *value, size_t value_len,
		  bool truncated, void *userdata)
{
	struct nth_value *n = userdata;

	(void)key;
	(void)key_len;
	(void)value_len;
	if (n->seen++ == n->want) {
		ck_assert(!truncated);
		strcpy(n->value, value);
	}
	return 0;
}

/* The same on a file written the upstream way, with left-overs after every
 * NUL: what a fresh reader parses must be the value we set. */
START_TEST(test_modify_over_garbage)
{
	static const size_t lens[] = { 0, 3, 511, 513, 1022, 1025, 1534, 1537, 2047, 7 };
	unsigned char buf[8 * REC], *raw;
	char key[16], value[VALF];
	struct kvp_pool *p;
	size_t len;

	memset(buf, 'X', sizeof(buf));
	for (int r = 0; r < 8; r++) {
		snprintf(key, sizeof(key), "r%d", r);
		memcpy(buf + r * REC, key, strlen(key) + 1);
		buf[r * REC + KEYF] = '\0';
	}
	spew(pool_file(2), buf, sizeof(buf));
	p = open_pool(2);
	for (int r = 0; r < 8; r++) {
		snprintf(key, sizeof(key), "r%d", r);
		for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
			struct nth_value n = { .want = (size_t)r };

			make_value(value, lens[i], (char)('a' + i));
			ck_assert_int_eq(kvp_pool_set(p, key, value), 0);
			raw = slurp(pool_file(2), &len);
			ck_assert_int_eq(kvp_pool_parse(raw, len, nth_cb, &n, NULL), 0);
			ck_assert_str_eq(n.value, value);
			free(raw);
		}
	}
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_delete_order)
{
	struct kvp_pool *p = open_pool(0);
	char key[16], value[16];
	struct stat before;

	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(value, sizeof(value), "v%d", i);
		ck_assert_int_eq(kvp_pool_set(p, key, value), 0);
	}
	ck_assert_int_eq(kvp_pool_delete(p, "k3"), 0);
	ck_assert_int_eq(kvp_pool_delete(p, "k0"), 0);
	ck_assert_int_eq(kvp_pool_delete(p, "k3"), -ENOENT);
	before = stat_of(pool_file(0));
	ck_assert_int_eq(kvp_pool_delete(p, "k9"), 0); /* last: a truncate */
	ck_assert_uint_eq(stat_of(pool_file(0)).st_ino, before.st_ino);
	ck_assert_int_eq(stat_of(pool_file(0)).st_size, 7 * REC);
	ck_assert_uint_eq(count(p), 7);
	{
		static const int left[] = { 1, 2, 4, 5, 6, 7, 8 };

		for (size_t i = 0; i < ARRAY_SIZE(left); i++) {
			snprintf(key, sizeof(key), "k%d", left[i]);
			snprintf(value, sizeof(value), "v%d", left[i]);
			check_enum(p, (uint32_t)i, key, value);
			check_get(p, key, value);
		}
	}
	/* The index follows the shift: new keys, old keys, modifications. */
	ck_assert_int_eq(kvp_pool_set(p, "k0", "again"), 0);
	check_enum(p, 7, "k0", "again");
	ck_assert_int_eq(kvp_pool_set(p, "k7", "v7'"), 0);
	check_enum(p, 5, "k7", "v7'");
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		(void)kvp_pool_delete(p, key);
	}
	ck_assert_uint_eq(count(p), 0);
	ck_assert_int_eq(stat_of(pool_file(0)).st_size, 0);
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_limits)
{
	struct kvp_pool *p = open_pool(1);
	char key[KEYF + 1], value[VALF + 1], small[4], k[KEYF];

	ck_assert_int_eq(kvp_pool_set(p, "", "v"), -EINVAL);
	ck_assert_int_eq(kvp_pool_set(p, NULL, "v"), -EINVAL);
	ck_assert_int_eq(kvp_pool_set(p, "k", NULL), -EINVAL);
	make_value(key, KEYF - 1, 'k');
	make_value(value, VALF - 1, 'v');
	ck_assert_int_eq(kvp_pool_set(p, key, value), 0);
	check_get(p, key, value);
	make_value(key, KEYF, 'k');
	ck_assert_int_eq(kvp_pool_set(p, key, "v"), -ENAMETOOLONG);
	ck_assert_int_eq(kvp_pool_get(p, key, value, sizeof(value)), -ENAMETOOLONG);
	ck_assert_int_eq(kvp_pool_delete(p, key), -ENAMETOOLONG);
	make_value(value, VALF, 'v');
	ck_assert_int_eq(kvp_pool_set(p, "k", value), -EMSGSIZE);
	ck_assert_int_eq(kvp_pool_get(p, "", value, sizeof(value)), -EINVAL);
	ck_assert_int_eq(kvp_pool_delete(p, ""), -EINVAL);
	ck_assert_uint_eq(count(p), 1);
	ck_assert_int_eq(stat_of(pool_file(1)).st_size, REC);
	/* Buffers too small are reported, with a terminated prefix. */
	ck_assert_int_eq(kvp_pool_set(p, "short", "longer value"), 0);
	ck_assert_int_eq(kvp_pool_get(p, "short", small, sizeof(small)), -ENOBUFS);
	ck_assert_str_eq(small, "lon");
	ck_assert_int_eq(kvp_pool_enumerate(p, 1, k, sizeof(k), small, sizeof(small)), -ENOBUFS);
	ck_assert_str_eq(k, "short");
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_duplicates)
{
	unsigned char buf[3 * REC];
	struct kvp_pool *p;
	unsigned char *raw;
	size_t len;

	put_rec(buf, "dup", "first");
	put_rec(buf + REC, "x", "0");
	put_rec(buf + 2 * REC, "dup", "second");
	spew(pool_file(0), buf, sizeof(buf));
	p = open_pool(0);
	check_get(p, "dup", "first");
	ck_assert_int_eq(kvp_pool_set(p, "dup", "third"), 0);
	check_enum(p, 0, "dup", "third");
	check_enum(p, 2, "dup", "second");
	ck_assert_int_eq(kvp_pool_delete(p, "dup"), 0);
	check_get(p, "dup", "second");
	ck_assert_uint_eq(count(p), 2);
	check_enum(p, 0, "x", "0");
	raw = slurp(pool_file(0), &len);
	ck_assert_uint_eq(len, 2 * REC);
	check_raw(raw, 0, "x", "0");
	check_raw(raw, 1, "dup", "second");
	free(raw);
	ck_assert_int_eq(kvp_pool_delete(p, "dup"), 0);
	ck_assert_int_eq(kvp_pool_delete(p, "dup"), -ENOENT);
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_empty_key_record)
{
	unsigned char buf[2 * REC];
	struct kvp_pool *p;

	put_rec(buf, "", "e");
	put_rec(buf + REC, "a", "1");
	spew(pool_file(1), buf, sizeof(buf));
	p = open_pool(1);
	ck_assert_uint_eq(count(p), 2);
	check_enum(p, 0, "", "e");
	check_get(p, "a", "1");
	ck_assert_int_eq(kvp_pool_delete(p, "a"), 0);
	check_enum(p, 0, "", "e");
	ck_assert_int_eq(kvp_pool_set(p, "b", "2"), 0);
	check_enum(p, 1, "b", "2");
	kvp_pool_free(p);
}
END_TEST

/* Enough records for the rewrite to take several chunks and for the index
 * to have collisions that deletion must shift back. */
START_TEST(test_many_records)
{
	struct kvp_pool *p = open_pool(4);
	char key[32], value[32], v[VALF];
	unsigned char *raw;
	size_t len;

	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		snprintf(value, sizeof(value), "value%d", i);
		ck_assert_int_eq(kvp_pool_set(p, key, value), 0);
	}
	ck_assert_int_eq(kvp_pool_delete(p, "key0"), 0); /* rewrite of 999 records */
	ck_assert_uint_eq(count(p), 999);
	raw = slurp(pool_file(4), &len);
	ck_assert_uint_eq(len, 999 * REC);
	for (int i = 1; i < 1000; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		snprintf(value, sizeof(value), "value%d", i);
		check_raw(raw, (size_t)i - 1, key, value);
	}
	free(raw);
	/* From the end: each one a truncate plus an index removal. */
	for (int i = 999; i >= 500; i--) {
		snprintf(key, sizeof(key), "key%d", i);
		ck_assert_int_eq(kvp_pool_delete(p, key), 0);
		ck_assert_int_eq(kvp_pool_get(p, key, v, sizeof(v)), -ENOENT);
		if (i % 50 == 0)
			for (int j = 1; j < i; j++) {
				snprintf(key, sizeof(key), "key%d", j);
				snprintf(value, sizeof(value), "value%d", j);
				check_get(p, key, value);
			}
	}
	ck_assert_uint_eq(count(p), 499);
	ck_assert_int_eq(kvp_pool_set(p, "key999", "back"), 0);
	check_enum(p, 499, "key999", "back");
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_read_only)
{
	struct kvp_pool *p = open_pool(0);
	int status;
	pid_t pid;

	ck_assert_int_eq(kvp_pool_set(p, "a", "1"), 0);
	kvp_pool_free(p);
	ck_assert_int_eq(chmod(base_dir, 0755), 0);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char v[VALF];

		/* As root, become somebody else; as a user, lose write permission. */
		if (geteuid() == 0 ? setgid(65534) < 0 || setuid(65534) < 0 :
				     chmod(pool_file(0), 0444) < 0)
			_exit(10);
		if (kvp_pool_open(dir, 0, &p) < 0)
			_exit(11);
		if (kvp_pool_get(p, "a", v, sizeof(v)) < 0 || !streq(v, "1"))
			_exit(12);
		if (kvp_pool_set(p, "b", "2") != -EACCES || kvp_pool_delete(p, "a") != -EACCES)
			_exit(13);
		kvp_pool_free(p);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* ---- other writers ------------------------------------------------------------ */

/* Exactly what cloud-init's KVP reporter does. */
static void cloud_init_append(const char *path, const char *key, const char *value)
{
	unsigned char img[REC];
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	put_rec(img, key, value);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(loop_write(fd, img, REC), 0);
	ck_assert_int_eq(flock(fd, LOCK_UN), 0);
	close(fd);
}

START_TEST(test_external_append)
{
	struct kvp_pool *p = open_pool(1);
	char key[32], value[32];

	ck_assert_int_eq(kvp_pool_set(p, "ours", "1"), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "CLOUD_INIT|event|%d", i);
		snprintf(value, sizeof(value), "{\"n\": %d}", i);
		cloud_init_append(pool_file(1), key, value);
		check_get(p, key, value);
		ck_assert_uint_eq(count(p), (size_t)i + 2);
		ck_assert_int_eq(kvp_pool_set(p, "ours", value), 0);
	}
	check_enum(p, 50, "CLOUD_INIT|event|49", "{\"n\": 49}");
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_external_rename)
{
	struct kvp_pool *p = open_pool(0);
	unsigned char buf[2 * REC];
	char tmp[256], v[VALF];

	ck_assert_int_eq(kvp_pool_set(p, "old", "1"), 0);
	check_get(p, "old", "1");
	put_rec(buf, "new1", "a");
	put_rec(buf + REC, "new2", "b");
	snprintf(tmp, sizeof(tmp), "%s/elsewhere", dir);
	spew(tmp, buf, sizeof(buf));
	ck_assert_int_eq(rename(tmp, pool_file(0)), 0);
	ck_assert_int_eq(kvp_pool_get(p, "old", v, sizeof(v)), -ENOENT);
	check_get(p, "new2", "b");
	ck_assert_int_eq(kvp_pool_set(p, "new3", "c"), 0);
	ck_assert_int_eq(stat_of(pool_file(0)).st_size, 3 * REC);
	/* Removed altogether: start over with an empty pool. */
	ck_assert_int_eq(unlink(pool_file(0)), 0);
	ck_assert_uint_eq(count(p), 0);
	ck_assert_int_eq(kvp_pool_set(p, "fresh", "d"), 0);
	ck_assert_int_eq(stat_of(pool_file(0)).st_size, REC);
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_external_rewrite)
{
	struct kvp_pool *p = open_pool(0);
	unsigned char buf[3 * REC];
	char v[VALF];
	int fd;

	ck_assert_int_eq(kvp_pool_set(p, "a", "1"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "b", "2"), 0);
	/* Upstream's way: truncate and rewrite in place. */
	put_rec(buf, "x", "1");
	put_rec(buf + REC, "y", "2");
	put_rec(buf + 2 * REC, "z", "3");
	spew(pool_file(0), buf, sizeof(buf));
	ck_assert_uint_eq(count(p), 3);
	ck_assert_int_eq(kvp_pool_get(p, "a", v, sizeof(v)), -ENOENT);
	check_get(p, "z", "3");

	/* Same size, same inode, immediately after our own operation, many
	 * times: within one timestamp tick nothing but the content changes. */
	fd = open(pool_file(0), O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 200; i++) {
		char value[16];

		snprintf(value, sizeof(value), "%03d", i);
		ck_assert_int_eq(kvp_pool_set(p, "y", "ours"), 0);
		put_rec(buf, "y", value);
		ck_assert_int_eq(pwrite(fd, buf, REC, REC), REC);
		check_get(p, "y", value);
	}
	close(fd);
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_trailing_partial)
{
	unsigned char buf[REC + 1000], *raw;
	struct kvp_pool *p;
	char k[KEYF], v[VALF];
	size_t len;

	/* Left by a writer killed mid-append, with its key whole: at start-up
	 * nobody else has the file open, so it is abandoned for sure and is
	 * completed, keeping what was written. */
	memset(buf, 0, sizeof(buf));
	put_rec(buf, "whole", "1");
	memcpy(buf + REC, "torn-key", 9);
	memcpy(buf + REC + KEYF, "half a val", 10);
	spew(pool_file(1), buf, sizeof(buf));
	p = open_pool(1);
	ck_assert_uint_eq(count(p), 2);
	check_get(p, "torn-key", "half a val");
	ck_assert_int_eq(stat_of(pool_file(1)).st_size, 2 * REC);
	ck_assert_int_eq(kvp_pool_set(p, "next", "2"), 0);
	raw = slurp(pool_file(1), &len);
	ck_assert_uint_eq(len, 3 * REC);
	check_raw(raw, 0, "whole", "1");
	check_raw(raw, 1, "torn-key", "half a val");
	check_raw(raw, 2, "next", "2");
	free(raw);
	kvp_pool_free(p);

	/* Without a whole key, or with a value cut short, there is nothing
	 * to keep: cut. */
	memset(buf + REC, 'x', 100);
	spew(pool_file(2), buf, REC + 100);
	p = open_pool(2);
	ck_assert_int_eq(stat_of(pool_file(2)).st_size, REC);
	ck_assert_uint_eq(count(p), 1);
	ck_assert_int_eq(kvp_pool_enumerate(p, 1, k, sizeof(k), v, sizeof(v)), -ENOENT);
	kvp_pool_free(p);
	memcpy(buf + REC, "cut-value", 10);
	memset(buf + REC + KEYF, 'v', 300);
	spew(pool_file(3), buf, REC + KEYF + 300);
	p = open_pool(3);
	ck_assert_int_eq(stat_of(pool_file(3)).st_size, REC);
	ck_assert_int_eq(kvp_pool_get(p, "cut-value", v, sizeof(v)), -ENOENT);
	kvp_pool_free(p);
}
END_TEST

/* What a kill leaves of an append that straddles a page boundary (the
 * file grown by a zero record, then the part behind the boundary written):
 * an aligned file with an empty-key record, here with a co-tenant's record
 * appended behind it before the restart. Start-up removes it and keeps the
 * co-tenant's. An empty-key record that is not such a leftover stays. */
START_TEST(test_torn_append_removed)
{
	unsigned char buf[5 * REC], *raw;
	char value[VALF];
	struct kvp_pool *p;
	size_t len;

	memset(buf, 0, sizeof(buf));
	put_rec(buf, "a", "1");
	make_value(value, 2000, 'v');
	put_rec(buf + REC, "lost", value);
	memset(buf + REC, 0, 4096 - REC); /* only the part behind the boundary */
	put_rec(buf + 2 * REC, "CLOUD_INIT|kept", "{}");
	put_rec(buf + 3 * REC, "x", "y");
	/* crosses a boundary too, but has bytes in front of it */
	put_rec(buf + 4 * REC, "", "an empty key, not ours");
	spew(pool_file(1), buf, sizeof(buf));
	p = open_pool(1);
	ck_assert_uint_eq(count(p), 4);
	check_enum(p, 0, "a", "1");
	check_enum(p, 1, "CLOUD_INIT|kept", "{}");
	check_enum(p, 2, "x", "y");
	check_enum(p, 3, "", "an empty key, not ours");
	raw = slurp(pool_file(1), &len);
	ck_assert_uint_eq(len, 4 * REC);
	free(raw);
	kvp_pool_free(p);
}
END_TEST

/* A partial record while somebody else has the file open may be an append
 * in progress: it is neither cut nor appended behind, until it completes. */
START_TEST(test_trailing_in_progress)
{
	unsigned char img[REC];
	struct kvp_pool *p = open_pool(1);
	int fd;

	ck_assert_int_eq(kvp_pool_set(p, "a", "1"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "b", "2"), 0);
	kvp_pool_set_lock_wait(p, 200 * 1000);
	put_rec(img, "slow", "writer");
	fd = open(pool_file(1), O_WRONLY | O_APPEND | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, img, 1500), 1500);
	ck_assert_int_eq(kvp_pool_set(p, "new", "x"), -EBUSY);
	ck_assert_int_eq(kvp_pool_delete(p, "a"), -EBUSY);
	ck_assert_int_eq(kvp_pool_set(p, "a", "modified"), 0); /* in place: fine */
	check_get(p, "b", "2");
	ck_assert_int_eq(stat_of(pool_file(1)).st_size, 2 * REC + 1500);
	ck_assert_int_eq(kvp_pool_set_nowait(p, "result", "queued"), 1);
	ck_assert_int_eq(write(fd, img + 1500, REC - 1500), REC - 1500);
	close(fd);
	ck_assert_int_eq(kvp_pool_flush(p), 0);
	ck_assert_int_eq(kvp_pool_delete(p, "result"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "new", "x"), 0);
	ck_assert_int_eq(kvp_pool_delete(p, "a"), 0);
	check_enum(p, 0, "b", "2");
	check_enum(p, 1, "slow", "writer");
	check_enum(p, 2, "new", "x");
	ck_assert_int_eq(stat_of(pool_file(1)).st_size, 3 * REC);
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_no_nul_survives)
{
	unsigned char buf[5 * REC], *raw;
	char k[KEYF], v[VALF], longkey[KEYF];
	struct kvp_pool *p;
	size_t len;

	put_rec(buf, "a", "1");
	memset(buf + REC, 'K', KEYF); /* neither field terminated */
	memset(buf + REC + KEYF, 'V', VALF);
	put_rec(buf + 2 * REC, "b", "2");
	put_rec(buf + 3 * REC, "half", "");
	memset(buf + 3 * REC + KEYF, 'W', VALF); /* value not terminated */
	put_rec(buf + 4 * REC, "c", "3");
	spew(pool_file(0), buf, sizeof(buf));

	p = open_pool(0);
	ck_assert_uint_eq(count(p), 5);
	ck_assert_int_eq(kvp_pool_enumerate(p, 1, k, sizeof(k), v, sizeof(v)), 0);
	ck_assert_uint_eq(strlen(k), KEYF - 1);
	ck_assert_uint_eq(strlen(v), VALF - 1);
	ck_assert_int_eq(k[0], 'K');
	ck_assert_int_eq(v[VALF - 2], 'V');
	/* Never matched: neither the cut key nor a key stored with a bad value. */
	make_value(longkey, KEYF - 1, 'K');
	ck_assert_int_eq(kvp_pool_get(p, longkey, v, sizeof(v)), -ENOENT);
	ck_assert_int_eq(kvp_pool_get(p, "half", v, sizeof(v)), -ENOENT);
	ck_assert_int_eq(kvp_pool_set(p, "half", "appended, not modified"), 0);
	ck_assert_uint_eq(count(p), 6);

	ck_assert_int_eq(kvp_pool_delete(p, "a"), 0); /* rewrite path */
	ck_assert_int_eq(kvp_pool_set(p, "c", "33"), 0);
	raw = slurp(pool_file(0), &len);
	ck_assert_uint_eq(len, 5 * REC);
	ck_assert_mem_eq(raw, buf + REC, REC);
	check_raw(raw, 1, "b", "2");
	ck_assert_mem_eq(raw + 2 * REC, buf + 3 * REC, REC);
	check_raw(raw, 3, "c", "33");
	check_raw(raw, 4, "half", "appended, not modified");
	free(raw);
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_two_pools)
{
	struct kvp_pool *a = open_pool(2), *b = open_pool(2);
	char v[VALF], value[16];

	ck_assert_int_eq(kvp_pool_set(a, "x", "1"), 0);
	check_get(b, "x", "1");
	for (int i = 0; i < 200; i++) {
		snprintf(value, sizeof(value), "%04d", i);
		ck_assert_int_eq(kvp_pool_set(i % 2 ? a : b, "x", value), 0);
		check_get(i % 2 ? b : a, "x", value);
	}
	ck_assert_int_eq(kvp_pool_set(b, "y", "2"), 0);
	ck_assert_int_eq(kvp_pool_set(b, "z", "3"), 0);
	check_enum(a, 2, "z", "3");
	ck_assert_int_eq(kvp_pool_delete(a, "x"), 0); /* rename: b follows the name */
	ck_assert_int_eq(kvp_pool_get(b, "x", v, sizeof(v)), -ENOENT);
	check_enum(b, 0, "y", "2");
	ck_assert_int_eq(kvp_pool_set(b, "w", "4"), 0);
	check_get(a, "w", "4");
	ck_assert_int_eq(kvp_pool_delete(b, "y"), 0);
	ck_assert_uint_eq(count(a), 2);
	kvp_pool_free(a);
	kvp_pool_free(b);
}
END_TEST

START_TEST(test_stale_temp_removed)
{
	char t0[256], t1[256];
	struct kvp_pool *p;

	snprintf(t0, sizeof(t0), "%s/.kvp_pool_0.AbC123", dir);
	snprintf(t1, sizeof(t1), "%s/.kvp_pool_1.AbC123", dir);
	spew(t0, "x", 1);
	spew(t1, "x", 1);
	p = open_pool(0);
	ck_assert_int_eq(access(t0, F_OK), -1);
	ck_assert_int_eq(access(t1, F_OK), 0);
	kvp_pool_free(p);
}
END_TEST

/* ---- concurrency: locks and the replaced-file window --------------------------- */

static void wait_child(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

/* The child opens the pool file now (before the parent replaces it) and
 * appends like cloud-init once told to go. */
static pid_t late_appender(const char *path, int *ready_rd, int *go_wr)
{
	int ready[2], go[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		unsigned char img[REC];
		char c;
		int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

		if (fd < 0 || write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		kvp_pool_record_format(img, "late", "appended to the old file");
		if (flock(fd, LOCK_EX) < 0 || loop_write(fd, img, REC) < 0 ||
		    flock(fd, LOCK_UN) < 0)
			_exit(2);
		close(fd);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	*ready_rd = ready[0];
	*go_wr = go[1];
	return pid;
}

START_TEST(test_orphan_append)
{
	struct kvp_pool *p = open_pool(1);
	int ready, go;
	ino_t old_ino;
	pid_t pid;
	char c;

	ck_assert_int_eq(kvp_pool_set(p, "a", "1"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "b", "2"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "c", "3"), 0);
	old_ino = stat_of(pool_file(1)).st_ino;
	pid = late_appender(pool_file(1), &ready, &go);
	ck_assert_int_eq(read(ready, &c, 1), 1);
	ck_assert_int_eq(kvp_pool_delete(p, "a"), 0);
	ck_assert_uint_eq(stat_of(pool_file(1)).st_ino, old_ino); /* never replaced */
	ck_assert_int_eq(write(go, "g", 1), 1);
	wait_child(pid);
	close(ready);
	close(go);
	/* The file was changed in place: the record is simply in the pool. */
	check_get(p, "late", "appended to the old file");
	ck_assert_uint_eq(count(p), 3);
	check_enum(p, 0, "b", "2");
	check_enum(p, 2, "late", "appended to the old file");
	ck_assert_int_eq(stat_of(pool_file(1)).st_size, 3 * REC);
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_orphan_free)
{
	struct kvp_pool *p = open_pool(1);
	int ready, go;
	pid_t pid;
	char c;

	ck_assert_int_eq(kvp_pool_set(p, "a", "1"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "b", "2"), 0);
	pid = late_appender(pool_file(1), &ready, &go);
	ck_assert_int_eq(read(ready, &c, 1), 1);
	ck_assert_int_eq(kvp_pool_delete(p, "a"), 0);
	ck_assert_int_eq(write(go, "g", 1), 1);
	wait_child(pid);
	close(ready);
	close(go);
	kvp_pool_free(p); /* hvkvpctl exits right after its delete */
	p = open_pool(1);
	check_get(p, "late", "appended to the old file");
	check_enum(p, 0, "b", "2");
	kvp_pool_free(p);
}
END_TEST

/* Another process still has the replaced file open (here: a second pool
 * object that has not looked since), so the lease is refused; the records
 * are copied anyway and the file is watched until it is let go. */
START_TEST(test_orphan_held)
{
	struct kvp_pool *p = open_pool(1), *other = open_pool(1);
	int ready, go;
	pid_t pid;
	char c;

	ck_assert_int_eq(kvp_pool_set(p, "a", "1"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "b", "2"), 0);
	check_get(other, "b", "2");
	pid = late_appender(pool_file(1), &ready, &go);
	ck_assert_int_eq(read(ready, &c, 1), 1);
	ck_assert_int_eq(kvp_pool_delete(p, "a"), 0);
	ck_assert_int_eq(write(go, "g", 1), 1);
	wait_child(pid);
	close(ready);
	close(go);
	check_get(p, "late", "appended to the old file");
	ck_assert_uint_eq(count(p), 2);
	check_get(other, "late", "appended to the old file");
	ck_assert_uint_eq(count(p), 2); /* copied once, not again */
	kvp_pool_free(other);
	kvp_pool_free(p);
}
END_TEST

/* More replaced files held open by somebody than we keep watching: the
 * oldest is drained and let go; nothing that arrived in time is lost. */
START_TEST(test_many_orphans)
{
	struct kvp_pool *p = open_pool(1);
	int held[12];
	char key[32];

	for (int i = 0; i < 13; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(kvp_pool_set(p, key, "v"), 0);
	}
	for (int i = 0; i < 12; i++) {
		unsigned char img[REC];

		held[i] = open(pool_file(1), O_WRONLY | O_APPEND | O_CLOEXEC);
		ck_assert_int_ge(held[i], 0);
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(kvp_pool_delete(p, key), 0);
		snprintf(key, sizeof(key), "late%d", i);
		put_rec(img, key, "x");
		ck_assert_int_eq(flock(held[i], LOCK_EX), 0);
		ck_assert_int_eq(loop_write(held[i], img, REC), 0);
		ck_assert_int_eq(flock(held[i], LOCK_UN), 0);
		check_get(p, key, "x");
	}
	for (int i = 0; i < 12; i++)
		close(held[i]);
	ck_assert_uint_eq(count(p), 13);
	check_enum(p, 0, "k12", "v");
	check_enum(p, 12, "late11", "x");
	kvp_pool_free(p);
}
END_TEST

/* A flock() holder (cloud-init mid-batch) and an fcntl() holder (upstream,
 * Microsoft's samples) both keep us out until they are done. */
static pid_t lock_holder(const char *path, bool use_flock, int *ready_rd)
{
	int ready[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		unsigned char img[REC];
		int fd = open(path, O_RDWR | O_CLOEXEC);
		struct stat st;

		if (fd < 0)
			_exit(1);
		if (use_flock ? flock(fd, LOCK_EX) < 0 : fcntl(fd, F_SETLKW, &fl) < 0)
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		usleep(200 * 1000);
		kvp_pool_record_format(img, use_flock ? "flocker" : "fcntler", "was here");
		if (fstat(fd, &st) < 0 || pwrite(fd, img, REC, st.st_size) != REC)
			_exit(4);
		_exit(0); /* exit drops the locks */
	}
	close(ready[1]);
	*ready_rd = ready[0];
	return pid;
}

static void check_lock_holder(bool use_flock)
{
	struct kvp_pool *p = open_pool(0);
	const char *who = use_flock ? "flocker" : "fcntler";
	int ready;
	pid_t pid;
	char c;

	ck_assert_int_eq(kvp_pool_set(p, "a", "1"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "b", "2"), 0);
	pid = lock_holder(pool_file(0), use_flock, &ready);
	ck_assert_int_eq(read(ready, &c, 1), 1);
	ck_assert_int_eq(kvp_pool_delete(p, "a"), 0); /* waits for the holder */
	wait_child(pid);
	close(ready);
	check_enum(p, 1, who, "was here");
	ck_assert_uint_eq(count(p), 2);
	kvp_pool_free(p);
}

START_TEST(test_flock_holder)
{
	check_lock_holder(true);
}
END_TEST

START_TEST(test_fcntl_holder)
{
	check_lock_holder(false);
}
END_TEST

/* ---- bounded lock waits ------------------------------------------------------------ */

/* Holds a lock on the pool file until told to let go (or killed): an
 * exclusive flock() or a classic fcntl() read lock, taken through a
 * read-only descriptor, as any local user can on a 0644 file. */
static pid_t hostile_holder(const char *path, bool use_flock, int *ready_rd, int *go_wr)
{
	int ready[2], go[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		char c;

		if (fd < 0)
			_exit(1);
		if (use_flock ? flock(fd, LOCK_EX) < 0 : fcntl(fd, F_SETLK, &fl) < 0)
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		(void)read(go[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	*ready_rd = ready[0];
	*go_wr = go[1];
	return pid;
}

static void release_holder(pid_t pid, int ready, int go)
{
	ck_assert_int_eq(write(go, "g", 1), 1);
	wait_child(pid);
	close(ready);
	close(go);
}

static double elapsed_s(uint64_t since)
{
	return (double)(now_usec() - since) / 1e6;
}

static void check_bounded(bool use_flock)
{
	struct kvp_pool *p0 = open_pool(0), *p1 = open_pool(1), *late = NULL;
	unsigned char *before, *after;
	size_t len_before, len_after;
	char v[VALF];
	int ready, go;
	uint64_t t;
	pid_t pid;
	char c;

	ck_assert_int_eq(kvp_pool_set(p0, "a", "1"), 0);
	ck_assert_int_eq(kvp_pool_set(p0, "b", "2"), 0);
	before = slurp(pool_file(0), &len_before);
	pid = hostile_holder(pool_file(0), use_flock, &ready, &go);
	ck_assert_int_eq(read(ready, &c, 1), 1);

	/* The first change waits for the bound, then says "busy". */
	t = now_usec();
	ck_assert_int_eq(kvp_pool_set(p0, "a", "changed"), -EBUSY);
	fprintf(stderr, "pool lock (%s): first SET answered -EBUSY after %.3f s\n",
		use_flock ? "flock" : "fcntl F_RDLCK", elapsed_s(t));
	ck_assert(elapsed_s(t) >= (double)KVP_POOL_LOCK_WAIT_USEC / 1e6 - 0.01);
	ck_assert(elapsed_s(t) < (double)KVP_POOL_LOCK_WAIT_USEC / 1e6 + 1.5);
	/* While it stays locked, the next ones give up sooner. */
	t = now_usec();
	ck_assert_int_eq(kvp_pool_delete(p0, "b"), -EBUSY);
	ck_assert(elapsed_s(t) < (double)KVP_POOL_LOCK_WAIT_USEC / 1e6);
	/* Nothing changed behind the holder's back; reads are served from
	 * the unchanged cache; other pools are not concerned. */
	check_get(p0, "a", "1");
	check_enum(p0, 1, "b", "2");
	ck_assert_int_eq(kvp_pool_set(p1, "x", "1"), 0);
	check_get(p1, "x", "1");
	/* Opening never waits. */
	t = now_usec();
	late = open_pool(0);
	ck_assert(elapsed_s(t) < (double)KVP_POOL_LOCK_WAIT_USEC / 1e6);
	if (use_flock)
		ck_assert_int_eq(kvp_pool_get(late, "a", v, sizeof(v)), -EBUSY);
	/* A write the host's answer must not wait for is queued. */
	ck_assert_int_eq(kvp_pool_set_nowait(p0, "result", "first"), 1);
	ck_assert_int_eq(kvp_pool_set_nowait(p0, "result", "second"), 1);
	ck_assert_uint_eq(kvp_pool_pending(p0), 1);
	ck_assert_int_eq(kvp_pool_flush(p0), 1);
	after = slurp(pool_file(0), &len_after);
	ck_assert_uint_eq(len_after, len_before);
	ck_assert_mem_eq(after, before, len_before);
	free(after);

	release_holder(pid, ready, go);
	ck_assert_int_eq(kvp_pool_flush(p0), 0);
	ck_assert_uint_eq(kvp_pool_pending(p0), 0);
	check_get(p0, "result", "second");
	check_get(late, "result", "second");
	ck_assert_int_eq(kvp_pool_set(p0, "a", "changed"), 0);
	check_get(late, "a", "changed");
	free(before);
	kvp_pool_free(late);
	kvp_pool_free(p1);
	kvp_pool_free(p0);
}

START_TEST(test_bounded_flock)
{
	check_bounded(true);
}
END_TEST

START_TEST(test_bounded_fcntl_read)
{
	check_bounded(false);
}
END_TEST

/* Queued writes go out in order with the next change; free() tries once
 * more. */
START_TEST(test_deferred_order)
{
	struct kvp_pool *p = open_pool(1);
	int ready, go;
	pid_t pid;
	char c;

	kvp_pool_set_lock_wait(p, 0);
	ck_assert_int_eq(kvp_pool_set_nowait(p, "r1", "now"), 0);
	pid = hostile_holder(pool_file(1), true, &ready, &go);
	ck_assert_int_eq(read(ready, &c, 1), 1);
	ck_assert_int_eq(kvp_pool_set_nowait(p, "r2", "later"), 1);
	ck_assert_int_eq(kvp_pool_set_nowait(p, "r1", "later too"), 1);
	ck_assert_int_eq(kvp_pool_set(p, "host", "x"), -EBUSY);
	release_holder(pid, ready, go);
	ck_assert_int_eq(kvp_pool_set(p, "host", "x"), 0);
	ck_assert_uint_eq(kvp_pool_pending(p), 0);
	check_enum(p, 0, "r1", "later too");
	check_enum(p, 1, "r2", "later");
	check_enum(p, 2, "host", "x");

	pid = hostile_holder(pool_file(1), true, &ready, &go);
	ck_assert_int_eq(read(ready, &c, 1), 1);
	ck_assert_int_eq(kvp_pool_set_nowait(p, "r3", "at exit"), 1);
	release_holder(pid, ready, go);
	kvp_pool_free(p);
	p = open_pool(1);
	check_get(p, "r3", "at exit");
	kvp_pool_free(p);
}
END_TEST

/* ---- bounded resources and refused files -------------------------------------------- */

static long vm_kib(const char *field)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Whoever can write the pool directory may leave a FIFO where a journal
 * goes: a pool operation must neither hang on it (this check would time
 * out) nor take it for a journal of ours. */
START_TEST(test_fifo_journal_ignored)
{
	char jpath[512], v[VALF];
	struct kvp_pool *p;

	snprintf(jpath, sizeof(jpath), "%s.journal", pool_file(2));
	ck_assert_int_eq(mkfifo(jpath, 0600), 0);
	p = open_pool(2);
	ck_assert_int_eq(kvp_pool_set(p, "after-fifo", "1"), 0);
	ck_assert_int_eq(kvp_pool_get(p, "after-fifo", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "1");
	kvp_pool_free(p);
	unlink(jpath);
}
END_TEST

START_TEST(test_symlink_refused)
{
	unsigned char buf[REC], *raw;
	char target[256], health[160], v[VALF];
	struct kvp_pool *p, *other;
	size_t len;

	snprintf(target, sizeof(target), "%s/precious", dir);
	put_rec(buf, "secret", "kept");
	spew(target, buf, sizeof(buf));
	ck_assert_int_eq(symlink(target, pool_file(3)), 0);
	p = open_pool(3);
	other = open_pool(1);
	ck_assert_int_eq(kvp_pool_health(p, health, sizeof(health)), -ELOOP);
	ck_assert_ptr_nonnull(strstr(health, "symbolic link"));
	ck_assert_int_eq(kvp_pool_get(p, "secret", v, sizeof(v)), -ELOOP);
	ck_assert_int_eq(kvp_pool_set(p, "x", "y"), -ELOOP);
	ck_assert_int_eq(kvp_pool_set_nowait(p, "x", "y"), -ELOOP);
	ck_assert_int_eq(kvp_pool_delete(p, "secret"), -ELOOP);
	ck_assert_int_eq(kvp_pool_enumerate(p, 0, v, sizeof(v), v, sizeof(v)), -ELOOP);
	ck_assert_int_eq(kvp_pool_set(other, "fine", "1"), 0);
	ck_assert_int_eq(kvp_pool_health(other, NULL, 0), 0);
	raw = slurp(target, &len);
	ck_assert_uint_eq(len, REC);
	ck_assert_mem_eq(raw, buf, REC);
	free(raw);
	/* Repaired by the administrator: usable again. */
	ck_assert_int_eq(unlink(pool_file(3)), 0);
	ck_assert_int_eq(kvp_pool_set(p, "x", "y"), 0);
	ck_assert_int_eq(kvp_pool_health(p, NULL, 0), 0);
	check_get(p, "x", "y");
	kvp_pool_free(other);
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_fifo_refused)
{
	struct kvp_pool *p;
	char v[VALF];

	ck_assert_int_eq(mkfifo(pool_file(4), 0644), 0);
	p = open_pool(4); /* must not block */
	ck_assert_int_eq(kvp_pool_health(p, NULL, 0), -EIO);
	ck_assert_int_eq(kvp_pool_get(p, "a", v, sizeof(v)), -EIO);
	ck_assert_int_eq(kvp_pool_set(p, "a", "1"), -EIO);
	kvp_pool_free(p);
}
END_TEST

/* 11 GiB (sparse) with two records at the front: read up to the cap only,
 * served read-only, left alone, memory bounded. */
START_TEST(test_too_large)
{
	unsigned char buf[2 * REC];
	char health[160];
	struct kvp_pool *p;
	struct stat before, after;
	long rss0, rss1;
	int fd;

	put_rec(buf, "first", "1");
	put_rec(buf + REC, "second", "2");
	spew(pool_file(1), buf, sizeof(buf));
	fd = open(pool_file(1), O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	if (ftruncate(fd, 11LL << 30) < 0) {
		close(fd);
		fprintf(stderr, "pool: no sparse 11 GiB file here (%s); skipping\n", strerror(errno));
		return;
	}
	close(fd);
	before = stat_of(pool_file(1));
	rss0 = vm_kib("VmRSS:");
	p = open_pool(1);
	check_get(p, "second", "2");
	rss1 = vm_kib("VmRSS:");
	fprintf(stderr, "pool: an 11 GiB pool file costs %ld KiB of RSS\n", rss1 - rss0);
	ck_assert_int_lt(rss1 - rss0, 64 * 1024);
	ck_assert_int_eq(kvp_pool_health(p, health, sizeof(health)), -EFBIG);
	ck_assert_ptr_nonnull(strstr(health, "read-only"));
	ck_assert_uint_eq(count(p), KVP_POOL_MAX_RECORDS);
	ck_assert_int_eq(kvp_pool_set(p, "first", "changed"), -EFBIG);
	ck_assert_int_eq(kvp_pool_set_nowait(p, "first", "changed"), -EFBIG);
	ck_assert_int_eq(kvp_pool_delete(p, "second"), -EFBIG);
	check_get(p, "first", "1");
	after = stat_of(pool_file(1));
	ck_assert_int_eq(after.st_size, before.st_size);
	ck_assert_int_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	ck_assert_int_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	/* Cut back by its owner: a pool again. */
	ck_assert_int_eq(truncate(pool_file(1), 2 * REC), 0);
	ck_assert_int_eq(kvp_pool_set(p, "third", "3"), 0);
	ck_assert_int_eq(kvp_pool_health(p, NULL, 0), 0);
	ck_assert_uint_eq(count(p), 3);
	kvp_pool_free(p);
}
END_TEST

START_TEST(test_full)
{
	unsigned char *buf = calloc(KVP_POOL_MAX_RECORDS, REC);
	struct kvp_pool *p;
	char key[32];

	ck_assert_ptr_nonnull(buf);
	for (unsigned i = 0; i < KVP_POOL_MAX_RECORDS; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		put_rec(buf + (size_t)i * REC, key, "v");
	}
	spew(pool_file(0), buf, (size_t)KVP_POOL_MAX_RECORDS * REC);
	free(buf);
	p = open_pool(0);
	ck_assert_int_eq(kvp_pool_health(p, NULL, 0), 0);
	ck_assert_int_eq(kvp_pool_set(p, "one-too-many", "x"), -EFBIG);
	ck_assert_int_eq(kvp_pool_set(p, "k7", "modified"), 0);
	ck_assert_int_eq(kvp_pool_delete(p, "k0"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "one-more", "x"), 0);
	ck_assert_int_eq(kvp_pool_set(p, "one-too-many", "x"), -EFBIG);
	ck_assert_int_eq(stat_of(pool_file(0)).st_size, (off_t)KVP_POOL_MAX_RECORDS * REC);
	kvp_pool_free(p);
}
END_TEST

/* ---- kill safety ------------------------------------------------------------------ */

static const size_t kill_lens[] = { 3, 700, 1200, 1700, 2047, 40, 520, 1030, 1540, 9 };

/* Values carry their own generation number, so a torn one cannot pass. */
static void kill_value(char *buf, unsigned n)
{
	size_t len = kill_lens[n % ARRAY_SIZE(kill_lens)];
	int h = snprintf(buf, 32, "%u:", n);

	if ((size_t)h > len)
		len = (size_t)h;
	memset(buf + h, 'a' + (int)(n % 26), len - (size_t)h);
	buf[len] = '\0';
}

struct kill_check {
	bool seen[16];
	size_t n;
};

static int kill_cb(const char *key, size_t key_len, const char *value, size_t value_len,
		   bool truncated, void *userdata)
{
	struct kill_check *c = userdata;
	char expect[VALF];
	unsigned long n, k;
	char *end;

	ck_assert(!truncated);
	ck_assert_int_eq(key[0], 'k');
	k = strtoul(key + 1, &end, 10);
	ck_assert(*end == '\0' && k < 7);
	ck_assert_msg(!c->seen[k], "key %s twice", key);
	c->seen[k] = true;
	n = strtoul(value, &end, 10);
	ck_assert_int_eq(*end, ':');
	kill_value(expect, (unsigned)n);
	ck_assert_uint_eq(value_len, strlen(expect));
	ck_assert_str_eq(value, expect);
	(void)key_len;
	c->n++;
	return 0;
}

/* Changes pool 0 until killed; writes one byte to ready_fd once the pool is
 * open, so that the parent's random delay measures time spent changing it
 * (on a loaded machine the open alone can take longer than that delay). */
static void kill_child(int ready_fd)
{
	struct kvp_pool *p = NULL;
	char key[16], value[VALF];

	if (kvp_pool_open(dir, 0, &p) < 0)
		_exit(1);
	if (write(ready_fd, "r", 1) != 1)
		_exit(3);
	close(ready_fd);
	for (unsigned n = 0;; n++) {
		snprintf(key, sizeof(key), "k%u", (n * 5) % 7);
		if (n % 6 == 5)
			(void)kvp_pool_delete(p, key);
		else {
			kill_value(value, n);
			if (kvp_pool_set(p, key, value) < 0)
				_exit(2);
		}
	}
}

START_TEST(test_kill_safety)
{
	unsigned seed = 12345;
	unsigned torn_appends = 0;

	for (int it = 0; it < 40; it++) {
		struct kill_check c = { 0 };
		char value[VALF];
		struct kvp_pool *p;
		unsigned char *raw;
		size_t len, trailing;
		DIR *d;
		struct dirent *de;
		int status, ready[2];
		char byte;
		pid_t pid;

		ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(ready[0]);
			kill_child(ready[1]);
		}
		close(ready[1]);
		ck_assert_int_eq(read(ready[0], &byte, 1), 1);
		close(ready[0]);
		usleep(1000 + rand_r(&seed) % 30000);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFSIGNALED(status));

		/* A deletion cut short is finished by whoever opens the pool
		 * next (its journal); an append cut short leaves the file
		 * aligned, with an empty-key record that opening removes. */
		if (access(pool_file(0), F_OK) == 0) {
			raw = slurp(pool_file(0), &len);
			ck_assert_uint_eq(len % REC, 0);
			for (size_t i = 0; i < len / REC; i++)
				if (raw[i * REC] == 0)
					torn_appends++;
			free(raw);
		}
		p = open_pool(0);
		raw = slurp(pool_file(0), &len);
		ck_assert_int_eq(kvp_pool_parse(raw, len, kill_cb, &c, &trailing), 0);
		ck_assert_uint_eq(trailing, 0);
		free(raw);
		ck_assert_uint_eq(count(p), c.n);
		kill_value(value, 0);
		ck_assert_int_eq(kvp_pool_set(p, "k0", value), 0);
		kvp_pool_free(p);
		d = opendir(dir);
		ck_assert_ptr_nonnull(d);
		while ((de = readdir(d)))
			ck_assert_msg(strncmp(de->d_name, ".kvp_pool_0.", 12) != 0,
				      "left-over %s", de->d_name);
		closedir(d);
	}
	if (torn_appends)
		fprintf(stderr, "pool kill test: %u append(s) cut short, removed at start-up\n",
			torn_appends);
}
END_TEST

/* ---- rough speed, printed, never asserted --------------------------------------- */

static double bench(struct kvp_pool *p, size_t records, bool get)
{
	char key[32], value[VALF];
	uint64_t t0 = now_usec();

	for (unsigned i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "key-%06zu", (size_t)(i * 7919u) % records);
		if (get)
			ck_assert_int_eq(kvp_pool_get(p, key, value, sizeof(value)), 0);
		else {
			snprintf(value, sizeof(value), "value-%08u", i);
			ck_assert_int_eq(kvp_pool_set(p, key, value), 0);
		}
	}
	return (double)(now_usec() - t0) / 10000.0;
}

START_TEST(test_perf)
{
	static const size_t sizes[] = { 10, KVP_POOL_MAX_RECORDS };

	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		struct kvp_pool *p = open_pool((unsigned)s);
		char key[32];
		double set_us, get_us;

		for (size_t i = 0; i < sizes[s]; i++) {
			snprintf(key, sizeof(key), "key-%06zu", i);
			ck_assert_int_eq(kvp_pool_set(p, key, "value-00000000"), 0);
		}
		set_us = bench(p, sizes[s], false);
		get_us = bench(p, sizes[s], true);
		fprintf(stderr, "pool perf: %5zu records: SET %.2f us/op, GET %.2f us/op\n",
			sizes[s], set_us, get_us);
		kvp_pool_free(p);
	}
}
END_TEST

Suite *pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_empty);
	tcase_add_test(tc, test_parse_records);
	tcase_add_test(tc, test_parse_no_nul);
	tcase_add_test(tc, test_parse_stop);
	tcase_add_test(tc, test_record_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("semantics");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_open_creates);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_upstream_file);
	tcase_add_test(tc, test_modify_in_place);
	tcase_add_test(tc, test_modify_boundaries);
	tcase_add_test(tc, test_modify_over_garbage);
	tcase_add_test(tc, test_delete_order);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_empty_key_record);
	tcase_add_test(tc, test_trailing_partial);
	tcase_add_test(tc, test_trailing_in_progress);
	tcase_add_test(tc, test_torn_append_removed);
	tcase_add_test(tc, test_no_nul_survives);
	tcase_add_test(tc, test_stale_temp_removed);
	tcase_add_test(tc, test_many_records);
	tcase_add_test(tc, test_read_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("sharing");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_external_append);
	tcase_add_test(tc, test_external_rename);
	tcase_add_test(tc, test_external_rewrite);
	tcase_add_test(tc, test_two_pools);
	tcase_add_test(tc, test_orphan_append);
	tcase_add_test(tc, test_orphan_free);
	tcase_add_test(tc, test_orphan_held);
	tcase_add_test(tc, test_many_orphans);
	tcase_add_test(tc, test_flock_holder);
	tcase_add_test(tc, test_fcntl_holder);
	tcase_add_test(tc, test_kill_safety);
	suite_add_tcase(s, tc);

	tc = tcase_create("locks");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_bounded_flock);
	tcase_add_test(tc, test_bounded_fcntl_read);
	tcase_add_test(tc, test_deferred_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_symlink_refused);
	tcase_add_test(tc, test_fifo_journal_ignored);
	tcase_add_test(tc, test_fifo_refused);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("perf");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_perf);
	suite_add_tcase(s, tc);
	return s;
}

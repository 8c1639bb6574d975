/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-pool-file.c - libFuzzer target: pool file parser, then the pool API against a model. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "../unit/test-util.h"
#include "fuzz-util.h"
#include "pool.h"
#include "util.h"

#define REC KVP_RECORD_SIZE
#define KEYF HV_KVP_EXCHANGE_MAX_KEY_SIZE
#define VALF HV_KVP_EXCHANGE_MAX_VALUE_SIZE
/* The file round trip costs a few system calls per record; beyond this the
 * parser alone is exercised. */
#define MAX_FILE_INPUT (64 * 1024)
#define MAX_MODEL (MAX_FILE_INPUT / REC + 4)
/* The pool file never holds more than the input plus what the model adds. */
#define MAX_FILE_SIZE (MAX_FILE_INPUT + MAX_MODEL * REC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What upstream would hold in memory: records in file order. */
struct mrec {
	char key[KEYF];
	char value[VALF];
	bool odd; /* a field without NUL: kept byte for byte, never matched */
	unsigned char raw[REC];
};

static struct mrec model[MAX_MODEL];
static size_t model_n;

struct walk {
	const uint8_t *base;
	size_t n;
	bool fill_model;
	bool compare_model;
};

static int walk_cb(const char *key, size_t key_len, const char *value, size_t value_len,
		   bool truncated, void *userdata)
{
	struct walk *w = userdata;
	const uint8_t *rec = w->base + w->n * REC;
	bool key_nul = memchr(rec, 0, KEYF) != NULL;
	bool value_nul = memchr(rec + KEYF, 0, VALF) != NULL;

	CHECK(strlen(key) == key_len && key_len < KEYF);
	CHECK(strlen(value) == value_len && value_len < VALF);
	CHECK(truncated == (!key_nul || !value_nul));
	CHECK(memcmp(key, rec, key_len) == 0);
	CHECK(memcmp(value, rec + KEYF, value_len) == 0);
	if (w->fill_model && w->n < MAX_MODEL) {
		struct mrec *m = &model[w->n];

		memcpy(m->key, key, key_len + 1);
		memcpy(m->value, value, value_len + 1);
		m->odd = truncated;
		memcpy(m->raw, rec, REC);
	}
	if (w->compare_model) {
		const struct mrec *m = &model[w->n];

		CHECK(w->n < model_n);
		CHECK(streq(m->key, key));
		CHECK(streq(m->value, value));
		CHECK(m->odd == truncated);
		if (m->odd)
			CHECK(memcmp(m->raw, rec, REC) == 0);
	}
	w->n++;
	return 0;
}

static size_t model_find(const char *key)
{
	for (size_t i = 0; i < model_n; i++)
		if (!model[i].odd && model[i].key[0] && streq(model[i].key, key))
			return i;
	return SIZE_MAX;
}

static void model_set(const char *key, const char *value)
{
	size_t i = model_find(key);

	if (i == SIZE_MAX) {
		CHECK(model_n < MAX_MODEL);
		i = model_n++;
		model[i] = (struct mrec){ 0 };
		strcpy(model[i].key, key);
	}
	strcpy(model[i].value, value);
}

static void model_delete(const char *key)
{
	size_t i = model_find(key);

	CHECK(i != SIZE_MAX);
	memmove(&model[i], &model[i + 1], (model_n - i - 1) * sizeof(model[0]));
	model_n--;
}

static char dir[64];
static char path[128];

static void remove_dir(void)
{
	test_rm_tree(dir);
}

static bool setup_dir(void)
{
	if (dir[0])
		return true;
	strcpy(dir, "/dev/shm/fuzz-pool-XXXXXX");
	if (!mkdtemp(dir)) {
		strcpy(dir, "/tmp/fuzz-pool-XXXXXX");
		if (!mkdtemp(dir)) {
			dir[0] = '\0';
			return false;
		}
	}
	snprintf(path, sizeof(path), "%s/" KVP_POOL_FILE_PREFIX "0", dir);
	atexit(remove_dir);
	return true;
}

/* The file must parse to exactly the model, and (when `api`) the API must
 * agree record by record. After a write (or opening: nobody else holds the
 * file), a partial record left at the end of the input must be gone. */
static void compare(struct kvp_pool *p, bool written, bool api)
{
	char key[KEYF], value[VALF];
	struct walk w = { .compare_model = true };
	char *buf;
	size_t count, len, trailing = 1;

	CHECK(kvp_pool_count(p, &count) == 0);
	CHECK(count == model_n);
	for (size_t i = 0; api && i < model_n; i++) {
		CHECK(kvp_pool_enumerate(p, (uint32_t)i, key, sizeof(key), value,
					 sizeof(value)) == 0);
		CHECK(streq(key, model[i].key));
		CHECK(streq(value, model[i].value));
		if (!model[i].odd && key[0] && model_find(key) == i) {
			CHECK(kvp_pool_get(p, key, value, sizeof(value)) == 0);
			CHECK(streq(value, model[i].value));
		}
	}
	CHECK(kvp_pool_enumerate(p, (uint32_t)model_n, key, sizeof(key), value, sizeof(value)) ==
	      -ENOENT);

	CHECK(read_file_bounded(path, 0, MAX_FILE_SIZE, &buf, &len) == 0);
	w.base = (const uint8_t *)buf;
	CHECK(kvp_pool_parse(buf, len, walk_cb, &w, &trailing) == 0);
	CHECK(w.n == model_n);
	CHECK(!written || trailing == 0);
	free(buf);
}

/* A printable value whose length comes from the input. */
static void make_value(char *v, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		v[i] = (char)('!' + (seed + i) % 90);
	v[len] = '\0';
}

static void file_round_trip(const uint8_t *data, size_t size)
{
	struct kvp_pool *p = NULL;
	char value[VALF], key[KEYF];
	uint8_t b0 = size > 0 ? data[0] : 0, b1 = size > 1 ? data[1] : 0,
		b2 = size > 2 ? data[2] : 0;
	size_t r;
	int fd;

	if (!setup_dir())
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	CHECK(loop_write(fd, data, size) == 0);
	close(fd);

	/* Nobody else has the file open, so a partial record at the end is
	 * abandoned for sure: opening completes it when its key and value
	 * are whole, and removes it otherwise. */
	if (size % REC > KEYF) {
		const char *t = (const char *)data + size - size % REC;
		size_t tail = size % REC, kl = strnlen(t, KEYF);

		if (kl > 0 && kl < KEYF && strnlen(t + KEYF, tail - KEYF) < tail - KEYF) {
			CHECK(model_n < MAX_MODEL);
			model[model_n] = (struct mrec){ 0 };
			strcpy(model[model_n].key, t);
			strcpy(model[model_n].value, t + KEYF);
			model_n++;
		}
	}
	/* It also removes what a kill leaves of a page-straddling append: an
	 * empty key with only zeros in front of the page boundary inside. */
	for (size_t i = size / REC; i-- > 0;) {
		size_t in = (i * REC) % 4096, t = in + REC > 4096 ? 4096 - in : REC, z;

		if (t == REC || model[i].odd || model[i].key[0])
			continue;
		for (z = 0; z < t && data[i * REC + z] == 0; z++)
			;
		if (z < t)
			continue;
		memmove(&model[i], &model[i + 1], (model_n - i - 1) * sizeof(model[0]));
		model_n--;
	}
	CHECK(kvp_pool_open(dir, 0, &p) == 0);
	compare(p, true, true);

	/* Modify (or append) the key of an input record, with a value length
	 * from the input so that every page-boundary case comes up. */
	r = model_n ? b0 % model_n : 0;
	if (model_n && !model[r].odd && model[r].key[0]) {
		strcpy(key, model[r].key);
		make_value(value, (size_t)(b1 * 8 + b2 % 8) % VALF, b2);
		CHECK(kvp_pool_set(p, key, value) == 0);
		model_set(key, value);
		compare(p, true, false);
	}
	CHECK(kvp_pool_set(p, "fuzz-new", "appended") == 0);
	model_set("fuzz-new", "appended");
	compare(p, true, false);

	/* Delete the key of another input record (shifting the rest). */
	r = model_n ? b2 % model_n : 0;
	if (model_n && !model[r].odd && model[r].key[0]) {
		strcpy(key, model[r].key);
		CHECK(kvp_pool_delete(p, key) == 0);
		model_delete(key);
		compare(p, true, false);
	}
	compare(p, true, true);
	CHECK(kvp_pool_get(p, "", value, sizeof(value)) == -EINVAL);
	kvp_pool_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct walk w = { .base = data, .fill_model = size <= MAX_FILE_INPUT };
	size_t trailing = SIZE_MAX;

	CHECK(kvp_pool_parse(data, size, walk_cb, &w, &trailing) == 0);
	CHECK(w.n == size / REC);
	CHECK(trailing == size % REC);
	if (size > MAX_FILE_INPUT)
		return 0;
	model_n = w.n;
	file_round_trip(data, size);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pool.c - the KVP pool files: upstream's byte layout, O(1) cached operations, kill-safe writes. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>

#include "log.h"
#include "pool.h"
#include "util.h"

/*
 * How the promises are kept:
 *  - O(1) per operation: records live in memory with a hash index; the file
 *    is re-read only when it changed, which an inotify watch (and, as a
 *    fallback, inode/size/timestamps) tells us.
 *  - Co-tenants (cloud-init appends to pool 1 under flock(); upstream and
 *    Microsoft's samples use fcntl() locks) are excluded by holding both
 *    locks around every operation, and the pool file is never replaced:
 *    every change is made in place, so an appender that opened the file
 *    before and writes after we let go writes into the pool. (Renaming a new
 *    file over the pool, as earlier versions did, left such appends in a
 *    file with no name, recoverable only while hvkvpd lived.)
 *  - Kill safety: every change is one write within one page (modify,
 *    append: a cut append is a partial record readers ignore), two ordered
 *    single-page writes whose intermediate state reads as the old value, a
 *    single truncate (deleting the last record), or a journaled in-place
 *    change that whoever locks the pool next finishes (DELETE elsewhere,
 *    rare modifications; see journal_finish()). Appends others made after a
 *    kill are kept by that finish.
 *  - A partial record at the end is an append in progress: never cut, never
 *    appended behind, repaired only once provably abandoned (see
 *    settle_tail()), at start-up too. Our appends use RWF_APPEND, so a
 *    writer that takes no lock at all (LISA's kvp_client) is never
 *    overwritten by one.
 *  - Lock waits are bounded (pool.h); resources are capped (pool.h).
 */

#define KEY_FIELD HV_KVP_EXCHANGE_MAX_KEY_SIZE
#define VALUE_FIELD HV_KVP_EXCHANGE_MAX_VALUE_SIZE
#define REC_SIZE KVP_RECORD_SIZE

/*
 * A buffered write is copied into the page cache one page at a time and the
 * kernel stops between two pages when a fatal signal is pending, so only a
 * write that stays inside one page is all-or-nothing under SIGKILL. Pages
 * are never smaller than 4 KiB; bigger pages only drop some boundaries.
 */
#define ATOMIC_GRAIN 4096
_Static_assert(VALUE_FIELD <= ATOMIC_GRAIN, "a value field spans at most two pages");

/* Records read or written per system call when walking the whole file. */
#define CHUNK_RECORDS 256
/* The cap (pool.h), plus room to reserve one append ahead. */
#define MAX_RECORDS (KVP_POOL_MAX_RECORDS + 1)
/* Without inotify, a change within this long of the last one may carry the
 * same coarse timestamp and size as the state we cached. */
#define RACY_NSEC (50LL * 1000000LL)
#define WATCH_MASK (IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)

struct record {
	char *kv;	    /* key, NUL, value, NUL */
	unsigned char *raw; /* the original image when a field has no NUL: never matched */
	uint16_t key_len;
	uint16_t value_len;
};

struct record_list {
	struct record *recs;
	size_t n, cap;
};

/* Open addressing, linear probing; pos is the record index + 1, 0 = free. */
struct slot {
	uint32_t hash;
	uint32_t pos;
};

struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};

struct kvp_pool {
	char *dir, *path, *name, *jpath;
	int fd, dir_fd, ino_fd, wd;
	bool read_only;
	int ro_error;

	bool valid;	/* the cache mirrors the file as it was at `id` */
	bool racy;	/* `id` cannot be trusted to reveal the next change */
	struct file_id id;
	struct record_list list;
	size_t trailing; /* bytes of a partial record at the end of the file */

	struct slot *slots;
	size_t n_slots;

	/* a partial record at the end, as last seen (settle_tail()) */
	uint64_t tail_seen;
	off_t tail_size;
	struct timespec tail_mtim;

	int degraded;	 /* 0, or why the pool is not fully usable (pool.h) */
	char why[160];

	uint64_t lock_wait;  /* usec, KVP_POOL_LOCK_WAIT_USEC unless a test says */
	uint64_t busy_since; /* the last lock attempt failed (0 = it did not) */

	struct pending {
		char *key, *value;
	} pending[KVP_POOL_MAX_PENDING];
	size_t n_pending;
};

static bool ofd_unsupported;

/* ---- pure parsing -------------------------------------------------------- */

int kvp_pool_parse(const void *buf, size_t len, kvp_pool_record_cb cb, void *userdata,
		   size_t *ret_trailing)
{
	const unsigned char *b = buf;
	size_t off;

	if (!buf && len > 0)
		return -EINVAL;
	for (off = 0; len - off >= REC_SIZE; off += REC_SIZE) {
		const char *key = (const char *)b + off;
		const char *value = key + KEY_FIELD;
		size_t key_len = strnlen(key, KEY_FIELD);
		size_t value_len = strnlen(value, VALUE_FIELD);
		char kcopy[KEY_FIELD], vcopy[VALUE_FIELD];
		bool truncated = false;
		int r;

		if (key_len == KEY_FIELD) {
			key_len = KEY_FIELD - 1;
			memcpy(kcopy, key, key_len);
			kcopy[key_len] = '\0';
			key = kcopy;
			truncated = true;
		}
		if (value_len == VALUE_FIELD) {
			value_len = VALUE_FIELD - 1;
			memcpy(vcopy, value, value_len);
			vcopy[value_len] = '\0';
			value = vcopy;
			truncated = true;
		}
		if (!cb)
			continue;
		r = cb(key, key_len, value, value_len, truncated, userdata);
		if (r < 0)
			return r;
	}
	if (ret_trailing)
		*ret_trailing = len - off;
	return 0;
}

static int check_key(const char *key, size_t *ret_len)
{
	size_t n;

	if (!key)
		return -EINVAL;
	n = strnlen(key, KEY_FIELD);
	if (n == 0)
		return -EINVAL;
	if (n >= KEY_FIELD)
		return -ENAMETOOLONG;
	*ret_len = n;
	return 0;
}

static int check_value(const char *value, size_t *ret_len)
{
	size_t n;

	if (!value)
		return -EINVAL;
	n = strnlen(value, VALUE_FIELD);
	if (n >= VALUE_FIELD)
		return -EMSGSIZE;
	*ret_len = n;
	return 0;
}

/* An empty key is allowed here: it is a valid (if useless) record image, and
 * tests and the fuzzer build such files. */
int kvp_pool_record_format(void *record, const char *key, const char *value)
{
	size_t key_len, value_len;
	int r;

	if (!record || !key)
		return -EINVAL;
	key_len = strnlen(key, KEY_FIELD);
	if (key_len >= KEY_FIELD)
		return -ENAMETOOLONG;
	r = check_value(value, &value_len);
	if (r < 0)
		return r;
	memset(record, 0, REC_SIZE);
	memcpy(record, key, key_len);
	memcpy((char *)record + KEY_FIELD, value, value_len);
	return 0;
}

/* ---- in-memory records and the key index --------------------------------- */

static void record_done(struct record *r)
{
	free(r->kv);
	free(r->raw);
	*r = (struct record){ 0 };
}

static void list_clear(struct record_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		record_done(&l->recs[i]);
	free(l->recs);
	*l = (struct record_list){ 0 };
}

static int list_reserve(struct record_list *l, size_t n)
{
	struct record *recs;
	size_t cap;

	if (n <= l->cap)
		return 0;
	if (n > MAX_RECORDS)
		return -EFBIG;
	cap = MAX(l->cap * 2, (size_t)64);
	while (cap < n)
		cap *= 2;
	recs = reallocarray(l->recs, cap, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	l->recs = recs;
	l->cap = cap;
	return 0;
}

static int record_init(struct record *rec, const char *key, size_t key_len, const char *value,
		       size_t value_len, const void *raw)
{
	char *kv = malloc(key_len + value_len + 2);

	if (!kv)
		return -ENOMEM;
	memcpy(kv, key, key_len);
	kv[key_len] = '\0';
	memcpy(kv + key_len + 1, value, value_len);
	kv[key_len + 1 + value_len] = '\0';
	*rec = (struct record){ .kv = kv, .key_len = (uint16_t)key_len,
				.value_len = (uint16_t)value_len };
	if (raw) {
		rec->raw = malloc(REC_SIZE);
		if (!rec->raw) {
			record_done(rec);
			return -ENOMEM;
		}
		memcpy(rec->raw, raw, REC_SIZE);
	}
	return 0;
}

static inline const char *record_value(const struct record *r)
{
	return r->kv + r->key_len + 1;
}

/* Collects parsed records; `base` is the buffer being parsed so that records
 * with a field lacking its NUL keep their exact bytes. */
struct load_ctx {
	struct record_list *list;
	const unsigned char *base;
	size_t next;
};

static int load_cb(const char *key, size_t key_len, const char *value, size_t value_len,
		   bool truncated, void *userdata)
{
	struct load_ctx *c = userdata;
	const unsigned char *raw = truncated ? c->base + c->next * REC_SIZE : NULL;
	int r;

	c->next++;
	r = list_reserve(c->list, c->list->n + 1);
	if (r < 0)
		return r;
	r = record_init(&c->list->recs[c->list->n], key, key_len, value, value_len, raw);
	if (r < 0)
		return r;
	c->list->n++;
	return 0;
}

static uint32_t key_hash(const char *key, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	return h;
}

static bool record_matchable(const struct record *r)
{
	return !r->raw && r->key_len > 0;
}

/* Upstream compares key_size bytes including the NUL: an exact match, and
 * the first record in file order wins. */
static size_t index_lookup(const struct kvp_pool *p, const char *key, size_t len)
{
	uint32_t h = key_hash(key, len);
	size_t mask = p->n_slots - 1;

	if (p->n_slots == 0)
		return SIZE_MAX;
	for (size_t s = h & mask;; s = (s + 1) & mask) {
		const struct slot *sl = &p->slots[s];
		const struct record *r;

		if (sl->pos == 0)
			return SIZE_MAX;
		if (sl->hash != h)
			continue;
		r = &p->list.recs[sl->pos - 1];
		if (r->key_len == len && memcmp(r->kv, key, len) == 0)
			return sl->pos - 1;
	}
}

/* Caller guarantees a free slot (load factor <= 1/2). */
static void index_add(struct kvp_pool *p, size_t i)
{
	const struct record *r = &p->list.recs[i];
	size_t mask = p->n_slots - 1;
	uint32_t h;

	if (!record_matchable(r))
		return;
	h = key_hash(r->kv, r->key_len);
	for (size_t s = h & mask;; s = (s + 1) & mask) {
		struct slot *sl = &p->slots[s];

		if (sl->pos == 0) {
			*sl = (struct slot){ .hash = h, .pos = (uint32_t)i + 1 };
			return;
		}
		if (sl->hash == h) {
			const struct record *o = &p->list.recs[sl->pos - 1];

			if (o->key_len == r->key_len && memcmp(o->kv, r->kv, r->key_len) == 0)
				return; /* a duplicate: the earlier record stays the match */
		}
	}
}

static int index_rebuild(struct kvp_pool *p, size_t min_records)
{
	size_t want = 16;
	struct slot *slots;

	while (want < 2 * MAX(min_records, p->list.n) + 1)
		want *= 2;
	slots = calloc(want, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(p->slots);
	p->slots = slots;
	p->n_slots = want;
	for (size_t i = 0; i < p->list.n; i++)
		index_add(p, i);
	return 0;
}

static int index_reserve(struct kvp_pool *p, size_t records)
{
	if (2 * records + 1 <= p->n_slots)
		return 0;
	return index_rebuild(p, records * 2);
}

/* Drops the slot of record i (which must be the last record, so that no later
 * duplicate of its key can be waiting to take over). Backward-shift deletion
 * keeps every probe chain intact without tombstones. (The last record was
 * indexed last, so in practice nothing needs shifting; the general form
 * costs nothing and stays right if that ever changes.) */
static void index_remove_last(struct kvp_pool *p, size_t i)
{
	const struct record *r = &p->list.recs[i];
	size_t mask = p->n_slots - 1, s, j;

	if (!record_matchable(r) || p->n_slots == 0)
		return;
	for (s = key_hash(r->kv, r->key_len) & mask;; s = (s + 1) & mask) {
		if (p->slots[s].pos == 0)
			return; /* an earlier duplicate holds the key */
		if (p->slots[s].pos == i + 1)
			break;
	}
	for (j = (s + 1) & mask; p->slots[j].pos != 0; j = (j + 1) & mask) {
		size_t home = p->slots[j].hash & mask;

		/* Move j into the hole unless its home lies cyclically in (s, j]. */
		if ((j > s && (home <= s || home > j)) || (j < s && home <= s && home > j)) {
			p->slots[s] = p->slots[j];
			s = j;
		}
	}
	p->slots[s] = (struct slot){ 0 };
}

/* ---- file helpers --------------------------------------------------------- */

/* Both lock kinds, because the two families of other writers each honour
 * only one: cloud-init uses flock(), upstream and Microsoft's samples use
 * fcntl() record locks. Open file description locks conflict with the
 * latter and, unlike classic POSIX locks, are not dropped when this process
 * closes some other descriptor of the same file. flock() always comes first
 * so that two of our own processes can never wait on each other crosswise. */
static int try_lock(int fd, bool exclusive)
{
	struct flock fl = { .l_type = exclusive ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET };
	int r;

	while (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0)
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EBUSY : negative_errno();
	for (;;) {
		if (fcntl(fd, ofd_unsupported ? F_SETLK : F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EINVAL && !ofd_unsupported) {
			ofd_unsupported = true; /* kernel older than 3.15 */
			continue;
		}
		r = errno == EAGAIN || errno == EACCES ? -EBUSY : negative_errno();
		(void)flock(fd, LOCK_UN);
		return r;
	}
}

/*
 * Never a blocking wait: a lock holder (any local user can flock() a 0644
 * file) must not keep the single-threaded daemon in the kernel. Both locks
 * are taken together or not at all, with short sleeps in between, until
 * `deadline` (CLOCK_MONOTONIC, usec) has passed; then -EBUSY.
 */
static int lock_fd(int fd, bool exclusive, uint64_t deadline)
{
	uint64_t delay = 1000;

	for (;;) {
		int r = try_lock(fd, exclusive);
		uint64_t now;

		if (r != -EBUSY)
			return r;
		now = now_usec();
		if (now >= deadline)
			return -EBUSY;
		delay = MIN(delay, deadline - now);
		nanosleep(&(struct timespec){ .tv_sec = (time_t)(delay / 1000000),
					      .tv_nsec = (long)(delay % 1000000) * 1000 },
			  NULL);
		delay = MIN(delay * 2, (uint64_t)20000);
	}
}

/* The pid holding a conflicting lock on the file, as /proc/locks tells
 * (flock() and classic POSIX locks; OFD locks show no owner), or 0. */
static pid_t lock_holder_pid(int fd)
{
	_cleanup_free_ char *line = NULL;
	size_t size = 0;
	struct stat st;
	pid_t found = 0;
	FILE *f;

	if (fstat(fd, &st) < 0)
		return 0;
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	/* bounded: any user can fill /proc/locks with byte-range locks of
	 * their own, and this runs while a host request waits */
	for (unsigned lines = 0; lines < 10000 && getline(&line, &size, f) > 0; lines++) {
		char kind[16], arrow[8];
		unsigned maj, min;
		unsigned long ino;
		int pid;

		/* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters
		 * are listed as "1: -> FLOCK ...". */
		if (sscanf(line, "%*d: %7s", arrow) != 1 || streq(arrow, "->"))
			continue;
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%lu", kind, &pid, &maj, &min, &ino) != 5)
			continue;
		if (ino != (unsigned long)st.st_ino || maj != major(st.st_dev) ||
		    min != minor(st.st_dev) || pid <= 0 || pid == getpid())
			continue;
		/* flock(1) on an inherited descriptor: the pid that took the
		 * lock may be gone while the lock lives on. */
		if (kill(pid, 0) < 0 && errno == ESRCH)
			continue;
		found = pid;
		break;
	}
	fclose(f);
	return found;
}

static void unlock_fd(int fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	(void)fcntl(fd, ofd_unsupported ? F_SETLK : F_OFD_SETLK, &fl);
	(void)flock(fd, LOCK_UN);
}

static void file_id_from_stat(struct file_id *id, const struct stat *st)
{
	*id = (struct file_id){ .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
				.mtim = st->st_mtim, .ctim = st->st_ctim };
}

static bool file_id_matches(const struct file_id *id, const struct stat *st)
{
	return id->dev == st->st_dev && id->ino == st->st_ino && id->size == st->st_size &&
	       id->mtim.tv_sec == st->st_mtim.tv_sec && id->mtim.tv_nsec == st->st_mtim.tv_nsec &&
	       id->ctim.tv_sec == st->st_ctim.tv_sec && id->ctim.tv_nsec == st->st_ctim.tv_nsec;
}

/* ---- change detection ------------------------------------------------------ */

/*
 * Size and timestamps alone miss a same-size rewrite by another process
 * within one clock tick (file times are jiffy-coarse before Linux 6.13), so
 * an inotify watch on the inode reports every outside modification. Our own
 * writes are drained right after we make them, still under the lock.
 */
static void watch_fd(struct kvp_pool *p)
{
	char proc[64];

	if (p->ino_fd < 0)
		return;
	if (p->wd >= 0)
		(void)inotify_rm_watch(p->ino_fd, p->wd);
	/* Through /proc the watch lands on the very inode we hold. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p->fd);
	p->wd = inotify_add_watch(p->ino_fd, proc, WATCH_MASK);
	if (p->wd < 0)
		p->wd = inotify_add_watch(p->ino_fd, p->path, WATCH_MASK);
	if (p->wd < 0)
		log_debug_errno(errno, "%s: no inotify watch, relying on timestamps", p->path);
}

/* True when something other than us touched the file since the last drain. */
static bool watch_drain(struct kvp_pool *p)
{
	char buf[4096];
	bool changed = false;

	if (p->ino_fd < 0)
		return false;
	for (;;) {
		ssize_t n = read(p->ino_fd, buf, sizeof(buf));
		size_t off = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				changed = true;
			break;
		}
		while (off + sizeof(struct inotify_event) <= (size_t)n) {
			struct inotify_event ev;

			memcpy(&ev, buf + off, sizeof(ev));
			if (ev.mask & IN_Q_OVERFLOW)
				changed = true;
			else if (ev.wd == p->wd && p->wd >= 0) {
				changed = true;
				if (ev.mask & IN_IGNORED)
					p->wd = -1;
			}
			off += sizeof(ev) + ev.len;
		}
	}
	return changed;
}

static void set_id(struct kvp_pool *p, const struct stat *st)
{
	struct timespec now;

	file_id_from_stat(&p->id, st);
	p->racy = false;
	if (p->wd >= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	p->racy = (now.tv_sec - st->st_ctim.tv_sec) * 1000000000LL +
			  (now.tv_nsec - st->st_ctim.tv_nsec) <
		  RACY_NSEC;
}

/* After each of our own writes, still under the exclusive lock. */
static int pool_wrote(struct kvp_pool *p)
{
	struct stat st;

	(void)watch_drain(p);
	if (fstat(p->fd, &st) < 0) {
		p->valid = false;
		return negative_errno();
	}
	set_id(p, &st);
	/* The drain may have eaten the event of a writer without locks that
	 * appended meanwhile: the size tells. */
	if ((uint64_t)st.st_size != (uint64_t)p->list.n * REC_SIZE + p->trailing)
		p->valid = false;
	return 0;
}

/*
 * Reads the file into the cache. The old cache is dropped first, so a
 * reload never holds two copies of a pool; only the first
 * KVP_POOL_MAX_FILE_SIZE bytes are ever read.
 */
static int pool_reload(struct kvp_pool *p, const struct stat *st)
{
	_cleanup_free_ unsigned char *buf = NULL;
	size_t size, off = 0, trailing = 0;
	bool capped = (uint64_t)st->st_size > KVP_POOL_MAX_FILE_SIZE;
	int r = 0;

	p->valid = false;
	list_clear(&p->list);
	free(p->slots);
	p->slots = NULL;
	p->n_slots = 0;
	p->trailing = 0;
	size = capped ? (size_t)KVP_POOL_MAX_FILE_SIZE : (size_t)st->st_size;
	buf = malloc(MAX(MIN(size, (size_t)CHUNK_RECORDS * REC_SIZE), (size_t)1));
	if (!buf)
		return -ENOMEM;
	while (off < size) {
		size_t want = MIN((size_t)CHUNK_RECORDS * REC_SIZE, size - off);
		struct load_ctx c = { .list = &p->list, .base = buf };
		ssize_t got = pread_full(p->fd, buf, want, (off_t)off);

		if (got < 0) {
			r = log_warning_errno((int)got, "%s: cannot read", p->path);
			goto fail;
		}
		r = kvp_pool_parse(buf, (size_t)got, load_cb, &c, &trailing);
		if (r < 0)
			goto fail;
		off += (size_t)got;
		if ((size_t)got < want)
			break; /* shrank under us: the next operation notices the size */
	}
	r = list_reserve(&p->list, p->list.n + 1); /* room for one append without failing */
	if (r < 0)
		goto fail;
	p->trailing = capped ? 0 : trailing;
	r = index_rebuild(p, p->list.n + 1);
	if (r < 0)
		goto fail;
	set_id(p, st);
	p->valid = true;
	log_debug("%s: loaded %zu record(s)%s", p->path, p->list.n,
		  p->trailing ? " and a partial one" : "");
	return 0;
fail:
	list_clear(&p->list);
	free(p->slots);
	p->slots = NULL;
	p->n_slots = 0;
	return r;
}

/* ---- opening, locking, syncing ------------------------------------------- */

static void pool_degrade(struct kvp_pool *p, int error, const char *why)
{
	if (p->degraded == error && streq(p->why, why))
		return;
	p->degraded = error;
	strscpy(p->why, sizeof(p->why), why);
	log_warning_errno(error, "%s: %s", p->path, why);
}

static void pool_healthy(struct kvp_pool *p)
{
	if (p->degraded == 0)
		return;
	log_info("%s: usable again", p->path);
	p->degraded = 0;
	p->why[0] = '\0';
}

/*
 * O_NOFOLLOW: a link in place of a pool file (somebody else's file, or
 * /etc/shadow) is refused, never followed and truncated. O_NONBLOCK: a FIFO
 * there must not block the open; only regular files are pools.
 */
static int pool_open_file(struct kvp_pool *p)
{
	const int flags = O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	char why[128];
	struct stat st;
	int fd = open(p->path, O_RDWR | O_CREAT | flags, 0644);

	p->read_only = false;
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
		/* Reading works without write permission (hvkvpctl as a user). */
		p->ro_error = errno;
		fd = open(p->path, O_RDONLY | flags);
		p->read_only = fd >= 0;
	}
	if (fd < 0) {
		int r = negative_errno();

		if (r == -ELOOP)
			pool_degrade(p, r, "is a symbolic link; refused, the pool is unusable and the file is left alone");
		else {
			strprintf(why, sizeof(why), "cannot be opened (%s); the pool is unusable",
				  strerror(-r));
			pool_degrade(p, r, why);
		}
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		safe_close(fd);
		pool_degrade(p, -EIO, "is not a regular file; the pool is unusable and the file is left alone");
		return -EIO;
	}
	p->fd = fd;
	p->valid = false;
	return 0;
}

static void pool_end(struct kvp_pool *p)
{
	if (p->fd >= 0)
		unlock_fd(p->fd);
}

static int pending_apply(struct kvp_pool *p);
static int settle_tail(struct kvp_pool *p);
static int journal_finish(struct kvp_pool *p);
static void pending_drop(struct kvp_pool *p, size_t k);

/* Nothing changed the file since the cache was loaded, as far as inotify
 * and fstat() can tell; then a read needs no lock to be right. */
static bool cache_current(struct kvp_pool *p)
{
	struct stat st;

	if (!p->valid || p->racy || p->wd < 0 || p->fd < 0)
		return false;
	if (watch_drain(p)) {
		p->valid = false;
		return false;
	}
	return fstat(p->fd, &st) == 0 && file_id_matches(&p->id, &st);
}

static int pool_busy(struct kvp_pool *p, bool exclusive, uint64_t waited)
{
	if (!exclusive && cache_current(p)) {
		log_debug("%s: locked by another process; answering from the unchanged cache",
			  p->path);
		return 0;
	}
	if (p->busy_since == 0) {
		pid_t pid = lock_holder_pid(p->fd);

		p->busy_since = now_usec();
		if (pid > 0)
			log_warning("%s: locked by process %d (waited %llu ms); requests on this pool are answered as busy until it lets go",
				    p->path, (int)pid, (unsigned long long)(waited / 1000));
		else
			log_warning("%s: locked by another process (waited %llu ms); requests on this pool are answered as busy until it lets go",
				    p->path, (unsigned long long)(waited / 1000));
	} else
		log_debug("%s: still locked by another process", p->path);
	return -EBUSY;
}

/*
 * Locks the pool and brings the cache up to date. The name may have been
 * pointed at a new file (another writer's rename) or removed while we were
 * waiting: then the lock we hold protects nothing, so follow the name.
 *
 * Waits at most `wait` usec for the locks (see pool.h). Returns 1 when a
 * read is served from the unchanged cache without the lock (pool_end() is
 * harmless then).
 */
static int pool_begin_wait(struct kvp_pool *p, bool exclusive, uint64_t wait)
{
	bool reload = false, reopened = false;
	struct stat st_fd, st_path;
	uint64_t start, deadline;
	int r;

	/* Queued writes go first; a journal left by a kill must be finished
	 * before anybody reads the file as a pool. */
	if (p->n_pending > 0 || (p->jpath && access(p->jpath, F_OK) == 0))
		exclusive = true;
	if (p->busy_since != 0)
		wait = MIN(wait, (uint64_t)KVP_POOL_LOCK_RETRY_USEC);
	start = now_usec();
	deadline = start + wait;
	for (unsigned tries = 0;; tries++) {
		if (p->fd < 0) {
			r = pool_open_file(p);
			if (r < 0)
				return r;
			reopened = true;
		}
		r = lock_fd(p->fd, exclusive && !p->read_only, deadline);
		if (r == -EBUSY) {
			r = pool_busy(p, exclusive && !p->read_only, now_usec() - start);
			return r == 0 ? 1 : r;
		}
		if (r < 0)
			return r;
		if (fstat(p->fd, &st_fd) < 0) {
			r = negative_errno();
			unlock_fd(p->fd);
			return r;
		}
		if (lstat(p->path, &st_path) == 0 && st_path.st_dev == st_fd.st_dev &&
		    st_path.st_ino == st_fd.st_ino)
			break;
		/* Renamed away or replaced (perhaps by a link): the name decides. */
		unlock_fd(p->fd);
		p->fd = safe_close(p->fd);
		if (tries >= 100)
			return -ESTALE;
	}
	if (p->busy_since != 0) {
		log_info("%s: no longer locked by another process", p->path);
		p->busy_since = 0;
	}
	if ((uint64_t)st_fd.st_size > KVP_POOL_MAX_FILE_SIZE) {
		char why[160];

		strprintf(why, sizeof(why),
			  "holds %jd bytes, more than the %u records (%ju bytes) a pool may have; its first records are served read-only",
			  (intmax_t)st_fd.st_size, KVP_POOL_MAX_RECORDS,
			  (uintmax_t)KVP_POOL_MAX_FILE_SIZE);
		pool_degrade(p, -EFBIG, why);
		if (exclusive && !p->read_only) {
			unlock_fd(p->fd);
			return -EFBIG;
		}
	} else
		pool_healthy(p);
	if (reopened || (p->wd < 0 && p->ino_fd >= 0)) {
		/* A fresh watch may have missed changes; a failing one must not
		 * turn every operation into a reload (timestamps take over). */
		watch_fd(p);
		if (reopened || p->wd >= 0)
			reload = true;
	}
	if (exclusive && !p->read_only) {
		r = journal_finish(p);
		if (r < 0) {
			pool_end(p);
			return r;
		}
		if (!p->valid && fstat(p->fd, &st_fd) < 0) {
			r = negative_errno();
			pool_end(p);
			return r;
		}
	}
	if (watch_drain(p) || p->racy || !p->valid || !file_id_matches(&p->id, &st_fd))
		reload = true;
	if (reload) {
		r = pool_reload(p, &st_fd);
		if (r < 0) {
			pool_end(p);
			return r;
		}
	}
	if (exclusive && !p->read_only && p->trailing > 0 && !p->degraded &&
	    settle_tail(p) >= 0 && !p->valid) {
		if (fstat(p->fd, &st_fd) < 0 || pool_reload(p, &st_fd) < 0) {
			pool_end(p);
			return -EIO;
		}
	}
	if (p->n_pending > 0 && !p->read_only)
		(void)pending_apply(p);
	return 0;
}

static int pool_begin(struct kvp_pool *p, bool exclusive)
{
	int r = pool_begin_wait(p, exclusive, p->lock_wait);

	return r > 0 ? 0 : r;
}

/* ---- writing ----------------------------------------------------------------- */

static int record_write_journaled(struct kvp_pool *p, uint64_t off, const unsigned char *new,
				  size_t len);
static int record_delete_shift(struct kvp_pool *p, size_t i);

/* Where, inside a record at `off`, a write can be cut by a kill: the page
 * boundary inside it, or REC_SIZE when the record lies within one page. */
static size_t tear_point(off_t off)
{
	size_t in = (size_t)(off % ATOMIC_GRAIN);

	return in + REC_SIZE > ATOMIC_GRAIN ? ATOMIC_GRAIN - in : (size_t)REC_SIZE;
}

/*
 * An append that straddles a page boundary, in steps a kill cannot cut
 * (see ATOMIC_GRAIN): the file grows by a whole record of zeros at once,
 * then the part behind the boundary is written, then the head with the
 * key. A kill in between leaves the file ending on a record boundary, so a
 * co-tenant appending before hvkvpd is back lands aligned, and at worst a
 * record with an empty key that nobody matches, which start-up removes
 * (remove_torn_appends()). One write would leave a partial record instead,
 * and an appender that comes before the restart would land misaligned.
 */
static int append_in_steps(struct kvp_pool *p, const unsigned char *img, off_t off)
{
	size_t t = tear_point(off);
	struct stat st;
	int r;

	if (fstat(p->fd, &st) < 0)
		return negative_errno();
	if (st.st_size != off) {
		p->valid = false; /* a writer without locks appended: look again */
		return -EAGAIN;
	}
	if (ftruncate(p->fd, off + REC_SIZE) < 0)
		return negative_errno();
	r = pwrite_full(p->fd, img + t, REC_SIZE - t, off + (off_t)t);
	if (r >= 0)
		r = pwrite_full(p->fd, img, t, off);
	if (r < 0 && fstat(p->fd, &st) == 0 && st.st_size == off + REC_SIZE)
		(void)ftruncate(p->fd, off);
	return r;
}

/* Under the exclusive lock, at start-up: records that are what a kill left
 * of append_in_steps(), i.e. an empty key and nothing but zeros in front of
 * the page boundary inside the record. No real record has an empty key. */
static void remove_torn_appends(struct kvp_pool *p)
{
	unsigned char buf[REC_SIZE];

	for (size_t i = p->list.n; i-- > 0;) {
		const struct record *rec = &p->list.recs[i];
		off_t off = (off_t)(i * REC_SIZE);
		size_t t = tear_point(off), z;
		struct stat st;
		int r;

		if (t == REC_SIZE || rec->key_len != 0 || rec->raw)
			continue;
		if (pread_full(p->fd, buf, t, off) != (ssize_t)t)
			return;
		for (z = 0; z < t && buf[z] == 0; z++)
			;
		if (z < t)
			continue;
		if (i + 1 < p->list.n)
			r = record_delete_shift(p, i);
		else if (fstat(p->fd, &st) == 0 &&
			 (uint64_t)st.st_size == (uint64_t)p->list.n * REC_SIZE &&
			 ftruncate(p->fd, off) == 0) {
			index_remove_last(p, i);
			record_done(&p->list.recs[i]);
			p->list.n--;
			r = pool_wrote(p);
		} else
			r = -EAGAIN;
		if (r < 0 || !p->valid)
			return;
		log_notice("%s: removed record %zu, what a kill left of an append", p->path, i);
	}
}

/*
 * One write at the end of the file, wherever that is right now (a writer
 * without locks may have appended since we looked: RWF_APPEND puts ours
 * behind theirs instead of over it; pool_wrote() then sees the size).
 */
static int append_record(int fd, const unsigned char *img, off_t off)
{
	struct iovec iov = { .iov_base = (void *)img, .iov_len = REC_SIZE };
	static bool no_rwf_append;
	ssize_t n;

	while (!no_rwf_append) {
		n = pwritev2(fd, &iov, 1, -1, RWF_APPEND);
		if (n == REC_SIZE)
			return 0;
		if (n >= 0)
			return -ENOSPC; /* a cut record; the tail rules deal with it */
		if (errno == EINTR)
			continue;
		if (errno != EOPNOTSUPP && errno != EINVAL && errno != ENOSYS)
			return negative_errno();
		no_rwf_append = true; /* kernel older than 4.16 */
	}
	return pwrite_full(fd, img, REC_SIZE, off);
}

/*
 * Appending is one write at the end: a kill mid-way leaves a partial record
 * that every reader ignores, i.e. the old pool.
 */
static int record_append(struct kvp_pool *p, const char *key, size_t key_len, const char *value,
			 size_t value_len)
{
	unsigned char img[REC_SIZE];
	off_t off = (off_t)(p->list.n * REC_SIZE);
	struct record rec;
	int r;

	if (p->list.n >= KVP_POOL_MAX_RECORDS)
		return -EFBIG; /* the caller names the key and the answer */
	if (p->trailing > 0)
		return -EAGAIN; /* never behind a partial record */
	r = list_reserve(&p->list, p->list.n + 1);
	if (r >= 0)
		r = index_reserve(p, p->list.n + 1);
	if (r >= 0)
		r = record_init(&rec, key, key_len, value, value_len, NULL);
	if (r < 0)
		return r;
	(void)kvp_pool_record_format(img, key, value);
	if (tear_point(off) == REC_SIZE)
		r = append_record(p->fd, img, off);
	else
		r = append_in_steps(p, img, off);
	if (r < 0 && r != -EAGAIN) {
		record_done(&rec);
		p->valid = false;
		return log_warning_errno(r, "%s: cannot append a record", p->path);
	}
	if (r < 0) {
		record_done(&rec);
		return r;
	}
	p->list.recs[p->list.n++] = rec;
	index_add(p, p->list.n - 1);
	return pool_wrote(p);
}

/*
 * Modifying in place keeps the record's position, as upstream does. Only the
 * bytes that differ from the old value (and the new terminator) are written.
 * When they straddle a page boundary, the two single-page writes are ordered
 * so that a reader (who stops at the first NUL) sees the old value until the
 * second write and the new one after it: that works whenever the old or the
 * new value ends before the boundary. Otherwise the whole pool is rewritten
 * and renamed into place.
 */
static int record_modify(struct kvp_pool *p, size_t i, const char *value, size_t value_len)
{
	struct record *rec = &p->list.recs[i];
	const char *old = record_value(rec);
	unsigned char o[VALUE_FIELD] = { 0 }, n[VALUE_FIELD] = { 0 };
	off_t base = (off_t)(i * REC_SIZE + KEY_FIELD);
	size_t d0, d1, b;
	char *kv;
	int r;

	if (rec->value_len == value_len && memcmp(old, value, value_len) == 0)
		return 0;
	memcpy(o, old, rec->value_len);
	memcpy(n, value, value_len);
	for (d0 = 0; o[d0] == n[d0]; d0++)
		;
	/* Past the longer value both images are zeros. */
	for (d1 = MAX(rec->value_len, value_len); o[d1] == n[d1]; d1--)
		;
	/* The file may hold left-overs after the old NUL (upstream leaves
	 * them), so a longer value must bring its own terminator. */
	if (value_len > rec->value_len)
		d1 = MAX(d1, value_len);
	if ((base + (off_t)d0) / ATOMIC_GRAIN == (base + (off_t)d1) / ATOMIC_GRAIN)
		b = SIZE_MAX;
	else
		b = (size_t)(((base + (off_t)d0) / ATOMIC_GRAIN + 1) * ATOMIC_GRAIN - base);
	kv = malloc(rec->key_len + value_len + 2);
	if (!kv)
		return -ENOMEM;
	if (b != SIZE_MAX && rec->value_len >= b && value_len >= b)
		r = record_write_journaled(p, (uint64_t)base + d0, n + d0, d1 - d0 + 1);
	else if (b == SIZE_MAX)
		r = pwrite_full(p->fd, n + d0, d1 - d0 + 1, base + (off_t)d0);
	else if (rec->value_len < b) {
		/* The old value ends before the boundary: its tail is invisible. */
		r = pwrite_full(p->fd, n + b, d1 + 1 - b, base + (off_t)b);
		if (r >= 0)
			r = pwrite_full(p->fd, n + d0, b - d0, base + (off_t)d0);
	} else {
		/* The new value ends before the boundary: write it whole first. */
		r = pwrite_full(p->fd, n + d0, b - d0, base + (off_t)d0);
		if (r >= 0)
			r = pwrite_full(p->fd, n + b, d1 + 1 - b, base + (off_t)b);
	}
	if (r < 0) {
		free(kv);
		p->valid = false;
		return log_warning_errno(r, "%s: cannot rewrite record %zu", p->path, i);
	}
	memcpy(kv, rec->kv, rec->key_len + 1u);
	memcpy(kv + rec->key_len + 1, value, value_len + 1);
	free(rec->kv);
	rec->kv = kv;
	rec->value_len = (uint16_t)value_len;
	return pool_wrote(p);
}

/* ---- journaled in-place changes --------------------------------------------------- */

/*
 * A change that is not one write within one page (a DELETE shifting the
 * records after the deleted one, a modification straddling pages) is done
 * in place, never by renaming a new file over the pool: a co-tenant that
 * opened the file before, and appends once we let go of the locks, must
 * write into the pool, not into a file with no name (cloud-init waits in
 * flock() with the file already open). To survive a kill at any instant,
 * the change is first described in <pool>.journal:
 *
 *   J_DELETE (off, size, old bytes [off, size)): the record at `off` goes,
 *     the ones after it move down by one record, the file had `size` bytes.
 *   J_WRITE (off, len, new bytes, old bytes): those bytes are replaced.
 *
 * then made, then the journal is removed. Whoever takes the exclusive lock
 * next (hvkvpd at start-up, or any later change) finishes a journal it
 * finds: it checks that every byte of the region is still the old or the
 * new one (else somebody else rewrote the file, and the journal is
 * dropped), writes the new bytes, and for a DELETE removes the last slot
 * only if it still holds the record that moved down from it. Records a
 * co-tenant appended after the kill sit beyond that slot or in its place:
 * beyond it, they are moved down by the same journaled step; in its place,
 * they differ from it and stay. (Only a byte-identical copy of that last
 * record, appended in the instant between our truncate and the removal of
 * the journal by a kill, would be taken for it; it would be a duplicate
 * that upstream's first-match lookup never sees anyway.)
 *
 * The journal is written to <pool>.journal.new and renamed into place, so
 * it is whole or absent; a check sum catches anything else. It is not
 * fsync'ed: the promise is about kills, like upstream's in-place rewrite.
 */
#define JOURNAL_MAGIC "HVKVPJ1"
enum { J_DELETE = 1, J_WRITE = 2 };

struct journal_hdr {
	char magic[8];
	uint32_t kind, reserved;
	uint64_t ino, off, size, sum;
};

static uint64_t fnv64(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *b = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t journal_sum(const struct journal_hdr *h, const void *data, size_t len)
{
	struct journal_hdr c = *h;

	c.sum = 0;
	return fnv64(fnv64(14695981039346656037ULL, &c, sizeof(c)), data, len);
}

static int journal_write(struct kvp_pool *p, uint32_t kind, uint64_t ino, uint64_t off,
			 uint64_t size, const void *a, size_t alen, const void *b, size_t blen)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_free_ unsigned char *data = NULL;
	struct journal_hdr h = { .magic = JOURNAL_MAGIC, .kind = kind, .ino = ino, .off = off,
				 .size = size };
	_cleanup_close_ int fd = -1;
	int r;

	data = malloc(MAX(alen + blen, (size_t)1));
	if (!data)
		return -ENOMEM;
	memcpy(data, a, alen);
	if (blen)
		memcpy(data + alen, b, blen);
	h.sum = journal_sum(&h, data, alen + blen);
	if (asprintf(&tmp, "%s.new", p->jpath) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	/* never through whatever someone left at that name (a FIFO would
	 * hang us): remove it and create our own */
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return log_warning_errno(errno, "%s: cannot write a journal", p->path);
	r = loop_write(fd, &h, sizeof(h));
	if (r >= 0)
		r = loop_write(fd, data, alen + blen);
	if (r >= 0 && rename(tmp, p->jpath) < 0)
		r = negative_errno();
	if (r < 0) {
		(void)unlink(tmp);
		return log_warning_errno(r, "%s: cannot write a journal", p->path);
	}
	return 0;
}

/* -ENOENT: none; -EBADMSG: not a whole journal of ours (a change that never
 * started). */
static int journal_read(struct kvp_pool *p, struct journal_hdr *h, unsigned char **ret_data,
			size_t *ret_len)
{
	_cleanup_free_ unsigned char *data = NULL;
	_cleanup_close_ int fd = open_regular(p->jpath, O_RDONLY, 0);
	struct stat st;
	size_t len;
	ssize_t got;

	if (fd < 0)
		return fd == -ENOENT ? -ENOENT : -EBADMSG;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(*h) ||
	    (uint64_t)st.st_size > sizeof(*h) + 2 * KVP_POOL_MAX_FILE_SIZE + 2 * REC_SIZE)
		return -EBADMSG;
	if (pread_full(fd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h))
		return -EBADMSG;
	len = (size_t)st.st_size - sizeof(*h);
	data = malloc(MAX(len, (size_t)1));
	if (!data)
		return -ENOMEM;
	got = pread_full(fd, data, len, sizeof(*h));
	if (got != (ssize_t)len || memcmp(h->magic, JOURNAL_MAGIC, sizeof(h->magic)) != 0 ||
	    h->sum != journal_sum(h, data, len))
		return -EBADMSG;
	if (h->kind == J_DELETE ? (h->size < h->off + REC_SIZE || len != h->size - h->off)
				: (h->kind != J_WRITE || len != 2 * h->size))
		return -EBADMSG;
	*ret_data = TAKE_PTR(data);
	*ret_len = len;
	return 0;
}

/* Every byte of the file in [off, off+len) is a[i] or b[i]. */
static bool region_between(int fd, uint64_t off, size_t len, const unsigned char *a,
			   const unsigned char *b)
{
	unsigned char buf[16384];

	for (size_t done = 0; done < len;) {
		size_t want = MIN(sizeof(buf), len - done);

		if (pread_full(fd, buf, want, (off_t)(off + done)) != (ssize_t)want)
			return false;
		for (size_t i = 0; i < want; i++)
			if (buf[i] != a[done + i] && buf[i] != b[done + i])
				return false;
		done += want;
	}
	return true;
}

/* Under the exclusive lock: finishes what a journal describes (see above). */
static int journal_finish(struct kvp_pool *p)
{
	for (unsigned round = 0;; round++) {
		_cleanup_free_ unsigned char *data = NULL;
		struct journal_hdr h;
		struct stat st;
		size_t len;
		uint64_t t;
		int r;

		if (!p->jpath)
			return 0;
		r = journal_read(p, &h, &data, &len);
		if (r == -ENOENT)
			return 0;
		if (r == -ENOMEM)
			return r;
		p->valid = false;
		if (r < 0) {
			log_debug("%s: removed a journal of a change that never started", p->path);
			goto done;
		}
		if (fstat(p->fd, &st) < 0)
			return negative_errno();
		if (h.ino != (uint64_t)st.st_ino || round > 64) {
			log_warning("%s: dropped a journal that does not belong to this file", p->path);
			goto done;
		}
		if (h.kind == J_WRITE) {
			if (!region_between(p->fd, h.off, h.size, data + h.size, data)) {
				log_warning("%s: somebody else rewrote the file after a change of ours was cut short; left it as it is",
					    p->path);
				goto done;
			}
			r = pwrite_full(p->fd, data, h.size, (off_t)h.off);
			if (r < 0)
				return log_warning_errno(r, "%s: cannot finish a change", p->path);
			log_debug("%s: finished a modification cut short", p->path);
			goto done;
		}
		t = h.size - REC_SIZE;
		if ((uint64_t)st.st_size < t ||
		    !region_between(p->fd, h.off, t - h.off, data, data + REC_SIZE)) {
			log_warning("%s: somebody else rewrote the file after a change of ours was cut short; left it as it is",
				    p->path);
			goto done;
		}
		r = pwrite_full(p->fd, data + REC_SIZE, t - h.off, (off_t)h.off);
		if (r < 0)
			return log_warning_errno(r, "%s: cannot finish a deletion", p->path);
		if ((uint64_t)st.st_size >= h.size &&
		    region_between(p->fd, t, REC_SIZE, data + (t - h.off), data + (t - h.off))) {
			/* The last slot still holds the record that moved down. */
			if ((uint64_t)st.st_size == h.size) {
				if (ftruncate(p->fd, (off_t)t) < 0)
					return log_warning_errno(errno, "%s: cannot truncate", p->path);
			} else {
				/* Others appended behind it: move their records
				 * down over it, journaled the same way. */
				_cleanup_free_ unsigned char *tail = NULL;
				size_t tlen = (size_t)((uint64_t)st.st_size - t);

				if (tlen > 2 * KVP_POOL_MAX_FILE_SIZE)
					goto done;
				tail = malloc(tlen);
				if (!tail)
					return -ENOMEM;
				if (pread_full(p->fd, tail, tlen, (off_t)t) != (ssize_t)tlen)
					return -EIO;
				r = journal_write(p, J_DELETE, h.ino, t, (uint64_t)st.st_size, tail,
						  tlen, NULL, 0);
				if (r < 0)
					return r;
				continue;
			}
		}
	done:
		if (unlink(p->jpath) < 0 && errno != ENOENT)
			return log_warning_errno(errno, "%s: cannot remove the journal", p->path);
		return 0;
	}
}

/*
 * DELETE of record i (not the last): the records after it move down in
 * place, as upstream does, journaled. Records that a writer without locks
 * appended meanwhile are moved too (journal_finish() sees them behind the
 * last slot).
 */
static int record_delete_shift(struct kvp_pool *p, size_t i)
{
	_cleanup_free_ unsigned char *old = NULL;
	uint64_t off = (uint64_t)i * REC_SIZE, size = (uint64_t)p->list.n * REC_SIZE;
	struct stat st;
	int r;

	if (fstat(p->fd, &st) < 0)
		return negative_errno();
	if ((uint64_t)st.st_size != size) {
		p->valid = false; /* somebody appended since we looked */
		return -EAGAIN;
	}
	old = malloc(size - off);
	if (!old)
		return -ENOMEM;
	if (pread_full(p->fd, old, size - off, (off_t)off) != (ssize_t)(size - off)) {
		p->valid = false;
		return -EAGAIN;
	}
	r = journal_write(p, J_DELETE, (uint64_t)st.st_ino, off, size, old, size - off, NULL, 0);
	if (r < 0)
		return r;
	r = pwrite_full(p->fd, old + REC_SIZE, size - off - REC_SIZE, (off_t)off);
	if (r >= 0)
		r = journal_finish(p);
	if (r < 0) {
		p->valid = false;
		return log_warning_errno(r, "%s: cannot delete record %zu", p->path, i);
	}
	record_done(&p->list.recs[i]);
	memmove(&p->list.recs[i], &p->list.recs[i + 1], (p->list.n - i - 1) * sizeof(p->list.recs[0]));
	p->list.n--;
	p->valid = true;
	if (index_rebuild(p, p->list.n + 1) < 0)
		p->valid = false; /* the file is right; reload it next time */
	return pool_wrote(p);
}

/* A modification that no ordering of single-page writes makes atomic. */
static int record_write_journaled(struct kvp_pool *p, uint64_t off, const unsigned char *new,
				  size_t len)
{
	_cleanup_free_ unsigned char *old = malloc(len);
	struct stat st;
	int r;

	if (!old)
		return -ENOMEM;
	if (fstat(p->fd, &st) < 0)
		return negative_errno();
	if (pread_full(p->fd, old, len, (off_t)off) != (ssize_t)len)
		return -EIO;
	r = journal_write(p, J_WRITE, (uint64_t)st.st_ino, off, len, new, len, old, len);
	if (r < 0)
		return r;
	r = pwrite_full(p->fd, new, len, (off_t)off);
	if (r >= 0 && unlink(p->jpath) < 0)
		r = negative_errno();
	return r;
}

/* ---- a partial record at the end -------------------------------------------------- */

/*
 * A file that does not end on a record boundary is somebody's append in
 * progress (a writer without locks, half visible for an instant) or one
 * that a kill cut short. We never cut the former and never append behind
 * either. It is abandoned for sure when no other process has the file
 * open: then we get a write lease. Where leases are refused (somebody
 * keeps the file open, e.g. a reader), a tail that has not changed for
 * KVP_POOL_TAIL_ABANDON_USEC is taken as abandoned. The repair keeps what
 * can be kept: a tail holding a whole key and a whole value (only the NUL
 * padding missing) is completed; anything less is removed, since a value
 * cut short would pass for what the writer meant.
 */
static bool tail_abandoned(struct kvp_pool *p, const struct stat *st)
{
	uint64_t now = now_usec();

	if (fcntl(p->fd, F_SETLEASE, F_WRLCK) == 0) {
		(void)fcntl(p->fd, F_SETLEASE, F_UNLCK);
		return true;
	}
	if (p->tail_seen == 0 || p->tail_size != st->st_size ||
	    p->tail_mtim.tv_sec != st->st_mtim.tv_sec || p->tail_mtim.tv_nsec != st->st_mtim.tv_nsec) {
		p->tail_seen = now;
		p->tail_size = st->st_size;
		p->tail_mtim = st->st_mtim;
		return false;
	}
	return now - p->tail_seen >= KVP_POOL_TAIL_ABANDON_USEC;
}

/* Under the exclusive lock. 0: the file ends on a record boundary (now);
 * -EAGAIN: an append is in progress. */
static int settle_tail(struct kvp_pool *p)
{
	unsigned char buf[REC_SIZE] = { 0 };
	char esc[ESCAPED_SIZE(64)];
	off_t off = (off_t)(p->list.n * REC_SIZE);
	size_t len = p->trailing, klen;
	struct stat st;
	int r;

	if (p->trailing == 0)
		return 0;
	if (fstat(p->fd, &st) < 0)
		return negative_errno();
	if ((uint64_t)st.st_size != (uint64_t)off + len) {
		p->valid = false; /* it moved on: look again */
		return -EAGAIN;
	}
	if (!tail_abandoned(p, &st))
		return -EAGAIN;
	if (pread_full(p->fd, buf, len, off) != (ssize_t)len)
		return -EIO;
	/* Kept only when its key and value are both whole (only padding is
	 * missing): a value cut short would pass for the writer's. */
	klen = strnlen((const char *)buf, MIN(len, (size_t)KEY_FIELD));
	if (klen > 0 && klen < KEY_FIELD && len > KEY_FIELD &&
	    strnlen((const char *)buf + KEY_FIELD, len - KEY_FIELD) < len - KEY_FIELD) {
		static const unsigned char zeros[REC_SIZE];

		r = pwrite_full(p->fd, zeros, REC_SIZE - len, off + (off_t)len);
		if (r < 0)
			return log_warning_errno(r, "%s: cannot complete a partial record", p->path);
		log_notice("%s: completed the record '%s' that a writer left without its padding (%zu bytes)",
			   p->path, escape_str(esc, sizeof(esc), (const char *)buf), len);
		p->valid = false; /* reloaded with it */
	} else {
		if (ftruncate(p->fd, off) < 0)
			return log_warning_errno(errno, "%s: cannot remove a partial record",
						 p->path);
		log_notice("%s: removed %zu bytes that a writer left behind the last record",
			   p->path, len);
		p->trailing = 0;
	}
	p->tail_seen = 0;
	return pool_wrote(p);
}

/* Under the exclusive lock on the current file no other process of ours is
 * writing a journal (or, in older versions, between mkostemp() and
 * rename()), so leftovers are from killed writers. */
static void remove_stale_temps(struct kvp_pool *p)
{
	size_t plen = strlen(p->name);
	struct dirent *de;
	DIR *d;
	int fd;

	if (p->dir_fd < 0)
		return;
	fd = openat(p->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		safe_close(fd);
		return;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, p->name, plen) != 0 || de->d_name[plen] != '.')
			continue;
		/* a journal a kill cut short before it was put in place */
		if (!streq(de->d_name + plen, ".journal.new") && strlen(de->d_name) != plen + 7)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_debug("%s: removed %s left by a killed writer", p->dir, de->d_name);
	}
	closedir(d);
}

/* ---- the API ------------------------------------------------------------------ */

struct kvp_pool *kvp_pool_free(struct kvp_pool *p)
{
	if (!p)
		return NULL;
	if (p->n_pending > 0 && pool_begin(p, true) >= 0)
		pool_end(p);
	for (char esc[ESCAPED_SIZE(64)]; p->n_pending > 0; pending_drop(p, 0))
		log_warning("%s: still locked by another process; the deferred key '%s' was not written",
			    p->path, escape_str(esc, sizeof(esc), p->pending[0].key));
	safe_close(p->fd);
	safe_close(p->ino_fd);
	safe_close(p->dir_fd);
	list_clear(&p->list);
	free(p->slots);
	free(p->dir);
	free(p->path);
	free(p->name);
	free(p->jpath);
	free(p);
	return NULL;
}

int kvp_pool_open(const char *dir, unsigned index, struct kvp_pool **ret)
{
	_cleanup_(kvp_pool_freep) struct kvp_pool *p = NULL;
	int r;

	if (!ret || index >= KVP_POOL_COUNT)
		return -EINVAL;
	if (isempty(dir))
		dir = KVP_POOL_DEFAULT_DIR;
	/* A missing directory that cannot be made shows as pools that cannot
	 * be opened, below. */
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_debug_errno(errno, "cannot create %s", dir);

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fd = p->dir_fd = p->ino_fd = p->wd = -1;
	p->lock_wait = KVP_POOL_LOCK_WAIT_USEC;
	p->dir = strdup(dir);
	if (!p->dir || asprintf(&p->name, KVP_POOL_FILE_PREFIX "%u", index) < 0) {
		p->name = NULL;
		return -ENOMEM;
	}
	if (asprintf(&p->path, "%s/%s", dir, p->name) < 0) {
		p->path = NULL;
		return -ENOMEM;
	}
	if (asprintf(&p->jpath, "%s.journal", p->path) < 0) {
		p->jpath = NULL;
		return -ENOMEM;
	}
	p->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	p->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (p->ino_fd < 0)
		log_debug_errno(errno, "inotify unavailable, relying on timestamps");

	/* Start-up never waits for a lock: a locked pool is read when it is
	 * first used (and answered as busy until then). */
	r = pool_begin_wait(p, !p->read_only, 0);
	if (r >= 0) {
		if (!p->read_only && r == 0 && !p->degraded) {
			remove_stale_temps(p);
			remove_torn_appends(p);
		}
		pool_end(p);
	}
	/* Otherwise (locked, unusable, too large) the pool still exists and
	 * answers according to its state; it is retried with every call. */
	*ret = TAKE_PTR(p);
	return 0;
}

const char *kvp_pool_path(const struct kvp_pool *p)
{
	return p ? p->path : NULL;
}

static int copy_out(char *dst, size_t size, const char *src)
{
	if (!dst || size == 0)
		return -ENOBUFS;
	return strscpy(dst, size, src);
}

/* The start of get, set and delete: the arguments checked (the value only
 * when ret_value_len is given), a change refused on a read-only pool, then
 * pool_begin(). Pair with pool_end() on success. */
/* Checks key (and value), then locks the pool: waiting at most until
 * deadline (CLOCK_MONOTONIC usec), or for the pool's lock wait when it is
 * 0, so that a caller's retries never add up past its own bound. */
static int pool_begin_key(struct kvp_pool *p, bool change, const char *key, size_t *ret_key_len,
			  const char *value, size_t *ret_value_len, uint64_t deadline)
{
	uint64_t now;
	int r;

	if (!p)
		return -EINVAL;
	r = check_key(key, ret_key_len);
	if (r < 0)
		return r;
	if (ret_value_len) {
		r = check_value(value, ret_value_len);
		if (r < 0)
			return r;
	}
	if (change && p->read_only && p->fd >= 0)
		return -p->ro_error;
	if (deadline == 0)
		return pool_begin(p, change);
	now = now_usec();
	r = pool_begin_wait(p, change, deadline > now ? deadline - now : 0);
	return r > 0 ? 0 : r;
}

int kvp_pool_get(struct kvp_pool *p, const char *key, char *value_out, size_t value_size)
{
	size_t key_len, i;
	int r;

	r = pool_begin_key(p, false, key, &key_len, NULL, NULL, 0);
	if (r < 0)
		return r;
	i = index_lookup(p, key, key_len);
	if (i == SIZE_MAX)
		r = -ENOENT;
	else
		r = copy_out(value_out, value_size, record_value(&p->list.recs[i]));
	pool_end(p);
	return r;
}

/* Under the exclusive lock. */
static int pool_set_locked(struct kvp_pool *p, const char *key, size_t key_len, const char *value,
			   size_t value_len)
{
	size_t i;

	i = index_lookup(p, key, key_len);
	if (i != SIZE_MAX)
		return record_modify(p, i, value, value_len);
	return record_append(p, key, key_len, value, value_len);
}

/* An append by another process is in progress at the end of the file
 * (settle_tail()) for as long as we may wait. */
static int tail_busy(struct kvp_pool *p)
{
	log_warning("%s: another process's append at the end of the file is still in progress; answering busy",
		    p->path);
	return -EBUSY;
}

static void short_sleep(void)
{
	nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
}

int kvp_pool_set(struct kvp_pool *p, const char *key, const char *value)
{
	size_t key_len, value_len;
	uint64_t deadline = now_usec() + (p ? p->lock_wait : 0);
	int r;

	for (;;) {
		r = pool_begin_key(p, true, key, &key_len, value, &value_len, deadline);
		if (r < 0)
			return r;
		r = pool_set_locked(p, key, key_len, value, value_len);
		pool_end(p);
		if (r != -EAGAIN)
			return r;
		if (now_usec() >= deadline)
			return tail_busy(p);
		short_sleep();
	}
}

/* ---- writes that must not wait ------------------------------------------------ */

static void pending_drop(struct kvp_pool *p, size_t k)
{
	free(p->pending[k].key);
	free(p->pending[k].value);
	memmove(&p->pending[k], &p->pending[k + 1], (p->n_pending - k - 1) * sizeof(p->pending[0]));
	p->n_pending--;
}

/* Under the exclusive lock: the queued writes, oldest first. One that fails
 * for a reason other than the lock is dropped with a log line (retrying
 * would not help). */
static int pending_apply(struct kvp_pool *p)
{
	int ret = 0;

	while (p->n_pending > 0) {
		struct pending *w = &p->pending[0];
		char esc[ESCAPED_SIZE(64)];
		int r = pool_set_locked(p, w->key, strlen(w->key), w->value, strlen(w->value));

		if (r == -EAGAIN)
			return 0; /* behind another's append: next time */
		if (r < 0) {
			log_warning_errno(r, "%s: cannot write the deferred key '%s'; dropped it",
					  p->path, escape_str(esc, sizeof(esc), w->key));
			ret = r;
		} else
			log_debug("%s: wrote the deferred key '%s'", p->path,
				  escape_str(esc, sizeof(esc), w->key));
		pending_drop(p, 0);
	}
	return ret;
}

int kvp_pool_set_nowait(struct kvp_pool *p, const char *key, const char *value)
{
	size_t key_len, value_len;
	struct pending *w = NULL;
	char *k, *v;
	int r;

	if (!p)
		return -EINVAL;
	r = check_key(key, &key_len);
	if (r >= 0)
		r = check_value(value, &value_len);
	if (r < 0)
		return r;
	if (p->read_only)
		return -p->ro_error;
	r = pool_begin_wait(p, true, 0);
	if (r == 0) {
		r = pool_set_locked(p, key, key_len, value, value_len);
		pool_end(p);
		if (r != -EAGAIN)
			return r;
		r = -EBUSY; /* behind another's append in progress: queue it */
	}
	if (r != -EBUSY)
		return r;

	for (size_t k2 = 0; k2 < p->n_pending; k2++)
		if (streq(p->pending[k2].key, key))
			w = &p->pending[k2];
	if (!w && p->n_pending == KVP_POOL_MAX_PENDING)
		return -ENOBUFS;
	v = strdup(value);
	if (!v)
		return -ENOMEM;
	if (w) {
		/* The newer value replaces the older one in its place. */
		free(w->value);
		w->value = v;
		return 1;
	}
	k = strdup(key);
	if (!k) {
		free(v);
		return -ENOMEM;
	}
	p->pending[p->n_pending++] = (struct pending){ .key = k, .value = v };
	return 1;
}

int kvp_pool_flush(struct kvp_pool *p)
{
	int r;

	if (!p)
		return -EINVAL;
	if (p->n_pending == 0)
		return 0;
	r = pool_begin_wait(p, true, 0); /* applies them */
	if (r == 0)
		pool_end(p);
	else if (r != -EBUSY)
		return r;
	return (int)p->n_pending;
}

int kvp_pool_health(const struct kvp_pool *p, char *buf, size_t size)
{
	const char *why = NULL;
	int r = 0;

	if (!p)
		return -EINVAL;
	if (p->degraded) {
		r = p->degraded;
		why = p->why;
	} else if (p->busy_since) {
		r = -EBUSY;
		why = "locked by another process";
	}
	if (buf && size > 0)
		strprintf(buf, size, "%s", why ? why : "");
	return r;
}

size_t kvp_pool_pending(const struct kvp_pool *p)
{
	return p ? p->n_pending : 0;
}

void kvp_pool_set_lock_wait(struct kvp_pool *p, uint64_t usec)
{
	if (p)
		p->lock_wait = usec;
}

static int pool_delete_locked(struct kvp_pool *p, const char *key, size_t key_len)
{
	size_t i = index_lookup(p, key, key_len);
	struct stat st;

	if (i == SIZE_MAX)
		return -ENOENT;
	/* Nothing of anybody else's may be cut or shifted half-written. */
	if (p->trailing > 0)
		return -EAGAIN;
	if (i + 1 < p->list.n)
		return record_delete_shift(p, i);
	/* The last record goes with one truncate: atomic, and the file (and
	 * anyone appending to it) stays the same. */
	if (fstat(p->fd, &st) < 0)
		return negative_errno();
	if ((uint64_t)st.st_size != (uint64_t)p->list.n * REC_SIZE) {
		p->valid = false; /* somebody appended since we looked */
		return -EAGAIN;
	}
	if (ftruncate(p->fd, (off_t)(i * REC_SIZE)) < 0) {
		p->valid = false;
		return log_warning_errno(errno, "%s: cannot truncate", p->path);
	}
	index_remove_last(p, i);
	record_done(&p->list.recs[i]);
	p->list.n--;
	return pool_wrote(p);
}

int kvp_pool_delete(struct kvp_pool *p, const char *key)
{
	uint64_t deadline = now_usec() + (p ? p->lock_wait : 0);
	size_t key_len;
	int r;

	for (;;) {
		r = pool_begin_key(p, true, key, &key_len, NULL, NULL, deadline);
		if (r < 0)
			return r;
		r = pool_delete_locked(p, key, key_len);
		pool_end(p);
		if (r != -EAGAIN)
			return r;
		if (now_usec() >= deadline)
			return tail_busy(p);
		short_sleep();
	}
}

int kvp_pool_enumerate(struct kvp_pool *p, uint32_t index, char *key_out, size_t key_size,
		       char *value_out, size_t value_size)
{
	const struct record *rec;
	int r, q;

	if (!p || !key_out || !value_out)
		return -EINVAL;
	r = pool_begin(p, false);
	if (r < 0)
		return r;
	if (index >= p->list.n)
		r = -ENOENT;
	else {
		rec = &p->list.recs[index];
		r = copy_out(key_out, key_size, rec->kv);
		q = copy_out(value_out, value_size, record_value(rec));
		if (r >= 0)
			r = q;
	}
	pool_end(p);
	return r;
}

int kvp_pool_count(struct kvp_pool *p, size_t *ret)
{
	int r;

	if (!p || !ret)
		return -EINVAL;
	r = pool_begin(p, false);
	if (r < 0)
		return r;
	*ret = p->list.n;
	pool_end(p);
	return 0;
}

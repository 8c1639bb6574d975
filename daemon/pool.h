/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pool.h - the KVP pool files (/var/lib/hyperv/.kvp_pool_N), upstream-compatible. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvp-proto.h"

/*
 * One pool file: a flat array of 2560-byte records (key[512], value[2048],
 * NUL-padded), no header, exactly as upstream hv_kvp_daemon writes it.
 *
 * Semantics follow upstream: keys match exactly; SET modifies the first
 * matching record or appends; DELETE removes it keeping the order of the
 * others; ENUMERATE returns record[index].
 *
 * Other programs edit these files (cloud-init appends to pool 1 under
 * flock(); admin tools follow Microsoft's fcntl() samples). Every operation
 * takes both kinds of lock (flock, then an OFD fcntl lock) and notices
 * outside changes with inotify on the file, with fstat() (inode, size, mtime,
 * ctime) as the fallback, instead of re-reading the file each time.
 *
 * The file is never replaced, only changed in place, so what a co-tenant
 * appends (even one that opened the file before our change and writes after
 * it) lands in the pool. Writes survive a kill at any instant: a modify
 * writes only the bytes that differ, page by page, in an order readers
 * cannot tell apart from the old or the new value; an append is one write;
 * a DELETE in the middle (records shift down, as upstream) and the rare
 * modification no write order makes atomic go through <pool>.journal, which
 * the next call that locks the pool (at the latest hvkvpd's start-up)
 * finishes, keeping records others appended after the kill. Until then a
 * reader going around us may see that change half made.
 *
 * A partial record at the end of the file is another process's append in
 * progress: it is never cut and nothing is appended behind it (SET of a new
 * key and DELETE wait within the lock bound, then fail with -EBUSY); once
 * provably abandoned (nobody else has the file open, or it has not changed
 * for KVP_POOL_TAIL_ABANDON_USEC), it is completed if its key and value are
 * whole, else removed.
 *
 * A pool that cannot be opened for writing is opened read-only (SET and
 * DELETE then fail with that error).
 *
 * Lock waits are bounded. hvkvpd is single-threaded and the host gives up
 * on a request after 30 s, so no call waits for another process's lock
 * longer than KVP_POOL_LOCK_WAIT_USEC (2 s); it then fails with -EBUSY
 * (the host sees HV_ERROR_MACHINE_LOCKED: "somebody else holds it, ask
 * again", not HV_E_FAIL, which would claim the operation itself failed).
 * While a pool stays locked, further calls on it try for only
 * KVP_POOL_LOCK_RETRY_USEC, so requests on the other pools, queued behind
 * it, are not held up again and again. A read is still answered from the
 * cache when nothing changed the file since it was read (inotify says so).
 * The wait is a retry with short sleeps: a lock holder never gets the
 * daemon stuck in the kernel. kvp_pool_open() never waits at all.
 *
 * Resources are bounded: a pool holds at most KVP_POOL_MAX_RECORDS (10000)
 * records, i.e. a file of at most KVP_POOL_MAX_FILE_SIZE (25,600,000
 * bytes). A SET that would go beyond fails with -EFBIG
 * (HV_ERROR_DISK_FULL). A larger file is never read past that size nor
 * changed: its first 10000 records are served read-only and SET/DELETE
 * fail with -EFBIG until it shrinks. The cache holds one copy of a pool (a
 * reload frees the old one first, and reads in 640 KiB chunks): at most
 * ~26 MB for 10000 full-size records, ~52 MB if none of them has its
 * terminators (their original bytes are kept too). So the five pools stay
 * below ~260 MB in the worst case whatever the files' sizes; typical pools
 * take a few KiB.
 *
 * Pool files are opened with O_NOFOLLOW and must be regular files: a
 * symbolic link (or a FIFO, a directory, ...) in place of one, like a file
 * that cannot be opened or read, leaves that pool unusable (every call
 * fails with the error, -ELOOP for a link, and the file is left alone),
 * named in a log line and by kvp_pool_health(); the other pools work
 * normally. Each call tries again, so fixing the file heals the pool.
 *
 * All functions return 0 or a negative errno: -ENOENT for a missing key or
 * an index past the end, -ENAMETOOLONG / -EMSGSIZE for a key / value that
 * does not fit a record, -EINVAL for an empty key, -ENOBUFS when an output
 * buffer is too small (a terminated prefix is written), I/O errors as they
 * come.
 */

#define KVP_POOL_FILE_PREFIX ".kvp_pool_"

#define KVP_POOL_MAX_RECORDS 10000u
#define KVP_POOL_MAX_FILE_SIZE ((uint64_t)KVP_POOL_MAX_RECORDS * KVP_RECORD_SIZE)

/* The longest any call waits for a pool lock held by another process. */
#define KVP_POOL_LOCK_WAIT_USEC (2ULL * 1000000ULL)
/* The wait once a pool is known to be locked (the last attempt failed). */
#define KVP_POOL_LOCK_RETRY_USEC (50ULL * 1000ULL)
/* A partial record at the end of a pool that has not changed for this long
 * while somebody else keeps the file open is taken as abandoned (pool.c,
 * settle_tail()). */
#define KVP_POOL_TAIL_ABANDON_USEC (5ULL * 1000000ULL)
/* How often a caller of kvp_pool_set_nowait() should retry deferred writes
 * with kvp_pool_flush(). */
#define KVP_POOL_DEFER_RETRY_USEC (1000000ULL)
#define KVP_POOL_DEFAULT_DIR "/var/lib/hyperv"

struct kvp_pool;

/* Opens (creating 0644 if needed) <dir>/.kvp_pool_<index>; creates dir 0755
 * if missing. */
int kvp_pool_open(const char *dir, unsigned index, struct kvp_pool **ret);
struct kvp_pool *kvp_pool_free(struct kvp_pool *p);
static inline void kvp_pool_freep(struct kvp_pool **p)
{
	kvp_pool_free(*p);
}

/* value_out gets the NUL-terminated value (value_size >= 2048 always fits). */
int kvp_pool_get(struct kvp_pool *p, const char *key, char *value_out, size_t value_size);
int kvp_pool_set(struct kvp_pool *p, const char *key, const char *value);
int kvp_pool_delete(struct kvp_pool *p, const char *key);
int kvp_pool_enumerate(struct kvp_pool *p, uint32_t index, char *key_out, size_t key_size,
		       char *value_out, size_t value_size);
/* Number of records after bringing the cache up to date. */
int kvp_pool_count(struct kvp_pool *p, size_t *ret);
const char *kvp_pool_path(const struct kvp_pool *p);

/*
 * For writes the host's answer must not wait for (the SET_IP_INFO result
 * line in pool 1): takes the locks only if they are free right now. When
 * they are not, the write is queued (a later one for the same key replaces
 * it) and 1 is returned; otherwise 0 or an error as kvp_pool_set(). Queued
 * writes go out, in order, at the start of the next SET or DELETE on this
 * pool or on kvp_pool_flush(), which a caller runs from a timer every
 * KVP_POOL_DEFER_RETRY_USEC while kvp_pool_pending() is not 0. At most
 * KVP_POOL_MAX_PENDING keys are queued (-ENOBUFS beyond). kvp_pool_free()
 * tries once more and says in the log what it had to drop.
 */
#define KVP_POOL_MAX_PENDING 16
int kvp_pool_set_nowait(struct kvp_pool *p, const char *key, const char *value);
/* Returns the number of writes still queued, or a negative errno. */
int kvp_pool_flush(struct kvp_pool *p);
size_t kvp_pool_pending(const struct kvp_pool *p);

/*
 * 0 when the pool works normally; otherwise the negative errno of why it
 * does not (-ELOOP a symbolic link, -EFBIG too large and served read-only,
 * -EBUSY locked by another process at the last attempt, -EACCES, -EIO, ...)
 * and a short description for STATUS= in buf (may be NULL).
 */
int kvp_pool_health(const struct kvp_pool *p, char *buf, size_t size);

/* Tests and tools may shorten (or, 0, disable) the lock wait. */
void kvp_pool_set_lock_wait(struct kvp_pool *p, uint64_t usec);

/* ---- pure parsing, shared with the fuzzer ---- */

/* Called once per record, in file order. key/value are NUL-terminated
 * (a field with no NUL is cut at its last byte and reported with
 * `truncated` = true); key_len/value_len are their strlen()s. Returning a
 * negative value stops the walk and is returned by kvp_pool_parse(). */
typedef int (*kvp_pool_record_cb)(const char *key, size_t key_len, const char *value,
				  size_t value_len, bool truncated, void *userdata);

/* Walks buf[0..len). A trailing partial record (len not a multiple of 2560,
 * e.g. a writer killed mid-append) is ignored and reported through
 * *ret_trailing (may be NULL). */
int kvp_pool_parse(const void *buf, size_t len, kvp_pool_record_cb cb, void *userdata,
		   size_t *ret_trailing);

/* Writes one record image (2560 bytes, NUL-padded) for key/value. */
int kvp_pool_record_format(void *record, const char *key, const char *value);

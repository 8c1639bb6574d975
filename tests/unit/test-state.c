/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-state.c - the per-adapter state files: format/parse round trips with hostile host strings, atomic saves, bad files. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

#include "adapter.h"
#include "state.h"
#include "suites.h"
#include "util.h"

/* state.c reads at most this much; state_format() must fit in it */
#define FORMAT_BUF (64 * 1024)
#define MAC "00:15:5d:00:00:01"
#define MAC_KEY "00155d000001" /* adapter_mac_key(MAC): the file name */

/* ---- helpers --------------------------------------------------------------- */

static void fill(char *dst, size_t size, char c)
{
	memset(dst, c, size - 1);
	dst[size - 1] = '\0';
}

/* Every byte the host could send in a C string, in order, cycling 1..255. */
static void fill_all_bytes(char *dst, size_t size)
{
	for (size_t i = 0; i + 1 < size; i++)
		dst[i] = (char)(1 + i % 255);
	dst[size - 1] = '\0';
}

static void sample(struct adapter_state *st)
{
	memset(st, 0, sizeof(*st));
	strcpy(st->mac, MAC);
	strcpy(st->ifname, "eth0");
	strcpy(st->host.adapter_id, "{4e0c1a2b-0000-4000-8000-00155d000001}");
	st->host.addr_family = 3;
	st->host.dhcp_enabled = 0;
	strcpy(st->host.ip_addr, "192.0.2.10;192.0.2.11;2001:db8::10");
	strcpy(st->host.sub_net, "255.255.255.0;255.255.255.0;64");
	strcpy(st->host.gate_way, "192.0.2.1;2001:db8::1");
	strcpy(st->host.dns_addr, "192.0.2.53;2001:db8::53");
	st->applied = st->host;
	st->received_usec = 1795517895121870ULL;
	st->applied_usec = 1795517895122585ULL;
	st->result = 0;
	strcpy(st->backend, "netlink");
	strcpy(st->detail, "applied 2 IPv4, 1 IPv6, 2 gateways, 2 DNS");
	st->reapply = true;
	st->waiting_for_carrier = false;
}

static void ip_fields_eq(const struct kvp_ip_fields *a, const struct kvp_ip_fields *b,
			 const char *which)
{
	ck_assert_msg(streq(a->adapter_id, b->adapter_id), "%s.adapter_id differs", which);
	ck_assert_msg(a->addr_family == b->addr_family, "%s.addr_family %u != %u", which,
		      a->addr_family, b->addr_family);
	ck_assert_msg(a->dhcp_enabled == b->dhcp_enabled, "%s.dhcp_enabled %u != %u", which,
		      a->dhcp_enabled, b->dhcp_enabled);
	ck_assert_msg(streq(a->ip_addr, b->ip_addr), "%s.ip_addr differs", which);
	ck_assert_msg(streq(a->sub_net, b->sub_net), "%s.sub_net differs", which);
	ck_assert_msg(streq(a->gate_way, b->gate_way), "%s.gate_way differs", which);
	ck_assert_msg(streq(a->dns_addr, b->dns_addr), "%s.dns_addr differs", which);
}

static void state_eq(const struct adapter_state *a, const struct adapter_state *b)
{
	ck_assert_str_eq(a->mac, b->mac);
	ck_assert_msg(streq(a->ifname, b->ifname), "ifname differs");
	ip_fields_eq(&a->host, &b->host, "host");
	ip_fields_eq(&a->applied, &b->applied, "applied");
	ck_assert_uint_eq(a->received_usec, b->received_usec);
	ck_assert_uint_eq(a->applied_usec, b->applied_usec);
	ck_assert_uint_eq(a->result, b->result);
	ck_assert_msg(streq(a->backend, b->backend), "backend differs");
	ck_assert_msg(streq(a->detail, b->detail), "detail differs");
	ck_assert_int_eq(a->reapply, b->reapply);
	ck_assert_int_eq(a->waiting_for_carrier, b->waiting_for_carrier);
}

/* Formats, checks that the text is lines of printable ASCII only, parses it
 * back and compares. */
static void round_trip(const struct adapter_state *st)
{
	char *buf = malloc(FORMAT_BUF);
	struct adapter_state *back = malloc(sizeof(*back));
	size_t len;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(state_format(st, buf, FORMAT_BUF), 0);
	len = strlen(buf);
	ck_assert_uint_gt(len, 0);
	ck_assert_msg(buf[len - 1] == '\n', "the text ends with a newline");
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(buf[i] == '\n' || ((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f),
			      "raw byte 0x%02x at offset %zu of the state text",
			      (unsigned char)buf[i], i);
	ck_assert_int_eq(state_parse(buf, back), 0);
	state_eq(st, back);
	free(back);
	free(buf);
}

static char tmpdir[] = "/tmp/hvkvpd-test-state-XXXXXX";
/* a directory that does not exist yet, in a fresh one per test */
static char dir[4200];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void base_setup(void)
{
	if (!mkdtemp(tmpdir))
		abort();
}

static void base_teardown(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* checked fixtures run in the forked child: no counter survives a test */
static void test_setup(void)
{
	char parent[4096];

	snprintf(parent, sizeof(parent), "%s/t-XXXXXX", tmpdir);
	if (!mkdtemp(parent))
		abort();
	snprintf(dir, sizeof(dir), "%s/state", parent);
}

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static unsigned count_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	unsigned n = 0;

	ck_assert_ptr_nonnull(dp);
	while ((e = readdir(dp)))
		if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

/* ---- format / parse ----------------------------------------------------------- */

START_TEST(test_round_trip_plain)
{
	struct adapter_state st;

	sample(&st);
	round_trip(&st);
	/* a failed request: nothing applied */
	memset(&st.applied, 0, sizeof(st.applied));
	st.applied_usec = 0;
	st.backend[0] = '\0';
	st.result = 0x80070057;
	st.reapply = false;
	st.waiting_for_carrier = true;
	round_trip(&st);
}
END_TEST

/* What the host sent is untrusted: every field survives whatever it holds,
 * and nothing in it can start a line of its own. */
START_TEST(test_round_trip_hostile)
{
	static const char *const hostile[] = {
		"192.0.2.10\nmac=66:66:66:66:66:66\nreapply=1",
		"a\\b\\\\c\\x41\\x00\\",
		"\\x",
		"\x01\x02\x1b[31m\x7f",
		"\r\n\t\v\f",
		"\xff\xfe\xc3\x28\xe2\x82\xf0\x9f\x98", /* invalid UTF-8 */
		"été ✓ 中文",
		"key=value=again; # not a comment",
		"#mac=x",
		"",
	};
	struct adapter_state st;
	char buf[FORMAT_BUF];

	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		sample(&st);
		strscpy(st.host.adapter_id, sizeof(st.host.adapter_id), hostile[i]);
		strscpy(st.host.ip_addr, sizeof(st.host.ip_addr), hostile[i]);
		strscpy(st.host.sub_net, sizeof(st.host.sub_net), hostile[i]);
		strscpy(st.host.gate_way, sizeof(st.host.gate_way), hostile[i]);
		strscpy(st.host.dns_addr, sizeof(st.host.dns_addr), hostile[i]);
		strscpy(st.detail, sizeof(st.detail), hostile[i]);
		strscpy(st.ifname, sizeof(st.ifname), hostile[i]);
		st.host.addr_family = 255;
		st.host.dhcp_enabled = 255;
		round_trip(&st);

		/* the injected "mac=" line did not become a key */
		ck_assert_int_eq(state_format(&st, buf, sizeof(buf)), 0);
		ck_assert_ptr_null(strstr(buf, "\nmac=66"));
		ck_assert_ptr_null(strstr(buf, "\nreapply=1\nreapply"));
	}
}
END_TEST

START_TEST(test_round_trip_every_byte)
{
	struct adapter_state st;

	sample(&st);
	fill_all_bytes(st.host.ip_addr, sizeof(st.host.ip_addr));
	fill_all_bytes(st.applied.dns_addr, sizeof(st.applied.dns_addr));
	fill_all_bytes(st.detail, sizeof(st.detail));
	round_trip(&st);
}
END_TEST

/* Every field at its longest, each byte one that needs an escape: the
 * largest text state_format can make; it still fits what state_load reads. */
START_TEST(test_round_trip_max_length)
{
	static const char worst[] = { '\\', '\n', '\x01', '\xff' };
	struct adapter_state *st = malloc(sizeof(*st)), *back = malloc(sizeof(*back));

	ck_assert_ptr_nonnull(st);
	ck_assert_ptr_nonnull(back);
	for (size_t w = 0; w < ARRAY_SIZE(worst); w++) {
		char c = worst[w];

		memset(st, 0, sizeof(*st));
		strcpy(st->mac, MAC);
		fill(st->ifname, sizeof(st->ifname), c);
		fill(st->host.adapter_id, sizeof(st->host.adapter_id), c);
		fill(st->host.ip_addr, sizeof(st->host.ip_addr), c);
		fill(st->host.sub_net, sizeof(st->host.sub_net), c);
		fill(st->host.gate_way, sizeof(st->host.gate_way), c);
		fill(st->host.dns_addr, sizeof(st->host.dns_addr), c);
		st->applied = st->host;
		fill(st->backend, sizeof(st->backend), c);
		fill(st->detail, sizeof(st->detail), c);
		st->received_usec = st->applied_usec = UINT64_MAX;
		st->result = UINT32_MAX;
		st->host.addr_family = st->applied.addr_family = 255;
		round_trip(st);

		/* and through the files */
		test_setup();
		ck_assert_int_eq(state_save(dir, st), 0);
		ck_assert_int_eq(state_load(dir, MAC, back), 0);
		state_eq(st, back);
	}
	free(back);
	free(st);
}
END_TEST

START_TEST(test_format_small_buffer)
{
	struct adapter_state st;
	char buf[4096];
	size_t need;

	sample(&st);
	ck_assert_int_eq(state_format(&st, buf, sizeof(buf)), 0);
	need = strlen(buf) + 1;
	/* every size below the one it needs fails cleanly, and writes no further */
	for (size_t size = 1; size < need; size += (size < 64 ? 1 : 37)) {
		memset(buf, 'Z', sizeof(buf));
		ck_assert_int_eq(state_format(&st, buf, size), -ENOBUFS);
		for (size_t i = size; i < sizeof(buf); i++)
			ck_assert_msg(buf[i] == 'Z', "size %zu: byte %zu written", size, i);
	}
	ck_assert_int_eq(state_format(&st, buf, need), 0);
}
END_TEST

START_TEST(test_parse_unknown_keys_comments)
{
	struct adapter_state st;

	ck_assert_int_eq(state_parse("# a comment\n"
				     "\n"
				     "mac=" MAC "\n"
				     "from_a_newer_version=whatever \\q\\x00 \x01\n"
				     "ifname=eth0\n"
				     "# mac=99:99:99:99:99:99\n"
				     "reapply=1",
				     &st),
			 0);
	ck_assert_str_eq(st.mac, MAC);
	ck_assert_str_eq(st.ifname, "eth0");
	ck_assert(st.reapply);
	/* fields not in the file are zero */
	ck_assert_uint_eq(st.applied_usec, 0);
	ck_assert_str_eq(st.host.ip_addr, "");
}
END_TEST

START_TEST(test_parse_bad)
{
	static const char *const bad[] = {
		"",
		"# only a comment\n",
		"ifname=eth0\n", /* no mac */
		"mac=\n",
		"mac=" MAC "\nno equals sign here\n",
		"mac=" MAC "\nthis_key_is_far_too_long_to_be_one_of_ours=1\n",
		"mac=" MAC "\nhost_ip_addr=a\\qb\n",
		"mac=" MAC "\nhost_ip_addr=a\\x00b\n",
		"mac=" MAC "\nhost_ip_addr=a\\xZZ\n",
		"mac=" MAC "\nhost_ip_addr=a\\xg1\n",
		"mac=" MAC "\nhost_ip_addr=a\\x4\n",  /* escape cut at the end */
		"mac=" MAC "\nhost_ip_addr=a\\xA\n",  /* escape cut at the end */
		"mac=" MAC "\nhost_ip_addr=a\\x\n",
		"mac=" MAC "\nhost_ip_addr=a\\\n",
		"mac=" MAC "\nhost_ip_addr=a\\x-1\n", /* not two hex digits */
		"mac=" MAC "\nhost_ip_addr=a\\x 9\n", /* not two hex digits */
		"mac=" MAC "\nhost_ip_addr=a\\x+9\n", /* not two hex digits */
		"mac=" MAC "\nhost_addr_family=256\n",
		"mac=" MAC "\nhost_addr_family=-1\n",
		"mac=" MAC "\nhost_addr_family=x\n",
		"mac=" MAC "\nhost_addr_family=\n",
		"mac=" MAC "\napplied_dhcp_enabled=1000\n",
		"mac=" MAC "\nreceived_usec=12x\n",
		"mac=" MAC "\nreceived_usec=99999999999999999999999\n",
		"mac=" MAC "\nresult=0x1ffffffff\n",
		"mac=" MAC "\nresult=zz\n",
		"mac=00:15:5d:00:00:01:00:15:5d:00:00:01\n", /* longer than a MAC */
		"mac=" MAC "\nifname=a-name-longer-than-IFNAMSIZ\n",
	};
	struct adapter_state st;
	char accepted[2048] = "";

	/* all of them, so that one failure does not hide the others */
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (state_parse(bad[i], &st) != -EBADMSG) {
			const char *line = strrchr(bad[i], '=') ? strchr(bad[i], '\n') : NULL;
			size_t len = strlen(accepted);

			snprintf(accepted + len, sizeof(accepted) - len, " [%zu] '%.*s'", i,
				 line ? (int)strcspn(line + 1, "\n") : (int)strcspn(bad[i], "\n"),
				 line ? line + 1 : bad[i]);
		}
	ck_assert_msg(accepted[0] == '\0', "accepted:%s", accepted);
}
END_TEST

START_TEST(test_parse_field_too_long)
{
	/* one byte more than adapter_id holds, escaped or not */
	size_t n = KVP_ADAPTER_ID_BYTES + 1;
	char *text = malloc(64 + n * 4);
	struct adapter_state st;
	char *p;

	ck_assert_ptr_nonnull(text);
	p = text + sprintf(text, "mac=" MAC "\nhost_adapter_id=");
	memset(p, 'g', n);
	strcpy(p + n, "\n");
	ck_assert_int_eq(state_parse(text, &st), -EBADMSG);
	/* exactly full is fine */
	strcpy(p + n - 1, "\n");
	ck_assert_int_eq(state_parse(text, &st), 0);
	ck_assert_uint_eq(strlen(st.host.adapter_id), KVP_ADAPTER_ID_BYTES);
	free(text);

	/* a line longer than any escaped field */
	text = malloc(64 + KVP_IP_ADDR_BYTES * 4 + 8);
	ck_assert_ptr_nonnull(text);
	p = text + sprintf(text, "mac=" MAC "\nhost_ip_addr=");
	memset(p, 'a', KVP_IP_ADDR_BYTES * 4 + 4);
	strcpy(p + KVP_IP_ADDR_BYTES * 4 + 4, "\n");
	ck_assert_int_eq(state_parse(text, &st), -EBADMSG);
	free(text);
}
END_TEST

/* ---- files -------------------------------------------------------------------- */

START_TEST(test_save_load)
{
	struct adapter_state st, back;
	char path[4300];
	struct stat sb;

	sample(&st);
	/* the directory does not exist yet: state_save makes it */
	ck_assert_int_eq(state_load(dir, MAC, &back), -ENOENT);
	ck_assert_int_eq(state_save(dir, &st), 0);
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	snprintf(path, sizeof(path), "%s/%s.state", dir, MAC_KEY);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_msg((sb.st_mode & 07777) == 0600, "mode %o", sb.st_mode & 07777);
	ck_assert_int_eq(state_load(dir, MAC, &back), 0);
	state_eq(&st, &back);
	ck_assert_uint_eq(count_entries(dir), 1);

	/* rewritten in place of the old one: still one file, no temp left */
	strcpy(st.detail, "unchanged: 2 IPv4, 1 IPv6, 2 gateways, 2 DNS");
	st.result = 0x80004005;
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(state_save(dir, &st), 0);
	ck_assert_uint_eq(count_entries(dir), 1);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_msg((sb.st_mode & 07777) == 0600, "mode %o after rewrite", sb.st_mode & 07777);
	ck_assert_int_eq(state_load(dir, MAC, &back), 0);
	state_eq(&st, &back);
}
END_TEST

/* A rewrite is a rename: a reader holding the old file keeps it whole. */
START_TEST(test_save_atomic)
{
	struct adapter_state st;
	char path[4300], old[FORMAT_BUF], now[FORMAT_BUF];
	struct stat a, b;
	int fd;
	ssize_t n;

	sample(&st);
	ck_assert_int_eq(state_save(dir, &st), 0);
	snprintf(path, sizeof(path), "%s/%s.state", dir, MAC_KEY);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &a), 0);
	strcpy(st.detail, "something else entirely");
	ck_assert_int_eq(state_save(dir, &st), 0);
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert_msg(a.st_ino != b.st_ino, "rewritten in place, not replaced");
	n = read(fd, old, sizeof(old) - 1);
	ck_assert_int_gt(n, 0);
	old[n] = '\0';
	close(fd);
	ck_assert_ptr_nonnull(strstr(old, "detail=applied 2 IPv4"));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = read(fd, now, sizeof(now) - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	now[n] = '\0';
	ck_assert_ptr_nonnull(strstr(now, "detail=something else entirely"));
}
END_TEST

START_TEST(test_load_bad_files)
{
	static const char nul[] = "mac=" MAC "\nifname=eth0\0\nreapply=1\n";
	struct adapter_state st;
	char path[4300];

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s.state", dir, MAC_KEY);

	write_file(path, "", 0);
	ck_assert_int_eq(state_load(dir, MAC, &st), -EBADMSG);
	write_file(path, "garbage\x01\x02\xff", 6);
	ck_assert_int_eq(state_load(dir, MAC, &st), -EBADMSG);
	write_file(path, "ifname=eth0\n", 12);
	ck_assert_int_eq(state_load(dir, MAC, &st), -EBADMSG);
	/* a NUL inside the file: not a text file we wrote */
	write_file(path, nul, sizeof(nul) - 1);
	ck_assert_int_eq(state_load(dir, MAC, &st), -EBADMSG);

	/* a symbolic link is not followed */
	unlink(path);
	ck_assert_int_eq(symlink("/etc/hostname", path), 0);
	ck_assert_int_eq(state_load(dir, MAC, &st), -ELOOP);

	/* a FIFO is refused at once, not waited on for a writer (this check
	 * would time out instead) */
	unlink(path);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(state_load(dir, MAC, &st), -EINVAL);
	unlink(path);
}
END_TEST

/* Larger than anything state_format() can write: refused, not read as the
 * prefix that fits (here that would cut the applied address list short, and
 * a wrong address would be re-applied at the next start). */
START_TEST(test_load_oversized)
{
	struct adapter_state st;
	char path[4300];
	char *big;
	size_t off;
	int r;

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s.state", dir, MAC_KEY);
	big = malloc(80 * 1024);
	ck_assert_ptr_nonnull(big);
	off = (size_t)sprintf(big, "mac=" MAC "\nreapply=1\napplied_usec=1\n");
	while (off < 64 * 1024 - 40)
		off += (size_t)sprintf(big + off, "# padding padding padding padding\n");
	off += (size_t)sprintf(big + off, "applied_ip_addr=192.0.2.10;192.0.2.11;192.0.2.12;192.0.2.13\n");
	write_file(path, big, off);
	free(big);
	r = state_load(dir, MAC, &st);
	ck_assert_msg(r == -EBADMSG, "a %zu-byte file loaded (%d) with applied_ip_addr '%s'", off, r,
		      r == 0 ? st.applied.ip_addr : "");
}
END_TEST

/* The file name comes from the MAC: nothing but lower-case hex and ':'. */
START_TEST(test_bad_mac)
{
	static const char *const bad[] = {
		"../../etc/passwd", "00:15:5D:00:00:01", "00-15-5d-00-00-01", "a/b",
		"00:15:5d:00:0 1", "00:15:5d:00:0\n", ".", "..", "x",
	};
	struct adapter_state st, back;

	sample(&st);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		strscpy(st.mac, sizeof(st.mac), bad[i]);
		ck_assert_msg(state_save(dir, &st) == -EINVAL, "saved for mac '%s'", bad[i]);
		ck_assert_msg(state_load(dir, bad[i], &back) == -EINVAL, "loaded for mac '%s'",
			      bad[i]);
	}
	/* nothing was written anywhere */
	ck_assert_int_ne(access(dir, F_OK), 0);
}
END_TEST

/* An adapter without a MAC would be saved as the hidden ".state", which
 * state_foreach() never reads (so it would never be re-applied). */
START_TEST(test_empty_mac)
{
	struct adapter_state st;

	sample(&st);
	st.mac[0] = '\0';
	ck_assert_int_eq(state_save(dir, &st), -EINVAL);
}
END_TEST

struct seen {
	unsigned n;
	char macs[8][18];
	int stop_at; /* return -EIO on this call (1-based), 0: never */
};

static int collect(const struct adapter_state *st, void *userdata)
{
	struct seen *s = userdata;

	ck_assert_uint_lt(s->n, 8);
	strscpy(s->macs[s->n], sizeof(s->macs[0]), st->mac);
	s->n++;
	return (int)s->n == s->stop_at ? -EIO : 0;
}

/* Saving over a symbolic link replaces the link (rename()), and never
 * writes where it points. */
START_TEST(test_save_over_symlink)
{
	struct adapter_state st, back;
	char path[4300], target[4300];
	_cleanup_free_ char *text = NULL;
	struct stat sb;

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(target, sizeof(target), "%s/target", dir);
	write_file(target, "keep me\n", 8);
	snprintf(path, sizeof(path), "%s/%s.state", dir, MAC_KEY);
	ck_assert_int_eq(symlink(target, path), 0);

	sample(&st);
	ck_assert_int_eq(state_save(dir, &st), 0);
	ck_assert_int_eq(read_file_bounded(target, 0, 64, &text, NULL), 0);
	ck_assert_str_eq(text, "keep me\n");
	ck_assert_int_eq(lstat(path, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	ck_assert_int_eq(state_load(dir, MAC, &back), 0);
	state_eq(&st, &back);
}
END_TEST

START_TEST(test_foreach)
{
	static const char *const macs[] = { "00:15:5d:00:00:03", "00:15:5d:00:00:01",
					    "00:15:5d:00:00:02" };
	struct adapter_state st;
	struct seen s = { 0 };
	char path[4300];

	/* no directory: nothing, and no error */
	ck_assert_int_eq(state_foreach(dir, collect, &s), 0);
	ck_assert_uint_eq(s.n, 0);

	sample(&st);
	for (size_t i = 0; i < ARRAY_SIZE(macs); i++) {
		strcpy(st.mac, macs[i]);
		ck_assert_int_eq(state_save(dir, &st), 0);
	}
	/* things that are not state files, or not good ones */
	snprintf(path, sizeof(path), "%s/00155d000004.state", dir);
	write_file(path, "not a state file\n", 17);
	snprintf(path, sizeof(path), "%s/00155d000005.state.Ab12Cd", dir);
	write_file(path, "mac=00:15:5d:00:00:05\n", 22);
	snprintf(path, sizeof(path), "%s/README", dir);
	write_file(path, "mac=00:15:5d:00:00:06\n", 22);
	snprintf(path, sizeof(path), "%s/.apply.lock", dir);
	write_file(path, "", 0);
	/* a symbolic link to a good state file is not followed */
	snprintf(path, sizeof(path), "%s/00155d000007.state", dir);
	ck_assert_int_eq(symlink("00155d000001.state", path), 0);

	ck_assert_int_eq(state_foreach(dir, collect, &s), 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.macs[0], "00:15:5d:00:00:01");
	ck_assert_str_eq(s.macs[1], "00:15:5d:00:00:02");
	ck_assert_str_eq(s.macs[2], "00:15:5d:00:00:03");

	/* a callback's error stops the walk and is returned */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	ck_assert_int_eq(state_foreach(dir, collect, &s), -EIO);
	ck_assert_uint_eq(s.n, 2);
}
END_TEST

/* State files named in the old spelling (colons) are renamed at start; a
 * newer file of the new name wins; links and strangers stay. */
static char big[64 * 1024];

START_TEST(test_migrate_names)
{
	struct adapter_state st, back;
	struct timespec old_times[2] = { { 1000, 0 }, { 1000, 0 } };
	char path[4300], other[4300];

	char key[ADAPTER_MAC_KEY_SIZE];

	/* the one spelling, from any spelling */
	ck_assert_int_eq(adapter_mac_key("00:15:5D:0A:0B:0C", key, sizeof(key)), 0);
	ck_assert_str_eq(key, "00155d0a0b0c");
	ck_assert_int_eq(adapter_mac_key("00-15-5d-0a-0b-0c", key, sizeof(key)), 0);
	ck_assert_str_eq(key, "00155d0a0b0c");
	ck_assert_int_eq(adapter_mac_key("00155D0A0B0C", key, sizeof(key)), 0);
	ck_assert_str_eq(key, "00155d0a0b0c");
	ck_assert_int_eq(adapter_mac_key("00:15:5d:0a:0b", key, sizeof(key)), -EINVAL);
	ck_assert_int_eq(adapter_mac_key("", key, sizeof(key)), -EINVAL);

	ck_assert_int_eq(state_migrate_names(dir), 0); /* no directory: nothing */
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	sample(&st);
	ck_assert_int_eq(state_format(&st, big, sizeof(big)), 0);
	snprintf(path, sizeof(path), "%s/%s.state", dir, MAC);
	write_file(path, big, strlen(big));
	/* the same adapter in both spellings: the newer (new) name wins */
	snprintf(path, sizeof(path), "%s/00:15:5d:00:00:02.state", dir);
	write_file(path, "mac=00:15:5d:00:00:02\ndetail=old\n", 33);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, old_times, 0), 0);
	snprintf(other, sizeof(other), "%s/00155d000002.state", dir);
	write_file(other, "mac=00:15:5d:00:00:02\ndetail=new\n", 33);
	/* a symbolic link in the old spelling is not followed nor moved */
	snprintf(path, sizeof(path), "%s/00:15:5d:00:00:03.state", dir);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);

	ck_assert_int_eq(state_migrate_names(dir), 1);
	snprintf(path, sizeof(path), "%s/%s.state", dir, MAC);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(state_load(dir, MAC, &back), 0);
	ck_assert_str_eq(back.detail, st.detail);
	snprintf(path, sizeof(path), "%s/00:15:5d:00:00:02.state", dir);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(state_load(dir, "00:15:5d:00:00:02", &back), 0);
	ck_assert_str_eq(back.detail, "new");
	snprintf(path, sizeof(path), "%s/00:15:5d:00:00:03.state", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	/* idempotent */
	ck_assert_int_eq(state_migrate_names(dir), 0);
}
END_TEST

/* The manual record round-trips and is apart from the host's. */
START_TEST(test_manual_record)
{
	struct adapter_state st, back;

	sample(&st);
	st.manual_usec = 1234567;
	strcpy(st.manual_user, "admin (uid 1000, via sudo)");
	strcpy(st.manual.ip_addr, "192.0.2.7");
	strcpy(st.manual.sub_net, "24");
	st.manual_result = 0x80070057;
	strcpy(st.manual_detail, "rejected\x01");
	strcpy(st.manual_backend, "netlink");
	st.applied_manual = true;
	ck_assert_int_eq(state_format(&st, big, sizeof(big)), 0);
	ck_assert_int_eq(state_parse(big, &back), 0);
	ck_assert_uint_eq(back.manual_usec, 1234567);
	ck_assert_str_eq(back.manual_user, st.manual_user);
	ck_assert_str_eq(back.manual.ip_addr, "192.0.2.7");
	ck_assert_uint_eq(back.manual_result, 0x80070057);
	ck_assert_str_eq(back.manual_detail, st.manual_detail);
	ck_assert(back.applied_manual);
	ck_assert_str_eq(back.host.ip_addr, st.host.ip_addr);
}
END_TEST

Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc;

	tc = tcase_create("text");
	tcase_add_test(tc, test_round_trip_plain);
	tcase_add_test(tc, test_round_trip_hostile);
	tcase_add_test(tc, test_round_trip_every_byte);
	tcase_add_test(tc, test_format_small_buffer);
	tcase_add_test(tc, test_parse_unknown_keys_comments);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_parse_field_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, test_setup, NULL);
	tcase_add_test(tc, test_round_trip_max_length);
	tcase_add_test(tc, test_save_load);
	tcase_add_test(tc, test_save_atomic);
	tcase_add_test(tc, test_load_bad_files);
	tcase_add_test(tc, test_load_oversized);
	tcase_add_test(tc, test_bad_mac);
	tcase_add_test(tc, test_empty_mac);
	tcase_add_test(tc, test_save_over_symlink);
	tcase_add_test(tc, test_foreach);
	tcase_add_test(tc, test_migrate_names);
	tcase_add_test(tc, test_manual_record);
	suite_add_tcase(s, tc);
	return s;
}

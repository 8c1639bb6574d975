/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backend-ifupdown.c - failover settings for links Debian's ifupdown configures: applied through netlink, persisted as ifupdown stanzas. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "backend.h"
#include "backend-ifupdown.h"
#include "dns.h"
#include "log.h"
#include "netlink.h"
#include "util.h"

extern const struct backend_ops backend_netlink_ops;

/*
 * ifupdown has no daemon to ask and no API: it reads /etc/network/interfaces
 * (and the files that one `source`s or `source-directory`s) whenever ifup
 * runs, at boot from networking.service. A failover applied only to the
 * kernel is undone there: ifup puts the administrator's address and default
 * route (metric 0) back next to ours. So:
 *
 *   apply     the netlink backend's apply, unchanged (the kernel now);
 *   verify    the netlink backend's verify;
 *   persist   the administrator's stanzas for the interface (every
 *             `iface IF inet|inet6 ...` with its option lines) are disabled
 *             in place: each line gets the marker "#hvkvpd-off MAC " in
 *             front, never deleted; our stanzas go to
 *             <dir of a `source`d glob or `source-directory`>/hvkvpd-<mac>
 *             when the interfaces file sources one, else into interfaces
 *             itself between "# hvkvpd MAC begin" and "# hvkvpd MAC end".
 *             Ours first, then the disabling, each file atomically (a
 *             dot-named temporary file no glob or source-directory picks
 *             up, owner and mode kept, fsync, rename, fsync of the dir).
 *             When ifupdown's state (/run/network/ifstate) does not list
 *             the interface as up, it is added, as ifup would have: the
 *             link does hold the stanza's settings, and without the entry
 *             ifdown refuses ("not configured") and ifup fails on the
 *             addresses it finds already there;
 *   rollback  the files back as they were, then the netlink rollback;
 *   revert    the marker taken off the administrator's lines, our stanzas
 *             removed, and the link given back (netlink) what it held
 *             before the first failover.
 *
 * After that, ifdown/ifup, `systemctl restart networking` and a reboot (in
 * either order with hvkvpd: the daemon does not re-apply what ifupdown
 * keeps) all give exactly the failover settings.
 *
 * Nothing the host sent reaches the files as text: addresses are printed
 * from the parsed binary values, the interface name comes from the kernel
 * and is checked to be a plain word, the MAC from sysfs.
 */

#define IFU_DEFAULT_DIR "/etc/network"
#define IFU_RUN_DIR "/run/network"
#define IFU_MAX_FILES 64
#define IFU_FILE_MAX (256 * 1024)
#define IFU_DEPTH_MAX 8
#define IFU_OFF "#hvkvpd-off "
#define IFU_FILE_PREFIX "hvkvpd-"
/* ifupdown's lock of its state file, waited for this long at most. */
#define IFU_LOCK_USEC (2 * 1000 * 1000ULL)
/* ifupdown's lock of one interface, held by ifup or ifdown while they
 * configure it (a static stanza well under a second, DHCP longer), is
 * waited for until this long before the transaction's deadline. */
#define IFU_AFTER_LOCK_USEC (2 * 1000 * 1000ULL)

struct ifu_file {
	char path[PATH_MAX];
	char *text; /* NULL: the file does not exist (our target only) */
	struct stat st;
	bool ours; /* our hvkvpd-<mac> file */
};

struct ifu_config {
	char dir[PATH_MAX]; /* /etc/network or the test's */
	size_t n;
	struct ifu_file files[IFU_MAX_FILES]; /* [0]: interfaces */
	char target[PATH_MAX];		      /* our file, or interfaces (block) */
	bool target_is_main;
};

struct ifu {
	struct nl_sock *sk; /* first: the netlink backend's ops use it (see below) */
};

_Static_assert(offsetof(struct ifu, sk) == 0, "sk first");

struct ifu_snapshot {
	void *nl;		/* the netlink backend's snapshot */
	struct ifu_config *cfg; /* every file as it was */
	char *new_text[IFU_MAX_FILES + 1]; /* what persist writes ([n]: target when new) */
	bool written[IFU_MAX_FILES + 1];
	char target_note[PATH_MAX + 8];
	int lock; /* ifupdown's ifstate.IF, locked (see iface_lock()), or -1 */
	bool state_marked; /* persist recorded IF as up, it was not before */
};

/* ---- text helpers ------------------------------------------------------------------ */

struct sbuf {
	char *buf;
	size_t len, size;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->size) {
		size_t size = MAX(b->size * 2, b->len + n + 256);
		char *p = realloc(b->buf, size);

		if (!p) {
			b->oom = true;
			return;
		}
		b->buf = p;
		b->size = size;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static void _printf_(2, 3) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		b->oom = true; /* never a cut line in a configuration file */
	else
		sb_add(b, line, (size_t)n);
}

static char *sb_take(struct sbuf *b)
{
	if (b->oom) {
		free(b->buf);
		return NULL;
	}
	if (!b->buf)
		return strdup("");
	return b->buf;
}

/* The n-th blank-separated word of line (up to the end of the line). */
static bool word(const char *line, const char *end, unsigned n, const char **ret, size_t *ret_len)
{
	const char *p = line;

	for (unsigned i = 0;; i++) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= end)
			return false;
		const char *w = p;
		while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (i == n) {
			*ret = w;
			*ret_len = (size_t)(p - w);
			return true;
		}
	}
}

static bool word_is(const char *line, const char *end, unsigned n, const char *s)
{
	const char *w;
	size_t len;

	return word(line, end, n, &w, &len) && len == strlen(s) && memcmp(w, s, len) == 0;
}

/* A line that starts a new stanza (so it ends the previous one). */
static bool stanza_start(const char *line, const char *end)
{
	static const char *const kw[] = { "iface", "mapping", "auto", "source", "source-directory",
					  "rename", "template" };
	const char *w;
	size_t len;

	if (!word(line, end, 0, &w, &len))
		return false;
	if (len > 6 && memcmp(w, "allow-", 6) == 0)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(kw); i++)
		if (len == strlen(kw[i]) && memcmp(w, kw[i], len) == 0)
			return true;
	return false;
}

static bool blank_or_comment(const char *line, const char *end)
{
	while (line < end && (*line == ' ' || *line == '\t' || *line == '\r'))
		line++;
	return line >= end || *line == '#';
}

static const char *line_end(const char *p)
{
	const char *e = strchr(p, '\n');
	return e ? e : p + strlen(p);
}

static void block_marks(const char *mac, char *begin, size_t bsize, char *end, size_t esize)
{
	snprintf(begin, bsize, "# hvkvpd %s begin", mac);
	snprintf(end, esize, "# hvkvpd %s end", mac);
}

static bool line_starts(const char *line, const char *end, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(end - line) >= n && memcmp(line, s, n) == 0;
}

/* The MAC as every file hvkvpd names after an adapter spells it
 * (adapter_mac_key(): "00155d000001"); the sysfs spelling for a MAC that
 * is not 6 octets (only hex digits and ':' either way). */
static const char *mkey(const struct adapter *a, char buf[ADAPTER_MAC_KEY_SIZE])
{
	return adapter_mac_key(a->mac, buf, ADAPTER_MAC_KEY_SIZE) < 0 ? a->mac : buf;
}

/* ---- reading ifupdown's configuration ------------------------------------------------ */

/* A path as a file names it: relative to that file's directory; the
 * default directory is the test's when one is set. */
static int map_path(const struct ifu_config *cfg, const char *from_file, const char *p, size_t len,
		    char *buf, size_t size)
{
	char raw[PATH_MAX];
	size_t dl = strlen(IFU_DEFAULT_DIR);

	if (len == 0 || len >= sizeof(raw))
		return -EINVAL;
	memcpy(raw, p, len);
	raw[len] = '\0';
	if (raw[0] != '/') {
		const char *slash = strrchr(from_file, '/');
		int n = (int)(slash ? slash - from_file : 0);

		if ((size_t)snprintf(buf, size, "%.*s/%s", n, from_file, raw) >= size)
			return -ENAMETOOLONG;
		return 0;
	}
	if (!streq(cfg->dir, IFU_DEFAULT_DIR) && strncmp(raw, IFU_DEFAULT_DIR, dl) == 0 &&
	    (raw[dl] == '/' || raw[dl] == '\0')) {
		if ((size_t)snprintf(buf, size, "%s%s", cfg->dir, raw + dl) >= size)
			return -ENAMETOOLONG;
		return 0;
	}
	return strscpy(buf, size, raw) < 0 ? -ENAMETOOLONG : 0;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* n is not empty and holds only ASCII letters, digits and characters of
 * extra. */
static bool word_of(const char *n, const char *extra)
{
	if (!*n)
		return false;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
		      strchr(extra, *n)))
			return false;
	return true;
}

/* source-directory's rule for the names it reads: ^[a-zA-Z0-9_-]+$ */
static bool sourceable_name(const char *n)
{
	return word_of(n, "_-");
}

static int load_file(struct ifu_config *cfg, const char *path, const char *own_name, unsigned depth);

static int load_dir(struct ifu_config *cfg, const char *dir, const char *own_name, unsigned depth)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, alphasort), r = 0;

	if (n < 0)
		return errno == ENOENT ? 0 : negative_errno();
	for (int i = 0; i < n; i++) {
		char p[PATH_MAX];

		if (r == 0 && sourceable_name(ents[i]->d_name) &&
		    (size_t)snprintf(p, sizeof(p), "%s/%s", dir, ents[i]->d_name) < sizeof(p))
			r = load_file(cfg, p, own_name, depth + 1);
		free(ents[i]);
	}
	free(ents);
	return r;
}

static int load_source_lines(struct ifu_config *cfg, size_t idx, const char *own_name, unsigned depth)
{
	char path[PATH_MAX];
	int r;

	for (const char *l = cfg->files[idx].text; *l;) {
		const char *e = line_end(l), *w;
		size_t len;

		if (word_is(l, e, 0, "source") && word(l, e, 1, &w, &len)) {
			glob_t g;

			r = map_path(cfg, cfg->files[idx].path, w, len, path, sizeof(path));
			if (r < 0)
				return r;
			if (glob(path, GLOB_NOCHECK, NULL, &g) == 0) {
				for (size_t i = 0; i < g.gl_pathc; i++) {
					struct stat st;

					if (stat(g.gl_pathv[i], &st) < 0 || !S_ISREG(st.st_mode))
						continue;
					r = load_file(cfg, g.gl_pathv[i], own_name, depth + 1);
					if (r < 0) {
						globfree(&g);
						return r;
					}
				}
				globfree(&g);
			}
		} else if (word_is(l, e, 0, "source-directory") && word(l, e, 1, &w, &len)) {
			r = map_path(cfg, cfg->files[idx].path, w, len, path, sizeof(path));
			if (r < 0)
				return r;
			r = load_dir(cfg, path, own_name, depth);
			if (r < 0)
				return r;
		}
		l = *e ? e + 1 : e;
	}
	return 0;
}

static int load_file(struct ifu_config *cfg, const char *path, const char *own_name, unsigned depth)
{
	struct ifu_file *f;
	const char *base;
	size_t len;
	int r;

	if (depth > IFU_DEPTH_MAX)
		return 0;
	for (size_t i = 0; i < cfg->n; i++)
		if (streq(cfg->files[i].path, path))
			return 0; /* sourced twice (or a loop): read once */
	if (cfg->n >= IFU_MAX_FILES)
		return log_error_errno(-E2BIG, "ifupdown's configuration spans more than %d files",
				       IFU_MAX_FILES);
	f = &cfg->files[cfg->n];
	memset(f, 0, sizeof(*f));
	if (strscpy(f->path, sizeof(f->path), path) < 0)
		return -ENAMETOOLONG;
	r = read_file_bounded(path, 0, IFU_FILE_MAX, &f->text, &len);
	if (r < 0)
		return r;
	if (strlen(f->text) != len) {
		/* a rewrite would cut the file at the NUL: leave it alone */
		free(f->text);
		f->text = NULL;
		return log_error_errno(-EBADMSG, "%s holds a NUL byte; not an ifupdown file hvkvpd edits",
				       path);
	}
	if (stat(path, &f->st) < 0) {
		r = negative_errno();
		free(f->text);
		f->text = NULL;
		return r;
	}
	base = strrchr(path, '/');
	f->ours = streq(base ? base + 1 : path, own_name);
	cfg->n++;
	return load_source_lines(cfg, cfg->n - 1, own_name, depth);
}

static struct ifu_config *config_free(struct ifu_config *cfg)
{
	if (cfg) {
		for (size_t i = 0; i < cfg->n; i++)
			free(cfg->files[i].text);
		free(cfg);
	}
	return NULL;
}

static void own_name(const struct adapter *a, char *buf, size_t size)
{
	char key[ADAPTER_MAC_KEY_SIZE];
	size_t n = (size_t)snprintf(buf, size, IFU_FILE_PREFIX);

	/* source-directory reads only [A-Za-z0-9_-] names: no ':' */
	for (const char *p = mkey(a, key); *p && n + 1 < size; p++)
		if (*p != ':')
			buf[n++] = *p;
	buf[n] = '\0';
}

/* Where our stanzas go: a directory the main file sources as a whole
 * (`source-directory D`, or `source D/<glob>` whose glob takes our name);
 * else the main file itself. */
static void pick_target(struct ifu_config *cfg, const char *name)
{
	const struct ifu_file *m = &cfg->files[0];
	char path[PATH_MAX], cand[PATH_MAX];

	for (const char *l = m->text; *l;) {
		const char *e = line_end(l), *w;
		size_t len;
		bool dir = word_is(l, e, 0, "source-directory");
		struct stat st;

		if ((dir || word_is(l, e, 0, "source")) && word(l, e, 1, &w, &len) &&
		    map_path(cfg, m->path, w, len, path, sizeof(path)) == 0) {
			char *slash = strrchr(path, '/');

			if (dir && !has_glob(path) &&
			    (size_t)snprintf(cand, sizeof(cand), "%s/%s", path, name) < sizeof(cand) &&
			    stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
				strscpy(cfg->target, sizeof(cfg->target), cand);
				return;
			}
			if (!dir && slash && slash != path) {
				*slash = '\0';
				if (!has_glob(path) && fnmatch(slash + 1, name, FNM_PERIOD) == 0 &&
				    (size_t)snprintf(cand, sizeof(cand), "%s/%s", path, name) < sizeof(cand) &&
				    stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
					strscpy(cfg->target, sizeof(cfg->target), cand);
					return;
				}
			}
		}
		l = *e ? e + 1 : e;
	}
	strscpy(cfg->target, sizeof(cfg->target), m->path);
	cfg->target_is_main = true;
}

static int config_load(struct backend *b, const struct adapter *a, struct ifu_config **ret)
{
	struct ifu_config *cfg = calloc(1, sizeof(*cfg));
	char path[PATH_MAX], name[32];
	int r;

	if (!cfg)
		return -ENOMEM;
	strscpy(cfg->dir, sizeof(cfg->dir), b->paths.ifupdown_dir ?: IFU_DEFAULT_DIR);
	strprintf(path, sizeof(path), "%s/interfaces", cfg->dir);
	own_name(a, name, sizeof(name));
	r = load_file(cfg, path, name, 0);
	if (r < 0) {
		config_free(cfg);
		return r;
	}
	pick_target(cfg, name);
	*ret = cfg;
	return 0;
}

/* What the configuration says about the interface. */
struct ifu_facts {
	unsigned admin_stanzas;	  /* active `iface IF ...` outside ours */
	unsigned managed_stanzas; /* ... of them with a method other than manual */
	bool dhcp;		  /* one of them is `inet dhcp` */
	bool auto_line;		  /* an auto/allow-auto/allow-hotplug line names IF */
	bool disabled;		  /* lines we disabled for this MAC */
	bool ours;		  /* our file or block exists */
};

static void scan(const struct ifu_config *cfg, const struct adapter *a, struct ifu_facts *f)
{
	char begin[64], endm[64], off[64], key[ADAPTER_MAC_KEY_SIZE];

	memset(f, 0, sizeof(*f));
	block_marks(mkey(a, key), begin, sizeof(begin), endm, sizeof(endm));
	snprintf(off, sizeof(off), IFU_OFF "%s ", mkey(a, key));
	for (size_t i = 0; i < cfg->n; i++) {
		const struct ifu_file *file = &cfg->files[i];
		bool in_block = false;

		if (file->ours) {
			f->ours = true;
			continue;
		}
		for (const char *l = file->text; *l;) {
			const char *e = line_end(l), *w;
			size_t len;

			if (line_starts(l, e, begin))
				in_block = f->ours = true;
			else if (line_starts(l, e, endm))
				in_block = false;
			else if (line_starts(l, e, off))
				f->disabled = true;
			else if (!in_block && word_is(l, e, 0, "iface") && word_is(l, e, 1, a->ifname)) {
				f->admin_stanzas++;
				if (!word_is(l, e, 3, "manual"))
					f->managed_stanzas++;
				if (word_is(l, e, 2, "inet") && word_is(l, e, 3, "dhcp"))
					f->dhcp = true;
			} else if (!in_block && word(l, e, 0, &w, &len) &&
				   ((len == 4 && !memcmp(w, "auto", 4)) ||
				    (len == 10 && !memcmp(w, "allow-auto", 10)) ||
				    (len == 13 && !memcmp(w, "allow-hotplug", 13)))) {
				for (unsigned k = 1; word(l, e, k, &w, &len); k++)
					if (len == strlen(a->ifname) && !memcmp(w, a->ifname, len))
						f->auto_line = true;
			}
			l = *e ? e + 1 : e;
		}
	}
}

/* ---- the text changes ---------------------------------------------------------------- */

/* text with every line of the interface's stanzas outside our block
 * disabled (marker in front); NULL on OOM. *changed: anything disabled. */
char *ifu_disable_stanzas(const char *text, const struct adapter *a, bool *changed)
{
	struct sbuf b = { 0 };
	char begin[64], endm[64], off[64], key[ADAPTER_MAC_KEY_SIZE];
	bool in_block = false, in_stanza = false;

	block_marks(mkey(a, key), begin, sizeof(begin), endm, sizeof(endm));
	snprintf(off, sizeof(off), IFU_OFF "%s ", mkey(a, key));
	for (const char *l = text; *l;) {
		const char *e = line_end(l);
		size_t n = (size_t)(e - l) + (*e ? 1 : 0);

		if (line_starts(l, e, begin))
			in_block = true;
		else if (line_starts(l, e, endm))
			in_block = false;
		if (!in_block && stanza_start(l, e))
			in_stanza = word_is(l, e, 0, "iface") && word_is(l, e, 1, a->ifname);
		if (!in_block && in_stanza && !blank_or_comment(l, e)) {
			sb_add(&b, off, strlen(off));
			*changed = true;
		}
		sb_add(&b, l, n);
		l += n;
	}
	return sb_take(&b);
}

/* text with our marker taken off the lines of this MAC and our block
 * removed, then `block` (if any) appended. NULL on OOM. */
char *ifu_restore_and_block(const char *text, const struct adapter *a, const char *block,
			    bool *changed)
{
	struct sbuf b = { 0 };
	char begin[64], endm[64], off[64], key[ADAPTER_MAC_KEY_SIZE];
	bool in_block = false;

	block_marks(mkey(a, key), begin, sizeof(begin), endm, sizeof(endm));
	snprintf(off, sizeof(off), IFU_OFF "%s ", mkey(a, key));
	for (const char *l = text; *l;) {
		const char *e = line_end(l);
		size_t n = (size_t)(e - l) + (*e ? 1 : 0);

		if (line_starts(l, e, begin)) {
			in_block = true;
			*changed = true;
		} else if (in_block) {
			if (line_starts(l, e, endm))
				in_block = false;
		} else if (line_starts(l, e, off)) {
			sb_add(&b, l + strlen(off), n - strlen(off));
			*changed = true;
		} else
			sb_add(&b, l, n);
		l += n;
	}
	if (block) {
		if (b.len && b.buf[b.len - 1] != '\n')
			sb_add(&b, "\n", 1);
		sb_add(&b, block, strlen(block));
		*changed = true;
	}
	return sb_take(&b);
}

/* An interface name goes into the file as a plain word only. */
static bool ifname_plain(const char *n)
{
	return word_of(n, "_-.");
}

static bool resolvconf_in_use(void)
{
	char target[PATH_MAX];
	ssize_t n = readlink(DNS_RESOLV_CONF, target, sizeof(target) - 1);

	if (n <= 0)
		return false;
	target[n] = '\0';
	return strstr(target, "resolvconf") != NULL;
}

/* Our stanzas: one `iface IF inet static` per IPv4 address (ifupdown's
 * documented way to several addresses), `inet dhcp` when the host asks
 * for DHCP, one `inet6 static` per IPv6 address. The host's gateways go
 * with ifupdown's own `gateway` + `metric` options to the stanzas of their
 * family in order, with the metrics every backend gives them; those left
 * over become up/down lines of the family's first stanza. Everything is
 * printed from binary values. */
int ifu_render_stanzas(const struct adapter *a, const struct failover_settings *s, bool add_auto,
		       bool with_dns, const char *where, char **ret)
{
	struct sbuf b = { 0 };
	char ip[INET6_ADDRSTRLEN];
	size_t n_st[2] = { 0, 0 }, gw_used[2] = { 0, 0 };
	char key[ADAPTER_MAC_KEY_SIZE];
	bool dns_done = false;

	if (!ifname_plain(a->ifname))
		return log_error_errno(-EOPNOTSUPP,
				       "%s: the interface name cannot be written into ifupdown's configuration",
				       a->ifname);
	sb_printf(&b, "# Written by hvkvpd: the Hyper-V host's failover settings for %s (%s).\n",
		  mkey(a, key), a->ifname);
	sb_printf(&b, "# The administrator's own stanzas are kept, disabled (\"" IFU_OFF "%s\" lines)%s.\n",
		  mkey(a, key), where);
	sb_printf(&b, "# `hvkvpctl revert %s` brings them back and removes these.\n", a->ifname);
	if (add_auto)
		sb_printf(&b, "auto %s\n", a->ifname);

	for (unsigned pass = 0; pass < 2; pass++) {
		int fam = pass == 0 ? AF_INET : AF_INET6;

		if (fam == AF_INET && s->dhcp4) {
			sb_printf(&b, "iface %s inet dhcp\n", a->ifname);
			n_st[0]++;
			/* DHCP gives the IPv4 address; host gateways follow as up lines */
		}
		for (size_t i = 0; i < s->n_addrs; i++) {
			const struct failover_addr *x = &s->addrs[i];
			size_t g;

			if (x->family != fam || (fam == AF_INET && s->dhcp4))
				continue;
			sb_printf(&b, "iface %s %s static\n", a->ifname, fam == AF_INET ? "inet" : "inet6");
			sb_printf(&b, "\taddress %s/%u\n",
				  failover_ip_to_string(fam, &x->addr, ip, sizeof(ip)), x->prefixlen);
			/* the next gateway of this family, natively */
			for (g = 0; g < s->n_gateways; g++) {
				size_t seen = 0;

				if (s->gateways[g].family != fam)
					continue;
				for (size_t k = 0; k < g; k++)
					seen += s->gateways[k].family == fam;
				if (seen == gw_used[pass])
					break;
			}
			if (g < s->n_gateways) {
				sb_printf(&b, "\tgateway %s\n\tmetric %u\n",
					  failover_ip_to_string(fam, &s->gateways[g].addr, ip, sizeof(ip)),
					  link_gateway_metric(s, g));
				gw_used[pass]++;
			}
			if (with_dns && !dns_done && s->n_dns) {
				sb_printf(&b, "\tdns-nameservers");
				for (size_t k = 0; k < s->n_dns; k++)
					sb_printf(&b, " %s",
						  failover_ip_to_string(s->dns[k].family, &s->dns[k].addr,
									ip, sizeof(ip)));
				sb_printf(&b, "\n");
				dns_done = true;
			}
			n_st[pass]++;
		}
		/* the gateways no stanza took: up/down lines (ip(8) from
		 * iproute2, which ifupdown itself runs for `gateway`) */
		size_t seen = 0;
		for (size_t g = 0; g < s->n_gateways; g++) {
			if (s->gateways[g].family != fam || seen++ < gw_used[pass])
				continue;
			failover_ip_to_string(fam, &s->gateways[g].addr, ip, sizeof(ip));
			if (n_st[pass] == 0)
				sb_printf(&b, "iface %s %s manual\n", a->ifname,
					  fam == AF_INET ? "inet" : "inet6");
			sb_printf(&b, "\tup ip %s route add default via %s metric %u dev %s onlink\n",
				  fam == AF_INET ? "-4" : "-6", ip, link_gateway_metric(s, g), a->ifname);
			sb_printf(&b, "\tdown ip %s route del default via %s metric %u dev %s || true\n",
				  fam == AF_INET ? "-4" : "-6", ip, link_gateway_metric(s, g), a->ifname);
			if (n_st[pass] == 0)
				n_st[pass]++; /* the manual stanza takes the rest */
		}
	}
	*ret = sb_take(&b);
	return *ret ? 0 : -ENOMEM;
}

/* ---- writing ------------------------------------------------------------------------ */

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	_cleanup_close_ int fd = -1;

	strscpy(dir, sizeof(dir), path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = slash == dir ? '/' : '\0';
	if (slash == dir)
		slash[1] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return negative_errno();
	return 0;
}

/* Replaces path with text atomically: a temporary file whose name starts
 * with a dot (neither `source dir/ *` nor source-directory reads it) in
 * the same directory, given the old file's mode and owner (0644 root for a
 * new one), fsync'ed, renamed over path; then the directory is synced. */
static int write_atomic_keep(const char *path, const char *text, const struct stat *old)
{
	char tmp[PATH_MAX + 32];
	const char *slash = strrchr(path, '/');
	int r;

	if (!slash)
		return -EINVAL;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%.*s/.hvkvpd-tmp-XXXXXX", (int)(slash - path), path) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	r = write_file_replace(path, tmp, text, old ? (old->st_mode & 07777) : 0644, old);
	return r < 0 ? r : fsync_dir_of(path);
}

/* The file itself rewritten (write, truncate, fsync): not atomic; for when
 * only the file is writable, as under hvkvpd.service, whose
 * ReadWritePaths= names /etc/network/interfaces but not /etc/network (a
 * writable /etc/network would let the daemon change the if-up.d scripts
 * ifup runs as root). */
static int write_in_place(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	size_t len = strlen(text);
	int r;

	if (fd < 0)
		return negative_errno();
	r = pwrite_full(fd, text, len, 0);
	if (r == 0 && ftruncate(fd, (off_t)len) < 0)
		r = negative_errno();
	if (r == 0 && fsync(fd) < 0)
		r = negative_errno();
	return r;
}

/* Atomically where the directory allows it, else in place (an existing
 * regular file in a read-only directory, or a file that is a mount point). */
static int write_config_file(const char *path, const char *text, const struct stat *old)
{
	int r = write_atomic_keep(path, text, old);

	if (old && S_ISREG(old->st_mode) && (r == -EROFS || r == -EBUSY || r == -EXDEV || r == -EACCES))
		return write_in_place(path, text);
	return r;
}

static int remove_file(const char *path)
{
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	return fsync_dir_of(path);
}

/* ---- ifupdown's state and its locks ----------------------------------------------------
 *
 * ifup and ifdown keep what is up in /run/network: `IF=LOGICAL` lines in
 * ifstate, rewritten under an fcntl write lock on .ifstate.lock; and per
 * interface ifstate.IF, which holds LOGICAL while IF is up (nothing once
 * down) and carries an fcntl write lock while ifup or ifdown configure IF.
 * An ifup that gets that lock and finds a name in the file says "already
 * configured" and leaves the interface alone.
 *
 * So an apply (and a revert) holds ifstate.IF's lock from before its
 * snapshot to its end, as ifup would: an ifup already at work on IF
 * (networking.service at boot, ifup@IF from udev, an administrator) is
 * waited for, and what it added is in the snapshot and replaced; one that
 * comes later, even with the administrator's stanza read before it was
 * disabled, finds IF configured and does nothing.
 */

/* An fcntl write lock on fd, as ifupdown takes its locks, tried every
 * 20 ms until `until` (once when that has passed): 0, -EBUSY when still
 * held, < 0 on other errors. */
static int write_lock_until(int fd, uint64_t until)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	while (fcntl(fd, F_SETLK, &fl) < 0) {
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return negative_errno();
		if (now_usec() >= until)
			return -EBUSY;
		usleep(20 * 1000);
	}
	return 0;
}

/* Opens and locks ifstate.IF, waiting for an ifup or ifdown at work until
 * `until` (at least one try): 1 and the descriptor; 0 and -1 when ifupdown
 * has no run directory (not installed: the unit's ExecStartPre= makes
 * it otherwise); < 0 on errors, -EBUSY when still held. */
static int iface_lock(const char *ifname, uint64_t until, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX];
	struct stat st;
	int r;

	*ret_fd = -1;
	if (stat(IFU_RUN_DIR, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	snprintf(path, sizeof(path), IFU_RUN_DIR "/ifstate.%s", ifname);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return negative_errno();
	r = write_lock_until(fd, 0);
	if (r == -EBUSY) {
		log_info("%s: ifup or ifdown is configuring the interface (it holds %s); waiting for it",
			 ifname, path);
		r = write_lock_until(fd, until);
		if (r == 0)
			log_info("%s: ifupdown is done with the interface", ifname);
	}
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 1;
}

/* Until when a transaction ending at `deadline` waits for ifupdown's lock:
 * what it does after still fits. */
static uint64_t iface_lock_until(uint64_t deadline)
{
	uint64_t now = now_usec();

	return deadline > now + IFU_AFTER_LOCK_USEC ? deadline - IFU_AFTER_LOCK_USEC : now;
}

/* What ifstate.IF (fd, locked) holds, first line, spaces cut. */
static void iface_state_read(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);
	char *e;

	buf[n > 0 ? n : 0] = '\0';
	e = buf + strcspn(buf, "\n");
	while (e > buf && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
}

/* ifstate.IF's new content: through the locked descriptor, in place (where
 * ifup's own lock is), or, without one, replaced. */
static int iface_state_write(const char *ifname, int fd, const char *text)
{
	char path[PATH_MAX];
	size_t len = strlen(text);

	if (fd < 0) {
		snprintf(path, sizeof(path), IFU_RUN_DIR "/ifstate.%s", ifname);
		return write_file_atomic(path, text, 0644);
	}
	if (ftruncate(fd, 0) < 0)
		return negative_errno();
	errno = 0;
	if (len && pwrite(fd, text, len, 0) != (ssize_t)len)
		return errno ? negative_errno() : -EIO;
	return 0;
}

/* ifupdown's record of IF. up: exactly `IF=IF` in ifstate and IF in
 * ifstate.IF (the stanzas named IF are ours now, whatever logical name ifup
 * used before); !up: both taken out. `fd` is ifstate.IF, locked, or -1.
 * *was_up (optional): whether IF was recorded as up before. 1 when
 * something changed. */
static int ifstate_set(const char *ifname, int fd, bool up, bool *was_up)
{
	char prefix[64], one[64], cur[80], line[128];
	_cleanup_free_ char *text = NULL, *out = NULL;
	_cleanup_close_ int lock = -1;
	struct sbuf b = { 0 };
	bool listed = false, exact = false, changed = false;
	struct stat st;
	int r;

	if (was_up)
		*was_up = false;
	if (stat(IFU_RUN_DIR, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0; /* no ifupdown here: it starts from the stanzas */
	cur[0] = '\0';
	if (fd >= 0)
		iface_state_read(fd, cur, sizeof(cur));
	if (fd < 0 || !streq(cur, up ? ifname : "")) {
		snprintf(one, sizeof(one), "%s\n", ifname);
		r = iface_state_write(ifname, fd, up ? one : "");
		if (r < 0)
			return r;
		changed = true;
	}
	lock = open(IFU_RUN_DIR "/.ifstate.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (lock < 0)
		return negative_errno();
	r = write_lock_until(lock, now_usec() + IFU_LOCK_USEC);
	if (r < 0)
		return r;
	r = read_file_bounded(IFU_RUN_DIR "/ifstate", 0, 64 * 1024, &text, NULL);
	if (r == -ENOENT) {
		text = strdup("");
		r = text ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	snprintf(prefix, sizeof(prefix), "%s=", ifname);
	snprintf(line, sizeof(line), "%s=%s", ifname, ifname);
	for (const char *l = text; *l;) {
		const char *e = line_end(l);
		size_t n = (size_t)(e - l) + (*e ? 1 : 0);

		if (line_starts(l, e, prefix)) {
			listed = true;
			exact |= (size_t)(e - l) == strlen(line) && line_starts(l, e, line);
		} else
			sb_add(&b, l, n);
		l += n;
	}
	if (was_up)
		*was_up = listed || !isempty(cur);
	if (up ? !(listed && exact) : listed) {
		if (up) {
			if (b.len && b.buf[b.len - 1] != '\n')
				sb_add(&b, "\n", 1);
			sb_printf(&b, "%s\n", line);
		}
		out = sb_take(&b);
		if (!out)
			return -ENOMEM;
		r = write_file_atomic(IFU_RUN_DIR "/ifstate", out, 0644);
		if (r < 0)
			return r;
		changed = true;
	} else
		free(b.buf);
	if (changed)
		log_info("%s: marked %s in ifupdown's state (%s), as if%s would have", ifname,
			 up ? "up" : "down", IFU_RUN_DIR, up ? "up" : "down");
	return changed;
}

/* ---- the ops ---------------------------------------------------------------------------- */

static int ifu_init(struct backend *b)
{
	return backend_nl_data_new(b, sizeof(struct ifu));
}

static void ifu_done(struct backend *b)
{
	backend_nl_data_free(b);
}

/* Ours when ifupdown's configuration holds a stanza for the interface
 * that configures it (any method but manual), or ours is there. */
static int ifu_probe(struct backend *b, const struct adapter *a)
{
	struct ifu_config *cfg = NULL;
	struct ifu_facts f;
	int r = config_load(b, a, &cfg);

	if (r == -ENOENT)
		return 0; /* no /etc/network/interfaces: no ifupdown here */
	if (r < 0)
		return log_error_errno(r, "%s: cannot read ifupdown's configuration", a->ifname);
	scan(cfg, a, &f);
	config_free(cfg);
	log_debug("%s: ifupdown: %u stanza(s), %u configuring it%s%s", a->ifname, f.admin_stanzas,
		  f.managed_stanzas, f.ours ? ", ours present" : "", f.disabled ? ", disabled ones" : "");
	return f.managed_stanzas > 0 || f.ours || f.disabled;
}

static void ifu_snapshot_free(struct backend *b, void *p)
{
	struct ifu_snapshot *snap = p;

	if (!snap)
		return;
	if (snap->nl)
		backend_netlink_ops.snapshot_free(b, snap->nl);
	for (size_t i = 0; i < ARRAY_SIZE(snap->new_text); i++)
		free(snap->new_text[i]);
	config_free(snap->cfg);
	safe_close(snap->lock); /* ifupdown may go on */
	free(snap);
}

/* The netlink backend's ops run with our struct backend: they only use its
 * socket, the first member of both private structs. */
static int ifu_snapshot(struct backend *b, const struct adapter *a, uint64_t deadline_usec,
			struct backend_result *res, void **ret)
{
	struct ifu_snapshot *snap = calloc(1, sizeof(*snap));
	int r;

	if (!snap)
		return -ENOMEM;
	snap->lock = -1;
	/* first: what an ifup at work adds is then in the snapshot */
	r = iface_lock(a->ifname, iface_lock_until(deadline_usec), &snap->lock);
	if (r == -EBUSY) {
		strprintf(res->failure, sizeof(res->failure),
			  "ifupdown is still configuring %s (ifup or ifdown holds its lock %s/ifstate.%s); nothing changed",
			  a->ifname, IFU_RUN_DIR, a->ifname);
		log_error("%s: %s", a->ifname, res->failure);
		goto fail;
	}
	if (r < 0)
		log_warning_errno(r, "%s: cannot take ifupdown's lock of the interface (%s/ifstate.%s): %s; an ifup running now may add its own settings",
				  a->ifname, IFU_RUN_DIR, a->ifname, strerror(-r));
	r = config_load(b, a, &snap->cfg);
	if (r < 0) {
		log_error_errno(r, "%s: cannot read ifupdown's configuration; nothing changed", a->ifname);
		goto fail;
	}
	r = backend_netlink_ops.snapshot(b, a, deadline_usec, res, &snap->nl);
	if (r < 0)
		goto fail;
	*ret = snap;
	return 0;
fail:
	ifu_snapshot_free(b, snap);
	return r;
}

/* Index of the target among the files, or cfg->n when it is new. */
static size_t target_index(const struct ifu_config *cfg)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (streq(cfg->files[i].path, cfg->target))
			return i;
	return cfg->n;
}

/* Computes every file's new text into snap->new_text (NULL: unchanged). */
static int plan_files(struct ifu_snapshot *snap, const struct adapter *a,
		      const struct failover_settings *s)
{
	struct ifu_config *cfg = snap->cfg;
	_cleanup_free_ char *stanzas = NULL;
	char where[PATH_MAX + 8];
	size_t t = target_index(cfg);
	struct ifu_facts f;
	bool auto_needed;
	int r;

	scan(cfg, a, &f);
	/* our own auto line counts only when we wrote it: look outside ours */
	auto_needed = !f.auto_line;
	where[0] = '\0';
	if (!cfg->target_is_main)
		strprintf(where, sizeof(where), " in %s and the files it sources", cfg->files[0].path);
	r = ifu_render_stanzas(a, s, auto_needed,
			   resolvconf_in_use() || bus_name_has_owner(NULL, "org.freedesktop.resolve1") > 0,
			   where, &stanzas);
	if (r < 0)
		return r;
	for (size_t i = 0; i < cfg->n; i++) {
		_cleanup_free_ char *clean = NULL;
		bool changed = false;
		char *text;

		if (cfg->files[i].ours)
			continue;
		/* from the administrator's text: our block of an earlier
		 * failover out (wherever it was), the stanzas disabled again */
		clean = ifu_restore_and_block(cfg->files[i].text, a, NULL, &changed);
		if (!clean)
			return -ENOMEM;
		text = ifu_disable_stanzas(clean, a, &changed);
		if (text && i == t) {
			struct sbuf all = { .buf = text, .len = strlen(text), .size = strlen(text) + 1 };
			char begin[64], endm[64], key[ADAPTER_MAC_KEY_SIZE];

			block_marks(mkey(a, key), begin, sizeof(begin), endm, sizeof(endm));
			if (all.len && text[all.len - 1] != '\n')
				sb_add(&all, "\n", 1);
			sb_printf(&all, "%s (do not edit: hvkvpctl revert removes it)\n", begin);
			sb_add(&all, stanzas, strlen(stanzas));
			sb_printf(&all, "%s\n", endm);
			text = sb_take(&all);
		}
		if (!text)
			return -ENOMEM;
		if (streq(text, cfg->files[i].text)) {
			free(text);
			continue;
		}
		snap->new_text[i] = text;
	}
	if (!cfg->target_is_main) {
		size_t k = t < cfg->n ? t : cfg->n;

		if (t < cfg->n && streq(cfg->files[t].text, stanzas))
			return 0;
		snap->new_text[k] = strdup(stanzas);
		if (!snap->new_text[k])
			return -ENOMEM;
	}
	return 0;
}

static int ifu_apply(struct backend *b, void *p, const struct adapter *a,
		     const struct failover_settings *s, uint64_t deadline_usec,
		     struct backend_result *res)
{
	struct ifu_snapshot *snap = p;
	bool files_change = false;
	size_t len;
	int r;

	/* what goes into the files is known before the kernel is touched */
	r = plan_files(snap, a, s);
	if (r < 0)
		return log_error_errno(r, "%s: cannot prepare ifupdown's configuration; nothing changed",
				       a->ifname);
	r = backend_netlink_ops.apply(b, snap->nl, a, s, deadline_usec, res);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(snap->new_text); i++)
		files_change |= snap->new_text[i] != NULL;
	if (files_change && !res->changed) {
		/* the kernel held it, the files did not: still a change */
		char detail[sizeof(res->detail)];

		strscpy(detail, sizeof(detail), res->detail);
		if (strncmp(detail, "unchanged: ", 11) == 0)
			snprintf(res->detail, sizeof(res->detail), "applied %s", detail + 11);
		res->changed = true;
	}
	len = strlen(res->detail);
	snprintf(res->detail + len, sizeof(res->detail) - len, " (%s)", snap->cfg->target);
	return 0;
}

static int ifu_verify(struct backend *b, void *p, const struct adapter *a,
		      const struct failover_settings *s, uint64_t deadline_usec,
		      struct backend_result *res)
{
	struct ifu_snapshot *snap = p;

	return backend_netlink_ops.verify(b, snap->nl, a, s, deadline_usec, res);
}

static int ifu_persist(struct backend *b, void *p, const struct adapter *a,
		       const struct failover_settings *s)
{
	struct ifu_snapshot *snap = p;
	struct ifu_config *cfg = snap->cfg;
	size_t t = target_index(cfg);
	bool was_up;
	int r;

	/* ours first: a crash in between leaves both stanzas rather than none */
	for (unsigned pass = 0; pass < 2; pass++)
		for (size_t i = 0; i <= cfg->n; i++) {
			const char *path = i < cfg->n ? cfg->files[i].path : cfg->target;

			if (!snap->new_text[i] || (pass == 0) != (i == t))
				continue;
			snap->written[i] = true;
			r = write_config_file(path, snap->new_text[i], i < cfg->n ? &cfg->files[i].st : NULL);
			if (r < 0)
				return log_error_errno(r, "%s: cannot write %s", a->ifname, path);
			log_info("%s: %s %s", a->ifname, i == t ? "failover stanzas written to" : "stanzas disabled in", path);
		}
	r = ifstate_set(a->ifname, snap->lock, true, &was_up);
	snap->state_marked = r > 0 && !was_up;
	if (r < 0)
		log_warning_errno(r, "%s: cannot record the interface as up in ifupdown's state; run `ifup --force %s` once if ifdown says it is not configured",
				  a->ifname, a->ifname);
	return 0;
}

static int ifu_rollback(struct backend *b, void *p, const struct adapter *a, uint64_t deadline_usec)
{
	struct ifu_snapshot *snap = p;
	struct ifu_config *cfg = snap->cfg;
	int r, first = 0;

	for (size_t i = 0; i <= cfg->n; i++) {
		if (!snap->written[i])
			continue;
		if (i < cfg->n)
			r = write_config_file(cfg->files[i].path, cfg->files[i].text, &cfg->files[i].st);
		else
			r = remove_file(cfg->target);
		if (r < 0) {
			log_error_errno(r, "%s: cannot restore %s", a->ifname,
					i < cfg->n ? cfg->files[i].path : cfg->target);
			if (!first)
				first = r;
		}
	}
	/* ifup must be able to bring the administrator's stanza up again */
	if (snap->state_marked && ifstate_set(a->ifname, snap->lock, false, NULL) < 0)
		log_warning("%s: cannot take the interface out of ifupdown's state again; `ifup --force %s` brings it up",
			    a->ifname, a->ifname);
	r = backend_netlink_ops.rollback(b, snap->nl, a, deadline_usec);
	return first ?: r;
}

static int ifu_query(struct backend *b, const struct adapter *a, struct backend_link_info *ret)
{
	return backend_netlink_ops.query(b, a, ret);
}

static int ifu_revert(struct backend *b, const struct adapter *a, const struct link_state *original,
		      bool dry_run, uint64_t deadline_usec, char *msg, size_t msg_size)
{
	struct ifu *u = b->data;
	struct ifu_config *cfg = NULL;
	char files[512] = "", was[200] = "";
	char *new_text[IFU_MAX_FILES] = { 0 };
	_cleanup_close_ int lock = -1;
	int r, first = 0;

	/* as for an apply: an ifup at work is waited for, a later one finds
	 * the interface as this leaves it */
	if (!dry_run) {
		r = iface_lock(a->ifname, iface_lock_until(deadline_usec), &lock);
		if (r == -EBUSY) {
			strprintf(msg, msg_size, "ifupdown is still configuring %s (its lock %s/ifstate.%s is held); nothing changed",
				  a->ifname, IFU_RUN_DIR, a->ifname);
			return log_error_errno(r, "%s: revert: %s", a->ifname, msg);
		}
		if (r < 0)
			log_warning_errno(r, "%s: revert: cannot take ifupdown's lock of the interface: %s",
					  a->ifname, strerror(-r));
	}
	r = config_load(b, a, &cfg);
	if (r < 0) {
		strprintf(msg, msg_size, "cannot read ifupdown's configuration: %s", strerror(-r));
		return log_error_errno(r, "%s: revert: %s", a->ifname, msg);
	}
	for (size_t i = 0; i < cfg->n; i++) {
		bool changed = false;

		if (cfg->files[i].ours) {
			(void)strlist_append(files, sizeof(files), cfg->files[i].path);
			continue;
		}
		new_text[i] = ifu_restore_and_block(cfg->files[i].text, a, NULL, &changed);
		if (!new_text[i]) {
			r = -ENOMEM;
			goto out;
		}
		if (!changed) {
			free(new_text[i]);
			new_text[i] = NULL;
		} else
			(void)strlist_append(files, sizeof(files), cfg->files[i].path);
	}
	if (original)
		backend_describe_link(original, was, sizeof(was));
	if (dry_run) {
		strprintf(msg, msg_size,
			  "would remove hvkvpd's stanzas and enable the administrator's again (%s)%s%s%s",
			  isempty(files) ? "nothing to change" : files,
			  original ? ", and give the link back what it held before the first failover (" : "",
			  original ? was : "", original ? ")" : "");
		r = 0;
		goto out;
	}
	/* the administrator's stanzas back first: a crash in between leaves
	 * both rather than none */
	for (size_t i = 0; i < cfg->n; i++) {
		if (!new_text[i])
			continue;
		r = write_config_file(cfg->files[i].path, new_text[i], &cfg->files[i].st);
		if (r < 0 && !first)
			first = log_error_errno(r, "%s: revert: cannot write %s", a->ifname,
						cfg->files[i].path);
	}
	for (size_t i = 0; i < cfg->n && !first; i++)
		if (cfg->files[i].ours) {
			r = remove_file(cfg->files[i].path);
			if (r < 0)
				first = log_error_errno(r, "%s: revert: cannot remove %s", a->ifname,
							cfg->files[i].path);
		}
	if (first) {
		strprintf(msg, msg_size, "cannot restore ifupdown's configuration: %s", strerror(-first));
		r = first;
		goto out;
	}
	if (original) {
		r = backend_netlink_restore(u->sk, a, original);
		/* a link that was down before the failover was not up by
		 * ifupdown either: ifup must be able to bring it up again */
		if (r == 0 && !(original->flags & IFF_UP) && ifstate_set(a->ifname, lock, false, NULL) < 0)
			log_warning("%s: cannot take the interface out of ifupdown's state; `ifup --force %s` brings it up",
				    a->ifname, a->ifname);
		if (r < 0) {
			strprintf(msg, msg_size,
				  "ifupdown's configuration is restored (%s), but the link is not: %s; `ifdown %s; ifup %s` applies it",
				  files, strerror(-r), a->ifname, a->ifname);
			goto out;
		}
		(void)dns_set(a->ifname, a->ifindex, NULL, 0, NULL);
		strprintf(msg, msg_size,
			  "restored the administrator's ifupdown stanzas (%s) and what the link held before the first failover (%s)",
			  files, was);
	} else {
		(void)dns_set(a->ifname, a->ifindex, NULL, 0, NULL);
		strprintf(msg, msg_size,
			  "restored the administrator's ifupdown stanzas (%s); the link keeps the failover addresses until `ifdown %s; ifup %s`",
			  files, a->ifname, a->ifname);
	}
	r = 0;
out:
	for (size_t i = 0; i < ARRAY_SIZE(new_text); i++)
		free(new_text[i]);
	config_free(cfg);
	return r;
}

const struct backend_ops backend_ifupdown_ops = {
	.name = "ifupdown",
	.keeps_config = true, /* its own files: networking.service applies them at boot */
	.init = ifu_init,
	.done = ifu_done,
	.probe = ifu_probe,
	.snapshot = ifu_snapshot,
	.apply = ifu_apply,
	.verify = ifu_verify,
	.persist = ifu_persist,
	.rollback = ifu_rollback,
	.snapshot_free = ifu_snapshot_free,
	.query = ifu_query,
	.revert = ifu_revert,
};

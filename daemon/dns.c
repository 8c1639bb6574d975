/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dns.c - DNS servers through systemd-resolved (sd-bus) or an atomic resolv.conf rewrite. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>

#include "backend.h"
#include "dns.h"
#include "log.h"
#include "sandbox.h"
#include "util.h"

#define RESOLVE_NAME "org.freedesktop.resolve1"
#define RESOLVE_PATH "/org/freedesktop/resolve1"
#define RESOLVE_MANAGER "org.freedesktop.resolve1.Manager"

enum dns_via { DNS_VIA_NONE, DNS_VIA_RESOLVED, DNS_VIA_FILE };

struct dns_snapshot {
	enum dns_via via;
	int ifindex;
	char *file_text; /* resolv.conf before our rewrite */
	size_t n;
	struct failover_ip servers[FAILOVER_MAX_DNS];
	bool changed; /* dns_set() changed what the resolver uses */
};

bool dns_snapshot_changed(const struct dns_snapshot *s)
{
	return s && s->changed;
}

/* ---- resolv.conf text ------------------------------------------------------------ */

static void block_markers(const char *ifname, char *begin, size_t bsize, char *end, size_t esize)
{
	snprintf(begin, bsize, "# hvkvpd %s begin", ifname);
	snprintf(end, esize, "# hvkvpd %s end", ifname);
}

static bool line_is(const char *line, size_t len, const char *marker)
{
	size_t m = strlen(marker);

	return len >= m && strncmp(line, marker, m) == 0 && (len == m || line[m] == ':');
}

/* Appends to a growing buffer; false on allocation failure. */
struct strbuf {
	char *s;
	size_t len, cap;
};

static bool sb_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = MAX(b->cap * 2, b->len + n + 256);
		char *p = realloc(b->s, cap);
		if (!p)
			return false;
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return true;
}

static bool is_nameserver_line(const char *p, size_t len)
{
	return len > 10 && strncmp(p, "nameserver", 10) == 0 && (p[10] == ' ' || p[10] == '\t');
}

/*
 * Walks text line by line and says which lines are our block for ifname:
 * from its begin marker to its end marker; when someone removed the end
 * marker, only the begin line and the nameserver lines right after it (so
 * that nothing of theirs below is ever lost). The line that ends such a
 * loose block may itself begin another block: it is looked at again, or a
 * second begin marker would survive a rewrite and be taken for ours by the
 * next one (found by fuzz-resolv-conf).
 */
struct block_walk {
	const char *begin, *end;
	const char *last_end; /* the last end marker line in the text, or NULL */
	bool inside, loose;
};

static void block_walk_init(struct block_walk *w, const char *text, const char *begin,
			    const char *end)
{
	*w = (struct block_walk){ .begin = begin, .end = end };
	/* once, up front: asking "is there an end below?" at every begin
	 * marker would be quadratic in a file made of begin markers */
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (line_is(p, len, end))
			w->last_end = p;
		p += len + (eol ? 1 : 0);
	}
}

static bool block_line(struct block_walk *w, const char *p, size_t len)
{
	if (w->inside) {
		if (line_is(p, len, w->end)) {
			w->inside = false;
			return true;
		}
		if (!w->loose || is_nameserver_line(p, len))
			return true;
		w->inside = false;
	}
	if (line_is(p, len, w->begin)) {
		w->inside = true;
		w->loose = !w->last_end || w->last_end < p;
		return true;
	}
	return false;
}

/* "#hvkvpd-disabled: nameserver ..." : a line of the site's that we took
 * out of use while the host's servers are in place. */
static bool is_disabled_line(const char *p, size_t len)
{
	size_t m = strlen(DNS_DISABLED_MARKER);

	return len > m && strncmp(p, DNS_DISABLED_MARKER, m) == 0 &&
	       is_nameserver_line(p + m, len - m);
}

/* How many of the site's nameserver lines text holds out of use. */
static size_t count_disabled(const char *p)
{
	size_t n = 0;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		n += is_disabled_line(p, len);
		p += len + (eol ? 1 : 0);
	}
	return n;
}

/* A block marker of any interface: "# hvkvpd <name> begin|end[:...]".
 * Returns 1 for begin, 2 for end, 0 otherwise; the name goes to name. */
static int block_marker(const char *p, size_t len, char *name, size_t size)
{
	static const char pre[] = "# hvkvpd ";
	const char *n = p + strlen(pre), *sp, *end = p + len;
	size_t nl;

	if (len <= strlen(pre) || strncmp(p, pre, strlen(pre)) != 0)
		return 0;
	sp = memchr(n, ' ', (size_t)(end - n));
	if (!sp || sp == n)
		return 0;
	nl = (size_t)(sp - n);
	sp++;
	for (int kind = 1; kind <= 2; kind++) {
		const char *w = kind == 1 ? "begin" : "end";
		size_t wl = strlen(w);

		if ((size_t)(end - sp) >= wl && strncmp(sp, w, wl) == 0 &&
		    (sp + wl == end || sp[wl] == ':')) {
			if (nl >= size)
				return 0;
			memcpy(name, n, nl);
			name[nl] = '\0';
			return kind;
		}
	}
	return 0;
}

/* Which lines are some other interface's block (our servers for another
 * adapter: they stay in use). Like block_line(), a block ends at its end
 * marker or at the first line that is no nameserver line. */
struct other_walk {
	const char *ifname;
	bool inside;
	char name[64];
};

static bool other_block_line(struct other_walk *o, const char *p, size_t len)
{
	char name[64];
	int kind = block_marker(p, len, name, sizeof(name));

	if (o->inside) {
		if (kind == 2 && streq(name, o->name)) {
			o->inside = false;
			return true;
		}
		if (is_nameserver_line(p, len))
			return true;
		o->inside = false;
	}
	if (kind == 1 && !streq(name, o->ifname)) {
		o->inside = true;
		strscpy(o->name, sizeof(o->name), name);
		return true;
	}
	return false;
}

/* Whether text holds a block of another interface than ifname. */
static bool has_other_block(const char *p, const char *ifname)
{
	char name[64];

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (block_marker(p, len, name, sizeof(name)) == 1 && !streq(name, ifname))
			return true;
		p += len + (eol ? 1 : 0);
	}
	return false;
}

char *dns_resolv_conf_edit(const char *text, const char *ifname, const struct failover_ip *servers,
			   size_t n)
{
	char begin[64], end[64], line[128], ip[INET6_ADDRSTRLEN];
	struct strbuf out = { 0 };
	struct block_walk w;
	struct other_walk o = { .ifname = ifname };
	bool ok = true, restore;
	const char *p = text ? text : "";

	block_markers(ifname, begin, sizeof(begin), end, sizeof(end));
	block_walk_init(&w, p, begin, end);
	/* the site's servers come back once no adapter has the host's */
	restore = n == 0 && !has_other_block(p, ifname);
	if (n > 0) {
		snprintf(line, sizeof(line), "%s: DNS servers from the Hyper-V host, written by hvkvpd\n",
			 begin);
		ok = sb_add(&out, line, strlen(line));
		for (size_t i = 0; i < n && ok; i++) {
			snprintf(line, sizeof(line), "nameserver %s\n",
				 failover_ip_to_string(servers[i].family, &servers[i].addr, ip,
						       sizeof(ip)));
			ok = sb_add(&out, line, strlen(line));
		}
		snprintf(line, sizeof(line), "%s\n", end);
		ok = ok && sb_add(&out, line, strlen(line));
	}
	while (ok && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p), m = strlen(DNS_DISABLED_MARKER);

		if (block_line(&w, p, len)) {
			p += len + (eol ? 1 : 0);
			continue;
		}
		/* every other line byte for byte, a missing last newline included,
		 * but the site's nameserver lines: out of use while the host's
		 * servers are in place (glibc would try them in turn, and at the
		 * recovery site they are usually unreachable), back after */
		if (!other_block_line(&o, p, len) && n > 0 && is_nameserver_line(p, len))
			ok = sb_add(&out, DNS_DISABLED_MARKER, m);
		else if (restore && is_disabled_line(p, len)) {
			p += m;
			len -= m;
		}
		ok = ok && sb_add(&out, p, len + (eol ? 1 : 0));
		p += len + (eol ? 1 : 0);
	}
	if (!ok || !out.s) {
		if (ok)
			return strdup("");
		free(out.s);
		return NULL;
	}
	return out.s;
}

static bool parse_nameserver(const char *line, size_t len, struct failover_ip *ret)
{
	char buf[INET6_ADDRSTRLEN + 16];
	const char *p = line + strlen("nameserver");
	size_t n;

	if (len <= strlen("nameserver") || strncmp(line, "nameserver", 10) != 0 ||
	    (*p != ' ' && *p != '\t'))
		return false;
	while (*p == ' ' || *p == '\t')
		p++;
	n = 0;
	while (p + n < line + len && p[n] != ' ' && p[n] != '\t' && p[n] != '%' && n < sizeof(buf) - 1)
		n++;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &ret->addr.in) == 1) {
		ret->family = AF_INET;
		/* 127.0.0.53 (resolved's stub) and friends say nothing about the link */
		return (ntohl(ret->addr.in.s_addr) >> 24) != 127;
	}
	if (inet_pton(AF_INET6, buf, &ret->addr.in6) == 1) {
		ret->family = AF_INET6;
		return !IN6_IS_ADDR_LOOPBACK(&ret->addr.in6);
	}
	return false;
}

size_t dns_resolv_conf_parse_block(const char *text, const char *ifname, struct failover_ip *out,
				   size_t max)
{
	char begin[64], end[64];
	struct block_walk w;
	const char *p = text ? text : "";
	size_t n = 0;

	block_markers(ifname, begin, sizeof(begin), end, sizeof(end));
	block_walk_init(&w, p, begin, end);
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		struct failover_ip ip;

		if (block_line(&w, p, len) && parse_nameserver(p, len, &ip) && n < max)
			out[n++] = ip;
		p += len + (eol ? 1 : 0);
	}
	return n;
}

size_t dns_resolv_conf_parse(const char *text, const char *ifname, struct failover_ip *out,
			     size_t max)
{
	char begin[64], end[64];
	size_t n_block = 0, n_all = 0;
	bool have_block = false;
	struct block_walk w;
	const char *p = text ? text : "";
	struct failover_ip all[FAILOVER_MAX_DNS];


	block_markers(ifname, begin, sizeof(begin), end, sizeof(end));
	block_walk_init(&w, p, begin, end);
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		bool ours = block_line(&w, p, len);
		struct failover_ip ip;

		have_block = have_block || ours;
		if (parse_nameserver(p, len, &ip)) {
			if (ours && n_block < max)
				out[n_block++] = ip;
			else if (!ours && n_all < ARRAY_SIZE(all))
				all[n_all++] = ip;
		}
		p += len + (eol ? 1 : 0);
	}
	if (have_block)
		return n_block;
	n_all = MIN(n_all, max);
	memcpy(out, all, n_all * sizeof(all[0]));
	return n_all;
}

/* resolv.conf is a few lines; anything this big is not one. */
#define RESOLV_CONF_MAX (1024 * 1024)

/* Rewrites the file itself (truncate + write): not atomic, for when only
 * the file is writable, as under hvkvpd.service's ProtectSystem=strict with
 * ReadWritePaths=/etc/resolv.conf (a read-only /etc, the file bind-mounted
 * read-write, so no temp file beside it and no rename over it). */
static int write_in_place(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	int r;

	if (fd < 0)
		return negative_errno();
	if (ftruncate(fd, 0) < 0)
		return negative_errno();
	r = loop_write(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = negative_errno();
	return r;
}

/* Writes path atomically (write_file_atomic(), with the file's mode and,
 * best effort, its owner); in place when the directory is read-only or the
 * file is a mount point. */
static int write_resolv_conf(const char *path, const char *text)
{
	struct stat st;
	bool exists = lstat(path, &st) == 0;
	int r;

	if (!exists)
		st.st_mode = S_IFREG | 0644;
	r = write_file_atomic(path, text, st.st_mode & 07777);
	if ((r == -EROFS && S_ISREG(st.st_mode)) || r == -EBUSY || r == -EXDEV) {
		r = write_in_place(path, text);
		/* the unit's bind mount went with a file replaced by rename */
		if (r == -EROFS && sandbox_rebind_file(path) == 0)
			r = write_in_place(path, text);
		return r;
	}
	if (r == 0 && exists && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    chown(path, st.st_uid, st.st_gid) < 0 && errno != EPERM)
		log_debug_errno(negative_errno(), "cannot give %s its owner back", path);
	return r;
}

/* ---- systemd-resolved ------------------------------------------------------------ */

/* A system bus connection when systemd-resolved runs, else -ENOENT. */
static int resolved_bus(sd_bus **ret)
{
	sd_bus *bus = NULL;
	int r;

	r = sd_bus_open_system(&bus);
	if (r < 0)
		return r;
	/* every call below runs inside a reply budget */
	(void)sd_bus_set_method_call_timeout(bus, BUS_CALL_TIMEOUT_USEC);
	if (bus_name_has_owner(bus, RESOLVE_NAME) <= 0) {
		sd_bus_flush_close_unref(bus);
		return -ENOENT;
	}
	*ret = bus;
	return 0;
}

static int resolved_set(sd_bus *bus, int ifindex, const struct failover_ip *servers, size_t n)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, RESOLVE_NAME, RESOLVE_PATH, RESOLVE_MANAGER,
					   "SetLinkDNS");
	if (r >= 0)
		r = sd_bus_message_append(m, "i", ifindex);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(iay)");
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = sd_bus_message_open_container(m, 'r', "iay");
		if (r >= 0)
			r = sd_bus_message_append(m, "i", servers[i].family);
		if (r >= 0)
			r = sd_bus_message_append_array(m, 'y', &servers[i].addr,
							servers[i].family == AF_INET ? 4 : 16);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_call(bus, m, 5 * 1000 * 1000, &err, NULL);
	if (r < 0 && sd_bus_error_is_set(&err))
		log_warning("systemd-resolved refused the DNS servers for link %d: %s", ifindex,
			    err.message);
	sd_bus_error_free(&err);
	sd_bus_message_unref(m);
	return r;
}

static int resolved_get(sd_bus *bus, int ifindex, struct failover_ip *out, size_t max,
			size_t *ret_n)
{
	sd_bus_message *reply = NULL;
	const char *path;
	size_t n = 0;
	int r;

	r = sd_bus_call_method(bus, RESOLVE_NAME, RESOLVE_PATH, RESOLVE_MANAGER, "GetLink", NULL,
			       &reply, "i", ifindex);
	if (r < 0)
		return r;
	r = sd_bus_message_read(reply, "o", &path);
	if (r >= 0) {
		char *p = strdup(path);
		sd_bus_message_unref(reply);
		reply = NULL;
		if (!p)
			return -ENOMEM;
		r = sd_bus_get_property(bus, RESOLVE_NAME, p, "org.freedesktop.resolve1.Link", "DNS",
					NULL, &reply, "a(iay)");
		free(p);
	}
	if (r >= 0)
		r = sd_bus_message_enter_container(reply, 'a', "(iay)");
	while (r >= 0) {
		const void *bytes;
		size_t len;
		int family;

		r = sd_bus_message_enter_container(reply, 'r', "iay");
		if (r <= 0)
			break;
		r = sd_bus_message_read(reply, "i", &family);
		if (r >= 0)
			r = sd_bus_message_read_array(reply, 'y', &bytes, &len);
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r >= 0 && n < max &&
		    ((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16))) {
			out[n].family = family;
			memset(&out[n].addr, 0, sizeof(out[n].addr));
			memcpy(&out[n].addr, bytes, len);
			n++;
		}
	}
	sd_bus_message_unref(reply);
	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

/* ---- the API --------------------------------------------------------------------- */

struct dns_snapshot *dns_snapshot_free(struct dns_snapshot *s)
{
	if (s) {
		free(s->file_text);
		free(s);
	}
	return NULL;
}

int dns_set(const char *ifname, int ifindex, const struct failover_ip *servers, size_t n,
	    struct dns_snapshot **ret_snapshot)
{
	struct dns_snapshot *snap = calloc(1, sizeof(*snap));
	sd_bus *bus = NULL;
	bool not_set = false;
	struct stat st;
	char *text = NULL, *edited;
	int r;

	if (!snap)
		return -ENOMEM;
	snap->ifindex = ifindex;

	if (resolved_bus(&bus) == 0) {
		snap->via = DNS_VIA_RESOLVED;
		if (resolved_get(bus, ifindex, snap->servers, ARRAY_SIZE(snap->servers), &snap->n) < 0)
			snap->n = 0;
		r = resolved_set(bus, ifindex, servers, n);
		snap->changed = snap->n != n || (n > 0 && memcmp(snap->servers, servers, n * sizeof(*servers)) != 0);
		sd_bus_flush_close_unref(bus);
		if (r < 0) {
			dns_snapshot_free(snap);
			return log_warning_errno(r, "cannot set DNS servers of %s through systemd-resolved",
						 ifname);
		}
		log_info("DNS servers of %s set through systemd-resolved (%zu server%s)", ifname, n,
			 n == 1 ? "" : "s");
		goto done;
	}

	if (lstat(DNS_RESOLV_CONF, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (n > 0) {
			log_notice("DNS servers for %s not set: systemd-resolved is not running and %s is %s",
				   ifname, DNS_RESOLV_CONF,
				   errno == ENOENT ? "missing" : "not a plain file (a link to a manager's file)");
			not_set = true;
		}
		snap->via = DNS_VIA_NONE;
		goto done;
	}
	r = read_file_bounded(DNS_RESOLV_CONF, O_NOFOLLOW, RESOLV_CONF_MAX, &text, NULL);
	if (r < 0) {
		dns_snapshot_free(snap);
		return log_warning_errno(r, "cannot read %s", DNS_RESOLV_CONF);
	}
	edited = dns_resolv_conf_edit(text, ifname, servers, n);
	if (!edited) {
		free(text);
		dns_snapshot_free(snap);
		return -ENOMEM;
	}
	if (streq(edited, text)) {
		free(edited);
		snap->via = DNS_VIA_FILE;
		snap->file_text = text;
		goto done;
	}
	r = write_resolv_conf(DNS_RESOLV_CONF, edited);
	if (r < 0) {
		free(edited);
		free(text);
		dns_snapshot_free(snap);
		return log_warning_errno(r, "cannot rewrite %s", DNS_RESOLV_CONF);
	}
	snap->via = DNS_VIA_FILE;
	snap->file_text = text;
	snap->changed = true;
	if (n > 3)
		log_notice("%s: %zu DNS servers written to %s; the C library uses the first 3", ifname,
			   n, DNS_RESOLV_CONF);
	log_info("DNS servers of %s written to %s (%zu server%s)", ifname, DNS_RESOLV_CONF, n,
		 n == 1 ? "" : "s");
	if (count_disabled(text) != count_disabled(edited))
		log_info("%s: %zu of the site's nameserver lines in %s %s (marked '%s')", ifname,
			 count_disabled(n ? edited : text), DNS_RESOLV_CONF,
			 n ? "out of use while the host's are in place" : "back in use",
			 DNS_DISABLED_MARKER);
	free(edited);
done:
	if (ret_snapshot)
		*ret_snapshot = snap;
	else
		dns_snapshot_free(snap);
	return not_set ? 1 : 0;
}

int dns_restore_resolv_conf(const char *ifname)
{
	_cleanup_free_ char *text = NULL, *edited = NULL;
	struct stat st;
	int r;

	if (lstat(DNS_RESOLV_CONF, &st) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	if (!S_ISREG(st.st_mode))
		return 0; /* a manager's file: we never wrote it */
	r = read_file_bounded(DNS_RESOLV_CONF, O_NOFOLLOW, RESOLV_CONF_MAX, &text, NULL);
	if (r < 0)
		return log_warning_errno(r, "cannot read %s", DNS_RESOLV_CONF);
	edited = dns_resolv_conf_edit(text, ifname, NULL, 0);
	if (!edited)
		return -ENOMEM;
	if (streq(edited, text))
		return 0;
	r = write_resolv_conf(DNS_RESOLV_CONF, edited);
	if (r < 0)
		return log_warning_errno(r, "cannot rewrite %s", DNS_RESOLV_CONF);
	log_info("%s: the host's DNS servers removed from %s%s", ifname, DNS_RESOLV_CONF,
		 count_disabled(edited) ? "; the site's stay out of use for another adapter's"
					: ", the site's back in use");
	return 0;
}

int dns_restore(struct dns_snapshot *s)
{
	sd_bus *bus = NULL;
	int r = 0;

	if (!s)
		return 0;
	switch (s->via) {
	case DNS_VIA_RESOLVED:
		r = resolved_bus(&bus);
		if (r == 0) {
			r = resolved_set(bus, s->ifindex, s->servers, s->n);
			sd_bus_flush_close_unref(bus);
		}
		break;
	case DNS_VIA_FILE:
		r = write_resolv_conf(DNS_RESOLV_CONF, s->file_text);
		break;
	case DNS_VIA_NONE:
		break;
	}
	return r;
}

int dns_get(const char *ifname, int ifindex, struct failover_ip *out, size_t max, size_t *ret_n)
{
	sd_bus *bus = NULL;
	char *text = NULL;
	int r;

	if (resolved_bus(&bus) == 0) {
		r = resolved_get(bus, ifindex, out, max, ret_n);
		sd_bus_flush_close_unref(bus);
		if (r >= 0)
			return 0;
	}
	r = read_file_bounded(DNS_RESOLV_CONF, 0, RESOLV_CONF_MAX, &text, NULL);
	if (r < 0) {
		*ret_n = 0;
		return r == -ENOENT ? 0 : r;
	}
	*ret_n = dns_resolv_conf_parse(text, ifname, out, max);
	free(text);
	return 0;
}

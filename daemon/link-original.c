/* SPDX-License-Identifier: GPL-2.0-or-later */
/* link-original.c - what a link held before its first failover, as a small text file in the state directory. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapter.h"
#include "link-original.h"
#include "util.h"

#define ORIGINAL_MAX (64 * 1024)

static int path_of(const char *dir, const char *mac, char *buf, size_t size)
{
	char key[ADAPTER_MAC_KEY_SIZE];

	/* the MAC names the file, in the one spelling of state files */
	if (adapter_mac_key(mac, key, sizeof(key)) < 0)
		return -EINVAL;
	if ((size_t)snprintf(buf, size, "%s/%s" LINK_ORIGINAL_SUFFIX, dir, key) >= size)
		return -ENAMETOOLONG;
	return 0;
}

static const char *ip_or_dash(int family, const union in_addr_union *a, bool have, char *buf,
			      size_t size)
{
	if (!have)
		return "-";
	return inet_ntop(family, a, buf, (socklen_t)size) ?: "-";
}

/* Labels come from the kernel; anything but a plain word is left out. */
static bool label_plain(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

static int format_route(const char *kind, const struct link_route *x, char *buf, size_t size,
			size_t *len)
{
	char d[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN];

	return buf_appendf(buf, size, len, "%s %d %s %u %s %d %s %u %u %u\n", kind,
		      x->family == AF_INET ? 4 : 6, ip_or_dash(x->family, &x->dst, true, d, sizeof(d)),
		      x->dst_len, ip_or_dash(x->family, &x->gateway, x->has_gateway, g, sizeof(g)),
		      x->onlink ? 1 : 0, ip_or_dash(x->family, &x->prefsrc, x->has_prefsrc, s, sizeof(s)),
		      x->metric, x->protocol, x->table);
}

int link_original_format(const struct link_state *l, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN], brd[INET6_ADDRSTRLEN];
	size_t len = 0;
	int r;

	if (size)
		buf[0] = '\0';
	r = buf_appendf(buf, size, &len, "# hvkvpd: the link before its first failover (hvkvpctl revert)\nlink %u %d\n",
		   l->flags, l->carrier ? 1 : 0);
	for (size_t i = 0; r == 0 && i < l->n_addrs; i++) {
		const struct link_addr *x = &l->addrs[i];

		r = buf_appendf(buf, size, &len, "addr %d %s %u %u %u %d %s %s\n", x->family == AF_INET ? 4 : 6,
			   ip_or_dash(x->family, &x->addr, true, ip, sizeof(ip)), x->prefixlen, x->scope,
			   x->flags, x->permanent ? 1 : 0,
			   ip_or_dash(x->family, &x->broadcast, x->has_broadcast, brd, sizeof(brd)),
			   label_plain(x->label) ? x->label : "-");
	}
	for (size_t i = 0; r == 0 && i < l->n_routes; i++)
		r = format_route("route", &l->routes[i], buf, size, &len);
	for (size_t i = 0; r == 0 && i < l->n_statics; i++)
		r = format_route("static", &l->statics[i], buf, size, &len);
	return r;
}

static bool parse_ip(const char *s, int family, union in_addr_union *ret, bool *have)
{
	if (streq(s, "-")) {
		if (have)
			*have = false;
		memset(ret, 0, sizeof(*ret));
		return have != NULL;
	}
	if (inet_pton(family, s, ret) != 1)
		return false;
	if (have)
		*have = true;
	return true;
}

static int family_of(const char *s)
{
	return streq(s, "4") ? AF_INET : streq(s, "6") ? AF_INET6 : 0;
}

static bool parse_route(char **w, size_t n, struct link_route *x)
{
	unsigned long v[6];

	memset(x, 0, sizeof(*x));
	if (n != 10)
		return false;
	x->family = family_of(w[1]);
	if (!x->family || !parse_ip(w[2], x->family, &x->dst, NULL) ||
	    parse_uint(w[3], x->family == AF_INET ? 32 : 128, &v[0]) < 0 ||
	    !parse_ip(w[4], x->family, &x->gateway, &x->has_gateway) || parse_uint(w[5], 1, &v[1]) < 0 ||
	    !parse_ip(w[6], x->family, &x->prefsrc, &x->has_prefsrc) ||
	    parse_uint(w[7], UINT32_MAX, &v[2]) < 0 || parse_uint(w[8], 255, &v[3]) < 0 ||
	    parse_uint(w[9], UINT32_MAX, &v[4]) < 0)
		return false;
	x->dst_len = (uint8_t)v[0];
	x->onlink = v[1];
	x->metric = (uint32_t)v[2];
	x->protocol = (uint8_t)v[3];
	x->table = (uint32_t)v[4];
	return true;
}

int link_original_parse(const char *text, struct link_state *ret)
{
	_cleanup_free_ char *copy = strdup(text);
	char *save = NULL;
	bool have_link = false;

	if (!copy)
		return -ENOMEM;
	memset(ret, 0, sizeof(*ret));
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *w[13], *ws = NULL;
		size_t n = 0;
		unsigned long v[5];

		if (line[0] == '#')
			continue;
		for (char *t = strtok_r(line, " \t", &ws); t && n < ARRAY_SIZE(w) - 1; t = strtok_r(NULL, " \t", &ws))
			w[n++] = t;
		w[n] = NULL;
		if (n == 0)
			continue; /* blanks only */
		if (n == 3 && streq(w[0], "link") && parse_uint(w[1], UINT32_MAX, &v[0]) == 0 &&
		    parse_uint(w[2], 1, &v[1]) == 0) {
			ret->flags = (unsigned)v[0];
			ret->carrier = v[1];
			have_link = true;
		} else if (n == 9 && streq(w[0], "addr") && ret->n_addrs < LINK_MAX_ADDRS) {
			struct link_addr *x = &ret->addrs[ret->n_addrs];

			memset(x, 0, sizeof(*x));
			x->family = family_of(w[1]);
			if (!x->family || !parse_ip(w[2], x->family, &x->addr, NULL) ||
			    parse_uint(w[3], x->family == AF_INET ? 32 : 128, &v[0]) < 0 ||
			    parse_uint(w[4], 255, &v[1]) < 0 || parse_uint(w[5], UINT32_MAX, &v[2]) < 0 ||
			    parse_uint(w[6], 1, &v[3]) < 0 ||
			    !parse_ip(w[7], x->family, &x->broadcast, &x->has_broadcast))
				continue;
			x->prefixlen = (uint8_t)v[0];
			x->scope = (uint8_t)v[1];
			x->flags = (uint32_t)v[2];
			x->permanent = v[3];
			x->from_kernel = true;
			if (!streq(w[8], "-") && label_plain(w[8]))
				strscpy(x->label, sizeof(x->label), w[8]);
			ret->n_addrs++;
		} else if (streq(w[0], "route") && ret->n_routes < LINK_MAX_ROUTES) {
			if (parse_route(w, n, &ret->routes[ret->n_routes]))
				ret->n_routes++;
		} else if (streq(w[0], "static") && ret->n_statics < LINK_MAX_ROUTES) {
			if (parse_route(w, n, &ret->statics[ret->n_statics]))
				ret->n_statics++;
		}
	}
	return have_link ? 0 : -EBADMSG;
}

int link_original_save(const char *dir, const char *mac, const struct link_state *l)
{
	_cleanup_free_ char *buf = NULL;
	char path[PATH_MAX];
	struct stat st;
	int r;

	r = path_of(dir, mac, path, sizeof(path));
	if (r < 0)
		return r;
	if (lstat(path, &st) == 0)
		return 1; /* the first failover's stays */
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return negative_errno();
	buf = malloc(ORIGINAL_MAX);
	if (!buf)
		return -ENOMEM;
	r = link_original_format(l, buf, ORIGINAL_MAX);
	if (r < 0)
		return r;
	return write_file_atomic(path, buf, 0600);
}

int link_original_load(const char *dir, const char *mac, struct link_state **ret)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ struct link_state *l = NULL;
	char path[PATH_MAX];
	int r;

	r = path_of(dir, mac, path, sizeof(path));
	if (r < 0)
		return r;
	r = read_file_bounded(path, 0, ORIGINAL_MAX, &text, NULL);
	if (r < 0)
		return r;
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	r = link_original_parse(text, l);
	if (r < 0)
		return r;
	*ret = l;
	l = NULL;
	return 0;
}

int link_original_remove(const char *dir, const char *mac)
{
	char path[PATH_MAX];
	int r = path_of(dir, mac, path, sizeof(path));

	if (r < 0)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

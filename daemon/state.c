/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state.c - the state files: key=value lines, escaped, written atomically; never sourced by a shell. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "adapter.h"
#include "log.h"
#include "state.h"
#include "util.h"

#define STATE_MAX_SIZE (64 * 1024)

/* Escapes bytes outside printable ASCII (and '\\') as \xNN, so a value is
 * always one line whatever the host sent. */
static int put_escaped(char *buf, size_t size, size_t *off, const char *key, const char *v)
{
	int n = snprintf(buf + *off, size - *off, "%s=", key);

	if (n < 0 || (size_t)n >= size - *off)
		return -ENOBUFS;
	*off += (size_t)n;
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (*off + 2 > size)
				return -ENOBUFS;
			buf[(*off)++] = (char)c;
		} else {
			if (*off + 5 > size)
				return -ENOBUFS;
			snprintf(buf + *off, 5, "\\x%02x", c);
			*off += 4;
		}
	}
	if (*off + 2 > size)
		return -ENOBUFS;
	buf[(*off)++] = '\n';
	buf[*off] = '\0';
	return 0;
}

int state_format(const struct adapter_state *st, char *buf, size_t size)
{
	size_t off = 0;
	int r;

	r = buf_appendf(buf, size, &off,
		    "# hvkvpd state of one adapter: written by hvkvpd, read by hvkvpd and hvkvpctl.\n"
		    "# Not a shell file; do not edit.\n");
	r = r ?: put_escaped(buf, size, &off, "mac", st->mac);
	r = r ?: put_escaped(buf, size, &off, "ifname", st->ifname);
	r = r ?: put_escaped(buf, size, &off, "host_adapter_id", st->host.adapter_id);
	r = r ?: buf_appendf(buf, size, &off, "host_addr_family=%u\nhost_dhcp_enabled=%u\n",
			 st->host.addr_family, st->host.dhcp_enabled);
	r = r ?: put_escaped(buf, size, &off, "host_ip_addr", st->host.ip_addr);
	r = r ?: put_escaped(buf, size, &off, "host_sub_net", st->host.sub_net);
	r = r ?: put_escaped(buf, size, &off, "host_gate_way", st->host.gate_way);
	r = r ?: put_escaped(buf, size, &off, "host_dns_addr", st->host.dns_addr);
	r = r ?: buf_appendf(buf, size, &off, "applied_addr_family=%u\napplied_dhcp_enabled=%u\n",
			 st->applied.addr_family, st->applied.dhcp_enabled);
	r = r ?: put_escaped(buf, size, &off, "applied_adapter_id", st->applied.adapter_id);
	r = r ?: put_escaped(buf, size, &off, "applied_ip_addr", st->applied.ip_addr);
	r = r ?: put_escaped(buf, size, &off, "applied_sub_net", st->applied.sub_net);
	r = r ?: put_escaped(buf, size, &off, "applied_gate_way", st->applied.gate_way);
	r = r ?: put_escaped(buf, size, &off, "applied_dns_addr", st->applied.dns_addr);
	r = r ?: buf_appendf(buf, size, &off, "received_usec=%" PRIu64 "\napplied_usec=%" PRIu64 "\n",
			 st->received_usec, st->applied_usec);
	r = r ?: put_escaped(buf, size, &off, "backend", st->backend);
	r = r ?: buf_appendf(buf, size, &off, "result=0x%08" PRIx32 "\n", st->result);
	r = r ?: put_escaped(buf, size, &off, "detail", st->detail);
	r = r ?: buf_appendf(buf, size, &off, "reapply=%d\nwaiting_for_carrier=%d\n", st->reapply,
			 st->waiting_for_carrier);
	r = r ?: buf_appendf(buf, size, &off, "applied_source=%s\n", st->applied_manual ? "manual" : "host");
	if (st->manual_usec) {
		r = r ?: buf_appendf(buf, size, &off, "manual_usec=%" PRIu64 "\nmanual_result=0x%08" PRIx32
				 "\nmanual_dhcp_enabled=%u\n",
				 st->manual_usec, st->manual_result, st->manual.dhcp_enabled);
		r = r ?: put_escaped(buf, size, &off, "manual_user", st->manual_user);
		r = r ?: put_escaped(buf, size, &off, "manual_adapter_id", st->manual.adapter_id);
		r = r ?: put_escaped(buf, size, &off, "manual_ip_addr", st->manual.ip_addr);
		r = r ?: put_escaped(buf, size, &off, "manual_sub_net", st->manual.sub_net);
		r = r ?: put_escaped(buf, size, &off, "manual_gate_way", st->manual.gate_way);
		r = r ?: put_escaped(buf, size, &off, "manual_dns_addr", st->manual.dns_addr);
		r = r ?: put_escaped(buf, size, &off, "manual_detail", st->manual_detail);
		r = r ?: put_escaped(buf, size, &off, "manual_backend", st->manual_backend);
	}
	return r;
}

/* Undoes put_escaped() into dst (size bytes, terminated); -EBADMSG on a bad
 * escape (anything but \x and two hex digits, or \x00), -ENOBUFS when it
 * does not fit. */
static int unescape(const char *v, size_t len, char *dst, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = v[i];

		if (c == '\\') {
			int hi, lo;

			/* the whole escape, \xNN, lies inside the value */
			if (i + 3 >= len || v[i + 1] != 'x')
				return -EBADMSG;
			hi = hex_digit_value(v[i + 2]);
			lo = hex_digit_value(v[i + 3]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -EBADMSG;
			c = (char)(hi << 4 | lo);
			i += 3;
		}
		if (o + 1 >= size)
			return -ENOBUFS;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

static int parse_u64(const char *v, uint64_t *ret, int base)
{
	char *end;

	errno = 0;
	*ret = strtoull(v, &end, base);
	return errno || end == v || *end ? -EBADMSG : 0;
}

int state_parse(const char *text, struct adapter_state *st)
{
	const char *p = text;

	memset(st, 0, sizeof(*st));
	while (*p) {
		const char *eol = strchr(p, '\n'), *eq;
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char key[32], val[KVP_IP_ADDR_BYTES * 4 + 1];
		uint64_t u;
		int r = 0;

		if (len == 0 || p[0] == '#')
			goto next;
		eq = memchr(p, '=', len);
		if (!eq || (size_t)(eq - p) >= sizeof(key) || len - (size_t)(eq - p) - 1 >= sizeof(val))
			return -EBADMSG;
		memcpy(key, p, (size_t)(eq - p));
		key[eq - p] = '\0';
		memcpy(val, eq + 1, len - (size_t)(eq - p) - 1);
		val[len - (size_t)(eq - p) - 1] = '\0';

#define STR(name, field) else if (streq(key, name)) r = unescape(val, strlen(val), field, sizeof(field))
		if (0)
			;
		STR("mac", st->mac);
		STR("ifname", st->ifname);
		STR("host_adapter_id", st->host.adapter_id);
		STR("host_ip_addr", st->host.ip_addr);
		STR("host_sub_net", st->host.sub_net);
		STR("host_gate_way", st->host.gate_way);
		STR("host_dns_addr", st->host.dns_addr);
		STR("applied_adapter_id", st->applied.adapter_id);
		STR("applied_ip_addr", st->applied.ip_addr);
		STR("applied_sub_net", st->applied.sub_net);
		STR("applied_gate_way", st->applied.gate_way);
		STR("applied_dns_addr", st->applied.dns_addr);
		STR("backend", st->backend);
		STR("detail", st->detail);
		STR("manual_user", st->manual_user);
		STR("manual_adapter_id", st->manual.adapter_id);
		STR("manual_ip_addr", st->manual.ip_addr);
		STR("manual_sub_net", st->manual.sub_net);
		STR("manual_gate_way", st->manual.gate_way);
		STR("manual_dns_addr", st->manual.dns_addr);
		STR("manual_detail", st->manual_detail);
		STR("manual_backend", st->manual_backend);
#undef STR
		else if (streq(key, "host_addr_family")) {
			r = parse_u64(val, &u, 10);
			st->host.addr_family = (uint8_t)u;
			r = r ?: (u > 255 ? -EBADMSG : 0);
		} else if (streq(key, "host_dhcp_enabled")) {
			r = parse_u64(val, &u, 10);
			st->host.dhcp_enabled = (uint8_t)u;
			r = r ?: (u > 255 ? -EBADMSG : 0);
		} else if (streq(key, "applied_addr_family")) {
			r = parse_u64(val, &u, 10);
			st->applied.addr_family = (uint8_t)u;
			r = r ?: (u > 255 ? -EBADMSG : 0);
		} else if (streq(key, "applied_dhcp_enabled")) {
			r = parse_u64(val, &u, 10);
			st->applied.dhcp_enabled = (uint8_t)u;
			r = r ?: (u > 255 ? -EBADMSG : 0);
		} else if (streq(key, "manual_dhcp_enabled")) {
			r = parse_u64(val, &u, 10);
			st->manual.dhcp_enabled = (uint8_t)u;
			r = r ?: (u > 255 ? -EBADMSG : 0);
		} else if (streq(key, "manual_usec"))
			r = parse_u64(val, &st->manual_usec, 10);
		else if (streq(key, "manual_result")) {
			r = parse_u64(val, &u, 16);
			st->manual_result = (uint32_t)u;
			r = r ?: (u > UINT32_MAX ? -EBADMSG : 0);
		} else if (streq(key, "applied_source"))
			st->applied_manual = streq(val, "manual");
		else if (streq(key, "received_usec"))
			r = parse_u64(val, &st->received_usec, 10);
		else if (streq(key, "applied_usec"))
			r = parse_u64(val, &st->applied_usec, 10);
		else if (streq(key, "result")) {
			r = parse_u64(val, &u, 16);
			st->result = (uint32_t)u;
			r = r ?: (u > UINT32_MAX ? -EBADMSG : 0);
		} else if (streq(key, "reapply"))
			st->reapply = streq(val, "1");
		else if (streq(key, "waiting_for_carrier"))
			st->waiting_for_carrier = streq(val, "1");
		/* unknown keys: written by a newer version; ignore */
		if (r < 0)
			return -EBADMSG;
next:
		p += len + (eol ? 1 : 0);
	}
	return isempty(st->mac) ? -EBADMSG : 0;
}

static int mac_file(const char *dir, const char *mac, char *buf, size_t size)
{
	char key[ADAPTER_MAC_KEY_SIZE];

	/* the name comes from the interface's own MAC as sysfs spells it,
	 * never from the host; anything else (an empty one would make the
	 * hidden ".state" that nothing reads) is refused */
	if (strlen(mac) != 17)
		return -EINVAL;
	for (const char *c = mac; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || *c == ':'))
			return -EINVAL;
	if (adapter_mac_key(mac, key, sizeof(key)) < 0)
		return -EINVAL;
	if ((size_t)snprintf(buf, size, "%s/%s.state", dir, key) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int state_migrate_names(const char *dir)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, NULL), renamed = 0;

	if (n < 0)
		return errno == ENOENT ? 0 : negative_errno();
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		size_t len = strlen(name);
		char old[4096], mac[32], key[ADAPTER_MAC_KEY_SIZE], new_path[4096];
		struct stat so, sn;

		/* "00:15:5d:0a:0b:0c.state", the spelling before 0.x */
		if (len != 17 + 6 || !streq(name + 17, ".state") || name[2] != ':')
			goto next;
		memcpy(mac, name, 17);
		mac[17] = '\0';
		if (adapter_mac_key(mac, key, sizeof(key)) < 0 ||
		    (size_t)snprintf(old, sizeof(old), "%s/%s", dir, name) >= sizeof(old) ||
		    (size_t)snprintf(new_path, sizeof(new_path), "%s/%s.state", dir, key) >= sizeof(new_path))
			goto next;
		/* only regular files move: a link planted here stays refused */
		if (lstat(old, &so) < 0 || !S_ISREG(so.st_mode))
			goto next;
		if (lstat(new_path, &sn) == 0) {
			if (sn.st_mtime >= so.st_mtime) {
				if (unlink(old) < 0)
					log_warning_errno(negative_errno(), "cannot remove the old state file %s", old);
				else
					log_info("removed %s: %s.state is newer", old, key);
				goto next;
			}
		} else if (errno != ENOENT)
			goto next;
		if (rename(old, new_path) < 0)
			log_warning_errno(negative_errno(), "cannot rename the state file %s", old);
		else {
			renamed++;
			log_info("renamed the state file %s to %s.state", name, key);
		}
next:
		free(list[i]);
	}
	free(list);
	return renamed;
}

int state_save(const char *dir, const struct adapter_state *st)
{
	char path[4096];
	_cleanup_free_ char *text = malloc(STATE_MAX_SIZE);
	int r;

	if (!text)
		return -ENOMEM;
	r = mac_file(dir, st->mac, path, sizeof(path));
	if (r < 0)
		return r;
	r = state_format(st, text, STATE_MAX_SIZE);
	if (r < 0)
		return r;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return negative_errno();
	return write_file_atomic(path, text, 0600);
}

static int load_path(const char *path, struct adapter_state *ret)
{
	/* one byte more than state_format() ever writes, to see a bigger file */
	_cleanup_free_ char *text = malloc(STATE_MAX_SIZE + 1);
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	ssize_t n = 0;

	if (!text)
		return -ENOMEM;
	fd = open_regular(path, O_RDONLY, 0);
	if (fd < 0) {
		int r = fd;

		fd = -1;
		/* we never make one: whoever did may hope that we read (and
		 * re-apply) what it points to, or hang on a FIFO */
		if (r == -ELOOP)
			log_warning("refusing the state file %s: it is a symbolic link", path);
		else if (r == -EINVAL)
			log_warning("refusing the state file %s: it is not a regular file", path);
		return r;
	}
	while (len < STATE_MAX_SIZE && (n = read(fd, text + len, STATE_MAX_SIZE - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		return negative_errno();
	/* not ours, and parsing the prefix that fits would cut a value short */
	if (len >= STATE_MAX_SIZE)
		return -EBADMSG;
	text[len] = '\0';
	if (strlen(text) != len)
		return -EBADMSG;
	return state_parse(text, ret);
}

int state_load(const char *dir, const char *mac, struct adapter_state *ret)
{
	char path[4096];
	int r = mac_file(dir, mac, path, sizeof(path));

	if (r < 0)
		return r;
	return load_path(path, ret);
}

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int state_foreach(const char *dir, state_cb cb, void *userdata)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, cmp_names), r = 0;

	if (n < 0)
		return errno == ENOENT ? 0 : negative_errno();
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		size_t len = strlen(name);
		char path[4096];
		struct adapter_state st;

		if (r >= 0 && len > 6 && streq(name + len - 6, ".state") &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path)) {
			int q = load_path(path, &st);
			if (q >= 0)
				r = cb(&st, userdata);
			else if (q != -ELOOP) /* load_path() has named a symbolic link */
				log_warning_errno(q, "ignoring the unreadable state file %s", path);
		}
		free(list[i]);
	}
	free(list);
	return r < 0 ? r : 0;
}

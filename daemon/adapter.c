/* SPDX-License-Identifier: GPL-2.0-or-later */
/* adapter.c - host adapter id to interface, through sysfs. */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>

#include "adapter.h"
#include "util.h"

static bool is_hex(char c)
{
	return isxdigit((unsigned char)c);
}

static bool normalize_guid(const char *id, char *buf, size_t size)
{
	size_t len = strlen(id);
	char g[37];

	if (len == 38 && id[0] == '{' && id[37] == '}') {
		id++;
		len = 36;
	}
	if (len != 36 || size < 37)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? id[i] != '-' : !is_hex(id[i]))
			return false;
		g[i] = (char)tolower((unsigned char)id[i]);
	}
	g[36] = '\0';
	memcpy(buf, g, 37);
	return true;
}

static bool normalize_mac(const char *id, char *buf, size_t size)
{
	char hex[12];
	size_t n = 0, len = strlen(id);
	char sep = 0;

	if (size < 18 || len < 12 || len > 17)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (is_hex(c)) {
			if (n == 12)
				return false;
			hex[n++] = (char)tolower((unsigned char)c);
			continue;
		}
		if (c != ':' && c != '-' && c != '.')
			return false;
		if (sep && c != sep)
			return false; /* one separator style per id */
		sep = c;
	}
	if (n != 12)
		return false;
	/* separators must fall on group boundaries: 2 (":" "-") or 4 (".") digits */
	if (sep) {
		size_t group = sep == '.' ? 4 : 2, digits = 0;
		for (size_t i = 0; i < len; i++) {
			if (id[i] == sep) {
				if (digits != group)
					return false;
				digits = 0;
			} else
				digits++;
		}
		if (digits != group)
			return false;
	}
	for (size_t i = 0; i < 6; i++) {
		buf[i * 3] = hex[i * 2];
		buf[i * 3 + 1] = hex[i * 2 + 1];
		buf[i * 3 + 2] = i == 5 ? '\0' : ':';
	}
	return true;
}

int adapter_mac_key(const char *mac, char *buf, size_t size)
{
	char norm[18];
	size_t n = 0;

	if (size < ADAPTER_MAC_KEY_SIZE || !mac || !normalize_mac(mac, norm, sizeof(norm)))
		return -EINVAL;
	for (const char *p = norm; *p; p++)
		if (*p != ':')
			buf[n++] = *p;
	buf[n] = '\0';
	return 0;
}

enum adapter_id_kind adapter_id_normalize(const char *id, char *buf, size_t size)
{
	size_t len;

	if (!id)
		return ADAPTER_ID_INVALID;
	if (normalize_guid(id, buf, size))
		return ADAPTER_ID_GUID;
	if (normalize_mac(id, buf, size))
		return ADAPTER_ID_MAC;
	len = strlen(id);
	if (len == 0 || len >= IF_NAMESIZE || len >= size || streq(id, ".") || streq(id, ".."))
		return ADAPTER_ID_INVALID;
	for (size_t i = 0; i < len; i++)
		if (id[i] == '/' || id[i] == ':' || isspace((unsigned char)id[i]) ||
		    !isprint((unsigned char)id[i]))
			return ADAPTER_ID_INVALID;
	memcpy(buf, id, len + 1);
	return ADAPTER_ID_IFNAME;
}

/* First line of a small sysfs attribute, without the newline. */
static int read_attr(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];
	FILE *f;
	char *nl;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	if (!fgets(buf, (int)size, f)) {
		fclose(f);
		return -ENODATA;
	}
	fclose(f);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return 0;
}

static bool link_basename(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	const char *base;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return false;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	base = strrchr(target, '/');
	strscpy(buf, size, base ? base + 1 : target);
	return true;
}

struct candidate {
	struct adapter a;
	bool enslaved;
	bool bound; /* has device/driver: a real VMBus or PCI device */
};

static int load(const char *netdir, const char *name, struct candidate *c)
{
	char dir[PATH_MAX], buf[128], guid[37];
	unsigned long idx;

	memset(c, 0, sizeof(*c));
	if (strscpy(c->a.ifname, sizeof(c->a.ifname), name) < 0)
		return -ENAMETOOLONG;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", netdir, name) >= sizeof(dir))
		return -ENAMETOOLONG;
	if (read_attr(dir, "ifindex", buf, sizeof(buf)) < 0 || parse_uint(buf, INT_MAX, &idx) < 0)
		return -ENOENT;
	c->a.ifindex = (int)idx;
	if (read_attr(dir, "address", buf, sizeof(buf)) == 0)
		normalize_mac(buf, c->a.mac, sizeof(c->a.mac));
	if (read_attr(dir, "device/device_id", buf, sizeof(buf)) == 0 &&
	    normalize_guid(buf, guid, sizeof(guid)))
		snprintf(c->a.guid, sizeof(c->a.guid), "{%s}", guid);
	if (link_basename(dir, "device/driver", buf, sizeof(buf))) {
		c->bound = true;
		c->a.netvsc = streq(buf, "hv_netvsc");
	}
	c->enslaved = link_basename(dir, "master", buf, sizeof(buf));
	return 0;
}

/* Better MAC candidate: a synthetic NIC over anything else, then one that is
 * not enslaved (the VF is a slave of the netvsc device), then the lower index. */
static bool better(const struct candidate *x, const struct candidate *y)
{
	if (x->a.netvsc != y->a.netvsc)
		return x->a.netvsc;
	if (x->enslaved != y->enslaved)
		return !x->enslaved;
	return x->a.ifindex < y->a.ifindex;
}

int adapter_resolve(const char *sysfs_root, const char *id, unsigned flags, struct adapter *ret)
{
	char want[64], netdir[PATH_MAX];
	enum adapter_id_kind kind = adapter_id_normalize(id, want, sizeof(want));
	struct candidate best = { 0 }, c;
	bool found = false;
	struct dirent *de;
	DIR *d;

	if (kind == ADAPTER_ID_INVALID ||
	    (kind == ADAPTER_ID_IFNAME && !(flags & ADAPTER_MATCH_IFNAME)))
		return -EINVAL;
	if ((size_t)snprintf(netdir, sizeof(netdir), "%s/class/net",
			     sysfs_root ? sysfs_root : ADAPTER_SYSFS_ROOT) >= sizeof(netdir))
		return -ENAMETOOLONG;
	d = opendir(netdir);
	if (!d)
		return negative_errno();
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (kind == ADAPTER_ID_IFNAME && !streq(de->d_name, want))
			continue;
		if (load(netdir, de->d_name, &c) < 0)
			continue;
		if (kind == ADAPTER_ID_GUID) {
			if (isempty(c.a.guid) || strncmp(c.a.guid + 1, want, 36) != 0)
				continue;
		} else if (kind == ADAPTER_ID_MAC) {
			if (!streq(c.a.mac, want))
				continue;
		}
		if (!found || better(&c, &best)) {
			best = c;
			found = true;
		}
	}
	closedir(d);
	if (!found)
		return -ENODEV;
	/* The host's MAC names a synthetic NIC. A VF alone (its netvsc twin
	 * gone, or not registered yet, so nothing enslaves it) is still never
	 * the answer; only driverless devices (veth, bond...) stand in. */
	if (kind == ADAPTER_ID_MAC && !best.a.netvsc && (best.enslaved || best.bound))
		return -ENODEV;
	*ret = best.a;
	return 0;
}

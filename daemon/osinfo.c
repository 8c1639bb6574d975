/* SPDX-License-Identifier: GPL-2.0-or-later */
/* osinfo.c - values of the auto pool, formatted as upstream hv_kvp_daemon does. */
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "osinfo.h"
#include "util.h"

/* Host index -> key name, fixed by the comment in <linux/hyperv.h>. */
static const char *const key_names[OSINFO_KEY_COUNT] = {
	"FullyQualifiedDomainName", "IntegrationServicesVersion",
	"NetworkAddressIPv4",	    "NetworkAddressIPv6",
	"OSBuildNumber",	    "OSName",
	"OSMajorVersion",	    "OSMinorVersion",
	"OSVersion",		    "ProcessorArchitecture",
};

const char *osinfo_key_name(uint32_t index)
{
	return index < OSINFO_KEY_COUNT ? key_names[index] : NULL;
}

/* Unquotes an os-release value in place: surrounding single or double quotes
 * go, backslash escapes keep the escaped character. */
static void unquote(char *v)
{
	char *r = v, *w = v;
	char quote = 0;

	if (*r == '"' || *r == '\'')
		quote = *r++;
	for (; *r; r++) {
		if (*r == '\\' && r[1]) {
			*w++ = *++r;
			continue;
		}
		if (quote && *r == quote)
			break;
		*w++ = *r;
	}
	*w = '\0';
}

void osinfo_parse_os_release(struct osinfo *o, const char *text)
{
	const char *p = text;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[512], *eq, *val;

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, p, len);
		line[len] = '\0';
		p = eol ? eol + 1 : NULL;

		if (line[0] == '#' || !(eq = strchr(line, '=')))
			continue;
		*eq = '\0';
		val = eq + 1;
		unquote(val);
		if (streq(line, "NAME"))
			strscpy(o->os_name, sizeof(o->os_name), val);
		else if (streq(line, "VERSION_ID"))
			strscpy(o->os_major, sizeof(o->os_major), val);
	}
}

static int read_small_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return negative_errno();
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

/* Legacy release files: line 1 is the name, line 2 the major version, line 3
 * the minor version (upstream's fallback when there is no os-release). */
static void parse_legacy_release(struct osinfo *o, char *text)
{
	char *fields[] = { o->os_name, o->os_major, o->os_minor };
	size_t sizes[] = { sizeof(o->os_name), sizeof(o->os_major), sizeof(o->os_minor) };
	char *save = NULL, *line = strtok_r(text, "\n", &save);

	for (size_t i = 0; i < ARRAY_SIZE(fields) && line; i++) {
		strscpy(fields[i], sizes[i], line);
		line = strtok_r(NULL, "\n", &save);
	}
}

void osinfo_init(struct osinfo *o, const char *root)
{
	static const char *const release_files[] = { "/etc/os-release", "/usr/lib/os-release" };
	static const char *const legacy_files[] = { "/etc/SuSE-release", "/etc/redhat-release" };
	struct utsname u;
	char path[4096], text[8192];
	bool found = false;

	memset(o, 0, sizeof(*o));
	strscpy(o->ic_version, sizeof(o->ic_version), "Unknown version");
	if (!root)
		root = "";

	if (uname(&u) == 0) {
		char *dash;

		strscpy(o->os_name, sizeof(o->os_name), u.sysname);
		strscpy(o->os_build, sizeof(o->os_build), u.release);
		strscpy(o->os_version, sizeof(o->os_version), u.release);
		/* Win7 hosts expect x.y.z here */
		dash = strchr(o->os_version, '-');
		if (dash)
			*dash = '\0';
		strscpy(o->arch, sizeof(o->arch), u.machine);
	}
	if (gethostname(o->fqdn, sizeof(o->fqdn) - 1) < 0)
		o->fqdn[0] = '\0';

	for (size_t i = 0; i < ARRAY_SIZE(release_files) && !found; i++) {
		snprintf(path, sizeof(path), "%s%s", root, release_files[i]);
		if (read_small_file(path, text, sizeof(text)) == 0) {
			osinfo_parse_os_release(o, text);
			found = true;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(legacy_files) && !found; i++) {
		snprintf(path, sizeof(path), "%s%s", root, legacy_files[i]);
		if (read_small_file(path, text, sizeof(text)) == 0) {
			parse_legacy_release(o, text);
			found = true;
		}
	}
}

void osinfo_set_fqdn(struct osinfo *o, const char *fqdn)
{
	if (!isempty(fqdn))
		strscpy(o->fqdn, sizeof(o->fqdn), fqdn);
}

void osinfo_set_ic_version(struct osinfo *o, const char *version)
{
	strscpy(o->ic_version, sizeof(o->ic_version), version);
}

int osinfo_addresses(int family, char *buf, size_t size)
{
	struct ifaddrs *list, *i;
	size_t off = 0;
	int r = 0;

	if (size == 0)
		return -ENOBUFS;
	buf[0] = '\0';
	if (getifaddrs(&list) < 0)
		return negative_errno();
	for (i = list; i; i = i->ifa_next) {
		char addr[INET6_ADDRSTRLEN];
		const void *src;
		size_t len;

		if (!i->ifa_addr || i->ifa_addr->sa_family != family ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (family == AF_INET)
			src = &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
		else
			src = &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr;
		if (!inet_ntop(family, src, addr, sizeof(addr)))
			continue;
		len = strlen(addr);
		if (off + len + (off ? 1 : 0) + 1 > size) {
			r = -ENOBUFS; /* keep what fits, as a list that ends early */
			break;
		}
		if (off)
			buf[off++] = ';';
		memcpy(buf + off, addr, len + 1);
		off += len;
	}
	freeifaddrs(list);
	return r;
}

int osinfo_enumerate(const struct osinfo *o, uint32_t index, char *key, size_t key_size,
		     char *value, size_t value_size)
{
	const char *v = NULL;

	if (index >= OSINFO_KEY_COUNT)
		return -ENOENT;
	strscpy(key, key_size, key_names[index]);
	switch (index) {
	case 0:
		v = o->fqdn;
		break;
	case 1:
		v = o->ic_version;
		break;
	case 2:
	case 3: {
		int r = osinfo_addresses(index == 2 ? AF_INET : AF_INET6, value, value_size);
		return r == -ENOBUFS ? 0 : r;
	}
	case 4:
		v = o->os_build;
		break;
	case 5:
		v = o->os_name;
		break;
	case 6:
		v = o->os_major;
		break;
	case 7:
		v = o->os_minor;
		break;
	case 8:
		v = o->os_version;
		break;
	case 9:
		v = o->arch;
		break;
	}
	strscpy(value, value_size, v);
	return 0;
}

/* ---- asynchronous canonical name ---------------------------------------- */

#include <netdb.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <systemd/sd-event.h>

struct fqdn_lookup {
	struct osinfo *osinfo;
	struct gaicb cb;
	struct addrinfo hints;
	char host[256];
	int efd;
	sd_event_source *src;
};

/* Runs on glibc's notification thread: only wakes the loop up. */
static void fqdn_notify(union sigval sv)
{
	struct fqdn_lookup *l = sv.sival_ptr;
	uint64_t one = 1;

	if (write(l->efd, &one, sizeof(one)) < 0) {
		/* nothing to do: the FQDN stays the plain host name */
	}
}

static int fqdn_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct fqdn_lookup *l = userdata;
	uint64_t n;
	int r;

	if (read(fd, &n, sizeof(n)) < 0 && errno == EAGAIN)
		return 0;
	r = gai_error(&l->cb);
	if (r == 0 && l->cb.ar_result && l->cb.ar_result->ai_canonname)
		osinfo_set_fqdn(l->osinfo, l->cb.ar_result->ai_canonname);
	if (l->cb.ar_result)
		freeaddrinfo(l->cb.ar_result);
	sd_event_source_disable_unref(l->src);
	close(l->efd);
	free(l);
	return 0;
}

int osinfo_lookup_fqdn_async(struct osinfo *o, sd_event *e)
{
	struct gaicb *list[1];
	struct sigevent sev = { 0 };
	struct fqdn_lookup *l;
	int r;

	if (isempty(o->fqdn))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->osinfo = o;
	strscpy(l->host, sizeof(l->host), o->fqdn);
	l->hints.ai_family = AF_INET;
	l->hints.ai_flags = AI_CANONNAME;
	l->cb.ar_name = l->host;
	l->cb.ar_request = &l->hints;
	l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->efd < 0) {
		free(l);
		return negative_errno();
	}
	r = sd_event_add_io(e, &l->src, l->efd, EPOLLIN, fqdn_done, l);
	if (r < 0)
		goto fail;
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = fqdn_notify;
	sev.sigev_value.sival_ptr = l;
	list[0] = &l->cb;
	r = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
	if (r != 0) {
		r = -EAGAIN;
		goto fail;
	}
	return 0;
fail:
	sd_event_source_disable_unref(l->src);
	close(l->efd);
	free(l);
	return r;
}

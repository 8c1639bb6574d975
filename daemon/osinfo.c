/* SPDX-License-Identifier: GPL-2.0-or-later */
/* osinfo.c - values of the auto pool, formatted as upstream hv_kvp_daemon does. */
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "osinfo.h"
#include "util.h"

/* os-release files are a few hundred bytes; anything this big is not one. */
#define RELEASE_FILE_MAX (64 * 1024)

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
	char path[4096];
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
		_cleanup_free_ char *text = NULL;

		snprintf(path, sizeof(path), "%s%s", root, release_files[i]);
		if (read_file_bounded(path, 0, RELEASE_FILE_MAX, &text, NULL) == 0) {
			osinfo_parse_os_release(o, text);
			found = true;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(legacy_files) && !found; i++) {
		_cleanup_free_ char *text = NULL;

		snprintf(path, sizeof(path), "%s%s", root, legacy_files[i]);
		if (read_file_bounded(path, 0, RELEASE_FILE_MAX, &text, NULL) == 0) {
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

int osinfo_addresses_from(const struct ifaddrs *list, int family, char *buf, size_t size)
{
	size_t off = 0;

	if (size == 0)
		return -ENOBUFS;
	buf[0] = '\0';
	for (const struct ifaddrs *i = list; i; i = i->ifa_next) {
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
		if (off + len + (off ? 1 : 0) + 1 > size)
			return -ENOBUFS; /* keep what fits, as a list that ends early */
		if (off)
			buf[off++] = ';';
		memcpy(buf + off, addr, len + 1);
		off += len;
	}
	return 0;
}

int osinfo_addresses(int family, char *buf, size_t size)
{
	struct ifaddrs *list;
	int r;

	if (size == 0)
		return -ENOBUFS;
	buf[0] = '\0';
	if (getifaddrs(&list) < 0)
		return negative_errno();
	r = osinfo_addresses_from(list, family, buf, size);
	freeifaddrs(list);
	return r;
}

static void refresh_hostname(struct osinfo *o)
{
	char now[256] = "";

	if (!o->event || gethostname(now, sizeof(now) - 1) < 0 || isempty(now) ||
	    streq(now, o->hostname))
		return;
	osinfo_lookup_cancel(o);
	strscpy(o->fqdn, sizeof(o->fqdn), now);
	(void)osinfo_lookup_fqdn_async(o, o->event);
}

int osinfo_enumerate(struct osinfo *o, uint32_t index, char *key, size_t key_size, char *value,
		     size_t value_size)
{
	const char *v = NULL;

	if (index >= OSINFO_KEY_COUNT)
		return -ENOENT;
	strscpy(key, key_size, key_names[index]);
	switch (index) {
	case 0:
		refresh_hostname(o);
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
#include <sys/prctl.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>

/*
 * The lookup runs in a forked child (no exec) that writes the canonical name
 * to a pipe and exits. The daemon never blocks on a resolver, and never
 * loads the resolver's threads, NSS modules and unwinder into its own
 * memory (about 450 KiB of resident memory with getaddrinfo_a()).
 */
struct fqdn_lookup {
	struct osinfo *osinfo;
	sd_event_source *src;
	pid_t pid;
	int fd;
	size_t len;
	char buf[256];
};

/* A canonical name that takes longer than this is not worth waiting for
 * (the plain host name is served meanwhile); the resolver's own timeouts
 * (5 s per server and attempt) would let it run for half a minute. */
#define FQDN_CHILD_MAX_SEC 15

int osinfo_child_setup(pid_t parent)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	/* Die with the daemon. The daemon may already be gone (kill -9 between
	 * fork() and here): then our parent is not the one that forked us, and
	 * PDEATHSIG, armed too late, would never fire. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return negative_errno();
	if (getppid() != parent)
		return -ESRCH;

	/* The daemon blocks SIGTERM/SIGINT for sd-event's signalfd and ignores
	 * SIGPIPE/SIGHUP; a child keeping that would shrug off the SIGTERM that
	 * systemd sends the whole unit on stop, and hold a restart until the
	 * resolver gives up. Dispositions first, so that a SIGTERM already
	 * pending acts as soon as the mask opens. Signals the C library keeps
	 * for itself refuse SIG_DFL; that is fine. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return negative_errno();

	/* SIGALRM's default action ends the child even inside the resolver */
	alarm(FQDN_CHILD_MAX_SEC);
	return 0;
}

static _Noreturn void fqdn_child(int fd, const char *host, pid_t parent)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_flags = AI_CANONNAME }, *res = NULL;

	/* hold nothing of the daemon's (the KVP device has a single opener, and
	 * a reopen must not wait for this child) */
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0U, 0);
	if (osinfo_child_setup(parent) < 0)
		_exit(1);

	if (getaddrinfo(host, NULL, &hints, &res) == 0 && res && res->ai_canonname)
		(void)loop_write(fd, res->ai_canonname, strnlen(res->ai_canonname, 255));
	_exit(0);
}

static int fqdn_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct fqdn_lookup *l = userdata;
	ssize_t n = read(fd, l->buf + l->len, sizeof(l->buf) - 1 - l->len);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n > 0) {
		l->len += (size_t)n;
		if (l->len < sizeof(l->buf) - 1)
			return 0; /* more may come */
	}
	/* EOF (or full): the child is done */
	l->buf[l->len] = '\0';
	if (l->len > 0 && utf8_valid(l->buf, l->len))
		osinfo_set_fqdn(l->osinfo, l->buf);
	(void)waitpid(l->pid, NULL, 0);
	l->osinfo->lookup = NULL;
	sd_event_source_disable_unref(l->src);
	close(l->fd);
	free(l);
	return 0;
}

void osinfo_lookup_cancel(struct osinfo *o)
{
	struct fqdn_lookup *l = o->lookup;

	if (!l)
		return;
	kill(l->pid, SIGKILL);
	(void)waitpid(l->pid, NULL, 0);
	sd_event_source_disable_unref(l->src);
	close(l->fd);
	free(l);
	o->lookup = NULL;
}

int osinfo_lookup_fqdn_async(struct osinfo *o, sd_event *e)
{
	struct fqdn_lookup *l;
	pid_t self = getpid();
	int p[2], r;

	if (isempty(o->fqdn))
		return -EINVAL;
	o->event = e;
	strscpy(o->hostname, sizeof(o->hostname), o->fqdn);
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->osinfo = o;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(l);
		return negative_errno();
	}
	l->pid = fork();
	if (l->pid < 0) {
		r = negative_errno();
		goto fail;
	}
	if (l->pid == 0) {
		close(p[0]);
		fqdn_child(p[1], o->fqdn, self);
	}
	close(p[1]);
	p[1] = -1;
	l->fd = p[0];
	r = sd_event_add_io(e, &l->src, l->fd, EPOLLIN, fqdn_done, l);
	if (r < 0) {
		kill(l->pid, SIGKILL);
		(void)waitpid(l->pid, NULL, 0);
		goto fail;
	}
	o->lookup = l;
	return 0;
fail:
	safe_close(p[0]);
	safe_close(p[1]);
	free(l);
	return r;
}

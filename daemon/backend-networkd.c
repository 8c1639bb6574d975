/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backend-networkd.c - failover settings as a .network file that systemd-networkd applies, for links it manages. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>

#include "backend.h"
#include "backend-networkd.h"
#include "dns.h"
#include "log.h"
#include "netlink.h"
#include "util.h"

/*
 * How it works: the settings become one .network file per adapter; networkd
 * is told over D-Bus to reload its files and reconfigure the link, and we
 * poll (bounded by the transaction's deadline) until the kernel holds what
 * the file says. The file is the persistence; rolling back means putting
 * the previous file (or nothing) back and asking networkd again.
 *
 * The file name: networkd applies to a link the first .network file, in
 * lexical order of the file names across /etc, /run and /usr/lib/systemd/
 * network, whose [Match] fits. "05-hvkvpd-<mac>" sorts before netplan's
 * /run/systemd/network/10-netplan-<id>.network, cloud-init's
 * 10-cloud-init-<if>.network, systemd's own 80-*.network and the NN- names
 * (20..99) admins and distributions use, so ours wins for this adapter. A
 * file with a smaller name that matches the link (00-..04-) still beats
 * it; the apply then fails naming that file rather than pretending. The
 * MAC (not the interface name) keys the file name so that a rename cannot
 * leave a second file behind.
 *
 * The match: never the MAC alone. With accelerated networking the SR-IOV
 * VF carries the synthetic NIC's MAC, and a MAC-only file would configure
 * the same addresses on the VF too. For a NIC bound to hv_netvsc we add
 * Driver=hv_netvsc (the VF's driver is mlx4/mlx5/mana), which also survives
 * a rename; for anything else (a veth in the tests, a NIC named by hand
 * through hvkvpctl) Name=<ifname>, which the VF never has.
 */

#define ND_BUS_NAME "org.freedesktop.network1"
#define ND_BUS_PATH "/org/freedesktop/network1"
#define ND_BUS_MANAGER "org.freedesktop.network1.Manager"
#define ND_BUS_LINK "org.freedesktop.network1.Link"
#define RESOLVED_BUS_NAME "org.freedesktop.resolve1"

#define ND_NETWORK_DIR "/etc/systemd/network"
#define ND_FILE_PREFIX "05-hvkvpd-"
/* networkd's per-link state (what networkctl and sd-network read): the
 * keys used here (ADMIN_STATE, NETWORK_FILE, DNS) have kept their meaning
 * since networkd's early releases; the only bus alternative for the file
 * in use (Link.Describe) is newer and returns JSON. */
#define ND_LINKS_DIR "/run/systemd/netif/links"

#define ND_POLL_USEC (50 * 1000ULL)
/* Right after Reload/ReconfigureLink networkd's state still describes the
 * previous configuration; only after this long do we believe a "failed"
 * state or another file in use. */
#define ND_SETTLE_USEC (1000 * 1000ULL)
/* How long after Reload we look for networkd reconfiguring the link by
 * itself before asking it to (see nd_reconfigure). */
#define ND_RELOAD_GRACE_USEC (500 * 1000ULL)
/* Once the essentials are there, how long we still wait for networkd to
 * drop the previous file's addresses before answering anyway. */
#define ND_TIDY_USEC (2 * 1000 * 1000ULL)
/* A rollback after an apply that used up the deadline still gets this long. */
#define ND_ROLLBACK_MIN_USEC (4 * 1000 * 1000ULL)
/* A networkd that does not answer a probe within this is taken as absent
 * for the D-Bus part (then its state file is read). */
#define ND_PROBE_TIMEOUT_USEC (2 * 1000 * 1000ULL)
#define ND_FILE_MAX (64 * 1024)
#define ND_STATE_MAX (16 * 1024)

struct nd_snapshot;

struct nd {
	struct nl_sock *sk;
	struct link_state now; /* scratch for the polls */
};

struct nd_snapshot {
	char path[PATH_MAX];   /* our file for this adapter */
	char *content;	       /* its content before the apply; NULL: there was none */
	bool file_written;     /* apply changed it */
	bool bus_touched;      /* apply asked networkd to reload/reconfigure */
	char prev_file[PATH_MAX]; /* the .network file networkd used; "" none */
	char prev_admin[32];	  /* networkd's ADMIN_STATE for the link then */
	struct link_state link;
	struct dns_snapshot *dns;
	bool dns_changed;
};

/* ---- small file helpers ---------------------------------------------------------- */

static int fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return negative_errno();
	return 0;
}

/* Replaces path atomically with text (0644: networkd reads it as its own
 * user), then syncs the directory. The temporary file's name has no
 * .network suffix, so networkd never reads it. */
static int write_network_file(const char *dir, const char *path, const char *text)
{
	int r;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return negative_errno();
	r = write_file_atomic(path, text, 0644);
	return r < 0 ? r : fsync_dir(dir);
}

/* ---- what networkd says ---------------------------------------------------------- */

/* "192.0.2.53 2001:db8::53%3#dns.example [2001:db8::54]:53" -> addresses.
 * Ports, interface scopes and server names are dropped. */
static size_t parse_dns_list(const char *v, struct failover_ip *out, size_t max)
{
	size_t n = 0;

	while (*v && n < max) {
		char tok[FAILOVER_MAX_TOKEN + 1], *p = tok, *end;
		size_t len = strcspn(v, " \t");

		if (len == 0) {
			v++;
			continue;
		}
		if (len < sizeof(tok)) {
			memcpy(tok, v, len);
			tok[len] = '\0';
			if (*p == '[') {
				p++;
				end = strchr(p, ']');
				if (end)
					*end = '\0';
			}
			p[strcspn(p, "%#")] = '\0';
			/* a single ':' is an IPv4 address with a port */
			end = strchr(p, ':');
			if (end && !strchr(end + 1, ':'))
				*end = '\0';
			memset(&out[n], 0, sizeof(out[n]));
			if (inet_pton(AF_INET, p, &out[n].addr.in) == 1)
				out[n++].family = AF_INET;
			else if (inet_pton(AF_INET6, p, &out[n].addr.in6) == 1)
				out[n++].family = AF_INET6;
		}
		v += len;
	}
	return n;
}

void nd_link_file_parse(char *text, struct nd_link_file *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (char *line = text, *next; line && *line; line = next) {
		char *eq;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		eq = strchr(line, '=');
		if (line[0] == '#' || !eq)
			continue;
		*eq = '\0';
		if (streq(line, "ADMIN_STATE"))
			strscpy(ret->admin, sizeof(ret->admin), eq + 1);
		else if (streq(line, "NETWORK_FILE"))
			strscpy(ret->network_file, sizeof(ret->network_file), eq + 1);
		else if (streq(line, "DNS"))
			ret->n_dns = parse_dns_list(eq + 1, ret->dns, ARRAY_SIZE(ret->dns));
	}
}

static int read_link_file(int ifindex, struct nd_link_file *ret)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	int r;

	memset(ret, 0, sizeof(*ret));
	snprintf(path, sizeof(path), ND_LINKS_DIR "/%d", ifindex);
	r = read_file_bounded(path, 0, ND_STATE_MAX, &text, NULL);
	if (r < 0)
		return r;
	nd_link_file_parse(text, ret);
	return 0;
}

/* The D-Bus view of the link's administrative state (probe). */
static int bus_admin_state(sd_bus *bus, int ifindex, char *buf, size_t size)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *name, *path;
	char *state = NULL;
	int r;

	r = sd_bus_call_method(bus, ND_BUS_NAME, ND_BUS_PATH, ND_BUS_MANAGER, "GetLinkByIndex", &err,
			       &reply, "i", ifindex);
	if (r >= 0)
		r = sd_bus_message_read(reply, "so", &name, &path);
	if (r >= 0)
		r = sd_bus_get_property_string(bus, ND_BUS_NAME, path, ND_BUS_LINK,
					       "AdministrativeState", &err, &state);
	sd_bus_error_free(&err);
	if (r < 0)
		return r;
	strscpy(buf, size, state);
	free(state);
	return 0;
}

/* The IPv4 DHCP client setting of a .network file ([Network] DHCP=, last
 * one wins; drop-ins are not read): 1, 0, or negative errno. */
static int network_file_dhcp4(const char *path)
{
	_cleanup_free_ char *text = NULL;
	bool in_network = false;
	int dhcp4 = 0, r;

	r = read_file_bounded(path, 0, ND_FILE_MAX, &text, NULL);
	if (r < 0)
		return r;
	for (char *line = text, *next; line && *line; line = next) {
		char *p = line, *v, *end;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p += strspn(p, " \t");
		if (*p == '#' || *p == ';' || !*p)
			continue;
		if (*p == '[') {
			in_network = strncmp(p, "[Network]", 9) == 0;
			continue;
		}
		v = strchr(p, '=');
		if (!in_network || !v)
			continue;
		for (end = v; end > p && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		if ((size_t)(end - p) != 4 || strncmp(p, "DHCP", 4) != 0)
			continue;
		v++;
		v += strspn(v, " \t");
		v[strcspn(v, " \t\r")] = '\0';
		dhcp4 = streq(v, "yes") || streq(v, "true") || streq(v, "on") || streq(v, "1") ||
			streq(v, "ipv4") || streq(v, "both") || streq(v, "v4");
	}
	return dhcp4;
}

/* ---- D-Bus calls ------------------------------------------------------------------ */

/* Calls a Manager method taking no argument (ifindex <= 0) or an ifindex,
 * within the deadline. Logs its failure. */
static int nd_call(sd_bus *bus, const char *member, const struct adapter *a, int ifindex,
		   uint64_t deadline)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	uint64_t now = now_usec();
	int r;

	if (now >= deadline)
		return log_error_errno(-ETIMEDOUT, "%s: no time left to call systemd-networkd's %s",
				       a->ifname, member);
	r = sd_bus_message_new_method_call(bus, &m, ND_BUS_NAME, ND_BUS_PATH, ND_BUS_MANAGER, member);
	if (r >= 0 && ifindex > 0)
		r = sd_bus_message_append(m, "i", ifindex);
	if (r >= 0)
		r = sd_bus_call(bus, m, deadline - now, &err, NULL);
	if (r < 0)
		log_error_errno(r, "%s: systemd-networkd's %s failed: %s", a->ifname, member,
				err.message ? err.message : strerror(-r));
	sd_bus_error_free(&err);
	if (r >= 0)
		return 0;
	/* whatever networkd or the bus said (ENOENT, ENODEV, EINVAL... would
	 * reach the host as HV_S_CONT, HV_GUID_NOTFOUND, HV_INVALIDARG), the
	 * host's request was fine: a plain failure */
	return r == -ETIMEDOUT || r == -EACCES || r == -EPERM ? r : -EIO;
}

/* Notes whether networkd announced a new AdministrativeState of the link. */
static int on_link_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	bool *changed = userdata;
	const char *iface, *prop;
	char **invalidated = NULL;
	int r;

	r = sd_bus_message_read(m, "s", &iface);
	if (r < 0 || !streq(iface, ND_BUS_LINK))
		return 0;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return 0;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		if (sd_bus_message_read(m, "s", &prop) < 0)
			return 0;
		if (streq(prop, "AdministrativeState")) {
			*changed = true;
			return 0;
		}
		if (sd_bus_message_skip(m, "v") < 0 || sd_bus_message_exit_container(m) < 0)
			return 0;
	}
	if (r < 0 || sd_bus_message_exit_container(m) < 0)
		return 0;
	if (sd_bus_message_read_strv(m, &invalidated) < 0)
		return 0;
	for (char **p = invalidated; p && *p; p++)
		if (streq(*p, "AdministrativeState"))
			*changed = true;
	for (char **p = invalidated; p && *p; p++)
		free(*p);
	free(invalidated);
	return 0;
}

/* Dispatches the bus until *changed or `until`: 1 changed, 0 not, < 0 error. */
static int wait_link_changed(sd_bus *bus, const bool *changed, uint64_t until)
{
	for (;;) {
		uint64_t t;
		int r = sd_bus_process(bus, NULL);

		if (r < 0)
			return r;
		if (*changed)
			return 1;
		if (r > 0)
			continue;
		t = now_usec();
		if (t >= until)
			return 0;
		r = sd_bus_wait(bus, until - t);
		if (r < 0 && r != -EINTR)
			return r;
	}
}

/*
 * Reload makes networkd read our file; the link must then be reconfigured.
 * networkd 248 and later do that from Reload for every link whose file
 * changed, older ones only on ReconfigureLink, and calling both on a newer
 * one runs two reconfigurations back to back, the second tearing down what
 * the first just set (our wait could end between them). So: Reload, watch
 * the link's AdministrativeState over the bus for ND_RELOAD_GRACE_USEC, and
 * ask for ReconfigureLink only when networkd did not start on its own.
 */
static int nd_reconfigure(const struct adapter *a, bool reload, uint64_t deadline)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
	const char *name, *path;
	bool changed = false;
	int r;

	r = sd_bus_open_system(&bus);
	if (r < 0)
		return log_error_errno(r, "%s: cannot connect to the system bus to reach systemd-networkd",
				       a->ifname);
	/* every call below, not only those with an explicit timeout, ends
	 * by the deadline: a hung networkd must not hold the host's reply */
	if (now_usec() < deadline)
		(void)sd_bus_set_method_call_timeout(bus, deadline - now_usec());
	if (!reload)
		return nd_call(bus, "ReconfigureLink", a, a->ifindex, deadline);

	/* no link object (yet): just Reload + ReconfigureLink */
	r = sd_bus_call_method(bus, ND_BUS_NAME, ND_BUS_PATH, ND_BUS_MANAGER, "GetLinkByIndex", NULL,
			       &reply, "i", a->ifindex);
	if (r >= 0)
		r = sd_bus_message_read(reply, "so", &name, &path);
	if (r >= 0)
		r = sd_bus_match_signal(bus, &slot, ND_BUS_NAME, path, "org.freedesktop.DBus.Properties",
					"PropertiesChanged", on_link_changed, &changed);
	if (r < 0)
		log_debug_errno(r, "%s: cannot watch networkd's link object", a->ifname);

	r = nd_call(bus, "Reload", a, 0, deadline);
	if (r < 0)
		return r;
	if (slot) {
		r = wait_link_changed(bus, &changed, MIN(deadline, now_usec() + ND_RELOAD_GRACE_USEC));
		if (r > 0) {
			log_debug("%s: networkd reconfigures the link on Reload", a->ifname);
			return 0;
		}
	}
	return nd_call(bus, "ReconfigureLink", a, a->ifindex, deadline);
}

/* ---- the file --------------------------------------------------------------------- */

static int nd_path(const struct adapter *a, char *buf, size_t size)
{
	char key[ADAPTER_MAC_KEY_SIZE];

	/* the MAC's one spelling (adapter.h), as in the state file's name */
	if (adapter_mac_key(a->mac, key, sizeof(key)) < 0)
		return -EOPNOTSUPP; /* not an Ethernet MAC: MACAddress= cannot match it */
	snprintf(buf, size, ND_NETWORK_DIR "/" ND_FILE_PREFIX "%s.network", key);
	return 0;
}

/* Name= takes glob patterns: only names that cannot be one are written. */
static bool ifname_literal(const char *name)
{
	if (isempty(name))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.' || *p == '@'))
			return false;
	return true;
}

struct sbuf {
	char *buf;
	size_t size, len;
	bool overflow;
};

static void _printf_(2, 3) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	k = vsnprintf(b->buf + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= b->size - b->len)
		b->overflow = true;
	else
		b->len += (size_t)k;
}

/* Only values we parsed into binary and our own words reach the file:
 * nothing the host sent is copied as text. */
static int nd_render(const struct adapter *a, const struct failover_settings *s, char **ret)
{
	struct sbuf b = { .size = ND_FILE_MAX };
	unsigned v4, v6;
	char ip[INET6_ADDRSTRLEN];

	if (!a->netvsc && !ifname_literal(a->ifname))
		return log_error_errno(-EOPNOTSUPP,
				       "%s: this interface name cannot be matched literally in a .network file",
				       a->ifname);
	b.buf = malloc(b.size);
	if (!b.buf)
		return -ENOMEM;
	failover_count(s, &v4, &v6);
	sb_printf(&b,
		  "# Written by hvkvpd: the failover IP settings the Hyper-V host set for the\n"
		  "# adapter %s. The host's next settings replace this file; hvkvpd\n"
		  "# rewrites it and restores the previous one if networkd cannot apply it.\n"
		  "# The name starts with 05- so that networkd picks it before netplan's\n"
		  "# 10-netplan-*.network and the usual NN- files that match this link.\n\n",
		  a->mac);
	sb_printf(&b, "[Match]\nMACAddress=%s\n", a->mac);
	/* never the MAC alone: the SR-IOV VF shares it (see the top of this file) */
	if (a->netvsc)
		sb_printf(&b, "Driver=hv_netvsc\n");
	else
		sb_printf(&b, "Name=%s\n", a->ifname);

	sb_printf(&b, "\n[Network]\nDHCP=%s\n", s->dhcp4 ? "ipv4" : "no");
	/* DHCPEnabled is about IPv4; without a static IPv6 address from the
	 * host, IPv6 comes from router advertisements as before */
	sb_printf(&b, "IPv6AcceptRA=%s\n", v6 ? "no" : "yes");
	/* replica NICs may start disconnected: configure them anyway */
	sb_printf(&b, "ConfigureWithoutCarrier=yes\n");
	for (size_t i = 0; i < s->n_addrs; i++)
		sb_printf(&b, "Address=%s/%u\n",
			  failover_ip_to_string(s->addrs[i].family, &s->addrs[i].addr, ip, sizeof(ip)),
			  s->addrs[i].prefixlen);
	for (size_t i = 0; i < s->n_dns; i++)
		sb_printf(&b, "DNS=%s\n",
			  failover_ip_to_string(s->dns[i].family, &s->dns[i].addr, ip, sizeof(ip)));
	/* the host's DNS servers are the link's, exactly: none from a lease or
	 * a router advertisement besides them (sections only where a client
	 * that could bring some runs) */
	if (s->n_dns && s->dhcp4)
		sb_printf(&b, "\n[DHCPv4]\nUseDNS=no\n");
	if (s->n_dns && !v6)
		sb_printf(&b, "\n[IPv6AcceptRA]\nUseDNS=no\n\n[DHCPv6]\nUseDNS=no\n");
	/* one [Route] per gateway: a bare Gateway= line would give every
	 * default route the same metric, losing the host's order */
	for (size_t i = 0; i < s->n_gateways; i++) {
		const struct failover_ip *g = &s->gateways[i];

		sb_printf(&b, "\n[Route]\nGateway=%s\nMetric=%u\n",
			  failover_ip_to_string(g->family, &g->addr, ip, sizeof(ip)),
			  link_gateway_metric(s, i));
		if (link_gateway_onlink(s, g))
			sb_printf(&b, "GatewayOnLink=yes\n");
	}
	if (b.overflow) {
		free(b.buf);
		return log_error_errno(-ENOBUFS, "%s: the .network file would exceed %u bytes",
				       a->ifname, ND_FILE_MAX);
	}
	*ret = b.buf;
	return 0;
}

/* ---- checking what networkd did --------------------------------------------------- */

struct nd_progress {
	bool done;	/* everything as wanted */
	bool essential; /* our file in use, addresses, routes (with carrier), DNS */
	bool failed;	/* networkd gave up, or will never use our file */
	int error;	/* with failed: the negative errno to answer with */
	bool carrier;
	bool unmanaged;	     /* networkd does not manage the link (now) */
	bool missing_addrs;  /* check_restored: a previous address is not back */
	char why[320]; /* what is missing, or why it failed */
};

static bool have_dns(const struct nd_link_file *lf, const struct failover_ip *d)
{
	for (size_t i = 0; i < lf->n_dns; i++)
		if (lf->dns[i].family == d->family &&
		    memcmp(&lf->dns[i].addr, &d->addr,
			   d->family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr)) == 0)
			return true;
	return false;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Is our file the one networkd applies, and has it not given up on it?
 * False with p->why (and p->failed when that will not change). */
static bool check_file_in_use(const struct nd_link_file *lf, const char *path, bool settled,
			      struct nd_progress *p)
{
	if (!streq(lf->network_file, path)) {
		/* a matching file whose name sorts before ours wins for good */
		if (settled && !isempty(lf->network_file) &&
		    strcmp(base_name(lf->network_file), base_name(path)) < 0) {
			p->failed = true;
			strprintf(p->why, sizeof(p->why),
				  "networkd applies %s, whose name sorts before %s, so ours is never used",
				  lf->network_file, base_name(path));
		} else
			strprintf(p->why, sizeof(p->why), "networkd does not use %s yet (%s: %s)",
				  base_name(path), isempty(lf->admin) ? "no state" : lf->admin,
				  isempty(lf->network_file) ? "no file" : lf->network_file);
		return false;
	}
	if (settled && (streq(lf->admin, "failed") || streq(lf->admin, "linger"))) {
		p->failed = true;
		strprintf(p->why, sizeof(p->why),
			  "networkd's state of the link is '%s' (its journal tells why)", lf->admin);
		return false;
	}
	return true;
}

/* Does the link hold every address of the settings, usable (through DAD)?
 * False with p->why (and p->failed for a duplicate address). */
static bool check_addresses(const struct link_state *now, const struct failover_settings *s,
			    struct nd_progress *p)
{
	char ip[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < s->n_addrs; i++) {
		const struct link_addr *x;
		struct link_addr want;

		link_addr_from_failover(&s->addrs[i], &want);
		failover_ip_to_string(want.family, &want.addr, ip, sizeof(ip));
		x = link_find_addr(now, &want);
		if (!x) {
			strprintf(p->why, sizeof(p->why), "the address %s/%u is not on the link", ip,
				  want.prefixlen);
			return false;
		}
		if (x->flags & IFA_F_DADFAILED) {
			p->failed = true;
			p->error = -EADDRINUSE;
			strprintf(p->why, sizeof(p->why),
				  "another host on the network has the address %s (duplicate address detection failed)",
				  ip);
			return false;
		}
		/* an IPv6 address is usable once DAD is through; that needs a carrier */
		if ((x->flags & IFA_F_TENTATIVE) && now->carrier) {
			strprintf(p->why, sizeof(p->why),
				  "the address %s/%u is still tentative (duplicate address detection)", ip,
				  want.prefixlen);
			return false;
		}
	}
	return true;
}

/* Is every static address on the link one of the settings? networkd drops
 * the previous file's addresses on reconfiguring, a little later. */
static bool check_old_addresses_gone(const struct link_state *now,
				     const struct failover_settings *s, struct nd_progress *p)
{
	char ip[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < now->n_addrs; i++) {
		bool wanted = false;

		if (!link_addr_static(&now->addrs[i]))
			continue;
		for (size_t j = 0; j < s->n_addrs && !wanted; j++) {
			struct link_addr want;

			link_addr_from_failover(&s->addrs[j], &want);
			wanted = link_addr_equal(&now->addrs[i], &want);
		}
		if (!wanted) {
			strprintf(p->why, sizeof(p->why), "the old address %s/%u is still on the link",
				  failover_ip_to_string(now->addrs[i].family, &now->addrs[i].addr, ip,
							sizeof(ip)),
				  now->addrs[i].prefixlen);
			return false;
		}
	}
	return true;
}

static void check_applied(struct nd *n, const struct adapter *a, const struct failover_settings *s,
			  const char *path, bool settled, struct nd_progress *p)
{
	struct link_state *now = &n->now;
	struct nd_link_file lf;
	char ip[INET6_ADDRSTRLEN];
	int r;

	memset(p, 0, sizeof(*p));
	r = read_link_file(a->ifindex, &lf);
	if (r < 0) {
		strprintf(p->why, sizeof(p->why), "networkd's state of the link is unreadable (%s)",
			  strerror(-r));
		return;
	}
	if (!check_file_in_use(&lf, path, settled, p))
		return;
	r = nlx_read_link(n->sk, a->ifindex, now);
	if (r < 0) {
		strprintf(p->why, sizeof(p->why), "cannot read the link: %s", strerror(-r));
		return;
	}
	p->carrier = now->carrier;
	if (!check_addresses(now, s, p))
		return;
	/* without a carrier networkd holds the routes back; they follow it */
	for (size_t i = 0; i < s->n_gateways && now->carrier; i++) {
		struct link_route want;

		link_route_from_gateway(s, i, &want);
		if (!link_find_route(now->routes, now->n_routes, &want)) {
			strprintf(p->why, sizeof(p->why), "no default route via %s (metric %u)",
				  failover_ip_to_string(want.family, &want.gateway, ip, sizeof(ip)),
				  want.metric);
			return;
		}
	}
	for (size_t i = 0; i < s->n_dns; i++)
		if (!have_dns(&lf, &s->dns[i])) {
			strprintf(p->why, sizeof(p->why), "networkd does not list the DNS server %s yet",
				  failover_ip_to_string(s->dns[i].family, &s->dns[i].addr, ip,
							sizeof(ip)));
			return;
		}
	p->essential = true;
	/* wait for the old addresses to go too, so that the host's reply
	 * describes the final link */
	p->done = check_old_addresses_gone(now, s, p);
}

/* Back as in the snapshot: the same file in use (or, when there was none,
 * not ours) and the same static addresses. */
static void check_restored(struct nd *n, const struct adapter *a, const struct nd_snapshot *snap,
			   struct nd_progress *p)
{
	struct link_state *now = &n->now;
	struct nd_link_file lf;
	char ip[INET6_ADDRSTRLEN];
	bool want_other = isempty(snap->prev_file) ||
			  (streq(snap->prev_file, snap->path) && !snap->content);
	int r;

	memset(p, 0, sizeof(*p));
	r = read_link_file(a->ifindex, &lf);
	if (r < 0 && r != -ENOENT) {
		strprintf(p->why, sizeof(p->why), "networkd's state of the link is unreadable (%s)",
			  strerror(-r));
		return;
	}
	p->unmanaged = r == -ENOENT || streq(lf.admin, "unmanaged");
	if (want_other ? streq(lf.network_file, snap->path) : !streq(lf.network_file, snap->prev_file)) {
		strprintf(p->why, sizeof(p->why), "networkd still uses %s",
			  isempty(lf.network_file) ? "no file" : lf.network_file);
		return;
	}
	if (streq(snap->prev_admin, "unmanaged") && !p->unmanaged) {
		strprintf(p->why, sizeof(p->why), "networkd still manages the link (%s)", lf.admin);
		return;
	}
	r = nlx_read_link(n->sk, a->ifindex, now);
	if (r < 0) {
		strprintf(p->why, sizeof(p->why), "cannot read the link: %s", strerror(-r));
		return;
	}
	for (size_t i = 0; i < snap->link.n_addrs; i++)
		if (link_addr_static(&snap->link.addrs[i]) && !link_find_addr(now, &snap->link.addrs[i])) {
			p->missing_addrs = true;
			strprintf(p->why, sizeof(p->why), "the address %s/%u is not back",
				  failover_ip_to_string(snap->link.addrs[i].family,
							&snap->link.addrs[i].addr, ip, sizeof(ip)),
				  snap->link.addrs[i].prefixlen);
			return;
		}
	p->essential = true;
	for (size_t i = 0; i < now->n_addrs; i++)
		if (link_addr_static(&now->addrs[i]) && !link_find_addr(&snap->link, &now->addrs[i])) {
			strprintf(p->why, sizeof(p->why), "the address %s/%u is still on the link",
				  failover_ip_to_string(now->addrs[i].family, &now->addrs[i].addr, ip,
							sizeof(ip)),
				  now->addrs[i].prefixlen);
			return;
		}
	p->done = true;
}

/* Polls until done, failed or the deadline (or ND_TIDY_USEC after the
 * essentials); returns the last progress. */
static void wait_applied(struct nd *n, const struct adapter *a, const struct failover_settings *s,
			 const char *path, uint64_t deadline, struct nd_progress *p)
{
	uint64_t start = now_usec(), essential_at = 0;

	for (;;) {
		uint64_t t = now_usec();

		check_applied(n, a, s, path, t - start >= ND_SETTLE_USEC, p);
		if (p->essential && !essential_at)
			essential_at = t;
		if (p->done || p->failed || t >= deadline ||
		    (essential_at && t - essential_at >= ND_TIDY_USEC))
			return;
		usleep((useconds_t)MIN(ND_POLL_USEC, deadline - t));
	}
}

/* ---- the ops ---------------------------------------------------------------------- */

/* the struct starts with its netlink socket, as backend_nl_data_new() wants */
_Static_assert(offsetof(struct nd, sk) == 0, "sk first");

static int nd_init(struct backend *b)
{
	return backend_nl_data_new(b, sizeof(struct nd));
}

static void nd_done(struct backend *b)
{
	backend_nl_data_free(b);
}

/* Ours when networkd runs and has taken the link (any state but
 * "unmanaged" or "linger"): asked over D-Bus, else from its state file. */
static int nd_probe(struct backend *b, const struct adapter *a)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	struct nd_link_file lf;
	char admin[32];
	int r;

	r = bus_name_has_owner(NULL, ND_BUS_NAME);
	if (r <= 0)
		return r;
	r = sd_bus_open_system(&bus);
	if (r >= 0) {
		(void)sd_bus_set_method_call_timeout(bus, ND_PROBE_TIMEOUT_USEC);
		r = bus_admin_state(bus, a->ifindex, admin, sizeof(admin));
	}
	if (r < 0) {
		log_debug("%s: networkd's AdministrativeState unavailable over D-Bus (%s); reading %s",
			  a->ifname, strerror(-r), ND_LINKS_DIR);
		r = read_link_file(a->ifindex, &lf);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
		strscpy(admin, sizeof(admin), lf.admin);
	}
	log_debug("%s: networkd's administrative state is '%s'", a->ifname, admin);
	return !isempty(admin) && !streq(admin, "unmanaged") && !streq(admin, "linger");
}

static void nd_snapshot_free(struct backend *b, void *p)
{
	struct nd_snapshot *snap = p;

	if (!snap)
		return;
	dns_snapshot_free(snap->dns);
	free(snap->content);
	free(snap);
}

static void nd_snapshot_freep(struct nd_snapshot **p)
{
	nd_snapshot_free(NULL, *p);
}

static int nd_snapshot(struct backend *b, const struct adapter *a, uint64_t deadline_usec,
		       struct backend_result *res, void **ret)
{
	struct nd *n = b->data;
	struct nd_snapshot *snap = calloc(1, sizeof(*snap));
	struct nd_link_file lf;
	int r;

	if (!snap)
		return -ENOMEM;
	r = nd_path(a, snap->path, sizeof(snap->path));
	if (r < 0) {
		log_error_errno(r, "%s: the MAC address '%s' cannot name a .network file; nothing changed",
				a->ifname, a->mac);
		goto fail;
	}
	r = read_file_bounded(snap->path, 0, ND_FILE_MAX, &snap->content, NULL);
	if (r < 0 && r != -ENOENT) {
		log_error_errno(r, "%s: cannot read %s; nothing changed", a->ifname, snap->path);
		if (r == -EFBIG)
			r = -EIO; /* too big to be ours, not a full disk */
		goto fail;
	}
	if (read_link_file(a->ifindex, &lf) == 0) {
		strscpy(snap->prev_file, sizeof(snap->prev_file), lf.network_file);
		strscpy(snap->prev_admin, sizeof(snap->prev_admin), lf.admin);
	}
	r = nlx_read_link(n->sk, a->ifindex, &snap->link);
	if (r < 0) {
		log_error_errno(r, "%s: cannot read the link; nothing changed", a->ifname);
		goto fail;
	}
	*ret = snap;
	return 0;
fail:
	nd_snapshot_free(b, snap);
	return r;
}

/* Without systemd-resolved nobody hands networkd's DNS= to the resolver:
 * then our servers also go into resolv.conf, as the netlink backend puts
 * them. With resolved, networkd passes them on itself and we stay out of
 * its way. The file holds the servers either way, so a resolv.conf that
 * cannot be rewritten is worth dns_set()'s warning, not a failed apply. */
static void nd_dns(struct nd_snapshot *snap, const struct adapter *a,
		   const struct failover_settings *s)
{
	if (bus_name_has_owner(NULL, RESOLVED_BUS_NAME) != 0)
		return;
	if (dns_set(a->ifname, a->ifindex, s->dns, s->n_dns, &snap->dns) == 0)
		snap->dns_changed = true;
}

static int nd_apply(struct backend *b, void *snapshot, const struct adapter *a,
		    const struct failover_settings *s, uint64_t deadline_usec,
		    struct backend_result *res)
{
	struct nd *n = b->data;
	struct nd_snapshot *snap = snapshot;
	_cleanup_free_ char *text = NULL;
	struct nd_progress p;
	uint64_t start = now_usec();
	bool changed;
	int r;

	r = nd_render(a, s, &text);
	if (r < 0)
		return r;
	changed = !snap->content || !streq(snap->content, text);
	if (!changed) {
		/* the same settings again: leave the link alone if networkd
		 * already holds them (no reconfiguration, no flap) */
		check_applied(n, a, s, snap->path, true, &p);
		if (p.done) {
			nd_dns(snap, a, s);
			res->waiting_for_carrier = !p.carrier;
			backend_result_set(res, false, s, "%s (%s)", s->dhcp4 ? ", DHCPv4" : "",
					   base_name(snap->path));
			return 0;
		}
		log_info("%s: %s is in place but not in effect (%s); asking networkd again", a->ifname,
			 snap->path, p.why);
	} else {
		/* set first: a failure after the rename (the directory's fsync)
		 * must still be rolled back; restoring the old file is harmless */
		snap->file_written = true;
		r = write_network_file(ND_NETWORK_DIR, snap->path, text);
		if (r < 0)
			return log_error_errno(r, "%s: cannot write %s", a->ifname, snap->path);
	}
	nd_dns(snap, a, s);
	snap->bus_touched = true;
	r = nd_reconfigure(a, true, deadline_usec);
	if (r < 0)
		return r;
	wait_applied(n, a, s, snap->path, deadline_usec, &p);
	if (p.failed)
		return log_error_errno(p.error ?: -EIO, "%s: systemd-networkd cannot apply %s: %s",
				       a->ifname, snap->path, p.why);
	if (!p.essential)
		return log_error_errno(-ETIMEDOUT,
				       "%s: systemd-networkd did not configure the link from %s within %.1f s: %s",
				       a->ifname, snap->path, (double)(now_usec() - start) / 1e6, p.why);
	if (!p.done)
		log_warning("%s: %s is in effect, but %s", a->ifname, snap->path, p.why);
	res->waiting_for_carrier = !p.carrier;
	backend_result_set(res, true, s, "%s (%s)", s->dhcp4 ? ", DHCPv4" : "",
			   base_name(snap->path));
	log_debug("%s: networkd configured the link from %s in %.0f ms", a->ifname, snap->path,
		  (double)(now_usec() - start) / 1e3);
	return 0;
}

static int nd_verify(struct backend *b, void *snapshot, const struct adapter *a,
		     const struct failover_settings *s, uint64_t deadline_usec,
		     struct backend_result *res)
{
	struct nd *n = b->data;
	_cleanup_free_ char *want = NULL, *have = NULL;
	struct nd_progress p;
	char path[PATH_MAX];
	int r;

	r = nd_path(a, path, sizeof(path));
	if (r < 0)
		return r;
	r = nd_render(a, s, &want);
	if (r < 0)
		return r;
	r = read_file_bounded(path, 0, ND_FILE_MAX, &have, NULL);
	if (r < 0)
		return log_error_errno(r, "%s: verify: cannot read %s back", a->ifname, path);
	if (!streq(want, have))
		return log_error_errno(-EIO, "%s: verify: %s changed under us", a->ifname, path);
	check_applied(n, a, s, path, true, &p);
	if (!p.essential)
		return log_error_errno(-EIO, "%s: verify: %s", a->ifname, p.why);
	res->waiting_for_carrier = !p.carrier;
	return 0;
}

/* Puts addresses and default routes of the snapshot back by hand: for a
 * link networkd did not manage before (a forced backend), whose previous
 * configuration networkd dropped and will not bring back. */
static int restore_unmanaged(struct nd *n, const struct adapter *a, const struct nd_snapshot *snap)
{
	struct link_state *now = &n->now;
	int r, first = 0;

	r = nlx_read_link(n->sk, a->ifindex, now);
	if (r < 0)
		return r;
	for (size_t i = 0; i < snap->link.n_addrs; i++)
		if (link_addr_static(&snap->link.addrs[i]) && !link_find_addr(now, &snap->link.addrs[i])) {
			r = nlx_addr_add(n->sk, a->ifindex, &snap->link.addrs[i]);
			if (r < 0 && r != -EEXIST && !first)
				first = r;
		}
	for (size_t i = 0; i < snap->link.n_routes; i++) {
		const struct link_route *x = &snap->link.routes[i];

		if (link_find_route(now->routes, now->n_routes, x))
			continue;
		r = nlx_default_route_add(n->sk, a->ifindex, x, false);
		if (r < 0 && r != -EEXIST && !first)
			first = r;
	}
	return first;
}

static int nd_rollback(struct backend *b, void *p, const struct adapter *a, uint64_t deadline_usec)
{
	struct nd *n = b->data;
	struct nd_snapshot *snap = p;
	uint64_t deadline = MAX(deadline_usec, now_usec() + ND_ROLLBACK_MIN_USEC);
	struct nd_progress prog = { 0 };
	uint64_t essential_at = 0;
	bool readded = false;
	int r, first = 0;

	if (snap->file_written) {
		if (snap->content)
			r = write_network_file(ND_NETWORK_DIR, snap->path, snap->content);
		else if (unlink(snap->path) < 0 && errno != ENOENT)
			r = negative_errno();
		else
			r = fsync_dir(ND_NETWORK_DIR);
		if (r < 0) {
			log_error_errno(r, "%s: cannot restore %s", a->ifname, snap->path);
			first = r;
		}
	}
	if (snap->dns_changed) {
		r = dns_restore(snap->dns);
		if (r < 0 && !first)
			first = log_error_errno(r, "%s: cannot restore the previous DNS servers",
						a->ifname);
	}
	if (!snap->bus_touched)
		return first;
	r = nd_reconfigure(a, snap->file_written, deadline);
	if (r < 0)
		return first ?: r;
	for (;;) {
		uint64_t t = now_usec();

		check_restored(n, a, snap, &prog);
		if (prog.missing_addrs && prog.unmanaged && streq(snap->prev_admin, "unmanaged") &&
		    !readded) {
			readded = true;
			r = restore_unmanaged(n, a, snap);
			if (r < 0 && !first)
				first = log_error_errno(r, "%s: cannot put the previous addresses back",
							a->ifname);
			continue;
		}
		if (prog.essential && !essential_at)
			essential_at = t;
		if (prog.done || t >= deadline || (essential_at && t - essential_at >= ND_TIDY_USEC))
			break;
		usleep((useconds_t)MIN(ND_POLL_USEC, deadline - t));
	}
	if (!prog.essential && !first)
		first = log_error_errno(-ETIMEDOUT,
					"%s: %s is restored, but networkd has not brought the link back yet: %s",
					a->ifname, snap->path, prog.why);
	return first;
}

static int nd_query(struct backend *b, const struct adapter *a, struct backend_link_info *ret)
{
	struct nd *n = b->data;
	struct nd_link_file lf;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = read_link_file(a->ifindex, &lf);
	if (r == 0) {
		ret->n_dns = MIN(lf.n_dns, ARRAY_SIZE(ret->dns));
		memcpy(ret->dns, lf.dns, ret->n_dns * sizeof(ret->dns[0]));
		ret->dns_known = true;
		if (!isempty(lf.network_file) && network_file_dhcp4(lf.network_file) > 0)
			ret->dhcp4 = true;
		ret->dhcp4_known = !isempty(lf.network_file);
	} else if (dns_get(a->ifname, a->ifindex, ret->dns, ARRAY_SIZE(ret->dns), &ret->n_dns) == 0)
		ret->dns_known = true;
	/* an IPv4 address with a lifetime is a lease, whatever the file says */
	if (!ret->dhcp4 && nlx_read_link(n->sk, a->ifindex, &n->now) == 0) {
		ret->dhcp4 = link_has_dynamic_ipv4(&n->now);
		ret->dhcp4_known = true;
	}
	return 0;
}

/* Revert: our file goes, networkd reloads, and the link's own .network
 * file applies again. The rollback machinery does exactly that for a file
 * that did not exist before: so it runs on a snapshot saying so, with the
 * link as it was before the first failover (when known) to wait for. */
static int nd_revert(struct backend *b, const struct adapter *a, const struct link_state *original,
		     bool dry_run, uint64_t deadline_usec, char *msg, size_t msg_size)
{
	_cleanup_(nd_snapshot_freep) struct nd_snapshot *snap = calloc(1, sizeof(*snap));
	struct nd *n = b->data;
	struct nd_link_file lf;
	struct stat st;
	int r;

	if (!snap)
		return -ENOMEM;
	r = nd_path(a, snap->path, sizeof(snap->path));
	if (r < 0) {
		strprintf(msg, msg_size, "the MAC address cannot name a .network file");
		return r;
	}
	if (lstat(snap->path, &st) < 0) {
		if (errno != ENOENT)
			return negative_errno();
		strprintf(msg, msg_size, "%s has no failover file (%s); nothing to revert", a->ifname,
			  snap->path);
		if (!dry_run && bus_name_has_owner(NULL, RESOLVED_BUS_NAME) == 0)
			(void)dns_set(a->ifname, a->ifindex, NULL, 0, NULL);
		return 0;
	}
	if (dry_run) {
		strprintf(msg, msg_size,
			  "would remove %s and have systemd-networkd reload, so that the link's own .network file applies again",
			  snap->path);
		return 0;
	}
	snap->file_written = true; /* content NULL: "there was none" */
	snap->bus_touched = true;
	if (original)
		snap->link = *original;
	else if (nlx_read_link(n->sk, a->ifindex, &snap->link) < 0)
		memset(&snap->link, 0, sizeof(snap->link));
	/* without resolved, our servers are in resolv.conf too (nd_dns) */
	if (bus_name_has_owner(NULL, RESOLVED_BUS_NAME) == 0)
		(void)dns_set(a->ifname, a->ifindex, NULL, 0, NULL);
	r = nd_rollback(b, snap, a, deadline_usec);
	if (r < 0) {
		strprintf(msg, msg_size, "removed %s, but systemd-networkd has not given the link its own configuration back: %s",
			  snap->path, strerror(-r));
		return r;
	}
	if (read_link_file(a->ifindex, &lf) < 0)
		memset(&lf, 0, sizeof(lf));
	strprintf(msg, msg_size, "removed %s; systemd-networkd applies %s", snap->path,
		  isempty(lf.network_file) ? "no file to the link (unmanaged)" : lf.network_file);
	return 0;
}

const struct backend_ops backend_networkd_ops = {
	.name = "networkd",
	.keeps_config = true, /* the .network file */
	.init = nd_init,
	.done = nd_done,
	.probe = nd_probe,
	.snapshot = nd_snapshot,
	.apply = nd_apply,
	.verify = nd_verify,
	.persist = NULL, /* the .network file is the persistence (written and synced in apply) */
	.rollback = nd_rollback,
	.snapshot_free = nd_snapshot_free,
	.query = nd_query,
	.revert = nd_revert,
};

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* addr-probe.c - ARP probes and the kernel's DAD before a commit, ARP announcements and unsolicited NAs after it. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "addr-probe.h"
#include "link.h"
#include "log.h"
#include "netlink.h"
#include "util.h"

/* Frames read per wake-up of a probe's socket. */
#define RECV_BURST 64

/* ---- pure codecs ------------------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void arp_build(uint8_t buf[ARP_PACKET_LEN], uint16_t op, const uint8_t sha[6],
		      struct in_addr spa, struct in_addr tpa)
{
	put16(buf, 1);	    /* ARPHRD_ETHER */
	put16(buf + 2, 0x0800); /* ETH_P_IP */
	buf[4] = 6;
	buf[5] = 4;
	put16(buf + 6, op);
	memcpy(buf + 8, sha, 6);
	memcpy(buf + 14, &spa, 4);
	memset(buf + 18, 0, 6); /* RFC 5227: target hardware address ignored, SHOULD be 0 */
	memcpy(buf + 24, &tpa, 4);
}

void arp_build_probe(uint8_t buf[ARP_PACKET_LEN], const uint8_t mac[6], struct in_addr target)
{
	arp_build(buf, ARP_OP_REQUEST, mac, (struct in_addr){ 0 }, target);
}

void arp_build_announce(uint8_t buf[ARP_PACKET_LEN], const uint8_t mac[6], struct in_addr addr)
{
	arp_build(buf, ARP_OP_REQUEST, mac, addr, addr);
}

int arp_parse(const uint8_t *buf, size_t len, struct arp_packet *ret)
{
	uint16_t op;

	if (len < ARP_PACKET_LEN || get16(buf) != 1 || get16(buf + 2) != 0x0800 || buf[4] != 6 ||
	    buf[5] != 4)
		return -EBADMSG;
	op = get16(buf + 6);
	if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)
		return -EBADMSG;
	memset(ret, 0, sizeof(*ret));
	ret->op = op;
	memcpy(ret->sha, buf + 8, 6);
	memcpy(&ret->spa, buf + 14, 4);
	memcpy(ret->tha, buf + 18, 6);
	memcpy(&ret->tpa, buf + 24, 4);
	return 0;
}

int arp_conflict(const struct arp_packet *p, const uint8_t our_mac[6],
		 const struct in_addr *candidates, size_t n)
{
	/* our own frames (a bridge or a loop may send them back) say nothing */
	if (memcmp(p->sha, our_mac, 6) == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		/* any request or reply from a host that uses the address */
		if (p->spa.s_addr == candidates[i].s_addr)
			return (int)i;
		/* another host probing for the same address right now */
		if (p->op == ARP_OP_REQUEST && p->spa.s_addr == 0 &&
		    p->tpa.s_addr == candidates[i].s_addr)
			return (int)i;
	}
	return -1;
}

void na_build(uint8_t buf[NA_PACKET_LEN], const struct in6_addr *target, const uint8_t mac[6],
	      uint8_t flags)
{
	memset(buf, 0, NA_PACKET_LEN);
	buf[0] = ND_NEIGHBOR_ADVERT;
	buf[1] = 0;
	buf[4] = flags;
	memcpy(buf + 8, target, 16);
	buf[24] = ND_OPT_TARGET_LINKADDR;
	buf[25] = 1; /* units of 8 bytes */
	memcpy(buf + 26, mac, 6);
}

int na_parse(const uint8_t *buf, size_t len, struct na_packet *ret)
{
	struct na_packet na = { 0 };
	size_t off = 24;

	if (len < 24 || buf[0] != ND_NEIGHBOR_ADVERT || buf[1] != 0)
		return -EBADMSG;
	na.flags = buf[4] & (NA_FLAG_ROUTER | NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE);
	memcpy(&na.target, buf + 8, 16);
	if (IN6_IS_ADDR_MULTICAST(&na.target))
		return -EBADMSG;
	/* RFC 4861 7.1.2: every option has a length > 0 and fits */
	while (off < len) {
		size_t olen;

		if (len - off < 2)
			return -EBADMSG;
		olen = (size_t)buf[off + 1] * 8;
		if (olen == 0 || olen > len - off)
			return -EBADMSG;
		if (buf[off] == ND_OPT_TARGET_LINKADDR && !na.has_tlla) {
			na.has_tlla = true;
			memcpy(na.tlla, buf + off + 2, 6);
		}
		off += olen;
	}
	*ret = na;
	return 0;
}

int mac_parse(const char *s, uint8_t ret[6])
{
	uint8_t mac[6];

	for (size_t i = 0; i < 6; i++) {
		int hi = hex_digit_value(s[3 * i]), lo = hi < 0 ? -1 : hex_digit_value(s[3 * i + 1]);
		char sep = lo < 0 ? 'x' : s[3 * i + 2];

		if (lo < 0 || sep != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(ret, mac, 6);
	return 0;
}

const char *mac_format(const uint8_t mac[6], char *buf, size_t size)
{
	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
	return buf;
}

/* ---- configuration -------------------------------------------------------------- */

static bool cfg_set;
static uint64_t cfg_window_usec;
static bool cfg_announce;

void addr_probe_configure(uint64_t window_usec, bool announce)
{
	cfg_set = true;
	cfg_window_usec = window_usec;
	cfg_announce = announce;
}

/* ---- one transaction's probe ---------------------------------------------------- */

struct addr_probe {
	int ifindex;
	char ifname[IF_NAMESIZE];
	uint8_t mac[6];
	size_t n4, n6;
	struct in_addr v4[FAILOVER_MAX_ADDRS];
	struct in6_addr v6[FAILOVER_MAX_ADDRS];
	bool probe_v4, probe_v6;
	int na_fd; /* neighbour advertisements while the kernel's DAD runs */
	struct nl_sock *sk;
	struct link_state *link;
	char note[128];
};

static void note(struct addr_probe *p, const char *what)
{
	if (!p->note[0])
		strprintf(p->note, sizeof(p->note), ", %s", what);
}

static const struct link_addr *find_addr(const struct link_state *l, int family,
					 const union in_addr_union *addr)
{
	for (size_t i = 0; i < l->n_addrs; i++)
		if (l->addrs[i].family == family &&
		    memcmp(&l->addrs[i].addr, addr, family == AF_INET ? 4 : 16) == 0)
			return &l->addrs[i];
	return NULL;
}

static bool link_live(const struct link_state *l)
{
	return (l->flags & IFF_UP) && l->carrier;
}

static void addr_announce_cancel(int ifindex);

static int open_arp_socket(int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = ifindex,
	};
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP));

	if (fd < 0)
		return negative_errno();
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int r = negative_errno();
		close(fd);
		return r;
	}
	return fd;
}

static int send_arp(int fd, int ifindex, const uint8_t pkt[ARP_PACKET_LEN])
{
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = ifindex,
		.sll_halen = 6,
		.sll_addr = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};

	if (sendto(fd, pkt, ARP_PACKET_LEN, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return negative_errno();
	return 0;
}

static int poll_until(int fd, uint64_t until)
{
	uint64_t now = now_usec();
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int ms = until > now ? (int)((until - now + 999) / 1000) : 0;

	if (poll(&pfd, fd >= 0 ? 1 : 0, ms) < 0 && errno != EINTR)
		return negative_errno();
	return 0;
}

static void conflict_why(char *why, size_t size, int family, const void *addr,
			 const uint8_t *holder, const char *how)
{
	char ip[INET6_ADDRSTRLEN], mac[18];

	inet_ntop(family, addr, ip, sizeof(ip));
	if (holder)
		strprintf(why, size, "address conflict: %s is in use by %s (%s)", ip,
			  mac_format(holder, mac, sizeof(mac)), how);
	else
		strprintf(why, size, "address conflict: %s is in use by another host (%s)", ip, how);
}

/* RFC 5227 2.1.1 over a shorter window: ADDR_PROBE_NUM probes spread over
 * it, listening to the end. */
static int arp_probe(struct addr_probe *p, uint64_t window, char *why, size_t why_size)
{
	_cleanup_close_ int fd = -1;
	uint64_t start = now_usec(), end = start + window, next = start;
	unsigned sent = 0;
	uint8_t pkt[ARP_PACKET_LEN], buf[256];
	int r;

	fd = open_arp_socket(p->ifindex);
	if (fd < 0) {
		log_warning_errno(fd, "%s: cannot open an ARP socket; IPv4 addresses not probed for conflicts",
				  p->ifname);
		note(p, "IPv4 not probed for conflicts (no ARP socket)");
		return 0;
	}
	for (;;) {
		uint64_t now = now_usec();

		if (sent < ADDR_PROBE_NUM && now >= next) {
			for (size_t i = 0; i < p->n4; i++) {
				arp_build_probe(pkt, p->mac, p->v4[i]);
				r = send_arp(fd, p->ifindex, pkt);
				if (r < 0) {
					log_warning_errno(r, "%s: cannot send an ARP probe; IPv4 addresses not probed for conflicts",
							  p->ifname);
					note(p, "IPv4 not probed for conflicts (send failed)");
					return 0;
				}
			}
			sent++;
			next = start + window * sent / ADDR_PROBE_NUM;
		}
		if (now >= end)
			break;
		r = poll_until(fd, sent < ADDR_PROBE_NUM && next < end ? next : end);
		if (r < 0)
			return log_error_errno(r, "%s: ARP probe: poll", p->ifname);
		/* at most RECV_BURST frames per wake-up: a LAN that floods ARP
		 * must not hold the daemon past the window */
		for (unsigned k = 0; k < RECV_BURST; k++) {
			struct sockaddr_ll from;
			socklen_t fl = sizeof(from);
			struct arp_packet arp;
			ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			int i;

			if (n < 0)
				break; /* EAGAIN: drained */
			if (from.sll_pkttype == PACKET_OUTGOING || arp_parse(buf, (size_t)n, &arp) < 0)
				continue;
			i = arp_conflict(&arp, p->mac, p->v4, p->n4);
			if (i < 0)
				continue;
			conflict_why(why, why_size, AF_INET, &p->v4[i], arp.sha,
				     arp.spa.s_addr ? (arp.op == ARP_OP_REPLY ? "ARP reply" : "ARP request")
						    : "it probes for it too");
			log_error("%s: %s; the host's settings are not applied", p->ifname, why);
			return -EADDRINUSE;
		}
	}
	log_debug("%s: %zu IPv4 address%s probed for %" PRIu64 " ms: no conflict", p->ifname, p->n4,
		  p->n4 == 1 ? "" : "es", window / 1000);
	return 0;
}

static int open_na_listener(const char *ifname)
{
	struct icmp6_filter filter;
	int fd, on = 1;

	fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMPV6);
	if (fd < 0)
		return negative_errno();
	ICMP6_FILTER_SETBLOCKALL(&filter);
	ICMP6_FILTER_SETPASS(ND_NEIGHBOR_ADVERT, &filter);
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
	    setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on)) < 0) {
		int r = negative_errno();
		close(fd);
		return r;
	}
	return fd;
}

int addr_probe_before_apply(const struct adapter *a, const struct failover_settings *s,
			    uint64_t deadline, struct addr_probe **ret, char *why, size_t why_size)
{
	struct addr_probe *p;
	uint64_t now, window;
	int r;

	*ret = NULL;
	if (!cfg_set || (!cfg_window_usec && !cfg_announce))
		return 0;
	/* what a former apply still announces may be gone with this one */
	addr_announce_cancel(a->ifindex);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->na_fd = -1;
	p->ifindex = a->ifindex;
	strscpy(p->ifname, sizeof(p->ifname), a->ifname);
	*ret = p;
	if (mac_parse(a->mac, p->mac) < 0) {
		log_debug("%s: no Ethernet address; addresses not probed or announced", a->ifname);
		return 0;
	}
	r = nlx_open(&p->sk);
	if (r >= 0)
		r = nlx_read_link_new(p->sk, a->ifindex, &p->link);
	if (r < 0) {
		log_warning_errno(r, "%s: cannot read the link; addresses not probed for conflicts",
				  a->ifname);
		note(p, "not probed for conflicts (cannot read the link)");
		return 0;
	}
	/* only what is new: the link's own addresses (a re-apply) are ours */
	for (size_t i = 0; i < s->n_addrs; i++) {
		const struct failover_addr *f = &s->addrs[i];

		if (find_addr(p->link, f->family, &f->addr))
			continue;
		if (f->family == AF_INET)
			p->v4[p->n4++] = f->addr.in;
		else if (!IN6_IS_ADDR_LINKLOCAL(&f->addr.in6))
			p->v6[p->n6++] = f->addr.in6;
	}
	if (!cfg_window_usec || (!p->n4 && !p->n6))
		return 0;
	/* nobody to conflict with (the kernel defers its DAD the same way);
	 * a link the apply brings up gets the kernel's DAD checked after it */
	p->probe_v6 = true;
	p->probe_v4 = p->n4 > 0;
	if (p->n4 && !link_live(p->link)) {
		note(p, (p->link->flags & IFF_UP) ? "not probed for conflicts (no carrier)"
						  : "IPv4 not probed for conflicts (link was down)");
		p->probe_v4 = false;
	}
	if (p->n6) {
		p->na_fd = open_na_listener(a->ifname);
		if (p->na_fd < 0)
			log_debug_errno(p->na_fd, "%s: no neighbour advertisement listener; a DAD conflict is reported without the MAC",
					a->ifname);
	}
	if (!p->probe_v4)
		return 0;
	/* never more than half of what is left: the apply must still fit */
	now = now_usec();
	window = MIN(cfg_window_usec, deadline > now ? (deadline - now) / 2 : 0);
	if (window < 50 * 1000) {
		note(p, "IPv4 not probed for conflicts (no time left)");
		return 0;
	}
	return arp_probe(p, window, why, why_size);
}

/* The MAC in a neighbour advertisement for one of our tentative addresses,
 * from another host; -1 when none came. */
static int read_na(struct addr_probe *p, uint8_t ret_mac[6])
{
	/* bounded like the ARP reads: a flood is read again at the next wake-up */
	for (unsigned k = 0; k < RECV_BURST; k++) {
		uint8_t buf[1500], cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf,
			.msg_controllen = sizeof(cbuf),
		};
		struct na_packet na;
		int hops = -1; /* unknown unless the kernel says: not from this link */
		ssize_t n = recvmsg(p->na_fd, &mh, 0);

		if (n < 0)
			return -1;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT &&
			    c->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(&hops, CMSG_DATA(c), sizeof(int));
		/* RFC 4861 7.1.2: only from this link */
		if (hops != 255 || na_parse(buf, (size_t)n, &na) < 0 || !na.has_tlla ||
		    memcmp(na.tlla, p->mac, 6) == 0)
			continue;
		for (size_t i = 0; i < p->n6; i++)
			if (IN6_ARE_ADDR_EQUAL(&na.target, &p->v6[i])) {
				memcpy(ret_mac, na.tlla, 6);
				return (int)i;
			}
	}
	return -1;
}

/* Bound of the wait for the kernel's DAD (its default takes 1-2 s). */
#define DAD_WAIT_MAX_USEC (10 * 1000 * 1000ULL)

int addr_probe_after_verify(struct addr_probe *p, uint64_t deadline, char *why, size_t why_size)
{
	uint64_t limit;
	uint8_t holder[6];

	if (!p || !p->probe_v6 || !p->n6 || !p->link)
		return 0;
	limit = MIN(deadline, now_usec() + DAD_WAIT_MAX_USEC);
	for (;;) {
		unsigned pending = 0;
		int r, i;

		r = nlx_read_link(p->sk, p->ifindex, p->link);
		if (r < 0) {
			log_warning_errno(r, "%s: cannot read the link; IPv6 duplicate address detection not awaited",
					  p->ifname);
			note(p, "IPv6 DAD not awaited");
			return 0;
		}
		if (!link_live(p->link)) {
			note(p, "not probed for conflicts (no carrier)");
			return 0;
		}
		i = p->na_fd >= 0 ? read_na(p, holder) : -1;
		if (i >= 0) {
			/* RFC 4862 5.4.4: an advertisement for a tentative address */
			conflict_why(why, why_size, AF_INET6, &p->v6[i], holder,
				     "neighbour advertisement during DAD");
			log_error("%s: %s; rolling back", p->ifname, why);
			return -EADDRINUSE;
		}
		for (size_t k = 0; k < p->n6; k++) {
			const struct link_addr *x =
				find_addr(p->link, AF_INET6, (const union in_addr_union *)&p->v6[k]);

			if (!x || (x->flags & IFA_F_DADFAILED)) {
				/* no advertisement came (another host's DAD for the
				 * same address, or no listener); a manager may drop
				 * an address whose DAD failed */
				conflict_why(why, why_size, AF_INET6, &p->v6[k], NULL,
					     x ? "duplicate address detection failed"
					       : "its address vanished during duplicate address detection");
				log_error("%s: %s; rolling back", p->ifname, why);
				return -EADDRINUSE;
			}
			if (x->flags & IFA_F_TENTATIVE)
				pending++;
		}
		if (!pending)
			return 0;
		if (now_usec() >= limit) {
			log_warning("%s: IPv6 duplicate address detection still runs at the reply's deadline",
				    p->ifname);
			note(p, "IPv6 DAD still running");
			return 0;
		}
		r = poll_until(p->na_fd, MIN(limit, now_usec() + 20 * 1000));
		if (r < 0)
			return log_error_errno(r, "%s: DAD wait: poll", p->ifname);
	}
}

void addr_probe_explain(struct addr_probe *p, char *why, size_t why_size)
{
	uint8_t holder[6];
	int i;

	if (!p || !p->n6 || !p->link || why[0])
		return;
	i = p->na_fd >= 0 ? read_na(p, holder) : -1;
	if (i >= 0) {
		conflict_why(why, why_size, AF_INET6, &p->v6[i], holder,
			     "neighbour advertisement during DAD");
		log_info("%s: %s", p->ifname, why);
		return;
	}
	if (nlx_read_link(p->sk, p->ifindex, p->link) < 0)
		return;
	for (size_t k = 0; k < p->n6; k++) {
		const struct link_addr *x =
			find_addr(p->link, AF_INET6, (const union in_addr_union *)&p->v6[k]);

		if (x && (x->flags & IFA_F_DADFAILED)) {
			conflict_why(why, why_size, AF_INET6, &p->v6[k], NULL,
				     "duplicate address detection failed");
			log_info("%s: %s", p->ifname, why);
			return;
		}
	}
}

const char *addr_probe_note(const struct addr_probe *p)
{
	return p ? p->note : "";
}

struct addr_probe *addr_probe_free(struct addr_probe *p)
{
	if (p) {
		safe_close(p->na_fd);
		nlx_close(p->sk);
		free(p->link);
		free(p);
	}
	return NULL;
}

/* ---- announcements ------------------------------------------------------------ */

/* RFC 5227 2.3: ANNOUNCE_NUM 2, ANNOUNCE_INTERVAL 2 s; RFC 4861 7.2.6: up to
 * MAX_NEIGHBOR_ADVERTISEMENT 3, RetransTimer (1 s) apart. So three rounds,
 * 1 s apart: ARP+NA, NA, ARP+NA. */
#define ANNOUNCE_ROUNDS 3
#define ANNOUNCE_STEP_USEC (1000 * 1000ULL)

struct announce {
	struct announce *next;
	sd_event_source *src; /* the timer of the next round */
	int ifindex;
	char ifname[IF_NAMESIZE];
	uint8_t mac[6];
	unsigned round;
	size_t n4, n6;
	struct in_addr v4[FAILOVER_MAX_ADDRS];
	struct in6_addr v6[FAILOVER_MAX_ADDRS];
};

static struct announce *announces;
static size_t n_announces;

static int send_na(int fd, const struct announce *an, const struct in6_addr *target)
{
	uint8_t pkt[NA_PACKET_LEN], cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))] = { 0 };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)an->ifindex };
	struct iovec iov = { .iov_base = pkt, .iov_len = sizeof(pkt) };
	struct msghdr mh = {
		.msg_name = &to,
		.msg_namelen = sizeof(to),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	struct in6_pktinfo pi = { .ipi6_addr = *target, .ipi6_ifindex = (unsigned)an->ifindex };

	inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
	na_build(pkt, target, an->mac, NA_FLAG_OVERRIDE);
	/* from the announced address itself, as the kernel's own unsolicited NA */
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	if (sendmsg(fd, &mh, 0) < 0)
		return negative_errno();
	return 0;
}

static int open_na_sender(const char *ifname, int ifindex)
{
	int fd, hops = 255, off = 0;

	fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (fd < 0)
		return negative_errno();
	/* RFC 4861 7.1.2: a receiver drops neighbour discovery with a hop
	 * limit below 255 (proof that it comes from the link) */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off)) < 0) {
		int r = negative_errno();
		close(fd);
		return r;
	}
	return fd;
}

/* One round: only what the link still holds (and, for IPv6, what passed
 * DAD), while it has a carrier. */
static void announce_round(struct announce *an)
{
	_cleanup_free_ struct link_state *l = NULL;
	_cleanup_close_ int arp = -1, na = -1;
	struct nl_sock *sk = NULL;
	unsigned n_arp = 0, n_na = 0;
	bool arp_round = an->round != 1;
	uint8_t pkt[ARP_PACKET_LEN];
	int r;

	r = nlx_open(&sk);
	if (r >= 0)
		r = nlx_read_link_new(sk, an->ifindex, &l);
	nlx_close(sk);
	if (r < 0 || !link_live(l)) {
		log_debug("%s: announcement round %u skipped (link gone or without carrier)", an->ifname,
			  an->round + 1);
		return;
	}
	for (size_t i = 0; arp_round && i < an->n4; i++) {
		if (!find_addr(l, AF_INET, (const union in_addr_union *)&an->v4[i]))
			continue;
		if (arp < 0) {
			arp = open_arp_socket(an->ifindex);
			if (arp < 0) {
				log_warning_errno(arp, "%s: cannot open an ARP socket; no ARP announcement",
						  an->ifname);
				break;
			}
		}
		arp_build_announce(pkt, an->mac, an->v4[i]);
		if (send_arp(arp, an->ifindex, pkt) >= 0)
			n_arp++;
	}
	for (size_t i = 0; i < an->n6; i++) {
		const struct link_addr *x =
			find_addr(l, AF_INET6, (const union in_addr_union *)&an->v6[i]);

		if (!x || (x->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))
			continue;
		if (na < 0) {
			na = open_na_sender(an->ifname, an->ifindex);
			if (na < 0) {
				log_warning_errno(na, "%s: cannot open an ICMPv6 socket; no neighbour advertisement",
						  an->ifname);
				break;
			}
		}
		r = send_na(na, an, &an->v6[i]);
		if (r < 0)
			log_debug_errno(r, "%s: neighbour advertisement not sent", an->ifname);
		else
			n_na++;
	}
	log_debug("%s: announcement round %u: %u ARP, %u NA", an->ifname, an->round + 1, n_arp, n_na);
}

/* Drops an announcement and its timer (from its own callback too: sd-event
 * frees a source that is dispatching once its callback returns). */
static void announce_free(struct announce *an)
{
	for (struct announce **pp = &announces; *pp; pp = &(*pp)->next)
		if (*pp == an) {
			*pp = an->next;
			n_announces--;
			break;
		}
	sd_event_source_set_enabled(an->src, SD_EVENT_OFF);
	sd_event_source_unref(an->src);
	free(an);
}

static int on_announce_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct announce *an = userdata;

	(void)usec;
	announce_round(an);
	if (++an->round >= ANNOUNCE_ROUNDS) {
		announce_free(an);
		return 0;
	}
	sd_event_source_set_time_relative(s, ANNOUNCE_STEP_USEC);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

static void addr_announce_cancel(int ifindex)
{
	struct announce *an = announces, *next;

	for (; an; an = next) {
		next = an->next;
		if (an->ifindex == ifindex)
			announce_free(an);
	}
}

void addr_probe_announce(struct addr_probe *p)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	struct announce *an;
	int r;

	if (!p || !cfg_announce || !p->link || (!p->n4 && !p->n6))
		return;
	an = calloc(1, sizeof(*an));
	if (!an)
		return;
	an->ifindex = p->ifindex;
	strscpy(an->ifname, sizeof(an->ifname), p->ifname);
	memcpy(an->mac, p->mac, 6);
	an->n4 = p->n4;
	memcpy(an->v4, p->v4, sizeof(an->v4));
	an->n6 = p->n6;
	memcpy(an->v6, p->v6, sizeof(an->v6));
	announce_round(an);
	an->round = 1;
	log_info("%s: announcing %zu new address%s (%zu IPv4 by ARP, %zu IPv6 by unsolicited NA)",
		 an->ifname, an->n4 + an->n6, an->n4 + an->n6 == 1 ? "" : "es", an->n4, an->n6);

	/* the source holds the loop: hvkvpctl's lives until addr_announce_drain() */
	r = sd_event_default(&e);
	if (r >= 0)
		r = sd_event_add_time_relative(e, &an->src, CLOCK_MONOTONIC, ANNOUNCE_STEP_USEC, 0,
					       on_announce_timer, an);
	if (r < 0) {
		log_warning_errno(r, "%s: later announcement rounds not scheduled", an->ifname);
		free(an);
		return;
	}
	an->next = announces;
	announces = an;
	n_announces++;
}

size_t addr_announce_pending(void)
{
	return n_announces;
}

void addr_announce_drain(uint64_t deadline)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;

	if (!n_announces || sd_event_default(&e) < 0)
		return;
	while (n_announces) {
		uint64_t now = now_usec();

		if (now >= deadline || sd_event_run(e, deadline - now) < 0)
			break;
	}
}

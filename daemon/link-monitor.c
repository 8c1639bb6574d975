/* SPDX-License-Identifier: GPL-2.0-or-later */
/* link-monitor.c - rtnetlink link events on the daemon's loop, handed to the failover code. */
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <systemd/sd-event.h>

#include "link-config.h"
#include "link-monitor.h"
#include "log.h"
#include "netlink.h"
#include "util.h"

/* <linux/if.h> has it, but cannot be included next to <net/if.h> */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

struct link_monitor {
	struct link_config *ic;
	struct nl_sock *sock;
	sd_event_source *src;
};

static int on_link_msg(struct nl_msg *msg, void *userdata)
{
	struct link_monitor *m = userdata;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct ifinfomsg *ifi;
	char status[256];

	if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return NL_OK;
	ifi = nlmsg_data(h);
	if (!m->ic)
		return NL_OK;
	/* an adapter that was not there at start-up (netvsc probing late) gets
	 * its saved settings when it appears */
	if (link_config_reapply_pending(m->ic, status, sizeof(status)) > 0)
		notify_status("%s", status);
	if (link_config_carrier_changed(m->ic, ifi->ifi_index, (ifi->ifi_flags & IFF_LOWER_UP) != 0,
				     status, sizeof(status)) > 0)
		notify_status("%s", status);
	return NL_OK;
}

static int on_monitor(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct link_monitor *m = userdata;

	/* ENOBUFS (events lost) is harmless: the next change comes anyway */
	(void)nl_recvmsgs_default(m->sock);
	return 0;
}

int link_monitor_new(struct sd_event *event, struct link_config *ic, struct link_monitor **ret)
{
	_cleanup_(link_monitor_freep) struct link_monitor *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	m->ic = ic;
	m->sock = nl_socket_alloc();
	if (!m->sock)
		return -ENOMEM;
	nl_socket_disable_seq_check(m->sock);
	nl_socket_modify_cb(m->sock, NL_CB_VALID, NL_CB_CUSTOM, on_link_msg, m);
	r = nl_connect(m->sock, NETLINK_ROUTE);
	if (r >= 0)
		r = nl_socket_add_membership(m->sock, RTNLGRP_LINK);
	if (r >= 0)
		r = nl_socket_set_nonblocking(m->sock);
	if (r < 0)
		return nlx_errno(r);
	r = sd_event_add_io(event, &m->src, nl_socket_get_fd(m->sock), EPOLLIN, on_monitor, m);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}

struct link_monitor *link_monitor_free(struct link_monitor *m)
{
	if (!m)
		return NULL;
	m->src = sd_event_source_disable_unref(m->src);
	if (m->sock)
		nl_socket_free(m->sock);
	free(m);
	return NULL;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backend-nm.c - failover settings as one dedicated NetworkManager profile per adapter (libnm), under an NM checkpoint: the transaction. */
#include <arpa/inet.h>
#include <stdio.h>
#include <strings.h>

#include "backend.h"
#include "log.h"
#include "netlink.h"
#include "util.h"

/* after util.h: GLib #undefs and redefines MIN/MAX the same way */
#include <NetworkManager.h>

#include "nm-call.h"

#if !NM_CHECK_VERSION(1, 22, 0)
#error "the NetworkManager backend needs libnm >= 1.22 (NMClient:dbus-connection, context busy watcher)"
#endif

/*
 * How one SET_IP_INFO runs here (backend.c drives the steps):
 *
 *   snapshot  a private GMainContext + bus connection + NMClient for the
 *             whole transaction; note our profile and the device's active
 *             profile; create an NM checkpoint of the device
 *   apply     add or update our profile (to disk: NM writes the keyfile),
 *             then reapply it (already active) or activate it; with no
 *             carrier only store it, NM autoconnects it later
 *   verify    wait (bounded) for NM to report the device activated with our
 *             profile and for the kernel to hold the addresses
 *   persist   the profile is on disk; destroy the checkpoint (= commit)
 *   rollback  roll the checkpoint back (NM restores the device and deletes
 *             profiles added since), then put our own profile back as it was
 *
 * The context is iterated only inside these calls: the daemon's loop stays
 * sd-event, and no thread of ours runs GLib. Between two steps of one
 * transaction nothing else happens (the daemon is synchronous), so the
 * client's cache is caught up at the start of each step.
 */

/* Ours beats NM's auto-created "Wired connection N" (-999) and every
 * profile left at the default 0, and leaves room above for an operator who
 * deliberately wants another profile to win. */
#define NM_PROFILE_PRIORITY 100
#define NM_PROFILE_ID_PREFIX "Hyper-V failover "
/* If hvkvpd dies mid-transaction, NetworkManager rolls the device back by
 * itself after this long: above the longest reply budget (25 s). */
#define NM_CHECKPOINT_TIMEOUT_SEC 45

/* Bound of the steps that get no deadline (probe, snapshot, persist, query). */
#define NM_STEP_TIMEOUT_USEC (5 * USEC_PER_SEC)
/* Part of the budget kept for a rollback after a failed apply or verify. */
#define NM_ROLLBACK_RESERVE_USEC (3 * USEC_PER_SEC)
/* DHCPv4 that has not answered after this long is reported as in progress
 * (NM keeps trying) rather than waited for until the deadline. */
#define NM_DHCP_GRACE_USEC (5 * USEC_PER_SEC)
/* How long a rollback waits for NM to bring the old profile back up. */
#define NM_SETTLE_USEC (5 * USEC_PER_SEC)
/* ... or to get through IP configuration, when that waits for DHCP. */
#define NM_SETTLE_IP_CONFIG_USEC (1 * USEC_PER_SEC)
/* Once NM says activated, the kernel must agree within this long. */
#define NM_KERNEL_SETTLE_USEC (2 * USEC_PER_SEC)
/* Kernel state does not wake the GLib context: look again this often. */
#define NM_POLL_MSEC 10

/* ---- the device and our profile -------------------------------------------------- */

/* The NM device for the adapter: same name and same MAC (an SR-IOV VF
 * shares the MAC, never the name). */
static NMDevice *find_device(NMClient *client, const struct adapter *a)
{
	NMDevice *dev = nm_client_get_device_by_iface(client, a->ifname);
	const char *hw;

	if (!dev || !NM_IS_DEVICE_ETHERNET(dev))
		return NULL;
	hw = nm_device_get_hw_address(dev);
	if (!hw || strcasecmp(hw, a->mac) != 0)
		return NULL;
	return dev;
}

static const char *active_uuid(NMDevice *dev)
{
	NMActiveConnection *ac = nm_device_get_active_connection(dev);

	return ac ? nm_active_connection_get_uuid(ac) : NULL;
}

/* Can NM activate a profile on the device now? Not while it calls the
 * device unavailable (no carrier), nor while the link has lost its carrier
 * and NM has not noticed yet. */
static bool has_carrier(NMDevice *dev)
{
	if (nm_device_get_state(dev) <= NM_DEVICE_STATE_UNAVAILABLE)
		return false;
	return nm_device_ethernet_get_carrier(NM_DEVICE_ETHERNET(dev));
}

/* The device, or a logged -ENXIO (not -ENODEV: the host would read that
 * as "no such adapter"). */
static int need_device(NMClient *client, const struct adapter *a, NMDevice **ret)
{
	if (!nm_client_get_nm_running(client))
		return log_error_errno(-ECONNREFUSED, "%s: NetworkManager is no longer running",
				       a->ifname);
	*ret = find_device(client, a);
	if (!*ret)
		return log_error_errno(-ENXIO, "%s: NetworkManager no longer knows the device",
				       a->ifname);
	return 0;
}

/*
 * The profile's UUID: a name-based (version 5, SHA-1) UUID of the adapter's
 * MAC in a namespace of our own, so that every failover for this adapter
 * finds and updates the same profile, and an NM restart or a reinstall
 * changes nothing.
 */
static void profile_uuid(const char *mac, char ret[37])
{
	static const guint8 ns[16] = { 0x6f, 0x1a, 0x3c, 0x9e, 0x52, 0xd4, 0x4b, 0x7e,
				       0x9a, 0x0c, 0x3d, 0x8e, 0x41, 0xb2, 0xc7, 0xf5 };
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA1);
	char lower[sizeof(((struct adapter *)0)->mac)];
	guint8 d[20];
	gsize len = sizeof(d);
	size_t i;

	for (i = 0; mac[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)(mac[i] >= 'A' && mac[i] <= 'F' ? mac[i] - 'A' + 'a' : mac[i]);
	lower[i] = '\0';
	g_checksum_update(sum, ns, sizeof(ns));
	g_checksum_update(sum, (const guchar *)lower, (gssize)strlen(lower));
	g_checksum_get_digest(sum, d, &len);
	d[6] = (guint8)((d[6] & 0x0f) | 0x50);
	d[8] = (guint8)((d[8] & 0x3f) | 0x80);
	snprintf(ret, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0],
		 d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13],
		 d[14], d[15]);
}

static unsigned count_family(const struct failover_settings *s, int family, unsigned *ret_gw,
			     unsigned *ret_dns)
{
	unsigned n = 0, gw = 0, dns = 0;

	for (size_t i = 0; i < s->n_addrs; i++)
		n += s->addrs[i].family == family;
	for (size_t i = 0; i < s->n_gateways; i++)
		gw += s->gateways[i].family == family;
	for (size_t i = 0; i < s->n_dns; i++)
		dns += s->dns[i].family == family;
	*ret_gw = gw;
	*ret_dns = dns;
	return n;
}

/* One family's half of the profile. NM keeps one `gateway` per family and
 * allows it only next to addresses: the first gateway goes there, the
 * others (or all, without addresses) become default routes whose metrics
 * keep the host's order. */
static int fill_ip(NMSettingIPConfig *sip, int family, const struct adapter *a,
		   const struct failover_settings *s)
{
	static const union in_addr_union any;
	unsigned n_gw, n_dns, n_addrs = count_family(s, family, &n_gw, &n_dns), k = 0;
	char ip[INET6_ADDRSTRLEN];
	const char *method;

	if (family == AF_INET)
		method = s->dhcp4   ? NM_SETTING_IP4_CONFIG_METHOD_AUTO
			 : n_addrs ? NM_SETTING_IP4_CONFIG_METHOD_MANUAL
				   : NM_SETTING_IP4_CONFIG_METHOD_DISABLED;
	else
		method = n_addrs ? NM_SETTING_IP6_CONFIG_METHOD_MANUAL
				 : NM_SETTING_IP6_CONFIG_METHOD_AUTO;
	if (streq(method, NM_SETTING_IP4_CONFIG_METHOD_DISABLED) && (n_gw || n_dns))
		return log_error_errno(-EOPNOTSUPP,
				       "%s: the host sends IPv4 %s but no IPv4 address and no DHCP; a NetworkManager profile cannot carry that; nothing changed",
				       a->ifname, n_gw ? "gateways" : "DNS servers");
	g_object_set(sip, NM_SETTING_IP_CONFIG_METHOD, method, NM_SETTING_IP_CONFIG_ROUTE_METRIC,
		     (gint64)LINK_ROUTE_METRIC_BASE, NULL);

	for (size_t i = 0; i < s->n_addrs; i++) {
		g_autoptr(GError) err = NULL;
		NMIPAddress *x;

		if (s->addrs[i].family != family)
			continue;
		x = nm_ip_address_new_binary(family, &s->addrs[i].addr, s->addrs[i].prefixlen, &err);
		if (!x)
			return log_error_errno(-EINVAL, "%s: NetworkManager refuses the address %s/%u: %s",
					       a->ifname,
					       failover_ip_to_string(family, &s->addrs[i].addr, ip,
								     sizeof(ip)),
					       s->addrs[i].prefixlen, err->message);
		nm_setting_ip_config_add_address(sip, x); /* copies; a duplicate is dropped */
		nm_ip_address_unref(x);
	}
	for (size_t i = 0; i < s->n_gateways; i++) {
		g_autoptr(GError) err = NULL;
		NMIPRoute *route;

		bool onlink = failover_gateway_onlink(s, i);

		if (s->gateways[i].family != family)
			continue;
		failover_ip_to_string(family, &s->gateways[i].addr, ip, sizeof(ip));
		/* the `gateway` property cannot carry the onlink flag */
		if (k == 0 && n_addrs && !onlink) {
			g_object_set(sip, NM_SETTING_IP_CONFIG_GATEWAY, ip, NULL);
			k++;
			continue;
		}
		route = nm_ip_route_new_binary(family, &any, 0, &s->gateways[i].addr,
					       link_gateway_metric(s, i), &err);
		if (!route)
			return log_error_errno(-EINVAL, "%s: NetworkManager refuses a default route via %s: %s",
					       a->ifname, ip, err->message);
		/* outside every subnet of the host's: reachable only on-link */
		if (onlink)
			nm_ip_route_set_attribute(route, NM_IP_ROUTE_ATTRIBUTE_ONLINK,
						  g_variant_new_boolean(TRUE));
		nm_setting_ip_config_add_route(sip, route);
		nm_ip_route_unref(route);
		k++;
	}
	for (size_t i = 0; i < s->n_dns; i++)
		if (s->dns[i].family == family)
			nm_setting_ip_config_add_dns(sip, failover_ip_to_string(family, &s->dns[i].addr,
										ip, sizeof(ip)));
	/* the host's DNS servers are the link's, exactly: none from a DHCP
	 * lease or a router advertisement besides them */
	if (s->n_dns)
		g_object_set(sip, NM_SETTING_IP_CONFIG_IGNORE_AUTO_DNS, TRUE, NULL);
	return 0;
}

/*
 * The whole profile: bound to the netvsc device by name AND MAC (the VF
 * twin shares the MAC but not the name; a MAC alone could match it),
 * autoconnecting with a priority that beats NM's "Wired connection N".
 */
static int build_profile(const struct adapter *a, const struct failover_settings *s,
			 const char *uuid, NMConnection **ret)
{
	g_autoptr(NMConnection) c = nm_simple_connection_new();
	g_autoptr(GError) err = NULL;
	NMSetting *sc = nm_setting_connection_new(), *sw = nm_setting_wired_new();
	NMSetting *s4 = nm_setting_ip4_config_new(), *s6 = nm_setting_ip6_config_new();
	char id[64];
	int r;

	/* the connection takes each setting over */
	nm_connection_add_setting(c, sc);
	nm_connection_add_setting(c, sw);
	nm_connection_add_setting(c, s4);
	nm_connection_add_setting(c, s6);

	snprintf(id, sizeof(id), NM_PROFILE_ID_PREFIX "%s", a->ifname);
	g_object_set(sc, NM_SETTING_CONNECTION_ID, id, NM_SETTING_CONNECTION_UUID, uuid,
		     NM_SETTING_CONNECTION_TYPE, NM_SETTING_WIRED_SETTING_NAME,
		     NM_SETTING_CONNECTION_INTERFACE_NAME, a->ifname,
		     NM_SETTING_CONNECTION_AUTOCONNECT, TRUE,
		     NM_SETTING_CONNECTION_AUTOCONNECT_PRIORITY, NM_PROFILE_PRIORITY, NULL);
	g_object_set(sw, NM_SETTING_WIRED_MAC_ADDRESS, a->mac, NULL);
	r = fill_ip(NM_SETTING_IP_CONFIG(s4), AF_INET, a, s);
	if (r < 0)
		return r;
	r = fill_ip(NM_SETTING_IP_CONFIG(s6), AF_INET6, a, s);
	if (r < 0)
		return r;
	if (!nm_connection_normalize(c, NULL, NULL, &err))
		return log_error_errno(-EINVAL, "%s: NetworkManager would not accept these settings: %s; nothing changed",
				       a->ifname, err->message);
	*ret = g_steal_pointer(&c);
	return 0;
}

/* Same settings? NM adds nothing to a profile it stores but the timestamp. */
static bool profile_equal(NMConnection *have, NMConnection *want)
{
	return nm_connection_compare(have, want,
				     NM_SETTING_COMPARE_FLAG_IGNORE_TIMESTAMP |
					     NM_SETTING_COMPARE_FLAG_IGNORE_SECRETS);
}

/* ---- the transaction ------------------------------------------------------------------ */

struct nmb {
	struct nl_sock *sk;
};

/* The snapshot: everything one transaction shares between its steps. */
struct nmb_txn {
	struct nm_op op;
	char uuid[37];
	char *checkpoint;	    /* its D-Bus path while it exists */
	NMConnection *before;	    /* a copy of our profile as it was; NULL: none */
	char *active_before;	    /* UUID of the profile active on the device, or NULL */
	NMActiveConnection *ac;	    /* the activation apply started, or NULL */
	bool added, updated;	    /* what apply did to our profile */
	bool link_changed;	    /* apply reapplied or activated */
	bool checkpoint_used;	    /* rollback went through the checkpoint */
	bool waiting_for_carrier;   /* stored only, for NM to autoconnect */
};

/* the struct starts with its netlink socket, as backend_nl_data_new() wants */
_Static_assert(offsetof(struct nmb, sk) == 0, "sk first");

static int nmb_init(struct backend *b)
{
	return backend_nl_data_new(b, sizeof(struct nmb));
}

static void nmb_done(struct backend *b)
{
	backend_nl_data_free(b);
}

static bool device_managed(NMDevice *dev)
{
	NMDeviceState st = nm_device_get_state(dev);

	return nm_device_get_managed(dev) && st != NM_DEVICE_STATE_UNMANAGED &&
	       st != NM_DEVICE_STATE_UNKNOWN;
}

/* Ours when NetworkManager runs and manages the device; otherwise the link
 * goes to networkd or netlink. */
static int nmb_probe(struct backend *b, const struct adapter *a)
{
	struct nm_op op;
	NMDevice *dev;
	int r;

	r = nm_op_begin(&op, a, now_usec() + NM_STEP_TIMEOUT_USEC);
	if (r == -ETIMEDOUT) {
		/* NM holds its bus name (the proxy checked) but does not answer:
		 * claim the link, so that the apply fails and nothing configures
		 * it behind NM's back (netlink would fight NM later) */
		log_warning("%s: NetworkManager runs but does not answer; the link stays NetworkManager's",
			    a->ifname);
		return 1;
	}
	if (r < 0)
		return r;
	r = 0;
	if (nm_client_get_nm_running(op.client)) {
		dev = find_device(op.client, a);
		r = dev && device_managed(dev);
		log_debug("%s: NetworkManager %s", a->ifname,
			  !dev ? "does not know the device" : r ? "manages it" : "leaves it unmanaged");
	}
	nm_op_end(&op);
	return r;
}

static int checkpoint_create(struct nmb_txn *t, const struct adapter *a, NMDevice *dev,
			     uint64_t until)
{
	NMClient *client = t->op.client;
	const GPtrArray *cps = nm_client_get_checkpoints(client);
	g_autoptr(GPtrArray) devs = g_ptr_array_new();
	_cleanup_nm_call_ struct nm_call *c = nm_call_new();
	g_autoptr(GError) err = NULL;
	NMCheckpoint *cp = NULL;
	int r;

	/* NM refuses a second checkpoint on a device; say who is in the way */
	for (guint i = 0; cps && i < cps->len; i++) {
		const GPtrArray *in = nm_checkpoint_get_devices(cps->pdata[i]);

		for (guint j = 0; in && j < in->len; j++)
			if (in->pdata[j] == dev)
				return log_error_errno(-EBUSY,
						       "%s: another NetworkManager checkpoint (%s) holds the device (nmstate, cockpit, or an interrupted hvkvpd); NetworkManager releases it when its rollback timeout ends; nothing changed",
						       a->ifname,
						       nm_object_get_path(NM_OBJECT(cps->pdata[i])));
	}
	g_ptr_array_add(devs, dev);
	nm_client_checkpoint_create(client, devs, NM_CHECKPOINT_TIMEOUT_SEC,
				    NM_CHECKPOINT_CREATE_FLAG_DELETE_NEW_CONNECTIONS, c->cancel,
				    nm_call_done, c);
	r = nm_call_wait(&t->op, c, until);
	if (r == 0)
		cp = nm_client_checkpoint_create_finish(client, c->result, &err);
	if (!cp)
		return nm_call_fail(a, "creating a checkpoint", err);
	t->checkpoint = g_strdup(nm_object_get_path(NM_OBJECT(cp)));
	g_object_unref(cp);
	log_debug("%s: NetworkManager checkpoint %s (rollback after %u s)", a->ifname, t->checkpoint,
		  NM_CHECKPOINT_TIMEOUT_SEC);
	return 0;
}

static int checkpoint_destroy(struct nmb_txn *t, const struct adapter *a, uint64_t until)
{
	_cleanup_nm_call_ struct nm_call *c = nm_call_new();
	g_autoptr(GError) err = NULL;
	int r;

	if (!t->checkpoint)
		return 0;
	nm_client_checkpoint_destroy(t->op.client, t->checkpoint, c->cancel, nm_call_done, c);
	r = nm_call_wait(&t->op, c, until);
	if (r < 0 || !nm_client_checkpoint_destroy_finish(t->op.client, c->result, &err))
		return nm_call_fail(a, "committing (destroying the checkpoint)", err);
	g_clear_pointer(&t->checkpoint, g_free);
	return 0;
}

static int checkpoint_rollback(struct nmb_txn *t, const struct adapter *a, uint64_t until)
{
	_cleanup_nm_call_ struct nm_call *c = nm_call_new();
	g_autoptr(GError) err = NULL;
	g_autoptr(GHashTable) results = NULL;
	GHashTableIter it;
	gpointer path, result;
	int r;

	nm_client_checkpoint_rollback(t->op.client, t->checkpoint, c->cancel, nm_call_done, c);
	r = nm_call_wait(&t->op, c, until);
	if (r == 0)
		results = nm_client_checkpoint_rollback_finish(t->op.client, c->result, &err);
	if (!results)
		return nm_call_fail(a, "rolling back to the checkpoint", err);
	/* NM drops the checkpoint once it has rolled back */
	g_clear_pointer(&t->checkpoint, g_free);
	g_hash_table_iter_init(&it, results);
	while (g_hash_table_iter_next(&it, &path, &result))
		if (GPOINTER_TO_UINT(result) != NM_ROLLBACK_RESULT_OK)
			r = log_error_errno(-EIO, "%s: NetworkManager could not roll %s back (result %u)",
					    a->ifname, (const char *)path, GPOINTER_TO_UINT(result));
	return r;
}

static int nmb_snapshot(struct backend *b, const struct adapter *a, uint64_t deadline_usec,
			struct backend_result *res, void **ret)
{
	struct nmb_txn *t = g_new0(struct nmb_txn, 1);
	uint64_t until = MIN(now_usec() + NM_STEP_TIMEOUT_USEC, deadline_usec);
	NMRemoteConnection *rc;
	NMDevice *dev;
	int r;

	profile_uuid(a->mac, t->uuid);
	r = nm_op_begin(&t->op, a, until);
	if (r < 0) {
		g_free(t);
		return r;
	}
	r = need_device(t->op.client, a, &dev);
	if (r < 0)
		goto fail;
	rc = nm_client_get_connection_by_uuid(t->op.client, t->uuid);
	if (rc)
		t->before = nm_simple_connection_new_clone(NM_CONNECTION(rc));
	t->active_before = g_strdup(active_uuid(dev));
	r = checkpoint_create(t, a, dev, until);
	if (r < 0)
		goto fail;
	nm_op_leave(&t->op);
	*ret = t;
	return 0;
fail:
	nm_op_end(&t->op);
	g_clear_object(&t->before);
	g_free(t->active_before);
	g_free(t);
	return r;
}

static void nmb_snapshot_free(struct backend *b, void *p)
{
	struct nmb_txn *t = p;

	if (!t)
		return;
	if (t->checkpoint)
		log_warning("NetworkManager checkpoint %s is left; NetworkManager rolls it back within %u s",
			    t->checkpoint, NM_CHECKPOINT_TIMEOUT_SEC);
	g_clear_object(&t->ac);
	nm_op_end(&t->op);
	g_clear_object(&t->before);
	g_free(t->active_before);
	g_free(t->checkpoint);
	g_free(t);
}

static int profile_add(struct nmb_txn *t, const struct adapter *a, NMConnection *want,
		       bool block_autoconnect, uint64_t until)
{
	_cleanup_nm_call_ struct nm_call *c = nm_call_new();
	g_autoptr(GError) err = NULL;
	NMRemoteConnection *rc = NULL;
	int r;

	nm_client_add_connection2(t->op.client, nm_connection_to_dbus(want, NM_CONNECTION_SERIALIZE_ALL),
				  NM_SETTINGS_ADD_CONNECTION2_FLAG_TO_DISK |
					  (block_autoconnect ? NM_SETTINGS_ADD_CONNECTION2_FLAG_BLOCK_AUTOCONNECT
							     : 0),
				  NULL, TRUE, c->cancel, nm_call_done, c);
	r = nm_call_wait(&t->op, c, until);
	if (r == 0)
		rc = nm_client_add_connection2_finish(t->op.client, c->result, NULL, &err);
	if (!rc)
		return nm_call_fail(a, "adding the profile", err);
	g_object_unref(rc); /* the client's cache keeps it */
	return 0;
}

static int profile_update(struct nmb_txn *t, const struct adapter *a, NMRemoteConnection *rc,
			  NMConnection *want, bool block_autoconnect, uint64_t until)
{
	_cleanup_nm_call_ struct nm_call *c = nm_call_new();
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) out = NULL;
	int r;

	nm_remote_connection_update2(rc, nm_connection_to_dbus(want, NM_CONNECTION_SERIALIZE_ALL),
				     NM_SETTINGS_UPDATE2_FLAG_TO_DISK |
					     (block_autoconnect ? NM_SETTINGS_UPDATE2_FLAG_BLOCK_AUTOCONNECT
								: 0),
				     NULL, c->cancel, nm_call_done, c);
	r = nm_call_wait(&t->op, c, until);
	if (r == 0)
		out = nm_remote_connection_update2_finish(rc, c->result, &err);
	if (!out)
		return nm_call_fail(a, "updating the profile", err);
	return 0;
}

static int profile_delete(struct nmb_txn *t, const struct adapter *a, NMRemoteConnection *rc,
			  uint64_t until)
{
	_cleanup_nm_call_ struct nm_call *c = nm_call_new();
	g_autoptr(GError) err = NULL;
	int r;

	nm_remote_connection_delete_async(rc, c->cancel, nm_call_done, c);
	r = nm_call_wait(&t->op, c, until);
	if (r < 0 || !nm_remote_connection_delete_finish(rc, c->result, &err))
		return nm_call_fail(a, "deleting the profile it added", err);
	return 0;
}

/* Changes the active profile's settings on the device without taking the
 * link down (reapply); NM refuses when a change needs a re-activation. */
static int device_reapply(struct nmb_txn *t, const struct adapter *a, NMDevice *dev,
			  uint64_t until)
{
	_cleanup_nm_call_ struct nm_call *c = nm_call_new();
	g_autoptr(GError) err = NULL;
	int r;

	nm_device_reapply_async(dev, NULL, 0, 0, c->cancel, nm_call_done, c);
	r = nm_call_wait(&t->op, c, until);
	if (r < 0 || !nm_device_reapply_finish(dev, c->result, &err)) {
		log_info("%s: NetworkManager cannot reapply the new settings in place (%s); re-activating",
			 a->ifname, err ? err->message : "no answer in time");
		return r < 0 ? r : nm_gerror_errno(err);
	}
	return 0;
}

static int device_activate(struct nmb_txn *t, const struct adapter *a, NMDevice *dev,
			   NMConnection *profile, uint64_t until)
{
	_cleanup_nm_call_ struct nm_call *c = nm_call_new();
	g_autoptr(GError) err = NULL;
	NMActiveConnection *ac = NULL;
	int r;

	nm_client_activate_connection_async(t->op.client, profile, dev, NULL, c->cancel, nm_call_done,
					    c);
	r = nm_call_wait(&t->op, c, until);
	if (r == 0)
		ac = nm_client_activate_connection_finish(t->op.client, c->result, &err);
	if (!ac)
		return nm_call_fail(a, "activating the profile", err);
	g_clear_object(&t->ac);
	t->ac = ac;
	return 0;
}

static uint64_t reserve(uint64_t deadline)
{
	uint64_t now = now_usec();

	/* keep time for a rollback, unless the budget is that short anyway */
	if (deadline > now + 2 * NM_ROLLBACK_RESERVE_USEC)
		return deadline - NM_ROLLBACK_RESERVE_USEC;
	return deadline;
}

static int nmb_apply(struct backend *b, void *snapshot, const struct adapter *a,
		     const struct failover_settings *s, uint64_t deadline_usec,
		     struct backend_result *res)
{
	struct nmb_txn *t = snapshot;
	uint64_t until = reserve(deadline_usec);
	g_autoptr(NMConnection) want = NULL;
	NMRemoteConnection *rc;
	NMActiveConnection *ac;
	NMDevice *dev;
	const char *how;
	bool same, ours_active, carrier;
	int r;

	nm_op_enter(&t->op);
	r = build_profile(a, s, t->uuid, &want);
	if (r < 0)
		goto out;
	r = need_device(t->op.client, a, &dev);
	if (r < 0)
		goto out;
	rc = nm_client_get_connection_by_uuid(t->op.client, t->uuid);
	same = rc && profile_equal(NM_CONNECTION(rc), want);
	ac = nm_device_get_active_connection(dev);
	ours_active = ac && streq_ptr(nm_active_connection_get_uuid(ac), t->uuid) &&
		      nm_active_connection_get_state(ac) <= NM_ACTIVE_CONNECTION_STATE_ACTIVATED;
	carrier = has_carrier(dev);

	if (same && (ours_active || !carrier)) {
		/* idempotent: nothing to write, nothing to re-activate */
		how = ours_active ? "profile active" : "profile stored, autoconnects on carrier";
		t->waiting_for_carrier = !carrier;
		log_debug("%s: our NetworkManager profile %s already has these settings", a->ifname,
			  t->uuid);
		goto done;
	}
	/* BLOCK_AUTOCONNECT keeps NM from racing our own activation */
	if (!rc) {
		r = profile_add(t, a, want, carrier, until);
		t->added = r == 0;
	} else if (!same) {
		r = profile_update(t, a, rc, want, carrier && !ours_active, until);
		t->updated = r == 0;
	}
	if (r < 0)
		goto out;
	if (!rc) {
		rc = nm_client_get_connection_by_uuid(t->op.client, t->uuid);
		if (!rc) {
			r = log_error_errno(-EIO, "%s: NetworkManager added the profile but does not list it",
					    a->ifname);
			goto out;
		}
	}
	if (ours_active) {
		/* in place, without a link flap; works without carrier too */
		t->link_changed = true;
		if (device_reapply(t, a, dev, until) == 0) {
			how = "profile reapplied";
			goto done;
		}
	}
	if (!carrier) {
		/* DESIGN: no carrier is not a failure; NM autoconnects it later */
		t->waiting_for_carrier = true;
		how = "profile stored, autoconnects on carrier";
		goto done;
	}
	t->link_changed = true;
	r = device_activate(t, a, dev, NM_CONNECTION(rc), until);
	if (r < 0)
		goto out;
	how = "profile activated";
done:
	backend_result_set(res, t->added || t->updated || t->link_changed, s, "%s (%s)",
			   s->dhcp4 ? ", DHCPv4" : "", how);
	res->waiting_for_carrier = t->waiting_for_carrier;
	log_debug("%s: NetworkManager profile %s: %s", a->ifname, t->uuid, res->detail);
	r = 0;
out:
	nm_op_leave(&t->op);
	return r;
}

/* ---- verify: NM's view and the kernel's ------------------------------------------------ */

enum verdict {
	VERDICT_WAIT,
	VERDICT_OK,
	VERDICT_NO_CARRIER,
	VERDICT_DHCP_PENDING,
	VERDICT_FAILED,
};

struct verify_ctx {
	struct nmb_txn *t;
	struct nmb *n;
	const struct adapter *a;
	const struct failover_settings *s;
	struct link_state *link;
	uint64_t dhcp_after;
	uint64_t activated_since; /* NM said activated, the kernel did not agree yet */
	enum verdict verdict;
	char why[160];
};

static bool has_ipv4(const struct link_state *l)
{
	for (size_t i = 0; i < l->n_addrs; i++)
		if (l->addrs[i].family == AF_INET)
			return true;
	return false;
}

/* Does the kernel hold every address (and, with routes, every default
 * route) of the settings? If not, v->why says what is missing. */
static bool kernel_holds(struct verify_ctx *v, bool routes)
{
	const struct failover_settings *s = v->s;
	char ip[INET6_ADDRSTRLEN];
	int r;

	r = nlx_read_link(v->n->sk, v->a->ifindex, v->link);
	if (r < 0) {
		strprintf(v->why, sizeof(v->why), "cannot read the link: %s", strerror(-r));
		return false;
	}
	for (size_t i = 0; i < s->n_addrs; i++) {
		struct link_addr want;

		link_addr_from_failover(&s->addrs[i], &want);
		if (!link_find_addr(v->link, &want)) {
			strprintf(v->why, sizeof(v->why), "the kernel lacks the address %s/%u",
				  failover_ip_to_string(want.family, &want.addr, ip, sizeof(ip)),
				  want.prefixlen);
			return false;
		}
	}
	for (size_t i = 0; routes && i < s->n_gateways; i++) {
		/* without a static IPv4 address the IPv4 routes wait for DHCP */
		if (s->gateways[i].family == AF_INET && s->dhcp4)
			continue;
		if (!link_has_gateway(v->link, &s->gateways[i])) {
			strprintf(v->why, sizeof(v->why), "the kernel lacks the default route via %s",
				  failover_ip_to_string(s->gateways[i].family, &s->gateways[i].addr,
							ip, sizeof(ip)));
			return false;
		}
	}
	return true;
}

static bool verify_ready(void *p)
{
	struct verify_ctx *v = p;
	struct nmb_txn *t = v->t;
	NMDevice *dev = find_device(t->op.client, v->a);
	NMDeviceState st;
	bool ours;

	if (!dev) {
		v->verdict = VERDICT_FAILED;
		strprintf(v->why, sizeof(v->why), "the device is gone from NetworkManager");
		return true;
	}
	st = nm_device_get_state(dev);
	ours = streq_ptr(active_uuid(dev), t->uuid);
	if (st == NM_DEVICE_STATE_UNAVAILABLE) {
		v->verdict = VERDICT_NO_CARRIER;
		return true;
	}
	if (t->ac && nm_active_connection_get_state(t->ac) >= NM_ACTIVE_CONNECTION_STATE_DEACTIVATING) {
		v->verdict = VERDICT_FAILED;
		strprintf(v->why, sizeof(v->why), "the activation failed (reason %d)",
			  (int)nm_active_connection_get_state_reason(t->ac));
		return true;
	}
	if (st == NM_DEVICE_STATE_FAILED) {
		v->verdict = VERDICT_FAILED;
		strprintf(v->why, sizeof(v->why), "the device failed (reason %d)",
			  (int)nm_device_get_state_reason(dev));
		return true;
	}
	if (!ours) {
		if (t->ac)
			return false; /* NM is still taking the old profile down */
		v->verdict = VERDICT_FAILED;
		strprintf(v->why, sizeof(v->why), "another profile (%s) is active on the device",
			  active_uuid(dev) ?: "none");
		return true;
	}
	if (st == NM_DEVICE_STATE_ACTIVATED) {
		if (kernel_holds(v, true)) {
			v->verdict = VERDICT_OK;
			return true;
		}
		/* NM commits at once; what is still missing later will not come */
		if (!v->activated_since)
			v->activated_since = now_usec();
		if (now_usec() >= v->activated_since + NM_KERNEL_SETTLE_USEC) {
			v->verdict = VERDICT_FAILED;
			return true;
		}
		return false;
	}
	if (v->s->dhcp4 && st >= NM_DEVICE_STATE_IP_CONFIG && now_usec() >= v->dhcp_after &&
	    kernel_holds(v, false)) {
		v->verdict = VERDICT_DHCP_PENDING;
		return true;
	}
	return false;
}

static int nmb_verify(struct backend *b, void *snapshot, const struct adapter *a,
		      const struct failover_settings *s, uint64_t deadline_usec,
		      struct backend_result *res)
{
	struct nmb *n = b->data;
	struct nmb_txn *t = snapshot;
	struct verify_ctx v = { .t = t, .n = n, .a = a, .s = s };
	uint64_t start = now_usec();
	size_t len;
	int r = 0;

	nm_op_enter(&t->op);
	if (t->waiting_for_carrier) {
		NMRemoteConnection *rc = nm_client_get_connection_by_uuid(t->op.client, t->uuid);
		NMSettingConnection *sc = rc ? nm_connection_get_setting_connection(NM_CONNECTION(rc))
					     : NULL;

		if (!sc || !nm_setting_connection_get_autoconnect(sc))
			r = log_error_errno(-EIO, "%s: verify: our profile is not stored for autoconnect",
					    a->ifname);
		goto out;
	}
	v.link = malloc(sizeof(*v.link));
	if (!v.link) {
		r = -ENOMEM;
		goto out;
	}
	/* nothing changed on the link: nothing new to wait for */
	v.dhcp_after = t->link_changed ? start + NM_DHCP_GRACE_USEC : start;
	nm_op_run(&t->op, verify_ready, &v, reserve(deadline_usec), NM_POLL_MSEC);
	len = strlen(res->detail);
	/* NM may call a reapplied profile activated while its DHCP client
	 * still waits for a lease: say so rather than claim an address */
	if (v.verdict == VERDICT_OK && s->dhcp4 && !has_ipv4(v.link))
		v.verdict = VERDICT_DHCP_PENDING;
	switch (v.verdict) {
	case VERDICT_OK:
		res->waiting_for_carrier = !v.link->carrier;
		break;
	case VERDICT_NO_CARRIER:
		res->waiting_for_carrier = true;
		break;
	case VERDICT_DHCP_PENDING:
		strprintf(res->detail + len, sizeof(res->detail) - len, "; DHCPv4 in progress");
		log_info("%s: no DHCPv4 lease yet after %llu ms; NetworkManager keeps asking",
			 a->ifname, (unsigned long long)((now_usec() - start) / USEC_PER_MSEC));
		break;
	case VERDICT_FAILED:
		r = log_error_errno(-EIO, "%s: verify: %s", a->ifname, v.why);
		break;
	case VERDICT_WAIT: {
		NMDevice *dev = find_device(t->op.client, a);

		r = log_error_errno(-ETIMEDOUT,
				    "%s: verify: NetworkManager did not bring our profile up within %llu ms (device state %d)%s%s",
				    a->ifname, (unsigned long long)((now_usec() - start) / USEC_PER_MSEC),
				    dev ? (int)nm_device_get_state(dev) : -1, *v.why ? ": " : "", v.why);
		break;
	}
	}
	log_debug("%s: verified in %llu ms", a->ifname,
		  (unsigned long long)((now_usec() - start) / USEC_PER_MSEC));
out:
	free(v.link);
	nm_op_leave(&t->op);
	return r;
}

/* Commit: the profile is on disk (NM wrote the keyfile), then the
 * checkpoint goes. */
static int nmb_persist(struct backend *b, void *snapshot, const struct adapter *a,
		       const struct failover_settings *s)
{
	struct nmb_txn *t = snapshot;
	NMRemoteConnection *rc;
	int r;

	nm_op_enter(&t->op);
	rc = nm_client_get_connection_by_uuid(t->op.client, t->uuid);
	if (!rc || nm_remote_connection_get_unsaved(rc) ||
	    isempty(nm_remote_connection_get_filename(rc))) {
		r = log_error_errno(-EIO, "%s: NetworkManager has not stored our profile on disk",
				    a->ifname);
		goto out;
	}
	r = checkpoint_destroy(t, a, now_usec() + NM_STEP_TIMEOUT_USEC);
	if (r == 0)
		log_debug("%s: profile %s stored in %s", a->ifname, t->uuid,
			  nm_remote_connection_get_filename(rc));
out:
	nm_op_leave(&t->op);
	return r;
}

/* ---- rollback -------------------------------------------------------------------------- */

struct settle_ctx {
	struct nmb_txn *t;
	const struct adapter *a;
	uint64_t ip_config_since; /* the old profile got to IP configuration */
};

/* The device is back: the old profile activated, or (DHCP that may never
 * answer) in IP configuration for a while; or disconnected when nothing was
 * active. */
static bool settled(void *p)
{
	struct settle_ctx *x = p;
	NMDevice *dev = find_device(x->t->op.client, x->a);
	NMDeviceState st;

	if (!dev)
		return true;
	st = nm_device_get_state(dev);
	if (!x->t->active_before)
		return st <= NM_DEVICE_STATE_DISCONNECTED || st == NM_DEVICE_STATE_ACTIVATED;
	if (!streq_ptr(active_uuid(dev), x->t->active_before))
		return false;
	if (st == NM_DEVICE_STATE_ACTIVATED)
		return true;
	if (st < NM_DEVICE_STATE_IP_CONFIG || st > NM_DEVICE_STATE_SECONDARIES) {
		x->ip_config_since = 0;
		return false;
	}
	if (!x->ip_config_since)
		x->ip_config_since = now_usec();
	return now_usec() >= x->ip_config_since + NM_SETTLE_IP_CONFIG_USEC;
}

/* Without the checkpoint (already committed): bring back by hand what was
 * active on the device. */
static int restore_device(struct nmb_txn *t, const struct adapter *a, uint64_t until)
{
	NMDevice *dev = find_device(t->op.client, a);
	NMRemoteConnection *old;
	_cleanup_nm_call_ struct nm_call *c = NULL;
	g_autoptr(GError) err = NULL;
	int r;

	if (!dev)
		return log_error_errno(-ENXIO, "%s: NetworkManager no longer knows the device",
				       a->ifname);
	if (!t->active_before) {
		c = nm_call_new();
		nm_device_disconnect_async(dev, c->cancel, nm_call_done, c);
		r = nm_call_wait(&t->op, c, until);
		if (r < 0 || !nm_device_disconnect_finish(dev, c->result, &err))
			return nm_call_fail(a, "disconnecting the device", err);
		return 0;
	}
	old = nm_client_get_connection_by_uuid(t->op.client, t->active_before);
	if (!old)
		return log_error_errno(-ENOENT, "%s: the profile %s that was active is gone", a->ifname,
				       t->active_before);
	return device_activate(t, a, dev, NM_CONNECTION(old), until);
}

static int nmb_rollback(struct backend *b, void *snapshot, const struct adapter *a,
			uint64_t deadline_usec)
{
	struct nmb_txn *t = snapshot;
	uint64_t until = MAX(deadline_usec, now_usec() + 2 * USEC_PER_SEC);
	struct settle_ctx x = { .t = t, .a = a };
	NMRemoteConnection *rc;
	int r = 0, q;

	if (!t)
		return 0;
	nm_op_enter(&t->op);
	if (!t->added && !t->updated && !t->link_changed) {
		/* apply changed nothing: drop the checkpoint, do not roll back
		 * (NM might re-activate the device for nothing) */
		r = checkpoint_destroy(t, a, until);
		goto out;
	}
	if (t->checkpoint) {
		r = checkpoint_rollback(t, a, until);
		t->checkpoint_used = r == 0;
	}

	/*
	 * Our own profile. The checkpoint deletes it when this apply added it
	 * and restores it when it was the device's active profile; otherwise
	 * (or without the checkpoint) put it back here. Decided from what
	 * apply did, not from the client's cache, which may lag behind NM.
	 */
	if (t->added && !t->checkpoint_used) {
		rc = nm_client_get_connection_by_uuid(t->op.client, t->uuid);
		q = rc ? profile_delete(t, a, rc, until) : 0;
		if (q < 0 && !r)
			r = q;
	}
	if (t->updated && t->before &&
	    !(t->checkpoint_used && streq_ptr(t->active_before, t->uuid))) {
		rc = nm_client_get_connection_by_uuid(t->op.client, t->uuid);
		q = rc ? profile_update(t, a, rc, t->before, false, until)
		       : log_error_errno(-ENOENT, "%s: our profile vanished", a->ifname);
		if (q < 0 && !r)
			r = q;
	}
	if (!t->checkpoint_used && t->link_changed && r == 0 && !settled(&x)) {
		q = restore_device(t, a, until);
		if (q < 0 && !r)
			r = q;
	}
	if (!nm_op_run(&t->op, settled, &x, MIN(until, now_usec() + NM_SETTLE_USEC), NM_POLL_MSEC))
		log_info("%s: NetworkManager is still bringing the previous profile back", a->ifname);
out:
	nm_op_leave(&t->op);
	return r;
}

/* ---- GET_IP_INFO -------------------------------------------------------------------------- */

static void add_dns(struct backend_link_info *ret, NMIPConfig *cfg, int family)
{
	const char *const *ns = cfg ? nm_ip_config_get_nameservers(cfg) : NULL;

	for (size_t i = 0; ns && ns[i] && ret->n_dns < ARRAY_SIZE(ret->dns); i++) {
		struct failover_ip *x = &ret->dns[ret->n_dns];

		if (inet_pton(family, ns[i], &x->addr) == 1) {
			x->family = family;
			ret->n_dns++;
		}
	}
}

/* DNS servers and DHCP as NetworkManager applies them on the device. */
static int nmb_query(struct backend *b, const struct adapter *a, struct backend_link_info *ret)
{
	struct nm_op op;
	NMActiveConnection *ac;
	NMDevice *dev;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = nm_op_begin(&op, a, now_usec() + NM_STEP_TIMEOUT_USEC);
	if (r < 0)
		return r;
	dev = find_device(op.client, a);
	if (!dev) {
		r = -ENXIO;
		goto out;
	}
	ret->dns_known = true;
	ret->dhcp4_known = true;
	ac = nm_device_get_active_connection(dev);
	if (ac) {
		NMRemoteConnection *rc = nm_active_connection_get_connection(ac);
		NMSettingIPConfig *s4 =
			rc ? nm_connection_get_setting_ip4_config(NM_CONNECTION(rc)) : NULL;

		add_dns(ret, nm_active_connection_get_ip4_config(ac), AF_INET);
		add_dns(ret, nm_active_connection_get_ip6_config(ac), AF_INET6);
		ret->dhcp4 = s4 && streq_ptr(nm_setting_ip_config_get_method(s4),
					     NM_SETTING_IP4_CONFIG_METHOD_AUTO);
	}
out:
	nm_op_end(&op);
	return r;
}

/* ---- revert ------------------------------------------------------------------------------- */

/* The profile NetworkManager would pick for the device without ours: an
 * available one that autoconnects, highest autoconnect priority first,
 * then the most recently used (NM's own order); NULL when none. */
static NMRemoteConnection *previous_profile(NMDevice *dev, const char *ours)
{
	const GPtrArray *avail = nm_device_get_available_connections(dev);
	NMRemoteConnection *best = NULL;
	int best_prio = 0;
	guint64 best_ts = 0;

	for (guint i = 0; avail && i < avail->len; i++) {
		NMRemoteConnection *rc = avail->pdata[i];
		NMSettingConnection *sc = nm_connection_get_setting_connection(NM_CONNECTION(rc));
		int prio;
		guint64 ts;

		if (!sc || streq_ptr(nm_setting_connection_get_uuid(sc), ours) ||
		    !nm_setting_connection_get_autoconnect(sc))
			continue;
		prio = nm_setting_connection_get_autoconnect_priority(sc);
		ts = nm_setting_connection_get_timestamp(sc);
		if (!best || prio > best_prio || (prio == best_prio && ts > best_ts)) {
			best = rc;
			best_prio = prio;
			best_ts = ts;
		}
	}
	return best;
}

/* Deletes our profile and activates the one NetworkManager would pick
 * without it (the administrator's), waiting (bounded) for it to come up.
 * `original` is not needed: NM keeps the administrator's profile. */
static int nmb_revert(struct backend *b, const struct adapter *a, const struct link_state *original,
		      bool dry_run, uint64_t deadline_usec, char *msg, size_t msg_size)
{
	struct nmb_txn *t = g_new0(struct nmb_txn, 1);
	uint64_t until = MAX(deadline_usec, now_usec() + 2 * USEC_PER_SEC);
	struct settle_ctx x = { .t = t, .a = a };
	NMRemoteConnection *rc, *prev;
	char ours_id[128], prev_id[128];
	NMDevice *dev;
	int r;

	profile_uuid(a->mac, t->uuid);
	r = nm_op_begin(&t->op, a, until);
	if (r < 0) {
		strprintf(msg, msg_size, "NetworkManager does not answer");
		g_free(t);
		return r;
	}
	r = need_device(t->op.client, a, &dev);
	if (r < 0) {
		strprintf(msg, msg_size, "NetworkManager does not know the device");
		goto out;
	}
	rc = nm_client_get_connection_by_uuid(t->op.client, t->uuid);
	if (!rc) {
		strprintf(msg, msg_size, "NetworkManager has no failover profile for %s (uuid %s); nothing to remove",
			  a->ifname, t->uuid);
		goto out;
	}
	escape_str(ours_id, sizeof(ours_id), nm_connection_get_id(NM_CONNECTION(rc)));
	prev = previous_profile(dev, t->uuid);
	if (prev)
		escape_str(prev_id, sizeof(prev_id), nm_connection_get_id(NM_CONNECTION(prev)));
	if (dry_run) {
		if (prev)
			strprintf(msg, msg_size, "would delete the NetworkManager profile '%s' and activate '%s' on %s",
				  ours_id, prev_id, a->ifname);
		else
			strprintf(msg, msg_size, "would delete the NetworkManager profile '%s'; no other profile autoconnects on %s",
				  ours_id, a->ifname);
		goto out;
	}
	/* prev is a cached object that outlives the deletion of ours */
	if (prev) {
		g_object_ref(prev);
		t->active_before = g_strdup(nm_connection_get_uuid(NM_CONNECTION(prev)));
	}
	r = profile_delete(t, a, rc, until);
	if (r < 0) {
		strprintf(msg, msg_size, "NetworkManager did not delete the profile '%s'", ours_id);
		g_clear_object(&prev);
		goto out;
	}
	log_info("%s: deleted the NetworkManager profile '%s'", a->ifname, ours_id);
	if (prev) {
		r = need_device(t->op.client, a, &dev);
		if (r == 0)
			r = device_activate(t, a, dev, NM_CONNECTION(prev), until);
		g_clear_object(&prev);
		if (r < 0) {
			strprintf(msg, msg_size, "deleted the profile '%s', but NetworkManager did not activate '%s'",
				  ours_id, prev_id);
			goto out;
		}
		if (!nm_op_run(&t->op, settled, &x, MIN(until, now_usec() + NM_SETTLE_USEC), NM_POLL_MSEC))
			log_info("%s: NetworkManager is still activating '%s'", a->ifname, prev_id);
		strprintf(msg, msg_size, "deleted the NetworkManager profile '%s' and activated '%s'", ours_id,
			  prev_id);
	} else
		strprintf(msg, msg_size, "deleted the NetworkManager profile '%s'; no other profile autoconnects on %s",
			  ours_id, a->ifname);
out:
	g_clear_object(&t->ac);
	nm_op_end(&t->op);
	g_free(t->active_before);
	g_free(t);
	return r;
}

const struct backend_ops backend_nm_ops = {
	.name = "networkmanager",
	.keeps_config = true, /* NetworkManager's profile */
	.init = nmb_init,
	.done = nmb_done,
	.probe = nmb_probe,
	.snapshot = nmb_snapshot,
	.apply = nmb_apply,
	.verify = nmb_verify,
	.persist = nmb_persist,
	.rollback = nmb_rollback,
	.snapshot_free = nmb_snapshot_free,
	.query = nmb_query,
	.revert = nmb_revert,
};

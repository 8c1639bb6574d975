/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-ifupdown.c - the ifupdown backend's text edits (disable, restore, render) and the link-original file format. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef HAVE_IFUPDOWN
#include "backend-ifupdown.h"
#endif
#include "link-original.h"
#include "suites.h"
#include "util.h"

#ifdef HAVE_IFUPDOWN
static struct adapter eth0 = { .ifname = "eth0", .ifindex = 3, .mac = "00:15:5d:00:00:01" };
static struct adapter eth1 = { .ifname = "eth1", .ifindex = 4, .mac = "00:15:5d:00:00:02" };

static const char ADMIN[] =
	"# the admin's file\n"
	"source /etc/network/interfaces.d/*\n"
	"\n"
	"auto lo eth0\n"
	"iface lo inet loopback\n"
	"\n"
	"iface eth0 inet static\n"
	"\taddress 198.51.100.5/24\n"
	"\t# a comment in the stanza\n"
	"\n"
	"\tgateway 198.51.100.1\n"
	"iface eth0 inet6 static\n"
	"    address 2001:db8:5::5/64\n"
	"iface eth1 inet dhcp\n"
	"iface eth00 inet dhcp\n"
	"mapping eth0\n"
	"\tscript /bin/true\n"
	"last line without a newline";

static const char DISABLED[] =
	"# the admin's file\n"
	"source /etc/network/interfaces.d/*\n"
	"\n"
	"auto lo eth0\n"
	"iface lo inet loopback\n"
	"\n"
	"#hvkvpd-off 00155d000001 iface eth0 inet static\n"
	"#hvkvpd-off 00155d000001 \taddress 198.51.100.5/24\n"
	"\t# a comment in the stanza\n"
	"\n"
	"#hvkvpd-off 00155d000001 \tgateway 198.51.100.1\n"
	"#hvkvpd-off 00155d000001 iface eth0 inet6 static\n"
	"#hvkvpd-off 00155d000001     address 2001:db8:5::5/64\n"
	"iface eth1 inet dhcp\n"
	"iface eth00 inet dhcp\n"
	"mapping eth0\n"
	"\tscript /bin/true\n"
	"last line without a newline";

START_TEST(test_disable)
{
	bool changed = false;
	_cleanup_free_ char *d = ifu_disable_stanzas(ADMIN, &eth0, &changed);

	ck_assert_ptr_nonnull(d);
	ck_assert(changed);
	ck_assert_str_eq(d, DISABLED);
}
END_TEST

START_TEST(test_disable_idempotent)
{
	bool changed = false;
	_cleanup_free_ char *d = ifu_disable_stanzas(DISABLED, &eth0, &changed);

	ck_assert(!changed);
	ck_assert_str_eq(d, DISABLED);
}
END_TEST

START_TEST(test_restore_identity)
{
	bool changed = false;
	_cleanup_free_ char *r = ifu_restore_and_block(DISABLED, &eth0, NULL, &changed);

	ck_assert(changed);
	ck_assert_str_eq(r, ADMIN);
}
END_TEST

START_TEST(test_restore_other_mac_untouched)
{
	bool changed = false;
	_cleanup_free_ char *r = ifu_restore_and_block(DISABLED, &eth1, NULL, &changed);

	ck_assert(!changed);
	ck_assert_str_eq(r, DISABLED);
}
END_TEST

START_TEST(test_block_round_trip)
{
	static const char block[] = "# hvkvpd 00155d000001 begin\niface eth0 inet static\n"
				    "\taddress 192.0.2.10/24\n# hvkvpd 00155d000001 end\n";
	bool changed = false;
	_cleanup_free_ char *with = ifu_restore_and_block(ADMIN, &eth0, block, &changed);
	_cleanup_free_ char *again = NULL, *disabled = NULL;

	ck_assert(changed);
	/* a newline goes before the block when the file lacks its last one */
	ck_assert_int_eq(strlen(with), strlen(ADMIN) + 1 + strlen(block));
	/* our block's stanza is never disabled as the admin's */
	disabled = ifu_disable_stanzas(with, &eth0, &changed);
	ck_assert_ptr_nonnull(strstr(disabled, "\niface eth0 inet static\n\taddress 192.0.2.10/24\n"));
	changed = false;
	again = ifu_restore_and_block(disabled, &eth0, NULL, &changed);
	ck_assert(changed);
	ck_assert_int_eq(strlen(again), strlen(ADMIN) + 1);
	ck_assert(strncmp(again, ADMIN, strlen(ADMIN)) == 0);
}
END_TEST

static void settings(struct failover_settings *s, const char *const *addrs, const unsigned *plen,
		     size_t n, const char *const *gws, size_t ng, const char *const *dns, size_t nd)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		s->addrs[i].family = strchr(addrs[i], ':') ? AF_INET6 : AF_INET;
		ck_assert_int_eq(inet_pton(s->addrs[i].family, addrs[i], &s->addrs[i].addr), 1);
		s->addrs[i].prefixlen = (uint8_t)plen[i];
	}
	s->n_addrs = n;
	for (size_t i = 0; i < ng; i++) {
		s->gateways[i].family = strchr(gws[i], ':') ? AF_INET6 : AF_INET;
		ck_assert_int_eq(inet_pton(s->gateways[i].family, gws[i], &s->gateways[i].addr), 1);
	}
	s->n_gateways = ng;
	for (size_t i = 0; i < nd; i++) {
		s->dns[i].family = strchr(dns[i], ':') ? AF_INET6 : AF_INET;
		ck_assert_int_eq(inet_pton(s->dns[i].family, dns[i], &s->dns[i].addr), 1);
	}
	s->n_dns = nd;
}

/* the body of a rendering: without its three comment lines */
static const char *body(const char *text)
{
	for (int i = 0; i < 3; i++) {
		ck_assert(text[0] == '#');
		text = strchr(text, '\n') + 1;
	}
	return text;
}

START_TEST(test_render)
{
	static const char *const a[] = { "192.0.2.10", "192.0.2.11", "2001:db8::10" };
	static const unsigned p[] = { 24, 24, 64 };
	static const char *const g[] = { "192.0.2.1", "2001:db8::1", "192.0.2.2" };
	static const char *const d[] = { "192.0.2.53", "2001:db8::53" };
	struct failover_settings s;
	_cleanup_free_ char *t = NULL;

	settings(&s, a, p, 3, g, 3, d, 2);
	ck_assert_int_eq(ifu_render_stanzas(&eth0, &s, true, true, "", &t), 0);
	ck_assert_str_eq(body(t), "auto eth0\n"
				  "iface eth0 inet static\n"
				  "\taddress 192.0.2.10/24\n"
				  "\tgateway 192.0.2.1\n"
				  "\tmetric 100\n"
				  "\tdns-nameservers 192.0.2.53 2001:db8::53\n"
				  "iface eth0 inet static\n"
				  "\taddress 192.0.2.11/24\n"
				  "\tgateway 192.0.2.2\n"
				  "\tmetric 101\n"
				  "iface eth0 inet6 static\n"
				  "\taddress 2001:db8::10/64\n"
				  "\tgateway 2001:db8::1\n"
				  "\tmetric 100\n");
}
END_TEST

START_TEST(test_render_more_gateways_dhcp)
{
	static const char *const a[] = { "2001:db8::10" };
	static const unsigned p[] = { 64 };
	static const char *const g[] = { "192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2" };
	struct failover_settings s;
	_cleanup_free_ char *t = NULL;

	settings(&s, a, p, 1, g, 4, NULL, 0);
	s.dhcp4 = true;
	ck_assert_int_eq(ifu_render_stanzas(&eth0, &s, false, false, "", &t), 0);
	ck_assert_str_eq(body(t), "iface eth0 inet dhcp\n"
				  "\tup ip -4 route add default via 192.0.2.1 metric 100 dev eth0 onlink\n"
				  "\tdown ip -4 route del default via 192.0.2.1 metric 100 dev eth0 || true\n"
				  "\tup ip -4 route add default via 192.0.2.2 metric 101 dev eth0 onlink\n"
				  "\tdown ip -4 route del default via 192.0.2.2 metric 101 dev eth0 || true\n"
				  "iface eth0 inet6 static\n"
				  "\taddress 2001:db8::10/64\n"
				  "\tgateway 2001:db8::1\n"
				  "\tmetric 100\n"
				  "\tup ip -6 route add default via 2001:db8::2 metric 101 dev eth0 onlink\n"
				  "\tdown ip -6 route del default via 2001:db8::2 metric 101 dev eth0 || true\n");
}
END_TEST

START_TEST(test_render_refuses_odd_names)
{
	static const char *const names[] = { "eth 0", "eth0\n", "e*", "", "a;b", "x\\" };
	static const char *const a[] = { "192.0.2.10" };
	static const unsigned p[] = { 24 };
	struct failover_settings s;

	settings(&s, a, p, 1, NULL, 0, NULL, 0);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct adapter x = eth0;
		char *t = NULL;

		strscpy(x.ifname, sizeof(x.ifname), names[i]);
		ck_assert_int_eq(ifu_render_stanzas(&x, &s, true, false, "", &t), -EOPNOTSUPP);
		ck_assert_ptr_null(t);
	}
}
END_TEST

#endif /* HAVE_IFUPDOWN */

/* ---- link-original ------------------------------------------------------------ */

START_TEST(test_original_round_trip)
{
	_cleanup_free_ struct link_state *l = calloc(1, sizeof(*l)), *back = calloc(1, sizeof(*back));
	_cleanup_free_ char *buf = malloc(64 * 1024), *buf2 = malloc(64 * 1024);

	l->flags = 0x11043;
	l->carrier = true;
	l->n_addrs = 2;
	l->addrs[0] = (struct link_addr){ .family = AF_INET, .prefixlen = 24, .scope = 0, .flags = 0x80,
					  .permanent = true, .has_broadcast = true, .label = "eth0:1" };
	inet_pton(AF_INET, "198.51.100.5", &l->addrs[0].addr);
	inet_pton(AF_INET, "198.51.100.255", &l->addrs[0].broadcast);
	l->addrs[1] = (struct link_addr){ .family = AF_INET6, .prefixlen = 64, .label = "bad label" };
	inet_pton(AF_INET6, "2001:db8:5::5", &l->addrs[1].addr);
	l->n_routes = 1;
	l->routes[0] = (struct link_route){ .family = AF_INET6, .has_gateway = true, .onlink = true,
					    .metric = 1024, .protocol = 3, .table = 254 };
	inet_pton(AF_INET6, "2001:db8:5::1", &l->routes[0].gateway);
	l->n_statics = 1;
	l->statics[0] = (struct link_route){ .family = AF_INET, .dst_len = 16, .has_gateway = true,
					     .has_prefsrc = true, .metric = 7, .protocol = 4, .table = 254 };
	inet_pton(AF_INET, "10.1.0.0", &l->statics[0].dst);
	inet_pton(AF_INET, "198.51.100.1", &l->statics[0].gateway);
	inet_pton(AF_INET, "198.51.100.5", &l->statics[0].prefsrc);

	ck_assert_int_eq(link_original_format(l, buf, 64 * 1024), 0);
	ck_assert_int_eq(link_original_parse(buf, back), 0);
	ck_assert_uint_eq(back->flags, l->flags);
	ck_assert(back->carrier);
	ck_assert_uint_eq(back->n_addrs, 2);
	ck_assert(link_addr_equal(&back->addrs[0], &l->addrs[0]));
	ck_assert(back->addrs[0].has_broadcast && back->addrs[0].from_kernel);
	ck_assert_str_eq(back->addrs[0].label, "eth0:1");
	ck_assert_str_eq(back->addrs[1].label, ""); /* a label with a blank is left out */
	ck_assert_uint_eq(back->n_routes, 1);
	ck_assert(link_route_equal(&back->routes[0], &l->routes[0]));
	ck_assert(back->routes[0].onlink);
	ck_assert_uint_eq(back->n_statics, 1);
	ck_assert(link_route_equal(&back->statics[0], &l->statics[0]));
	ck_assert(back->statics[0].has_prefsrc);
	/* and formats to the same text again */
	ck_assert_int_eq(link_original_format(back, buf2, 64 * 1024), 0);
	/* (the bad label became "-" the first time already) */
	ck_assert_str_eq(buf, buf2);
}
END_TEST

START_TEST(test_original_garbage)
{
	_cleanup_free_ struct link_state *l = calloc(1, sizeof(*l));

	ck_assert_int_eq(link_original_parse("", l), -EBADMSG);
	ck_assert_int_eq(link_original_parse("addr 4 1.2.3.4 24 0 0 1 - -\n", l), -EBADMSG);
	ck_assert_int_eq(link_original_parse("link 1 1\n"
					     "addr 4 1.2.3.4 33 0 0 1 - -\n"	  /* prefix too long */
					     "addr 5 1.2.3.4 24 0 0 1 - -\n"	  /* family */
					     "addr 6 1.2.3.4 24 0 0 1 - -\n"	  /* not IPv6 */
					     "route 4 0.0.0.0 0 1.1.1.1 2 - 0 3 254\n" /* onlink 2 */
					     "route 4 0.0.0.0 0 1.1.1.1 0 - 0 3\n"     /* short */
					     "static 4 0.0.0.0 0 1.1.1.1 0 - 0 3 254 extra\n"
					     "addr 4 1.2.3.4 24 0 0 1 - - x y z w v u t s r q\n"
					     "unknown line\n"
					     "addr 4 10.0.0.1 8 0 0 1 - -\n",
					     l),
			 0);
	ck_assert_uint_eq(l->n_addrs, 1);
	ck_assert_uint_eq(l->n_routes, 0);
	ck_assert_uint_eq(l->n_statics, 0);
}
END_TEST

START_TEST(test_original_files)
{
	char dir[] = "/tmp/hvkvp-original-XXXXXX";
	_cleanup_free_ struct link_state *l = calloc(1, sizeof(*l)), *back = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	l->flags = 1;
	ck_assert_int_eq(link_original_load(dir, "00:15:5d:00:00:01", &back), -ENOENT);
	ck_assert_int_eq(link_original_save(dir, "00:15:5d:00:00:01", l), 0);
	l->flags = 2;
	/* the first one stays */
	ck_assert_int_eq(link_original_save(dir, "00:15:5d:00:00:01", l), 1);
	ck_assert_int_eq(link_original_load(dir, "00:15:5d:00:00:01", &back), 0);
	ck_assert_uint_eq(back->flags, 1);
	ck_assert_int_eq(link_original_save(dir, "../x", l), -EINVAL);
	ck_assert_int_eq(link_original_remove(dir, "00:15:5d:00:00:01"), 0);
	ck_assert_int_eq(link_original_remove(dir, "00:15:5d:00:00:01"), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

Suite *ifupdown_suite(void)
{
	Suite *s = suite_create("ifupdown");
	TCase *tc = tcase_create("core");

#ifdef HAVE_IFUPDOWN
	tcase_add_test(tc, test_disable);
	tcase_add_test(tc, test_disable_idempotent);
	tcase_add_test(tc, test_restore_identity);
	tcase_add_test(tc, test_restore_other_mac_untouched);
	tcase_add_test(tc, test_block_round_trip);
	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_render_more_gateways_dhcp);
	tcase_add_test(tc, test_render_refuses_odd_names);
#endif
	tcase_add_test(tc, test_original_round_trip);
	tcase_add_test(tc, test_original_garbage);
	tcase_add_test(tc, test_original_files);
	suite_add_tcase(s, tc);
	return s;
}

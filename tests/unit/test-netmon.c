/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for netmon.c's pure parts: the uplink decision over hand-made links, addresses and routes, the
 * source-address fingerprint, and which endpoints count as loopback. No netlink is involved. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>

#include "../../daemon/netmon.h"

#define UP (IFF_UP | IFF_RUNNING)

static NetmonAddr v4(int ifindex, const char *a, uint8_t scope, uint32_t flags) {
        NetmonAddr x = { .ifindex = ifindex, .family = AF_INET, .scope = scope, .flags = flags, .addr_len = 4 };

        assert_int_equal(inet_pton(AF_INET, a, x.addr), 1);
        return x;
}

static NetmonAddr v6(int ifindex, const char *a, uint8_t scope, uint32_t flags) {
        NetmonAddr x = { .ifindex = ifindex, .family = AF_INET6, .scope = scope, .flags = flags, .addr_len = 16 };

        assert_int_equal(inet_pton(AF_INET6, a, x.addr), 1);
        return x;
}

static NetmonRoute dflt(int ifindex, int family, uint32_t table, uint32_t metric) {
        return (NetmonRoute) { .ifindex = ifindex, .family = family, .table = table, .type = RTN_UNICAST,
                               .priority = metric };
}

/* lo, eth0 (2) and wlan0 (3); each test adjusts them. */
typedef struct Net {
        NetmonLink links[3];
        NetmonAddr addrs[8];
        NetmonRoute routes[8];
        size_t n_addrs, n_routes;
} Net;

static Net net_new(void) {
        return (Net) {
                .links = {
                        { .ifindex = 1, .flags = UP | IFF_LOOPBACK, .name = "lo" },
                        { .ifindex = 2, .flags = UP, .name = "eth0" },
                        { .ifindex = 3, .flags = UP, .name = "wlan0" },
                },
        };
}

static NetmonStatus decide(const Net *n, const char *interface) {
        NetmonView v = { n->links, 3, n->addrs, n->n_addrs, n->routes, n->n_routes };
        NetmonStatus st;

        netmon_decide(&v, interface, &st);
        return st;
}

static void test_loopback_only_is_offline(void **state) {
        Net n = net_new();

        n.addrs[n.n_addrs++] = v4(1, "127.0.0.1", RT_SCOPE_HOST, 0);
        n.routes[n.n_routes++] = dflt(1, AF_INET, RT_TABLE_MAIN, 0);
        assert_false(decide(&n, NULL).online);
        assert_int_equal(decide(&n, NULL).fingerprint, 0);
}

static void test_uplink_needs_address_and_route(void **state) {
        Net n = net_new();

        n.addrs[n.n_addrs++] = v4(2, "198.18.0.2", RT_SCOPE_UNIVERSE, 0);
        assert_false(decide(&n, NULL).online);              /* no default route */
        n.routes[n.n_routes++] = dflt(2, AF_INET, RT_TABLE_MAIN, 100);
        assert_true(decide(&n, NULL).online);
        assert_int_equal(decide(&n, NULL).ifindex, 2);
        n.links[1].flags = IFF_UP;                          /* no carrier */
        assert_false(decide(&n, NULL).online);
        n.links[1].flags = 0;                               /* administratively down */
        assert_false(decide(&n, NULL).online);
}

static void test_address_quality(void **state) {
        Net n = net_new();

        n.routes[n.n_routes++] = dflt(2, AF_INET6, RT_TABLE_MAIN, 100);
        n.addrs[n.n_addrs++] = v6(2, "fe80::1", RT_SCOPE_LINK, 0);
        assert_false(decide(&n, NULL).online);
        n.addrs[n.n_addrs++] = v6(2, "2001:db8::1", RT_SCOPE_UNIVERSE, IFA_F_TENTATIVE);
        assert_false(decide(&n, NULL).online);
        n.addrs[n.n_addrs - 1].flags = IFA_F_DEPRECATED;
        assert_false(decide(&n, NULL).online);
        n.addrs[n.n_addrs - 1].flags = IFA_F_PERMANENT;
        assert_true(decide(&n, NULL).online);
}

static void test_route_family_must_match(void **state) {
        Net n = net_new();

        /* A global IPv4 address and only an IPv6 default route: nothing can be sent. */
        n.addrs[n.n_addrs++] = v4(2, "198.18.0.2", RT_SCOPE_UNIVERSE, 0);
        n.routes[n.n_routes++] = dflt(2, AF_INET6, RT_TABLE_MAIN, 100);
        assert_false(decide(&n, NULL).online);
        /* Unreachable and blackhole defaults do not count either. */
        n.routes[n.n_routes++] = (NetmonRoute) { .ifindex = 2, .family = AF_INET, .table = RT_TABLE_MAIN,
                                                 .type = RTN_UNREACHABLE };
        assert_false(decide(&n, NULL).online);
}

static void test_lowest_metric_wins(void **state) {
        Net n = net_new();

        n.addrs[n.n_addrs++] = v4(2, "198.18.0.2", RT_SCOPE_UNIVERSE, 0);
        n.addrs[n.n_addrs++] = v4(3, "198.19.0.2", RT_SCOPE_UNIVERSE, 0);
        n.routes[n.n_routes++] = dflt(2, AF_INET, RT_TABLE_MAIN, 600);
        n.routes[n.n_routes++] = dflt(3, AF_INET, RT_TABLE_MAIN, 100);
        assert_int_equal(decide(&n, NULL).ifindex, 3);
        n.links[2].flags = 0;
        assert_int_equal(decide(&n, NULL).ifindex, 2);
}

static void test_interface_setting(void **state) {
        Net n = net_new();

        n.addrs[n.n_addrs++] = v4(2, "198.18.0.2", RT_SCOPE_UNIVERSE, 0);
        n.addrs[n.n_addrs++] = v4(3, "198.19.0.2", RT_SCOPE_UNIVERSE, 0);
        n.routes[n.n_routes++] = dflt(2, AF_INET, RT_TABLE_MAIN, 100);
        n.routes[n.n_routes++] = dflt(3, AF_INET, 1000, 100);
        /* Without Interface=, only the main table counts; wlan0's default lives in a policy table. */
        assert_int_equal(decide(&n, NULL).ifindex, 2);
        assert_int_equal(decide(&n, "").ifindex, 2);
        /* Interface=wlan0 watches wlan0 only, and any table. */
        assert_int_equal(decide(&n, "wlan0").ifindex, 3);
        n.links[2].flags = 0;
        assert_false(decide(&n, "wlan0").online);           /* eth0 being fine does not matter */
        assert_false(decide(&n, "nosuch0").online);
}

static void test_fingerprint(void **state) {
        Net n = net_new(), m;
        uint64_t a, b;

        n.addrs[n.n_addrs++] = v4(2, "198.18.0.2", RT_SCOPE_UNIVERSE, 0);
        n.addrs[n.n_addrs++] = v6(2, "2001:db8::2", RT_SCOPE_UNIVERSE, 0);
        n.addrs[n.n_addrs++] = v6(2, "fe80::2", RT_SCOPE_LINK, 0);
        n.addrs[n.n_addrs++] = v4(3, "198.19.0.2", RT_SCOPE_UNIVERSE, 0);
        n.routes[n.n_routes++] = dflt(2, AF_INET, RT_TABLE_MAIN, 100);
        a = decide(&n, NULL).fingerprint;
        assert_int_not_equal(a, 0);

        /* Order does not matter; link-local addresses and other interfaces do not count. */
        m = n;
        m.addrs[0] = n.addrs[1];
        m.addrs[1] = n.addrs[0];
        m.addrs[2] = v6(2, "fe80::99", RT_SCOPE_LINK, 0);
        m.addrs[3] = v4(3, "198.19.0.99", RT_SCOPE_UNIVERSE, 0);
        assert_int_equal(decide(&m, NULL).fingerprint, a);

        /* A new source address changes it. */
        m.addrs[0] = v6(2, "2001:db8::3", RT_SCOPE_UNIVERSE, 0);
        b = decide(&m, NULL).fingerprint;
        assert_int_not_equal(b, a);
        m.n_addrs = 1;
        assert_int_not_equal(decide(&m, NULL).fingerprint, b);
}

static void test_endpoint_loopback(void **state) {
        static const char *const yes[] = {
                "127.0.0.1:5682", "127.0.0.1", "127.1.2.3:1", "[::1]:5684", "[::ffff:127.0.0.1]:5682",
                "localhost", "localhost:5682", "LOCALHOST.:1", "sim.localhost:9",
                "https://localhost:8443", "https://127.0.0.1:8443/path", "http://[::1]/",
        };
        static const char *const no[] = {
                "198.18.0.1:5682", "[2001:db8::1]:5684", "a1b2.coap.cn-shanghai.link.aliyuncs.com:5682",
                "https://iot-as-http.cn-shanghai.aliyuncs.com", "localhost.example.com:1", "notlocalhost",
                "128.0.0.1", "", "[", "https://",
        };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (!netmon_endpoint_is_loopback(yes[i]))
                        fail_msg("%s should be loopback", yes[i]);
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (netmon_endpoint_is_loopback(no[i]))
                        fail_msg("%s should not be loopback", no[i]);
        assert_false(netmon_endpoint_is_loopback(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_loopback_only_is_offline),
                cmocka_unit_test(test_uplink_needs_address_and_route),
                cmocka_unit_test(test_address_quality),
                cmocka_unit_test(test_route_family_must_match),
                cmocka_unit_test(test_lowest_metric_wins),
                cmocka_unit_test(test_interface_setting),
                cmocka_unit_test(test_fingerprint),
                cmocka_unit_test(test_endpoint_loopback),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

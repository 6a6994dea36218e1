/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for cloudsim's retransmission cache (PROTOCOL.md E.5) and its SimReply values: hits only on
 * the same peer, MID and token, identical replies, expiry after the lifetime, and the entry bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "../../tools/cloudsim/sim-dedup.h"

static SimDedupKey key(const char *peer, uint16_t mid, const char *token) {
        SimDedupKey k;

        assert_int_equal(sim_dedup_key_init(&k, peer, strlen(peer), mid, token, strlen(token)), 0);
        return k;
}

static const SimReply *find(SimDedup *d, const char *peer, uint16_t mid, const char *token, uint64_t now) {
        SimDedupKey k = key(peer, mid, token);

        return sim_dedup_find(d, &k, now);
}

static void reply_205(SimReply *r, const char *id) {
        *r = (SimReply) { .code = 205 };
        assert_int_equal(sim_reply_add_uint_option(r, 12, 50), 0);
        assert_int_equal(sim_reply_add_option(r, 2090, id, strlen(id)), 0);
        assert_int_equal(sim_reply_set_payload(r, "payload", 7), 0);
}

static void test_reply(void **state) {
        SimReply a = {}, b = {};

        assert_int_equal(sim_reply_add_uint_option(&a, 12, 0), 0);
        assert_int_equal(a.options[0].len, 0);
        assert_int_equal(sim_reply_add_uint_option(&a, 17, 0x1234), 0);
        assert_int_equal(a.options[1].len, 2);
        assert_int_equal(a.options[1].value[0], 0x12);
        assert_int_equal(sim_reply_add_option(&a, 15, "x", 1), -EINVAL);     /* out of order */
        assert_int_equal(sim_reply_add_option(&a, 2090, "0123456789012345678901234567890123", 34), -E2BIG);
        assert_int_equal(sim_reply_add_option(&a, 2090, "1", 1), 0);
        assert_int_equal(sim_reply_add_option(&a, 2091, "1", 1), 0);
        assert_int_equal(sim_reply_add_option(&a, 2092, "1", 1), -ENOBUFS);

        assert_int_equal(sim_reply_copy(&a, &b), 0);
        assert_true(sim_reply_equal(&a, &b));
        b.options[2].value[0] = '2';
        assert_false(sim_reply_equal(&a, &b));
        sim_reply_done(&a);
        sim_reply_done(&b);
}

static void test_dedup_hit_and_miss(void **state) {
        SimDedup *d = NULL;
        SimReply r;
        const SimReply *got;
        SimDedupKey k = key("peer-1", 0x1234, "\x04\x03\x02\x01");

        assert_int_equal(sim_dedup_new(8, 1000, &d), 0);
        reply_205(&r, "1700000000000000001");
        assert_null(sim_dedup_find(d, &k, 0));
        assert_int_equal(sim_dedup_add(d, &k, &r, 0), 0);

        got = sim_dedup_find(d, &k, 10);
        assert_non_null(got);
        assert_true(sim_reply_equal(got, &r));
        assert_ptr_not_equal(got->payload, r.payload);  /* a copy */

        /* Same MID and token from another peer, or another token (the SDK's MID stuck at 1), are new. */
        assert_null(find(d, "peer-2", 0x1234, "\x04\x03\x02\x01", 10));
        assert_null(find(d, "peer-1", 0x1234, "\x05\x03\x02\x01", 10));
        assert_null(find(d, "peer-1", 0x1235, "\x04\x03\x02\x01", 10));
        assert_null(find(d, "peer-1", 0x1234, "", 10));

        /* Entries die with the lifetime. */
        assert_non_null(sim_dedup_find(d, &k, 999));
        assert_null(sim_dedup_find(d, &k, 1000));
        assert_int_equal(sim_dedup_count(d, 999), 1);
        assert_int_equal(sim_dedup_count(d, 1000), 0);
        sim_reply_done(&r);
        sim_dedup_free(d);
}

static void test_dedup_bounded(void **state) {
        SimDedup *d = NULL;
        SimReply r;
        SimDedupKey k;
        char peer[SIM_DEDUP_PEER_MAX + 1];

        assert_int_equal(sim_dedup_new(4, 1000, &d), 0);
        reply_205(&r, "1");
        for (uint16_t mid = 0; mid < 10; mid++) {
                k = key("peer", mid, "tok");
                assert_int_equal(sim_dedup_add(d, &k, &r, mid), 0);
                assert_true(sim_dedup_count(d, mid) <= 4);
        }
        /* The four newest survive, the oldest were evicted first. */
        for (uint16_t mid = 0; mid < 10; mid++)
                if (mid < 6)
                        assert_null(find(d, "peer", mid, "tok", 10));
                else
                        assert_non_null(find(d, "peer", mid, "tok", 10));

        /* Adding an existing key replaces it in place rather than taking another slot. */
        sim_reply_done(&r);
        reply_205(&r, "2");
        k = key("peer", 9, "tok");
        assert_int_equal(sim_dedup_add(d, &k, &r, 20), 0);
        assert_int_equal(sim_dedup_count(d, 20), 4);
        assert_int_equal(find(d, "peer", 9, "tok", 20)->options[1].value[0], '2');

        memset(peer, 'x', sizeof(peer));
        assert_int_equal(sim_dedup_key_init(&k, peer, SIM_DEDUP_PEER_MAX + 1, 1, "t", 1), -EINVAL);
        assert_int_equal(sim_dedup_key_init(&k, peer, 4, 1, "123456789", 9), -EINVAL);
        assert_int_equal(sim_dedup_new(0, 1000, &d), -EINVAL);
        sim_reply_done(&r);
        sim_dedup_free(d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reply),
                cmocka_unit_test(test_dedup_hit_and_miss),
                cmocka_unit_test(test_dedup_bounded),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for cloudsim's auth sessions and used-seq set: one session per device, token lookup, expiry,
 * seq >= seqOffset (or > with strict), replay detection, and the range set's merging and bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "../../tools/cloudsim/sim-session.h"

static const uint8_t key1[AES_KEY_SIZE] = { 1 }, key2[AES_KEY_SIZE] = { 2 };

static SimSession *start(SimSessions *s, const char *pk, const char *dn, const char *token, const uint8_t *key,
                         uint32_t offset) {
        SimSession *x = NULL;

        assert_int_equal(sim_sessions_start(s, &(SimSessionParams) {
                .product_key = pk, .device_name = dn, .token = token, .key = key,
                .seq_offset = offset, .expires_usec = 1000,
        }, &x), 0);
        assert_non_null(x);
        return x;
}

static void test_sessions_replace(void **state) {
        SimSessions *s = NULL;
        SimSession *a, *b;

        assert_int_equal(sim_sessions_new(&s), 0);
        a = start(s, "pk", "devA", "tokA", key1, 10);
        b = start(s, "pk", "devB", "tokB", key2, 20);
        assert_int_equal(sim_sessions_count(s), 2);
        assert_ptr_equal(sim_sessions_find(s, "tokA", 4), a);
        assert_ptr_equal(sim_sessions_find(s, "tokB", 4), b);
        assert_null(sim_sessions_find(s, "tok", 3));
        assert_null(sim_sessions_find(s, "tokAA", 5));

        /* Re-auth of devA: the old token is gone, the new session has fresh seq state. */
        assert_int_equal(sim_session_use_seq(a, 10), 0);
        a = start(s, "pk", "devA", "tokA2", key2, 10);
        assert_int_equal(sim_sessions_count(s), 2);
        assert_null(sim_sessions_find(s, "tokA", 4));
        assert_ptr_equal(sim_sessions_find(s, "tokA2", 5), a);
        assert_memory_equal(a->key, key2, AES_KEY_SIZE);
        assert_int_equal(sim_session_check_seq(a, 10, false), 0);
        assert_ptr_equal(sim_sessions_find(s, "tokB", 4), b);

        assert_int_equal(sim_sessions_start(s, &(SimSessionParams) { .product_key = "pk", .device_name = "x" },
                                            NULL), -EINVAL);
        sim_sessions_free(s);
}

static void test_session_expiry(void **state) {
        SimSessions *s = NULL;
        SimSession *a;

        assert_int_equal(sim_sessions_new(&s), 0);
        a = start(s, "pk", "dn", "tok", key1, 1);
        assert_false(sim_session_expired(a, 999));
        assert_true(sim_session_expired(a, 1000));
        assert_true(sim_session_expired(a, 5000));
        sim_sessions_free(s);
}

static void test_session_seq(void **state) {
        SimSessions *s = NULL;
        SimSession *a;

        assert_int_equal(sim_sessions_new(&s), 0);
        a = start(s, "pk", "dn", "tok", key1, 137);
        assert_int_equal(sim_session_check_seq(a, 136, false), -ERANGE);
        assert_int_equal(sim_session_check_seq(a, 0, false), -ERANGE);
        assert_int_equal(sim_session_check_seq(a, 137, false), 0);     /* the SDK's first seq (E.4) */
        assert_int_equal(sim_session_check_seq(a, 137, true), -ERANGE);
        assert_int_equal(sim_session_check_seq(a, 138, true), 0);

        assert_int_equal(sim_session_use_seq(a, 138), 0);
        assert_int_equal(sim_session_check_seq(a, 138, false), -EEXIST);
        assert_int_equal(sim_session_use_seq(a, 138), -EEXIST);
        assert_int_equal(sim_session_check_seq(a, 137, false), 0);     /* out of order is fine, once */
        assert_int_equal(sim_session_use_seq(a, 137), 0);
        assert_int_equal(sim_session_check_seq(a, 137, false), -EEXIST);
        assert_int_equal(sim_session_check_seq(a, UINT32_MAX, false), 0);
        sim_sessions_free(s);
}

static void test_seqset_ranges(void **state) {
        SimSeqSet s = {};

        for (uint32_t v = 100; v < 200; v++)
                assert_int_equal(sim_seqset_add(&s, v), 0);
        assert_int_equal(s.n_ranges, 1);
        assert_int_equal(sim_seqset_add(&s, 300), 0);
        assert_int_equal(sim_seqset_add(&s, 50), 0);
        assert_int_equal(s.n_ranges, 3);
        /* Filling the gap 200..299 merges the middle and the upper range. */
        for (uint32_t v = 200; v < 300; v++)
                assert_int_equal(sim_seqset_add(&s, v), 0);
        assert_int_equal(s.n_ranges, 2);
        assert_int_equal(sim_seqset_add(&s, 99), 0);
        assert_int_equal(sim_seqset_add(&s, 51), 0);
        assert_int_equal(s.n_ranges, 2);        /* [50, 51] and [99, 300] */
        assert_true(sim_seqset_contains(&s, 50));
        assert_true(sim_seqset_contains(&s, 51));
        assert_false(sim_seqset_contains(&s, 52));
        assert_false(sim_seqset_contains(&s, 98));
        assert_true(sim_seqset_contains(&s, 99));
        assert_true(sim_seqset_contains(&s, 300));
        assert_false(sim_seqset_contains(&s, 301));
        assert_int_equal(sim_seqset_add(&s, 250), -EEXIST);

        assert_int_equal(sim_seqset_add(&s, 0), 0);
        assert_int_equal(sim_seqset_add(&s, UINT32_MAX), 0);
        assert_int_equal(sim_seqset_add(&s, UINT32_MAX - 1), 0);
        assert_true(sim_seqset_contains(&s, 0));
        assert_true(sim_seqset_contains(&s, UINT32_MAX));
        assert_int_equal(sim_seqset_add(&s, UINT32_MAX), -EEXIST);
        sim_seqset_done(&s);
        assert_int_equal(s.n_ranges, 0);
        assert_false(sim_seqset_contains(&s, 0));
}

static void test_seqset_bounded(void **state) {
        SimSeqSet s = {};

        for (uint32_t i = 0; i < SIM_SEQSET_RANGES_MAX; i++)
                assert_int_equal(sim_seqset_add(&s, i * 2), 0);
        assert_int_equal(s.n_ranges, SIM_SEQSET_RANGES_MAX);
        assert_int_equal(sim_seqset_add(&s, SIM_SEQSET_RANGES_MAX * 2 + 10), -ENOBUFS);
        /* Filling a gap needs no new range and still works. */
        assert_int_equal(sim_seqset_add(&s, 1), 0);
        assert_int_equal(s.n_ranges, SIM_SEQSET_RANGES_MAX - 1);
        sim_seqset_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sessions_replace),
                cmocka_unit_test(test_session_expiry),
                cmocka_unit_test(test_session_seq),
                cmocka_unit_test(test_seqset_ranges),
                cmocka_unit_test(test_seqset_bounded),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for hex.c: hex and base64 encoding, both cases, and strict rejection of malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hex.h"
#include "macro.h"

static void test_hex_encode(void **state) {
        static const uint8_t data[] = { 0x00, 0x7c, 0x8e, 0xab, 0xff };
        _cleanup_free_ char *lower = NULL, *upper = NULL, *empty = NULL;

        assert_int_equal(hex_encode(data, sizeof(data), false, &lower), 0);
        assert_string_equal(lower, "007c8eabff");
        assert_int_equal(hex_encode(data, sizeof(data), true, &upper), 0);
        assert_string_equal(upper, "007C8EABFF");
        assert_int_equal(hex_encode(NULL, 0, false, &empty), 0);
        assert_string_equal(empty, "");
}

static void test_hex_decode(void **state) {
        _cleanup_free_ void *a = NULL, *b = NULL, *e = NULL;
        void *bad = NULL;
        size_t la, lb, le;

        assert_int_equal(hex_decode("7c8e9161C2A35BBB", &a, &la), 0);
        assert_int_equal(la, 8);
        assert_memory_equal(a, "\x7c\x8e\x91\x61\xc2\xa3\x5b\xbb", 8);
        assert_int_equal(hex_decode("7C8E9161c2a35bbb", &b, &lb), 0);
        assert_int_equal(lb, 8);
        assert_memory_equal(a, b, 8);
        assert_int_equal(hex_decode("", &e, &le), 0);
        assert_int_equal(le, 0);

        assert_int_equal(hex_decode("abc", &bad, NULL), -EINVAL);
        assert_int_equal(hex_decode("zz", &bad, NULL), -EINVAL);
        assert_int_equal(hex_decode("ab cd", &bad, NULL), -EINVAL);
        assert_int_equal(hex_decode("ab\ncd", &bad, NULL), -EINVAL);
        assert_int_equal(hex_decode("0x12", &bad, NULL), -EINVAL);
        assert_null(bad);
}

static void test_hex_round_trip(void **state) {
        uint8_t data[256];

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) i;
        for (int upper = 0; upper <= 1; upper++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_free_ void *back = NULL;
                size_t len;

                assert_int_equal(hex_encode(data, sizeof(data), upper, &text), 0);
                assert_int_equal(strlen(text), 2 * sizeof(data));
                assert_int_equal(hex_decode(text, &back, &len), 0);
                assert_int_equal(len, sizeof(data));
                assert_memory_equal(back, data, sizeof(data));
        }
}

static void test_base64(void **state) {
        static const struct {
                const char *plain, *b64;
        } v[] = { /* RFC 4648 section 10 */
                { "", "" },           { "f", "Zg==" },         { "fo", "Zm8=" },         { "foo", "Zm9v" },
                { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                _cleanup_free_ char *enc = NULL;
                _cleanup_free_ void *dec = NULL;
                size_t len;

                assert_int_equal(base64_encode(v[i].plain, strlen(v[i].plain), &enc), 0);
                assert_string_equal(enc, v[i].b64);
                assert_int_equal(base64_decode(v[i].b64, &dec, &len), 0);
                assert_int_equal(len, strlen(v[i].plain));
                assert_memory_equal(dec, v[i].plain, len);
                assert_int_equal(((char *) dec)[len], 0);
        }
}

static void test_base64_invalid(void **state) {
        void *bad = NULL;

        assert_int_equal(base64_decode("Zm9v!mFy", &bad, NULL), -EINVAL);
        assert_int_equal(base64_decode("Zg=", &bad, NULL), -EINVAL);
        assert_null(bad);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hex_encode),
                cmocka_unit_test(test_hex_decode),
                cmocka_unit_test(test_hex_round_trip),
                cmocka_unit_test(test_base64),
                cmocka_unit_test(test_base64_invalid),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON <-> CBOR conversion: exact bytes for the environmental-sensor payload, shortest floats, round trips
 * and refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "json-cbor.h"
#include "macro.h"

static void encode_hex(const char *json, const char *want_hex) {
        _cleanup_free_ uint8_t *cbor = NULL;
        _cleanup_free_ char *hex = NULL;
        size_t len = 0;

        assert_int_equal(json_cbor_encode(json, strlen(json), &cbor, &len), 0);
        assert_int_equal(hex_encode(cbor, len, false, &hex), 0);
        assert_string_equal(hex, want_hex);
}

static void test_sensor_payload(void **state) {
        /* a2, "temperature", half 25.5 = f9 4e60, "humidity", 60 = 18 3c: 26 bytes for 34 of JSON. */
        encode_hex("{\"temperature\":25.5,\"humidity\":60}",
                   "a26b74656d7065726174757265f94e606868756d69646974791" "83c");
}

static void test_scalars(void **state) {
        encode_hex("0", "00");
        encode_hex("23", "17");
        encode_hex("24", "1818");
        encode_hex("-1", "20");
        encode_hex("-1000", "3903e7");
        encode_hex("18446744073709551615", "1bffffffffffffffff");
        encode_hex("1.5", "f93e00");
        encode_hex("0.1", "fb3fb999999999999a");
        encode_hex("100000.0", "fa47c35000");
        encode_hex("true", "f5");
        encode_hex("false", "f4");
        encode_hex("null", "f6");
        encode_hex("\"\"", "60");
        encode_hex("\"a\"", "6161");
        encode_hex("[1,[2,3]]", "8201820203");
        encode_hex("  {}  \n", "a0");
}

static void roundtrip(const char *json, const char *want) {
        _cleanup_free_ uint8_t *cbor = NULL;
        _cleanup_free_ char *back = NULL;
        size_t len = 0;

        assert_int_equal(json_cbor_encode(json, strlen(json), &cbor, &len), 0);
        assert_int_equal(json_cbor_decode(cbor, len, &back), 0);
        assert_string_equal(back, want);
}

static void test_roundtrip(void **state) {
        roundtrip("{\"id\":\"1\",\"version\":\"1.0\",\"params\":{\"CurrentTemperature\":23.6,\"CurrentHumidity\":41},"
                  "\"method\":\"thing.event.property.post\"}",
                  "{\"id\":\"1\",\"version\":\"1.0\",\"params\":{\"CurrentTemperature\":23.6,\"CurrentHumidity\":41},"
                  "\"method\":\"thing.event.property.post\"}");
        roundtrip("[null,true,false,-5,\"t\\u00e9\",[],{}]", "[null,true,false,-5,\"t\xc3\xa9\",[],{}]");
        roundtrip("null", "null");
        roundtrip("{\"a/b\":\"c/d\"}", "{\"a/b\":\"c/d\"}");
}

static void test_refused(void **state) {
        static const char *const bad[] = { "", "{", "{\"a\":1,}", "[1 2]", "1 2", "nul", "'x'", "{\"a\":1}x", "\xff" };
        uint8_t *cbor = NULL;
        char *json = NULL;
        size_t len;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(json_cbor_encode(bad[i], strlen(bad[i]), &cbor, &len), -EINVAL);
        /* Found by fuzz-json-cbor: a number beyond the double range became a CBOR infinity that
         * json_cbor_decode() refuses. */
        assert_int_equal(json_cbor_encode("{\"t\":6e2222222222}", 17, &cbor, &len), -EINVAL);
        assert_int_equal(json_cbor_encode("[1,-1e999]", 10, &cbor, &len), -EINVAL);
        assert_int_equal(json_cbor_encode("1e308", 5, &cbor, &len), 0);
        free(cbor);
        /* Found by fuzz-json-cbor: json-c's UTF-8 check lets overlong forms through; CBOR text must be strict
         * UTF-8, and libcbor refused to decode what was encoded. In a value and in a key. */
        assert_int_equal(json_cbor_encode("\"\xe0\x9f\xa2\"", 5, &cbor, &len), -EINVAL);
        assert_int_equal(json_cbor_encode("{\"hu\xe0\x9f\xa2\":1}", 11, &cbor, &len), -EINVAL);
        assert_int_equal(json_cbor_encode("[\"\xed\xa0\x80\"]", 7, &cbor, &len), -EINVAL); /* a surrogate */
        /* An embedded NUL ends nothing: the bytes after it are not JSON whitespace. */
        assert_int_equal(json_cbor_encode("1\0 2", 4, &cbor, &len), -EINVAL);

        /* Byte strings, non-text keys, undefined, truncated and trailing bytes have no JSON form. */
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0x41, 0x00 }, 2, &json), -EBADMSG);
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0xa1, 0x01, 0x02 }, 3, &json), -EBADMSG);
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0xf7 }, 1, &json), -EBADMSG);
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0x82, 0x01 }, 2, &json), -EBADMSG);
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0x01, 0x02 }, 2, &json), -EBADMSG);
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0xf9, 0x7c, 0x00 }, 3, &json), -EBADMSG); /* inf */
        /* A key holding U+0000 would be cut short by json-c. */
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0xa1, 0x63, 'a', 0x00, 'b', 0x01 }, 6, &json), -EBADMSG);
        /* Text that is not UTF-8. */
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0x63, 0xe0, 0x9f, 0xa2 }, 4, &json), -EBADMSG);
}

/* Found by fuzz-json-cbor: heads that declare more elements than there are bytes made libcbor allocate and
 * clear for the declared count (2^31 pointers from 26 bytes), and deep nesting made it recurse when freeing. */
static void test_decode_hostile_sizes(void **state) {
        static const uint8_t fuzz_oom[] = { 0xa2, 0x94, 0x8b, 0x9a, 0x92, 0x8f, 0x9a, 0x8d, 0x9e, 0x74, 0x75, 0x72, 0x65,
                                            0xf9, 0x4e, 0x66, 0x68, 0x68, 0x75, 0x69, 0x64, 0x69, 0x74, 0x79, 0x18, 0x3c };
        static const uint8_t huge_array[] = { 0x9b, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x01 };
        static const uint8_t huge_map[] = { 0xba, 0x40, 0x00, 0x00, 0x00, 0x61, 0x61, 0x01 };
        static const uint8_t huge_string[] = { 0x7a, 0xff, 0xff, 0xff, 0xff, 0x61 };
        static const uint8_t indefinite[] = { 0x9f, 0x01, 0x82, 0x02, 0x03, 0xff };
        uint8_t nested[66];
        char *json = NULL;

        assert_int_equal(json_cbor_decode(fuzz_oom, sizeof(fuzz_oom), &json), -EBADMSG);
        assert_int_equal(json_cbor_decode(huge_array, sizeof(huge_array), &json), -EBADMSG);
        assert_int_equal(json_cbor_decode(huge_map, sizeof(huge_map), &json), -EBADMSG);
        assert_int_equal(json_cbor_decode(huge_string, sizeof(huge_string), &json), -EBADMSG);
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0xff }, 1, &json), -EBADMSG);
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0x1c }, 1, &json), -EBADMSG);
        assert_int_equal(json_cbor_decode(NULL, 0, &json), -EBADMSG);

        /* Indefinite arrays still decode; an item at depth 64 does, one at depth 65 does not. */
        assert_int_equal(json_cbor_decode(indefinite, sizeof(indefinite), &json), 0);
        assert_string_equal(json, "[1,[2,3]]");
        free(json);
        memset(nested, 0x81, sizeof(nested));
        nested[64] = 0x01;
        assert_int_equal(json_cbor_decode(nested, 65, &json), 0);
        free(json);
        nested[64] = 0x81;
        nested[65] = 0x01;
        assert_int_equal(json_cbor_decode(nested, 66, &json), -EBADMSG);
}

static void test_depth(void **state) {
        char deep[200];
        uint8_t *cbor = NULL;
        size_t len;

        memset(deep, '[', 100);
        memset(deep + 100, ']', 100);
        assert_int_not_equal(json_cbor_encode(deep, sizeof(deep), &cbor, &len), 0);
}

/* Both directions accept exactly the same nesting (found by fuzzing: 64 nested arrays decoded but did not
 * encode again). */
static void test_depth_limit_agrees(void **state) {
        for (size_t n = 62; n <= 66; n++) {
                _cleanup_free_ uint8_t *cbor = calloc(n + 1, 1), *back = NULL;
                _cleanup_free_ char *json = NULL;
                size_t len = 0;
                int r;

                assert_non_null(cbor);
                memset(cbor, 0x81, n);   /* n nested one-element arrays */
                cbor[n] = 0x01;
                r = json_cbor_decode(cbor, n + 1, &json);
                if (r < 0) {
                        assert_true(n > 64);
                        continue;
                }
                assert_true(n <= 64);
                assert_int_equal(json_cbor_encode(json, strlen(json), &back, &len), 0);
                assert_int_equal(len, n + 1);
                assert_memory_equal(back, cbor, n + 1);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sensor_payload),
                cmocka_unit_test(test_scalars),
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_decode_hostile_sizes),
                cmocka_unit_test(test_depth),
                cmocka_unit_test(test_depth_limit_agrees),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

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
        /* An embedded NUL ends nothing: the bytes after it are not JSON whitespace. */
        assert_int_equal(json_cbor_encode("1\0 2", 4, &cbor, &len), -EINVAL);

        /* Byte strings, non-text keys, undefined, truncated and trailing bytes have no JSON form. */
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0x41, 0x00 }, 2, &json), -EBADMSG);
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0xa1, 0x01, 0x02 }, 3, &json), -EBADMSG);
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0xf7 }, 1, &json), -EBADMSG);
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0x82, 0x01 }, 2, &json), -EBADMSG);
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0x01, 0x02 }, 2, &json), -EBADMSG);
        assert_int_equal(json_cbor_decode((const uint8_t[]) { 0xf9, 0x7c, 0x00 }, 3, &json), -EBADMSG); /* inf */
}

static void test_depth(void **state) {
        char deep[200];
        uint8_t *cbor = NULL;
        size_t len;

        memset(deep, '[', 100);
        memset(deep + 100, ']', 100);
        assert_int_not_equal(json_cbor_encode(deep, sizeof(deep), &cbor, &len), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sensor_payload),
                cmocka_unit_test(test_scalars),
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_depth),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for sign.c: every PROTOCOL.md D.2 sign vector (S1-S9), content building by the generic rule,
 * method names and case-insensitive comparison. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "sign.h"

#define SECRET "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"
#define PK "a1B2c3D4e5F"
#define DN "sensor_0042"
#define CID_SDK "a1B2c3D4e5F.sensor_0042"
#define CID_DOC "a1B2c3D4e5F&sensor_0042"
#define TS "1700000000000"

/* PROTOCOL.md D.2, verbatim. */
static const struct {
        const char *id;
        SignMethod method;
        const char *content, *sign;
} vectors[] = {
        { "S1", SIGN_HMACMD5,
          "clientIda1B2c3D4e5F.sensor_0042deviceNamesensor_0042productKeya1B2c3D4e5Fseq4321",
          "fe6ac333c1f247d7b4613a07aef2adca" },
        { "S2", SIGN_HMACMD5,
          "clientIda1B2c3D4e5F&sensor_0042deviceNamesensor_0042productKeya1B2c3D4e5Fseq4321timestamp1700000000000",
          "fdddec5f0dad25e14d5650ecf2823ed8" },
        { "S3", SIGN_HMACSHA1,
          "clientIda1B2c3D4e5F.sensor_0042deviceNamesensor_0042productKeya1B2c3D4e5Fseq16timestamp1700000000000",
          "b3bc41a6300f71f1d500d7ff09d6d10439d4fe66" },
        { "S4", SIGN_HMACMD5,
          "clientIda1B2c3D4e5F.sensor_0042deviceNamesensor_0042productKeya1B2c3D4e5F",
          "2a07be7167d2da6e852e6c7ac26710c1" },
        { "S5", SIGN_HMACSHA1,
          "clientIda1B2c3D4e5F.sensor_0042deviceNamesensor_0042productKeya1B2c3D4e5F",
          "511b1251911e70d541b455b13f906bebadb5130c" },
        { "S6", SIGN_HMACSHA1,
          "clientIda1B2c3D4e5F.sensor_0042deviceNamesensor_0042productKeya1B2c3D4e5Ftimestamp1700000000000",
          "95e84e74d29c5bde9953ca9c320c0f6cdf43381c" },
        { "S7", SIGN_HMACMD5,
          "clientIda1B2c3D4e5F.sensor_0042deviceNamesensor_0042productKeya1B2c3D4e5Ftimestamp1700000000000",
          "f526c9661b3b3fb6fe6fef9ca7e5047e" },
        { "S8", SIGN_HMACSHA256,
          "clientIda1B2c3D4e5F&sensor_0042deviceNamesensor_0042productKeya1B2c3D4e5Fseq4321timestamp1700000000000",
          "14f84ea7cb99a7e2c6cce02b920d40873b452b11ed3c85718d3b41d22f55bb8c" },
        { "S9", SIGN_HMACMD5,
          "ackMode1clientIda1B2c3D4e5F.sensor_0042deviceNamesensor_0042productKeya1B2c3D4e5Fseq4321",
          "822a82f700a69ab8d575df2b51398f14" },
};

static void test_sign_vectors(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                _cleanup_free_ char *lower = NULL, *upper = NULL;

                assert_int_equal(sign_hmac_hex(vectors[i].method, SECRET, strlen(SECRET), vectors[i].content,
                                               strlen(vectors[i].content), false, &lower), 0);
                assert_string_equal(lower, vectors[i].sign);
                assert_int_equal(sign_hmac_hex(vectors[i].method, SECRET, strlen(SECRET), vectors[i].content,
                                               strlen(vectors[i].content), true, &upper), 0);
                assert_true(sign_equal(upper, vectors[i].sign));
                assert_false(streq(upper, lower));
        }
}

/* The same vectors again, but with the content built from unsorted fields by the generic rule. */
static void check_fields(const char *id, SignMethod m, const SignField *f, size_t n) {
        _cleanup_free_ char *content = NULL, *sign = NULL;
        size_t i;

        for (i = 0; i < ELEMENTSOF(vectors); i++)
                if (streq(vectors[i].id, id))
                        break;
        assert_true(i < ELEMENTSOF(vectors));

        assert_int_equal(sign_content(f, n, &content), 0);
        assert_string_equal(content, vectors[i].content);
        assert_int_equal(sign_compute(m, SECRET, f, n, &sign), 0);
        assert_string_equal(sign, vectors[i].sign);
}

static void test_sign_fields(void **state) {
        const SignField s1[] = {
                { "productKey", PK }, { "deviceName", DN }, { "clientId", CID_SDK },
                { "sign", "ignored" }, { "seq", "4321" },
        };
        const SignField s2[] = {
                { "timestamp", TS }, { "seq", "4321" }, { "clientId", CID_DOC },
                { "productKey", PK }, { "deviceName", DN },
        };
        const SignField s3[] = {
                { "productKey", PK }, { "deviceName", DN }, { "clientId", CID_SDK }, { "timestamp", TS },
                { "signmethod", "hmacsha1" }, { "seq", "16" }, { "sign", "x" },
        };
        const SignField s5[] = {
                { "version", "default" }, { "clientId", CID_SDK }, { "signmethod", "hmacsha1" },
                { "sign", "x" }, { "productKey", PK }, { "deviceName", DN },
        };
        const SignField s9[] = {
                { "productKey", PK }, { "deviceName", DN }, { "clientId", CID_SDK },
                { "seq", "4321" }, { "ackMode", "1" }, { "resources", "r" },
        };

        check_fields("S1", SIGN_HMACMD5, s1, ELEMENTSOF(s1));
        check_fields("S2", SIGN_HMACMD5, s2, ELEMENTSOF(s2));
        check_fields("S3", SIGN_HMACSHA1, s3, ELEMENTSOF(s3));
        check_fields("S4", SIGN_HMACMD5, s1, 3);
        check_fields("S5", SIGN_HMACSHA1, s5, ELEMENTSOF(s5));
        check_fields("S8", SIGN_HMACSHA256, s2, ELEMENTSOF(s2));
        check_fields("S9", SIGN_HMACMD5, s9, ELEMENTSOF(s9));
}

static void test_sign_content_errors(void **state) {
        const SignField dup[] = { { "seq", "1" }, { "clientId", "c" }, { "seq", "2" } };
        const SignField null_value[] = { { "seq", NULL } };
        const SignField null_key[] = { { NULL, "x" } };
        const SignField bytewise[] = { { "b", "2" }, { "B", "1" }, { "a", "3" } };
        _cleanup_free_ char *empty = NULL, *sorted = NULL;
        char *bad = NULL;

        assert_int_equal(sign_content(dup, ELEMENTSOF(dup), &bad), -EINVAL);
        assert_int_equal(sign_content(null_value, 1, &bad), -EINVAL);
        assert_int_equal(sign_content(null_key, 1, &bad), -EINVAL);
        assert_null(bad);

        assert_int_equal(sign_content(NULL, 0, &empty), 0);
        assert_string_equal(empty, "");
        /* Byte-wise: uppercase sorts before lowercase. */
        assert_int_equal(sign_content(bytewise, ELEMENTSOF(bytewise), &sorted), 0);
        assert_string_equal(sorted, "B1a3b2");
}

static void test_sign_method_names(void **state) {
        assert_string_equal(sign_method_to_string(SIGN_HMACMD5), "hmacmd5");
        assert_string_equal(sign_method_to_string(SIGN_HMACSHA1), "hmacsha1");
        assert_string_equal(sign_method_to_string(SIGN_HMACSHA256), "hmacsha256");
        assert_null(sign_method_to_string(_SIGN_METHOD_MAX));
        assert_null(sign_method_to_string(_SIGN_METHOD_INVALID));

        assert_int_equal(sign_method_from_string("hmacmd5"), SIGN_HMACMD5);
        assert_int_equal(sign_method_from_string("hmacSha1"), SIGN_HMACSHA1);
        assert_int_equal(sign_method_from_string("HMACSHA256"), SIGN_HMACSHA256);
        assert_int_equal(sign_method_from_string("sha1"), _SIGN_METHOD_INVALID);
        assert_int_equal(sign_method_from_string(""), _SIGN_METHOD_INVALID);
        assert_int_equal(sign_method_from_string(NULL), _SIGN_METHOD_INVALID);

        assert_true(sign_key_is_excluded("sign"));
        assert_true(sign_key_is_excluded("signmethod"));
        assert_true(sign_key_is_excluded("version"));
        assert_true(sign_key_is_excluded("resources"));
        assert_false(sign_key_is_excluded("ackMode"));
        assert_false(sign_key_is_excluded("Sign"));
}

static void test_sign_equal(void **state) {
        assert_true(sign_equal("fe6ac333c1f247d7b4613a07aef2adca", "FE6AC333C1F247D7B4613A07AEF2ADCA"));
        assert_true(sign_equal("", ""));
        assert_false(sign_equal("fe6ac333c1f247d7b4613a07aef2adca", "fe6ac333c1f247d7b4613a07aef2adcb"));
        assert_false(sign_equal("fe6ac333", "fe6ac333c1"));
        assert_false(sign_equal(NULL, "fe"));
        assert_false(sign_equal("fe", NULL));
}

static void test_sign_hmac_errors(void **state) {
        char *bad = NULL;

        assert_int_equal(sign_hmac_hex(_SIGN_METHOD_INVALID, "k", 1, "m", 1, false, &bad), -EINVAL);
        assert_int_equal(sign_hmac_hex(_SIGN_METHOD_MAX, "k", 1, "m", 1, false, &bad), -EINVAL);
        assert_int_equal(sign_hmac_hex(SIGN_HMACMD5, NULL, 1, "m", 1, false, &bad), -EINVAL);
        assert_int_equal(sign_compute(SIGN_HMACMD5, NULL, NULL, 0, &bad), -EINVAL);
        assert_null(bad);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sign_vectors),
                cmocka_unit_test(test_sign_fields),
                cmocka_unit_test(test_sign_content_errors),
                cmocka_unit_test(test_sign_method_names),
                cmocka_unit_test(test_sign_equal),
                cmocka_unit_test(test_sign_hmac_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for psk.c: every PROTOCOL.md D.3 identity/PSK pair, the literal-doc variant (E.3) computed with
 * sign_hmac_hex(), and the emulator's identity parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "psk.h"

#define SECRET "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"
#define PK "a1B2c3D4e5F"
#define DN "sensor_0042"

/* PROTOCOL.md D.3, verbatim. */
static const struct {
        SignMethod method;
        const char *identity, *psk;
} vectors[] = {
        { SIGN_HMACSHA256, "devicename|hmacsha256|a1B2c3D4e5F&sensor_0042|2524608000000",
          "15E012B27FF65067AFEFE434291D3B1EEAE4B3C6306DCFFA7B547B83BF591728" },
        { SIGN_HMACSHA1, "devicename|hmacsha1|a1B2c3D4e5F&sensor_0042|2524608000000",
          "7B8B4CB74648F8A8B375B3F332B15EEF29012302" },
        { SIGN_HMACMD5, "devicename|hmacmd5|a1B2c3D4e5F&sensor_0042|2524608000000",
          "94134A9A3F011AFF20D20918BA87B0E7" },
};

static void test_psk_vectors(void **state) {
        assert_string_equal(PSK_TIMESTAMP, "2524608000000");

        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                _cleanup_free_ char *identity = NULL, *key = NULL;

                assert_int_equal(psk_identity(vectors[i].method, PK, DN, &identity), 0);
                assert_string_equal(identity, vectors[i].identity);
                assert_int_equal(psk_key(vectors[i].method, SECRET, PK, DN, PSK_TIMESTAMP, &key), 0);
                assert_string_equal(key, vectors[i].psk);
        }
}

static void test_psk_signed_string(void **state) {
        /* B.2: the string signed for the SDK form is "id<pk>&<dn>timestamp<ts>". */
        static const char msg[] = "ida1B2c3D4e5F&sensor_0042timestamp2524608000000";
        _cleanup_free_ char *direct = NULL;

        assert_int_equal(sign_hmac_hex(SIGN_HMACSHA256, SECRET, strlen(SECRET), msg, strlen(msg), true, &direct),
                         0);
        assert_string_equal(direct, vectors[0].psk);
}

static void test_psk_literal_doc_variant(void **state) {
        /* D.3 last row: the doc's literal formula, hmacsha256 over "<pk>&<dn><ts>", uppercase hex. */
        static const char msg[] = "a1B2c3D4e5F&sensor_00422524608000000";
        _cleanup_free_ char *psk = NULL;

        assert_int_equal(sign_hmac_hex(SIGN_HMACSHA256, SECRET, strlen(SECRET), msg, strlen(msg), true, &psk), 0);
        assert_string_equal(psk, "C963B8DC28296AE85927705FF4A70A40F2B90DA27A3599ACBE4EC327A71081B7");
}

static void test_psk_identity_parse(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                _cleanup_free_ char *pk = NULL, *dn = NULL, *ts = NULL, *key = NULL;
                SignMethod m;

                assert_int_equal(psk_identity_parse(vectors[i].identity, &m, &pk, &dn, &ts), 0);
                assert_int_equal(m, vectors[i].method);
                assert_string_equal(pk, PK);
                assert_string_equal(dn, DN);
                assert_string_equal(ts, PSK_TIMESTAMP);

                /* What the emulator does with it: recompute the key from the parsed parts. */
                assert_int_equal(psk_key(m, SECRET, pk, dn, ts, &key), 0);
                assert_string_equal(key, vectors[i].psk);
        }
}

static void test_psk_identity_parse_invalid(void **state) {
        static const char *const bad[] = {
                "",
                "devicename|hmacsha256|a1B2c3D4e5F&sensor_0042",
                "devicename|hmacsha256|a1B2c3D4e5F&sensor_0042|2524608000000|x",
                "product|hmacsha256|a1B2c3D4e5F&sensor_0042|2524608000000",
                "devicename|sha256|a1B2c3D4e5F&sensor_0042|2524608000000",
                "devicename|hmacsha256|a1B2c3D4e5F.sensor_0042|2524608000000",
                "devicename|hmacsha256|&sensor_0042|2524608000000",
                "devicename|hmacsha256|a1B2c3D4e5F&|2524608000000",
                "devicename|hmacsha256|a&b&c|2524608000000",
                "devicename|hmacsha256|a1B2c3D4e5F&sensor_0042|",
                "devicename|hmacsha256|a1B2c3D4e5F&sensor_0042|25246O8000000",
                "devicename|hmacsha256|a1B2c3D4e5F&sensor_0042timestamp",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *pk = NULL, *dn = NULL, *ts = NULL;
                SignMethod m = SIGN_HMACMD5;

                assert_int_equal(psk_identity_parse(bad[i], &m, &pk, &dn, &ts), -EBADMSG);
                assert_null(pk);
                assert_null(dn);
                assert_null(ts);
        }
        assert_int_equal(psk_identity_parse(NULL, NULL, NULL, NULL, NULL), -EBADMSG);
}

static void test_psk_invalid_args(void **state) {
        char *s = NULL;

        assert_int_equal(psk_identity(_SIGN_METHOD_INVALID, PK, DN, &s), -EINVAL);
        assert_int_equal(psk_identity(SIGN_HMACSHA256, "", DN, &s), -EINVAL);
        assert_int_equal(psk_identity(SIGN_HMACSHA256, PK, NULL, &s), -EINVAL);
        assert_int_equal(psk_key(_SIGN_METHOD_MAX, SECRET, PK, DN, PSK_TIMESTAMP, &s), -EINVAL);
        assert_int_equal(psk_key(SIGN_HMACSHA256, NULL, PK, DN, PSK_TIMESTAMP, &s), -EINVAL);
        assert_int_equal(psk_key(SIGN_HMACSHA256, SECRET, PK, DN, NULL, &s), -EINVAL);
        assert_null(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_psk_vectors),
                cmocka_unit_test(test_psk_signed_string),
                cmocka_unit_test(test_psk_literal_doc_variant),
                cmocka_unit_test(test_psk_identity_parse),
                cmocka_unit_test(test_psk_identity_parse_invalid),
                cmocka_unit_test(test_psk_invalid_args),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

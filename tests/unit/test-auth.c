/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for auth.c: the byte-exact A.15 and D.2 request bodies, strict parsing of /auth responses, and
 * the emulator's claim parser and sign check against the S1-S9 variants of PROTOCOL.md D.2. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth.h"
#include "macro.h"

#define SECRET "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"
#define PK "a1B2c3D4e5F"
#define DN "sensor_0042"

/* PROTOCOL.md A.15: the 147-byte JSON of the AES-mode /auth request. */
#define AUTH_JSON_A15 \
        "{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\",\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"sign\":\"fe6ac333c1f247d7b4613a07aef2adca\",\"seq\":\"4321\"}"
/* PROTOCOL.md D.2: the SDK's CoAP-DTLS auth body for S4 (134 bytes). */
#define AUTH_JSON_S4 \
        "{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\",\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"sign\":\"2a07be7167d2da6e852e6c7ac26710c1\"}"
/* PROTOCOL.md D.2: the SDK's HTTP auth body for S5 (187 bytes), with its single space. */
#define AUTH_JSON_S5 \
        "{\"version\":\"default\", \"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"signmethod\":\"hmacsha1\",\"sign\":\"511b1251911e70d541b455b13f906bebadb5130c\",\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\"}"

static void test_request_build_aes(void **state) {
        const AuthParams p = {
                .product_key = PK, .device_name = DN, .sign_method = SIGN_HMACMD5, .has_seq = true, .seq = 4321,
        };
        _cleanup_free_ char *json = NULL;

        assert_int_equal(auth_request_build(&p, SECRET, &json), 0);
        assert_int_equal(strlen(json), 147);
        assert_string_equal(json, AUTH_JSON_A15);
}

static void test_request_build_dtls(void **state) {
        const AuthParams p = {
                .product_key = PK, .device_name = DN, .client_id = "a1B2c3D4e5F.sensor_0042",
                .sign_method = SIGN_HMACMD5,
        };
        _cleanup_free_ char *json = NULL;

        assert_int_equal(auth_request_build(&p, SECRET, &json), 0);
        assert_int_equal(strlen(json), 134);
        assert_string_equal(json, AUTH_JSON_S4);
}

static void test_request_build_sha1(void **state) {
        /* Non-default methods add "signmethod"; the sign (S1 content, hmacsha1) covers the same fields. */
        const AuthParams p = {
                .product_key = PK, .device_name = DN, .sign_method = SIGN_HMACSHA1, .has_seq = true, .seq = 4321,
        };
        static const char content[] =
                "clientIda1B2c3D4e5F.sensor_0042deviceNamesensor_0042productKeya1B2c3D4e5Fseq4321";
        _cleanup_free_ char *json = NULL, *sign = NULL, *expected = NULL;
        AuthClaim c = {};

        assert_int_equal(sign_hmac_hex(SIGN_HMACSHA1, SECRET, strlen(SECRET), content, strlen(content), false,
                                       &sign), 0);
        assert_int_equal(asprintf(&expected,
                                  "{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\","
                                  "\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"sign\":\"%s\","
                                  "\"signmethod\":\"hmacsha1\",\"seq\":\"4321\"}", sign) > 0, 1);
        assert_int_equal(auth_request_build(&p, SECRET, &json), 0);
        assert_string_equal(json, expected);

        assert_int_equal(auth_claim_parse(json, strlen(json), &c), 0);
        assert_int_equal(c.sign_method, SIGN_HMACSHA1);
        assert_int_equal(auth_claim_verify(&c, SECRET), 0);
        auth_claim_done(&c);
}

static void test_request_build_client_id(void **state) {
        AuthParams p = {
                .product_key = PK, .device_name = DN, .client_id = "a1B2c3D4e5F&sensor_0042",
                .sign_method = SIGN_HMACMD5, .has_seq = true, .seq = 4321,
        };
        char long_cid[AUTH_CLIENT_ID_MAX + 2];
        _cleanup_free_ char *json = NULL;
        char *bad = NULL;

        assert_int_equal(auth_request_build(&p, SECRET, &json), 0);
        assert_non_null(strstr(json, "\"clientId\":\"a1B2c3D4e5F&sensor_0042\""));

        memset(long_cid, 'c', sizeof(long_cid) - 1);
        long_cid[sizeof(long_cid) - 1] = 0;
        p.client_id = long_cid;
        assert_int_equal(auth_request_build(&p, SECRET, &bad), -EINVAL);
        p.client_id = "";
        assert_int_equal(auth_request_build(&p, SECRET, &bad), -EINVAL);
        p.client_id = NULL;
        p.product_key = NULL;
        assert_int_equal(auth_request_build(&p, SECRET, &bad), -EINVAL);
        p.product_key = PK;
        p.device_name = "";
        assert_int_equal(auth_request_build(&p, SECRET, &bad), -EINVAL);
        p.device_name = DN;
        p.sign_method = _SIGN_METHOD_INVALID;
        assert_int_equal(auth_request_build(&p, SECRET, &bad), -EINVAL);
        p.sign_method = SIGN_HMACMD5;
        assert_int_equal(auth_request_build(&p, NULL, &bad), -EINVAL);
        assert_null(bad);
}

static int parse(const char *json, bool want_aes, AuthResponse *r) {
        return auth_response_parse(json, strlen(json), want_aes, r);
}

static void test_response_parse(void **state) {
        AuthResponse r = {};

        /* The doc's example. */
        assert_int_equal(parse("{\"random\":\"ad2b3a5eb51d64f7\",\"seqOffset\":1,"
                               "\"token\":\"MZ8m37hp01w1SSqoDFzo0010500d00.ad2b\"}", true, &r), 0);
        assert_string_equal(r.random, "ad2b3a5eb51d64f7");
        assert_int_equal(r.seq_offset, 1);
        assert_string_equal(r.token, "MZ8m37hp01w1SSqoDFzo0010500d00.ad2b");
        auth_response_done(&r);
        assert_null(r.token);
        assert_null(r.random);
        auth_response_done(&r);

        /* D.1 values, other key order, trailing whitespace. */
        assert_int_equal(parse("{\"token\":\"Xy9kQ2mN8pL4rT6v0001050d00.a3f5\",\"seqOffset\":137,"
                               "\"random\":\"a3f5c9e1b27d4086\"}\r\n", true, &r), 0);
        assert_int_equal(r.seq_offset, 137);
        assert_string_equal(r.random, "a3f5c9e1b27d4086");
        auth_response_done(&r);

        /* DTLS mode: only the token. */
        assert_int_equal(parse("{\"token\":\"Xy9kQ2mN8pL4rT6v0001050d00.a3f5\"}", false, &r), 0);
        assert_string_equal(r.token, "Xy9kQ2mN8pL4rT6v0001050d00.a3f5");
        assert_null(r.random);
        auth_response_done(&r);
}

static void test_response_parse_limits(void **state) {
        char token[AUTH_TOKEN_MAX + 2], random[AUTH_RANDOM_MAX + 2], json[512];
        AuthResponse r = {};

        memset(token, 't', sizeof(token) - 1);
        token[AUTH_TOKEN_MAX] = 0;
        memset(random, 'a', sizeof(random) - 1);
        random[AUTH_RANDOM_MAX] = 0;
        (void) snprintf(json, sizeof(json), "{\"random\":\"%s\",\"seqOffset\":0,\"token\":\"%s\"}", random, token);
        assert_int_equal(parse(json, true, &r), 0);
        assert_int_equal(strlen(r.token), AUTH_TOKEN_MAX);
        assert_int_equal(strlen(r.random), AUTH_RANDOM_MAX);
        auth_response_done(&r);

        token[AUTH_TOKEN_MAX] = 't';
        token[AUTH_TOKEN_MAX + 1] = 0;
        (void) snprintf(json, sizeof(json), "{\"random\":\"%s\",\"seqOffset\":0,\"token\":\"%s\"}", random, token);
        assert_int_equal(parse(json, true, &r), -EBADMSG);
        assert_int_equal(parse(json, false, &r), -EBADMSG);

        token[AUTH_TOKEN_MAX] = 0;
        random[AUTH_RANDOM_MAX] = 'a';
        random[AUTH_RANDOM_MAX + 1] = 0;
        (void) snprintf(json, sizeof(json), "{\"random\":\"%s\",\"seqOffset\":0,\"token\":\"%s\"}", random, token);
        assert_int_equal(parse(json, true, &r), -EBADMSG);
        assert_null(r.token);
}

static void test_response_parse_invalid(void **state) {
        static const char *const bad_aes[] = {
                "",
                "not json",
                "[\"token\"]",
                "\"token\"",
                "{\"random\":\"a3f5c9e1b27d4086\",\"seqOffset\":137",                          /* truncated */
                "{\"seqOffset\":137,\"token\":\"T\"}",                                          /* no random */
                "{\"random\":\"a3f5c9e1b27d4086\",\"token\":\"T\"}",                            /* no seqOffset */
                "{\"random\":\"a3f5c9e1b27d4086\",\"seqOffset\":137}",                          /* no token */
                "{\"random\":\"a3f5c9e1b27d4086\",\"seqOffset\":\"137\",\"token\":\"T\"}",      /* string offset */
                "{\"random\":\"a3f5c9e1b27d4086\",\"seqOffset\":137.5,\"token\":\"T\"}",
                "{\"random\":\"a3f5c9e1b27d4086\",\"seqOffset\":-1,\"token\":\"T\"}",
                "{\"random\":\"a3f5c9e1b27d4086\",\"seqOffset\":4294967296,\"token\":\"T\"}",
                "{\"random\":\"a3f5c9e1b27d4086\",\"seqOffset\":137,\"token\":12345}",          /* numeric token */
                "{\"random\":\"a3f5c9e1b27d4086\",\"seqOffset\":137,\"token\":null}",
                "{\"random\":\"a3f5c9e1b27d4086\",\"seqOffset\":137,\"token\":\"\"}",
                "{\"random\":42,\"seqOffset\":137,\"token\":\"T\"}",
                "{\"random\":\"\",\"seqOffset\":137,\"token\":\"T\"}",
                "{\"random\":\"a3f5c9e1b27d4086\",\"seqOffset\":137,\"token\":\"T\"}garbage",
                "{\"random\":\"a3f5c9e1b27d4086\",\"seqOffset\":137,\"token\":\"T\"}{}",
                "{\"random\":\"a3f5c9e1b27d4086\",\"seqOffset\":137,\"token\":\"T\\u0000x\"}",
        };
        AuthResponse r = {};

        for (size_t i = 0; i < ELEMENTSOF(bad_aes); i++) {
                assert_int_equal(parse(bad_aes[i], true, &r), -EBADMSG);
                assert_null(r.token);
        }

        /* A NUL byte inside the buffer is trailing garbage, not an end of input. */
        assert_int_equal(auth_response_parse("{\"token\":\"T\"}\0x", 15, false, &r), -EBADMSG);
        assert_int_equal(auth_response_parse(NULL, 0, false, &r), -EBADMSG);
        assert_int_equal(parse("{\"token\":7}", false, &r), -EBADMSG);
}

static int claim(const char *json, AuthClaim *c) {
        return auth_claim_parse(json, strlen(json), c);
}

static void check_verifies(const char *json) {
        AuthClaim c = {};

        assert_int_equal(claim(json, &c), 0);
        assert_int_equal(auth_claim_verify(&c, SECRET), 0);
        assert_int_equal(auth_claim_verify(&c, "0aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"), -EACCES);
        auth_claim_done(&c);
}

static void test_claim_s1_sdk(void **state) {
        AuthClaim c = {};

        assert_int_equal(claim(AUTH_JSON_A15, &c), 0);
        assert_string_equal(c.product_key, PK);
        assert_string_equal(c.device_name, DN);
        assert_string_equal(c.client_id, "a1B2c3D4e5F.sensor_0042");
        assert_string_equal(c.sign, "fe6ac333c1f247d7b4613a07aef2adca");
        assert_int_equal(c.sign_method, SIGN_HMACMD5);
        assert_true(c.has_seq);
        assert_int_equal(c.seq, 4321);
        assert_false(c.has_ack_mode);
        assert_int_equal(c.n_fields, 5);
        assert_int_equal(auth_claim_verify(&c, SECRET), 0);
        auth_claim_done(&c);
        auth_claim_done(&c);

        check_verifies(AUTH_JSON_A15);
        /* Uppercase hex, as in the doc's samples. */
        check_verifies("{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\","
                       "\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"sign\":\"FE6AC333C1F247D7B4613A07AEF2ADCA\","
                       "\"seq\":\"4321\"}");
}

static void test_claim_doc_and_java(void **state) {
        AuthClaim c = {};

        /* S2: doc style, '&' clientId and a timestamp. */
        check_verifies("{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\","
                       "\"clientId\":\"a1B2c3D4e5F&sensor_0042\",\"timestamp\":\"1700000000000\","
                       "\"sign\":\"fdddec5f0dad25e14d5650ecf2823ed8\",\"seq\":\"4321\"}");
        /* S8: the same content with hmacsha256. */
        check_verifies("{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\","
                       "\"clientId\":\"a1B2c3D4e5F&sensor_0042\",\"timestamp\":\"1700000000000\","
                       "\"signmethod\":\"hmacsha256\",\"seq\":\"4321\","
                       "\"sign\":\"14f84ea7cb99a7e2c6cce02b920d40873b452b11ed3c85718d3b41d22f55bb8c\"}");

        /* S3: the Java demo, seq as the JSON number 16, signmethod hmacsha1. */
        static const char s3[] =
                "{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\","
                "\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"timestamp\":\"1700000000000\","
                "\"signmethod\":\"hmacsha1\",\"seq\":16,\"sign\":\"b3bc41a6300f71f1d500d7ff09d6d10439d4fe66\"}";
        assert_int_equal(claim(s3, &c), 0);
        assert_true(c.has_seq);
        assert_int_equal(c.seq, 16);
        assert_int_equal(c.sign_method, SIGN_HMACSHA1);
        auth_claim_done(&c);
        check_verifies(s3);
}

static void test_claim_dtls_and_http(void **state) {
        AuthClaim c = {};

        /* S4: DTLS body, no seq. */
        assert_int_equal(claim(AUTH_JSON_S4, &c), 0);
        assert_false(c.has_seq);
        auth_claim_done(&c);
        check_verifies(AUTH_JSON_S4);

        /* S5: the SDK's HTTP body, "version" excluded from the content. */
        assert_int_equal(strlen(AUTH_JSON_S5), 187);
        check_verifies(AUTH_JSON_S5);
        /* S6 and S7: timestamp as a JSON number (seed JS), hmacSha1 spelled as in the seed, and md5. */
        check_verifies("{\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"signmethod\":\"hmacSha1\","
                       "\"sign\":\"95e84e74d29c5bde9953ca9c320c0f6cdf43381c\",\"productKey\":\"a1B2c3D4e5F\","
                       "\"deviceName\":\"sensor_0042\",\"timestamp\":1700000000000}");
        check_verifies("{\"clientId\":\"a1B2c3D4e5F.sensor_0042\","
                       "\"sign\":\"f526c9661b3b3fb6fe6fef9ca7e5047e\",\"productKey\":\"a1B2c3D4e5F\","
                       "\"deviceName\":\"sensor_0042\",\"timestamp\":1700000000000}");
}

static void test_claim_ack_mode(void **state) {
        AuthClaim c = {};

        /* S9: ackMode=1 sent and signed by the literal generic rule. */
        static const char signed_with[] =
                "{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\","
                "\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"sign\":\"822a82f700a69ab8d575df2b51398f14\","
                "\"seq\":\"4321\",\"ackMode\":1}";
        /* ackMode=1 sent, but signed without it (S1's sign). */
        static const char signed_without[] =
                "{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\","
                "\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"sign\":\"fe6ac333c1f247d7b4613a07aef2adca\","
                "\"seq\":\"4321\",\"ackMode\":1}";

        assert_int_equal(claim(signed_with, &c), 0);
        assert_true(c.has_ack_mode);
        assert_int_equal(c.ack_mode, 1);
        auth_claim_done(&c);
        check_verifies(signed_with);
        check_verifies(signed_without);
        /* As a string, too. */
        check_verifies("{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\","
                       "\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"sign\":\"822a82f700a69ab8d575df2b51398f14\","
                       "\"seq\":\"4321\",\"ackMode\":\"1\"}");
}

static void test_claim_wrong_sign(void **state) {
        static const char *const wrong[] = {
                /* S1 body with one hex digit changed. */
                "{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\","
                "\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"sign\":\"fe6ac333c1f247d7b4613a07aef2adcb\","
                "\"seq\":\"4321\"}",
                /* S1's sign, but a different seq. */
                "{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\","
                "\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"sign\":\"fe6ac333c1f247d7b4613a07aef2adca\","
                "\"seq\":\"4322\"}",
                /* S1's md5 sign claimed as hmacsha1. */
                "{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\","
                "\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"sign\":\"fe6ac333c1f247d7b4613a07aef2adca\","
                "\"signmethod\":\"hmacsha1\",\"seq\":\"4321\"}",
                /* S9's sign without ackMode sent. */
                "{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\","
                "\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"sign\":\"822a82f700a69ab8d575df2b51398f14\","
                "\"seq\":\"4321\"}",
        };

        for (size_t i = 0; i < ELEMENTSOF(wrong); i++) {
                AuthClaim c = {};

                assert_int_equal(claim(wrong[i], &c), 0);
                assert_int_equal(auth_claim_verify(&c, SECRET), -EACCES);
                auth_claim_done(&c);
        }
}

#define CLAIM_BASE "\"productKey\":\"pk\",\"deviceName\":\"dn\",\"clientId\":\"cid\",\"sign\":\"00\""

static void test_claim_invalid(void **state) {
        static const char *const bad[] = {
                "",
                "not json",
                "[]",
                "{" CLAIM_BASE "} trailing",
                "{\"deviceName\":\"dn\",\"clientId\":\"cid\",\"sign\":\"00\"}",
                "{\"productKey\":\"pk\",\"clientId\":\"cid\",\"sign\":\"00\"}",
                "{\"productKey\":\"pk\",\"deviceName\":\"dn\",\"sign\":\"00\"}",
                "{\"productKey\":\"pk\",\"deviceName\":\"dn\",\"clientId\":\"cid\"}",
                "{\"productKey\":7,\"deviceName\":\"dn\",\"clientId\":\"cid\",\"sign\":\"00\"}",
                "{\"productKey\":\"pk\",\"deviceName\":\"dn\",\"clientId\":\"cid\",\"sign\":00}",
                "{\"productKey\":\"pk\",\"deviceName\":\"dn\",\"clientId\":\"\",\"sign\":\"00\"}",
                "{\"productKey\":\"pk\",\"deviceName\":\"dn\",\"sign\":\"00\",\"clientId\":"
                "\"ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"}", /* 65 chars */
                "{" CLAIM_BASE ",\"signmethod\":\"hmacsha512\"}",
                "{" CLAIM_BASE ",\"signmethod\":1}",
                "{" CLAIM_BASE ",\"seq\":\"-1\"}",
                "{" CLAIM_BASE ",\"seq\":\"12a\"}",
                "{" CLAIM_BASE ",\"seq\":\"\"}",
                "{" CLAIM_BASE ",\"seq\":\" 12\"}",
                "{" CLAIM_BASE ",\"seq\":\"4294967296\"}",
                "{" CLAIM_BASE ",\"seq\":-5}",
                "{" CLAIM_BASE ",\"seq\":1.5}",
                "{" CLAIM_BASE ",\"seq\":true}",
                "{" CLAIM_BASE ",\"ackMode\":2}",
                "{" CLAIM_BASE ",\"extra\":[1]}",
                "{" CLAIM_BASE ",\"extra\":{\"a\":1}}",
                "{" CLAIM_BASE ",\"extra\":null}",
                "{" CLAIM_BASE ",\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1,"
                "\"j\":1,\"k\":1,\"l\":1,\"m\":1}", /* 17 fields */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                AuthClaim c = {};

                assert_int_equal(claim(bad[i], &c), -EBADMSG);
                assert_null(c.sign);
                assert_int_equal(c.n_fields, 0);
        }
}

static void test_claim_fields(void **state) {
        /* Exactly 16 fields are fine; every scalar is kept in text form for the sign. */
        static const char json[] =
                "{" CLAIM_BASE ",\"a\":1,\"b\":true,\"c\":2.50,\"d\":\"x\",\"e\":1,\"f\":1,\"g\":1,\"h\":1,"
                "\"i\":1,\"j\":1,\"k\":1,\"l\":1}";
        AuthClaim c = {};
        size_t seen = 0;

        assert_int_equal(claim(json, &c), 0);
        assert_int_equal(c.n_fields, AUTH_CLAIM_FIELDS_MAX);
        for (size_t i = 0; i < c.n_fields; i++) {
                if (streq(c.fields[i].key, "b"))
                        seen += streq(c.fields[i].value, "true");
                if (streq(c.fields[i].key, "c"))
                        seen += streq(c.fields[i].value, "2.50");
                if (streq(c.fields[i].key, "sign"))
                        seen += streq(c.fields[i].value, "00");
        }
        assert_int_equal(seen, 3);
        auth_claim_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_request_build_aes),
                cmocka_unit_test(test_request_build_dtls),
                cmocka_unit_test(test_request_build_sha1),
                cmocka_unit_test(test_request_build_client_id),
                cmocka_unit_test(test_response_parse),
                cmocka_unit_test(test_response_parse_limits),
                cmocka_unit_test(test_response_parse_invalid),
                cmocka_unit_test(test_claim_s1_sdk),
                cmocka_unit_test(test_claim_doc_and_java),
                cmocka_unit_test(test_claim_dtls_and_http),
                cmocka_unit_test(test_claim_ack_mode),
                cmocka_unit_test(test_claim_wrong_sign),
                cmocka_unit_test(test_claim_invalid),
                cmocka_unit_test(test_claim_fields),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

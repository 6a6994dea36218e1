/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for https-msg.c: the /auth body against PROTOCOL.md D.2 (S5, and the sign of every method), the
 * reply parser (19-digit messageId, malformed bodies) and the business-code mapping of C.6. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/https-msg.h"
#include "macro.h"

#define PK "a1B2c3D4e5F"
#define DN "sensor_0042"
#define SECRET "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"

static void test_auth_body_s5(void **state) {
        _cleanup_free_ char *json = NULL;

        /* The SDK's S5 body, compact (the SDK's single space after the first comma is not significant). */
        assert_int_equal(https_msg_auth_body(&(HttpsAuthParams) { .product_key = PK, .device_name = DN,
                                                                  .sign_method = SIGN_HMACSHA1 },
                                             SECRET, &json),
                         0);
        assert_string_equal(json, "{\"version\":\"default\",\"clientId\":\"a1B2c3D4e5F.sensor_0042\","
                                  "\"signmethod\":\"hmacsha1\",\"sign\":\"511b1251911e70d541b455b13f906bebadb5130c\","
                                  "\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\"}");
        assert_null(strstr(json, SECRET));
}

static void test_auth_body_md5(void **state) {
        _cleanup_free_ char *json = NULL;

        /* S4's content string is the same three fields: the DTLS SDK vector signs what HTTPS signs. */
        assert_int_equal(https_msg_auth_body(&(HttpsAuthParams) { .product_key = PK, .device_name = DN,
                                                                  .client_id = PK "." DN,
                                                                  .sign_method = SIGN_HMACMD5 },
                                             SECRET, &json),
                         0);
        assert_non_null(strstr(json, "\"signmethod\":\"hmacmd5\""));
        assert_non_null(strstr(json, "\"sign\":\"2a07be7167d2da6e852e6c7ac26710c1\""));
}

static void test_auth_body_bad(void **state) {
        char cid[70];
        char *json = NULL;

        memset(cid, 'c', sizeof(cid) - 1);
        cid[sizeof(cid) - 1] = 0;
        assert_int_equal(https_msg_auth_body(&(HttpsAuthParams) { .device_name = DN }, SECRET, &json), -EINVAL);
        assert_int_equal(https_msg_auth_body(&(HttpsAuthParams) { .product_key = PK, .device_name = DN,
                                                                  .client_id = cid },
                                             SECRET, &json),
                         -EINVAL);
        assert_int_equal(https_msg_auth_body(&(HttpsAuthParams) { .product_key = PK, .device_name = DN,
                                                                  .sign_method = _SIGN_METHOD_INVALID },
                                             SECRET, &json),
                         -EINVAL);
        assert_null(json);
}

static int parse(const char *s, bool auth, HttpsReply *r) {
        return https_reply_parse(s, strlen(s), auth, r);
}

static void test_reply_auth(void **state) {
        _cleanup_(https_reply_done) HttpsReply r = {};

        assert_int_equal(parse("{\"code\":0,\"message\":\"success\",\"info\":{\"token\":\"abc.def\"}}", true, &r), 0);
        assert_int_equal(r.code, 0);
        assert_string_equal(r.token, "abc.def");
        assert_string_equal(r.message, "success");
        https_reply_done(&r);
        assert_null(r.token);

        /* Error replies need no info; the code may be a string of digits (the SDK uses atoi). */
        assert_int_equal(parse("{\"code\":\"20000\",\"message\":\"auth check error\"}", true, &r), 0);
        assert_int_equal(r.code, 20000);
        assert_null(r.token);
}

static void test_reply_publish(void **state) {
        HttpsReply r = {};

        /* 19 digits, beyond 2^53 and near 2^63: copied exactly. */
        assert_int_equal(parse("{\"code\":0,\"message\":\"success\",\"info\":{\"messageId\":9223372036854775807}}",
                               false, &r),
                         0);
        assert_string_equal(r.cloud_id, "9223372036854775807");
        assert_int_equal(parse("{\"code\":0,\"message\":\"success\",\"info\":{\"messageId\":892687627916247040,"
                               "\"data\":{\"x\":1}}}",
                               false, &r),
                         0);
        assert_string_equal(r.cloud_id, "892687627916247040");
        assert_int_equal(parse("{\"code\":0,\"message\":\"ok\",\"info\":{\"messageId\":\"12345\"}}", false, &r), 0);
        assert_string_equal(r.cloud_id, "12345");
        /* A trailing NUL, as the SDK's server side may send, is harmless. */
        assert_int_equal(https_reply_parse("{\"code\":10001,\"message\":\"param error\"}", 41, false, &r), 0);
        assert_int_equal(r.code, 10001);
        assert_string_equal(r.message, "param error");
}

static void test_reply_malformed(void **state) {
        static const char *const bad[] = {
                "",
                "not json",
                "[1,2]",
                "{\"message\":\"success\"}",                                   /* no code */
                "{\"code\":0}",                                                 /* no message */
                "{\"code\":true,\"message\":\"x\"}",
                "{\"code\":\"12a\",\"message\":\"x\"}",
                "{\"code\":0,\"message\":\"success\"}",                        /* code 0 without info */
                "{\"code\":0,\"message\":\"success\",\"info\":{}}",
                "{\"code\":0,\"message\":\"success\",\"info\":{\"messageId\":-1}}",
                "{\"code\":0,\"message\":\"success\",\"info\":{\"messageId\":\"12x\"}}",
                "{\"code\":0,\"message\":\"success\",\"info\":{\"messageId\":1.5}}",
        };
        HttpsReply r = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(parse(bad[i], false, &r), -EBADMSG);
        assert_int_equal(parse("{\"code\":0,\"message\":\"success\",\"info\":{\"token\":\"\"}}", true, &r), -EBADMSG);
        assert_int_equal(parse("{\"code\":0,\"message\":\"success\",\"info\":{\"token\":7}}", true, &r), -EBADMSG);
}

static void test_reply_token_length(void **state) {
        _cleanup_(https_reply_done) HttpsReply r = {};
        char json[400], token[194];

        memset(token, 't', 193);
        token[193] = 0;
        (void) snprintf(json, sizeof(json), "{\"code\":0,\"message\":\"success\",\"info\":{\"token\":\"%s\"}}", token);
        assert_int_equal(parse(json, true, &r), -EBADMSG);
        token[192] = 0;
        (void) snprintf(json, sizeof(json), "{\"code\":0,\"message\":\"success\",\"info\":{\"token\":\"%s\"}}", token);
        assert_int_equal(parse(json, true, &r), 0);
        assert_int_equal(strlen(r.token), 192);
}

static void test_result(void **state) {
        assert_int_equal(https_reply_result(true, 0), TRANSPORT_OK);
        assert_int_equal(https_reply_result(true, 20000), TRANSPORT_DENIED);
        assert_int_equal(https_reply_result(true, 10001), TRANSPORT_DENIED);
        assert_int_equal(https_reply_result(true, 20004), TRANSPORT_RETRY);
        assert_int_equal(https_reply_result(true, 10000), TRANSPORT_RETRY);
        assert_int_equal(https_reply_result(true, 40000), TRANSPORT_RETRY);

        assert_int_equal(https_reply_result(false, 0), TRANSPORT_OK);
        assert_int_equal(https_reply_result(false, 20001), TRANSPORT_REAUTH);
        assert_int_equal(https_reply_result(false, 20002), TRANSPORT_REAUTH);
        assert_int_equal(https_reply_result(false, 20003), TRANSPORT_REAUTH);
        assert_int_equal(https_reply_result(false, 10000), TRANSPORT_RETRY);
        assert_int_equal(https_reply_result(false, 40000), TRANSPORT_RETRY);
        assert_int_equal(https_reply_result(false, 10001), TRANSPORT_REJECTED);
        assert_int_equal(https_reply_result(false, 30001), TRANSPORT_REJECTED);
        assert_int_equal(https_reply_result(false, 12345), TRANSPORT_RETRY);
}

static void test_error_text(void **state) {
        HttpsReply r = { .code = 10001 };
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        strcpy(r.message, "param error");
        assert_int_equal(https_reply_error(&r, false, &a), 0);
        assert_string_equal(a, "the cloud rejected the message (code 10001: param error)");
        r.code = 20000;
        strcpy(r.message, "auth check error");
        assert_int_equal(https_reply_error(&r, true, &b), 0);
        assert_non_null(strstr(b, "the platform refused authentication (code 20000: auth check error)"));
        /* The cloud's message is quoted only as printable ASCII. */
        assert_int_equal(parse("{\"code\":30001,\"message\":\"bad\\u0007topic\\n\"}", false, &r), 0);
        assert_int_equal(https_reply_error(&r, false, &c), 0);
        assert_string_equal(c, "the cloud rejected the message (code 30001: bad?topic?)");
}

static void assert_url(const char *endpoint, const char *path, const char *topic, const char *expected) {
        _cleanup_free_ char *url = NULL;

        assert_int_equal(https_msg_url(endpoint, path, topic, &url), 0);
        assert_string_equal(url, expected);
}

/* Only unreserved characters and '/' go through as they are (issue 10, item 1): the path the server decodes is
 * the topic the access rules matched. */
static void test_url(void **state) {
        assert_url("https://iot-as-http.example:443/", "/auth", NULL, "https://iot-as-http.example:443/auth");
        assert_url("https://h", "/topic", "/pk/dn/user/update", "https://h/topic/pk/dn/user/update");
        assert_url("https://h", "/topic", "/pk/dn/user/a-b_c.d~e", "https://h/topic/pk/dn/user/a-b_c.d~e");
        assert_url("https://h", "/topic", "/pk/dn/user/a%2fb", "https://h/topic/pk/dn/user/a%252fb");
        assert_url("https://h", "/topic", "/pk/dn/user/!$&'()*,;=:@",
                   "https://h/topic/pk/dn/user/%21%24%26%27%28%29%2A%2C%3B%3D%3A%40");
        assert_url("https://h", "/topic", "/pk/dn/user/\xe6\xb8\xa9", "https://h/topic/pk/dn/user/%E6%B8%A9");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_auth_body_s5),
                cmocka_unit_test(test_auth_body_md5),
                cmocka_unit_test(test_auth_body_bad),
                cmocka_unit_test(test_reply_auth),
                cmocka_unit_test(test_reply_publish),
                cmocka_unit_test(test_reply_malformed),
                cmocka_unit_test(test_reply_token_length),
                cmocka_unit_test(test_result),
                cmocka_unit_test(test_error_text),
                cmocka_unit_test(test_url),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

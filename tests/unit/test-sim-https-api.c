/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for cloudsim's HTTPS API on plain requests (no sockets): the D.2 bodies S5/S6/S7 with the SDK's
 * trailing NUL, lenient signmethod and hex case, and each business code of E.18 for /auth and /topic. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "../../tools/cloudsim/sim-https-api.h"

#define SECRET "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"
#define CID "\"clientId\":\"a1B2c3D4e5F.sensor_0042\""
#define PKDN "\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\""
#define S5 "{\"version\":\"default\", " CID ",\"signmethod\":\"hmacsha1\"," \
        "\"sign\":\"511b1251911e70d541b455b13f906bebadb5130c\"," PKDN "}"
#define TOPIC_PATH "/topic/a1B2c3D4e5F/sensor_0042/user/update"

typedef struct World {
        SimConfig config;
        SimServer server;
} World;

static int world_new(void **state) {
        static const char line[] = "a1B2c3D4e5F sensor_0042 " SECRET "\n";
        World *w = calloc(1, sizeof(World));
        FILE *f = fmemopen((void *) line, sizeof(line) - 1, "r");

        assert_non_null(w);
        assert_non_null(f);
        w->config.token_ttl_usec = UINT64_C(3600000000);
        w->server.config = &w->config;
        assert_int_equal(sim_devices_parse(f, "devices", &w->server.devices), 0);
        fclose(f);
        assert_int_equal(sim_sessions_new(&w->server.sessions), 0);
        *state = w;
        return 0;
}

static int world_free(void **state) {
        World *w = *state;

        sim_sessions_free(w->server.sessions);
        sim_devices_free(w->server.devices);
        free(w);
        return 0;
}

/* Sends one request and returns the reply's code; *ret_info (if given) gets info's field of that name. */
static int64_t call(World *w, const char *path, const char *password, const void *body, size_t len,
                    const char *field, char **ret_info) {
        _cleanup_free_ char *json = NULL;
        json_object *o, *info, *v;
        int64_t code;

        assert_int_equal(sim_https_handle(&w->server,
                                          &(SimHttpsRequest) { .peer = "test", .path = path, .password = password,
                                                               .body = body, .body_len = len,
                                                               .body_too_large = len > SIM_HTTPS_BODY_MAX },
                                          &json),
                         0);
        assert_true(strlen(json) < 256);
        o = json_tokener_parse(json);
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "code", &v));
        code = json_object_get_int64(v);
        assert_true(json_object_object_get_ex(o, "message", &v));
        if (ret_info) {
                assert_true(json_object_object_get_ex(o, "info", &info));
                assert_true(json_object_object_get_ex(info, field, &v));
                /* Numbers are written back as their digits, exactly. */
                *ret_info = strdup(json_object_get_string(v));
        }
        json_object_put(o);
        return code;
}

static char *auth_ok(World *w, const char *body, size_t len) {
        char *token = NULL;

        assert_int_equal(call(w, "/auth", NULL, body, len, "token", &token), 0);
        assert_non_null(token);
        return token;
}

static void test_auth_vectors(void **state) {
        World *w = *state;
        _cleanup_free_ char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;
        static const char s6[] = "{" CID ",\"signmethod\":\"hmacSha1\","
                "\"sign\":\"95E84E74D29C5BDE9953CA9C320C0F6CDF43381C\"," PKDN ",\"timestamp\":1700000000000}";
        static const char s7[] = "{" CID ",\"sign\":\"f526c9661b3b3fb6fe6fef9ca7e5047e\"," PKDN
                ",\"timestamp\":\"1700000000000\"}";

        /* The SDK's bytes: strlen+1, one trailing NUL (E.16). */
        t1 = auth_ok(w, S5, sizeof(S5));
        t2 = auth_ok(w, S5, sizeof(S5) - 1);
        /* Seed style: timestamp signed, signmethod spelled hmacSha1, uppercase hex (E.15, E.17). */
        t3 = auth_ok(w, s6, sizeof(s6) - 1);
        /* No signmethod: hmacmd5 is the default. */
        t4 = auth_ok(w, s7, sizeof(s7) - 1);
        /* A new auth replaces the device's session. */
        assert_int_equal(call(w, TOPIC_PATH, t1, "x", 1, NULL, NULL), 20003);
        assert_int_equal(sim_sessions_count(w->server.sessions), 1);
}

static void test_auth_refused(void **state) {
        World *w = *state;
        char body[sizeof(S5) + 1];
        static const char unknown[] = "{\"clientId\":\"x\",\"sign\":\"00\",\"productKey\":\"a1B2c3D4e5F\","
                "\"deviceName\":\"other\"}";

        memcpy(body, S5, sizeof(S5));
        body[strlen(body) - 3] ^= 1;  /* a different deviceName */
        assert_int_equal(call(w, "/auth", NULL, body, strlen(body), NULL, NULL), 20000);
        memcpy(body, S5, sizeof(S5));
        *strstr(body, "511b") = '6';   /* a wrong sign */
        assert_int_equal(call(w, "/auth", NULL, body, strlen(body), NULL, NULL), 20000);
        assert_int_equal(call(w, "/auth", NULL, unknown, strlen(unknown), NULL, NULL), 20000);

        /* Malformed: not JSON, no sign, two trailing NULs. */
        assert_int_equal(call(w, "/auth", NULL, "hello", 5, NULL, NULL), 10001);
        assert_int_equal(call(w, "/auth", NULL, "{" CID "," PKDN "}", strlen("{" CID "," PKDN "}"), NULL, NULL),
                         10001);
        memcpy(body, S5, sizeof(S5));
        body[sizeof(S5)] = 0;
        assert_int_equal(call(w, "/auth", NULL, body, sizeof(body), NULL, NULL), 10001);
        assert_int_equal(sim_sessions_count(w->server.sessions), 0);
}

static void test_publish(void **state) {
        World *w = *state;
        _cleanup_free_ char *token = auth_ok(w, S5, sizeof(S5)), *id1 = NULL, *id2 = NULL;
        uint8_t *big = calloc(1, SIM_HTTPS_BODY_MAX + 1);

        assert_non_null(big);
        assert_int_equal(call(w, TOPIC_PATH, token, "{\"t\":1}\0", 8, "messageId", &id1), 0);
        assert_int_equal(strlen(id1), 19);
        assert_int_equal(strspn(id1, "0123456789"), 19);
        /* Exactly 128 KiB is accepted, one byte more is not. */
        assert_int_equal(call(w, TOPIC_PATH, token, big, SIM_HTTPS_BODY_MAX, "messageId", &id2), 0);
        assert_true(strcmp(id2, id1) > 0);
        assert_int_equal(call(w, TOPIC_PATH, token, big, SIM_HTTPS_BODY_MAX + 1, NULL, NULL), 10001);
        /* An empty body is a message too. */
        assert_int_equal(call(w, TOPIC_PATH, token, NULL, 0, NULL, NULL), 0);
        free(big);
}

static void test_publish_refused(void **state) {
        World *w = *state;
        _cleanup_free_ char *token = auth_ok(w, S5, sizeof(S5));

        assert_int_equal(call(w, TOPIC_PATH, NULL, "x", 1, NULL, NULL), 20002);
        assert_int_equal(call(w, TOPIC_PATH, "nosuchtoken", "x", 1, NULL, NULL), 20003);
        assert_int_equal(call(w, "/topic", token, "x", 1, NULL, NULL), 10001);
        assert_int_equal(call(w, "/elsewhere", token, "x", 1, NULL, NULL), 10001);

        /* --token-ttl=0: every token has expired by the time it is used. */
        w->config.token_ttl_usec = 0;
        free(token);
        token = auth_ok(w, S5, sizeof(S5));
        assert_int_equal(call(w, TOPIC_PATH, token, "x", 1, NULL, NULL), 20001);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_auth_vectors, world_new, world_free),
                cmocka_unit_test_setup_teardown(test_auth_refused, world_new, world_free),
                cmocka_unit_test_setup_teardown(test_publish, world_new, world_free),
                cmocka_unit_test_setup_teardown(test_publish_refused, world_new, world_free),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

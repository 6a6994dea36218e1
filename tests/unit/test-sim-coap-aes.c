/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for cloudsim's AES-mode handlers on plain requests (no sockets): the A.15 auth body, the D.5
 * seq vectors, publish acceptance, replay and low seq, ackMode 1, and the record lines they write. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "aes.h"
#include "auth.h"
#include "hex.h"
#include "macro.h"
#include "../../tools/cloudsim/sim-coap-aes.h"
#include "../../tools/cloudsim/sim-server.h"
#include "sim-test-server.h"

#define SECRET "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"
#define AUTH_BODY "{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\",\"clientId\":\"a1B2c3D4e5F.sensor_0042\"," \
        "\"sign\":\"fe6ac333c1f247d7b4613a07aef2adca\",\"seq\":\"4321\"}"

typedef struct Fixture {
        SimConfig config;
        SimServer server;
        char record_path[64];
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        int fd;

        assert_non_null(f);
        sim_test_server_init(&f->server, &f->config);
        snprintf(f->record_path, sizeof(f->record_path), "/tmp/test-sim-coap-aes.XXXXXX");
        fd = mkstemp(f->record_path);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(sim_record_open(f->record_path, &f->server.record), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        sim_test_server_done(&f->server);
        unlink(f->record_path);
        free(f);
        return 0;
}

static uint8_t *unhex(const char *text, size_t *len) {
        void *p = NULL;

        assert_int_equal(hex_decode(text, &p, len), 0);
        return p;
}

static void test_decode_seq_vectors(void **state) {
        size_t key_len, len;
        uint8_t *key = unhex("7c8e9161c2a35bbb3030d1f866d2e6e6", &key_len), *c, *enc;
        uint32_t seq;

        c = unhex("115c934d28ed4f70ff464784346959e0", &len);
        assert_int_equal(sim_coap_aes_decode_seq(key, c, len, &seq), 0);
        assert_int_equal(seq, 137);
        free(c);
        c = unhex("df85fc6d68c5e5f1896175cd23ff2bd4", &len);
        assert_int_equal(sim_coap_aes_decode_seq(key, c, len, &seq), 0);
        assert_int_equal(seq, 138);
        free(c);
        c = unhex("436b7c6c37852337822eaf39fb4e1d19", &len);
        assert_int_equal(sim_coap_aes_decode_seq(key, c, len, &seq), 0);
        assert_int_equal(seq, 4321);
        free(c);

        assert_int_equal(sim_coap_aes_decode_seq(key, NULL, 0, &seq), -ENOMSG);
        assert_int_equal(sim_coap_aes_decode_seq(key, (const uint8_t *) "12345", 5, &seq), -EBADMSG);
        static const char *const bad[] = { "", "12a", "-1", " 1", "4294967296", "12345678901" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(aes_encrypt(key, bad[i], strlen(bad[i]), &enc, &len), 0);
                assert_int_equal(sim_coap_aes_decode_seq(key, enc, len, &seq), -EINVAL);
                free(enc);
        }
        assert_int_equal(aes_encrypt(key, "4294967295", 10, &enc, &len), 0);
        assert_int_equal(sim_coap_aes_decode_seq(key, enc, len, &seq), 0);
        assert_int_equal(seq, UINT32_MAX);
        free(enc);
        free(key);
}

static SimRequest auth_request(const char *body) {
        return (SimRequest) { .peer = "test", .confirmable = true, .content_format = 50, .accept = 50,
                              .payload = (const uint8_t *) body, .payload_len = strlen(body) };
}

/* Runs /auth and returns the session key; *ret_offset gets seqOffset and *ret_token the token. */
static void do_auth(Fixture *f, uint8_t key[static AES_KEY_SIZE], uint32_t *ret_offset, char **ret_token) {
        SimRequest req = auth_request(AUTH_BODY);
        SimReply reply = {};
        AuthResponse a = {};

        assert_int_equal(sim_coap_aes_mode.auth(&f->server, &req, &reply), 0);
        assert_int_equal(reply.code, 205);
        assert_int_equal(reply.form, SIM_REPLY_PIGGYBACKED);
        assert_int_equal(reply.n_options, 1);
        assert_int_equal(reply.options[0].number, 12);
        assert_int_equal(reply.options[0].value[0], 50);
        assert_int_equal(auth_response_parse(reply.payload, reply.payload_len, true, &a), 0);
        assert_int_equal(strlen(a.random), 16);
        assert_true(a.seq_offset >= 1 && a.seq_offset <= 1000);
        assert_true(strlen(a.token) <= AUTH_TOKEN_MAX);
        assert_int_equal(aes_derive_key(SECRET, a.random, key), 0);
        *ret_offset = (uint32_t) a.seq_offset;
        *ret_token = strdup(a.token);
        auth_response_done(&a);
        sim_reply_done(&reply);
}

static unsigned publish(Fixture *f, const char *token, const uint8_t *key, const char *seq_text, const char *body,
                        SimReply *reply) {
        char *segments[] = { "topic", "a1B2c3D4e5F", "sensor_0042", "user", "update", NULL };
        _cleanup_free_ uint8_t *seq = NULL, *payload = NULL;
        size_t seq_len, payload_len;
        SimRequest req;

        assert_int_equal(aes_encrypt(key, seq_text, strlen(seq_text), &seq, &seq_len), 0);
        assert_int_equal(aes_encrypt(key, body, strlen(body), &payload, &payload_len), 0);
        req = (SimRequest) {
                .peer = "test", .confirmable = true, .content_format = 50, .accept = 42,
                .segments = segments, .n_segments = 5,
                .iot_token = (const uint8_t *) token, .iot_token_len = strlen(token),
                .seq = seq, .seq_len = seq_len, .payload = payload, .payload_len = payload_len,
        };
        *reply = (SimReply) {};
        assert_int_equal(sim_coap_aes_mode.publish(&f->server, &req, reply), 0);
        return reply->code;
}

static void test_auth_and_publish(void **state) {
        Fixture *f = *state;
        uint8_t key[AES_KEY_SIZE];
        _cleanup_free_ char *token = NULL, *line = NULL;
        char seq[16];
        uint32_t offset;
        SimReply reply;
        size_t size = 0;
        FILE *rec;

        do_auth(f, key, &offset, &token);
        assert_int_equal(sim_sessions_count(f->server.sessions), 1);

        snprintf(seq, sizeof(seq), "%u", offset);
        assert_int_equal(publish(f, token, key, seq, "{\"temperature\":25.5,\"humidity\":60}", &reply), 205);
        assert_int_equal(reply.n_options, 1);
        assert_int_equal(reply.options[0].number, 2090);
        assert_int_equal(reply.options[0].len, 19);
        assert_int_equal(reply.payload_len, 0);
        sim_reply_done(&reply);

        assert_int_equal(publish(f, token, key, seq, "again", &reply), 402);       /* replay */
        snprintf(seq, sizeof(seq), "%u", offset - 1);
        assert_int_equal(publish(f, token, key, seq, "low", &reply), 402);
        assert_int_equal(publish(f, "no-such-token", key, "5000", "x", &reply), 401);
        snprintf(seq, sizeof(seq), "%u", offset + 1);
        assert_int_equal(publish(f, token, key, seq, "next", &reply), 205);
        sim_reply_done(&reply);

        rec = fopen(f->record_path, "re");
        assert_non_null(rec);
        assert_true(getline(&line, &size, rec) > 0);
        assert_non_null(strstr(line, "{\"event\":\"auth\",\"transport\":\"coap-aes\",\"productKey\":\"a1B2c3D4e5F\","
                                     "\"deviceName\":\"sensor_0042\",\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"time\":"));
        assert_true(getline(&line, &size, rec) > 0);
        assert_non_null(strstr(line, "\"topic\":\"/a1B2c3D4e5F/sensor_0042/user/update\","
                                     "\"payload\":\"eyJ0ZW1wZXJhdHVyZSI6MjUuNSwiaHVtaWRpdHkiOjYwfQ==\""));
        assert_true(getline(&line, &size, rec) > 0);
        assert_non_null(strstr(line, "\"payload\":\"bmV4dA==\""));
        assert_true(getline(&line, &size, rec) < 0);
        fclose(rec);
}

static void test_auth_rejections(void **state) {
        Fixture *f = *state;
        SimRequest req = auth_request(AUTH_BODY);
        SimReply reply = {};

        req.content_format = 60;
        assert_int_equal(sim_coap_aes_mode.auth(&f->server, &req, &reply), 0);
        assert_int_equal(reply.code, 415);
        req = auth_request(AUTH_BODY);
        req.accept = 42;
        assert_int_equal(sim_coap_aes_mode.auth(&f->server, &req, &reply), 0);
        assert_int_equal(reply.code, 406);
        req = auth_request("{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\",\"clientId\":\"c\","
                           "\"sign\":\"fe6ac333c1f247d7b4613a07aef2adca\",\"seq\":\"4321\"}");
        assert_int_equal(sim_coap_aes_mode.auth(&f->server, &req, &reply), 0);
        assert_int_equal(reply.code, 401);
        req = auth_request("[]");
        assert_int_equal(sim_coap_aes_mode.auth(&f->server, &req, &reply), 0);
        assert_int_equal(reply.code, 400);
        assert_int_equal(sim_sessions_count(f->server.sessions), 0);
        assert_null(reply.payload);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decode_seq_vectors),
                cmocka_unit_test_setup_teardown(test_auth_and_publish, setup, teardown),
                cmocka_unit_test_setup_teardown(test_auth_rejections, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for cloudsim's DTLS mode on plain requests (no sockets): the D.3 PSK vectors chosen from the
 * identity, refusals of unknown devices and malformed identities, the S4 auth body, and a plaintext publish. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "auth.h"
#include "macro.h"
#include "../../tools/cloudsim/sim-coap-dtls.h"
#include "../../tools/cloudsim/sim-server.h"
#include "sim-test-server.h"

/* D.2 S4, the SDK's CoAP-DTLS auth body (134 bytes). */
#define AUTH_BODY "{\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\",\"clientId\":\"a1B2c3D4e5F.sensor_0042\"," \
        "\"sign\":\"2a07be7167d2da6e852e6c7ac26710c1\"}"

typedef struct Fixture {
        SimConfig config;
        SimServer server;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        sim_test_server_init(&f->server, &f->config);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        sim_test_server_done(&f->server);
        free(f);
        return 0;
}

static void check_psk(Fixture *f, const char *identity, const char *want) {
        char *key = NULL;

        assert_int_equal(sim_coap_dtls_psk(f->server.devices, identity, strlen(identity), &key), 0);
        assert_string_equal(key, want);
        free(key);
}

static void test_psk_vectors(void **state) {
        Fixture *f = *state;

        check_psk(f, "devicename|hmacsha256|a1B2c3D4e5F&sensor_0042|2524608000000",
                  "15E012B27FF65067AFEFE434291D3B1EEAE4B3C6306DCFFA7B547B83BF591728");
        check_psk(f, "devicename|hmacsha1|a1B2c3D4e5F&sensor_0042|2524608000000",
                  "7B8B4CB74648F8A8B375B3F332B15EEF29012302");
        check_psk(f, "devicename|hmacmd5|a1B2c3D4e5F&sensor_0042|2524608000000",
                  "94134A9A3F011AFF20D20918BA87B0E7");
}

static void test_psk_refused(void **state) {
        static const char nul[] = "devicename|hmacsha256|a1B2c3D4e5F&sensor_0042\0|2524608000000";
        Fixture *f = *state;
        char *key = NULL;
        const char *unknown = "devicename|hmacsha256|a1B2c3D4e5F&sensor_0043|2524608000000";

        assert_int_equal(sim_coap_dtls_psk(f->server.devices, unknown, strlen(unknown), &key), -ENOENT);
        assert_int_equal(sim_coap_dtls_psk(f->server.devices, "sensor_0042", 11, &key), -EBADMSG);
        assert_int_equal(sim_coap_dtls_psk(f->server.devices, "", 0, &key), -EBADMSG);
        assert_int_equal(sim_coap_dtls_psk(f->server.devices, nul, sizeof(nul) - 1, &key), -EBADMSG);
        assert_null(key);
}

static void test_auth_and_publish(void **state) {
        char *segments[] = { "topic", "a1B2c3D4e5F", "sensor_0042", "user", "update", NULL };
        static const char body[] = "{\"temperature\":25.5}";
        Fixture *f = *state;
        SimRequest req = { .peer = "test", .confirmable = true, .content_format = 50, .accept = 50,
                           .payload = (const uint8_t *) AUTH_BODY, .payload_len = strlen(AUTH_BODY) };
        SimReply reply = {};
        AuthResponse a = {};

        assert_int_equal(strlen(AUTH_BODY), 134);
        assert_int_equal(sim_coap_dtls_mode.auth(&f->server, &req, &reply), 0);
        assert_int_equal(reply.code, 205);
        /* {"token":"..."} only (B.4). */
        assert_int_equal(auth_response_parse(reply.payload, reply.payload_len, false, &a), 0);
        assert_null(memmem(reply.payload, reply.payload_len, "random", 6));
        sim_reply_done(&reply);

        req = (SimRequest) { .peer = "test", .confirmable = true, .content_format = 50, .accept = 42,
                             .segments = segments, .n_segments = 5,
                             .iot_token = (const uint8_t *) a.token, .iot_token_len = strlen(a.token),
                             .payload = (const uint8_t *) body, .payload_len = strlen(body) };
        assert_int_equal(sim_coap_dtls_mode.publish(&f->server, &req, &reply), 0);
        assert_int_equal(reply.code, 205);
        assert_int_equal(reply.n_options, 1);
        assert_int_equal(reply.options[0].number, 2090);
        sim_reply_done(&reply);

        /* A wrong token is 4.01, as in AES mode. */
        req.iot_token = (const uint8_t *) "nope";
        req.iot_token_len = 4;
        assert_int_equal(sim_coap_dtls_mode.publish(&f->server, &req, &reply), 0);
        assert_int_equal(reply.code, 401);
        sim_reply_done(&reply);
        auth_response_done(&a);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_psk_vectors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_psk_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_auth_and_publish, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

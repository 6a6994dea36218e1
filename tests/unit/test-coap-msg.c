/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for coap-msg.c: the PDUs are sent through a real libcoap client session to a plain UDP socket
 * on loopback, and the received datagrams are compared with PROTOCOL.md A.15 byte for byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "aes.h"
#include "auth.h"
#include "coap-msg.h"
#include "hex.h"
#include "macro.h"

#define SECRET "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"
#define RANDOM "a3f5c9e1b27d4086"
#define IOT_TOKEN "Xy9kQ2mN8pL4rT6v0001050d00.a3f5"
#define PAYLOAD "{\"temperature\":25.5,\"humidity\":60}"

/* PROTOCOL.md A.15, verbatim (one line each, so they can be compared with the spec by eye or grep). */
#define AUTH_HEX \
        "4402123404030201b46175746811325132ff7b2270726f647563744b6579223a226131423263334434653546222c226465766963654e616d65223a2273656e736f725f30303432222c22636c69656e744964223a2261314232633344346535462e73656e736f725f30303432222c227369676e223a226665366163333333633166323437643762343631336130376165663261646361222c22736571223a2234333231227d"
#define PUBLISH_HEX \
        "4402123505030201b5746f7069630b61314232633344346535460b73656e736f725f303034320475736572067570646174651132512aed070a125879396b51326d4e38704c3472543676303030313035306430302e613366351d03115c934d28ed4f70ff464784346959e0ff366f242b6a7d4711b3329e31366d87333e00c054094a31abc8dbc4b97e277588076bd38b2343251aeed86a25e4a7aa9b"

static const uint8_t token_auth[COAP_MSG_TOKEN_SIZE] = { 0x04, 0x03, 0x02, 0x01 };
static const uint8_t token_publish[COAP_MSG_TOKEN_SIZE] = { 0x05, 0x03, 0x02, 0x01 };

typedef struct Peer {
        int fd;                 /* the plain UDP socket playing the server */
        coap_address_t dst;
        coap_context_t *ctx;
} Peer;

static int group_setup(void **state) {
        coap_startup();
        coap_set_log_level(LOG_EMERG);
        return 0;
}

static int group_teardown(void **state) {
        coap_cleanup();
        return 0;
}

/* A fresh socket and context per test, so a CON retransmission can never leak into another test. */
static int peer_setup(void **state) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sin);
        Peer *p;

        p = calloc(1, sizeof(Peer));
        assert_non_null(p);
        p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(p->fd >= 0);
        assert_int_equal(bind(p->fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
        assert_int_equal(getsockname(p->fd, (struct sockaddr *) &sin, &sl), 0);

        coap_address_init(&p->dst);
        p->dst.addr.sin = sin;
        p->dst.size = sizeof(sin);
        p->ctx = coap_new_context(NULL);
        assert_non_null(p->ctx);

        *state = p;
        return 0;
}

static int peer_teardown(void **state) {
        Peer *p = *state;

        coap_free_context(p->ctx);
        safe_close(p->fd);
        free(p);
        return 0;
}

/* Sends the PDU (consumed) through a new libcoap client session and returns what the plain socket received.
 * One session per PDU: libcoap holds back a second CON on a session until the first is acknowledged
 * (NSTART = 1), and this peer never acknowledges. */
static size_t send_and_receive(Peer *p, coap_pdu_t *pdu, uint8_t *buf, size_t size) {
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
        coap_session_t *session;
        ssize_t n;

        session = coap_new_client_session(p->ctx, NULL, &p->dst, COAP_PROTO_UDP);
        assert_non_null(session);
        assert_int_not_equal(coap_send(session, pdu), COAP_INVALID_MID);
        (void) coap_io_process(p->ctx, COAP_IO_NO_WAIT);

        assert_int_equal(poll(&pfd, 1, 5000), 1);
        n = recv(p->fd, buf, size, MSG_DONTWAIT);
        assert_true(n > 0);
        coap_session_release(session);
        return (size_t) n;
}

static void assert_bytes_hex(const uint8_t *data, size_t len, const char *expected_hex) {
        _cleanup_free_ char *hex = NULL;

        assert_int_equal(hex_encode(data, len, false, &hex), 0);
        assert_string_equal(hex, expected_hex);
}

static void test_auth_datagram(void **state) {
        const AuthParams params = {
                .product_key = "a1B2c3D4e5F", .device_name = "sensor_0042", .sign_method = SIGN_HMACMD5,
                .has_seq = true, .seq = 4321,
        };
        _cleanup_free_ char *json = NULL;
        coap_pdu_t *pdu = NULL;
        uint8_t buf[2048];
        size_t n;

        assert_int_equal(auth_request_build(&params, SECRET, &json), 0);
        assert_int_equal(strlen(json), 147);
        assert_int_equal(coap_msg_auth(0x1234, token_auth, json, &pdu), 0);

        n = send_and_receive(*state, pdu, buf, sizeof(buf));
        assert_int_equal(n, 165);
        assert_bytes_hex(buf, n, AUTH_HEX);
        /* D.6: the fixed part before the 147 JSON bytes. */
        assert_memory_equal(AUTH_HEX, "4402123404030201b46175746811325132ff", 36);
        assert_memory_equal(buf + 18, json, 147);
}

/* Builds the A.15 publish the way the daemon does: key from D.4, seq and payload encrypted. */
static void test_publish_datagram(void **state) {
        _cleanup_free_ uint8_t *seq = NULL, *payload = NULL;
        uint8_t key[AES_KEY_SIZE], buf[2048];
        size_t seq_len, payload_len, n;
        coap_pdu_t *pdu = NULL;

        assert_int_equal(aes_derive_key(SECRET, RANDOM, key), 0);
        assert_int_equal(aes_encrypt(key, "137", 3, &seq, &seq_len), 0);
        assert_int_equal(aes_encrypt(key, PAYLOAD, strlen(PAYLOAD), &payload, &payload_len), 0);

        const CoapPublish p = {
                .topic = "a1B2c3D4e5F/sensor_0042/user/update",
                .content_format = COAP_MSG_CF_JSON,
                .iot_token = IOT_TOKEN,
                .seq = seq, .seq_len = seq_len,
                .payload = payload, .payload_len = payload_len,
                .confirmable = true,
        };
        assert_int_equal(strlen(IOT_TOKEN), 31);
        assert_int_equal(coap_msg_publish_size(p.topic, strlen(p.iot_token), seq_len, payload_len), 156);
        assert_int_equal(coap_msg_publish(0x1235, token_publish, &p, &pdu), 0);

        n = send_and_receive(*state, pdu, buf, sizeof(buf));
        assert_int_equal(n, 156);
        assert_bytes_hex(buf, n, PUBLISH_HEX);
        /* D.6: the publish datagram's documented opening. */
        assert_memory_equal(PUBLISH_HEX, "4402123505030201b5746f706963", 28);
}

/* The daemon's topics start with '/'; leading, doubled and trailing slashes add no Uri-Path (A.8). */
static void test_publish_slashes(void **state) {
        static const char *const topics[] = {
                "/a1B2c3D4e5F/sensor_0042/user/update", "//a1B2c3D4e5F//sensor_0042/user/update/",
        };
        uint8_t seq[16] = {}, payload[48] = {}, buf[2048];

        for (size_t i = 0; i < ELEMENTSOF(topics); i++) {
                const CoapPublish p = {
                        .topic = topics[i], .content_format = COAP_MSG_CF_JSON, .iot_token = IOT_TOKEN,
                        .seq = seq, .seq_len = sizeof(seq), .payload = payload, .payload_len = sizeof(payload),
                        .confirmable = true,
                };
                coap_pdu_t *pdu = NULL;
                size_t n;

                assert_int_equal(coap_msg_publish((coap_mid_t) (0x1235 + i), token_publish, &p, &pdu), 0);
                n = send_and_receive(*state, pdu, buf, sizeof(buf));
                assert_int_equal(n, 156);
                /* Same bytes as A.15 up to the payload marker. */
                assert_memory_equal(buf + 4, "\x05\x03\x02\x01\xb5topic", 10);
                assert_int_equal(coap_msg_publish_size(topics[i], strlen(IOT_TOKEN), 16, 48), n);
        }
}

typedef struct SizeCase {
        const char *topic;
        size_t token_len, seq_len, payload_len;
        unsigned cf;
        bool confirmable;
} SizeCase;

static void check_size_case(Peer *peer, const SizeCase *c, coap_mid_t mid) {
        _cleanup_free_ char *iot_token = NULL;
        _cleanup_free_ uint8_t *seq = NULL, *payload = NULL;
        coap_pdu_t *pdu = NULL;
        uint8_t buf[4096];
        size_t n, expected;

        iot_token = malloc(c->token_len + 1);
        seq = malloc(c->seq_len + 1);
        payload = malloc(c->payload_len + 1);
        assert_true(iot_token && seq && payload);
        memset(iot_token, 'T', c->token_len);
        iot_token[c->token_len] = 0;
        memset(seq, 0xa5, c->seq_len);
        memset(payload, 0x5a, c->payload_len);

        const CoapPublish p = {
                .topic = c->topic, .content_format = c->cf, .iot_token = iot_token,
                .seq = c->seq_len > 0 ? seq : NULL, .seq_len = c->seq_len,
                .payload = payload, .payload_len = c->payload_len, .confirmable = c->confirmable,
        };
        expected = coap_msg_publish_size(c->topic, c->token_len, c->seq_len, c->payload_len);
        assert_int_equal(coap_msg_publish(mid, token_publish, &p, &pdu), 0);
        n = send_and_receive(peer, pdu, buf, sizeof(buf));
        assert_int_equal(n, expected);
        assert_int_equal(buf[0], c->confirmable ? 0x44 : 0x54);
        assert_int_equal(buf[2], (mid >> 8) & 0xff);
        assert_int_equal(buf[3], mid & 0xff);
        if (c->payload_len > 0)
                assert_int_equal(buf[n - c->payload_len - 1], 0xff);
        else
                assert_int_not_equal(buf[n - 1], 0xff);
}

static void test_publish_size(void **state) {
        static const SizeCase cases[] = {
                /* DTLS mode: no 2089. */
                { "/pk/dn/user/update", 31, 0, 34, COAP_MSG_CF_JSON, true },
                /* Empty payload: no marker. */
                { "/pk/dn/user/update", 31, 16, 0, COAP_MSG_CF_JSON, false },
                { "/pk/dn/user/update", 31, 0, 0, COAP_MSG_CF_CBOR, false },
                /* Token lengths around the 1-byte (13) and 2-byte (269) extension thresholds. */
                { "/a", 12, 16, 16, COAP_MSG_CF_OCTET, true },
                { "/a", 13, 16, 16, COAP_MSG_CF_JSON, true },
                { "/a", 192, 16, 16, COAP_MSG_CF_JSON, true },
                { "/a", 268, 16, 16, COAP_MSG_CF_JSON, true },
                { "/a", 269, 16, 16, COAP_MSG_CF_JSON, true },
                /* Segment lengths 12, 13 and a deep, SDK-truncating topic (E.14). */
                { "/aaaaaaaaaaaa/bbbbbbbbbbbbb/c", 31, 16, 32, COAP_MSG_CF_JSON, true },
                { "/sys/pk/dn/thing/event/property/post/x/y/z", 100, 16, 512, COAP_MSG_CF_JSON, true },
                /* A UTF-8 segment is counted in bytes. */
                { "/pk/dn/user/températur", 31, 16, 48, COAP_MSG_CF_JSON, true },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_size_case(*state, &cases[i], (coap_mid_t) (0x2000 + i));
}

static void test_publish_size_limit(void **state) {
        SizeCase c = { "/a1B2c3D4e5F/sensor_0042/user/update", 31, 16, 0, COAP_MSG_CF_JSON, true };
        uint8_t payload[COAP_MSG_PDU_MAX] = {}, seq[16] = {};
        size_t overhead;

        /* The largest payload that fits in COAP_MSG_PDU_MAX is sent whole... */
        overhead = coap_msg_publish_size(c.topic, c.token_len, c.seq_len, 0) + 1;
        c.payload_len = COAP_MSG_PDU_MAX - overhead;
        assert_int_equal(coap_msg_publish_size(c.topic, c.token_len, c.seq_len, c.payload_len), COAP_MSG_PDU_MAX);
        check_size_case(*state, &c, 0x3000);

        /* ...one more byte is refused. */
        const CoapPublish p = {
                .topic = c.topic, .content_format = COAP_MSG_CF_JSON, .iot_token = IOT_TOKEN,
                .seq = seq, .seq_len = sizeof(seq), .payload = payload, .payload_len = c.payload_len + 1,
                .confirmable = true,
        };
        coap_pdu_t *pdu = NULL;

        assert_int_equal(coap_msg_publish(0x3001, token_publish, &p, &pdu), -EINVAL);
        assert_null(pdu);
}

static void test_invalid(void **state) {
        uint8_t seq[16] = {}, payload[16] = {};
        const CoapPublish good = {
                .topic = "/pk/dn/user/update", .content_format = COAP_MSG_CF_JSON, .iot_token = IOT_TOKEN,
                .seq = seq, .seq_len = sizeof(seq), .payload = payload, .payload_len = sizeof(payload),
        };
        char big[COAP_MSG_PDU_MAX];
        coap_pdu_t *pdu = NULL;
        CoapPublish p;

        assert_int_equal(coap_msg_auth(-1, token_auth, "{}", &pdu), -EINVAL);
        assert_int_equal(coap_msg_auth(0x10000, token_auth, "{}", &pdu), -EINVAL);
        assert_int_equal(coap_msg_auth(1, token_auth, "", &pdu), -EINVAL);
        assert_int_equal(coap_msg_auth(1, token_auth, NULL, &pdu), -EINVAL);
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        assert_int_equal(coap_msg_auth(1, token_auth, big, &pdu), -EINVAL);

        assert_int_equal(coap_msg_publish(-1, token_publish, &good, &pdu), -EINVAL);
        assert_int_equal(coap_msg_publish(1, token_publish, NULL, &pdu), -EINVAL);
        p = good, p.topic = NULL;
        assert_int_equal(coap_msg_publish(1, token_publish, &p, &pdu), -EINVAL);
        p = good, p.topic = "///";
        assert_int_equal(coap_msg_publish(1, token_publish, &p, &pdu), -EINVAL);
        p = good, p.iot_token = NULL;
        assert_int_equal(coap_msg_publish(1, token_publish, &p, &pdu), -EINVAL);
        p = good, p.iot_token = "";
        assert_int_equal(coap_msg_publish(1, token_publish, &p, &pdu), -EINVAL);
        p = good, p.content_format = 0;
        assert_int_equal(coap_msg_publish(1, token_publish, &p, &pdu), -EINVAL);
        p = good, p.content_format = 11542;
        assert_int_equal(coap_msg_publish(1, token_publish, &p, &pdu), -EINVAL);
        p = good, p.seq_len = 0;
        assert_int_equal(coap_msg_publish(1, token_publish, &p, &pdu), -EINVAL);
        p = good, p.payload = NULL;
        assert_int_equal(coap_msg_publish(1, token_publish, &p, &pdu), -EINVAL);
        assert_null(pdu);

        /* An unsent PDU is the caller's to free. */
        assert_int_equal(coap_msg_publish(1, token_publish, &good, &pdu), 0);
        coap_delete_pdu(pdu);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_auth_datagram, peer_setup, peer_teardown),
                cmocka_unit_test_setup_teardown(test_publish_datagram, peer_setup, peer_teardown),
                cmocka_unit_test_setup_teardown(test_publish_slashes, peer_setup, peer_teardown),
                cmocka_unit_test_setup_teardown(test_publish_size, peer_setup, peer_teardown),
                cmocka_unit_test_setup_teardown(test_publish_size_limit, peer_setup, peer_teardown),
                cmocka_unit_test(test_invalid),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

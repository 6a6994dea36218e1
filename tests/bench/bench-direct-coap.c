/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-direct-coap: the minimal CoAP client, no daemon: one libcoap session (plain UDP for coap-aes, DTLS-PSK
 * with --dtls), /auth, then N publishes of the environmental-sensor payload with lib/shared's builders, one CON
 * in flight. Prints the rate and the smallest datagram pair the protocol allows for that message (request +
 * 4-byte empty ACK, PROTOCOL.md A.8 / B.4; in DTLS mode without the DTLS records). */

#include <arpa/inet.h>
#include <coap3/coap.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aes.h"
#include "auth.h"
#include "coap-msg.h"
#include "json-cbor.h"
#include "bench-util.h"
#include "macro.h"
#include "psk.h"

#define EXCHANGE_TIMEOUT_SEC 10.0

static const char *arg_host = "127.0.0.1";
static unsigned arg_port;
static const char *arg_product_key;
static const char *arg_device_name;
static const char *arg_secret_file;
static unsigned arg_count = 1000;
static bool arg_dtls;

static const char payload[] = "{\"id\":\"1\",\"version\":\"1.0\",\"params\":{\"CurrentTemperature\":21.5,"
                              "\"CurrentHumidity\":48.2},\"method\":\"thing.event.property.post\"}";

/* The answer to the one request in flight. */
static struct {
        int done;
        unsigned code;
        uint8_t data[COAP_MSG_PDU_MAX];
        size_t len;
} reply;

static coap_response_t on_response(coap_session_t *session, const coap_pdu_t *sent, const coap_pdu_t *received,
                                   const coap_mid_t mid) {
        const uint8_t *data;
        size_t len = 0;
        coap_pdu_code_t code = coap_pdu_get_code(received);

        reply.code = (unsigned) (code >> 5) * 100 + (unsigned) (code & 0x1f);
        if (!coap_get_data(received, &len, &data) || len > sizeof(reply.data))
                len = 0;
        memcpy(reply.data, data, len);
        reply.len = len;
        reply.done = 1;
        return COAP_RESPONSE_OK;
}

/* Sends pdu and runs libcoap until its answer (in DTLS mode the first one also waits for the handshake);
 * returns the CoAP code (205 for 2.05) or -ETIMEDOUT after EXCHANGE_TIMEOUT_SEC. */
static int exchange(coap_context_t *ctx, coap_session_t *session, coap_pdu_t *pdu) {
        double deadline = now_sec() + EXCHANGE_TIMEOUT_SEC;

        reply.done = 0;
        if (coap_send(session, pdu) == COAP_INVALID_MID)
                return -EIO;
        while (!reply.done && now_sec() < deadline)
                coap_io_process(ctx, 100);
        return reply.done ? (int) reply.code : -ETIMEDOUT;
}

/* The session to the cloud: plain UDP, or DTLS keyed with the identity and PSK the daemon uses (B.2, E.3). */
static int session_new(coap_context_t *ctx, const char *secret, coap_session_t **ret) {
        _cleanup_free_ char *psk_id = NULL;
        _cleanup_erase_free_ char *key = NULL;
        coap_address_t dst;
        int r;

        coap_address_init(&dst);
        dst.addr.sin.sin_family = AF_INET;
        dst.addr.sin.sin_port = htons((uint16_t) arg_port);
        dst.size = sizeof(dst.addr.sin);
        if (inet_pton(AF_INET, arg_host, &dst.addr.sin.sin_addr) != 1)
                return -EINVAL;
        if (!arg_dtls) {
                *ret = coap_new_client_session(ctx, NULL, &dst, COAP_PROTO_UDP);
                return *ret ? 0 : -ENOMEM;
        }
        if (!coap_dtls_is_supported())
                return -EOPNOTSUPP;
        r = psk_identity(SIGN_HMACSHA256, arg_product_key, arg_device_name, &psk_id);
        if (r >= 0)
                r = psk_key(SIGN_HMACSHA256, secret, arg_product_key, arg_device_name, PSK_TIMESTAMP, &key);
        if (r < 0)
                return r;
        /* libcoap copies identity and key into the session. */
        *ret = coap_new_client_session_psk2(ctx, NULL, &dst, COAP_PROTO_DTLS, &(coap_dtls_cpsk_t) {
                .version = COAP_DTLS_CPSK_SETUP_VERSION,
                .psk_info = {
                        .identity = { strlen(psk_id), (const uint8_t *) psk_id },
                        .key = { strlen(key), (const uint8_t *) key },
                },
        });
        return *ret ? 0 : -EIO;
}

/* /auth: with seq and a key derived from the reply's random in AES mode, without both in DTLS mode (B.4). */
static int authenticate(coap_context_t *ctx, coap_session_t *session, const char *secret, AuthResponse *resp,
                        uint8_t key[static AES_KEY_SIZE]) {
        _cleanup_free_ char *json = NULL;
        const uint8_t token[COAP_MSG_TOKEN_SIZE] = {};
        coap_pdu_t *pdu;
        int r;

        r = auth_request_build(&(AuthParams) { .product_key = arg_product_key, .device_name = arg_device_name,
                                               .has_seq = !arg_dtls, .seq = 1 },
                               secret, &json);
        if (r >= 0)
                r = coap_msg_auth(coap_new_message_id(session), token, json, &pdu);
        if (r >= 0)
                r = exchange(ctx, session, pdu);
        if (r != 205)
                return r < 0 ? r : -EACCES;
        r = auth_response_parse(reply.data, reply.len, !arg_dtls, resp);
        if (r >= 0 && !arg_dtls)
                r = aes_derive_key(secret, resp->random, key);
        return r;
}

/* One publish of payload: AES-encrypted with seq in option 2089, or plaintext without it in DTLS mode. */
static int publish(coap_context_t *ctx, coap_session_t *session, const char *topic, const AuthResponse *resp,
                   const uint8_t key[static AES_KEY_SIZE], uint32_t seq, uint32_t tok) {
        _cleanup_free_ uint8_t *seq_enc = NULL, *pl_enc = NULL;
        uint8_t token[COAP_MSG_TOKEN_SIZE];
        char seq_text[16];
        size_t seq_len = 0, pl_len = sizeof(payload) - 1;
        coap_pdu_t *pdu;
        int r = 0;

        memcpy(token, &tok, sizeof(tok));
        if (!arg_dtls) {
                (void) snprintf(seq_text, sizeof(seq_text), "%u", seq);
                r = aes_encrypt(key, seq_text, strlen(seq_text), &seq_enc, &seq_len);
                if (r >= 0)
                        r = aes_encrypt(key, payload, sizeof(payload) - 1, &pl_enc, &pl_len);
        }
        if (r >= 0)
                r = coap_msg_publish(coap_new_message_id(session), token,
                                     &(CoapPublish) { .topic = topic, .content_format = COAP_MSG_CF_JSON,
                                                      .iot_token = resp->token, .seq = seq_enc, .seq_len = seq_len,
                                                      .payload = pl_enc ?: (const uint8_t *) payload,
                                                      .payload_len = pl_len, .confirmable = true },
                                     &pdu);
        if (r >= 0)
                r = exchange(ctx, session, pdu);
        return r;
}

/* Smallest request + 4-byte empty ACK for a payload of len plaintext bytes. */
static size_t min_bytes(const char *topic, size_t token_len, size_t len) {
        if (arg_dtls)
                return coap_msg_publish_size(topic, token_len, 0, len) + 4;
        return coap_msg_publish_size(topic, token_len, AES_BLOCK_SIZE, aes_encrypted_size(len)) + 4;
}

/* The timed job is the daemon's after Flush: session (DTLS handshake), /auth, then every publish. */
static int run(coap_context_t *ctx, const char *secret) {
        _cleanup_free_ uint8_t *cbor = NULL;
        AuthResponse resp = {};
        uint8_t key[AES_KEY_SIZE] = {};
        coap_session_t *session = NULL;
        char topic[160];
        size_t cbor_len, tlen;
        double t0, t_auth, t_end;
        int r;

        t0 = now_sec();
        r = session_new(ctx, secret, &session);
        if (r < 0)
                return r;
        r = authenticate(ctx, session, secret, &resp, key);
        if (r < 0)
                goto out;
        t_auth = now_sec();
        (void) snprintf(topic, sizeof(topic), "/%s/%s/user/update", arg_product_key, arg_device_name);
        for (unsigned i = 0; i < arg_count; i++) {
                /* AES mode: the first seq after auth is seqOffset+1 (E.4). */
                r = publish(ctx, session, topic, &resp, key, (uint32_t) resp.seq_offset + 1 + i, 2 + i);
                if (r != 205) {
                        fprintf(stderr, "bench-direct-coap: publish %u: %d\n", i, r);
                        r = r < 0 ? r : -EPROTO;
                        goto out;
                }
        }
        t_end = now_sec();
        r = json_cbor_encode(payload, sizeof(payload) - 1, &cbor, &cbor_len);
        if (r < 0)
                goto out;
        tlen = strlen(resp.token);
        printf("{\"mode\":\"%s\",\"delivered_per_s\":%.0f,\"publish_per_s\":%.0f,\"setup_auth_us\":%.0f,"
               "\"min_bytes_json\":%zu,\"min_bytes_cbor\":%zu,\"payload_bytes\":%zu}\n",
               arg_dtls ? "coap-dtls" : "coap-aes", arg_count / (t_end - t0), arg_count / (t_end - t_auth),
               (t_auth - t0) * 1e6, min_bytes(topic, tlen, sizeof(payload) - 1), min_bytes(topic, tlen, cbor_len),
               sizeof(payload) - 1);
        r = 0;
out:
        auth_response_done(&resp);
        explicit_bzero(key, sizeof(key));
        coap_session_release(session);
        return r;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "host",        required_argument, NULL, 'H' },
                { "port",        required_argument, NULL, 'p' },
                { "product-key", required_argument, NULL, 'k' },
                { "device-name", required_argument, NULL, 'd' },
                { "secret-file", required_argument, NULL, 's' },
                { "count",       required_argument, NULL, 'n' },
                { "dtls",        no_argument,       NULL, 'D' },
                {}
        };
        coap_context_t *ctx;
        char secret[128];
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'H': arg_host = optarg; break;
                case 'p': arg_port = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'k': arg_product_key = optarg; break;
                case 'd': arg_device_name = optarg; break;
                case 's': arg_secret_file = optarg; break;
                case 'n': arg_count = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'D': arg_dtls = true; break;
                default: return 2;
                }
        }
        if (!arg_port || arg_port > 65535 || !arg_product_key || !arg_device_name || !arg_secret_file ||
            arg_count == 0) {
                fprintf(stderr, "usage: bench-direct-coap --port=P --product-key=PK --device-name=DN "
                        "--secret-file=F [--dtls] [--host=127.0.0.1] [--count=N]\n");
                return 2;
        }
        if (bench_read_secret(arg_secret_file, secret, sizeof(secret)) < 0) {
                fprintf(stderr, "bench-direct-coap: cannot read the secret file\n");
                return 1;
        }
        coap_startup();
        coap_set_log_level(LOG_WARNING);
        ctx = coap_new_context(NULL);
        if (!ctx) {
                fprintf(stderr, "bench-direct-coap: cannot create the libcoap context\n");
                return 1;
        }
        coap_register_response_handler(ctx, on_response);
        r = run(ctx, secret);
        explicit_bzero(secret, sizeof(secret));
        coap_free_context(ctx);
        coap_cleanup();
        if (r < 0) {
                fprintf(stderr, "bench-direct-coap: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}

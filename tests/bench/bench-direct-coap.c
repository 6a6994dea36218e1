/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-direct-coap: the minimal coap-aes client, no daemon: /auth, then N publishes of the environmental-sensor
 * payload with lib/shared's builders and one libcoap session, one CON in flight. Prints the rate and the
 * smallest datagram pair the protocol allows for that message (request + 4-byte empty ACK, PROTOCOL.md A.8). */

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
#include "macro.h"

static const char *arg_host = "127.0.0.1";
static unsigned arg_port;
static const char *arg_product_key;
static const char *arg_device_name;
static const char *arg_secret_file;
static unsigned arg_count = 1000;

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

/* Sends pdu and runs libcoap until its answer; returns the CoAP code (205 for 2.05) or -ETIMEDOUT. */
static int exchange(coap_context_t *ctx, coap_session_t *session, coap_pdu_t *pdu) {
        reply.done = 0;
        if (coap_send(session, pdu) == COAP_INVALID_MID)
                return -EIO;
        for (int i = 0; !reply.done && i < 10000; i++)
                coap_io_process(ctx, 1000);
        return reply.done ? (int) reply.code : -ETIMEDOUT;
}

static int read_secret(char *buf, size_t size) {
        FILE *f = fopen(arg_secret_file, "re");
        int ok;

        if (!f)
                return -errno;
        ok = fgets(buf, (int) size, f) != NULL;
        fclose(f);
        if (!ok)
                return -EINVAL;
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

static double now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(coap_context_t *ctx, coap_session_t *session) {
        char secret[128], topic[160], seq_text[16];
        _cleanup_free_ char *json = NULL;
        _cleanup_free_ uint8_t *cbor = NULL;
        AuthResponse resp = {};
        uint8_t key[AES_KEY_SIZE], token[COAP_MSG_TOKEN_SIZE] = {};
        uint32_t tok = 1, seq;
        size_t cbor_len, tlen;
        coap_pdu_t *pdu;
        double t0;
        int r;

        if (read_secret(secret, sizeof(secret)) < 0)
                return -EINVAL;
        r = auth_request_build(&(AuthParams) { .product_key = arg_product_key, .device_name = arg_device_name,
                                               .has_seq = true, .seq = 1 },
                               secret, &json);
        if (r >= 0)
                r = coap_msg_auth(coap_new_message_id(session), token, json, &pdu);
        if (r >= 0)
                r = exchange(ctx, session, pdu);
        if (r != 205)
                return r < 0 ? r : -EACCES;
        r = auth_response_parse(reply.data, reply.len, true, &resp);
        if (r >= 0)
                r = aes_derive_key(secret, resp.random, key);
        explicit_bzero(secret, sizeof(secret));
        if (r < 0)
                goto out;
        seq = (uint32_t) resp.seq_offset;
        (void) snprintf(topic, sizeof(topic), "/%s/%s/user/update", arg_product_key, arg_device_name);
        t0 = now_sec();
        for (unsigned i = 0; i < arg_count; i++) {
                _cleanup_free_ uint8_t *seq_enc = NULL, *pl_enc = NULL;
                size_t seq_len, pl_len;

                (void) snprintf(seq_text, sizeof(seq_text), "%u", ++seq);
                tok++;
                memcpy(token, &tok, sizeof(tok));
                r = aes_encrypt(key, seq_text, strlen(seq_text), &seq_enc, &seq_len);
                if (r >= 0)
                        r = aes_encrypt(key, payload, sizeof(payload) - 1, &pl_enc, &pl_len);
                if (r >= 0)
                        r = coap_msg_publish(coap_new_message_id(session), token,
                                             &(CoapPublish) { .topic = topic, .content_format = COAP_MSG_CF_JSON,
                                                              .iot_token = resp.token, .seq = seq_enc,
                                                              .seq_len = seq_len, .payload = pl_enc,
                                                              .payload_len = pl_len, .confirmable = true },
                                             &pdu);
                if (r >= 0)
                        r = exchange(ctx, session, pdu);
                if (r != 205) {
                        fprintf(stderr, "bench-direct-coap: publish %u: %d\n", i, r);
                        r = r < 0 ? r : -EPROTO;
                        goto out;
                }
        }
        r = json_cbor_encode(payload, sizeof(payload) - 1, &cbor, &cbor_len);
        if (r < 0)
                goto out;
        tlen = strlen(resp.token);
        printf("{\"delivered_per_s\":%.0f,\"min_bytes_json\":%zu,\"min_bytes_cbor\":%zu,\"payload_bytes\":%zu}\n",
               arg_count / (now_sec() - t0),
               coap_msg_publish_size(topic, tlen, AES_BLOCK_SIZE, aes_encrypted_size(sizeof(payload) - 1)) + 4,
               coap_msg_publish_size(topic, tlen, AES_BLOCK_SIZE, aes_encrypted_size(cbor_len)) + 4,
               sizeof(payload) - 1);
        r = 0;
out:
        auth_response_done(&resp);
        explicit_bzero(key, sizeof(key));
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
                {}
        };
        coap_context_t *ctx;
        coap_session_t *session;
        coap_address_t dst;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'H': arg_host = optarg; break;
                case 'p': arg_port = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'k': arg_product_key = optarg; break;
                case 'd': arg_device_name = optarg; break;
                case 's': arg_secret_file = optarg; break;
                case 'n': arg_count = (unsigned) strtoul(optarg, NULL, 10); break;
                default: return 2;
                }
        }
        if (!arg_port || arg_port > 65535 || !arg_product_key || !arg_device_name || !arg_secret_file ||
            arg_count == 0) {
                fprintf(stderr, "usage: bench-direct-coap --port=P --product-key=PK --device-name=DN "
                        "--secret-file=F [--host=127.0.0.1] [--count=N]\n");
                return 2;
        }
        coap_startup();
        coap_set_log_level(LOG_WARNING);
        coap_address_init(&dst);
        dst.addr.sin.sin_family = AF_INET;
        dst.addr.sin.sin_port = htons((uint16_t) arg_port);
        dst.size = sizeof(dst.addr.sin);
        if (inet_pton(AF_INET, arg_host, &dst.addr.sin.sin_addr) != 1)
                return 2;
        ctx = coap_new_context(NULL);
        session = ctx ? coap_new_client_session(ctx, NULL, &dst, COAP_PROTO_UDP) : NULL;
        if (!session) {
                fprintf(stderr, "bench-direct-coap: cannot create the libcoap session\n");
                return 1;
        }
        coap_register_response_handler(ctx, on_response);
        r = run(ctx, session);
        coap_session_release(session);
        coap_free_context(ctx);
        coap_cleanup();
        if (r < 0) {
                fprintf(stderr, "bench-direct-coap: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: cloudsim's CoAP request handling without sockets. The input is a request datagram, parsed
 * by libcoap, turned into a SimRequest (sim_coap_request_from_pdu) and handed to the AES mode and the DTLS
 * mode, each after a real /auth. To get past the token and the crypto: a token (2088/61/query) of "@token"
 * becomes the session's token, and in AES mode a seq or payload starting with '@' is encrypted (minus the '@')
 * with the session key. */
#include <string.h>

#include <coap3/coap.h>

#include "../../tools/cloudsim/sim-coap-aes.h"
#include "../../tools/cloudsim/sim-coap-dtls.h"
#include "../../tools/cloudsim/sim-coap-pdu.h"
#include "aes.h"
#include "auth.h"
#include "fuzz-sim.h"

#define DATAGRAM_MAX 4096

typedef struct Session {
        char *token;
        uint8_t key[AES_KEY_SIZE];
        bool has_key;
} Session;

static void authenticate(SimServer *s, const SimCoapMode *mode, bool aes, Session *ret) {
        AuthParams p = { .product_key = FUZZ_SIM_PK, .device_name = FUZZ_SIM_DN, .has_seq = aes, .seq = 4321 };
        AuthResponse a = {};
        SimReply reply = {};
        char *body = NULL;
        SimRequest req;

        if (auth_request_build(&p, FUZZ_SIM_SECRET, &body) < 0)
                abort();
        req = (SimRequest) { .peer = "fuzz", .confirmable = true, .content_format = 50, .accept = 50,
                             .payload = (const uint8_t *) body, .payload_len = strlen(body) };
        if (mode->auth(s, &req, &reply) < 0 || reply.code != 205 ||
            auth_response_parse(reply.payload, reply.payload_len, aes, &a) < 0)
                abort();
        *ret = (Session) { .token = strdup(a.token), .has_key = aes };
        if (!ret->token || (aes && aes_derive_key(FUZZ_SIM_SECRET, a.random, ret->key) < 0))
                abort();
        auth_response_done(&a);
        sim_reply_done(&reply);
        free(body);
}

/* If [*p, *len) starts with '@', replaces it by the encryption of the rest; *owned gets the new buffer. */
static void maybe_encrypt(const Session *session, const uint8_t **p, size_t *len, uint8_t **owned) {
        if (!session->has_key || !*p || *len == 0 || (*p)[0] != '@')
                return;
        if (aes_encrypt(session->key, *p + 1, *len - 1, owned, len) < 0)
                abort();
        *p = *owned;
}

static void run_mode(SimServer *s, const SimCoapMode *mode, bool aes, const coap_pdu_t *pdu) {
        _cleanup_free_ uint8_t *seq = NULL, *payload = NULL;
        SimReply reply = {};
        Session session;
        SimRequest req;
        int r;

        fuzz_sim_reset_sessions(s);
        authenticate(s, mode, aes, &session);
        if (sim_coap_request_from_pdu(pdu, "fuzz", &req) < 0)
                abort();
        if (req.iot_token && req.iot_token_len == 6 && memcmp(req.iot_token, "@token", 6) == 0) {
                req.iot_token = (const uint8_t *) session.token;
                req.iot_token_len = strlen(session.token);
        }
        maybe_encrypt(&session, &req.seq, &req.seq_len, &seq);
        maybe_encrypt(&session, &req.payload, &req.payload_len, &payload);

        /* As libcoap's resources route it: the path "auth" alone to /auth, everything else to the publish
         * handler, which insists on "topic" first. */
        if (req.n_segments == 1 && streq(req.segments[0], "auth"))
                r = mode->auth(s, &req, &reply);
        else
                r = mode->publish(s, &req, &reply);
        if (r >= 0 && (reply.code < 200 || reply.code > 599 || reply.n_options > SIM_REPLY_OPTIONS_MAX))
                abort();
        sim_reply_done(&reply);
        sim_coap_request_done(&req);
        free(session.token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool initialized;
        SimServer *s;
        coap_pdu_t *pdu;

        if (!initialized) {
                coap_startup();
                coap_set_log_level(LOG_EMERG);
                initialized = true;
        }
        s = fuzz_sim_server();
        if (size > DATAGRAM_MAX)
                return 0;
        pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, 0, DATAGRAM_MAX);
        if (!pdu)
                abort();
        if (coap_pdu_parse(COAP_PROTO_UDP, data, size, pdu) && coap_pdu_get_code(pdu) == COAP_REQUEST_CODE_POST) {
                run_mode(s, &sim_coap_aes_mode, true, pdu);
                run_mode(s, &sim_coap_dtls_mode, false, pdu);
        }
        coap_delete_pdu(pdu);
        return 0;
}

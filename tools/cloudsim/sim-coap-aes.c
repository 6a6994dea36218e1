/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CoAP AES mode: /auth checks the claim and starts a session (random, seqOffset, token, derived key);
 * /topic/... checks token, seq and payload, records the decrypted message and answers 2.05 with 2090. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aes.h"
#include "auth.h"
#include "coap-msg.h"
#include "log.h"
#include "macro.h"
#include "sim-coap-aes.h"
#include "sim-coap-common.h"
#include "sim-ids.h"
#include "sim-server.h"

#define TRANSPORT "coap-aes"
#define SEQ_DIGITS_MAX 10

static int auth_reply(SimReply *reply, const char *random, uint32_t seq_offset, const char *token, bool separate) {
        _cleanup_free_ char *json = NULL;

        if (asprintf(&json, "{\"random\":\"%s\",\"seqOffset\":%" PRIu32 ",\"token\":\"%s\"}", random, seq_offset,
                     token) < 0)
                return -ENOMEM;
        return sim_coap_common_auth_reply(reply, json, separate);
}

static int start_session(SimServer *s, const SimRequest *req, const AuthClaim *claim, const SimDevice *dev,
                         SimReply *reply) {
        _cleanup_free_ char *random = NULL;
        _cleanup_erase_free_ char *token = NULL;
        uint8_t key[AES_KEY_SIZE];
        SimSessionParams p = { .key = key };
        int r;

        r = sim_random_hex(SIM_RANDOM_BYTES, &random);
        if (r >= 0)
                r = sim_random_seq_offset(&p.seq_offset);
        if (r >= 0)
                r = sim_random_token(random, &token);
        if (r >= 0)
                r = aes_derive_key(dev->secret, random, key);
        if (r < 0) {
                explicit_bzero(key, sizeof(key));
                return log_error_errno(r, "Cannot start a session for %s/%s: %m", dev->product_key,
                                       dev->device_name);
        }
        p.token = token;
        r = sim_coap_common_start_session(s, TRANSPORT, claim, dev, &p);
        explicit_bzero(key, sizeof(key));
        if (r < 0)
                return r;

        log_debug("Auth from %s: %s/%s, clientId %s, seqOffset %" PRIu32 ", ackMode %d.", req->peer,
                  dev->product_key, dev->device_name, claim->client_id, p.seq_offset, p.ack_mode);
        return auth_reply(reply, random, p.seq_offset, token, p.ack_mode == 1 && req->confirmable);
}

static int aes_auth(SimServer *s, const SimRequest *req, SimReply *reply) {
        _cleanup_(auth_claim_done) AuthClaim claim = {};
        const SimDevice *dev = NULL;
        int r;

        r = sim_coap_common_auth_claim(s, req, true, reply, &claim, &dev);
        if (r <= 0)
                return r;
        return start_session(s, req, &claim, dev, reply);
}

int sim_coap_aes_decode_seq(const uint8_t key[static 16], const uint8_t *seq, size_t len, uint32_t *ret) {
        _cleanup_free_ uint8_t *text = NULL;
        size_t text_len;
        uint64_t v = 0;
        int r;

        if (!seq)
                return -ENOMSG;
        r = aes_decrypt(key, seq, len, &text, &text_len);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (text_len == 0 || text_len > SEQ_DIGITS_MAX)
                return -EINVAL;
        for (size_t i = 0; i < text_len; i++) {
                if (text[i] < '0' || text[i] > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t) (text[i] - '0');
        }
        if (v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

static const char *seq_error_reason(int r) {
        switch (r) {
        case -ENOMSG:
                return "no seq option 2089";
        case -EBADMSG:
                return "option 2089 does not decrypt";
        case -EINVAL:
                return "option 2089 is not a decimal number";
        case -ERANGE:
                return "seq below the session's seqOffset";
        case -EEXIST:
                return "seq already used in this session (replay)";
        case -ENOBUFS:
                return "too many gaps in the session's seq values";
        }
        return "bad seq";
}

/* The checks of E.6, E.10, E.14 in order: path, formats, token, seq, payload. The seq is only marked as
 * used once everything else passed, so a rejected request does not burn it. */
static int aes_publish(SimServer *s, const SimRequest *req, SimReply *reply) {
        _cleanup_free_ char *topic = NULL;
        _cleanup_free_ uint8_t *plain = NULL;
        SimSession *session = NULL;
        size_t plain_len;
        uint32_t seq;
        int r;

        r = sim_coap_common_publish_session(s, req, reply, &topic, &session);
        if (r <= 0)
                return r;

        r = sim_coap_aes_decode_seq(session->key, req->seq, req->seq_len, &seq);
        if (r >= 0)
                r = sim_session_check_seq(session, seq, s->config->strict_seq);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sim_coap_common_reject(reply, "publish", req, session->product_key, session->device_name,
                                              402, seq_error_reason(r));

        r = aes_decrypt(session->key, req->payload, req->payload_len, &plain, &plain_len);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sim_coap_common_reject(reply, "publish", req, session->product_key, session->device_name,
                                              400, "payload does not decrypt");

        r = sim_session_use_seq(session, seq);
        if (r == -ENOBUFS)
                return sim_coap_common_reject(reply, "publish", req, session->product_key, session->device_name,
                                              402, seq_error_reason(r));
        if (r < 0)
                return r;
        return sim_coap_common_accept(s, req, session,
                                      &(SimCoapMessage) {
                                              .transport = TRANSPORT,
                                              .topic = topic,
                                              .has_seq = true,
                                              .seq = seq,
                                              .payload = plain,
                                              .payload_len = plain_len,
                                      },
                                      reply);
}

const SimCoapMode sim_coap_aes_mode = {
        .transport = TRANSPORT,
        .auth = aes_auth,
        .publish = aes_publish,
};

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
#include "sim-ids.h"
#include "sim-server.h"
#include "topic.h"

#define TRANSPORT "coap-aes"
#define SEQ_DIGITS_MAX 10

/* Rejections are logged at info with the reason; never with the token, key or payload. */
static int reject(SimReply *reply, const char *what, const SimRequest *req, const char *pk, const char *dn,
                  unsigned code, const char *reason) {
        log_info("Rejected %s from %s%s%s%s%s%s: %u.%02u, %s.", what, req->peer, pk ? " (" : "", strempty(pk),
                 pk && dn ? "/" : "", pk ? strempty(dn) : "", pk ? ")" : "", code / 100, code % 100, reason);
        reply->code = code;
        return 0;
}

static bool publish_content_format_ok(int cf) {
        return cf < 0 || cf == COAP_MSG_CF_JSON || cf == COAP_MSG_CF_CBOR || cf == COAP_MSG_CF_OCTET || cf == 0;
}

static bool publish_accept_ok(int accept) {
        return accept < 0 || accept == COAP_MSG_CF_OCTET || accept == COAP_MSG_CF_JSON ||
                accept == COAP_MSG_CF_CBOR;
}

static int auth_reply(SimReply *reply, const char *random, uint32_t seq_offset, const char *token, bool separate) {
        _cleanup_free_ char *json = NULL;
        int r;

        if (asprintf(&json, "{\"random\":\"%s\",\"seqOffset\":%" PRIu32 ",\"token\":\"%s\"}", random, seq_offset,
                     token) < 0)
                return -ENOMEM;
        reply->code = 205;
        reply->separate = separate;
        r = sim_reply_add_uint_option(reply, COAP_OPTION_CONTENT_FORMAT, COAP_MSG_CF_JSON);
        if (r < 0)
                return r;
        r = sim_reply_set_payload(reply, json, strlen(json));
        explicit_bzero(json, strlen(json));
        return r;
}

static int start_session(SimServer *s, const SimRequest *req, const AuthClaim *claim, const SimDevice *dev,
                         SimReply *reply) {
        _cleanup_free_ char *random = NULL;
        _cleanup_erase_free_ char *token = NULL;
        uint8_t key[AES_KEY_SIZE];
        SimSessionParams p = {
                .product_key = dev->product_key,
                .device_name = dev->device_name,
                .key = key,
                .expires_usec = sim_now(CLOCK_MONOTONIC) + s->config->token_ttl_usec,
                .ack_mode = claim->has_ack_mode ? claim->ack_mode : 0,
        };
        int r;

        r = sim_random_hex(SIM_RANDOM_BYTES, &random);
        if (r >= 0)
                r = sim_random_seq_offset(&p.seq_offset);
        if (r >= 0)
                r = sim_random_token(random, &token);
        if (r >= 0)
                r = aes_derive_key(dev->secret, random, key);
        if (r >= 0) {
                p.token = token;
                r = sim_sessions_start(s->sessions, &p, NULL);
        }
        explicit_bzero(key, sizeof(key));
        if (r < 0)
                return log_error_errno(r, "Cannot start a session for %s/%s: %m", dev->product_key,
                                       dev->device_name);

        r = sim_record_auth(s->record, TRANSPORT, dev->product_key, dev->device_name, claim->client_id,
                            sim_now(CLOCK_REALTIME) / 1000);
        if (r < 0)
                return log_error_errno(r, "Cannot write to the record file: %m");

        log_debug("Auth from %s: %s/%s, clientId %s, seqOffset %" PRIu32 ", ackMode %d.", req->peer,
                  dev->product_key, dev->device_name, claim->client_id, p.seq_offset, p.ack_mode);
        return auth_reply(reply, random, p.seq_offset, token, p.ack_mode == 1 && req->confirmable);
}

static int aes_auth(SimServer *s, const SimRequest *req, SimReply *reply) {
        _cleanup_(auth_claim_done) AuthClaim claim = {};
        const SimDevice *dev;
        int r;

        if (req->content_format >= 0 && req->content_format != COAP_MSG_CF_JSON)
                return reject(reply, "auth", req, NULL, NULL, 415, "Content-Format is not 50 (JSON)");
        if (req->accept >= 0 && req->accept != COAP_MSG_CF_JSON && req->accept != COAP_MSG_CF_CBOR)
                return reject(reply, "auth", req, NULL, NULL, 406, "Accept is not 50 or 60");

        r = auth_claim_parse(req->payload, req->payload_len, &claim);
        if (r == -EBADMSG)
                return reject(reply, "auth", req, NULL, NULL, 400, "malformed auth JSON");
        if (r < 0)
                return r;
        if (!claim.has_seq)
                return reject(reply, "auth", req, claim.product_key, claim.device_name, 400,
                              "no seq, which AES mode requires");

        dev = sim_devices_find(s->devices, claim.product_key, claim.device_name);
        if (!dev)
                return reject(reply, "auth", req, claim.product_key, claim.device_name, 401, "unknown device");
        r = auth_claim_verify(&claim, dev->secret);
        if (r == -EACCES)
                return reject(reply, "auth", req, claim.product_key, claim.device_name, 401, "bad sign");
        if (r < 0)
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

static int accept_message(SimServer *s, const SimRequest *req, const SimSession *session, const char *topic,
                          uint32_t seq, const uint8_t *plain, size_t plain_len, SimReply *reply) {
        char id[24];
        uint64_t now_ms = sim_now(CLOCK_REALTIME) / 1000;
        int r;

        (void) snprintf(id, sizeof(id), "%" PRIu64, sim_message_id_next(&s->last_message_id, now_ms));
        r = sim_record_publish(s->record, &(SimRecordPublish) {
                .transport = TRANSPORT,
                .product_key = session->product_key,
                .device_name = session->device_name,
                .topic = topic,
                .payload = plain,
                .payload_len = plain_len,
                .has_seq = true,
                .seq = seq,
                .content_format = req->content_format,
                .message_id = id,
                .time_ms = now_ms,
        });
        if (r < 0)
                return log_error_errno(r, "Cannot write to the record file: %m");

        log_debug("Publish from %s: %s/%s, topic %s, seq %" PRIu32 ", %zu bytes, message id %s.", req->peer,
                  session->product_key, session->device_name, topic, seq, plain_len, id);
        reply->code = 205;
        return sim_reply_add_option(reply, COAP_MSG_OPTION_MESSAGE_ID, id, strlen(id));
}

/* The checks of E.6, E.10, E.14 in order: path, formats, token, seq, payload. The seq is only marked as
 * used once everything else passed, so a rejected request does not burn it. */
static int aes_publish(SimServer *s, const SimRequest *req, SimReply *reply) {
        _cleanup_free_ char *topic = NULL;
        _cleanup_free_ uint8_t *plain = NULL;
        SimSession *session;
        size_t plain_len;
        uint32_t seq;
        int r;

        r = req->bad_segment ? -ENOENT :
                topic_from_uri_path((const char *const *) req->segments, req->n_segments, &topic);
        if (r == -ENOENT)
                return reject(reply, "publish", req, NULL, NULL, 404, "path is not /topic/<topic>");
        if (r < 0)
                return r;
        if (!publish_content_format_ok(req->content_format))
                return reject(reply, "publish", req, NULL, NULL, 415, "unsupported Content-Format");
        if (!publish_accept_ok(req->accept))
                return reject(reply, "publish", req, NULL, NULL, 406, "unacceptable Accept");

        if (!req->iot_token)
                return reject(reply, "publish", req, NULL, NULL, 401, "no token (option 2088, 61 or ?token=)");
        session = sim_sessions_find(s->sessions, req->iot_token, req->iot_token_len);
        if (!session)
                return reject(reply, "publish", req, NULL, NULL, 401, "unknown token");
        if (sim_session_expired(session, sim_now(CLOCK_MONOTONIC)))
                return reject(reply, "publish", req, session->product_key, session->device_name, 401,
                              "token expired");

        r = sim_coap_aes_decode_seq(session->key, req->seq, req->seq_len, &seq);
        if (r >= 0)
                r = sim_session_check_seq(session, seq, s->config->strict_seq);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return reject(reply, "publish", req, session->product_key, session->device_name, 402,
                              seq_error_reason(r));

        r = aes_decrypt(session->key, req->payload, req->payload_len, &plain, &plain_len);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return reject(reply, "publish", req, session->product_key, session->device_name, 400,
                              "payload does not decrypt");

        r = sim_session_use_seq(session, seq);
        if (r == -ENOBUFS)
                return reject(reply, "publish", req, session->product_key, session->device_name, 402,
                              seq_error_reason(r));
        if (r < 0)
                return r;
        return accept_message(s, req, session, topic, seq, plain, plain_len, reply);
}

const SimCoapMode sim_coap_aes_mode = {
        .transport = TRANSPORT,
        .auth = aes_auth,
        .publish = aes_publish,
};

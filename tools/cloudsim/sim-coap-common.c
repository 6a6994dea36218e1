/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CoAP modes' common rules; see sim-coap-common.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "coap-msg.h"
#include "log.h"
#include "macro.h"
#include "sim-coap-common.h"
#include "sim-ids.h"
#include "sim-server.h"
#include "topic.h"

int sim_coap_common_reject(SimReply *reply, const char *what, const SimRequest *req, const char *pk,
                           const char *dn, unsigned code, const char *reason) {
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

int sim_coap_common_auth_claim(SimServer *s, const SimRequest *req, bool require_seq, SimReply *reply,
                               AuthClaim *claim, const SimDevice **ret_dev) {
        const SimDevice *dev;
        int r;

        if (req->content_format >= 0 && req->content_format != COAP_MSG_CF_JSON)
                return sim_coap_common_reject(reply, "auth", req, NULL, NULL, 415, "Content-Format is not 50 (JSON)");
        if (req->accept >= 0 && req->accept != COAP_MSG_CF_JSON && req->accept != COAP_MSG_CF_CBOR)
                return sim_coap_common_reject(reply, "auth", req, NULL, NULL, 406, "Accept is not 50 or 60");

        r = auth_claim_parse(req->payload, req->payload_len, claim);
        if (r == -EBADMSG)
                return sim_coap_common_reject(reply, "auth", req, NULL, NULL, 400, "malformed auth JSON");
        if (r < 0)
                return r;
        if (require_seq && !claim->has_seq)
                return sim_coap_common_reject(reply, "auth", req, claim->product_key, claim->device_name, 400,
                                              "no seq, which AES mode requires");

        dev = sim_devices_find(s->devices, claim->product_key, claim->device_name);
        if (!dev)
                return sim_coap_common_reject(reply, "auth", req, claim->product_key, claim->device_name, 401,
                                              "unknown device");
        r = auth_claim_verify(claim, dev->secret);
        if (r == -EACCES)
                return sim_coap_common_reject(reply, "auth", req, claim->product_key, claim->device_name, 401,
                                              "bad sign");
        if (r < 0)
                return r;
        *ret_dev = dev;
        return 1;
}

int sim_coap_common_start_session(SimServer *s, const char *transport, const AuthClaim *claim,
                                  const SimDevice *dev, SimSessionParams *p) {
        int r;

        p->product_key = dev->product_key;
        p->device_name = dev->device_name;
        p->expires_usec = sim_now(CLOCK_MONOTONIC) + s->config->token_ttl_usec;
        p->ack_mode = claim->has_ack_mode ? claim->ack_mode : 0;
        r = sim_sessions_start(s->sessions, p, NULL);
        if (r < 0)
                return log_error_errno(r, "Cannot start a session for %s/%s: %m", dev->product_key,
                                       dev->device_name);

        r = sim_record_auth(s->record, transport, dev->product_key, dev->device_name, claim->client_id,
                            sim_now(CLOCK_REALTIME) / 1000);
        if (r < 0)
                return log_error_errno(r, "Cannot write to the record file: %m");
        return 0;
}

int sim_coap_common_auth_reply(SimReply *reply, char *json, bool separate) {
        int r;

        reply->code = 205;
        reply->form = separate ? SIM_REPLY_SEPARATE : SIM_REPLY_PIGGYBACKED;
        r = sim_reply_add_uint_option(reply, COAP_OPTION_CONTENT_FORMAT, COAP_MSG_CF_JSON);
        if (r >= 0)
                r = sim_reply_set_payload(reply, json, strlen(json));
        explicit_bzero(json, strlen(json));
        return r;
}

int sim_coap_common_publish_session(SimServer *s, const SimRequest *req, SimReply *reply, char **ret_topic,
                                    SimSession **ret_session) {
        _cleanup_free_ char *topic = NULL;
        SimSession *session;
        int r;

        r = req->bad_segment ? -ENOENT :
                topic_from_uri_path((const char *const *) req->segments, req->n_segments, &topic);
        if (r == -ENOENT)
                return sim_coap_common_reject(reply, "publish", req, NULL, NULL, 404, "path is not /topic/<topic>");
        if (r < 0)
                return r;
        if (!publish_content_format_ok(req->content_format))
                return sim_coap_common_reject(reply, "publish", req, NULL, NULL, 415, "unsupported Content-Format");
        if (!publish_accept_ok(req->accept))
                return sim_coap_common_reject(reply, "publish", req, NULL, NULL, 406, "unacceptable Accept");

        if (!req->iot_token)
                return sim_coap_common_reject(reply, "publish", req, NULL, NULL, 401,
                                              "no token (option 2088, 61 or ?token=)");
        session = sim_sessions_find(s->sessions, req->iot_token, req->iot_token_len);
        if (!session)
                return sim_coap_common_reject(reply, "publish", req, NULL, NULL, 401, "unknown token");
        if (sim_session_expired(session, sim_now(CLOCK_MONOTONIC)))
                return sim_coap_common_reject(reply, "publish", req, session->product_key, session->device_name,
                                              401, "token expired");
        *ret_topic = TAKE_PTR(topic);
        *ret_session = session;
        return 1;
}

int sim_coap_common_accept(SimServer *s, const SimRequest *req, const SimSession *session,
                           const SimCoapMessage *m, SimReply *reply) {
        char id[24];
        uint64_t now_ms = sim_now(CLOCK_REALTIME) / 1000;
        int r;

        (void) snprintf(id, sizeof(id), "%" PRIu64, sim_message_id_next(&s->last_message_id, now_ms));
        r = sim_record_publish(s->record, &(SimRecordPublish) {
                .transport = m->transport,
                .product_key = session->product_key,
                .device_name = session->device_name,
                .topic = m->topic,
                .payload = m->payload,
                .payload_len = m->payload_len,
                .has_seq = m->has_seq,
                .seq = m->seq,
                .content_format = req->content_format,
                .message_id = id,
                .time_ms = now_ms,
        });
        if (r < 0)
                return log_error_errno(r, "Cannot write to the record file: %m");

        log_debug("Publish (%s) from %s: %s/%s, topic %s, %zu bytes, message id %s.", m->transport, req->peer,
                  session->product_key, session->device_name, m->topic, m->payload_len, id);
        reply->code = 205;
        return sim_reply_add_option(reply, COAP_MSG_OPTION_MESSAGE_ID, id, strlen(id));
}

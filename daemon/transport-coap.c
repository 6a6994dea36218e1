/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CoAP transports' common part; see transport-coap.h. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "manager.h"
#include "transport-coap.h"

static const char *coap_endpoint(TransportCoap *c) {
        return c->meta.device->identity->endpoint;
}

/* Frees the session; what was outstanding on it went out all the same, and is counted. Nothing is reported. */
static void coap_drop_session(TransportCoap *c) {
        size_t out = 0;

        for (size_t i = 0; i < TRANSPORT_WINDOW_MAX; i++)
                if (c->requests[i].active) {
                        c->requests[i].active = false;
                        out += c->requests[i].sent_size;
                }
        if (out > 0)
                transport_count_bytes(&c->meta, out, 0);
        c->session = coap_glue_session_free(c->session);
}

void transport_coap_reset(TransportCoap *c) {
        coap_drop_session(c);
        c->token = erase_and_free(c->token);
}

void transport_coap_disconnect(Transport *t) {
        coap_drop_session((TransportCoap *) t);
}

void transport_coap_window_changed(Transport *t) {
        TransportCoap *c = (TransportCoap *) t;

        if (c->session)
                coap_glue_session_set_nstart(c->session, t->window);
}

static bool coap_requests_active(const TransportCoap *c) {
        for (size_t i = 0; i < TRANSPORT_WINDOW_MAX; i++)
                if (c->requests[i].active)
                        return true;
        return false;
}

/* A DTLS session the server has not been heard on for longer than a carrier NAT keeps an idle UDP binding is
 * most likely dead at one end: our records would leave from a new port and be dropped by the server, and the
 * first request would spend a whole exchange timeout finding out. A new handshake before it costs one handshake. */
static void coap_check_idle(TransportCoap *c) {
        uint64_t limit = c->meta.device->manager->config.nat_timeout_usec, silent;

        if (!c->session || !c->ops->nat_sensitive || limit == 0 || coap_requests_active(c))
                return;
        silent = coap_glue_session_silent_usec(c->session);
        if (silent <= limit)
                return;
        log_device_debug(device_name(c->meta.device), "Nothing heard on the DTLS session for %.0f s (NatTimeoutSec=%.0f): "
                         "opening a new one.", (double) silent / 1e6, (double) limit / 1e6);
        coap_drop_session(c);
}

static void on_retransmit(void *userdata, size_t size) {
        CoapRequest *req = userdata;

        transport_count_retransmission(&req->coap->meta, size);
}

/* Opens the session if needed and picks a free request slot and the request's token. */
static int coap_request_start(TransportCoap *c, const OutboxEntry *e, uint8_t token[static COAP_MSG_TOKEN_SIZE],
                              CoapRequest **ret) {
        CoapRequest *req = NULL;
        int r;

        for (size_t i = 0; i < TRANSPORT_WINDOW_MAX && !req; i++)
                if (!c->requests[i].active)
                        req = &c->requests[i];
        if (!req)
                return -EBUSY;
        coap_check_idle(c);
        if (!c->session) {
                r = c->ops->open(c);
                if (r < 0)
                        return r;
                coap_glue_session_set_retransmit_handler(c->session, on_retransmit);
                coap_glue_session_set_nstart(c->session, c->meta.window);
                c->unreadable_logged = false;
        }
        coap_glue_session_new_token(c->session, token);
        *req = (CoapRequest) { .coap = c, .entry = e };
        *ret = req;
        return 0;
}

static unsigned coap_code(const coap_pdu_t *pdu) {
        coap_pdu_code_t code = coap_pdu_get_code(pdu);

        return (unsigned) (code >> 5) * 100 + (unsigned) (code & 0x1f);
}

static void coap_report(CoapRequest *req, TransportResult result, const char *cloud_id, const char *msg) {
        if (req->entry)
                transport_send_done(&req->coap->meta, req->entry, result, cloud_id, msg);
        else
                transport_auth_done(&req->coap->meta, result, msg);
}

/* A request that got no answer: the session is re-created on the next attempt (a DTLS server that restarted,
 * or a NAT that moved us to another port, drops our records without a word; only a new handshake gets through),
 * and every other request on it is made again too. A refused DTLS handshake is an authentication failure the
 * user must fix; the rest is transient. */
static void coap_no_reply(CoapRequest *req, int error) {
        TransportCoap *c = req->coap;
        TransportResult result = TRANSPORT_RETRY;
        CoapRequest failed = *req, others[TRANSPORT_WINDOW_MAX];
        size_t n = 0;
        char msg[192];

        switch (error) {
        case -EACCES:
                result = TRANSPORT_DENIED;
                (void) snprintf(msg, sizeof(msg), "the platform refused authentication (DTLS handshake with %s "
                                "failed); check ProductKey, DeviceName, the secret and PSKSignMethod",
                                coap_endpoint(c));
                break;
        case -EKEYREJECTED:
                result = TRANSPORT_DENIED;
                (void) snprintf(msg, sizeof(msg), "certificate verification failed for %s; check CAFile and the "
                                "host name in Endpoint", coap_endpoint(c));
                break;
        case -EPROTO:
                (void) snprintf(msg, sizeof(msg), "DTLS handshake with %s failed", coap_endpoint(c));
                break;
        default:
                (void) snprintf(msg, sizeof(msg), "no answer from %s (%s)", coap_endpoint(c), strerror(-error));
                break;
        }
        for (size_t i = 0; i < TRANSPORT_WINDOW_MAX; i++)
                if (c->requests[i].active && &c->requests[i] != req)
                        others[n++] = c->requests[i];
        coap_drop_session(c);
        /* The first failure is the one the backoff that may follow reports: the others come back first. */
        for (size_t i = 0; i < n; i++)
                coap_report(&others[i], result, NULL, msg);
        coap_report(&failed, result, NULL, msg);
}

/* The reply's code as 205 for 2.05, after counting the bytes and freeing the slot; 0 when there was no reply
 * (reported here). */
static unsigned coap_reply_code(CoapRequest *req, const coap_pdu_t *reply, int error) {
        if (error < 0) {
                coap_no_reply(req, error);
                return 0;
        }
        req->active = false;
        transport_count_bytes(&req->coap->meta, req->sent_size, coap_glue_pdu_size(reply));
        return coap_code(reply);
}

static void on_auth_reply(void *userdata, const coap_pdu_t *reply, int error) {
        CoapRequest *req = userdata;
        TransportCoap *c = req->coap;
        unsigned code = coap_reply_code(req, reply, error);
        const uint8_t *data = NULL;
        size_t len = 0;
        char msg[160];

        if (code == 0)
                return;
        if (code / 100 == 2) {
                (void) coap_get_data(reply, &len, &data);
                if (c->ops->accept_auth(c, data, len) < 0)
                        transport_auth_done(&c->meta, TRANSPORT_RETRY, "the platform's authentication reply is malformed");
                else
                        transport_auth_done(&c->meta, TRANSPORT_OK, NULL);
                return;
        }
        if (code / 100 == 5) {
                (void) snprintf(msg, sizeof(msg), "authentication server error (%u.%02u)", code / 100, code % 100);
                transport_auth_done(&c->meta, TRANSPORT_RETRY, msg);
                return;
        }
        (void) snprintf(msg, sizeof(msg),
                        "the platform refused authentication (%u.%02u); check ProductKey, DeviceName and the secret",
                        code / 100, code % 100);
        transport_auth_done(&c->meta, TRANSPORT_DENIED, msg);
}

/* Sends pdu (ownership taken) as req; its size is counted when the reply or the failure comes. */
static int coap_request_send(CoapRequest *req, coap_pdu_t *pdu, coap_glue_reply_t cb) {
        int r = coap_glue_send(req->coap->session, pdu, cb, req);

        if (r < 0)
                return r;
        req->sent_size = (size_t) r;
        req->active = true;
        return 0;
}

int transport_coap_authenticate(TransportCoap *c, const AuthParams *p) {
        _cleanup_free_ char *json = NULL;
        uint8_t token[COAP_MSG_TOKEN_SIZE];
        CoapRequest *req;
        coap_pdu_t *pdu = NULL;
        int r;

        r = auth_request_build(p, c->meta.device->identity->secret, &json);
        if (r < 0)
                return r;
        r = coap_request_start(c, NULL, token, &req);
        if (r < 0)
                return r;
        r = coap_msg_auth(coap_glue_session_new_mid(c->session), token, json, &pdu);
        explicit_bzero(json, strlen(json));
        if (r < 0)
                return r;
        return coap_request_send(req, pdu, on_auth_reply);
}

int transport_coap_cloud_id(const coap_pdu_t *reply, char ret[static TRANSPORT_COAP_CLOUD_ID_MAX + 1]) {
        coap_opt_iterator_t it;
        coap_opt_t *opt;
        size_t len;
        const uint8_t *v;

        ret[0] = 0;
        opt = coap_check_option(reply, COAP_MSG_OPTION_MESSAGE_ID, &it);
        if (!opt)
                return 0;
        len = coap_opt_length(opt);
        v = coap_opt_value(opt);
        if (len == 0 || len > TRANSPORT_COAP_CLOUD_ID_MAX)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++)
                if (v[i] < 0x21 || v[i] > 0x7e)
                        return -EBADMSG;
        memcpy(ret, v, len);
        ret[len] = 0;
        return 1;
}

/* A 2.xx is the cloud's acknowledgement, so the message counts as delivered (sending it again would duplicate it)
 * even when the rest of the reply cannot be read: an option 2090 that is no message id, or a payload that does
 * not decrypt with the session key. That is counted, and logged once per session so a confused peer cannot
 * flood the journal. */
static void coap_check_success_reply(CoapRequest *req, const coap_pdu_t *reply, bool bad_cloud_id) {
        TransportCoap *c = req->coap;
        Device *d = c->meta.device;
        const uint8_t *data = NULL;
        size_t len = 0;
        bool bad_payload;

        bad_payload = c->ops->reply_payload_ok && coap_get_data(reply, &len, &data) && len > 0 &&
                      !c->ops->reply_payload_ok(c, data, len);
        if (!bad_cloud_id && !bad_payload)
                return;
        d->counters.unreadable_replies++;
        device_property_changed(d, DEVICE_PROP_UNREADABLE_REPLIES);
        if (c->unreadable_logged)
                return;
        c->unreadable_logged = true;
        log_device_warning(device_name(d), "The cloud acknowledged message %" PRIu64 " (2.xx), but its reply %s; "
                           "counted as delivered and in UnreadableReplies (logged once per session).",
                           req->entry->id,
                           bad_payload ? "payload does not decrypt with the session key" :
                                         "option 2090 is not a message id");
}

static void on_publish_reply(void *userdata, const coap_pdu_t *reply, int error) {
        CoapRequest *req = userdata;
        unsigned code = coap_reply_code(req, reply, error);
        char cloud_id[TRANSPORT_COAP_CLOUD_ID_MAX + 1], msg[128];

        if (code == 0)
                return;
        /* Any 2.xx is success (E.7); a response payload is opaque to us and not needed. */
        if (code / 100 == 2) {
                coap_check_success_reply(req, reply, transport_coap_cloud_id(reply, cloud_id) < 0);
                coap_report(req, TRANSPORT_OK, cloud_id, NULL);
                return;
        }
        (void) snprintf(msg, sizeof(msg), "the cloud answered %u.%02u", code / 100, code % 100);
        if (code == 401 || code == 402)
                coap_report(req, TRANSPORT_REAUTH, NULL, msg);
        else if (code / 100 == 5)
                coap_report(req, TRANSPORT_RETRY, NULL, msg);
        else
                coap_report(req, TRANSPORT_REJECTED, NULL, msg);
}

static unsigned content_format(ContentType t) {
        switch (t) {
        case CONTENT_TYPE_JSON:
                return COAP_MSG_CF_JSON;
        case CONTENT_TYPE_CBOR:
                return COAP_MSG_CF_CBOR;
        case CONTENT_TYPE_OCTET_STREAM:
                return COAP_MSG_CF_OCTET;
        case _CONTENT_TYPE_MAX:
        case _CONTENT_TYPE_INVALID:
                break;
        }
        return COAP_MSG_CF_JSON;
}

int transport_coap_publish(TransportCoap *c, const OutboxEntry *e, const uint8_t *seq, size_t seq_len,
                           const uint8_t *payload, size_t payload_len) {
        uint8_t token[COAP_MSG_TOKEN_SIZE];
        CoapRequest *req;
        coap_pdu_t *pdu = NULL;
        int r;

        r = coap_request_start(c, e, token, &req);
        if (r < 0)
                return r;
        r = coap_msg_publish(coap_glue_session_new_mid(c->session), token,
                             &(CoapPublish) {
                                     .topic = e->topic,
                                     .content_format = content_format(e->content_type),
                                     .iot_token = c->token,
                                     .seq = seq,
                                     .seq_len = seq_len,
                                     .payload = payload,
                                     .payload_len = payload_len,
                                     .confirmable = true,
                             },
                             &pdu);
        if (r < 0)
                return r;
        return coap_request_send(req, pdu, on_publish_reply);
}

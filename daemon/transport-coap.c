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

void transport_coap_reset(TransportCoap *c) {
        c->session = coap_glue_session_free(c->session);
        c->token = erase_and_free(c->token);
}

void transport_coap_disconnect(Transport *t) {
        TransportCoap *c = (TransportCoap *) t;

        /* An abandoned request went out all the same. */
        if (t->busy && c->session)
                transport_count_bytes(t, c->sent_size, 0);
        c->session = coap_glue_session_free(c->session);
}

/* Opens the session if needed and picks the next request's token. */
static int coap_request_start(TransportCoap *c, uint8_t token[static COAP_MSG_TOKEN_SIZE]) {
        int r = 0;

        if (!c->session) {
                r = c->ops->open(c);
                c->unreadable_logged = false;
        }

        if (r >= 0)
                coap_glue_session_new_token(c->session, token);
        return r;
}

static unsigned coap_code(const coap_pdu_t *pdu) {
        coap_pdu_code_t code = coap_pdu_get_code(pdu);

        return (unsigned) (code >> 5) * 100 + (unsigned) (code & 0x1f);
}

/* A request that got no answer: the session is re-created on the next attempt (a DTLS server that restarted,
 * or a NAT that moved us to another port, drops our records without a word; only a new handshake gets through).
 * A refused DTLS handshake is an authentication failure the user must fix; the rest is transient. */
static void coap_no_reply(TransportCoap *c, int error, bool auth) {
        TransportResult result = TRANSPORT_RETRY;
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
        transport_count_bytes(&c->meta, c->sent_size, 0);
        c->session = coap_glue_session_free(c->session);
        if (auth)
                transport_auth_done(&c->meta, result, msg);
        else
                transport_send_done(&c->meta, result, NULL, msg);
}

/* The reply's code as 205 for 2.05, after counting the bytes; 0 when there was no reply (reported here). */
static unsigned coap_reply_code(TransportCoap *c, const coap_pdu_t *reply, int error, bool auth) {
        if (error < 0) {
                coap_no_reply(c, error, auth);
                return 0;
        }
        transport_count_bytes(&c->meta, c->sent_size, coap_glue_pdu_size(reply));
        return coap_code(reply);
}

static void on_auth_reply(void *userdata, const coap_pdu_t *reply, int error) {
        TransportCoap *c = userdata;
        unsigned code = coap_reply_code(c, reply, error, true);
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

/* Sends pdu (ownership taken); its size is counted when the reply or the failure comes. */
static int coap_request_send(TransportCoap *c, coap_pdu_t *pdu, coap_glue_reply_t cb) {
        int r = coap_glue_send(c->session, pdu, cb, c);

        if (r < 0)
                return r;
        c->sent_size = (size_t) r;
        return 0;
}

int transport_coap_authenticate(TransportCoap *c, const AuthParams *p) {
        _cleanup_free_ char *json = NULL;
        uint8_t token[COAP_MSG_TOKEN_SIZE];
        coap_pdu_t *pdu = NULL;
        int r;

        r = auth_request_build(p, c->meta.device->identity->secret, &json);
        if (r < 0)
                return r;
        r = coap_request_start(c, token);
        if (r < 0)
                return r;
        r = coap_msg_auth(coap_glue_session_new_mid(c->session), token, json, &pdu);
        explicit_bzero(json, strlen(json));
        if (r < 0)
                return r;
        return coap_request_send(c, pdu, on_auth_reply);
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
static void coap_check_success_reply(TransportCoap *c, const coap_pdu_t *reply, bool bad_cloud_id) {
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
                           transport_inflight_id(&c->meta),
                           bad_payload ? "payload does not decrypt with the session key" :
                                         "option 2090 is not a message id");
}

static void on_publish_reply(void *userdata, const coap_pdu_t *reply, int error) {
        TransportCoap *c = userdata;
        unsigned code = coap_reply_code(c, reply, error, false);
        char cloud_id[TRANSPORT_COAP_CLOUD_ID_MAX + 1], msg[128];

        if (code == 0)
                return;
        /* Any 2.xx is success (E.7); a response payload is opaque to us and not needed. */
        if (code / 100 == 2) {
                coap_check_success_reply(c, reply, transport_coap_cloud_id(reply, cloud_id) < 0);
                transport_send_done(&c->meta, TRANSPORT_OK, cloud_id, NULL);
                return;
        }
        (void) snprintf(msg, sizeof(msg), "the cloud answered %u.%02u", code / 100, code % 100);
        if (code == 401 || code == 402)
                transport_send_done(&c->meta, TRANSPORT_REAUTH, NULL, msg);
        else if (code / 100 == 5)
                transport_send_done(&c->meta, TRANSPORT_RETRY, NULL, msg);
        else
                transport_send_done(&c->meta, TRANSPORT_REJECTED, NULL, msg);
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
        coap_pdu_t *pdu = NULL;
        int r;

        r = coap_request_start(c, token);
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
        return coap_request_send(c, pdu, on_publish_reply);
}

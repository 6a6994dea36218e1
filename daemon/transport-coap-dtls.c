/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* coap-dtls: a DTLS session keyed with the PSK of B.2 (or verifying the server against CAFile=), /auth without
 * seq for the token, publishes with token option 2088 and plaintext payloads. Only what differs from coap-aes. */
#include "psk.h"
#include "manager.h"
#include "transport-coap-dtls.h"
#include "transport-coap.h"

#define COAP_DTLS_PORT 5684

typedef struct CoapDtls {
        TransportCoap coap;
} CoapDtls;

static int coap_dtls_open(TransportCoap *c) {
        Identity *id = c->meta.device->identity;
        _cleanup_free_ char *psk_id = NULL;
        _cleanup_erase_free_ char *key = NULL;
        int r;

        if (id->ca_file)
                return coap_glue_session_new_dtls(c->meta.device->manager->coap, id->endpoint, COAP_DTLS_PORT,
                                                  &(CoapGlueDtls) { .ca_file = id->ca_file }, &c->session);

        r = psk_identity(id->psk_sign_method, id->product_key, id->device_name, &psk_id);
        if (r >= 0)
                r = psk_key(id->psk_sign_method, id->secret, id->product_key, id->device_name, PSK_TIMESTAMP, &key);
        if (r < 0)
                return r;
        return coap_glue_session_new_dtls(c->meta.device->manager->coap, id->endpoint, COAP_DTLS_PORT,
                                          &(CoapGlueDtls) { .psk_identity = psk_id, .psk_key = key }, &c->session);
}

/* B.4: the reply is {"token":"..."} only. */
static int coap_dtls_accept_auth(TransportCoap *c, const uint8_t *data, size_t len) {
        AuthResponse resp = {};
        int r;

        r = auth_response_parse(data, len, false, &resp);
        if (r < 0)
                return r;
        erase_and_free(c->token);
        c->token = TAKE_PTR(resp.token);
        auth_response_done(&resp);
        transport_token_save(&c->meta, &(TokenRecord) { .token = c->token });
        return 0;
}

static const TransportCoapOps coap_dtls_ops = {
        .open = coap_dtls_open,
        .accept_auth = coap_dtls_accept_auth,
        .nat_sensitive = true,
};

/* A token cached by an earlier run is used until the cloud rejects it (4.01/4.02 lead to a fresh /auth). */
static int coap_dtls_init(Transport *t) {
        CoapDtls *c = (CoapDtls *) t;
        TokenRecord rec = {};

        c->coap.ops = &coap_dtls_ops;
        if (transport_token_load(t, &rec) >= 0) {
                c->coap.token = TAKE_PTR(rec.token);
                transport_token_reused(t);
        }
        token_record_done(&rec);
        return 0;
}

static void coap_dtls_reset(Transport *t) {
        transport_coap_reset(&((CoapDtls *) t)->coap);
}

static int coap_dtls_authenticate(Transport *t) {
        Identity *id = t->device->identity;

        return transport_coap_authenticate(&((CoapDtls *) t)->coap,
                                           &(AuthParams) {
                                                   .product_key = id->product_key,
                                                   .device_name = id->device_name,
                                                   .client_id = id->client_id,
                                                   .sign_method = id->sign_method,
                                                   .has_seq = false,
                                           });
}

static int coap_dtls_send(Transport *t, const OutboxEntry *e) {
        return transport_coap_publish(&((CoapDtls *) t)->coap, e, NULL, 0, e->payload, e->payload_len);
}

size_t transport_coap_dtls_max_payload(const char *topic) {
        size_t room = COAP_MSG_PDU_MAX - COAP_DTLS_RECORD_OVERHEAD;
        size_t fixed = coap_msg_publish_size(topic, AUTH_TOKEN_MAX, 0, 0);

        /* One more byte for the 0xFF payload marker. */
        return fixed + 1 >= room ? 0 : room - fixed - 1;
}

static size_t coap_dtls_max_payload(const Identity *id, const char *topic) {
        return transport_coap_dtls_max_payload(topic);
}

const TransportVTable transport_coap_dtls_vtable = {
        .object_size = sizeof(CoapDtls),
        .init = coap_dtls_init,
        .done = coap_dtls_reset,
        .authenticate = coap_dtls_authenticate,
        .send = coap_dtls_send,
        .reset = coap_dtls_reset,
        .disconnect = transport_coap_disconnect,
        .window_changed = transport_coap_window_changed,
        .max_payload = coap_dtls_max_payload,
};

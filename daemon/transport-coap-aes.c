/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* coap-aes: /auth with a signed seq, AES key from the returned random, publishes with token option 2088, the
 * encrypted seq in 2089 and an encrypted payload. Draining, retries and backoff live in transport.c. */
#include <gnutls/crypto.h>
#include <stdio.h>

#include "aes.h"
#include "auth.h"
#include "coap-glue.h"
#include "coap-msg.h"
#include "log.h"
#include "manager.h"
#include "transport-coap-aes.h"

#define COAP_AES_PORT 5682
#define CLOUD_ID_MAX 64
#define SEQ_RESERVE 1000 /* seqs handed out between two writes of the cached high-water mark */

typedef struct CoapAes {
        Transport meta;
        CoapGlueSession *session;
        char *token;                  /* the platform's token; secret */
        uint8_t key[AES_KEY_SIZE];    /* derived from secret and random; secret */
        char *random;                 /* from /auth, kept to cache the token; secret */
        uint32_t seq;
        uint32_t seq_saved;           /* the cache promises every seq used is below this */
        size_t sent_size;             /* bytes of the request in flight, counted when it completes */
} CoapAes;

static Device *coap_aes_device(CoapAes *c) {
        return c->meta.device;
}

static void coap_aes_reset(Transport *t) {
        CoapAes *c = (CoapAes *) t;

        c->session = coap_glue_session_free(c->session);
        c->token = erase_and_free(c->token);
        c->random = erase_and_free(c->random);
        explicit_bzero(c->key, sizeof(c->key));
}

/* Caches token, random and a seq high-water mark: after a restart the next seq starts above every seq used. */
static void coap_aes_save(CoapAes *c) {
        c->seq_saved = c->seq > UINT32_MAX - SEQ_RESERVE ? UINT32_MAX : c->seq + SEQ_RESERVE;
        transport_token_save(&c->meta, &(TokenRecord) {
                                               .token = c->token,
                                               .random = c->random,
                                               .seq = c->seq_saved,
                                       });
}

static int coap_aes_init(Transport *t) {
        CoapAes *c = (CoapAes *) t;
        TokenRecord rec = {};

        if (transport_token_load(t, &rec) < 0)
                return 0;
        if (rec.random && rec.seq < INT32_MAX &&
            aes_derive_key(coap_aes_device(c)->identity->secret, rec.random, c->key) >= 0) {
                c->token = TAKE_PTR(rec.token);
                c->random = TAKE_PTR(rec.random);
                c->seq = c->seq_saved = (uint32_t) rec.seq;
                t->authenticated = t->authenticated_once = true;
                log_device_info(device_name(coap_aes_device(c)), "Reusing the cached token.");
        }
        token_record_done(&rec);
        return 0;
}

static void coap_aes_done(Transport *t) {
        coap_aes_reset(t);
}

static int coap_aes_session(CoapAes *c) {
        Device *d = coap_aes_device(c);

        if (c->session)
                return 0;
        return coap_glue_session_new(d->manager->coap, d->identity->endpoint, COAP_AES_PORT, &c->session);
}

static unsigned coap_code(const coap_pdu_t *pdu) {
        coap_pdu_code_t code = coap_pdu_get_code(pdu);

        return (unsigned) (code >> 5) * 100 + (unsigned) (code & 0x1f);
}

/* Reports a request that got no answer; the session is re-created on the next attempt. */
static void coap_aes_no_reply(CoapAes *c, int error, bool auth) {
        char msg[128];

        (void) snprintf(msg, sizeof(msg), "no answer from %s (%s)", coap_aes_device(c)->identity->endpoint,
                        strerror(-error));
        transport_count_bytes(&c->meta, c->sent_size, 0);
        c->session = coap_glue_session_free(c->session);
        if (auth)
                transport_auth_done(&c->meta, TRANSPORT_RETRY, msg);
        else
                transport_send_done(&c->meta, TRANSPORT_RETRY, NULL, msg);
}

static int coap_aes_accept_auth(CoapAes *c, const coap_pdu_t *reply) {
        Identity *id = coap_aes_device(c)->identity;
        AuthResponse resp = {};
        const uint8_t *data = NULL;
        size_t len = 0;
        int r;

        (void) coap_get_data(reply, &len, &data);
        r = auth_response_parse(data, len, true, &resp);
        if (r < 0)
                return r;
        if (resp.seq_offset < 0 || resp.seq_offset >= INT32_MAX)
                r = -EBADMSG;
        else
                r = aes_derive_key(id->secret, resp.random, c->key);
        if (r >= 0) {
                erase_and_free(c->token);
                erase_and_free(c->random);
                c->token = TAKE_PTR(resp.token);
                c->random = TAKE_PTR(resp.random);
                /* The first seq must be greater than seqOffset (PROTOCOL.md E.4); send() pre-increments. */
                c->seq = (uint32_t) resp.seq_offset;
                coap_aes_save(c);
        }
        auth_response_done(&resp);
        return r;
}

static void on_auth_reply(void *userdata, const coap_pdu_t *reply, int error) {
        CoapAes *c = userdata;
        char msg[160];
        unsigned code;

        if (error < 0) {
                coap_aes_no_reply(c, error, true);
                return;
        }
        transport_count_bytes(&c->meta, c->sent_size, coap_glue_pdu_size(reply));

        code = coap_code(reply);
        if (code / 100 == 2) {
                if (coap_aes_accept_auth(c, reply) < 0)
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

static int coap_aes_authenticate(Transport *t) {
        CoapAes *c = (CoapAes *) t;
        Identity *id = coap_aes_device(c)->identity;
        _cleanup_free_ char *json = NULL;
        uint8_t token[COAP_MSG_TOKEN_SIZE];
        coap_pdu_t *pdu = NULL;
        uint32_t seq;
        int r;

        r = coap_aes_session(c);
        if (r < 0)
                return r;
        /* The SDK signs a random 0..9999 on the first auth and the current counter afterwards (A.9). */
        if (c->seq == 0 && gnutls_rnd(GNUTLS_RND_NONCE, &seq, sizeof(seq)) == 0)
                c->seq = seq % 10000;
        r = auth_request_build(&(AuthParams) {
                                       .product_key = id->product_key,
                                       .device_name = id->device_name,
                                       .client_id = id->client_id,
                                       .sign_method = id->sign_method,
                                       .has_seq = true,
                                       .seq = c->seq,
                               },
                               id->secret, &json);
        if (r < 0)
                return r;
        coap_glue_session_new_token(c->session, token);
        r = coap_msg_auth(coap_glue_session_new_mid(c->session), token, json, &pdu);
        if (r < 0)
                return r;
        r = coap_glue_send(c->session, pdu, on_auth_reply, c);
        if (r < 0)
                return r;
        c->sent_size = (size_t) r;
        return 0;
}

/* The cloud's message id from option 2090, if it is printable text of sane length. */
static void coap_aes_cloud_id(const coap_pdu_t *reply, char ret[static CLOUD_ID_MAX + 1]) {
        coap_opt_iterator_t it;
        coap_opt_t *opt;
        size_t len;
        const uint8_t *v;

        ret[0] = 0;
        opt = coap_check_option(reply, COAP_MSG_OPTION_MESSAGE_ID, &it);
        if (!opt)
                return;
        len = coap_opt_length(opt);
        v = coap_opt_value(opt);
        if (len == 0 || len > CLOUD_ID_MAX)
                return;
        for (size_t i = 0; i < len; i++)
                if (v[i] < 0x21 || v[i] > 0x7e)
                        return;
        memcpy(ret, v, len);
        ret[len] = 0;
}

static void on_publish_reply(void *userdata, const coap_pdu_t *reply, int error) {
        CoapAes *c = userdata;
        char cloud_id[CLOUD_ID_MAX + 1], msg[128];
        unsigned code;

        if (error < 0) {
                coap_aes_no_reply(c, error, false);
                return;
        }
        transport_count_bytes(&c->meta, c->sent_size, coap_glue_pdu_size(reply));

        /* Any 2.xx is success (E.7); the encrypted response payload is opaque to us and not needed. */
        code = coap_code(reply);
        if (code / 100 == 2) {
                coap_aes_cloud_id(reply, cloud_id);
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

static int coap_aes_send(Transport *t, const OutboxEntry *e) {
        CoapAes *c = (CoapAes *) t;
        _cleanup_free_ uint8_t *seq_enc = NULL, *payload_enc = NULL;
        size_t seq_len, payload_len;
        uint8_t token[COAP_MSG_TOKEN_SIZE];
        coap_pdu_t *pdu = NULL;
        char seq_text[16];
        int r;

        r = coap_aes_session(c);
        if (r < 0)
                return r;
        if (c->seq >= INT32_MAX) {
                /* The SDK's seq is a signed int: start a fresh auth session rather than wrap. */
                transport_send_done(t, TRANSPORT_REAUTH, NULL, "seq exhausted");
                return 0;
        }
        (void) snprintf(seq_text, sizeof(seq_text), "%" PRIu32, ++c->seq);
        if (c->seq >= c->seq_saved)
                coap_aes_save(c);
        r = aes_encrypt(c->key, seq_text, strlen(seq_text), &seq_enc, &seq_len);
        if (r < 0)
                return r;
        r = aes_encrypt(c->key, e->payload, e->payload_len, &payload_enc, &payload_len);
        if (r < 0)
                return r;

        coap_glue_session_new_token(c->session, token);
        r = coap_msg_publish(coap_glue_session_new_mid(c->session), token,
                             &(CoapPublish) {
                                     .topic = e->topic,
                                     .content_format = content_format(e->content_type),
                                     .iot_token = c->token,
                                     .seq = seq_enc,
                                     .seq_len = seq_len,
                                     .payload = payload_enc,
                                     .payload_len = payload_len,
                                     .confirmable = true,
                             },
                             &pdu);
        if (r < 0)
                return r;
        r = coap_glue_send(c->session, pdu, on_publish_reply, c);
        if (r < 0)
                return r;
        c->sent_size = (size_t) r;
        return 0;
}

/* The largest plaintext whose encrypted form still fits one 1280-byte datagram with the longest token the
 * platform may hand out (A.13), so a message accepted now can always be sent later. */
static size_t coap_aes_max_payload(const Identity *id, const char *topic) {
        size_t fixed = coap_msg_publish_size(topic, AUTH_TOKEN_MAX, AES_BLOCK_SIZE, 0);

        if (fixed + 1 + AES_BLOCK_SIZE > COAP_MSG_PDU_MAX)
                return 0;
        /* Ciphertext is (floor(len/16)+1)*16 bytes, plus the 0xFF payload marker. */
        return ((COAP_MSG_PDU_MAX - fixed - 1) / AES_BLOCK_SIZE) * AES_BLOCK_SIZE - 1;
}

const TransportVTable transport_coap_aes_vtable = {
        .object_size = sizeof(CoapAes),
        .init = coap_aes_init,
        .done = coap_aes_done,
        .authenticate = coap_aes_authenticate,
        .send = coap_aes_send,
        .reset = coap_aes_reset,
        .max_payload = coap_aes_max_payload,
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* coap-aes: /auth with a signed seq, AES key from the returned random, publishes with token option 2088, the
 * encrypted seq in 2089 and an encrypted payload. Sessions, replies and results live in transport-coap.c. */
#include <gnutls/crypto.h>
#include <stdio.h>

#include "aes.h"
#include "manager.h"
#include "transport-coap-aes.h"
#include "transport-coap.h"

#define COAP_AES_PORT 5682
#define SEQ_RESERVE 1000 /* seqs handed out between two writes of the cached high-water mark */

typedef struct CoapAes {
        TransportCoap coap;
        uint8_t key[AES_KEY_SIZE];    /* derived from secret and random; secret */
        char *random;                 /* from /auth, kept to cache the token; secret */
        uint32_t seq;
        uint32_t seq_saved;           /* the cache promises every seq used is below this */
} CoapAes;

static Device *coap_aes_device(CoapAes *c) {
        return c->coap.meta.device;
}

static void coap_aes_reset(Transport *t) {
        CoapAes *c = (CoapAes *) t;

        transport_coap_reset(&c->coap);
        c->random = erase_and_free(c->random);
        explicit_bzero(c->key, sizeof(c->key));
}

/* Caches token, random and a seq high-water mark: after a restart the next seq starts above every seq used. */
static void coap_aes_save(CoapAes *c) {
        c->seq_saved = c->seq > UINT32_MAX - SEQ_RESERVE ? UINT32_MAX : c->seq + SEQ_RESERVE;
        transport_token_save(&c->coap.meta, &(TokenRecord) {
                                                    .token = c->coap.token,
                                                    .random = c->random,
                                                    .seq = c->seq_saved,
                                            });
}

static int coap_aes_open(TransportCoap *tc) {
        Device *d = tc->meta.device;

        return coap_glue_session_new(d->manager->coap, d->identity->endpoint, COAP_AES_PORT, &tc->session);
}

static int coap_aes_accept_auth(TransportCoap *tc, const uint8_t *data, size_t len) {
        CoapAes *c = (CoapAes *) tc;
        Identity *id = coap_aes_device(c)->identity;
        AuthResponse resp = {};
        int r;

        r = auth_response_parse(data, len, true, &resp);
        if (r < 0)
                return r;
        if (resp.seq_offset < 0 || resp.seq_offset >= INT32_MAX)
                r = -EBADMSG;
        else
                r = aes_derive_key(id->secret, resp.random, c->key);
        if (r >= 0) {
                erase_and_free(c->coap.token);
                erase_and_free(c->random);
                c->coap.token = TAKE_PTR(resp.token);
                c->random = TAKE_PTR(resp.random);
                /* The first seq must be greater than seqOffset (PROTOCOL.md E.4); send() pre-increments. */
                c->seq = (uint32_t) resp.seq_offset;
                coap_aes_save(c);
        }
        auth_response_done(&resp);
        return r;
}

/* Publish replies are encrypted with the session key (PROTOCOL.md A.10); their content is not needed. */
static bool coap_aes_reply_payload_ok(TransportCoap *tc, const uint8_t *data, size_t len) {
        CoapAes *c = (CoapAes *) tc;
        uint8_t *plain = NULL;
        size_t plain_len = 0;

        if (aes_decrypt(c->key, data, len, &plain, &plain_len) < 0)
                return false;
        explicit_bzero(plain, plain_len);
        free(plain);
        return true;
}

static const TransportCoapOps coap_aes_ops = {
        .open = coap_aes_open,
        .accept_auth = coap_aes_accept_auth,
        .reply_payload_ok = coap_aes_reply_payload_ok,
};

static int coap_aes_init(Transport *t) {
        CoapAes *c = (CoapAes *) t;
        TokenRecord rec = {};

        c->coap.ops = &coap_aes_ops;
        if (transport_token_load(t, &rec) < 0)
                return 0;
        if (rec.random && rec.seq < INT32_MAX &&
            aes_derive_key(coap_aes_device(c)->identity->secret, rec.random, c->key) >= 0) {
                c->coap.token = TAKE_PTR(rec.token);
                c->random = TAKE_PTR(rec.random);
                c->seq = c->seq_saved = (uint32_t) rec.seq;
                transport_token_reused(t);
        }
        token_record_done(&rec);
        return 0;
}

static int coap_aes_authenticate(Transport *t) {
        CoapAes *c = (CoapAes *) t;
        Identity *id = coap_aes_device(c)->identity;
        uint32_t seq;

        /* The SDK signs a random 0..9999 on the first auth and the current counter afterwards (A.9). */
        if (c->seq == 0 && gnutls_rnd(GNUTLS_RND_NONCE, &seq, sizeof(seq)) == 0)
                c->seq = seq % 10000;
        return transport_coap_authenticate(&c->coap,
                                           &(AuthParams) {
                                                   .product_key = id->product_key,
                                                   .device_name = id->device_name,
                                                   .client_id = id->client_id,
                                                   .sign_method = id->sign_method,
                                                   .has_seq = true,
                                                   .seq = c->seq,
                                           });
}

static int coap_aes_send(Transport *t, const OutboxEntry *e) {
        CoapAes *c = (CoapAes *) t;
        _cleanup_free_ uint8_t *seq_enc = NULL, *payload_enc = NULL;
        size_t seq_len, payload_len;
        char seq_text[16];
        int r;

        if (c->seq >= INT32_MAX) {
                /* The SDK's seq is a signed int: start a fresh auth session rather than wrap. */
                transport_send_done(t, e, TRANSPORT_REAUTH, NULL, "seq exhausted");
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
        return transport_coap_publish(&c->coap, e, seq_enc, seq_len, payload_enc, payload_len);
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
        .done = coap_aes_reset,
        .authenticate = coap_aes_authenticate,
        .send = coap_aes_send,
        .reset = coap_aes_reset,
        .disconnect = transport_coap_disconnect,
        .window_changed = transport_coap_window_changed,
        .max_payload = coap_aes_max_payload,
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the two CoAP transports share: the glue session, the platform's token, sending /auth and publishes,
 * and the mapping of replies and failures to transport results. coap-aes and coap-dtls add their crypto. */
#pragma once

#include "auth.h"
#include "coap-glue.h"
#include "coap-msg.h"
#include "transport.h"

#define TRANSPORT_COAP_CLOUD_ID_MAX 64

typedef struct TransportCoap TransportCoap;

/* One request on the session: /auth, or a publish of entry. */
typedef struct CoapRequest {
        TransportCoap *coap;
        const OutboxEntry *entry;     /* NULL for /auth */
        size_t sent_size;             /* bytes of the request, counted when it completes */
        bool active;
} CoapRequest;

typedef struct TransportCoapOps {
        /* Creates c->session. */
        int (*open)(TransportCoap *c);
        /* Takes what a 2.xx /auth reply carries (at least the token). Returns 0 or -EBADMSG, -ENOMEM. */
        int (*accept_auth)(TransportCoap *c, const uint8_t *data, size_t len);
        /* Optional: whether the non-empty payload of a 2.xx publish reply can be read (coap-aes: it decrypts with
         * the session key). */
        bool (*reply_payload_ok)(TransportCoap *c, const uint8_t *data, size_t len);
        /* The session lives in the server too (DTLS): one the peer has been silent on for longer than
         * NatTimeoutSec= is assumed forgotten by a NAT on the way, and replaced before the next request. */
        bool nat_sensitive;
} TransportCoapOps;

struct TransportCoap {
        Transport meta;
        const TransportCoapOps *ops;
        CoapGlueSession *session;
        char *token;                  /* the platform's token; secret */
        CoapRequest requests[TRANSPORT_WINDOW_MAX];
        bool unreadable_logged;       /* an unreadable success reply was logged in this session */
};

/* Drops the session and the token. */
void transport_coap_reset(TransportCoap *c);
/* The vtable's disconnect for both: drops the session and what is outstanding on it, keeps the token. */
void transport_coap_disconnect(Transport *t);
/* The vtable's window_changed for both: the session's NSTART follows MaxInFlight=. */
void transport_coap_window_changed(Transport *t);

/* Sends POST /auth with the body built from p. Returns 0 or a negative errno. */
int transport_coap_authenticate(TransportCoap *c, const AuthParams *p);

/* Sends e as a publish with the token in 2088; payload and seq are what goes on the wire (already
 * encrypted in AES mode; seq NULL in DTLS mode). Returns 0 or a negative errno. */
int transport_coap_publish(TransportCoap *c, const OutboxEntry *e, const uint8_t *seq, size_t seq_len,
                           const uint8_t *payload, size_t payload_len);

/* The cloud's message id from a reply's option 2090 (A.10) when it is 1..64 printable ASCII bytes, else "".
 * Returns 1 if read, 0 without the option, -EBADMSG if it is there but not such an id. Pure; non-static for
 * the fuzz target and the unit tests. */
int transport_coap_cloud_id(const coap_pdu_t *reply, char ret[static TRANSPORT_COAP_CLOUD_ID_MAX + 1]);

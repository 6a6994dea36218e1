/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What coap-glue.c (the libcoap context, its I/O and sessions) and coap-glue-request.c (requests: deadlines,
 * completion, retransmission counts) share. */
#pragma once

#include "coap-glue.h"

#define COAP_GLUE_MTU 1280 /* the platform's PDU limit (PROTOCOL.md A.13) */
/* libcoap 4.3.1 starts GnuTLS's DTLS retransmission timer at 1 s (COAP_DTLS_RETRANSMIT_MS). */
#define DTLS_FIRST_RETRANSMIT_USEC (1000 * 1000ULL)
#define ACK_RANDOM_PERMILLE 1500ULL /* RFC 7252's ACK_RANDOM_FACTOR */

typedef struct GlueRequest {
        CoapGlueSession *session;
        uint8_t token[8];
        size_t token_len;
        coap_glue_reply_t cb;             /* NULL: the slot is free */
        void *userdata;
        sd_event_source *deadline_source; /* enabled only while the request is outstanding */
        size_t size;                      /* of the datagram, as each retransmission sends it again */
        uint64_t sent_usec;               /* when it left (monotonic), 0 while it waits for the DTLS handshake */
        uint64_t first_timeout_usec;      /* its first retransmission timeout: the ACK_TIMEOUT it was sent with */
        unsigned retransmissions;         /* counted so far */
} GlueRequest;

struct CoapGlueSession {
        CoapGlue *glue;
        coap_session_t *session;
        CoapGlueSecurity security;
        char *hostname;           /* certificate mode: the name the server's certificate must carry */
        bool cert_verified;       /* certificate mode: the server's certificate passed every check */
        uint64_t hello_usec;      /* when our latest ClientHello was made (monotonic) */
        bool hello_lagged;        /* a server flight came later than a retransmission would have been sent */
        bool hello_done;          /* the server's whole flight up to ServerHelloDone arrived */
        uint32_t next_token;
        uint64_t heard_usec;      /* when the peer was last heard from (monotonic): a response, or the handshake */
        uint64_t ack_timeout_usec; /* the ACK_TIMEOUT the session holds now (set per request) */
        coap_glue_retransmit_t on_retransmit;
        bool failing;             /* glue_session_fail() is completing its requests */
        bool free_requested;      /* freed by a callback meanwhile: glue_session_fail() frees it */
        unsigned n_outstanding;
        CoapGlueSession *prev, *next; /* the glue's sessions */
        GlueRequest requests[COAP_GLUE_NSTART_MAX];
};

struct CoapGlue {
        sd_event *event;
        coap_context_t *ctx;
        sd_event_source *io_source;
        sd_event_source *timer_source;
        sd_event_source *release_source;
        coap_session_t **released;  /* sessions to drop outside libcoap's dispatch */
        CoapGlueSession *sessions;
        uint64_t next_due_usec;     /* the earliest retransmission of any request, UINT64_MAX for none */
        size_t n_released;
        unsigned ack_timeout_ms;     /* RFC 7252 ACK_TIMEOUT for new sessions */
};

/* Re-arms the timer that drives libcoap's. */
void coap_glue_rearm(CoapGlue *g);
/* Sets the ACK_TIMEOUT of the session's next request. */
void glue_session_set_ack_timeout(CoapGlueSession *s, uint64_t ms);

/* Counts the retransmissions libcoap made by now, once the earliest is due (after every coap_io_process()). */
void glue_account(CoapGlue *g);
/* Completes the outstanding request of s whose token is tok; a late reply matches nothing. */
void glue_session_complete(CoapGlueSession *s, const coap_bin_const_t *tok, const coap_pdu_t *reply, int error);
/* A failure of the session itself: every outstanding request fails with error, until a callback frees s. */
void glue_session_fail(CoapGlueSession *s, int error);
/* The DTLS handshake completed: the requests held back leave now, with deadlines counted from now. */
void glue_session_connected(CoapGlueSession *s);

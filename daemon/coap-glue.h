/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One libcoap context driven by sd-event (its epoll fd plus a timer for retransmissions), and client sessions
 * with up to COAP_GLUE_NSTART_MAX outstanding requests each, whose replies or failures come back through
 * callbacks. */
#pragma once

#include <coap3/coap.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define COAP_GLUE_NSTART_MAX 32

typedef struct CoapGlue CoapGlue;
typedef struct CoapGlueSession CoapGlueSession;

/* reply is NULL when error < 0: -ETIMEDOUT (no answer after RFC 7252 retransmissions, or no response by the
 * exchange deadline, see coap_glue_send()), -ECONNREFUSED (ICMP or RST), -EACCES (PSK handshake refused: identity or key wrong), -EKEYREJECTED (the server's certificate failed
 * verification), -EPROTO (another DTLS failure), -ECONNRESET (session lost). */
typedef void (*coap_glue_reply_t)(void *userdata, const coap_pdu_t *reply, int error);
/* libcoap retransmitted the request sent with userdata (size bytes, as coap_glue_send() returned). */
typedef void (*coap_glue_retransmit_t)(void *userdata, size_t size);

/* ack_timeout_ms: RFC 7252's ACK_TIMEOUT for the sessions to come (CoapAckTimeoutMSec=). */
int coap_glue_new(sd_event *event, unsigned ack_timeout_ms, CoapGlue **ret);
CoapGlue *coap_glue_free(CoapGlue *g);

/* Changes ACK_TIMEOUT for sessions opened from now on (a reload). */
void coap_glue_set_ack_timeout(CoapGlue *g, unsigned ms);
DEFINE_TRIVIAL_CLEANUP_FUNC(CoapGlue *, coap_glue_free);

typedef enum CoapGlueSecurity {
        COAP_GLUE_PLAIN,        /* CoAP over UDP */
        COAP_GLUE_PSK,          /* DTLS 1.2 with a pre-shared key */
        COAP_GLUE_PKI,          /* DTLS 1.2 verifying the server's certificate */
} CoapGlueSecurity;

/* DTLS credentials: with ca_file, certificate mode (the server's chain is verified against ca_file and its
 * certificate must be valid for the endpoint's host); otherwise PSK with identity and key (ASCII, secret). */
typedef struct CoapGlueDtls {
        const char *psk_identity;
        const char *psk_key;
        const char *ca_file;
} CoapGlueDtls;

/* endpoint: "host", "host:port", "[v6]:port". Resolution of a host name blocks (see README). */
int coap_glue_session_new(CoapGlue *g, const char *endpoint, uint16_t default_port, CoapGlueSession **ret);
/* The same over DTLS. The handshake starts at once; requests wait for it and fail with its failure. */
int coap_glue_session_new_dtls(CoapGlue *g, const char *endpoint, uint16_t default_port, const CoapGlueDtls *dtls,
                               CoapGlueSession **ret);
CoapGlueSession *coap_glue_session_free(CoapGlueSession *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(CoapGlueSession *, coap_glue_session_free);

/* Who hears of retransmissions (none by default). */
void coap_glue_session_set_retransmit_handler(CoapGlueSession *s, coap_glue_retransmit_t handler);
/* RFC 7252's NSTART: how many confirmable requests may be outstanding before libcoap holds further ones back
 * (1..COAP_GLUE_NSTART_MAX). */
void coap_glue_session_set_nstart(CoapGlueSession *s, unsigned n);
/* How long since the peer was last heard from: a response, or (DTLS) the end of the handshake; counted from the
 * session's creation before either. */
uint64_t coap_glue_session_silent_usec(const CoapGlueSession *s);

coap_mid_t coap_glue_session_new_mid(CoapGlueSession *s);
void coap_glue_session_new_token(CoapGlueSession *s, uint8_t token[static 4]);

/* Sends pdu (ownership taken, also on failure). Returns the datagram size or a negative errno (-EBUSY with
 * COAP_GLUE_NSTART_MAX requests outstanding). cb is called once, unless the session is freed first: with the
 * response whose token matches, or with a failure. A failure of the session itself (a DTLS handshake) fails
 * every outstanding request in turn, until a callback frees the session. The
 * exchange has a deadline of RFC 7252's MAX_TRANSMIT_WAIT from now (46.5 s at an ACK_TIMEOUT of 1 s; a
 * request waiting for a DTLS handshake gets that long for the handshake, then again from when it leaves), after
 * which it fails with -ETIMEDOUT, also when an empty ACK promised a separate response that never came or an
 * ACK with the request's message id carried another token; a response that comes later is ignored. */
int coap_glue_send(CoapGlueSession *s, coap_pdu_t *pdu, coap_glue_reply_t cb, void *userdata);

/* Encoded size of a PDU as it travels in a datagram. */
size_t coap_glue_pdu_size(const coap_pdu_t *pdu);

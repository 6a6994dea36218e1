/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The requests of a coap-glue session: their deadlines, their completion, and the count of what libcoap
 * retransmits for them; see coap-glue.h. */
#include <string.h>

#include "coap-glue-internal.h"
#include "log.h"
#include "time-util.h"

/* libcoap retransmits a confirmable request that is not acknowledged after its first timeout T, then after 2T,
 * 4T and 8T more (RFC 7252 4.2), from inside coap_io_process(), and says nothing about it. With
 * ACK_RANDOM_FACTOR at 1 and the random part chosen here per request (see coap_glue_send()), T is known, so the
 * retransmissions made by now are known too: each is reported once, as it happens, to the session's handler.
 * A tolerance of 2 ms covers libcoap's millisecond ticks. */
#define ACCOUNT_SLACK_USEC 2000

/* When request q is retransmitted next, or UINT64_MAX. */
static uint64_t request_next_due(const GlueRequest *q) {
        unsigned max = coap_session_get_max_retransmit(q->session->session);

        if (!q->cb || q->sent_usec == 0 || q->retransmissions >= max)
                return UINT64_MAX;
        return q->sent_usec + ((2ULL << q->retransmissions) - 1) * q->first_timeout_usec;
}

static void request_account(GlueRequest *q, uint64_t now) {
        CoapGlueSession *s = q->session;
        uint64_t due;

        while ((due = request_next_due(q)) != UINT64_MAX && now + ACCOUNT_SLACK_USEC >= due) {
                q->retransmissions++;
                if (s->on_retransmit)
                        s->on_retransmit(q->userdata, q->size);
        }
        s->glue->next_due_usec = MIN(s->glue->next_due_usec, due);
}

/* Counts what is due in every session with requests outstanding, once the earliest retransmission is. */
void glue_account(CoapGlue *g) {
        uint64_t now = now_monotonic_usec();

        if (g->next_due_usec == UINT64_MAX || now + ACCOUNT_SLACK_USEC < g->next_due_usec)
                return;
        g->next_due_usec = UINT64_MAX;
        for (CoapGlueSession *s = g->sessions; s; s = s->next)
                if (s->n_outstanding > 0)
                        for (size_t i = 0; i < COAP_GLUE_NSTART_MAX; i++)
                                request_account(&s->requests[i], now);
}

static void request_complete(GlueRequest *q, const coap_pdu_t *reply, int error) {
        coap_glue_reply_t cb;

        request_account(q, now_monotonic_usec());
        cb = q->cb;
        q->cb = NULL;
        q->session->n_outstanding--;
        (void) sd_event_source_set_enabled(q->deadline_source, SD_EVENT_OFF);
        cb(q->userdata, reply, error);
}

/* Completes the outstanding request of s whose token is tok. Once completed (answered, failed or past its
 * deadline), a request's token matches nothing any more: a late reply is ignored. */
void glue_session_complete(CoapGlueSession *s, const coap_bin_const_t *tok, const coap_pdu_t *reply, int error) {
        for (size_t i = 0; i < COAP_GLUE_NSTART_MAX; i++) {
                GlueRequest *q = &s->requests[i];

                if (q->cb && tok->length == q->token_len && memcmp(tok->s, q->token, q->token_len) == 0) {
                        request_complete(q, reply, error);
                        return;
                }
        }
}

/* A failure of the session itself: every outstanding request fails with error, until a callback frees s (which
 * is then freed here, once no request of it is being completed any more). */
void glue_session_fail(CoapGlueSession *s, int error) {
        s->failing = true;
        for (size_t i = 0; i < COAP_GLUE_NSTART_MAX && !s->free_requested; i++)
                if (s->requests[i].cb)
                        request_complete(&s->requests[i], NULL, error);
        s->failing = false;
        if (s->free_requested)
                coap_glue_session_free(s);
}

/* The deadline of one exchange, counted from its first transmission: RFC 7252's MAX_TRANSMIT_WAIT (4.8.2),
 *   ACK_TIMEOUT x (2^(MAX_RETRANSMIT + 1) - 1) x ACK_RANDOM_FACTOR,
 * 93 s at the default ACK_TIMEOUT of 2 s, 46.5 s at 1 s. It is when a CON sender gives up on an ACK anyway
 * (libcoap's last retransmission times out no later), so it never cuts short an exchange that is still being
 * retransmitted. The odd cases are what it is for: an empty ACK promises a separate response, and a server
 * retransmits that CON for at most MAX_TRANSMIT_SPAN (ACK_TIMEOUT x (2^MAX_RETRANSMIT - 1) x ACK_RANDOM_FACTOR,
 * 45 s at 2 s); the deadline leaves it that whole span plus 48 s (at 2 s) of processing and latency, so a
 * separate response that has not come by then never will. An ACK with our message id but another token (the
 * request is acknowledged, its response lost for good) ends the same way, as does a handshake that hangs.
 * EXCHANGE_LIFETIME (247 s) is how long a receiver must remember a message id, with a 100 s worst-case latency
 * each way: a bound for deduplication, not for how long a queue should wait behind one request. The
 * parameters are RFC 7252's (ACK_RANDOM_FACTOR 1.5, MAX_RETRANSMIT the session's), with CoapAckTimeoutMSec=:
 * coap_glue_send() draws each request's first timeout from that range itself. */
static uint64_t exchange_deadline_usec(const CoapGlueSession *s) {
        return s->glue->ack_timeout_ms * ((2ULL << coap_session_get_max_retransmit(s->session)) - 1) *
               ACK_RANDOM_PERMILLE;
}

static int on_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        GlueRequest *q = userdata;

        log_debug("No response within %.1f s: the CoAP request is abandoned.",
                  (double) exchange_deadline_usec(q->session) / 1e6);
        /* The callback may free the session (and this source, which sd-event allows during its dispatch). */
        request_complete(q, NULL, -ETIMEDOUT);
        return 0;
}

static int deadline_arm(GlueRequest *q) {
        CoapGlueSession *s = q->session;
        uint64_t usec = exchange_deadline_usec(s);
        int r;

        if (!q->deadline_source) {
                r = sd_event_add_time_relative(s->glue->event, &q->deadline_source, CLOCK_MONOTONIC, usec, 0,
                                               on_deadline, q);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(q->deadline_source, "coap-deadline");
                return 0;
        }
        r = sd_event_source_set_time_relative(q->deadline_source, usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(q->deadline_source, SD_EVENT_ONESHOT);
}

/* A request made during a DTLS handshake waits for it, under a deadline armed by coap_glue_send() (a handshake
 * that hangs ends there); it leaves when the handshake completes, and its own deadline counts from then, so that
 * a slow handshake on a lossy link does not eat into the exchange's retransmissions. */
void glue_session_connected(CoapGlueSession *s) {
        s->heard_usec = now_monotonic_usec();
        for (size_t i = 0; i < COAP_GLUE_NSTART_MAX; i++) {
                GlueRequest *q = &s->requests[i];

                if (!q->cb)
                        continue;
                /* Held back by libcoap until now, sent with the ACK_TIMEOUT the session holds now. */
                if (q->sent_usec == 0) {
                        q->sent_usec = s->heard_usec;
                        q->first_timeout_usec = s->ack_timeout_usec;
                        s->glue->next_due_usec = MIN(s->glue->next_due_usec, request_next_due(q));
                }
                if (deadline_arm(q) < 0)
                        log_debug("Cannot re-arm a CoAP request's deadline; the one from before the handshake stays.");
        }
}

void coap_glue_session_set_retransmit_handler(CoapGlueSession *s, coap_glue_retransmit_t handler) {
        s->on_retransmit = handler;
}

void coap_glue_session_set_nstart(CoapGlueSession *s, unsigned n) {
        coap_session_set_nstart(s->session, (uint16_t) CLAMP(n, 1u, (unsigned) COAP_GLUE_NSTART_MAX));
}

uint64_t coap_glue_session_silent_usec(const CoapGlueSession *s) {
        return now_monotonic_usec() - s->heard_usec;
}

int coap_glue_send(CoapGlueSession *s, coap_pdu_t *pdu, coap_glue_reply_t cb, void *userdata) {
        coap_bin_const_t tok = coap_pdu_get_token(pdu);
        size_t size = coap_glue_pdu_size(pdu);
        GlueRequest *q = NULL;
        uint32_t rnd = 0;
        int r;

        for (size_t i = 0; i < COAP_GLUE_NSTART_MAX && !q; i++)
                if (!s->requests[i].cb)
                        q = &s->requests[i];
        if (!q || tok.length > sizeof(q->token)) {
                coap_delete_pdu(pdu);
                return q ? -EINVAL : -EBUSY;
        }
        memcpy(q->token, tok.s, tok.length);
        q->token_len = tok.length;
        r = deadline_arm(q);
        if (r < 0) {
                coap_delete_pdu(pdu);
                return r;
        }
        /* RFC 7252 4.2: the first timeout is random between ACK_TIMEOUT and ACK_TIMEOUT x ACK_RANDOM_FACTOR. It
         * is drawn here and the session's factor is 1, so that what libcoap retransmits is known (request_account()). */
        (void) coap_prng(&rnd, sizeof(rnd));
        glue_session_set_ack_timeout(s, s->glue->ack_timeout_ms + s->glue->ack_timeout_ms *
                                                                     (rnd % (ACK_RANDOM_PERMILLE - 1000 + 1)) / 1000);
        q->cb = cb;
        q->userdata = userdata;
        q->size = size;
        q->retransmissions = 0;
        q->first_timeout_usec = s->ack_timeout_usec;
        q->sent_usec = coap_session_get_state(s->session) == COAP_SESSION_STATE_ESTABLISHED ? now_monotonic_usec() : 0;

        if (coap_send(s->session, pdu) == COAP_INVALID_MID) {
                q->cb = NULL;
                (void) sd_event_source_set_enabled(q->deadline_source, SD_EVENT_OFF);
                return -EIO;
        }
        s->n_outstanding++;
        s->glue->next_due_usec = MIN(s->glue->next_due_usec, request_next_due(q));
        coap_glue_rearm(s->glue);
        return (int) size;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A CoAP response as plain data (code, options, payload): what a request handler decides and what the
 * retransmission cache replays byte for byte. Free of libcoap so handlers and cache are unit-testable. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_REPLY_OPTIONS_MAX 4
#define SIM_REPLY_OPTION_VALUE_MAX 32

typedef struct SimReplyOption {
        uint16_t number;
        uint8_t len;
        uint8_t value[SIM_REPLY_OPTION_VALUE_MAX];
} SimReplyOption;

/* How a reply to a CON travels. */
typedef enum SimReplyForm {
        SIM_REPLY_PIGGYBACKED,  /* in the ACK (ackMode 0) */
        SIM_REPLY_SEPARATE,     /* empty ACK first, then the response on its own (ackMode 1) */
        SIM_REPLY_EMPTY_ACK,    /* an empty ACK and never a response (--fault-mode=empty-ack) */
        SIM_REPLY_WRONG_TOKEN,  /* in an ACK with the request's message id but another token (--fault-mode=wrong-token) */
        _SIM_REPLY_FORM_MAX,
        _SIM_REPLY_FORM_INVALID = -22,
} SimReplyForm;

typedef struct SimReply {
        unsigned code;          /* as written in the RFC: 205 is 2.05, 401 is 4.01 */
        SimReplyForm form;
        SimReplyOption options[SIM_REPLY_OPTIONS_MAX]; /* in ascending number order */
        size_t n_options;
        uint8_t *payload;
        size_t payload_len;
} SimReply;

/* Options must be added in ascending order. Returns 0, -ENOBUFS (too many), -E2BIG (value too long),
 * -EINVAL (out of order). */
int sim_reply_add_option(SimReply *r, uint16_t number, const void *value, size_t len);
/* Minimal big-endian unsigned encoding, as RFC 7252 3.2 wants (0 has zero length). */
int sim_reply_add_uint_option(SimReply *r, uint16_t number, uint32_t value);
/* Copies the bytes. Returns 0 or -ENOMEM. */
int sim_reply_set_payload(SimReply *r, const void *data, size_t len);
int sim_reply_copy(const SimReply *src, SimReply *ret);
bool sim_reply_equal(const SimReply *a, const SimReply *b);
void sim_reply_done(SimReply *r);

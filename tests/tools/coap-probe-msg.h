/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* coap-probe's CoAP messages as editable fields: taken from a libcoap PDU, edited (options dropped, added in
 * order), encoded per RFC 7252 3 (libcoap 4.3.1 exports no encoder), and responses parsed back. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coap-msg.h"

#define MSG_OPTIONS_MAX 32
#define OPT_VALUE_MAX 256

typedef struct MsgOption {
        uint16_t number;
        size_t len;
        uint8_t value[OPT_VALUE_MAX];
} MsgOption;

/* A CoAP message as editable fields; encoded by msg_encode() per RFC 7252 3. */
typedef struct Msg {
        uint8_t type, code;
        uint16_t mid;
        uint8_t token[8];
        size_t token_len;
        MsgOption options[MSG_OPTIONS_MAX];
        size_t n_options;
        uint8_t payload[COAP_MSG_PDU_MAX];
        size_t payload_len;
} Msg;

typedef struct Response {
        uint8_t type, code;
        bool separate;                  /* an empty ACK came first */
        char message_id[32];
        uint8_t payload[COAP_MSG_PDU_MAX];
        size_t payload_len;
        uint8_t raw[COAP_MSG_PDU_MAX];
        size_t raw_len;
} Response;

static inline int msg_from_pdu(const coap_pdu_t *pdu, Msg *m) {
        coap_bin_const_t token = coap_pdu_get_token(pdu);
        coap_opt_iterator_t it;
        const uint8_t *data;
        coap_opt_t *o;
        size_t len;

        *m = (Msg) { .type = coap_pdu_get_type(pdu), .code = coap_pdu_get_code(pdu),
                     .mid = (uint16_t) coap_pdu_get_mid(pdu), .token_len = token.length };
        memcpy(m->token, token.s, token.length);
        coap_option_iterator_init(pdu, &it, COAP_OPT_ALL);
        while ((o = coap_option_next(&it))) {
                MsgOption *x;

                if (m->n_options >= MSG_OPTIONS_MAX || coap_opt_length(o) > OPT_VALUE_MAX)
                        return -E2BIG;
                x = &m->options[m->n_options++];
                *x = (MsgOption) { .number = it.number, .len = coap_opt_length(o) };
                memcpy(x->value, coap_opt_value(o), x->len);
        }
        if (coap_get_data(pdu, &len, &data)) {
                memcpy(m->payload, data, len);
                m->payload_len = len;
        }
        return 0;
}

static inline void msg_drop_option(Msg *m, uint16_t number) {
        size_t j = 0;

        for (size_t i = 0; i < m->n_options; i++)
                if (m->options[i].number != number)
                        m->options[j++] = m->options[i];
        m->n_options = j;
}

/* Inserts after every option with a number <= number, keeping the list sorted. */
static inline void msg_add_option(Msg *m, uint16_t number, const void *value, size_t len) {
        size_t i = 0;

        if (m->n_options >= MSG_OPTIONS_MAX || len > OPT_VALUE_MAX)
                abort();
        while (i < m->n_options && m->options[i].number <= number)
                i++;
        memmove(&m->options[i + 1], &m->options[i], (m->n_options - i) * sizeof(MsgOption));
        m->options[i] = (MsgOption) { .number = number, .len = len };
        memcpy(m->options[i].value, value, len);
        m->n_options++;
}

static inline size_t put_ext(uint8_t *p, size_t v) {
        if (v >= 269) {
                p[0] = (uint8_t) ((v - 269) >> 8);
                p[1] = (uint8_t) (v - 269);
                return 2;
        }
        if (v >= 13) {
                p[0] = (uint8_t) (v - 13);
                return 1;
        }
        return 0;
}

static inline uint8_t nibble(size_t v) {
        return v >= 269 ? 14 : v >= 13 ? 13 : (uint8_t) v;
}

static inline size_t msg_encode(const Msg *m, uint8_t *buf) {
        size_t n = 0;
        uint16_t prev = 0;

        buf[n++] = (uint8_t) (0x40 | m->type << 4 | m->token_len);
        buf[n++] = m->code;
        buf[n++] = (uint8_t) (m->mid >> 8);
        buf[n++] = (uint8_t) m->mid;
        memcpy(buf + n, m->token, m->token_len);
        n += m->token_len;
        for (size_t i = 0; i < m->n_options; i++) {
                const MsgOption *o = &m->options[i];
                size_t delta = o->number - prev;

                buf[n++] = (uint8_t) (nibble(delta) << 4 | nibble(o->len));
                n += put_ext(buf + n, delta);
                n += put_ext(buf + n, o->len);
                memcpy(buf + n, o->value, o->len);
                n += o->len;
                prev = o->number;
        }
        if (m->payload_len > 0) {
                buf[n++] = 0xff;
                memcpy(buf + n, m->payload, m->payload_len);
                n += m->payload_len;
        }
        return n;
}

static inline int parse_response(const uint8_t *buf, size_t len, Response *r) {
        coap_pdu_t *pdu = coap_pdu_init(0, 0, 0, COAP_MSG_PDU_MAX);
        coap_opt_iterator_t it;
        const uint8_t *data;
        coap_opt_t *o;
        size_t dlen;

        if (!pdu || !coap_pdu_parse(COAP_PROTO_UDP, buf, len, pdu)) {
                coap_delete_pdu(pdu);
                return -EBADMSG;
        }
        r->type = coap_pdu_get_type(pdu);
        r->code = coap_pdu_get_code(pdu);
        r->message_id[0] = '\0';
        o = coap_check_option(pdu, COAP_MSG_OPTION_MESSAGE_ID, &it);
        if (o)
                snprintf(r->message_id, sizeof(r->message_id), "%.*s", (int) coap_opt_length(o),
                         (const char *) coap_opt_value(o));
        r->payload_len = 0;
        if (coap_get_data(pdu, &dlen, &data)) {
                memcpy(r->payload, data, dlen);
                r->payload_len = dlen;
        }
        memcpy(r->raw, buf, len);
        r->raw_len = len;
        coap_delete_pdu(pdu);
        return 0;
}

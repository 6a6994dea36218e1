/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PDU <-> SimRequest/SimReply. Unknown elective options (Uri-Host, Uri-Port, ...) are simply not read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coap-msg.h"
#include "macro.h"
#include "sim-coap-pdu.h"

#define QUERY_TOKEN "token="

static int uint_option(const coap_pdu_t *pdu, coap_option_num_t number) {
        coap_opt_iterator_t it;
        coap_opt_t *o = coap_check_option(pdu, number, &it);
        unsigned v;

        if (!o)
                return -1;
        if (coap_opt_length(o) > 2)
                return 0x10000; /* not a valid Content-Format; rejected by the caller */
        v = coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o));
        return (int) v;
}

static bool opaque_option(const coap_pdu_t *pdu, coap_option_num_t number, const uint8_t **ret, size_t *ret_len) {
        coap_opt_iterator_t it;
        coap_opt_t *o = coap_check_option(pdu, number, &it);

        if (!o)
                return false;
        *ret = coap_opt_value(o);
        *ret_len = coap_opt_length(o);
        return true;
}

/* E.1: option 2088, else 61, else a Uri-Query "token=..." */
static void find_token(const coap_pdu_t *pdu, SimRequest *req) {
        coap_opt_filter_t filter;
        coap_opt_iterator_t it;
        coap_opt_t *o;

        if (opaque_option(pdu, COAP_MSG_OPTION_TOKEN, &req->iot_token, &req->iot_token_len) ||
            opaque_option(pdu, COAP_MSG_OPTION_TOKEN_V3, &req->iot_token, &req->iot_token_len))
                return;

        coap_option_filter_clear(&filter);
        coap_option_filter_set(&filter, COAP_OPTION_URI_QUERY);
        coap_option_iterator_init(pdu, &it, &filter);
        while ((o = coap_option_next(&it))) {
                size_t len = coap_opt_length(o);
                const uint8_t *v = coap_opt_value(o);

                if (len >= strlen(QUERY_TOKEN) && memcmp(v, QUERY_TOKEN, strlen(QUERY_TOKEN)) == 0) {
                        req->iot_token = v + strlen(QUERY_TOKEN);
                        req->iot_token_len = len - strlen(QUERY_TOKEN);
                        return;
                }
        }
}

static int add_segment(SimRequest *req, const uint8_t *value, size_t len) {
        char **array, *s;

        if (len == 0 || memchr(value, '/', len) || memchr(value, '\0', len))
                req->bad_segment = true;

        s = strndup((const char *) value, len);
        if (!s)
                return -ENOMEM;
        array = reallocarray(req->segments, req->n_segments + 2, sizeof(char *));
        if (!array) {
                free(s);
                return -ENOMEM;
        }
        req->segments = array;
        req->segments[req->n_segments++] = s;
        req->segments[req->n_segments] = NULL;
        return 0;
}

static int read_segments(const coap_pdu_t *pdu, SimRequest *req) {
        coap_opt_filter_t filter;
        coap_opt_iterator_t it;
        coap_opt_t *o;

        coap_option_filter_clear(&filter);
        coap_option_filter_set(&filter, COAP_OPTION_URI_PATH);
        coap_option_iterator_init(pdu, &it, &filter);
        while ((o = coap_option_next(&it)))
                if (add_segment(req, coap_opt_value(o), coap_opt_length(o)) < 0)
                        return -ENOMEM;
        return 0;
}

int sim_coap_request_from_pdu(const coap_pdu_t *pdu, const char *peer, SimRequest *req) {
        *req = (SimRequest) {
                .peer = peer,
                .confirmable = coap_pdu_get_type(pdu) == COAP_MESSAGE_CON,
                .content_format = uint_option(pdu, COAP_OPTION_CONTENT_FORMAT),
                .accept = uint_option(pdu, COAP_OPTION_ACCEPT),
        };

        if (read_segments(pdu, req) < 0) {
                sim_coap_request_done(req);
                return -ENOMEM;
        }
        find_token(pdu, req);
        if (!opaque_option(pdu, COAP_MSG_OPTION_SEQ, &req->seq, &req->seq_len))
                req->seq = NULL;
        if (!coap_get_data(pdu, &req->payload_len, &req->payload)) {
                req->payload = NULL;
                req->payload_len = 0;
        }
        return 0;
}

void sim_coap_request_done(SimRequest *req) {
        for (size_t i = 0; i < req->n_segments; i++)
                free(req->segments[i]);
        free(req->segments);
        req->segments = NULL;
        req->n_segments = 0;
}

int sim_coap_reply_to_pdu(const SimReply *reply, coap_pdu_t *pdu) {
        coap_pdu_set_code(pdu, COAP_RESPONSE_CODE(reply->code));
        for (size_t i = 0; i < reply->n_options; i++)
                if (coap_add_option(pdu, reply->options[i].number, reply->options[i].len,
                                    reply->options[i].value) == 0)
                        return -ENOMEM;
        if (reply->payload_len > 0 && !coap_add_data(pdu, reply->payload_len, reply->payload))
                return -ENOMEM;
        return 0;
}

int sim_coap_peer_bytes(const coap_session_t *session, uint8_t *buf, size_t size) {
        const coap_address_t *a = coap_session_get_addr_remote(session);
        uint8_t proto = (uint8_t) coap_session_get_proto(session);
        const void *addr, *port;
        size_t addr_len;

        switch (a->addr.sa.sa_family) {
        case AF_INET:
                addr = &a->addr.sin.sin_addr;
                addr_len = sizeof(a->addr.sin.sin_addr);
                port = &a->addr.sin.sin_port;
                break;
        case AF_INET6:
                addr = &a->addr.sin6.sin6_addr;
                addr_len = sizeof(a->addr.sin6.sin6_addr);
                port = &a->addr.sin6.sin6_port;
                break;
        default:
                return -EAFNOSUPPORT;
        }
        if (size < 2 + 2 + addr_len)
                return -ENOBUFS;

        buf[0] = proto;
        buf[1] = (uint8_t) a->addr.sa.sa_family;
        memcpy(buf + 2, port, 2);
        memcpy(buf + 4, addr, addr_len);
        return (int) (4 + addr_len);
}

void sim_coap_peer_string(const coap_session_t *session, char *buf, size_t size) {
        size_t n = coap_print_addr(coap_session_get_addr_remote(session), (unsigned char *) buf, size - 1);

        buf[MIN(n, size - 1)] = '\0';
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The platform's CoAP requests (PROTOCOL.md A.2, A.3, A.8, B.4) as libcoap PDUs, and the exact datagram size
 * of a publish computed by RFC 7252 option arithmetic. Builds PDUs only; sending is the caller's business. */
#include "coap-msg.h"
#include "macro.h"
#include "topic.h"

#define COAP_MSG_HEADER_SIZE 4

DEFINE_TRIVIAL_CLEANUP_FUNC(coap_pdu_t *, coap_delete_pdu);
DEFINE_TRIVIAL_CLEANUP_FUNC(coap_optlist_t *, coap_delete_optlist);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, topic_segments_free);

/* Extension bytes for an option delta or length (RFC 7252 3.1): 13 -> 1 byte, 14 -> 2 bytes. */
static size_t option_ext_size(size_t v) {
        return v < 13 ? 0 : v < 269 ? 1 : 2;
}

static size_t option_size(unsigned *prev, unsigned number, size_t len) {
        size_t delta = number - *prev;

        *prev = number;
        return 1 + option_ext_size(delta) + option_ext_size(len) + len;
}

size_t coap_msg_publish_size(const char *topic, size_t token_len, size_t seq_len, size_t payload_len) {
        size_t size = COAP_MSG_HEADER_SIZE + COAP_MSG_TOKEN_SIZE;
        const char *p = strempty(topic);
        unsigned prev = 0;

        size += option_size(&prev, COAP_OPTION_URI_PATH, strlen("topic"));
        while (*p) {
                size_t l = strcspn(p, "/");

                if (l > 0)
                        size += option_size(&prev, COAP_OPTION_URI_PATH, l);
                p += l;
                p += *p == '/';
        }
        /* Every Content-Format we accept (50, 60, 42) and Accept 42 encode as one byte. */
        size += option_size(&prev, COAP_OPTION_CONTENT_FORMAT, 1);
        size += option_size(&prev, COAP_OPTION_ACCEPT, 1);
        size += option_size(&prev, COAP_MSG_OPTION_TOKEN, token_len);
        if (seq_len > 0)
                size += option_size(&prev, COAP_MSG_OPTION_SEQ, seq_len);
        if (payload_len > 0)
                size += 1 + payload_len;
        return size;
}

static int optlist_add(coap_optlist_t **head, uint16_t number, size_t len, const void *data) {
        if (!coap_insert_optlist(head, coap_new_optlist(number, len, data)))
                return -ENOMEM;
        return 0;
}

static int optlist_add_uint(coap_optlist_t **head, uint16_t number, unsigned value) {
        uint8_t buf[4];

        /* Minimal big-endian unsigned integer, as RFC 7252 3.2 requires. */
        return optlist_add(head, number, coap_encode_var_safe(buf, sizeof(buf), value), buf);
}

static int pdu_new(bool confirmable, coap_mid_t mid, const uint8_t token[static COAP_MSG_TOKEN_SIZE],
                   coap_pdu_t **ret) {
        coap_pdu_t *pdu;

        /* libcoap asserts on an out-of-range id, so refuse it here. */
        if (mid < 0 || mid > 0xffff)
                return -EINVAL;

        pdu = coap_pdu_init(confirmable ? COAP_MESSAGE_CON : COAP_MESSAGE_NON, COAP_REQUEST_CODE_POST, mid,
                            COAP_MSG_PDU_MAX);
        if (!pdu)
                return -ENOMEM;
        if (!coap_add_token(pdu, COAP_MSG_TOKEN_SIZE, token)) {
                coap_delete_pdu(pdu);
                return -ENOMEM;
        }

        *ret = pdu;
        return 0;
}

/* Sorts and adds the options, then the payload. coap_add_optlist_pdu() ignores a failed coap_add_option(),
 * so count what landed in the PDU rather than trusting its return value. */
static int pdu_finish(coap_pdu_t *pdu, coap_optlist_t **opts, size_t n_opts, const void *payload,
                      size_t len) {
        coap_opt_iterator_t oi;
        size_t n = 0;

        if (!coap_add_optlist_pdu(pdu, opts))
                return -ENOMEM;
        if (!coap_option_iterator_init(pdu, &oi, COAP_OPT_ALL))
                return -ENOMEM;
        while (coap_option_next(&oi))
                n++;
        if (n != n_opts)
                return -ENOMEM;

        if (len > 0 && !coap_add_data(pdu, len, payload))
                return -ENOMEM;
        return 0;
}

int coap_msg_auth(coap_mid_t mid, const uint8_t token[static COAP_MSG_TOKEN_SIZE], const char *json,
                  coap_pdu_t **ret) {
        _cleanup_(coap_delete_optlistp) coap_optlist_t *opts = NULL;
        _cleanup_(coap_delete_pdup) coap_pdu_t *pdu = NULL;
        size_t len;
        int r;

        if (!token || isempty(json) || !ret)
                return -EINVAL;

        /* header, token, Uri-Path "auth" (5), CF 50 (2), Accept 50 (2), payload marker */
        len = strlen(json);
        if (len > COAP_MSG_PDU_MAX - (COAP_MSG_HEADER_SIZE + COAP_MSG_TOKEN_SIZE + 5 + 2 + 2 + 1))
                return -EINVAL;

        r = pdu_new(true, mid, token, &pdu);
        if (r < 0)
                return r;

        if (optlist_add(&opts, COAP_OPTION_URI_PATH, strlen("auth"), "auth") < 0 ||
            optlist_add_uint(&opts, COAP_OPTION_CONTENT_FORMAT, COAP_MSG_CF_JSON) < 0 ||
            optlist_add_uint(&opts, COAP_OPTION_ACCEPT, COAP_MSG_CF_JSON) < 0)
                return -ENOMEM;

        r = pdu_finish(pdu, &opts, 3, json, len);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(pdu);
        return 0;
}

static int publish_check(const CoapPublish *p) {
        if (!p->topic || isempty(p->iot_token))
                return -EINVAL;
        /* Each of these encodes as one byte, which coap_msg_publish_size() relies on. */
        if (p->content_format != COAP_MSG_CF_JSON && p->content_format != COAP_MSG_CF_CBOR &&
            p->content_format != COAP_MSG_CF_OCTET)
                return -EINVAL;
        if (p->seq && p->seq_len == 0)
                return -EINVAL;
        if (!p->payload && p->payload_len > 0)
                return -EINVAL;
        if (coap_msg_publish_size(p->topic, strlen(p->iot_token), p->seq ? p->seq_len : 0, p->payload_len) >
            COAP_MSG_PDU_MAX)
                return -EINVAL;
        return 0;
}

static int publish_options(const CoapPublish *p, coap_optlist_t **opts, size_t *ret_n) {
        _cleanup_(topic_segments_freep) char **segments = NULL;
        size_t n;
        int r;

        r = topic_split(p->topic, &segments, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return -EINVAL;

        if (optlist_add(opts, COAP_OPTION_URI_PATH, strlen("topic"), "topic") < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (optlist_add(opts, COAP_OPTION_URI_PATH, strlen(segments[i]), segments[i]) < 0)
                        return -ENOMEM;

        if (optlist_add_uint(opts, COAP_OPTION_CONTENT_FORMAT, p->content_format) < 0 ||
            optlist_add_uint(opts, COAP_OPTION_ACCEPT, COAP_MSG_CF_OCTET) < 0 ||
            optlist_add(opts, COAP_MSG_OPTION_TOKEN, strlen(p->iot_token), p->iot_token) < 0 ||
            (p->seq && optlist_add(opts, COAP_MSG_OPTION_SEQ, p->seq_len, p->seq) < 0))
                return -ENOMEM;

        *ret_n = 1 + n + 3 + !!p->seq;
        return 0;
}

int coap_msg_publish(coap_mid_t mid, const uint8_t token[static COAP_MSG_TOKEN_SIZE], const CoapPublish *p,
                     coap_pdu_t **ret) {
        _cleanup_(coap_delete_optlistp) coap_optlist_t *opts = NULL;
        _cleanup_(coap_delete_pdup) coap_pdu_t *pdu = NULL;
        size_t n_opts;
        int r;

        if (!token || !p || !ret)
                return -EINVAL;
        r = publish_check(p);
        if (r < 0)
                return r;

        r = pdu_new(p->confirmable, mid, token, &pdu);
        if (r < 0)
                return r;
        r = publish_options(p, &opts, &n_opts);
        if (r < 0)
                return r;
        r = pdu_finish(pdu, &opts, n_opts, p->payload, p->payload_len);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(pdu);
        return 0;
}

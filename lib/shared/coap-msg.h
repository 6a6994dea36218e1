/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Builds the CoAP requests the platform expects (PROTOCOL.md A.2, A.3, A.8, B.4) as libcoap PDUs with a
 * given message id and 4-byte token. The daemon sends exactly these; the unit test checks their bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <coap3/coap.h>

#define COAP_MSG_OPTION_TOKEN 2088        /* auth token (doc, SDK v2.2-2.3) */
#define COAP_MSG_OPTION_TOKEN_V3 61       /* the v3 SDK's regression; accepted by the emulator */
#define COAP_MSG_OPTION_SEQ 2089          /* AES(seq as decimal text) */
#define COAP_MSG_OPTION_MESSAGE_ID 2090   /* cloud message id in the response */

#define COAP_MSG_CF_JSON 50
#define COAP_MSG_CF_CBOR 60
#define COAP_MSG_CF_OCTET 42

#define COAP_MSG_PDU_MAX 1280             /* COAP_MSG_MAX_PDU_LEN of the SDK (A.13) */
#define COAP_MSG_TOKEN_SIZE 4

/* CON POST /auth, CF 50, Accept 50, the JSON body as payload. Returns 0, -EINVAL, -ENOMEM. */
int coap_msg_auth(coap_mid_t mid, const uint8_t token[static COAP_MSG_TOKEN_SIZE], const char *json,
                  coap_pdu_t **ret);

typedef struct CoapPublish {
        const char *topic;          /* "/pk/dn/user/update"; one Uri-Path per non-empty segment after "topic" */
        unsigned content_format;    /* COAP_MSG_CF_JSON or COAP_MSG_CF_CBOR */
        const char *iot_token;      /* option 2088, raw ASCII */
        const uint8_t *seq;         /* option 2089 (already encrypted), or NULL in DTLS mode */
        size_t seq_len;
        const uint8_t *payload;     /* already encrypted in AES mode */
        size_t payload_len;
        bool confirmable;
} CoapPublish;

/* POST /topic/..., options Uri-Path*, CF, Accept 42, 2088, [2089], payload. Returns 0, -EINVAL, -ENOMEM.
 * -EINVAL covers: mid outside 0..0xffff, a topic with no segment, an empty iot_token, a content_format other
 * than 50, 60 or 42 (all encode as one byte), seq != NULL with seq_len 0, and a datagram that would exceed
 * COAP_MSG_PDU_MAX (check with coap_msg_publish_size() first). seq_len is ignored when seq is NULL. An empty
 * payload is sent without the 0xFF marker. coap_msg_auth() likewise refuses a JSON body that would not fit. */
int coap_msg_publish(coap_mid_t mid, const uint8_t token[static COAP_MSG_TOKEN_SIZE], const CoapPublish *p,
                     coap_pdu_t **ret);

/* Exact size in bytes of the datagram coap_msg_publish() would build for these inputs, without building it.
 * Used to refuse a too-large payload at Publish time. token_len is strlen(iot_token); pass seq_len 0 when
 * there is no 2089 option (DTLS mode); payload_len is the (already encrypted) payload size. */
size_t coap_msg_publish_size(const char *topic, size_t token_len, size_t seq_len, size_t payload_len);

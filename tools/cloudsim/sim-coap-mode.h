/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What sim-coap hands to a CoAP security mode: the request as plain data, and the mode's vtable. AES mode
 * (UDP) is sim-coap-aes; a DTLS mode plugs in beside it with its own vtable. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim-reply.h"

typedef struct SimServer SimServer;

typedef struct SimRequest {
        const char *peer;               /* "address:port", for messages */
        bool confirmable;
        int content_format;             /* -1 if absent */
        int accept;                     /* -1 if absent */
        char **segments;                /* Uri-Path values (NUL-terminated copies) */
        size_t n_segments;
        bool bad_segment;               /* a Uri-Path value was empty or held '/' or NUL */
        const uint8_t *iot_token;       /* option 2088, else 61, else Uri-Query "token=" (E.1); NULL if none */
        size_t iot_token_len;
        const uint8_t *seq;             /* option 2089, NULL if absent */
        size_t seq_len;
        const uint8_t *payload;
        size_t payload_len;
} SimRequest;

typedef struct SimCoapMode {
        const char *transport;          /* "coap-aes": the record's and the log's name for it */
        /* Both fill reply (code always) and return 0, or a negative errno for an internal failure, which
         * the caller answers with 5.00. */
        int (*auth)(SimServer *s, const SimRequest *req, SimReply *reply);
        int (*publish)(SimServer *s, const SimRequest *req, SimReply *reply);
} SimCoapMode;

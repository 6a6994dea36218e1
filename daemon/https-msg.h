/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bytes of the https transport without any I/O (PROTOCOL.md C.2-C.6): the /auth body, the reply parser
 * and what each business code means for the device. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sign.h"
#include "transport.h"

#define HTTPS_MAX_PAYLOAD 131072        /* 128 KiB per publish (C.4) */
#define HTTPS_CLOUD_ID_MAX 20           /* messageId: up to 19 digits (C.5); one spare */
#define HTTPS_REPLY_MESSAGE_MAX 64      /* of the cloud's "message", as quoted in errors */

typedef struct HttpsAuthParams {
        const char *product_key;
        const char *device_name;
        const char *client_id;          /* NULL: "<productKey>.<deviceName>" */
        SignMethod sign_method;
} HttpsAuthParams;

/* {"version":"default","clientId":..,"signmethod":..,"sign":..,"productKey":..,"deviceName":..}: the SDK's
 * fields and order, compact, signed over exactly clientId, deviceName and productKey (no timestamp, E.15).
 * Returns 0, -EINVAL (missing or over-long field), -ENOMEM. The body holds no secret. */
int https_msg_auth_body(const HttpsAuthParams *p, const char *secret, char **ret_json);

typedef struct HttpsReply {
        int64_t code;
        char message[HTTPS_REPLY_MESSAGE_MAX + 1]; /* printable ASCII only, cut to length */
        char *token;                    /* /auth with code 0; secret: wiped by https_reply_done() */
        char cloud_id[HTTPS_CLOUD_ID_MAX + 1]; /* /topic with code 0: info.messageId as digits */
} HttpsReply;

/* Parses a reply body: "code" (number or decimal string) and "message" are required; with code 0, /auth needs
 * info.token (1..192 characters) and /topic needs info.messageId (a non-negative integer, or a string of
 * digits). Returns 0 or -EBADMSG. */
int https_reply_parse(const void *data, size_t len, bool auth, HttpsReply *ret);
void https_reply_done(HttpsReply *r);

/* What a business code means (C.6): for /auth, 0 OK, 20000 and 10001 DENIED, the rest RETRY; for /topic,
 * 0 OK, 20001-20003 REAUTH, 10001 and 30001 REJECTED, the rest (10000, 40000, unknown) RETRY. */
TransportResult https_reply_result(bool auth, int64_t code);

/* The error text for a reply that is not a success, e.g. "the cloud rejected the message (code 10001: param
 * error)". Returns 0 or -ENOMEM. */
int https_reply_error(const HttpsReply *r, bool auth, char **ret);

/* endpoint (trailing '/' dropped) + path + topic, the topic percent-encoded except for RFC 3986 unreserved
 * characters and '/': the path a server decodes is byte for byte the topic. topic may be NULL. Returns 0 or
 * -ENOMEM. */
int https_msg_url(const char *endpoint, const char *path, const char *topic, char **ret);

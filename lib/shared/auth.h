/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The /auth exchange of the CoAP transports (PROTOCOL.md A.3, A.5, B.4): the device's request body and
 * response parser, and the emulator's parser and signature check of received request bodies. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sign.h"

#define AUTH_RANDOM_MAX 32
#define AUTH_TOKEN_MAX 192
#define AUTH_CLIENT_ID_MAX 64

typedef struct AuthParams {
        const char *product_key;
        const char *device_name;
        const char *client_id;   /* NULL: "<productKey>.<deviceName>" */
        SignMethod sign_method;  /* SIGN_HMACMD5 is the platform default and is not sent; others add "signmethod" */
        bool has_seq;            /* AES mode: true; DTLS mode: false */
        uint32_t seq;
} AuthParams;

/* Builds the compact JSON body in the SDK's field order:
 *   {"productKey":..,"deviceName":..,"clientId":..,"sign":..[,"signmethod":..][,"seq":"<decimal>"]}
 * with the sign computed over exactly the fields sent. Returns 0, -EINVAL (missing or over-long field),
 * or -ENOMEM. */
int auth_request_build(const AuthParams *p, const char *secret, char **ret_json);

typedef struct AuthResponse {
        char *token;          /* always set on success */
        char *random;         /* AES mode only */
        int64_t seq_offset;   /* AES mode only */
} AuthResponse;

/* Parses a 2.05 /auth payload. With want_aes, "random" (string, 1..32 chars) and "seqOffset" (JSON integer)
 * are required as well as "token" (string, 1..192 chars). Returns 0 or -EBADMSG (not JSON, missing field,
 * wrong type, too long). On success the caller owns the strings; release with auth_response_done().
 * The payload must be exactly one JSON object (only whitespace may follow it); seqOffset must lie in
 * 0..UINT32_MAX because it seeds the 32-bit seq counter; strings with an embedded NUL are rejected. */
int auth_response_parse(const void *data, size_t len, bool want_aes, AuthResponse *ret);
void auth_response_done(AuthResponse *r); /* wipes and frees; safe to call twice */

/* Emulator side: a received /auth body, with every field kept for the generic sign rule (E.2, E.11). */
#define AUTH_CLAIM_FIELDS_MAX 16
typedef struct AuthClaim {
        char *product_key;
        char *device_name;
        char *client_id;
        char *sign;
        SignMethod sign_method;  /* from "signmethod" (case-insensitive), default SIGN_HMACMD5 */
        bool has_seq;
        uint32_t seq;            /* "seq" as a JSON string of decimal digits or as a number */
        bool has_ack_mode;
        int ack_mode;            /* 0 or 1 */
        SignField fields[AUTH_CLAIM_FIELDS_MAX]; /* every scalar field received, in text form */
        size_t n_fields;
} AuthClaim;

/* Returns 0 or -EBADMSG: not a JSON object, missing productKey/deviceName/clientId/sign, a non-scalar value,
 * clientId longer than 64, unknown signmethod, seq not a non-negative decimal, more than 16 fields.
 * Also -EBADMSG: productKey/deviceName/clientId/sign not non-empty JSON strings, seq above UINT32_MAX, ackMode
 * other than 0 or 1 (a number or a decimal string), null values, trailing bytes after the object. */
int auth_claim_parse(const void *data, size_t len, AuthClaim *ret);
void auth_claim_done(AuthClaim *c);

/* Checks the claim's sign with secret: generic rule over the fields received; if that fails and ackMode was
 * sent, again without ackMode. Hex compared case-insensitively. Returns 0, -EACCES on mismatch, -ENOMEM. */
int auth_claim_verify(const AuthClaim *c, const char *secret);

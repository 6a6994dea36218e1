/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The platform's request signature (PROTOCOL.md A.4): sort the submitted fields by key, concatenate
 * key+value, HMAC with the DeviceSecret, lowercase hex. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum SignMethod {
        SIGN_HMACMD5,
        SIGN_HMACSHA1,
        SIGN_HMACSHA256,
        _SIGN_METHOD_MAX,
        _SIGN_METHOD_INVALID = -EINVAL,
} SignMethod;

/* "hmacmd5", "hmacsha1", "hmacsha256". */
const char *sign_method_to_string(SignMethod m);
/* Case-insensitive ("hmacSha1" is accepted). Returns _SIGN_METHOD_INVALID for anything else. */
SignMethod sign_method_from_string(const char *s);

typedef struct SignField {
        const char *key;
        const char *value; /* text form: strings as-is, numbers as decimal text */
} SignField;

/* True for the keys the generic rule leaves out of the content: sign, signmethod, version, resources. */
bool sign_key_is_excluded(const char *key);

/* Builds the content string: fields sorted byte-wise by key, excluded keys skipped, key+value concatenated
 * with no separators. Returns 0, -EINVAL (NULL key/value, duplicate key), or -ENOMEM. */
int sign_content(const SignField *fields, size_t n_fields, char **ret);

/* HMAC(key, msg) as hex (lowercase unless upper). Returns 0, -EINVAL, -ENOMEM, or -EIO on a GnuTLS failure. */
int sign_hmac_hex(SignMethod m, const void *key, size_t key_len, const void *msg, size_t msg_len, bool upper,
                  char **ret);

/* sign_content() then sign_hmac_hex() with the secret as key, lowercase. */
int sign_compute(SignMethod m, const char *secret, const SignField *fields, size_t n_fields, char **ret);

/* Case-insensitive comparison of two hex signatures that does not stop at the first difference. */
bool sign_equal(const char *a, const char *b);

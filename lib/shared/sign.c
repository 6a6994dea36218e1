/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The platform's auth signature (PROTOCOL.md A.4): sorted key+value content, HMAC-MD5/SHA1/SHA256 through
 * GnuTLS, hex output. */
#include <ctype.h>
#include <stdint.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "hex.h"
#include "macro.h"
#include "sign.h"

#define SIGN_DIGEST_MAX 32

static const char *const sign_method_table[_SIGN_METHOD_MAX] = {
        [SIGN_HMACMD5] = "hmacmd5",
        [SIGN_HMACSHA1] = "hmacsha1",
        [SIGN_HMACSHA256] = "hmacsha256",
};

const char *sign_method_to_string(SignMethod m) {
        if (m < 0 || m >= _SIGN_METHOD_MAX)
                return NULL;
        return sign_method_table[m];
}

SignMethod sign_method_from_string(const char *s) {
        if (!s)
                return _SIGN_METHOD_INVALID;
        for (SignMethod m = 0; m < _SIGN_METHOD_MAX; m++)
                if (strcaseeq(s, sign_method_table[m]))
                        return m;
        return _SIGN_METHOD_INVALID;
}

bool sign_key_is_excluded(const char *key) {
        static const char *const excluded[] = { "sign", "signmethod", "version", "resources" };

        if (!key)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(excluded); i++)
                if (streq(key, excluded[i]))
                        return true;
        return false;
}

static int sign_field_compare(const void *a, const void *b) {
        const SignField *const *x = a, *const *y = b;

        /* strcmp() compares as unsigned char: byte-wise, case-sensitive, as the platform sorts. */
        return strcmp((*x)->key, (*y)->key);
}

int sign_content(const SignField *fields, size_t n_fields, char **ret) {
        _cleanup_free_ const SignField **sorted = NULL;
        size_t len = 0, n = 0;
        char *s, *p;

        if (!ret || (!fields && n_fields > 0))
                return -EINVAL;

        sorted = calloc(n_fields + 1, sizeof(SignField *));
        if (!sorted)
                return -ENOMEM;

        for (size_t i = 0; i < n_fields; i++) {
                if (!fields[i].key || !fields[i].value)
                        return -EINVAL;
                if (sign_key_is_excluded(fields[i].key))
                        continue;
                sorted[n++] = &fields[i];
                len += strlen(fields[i].key) + strlen(fields[i].value);
        }

        qsort(sorted, n, sizeof(SignField *), sign_field_compare);
        for (size_t i = 1; i < n; i++)
                if (streq(sorted[i - 1]->key, sorted[i]->key))
                        return -EINVAL;

        s = p = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                p = stpcpy(p, sorted[i]->key);
                p = stpcpy(p, sorted[i]->value);
        }
        *p = 0;

        *ret = s;
        return 0;
}

static gnutls_mac_algorithm_t sign_method_to_mac(SignMethod m) {
        switch (m) {
        case SIGN_HMACMD5:
                return GNUTLS_MAC_MD5;
        case SIGN_HMACSHA1:
                return GNUTLS_MAC_SHA1;
        case SIGN_HMACSHA256:
                return GNUTLS_MAC_SHA256;
        case _SIGN_METHOD_MAX:
        case _SIGN_METHOD_INVALID:
                break;
        }
        return GNUTLS_MAC_UNKNOWN;
}

int sign_hmac_hex(SignMethod m, const void *key, size_t key_len, const void *msg, size_t msg_len, bool upper,
                  char **ret) {
        uint8_t digest[SIGN_DIGEST_MAX];
        gnutls_mac_algorithm_t mac;
        int r;

        mac = sign_method_to_mac(m);
        if (mac == GNUTLS_MAC_UNKNOWN || !ret || (!key && key_len > 0) || (!msg && msg_len > 0))
                return -EINVAL;

        r = gnutls_hmac_fast(mac, key ?: "", key_len, msg ?: "", msg_len, digest);
        if (r < 0) {
                explicit_bzero(digest, sizeof(digest));
                return r == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EIO;
        }

        r = hex_encode(digest, gnutls_hmac_get_len(mac), upper, ret);
        explicit_bzero(digest, sizeof(digest));
        return r;
}

int sign_compute(SignMethod m, const char *secret, const SignField *fields, size_t n_fields, char **ret) {
        _cleanup_free_ char *content = NULL;
        int r;

        if (!secret)
                return -EINVAL;

        r = sign_content(fields, n_fields, &content);
        if (r < 0)
                return r;

        return sign_hmac_hex(m, secret, strlen(secret), content, strlen(content), false, ret);
}

bool sign_equal(const char *a, const char *b) {
        size_t la, lb;
        unsigned diff = 0;

        if (!a || !b)
                return false;

        la = strlen(a);
        lb = strlen(b);
        if (la != lb)
                return false;

        /* Accumulate differences over the whole length instead of returning early. */
        for (size_t i = 0; i < la; i++)
                diff |= (unsigned) (tolower((unsigned char) a[i]) ^ tolower((unsigned char) b[i]));
        return diff == 0;
}

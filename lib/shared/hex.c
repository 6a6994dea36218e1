/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hex and base64 via GnuTLS. Results are copied into plain malloc'd, NUL-terminated buffers so callers never
 * need gnutls_free(); the GnuTLS intermediates are wiped because they may hold key material (PSKs). */
#include <ctype.h>
#include <limits.h>
#include <gnutls/gnutls.h>

#include "hex.h"
#include "macro.h"

static int gnutls_to_errno(int r) {
        return r == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EINVAL;
}

/* Moves a GnuTLS-allocated datum into a malloc'd buffer with a trailing NUL, wiping the original. */
static int datum_take(gnutls_datum_t *d, void **ret, size_t *ret_len) {
        char *p;

        p = malloc((size_t) d->size + 1);
        if (p) {
                memcpy(p, d->data, d->size);
                p[d->size] = 0;
        }
        explicit_bzero(d->data, d->size);
        gnutls_free(d->data);
        if (!p)
                return -ENOMEM;

        if (ret_len)
                *ret_len = d->size;
        *ret = p;
        return 0;
}

/* Runs one of GnuTLS's encoders or decoders over len bytes; empty input gives an empty string without calling
 * GnuTLS. */
static int codec_run(int (*codec)(const gnutls_datum_t *in, gnutls_datum_t *out), const void *data, size_t len,
                     void **ret, size_t *ret_len) {
        gnutls_datum_t in = { .data = (unsigned char *) data, .size = (unsigned) len }, out = {};
        int r;

        if (len == 0) {
                char *p = calloc(1, 1);

                if (!p)
                        return -ENOMEM;
                if (ret_len)
                        *ret_len = 0;
                *ret = p;
                return 0;
        }
        r = codec(&in, &out);
        if (r < 0)
                return gnutls_to_errno(r);
        return datum_take(&out, ret, ret_len);
}

int hex_encode(const void *data, size_t len, bool upper, char **ret) {
        char *s;
        int r;

        if (!ret || (!data && len > 0) || len > UINT_MAX / 2)
                return -EINVAL;

        r = codec_run(gnutls_hex_encode2, data, len, (void **) &s, NULL);
        if (r < 0)
                return r;

        if (upper)
                for (char *c = s; *c; c++)
                        *c = (char) toupper((unsigned char) *c);
        *ret = s;
        return 0;
}

int hex_decode(const char *text, void **ret, size_t *ret_len) {
        size_t len;

        if (!text || !ret)
                return -EINVAL;

        /* GnuTLS (nettle's base16) skips whitespace; we want strictly pairs of hex digits. */
        len = strlen(text);
        if (len % 2 != 0 || len > UINT_MAX)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (!isxdigit((unsigned char) text[i]))
                        return -EINVAL;
        return codec_run(gnutls_hex_decode2, text, len, ret, ret_len);
}

int base64_encode(const void *data, size_t len, char **ret) {
        if (!ret || (!data && len > 0) || len > UINT_MAX / 2)
                return -EINVAL;
        return codec_run(gnutls_base64_encode2, data, len, (void **) ret, NULL);
}

int base64_decode(const char *text, void **ret, size_t *ret_len) {
        size_t len;

        if (!text || !ret)
                return -EINVAL;

        len = strlen(text);
        if (len > UINT_MAX)
                return -EINVAL;
        return codec_run(gnutls_base64_decode2, text, len, ret, ret_len);
}

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

static int empty_result(void **ret, size_t *ret_len) {
        char *p = calloc(1, 1);

        if (!p)
                return -ENOMEM;
        if (ret_len)
                *ret_len = 0;
        *ret = p;
        return 0;
}

int hex_encode(const void *data, size_t len, bool upper, char **ret) {
        gnutls_datum_t in = { .data = (unsigned char *) data, .size = (unsigned) len }, out = {};
        char *s;
        int r;

        if (!ret || (!data && len > 0) || len > UINT_MAX / 2)
                return -EINVAL;
        if (len == 0)
                return empty_result((void **) ret, NULL);

        r = gnutls_hex_encode2(&in, &out);
        if (r < 0)
                return gnutls_to_errno(r);
        r = datum_take(&out, (void **) &s, NULL);
        if (r < 0)
                return r;

        if (upper)
                for (char *c = s; *c; c++)
                        *c = (char) toupper((unsigned char) *c);
        *ret = s;
        return 0;
}

int hex_decode(const char *text, void **ret, size_t *ret_len) {
        gnutls_datum_t in, out = {};
        size_t len;
        int r;

        if (!text || !ret)
                return -EINVAL;

        /* GnuTLS (nettle's base16) skips whitespace; we want strictly pairs of hex digits. */
        len = strlen(text);
        if (len % 2 != 0 || len > UINT_MAX)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (!isxdigit((unsigned char) text[i]))
                        return -EINVAL;
        if (len == 0)
                return empty_result(ret, ret_len);

        in = (gnutls_datum_t) { .data = (unsigned char *) text, .size = (unsigned) len };
        r = gnutls_hex_decode2(&in, &out);
        if (r < 0)
                return gnutls_to_errno(r);
        return datum_take(&out, ret, ret_len);
}

int base64_encode(const void *data, size_t len, char **ret) {
        gnutls_datum_t in = { .data = (unsigned char *) data, .size = (unsigned) len }, out = {};
        int r;

        if (!ret || (!data && len > 0) || len > UINT_MAX / 2)
                return -EINVAL;
        if (len == 0)
                return empty_result((void **) ret, NULL);

        r = gnutls_base64_encode2(&in, &out);
        if (r < 0)
                return gnutls_to_errno(r);
        return datum_take(&out, (void **) ret, NULL);
}

int base64_decode(const char *text, void **ret, size_t *ret_len) {
        gnutls_datum_t in, out = {};
        size_t len;
        int r;

        if (!text || !ret)
                return -EINVAL;

        len = strlen(text);
        if (len > UINT_MAX)
                return -EINVAL;
        if (len == 0)
                return empty_result(ret, ret_len);

        in = (gnutls_datum_t) { .data = (unsigned char *) text, .size = (unsigned) len };
        r = gnutls_base64_decode2(&in, &out);
        if (r < 0)
                return gnutls_to_errno(r);
        return datum_take(&out, ret, ret_len);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict UTF-8 decoding, shared by topic validation and the JSON/CBOR converter: json-c's
 * JSON_TOKENER_VALIDATE_UTF8 lets overlong forms through, and CBOR decoders (libcbor among them) reject them. */
#include "utf8.h"

size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp) {
        static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
        uint32_t cp;
        size_t len;

        if (s[0] < 0x80) {
                *ret_cp = s[0];
                return 1;
        }
        if ((s[0] & 0xe0) == 0xc0) {
                len = 2;
                cp = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                len = 3;
                cp = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                len = 4;
                cp = s[0] & 0x07;
        } else
                return 0;
        if (len > n)
                return 0;

        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }

        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret_cp = cp;
        return len;
}

bool utf8_is_valid(const void *s, size_t n) {
        const unsigned char *p = s;

        while (n > 0) {
                uint32_t cp;
                size_t len = utf8_decode(p, n, &cp);

                if (len == 0)
                        return false;
                p += len;
                n -= len;
        }
        return true;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing beyond U+10FFFF. */

/* Decodes one sequence from the n bytes at s (n >= 1). Returns its length (1..4) and the code point, or 0
 * if the sequence is truncated, overlong, a surrogate or beyond U+10FFFF. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp);

/* Whether the n bytes at s are valid UTF-8 as a whole. NUL bytes are valid (U+0000). */
bool utf8_is_valid(const void *s, size_t n);

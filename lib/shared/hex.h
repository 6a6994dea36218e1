/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hex and base64 encoding (thin wrappers over GnuTLS's encoders), returning malloc'd NUL-terminated text. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Returns 0, or -ENOMEM. Lowercase unless upper is set. */
int hex_encode(const void *data, size_t len, bool upper, char **ret);
/* Accepts either case. -EINVAL on odd length or a non-hex character. */
int hex_decode(const char *text, void **ret, size_t *ret_len);

int base64_encode(const void *data, size_t len, char **ret);
int base64_decode(const char *text, void **ret, size_t *ret_len);

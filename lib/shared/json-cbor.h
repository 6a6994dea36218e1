/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON <-> CBOR for PayloadEncoding=cbor (RFC 8949 sections 6.1 and 6.2): the daemon sends JSON payloads as
 * the equivalent, usually smaller, CBOR; the emulator turns them back into JSON for its record. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Returns 0, -ENOMEM, or -EINVAL if data is not one JSON value, is nested deeper than 64, or holds a number
 * beyond the double range (1e999) or text that is not strict UTF-8 (an overlong form, an encoded surrogate).
 * Numbers: integers as CBOR integers, others as the shortest float (half, single, double) that is exact. */
int json_cbor_encode(const void *json, size_t len, uint8_t **ret, size_t *ret_len);

/* Compact JSON text of one CBOR item. -EBADMSG if data is not exactly one well-formed item, or uses what
 * JSON cannot express (non-text map keys or keys holding U+0000, byte strings, undefined, non-finite floats). */
int json_cbor_decode(const void *cbor, size_t len, char **ret);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CoAP "AES mode" payload protection (PROTOCOL.md A.6, A.7): key = SHA-256(secret "," random)[8..24),
 * AES-128-CBC with the fixed IV "543yhjy97ae7fyfg" and PKCS#7 padding (always at least one pad byte). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define AES_KEY_SIZE 16
#define AES_BLOCK_SIZE 16

extern const uint8_t aes_iv[AES_BLOCK_SIZE];

/* Returns 0, -EINVAL, or -EIO on a GnuTLS failure. */
int aes_derive_key(const char *secret, const char *random, uint8_t ret_key[static AES_KEY_SIZE]);

/* floor(len/16)*16 + 16 */
size_t aes_encrypted_size(size_t plain_len);

/* Encrypts len bytes (len may be 0) into a malloc'd buffer of aes_encrypted_size(len) bytes. */
int aes_encrypt(const uint8_t key[static AES_KEY_SIZE], const void *in, size_t len, uint8_t **ret,
                size_t *ret_len);

/* Strict: the input must be a non-zero multiple of 16 bytes with valid PKCS#7 padding, else -EBADMSG.
 * The result is malloc'd (and NUL-terminated one byte past *ret_len, for convenience). */
int aes_decrypt(const uint8_t key[static AES_KEY_SIZE], const void *in, size_t len, uint8_t **ret,
                size_t *ret_len);

/* Lenient, for publish-response payloads (PROTOCOL.md E.8): like aes_decrypt(), but when the length is not a
 * multiple of 16 or the padding is invalid, returns a copy of the raw input and 1 instead of an error. */
int aes_decrypt_lenient(const uint8_t key[static AES_KEY_SIZE], const void *in, size_t len, uint8_t **ret,
                        size_t *ret_len);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CoAP AES mode (PROTOCOL.md A.6, A.7): SHA-256 key derivation and AES-128-CBC with the platform's fixed IV;
 * PKCS#7 padding is applied and checked here, GnuTLS only runs the raw CBC. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "aes.h"
#include "macro.h"

const uint8_t aes_iv[AES_BLOCK_SIZE] = "543yhjy97ae7fyfg";

int aes_derive_key(const char *secret, const char *random, uint8_t ret_key[static AES_KEY_SIZE]) {
        uint8_t digest[32];
        size_t ls, lr;
        char *src;
        int r;

        if (!secret || !random || !ret_key)
                return -EINVAL;

        ls = strlen(secret);
        lr = strlen(random);
        src = malloc(ls + 1 + lr + 1);
        if (!src)
                return -ENOMEM;
        memcpy(src, secret, ls);
        src[ls] = ',';
        memcpy(src + ls + 1, random, lr + 1);

        r = gnutls_hash_fast(GNUTLS_DIG_SHA256, src, ls + 1 + lr, digest);
        src = erase_and_free(src);
        if (r < 0) {
                explicit_bzero(digest, sizeof(digest));
                return -EIO;
        }

        /* The key is the raw bytes 8..24 of the digest, i.e. hex chars 16..48 decoded (A.6). */
        memcpy(ret_key, digest + 8, AES_KEY_SIZE);
        explicit_bzero(digest, sizeof(digest));
        return 0;
}

size_t aes_encrypted_size(size_t plain_len) {
        return plain_len / AES_BLOCK_SIZE * AES_BLOCK_SIZE + AES_BLOCK_SIZE;
}

/* Runs CBC over len bytes (a multiple of 16) from the fixed IV; in and out may be the same buffer. */
static int aes_cbc(const uint8_t key[static AES_KEY_SIZE], bool encrypt, const void *in, void *out,
                   size_t len) {
        gnutls_datum_t k = { .data = (unsigned char *) key, .size = AES_KEY_SIZE };
        gnutls_datum_t iv = { .data = (unsigned char *) aes_iv, .size = AES_BLOCK_SIZE };
        gnutls_cipher_hd_t h;
        int r;

        r = gnutls_cipher_init(&h, GNUTLS_CIPHER_AES_128_CBC, &k, &iv);
        if (r < 0)
                return r == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EIO;

        if (encrypt)
                r = gnutls_cipher_encrypt2(h, in, len, out, len);
        else
                r = gnutls_cipher_decrypt2(h, in, len, out, len);
        gnutls_cipher_deinit(h);
        return r < 0 ? -EIO : 0;
}

int aes_encrypt(const uint8_t key[static AES_KEY_SIZE], const void *in, size_t len, uint8_t **ret,
                size_t *ret_len) {
        size_t n;
        uint8_t *buf, pad;
        int r;

        if (!key || (!in && len > 0) || !ret || len > SIZE_MAX - 2 * AES_BLOCK_SIZE)
                return -EINVAL;

        n = aes_encrypted_size(len);
        pad = (uint8_t) (n - len);
        buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        if (len > 0)
                memcpy(buf, in, len);
        memset(buf + len, pad, pad);

        r = aes_cbc(key, true, buf, buf, n);
        if (r < 0)
                return erase_and_free_sized(buf, n), r;

        *ret = buf;
        if (ret_len)
                *ret_len = n;
        return 0;
}

/* Decrypts into a malloc'd buffer of len+1 bytes and returns the unpadded length, or -EBADMSG. */
static int aes_decrypt_internal(const uint8_t key[static AES_KEY_SIZE], const void *in, size_t len,
                                uint8_t **ret, size_t *ret_len) {
        uint8_t *buf, pad, bad = 0;
        int r;

        if (len == 0 || len % AES_BLOCK_SIZE != 0)
                return -EBADMSG;

        buf = malloc(len + 1);
        if (!buf)
                return -ENOMEM;

        r = aes_cbc(key, false, in, buf, len);
        if (r < 0)
                return erase_and_free_sized(buf, len + 1), r;

        pad = buf[len - 1];
        if (pad == 0 || pad > AES_BLOCK_SIZE)
                return erase_and_free_sized(buf, len + 1), -EBADMSG;
        for (size_t i = len - pad; i < len; i++)
                bad |= buf[i] ^ pad;
        if (bad)
                return erase_and_free_sized(buf, len + 1), -EBADMSG;

        explicit_bzero(buf + len - pad, pad);
        buf[len - pad] = 0;
        *ret = buf;
        if (ret_len)
                *ret_len = len - pad;
        return 0;
}

int aes_decrypt(const uint8_t key[static AES_KEY_SIZE], const void *in, size_t len, uint8_t **ret,
                size_t *ret_len) {
        if (!key || (!in && len > 0) || !ret)
                return -EINVAL;

        return aes_decrypt_internal(key, in, len, ret, ret_len);
}

int aes_decrypt_lenient(const uint8_t key[static AES_KEY_SIZE], const void *in, size_t len, uint8_t **ret,
                        size_t *ret_len) {
        uint8_t *raw;
        int r;

        if (!key || (!in && len > 0) || !ret)
                return -EINVAL;

        r = aes_decrypt_internal(key, in, len, ret, ret_len);
        if (r != -EBADMSG)
                return r;

        /* Not our framing: hand the bytes over unchanged, as the SDK does (E.8). */
        raw = malloc(len + 1);
        if (!raw)
                return -ENOMEM;
        if (len > 0)
                memcpy(raw, in, len);
        raw[len] = 0;
        *ret = raw;
        if (ret_len)
                *ret_len = len;
        return 1;
}

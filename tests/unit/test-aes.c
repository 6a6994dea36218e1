/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for aes.c: the PROTOCOL.md D.4 key derivation and every D.5 AES-128-CBC row in both directions,
 * plus strict and lenient decryption of malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "aes.h"
#include "hex.h"
#include "macro.h"

#define SECRET "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"
#define RANDOM "a3f5c9e1b27d4086"
#define KEY_HEX "7c8e9161c2a35bbb3030d1f866d2e6e6"

/* PROTOCOL.md D.5, verbatim. */
static const struct {
        const char *plain;
        size_t len;
        const char *cipher_hex;
} vectors[] = {
        { "{\"temperature\":25.5,\"humidity\":60}", 34,
          "366f242b6a7d4711b3329e31366d87333e00c054094a31abc8dbc4b97e277588076bd38b2343251aeed86a25e4a7aa9b" },
        { "0123456789abcdef", 16, "1ad87064fb6cf63b759ce3e286831d656ba30949b73df589000aa873df1d5de8" },
        { "", 0, "e3ed309c4eb7fc1d446fc66b2e8d4d11" },
        { "137", 3, "115c934d28ed4f70ff464784346959e0" },
        { "138", 3, "df85fc6d68c5e5f1896175cd23ff2bd4" },
        { "4321", 4, "436b7c6c37852337822eaf39fb4e1d19" },
};

static void get_key(uint8_t key[static AES_KEY_SIZE]) {
        assert_int_equal(aes_derive_key(SECRET, RANDOM, key), 0);
}

static void test_aes_iv(void **state) {
        _cleanup_free_ char *hex = NULL;

        assert_int_equal(hex_encode(aes_iv, AES_BLOCK_SIZE, false, &hex), 0);
        assert_string_equal(hex, "35343379686a79393761653766796667");
        assert_memory_equal(aes_iv, "543yhjy97ae7fyfg", AES_BLOCK_SIZE);
}

static void test_aes_derive_key(void **state) {
        /* D.4: SHA256(secret "," random) = 4255e2ad124fc769 7c8e9161c2a35bbb3030d1f866d2e6e6 740b582ba047987d;
         * the key is hex chars 16..48, i.e. digest bytes 8..24. */
        static const char digest_hex[] = "4255e2ad124fc7697c8e9161c2a35bbb3030d1f866d2e6e6740b582ba047987d";
        uint8_t key[AES_KEY_SIZE];
        _cleanup_free_ char *hex = NULL;

        get_key(key);
        assert_int_equal(hex_encode(key, sizeof(key), false, &hex), 0);
        assert_string_equal(hex, KEY_HEX);
        assert_memory_equal(hex, digest_hex + 16, 32);

        assert_int_equal(aes_derive_key(NULL, RANDOM, key), -EINVAL);
        assert_int_equal(aes_derive_key(SECRET, NULL, key), -EINVAL);
}

static void test_aes_sizes(void **state) {
        assert_int_equal(aes_encrypted_size(0), 16);
        assert_int_equal(aes_encrypted_size(3), 16);
        assert_int_equal(aes_encrypted_size(15), 16);
        assert_int_equal(aes_encrypted_size(16), 32);
        assert_int_equal(aes_encrypted_size(34), 48);
        assert_int_equal(aes_encrypted_size(1263), 1264);
}

static void test_aes_encrypt_vectors(void **state) {
        uint8_t key[AES_KEY_SIZE];

        get_key(key);
        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                _cleanup_free_ uint8_t *out = NULL;
                _cleanup_free_ char *hex = NULL;
                size_t len;

                assert_int_equal(strlen(vectors[i].plain), vectors[i].len);
                assert_int_equal(aes_encrypt(key, vectors[i].plain, vectors[i].len, &out, &len), 0);
                assert_int_equal(len, aes_encrypted_size(vectors[i].len));
                assert_int_equal(hex_encode(out, len, false, &hex), 0);
                assert_string_equal(hex, vectors[i].cipher_hex);
        }
}

static void test_aes_decrypt_vectors(void **state) {
        uint8_t key[AES_KEY_SIZE];

        get_key(key);
        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                _cleanup_free_ void *cipher = NULL;
                _cleanup_free_ uint8_t *plain = NULL, *lenient = NULL;
                size_t clen, plen, llen;

                assert_int_equal(hex_decode(vectors[i].cipher_hex, &cipher, &clen), 0);
                assert_int_equal(aes_decrypt(key, cipher, clen, &plain, &plen), 0);
                assert_int_equal(plen, vectors[i].len);
                assert_memory_equal(plain, vectors[i].plain, plen);
                assert_int_equal(plain[plen], 0);

                assert_int_equal(aes_decrypt_lenient(key, cipher, clen, &lenient, &llen), 0);
                assert_int_equal(llen, vectors[i].len);
                assert_string_equal((char *) lenient, vectors[i].plain);
        }
}

static void test_aes_round_trip(void **state) {
        uint8_t key[AES_KEY_SIZE], data[100];

        get_key(key);
        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) (i * 7);
        for (size_t len = 0; len <= sizeof(data); len++) {
                _cleanup_free_ uint8_t *c = NULL, *p = NULL;
                size_t clen, plen;

                assert_int_equal(aes_encrypt(key, data, len, &c, &clen), 0);
                assert_int_equal(clen, aes_encrypted_size(len));
                assert_int_equal(aes_decrypt(key, c, clen, &p, &plen), 0);
                assert_int_equal(plen, len);
                assert_memory_equal(p, data, len);
        }
}

/* Returns the first cipher block of a two-block encryption of a 16-byte plaintext chosen so that, decrypted
 * alone, its last plaintext byte is not a valid PKCS#7 pad. */
static void first_block(const uint8_t *key, const char plain[static 16], uint8_t ret[static 16]) {
        _cleanup_free_ uint8_t *c = NULL;
        size_t clen;

        assert_int_equal(aes_encrypt(key, plain, 16, &c, &clen), 0);
        assert_int_equal(clen, 32);
        memcpy(ret, c, 16);
}

static void test_aes_decrypt_strict(void **state) {
        static const char *const bad_plain[] = {
                "0123456789abcdef",                 /* pad 0x66 > 16 */
                "0123456789abcde\x00",              /* pad 0 */
                "0123456789abcd\x03\x02",           /* pad 2, but the byte before is 3 */
                "\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11", /* pad 17 */
        };
        uint8_t key[AES_KEY_SIZE], block[16];
        _cleanup_free_ void *cipher = NULL;
        uint8_t *out = NULL;
        size_t clen;

        get_key(key);
        for (size_t i = 0; i < ELEMENTSOF(bad_plain); i++) {
                first_block(key, bad_plain[i], block);
                assert_int_equal(aes_decrypt(key, block, sizeof(block), &out, NULL), -EBADMSG);
        }

        assert_int_equal(hex_decode(vectors[0].cipher_hex, &cipher, &clen), 0);
        assert_int_equal(aes_decrypt(key, cipher, 0, &out, NULL), -EBADMSG);
        assert_int_equal(aes_decrypt(key, cipher, 15, &out, NULL), -EBADMSG);
        assert_int_equal(aes_decrypt(key, cipher, 17, &out, NULL), -EBADMSG);
        assert_int_equal(aes_decrypt(key, cipher, clen - 1, &out, NULL), -EBADMSG);
        assert_null(out);
}

static void test_aes_decrypt_lenient(void **state) {
        static const char raw[] = "{\"id\":\"plaintext reply\"}"; /* 24 bytes: not a multiple of 16 */
        uint8_t key[AES_KEY_SIZE], block[16];

        get_key(key);
        {
                _cleanup_free_ uint8_t *out = NULL;
                size_t len;

                assert_int_equal(aes_decrypt_lenient(key, raw, strlen(raw), &out, &len), 1);
                assert_int_equal(len, strlen(raw));
                assert_string_equal((char *) out, raw);
        }
        {
                _cleanup_free_ uint8_t *out = NULL;
                size_t len;

                first_block(key, "0123456789abcdef", block);
                assert_int_equal(aes_decrypt_lenient(key, block, sizeof(block), &out, &len), 1);
                assert_int_equal(len, sizeof(block));
                assert_memory_equal(out, block, sizeof(block));
        }
        {
                _cleanup_free_ uint8_t *out = NULL;
                size_t len = 99;

                assert_int_equal(aes_decrypt_lenient(key, NULL, 0, &out, &len), 1);
                assert_int_equal(len, 0);
                assert_int_equal(out[0], 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_aes_iv),
                cmocka_unit_test(test_aes_derive_key),
                cmocka_unit_test(test_aes_sizes),
                cmocka_unit_test(test_aes_encrypt_vectors),
                cmocka_unit_test(test_aes_decrypt_vectors),
                cmocka_unit_test(test_aes_round_trip),
                cmocka_unit_test(test_aes_decrypt_strict),
                cmocka_unit_test(test_aes_decrypt_lenient),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Random values from gnutls_rnd (GNUTLS_RND_NONCE for public values, GNUTLS_RND_KEY for tokens). */
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "macro.h"
#include "sim-ids.h"

static const char token_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

int sim_random_hex(size_t n_bytes, char **ret) {
        uint8_t buf[64];

        if (n_bytes == 0 || n_bytes > sizeof(buf))
                return -EINVAL;
        if (gnutls_rnd(GNUTLS_RND_NONCE, buf, n_bytes) < 0)
                return -EIO;
        return hex_encode(buf, n_bytes, false, ret);
}

int sim_random_seq_offset(uint32_t *ret) {
        uint32_t v;

        if (gnutls_rnd(GNUTLS_RND_NONCE, &v, sizeof(v)) < 0)
                return -EIO;
        *ret = 1 + v % SIM_SEQ_OFFSET_MAX;
        return 0;
}

int sim_random_token(const char *random, char **ret) {
        const size_t alphabet = sizeof(token_alphabet) - 1;
        uint8_t buf[SIM_TOKEN_RANDOM_CHARS * 2];
        char *t;
        size_t n = 0;

        if (!random || strlen(random) < 4)
                return -EINVAL;
        t = malloc(SIM_TOKEN_RANDOM_CHARS + 1 + 4 + 1);
        if (!t)
                return -ENOMEM;

        /* Rejection sampling keeps the characters uniform; refill until enough bytes were accepted. */
        while (n < SIM_TOKEN_RANDOM_CHARS) {
                if (gnutls_rnd(GNUTLS_RND_KEY, buf, sizeof(buf)) < 0) {
                        erase_and_free_sized(t, SIM_TOKEN_RANDOM_CHARS + 6);
                        return -EIO;
                }
                for (size_t i = 0; i < sizeof(buf) && n < SIM_TOKEN_RANDOM_CHARS; i++)
                        if (buf[i] < 256 - 256 % alphabet)
                                t[n++] = token_alphabet[buf[i] % alphabet];
        }
        explicit_bzero(buf, sizeof(buf));
        t[n++] = '.';
        memcpy(t + n, random, 4);
        t[n + 4] = '\0';

        *ret = t;
        return 0;
}

uint64_t sim_message_id_next(uint64_t *last, uint64_t now_ms) {
        uint64_t id = now_ms * UINT64_C(1000000);

        if (id <= *last)
                id = *last + 1;
        *last = id;
        return id;
}

uint64_t sim_now(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                abort(); /* only with an invalid clock id, a programming error */
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / 1000;
}

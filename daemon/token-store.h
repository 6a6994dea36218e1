/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Cached platform tokens, one file per identity under STATE/tokens/ (mode 0600, written atomically), so a
 * restart does not force a new handshake. A record is only used by the identity it was made for. */
#pragma once

#include <stdint.h>

#include "identity.h"

typedef struct TokenRecord {
        char *token;            /* secret */
        char *random;           /* coap-aes: the auth "random", to derive the AES key again (secret); else NULL */
        uint64_t seq;           /* coap-aes: every seq used so far is below this */
        uint64_t expires_usec;  /* CLOCK_REALTIME; 0 = unknown */
} TokenRecord;

void token_record_done(TokenRecord *r); /* wipes */

/* -ENOENT when there is no record, or it belongs to another ProductKey/DeviceName/transport/endpoint, or it
 * expired. */
int token_store_load(const char *state_dir, const Identity *id, TokenRecord *ret);
int token_store_save(const char *state_dir, const Identity *id, const TokenRecord *r);
int token_store_remove(const char *state_dir, const char *name);

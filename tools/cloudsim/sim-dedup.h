/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Retransmission cache (PROTOCOL.md E.5): the reply sent for each recent (peer, MID, token), so a repeated
 * request gets the identical response without being processed again. Bounded in entries and in age. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sim-reply.h"

#define SIM_DEDUP_ENTRIES_DEFAULT 1024
#define SIM_DEDUP_LIFETIME_USEC (247ULL * 1000000ULL) /* EXCHANGE_LIFETIME, RFC 7252 4.8.2 */
#define SIM_DEDUP_PEER_MAX 32
#define SIM_DEDUP_TOKEN_MAX 8

typedef struct SimDedupKey {
        uint8_t peer[SIM_DEDUP_PEER_MAX];   /* opaque: transport, family, port and address bytes */
        size_t peer_len;
        uint16_t mid;
        uint8_t token[SIM_DEDUP_TOKEN_MAX];
        size_t token_len;
} SimDedupKey;

/* Returns 0, or -EINVAL if the peer or the token is too long to be a key. */
int sim_dedup_key_init(SimDedupKey *k, const void *peer, size_t peer_len, uint16_t mid, const void *token,
                       size_t token_len);

typedef struct SimDedup SimDedup;

int sim_dedup_new(size_t max_entries, uint64_t lifetime_usec, SimDedup **ret);
SimDedup *sim_dedup_free(SimDedup *d);

/* The reply cached for k that is younger than the lifetime at now (any monotonic clock), or NULL. */
const SimReply *sim_dedup_find(SimDedup *d, const SimDedupKey *k, uint64_t now);
/* Stores a copy of reply for k, replacing an entry with the same key, else evicting the oldest entry.
 * Returns 0 or -ENOMEM. */
int sim_dedup_add(SimDedup *d, const SimDedupKey *k, const SimReply *reply, uint64_t now);
/* Number of entries still alive at now. */
size_t sim_dedup_count(const SimDedup *d, uint64_t now);

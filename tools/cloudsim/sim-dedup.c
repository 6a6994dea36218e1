/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The retransmission cache: a fixed ring of entries, oldest overwritten first, entries ignored once older
 * than the lifetime. A linear scan is fine for the emulator's 1024 entries. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "sim-dedup.h"

typedef struct SimDedupEntry {
        bool used;
        SimDedupKey key;
        uint64_t added;
        SimReply reply;
} SimDedupEntry;

struct SimDedup {
        SimDedupEntry *entries;
        size_t max_entries;
        size_t next;            /* ring position that is overwritten next */
        uint64_t lifetime_usec;
};

int sim_dedup_key_init(SimDedupKey *k, const void *peer, size_t peer_len, uint16_t mid, const void *token,
                       size_t token_len) {
        if (peer_len > SIM_DEDUP_PEER_MAX || token_len > SIM_DEDUP_TOKEN_MAX)
                return -EINVAL;

        *k = (SimDedupKey) { .peer_len = peer_len, .mid = mid, .token_len = token_len };
        if (peer_len > 0)
                memcpy(k->peer, peer, peer_len);
        if (token_len > 0)
                memcpy(k->token, token, token_len);
        return 0;
}

static bool key_equal(const SimDedupKey *a, const SimDedupKey *b) {
        return a->mid == b->mid && a->peer_len == b->peer_len && a->token_len == b->token_len &&
                memcmp(a->peer, b->peer, a->peer_len) == 0 && memcmp(a->token, b->token, a->token_len) == 0;
}

static bool entry_alive(const SimDedup *d, const SimDedupEntry *e, uint64_t now) {
        return e->used && now - e->added < d->lifetime_usec;
}

int sim_dedup_new(size_t max_entries, uint64_t lifetime_usec, SimDedup **ret) {
        SimDedup *d;

        if (max_entries == 0 || lifetime_usec == 0)
                return -EINVAL;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->entries = calloc(max_entries, sizeof(SimDedupEntry));
        if (!d->entries) {
                free(d);
                return -ENOMEM;
        }
        d->max_entries = max_entries;
        d->lifetime_usec = lifetime_usec;

        *ret = d;
        return 0;
}

SimDedup *sim_dedup_free(SimDedup *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->max_entries; i++)
                sim_reply_done(&d->entries[i].reply);
        free(d->entries);
        free(d);
        return NULL;
}

static SimDedupEntry *find_entry(SimDedup *d, const SimDedupKey *k) {
        for (size_t i = 0; i < d->max_entries; i++)
                if (d->entries[i].used && key_equal(&d->entries[i].key, k))
                        return &d->entries[i];
        return NULL;
}

const SimReply *sim_dedup_find(SimDedup *d, const SimDedupKey *k, uint64_t now) {
        SimDedupEntry *e = find_entry(d, k);

        if (!e || !entry_alive(d, e, now))
                return NULL;
        return &e->reply;
}

int sim_dedup_add(SimDedup *d, const SimDedupKey *k, const SimReply *reply, uint64_t now) {
        SimDedupEntry *e;
        SimReply copy;

        if (sim_reply_copy(reply, &copy) < 0)
                return -ENOMEM;

        e = find_entry(d, k);
        if (!e) {
                e = &d->entries[d->next];
                d->next = (d->next + 1) % d->max_entries;
        }
        sim_reply_done(&e->reply);
        *e = (SimDedupEntry) { .used = true, .key = *k, .added = now, .reply = copy };
        return 0;
}

size_t sim_dedup_count(const SimDedup *d, uint64_t now) {
        size_t n = 0;

        for (size_t i = 0; i < d->max_entries; i++)
                if (entry_alive(d, &d->entries[i], now))
                        n++;
        return n;
}

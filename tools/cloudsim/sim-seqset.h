/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The seq values one auth session has used (PROTOCOL.md A.9, E.4), as sorted disjoint ranges: the usual
 * increasing sequence costs a single range, and the number of gaps is bounded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_SEQSET_RANGES_MAX 4096

typedef struct SimSeqRange {
        uint32_t lo, hi; /* inclusive */
} SimSeqRange;

typedef struct SimSeqSet {
        SimSeqRange *ranges;
        size_t n_ranges, n_allocated;
} SimSeqSet;

bool sim_seqset_contains(const SimSeqSet *s, uint32_t v);
/* Returns 0, -EEXIST if v is already in the set, -ENOBUFS past SIM_SEQSET_RANGES_MAX gaps, -ENOMEM. */
int sim_seqset_add(SimSeqSet *s, uint32_t v);
void sim_seqset_done(SimSeqSet *s);

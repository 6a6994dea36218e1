/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Range set of used seq values: binary search, then extend, merge or insert a range. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "sim-seqset.h"

/* Index of the first range whose lo is greater than v (n_ranges if none). */
static size_t upper_bound(const SimSeqSet *s, uint32_t v) {
        size_t lo = 0, hi = s->n_ranges;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (s->ranges[mid].lo > v)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return lo;
}

bool sim_seqset_contains(const SimSeqSet *s, uint32_t v) {
        size_t i = upper_bound(s, v);

        return i > 0 && s->ranges[i - 1].hi >= v;
}

static int insert_range(SimSeqSet *s, size_t i, uint32_t v) {
        if (s->n_ranges >= SIM_SEQSET_RANGES_MAX)
                return -ENOBUFS;
        if (s->n_ranges == s->n_allocated) {
                size_t n = MAX(s->n_allocated * 2, (size_t) 8);
                SimSeqRange *r = reallocarray(s->ranges, n, sizeof(SimSeqRange));

                if (!r)
                        return -ENOMEM;
                s->ranges = r;
                s->n_allocated = n;
        }
        memmove(s->ranges + i + 1, s->ranges + i, (s->n_ranges - i) * sizeof(SimSeqRange));
        s->ranges[i] = (SimSeqRange) { v, v };
        s->n_ranges++;
        return 0;
}

int sim_seqset_add(SimSeqSet *s, uint32_t v) {
        size_t i = upper_bound(s, v);
        bool joins_left, joins_right;

        if (i > 0 && s->ranges[i - 1].hi >= v)
                return -EEXIST;

        joins_left = i > 0 && s->ranges[i - 1].hi + 1 == v;
        joins_right = i < s->n_ranges && v < UINT32_MAX && s->ranges[i].lo == v + 1;

        if (joins_left && joins_right) {
                s->ranges[i - 1].hi = s->ranges[i].hi;
                memmove(s->ranges + i, s->ranges + i + 1, (s->n_ranges - i - 1) * sizeof(SimSeqRange));
                s->n_ranges--;
        } else if (joins_left)
                s->ranges[i - 1].hi = v;
        else if (joins_right)
                s->ranges[i].lo = v;
        else
                return insert_range(s, i, v);
        return 0;
}

void sim_seqset_done(SimSeqSet *s) {
        free(s->ranges);
        *s = (SimSeqSet) {};
}

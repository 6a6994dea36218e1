/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See parse-util.h. */
#include <errno.h>
#include <stdlib.h>

#include "parse-util.h"

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

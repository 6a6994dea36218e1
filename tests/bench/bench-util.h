/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the direct baseline clients of make bench share: a monotonic clock in seconds and reading the device
 * secret from a file (never from the command line). */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "time-util.h"

static inline double now_sec(void) {
        return (double) now_monotonic_usec() / 1e6;
}

/* The first line of path, without its newline, into buf. Returns 0, -errno, or -EINVAL if empty. */
static inline int bench_read_secret(const char *path, char *buf, size_t size) {
        FILE *f = fopen(path, "re");
        int ok;

        if (!f)
                return -errno;
        ok = fgets(buf, (int) size, f) != NULL;
        fclose(f);
        if (!ok)
                return -EINVAL;
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

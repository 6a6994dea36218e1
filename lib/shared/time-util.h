/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Wall-clock time in microseconds, the unit iotpub stores and puts on the bus (TTLs, history, token expiry). */
#pragma once

#include <stdint.h>
#include <time.h>

#define USEC_PER_SEC 1000000ULL

static inline uint64_t now_realtime_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

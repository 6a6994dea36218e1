/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whether the wall clock can be trusted (for certificate checks and for measuring time across reboots): pure
 * rules over a ClockSample, so that tests can inject any clock, plus reading one sample. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

#define CLOCK_TIMESYNC_DIR "/run/systemd/timesync"
/* How long after boot a clock that systemd-timesyncd has not synchronised yet is waited for. */
#define CLOCK_SYNC_WAIT_USEC (5 * 60 * USEC_PER_SEC)
#define CLOCK_RELEASE_USEC ((uint64_t) IOTPUB_RELEASE_EPOCH * USEC_PER_SEC)

/* The rule, in order:
 *  1. A clock before this release (the Makefile's RELEASE_EPOCH, as `iotpubctl check` uses) is wrong: a board
 *     without an RTC boots in 1970 or 2000, and nothing we could talk to was built then.
 *  2. While systemd-timesyncd runs (its RuntimeDirectory /run/systemd/timesync exists: it is removed when the
 *     service stops) and has not synchronised since boot (it touches /run/systemd/timesync/synchronized on its
 *     first synchronisation, which is what systemd-time-wait-sync.service waits for), the clock is wrong for
 *     at most CLOCK_SYNC_WAIT_USEC of CLOCK_BOOTTIME after boot. The bound keeps a board with a good RTC and no
 *     reachable NTP server sending; timesyncd's own clock file keeps an RTC-less board's clock after the
 *     previous shutdown, which is plausible enough for certificates that are valid for months.
 *     timedatectl's NTPSynchronized (adjtimex()'s STA_UNSYNC) is not used: the kernel clears it only while an
 *     NTP daemon disciplines the clock, so it says "unsynchronised" on a board whose RTC is right.
 *  3. Otherwise the clock is trusted. */
typedef enum ClockVerdict {
        CLOCK_TRUSTED,
        CLOCK_BEFORE_RELEASE,
        CLOCK_NOT_SYNCHRONIZED,
        _CLOCK_VERDICT_MAX,
        _CLOCK_VERDICT_INVALID = -EINVAL,
} ClockVerdict;

typedef struct ClockSample {
        uint64_t realtime_usec;
        uint64_t boottime_usec;
        bool timesync_running;       /* CLOCK_TIMESYNC_DIR exists */
        bool timesync_synchronized;  /* CLOCK_TIMESYNC_DIR/synchronized exists */
} ClockSample;

ClockVerdict clock_judge(const ClockSample *s);

/* Reads both clocks and the markers under timesync_dir (NULL: not looked at). */
void clock_sample(const char *timesync_dir, ClockSample *ret);

/* The LastError text for a device that waits for the clock; "" when v is CLOCK_TRUSTED. No secrets. */
void clock_describe(ClockVerdict v, const ClockSample *s, char *buf, size_t size);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The clock rule and its LastError texts; see clock.h. */
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "macro.h"

ClockVerdict clock_judge(const ClockSample *s) {
        if (s->realtime_usec < CLOCK_RELEASE_USEC)
                return CLOCK_BEFORE_RELEASE;
        if (s->timesync_running && !s->timesync_synchronized && s->boottime_usec < CLOCK_SYNC_WAIT_USEC)
                return CLOCK_NOT_SYNCHRONIZED;
        return CLOCK_TRUSTED;
}

void clock_sample(const char *timesync_dir, ClockSample *ret) {
        char path[256];
        struct stat st;

        *ret = (ClockSample) {
                .realtime_usec = now_realtime_usec(),
                .boottime_usec = now_boottime_usec(),
        };
        if (!timesync_dir)
                return;
        ret->timesync_running = stat(timesync_dir, &st) >= 0 && S_ISDIR(st.st_mode);
        (void) snprintf(path, sizeof(path), "%s/synchronized", timesync_dir);
        ret->timesync_synchronized = ret->timesync_running && access(path, F_OK) >= 0;
}

static void format_utc(uint64_t usec, bool date_only, char *buf, size_t size) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;
        size_t n = 0;

        if (gmtime_r(&t, &tm))
                n = date_only ? strftime(buf, size, "%Y-%m-%d", &tm) : strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
        if (n == 0)
                (void) snprintf(buf, size, "@%lld", (long long) t);
}

void clock_describe(ClockVerdict v, const ClockSample *s, char *buf, size_t size) {
        char now[32], release[16];

        format_utc(s->realtime_usec, false, now, sizeof(now));
        format_utc(CLOCK_RELEASE_USEC, true, release, sizeof(release));
        if (v == CLOCK_BEFORE_RELEASE)
                (void) snprintf(buf, size, "the system clock (%s) is before this release (%s); waiting for it to "
                                "be set before checking certificates", now, release);
        else if (v == CLOCK_NOT_SYNCHRONIZED)
                (void) snprintf(buf, size, "the system clock (%s) is not synchronised yet (systemd-timesyncd); "
                                "waiting for it before checking certificates, at most %llu s after boot", now,
                                (unsigned long long) (CLOCK_SYNC_WAIT_USEC / USEC_PER_SEC));
        else
                buf[0] = 0;
}

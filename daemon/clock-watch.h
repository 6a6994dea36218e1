/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Watches the wall clock and judges it with clock.h's rule: a CLOCK_REALTIME timerfd with TFD_TIMER_CANCEL_ON_SET
 * wakes us when anyone sets the clock (sd-event has no such timer), inotify on systemd-timesyncd's runtime
 * directory when it synchronises, and a CLOCK_BOOTTIME timer at the end of the wait for it. The verdict is
 * cached; clock_watch_check() re-reads it on demand (two clock_gettime() calls, plus two stat()s in the first
 * minutes after boot), which is how clock changes that notify no one (libfaketime) are noticed: on the next
 * Publish, Flush, Reload or network change. */
#pragma once

#include <systemd/sd-event.h>

#include "clock.h"
#include "macro.h"

typedef struct ClockWatch ClockWatch;

/* Called when the verdict changed (the sample is the one it was judged on). */
typedef void (*clock_watch_change_t)(void *userdata, ClockVerdict verdict, const ClockSample *now);

/* timesync_dir: NULL not to look at systemd-timesyncd. */
int clock_watch_new(sd_event *event, const char *timesync_dir, clock_watch_change_t cb, void *userdata,
                    ClockWatch **ret);
ClockWatch *clock_watch_free(ClockWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(ClockWatch *, clock_watch_free);

/* Judges the clock again now, calling the callback if the verdict changed. Returns the verdict. */
ClockVerdict clock_watch_check(ClockWatch *w);
/* The cached verdict (CLOCK_TRUSTED for w == NULL) and its LastError text (NULL when trusted). */
ClockVerdict clock_watch_verdict(const ClockWatch *w);
const char *clock_watch_problem(const ClockWatch *w);
/* A fresh sample of the clocks, for checkpoints. */
void clock_watch_sample(const ClockWatch *w, ClockSample *ret);

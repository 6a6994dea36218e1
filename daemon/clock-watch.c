/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The wall clock watched on sd-event; see clock-watch.h. */
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>

#include "clock-watch.h"
#include "log.h"

struct ClockWatch {
        sd_event *event;
        char *timesync_dir;
        int timer_fd;
        sd_event_source *timer_source;   /* the cancel-on-set timerfd */
        int inotify_fd;
        sd_event_source *inotify_source; /* timesync_dir, while it is watched */
        sd_event_source *window_timer;   /* the end of the wait for systemd-timesyncd */
        ClockVerdict verdict;
        char problem[256];
        clock_watch_change_t cb;
        void *userdata;
};

/* A timer that never fires but is cancelled (read() fails with ECANCELED) whenever CLOCK_REALTIME is set. */
static int clock_watch_arm_timerfd(ClockWatch *w) {
        struct itimerspec its = { .it_value.tv_sec = (time_t) INT64_MAX / 2 };

        if (timerfd_settime(w->timer_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
                return log_warning_errno(errno, "Cannot watch the system clock for changes: %m");
        return 0;
}

void clock_watch_sample(const ClockWatch *w, ClockSample *ret) {
        /* The timesync markers matter only in the first minutes after boot (clock.h): do not stat() later. */
        clock_sample(NULL, ret);
        if (w && w->timesync_dir && ret->boottime_usec < CLOCK_SYNC_WAIT_USEC)
                clock_sample(w->timesync_dir, ret);
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static int on_window_end(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) clock_watch_check(userdata);
        return 0;
}

/* Follows timesync_dir while the wait for systemd-timesyncd is on; stops once it is over. */
static void clock_watch_follow_timesync(ClockWatch *w, const ClockSample *s) {
        bool waiting = w->verdict == CLOCK_NOT_SYNCHRONIZED;
        int r;

        if (!waiting) {
                w->inotify_source = sd_event_source_disable_unref(w->inotify_source);
                w->window_timer = sd_event_source_disable_unref(w->window_timer);
                w->inotify_fd = safe_close(w->inotify_fd);
                return;
        }
        if (!w->inotify_source) {
                w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (w->inotify_fd < 0 ||
                    inotify_add_watch(w->inotify_fd, w->timesync_dir,
                                      IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_ONLYDIR) < 0 ||
                    sd_event_add_io(w->event, &w->inotify_source, w->inotify_fd, EPOLLIN, on_inotify, w) < 0) {
                        log_debug_errno(errno, "Cannot watch %s: %m", w->timesync_dir);
                        w->inotify_fd = safe_close(w->inotify_fd);
                }
        }
        if (!w->window_timer) {
                r = sd_event_add_time(w->event, &w->window_timer, CLOCK_BOOTTIME, CLOCK_SYNC_WAIT_USEC, USEC_PER_SEC,
                                      on_window_end, w);
                if (r < 0)
                        log_debug_errno(r, "Cannot arm the timer for the end of the wait for timesyncd: %m");
        }
}

ClockVerdict clock_watch_check(ClockWatch *w) {
        ClockVerdict old;
        ClockSample s;

        if (!w)
                return CLOCK_TRUSTED;
        old = w->verdict;
        clock_watch_sample(w, &s);
        w->verdict = clock_judge(&s);
        clock_describe(w->verdict, &s, w->problem, sizeof(w->problem));
        if (w->timesync_dir)
                clock_watch_follow_timesync(w, &s);
        if (w->verdict != old && w->cb)
                w->cb(w->userdata, w->verdict, &s);
        return w->verdict;
}

ClockVerdict clock_watch_verdict(const ClockWatch *w) {
        return w ? w->verdict : CLOCK_TRUSTED;
}

const char *clock_watch_problem(const ClockWatch *w) {
        return w && w->verdict != CLOCK_TRUSTED ? w->problem : NULL;
}

static int on_clock_set(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ClockWatch *w = userdata;
        uint64_t expirations;

        /* ECANCELED: the clock was set. Anything else (it cannot expire) is only drained. */
        if (read(fd, &expirations, sizeof(expirations)) < 0 && errno == ECANCELED)
                log_debug("The system clock was set.");
        (void) clock_watch_arm_timerfd(w);
        (void) clock_watch_check(w);
        return 0;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ClockWatch *w = userdata;
        uint8_t buf[4096];

        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        /* The directory itself may have gone (timesyncd stopped): watch afresh if the wait goes on. */
        w->inotify_source = sd_event_source_disable_unref(w->inotify_source);
        w->inotify_fd = safe_close(w->inotify_fd);
        (void) clock_watch_check(w);
        return 0;
}

int clock_watch_new(sd_event *event, const char *timesync_dir, clock_watch_change_t cb, void *userdata,
                    ClockWatch **ret) {
        _cleanup_(clock_watch_freep) ClockWatch *w = NULL;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(event);
        w->timer_fd = w->inotify_fd = -1;
        if (timesync_dir && !(w->timesync_dir = strdup(timesync_dir)))
                return -ENOMEM;

        w->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
        if (w->timer_fd < 0)
                return -errno;
        if (clock_watch_arm_timerfd(w) >= 0) {
                r = sd_event_add_io(event, &w->timer_source, w->timer_fd, EPOLLIN, on_clock_set, w);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(w->timer_source, "clock-set");
        }
        /* The first verdict is made without a callback: nothing depends on it yet. */
        (void) clock_watch_check(w);
        w->cb = cb;
        w->userdata = userdata;
        *ret = TAKE_PTR(w);
        return 0;
}

ClockWatch *clock_watch_free(ClockWatch *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->timer_source);
        sd_event_source_disable_unref(w->inotify_source);
        sd_event_source_disable_unref(w->window_timer);
        safe_close(w->timer_fd);
        safe_close(w->inotify_fd);
        sd_event_unref(w->event);
        free(w->timesync_dir);
        free(w);
        return NULL;
}

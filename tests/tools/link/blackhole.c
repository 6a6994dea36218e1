/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blackhole: scheduled and signalled black holes of the relays. The schedule is a sorted list of on/off events
 * walked by one timer; SIGUSR2 toggles the state at any time. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blackhole.h"
#include "link-shape.h"
#include "macro.h"

static int parse_seconds(const char *s, const char *end, uint64_t *ret) {
        char buf[32], *e;
        double v;

        if (end <= s || (size_t) (end - s) >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, (size_t) (end - s));
        buf[end - s] = '\0';
        errno = 0;
        v = strtod(buf, &e);
        if (errno != 0 || e == buf || *e != '\0' || !(v >= 0 && v <= 1e6))
                return -EINVAL;
        *ret = (uint64_t) (v * 1e6);
        return 0;
}

/* Sorted by time; at the same time an end goes before a start, so that of back-to-back windows the second
 * still switches the black hole on. */
static bool event_after(const BlackholeEvent *e, uint64_t at, bool on) {
        return e->at_usec > at || (e->at_usec == at && e->on && !on);
}

static void insert_event(Blackhole *b, uint64_t at, bool on) {
        size_t i = b->n_events++;

        for (; i > 0 && event_after(&b->events[i - 1], at, on); i--)
                b->events[i] = b->events[i - 1];
        b->events[i] = (BlackholeEvent) { .at_usec = at, .on = on };
}

int blackhole_parse(Blackhole *b, const char *arg) {
        const char *plus = strchr(arg, '+');
        uint64_t at, duration;

        if (!plus || parse_seconds(arg, plus, &at) < 0 ||
            parse_seconds(plus + 1, plus + strlen(plus), &duration) < 0 || duration == 0)
                return -EINVAL;
        if (b->n_events + 2 > ELEMENTSOF(b->events))
                return -E2BIG;
        insert_event(b, at, true);
        insert_event(b, at + duration, false);
        return 0;
}

void blackhole_print(const Blackhole *b) {
        printf("blackhole state=%s toggles=%llu\n", b->on ? "on" : "off", (unsigned long long) b->toggles);
}

void blackhole_set(Blackhole *b, bool on, const char *why) {
        if (on == b->on)
                return;
        b->on = on;
        b->toggles++;
        printf("blackhole %s why=%s", on ? "on" : "off", why);
        link_print_stamp(stdout);
        printf("\n");
        fflush(stdout);
        if (!on) {
                b->off_at = link_now_usec();
                b->await_first_up = true;
        }
        if (b->on_change)
                b->on_change(on, b->userdata);
}

void blackhole_note_up(Blackhole *b) {
        if (!b->await_first_up)
                return;
        b->await_first_up = false;
        printf("first-up after_off_us=%llu", (unsigned long long) (link_now_usec() - b->off_at));
        link_print_stamp(stdout);
        printf("\n");
        fflush(stdout);
}

static int arm(Blackhole *b) {
        int r;

        if (b->next_event >= b->n_events)
                return sd_event_source_set_enabled(b->timer, SD_EVENT_OFF);
        r = sd_event_source_set_time(b->timer, b->started + b->events[b->next_event].at_usec);
        return r < 0 ? r : sd_event_source_set_enabled(b->timer, SD_EVENT_ONESHOT);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Blackhole *b = userdata;
        uint64_t now = link_now_usec();

        /* Bounded by the number of events. */
        while (b->next_event < b->n_events && b->started + b->events[b->next_event].at_usec <= now)
                blackhole_set(b, b->events[b->next_event++].on, "schedule");
        return arm(b);
}

static int on_sigusr2(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Blackhole *b = userdata;

        blackhole_set(b, !b->on, "signal");
        return 0;
}

int blackhole_start(Blackhole *b, sd_event *e, blackhole_change_t on_change, void *userdata) {
        sigset_t mask;
        int r;

        b->on_change = on_change;
        b->userdata = userdata;
        b->started = link_now_usec();
        sigemptyset(&mask);
        sigaddset(&mask, SIGUSR2);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        r = sd_event_add_signal(e, &b->signal, SIGUSR2, on_sigusr2, b);
        if (r < 0)
                return r;
        /* Accuracy 1 µs: with 0, sd-event lets a timer slip by up to 250 ms, more than a delay. */
        r = sd_event_add_time(e, &b->timer, CLOCK_MONOTONIC, 0, 1, on_timer, b);
        if (r < 0)
                return r;
        /* A window at 0 starts now, before the first datagram. */
        return on_timer(b->timer, 0, b);
}

void blackhole_done(Blackhole *b) {
        b->timer = sd_event_source_disable_unref(b->timer);
        b->signal = sd_event_source_disable_unref(b->signal);
}

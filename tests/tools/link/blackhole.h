/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blackhole: when a relay drops (or, for TCP, holds) everything in both directions. Windows scheduled from the
 * command line (--blackhole=AT+DURATION) and SIGUSR2 (toggle) switch it; the last event wins. Each switch, and
 * the first datagram sent upstream after a black hole ends, is printed as one line on stdout. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#define BLACKHOLE_WINDOWS_MAX 16

typedef void (*blackhole_change_t)(bool on, void *userdata);

typedef struct BlackholeEvent {
        uint64_t at_usec;       /* since blackhole_start() */
        bool on;
} BlackholeEvent;

typedef struct Blackhole {
        BlackholeEvent events[2 * BLACKHOLE_WINDOWS_MAX];
        size_t n_events, next_event;
        bool on;
        bool await_first_up;    /* a black hole ended and nothing has gone upstream since */
        uint64_t started, off_at, toggles;
        sd_event_source *timer, *signal;
        blackhole_change_t on_change;
        void *userdata;
} Blackhole;

/* AT+DURATION in seconds (decimals allowed), counted from the start; repeatable. */
int blackhole_parse(Blackhole *b, const char *arg);
int blackhole_start(Blackhole *b, sd_event *e, blackhole_change_t on_change, void *userdata);
void blackhole_set(Blackhole *b, bool on, const char *why);
/* Called for each datagram (or chunk) that leaves upstream. */
void blackhole_note_up(Blackhole *b);
/* "blackhole state=on|off toggles=N" */
void blackhole_print(const Blackhole *b);
void blackhole_done(Blackhole *b);

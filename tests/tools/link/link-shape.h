/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* link-shape: one direction of an emulated carrier link, shared by udp-relay and tcp-relay: a serialisation
 * queue at a bit rate (drop-tail), seeded loss, duplication and reordering, a one-way delay, and counters. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { LINK_UP, LINK_DOWN, _LINK_DIR_MAX };

typedef struct LinkRng {
        uint64_t state;
} LinkRng;

typedef struct LinkCounters {
        uint64_t in, out, dropped, duplicated, reordered, overflow;
        uint64_t bytes_in, bytes_out, bytes_dropped;
        uint64_t lost, queue_drops, blackholed, nat_drops;
} LinkCounters;

typedef enum LinkDrop {
        LINK_DROP_LOST,         /* the seeded loss */
        LINK_DROP_QUEUE,        /* the serialisation queue was full (drop-tail) */
        LINK_DROP_OVERFLOW,     /* the relay had no room to hold it */
        LINK_DROP_BLACKHOLE,
        LINK_DROP_NAT,          /* a reply for a mapping the NAT has forgotten */
        LINK_DROP_REFUSED,      /* the socket refused it */
        _LINK_DROP_MAX,
        _LINK_DROP_INVALID = -1,
} LinkDrop;

typedef struct LinkDir {
        double loss, dup, reorder;      /* probabilities 0..1 */
        unsigned delay_min_ms, delay_max_ms;
        uint64_t rate_kbit;             /* 0 = no rate limit */
        uint64_t queue_bytes;           /* bound of the serialisation queue; 0 = unbounded */
        uint64_t busy_until;            /* CLOCK_MONOTONIC µs at which the link finishes what it holds */
        LinkCounters c;
} LinkDir;

#define LINK_QUEUE_BYTES_DEFAULT 32768

uint64_t link_now_usec(void);           /* CLOCK_MONOTONIC */
uint64_t link_real_usec(void);          /* CLOCK_REALTIME, comparable with bash's $EPOCHREALTIME */
void link_print_stamp(FILE *f);         /* " mono_us=N real_us=N" */

void link_rng_seed(LinkRng *rng, uint64_t seed);

void link_dir_init(LinkDir *d);
/* A datagram (or a chunk of a stream) of len bytes enters the link at now: counts it and returns how many copies
 * leave (0, 1 or 2), each with its departure time in ret_due[]. A dropped one is counted with its reason. */
unsigned link_dir_admit(LinkDir *d, LinkRng *rng, uint64_t now, size_t len, uint64_t ret_due[static 2]);
void link_dir_count_out(LinkDir *d, size_t len);
void link_dir_count_drop(LinkDir *d, size_t len, LinkDrop why);
/* "NAME in=… out=… dropped=… …": one line, key=value pairs. */
void link_dir_print(FILE *f, const char *name, const LinkDir *d);

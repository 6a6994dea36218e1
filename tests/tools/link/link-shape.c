/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* link-shape: the fate and departure time of each datagram on one direction of an emulated link. The radio
 * serialises one datagram after the other at rate_kbit, so the queue is a single "busy until" time; the one-way
 * delay (with jitter) applies once a datagram has left the queue. */

#include <time.h>

#include "link-shape.h"
#include "macro.h"

static uint64_t clock_usec(clockid_t id) {
        struct timespec ts;

        clock_gettime(id, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}
uint64_t link_now_usec(void) {
        return clock_usec(CLOCK_MONOTONIC);
}
uint64_t link_real_usec(void) {
        return clock_usec(CLOCK_REALTIME);
}
void link_print_stamp(FILE *f) {
        fprintf(f, " mono_us=%llu real_us=%llu", (unsigned long long) link_now_usec(),
                (unsigned long long) link_real_usec());
}

void link_rng_seed(LinkRng *rng, uint64_t seed) {
        rng->state = seed;
}

/* splitmix64: small, fast, and the same sequence for the same seed everywhere. */
static uint64_t rng_next(LinkRng *rng) {
        uint64_t z = (rng->state += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}
static bool chance(LinkRng *rng, double p) {
        return p > 0 && (double) (rng_next(rng) >> 11) / (double) (UINT64_C(1) << 53) < p;
}
static unsigned rng_between(LinkRng *rng, unsigned lo, unsigned hi) {
        return hi <= lo ? lo : lo + (unsigned) (rng_next(rng) % (hi - lo + 1));
}

void link_dir_init(LinkDir *d) {
        *d = (LinkDir) { .queue_bytes = LINK_QUEUE_BYTES_DEFAULT };
}

void link_dir_count_out(LinkDir *d, size_t len) {
        d->c.out++;
        d->c.bytes_out += len;
}

void link_dir_count_drop(LinkDir *d, size_t len, LinkDrop why) {
        d->c.dropped++;
        d->c.bytes_dropped += len;
        switch (why) {
        case LINK_DROP_LOST:
                d->c.lost++;
                break;
        case LINK_DROP_QUEUE:
                d->c.queue_drops++;
                break;
        case LINK_DROP_OVERFLOW:
                d->c.overflow++;
                break;
        case LINK_DROP_BLACKHOLE:
                d->c.blackholed++;
                break;
        case LINK_DROP_NAT:
                d->c.nat_drops++;
                break;
        case LINK_DROP_REFUSED:
        case _LINK_DROP_MAX:
        case _LINK_DROP_INVALID:
                break;
        }
}

/* Serialisation: the datagram starts when the link has finished the previous one. Returns false when the bytes
 * already waiting would exceed the queue's bound (drop-tail). */
static bool serialise(LinkDir *d, uint64_t now, size_t len, uint64_t *ret_done) {
        uint64_t start = MAX(now, d->busy_until);

        if (d->rate_kbit == 0) {
                *ret_done = now;
                return true;
        }
        /* Bytes still waiting in front of this one: what the link cannot send before start. */
        if (d->queue_bytes > 0 && (start - now) * d->rate_kbit / 8000 + len > d->queue_bytes)
                return false;
        d->busy_until = start + (uint64_t) len * 8000 / d->rate_kbit;
        *ret_done = d->busy_until;
        return true;
}

unsigned link_dir_admit(LinkDir *d, LinkRng *rng, uint64_t now, size_t len, uint64_t ret_due[static 2]) {
        uint64_t done;
        unsigned copies;

        d->c.in++;
        d->c.bytes_in += len;
        if (!serialise(d, now, len, &done)) {
                link_dir_count_drop(d, len, LINK_DROP_QUEUE);
                return 0;
        }
        /* Lost on the air, after it took its share of the link. */
        if (chance(rng, d->loss)) {
                link_dir_count_drop(d, len, LINK_DROP_LOST);
                return 0;
        }
        copies = chance(rng, d->dup) ? 2 : 1;
        d->c.duplicated += copies - 1;
        for (unsigned k = 0; k < copies; k++) {
                unsigned delay = rng_between(rng, d->delay_min_ms, d->delay_max_ms);
                if (chance(rng, d->reorder)) {
                        /* Held back long enough for the next datagrams to overtake it. */
                        delay += rng_between(rng, 5, 20 + d->delay_max_ms);
                        d->c.reordered++;
                }
                ret_due[k] = done + (uint64_t) delay * 1000;
        }
        return copies;
}

void link_dir_print(FILE *f, const char *name, const LinkDir *d) {
        const LinkCounters *c = &d->c;

        fprintf(f, "%s in=%llu out=%llu dropped=%llu duplicated=%llu reordered=%llu overflow=%llu bytes_in=%llu "
                "bytes_out=%llu bytes_dropped=%llu lost=%llu queue_drops=%llu blackholed=%llu nat_drops=%llu\n",
                name, (unsigned long long) c->in, (unsigned long long) c->out, (unsigned long long) c->dropped,
                (unsigned long long) c->duplicated, (unsigned long long) c->reordered,
                (unsigned long long) c->overflow, (unsigned long long) c->bytes_in,
                (unsigned long long) c->bytes_out, (unsigned long long) c->bytes_dropped,
                (unsigned long long) c->lost, (unsigned long long) c->queue_drops,
                (unsigned long long) c->blackholed, (unsigned long long) c->nat_drops);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TTL expiry; see expiry.h. */
#include <time.h>

#include "bus-manager.h"
#include "clock-watch.h"
#include "expiry.h"
#include "log.h"
#include "manager.h"
#include "transport.h"
#include "time-util.h"

#define EXPIRY_BATCH 256

struct Expiry {
        Manager *manager;
        sd_event_source *timer;
        uint64_t checkpoint_usec;   /* CLOCK_BOOTTIME of the last checkpoint written */
};

void expiry_checkpoint(Expiry *e) {
        ClockSample sample;
        int r;

        clock_watch_sample(e->manager->clock, &sample);
        r = outbox_ttl_checkpoint(e->manager->outbox, &sample, clock_watch_verdict(e->manager->clock) == CLOCK_TRUSTED);
        if (r < 0)
                log_debug_errno(r, "Cannot record the TTL checkpoint: %m");
        e->checkpoint_usec = sample.boottime_usec;
}

/* Records how far this boot got, at most every EXPIRY_CHECKPOINT_USEC, while messages with a TTL wait. */
static void expiry_checkpoint_due(Expiry *e, uint64_t now) {
        if (e->checkpoint_usec == 0 || now >= e->checkpoint_usec + EXPIRY_CHECKPOINT_USEC)
                expiry_checkpoint(e);
}

static void expiry_arm(Expiry *e, uint64_t usec) {
        if (usec == 0) {
                (void) sd_event_source_set_enabled(e->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(e->timer, usec);
        (void) sd_event_source_set_enabled(e->timer, SD_EVENT_ONESHOT);
}

void expiry_schedule(Expiry *e) {
        uint64_t next = 0, now;

        if (!e || outbox_next_expiry(e->manager->outbox, &next) < 0)
                return;
        now = now_boottime_usec();
        /* Something overdue is still there only while it is being sent: look again a little later. */
        if (next != 0 && next <= now)
                next = now + USEC_PER_SEC;
        /* While messages with a TTL wait, wake up for the next checkpoint too. */
        if (next != 0 && e->checkpoint_usec != 0)
                next = MIN(next, MAX(e->checkpoint_usec + EXPIRY_CHECKPOINT_USEC, now + USEC_PER_SEC));
        expiry_arm(e, next);
}

static void expire_one(Manager *m, const OutboxEntry *oe) {
        Device *d = manager_find_device(m, oe->device);
        int r;

        if (d) {
                /* A message on the wire finishes its exchange; if that fails, the drain expires it. */
                if (!transport_is_inflight(d->transport, oe->id))
                        transport_fail_message(d->transport, oe, "expired");
                return;
        }
        /* The device was removed from the configuration while the message waited. */
        r = outbox_failed(m->outbox, oe->id, "expired");
        if (r > 0)
                bus_manager_emit_failed(m, oe, "expired");
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Expiry *e = userdata;
        OutboxEntry **list = NULL;
        size_t n = 0;
        int r;

        expiry_checkpoint_due(e, now_boottime_usec());
        r = outbox_expired(e->manager->outbox, now_boottime_usec(), EXPIRY_BATCH, &list, &n);
        if (r < 0) {
                log_warning_errno(r, "Cannot look for expired messages: %m");
                expiry_arm(e, now_boottime_usec() + USEC_PER_SEC);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                expire_one(e->manager, list[i]);
                outbox_entry_free(list[i]);
        }
        free(list);
        if (n == EXPIRY_BATCH)
                expiry_arm(e, now_boottime_usec()); /* more to do: continue in the next iteration */
        else
                expiry_schedule(e);
        return 0;
}

int expiry_new(Manager *m, Expiry **ret) {
        _cleanup_(expiry_freep) Expiry *e = NULL;
        int r;

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->manager = m;
        /* outbox_ttl_start() has just written a checkpoint. */
        e->checkpoint_usec = now_boottime_usec();
        r = sd_event_add_time(m->event, &e->timer, CLOCK_BOOTTIME, 0, 100 * 1000, on_timer, e);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(e->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(e->timer, "ttl-expiry");
        expiry_schedule(e);
        *ret = TAKE_PTR(e);
        return 0;
}

Expiry *expiry_free(Expiry *e) {
        if (!e)
                return NULL;
        sd_event_source_unref(e->timer);
        free(e);
        return NULL;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TTL expiry; see expiry.h. */
#include <time.h>

#include "bus-manager.h"
#include "expiry.h"
#include "log.h"
#include "manager.h"
#include "transport.h"
#include "time-util.h"

#define EXPIRY_BATCH 256

struct Expiry {
        Manager *manager;
        sd_event_source *timer;
};

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
        now = now_realtime_usec();
        /* Something overdue is still there only while it is being sent: look again a little later. */
        if (next != 0 && next <= now)
                next = now + USEC_PER_SEC;
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

        r = outbox_expired(e->manager->outbox, now_realtime_usec(), EXPIRY_BATCH, &list, &n);
        if (r < 0) {
                log_warning_errno(r, "Cannot look for expired messages: %m");
                expiry_arm(e, now_realtime_usec() + USEC_PER_SEC);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                expire_one(e->manager, list[i]);
                outbox_entry_free(list[i]);
        }
        free(list);
        if (n == EXPIRY_BATCH)
                expiry_arm(e, now_realtime_usec()); /* more to do: continue in the next iteration */
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
        r = sd_event_add_time(m->event, &e->timer, CLOCK_REALTIME, 0, 100 * 1000, on_timer, e);
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

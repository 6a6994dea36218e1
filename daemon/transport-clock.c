/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Transports waiting for a sane wall clock; see transport-clock.h. */
#include "clock-watch.h"
#include "log.h"
#include "manager.h"
#include "transport-clock.h"
#include "transport.h"

bool transport_clock_matters(const Transport *t) {
        const Identity *id = t->device->identity;

        return id->transport == TRANSPORT_HTTPS || (id->transport == TRANSPORT_COAP_DTLS && id->ca_file);
}

bool transport_clock_wait(Transport *t) {
        Device *d = t->device;
        ClockWatch *w = d->manager->clock;

        if (clock_watch_verdict(w) == CLOCK_TRUSTED || !transport_clock_matters(t))
                return false;
        /* The verdict may be stale where nothing told us of a change; clock_watch_check() reports a change to the
         * Manager, which kicks every device again. */
        if (clock_watch_check(w) == CLOCK_TRUSTED)
                return false;
        if (transport_busy(t))
                return true; /* transport_clock_changed() abandons it when the change is noticed */
        t->backoff_timer = sd_event_source_unref(t->backoff_timer);
        if (d->state != DEVICE_WAITING_FOR_CLOCK)
                log_device_notice(device_name(d), "Waiting for the system clock: %s.", clock_watch_problem(w));
        device_set_last_error(d, clock_watch_problem(w));
        device_set_state(d, DEVICE_WAITING_FOR_CLOCK);
        return true;
}

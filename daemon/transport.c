/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Outbox draining, re-authentication, backoff and expiry, written once for every transport; see transport.h. */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bus-manager.h"
#include "log.h"
#include "manager.h"
#include "transport-clock.h"
#include "transport-coap-aes.h"
#include "transport-coap-dtls.h"
#include "transport-https.h"
#include "transport.h"
#include "time-util.h"

#define REAUTH_MAX 2      /* re-authentications in a row for one message before backing off */
#define EXPIRE_BATCH 1000 /* expired messages handled per loop iteration */

static const TransportVTable *const transport_vtables[_TRANSPORT_KIND_MAX] = {
        [TRANSPORT_COAP_AES] = &transport_coap_aes_vtable,
        [TRANSPORT_COAP_DTLS] = &transport_coap_dtls_vtable,
        [TRANSPORT_HTTPS] = &transport_https_vtable,
};

static Outbox *transport_outbox(Transport *t) {
        return t->device->manager->outbox;
}

static uint64_t random_u64(void) {
        uint64_t v = 0;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
                v = now_realtime_usec() * 6364136223846793005ULL;
        return v;
}

size_t transport_max_payload(const Identity *id, const char *topic) {
        const TransportVTable *vt = transport_vtables[id->transport];

        return vt ? vt->max_payload(id, topic) : 0;
}

void transport_kick(Transport *t) {
        if (t)
                (void) sd_event_source_set_enabled(t->kick_source, SD_EVENT_ONESHOT);
}

void transport_fail_message(Transport *t, const OutboxEntry *e, const char *reason) {
        Device *d = t->device;
        int r;

        r = outbox_failed(transport_outbox(t), e->id, reason);
        if (r < 0)
                log_device_error_errno(device_name(d), r, "Cannot move message %" PRIu64 " to the failed list: %m", e->id);
        if (r == 0)
                return; /* already gone (purged or removed) and reported */
        d->counters.messages_failed++;
        device_property_changed(d, DEVICE_PROP_COUNTERS | DEVICE_PROP_QUEUE);
        log_device_notice(device_name(d), "Message %" PRIu64 " failed: %s", e->id, reason);
        bus_manager_emit_failed(d->manager, e, reason);
}

static int on_backoff_done(sd_event_source *s, uint64_t usec, void *userdata) {
        Transport *t = userdata;

        t->backoff_timer = sd_event_source_unref(t->backoff_timer);
        transport_kick(t);
        return 0;
}

/* Exponential backoff with full jitter between the configured minimum and maximum. */
static void transport_backoff(Transport *t, const char *error) {
        Device *d = t->device;
        uint64_t cap, delay;
        int r;

        cap = t->backoff_min_usec << MIN(t->backoff_step, 20u);
        cap = MIN(cap, t->backoff_max_usec);
        delay = t->backoff_min_usec + random_u64() % (cap - t->backoff_min_usec + 1);
        t->backoff_step++;

        /* Log a failure when it changes, not on every attempt. */
        if (error && !streq_ptr(error, d->last_error))
                log_device_warning(device_name(d), "%s; retrying in %.1f s.", error, (double) delay / 1e6);
        else
                log_device_debug(device_name(d), "Retrying in %.1f s.", (double) delay / 1e6);
        if (error)
                device_set_last_error(d, error);
        if (!transport_reachable(t)) {
                /* No timer while offline: the uplink's return kicks us. */
                device_set_state(d, DEVICE_OFFLINE);
                return;
        }
        if (d->state != DEVICE_ERROR)
                device_set_state(d, DEVICE_BACKOFF);

        t->backoff_timer = sd_event_source_unref(t->backoff_timer);
        r = sd_event_add_time_relative(d->manager->event, &t->backoff_timer, CLOCK_MONOTONIC, delay, 0,
                                       on_backoff_done, t);
        if (r < 0)
                log_device_error_errno(device_name(d), r, "Cannot arm the backoff timer: %m");
}

/* Takes e out of the window. Returns it (the caller frees it), or NULL if it is not outstanding. */
static OutboxEntry *window_take(Transport *t, const OutboxEntry *e) {
        for (size_t i = 0; i < t->n_inflight; i++) {
                OutboxEntry *found = t->inflight[i];

                if (found != e)
                        continue;
                memmove(t->inflight + i, t->inflight + i + 1, (t->n_inflight - i - 1) * sizeof(OutboxEntry *));
                t->n_inflight--;
                return found;
        }
        return NULL;
}

/* Forgets every outstanding send: the messages are still queued and are looked for again from the head. */
static void window_clear(Transport *t) {
        for (size_t i = 0; i < t->n_inflight; i++)
                t->inflight[i] = outbox_entry_free(t->inflight[i]);
        t->n_inflight = 0;
        t->rewind = true;
}

bool transport_is_inflight(const Transport *t, uint64_t id) {
        for (size_t i = 0; i < t->n_inflight; i++)
                if (t->inflight[i]->id == id)
                        return true;
        return false;
}

static void free_entries(OutboxEntry **entries, size_t n) {
        for (size_t i = 0; i < n; i++)
                outbox_entry_free(entries[i]);
}

/* Up to max messages to send next, oldest first, none of them in flight or expired (those are failed on the
 * way). Every queued message up to the cursor is in flight, so one query after the cursor finds them; after a
 * rewind (a message went back to the queue) the query starts at the head. Returns how many are in ret[]. */
static int transport_next(Transport *t, size_t max, OutboxEntry *ret[static TRANSPORT_WINDOW_MAX]) {
        uint64_t now = now_boottime_usec();
        size_t n = 0, examined = 0;

        assert(max <= TRANSPORT_WINDOW_MAX);
        if (t->rewind) {
                t->rewind = false;
                t->cursor = 0;
        }
        while (n < max && examined < EXPIRE_BATCH) {
                OutboxEntry *batch[2 * TRANSPORT_WINDOW_MAX];
                size_t above = 0, want, got = 0;
                int r;

                /* The rows after the cursor include the outstanding ones there, which are skipped. */
                for (size_t i = 0; i < t->n_inflight; i++)
                        above += t->inflight[i]->id > t->cursor;
                want = above + max - n;
                r = outbox_batch(transport_outbox(t), device_name(t->device), t->cursor, want, batch, &got);
                if (r < 0) {
                        free_entries(ret, n);
                        return r;
                }
                examined += got;
                for (size_t i = 0; i < got; i++) {
                        OutboxEntry *e = batch[i];

                        if (n == max) {
                                /* Not taken: the cursor stays before it. */
                                outbox_entry_free(e);
                                continue;
                        }
                        t->cursor = e->id;
                        if (transport_is_inflight(t, e->id))
                                outbox_entry_free(e);
                        else if (outbox_entry_expired(e, now)) {
                                transport_fail_message(t, e, "expired");
                                outbox_entry_free(e);
                        } else
                                ret[n++] = e;
                }
                if (got < want)
                        return (int) n; /* the queue has no more */
        }
        if (n < max)
                transport_kick(t); /* more expired ones: continue next iteration */
        return (int) n;
}

/* A failed attempt that will be made again (a request without an answer counts, as does one abandoned). */
static void transport_count_retry(Transport *t, unsigned n) {
        if (n == 0)
                return;
        t->device->counters.retries += n;
        device_property_changed(t->device, DEVICE_PROP_COUNTERS);
}

/* A send failed: no new ones leave, and once every outstanding one has come back (delivered or not), the device
 * backs off once, with the first failure as the reason. */
static void transport_stall(Transport *t, const char *error) {
        if (!t->stalled) {
                t->stalled = true;
                free(t->stall_error);
                t->stall_error = error ? strdup(error) : NULL;
        }
        if (t->n_inflight > 0)
                return;
        t->stalled = false;
        transport_backoff(t, t->stall_error ?: "sending failed");
        t->stall_error = mfree(t->stall_error);
}

static void transport_start_auth(Transport *t) {
        t->authenticating = true;
        device_set_state(t->device, DEVICE_AUTHENTICATING);
        if (t->vtable->authenticate(t) < 0)
                transport_auth_done(t, TRANSPORT_RETRY, "cannot start authentication");
}

/* Hands batch[0..n) to the implementation, one send each. A send that fails at once, or a completion reported
 * from inside send() that stops the window (a token to renew), leaves the rest unsent and rewinds. */
static void transport_send_batch(Transport *t, OutboxEntry **batch, size_t n) {
        for (size_t i = 0; i < n; i++) {
                OutboxEntry *e = batch[i];

                if (!t->authenticated || t->stalled) {
                        free_entries(batch + i, n - i);
                        t->rewind = true;
                        return;
                }
                t->inflight[t->n_inflight++] = e;
                if (t->vtable->send(t, e) < 0)
                        transport_send_done(t, e, TRANSPORT_RETRY, NULL, "cannot send the message");
        }
}

static void transport_drain(Transport *t) {
        OutboxEntry *batch[TRANSPORT_WINDOW_MAX];
        Device *d = t->device;
        int n;

        if (transport_clock_wait(t))
                return;
        if (t->authenticating || t->backoff_timer)
                return;
        if (!transport_reachable(t)) {
                if (!transport_busy(t))
                        device_set_state(d, DEVICE_OFFLINE);
                return;
        }
        if (t->stalled) {
                transport_stall(t, NULL);
                return;
        }
        if (t->reauth_requested) {
                if (t->n_inflight > 0)
                        return;
                /* Authenticate now, even with nothing queued: the administrator asked for it. */
                t->reauth_requested = false;
                t->authenticated = false;
                t->vtable->reset(t);
                transport_token_forget(t);
                transport_start_auth(t);
                return;
        }
        if (!t->authenticated && t->n_inflight > 0)
                return; /* no publish with the old token may be outstanding once a new one is asked for */
        if (t->n_inflight >= t->window)
                return;

        n = transport_next(t, t->authenticated ? t->window - t->n_inflight : 1, batch);
        if (n < 0) {
                transport_backoff(t, "cannot read the outbox");
                return;
        }
        if (n == 0) {
                if (t->n_inflight == 0 && (d->state != DEVICE_ERROR || t->authenticated))
                        device_set_state(d, DEVICE_IDLE);
                return;
        }
        if (!t->authenticated) {
                /* Something to send: authenticate first; the message is looked up again afterwards. */
                free_entries(batch, (size_t) n);
                t->rewind = true;
                transport_start_auth(t);
                return;
        }
        device_set_state(d, DEVICE_SENDING);
        transport_send_batch(t, batch, (size_t) n);
}

static int on_kick(sd_event_source *s, void *userdata) {
        transport_drain(userdata);
        return 0;
}

void transport_auth_done(Transport *t, TransportResult result, const char *error) {
        Device *d = t->device;

        if (!t->authenticating)
                return;
        t->authenticating = false;

        switch (result) {
        case TRANSPORT_OK:
                if (t->authenticated_once) {
                        d->counters.reauthentications++;
                        device_property_changed(d, DEVICE_PROP_COUNTERS);
                }
                t->authenticated = t->authenticated_once = true;
                log_device_info(device_name(d), "Authenticated with %s.", d->identity->endpoint);
                transport_kick(t);
                return;
        case TRANSPORT_DENIED:
                transport_count_retry(t, 1);
                t->vtable->reset(t);
                transport_token_forget(t);
                device_set_state(d, DEVICE_ERROR);
                transport_backoff(t, error ?: "the platform refused authentication");
                return;
        case TRANSPORT_REAUTH:
        case TRANSPORT_RETRY:
        case TRANSPORT_REJECTED:
                transport_count_retry(t, 1);
                transport_backoff(t, error ?: "authentication failed");
                return;
        }
}

static void transport_delivered(Transport *t, const OutboxEntry *e, const char *cloud_message_id) {
        Device *d = t->device;
        int r;

        r = outbox_delivered(transport_outbox(t), e->id, strempty(cloud_message_id));
        if (r < 0) {
                /* Still queued: it will be sent again (at least once), but not in a tight loop. */
                log_device_error_errno(device_name(d), r, "Cannot remove delivered message %" PRIu64 ": %m", e->id);
                transport_storage_failed(t, r);
        }
        d->counters.messages_sent++;
        device_property_changed(d, DEVICE_PROP_COUNTERS | DEVICE_PROP_QUEUE);
        if (d->last_error)
                device_set_last_error(d, NULL);
        t->backoff_step = 0;
        t->reauth_attempts = 0;
        log_device_debug(device_name(d), "Message %" PRIu64 " delivered.", e->id);
        /* r == 0: purged while in flight, its publisher was already told it failed; r < 0: still queued,
         * Delivered follows when a later send is recorded. */
        if (r > 0)
                bus_manager_emit_delivered(d->manager, e, strempty(cloud_message_id));
}

void transport_send_done(Transport *t, const OutboxEntry *entry, TransportResult result, const char *cloud_message_id,
                         const char *error) {
        _cleanup_(outbox_entry_freep) OutboxEntry *e = window_take(t, entry);
        Device *d = t->device;

        if (!e)
                return; /* abandoned */

        switch (result) {
        case TRANSPORT_OK:
                transport_delivered(t, e, cloud_message_id);
                transport_kick(t);
                return;
        case TRANSPORT_REAUTH:
        case TRANSPORT_DENIED:
                transport_count_retry(t, 1);
                t->rewind = true;
                if (!t->authenticated) {
                        /* Another message of the window asked for a new token already. */
                        transport_kick(t);
                        return;
                }
                t->authenticated = false;
                if (++t->reauth_attempts > REAUTH_MAX) {
                        t->reauth_attempts = 0;
                        transport_stall(t, error ?: "the cloud keeps rejecting fresh tokens");
                        return;
                }
                log_device_debug(device_name(d), "Token rejected (%s), authenticating again.", strempty(error));
                transport_kick(t);
                return;
        case TRANSPORT_RETRY:
                transport_count_retry(t, 1);
                t->rewind = true;
                transport_stall(t, error ?: "sending failed");
                return;
        case TRANSPORT_REJECTED:
                transport_fail_message(t, e, error ?: "rejected by the cloud");
                transport_kick(t);
                return;
        }
}

int transport_token_load(Transport *t, TokenRecord *ret) {
        return token_store_load(t->device->manager->state_dir, t->device->identity, ret);
}

void transport_token_save(Transport *t, const TokenRecord *r) {
        (void) token_store_save(t->device->manager->state_dir, t->device->identity, r);
}

void transport_token_forget(Transport *t) {
        (void) token_store_remove(t->device->manager->state_dir, device_name(t->device));
}

void transport_token_reused(Transport *t) {
        t->authenticated = t->authenticated_once = true;
        log_device_info(device_name(t->device), "Reusing the cached token.");
}

/* MaxInFlight= of the device's file, else of iotpubd.conf. */
static unsigned transport_window(const Device *d, const Config *c) {
        unsigned window = d->identity->max_in_flight ?: (unsigned) c->max_in_flight;

        return CLAMP(window, 1u, (unsigned) TRANSPORT_WINDOW_MAX);
}

void transport_configure(Transport *t, const Config *c) {
        unsigned window = transport_window(t->device, c);

        t->backoff_min_usec = c->backoff_min_usec;
        t->backoff_max_usec = c->backoff_max_usec;
        /* A smaller window takes effect as what is outstanding comes back. */
        if (window != t->window) {
                t->window = window;
                if (t->vtable->window_changed)
                        t->vtable->window_changed(t);
        }
        transport_kick(t);
}

void transport_requeued(Transport *t) {
        t->rewind = true;
}

void transport_storage_failed(Transport *t, int error) {
        char msg[160];

        (void) snprintf(msg, sizeof(msg), "cannot record deliveries in the outbox (%s); sending again later",
                        strerror(-error));
        t->rewind = true; /* what was recorded as sent may be queued again */
        transport_backoff(t, msg);
}

void transport_resume(Transport *t) {
        t->backoff_timer = sd_event_source_unref(t->backoff_timer);
        transport_kick(t);
}

/* Drops the session and every request on it, whose completions are then never reported (nothing is outstanding
 * any more when one could come, and the implementation's disconnect cancels them); the messages stay queued and
 * are sent again. Returns how many requests were outstanding. */
static unsigned transport_abandon(Transport *t) {
        unsigned outstanding = (unsigned) t->n_inflight + t->authenticating;

        if (!t->vtable->disconnect)
                return 0;
        t->vtable->disconnect(t);
        t->authenticating = false;
        window_clear(t);
        t->stalled = false;
        t->stall_error = mfree(t->stall_error);
        return outstanding;
}

/* transport_abandon(), each request abandoned counted as a retry (it is made again). */
static unsigned transport_abandon_counted(Transport *t) {
        unsigned n = transport_busy(t) ? transport_abandon(t) : 0;

        transport_count_retry(t, n);
        return n;
}

void transport_flush(Transport *t) {
        unsigned n;

        /* The administrator does not wait for an answer that may never come (an exchange's own deadline is
         * RFC 7252's MAX_TRANSMIT_WAIT, up to minutes): the requests are made again at once, each as a retry.
         * With nothing outstanding the session stays: dropping it would only cost a new DTLS or TLS handshake. */
        n = transport_abandon_counted(t);
        if (n > 0)
                log_device_info(device_name(t->device), "Abandoned %u outstanding request(s); sending again.", n);
        transport_resume(t);
}

void transport_reauthenticate(Transport *t) {
        /* transport_flush() abandons what is outstanding, so the token is dropped with no reply in flight. */
        t->reauth_requested = true;
        transport_flush(t);
}

bool transport_reachable(const Transport *t) {
        return t->device->manager->online || t->device->loopback_endpoint;
}

void transport_network_changed(Transport *t, bool reconnect) {
        Device *d = t->device;

        if (d->loopback_endpoint)
                return;
        if (!transport_reachable(t)) {
                t->backoff_timer = sd_event_source_unref(t->backoff_timer);
                transport_abandon(t);
                device_set_state(d, DEVICE_OFFLINE);
                return;
        }
        if (reconnect) {
                log_device_info(device_name(d), "The source address changed, opening a new session.");
                transport_abandon(t);
        }
        t->backoff_step = 0;
        transport_resume(t);
}

void transport_clock_changed(Transport *t) {
        /* Only certificate checks depend on the wall clock (TTLs count elapsed time). What is outstanding was
         * started under the other verdict: abandon it (a retry), and try -- or wait for the clock -- at once,
         * without waiting out a backoff armed by a certificate refused because of the clock. */
        if (!transport_clock_matters(t))
                return;
        t->backoff_timer = sd_event_source_unref(t->backoff_timer);
        (void) transport_abandon_counted(t);
        t->backoff_step = 0;
        transport_kick(t);
}

int transport_fail_queued(Transport *t, const char *reason, uint64_t *ret_count) {
        uint64_t n = 0;

        /* Bounded by what is queued now: each round removes the head. */
        for (uint64_t left = outbox_device_count(transport_outbox(t), device_name(t->device)); left > 0; left--) {
                _cleanup_(outbox_entry_freep) OutboxEntry *e = NULL;
                int r = outbox_head(transport_outbox(t), device_name(t->device), &e);

                if (r < 0)
                        return r;
                if (!e)
                        break;
                transport_fail_message(t, e, reason);
                n++;
        }
        *ret_count = n;
        return 0;
}

void transport_count_bytes(Transport *t, size_t out, size_t in) {
        t->device->counters.bytes_out += out;
        t->device->counters.bytes_in += in;
        device_property_changed(t->device, DEVICE_PROP_COUNTERS);
}

void transport_count_retransmission(Transport *t, size_t out) {
        transport_count_retry(t, 1);
        transport_count_bytes(t, out, 0);
}

int transport_new(Device *d, Transport **ret) {
        const TransportVTable *vt = transport_vtables[d->identity->transport];

        if (!vt)
                return log_device_error_errno(device_name(d), EOPNOTSUPP, "Transport=%s is not supported yet.",
                                              transport_kind_to_string(d->identity->transport));
        return transport_new_with_vtable(d, vt, ret);
}

int transport_new_with_vtable(Device *d, const TransportVTable *vt, Transport **ret) {
        Transport *t;
        int r;

        t = calloc(1, vt->object_size);
        if (!t)
                return -ENOMEM;
        t->vtable = vt;
        t->device = d;
        t->backoff_min_usec = d->manager->config.backoff_min_usec;
        t->backoff_max_usec = d->manager->config.backoff_max_usec;
        t->window = transport_window(d, &d->manager->config);

        r = sd_event_add_defer(d->manager->event, &t->kick_source, on_kick, t);
        if (r < 0) {
                free(t);
                return r;
        }
        (void) sd_event_source_set_enabled(t->kick_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(t->kick_source, "transport-kick");

        r = vt->init ? vt->init(t) : 0;
        if (r < 0) {
                sd_event_source_unref(t->kick_source);
                free(t);
                return r;
        }
        *ret = t;
        return 0;
}

Transport *transport_free(Transport *t) {
        if (!t)
                return NULL;
        if (t->vtable->done)
                t->vtable->done(t);
        free_entries(t->inflight, t->n_inflight);
        free(t->stall_error);
        sd_event_source_unref(t->kick_source);
        sd_event_source_unref(t->backoff_timer);
        free(t);
        return NULL;
}

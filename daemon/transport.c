/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Outbox draining, re-authentication, backoff and expiry, written once for every transport; see transport.h. */
#include <stdio.h>
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

/* The oldest message that has not expired, failing expired ones on the way. */
static int transport_next(Transport *t, OutboxEntry **ret) {
        Device *d = t->device;
        uint64_t now = now_boottime_usec();

        for (unsigned i = 0; i < EXPIRE_BATCH; i++) {
                _cleanup_(outbox_entry_freep) OutboxEntry *e = NULL;
                int r = outbox_head(transport_outbox(t), device_name(d), &e);

                if (r < 0 || !e) {
                        *ret = NULL;
                        return r;
                }
                if (!outbox_entry_expired(e, now)) {
                        *ret = TAKE_PTR(e);
                        return 1;
                }
                transport_fail_message(t, e, "expired");
        }
        transport_kick(t); /* more expired ones: continue next iteration */
        *ret = NULL;
        return 0;
}

/* A failed attempt that will be made again (a request without an answer counts, as does one abandoned). */
static void transport_count_retry(Transport *t) {
        t->device->counters.retries++;
        device_property_changed(t->device, DEVICE_PROP_COUNTERS);
}

static void transport_start_auth(Transport *t) {
        t->busy = true;
        device_set_state(t->device, DEVICE_AUTHENTICATING);
        if (t->vtable->authenticate(t) < 0)
                transport_auth_done(t, TRANSPORT_RETRY, "cannot start authentication");
}

static void transport_drain(Transport *t) {
        _cleanup_(outbox_entry_freep) OutboxEntry *e = NULL;
        Device *d = t->device;
        int r;

        if (transport_clock_wait(t))
                return;
        if (t->busy || t->backoff_timer)
                return;
        if (!transport_reachable(t)) {
                device_set_state(d, DEVICE_OFFLINE);
                return;
        }
        if (t->reauth_requested) {
                /* Authenticate now, even with nothing queued: the administrator asked for it. */
                t->reauth_requested = false;
                t->authenticated = false;
                t->vtable->reset(t);
                transport_token_forget(t);
                transport_start_auth(t);
                return;
        }
        r = transport_next(t, &e);
        if (r < 0) {
                transport_backoff(t, "cannot read the outbox");
                return;
        }
        if (!e) {
                if (d->state != DEVICE_ERROR || t->authenticated)
                        device_set_state(d, DEVICE_IDLE);
                return;
        }

        if (!t->authenticated) {
                transport_start_auth(t);
                return;
        }
        t->busy = true;
        device_set_state(d, DEVICE_SENDING);
        t->inflight = TAKE_PTR(e);
        r = t->vtable->send(t, t->inflight);
        if (r < 0)
                transport_send_done(t, TRANSPORT_RETRY, NULL, "cannot send the message");
}

static int on_kick(sd_event_source *s, void *userdata) {
        transport_drain(userdata);
        return 0;
}

void transport_auth_done(Transport *t, TransportResult result, const char *error) {
        Device *d = t->device;

        if (!t->busy)
                return;
        t->busy = false;

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
                transport_count_retry(t);
                t->vtable->reset(t);
                transport_token_forget(t);
                device_set_state(d, DEVICE_ERROR);
                transport_backoff(t, error ?: "the platform refused authentication");
                return;
        case TRANSPORT_REAUTH:
        case TRANSPORT_RETRY:
        case TRANSPORT_REJECTED:
                transport_count_retry(t);
                transport_backoff(t, error ?: "authentication failed");
                return;
        }
}

void transport_send_done(Transport *t, TransportResult result, const char *cloud_message_id, const char *error) {
        _cleanup_(outbox_entry_freep) OutboxEntry *e = NULL;
        Device *d = t->device;
        int r;

        if (!t->busy)
                return;
        t->busy = false;
        e = TAKE_PTR(t->inflight);
        if (!e)
                return;

        switch (result) {
        case TRANSPORT_OK:
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
                transport_kick(t);
                return;
        case TRANSPORT_REAUTH:
        case TRANSPORT_DENIED:
                t->authenticated = false;
                transport_count_retry(t);
                if (t->reauth_id == e->id && t->reauth_attempts >= REAUTH_MAX) {
                        t->reauth_attempts = 0;
                        transport_backoff(t, error ?: "the cloud keeps rejecting fresh tokens");
                        return;
                }
                if (t->reauth_id != e->id)
                        t->reauth_attempts = 0;
                t->reauth_id = e->id;
                t->reauth_attempts++;
                log_device_debug(device_name(d), "Token rejected (%s), authenticating again.", strempty(error));
                transport_kick(t);
                return;
        case TRANSPORT_RETRY:
                transport_count_retry(t);
                transport_backoff(t, error ?: "sending failed");
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

void transport_configure(Transport *t, const Config *c) {
        t->backoff_min_usec = c->backoff_min_usec;
        t->backoff_max_usec = c->backoff_max_usec;
}

void transport_storage_failed(Transport *t, int error) {
        char msg[160];

        (void) snprintf(msg, sizeof(msg), "cannot record deliveries in the outbox (%s); sending again later",
                        strerror(-error));
        transport_backoff(t, msg);
}

void transport_resume(Transport *t) {
        t->backoff_timer = sd_event_source_unref(t->backoff_timer);
        transport_kick(t);
}

/* Drops the session and the request on it, whose completion is then never reported (busy is cleared before any
 * could come, and the implementation's disconnect cancels it); the message stays queued and is sent again.
 * Returns whether a request was outstanding. */
static bool transport_abandon(Transport *t) {
        bool outstanding = t->busy;

        if (!t->vtable->disconnect)
                return false;
        t->vtable->disconnect(t);
        t->busy = false;
        t->inflight = outbox_entry_free(t->inflight);
        return outstanding;
}

void transport_flush(Transport *t) {
        /* The administrator does not wait for an answer that may never come (an exchange's own deadline is
         * RFC 7252's MAX_TRANSMIT_WAIT, up to minutes): the request is made again at once, as a retry. With
         * nothing outstanding the session stays: dropping it would only cost a new DTLS or TLS handshake. */
        if (t->busy && transport_abandon(t)) {
                log_device_info(device_name(t->device), "Abandoned the outstanding request; sending again.");
                transport_count_retry(t);
        }
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
                if (!t->busy)
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
        if (t->busy && transport_abandon(t))
                transport_count_retry(t);
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

uint64_t transport_inflight_id(const Transport *t) {
        return t->inflight ? t->inflight->id : 0;
}

void transport_count_bytes(Transport *t, size_t out, size_t in) {
        t->device->counters.bytes_out += out;
        t->device->counters.bytes_in += in;
        device_property_changed(t->device, DEVICE_PROP_COUNTERS);
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
        outbox_entry_free(t->inflight);
        sd_event_source_unref(t->kick_source);
        sd_event_source_unref(t->backoff_timer);
        free(t);
        return NULL;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one transport interface, and everything transports share: draining the outbox in FIFO order with a window
 * of up to MaxInFlight= messages in flight per device (RFC 7252's NSTART), re-authentication and resend, backoff
 * with jitter, TTL expiry. Each implementation embeds Transport as its first member and only does what differs:
 * authenticate and send. */
#pragma once

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "device.h"
#include "outbox.h"
#include "token-store.h"

#define TRANSPORT_WINDOW_MAX TRANSPORT_WINDOW_LIMIT

typedef enum TransportResult {
        TRANSPORT_OK,          /* authenticated / delivered */
        TRANSPORT_REAUTH,      /* the cloud no longer accepts our token: authenticate again, then resend */
        TRANSPORT_RETRY,       /* transient (timeout, unreachable, server busy): back off, then try again */
        TRANSPORT_REJECTED,    /* this message will never be accepted: fail it with the reason */
        TRANSPORT_DENIED,      /* authentication refused: credentials are wrong; back off */
} TransportResult;

typedef struct TransportVTable {
        size_t object_size;
        int (*init)(Transport *t);
        void (*done)(Transport *t);
        /* Start authenticating; completion is reported with transport_auth_done(). */
        int (*authenticate)(Transport *t);
        /* Start sending e (valid until completion); completion is reported with transport_send_done() for e.
         * Up to t->window sends may be outstanding at once, never during an authentication. */
        int (*send)(Transport *t, const OutboxEntry *e);
        /* Forget the session and the credentials obtained from the cloud. */
        void (*reset)(Transport *t);
        /* Optional: drop the network session and abandon everything outstanding on it (no completion is ever
         * reported for it), keeping the credentials. Used when the uplink goes away or changes its address. */
        void (*disconnect)(Transport *t);
        /* Optional: t->window changed (a reload). */
        void (*window_changed)(Transport *t);
        /* Largest payload one message to topic may carry. */
        size_t (*max_payload)(const Identity *id, const char *topic);
} TransportVTable;

struct Transport {
        const TransportVTable *vtable;
        Device *device;
        bool authenticated;
        bool authenticated_once;   /* later authentications count as re-authentications */
        bool authenticating;       /* an authentication is outstanding */
        bool reauth_requested;     /* drop the token before the next operation */
        bool stalled;              /* a send failed: send no more until the window is empty, then back off */
        bool rewind;               /* a message went back to the queue: look for work from the head again */
        OutboxEntry *inflight[TRANSPORT_WINDOW_MAX]; /* the sends outstanding, oldest first */
        size_t n_inflight;
        unsigned window;           /* MaxInFlight=: how many sends may be outstanding */
        uint64_t cursor;           /* the newest message handed out since the last rewind */
        char *stall_error;         /* why the window stalled, for the backoff that follows */
        unsigned reauth_attempts;  /* re-authentications since the last delivery */
        unsigned backoff_step;
        uint64_t backoff_min_usec, backoff_max_usec;
        sd_event_source *kick_source;
        sd_event_source *backoff_timer;
};

int transport_new(Device *d, Transport **ret);
/* The same with an explicit implementation instead of the one Transport= names; for tests (fake transports). */
int transport_new_with_vtable(Device *d, const TransportVTable *vt, Transport **ret);
Transport *transport_free(Transport *t);

size_t transport_max_payload(const Identity *id, const char *topic);

/* Look for work soon (from a deferred event source, never recursively). */
void transport_kick(Transport *t);

/* An authentication or a send is outstanding. */
static inline bool transport_busy(const Transport *t) {
        return t->authenticating || t->n_inflight > 0;
}

/* Completion reports from implementations. error is a short human-readable reason (no secrets). e is the entry
 * send() was given; a report for an entry that is not outstanding (abandoned) is ignored. */
void transport_auth_done(Transport *t, TransportResult result, const char *error);
void transport_send_done(Transport *t, const OutboxEntry *e, TransportResult result, const char *cloud_message_id,
                         const char *error);

/* Skips the backoff wait and looks for work; what is outstanding goes on. */
void transport_resume(Transport *t);
/* Administrative operations: apply new backoff and window settings; abandon what is outstanding (each message
 * counted as a retry) and send at once; drop the token and authenticate afresh, the same way. */
void transport_configure(Transport *t, const Config *c);
void transport_flush(Transport *t);
/* The outbox put messages back in the queue (a transaction that recorded their delivery was rolled back): they
 * are looked for from the head again, below the cursor of the window. */
void transport_requeued(Transport *t);
/* The outbox could not record a delivery or failure: back off instead of re-sending at once. */
void transport_storage_failed(Transport *t, int error);
void transport_reauthenticate(Transport *t);

/* Moves e to the failed list with reason, counts it and tells its publisher (nothing if it is already gone). */
void transport_fail_message(Transport *t, const OutboxEntry *e, const char *reason);

/* Whether the device can reach its cloud: the Manager sees an uplink, or the endpoint is on loopback. */
bool transport_reachable(const Transport *t);
/* The uplink came or went (Manager.online), or with reconnect its source address changed: going offline stops
 * every attempt and timer; coming online sends at once, without waiting out a backoff; reconnect re-opens the
 * session. Devices with a loopback endpoint ignore all of it. */
void transport_network_changed(Transport *t, bool reconnect);

/* The wall clock's verdict changed (clock-watch.h): a device that verifies certificates abandons what is
 * outstanding and tries at once, or waits for the clock (State waiting-for-clock). Others ignore it. */
void transport_clock_changed(Transport *t);

/* Fails every committed queued message of the device with reason, telling each publisher. */
int transport_fail_queued(Transport *t, const char *reason, uint64_t *ret_count);

/* Whether message id is being sent. */
bool transport_is_inflight(const Transport *t, uint64_t id);

/* The token cache (all transports): restore at start, save after authenticating, forget when the cloud or an
 * administrator invalidates it. load returns -ENOENT when there is nothing usable. */
int transport_token_load(Transport *t, TokenRecord *ret);
void transport_token_save(Transport *t, const TokenRecord *r);
void transport_token_forget(Transport *t);
/* A cached token was taken over: the transport counts as authenticated until the cloud rejects the token. */
void transport_token_reused(Transport *t);

/* Wire statistics, reported by implementations. */
void transport_count_bytes(Transport *t, size_t out, size_t in);
/* A request went out again (a CoAP retransmission): counted in Retries and BytesOut. */
void transport_count_retransmission(Transport *t, size_t out);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for transport.c, the draining engine every transport shares: a fake transport records authenticate
 * and send calls and the test completes them, on a hand-built Manager with a real outbox and sd-event loop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../../daemon/bus-device.h"
#include "../../daemon/bus-manager.h"
#include "../../daemon/manager.h"
#include "../../daemon/transport-coap-dtls.h"
#include "../../daemon/transport.h"
#include "macro.h"
#include "test-util.h"

/* Long enough that no backoff ever ends by itself during a test: the test makes the timer due (fire_backoff). */
#define BACKOFF_MIN_USEC (10 * 1000000ULL)
#define BACKOFF_MAX_USEC (100 * 1000000ULL)
#define MAX_CALLS 64

typedef struct FakeTransport {
        Transport meta;
        unsigned n_auth, n_send, n_reset, n_disconnect;
        uint64_t sent[MAX_CALLS];  /* ids in the order send() saw them */
        int auth_error;            /* returned by authenticate() */
        int send_error;            /* returned by send() */
} FakeTransport;

typedef struct Fixture {
        char dir[64];
        Manager *m;
        Device *d;
        FakeTransport *fake;
        uint64_t committed;        /* id of the last committed message */
        unsigned changed_runs;
} Fixture;

static int fake_authenticate(Transport *t) {
        FakeTransport *f = (FakeTransport *) t;

        f->n_auth++;
        return f->auth_error;
}

static int fake_send(Transport *t, const OutboxEntry *e) {
        FakeTransport *f = (FakeTransport *) t;

        assert_true(f->n_send < MAX_CALLS);
        /* In the window, within its size, and only after authentication. */
        assert_true(t->authenticated);
        assert_true(transport_is_inflight(t, e->id));
        assert_in_range(t->n_inflight, 1, t->window);
        f->sent[f->n_send++] = e->id;
        return f->send_error;
}

static void fake_reset(Transport *t) {
        ((FakeTransport *) t)->n_reset++;
}

static void fake_disconnect(Transport *t) {
        ((FakeTransport *) t)->n_disconnect++;
}

static size_t fake_max_payload(const Identity *id, const char *topic) {
        return 1024;
}

static const TransportVTable fake_vtable = {
        .object_size = sizeof(FakeTransport),
        .authenticate = fake_authenticate,
        .send = fake_send,
        .reset = fake_reset,
        .disconnect = fake_disconnect,
        .max_payload = fake_max_payload,
};

/* What manager.c does with these, with m->bus == NULL: the emit functions must cope. */
static int on_changed(sd_event_source *s, void *userdata) {
        Fixture *f = userdata;

        f->changed_runs++;
        for (size_t i = 0; i < f->m->n_devices; i++)
                if (f->m->devices[i]->changed)
                        bus_device_emit_changed(f->m->devices[i]);
        if (f->m->queue_changed) {
                f->m->queue_changed = false;
                bus_manager_emit_changed(f->m);
        }
        return 0;
}

static void on_outbox_changed(void *userdata) {
        Manager *m = userdata;

        m->queue_changed = true;
        manager_schedule_changed(m);
}

static Identity *make_identity(void) {
        Identity *id = calloc(1, sizeof(*id));

        assert_non_null(id);
        id->name = strdup("dev");
        id->path = strdup("/nonexistent/dev.conf");
        id->product_key = strdup("pk");
        id->device_name = strdup("dn");
        id->client_id = strdup("pk.dn");
        id->secret = strdup("not-a-real-secret");
        id->endpoint = strdup("127.0.0.1:5682");
        id->transport = TRANSPORT_COAP_AES;
        id->sign_method = SIGN_HMACMD5;
        assert_true(id->name && id->path && id->product_key && id->device_name && id->client_id && id->secret &&
                    id->endpoint);
        return id;
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        char path[128];
        Manager *m;
        Device *d;

        assert_non_null(f);
        test_mkdtemp(f->dir, sizeof(f->dir), "transport");

        /* The parts of manager_new() and manager_start() the transport needs; no bus, no CoAP context. */
        m = f->m = calloc(1, sizeof(*m));
        assert_non_null(m);
        config_defaults(&m->config);
        m->config.backoff_min_usec = BACKOFF_MIN_USEC;
        m->config.backoff_max_usec = BACKOFF_MAX_USEC;
        m->online = true;
        assert_int_equal(sd_event_new(&m->event), 0);
        assert_int_equal(sd_event_add_defer(m->event, &m->changed_source, on_changed, f), 0);
        assert_int_equal(sd_event_source_set_priority(m->changed_source, SD_EVENT_PRIORITY_IDLE), 0);
        assert_int_equal(sd_event_source_set_enabled(m->changed_source, SD_EVENT_OFF), 0);
        (void) snprintf(path, sizeof(path), "%s/outbox.db", f->dir);
        assert_int_equal(outbox_open(m->event, path, &m->outbox), 0);
        outbox_set_change_callback(m->outbox, on_outbox_changed, m);

        d = f->d = calloc(1, sizeof(*d));
        assert_non_null(d);
        d->manager = m;
        d->identity = make_identity();
        d->state = DEVICE_IDLE;
        d->object_path = strdup("/org/iotpub1/device/dev");
        assert_non_null(d->object_path);
        assert_int_equal(transport_new_with_vtable(d, &fake_vtable, &d->transport), 0);
        f->fake = (FakeTransport *) d->transport;
        assert_ptr_equal(f->fake->meta.device, d);
        assert_int_equal(f->fake->meta.backoff_min_usec, BACKOFF_MIN_USEC);
        assert_int_equal(f->fake->meta.backoff_max_usec, BACKOFF_MAX_USEC);

        m->devices = calloc(1, sizeof(Device *));
        assert_non_null(m->devices);
        m->devices[0] = d;
        m->n_devices = 1;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        manager_free(f->m);
        test_rm_rf(f->dir);
        free(f);
        return 0;
}

/* Dispatches whatever is ready without waiting, until nothing is. */
static void run_quiet(Fixture *f) {
        unsigned i;
        int r = 1;

        for (i = 0; i < 10000 && r > 0; i++) {
                r = sd_event_run(f->m->event, 0);
                assert_true(r >= 0);
        }
        assert_int_equal(r, 0);
}

/* The armed backoff timer ends now (a fake clock for this one timer), then the fake has seen n_auth
 * authentications and n_send sends in all. */
static void fire_backoff(Fixture *f, unsigned n_auth, unsigned n_send) {
        assert_non_null(f->fake->meta.backoff_timer);
        assert_int_equal(sd_event_source_set_time(f->fake->meta.backoff_timer, 1), 0);
        run_quiet(f);
        assert_null(f->fake->meta.backoff_timer);
        assert_int_equal(f->fake->n_auth, n_auth);
        assert_int_equal(f->fake->n_send, n_send);
}

static void on_committed(void *userdata, uint64_t id, int error) {
        Fixture *f = userdata;

        assert_int_equal(error, 0);
        f->committed = id;
}

/* TTL deadlines count in CLOCK_BOOTTIME (expiry.h). */
static uint64_t boottime_usec(void) {
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_BOOTTIME, &ts), 0);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

/* Queues a message for the device, commits it and kicks the device, as Publish does. */
static uint64_t queue_expiring(Fixture *f, const char *payload, uint64_t deadline_usec) {
        OutboxEntry e = {
                .device = (char *) "dev",
                .topic = (char *) "/pk/dn/user/update",
                .payload = (uint8_t *) payload,
                .payload_len = strlen(payload),
                .content_type = CONTENT_TYPE_JSON,
                .sender = (char *) ":1.7",
                .uid = 1000,
                .deadline_usec = deadline_usec,
        };
        uint64_t before = f->committed;

        assert_int_equal(outbox_add(f->m->outbox, &e, on_committed, f), 0);
        assert_int_equal(outbox_flush(f->m->outbox), 0);
        assert_true(f->committed > before);
        device_kick(f->d);
        return f->committed;
}

static uint64_t queue(Fixture *f, const char *payload) {
        return queue_expiring(f, payload, 0);
}

static void auth_done(Fixture *f, TransportResult result, const char *error) {
        transport_auth_done(&f->fake->meta, result, error);
        run_quiet(f);
}

/* The oldest send outstanding (or an entry that is not outstanding, when nothing is). */
static const OutboxEntry *oldest(Fixture *f) {
        static const OutboxEntry none = { .id = 0 };

        return f->fake->meta.n_inflight > 0 ? f->fake->meta.inflight[0] : &none;
}

static void send_done(Fixture *f, TransportResult result, const char *cloud_id, const char *error) {
        transport_send_done(&f->fake->meta, oldest(f), result, cloud_id, error);
        run_quiet(f);
}

static const char *state_of(Fixture *f) {
        return device_state_to_string(f->d->state);
}

/* A row from the dead-letter or delivery tables, read through a second connection (so: committed). */
static char *history(Fixture *f, const char *sql, uint64_t id) {
        char path[128];
        sqlite3 *db = NULL;
        sqlite3_stmt *s = NULL;
        char *text = NULL;

        /* Records of deliveries and failures are committed up to 20 ms later (together with what else comes in
         * that time); another connection sees them once they are. */
        assert_int_equal(outbox_flush(f->m->outbox), 0);
        run_quiet(f);
        (void) snprintf(path, sizeof(path), "%s/outbox.db", f->dir);
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_bind_int64(s, 1, (sqlite3_int64) id), SQLITE_OK);
        if (sqlite3_step(s) == SQLITE_ROW)
                text = strdup((const char *) sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        sqlite3_close(db);
        return text;
}

/* The armed backoff timer fires between min and cap after now; the test calls *_done() outside a dispatch,
 * so sd_event_now() still holds the time the timer was computed from. */
static void assert_backoff_within(Fixture *f, uint64_t min, uint64_t cap) {
        uint64_t base, when;

        assert_non_null(f->fake->meta.backoff_timer);
        assert_true(sd_event_now(f->m->event, CLOCK_MONOTONIC, &base) >= 0);
        assert_int_equal(sd_event_source_get_time(f->fake->meta.backoff_timer, &when), 0);
        assert_in_range(when, base + min, base + cap);
}

static void test_fifo_and_ok(void **state) {
        Fixture *f = *state;
        uint64_t ids[3];
        _cleanup_free_ char *cloud = NULL;

        run_quiet(f);
        assert_int_equal(f->fake->n_auth, 0); /* nothing queued, nothing to do */
        assert_string_equal(state_of(f), "idle");

        ids[0] = queue(f, "{\"a\":1}");
        ids[1] = queue(f, "{\"a\":2}");
        ids[2] = queue(f, "{\"a\":3}");
        run_quiet(f);
        assert_int_equal(f->fake->n_auth, 1);
        assert_int_equal(f->fake->n_send, 0);
        assert_string_equal(state_of(f), "authenticating");

        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->d->counters.reauthentications, 0); /* the first one is not a re-authentication */
        for (unsigned i = 0; i < 3; i++) {
                char cloud_id[16];

                assert_int_equal(f->fake->n_send, i + 1);
                assert_int_equal(f->fake->sent[i], ids[i]);
                assert_string_equal(state_of(f), "sending");
                assert_int_equal(outbox_count(f->m->outbox), 3 - i);
                (void) snprintf(cloud_id, sizeof(cloud_id), "cloud-%u", i);
                send_done(f, TRANSPORT_OK, cloud_id, NULL);
                assert_int_equal(outbox_count(f->m->outbox), 2 - i);
        }
        assert_int_equal(f->fake->n_send, 3);
        assert_int_equal(f->fake->n_auth, 1);
        assert_string_equal(state_of(f), "idle");
        assert_int_equal(outbox_device_count(f->m->outbox, "dev"), 0);
        assert_int_equal(outbox_bytes(f->m->outbox), 0);
        assert_int_equal(f->d->counters.messages_sent, 3);
        assert_int_equal(f->d->counters.messages_failed, 0);
        assert_int_equal(f->d->counters.retries, 0);
        assert_null(f->d->last_error);
        assert_int_equal(f->fake->meta.n_inflight, 0);
        assert_false(transport_busy(&f->fake->meta));

        cloud = history(f, "SELECT cloud_id FROM delivered WHERE id = ?", ids[1]);
        assert_non_null(cloud);
        assert_string_equal(cloud, "cloud-1");

        /* The PropertiesChanged path ran, and with no bus it did nothing but clear the marks. */
        assert_true(f->changed_runs > 0);
        assert_int_equal(f->d->changed, 0);
        assert_false(f->m->queue_changed);

        /* A new message is sent with the session already established. */
        ids[0] = queue(f, "{\"a\":4}");
        run_quiet(f);
        assert_int_equal(f->fake->n_auth, 1);
        assert_int_equal(f->fake->n_send, 4);
        assert_int_equal(f->fake->sent[3], ids[0]);
}

static void test_completion_when_not_busy_is_ignored(void **state) {
        Fixture *f = *state;

        transport_kick(NULL);
        auth_done(f, TRANSPORT_OK, NULL);
        send_done(f, TRANSPORT_OK, "x", NULL);
        assert_false(f->fake->meta.authenticated);
        assert_int_equal(f->d->counters.messages_sent, 0);

        queue(f, "x");
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 1);
        send_done(f, TRANSPORT_OK, "c", NULL);
        send_done(f, TRANSPORT_OK, "c", NULL); /* a duplicate report */
        assert_int_equal(f->d->counters.messages_sent, 1);
}

static void test_reauth_resends_same_message(void **state) {
        Fixture *f = *state;
        uint64_t a, b;

        a = queue(f, "a");
        b = queue(f, "b");
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 1);
        assert_int_equal(f->fake->sent[0], a);

        /* Token refused: authenticate again, then the same message. */
        send_done(f, TRANSPORT_REAUTH, NULL, "token expired");
        assert_int_equal(f->fake->n_auth, 2);
        assert_int_equal(f->fake->n_send, 1);
        assert_string_equal(state_of(f), "authenticating");
        assert_false(f->fake->meta.authenticated);
        assert_int_equal(f->d->counters.retries, 1);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->d->counters.reauthentications, 1);
        assert_int_equal(f->fake->n_send, 2);
        assert_int_equal(f->fake->sent[1], a);

        /* Once more is still fine. */
        send_done(f, TRANSPORT_REAUTH, NULL, "token expired");
        assert_int_equal(f->fake->n_auth, 3);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->d->counters.reauthentications, 2);
        assert_int_equal(f->fake->n_send, 3);
        assert_int_equal(f->fake->sent[2], a);

        /* After two re-authentications for one message, a third refusal backs off instead of looping. */
        send_done(f, TRANSPORT_REAUTH, NULL, "token expired");
        assert_int_equal(f->fake->n_auth, 3);
        assert_int_equal(f->fake->n_send, 3);
        assert_string_equal(state_of(f), "backoff");
        assert_non_null(f->fake->meta.backoff_timer);
        assert_int_equal(f->d->counters.retries, 3);
        assert_string_equal(f->d->last_error, "token expired");
        assert_int_equal(outbox_count(f->m->outbox), 2);

        /* When the timer fires: authenticate, then still the same message, then the next. */
        fire_backoff(f, 4, 3);
        assert_null(f->fake->meta.backoff_timer);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->d->counters.reauthentications, 3);
        assert_int_equal(f->fake->n_send, 4);
        assert_int_equal(f->fake->sent[3], a);
        send_done(f, TRANSPORT_OK, "c-a", NULL);
        assert_int_equal(f->fake->n_send, 5);
        assert_int_equal(f->fake->sent[4], b);
        assert_null(f->d->last_error);

        /* The count starts again for the next message: TRANSPORT_DENIED on a send is treated the same way. */
        send_done(f, TRANSPORT_DENIED, NULL, NULL);
        assert_int_equal(f->fake->n_auth, 5);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->sent[5], b);
        send_done(f, TRANSPORT_OK, "c-b", NULL);
        assert_int_equal(f->d->counters.messages_sent, 2);
        assert_int_equal(f->d->counters.retries, 4);
        assert_int_equal(f->d->counters.reauthentications, 4);
        assert_string_equal(state_of(f), "idle");
}

static void test_retry_backs_off(void **state) {
        Fixture *f = *state;
        uint64_t a;

        a = queue(f, "a");
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 1);

        /* Each retry waits between the minimum and a cap that doubles up to the maximum. */
        for (unsigned step = 0; step < 6; step++) {
                uint64_t cap = MIN(BACKOFF_MIN_USEC << step, BACKOFF_MAX_USEC);

                transport_send_done(&f->fake->meta, oldest(f), TRANSPORT_RETRY, NULL, "timeout");
                assert_backoff_within(f, BACKOFF_MIN_USEC, cap);
                run_quiet(f);
                assert_string_equal(state_of(f), "backoff");
                assert_int_equal(f->fake->n_send, step + 1); /* nothing until the timer fires */
                assert_int_equal(f->d->counters.retries, step + 1);
                assert_string_equal(f->d->last_error, "timeout");

                fire_backoff(f, 1, step + 2);
                assert_int_equal(f->fake->sent[step + 1], a);
                assert_string_equal(state_of(f), "sending");
        }

        /* Success clears the error and starts the backoff from the minimum again. */
        send_done(f, TRANSPORT_OK, "c", NULL);
        assert_null(f->d->last_error);
        assert_int_equal(f->fake->meta.backoff_step, 0);
        queue(f, "b");
        run_quiet(f);
        assert_int_equal(f->fake->n_send, 8);
        transport_send_done(&f->fake->meta, oldest(f), TRANSPORT_RETRY, NULL, NULL);
        assert_backoff_within(f, BACKOFF_MIN_USEC, BACKOFF_MIN_USEC);
        assert_string_equal(f->d->last_error, "sending failed");
        assert_int_equal(f->d->counters.messages_sent, 1);
        assert_int_equal(f->d->counters.retries, 7);
        assert_int_equal(f->d->counters.reauthentications, 0);
}

static void test_retry_with_default_backoff(void **state) {
        Fixture *f = *state;
        Config defaults;

        /* The configured values, not the test's small ones: the first wait is exactly BackoffMinSec. */
        config_defaults(&defaults);
        f->fake->meta.backoff_min_usec = defaults.backoff_min_usec;
        f->fake->meta.backoff_max_usec = defaults.backoff_max_usec;
        queue(f, "a");
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        for (unsigned step = 0; step < 12; step++) {
                if (step > 0) {
                        /* As if the resend were outstanding, without waiting minutes for the timer. */
                        f->fake->meta.inflight[0] = calloc(1, sizeof(OutboxEntry));
                        assert_non_null(f->fake->meta.inflight[0]);
                        f->fake->meta.n_inflight = 1;
                }
                transport_send_done(&f->fake->meta, oldest(f), TRANSPORT_RETRY, NULL, "timeout");
                assert_backoff_within(f, defaults.backoff_min_usec,
                                      MIN(defaults.backoff_min_usec << step, defaults.backoff_max_usec));
        }
}

static void test_rejected_fails_message(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *reason = NULL, *fallback = NULL;
        uint64_t a, b, c;

        a = queue(f, "a");
        b = queue(f, "b");
        c = queue(f, "c");
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(outbox_count(f->m->outbox), 3);

        send_done(f, TRANSPORT_REJECTED, NULL, "payload refused (4.13)");
        assert_int_equal(outbox_count(f->m->outbox), 2);
        assert_int_equal(f->d->counters.messages_failed, 1);
        assert_int_equal(f->d->counters.retries, 0);
        assert_null(f->fake->meta.backoff_timer);
        assert_int_equal(f->fake->n_send, 2);
        assert_int_equal(f->fake->sent[1], b);
        reason = history(f, "SELECT reason FROM failed WHERE id = ?", a);
        assert_non_null(reason);
        assert_string_equal(reason, "payload refused (4.13)");

        send_done(f, TRANSPORT_REJECTED, NULL, NULL);
        assert_int_equal(f->d->counters.messages_failed, 2);
        fallback = history(f, "SELECT reason FROM failed WHERE id = ?", b);
        assert_non_null(fallback);
        assert_string_equal(fallback, "rejected by the cloud");
        assert_int_equal(f->fake->sent[2], c);
        send_done(f, TRANSPORT_OK, "c", NULL);
        assert_int_equal(outbox_count(f->m->outbox), 0);
        assert_int_equal(f->d->counters.messages_sent, 1);
        assert_int_equal(f->d->counters.messages_failed, 2);
        assert_string_equal(state_of(f), "idle");
}

static void test_expired_never_sent(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *r1 = NULL, *r2 = NULL;
        uint64_t now = boottime_usec(), x1, x2, live;

        /* Only expired messages: failed without even authenticating. */
        x1 = queue_expiring(f, "old-1", now - 1000000);
        x2 = queue_expiring(f, "old-2", now - 1);
        run_quiet(f);
        assert_int_equal(f->fake->n_auth, 0);
        assert_int_equal(f->fake->n_send, 0);
        assert_int_equal(outbox_count(f->m->outbox), 0);
        assert_int_equal(f->d->counters.messages_failed, 2);
        assert_string_equal(state_of(f), "idle");
        r1 = history(f, "SELECT reason FROM failed WHERE id = ?", x1);
        r2 = history(f, "SELECT reason FROM failed WHERE id = ?", x2);
        assert_non_null(r1);
        assert_non_null(r2);
        assert_string_equal(r1, "expired");
        assert_string_equal(r2, "expired");

        /* Expired ones ahead of a live one are skipped over. */
        queue_expiring(f, "old-3", now - 1);
        live = queue_expiring(f, "live", now + 3600ULL * 1000000);
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 1);
        assert_int_equal(f->fake->sent[0], live);
        assert_int_equal(f->d->counters.messages_failed, 3);
        send_done(f, TRANSPORT_OK, "c", NULL);
        assert_int_equal(f->d->counters.messages_sent, 1);
}

static void test_expires_during_backoff(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *reason = NULL;
        uint64_t a;

        uint64_t expires;

        /* The message's lifetime ends during the backoff: it is failed, not resent. A second of margin, so
         * that even a slow run (valgrind) sends it once before it expires. */
        expires = boottime_usec() + 1000 * 1000;
        a = queue_expiring(f, "short-lived", expires);
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 1);
        send_done(f, TRANSPORT_RETRY, NULL, "timeout");
        assert_string_equal(state_of(f), "backoff");

        /* Let real time pass the expiry (the loop waits, it does not sleep), then end the backoff. */
        for (unsigned i = 0; i < 1000 && boottime_usec() <= expires; i++)
                assert_true(sd_event_run(f->m->event, 10 * 1000) >= 0);
        assert_true(boottime_usec() > expires);
        assert_int_equal(f->fake->n_send, 1);
        fire_backoff(f, 1, 1);
        run_quiet(f);
        assert_int_equal(outbox_count(f->m->outbox), 0);
        assert_int_equal(f->fake->n_send, 1);
        assert_int_equal(f->d->counters.messages_failed, 1);
        reason = history(f, "SELECT reason FROM failed WHERE id = ?", a);
        assert_non_null(reason);
        assert_string_equal(reason, "expired");
}

static void test_auth_denied(void **state) {
        Fixture *f = *state;

        queue(f, "a");
        run_quiet(f);
        assert_int_equal(f->fake->n_auth, 1);
        auth_done(f, TRANSPORT_DENIED, "the platform refused the device secret");
        assert_string_equal(state_of(f), "error");
        assert_string_equal(f->d->last_error, "the platform refused the device secret");
        assert_int_equal(f->fake->n_reset, 1);
        assert_false(f->fake->meta.authenticated);
        assert_non_null(f->fake->meta.backoff_timer);
        assert_int_equal(f->fake->n_send, 0);
        assert_int_equal(outbox_count(f->m->outbox), 1);

        /* More messages do not bypass the backoff. */
        queue(f, "b");
        run_quiet(f);
        assert_int_equal(f->fake->n_auth, 1);
        assert_string_equal(state_of(f), "error");

        /* Then it tries again, and a success recovers. */
        fire_backoff(f, 2, 0);
        auth_done(f, TRANSPORT_DENIED, NULL);
        assert_string_equal(state_of(f), "error");
        assert_string_equal(f->d->last_error, "the platform refused authentication");
        fire_backoff(f, 3, 0);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->d->counters.reauthentications, 0);
        assert_int_equal(f->fake->n_send, 1);
        assert_string_equal(state_of(f), "sending");
        send_done(f, TRANSPORT_OK, "c1", NULL);
        send_done(f, TRANSPORT_OK, "c2", NULL);
        assert_string_equal(state_of(f), "idle");
        assert_null(f->d->last_error);
        assert_int_equal(f->d->counters.messages_sent, 2);
}

static void test_auth_retry(void **state) {
        Fixture *f = *state;

        queue(f, "a");
        run_quiet(f);
        auth_done(f, TRANSPORT_RETRY, "no answer from 127.0.0.1:5682");
        assert_string_equal(state_of(f), "backoff");
        assert_string_equal(f->d->last_error, "no answer from 127.0.0.1:5682");
        assert_int_equal(f->fake->n_reset, 0);
        fire_backoff(f, 2, 0);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 1);
}

static void test_start_failures(void **state) {
        Fixture *f = *state;

        /* authenticate() or send() failing to start is a transient failure. */
        f->fake->auth_error = -ENOMEM;
        queue(f, "a");
        run_quiet(f);
        assert_int_equal(f->fake->n_auth, 1);
        assert_string_equal(state_of(f), "backoff");
        assert_string_equal(f->d->last_error, "cannot start authentication");
        assert_false(transport_busy(&f->fake->meta));
        assert_int_equal(f->d->counters.retries, 1); /* a failed authentication is a retry too */

        f->fake->auth_error = 0;
        f->fake->send_error = -EIO;
        fire_backoff(f, 2, 0);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 1);
        assert_string_equal(state_of(f), "backoff");
        assert_string_equal(f->d->last_error, "cannot send the message");
        assert_int_equal(f->d->counters.retries, 2);
        assert_int_equal(f->fake->meta.n_inflight, 0);
        assert_false(transport_busy(&f->fake->meta));

        f->fake->send_error = 0;
        fire_backoff(f, 2, 2);
        send_done(f, TRANSPORT_OK, "c", NULL);
        assert_int_equal(outbox_count(f->m->outbox), 0);
}

/* Flush while a send is outstanding (a reply that will never come): abandoned at once, counted as a retry, sent
 * again without waiting; the abandoned attempt's late completion is not reported. */
static void test_flush_abandons_outstanding(void **state) {
        Fixture *f = *state;
        uint64_t a;

        a = queue(f, "a");
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 1);
        assert_string_equal(state_of(f), "sending");

        transport_flush(&f->fake->meta);
        run_quiet(f);
        assert_int_equal(f->fake->n_disconnect, 1);
        assert_int_equal(f->d->counters.retries, 1);
        assert_int_equal(f->fake->n_send, 2);
        assert_int_equal(f->fake->sent[1], a);
        assert_int_equal(f->fake->n_auth, 1); /* the token is kept */
        assert_string_equal(state_of(f), "sending");
        assert_null(f->fake->meta.backoff_timer);

        send_done(f, TRANSPORT_OK, "c", NULL);
        assert_int_equal(outbox_count(f->m->outbox), 0);
        assert_int_equal(f->d->counters.messages_sent, 1);

        /* Idle: nothing to abandon, nothing counted, and the session is kept. */
        transport_flush(&f->fake->meta);
        run_quiet(f);
        assert_int_equal(f->fake->n_disconnect, 1);
        assert_int_equal(f->d->counters.retries, 1);
        assert_string_equal(state_of(f), "idle");
}

/* Reauthenticate while a send or an authentication is outstanding: abandoned, the token dropped, a fresh
 * authentication at once, then the same message. */
static void test_reauthenticate_abandons_outstanding(void **state) {
        Fixture *f = *state;
        uint64_t a;

        a = queue(f, "a");
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 1);

        transport_reauthenticate(&f->fake->meta);
        run_quiet(f);
        assert_int_equal(f->fake->n_disconnect, 1);
        assert_int_equal(f->fake->n_reset, 1);
        assert_int_equal(f->fake->n_auth, 2);
        assert_int_equal(f->d->counters.retries, 1);
        assert_string_equal(state_of(f), "authenticating");
        assert_false(f->fake->meta.authenticated);

        /* An authentication that hangs is abandoned the same way. */
        transport_reauthenticate(&f->fake->meta);
        run_quiet(f);
        assert_int_equal(f->fake->n_disconnect, 2);
        assert_int_equal(f->fake->n_reset, 2);
        assert_int_equal(f->fake->n_auth, 3);
        assert_int_equal(f->d->counters.retries, 2);

        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->d->counters.reauthentications, 1);
        assert_int_equal(f->fake->n_send, 2);
        assert_int_equal(f->fake->sent[1], a);
        send_done(f, TRANSPORT_OK, "c", NULL);
        assert_int_equal(outbox_count(f->m->outbox), 0);
        assert_string_equal(state_of(f), "idle");
}

/* The outstanding send of message id. */
static const OutboxEntry *inflight_of(Fixture *f, uint64_t id) {
        for (size_t i = 0; i < f->fake->meta.n_inflight; i++)
                if (f->fake->meta.inflight[i]->id == id)
                        return f->fake->meta.inflight[i];
        fail_msg("message %" PRIu64 " is not in flight", id);
        return NULL;
}

static void complete(Fixture *f, uint64_t id, TransportResult result, const char *error) {
        transport_send_done(&f->fake->meta, inflight_of(f, id), result, result == TRANSPORT_OK ? "c" : NULL, error);
        run_quiet(f);
}

static void set_window(Fixture *f, unsigned n) {
        f->m->config.max_in_flight = n;
        transport_configure(&f->fake->meta, &f->m->config);
        run_quiet(f);
}

/* MaxInFlight=4: four sends leave at once, in order, one per query batch; a completion in any order frees a
 * slot for the next message. */
static void test_window_fills_and_slides(void **state) {
        Fixture *f = *state;
        uint64_t ids[10];

        set_window(f, 4);
        for (unsigned i = 0; i < 10; i++)
                ids[i] = queue(f, "m");
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 4);
        for (unsigned i = 0; i < 4; i++)
                assert_int_equal(f->fake->sent[i], ids[i]);
        assert_int_equal(f->fake->meta.n_inflight, 4);

        /* Out of order: the third is acknowledged first. */
        complete(f, ids[2], TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 5);
        assert_int_equal(f->fake->sent[4], ids[4]);
        complete(f, ids[0], TRANSPORT_OK, NULL);
        complete(f, ids[1], TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 7);
        assert_int_equal(f->fake->sent[5], ids[5]);
        assert_int_equal(f->fake->sent[6], ids[6]);

        /* A smaller window takes effect as sends come back. */
        set_window(f, 2);
        complete(f, ids[3], TRANSPORT_OK, NULL);
        complete(f, ids[4], TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 7);
        complete(f, ids[5], TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 8);
        assert_int_equal(f->fake->sent[7], ids[7]);
        for (unsigned i = 6; i < 10; i++)
                complete(f, ids[i], TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 10);
        assert_int_equal(outbox_count(f->m->outbox), 0);
        assert_int_equal(f->d->counters.messages_sent, 10);
        assert_int_equal(f->d->counters.retries, 0);
        assert_string_equal(state_of(f), "idle");
}

/* A failed send stops the window: the rest come back, then one backoff, then the failed message leaves again
 * first and the window fills behind it; nothing is lost or sent twice except the failed one. */
static void test_window_retry(void **state) {
        Fixture *f = *state;
        uint64_t ids[6];

        set_window(f, 3);
        for (unsigned i = 0; i < 6; i++)
                ids[i] = queue(f, "m");
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 3);

        complete(f, ids[1], TRANSPORT_RETRY, "the cloud answered 5.03");
        assert_int_equal(f->fake->n_send, 3); /* stalled: nothing new */
        assert_null(f->fake->meta.backoff_timer);
        complete(f, ids[0], TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 3);
        complete(f, ids[2], TRANSPORT_OK, NULL);
        assert_string_equal(state_of(f), "backoff");
        assert_string_equal(f->d->last_error, "the cloud answered 5.03");
        assert_int_equal(f->d->counters.retries, 1);

        fire_backoff(f, 1, 6);
        assert_int_equal(f->fake->sent[3], ids[1]);
        assert_int_equal(f->fake->sent[4], ids[3]);
        assert_int_equal(f->fake->sent[5], ids[4]);
        for (unsigned i = 1; i < 6; i++)
                if (i != 2)
                        complete(f, ids[i], TRANSPORT_OK, NULL);
        assert_int_equal(outbox_count(f->m->outbox), 0);
        assert_int_equal(f->d->counters.messages_sent, 6);
        assert_null(f->d->last_error);
}

/* A rejected token: no new sends and no authentication while publishes with the old token are outstanding;
 * one authentication for the whole window, then everything again in order. */
static void test_window_reauth(void **state) {
        Fixture *f = *state;
        uint64_t ids[4];

        set_window(f, 4);
        for (unsigned i = 0; i < 4; i++)
                ids[i] = queue(f, "m");
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 4);

        complete(f, ids[2], TRANSPORT_REAUTH, "the cloud answered 4.01");
        complete(f, ids[0], TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_auth, 1);
        complete(f, ids[1], TRANSPORT_REAUTH, "the cloud answered 4.01");
        assert_int_equal(f->fake->n_auth, 1);
        complete(f, ids[3], TRANSPORT_REAUTH, "the cloud answered 4.01");
        assert_int_equal(f->fake->n_auth, 2);
        assert_int_equal(f->fake->n_send, 4);
        assert_int_equal(f->d->counters.retries, 3);

        auth_done(f, TRANSPORT_OK, NULL);
        assert_int_equal(f->d->counters.reauthentications, 1);
        assert_int_equal(f->fake->n_send, 7);
        assert_int_equal(f->fake->sent[4], ids[1]);
        assert_int_equal(f->fake->sent[5], ids[2]);
        assert_int_equal(f->fake->sent[6], ids[3]);
        for (unsigned i = 1; i < 4; i++)
                complete(f, ids[i], TRANSPORT_OK, NULL);
        assert_int_equal(outbox_count(f->m->outbox), 0);
}

/* Flush abandons the whole window: each outstanding message counts as a retry and all leave again at once. */
static void test_window_flush(void **state) {
        Fixture *f = *state;
        uint64_t ids[5];

        set_window(f, 4);
        for (unsigned i = 0; i < 5; i++)
                ids[i] = queue(f, "m");
        run_quiet(f);
        auth_done(f, TRANSPORT_OK, NULL);
        complete(f, ids[1], TRANSPORT_OK, NULL);
        assert_int_equal(f->fake->n_send, 5);

        transport_flush(&f->fake->meta);
        run_quiet(f);
        assert_int_equal(f->fake->n_disconnect, 1);
        assert_int_equal(f->d->counters.retries, 4);
        assert_int_equal(f->fake->n_send, 9);
        assert_int_equal(f->fake->sent[5], ids[0]);
        assert_int_equal(f->fake->sent[6], ids[2]);
        assert_int_equal(f->fake->sent[7], ids[3]);
        assert_int_equal(f->fake->sent[8], ids[4]);
        for (unsigned i = 0; i < 5; i++)
                if (i != 1)
                        complete(f, ids[i], TRANSPORT_OK, NULL);
        assert_int_equal(outbox_count(f->m->outbox), 0);
        assert_int_equal(f->d->counters.messages_sent, 5);
}

static void test_offline(void **state) {
        Fixture *f = *state;

        f->m->online = false;
        queue(f, "a");
        run_quiet(f);
        assert_int_equal(f->fake->n_auth, 0);
        assert_string_equal(state_of(f), "offline");

        f->m->online = true;
        device_kick(f->d);
        run_quiet(f);
        assert_int_equal(f->fake->n_auth, 1);
}

static void test_max_payload(void **state) {
        Fixture *f = *state;

        size_t aes;

        /* transport_max_payload() goes by Transport=, not by the implementation a test swapped in. */
        aes = device_max_payload(f->d, "/pk/dn/user/update");
        assert_true(aes > 0);
        f->d->identity->transport = TRANSPORT_COAP_DTLS;
        assert_int_equal(device_max_payload(f->d, "/pk/dn/user/update"),
                         transport_coap_dtls_max_payload("/pk/dn/user/update"));
        assert_true(transport_coap_dtls_max_payload("/pk/dn/user/update") + COAP_DTLS_RECORD_OVERHEAD < 1280);
        f->d->identity->transport = TRANSPORT_HTTPS;
        assert_int_equal(device_max_payload(f->d, "/pk/dn/user/update"), 128 * 1024);
        f->d->identity->transport = TRANSPORT_COAP_AES;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_fifo_and_ok, setup, teardown),
                cmocka_unit_test_setup_teardown(test_completion_when_not_busy_is_ignored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reauth_resends_same_message, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retry_backs_off, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retry_with_default_backoff, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rejected_fails_message, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expired_never_sent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expires_during_backoff, setup, teardown),
                cmocka_unit_test_setup_teardown(test_auth_denied, setup, teardown),
                cmocka_unit_test_setup_teardown(test_auth_retry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_start_failures, setup, teardown),
                cmocka_unit_test_setup_teardown(test_flush_abandons_outstanding, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reauthenticate_abandons_outstanding, setup, teardown),
                cmocka_unit_test_setup_teardown(test_window_fills_and_slides, setup, teardown),
                cmocka_unit_test_setup_teardown(test_window_retry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_window_reauth, setup, teardown),
                cmocka_unit_test_setup_teardown(test_window_flush, setup, teardown),
                cmocka_unit_test_setup_teardown(test_offline, setup, teardown),
                cmocka_unit_test_setup_teardown(test_max_payload, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

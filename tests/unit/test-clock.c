/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the wall-clock rule (clock.c) and for TTL deadlines across restarts, reboots and clock
 * corrections (outbox-ttl.c), with injected clock samples and boot ids against a real SQLite file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"
#include "test-util.h"
#include "../../daemon/clock.h"
#include "../../daemon/outbox.h"

#define S USEC_PER_SEC
#define R0 (CLOCK_RELEASE_USEC + 10 * 86400 * S) /* a right wall clock */
#define Y2000 (946684800ULL * S)
#define BOOT_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define BOOT_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_judge(void **state) {
        ClockSample s = { .realtime_usec = Y2000, .boottime_usec = 10 * S };

        assert_int_equal(clock_judge(&s), CLOCK_BEFORE_RELEASE);
        s.timesync_running = true;
        assert_int_equal(clock_judge(&s), CLOCK_BEFORE_RELEASE); /* rule 1 first */
        s.realtime_usec = R0;
        assert_int_equal(clock_judge(&s), CLOCK_NOT_SYNCHRONIZED);
        s.boottime_usec = CLOCK_SYNC_WAIT_USEC; /* the wait is over: a good RTC without NTP sends */
        assert_int_equal(clock_judge(&s), CLOCK_TRUSTED);
        s.boottime_usec = 10 * S;
        s.timesync_synchronized = true;
        assert_int_equal(clock_judge(&s), CLOCK_TRUSTED);
        s = (ClockSample) { .realtime_usec = R0, .boottime_usec = 10 * S }; /* no timesyncd */
        assert_int_equal(clock_judge(&s), CLOCK_TRUSTED);
        s.realtime_usec = CLOCK_RELEASE_USEC - 1;
        assert_int_equal(clock_judge(&s), CLOCK_BEFORE_RELEASE);
}

static void test_describe(void **state) {
        ClockSample s = { .realtime_usec = Y2000 + 5 * S };
        char buf[256];

        clock_describe(CLOCK_BEFORE_RELEASE, &s, buf, sizeof(buf));
        assert_non_null(strstr(buf, "system clock (2000-01-01 00:00:05 UTC) is before this release"));
        clock_describe(CLOCK_TRUSTED, &s, buf, sizeof(buf));
        assert_string_equal(buf, "");
}

typedef struct Fixture {
        char dir[64];
        char path[96];
        sd_event *event;
        Outbox *outbox;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        test_mkdtemp(f->dir, sizeof(f->dir), "clock");
        (void) snprintf(f->path, sizeof(f->path), "%s/outbox.db", f->dir);
        assert_int_equal(sd_event_new(&f->event), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        outbox_free(f->outbox);
        sd_event_unref(f->event);
        test_rm_rf(f->dir);
        free(f);
        return 0;
}

/* A daemon start: opens the outbox and takes over the TTLs, as the Manager does. */
static void start(Fixture *f, const char *boot, uint64_t realtime, uint64_t boottime, bool trusted) {
        ClockSample now = { .realtime_usec = realtime, .boottime_usec = boottime };

        f->outbox = outbox_free(f->outbox);
        assert_int_equal(outbox_open(f->event, f->path, &f->outbox), 0);
        assert_int_equal(outbox_ttl_start(f->outbox, boot, &now, trusted), 0);
}

static void on_committed(void *userdata, uint64_t id, int error) {
        assert_int_equal(error, 0);
}

static void publish(Fixture *f, uint64_t deadline) {
        OutboxEntry e = {
                .device = (char *) "dev", .topic = (char *) "/pk/dn/user/update", .payload = (uint8_t *) "x",
                .payload_len = 1, .uid = 1000, .deadline_usec = deadline,
        };

        assert_int_equal(outbox_add(f->outbox, &e, on_committed, NULL), 0);
        assert_int_equal(outbox_flush(f->outbox), 0);
}

static uint64_t head_deadline(Fixture *f) {
        _cleanup_(outbox_entry_freep) OutboxEntry *e = NULL;

        assert_int_equal(outbox_head(f->outbox, "dev", &e), 0);
        assert_non_null(e);
        return e->deadline_usec;
}

static void checkpoint(Fixture *f, uint64_t realtime, uint64_t boottime, bool trusted) {
        ClockSample now = { .realtime_usec = realtime, .boottime_usec = boottime };

        assert_int_equal(outbox_ttl_checkpoint(f->outbox, &now, trusted), 0);
}

static void test_restart_same_boot(void **state) {
        Fixture *f = *state;

        start(f, BOOT_A, Y2000, 100 * S, false);
        publish(f, 3700 * S);
        /* Whatever the wall clock says, a restart in the same boot keeps the deadline exactly. */
        start(f, BOOT_A, R0 + 86400 * 365 * S, 200 * S, true);
        assert_int_equal(head_deadline(f), 3700 * S);
        assert_false(outbox_entry_expired(&(OutboxEntry) { .deadline_usec = 3700 * S }, 3699 * S));
}

static void test_reboot_clock_untrusted(void **state) {
        Fixture *f = *state;

        start(f, BOOT_A, Y2000, 100 * S, false);
        publish(f, 3700 * S);
        checkpoint(f, Y2000 + 1000 * S, 1100 * S, false);
        /* What remained at the last checkpoint (2600 s) counts from the new boot's now; the time off is unknown. */
        start(f, BOOT_B, Y2000 + 5 * S, 10 * S, false);
        assert_int_equal(head_deadline(f), 2610 * S);
        assert_int_equal(outbox_ttl_clock_trusted(f->outbox, &(ClockSample) { .realtime_usec = R0, .boottime_usec = 20 * S }), 0);
        assert_int_equal(head_deadline(f), 2610 * S);
}

static void test_reboot_clock_trusted_later(void **state) {
        Fixture *f = *state;
        uint64_t cr = R0 + 1000 * S, off = 600 * S;

        start(f, BOOT_A, R0, 100 * S, true);
        publish(f, 3700 * S);
        checkpoint(f, cr, 1100 * S, true);
        /* Rebooted, off for 600 s, with the clock at 2000 until NTP answers at boottime 20 s. */
        start(f, BOOT_B, Y2000, 10 * S, false);
        assert_int_equal(head_deadline(f), 2610 * S);
        start(f, BOOT_B, Y2000 + 5 * S, 15 * S, false); /* a restart meanwhile keeps the pending correction */
        assert_int_equal(head_deadline(f), 2610 * S);
        assert_int_equal(outbox_ttl_clock_trusted(f->outbox, &(ClockSample) {
                                 .realtime_usec = cr + off + 20 * S, .boottime_usec = 20 * S }), 0);
        /* 2600 s remained at the checkpoint; 600 s off and 20 s of this boot have passed since. */
        assert_int_equal(head_deadline(f), 20 * S + (2600 - 600 - 20) * S);
}

static void test_reboot_clock_trusted_both_ends(void **state) {
        Fixture *f = *state;
        uint64_t cr = R0 + 1000 * S, next = 0;

        start(f, BOOT_A, R0, 100 * S, true);
        publish(f, 3700 * S);
        publish(f, 1500 * S);
        checkpoint(f, cr, 1100 * S, true);
        start(f, BOOT_B, cr + 600 * S + 10 * S, 10 * S, true);
        assert_int_equal(head_deadline(f), 10 * S + (2600 - 610) * S);
        /* The second one's 400 s ran out while the device was off: it expires at once. */
        assert_int_equal(outbox_next_expiry(f->outbox, &next), 0);
        assert_true(next <= 10 * S + 1);
}

static void test_schema_upgrade(void **state) {
        Fixture *f = *state;
        sqlite3 *db = NULL;
        char sql[512];

        /* An outbox of the schema before deadlines: a 3600 s TTL, published 100 s ago by a right clock. */
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        (void) snprintf(sql, sizeof(sql),
                        "CREATE TABLE messages(id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL,"
                        " topic TEXT NOT NULL, payload BLOB NOT NULL, content_type INTEGER NOT NULL, sender TEXT,"
                        " uid INTEGER NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL);"
                        "INSERT INTO messages(device, topic, payload, content_type, uid, created, expires)"
                        " VALUES ('dev', 't', x'00', 0, 0, %llu, %llu);",
                        (unsigned long long) (R0 - 100 * S), (unsigned long long) (R0 + 3500 * S));
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);

        /* Upgraded while the clock is wrong: the whole TTL, until the clock is trusted. */
        start(f, BOOT_A, Y2000, 50 * S, false);
        assert_int_equal(head_deadline(f), (50 + 3600) * S);
        assert_int_equal(outbox_ttl_clock_trusted(f->outbox, &(ClockSample) { .realtime_usec = R0 + 10 * S,
                                                                               .boottime_usec = 60 * S }), 0);
        assert_int_equal(head_deadline(f), (60 + 3490) * S);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_judge),
                cmocka_unit_test(test_describe),
                cmocka_unit_test_setup_teardown(test_restart_same_boot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reboot_clock_untrusted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reboot_clock_trusted_later, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reboot_clock_trusted_both_ends, setup, teardown),
                cmocka_unit_test_setup_teardown(test_schema_upgrade, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for outbox.c against a real SQLite file in a temp directory and a real sd-event loop: commit
 * callbacks, group commit, per-device FIFO, removal, persistence, and that uncommitted rows are never handed out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "test-util.h"
#include "../../daemon/outbox.h"

#define MAX_COMMITS 256

typedef struct Commits {
        uint64_t ids[MAX_COMMITS];
        int errors[MAX_COMMITS];
        size_t n;
} Commits;

typedef struct Fixture {
        char dir[64];
        char path[96];
        sd_event *event;
        Outbox *outbox;
        Commits commits;
        unsigned changes;
} Fixture;

static void on_committed(void *userdata, uint64_t id, int error) {
        Commits *c = userdata;

        assert_true(c->n < MAX_COMMITS);
        c->ids[c->n] = id;
        c->errors[c->n] = error;
        c->n++;
}

static void on_change(void *userdata) {
        Fixture *f = userdata;

        f->changes++;
}

static void fixture_open(Fixture *f) {
        assert_int_equal(outbox_open(f->event, f->path, &f->outbox), 0);
        outbox_set_change_callback(f->outbox, on_change, f);
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        test_mkdtemp(f->dir, sizeof(f->dir), "outbox");
        (void) snprintf(f->path, sizeof(f->path), "%s/outbox.db", f->dir);
        assert_int_equal(sd_event_new(&f->event), 0);
        fixture_open(f);
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

static OutboxEntry entry(const char *device, const char *topic, const char *payload) {
        return (OutboxEntry) {
                .device = (char *) device,
                .topic = (char *) topic,
                .payload = (uint8_t *) payload,
                .payload_len = strlen(payload),
                .content_type = CONTENT_TYPE_JSON,
                .sender = (char *) ":1.42",
                .uid = 1000,
        };
}

static void add(Fixture *f, const char *device, const char *topic, const char *payload) {
        OutboxEntry e = entry(device, topic, payload);

        assert_int_equal(outbox_add(f->outbox, &e, on_committed, &f->commits), 0);
}

/* Runs the loop until n commit callbacks have been seen; bounded by iterations, never by sleeping. */
static void run_until_commits(Fixture *f, size_t n) {
        for (unsigned i = 0; i < 1000 && f->commits.n < n; i++)
                assert_true(sd_event_run(f->event, 1000 * 1000) >= 0);
        assert_int_equal(f->commits.n, n);
}

/* Rows visible to a second connection, i.e. committed to the file. */
static int64_t committed_rows(Fixture *f, const char *sql) {
        sqlite3 *db = NULL;
        sqlite3_stmt *s = NULL;
        int64_t n = -1;

        assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
        if (sqlite3_step(s) == SQLITE_ROW)
                n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        sqlite3_close(db);
        return n;
}

static void test_add_commits_then_calls_back(void **state) {
        Fixture *f = *state;

        add(f, "dev-a", "/t/1", "{\"n\":1}");
        add(f, "dev-a", "/t/2", "{\"n\":2}");
        add(f, "dev-b", "/t/3", "{\"n\":3}");
        /* Nothing is answered before COMMIT, and nothing is on disk yet. */
        assert_int_equal(f->commits.n, 0);
        assert_int_equal(committed_rows(f, "SELECT count(*) FROM messages"), 0);
        assert_int_equal(f->changes, 0);

        run_until_commits(f, 3);
        assert_int_equal(committed_rows(f, "SELECT count(*) FROM messages"), 3);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(f->commits.errors[i], 0);
                assert_true(f->commits.ids[i] > 0);
                if (i > 0)
                        assert_true(f->commits.ids[i] > f->commits.ids[i - 1]);
        }
        assert_true(f->changes >= 1);
        assert_int_equal(outbox_count(f->outbox), 3);
        assert_int_equal(outbox_bytes(f->outbox), 3 * strlen("{\"n\":1}"));
        assert_int_equal(outbox_device_count(f->outbox, "dev-a"), 2);
        assert_int_equal(outbox_device_count(f->outbox, "dev-b"), 1);
        assert_int_equal(outbox_device_count(f->outbox, "dev-c"), 0);
}

static void test_group_commit(void **state) {
        Fixture *f = *state;

        for (unsigned i = 0; i < 100; i++)
                add(f, "dev-a", "/t", "x");
        assert_int_equal(f->commits.n, 0);

        /* One loop iteration dispatches one event source: one COMMIT answers all hundred. */
        assert_int_equal(sd_event_run(f->event, 1000 * 1000), 1);
        assert_int_equal(f->commits.n, 100);
        assert_int_equal(committed_rows(f, "SELECT count(*) FROM messages"), 100);
        for (size_t i = 1; i < 100; i++)
                assert_int_equal(f->commits.ids[i], f->commits.ids[i - 1] + 1);

        /* Nothing left to commit: flushing again is a no-op. */
        assert_int_equal(outbox_flush(f->outbox), 0);
        assert_int_equal(f->commits.n, 100);
}

static int on_busy(sd_event_source *s, void *userdata) {
        return 0;
}

static void test_commit_timer_when_never_idle(void **state) {
        Fixture *f = *state;
        sd_event_source *busy = NULL;
        struct timespec start, now;

        /* A source that is always pending keeps the idle commit from running; the timer must commit anyway. */
        assert_int_equal(sd_event_add_defer(f->event, &busy, on_busy, NULL), 0);
        assert_int_equal(sd_event_source_set_enabled(busy, SD_EVENT_ON), 0);
        add(f, "dev-a", "/t", "x");
        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &start), 0);
        do {
                assert_true(sd_event_run(f->event, 1000 * 1000) >= 0);
                assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &now), 0);
        } while (f->commits.n == 0 && now.tv_sec - start.tv_sec < 10);
        assert_int_equal(f->commits.n, 1);
        assert_int_equal(f->commits.errors[0], 0);
        sd_event_source_unref(busy);
}

static void on_committed_add_more(void *userdata, uint64_t id, int error) {
        Fixture *f = userdata;

        on_committed(&f->commits, id, error);
        if (f->commits.n == 1)
                add(f, "dev-a", "/t/second", "y");
}

static void test_callback_may_add(void **state) {
        Fixture *f = *state;
        OutboxEntry e = entry("dev-a", "/t/first", "x");

        assert_int_equal(outbox_add(f->outbox, &e, on_committed_add_more, f), 0);
        run_until_commits(f, 2);
        assert_true(f->commits.ids[1] > f->commits.ids[0]);
        assert_int_equal(committed_rows(f, "SELECT count(*) FROM messages"), 2);
}

static void test_head_fifo_per_device(void **state) {
        _cleanup_(outbox_entry_freep) OutboxEntry *h = NULL;
        Fixture *f = *state;
        OutboxEntry e = {
                .device = (char *) "dev-a",
                .topic = (char *) "/a/1",
                .payload = (uint8_t *) "\x00\x01\x02",
                .payload_len = 3,
                .content_type = CONTENT_TYPE_OCTET_STREAM,
                .sender = NULL,
                .uid = 4242,
                .created_usec = 1700000000000000ULL,
                .expires_usec = 1800000000000000ULL,
        };
        uint64_t a1, a2, b1;

        assert_int_equal(outbox_add(f->outbox, &e, on_committed, &f->commits), 0);
        add(f, "dev-b", "/b/1", "b1");
        add(f, "dev-a", "/a/2", "a2");
        run_until_commits(f, 3);
        a1 = f->commits.ids[0];
        b1 = f->commits.ids[1];
        a2 = f->commits.ids[2];

        assert_int_equal(outbox_head(f->outbox, "dev-a", &h), 0);
        assert_non_null(h);
        assert_int_equal(h->id, a1);
        assert_string_equal(h->device, "dev-a");
        assert_string_equal(h->topic, "/a/1");
        assert_int_equal(h->payload_len, 3);
        assert_memory_equal(h->payload, "\x00\x01\x02", 3);
        assert_int_equal(h->content_type, CONTENT_TYPE_OCTET_STREAM);
        assert_null(h->sender);
        assert_int_equal(h->uid, 4242);
        assert_int_equal(h->created_usec, 1700000000000000ULL);
        assert_int_equal(h->expires_usec, 1800000000000000ULL);
        h = outbox_entry_free(h);

        assert_int_equal(outbox_head(f->outbox, "dev-b", &h), 0);
        assert_non_null(h);
        assert_int_equal(h->id, b1);
        assert_string_equal(h->sender, ":1.42");
        assert_int_equal(h->content_type, CONTENT_TYPE_JSON);
        assert_true(h->created_usec > 0); /* filled in by outbox_add */
        h = outbox_entry_free(h);

        h = (OutboxEntry *) 0x1;
        assert_int_equal(outbox_head(f->outbox, "dev-c", &h), 0);
        assert_null(h);

        /* Delivering the head moves the device on to its next message. */
        assert_int_equal(outbox_delivered(f->outbox, a1, "cloud-1"), 1);
        assert_int_equal(outbox_count(f->outbox), 2);
        assert_int_equal(outbox_bytes(f->outbox), 2 + 2);
        assert_int_equal(outbox_device_count(f->outbox, "dev-a"), 1);
        assert_int_equal(outbox_head(f->outbox, "dev-a", &h), 0);
        assert_non_null(h);
        assert_int_equal(h->id, a2);
        h = outbox_entry_free(h);

        assert_int_equal(outbox_failed(f->outbox, b1, "rejected by the cloud"), 1);
        assert_int_equal(outbox_count(f->outbox), 1);
        assert_int_equal(outbox_bytes(f->outbox), 2);
        assert_int_equal(outbox_device_count(f->outbox, "dev-b"), 0);
        assert_int_equal(outbox_head(f->outbox, "dev-b", &h), 0);
        assert_null(h);

        /* Unknown or already removed ids are not an error and change nothing. */
        assert_int_equal(outbox_delivered(f->outbox, a1, "again"), 0);
        assert_int_equal(outbox_failed(f->outbox, 999999, "x"), 0);
        assert_int_equal(outbox_count(f->outbox), 1);

        assert_int_equal(outbox_flush(f->outbox), 0);
        assert_int_equal(committed_rows(f, "SELECT count(*) FROM messages"), 1);
        assert_int_equal(committed_rows(f, "SELECT count(*) FROM delivered WHERE cloud_id = 'cloud-1'"), 1);
        assert_int_equal(committed_rows(f, "SELECT count(*) FROM failed WHERE reason = 'rejected by the cloud'"), 1);
}

static void test_head_skips_uncommitted(void **state) {
        _cleanup_(outbox_entry_freep) OutboxEntry *h = NULL;
        Fixture *f = *state;
        uint64_t first;

        /* A message must not be sent before its Publish reply is durable. */
        add(f, "dev-a", "/t/1", "1");
        assert_int_equal(outbox_head(f->outbox, "dev-a", &h), 0);
        assert_null(h);

        run_until_commits(f, 1);
        first = f->commits.ids[0];
        add(f, "dev-a", "/t/2", "2");
        assert_int_equal(outbox_head(f->outbox, "dev-a", &h), 0);
        assert_non_null(h);
        assert_int_equal(h->id, first);
        h = outbox_entry_free(h);

        /* With the committed one gone, the uncommitted one is still not handed out. */
        assert_int_equal(outbox_delivered(f->outbox, first, "c"), 1);
        assert_int_equal(outbox_head(f->outbox, "dev-a", &h), 0);
        assert_null(h);

        run_until_commits(f, 2);
        assert_int_equal(outbox_head(f->outbox, "dev-a", &h), 0);
        assert_non_null(h);
        assert_int_equal(h->id, f->commits.ids[1]);
}

static void test_persistence(void **state) {
        _cleanup_(outbox_entry_freep) OutboxEntry *h = NULL;
        Fixture *f = *state;
        uint64_t ids[3];

        add(f, "dev-a", "/t/1", "one");
        add(f, "dev-a", "/t/2", "two");
        add(f, "dev-a", "/t/3", "three");
        run_until_commits(f, 3);
        memcpy(ids, f->commits.ids, sizeof(ids));

        /* Remove the newest, so a reused id would show. The close commits it. */
        assert_int_equal(outbox_delivered(f->outbox, ids[2], "c3"), 1);
        f->outbox = outbox_free(f->outbox);
        assert_int_equal(committed_rows(f, "SELECT count(*) FROM messages"), 2);

        fixture_open(f);
        assert_int_equal(outbox_count(f->outbox), 2);
        assert_int_equal(outbox_bytes(f->outbox), strlen("one") + strlen("two"));
        assert_int_equal(outbox_device_count(f->outbox, "dev-a"), 2);
        assert_int_equal(outbox_head(f->outbox, "dev-a", &h), 0);
        assert_non_null(h);
        assert_int_equal(h->id, ids[0]);
        assert_string_equal(h->topic, "/t/1");
        assert_memory_equal(h->payload, "one", 3);
        h = outbox_entry_free(h);

        add(f, "dev-a", "/t/4", "four");
        run_until_commits(f, 4);
        assert_int_equal(f->commits.errors[3], 0);
        assert_true(f->commits.ids[3] > ids[2]);

        /* And once more, after everything was delivered. */
        for (size_t i = 0; i < 2; i++)
                assert_int_equal(outbox_delivered(f->outbox, ids[i], "c"), 1);
        assert_int_equal(outbox_delivered(f->outbox, f->commits.ids[3], "c"), 1);
        assert_int_equal(outbox_count(f->outbox), 0);
        assert_int_equal(outbox_bytes(f->outbox), 0);
        f->outbox = outbox_free(f->outbox);
        fixture_open(f);
        assert_int_equal(outbox_count(f->outbox), 0);
        add(f, "dev-a", "/t/5", "five");
        run_until_commits(f, 5);
        assert_true(f->commits.ids[4] > f->commits.ids[3]);
        assert_int_equal(outbox_head(f->outbox, "dev-a", &h), 0);
        assert_non_null(h);
        assert_int_equal(h->id, f->commits.ids[4]);
}

static void test_close_commits_and_answers(void **state) {
        Fixture *f = *state;

        add(f, "dev-a", "/t", "x");
        f->outbox = outbox_free(f->outbox);
        assert_int_equal(f->commits.n, 1);
        assert_int_equal(f->commits.errors[0], 0);
        assert_int_equal(committed_rows(f, "SELECT count(*) FROM messages"), 1);
        fixture_open(f);
}

static void test_content_type(void **state) {
        for (ContentType t = 0; t < _CONTENT_TYPE_MAX; t++) {
                const char *s = content_type_to_string(t);

                assert_non_null(s);
                assert_int_equal(content_type_from_string(s), t);
        }
        assert_string_equal(content_type_to_string(CONTENT_TYPE_JSON), "json");
        assert_string_equal(content_type_to_string(CONTENT_TYPE_CBOR), "cbor");
        assert_string_equal(content_type_to_string(CONTENT_TYPE_OCTET_STREAM), "octet-stream");
        assert_null(content_type_to_string(_CONTENT_TYPE_MAX));
        assert_null(content_type_to_string(_CONTENT_TYPE_INVALID));
        assert_int_equal(content_type_from_string("JSON"), _CONTENT_TYPE_INVALID);
        assert_int_equal(content_type_from_string(""), _CONTENT_TYPE_INVALID);
        assert_int_equal(content_type_from_string(NULL), _CONTENT_TYPE_INVALID);
}

static unsigned count_corrupt(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (strstr(de->d_name, "outbox.db.corrupt-") && !strstr(de->d_name, "-wal") && !strstr(de->d_name, "-shm"))
                        n++;
        closedir(d);
        return n;
}

/* A damaged file is moved aside (kept for inspection) and a fresh outbox started; never silently reused. */
static void test_corrupt_moved_aside(void **state) {
        Fixture *f = *state;
        FILE *out;

        add(f, "dev", "/t", "x");
        run_until_commits(f, 1);
        f->outbox = outbox_free(f->outbox);
        (void) unlink(f->path); /* also drop -wal/-shm contents by overwriting the main file below */
        out = fopen(f->path, "we");
        assert_non_null(out);
        fputs("this is not an SQLite database, but it is long enough to look like a header........", out);
        fclose(out);

        fixture_open(f);
        assert_int_equal(count_corrupt(f->dir), 1);
        assert_int_equal(outbox_count(f->outbox), 0);
        add(f, "dev", "/t", "y");
        run_until_commits(f, 2);
        assert_int_equal(outbox_count(f->outbox), 1);
}

/* A valid header whose pages are garbage fails quick_check and is moved aside too. */
static void test_damaged_pages_moved_aside(void **state) {
        Fixture *f = *state;
        char big[4096];
        FILE *out;

        for (unsigned i = 0; i < 50; i++)
                add(f, "dev", "/t", "a somewhat longer payload to fill a few pages of the database file");
        run_until_commits(f, 50);
        f->outbox = outbox_free(f->outbox);
        memset(big, 0xa5, sizeof(big));
        out = fopen(f->path, "r+e");
        assert_non_null(out);
        assert_int_equal(fseek(out, 4096, SEEK_SET), 0);
        assert_int_equal(fwrite(big, 1, sizeof(big), out), sizeof(big));
        fclose(out);

        fixture_open(f);
        assert_int_equal(count_corrupt(f->dir), 1);
        assert_int_equal(outbox_count(f->outbox), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_add_commits_then_calls_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_commit_timer_when_never_idle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_callback_may_add, setup, teardown),
                cmocka_unit_test_setup_teardown(test_head_fifo_per_device, setup, teardown),
                cmocka_unit_test_setup_teardown(test_head_skips_uncommitted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
                cmocka_unit_test_setup_teardown(test_close_commits_and_answers, setup, teardown),
                cmocka_unit_test(test_content_type),
                cmocka_unit_test_setup_teardown(test_corrupt_moved_aside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_pages_moved_aside, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

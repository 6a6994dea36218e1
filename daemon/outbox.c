/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SQLite outbox with group commit; see outbox.h. Opening and closing the file is in outbox-file.c. */
#include <limits.h>
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "outbox-internal.h"
#include "time-util.h"

#define COMMIT_MAX_DELAY_USEC (20 * 1000)   /* a burst never holds replies back longer than this */
#define COMMIT_TIMER_ACCURACY_USEC 1000
#define DELIVERED_KEEP 10000                /* bounded history for message status queries */
#define FAILED_KEEP 1000                    /* bounded dead-letter table */

static const char *const content_type_table[_CONTENT_TYPE_MAX] = {
        [CONTENT_TYPE_JSON] = "json",
        [CONTENT_TYPE_CBOR] = "cbor",
        [CONTENT_TYPE_OCTET_STREAM] = "octet-stream",
};

const char *content_type_to_string(ContentType t) {
        if (t < 0 || t >= _CONTENT_TYPE_MAX)
                return NULL;
        return content_type_table[t];
}

ContentType content_type_from_string(const char *s) {
        for (ContentType t = 0; t < _CONTENT_TYPE_MAX; t++)
                if (s && streq(s, content_type_table[t]))
                        return t;
        return _CONTENT_TYPE_INVALID;
}

OutboxEntry *outbox_entry_free(OutboxEntry *e) {
        if (!e)
                return NULL;
        free(e->device);
        free(e->topic);
        free(e->payload);
        free(e->sender);
        free(e);
        return NULL;
}

int sqlite_to_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_CANTOPEN:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        case SQLITE_TOOBIG:
                return -E2BIG;
        default:
                return -EIO;
        }
}

int outbox_check(Outbox *o, int rc, const char *what) {
        int r = sqlite_to_errno(rc);

        if (r < 0)
                log_debug("SQLite: %s failed: %s", what, sqlite3_errmsg(o->db));
        return r;
}

void stmt_finalizep(sqlite3_stmt **s) {
        if (*s)
                (void) sqlite3_finalize(*s);
}

int outbox_exec(Outbox *o, const char *sql) {
        return outbox_check(o, sqlite3_exec(o->db, sql, NULL, NULL, NULL), sql);
}

/* Steps a statement that returns no rows and makes it ready for the next use. */
static int outbox_step_done(Outbox *o, sqlite3_stmt *s, const char *what) {
        int rc = sqlite3_step(s);

        (void) sqlite3_reset(s);
        (void) sqlite3_clear_bindings(s);
        return outbox_check(o, rc == SQLITE_DONE ? SQLITE_OK : rc, what);
}

static OutboxUsage *outbox_usage(Outbox *o, uid_t uid, bool create) {
        OutboxUsage *u;

        for (size_t i = 0; i < o->n_usage; i++)
                if (o->usage[i].uid == uid)
                        return &o->usage[i];
        if (!create)
                return NULL;
        u = reallocarray(o->usage, o->n_usage + 1, sizeof(OutboxUsage));
        if (!u)
                return NULL;
        o->usage = u;
        o->usage[o->n_usage] = (OutboxUsage) { .uid = uid };
        return &o->usage[o->n_usage++];
}

void outbox_user_usage(Outbox *o, uid_t uid, uint64_t *ret_count, uint64_t *ret_bytes) {
        OutboxUsage *u = outbox_usage(o, uid, false);

        *ret_count = u ? u->count : 0;
        *ret_bytes = u ? u->bytes : 0;
}

static void outbox_usage_add(Outbox *o, uid_t uid, int64_t count, int64_t bytes) {
        OutboxUsage *u = outbox_usage(o, uid, true);

        /* Without memory for the entry the quota of this uid is simply not tracked. */
        if (u) {
                u->count += (uint64_t) count;
                u->bytes += (uint64_t) bytes;
        }
}

static int outbox_load_usage(Outbox *o) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        o->n_usage = 0;
        rc = sqlite3_prepare_v2(o->db, "SELECT uid, count(*), sum(length(payload)) FROM messages GROUP BY uid", -1,
                                &s, NULL);
        if (rc != SQLITE_OK)
                return outbox_check(o, rc, "prepare usage");
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
                outbox_usage_add(o, (uid_t) sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                                 sqlite3_column_int64(s, 2));
        return outbox_check(o, rc == SQLITE_DONE ? SQLITE_OK : rc, "load usage");
}

int outbox_load_totals(Outbox *o) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(o->db, "SELECT count(*), coalesce(sum(length(payload)), 0), coalesce(max(id), 0) "
                                "FROM messages", -1, &s, NULL);
        if (rc != SQLITE_OK)
                return outbox_check(o, rc, "prepare totals");
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return outbox_check(o, rc, "load totals");
        o->count = (uint64_t) sqlite3_column_int64(s, 0);
        o->bytes = (uint64_t) sqlite3_column_int64(s, 1);
        /* Only called outside a transaction, so every row there is committed. */
        o->committed_id = (uint64_t) sqlite3_column_int64(s, 2);
        return outbox_load_usage(o);
}

static void outbox_changed(Outbox *o) {
        if (o->change_cb)
                o->change_cb(o->change_userdata);
}

static void outbox_prune(Outbox *o) {
        char sql[256];

        /* Amortised: keep the history tables bounded without paying for it on every message. */
        if (++o->prune_counter < 500)
                return;
        o->prune_counter = 0;
        (void) snprintf(sql, sizeof(sql),
                        "DELETE FROM delivered WHERE id < (SELECT id FROM delivered ORDER BY id DESC LIMIT 1 OFFSET %d);"
                        "DELETE FROM failed WHERE id < (SELECT id FROM failed ORDER BY id DESC LIMIT 1 OFFSET %d);",
                        DELIVERED_KEEP, FAILED_KEEP);
        (void) outbox_exec(o, sql);
}

static void outbox_run_pending(Outbox *o, int error) {
        PendingCommit *p = o->pending;
        size_t n = o->n_pending;

        /* Detach first: a callback may queue new work. */
        o->pending = NULL;
        o->n_pending = o->n_pending_allocated = 0;
        for (size_t i = 0; i < n; i++)
                p[i].cb(p[i].userdata, error < 0 ? 0 : p[i].id, error);
        free(p);
}

int outbox_flush(Outbox *o) {
        int r;

        if (!o->in_transaction)
                return 0;

        (void) sd_event_source_set_enabled(o->commit_idle, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(o->commit_timer, SD_EVENT_OFF);
        outbox_prune(o);
        r = outbox_step_done(o, o->stmt[STMT_COMMIT], "COMMIT");
        if (r < 0) {
                log_error_errno(r, "Failed to commit the outbox transaction, rolling back: %m");
                /* SQLite may already have rolled back (e.g. on SQLITE_FULL). */
                if (!sqlite3_get_autocommit(o->db))
                        (void) outbox_step_done(o, o->stmt[STMT_ROLLBACK], "ROLLBACK");
                (void) outbox_load_totals(o);
        } else if (o->n_pending > 0)
                o->committed_id = o->pending[o->n_pending - 1].id; /* ids only grow (AUTOINCREMENT) */
        o->in_transaction = false;
        outbox_run_pending(o, r);
        outbox_changed(o);
        /* Deliveries and failures in the transaction are undone too: their messages are queued again. */
        if (r < 0 && o->removed_in_transaction && o->failure_cb)
                o->failure_cb(o->failure_userdata, r);
        o->removed_in_transaction = false;
        return r;
}

static int on_commit_idle(sd_event_source *s, void *userdata) {
        (void) outbox_flush(userdata);
        return 0;
}

static int on_commit_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) outbox_flush(userdata);
        return 0;
}

static int outbox_begin(Outbox *o) {
        int r;

        if (o->in_transaction)
                return 0;
        r = outbox_step_done(o, o->stmt[STMT_BEGIN], "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        o->in_transaction = true;
        /* Commit after a short delay at the latest; outbox_add() brings it forward. Records of deliveries and
         * failures alone wait for the delay: one fsync then covers every message a fast link delivered
         * meanwhile, where committing each would make delivery as slow as fsync. A crash in between sends
         * those messages again (at least once, as promised); nothing accepted is lost. */
        (void) sd_event_source_set_time_relative(o->commit_timer, COMMIT_MAX_DELAY_USEC);
        (void) sd_event_source_set_enabled(o->commit_timer, SD_EVENT_ONESHOT);
        return 0;
}

int outbox_add(Outbox *o, const OutboxEntry *e, outbox_committed_t cb, void *userdata) {
        sqlite3_stmt *s = o->stmt[STMT_INSERT];
        int r;

        if (o->n_pending >= o->n_pending_allocated) {
                size_t n = MAX(16u, o->n_pending_allocated * 2);
                PendingCommit *p = reallocarray(o->pending, n, sizeof(PendingCommit));
                if (!p)
                        return -ENOMEM;
                o->pending = p;
                o->n_pending_allocated = n;
        }

        r = outbox_begin(o);
        if (r < 0)
                return r;

        (void) sqlite3_bind_text(s, 1, e->device, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(s, 2, e->topic, -1, SQLITE_STATIC);
        (void) sqlite3_bind_blob64(s, 3, e->payload ?: (const void *) "", e->payload_len, SQLITE_STATIC);
        (void) sqlite3_bind_int(s, 4, e->content_type);
        (void) sqlite3_bind_text(s, 5, e->sender, -1, SQLITE_STATIC);
        (void) sqlite3_bind_int64(s, 6, e->uid);
        (void) sqlite3_bind_int64(s, 7, (sqlite3_int64) (e->created_usec ?: now_realtime_usec()));
        (void) sqlite3_bind_int64(s, 8, (sqlite3_int64) e->expires_usec);
        (void) sqlite3_bind_int64(s, 9, (sqlite3_int64) e->deadline_usec);
        (void) sqlite3_bind_text(s, 10, o->boot_id, -1, SQLITE_STATIC);
        r = outbox_step_done(o, s, "insert");
        if (r < 0)
                return r;

        /* A publisher waits for this commit: make it as soon as nothing of higher priority (the bus) is pending. */
        (void) sd_event_source_set_enabled(o->commit_idle, SD_EVENT_ONESHOT);
        o->pending[o->n_pending++] = (PendingCommit) {
                .cb = cb,
                .userdata = userdata,
                .id = (uint64_t) sqlite3_last_insert_rowid(o->db),
        };
        o->count++;
        o->bytes += e->payload_len;
        outbox_usage_add(o, e->uid, 1, (int64_t) e->payload_len);
        return 0;
}

/* The entry of the row s is on (a STMT_HEAD row). */
static int entry_from_row(sqlite3_stmt *s, const char *device, OutboxEntry **ret) {
        _cleanup_(outbox_entry_freep) OutboxEntry *e = NULL;

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->id = (uint64_t) sqlite3_column_int64(s, 0);
        e->device = strdup(device);
        e->topic = strdup((const char *) sqlite3_column_text(s, 1));
        e->payload_len = (size_t) sqlite3_column_bytes(s, 2);
        e->payload = malloc(e->payload_len + 1);
        if (!e->device || !e->topic || !e->payload)
                return -ENOMEM;
        if (e->payload_len > 0)
                memcpy(e->payload, sqlite3_column_blob(s, 2), e->payload_len);
        e->content_type = sqlite3_column_int(s, 3);
        if (sqlite3_column_type(s, 4) != SQLITE_NULL && !(e->sender = strdup((const char *) sqlite3_column_text(s, 4))))
                return -ENOMEM;
        e->uid = (uid_t) sqlite3_column_int64(s, 5);
        e->created_usec = (uint64_t) sqlite3_column_int64(s, 6);
        e->expires_usec = (uint64_t) sqlite3_column_int64(s, 7);
        e->deadline_usec = (uint64_t) sqlite3_column_int64(s, 8);
        *ret = TAKE_PTR(e);
        return 0;
}

int outbox_batch(Outbox *o, const char *device, uint64_t after, size_t max, OutboxEntry **ret, size_t *ret_n) {
        sqlite3_stmt *s = o->stmt[STMT_HEAD];
        size_t n = 0;
        int rc, r = 0;

        (void) sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
        (void) sqlite3_bind_int64(s, 2, (sqlite3_int64) after);
        (void) sqlite3_bind_int64(s, 3, (sqlite3_int64) o->committed_id);
        (void) sqlite3_bind_int64(s, 4, (sqlite3_int64) max);
        while (n < max) {
                rc = sqlite3_step(s);
                if (rc == SQLITE_DONE)
                        break;
                if (rc != SQLITE_ROW) {
                        r = outbox_check(o, rc, "head");
                        break;
                }
                r = entry_from_row(s, device, &ret[n]);
                if (r < 0)
                        break;
                n++;
        }
        (void) sqlite3_reset(s);
        (void) sqlite3_clear_bindings(s);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        outbox_entry_free(ret[i]);
                n = 0;
        }
        *ret_n = n;
        return r;
}

int outbox_head(Outbox *o, const char *device, OutboxEntry **ret) {
        size_t n;
        int r;

        r = outbox_batch(o, device, 0, 1, ret, &n);
        if (r >= 0 && n == 0)
                *ret = NULL;
        return r;
}

/* Removes the message from the queue, returning its device, topic and uid for the history tables. */
static int outbox_remove(Outbox *o, uint64_t id, char **ret_device, char **ret_topic, int64_t *ret_uid) {
        sqlite3_stmt *s = o->stmt[STMT_LOOKUP];
        int64_t len = 0;
        int rc, r;

        r = outbox_begin(o);
        if (r < 0)
                return r;

        (void) sqlite3_bind_int64(s, 1, (sqlite3_int64) id);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
                *ret_device = strdup((const char *) sqlite3_column_text(s, 0));
                *ret_topic = strdup((const char *) sqlite3_column_text(s, 1));
                *ret_uid = sqlite3_column_int64(s, 2);
                len = sqlite3_column_int64(s, 3);
                r = (*ret_device && *ret_topic) ? 1 : -ENOMEM;
        } else
                r = rc == SQLITE_DONE ? 0 : outbox_check(o, rc, "look up");
        (void) sqlite3_reset(s);
        (void) sqlite3_clear_bindings(s);
        if (r <= 0)
                return r;

        s = o->stmt[STMT_DELETE];
        (void) sqlite3_bind_int64(s, 1, (sqlite3_int64) id);
        r = outbox_step_done(o, s, "delete");
        if (r < 0)
                return r;
        o->count--;
        o->removed_in_transaction = true;
        o->bytes -= (uint64_t) len;
        outbox_usage_add(o, (uid_t) *ret_uid, -1, -len);
        outbox_changed(o);
        return 1;
}

/* Removes a queued message and records where it went: stmt is STMT_DELIVERED (note: the cloud's id) or
 * STMT_FAILED (note: the reason). */
static int outbox_retire(Outbox *o, uint64_t id, int stmt, const char *note, const char *what) {
        _cleanup_free_ char *device = NULL, *topic = NULL;
        sqlite3_stmt *s = o->stmt[stmt];
        int64_t uid = 0;
        int r;

        r = outbox_remove(o, id, &device, &topic, &uid);
        if (r <= 0)
                return r;
        (void) sqlite3_bind_int64(s, 1, (sqlite3_int64) id);
        (void) sqlite3_bind_text(s, 2, device, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(s, 3, topic, -1, SQLITE_STATIC);
        (void) sqlite3_bind_int64(s, 4, uid);
        (void) sqlite3_bind_text(s, 5, note, -1, SQLITE_STATIC);
        (void) sqlite3_bind_int64(s, 6, (sqlite3_int64) now_realtime_usec());
        r = outbox_step_done(o, s, what);
        return r < 0 ? r : 1;
}

int outbox_delivered(Outbox *o, uint64_t id, const char *cloud_id) {
        return outbox_retire(o, id, STMT_DELIVERED, cloud_id, "record delivery");
}

int outbox_failed(Outbox *o, uint64_t id, const char *reason) {
        return outbox_retire(o, id, STMT_FAILED, reason, "record failure");
}

uint64_t outbox_count(Outbox *o) {
        return o->count;
}

uint64_t outbox_bytes(Outbox *o) {
        return o->bytes;
}

uint64_t outbox_device_count(Outbox *o, const char *device) {
        sqlite3_stmt *s = o->stmt[STMT_DEVICE_COUNT];
        uint64_t n = 0;

        (void) sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
                n = (uint64_t) sqlite3_column_int64(s, 0);
        (void) sqlite3_reset(s);
        (void) sqlite3_clear_bindings(s);
        return n;
}

void outbox_set_failure_callback(Outbox *o, void (*cb)(void *userdata, int error), void *userdata) {
        o->failure_cb = cb;
        o->failure_userdata = userdata;
}

void outbox_set_change_callback(Outbox *o, void (*cb)(void *userdata), void *userdata) {
        o->change_cb = cb;
        o->change_userdata = userdata;
}

int outbox_open(sd_event *event, const char *path, Outbox **ret) {
        _cleanup_(outbox_freep) Outbox *o = NULL;
        int r;

        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->event = sd_event_ref(event);

        r = outbox_file_open(o, path);
        if (r < 0)
                return r;

        r = sd_event_add_defer(event, &o->commit_idle, on_commit_idle, o);
        if (r < 0)
                return r;
        (void) sd_event_source_set_priority(o->commit_idle, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_enabled(o->commit_idle, SD_EVENT_OFF);
        (void) sd_event_source_set_description(o->commit_idle, "outbox-commit-idle");

        /* Accuracy 1 ms: sd-event's default (0 here) lets a timer slip by up to 250 ms. */
        r = sd_event_add_time_relative(event, &o->commit_timer, CLOCK_MONOTONIC, COMMIT_MAX_DELAY_USEC,
                                       COMMIT_TIMER_ACCURACY_USEC, on_commit_timer, o);
        if (r < 0)
                return r;
        (void) sd_event_source_set_priority(o->commit_timer, SD_EVENT_PRIORITY_IMPORTANT);
        (void) sd_event_source_set_enabled(o->commit_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(o->commit_timer, "outbox-commit-timer");

        *ret = TAKE_PTR(o);
        return 0;
}

Outbox *outbox_free(Outbox *o) {
        if (!o)
                return NULL;
        if (o->db)
                (void) outbox_flush(o);
        free(o->pending);
        free(o->usage);
        sd_event_source_unref(o->commit_idle);
        sd_event_source_unref(o->commit_timer);
        outbox_file_close(o);
        sd_event_unref(o->event);
        free(o);
        return NULL;
}

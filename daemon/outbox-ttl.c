/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TTL deadlines across reboots and clock corrections: the messages of earlier boots taken over at start, the
 * per-boot checkpoint, and the downtime taken off once the wall clock is trusted; see outbox.h and expiry.h. */
#include <stdio.h>

#include "clock.h"
#include "log.h"
#include "outbox-internal.h"

/* Runs one statement with up to six int64 parameters (?1..?6) and the current boot id as ?7. */
static int ttl_exec(Outbox *o, const char *sql, const int64_t p[static 6]) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(o->db, sql, -1, &s, NULL);
        if (rc != SQLITE_OK)
                return outbox_check(o, rc, "prepare ttl");
        for (int i = 0; i < 6; i++)
                (void) sqlite3_bind_int64(s, i + 1, p[i]);
        (void) sqlite3_bind_text(s, 7, o->boot_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
        return outbox_check(o, rc == SQLITE_DONE ? SQLITE_OK : rc, "ttl");
}

/* The messages queued in another boot: what remained of their TTL at that boot's last checkpoint (boottime cb)
 * starts counting now (nb). If the clock was trusted at the checkpoint, the wall-clock time since it (cr) is
 * taken off too, once the clock is trusted here (the anchor); otherwise an anchor from before is carried over,
 * shifted by the boottime the old boot counted. ?6 = 1 takes every boot but this one (no checkpoint: cb = 0). */
static const char rebase_sql[] =
        "UPDATE messages SET"
        "  anchor = CASE WHEN deadline = 0 THEN NULL WHEN ?4 THEN ?3 - ?2"
        "                WHEN anchor IS NOT NULL THEN anchor + ?1 - ?2 END,"
        "  deadline = CASE WHEN deadline > 0 THEN ?2 + max(1, deadline - ?1) ELSE 0 END,"
        "  boot_id = ?7"
        " WHERE boot_id IS NOT NULL AND boot_id IS NOT ?7 AND (?6 OR boot_id = ?5)";

/* Only after a reboot: the checkpoint of every boot that queued something is there until its messages are taken
 * over, so on a restart within the boot there is nothing to do and the queue is not read. */
static int ttl_rebase_boots(Outbox *o, uint64_t now_boottime) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *s = NULL, *u = NULL;
        bool rebooted = false;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(o->db, "SELECT boot_id, boottime, realtime, trusted FROM clock_checkpoint "
                                "WHERE boot_id IS NOT ?", -1, &s, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(o->db, rebase_sql, -1, &u, NULL);
        if (rc != SQLITE_OK)
                return outbox_check(o, rc, "prepare checkpoints");
        (void) sqlite3_bind_text(s, 1, o->boot_id, -1, SQLITE_STATIC);
        (void) sqlite3_bind_int64(u, 2, (int64_t) now_boottime);
        (void) sqlite3_bind_int(u, 6, 0);
        (void) sqlite3_bind_text(u, 7, o->boot_id, -1, SQLITE_STATIC);
        while (r >= 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
                rebooted = true;
                (void) sqlite3_bind_int64(u, 1, sqlite3_column_int64(s, 1));
                (void) sqlite3_bind_int64(u, 3, sqlite3_column_int64(s, 2));
                (void) sqlite3_bind_int(u, 4, sqlite3_column_int(s, 3));
                (void) sqlite3_bind_value(u, 5, sqlite3_column_value(s, 0));
                rc = sqlite3_step(u);
                r = outbox_check(o, rc == SQLITE_DONE ? SQLITE_OK : rc, "rebase");
                (void) sqlite3_reset(u);
        }
        if (r < 0)
                return r;
        if (rc != SQLITE_DONE)
                return outbox_check(o, rc, "checkpoints");
        if (!rebooted)
                return 0;
        /* A boot without a checkpoint (none is written before its first message): its whole deadline counts. */
        return ttl_exec(o, rebase_sql, (const int64_t[6]) { 0, (int64_t) now_boottime, 0, 0, 0, 1 });
}

int outbox_ttl_checkpoint(Outbox *o, const ClockSample *now, bool trusted) {
        return ttl_exec(o, "INSERT OR REPLACE INTO clock_checkpoint(boot_id, boottime, realtime, trusted) "
                        "VALUES (?7, ?1, ?2, ?3)",
                        (const int64_t[6]) { (int64_t) now->boottime_usec, (int64_t) now->realtime_usec, trusted });
}

static int ttl_apply_anchors(Outbox *o, const ClockSample *now) {
        /* A clock that reads earlier than at the anchor counts nothing: a TTL is never extended this way. */
        return ttl_exec(o, "UPDATE messages SET deadline = max(1, deadline - max(0, ?1 - anchor)), anchor = NULL "
                        "WHERE anchor IS NOT NULL",
                        (const int64_t[6]) { (int64_t) now->realtime_usec - (int64_t) now->boottime_usec });
}

static int ttl_start(Outbox *o, const ClockSample *now, bool trusted) {
        int64_t nb = (int64_t) now->boottime_usec;
        int r;

        /* Rows from before deadlines existed: the whole TTL counts from now; the time since they were created is
         * taken off once the clock is trusted, if the clock looked right when they were (see the anchor). */
        r = ttl_exec(o, "UPDATE messages SET"
                     "  deadline = CASE WHEN expires > 0 THEN ?1 + max(1, expires - created) ELSE 0 END,"
                     "  anchor = CASE WHEN expires > 0 AND created >= ?2 THEN created - ?1 END,"
                     "  boot_id = ?7 WHERE boot_id IS NULL",
                     (const int64_t[6]) { nb, (int64_t) CLOCK_RELEASE_USEC });
        if (r >= 0)
                r = ttl_rebase_boots(o, now->boottime_usec);
        if (r >= 0)
                r = ttl_exec(o, "DELETE FROM clock_checkpoint WHERE boot_id IS NOT ?7", (const int64_t[6]) {});
        if (r >= 0 && trusted)
                r = ttl_apply_anchors(o, now);
        if (r >= 0)
                r = outbox_ttl_checkpoint(o, now, trusted);
        return r;
}

int outbox_ttl_start(Outbox *o, const char *boot_id, const ClockSample *now, bool trusted) {
        int r;

        (void) snprintf(o->boot_id, sizeof(o->boot_id), "%s", boot_id);
        r = outbox_exec(o, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        r = ttl_start(o, now, trusted);
        if (r >= 0)
                r = outbox_exec(o, "COMMIT");
        if (r < 0 && !sqlite3_get_autocommit(o->db))
                (void) outbox_exec(o, "ROLLBACK");
        return r;
}

int outbox_ttl_clock_trusted(Outbox *o, const ClockSample *now) {
        int r;

        /* Inside the open group transaction if there is one (its commit makes this durable), else on its own. */
        r = ttl_apply_anchors(o, now);
        if (r >= 0)
                r = outbox_ttl_checkpoint(o, now, true);
        return r;
}

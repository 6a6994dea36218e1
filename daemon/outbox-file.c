/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The outbox's database file: schema, prepared statements, opening in WAL mode, the consistency check, and a
 * damaged file moved aside (never truncated or repaired in place). */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdio.h>

#include "log.h"
#include "outbox-internal.h"
#include "time-util.h"

static const char *const stmt_sql[_STMT_MAX] = {
        [STMT_INSERT] = "INSERT INTO messages(device, topic, payload, content_type, sender, uid, created, expires, "
                        "deadline, boot_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [STMT_HEAD] = "SELECT id, topic, payload, content_type, sender, uid, created, expires, deadline FROM messages "
                      "WHERE device = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?",
        /* Two statements, not DELETE ... RETURNING: SQLite runs RETURNING through a temporary table, which made
         * recording a delivery cost five times what the rest of sending a message does. */
        [STMT_LOOKUP] = "SELECT device, topic, uid, length(payload) FROM messages WHERE id = ?",
        [STMT_DELETE] = "DELETE FROM messages WHERE id = ?",
        [STMT_DELIVERED] = "INSERT OR REPLACE INTO delivered(id, device, topic, uid, cloud_id, at) VALUES (?, ?, ?, ?, ?, ?)",
        [STMT_FAILED] = "INSERT OR REPLACE INTO failed(id, device, topic, uid, reason, at) VALUES (?, ?, ?, ?, ?, ?)",
        [STMT_DEVICE_COUNT] = "SELECT count(*) FROM messages WHERE device = ?",
        /* Run for every message: prepared once, not parsed again each time. */
        [STMT_NEXT_EXPIRY] = "SELECT coalesce(min(deadline), 0) FROM messages WHERE deadline > 0",
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
};

static const char schema_sql[] =
        "CREATE TABLE IF NOT EXISTS messages("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, topic TEXT NOT NULL,"
        "  payload BLOB NOT NULL, content_type INTEGER NOT NULL, sender TEXT, uid INTEGER NOT NULL,"
        "  created INTEGER NOT NULL, expires INTEGER NOT NULL);"
        "CREATE INDEX IF NOT EXISTS messages_by_device ON messages(device, id);"
        "CREATE TABLE IF NOT EXISTS delivered("
        "  id INTEGER PRIMARY KEY, device TEXT NOT NULL, topic TEXT NOT NULL, uid INTEGER NOT NULL, cloud_id TEXT,"
        "  at INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS failed("
        "  id INTEGER PRIMARY KEY, device TEXT NOT NULL, topic TEXT NOT NULL, uid INTEGER NOT NULL,"
        "  reason TEXT NOT NULL, at INTEGER NOT NULL);";

/* Schema version 1: TTLs count elapsed time (see expiry.h). deadline is CLOCK_BOOTTIME in the boot boot_id;
 * anchor, when set, is the wall-clock minus boottime offset (usec) from which time the deadline has not counted
 * yet (the device was off, or the clock untrusted) is measured once the clock is trusted. Existing rows keep
 * boot_id NULL until outbox_ttl_start() converts their wall-clock expiry. */
static const char migrate_v1_sql[] =
        "BEGIN IMMEDIATE;"
        "ALTER TABLE messages ADD COLUMN deadline INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE messages ADD COLUMN boot_id TEXT;"
        "ALTER TABLE messages ADD COLUMN anchor INTEGER;"
        "DROP INDEX IF EXISTS messages_by_expiry;"
        "CREATE INDEX messages_by_deadline ON messages(deadline) WHERE deadline > 0;"
        /* Finds the rows to convert without reading the queue at every start; new rows never enter it. */
        "CREATE INDEX messages_unconverted ON messages(id) WHERE boot_id IS NULL;"
        "CREATE TABLE clock_checkpoint(boot_id TEXT PRIMARY KEY, boottime INTEGER NOT NULL, realtime INTEGER NOT NULL,"
        "  trusted INTEGER NOT NULL);"
        "PRAGMA user_version = 1;"
        "COMMIT;";

static int outbox_migrate(Outbox *o) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *s = NULL;
        int rc, version, r;

        rc = sqlite3_prepare_v2(o->db, "PRAGMA user_version", -1, &s, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return outbox_check(o, rc, "user_version");
        version = sqlite3_column_int(s, 0);
        if (version >= 1)
                return 0;
        r = outbox_exec(o, migrate_v1_sql);
        if (r < 0 && !sqlite3_get_autocommit(o->db))
                (void) outbox_exec(o, "ROLLBACK");
        if (r >= 0)
                log_debug("Outbox schema version 1: TTLs count elapsed time.");
        return r;
}


/* SQLite's own consistency check of the file; -EBADMSG if it is damaged. */
static int outbox_quick_check(Outbox *o) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(o->db, "PRAGMA quick_check", -1, &s, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(s);
        if (rc == SQLITE_ROW && !streq((const char *) sqlite3_column_text(s, 0), "ok"))
                return -EBADMSG;
        return outbox_check(o, rc == SQLITE_ROW ? SQLITE_OK : rc, "quick_check");
}

void outbox_file_close(Outbox *o) {
        for (size_t i = 0; i < _STMT_MAX; i++)
                o->stmt[i] = (sqlite3_finalize(o->stmt[i]), NULL);
        if (o->db)
                (void) sqlite3_close(o->db);
        o->db = NULL;
}

/* A damaged outbox is never truncated or repaired in place: it is kept beside the new one for inspection. */
static int outbox_move_aside(const char *path) {
        static const char *const suffixes[] = { "", "-wal", "-shm" };
        char from[PATH_MAX], to[PATH_MAX];
        long t = (long) (now_realtime_usec() / 1000000);

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                (void) snprintf(from, sizeof(from), "%s%s", path, suffixes[i]);
                (void) snprintf(to, sizeof(to), "%s.corrupt-%ld%s", path, t, suffixes[i]);
                if (rename(from, to) < 0 && errno != ENOENT)
                        return log_error_errno(errno, "Cannot move the damaged %s aside: %m", from);
        }
        log_full(LOG_CRIT, "THE OUTBOX %s WAS DAMAGED. It was moved to %s.corrupt-%ld and a new, empty one was "
                 "started. Messages still in the old file were NOT sent; inspect it with sqlite3.", path, path, t);
        return 0;
}

/* The outbox holds other users' topics and payloads: it is 0600 whatever the umask, and so are its -wal and
 * -shm, which SQLite creates with the mode of the database file. A file left looser by an older version is
 * tightened. */
static int outbox_secure_files(const char *path) {
        static const char *const suffixes[] = { "", "-wal", "-shm" };
        char name[PATH_MAX];
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                _cleanup_close_ int fd = -1;

                (void) snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
                fd = open(name, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | (i == 0 ? O_CREAT : 0), 0600);
                if (fd < 0 && errno == ENOENT)
                        continue;
                if (fd < 0 || fstat(fd, &st) < 0)
                        return log_error_errno(errno, "Cannot open %s: %m", name);
                if ((st.st_mode & 0077) && fchmod(fd, 0600) < 0)
                        return log_error_errno(errno, "Cannot make %s 0600: %m", name);
        }
        return 0;
}

static int outbox_setup(Outbox *o, const char *path) {
        int rc, r;

        r = outbox_secure_files(path);
        if (r < 0)
                return r;
        rc = sqlite3_open_v2(path, &o->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK)
                return log_error_errno(sqlite_to_errno(rc), "Failed to open outbox %s: %s", path,
                                       o->db ? sqlite3_errmsg(o->db) : sqlite3_errstr(rc));
        (void) sqlite3_busy_timeout(o->db, 0);

        /* A small WAL (checkpointed every 64 pages) keeps the space needed to record deliveries bounded. */
        r = outbox_exec(o, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=64;");
        if (r >= 0)
                r = outbox_quick_check(o);
        if (r >= 0)
                r = outbox_exec(o, schema_sql);
        if (r >= 0)
                r = outbox_migrate(o);
        if (r >= 0)
                r = outbox_load_totals(o);
        if (r < 0)
                return log_error_errno(r, "Failed to initialise outbox %s: %s", path, sqlite3_errmsg(o->db));

        for (size_t i = 0; i < _STMT_MAX; i++) {
                rc = sqlite3_prepare_v3(o->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &o->stmt[i], NULL);
                if (rc != SQLITE_OK)
                        return log_error_errno(sqlite_to_errno(rc), "Failed to prepare outbox statement: %s",
                                               sqlite3_errmsg(o->db));
        }
        return 0;
}

int outbox_file_open(Outbox *o, const char *path) {
        int r = outbox_setup(o, path);

        if (r != -EBADMSG)
                return r;
        outbox_file_close(o);
        r = outbox_move_aside(path);
        if (r < 0)
                return r;
        return outbox_setup(o, path);
}

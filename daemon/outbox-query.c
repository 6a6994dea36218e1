/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Status queries over the outbox and its bounded history (GetMessage, ListMessages, Purge); see outbox.h. */
#include "log.h"
#include "outbox-internal.h"

static const char *const message_state_table[_MESSAGE_STATE_MAX] = {
        [MESSAGE_QUEUED] = "queued",
        [MESSAGE_SENDING] = "sending",
        [MESSAGE_DELIVERED] = "delivered",
        [MESSAGE_FAILED] = "failed",
};

const char *message_state_to_string(MessageState s) {
        if (s < 0 || s >= _MESSAGE_STATE_MAX)
                return NULL;
        return message_state_table[s];
}

MessageState message_state_from_string(const char *s) {
        for (MessageState i = 0; i < _MESSAGE_STATE_MAX; i++)
                if (s && streq(s, message_state_table[i]))
                        return i;
        return _MESSAGE_STATE_INVALID;
}

void outbox_message_done(OutboxMessage *m) {
        free(m->device);
        free(m->topic);
        free(m->detail);
        *m = (OutboxMessage) {};
}

/* Columns: id, state, device, topic, detail, uid, time. */
static const char *const list_sql[_MESSAGE_STATE_MAX] = {
        [MESSAGE_QUEUED] = "SELECT id, 0, device, topic, NULL, uid, created FROM messages "
                           "WHERE (?1 < 0 OR uid = ?1) ORDER BY id LIMIT ?2",
        [MESSAGE_DELIVERED] = "SELECT id, 2, device, topic, cloud_id, uid, at FROM delivered "
                              "WHERE (?1 < 0 OR uid = ?1) ORDER BY id DESC LIMIT ?2",
        [MESSAGE_FAILED] = "SELECT id, 3, device, topic, reason, uid, at FROM failed "
                           "WHERE (?1 < 0 OR uid = ?1) ORDER BY id DESC LIMIT ?2",
};

static const char get_sql[] =
        "SELECT id, 0, device, topic, NULL, uid, created FROM messages WHERE id = ?1 "
        "UNION ALL SELECT id, 2, device, topic, cloud_id, uid, at FROM delivered WHERE id = ?1 "
        "UNION ALL SELECT id, 3, device, topic, reason, uid, at FROM failed WHERE id = ?1 LIMIT 1";

static int message_from_row(sqlite3_stmt *s, OutboxMessage *ret) {
        OutboxMessage m = {
                .id = (uint64_t) sqlite3_column_int64(s, 0),
                .state = sqlite3_column_int(s, 1),
                .uid = (uid_t) sqlite3_column_int64(s, 5),
                .time_usec = (uint64_t) sqlite3_column_int64(s, 6),
        };

        m.device = strdup((const char *) sqlite3_column_text(s, 2));
        m.topic = strdup((const char *) sqlite3_column_text(s, 3));
        if (sqlite3_column_type(s, 4) != SQLITE_NULL)
                m.detail = strdup((const char *) sqlite3_column_text(s, 4));
        if (!m.device || !m.topic || (sqlite3_column_type(s, 4) != SQLITE_NULL && !m.detail)) {
                outbox_message_done(&m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

int outbox_get(Outbox *o, uint64_t id, OutboxMessage *ret) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(o->db, get_sql, -1, &s, NULL);
        if (rc != SQLITE_OK)
                return outbox_check(o, rc, "prepare get");
        (void) sqlite3_bind_int64(s, 1, (sqlite3_int64) id);
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return outbox_check(o, rc, "get");
        return message_from_row(s, ret);
}

static int outbox_list_one(Outbox *o, MessageState state, uid_t uid, unsigned *left, outbox_list_t cb,
                           void *userdata) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *s = NULL;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(o->db, list_sql[state], -1, &s, NULL);
        if (rc != SQLITE_OK)
                return outbox_check(o, rc, "prepare list");
        (void) sqlite3_bind_int64(s, 1, uid == UID_INVALID ? -1 : (sqlite3_int64) uid);
        (void) sqlite3_bind_int64(s, 2, *left);
        while (r >= 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
                OutboxMessage m;

                r = message_from_row(s, &m);
                if (r < 0)
                        break;
                r = cb(userdata, &m);
                outbox_message_done(&m);
                (*left)--;
        }
        if (r < 0)
                return r;
        return outbox_check(o, rc == SQLITE_DONE ? SQLITE_OK : rc, "list");
}

int outbox_list(Outbox *o, MessageState state, uid_t uid, unsigned limit, outbox_list_t cb, void *userdata) {
        static const MessageState all[] = { MESSAGE_QUEUED, MESSAGE_DELIVERED, MESSAGE_FAILED };
        int r;

        if (state == MESSAGE_SENDING)
                state = MESSAGE_QUEUED; /* in flight is still in the queue */
        for (size_t i = 0; i < ELEMENTSOF(all) && limit > 0; i++) {
                if (state >= 0 && all[i] != state)
                        continue;
                r = outbox_list_one(o, all[i], uid, &limit, cb, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int outbox_device_ids(Outbox *o, const char *device, uint64_t **ret_ids, size_t *ret_n) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *s = NULL;
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0, alloc = 0;
        int rc;

        rc = sqlite3_prepare_v2(o->db, "SELECT id FROM messages WHERE device = ? ORDER BY id", -1, &s, NULL);
        if (rc != SQLITE_OK)
                return outbox_check(o, rc, "prepare device ids");
        (void) sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                if (n == alloc) {
                        uint64_t *a = reallocarray(ids, MAX(alloc * 2, 64u), sizeof(uint64_t));
                        if (!a)
                                return -ENOMEM;
                        ids = a;
                        alloc = MAX(alloc * 2, 64u);
                }
                ids[n++] = (uint64_t) sqlite3_column_int64(s, 0);
        }
        if (rc != SQLITE_DONE)
                return outbox_check(o, rc, "device ids");
        *ret_ids = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

int outbox_next_expiry(Outbox *o, uint64_t *ret_usec) {
        sqlite3_stmt *s = o->stmt[STMT_NEXT_EXPIRY];
        int rc = sqlite3_step(s);

        if (rc == SQLITE_ROW)
                *ret_usec = (uint64_t) sqlite3_column_int64(s, 0);
        (void) sqlite3_reset(s);
        return rc == SQLITE_ROW ? 0 : outbox_check(o, rc, "next expiry");
}

static OutboxEntry *entry_from_row(sqlite3_stmt *s) {
        OutboxEntry *e = calloc(1, sizeof(*e));

        if (!e)
                return NULL;
        e->id = (uint64_t) sqlite3_column_int64(s, 0);
        e->device = strdup((const char *) sqlite3_column_text(s, 1));
        e->topic = strdup((const char *) sqlite3_column_text(s, 2));
        if (sqlite3_column_type(s, 3) != SQLITE_NULL)
                e->sender = strdup((const char *) sqlite3_column_text(s, 3));
        e->uid = (uid_t) sqlite3_column_int64(s, 4);
        e->expires_usec = (uint64_t) sqlite3_column_int64(s, 5);
        e->deadline_usec = (uint64_t) sqlite3_column_int64(s, 6);
        if (!e->device || !e->topic || (sqlite3_column_type(s, 3) != SQLITE_NULL && !e->sender))
                return outbox_entry_free(e);
        return e;
}

int outbox_expired(Outbox *o, uint64_t now, size_t max, OutboxEntry ***ret, size_t *ret_n) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *s = NULL;
        OutboxEntry **list;
        size_t n = 0;
        int rc;

        list = calloc(max, sizeof(OutboxEntry *));
        if (!list)
                return -ENOMEM;
        rc = sqlite3_prepare_v2(o->db, "SELECT id, device, topic, sender, uid, expires, deadline FROM messages "
                                "WHERE deadline > 0 AND deadline <= ?1 AND id <= ?2 ORDER BY id LIMIT ?3", -1, &s, NULL);
        if (rc == SQLITE_OK) {
                (void) sqlite3_bind_int64(s, 1, (sqlite3_int64) now);
                (void) sqlite3_bind_int64(s, 2, (sqlite3_int64) o->committed_id);
                (void) sqlite3_bind_int64(s, 3, (sqlite3_int64) max);
                while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < max) {
                        list[n] = entry_from_row(s);
                        if (!list[n])
                                break;
                        n++;
                }
        }
        if (rc != SQLITE_DONE) {
                for (size_t i = 0; i < n; i++)
                        outbox_entry_free(list[i]);
                free(list);
                return rc == SQLITE_ROW ? -ENOMEM : outbox_check(o, rc, "expired");
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

int outbox_purge_failed(Outbox *o, uint64_t *ret_count) {
        int rc = sqlite3_exec(o->db, "DELETE FROM failed", NULL, NULL, NULL);

        if (rc != SQLITE_OK)
                return outbox_check(o, rc, "purge failed");
        *ret_count = (uint64_t) sqlite3_changes64(o->db);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Outbox structure, shared by outbox.c (the queue) and outbox-query.c (status queries) only. */
#pragma once

#include <sqlite3.h>

#include "outbox.h"

enum {
        STMT_INSERT,
        STMT_HEAD,
        STMT_LOOKUP,
        STMT_DELETE,
        STMT_DELIVERED,
        STMT_FAILED,
        STMT_DEVICE_COUNT,
        STMT_NEXT_EXPIRY,
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        _STMT_MAX,
};

typedef struct PendingCommit {
        outbox_committed_t cb;
        void *userdata;
        uint64_t id;
} PendingCommit;

typedef struct OutboxUsage {
        uid_t uid;
        uint64_t count;
        uint64_t bytes;
} OutboxUsage;

struct Outbox {
        sd_event *event;
        sqlite3 *db;
        sqlite3_stmt *stmt[_STMT_MAX];
        bool in_transaction;
        bool removed_in_transaction;  /* the open transaction records deliveries or failures */
        sd_event_source *commit_idle;
        sd_event_source *commit_timer;
        PendingCommit *pending;
        size_t n_pending, n_pending_allocated;
        uint64_t count, bytes;
        uint64_t committed_id;   /* rows above this are not durable yet and must not be sent */
        unsigned prune_counter;
        OutboxUsage *usage;      /* queued messages and bytes per uid, for quotas */
        size_t n_usage;
        void (*change_cb)(void *userdata);
        void (*failure_cb)(void *userdata, int error);
        void *failure_userdata;
        void *change_userdata;
        char boot_id[33];        /* stored with every message: its deadline counts in this boot's CLOCK_BOOTTIME */
};

/* outbox-file.c: opens (moving a damaged file aside first) and closes the database with its statements. */
int outbox_file_open(Outbox *o, const char *path);
void outbox_file_close(Outbox *o);

int outbox_exec(Outbox *o, const char *sql);
int sqlite_to_errno(int rc);
int outbox_load_totals(Outbox *o);
void stmt_finalizep(sqlite3_stmt **s);

/* Converts an SQLite result code to a negative errno, logging SQLite's message at debug level. */
int outbox_check(Outbox *o, int rc, const char *what);

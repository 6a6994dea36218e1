/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The durable outbox: SQLite in WAL mode with synchronous=FULL. Publishes that arrive in one burst share a
 * transaction (group commit); a message leaves only when delivered, expired or rejected for good. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct Outbox Outbox;

typedef enum ContentType {
        CONTENT_TYPE_JSON,
        CONTENT_TYPE_CBOR,
        CONTENT_TYPE_OCTET_STREAM,
        _CONTENT_TYPE_MAX,
        _CONTENT_TYPE_INVALID = -EINVAL,
} ContentType;

const char *content_type_to_string(ContentType t);
ContentType content_type_from_string(const char *s);

typedef struct OutboxEntry {
        uint64_t id;
        char *device;
        char *topic;
        uint8_t *payload;
        size_t payload_len;
        ContentType content_type;
        char *sender;        /* the publishing connection: "BUSID/UNIQUE-NAME" (bus instance and unique name) */
        uid_t uid;
        uint64_t created_usec;   /* CLOCK_REALTIME */
        uint64_t expires_usec;   /* CLOCK_REALTIME estimate made at Publish, 0 = never; for display only */
        uint64_t deadline_usec;  /* CLOCK_BOOTTIME of this boot when the TTL runs out, 0 = never (see expiry.h) */
} OutboxEntry;

/* Whether e's TTL ran out at now (CLOCK_BOOTTIME). */
static inline bool outbox_entry_expired(const OutboxEntry *e, uint64_t now_boottime_usec) {
        return e->deadline_usec != 0 && e->deadline_usec <= now_boottime_usec;
}

OutboxEntry *outbox_entry_free(OutboxEntry *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(OutboxEntry *, outbox_entry_free);

/* Called once the transaction holding the message has committed (error == 0, id set) or failed. */
typedef void (*outbox_committed_t)(void *userdata, uint64_t id, int error);

int outbox_open(sd_event *event, const char *path, Outbox **ret);
Outbox *outbox_free(Outbox *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Outbox *, outbox_free);

/* Queues e (its id is ignored) in the open group transaction. cb runs after COMMIT. -ENOSPC, -EIO... */
int outbox_add(Outbox *o, const OutboxEntry *e, outbox_committed_t cb, void *userdata);

/* Commits the open transaction now (also done automatically when the event loop is otherwise idle). */
int outbox_flush(Outbox *o);

/* The oldest committed queued message of device, or 0 and *ret = NULL when there is none. */
int outbox_head(Outbox *o, const char *device, OutboxEntry **ret);
/* Up to max committed queued messages of device with an id above after, oldest first, in one query: ret[0..*ret_n)
 * (the caller frees them). On failure *ret_n is 0. */
int outbox_batch(Outbox *o, const char *device, uint64_t after, size_t max, OutboxEntry **ret, size_t *ret_n);

/* The message left the queue: delivered with cloud_id, or failed with reason (kept in the bounded
 * dead-letter table). Return 1 if it was queued, 0 if it was not (already removed), or a negative errno. */
int outbox_delivered(Outbox *o, uint64_t id, const char *cloud_id);
int outbox_failed(Outbox *o, uint64_t id, const char *reason);

uint64_t outbox_count(Outbox *o);
uint64_t outbox_bytes(Outbox *o);
uint64_t outbox_device_count(Outbox *o, const char *device);
/* Messages and payload bytes queued by one uid (for per-user quotas). */
void outbox_user_usage(Outbox *o, uid_t uid, uint64_t *ret_count, uint64_t *ret_bytes);

typedef enum MessageState {
        MESSAGE_QUEUED,
        MESSAGE_SENDING,
        MESSAGE_DELIVERED,
        MESSAGE_FAILED,
        _MESSAGE_STATE_MAX,
        _MESSAGE_STATE_INVALID = -EINVAL,
} MessageState;

const char *message_state_to_string(MessageState s);
MessageState message_state_from_string(const char *s);

typedef struct OutboxMessage {
        uint64_t id;
        MessageState state;   /* queued, delivered or failed: "sending" is known only to the transport */
        char *device;
        char *topic;
        char *detail;         /* cloud message id (delivered), reason (failed), or NULL */
        uid_t uid;
        uint64_t time_usec;   /* created (queued), delivered or failed at */
} OutboxMessage;

void outbox_message_done(OutboxMessage *m);

/* A message in the queue or the bounded history; -ENOENT if unknown. */
int outbox_get(Outbox *o, uint64_t id, OutboxMessage *ret);

/* Calls cb for up to limit messages in state (or every state if state < 0), of uid only unless uid is
 * UID_INVALID. Queued ones oldest first, history newest first. */
#define UID_INVALID ((uid_t) -1)
typedef int (*outbox_list_t)(void *userdata, const OutboxMessage *m);
int outbox_list(Outbox *o, MessageState state, uid_t uid, unsigned limit, outbox_list_t cb, void *userdata);

/* Empties the dead-letter list (the bounded table of failed messages). */
int outbox_purge_failed(Outbox *o, uint64_t *ret_count);

/* The earliest TTL deadline (CLOCK_BOOTTIME usec) of any queued message with a TTL, or 0 if none has one. */
int outbox_next_expiry(Outbox *o, uint64_t *ret_usec);
/* Up to max committed queued messages whose TTL ran out at now (CLOCK_BOOTTIME), oldest first (array of entries,
 * caller frees). */
int outbox_expired(Outbox *o, uint64_t now, size_t max, OutboxEntry ***ret, size_t *ret_n);

/* TTLs across reboots (outbox-ttl.c; the rule is in expiry.h). outbox_ttl_start() runs once after opening, before
 * anything is queued: it takes over the messages of earlier boots (and of the schema before deadlines) into this
 * boot and records a checkpoint. outbox_ttl_checkpoint() records how far this boot got (both clocks, and whether
 * the wall clock was trusted). outbox_ttl_clock_trusted() is called when the wall clock becomes trusted: the time
 * the device was off, which could not be measured before, is taken off the waiting messages' TTLs. */
typedef struct ClockSample ClockSample;
int outbox_ttl_start(Outbox *o, const char *boot_id, const ClockSample *now, bool trusted);
int outbox_ttl_checkpoint(Outbox *o, const ClockSample *now, bool trusted);
int outbox_ttl_clock_trusted(Outbox *o, const ClockSample *now);

/* Ids of the queued messages of device, oldest first (malloc'd array). */
int outbox_device_ids(Outbox *o, const char *device, uint64_t **ret_ids, size_t *ret_n);

/* Called whenever QueueMessages/QueueBytes change (after commit or rollback). */
void outbox_set_change_callback(Outbox *o, void (*cb)(void *userdata), void *userdata);
/* Called when a transaction could not be committed (e.g. -ENOSPC): what it removed is queued again. */
void outbox_set_failure_callback(Outbox *o, void (*cb)(void *userdata, int error), void *userdata);

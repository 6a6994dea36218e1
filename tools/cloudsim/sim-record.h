/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The --record file: every accepted message (decrypted, base64) and every successful auth as one JSON
 * line, appended with a single write() on an O_APPEND descriptor so concurrent readers see whole lines. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SimRecord SimRecord;

/* Opens (creating, mode 0600) path for appending. Returns 0 or -errno. */
int sim_record_open(const char *path, SimRecord **ret);
SimRecord *sim_record_free(SimRecord *r);

typedef struct SimRecordPublish {
        const char *transport;          /* "coap-aes" */
        const char *product_key;
        const char *device_name;
        const char *topic;
        const void *payload;            /* decrypted bytes */
        size_t payload_len;
        bool has_seq;
        uint32_t seq;
        int content_format;             /* -1: the request had none (written as null) */
        const char *message_id;         /* as sent in option 2090 */
        uint64_t time_ms;               /* CLOCK_REALTIME */
} SimRecordPublish;

/* Both are no-ops returning 0 when r is NULL (no --record). Return 0, -ENOMEM or -EIO. */
int sim_record_publish(SimRecord *r, const SimRecordPublish *p);
int sim_record_auth(SimRecord *r, const char *transport, const char *product_key, const char *device_name,
                    const char *client_id, uint64_t time_ms);

/* The JSON text of one line, without the newline; exposed for the unit test. Caller frees. */
int sim_record_format_publish(const SimRecordPublish *p, char **ret);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iotpubd.conf: daemon-wide settings. A missing file means all defaults. */
#pragma once

#include <stdint.h>

#define CONFIG_GROUP_MAX 64
#define CONFIG_INTERFACE_MAX 16 /* IFNAMSIZ */
#define TRANSPORT_WINDOW_LIMIT 32 /* MaxInFlight= at most */

typedef struct Config {
        uint64_t max_queue_messages;
        uint64_t max_queue_bytes;
        uint64_t max_queue_messages_per_user;
        uint64_t max_queue_bytes_per_user;
        char admin_group[CONFIG_GROUP_MAX];   /* members may call admin methods; "" = root only */
        uint64_t backoff_min_usec;
        uint64_t backoff_max_usec;
        uint64_t coap_ack_timeout_msec;      /* RFC 7252 ACK_TIMEOUT; 2000 by default */
        uint64_t max_in_flight;              /* messages outstanding per device (NSTART); 1 by default */
        uint64_t nat_timeout_usec;           /* coap-dtls: a session idle this long is assumed dead; 0 = never */
        char interface[CONFIG_INTERFACE_MAX]; /* the uplink to watch; "" = any */
} Config;

void config_defaults(Config *c);

/* Parses path into c (which should hold the defaults). A missing file is not an error. A malformed one logs
 * "path:line: reason" (naming the key, never the value) and returns -EINVAL, leaving c unchanged; so does a
 * file that is not a regular file of at most 1 MiB owned by root and writable by root only (see safe-file.h). */
int config_load(const char *path, Config *c);

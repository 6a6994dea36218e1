/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libiotpub internals: the handle (one sd-bus connection, re-made when it drops, behind a stable epoll fd),
 * the publish operations in flight, and the helpers the public calls share. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "iotpub.h"

#define IOTPUB_SERVICE "org.iotpub1"
#define IOTPUB_PATH "/org/iotpub1"
#define IOTPUB_MANAGER "org.iotpub1.Manager"
#define IOTPUB_DEVICE "org.iotpub1.Device"

/* How long a publish waits for iotpubd to reappear on the bus before its one resend. */
#define CLIENT_NAME_WAIT_USEC (10ULL * 1000000ULL)
/* How often to try again when the bus itself cannot be reached from iotpub_process(). */
#define CLIENT_RECONNECT_USEC (1000000ULL)
/* How often a publish-and-wait whose connection was replaced asks GetMessage instead of waiting for a signal. */
#define CLIENT_POLL_USEC (500000ULL)

typedef enum PublishOpState {
        PUBLISH_OP_SENDING,      /* Publish call in flight */
        PUBLISH_OP_WAITING_NAME, /* the service was gone; waiting for it to reappear, then resend once */
        PUBLISH_OP_ACCEPTED,     /* have an id; waiting for Delivered/Failed (publish-and-wait only) */
        PUBLISH_OP_DONE,
        _PUBLISH_OP_STATE_MAX,
        _PUBLISH_OP_STATE_INVALID = -EINVAL,
} PublishOpState;

typedef struct PublishOp PublishOp;

struct PublishOp {
        iotpub *client;
        PublishOp *next, *prev;
        PublishOpState state;

        char *device, *topic;
        void *payload;
        size_t len;
        iotpub_content_type content_type;
        uint32_t ttl_sec;

        sd_bus_slot *slot;
        unsigned attempts;
        uint64_t sent_generation; /* client->generation of the connection the last Publish went out on */
        char *failed_owner;       /* owner of the name when the first attempt failed, or NULL */
        uint64_t deadline;        /* CLOCK_MONOTONIC usec: end of the name wait, or next GetMessage poll */

        bool sync;                /* belongs to a blocking call, which frees it */
        bool finished;            /* state is PUBLISH_OP_DONE */
        bool want_result;         /* publish-and-wait: stay until Delivered/Failed */
        bool polling;             /* a GetMessage poll is in flight */

        iotpub_publish_done_fn done;
        void *userdata;

        /* outcome */
        int error;
        uint64_t id;
        iotpub_state result;
        char *detail;
};

struct iotpub {
        char *address;        /* NULL: the system bus */
        sd_bus *bus;          /* NULL while disconnected */
        int epoll_fd;         /* stable fd handed out by iotpub_get_fd(); watches bus fd */
        int watched_fd;       /* bus fd currently registered in epoll_fd, or -1 */
        uint32_t watched_events;
        uint64_t generation;  /* bumped on each new connection */
        uint64_t reconnect_at; /* CLOCK_MONOTONIC usec of the next reconnection attempt, 0: now */
        char *owner;          /* unique name owning org.iotpub1, NULL if none (or not yet known) */
        unsigned dispatching; /* > 0 while inside sd_bus_process() callbacks */
        bool pending_dispatch; /* a blocking call may have left messages queued in sd-bus */

        PublishOp *ops;

        iotpub_delivered_fn on_delivered;
        iotpub_failed_fn on_failed;
        void *userdata;

        char *last_error;
};

/* client.c */
uint64_t client_now(void);
int client_ensure_bus(iotpub *c);
int client_set_error(iotpub *c, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int client_set_bus_error(iotpub *c, const sd_bus_error *e, int fallback);
int client_dispatch(iotpub *c);
int client_run_until(iotpub *c, const bool *done, uint64_t deadline);
void client_update_watch(iotpub *c);
int client_call_method(iotpub *c, const char *path, const char *interface, const char *member,
                       sd_bus_message **ret_reply, const char *types, ...);

static inline bool client_errno_is_disconnect(int r) {
        return r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE || r == -ESHUTDOWN;
}

/* client-signals.c */
int client_signals_attach(iotpub *c);

/* client-error.c */
int client_error_to_errno(const sd_bus_error *e);
bool client_error_is_service_gone(const sd_bus_error *e);

/* client-publish.c */
int publish_op_validate(iotpub *c, const char *device, const char *topic, const void *payload, size_t len,
                        const iotpub_publish_options *options);
int publish_op_new(iotpub *c, const char *device, const char *topic, const void *payload, size_t len,
                   const iotpub_publish_options *options, PublishOp **ret);
PublishOp *publish_op_free(PublishOp *op);
int publish_op_send(PublishOp *op);
void publish_op_complete(PublishOp *op, int error);
void publish_ops_tick(iotpub *c);
void publish_ops_connection_lost(iotpub *c);
uint64_t publish_ops_next_deadline(iotpub *c);
void publish_op_retry_later(PublishOp *op);
bool publish_ops_take_result(iotpub *c, uint64_t id, iotpub_state state, const char *detail);

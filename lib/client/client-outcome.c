/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What happens to publishes after they were sent: resends once iotpubd is back, bounded name waits, results
 * of publish-and-wait (by signal, or by polling GetMessage after a reconnection), and the public publish
 * calls built on the operations. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "macro.h"

#define EXPORT __attribute__((visibility("default")))

static void publish_op_set_result(PublishOp *op, iotpub_state state, const char *detail) {
        iotpub *c = op->client;
        int r = 0;

        op->result = state;
        free(op->detail);
        op->detail = strdup(strempty(detail));
        if (state == IOTPUB_STATE_FAILED)
                r = client_set_error(c, -EREMOTEIO, "Message %" PRIu64 " failed: %s", op->id, strempty(detail));
        publish_op_complete(op, r);
}

bool publish_ops_take_result(iotpub *c, uint64_t id, iotpub_state state, const char *detail) {
        PublishOp *op;

        for (op = c->ops; op; op = op->next)
                if (op->want_result && op->state == PUBLISH_OP_ACCEPTED && op->id == id) {
                        publish_op_set_result(op, state, detail);
                        return true;
                }
        return false;
}

static int on_poll_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *state, *device, *topic, *detail;
        PublishOp *op = userdata;

        op->slot = sd_bus_slot_unref(op->slot);
        op->polling = false;
        op->deadline = client_now() + CLIENT_POLL_USEC;
        if (sd_bus_message_is_method_error(m, "org.iotpub1.Error.NoSuchMessage")) {
                publish_op_complete(op, client_set_bus_error(op->client, sd_bus_message_get_error(m), -ENOENT));
                return 0;
        }
        /* Other errors (iotpubd restarting, a daemon without GetMessage): keep waiting until the deadline. */
        if (sd_bus_message_is_method_error(m, NULL) ||
            sd_bus_message_read(m, "ssss", &state, &device, &topic, &detail) < 0)
                return 0;
        if (streq(state, "delivered"))
                publish_op_set_result(op, IOTPUB_STATE_DELIVERED, detail);
        else if (streq(state, "failed"))
                publish_op_set_result(op, IOTPUB_STATE_FAILED, detail);
        return 0;
}

/* Signals for a message go to the connection that published it; once that connection is gone, ask. */
static void publish_op_poll(PublishOp *op) {
        iotpub *c = op->client;
        int r;

        r = sd_bus_call_method_async(c->bus, &op->slot, IOTPUB_SERVICE, IOTPUB_PATH, IOTPUB_MANAGER, "GetMessage",
                                     on_poll_reply, op, "t", op->id);
        op->polling = r >= 0;
        op->deadline = client_now() + CLIENT_POLL_USEC;
}

static bool publish_op_can_resend(PublishOp *op) {
        iotpub *c = op->client;

        if (!c->bus || sd_bus_is_open(c->bus) <= 0 || !c->owner)
                return false;
        /* Same connection: only once the name changed hands (a new iotpubd). New connection: once it is known
         * that someone owns the name. */
        return op->sent_generation != c->generation || !streq_ptr(op->failed_owner, c->owner);
}

static void publish_op_tick(PublishOp *op, uint64_t now) {
        iotpub *c = op->client;
        int r;

        switch (op->state) {
        case PUBLISH_OP_WAITING_NAME:
                if (publish_op_can_resend(op)) {
                        r = publish_op_send(op);
                        if (r < 0)
                                publish_op_complete(op, r);
                } else if (now >= op->deadline)
                        publish_op_complete(op, client_set_error(c, -EHOSTDOWN, "iotpubd (%s) is not running on "
                                                                 "the bus and did not come back within %llu s.",
                                                                 IOTPUB_SERVICE,
                                                                 CLIENT_NAME_WAIT_USEC / 1000000ULL));
                return;
        case PUBLISH_OP_ACCEPTED:
                if (op->want_result && !op->polling && op->sent_generation != c->generation &&
                    now >= op->deadline && c->bus && sd_bus_is_open(c->bus) > 0)
                        publish_op_poll(op);
                return;
        case PUBLISH_OP_SENDING:
        case PUBLISH_OP_DONE:
                return;
        case _PUBLISH_OP_STATE_MAX:
        case _PUBLISH_OP_STATE_INVALID:
                break;
        }
}

void publish_ops_tick(iotpub *c) {
        uint64_t now = client_now();
        PublishOp *op, *next;

        /* A completed asynchronous operation is freed and its callback may add operations at the head;
         * those are looked at next time. */
        for (op = c->ops; op; op = next) {
                next = op->next;
                publish_op_tick(op, now);
        }
}

uint64_t publish_ops_next_deadline(iotpub *c) {
        uint64_t next = UINT64_MAX;
        PublishOp *op;

        for (op = c->ops; op; op = op->next)
                if (op->state == PUBLISH_OP_WAITING_NAME ||
                    (op->state == PUBLISH_OP_ACCEPTED && op->want_result && !op->polling &&
                     op->sent_generation != c->generation))
                        next = MIN(next, op->deadline);
        return next;
}

/* The connection is being replaced: calls still pending on it will never be answered. */
void publish_ops_connection_lost(iotpub *c) {
        PublishOp *op, *next;

        for (op = c->ops; op; op = next) {
                next = op->next;
                if (op->state == PUBLISH_OP_SENDING && op->attempts < 2)
                        publish_op_retry_later(op);
                else if (op->state == PUBLISH_OP_SENDING)
                        publish_op_complete(op, client_set_error(c, -ECONNRESET, "The bus connection dropped "
                                                                 "twice while publishing."));
                else if (op->state == PUBLISH_OP_ACCEPTED) {
                        op->slot = sd_bus_slot_unref(op->slot);
                        op->polling = false;
                        op->deadline = 0;
                }
        }
}

static int publish_begin(iotpub *c, const char *device, const char *topic, const void *payload, size_t len,
                         const iotpub_publish_options *options, PublishOp **ret) {
        PublishOp *op = NULL;
        int r;

        r = publish_op_validate(c, device, topic, payload, len, options);
        if (r < 0)
                return r;
        r = publish_op_new(c, device, topic, payload, len, options, &op);
        if (r < 0)
                return r;
        r = publish_op_send(op);
        if (r < 0) {
                publish_op_free(op);
                return r;
        }
        *ret = op;
        return 0;
}

EXPORT int iotpub_publish_async(iotpub *c, const char *device, const char *topic, const void *payload,
                                size_t len, const iotpub_publish_options *options, iotpub_publish_done_fn done,
                                void *userdata) {
        PublishOp *op = NULL;
        int r;

        r = publish_begin(c, device, topic, payload, len, options, &op);
        if (r < 0)
                return r;
        op->done = done;
        op->userdata = userdata;
        return 0;
}

static uint64_t deadline_after(uint64_t timeout_usec) {
        uint64_t now = client_now();

        if (timeout_usec == IOTPUB_INFINITY || timeout_usec > UINT64_MAX - now)
                return UINT64_MAX;
        return now + timeout_usec;
}

/* The blocking publishes: one operation, driven until it is done (or the deadline for publish-and-wait). */
static int publish_blocking(iotpub *c, const char *device, const char *topic, const void *payload, size_t len,
                            const iotpub_publish_options *options, bool want_result, uint64_t timeout_usec,
                            uint64_t *ret_id, char **ret_detail) {
        PublishOp *op = NULL;
        int r;

        if (c && c->dispatching)
                return client_set_error(c, -EBUSY, "A blocking publish cannot be made from a libiotpub callback.");
        r = publish_begin(c, device, topic, payload, len, options, &op);
        if (r < 0)
                return r;
        op->sync = true;
        op->want_result = want_result;
        r = client_run_until(c, &op->finished, deadline_after(timeout_usec));
        if (r == -ETIMEDOUT && op->id > 0)
                r = client_set_error(c, r, "Message %" PRIu64 " was neither delivered nor failed in time; it "
                                     "stays queued.", op->id);
        else if (r == -ETIMEDOUT)
                r = client_set_error(c, r, "iotpubd did not accept the message in time.");
        else if (r >= 0)
                r = op->error;
        if (ret_id)
                *ret_id = op->id;
        if (ret_detail && op->finished && op->detail)
                *ret_detail = TAKE_PTR(op->detail);
        client_update_watch(c);
        publish_op_free(op);
        return r;
}

EXPORT int iotpub_publish(iotpub *c, const char *device, const char *topic, const void *payload, size_t len,
                          const iotpub_publish_options *options, uint64_t *ret_id) {
        return publish_blocking(c, device, topic, payload, len, options, false, IOTPUB_INFINITY, ret_id, NULL);
}

EXPORT int iotpub_publish_wait(iotpub *c, const char *device, const char *topic, const void *payload,
                               size_t len, const iotpub_publish_options *options, uint64_t timeout_usec,
                               uint64_t *ret_id, char **ret_detail) {
        if (ret_id)
                *ret_id = 0;
        if (ret_detail)
                *ret_detail = NULL;
        return publish_blocking(c, device, topic, payload, len, options, true, timeout_usec, ret_id, ret_detail);
}

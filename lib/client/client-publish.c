/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Publish operations: argument checks, the Publish call, one resend when iotpubd was momentarily off the bus,
 * waiting for Delivered/Failed (by signal, or by GetMessage when the connection was re-made), completion. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "macro.h"
#include "topic.h"

#define EXPORT __attribute__((visibility("default")))

static const char *const content_type_names[] = {
        [IOTPUB_CONTENT_JSON] = "json",
        [IOTPUB_CONTENT_CBOR] = "cbor",
        [IOTPUB_CONTENT_OCTET_STREAM] = "octet-stream",
};

int publish_op_validate(iotpub *c, const char *device, const char *topic, const void *payload, size_t len,
                        const iotpub_publish_options *options) {
        const char *reason = NULL;

        if (!c)
                return -EINVAL;
        if (isempty(device))
                return client_set_error(c, -EINVAL, "No device name was given.");
        if (!topic)
                return client_set_error(c, -EINVAL, "No topic was given.");
        if (topic_validate(topic, &reason) < 0)
                return client_set_error(c, -EINVAL, "Invalid topic: %s",
                                        reason ?: "see the topic rules in the iotpub documentation.");
        if (!payload && len > 0)
                return client_set_error(c, -EINVAL, "The payload is NULL but its length is %zu.", len);
        if (!options)
                return 0;
        if (options->size < sizeof(iotpub_publish_options))
                return client_set_error(c, -EINVAL, "The options were not initialised with "
                                        "IOTPUB_PUBLISH_OPTIONS_INIT (size %zu).", options->size);
        if ((unsigned) options->content_type >= ELEMENTSOF(content_type_names))
                return client_set_error(c, -EINVAL, "Unknown content type %d.", (int) options->content_type);
        if (options->ttl_sec > IOTPUB_TTL_MAX)
                return client_set_error(c, -EINVAL, "The TTL %" PRIu32 " s is longer than the maximum %lu s.",
                                        options->ttl_sec, IOTPUB_TTL_MAX);
        return 0;
}

static void publish_op_unlink(PublishOp *op) {
        iotpub *c = op->client;

        if (op->prev)
                op->prev->next = op->next;
        else if (c->ops == op)
                c->ops = op->next;
        if (op->next)
                op->next->prev = op->prev;
        op->next = op->prev = NULL;
}

PublishOp *publish_op_free(PublishOp *op) {
        if (!op)
                return NULL;
        publish_op_unlink(op);
        sd_bus_slot_unref(op->slot);
        free(op->device);
        free(op->topic);
        free(op->payload);
        free(op->failed_owner);
        free(op->detail);
        free(op);
        return NULL;
}

int publish_op_new(iotpub *c, const char *device, const char *topic, const void *payload, size_t len,
                   const iotpub_publish_options *options, PublishOp **ret) {
        PublishOp *op;

        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        op->client = c;
        op->len = len;
        op->device = strdup(device);
        op->topic = strdup(topic);
        op->payload = malloc(MAX(len, (size_t) 1));
        if (!op->device || !op->topic || !op->payload) {
                publish_op_free(op);
                return client_set_error(c, -ENOMEM, "Out of memory.");
        }
        if (len > 0)
                memcpy(op->payload, payload, len);
        if (options) {
                op->content_type = options->content_type;
                op->ttl_sec = options->ttl_sec;
        }
        op->next = c->ops;
        if (c->ops)
                c->ops->prev = op;
        c->ops = op;
        *ret = op;
        return 0;
}

/* Ends the operation. An asynchronous one reports to its callback and is freed; a blocking call's operation
 * stays for its caller to read and free. */
void publish_op_complete(PublishOp *op, int error) {
        iotpub_publish_done_fn done = op->done;
        iotpub *c = op->client;
        void *userdata = op->userdata;
        uint64_t id = op->id;

        op->slot = sd_bus_slot_unref(op->slot);
        op->error = error;
        op->state = PUBLISH_OP_DONE;
        op->finished = true;
        if (op->sync)
                return;
        publish_op_free(op);
        if (done)
                done(c, error, error < 0 ? 0 : id, userdata);
}

static int publish_op_fail_gone(PublishOp *op, const sd_bus_error *e) {
        return client_set_error(op->client, -EHOSTDOWN, "iotpubd (%s) is not running on the bus%s%s", IOTPUB_SERVICE,
                                e && e->message ? ": " : ".", e && e->message ? e->message : "");
}

void publish_op_retry_later(PublishOp *op) {
        iotpub *c = op->client;

        op->slot = sd_bus_slot_unref(op->slot);
        op->state = PUBLISH_OP_WAITING_NAME;
        op->deadline = client_now() + CLIENT_NAME_WAIT_USEC;
        free(op->failed_owner);
        op->failed_owner = c->owner ? strdup(c->owner) : NULL;
}

static int on_publish_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);
        PublishOp *op = userdata;
        int r;

        op->slot = sd_bus_slot_unref(op->slot);
        if (e) {
                if (client_error_is_service_gone(e) && op->attempts < 2) {
                        publish_op_retry_later(op);
                        return 0;
                }
                if (client_error_is_service_gone(e))
                        r = publish_op_fail_gone(op, e);
                else
                        r = client_set_bus_error(op->client, e, -EIO);
                publish_op_complete(op, r);
                return 0;
        }
        r = sd_bus_message_read(m, "t", &op->id);
        if (r < 0) {
                publish_op_complete(op, client_set_error(op->client, r, "iotpubd's reply to Publish is malformed."));
                return 0;
        }
        if (!op->want_result) {
                publish_op_complete(op, 0);
                return 0;
        }
        op->state = PUBLISH_OP_ACCEPTED;
        op->deadline = UINT64_MAX;
        return 0;
}

static int publish_op_append(PublishOp *op, sd_bus_message *m) {
        int r;

        r = sd_bus_message_append(m, "ss", op->device, op->topic);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', op->payload, op->len);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && op->content_type != IOTPUB_CONTENT_JSON)
                r = sd_bus_message_append(m, "{sv}", "content-type", "s", content_type_names[op->content_type]);
        if (r >= 0 && op->ttl_sec > 0)
                r = sd_bus_message_append(m, "{sv}", "ttl", "u", op->ttl_sec);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int publish_op_send(PublishOp *op) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        iotpub *c = op->client;
        int r;

        r = client_ensure_bus(c);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(c->bus, &m, IOTPUB_SERVICE, IOTPUB_PATH, IOTPUB_MANAGER, "Publish");
        if (r >= 0)
                r = publish_op_append(op, m);
        if (r >= 0)
                r = sd_bus_call_async(c->bus, &op->slot, m, on_publish_reply, op, 0);
        if (r < 0)
                return client_set_error(c, r, "Cannot send Publish: %s", strerror(-r));
        op->attempts++;
        op->sent_generation = c->generation;
        op->state = PUBLISH_OP_SENDING;
        client_update_watch(c);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager object's vtable and handlers; see bus-manager.h. */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "bus-admin.h"
#include "bus-errors.h"
#include "bus-manager.h"
#include "bus-query.h"
#include "caller.h"
#include "json-cbor.h"
#include "log.h"
#include "manager.h"
#include "topic.h"
#include "time-util.h"

#define SENDER_NAME_MAX 256 /* a bus name is at most 255 characters */

#define TTL_MAX_SEC (366ULL * 24 * 3600)

typedef struct PendingPublish {
        Manager *manager;
        sd_bus_message *msg;
        char *device;
} PendingPublish;

/* Access rules decide (root always may); the caller is identified by the bus, not by what it says. */
static int check_publish_access(Manager *m, sd_bus_message *msg, Device *d, const char *topic, uid_t *ret_uid,
                                sd_bus_error *error) {
        const char *rule, *location;
        const Caller *c;
        AclCaller ac;
        AclTarget t;
        int r;

        r = caller_cache_get(m->callers, msg, &c);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
                                         "Cannot determine who is calling, so publishing is refused.");
        ac = caller_to_acl(c);
        t = device_to_acl(d, topic);
        *ret_uid = c->uid;
        if (acl_check(m->acl, &ac, &t, &rule, &location))
                return 0;
        return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
                                 "User %s (uid %u) may not publish to %s on device %s: %s%s%s. See "
                                 "'iotpubctl acl explain'.",
                                 strempty(c->user), (unsigned) c->uid, topic, device_name(d), rule,
                                 isempty(location) ? "" : " at ", location);
}

static int check_quota(Manager *m, uid_t uid, size_t len, sd_bus_error *error) {
        uint64_t count, bytes;

        /* The reserve was given up to drain the queue on a full disk: take nothing new until it is back. */
        if (m->reserve && !reserve_held(m->reserve))
                return sd_bus_error_setf(error, BUS_ERROR_STORAGE, "%s", bus_error_storage_message(-ENOSPC));

        if (outbox_count(m->outbox) >= m->config.max_queue_messages ||
            outbox_bytes(m->outbox) + len > m->config.max_queue_bytes)
                return sd_bus_error_setf(error, BUS_ERROR_QUEUE_FULL,
                                         "The outbox is full (%" PRIu64 " messages, %" PRIu64 " bytes queued); try again later.",
                                         outbox_count(m->outbox), outbox_bytes(m->outbox));
        if (uid == 0)
                return 0;
        outbox_user_usage(m->outbox, uid, &count, &bytes);
        if (count >= m->config.max_queue_messages_per_user || bytes + len > m->config.max_queue_bytes_per_user)
                return sd_bus_error_setf(error, BUS_ERROR_QUEUE_FULL,
                                         "Your queue is full (%" PRIu64 " messages, %" PRIu64 " bytes waiting; the limits "
                                         "are %" PRIu64 " and %" PRIu64 "); try again when some are delivered.",
                                         count, bytes, m->config.max_queue_messages_per_user,
                                         m->config.max_queue_bytes_per_user);
        return 0;
}

static int read_option(sd_bus_message *msg, const char *key, ContentType *content_type, uint64_t *ttl,
                       sd_bus_error *error) {
        const char *contents = NULL, *s;
        uint32_t u32;
        int r;

        r = sd_bus_message_peek_type(msg, NULL, &contents);
        if (r < 0)
                return r;
        if (streq(key, "content-type")) {
                if (!streq(contents, "s"))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "Option content-type must be a string (s), not '%s'.", contents);
                r = sd_bus_message_read(msg, "v", "s", &s);
                if (r < 0)
                        return r;
                *content_type = content_type_from_string(s);
                if (*content_type < 0)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "Unknown content-type '%s'; use json, cbor or octet-stream.", s);
                return 0;
        }
        if (streq(key, "ttl")) {
                if (streq(contents, "u")) {
                        r = sd_bus_message_read(msg, "v", "u", &u32);
                        *ttl = u32;
                } else if (streq(contents, "t"))
                        r = sd_bus_message_read(msg, "v", "t", ttl);
                else
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "Option ttl must be an unsigned number of seconds (u), not '%s'.",
                                                 contents);
                if (r < 0)
                        return r;
                if (*ttl == 0 || *ttl > TTL_MAX_SEC)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "Option ttl must be between 1 and %llu seconds.", TTL_MAX_SEC);
                return 0;
        }
        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                 "Unknown option '%s'; the options are content-type (s) and ttl (u).", key);
}

static int read_options(sd_bus_message *msg, ContentType *content_type, uint64_t *ttl, sd_bus_error *error) {
        const char *key;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                r = read_option(msg, key, content_type, ttl, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

static void on_publish_committed(void *userdata, uint64_t id, int error) {
        PendingPublish *p = userdata;
        Device *d;

        if (error < 0)
                (void) sd_bus_reply_method_errorf(p->msg, BUS_ERROR_STORAGE, "%s", bus_error_storage_message(error));
        else {
                (void) sd_bus_reply_method_return(p->msg, "t", id);
                d = manager_find_device(p->manager, p->device);
                if (d)
                        device_kick(d);
        }
        sd_bus_message_unref(p->msg);
        free(p->device);
        free(p);
}

int bus_manager_publish(Manager *m, Device *d, sd_bus_message *msg, const char *topic, sd_bus_error *error) {
        _cleanup_free_ uint8_t *converted = NULL;
        ContentType content_type = CONTENT_TYPE_JSON;
        const char *reason = NULL;
        PendingPublish *p;
        const void *payload;
        uint64_t ttl = 0;
        size_t len, max;
        uid_t uid = UID_INVALID;
        int r;

        r = sd_bus_message_read_array(msg, 'y', &payload, &len);
        if (r < 0)
                return r;
        r = read_options(msg, &content_type, &ttl, error);
        if (r < 0)
                return r;
        if (topic_validate(topic, &reason) < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_TOPIC, "Invalid topic: %s",
                                         reason ?: "not a valid topic.");
        r = check_publish_access(m, msg, d, topic, &uid, error);
        if (r < 0)
                return r;
        if (d->identity->payload_cbor && content_type == CONTENT_TYPE_JSON) {
                /* PayloadEncoding=cbor: the same data in fewer bytes over the air. */
                r = json_cbor_encode(payload, len, &converted, &len);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "Device %s sends JSON as CBOR (PayloadEncoding=cbor), but the payload "
                                                 "is not one valid JSON value in strict UTF-8; send it with content-type octet-stream "
                                                 "or fix the JSON.", device_name(d));
                payload = converted;
                content_type = CONTENT_TYPE_CBOR;
        }
        max = device_max_payload(d, topic);
        if (len > max)
                return sd_bus_error_setf(error, BUS_ERROR_PAYLOAD_TOO_LARGE,
                                         "The payload is %zu bytes; one %s message to this topic carries at most %zu.",
                                         len, transport_kind_to_string(d->identity->transport), max);
        r = check_quota(m, uid, len, error);
        if (r < 0)
                return r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *p = (PendingPublish) {
                .manager = m,
                .msg = sd_bus_message_ref(msg),
                .device = strdup(device_name(d)),
        };
        uint64_t now = now_realtime_usec();
        char sender[sizeof(m->bus_id) + 1 + SENDER_NAME_MAX];

        (void) snprintf(sender, sizeof(sender), "%s/%s", m->bus_id, strempty(sd_bus_message_get_sender(msg)));
        r = p->device ? outbox_add(m->outbox,
                                   &(OutboxEntry) {
                                           .device = (char *) device_name(d),
                                           .topic = (char *) topic,
                                           .payload = (uint8_t *) payload,
                                           .payload_len = len,
                                           .content_type = content_type,
                                           .sender = sender,
                                           .uid = uid,
                                           .created_usec = now,
                                           .expires_usec = ttl > 0 ? now + ttl * 1000000ULL : 0,
                                           .deadline_usec = ttl > 0 ? now_boottime_usec() + ttl * USEC_PER_SEC : 0,
                                   },
                                   on_publish_committed, p)
                      : -ENOMEM;
        if (r < 0) {
                sd_bus_message_unref(p->msg);
                free(p->device);
                free(p);
                return sd_bus_error_setf(error, BUS_ERROR_STORAGE, "%s", bus_error_storage_message(r));
        }
        return 1;
}

static int method_publish(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name, *topic;
        Device *d;
        int r;

        r = sd_bus_message_read(msg, "ss", &name, &topic);
        if (r < 0)
                return r;
        d = manager_find_device(m, name);
        if (!d)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE,
                                         "No device named '%s' is configured.", name);
        return bus_manager_publish(m, d, msg, topic, error);
}

/* The connection a receipt may go to: the publisher's unique name, if the message was published on this bus
 * instance (a restarted bus hands the same names to others) and the connection still runs as the publisher's
 * uid. NULL otherwise: that publisher learns the outcome through GetMessage. */
static const char *receipt_destination(Manager *m, const OutboxEntry *e) {
        const char *name = e->sender ? startswith(e->sender, m->bus_id) : NULL;
        const Caller *c;

        if (!name || name[0] != '/') {
                log_debug("Message %" PRIu64 " was published on another bus instance: no receipt signal.", e->id);
                return NULL;
        }
        name++;
        if (caller_cache_get_name(m->callers, m->bus, name, &c) < 0)
                return NULL; /* gone */
        if (c->uid != e->uid) {
                log_warning("Connection %s now runs as uid %u, message %" PRIu64 " was published by uid %u: no "
                            "receipt signal.", name, (unsigned) c->uid, e->id, (unsigned) e->uid);
                return NULL;
        }
        return name;
}

static void emit_result(Manager *m, const OutboxEntry *e, const char *member, const char *text) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        const char *destination;
        uint64_t id = e->id;
        int r;

        if (!m->bus || !(destination = receipt_destination(m, e)))
                return;
        r = sd_bus_message_new_signal(m->bus, &s, "/org/iotpub1", "org.iotpub1.Manager", member);
        if (r >= 0)
                r = sd_bus_message_set_destination(s, destination);
        if (r >= 0)
                r = sd_bus_message_append(s, "ts", id, text);
        if (r >= 0)
                r = sd_bus_send(m->bus, s, NULL);
        if (r < 0)
                log_debug_errno(r, "Cannot send %s for message %" PRIu64 ": %m", member, id);
}

void bus_manager_emit_delivered(Manager *m, const OutboxEntry *e, const char *cloud_id) {
        emit_result(m, e, "Delivered", cloud_id);
}

void bus_manager_emit_failed(Manager *m, const OutboxEntry *e, const char *reason) {
        emit_result(m, e, "Failed", reason);
}

void bus_manager_emit_changed(Manager *m) {
        if (m->bus)
                (void) sd_bus_emit_properties_changed(m->bus, "/org/iotpub1", "org.iotpub1.Manager", "QueueMessages",
                                                      "QueueBytes", NULL);
}

void bus_manager_emit_online_changed(Manager *m) {
        if (m->bus)
                (void) sd_bus_emit_properties_changed(m->bus, "/org/iotpub1", "org.iotpub1.Manager", "Online", NULL);
}

static int property_get_queue(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "t",
                                     streq(property, "QueueMessages") ? outbox_count(m->outbox) : outbox_bytes(m->outbox));
}

static int property_get_online(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "b", m->online);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", IOTPUB_VERSION);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Online", "b", property_get_online, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("QueueMessages", "t", property_get_queue, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("QueueBytes", "t", property_get_queue, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Publish",
                                SD_BUS_ARGS("s", device, "s", topic, "ay", payload, "a{sv}", options),
                                SD_BUS_RESULT("t", id),
                                method_publish, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetMessage",
                                SD_BUS_ARGS("t", id),
                                SD_BUS_RESULT("s", state, "s", device, "s", topic, "s", detail),
                                bus_method_get_message, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListMessages",
                                SD_BUS_ARGS("s", state, "u", limit),
                                SD_BUS_RESULT("a(tsssst)", messages),
                                bus_method_list_messages, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListDevices",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssso)", devices),
                                bus_method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddDevice",
                                SD_BUS_ARGS("s", name, "a{sv}", settings),
                                SD_BUS_RESULT("o", path),
                                bus_method_add_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveDevice",
                                SD_BUS_ARGS("s", name),
                                SD_BUS_NO_RESULT,
                                bus_method_remove_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                bus_method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ExplainAccess",
                                SD_BUS_ARGS("u", uid, "s", unit, "s", device, "s", topic),
                                SD_BUS_RESULT("b", allowed, "s", rule, "s", location),
                                bus_method_explain_access, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PurgeFailed",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("t", count),
                                bus_method_purge_failed, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CheckConfiguration",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ss)", problems),
                                bus_method_check_configuration, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Delivered", SD_BUS_ARGS("t", id, "s", cloud_message_id), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Failed", SD_BUS_ARGS("t", id, "s", reason), 0),
        SD_BUS_VTABLE_END,
};

int bus_manager_register(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, "/org/iotpub1", "org.iotpub1.Manager", manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Cannot register the Manager object: %m");
        return 0;
}

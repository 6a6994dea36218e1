/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Device objects' vtable, lookup and enumeration; see bus-device.h. */
#include <stddef.h>

#include "bus-admin.h"
#include "bus-device.h"
#include "bus-manager.h"
#include "log.h"
#include "manager.h"
#include "transport.h"

#define DEVICE_PREFIX "/org/iotpub1/device"

static int method_publish(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Device *d = userdata;
        const char *topic;
        int r;

        r = sd_bus_message_read(msg, "s", &topic);
        if (r < 0)
                return r;
        return bus_manager_publish(d->manager, d, msg, topic, error);
}

static int property_get_identity(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Device *d = userdata;
        const Identity *id = d->identity;
        const char *v;

        if (streq(property, "Name"))
                v = id->name;
        else if (streq(property, "ProductKey"))
                v = id->product_key;
        else if (streq(property, "DeviceName"))
                v = id->device_name;
        else if (streq(property, "Transport"))
                v = transport_kind_to_string(id->transport);
        else
                v = id->endpoint;
        return sd_bus_message_append(reply, "s", v);
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Device *d = userdata;

        return sd_bus_message_append(reply, "s", device_state_to_string(d->state));
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        char **s = userdata;

        return sd_bus_message_append(reply, "s", strempty(*s));
}

static int property_get_u64(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "t", *(uint64_t *) userdata);
}

static int property_get_queue(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Device *d = userdata;

        return sd_bus_message_append(reply, "t", outbox_device_count(d->manager->outbox, device_name(d)));
}

#define COUNTER(name, field) \
        SD_BUS_PROPERTY(name, "t", property_get_u64, offsetof(Device, counters.field), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

static const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get_identity, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ProductKey", "s", property_get_identity, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DeviceName", "s", property_get_identity, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Transport", "s", property_get_identity, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Endpoint", "s", property_get_identity, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get_string, offsetof(Device, last_error),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TokenExpiresAt", "t", property_get_u64, offsetof(Device, token_expires_usec),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("QueueMessages", "t", property_get_queue, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        COUNTER("MessagesSent", messages_sent),
        COUNTER("MessagesFailed", messages_failed),
        COUNTER("Retries", retries),
        COUNTER("Reauthentications", reauthentications),
        COUNTER("BytesOut", bytes_out),
        COUNTER("BytesIn", bytes_in),
        COUNTER("UnreadableReplies", unreadable_replies),
        SD_BUS_METHOD_WITH_ARGS("Publish",
                                SD_BUS_ARGS("s", topic, "ay", payload, "a{sv}", options),
                                SD_BUS_RESULT("t", id),
                                method_publish, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reauthenticate", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
                                bus_device_method_reauthenticate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Flush", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
                                bus_device_method_flush, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Purge", SD_BUS_NO_ARGS, SD_BUS_RESULT("t", count),
                                bus_device_method_purge, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int device_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                              sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        Manager *m = userdata;
        Device *d;
        int r;

        r = sd_bus_path_decode(path, DEVICE_PREFIX, &name);
        if (r <= 0)
                return r;
        d = manager_find_device(m, name);
        if (!d)
                return 0;
        *found = d;
        return 1;
}

static int device_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                  sd_bus_error *error) {
        Manager *m = userdata;
        char **l;

        l = calloc(m->n_devices + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_devices; i++) {
                l[i] = strdup(m->devices[i]->object_path);
                if (!l[i]) {
                        for (size_t j = 0; j < i; j++)
                                free(l[j]);
                        free(l);
                        return -ENOMEM;
                }
        }
        *nodes = l;
        return 0;
}

int bus_device_register(Manager *m) {
        int r;

        r = sd_bus_add_fallback_vtable(m->bus, NULL, DEVICE_PREFIX, "org.iotpub1.Device", device_vtable,
                                       device_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Cannot register the Device objects: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, DEVICE_PREFIX, device_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Cannot register the Device enumerator: %m");
        r = sd_bus_add_object_manager(m->bus, NULL, "/org/iotpub1");
        if (r < 0)
                return log_error_errno(r, "Cannot register the object manager: %m");
        return 0;
}

void bus_device_emit_changed(Device *d) {
        const char *names[16];
        size_t n = 0;

        if (d->changed & DEVICE_PROP_STATE)
                names[n++] = "State";
        if (d->changed & DEVICE_PROP_LAST_ERROR)
                names[n++] = "LastError";
        if (d->changed & DEVICE_PROP_TOKEN_EXPIRES_AT)
                names[n++] = "TokenExpiresAt";
        if (d->changed & DEVICE_PROP_QUEUE)
                names[n++] = "QueueMessages";
        if (d->changed & DEVICE_PROP_COUNTERS) {
                names[n++] = "MessagesSent";
                names[n++] = "MessagesFailed";
                names[n++] = "Retries";
                names[n++] = "Reauthentications";
                names[n++] = "BytesOut";
                names[n++] = "BytesIn";
        }
        if (d->changed & DEVICE_PROP_UNREADABLE_REPLIES)
                names[n++] = "UnreadableReplies";
        names[n] = NULL;
        d->changed = 0;
        if (n > 0 && d->manager->bus)
                (void) sd_bus_emit_properties_changed_strv(d->manager->bus, d->object_path, "org.iotpub1.Device",
                                                           (char **) names);
}

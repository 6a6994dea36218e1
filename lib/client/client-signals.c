/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Delivered/Failed signals and the owner of org.iotpub1: subscriptions made on every new connection, and the
 * handlers. Signals are accepted only from the connection that owns org.iotpub1, so no other peer can fake
 * a delivery. */
#include <errno.h>
#include <stdlib.h>

#include "client.h"
#include "macro.h"

static void client_set_owner(iotpub *c, const char *owner) {
        if (free_and_strdup(&c->owner, isempty(owner) ? NULL : owner) < 0) {
                free(c->owner);
                c->owner = NULL;
        }
}

static bool client_from_owner(iotpub *c, sd_bus_message *m) {
        const char *sender = sd_bus_message_get_sender(m);

        return c->owner && sender && streq(sender, c->owner);
}

static int on_result(sd_bus_message *m, iotpub *c, iotpub_state state) {
        const char *text = NULL;
        uint64_t id;

        if (!client_from_owner(c, m))
                return 0;
        if (sd_bus_message_read(m, "ts", &id, &text) < 0)
                return 0;
        if (publish_ops_take_result(c, id, state, text))
                return 0;
        if (state == IOTPUB_STATE_DELIVERED && c->on_delivered)
                c->on_delivered(c, id, text, c->userdata);
        else if (state == IOTPUB_STATE_FAILED && c->on_failed)
                c->on_failed(c, id, text, c->userdata);
        return 0;
}

static int on_delivered(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return on_result(m, userdata, IOTPUB_STATE_DELIVERED);
}

static int on_failed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return on_result(m, userdata, IOTPUB_STATE_FAILED);
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *name, *old_owner, *new_owner;
        iotpub *c = userdata;

        /* Only the bus driver may say who owns a name. */
        if (!streq_ptr(sd_bus_message_get_sender(m), "org.freedesktop.DBus"))
                return 0;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, IOTPUB_SERVICE))
                return 0;
        client_set_owner(c, new_owner);
        return 0;
}

static int on_get_name_owner(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *owner = NULL;
        iotpub *c = userdata;

        /* NameHasNoOwner: nobody yet; NameOwnerChanged will tell when that changes. */
        if (sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read(m, "s", &owner) < 0)
                return 0;
        client_set_owner(c, owner);
        return 0;
}

/* The slots are floating: they live exactly as long as the connection they belong to. The subscription to
 * NameOwnerChanged goes out before GetNameOwner, so no change can fall between the two. */
int client_signals_attach(iotpub *c) {
        int r;

        r = sd_bus_match_signal_async(c->bus, NULL, NULL, IOTPUB_PATH, IOTPUB_MANAGER, "Delivered", on_delivered,
                                      NULL, c);
        if (r < 0)
                return r;
        r = sd_bus_match_signal_async(c->bus, NULL, NULL, IOTPUB_PATH, IOTPUB_MANAGER, "Failed", on_failed, NULL, c);
        if (r < 0)
                return r;
        r = sd_bus_add_match_async(c->bus, NULL,
                                   "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                   "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                                   "arg0='" IOTPUB_SERVICE "'",
                                   on_name_owner_changed, NULL, c);
        if (r < 0)
                return r;
        return sd_bus_call_method_async(c->bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "GetNameOwner", on_get_name_owner, c, "s",
                                        IOTPUB_SERVICE);
}

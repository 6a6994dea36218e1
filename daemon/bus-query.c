/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Read-only Manager methods; see bus-query.h. */
#include <grp.h>
#include <pwd.h>

#include "bus-admin.h"
#include "bus-errors.h"
#include "bus-query.h"
#include "caller.h"
#include "manager.h"
#include "transport.h"

#define LIST_LIMIT 1000

static MessageState live_state(Manager *m, const OutboxMessage *om) {
        Device *d;

        if (om->state != MESSAGE_QUEUED)
                return om->state;
        d = manager_find_device(m, om->device);
        return d && transport_is_inflight(d->transport, om->id) ? MESSAGE_SENDING : MESSAGE_QUEUED;
}

int bus_method_get_message(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(outbox_message_done) OutboxMessage om = {};
        Manager *m = userdata;
        const Caller *c;
        uint64_t id;
        int r;

        r = sd_bus_message_read(msg, "t", &id);
        if (r < 0)
                return r;
        r = caller_cache_get(m->callers, msg, &c);
        if (r < 0)
                return r;
        r = outbox_get(m->outbox, id, &om);
        if (r >= 0 && om.uid != c->uid && !bus_caller_is_admin(m, c))
                r = -ENOENT; /* indistinguishable from an unknown id: others' ids reveal nothing */
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_MESSAGE,
                                         "No message %" PRIu64 " of yours is known (the history keeps the last 10000 "
                                         "delivered and 1000 failed messages).", id);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "ssss", message_state_to_string(live_state(m, &om)), om.device,
                                          om.topic, strempty(om.detail));
}

typedef struct ListContext {
        Manager *manager;
        sd_bus_message *reply;
} ListContext;

static int append_message(void *userdata, const OutboxMessage *om) {
        ListContext *l = userdata;

        return sd_bus_message_append(l->reply, "(tsssst)", om->id, message_state_to_string(live_state(l->manager, om)),
                                     om->device, om->topic, strempty(om->detail), om->time_usec);
}

int bus_method_list_messages(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        MessageState state = _MESSAGE_STATE_INVALID;
        const char *s;
        uint32_t limit;
        const Caller *c;
        uid_t uid;
        int r;

        r = sd_bus_message_read(msg, "su", &s, &limit);
        if (r < 0)
                return r;
        if (!isempty(s) && (state = message_state_from_string(s)) < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                         "Unknown state '%s'; use queued, delivered, failed or an empty string.", s);
        if (limit == 0 || limit > LIST_LIMIT)
                limit = LIST_LIMIT;
        r = caller_cache_get(m->callers, msg, &c);
        if (r < 0)
                return r;
        uid = bus_caller_is_admin(m, c) ? UID_INVALID : c->uid;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(tsssst)");
        if (r >= 0)
                r = outbox_list(m->outbox, state, uid, limit, append_message,
                                &(ListContext) { .manager = m, .reply = reply });
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_method_list_devices(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssso)");
        for (size_t i = 0; r >= 0 && i < m->n_devices; i++) {
                Device *d = m->devices[i];

                r = sd_bus_message_append(reply, "(ssso)", device_name(d),
                                          transport_kind_to_string(d->identity->transport),
                                          device_state_to_string(d->state), d->object_path);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_method_explain_access(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ gid_t *gids = NULL;
        const char *unit, *name, *topic, *rule, *location;
        Manager *m = userdata;
        struct passwd *pw;
        AclTarget target;
        const Caller *c;
        size_t n_gids = 0;
        bool admin, allowed;
        uint32_t uid;
        Device *d;
        int r;

        r = sd_bus_message_read(msg, "usss", &uid, &unit, &name, &topic);
        if (r < 0)
                return r;
        r = caller_cache_get(m->callers, msg, &c);
        if (r < 0)
                return r;
        admin = bus_caller_is_admin(m, c) || c->uid == (uid_t) uid;
        if (!admin)
                return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
                                         "Only root and administrators may ask about other users.");
        d = manager_find_device(m, name);
        if (!d)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE, "No device named '%s' is configured.", name);

        pw = getpwuid((uid_t) uid);
        r = caller_user_groups(pw, &gids, &n_gids);
        if (r < 0)
                return r;
        target = device_to_acl(d, topic);
        allowed = acl_check(m->acl,
                            &(AclCaller) {
                                    .uid = (uid_t) uid,
                                    .user = pw ? pw->pw_name : NULL,
                                    .gids = gids,
                                    .n_gids = n_gids,
                                    .unit = isempty(unit) ? NULL : unit,
                            },
                            &target, &rule, &location);
        return sd_bus_reply_method_return(msg, "bss", allowed, rule, location);
}

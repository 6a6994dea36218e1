/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Administrative D-Bus methods; see bus-admin.h. AddDevice lives in bus-add-device.c. */
#include <stdio.h>

#include "bus-admin.h"
#include "bus-errors.h"
#include "caller.h"
#include "conf-dir.h"
#include "log.h"
#include "manager-devices.h"
#include "manager.h"
#include "transport.h"

bool bus_caller_is_admin(Manager *m, const Caller *c) {
        return c->uid == 0 || (m->have_admin_gid && caller_in_group(c, m->admin_gid));
}

int bus_require_admin(Manager *m, sd_bus_message *msg, const char *what, sd_bus_error *error) {
        const Caller *c;
        bool ok;
        int r;

        r = caller_cache_get(m->callers, msg, &c);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
                                         "Cannot identify the caller, so %s is refused.", what);
        ok = bus_caller_is_admin(m, c);
        if (!ok)
                return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED, "Only root%s%s may %s.",
                                         m->have_admin_gid ? " and members of group " : "",
                                         m->have_admin_gid ? m->config.admin_group : "", what);
        return 0;
}

int bus_method_remove_device(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *path = NULL;
        Manager *m = userdata;
        const char *name;
        uint64_t n = 0;
        Device *d;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = bus_require_admin(m, msg, "remove devices", error);
        if (r < 0)
                return r;
        d = manager_find_device(m, name);
        if (!d)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE, "No device named '%s' is configured.", name);
        path = strdup(d->identity->path);
        if (!path)
                return -ENOMEM;
        if (unlink(path) < 0 && errno != ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_STORAGE, "Cannot delete %s: %s", path, strerror(errno));
        /* Nobody can deliver them any more: say so to each publisher rather than keep them forever. */
        r = transport_fail_queued(d->transport, "device removed", &n);
        if (r < 0)
                log_device_error_errno(name, r, "Cannot fail the queued messages: %m");
        transport_token_forget(d->transport);
        log_device_notice(name, "Removed by an administrator; %" PRIu64 " queued message(s) failed.", n);
        manager_devices_remove(m, d);
        return sd_bus_reply_method_return(msg, NULL);
}

int bus_method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = bus_require_admin(m, msg, "reload the configuration", error);
        if (r < 0)
                return r;
        r = manager_reload(m, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, NULL);
}

int bus_method_purge_failed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uint64_t n = 0;
        int r;

        r = bus_require_admin(m, msg, "empty the failed list", error);
        if (r < 0)
                return r;
        r = outbox_purge_failed(m->outbox, &n);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_STORAGE, "Cannot empty the failed list: %s", strerror(-r));
        log_notice("An administrator removed %" PRIu64 " message(s) from the failed list.", n);
        return sd_bus_reply_method_return(msg, "t", n);
}

typedef struct Problems {
        sd_bus_message *reply;
        const char *location;
        int error;
} Problems;

static void on_problem(void *userdata, const char *message) {
        Problems *p = userdata;

        if (p->error >= 0)
                p->error = sd_bus_message_append(p->reply, "(ss)", p->location, message);
}

static void on_acl_problem(void *userdata, const char *location, const char *problem) {
        Problems *p = userdata;

        if (p->error >= 0)
                p->error = sd_bus_message_append(p->reply, "(ss)", location, problem);
}

static void check_devices(Manager *m, Problems *p) {
        _cleanup_free_ char *dir = NULL;
        char **paths = NULL;

        if (asprintf(&dir, "%s/devices", m->config_dir) < 0)
                return;
        p->location = dir;
        if (conf_dir_check(dir, SAFE_FILE_TRUSTED | SAFE_FILE_DAEMON) < 0 || conf_dir_list(dir, &paths) == -ENOMEM)
                return;
        for (char **path = paths; path && *path; path++) {
                Identity *id = NULL;

                p->location = *path;
                if (identity_load(*path, getenv("CREDENTIALS_DIRECTORY"), &id) >= 0)
                        identity_free(id);
        }
        conf_dir_list_free(paths);
}

int bus_method_check_configuration(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *conf = NULL;
        Manager *m = userdata;
        Problems p = {};
        Acl *acl = NULL;
        Config c;
        int r;

        r = bus_require_admin(m, msg, "check the configuration", error);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r < 0 || asprintf(&conf, "%s/iotpubd.conf", m->config_dir) < 0)
                return r < 0 ? r : -ENOMEM;

        /* The loaders log each problem with file and line; collect exactly those lines. */
        p.reply = reply;
        log_set_capture(on_problem, &p);
        config_defaults(&c);
        p.location = conf;
        (void) config_load(conf, &c);
        log_set_capture(NULL, NULL);
        /* Rule problems come with their own FILE:LINE location. */
        if (acl_load(m->config_dir, on_acl_problem, &p, &acl) >= 0)
                acl_free(acl);
        log_set_capture(on_problem, &p);
        check_devices(m, &p);
        log_set_capture(NULL, NULL);
        if (p.error < 0)
                return p.error;

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_device_method_reauthenticate(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Device *d = userdata;
        int r;

        r = bus_require_admin(d->manager, msg, "force re-authentication", error);
        if (r < 0)
                return r;
        log_device_info(device_name(d), "Re-authentication requested by an administrator.");
        transport_reauthenticate(d->transport);
        return sd_bus_reply_method_return(msg, NULL);
}

int bus_device_method_flush(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Device *d = userdata;
        int r;

        r = bus_require_admin(d->manager, msg, "flush a device's queue", error);
        if (r < 0)
                return r;
        transport_flush(d->transport);
        return sd_bus_reply_method_return(msg, NULL);
}

int bus_device_method_purge(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Device *d = userdata;
        uint64_t n = 0;
        int r;

        r = bus_require_admin(d->manager, msg, "purge a device's queue", error);
        if (r < 0)
                return r;
        r = transport_fail_queued(d->transport, "purged", &n);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_STORAGE, "Cannot purge the queue: %s", strerror(-r));
        log_device_notice(device_name(d), "Purged %" PRIu64 " queued message(s) on an administrator's request.", n);
        return sd_bus_reply_method_return(msg, "t", n);
}

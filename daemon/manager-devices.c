/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading, reloading, adding and removing devices; see manager-devices.h. */
#include <stdio.h>

#include "conf-dir.h"
#include "log.h"
#include "manager-devices.h"

static Device *find_cloud_identity(Manager *m, const Identity *id, const Device *except) {
        for (size_t i = 0; i < m->n_devices; i++)
                if (m->devices[i] != except && streq(m->devices[i]->identity->product_key, id->product_key) &&
                    streq(m->devices[i]->identity->device_name, id->device_name))
                        return m->devices[i];
        return NULL;
}

int manager_devices_add(Manager *m, Identity *id, Device **ret) {
        Device *d, *other, **a;
        int r;

        if (manager_find_device(m, id->name))
                return -EEXIST;
        other = find_cloud_identity(m, id, NULL);
        if (other)
                return log_error_errno(EEXIST, "%s: ProductKey %s and DeviceName %s are already used by device '%s'; ignoring.",
                                       id->path, id->product_key, id->device_name, device_name(other));
        a = reallocarray(m->devices, m->n_devices + 1, sizeof(Device *));
        if (!a)
                return log_oom();
        m->devices = a;
        r = device_new(m, id, &d);
        if (r < 0)
                return log_error_errno(r, "%s: cannot set up the device: %m", id->path);
        m->devices[m->n_devices++] = d;
        log_device_info(device_name(d), "Loaded identity %s/%s, transport %s, endpoint %s.", id->product_key,
                        id->device_name, transport_kind_to_string(id->transport), id->endpoint);
        if (m->bus && m->ready)
                (void) sd_bus_emit_object_added(m->bus, d->object_path);
        device_kick(d);
        if (ret)
                *ret = d;
        return 0;
}

void manager_devices_remove(Manager *m, Device *d) {
        for (size_t i = 0; i < m->n_devices; i++)
                if (m->devices[i] == d) {
                        memmove(m->devices + i, m->devices + i + 1, (m->n_devices - i - 1) * sizeof(Device *));
                        m->n_devices--;
                        break;
                }
        if (m->bus && m->ready)
                (void) sd_bus_emit_object_removed(m->bus, d->object_path);
        log_device_info(device_name(d), "Removed; %" PRIu64 " message(s) of it remain queued.",
                        outbox_device_count(m->outbox, device_name(d)));
        device_free(d);
}

/* One file: add it, keep the running device if it is unchanged, or replace it. Returns false if the file was
 * refused (logged with file and line). */
static bool load_one(Manager *m, const char *path, const char *name) {
        _cleanup_(identity_freep) Identity *id = NULL;
        Device *old = manager_find_device(m, name);

        if (identity_load(path, getenv("CREDENTIALS_DIRECTORY"), &id) < 0)
                return false; /* a running device of that name stays as it was */
        if (old && identity_equal(old->identity, id))
                return true;
        if (old) {
                log_device_info(name, "Identity changed, restarting its session.");
                manager_devices_remove(m, old);
        }
        if (manager_devices_add(m, id, NULL) < 0)
                return false;
        TAKE_PTR(id);
        return true;
}

/* Whether name (a device) still has a file, loadable or not. */
static bool listed(char **paths, const char *name) {
        size_t l = strlen(name);

        for (char **p = paths; *p; p++) {
                const char *base = strrchr(*p, '/') + 1;

                if (strncmp(base, name, l) == 0 && streq(base + l, ".conf"))
                        return true;
        }
        return false;
}

int manager_devices_load(Manager *m) {
        _cleanup_free_ char *dir = NULL;
        char **paths = NULL;
        int n, refused = 0;

        if (asprintf(&dir, "%s/devices", m->config_dir) < 0)
                return log_oom();
        /* Refused like each of its files would be: the running devices stay as they are. */
        if (conf_dir_check(dir, SAFE_FILE_TRUSTED | SAFE_FILE_DAEMON) < 0)
                return 1;
        n = conf_dir_list(dir, &paths);
        if (n == -ENOENT)
                log_notice("No identities: %s does not exist.", dir);
        else if (n < 0)
                return log_error_errno(n, "Cannot read %s: %m", dir);
        for (size_t i = m->n_devices; i > 0; i--)
                if (!listed(paths, device_name(m->devices[i - 1])))
                        manager_devices_remove(m, m->devices[i - 1]);
        for (char **p = paths; *p; p++) {
                const char *base = strrchr(*p, '/') + 1;
                _cleanup_free_ char *name = strndup(base, strlen(base) - 5);

                if (!name || !load_one(m, *p, name))
                        refused++;
        }
        conf_dir_list_free(paths);
        log_info("Serving %zu device(s).", m->n_devices);
        return refused;
}

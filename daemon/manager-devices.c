/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading, reloading, adding and removing devices; see manager-devices.h. */
#include <dirent.h>
#include <stdio.h>

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

static int conf_filter(const struct dirent *de) {
        size_t n = strlen(de->d_name);

        return de->d_name[0] != '.' && n > 5 && streq(de->d_name + n - 5, ".conf");
}

/* One file: add it, keep the running device if it is unchanged, or replace it. */
static void load_one(Manager *m, const char *path, const char *name) {
        _cleanup_(identity_freep) Identity *id = NULL;
        Device *old = manager_find_device(m, name);

        if (identity_load(path, getenv("CREDENTIALS_DIRECTORY"), &id) < 0)
                return; /* logged with file and line; a running device of that name stays as it was */
        if (old && identity_equal(old->identity, id))
                return;
        if (old) {
                log_device_info(name, "Identity changed, restarting its session.");
                manager_devices_remove(m, old);
        }
        if (manager_devices_add(m, id, NULL) >= 0)
                TAKE_PTR(id);
}

/* Whether name (a device) still has a file, loadable or not. */
static bool listed(struct dirent **list, int n, const char *name) {
        size_t l = strlen(name);

        for (int i = 0; i < n; i++)
                if (strncmp(list[i]->d_name, name, l) == 0 && streq(list[i]->d_name + l, ".conf"))
                        return true;
        return false;
}

int manager_devices_load(Manager *m) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **list = NULL;
        int n;

        if (asprintf(&dir, "%s/devices", m->config_dir) < 0)
                return log_oom();
        n = scandir(dir, &list, conf_filter, alphasort);
        if (n < 0 && errno != ENOENT)
                return log_error_errno(errno, "Cannot read %s: %m", dir);
        if (n < 0) {
                log_notice("No identities: %s does not exist.", dir);
                n = 0;
        }
        for (size_t i = m->n_devices; i > 0; i--)
                if (!listed(list, n, device_name(m->devices[i - 1])))
                        manager_devices_remove(m, m->devices[i - 1]);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL, *name = NULL;

                name = strndup(list[i]->d_name, strlen(list[i]->d_name) - 5);
                if (name && asprintf(&path, "%s/%s", dir, list[i]->d_name) >= 0)
                        load_one(m, path, name);
        }
        for (int i = 0; i < n; i++)
                free(list[i]);
        free(list);
        log_info("Serving %zu device(s).", m->n_devices);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager.AddDevice: validates the settings, takes the secret as bytes or from a file descriptor, writes
 * CONFIG/devices/NAME.conf atomically (mode 0640) and loads it through the same path as at start. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "bus-admin.h"
#include "bus-errors.h"
#include "log.h"
#include "manager-devices.h"
#include "manager.h"

#define SECRET_MAX 64

static const char *const setting_keys[] = {
        "ProductKey", "DeviceName", "Transport", "Endpoint", "SignMethod", "ClientId", "CAFile", "PSKSignMethod",
        "PayloadEncoding",
};

typedef struct NewDevice {
        const char *values[ELEMENTSOF(setting_keys)];
        char secret[SECRET_MAX + 1];
        bool have_secret;
} NewDevice;

static bool value_is_safe(const char *v) {
        size_t n = strlen(v);

        /* Values go into an INI file: one line, no surrounding blanks, printable. */
        if (n == 0 || n > 255 || v[0] == ' ' || v[n - 1] == ' ')
                return false;
        for (const char *p = v; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static int secret_set(NewDevice *nd, const void *data, size_t len, sd_bus_error *error) {
        const char *s = data;

        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
                len--;
        if (nd->have_secret)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Give the secret once: Secret or SecretFd.");
        if (len == 0 || len > SECRET_MAX)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "The secret must be 1-64 characters.");
        for (size_t i = 0; i < len; i++)
                if (s[i] < 0x21 || s[i] > 0x7e)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "The secret must be printable ASCII without spaces.");
        memcpy(nd->secret, s, len);
        nd->secret[len] = 0;
        nd->have_secret = true;
        return 0;
}

static int secret_from_fd(NewDevice *nd, int fd, sd_bus_error *error) {
        char buf[SECRET_MAX + 3];
        struct stat st;
        ssize_t n;
        int r;

        /* Only regular files (memfds included): reading them cannot block the daemon. */
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                         "SecretFd must refer to a regular file or a memfd.");
        n = pread(fd, buf, sizeof(buf), 0);
        if (n < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Cannot read SecretFd: %s", strerror(errno));
        r = secret_set(nd, buf, (size_t) n, error);
        explicit_bzero(buf, sizeof(buf));
        return r;
}

static int read_setting(sd_bus_message *msg, NewDevice *nd, const char *key, sd_bus_error *error) {
        const char *contents = NULL, *s;
        const void *data;
        size_t len;
        int fd, r;

        r = sd_bus_message_peek_type(msg, NULL, &contents);
        if (r < 0)
                return r;
        if (streq(key, "Secret") || streq(key, "SecretFd")) {
                if (!streq(contents, streq(key, "Secret") ? "ay" : "h"))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "%s must be of type %s.", key,
                                                 streq(key, "Secret") ? "ay" : "h");
                r = sd_bus_message_enter_container(msg, 'v', contents);
                if (r < 0)
                        return r;
                if (streq(key, "Secret")) {
                        r = sd_bus_message_read_array(msg, 'y', &data, &len);
                        r = r < 0 ? r : secret_set(nd, data, len, error);
                } else {
                        r = sd_bus_message_read(msg, "h", &fd);
                        r = r < 0 ? r : secret_from_fd(nd, fd, error);
                }
                return r < 0 ? r : sd_bus_message_exit_container(msg);
        }
        for (size_t i = 0; i < ELEMENTSOF(setting_keys); i++) {
                if (!streq(key, setting_keys[i]))
                        continue;
                if (!streq(contents, "s"))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "%s must be a string.", key);
                r = sd_bus_message_read(msg, "v", "s", &s);
                if (r < 0)
                        return r;
                if (!value_is_safe(s))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "%s must be 1-255 printable characters on one line.", key);
                nd->values[i] = s;
                return 0;
        }
        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                 "Unknown setting '%s'; known: ProductKey, DeviceName, Transport, Endpoint, "
                                 "SignMethod, ClientId, CAFile, PSKSignMethod, PayloadEncoding, Secret (ay), SecretFd (h).", key);
}

static int read_settings(sd_bus_message *msg, NewDevice *nd, sd_bus_error *error) {
        const char *key;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                r = sd_bus_message_read(msg, "s", &key);
                if (r >= 0)
                        r = read_setting(msg, nd, key, error);
                if (r >= 0)
                        r = sd_bus_message_exit_container(msg);
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        if (!nd->values[0] || !nd->values[1])
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "ProductKey and DeviceName are required.");
        if (!nd->have_secret)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                         "A secret is required: Secret (ay) or SecretFd (h).");
        return 0;
}

/* Writes the identity file atomically; the secret only ever sits in buffers that are wiped. */
static int write_identity(Manager *m, const char *name, const NewDevice *nd, char **ret_path) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *tmp = NULL, *text = NULL;
        _cleanup_close_ int fd = -1;
        size_t len = 0;
        FILE *f;
        int r = 0;

        if (asprintf(&dir, "%s/devices", m->config_dir) < 0 || asprintf(&path, "%s/%s.conf", dir, name) < 0 ||
            asprintf(&tmp, "%s/.%s.conf.tmp", dir, name) < 0)
                return -ENOMEM;
        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                return -errno;
        f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fputs("# Written by iotpubd (AddDevice).\n[Device]\n", f);
        for (size_t i = 0; i < ELEMENTSOF(setting_keys); i++)
                if (nd->values[i])
                        fprintf(f, "%s=%s\n", setting_keys[i], nd->values[i]);
        fprintf(f, "Secret=%s\n", nd->secret);
        if (fclose(f) != 0)
                return -ENOMEM;

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                r = -errno;
        else if (fchmod(fd, 0640) < 0 || write(fd, text, len) != (ssize_t) len || fsync(fd) < 0)
                r = errno > 0 ? -errno : -EIO;
        else if (rename(tmp, path) < 0)
                r = -errno;
        explicit_bzero(text, len);
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}

int bus_method_add_device(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *path = NULL;
        Manager *m = userdata;
        NewDevice nd = {};
        Identity *id = NULL;
        char problem[LOG_CAPTURE_MAX] = "";
        const char *name;
        Device *d;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = bus_require_admin(m, msg, "add devices", error);
        if (r < 0)
                return r;
        if (!identity_name_is_valid(name))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                         "Device names are 1-64 characters of [A-Za-z0-9_-].");
        if (manager_find_device(m, name))
                return sd_bus_error_setf(error, BUS_ERROR_DEVICE_EXISTS, "A device named '%s' exists already.", name);

        r = read_settings(msg, &nd, error);
        if (r >= 0) {
                r = write_identity(m, name, &nd, &path);
                if (r < 0)
                        sd_bus_error_setf(error, BUS_ERROR_STORAGE, "Cannot write the identity file: %s", strerror(-r));
        }
        explicit_bzero(nd.secret, sizeof(nd.secret));
        if (r < 0)
                return r;

        /* Validated exactly as at start; on failure nothing is left behind. */
        log_set_capture(log_capture_first, problem);
        r = identity_load(path, NULL, &id);
        log_set_capture(NULL, NULL);
        if (r >= 0) {
                r = manager_devices_add(m, id, &d);
                if (r < 0) {
                        identity_free(id);
                        (void) snprintf(problem, sizeof(problem), "ProductKey and DeviceName are used by another device");
                }
        }
        if (r < 0) {
                (void) unlink(path);
                return sd_bus_error_setf(error, r == -EEXIST ? BUS_ERROR_DEVICE_EXISTS : BUS_ERROR_INVALID_ARGUMENT,
                                         "The device was not added: %s", problem[0] ? problem : strerror(-r));
        }
        log_device_notice(name, "Added by an administrator.");
        return sd_bus_reply_method_return(msg, "o", d->object_path);
}

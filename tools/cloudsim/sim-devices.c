/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Devices-file parser: strict about field count, length, characters and duplicates, and names the line
 * at fault. The secret never appears in a message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "sim-devices.h"

#define FIELD_SEPARATORS " \t\r\n"

static void device_done(SimDevice *d) {
        free(d->product_key);
        free(d->device_name);
        erase_and_free(d->secret);
        *d = (SimDevice) {};
}

SimDevices *sim_devices_free(SimDevices *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_devices; i++)
                device_done(&d->devices[i]);
        free(d->devices);
        free(d);
        return NULL;
}

const SimDevice *sim_devices_find(const SimDevices *d, const char *product_key, const char *device_name) {
        for (size_t i = 0; i < d->n_devices; i++)
                if (streq(d->devices[i].product_key, product_key) &&
                    streq(d->devices[i].device_name, device_name))
                        return &d->devices[i];
        return NULL;
}

static bool field_printable(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s <= 0x20 || (unsigned char) *s >= 0x7f)
                        return false;
        return true;
}

/* Splits line into at most 4 fields (a 4th means too many), stopping at a field that starts with '#'. */
static size_t split_fields(char *line, char *fields[static 4]) {
        char *save = NULL;
        size_t n = 0;

        for (char *f = strtok_r(line, FIELD_SEPARATORS, &save); f && n < 4;
             f = strtok_r(NULL, FIELD_SEPARATORS, &save)) {
                if (f[0] == '#')
                        break;
                fields[n++] = f;
        }
        return n;
}

static int check_fields(char *fields[static 3], const char *name, unsigned line) {
        static const struct {
                const char *what;
                size_t max;
        } limits[3] = {
                { "productKey", SIM_DEVICE_PRODUCT_KEY_MAX },
                { "deviceName", SIM_DEVICE_NAME_MAX },
                { "deviceSecret", SIM_DEVICE_SECRET_MAX },
        };

        for (size_t i = 0; i < 3; i++) {
                if (strlen(fields[i]) > limits[i].max)
                        return log_error_errno(EINVAL, "%s:%u: %s is longer than %zu characters.", name, line,
                                               limits[i].what, limits[i].max);
                if (!field_printable(fields[i]))
                        return log_error_errno(EINVAL, "%s:%u: %s contains a non-printable or non-ASCII byte.",
                                               name, line, limits[i].what);
        }
        return 0;
}

static int add_device(SimDevices *d, char *fields[static 3]) {
        SimDevice *array, dev;

        array = reallocarray(d->devices, d->n_devices + 1, sizeof(SimDevice));
        if (!array)
                return -ENOMEM;
        d->devices = array;

        dev = (SimDevice) {
                .product_key = strdup(fields[0]),
                .device_name = strdup(fields[1]),
                .secret = strdup(fields[2]),
        };
        if (!dev.product_key || !dev.device_name || !dev.secret) {
                device_done(&dev);
                return -ENOMEM;
        }
        d->devices[d->n_devices++] = dev;
        return 0;
}

static int parse_line(SimDevices *d, char *text, const char *name, unsigned line) {
        char *fields[4];
        size_t n;
        int r;

        n = split_fields(text, fields);
        if (n == 0)
                return 0;
        if (n != 3)
                return log_error_errno(EINVAL, "%s:%u: expected \"productKey deviceName deviceSecret\", got %s.",
                                       name, line, n < 3 ? "too few fields" : "too many fields");

        r = check_fields(fields, name, line);
        if (r < 0)
                return r;
        if (sim_devices_find(d, fields[0], fields[1]))
                return log_error_errno(EINVAL, "%s:%u: duplicate device %s/%s.", name, line, fields[0],
                                       fields[1]);
        return add_device(d, fields);
}

int sim_devices_parse(FILE *f, const char *name, SimDevices **ret) {
        _cleanup_(sim_devices_freep) SimDevices *d = NULL;
        char *buf = NULL;
        size_t size = 0;
        unsigned line = 0;
        int r = 0;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;

        while (getline(&buf, &size, f) >= 0) {
                r = parse_line(d, buf, name, ++line);
                if (r < 0)
                        break;
        }
        if (r >= 0 && ferror(f))
                r = log_error_errno(EIO, "%s: read error.", name);
        erase_and_free_sized(buf, size);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(d);
        return 0;
}

int sim_devices_load(const char *path, SimDevices **ret) {
        FILE *f;
        int r;

        f = fopen(path, "re");
        if (!f)
                return log_error_errno(errno, "Cannot open devices file %s: %m", path);
        r = sim_devices_parse(f, path, ret);
        fclose(f);
        return r;
}

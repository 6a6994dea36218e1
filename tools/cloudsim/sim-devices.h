/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The emulator's devices file: one "productKey deviceName deviceSecret" per line, whitespace-separated;
 * blank lines and lines or trailing fields starting with '#' are ignored. Secrets are wiped on free. */
#pragma once

#include <stddef.h>
#include <stdio.h>

#define SIM_DEVICE_PRODUCT_KEY_MAX 32
#define SIM_DEVICE_NAME_MAX 64
#define SIM_DEVICE_SECRET_MAX 64        /* the SDK's HMAC key limit (PROTOCOL.md A.4) */

typedef struct SimDevice {
        char *product_key;
        char *device_name;
        char *secret;
} SimDevice;

typedef struct SimDevices {
        SimDevice *devices;
        size_t n_devices;
} SimDevices;

/* Parses f; name is used in messages ("name:line: ..."). A malformed line is logged at error level and
 * gives -EINVAL; -ENOMEM and read errors are passed on. */
int sim_devices_parse(FILE *f, const char *name, SimDevices **ret);
/* Opens path and parses it. Returns what sim_devices_parse() does, or -errno from fopen(), logged. */
int sim_devices_load(const char *path, SimDevices **ret);
SimDevices *sim_devices_free(SimDevices *d);
static inline void sim_devices_freep(SimDevices **d) {
        sim_devices_free(*d);
}

const SimDevice *sim_devices_find(const SimDevices *d, const char *product_key, const char *device_name);

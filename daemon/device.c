/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device: an identity with its transport, state and counters; see device.h. */
#include <systemd/sd-bus.h>

#include "device.h"
#include "log.h"
#include "manager.h"
#include "netmon.h"
#include "transport.h"

static const char *const device_state_table[_DEVICE_STATE_MAX] = {
        [DEVICE_OFFLINE] = "offline",
        [DEVICE_IDLE] = "idle",
        [DEVICE_AUTHENTICATING] = "authenticating",
        [DEVICE_SENDING] = "sending",
        [DEVICE_BACKOFF] = "backoff",
        [DEVICE_ERROR] = "error",
        [DEVICE_WAITING_FOR_CLOCK] = "waiting-for-clock",
};

const char *device_state_to_string(DeviceState s) {
        if (s < 0 || s >= _DEVICE_STATE_MAX)
                return NULL;
        return device_state_table[s];
}

int device_new(Manager *m, Identity *id, Device **ret) {
        _cleanup_(device_freep) Device *d = NULL;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->manager = m;
        d->identity = id;
        d->state = DEVICE_IDLE;
        d->loopback_endpoint = netmon_endpoint_is_loopback(id->endpoint);
        r = sd_bus_path_encode("/org/iotpub1/device", id->name, &d->object_path);
        if (r < 0) {
                d->identity = NULL;
                return r;
        }
        r = transport_new(d, &d->transport);
        if (r < 0) {
                d->identity = NULL; /* still the caller's */
                return r;
        }
        *ret = TAKE_PTR(d);
        return 0;
}

Device *device_free(Device *d) {
        if (!d)
                return NULL;
        transport_free(d->transport);
        identity_free(d->identity);
        free(d->object_path);
        free(d->last_error);
        free(d);
        return NULL;
}

AclTarget device_to_acl(const Device *d, const char *topic) {
        return (AclTarget) {
                .device = device_name(d),
                .product_key = d->identity->product_key,
                .device_name = d->identity->device_name,
                .topic = topic,
        };
}

void device_property_changed(Device *d, DeviceProperty p) {
        d->changed |= p;
        manager_schedule_changed(d->manager);
}

void device_set_state(Device *d, DeviceState s) {
        if (d->state == s)
                return;
        log_device_debug(device_name(d), "State %s -> %s", device_state_to_string(d->state), device_state_to_string(s));
        d->state = s;
        device_property_changed(d, DEVICE_PROP_STATE);
}

void device_set_last_error(Device *d, const char *error) {
        if (streq_ptr(d->last_error, error))
                return;
        if (free_and_strdup(&d->last_error, error) < 0)
                return;
        device_property_changed(d, DEVICE_PROP_LAST_ERROR);
}

void device_set_token_expiry(Device *d, uint64_t usec) {
        if (d->token_expires_usec == usec)
                return;
        d->token_expires_usec = usec;
        device_property_changed(d, DEVICE_PROP_TOKEN_EXPIRES_AT);
}

size_t device_max_payload(Device *d, const char *topic) {
        return transport_max_payload(d->identity, topic);
}

void device_kick(Device *d) {
        transport_kick(d->transport);
}

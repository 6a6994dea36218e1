/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A Device is one configured identity at run time: its transport, state, last error and counters, exposed on
 * the bus as /org/iotpub1/device/<name>. */
#pragma once

#include <errno.h>
#include <stdint.h>

#include "acl.h"
#include "identity.h"
#include "macro.h"

typedef struct Manager Manager;
typedef struct Transport Transport;

typedef enum DeviceState {
        DEVICE_OFFLINE,
        DEVICE_IDLE,
        DEVICE_AUTHENTICATING,
        DEVICE_SENDING,
        DEVICE_BACKOFF,
        DEVICE_ERROR,
        DEVICE_WAITING_FOR_CLOCK,  /* verifies certificates, and the wall clock is wrong (clock.h) */
        _DEVICE_STATE_MAX,
        _DEVICE_STATE_INVALID = -EINVAL,
} DeviceState;

const char *device_state_to_string(DeviceState s);

/* Bits for coalesced PropertiesChanged signals. */
typedef enum DeviceProperty {
        DEVICE_PROP_STATE = 1u << 0,
        DEVICE_PROP_LAST_ERROR = 1u << 1,
        DEVICE_PROP_TOKEN_EXPIRES_AT = 1u << 2,
        DEVICE_PROP_QUEUE = 1u << 3,
        DEVICE_PROP_COUNTERS = 1u << 4,         /* the counters that move with every message */
        DEVICE_PROP_UNREADABLE_REPLIES = 1u << 5, /* rarely moves: not carried in every counters signal */
} DeviceProperty;

typedef struct DeviceCounters {
        uint64_t messages_sent;
        uint64_t messages_failed;
        uint64_t retries;
        uint64_t reauthentications;
        uint64_t bytes_out;
        uint64_t bytes_in;
        uint64_t unreadable_replies;
} DeviceCounters;

typedef struct Device {
        Manager *manager;
        Identity *identity;
        char *object_path;
        Transport *transport;
        DeviceState state;
        char *last_error;
        uint64_t token_expires_usec;
        DeviceCounters counters;
        unsigned changed; /* DeviceProperty bits not yet signalled */
        bool loopback_endpoint; /* needs no uplink (see netmon_endpoint_is_loopback()) */
} Device;

/* Takes ownership of id on success. */
int device_new(Manager *m, Identity *id, Device **ret);
Device *device_free(Device *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Device *, device_free);

static inline const char *device_name(const Device *d) {
        return d->identity->name;
}

/* What access rules match for a message to topic on this device. */
AclTarget device_to_acl(const Device *d, const char *topic);

void device_set_state(Device *d, DeviceState s);
void device_set_last_error(Device *d, const char *error);
void device_set_token_expiry(Device *d, uint64_t usec);
void device_property_changed(Device *d, DeviceProperty p);

/* Largest payload Publish accepts for this device and topic (one message of its transport). */
size_t device_max_payload(Device *d, const char *topic);

/* New messages were committed for this device: start draining if idle. */
void device_kick(Device *d);

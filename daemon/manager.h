/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager owns the event loop, the bus connection, the outbox, the CoAP context and every Device. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "acl.h"
#include "caller-cache.h"
#include "clock-watch.h"
#include "coap-glue.h"
#include "config.h"
#include "device.h"
#include "netmon.h"
#include "expiry.h"
#include "reserve.h"
#include "outbox.h"

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        char *bus_address;       /* NULL: the system bus */
        char bus_id[SD_ID128_STRING_MAX]; /* the bus instance: receipts go only to publishers on this one */
        char *config_dir;
        char *state_dir;
        Config config;
        Acl *acl;
        CallerCache *callers;
        gid_t admin_gid;         /* valid if have_admin_gid */
        bool have_admin_gid;
        Outbox *outbox;
        Expiry *expiry;
        ClockWatch *clock;       /* the wall clock's verdict (clock.h) */
        char boot_id[SD_ID128_STRING_MAX]; /* TTL deadlines count in this boot's CLOCK_BOOTTIME (expiry.h) */
        Reserve *reserve;
        CoapGlue *coap;
        Device **devices;        /* sorted by name */
        size_t n_devices;
        Netmon *netmon;          /* NULL if the network cannot be watched: then always online */
        bool online;             /* an uplink exists */
        bool ready;
        bool queue_changed;      /* QueueMessages/QueueBytes not yet signalled */
        bool online_changed;     /* Online not yet signalled */
        sd_event_source *changed_source;
        sd_event_source *changed_timer; /* a rate-limited PropertiesChanged that is due later */
        uint64_t changed_usec;          /* when PropertiesChanged went out last (CLOCK_MONOTONIC) */
        sd_bus_slot *name_slot;
} Manager;

typedef struct ManagerArgs {
        const char *bus_address;
        const char *config_dir;
        const char *state_dir;
} ManagerArgs;

int manager_new(const ManagerArgs *args, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Loads configuration and identities, opens the outbox, connects to the bus and requests the name. READY=1 is
 * sent once the name is owned. */
int manager_start(Manager *m);
int manager_run(Manager *m);

Device *manager_find_device(Manager *m, const char *name);

/* Re-reads iotpubd.conf, the access rules and the identities. A malformed iotpubd.conf or rule file is
 * refused (error set to org.iotpub1.Error.InvalidConfiguration naming file and line) and the previous one
 * stays in force. The outbox and messages in flight are untouched. */
int manager_reload(Manager *m, sd_bus_error *error);

/* Coalesces PropertiesChanged emission to once per event loop iteration. */
void manager_schedule_changed(Manager *m);

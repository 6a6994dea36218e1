/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.iotpub1.Manager on /org/iotpub1: Publish, queue properties, and the unicast Delivered/Failed signals. */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

typedef struct Manager Manager;
typedef struct Device Device;
typedef struct OutboxEntry OutboxEntry;

int bus_manager_register(Manager *m);

/* Reads "ay a{sv}" from msg (positioned after the topic), validates, and queues the message for d. Returns 1
 * when the reply will be sent after the commit, or a negative errno with error set. */
int bus_manager_publish(Manager *m, Device *d, sd_bus_message *msg, const char *topic, sd_bus_error *error);

/* Delivered/Failed for e, unicast to the connection that published it, only if that connection is still on the
 * same bus instance and runs as the publisher's uid. */
void bus_manager_emit_delivered(Manager *m, const OutboxEntry *e, const char *cloud_id);
void bus_manager_emit_failed(Manager *m, const OutboxEntry *e, const char *reason);

void bus_manager_emit_changed(Manager *m);
void bus_manager_emit_online_changed(Manager *m);

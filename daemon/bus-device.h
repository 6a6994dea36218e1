/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.iotpub1.Device objects under /org/iotpub1/device/, one per configured identity. */
#pragma once

typedef struct Manager Manager;
typedef struct Device Device;

int bus_device_register(Manager *m);

/* Sends PropertiesChanged for the properties marked in d->changed, and clears the marks. */
void bus_device_emit_changed(Device *d);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* D-Bus error names of iotpubd (org.iotpub1.Error.*) and their errno mapping. */
#pragma once

#include <systemd/sd-bus.h>

#define BUS_ERROR_NO_SUCH_DEVICE "org.iotpub1.Error.NoSuchDevice"
#define BUS_ERROR_ACCESS_DENIED "org.iotpub1.Error.AccessDenied"
#define BUS_ERROR_INVALID_TOPIC "org.iotpub1.Error.InvalidTopic"
#define BUS_ERROR_PAYLOAD_TOO_LARGE "org.iotpub1.Error.PayloadTooLarge"
#define BUS_ERROR_QUEUE_FULL "org.iotpub1.Error.QueueFull"
#define BUS_ERROR_INVALID_ARGUMENT "org.iotpub1.Error.InvalidArgument"
#define BUS_ERROR_STORAGE "org.iotpub1.Error.Storage"
#define BUS_ERROR_NO_SUCH_MESSAGE "org.iotpub1.Error.NoSuchMessage"
#define BUS_ERROR_DEVICE_EXISTS "org.iotpub1.Error.DeviceExists"
#define BUS_ERROR_INVALID_CONFIGURATION "org.iotpub1.Error.InvalidConfiguration"

extern const sd_bus_error_map bus_error_map[];

/* A sentence a person can act on, for a failure to store a message (by negative errno). */
const char *bus_error_storage_message(int error);

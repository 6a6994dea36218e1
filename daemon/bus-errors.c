/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one sd_bus_error_map of iotpubd; see bus-errors.h. */
#include <errno.h>

#include "bus-errors.h"

const sd_bus_error_map bus_error_map[] = {
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_DEVICE, ENODEV),
        SD_BUS_ERROR_MAP(BUS_ERROR_ACCESS_DENIED, EACCES),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_TOPIC, EINVAL),
        SD_BUS_ERROR_MAP(BUS_ERROR_PAYLOAD_TOO_LARGE, EMSGSIZE),
        SD_BUS_ERROR_MAP(BUS_ERROR_QUEUE_FULL, ENOBUFS),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(BUS_ERROR_STORAGE, EIO),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_MESSAGE, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_DEVICE_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_CONFIGURATION, EBADMSG),
        SD_BUS_ERROR_MAP_END,
};

const char *bus_error_storage_message(int error) {
        switch (error) {
        case -ENOSPC:
                return "The message was not stored: the state directory's file system is full.";
        case -EROFS:
                return "The message was not stored: the state directory is read-only.";
        case -ENOMEM:
                return "The message was not stored: out of memory.";
        default:
                return "The message was not stored: the outbox database reported an I/O error.";
        }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* D-Bus error names (iotpubd's org.iotpub1.Error.* and the bus's own) to negative errno values. */
#include <errno.h>
#include <string.h>

#include "client.h"
#include "macro.h"

static const struct {
        const char *name;
        int error;
} error_table[] = {
        { "org.iotpub1.Error.AccessDenied", EACCES },
        { "org.iotpub1.Error.NoSuchDevice", ENODEV },
        { "org.iotpub1.Error.InvalidTopic", EINVAL },
        { "org.iotpub1.Error.PayloadTooLarge", EMSGSIZE },
        { "org.iotpub1.Error.QueueFull", ENOBUFS },
        { "org.iotpub1.Error.InvalidArgument", EINVAL },
        { "org.iotpub1.Error.NoSuchMessage", ENOENT },
        { "org.iotpub1.Error.Storage", EIO },
        { "org.iotpub1.Error.DeviceExists", EEXIST },
        { "org.iotpub1.Error.InvalidConfiguration", EBADMSG },
        { "org.freedesktop.DBus.Error.ServiceUnknown", EHOSTDOWN },
        { "org.freedesktop.DBus.Error.NameHasNoOwner", EHOSTDOWN },
        { "org.freedesktop.DBus.Error.NoReply", ETIMEDOUT },
        { "org.freedesktop.DBus.Error.Timeout", ETIMEDOUT },
        { "org.freedesktop.DBus.Error.AccessDenied", EACCES },
        { "org.freedesktop.DBus.Error.UnknownMethod", EOPNOTSUPP },
        { "org.freedesktop.DBus.Error.UnknownObject", EOPNOTSUPP },
        { "org.freedesktop.DBus.Error.UnknownInterface", EOPNOTSUPP },
        { "org.freedesktop.DBus.Error.UnknownProperty", EOPNOTSUPP },
        { "org.freedesktop.DBus.Error.InvalidArgs", EINVAL },
        { "org.freedesktop.DBus.Error.NoMemory", ENOMEM },
        { "org.freedesktop.DBus.Error.LimitsExceeded", ENOBUFS },
        { "org.freedesktop.DBus.Error.Disconnected", ECONNRESET },
};

/* Negative errno for a set error; -EIO for an unknown name (sd-bus's own errno only if it is a generic one). */
int client_error_to_errno(const sd_bus_error *e) {
        size_t i;
        int r;

        if (!sd_bus_error_is_set(e))
                return 0;
        for (i = 0; i < ELEMENTSOF(error_table); i++)
                if (streq(e->name, error_table[i].name))
                        return -error_table[i].error;
        r = sd_bus_error_get_errno(e);
        return r > 0 ? -r : -EIO;
}

/* The call failed because iotpubd was not on the bus at that moment (stopped, restarting, crashed while
 * the call was pending): worth one resend once the name has an owner again. */
bool client_error_is_service_gone(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, "org.freedesktop.DBus.Error.ServiceUnknown",
                                      "org.freedesktop.DBus.Error.NameHasNoOwner",
                                      "org.freedesktop.DBus.Error.NoReply");
}

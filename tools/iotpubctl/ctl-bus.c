/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iotpubctl's bus plumbing: connecting (--address, $IOTPUB_BUS_ADDRESS or the system bus), one method call
 * helper that turns D-Bus errors into a message and an exit status, and GetAll into a property list. */
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>

#include "ctl.h"

int ctl_bus_connect(sd_bus **ret, char **ret_error_text) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *address = arg_address ?: getenv("IOTPUB_BUS_ADDRESS");
        int r;

        if (isempty(address))
                r = sd_bus_open_system(&bus);
        else {
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_address(bus, address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, true);
                if (r >= 0)
                        r = sd_bus_negotiate_fds(bus, true);
                if (r >= 0)
                        r = sd_bus_start(bus);
        }
        if (r < 0) {
                if (ret_error_text && asprintf(ret_error_text, "cannot connect to the bus %s: %s",
                                               isempty(address) ? "(system bus)" : address, strerror(-r)) < 0)
                        *ret_error_text = NULL;
                return r;
        }
        *ret = TAKE_PTR(bus);
        return 0;
}

static bool errno_is_disconnect(int r) {
        return r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE || r == -ETIMEDOUT || r == -ECONNREFUSED;
}

static bool error_is_unreachable(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      SD_BUS_ERROR_NO_SERVER, SD_BUS_ERROR_DISCONNECTED, SD_BUS_ERROR_NO_REPLY,
                                      SD_BUS_ERROR_TIMEOUT);
}

int ctl_bus_error(const sd_bus_error *e, int r, const char *what, const char *device) {
        if (!sd_bus_error_is_set(e)) {
                if (errno_is_disconnect(r))
                        return ctl_error(CTL_EXIT_UNREACHABLE, "%s: lost the connection to the bus: %s", what,
                                         strerror(-r));
                return ctl_error(CTL_EXIT_FAILED, "%s failed: %s", what, strerror(-r));
        }
        if (sd_bus_error_has_names(e, "org.iotpub1.Error.AccessDenied", SD_BUS_ERROR_ACCESS_DENIED,
                                   SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                return ctl_error(CTL_EXIT_DENIED, "%s: access denied: %s", what, e->message ?: e->name);
        if (error_is_unreachable(e))
                return ctl_error(CTL_EXIT_UNREACHABLE, "%s: iotpubd (%s) is not reachable: %s", what, BUS_NAME,
                                 e->message ?: e->name);
        if (device && sd_bus_error_has_names(e, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE))
                return ctl_error(CTL_EXIT_FAILED, "%s: no device named '%s' (see 'iotpubctl devices').", what,
                                 device);
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_METHOD))
                return ctl_error(CTL_EXIT_FAILED, "%s: this iotpubd does not implement it (%s).", what,
                                 e->message ?: e->name);
        return ctl_error(CTL_EXIT_FAILED, "%s failed: %s", what, e->message ?: e->name);
}

int ctl_call(sd_bus *bus, const char *path, const char *iface, const char *method, const char *device,
             sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(bus, BUS_NAME, path, iface, method, &e, ret_reply, types, ap);
        va_end(ap);
        if (r < 0)
                return ctl_bus_error(&e, r, method, device);
        return CTL_EXIT_OK;
}

int ctl_device_path(const char *name, char **ret) {
        return sd_bus_path_encode(DEVICE_PREFIX, name, ret);
}

char **strv_free(char **l) {
        for (char **p = l; p && *p; p++)
                free(*p);
        free(l);
        return NULL;
}

size_t strv_length(char **l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

int ctl_list_devices(sd_bus *bus, char ***ret_names) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(strv_freep) char **names = NULL;
        const char *name;
        size_t n = 0;
        int r;

        r = ctl_call(bus, MANAGER_PATH, MANAGER_IFACE, "ListDevices", NULL, &reply, "");
        if (r != CTL_EXIT_OK)
                return r;
        names = calloc(1, sizeof(char *));
        if (!names)
                return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
        r = sd_bus_message_enter_container(reply, 'a', "(ssso)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssso)", &name, NULL, NULL, NULL)) > 0) {
                char **l = realloc(names, (n + 2) * sizeof(char *));

                if (!l)
                        return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
                names = l;
                names[n] = strdup(name);
                names[++n] = NULL;
                if (!names[n - 1])
                        return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
        }
        if (r < 0)
                return ctl_error(CTL_EXIT_FAILED, "Cannot parse the ListDevices reply: %s", strerror(-r));
        *ret_names = TAKE_PTR(names);
        return CTL_EXIT_OK;
}

int ctl_parse_u64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (isempty(s) || *s == '-' || *s == '+' || *s == ' ')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int ctl_parse_uid(const char *s, uint32_t *ret) {
        struct passwd *pw;
        uint64_t v;

        if (ctl_parse_u64(s, &v) >= 0) {
                if (v >= UINT32_MAX)
                        return -ERANGE;
                *ret = (uint32_t) v;
                return 0;
        }
        pw = getpwnam(s);
        if (!pw)
                return -ESRCH;
        *ret = pw->pw_uid;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Questions to iotpubd about one message (GetMessage) and one device identity (its ProductKey and DeviceName
 * properties); never anything secret. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "macro.h"

#define EXPORT __attribute__((visibility("default")))

static const char *const state_names[] = {
        [IOTPUB_STATE_QUEUED] = "queued",
        [IOTPUB_STATE_SENDING] = "sending",
        [IOTPUB_STATE_DELIVERED] = "delivered",
        [IOTPUB_STATE_FAILED] = "failed",
};

EXPORT const char *iotpub_state_to_string(iotpub_state state) {
        if ((unsigned) state >= ELEMENTSOF(state_names))
                return NULL;
        return state_names[state];
}

static int state_from_string(const char *s) {
        size_t i;

        for (i = 0; i < ELEMENTSOF(state_names); i++)
                if (streq(s, state_names[i]))
                        return (int) i;
        return -EBADMSG;
}

static int dup_out(const char *s, char **ret) {
        char *t;

        if (!ret)
                return 0;
        t = strdup(strempty(s));
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

EXPORT int iotpub_get_message(iotpub *c, uint64_t id, iotpub_state *ret_state, char **ret_detail) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *state, *device, *topic, *detail;
        int r, s;

        if (!c)
                return -EINVAL;
        r = client_call_method(c, IOTPUB_PATH, IOTPUB_MANAGER, "GetMessage", &reply, "t", id);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "ssss", &state, &device, &topic, &detail);
        s = r < 0 ? r : state_from_string(state);
        if (s < 0)
                return client_set_error(c, -EBADMSG, "iotpubd's reply to GetMessage is malformed.");
        r = dup_out(detail, ret_detail);
        if (r < 0)
                return client_set_error(c, r, "Out of memory.");
        if (ret_state)
                *ret_state = (iotpub_state) s;
        return 0;
}

static int get_string_property(iotpub *c, const char *path, const char *name, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *value;
        int r;

        if (!ret)
                return 0;
        r = client_call_method(c, path, "org.freedesktop.DBus.Properties", "Get", &reply, "ss", IOTPUB_DEVICE,
                               name);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "v", "s", &value);
        if (r < 0)
                return client_set_error(c, -EBADMSG, "iotpubd's %s property is malformed.", name);
        r = dup_out(value, ret);
        return r < 0 ? client_set_error(c, r, "Out of memory.") : 0;
}

EXPORT int iotpub_get_device_info(iotpub *c, const char *device, char **ret_product_key, char **ret_device_name) {
        _cleanup_free_ char *path = NULL, *pk = NULL, *dn = NULL;
        int r;

        if (!c)
                return -EINVAL;
        if (isempty(device))
                return client_set_error(c, -EINVAL, "No device name was given.");
        r = sd_bus_path_encode(IOTPUB_PATH "/device", device, &path);
        if (r < 0)
                return client_set_error(c, r, "Out of memory.");
        /* ProductKey is always asked for, so that a missing device is reported even with no out-parameter. */
        r = get_string_property(c, path, "ProductKey", &pk);
        if (r >= 0)
                r = get_string_property(c, path, "DeviceName", ret_device_name ? &dn : NULL);
        /* A device that does not exist has no object: say so as the daemon would. */
        if (r == -EOPNOTSUPP)
                r = client_set_error(c, -ENODEV, "No device named '%s' is configured.", device);
        if (r < 0)
                return r;
        if (ret_product_key)
                *ret_product_key = TAKE_PTR(pk);
        if (ret_device_name)
                *ret_device_name = TAKE_PTR(dn);
        return 0;
}

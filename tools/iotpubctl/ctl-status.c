/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Read-only overview verbs: "status" (manager properties and one line per device), "devices" (table from
 * ListDevices) and "show DEVICE" (every property of one device, Key=Value or JSON). */
#include <inttypes.h>

#include "ctl-output.h"

static int status_print_device(sd_bus *bus, const char *name, Json *j) {
        _cleanup_(properties_done) Properties p = {};
        _cleanup_free_ char *path = NULL;
        const char *err;
        int r;

        if (ctl_device_path(name, &path) < 0)
                return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
        r = ctl_get_all(bus, path, DEVICE_IFACE, name, &p);
        if (r != CTL_EXIT_OK)
                return r;
        err = properties_str(&p, "LastError");
        if (j) {
                json_begin_object(j, NULL);
                json_string(j, "Name", name);
                json_string(j, "State", properties_str(&p, "State"));
                json_string(j, "LastError", err);
                json_u64(j, "QueueMessages", properties_u64(&p, "QueueMessages"));
                json_u64(j, "MessagesSent", properties_u64(&p, "MessagesSent"));
                json_u64(j, "MessagesFailed", properties_u64(&p, "MessagesFailed"));
                json_end_object(j);
                return CTL_EXIT_OK;
        }
        printf("  %-20s %-17s queue %-6" PRIu64 " sent %-6" PRIu64 " failed %" PRIu64 "%s%s\n", name,
               properties_str(&p, "State"), properties_u64(&p, "QueueMessages"),
               properties_u64(&p, "MessagesSent"), properties_u64(&p, "MessagesFailed"),
               isempty(err) ? "" : " last error: ", err);
        return CTL_EXIT_OK;
}

static int run_status(sd_bus *bus, int argc, char **argv) {
        _cleanup_(properties_done) Properties m = {};
        _cleanup_(strv_freep) char **names = NULL;
        Json json, *j = arg_json ? &json : NULL;
        int r;

        r = ctl_get_all(bus, MANAGER_PATH, MANAGER_IFACE, NULL, &m);
        if (r == CTL_EXIT_OK)
                r = ctl_list_devices(bus, &names);
        if (r != CTL_EXIT_OK)
                return r;
        if (j) {
                json_init(j, stdout);
                json_begin_object(j, NULL);
                json_string(j, "Version", properties_str(&m, "Version"));
                json_bool(j, "Online", properties_u64(&m, "Online"));
                json_u64(j, "QueueMessages", properties_u64(&m, "QueueMessages"));
                json_u64(j, "QueueBytes", properties_u64(&m, "QueueBytes"));
                json_begin_array(j, "Devices");
        } else
                printf("Version: %s\n Online: %s\n  Queue: %" PRIu64 " messages, %" PRIu64 " bytes\n"
                       "Devices: %zu\n", properties_str(&m, "Version"),
                       properties_u64(&m, "Online") ? "yes" : "no", properties_u64(&m, "QueueMessages"),
                       properties_u64(&m, "QueueBytes"), strv_length(names));
        for (char **n = names; *n; n++) {
                r = status_print_device(bus, *n, j);
                if (r != CTL_EXIT_OK)
                        return r;
        }
        if (j) {
                json_end_array(j);
                json_end_object(j);
                json_finish(j);
        }
        return CTL_EXIT_OK;
}

static int run_devices(sd_bus *bus, int argc, char **argv) {
        static const char *const headers[] = { "NAME", "TRANSPORT", "STATE", "PATH" };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = table_new(4, headers);
        const char *name, *transport, *state, *path;
        Json j;
        int r;

        if (!t)
                return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
        r = ctl_call(bus, MANAGER_PATH, MANAGER_IFACE, "ListDevices", NULL, &reply, "");
        if (r != CTL_EXIT_OK)
                return r;
        json_init(&j, stdout);
        if (arg_json)
                json_begin_array(&j, NULL);
        r = sd_bus_message_enter_container(reply, 'a', "(ssso)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssso)", &name, &transport, &state, &path)) > 0) {
                if (arg_json) {
                        json_begin_object(&j, NULL);
                        json_string(&j, "name", name);
                        json_string(&j, "transport", transport);
                        json_string(&j, "state", state);
                        json_string(&j, "path", path);
                        json_end_object(&j);
                } else if (table_add(t, name) < 0 || table_add(t, transport) < 0 || table_add(t, state) < 0 ||
                           table_add(t, path) < 0)
                        return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
        }
        if (r < 0)
                return ctl_error(CTL_EXIT_FAILED, "Cannot parse the ListDevices reply: %s", strerror(-r));
        if (arg_json) {
                json_end_array(&j);
                json_finish(&j);
        } else
                table_print(t, arg_legend, "devices");
        return CTL_EXIT_OK;
}

static int run_show(sd_bus *bus, int argc, char **argv) {
        _cleanup_(properties_done) Properties p = {};
        _cleanup_free_ char *path = NULL;
        Json j;
        int r;

        if (ctl_device_path(argv[1], &path) < 0)
                return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
        r = ctl_get_all(bus, path, DEVICE_IFACE, argv[1], &p);
        if (r != CTL_EXIT_OK)
                return r;
        if (p.n == 0)
                return ctl_error(CTL_EXIT_FAILED, "show: no device named '%s' (see 'iotpubctl devices').",
                                 argv[1]);
        json_init(&j, stdout);
        if (arg_json) {
                json_begin_object(&j, NULL);
                json_string(&j, "Path", path);
        }
        for (size_t i = 0; i < p.n; i++) {
                if (arg_json)
                        json_property(&j, &p.items[i]);
                else {
                        printf("%s=", p.items[i].name);
                        property_print_value(&p.items[i], stdout);
                        putchar('\n');
                }
        }
        if (arg_json) {
                json_end_object(&j);
                json_finish(&j);
        }
        return CTL_EXIT_OK;
}

const Verb verb_status = {
        .name = "status", .usage = "status", .needs_bus = true, .max_args = 0, .run = run_status,
        .summary = "Show the daemon's version, connectivity, queue and each device's state",
};

const Verb verb_devices = {
        .name = "devices", .usage = "devices", .needs_bus = true, .max_args = 0, .run = run_devices,
        .summary = "List the configured devices (ListDevices)",
        .help = "Columns: NAME TRANSPORT STATE PATH. With --no-legend, one device per line without header.\n",
};

const Verb verb_show = {
        .name = "show", .usage = "show DEVICE", .needs_bus = true, .min_args = 1, .max_args = 1,
        .run = run_show,
        .summary = "Show every property of a device, as Key=Value lines",
        .help = "Prints the org.iotpub1.Device properties (state, last error, token expiry in CLOCK_REALTIME\n"
                "microseconds, counters). Never shows a secret: the daemon has no property holding one.\n",
};

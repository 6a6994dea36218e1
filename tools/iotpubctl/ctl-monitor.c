/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "monitor": one line per event: PropertiesChanged of the manager and the device objects, the daemon
 * starting or stopping, and Delivered/Failed of messages this connection published (they are unicast). */
#include <inttypes.h>
#include <signal.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "ctl-output.h"

enum {
        OPT_COUNT = OPT_VERB_BASE,
        OPT_TIMEOUT,
};

static uint64_t arg_count = 0;
static uint64_t arg_timeout_usec = 0;

typedef struct Monitor {
        sd_event *event;
        char *owner;                 /* unique name of org.iotpub1, NULL while it has no owner */
        uint64_t seen;
} Monitor;

static int parse_monitor_option(int c, const char *arg) {
        uint64_t v;

        if (ctl_parse_u64(arg, &v) < 0 || v == 0 || v > UINT32_MAX)
                return ctl_usage_error("monitor", "--%s must be a positive number.",
                                       c == OPT_COUNT ? "count" : "timeout");
        if (c == OPT_COUNT)
                arg_count = v;
        else
                arg_timeout_usec = v * 1000000;
        return CTL_EXIT_OK;
}

static uint64_t realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Starts an event: the JSON object or the text line's time and event name. */
static void event_begin(Json *j, const char *event) {
        char buf[64];
        uint64_t now = realtime_usec();

        if (arg_json) {
                json_init(j, stdout);
                json_begin_object(j, NULL);
                json_u64(j, "time", now);
                json_string(j, "event", event);
        } else
                printf("%s.%06" PRIu64 " %s", format_usec(now, buf, sizeof(buf)), now % 1000000, event);
}

/* Ends an event; counts it when count is true and stops the loop after --count events. */
static void event_end(Monitor *m, Json *j, bool count) {
        if (arg_json) {
                json_end_object(j);
                json_finish(j);
        } else {
                putchar('\n');
                fflush(stdout);
        }
        if (count && arg_count > 0 && ++m->seen >= arg_count)
                sd_event_exit(m->event, CTL_EXIT_OK);
}

static void print_properties(Json *j, const Properties *p, char **invalidated) {
        if (arg_json) {
                json_begin_object(j, "changed");
                for (size_t i = 0; i < p->n; i++)
                        json_property(j, &p->items[i]);
                json_end_object(j);
                json_begin_array(j, "invalidated");
                for (char **s = invalidated; s && *s; s++)
                        json_string(j, NULL, *s);
                json_end_array(j);
                return;
        }
        for (size_t i = 0; i < p->n; i++) {
                printf(" %s=", p->items[i].name);
                property_print_value(&p->items[i], stdout);
        }
        for (char **s = invalidated; s && *s; s++)
                printf(" %s (changed)", *s);
}

static int on_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(properties_done) Properties p = {};
        _cleanup_(strv_freep) char **invalidated = NULL;
        _cleanup_free_ char *device = NULL;
        Monitor *m = userdata;
        const char *iface, *path = sd_bus_message_get_path(msg);
        Json j;

        if (!m->owner || !streq_ptr(sd_bus_message_get_sender(msg), m->owner))
                return 0;
        if (sd_bus_message_read(msg, "s", &iface) < 0 || properties_read(msg, &p) < 0 ||
            sd_bus_message_read_strv(msg, &invalidated) < 0)
                return 0;
        (void) sd_bus_path_decode(path, DEVICE_PREFIX, &device);
        event_begin(&j, "PropertiesChanged");
        if (arg_json) {
                json_string(&j, "path", path);
                json_string(&j, "interface", iface);
                if (device)
                        json_string(&j, "device", device);
        } else
                printf(" %s%s", device ? "device " : "manager", strempty(device));
        print_properties(&j, &p, invalidated);
        event_end(m, &j, true);
        return 0;
}

static int on_message_result(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Monitor *m = userdata;
        bool delivered = sd_bus_message_is_signal(msg, MANAGER_IFACE, "Delivered");
        const char *detail;
        uint64_t id;
        Json j;

        if (!m->owner || !streq_ptr(sd_bus_message_get_sender(msg), m->owner) ||
            sd_bus_message_read(msg, "ts", &id, &detail) < 0)
                return 0;
        event_begin(&j, delivered ? "Delivered" : "Failed");
        if (arg_json) {
                json_u64(&j, "id", id);
                json_string(&j, delivered ? "cloud_message_id" : "reason", detail);
        } else
                printf(" id=%" PRIu64 " %s=%s", id, delivered ? "cloud_message_id" : "reason", detail);
        event_end(m, &j, true);
        return 0;
}

static int on_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Monitor *m = userdata;
        const char *name, *old_owner, *new_owner;
        Json j;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, BUS_NAME))
                return 0;
        if (free_and_strdup(&m->owner, isempty(new_owner) ? NULL : new_owner) < 0)
                return -ENOMEM;
        event_begin(&j, isempty(new_owner) ? "DaemonStopped" : "DaemonStarted");
        if (arg_json)
                json_string(&j, "owner", new_owner);
        else if (!isempty(new_owner))
                printf(" owner=%s", new_owner);
        event_end(m, &j, true);
        return 0;
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Monitor *m = userdata;

        ctl_error(CTL_EXIT_UNREACHABLE, "The bus connection was closed.");
        return sd_event_exit(m->event, CTL_EXIT_UNREACHABLE);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Monitor *m = userdata;

        ctl_error(CTL_EXIT_FAILED, "Timed out after %" PRIu64 " of %" PRIu64 " events.", m->seen, arg_count);
        return sd_event_exit(m->event, CTL_EXIT_FAILED);
}

static int monitor_subscribe(sd_bus *bus, Monitor *m) {
        static const char *const props =
                "type='signal',sender='" BUS_NAME "',interface='org.freedesktop.DBus.Properties',"
                "member='PropertiesChanged',path_namespace='" MANAGER_PATH "'";
        int r;

        r = sd_bus_add_match(bus, NULL, props, on_properties_changed, m);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Delivered",
                                        on_message_result, m);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Failed",
                                        on_message_result, m);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameOwnerChanged", on_owner_changed, m);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, NULL, "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, m);
        return r;
}

/* Looks up the daemon's unique name after subscribing, so no owner change is missed in between. */
static int monitor_find_owner(sd_bus *bus, Monitor *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *owner;

        if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetNameOwner", NULL, &reply, "s", BUS_NAME) < 0 ||
            sd_bus_message_read(reply, "s", &owner) < 0) {
                fprintf(stderr, "iotpubctl: iotpubd is not running; waiting for it to start.\n");
                return 0;
        }
        return free_and_strdup(&m->owner, owner);
}

static int monitor_publish(sd_bus *bus, char **argv) {
        uint64_t id;
        Json j;
        int r;

        r = ctl_publish(bus, argv[1], argv[2], argv[3], strlen(argv[3]), NULL, 0, &id, NULL);
        if (r != CTL_EXIT_OK)
                return r;
        event_begin(&j, "Published");
        if (arg_json)
                json_u64(&j, "id", id);
        else
                printf(" id=%" PRIu64 " device=%s topic=%s", id, argv[1], argv[2]);
        event_end(NULL, &j, false);
        return CTL_EXIT_OK;
}

static int run_monitor(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        Monitor m = {};
        sigset_t mask;
        int r;

        if (argc != 1 && argc != 4)
                return ctl_usage_error("monitor", "Give DEVICE, TOPIC and DATA together, or none of them.");
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        r = sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? -errno : sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0 && arg_timeout_usec > 0)
                r = sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC, arg_timeout_usec, 0, on_timeout, &m);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        m.event = event;
        if (r >= 0)
                r = monitor_subscribe(bus, &m);
        if (r >= 0)
                r = monitor_find_owner(bus, &m);
        if (r < 0) {
                free(m.owner);
                return ctl_error(CTL_EXIT_UNREACHABLE, "Cannot set up monitoring: %s", strerror(-r));
        }
        r = argc == 4 ? monitor_publish(bus, argv) : CTL_EXIT_OK;
        if (r == CTL_EXIT_OK)
                r = sd_event_loop(event);
        (void) sd_bus_detach_event(bus);
        free(m.owner);
        return r < 0 ? ctl_error(CTL_EXIT_FAILED, "Event loop failed: %s", strerror(-r)) : r;
}

static const struct option monitor_options[] = {
        { "count", required_argument, NULL, OPT_COUNT },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        {}
};

const Verb verb_monitor = {
        .name = "monitor", .usage = "monitor [DEVICE TOPIC DATA]", .needs_bus = true, .max_args = 3,
        .options = monitor_options, .parse_option = parse_monitor_option, .run = run_monitor,
        .summary = "Print property changes and message results as they happen",
        .help = "One line per event (one JSON object per line with --json): PropertiesChanged of the manager\n"
                "and of every device, DaemonStarted/DaemonStopped, and Delivered/Failed. Delivered and Failed\n"
                "are unicast by the daemon to the connection that published the message, so monitor sees only\n"
                "its own: with DEVICE TOPIC DATA it publishes DATA first on its connection and then reports the\n"
                "message's fate. Stops on SIGINT or SIGTERM.\n"
                "  --count=N      stop after N events (exit 0)\n"
                "  --timeout=SEC  stop after SEC seconds (exit 1)\n",
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "check": is the bus reachable and org.iotpub1 answering, does CheckConfiguration report problems, is the
 * realtime clock plausible, and do the devices' endpoint host names resolve. Never prints a secret. */
#include <arpa/inet.h>
#include <netdb.h>
#include <time.h>

#include "ctl-output.h"

#define CLOCK_FUTURE_SEC (20LL * 365 * 24 * 3600)

typedef struct Check {
        Json json;
        unsigned problems;
} Check;

static void report(Check *c, bool ok, const char *what, const char *location, const char *text) {
        if (!ok)
                c->problems++;
        if (arg_json) {
                json_begin_object(&c->json, NULL);
                json_string(&c->json, "check", what);
                json_bool(&c->json, "ok", ok);
                json_string(&c->json, "location", location);
                json_string(&c->json, "message", text);
                json_end_object(&c->json);
        } else
                printf("%-5s %-9s %s%s%s\n", ok ? "ok" : "FAIL", what, strempty(location),
                       isempty(location) ? "" : ": ", text);
}

/* The release date (the Makefile's RELEASE_EPOCH, set with VERSION) is a lower bound for a correct clock; unlike
 * __DATE__ it keeps builds reproducible. */
static time_t build_time(void) {
        return (time_t) IOTPUB_RELEASE_EPOCH;
}

static void check_clock(Check *c) {
        time_t now = time(NULL), built = build_time();
        char text[256], b[32];
        struct tm tm;

        strftime(b, sizeof(b), "%Y-%m-%d", gmtime_r(&built, &tm));
        if (now < built)
                snprintf(text, sizeof(text), "the realtime clock is before this program's build date %s; set the "
                         "time (e.g. enable systemd-timesyncd), or token signatures will be refused", b);
        else if ((long long) now - built > CLOCK_FUTURE_SEC)
                snprintf(text, sizeof(text), "the realtime clock is more than 20 years after the build date %s", b);
        else
                snprintf(text, sizeof(text), "the realtime clock is plausible (built %s)", b);
        report(c, now >= built && (long long) now - built <= CLOCK_FUTURE_SEC, "clock", NULL, text);
}

static void check_configuration(Check *c, sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *location, *problem;
        unsigned n = 0;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "CheckConfiguration", &e, &reply, "");
        if (r < 0) {
                char text[512];

                snprintf(text, sizeof(text), "CheckConfiguration failed: %s%s", e.message ?: strerror(-r),
                         sd_bus_error_has_name(&e, "org.iotpub1.Error.AccessDenied") ? " (run as an admin)" : "");
                report(c, false, "config", NULL, text);
                return;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(ss)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ss)", &location, &problem)) > 0) {
                report(c, false, "config", location, problem);
                n++;
        }
        if (r < 0)
                report(c, false, "config", NULL, "cannot parse the CheckConfiguration reply");
        else if (n == 0)
                report(c, true, "config", NULL, "iotpubd.conf, access rules and identities parse cleanly");
}

/* Host part of HOST[:PORT] or [V6]:PORT; NULL if the endpoint is a numeric address (nothing to resolve). */
static char *endpoint_host(const char *endpoint) {
        unsigned char addr[16];
        const char *colon;
        char *host;

        if (endpoint[0] == '[')
                return NULL;
        colon = strrchr(endpoint, ':');
        if (colon && strchr(endpoint, ':') != colon)
                return NULL; /* a bare IPv6 address */
        host = colon ? strndup(endpoint, (size_t) (colon - endpoint)) : strdup(endpoint);
        if (host && inet_pton(AF_INET, host, addr) == 1)
                host = mfree(host);
        return host;
}

static void check_endpoint(Check *c, sd_bus *bus, const char *name) {
        _cleanup_(properties_done) Properties p = {};
        _cleanup_free_ char *path = NULL, *host = NULL;
        struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai = NULL;
        char text[512];
        int r;

        if (ctl_device_path(name, &path) < 0 || ctl_get_all(bus, path, DEVICE_IFACE, name, &p) != CTL_EXIT_OK) {
                report(c, false, "endpoint", name, "cannot read the device's properties");
                return;
        }
        if (isempty(properties_str(&p, "Endpoint"))) {
                report(c, false, "endpoint", name, "the device has no Endpoint");
                return;
        }
        host = endpoint_host(properties_str(&p, "Endpoint"));
        if (!host) {
                snprintf(text, sizeof(text), "%s is a numeric address", properties_str(&p, "Endpoint"));
                report(c, true, "endpoint", name, text);
                return;
        }
        r = getaddrinfo(host, NULL, &hints, &ai);
        if (r != 0)
                snprintf(text, sizeof(text), "cannot resolve %s: %s", host, gai_strerror(r));
        else
                snprintf(text, sizeof(text), "%s resolves", host);
        if (ai)
                freeaddrinfo(ai);
        report(c, r == 0, "endpoint", name, text);
}

static void check_daemon(Check *c, sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(strv_freep) char **names = NULL;
        _cleanup_free_ char *version = NULL;
        char text[512];

        if (sd_bus_get_property_string(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Version", &e, &version) < 0) {
                snprintf(text, sizeof(text), "%s is not answering: %s", BUS_NAME, e.message ?: e.name);
                report(c, false, "daemon", NULL, text);
                return;
        }
        snprintf(text, sizeof(text), "%s answers (iotpubd %s)", BUS_NAME, version);
        report(c, true, "daemon", NULL, text);
        check_configuration(c, bus);
        if (ctl_list_devices(bus, &names) != CTL_EXIT_OK) {
                report(c, false, "endpoint", NULL, "cannot list the devices (ListDevices failed)");
                return;
        }
        for (char **n = names; *n; n++)
                check_endpoint(c, bus, *n);
}

static int run_check(sd_bus *unused, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *why = NULL;
        Check c = {};
        bool reachable;

        json_init(&c.json, stdout);
        if (arg_json)
                json_begin_array(&c.json, NULL);
        reachable = ctl_bus_connect(&bus, &why) >= 0;
        report(&c, reachable, "bus", NULL, reachable ? "connected" : strempty(why));
        if (reachable)
                check_daemon(&c, bus);
        check_clock(&c);
        if (arg_json) {
                json_end_array(&c.json);
                json_finish(&c.json);
        } else
                printf("\n%u problem%s found.\n", c.problems, c.problems == 1 ? "" : "s");
        if (!reachable)
                return CTL_EXIT_UNREACHABLE;
        return c.problems > 0 ? CTL_EXIT_FAILED : CTL_EXIT_OK;
}

const Verb verb_check = {
        .name = "check", .usage = "check", .max_args = 0, .run = run_check,
        .summary = "Check the bus, the daemon, its configuration, the clock and endpoint names",
        .help = "Checks that the bus is reachable and org.iotpub1 answers, lists CheckConfiguration's problems\n"
                "(admin), that the realtime clock is not before this program's build date nor absurdly\n"
                "later, and that every device's Endpoint host name resolves (numeric addresses are skipped).\n"
                "Exits 1 if any problem was found, 3 if the bus is not reachable.\n",
};

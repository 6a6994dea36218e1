/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Admin and access verbs: "reload", "reauth", "flush", "purge" (Device methods) and "acl explain"
 * (ExplainAccess: which access rule decides for a user/unit, device and topic). */
#include <inttypes.h>

#include "ctl-output.h"

enum {
        OPT_USER = OPT_VERB_BASE,
        OPT_UNIT,
        OPT_FAILED,
};

static const char *arg_user = NULL;
static const char *arg_unit = "";
static bool arg_failed = false;

static int run_reload(sd_bus *bus, int argc, char **argv) {
        int r = ctl_call(bus, MANAGER_PATH, MANAGER_IFACE, "Reload", NULL, NULL, "");

        if (r == CTL_EXIT_OK && !arg_json)
                printf("Reloaded the configuration, access rules and devices.\n");
        return r;
}

/* Calls a Device method without arguments; its reply is returned for purge's count. */
static int device_call(sd_bus *bus, const char *name, const char *method, sd_bus_message **ret_reply) {
        _cleanup_free_ char *path = NULL;

        if (ctl_device_path(name, &path) < 0)
                return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
        return ctl_call(bus, path, DEVICE_IFACE, method, name, ret_reply, "");
}

static int run_reauth(sd_bus *bus, int argc, char **argv) {
        int r = device_call(bus, argv[1], "Reauthenticate", NULL);

        if (r == CTL_EXIT_OK && !arg_json)
                printf("Device %s is authenticating again.\n", argv[1]);
        return r;
}

static int run_flush(sd_bus *bus, int argc, char **argv) {
        int r = device_call(bus, argv[1], "Flush", NULL);

        if (r == CTL_EXIT_OK && !arg_json)
                printf("Device %s is sending its queue now.\n", argv[1]);
        return r;
}

static int run_purge(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t count;
        Json j;
        int r;

        if (arg_failed == (argc > 1))
                return ctl_usage_error("purge", "give either a DEVICE or --failed.");
        if (arg_failed)
                r = ctl_call(bus, MANAGER_PATH, MANAGER_IFACE, "PurgeFailed", NULL, &reply, "");
        else
                r = device_call(bus, argv[1], "Purge", &reply);
        if (r != CTL_EXIT_OK)
                return r;
        if (sd_bus_message_read(reply, "t", &count) < 0)
                return ctl_error(CTL_EXIT_FAILED, "Cannot parse the reply.");
        if (!arg_json) {
                if (arg_failed)
                        printf("Removed %" PRIu64 " message%s from the failed list.\n", count, count == 1 ? "" : "s");
                else
                        printf("Purged %" PRIu64 " queued message%s of device %s.\n", count,
                               count == 1 ? "" : "s", argv[1]);
                return CTL_EXIT_OK;
        }
        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        if (!arg_failed)
                json_string(&j, "device", argv[1]);
        json_u64(&j, "purged", count);
        json_end_object(&j);
        json_finish(&j);
        return CTL_EXIT_OK;
}

static int parse_acl_option(int c, const char *arg) {
        switch (c) {
        case OPT_USER:
                arg_user = arg;
                return CTL_EXIT_OK;
        case OPT_UNIT:
                arg_unit = arg;
                return CTL_EXIT_OK;
        }
        return CTL_EXIT_USAGE;
}

static void acl_print(uint32_t uid, char **argv, int allowed, const char *rule, const char *location) {
        Json j;

        if (!arg_json) {
                printf("%s: uid %" PRIu32 "%s%s may %spublish to %s on %s\n  rule: %s\n  location: %s\n",
                       allowed ? "allowed" : "denied", uid, isempty(arg_unit) ? "" : " unit ", arg_unit,
                       allowed ? "" : "not ", argv[3], argv[2], rule, isempty(location) ? "-" : location);
                return;
        }
        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        json_bool(&j, "allowed", allowed);
        json_string(&j, "rule", rule);
        json_string(&j, "location", location);
        json_u64(&j, "uid", uid);
        json_string(&j, "unit", arg_unit);
        json_string(&j, "device", argv[2]);
        json_string(&j, "topic", argv[3]);
        json_end_object(&j);
        json_finish(&j);
}

static int run_acl(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *rule, *location;
        uint32_t uid = (uint32_t) getuid();
        int allowed, r;

        if (!streq(argv[1], "explain") || argc != 4)
                return ctl_usage_error("acl", "Usage: iotpubctl acl explain [--user=NAME|UID] [--unit=UNIT] "
                                       "DEVICE TOPIC");
        if (arg_user) {
                r = ctl_parse_uid(arg_user, &uid);
                if (r < 0)
                        return ctl_usage_error("acl", "Unknown user '%s'.", arg_user);
        }
        r = ctl_call(bus, MANAGER_PATH, MANAGER_IFACE, "ExplainAccess", NULL, &reply, "usss", uid, arg_unit,
                     argv[2], argv[3]);
        if (r != CTL_EXIT_OK)
                return r;
        if (sd_bus_message_read(reply, "bss", &allowed, &rule, &location) < 0)
                return ctl_error(CTL_EXIT_FAILED, "Cannot parse the ExplainAccess reply.");
        acl_print(uid, argv, allowed, rule, location);
        return CTL_EXIT_OK;
}

const Verb verb_reload = {
        .name = "reload", .usage = "reload", .needs_bus = true, .max_args = 0, .run = run_reload,
        .summary = "Reload iotpubd.conf, access rules and devices (admin)",
        .help = "A malformed configuration is refused (the message names FILE:LINE) and the old one stays.\n",
};

const Verb verb_reauth = {
        .name = "reauth", .usage = "reauth DEVICE", .needs_bus = true, .min_args = 1, .max_args = 1,
        .run = run_reauth,
        .summary = "Drop the device's token and authenticate again now (admin)",
};

const Verb verb_flush = {
        .name = "flush", .usage = "flush DEVICE", .needs_bus = true, .min_args = 1, .max_args = 1,
        .run = run_flush,
        .summary = "Skip any backoff wait and send the device's queue now (admin)",
};

static int parse_purge_option(int c, const char *arg) {
        if (c != OPT_FAILED)
                return CTL_EXIT_USAGE;
        arg_failed = true;
        return CTL_EXIT_OK;
}

static const struct option purge_options[] = {
        { "failed", no_argument, NULL, OPT_FAILED },
        {}
};

const Verb verb_purge = {
        .name = "purge", .usage = "purge DEVICE | purge --failed", .needs_bus = true, .min_args = 0, .max_args = 1,
        .options = purge_options, .parse_option = parse_purge_option, .run = run_purge,
        .summary = "Fail all queued messages of the device with reason \"purged\", or empty the failed list (admin)",
        .help = "  --failed  instead of a device's queue, empty the dead-letter list (PurgeFailed)\n",
};

static const struct option acl_options[] = {
        { "user", required_argument, NULL, OPT_USER },
        { "unit", required_argument, NULL, OPT_UNIT },
        {}
};

const Verb verb_acl = {
        .name = "acl", .usage = "acl explain [--user=U] [--unit=UNIT] DEVICE TOPIC", .needs_bus = true,
        .min_args = 1, .max_args = 3, .options = acl_options, .parse_option = parse_acl_option,
        .run = run_acl,
        .summary = "Explain which access rule allows or denies a publish",
        .help = "  --user=NAME|UID  the caller to ask about (default: yourself; others need admin)\n"
                "  --unit=UNIT      the caller's systemd unit (default: none)\n"
                "Prints allowed/denied, the deciding rule and its FILE:LINE.\n",
};

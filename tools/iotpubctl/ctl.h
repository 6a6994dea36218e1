/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iotpubctl's shared declarations: exit statuses, global options, the verb table type, and the bus helpers
 * (ctl-bus.c) and output helpers (ctl-output.c) every verb module uses. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "macro.h"

#define BUS_NAME "org.iotpub1"
#define MANAGER_PATH "/org/iotpub1"
#define MANAGER_IFACE "org.iotpub1.Manager"
#define DEVICE_PREFIX "/org/iotpub1/device"
#define DEVICE_IFACE "org.iotpub1.Device"

/* Exit statuses, documented in --help. Functions that talk to the user return one of these after printing
 * any error; lower-level helpers return negative errno. */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILED = 1,
        CTL_EXIT_USAGE = 2,
        CTL_EXIT_UNREACHABLE = 3,
        CTL_EXIT_DENIED = 4,
};

/* Option codes above 255 so they never clash with short options. */
enum {
        OPT_GLOBAL_BASE = 0x100,
        OPT_VERB_BASE = 0x200,
};

typedef struct Verb {
        const char *name;
        const char *usage;          /* "publish DEVICE TOPIC [DATA|-]" */
        const char *summary;        /* one line for the overall --help */
        const char *help;           /* the verb's options and notes, for "iotpubctl VERB --help" */
        int min_args, max_args;     /* positional arguments after the verb; max -1 = any */
        bool needs_bus;
        const struct option *options; /* verb-specific options, terminated by {} */
        int (*parse_option)(int c, const char *arg); /* returns an exit status; CTL_EXIT_OK to go on */
        int (*run)(sd_bus *bus, int argc, char **argv); /* argv[0] is the verb; returns an exit status */
} Verb;

/* Global options (ctl.c). */
extern const char *arg_address;
extern bool arg_json;
extern bool arg_legend;

/* Verb modules. */
extern const Verb verb_status, verb_devices, verb_show;
extern const Verb verb_publish, verb_messages, verb_message;
extern const Verb verb_add_device, verb_remove_device;
extern const Verb verb_reload, verb_reauth, verb_flush, verb_purge, verb_acl;
extern const Verb verb_monitor, verb_check;

int ctl_main(int argc, char *argv[]);

/* Messages for the user, prefixed with "iotpubctl: "; they return the given exit status. */
int ctl_error(int status, const char *format, ...) _printf_(2, 3);
int ctl_usage_error(const char *verb, const char *format, ...) _printf_(2, 3);

/* ctl-bus.c */
int ctl_bus_connect(sd_bus **ret, char **ret_error_text);
int ctl_bus_error(const sd_bus_error *e, int r, const char *what, const char *device);
int ctl_call(sd_bus *bus, const char *path, const char *iface, const char *method, const char *device,
             sd_bus_message **ret_reply, const char *types, ...);
/* Manager.Publish; ret_daemon (optional) gets the unique name of the daemon that accepted it. */
int ctl_publish(sd_bus *bus, const char *device, const char *topic, const void *data, size_t size,
                const char *content_type, uint32_t ttl, uint64_t *ret_id, char **ret_daemon);
int ctl_device_path(const char *name, char **ret);
int ctl_list_devices(sd_bus *bus, char ***ret_names);
int ctl_parse_u64(const char *s, uint64_t *ret);
int ctl_parse_uid(const char *s, uint32_t *ret);
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
size_t strv_length(char **l);

/* Properties read with GetAll, in the daemon's order. */
typedef struct Property {
        char *name;
        char type;                  /* 's', 'o', 'b', 't', 'u', 'i', 'x', 'q', 'n', 'y', 'd', or '?' */
        char *str;                  /* 's' and 'o' */
        uint64_t u;                 /* unsigned types and 'b' */
        int64_t i;                  /* signed types */
        double d;
} Property;

typedef struct Properties {
        Property *items;
        size_t n;
} Properties;

void properties_done(Properties *p);
int properties_read(sd_bus_message *m, Properties *p);
int ctl_get_all(sd_bus *bus, const char *path, const char *iface, const char *device, Properties *ret);
const Property *properties_find(const Properties *p, const char *name);
const char *properties_str(const Properties *p, const char *name);
uint64_t properties_u64(const Properties *p, const char *name);
void property_print_value(const Property *p, FILE *f);

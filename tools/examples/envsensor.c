/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* envsensor: the environmental-sensor example. Posts CurrentTemperature/CurrentHumidity as an Alink property
 * post to /sys/<ProductKey>/<DeviceName>/thing/event/property/post through libiotpub, once or periodically. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iotpub.h"

#define THERMAL_ZONE "/sys/class/thermal/thermal_zone0/temp"

static const char *arg_device = "envsensor";
static const char *arg_product_key;
static const char *arg_device_name;
static unsigned long arg_interval;
static unsigned long arg_count = 1;
static unsigned long arg_timeout = 30;
static bool arg_wait;
static bool arg_simulate;

static void help(void) {
        printf("envsensor [OPTIONS]\n"
               "Publishes temperature/humidity property posts of an environmental sensor through iotpubd.\n\n"
               "  --device=NAME        iotpubd device identity to publish as (default: envsensor)\n"
               "  --product-key=PK     ProductKey for the topic (default: asked from iotpubd)\n"
               "  --device-name=DN     DeviceName for the topic (default: asked from iotpubd)\n"
               "  --count=N            number of posts, 0 = forever (default: 1)\n"
               "  --interval=SEC       seconds between posts (default: 0)\n"
               "  --wait               wait until each post is delivered (or failed)\n"
               "  --timeout=SEC        how long --wait waits for each post (default: 30)\n"
               "  --simulate           use simulated readings even if a thermal zone exists\n"
               "  --help               show this help\n\n"
               "The bus is the system bus, or $IOTPUB_BUS_ADDRESS if set.\n");
}

static int parse_ulong(const char *s, unsigned long *ret) {
        char *end = NULL;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || !end || *end || end == s || *s == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_DEVICE = 0x100, ARG_PK, ARG_DN, ARG_COUNT, ARG_INTERVAL, ARG_WAIT, ARG_TIMEOUT, ARG_SIMULATE };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "device", required_argument, NULL, ARG_DEVICE },
                { "product-key", required_argument, NULL, ARG_PK },
                { "device-name", required_argument, NULL, ARG_DN },
                { "count", required_argument, NULL, ARG_COUNT },
                { "interval", required_argument, NULL, ARG_INTERVAL },
                { "wait", no_argument, NULL, ARG_WAIT },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "simulate", no_argument, NULL, ARG_SIMULATE },
                {}
        };
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_DEVICE:
                        arg_device = optarg;
                        break;
                case ARG_PK:
                        arg_product_key = optarg;
                        break;
                case ARG_DN:
                        arg_device_name = optarg;
                        break;
                case ARG_COUNT:
                        r = parse_ulong(optarg, &arg_count);
                        break;
                case ARG_INTERVAL:
                        r = parse_ulong(optarg, &arg_interval);
                        break;
                case ARG_WAIT:
                        arg_wait = true;
                        break;
                case ARG_TIMEOUT:
                        r = parse_ulong(optarg, &arg_timeout);
                        break;
                case ARG_SIMULATE:
                        arg_simulate = true;
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0) {
                        fprintf(stderr, "envsensor: invalid number '%s'\n", optarg);
                        return r;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "envsensor: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* Tenths of a degree Celsius: the first thermal zone if there is one, else a deterministic sequence. */
static long read_temperature(unsigned long n) {
        long milli;
        FILE *f;

        if (!arg_simulate && (f = fopen(THERMAL_ZONE, "re"))) {
                int ok = fscanf(f, "%ld", &milli) == 1;

                fclose(f);
                if (ok)
                        return milli / 100;
        }
        return 215 + (long) (n % 10) * 3;
}

static unsigned read_humidity(unsigned long n) {
        return 40 + (unsigned) (n % 7);
}

static int format_post(unsigned long n, char *buf, size_t size) {
        long t = read_temperature(n);
        int len;

        len = snprintf(buf, size,
                       "{\"id\":\"%lu\",\"version\":\"1.0\",\"params\":{\"CurrentTemperature\":%s%ld.%ld,"
                       "\"CurrentHumidity\":%u},\"method\":\"thing.event.property.post\"}",
                       n, t < 0 ? "-" : "", labs(t) / 10, labs(t) % 10, read_humidity(n));
        return len < 0 || (size_t) len >= size ? -ENOBUFS : len;
}

static int post_one(iotpub *c, const char *topic, unsigned long n) {
        iotpub_publish_options opts = IOTPUB_PUBLISH_OPTIONS_INIT;
        char payload[256], *detail = NULL;
        uint64_t id = 0;
        int len, r;

        len = format_post(n, payload, sizeof(payload));
        if (len < 0)
                return len;
        if (arg_wait)
                r = iotpub_publish_wait(c, arg_device, topic, payload, (size_t) len, &opts,
                                        (uint64_t) arg_timeout * 1000000ULL, &id, &detail);
        else
                r = iotpub_publish(c, arg_device, topic, payload, (size_t) len, &opts, &id);
        if (r < 0)
                fprintf(stderr, "envsensor: post %lu: %s (%s)\n", n, iotpub_last_error(c), strerror(-r));
        else if (arg_wait)
                printf("post %lu: message %" PRIu64 " delivered, cloud message id %s\n", n, id, detail);
        else
                printf("post %lu: message %" PRIu64 " queued\n", n, id);
        fflush(stdout);
        free(detail);
        return r;
}

static int build_topic(iotpub *c, char *buf, size_t size) {
        char *pk = NULL, *dn = NULL;
        int r = 0, len;

        if (!arg_product_key || !arg_device_name) {
                r = iotpub_get_device_info(c, arg_device, arg_product_key ? NULL : &pk,
                                           arg_device_name ? NULL : &dn);
                if (r < 0) {
                        fprintf(stderr, "envsensor: cannot read the identity of device '%s': %s\n", arg_device,
                                iotpub_last_error(c));
                        return r;
                }
        }
        len = snprintf(buf, size, "/sys/%s/%s/thing/event/property/post", arg_product_key ? arg_product_key : pk,
                       arg_device_name ? arg_device_name : dn);
        free(pk);
        free(dn);
        return len < 0 || (size_t) len >= size ? -ENAMETOOLONG : 0;
}

int main(int argc, char *argv[]) {
        char topic[IOTPUB_TOPIC_MAX + 1];
        iotpub *c = NULL;
        unsigned long n;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        r = iotpub_open(&c);
        if (r < 0) {
                fprintf(stderr, "envsensor: cannot connect to iotpubd: %s\n", strerror(-r));
                return 1;
        }
        r = build_topic(c, topic, sizeof(topic));
        for (n = 1; r >= 0 && (arg_count == 0 || n <= arg_count); n++) {
                struct timespec ts = { (time_t) arg_interval, 0 };

                r = post_one(c, topic, n);
                if (r >= 0 && arg_interval > 0 && (arg_count == 0 || n < arg_count))
                        (void) nanosleep(&ts, NULL);
        }
        iotpub_close(c);
        return r < 0 ? 1 : 0;
}

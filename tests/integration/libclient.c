/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libclient: drives libiotpub (linked against build/libiotpub.so) for test-libiotpub.sh. One command per run;
 * results as KEY=VALUE lines on stdout, exit status 0 when the command's expectation held. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iotpub.h"

static const char *arg_device = "";
static const char *arg_topic = "";
static const char *arg_payload = "hello";
static const char *arg_prefix = "async";
static unsigned long arg_count = 1;
static unsigned long arg_timeout = 60;
static unsigned long arg_ttl;
static uint64_t arg_id;
static bool arg_skip_get;

static int fail(iotpub *c, const char *what, int r) {
        printf("error=%d\nerror_name=%s\nlast_error=%s\n", r, strerrorname_np(-r) ?: "?", c ? iotpub_last_error(c) : "");
        fprintf(stderr, "libclient: %s: %s (%s)\n", what, strerror(-r), c ? iotpub_last_error(c) : "");
        return 1;
}

static void options_init(iotpub_publish_options *o) {
        iotpub_publish_options init = IOTPUB_PUBLISH_OPTIONS_INIT;

        *o = init;
        o->ttl_sec = (uint32_t) arg_ttl;
}

static int cmd_publish(iotpub *c) {
        iotpub_publish_options o;
        uint64_t id = 0;
        int r;

        options_init(&o);
        r = iotpub_publish(c, arg_device, arg_topic, arg_payload, strlen(arg_payload), &o, &id);
        if (r < 0)
                return fail(c, "iotpub_publish", r);
        printf("id=%" PRIu64 "\n", id);
        return 0;
}

/* Prints the outcome; exit 0 only when delivered. */
static int cmd_wait(iotpub *c) {
        iotpub_publish_options o;
        char *detail = NULL;
        uint64_t id = 0;
        int r;

        options_init(&o);
        r = iotpub_publish_wait(c, arg_device, arg_topic, arg_payload, strlen(arg_payload), &o,
                                (uint64_t) arg_timeout * 1000000ULL, &id, &detail);
        printf("id=%" PRIu64 "\nresult=%d\nresult_name=%s\ndetail=%s\nlast_error=%s\n", id, r,
               r < 0 ? strerrorname_np(-r) : "OK", detail ? detail : "", r < 0 ? iotpub_last_error(c) : "");
        free(detail);
        return r < 0 ? 1 : 0;
}

static int cmd_get(iotpub *c) {
        iotpub_state state;
        char *detail = NULL;
        int r;

        r = iotpub_get_message(c, arg_id, &state, &detail);
        if (r < 0)
                return fail(c, "iotpub_get_message", r);
        printf("state=%s\ndetail=%s\n", iotpub_state_to_string(state), detail);
        free(detail);
        return 0;
}

static int cmd_info(iotpub *c) {
        char *pk = NULL, *dn = NULL;
        int r;

        r = iotpub_get_device_info(c, arg_device, &pk, &dn);
        if (r < 0)
                return fail(c, "iotpub_get_device_info", r);
        printf("product_key=%s\ndevice_name=%s\n", pk, dn);
        free(pk);
        free(dn);
        return 0;
}

typedef struct AsyncState {
        unsigned long accepted, errors, delivered, failed;
} AsyncState;

static void on_done(iotpub *c, int error, uint64_t id, void *userdata) {
        AsyncState *s = userdata;

        if (error < 0)
                s->errors++;
        else
                s->accepted++;
}

static void on_delivered(iotpub *c, uint64_t id, const char *cloud_id, void *userdata) {
        ((AsyncState *) userdata)->delivered++;
}

static void on_failed(iotpub *c, uint64_t id, const char *reason, void *userdata) {
        ((AsyncState *) userdata)->failed++;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* N asynchronous publishes, then a poll() loop on the library's fd until every one is delivered or failed. */
static int cmd_async(iotpub *c) {
        uint64_t deadline = now_usec() + (uint64_t) arg_timeout * 1000000ULL;
        AsyncState s = {};
        unsigned long i;
        int r;

        iotpub_set_callbacks(c, on_delivered, on_failed, &s);
        for (i = 0; i < arg_count; i++) {
                char payload[128];

                snprintf(payload, sizeof(payload), "%s-%lu", arg_prefix, i);
                r = iotpub_publish_async(c, arg_device, arg_topic, payload, strlen(payload), NULL, on_done, &s);
                if (r < 0)
                        return fail(c, "iotpub_publish_async", r);
        }
        while (s.delivered + s.failed + s.errors < arg_count && now_usec() < deadline) {
                struct pollfd p = { .fd = iotpub_get_fd(c), .events = (short) iotpub_get_events(c) };
                uint64_t t;
                int ms;

                if (iotpub_get_timeout(c, &t) < 0)
                        return fail(c, "iotpub_get_timeout", -EINVAL);
                t = t == IOTPUB_INFINITY ? deadline - now_usec() : t;
                ms = (int) ((t + 999) / 1000 > 1000 ? 1000 : (t + 999) / 1000);
                if (poll(&p, 1, ms) < 0 && errno != EINTR)
                        return fail(c, "poll", -errno);
                r = iotpub_process(c);
                if (r < 0)
                        return fail(c, "iotpub_process", r);
        }
        printf("accepted=%lu\nerrors=%lu\ndelivered=%lu\nfailed=%lu\n", s.accepted, s.errors, s.delivered, s.failed);
        return s.delivered == arg_count && s.accepted == arg_count ? 0 : 1;
}

static int expect(iotpub *c, const char *what, int got, int want) {
        printf("%s=%s\n", what, got == want ? "ok" : "WRONG");
        if (got != want)
                fprintf(stderr, "libclient: %s: got %d, expected %d (%s)\n", what, got, want, iotpub_last_error(c));
        return got == want ? 0 : 1;
}

/* Bad arguments give -EINVAL (locally), an unknown device -ENODEV (from iotpubd), each with a message. */
static int cmd_badargs(iotpub *c) {
        char long_topic[IOTPUB_TOPIC_MAX + 2];
        int n = 0;

        memset(long_topic, 'x', sizeof(long_topic) - 1);
        long_topic[0] = '/';
        long_topic[sizeof(long_topic) - 1] = 0;
        n += expect(c, "null_device", iotpub_publish(c, NULL, arg_topic, "x", 1, NULL, NULL), -EINVAL);
        n += expect(c, "null_topic", iotpub_publish(c, arg_device, NULL, "x", 1, NULL, NULL), -EINVAL);
        n += expect(c, "empty_topic", iotpub_publish(c, arg_device, "", "x", 1, NULL, NULL), -EINVAL);
        n += expect(c, "long_topic", iotpub_publish(c, arg_device, long_topic, "x", 1, NULL, NULL), -EINVAL);
        n += expect(c, "null_payload", iotpub_publish(c, arg_device, arg_topic, NULL, 5, NULL, NULL), -EINVAL);
        n += expect(c, "wait_null_topic",
                    iotpub_publish_wait(c, arg_device, NULL, "x", 1, NULL, 1000000, NULL, NULL), -EINVAL);
        n += expect(c, "null_handle", iotpub_publish(NULL, arg_device, arg_topic, "x", 1, NULL, NULL), -EINVAL);
        n += expect(c, "empty_payload_ok", iotpub_publish(c, arg_device, arg_topic, NULL, 0, NULL, NULL), 0);
        n += expect(c, "no_such_device", iotpub_publish(c, "no-such-device", arg_topic, "x", 1, NULL, NULL), -ENODEV);
        printf("no_such_device_message=%s\n", iotpub_last_error(c));
        if (!arg_skip_get)
                n += expect(c, "no_such_message", iotpub_get_message(c, UINT64_C(999999999), NULL, NULL), -ENOENT);
        n += expect(c, "info_no_such_device", iotpub_get_device_info(c, "no-such-device", NULL, NULL), -ENODEV);
        return n == 0 ? 0 : 1;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "device", required_argument, NULL, 'd' }, { "topic", required_argument, NULL, 't' },
                { "payload", required_argument, NULL, 'p' }, { "prefix", required_argument, NULL, 'P' },
                { "count", required_argument, NULL, 'n' },   { "timeout", required_argument, NULL, 'T' },
                { "ttl", required_argument, NULL, 'l' },     { "id", required_argument, NULL, 'i' },
                { "skip-get", no_argument, NULL, 'g' },      {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'd': arg_device = optarg; break;
                case 't': arg_topic = optarg; break;
                case 'p': arg_payload = optarg; break;
                case 'P': arg_prefix = optarg; break;
                case 'n': arg_count = strtoul(optarg, NULL, 10); break;
                case 'T': arg_timeout = strtoul(optarg, NULL, 10); break;
                case 'l': arg_ttl = strtoul(optarg, NULL, 10); break;
                case 'i': arg_id = strtoull(optarg, NULL, 10); break;
                case 'g': arg_skip_get = true; break;
                default: return -EINVAL;
                }
        return optind < argc ? optind : -EINVAL;
}

int main(int argc, char *argv[]) {
        static const struct {
                const char *name;
                int (*run)(iotpub *c);
        } commands[] = {
                { "publish", cmd_publish }, { "wait", cmd_wait }, { "get", cmd_get },
                { "info", cmd_info },       { "async", cmd_async }, { "badargs", cmd_badargs },
        };
        iotpub *c = NULL;
        size_t i;
        int r, cmd;

        cmd = parse_argv(argc, argv);
        if (cmd < 0) {
                fprintf(stderr, "usage: libclient publish|wait|get|info|async|badargs [--device=D] [--topic=T] "
                        "[--payload=S] [--prefix=S] [--count=N] [--timeout=SEC] [--ttl=SEC] [--id=N] [--skip-get]\n");
                return 2;
        }
        r = iotpub_open(&c);
        if (r < 0)
                return fail(NULL, "iotpub_open", r);
        for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(commands[i].name, argv[cmd]) == 0) {
                        r = commands[i].run(c);
                        fflush(stdout);
                        iotpub_close(c);
                        return r;
                }
        iotpub_close(c);
        fprintf(stderr, "libclient: unknown command '%s'\n", argv[cmd]);
        return 2;
}

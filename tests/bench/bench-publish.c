/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-publish: Publish acceptance latency (p50/p99) beside Peer.Ping on the same connection, the rate of
 * Publish and of Ping with K concurrent connections, the latency of one fsync of a small append, and the time
 * a device takes to deliver its queue after Device.Flush. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

static const char *arg_mode = "latency";
static const char *arg_address;
static const char *arg_device;
static const char *arg_topic;
static const char *arg_dir;
static unsigned arg_count = 1000;
static unsigned arg_conns = 8;
static unsigned arg_timeout = 600;

/* The environmental-sensor payload of tools/examples/envsensor.c. */
static const char payload[] = "{\"id\":\"1\",\"version\":\"1.0\",\"params\":{\"CurrentTemperature\":21.5,"
                              "\"CurrentHumidity\":48.2},\"method\":\"thing.event.property.post\"}";

static uint64_t now_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* Percentile p (0..100) of n sorted samples, in microseconds. */
static double pct_us(const uint64_t *v, unsigned n, double p) {
        unsigned i = (unsigned) (p / 100.0 * (n - 1) + 0.5);

        return v[i] / 1000.0;
}

static int bus_open(sd_bus **ret) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, arg_address);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(bus, 1);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

/* One synchronous call: a Publish when publish is true, else Peer.Ping to the daemon's connection. */
static int call_one(sd_bus *bus, int publish) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (publish) {
                r = sd_bus_message_new_method_call(bus, &m, "org.iotpub1", "/org/iotpub1", "org.iotpub1.Manager",
                                                   "Publish");
                if (r >= 0)
                        r = sd_bus_message_append(m, "ss", arg_device, arg_topic);
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', payload, sizeof(payload) - 1);
                if (r >= 0)
                        r = sd_bus_message_append(m, "a{sv}", 0);
        } else
                r = sd_bus_message_new_method_call(bus, &m, "org.iotpub1", "/org/iotpub1",
                                                   "org.freedesktop.DBus.Peer", "Ping");
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, 30 * 1000000ULL, &error, &reply);
        if (r < 0)
                fprintf(stderr, "bench-publish: %s: %s\n", publish ? "Publish" : "Ping",
                        error.message ?: strerror(-r));
        sd_bus_error_free(&error);
        return r;
}

/* Times arg_count calls of one kind; fills v (sorted). */
static int time_calls(sd_bus *bus, int publish, uint64_t *v) {
        for (unsigned i = 0; i < arg_count; i++) {
                uint64_t t0 = now_nsec();
                int r = call_one(bus, publish);

                if (r < 0)
                        return r;
                v[i] = now_nsec() - t0;
        }
        qsort(v, arg_count, sizeof(*v), cmp_u64);
        return 0;
}

static int run_latency(void) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ uint64_t *pub = calloc(arg_count, sizeof(uint64_t));
        _cleanup_free_ uint64_t *ping = calloc(arg_count, sizeof(uint64_t));
        int r;

        if (!pub || !ping)
                return -ENOMEM;
        r = bus_open(&bus);
        if (r < 0)
                return r;
        /* Ping first, then Publish, then Ping again: the two Ping halves bracket the Publish run. */
        r = time_calls(bus, 0, ping);
        if (r >= 0)
                r = time_calls(bus, 1, pub);
        if (r < 0)
                return r;
        printf("{\"publish_p50_us\":%.1f,\"publish_p99_us\":%.1f,\"ping_p50_us\":%.1f,\"ping_p99_us\":%.1f}\n",
               pct_us(pub, arg_count, 50), pct_us(pub, arg_count, 99), pct_us(ping, arg_count, 50),
               pct_us(ping, arg_count, 99));
        return 0;
}

typedef struct Worker {
        pthread_t thread;
        int publish;
        int result;
} Worker;

static void *worker_run(void *userdata) {
        Worker *w = userdata;
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;

        w->result = bus_open(&bus);
        for (unsigned i = 0; w->result >= 0 && i < arg_count; i++)
                w->result = call_one(bus, w->publish);
        return NULL;
}

/* arg_conns connections, each with one call in flight; returns calls per second or a negative errno. */
static double concurrent_rate(int publish) {
        _cleanup_free_ Worker *w = calloc(arg_conns, sizeof(Worker));
        uint64_t t0 = now_nsec();
        int r = 0;

        if (!w)
                return -ENOMEM;
        for (unsigned i = 0; i < arg_conns; i++) {
                w[i].publish = publish;
                if (pthread_create(&w[i].thread, NULL, worker_run, &w[i]) != 0)
                        return -EAGAIN;
        }
        for (unsigned i = 0; i < arg_conns; i++) {
                pthread_join(w[i].thread, NULL);
                if (w[i].result < 0)
                        r = w[i].result;
        }
        if (r < 0)
                return r;
        return (double) arg_conns * arg_count / ((now_nsec() - t0) / 1e9);
}

static int run_concurrent(void) {
        double ping = concurrent_rate(0), pub;

        if (ping < 0)
                return (int) ping;
        pub = concurrent_rate(1);
        if (pub < 0)
                return (int) pub;
        printf("{\"conns\":%u,\"publish_per_s\":%.0f,\"ping_per_s\":%.0f}\n", arg_conns, pub, ping);
        return 0;
}

/* Append 128 bytes and fsync, arg_count times, in a file under arg_dir (the daemon's state directory). */
static int run_fsync(void) {
        _cleanup_free_ uint64_t *v = calloc(arg_count, sizeof(uint64_t));
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        char buf[128];

        if (!v || asprintf(&path, "%s/bench-fsync.tmp", arg_dir) < 0)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        memset(buf, 'x', sizeof(buf));
        for (unsigned i = 0; i < arg_count; i++) {
                uint64_t t0 = now_nsec();

                if (write(fd, buf, sizeof(buf)) != (ssize_t) sizeof(buf) || fsync(fd) < 0)
                        return -errno;
                v[i] = now_nsec() - t0;
        }
        (void) unlink(path);
        qsort(v, arg_count, sizeof(*v), cmp_u64);
        printf("{\"fsync_p50_us\":%.1f,\"fsync_p99_us\":%.1f}\n", pct_us(v, arg_count, 50),
               pct_us(v, arg_count, 99));
        return 0;
}

/* The device's QueueMessages as announced in a PropertiesChanged signal, if the signal carries it. */
static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        uint64_t *queue = userdata, v;
        const char *name;
        int r;

        r = sd_bus_message_skip(m, "s");
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r >= 0 && streq(name, "QueueMessages")) {
                        r = sd_bus_message_read(m, "v", "t", &v);
                        if (r >= 0)
                                *queue = v;
                } else if (r >= 0)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        return 0;
}

static int queue_get(sd_bus *bus, const char *path, uint64_t *ret) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property_trivial(bus, "org.iotpub1", path, "org.iotpub1.Device", "QueueMessages", &error,
                                        't', ret);
        if (r < 0)
                fprintf(stderr, "bench-publish: QueueMessages: %s\n", error.message ?: strerror(-r));
        sd_bus_error_free(&error);
        return r;
}

/* Device.Flush, then the time until the device's queue is empty: the end is seen in the daemon's
 * PropertiesChanged signal, so no polling delay is measured; a Get every 100 ms covers a missed signal. */
static int run_drain(void) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t queued, queue = UINT64_MAX, t0, deadline, last_get;
        int r;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = sd_bus_path_encode("/org/iotpub1/device", arg_device, &path);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(bus, NULL, "org.iotpub1", path, "org.freedesktop.DBus.Properties",
                                "PropertiesChanged", on_properties_changed, &queue);
        if (r < 0)
                return r;
        r = queue_get(bus, path, &queued);
        if (r < 0)
                return r;
        if (queued == 0) {
                fprintf(stderr, "bench-publish: nothing is queued for %s\n", arg_device);
                return -ENODATA;
        }
        t0 = last_get = now_nsec();
        deadline = t0 + arg_timeout * 1000000000ULL;
        r = sd_bus_call_method(bus, "org.iotpub1", path, "org.iotpub1.Device", "Flush", &error, &reply, "");
        if (r < 0) {
                fprintf(stderr, "bench-publish: Flush: %s\n", error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                return r;
        }
        /* Bounded by the deadline: every round waits at most 100 ms. */
        while (queue != 0) {
                uint64_t now = now_nsec();

                if (now >= deadline) {
                        fprintf(stderr, "bench-publish: %s still has %" PRIu64 " queued after %u s\n", arg_device,
                                queue, arg_timeout);
                        return -ETIMEDOUT;
                }
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                if (now - last_get >= 100000000ULL) {
                        last_get = now;
                        r = queue_get(bus, path, &queue);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = sd_bus_wait(bus, 100000);
                if (r < 0)
                        return r;
        }
        t0 = now_nsec() - t0;
        printf("{\"queued\":%" PRIu64 ",\"drain_us\":%.0f,\"delivered_per_s\":%.0f}\n", queued, t0 / 1e3,
               queued / (t0 / 1e9));
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "mode",    required_argument, NULL, 'm' },
                { "address", required_argument, NULL, 'a' },
                { "device",  required_argument, NULL, 'd' },
                { "topic",   required_argument, NULL, 'T' },
                { "dir",     required_argument, NULL, 'D' },
                { "count",   required_argument, NULL, 'n' },
                { "conns",   required_argument, NULL, 'c' },
                { "timeout", required_argument, NULL, 't' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'm': arg_mode = optarg; break;
                case 'a': arg_address = optarg; break;
                case 'd': arg_device = optarg; break;
                case 'T': arg_topic = optarg; break;
                case 'D': arg_dir = optarg; break;
                case 'n': arg_count = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'c': arg_conns = (unsigned) strtoul(optarg, NULL, 10); break;
                case 't': arg_timeout = (unsigned) strtoul(optarg, NULL, 10); break;
                default: return -EINVAL;
                }
        }
        if (arg_count == 0 || arg_conns == 0 || arg_timeout == 0 || arg_timeout > 3600 || optind != argc)
                return -EINVAL;
        if (streq(arg_mode, "fsync"))
                return arg_dir ? 0 : -EINVAL;
        if (streq(arg_mode, "drain"))
                return arg_address && arg_device ? 0 : -EINVAL;
        return arg_address && arg_device && arg_topic ? 0 : -EINVAL;
}

int main(int argc, char *argv[]) {
        int r = parse_argv(argc, argv);

        if (r < 0) {
                fprintf(stderr, "usage: bench-publish --mode=latency|concurrent --address=A --device=D --topic=T "
                        "[--count=N] [--conns=K]\n       bench-publish --mode=fsync --dir=DIR [--count=N]\n"
                        "       bench-publish --mode=drain --address=A --device=D [--timeout=SEC]\n");
                return 2;
        }
        if (streq(arg_mode, "latency"))
                r = run_latency();
        else if (streq(arg_mode, "concurrent"))
                r = run_concurrent();
        else if (streq(arg_mode, "fsync"))
                r = run_fsync();
        else if (streq(arg_mode, "drain"))
                r = run_drain();
        else
                r = -EINVAL;
        if (r < 0) {
                fprintf(stderr, "bench-publish: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}

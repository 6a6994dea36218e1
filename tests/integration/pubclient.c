/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pubclient: test client that publishes N deterministic messages to iotpubd with several calls in flight,
 * waits for the unicast Delivered/Failed signals for its ids, and prints one JSON summary on stdout. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "macro.h"

#define MAX_OPTIONS 8
#define FILLER "abcdefghijklmnopqrstuvwxyz0123456789"

enum { MSG_PENDING, MSG_PUBLISHED, MSG_ERROR, MSG_DELIVERED, MSG_FAILED, MSG_RETRY };
#define RETRY_DELAY_USEC 100000 /* --retry-unavailable: the daemon is restarting; ask again after this */

typedef struct Message {
        uint64_t id;
        int state;
        char *payload;
        char *detail; /* error name + message, cloud message id, or failure reason */
} Message;

typedef struct Option {
        const char *key;
        char type;
        const char *value;
} Option;

static const char *arg_address;
static const char *arg_device;
static const char *arg_topic;
static const char *arg_prefix = "msg";
static unsigned arg_count = 1;
static unsigned arg_size;
static unsigned arg_window = 32;
static unsigned arg_interval_ms;
static double arg_timeout = 60;
static bool arg_wait = true;
static bool arg_device_object;
static bool arg_all_signals;
static bool arg_retry;
static Option arg_options[MAX_OPTIONS];
static unsigned arg_n_options;

static Message *messages;

static const char *strna(const char *s) {
        return s ?: "n/a";
}

static unsigned n_sent, n_replied, n_inflight, n_retry_wait, n_retried;
static uint64_t retry_at;
static uint64_t now_usec(void);

static void help(void) {
        printf("pubclient --address=ADDR --device=NAME --topic=T [--count=N] [--size=BYTES] [--prefix=STR]\n"
               "          [--timeout=SEC] [--no-wait] [--window=N] [--interval=MS] [--device-object]\n"
               "          [--option=KEY=TYPE:VALUE]...   (TYPE one of s u t i b) [--all-signals]\n"
               "Publishes N payloads \"<prefix>-<i>\" (extended to BYTES), waits for Delivered/Failed, prints JSON.\n"
               "--all-signals adds \"signals\": every Delivered/Failed received, each with \"own\" (one of our ids),\n"
               "and \"foreign\": how many were not for our ids.\n"
               "--retry-unavailable publishes again (same payload) when the call got no answer because the\n"
               "daemon was not on the bus or went away (ServiceUnknown, NoReply, NameHasNoOwner); \"retried\" counts\n"
               "those calls. Such a message may then reach the cloud twice; only returned ids are promised.\n");
}

static int parse_uint(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v > 10000000)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int parse_option(char *s) {
        char *eq = strchr(s, '='), *colon;

        if (arg_n_options >= MAX_OPTIONS || !eq || !(colon = strchr(eq + 1, ':')) || colon != eq + 2 ||
            !strchr("sutib", eq[1]))
                return -EINVAL;
        *eq = '\0';
        arg_options[arg_n_options++] = (Option) { .key = s, .type = eq[1], .value = colon + 1 };
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help",          no_argument,       NULL, 'h' },
                { "address",       required_argument, NULL, 'a' },
                { "device",        required_argument, NULL, 'd' },
                { "topic",         required_argument, NULL, 'T' },
                { "count",         required_argument, NULL, 'n' },
                { "size",          required_argument, NULL, 's' },
                { "prefix",        required_argument, NULL, 'p' },
                { "timeout",       required_argument, NULL, 't' },
                { "no-wait",       no_argument,       NULL, 'N' },
                { "window",        required_argument, NULL, 'w' },
                { "interval",      required_argument, NULL, 'i' },
                { "device-object", no_argument,       NULL, 'D' },
                { "option",        required_argument, NULL, 'o' },
                { "all-signals",   no_argument,       NULL, 'A' },
                { "retry-unavailable", no_argument,   NULL, 'R' },
                {}
        };
        unsigned t;
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        exit(EXIT_SUCCESS);
                case 'a': arg_address = optarg; break;
                case 'd': arg_device = optarg; break;
                case 'T': arg_topic = optarg; break;
                case 'p': arg_prefix = optarg; break;
                case 'N': arg_wait = false; break;
                case 'D': arg_device_object = true; break;
                case 'A': arg_all_signals = true; break;
                case 'R': arg_retry = true; break;
                case 'n': r = parse_uint(optarg, &arg_count); break;
                case 's': r = parse_uint(optarg, &arg_size); break;
                case 'w': r = parse_uint(optarg, &arg_window); break;
                case 'i': r = parse_uint(optarg, &arg_interval_ms); break;
                case 't':
                        r = parse_uint(optarg, &t);
                        arg_timeout = t;
                        break;
                case 'o': r = parse_option(optarg); break;
                case '?': return -EINVAL;
                }
                if (r < 0) {
                        fprintf(stderr, "pubclient: invalid argument '%s'\n", optarg);
                        return r;
                }
        }
        if (!arg_address || !arg_device || !arg_topic || optind != argc || arg_count == 0 || arg_window == 0 ||
            arg_timeout <= 0) {
                fprintf(stderr, "pubclient: --address, --device, --topic required; --count, --window, "
                        "--timeout > 0 (see --help)\n");
                return -EINVAL;
        }
        if (arg_interval_ms > 0)
                arg_window = 1;
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* "<prefix>-<i>", then "-" and a cycling filler up to --size bytes. */
static char *make_payload(unsigned i) {
        char *p;
        int n = asprintf(&p, "%s-%u", arg_prefix, i);

        if (n < 0)
                return NULL;
        if (arg_size > (unsigned) n) {
                char *q = realloc(p, arg_size + 1);
                if (!q) {
                        free(p);
                        return NULL;
                }
                p = q;
                for (unsigned k = n; k < arg_size; k++)
                        p[k] = k == (unsigned) n ? '-' : FILLER[(k - n - 1) % (sizeof FILLER - 1)];
                p[arg_size] = '\0';
        }
        return p;
}

/* Publish returned an id for it. */
static bool has_id(const Message *m) {
        return m->state == MSG_PUBLISHED || m->state == MSG_DELIVERED || m->state == MSG_FAILED;
}

static Message *find_message(uint64_t id) {
        for (unsigned i = 0; i < n_sent; i++)
                if (has_id(&messages[i]) && messages[i].id == id)
                        return &messages[i];
        return NULL;
}

/* Signals may in principle overtake our bookkeeping; unknown ids are kept here and applied on reply. */
typedef struct Early {
        uint64_t id;
        int state;
        char *detail;
} Early;
static Early *early;
static unsigned n_early;

/* --all-signals: every Delivered/Failed this connection received, whoever's id it carries. */
typedef struct Seen {
        uint64_t id;
        bool delivered;
        char *detail;
} Seen;
static Seen *seen;
static unsigned n_seen;

static int remember_signal(uint64_t id, bool delivered, const char *detail) {
        Seen *s = realloc(seen, (n_seen + 1) * sizeof *seen);

        if (!s)
                return -ENOMEM;
        seen = s;
        seen[n_seen++] = (Seen) { .id = id, .delivered = delivered, .detail = strdup(detail) };
        return 0;
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        int state = strcmp(sd_bus_message_get_member(m), "Delivered") == 0 ? MSG_DELIVERED : MSG_FAILED;
        const char *detail;
        uint64_t id;
        Message *msg;

        if (sd_bus_message_read(m, "ts", &id, &detail) < 0) {
                fprintf(stderr, "pubclient: malformed %s signal\n", sd_bus_message_get_member(m));
                return 0;
        }
        if (arg_all_signals && remember_signal(id, state == MSG_DELIVERED, detail) < 0)
                return -ENOMEM;
        msg = find_message(id);
        if (msg) {
                if (msg->state == MSG_PUBLISHED) {
                        msg->state = state;
                        free(msg->detail);
                        msg->detail = strdup(detail);
                } else
                        fprintf(stderr, "pubclient: repeated %s for id %" PRIu64 "\n",
                                sd_bus_message_get_member(m), id);
                return 0;
        }
        Early *e = realloc(early, (n_early + 1) * sizeof *early);
        if (!e)
                return -ENOMEM;
        early = e;
        early[n_early++] = (Early) { .id = id, .state = state, .detail = strdup(detail) };
        return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Message *msg = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        n_inflight--;
        if (e && arg_retry && (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
                               sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) ||
                               sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER))) {
                msg->state = MSG_RETRY;
                free(msg->detail);
                if (asprintf(&msg->detail, "%s: %s", e->name, strna(e->message)) < 0)
                        msg->detail = NULL;
                n_retry_wait++;
                retry_at = now_usec() + RETRY_DELAY_USEC;
                return 0;
        }
        n_replied++;
        if (e) {
                msg->state = MSG_ERROR;
                if (asprintf(&msg->detail, "%s: %s", e->name, strna(e->message)) < 0)
                        msg->detail = NULL;
                fprintf(stderr, "pubclient: Publish #%u failed: %s: %s\n", (unsigned) (msg - messages), e->name,
                        strna(e->message));
                return 0;
        }
        if (sd_bus_message_read(m, "t", &msg->id) < 0) {
                msg->state = MSG_ERROR;
                msg->detail = strdup("bad reply signature");
                return 0;
        }
        msg->state = MSG_PUBLISHED;
        for (unsigned i = 0; i < n_early; i++)
                if (early[i].id == msg->id) {
                        msg->state = early[i].state;
                        msg->detail = TAKE_PTR(early[i].detail);
                        early[i].id = 0;
                }
        return 0;
}

static int append_options(sd_bus_message *m) {
        int r = sd_bus_message_open_container(m, 'a', "{sv}");

        for (unsigned i = 0; r >= 0 && i < arg_n_options; i++) {
                const Option *o = &arg_options[i];
                char sig[2] = { o->type, 0 };

                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", o->key);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', sig);
                if (r < 0)
                        break;
                switch (o->type) {
                case 's':
                        r = sd_bus_message_append(m, "s", o->value);
                        break;
                case 'u':
                        r = sd_bus_message_append(m, "u", (uint32_t) strtoul(o->value, NULL, 0));
                        break;
                case 't':
                        r = sd_bus_message_append(m, "t", (uint64_t) strtoull(o->value, NULL, 0));
                        break;
                case 'i':
                        r = sd_bus_message_append(m, "i", (int32_t) strtol(o->value, NULL, 0));
                        break;
                case 'b':
                        r = sd_bus_message_append(m, "b", (int) (strcmp(o->value, "true") == 0));
                        break;
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int publish_one(sd_bus *bus, const char *device_path, unsigned i) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Message *msg = &messages[i];
        int r;

        if (!msg->payload)
                msg->payload = make_payload(i);
        if (!msg->payload)
                return -ENOMEM;
        if (device_path)
                r = sd_bus_message_new_method_call(bus, &m, "org.iotpub1", device_path, "org.iotpub1.Device",
                                                   "Publish");
        else
                r = sd_bus_message_new_method_call(bus, &m, "org.iotpub1", "/org/iotpub1", "org.iotpub1.Manager",
                                                   "Publish");
        if (r >= 0 && !device_path)
                r = sd_bus_message_append(m, "s", arg_device);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", arg_topic);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', msg->payload, strlen(msg->payload));
        if (r >= 0)
                r = append_options(m);
        if (r >= 0)
                r = sd_bus_call_async(bus, NULL, m, on_reply, msg, 0);
        if (r < 0)
                return r;
        if (msg->state == MSG_RETRY) {
                n_retry_wait--;
                n_retried++;
        }
        msg->state = MSG_PENDING;
        n_inflight++;
        if (i == n_sent)
                n_sent++;
        return 0;
}

/* --retry-unavailable: once the pause is over, calls that found no daemon go out again, oldest first. */
static int send_retries(sd_bus *bus, const char *device_path, uint64_t now) {
        for (unsigned i = 0; i < n_sent && n_retry_wait > 0 && n_inflight < arg_window && now >= retry_at; i++)
                if (messages[i].state == MSG_RETRY) {
                        int r = publish_one(bus, device_path, i);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static bool all_settled(void) {
        for (unsigned i = 0; i < n_sent; i++)
                if (messages[i].state == MSG_PUBLISHED)
                        return false;
        return true;
}

/* One loop for both phases: keep up to --window calls in flight, then wait for the signals. */
static int run(sd_bus *bus, const char *device_path) {
        uint64_t deadline = now_usec() + (uint64_t) (arg_timeout * 1e6), next_send = 0;
        int r;

        for (unsigned turns = 0;; turns++) {
                uint64_t now = now_usec();

                if (now >= deadline) {
                        fprintf(stderr, "pubclient: timed out after %g s (%u of %u published)\n", arg_timeout,
                                n_replied, arg_count);
                        return -ETIMEDOUT;
                }
                r = send_retries(bus, device_path, now);
                if (r < 0) {
                        fprintf(stderr, "pubclient: cannot send Publish: %s\n", strerror(-r));
                        return r;
                }
                while (n_sent < arg_count && n_inflight < arg_window && n_retry_wait == 0 && now >= next_send) {
                        r = publish_one(bus, device_path, n_sent);
                        if (r < 0) {
                                fprintf(stderr, "pubclient: cannot send Publish: %s\n", strerror(-r));
                                return r;
                        }
                        if (arg_interval_ms > 0)
                                next_send = now + (uint64_t) arg_interval_ms * 1000;
                }
                if (n_replied == arg_count && (!arg_wait || all_settled()))
                        return 0;

                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "pubclient: bus connection failed: %s\n", strerror(-r));
                        return r;
                }
                if (r > 0)
                        continue;
                uint64_t until = deadline;
                if (n_sent < arg_count && next_send > now)
                        until = MIN(until, next_send);
                if (n_retry_wait > 0 && retry_at > now)
                        until = MIN(until, retry_at);
                r = sd_bus_wait(bus, until > now ? until - now : 0);
                if (r < 0 && r != -EINTR) {
                        fprintf(stderr, "pubclient: sd_bus_wait: %s\n", strerror(-r));
                        return r;
                }
        }
}

static void print_summary(void) {
        json_object *o = json_object_new_object(), *ids = json_object_new_array(),
                    *payloads = json_object_new_array(), *errors = json_object_new_array(),
                    *failures = json_object_new_array(), *published_payloads = json_object_new_array();
        unsigned published = 0, delivered = 0, failed = 0;

        for (unsigned i = 0; i < n_sent; i++) {
                const Message *m = &messages[i];

                json_object_array_add(payloads, json_object_new_string(m->payload));
                if (m->state == MSG_PENDING)
                        continue;
                if (m->state == MSG_ERROR || m->state == MSG_RETRY) {
                        json_object *e = json_object_new_object();
                        json_object_object_add(e, "index", json_object_new_int((int) i));
                        json_object_object_add(e, "error", json_object_new_string(strna(m->detail)));
                        json_object_array_add(errors, e);
                        continue;
                }
                published++;
                json_object_array_add(ids, json_object_new_uint64(m->id));
                json_object_array_add(published_payloads, json_object_new_string(m->payload));
                if (m->state == MSG_DELIVERED)
                        delivered++;
                if (m->state == MSG_FAILED) {
                        json_object *f = json_object_new_object();
                        failed++;
                        json_object_object_add(f, "id", json_object_new_uint64(m->id));
                        json_object_object_add(f, "reason", json_object_new_string(strna(m->detail)));
                        json_object_array_add(failures, f);
                }
        }
        json_object_object_add(o, "published", json_object_new_int((int) published));
        json_object_object_add(o, "ids", ids);
        json_object_object_add(o, "delivered", json_object_new_int((int) delivered));
        json_object_object_add(o, "failed", json_object_new_int((int) failed));
        json_object_object_add(o, "payloads", payloads);
        json_object_object_add(o, "errors", errors);
        json_object_object_add(o, "failures", failures);
        json_object_object_add(o, "published_payloads", published_payloads);
        json_object_object_add(o, "retried", json_object_new_int((int) n_retried));
        if (arg_all_signals) {
                json_object *signals = json_object_new_array();
                unsigned foreign = 0;

                for (unsigned i = 0; i < n_seen; i++) {
                        json_object *s = json_object_new_object();
                        bool own = false;

                        for (unsigned k = 0; k < n_sent && !own; k++)
                                own = has_id(&messages[k]) && messages[k].id == seen[i].id;
                        foreign += !own;
                        json_object_object_add(s, "id", json_object_new_uint64(seen[i].id));
                        json_object_object_add(s, "signal",
                                               json_object_new_string(seen[i].delivered ? "Delivered" : "Failed"));
                        json_object_object_add(s, "detail", json_object_new_string(strna(seen[i].detail)));
                        json_object_object_add(s, "own", json_object_new_boolean(own));
                        json_object_array_add(signals, s);
                }
                json_object_object_add(o, "signals", signals);
                json_object_object_add(o, "foreign", json_object_new_int((int) foreign));
        }
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *device_path = NULL;
        unsigned delivered = 0, published = 0;
        int r;

        if (parse_argv(argc, argv) < 0)
                return 2;
        messages = calloc(arg_count, sizeof *messages);
        if (!messages)
                return 1;
        if (arg_device_object &&
            sd_bus_path_encode("/org/iotpub1/device", arg_device, &device_path) < 0)
                return 1;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, arg_address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                fprintf(stderr, "pubclient: cannot connect to %s: %s\n", arg_address, strerror(-r));
                return 1;
        }
        /* Subscribe before the first Publish, so no signal can be missed. */
        r = sd_bus_match_signal(bus, NULL, "org.iotpub1", "/org/iotpub1", "org.iotpub1.Manager", "Delivered",
                                on_signal, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.iotpub1", "/org/iotpub1", "org.iotpub1.Manager", "Failed",
                                        on_signal, NULL);
        if (r < 0) {
                fprintf(stderr, "pubclient: cannot add signal match: %s\n", strerror(-r));
                return 1;
        }

        r = run(bus, device_path);
        print_summary();
        for (unsigned i = 0; i < n_sent; i++) {
                published += has_id(&messages[i]);
                delivered += messages[i].state == MSG_DELIVERED;
        }
        if (r < 0 || published != arg_count)
                return 1;
        return !arg_wait || delivered == arg_count ? 0 : 1;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Message verbs: "publish" (payload from the command line or stdin, optionally waiting for the unicast
 * Delivered/Failed signal), "messages" (ListMessages) and "message ID" (GetMessage). */
#include <inttypes.h>
#include <time.h>

#include "ctl-output.h"

#define PAYLOAD_MAX (16U * 1024 * 1024)
#define TTL_MAX_SEC 31622400U

enum {
        OPT_CONTENT_TYPE = OPT_VERB_BASE,
        OPT_TTL,
        OPT_WAIT,
        OPT_TIMEOUT,
        OPT_STATE,
        OPT_LIMIT,
        OPT_FAILED,
};

static const char *arg_content_type = NULL;
static uint32_t arg_ttl = 0;
static bool arg_wait = false;
static uint64_t arg_timeout_usec = 0;
static const char *arg_state = "";
static uint32_t arg_limit = 0;

typedef struct WaitState {
        uint64_t id;
        char *daemon;                /* unique name of the daemon that answered Publish */
        bool done, delivered;
        char *detail;                /* cloud message id or failure reason */
} WaitState;

static int parse_publish_option(int c, const char *arg) {
        uint64_t v;

        switch (c) {
        case OPT_CONTENT_TYPE:
                if (!streq(arg, "json") && !streq(arg, "cbor") && !streq(arg, "octet-stream"))
                        return ctl_usage_error("publish", "--content-type must be json, cbor or octet-stream.");
                arg_content_type = arg;
                return CTL_EXIT_OK;
        case OPT_TTL:
                if (ctl_parse_u64(arg, &v) < 0 || v == 0 || v > TTL_MAX_SEC)
                        return ctl_usage_error("publish", "--ttl must be 1..%u seconds.", TTL_MAX_SEC);
                arg_ttl = (uint32_t) v;
                return CTL_EXIT_OK;
        case OPT_WAIT:
                arg_wait = true;
                return CTL_EXIT_OK;
        case OPT_TIMEOUT:
                if (ctl_parse_u64(arg, &v) < 0 || v == 0 || v > UINT32_MAX)
                        return ctl_usage_error("publish", "--timeout must be a positive number of seconds.");
                arg_timeout_usec = v * 1000000;
                return CTL_EXIT_OK;
        }
        return CTL_EXIT_USAGE;
}

static int read_stdin(uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size = 0, allocated = 0;

        for (;;) {
                ssize_t n;

                if (size == allocated) {
                        uint8_t *b;

                        if (allocated >= PAYLOAD_MAX)
                                return -EFBIG;
                        allocated = allocated ? allocated * 2 : 4096;
                        b = realloc(buf, allocated);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                n = read(STDIN_FILENO, buf + size, allocated - size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

int ctl_publish(sd_bus *bus, const char *device, const char *topic, const void *data, size_t size,
                const char *content_type, uint32_t ttl, uint64_t *ret_id, char **ret_daemon) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Publish");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", device, topic);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', data, size);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && content_type)
                r = sd_bus_message_append(m, "{sv}", "content-type", "s", content_type);
        if (r >= 0 && ttl > 0)
                r = sd_bus_message_append(m, "{sv}", "ttl", "u", ttl);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return ctl_error(CTL_EXIT_FAILED, "Cannot build the Publish call: %s", strerror(-r));
        r = sd_bus_call(bus, m, 0, &e, &reply);
        if (r < 0)
                return ctl_bus_error(&e, r, "Publish", NULL);
        r = sd_bus_message_read(reply, "t", ret_id);
        if (r < 0)
                return ctl_error(CTL_EXIT_FAILED, "Cannot parse the Publish reply: %s", strerror(-r));
        /* The unique name of the daemon that took the message: only it may report the message's fate. */
        if (ret_daemon && !(*ret_daemon = strdup(strempty(sd_bus_message_get_sender(reply)))))
                return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
        return CTL_EXIT_OK;
}

static int on_result(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        WaitState *w = userdata;
        const char *detail;
        uint64_t id;

        /* Only the daemon that took the message may tell us its fate. */
        if (!w->daemon || !streq_ptr(sd_bus_message_get_sender(m), w->daemon))
                return 0;
        if (sd_bus_message_read(m, "ts", &id, &detail) < 0 || id != w->id || w->done)
                return 0;
        w->done = true;
        w->delivered = sd_bus_message_is_signal(m, MANAGER_IFACE, "Delivered");
        w->detail = strdup(detail);
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int wait_for_result(sd_bus *bus, WaitState *w) {
        uint64_t deadline = arg_timeout_usec ? now_usec() + arg_timeout_usec : UINT64_MAX;

        while (!w->done) {
                uint64_t n = now_usec();
                int r = sd_bus_process(bus, NULL);

                if (r < 0)
                        return ctl_error(CTL_EXIT_UNREACHABLE, "Lost the bus connection while waiting for message "
                                         "%" PRIu64 ": %s", w->id, strerror(-r));
                if (r > 0)
                        continue;
                if (n >= deadline)
                        return ctl_error(CTL_EXIT_FAILED, "Message %" PRIu64 " was accepted but not delivered "
                                         "within the timeout; it stays queued.", w->id);
                r = sd_bus_wait(bus, deadline == UINT64_MAX ? UINT64_MAX : deadline - n);
                if (r < 0 && r != -EINTR)
                        return ctl_error(CTL_EXIT_UNREACHABLE, "Cannot wait on the bus: %s", strerror(-r));
        }
        return CTL_EXIT_OK;
}

static void publish_print(const WaitState *w) {
        Json j;

        if (!arg_json) {
                if (!arg_wait)
                        printf("%" PRIu64 "\n", w->id);
                else if (w->delivered)
                        printf("%" PRIu64 " delivered %s\n", w->id, strempty(w->detail));
                else
                        printf("%" PRIu64 " failed\n", w->id);
                return;
        }
        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        json_u64(&j, "id", w->id);
        json_string(&j, "state", !arg_wait ? "queued" : w->delivered ? "delivered" : "failed");
        if (arg_wait)
                json_string(&j, w->delivered ? "cloud_message_id" : "reason", w->detail);
        json_end_object(&j);
        json_finish(&j);
}

static int run_publish(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *s1 = NULL, *s2 = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        WaitState w = {};
        size_t size = 0;
        int r;

        if (argc < 4 || streq(argv[3], "-")) {
                r = read_stdin(&data, &size);
                if (r < 0)
                        return ctl_error(r == -EFBIG ? CTL_EXIT_USAGE : CTL_EXIT_FAILED,
                                         "Cannot read the payload from standard input: %s", strerror(-r));
        } else {
                size = strlen(argv[3]);
                data = (uint8_t *) strdup(argv[3]);
                if (!data)
                        return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
        }
        /* Subscribe before publishing, so a fast delivery cannot slip past us. */
        if (arg_wait &&
            (sd_bus_match_signal(bus, &s1, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Delivered", on_result, &w) < 0 ||
             sd_bus_match_signal(bus, &s2, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Failed", on_result, &w) < 0))
                return ctl_error(CTL_EXIT_UNREACHABLE, "Cannot subscribe to the Delivered and Failed signals.");
        r = ctl_publish(bus, argv[1], argv[2], data, size, arg_content_type, arg_ttl, &w.id, &w.daemon);
        if (r == CTL_EXIT_OK && arg_wait)
                r = wait_for_result(bus, &w);
        if (r == CTL_EXIT_OK) {
                publish_print(&w);
                if (arg_wait && !w.delivered)
                        r = ctl_error(CTL_EXIT_FAILED, "Message %" PRIu64 " failed: %s", w.id, strempty(w.detail));
        }
        free(w.daemon);
        free(w.detail);
        return r;
}

static int parse_messages_option(int c, const char *arg) {
        uint64_t v;

        switch (c) {
        case OPT_STATE:
                if (!streq(arg, "queued") && !streq(arg, "delivered") && !streq(arg, "failed") && !streq(arg, ""))
                        return ctl_usage_error("messages", "--state must be queued, delivered or failed.");
                arg_state = arg;
                return CTL_EXIT_OK;
        case OPT_FAILED:
                arg_state = "failed";
                return CTL_EXIT_OK;
        case OPT_LIMIT:
                if (ctl_parse_u64(arg, &v) < 0 || v > UINT32_MAX)
                        return ctl_usage_error("messages", "--limit must be a number (0 = the daemon's maximum).");
                arg_limit = (uint32_t) v;
                return CTL_EXIT_OK;
        }
        return CTL_EXIT_USAGE;
}

static void message_json(Json *j, uint64_t id, const char *state, const char *device, const char *topic,
                         const char *detail) {
        json_u64(j, "id", id);
        json_string(j, "state", state);
        json_string(j, "device", device);
        json_string(j, "topic", topic);
        json_string(j, "detail", detail);
}

static int run_messages(sd_bus *bus, int argc, char **argv) {
        static const char *const headers[] = { "ID", "STATE", "DEVICE", "TOPIC", "TIME", "DETAIL" };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = table_new(6, headers);
        const char *state, *device, *topic, *detail;
        uint64_t id, usec;
        char buf[64];
        Json j;
        int r;

        if (!t)
                return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
        r = ctl_call(bus, MANAGER_PATH, MANAGER_IFACE, "ListMessages", NULL, &reply, "su", arg_state, arg_limit);
        if (r != CTL_EXIT_OK)
                return r;
        json_init(&j, stdout);
        if (arg_json)
                json_begin_array(&j, NULL);
        r = sd_bus_message_enter_container(reply, 'a', "(tsssst)");
        while (r >= 0 &&
               (r = sd_bus_message_read(reply, "(tsssst)", &id, &state, &device, &topic, &detail, &usec)) > 0) {
                if (arg_json) {
                        json_begin_object(&j, NULL);
                        message_json(&j, id, state, device, topic, detail);
                        json_u64(&j, "time", usec);
                        json_end_object(&j);
                } else if (table_addf(t, "%" PRIu64, id) < 0 || table_add(t, state) < 0 ||
                           table_add(t, device) < 0 || table_add(t, topic) < 0 ||
                           table_add(t, format_usec(usec, buf, sizeof(buf))) < 0 || table_add(t, detail) < 0)
                        return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
        }
        if (r < 0)
                return ctl_error(CTL_EXIT_FAILED, "Cannot parse the ListMessages reply: %s", strerror(-r));
        if (arg_json) {
                json_end_array(&j);
                json_finish(&j);
        } else
                table_print(t, arg_legend, "messages");
        return CTL_EXIT_OK;
}

static int run_message(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *state, *device, *topic, *detail;
        uint64_t id;
        Json j;
        int r;

        if (ctl_parse_u64(argv[1], &id) < 0)
                return ctl_usage_error("message", "'%s' is not a message id.", argv[1]);
        r = ctl_call(bus, MANAGER_PATH, MANAGER_IFACE, "GetMessage", NULL, &reply, "t", id);
        if (r != CTL_EXIT_OK)
                return r;
        r = sd_bus_message_read(reply, "ssss", &state, &device, &topic, &detail);
        if (r < 0)
                return ctl_error(CTL_EXIT_FAILED, "Cannot parse the GetMessage reply: %s", strerror(-r));
        if (!arg_json) {
                printf("     Id: %" PRIu64 "\n  State: %s\n Device: %s\n  Topic: %s\n Detail: %s\n", id, state,
                       device, topic, detail);
                return CTL_EXIT_OK;
        }
        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        message_json(&j, id, state, device, topic, detail);
        json_end_object(&j);
        json_finish(&j);
        return CTL_EXIT_OK;
}

static const struct option publish_options[] = {
        { "content-type", required_argument, NULL, OPT_CONTENT_TYPE },
        { "ttl", required_argument, NULL, OPT_TTL },
        { "wait", no_argument, NULL, OPT_WAIT },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        {}
};

const Verb verb_publish = {
        .name = "publish", .usage = "publish DEVICE TOPIC [DATA|-]", .needs_bus = true,
        .min_args = 2, .max_args = 3, .options = publish_options, .parse_option = parse_publish_option,
        .run = run_publish,
        .summary = "Queue a message for TOPIC on DEVICE and print its id",
        .help = "DATA is sent as given; with '-' or without DATA the payload is read from standard input.\n"
                "  --content-type=TYPE  json (default), cbor or octet-stream\n"
                "  --ttl=SEC            drop the message if not delivered within SEC seconds\n"
                "  --wait               wait until the message is delivered or has failed; exit 1 if it failed\n"
                "  --timeout=SEC        with --wait: give up after SEC seconds (exit 1; the message stays\n"
                "                       queued). Default: wait forever.\n"
                "Without --wait, exit 0 means the daemon has durably queued the message.\n",
};

static const struct option messages_options[] = {
        { "state", required_argument, NULL, OPT_STATE },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "failed", no_argument, NULL, OPT_FAILED },
        {}
};

const Verb verb_messages = {
        .name = "messages", .usage = "messages", .needs_bus = true, .max_args = 0,
        .options = messages_options, .parse_option = parse_messages_option, .run = run_messages,
        .summary = "List your messages (all messages for admins) (ListMessages)",
        .help = "  --state=STATE  only queued, delivered or failed messages\n"
                "  --failed       the same as --state=failed: the dead-letter list, with reasons\n"
                "  --limit=N      at most N messages (0 = the daemon's maximum, 1000)\n"
                "Queued messages are listed oldest first, delivered and failed ones newest first.\n",
};

const Verb verb_message = {
        .name = "message", .usage = "message ID", .needs_bus = true, .min_args = 1, .max_args = 1,
        .run = run_message,
        .summary = "Show the state of one of your messages (GetMessage)",
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "add-device" and "remove-device". The secret never comes from the command line (where /proc/PID/cmdline
 * would show it): it is passed as a file descriptor (--secret-file) or read from stdin, without echo on a TTY. */
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>

#include "ctl-output.h"

#define SECRET_MAX 64

enum {
        OPT_PRODUCT_KEY = OPT_VERB_BASE,
        OPT_DEVICE_NAME,
        OPT_TRANSPORT,
        OPT_ENDPOINT,
        OPT_SIGN_METHOD,
        OPT_CLIENT_ID,
        OPT_CA_FILE,
        OPT_SECRET_FILE,
        OPT_SECRET,
};

/* Indexed by option code - OPT_VERB_BASE; the daemon's setting names. */
static const char *const setting_names[] = {
        "ProductKey", "DeviceName", "Transport", "Endpoint", "SignMethod", "ClientId", "CAFile",
};
static const char *arg_settings[ELEMENTSOF(setting_names)] = {};
static const char *arg_secret_file = NULL;

static const char secret_refused[] =
        "A secret on the command line is visible to every user (ps, /proc/PID/cmdline), so it is refused.\n"
        "Pass it on standard input (e.g. 'iotpubctl add-device NAME ... <secret.txt', or type it at the\n"
        "prompt) or with --secret-file=FILE.";

static int parse_add_option(int c, const char *arg) {
        if (c == OPT_SECRET)
                return ctl_usage_error("add-device", "%s", secret_refused);
        if (c == OPT_SECRET_FILE) {
                arg_secret_file = arg;
                return CTL_EXIT_OK;
        }
        if (c >= OPT_PRODUCT_KEY && c < OPT_PRODUCT_KEY + (int) ELEMENTSOF(setting_names)) {
                arg_settings[c - OPT_PRODUCT_KEY] = arg;
                return CTL_EXIT_OK;
        }
        return CTL_EXIT_USAGE;
}

/* Reads one secret line from the terminal with echo off; the caller's buffer holds SECRET_MAX + 2 bytes. */
static ssize_t read_secret_tty(char *buf, size_t size) {
        struct termios old, quiet;
        ssize_t n;

        if (tcgetattr(STDIN_FILENO, &old) < 0)
                return -errno;
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        quiet.c_lflag |= ECHONL;
        fputs("Device secret (not echoed): ", stderr);
        fflush(stderr);
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
                return -errno;
        n = read(STDIN_FILENO, buf, size);
        if (n < 0)
                n = -errno;
        (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        return n;
}

static ssize_t read_secret_stdin(char *buf, size_t size) {
        size_t n = 0;

        if (isatty(STDIN_FILENO))
                return read_secret_tty(buf, size);
        while (n < size) {
                ssize_t k = read(STDIN_FILENO, buf + n, size - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        return (ssize_t) n;
}

/* The secret from stdin, without its trailing newline; 1..SECRET_MAX bytes. */
static int read_secret(char *buf, size_t size, size_t *ret_len) {
        ssize_t n = read_secret_stdin(buf, size);

        if (n < 0)
                return ctl_error(CTL_EXIT_FAILED, "Cannot read the secret from standard input: %s",
                                 strerror((int) -n));
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        if (n == 0 || n > SECRET_MAX || memchr(buf, '\n', (size_t) n))
                return ctl_usage_error("add-device", "The secret on standard input must be one line of 1 to %d "
                                       "bytes (or use --secret-file=FILE).", SECRET_MAX);
        *ret_len = (size_t) n;
        return CTL_EXIT_OK;
}

static int append_secret(sd_bus_message *m, int *fd) {
        char buf[SECRET_MAX + 2];
        size_t len = 0;
        int r;

        if (arg_secret_file) {
                struct stat st;

                *fd = open(arg_secret_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (*fd < 0)
                        return ctl_error(CTL_EXIT_FAILED, "Cannot open --secret-file=%s: %s", arg_secret_file,
                                         strerror(errno));
                if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode))
                        return ctl_error(CTL_EXIT_USAGE, "--secret-file=%s is not a regular file.", arg_secret_file);
                r = sd_bus_message_append(m, "{sv}", "SecretFd", "h", *fd);
                return r < 0 ? ctl_error(CTL_EXIT_FAILED, "Cannot pass the secret file: %s", strerror(-r)) : 0;
        }
        r = read_secret(buf, sizeof(buf), &len);
        if (r == CTL_EXIT_OK) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "Secret");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "ay");
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', buf, len);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                r = r < 0 ? ctl_error(CTL_EXIT_FAILED, "Cannot build the AddDevice call: %s", strerror(-r)) : 0;
        }
        explicit_bzero(buf, sizeof(buf));
        return r;
}

static int run_add_device(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_close_ int fd = -1;
        const char *path;
        int r;

        if (argc > 2)
                return ctl_usage_error("add-device", "Unexpected argument after the device name.\n%s",
                                       secret_refused);
        if (!arg_settings[0] || !arg_settings[1])
                return ctl_usage_error("add-device", "--product-key=PK and --device-name=DN are required.");
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "AddDevice");
        /* The message holds the secret: have sd-bus wipe it when it is freed. */
        if (r >= 0)
                r = sd_bus_message_sensitive(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[1]);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(setting_names); i++)
                if (arg_settings[i])
                        r = sd_bus_message_append(m, "{sv}", setting_names[i], "s", arg_settings[i]);
        if (r < 0)
                return ctl_error(CTL_EXIT_FAILED, "Cannot build the AddDevice call: %s", strerror(-r));
        r = append_secret(m, &fd);
        if (r != 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return ctl_error(CTL_EXIT_FAILED, "Cannot build the AddDevice call: %s", strerror(-r));
        r = sd_bus_call(bus, m, 0, &e, &reply);
        if (r < 0)
                return ctl_bus_error(&e, r, "AddDevice", NULL);
        if (sd_bus_message_read(reply, "o", &path) < 0)
                return ctl_error(CTL_EXIT_FAILED, "Cannot parse the AddDevice reply.");
        if (arg_json) {
                Json j;

                json_init(&j, stdout);
                json_begin_object(&j, NULL);
                json_string(&j, "name", argv[1]);
                json_string(&j, "path", path);
                json_end_object(&j);
                json_finish(&j);
        } else
                printf("Added device %s (%s).\n", argv[1], path);
        return CTL_EXIT_OK;
}

static int run_remove_device(sd_bus *bus, int argc, char **argv) {
        int r = ctl_call(bus, MANAGER_PATH, MANAGER_IFACE, "RemoveDevice", NULL, NULL, "s", argv[1]);

        if (r == CTL_EXIT_OK && !arg_json)
                printf("Removed device %s.\n", argv[1]);
        return r;
}

static const struct option add_options[] = {
        { "product-key", required_argument, NULL, OPT_PRODUCT_KEY },
        { "device-name", required_argument, NULL, OPT_DEVICE_NAME },
        { "transport", required_argument, NULL, OPT_TRANSPORT },
        { "endpoint", required_argument, NULL, OPT_ENDPOINT },
        { "sign-method", required_argument, NULL, OPT_SIGN_METHOD },
        { "client-id", required_argument, NULL, OPT_CLIENT_ID },
        { "ca-file", required_argument, NULL, OPT_CA_FILE },
        { "secret-file", required_argument, NULL, OPT_SECRET_FILE },
        /* Recognised only to refuse it with a useful message. */
        { "secret", optional_argument, NULL, OPT_SECRET },
        {}
};

const Verb verb_add_device = {
        .name = "add-device", .usage = "add-device NAME --product-key=PK --device-name=DN ...",
        .needs_bus = true, .min_args = 1, .max_args = -1, .options = add_options,
        .parse_option = parse_add_option, .run = run_add_device,
        .summary = "Add a device identity (admin)",
        .help = "  --product-key=PK     the device's ProductKey (required)\n"
                "  --device-name=DN     the device's DeviceName (required)\n"
                "  --transport=T        coap-aes (default), coap-dtls or https\n"
                "  --endpoint=HOST[:PORT]  default: the platform's public endpoint for the transport\n"
                "  --sign-method=M      hmacmd5 (default), hmacsha1 or hmacsha256\n"
                "  --client-id=C        default: PK.DN\n"
                "  --ca-file=FILE       CA bundle for coap-dtls/https\n"
                "  --secret-file=FILE   read the DeviceSecret from FILE (passed to the daemon as a file\n"
                "                       descriptor); without it the secret is read from standard input\n"
                "                       (prompted for, without echo, on a terminal).\n"
                "The secret is never accepted on the command line and never printed.\n",
};

const Verb verb_remove_device = {
        .name = "remove-device", .usage = "remove-device NAME", .needs_bus = true, .min_args = 1,
        .max_args = 1, .run = run_remove_device,
        .summary = "Remove a device identity; its queued messages fail (admin)",
};

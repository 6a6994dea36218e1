/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iotpubctl's front: global options, the verb table, overall and per-verb --help, option dispatch to the
 * verb modules, and user-facing error messages with their exit statuses. */
#include <ctype.h>
#include <stdarg.h>

#include "ctl.h"

const char *arg_address = NULL;
bool arg_json = false;
bool arg_legend = true;

enum {
        OPT_ADDRESS = OPT_GLOBAL_BASE,
        OPT_JSON,
        OPT_NO_LEGEND,
        OPT_VERSION,
        OPT_HELP = 'h',
};

static const struct option global_options[] = {
        { "address", required_argument, NULL, OPT_ADDRESS },
        { "json", no_argument, NULL, OPT_JSON },
        { "no-legend", no_argument, NULL, OPT_NO_LEGEND },
        { "version", no_argument, NULL, OPT_VERSION },
        { "help", no_argument, NULL, OPT_HELP },
        {}
};

static const Verb *const verbs[] = {
        &verb_status, &verb_devices, &verb_show, &verb_publish, &verb_messages, &verb_message,
        &verb_add_device, &verb_remove_device, &verb_reload, &verb_reauth, &verb_flush, &verb_purge,
        &verb_acl, &verb_monitor, &verb_check,
};

int ctl_error(int status, const char *format, ...) {
        va_list ap;

        fputs("iotpubctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return status;
}

int ctl_usage_error(const char *verb, const char *format, ...) {
        va_list ap;

        fputs("iotpubctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fprintf(stderr, "\nSee 'iotpubctl %s%s--help'.\n", strempty(verb), verb ? " " : "");
        return CTL_EXIT_USAGE;
}

static void help_overall(void) {
        printf("iotpubctl [OPTIONS...] COMMAND ...\n\n"
               "Query and control iotpubd, the IoT publishing daemon (bus name %s).\n\nCommands:\n", BUS_NAME);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strlen(verbs[i]->usage) > 34)
                        printf("  %s\n  %-34s %s\n", verbs[i]->usage, "", verbs[i]->summary);
                else
                        printf("  %-34s %s\n", verbs[i]->usage, verbs[i]->summary);
        printf("\nOptions:\n"
               "  -h --help             Show this help, or a command's help: iotpubctl COMMAND --help\n"
               "     --version          Show the version\n"
               "     --address=ADDRESS  D-Bus address to use (default: $IOTPUB_BUS_ADDRESS if set,\n"
               "                        else the system bus)\n"
               "     --json             Print data as JSON (one document per line)\n"
               "     --no-legend        Omit table headers and footers\n"
               "\nExit status:\n"
               "  0 success, 1 operation failed (daemon error, unknown device, delivery failed),\n"
               "  2 usage error, 3 daemon or bus not reachable, 4 access denied.\n");
}

static void help_verb(const Verb *v) {
        printf("iotpubctl [OPTIONS...] %s\n\n%s\n", v->usage, v->summary);
        if (v->help)
                printf("\n%s", v->help);
        printf("\nGlobal options: --address=ADDRESS --json --no-legend -h/--help --version\n"
               "Exit status: 0 ok, 1 failed, 2 usage error, 3 daemon not reachable, 4 access denied.\n");
}

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i]->name, name))
                        return verbs[i];
        return NULL;
}

static bool option_takes_argument(const struct option *opts, const char *name, size_t len) {
        for (const struct option *o = opts; o && o->name; o++)
                if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                        return o->has_arg == required_argument;
        return false;
}

/* The first word that is neither an option nor an option's separate argument ("--address ADDR"). */
static const char *find_verb_name(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (streq(a, "--"))
                        return i + 1 < argc ? argv[i + 1] : NULL;
                if (a[0] != '-' || a[1] == '\0')
                        return a;
                if (a[1] == '-' && !strchr(a, '=')) {
                        bool takes = option_takes_argument(global_options, a + 2, strlen(a + 2));

                        for (size_t v = 0; !takes && v < ELEMENTSOF(verbs); v++)
                                takes = option_takes_argument(verbs[v]->options, a + 2, strlen(a + 2));
                        if (takes)
                                i++;
                }
        }
        return NULL;
}

/* Global options plus the verb's own, in one array for getopt_long(). */
static struct option *merge_options(const Verb *v) {
        size_t n = ELEMENTSOF(global_options) - 1, m = 0;
        struct option *all;

        while (v && v->options && v->options[m].name)
                m++;
        all = calloc(n + m + 1, sizeof(struct option));
        if (!all)
                return NULL;
        memcpy(all, global_options, n * sizeof(struct option));
        if (m > 0)
                memcpy(all + n, v->options, m * sizeof(struct option));
        return all;
}

static int parse_argv(const Verb *v, int argc, char *argv[], bool *ret_help) {
        _cleanup_free_ struct option *options = merge_options(v);
        int c, r;

        if (!options)
                return ctl_error(CTL_EXIT_FAILED, "Out of memory.");
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_HELP:
                        *ret_help = true;
                        break;
                case OPT_VERSION:
                        printf("iotpubctl %s\n", IOTPUB_VERSION);
                        exit(CTL_EXIT_OK);
                case OPT_ADDRESS:
                        arg_address = optarg;
                        break;
                case OPT_JSON:
                        arg_json = true;
                        break;
                case OPT_NO_LEGEND:
                        arg_legend = false;
                        break;
                case '?':
                        if (optopt && optopt < OPT_GLOBAL_BASE && isprint(optopt))
                                return ctl_usage_error(v ? v->name : NULL, "Unknown option -%c.", optopt);
                        if (optopt)
                                return ctl_usage_error(v ? v->name : NULL, "Option '%s' needs a value.",
                                                       argv[optind - 1]);
                        return ctl_usage_error(v ? v->name : NULL, "Unknown option '%s'.", argv[optind - 1]);
                default:
                        r = v && v->parse_option ? v->parse_option(c, optarg) : CTL_EXIT_USAGE;
                        if (r != CTL_EXIT_OK)
                                return r;
                }
        }
        return CTL_EXIT_OK;
}

int ctl_main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *why = NULL;
        const char *name = find_verb_name(argc, argv);
        const Verb *v = name ? verb_find(name) : NULL;
        bool help = false;
        int r, n;

        if (name && !v)
                return ctl_usage_error(NULL, "Unknown command '%s'.", name);
        r = parse_argv(v, argc, argv, &help);
        if (r != CTL_EXIT_OK)
                return r;
        if (!help && !v)
                return ctl_usage_error(NULL, "Missing command.");
        if (help) {
                if (v)
                        help_verb(v);
                else
                        help_overall();
                return CTL_EXIT_OK;
        }
        n = argc - optind - 1;
        if (n < v->min_args || (v->max_args >= 0 && n > v->max_args))
                return ctl_usage_error(v->name, "Usage: iotpubctl %s", v->usage);
        if (v->needs_bus && ctl_bus_connect(&bus, &why) < 0)
                return ctl_error(CTL_EXIT_UNREACHABLE, "%s", why ?: "cannot connect to the bus");
        return v->run(bus, argc - optind, argv + optind);
}

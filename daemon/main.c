/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iotpubd: publishes applications' messages to Alibaba Cloud IoT Platform on their behalf. */
#include <getopt.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "log.h"
#include "manager.h"

static const char *arg_bus_address = NULL;
static const char *arg_config_dir = "/etc/iotpub";
static const char *arg_state_dir = "/var/lib/iotpub";

static void help(void) {
        printf("Usage: iotpubd [OPTIONS]\n\n"
               "Holds device identities and publishes applications' messages to Alibaba Cloud IoT Platform.\n"
               "Applications talk to it over D-Bus (name org.iotpub1).\n\n"
               "  -h --help                 Show this help and exit\n"
               "     --version              Show the version and exit\n"
               "     --bus-address=ADDRESS  Connect to this bus instead of the system bus\n"
               "     --config-dir=DIR       Configuration and identities (default: /etc/iotpub)\n"
               "     --state-dir=DIR        Outbox and cached tokens (default: /var/lib/iotpub)\n"
               "     --log-level=LEVEL      err, warning, notice, info (default) or debug\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_BUS_ADDRESS, ARG_CONFIG_DIR, ARG_STATE_DIR, ARG_LOG_LEVEL };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                { "config-dir", required_argument, NULL, ARG_CONFIG_DIR },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                {}
        };
        int c, level;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("iotpubd %s\n", IOTPUB_VERSION);
                        return 0;
                case ARG_BUS_ADDRESS:
                        arg_bus_address = optarg;
                        break;
                case ARG_CONFIG_DIR:
                        arg_config_dir = optarg;
                        break;
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_LOG_LEVEL:
                        level = log_level_from_string(optarg);
                        if (level < 0) {
                                fprintf(stderr, "iotpubd: unknown log level '%s'\n", optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(level);
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "iotpubd: unexpected argument '%s'; see --help\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        /* Every file iotpubd creates (the outbox and its -wal and -shm, cached tokens, identities from AddDevice)
         * is for itself alone or gets its mode explicitly: never what the caller's umask would have let through. */
        umask(0077);
        log_setup("iotpubd");
        /* It holds device secrets and tokens: no core dumps, and no ptrace or /proc/PID/mem for processes of
         * its own user (its /proc files become root's). */
        if (prctl(PR_SET_DUMPABLE, 0) < 0)
                log_warning_errno(errno, "Cannot make the process non-dumpable: %m");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        r = manager_new(&(ManagerArgs) {
                                .bus_address = arg_bus_address,
                                .config_dir = arg_config_dir,
                                .state_dir = arg_state_dir,
                        },
                        &m);
        if (r < 0) {
                log_error_errno(r, "Cannot initialise: %m");
                return 1;
        }
        r = manager_start(m);
        if (r < 0)
                return 1;
        r = manager_run(m);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return 1;
        }
        log_info("Exiting.");
        return 0;
}

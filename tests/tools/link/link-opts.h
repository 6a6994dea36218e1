/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* link-opts: the command-line parsing the relays share: addresses, percentages, delays, rates, and the shaping
 * options that come in triples (both directions, up only, down only). */
#pragma once

#include <getopt.h>
#include <stdint.h>
#include <sys/socket.h>

#include "blackhole.h"
#include "link-shape.h"

typedef enum LinkOpt {
        LINK_OPT_LOSS,
        LINK_OPT_DUP,
        LINK_OPT_REORDER,
        LINK_OPT_DELAY,
        LINK_OPT_RATE,
        LINK_OPT_QUEUE,
        _LINK_OPT_MAX,
        _LINK_OPT_INVALID = -1,
} LinkOpt;

/* The getopt value of a triple member: base + kind * 3 + (0 both, 1 up, 2 down). */
#define LINK_OPT_VALUE(base, kind, which) ((base) + (int) (kind) * 3 + (which))
#define LINK_OPT_END(base) LINK_OPT_VALUE(base, _LINK_OPT_MAX, 0)
/* The three struct option entries of a triple: NAME, up-NAME, down-NAME. */
#define LINK_GETOPT(base, name, kind)                                                   \
        { name, required_argument, NULL, LINK_OPT_VALUE(base, kind, 0) },               \
        { "up-" name, required_argument, NULL, LINK_OPT_VALUE(base, kind, 1) },         \
        { "down-" name, required_argument, NULL, LINK_OPT_VALUE(base, kind, 2) }

/* The options both relays take, after the triples of shaping options that start at LINK_OPT_BASE. A relay's own
 * options start at LINK_OPT_OWN. */
enum {
        LINK_OPT_BASE = 0x100,
        LINK_OPT_LISTEN = LINK_OPT_END(LINK_OPT_BASE),
        LINK_OPT_TARGET,
        LINK_OPT_BLACKHOLE,
        LINK_OPT_OWN,
};
#define LINK_GETOPT_COMMON                                                              \
        { "help", no_argument, NULL, 'h' },                                             \
        { "listen", required_argument, NULL, LINK_OPT_LISTEN },                         \
        { "target", required_argument, NULL, LINK_OPT_TARGET },                         \
        { "blackhole", required_argument, NULL, LINK_OPT_BLACKHOLE }

/* The addresses the common options set. */
typedef struct LinkAddrs {
        struct sockaddr_storage listen, target;
        socklen_t listen_len, target_len;
} LinkAddrs;

/* Applies common option c (a getopt value) to a, dirs[] or b: 0, or -EINVAL for a bad argument or an option that is
 * not one of them. */
int link_parse_common(int c, const char *arg, LinkAddrs *a, LinkDir dirs[static _LINK_DIR_MAX],
                      Blackhole *b);
/* Says that arg is not valid, as prog's (nothing for an unknown option: getopt said so); returns -EINVAL. */
int link_bad_argument(const char *prog, const char *arg);
/* After the last option: --listen and --target given, nothing else on the command line. */
int link_parse_finish(const char *prog, const LinkAddrs *a, int optind, int argc);

int link_parse_addr(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);
/* Applies the triple option with getopt value c (base as in LINK_OPT_VALUE) to dirs[]. */
int link_parse_dir_option(LinkDir dirs[static _LINK_DIR_MAX], int base, int c, const char *arg);
/* The end of a relay's setup: SIGTERM, SIGINT and SIGUSR1 go to on_signal through sd-event (blocked first, so
 * none is lost right after readiness), "relay ADDR PORT" is printed for listen_fd, and the black holes start. */
int link_relay_start(sd_event *event, int listen_fd, sd_event_signal_handler_t on_signal, Blackhole *b,
                     blackhole_change_t on_change);

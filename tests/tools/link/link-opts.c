/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* link-opts: parsing of the relays' shared options. Errors are -EINVAL; the caller names the bad argument. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link-opts.h"
#include "macro.h"
#include "parse-util.h"

#define MAX_DELAY_MS 600000

int link_parse_addr(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon = strrchr(s, ':');
        uint64_t port;
        size_t n;

        if (!colon || (n = (size_t) (colon - s)) == 0 || n >= sizeof(host))
                return -EINVAL;
        memcpy(host, s, n);
        host[n] = '\0';
        if (parse_u64(colon + 1, 0, 65535, &port) < 0)
                return -EINVAL;
        memset(ret, 0, sizeof(*ret));
        if (host[0] == '[' && host[n - 1] == ']') {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *) ret;
                host[n - 1] = '\0';
                if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
                        return -EINVAL;
                a->sin6_family = AF_INET6;
                a->sin6_port = htons((uint16_t) port);
                *ret_len = sizeof(*a);
                return 0;
        }
        struct sockaddr_in *a = (struct sockaddr_in *) ret;
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
                return -EINVAL;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t) port);
        *ret_len = sizeof(*a);
        return 0;
}

static int parse_percent(const char *s, double *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || (*end != '\0' && strcmp(end, "%") != 0) || !(v >= 0 && v <= 100))
                return -EINVAL;
        *ret = v / 100.0;
        return 0;
}

/* MS or MIN-MAX, in milliseconds. */
static int parse_range(const char *s, unsigned *ret_min, unsigned *ret_max) {
        unsigned lo, hi;
        int n = -1;

        if (sscanf(s, "%u-%u%n", &lo, &hi, &n) == 2 && n == (int) strlen(s) && lo <= hi && hi <= MAX_DELAY_MS) {
                *ret_min = lo, *ret_max = hi;
                return 0;
        }
        if (sscanf(s, "%u%n", &lo, &n) == 1 && n == (int) strlen(s) && lo <= MAX_DELAY_MS) {
                *ret_min = *ret_max = lo;
                return 0;
        }
        return -EINVAL;
}

static int parse_one(LinkDir *d, LinkOpt kind, const char *arg) {
        switch (kind) {
        case LINK_OPT_LOSS:
                return parse_percent(arg, &d->loss);
        case LINK_OPT_DUP:
                return parse_percent(arg, &d->dup);
        case LINK_OPT_REORDER:
                return parse_percent(arg, &d->reorder);
        case LINK_OPT_DELAY:
                return parse_range(arg, &d->delay_min_ms, &d->delay_max_ms);
        case LINK_OPT_RATE:
                return parse_u64(arg, 0, 10000000, &d->rate_kbit);
        case LINK_OPT_QUEUE:
                return parse_u64(arg, 0, UINT32_MAX, &d->queue_bytes);
        case _LINK_OPT_MAX:
        case _LINK_OPT_INVALID:
                break;
        }
        return -EINVAL;
}

int link_parse_dir_option(LinkDir dirs[static _LINK_DIR_MAX], int base, int c, const char *arg) {
        int kind = (c - base) / 3, which = (c - base) % 3;

        if (c < base || kind >= _LINK_OPT_MAX)
                return -EINVAL;
        for (int d = 0; d < _LINK_DIR_MAX; d++) {
                LinkDir copy = dirs[d];
                int r;

                if (which != 0 && which - 1 != d)
                        continue;
                r = parse_one(&copy, (LinkOpt) kind, arg);
                if (r < 0)
                        return r;
                dirs[d] = copy;
        }
        return 0;
}

static int link_print_bound(int fd) {
        struct sockaddr_storage bound;
        socklen_t len = sizeof(bound);
        char host[INET6_ADDRSTRLEN];
        uint16_t port;

        if (getsockname(fd, (struct sockaddr *) &bound, &len) < 0)
                return -errno;
        if (bound.ss_family == AF_INET6) {
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &bound)->sin6_addr, host, sizeof(host));
                port = ntohs(((struct sockaddr_in6 *) &bound)->sin6_port);
        } else {
                inet_ntop(AF_INET, &((struct sockaddr_in *) &bound)->sin_addr, host, sizeof(host));
                port = ntohs(((struct sockaddr_in *) &bound)->sin_port);
        }
        printf("relay %s %u\n", host, port);
        fflush(stdout);
        return 0;
}

int link_parse_common(int c, const char *arg, LinkAddrs *a, LinkDir dirs[static _LINK_DIR_MAX],
                      Blackhole *b) {
        int r;

        if (c == LINK_OPT_LISTEN)
                r = link_parse_addr(arg, &a->listen, &a->listen_len);
        else if (c == LINK_OPT_TARGET)
                r = link_parse_addr(arg, &a->target, &a->target_len);
        else if (c == LINK_OPT_BLACKHOLE)
                r = blackhole_parse(b, arg);
        else if (c >= LINK_OPT_BASE && c < LINK_OPT_LISTEN)
                r = link_parse_dir_option(dirs, LINK_OPT_BASE, c, arg);
        else
                r = -EINVAL;
        return r;
}

int link_bad_argument(const char *prog, const char *arg) {
        /* Without an argument it is an unknown option, which getopt has reported already. */
        if (arg)
                fprintf(stderr, "%s: invalid argument '%s' (see --help)\n", prog, arg);
        return -EINVAL;
}

int link_parse_finish(const char *prog, const LinkAddrs *a, int optind, int argc) {
        if (a->listen_len == 0 || a->target_len == 0 || optind != argc) {
                fprintf(stderr, "%s: --listen and --target are required (see --help)\n", prog);
                return -EINVAL;
        }
        return 0;
}

int link_relay_start(sd_event *event, int listen_fd, sd_event_signal_handler_t on_signal, Blackhole *b,
                     blackhole_change_t on_change) {
        static const int signals[] = { SIGTERM, SIGINT, SIGUSR1 };
        sigset_t mask;
        int r = 0;

        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                sigaddset(&mask, signals[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(signals); i++)
                r = sd_event_add_signal(event, NULL, signals[i], on_signal, NULL);
        if (r < 0)
                return r;
        r = link_print_bound(listen_fd);
        if (r < 0)
                return r;
        return blackhole_start(b, event, on_change, NULL);
}

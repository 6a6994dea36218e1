/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* udp-relay: a lossy UDP relay for the fault tests. Datagrams from each client go to --target through an
 * upstream socket of their own (so replies find their way back); each direction drops, duplicates, delays and
 * reorders them at the given rates, drawn from a seeded generator. Counters are printed on SIGTERM/SIGUSR1. */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

#define MAX_CLIENTS 64          /* upstream sockets; the least recently used one is recycled */
#define MAX_PENDING 4096        /* delayed datagrams; beyond that a datagram is dropped (counted) */
#define MAX_DATAGRAM 65536
#define RECV_BATCH 64           /* datagrams read per wake-up; the rest wait for the next one */

enum { UP, DOWN, N_DIRS };
static const char *const dir_name[N_DIRS] = { "up", "down" };

typedef struct Faults {
        double loss, dup, reorder;      /* probabilities 0..1 */
        unsigned delay_min_ms, delay_max_ms;
} Faults;

typedef struct Counters {
        uint64_t in, out, dropped, duplicated, reordered, overflow;
} Counters;

typedef struct Client {
        struct sockaddr_storage addr;   /* the client as seen on the listening socket */
        socklen_t addr_len;
        int fd;                         /* connected to the target */
        sd_event_source *source;
        uint64_t last_used;
} Client;

typedef struct Pending {
        int dir;
        struct sockaddr_storage client;
        socklen_t client_len;
        uint64_t due;
        size_t len;
        uint8_t *data;
} Pending;

static Faults arg_faults[N_DIRS];
static uint64_t arg_seed = 1;
static struct sockaddr_storage arg_listen, arg_target;
static socklen_t arg_listen_len, arg_target_len;

static sd_event *event;
static int listen_fd = -1;
static Client clients[MAX_CLIENTS];
static Pending pending[MAX_PENDING + 1];   /* one spare slot keeps enqueue() simple */
static size_t n_pending;
static sd_event_source *timer;
static Counters counters[N_DIRS];
static uint64_t rng_state;
static uint8_t buf[MAX_DATAGRAM];

/* splitmix64: small, fast, and the same sequence for the same seed everywhere. */
static uint64_t rng_next(void) {
        uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}
static bool chance(double p) {
        return p > 0 && (double) (rng_next() >> 11) / (double) (UINT64_C(1) << 53) < p;
}
static unsigned rng_between(unsigned lo, unsigned hi) {
        return hi <= lo ? lo : lo + (unsigned) (rng_next() % (hi - lo + 1));
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static void help(void) {
        printf("udp-relay --listen=ADDR:PORT --target=ADDR:PORT [--loss=P] [--dup=P] [--reorder=P]\n"
               "          [--delay-ms=MIN-MAX] [--up-loss=P] [--down-loss=P] [--up-dup=P] [--down-dup=P]\n"
               "          [--up-reorder=P] [--down-reorder=P] [--up-delay-ms=MIN-MAX] [--down-delay-ms=...]\n"
               "          [--seed=N]\n"
               "Relays UDP datagrams between clients of ADDR:PORT (\"up\") and the target (\"down\"),\n"
               "dropping, duplicating, delaying and reordering them. P is a percentage (0-100). Prints\n"
               "\"relay ADDR PORT\" and notifies READY=1; SIGUSR1 prints the counters, SIGTERM prints them\n"
               "and exits 0.\n"
               "IPv6 addresses are written [ADDR]:PORT.\n");
}

static int parse_addr(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon = strrchr(s, ':');
        char *end;
        unsigned long port;
        size_t n;

        if (!colon || (n = (size_t) (colon - s)) == 0 || n >= sizeof(host))
                return -EINVAL;
        memcpy(host, s, n);
        host[n] = '\0';
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (errno != 0 || end == colon + 1 || *end != '\0' || port > 65535)
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

static int parse_range(const char *s, unsigned *ret_min, unsigned *ret_max) {
        unsigned lo, hi;
        int n = -1;

        if (sscanf(s, "%u-%u%n", &lo, &hi, &n) == 2 && n == (int) strlen(s) && lo <= hi && hi <= 60000) {
                *ret_min = lo, *ret_max = hi;
                return 0;
        }
        if (sscanf(s, "%u%n", &lo, &n) == 1 && n == (int) strlen(s) && lo <= 60000) {
                *ret_min = *ret_max = lo;
                return 0;
        }
        return -EINVAL;
}

/* Options come in triples: both directions, up only, down only. */
enum { OPT_LOSS = 0x100, OPT_DUP = 0x103, OPT_REORDER = 0x106, OPT_DELAY = 0x109, OPT_SEED = 0x10c,
       OPT_LISTEN, OPT_TARGET };

static int parse_fault(int c, const char *arg) {
        int kind = (c - OPT_LOSS) / 3 * 3 + OPT_LOSS, which = (c - OPT_LOSS) % 3;
        Faults f;
        int r = 0;

        for (int d = 0; d < N_DIRS; d++) {
                if (which != 0 && which - 1 != d)
                        continue;
                f = arg_faults[d];
                if (kind == OPT_LOSS)
                        r = parse_percent(arg, &f.loss);
                else if (kind == OPT_DUP)
                        r = parse_percent(arg, &f.dup);
                else if (kind == OPT_REORDER)
                        r = parse_percent(arg, &f.reorder);
                else
                        r = parse_range(arg, &f.delay_min_ms, &f.delay_max_ms);
                if (r < 0)
                        return r;
                arg_faults[d] = f;
        }
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "listen", required_argument, NULL, OPT_LISTEN },
                { "target", required_argument, NULL, OPT_TARGET },
                { "seed", required_argument, NULL, OPT_SEED },
                { "loss", required_argument, NULL, OPT_LOSS },
                { "up-loss", required_argument, NULL, OPT_LOSS + 1 },
                { "down-loss", required_argument, NULL, OPT_LOSS + 2 },
                { "dup", required_argument, NULL, OPT_DUP },
                { "up-dup", required_argument, NULL, OPT_DUP + 1 },
                { "down-dup", required_argument, NULL, OPT_DUP + 2 },
                { "reorder", required_argument, NULL, OPT_REORDER },
                { "up-reorder", required_argument, NULL, OPT_REORDER + 1 },
                { "down-reorder", required_argument, NULL, OPT_REORDER + 2 },
                { "delay-ms", required_argument, NULL, OPT_DELAY },
                { "up-delay-ms", required_argument, NULL, OPT_DELAY + 1 },
                { "down-delay-ms", required_argument, NULL, OPT_DELAY + 2 },
                {}
        };
        bool have_listen = false, have_target = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                r = 0;
                if (c == 'h') {
                        help();
                        exit(EXIT_SUCCESS);
                } else if (c == OPT_LISTEN) {
                        r = parse_addr(optarg, &arg_listen, &arg_listen_len);
                        have_listen = true;
                } else if (c == OPT_TARGET) {
                        r = parse_addr(optarg, &arg_target, &arg_target_len);
                        have_target = true;
                } else if (c == OPT_SEED) {
                        char *end;
                        errno = 0;
                        arg_seed = strtoull(optarg, &end, 10);
                        r = errno != 0 || end == optarg || *end != '\0' ? -EINVAL : 0;
                } else if (c >= OPT_LOSS && c < OPT_SEED)
                        r = parse_fault(c, optarg);
                else
                        return -EINVAL;
                if (r < 0) {
                        fprintf(stderr, "udp-relay: invalid argument '%s'\n", optarg);
                        return r;
                }
        }
        if (!have_listen || !have_target || optind != argc) {
                fprintf(stderr, "udp-relay: --listen and --target are required (see --help)\n");
                return -EINVAL;
        }
        return 0;
}

static void print_counters(void) {
        for (int d = 0; d < N_DIRS; d++) {
                const Counters *c = &counters[d];
                printf("%s in=%" PRIu64 " out=%" PRIu64 " dropped=%" PRIu64 " duplicated=%" PRIu64
                       " reordered=%" PRIu64 " overflow=%" PRIu64 "\n",
                       dir_name[d], c->in, c->out, c->dropped, c->duplicated, c->reordered, c->overflow);
        }
        fflush(stdout);
}

static Client *client_find(const struct sockaddr_storage *addr, socklen_t len) {
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                if (clients[i].fd >= 0 && clients[i].addr_len == len &&
                    memcmp(&clients[i].addr, addr, len) == 0)
                        return &clients[i];
        return NULL;
}

static void transmit(int dir, const struct sockaddr_storage *client, socklen_t client_len, const void *data,
                     size_t len) {
        Client *c = client_find(client, client_len);
        ssize_t n;

        if (dir == UP)
                n = c ? send(c->fd, data, len, MSG_DONTWAIT) : -1;
        else
                n = sendto(listen_fd, data, len, MSG_DONTWAIT, (const struct sockaddr *) client, client_len);
        /* A refused or full socket loses the datagram, as a network would. */
        if (n == (ssize_t) len)
                counters[dir].out++;
        else
                counters[dir].dropped++;
}

static int arm_timer(void) {
        uint64_t next = UINT64_MAX;

        for (size_t i = 0; i < n_pending; i++)
                next = MIN(next, pending[i].due);
        if (next == UINT64_MAX)
                return sd_event_source_set_enabled(timer, SD_EVENT_OFF);
        int r = sd_event_source_set_time(timer, next);
        return r < 0 ? r : sd_event_source_set_enabled(timer, SD_EVENT_ONESHOT);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        uint64_t now = now_usec();

        /* Bounded: each pass either removes an entry or moves on. */
        for (size_t i = 0; i < n_pending;) {
                Pending *p = &pending[i];
                if (p->due > now) {
                        i++;
                        continue;
                }
                transmit(p->dir, &p->client, p->client_len, p->data, p->len);
                free(p->data);
                *p = pending[--n_pending];
        }
        return arm_timer();
}

static void enqueue(int dir, const struct sockaddr_storage *client, socklen_t client_len, const void *data,
                    size_t len, unsigned delay_ms) {
        Pending *p;

        if (delay_ms == 0) {
                transmit(dir, client, client_len, data, len);
                return;
        }
        p = &pending[n_pending];
        p->data = n_pending < MAX_PENDING ? malloc(len ? len : 1) : NULL;
        if (!p->data) {
                counters[dir].overflow++;
                counters[dir].dropped++;
                return;
        }
        memcpy(p->data, data, len);
        p->dir = dir, p->client = *client, p->client_len = client_len, p->len = len;
        p->due = now_usec() + (uint64_t) delay_ms * 1000;
        n_pending++;
        if (arm_timer() < 0)
                fprintf(stderr, "udp-relay: cannot arm the timer\n");
}

/* One datagram entering the relay in direction dir: decide its fate with the seeded generator. */
static void relay(int dir, const struct sockaddr_storage *client, socklen_t client_len, size_t len) {
        const Faults *f = &arg_faults[dir];
        unsigned copies, delay;

        counters[dir].in++;
        if (chance(f->loss)) {
                counters[dir].dropped++;
                return;
        }
        copies = chance(f->dup) ? 2 : 1;
        counters[dir].duplicated += copies - 1;
        for (unsigned k = 0; k < copies; k++) {
                delay = rng_between(f->delay_min_ms, f->delay_max_ms);
                if (chance(f->reorder)) {
                        /* Held back long enough for the next datagrams to overtake it. */
                        delay += rng_between(5, 20 + f->delay_max_ms);
                        counters[dir].reordered++;
                }
                enqueue(dir, client, client_len, buf, len, delay);
        }
}

static int on_upstream(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Client *c = userdata;

        for (int i = 0; i < RECV_BATCH; i++) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0)
                        break;  /* EAGAIN, or an ICMP error from the target: nothing to relay */
                c->last_used = now_usec();
                relay(DOWN, &c->addr, c->addr_len, (size_t) n);
        }
        return 0;
}

static void client_drop(Client *c) {
        c->source = sd_event_source_disable_unref(c->source);
        c->fd = safe_close(c->fd);
}

static Client *client_new(const struct sockaddr_storage *addr, socklen_t len) {
        Client *c = NULL;
        int fd, r;

        for (size_t i = 0; i < MAX_CLIENTS; i++)
                if (clients[i].fd < 0 || !c || (c->fd >= 0 && clients[i].last_used < c->last_used))
                        c = &clients[i];
        if (c->fd >= 0)
                client_drop(c);
        fd = socket(arg_target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return NULL;
        if (connect(fd, (const struct sockaddr *) &arg_target, arg_target_len) < 0) {
                safe_close(fd);
                return NULL;
        }
        r = sd_event_add_io(event, &c->source, fd, EPOLLIN, on_upstream, c);
        if (r < 0) {
                safe_close(fd);
                return NULL;
        }
        c->fd = fd;
        c->addr = *addr, c->addr_len = len;
        return c;
}

static int on_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        for (int i = 0; i < RECV_BATCH; i++) {
                struct sockaddr_storage from;
                socklen_t from_len = sizeof(from);
                ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *) &from, &from_len);
                Client *c;

                if (n < 0)
                        break;
                c = client_find(&from, from_len) ?: client_new(&from, from_len);
                if (!c) {
                        counters[UP].in++;
                        counters[UP].dropped++;
                        continue;
                }
                c->last_used = now_usec();
                relay(UP, &from, from_len, (size_t) n);
        }
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        print_counters();
        return si->ssi_signo == SIGUSR1 ? 0 : sd_event_exit(event, 0);
}

static int setup(void) {
        char host[INET6_ADDRSTRLEN];
        struct sockaddr_storage bound;
        socklen_t bound_len = sizeof(bound);
        uint16_t port;
        int r;

        listen_fd = socket(arg_listen.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *) &arg_listen, arg_listen_len) < 0 ||
            getsockname(listen_fd, (struct sockaddr *) &bound, &bound_len) < 0)
                return -errno;
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_io(event, NULL, listen_fd, EPOLLIN, on_listen, NULL);
        if (r >= 0)
                r = sd_event_add_time(event, &timer, CLOCK_MONOTONIC, 0, 0, on_timer, NULL);
        if (r >= 0)
                r = sd_event_source_set_enabled(timer, SD_EVENT_OFF);
        /* Blocked first, so sd-event's signalfd gets them (and none is lost right after readiness). */
        static const int signals[] = { SIGTERM, SIGINT, SIGUSR1 };
        sigset_t mask;
        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                sigaddset(&mask, signals[i]);
        if (r >= 0 && sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                r = -errno;
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(signals); i++)
                r = sd_event_add_signal(event, NULL, signals[i], on_signal, NULL);
        if (r < 0)
                return r;
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

int main(int argc, char *argv[]) {
        int r;

        if (parse_argv(argc, argv) < 0)
                return 2;
        rng_state = arg_seed;
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                clients[i].fd = -1;
        r = setup();
        if (r < 0) {
                fprintf(stderr, "udp-relay: cannot set up: %s\n", strerror(-r));
                return 1;
        }
        (void) sd_notify(0, "READY=1");
        r = sd_event_loop(event);
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                client_drop(&clients[i]);
        for (size_t i = 0; i < n_pending; i++)
                free(pending[i].data);
        sd_event_source_unref(timer);
        sd_event_unref(event);
        safe_close(listen_fd);
        return r < 0 ? 1 : 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* udp-relay: a UDP relay that emulates a carrier link, for the fault tests and the field benchmark. Datagrams
 * from each client go to --target through an upstream socket of their own (the client's NAT mapping, so replies
 * find their way back). Each direction shapes them (link/link-shape: rate, loss, duplication, delay, reordering,
 * from a seeded generator), a black hole drops everything (link/blackhole), and a mapping idle for --nat-timeout
 * is forgotten as a carrier NAT forgets it. Counters are printed on SIGTERM/SIGUSR1. */

#include <errno.h>
#include <getopt.h>
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
#include <unistd.h>

#include "link/blackhole.h"
#include "link/link-opts.h"
#include "link/link-shape.h"
#include "macro.h"
#include "parse-util.h"

#define MAX_CLIENTS 64          /* upstream sockets; a forgotten, else the least recently used one is recycled */
#define MAX_PENDING 4096        /* delayed datagrams; beyond that a datagram is dropped (counted) */
#define MAX_DATAGRAM 65536
#define RECV_BATCH 64           /* datagrams read per wake-up; the rest wait for the next one */

static const char *const dir_name[_LINK_DIR_MAX] = { "up", "down" };

typedef struct Client {
        struct sockaddr_storage addr;   /* the client as seen on the listening socket */
        socklen_t addr_len;
        int fd;                         /* connected to the target: the mapping's public port */
        sd_event_source *source;
        uint64_t last_used;             /* traffic either way through the mapping */
        bool forgotten;                 /* by the NAT: what still arrives on fd is dropped */
} Client;

typedef struct Pending {
        int dir;
        struct sockaddr_storage client;
        socklen_t client_len;
        uint64_t due;
        size_t len;
        uint8_t *data;
} Pending;

static LinkDir arg_link[_LINK_DIR_MAX];
static uint64_t arg_seed = 1, arg_nat_timeout_usec;
static LinkAddrs arg_addrs;

static sd_event *event;
static int listen_fd = -1;
static Client clients[MAX_CLIENTS];
static Pending pending[MAX_PENDING];
static size_t n_pending;
static sd_event_source *timer;
static LinkRng rng;
static Blackhole blackhole;
static uint64_t nat_mappings, nat_forgotten, dumps;
static uint8_t buf[MAX_DATAGRAM];

static void help(void) {
        printf("udp-relay --listen=ADDR:PORT --target=ADDR:PORT [OPTIONS...]\n"
               "Relays UDP datagrams between clients of ADDR:PORT (\"up\") and the target (\"down\")\n"
               "through an emulated carrier link. Each shaping option also comes as --up-OPTION and\n"
               "--down-OPTION for one direction only.\n"
               "  --loss=P, --dup=P, --reorder=P   drop, duplicate, hold back P %% of the datagrams\n"
               "  --delay-ms=MS|MIN-MAX   one-way delay, fixed or uniformly drawn (jitter)\n"
               "  --rate-kbit=KBIT        serialisation rate (1000 bit/s units): a datagram leaves the\n"
               "                          link len*8/rate after the previous one, then the delay applies\n"
               "  --queue-bytes=N         bound of the serialisation queue, drop-tail (default %d; 0: none)\n"
               "  --seed=N                seed of the loss/dup/reorder/jitter decisions (default 1)\n"
               "  --nat-timeout=SEC       a client's mapping is forgotten after SEC s without traffic\n"
               "                          either way: its next datagram leaves from a new upstream port,\n"
               "                          and replies to the old one are dropped (counted as nat_drops)\n"
               "  --blackhole=AT+DUR      drop everything both ways from AT to AT+DUR s after the start\n"
               "                          (repeatable; decimals allowed)\n"
               "SIGUSR2 toggles the black hole (the last switch, scheduled or not, wins). Prints \"relay\n"
               "ADDR PORT\" and notifies READY=1. Lines on stdout, KEY=VALUE after a first word:\n"
               "  \"nat map|forget client=PORT upstream=PORT ...\": mappings made and forgotten;\n"
               "  \"blackhole on|off why=schedule|signal mono_us=N real_us=N\";\n"
               "  \"first-up after_off_us=N ...\": the first datagram upstream after a black hole.\n"
               "SIGUSR1 prints the counters (\"up ...\", \"down ...\", \"nat ...\", \"blackhole ...\", then\n"
               "\"dump n=N mono_us=N real_us=N\"); SIGTERM prints them and exits 0. real_us is\n"
               "CLOCK_REALTIME, comparable with bash's $EPOCHREALTIME. IPv6: [ADDR]:PORT.\n",
               LINK_QUEUE_BYTES_DEFAULT);
}

enum { OPT_SEED = LINK_OPT_OWN, OPT_NAT };

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                LINK_GETOPT_COMMON,
                { "seed", required_argument, NULL, OPT_SEED },
                { "nat-timeout", required_argument, NULL, OPT_NAT },
                LINK_GETOPT(LINK_OPT_BASE, "loss", LINK_OPT_LOSS),
                LINK_GETOPT(LINK_OPT_BASE, "dup", LINK_OPT_DUP),
                LINK_GETOPT(LINK_OPT_BASE, "reorder", LINK_OPT_REORDER),
                LINK_GETOPT(LINK_OPT_BASE, "delay-ms", LINK_OPT_DELAY),
                LINK_GETOPT(LINK_OPT_BASE, "rate-kbit", LINK_OPT_RATE),
                LINK_GETOPT(LINK_OPT_BASE, "queue-bytes", LINK_OPT_QUEUE),
                {}
        };
        uint64_t v;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (c == 'h') {
                        help();
                        exit(EXIT_SUCCESS);
                }
                if (c == OPT_SEED)
                        r = parse_u64(optarg, 0, UINT64_MAX, &arg_seed);
                else if (c == OPT_NAT) {
                        r = parse_u64(optarg, 0, 86400, &v);
                        arg_nat_timeout_usec = v * 1000000;
                } else
                        r = link_parse_common(c, optarg, &arg_addrs, arg_link, &blackhole);
                if (r < 0)
                        return link_bad_argument("udp-relay", optarg);
        }
        return link_parse_finish("udp-relay", &arg_addrs, optind, argc);
}

static void print_counters(void) {
        for (int d = 0; d < _LINK_DIR_MAX; d++)
                link_dir_print(stdout, dir_name[d], &arg_link[d]);
        printf("nat mappings=%llu forgotten=%llu timeout_s=%llu\n", (unsigned long long) nat_mappings,
               (unsigned long long) nat_forgotten, (unsigned long long) (arg_nat_timeout_usec / 1000000));
        blackhole_print(&blackhole);
        printf("dump n=%llu", (unsigned long long) ++dumps);
        link_print_stamp(stdout);
        printf("\n");
        fflush(stdout);
}

static uint16_t port_of(const struct sockaddr_storage *a) {
        return ntohs(a->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *) a)->sin6_port
                                              : ((const struct sockaddr_in *) a)->sin_port);
}
static uint16_t local_port(int fd) {
        struct sockaddr_storage a = {};
        socklen_t len = sizeof(a);

        return getsockname(fd, (struct sockaddr *) &a, &len) < 0 ? 0 : port_of(&a);
}
static void print_mapping(const char *what, const Client *c, uint64_t now) {
        printf("nat %s client=%u upstream=%u idle_us=%llu", what, port_of(&c->addr), local_port(c->fd),
               (unsigned long long) (now - c->last_used));
        link_print_stamp(stdout);
        printf("\n");
        fflush(stdout);
}

static bool nat_expired(const Client *c, uint64_t now) {
        return arg_nat_timeout_usec > 0 && now - c->last_used >= arg_nat_timeout_usec;
}
static void nat_forget(Client *c, uint64_t now) {
        c->forgotten = true;
        nat_forgotten++;
        print_mapping("forget", c, now);
}

static Client *client_find(const struct sockaddr_storage *addr, socklen_t len) {
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                if (clients[i].fd >= 0 && !clients[i].forgotten && clients[i].addr_len == len &&
                    memcmp(&clients[i].addr, addr, len) == 0)
                        return &clients[i];
        return NULL;
}

static void client_drop(Client *c) {
        c->source = sd_event_source_disable_unref(c->source);
        c->fd = safe_close(c->fd);
}

static void relay(int dir, const struct sockaddr_storage *client, socklen_t client_len, size_t len);

static int on_upstream(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Client *c = userdata;

        for (int i = 0; i < RECV_BATCH; i++) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                uint64_t now = link_now_usec();

                if (n < 0)
                        break;  /* EAGAIN, or an ICMP error from the target: nothing to relay */
                if (!c->forgotten && nat_expired(c, now))
                        nat_forget(c, now);
                if (c->forgotten) {
                        arg_link[LINK_DOWN].c.in++;
                        arg_link[LINK_DOWN].c.bytes_in += (size_t) n;
                        link_dir_count_drop(&arg_link[LINK_DOWN], (size_t) n, LINK_DROP_NAT);
                        continue;
                }
                c->last_used = now;
                relay(LINK_DOWN, &c->addr, c->addr_len, (size_t) n);
        }
        return 0;
}

/* A free slot, else a forgotten mapping's, else the least recently used one's. */
static Client *client_slot(void) {
        Client *best = &clients[0];

        for (size_t i = 0; i < MAX_CLIENTS; i++) {
                Client *x = &clients[i];
                if (x->fd < 0)
                        return x;
                if (x->forgotten != best->forgotten ? x->forgotten : x->last_used < best->last_used)
                        best = x;
        }
        return best;
}

static Client *client_new(const struct sockaddr_storage *addr, socklen_t len, uint64_t now) {
        Client *c = client_slot();
        int fd, r;

        client_drop(c);
        fd = socket(arg_addrs.target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return NULL;
        if (connect(fd, (const struct sockaddr *) &arg_addrs.target, arg_addrs.target_len) < 0) {
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
        c->last_used = now;
        c->forgotten = false;
        nat_mappings++;
        print_mapping("map", c, now);
        return c;
}

/* The mapping an upstream datagram leaves through: the NAT forgets an idle one and makes a new one. */
static Client *nat_lookup(const struct sockaddr_storage *client, socklen_t client_len, uint64_t now) {
        Client *c = client_find(client, client_len);

        if (c && nat_expired(c, now)) {
                nat_forget(c, now);
                c = NULL;
        }
        return c ?: client_new(client, client_len, now);
}

static void transmit(int dir, const struct sockaddr_storage *client, socklen_t client_len, const void *data,
                     size_t len) {
        uint64_t now = link_now_usec();
        ssize_t n = -1;

        if (blackhole.on) {
                link_dir_count_drop(&arg_link[dir], len, LINK_DROP_BLACKHOLE);
                return;
        }
        if (dir == LINK_UP) {
                Client *c = nat_lookup(client, client_len, now);
                if (c) {
                        c->last_used = now;
                        n = send(c->fd, data, len, MSG_DONTWAIT);
                }
        } else
                n = sendto(listen_fd, data, len, MSG_DONTWAIT, (const struct sockaddr *) client, client_len);
        /* A refused or full socket loses the datagram, as a network would. */
        if (n != (ssize_t) len) {
                link_dir_count_drop(&arg_link[dir], len, LINK_DROP_REFUSED);
                return;
        }
        link_dir_count_out(&arg_link[dir], len);
        if (dir == LINK_UP)
                blackhole_note_up(&blackhole);
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
        uint64_t now = link_now_usec();

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

static void enqueue(int dir, const struct sockaddr_storage *client, socklen_t client_len, size_t len,
                    uint64_t due) {
        Pending *p;

        if (due <= link_now_usec()) {
                transmit(dir, client, client_len, buf, len);
                return;
        }
        p = n_pending < MAX_PENDING ? &pending[n_pending] : NULL;
        if (p)
                p->data = malloc(len ? len : 1);
        if (!p || !p->data) {
                link_dir_count_drop(&arg_link[dir], len, LINK_DROP_OVERFLOW);
                return;
        }
        memcpy(p->data, buf, len);
        p->dir = dir, p->client = *client, p->client_len = client_len, p->len = len, p->due = due;
        n_pending++;
        if (arm_timer() < 0)
                fprintf(stderr, "udp-relay: cannot arm the timer\n");
}

/* One datagram (in buf) entering the relay in direction dir: its fate and departure time come from the link. */
static void relay(int dir, const struct sockaddr_storage *client, socklen_t client_len, size_t len) {
        uint64_t due[2];
        unsigned copies;

        if (blackhole.on) {
                arg_link[dir].c.in++;
                arg_link[dir].c.bytes_in += len;
                link_dir_count_drop(&arg_link[dir], len, LINK_DROP_BLACKHOLE);
                return;
        }
        copies = link_dir_admit(&arg_link[dir], &rng, link_now_usec(), len, due);
        for (unsigned k = 0; k < copies; k++)
                enqueue(dir, client, client_len, len, due[k]);
}

static int on_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        for (int i = 0; i < RECV_BATCH; i++) {
                struct sockaddr_storage from;
                socklen_t from_len = sizeof(from);
                ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *) &from, &from_len);

                if (n < 0)
                        break;
                relay(LINK_UP, &from, from_len, (size_t) n);
        }
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        print_counters();
        return si->ssi_signo == SIGUSR1 ? 0 : sd_event_exit(event, 0);
}

static int setup(void) {
        int r;

        listen_fd = socket(arg_addrs.listen.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *) &arg_addrs.listen, arg_addrs.listen_len) < 0)
                return -errno;
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_io(event, NULL, listen_fd, EPOLLIN, on_listen, NULL);
        if (r >= 0)
                /* Accuracy 1 µs: with 0, sd-event lets a timer slip by up to 250 ms, more than a delay. */
                r = sd_event_add_time(event, &timer, CLOCK_MONOTONIC, 0, 1, on_timer, NULL);
        if (r >= 0)
                r = sd_event_source_set_enabled(timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        return link_relay_start(event, listen_fd, on_signal, &blackhole, NULL);
}

int main(int argc, char *argv[]) {
        int r;

        for (int d = 0; d < _LINK_DIR_MAX; d++)
                link_dir_init(&arg_link[d]);
        if (parse_argv(argc, argv) < 0)
                return 2;
        link_rng_seed(&rng, arg_seed);
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
        blackhole_done(&blackhole);
        sd_event_source_unref(timer);
        sd_event_unref(event);
        safe_close(listen_fd);
        return r < 0 ? 1 : 0;
}

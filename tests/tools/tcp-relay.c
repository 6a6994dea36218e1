/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-relay: a TCP proxy that emulates a carrier link for the https transport. Each accepted connection gets its
 * own connection to --target; the bytes of each direction are delayed and rate-limited as one link
 * (link/link-shape), in order, and held while a black hole is on (link/blackhole). Counters of bytes each way
 * are printed on SIGTERM/SIGUSR1. */

#include <errno.h>
#include <getopt.h>
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

#define MAX_CONNS 64
#define CHUNK_MAX 1400          /* read at a time, about a segment, so that the rate applies smoothly */
#define STREAM_MAX 16384        /* queued per connection and direction; beyond it reading stops (flow control) */

static const char *const dir_name[_LINK_DIR_MAX] = { "up", "down" };

typedef struct Chunk {
        struct Chunk *next;
        uint64_t due;
        size_t len, off;
        uint8_t data[];
} Chunk;

/* One direction of a connection: read from fd[dir], written to fd[!dir]. */
typedef struct Stream {
        Chunk *head, *tail;
        size_t queued;
        bool eof;               /* the sender shut its side */
        bool shut;              /* and that was passed on */
} Stream;

typedef struct Conn {
        bool used, connecting;
        int fd[_LINK_DIR_MAX];  /* [LINK_UP]: the client's socket, [LINK_DOWN]: the one to the target */
        sd_event_source *io[_LINK_DIR_MAX], *timer;
        Stream stream[_LINK_DIR_MAX];
} Conn;

static LinkDir arg_link[_LINK_DIR_MAX];
static LinkAddrs arg_addrs;

static sd_event *event;
static int listen_fd = -1;
static sd_event_source *listen_source;
static Conn conns[MAX_CONNS];
static LinkRng rng;
static Blackhole blackhole;
static uint64_t accepted, failed, dumps;

static void help(void) {
        printf("tcp-relay --listen=ADDR:PORT --target=ADDR:PORT [OPTIONS...]\n"
               "Relays TCP connections of clients of ADDR:PORT to the target through an emulated carrier\n"
               "link: the byte stream \"up\" (client to target) and \"down\" is delayed and rate-limited,\n"
               "in order. Each shaping option also comes as --up-OPTION and --down-OPTION.\n"
               "  --delay-ms=MS|MIN-MAX   one-way delay (with jitter, bytes still arrive in order)\n"
               "  --rate-kbit=KBIT        serialisation rate (1000 bit/s units; 0 = none)\n"
               "  --blackhole=AT+DUR      hold every byte both ways (and accept no connection) from AT\n"
               "                          to AT+DUR s after the start (repeatable); then it flows again\n"
               "SIGUSR2 toggles the black hole (the last switch, scheduled or not, wins). Loss is not\n"
               "emulated: TCP would hide it behind its own retransmission. Prints \"relay ADDR PORT\" and\n"
               "notifies READY=1. Lines on stdout, KEY=VALUE after a first word: \"blackhole on|off\n"
               "why=... mono_us=N real_us=N\", and \"first-up after_off_us=N ...\" for the first bytes\n"
               "sent upstream after a black hole. SIGUSR1 prints the counters (\"up ...\", \"down ...\"\n"
               "with bytes_in/bytes_out, \"conns ...\", \"blackhole ...\", then \"dump n=N mono_us=N\n"
               "real_us=N\"); SIGTERM prints them and exits 0. IPv6: [ADDR]:PORT.\n");
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                LINK_GETOPT_COMMON,
                LINK_GETOPT(LINK_OPT_BASE, "delay-ms", LINK_OPT_DELAY),
                LINK_GETOPT(LINK_OPT_BASE, "rate-kbit", LINK_OPT_RATE),
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (c == 'h') {
                        help();
                        exit(EXIT_SUCCESS);
                }
                if (link_parse_common(c, optarg, &arg_addrs, arg_link, &blackhole) < 0)
                        return link_bad_argument("tcp-relay", optarg);
        }
        return link_parse_finish("tcp-relay", &arg_addrs, optind, argc);
}

static void print_counters(void) {
        size_t open = 0;

        for (size_t i = 0; i < MAX_CONNS; i++)
                open += conns[i].used;
        for (int d = 0; d < _LINK_DIR_MAX; d++)
                link_dir_print(stdout, dir_name[d], &arg_link[d]);
        printf("conns accepted=%llu open=%zu failed=%llu\n", (unsigned long long) accepted, open,
               (unsigned long long) failed);
        blackhole_print(&blackhole);
        printf("dump n=%llu", (unsigned long long) ++dumps);
        link_print_stamp(stdout);
        printf("\n");
        fflush(stdout);
}

static void conn_free(Conn *c) {
        for (int d = 0; d < _LINK_DIR_MAX; d++) {
                Stream *s = &c->stream[d];
                for (Chunk *k = s->head, *next; k; k = next) {
                        next = k->next;
                        free(k);
                }
                c->io[d] = sd_event_source_disable_unref(c->io[d]);
                c->fd[d] = safe_close(c->fd[d]);
        }
        c->timer = sd_event_source_disable_unref(c->timer);
        *c = (Conn) { .fd = { -1, -1 } };
}

static bool stream_readable(const Conn *c, int d) {
        return !blackhole.on && !c->stream[d].eof && c->stream[d].queued < STREAM_MAX &&
               !(d == LINK_DOWN && c->connecting);
}
static bool stream_due(const Conn *c, int d, uint64_t now) {
        return !blackhole.on && !c->connecting && c->stream[d].head && c->stream[d].head->due <= now;
}

/* Which events each socket waits for, and when the timer fires: derived from the state, never stored. */
static int conn_update(Conn *c) {
        uint64_t now = link_now_usec(), next = UINT64_MAX;
        int r;

        for (int i = 0; i < _LINK_DIR_MAX; i++) {
                uint32_t events = 0;
                if (i == LINK_DOWN && c->connecting)
                        events = EPOLLOUT;
                if (stream_readable(c, i))
                        events |= EPOLLIN;
                if (stream_due(c, !i, now))
                        events |= EPOLLOUT;     /* only left due after a write met a full socket */
                r = sd_event_source_set_io_events(c->io[i], events ?: EPOLLIN);
                if (r >= 0)
                        r = sd_event_source_set_enabled(c->io[i], events ? SD_EVENT_ON : SD_EVENT_OFF);
                if (r < 0)
                        return r;
                if (!blackhole.on && c->stream[i].head && c->stream[i].head->due > now)
                        next = MIN(next, c->stream[i].head->due);
        }
        if (next == UINT64_MAX)
                return sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        r = sd_event_source_set_time(c->timer, next);
        return r < 0 ? r : sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

/* Writes what is due of stream d. Returns < 0 when the connection is to be closed. */
static int stream_flush(Conn *c, int d) {
        Stream *s = &c->stream[d];
        uint64_t now = link_now_usec();

        while (stream_due(c, d, now)) {
                Chunk *k = s->head;
                ssize_t n = send(c->fd[!d], k->data + k->off, k->len - k->off, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                arg_link[d].c.bytes_out += (size_t) n;   /* and out counts whole chunks, below */
                if (d == LINK_UP)
                        blackhole_note_up(&blackhole);
                k->off += (size_t) n;
                s->queued -= (size_t) n;
                if (k->off < k->len)
                        continue;
                arg_link[d].c.out++;
                s->head = k->next;
                if (!s->head)
                        s->tail = NULL;
                free(k);
        }
        if (s->eof && !s->head && !s->shut && !c->connecting) {
                (void) shutdown(c->fd[!d], SHUT_WR);
                s->shut = true;
        }
        return c->stream[LINK_UP].shut && c->stream[LINK_DOWN].shut ? -ECONNRESET : 0;
}

/* Reads from fd[d] into stream d, each chunk timed by the link and never before the one in front of it. */
static int stream_fill(Conn *c, int d) {
        Stream *s = &c->stream[d];

        while (stream_readable(c, d)) {
                uint8_t buf[CHUNK_MAX];
                uint64_t due[2];
                ssize_t n = recv(c->fd[d], buf, sizeof(buf), MSG_DONTWAIT);
                Chunk *k;

                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                if (n == 0) {
                        s->eof = true;
                        return 0;
                }
                /* No loss, duplication or queue bound on a stream: link_dir_admit() gives one copy. */
                if (link_dir_admit(&arg_link[d], &rng, link_now_usec(), (size_t) n, due) < 1)
                        continue;
                k = malloc(sizeof(Chunk) + (size_t) n);
                if (!k)
                        return -ENOMEM;
                *k = (Chunk) { .due = s->tail ? MAX(due[0], s->tail->due) : due[0], .len = (size_t) n };
                memcpy(k->data, buf, (size_t) n);
                if (s->tail)
                        s->tail->next = k;
                else
                        s->head = k;
                s->tail = k;
                s->queued += (size_t) n;
        }
        return 0;
}

static int conn_run(Conn *c) {
        int r = 0;

        for (int d = 0; r >= 0 && d < _LINK_DIR_MAX; d++)
                r = stream_fill(c, d);
        for (int d = 0; r >= 0 && d < _LINK_DIR_MAX; d++)
                r = stream_flush(c, d);
        if (r >= 0)
                r = conn_update(c);
        if (r < 0)
                conn_free(c);
        return 0;
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Conn *c = userdata;

        if (c->connecting && fd == c->fd[LINK_DOWN]) {
                int err = 0;
                socklen_t len = sizeof(err);
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
                        failed++;
                        conn_free(c);
                        return 0;
                }
                c->connecting = false;
        }
        return conn_run(c);
}

static int on_conn_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        return conn_run(userdata);
}

static int conn_start(Conn *c, int client_fd) {
        int r;

        c->used = true;
        c->fd[LINK_UP] = client_fd;
        c->fd[LINK_DOWN] = socket(arg_addrs.target.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c->fd[LINK_DOWN] < 0)
                return -errno;
        if (connect(c->fd[LINK_DOWN], (const struct sockaddr *) &arg_addrs.target, arg_addrs.target_len) < 0 &&
            errno != EINPROGRESS)
                return -errno;
        c->connecting = true;
        for (int d = 0; d < _LINK_DIR_MAX; d++) {
                r = sd_event_add_io(event, &c->io[d], c->fd[d], EPOLLIN, on_conn_io, c);
                if (r < 0)
                        return r;
        }
        /* Accuracy 1 µs: with 0, sd-event lets a timer slip by up to 250 ms, more than a delay. */
        r = sd_event_add_time(event, &c->timer, CLOCK_MONOTONIC, 0, 1, on_conn_timer, c);
        return r < 0 ? r : conn_update(c);
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        Conn *c = NULL;

        if (cfd < 0)
                return 0;
        accepted++;
        for (size_t i = 0; !c && i < MAX_CONNS; i++)
                if (!conns[i].used)
                        c = &conns[i];
        if (!c) {
                failed++;
                safe_close(cfd);
                return 0;
        }
        if (conn_start(c, cfd) < 0) {
                failed++;
                conn_free(c);
        }
        return 0;
}

/* A black hole holds everything: no reads, writes or accepts; when it ends, what was held is due at once. */
static void on_blackhole(bool on, void *userdata) {
        (void) sd_event_source_set_enabled(listen_source, on ? SD_EVENT_OFF : SD_EVENT_ON);
        for (size_t i = 0; i < MAX_CONNS; i++)
                if (conns[i].used)
                        (void) conn_run(&conns[i]);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        print_counters();
        return si->ssi_signo == SIGUSR1 ? 0 : sd_event_exit(event, 0);
}

static int setup(void) {
        int r;

        listen_fd = socket(arg_addrs.listen.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (listen_fd < 0 || setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &(int) { 1 }, sizeof(int)) < 0 ||
            bind(listen_fd, (struct sockaddr *) &arg_addrs.listen, arg_addrs.listen_len) < 0 || listen(listen_fd, 64) < 0)
                return -errno;
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_io(event, &listen_source, listen_fd, EPOLLIN, on_accept, NULL);
        if (r < 0)
                return r;
        return link_relay_start(event, listen_fd, on_signal, &blackhole, on_blackhole);
}

int main(int argc, char *argv[]) {
        int r;

        for (int d = 0; d < _LINK_DIR_MAX; d++) {
                link_dir_init(&arg_link[d]);
                arg_link[d].queue_bytes = 0;    /* bounded by STREAM_MAX and flow control instead */
        }
        if (parse_argv(argc, argv) < 0)
                return 2;
        link_rng_seed(&rng, 1);
        for (size_t i = 0; i < MAX_CONNS; i++)
                conns[i] = (Conn) { .fd = { -1, -1 } };
        r = setup();
        if (r < 0) {
                fprintf(stderr, "tcp-relay: cannot set up: %s\n", strerror(-r));
                return 1;
        }
        (void) sd_notify(0, "READY=1");
        r = sd_event_loop(event);
        for (size_t i = 0; i < MAX_CONNS; i++)
                if (conns[i].used)
                        conn_free(&conns[i]);
        blackhole_done(&blackhole);
        sd_event_source_unref(listen_source);
        sd_event_unref(event);
        safe_close(listen_fd);
        return r < 0 ? 1 : 0;
}

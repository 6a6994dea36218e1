/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libiotpub handle: opening and closing, the bus connection (made again when it drops), the stable epoll fd
 * for event loops, dispatching, and the last error. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

#include "client.h"
#include "macro.h"

#define EXPORT __attribute__((visibility("default")))

uint64_t client_now(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

int client_set_error(iotpub *c, int error, const char *fmt, ...) {
        char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) >= 0) {
                free(c->last_error);
                c->last_error = s;
        }
        va_end(ap);
        return error;
}

int client_set_bus_error(iotpub *c, const sd_bus_error *e, int fallback) {
        int r = sd_bus_error_is_set(e) ? client_error_to_errno(e) : fallback;

        if (r >= 0)
                r = -EIO;
        if (sd_bus_error_is_set(e))
                return client_set_error(c, r, "%s", !isempty(e->message) ? e->message : e->name);
        return client_set_error(c, r, "%s", strerror(-r));
}

void client_update_watch(iotpub *c) {
        struct epoll_event ev = {};
        int fd = -1, events;

        if (c->bus && sd_bus_is_open(c->bus) > 0)
                fd = sd_bus_get_fd(c->bus);
        if (fd < 0) {
                if (c->watched_fd >= 0)
                        (void) epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, c->watched_fd, NULL);
                c->watched_fd = -1;
                return;
        }
        events = sd_bus_get_events(c->bus);
        ev.events = (events > 0 && (events & POLLOUT) ? EPOLLOUT : 0) | EPOLLIN;
        ev.data.fd = fd;
        if (fd != c->watched_fd) {
                if (c->watched_fd >= 0)
                        (void) epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, c->watched_fd, NULL);
                c->watched_fd = epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -1 : fd;
        } else if (ev.events != c->watched_events)
                (void) epoll_ctl(c->epoll_fd, EPOLL_CTL_MOD, fd, &ev);
        c->watched_events = ev.events;
}

/* Runs sd_bus_process() until nothing is left to do. A dropped connection is not an error here: the bus is
 * left closed and the next call connects again. */
int client_dispatch(iotpub *c) {
        unsigned i;
        int r = 0;

        /* Bounded: a flood of messages must not keep the caller's loop from running forever. */
        for (i = 0; c->bus && i < 10000; i++) {
                c->dispatching++;
                r = sd_bus_process(c->bus, NULL);
                c->dispatching--;
                if (r == 0)
                        break;
                if (r < 0)
                        return client_errno_is_disconnect(r) ? 0 : r;
        }
        return 0;
}

static void client_drop_bus(iotpub *c) {
        unsigned i;

        if (!c->bus)
                return;
        /* Let sd-bus fail the calls still pending on the dead connection, so publishes go to their resend. */
        for (i = 0; i < 10000; i++) {
                int r;

                c->dispatching++;
                r = sd_bus_process(c->bus, NULL);
                c->dispatching--;
                if (r <= 0)
                        break;
        }
        publish_ops_connection_lost(c);
        c->bus = sd_bus_close_unref(c->bus);
        free(c->owner);
        c->owner = NULL;
        client_update_watch(c);
}

static int client_connect(iotpub *c) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;

        if (c->address) {
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_address(bus, c->address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, 1);
                if (r >= 0)
                        r = sd_bus_start(bus);
        } else
                r = sd_bus_open_system(&bus);
        if (r < 0)
                return client_set_error(c, r, "Cannot connect to the D-Bus bus at %s: %s",
                                        c->address ?: "the system bus", strerror(-r));
        c->bus = TAKE_PTR(bus);
        c->generation++;
        r = client_signals_attach(c);
        if (r < 0) {
                c->bus = sd_bus_close_unref(c->bus);
                return client_set_error(c, r, "Cannot subscribe to iotpubd's signals: %s", strerror(-r));
        }
        client_update_watch(c);
        return 0;
}

int client_ensure_bus(iotpub *c) {
        if (c->bus && sd_bus_is_open(c->bus) > 0)
                return 0;
        /* Never replace the connection from inside its own dispatch. */
        if (c->dispatching)
                return client_set_error(c, -ENOTCONN, "The bus connection dropped; it is re-made after this callback.");
        client_drop_bus(c);
        return client_connect(c);
}

/* Blocking loop of the synchronous calls: dispatch, resend, expire, wait; until *done or the deadline. */
int client_run_until(iotpub *c, const bool *done, uint64_t deadline) {
        unsigned i;
        int r;

        for (i = 0; i < 1000000; i++) {
                uint64_t now, next;

                r = client_ensure_bus(c);
                if (r < 0)
                        return r;
                r = client_dispatch(c);
                if (r < 0)
                        return client_set_error(c, r, "Processing the bus connection failed: %s", strerror(-r));
                publish_ops_tick(c);
                if (*done)
                        return 0;
                if (!c->bus || sd_bus_is_open(c->bus) <= 0)
                        continue;
                now = client_now();
                if (now >= deadline)
                        return -ETIMEDOUT;
                next = MIN(deadline, publish_ops_next_deadline(c));
                r = sd_bus_wait(c->bus, next > now ? next - now : 0);
                if (r < 0 && !client_errno_is_disconnect(r) && r != -EINTR)
                        return client_set_error(c, r, "Waiting on the bus connection failed: %s", strerror(-r));
        }
        return -ETIMEDOUT;
}

/* One blocking method call to iotpubd, on a connection made again if it had dropped; a connection found dead
 * during the call is made again and the call repeated once. Messages that arrive meanwhile are queued by
 * sd-bus and dispatched by the next iotpub_process(). */
int client_call_method(iotpub *c, const char *path, const char *interface, const char *member,
                       sd_bus_message **ret_reply, const char *types, ...) {
        unsigned attempt;
        int r = 0;

        for (attempt = 0; attempt < 2; attempt++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                va_list ap;

                r = client_ensure_bus(c);
                if (r < 0)
                        return r;
                va_start(ap, types);
                r = sd_bus_call_methodv(c->bus, IOTPUB_SERVICE, path, interface, member, &e, ret_reply, types, ap);
                va_end(ap);
                c->pending_dispatch = true;
                if (r >= 0)
                        return r;
                if (!client_errno_is_disconnect(r) || sd_bus_error_is_set(&e))
                        return client_set_bus_error(c, &e, r);
        }
        return client_set_error(c, r, "The bus connection dropped twice during one call: %s", strerror(-r));
}

static int client_new(const char *address, iotpub **ret) {
        iotpub *c;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->watched_fd = -1;
        c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (c->epoll_fd < 0 || (address && !(c->address = strdup(address)))) {
                int r = c->epoll_fd < 0 ? -errno : -ENOMEM;

                (void) iotpub_close(c);
                return r;
        }
        *ret = c;
        return 0;
}

EXPORT int iotpub_open_address(const char *address, iotpub **ret) {
        iotpub *c = NULL;
        int r;

        if (!ret || (address && !*address))
                return -EINVAL;
        r = client_new(address, &c);
        if (r < 0)
                return r;
        r = client_connect(c);
        if (r < 0) {
                (void) iotpub_close(c);
                return r;
        }
        *ret = c;
        return 0;
}

EXPORT int iotpub_open(iotpub **ret) {
        const char *e = secure_getenv("IOTPUB_BUS_ADDRESS");

        return iotpub_open_address(isempty(e) ? NULL : e, ret);
}

EXPORT iotpub *iotpub_close(iotpub *c) {
        if (!c)
                return NULL;
        while (c->ops)
                publish_op_free(c->ops);
        /* Write out what is queued (e.g. asynchronous publishes), but never wait for a bus that never
         * finished connecting. */
        if (c->bus && sd_bus_is_ready(c->bus) > 0)
                (void) sd_bus_flush(c->bus);
        c->bus = sd_bus_close_unref(c->bus);
        c->epoll_fd = safe_close(c->epoll_fd);
        free(c->owner);
        free(c->address);
        free(c->last_error);
        free(c);
        return NULL;
}

EXPORT const char *iotpub_last_error(const iotpub *c) {
        if (!c)
                return NULL;
        return c->last_error ?: "";
}

EXPORT int iotpub_set_callbacks(iotpub *c, iotpub_delivered_fn delivered, iotpub_failed_fn failed, void *userdata) {
        if (!c)
                return -EINVAL;
        c->on_delivered = delivered;
        c->on_failed = failed;
        c->userdata = userdata;
        return 0;
}

EXPORT int iotpub_get_fd(iotpub *c) {
        return c ? c->epoll_fd : -EINVAL;
}

EXPORT int iotpub_get_events(iotpub *c) {
        return c ? POLLIN : -EINVAL;
}

EXPORT int iotpub_get_timeout(iotpub *c, uint64_t *ret_usec) {
        uint64_t until = UINT64_MAX, now = client_now();

        if (!c || !ret_usec)
                return -EINVAL;
        if (c->pending_dispatch)
                until = 0;
        else if (!c->bus || sd_bus_is_open(c->bus) <= 0)
                until = c->reconnect_at;
        else if (sd_bus_get_timeout(c->bus, &until) < 0)
                until = 0;
        until = MIN(until, publish_ops_next_deadline(c));
        *ret_usec = until == UINT64_MAX ? IOTPUB_INFINITY : until > now ? until - now : 0;
        return 0;
}

EXPORT int iotpub_process(iotpub *c) {
        int r;

        if (!c)
                return -EINVAL;
        if (c->dispatching)
                return -EBUSY;
        c->pending_dispatch = false;
        if ((!c->bus || sd_bus_is_open(c->bus) <= 0) && client_now() < c->reconnect_at)
                return 0;
        r = client_ensure_bus(c);
        if (r < 0) {
                c->reconnect_at = client_now() + CLIENT_RECONNECT_USEC;
                publish_ops_tick(c);
                return r;
        }
        r = client_dispatch(c);
        publish_ops_tick(c);
        client_update_watch(c);
        return r < 0 ? client_set_error(c, r, "Processing the bus connection failed: %s", strerror(-r)) : 0;
}

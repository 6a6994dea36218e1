/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libcurl's multi socket interface on sd-event: CURLMOPT_SOCKETFUNCTION adds, changes and drops io sources,
 * CURLMOPT_TIMERFUNCTION arms or disarms one timer, and both wake-ups end in curl_multi_socket_action(). */
#include <errno.h>
#include <stdlib.h>

#include "curl-glue.h"
#include "log.h"

typedef struct CurlGlueSocket {
        curl_socket_t fd;
        sd_event_source *source;
} CurlGlueSocket;

typedef struct CurlGlueTransfer {
        CURL *easy;                     /* NULL: the slot is free */
        curl_glue_done_t done;
        void *userdata;
        char error[CURL_ERROR_SIZE];
} CurlGlueTransfer;

struct CurlGlue {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        CurlGlueSocket *sockets;        /* the few sockets curl watches now: connections and resolver */
        size_t n_sockets;
        CurlGlueTransfer *transfers;    /* the transfers in progress */
        size_t n_transfers;
};

static int curl_glue_errno(CURLcode c) {
        switch (c) {
        case CURLE_OK:
                return 0;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
                return -EKEYREJECTED;
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
                return -ENOKEY;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        case CURLE_SSL_CONNECT_ERROR:
                return -EPROTO;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        case CURLE_URL_MALFORMAT:
                return -EINVAL;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

static CurlGlueTransfer *curl_glue_find_transfer(CurlGlue *g, CURL *easy) {
        for (size_t i = 0; i < g->n_transfers; i++)
                if (g->transfers[i].easy == easy)
                        return &g->transfers[i];
        return NULL;
}

static CurlGlueSocket *curl_glue_find_socket(CurlGlue *g, curl_socket_t fd) {
        for (size_t i = 0; i < g->n_sockets; i++)
                if (g->sockets[i].fd == fd)
                        return &g->sockets[i];
        return NULL;
}

static void curl_glue_drop_socket(CurlGlue *g, CurlGlueSocket *s) {
        sd_event_source_disable_unref(s->source);
        *s = g->sockets[--g->n_sockets];
}

/* Hands every finished transfer to its callback. The callback may start the next transfer right away. */
static void curl_glue_check_finished(CurlGlue *g) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(g->multi, &left))) {
                CURL *easy = msg->easy_handle;
                CURLcode code = msg->data.result;
                CurlGlueTransfer *x = curl_glue_find_transfer(g, easy);
                curl_glue_done_t done;
                void *userdata;

                if (msg->msg != CURLMSG_DONE || !x)
                        continue;
                if (code != CURLE_OK)
                        log_debug("curl: %s", x->error[0] ? x->error : curl_easy_strerror(code));
                done = x->done;
                userdata = x->userdata;
                (void) curl_multi_remove_handle(g->multi, easy);
                *x = (CurlGlueTransfer) {};
                done(userdata, easy, curl_glue_errno(code));
        }
}

static void curl_glue_action(CurlGlue *g, curl_socket_t fd, int events) {
        int running;
        CURLMcode mc;

        mc = curl_multi_socket_action(g->multi, fd, events, &running);
        if (mc != CURLM_OK)
                log_debug("curl_multi_socket_action(): %s", curl_multi_strerror(mc));
        curl_glue_check_finished(g);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int events = 0;

        if (revents & (EPOLLIN | EPOLLHUP))
                events |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                events |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                events |= CURL_CSELECT_ERR;
        curl_glue_action(userdata, fd, events);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        curl_glue_action(userdata, CURL_SOCKET_TIMEOUT, 0);
        return 0;
}

static uint32_t poll_to_epoll(int what) {
        switch (what) {
        case CURL_POLL_IN:
                return EPOLLIN;
        case CURL_POLL_OUT:
                return EPOLLOUT;
        case CURL_POLL_INOUT:
                return EPOLLIN | EPOLLOUT;
        }
        return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        CurlGlue *g = userp;
        CurlGlueSocket *s = curl_glue_find_socket(g, fd), *array;
        int r;

        if (what == CURL_POLL_REMOVE) {
                if (s)
                        curl_glue_drop_socket(g, s);
                return 0;
        }
        if (s)
                return sd_event_source_set_io_events(s->source, poll_to_epoll(what)) < 0 ? -1 : 0;

        array = reallocarray(g->sockets, g->n_sockets + 1, sizeof(CurlGlueSocket));
        if (!array)
                return -1;
        g->sockets = array;
        s = &g->sockets[g->n_sockets];
        r = sd_event_add_io(g->event, &s->source, fd, poll_to_epoll(what), on_io, g);
        if (r < 0) {
                log_debug_errno(r, "Cannot watch a curl socket: %m");
                return -1;
        }
        (void) sd_event_source_set_description(s->source, "curl-io");
        s->fd = fd;
        g->n_sockets++;
        return 0;
}

/* timeout_ms < 0: no timeout wanted; the timer stays off, so an idle glue arms nothing. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
        CurlGlue *g = userp;
        int r;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(g->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        r = sd_event_source_set_time_relative(g->timer, (uint64_t) timeout_ms * 1000);
        if (r >= 0)
                r = sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT);
        return r < 0 ? -1 : 0;
}

int curl_glue_set_connections(CurlGlue *g, unsigned n) {
        if (curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, (long) n) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) n) != CURLM_OK)
                return -EIO;
        return 0;
}

int curl_glue_new(sd_event *event, CurlGlue **ret) {
        _cleanup_(curl_glue_freep) CurlGlue *g = NULL;
        int r;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        g = calloc(1, sizeof(*g));
        if (!g) {
                curl_global_cleanup();
                return -ENOMEM;
        }
        g->event = sd_event_ref(event);
        g->multi = curl_multi_init();
        if (!g->multi)
                return -ENOMEM;
        r = sd_event_add_time_relative(event, &g->timer, CLOCK_MONOTONIC, 0, 0, on_timer, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(g->timer, "curl-timer");

        if (curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK ||
            curl_glue_set_connections(g, 1) < 0)
                return -EIO;
        *ret = TAKE_PTR(g);
        return 0;
}

CurlGlue *curl_glue_free(CurlGlue *g) {
        if (!g)
                return NULL;
        for (size_t i = 0; i < g->n_transfers; i++)
                if (g->transfers[i].easy)
                        curl_glue_cancel(g, g->transfers[i].easy);
        free(g->transfers);
        /* Closing cached connections may still call on_curl_socket(), so the sockets go after the multi. */
        if (g->multi)
                curl_multi_cleanup(g->multi);
        for (size_t i = 0; i < g->n_sockets; i++)
                sd_event_source_disable_unref(g->sockets[i].source);
        free(g->sockets);
        sd_event_source_disable_unref(g->timer);
        sd_event_unref(g->event);
        free(g);
        curl_global_cleanup();
        return NULL;
}

int curl_glue_start(CurlGlue *g, CURL *easy, curl_glue_done_t cb, void *userdata) {
        CurlGlueTransfer *x;
        CURLMcode mc;

        if (curl_glue_find_transfer(g, easy))
                return -EBUSY;
        x = curl_glue_find_transfer(g, NULL);
        if (!x) {
                CurlGlueTransfer *array = reallocarray(g->transfers, g->n_transfers + 1, sizeof(CurlGlueTransfer));

                if (!array)
                        return -ENOMEM;
                g->transfers = array;
                x = &g->transfers[g->n_transfers++];
                *x = (CurlGlueTransfer) {};
        }
        x->error[0] = 0;
        if (curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, x->error) != CURLE_OK)
                return -ENOMEM;
        /* Adding arms a timeout of 0 through on_curl_timer(): the transfer starts from the event loop. */
        mc = curl_multi_add_handle(g->multi, easy);
        if (mc != CURLM_OK) {
                log_debug("curl_multi_add_handle(): %s", curl_multi_strerror(mc));
                return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
        }
        x->easy = easy;
        x->done = cb;
        x->userdata = userdata;
        return 0;
}

void curl_glue_cancel(CurlGlue *g, CURL *easy) {
        CurlGlueTransfer *x = easy ? curl_glue_find_transfer(g, easy) : NULL;

        if (!x)
                return;
        (void) curl_multi_remove_handle(g->multi, easy);
        *x = (CurlGlueTransfer) {};
}

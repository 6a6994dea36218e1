/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libmicrohttpd on sd-event: its epoll fd is one io source, MHD_get_timeout() feeds one timer, and every
 * wake-up ends in MHD_run(). Bodies are collected per request, bounded at 128 KiB, then handed over whole. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "macro.h"
#include "sim-https-api.h"
#include "sim-https.h"

#define PEM_MAX (1024 * 1024)
#define CONNECTION_TIMEOUT_SEC 60
/* RSA key exchange and CBC suites as well, for the official SDK (PROTOCOL.md C.1). */
#define TLS_PRIORITIES "NORMAL:+RSA:+AES-128-CBC:+AES-256-CBC:+SHA1:+SHA256"

struct SimHttps {
        SimServer *server;
        struct MHD_Daemon *daemon;
        char *cert_pem;
        char *key_pem;                  /* private key; wiped on free */
        sd_event_source *io_source;
        sd_event_source *timer_source;
};

typedef struct Upload {
        uint8_t *body;
        size_t len;
        bool too_large;
} Upload;

static int read_pem(const char *path, char **ret) {
        _cleanup_erase_free_ char *buf = NULL;
        FILE *f;
        size_t n;

        f = fopen(path, "re");
        if (!f)
                return log_error_errno(errno, "Cannot open %s: %m", path);
        buf = malloc(PEM_MAX + 1);
        if (!buf) {
                fclose(f);
                return log_oom();
        }
        n = fread(buf, 1, PEM_MAX + 1, f);
        if (ferror(f) || n == 0 || n > PEM_MAX) {
                fclose(f);
                return log_error_errno(EINVAL, "Cannot read %s, or it is empty or larger than 1 MiB.", path);
        }
        fclose(f);
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int sim_https_new(SimServer *s, SimHttps **ret) {
        SimHttps *h;
        int r;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->server = s;
        r = read_pem(s->config->cert_path, &h->cert_pem);
        if (r >= 0)
                r = read_pem(s->config->key_path, &h->key_pem);
        if (r < 0) {
                sim_https_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

SimHttps *sim_https_free(SimHttps *h) {
        if (!h)
                return NULL;
        sd_event_source_disable_unref(h->io_source);
        sd_event_source_disable_unref(h->timer_source);
        if (h->daemon)
                MHD_stop_daemon(h->daemon);
        free(h->cert_pem);
        erase_and_free(h->key_pem);
        free(h);
        return NULL;
}

static void peer_text(struct MHD_Connection *conn, char *buf, size_t size) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char addr[INET6_ADDRSTRLEN] = "?";
        unsigned port = 0;

        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) ci->client_addr;

                (void) inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
                port = ntohs(in->sin_port);
        } else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) ci->client_addr;

                (void) inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
                port = ntohs(in6->sin6_port);
        }
        (void) snprintf(buf, size, "%s:%u", addr, port);
}

/* HTTP 200 with the JSON business code (C.8); MHD writes "Content-Length" spelled exactly so. */
static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, char *json) {
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = MHD_create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_COPY);
        explicit_bzero(json, strlen(json));
        if (!resp)
                return MHD_NO;
        if (MHD_add_response_header(resp, "Content-Type", "application/json") != MHD_YES) {
                MHD_destroy_response(resp);
                return MHD_NO;
        }
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result answer(SimHttps *h, struct MHD_Connection *conn, const char *url, const Upload *u) {
        _cleanup_free_ char *json = NULL;
        char peer[INET6_ADDRSTRLEN + 8];
        int r;

        peer_text(conn, peer, sizeof(peer));
        r = sim_https_handle(h->server,
                             &(SimHttpsRequest) {
                                     .peer = peer,
                                     .path = url,
                                     .password = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "password"),
                                     .body = u->body ?: (const uint8_t *) "",
                                     .body_len = u->len,
                                     .body_too_large = u->too_large,
                             },
                             &json);
        if (r < 0) {
                log_error_errno(r, "Cannot answer a request from %s: %m", peer);
                if (sim_https_error_reply(SIM_HTTPS_COMMON_ERROR, &json) < 0)
                        return MHD_NO;
                return respond(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, json);
        }
        return respond(conn, MHD_HTTP_OK, json);
}

static int upload_append(Upload *u, const char *data, size_t size) {
        uint8_t *p;

        if (u->too_large || size > SIM_HTTPS_BODY_MAX - u->len) {
                /* Read and drop the rest, so the reply can still be sent on a clean connection. */
                u->too_large = true;
                u->body = mfree(u->body);
                u->len = 0;
                return 0;
        }
        p = realloc(u->body, u->len + size);
        if (!p)
                return -ENOMEM;
        memcpy(p + u->len, data, size);
        u->body = p;
        u->len += size;
        return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        SimHttps *h = cls;
        Upload *u = *con_cls;
        char *json = NULL;
        enum MHD_Result ret;

        if (!streq(method, "POST")) {
                log_info("Rejected %s %s: only POST is served.", method, url);
                if (sim_https_error_reply(SIM_HTTPS_PARAM_ERROR, &json) < 0)
                        return MHD_NO;
                ret = respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, json);
                free(json);
                return ret;
        }
        if (!u) {
                u = calloc(1, sizeof(Upload));
                if (!u)
                        return MHD_NO;
                *con_cls = u;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                if (upload_append(u, upload_data, *upload_data_size) < 0)
                        return MHD_NO;
                *upload_data_size = 0;
                return MHD_YES;
        }
        return answer(h, conn, url, u);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
        Upload *u = *con_cls;

        if (!u)
                return;
        free(u->body);
        free(u);
        *con_cls = NULL;
}

static void sim_https_schedule(SimHttps *h) {
        MHD_UNSIGNED_LONG_LONG ms;
        int r;

        if (MHD_get_timeout(h->daemon, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(h->timer_source, SD_EVENT_OFF);
                return;
        }
        r = sd_event_source_set_time_relative(h->timer_source, (uint64_t) ms * 1000);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->timer_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Cannot arm the HTTPS timer: %m");
}

static void sim_https_process(SimHttps *h) {
        if (MHD_run(h->daemon) != MHD_YES)
                log_debug("MHD_run() reported a failure.");
        sim_https_schedule(h);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        sim_https_process(userdata);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        sim_https_process(userdata);
        return 0;
}

static int parse_address(const char *address, uint16_t port, struct sockaddr_storage *ret, bool *ret_v6) {
        struct sockaddr_in *in = (struct sockaddr_in *) ret;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ret;

        *ret = (struct sockaddr_storage) {};
        if (inet_pton(AF_INET, address, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons(port);
                *ret_v6 = false;
                return 0;
        }
        if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(port);
                *ret_v6 = true;
                return 0;
        }
        return -EINVAL;
}

static int sim_https_attach(SimHttps *h) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        sd_event *e = h->server->event;
        int r;

        if (!info)
                return -EIO;
        r = sd_event_add_io(e, &h->io_source, info->epoll_fd, EPOLLIN, on_io, h);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(h->io_source, "https-io");
        r = sd_event_add_time_relative(e, &h->timer_source, CLOCK_MONOTONIC, 0, 0, on_timer, h);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(h->timer_source, "https-timer");
        sim_https_schedule(h);
        return 0;
}

int sim_https_listen(SimHttps *h, const char *address, uint16_t port, uint16_t *ret_port) {
        const union MHD_DaemonInfo *info;
        struct sockaddr_storage sa;
        bool v6;
        int r;

        if (parse_address(address, port, &sa, &v6) < 0)
                return log_error_errno(EINVAL, "Cannot serve HTTPS on %s: not an IP address.", address);
        h->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_TLS | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0),
                                     port, NULL, NULL, on_request, h,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                                     MHD_OPTION_HTTPS_MEM_CERT, h->cert_pem,
                                     MHD_OPTION_HTTPS_MEM_KEY, h->key_pem,
                                     MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) CONNECTION_TIMEOUT_SEC,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                     MHD_OPTION_END);
        if (!h->daemon)
                return log_error_errno(EADDRNOTAVAIL,
                                       "Cannot serve HTTPS on %s port %u (port in use, or a bad certificate "
                                       "or key).",
                                       address, port);
        info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
        if (!info || info->port == 0)
                return log_error_errno(EIO, "Cannot learn the HTTPS port.");
        r = sim_https_attach(h);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the HTTPS endpoint: %m");
        *ret_port = info->port;
        return 0;
}

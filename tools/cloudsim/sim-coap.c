/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libcoap server context on sd-event. Every request passes the retransmission cache (PROTOCOL.md E.5)
 * first: libcoap 4.3.1 hands a repeated CON to the handler again, so the cache is what makes a
 * retransmission get the same answer without a second record line or a replay verdict. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coap-msg.h"
#include "log.h"
#include "macro.h"
#include "sim-coap-aes.h"
#include "sim-coap-dtls.h"
#include "sim-coap-fault.h"
#include "sim-coap-pdu.h"
#include "sim-coap.h"
#include "sim-dedup.h"
#include "sim-ids.h"
#include "tls-audit.h"

typedef enum RequestKind {
        REQUEST_AUTH,
        REQUEST_PUBLISH,
        REQUEST_OTHER_METHOD,
} RequestKind;

struct SimCoap {
        SimServer *server;
        coap_context_t *context;
        sd_event_source *io_source;
        sd_event_source *timer_source;
        SimDedup *dedup;
        char *psk;                      /* the key handed to libcoap last (it copies it); secret */
        coap_bin_const_t psk_bin;
};

static const SimCoapMode *mode_for(const coap_session_t *session) {
        switch (coap_session_get_proto(session)) {
        case COAP_PROTO_UDP:
                return &sim_coap_aes_mode;
        case COAP_PROTO_DTLS:
                return &sim_coap_dtls_mode;
        default:
                return NULL;
        }
}

/* Non-POST methods: 4.05 on /topic/..., 4.04 elsewhere (libcoap answers 4.05 on /auth itself). */
static void other_method_reply(const SimRequest *req, SimReply *reply) {
        bool topic = req->n_segments > 0 && streq(req->segments[0], "topic");

        log_info("Rejected request from %s: %s.", req->peer, topic ? "4.05, method is not POST" : "4.04, no such path");
        reply->code = topic ? 405 : 404;
}

static int process(SimCoap *c, const coap_session_t *session, const coap_pdu_t *request, RequestKind kind,
                   const char *peer, SimReply *reply) {
        const SimCoapMode *mode = mode_for(session);
        bool garble = false;
        SimRequest req;
        int r;

        if (!mode)
                return -EPROTONOSUPPORT;
        if (kind != REQUEST_OTHER_METHOD &&
            sim_fault_inject(&c->server->fault, kind == REQUEST_AUTH ? SIM_FAULT_AUTH : SIM_FAULT_PUBLISH)) {
                log_debug("Answering a request from %s with an injected fault (%s).", peer,
                          sim_fault_mode_to_string(c->server->fault.mode));
                /* garbled-reply: a publish is handled (and recorded) first; an /auth is left alone. */
                garble = c->server->fault.mode == SIM_FAULT_GARBLED_REPLY;
                if (!garble) {
                        sim_coap_fault_reply(c->server->fault.mode, coap_pdu_get_type(request) == COAP_MESSAGE_CON,
                                             reply);
                        return 0;
                }
        }
        r = sim_coap_request_from_pdu(request, peer, &req);
        if (r < 0)
                return r;

        switch (kind) {
        case REQUEST_AUTH:
                r = mode->auth(c->server, &req, reply);
                break;
        case REQUEST_PUBLISH:
                r = mode->publish(c->server, &req, reply);
                if (r >= 0 && garble && reply->code / 100 == 2)
                        sim_coap_fault_garble(reply);
                break;
        case REQUEST_OTHER_METHOD:
                other_method_reply(&req, reply);
                r = 0;
                break;
        }
        sim_coap_request_done(&req);
        return r;
}

/* Fills response (or leaves it empty, for an empty ACK) as reply's form says. A repeated request whose reply
 * was separate gets it piggybacked; the fault forms come out the same each time. */
static void respond(coap_session_t *session, const coap_pdu_t *request, const SimReply *reply,
                    coap_pdu_t *response) {
        switch (reply->form) {
        case SIM_REPLY_EMPTY_ACK:
                return; /* libcoap acknowledges a CON whose response is left empty with an empty ACK */
        case SIM_REPLY_WRONG_TOKEN:
                if (sim_coap_fault_send_wrong_token(session, request, reply) < 0)
                        log_debug("Cannot send the wrong-token ACK.");
                return;
        case SIM_REPLY_PIGGYBACKED:
        case SIM_REPLY_SEPARATE:
        case _SIM_REPLY_FORM_MAX:
        case _SIM_REPLY_FORM_INVALID:
                break;
        }
        if (sim_coap_reply_to_pdu(reply, response) < 0) {
                log_oom();
                coap_pdu_set_code(response, COAP_RESPONSE_CODE(500));
        }
}

/* ackMode 1 (E.13): leaving the response empty makes libcoap send an empty ACK; the async entry calls the
 * handler again right away with a copy of the request (new MID), which answers from the cache. The
 * original MID rides along as the async's app data (plus one, so that it is never NULL). */
static bool defer(coap_session_t *session, const coap_pdu_t *request) {
        coap_async_t *async = coap_register_async(session, request, 1);

        if (!async)
                return false;
        coap_async_set_app_data(async, (void *) (uintptr_t) (coap_pdu_get_mid(request) + 1));
        return true;
}

static int make_key(const coap_session_t *session, coap_mid_t mid, const coap_pdu_t *request, SimDedupKey *ret) {
        coap_bin_const_t token = coap_pdu_get_token(request);
        uint8_t peer[SIM_DEDUP_PEER_MAX];
        int n;

        n = sim_coap_peer_bytes(session, peer, sizeof(peer));
        if (n < 0)
                return n;
        return sim_dedup_key_init(ret, peer, (size_t) n, (uint16_t) mid, token.s, token.length);
}

static void send_separate(SimCoap *c, coap_session_t *session, coap_async_t *async, const coap_pdu_t *request,
                          coap_pdu_t *response) {
        coap_mid_t mid = (coap_mid_t) ((uintptr_t) coap_async_get_app_data(async) - 1);
        const SimReply *cached = NULL;
        SimDedupKey key;

        /* libcoap frees the async entry itself once this handler returns. */
        if (make_key(session, mid, request, &key) >= 0)
                cached = sim_dedup_find(c->dedup, &key, sim_now(CLOCK_MONOTONIC));
        if (cached)
                respond(session, request, cached, response);
        else
                coap_pdu_set_code(response, COAP_RESPONSE_CODE(500));
}

static void handle(coap_session_t *session, const coap_pdu_t *request, coap_pdu_t *response, RequestKind kind) {
        SimCoap *c = coap_get_app_data(coap_session_get_context(session));
        uint64_t now = sim_now(CLOCK_MONOTONIC);
        coap_async_t *async;
        SimReply reply = {};
        SimDedupKey key;
        bool keyed;
        char peer[INET6_ADDRSTRLEN + 16];
        int r;

        async = coap_find_async(session, coap_pdu_get_token(request));
        if (async) {
                send_separate(c, session, async, request, response);
                return;
        }

        sim_coap_peer_string(session, peer, sizeof(peer));
        keyed = make_key(session, coap_pdu_get_mid(request), request, &key) >= 0;
        if (keyed) {
                const SimReply *cached = sim_dedup_find(c->dedup, &key, now);

                if (cached) {
                        log_debug("Repeated request (MID %d) from %s, answered from the cache.",
                                  coap_pdu_get_mid(request), peer);
                        respond(session, request, cached, response);
                        return;
                }
        }

        r = process(c, session, request, kind, peer, &reply);
        if (r < 0) {
                log_error_errno(r, "Failed to process a request from %s: %m", peer);
                sim_reply_done(&reply);
                reply.code = 500;
        }
        if (keyed && sim_dedup_add(c->dedup, &key, &reply, now) < 0)
                log_oom();

        if (!(reply.form == SIM_REPLY_SEPARATE && coap_pdu_get_type(request) == COAP_MESSAGE_CON &&
              defer(session, request)))
                respond(session, request, &reply, response);
        sim_reply_done(&reply);
}

static void on_auth(coap_resource_t *resource, coap_session_t *session, const coap_pdu_t *request,
                    const coap_string_t *query, coap_pdu_t *response) {
        handle(session, request, response, REQUEST_AUTH);
}

static void on_topic(coap_resource_t *resource, coap_session_t *session, const coap_pdu_t *request,
                     const coap_string_t *query, coap_pdu_t *response) {
        handle(session, request, response, REQUEST_PUBLISH);
}

static void on_other_method(coap_resource_t *resource, coap_session_t *session, const coap_pdu_t *request,
                            const coap_string_t *query, coap_pdu_t *response) {
        handle(session, request, response, REQUEST_OTHER_METHOD);
}

/* libcoap logs through us, capped at info: its debug output dumps PDUs, tokens included. */
static void on_coap_log(coap_log_t level, const char *message) {
        size_t n = strlen(message);

        while (n > 0 && message[n - 1] == '\n')
                n--;
        log_full((int) level, "libcoap: %.*s", (int) n, message);
}

static int add_resources(coap_context_t *context) {
        static const coap_request_t other_methods[] = {
                COAP_REQUEST_GET, COAP_REQUEST_PUT, COAP_REQUEST_DELETE,
                COAP_REQUEST_FETCH, COAP_REQUEST_PATCH, COAP_REQUEST_IPATCH,
        };
        coap_resource_t *auth, *unknown;

        auth = coap_resource_init(coap_make_str_const("auth"), 0);
        if (!auth)
                return -ENOMEM;
        coap_register_request_handler(auth, COAP_REQUEST_POST, on_auth);
        coap_add_resource(context, auth);

        /* Every path but "auth" lands here; the handler insists on "topic" as the first segment. */
        unknown = coap_resource_unknown_init2(on_other_method, 0);
        if (!unknown)
                return -ENOMEM;
        coap_register_request_handler(unknown, COAP_REQUEST_POST, on_topic);
        for (size_t i = 0; i < ELEMENTSOF(other_methods); i++)
                coap_register_request_handler(unknown, other_methods[i], on_other_method);
        coap_add_resource(context, unknown);
        return 0;
}

/* Runs libcoap's pending work, then arms the timer for its next deadline (retransmissions, separate
 * responses, idle sessions). */
static int process_io(SimCoap *c) {
        coap_tick_t now;
        unsigned timeout_ms;
        int r;

        if (coap_io_process(c->context, COAP_IO_NO_WAIT) < 0)
                log_debug("coap_io_process() failed.");

        coap_ticks(&now);
        timeout_ms = coap_io_prepare_epoll(c->context, now);
        if (timeout_ms == 0)
                return sd_event_source_set_enabled(c->timer_source, SD_EVENT_OFF);

        r = sd_event_source_set_time_relative(c->timer_source, (uint64_t) timeout_ms * 1000);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(c->timer_source, SD_EVENT_ONESHOT);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        return process_io(userdata);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        return process_io(userdata);
}

static int attach_event(SimCoap *c) {
        int fd = coap_context_get_coap_fd(c->context), r;

        if (fd < 0)
                return log_error_errno(EOPNOTSUPP, "libcoap was built without epoll support.");
        r = sd_event_add_io(c->server->event, &c->io_source, fd, EPOLLIN, on_io, c);
        if (r < 0)
                return r;
        /* Created disabled; process_io() arms it for libcoap's next deadline. */
        r = sd_event_add_time(c->server->event, &c->timer_source, CLOCK_MONOTONIC, 0, 0, on_timer, c);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(c->timer_source, SD_EVENT_OFF);
}

int sim_coap_new(SimServer *server, SimCoap **ret) {
        static const uint16_t options[] = {
                COAP_MSG_OPTION_TOKEN_V3, COAP_MSG_OPTION_TOKEN, COAP_MSG_OPTION_SEQ, COAP_MSG_OPTION_MESSAGE_ID,
        };
        SimCoap *c;
        int r;

        coap_startup();
        /* coap_startup() installs libcoap's GnuTLS audit function, which crashes on libmicrohttpd's sessions. */
        tls_audit_install();
        coap_set_log_handler(on_coap_log);
        coap_set_log_level((coap_log_t) MIN(log_get_max_level(), LOG_INFO));

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->server = server;
        c->context = coap_new_context(NULL);
        r = c->context ? sim_dedup_new(SIM_DEDUP_ENTRIES_DEFAULT, SIM_DEDUP_LIFETIME_USEC, &c->dedup) : -ENOMEM;
        if (r >= 0)
                r = add_resources(c->context);
        if (r < 0) {
                sim_coap_free(c);
                return r;
        }
        coap_set_app_data(c->context, c);
        /* 2089 and 61 are critical (odd): unregistered, libcoap would answer 4.02 by itself. */
        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                coap_register_option(c->context, options[i]);

        r = attach_event(c);
        if (r < 0) {
                sim_coap_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

SimCoap *sim_coap_free(SimCoap *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->io_source);
        sd_event_source_disable_unref(c->timer_source);
        if (c->context)
                coap_free_context(c->context);
        sim_dedup_free(c->dedup);
        erase_and_free(c->psk);
        free(c);
        coap_cleanup();
        return NULL;
}

static int parse_address(const char *address, uint16_t port, coap_address_t *ret) {
        coap_address_init(ret);
        if (inet_pton(AF_INET, address, &ret->addr.sin.sin_addr) == 1) {
                ret->addr.sin.sin_family = AF_INET;
                ret->addr.sin.sin_port = htons(port);
                ret->size = sizeof(ret->addr.sin);
                return 0;
        }
        if (inet_pton(AF_INET6, address, &ret->addr.sin6.sin6_addr) == 1) {
                ret->addr.sin6.sin6_family = AF_INET6;
                ret->addr.sin6.sin6_port = htons(port);
                ret->size = sizeof(ret->addr.sin6);
                return 0;
        }
        return -EINVAL;
}

/* libcoap 4.3.1 has no accessor for an endpoint's bound address; its description string ends in
 * ":<port> UDP" once bound, so the port chosen for port 0 is read from there. */
static int endpoint_port(const coap_endpoint_t *ep, uint16_t *ret) {
        const char *s = coap_endpoint_str(ep), *colon;
        char *end = NULL;
        unsigned long v;

        colon = s ? strrchr(s, ':') : NULL;
        if (!colon)
                return -EIO;
        v = strtoul(colon + 1, &end, 10);
        if (end == colon + 1 || v == 0 || v > UINT16_MAX || (*end != ' ' && *end != '\0'))
                return -EIO;
        *ret = (uint16_t) v;
        return 0;
}

static int listen_proto(SimCoap *c, const char *address, uint16_t port, coap_proto_t proto, uint16_t *ret_port) {
        coap_address_t addr;
        coap_endpoint_t *ep;
        int r;

        r = parse_address(address, port, &addr);
        if (r < 0)
                return log_error_errno(r, "Invalid listen address %s.", address);

        errno = 0;
        ep = coap_new_endpoint(c->context, &addr, proto);
        if (!ep)
                return log_error_errno(errno > 0 ? errno : EADDRNOTAVAIL, "Cannot listen on %s port %u: %m",
                                       address, port);
        r = endpoint_port(ep, ret_port);
        if (r < 0)
                return log_error_errno(r, "Cannot tell which port libcoap bound.");

        /* Arm the timer and pick up anything that is already pending. */
        return process_io(c);
}

int sim_coap_listen_aes(SimCoap *c, const char *address, uint16_t port, uint16_t *ret_port) {
        return listen_proto(c, address, port, COAP_PROTO_UDP, ret_port);
}

/* PSK server callback (E.3, E.20): the key follows from the identity; NULL fails the handshake. */
static const coap_bin_const_t *on_psk_identity(coap_bin_const_t *identity, coap_session_t *session, void *arg) {
        SimCoap *c = arg;
        char peer[INET6_ADDRSTRLEN + 16];
        int r;

        sim_coap_peer_string(session, peer, sizeof(peer));
        c->psk = erase_and_free(c->psk);
        r = sim_coap_dtls_psk(c->server->devices, identity->s, identity->length, &c->psk);
        if (r < 0) {
                log_info("DTLS PSK handshake from %s refused: %s.", peer,
                         r == -ENOENT ? "unknown device" : r == -ENOMEM ? "out of memory" : "malformed PSK identity");
                return NULL;
        }
        /* The identity names the device and method; it is not secret. */
        log_info("DTLS PSK handshake from %s with identity %.*s.", peer, (int) identity->length,
                 (const char *) identity->s);
        c->psk_bin = (coap_bin_const_t) { strlen(c->psk), (const uint8_t *) c->psk };
        return &c->psk_bin;
}

/* libcoap 4.3.1 with GnuTLS lets GnuTLS ask select() whether a session's socket has data waiting before it
 * retransmits a handshake flight, but a server session has no socket of its own: the descriptor asked about
 * is 0. With stdin on /dev/null (systemd, nohup, the test harness) that is always "readable", so the server
 * never retransmitted and any handshake that lost a datagram stalled until it failed. Descriptor 0 becomes the
 * read end of a pipe that nobody writes to: never readable, never writable. The write end stays open so that
 * the read end does not report end-of-file. */
static int quiet_stdin(void) {
        int p[2];

        if (pipe2(p, O_CLOEXEC) < 0)
                return log_error_errno(errno, "Cannot create a pipe: %m");
        if (p[0] != STDIN_FILENO) {
                if (dup2(p[0], STDIN_FILENO) < 0) {
                        int r = log_error_errno(errno, "Cannot replace stdin: %m");

                        close(p[0]);
                        close(p[1]);
                        return r;
                }
                close(p[0]);
        }
        return 0; /* p[1] is kept for the life of the process */
}

static int setup_dtls(SimCoap *c, const char *cert, const char *key) {
        coap_dtls_spsk_t psk = {
                .version = COAP_DTLS_SPSK_SETUP_VERSION,
                .validate_id_call_back = on_psk_identity,
                .id_call_back_arg = c,
        };
        coap_dtls_pki_t pki = {
                .version = COAP_DTLS_PKI_SETUP_VERSION,
                .pki_key = {
                        .key_type = COAP_PKI_KEY_PEM,
                        .key.pem = { .public_cert = cert, .private_key = key },
                },
        };
        int r;

        if (!coap_dtls_is_supported())
                return log_error_errno(EOPNOTSUPP, "libcoap was built without DTLS support.");
        r = quiet_stdin();
        if (r < 0)
                return r;
        if (!coap_context_set_psk2(c->context, &psk))
                return log_error_errno(EIO, "Cannot set up DTLS with PSK.");
        /* Certificate mode (B.3): no client certificate is asked for. */
        if (cert && !coap_context_set_pki(c->context, &pki))
                return log_error_errno(EIO, "Cannot load the DTLS certificate %s or its key %s.", cert, key);
        return 0;
}

int sim_coap_listen_dtls(SimCoap *c, const char *address, uint16_t port, const char *cert, const char *key,
                         uint16_t *ret_port) {
        int r;

        r = setup_dtls(c, cert, key);
        if (r < 0)
                return r;
        return listen_proto(c, address, port, COAP_PROTO_DTLS, ret_port);
}

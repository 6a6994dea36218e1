/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libcoap on sd-event; see coap-glue.h. The only module that drives libcoap's I/O and its DTLS setup. */
#include <gnutls/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "coap-endpoint.h"
#include "coap-glue.h"
#include "log.h"
#include "tls-audit.h"
#include "time-util.h"

#include "coap-glue-internal.h"

void coap_glue_rearm(CoapGlue *g) {
        coap_tick_t now;
        unsigned ms;

        coap_ticks(&now);
        ms = coap_io_prepare_epoll(g->ctx, now);

        if (ms == 0) {
                /* Nothing to retransmit or expire: no wakeups. */
                (void) sd_event_source_set_enabled(g->timer_source, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(g->timer_source, (uint64_t) ms * 1000);
        (void) sd_event_source_set_enabled(g->timer_source, SD_EVENT_ONESHOT);
}

/* libcoap retransmits from coap_io_process(), woken by its own timerfd (through its epoll fd) or by the timer
 * here: what it sent is counted after it ran. */
static void coap_glue_process(CoapGlue *g) {
        (void) coap_io_process(g->ctx, COAP_IO_NO_WAIT);
        glue_account(g);
        coap_glue_rearm(g);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        coap_glue_process(userdata);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        coap_glue_process(userdata);
        return 0;
}

static int on_release(sd_event_source *s, void *userdata) {
        CoapGlue *g = userdata;

        for (size_t i = 0; i < g->n_released; i++) {
                /* Cancels what is queued for retransmission first: each queued message holds a reference, so a
                 * release alone would leave it retransmitting (and its timer running) into the void. */
                coap_session_disconnected(g->released[i], COAP_NACK_NOT_DELIVERABLE);
                coap_session_release(g->released[i]);
        }
        g->n_released = 0;
        coap_glue_rearm(g);
        return 0;
}

static int on_event(coap_session_t *session, const coap_event_t event) {
        CoapGlueSession *s = coap_session_get_app_data(session);

        if (s && event == COAP_EVENT_DTLS_CONNECTED)
                glue_session_connected(s);
        return 0;
}

static coap_response_t on_response(coap_session_t *session, const coap_pdu_t *sent, const coap_pdu_t *received,
                                   const coap_mid_t mid) {
        CoapGlueSession *s = coap_session_get_app_data(session);
        coap_bin_const_t tok = coap_pdu_get_token(received);

        /* Responses are matched by token only (PROTOCOL.md A.2); anything unexpected is ignored. */
        if (s) {
                s->heard_usec = now_monotonic_usec();
                glue_session_complete(s, &tok, received, 0);
        }
        return COAP_RESPONSE_OK;
}

/* What a failed DTLS handshake means. With certificates: our check of the server's certificate refused it,
 * unless that check had already passed. With PSK: a wrong key garbles our Finished, which the server silently
 * drops, and a wrong identity draws an alert; a lossy link can end a handshake the same way. The handshake is
 * taken as refused only if the server answered each of our hellos before a retransmission would have been due
 * (no sign of loss) and then the handshake still failed; otherwise it is a timeout, retried as one. */
static int tls_failure_error(const CoapGlueSession *s) {
        switch (s->security) {
        case COAP_GLUE_PSK:
                return s->hello_done && !s->hello_lagged ? -EACCES : -ETIMEDOUT;
        case COAP_GLUE_PKI:
                return s->cert_verified ? -EPROTO : -EKEYREJECTED;
        case COAP_GLUE_PLAIN:
                break;
        }
        return -EPROTO;
}

/* libcoap 4.3.1 reports a failed handshake only after freeing its TLS state, so the handshake is watched as it
 * goes: who answered, and how quickly. */
static int on_handshake_message(gnutls_session_t tls, unsigned htype, unsigned when, unsigned incoming,
                                const gnutls_datum_t *msg) {
        coap_session_t *session = gnutls_transport_get_ptr(tls);
        CoapGlueSession *s = session ? coap_session_get_app_data(session) : NULL;
        uint64_t now;

        if (!s)
                return 0;
        now = now_monotonic_usec();
        if (!incoming) {
                if (htype == GNUTLS_HANDSHAKE_CLIENT_HELLO)
                        s->hello_usec = now;
                return 0;
        }
        /* The server's answer to a hello (HelloVerifyRequest, or the flight ending in ServerHelloDone) came after
         * GnuTLS's first retransmission timer: something was lost on the way. */
        if ((htype == GNUTLS_HANDSHAKE_HELLO_VERIFY_REQUEST || htype == GNUTLS_HANDSHAKE_SERVER_HELLO_DONE) &&
            now - s->hello_usec >= DTLS_FIRST_RETRANSMIT_USEC)
                s->hello_lagged = true;
        if (htype == GNUTLS_HANDSHAKE_SERVER_HELLO_DONE)
                s->hello_done = true;
        return 0;
}

static void watch_handshake(CoapGlueSession *s) {
        coap_tls_library_t lib = COAP_TLS_LIBRARY_NOTLS;
        gnutls_session_t tls = coap_session_get_tls(s->session, &lib);

        if (tls && lib == COAP_TLS_LIBRARY_GNUTLS)
                gnutls_handshake_set_hook_function(tls, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_POST, on_handshake_message);
        else
                s->hello_done = true; /* cannot tell: assume the key was refused */
}

static void on_nack(coap_session_t *session, const coap_pdu_t *sent, const coap_nack_reason_t reason,
                    const coap_mid_t mid) {
        CoapGlueSession *s = coap_session_get_app_data(session);
        coap_bin_const_t tok;
        int error;

        if (!s)
                return;
        switch (reason) {
        case COAP_NACK_TOO_MANY_RETRIES:
                error = -ETIMEDOUT;
                break;
        case COAP_NACK_NOT_DELIVERABLE:
        case COAP_NACK_RST:
        case COAP_NACK_ICMP_ISSUE:
                error = -ECONNREFUSED;
                break;
        case COAP_NACK_TLS_FAILED:
                error = tls_failure_error(s);
                break;
        default:
                error = -ECONNRESET;
                break;
        }
        log_debug("CoAP request failed without a response (reason %d).", (int) reason);
        if (sent) {
                tok = coap_pdu_get_token(sent);
                glue_session_complete(s, &tok, NULL, error);
        } else
                glue_session_fail(s, error);
}

static void on_coap_log(coap_log_t level, const char *message) {
        /* libcoap's own diagnostics; its log level is kept at warnings, which never include payloads. */
        log_debug("libcoap: %.*s", (int) strcspn(message, "\n"), message);
}

void coap_glue_set_ack_timeout(CoapGlue *g, unsigned ms) {
        g->ack_timeout_ms = ms;
}

int coap_glue_new(sd_event *event, unsigned ack_timeout_ms, CoapGlue **ret) {
        _cleanup_(coap_glue_freep) CoapGlue *g = NULL;
        int fd, r;

        coap_startup();
        /* coap_startup() installs libcoap's GnuTLS audit function, which crashes on libcurl's sessions. */
        tls_audit_install();
        coap_set_log_handler(on_coap_log);
        coap_set_log_level(LOG_WARNING);

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->event = sd_event_ref(event);
        g->ack_timeout_ms = ack_timeout_ms;
        g->next_due_usec = UINT64_MAX;
        g->ctx = coap_new_context(NULL);
        if (!g->ctx)
                return -ENOMEM;
        coap_register_response_handler(g->ctx, on_response);
        coap_register_nack_handler(g->ctx, on_nack);
        coap_register_event_handler(g->ctx, on_event);

        fd = coap_context_get_coap_fd(g->ctx);
        if (fd < 0)
                return log_error_errno(EOPNOTSUPP, "libcoap was built without epoll support.");
        r = sd_event_add_io(event, &g->io_source, fd, EPOLLIN, on_io, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(g->io_source, "coap-io");
        r = sd_event_add_time_relative(event, &g->timer_source, CLOCK_MONOTONIC, 0, 0, on_timer, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(g->timer_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(g->timer_source, "coap-timer");
        r = sd_event_add_defer(event, &g->release_source, on_release, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(g->release_source, SD_EVENT_OFF);

        *ret = TAKE_PTR(g);
        return 0;
}

CoapGlue *coap_glue_free(CoapGlue *g) {
        if (!g)
                return NULL;
        for (size_t i = 0; i < g->n_released; i++)
                coap_session_release(g->released[i]);
        free(g->released);
        sd_event_source_unref(g->io_source);
        sd_event_source_unref(g->timer_source);
        sd_event_source_unref(g->release_source);
        if (g->ctx)
                coap_free_context(g->ctx);
        sd_event_unref(g->event);
        free(g);
        return NULL;
}

/* Certificate mode: libcoap has checked the chain against the CA file; the name is ours to check. An IP
 * literal must match an IP address SAN, a name a DNS SAN (or the CN without SANs), as for HTTPS. */
static int on_server_cert(const char *cn, const uint8_t *der, size_t der_len, coap_session_t *session,
                          unsigned depth, int validated, void *arg) {
        CoapGlueSession *s = coap_session_get_app_data(session);
        gnutls_datum_t datum = { .data = (unsigned char *) der, .size = (unsigned) der_len };
        gnutls_x509_crt_t crt;
        bool ok = false;

        if (!s || !validated)
                return 0;
        if (depth > 0)
                return 1;
        if (gnutls_x509_crt_init(&crt) < 0)
                return 0;
        if (gnutls_x509_crt_import(crt, &datum, GNUTLS_X509_FMT_DER) >= 0)
                ok = gnutls_x509_crt_check_hostname2(crt, s->hostname, 0) != 0;
        gnutls_x509_crt_deinit(crt);
        if (!ok)
                log_debug("The server's certificate is not valid for '%s'.", s->hostname);
        s->cert_verified = ok;
        return ok;
}

static coap_session_t *new_pki_session(CoapGlueSession *s, const coap_address_t *dst, const char *ca_file) {
        coap_dtls_pki_t pki = {
                .version = COAP_DTLS_PKI_SETUP_VERSION,
                .verify_peer_cert = 1,
                .check_common_ca = 1,
                .cert_chain_validation = 1,
                .cert_chain_verify_depth = 3,
                .validate_cn_call_back = on_server_cert,
                /* SNI carries names only (RFC 6066 3). */
                .client_sni = coap_endpoint_is_ip_literal(s->hostname) ? NULL : s->hostname,
                .pki_key = {
                        .key_type = COAP_PKI_KEY_PEM,
                        .key.pem.ca_file = ca_file,
                },
        };

        return coap_new_client_session_pki(s->glue->ctx, NULL, dst, COAP_PROTO_DTLS, &pki);
}

static coap_session_t *new_psk_session(CoapGlueSession *s, const coap_address_t *dst, const CoapGlueDtls *dtls) {
        coap_dtls_cpsk_t psk = {
                .version = COAP_DTLS_CPSK_SETUP_VERSION,
                .psk_info = {
                        .identity = { strlen(dtls->psk_identity), (const uint8_t *) dtls->psk_identity },
                        .key = { strlen(dtls->psk_key), (const uint8_t *) dtls->psk_key },
                },
        };

        /* libcoap copies identity and key into the session. */
        return coap_new_client_session_psk2(s->glue->ctx, NULL, dst, COAP_PROTO_DTLS, &psk);
}

void glue_session_set_ack_timeout(CoapGlueSession *s, uint64_t ms) {
        coap_session_set_ack_timeout(s->session, (coap_fixed_point_t) {
                                                         .integer_part = (uint16_t) (ms / 1000),
                                                         .fractional_part = (uint16_t) (ms % 1000),
                                                 });
        s->ack_timeout_usec = ms * 1000;
}

static int session_new(CoapGlue *g, const char *endpoint, uint16_t default_port, const CoapGlueDtls *dtls,
                       CoapGlueSession **ret) {
        _cleanup_free_ char *host = NULL;
        CoapGlueSession *s;
        coap_address_t dst;
        int r;

        r = coap_endpoint_resolve(endpoint, default_port, &dst, &host);
        if (r < 0)
                return r;
        if (dtls && !coap_dtls_is_supported())
                return log_error_errno(EOPNOTSUPP, "libcoap was built without DTLS support.");
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->glue = g;
        s->hostname = TAKE_PTR(host);
        for (size_t i = 0; i < COAP_GLUE_NSTART_MAX; i++)
                s->requests[i].session = s;
        /* The first ClientHello leaves while the session is made, before the handshake can be watched. */
        s->hello_usec = now_monotonic_usec();
        if (!dtls) {
                s->security = COAP_GLUE_PLAIN;
                s->session = coap_new_client_session(g->ctx, NULL, &dst, COAP_PROTO_UDP);
        } else if (dtls->ca_file) {
                s->security = COAP_GLUE_PKI;
                s->session = new_pki_session(s, &dst, dtls->ca_file);
        } else {
                s->security = COAP_GLUE_PSK;
                s->session = new_psk_session(s, &dst, dtls);
        }
        if (!s->session) {
                free(s->hostname);
                free(s);
                return dtls ? -EIO : -ENOMEM;
        }
        coap_session_set_app_data(s->session, s);
        coap_session_set_mtu(s->session, COAP_GLUE_MTU);
        /* The random part of the first timeout is drawn per request by coap_glue_send(). */
        coap_session_set_ack_random_factor(s->session, (coap_fixed_point_t) { .integer_part = 1 });
        glue_session_set_ack_timeout(s, g->ack_timeout_ms);
        s->next = g->sessions;
        if (g->sessions)
                g->sessions->prev = s;
        g->sessions = s;
        if (s->security == COAP_GLUE_PSK)
                watch_handshake(s);
        (void) coap_prng(&s->next_token, sizeof(s->next_token));
        s->heard_usec = now_monotonic_usec();
        /* The handshake has started: let libcoap's timers run. */
        coap_glue_rearm(g);
        *ret = s;
        return 0;
}

int coap_glue_session_new(CoapGlue *g, const char *endpoint, uint16_t default_port, CoapGlueSession **ret) {
        return session_new(g, endpoint, default_port, NULL, ret);
}

int coap_glue_session_new_dtls(CoapGlue *g, const char *endpoint, uint16_t default_port, const CoapGlueDtls *dtls,
                               CoapGlueSession **ret) {
        return session_new(g, endpoint, default_port, dtls, ret);
}

CoapGlueSession *coap_glue_session_free(CoapGlueSession *s) {
        CoapGlue *g;
        coap_session_t **n;

        if (!s)
                return NULL;
        if (s->failing) {
                s->free_requested = true;
                return NULL;
        }
        g = s->glue;
        coap_session_set_app_data(s->session, NULL);
        /* We may be inside libcoap's dispatch of this very session: release it from a deferred source. */
        n = reallocarray(g->released, g->n_released + 1, sizeof(coap_session_t *));
        if (n) {
                g->released = n;
                g->released[g->n_released++] = s->session;
                (void) sd_event_source_set_enabled(g->release_source, SD_EVENT_ONESHOT);
        }
        for (size_t i = 0; i < COAP_GLUE_NSTART_MAX; i++)
                sd_event_source_disable_unref(s->requests[i].deadline_source);
        if (s->prev)
                s->prev->next = s->next;
        else
                g->sessions = s->next;
        if (s->next)
                s->next->prev = s->prev;
        free(s->hostname);
        free(s);
        return NULL;
}

coap_mid_t coap_glue_session_new_mid(CoapGlueSession *s) {
        return coap_new_message_id(s->session);
}

void coap_glue_session_new_token(CoapGlueSession *s, uint8_t token[static 4]) {
        uint32_t v = s->next_token++;

        memcpy(token, &v, 4);
}

size_t coap_glue_pdu_size(const coap_pdu_t *pdu) {
        coap_bin_const_t tok = coap_pdu_get_token(pdu);
        coap_opt_iterator_t it;
        const uint8_t *data;
        coap_opt_t *opt;
        size_t n = 4 + tok.length, len = 0;

        if (coap_option_iterator_init(pdu, &it, COAP_OPT_ALL))
                while ((opt = coap_option_next(&it)))
                        n += coap_opt_size(opt);
        if (coap_get_data(pdu, &len, &data) && len > 0)
                n += 1 + len;
        return n;
}


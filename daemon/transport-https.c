/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* https: POST {Endpoint}/auth with a signed JSON body, then POST {Endpoint}/topic<topic> with the token in the
 * "password" header. One easy handle and one curl-glue per identity, so its connection is kept alive and
 * reused. The certificate is always verified (CAFile= or the system store); there is no way to turn that off. */
#include <stdio.h>

#include "curl-glue.h"
#include "https-msg.h"
#include "log.h"
#include "manager.h"
#include "transport-https.h"

#define REQUEST_TIMEOUT_MS 30000L
#define CONNECT_TIMEOUT_MS 10000L
#define REPLY_MAX 16384         /* the platform's replies are a few hundred bytes; info.data is not used */

typedef struct Https {
        Transport meta;
        CurlGlue *glue;
        CURL *easy;
        struct curl_slist *headers;     /* a publish's holds the token: wiped after use */
        char *url;
        char *body;                     /* the /auth body (no secret) */
        char *token;                    /* secret */
        bool in_auth;                   /* the transfer in progress is /auth */
        bool fresh_connect;             /* the network changed: never reuse the kept-alive connection */
        size_t body_size;
        size_t reply_len;
        char reply[REPLY_MAX];
} Https;

static Device *https_device(Https *h) {
        return h->meta.device;
}

static void https_drop_request(Https *h) {
        curl_glue_cancel(h->glue);
        for (struct curl_slist *l = h->headers; l; l = l->next)
                explicit_bzero(l->data, strlen(l->data));
        curl_slist_free_all(h->headers);
        h->headers = NULL;
        h->url = mfree(h->url);
        h->body = mfree(h->body);
}

static void https_reset(Transport *t) {
        Https *h = (Https *) t;

        h->token = erase_and_free(h->token);
}

/* Offline or a new source address: the transfer in progress is abandoned (its message stays queued), the token
 * is kept, and the next request opens a new connection rather than trusting one that may have died silently. */
static void https_disconnect(Transport *t) {
        Https *h = (Https *) t;

        https_drop_request(h);
        h->fresh_connect = true;
}

/* A token cached by an earlier run is used until the cloud rejects it (20001-20003 lead to a fresh /auth). */
static void https_load_token(Https *h) {
        TokenRecord rec = {};

        if (transport_token_load(&h->meta, &rec) < 0)
                return;
        h->token = TAKE_PTR(rec.token);
        transport_token_reused(&h->meta);
        token_record_done(&rec);
}

static int https_init(Transport *t) {
        Https *h = (Https *) t;
        int r;

        r = curl_glue_new(https_device(h)->manager->event, &h->glue);
        if (r < 0)
                return r;
        h->easy = curl_easy_init();
        if (!h->easy) {
                /* done() is not called for a transport whose init() failed. */
                h->glue = curl_glue_free(h->glue);
                return -ENOMEM;
        }
        https_load_token(h);
        return 0;
}

static void https_done(Transport *t) {
        Https *h = (Https *) t;

        https_reset(t);
        if (h->glue)
                https_drop_request(h);
        if (h->easy)
                curl_easy_cleanup(h->easy);
        curl_glue_free(h->glue);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        Https *h = userdata;
        size_t len = size * nmemb, room = REPLY_MAX - h->reply_len;

        /* Anything beyond the buffer is dropped; the parser then sees a cut-off body and says so. */
        memcpy(h->reply + h->reply_len, data, MIN(len, room));
        h->reply_len += MIN(len, room);
        return len;
}

static int https_setup(Https *h, const void *body, size_t len) {
        const char *ca = https_device(h)->identity->ca_file;
        CURL *e = h->easy;

        /* Keeps the connection (it lives in the glue's multi handle), forgets every option. */
        curl_easy_reset(e);
        h->reply_len = 0;
        h->body_size = len;
        if (curl_easy_setopt(e, CURLOPT_URL, h->url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, len > 0 ? body : "") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, h) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_USERAGENT, "iotpubd/" IOTPUB_VERSION) != CURLE_OK)
                return -ENOMEM;
        if (h->fresh_connect && curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK)
                return -EINVAL;
        h->fresh_connect = false;
        /* CAFile= replaces the system's trust store: libcurl would otherwise also search its default CA
         * directory (/etc/ssl/certs), and trust every CA in it. */
        if (ca && (curl_easy_setopt(e, CURLOPT_CAINFO, ca) != CURLE_OK ||
                   curl_easy_setopt(e, CURLOPT_CAPATH, NULL) != CURLE_OK))
                return -ENOMEM;
        return 0;
}

/* A transfer that got no HTTP reply: what the person reading LastError can do about it. */
static TransportResult https_failure(Https *h, int error, char *msg, size_t size) {
        Identity *id = https_device(h)->identity;

        switch (error) {
        case -EKEYREJECTED:
                (void) snprintf(msg, size, "certificate verification failed: the certificate of %s is not signed "
                                "by a trusted CA (%s) or does not name that host", id->endpoint,
                                id->ca_file ?: "system store");
                return TRANSPORT_DENIED;
        case -ENOKEY:
                (void) snprintf(msg, size, "certificate verification failed: cannot load the CA file %s",
                                id->ca_file ?: "of the system store");
                return TRANSPORT_DENIED;
        case -EPROTONOSUPPORT:
        case -EINVAL:
                (void) snprintf(msg, size, "Endpoint=%s is not a usable https:// URL", id->endpoint);
                return TRANSPORT_DENIED;
        case -EPROTO:
                (void) snprintf(msg, size, "the TLS handshake with %s failed", id->endpoint);
                return TRANSPORT_RETRY;
        default:
                (void) snprintf(msg, size, "cannot reach %s (%s)", id->endpoint, strerror(-error));
                return TRANSPORT_RETRY;
        }
}

static void https_report(Https *h, bool auth, TransportResult result, const char *cloud_id, const char *msg) {
        if (auth)
                transport_auth_done(&h->meta, result, msg);
        else
                transport_send_done(&h->meta, result, cloud_id, msg);
}

static void https_count(Https *h, CURL *easy) {
        long out = 0, in = 0;
        curl_off_t body_in = 0;

        (void) curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &out);
        (void) curl_easy_getinfo(easy, CURLINFO_HEADER_SIZE, &in);
        (void) curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &body_in);
        transport_count_bytes(&h->meta, (size_t) MAX(out, 0L) + h->body_size,
                              (size_t) MAX(in, 0L) + (size_t) MAX(body_in, (curl_off_t) 0));
}

static void on_done(void *userdata, CURL *easy, int error) {
        _cleanup_(https_reply_done) HttpsReply reply = {};
        _cleanup_free_ char *text = NULL;
        Https *h = userdata;
        bool auth = h->in_auth;
        TransportResult result;
        char msg[256];
        long status = 0;
        int r;

        https_count(h, easy);
        https_drop_request(h);
        if (error < 0) {
                result = https_failure(h, error, msg, sizeof(msg));
                https_report(h, auth, result, NULL, msg);
                return;
        }
        /* The business code in the body decides, as in the SDK; the HTTP status only explains a bad body. */
        r = https_reply_parse(h->reply, h->reply_len, auth, &reply);
        explicit_bzero(h->reply, h->reply_len); /* an /auth reply holds the token */
        if (r < 0) {
                (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
                (void) snprintf(msg, sizeof(msg), "malformed reply from %s (HTTP %ld)",
                                https_device(h)->identity->endpoint, status);
                https_report(h, auth, TRANSPORT_RETRY, NULL, msg);
                return;
        }
        result = https_reply_result(auth, reply.code);
        if (result == TRANSPORT_OK) {
                if (auth) {
                        erase_and_free(h->token);
                        h->token = TAKE_PTR(reply.token);
                        transport_token_save(&h->meta, &(TokenRecord) { .token = h->token });
                }
                https_report(h, auth, TRANSPORT_OK, reply.cloud_id, NULL);
                return;
        }
        if (https_reply_error(&reply, auth, &text) < 0)
                log_oom();
        https_report(h, auth, result, NULL, text ?: "out of memory");
}

static int https_start(Https *h, bool auth, const void *body, size_t len) {
        int r;

        r = https_setup(h, body, len);
        if (r >= 0)
                r = curl_glue_start(h->glue, h->easy, on_done, h);
        if (r < 0) {
                https_drop_request(h);
                return r;
        }
        h->in_auth = auth;
        return 0;
}

static int https_authenticate(Transport *t) {
        Https *h = (Https *) t;
        Identity *id = https_device(h)->identity;
        int r;

        https_drop_request(h);
        r = https_msg_auth_body(&(HttpsAuthParams) {
                                        .product_key = id->product_key,
                                        .device_name = id->device_name,
                                        .client_id = id->client_id,
                                        .sign_method = id->sign_method,
                                },
                                id->secret, &h->body);
        if (r >= 0)
                r = https_msg_url(id->endpoint, "/auth", NULL, &h->url);
        if (r < 0)
                return r;
        h->headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (!h->headers || !curl_slist_append(h->headers, "Expect:"))
                return -ENOMEM;
        /* The exact length: no trailing NUL (E.16). */
        return https_start(h, true, h->body, strlen(h->body));
}

static int https_send(Transport *t, const OutboxEntry *e) {
        Https *h = (Https *) t;
        _cleanup_erase_free_ char *password = NULL;
        int r;

        if (!h->token) {
                /* The token was dropped under us (reset): authenticate, then send. */
                transport_send_done(t, TRANSPORT_REAUTH, NULL, "no token");
                return 0;
        }
        https_drop_request(h);
        r = https_msg_url(https_device(h)->identity->endpoint, "/topic", e->topic, &h->url);
        if (r < 0)
                return r;
        /* The SDK's spelling: lowercase name, no space after the colon (C.4). */
        if (asprintf(&password, "password:%s", h->token) < 0)
                return -ENOMEM;
        h->headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
        if (!h->headers || !curl_slist_append(h->headers, "Expect:") || !curl_slist_append(h->headers, password))
                return -ENOMEM;
        return https_start(h, false, e->payload, e->payload_len);
}

static size_t https_max_payload(const Identity *id, const char *topic) {
        return HTTPS_MAX_PAYLOAD;
}

const TransportVTable transport_https_vtable = {
        .object_size = sizeof(Https),
        .init = https_init,
        .done = https_done,
        .authenticate = https_authenticate,
        .send = https_send,
        .reset = https_reset,
        .disconnect = https_disconnect,
        .max_payload = https_max_payload,
};

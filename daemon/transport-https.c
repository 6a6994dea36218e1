/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* https: POST {Endpoint}/auth with a signed JSON body, then POST {Endpoint}/topic<topic> with the token in the
 * "password" header. One curl-glue per identity, whose connections (one per request of the window, MaxInFlight=)
 * are kept alive and reused; an easy handle per request slot. The certificate is always verified (CAFile= or the
 * system store); there is no way to turn that off. */
#include <stdio.h>

#include "curl-glue.h"
#include "https-msg.h"
#include "log.h"
#include "manager.h"
#include "transport-https.h"

#define REQUEST_TIMEOUT_MS 30000L
#define CONNECT_TIMEOUT_MS 10000L
#define REPLY_MAX 16384         /* the platform's replies are a few hundred bytes; info.data is not used */

typedef struct Https Https;

/* One transfer: /auth, or a publish of entry. Allocated on first use, then kept with its easy handle. */
typedef struct HttpsRequest {
        Https *https;
        CURL *easy;
        const OutboxEntry *entry;       /* NULL for /auth */
        struct curl_slist *headers;     /* a publish's holds the token: wiped after use */
        char *url;
        char *body;                     /* the /auth body (no secret) */
        bool active;
        size_t body_size;
        size_t reply_len;
        char reply[REPLY_MAX];
} HttpsRequest;

struct Https {
        Transport meta;
        CurlGlue *glue;
        char *token;                    /* secret */
        HttpsRequest *requests[TRANSPORT_WINDOW_MAX];
};

static Device *https_device(Https *h) {
        return h->meta.device;
}

static void https_drop_request(HttpsRequest *q) {
        curl_glue_cancel(q->https->glue, q->easy);
        for (struct curl_slist *l = q->headers; l; l = l->next)
                explicit_bzero(l->data, strlen(l->data));
        curl_slist_free_all(q->headers);
        q->headers = NULL;
        q->url = mfree(q->url);
        q->body = mfree(q->body);
        q->active = false;
}

static void https_reset(Transport *t) {
        Https *h = (Https *) t;

        h->token = erase_and_free(h->token);
}

static int https_glue_new(Https *h) {
        int r;

        r = curl_glue_new(https_device(h)->manager->event, &h->glue);
        if (r < 0)
                return r;
        return curl_glue_set_connections(h->glue, h->meta.window);
}

/* Offline or a new source address: the transfers in progress are abandoned (their messages stay queued), the
 * token is kept, and the kept-alive connections are closed with the glue: none of them may have survived. */
static void https_disconnect(Transport *t) {
        Https *h = (Https *) t;

        for (size_t i = 0; i < TRANSPORT_WINDOW_MAX; i++)
                if (h->requests[i])
                        https_drop_request(h->requests[i]);
        h->glue = curl_glue_free(h->glue);
        if (https_glue_new(h) < 0)
                log_device_warning(device_name(t->device), "Cannot set up libcurl again; the next request will try.");
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

        r = https_glue_new(h);
        if (r < 0) {
                /* done() is not called for a transport whose init() failed. */
                h->glue = curl_glue_free(h->glue);
                return r;
        }
        https_load_token(h);
        return 0;
}

static void https_done(Transport *t) {
        Https *h = (Https *) t;

        https_reset(t);
        for (size_t i = 0; i < TRANSPORT_WINDOW_MAX; i++) {
                HttpsRequest *q = h->requests[i];

                if (!q)
                        continue;
                if (h->glue)
                        https_drop_request(q);
                curl_easy_cleanup(q->easy);
                free(q);
        }
        curl_glue_free(h->glue);
}

/* A free request slot, allocated with its easy handle the first time. */
static HttpsRequest *https_request_get(Https *h) {
        HttpsRequest **slot = NULL;

        for (size_t i = 0; i < TRANSPORT_WINDOW_MAX; i++) {
                if (h->requests[i] && !h->requests[i]->active)
                        return h->requests[i];
                if (!h->requests[i] && !slot)
                        slot = &h->requests[i];
        }
        if (!slot)
                return NULL;
        *slot = calloc(1, sizeof(HttpsRequest));
        if (!*slot)
                return NULL;
        (*slot)->https = h;
        (*slot)->easy = curl_easy_init();
        if (!(*slot)->easy)
                *slot = mfree(*slot);
        return *slot;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        HttpsRequest *q = userdata;
        size_t len = size * nmemb, room = REPLY_MAX - q->reply_len;

        /* Anything beyond the buffer is dropped; the parser then sees a cut-off body and says so. */
        memcpy(q->reply + q->reply_len, data, MIN(len, room));
        q->reply_len += MIN(len, room);
        return len;
}

static int https_setup(HttpsRequest *q, const void *body, size_t len) {
        const char *ca = https_device(q->https)->identity->ca_file;
        CURL *e = q->easy;

        /* Connections live in the glue's multi handle; this forgets every option. */
        curl_easy_reset(e);
        q->reply_len = 0;
        q->body_size = len;
        if (curl_easy_setopt(e, CURLOPT_URL, q->url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, len > 0 ? body : "") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->headers) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, q) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_USERAGENT, "iotpubd/" IOTPUB_VERSION) != CURLE_OK)
                return -ENOMEM;
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

static void https_report(Https *h, const OutboxEntry *entry, TransportResult result, const char *cloud_id,
                         const char *msg) {
        if (!entry)
                transport_auth_done(&h->meta, result, msg);
        else
                transport_send_done(&h->meta, entry, result, cloud_id, msg);
}

static void https_count(Https *h, CURL *easy, size_t body_size) {
        long out = 0, in = 0;
        curl_off_t body_in = 0;

        (void) curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &out);
        (void) curl_easy_getinfo(easy, CURLINFO_HEADER_SIZE, &in);
        (void) curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &body_in);
        transport_count_bytes(&h->meta, (size_t) MAX(out, 0L) + body_size,
                              (size_t) MAX(in, 0L) + (size_t) MAX(body_in, (curl_off_t) 0));
}

static void on_done(void *userdata, CURL *easy, int error) {
        _cleanup_(https_reply_done) HttpsReply reply = {};
        _cleanup_free_ char *text = NULL;
        HttpsRequest *q = userdata;
        Https *h = q->https;
        const OutboxEntry *entry = q->entry;
        bool auth = !entry;
        TransportResult result;
        char msg[256];
        long status = 0;
        int r;

        https_count(h, easy, q->body_size);
        https_drop_request(q);
        if (error < 0) {
                result = https_failure(h, error, msg, sizeof(msg));
                https_report(h, entry, result, NULL, msg);
                return;
        }
        /* The business code in the body decides, as in the SDK; the HTTP status only explains a bad body. */
        r = https_reply_parse(q->reply, q->reply_len, auth, &reply);
        explicit_bzero(q->reply, q->reply_len); /* an /auth reply holds the token */
        if (r < 0) {
                (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
                (void) snprintf(msg, sizeof(msg), "malformed reply from %s (HTTP %ld)",
                                https_device(h)->identity->endpoint, status);
                https_report(h, entry, TRANSPORT_RETRY, NULL, msg);
                return;
        }
        result = https_reply_result(auth, reply.code);
        if (result == TRANSPORT_OK) {
                if (auth) {
                        erase_and_free(h->token);
                        h->token = TAKE_PTR(reply.token);
                        transport_token_save(&h->meta, &(TokenRecord) { .token = h->token });
                }
                https_report(h, entry, TRANSPORT_OK, reply.cloud_id, NULL);
                return;
        }
        if (https_reply_error(&reply, auth, &text) < 0)
                log_oom();
        https_report(h, entry, result, NULL, text ?: "out of memory");
}

static int https_start(HttpsRequest *q, const void *body, size_t len) {
        int r;

        r = https_setup(q, body, len);
        if (r >= 0)
                r = curl_glue_start(q->https->glue, q->easy, on_done, q);
        if (r < 0) {
                https_drop_request(q);
                return r;
        }
        q->active = true;
        return 0;
}

static int https_authenticate(Transport *t) {
        Https *h = (Https *) t;
        Identity *id = https_device(h)->identity;
        HttpsRequest *q = https_request_get(h);
        int r;

        if (!q || !h->glue)
                return -ENOMEM;
        q->entry = NULL;
        r = https_msg_auth_body(&(HttpsAuthParams) {
                                        .product_key = id->product_key,
                                        .device_name = id->device_name,
                                        .client_id = id->client_id,
                                        .sign_method = id->sign_method,
                                },
                                id->secret, &q->body);
        if (r >= 0)
                r = https_msg_url(id->endpoint, "/auth", NULL, &q->url);
        if (r >= 0 && (!(q->headers = curl_slist_append(NULL, "Content-Type: application/json")) ||
                       !curl_slist_append(q->headers, "Expect:")))
                r = -ENOMEM;
        if (r < 0) {
                https_drop_request(q);
                return r;
        }
        /* The exact length: no trailing NUL (E.16). */
        return https_start(q, q->body, strlen(q->body));
}

static int https_send(Transport *t, const OutboxEntry *e) {
        Https *h = (Https *) t;
        _cleanup_erase_free_ char *password = NULL;
        HttpsRequest *q;
        int r;

        if (!h->token) {
                /* The token was dropped under us (reset): authenticate, then send. */
                transport_send_done(t, e, TRANSPORT_REAUTH, NULL, "no token");
                return 0;
        }
        q = https_request_get(h);
        if (!q || !h->glue)
                return -ENOMEM;
        q->entry = e;
        r = https_msg_url(https_device(h)->identity->endpoint, "/topic", e->topic, &q->url);
        /* The SDK's spelling: lowercase name, no space after the colon (C.4). */
        if (r >= 0 && asprintf(&password, "password:%s", h->token) < 0)
                r = -ENOMEM;
        if (r >= 0 && (!(q->headers = curl_slist_append(NULL, "Content-Type: application/octet-stream")) ||
                       !curl_slist_append(q->headers, "Expect:") || !curl_slist_append(q->headers, password)))
                r = -ENOMEM;
        if (r < 0) {
                https_drop_request(q);
                return r;
        }
        return https_start(q, e->payload, e->payload_len);
}

static void https_window_changed(Transport *t) {
        Https *h = (Https *) t;

        if (h->glue && curl_glue_set_connections(h->glue, t->window) < 0)
                log_device_warning(device_name(t->device), "Cannot change libcurl's connection limit.");
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
        .window_changed = https_window_changed,
        .max_payload = https_max_payload,
};

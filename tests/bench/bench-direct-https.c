/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-direct-https: the minimal https client, no daemon: one libcurl easy handle (one kept-alive connection,
 * the server certificate verified against --ca), POST /auth, then N POST /topic<topic> of the
 * environmental-sensor payload, one request in flight. The bodies and reply checks are the daemon's own
 * (daemon/https-msg.c, PROTOCOL.md C.2-C.5). Prints the rate and the bytes per publish as the daemon counts them. */

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "https-msg.h"
#include "bench-util.h"
#include "macro.h"

#define REQUEST_TIMEOUT_MS 30000L
#define REPLY_MAX 16384

static const char *arg_url;
static const char *arg_ca;
static const char *arg_product_key;
static const char *arg_device_name;
static const char *arg_secret_file;
static unsigned arg_count = 1000;

static const char payload[] = "{\"id\":\"1\",\"version\":\"1.0\",\"params\":{\"CurrentTemperature\":21.5,"
                              "\"CurrentHumidity\":48.2},\"method\":\"thing.event.property.post\"}";

typedef struct Client {
        CURL *easy;
        char reply[REPLY_MAX];
        size_t reply_len;
        long connects;          /* new connections over all requests: 1 when keep-alive works */
        size_t bytes;           /* of the last request: request line and headers, body, reply headers and body */
} Client;

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        Client *c = userdata;
        size_t len = size * nmemb, room = REPLY_MAX - c->reply_len;

        memcpy(c->reply + c->reply_len, data, MIN(len, room));
        c->reply_len += MIN(len, room);
        return len;
}

/* The options every request shares, set once: the handle keeps them and its connection between requests. The
 * server is verified against --ca alone: libcurl-gnutls would otherwise also load its default CAPATH
 * (/etc/ssl/certs), which costs tens of milliseconds per connection and trusts every system CA besides. */
static int client_setup(Client *c) {
        CURL *e = c->easy;

        if (curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, c) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CAINFO, arg_ca) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CAPATH, NULL) != CURLE_OK)
                return -EINVAL;
        return 0;
}

/* One POST; parses the reply body (the business code decides, as in the daemon). Returns 0 for code 0. */
static int post(Client *c, const char *url, struct curl_slist *headers, const void *body, size_t len, bool auth,
                HttpsReply *ret) {
        long out = 0, in = 0, connects = 0;
        curl_off_t body_in = 0;
        CURLcode cc;
        int r;

        c->reply_len = 0;
        if (curl_easy_setopt(c->easy, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
            curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
            curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len) != CURLE_OK)
                return -EINVAL;
        cc = curl_easy_perform(c->easy);
        if (cc != CURLE_OK) {
                fprintf(stderr, "bench-direct-https: %s: %s\n", auth ? "/auth" : "/topic", curl_easy_strerror(cc));
                return -EIO;
        }
        (void) curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &connects);
        (void) curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &out);
        (void) curl_easy_getinfo(c->easy, CURLINFO_HEADER_SIZE, &in);
        (void) curl_easy_getinfo(c->easy, CURLINFO_SIZE_DOWNLOAD_T, &body_in);
        c->connects += connects;
        c->bytes = (size_t) MAX(out, 0L) + len + (size_t) MAX(in, 0L) + (size_t) MAX(body_in, (curl_off_t) 0);
        r = https_reply_parse(c->reply, c->reply_len, auth, ret);
        explicit_bzero(c->reply, c->reply_len); /* an /auth reply holds the token */
        if (r < 0) {
                fprintf(stderr, "bench-direct-https: %s: malformed reply\n", auth ? "/auth" : "/topic");
                return r;
        }
        if (ret->code != 0) {
                fprintf(stderr, "bench-direct-https: %s: code %lld (%s)\n", auth ? "/auth" : "/topic",
                        (long long) ret->code, ret->message);
                return -EPROTO;
        }
        return 0;
}

/* SignMethod= is hmacmd5 unless configured, as for the identities run.sh gives the daemon. */
static int authenticate(Client *c, const char *secret, char **ret_token) {
        _cleanup_(https_reply_done) HttpsReply reply = {};
        _cleanup_free_ char *body = NULL, *url = NULL;
        struct curl_slist *headers;
        int r;

        r = https_msg_auth_body(&(HttpsAuthParams) { .product_key = arg_product_key,
                                                     .device_name = arg_device_name,
                                                     .sign_method = SIGN_HMACMD5 },
                                secret, &body);
        if (r < 0)
                return r;
        if (asprintf(&url, "%s/auth", arg_url) < 0)
                return -ENOMEM;
        headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (!headers || !curl_slist_append(headers, "Expect:")) {
                curl_slist_free_all(headers);
                return -ENOMEM;
        }
        r = post(c, url, headers, body, strlen(body), true, &reply);
        curl_slist_free_all(headers);
        if (r < 0)
                return r;
        *ret_token = TAKE_PTR(reply.token);
        return 0;
}

/* The token header is built once: the daemon's spelling, lowercase name and no space (C.4). */
static int publish_all(Client *c, const char *token, size_t *ret_bytes) {
        _cleanup_erase_free_ char *password = NULL;
        _cleanup_free_ char *url = NULL;
        struct curl_slist *headers = NULL;
        size_t bytes = 0;
        int r = 0;

        if (asprintf(&password, "password:%s", token) < 0) {
                password = NULL;
                return -ENOMEM;
        }
        if (asprintf(&url, "%s/topic/%s/%s/user/update", arg_url, arg_product_key, arg_device_name) < 0) {
                url = NULL;
                return -ENOMEM;
        }
        headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
        if (!headers || !curl_slist_append(headers, "Expect:") || !curl_slist_append(headers, password))
                r = -ENOMEM;
        for (unsigned i = 0; r >= 0 && i < arg_count; i++) {
                _cleanup_(https_reply_done) HttpsReply reply = {};

                r = post(c, url, headers, payload, sizeof(payload) - 1, false, &reply);
                bytes += c->bytes;
        }
        for (struct curl_slist *l = headers; l; l = l->next)
                explicit_bzero(l->data, strlen(l->data));
        curl_slist_free_all(headers);
        *ret_bytes = bytes;
        return r;
}

/* The timed job is the daemon's after Flush: connection and TLS handshake, /auth, then every publish. */
static int run(const char *secret) {
        _cleanup_erase_free_ char *token = NULL;
        Client c = {};
        double t0, t_auth, t_end;
        size_t bytes = 0;
        int r;

        c.easy = curl_easy_init();
        if (!c.easy)
                return -ENOMEM;
        r = client_setup(&c);
        if (r < 0)
                goto out;
        t0 = now_sec();
        r = authenticate(&c, secret, &token);
        if (r < 0)
                goto out;
        t_auth = now_sec();
        r = publish_all(&c, token, &bytes);
        if (r < 0)
                goto out;
        t_end = now_sec();
        if (c.connects != 1) {
                fprintf(stderr, "bench-direct-https: %ld connections for %u requests: keep-alive did not hold\n",
                        c.connects, arg_count + 1);
                r = -ECONNRESET;
                goto out;
        }
        printf("{\"mode\":\"https\",\"delivered_per_s\":%.0f,\"publish_per_s\":%.0f,\"setup_auth_us\":%.0f,"
               "\"connections\":%ld,\"bytes_per_msg\":%zu,\"payload_bytes\":%zu}\n",
               arg_count / (t_end - t0), arg_count / (t_end - t_auth), (t_auth - t0) * 1e6, c.connects,
               bytes / arg_count, sizeof(payload) - 1);
out:
        curl_easy_cleanup(c.easy);
        return r;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "url",         required_argument, NULL, 'u' },
                { "ca",          required_argument, NULL, 'c' },
                { "product-key", required_argument, NULL, 'k' },
                { "device-name", required_argument, NULL, 'd' },
                { "secret-file", required_argument, NULL, 's' },
                { "count",       required_argument, NULL, 'n' },
                {}
        };
        char secret[128];
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'u': arg_url = optarg; break;
                case 'c': arg_ca = optarg; break;
                case 'k': arg_product_key = optarg; break;
                case 'd': arg_device_name = optarg; break;
                case 's': arg_secret_file = optarg; break;
                case 'n': arg_count = (unsigned) strtoul(optarg, NULL, 10); break;
                default: return 2;
                }
        }
        if (!arg_url || !arg_ca || !arg_product_key || !arg_device_name || !arg_secret_file || arg_count == 0 ||
            strncmp(arg_url, "https://", 8) != 0) {
                fprintf(stderr, "usage: bench-direct-https --url=https://HOST:PORT --ca=CA.pem --product-key=PK "
                        "--device-name=DN --secret-file=F [--count=N]\n");
                return 2;
        }
        if (bench_read_secret(arg_secret_file, secret, sizeof(secret)) < 0) {
                fprintf(stderr, "bench-direct-https: cannot read the secret file\n");
                return 1;
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                explicit_bzero(secret, sizeof(secret));
                return 1;
        }
        r = run(secret);
        explicit_bzero(secret, sizeof(secret));
        curl_global_cleanup();
        if (r < 0) {
                fprintf(stderr, "bench-direct-https: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}

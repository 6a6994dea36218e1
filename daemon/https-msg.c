/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* https request and reply bodies with json-c; see https-msg.h. Switches on numeric codes only: the message
 * strings are the platform's and only quoted (E.18). */
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "auth.h"
#include "https-msg.h"
#include "macro.h"

static void json_putp(json_object **o) {
        json_object_put(*o);
}

static int object_set(json_object *o, const char *key, const char *value) {
        json_object *s = json_object_new_string(value);

        /* json_object_object_add() owns s from here on, also when it fails. */
        return s && json_object_object_add(o, key, s) == 0 ? 0 : -ENOMEM;
}

int https_msg_auth_body(const HttpsAuthParams *p, const char *secret, char **ret_json) {
        _cleanup_(json_putp) json_object *body = NULL;
        _cleanup_free_ char *own_cid = NULL;
        _cleanup_erase_free_ char *sign = NULL;
        const char *cid = p->client_id, *method = sign_method_to_string(p->sign_method), *text;
        int r;

        if (isempty(p->product_key) || isempty(p->device_name) || !secret || !method)
                return -EINVAL;
        if (!cid) {
                if (asprintf(&own_cid, "%s.%s", p->product_key, p->device_name) < 0)
                        return -ENOMEM;
                cid = own_cid;
        }
        if (isempty(cid) || strlen(cid) > AUTH_CLIENT_ID_MAX)
                return -EINVAL;

        r = sign_compute(p->sign_method, secret,
                         (const SignField[]) {
                                 { "clientId", cid },
                                 { "deviceName", p->device_name },
                                 { "productKey", p->product_key },
                         },
                         3, &sign);
        if (r < 0)
                return r;

        body = json_object_new_object();
        if (!body)
                return -ENOMEM;
        if (object_set(body, "version", "default") < 0 || object_set(body, "clientId", cid) < 0 ||
            object_set(body, "signmethod", method) < 0 || object_set(body, "sign", sign) < 0 ||
            object_set(body, "productKey", p->product_key) < 0 ||
            object_set(body, "deviceName", p->device_name) < 0)
                return -ENOMEM;
        text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        *ret_json = strdup(text);
        return *ret_json ? 0 : -ENOMEM;
}

/* "code" as the SDK reads it: a JSON integer, or a string of decimal digits. */
static int reply_code(json_object *o, int64_t *ret) {
        const char *s;
        char *end;

        if (json_object_is_type(o, json_type_int)) {
                *ret = json_object_get_int64(o);
                return 0;
        }
        if (!json_object_is_type(o, json_type_string))
                return -EBADMSG;
        s = json_object_get_string(o);
        if (!s || *s < '0' || *s > '9')
                return -EBADMSG;
        errno = 0;
        *ret = strtoll(s, &end, 10);
        return errno == 0 && *end == 0 ? 0 : -EBADMSG;
}

/* messageId exceeds 2^53 (C.5): json-c keeps integers exact up to 2^64-1, and digits are copied as text. */
static int reply_cloud_id(json_object *o, char ret[static HTTPS_CLOUD_ID_MAX + 1]) {
        const char *s;

        if (json_object_is_type(o, json_type_int)) {
                if (json_object_get_int64(o) < 0)
                        return -EBADMSG;
                (void) snprintf(ret, HTTPS_CLOUD_ID_MAX + 1, "%" PRIu64, json_object_get_uint64(o));
                return 0;
        }
        if (!json_object_is_type(o, json_type_string))
                return -EBADMSG;
        s = json_object_get_string(o);
        if (isempty(s) || strlen(s) > HTTPS_CLOUD_ID_MAX || strspn(s, "0123456789") != strlen(s))
                return -EBADMSG;
        strcpy(ret, s);
        return 0;
}

static void copy_printable(const char *s, char ret[static HTTPS_REPLY_MESSAGE_MAX + 1]) {
        size_t n = 0;

        for (; s && *s && n < HTTPS_REPLY_MESSAGE_MAX; s++)
                ret[n++] = *s >= 0x20 && *s < 0x7f ? *s : '?';
        ret[n] = 0;
}

static int reply_info(json_object *info, bool auth, HttpsReply *r) {
        json_object *v;
        const char *s;

        if (!auth) {
                if (!json_object_object_get_ex(info, "messageId", &v))
                        return -EBADMSG;
                return reply_cloud_id(v, r->cloud_id);
        }
        if (!json_object_object_get_ex(info, "token", &v) || !json_object_is_type(v, json_type_string))
                return -EBADMSG;
        s = json_object_get_string(v);
        if (isempty(s) || (size_t) json_object_get_string_len(v) != strlen(s) || strlen(s) > AUTH_TOKEN_MAX)
                return -EBADMSG;
        r->token = strdup(s);
        return r->token ? 0 : -ENOMEM;
}

int https_reply_parse(const void *data, size_t len, bool auth, HttpsReply *ret) {
        _cleanup_(json_putp) json_object *o = NULL;
        _cleanup_(https_reply_done) HttpsReply r = {};
        json_tokener *tok;
        json_object *v, *info;
        int k;

        if (len == 0 || len > INT_MAX)
                return -EBADMSG;
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, data, (int) len);
        json_tokener_free(tok);
        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;

        if (!json_object_object_get_ex(o, "code", &v) || reply_code(v, &r.code) < 0)
                return -EBADMSG;
        if (!json_object_object_get_ex(o, "message", &v))
                return -EBADMSG;
        copy_printable(json_object_get_string(v), r.message);
        if (r.code == 0) {
                if (!json_object_object_get_ex(o, "info", &info) || !json_object_is_type(info, json_type_object))
                        return -EBADMSG;
                k = reply_info(info, auth, &r);
                if (k < 0)
                        return k;
        }
        *ret = r;
        r = (HttpsReply) {};
        return 0;
}

void https_reply_done(HttpsReply *r) {
        r->token = erase_and_free(r->token);
}

TransportResult https_reply_result(bool auth, int64_t code) {
        if (code == 0)
                return TRANSPORT_OK;
        if (auth)
                return code == 20000 || code == 10001 ? TRANSPORT_DENIED : TRANSPORT_RETRY;
        if (code >= 20001 && code <= 20003)
                return TRANSPORT_REAUTH;
        if (code == 10001 || code == 30001)
                return TRANSPORT_REJECTED;
        return TRANSPORT_RETRY;
}

int https_reply_error(const HttpsReply *r, bool auth, char **ret) {
        const char *what = auth ? "authentication failed" : "the cloud could not take the message";
        int n;

        switch (https_reply_result(auth, r->code)) {
        case TRANSPORT_DENIED:
                n = asprintf(ret, "the platform refused authentication (code %" PRId64 ": %s); check ProductKey, "
                             "DeviceName and the secret", r->code, r->message);
                return n < 0 ? -ENOMEM : 0;
        case TRANSPORT_REJECTED:
                what = "the cloud rejected the message";
                break;
        case TRANSPORT_REAUTH:
                what = "the cloud no longer accepts the token";
                break;
        case TRANSPORT_OK:
        case TRANSPORT_RETRY:
                break;
        }
        n = asprintf(ret, "%s (code %" PRId64 ": %s)", what, r->code, r->message);
        return n < 0 ? -ENOMEM : 0;
}

/* Endpoint (without trailing '/') + path + the topic with every byte outside RFC 3986's unreserved characters
 * and '/' percent-encoded, so that the server decodes exactly the topic that the access rules matched: no
 * sub-delimiter or ':'/'@' a server or proxy might treat specially. Topics have no "." or ".." levels
 * (topic_validate), and CURLOPT_PATH_AS_IS keeps libcurl from normalising the path all the same. */
int https_msg_url(const char *endpoint, const char *path, const char *topic, char **ret) {
        static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/";
        size_t n = strlen(endpoint), m = strlen(path), k = 0;
        char *url;

        while (n > 0 && endpoint[n - 1] == '/')
                n--;
        url = malloc(n + m + (topic ? 3 * strlen(topic) : 0) + 1);
        if (!url)
                return -ENOMEM;
        memcpy(url, endpoint, n);
        memcpy(url + n, path, m);
        k = n + m;
        for (const char *p = topic; p && *p; p++) {
                if (strchr(safe, *p))
                        url[k++] = *p;
                else
                        k += (size_t) sprintf(url + k, "%%%02X", (unsigned) (unsigned char) *p);
        }
        url[k] = 0;
        *ret = url;
        return 0;
}

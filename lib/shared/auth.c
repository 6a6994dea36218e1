/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CoAP /auth exchange (PROTOCOL.md A.3, A.5, B.4, E.2, E.11): the device's request body and response
 * parser, and the emulator's strict parser and sign check of received request bodies. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <json-c/json.h>

#include "auth.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free);

/* Parses exactly one JSON object spanning the whole input (trailing whitespace allowed). */
static int json_parse_object(const void *data, size_t len, json_object **ret) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *s = data;

        if (!data || len == 0 || len > INT_MAX)
                return -EBADMSG;

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

        o = json_tokener_parse_ex(tok, s, (int) len);
        if (!o || json_tokener_get_error(tok) != json_tokener_success)
                return -EBADMSG;
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
                if (s[i] == 0 || !strchr(" \t\r\n", s[i]))
                        return -EBADMSG;
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;

        *ret = TAKE_PTR(o);
        return 0;
}

static int json_add_string(json_object *o, const char *key, const char *value) {
        json_object *v;

        v = json_object_new_string(value);
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int auth_request_sign(const AuthParams *p, const char *cid, const char *seq, const char *secret,
                             char **ret) {
        const SignField fields[] = {
                { "productKey", p->product_key },
                { "deviceName", p->device_name },
                { "clientId", cid },
                { "seq", seq },
        };

        return sign_compute(p->sign_method, secret, fields, p->has_seq ? 4 : 3, ret);
}

int auth_request_build(const AuthParams *p, const char *secret, char **ret_json) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *default_cid = NULL;
        _cleanup_erase_free_ char *sign = NULL;
        const char *cid, *method, *s;
        char seq[16];
        char *json;
        int r;

        if (!p || !secret || !ret_json || isempty(p->product_key) || isempty(p->device_name))
                return -EINVAL;
        method = sign_method_to_string(p->sign_method);
        if (!method)
                return -EINVAL;

        cid = p->client_id;
        if (!cid) {
                if (asprintf(&default_cid, "%s.%s", p->product_key, p->device_name) < 0) {
                        default_cid = NULL;
                        return -ENOMEM;
                }
                cid = default_cid;
        }
        if (isempty(cid) || strlen(cid) > AUTH_CLIENT_ID_MAX)
                return -EINVAL;

        (void) snprintf(seq, sizeof(seq), "%" PRIu32, p->seq);
        r = auth_request_sign(p, cid, seq, secret, &sign);
        if (r < 0)
                return r;

        /* json-c keeps insertion order, which gives the SDK's field order byte for byte (A.15). */
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        if (json_add_string(o, "productKey", p->product_key) < 0 ||
            json_add_string(o, "deviceName", p->device_name) < 0 ||
            json_add_string(o, "clientId", cid) < 0 ||
            json_add_string(o, "sign", sign) < 0 ||
            (p->sign_method != SIGN_HMACMD5 && json_add_string(o, "signmethod", method) < 0) ||
            (p->has_seq && json_add_string(o, "seq", seq) < 0))
                return -ENOMEM;

        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        json = strdup(s);
        if (!json)
                return -ENOMEM;

        *ret_json = json;
        return 0;
}

/* A JSON string of 1..max bytes without embedded NULs, copied out. */
static int json_get_bounded_string(json_object *v, size_t max, char **ret) {
        const char *s;
        size_t len;
        char *copy;

        if (!v || !json_object_is_type(v, json_type_string))
                return -EBADMSG;
        s = json_object_get_string(v);
        len = (size_t) json_object_get_string_len(v);
        if (len == 0 || len > max || strlen(s) != len)
                return -EBADMSG;

        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

static int json_get_key_string(json_object *o, const char *key, size_t max, char **ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return -EBADMSG;
        return json_get_bounded_string(v, max, ret);
}

int auth_response_parse(const void *data, size_t len, bool want_aes, AuthResponse *ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_(auth_response_done) AuthResponse r = {};
        json_object *v;
        int k;

        if (!ret)
                return -EINVAL;

        k = json_parse_object(data, len, &o);
        if (k < 0)
                return k;

        k = json_get_key_string(o, "token", AUTH_TOKEN_MAX, &r.token);
        if (k < 0)
                return k;

        if (want_aes) {
                k = json_get_key_string(o, "random", AUTH_RANDOM_MAX, &r.random);
                if (k < 0)
                        return k;

                if (!json_object_object_get_ex(o, "seqOffset", &v) || !json_object_is_type(v, json_type_int))
                        return -EBADMSG;
                r.seq_offset = json_object_get_int64(v);
                /* It seeds a 32-bit seq counter; anything outside that range is not a usable offset. */
                if (r.seq_offset < 0 || r.seq_offset > UINT32_MAX)
                        return -EBADMSG;
        }

        *ret = r;
        r = (AuthResponse) {};
        return 0;
}

void auth_response_done(AuthResponse *r) {
        if (!r)
                return;
        r->token = erase_and_free(r->token);
        r->random = erase_and_free(r->random);
        r->seq_offset = 0;
}

/* Decimal digits only, no sign or spaces, fitting in 32 bits. */
static int parse_uint32(const char *s, uint32_t *ret) {
        uint64_t v = 0;

        if (isempty(s) || strlen(s) > 10)
                return -EBADMSG;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        if (v > UINT32_MAX)
                return -EBADMSG;
        *ret = (uint32_t) v;
        return 0;
}

/* seq and ackMode may arrive as a JSON number or as a string of decimal digits (E.11). */
static int json_get_uint32(json_object *v, const char *text, uint32_t *ret) {
        int64_t i;

        if (json_object_is_type(v, json_type_string))
                return parse_uint32(text, ret);
        if (!json_object_is_type(v, json_type_int))
                return -EBADMSG;

        i = json_object_get_int64(v);
        if (i < 0 || i > UINT32_MAX)
                return -EBADMSG;
        *ret = (uint32_t) i;
        return 0;
}

/* Interprets one of the fields with a meaning of its own; unknown keys are only kept for the sign. */
static int auth_claim_interpret(AuthClaim *c, const char *key, json_object *v, const char *text) {
        uint32_t u;
        int r;

        if (streq(key, "productKey"))
                return json_get_bounded_string(v, SIZE_MAX, &c->product_key);
        if (streq(key, "deviceName"))
                return json_get_bounded_string(v, SIZE_MAX, &c->device_name);
        if (streq(key, "clientId"))
                return json_get_bounded_string(v, AUTH_CLIENT_ID_MAX, &c->client_id);
        if (streq(key, "sign"))
                return json_get_bounded_string(v, SIZE_MAX, &c->sign);

        if (streq(key, "signmethod")) {
                if (!json_object_is_type(v, json_type_string))
                        return -EBADMSG;
                c->sign_method = sign_method_from_string(text);
                return c->sign_method < 0 ? -EBADMSG : 0;
        }
        if (streq(key, "seq")) {
                r = json_get_uint32(v, text, &c->seq);
                c->has_seq = r >= 0;
                return r;
        }
        if (streq(key, "ackMode")) {
                r = json_get_uint32(v, text, &u);
                if (r < 0 || u > 1)
                        return -EBADMSG;
                c->has_ack_mode = true;
                c->ack_mode = (int) u;
        }
        return 0;
}

static int auth_claim_add_field(AuthClaim *c, const char *key, json_object *v) {
        char *k, *value;
        const char *text;

        if (c->n_fields >= AUTH_CLAIM_FIELDS_MAX)
                return -EBADMSG;

        switch (json_object_get_type(v)) {
        case json_type_string:
                if (strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v))
                        return -EBADMSG;
                break;
        case json_type_int:
        case json_type_double:
        case json_type_boolean:
                /* json-c renders these as received (doubles keep their original text). */
                break;
        case json_type_null:
        case json_type_object:
        case json_type_array:
        default:
                return -EBADMSG;
        }

        text = json_object_get_string(v);
        if (!text)
                return -ENOMEM;
        k = strdup(key);
        value = strdup(text);
        if (!k || !value) {
                free(k);
                free(value);
                return -ENOMEM;
        }
        c->fields[c->n_fields++] = (SignField) { .key = k, .value = value };

        return auth_claim_interpret(c, key, v, text);
}

int auth_claim_parse(const void *data, size_t len, AuthClaim *ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_(auth_claim_done) AuthClaim c = { .sign_method = SIGN_HMACMD5 };
        int r;

        if (!ret)
                return -EINVAL;

        r = json_parse_object(data, len, &o);
        if (r < 0)
                return r;

        json_object_object_foreach(o, key, v) {
                r = auth_claim_add_field(&c, key, v);
                if (r < 0)
                        return r;
        }

        if (!c.product_key || !c.device_name || !c.client_id || !c.sign)
                return -EBADMSG;

        *ret = c;
        c = (AuthClaim) {};
        return 0;
}

void auth_claim_done(AuthClaim *c) {
        if (!c)
                return;

        free(c->product_key);
        free(c->device_name);
        free(c->client_id);
        erase_and_free(c->sign);
        for (size_t i = 0; i < c->n_fields; i++) {
                free((char *) c->fields[i].key);
                erase_and_free((char *) c->fields[i].value);
        }
        *c = (AuthClaim) { .sign_method = SIGN_HMACMD5 };
}

static int auth_claim_check(const AuthClaim *c, const char *secret, const SignField *fields, size_t n) {
        _cleanup_erase_free_ char *expected = NULL;
        int r;

        r = sign_compute(c->sign_method, secret, fields, n, &expected);
        if (r < 0)
                return r;
        return sign_equal(expected, c->sign) ? 0 : -EACCES;
}

int auth_claim_verify(const AuthClaim *c, const char *secret) {
        SignField without[AUTH_CLAIM_FIELDS_MAX];
        size_t n = 0;
        int r;

        if (!c || !c->sign || !secret || c->n_fields > AUTH_CLAIM_FIELDS_MAX)
                return -EINVAL;

        /* Generic rule first: every field received (E.2). */
        r = auth_claim_check(c, secret, c->fields, c->n_fields);
        if (r != -EACCES || !c->has_ack_mode)
                return r;

        /* Some clients send ackMode without signing it. */
        for (size_t i = 0; i < c->n_fields; i++)
                if (!streq(c->fields[i].key, "ackMode"))
                        without[n++] = c->fields[i];
        return auth_claim_check(c, secret, without, n);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON <-> CBOR with json-c and libcbor; see json-cbor.h. */
#include <cbor.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-cbor.h"
#include "macro.h"
#include "utf8.h"

#define DEPTH_MAX 64

static void cbor_decrefp(cbor_item_t **i) {
        if (*i)
                cbor_decref(i);
}

/* Whether v is exactly an IEEE 754 half: at most 11 significant bits, exponent within [-24, 15]. */
static bool is_half_exact(double v) {
        int e;
        double m;

        if (v == 0)
                return true;
        if (!isfinite(v) || fabs(v) > 65504.0)
                return false;
        m = frexp(v, &e); /* v = m * 2^e, 0.5 <= |m| < 1 */
        if (e - 1 >= -14)
                return ldexp(m, 11) == trunc(ldexp(m, 11));
        /* Subnormal: a multiple of 2^-24. */
        return ldexp(v, 24) == trunc(ldexp(v, 24));
}

static cbor_item_t *float_item(double v) {
        /* The shortest width that holds exactly v (libcbor keeps the value unrounded, so check first). */
        if (is_half_exact(v))
                return cbor_build_float2((float) v);
        if ((double) (float) v == v)
                return cbor_build_float4((float) v);
        return cbor_build_float8(v);
}

/* libcbor's builders have a fixed width: pick the smallest one, as a CBOR encoder should. */
static cbor_item_t *uint_item(uint64_t v, bool negative) {
        cbor_item_t *i;

        if (v <= UINT8_MAX)
                i = negative ? cbor_build_negint8((uint8_t) v) : cbor_build_uint8((uint8_t) v);
        else if (v <= UINT16_MAX)
                i = negative ? cbor_build_negint16((uint16_t) v) : cbor_build_uint16((uint16_t) v);
        else if (v <= UINT32_MAX)
                i = negative ? cbor_build_negint32((uint32_t) v) : cbor_build_uint32((uint32_t) v);
        else
                i = negative ? cbor_build_negint64(v) : cbor_build_uint64(v);
        return i;
}

static cbor_item_t *int_item(json_object *o) {
        int64_t v = json_object_get_int64(o);

        if (v == INT64_MAX && json_object_get_uint64(o) > (uint64_t) INT64_MAX)
                return uint_item(json_object_get_uint64(o), false);
        if (v >= 0)
                return uint_item((uint64_t) v, false);
        return uint_item((uint64_t) (-(v + 1)), true);
}

static cbor_item_t *to_cbor(json_object *o, unsigned depth);

static cbor_item_t *map_item(json_object *o, unsigned depth) {
        _cleanup_(cbor_decrefp) cbor_item_t *map = cbor_new_definite_map((size_t) json_object_object_length(o));

        if (!map)
                return NULL;
        json_object_object_foreach(o, key, value) {
                _cleanup_(cbor_decrefp) cbor_item_t *k = cbor_build_string(key);
                _cleanup_(cbor_decrefp) cbor_item_t *v = to_cbor(value, depth + 1);

                if (!k || !v || !cbor_map_add(map, (struct cbor_pair) { .key = k, .value = v }))
                        return NULL;
        }
        return TAKE_PTR(map);
}

static cbor_item_t *array_item(json_object *o, unsigned depth) {
        size_t n = json_object_array_length(o);
        _cleanup_(cbor_decrefp) cbor_item_t *a = cbor_new_definite_array(n);

        if (!a)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(cbor_decrefp) cbor_item_t *v = to_cbor(json_object_array_get_idx(o, i), depth + 1);

                if (!v || !cbor_array_push(a, v))
                        return NULL;
        }
        return TAKE_PTR(a);
}

/* NULL on allocation failure or excessive depth. */
static cbor_item_t *to_cbor(json_object *o, unsigned depth) {
        if (depth > DEPTH_MAX)
                return NULL;
        switch (json_object_get_type(o)) {
        case json_type_null:
                return cbor_build_ctrl(CBOR_CTRL_NULL);
        case json_type_boolean:
                return cbor_build_bool(json_object_get_boolean(o));
        case json_type_int:
                return int_item(o);
        case json_type_double:
                return float_item(json_object_get_double(o));
        case json_type_string:
                return cbor_build_stringn(json_object_get_string(o), (size_t) json_object_get_string_len(o));
        case json_type_object:
                return map_item(o, depth);
        case json_type_array:
                return array_item(o, depth);
        }
        return NULL;
}

/* What json-c accepts but CBOR or json_cbor_decode() would refuse, so that what json_cbor_encode() makes
 * always decodes again: a number beyond the double range (1e999), which json-c reads as an infinity, and
 * text that is not strict UTF-8 (JSON_TOKENER_VALIDATE_UTF8 lets overlong forms through; RFC 8949 3.1 and
 * libcbor do not). Depth is bounded by the tokener. */
static bool cbor_expressible(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_double:
                return isfinite(json_object_get_double(o));
        case json_type_string:
                return utf8_is_valid(json_object_get_string(o), (size_t) json_object_get_string_len(o));
        case json_type_object: {
                json_object_object_foreach(o, key, value)
                        if (!utf8_is_valid(key, strlen(key)) || !cbor_expressible(value))
                                return false;
                return true;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        if (!cbor_expressible(json_object_array_get_idx(o, i)))
                                return false;
                return true;
        case json_type_null:
        case json_type_boolean:
        case json_type_int:
                break;
        }
        return true;
}

/* Exactly one JSON value, optionally surrounded by whitespace. */
static int parse_json(const void *data, size_t len, json_object **ret) {
        _cleanup_free_ char *buf = NULL;
        json_tokener *tok;
        json_object *o;
        size_t end;

        if (len > (size_t) INT32_MAX - 1)
                return -EINVAL;
        /* json-c needs a terminator to know that a top-level number has ended. */
        buf = malloc(len + 1);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, data, len);
        buf[len] = 0;
        tok = json_tokener_new_ex(DEPTH_MAX + 1); /* json-c counts one level more than we do */
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, buf, (int) len + 1);
        end = tok->char_offset;
        /* o == NULL is also json-c's JSON null: the tokener's state tells them apart. */
        bool ok = json_tokener_get_error(tok) == json_tokener_success;
        json_tokener_free(tok);
        if (!ok) {
                json_object_put(o);
                return -EINVAL;
        }
        for (size_t i = end; i < len; i++)
                if (!strchr(" \t\r\n", buf[i])) {
                        json_object_put(o);
                        return -EINVAL;
                }
        *ret = o;
        return 0;
}

int json_cbor_encode(const void *json, size_t len, uint8_t **ret, size_t *ret_len) {
        _cleanup_(cbor_decrefp) cbor_item_t *item = NULL;
        unsigned char *buf = NULL;
        json_object *o;
        size_t size = 0, n;
        int r;

        r = parse_json(json, len, &o);
        if (r < 0)
                return r;
        if (!cbor_expressible(o)) {
                json_object_put(o);
                return -EINVAL;
        }
        item = to_cbor(o, 0);
        json_object_put(o);
        if (!item)
                return -ENOMEM; /* depth was limited by the tokener already */
        n = cbor_serialize_alloc(item, &buf, &size);
        if (n == 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = n;
        return 0;
}

static int from_cbor(const cbor_item_t *i, unsigned depth, json_object **ret);

static int from_map(const cbor_item_t *i, unsigned depth, json_object **ret) {
        json_object *o = json_object_new_object();
        struct cbor_pair *pairs = cbor_map_handle(i);

        if (!o)
                return -ENOMEM;
        for (size_t k = 0; k < cbor_map_size(i); k++) {
                _cleanup_free_ char *key = NULL;
                json_object *v = NULL;
                int r = -EBADMSG;

                /* json-c keys are C strings: a key holding U+0000 has no JSON form here. */
                if (cbor_isa_string(pairs[k].key) && cbor_string_is_definite(pairs[k].key) &&
                    !memchr(cbor_string_handle(pairs[k].key), 0, cbor_string_length(pairs[k].key))) {
                        key = strndup((const char *) cbor_string_handle(pairs[k].key), cbor_string_length(pairs[k].key));
                        r = key ? from_cbor(pairs[k].value, depth + 1, &v) : -ENOMEM;
                }
                if (r < 0) {
                        json_object_put(o);
                        return r;
                }
                json_object_object_add(o, key, v);
        }
        *ret = o;
        return 0;
}

static int from_array(const cbor_item_t *i, unsigned depth, json_object **ret) {
        json_object *o = json_object_new_array();

        if (!o)
                return -ENOMEM;
        for (size_t k = 0; k < cbor_array_size(i); k++) {
                json_object *v = NULL;
                int r = from_cbor(cbor_array_handle(i)[k], depth + 1, &v);

                if (r < 0) {
                        json_object_put(o);
                        return r;
                }
                json_object_array_add(o, v);
        }
        *ret = o;
        return 0;
}

/* The shortest decimal that reads back as exactly v, and still looks like a float (23.6, not 23.600000000000001). */
static json_object *double_object(double v) {
        char buf[40];

        for (int prec = 1; prec <= 17; prec++) {
                (void) snprintf(buf, sizeof(buf) - 2, "%.*g", prec, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        if (!strpbrk(buf, ".en"))
                strcat(buf, ".0");
        return json_object_new_double_s(v, buf);
}

static int from_float_ctrl(const cbor_item_t *i, json_object **ret) {
        double v;

        if (cbor_float_ctrl_is_ctrl(i)) {
                if (cbor_is_null(i)) {
                        *ret = NULL; /* json-c's null */
                        return 0;
                }
                if (!cbor_is_bool(i))
                        return -EBADMSG; /* undefined and simple values have no JSON form */
                *ret = json_object_new_boolean(cbor_get_bool(i));
        } else {
                v = cbor_float_get_float(i);
                if (!isfinite(v))
                        return -EBADMSG;
                *ret = double_object(v);
        }
        return *ret ? 0 : -ENOMEM;
}

static int new_or_enomem(json_object *o, json_object **ret) {
        *ret = o;
        return o ? 0 : -ENOMEM;
}

/* -EBADMSG when the item has no JSON form. */
static int from_cbor(const cbor_item_t *i, unsigned depth, json_object **ret) {
        if (depth > DEPTH_MAX)
                return -EBADMSG;
        switch (cbor_typeof(i)) {
        case CBOR_TYPE_UINT:
                return new_or_enomem(json_object_new_uint64(cbor_get_int(i)), ret);
        case CBOR_TYPE_NEGINT:
                if (cbor_get_int(i) > (uint64_t) INT64_MAX)
                        return -EBADMSG;
                return new_or_enomem(json_object_new_int64(-1 - (int64_t) cbor_get_int(i)), ret);
        case CBOR_TYPE_STRING:
                if (!cbor_string_is_definite(i))
                        return -EBADMSG;
                return new_or_enomem(json_object_new_string_len((const char *) cbor_string_handle(i),
                                                                (int) cbor_string_length(i)), ret);
        case CBOR_TYPE_ARRAY:
                return from_array(i, depth, ret);
        case CBOR_TYPE_MAP:
                return from_map(i, depth, ret);
        case CBOR_TYPE_TAG: {
                cbor_item_t *tagged = cbor_tag_item(i); /* a new reference */
                int r = tagged ? from_cbor(tagged, depth + 1, ret) : -ENOMEM;

                cbor_decrefp(&tagged);
                return r;
        }
        case CBOR_TYPE_FLOAT_CTRL:
                return from_float_ctrl(i, ret);
        case CBOR_TYPE_BYTESTRING:
                break;
        }
        return -EBADMSG;
}

/* The argument of the head at *p (RFC 8949 3.1); *p moves past it. Returns 0, 1 for an indefinite length
 * (additional information 31), or -EBADMSG (truncated, reserved 28..30). */
static int cbor_head(const uint8_t **p, const uint8_t *end, unsigned *ret_major, uint64_t *ret_arg) {
        unsigned ai, n;

        if (*p >= end)
                return -EBADMSG;
        *ret_major = **p >> 5;
        ai = **p & 0x1f;
        (*p)++;
        if (ai == 31)
                return 1;
        if (ai < 24) {
                *ret_arg = ai;
                return 0;
        }
        if (ai > 27)
                return -EBADMSG;
        n = 1u << (ai - 24);
        if ((size_t) (end - *p) < n)
                return -EBADMSG;
        *ret_arg = 0;
        for (unsigned k = 0; k < n; k++)
                *ret_arg = *ret_arg << 8 | *(*p)++;
        return 0;
}

/* Walks one item without allocating, so that cbor_load() never sees a count it would allocate for but
 * that the data cannot hold (a 5-byte head may declare 2^32 array elements), nor nesting deeper than
 * from_cbor() accepts (libcbor frees items recursively). Every item takes at least one byte, so a count
 * above the bytes left is malformed. Returns 0 or -EBADMSG; *p moves past the item. */
static int cbor_walk(const uint8_t **p, const uint8_t *end, unsigned depth) {
        unsigned major;
        uint64_t arg = 0;
        int r;

        if (depth > DEPTH_MAX)
                return -EBADMSG;
        r = cbor_head(p, end, &major, &arg);
        if (r < 0)
                return r;
        if (r == 1) {
                if (major < 2 || major == 6 || major == 7)
                        return -EBADMSG; /* a lone break, or indefinite where RFC 8949 has none */
                while (*p < end && **p != 0xff) {
                        if ((major == 2 || major == 3) && **p >> 5 != major)
                                return -EBADMSG; /* string chunks are definite strings of the same type */
                        r = cbor_walk(p, end, depth + 1);
                        if (r < 0)
                                return r;
                }
                if (*p >= end)
                        return -EBADMSG;
                (*p)++;
                return 0;
        }
        switch (major) {
        case 2:
        case 3:
                if (arg > (uint64_t) (end - *p))
                        return -EBADMSG;
                *p += arg;
                return 0;
        case 4:
        case 5:
                if (arg > (uint64_t) (end - *p) || (major == 5 && arg > (uint64_t) (end - *p) / 2))
                        return -EBADMSG;
                for (uint64_t k = 0; k < (major == 5 ? 2 * arg : arg); k++) {
                        r = cbor_walk(p, end, depth + 1);
                        if (r < 0)
                                return r;
                }
                return 0;
        case 6:
                return cbor_walk(p, end, depth + 1);
        default:
                return 0; /* integers, simple values and floats: the head is all */
        }
}

int json_cbor_decode(const void *cbor, size_t len, char **ret) {
        _cleanup_(cbor_decrefp) cbor_item_t *item = NULL;
        struct cbor_load_result res;
        const uint8_t *p = cbor;
        json_object *o = NULL;
        char *text;
        int r;

        if (len == 0 || cbor_walk(&p, p + len, 0) < 0 || p != (const uint8_t *) cbor + len)
                return -EBADMSG;
        item = cbor_load(cbor, len, &res);
        if (!item || res.error.code != CBOR_ERR_NONE || res.read != len)
                return -EBADMSG;
        r = from_cbor(item, 0, &o);
        if (r < 0)
                return r;
        text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

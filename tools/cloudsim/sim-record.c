/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON-lines record: json-c builds each object (keys in the documented order), one write() appends it. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "macro.h"
#include "json-cbor.h"
#include "sim-record.h"

struct SimRecord {
        int fd;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

int sim_record_open(const char *path, SimRecord **ret) {
        SimRecord *r;
        int fd;

        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        r = calloc(1, sizeof(*r));
        if (!r) {
                safe_close(fd);
                return -ENOMEM;
        }
        r->fd = fd;
        *ret = r;
        return 0;
}

SimRecord *sim_record_free(SimRecord *r) {
        if (!r)
                return NULL;
        safe_close(r->fd);
        free(r);
        return NULL;
}

/* json_object_object_add() takes ownership of the value even on failure, so a NULL value (OOM) is the
 * only case to catch here. */
static int add(json_object *o, const char *key, json_object *value) {
        if (!value)
                return -ENOMEM;
        return json_object_object_add(o, key, value) < 0 ? -ENOMEM : 0;
}

static int add_string(json_object *o, const char *key, const char *value) {
        return add(o, key, json_object_new_string(value));
}

static int to_text(json_object *o, char **ret) {
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *copy;

        if (!s)
                return -ENOMEM;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

/* A CBOR payload (Content-Format 60) is also written back as JSON text, so tests can compare it with what the
 * application published; a payload that is not valid CBOR gets "json": null. */
static int add_cbor_as_json(json_object *o, const SimRecordPublish *p) {
        _cleanup_free_ char *text = NULL;
        int r;

        if (p->content_format != 60)
                return 0;
        r = json_cbor_decode(p->payload, p->payload_len, &text);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return json_object_object_add(o, "json", NULL) < 0 ? -ENOMEM : 0;
        return add_string(o, "json", text) < 0 ? -ENOMEM : 0;
}

int sim_record_format_publish(const SimRecordPublish *p, char **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_free_ char *b64 = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        r = base64_encode(p->payload, p->payload_len, &b64);
        if (r < 0)
                return r;

        if (add_string(o, "event", "publish") < 0 || add_string(o, "transport", p->transport) < 0 ||
            add_string(o, "productKey", p->product_key) < 0 || add_string(o, "deviceName", p->device_name) < 0 ||
            add_string(o, "topic", p->topic) < 0 || add_string(o, "payload", b64) < 0)
                return -ENOMEM;
        if (p->has_seq && add(o, "seq", json_object_new_int64(p->seq)) < 0)
                return -ENOMEM;
        if (p->content_format >= 0 ? add(o, "contentFormat", json_object_new_int(p->content_format)) < 0 :
                                     json_object_object_add(o, "contentFormat", NULL) < 0)
                return -ENOMEM;
        if (add_string(o, "messageId", p->message_id) < 0 ||
            add(o, "time", json_object_new_int64((int64_t) p->time_ms)) < 0)
                return -ENOMEM;
        r = add_cbor_as_json(o, p);
        if (r < 0)
                return r;
        return to_text(o, ret);
}

static int format_auth(const char *transport, const char *product_key, const char *device_name,
                       const char *client_id, uint64_t time_ms, char **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        if (add_string(o, "event", "auth") < 0 || add_string(o, "transport", transport) < 0 ||
            add_string(o, "productKey", product_key) < 0 || add_string(o, "deviceName", device_name) < 0 ||
            add_string(o, "clientId", client_id) < 0 || add(o, "time", json_object_new_int64((int64_t) time_ms)) < 0)
                return -ENOMEM;
        return to_text(o, ret);
}

static int write_line(SimRecord *r, const char *json) {
        _cleanup_free_ char *line = NULL;
        size_t len;
        ssize_t n;

        if (asprintf(&line, "%s\n", json) < 0)
                return -ENOMEM;
        len = strlen(line);
        n = write(r->fd, line, len);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

int sim_record_publish(SimRecord *r, const SimRecordPublish *p) {
        _cleanup_free_ char *json = NULL;
        int k;

        if (!r)
                return 0;
        k = sim_record_format_publish(p, &json);
        if (k < 0)
                return k;
        return write_line(r, json);
}

int sim_record_auth(SimRecord *r, const char *transport, const char *product_key, const char *device_name,
                    const char *client_id, uint64_t time_ms) {
        _cleanup_free_ char *json = NULL;
        int k;

        if (!r)
                return 0;
        k = format_auth(transport, product_key, device_name, client_id, time_ms, &json);
        if (k < 0)
                return k;
        return write_line(r, json);
}

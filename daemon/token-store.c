/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Token cache files; see token-store.h. The token is a credential: files are 0600 in a 0700 directory,
 * buffers are wiped, and nothing of it is logged. */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "token-store.h"
#include "time-util.h"

#define TOKEN_FILE_MAX 4096

void token_record_done(TokenRecord *r) {
        erase_and_free(r->token);
        erase_and_free(r->random);
        *r = (TokenRecord) {};
}

static int token_path(const char *state_dir, const char *name, char **ret_dir, char **ret_path) {
        if (asprintf(ret_dir, "%s/tokens", state_dir) < 0)
                return -ENOMEM;
        if (asprintf(ret_path, "%s/%s.json", *ret_dir, name) < 0) {
                free(*ret_dir);
                return -ENOMEM;
        }
        return 0;
}

static const char *get_string(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                ? json_object_get_string(v) : NULL;
}

static uint64_t get_u64(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)
                ? (uint64_t) json_object_get_uint64(v) : 0;
}

/* The record is only valid for the identity and endpoint it was obtained with. */
static int token_from_json(json_object *o, const Identity *id, TokenRecord *ret) {
        const char *token = get_string(o, "token"), *random = get_string(o, "random");
        TokenRecord r = {};

        if (!token || !streq_ptr(get_string(o, "productKey"), id->product_key) ||
            !streq_ptr(get_string(o, "deviceName"), id->device_name) ||
            !streq_ptr(get_string(o, "transport"), transport_kind_to_string(id->transport)) ||
            !streq_ptr(get_string(o, "endpoint"), id->endpoint))
                return -ENOENT;
        r.expires_usec = get_u64(o, "expires");
        if (r.expires_usec != 0 && r.expires_usec <= now_realtime_usec())
                return -ENOENT;
        r.seq = get_u64(o, "seq");
        r.token = strdup(token);
        r.random = random ? strdup(random) : NULL;
        if (!r.token || (random && !r.random)) {
                token_record_done(&r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

int token_store_load(const char *state_dir, const Identity *id, TokenRecord *ret) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        _cleanup_close_ int fd = -1;
        char buf[TOKEN_FILE_MAX + 1];
        json_object *o;
        ssize_t n;
        int r;

        r = token_path(state_dir, id->name, &dir, &path);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : log_debug_errno(errno, "Cannot open %s: %m", path);
        n = read(fd, buf, TOKEN_FILE_MAX);
        if (n <= 0 || n == TOKEN_FILE_MAX) {
                explicit_bzero(buf, sizeof(buf));
                return -ENOENT;
        }
        buf[n] = 0;
        o = json_tokener_parse(buf);
        explicit_bzero(buf, sizeof(buf));
        if (!o) {
                log_device_notice(id->name, "Ignoring the unreadable token cache %s.", path);
                return -ENOENT;
        }
        r = token_from_json(o, id, ret);
        json_object_put(o);
        return r;
}

static json_object *token_to_json(const Identity *id, const TokenRecord *r) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (json_object_object_add(o, "productKey", json_object_new_string(id->product_key)) < 0 ||
            json_object_object_add(o, "deviceName", json_object_new_string(id->device_name)) < 0 ||
            json_object_object_add(o, "transport", json_object_new_string(transport_kind_to_string(id->transport))) < 0 ||
            json_object_object_add(o, "endpoint", json_object_new_string(id->endpoint)) < 0 ||
            json_object_object_add(o, "token", json_object_new_string(r->token)) < 0 ||
            (r->random && json_object_object_add(o, "random", json_object_new_string(r->random)) < 0) ||
            json_object_object_add(o, "seq", json_object_new_uint64(r->seq)) < 0 ||
            json_object_object_add(o, "expires", json_object_new_uint64(r->expires_usec)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

int token_store_save(const char *state_dir, const Identity *id, const TokenRecord *r) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *tmp = NULL, *text = NULL;
        _cleanup_close_ int fd = -1;
        json_object *o;
        size_t len;
        int err = 0;

        if (token_path(state_dir, id->name, &dir, &path) < 0 || asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return log_device_warning_errno(id->name, errno, "Cannot create %s: %m", dir);
        o = token_to_json(id, r);
        if (!o)
                return -ENOMEM;
        text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        if (!text)
                return -ENOMEM;
        len = strlen(text);

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || fchmod(fd, 0600) < 0 || write(fd, text, len) != (ssize_t) len || fsync(fd) < 0 ||
            rename(tmp, path) < 0)
                err = errno ? -errno : -EIO;
        explicit_bzero(text, len);
        if (err < 0) {
                (void) unlink(tmp);
                return log_device_warning_errno(id->name, err, "Cannot cache the token in %s: %m", dir);
        }
        return 0;
}

int token_store_remove(const char *state_dir, const char *name) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        int r;

        r = token_path(state_dir, name, &dir, &path);
        if (r < 0)
                return r;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

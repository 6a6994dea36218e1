/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing and validation of device identity files with inih; see identity.h. */
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

#include "config.h"
#include "identity.h"
#include "log.h"
#include "parse-util.h"
#include "safe-file.h"

#define SECRET_MAX 64 /* the SDK's HMAC key limit (A.4) */

static const char *const transport_kind_table[_TRANSPORT_KIND_MAX] = {
        [TRANSPORT_COAP_AES] = "coap-aes",
        [TRANSPORT_COAP_DTLS] = "coap-dtls",
        [TRANSPORT_HTTPS] = "https",
};

const char *transport_kind_to_string(TransportKind k) {
        if (k < 0 || k >= _TRANSPORT_KIND_MAX)
                return NULL;
        return transport_kind_table[k];
}

TransportKind transport_kind_from_string(const char *s) {
        for (TransportKind k = 0; k < _TRANSPORT_KIND_MAX; k++)
                if (s && streq(s, transport_kind_table[k]))
                        return k;
        return _TRANSPORT_KIND_INVALID;
}

Identity *identity_free(Identity *id) {
        if (!id)
                return NULL;
        free(id->name);
        free(id->path);
        free(id->product_key);
        free(id->device_name);
        free(id->client_id);
        erase_and_free(id->secret);
        free(id->endpoint);
        free(id->ca_file);
        free(id);
        return NULL;
}

static bool chars_valid(const char *s, const char *extra, size_t max) {
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr(extra, *p)))
                        return false;
        return true;
}

bool identity_name_is_valid(const char *name) {
        return chars_valid(name, "_-", 64);
}

typedef struct ParseState {
        Identity *id;
        const char *path;
        const char *credentials_dir;
        char error[256];
        char *secret_file;
        char *secret_credential;
        bool secret_inline;
        int lines_seen; /* inih does not pass the line number to the handler */
} ParseState;

_printf_(2, 3) static int parse_error(ParseState *st, const char *fmt, ...) {
        va_list ap;

        if (!st->error[0]) {
                va_start(ap, fmt);
                (void) vsnprintf(st->error, sizeof(st->error), fmt, ap);
                va_end(ap);
        }
        return 0;
}

static int set_string(char **field, const char *value) {
        return free_and_strdup(field, value) < 0 ? 0 : 1;
}

/* A device file holds a secret, and a value typed on the wrong line (the secret pasted into Transport=, say)
 * must not reach the log or a D-Bus reply: messages name the key, never the value, nor an unknown section or
 * key, which could be a secret too. manager_devices_load and CheckConfiguration add the file and line. */
static int on_key(void *userdata, const char *section, const char *name, const char *value) {
        ParseState *st = userdata;
        Identity *id = st->id;

        if (!streq(section, "Device"))
                return parse_error(st, "unknown section, expected [Device]");
        if (streq(name, "ProductKey"))
                return chars_valid(value, "", 32) ? set_string(&id->product_key, value)
                                                  : parse_error(st, "ProductKey= is not 1-32 letters and digits");
        if (streq(name, "DeviceName"))
                return chars_valid(value, "_-.:@", 32) ? set_string(&id->device_name, value)
                                                       : parse_error(st, "DeviceName= is not 1-32 characters of [A-Za-z0-9_.:@-]");
        if (streq(name, "ClientId"))
                return chars_valid(value, "_-.:@&|", 64) ? set_string(&id->client_id, value)
                                                         : parse_error(st, "ClientId= is not 1-64 characters of [A-Za-z0-9_.:@&|-]");
        if (streq(name, "Secret")) {
                if (strlen(value) == 0 || strlen(value) > SECRET_MAX)
                        return parse_error(st, "Secret= must be 1-64 characters");
                st->secret_inline = true;
                erase_and_free(id->secret);
                id->secret = strdup(value);
                return id->secret ? 1 : 0;
        }
        if (streq(name, "SecretFile"))
                return value[0] == '/' ? set_string(&st->secret_file, value)
                                       : parse_error(st, "SecretFile= is not an absolute path");
        if (streq(name, "SecretCredential"))
                return chars_valid(value, "_-.@", 255) ? set_string(&st->secret_credential, value)
                                                       : parse_error(st, "SecretCredential= is not a valid credential name");
        if (streq(name, "Transport")) {
                id->transport = transport_kind_from_string(value);
                return id->transport >= 0 ? 1 : parse_error(st, "Transport= is not one of coap-aes, coap-dtls, https");
        }
        if (streq(name, "Endpoint"))
                return !isempty(value) ? set_string(&id->endpoint, value) : parse_error(st, "Endpoint= is empty");
        if (streq(name, "SignMethod")) {
                id->sign_method = sign_method_from_string(value);
                return id->sign_method >= 0 ? 1 : parse_error(st, "SignMethod= is not one of hmacmd5, hmacsha1, hmacsha256");
        }
        if (streq(name, "PSKSignMethod")) {
                id->psk_sign_method = sign_method_from_string(value);
                return id->psk_sign_method >= 0 ? 1 : parse_error(st, "PSKSignMethod= is not one of hmacmd5, hmacsha1, hmacsha256");
        }
        if (streq(name, "PayloadEncoding")) {
                if (!streq(value, "json") && !streq(value, "cbor"))
                        return parse_error(st, "PayloadEncoding= is not json or cbor");
                id->payload_cbor = streq(value, "cbor");
                return 1;
        }
        if (streq(name, "CAFile"))
                return value[0] == '/' ? set_string(&id->ca_file, value)
                                       : parse_error(st, "CAFile= is not an absolute path");
        if (streq(name, "MaxInFlight")) {
                uint64_t v;

                if (parse_u64(value, 1, TRANSPORT_WINDOW_LIMIT, &v) < 0)
                        return parse_error(st, "MaxInFlight= is not a number from 1 to 32");
                id->max_in_flight = (unsigned) v;
                return 1;
        }
        return parse_error(st, "unknown key; the keys of a device file are listed in iotpubd(8)");
}

/* Reads a secret from path, refusing a file that someone else could read or write (credentials are systemd's:
 * those are taken as they are). Trailing newlines are dropped. */
static int read_secret_file(const ParseState *st, const char *path, bool check_mode, char **ret) {
        _cleanup_(safe_file_done) SafeFile f = {};
        char reason[SAFE_FILE_REASON_MAX];
        size_t n;
        int r;

        r = safe_file_read(path, check_mode ? SAFE_FILE_TRUSTED | SAFE_FILE_DAEMON | SAFE_FILE_SECRET : 0,
                           SAFE_FILE_SECRET_MAX, &f, reason);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "%s: %s=: %s", st->path, check_mode ? "SecretFile" : "SecretCredential",
                                       reason);
        n = f.size;
        while (n > 0 && (f.data[n - 1] == '\n' || f.data[n - 1] == '\r'))
                n--;
        if (n == 0 || n > SECRET_MAX)
                return log_error_errno(EINVAL, "%s: secret file %s must hold 1-64 characters.", st->path, path);
        *ret = strndup(f.data, n);
        return *ret ? 0 : -ENOMEM;
}

static int identity_resolve_secret(Identity *id, ParseState *st, const struct stat *conf_st) {
        _cleanup_free_ char *cred_path = NULL;
        char reason[SAFE_FILE_REASON_MAX];
        int r, sources = st->secret_inline + !!st->secret_file + !!st->secret_credential;

        if (sources != 1)
                return log_error_errno(EINVAL, "%s: exactly one of Secret=, SecretFile= or SecretCredential= is needed (%d given).",
                                       st->path, sources);
        if (st->secret_inline) {
                r = safe_file_check_stat(st->path, conf_st, SAFE_FILE_TRUSTED | SAFE_FILE_DAEMON | SAFE_FILE_SECRET,
                                         reason);
                return r < 0 ? log_error_errno(r, "%s", reason) : 0;
        }
        if (st->secret_file)
                return read_secret_file(st, st->secret_file, true, &id->secret);

        if (!st->credentials_dir)
                return log_error_errno(ENOENT, "%s: SecretCredential=%s needs $CREDENTIALS_DIRECTORY (LoadCredential= in the unit).",
                                       st->path, st->secret_credential);
        if (asprintf(&cred_path, "%s/%s", st->credentials_dir, st->secret_credential) < 0)
                return -ENOMEM;
        return read_secret_file(st, cred_path, false, &id->secret);
}

static int identity_defaults(Identity *id) {
        /* The platform's public endpoints for the cn-shanghai region (PROTOCOL.md A.1, B.1, C.1). */
        static const unsigned coap_port[_TRANSPORT_KIND_MAX] = {
                [TRANSPORT_COAP_AES] = 5682,
                [TRANSPORT_COAP_DTLS] = 5684,
        };
        int r;

        if (!id->client_id && asprintf(&id->client_id, "%s.%s", id->product_key, id->device_name) < 0)
                return -ENOMEM;
        if (strlen(id->client_id) > 64)
                return log_error_errno(EINVAL, "%s: the default ClientId (ProductKey.DeviceName) is longer than 64 "
                                       "characters; set ClientId=.", id->path);
        if (!id->endpoint) {
                if (id->transport == TRANSPORT_HTTPS)
                        r = asprintf(&id->endpoint, "https://iot-as-http.cn-shanghai.aliyuncs.com");
                else
                        r = asprintf(&id->endpoint, "%s.coap.cn-shanghai.link.aliyuncs.com:%u", id->product_key,
                                     coap_port[id->transport]);
                if (r < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int identity_name_from_path(const char *path, char **ret) {
        const char *base = strrchr(path, '/');
        size_t n;

        base = base ? base + 1 : path;
        n = strlen(base);
        if (n <= 5 || !streq(base + n - 5, ".conf"))
                return -EINVAL;
        *ret = strndup(base, n - 5);
        if (!*ret)
                return -ENOMEM;
        return identity_name_is_valid(*ret) ? 0 : -EINVAL;
}

/* libcurl and libcoap (GnuTLS) open CAFile= by path themselves, each time they set up a session: it is checked
 * here with the same rules as the identity file, so a FIFO, a device or a file others may write is refused
 * before the path is handed over (a later swap needs root or iotpubd's user). */
static int identity_check_ca_file(const Identity *id) {
        char reason[SAFE_FILE_REASON_MAX];
        int r;

        if (!id->ca_file)
                return 0;
        r = safe_file_check(id->ca_file, SAFE_FILE_TRUSTED | SAFE_FILE_DAEMON, SAFE_FILE_CONFIG_MAX, reason);
        if (r == -ENOMEM)
                return log_oom();
        return r < 0 ? log_error_errno(r, "%s: refusing CAFile=: %s", id->path, reason) : 0;
}

/* A secret pasted into another key by mistake would be logged and published on the bus as that value: refuse
 * it. Secrets shorter than 8 characters would match ordinary values by chance. */
static int identity_check_secret_elsewhere(const Identity *id) {
        const struct {
                const char *key, *value;
        } values[] = {
                { "ProductKey", id->product_key }, { "DeviceName", id->device_name }, { "ClientId", id->client_id },
                { "Endpoint", id->endpoint },      { "CAFile", id->ca_file },
        };

        if (strlen(id->secret) < 8)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(values); i++)
                if (values[i].value && strstr(values[i].value, id->secret))
                        return log_error_errno(EINVAL, "%s: %s= contains the device secret; remove it from there.",
                                               id->path, values[i].key);
        return 0;
}

static int identity_parse(Identity *id, ParseState *st, struct stat *ret_st) {
        _cleanup_(safe_file_done) SafeFile f = {};
        char reason[SAFE_FILE_REASON_MAX];
        int line, r;

        r = safe_file_read(st->path, SAFE_FILE_TRUSTED | SAFE_FILE_DAEMON, SAFE_FILE_CONFIG_MAX, &f, reason);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "%s", reason);
        *ret_st = f.st;
        st->id = id;
        line = ini_parse_string(f.data, on_key, st);
        if (line != 0)
                return log_error_errno(EINVAL, "%s:%d: %s", st->path, line,
                                       st->error[0] ? st->error : "syntax error, expected [Device] and Key=Value lines");
        if (!id->product_key || !id->device_name)
                return log_error_errno(EINVAL, "%s: %s= is missing.", st->path,
                                       id->product_key ? "DeviceName" : "ProductKey");
        return 0;
}

int identity_load(const char *path, const char *credentials_dir, Identity **ret) {
        _cleanup_(identity_freep) Identity *id = NULL;
        ParseState st = { .path = path, .credentials_dir = credentials_dir };
        struct stat conf_st;
        int r;

        id = calloc(1, sizeof(*id));
        if (!id)
                return -ENOMEM;
        id->transport = TRANSPORT_COAP_AES;
        id->sign_method = SIGN_HMACMD5;
        id->psk_sign_method = SIGN_HMACSHA256;
        id->path = strdup(path);
        if (!id->path)
                return -ENOMEM;
        r = identity_name_from_path(path, &id->name);
        if (r < 0)
                return log_error_errno(EINVAL, "%s: the file name must be NAME.conf with NAME of 1-64 characters [A-Za-z0-9_-].", path);

        r = identity_parse(id, &st, &conf_st);
        if (r >= 0)
                r = identity_resolve_secret(id, &st, &conf_st);
        free(st.secret_file);
        free(st.secret_credential);
        if (r >= 0)
                r = identity_defaults(id);
        if (r >= 0)
                r = identity_check_secret_elsewhere(id);
        if (r >= 0)
                r = identity_check_ca_file(id);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(id);
        return 0;
}

/* Whether two identities would behave the same (a reload keeps the running device then). */
bool identity_equal(const Identity *a, const Identity *b) {
        return streq(a->name, b->name) && streq(a->product_key, b->product_key) &&
               streq(a->device_name, b->device_name) && streq(a->client_id, b->client_id) &&
               streq(a->secret, b->secret) && a->transport == b->transport && streq(a->endpoint, b->endpoint) &&
               a->sign_method == b->sign_method && a->psk_sign_method == b->psk_sign_method &&
               a->payload_cbor == b->payload_cbor && streq_ptr(a->ca_file, b->ca_file) &&
               a->max_in_flight == b->max_in_flight;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: cloudsim's HTTPS API without sockets (sim_https_handle). Input: the path, a newline, the
 * password header, a newline, the body. A password of "@token" is replaced by the token of a real /auth made
 * first, "-" means no password header; a missing line means an empty value. */
#include <json-c/json.h>
#include <string.h>

#include "../../tools/cloudsim/sim-https-api.h"
#include "fuzz-sim.h"

#define AUTH_BODY "{\"version\":\"default\",\"clientId\":\"a1B2c3D4e5F.sensor_0042\",\"signmethod\":\"hmacsha1\"," \
        "\"sign\":\"511b1251911e70d541b455b13f906bebadb5130c\",\"productKey\":\"a1B2c3D4e5F\",\"deviceName\":\"sensor_0042\"}"

/* Calls the handler and checks the reply is JSON with a code, shorter than 256 bytes (C.8). */
static void handle(SimServer *s, const SimHttpsRequest *req, char **ret_json) {
        json_object *o, *code;
        char *json = NULL;

        if (sim_https_handle(s, req, &json) < 0)
                return;
        o = json ? json_tokener_parse(json) : NULL;
        if (!o || strlen(json) >= 256 || !json_object_object_get_ex(o, "code", &code))
                abort();
        json_object_put(o);
        if (ret_json)
                *ret_json = json;
        else
                free(json);
}

/* A real /auth; returns the token (malloc'd). */
static char *authenticate(SimServer *s) {
        SimHttpsRequest req = { .peer = "fuzz", .path = "/auth", .body = AUTH_BODY, .body_len = strlen(AUTH_BODY) };
        json_object *o, *info, *token;
        char *json = NULL, *ret;

        handle(s, &req, &json);
        o = json ? json_tokener_parse(json) : NULL;
        if (!o || !json_object_object_get_ex(o, "info", &info) || !json_object_object_get_ex(info, "token", &token))
                abort();
        ret = strdup(json_object_get_string(token));
        if (!ret)
                abort();
        json_object_put(o);
        free(json);
        return ret;
}

/* The next line of [*p, end) as a new string; *p moves past its newline. */
static char *next_line(const uint8_t **p, const uint8_t *end) {
        const uint8_t *nl = memchr(*p, '\n', (size_t) (end - *p));
        size_t len = nl ? (size_t) (nl - *p) : (size_t) (end - *p);
        char *s = fuzz_strndup(*p, len);

        *p += nl ? len + 1 : len;
        return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SimServer *s = fuzz_sim_server();
        const uint8_t *p = data, *end = data + size;
        char *path, *password, *token;

        fuzz_sim_reset_sessions(s);
        token = authenticate(s);
        path = next_line(&p, end);
        password = next_line(&p, end);
        handle(s, &(SimHttpsRequest) {
                        .peer = "fuzz",
                        .path = path,
                        .password = streq(password, "-") ? NULL : streq(password, "@token") ? token : password,
                        .body = p,
                        .body_len = (size_t) (end - p),
               },
               NULL);
        free(password);
        free(path);
        free(token);
        return 0;
}

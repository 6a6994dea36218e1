/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The platform's HTTPS API (PROTOCOL.md C.2-C.6, E.16-E.18) as plain functions: a request's path, password
 * header and body in, the JSON reply out. Free of libmicrohttpd, so the unit test drives it directly. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "sim-server.h"

#define SIM_HTTPS_BODY_MAX 131072       /* 128 KiB per publish (C.4) */

/* Business codes (C.6). */
enum {
        SIM_HTTPS_SUCCESS = 0,
        SIM_HTTPS_COMMON_ERROR = 10000,
        SIM_HTTPS_PARAM_ERROR = 10001,
        SIM_HTTPS_AUTH_CHECK_ERROR = 20000,
        SIM_HTTPS_TOKEN_EXPIRED = 20001,
        SIM_HTTPS_TOKEN_NULL = 20002,
        SIM_HTTPS_TOKEN_CHECK_ERROR = 20003,
        SIM_HTTPS_PUBLISH_ERROR = 30001,
        SIM_HTTPS_TOO_MANY = 40000,
};

typedef struct SimHttpsRequest {
        const char *peer;               /* "address:port", for messages */
        const char *path;               /* decoded URL path, e.g. "/topic/a1B2c3D4e5F/dev/user/update" */
        const char *password;           /* the "password" header, NULL if absent */
        const void *body;
        size_t body_len;
        bool body_too_large;            /* the body exceeded SIM_HTTPS_BODY_MAX and was not kept */
} SimHttpsRequest;

/* Handles POST /auth and POST /topic/...; *ret_json is the reply body (HTTP 200 always, C.8), shorter than
 * 256 bytes. Returns 0 or -ENOMEM / -EIO (record file); the caller answers those with HTTP 500. */
int sim_https_handle(SimServer *s, const SimHttpsRequest *req, char **ret_json);

/* A reply without info: {"code":N,"message":"..."}. Returns 0 or -ENOMEM. */
int sim_https_error_reply(int code, char **ret_json);

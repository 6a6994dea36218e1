/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* POST /auth checks the claim with the generic sign rule and starts a session; POST /topic/... checks the
 * password header against the sessions, records the body as-is and answers with a 19-digit messageId. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "macro.h"
#include "sim-coap-common.h"
#include "sim-https-api.h"
#include "sim-ids.h"
#include "topic.h"

#define TRANSPORT "https"

static const char *code_message(int code) {
        switch (code) {
        case SIM_HTTPS_SUCCESS:
                return "success";
        case SIM_HTTPS_COMMON_ERROR:
                return "common error";
        case SIM_HTTPS_PARAM_ERROR:
                return "param error";
        case SIM_HTTPS_AUTH_CHECK_ERROR:
                return "auth check error";
        case SIM_HTTPS_TOKEN_EXPIRED:
                return "token is expired";
        case SIM_HTTPS_TOKEN_NULL:
                return "token is null";
        case SIM_HTTPS_TOKEN_CHECK_ERROR:
                return "check token error";
        case SIM_HTTPS_PUBLISH_ERROR:
                return "publish message error";
        case SIM_HTTPS_TOO_MANY:
                return "request too many";
        }
        return "error";
}

int sim_https_error_reply(int code, char **ret_json) {
        return asprintf(ret_json, "{\"code\":%d,\"message\":\"%s\"}", code, code_message(code)) < 0 ? -ENOMEM : 0;
}

/* Rejections are logged at info with the reason; never with the token, sign or body. */
static int reject(const SimHttpsRequest *req, const char *what, const char *pk, const char *dn, int code,
                  const char *reason, char **ret_json) {
        log_info("Rejected %s from %s%s%s%s%s%s: %d, %s.", what, req->peer, pk ? " (" : "", strempty(pk),
                 pk && dn ? "/" : "", pk ? strempty(dn) : "", pk ? ")" : "", code, reason);
        return sim_https_error_reply(code, ret_json);
}

static int start_session(SimServer *s, const SimHttpsRequest *req, const AuthClaim *claim, const SimDevice *dev,
                         char **ret_json) {
        static const uint8_t no_key[AES_KEY_SIZE] = {}; /* HTTPS sessions carry only the token */
        _cleanup_free_ char *random = NULL;
        _cleanup_erase_free_ char *token = NULL;
        int r;

        r = sim_random_hex(SIM_RANDOM_BYTES, &random);
        if (r >= 0)
                r = sim_random_token(random, &token);
        if (r < 0)
                return log_error_errno(r, "Cannot make a token: %m");
        /* The session and record rules are the CoAP modes' (sim-coap-common), with no key and no seq. */
        r = sim_coap_common_start_session(s, TRANSPORT, claim, dev,
                                          &(SimSessionParams) { .token = token, .key = no_key });
        if (r < 0)
                return r;

        log_debug("Auth from %s: %s/%s, clientId %s.", req->peer, dev->product_key, dev->device_name,
                  claim->client_id);
        return asprintf(ret_json, "{\"code\":0,\"message\":\"success\",\"info\":{\"token\":\"%s\"}}", token) < 0 ?
                -ENOMEM : 0;
}

static int https_auth(SimServer *s, const SimHttpsRequest *req, char **ret_json) {
        _cleanup_(auth_claim_done) AuthClaim claim = {};
        const SimDevice *dev;
        size_t len = req->body_len;
        int r;

        if (req->body_too_large)
                return reject(req, "auth", NULL, NULL, SIM_HTTPS_PARAM_ERROR, "body too large", ret_json);
        /* The SDK sends strlen+1 bytes: exactly one trailing NUL is dropped (E.16). */
        if (len > 0 && ((const char *) req->body)[len - 1] == '\0')
                len--;
        r = auth_claim_parse(req->body, len, &claim);
        if (r == -EBADMSG)
                return reject(req, "auth", NULL, NULL, SIM_HTTPS_PARAM_ERROR, "malformed auth JSON", ret_json);
        if (r < 0)
                return r;

        dev = sim_devices_find(s->devices, claim.product_key, claim.device_name);
        if (!dev)
                return reject(req, "auth", claim.product_key, claim.device_name, SIM_HTTPS_AUTH_CHECK_ERROR,
                              "unknown device", ret_json);
        r = auth_claim_verify(&claim, dev->secret);
        if (r == -EACCES)
                return reject(req, "auth", claim.product_key, claim.device_name, SIM_HTTPS_AUTH_CHECK_ERROR,
                              "bad sign", ret_json);
        if (r < 0)
                return r;
        return start_session(s, req, &claim, dev, ret_json);
}

static int accept_message(SimServer *s, const SimHttpsRequest *req, const SimSession *session, const char *topic,
                          char **ret_json) {
        uint64_t now_ms = sim_now(CLOCK_REALTIME) / 1000;
        char id[24];
        int r;

        (void) snprintf(id, sizeof(id), "%" PRIu64, sim_message_id_next(&s->last_message_id, now_ms));
        r = sim_record_publish(s->record, &(SimRecordPublish) {
                .transport = TRANSPORT,
                .product_key = session->product_key,
                .device_name = session->device_name,
                .topic = topic,
                .payload = req->body,
                .payload_len = req->body_len,
                .content_format = -1,
                .message_id = id,
                .time_ms = now_ms,
        });
        if (r < 0)
                return log_error_errno(r, "Cannot write to the record file: %m");

        log_debug("Publish from %s: %s/%s, topic %s, %zu bytes, message id %s.", req->peer, session->product_key,
                  session->device_name, topic, req->body_len, id);
        /* messageId is a bare JSON number of 19 digits, beyond 2^53, as the platform sends it (C.5). */
        return asprintf(ret_json, "{\"code\":0,\"message\":\"success\",\"info\":{\"messageId\":%s}}", id) < 0 ?
                -ENOMEM : 0;
}

/* The checks of E.18 in order: path, password header, token, body size. */
static int https_publish(SimServer *s, const SimHttpsRequest *req, char **ret_json) {
        _cleanup_free_ char *topic = NULL;
        char **segments = NULL;
        SimSession *session;
        size_t n;
        int r;

        r = topic_split(req->path, &segments, &n);
        if (r < 0)
                return r;
        r = topic_from_uri_path((const char *const *) segments, n, &topic);
        topic_segments_free(segments);
        if (r == -ENOENT)
                return reject(req, "publish", NULL, NULL, SIM_HTTPS_PARAM_ERROR, "path is not /topic/<topic>",
                              ret_json);
        if (r < 0)
                return r;

        if (!req->password)
                return reject(req, "publish", NULL, NULL, SIM_HTTPS_TOKEN_NULL, "no password header", ret_json);
        session = sim_sessions_find(s->sessions, req->password, strlen(req->password));
        if (!session)
                return reject(req, "publish", NULL, NULL, SIM_HTTPS_TOKEN_CHECK_ERROR, "unknown token", ret_json);
        if (sim_session_expired(session, sim_now(CLOCK_MONOTONIC)))
                return reject(req, "publish", session->product_key, session->device_name,
                              SIM_HTTPS_TOKEN_EXPIRED, "token expired", ret_json);
        if (req->body_too_large)
                return reject(req, "publish", session->product_key, session->device_name, SIM_HTTPS_PARAM_ERROR,
                              "body over 128 KiB", ret_json);
        return accept_message(s, req, session, topic, ret_json);
}

int sim_https_handle(SimServer *s, const SimHttpsRequest *req, char **ret_json) {
        bool auth = streq(req->path, "/auth");

        /* The CoAP-only fault modes do not even draw a decision here (see sim-fault.h). */
        if ((auth || startswith(req->path, "/topic/")) && sim_fault_mode_applies_to_https(s->fault.mode) &&
            sim_fault_inject(&s->fault, auth ? SIM_FAULT_AUTH : SIM_FAULT_PUBLISH)) {
                log_debug("Answering a request from %s with an injected code %d.", req->peer, SIM_HTTPS_TOO_MANY);
                return sim_https_error_reply(SIM_HTTPS_TOO_MANY, ret_json);
        }
        if (auth)
                return https_auth(s, req, ret_json);
        if (startswith(req->path, "/topic/"))
                return https_publish(s, req, ret_json);
        return reject(req, "request", NULL, NULL, SIM_HTTPS_PARAM_ERROR, "no such path", ret_json);
}

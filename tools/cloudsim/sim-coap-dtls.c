/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CoAP DTLS mode: the PSK lookup, /auth starts a token-only session, /topic/... records the plaintext
 * message. Checks shared with the AES mode live in sim-coap-common. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "psk.h"
#include "sim-coap-common.h"
#include "sim-coap-dtls.h"
#include "sim-ids.h"
#include "sim-server.h"

#define TRANSPORT "coap-dtls"
#define PSK_IDENTITY_MAX 256

int sim_coap_dtls_psk(const SimDevices *d, const void *identity, size_t len, char **ret) {
        _cleanup_free_ char *text = NULL, *pk = NULL, *dn = NULL, *ts = NULL;
        const SimDevice *dev;
        SignMethod method;
        int r;

        if (len == 0 || len > PSK_IDENTITY_MAX || memchr(identity, 0, len))
                return -EBADMSG;
        text = strndup(identity, len);
        if (!text)
                return -ENOMEM;
        r = psk_identity_parse(text, &method, &pk, &dn, &ts);
        if (r < 0)
                return r;
        dev = sim_devices_find(d, pk, dn);
        if (!dev)
                return -ENOENT;
        return psk_key(method, dev->secret, pk, dn, ts, ret);
}

static int dtls_auth(SimServer *s, const SimRequest *req, SimReply *reply) {
        _cleanup_(auth_claim_done) AuthClaim claim = {};
        _cleanup_free_ char *random = NULL, *json = NULL;
        _cleanup_erase_free_ char *token = NULL;
        static const uint8_t no_key[AES_KEY_SIZE];
        const SimDevice *dev = NULL;
        SimSessionParams p = { .key = no_key };
        int r;

        /* B.4: no seq; one sent anyway is signed like any field and otherwise ignored. */
        r = sim_coap_common_auth_claim(s, req, false, reply, &claim, &dev);
        if (r <= 0)
                return r;
        r = sim_random_hex(SIM_RANDOM_BYTES, &random);
        if (r >= 0)
                r = sim_random_token(random, &token);
        if (r < 0)
                return log_error_errno(r, "Cannot make a token: %m");
        p.token = token;
        r = sim_coap_common_start_session(s, TRANSPORT, &claim, dev, &p);
        if (r < 0)
                return r;

        log_debug("Auth from %s over DTLS: %s/%s, clientId %s, ackMode %d.", req->peer, dev->product_key,
                  dev->device_name, claim.client_id, p.ack_mode);
        if (asprintf(&json, "{\"token\":\"%s\"}", token) < 0)
                return -ENOMEM;
        return sim_coap_common_auth_reply(reply, json, p.ack_mode == 1 && req->confirmable);
}

/* B.4: plaintext payload; option 2089 is not expected and ignored if present (lenient). */
static int dtls_publish(SimServer *s, const SimRequest *req, SimReply *reply) {
        _cleanup_free_ char *topic = NULL;
        SimSession *session = NULL;
        int r;

        r = sim_coap_common_publish_session(s, req, reply, &topic, &session);
        if (r <= 0)
                return r;
        return sim_coap_common_accept(s, req, session,
                                      &(SimCoapMessage) {
                                              .transport = TRANSPORT,
                                              .topic = topic,
                                              .payload = req->payload,
                                              .payload_len = req->payload_len,
                                      },
                                      reply);
}

const SimCoapMode sim_coap_dtls_mode = {
        .transport = TRANSPORT,
        .auth = dtls_auth,
        .publish = dtls_publish,
};

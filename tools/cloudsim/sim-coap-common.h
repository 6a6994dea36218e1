/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The platform's rules that the CoAP security modes (AES on UDP, DTLS) share: checking an /auth claim,
 * starting a session, checking a publish's path, formats and token, and accepting a message. */
#pragma once

#include "auth.h"
#include "sim-coap-mode.h"
#include "sim-devices.h"
#include "sim-session.h"

/* Logs the rejection at info (never token, key or payload) and sets reply's code. Returns 0. */
int sim_coap_common_reject(SimReply *reply, const char *what, const SimRequest *req, const char *pk,
                           const char *dn, unsigned code, const char *reason);

/* Content-Format and Accept of /auth, the claim's JSON (with a seq when require_seq), the device and the sign
 * (E.2, E.10). Returns 1 with *claim filled and *ret_dev set when they pass, 0 when reply holds the
 * rejection, or a negative errno. */
int sim_coap_common_auth_claim(SimServer *s, const SimRequest *req, bool require_seq, SimReply *reply,
                               AuthClaim *claim, const SimDevice **ret_dev);

/* Replaces dev's session with a fresh one holding token and key (zeros in DTLS mode) and records the
 * auth for transport. Returns 0 or a negative errno (logged). */
int sim_coap_common_start_session(SimServer *s, const char *transport, const AuthClaim *claim,
                                  const SimDevice *dev, SimSessionParams *p);

/* 2.05 with Content-Format 50 and json as payload (wiped here: it holds a token); separate for ackMode 1. */
int sim_coap_common_auth_reply(SimReply *reply, char *json, bool separate);

/* Path, Content-Format, Accept, token and its expiry of a publish (E.1, E.10, E.14). Returns 1 with the
 * topic and the session, 0 when reply holds the rejection, or a negative errno. */
int sim_coap_common_publish_session(SimServer *s, const SimRequest *req, SimReply *reply, char **ret_topic,
                                    SimSession **ret_session);

typedef struct SimCoapMessage {
        const char *transport;
        const char *topic;
        bool has_seq;
        uint32_t seq;
        const uint8_t *payload;         /* plaintext */
        size_t payload_len;
} SimCoapMessage;

/* Records m and answers 2.05 with a fresh cloud message id in option 2090. Returns 0 or a negative errno. */
int sim_coap_common_accept(SimServer *s, const SimRequest *req, const SimSession *session,
                           const SimCoapMessage *m, SimReply *reply);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Conversion between libcoap PDUs and the emulator's plain SimRequest / SimReply, and the peer bytes that
 * key the retransmission cache. The only place that reads or writes CoAP options. */
#pragma once

#include <coap3/coap.h>

#include "sim-coap-mode.h"
#include "sim-reply.h"

/* Fills req from pdu; pointers in req point into pdu, which must outlive it. peer is req->peer.
 * Returns 0 or -ENOMEM. Release with sim_coap_request_done(). */
int sim_coap_request_from_pdu(const coap_pdu_t *pdu, const char *peer, SimRequest *req);
void sim_coap_request_done(SimRequest *req);

/* Sets the code, options and payload of an already initialised response. Returns 0 or -ENOMEM. */
int sim_coap_reply_to_pdu(const SimReply *reply, coap_pdu_t *pdu);

/* Protocol, family, port and address of the session's peer as opaque bytes. Returns the length or
 * -EAFNOSUPPORT. */
int sim_coap_peer_bytes(const coap_session_t *session, uint8_t *buf, size_t size);
/* "address:port" of the peer, for messages. */
void sim_coap_peer_string(const coap_session_t *session, char *buf, size_t size);

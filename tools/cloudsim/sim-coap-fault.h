/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What an injected fault (--fault-mode) looks like on CoAP: the reply in place of handling the request, and the
 * acknowledgement with the wrong token, which libcoap's request handlers cannot produce by themselves. */
#pragma once

#include <coap3/coap.h>
#include <stdbool.h>

#include "sim-fault.h"
#include "sim-reply.h"

/* Fills reply for a faulted request. The two acknowledgement modes need a CON to acknowledge: a NON request
 * gets the server error instead. */
void sim_coap_fault_reply(SimFaultMode mode, bool confirmable, SimReply *reply);

/* --fault-mode=garbled-reply, for a handled publish: the option 2090 of reply becomes bytes that are no message
 * id, and its payload 5 bytes that no AES-CBC ciphertext can be. */
void sim_coap_fault_garble(SimReply *reply);

/* Sends reply in an ACK with the message id of request and a token derived from (and unlike) the request's, so
 * that a retransmission gets the same. Returns 0, -ENOMEM or -EIO (-EINVAL for a token over 8 bytes). */
int sim_coap_fault_send_wrong_token(coap_session_t *session, const coap_pdu_t *request, const SimReply *reply);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CoAP shapes of the injected faults; see sim-coap-fault.h. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "sim-coap-fault.h"
#include "coap-msg.h"
#include "sim-coap-pdu.h"

#define WRONG_TOKEN_MASK 0x5a

void sim_coap_fault_reply(SimFaultMode mode, bool confirmable, SimReply *reply) {
        switch (mode) {
        case SIM_FAULT_EMPTY_ACK:
                if (!confirmable)
                        break;
                reply->form = SIM_REPLY_EMPTY_ACK;
                return;
        case SIM_FAULT_WRONG_TOKEN:
                if (!confirmable)
                        break;
                /* What a publish or an /auth would get if the token matched: the client must not take it. */
                reply->code = 205;
                reply->form = SIM_REPLY_WRONG_TOKEN;
                return;
        case SIM_FAULT_SERVER_ERROR:
        case SIM_FAULT_GARBLED_REPLY:   /* handled, then garbled: sim_coap_fault_garble() */
        case _SIM_FAULT_MODE_MAX:
        case _SIM_FAULT_MODE_INVALID:
                break;
        }
        reply->code = 500;
}

void sim_coap_fault_garble(SimReply *reply) {
        /* Bytes no message id has (A.10: printable ASCII), and 5 bytes: no AES-CBC ciphertext is that long. */
        static const uint8_t junk_id[] = { 0x00, 0x9b, 0x1f, 0xff };
        static const uint8_t junk_payload[] = { 0x8e, 0x1f, 0xd2, 0x00, 0x41 };
        SimReply garbled = { .code = reply->code, .form = reply->form };

        for (size_t i = 0; i < reply->n_options; i++) {
                const SimReplyOption *o = &reply->options[i];

                if (o->number == COAP_MSG_OPTION_MESSAGE_ID)
                        (void) sim_reply_add_option(&garbled, o->number, junk_id, sizeof(junk_id));
                else
                        (void) sim_reply_add_option(&garbled, o->number, o->value, o->len);
        }
        if (sim_reply_set_payload(&garbled, junk_payload, sizeof(junk_payload)) < 0) {
                sim_reply_done(&garbled);
                return; /* out of memory: the reply stays readable */
        }
        sim_reply_done(reply);
        *reply = garbled;
}

/* libcoap 4.3.1 gives a request handler no way to change the response's token, nor to send nothing: this ACK
 * goes out on its own from the handler, and libcoap's empty ACK for the same message id follows it. A client has
 * nothing left to match that second one with (the first already acknowledged its request), so what it sees is
 * the piggybacked response under another token. */
int sim_coap_fault_send_wrong_token(coap_session_t *session, const coap_pdu_t *request, const SimReply *reply) {
        coap_bin_const_t tok = coap_pdu_get_token(request);
        uint8_t other[8] = { WRONG_TOKEN_MASK };
        size_t len = MAX(tok.length, (size_t) 1);
        coap_pdu_t *pdu;

        if (tok.length > sizeof(other))
                return -EINVAL;
        for (size_t i = 0; i < tok.length; i++)
                other[i] = tok.s[i] ^ WRONG_TOKEN_MASK;
        pdu = coap_pdu_init(COAP_MESSAGE_ACK, COAP_RESPONSE_CODE(reply->code), coap_pdu_get_mid(request),
                            coap_session_max_pdu_size(session));
        if (!pdu || !coap_add_token(pdu, len, other) || sim_coap_reply_to_pdu(reply, pdu) < 0) {
                coap_delete_pdu(pdu);
                return -ENOMEM;
        }
        /* coap_send() takes the PDU, also when it fails. */
        if (coap_send(session, pdu) == COAP_INVALID_MID)
                return -EIO;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CoAP over DTLS 1.2 (PROTOCOL.md section B): PSK by default, server-certificate mode with CAFile=. */
#pragma once

#include "transport.h"

/* DTLS record overhead assumed per datagram: 13-byte header, 16-byte explicit IV, 32-byte MAC (HMAC-SHA256,
 * the largest of the CBC suites either mode may negotiate) and up to 16 bytes of padding. */
#define COAP_DTLS_RECORD_OVERHEAD (13 + 16 + 32 + 16)

extern const TransportVTable transport_coap_dtls_vtable;

/* The largest plaintext payload one publish to topic may carry: the CoAP message with the longest token
 * (A.13), without option 2089, must fit the 1280-byte datagram together with the DTLS record overhead. */
size_t transport_coap_dtls_max_payload(const char *topic);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CoAP over DTLS (PROTOCOL.md B, E.3, E.20): the PSK chosen from the client's identity, /auth without seq
 * answered with {"token"}, and plaintext publishes with the token option and no 2089. */
#pragma once

#include "sim-coap-mode.h"
#include "sim-devices.h"

extern const SimCoapMode sim_coap_dtls_mode;

/* The ASCII PSK for a client's PSK identity (B.2): the identity's method, productKey, deviceName and
 * timestamp, and the device's secret. Returns 0, -EBADMSG (not an identity), -ENOENT (unknown device),
 * -ENOMEM. The caller wipes and frees *ret. */
int sim_coap_dtls_psk(const SimDevices *d, const void *identity, size_t len, char **ret);

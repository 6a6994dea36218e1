/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The emulator's CoAP server: one libcoap context driven by sd-event, the /auth and /topic/... resources,
 * and the retransmission cache in front of the security mode's handlers (AES on UDP, DTLS). */
#pragma once

#include <stdint.h>

#include "sim-server.h"

int sim_coap_new(SimServer *server, SimCoap **ret);
SimCoap *sim_coap_free(SimCoap *c);

/* Binds the AES-mode UDP endpoint. Port 0 lets the kernel choose; *ret_port is the bound port.
 * Returns 0, -EINVAL (address), or -errno from bind. */
int sim_coap_listen_aes(SimCoap *c, const char *address, uint16_t port, uint16_t *ret_port);

/* Binds the coap-dtls endpoint: PSK per B.2 for every device, and certificate mode too when cert and key
 * (PEM files) are given. Returns 0, -EINVAL, -EIO (DTLS setup), or -errno from bind. */
int sim_coap_listen_dtls(SimCoap *c, const char *address, uint16_t port, const char *cert, const char *key,
                         uint16_t *ret_port);

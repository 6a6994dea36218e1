/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CoAP AES mode (PROTOCOL.md A, E): the platform's /auth and /topic/... logic on plain requests. */
#pragma once

#include "sim-coap-mode.h"

extern const SimCoapMode sim_coap_aes_mode;

/* The seq of option 2089: AES-decrypted ASCII decimal, 1 to 10 digits, at most UINT32_MAX.
 * Returns 0, -ENOMSG (absent), -EBADMSG (does not decrypt), -EINVAL (not such a decimal), -ENOMEM. */
int sim_coap_aes_decode_seq(const uint8_t key[static 16], const uint8_t *seq, size_t len, uint32_t *ret);

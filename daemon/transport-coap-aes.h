/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CoAP over UDP with application-layer AES (PROTOCOL.md section A). */
#pragma once

#include "transport.h"

extern const TransportVTable transport_coap_aes_vtable;

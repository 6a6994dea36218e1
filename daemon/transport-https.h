/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTTPS with a token in the "password" header (PROTOCOL.md section C), over libcurl. */
#pragma once

#include "transport.h"

extern const TransportVTable transport_https_vtable;

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTPS endpoint: libmicrohttpd with GnuTLS in external epoll mode, driven by the server's sd-event loop;
 * requests are answered by sim-https-api. */
#pragma once

#include <stdint.h>

#include "sim-server.h"

typedef struct SimHttps SimHttps;

/* Reads the certificate and key named in the configuration. Returns 0, -ENOMEM, or -errno (logged). */
int sim_https_new(SimServer *s, SimHttps **ret);
SimHttps *sim_https_free(SimHttps *h);

/* Starts serving on address (IPv4 or IPv6 text) and port (0: any free one). Returns 0 or a negative errno,
 * logged; *ret_port is the bound port. */
int sim_https_listen(SimHttps *h, const char *address, uint16_t port, uint16_t *ret_port);

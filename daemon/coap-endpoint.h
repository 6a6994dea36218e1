/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A CoAP device's Endpoint= ("host", "host:port", "[v6]:port") as a libcoap address. */
#pragma once

#include <coap3/coap.h>
#include <stdbool.h>
#include <stdint.h>

/* Resolves endpoint (a host name resolves blocking, see README); ret_host is the host part, for certificate
 * checks. Returns 0, -EINVAL (malformed), -EHOSTUNREACH (cannot resolve) or -ENOMEM. */
int coap_endpoint_resolve(const char *endpoint, uint16_t default_port, coap_address_t *ret, char **ret_host);
/* Whether host is an IPv4 or IPv6 address rather than a name. */
bool coap_endpoint_is_ip_literal(const char *host);

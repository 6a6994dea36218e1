/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Endpoint parsing and resolution for the CoAP transports; see coap-endpoint.h. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "coap-endpoint.h"
#include "log.h"
#include "macro.h"

/* Splits "host", "host:port" or "[v6]:port". */
static int endpoint_split(const char *endpoint, uint16_t default_port, char **ret_host, char **ret_port) {
        const char *colon, *host_end;
        char *host, *port;
        size_t host_len;

        if (endpoint[0] == '[') {
                host_end = strchr(endpoint, ']');
                if (!host_end || (host_end[1] != 0 && host_end[1] != ':'))
                        return -EINVAL;
                host_len = (size_t) (host_end - endpoint - 1);
                endpoint++;
                colon = host_end[1] == ':' ? host_end + 1 : NULL;
        } else {
                colon = strrchr(endpoint, ':');
                if (colon && strchr(endpoint, ':') != colon)
                        return -EINVAL; /* a bare IPv6 address needs brackets */
                host_len = colon ? (size_t) (colon - endpoint) : strlen(endpoint);
        }
        if (host_len == 0 || (colon && colon[1] == 0))
                return -EINVAL;

        host = strndup(endpoint, host_len);
        if (colon)
                port = strdup(colon + 1);
        else if (asprintf(&port, "%u", default_port) < 0)
                port = NULL;
        if (!host || !port) {
                free(host);
                free(port);
                return -ENOMEM;
        }
        *ret_host = host;
        *ret_port = port;
        return 0;
}

int coap_endpoint_resolve(const char *endpoint, uint16_t default_port, coap_address_t *ret, char **ret_host) {
        _cleanup_free_ char *host = NULL, *port = NULL;
        struct addrinfo hints = {
                .ai_socktype = SOCK_DGRAM,
                .ai_flags = AI_NUMERICSERV | AI_NUMERICHOST,
        };
        struct addrinfo *res = NULL;
        int r;

        r = endpoint_split(endpoint, default_port, &host, &port);
        if (r < 0)
                return r;
        r = getaddrinfo(host, port, &hints, &res);
        if (r == EAI_NONAME) {
                hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
                r = getaddrinfo(host, port, &hints, &res);
        }
        if (r != 0) {
                log_debug("Cannot resolve '%s': %s", endpoint, gai_strerror(r));
                return r == EAI_SERVICE ? -EINVAL : -EHOSTUNREACH;
        }
        coap_address_init(ret);
        memcpy(&ret->addr, res->ai_addr, MIN((size_t) res->ai_addrlen, sizeof(ret->addr)));
        ret->size = res->ai_addrlen;
        freeaddrinfo(res);
        *ret_host = TAKE_PTR(host);
        return 0;
}

bool coap_endpoint_is_ip_literal(const char *host) {
        unsigned char buf[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Network awareness: libnl-route caches of links, addresses and routes kept current on sd-event, the decision
 * whether an uplink exists (a pure function, testable without netlink) and a fingerprint of its addresses. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

/* What the decision looks at, copied out of the caches. */
typedef struct NetmonLink {
        int ifindex;
        unsigned flags;               /* IFF_* */
        char name[IF_NAMESIZE];
} NetmonLink;

typedef struct NetmonAddr {
        int ifindex;
        int family;
        uint8_t scope;                /* RT_SCOPE_* */
        uint32_t flags;               /* IFA_F_* */
        uint8_t addr[16];
        uint8_t addr_len;
} NetmonAddr;

/* A default route (destination prefix length 0), one entry per next hop. */
typedef struct NetmonRoute {
        int ifindex;
        int family;
        uint32_t table;
        uint8_t type;                 /* RTN_* */
        uint32_t priority;            /* the metric */
} NetmonRoute;

typedef struct NetmonView {
        const NetmonLink *links;
        size_t n_links;
        const NetmonAddr *addrs;
        size_t n_addrs;
        const NetmonRoute *routes;
        size_t n_routes;
} NetmonView;

typedef struct NetmonStatus {
        bool online;
        int ifindex;                  /* the uplink, 0 when offline */
        uint64_t fingerprint;         /* of the uplink's global addresses; 0 when offline */
} NetmonStatus;

/* An uplink is an interface that is up and running (not loopback) with a global address (scope universe, not
 * tentative, deprecated or failed DAD) and a unicast default route through it of the same family: in the main
 * table, or in any table when interface names it. With several, the lowest metric wins. */
void netmon_decide(const NetmonView *v, const char *interface, NetmonStatus *ret);

/* Whether the host of an Endpoint= ("host[:port]", "[v6]:port" or a URL) is a loopback address or the name
 * localhost: such an endpoint needs no uplink. Names are not resolved. */
bool netmon_endpoint_is_loopback(const char *endpoint);

typedef struct Netmon Netmon;

/* Called when the status changed: online went up or down, or the uplink's addresses changed. */
typedef void (*netmon_change_t)(void *userdata, const NetmonStatus *status, bool online_changed);

/* interface: Interface= (NULL or "" for any). Subscribes, then dumps; the status is known on return. */
int netmon_new(sd_event *event, const char *interface, netmon_change_t cb, void *userdata, Netmon **ret);
Netmon *netmon_free(Netmon *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(Netmon *, netmon_free);

const NetmonStatus *netmon_status(const Netmon *n);
/* Applies a new Interface= (reload); a resulting change is reported through the callback. */
int netmon_set_interface(Netmon *n, const char *interface);

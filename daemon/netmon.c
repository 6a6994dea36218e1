/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libnl-route cache manager on sd-event and the uplink decision; see netmon.h. The only module that calls
 * libnl: its -NLE_* codes become -errno here. */
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <sys/epoll.h>

#include "log.h"
#include "netmon.h"

struct Netmon {
        sd_event_source *io_source;
        struct nl_cache_mngr *mngr;
        struct nl_sock *sync_sock;    /* re-dumps routes: the kernel drops a downed link's IPv4 routes silently */
        struct nl_cache *links, *addrs, *routes;
        char *interface;
        NetmonStatus status;
        bool links_changed;
        netmon_change_t cb;
        void *userdata;
};

/* ---- The decision: pure functions over a NetmonView. */

static bool link_usable(const NetmonLink *l) {
        return (l->flags & IFF_UP) && (l->flags & IFF_RUNNING) && !(l->flags & IFF_LOOPBACK);
}

static bool addr_global(const NetmonAddr *a) {
        return a->scope == RT_SCOPE_UNIVERSE &&
               !(a->flags & (IFA_F_TENTATIVE | IFA_F_DEPRECATED | IFA_F_DADFAILED));
}

static bool link_has_global(const NetmonView *v, int ifindex, int family) {
        for (const NetmonAddr *a = v->addrs; a < v->addrs + v->n_addrs; a++)
                if (a->ifindex == ifindex && a->family == family && addr_global(a))
                        return true;
        return false;
}

/* The lowest metric of a default route through ifindex whose family also has a global address there; -1 if
 * there is none. */
static int64_t link_uplink_metric(const NetmonView *v, int ifindex, bool any_table) {
        int64_t best = -1;

        for (size_t i = 0; i < v->n_routes; i++) {
                const NetmonRoute *r = &v->routes[i];

                if (r->ifindex != ifindex || r->type != RTN_UNICAST)
                        continue;
                if (!any_table && r->table != RT_TABLE_MAIN)
                        continue;
                if (!link_has_global(v, ifindex, r->family))
                        continue;
                if (best < 0 || r->priority < best)
                        best = r->priority;
        }
        return best;
}

/* Order-independent: a sum of FNV-1a hashes of each global address. */
static uint64_t uplink_fingerprint(const NetmonView *v, int ifindex) {
        uint64_t sum = 0;

        for (size_t i = 0; i < v->n_addrs; i++) {
                const NetmonAddr *a = &v->addrs[i];
                uint64_t h = 14695981039346656037ULL;

                if (a->ifindex != ifindex || !addr_global(a))
                        continue;
                h = (h ^ (uint8_t) a->family) * 1099511628211ULL;
                for (size_t j = 0; j < MIN((size_t) a->addr_len, sizeof(a->addr)); j++)
                        h = (h ^ a->addr[j]) * 1099511628211ULL;
                sum += h;
        }
        return sum ?: 1;
}

void netmon_decide(const NetmonView *v, const char *interface, NetmonStatus *ret) {
        bool named = !isempty(interface);
        int64_t best = -1;
        int ifindex = 0;

        for (size_t i = 0; i < v->n_links; i++) {
                const NetmonLink *l = &v->links[i];
                int64_t metric;

                if ((named && !streq(l->name, interface)) || !link_usable(l))
                        continue;
                metric = link_uplink_metric(v, l->ifindex, named);
                if (metric >= 0 && (best < 0 || metric < best)) {
                        best = metric;
                        ifindex = l->ifindex;
                }
        }
        *ret = (NetmonStatus) {
                .online = ifindex > 0,
                .ifindex = ifindex,
                .fingerprint = ifindex > 0 ? uplink_fingerprint(v, ifindex) : 0,
        };
}

/* The host part of "host[:port]", "[v6]:port" or "scheme://host[:port]/path" into buf. */
static bool endpoint_host(const char *endpoint, char *buf, size_t size) {
        const char *p = strstr(endpoint, "://"), *end;

        p = p ? p + 3 : endpoint;
        if (*p == '[') {
                p++;
                end = strchr(p, ']');
        } else
                end = p + strcspn(p, ":/?#");
        if (!end || end == p || (size_t) (end - p) >= size)
                return false;
        memcpy(buf, p, (size_t) (end - p));
        buf[end - p] = 0;
        return true;
}

bool netmon_endpoint_is_loopback(const char *endpoint) {
        struct in6_addr a6;
        struct in_addr a4;
        char host[256];
        size_t n;

        if (!endpoint || !endpoint_host(endpoint, host, sizeof(host)))
                return false;
        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, host, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
        /* RFC 6761: localhost and names under it are loopback. */
        n = strlen(host);
        if (n > 0 && host[n - 1] == '.')
                host[--n] = 0;
        return strcaseeq(host, "localhost") || (n > 10 && strcaseeq(host + n - 10, ".localhost"));
}

/* ---- libnl. */

static int nl_to_errno(int nlerr, const char *what) {
        int e;

        switch (nlerr < 0 ? -nlerr : nlerr) {
        case NLE_NOMEM: e = ENOMEM; break;
        case NLE_PERM: e = EPERM; break;
        case NLE_NOACCESS: e = EACCES; break;
        case NLE_AGAIN: e = EAGAIN; break;
        case NLE_INTR: e = EINTR; break;
        case NLE_BAD_SOCK: e = EBADF; break;
        case NLE_INVAL: e = EINVAL; break;
        case NLE_OPNOTSUPP: e = EOPNOTSUPP; break;
        case NLE_AF_NOSUPPORT: e = EAFNOSUPPORT; break;
        case NLE_OBJ_NOTFOUND: e = ENOENT; break;
        case NLE_DUMP_INTR: e = EAGAIN; break;
        default: e = EIO; break;
        }
        log_debug("netlink: %s: %s", what, nl_geterror(nlerr));
        return -e;
}

static void view_add_link(struct nl_object *o, void *arg) {
        NetmonView *v = arg;
        struct rtnl_link *l = (struct rtnl_link *) o;
        NetmonLink *x = (NetmonLink *) &v->links[v->n_links++];

        *x = (NetmonLink) { .ifindex = rtnl_link_get_ifindex(l), .flags = rtnl_link_get_flags(l) };
        (void) snprintf(x->name, sizeof(x->name), "%s", strempty(rtnl_link_get_name(l)));
}

static void view_add_addr(struct nl_object *o, void *arg) {
        NetmonView *v = arg;
        struct rtnl_addr *a = (struct rtnl_addr *) o;
        struct nl_addr *local = rtnl_addr_get_local(a);
        NetmonAddr *x = (NetmonAddr *) &v->addrs[v->n_addrs++];

        *x = (NetmonAddr) {
                .ifindex = rtnl_addr_get_ifindex(a),
                .family = rtnl_addr_get_family(a),
                .scope = (uint8_t) rtnl_addr_get_scope(a),
                .flags = rtnl_addr_get_flags(a),
        };
        if (local) {
                x->addr_len = (uint8_t) MIN(nl_addr_get_len(local), sizeof(x->addr));
                memcpy(x->addr, nl_addr_get_binary_addr(local), x->addr_len);
        }
}

/* Only default routes matter; one NetmonRoute per next hop. The array has room for every next hop. */
static void view_add_route(struct nl_object *o, void *arg) {
        NetmonView *v = arg;
        struct rtnl_route *r = (struct rtnl_route *) o;
        struct nl_addr *dst = rtnl_route_get_dst(r);

        if (dst && nl_addr_get_prefixlen(dst) != 0)
                return;
        for (int i = 0; i < rtnl_route_get_nnexthops(r); i++)
                ((NetmonRoute *) v->routes)[v->n_routes++] = (NetmonRoute) {
                        .ifindex = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(r, i)),
                        .family = rtnl_route_get_family(r),
                        .table = rtnl_route_get_table(r),
                        .type = rtnl_route_get_type(r),
                        .priority = rtnl_route_get_priority(r),
                };
}

static void count_nexthops(struct nl_object *o, void *arg) {
        *(size_t *) arg += (size_t) rtnl_route_get_nnexthops((struct rtnl_route *) o);
}

static int netmon_compute(Netmon *n, NetmonStatus *ret) {
        _cleanup_free_ NetmonLink *links = NULL;
        _cleanup_free_ NetmonAddr *addrs = NULL;
        _cleanup_free_ NetmonRoute *routes = NULL;
        size_t n_nexthops = 0;
        NetmonView v = {};

        nl_cache_foreach(n->routes, count_nexthops, &n_nexthops);
        links = calloc((size_t) nl_cache_nitems(n->links) + 1, sizeof(*links));
        addrs = calloc((size_t) nl_cache_nitems(n->addrs) + 1, sizeof(*addrs));
        routes = calloc(n_nexthops + 1, sizeof(*routes));
        if (!links || !addrs || !routes)
                return -ENOMEM;
        v.links = links;
        v.addrs = addrs;
        v.routes = routes;
        nl_cache_foreach(n->links, view_add_link, &v);
        nl_cache_foreach(n->addrs, view_add_addr, &v);
        nl_cache_foreach(n->routes, view_add_route, &v);
        netmon_decide(&v, n->interface, ret);
        return 0;
}

static void netmon_update(Netmon *n) {
        NetmonStatus st;
        bool online_changed;
        int r;

        if (n->links_changed) {
                n->links_changed = false;
                r = nl_cache_refill(n->sync_sock, n->routes);
                if (r < 0)
                        (void) nl_to_errno(r, "cannot re-read the routes");
        }
        if (netmon_compute(n, &st) < 0) {
                log_oom();
                return;
        }
        online_changed = st.online != n->status.online;
        if (!online_changed && st.fingerprint == n->status.fingerprint && st.ifindex == n->status.ifindex)
                return;
        n->status = st;
        if (n->cb)
                n->cb(n->userdata, &n->status, online_changed);
}

static void on_cache_change(struct nl_cache *cache, struct nl_object *o, int action, void *userdata) {
        Netmon *n = userdata;

        if (cache == n->links)
                n->links_changed = true;
}

static int netmon_open(Netmon *n, sd_event *event);
static void netmon_close(Netmon *n);

/* Without a view of the network, assume an uplink rather than hold every message back. */
static void netmon_fail_open(Netmon *n) {
        bool was = n->status.online;

        netmon_close(n);
        n->status = (NetmonStatus) { .online = true };
        if (!was && n->cb)
                n->cb(n->userdata, &n->status, true);
}

static int on_netlink(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Netmon *n = userdata;
        int r;

        r = nl_cache_mngr_data_ready(n->mngr);
        if (r < 0) {
                /* Lost events (socket overrun): start over, subscribing before dumping again. */
                (void) log_full_errno(LOG_NOTICE, nl_to_errno(r, "events"),
                                      "Lost track of network changes (%m), re-reading them.");
                r = netmon_open(n, sd_event_source_get_event(s));
                if (r < 0) {
                        log_error_errno(r, "Cannot watch the network any more, assuming an uplink: %m");
                        netmon_fail_open(n);
                        return 0;
                }
        }
        netmon_update(n);
        return 0;
}

static void netmon_close(Netmon *n) {
        n->io_source = sd_event_source_disable_unref(n->io_source);
        if (n->mngr)
                nl_cache_mngr_free(n->mngr); /* frees its caches */
        n->mngr = NULL;
        n->links = n->addrs = n->routes = NULL;
}

/* nl_cache_mngr_add joins the cache's multicast groups before it dumps, so no change falls in between. */
static int netmon_open(Netmon *n, sd_event *event) {
        int r;

        netmon_close(n);
        r = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, 0, &n->mngr);
        if (r < 0)
                return nl_to_errno(r, "cache manager");
        r = nl_cache_mngr_add(n->mngr, "route/link", on_cache_change, n, &n->links);
        if (r >= 0)
                r = nl_cache_mngr_add(n->mngr, "route/addr", on_cache_change, n, &n->addrs);
        if (r >= 0)
                r = nl_cache_mngr_add(n->mngr, "route/route", on_cache_change, n, &n->routes);
        if (r < 0)
                return nl_to_errno(r, "adding caches");
        r = sd_event_add_io(event, &n->io_source, nl_cache_mngr_get_fd(n->mngr), EPOLLIN, on_netlink, n);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(n->io_source, "netmon");
        return 0;
}

int netmon_new(sd_event *event, const char *interface, netmon_change_t cb, void *userdata, Netmon **ret) {
        _cleanup_(netmon_freep) Netmon *n = NULL;
        int r;

        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->cb = cb;
        n->userdata = userdata;
        if (free_and_strdup(&n->interface, isempty(interface) ? NULL : interface) < 0)
                return -ENOMEM;
        n->sync_sock = nl_socket_alloc();
        if (!n->sync_sock)
                return -ENOMEM;
        r = nl_connect(n->sync_sock, NETLINK_ROUTE);
        if (r < 0)
                return nl_to_errno(r, "connecting");
        r = netmon_open(n, event);
        if (r < 0)
                return r;
        r = netmon_compute(n, &n->status);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(n);
        return 0;
}

Netmon *netmon_free(Netmon *n) {
        if (!n)
                return NULL;
        netmon_close(n);
        if (n->sync_sock)
                nl_socket_free(n->sync_sock);
        free(n->interface);
        free(n);
        return NULL;
}

const NetmonStatus *netmon_status(const Netmon *n) {
        return &n->status;
}

int netmon_set_interface(Netmon *n, const char *interface) {
        if (isempty(interface))
                interface = NULL;
        if (streq_ptr(n->interface, interface))
                return 0;
        if (free_and_strdup(&n->interface, interface) < 0)
                return -ENOMEM;
        netmon_update(n);
        return 0;
}

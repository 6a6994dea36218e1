/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who is calling: uid, user name, groups and systemd unit of a bus message's sender, from the bus's
 * credentials for that connection as the bus took them when it was made (not from anything the caller says or
 * did afterwards). */
#pragma once

#include <pwd.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <sys/types.h>

#include "acl.h"

typedef struct Caller {
        uid_t uid;
        char *user;      /* NULL if the uid has no name */
        gid_t *gids;     /* primary and supplementary, in the bus's order */
        size_t n_gids;
        char *unit;      /* NULL if not found (or not safely attributable) */
} Caller;

/* The caller behind the unique name on bus. -ENXIO if no connection has that name (any more). */
int caller_from_name(sd_bus *bus, const char *name, Caller *ret);
void caller_done(Caller *c);

/* The groups of pw's user as the user database has them (none for NULL). Returns 0 or -ENOMEM. */
int caller_user_groups(const struct passwd *pw, gid_t **ret, size_t *ret_n);

bool caller_in_group(const Caller *c, gid_t gid);
AclCaller caller_to_acl(const Caller *c);

/* The system unit of a cgroup path such as "/system.slice/envsensor.service" ("envsensor.service"), or
 * -ENOENT. Exposed for tests. */
int caller_unit_from_cgroup(const char *cgroup, char **ret);

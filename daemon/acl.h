/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Access rules: who (user, group, unit, anyone) may publish to which device and topic pattern. Rules come
 * from acl.conf and acl.d/ *.conf in the configuration directory; the first matching rule decides; the default
 * is deny, and root is always allowed. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "macro.h"

typedef enum AclAction {
        ACL_ALLOW,
        ACL_DENY,
        _ACL_ACTION_MAX,
        _ACL_ACTION_INVALID = -EINVAL,
} AclAction;

typedef enum AclWho {
        ACL_WHO_ANYONE,
        ACL_WHO_USER,
        ACL_WHO_GROUP,
        ACL_WHO_UNIT,
        _ACL_WHO_MAX,
        _ACL_WHO_INVALID = -EINVAL,
} AclWho;

typedef struct AclRule {
        AclAction action;
        AclWho who;
        uid_t uid;
        gid_t gid;
        char *unit;
        char *device;     /* NULL: any device */
        char *topic;      /* pattern, before substitution */
        char *text;       /* the rule as written, for explanations */
        char *location;   /* "FILE:LINE" */
} AclRule;

typedef struct Acl {
        AclRule *rules;
        size_t n_rules;
} Acl;

typedef struct AclCaller {
        uid_t uid;
        const char *user;        /* user name, for ${user}; NULL if unknown */
        const gid_t *gids;       /* primary and supplementary groups */
        size_t n_gids;
        const char *unit;        /* systemd unit, or NULL */
} AclCaller;

typedef struct AclTarget {
        const char *device;
        const char *product_key;
        const char *device_name;
        const char *topic;
} AclTarget;

Acl *acl_free(Acl *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Acl *, acl_free);

/* Loads DIR/acl.conf and DIR/acl.d/ *.conf (name order). Missing files mean no rules. A malformed rule logs
 * "FILE:LINE: reason" and fails the whole load with -EINVAL. So does a file that is not a regular file of at
 * most 1 MiB owned by root and writable by root only, or a DIR or DIR/acl.d that others may write (the message
 * names the file and says how to fix it; see safe-file.h). With problems != NULL, every problem is also
 * reported there instead of stopping at the first. */
typedef void (*acl_problem_t)(void *userdata, const char *location, const char *problem);
int acl_load(const char *config_dir, acl_problem_t problem, void *userdata, Acl **ret);

/* The rule that decides, or NULL when none matches (deny). Root is not special-cased here. */
const AclRule *acl_decide(const Acl *a, const AclCaller *c, const AclTarget *t);

/* Whether caller c may publish t, with a sentence saying why (static or owned by a). */
bool acl_check(const Acl *a, const AclCaller *c, const AclTarget *t, const char **ret_rule,
               const char **ret_location);

/* Exposed for tests: pattern validity and matching after substitution. */
int acl_topic_pattern_validate(const char *pattern, const char **ret_reason);
bool acl_topic_match(const char *pattern, const char *topic);
int acl_substitute(const char *pattern, const AclCaller *c, const AclTarget *t, char **ret);

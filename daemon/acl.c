/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing and evaluation of access rules; see acl.h. */
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "acl.h"
#include "conf-dir.h"
#include "log.h"
#include "safe-file.h"

static const char *const acl_vars[] = { "ProductKey", "DeviceName", "user" };

static void acl_rule_done(AclRule *r) {
        free(r->unit);
        free(r->device);
        free(r->topic);
        free(r->text);
        free(r->location);
}

Acl *acl_free(Acl *a) {
        if (!a)
                return NULL;
        for (size_t i = 0; i < a->n_rules; i++)
                acl_rule_done(&a->rules[i]);
        free(a->rules);
        free(a);
        return NULL;
}

/* Length of a "${Name}" variable at p, or 0 if p does not start a known one. */
static size_t acl_var_len(const char *p, const char **ret_name, size_t *ret_name_len) {
        const char *end;

        if (!startswith(p, "${"))
                return 0;
        end = strchr(p + 2, '}');
        if (!end)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(acl_vars); i++)
                if ((size_t) (end - p - 2) == strlen(acl_vars[i]) && strncmp(p + 2, acl_vars[i], strlen(acl_vars[i])) == 0) {
                        *ret_name = acl_vars[i];
                        *ret_name_len = strlen(acl_vars[i]);
                        return (size_t) (end - p) + 1;
                }
        return 0;
}

int acl_topic_pattern_validate(const char *pattern, const char **ret_reason) {
        const char *p, *name;
        size_t seg_len = 0, n, name_len;

        if (streq(pattern, "#"))
                return 0;
        if (pattern[0] != '/') {
                *ret_reason = "a topic pattern starts with '/' (or is just '#')";
                return -EINVAL;
        }
        for (p = pattern + 1;; p++) {
                if (*p == '/' || *p == 0) {
                        if (seg_len == 0) {
                                *ret_reason = "a topic pattern has no empty segments ('//' or a trailing '/')";
                                return -EINVAL;
                        }
                        if (*p == 0)
                                return 0;
                        seg_len = 0;
                        continue;
                }
                if (*p == '+' || *p == '#') {
                        if (seg_len != 0 || (p[1] != '/' && p[1] != 0)) {
                                *ret_reason = "'+' and '#' must each be a whole segment";
                                return -EINVAL;
                        }
                        if (*p == '#' && p[1] != 0) {
                                *ret_reason = "'#' may only be the last segment";
                                return -EINVAL;
                        }
                } else if (*p == '$') {
                        n = acl_var_len(p, &name, &name_len);
                        if (n == 0) {
                                *ret_reason = "unknown variable; use ${ProductKey}, ${DeviceName} or ${user}";
                                return -EINVAL;
                        }
                        p += n - 1;
                } else if ((unsigned char) *p <= ' ' || *p == '?') {
                        *ret_reason = "a topic pattern has no spaces, control characters or '?'";
                        return -EINVAL;
                }
                seg_len++;
        }
}

int acl_substitute(const char *pattern, const AclCaller *c, const AclTarget *t, char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t len = 0, alloc = strlen(pattern) + 1, n, name_len;
        const char *name, *value;

        out = malloc(alloc);
        if (!out)
                return -ENOMEM;
        for (const char *p = pattern; *p;) {
                n = acl_var_len(p, &name, &name_len);
                if (n == 0) {
                        out[len++] = *p++;
                        continue;
                }
                value = streq(name, "ProductKey") ? t->product_key :
                        streq(name, "DeviceName") ? t->device_name : c->user;
                if (!value)
                        return -ENOENT; /* e.g. a caller without a user name: the rule cannot match */
                alloc += strlen(value);
                char *grown = realloc(out, alloc);
                if (!grown)
                        return -ENOMEM;
                out = grown;
                memcpy(out + len, value, strlen(value));
                len += strlen(value);
                p += n;
        }
        out[len] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

bool acl_topic_match(const char *pattern, const char *topic) {
        const char *p = pattern, *t = topic;

        if (streq(pattern, "#"))
                return true;
        /* Both start with '/': compare segment by segment. */
        while (*p == '/' && *t == '/') {
                size_t pl, tl;

                p++;
                t++;
                pl = strcspn(p, "/");
                tl = strcspn(t, "/");
                if (pl == 1 && *p == '#')
                        return true;
                if (!(pl == 1 && *p == '+') && (pl != tl || strncmp(p, t, pl) != 0))
                        return false;
                p += pl;
                t += tl;
        }
        /* "/a/#" also matches "/a". */
        if (*t == 0 && streq(p, "/#"))
                return true;
        return *p == 0 && *t == 0;
}

static bool unit_name_valid(const char *s) {
        const char *dot = strrchr(s, '.');

        if (!dot || dot == s || dot[1] == 0 || strlen(s) > 255)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr(":-_.\\@", *p)))
                        return false;
        return true;
}

static int parse_id(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v >= UINT32_MAX)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

/* Parses "user:NAME|UID", "group:NAME|GID", "unit:UNIT" or "*". Names are resolved now, once per load. */
static int parse_who(AclRule *r, const char *s, const char **ret_reason) {
        const char *v;
        unsigned id;

        if (streq(s, "*")) {
                r->who = ACL_WHO_ANYONE;
                return 0;
        }
        if ((v = startswith(s, "user:"))) {
                if (parse_id(v, &id) < 0) {
                        struct passwd *pw = getpwnam(v);
                        if (!pw) {
                                *ret_reason = "unknown user";
                                return -EINVAL;
                        }
                        id = pw->pw_uid;
                }
                r->who = ACL_WHO_USER;
                r->uid = (uid_t) id;
                return 0;
        }
        if ((v = startswith(s, "group:"))) {
                if (parse_id(v, &id) < 0) {
                        struct group *gr = getgrnam(v);
                        if (!gr) {
                                *ret_reason = "unknown group";
                                return -EINVAL;
                        }
                        id = gr->gr_gid;
                }
                r->who = ACL_WHO_GROUP;
                r->gid = (gid_t) id;
                return 0;
        }
        if ((v = startswith(s, "unit:"))) {
                if (!unit_name_valid(v)) {
                        *ret_reason = "not a valid unit name (e.g. unit:envsensor.service)";
                        return -EINVAL;
                }
                r->who = ACL_WHO_UNIT;
                r->unit = strdup(v);
                return r->unit ? 0 : -ENOMEM;
        }
        *ret_reason = "WHO must be user:NAME, group:NAME, unit:NAME or *";
        return -EINVAL;
}

/* One rule line: "allow|deny WHO DEVICE TOPIC". */
static int parse_rule(const char *line, AclRule *r, const char **ret_reason) {
        char action[16], who[300], device[80], topic[300], extra[2];
        int n;

        n = sscanf(line, "%15s %299s %79s %299s %1s", action, who, device, topic, extra);
        /* A full buffer means sscanf split a longer word and read the rest as the next field. */
        if (n >= 4 && (strlen(action) == sizeof(action) - 1 || strlen(who) == sizeof(who) - 1 ||
                       strlen(device) == sizeof(device) - 1 || strlen(topic) == sizeof(topic) - 1)) {
                *ret_reason = "a field is too long";
                return -EINVAL;
        }
        if (n != 4) {
                *ret_reason = "expected four fields: allow|deny WHO DEVICE TOPIC-PATTERN";
                return -EINVAL;
        }
        if (streq(action, "allow"))
                r->action = ACL_ALLOW;
        else if (streq(action, "deny"))
                r->action = ACL_DENY;
        else {
                *ret_reason = "a rule starts with 'allow' or 'deny'";
                return -EINVAL;
        }
        if (parse_who(r, who, ret_reason) < 0)
                return -EINVAL;
        if (!streq(device, "*")) {
                r->device = strdup(device);
                if (!r->device)
                        return -ENOMEM;
        }
        if (acl_topic_pattern_validate(topic, ret_reason) < 0)
                return -EINVAL;
        r->topic = strdup(topic);
        if (asprintf(&r->text, "%s %s %s %s", action, who, device, topic) < 0)
                r->text = NULL;
        return r->topic && r->text ? 0 : -ENOMEM;
}

typedef struct AclLoad {
        Acl *acl;
        acl_problem_t problem;
        void *userdata;
        int error;
} AclLoad;

static int acl_add_line(AclLoad *l, const char *path, unsigned line_no, const char *line) {
        AclRule r = {};
        const char *reason = NULL;
        char location[PATH_MAX + 16];
        int err;

        (void) snprintf(location, sizeof(location), "%s:%u", path, line_no);
        err = parse_rule(line, &r, &reason);
        if (err >= 0) {
                AclRule *a = reallocarray(l->acl->rules, l->acl->n_rules + 1, sizeof(AclRule));
                r.location = strdup(location);
                if (!a || !r.location) {
                        acl_rule_done(&r);
                        return -ENOMEM;
                }
                l->acl->rules = a;
                l->acl->rules[l->acl->n_rules++] = r;
                return 0;
        }
        acl_rule_done(&r);
        if (err == -ENOMEM)
                return err;
        log_error("%s: %s", location, reason);
        if (l->problem)
                l->problem(l->userdata, location, reason);
        l->error = -EINVAL;
        return l->problem ? 0 : -EINVAL;
}

/* A file, or a directory the rules come from, that cannot be used: the whole set of rules is refused. */
static int acl_refuse(AclLoad *l, const char *location, int error, const char *reason) {
        if (error == -ENOMEM)
                return log_oom();
        log_error("%s", reason);
        if (l->problem)
                l->problem(l->userdata, location, reason);
        l->error = -EINVAL;
        return l->problem ? 0 : -EINVAL;
}

static int acl_load_file(AclLoad *l, const char *path) {
        _cleanup_(safe_file_done) SafeFile f = {};
        char reason[SAFE_FILE_REASON_MAX];
        unsigned line_no = 0;
        char *next;
        int r;

        r = safe_file_read(path, SAFE_FILE_TRUSTED, SAFE_FILE_CONFIG_MAX, &f, reason);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return acl_refuse(l, path, r, reason);
        next = f.data;
        for (char *s = strsep(&next, "\n"); s && r >= 0; s = strsep(&next, "\n")) {
                line_no++;
                s[strcspn(s, "\r")] = 0;
                s += strspn(s, " \t");
                /* '#' starts a comment only at the beginning of a line: it is also the topic wildcard. */
                if (*s == 0 || *s == '#' || *s == ';')
                        continue;
                r = acl_add_line(l, path, line_no, s);
        }
        return r;
}

/* Whoever may write the configuration directory or acl.d/ may remove or replace a file of rules (a deny rule,
 * say) even if they cannot write the file itself: such a directory is refused like a writable file. */
static int acl_check_dir(AclLoad *l, const char *dir) {
        char reason[SAFE_FILE_REASON_MAX];
        int r;

        r = safe_dir_check(dir, SAFE_FILE_TRUSTED, reason);
        if (r == -ENOENT || r >= 0)
                return 0;
        return acl_refuse(l, dir, r, reason);
}

int acl_load(const char *config_dir, acl_problem_t problem, void *userdata, Acl **ret) {
        _cleanup_(acl_freep) Acl *a = NULL;
        _cleanup_free_ char *path = NULL, *dir = NULL;
        char **paths = NULL;
        AclLoad l = { .problem = problem, .userdata = userdata };
        int n, r;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        l.acl = a;
        if (asprintf(&path, "%s/acl.conf", config_dir) < 0 || asprintf(&dir, "%s/acl.d", config_dir) < 0)
                return -ENOMEM;
        r = acl_check_dir(&l, config_dir);
        if (r >= 0)
                r = acl_check_dir(&l, dir);
        if (r >= 0)
                r = acl_load_file(&l, path);
        if (r < 0)
                return r;

        n = conf_dir_list(dir, &paths);
        if (n < 0 && n != -ENOENT)
                return log_error_errno(n, "Cannot read %s: %m", dir);
        for (char **p = paths; r >= 0 && *p; p++)
                r = acl_load_file(&l, *p);
        conf_dir_list_free(paths);
        if (r < 0)
                return r;
        if (l.error < 0)
                return l.error;
        *ret = TAKE_PTR(a);
        return 0;
}

static bool acl_who_matches(const AclRule *r, const AclCaller *c) {
        switch (r->who) {
        case ACL_WHO_ANYONE:
                return true;
        case ACL_WHO_USER:
                return r->uid == c->uid;
        case ACL_WHO_GROUP:
                for (size_t i = 0; i < c->n_gids; i++)
                        if (c->gids[i] == r->gid)
                                return true;
                return false;
        case ACL_WHO_UNIT:
                return c->unit && streq(c->unit, r->unit);
        case _ACL_WHO_MAX:
        case _ACL_WHO_INVALID:
                break;
        }
        return false;
}

static const AclRule acl_oom_rule = {
        .action = ACL_DENY,
        .text = (char *) "out of memory while evaluating the access rules",
        .location = (char *) "",
};

const AclRule *acl_decide(const Acl *a, const AclCaller *c, const AclTarget *t) {
        int r_sub;

        for (size_t i = 0; a && i < a->n_rules; i++) {
                const AclRule *r = &a->rules[i];
                _cleanup_free_ char *pattern = NULL;

                if (!acl_who_matches(r, c))
                        continue;
                if (r->device && !streq(r->device, t->device))
                        continue;
                r_sub = acl_substitute(r->topic, c, t, &pattern);
                if (r_sub == -ENOMEM)
                        return &acl_oom_rule; /* fail closed: never let a skipped deny rule turn into an allow */
                if (r_sub < 0)
                        continue;
                if (acl_topic_match(pattern, t->topic))
                        return r;
        }
        return NULL;
}

bool acl_check(const Acl *a, const AclCaller *c, const AclTarget *t, const char **ret_rule,
               const char **ret_location) {
        const AclRule *r;

        if (c->uid == 0) {
                *ret_rule = "root is always allowed";
                *ret_location = "";
                return true;
        }
        r = acl_decide(a, c, t);
        if (!r) {
                *ret_rule = "no rule matches (default deny)";
                *ret_location = "";
                return false;
        }
        *ret_rule = r->text;
        *ret_location = r->location;
        return r->action == ACL_ALLOW;
}

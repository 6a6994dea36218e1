/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Caller identification; see caller.h. */
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "caller.h"
#include "log.h"

void caller_done(Caller *c) {
        free(c->user);
        free(c->gids);
        free(c->unit);
        *c = (Caller) {};
}

bool caller_in_group(const Caller *c, gid_t gid) {
        for (size_t i = 0; i < c->n_gids; i++)
                if (c->gids[i] == gid)
                        return true;
        return false;
}

AclCaller caller_to_acl(const Caller *c) {
        return (AclCaller) {
                .uid = c->uid,
                .user = c->user,
                .gids = c->gids,
                .n_gids = c->n_gids,
                .unit = c->unit,
        };
}

static bool is_unit_component(const char *s, size_t n) {
        static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount", ".swap" };

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t l = strlen(suffixes[i]);
                if (n > l && strncmp(s + n - l, suffixes[i], l) == 0)
                        return true;
        }
        return false;
}

int caller_unit_from_cgroup(const char *cgroup, char **ret) {
        /* The first unit below the slices is the system unit (user@UID.service for user services). */
        for (const char *p = cgroup; *p;) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n > 0 && is_unit_component(p, n)) {
                        *ret = strndup(p, n);
                        return *ret ? 0 : -ENOMEM;
                }
                p += n;
        }
        return -ENOENT;
}

/* The uid the kernel gives for pid's process now ("Uid:" real, effective, ...: the effective one). */
static int proc_status_euid(FILE *f, uid_t *ret) {
        _cleanup_free_ char *buf = NULL;
        size_t alloc = 0;
        unsigned long real, eff;
        const char *p;

        while (getline(&buf, &alloc, f) > 0)
                if ((p = startswith(buf, "Uid:")) && sscanf(p, "%lu %lu", &real, &eff) == 2) {
                        *ret = (uid_t) eff;
                        return 0;
                }
        return -EBADMSG;
}

/* The systemd unit of pid, read through a pidfd so that a pid recycled while we read is noticed, and only if
 * the process there still runs as the connection's uid. What this cannot rule out: the process that connected
 * exited (a child kept the connection) and its pid was handed to a process of the same user inside a unit
 * before our first look; dbus-daemon 1.14 offers no race-free handle to the connecting process. A process cannot
 * move itself into another system unit's cgroup, so a unit: rule is as strong as the uid boundary it sits on:
 * give the unit its own User= (or DynamicUser=) for unit: to mean more than user:. */
static int caller_read_unit(pid_t pid, uid_t uid, Caller *c) {
        _cleanup_close_ int pidfd = -1;
        _cleanup_free_ char *buf = NULL, *unit = NULL;
        char path[64];
        size_t alloc = 0;
        struct pollfd pfd;
        uid_t now_uid;
        FILE *f;
        int r;

        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return -errno;
        (void) snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        r = proc_status_euid(f, &now_uid);
        fclose(f);
        if (r < 0)
                return r;
        if (now_uid != uid)
                return -ESRCH; /* another user's process now, or one that changed its uid: not the caller */
        (void) snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        r = -ENOENT;
        while (getline(&buf, &alloc, f) > 0)
                if (startswith(buf, "0::")) {
                        buf[strcspn(buf, "\n")] = 0;
                        r = caller_unit_from_cgroup(buf + 3, &unit);
                        break;
                }
        fclose(f);
        if (r < 0)
                return r;
        pfd = (struct pollfd) { .fd = pidfd, .events = POLLIN };
        if (poll(&pfd, 1, 0) != 0)
                return -ESRCH; /* the process exited while we looked: what we read may belong to someone else */
        c->unit = TAKE_PTR(unit);
        return 0;
}

int caller_user_groups(const struct passwd *pw, gid_t **ret, size_t *ret_n) {
        int n = 64;
        gid_t *g = calloc((size_t) n, sizeof(gid_t));

        if (!g)
                return -ENOMEM;
        if (!pw) {
                *ret = g;
                *ret_n = 0;
                return 0;
        }
        if (getgrouplist(pw->pw_name, pw->pw_gid, g, &n) < 0) {
                gid_t *bigger = reallocarray(g, (size_t) n, sizeof(gid_t));
                if (!bigger) {
                        free(g);
                        return -ENOMEM;
                }
                g = bigger;
                if (getgrouplist(pw->pw_name, pw->pw_gid, g, &n) < 0)
                        n = 0;
        }
        *ret = g;
        *ret_n = (size_t) n;
        return 0;
}

/* One entry of GetConnectionCredentials' a{sv}: UnixUserID, ProcessID and UnixGroupIDs are taken, the rest
 * skipped. */
static int caller_read_cred(sd_bus_message *reply, Caller *c, bool *have_uid, bool *have_groups, pid_t *pid) {
        const char *key;
        const void *gids;
        size_t size;
        uint32_t v;
        int r;

        r = sd_bus_message_read(reply, "s", &key);
        if (r < 0)
                return r;
        if (streq(key, "UnixUserID") || streq(key, "ProcessID")) {
                r = sd_bus_message_read(reply, "v", "u", &v);
                if (r < 0)
                        return r;
                if (streq(key, "UnixUserID")) {
                        c->uid = (uid_t) v;
                        *have_uid = true;
                } else
                        *pid = (pid_t) v;
                return 0;
        }
        if (!streq(key, "UnixGroupIDs"))
                return sd_bus_message_skip(reply, "v");
        r = sd_bus_message_enter_container(reply, 'v', "au");
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(reply, 'u', &gids, &size);
        if (r < 0)
                return r;
        free(c->gids);
        c->n_gids = size / sizeof(uint32_t);
        c->gids = calloc(c->n_gids + 1, sizeof(gid_t));
        if (!c->gids)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_gids; i++)
                c->gids[i] = (gid_t) ((const uint32_t *) gids)[i];
        *have_groups = true;
        return sd_bus_message_exit_container(reply);
}

/* The bus's credentials for the sender's connection. dbus-daemon takes them when the connection is made
 * (SO_PEERCRED, SO_PEERGROUPS), so nothing the caller does afterwards (exec a setgid program, setgroups) changes
 * them. sd-bus 252 does not read UnixGroupIDs, hence the call of our own. */
static int caller_query_bus(sd_bus *bus, const char *name, Caller *c, bool *have_groups, pid_t *pid) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        bool have_uid = false;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionCredentials", &error, &reply, "s", name);
        if (r < 0) {
                log_debug("Cannot get the credentials of %s: %s", name, error.message ?: strerror(-r));
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                r = caller_read_cred(reply, c, &have_uid, have_groups, pid);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return r;
        return have_uid ? 0 : -ENODATA;
}

int caller_from_name(sd_bus *bus, const char *name, Caller *ret) {
        _cleanup_(caller_done) Caller c = {};
        bool have_groups = false;
        struct passwd *pw;
        pid_t pid = 0;
        int r;

        if (isempty(name))
                return -ENXIO;
        r = caller_query_bus(bus, name, &c, &have_groups, &pid);
        if (r < 0)
                return r;
        pw = getpwuid(c.uid);
        if (pw && !(c.user = strdup(pw->pw_name)))
                return -ENOMEM;
        /* A bus that does not say which groups: the user database's, as polkit decides unix-group:. */
        if (!have_groups) {
                r = caller_user_groups(pw, &c.gids, &c.n_gids);
                if (r < 0)
                        return r;
        }
        if (pid > 0 && caller_read_unit(pid, c.uid, &c) == -ENOMEM)
                return -ENOMEM;
        *ret = c;
        c = (Caller) {};
        return 0;
}

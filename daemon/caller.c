/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Caller identification; see caller.h. */
#include <fcntl.h>
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

/* Parses the "Gid:" (real, effective, ...) and "Groups:" lines of /proc/PID/status into c->gids, effective
 * group first. */
static int caller_parse_status(FILE *f, Caller *c) {
        _cleanup_free_ char *buf = NULL;
        size_t alloc = 0;
        unsigned long real, eff;
        const char *p;

        while (getline(&buf, &alloc, f) > 0) {
                if ((p = startswith(buf, "Gid:")) && sscanf(p, "%lu %lu", &real, &eff) == 2) {
                        c->gids[0] = (gid_t) eff;
                        c->n_gids = MAX(c->n_gids, (size_t) 1);
                } else if ((p = startswith(buf, "Groups:"))) {
                        char *end;

                        for (;;) {
                                unsigned long g = strtoul(p, &end, 10);
                                gid_t *n;

                                if (end == p)
                                        break;
                                n = reallocarray(c->gids, c->n_gids + 1, sizeof(gid_t));
                                if (!n)
                                        return -ENOMEM;
                                c->gids = n;
                                c->gids[c->n_gids++] = (gid_t) g;
                                p = end;
                        }
                }
        }
        return 0;
}

/* The groups and unit of pid, read through a pidfd so that a pid recycled while we read is noticed. The pid
 * could still have been recycled before pidfd_open(); dbus-daemon 1.14 offers no race-free handle and no
 * group list, so this is the best it allows. want_groups: the bus gave us no groups. */
static int caller_read_proc(pid_t pid, bool want_groups, Caller *c) {
        _cleanup_close_ int pidfd = -1;
        _cleanup_free_ char *buf = NULL;
        char path[64];
        size_t alloc = 0;
        struct pollfd pfd;
        FILE *f;
        int r = 0;

        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return -errno;
        if (want_groups) {
                (void) snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
                f = fopen(path, "re");
                if (!f)
                        return -errno;
                r = caller_parse_status(f, c);
                fclose(f);
                if (r < 0)
                        return r;
        }
        (void) snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
        f = fopen(path, "re");
        if (f) {
                while (getline(&buf, &alloc, f) > 0)
                        if (startswith(buf, "0::")) {
                                buf[strcspn(buf, "\n")] = 0;
                                if (caller_unit_from_cgroup(buf + 3, &c->unit) == -ENOMEM)
                                        r = -ENOMEM;
                                break;
                        }
                fclose(f);
        }
        pfd = (struct pollfd) { .fd = pidfd, .events = POLLIN };
        if (poll(&pfd, 1, 0) != 0) {
                /* The process exited while we looked: what we read may belong to someone else. */
                c->unit = mfree(c->unit);
                if (want_groups) {
                        c->gids[0] = (gid_t) -1;
                        c->n_gids = 1;
                }
                return -ESRCH;
        }
        return r;
}

int caller_from_message(sd_bus_message *m, Caller *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        Caller c = {};
        const gid_t *gids = NULL;
        struct passwd *pw;
        gid_t egid;
        pid_t pid;
        int n, r;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID | SD_BUS_CREDS_SUPPLEMENTARY_GIDS |
                                      SD_BUS_CREDS_PID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &c.uid);
        if (r < 0)
                return r;
        n = sd_bus_creds_get_supplementary_gids(creds, &gids);
        if (n < 0)
                n = 0;
        c.gids = calloc((size_t) n + 1, sizeof(gid_t));
        if (!c.gids)
                return -ENOMEM;
        c.gids[c.n_gids++] = sd_bus_creds_get_egid(creds, &egid) >= 0 ? egid : (gid_t) -1;
        for (int i = 0; i < n; i++)
                c.gids[c.n_gids++] = gids[i];

        pw = getpwuid(c.uid);
        if (pw && !(c.user = strdup(pw->pw_name))) {
                caller_done(&c);
                return -ENOMEM;
        }
        /* Groups the bus does not give (dbus-daemon) and the unit come from /proc, guarded by a pidfd. */
        if (sd_bus_creds_get_pid(creds, &pid) >= 0) {
                r = caller_read_proc(pid, n == 0, &c);
                if (r == -ENOMEM) {
                        caller_done(&c);
                        return r;
                }
        }
        *ret = c;
        return 0;
}

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

/* The unit of pid, read through a pidfd so that a pid that was recycled while we read is noticed. The pid
 * could still have been recycled before pidfd_open(); dbus-daemon 1.14 offers no race-free handle. */
static int caller_unit_of_pid(pid_t pid, char **ret) {
        _cleanup_close_ int pidfd = -1;
        _cleanup_free_ char *buf = NULL;
        char path[64];
        size_t alloc = 0;
        struct pollfd pfd;
        FILE *f;
        int r = -ENOENT;

        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return -errno;
        (void) snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (getline(&buf, &alloc, f) > 0)
                if (startswith(buf, "0::")) {
                        buf[strcspn(buf, "\n")] = 0;
                        r = caller_unit_from_cgroup(buf + 3, ret);
                        break;
                }
        fclose(f);
        pfd = (struct pollfd) { .fd = pidfd, .events = POLLIN };
        if (r >= 0 && poll(&pfd, 1, 0) != 0) {
                /* The process exited while we looked: what we read may belong to someone else. */
                *ret = mfree(*ret);
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
        if (sd_bus_creds_get_egid(creds, &egid) >= 0)
                c.gids[c.n_gids++] = egid;
        for (int i = 0; i < n; i++)
                c.gids[c.n_gids++] = gids[i];

        pw = getpwuid(c.uid);
        if (pw && !(c.user = strdup(pw->pw_name))) {
                caller_done(&c);
                return -ENOMEM;
        }
        if (sd_bus_creds_get_pid(creds, &pid) >= 0 && caller_unit_of_pid(pid, &c.unit) < 0)
                c.unit = NULL;
        *ret = c;
        return 0;
}

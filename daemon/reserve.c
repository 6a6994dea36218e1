/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state directory's space reserve; see reserve.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/statvfs.h>

#include "log.h"
#include "reserve.h"

struct Reserve {
        char *path;
        int dir_fd;
        uint64_t size;
        bool held;
};

static int reserve_create(Reserve *r) {
        _cleanup_close_ int fd = -1;
        int e;

        fd = open(r->path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        e = posix_fallocate(fd, 0, (off_t) r->size);
        if (e != 0) {
                (void) unlink(r->path);
                return -e;
        }
        r->held = true;
        return 0;
}

int reserve_new(const char *state_dir, uint64_t size, Reserve **ret) {
        _cleanup_(reserve_freep) Reserve *r = NULL;
        int e;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->size = size;
        r->dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r->dir_fd < 0)
                return -errno;
        if (asprintf(&r->path, "%s/space.reserve", state_dir) < 0)
                return -ENOMEM;
        e = reserve_create(r);
        if (e < 0)
                log_warning_errno(e, "Cannot reserve %" PRIu64 " KiB in %s: %m; new messages are refused until "
                                  "space is free.", size / 1024, state_dir);
        *ret = TAKE_PTR(r);
        return 0;
}

Reserve *reserve_free(Reserve *r) {
        if (!r)
                return NULL;
        free(r->path);
        safe_close(r->dir_fd);
        free(r);
        return NULL;
}

bool reserve_held(Reserve *r) {
        struct statvfs st;

        if (r->held)
                return true;
        if (fstatvfs(r->dir_fd, &st) < 0 || (uint64_t) st.f_bavail * st.f_frsize < 2 * r->size)
                return false;
        if (reserve_create(r) < 0)
                return false;
        log_notice("Space is free again in the state directory; accepting new messages.");
        return true;
}

int reserve_release(Reserve *r) {
        if (!r->held)
                return 0;
        if (unlink(r->path) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Cannot release the space reserve %s: %m", r->path);
        r->held = false;
        log_warning("The state directory's file system is full: released the space reserve to record deliveries; "
                    "new messages are refused until space is free.");
        return 1;
}

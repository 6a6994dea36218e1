/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading trusted files without blocking and refusing those others could have written; see safe-file.h. */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "macro.h"
#include "safe-file.h"

_printf_(3, 4) static int refuse_with(int error, char reason[static SAFE_FILE_REASON_MAX], const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(reason, SAFE_FILE_REASON_MAX, fmt, ap);
        va_end(ap);
        return -error;
}
#define refuse(...) refuse_with(EINVAL, __VA_ARGS__)
#define refuse_perm(...) refuse_with(EPERM, __VA_ARGS__)

static int fail_errno(char reason[static SAFE_FILE_REASON_MAX], int error, const char *what, const char *path) {
        (void) snprintf(reason, SAFE_FILE_REASON_MAX, "Cannot %s %s: %s", what, path, strerror(error));
        return -error;
}

static const char *type_name(mode_t mode) {
        if (S_ISDIR(mode))
                return "directory";
        if (S_ISCHR(mode))
                return "character device";
        if (S_ISBLK(mode))
                return "block device";
        if (S_ISFIFO(mode))
                return "FIFO";
        if (S_ISSOCK(mode))
                return "socket";
        return "special file";
}

static int check_type(const char *path, mode_t mode, bool dir, char reason[static SAFE_FILE_REASON_MAX]) {
        if (dir ? S_ISDIR(mode) : S_ISREG(mode))
                return 0;
        return refuse(reason, "%s is a %s, not a %s; %s", path, type_name(mode), dir ? "directory" : "regular file",
                      dir ? "make it a directory" : "remove it, or replace it with a regular file");
}

static void user_name(uid_t uid, char *buf, size_t size) {
        struct passwd *pw = getpwuid(uid);

        if (pw)
                (void) snprintf(buf, size, "%s", pw->pw_name);
        else
                (void) snprintf(buf, size, "%u", (unsigned) uid);
}

static void group_name(gid_t gid, char *buf, size_t size) {
        struct group *gr = getgrgid(gid);

        if (gr)
                (void) snprintf(buf, size, "%s", gr->gr_name);
        else
                (void) snprintf(buf, size, "%u", (unsigned) gid);
}

/* Root's group, and with SAFE_FILE_DAEMON the daemon's own: nobody else may write (or read a secret). */
static bool group_trusted(gid_t gid, SafeFileFlags flags) {
        return gid == 0 || ((flags & SAFE_FILE_DAEMON) && gid == getegid());
}

static int check_secret_mode(const char *path, const struct stat *st, SafeFileFlags flags,
                             char reason[static SAFE_FILE_REASON_MAX]) {
        char name[64];

        if (st->st_mode & S_IRWXO)
                return refuse_perm(reason, "%s holds a secret and others may access it (mode %04o); run: chmod o-rwx %s",
                              path, (unsigned) (st->st_mode & 07777), path);
        if ((st->st_mode & S_IRGRP) && !group_trusted(st->st_gid, flags)) {
                group_name(st->st_gid, name, sizeof(name));
                return refuse_perm(reason, "%s holds a secret and is readable by group '%s'; run: chmod g-r %s", path,
                              name, path);
        }
        return 0;
}

int safe_file_check_stat(const char *path, const struct stat *st, SafeFileFlags flags,
                         char reason[static SAFE_FILE_REASON_MAX]) {
        char name[64], daemon_user[64];

        if (!(flags & SAFE_FILE_TRUSTED))
                return 0;
        if (st->st_uid != 0 && !((flags & SAFE_FILE_DAEMON) && st->st_uid == geteuid())) {
                user_name(st->st_uid, name, sizeof(name));
                user_name(geteuid(), daemon_user, sizeof(daemon_user));
                return refuse_perm(reason, "%s is owned by user '%s', not by root%s%s; run: chown root %s", path, name,
                              (flags & SAFE_FILE_DAEMON) && geteuid() != 0 ? " or " : "",
                              (flags & SAFE_FILE_DAEMON) && geteuid() != 0 ? daemon_user : "", path);
        }
        if (st->st_mode & S_IWOTH)
                return refuse_perm(reason, "%s is writable by others; run: chmod o-w %s", path, path);
        if ((st->st_mode & S_IWGRP) && !group_trusted(st->st_gid, flags)) {
                group_name(st->st_gid, name, sizeof(name));
                return refuse_perm(reason, "%s is writable by group '%s'; run: chmod g-w %s", path, name, path);
        }
        if (flags & SAFE_FILE_SECRET)
                return check_secret_mode(path, st, flags, reason);
        return 0;
}

/* Opens path for reading, checked as flags and max_size say; returns the fd. */
static int safe_file_open(const char *path, SafeFileFlags flags, size_t max_size, struct stat *ret_st,
                          char reason[static SAFE_FILE_REASON_MAX]) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        /* open() of a device can do things by itself (a tape rewinds, a watchdog starts), so the type is looked
         * at first; the checks that count are those on the descriptor, after open. */
        if (stat(path, &st) < 0)
                return fail_errno(reason, errno, "open", path);
        r = check_type(path, st.st_mode, false, reason);
        if (r < 0)
                return r;
        /* O_NONBLOCK: a FIFO or a terminal put there in between must not stop the daemon in open() or read(). */
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return fail_errno(reason, errno, "open", path);
        if (fstat(fd, &st) < 0)
                return fail_errno(reason, errno, "stat", path);
        /* Owner and mode before size: a file that must not be trusted is refused as such, whatever its length. */
        r = check_type(path, st.st_mode, false, reason);
        if (r >= 0)
                r = safe_file_check_stat(path, &st, flags, reason);
        if (r >= 0 && (uint64_t) st.st_size > max_size)
                r = refuse(reason, "%s is larger than %zu bytes; it cannot be a file iotpubd reads", path, max_size);
        if (r < 0)
                return r;
        *ret_st = st;
        return TAKE_FD(fd);
}

/* Reads at most max_size bytes (the size from fstat can change, or be 0 for files of /proc). */
static int read_bounded(int fd, const char *path, size_t max_size, SafeFile *f,
                        char reason[static SAFE_FILE_REASON_MAX]) {
        size_t alloc = MIN((size_t) f->st.st_size, max_size) + 1;
        ssize_t n;

        f->data = malloc(alloc + 1);
        if (!f->data)
                return -ENOMEM;
        for (;;) {
                n = read(fd, f->data + f->size, alloc - f->size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return fail_errno(reason, errno, "read", path);
                if (n == 0)
                        break;
                f->size += (size_t) n;
                if (f->size > max_size)
                        return refuse(reason, "%s is larger than %zu bytes; it cannot be a file iotpubd reads", path,
                                      max_size);
                if (f->size == alloc) {
                        size_t grown = MIN(alloc * 2, max_size + 1);
                        char *p = malloc(grown + 1);

                        if (!p)
                                return -ENOMEM;
                        memcpy(p, f->data, f->size);
                        explicit_bzero(f->data, f->size);
                        free(f->data);
                        f->data = p;
                        alloc = grown;
                }
        }
        f->data[f->size] = 0;
        if (memchr(f->data, 0, f->size))
                return refuse(reason, "%s contains a NUL byte; it is not a text file", path);
        return 0;
}

void safe_file_done(SafeFile *f) {
        if (f->data)
                explicit_bzero(f->data, f->size);
        free(f->data);
        *f = (SafeFile) {};
}

int safe_file_read(const char *path, SafeFileFlags flags, size_t max_size, SafeFile *ret,
                   char reason[static SAFE_FILE_REASON_MAX]) {
        _cleanup_close_ int fd = -1;
        SafeFile f = {};
        int r;

        reason[0] = 0;
        fd = safe_file_open(path, flags, max_size, &f.st, reason);
        if (fd < 0)
                return fd;
        r = read_bounded(fd, path, max_size, &f, reason);
        if (r < 0) {
                safe_file_done(&f);
                return r;
        }
        *ret = f;
        return 0;
}

int safe_file_check(const char *path, SafeFileFlags flags, size_t max_size, char reason[static SAFE_FILE_REASON_MAX]) {
        struct stat st;
        int fd;

        reason[0] = 0;
        fd = safe_file_open(path, flags, max_size, &st, reason);
        if (fd < 0)
                return fd;
        safe_close(fd);
        return 0;
}

int safe_dir_check(const char *path, SafeFileFlags flags, char reason[static SAFE_FILE_REASON_MAX]) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        reason[0] = 0;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOTDIR) {
                if (stat(path, &st) < 0)
                        return fail_errno(reason, errno, "open", path);
                return check_type(path, st.st_mode, true, reason);
        }
        if (fd < 0)
                return fail_errno(reason, errno, "open", path);
        if (fstat(fd, &st) < 0)
                return fail_errno(reason, errno, "stat", path);
        r = check_type(path, st.st_mode, true, reason);
        if (r < 0)
                return r;
        return safe_file_check_stat(path, &st, flags & ~SAFE_FILE_SECRET, reason);
}

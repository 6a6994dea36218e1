/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Opening and reading the files iotpubd trusts (iotpubd.conf, access rules, identities, secrets, CA files) so
 * that no file can block the daemon, and no file that someone else could have written is believed. */
#pragma once

#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>

/* Sizes: a configuration, rule, identity or CA file is text of at most 1 MiB (a CA bundle of all public roots is
 * about 200 KiB); a secret file holds one line of at most 64 characters, so 4 KiB is generous. */
#define SAFE_FILE_CONFIG_MAX (1024 * 1024)
#define SAFE_FILE_SECRET_MAX 4096

/* Room for a message naming a path and saying how to fix it. */
#define SAFE_FILE_REASON_MAX (PATH_MAX + 256)

typedef enum SafeFileFlags {
        /* Owned by root, writable by nobody else (the group only when it is root's): iotpubd.conf, access
         * rules, CA files and the directories that hold rules and identities. */
        SAFE_FILE_TRUSTED = 1 << 0,
        /* The daemon's own user and group count as root's: identities (AddDevice writes them as iotpub) and
         * secret files. With SAFE_FILE_TRUSTED only. */
        SAFE_FILE_DAEMON = 1 << 1,
        /* Nobody else may read it either: no access for others, group read only for root's or the daemon's
         * group. */
        SAFE_FILE_SECRET = 1 << 2,
} SafeFileFlags;

/* Every buffer is wiped when freed or grown: an identity file holds Secret=, a credential is one, and wiping a
 * few KiB of configuration costs nothing. */
typedef struct SafeFile {
        char *data;     /* NUL-terminated; never contains a NUL byte itself */
        size_t size;
        struct stat st; /* of the file that was read */
} SafeFile;

void safe_file_done(SafeFile *f);

/* Reads path whole. It is opened without blocking and without following a terminal, and refused unless
 * fstat() on that descriptor shows a regular file of at most max_size bytes that passes the checks of flags
 * and holds no NUL byte. Returns 0, -ENOENT when path does not exist, -EPERM when its owner or mode is refused,
 * -EINVAL when it is refused for its type, size or contents, or the errno of open/read. On failure reason holds one sentence naming path (and, for a refusal, the fix). */
int safe_file_read(const char *path, SafeFileFlags flags, size_t max_size, SafeFile *ret,
                   char reason[static SAFE_FILE_REASON_MAX]);

/* The same checks without reading, for files that a library opens by path itself (CA files). */
int safe_file_check(const char *path, SafeFileFlags flags, size_t max_size, char reason[static SAFE_FILE_REASON_MAX]);

/* The owner and mode checks of flags on what fstat() returned for path. */
int safe_file_check_stat(const char *path, const struct stat *st, SafeFileFlags flags,
                         char reason[static SAFE_FILE_REASON_MAX]);

/* A directory whose entries decide what is loaded (acl.d/, devices/): it must be a directory passing the
 * owner and write checks of flags, since whoever may write it may add, remove or replace files in it.
 * -ENOENT when it does not exist. */
int safe_dir_check(const char *path, SafeFileFlags flags, char reason[static SAFE_FILE_REASON_MAX]);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers the unit tests share: a temp directory made and removed with its contents, files written with an
 * exact mode, and files read back whole. Include after <cmocka.h>. */
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

/* Makes a fresh "/tmp/test-NAME-XXXXXX" directory, its path in buf. */
static inline void test_mkdtemp(char *buf, size_t size, const char *name) {
        (void) snprintf(buf, size, "/tmp/test-%s-XXXXXX", name);
        assert_non_null(mkdtemp(buf));
}

/* Removes dir and everything below it, quietly: a teardown must not fail on what a test left behind. */
static inline void test_rm_rf(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                assert_true(asprintf(&p, "%s/%s", dir, de->d_name) >= 0);
                if (de->d_type == DT_DIR)
                        test_rm_rf(p);
                else
                        (void) unlink(p);
        }
        closedir(d);
        (void) rmdir(dir);
}

/* Writes content to path (replacing it) with exactly mode: fchmod, so the umask does not decide what a test
 * checks. */
static inline void test_write_file(const char *path, mode_t mode, const char *content) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(close(fd), 0);
}

/* The whole of path as a string; "" if it does not exist. */
static inline char *test_read_file(const char *path) {
        char *buf = NULL;
        size_t n = 0;
        FILE *fp = fopen(path, "re");

        if (!fp)
                return strdup("");
        if (getdelim(&buf, &n, '\0', fp) < 0) {
                free(buf);
                buf = strdup("");
        }
        fclose(fp);
        assert_non_null(buf);
        return buf;
}

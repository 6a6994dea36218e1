/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for safe-file.c: regular files are read whole; FIFOs, devices, directories, oversized files and
 * files others could write (or read, for secrets) are refused at once, with the path and the fix. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../daemon/safe-file.h"
#include "macro.h"
#include "test-util.h"

#define NOBODY 65534 /* nobody:nogroup on Debian */
#define TRUSTED SAFE_FILE_TRUSTED
#define SECRET (SAFE_FILE_TRUSTED | SAFE_FILE_DAEMON | SAFE_FILE_SECRET)

typedef struct Fixture {
        char dir[64];
        char reason[SAFE_FILE_REASON_MAX];
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        test_mkdtemp(f->dir, sizeof(f->dir), "safe-file");
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        test_rm_rf(f->dir);
        free(f);
        return 0;
}

static const char *path_in(const Fixture *f, const char *name) {
        static char buf[4][128];
        static unsigned next;
        char *p = buf[next++ % ELEMENTSOF(buf)];

        (void) snprintf(p, sizeof(buf[0]), "%s/%s", f->dir, name);
        return p;
}

/* safe_file_read must fail with error, and its reason must contain each of the given strings. */
static void assert_refused(Fixture *f, const char *path, SafeFileFlags flags, size_t max, int error, ...) {
        SafeFile sf = {};
        va_list ap;

        assert_int_equal(safe_file_read(path, flags, max, &sf, f->reason), error);
        assert_null(sf.data);
        assert_non_null(strstr(f->reason, path));
        va_start(ap, error);
        for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
                if (!strstr(f->reason, s))
                        fail_msg("reason \"%s\" lacks \"%s\"", f->reason, s);
        va_end(ap);
}

static void test_regular_file(void **state) {
        Fixture *f = *state;
        SafeFile sf = {};

        test_write_file(path_in(f, "a.conf"), 0644, "[Daemon]\nAdminGroup=wheel\n");
        assert_int_equal(safe_file_read(path_in(f, "a.conf"), TRUSTED, SAFE_FILE_CONFIG_MAX, &sf, f->reason), 0);
        assert_string_equal(sf.data, "[Daemon]\nAdminGroup=wheel\n");
        assert_int_equal(sf.size, strlen(sf.data));
        assert_true(S_ISREG(sf.st.st_mode));
        safe_file_done(&sf);
        assert_null(sf.data);

        /* Through a symlink to a regular file (a CA bundle usually is one), and empty. */
        assert_int_equal(symlink(path_in(f, "a.conf"), path_in(f, "link.conf")), 0);
        assert_int_equal(safe_file_check(path_in(f, "link.conf"), TRUSTED, SAFE_FILE_CONFIG_MAX, f->reason), 0);
        test_write_file(path_in(f, "empty.conf"), 0600, "");
        assert_int_equal(safe_file_read(path_in(f, "empty.conf"), TRUSTED, 16, &sf, f->reason), 0);
        assert_string_equal(sf.data, "");
        safe_file_done(&sf);

        assert_refused(f, path_in(f, "missing.conf"), TRUSTED, 16, -ENOENT, NULL);
}

/* Each of these used to block the daemon (a FIFO) or spin it forever (/dev/zero); a hang here is a failure
 * of the run-tests.sh time limit. */
static void test_special_files(void **state) {
        Fixture *f = *state;

        assert_int_equal(mkfifo(path_in(f, "fifo.conf"), 0600), 0);
        assert_refused(f, path_in(f, "fifo.conf"), TRUSTED, SAFE_FILE_CONFIG_MAX, -EINVAL, "is a FIFO",
                       "not a regular file", NULL);
        assert_int_equal(safe_file_check(path_in(f, "fifo.conf"), TRUSTED, SAFE_FILE_CONFIG_MAX, f->reason), -EINVAL);

        assert_int_equal(symlink("/dev/zero", path_in(f, "zero.conf")), 0);
        assert_refused(f, path_in(f, "zero.conf"), TRUSTED, SAFE_FILE_CONFIG_MAX, -EINVAL, "character device", NULL);
        assert_refused(f, path_in(f, "zero.conf"), SECRET, SAFE_FILE_SECRET_MAX, -EINVAL, "character device", NULL);

        assert_int_equal(mkdir(path_in(f, "dir.conf"), 0755), 0);
        assert_refused(f, path_in(f, "dir.conf"), TRUSTED, SAFE_FILE_CONFIG_MAX, -EINVAL, "is a directory", NULL);
}

static void test_size_and_contents(void **state) {
        Fixture *f = *state;
        SafeFile sf = {};
        int fd;

        /* One byte over the limit, found from fstat (a sparse file: nothing is read). */
        fd = open(path_in(f, "big.conf"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, SAFE_FILE_CONFIG_MAX + 1), 0);
        close(fd);
        assert_refused(f, path_in(f, "big.conf"), TRUSTED, SAFE_FILE_CONFIG_MAX, -EINVAL, "larger than", NULL);

        /* Exactly at the limit is fine. */
        test_write_file(path_in(f, "sixteen"), 0600, "0123456789abcdef");
        assert_int_equal(safe_file_read(path_in(f, "sixteen"), TRUSTED, 16, &sf, f->reason), 0);
        assert_int_equal(sf.size, 16);
        safe_file_done(&sf);
        assert_refused(f, path_in(f, "sixteen"), TRUSTED, 15, -EINVAL, "larger than 15 bytes", NULL);

        /* fstat says 0 bytes, but reading goes on: the bound holds while reading, too. */
        assert_refused(f, "/proc/self/mountinfo", 0, 16, -EINVAL, "larger than 16 bytes", NULL);

        test_write_file(path_in(f, "nul.conf"), 0644, "[Daemon]\n");
        fd = open(path_in(f, "nul.conf"), O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "\0x=1\n", 5), 5);
        close(fd);
        assert_refused(f, path_in(f, "nul.conf"), TRUSTED, SAFE_FILE_CONFIG_MAX, -EINVAL, "NUL byte", NULL);
}

static void test_writable_by_others(void **state) {
        Fixture *f = *state;
        char fix[256];

        if (geteuid() != 0)
                skip(); /* chown to another user needs root; CI runs the tests as root */

        test_write_file(path_in(f, "acl.conf"), 0666, "");
        (void) snprintf(fix, sizeof(fix), "run: chmod o-w %s", path_in(f, "acl.conf"));
        assert_refused(f, path_in(f, "acl.conf"), TRUSTED, SAFE_FILE_CONFIG_MAX, -EPERM, "writable by others", fix, NULL);
        /* Without SAFE_FILE_TRUSTED (systemd's credentials) the mode is not looked at. */
        assert_int_equal(safe_file_check(path_in(f, "acl.conf"), 0, SAFE_FILE_CONFIG_MAX, f->reason), 0);

        assert_int_equal(chmod(path_in(f, "acl.conf"), 0664), 0);
        assert_int_equal(chown(path_in(f, "acl.conf"), 0, NOBODY), 0);
        (void) snprintf(fix, sizeof(fix), "run: chmod g-w %s", path_in(f, "acl.conf"));
        assert_refused(f, path_in(f, "acl.conf"), TRUSTED, SAFE_FILE_CONFIG_MAX, -EPERM, "writable by group 'nogroup'",
                       fix, NULL);
        /* Group-writable is fine when the group is root's. */
        assert_int_equal(chown(path_in(f, "acl.conf"), 0, 0), 0);
        assert_int_equal(safe_file_check(path_in(f, "acl.conf"), TRUSTED, SAFE_FILE_CONFIG_MAX, f->reason), 0);

        assert_int_equal(chmod(path_in(f, "acl.conf"), 0644), 0);
        assert_int_equal(chown(path_in(f, "acl.conf"), NOBODY, 0), 0);
        (void) snprintf(fix, sizeof(fix), "run: chown root %s", path_in(f, "acl.conf"));
        assert_refused(f, path_in(f, "acl.conf"), TRUSTED, SAFE_FILE_CONFIG_MAX, -EPERM, "owned by user 'nobody'", fix,
                       NULL);
}

static void test_secret_modes(void **state) {
        Fixture *f = *state;
        SafeFile sf = {};
        char big[SAFE_FILE_SECRET_MAX + 2];

        if (geteuid() != 0)
                skip();

        test_write_file(path_in(f, "secret"), 0640, "s3cr3t-s3cr3t\n");
        assert_int_equal(safe_file_read(path_in(f, "secret"), SECRET, SAFE_FILE_SECRET_MAX, &sf, f->reason), 0);
        assert_string_equal(sf.data, "s3cr3t-s3cr3t\n");
        safe_file_done(&sf);

        assert_int_equal(chmod(path_in(f, "secret"), 0644), 0);
        assert_refused(f, path_in(f, "secret"), SECRET, SAFE_FILE_SECRET_MAX, -EPERM, "holds a secret",
                       "chmod o-rwx", NULL);
        /* Like /etc/shadow: root-owned, 0640, but group shadow (here nogroup) may read it. */
        assert_int_equal(chmod(path_in(f, "secret"), 0640), 0);
        assert_int_equal(chown(path_in(f, "secret"), 0, NOBODY), 0);
        assert_refused(f, path_in(f, "secret"), SECRET, SAFE_FILE_SECRET_MAX, -EPERM, "readable by group 'nogroup'",
                       "chmod g-r", NULL);
        /* Refused for its owner and mode before its size is looked at. */
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        test_write_file(path_in(f, "secret"), 0644, big);
        assert_refused(f, path_in(f, "secret"), SECRET, SAFE_FILE_SECRET_MAX, -EPERM, "holds a secret", NULL);
        assert_int_equal(chmod(path_in(f, "secret"), 0600), 0);
        assert_refused(f, path_in(f, "secret"), SECRET, SAFE_FILE_SECRET_MAX, -EINVAL, "larger than", NULL);
}

static void test_directories(void **state) {
        Fixture *f = *state;
        char fix[256];

        assert_int_equal(mkdir(path_in(f, "acl.d"), 0755), 0);
        assert_int_equal(safe_dir_check(path_in(f, "acl.d"), TRUSTED, f->reason), 0);
        assert_int_equal(safe_dir_check(path_in(f, "none.d"), TRUSTED, f->reason), -ENOENT);

        test_write_file(path_in(f, "file.d"), 0644, "");
        assert_int_equal(safe_dir_check(path_in(f, "file.d"), TRUSTED, f->reason), -EINVAL);
        assert_non_null(strstr(f->reason, "not a directory"));

        if (geteuid() != 0)
                skip();
        assert_int_equal(chmod(path_in(f, "acl.d"), 0777), 0);
        assert_int_equal(safe_dir_check(path_in(f, "acl.d"), TRUSTED, f->reason), -EPERM);
        (void) snprintf(fix, sizeof(fix), "run: chmod o-w %s", path_in(f, "acl.d"));
        assert_non_null(strstr(f->reason, fix));
        /* devices/ is 2770 root:iotpub: the daemon's group may write it, another group may not. */
        assert_int_equal(chmod(path_in(f, "acl.d"), 02770), 0);
        assert_int_equal(safe_dir_check(path_in(f, "acl.d"), TRUSTED | SAFE_FILE_DAEMON, f->reason), 0);
        assert_int_equal(chown(path_in(f, "acl.d"), 0, NOBODY), 0);
        assert_int_equal(safe_dir_check(path_in(f, "acl.d"), TRUSTED | SAFE_FILE_DAEMON, f->reason), -EPERM);
        assert_non_null(strstr(f->reason, "writable by group 'nogroup'"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_regular_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_special_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_size_and_contents, setup, teardown),
                cmocka_unit_test_setup_teardown(test_writable_by_others, setup, teardown),
                cmocka_unit_test_setup_teardown(test_secret_modes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_directories, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

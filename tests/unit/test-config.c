/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for config.c: defaults, valid files, and malformed files refused with -EINVAL without touching
 * the configuration they were loaded into. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../daemon/config.h"
#include "macro.h"
#include "test-util.h"

#define USEC_PER_SEC 1000000ULL

typedef struct Fixture {
        char dir[64];
        char path[96];
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        test_mkdtemp(f->dir, sizeof(f->dir), "config");
        (void) snprintf(f->path, sizeof(f->path), "%s/iotpubd.conf", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        (void) unlink(f->path);
        assert_int_equal(rmdir(f->dir), 0);
        free(f);
        return 0;
}

static void write_conf(const Fixture *f, const char *content) {
        test_write_file(f->path, 0644, content);
}

/* Values that differ from every default, to tell "unchanged" from "reset". */
static Config sentinel(void) {
        return (Config) {
                .max_queue_messages = 7,
                .max_queue_bytes = 7777,
                .backoff_min_usec = 7 * USEC_PER_SEC,
                .backoff_max_usec = 77 * USEC_PER_SEC,
        };
}

static void assert_config_equal(const Config *a, const Config *b) {
        assert_int_equal(a->max_queue_messages, b->max_queue_messages);
        assert_int_equal(a->max_queue_bytes, b->max_queue_bytes);
        assert_int_equal(a->backoff_min_usec, b->backoff_min_usec);
        assert_int_equal(a->backoff_max_usec, b->backoff_max_usec);
}

static void test_defaults(void **state) {
        Config c;

        memset(&c, 0xff, sizeof(c));
        config_defaults(&c);
        assert_int_equal(c.max_queue_messages, 1000000);
        assert_int_equal(c.max_queue_bytes, 256ULL * 1024 * 1024);
        assert_int_equal(c.backoff_min_usec, 1 * USEC_PER_SEC);
        assert_int_equal(c.backoff_max_usec, 300 * USEC_PER_SEC);
        assert_true(c.backoff_min_usec <= c.backoff_max_usec);
}

static void test_missing_file(void **state) {
        Fixture *f = *state;
        Config c, expected;

        config_defaults(&c);
        expected = c;
        assert_int_equal(config_load(f->path, &c), 0);
        assert_config_equal(&c, &expected);

        c = expected = sentinel();
        assert_int_equal(config_load("/nonexistent/dir/iotpubd.conf", &c), 0);
        assert_config_equal(&c, &expected);
}

static void test_full_file(void **state) {
        Fixture *f = *state;
        Config c;

        write_conf(f,
                   "# iotpubd.conf\n"
                   "; another comment\n"
                   "[Daemon]\n"
                   "MaxQueueMessages = 5000\n"
                   "MaxQueueBytes=1048576\n"
                   "BackoffMinSec=2\n"
                   "BackoffMaxSec = 60\n");
        config_defaults(&c);
        assert_int_equal(config_load(f->path, &c), 0);
        assert_int_equal(c.max_queue_messages, 5000);
        assert_int_equal(c.max_queue_bytes, 1048576);
        assert_int_equal(c.backoff_min_usec, 2 * USEC_PER_SEC);
        assert_int_equal(c.backoff_max_usec, 60 * USEC_PER_SEC);
}

static void test_partial_file_keeps_the_rest(void **state) {
        Fixture *f = *state;
        Config c, expected;

        write_conf(f, "[Daemon]\nMaxQueueMessages=12\n");
        c = expected = sentinel();
        expected.max_queue_messages = 12;
        assert_int_equal(config_load(f->path, &c), 0);
        assert_config_equal(&c, &expected);

        /* An empty file, or one with only the section, changes nothing. */
        write_conf(f, "");
        c = expected = sentinel();
        assert_int_equal(config_load(f->path, &c), 0);
        assert_config_equal(&c, &expected);
        write_conf(f, "[Daemon]\n");
        assert_int_equal(config_load(f->path, &c), 0);
        assert_config_equal(&c, &expected);
}

static void test_limits(void **state) {
        Fixture *f = *state;
        Config c;

        write_conf(f,
                   "[Daemon]\nMaxQueueMessages=4294967295\nMaxQueueBytes=9223372036854775807\n"
                   "BackoffMinSec=3600\nBackoffMaxSec=86400\n");
        config_defaults(&c);
        assert_int_equal(config_load(f->path, &c), 0);
        assert_int_equal(c.max_queue_messages, UINT32_MAX);
        assert_int_equal(c.max_queue_bytes, UINT64_MAX / 2);
        assert_int_equal(c.backoff_min_usec, 3600 * USEC_PER_SEC);
        assert_int_equal(c.backoff_max_usec, 86400 * USEC_PER_SEC);

        write_conf(f, "[Daemon]\nMaxQueueMessages=1\nMaxQueueBytes=1024\nBackoffMinSec=5\nBackoffMaxSec=5\n");
        assert_int_equal(config_load(f->path, &c), 0);
        assert_int_equal(c.max_queue_messages, 1);
        assert_int_equal(c.max_queue_bytes, 1024);
        assert_int_equal(c.backoff_min_usec, c.backoff_max_usec);
}

static void test_refused_files(void **state) {
        static const char *const bad[] = {
                "[Daemon]\nMaxQueueMessages=10\nColour=blue\n",          /* unknown key */
                "[Daemon]\nmaxqueuemessages=10\n",                       /* keys are case-sensitive */
                "[Service]\nMaxQueueMessages=10\n",                      /* wrong section */
                "MaxQueueMessages=10\n",                                 /* no section */
                "[Daemon]\nMaxQueueMessages\n",                          /* no '=' */
                "[Daemon]\nMaxQueueMessages=ten\n",
                "[Daemon]\nMaxQueueMessages=10k\n",
                "[Daemon]\nMaxQueueMessages=-1\n",
                "[Daemon]\nMaxQueueMessages=+1\n",
                "[Daemon]\nMaxQueueMessages=\n",
                "[Daemon]\nMaxQueueMessages=0\n",                        /* below the minimum */
                "[Daemon]\nMaxQueueMessages=4294967296\n",               /* above the maximum */
                "[Daemon]\nMaxQueueBytes=1023\n",
                "[Daemon]\nMaxQueueBytes=99999999999999999999999\n",     /* overflows */
                "[Daemon]\nBackoffMinSec=0\n",
                "[Daemon]\nBackoffMinSec=1.5\n",
                "[Daemon]\nBackoffMaxSec=86401\n",
                "[Daemon]\nBackoffMinSec=10\nBackoffMaxSec=5\n",         /* min > max */
                "[Daemon]\nBackoffMinSec=600\n",                         /* min > the max already in c */
                "[Daemon]\nMaxQueueMessages=10\nMaxQueueBytes=2048\nBackoffMinSec=2\nBackoffMaxSec=x\n",
        };
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Config c = sentinel(), expected = sentinel();

                write_conf(f, bad[i]);
                assert_int_equal(config_load(f->path, &c), -EINVAL);
                /* Valid keys before the bad line must not have leaked into c either. */
                assert_config_equal(&c, &expected);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_full_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_partial_file_keeps_the_rest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused_files, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

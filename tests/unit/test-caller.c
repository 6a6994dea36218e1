/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for caller.c: the systemd unit of a cgroup path, group membership and the mapping to an
 * AclCaller. caller_from_message() needs a real bus message and is covered by the integration tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "../../daemon/caller.h"
#include "macro.h"

static void test_unit_from_cgroup(void **state) {
        static const struct {
                const char *cgroup;
                const char *unit;
        } cases[] = {
                { "/system.slice/envsensor.service", "envsensor.service" },
                { "/system.slice/envsensor.service/", "envsensor.service" },
                { "/system.slice/system-getty.slice/getty@tty1.service", "getty@tty1.service" },
                { "/system.slice/run-u42.service", "run-u42.service" },
                { "/system.slice/iotpub.socket", "iotpub.socket" },
                { "/system.slice/srv-data.mount", "srv-data.mount" },
                { "/system.slice/dev-sda2.swap", "dev-sda2.swap" },
                /* Below the unit, a delegated subtree may name cgroups anything: the first unit decides. */
                { "/system.slice/foo.service/worker/envsensor.service", "foo.service" },
                { "/system.slice/foo.service/envsensor.service", "foo.service" },
                /* User services are attributed to the user manager, never to the user's own unit names. */
                { "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service",
                  "user@1000.service" },
                { "/user.slice/user-1000.slice/user@1000.service/app.slice/envsensor.service",
                  "user@1000.service" },
                { "/user.slice/user-1000.slice/user@1000.service/init.scope", "user@1000.service" },
                { "/user.slice/user-1000.slice/session-2.scope", "session-2.scope" },
                { "/machine.slice/machine-web.scope/payload/system.slice/envsensor.service",
                  "machine-web.scope" },
                /* PID 1. */
                { "/init.scope", "init.scope" },
        };
        static const char *const none[] = {
                "",
                "/",
                "/system.slice",
                "/system.slice/",
                "/user.slice",
                "/user.slice/user-1000.slice",
                "/system.slice/system-getty.slice",
                "/system.slice/.service",
                "/system.slice/.scope",
                "/system.slice/multi-user.target",
                "/system.slice/envsensor.servicex",
                "/system.slice/envsensor.service.d",
                "/system.slice/envsensor_service",
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *unit = NULL;
                int r;

                r = caller_unit_from_cgroup(cases[i].cgroup, &unit);
                if (r != 0)
                        fail_msg("\"%s\": %d, expected \"%s\"", cases[i].cgroup, r, cases[i].unit);
                assert_string_equal(unit, cases[i].unit);
        }
        for (size_t i = 0; i < ELEMENTSOF(none); i++) {
                char *unit = (char *) "untouched";
                int r;

                r = caller_unit_from_cgroup(none[i], &unit);
                if (r != -ENOENT)
                        fail_msg("\"%s\": %d (\"%s\"), expected -ENOENT", none[i], r, r == 0 ? unit : "");
                assert_string_equal(unit, "untouched");
        }
}

static void test_in_group(void **state) {
        gid_t gids[] = { 1000, 27, 100 };
        const Caller c = { .uid = 1000, .gids = gids, .n_gids = ELEMENTSOF(gids) };
        const Caller primary_only = { .uid = 1000, .gids = gids, .n_gids = 1 };
        const Caller none = { .uid = 1000 };

        (void) state;
        assert_true(caller_in_group(&c, 1000)); /* primary */
        assert_true(caller_in_group(&c, 27));   /* supplementary */
        assert_true(caller_in_group(&c, 100));
        assert_false(caller_in_group(&c, 0));
        assert_false(caller_in_group(&c, 1001));
        assert_false(caller_in_group(&c, 28));
        /* Only the first n_gids count. */
        assert_true(caller_in_group(&primary_only, 1000));
        assert_false(caller_in_group(&primary_only, 27));
        assert_false(caller_in_group(&none, 0));
        assert_false(caller_in_group(&none, 1000));
}

static void test_to_acl(void **state) {
        Caller c = { .uid = 1234 };
        AclCaller a;

        (void) state;
        c.user = strdup("alice");
        c.unit = strdup("envsensor.service");
        c.gids = calloc(2, sizeof(gid_t));
        assert_non_null(c.user);
        assert_non_null(c.unit);
        assert_non_null(c.gids);
        c.gids[0] = 1234;
        c.gids[1] = 27;
        c.n_gids = 2;

        /* Borrowed, not copied: valid as long as the Caller is. */
        a = caller_to_acl(&c);
        assert_int_equal(a.uid, 1234);
        assert_true(a.user == c.user);
        assert_true(a.unit == c.unit);
        assert_true(a.gids == c.gids);
        assert_int_equal(a.n_gids, 2);
        assert_int_equal(a.gids[1], 27);

        caller_done(&c);
        assert_null(c.user);
        assert_null(c.unit);
        assert_null(c.gids);
        assert_int_equal(c.n_gids, 0);
        assert_int_equal(c.uid, 0);
        caller_done(&c); /* twice is harmless */

        /* Unknown name and no unit stay NULL. */
        c = (Caller) { .uid = 4321 };
        a = caller_to_acl(&c);
        assert_int_equal(a.uid, 4321);
        assert_null(a.user);
        assert_null(a.unit);
        assert_null(a.gids);
        assert_int_equal(a.n_gids, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unit_from_cgroup),
                cmocka_unit_test(test_in_group),
                cmocka_unit_test(test_to_acl),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for cloudsim's devices-file parser: comments, blank lines, field count, limits, characters
 * and duplicates, each error naming the line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "macro.h"
#include "../../tools/cloudsim/sim-devices.h"

static int parse_text(const char *text, SimDevices **ret) {
        FILE *f = fmemopen((void *) text, strlen(text), "r");
        int r;

        assert_non_null(f);
        r = sim_devices_parse(f, "test-devices", ret);
        fclose(f);
        return r;
}

static void test_devices_good(void **state) {
        SimDevices *d = NULL;
        const SimDevice *x;

        assert_int_equal(parse_text("# identities\n"
                                    "\n"
                                    "   \t\n"
                                    "a1B2c3D4e5F sensor_0042 9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234\n"
                                    "  pk2\tdev-2   s#cret   # a comment after the fields\r\n"
                                    "pk3 dev3 secret3", &d), 0);
        assert_int_equal(d->n_devices, 3);

        x = sim_devices_find(d, "a1B2c3D4e5F", "sensor_0042");
        assert_non_null(x);
        assert_string_equal(x->secret, "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234");
        x = sim_devices_find(d, "pk2", "dev-2");
        assert_non_null(x);
        assert_string_equal(x->secret, "s#cret");
        assert_non_null(sim_devices_find(d, "pk3", "dev3"));
        assert_null(sim_devices_find(d, "pk3", "dev2"));
        assert_null(sim_devices_find(d, "a1B2c3D4e5F", "sensor_004"));
        sim_devices_free(d);
}

static void test_devices_empty(void **state) {
        SimDevices *d = NULL;

        assert_int_equal(parse_text("", &d), 0);
        assert_int_equal(d->n_devices, 0);
        sim_devices_free(d);
        assert_int_equal(parse_text("# nothing\n\n", &d), 0);
        assert_int_equal(d->n_devices, 0);
        sim_devices_free(d);
}

static void assert_bad(const char *text) {
        SimDevices *d = NULL;

        assert_int_equal(parse_text(text, &d), -EINVAL);
        assert_null(d);
}

static void test_devices_malformed(void **state) {
        char line[256];

        assert_bad("pk dn\n");
        assert_bad("pk\n");
        assert_bad("pk dn secret extra\n");
        assert_bad("pk dn secret\npk dn other-secret\n");      /* duplicate identity */
        assert_bad("ok dev secret\nbroken\n");
        assert_bad("pk d\x01n secret\n");
        assert_bad("pk dn s\xc3\xa9\x63ret\n");                 /* non-ASCII */

        snprintf(line, sizeof(line), "%0*d dn secret\n", SIM_DEVICE_PRODUCT_KEY_MAX + 1, 0);
        assert_bad(line);
        snprintf(line, sizeof(line), "pk %0*d secret\n", SIM_DEVICE_NAME_MAX + 1, 0);
        assert_bad(line);
        snprintf(line, sizeof(line), "pk dn %0*d\n", SIM_DEVICE_SECRET_MAX + 1, 0);
        assert_bad(line);
}

static void test_devices_limits(void **state) {
        SimDevices *d = NULL;
        char line[256];

        snprintf(line, sizeof(line), "%0*d %0*d %0*d\n", SIM_DEVICE_PRODUCT_KEY_MAX, 1, SIM_DEVICE_NAME_MAX, 2,
                 SIM_DEVICE_SECRET_MAX, 3);
        assert_int_equal(parse_text(line, &d), 0);
        assert_int_equal(d->n_devices, 1);
        sim_devices_free(d);
}

static void test_devices_load_missing(void **state) {
        SimDevices *d = NULL;

        assert_int_equal(sim_devices_load("/nonexistent/devices", &d), -ENOENT);
        assert_null(d);
        assert_null(sim_devices_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_devices_good),
                cmocka_unit_test(test_devices_empty),
                cmocka_unit_test(test_devices_malformed),
                cmocka_unit_test(test_devices_limits),
                cmocka_unit_test(test_devices_load_missing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

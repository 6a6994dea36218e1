/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for topic.c: validation (UTF-8, wildcards, empty levels, length), splitting into Uri-Path
 * segments as in PROTOCOL.md A.8, and rebuilding a topic from Uri-Path segments (E.14). */
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "topic.h"

static void assert_valid(const char *topic) {
        const char *reason = "unset";

        assert_int_equal(topic_validate(topic, &reason), 0);
        assert_null(reason);
}

static void assert_invalid(const char *topic) {
        const char *reason = NULL;

        assert_int_equal(topic_validate(topic, &reason), -EINVAL);
        assert_non_null(reason);
        assert_true(strlen(reason) > 0);
        assert_int_equal(topic_validate(topic, NULL), -EINVAL);
}

static void test_topic_valid(void **state) {
        char max[TOPIC_MAX_LEN + 1];

        assert_valid("/a1B2c3D4e5F/sensor_0042/user/update");
        assert_valid("/sys/a1B2c3D4e5F/sensor_0042/thing/event/property/post");
        assert_valid("/pk/dn/user/températur");
        assert_valid("/pk/dn/user/温度");
        assert_valid("/pk/dn/user/\xf0\x9f\x8c\xa1");  /* U+1F321, 4-byte sequence */
        assert_valid("/a");
        assert_valid("/a-b_c.d:e@f");
        /* Dots inside a level are ordinary characters; only whole "." and ".." levels are refused. */
        assert_valid("/pk/dn/user/...");
        assert_valid("/pk/dn/user/.hidden");
        assert_valid("/pk/dn/user/v1..2");
        assert_valid("/pk/dn/user/..x");

        memset(max, 'a', TOPIC_MAX_LEN);
        max[0] = '/';
        max[TOPIC_MAX_LEN] = 0;
        assert_valid(max);
}

static void test_topic_invalid(void **state) {
        char long_topic[TOPIC_MAX_LEN + 2];

        assert_invalid(NULL);
        assert_invalid("");
        assert_invalid("/");
        assert_invalid("a1B2c3D4e5F/sensor_0042/user/update");
        assert_invalid("/a1B2c3D4e5F//user/update");
        assert_invalid("//a1B2c3D4e5F/user/update");
        assert_invalid("/a1B2c3D4e5F/sensor_0042/user/update/");
        assert_invalid("/pk/dn/user/+");
        assert_invalid("/pk/dn/user/#");
        assert_invalid("/pk/dn/+/update");
        assert_invalid("/pk/dn/user/update?x=1");
        assert_invalid("/pk/dn/user/up date");
        assert_invalid("/pk/dn/user/\tupdate");
        assert_invalid("/pk/dn/user/up\ndate");
        assert_invalid("/pk/dn/user/\x7f");
        assert_invalid("/pk/dn/user/\xc2\x85");       /* U+0085, a C1 control */

        /* "." and ".." levels: URL normalisation would turn them into another topic (issue 10, item 1). */
        assert_invalid("/pk/dn/user/app1/../../../../sys/pk/dn/thing/event/property/post");
        assert_invalid("/pk/dn/user/app1/../app2/x");
        assert_invalid("/pk/dn/user/./x");
        assert_invalid("/pk/dn/user/..");
        assert_invalid("/pk/dn/user/.");
        assert_invalid("/./pk/dn");
        assert_invalid("/../pk/dn");
        assert_invalid("/..");
        assert_invalid("/.");

        /* Invalid UTF-8. */
        assert_invalid("/pk/dn/user/\xc3\x28");       /* bad continuation */
        assert_invalid("/pk/dn/user/\xc0\xaf");       /* overlong '/' */
        assert_invalid("/pk/dn/user/\xe0\x80\xaf");   /* overlong, 3 bytes */
        assert_invalid("/pk/dn/user/\xf0\x80\x80\xaf"); /* overlong, 4 bytes */
        assert_invalid("/pk/dn/user/\xed\xa0\x80");   /* surrogate U+D800 */
        assert_invalid("/pk/dn/user/\xf4\x90\x80\x80"); /* beyond U+10FFFF */
        assert_invalid("/pk/dn/user/\xff");
        assert_invalid("/pk/dn/user/\x80");           /* stray continuation byte */
        assert_invalid("/pk/dn/user/\xe6\xb8");       /* truncated at the end */

        memset(long_topic, 'a', TOPIC_MAX_LEN + 1);
        long_topic[0] = '/';
        long_topic[TOPIC_MAX_LEN + 1] = 0;
        assert_invalid(long_topic);
}

static void check_split(const char *path, const char *const *expected, size_t n_expected) {
        char **segments = NULL;
        size_t n = 99;

        assert_int_equal(topic_split(path, &segments, &n), 0);
        assert_int_equal(n, n_expected);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(segments[i], expected[i]);
        assert_null(segments[n]);
        segments = topic_segments_free(segments);
        assert_null(segments);
}

static void test_topic_split(void **state) {
        static const char *const a[] = { "topic", "a", "b" };
        static const char *const b[] = { "a1B2c3D4e5F", "sensor_0042", "user", "update" };
        static const char *const c[] = { "pk", "dn", "user", "températur" };

        check_split("/topic//a/b/", a, 3);
        check_split("topic/a/b", a, 3);
        check_split("///topic/a///b", a, 3);
        check_split("a1B2c3D4e5F/sensor_0042/user/update", b, 4);
        check_split("/a1B2c3D4e5F/sensor_0042/user/update", b, 4);
        check_split("/pk/dn/user/températur", c, 4);
        check_split("", NULL, 0);
        check_split("///", NULL, 0);

        assert_null(topic_segments_free(NULL));
}

static void test_topic_from_uri_path(void **state) {
        static const char *const ok[] = { "topic", "a1B2c3D4e5F", "sensor_0042", "user", "update" };
        static const char *const not_topic[] = { "auth", "x" };
        static const char *const only_topic[] = { "topic" };
        _cleanup_free_ char *t = NULL;
        char *bad = NULL;

        assert_int_equal(topic_from_uri_path(ok, ELEMENTSOF(ok), &t), 0);
        assert_string_equal(t, "/a1B2c3D4e5F/sensor_0042/user/update");

        assert_int_equal(topic_from_uri_path(not_topic, ELEMENTSOF(not_topic), &bad), -ENOENT);
        assert_int_equal(topic_from_uri_path(only_topic, ELEMENTSOF(only_topic), &bad), -ENOENT);
        assert_int_equal(topic_from_uri_path(NULL, 0, &bad), -ENOENT);
        assert_null(bad);
}

static void test_topic_round_trip(void **state) {
        static const char topic[] = "/sys/a1B2c3D4e5F/sensor_0042/thing/event/property/post";
        _cleanup_free_ char *path = NULL, *back = NULL;
        char **segments = NULL;
        size_t n;

        assert_int_equal(asprintf(&path, "/topic%s", topic) > 0, 1);
        assert_int_equal(topic_split(path, &segments, &n), 0);
        assert_int_equal(n, 8);
        assert_int_equal(topic_from_uri_path((const char *const *) segments, n, &back), 0);
        assert_string_equal(back, topic);
        topic_segments_free(segments);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_topic_valid),
                cmocka_unit_test(test_topic_invalid),
                cmocka_unit_test(test_topic_split),
                cmocka_unit_test(test_topic_from_uri_path),
                cmocka_unit_test(test_topic_round_trip),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

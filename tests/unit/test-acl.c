/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for acl.c: rule files in a temp configuration directory (acl.conf, then acl.d/ *.conf in name
 * order), every malformed rule refused with its "FILE:LINE", topic pattern validation, substitution,
 * matching, and the first-match decision with root always allowed and default deny. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "../../daemon/acl.h"
#include "log.h"
#include "macro.h"
#include "test-util.h"

#define NO_SUCH_USER "iotpub-test-no-such-user"
#define NO_SUCH_GROUP "iotpub-test-no-such-group"

#define MAX_SEEN 32

/* Problems handed to the callback, and error messages handed to the log capture, as "LOCATION|PROBLEM"
 * and "MESSAGE". */
typedef struct Seen {
        char *items[MAX_SEEN];
        size_t n;
} Seen;

typedef struct Fixture {
        char dir[64];
        Seen problems;
        Seen logged;
} Fixture;

static void seen_clear(Seen *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->items[i]);
        *s = (Seen) {};
}

static void seen_add(Seen *s, const char *text) {
        assert_true(s->n < MAX_SEEN);
        s->items[s->n] = strdup(text);
        assert_non_null(s->items[s->n]);
        s->n++;
}

static void on_problem(void *userdata, const char *location, const char *problem) {
        _cleanup_free_ char *s = NULL;

        assert_non_null(location);
        assert_non_null(problem);
        assert_true(asprintf(&s, "%s|%s", location, problem) >= 0);
        seen_add(userdata, s);
}

static void on_log(void *userdata, const char *message) {
        seen_add(userdata, message);
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        test_mkdtemp(f->dir, sizeof(f->dir), "acl");
        /* Error messages are checked through the capture; keep them off stderr. */
        log_set_max_level(LOG_CRIT);
        log_set_capture(on_log, &f->logged);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        log_set_capture(NULL, NULL);
        seen_clear(&f->problems);
        seen_clear(&f->logged);
        test_rm_rf(f->dir);
        free(f);
        return 0;
}

/* Writes NAME (relative to the configuration directory; "acl.d/..." creates acl.d). */
static void write_file(const Fixture *f, const char *name, const char *content) {
        char path[256];

        if (startswith(name, "acl.d/")) {
                (void) snprintf(path, sizeof(path), "%s/acl.d", f->dir);
                assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
        }
        (void) snprintf(path, sizeof(path), "%s/%s", f->dir, name);
        test_write_file(path, 0644, content);
}

static void remove_file(const Fixture *f, const char *name) {
        char path[256];

        (void) snprintf(path, sizeof(path), "%s/%s", f->dir, name);
        (void) unlink(path);
}

/* "DIR/NAME:LINE" in buf. */
static const char *loc(const Fixture *f, const char *name, unsigned line, char *buf, size_t size) {
        (void) snprintf(buf, size, "%s/%s:%u", f->dir, name, line);
        return buf;
}

static Acl *load_ok(Fixture *f) {
        Acl *acl = NULL;

        assert_int_equal(acl_load(f->dir, NULL, NULL, &acl), 0);
        assert_non_null(acl);
        assert_int_equal(f->logged.n, 0);
        return acl;
}

static void assert_rule(const Acl *acl, size_t i, const char *text, const Fixture *f, const char *name,
                        unsigned line) {
        char buf[256];

        assert_true(i < acl->n_rules);
        assert_string_equal(acl->rules[i].text, text);
        assert_string_equal(acl->rules[i].location, loc(f, name, line, buf, sizeof(buf)));
}

static void test_no_files(void **state) {
        Fixture *f = *state;
        _cleanup_(acl_freep) Acl *acl = NULL;
        char path[128];

        /* Neither acl.conf nor acl.d: no rules. */
        acl = load_ok(f);
        assert_int_equal(acl->n_rules, 0);
        acl = acl_free(acl);

        /* An empty acl.d and an acl.conf with only comments and blanks: still no rules. */
        (void) snprintf(path, sizeof(path), "%s/acl.d", f->dir);
        assert_int_equal(mkdir(path, 0755), 0);
        write_file(f, "acl.conf", "# nothing here\n\n   \n\t# indented comment\n");
        acl = load_ok(f);
        assert_int_equal(acl->n_rules, 0);
}

static void test_files_in_name_order(void **state) {
        Fixture *f = *state;
        _cleanup_(acl_freep) Acl *acl = NULL;
        char path[128];

        write_file(f, "acl.conf",
                   "# access rules\n"
                   "   # an indented comment\n"
                   "\n"
                   "allow user:0 * /a\n"
                   "\t \n"
                   "   deny  *\tsensor   #\n");
        write_file(f, "acl.d/20-y.conf", "allow * * /y\n");
        write_file(f, "acl.d/10-x.conf", "allow * * /x1\r\n\r\nallow * * /x2"); /* CRLF, no final newline */
        write_file(f, "acl.d/9-z.conf", "allow * * /z\n");                     /* "9" sorts after "20" */
        write_file(f, "acl.d/15-empty.conf", "");
        /* Not *.conf, or hidden: never read (each would be refused if it were). */
        write_file(f, "acl.d/README", "bogus\n");
        write_file(f, "acl.d/30-old.conf.disabled", "bogus\n");
        write_file(f, "acl.d/30-old.conf~", "bogus\n");
        write_file(f, "acl.d/.hidden.conf", "bogus\n");
        write_file(f, "acl.d/.conf", "bogus\n");
        write_file(f, "acl.d/conf", "bogus\n");
        write_file(f, "acl.d/x.CONF", "bogus\n");
        /* Other directories are not looked at either. */
        (void) snprintf(path, sizeof(path), "%s/acl.d.bak", f->dir);
        assert_int_equal(mkdir(path, 0755), 0);
        write_file(f, "acl.d.bak/10-x.conf", "bogus\n");
        write_file(f, "other.conf", "bogus\n");

        acl = load_ok(f);
        assert_int_equal(acl->n_rules, 6);
        /* A line is a comment only when it starts with '#': "deny * sensor #" is a rule. Whitespace
         * between fields is normalised in the text. */
        assert_rule(acl, 0, "allow user:0 * /a", f, "acl.conf", 4);
        assert_rule(acl, 1, "deny * sensor #", f, "acl.conf", 6);
        assert_rule(acl, 2, "allow * * /x1", f, "acl.d/10-x.conf", 1);
        assert_rule(acl, 3, "allow * * /x2", f, "acl.d/10-x.conf", 3);
        assert_rule(acl, 4, "allow * * /y", f, "acl.d/20-y.conf", 1);
        assert_rule(acl, 5, "allow * * /z", f, "acl.d/9-z.conf", 1);
        assert_string_equal(acl->rules[1].topic, "#");
        assert_string_equal(acl->rules[1].device, "sensor");
        assert_int_equal(acl->rules[1].action, ACL_DENY);
        assert_int_equal(acl->rules[1].who, ACL_WHO_ANYONE);
        assert_string_equal(acl->rules[3].topic, "/x2");

        /* acl.d alone, without acl.conf. */
        acl = acl_free(acl);
        remove_file(f, "acl.conf");
        acl = load_ok(f);
        assert_int_equal(acl->n_rules, 4);
        assert_rule(acl, 0, "allow * * /x1", f, "acl.d/10-x.conf", 1);
}

static void test_who_and_device(void **state) {
        Fixture *f = *state;
        _cleanup_(acl_freep) Acl *acl = NULL;
        struct passwd *pw;
        struct group *gr;

        write_file(f, "acl.conf",
                   "allow user:0 * /a\n"
                   "allow user:root * /a\n"
                   "allow user:4242 sensor /a\n"
                   "allow user:4294967294 * /a\n"
                   "allow group:0 * /a\n"
                   "allow group:root * /a\n"
                   "allow group:4343 * /a\n"
                   "allow unit:envsensor.service * /a\n"
                   "allow unit:user@1000.service * /a\n"
                   "deny * sensor_0042 /${ProductKey}/${DeviceName}/user/#\n"
                   "allow user:daemon * /a\n"
                   "allow group:daemon * /a\n");
        acl = load_ok(f);
        assert_int_equal(acl->n_rules, 12);

        assert_int_equal(acl->rules[0].who, ACL_WHO_USER);
        assert_int_equal(acl->rules[0].uid, 0);
        assert_null(acl->rules[0].device);
        assert_int_equal(acl->rules[0].action, ACL_ALLOW);
        assert_int_equal(acl->rules[1].who, ACL_WHO_USER);
        assert_int_equal(acl->rules[1].uid, 0);
        assert_string_equal(acl->rules[1].text, "allow user:root * /a");
        assert_int_equal(acl->rules[2].who, ACL_WHO_USER);
        assert_int_equal(acl->rules[2].uid, 4242); /* a uid need not exist */
        assert_string_equal(acl->rules[2].device, "sensor");
        assert_int_equal(acl->rules[3].uid, 4294967294U);

        assert_int_equal(acl->rules[4].who, ACL_WHO_GROUP);
        assert_int_equal(acl->rules[4].gid, 0);
        assert_int_equal(acl->rules[5].who, ACL_WHO_GROUP);
        assert_int_equal(acl->rules[5].gid, 0);
        assert_int_equal(acl->rules[6].who, ACL_WHO_GROUP);
        assert_int_equal(acl->rules[6].gid, 4343);

        assert_int_equal(acl->rules[7].who, ACL_WHO_UNIT);
        assert_string_equal(acl->rules[7].unit, "envsensor.service");
        assert_int_equal(acl->rules[8].who, ACL_WHO_UNIT);
        assert_string_equal(acl->rules[8].unit, "user@1000.service");

        assert_int_equal(acl->rules[9].who, ACL_WHO_ANYONE);
        assert_int_equal(acl->rules[9].action, ACL_DENY);
        assert_string_equal(acl->rules[9].device, "sensor_0042");
        /* The pattern is stored as written; substitution happens per decision. */
        assert_string_equal(acl->rules[9].topic, "/${ProductKey}/${DeviceName}/user/#");

        pw = getpwnam("daemon");
        assert_non_null(pw);
        assert_int_equal(acl->rules[10].uid, pw->pw_uid);
        gr = getgrnam("daemon");
        assert_non_null(gr);
        assert_int_equal(acl->rules[11].gid, gr->gr_gid);
}

typedef struct BadRule {
        const char *line;
        const char *reason; /* a part of the reported problem */
} BadRule;

static const BadRule bad_rules[] = {
        /* Field count. */
        { "allow", "four fields" },
        { "allow * *", "four fields" },
        { "allow * * /a extra", "four fields" },
        { "allow * * /a # a trailing comment is not a comment", "four fields" },
        { "allow * * /a b", "four fields" },
        /* Action. */
        { "permit * * /a", "'allow' or 'deny'" },
        { "Allow * * /a", "'allow' or 'deny'" },
        { "allowed * * /a", "'allow' or 'deny'" },
        /* WHO. */
        { "allow user:" NO_SUCH_USER " * /a", "unknown user" },
        { "allow user: * /a", "unknown user" },
        { "allow user:-1 * /a", "unknown user" },
        { "allow user:4294967295 * /a", "unknown user" },
        { "allow user:99999999999999999999 * /a", "unknown user" },
        { "allow group:" NO_SUCH_GROUP " * /a", "unknown group" },
        { "allow group: * /a", "unknown group" },
        { "allow unit:envsensor * /a", "unit name" },
        { "allow unit:.service * /a", "unit name" },
        { "allow unit:envsensor. * /a", "unit name" },
        { "allow unit:foo/bar.service * /a", "unit name" },
        { "allow unit:foo$bar.service * /a", "unit name" },
        { "allow unit: * /a", "unit name" },
        { "allow alice * /a", "WHO" },
        { "allow uid:0 * /a", "WHO" },
        { "allow ** * /a", "WHO" },
        /* A field too long for the parser must not spill into the next one. */
        { "allow * sensor_0042_sensor_0042_sensor_0042_sensor_0042_sensor_0042_sensor_0042_sensor_0042/a",
          "too long" },
        /* Topic patterns. */
        { "allow * * a/b", "starts with '/'" },
        { "allow * * ##", "starts with '/'" },
        { "allow * * +", "starts with '/'" },
        { "allow * * ${ProductKey}/a", "starts with '/'" },
        { "allow * * /", "empty segments" },
        { "allow * * /a//b", "empty segments" },
        { "allow * * //a", "empty segments" },
        { "allow * * /a/", "empty segments" },
        { "allow * * /a+", "whole segment" },
        { "allow * * /+a", "whole segment" },
        { "allow * * /a/b+c", "whole segment" },
        { "allow * * /a#", "whole segment" },
        { "allow * * /#a", "whole segment" },
        { "allow * * /++", "whole segment" },
        { "allow * * /${user}+", "whole segment" },
        { "allow * * /#/a", "last segment" },
        { "allow * * /a/#/b", "last segment" },
        { "allow * * /${Foo}/a", "unknown variable" },
        { "allow * * /${productkey}", "unknown variable" },
        { "allow * * /${user", "unknown variable" },
        { "allow * * /${}", "unknown variable" },
        { "allow * * /a$", "unknown variable" },
        { "allow * * /a?b", "'?'" },
        { "allow * * /?", "'?'" },
};

/* LINE, as line 2 of NAME after a good rule, is refused: without a callback it is logged once as
 * "FILE:2: reason", with one it is reported there, and either way nothing is loaded. */
static void assert_refused(Fixture *f, const char *name, const char *line, const char *reason) {
        _cleanup_free_ char *content = NULL;
        char buf[256], expect[512];
        Acl *acl = NULL;
        int r;

        assert_true(asprintf(&content, "allow * * /ok\n%s\n", line) >= 0);
        remove_file(f, "acl.conf");
        remove_file(f, "acl.d/10-x.conf");
        write_file(f, name, content);

        seen_clear(&f->logged);
        r = acl_load(f->dir, NULL, NULL, &acl);
        if (r != -EINVAL)
                fail_msg("%s: \"%s\": acl_load() = %d, expected -EINVAL", name, line, r);
        assert_null(acl);
        assert_int_equal(f->logged.n, 1);
        (void) snprintf(expect, sizeof(expect), "%s: ", loc(f, name, 2, buf, sizeof(buf)));
        if (!startswith(f->logged.items[0], expect) || !strstr(f->logged.items[0], reason))
                fail_msg("\"%s\": logged \"%s\", expected \"%s...%s...\"", line, f->logged.items[0], expect,
                         reason);

        seen_clear(&f->problems);
        assert_int_equal(acl_load(f->dir, on_problem, &f->problems, &acl), -EINVAL);
        assert_null(acl);
        assert_int_equal(f->problems.n, 1);
        (void) snprintf(expect, sizeof(expect), "%s|", loc(f, name, 2, buf, sizeof(buf)));
        if (!startswith(f->problems.items[0], expect) || !strstr(f->problems.items[0], reason))
                fail_msg("\"%s\": reported \"%s\", expected \"%s...%s...\"", line, f->problems.items[0],
                         expect, reason);
}

static void test_malformed(void **state) {
        Fixture *f = *state;
        static const char *const files[] = { "acl.conf", "acl.d/10-x.conf" };
        char name[400], topic[400], line[512];

        assert_null(getpwnam(NO_SUCH_USER));
        assert_null(getgrnam(NO_SUCH_GROUP));

        for (size_t i = 0; i < ELEMENTSOF(bad_rules); i++)
                for (size_t j = 0; j < ELEMENTSOF(files); j++)
                        assert_refused(f, files[j], bad_rules[i].line, bad_rules[i].reason);

        /* A line of three whose device word is longer than the parser reads at once: not split into a
         * device "ddd..." and a topic "/a". */
        memset(name, 'd', 79);
        (void) snprintf(name + 79, sizeof(name) - 79, "/a");
        (void) snprintf(line, sizeof(line), "allow * %s", name);
        assert_refused(f, "acl.conf", line, "too long");
        /* Overlong fields in a line of four: refused as too long, not as a line of five fields. */
        memset(name, 'd', 100);
        name[100] = 0;
        (void) snprintf(line, sizeof(line), "allow * %s /a", name);
        assert_refused(f, "acl.conf", line, "too long");
        topic[0] = '/';
        memset(topic + 1, 't', 320);
        topic[321] = 0;
        (void) snprintf(line, sizeof(line), "allow * * %s", topic);
        assert_refused(f, "acl.conf", line, "too long");
        memset(name, 'u', 310);
        name[310] = 0;
        (void) snprintf(line, sizeof(line), "allow user:%s * /a", name);
        assert_refused(f, "acl.conf", line, "too long");
        assert_refused(f, "acl.conf", "allowallowallowallow * * /a", "too long");
}

static void test_every_problem_reported(void **state) {
        Fixture *f = *state;
        Acl *acl = NULL;
        char buf[256];
        static const struct {
                const char *name;
                unsigned line;
                const char *reason;
        } expected[] = {
                { "acl.conf", 2, "'allow' or 'deny'" },
                { "acl.conf", 4, "unknown user" },
                { "acl.conf", 5, "last segment" },
                { "acl.d/10-x.conf", 2, "four fields" },
                { "acl.d/20-y.conf", 1, "unknown group" },
                { "acl.d/20-y.conf", 3, "unknown variable" },
        };

        write_file(f, "acl.conf",
                   "allow * * /ok\n"
                   "bogus * * /a\n"
                   "# allow * * /a//b is a comment\n"
                   "allow user:" NO_SUCH_USER " * /a\n"
                   "allow * * /a/#/b\n"
                   "allow * * /fine\n");
        write_file(f, "acl.d/10-x.conf", "\nallow * *\nallow * * /fine\n");
        write_file(f, "acl.d/20-y.conf",
                   "deny group:" NO_SUCH_GROUP " * /a\n"
                   "allow user:0 * /fine\n"
                   "allow * * /${Nope}\n");

        assert_int_equal(acl_load(f->dir, on_problem, &f->problems, &acl), -EINVAL);
        assert_null(acl);
        assert_int_equal(f->problems.n, ELEMENTSOF(expected));
        assert_int_equal(f->logged.n, ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                const char *l = loc(f, expected[i].name, expected[i].line, buf, sizeof(buf));
                const char *rest;

                rest = startswith(f->problems.items[i], l);
                assert_non_null(rest);
                assert_non_null(startswith(rest, "|"));
                assert_non_null(strstr(rest, expected[i].reason));
                rest = startswith(f->logged.items[i], l);
                assert_non_null(rest);
                assert_non_null(startswith(rest, ": "));
                assert_non_null(strstr(rest, expected[i].reason));
        }

        /* Without a callback the load stops at the first problem. */
        seen_clear(&f->logged);
        assert_int_equal(acl_load(f->dir, NULL, NULL, &acl), -EINVAL);
        assert_null(acl);
        assert_int_equal(f->logged.n, 1);
        assert_non_null(startswith(f->logged.items[0], loc(f, "acl.conf", 2, buf, sizeof(buf))));

        /* Once fixed, everything loads and nothing is reported. */
        write_file(f, "acl.conf", "allow * * /ok\n");
        write_file(f, "acl.d/10-x.conf", "allow * * /fine\n");
        write_file(f, "acl.d/20-y.conf", "allow user:0 * /fine\n");
        seen_clear(&f->problems);
        seen_clear(&f->logged);
        assert_int_equal(acl_load(f->dir, on_problem, &f->problems, &acl), 0);
        assert_non_null(acl);
        assert_int_equal(acl->n_rules, 3);
        assert_int_equal(f->problems.n, 0);
        acl_free(acl);
}

static void test_pattern_validate(void **state) {
        static const char *const valid[] = {
                "#",
                "/a",
                "/a/b",
                "/+",
                "/#",
                "/a/#",
                "/+/+/user/update",
                "/+/#",
                "/a1B2c3D4e5F/sensor_0042/user/update",
                "/${ProductKey}/${DeviceName}/user/#",
                "/sys/${ProductKey}/${DeviceName}/thing/event/property/post",
                "/home/${user}",
                "/x-${user}-y/${DeviceName}${ProductKey}",
                "/a_b-c.d:e@f",
        };
        static const char *const invalid[] = {
                "",       "a",        "a/b",    "+",     "##",      "#/a",         "/",          "//",
                "/a//b",  "/a/",      "/a+",    "/+a",   "/a/b+c",  "/a#",         "/#a",        "/#/a",
                "/a/#/b", "/#/#",     "/${Foo}", "/${user", "/${}", "/${USER}",    "/a$",        "/$",
                "/a b",   "/a\tb",    "/a\nb",  "/a?b",  "/?",      "/${user}+",   "/+${user}",
        };
        const char *reason;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                reason = NULL;
                if (acl_topic_pattern_validate(valid[i], &reason) != 0)
                        fail_msg("\"%s\" refused: %s", valid[i], strempty(reason));
        }
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                reason = NULL;
                if (acl_topic_pattern_validate(invalid[i], &reason) != -EINVAL)
                        fail_msg("\"%s\" accepted", invalid[i]);
                assert_non_null(reason);
                assert_true(strlen(reason) > 0);
        }
}

static void test_topic_match(void **state) {
        static const struct {
                const char *pattern;
                const char *topic;
                bool match;
        } cases[] = {
                /* Exact. */
                { "/a", "/a", true },
                { "/a/b", "/a/b", true },
                { "/a", "/b", false },
                { "/a", "/A", false },
                { "/a", "/a/b", false },
                { "/a/b", "/a", false },
                /* No partial-segment matches. */
                { "/a", "/ab", false },
                { "/ab", "/a", false },
                { "/a/b", "/a/bc", false },
                { "/a/bc", "/a/b", false },
                { "/sensor", "/sensor_1", false },
                { "/user", "/user/x", false },
                /* '+': exactly one segment. */
                { "/+", "/a", true },
                { "/+", "/a/b", false },
                { "/+/b", "/a/b", true },
                { "/+/b", "/a/c", false },
                { "/a/+", "/a", false },
                { "/a/+", "/a/b", true },
                { "/a/+", "/a/b/c", false },
                { "/+/+/user/update", "/pk/dn/user/update", true },
                { "/+/+/user/update", "/pk/dn/x/user/update", false },
                { "/+/+/user/update", "/pk/user/update", false },
                /* '#': the rest, including nothing. */
                { "/a/#", "/a", true },
                { "/a/#", "/a/b", true },
                { "/a/#", "/a/b/c", true },
                { "/a/#", "/ab", false },
                { "/a/#", "/ab/c", false },
                { "/a/#", "/b/a", false },
                { "/a/b/#", "/a", false },
                { "/a/+/#", "/a", false },
                { "/a/+/#", "/a/b", true },
                { "/a/+/#", "/a/b/c/d", true },
                { "/#", "/a", true },
                { "/#", "/a/b/c", true },
                { "#", "/a", true },
                { "#", "/a/b/c", true },
                { "#", "/a1B2c3D4e5F/sensor_0042/user/update", true },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                if (acl_topic_match(cases[i].pattern, cases[i].topic) != cases[i].match)
                        fail_msg("\"%s\" %s \"%s\"", cases[i].pattern,
                                 cases[i].match ? "does not match" : "matches", cases[i].topic);
        }
}

static void test_substitute(void **state) {
        const AclCaller c = { .uid = 1000, .user = "alice" };
        const AclCaller anon = { .uid = 1001, .user = NULL };
        const AclTarget t = {
                .device = "sensor", .product_key = "a1B2c3D4e5F", .device_name = "sensor_0042",
        };
        AclCaller long_caller;
        char long_user[201];
        char *s = NULL;

        (void) state;
        assert_int_equal(acl_substitute("/${ProductKey}/${DeviceName}/user/${user}", &c, &t, &s), 0);
        assert_string_equal(s, "/a1B2c3D4e5F/sensor_0042/user/alice");
        s = mfree(s);

        assert_int_equal(acl_substitute("/a/b/#", &c, &t, &s), 0);
        assert_string_equal(s, "/a/b/#");
        s = mfree(s);

        assert_int_equal(acl_substitute("#", &c, &t, &s), 0);
        assert_string_equal(s, "#");
        s = mfree(s);

        /* Inside a segment, repeated, adjacent. */
        assert_int_equal(acl_substitute("/x-${user}-y/${DeviceName}${DeviceName}/${ProductKey}", &c, &t, &s),
                         0);
        assert_string_equal(s, "/x-alice-y/sensor_0042sensor_0042/a1B2c3D4e5F");
        s = mfree(s);

        /* Values longer than the pattern. */
        memset(long_user, 'u', sizeof(long_user) - 1);
        long_user[sizeof(long_user) - 1] = 0;
        long_caller = (AclCaller) { .uid = 1002, .user = long_user };
        assert_int_equal(acl_substitute("/${user}/${user}/${user}", &long_caller, &t, &s), 0);
        assert_int_equal(strlen(s), 3 * 200 + 3);
        assert_true(strncmp(s, "/uuu", 4) == 0);
        s = mfree(s);

        /* A caller without a user name: ${user} cannot be filled in, the others still can. */
        assert_int_equal(acl_substitute("/home/${user}/#", &anon, &t, &s), -ENOENT);
        assert_null(s);
        assert_int_equal(acl_substitute("/${ProductKey}/${DeviceName}/user/#", &anon, &t, &s), 0);
        assert_string_equal(s, "/a1B2c3D4e5F/sensor_0042/user/#");
        s = mfree(s);
}

/* The rules the decision tests share, by line. */
static const char decide_rules[] =
        "deny user:1001 * /pk/+/user/secret\n"                                         /* 1 */
        "allow user:1001 sensor /${ProductKey}/${DeviceName}/user/#\n"                  /* 2 */
        "allow group:2000 * /sys/${ProductKey}/${DeviceName}/thing/event/property/post\n" /* 3 */
        "allow unit:envsensor.service sensor /+/+/user/update\n"                       /* 4 */
        "allow * * /home/${user}/#\n"                                                  /* 5 */
        "deny user:1002 * #\n"                                                         /* 6 */
        "allow user:1002 * #\n"                                                        /* 7 */
        "allow user:root * /root-only\n";                                              /* 8 */

static AclTarget target(const char *device, const char *topic) {
        return (AclTarget) {
                .device = device,
                .product_key = "pk",
                .device_name = streq(device, "sensor") ? "sensor_0042" : "other_1",
                .topic = topic,
        };
}

/* acl_decide picks rule LINE (0: none), and acl_check agrees, with that rule's text and location. */
static void assert_decision(const Fixture *f, const Acl *acl, const AclCaller *c, const AclTarget *t,
                            unsigned line) {
        const AclRule *r = acl_decide(acl, c, t);
        const char *rule = NULL, *location = NULL;
        unsigned got = r ? (unsigned) (r - acl->rules) + 1 : 0;
        bool allowed;
        char buf[256];

        if (got != line)
                fail_msg("uid %u (%s, unit %s) on %s to %s: rule %u decides, expected %u", (unsigned) c->uid,
                         strempty(c->user), strempty(c->unit), t->device, t->topic, got, line);
        allowed = acl_check(acl, c, t, &rule, &location);
        if (line == 0) {
                assert_false(allowed);
                assert_string_equal(rule, "no rule matches (default deny)");
                assert_string_equal(location, "");
                return;
        }
        assert_string_equal(r->location, loc(f, "acl.conf", line, buf, sizeof(buf)));
        assert_true(rule == r->text);
        assert_true(location == r->location);
        assert_int_equal(allowed, r->action == ACL_ALLOW);
}

static void test_decide(void **state) {
        Fixture *f = *state;
        _cleanup_(acl_freep) Acl *acl = NULL;
        const gid_t alice_gids[] = { 1001 };
        const gid_t group_gids[] = { 100, 2000, 5 };
        const gid_t other_gids[] = { 100, 20000 };
        const AclCaller alice = { .uid = 1001, .user = "alice", .gids = alice_gids, .n_gids = 1 };
        const AclCaller member = { .uid = 1003, .user = "carol", .gids = group_gids, .n_gids = 3 };
        const AclCaller nonmember = { .uid = 1003, .user = "carol", .gids = other_gids, .n_gids = 2 };
        const AclCaller nogroups = { .uid = 1003, .user = "carol" };
        const AclCaller svc = { .uid = 1004, .user = "envsensor", .unit = "envsensor.service" };
        const AclCaller other_svc = { .uid = 1004, .user = "envsensor", .unit = "other.service" };
        const AclCaller no_unit = { .uid = 1004, .user = "envsensor", .unit = NULL };
        const AclCaller bob = { .uid = 1005, .user = "bob" };
        const AclCaller nameless = { .uid = 1005, .user = NULL };
        const AclCaller blocked = { .uid = 1002, .user = "mallory" };
        const AclCaller blocked_nameless = { .uid = 1002, .user = NULL };
        AclTarget t;

        write_file(f, "acl.conf", decide_rules);
        acl = load_ok(f);
        assert_int_equal(acl->n_rules, 8);

        /* First match wins: the deny on line 1 before the allow on line 2. */
        t = target("sensor", "/pk/sensor_0042/user/secret");
        assert_decision(f, acl, &alice, &t, 1);
        t = target("sensor", "/pk/sensor_0042/user/update");
        assert_decision(f, acl, &alice, &t, 2);
        t = target("sensor", "/pk/sensor_0042/user");
        assert_decision(f, acl, &alice, &t, 2);
        t = target("sensor", "/pk/sensor_0042/user/a/b/c");
        assert_decision(f, acl, &alice, &t, 2);
        /* Device "sensor" only; and ${DeviceName} is the target's, not any device's. */
        t = target("other", "/pk/other_1/user/update");
        assert_decision(f, acl, &alice, &t, 0);
        t = target("sensor", "/pk/other_1/user/update");
        assert_decision(f, acl, &alice, &t, 0);
        t = target("sensor", "/pk2/sensor_0042/user/update");
        assert_decision(f, acl, &alice, &t, 0);
        /* The deny is for uid 1001 only. */
        t = target("sensor", "/pk/sensor_0042/user/secret");
        assert_decision(f, acl, &bob, &t, 0);

        /* Group: any of the caller's gids; device '*'. */
        t = target("other", "/sys/pk/other_1/thing/event/property/post");
        assert_decision(f, acl, &member, &t, 3);
        t = target("sensor", "/sys/pk/sensor_0042/thing/event/property/post");
        assert_decision(f, acl, &member, &t, 3);
        assert_decision(f, acl, &nonmember, &t, 0);
        assert_decision(f, acl, &nogroups, &t, 0);
        t = target("sensor", "/sys/pk/other_1/thing/event/property/post");
        assert_decision(f, acl, &member, &t, 0);

        /* Unit: only that unit, on that device; a caller without a unit never matches a unit rule. */
        t = target("sensor", "/pk/sensor_0042/user/update");
        assert_decision(f, acl, &svc, &t, 4);
        assert_decision(f, acl, &other_svc, &t, 0);
        assert_decision(f, acl, &no_unit, &t, 0);
        t = target("other", "/pk/other_1/user/update");
        assert_decision(f, acl, &svc, &t, 0);
        t = target("sensor", "/pk/sensor_0042/user/update/more");
        assert_decision(f, acl, &svc, &t, 0);

        /* Anyone, with ${user}; a caller without a user name skips that rule (and only that rule). */
        t = target("other", "/home/bob/notes");
        assert_decision(f, acl, &bob, &t, 5);
        t = target("other", "/home/bob");
        assert_decision(f, acl, &bob, &t, 5);
        t = target("other", "/home/alice/notes");
        assert_decision(f, acl, &bob, &t, 0);
        t = target("other", "/home/bob/notes");
        assert_decision(f, acl, &nameless, &t, 0);
        t = target("other", "/home/mallory/x");
        assert_decision(f, acl, &blocked, &t, 5);
        t = target("other", "/home/anything/x");
        assert_decision(f, acl, &blocked_nameless, &t, 6);

        /* A deny for everything before an allow for everything. */
        t = target("sensor", "/pk/sensor_0042/user/update");
        assert_decision(f, acl, &blocked, &t, 6);
        assert_decision(f, acl, &blocked_nameless, &t, 6);
}

static void test_root_and_default(void **state) {
        Fixture *f = *state;
        _cleanup_(acl_freep) Acl *acl = NULL;
        const AclCaller root = { .uid = 0, .user = "root" };
        const AclCaller nameless_root = { .uid = 0 };
        const AclCaller user = { .uid = 1000, .user = "cloudsdk" };
        const AclTarget t = {
                .device = "sensor", .product_key = "pk", .device_name = "sensor_0042", .topic = "/a",
        };
        const char *rule = NULL, *location = NULL;
        char buf[256];

        /* No rules at all (and no Acl): default deny, root allowed. */
        assert_false(acl_check(NULL, &user, &t, &rule, &location));
        assert_string_equal(rule, "no rule matches (default deny)");
        assert_string_equal(location, "");
        assert_null(acl_decide(NULL, &user, &t));
        assert_true(acl_check(NULL, &root, &t, &rule, &location));
        assert_string_equal(rule, "root is always allowed");
        assert_string_equal(location, "");

        acl = load_ok(f);
        assert_false(acl_check(acl, &user, &t, &rule, &location));
        assert_string_equal(rule, "no rule matches (default deny)");
        assert_string_equal(location, "");
        acl = acl_free(acl);

        /* Even a rule denying root by name does not deny root; acl_decide itself does not special-case
         * root, so the explanation can still name that rule elsewhere. */
        write_file(f, "acl.conf", "deny user:root * #\ndeny * * #\nallow user:1000 * /a\n");
        acl = load_ok(f);
        rule = location = NULL;
        assert_true(acl_check(acl, &root, &t, &rule, &location));
        assert_string_equal(rule, "root is always allowed");
        assert_string_equal(location, "");
        assert_true(acl_check(acl, &nameless_root, &t, &rule, &location));
        assert_string_equal(rule, "root is always allowed");
        assert_true(acl_decide(acl, &root, &t) == &acl->rules[0]);

        /* Everyone else: the deny on line 2 decides, before the allow on line 3. */
        assert_false(acl_check(acl, &user, &t, &rule, &location));
        assert_string_equal(rule, "deny * * #");
        assert_string_equal(location, loc(f, "acl.conf", 2, buf, sizeof(buf)));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_no_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_files_in_name_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_who_and_device, setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_every_problem_reported, setup, teardown),
                cmocka_unit_test(test_pattern_validate),
                cmocka_unit_test(test_topic_match),
                cmocka_unit_test(test_substitute),
                cmocka_unit_test_setup_teardown(test_decide, setup, teardown),
                cmocka_unit_test_setup_teardown(test_root_and_default, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

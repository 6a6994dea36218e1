/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: acl_load on a temp configuration directory (the input up to the first NUL is acl.conf,
 * the rest acl.d/50-fuzz.conf), acl_check with two callers, and the topic pattern functions on each line. */
#include <string.h>
#include <sys/stat.h>

#include "../../daemon/acl.h"
#include "fuzz.h"

static void on_problem(void *userdata, const char *location, const char *problem) {
        if (!location || !problem)
                abort();
        (*(unsigned *) userdata)++;
}

static void check_rules(const Acl *a) {
        static const gid_t gids[] = { 0, 100, 4242 };
        static const AclCaller callers[] = {
                { .uid = 1000, .user = "alice", .gids = gids + 1, .n_gids = 2, .unit = "envsensor.service" },
                { .uid = 4242, .user = NULL, .gids = NULL, .n_gids = 0, .unit = NULL },
        };
        static const AclTarget targets[] = {
                { .device = "sensor", .product_key = "a1B2c3D4e5F", .device_name = "sensor_0042",
                  .topic = "/a1B2c3D4e5F/sensor_0042/user/update" },
                { .device = "other", .product_key = "pk", .device_name = "dn", .topic = "/sys/pk/dn/thing/event" },
        };

        for (size_t i = 0; i < ELEMENTSOF(callers); i++)
                for (size_t j = 0; j < ELEMENTSOF(targets); j++) {
                        const char *rule = NULL, *location = NULL;

                        (void) acl_check(a, &callers[i], &targets[j], &rule, &location);
                        if (!rule)
                                abort();
                }
}

/* Each line as a topic pattern: validate, substitute, match against a topic and against itself. */
static void check_patterns(const char *text) {
        static const AclCaller caller = { .uid = 1000, .user = "alice" };
        static const AclTarget target = { .device = "sensor", .product_key = "a1B2c3D4e5F",
                                          .device_name = "sensor_0042", .topic = "/a1B2c3D4e5F/sensor_0042/user/update" };
        char *copy = strdup(text), *save = NULL;

        if (!copy)
                abort();
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *reason = NULL;
                char *s = NULL;

                if (acl_topic_pattern_validate(line, &reason) < 0) {
                        if (!reason)
                                abort();
                        continue;
                }
                if (acl_substitute(line, &caller, &target, &s) == 0) {
                        (void) acl_topic_match(s, target.topic);
                        (void) acl_topic_match(s, s);
                        free(s);
                }
                (void) acl_topic_match(line, line);
        }
        free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char conf[300], dropin_dir[300], dropin[300];
        const uint8_t *nul = memchr(data, 0, size);
        size_t main_len = nul ? (size_t) (nul - data) : size;
        unsigned problems = 0;
        Acl *a = NULL;
        char *text;

        if (conf[0] == 0) {
                fuzz_quiet();
                (void) snprintf(conf, sizeof(conf), "%s/acl.conf", fuzz_tmpdir());
                (void) snprintf(dropin_dir, sizeof(dropin_dir), "%s/acl.d", fuzz_tmpdir());
                (void) snprintf(dropin, sizeof(dropin), "%s/50-fuzz.conf", dropin_dir);
                if (mkdir(dropin_dir, 0700) < 0)
                        abort();
        }
        fuzz_write_file(conf, data, main_len);
        if (nul)
                fuzz_write_file(dropin, nul + 1, size - main_len - 1);
        else
                (void) unlink(dropin);

        if (acl_load(fuzz_tmpdir(), NULL, NULL, &a) == 0) {
                check_rules(a);
                a = acl_free(a);
        }
        if (acl_load(fuzz_tmpdir(), on_problem, &problems, &a) == 0) {
                check_rules(a);
                a = acl_free(a);
        }

        text = fuzz_strndup(data, main_len);
        check_patterns(text);
        free(text);
        return 0;
}

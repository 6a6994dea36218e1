/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for cloudsim's command line: defaults, every option, and the arguments that must be refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "macro.h"
#include "../../tools/cloudsim/sim-config.h"

#define PARSE(cfg, ...)                                                                 \
        ({                                                                              \
                char *_argv[] = { "iotpub-cloudsim", __VA_ARGS__, NULL };               \
                sim_config_parse((int) ELEMENTSOF(_argv) - 1, _argv, (cfg));            \
        })

static void test_config_defaults(void **state) {
        SimConfig c;

        assert_int_equal(PARSE(&c, "--devices=devs"), 0);
        assert_string_equal(c.devices_path, "devs");
        assert_null(c.record_path);
        assert_string_equal(c.listen, "127.0.0.1");
        assert_int_equal(c.coap_port, 5682);
        assert_int_equal(c.token_ttl_usec, UINT64_C(604800) * 1000000);
        assert_false(c.strict_seq);
        assert_int_equal(c.fault_rate, 0);
        assert_int_equal(c.fault_mode, SIM_FAULT_SERVER_ERROR);
        assert_int_equal(c.log_level, LOG_INFO);
}

static void test_config_all(void **state) {
        SimConfig c;

        assert_int_equal(PARSE(&c, "--devices", "d", "--record=r.jsonl", "--listen=::1", "--coap-port=0",
                               "--token-ttl=2", "--strict-seq", "--log-level=debug"), 0);
        assert_string_equal(c.devices_path, "d");
        assert_string_equal(c.record_path, "r.jsonl");
        assert_string_equal(c.listen, "::1");
        assert_int_equal(c.coap_port, 0);
        assert_int_equal(c.token_ttl_usec, 2000000);
        assert_true(c.strict_seq);
        assert_int_equal(c.log_level, LOG_DEBUG);

        assert_int_equal(PARSE(&c, "--devices=d", "--coap-port=65535", "--token-ttl=0"), 0);
        assert_int_equal(c.coap_port, 65535);
        assert_int_equal(c.token_ttl_usec, 0);
}

static void test_config_bad(void **state) {
        SimConfig c;

        assert_int_equal(PARSE(&c, "--record=r"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--coap-port=65536"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--coap-port=-1"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--coap-port=12ab"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--coap-port="), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--token-ttl=1.5"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--listen=localhost"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--log-level=chatty"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--fault-mode=slow"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--frobnicate"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "extra"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices"), -EINVAL);
}

static void test_config_help(void **state) {
        SimConfig c;

        assert_int_equal(PARSE(&c, "--version"), 1);
        assert_int_equal(PARSE(&c, "--help"), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config_defaults),
                cmocka_unit_test(test_config_all),
                cmocka_unit_test(test_config_bad),
                cmocka_unit_test(test_config_help),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

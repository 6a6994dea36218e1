/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for cloudsim's fault injection (sim-fault, sim-coap-fault) and its options: the rate holds over many
 * requests, the same seed gives the same decisions, /auth is spared unless asked for, each mode shapes the
 * reply as it says, and the options parse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "coap-msg.h"
#include "macro.h"
#include "../../tools/cloudsim/sim-coap-fault.h"
#include "../../tools/cloudsim/sim-config.h"
#include "../../tools/cloudsim/sim-fault.h"

#define N 10000

static unsigned count_hits(SimFault *f, SimFaultKind kind, unsigned n) {
        unsigned hits = 0;

        for (unsigned i = 0; i < n; i++)
                hits += sim_fault_inject(f, kind);
        return hits;
}

static void test_fault_rates(void **state) {
        SimFault f;
        unsigned hits;

        sim_fault_init(&f, SIM_FAULT_SERVER_ERROR, 0, 1, true);
        assert_int_equal(count_hits(&f, SIM_FAULT_PUBLISH, N), 0);
        assert_int_equal(count_hits(&f, SIM_FAULT_AUTH, N), 0);

        sim_fault_init(&f, SIM_FAULT_SERVER_ERROR, 100, 1, true);
        assert_int_equal(count_hits(&f, SIM_FAULT_PUBLISH, N), N);

        sim_fault_init(&f, SIM_FAULT_SERVER_ERROR, 30, 42, false);
        hits = count_hits(&f, SIM_FAULT_PUBLISH, N);
        assert_in_range(hits, N * 27 / 100, N * 33 / 100);
        assert_int_equal(f.injected[SIM_FAULT_PUBLISH], hits);
        assert_int_equal(f.seen[SIM_FAULT_PUBLISH], N);

        sim_fault_init(&f, SIM_FAULT_SERVER_ERROR, 250, 1, false);
        assert_int_equal(f.rate_percent, 100);
}

static void test_fault_seeded(void **state) {
        SimFault a, b, c;
        unsigned differ = 0;

        sim_fault_init(&a, SIM_FAULT_SERVER_ERROR, 30, 7, false);
        sim_fault_init(&b, SIM_FAULT_SERVER_ERROR, 30, 7, false);
        sim_fault_init(&c, SIM_FAULT_SERVER_ERROR, 30, 8, false);
        for (unsigned i = 0; i < 1000; i++) {
                bool x = sim_fault_inject(&a, SIM_FAULT_PUBLISH);
                assert_int_equal(x, sim_fault_inject(&b, SIM_FAULT_PUBLISH));
                differ += x != sim_fault_inject(&c, SIM_FAULT_PUBLISH);
        }
        assert_true(differ > 100);
}

static void test_fault_auth(void **state) {
        SimFault f;

        sim_fault_init(&f, SIM_FAULT_SERVER_ERROR, 100, 1, false);
        assert_false(sim_fault_inject(&f, SIM_FAULT_AUTH));
        assert_int_equal(f.seen[SIM_FAULT_AUTH], 0);
        assert_true(sim_fault_inject(&f, SIM_FAULT_PUBLISH));

        sim_fault_init(&f, SIM_FAULT_SERVER_ERROR, 100, 1, true);
        assert_true(sim_fault_inject(&f, SIM_FAULT_AUTH));
        assert_int_equal(f.injected[SIM_FAULT_AUTH], 1);
        assert_false(sim_fault_inject(&f, _SIM_FAULT_KIND_INVALID));
        assert_string_equal(sim_fault_kind_to_string(SIM_FAULT_AUTH), "auth");
        assert_null(sim_fault_kind_to_string(_SIM_FAULT_KIND_MAX));
}

static void test_fault_modes(void **state) {
        SimReply r = {};
        SimFault f;

        for (SimFaultMode m = 0; m < _SIM_FAULT_MODE_MAX; m++)
                assert_int_equal(sim_fault_mode_from_string(sim_fault_mode_to_string(m)), m);
        assert_int_equal(sim_fault_mode_from_string("empty-ack"), SIM_FAULT_EMPTY_ACK);
        assert_int_equal(sim_fault_mode_from_string("wrong-token"), SIM_FAULT_WRONG_TOKEN);
        assert_int_equal(sim_fault_mode_from_string("garbled-reply"), SIM_FAULT_GARBLED_REPLY);
        assert_int_equal(sim_fault_mode_from_string("Empty-ACK"), _SIM_FAULT_MODE_INVALID);
        assert_int_equal(sim_fault_mode_from_string(NULL), _SIM_FAULT_MODE_INVALID);
        assert_null(sim_fault_mode_to_string(_SIM_FAULT_MODE_INVALID));
        assert_true(sim_fault_mode_applies_to_https(SIM_FAULT_SERVER_ERROR));
        assert_false(sim_fault_mode_applies_to_https(SIM_FAULT_EMPTY_ACK));
        assert_false(sim_fault_mode_applies_to_https(SIM_FAULT_WRONG_TOKEN));
        assert_false(sim_fault_mode_applies_to_https(SIM_FAULT_GARBLED_REPLY));

        /* The mode shapes the reply; the decisions stay those of the seed. */
        sim_fault_init(&f, SIM_FAULT_WRONG_TOKEN, 100, 1, false);
        assert_int_equal(f.mode, SIM_FAULT_WRONG_TOKEN);
        assert_true(sim_fault_inject(&f, SIM_FAULT_PUBLISH));

        sim_coap_fault_reply(SIM_FAULT_SERVER_ERROR, true, &r);
        assert_int_equal(r.code, 500);
        assert_int_equal(r.form, SIM_REPLY_PIGGYBACKED);

        r = (SimReply) {};
        sim_coap_fault_reply(SIM_FAULT_EMPTY_ACK, true, &r);
        assert_int_equal(r.form, SIM_REPLY_EMPTY_ACK);
        assert_int_equal(r.code, 0);
        assert_int_equal(r.payload_len, 0);

        r = (SimReply) {};
        sim_coap_fault_reply(SIM_FAULT_WRONG_TOKEN, true, &r);
        assert_int_equal(r.form, SIM_REPLY_WRONG_TOKEN);
        assert_int_equal(r.code, 205);

        /* A NON request has no ACK to shape: the server error. */
        r = (SimReply) {};
        sim_coap_fault_reply(SIM_FAULT_EMPTY_ACK, false, &r);
        assert_int_equal(r.code, 500);
        assert_int_equal(r.form, SIM_REPLY_PIGGYBACKED);
        r = (SimReply) {};
        sim_coap_fault_reply(SIM_FAULT_WRONG_TOKEN, false, &r);
        assert_int_equal(r.code, 500);
        assert_int_equal(r.form, SIM_REPLY_PIGGYBACKED);
}

#define PARSE(cfg, ...)                                                                 \
        ({                                                                              \
                char *_argv[] = { "iotpub-cloudsim", __VA_ARGS__, NULL };               \
                sim_config_parse((int) ELEMENTSOF(_argv) - 1, _argv, (cfg));            \
        })

/* garbled-reply keeps the code and the other options, and makes 2090 and the payload unreadable. */
static void test_fault_garble(void **state) {
        SimReply r = { .code = 205 };

        assert_int_equal(sim_reply_add_option(&r, COAP_MSG_OPTION_MESSAGE_ID, "1329043117283975168", 19), 0);
        assert_int_equal(sim_reply_set_payload(&r, "0123456789abcdef", 16), 0);
        sim_coap_fault_garble(&r);
        assert_int_equal(r.code, 205);
        assert_int_equal(r.n_options, 1);
        assert_int_equal(r.options[0].number, COAP_MSG_OPTION_MESSAGE_ID);
        assert_true(r.options[0].len > 0);
        assert_true(r.options[0].value[0] < 0x21); /* not printable: no message id */
        assert_int_equal(r.payload_len, 5);      /* not a multiple of 16: no ciphertext */
        sim_reply_done(&r);
}

static void test_fault_options(void **state) {
        SimConfig c;

        assert_int_equal(PARSE(&c, "--devices=d"), 0);
        assert_int_equal(c.fault_rate, 0);
        assert_int_equal(c.fault_seed, 1);
        assert_false(c.fault_auth);
        assert_int_equal(c.fault_mode, SIM_FAULT_SERVER_ERROR);
        assert_int_equal(PARSE(&c, "--devices=d", "--fault-rate=30", "--fault-seed=99", "--fault-auth"), 0);
        assert_int_equal(c.fault_rate, 30);
        assert_int_equal(c.fault_seed, 99);
        assert_true(c.fault_auth);
        assert_int_equal(PARSE(&c, "--devices=d", "--fault-rate=50", "--fault-mode=empty-ack"), 0);
        assert_int_equal(c.fault_mode, SIM_FAULT_EMPTY_ACK);
        assert_int_equal(PARSE(&c, "--devices=d", "--fault-mode=wrong-token"), 0);
        assert_int_equal(c.fault_mode, SIM_FAULT_WRONG_TOKEN);
        assert_int_equal(PARSE(&c, "--devices=d", "--fault-mode=server-error"), 0);
        assert_int_equal(c.fault_mode, SIM_FAULT_SERVER_ERROR);
        /* Beside HTTPS, allowed (the CoAP endpoint is still served); HTTPS requests are left alone. */
        assert_int_equal(PARSE(&c, "--devices=d", "--https-port=0", "--cert=c", "--key=k", "--fault-rate=10",
                               "--fault-mode=wrong-token"), 0);
        assert_int_equal(PARSE(&c, "--devices=d", "--fault-mode=lost"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--fault-mode="), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--fault-mode"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--fault-rate=101"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--fault-rate=-1"), -EINVAL);
        assert_int_equal(PARSE(&c, "--devices=d", "--fault-seed=x"), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fault_rates),
                cmocka_unit_test(test_fault_seeded),
                cmocka_unit_test(test_fault_auth),
                cmocka_unit_test(test_fault_modes),
                cmocka_unit_test(test_fault_garble),
                cmocka_unit_test(test_fault_options),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for cloudsim's record: exact JSON lines (key order, base64 payload, unescaped '/', null
 * contentFormat), appending, and the no-op without --record. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "macro.h"
#include "../../tools/cloudsim/sim-record.h"

static const SimRecordPublish sample = {
        .transport = "coap-aes",
        .product_key = "pk",
        .device_name = "dn",
        .topic = "/pk/dn/user/update",
        .payload = "\x00\x01hi",
        .payload_len = 4,
        .has_seq = true,
        .seq = 138,
        .content_format = 50,
        .message_id = "1700000000000000001",
        .time_ms = 1700000000123,
};

static void test_record_format(void **state) {
        SimRecordPublish p = sample;
        char *json = NULL;

        assert_int_equal(sim_record_format_publish(&p, &json), 0);
        assert_string_equal(json, "{\"event\":\"publish\",\"transport\":\"coap-aes\",\"productKey\":\"pk\","
                                  "\"deviceName\":\"dn\",\"topic\":\"/pk/dn/user/update\",\"payload\":\"AAFoaQ==\","
                                  "\"seq\":138,\"contentFormat\":50,\"messageId\":\"1700000000000000001\","
                                  "\"time\":1700000000123}");
        free(json);

        p.content_format = -1;
        p.payload_len = 0;
        p.topic = "/pk/dn/user/\"quoted\"";
        assert_int_equal(sim_record_format_publish(&p, &json), 0);
        assert_non_null(strstr(json, "\"topic\":\"/pk/dn/user/\\\"quoted\\\"\",\"payload\":\"\","));
        assert_non_null(strstr(json, "\"contentFormat\":null,"));
        free(json);
}

static void test_record_append(void **state) {
        char path[] = "/tmp/test-sim-record.XXXXXX", *line = NULL;
        SimRecord *r = NULL;
        size_t size = 0;
        FILE *f;
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "old\n", 4), 4);
        close(fd);

        assert_int_equal(sim_record_open(path, &r), 0);
        assert_int_equal(sim_record_auth(r, "coap-aes", "pk", "dn", "pk.dn", 5), 0);
        assert_int_equal(sim_record_publish(r, &sample), 0);
        sim_record_free(r);

        f = fopen(path, "re");
        assert_non_null(f);
        assert_true(getline(&line, &size, f) > 0);
        assert_string_equal(line, "old\n");
        assert_true(getline(&line, &size, f) > 0);
        assert_string_equal(line, "{\"event\":\"auth\",\"transport\":\"coap-aes\",\"productKey\":\"pk\","
                                  "\"deviceName\":\"dn\",\"clientId\":\"pk.dn\",\"time\":5}\n");
        assert_true(getline(&line, &size, f) > 0);
        assert_non_null(strstr(line, "\"messageId\":\"1700000000000000001\""));
        assert_true(getline(&line, &size, f) < 0);
        fclose(f);
        free(line);
        unlink(path);

        /* Without --record nothing happens. */
        assert_int_equal(sim_record_publish(NULL, &sample), 0);
        assert_int_equal(sim_record_auth(NULL, "coap-aes", "pk", "dn", "c", 1), 0);
        assert_int_equal(sim_record_open("/nonexistent/dir/record", &r), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_record_format),
                cmocka_unit_test(test_record_append),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

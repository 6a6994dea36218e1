/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A SimServer for cloudsim's mode unit tests: the D.1 device, empty sessions, 60 s tokens, no sockets. */
#pragma once

#include <stdio.h>
#include <string.h>

#include "../../tools/cloudsim/sim-server.h"

#define SIM_TEST_SECRET "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"

static inline void sim_test_server_init(SimServer *s, SimConfig *config) {
        static const char devices[] = "a1B2c3D4e5F sensor_0042 " SIM_TEST_SECRET "\n";
        FILE *file;

        *config = (SimConfig) { .token_ttl_usec = 60 * UINT64_C(1000000) };
        s->config = config;
        file = fmemopen((void *) devices, strlen(devices), "r");
        assert_int_equal(sim_devices_parse(file, "devices", &s->devices), 0);
        fclose(file);
        assert_int_equal(sim_sessions_new(&s->sessions), 0);
}

static inline void sim_test_server_done(SimServer *s) {
        sim_record_free(s->record);
        sim_sessions_free(s->sessions);
        sim_devices_free(s->devices);
}

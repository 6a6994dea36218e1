/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A SimServer for the cloudsim fuzz targets: the D.1 device, fresh sessions per input, 60 s tokens, the
 * record going to /dev/null (formatted, then discarded), no sockets. */
#pragma once

#include "../../tools/cloudsim/sim-server.h"
#include "fuzz.h"

#define FUZZ_SIM_SECRET "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"
#define FUZZ_SIM_PK "a1B2c3D4e5F"
#define FUZZ_SIM_DN "sensor_0042"

static inline SimServer *fuzz_sim_server(void) {
        static const char devices[] = FUZZ_SIM_PK " " FUZZ_SIM_DN " " FUZZ_SIM_SECRET "\n";
        static SimConfig config = { .token_ttl_usec = 60 * UINT64_C(1000000) };
        static SimServer server = { .config = &config };
        FILE *f;

        if (server.devices)
                return &server;
        fuzz_quiet();
        f = fmemopen((void *) devices, strlen(devices), "r");
        if (!f || sim_devices_parse(f, "devices", &server.devices) < 0)
                abort();
        fclose(f);
        if (sim_record_open("/dev/null", &server.record) < 0)
                abort();
        return &server;
}

/* Gives s empty sessions, as a freshly started emulator has. */
static inline void fuzz_sim_reset_sessions(SimServer *s) {
        s->sessions = sim_sessions_free(s->sessions);
        if (sim_sessions_new(&s->sessions) < 0)
                abort();
}

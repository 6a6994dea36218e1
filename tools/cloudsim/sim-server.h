/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The emulator's manager: owns the event loop, the devices, the auth sessions, the record and every
 * endpoint; main() only parses arguments and runs it. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "sim-config.h"
#include "sim-devices.h"
#include "sim-fault.h"
#include "sim-record.h"
#include "sim-session.h"

typedef struct SimCoap SimCoap;
typedef struct SimHttps SimHttps;

typedef struct SimServer {
        const SimConfig *config;
        sd_event *event;
        SimDevices *devices;
        SimSessions *sessions;
        SimRecord *record;
        uint64_t last_message_id;
        SimFault fault;                 /* --fault-rate */
        SimCoap *coap;
        SimHttps *https;                /* NULL without --https-port */
} SimServer;

/* Loads the devices file and opens the record. Returns 0, -EINVAL (bad devices file; logged), or -errno. */
int sim_server_new(const SimConfig *config, SimServer **ret);
SimServer *sim_server_free(SimServer *s);
static inline void sim_server_freep(SimServer **s) {
        sim_server_free(*s);
}

/* Binds the endpoints, prints "coap-aes ADDR PORT" (and "https ADDR PORT") on stdout and sends READY=1. */
int sim_server_start(SimServer *s);
/* Runs until SIGTERM or SIGINT. Returns 0 or a negative errno. */
int sim_server_run(SimServer *s);

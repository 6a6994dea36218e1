/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --fault-rate: a seeded share of publish requests (and, with --fault-auth, of /auth requests) is answered
 * with a server error (CoAP 5.00, HTTPS business code 40000) instead of being handled. No I/O, no clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef enum SimFaultKind {
        SIM_FAULT_PUBLISH,
        SIM_FAULT_AUTH,
        _SIM_FAULT_KIND_MAX,
        _SIM_FAULT_KIND_INVALID = -22,
} SimFaultKind;

typedef struct SimFault {
        unsigned rate_percent;          /* 0..100; 0 injects nothing */
        bool auth;                      /* /auth requests are candidates too */
        uint64_t state;                 /* generator state, from the seed */
        uint64_t seen[_SIM_FAULT_KIND_MAX];
        uint64_t injected[_SIM_FAULT_KIND_MAX];
} SimFault;

void sim_fault_init(SimFault *f, unsigned rate_percent, uint64_t seed, bool auth);
/* Whether this request of kind gets the injected error; counts both outcomes. The same seed gives the same
 * sequence of answers. */
bool sim_fault_inject(SimFault *f, SimFaultKind kind);
const char *sim_fault_kind_to_string(SimFaultKind k);

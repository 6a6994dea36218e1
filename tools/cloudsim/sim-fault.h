/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --fault-rate: a seeded share of publish requests (and, with --fault-auth, of /auth requests) gets the fault
 * of --fault-mode instead of being handled: a server error (CoAP 5.00, HTTPS business code 40000), or one of two
 * odd CoAP acknowledgements that leave a client waiting for a response that never comes. No I/O, no clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef enum SimFaultKind {
        SIM_FAULT_PUBLISH,
        SIM_FAULT_AUTH,
        _SIM_FAULT_KIND_MAX,
        _SIM_FAULT_KIND_INVALID = -22,
} SimFaultKind;

typedef enum SimFaultMode {
        SIM_FAULT_SERVER_ERROR,         /* CoAP 5.00, HTTPS code 40000 */
        SIM_FAULT_EMPTY_ACK,            /* CoAP only: an empty ACK, and no separate response ever */
        SIM_FAULT_WRONG_TOKEN,          /* CoAP only: a 2.05 ACK with the request's message id, another token */
        SIM_FAULT_GARBLED_REPLY,        /* CoAP publishes only: handled and recorded, but the 2.05 carries an
                                         * option 2090 that is no message id and a payload that decrypts to
                                         * nothing */
        _SIM_FAULT_MODE_MAX,
        _SIM_FAULT_MODE_INVALID = -22,
} SimFaultMode;

typedef struct SimFault {
        SimFaultMode mode;
        unsigned rate_percent;          /* 0..100; 0 injects nothing */
        bool auth;                      /* /auth requests are candidates too */
        uint64_t state;                 /* generator state, from the seed */
        uint64_t seen[_SIM_FAULT_KIND_MAX];
        uint64_t injected[_SIM_FAULT_KIND_MAX];
} SimFault;

void sim_fault_init(SimFault *f, SimFaultMode mode, unsigned rate_percent, uint64_t seed, bool auth);
/* Whether this request of kind gets the injected error; counts both outcomes. The same seed gives the same
 * sequence of answers. */
bool sim_fault_inject(SimFault *f, SimFaultKind kind);
const char *sim_fault_kind_to_string(SimFaultKind k);
const char *sim_fault_mode_to_string(SimFaultMode m);
SimFaultMode sim_fault_mode_from_string(const char *s);
/* Whether HTTPS requests get mode's fault: an HTTP reply has no acknowledgement or token of its own to get wrong
 * (the connection pairs it with its request), so the CoAP-only modes leave HTTPS alone. */
bool sim_fault_mode_applies_to_https(SimFaultMode m);

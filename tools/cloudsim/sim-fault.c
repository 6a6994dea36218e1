/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seeded fault decisions: splitmix64 draws a number 0..99 per candidate request, below the rate fails it. */
#include "log.h"
#include "macro.h"
#include "sim-fault.h"

static const char *const mode_names[_SIM_FAULT_MODE_MAX] = {
        [SIM_FAULT_SERVER_ERROR] = "server-error",
        [SIM_FAULT_EMPTY_ACK] = "empty-ack",
        [SIM_FAULT_WRONG_TOKEN] = "wrong-token",
        [SIM_FAULT_GARBLED_REPLY] = "garbled-reply",
};

const char *sim_fault_mode_to_string(SimFaultMode m) {
        return m >= 0 && m < _SIM_FAULT_MODE_MAX ? mode_names[m] : NULL;
}

SimFaultMode sim_fault_mode_from_string(const char *s) {
        for (SimFaultMode m = 0; m < _SIM_FAULT_MODE_MAX; m++)
                if (streq_ptr(s, mode_names[m]))
                        return m;
        return _SIM_FAULT_MODE_INVALID;
}

bool sim_fault_mode_applies_to_https(SimFaultMode m) {
        switch (m) {
        case SIM_FAULT_SERVER_ERROR:
                return true;
        case SIM_FAULT_EMPTY_ACK:
        case SIM_FAULT_WRONG_TOKEN:
        case SIM_FAULT_GARBLED_REPLY:
        case _SIM_FAULT_MODE_MAX:
        case _SIM_FAULT_MODE_INVALID:
                break;
        }
        return false;
}

void sim_fault_init(SimFault *f, SimFaultMode mode, unsigned rate_percent, uint64_t seed, bool auth) {
        *f = (SimFault) {
                .mode = mode,
                .rate_percent = rate_percent > 100 ? 100 : rate_percent,
                .auth = auth,
                .state = seed,
        };
}

static uint64_t next(SimFault *f) {
        uint64_t z = (f->state += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

const char *sim_fault_kind_to_string(SimFaultKind k) {
        switch (k) {
        case SIM_FAULT_PUBLISH:
                return "publish";
        case SIM_FAULT_AUTH:
                return "auth";
        case _SIM_FAULT_KIND_MAX:
        case _SIM_FAULT_KIND_INVALID:
                break;
        }
        return NULL;
}

bool sim_fault_inject(SimFault *f, SimFaultKind kind) {
        bool hit;

        if (kind < 0 || kind >= _SIM_FAULT_KIND_MAX || f->rate_percent == 0)
                return false;
        if (kind == SIM_FAULT_AUTH && !f->auth)
                return false;
        f->seen[kind]++;
        hit = next(f) % 100 < f->rate_percent;
        if (hit) {
                f->injected[kind]++;
                log_debug("Injected fault #%llu (%s) on a %s request (rate %u%%).",
                          (unsigned long long) f->injected[kind], sim_fault_mode_to_string(f->mode),
                          sim_fault_kind_to_string(kind), f->rate_percent);
        }
        return hit;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seeded fault decisions: splitmix64 draws a number 0..99 per candidate request, below the rate fails it. */
#include "log.h"
#include "sim-fault.h"

void sim_fault_init(SimFault *f, unsigned rate_percent, uint64_t seed, bool auth) {
        *f = (SimFault) {
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
                log_debug("Injected fault #%llu on a %s request (rate %u%%).", (unsigned long long) f->injected[kind],
                          sim_fault_kind_to_string(kind), f->rate_percent);
        }
        return hit;
}

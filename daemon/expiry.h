/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TTL expiry: one CLOCK_REALTIME timer, armed only while a queued message has a TTL, fails every message whose
 * TTL ran out with reason "expired" -- also messages waiting behind others or for a cloud that is down. */
#pragma once

#include "macro.h"

typedef struct Manager Manager;
typedef struct Expiry Expiry;

int expiry_new(Manager *m, Expiry **ret);
Expiry *expiry_free(Expiry *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Expiry *, expiry_free);

/* Re-arms the timer for the earliest expiry in the outbox (or disarms it). Cheap: one indexed query. */
void expiry_schedule(Expiry *e);

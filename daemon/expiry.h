/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TTL expiry: one CLOCK_BOOTTIME timer, armed only while a queued message has a TTL, fails every message whose
 * TTL ran out with reason "expired" -- also messages waiting behind others or for a cloud that is down.
 *
 * A TTL is elapsed time, never wall-clock time: boards without an RTC boot in 1970 or 2000 and jump when NTP
 * answers, and a message accepted meanwhile must still live its whole TTL. So:
 *  - Within a boot a message's deadline is CLOCK_BOOTTIME (which counts suspend, and which no one can set) at
 *    Publish plus the TTL, stored with the boot id (/proc/sys/kernel/random/boot_id). A daemon restart in the same
 *    boot keeps it exactly; jumps of the wall clock, either way, do not move it.
 *  - Across a reboot CLOCK_BOOTTIME starts again, and how long the device was off can only be measured with the
 *    wall clock. Each boot records a checkpoint (both clocks, and whether the wall clock was trusted by clock.h's
 *    rule) when the outbox is opened, when the clock becomes trusted, every EXPIRY_CHECKPOINT_USEC while a message
 *    with a TTL is queued, and at a clean stop -- never a write per message. At start, a message of an earlier boot
 *    keeps what remained of its TTL at that boot's last checkpoint, counted from now. If the wall clock was
 *    trusted at that checkpoint, the wall-clock time from the checkpoint to now is taken off as well -- at once if
 *    the clock is trusted now, else as soon as it becomes trusted (possibly after further reboots).
 *  - So a TTL is exact within a boot and across reboots where the clock is trusted at both ends; otherwise the
 *    time the device was off (and at most EXPIRY_CHECKPOINT_USEC before it) is not counted: a message may then
 *    live longer than its TTL, never shorter.
 *  - Messages from the outbox's earlier schema (a wall-clock expiry only) keep their whole TTL from the upgrade,
 *    less the time since they were created once the clock is trusted, if it looked right when they were. */
#pragma once

#include "macro.h"

typedef struct Manager Manager;
typedef struct Expiry Expiry;

#define EXPIRY_CHECKPOINT_USEC (10 * 60 * 1000000ULL)

int expiry_new(Manager *m, Expiry **ret);
Expiry *expiry_free(Expiry *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Expiry *, expiry_free);

/* Re-arms the timer for the earliest expiry in the outbox (or disarms it). Cheap: one indexed query. */
void expiry_schedule(Expiry *e);
/* Records how far this boot got now (a checkpoint, see above), e.g. when the daemon stops. */
void expiry_checkpoint(Expiry *e);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A space reserve in the state directory: a preallocated file that is given up when the file system is full,
 * so that deliveries can still be recorded and the outbox drained; new publishes are refused until it can be
 * put back. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

typedef struct Reserve Reserve;

int reserve_new(const char *state_dir, uint64_t size, Reserve **ret);
Reserve *reserve_free(Reserve *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Reserve *, reserve_free);

/* Whether the reserve is in place; if not, tries to put it back when twice its size is free again. */
bool reserve_held(Reserve *r);

/* Frees the reserved space. Returns 1 if it was held, 0 if it was already released. */
int reserve_release(Reserve *r);

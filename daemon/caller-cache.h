/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Callers identified once per bus connection: the bus's credentials for a connection do not change, and asking
 * dbus-daemon for them is a synchronous round trip, so the result is kept until the connection goes away. */
#pragma once

#include <systemd/sd-bus.h>

#include "caller.h"
#include "macro.h"

typedef struct CallerCache CallerCache;

/* Subscribes to NameOwnerChanged on bus to forget callers whose connection closed. */
int caller_cache_new(sd_bus *bus, CallerCache **ret);
CallerCache *caller_cache_free(CallerCache *cc);
DEFINE_TRIVIAL_CLEANUP_FUNC(CallerCache *, caller_cache_free);

/* The caller of m; valid until the next call (the entry may then be evicted). */
int caller_cache_get(CallerCache *cc, sd_bus_message *m, const Caller **ret);
/* The caller behind the unique name sender; -ENXIO (remembered) when no connection has that name. */
int caller_cache_get_name(CallerCache *cc, sd_bus *bus, const char *sender, const Caller **ret);

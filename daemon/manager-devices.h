/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's set of devices: loading identities at start, reloading them (unchanged devices keep their
 * sessions and tokens), and adding or removing one at run time. */
#pragma once

#include "manager.h"

/* Loads or reloads CONFIG/devices/ *.conf. A file that fails to load is logged with file and line; on a
 * reload, the device it described (if any) stays as it was. A devices/ directory that others may write is
 * refused as a whole (logged with the fix), and the running devices stay as they are. Devices whose file is
 * gone are removed; their queued messages stay in the outbox. Returns the number of files refused (a refused
 * directory counts as one), or a negative errno. */
int manager_devices_load(Manager *m);

/* Takes ownership of id. -EEXIST if the name or the ProductKey/DeviceName pair is taken. */
int manager_devices_add(Manager *m, Identity *id, Device **ret);
void manager_devices_remove(Manager *m, Device *d);


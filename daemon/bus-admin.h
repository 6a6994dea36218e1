/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Administrative methods (root or the admin group): AddDevice, RemoveDevice, Reload, CheckConfiguration on
 * the Manager; Reauthenticate, Flush, Purge on a Device. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

typedef struct Manager Manager;
typedef struct Caller Caller;

bool bus_caller_is_admin(Manager *m, const Caller *c);
/* 0 if the sender may administer iotpubd, else a negative errno with error set to AccessDenied. */
int bus_require_admin(Manager *m, sd_bus_message *msg, const char *what, sd_bus_error *error);

int bus_method_add_device(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_remove_device(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_purge_failed(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_check_configuration(sd_bus_message *msg, void *userdata, sd_bus_error *error);

int bus_device_method_reauthenticate(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_device_method_flush(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_device_method_purge(sd_bus_message *msg, void *userdata, sd_bus_error *error);

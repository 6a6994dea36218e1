/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Read-only Manager methods: GetMessage, ListMessages, ListDevices, ExplainAccess. Callers see their own
 * messages; admins see all. */
#pragma once

#include <systemd/sd-bus.h>

int bus_method_get_message(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_list_messages(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_list_devices(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_explain_access(sd_bus_message *msg, void *userdata, sd_bus_error *error);

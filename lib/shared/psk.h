/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DTLS-PSK credentials (PROTOCOL.md B.2, E.3): identity "devicename|<method>|<pk>&<dn>|2524608000000" and
 * key = uppercase hex of HMAC(secret, "id<pk>&<dn>timestamp<ts>"), used as ASCII bytes. */
#pragma once

#include "sign.h"

#define PSK_TIMESTAMP "2524608000000"

int psk_identity(SignMethod m, const char *product_key, const char *device_name, char **ret);
int psk_key(SignMethod m, const char *secret, const char *product_key, const char *device_name,
            const char *timestamp, char **ret);

/* Emulator side: splits an identity into its method, productKey, deviceName and timestamp.
 * Returns 0 or -EBADMSG. */
int psk_identity_parse(const char *identity, SignMethod *ret_method, char **ret_product_key,
                       char **ret_device_name, char **ret_timestamp);

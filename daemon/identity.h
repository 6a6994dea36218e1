/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device identities: /etc/iotpub/devices/<name>.conf, holding ProductKey, DeviceName and the DeviceSecret
 * (inline, in a file, or a systemd credential). Secrets are wiped when an identity is freed. */
#pragma once

#include <errno.h>
#include <stdbool.h>

#include "macro.h"
#include "sign.h"

typedef enum TransportKind {
        TRANSPORT_COAP_AES,
        TRANSPORT_COAP_DTLS,
        TRANSPORT_HTTPS,
        _TRANSPORT_KIND_MAX,
        _TRANSPORT_KIND_INVALID = -EINVAL,
} TransportKind;

const char *transport_kind_to_string(TransportKind k);
TransportKind transport_kind_from_string(const char *s);

typedef struct Identity {
        char *name;          /* file basename without .conf */
        char *path;
        char *product_key;
        char *device_name;
        char *client_id;     /* default "<pk>.<dn>" */
        char *secret;        /* never logged, never on the bus */
        TransportKind transport;
        char *endpoint;      /* "host:port" for CoAP, URL for HTTPS; default is the platform's public one */
        SignMethod sign_method;      /* of the /auth request body (default hmacmd5) */
        SignMethod psk_sign_method;  /* coap-dtls PSK identity and key (default hmacsha256) */
        bool payload_cbor;           /* PayloadEncoding=cbor: JSON payloads are sent as CBOR */
        char *ca_file;               /* coap-dtls: server-certificate mode instead of PSK; https: CA bundle */
        unsigned max_in_flight;      /* MaxInFlight= of this device, 0 = iotpubd.conf's */
} Identity;

Identity *identity_free(Identity *id);
DEFINE_TRIVIAL_CLEANUP_FUNC(Identity *, identity_free);

/* True for names made of [A-Za-z0-9_-], 1..64 characters. */
bool identity_name_is_valid(const char *name);

/* Loads one identity file. On failure logs "path:line: reason" and returns a negative errno. credentials_dir
 * is $CREDENTIALS_DIRECTORY (may be NULL) for SecretCredential=. */
int identity_load(const char *path, const char *credentials_dir, Identity **ret);

bool identity_equal(const Identity *a, const Identity *b);

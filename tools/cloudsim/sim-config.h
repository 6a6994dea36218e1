/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Command line of iotpub-cloudsim. The option names are an interface: tests and the demo depend on them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "sim-fault.h"

#define SIM_DEFAULT_LISTEN "127.0.0.1"
#define SIM_DEFAULT_COAP_PORT 5682
#define SIM_DEFAULT_TOKEN_TTL_SEC 604800        /* 7 days (PROTOCOL.md E.19) */

typedef struct SimConfig {
        const char *devices_path;       /* these point into argv */
        const char *record_path;        /* NULL: no record */
        const char *listen;
        uint16_t coap_port;             /* 0: any free port */
        bool https;                     /* --https-port was given */
        uint16_t https_port;            /* 0: any free port */
        bool dtls;                      /* --dtls-port was given */
        uint16_t dtls_port;             /* 0: any free port */
        const char *cert_path;          /* PEM server certificate (HTTPS; DTLS certificate mode) */
        const char *key_path;           /* PEM private key of cert_path */
        uint64_t token_ttl_usec;
        bool strict_seq;
        SimFaultMode fault_mode;        /* what a faulted request gets */
        unsigned fault_rate;            /* percent of requests that get the fault */
        uint64_t fault_seed;
        bool fault_auth;                /* /auth requests may get the fault too */
        int log_level;
} SimConfig;

/* Returns 0 to run, 1 if --help or --version was printed (exit 0), -EINVAL after printing a message about
 * bad arguments (exit 2). */
int sim_config_parse(int argc, char *argv[], SimConfig *ret);

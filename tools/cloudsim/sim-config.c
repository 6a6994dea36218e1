/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* getopt_long parsing with strict number parsing and the --help text. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "sim-config.h"

enum {
        ARG_DEVICES = 0x100,
        ARG_RECORD,
        ARG_LISTEN,
        ARG_COAP_PORT,
        ARG_HTTPS_PORT,
        ARG_DTLS_PORT,
        ARG_CERT,
        ARG_KEY,
        ARG_TOKEN_TTL,
        ARG_STRICT_SEQ,
        ARG_FAULT_RATE,
        ARG_FAULT_SEED,
        ARG_FAULT_AUTH,
        ARG_FAULT_MODE,
        ARG_LOG_LEVEL,
        ARG_HELP,
        ARG_VERSION,
};

static void help(const char *argv0) {
        printf("%s --devices=FILE [OPTIONS...]\n\n"
               "Local emulator of the Alibaba Cloud IoT Platform device endpoints, for tests and demos.\n"
               "Serves CoAP with application-layer AES (\"coap-aes\", UDP) per PROTOCOL.md section A,\n"
               "HTTPS per section C when --https-port is given, and CoAP over DTLS 1.2 (\"coap-dtls\",\n"
               "section B) when --dtls-port is given.\n\n"
               "  --devices=FILE        Identities, one \"productKey deviceName deviceSecret\" per line;\n"
               "                        blank lines and '#' comments are ignored (required)\n"
               "  --record=FILE         Append each accepted message and each successful auth to FILE\n"
               "                        as one JSON line (payload in base64)\n"
               "  --listen=ADDR         IPv4 or IPv6 address to bind (default: %s)\n"
               "  --coap-port=PORT      UDP port of the coap-aes endpoint; 0 picks a free one\n"
               "                        (default: %u)\n"
               "  --https-port=PORT     Serve HTTPS (PROTOCOL.md section C) on this TCP port; 0 picks a\n"
               "                        free one (default: no HTTPS endpoint)\n"
               "  --dtls-port=PORT      Serve coap-dtls on this UDP port; 0 picks a free one (default: no\n"
               "                        DTLS endpoint). PSK per B.2 (identity and key from the devices\n"
               "                        file); with --cert and --key it offers certificates as well\n"
               "  --cert=FILE           PEM server certificate (chain) for HTTPS and DTLS; required with\n"
               "                        --https-port\n"
               "  --key=FILE            PEM private key of --cert; required with --https-port\n"
               "  --token-ttl=SECONDS   Token lifetime; an expired token gets 4.01 (HTTPS: code 20001)\n"
               "                        (default: %u, 7 days; 0 expires tokens at once)\n"
               "  --strict-seq          Require seq > seqOffset (default: seq >= seqOffset, as the SDK sends)\n"
               "  --fault-rate=PERCENT  Give that share of publish requests the fault of --fault-mode\n"
               "                        instead of accepting them (default: 0)\n"
               "  --fault-mode=MODE     server-error: answer 5.00 (HTTPS: code 40000) (default);\n"
               "                        empty-ack: CoAP gets an empty ACK and never a response;\n"
               "                        wrong-token: CoAP gets a 2.05 ACK with the request's message\n"
               "                        id but another token, and the message is not recorded;\n"
               "                        garbled-reply: a CoAP publish is recorded, but its 2.05 has an\n"
               "                        option 2090 that is no message id and a payload that does not\n"
               "                        decrypt. HTTPS requests get no fault in the three CoAP modes\n"
               "  --fault-seed=N        Seed of the fault decisions (default: 1)\n"
               "  --fault-auth          Apply --fault-rate to /auth requests as well\n"
               "  --log-level=LEVEL     debug, info, notice, warning, err (default: info)\n"
               "  --help                Show this help\n"
               "  --version             Show the version\n\n"
               "Once listening it prints \"coap-aes ADDR PORT\" (and \"https ADDR PORT\", \"coap-dtls ADDR\n"
               "PORT\") on stdout and notifies READY=1 when $NOTIFY_SOCKET is set.\n"
               "SIGTERM or SIGINT stop it with exit status 0; bad arguments give 2.\n",
               argv0, SIM_DEFAULT_LISTEN, SIM_DEFAULT_COAP_PORT, SIM_DEFAULT_TOKEN_TTL_SEC);
}

static bool address_valid(const char *s) {
        unsigned char buf[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int parse_one(int c, const char *arg, SimConfig *cfg) {
        uint64_t v;

        switch (c) {
        case ARG_DEVICES:
                cfg->devices_path = arg;
                return 0;
        case ARG_RECORD:
                cfg->record_path = arg;
                return 0;
        case ARG_LISTEN:
                if (!address_valid(arg))
                        return log_error_errno(EINVAL, "--listen=%s is not an IPv4 or IPv6 address.", arg);
                cfg->listen = arg;
                return 0;
        case ARG_COAP_PORT:
                if (parse_u64(arg, 0, UINT16_MAX, &v) < 0)
                        return log_error_errno(EINVAL, "--coap-port=%s is not a port number (0-65535).", arg);
                cfg->coap_port = (uint16_t) v;
                return 0;
        case ARG_HTTPS_PORT:
                if (parse_u64(arg, 0, UINT16_MAX, &v) < 0)
                        return log_error_errno(EINVAL, "--https-port=%s is not a port number (0-65535).", arg);
                cfg->https = true;
                cfg->https_port = (uint16_t) v;
                return 0;
        case ARG_DTLS_PORT:
                if (parse_u64(arg, 0, UINT16_MAX, &v) < 0)
                        return log_error_errno(EINVAL, "--dtls-port=%s is not a port number (0-65535).", arg);
                cfg->dtls = true;
                cfg->dtls_port = (uint16_t) v;
                return 0;
        case ARG_CERT:
                cfg->cert_path = arg;
                return 0;
        case ARG_KEY:
                cfg->key_path = arg;
                return 0;
        case ARG_TOKEN_TTL:
                if (parse_u64(arg, 0, UINT32_MAX, &v) < 0)
                        return log_error_errno(EINVAL, "--token-ttl=%s is not a number of seconds.", arg);
                cfg->token_ttl_usec = v * UINT64_C(1000000);
                return 0;
        case ARG_STRICT_SEQ:
                cfg->strict_seq = true;
                return 0;
        case ARG_FAULT_RATE:
                if (parse_u64(arg, 0, 100, &v) < 0)
                        return log_error_errno(EINVAL, "--fault-rate=%s is not a percentage (0-100).", arg);
                cfg->fault_rate = (unsigned) v;
                return 0;
        case ARG_FAULT_SEED:
                if (parse_u64(arg, 0, UINT64_MAX, &v) < 0)
                        return log_error_errno(EINVAL, "--fault-seed=%s is not a number.", arg);
                cfg->fault_seed = v;
                return 0;
        case ARG_FAULT_AUTH:
                cfg->fault_auth = true;
                return 0;
        case ARG_FAULT_MODE:
                cfg->fault_mode = sim_fault_mode_from_string(arg);
                if (cfg->fault_mode < 0)
                        return log_error_errno(EINVAL, "--fault-mode=%s is not server-error, empty-ack, wrong-token or garbled-reply.",
                                               arg);
                return 0;
        case ARG_LOG_LEVEL:
                cfg->log_level = log_level_from_string(arg);
                if (cfg->log_level < 0)
                        return log_error_errno(EINVAL, "--log-level=%s is not a log level.", arg);
                return 0;
        }
        return log_error_errno(EINVAL, "Unknown option. See --help.");
}

int sim_config_parse(int argc, char *argv[], SimConfig *ret) {
        static const struct option options[] = {
                { "devices", required_argument, NULL, ARG_DEVICES },
                { "record", required_argument, NULL, ARG_RECORD },
                { "listen", required_argument, NULL, ARG_LISTEN },
                { "coap-port", required_argument, NULL, ARG_COAP_PORT },
                { "https-port", required_argument, NULL, ARG_HTTPS_PORT },
                { "dtls-port", required_argument, NULL, ARG_DTLS_PORT },
                { "cert", required_argument, NULL, ARG_CERT },
                { "key", required_argument, NULL, ARG_KEY },
                { "token-ttl", required_argument, NULL, ARG_TOKEN_TTL },
                { "strict-seq", no_argument, NULL, ARG_STRICT_SEQ },
                { "fault-rate", required_argument, NULL, ARG_FAULT_RATE },
                { "fault-seed", required_argument, NULL, ARG_FAULT_SEED },
                { "fault-auth", no_argument, NULL, ARG_FAULT_AUTH },
                { "fault-mode", required_argument, NULL, ARG_FAULT_MODE },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "help", no_argument, NULL, ARG_HELP },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        SimConfig cfg = {
                .listen = SIM_DEFAULT_LISTEN,
                .coap_port = SIM_DEFAULT_COAP_PORT,
                .token_ttl_usec = SIM_DEFAULT_TOKEN_TTL_SEC * UINT64_C(1000000),
                .log_level = LOG_INFO,
                .fault_seed = 1,
        };
        int c, r;

        optind = 0; /* glibc: full re-initialisation, so the unit test can parse several times */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c == ARG_HELP) {
                        help(program_invocation_short_name);
                        return 1;
                }
                if (c == ARG_VERSION) {
                        printf("iotpub-cloudsim %s\n", IOTPUB_VERSION);
                        return 1;
                }
                if (c == '?')
                        return log_error_errno(EINVAL, "%s: %s. See --help.", argv[optind - 1],
                                               optopt ? "missing or unexpected argument" : "unknown option");
                r = parse_one(c, optarg, &cfg);
                if (r < 0)
                        return r;
        }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument \"%s\". See --help.", argv[optind]);
        if (!cfg.devices_path)
                return log_error_errno(EINVAL, "--devices=FILE is required. See --help.");
        if (!cfg.cert_path != !cfg.key_path)
                return log_error_errno(EINVAL, "--cert=FILE and --key=FILE go together. See --help.");
        if (cfg.https && (!cfg.cert_path || !cfg.key_path))
                return log_error_errno(EINVAL, "--https-port needs --cert=FILE and --key=FILE. See --help.");
        /* Not refused: the CoAP endpoint is always served beside HTTPS, so one emulator can stall a CoAP device
         * while an HTTPS device goes on. Said, so that nobody takes an unfaulted HTTPS run for a faulted one. */
        if (cfg.https && cfg.fault_rate > 0 && !sim_fault_mode_applies_to_https(cfg.fault_mode))
                log_notice("--fault-mode=%s applies to CoAP only; HTTPS requests get no fault.",
                           sim_fault_mode_to_string(cfg.fault_mode));

        *ret = cfg;
        return 0;
}

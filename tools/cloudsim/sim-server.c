/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SimServer: wiring of the event loop, devices, sessions, record and endpoints; readiness and signals. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "macro.h"
#include "sim-coap.h"
#include "sim-https.h"
#include "sim-server.h"

int sim_server_new(const SimConfig *config, SimServer **ret) {
        _cleanup_(sim_server_freep) SimServer *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->config = config;
        sim_fault_init(&s->fault, config->fault_mode, config->fault_rate, config->fault_seed, config->fault_auth);

        r = sim_devices_load(config->devices_path, &s->devices);
        if (r < 0)
                return r == -ENOMEM ? r : -EINVAL;
        if (s->devices->n_devices == 0)
                log_warning("%s lists no devices; every auth will get 4.01.", config->devices_path);

        r = sim_sessions_new(&s->sessions);
        if (r < 0)
                return r;
        if (config->record_path) {
                r = sim_record_open(config->record_path, &s->record);
                if (r < 0)
                        return log_error_errno(r, "Cannot open record file %s: %m", config->record_path);
        }

        r = sd_event_new(&s->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        r = sim_coap_new(s, &s->coap);
        if (r < 0)
                return log_error_errno(r, "Cannot create the CoAP context: %m");
        if (config->https) {
                r = sim_https_new(s, &s->https);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(s);
        return 0;
}

SimServer *sim_server_free(SimServer *s) {
        if (!s)
                return NULL;
        sim_https_free(s->https);
        sim_coap_free(s->coap);
        sd_event_unref(s->event);
        sim_record_free(s->record);
        sim_sessions_free(s->sessions);
        sim_devices_free(s->devices);
        free(s);
        return NULL;
}

static int on_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        SimServer *s = userdata;

        log_debug("Received signal %u, exiting.", si->ssi_signo);
        return sd_event_exit(s->event, 0);
}

int sim_server_start(SimServer *s) {
        uint16_t port;
        int r;

        /* Signals first, so a SIGTERM right after readiness is never lost. */
        r = sd_event_add_signal(s->event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_signal, s);
        if (r >= 0)
                r = sd_event_add_signal(s->event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_signal, s);
        if (r < 0)
                return log_error_errno(r, "Cannot watch SIGTERM and SIGINT: %m");

        r = sim_coap_listen_aes(s->coap, s->config->listen, s->config->coap_port, &port);
        if (r < 0)
                return r;

        log_info("Listening for coap-aes on %s port %u with %zu devices.", s->config->listen, port,
                 s->devices->n_devices);
        printf("coap-aes %s %u\n", s->config->listen, port);
        if (s->https) {
                r = sim_https_listen(s->https, s->config->listen, s->config->https_port, &port);
                if (r < 0)
                        return r;
                log_info("Listening for https on %s port %u.", s->config->listen, port);
                printf("https %s %u\n", s->config->listen, port);
        }
        if (fflush(stdout) != 0)
                return log_error_errno(errno, "Cannot write the readiness line to stdout: %m");

        if (s->config->dtls) {
                r = sim_coap_listen_dtls(s->coap, s->config->listen, s->config->dtls_port, s->config->cert_path,
                                         s->config->key_path, &port);
                if (r < 0)
                        return r;
                log_info("Listening for coap-dtls on %s port %u (PSK%s).", s->config->listen, port,
                         s->config->cert_path ? " and certificate" : "");
                printf("coap-dtls %s %u\n", s->config->listen, port);
                if (fflush(stdout) != 0)
                        return log_error_errno(errno, "Cannot write the readiness line to stdout: %m");
        }

        r = sd_notify(0, "READY=1");
        if (r < 0)
                log_warning_errno(r, "sd_notify(READY=1) failed: %m");
        return 0;
}

int sim_server_run(SimServer *s) {
        int r = sd_event_loop(s->event);

        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        (void) sd_notify(0, "STOPPING=1");
        if (s->fault.rate_percent > 0) {
                /* On stdout, beside the port lines, for the tests' figures. */
                log_info("Injected %" PRIu64 " faults in %" PRIu64 " publish requests, %" PRIu64 " in %" PRIu64
                         " auth requests.", s->fault.injected[SIM_FAULT_PUBLISH], s->fault.seen[SIM_FAULT_PUBLISH],
                         s->fault.injected[SIM_FAULT_AUTH], s->fault.seen[SIM_FAULT_AUTH]);
                printf("faults publish=%" PRIu64 "/%" PRIu64 " auth=%" PRIu64 "/%" PRIu64 "\n",
                       s->fault.injected[SIM_FAULT_PUBLISH], s->fault.seen[SIM_FAULT_PUBLISH],
                       s->fault.injected[SIM_FAULT_AUTH], s->fault.seen[SIM_FAULT_AUTH]);
                (void) fflush(stdout);
        }
        return r;
}

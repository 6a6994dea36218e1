/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Wiring of iotpubd: configuration, identities, outbox, CoAP context and bus; see manager.h. */
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "bus-device.h"
#include "bus-errors.h"
#include "bus-manager.h"
#include "log.h"
#include "manager-devices.h"
#include "manager.h"
#include "transport.h"

#define RESERVE_SIZE (512 * 1024) /* enough to record deliveries with a checkpointed WAL */

/* Queue sizes and counters change with every message: their PropertiesChanged go out at most this often
 * (with the latest values), so that a fast link does not send the bus two of them per message. State, LastError,
 * TokenExpiresAt and Online are signalled at once, and take anything pending with them. */
#define CHANGED_MIN_INTERVAL_USEC (100 * 1000)

static void emit_changed(Manager *m) {
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &m->changed_usec);
        (void) sd_event_source_set_enabled(m->changed_timer, SD_EVENT_OFF);
        for (size_t i = 0; i < m->n_devices; i++)
                if (m->devices[i]->changed)
                        bus_device_emit_changed(m->devices[i]);
        if (m->queue_changed) {
                m->queue_changed = false;
                bus_manager_emit_changed(m);
                expiry_schedule(m->expiry);
        }
        if (m->online_changed) {
                m->online_changed = false;
                bus_manager_emit_online_changed(m);
        }
}

static bool changed_urgent(Manager *m) {
        if (m->online_changed)
                return true;
        for (size_t i = 0; i < m->n_devices; i++)
                if (m->devices[i]->changed & (DEVICE_PROP_STATE | DEVICE_PROP_LAST_ERROR | DEVICE_PROP_TOKEN_EXPIRES_AT))
                        return true;
        return false;
}

static int on_changed(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        uint64_t now = 0;

        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (!changed_urgent(m) && m->changed_usec > 0 && now < m->changed_usec + CHANGED_MIN_INTERVAL_USEC) {
                (void) sd_event_source_set_time(m->changed_timer, m->changed_usec + CHANGED_MIN_INTERVAL_USEC);
                (void) sd_event_source_set_enabled(m->changed_timer, SD_EVENT_ONESHOT);
                return 0;
        }
        emit_changed(m);
        return 0;
}

static int on_changed_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        emit_changed(userdata);
        return 0;
}

void manager_schedule_changed(Manager *m) {
        (void) sd_event_source_set_enabled(m->changed_source, SD_EVENT_ONESHOT);
}

static void on_outbox_failed(void *userdata, int error) {
        Manager *m = userdata;
        bool released;

        /* Deliveries could not be recorded. On a full disk, give up the reserve once so the queue can drain
         * (which frees space); otherwise back off rather than re-send in a loop. */
        released = error == -ENOSPC && m->reserve && reserve_release(m->reserve) > 0;
        for (size_t i = 0; i < m->n_devices; i++) {
                /* The rolled-back transaction may have recorded deliveries: those messages are queued again. */
                transport_requeued(m->devices[i]->transport);
                if (released)
                        transport_resume(m->devices[i]->transport);
                else
                        transport_storage_failed(m->devices[i]->transport, error);
        }
}

static void on_outbox_changed(void *userdata) {
        Manager *m = userdata;

        m->queue_changed = true;
        manager_schedule_changed(m);
}

Device *manager_find_device(Manager *m, const char *name) {
        for (size_t i = 0; i < m->n_devices; i++)
                if (streq(device_name(m->devices[i]), name))
                        return m->devices[i];
        return NULL;
}

static void manager_notify_status(Manager *m) {
        (void) sd_notifyf(false, "STATUS=Serving %zu device(s), %" PRIu64 " message(s) queued%s.",
                          m->n_devices, outbox_count(m->outbox), m->online ? "" : ", offline (no uplink)");
}

static void on_network_changed(void *userdata, const NetmonStatus *status, bool online_changed) {
        Manager *m = userdata;
        char name[IF_NAMESIZE] = "?";

        /* A cheap moment to look at the clock again (see clock-watch.h). */
        (void) clock_watch_check(m->clock);

        if (status->online)
                (void) if_indextoname((unsigned) status->ifindex, name);
        if (online_changed) {
                m->online = status->online;
                m->online_changed = true;
                manager_schedule_changed(m);
                if (m->online)
                        log_info("Uplink %s is available: sending what is queued.", name);
                else
                        log_notice("No uplink: holding messages until one appears.");
                manager_notify_status(m);
        } else
                log_info("The addresses of uplink %s changed.", name);
        for (size_t i = 0; i < m->n_devices; i++)
                transport_network_changed(m->devices[i]->transport, !online_changed && status->online);
}

/* Follows links, addresses and routes; without netlink, the daemon behaves as if an uplink always existed. */
static void manager_watch_network(Manager *m) {
        int r;

        r = netmon_new(m->event, m->config.interface, on_network_changed, m, &m->netmon);
        if (r < 0) {
                log_warning_errno(r, "Cannot watch the network, assuming an uplink: %m");
                return;
        }
        m->online = netmon_status(m->netmon)->online;
        if (!m->online)
                log_notice("No uplink%s%s: holding messages until one appears.",
                           isempty(m->config.interface) ? "" : " on ", m->config.interface);
}

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Manager *m = userdata;

        m->name_slot = sd_bus_slot_unref(m->name_slot);
        if (e) {
                log_error("Cannot own the bus name org.iotpub1: %s", e->message ?: e->name);
                return sd_event_exit(m->event, -EACCES);
        }
        m->ready = true;
        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);
        log_info("Ready: org.iotpub1 owned, %" PRIu64 " message(s) in the outbox.", outbox_count(m->outbox));
        for (size_t i = 0; i < m->n_devices; i++)
                device_kick(m->devices[i]);
        return 0;
}

static int manager_connect_bus(Manager *m) {
        sd_id128_t bus_id;
        int r;

        if (m->bus_address) {
                r = sd_bus_new(&m->bus);
                if (r >= 0)
                        r = sd_bus_set_address(m->bus, m->bus_address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(m->bus, true);
                if (r >= 0)
                        r = sd_bus_start(m->bus);
        } else
                r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the %s bus: %m", m->bus_address ? "given" : "system");
        (void) sd_bus_set_description(m->bus, "iotpubd");
        (void) sd_bus_error_add_map(bus_error_map);
        r = sd_bus_get_bus_id(m->bus, &bus_id);
        if (r < 0)
                return log_error_errno(r, "Cannot learn the bus's id: %m");
        (void) sd_id128_to_string(bus_id, m->bus_id);

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        r = caller_cache_new(m->bus, &m->callers);
        if (r < 0)
                return log_error_errno(r, "Cannot follow bus connections: %m");
        r = bus_manager_register(m);
        if (r < 0)
                return r;
        r = bus_device_register(m);
        if (r < 0)
                return r;
        r = sd_bus_request_name_async(m->bus, &m->name_slot, "org.iotpub1", 0, on_name_acquired, m);
        if (r < 0)
                return log_error_errno(r, "Cannot request the bus name: %m");
        return 0;
}

/* The state directory holds queued topics and payloads and cached tokens: only iotpubd may enter it. One that
 * others may enter is tightened rather than refused, as systemd does with StateDirectoryMode=0700 at every start;
 * one owned by another user (who could loosen it again) is refused. */
static int manager_state_dir_secure(Manager *m) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (mkdir(m->state_dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Cannot create the state directory %s: %m", m->state_dir);
        fd = open(m->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return log_error_errno(errno, "Cannot open the state directory %s: %m", m->state_dir);
        if (st.st_uid != geteuid() && st.st_uid != 0)
                return log_error_errno(EPERM, "The state directory %s is owned by uid %u, not by iotpubd's user; run: "
                                       "chown %u %s", m->state_dir, (unsigned) st.st_uid, (unsigned) geteuid(),
                                       m->state_dir);
        if ((st.st_mode & 0077) == 0)
                return 0;
        if (fchmod(fd, 0700) < 0)
                return log_error_errno(errno, "The state directory %s has mode %04o and cannot be made 0700: %m",
                                       m->state_dir, (unsigned) (st.st_mode & 07777));
        log_warning("The state directory %s had mode %04o, which let other users in; changed it to 0700.",
                    m->state_dir, (unsigned) (st.st_mode & 07777));
        return 0;
}

static void on_clock_changed(void *userdata, ClockVerdict verdict, const ClockSample *now) {
        Manager *m = userdata;
        int r;

        if (verdict == CLOCK_TRUSTED) {
                log_info("The system clock is trusted now; certificates are checked again.");
                r = outbox_ttl_clock_trusted(m->outbox, now);
                if (r < 0)
                        log_warning_errno(r, "Cannot take the time the device was off from waiting TTLs: %m");
                expiry_schedule(m->expiry);
        } else
                log_notice("The system clock is wrong: %s.", strempty(clock_watch_problem(m->clock)));
        for (size_t i = 0; i < m->n_devices; i++)
                transport_clock_changed(m->devices[i]->transport);
}

/* The wall clock's verdict, and this boot's identity for TTL deadlines; then the outbox takes over the messages of
 * earlier boots (expiry.h). */
static int manager_start_clock(Manager *m) {
        ClockSample now;
        sd_id128_t id;
        int r;

        r = clock_watch_new(m->event, CLOCK_TIMESYNC_DIR, on_clock_changed, m, &m->clock);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the system clock: %m");
        r = sd_id128_get_boot(&id);
        if (r < 0) {
                /* Then every start counts as a new boot: TTLs stay safe (never shorter), only less exact. */
                log_warning_errno(r, "Cannot read the boot id, TTLs count as if the system had rebooted: %m");
                if (sd_id128_randomize(&id) < 0)
                        id = SD_ID128_NULL;
        }
        (void) sd_id128_to_string(id, m->boot_id);
        if (clock_watch_verdict(m->clock) != CLOCK_TRUSTED)
                log_notice("The system clock is wrong: %s.", clock_watch_problem(m->clock));
        clock_watch_sample(m->clock, &now);
        r = outbox_ttl_start(m->outbox, m->boot_id, &now, clock_watch_verdict(m->clock) == CLOCK_TRUSTED);
        if (r < 0)
                return log_error_errno(r, "Cannot take over the TTLs of queued messages: %m");
        return 0;
}

static int manager_open_state(Manager *m) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = manager_state_dir_secure(m);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/outbox.db", m->state_dir) < 0)
                return log_oom();
        r = outbox_open(m->event, path, &m->outbox);
        if (r < 0)
                return r;
        outbox_set_change_callback(m->outbox, on_outbox_changed, m);
        outbox_set_failure_callback(m->outbox, on_outbox_failed, m);
        r = reserve_new(m->state_dir, RESERVE_SIZE, &m->reserve);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the space reserve in %s: %m", m->state_dir);
        r = manager_start_clock(m);
        if (r < 0)
                return r;
        r = expiry_new(m, &m->expiry);
        if (r < 0)
                return log_error_errno(r, "Cannot set up TTL expiry: %m");
        return 0;
}

static void manager_apply_config(Manager *m, const Config *c) {
        struct group *gr;

        m->config = *c;
        m->have_admin_gid = false;
        if (!isempty(c->admin_group)) {
                gr = getgrnam(c->admin_group);
                if (gr) {
                        m->admin_gid = gr->gr_gid;
                        m->have_admin_gid = true;
                } else
                        log_notice("AdminGroup=%s does not exist; only root may administer iotpubd.", c->admin_group);
        }
        for (size_t i = 0; i < m->n_devices; i++)
                transport_configure(m->devices[i]->transport, &m->config);
        if (m->coap)
                coap_glue_set_ack_timeout(m->coap, (unsigned) c->coap_ack_timeout_msec);
        if (m->netmon)
                (void) netmon_set_interface(m->netmon, c->interface);
}

/* Loads iotpubd.conf and the access rules; nothing changes unless both are valid. */
static int manager_load_config(Manager *m, char problem[static LOG_CAPTURE_MAX]) {
        _cleanup_free_ char *conf = NULL;
        _cleanup_(acl_freep) Acl *acl = NULL;
        Config c;
        int r;

        problem[0] = 0;
        config_defaults(&c);
        if (asprintf(&conf, "%s/iotpubd.conf", m->config_dir) < 0)
                return log_oom();
        log_set_capture(log_capture_first, problem);
        r = config_load(conf, &c);
        if (r >= 0)
                r = acl_load(m->config_dir, NULL, NULL, &acl);
        log_set_capture(NULL, NULL);
        if (r < 0)
                return r;
        manager_apply_config(m, &c);
        acl_free(m->acl);
        m->acl = TAKE_PTR(acl);
        log_info("Loaded %zu access rule(s).", m->acl->n_rules);
        return 0;
}

int manager_reload(Manager *m, sd_bus_error *error) {
        char problem[LOG_CAPTURE_MAX];
        int r;

        log_info("Reloading configuration.");
        (void) clock_watch_check(m->clock);
        r = manager_load_config(m, problem);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_CONFIGURATION,
                                         "Configuration refused, the previous one stays in force: %s",
                                         problem[0] ? problem : "see the log");
        if (r < 0)
                return r;
        problem[0] = 0;
        log_set_capture(log_capture_first, problem);
        r = manager_devices_load(m);
        log_set_capture(NULL, NULL);
        if (r < 0)
                return r;
        manager_notify_status(m);
        /* The rest is in force; say so, and which file was refused first, rather than a plain success. */
        if (r > 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_CONFIGURATION,
                                         "Reloaded, but %d device file(s) were refused; a device already running "
                                         "from such a file keeps its previous identity. First: %s", r,
                                         problem[0] ? problem : "see the log");
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) manager_reload(userdata, NULL);
        return 0;
}

int manager_start(Manager *m) {
        char problem[LOG_CAPTURE_MAX];
        int r;

        r = manager_load_config(m, problem);
        if (r == -EINVAL && !m->acl) {
                /* Keep delivering what is queued; nobody but root may publish until the rules are fixed. */
                log_error("Starting without access rules (everyone but root is denied): %s", problem);
                m->acl = calloc(1, sizeof(Acl));
                if (!m->acl)
                        return log_oom();
        } else if (r < 0)
                return r;
        r = manager_open_state(m);
        if (r < 0)
                return r;
        r = coap_glue_new(m->event, (unsigned) m->config.coap_ack_timeout_msec, &m->coap);
        if (r < 0)
                return log_error_errno(r, "Cannot set up libcoap: %m");
        manager_watch_network(m);
        r = manager_devices_load(m);
        if (r < 0)
                return r;
        return manager_connect_bus(m);
}

int manager_run(Manager *m) {
        int r = sd_event_loop(m->event);

        (void) sd_notify(false, "STOPPING=1");
        return r;
}

int manager_new(const ManagerArgs *args, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t mask;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        config_defaults(&m->config);
        m->online = true;
        m->config_dir = strdup(args->config_dir);
        m->state_dir = strdup(args->state_dir);
        if (!m->config_dir || !m->state_dir || free_and_strdup(&m->bus_address, args->bus_address) < 0)
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        (void) sigemptyset(&mask);
        (void) sigaddset(&mask, SIGTERM);
        (void) sigaddset(&mask, SIGINT);
        (void) sigaddset(&mask, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                return r;
        (void) sd_event_set_watchdog(m->event, true);

        r = sd_event_add_defer(m->event, &m->changed_source, on_changed, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_priority(m->changed_source, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_enabled(m->changed_source, SD_EVENT_OFF);
        r = sd_event_add_time(m->event, &m->changed_timer, CLOCK_MONOTONIC, 0, 1000, on_changed_timer, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(m->changed_timer, SD_EVENT_OFF);

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_devices; i++)
                device_free(m->devices[i]);
        free(m->devices);
        m->devices = NULL;
        m->n_devices = 0;
        /* How far this boot got, for the TTLs of what is still queued at the next start. */
        if (m->expiry)
                expiry_checkpoint(m->expiry);
        clock_watch_free(m->clock);
        /* Commits the open group transaction and answers its callers, so the bus must still be up. */
        expiry_free(m->expiry);
        reserve_free(m->reserve);
        outbox_free(m->outbox);
        netmon_free(m->netmon);
        coap_glue_free(m->coap);
        sd_bus_slot_unref(m->name_slot);
        caller_cache_free(m->callers);
        sd_bus_flush_close_unref(m->bus);
        sd_event_source_unref(m->changed_source);
        sd_event_source_unref(m->changed_timer);
        sd_event_unref(m->event);
        acl_free(m->acl);
        free(m->bus_address);
        free(m->config_dir);
        free(m->state_dir);
        free(m);
        return NULL;
}

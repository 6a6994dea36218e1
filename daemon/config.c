/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing of iotpubd.conf with inih; see config.h. */
#include <errno.h>
#include <stddef.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "safe-file.h"

#define USEC_PER_SEC 1000000ULL

void config_defaults(Config *c) {
        *c = (Config) {
                .max_queue_messages = 1000000,
                .max_queue_bytes = 256ULL * 1024 * 1024,
                .max_queue_messages_per_user = 100000,
                .max_queue_bytes_per_user = 64ULL * 1024 * 1024,
                .admin_group = "iotpub-admin",
                .backoff_min_usec = 1 * USEC_PER_SEC,
                .backoff_max_usec = 300 * USEC_PER_SEC,
                .coap_ack_timeout_msec = 2000,
                .max_in_flight = 1,
                .nat_timeout_usec = 30 * USEC_PER_SEC,
        };
}

typedef struct ConfigParse {
        Config config;
        char error[256];
} ConfigParse;

/* Keeps the first problem only: inih reports the line of the first error. Messages name the key, never the
 * value: whatever was typed there (a secret pasted into the wrong file, say) stays out of the log and out of
 * Reload's and CheckConfiguration's replies, like for identity files; "FILE:LINE: Key=" is enough to find it. */
_printf_(2, 3) static int config_error(ConfigParse *p, const char *fmt, ...) {
        va_list ap;

        if (!p->error[0]) {
                va_start(ap, fmt);
                (void) vsnprintf(p->error, sizeof(p->error), fmt, ap);
                va_end(ap);
        }
        return 0;
}

static int on_key(void *userdata, const char *section, const char *name, const char *value) {
        static const struct {
                const char *name;
                size_t offset;
                uint64_t min, max, scale;
        } keys[] = {
                { "MaxQueueMessages", offsetof(Config, max_queue_messages), 1, UINT32_MAX, 1 },
                { "MaxQueueBytes", offsetof(Config, max_queue_bytes), 1024, UINT64_MAX / 2, 1 },
                { "MaxQueueMessagesPerUser", offsetof(Config, max_queue_messages_per_user), 1, UINT32_MAX, 1 },
                { "MaxQueueBytesPerUser", offsetof(Config, max_queue_bytes_per_user), 1024, UINT64_MAX / 2, 1 },
                { "BackoffMinSec", offsetof(Config, backoff_min_usec), 1, 3600, USEC_PER_SEC },
                { "BackoffMaxSec", offsetof(Config, backoff_max_usec), 1, 86400, USEC_PER_SEC },
                /* libcoap 4.3.1 ignores an ACK_TIMEOUT below one second. */
                { "CoapAckTimeoutMSec", offsetof(Config, coap_ack_timeout_msec), 1000, 60000, 1 },
                { "MaxInFlight", offsetof(Config, max_in_flight), 1, TRANSPORT_WINDOW_LIMIT, 1 },
                { "NatTimeoutSec", offsetof(Config, nat_timeout_usec), 0, 86400, USEC_PER_SEC },
        };
        ConfigParse *p = userdata;
        uint64_t v;

        if (!streq(section, "Daemon")) {
                config_error(p, "unknown section, expected [Daemon]");
                return 0;
        }
        if (streq(name, "AdminGroup")) {
                if (strlen(value) >= CONFIG_GROUP_MAX || strpbrk(value, " \t:/")) {
                        config_error(p, "AdminGroup= is not a group name");
                        return 0;
                }
                (void) snprintf(p->config.admin_group, sizeof(p->config.admin_group), "%s", value);
                return 1;
        }
        if (streq(name, "Interface")) {
                if (strlen(value) >= CONFIG_INTERFACE_MAX || strpbrk(value, " \t:/") || streq(value, ".") ||
                    streq(value, "..")) {
                        config_error(p, "Interface= is not an interface name (1-15 characters, no blanks, ':' or '/')");
                        return 0;
                }
                (void) snprintf(p->config.interface, sizeof(p->config.interface), "%s", value);
                return 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (!streq(name, keys[i].name))
                        continue;
                if (parse_u64(value, keys[i].min, keys[i].max, &v) < 0) {
                        config_error(p, "%s= is not a number in %llu..%llu", keys[i].name,
                                     (unsigned long long) keys[i].min, (unsigned long long) keys[i].max);
                        return 0;
                }
                *(uint64_t *) ((char *) &p->config + keys[i].offset) = v * keys[i].scale;
                return 1;
        }
        config_error(p, "unknown key; the keys are listed in iotpubd.conf(5)");
        return 0;
}

int config_load(const char *path, Config *c) {
        char reason[SAFE_FILE_REASON_MAX];
        ConfigParse p = { .config = *c };
        _cleanup_(safe_file_done) SafeFile f = {};
        int line, r;

        /* AdminGroup= decides who may administer the daemon: the file is trusted like the access rules. */
        r = safe_file_read(path, SAFE_FILE_TRUSTED, SAFE_FILE_CONFIG_MAX, &f, reason);
        if (r == -ENOENT)
                return 0;
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) /* refused for its owner or mode: like a malformed file, not like an unreadable one */
                return log_error_errno(r == -EPERM ? EINVAL : r, "%s", reason);
        line = ini_parse_string(f.data, on_key, &p);
        if (line != 0)
                return log_error_errno(EINVAL, "%s:%d: %s", path, line,
                                       p.error[0] ? p.error : "syntax error, expected [Daemon] and Key=Value lines");
        if (p.config.backoff_min_usec > p.config.backoff_max_usec)
                return log_error_errno(EINVAL, "%s: BackoffMinSec= is larger than BackoffMaxSec=.", path);
        *c = p.config;
        return 0;
}

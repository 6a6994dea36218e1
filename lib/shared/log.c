/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Journal or stderr logging with a max level; see log.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "log.h"

static const char *log_identifier = "iotpub";
static int log_max_level = LOG_INFO;
static int log_to_journal = -1;
static log_capture_t log_capture = NULL;
static void *log_capture_userdata = NULL;

void log_set_capture(log_capture_t cb, void *userdata) {
        log_capture = cb;
        log_capture_userdata = userdata;
}

void log_setup(const char *identifier) {
        if (identifier)
                log_identifier = identifier;
        /* JOURNAL_STREAM is set by systemd when stderr is connected to the journal. */
        log_to_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_capture_first(void *userdata, const char *message) {
        char *buf = userdata;

        if (!buf[0])
                (void) snprintf(buf, LOG_CAPTURE_MAX, "%s", message);
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

int log_level_from_string(const char *s) {
        static const char *const names[] = {
                [LOG_EMERG] = "emerg",   [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit",
                [LOG_ERR] = "err",       [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info",     [LOG_DEBUG] = "debug",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcaseeq(s, names[i]))
                        return (int) i;
        if (strcaseeq(s, "error"))
                return LOG_ERR;
        return -EINVAL;
}

int log_internal(int level, int error, const char *device, const char *file, int line, const char *func,
                 const char *format, ...) {
        char buf[2048];
        va_list ap;

        if (error < 0)
                error = -error;
        if (level > log_max_level && !(log_capture && level <= LOG_ERR))
                return -error;

        errno = error;
        va_start(ap, format);
        (void) vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        if (log_capture && level <= LOG_ERR)
                log_capture(log_capture_userdata, buf);
        if (level > log_max_level)
                return -error;

        if (log_to_journal > 0) {
                char fbuf[256], lbuf[32];

                (void) snprintf(fbuf, sizeof(fbuf), "CODE_FILE=%s", file);
                (void) snprintf(lbuf, sizeof(lbuf), "CODE_LINE=%d", line);
                if (device)
                        (void) sd_journal_send_with_location(fbuf, lbuf, func,
                                                             "MESSAGE=%s", buf,
                                                             "PRIORITY=%d", level,
                                                             "SYSLOG_IDENTIFIER=%s", log_identifier,
                                                             "DEVICE=%s", device,
                                                             "ERRNO=%d", error,
                                                             NULL);
                else
                        (void) sd_journal_send_with_location(fbuf, lbuf, func,
                                                             "MESSAGE=%s", buf,
                                                             "PRIORITY=%d", level,
                                                             "SYSLOG_IDENTIFIER=%s", log_identifier,
                                                             "ERRNO=%d", error,
                                                             NULL);
        } else {
                if (device)
                        fprintf(stderr, "<%d>%s: %s\n", level, device, buf);
                else
                        fprintf(stderr, "<%d>%s\n", level, buf);
        }

        return -error;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging for iotpubd and the tools: structured journal fields when running under systemd, "<N>" prefixed
 * stderr lines otherwise. Protocol code in lib/shared never logs; never pass secrets or payloads here. */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

void log_setup(const char *identifier);
void log_set_max_level(int level);
int log_get_max_level(void);
int log_level_from_string(const char *s);

/* While set, every message at LOG_ERR or more severe is also handed to cb (e.g. to return configuration
 * problems to a D-Bus caller). Pass NULL to stop. */
typedef void (*log_capture_t)(void *userdata, const char *message);
void log_set_capture(log_capture_t cb, void *userdata);

/* A log_capture_t that keeps the first message in userdata, a char[LOG_CAPTURE_MAX] starting empty. */
#define LOG_CAPTURE_MAX 512
void log_capture_first(void *userdata, const char *message);

/* Logs and returns -abs(error) (or 0 if error is 0), so callers can "return log_error_errno(r, ...)". An
 * optional DEVICE= field is attached when device is not NULL. %m is expanded from error. */
int log_internal(int level, int error, const char *device, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(7, 8);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), NULL, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, (error), __VA_ARGS__)

/* Same, with the DEVICE= journal field set. */
#define log_device_full_errno(dev, level, error, ...) \
        log_internal((level), (error), (dev), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_device_debug(dev, ...) (void) log_device_full_errno((dev), LOG_DEBUG, 0, __VA_ARGS__)
#define log_device_info(dev, ...) (void) log_device_full_errno((dev), LOG_INFO, 0, __VA_ARGS__)
#define log_device_notice(dev, ...) (void) log_device_full_errno((dev), LOG_NOTICE, 0, __VA_ARGS__)
#define log_device_warning(dev, ...) (void) log_device_full_errno((dev), LOG_WARNING, 0, __VA_ARGS__)
#define log_device_error(dev, ...) (void) log_device_full_errno((dev), LOG_ERR, 0, __VA_ARGS__)
#define log_device_warning_errno(dev, error, ...) log_device_full_errno((dev), LOG_WARNING, (error), __VA_ARGS__)
#define log_device_error_errno(dev, error, ...) log_device_full_errno((dev), LOG_ERR, (error), __VA_ARGS__)
#define log_device_debug_errno(dev, error, ...) log_device_full_errno((dev), LOG_DEBUG, (error), __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")

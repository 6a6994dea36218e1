/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Publish topic rules. A topic is written as on the platform, e.g. "/a1B2c3D4e5F/sensor_0042/user/update". */
#pragma once

#include <stddef.h>

#define TOPIC_MAX_LEN 128

/* 0 if the topic is acceptable for Publish, else -EINVAL with *ret_reason (static text, may be NULL) set to
 * a sentence a person can act on. Rules: starts with '/', 2..128 bytes, valid UTF-8, no empty segment (no
 * "//", no trailing '/'), no "." or ".." level, no control characters, space, '+', '#', '?' or NUL. */
int topic_validate(const char *topic, const char **ret_reason);

/* Splits a URI path into its non-empty '/'-separated segments, as the SDK does for Uri-Path options
 * (A.8): "/topic//a/b/" gives {"topic","a","b"}. Returns a NULL-terminated malloc'd array of malloc'd
 * strings (free with topic_segments_free) and the count, or -ENOMEM. */
int topic_split(const char *path, char ***ret_segments, size_t *ret_n);
char **topic_segments_free(char **segments);

/* Emulator side (E.14): rebuilds "/" + segments[1..] joined by "/" from Uri-Path segments whose first must
 * be "topic". Returns 0, -ENOENT if the first segment is not "topic" or there is no second, -ENOMEM. */
int topic_from_uri_path(const char *const *segments, size_t n, char **ret);

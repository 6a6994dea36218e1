/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Publish topic rules: validation (strict UTF-8, no wildcards or empty segments), splitting a URI path into
 * Uri-Path segments as the SDK does (PROTOCOL.md A.8), and rebuilding a topic from them (E.14). */
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "topic.h"
#include "utf8.h"

static const char *topic_check_chars(const char *topic) {
        const unsigned char *p = (const unsigned char *) topic;
        size_t left = strlen(topic);

        while (left > 0) {
                uint32_t cp;
                size_t n;

                n = utf8_decode(p, left, &cp);
                if (n == 0)
                        return "The topic is not valid UTF-8.";
                if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
                        return "The topic contains a control character.";
                if (cp == ' ')
                        return "The topic contains a space.";
                if (cp == '+' || cp == '#')
                        return "The topic contains a wildcard ('+' or '#'); publish to a concrete topic.";
                if (cp == '?')
                        return "The topic contains '?'; query strings are not allowed.";
                p += n;
                left -= n;
        }
        return NULL;
}

/* A "." or ".." level would be removed by URL normalisation (RFC 3986 5.2.4) on the way to an HTTPS server, so
 * the cloud would see another topic than the one the access rules matched. */
static bool topic_has_dot_segment(const char *topic) {
        for (const char *p = topic; p; p = strchr(p + 1, '/')) {
                size_t l = strcspn(p + 1, "/");

                if ((l == 1 && p[1] == '.') || (l == 2 && p[1] == '.' && p[2] == '.'))
                        return true;
        }
        return false;
}

int topic_validate(const char *topic, const char **ret_reason) {
        const char *reason = NULL;
        size_t len;

        if (isempty(topic))
                reason = "The topic is empty.";
        else if (topic[0] != '/')
                reason = "The topic must start with '/', e.g. \"/<ProductKey>/<DeviceName>/user/update\".";
        else if ((len = strlen(topic)) > TOPIC_MAX_LEN)
                reason = "The topic is longer than 128 bytes.";
        else if (!(reason = topic_check_chars(topic))) {
                if (len < 2 || topic[len - 1] == '/')
                        reason = "The topic must not end with '/'.";
                else if (strstr(topic, "//"))
                        reason = "The topic contains an empty level (\"//\").";
                else if (topic_has_dot_segment(topic))
                        reason = "The topic contains a \".\" or \"..\" level; platform topics never do.";
        }

        if (ret_reason)
                *ret_reason = reason;
        return reason ? -EINVAL : 0;
}

char **topic_segments_free(char **segments) {
        if (!segments)
                return NULL;
        for (char **s = segments; *s; s++)
                free(*s);
        free(segments);
        return NULL;
}

static void topic_segments_freep(char ***p) {
        topic_segments_free(*p);
}

int topic_split(const char *path, char ***ret_segments, size_t *ret_n) {
        _cleanup_(topic_segments_freep) char **segments = NULL;
        size_t n = 0, max = 1;

        if (!path || !ret_segments)
                return -EINVAL;

        /* Upper bound on the number of segments: one more than the number of separators. */
        for (const char *p = path; *p; p++)
                max += *p == '/';
        segments = calloc(max + 1, sizeof(char *));
        if (!segments)
                return -ENOMEM;

        for (const char *p = path; *p;) {
                size_t l = strcspn(p, "/");

                if (l > 0) {
                        segments[n] = strndup(p, l);
                        if (!segments[n])
                                return -ENOMEM;
                        n++;
                }
                p += l;
                if (*p == '/')
                        p++;
        }

        *ret_segments = TAKE_PTR(segments);
        if (ret_n)
                *ret_n = n;
        return 0;
}

int topic_from_uri_path(const char *const *segments, size_t n, char **ret) {
        size_t len = 0;
        char *s, *p;

        if ((!segments && n > 0) || !ret)
                return -EINVAL;
        if (n < 2 || !segments[0] || !streq(segments[0], "topic"))
                return -ENOENT;

        for (size_t i = 1; i < n; i++) {
                if (!segments[i])
                        return -EINVAL;
                len += 1 + strlen(segments[i]);
        }

        s = p = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        for (size_t i = 1; i < n; i++) {
                *p++ = '/';
                p = stpcpy(p, segments[i]);
        }
        *p = 0;

        *ret = s;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: topic_validate, topic_split and topic_from_uri_path on one string, checking that a
 * valid topic splits into segments that rebuild it. */
#include <string.h>

#include "fuzz.h"
#include "topic.h"

static void check_split(const char *s) {
        char **segments = NULL;
        size_t n = 0;

        if (topic_split(s, &segments, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                if (!segments[i] || segments[i][0] == 0 || strchr(segments[i], '/'))
                        abort();
        if (segments[n])
                abort();
        topic_segments_free(segments);
}

/* A valid topic sent as Uri-Path "topic" + its segments comes back unchanged at the emulator. */
static void check_round_trip(const char *topic) {
        char **segments = NULL, **uri, *back = NULL;
        size_t n = 0;

        if (topic_split(topic, &segments, &n) < 0)
                return;
        uri = calloc(n + 2, sizeof(char *));
        if (!uri)
                abort();
        uri[0] = (char *) "topic";
        memcpy(uri + 1, segments, n * sizeof(char *));
        if (topic_from_uri_path((const char *const *) uri, n + 1, &back) < 0 || strcmp(back, topic) != 0)
                abort();
        free(back);
        free(uri);
        topic_segments_free(segments);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_strndup(data, size);
        const char *reason = NULL;

        /* Strings with an embedded NUL are what D-Bus could never deliver; the C string view is enough. */
        if (topic_validate(s, &reason) == 0)
                check_round_trip(s);
        else if (!reason)
                abort();
        check_split(s);
        free(s);
        return 0;
}

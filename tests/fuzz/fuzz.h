/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every libFuzzer harness in tests/fuzz shares: the entry point's prototype, quiet logging that still
 * formats every message, and a private temp directory for parsers that take a path. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_log_discard(void *userdata, const char *message) {
        (void) userdata;
        (void) message;
}

/* Nothing reaches stderr, but error messages are still formatted (through the capture hook), so a bad
 * format argument shows up under the sanitizers. */
static inline void fuzz_quiet(void) {
        log_set_max_level(LOG_CRIT);
        log_set_capture(fuzz_log_discard, NULL);
}

/* A directory of our own under $TMPDIR, made once per process and removed at exit by fuzz_tmpdir_cleanup. */
static char fuzz_tmpdir_path[256];

static inline void fuzz_tmpdir_cleanup(void) {
        char cmd[300];

        if (fuzz_tmpdir_path[0] == 0)
                return;
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_tmpdir_path);
        (void) !system(cmd);
}

static inline const char *fuzz_tmpdir(void) {
        if (fuzz_tmpdir_path[0] == 0) {
                const char *t = getenv("TMPDIR");

                (void) snprintf(fuzz_tmpdir_path, sizeof(fuzz_tmpdir_path), "%s/iotpub-fuzz.XXXXXX", t ? t : "/tmp");
                if (!mkdtemp(fuzz_tmpdir_path))
                        abort();
                (void) atexit(fuzz_tmpdir_cleanup);
        }
        return fuzz_tmpdir_path;
}

/* Writes data to path (replacing it) with mode 0600. Aborts on failure: that is the harness's fault. */
static inline void fuzz_write_file(const char *path, const void *data, size_t size) {
        FILE *f = fopen(path, "we");

        if (!f || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
                abort();
        if (chmod(path, 0600) < 0)
                abort();
}

/* A NUL-terminated copy; aborts on out-of-memory, which libFuzzer's -rss_limit_mb reports on its own. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}

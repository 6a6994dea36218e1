/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: config_load on the input written to a temp iotpubd.conf; a file that loads must keep the
 * documented invariants (backoff min <= max, NUL-terminated strings). */
#include <string.h>

#include "../../daemon/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char path[300];
        Config c;

        if (path[0] == 0) {
                fuzz_quiet();
                (void) snprintf(path, sizeof(path), "%s/iotpubd.conf", fuzz_tmpdir());
        }
        fuzz_write_file(path, data, size);
        config_defaults(&c);
        if (config_load(path, &c) < 0)
                return 0;
        if (c.backoff_min_usec > c.backoff_max_usec || !memchr(c.admin_group, 0, sizeof(c.admin_group)) ||
            !memchr(c.interface, 0, sizeof(c.interface)))
                abort();
        return 0;
}

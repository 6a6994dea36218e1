/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: identity_load on the input written to a temp device file (mode 0600), with a credentials
 * directory holding one credential "cred", so Secret=, SecretFile= and SecretCredential= are all reachable. */
#include <string.h>

#include "../../daemon/identity.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char path[300], cred[300];
        Identity *id = NULL;

        if (path[0] == 0) {
                fuzz_quiet();
                (void) snprintf(path, sizeof(path), "%s/sensor.conf", fuzz_tmpdir());
                (void) snprintf(cred, sizeof(cred), "%s/cred", fuzz_tmpdir());
                fuzz_write_file(cred, "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234\n", 33);
        }
        fuzz_write_file(path, data, size);
        if (identity_load(path, fuzz_tmpdir(), &id) < 0)
                return 0;
        if (!id->name || !id->product_key || !id->device_name || !id->client_id || !id->secret ||
            !id->endpoint || strlen(id->client_id) > 64 || id->transport < 0 || id->transport >= _TRANSPORT_KIND_MAX)
                abort();
        (void) transport_kind_to_string(id->transport);
        identity_free(id);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the CoAP /auth 2.05 payload parser (auth_response_parse) in AES and DTLS mode, checking
 * the invariants its header promises on success. */
#include <stdbool.h>
#include <string.h>

#include "auth.h"
#include "fuzz.h"

static void parse(const uint8_t *data, size_t size, bool want_aes) {
        AuthResponse r = {};

        if (auth_response_parse(data, size, want_aes, &r) < 0)
                return;
        if (!r.token || strlen(r.token) == 0 || strlen(r.token) > AUTH_TOKEN_MAX)
                abort();
        if (want_aes && (!r.random || strlen(r.random) == 0 || strlen(r.random) > AUTH_RANDOM_MAX ||
                         r.seq_offset < 0 || r.seq_offset > UINT32_MAX))
                abort();
        auth_response_done(&r);
        auth_response_done(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        parse(data, size, true);
        parse(data, size, false);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the emulator's /auth body parser (auth_claim_parse) and, for what parses, the sign
 * check (auth_claim_verify) against the D.1 secret. */
#include <string.h>

#include "auth.h"
#include "fuzz.h"

#define SECRET "9aBcDeFgHiJkLmNoPqRsTuVwXyZ01234"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        AuthClaim c = {};

        if (auth_claim_parse(data, size, &c) < 0)
                return 0;
        if (!c.product_key || !c.device_name || !c.client_id || !c.sign || c.n_fields > AUTH_CLAIM_FIELDS_MAX ||
            strlen(c.client_id) > AUTH_CLIENT_ID_MAX)
                abort();
        (void) auth_claim_verify(&c, SECRET);
        auth_claim_done(&c);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the daemon's https reply parser (https_reply_parse) for /auth and /topic, the business
 * code mapping and the error text built from a parsed reply. */
#include <string.h>

#include "../../daemon/https-msg.h"
#include "fuzz.h"

static void one(const uint8_t *data, size_t size, bool auth) {
        HttpsReply r = {};
        char *error = NULL;

        if (https_reply_parse(data, size, auth, &r) < 0)
                return;
        if (strlen(r.message) > HTTPS_REPLY_MESSAGE_MAX || strlen(r.cloud_id) > HTTPS_CLOUD_ID_MAX)
                abort();
        if (r.code == 0 && auth && (!r.token || r.token[0] == 0))
                abort();
        (void) https_reply_result(auth, r.code);
        if (https_reply_error(&r, auth, &error) == 0)
                free(error);
        https_reply_done(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool initialized;

        if (!initialized) {
                fuzz_quiet();
                initialized = true;
        }
        one(data, size, true);
        one(data, size, false);
        return 0;
}

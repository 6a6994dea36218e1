/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: json_cbor_encode and json_cbor_decode. The input is tried both as JSON and as CBOR; what
 * encodes must decode again, and a decoded item must encode again. */
#include "fuzz.h"
#include "json-cbor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t *cbor = NULL;
        char *json = NULL;
        size_t len = 0;

        if (json_cbor_encode(data, size, &cbor, &len) == 0) {
                if (json_cbor_decode(cbor, len, &json) < 0)
                        abort();
                free(json);
                json = NULL;
                free(cbor);
                cbor = NULL;
        }
        if (json_cbor_decode(data, size, &json) == 0) {
                if (json_cbor_encode(json, strlen(json), &cbor, &len) < 0)
                        abort();
                free(cbor);
                free(json);
        }
        return 0;
}

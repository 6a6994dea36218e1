/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test helper: "cbor-tool encode" turns JSON on stdin into base64 CBOR, "cbor-tool decode" base64 CBOR into
 * JSON, with the same code the daemon and the emulator use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "json-cbor.h"
#include "macro.h"

int main(int argc, char *argv[]) {
        _cleanup_free_ char *in = NULL, *out = NULL;
        _cleanup_free_ uint8_t *bin = NULL;
        size_t alloc = 0, len = 0, n;
        ssize_t k;
        void *raw = NULL;

        if (argc != 2 || (!streq(argv[1], "encode") && !streq(argv[1], "decode"))) {
                fprintf(stderr, "usage: cbor-tool encode|decode < input\n");
                return 2;
        }
        while ((k = getdelim(&in, &alloc, 0, stdin)) > 0)
                len += (size_t) k;
        if (!in)
                return 1;
        if (streq(argv[1], "encode")) {
                if (json_cbor_encode(in, len, &bin, &n) < 0 || base64_encode(bin, n, &out) < 0)
                        return 1;
        } else {
                in[strcspn(in, "\n")] = 0;
                if (base64_decode(in, &raw, &n) < 0 || json_cbor_decode(raw, n, &out) < 0) {
                        free(raw);
                        return 1;
                }
                free(raw);
        }
        puts(out);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: what the daemon does with a publish reply in AES mode. The input is parsed as a CoAP
 * datagram for option 2090 (transport_coap_cloud_id) and its payload decrypted, strict and lenient; the
 * input itself is also decrypted as a raw payload. Key: PROTOCOL.md D.4. */
#include <string.h>

#include <coap3/coap.h>

#include "../../daemon/transport-coap.h"
#include "aes.h"
#include "fuzz.h"

#define DATAGRAM_MAX 4096

static const uint8_t key[AES_KEY_SIZE] = {
        0x7c, 0x8e, 0x91, 0x61, 0xc2, 0xa3, 0x5b, 0xbb, 0x30, 0x30, 0xd1, 0xf8, 0x66, 0xd2, 0xe6, 0xe6,
};

static void decrypt(const uint8_t *in, size_t len) {
        uint8_t *out = NULL;
        size_t out_len = 0;
        int r;

        if (aes_decrypt(key, in, len, &out, &out_len) == 0) {
                /* At least one pad byte, at most one block of them, and a NUL past the end. */
                if (len == 0 || len % AES_BLOCK_SIZE != 0 || out_len >= len || out_len + AES_BLOCK_SIZE < len ||
                    out[out_len] != 0)
                        abort();
                free(out);
                out = NULL;
        }
        r = aes_decrypt_lenient(key, in, len, &out, &out_len);
        if (r < 0)
                abort();
        if (r == 1 && (out_len != len || (len > 0 && memcmp(out, in, len) != 0)))
                abort();
        free(out);
}

static void reply(const uint8_t *data, size_t size) {
        char cloud_id[TRANSPORT_COAP_CLOUD_ID_MAX + 1];
        const uint8_t *payload = NULL;
        size_t payload_len = 0;
        coap_pdu_t *pdu;

        if (size > DATAGRAM_MAX)
                return;
        pdu = coap_pdu_init(COAP_MESSAGE_ACK, COAP_RESPONSE_CODE(205), 0, DATAGRAM_MAX);
        if (!pdu)
                abort();
        if (coap_pdu_parse(COAP_PROTO_UDP, data, size, pdu)) {
                memset(cloud_id, 'x', sizeof(cloud_id));
                if (transport_coap_cloud_id(pdu, cloud_id) != 1 && cloud_id[0] != 0)
                        abort(); /* an id is returned only when one was read */
                if (strlen(cloud_id) > TRANSPORT_COAP_CLOUD_ID_MAX)
                        abort();
                for (const char *p = cloud_id; *p; p++)
                        if (*p < 0x21 || *p > 0x7e)
                                abort();
                if (coap_get_data(pdu, &payload_len, &payload))
                        decrypt(payload, payload_len);
        }
        coap_delete_pdu(pdu);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool initialized;

        if (!initialized) {
                coap_startup();
                coap_set_log_level(LOG_EMERG);
                fuzz_quiet();
                initialized = true;
        }
        reply(data, size);
        decrypt(data, size);
        return 0;
}

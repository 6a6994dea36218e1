/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for transport-coap.c's reading of a success reply's option 2090 (PROTOCOL.md A.10): an id is
 * 1..64 printable ASCII bytes; an option that is there but no such id is reported, so that the reply can be
 * counted as unreadable (issue 10, item 9) while the message still counts as delivered. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../daemon/transport-coap.h"
#include "coap-msg.h"

static coap_pdu_t *reply_with_2090(const void *value, size_t len) {
        coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_ACK, COAP_RESPONSE_CODE(205), 0x1234, 1280);

        assert_non_null(pdu);
        if (value)
                assert_true(coap_add_option(pdu, COAP_MSG_OPTION_MESSAGE_ID, len, value) > 0);
        return pdu;
}

static void check(const void *value, size_t len, int want, const char *want_id) {
        char id[TRANSPORT_COAP_CLOUD_ID_MAX + 1];
        coap_pdu_t *pdu = reply_with_2090(value, len);

        memset(id, 'x', sizeof(id));
        assert_int_equal(transport_coap_cloud_id(pdu, id), want);
        assert_string_equal(id, want_id);
        coap_delete_pdu(pdu);
}

static void test_cloud_id(void **state) {
        char long_id[TRANSPORT_COAP_CLOUD_ID_MAX + 1];

        check(NULL, 0, 0, "");                                  /* no option: nothing to read, nothing wrong */
        check("1329043117283975168", 19, 1, "1329043117283975168");
        check("a", 1, 1, "a");
        memset(long_id, '7', sizeof(long_id));
        check(long_id, TRANSPORT_COAP_CLOUD_ID_MAX, 1, "7777777777777777777777777777777777777777777777777777777777777777");
        check(long_id, TRANSPORT_COAP_CLOUD_ID_MAX + 1, -EBADMSG, "");  /* too long */
        check("", 0, -EBADMSG, "");                              /* empty */
        check("12 34", 5, -EBADMSG, "");                         /* a space */
        check("\x8e\x1f\xd2\x00\x41", 5, -EBADMSG, "");          /* ciphertext-like bytes */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cloud_id),
        };

        coap_startup();
        return cmocka_run_group_tests(tests, NULL, NULL);
}

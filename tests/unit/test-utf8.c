/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for utf8.c: every sequence length at its bounds, and each way a sequence can be invalid. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "macro.h"
#include "utf8.h"

static void assert_decodes(const char *s, size_t want_len, uint32_t want_cp) {
        uint32_t cp = 0xffffffff;

        assert_int_equal(utf8_decode((const unsigned char *) s, strlen(s), &cp), want_len);
        assert_int_equal(cp, want_cp);
}

static void test_decode_bounds(void **state) {
        assert_decodes("A", 1, 'A');
        assert_decodes("\x7f", 1, 0x7f);
        assert_decodes("\xc2\x80", 2, 0x80);
        assert_decodes("\xdf\xbf", 2, 0x7ff);
        assert_decodes("\xe0\xa0\x80", 3, 0x800);
        assert_decodes("\xed\x9f\xbf", 3, 0xd7ff);
        assert_decodes("\xee\x80\x80", 3, 0xe000);
        assert_decodes("\xef\xbf\xbf", 3, 0xffff);
        assert_decodes("\xf0\x90\x80\x80", 4, 0x10000);
        assert_decodes("\xf4\x8f\xbf\xbf", 4, 0x10ffff);
        /* Only the first sequence is decoded. */
        assert_decodes("\xc3\xa9z", 2, 0xe9);
}

static void test_invalid(void **state) {
        static const char *const bad[] = {
                "\x80",                 /* stray continuation byte */
                "\xc3\x28",             /* bad continuation */
                "\xc0\xaf",             /* overlong '/' */
                "\xc1\xbf",             /* overlong, 2 bytes */
                "\xe0\x80\xaf",         /* overlong, 3 bytes */
                "\xe0\x9f\xa2",         /* overlong, 3 bytes: what fuzz-json-cbor found json-c accepting */
                "\xf0\x80\x80\xaf",     /* overlong, 4 bytes */
                "\xed\xa0\x80",         /* surrogate U+D800 */
                "\xed\xbf\xbf",         /* surrogate U+DFFF */
                "\xf4\x90\x80\x80",     /* beyond U+10FFFF */
                "\xf8\x88\x80\x80\x80", /* 5-byte form */
                "\xfe", "\xff",
                "\xe6\xb8",             /* truncated */
                "\xf0\x9f\x98",         /* truncated */
        };
        uint32_t cp;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(utf8_decode((const unsigned char *) bad[i], strlen(bad[i]), &cp), 0);
                assert_false(utf8_is_valid(bad[i], strlen(bad[i])));
        }
}

static void test_length_is_honoured(void **state) {
        uint32_t cp;

        /* A valid sequence cut short by the length given, with the rest present in memory. */
        assert_int_equal(utf8_decode((const unsigned char *) "\xf0\x9f\x98\x80", 3, &cp), 0);
        assert_false(utf8_is_valid("\xc3\xa9", 1));
        assert_true(utf8_is_valid("\xc3\xa9", 2));
}

static void test_valid_strings(void **state) {
        assert_true(utf8_is_valid("", 0));
        assert_true(utf8_is_valid("/a1b2c3/dev/user/update", 23));
        assert_true(utf8_is_valid("t\xc3\xa9mp \xe6\xb8\xa9\xe5\xba\xa6 \xf0\x9f\x8c\xa1", 17));
        /* U+0000 is a code point like any other. */
        assert_true(utf8_is_valid("a\0b", 3));
        assert_false(utf8_is_valid("ok\xe0\x9f\xa2ok", 7));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decode_bounds),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_length_is_honoured),
                cmocka_unit_test(test_valid_strings),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

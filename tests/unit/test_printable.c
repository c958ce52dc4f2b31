/*
 * test_printable.c: the bounded printable copies (printable.h): what is kept, replaced or
 * dropped, the bound (cut at dst_len - 1, NUL-terminated, nothing written for 0), NUL bytes and
 * invalid UTF-8 in the input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "haf/printable.h"

static void
test_printable_copy_replaces(void **state)
{
    static const char in[] = "ok \x01\n\x7f\xc3\xa9\xff\0end";
    char out[64];

    (void)state;
    printable_copy(out, sizeof(out), span_make(in, sizeof(in) - 1));
    assert_string_equal(out, "ok    ??? end");
    printable_copy(out, 4, span_cstr("abcdef"));
    assert_string_equal(out, "abc");
    printable_copy(out, 1, span_cstr("abc"));
    assert_string_equal(out, "");
    out[0] = 'x';
    printable_copy(out, 0, span_cstr("abc"));
    assert_int_equal(out[0], 'x');
    printable_copy(out, sizeof(out), span_make(NULL, 0));
    assert_string_equal(out, "");
}

static void
test_printable_token_drops(void **state)
{
    char out[64];

    (void)state;
    printable_token(out, sizeof(out), span_cstr(" Sender.Invalid-Client_Token<x>\n"));
    assert_string_equal(out, "Sender.Invalid-Client_Tokenx");
    printable_token(out, 6, span_cstr("AccessDenied"));
    assert_string_equal(out, "Acces");
    printable_token(out, sizeof(out), span_make("a\0b\xff", 4));
    assert_string_equal(out, "ab");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printable_copy_replaces),
        cmocka_unit_test(test_printable_token_drops),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

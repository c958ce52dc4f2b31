/*
 * test_base64.c: the RFC 4648 section 10 test vectors both ways, and every input the strict
 * decoder must refuse with its exact code (bad length, characters, padding in the middle,
 * non-zero trailing bits, empty, over the limit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haf/base64.h"

static const struct {
    const char *raw, *enc;
} VECTORS[] = {
    {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

static void
test_base64_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(VECTORS) / sizeof(VECTORS[0]); i++) {
        struct buf b;
        uint8_t *raw = NULL;
        size_t n = 0;

        buf_init(&b, 0);
        assert_int_equal(base64_encode(VECTORS[i].raw, strlen(VECTORS[i].raw), &b), HAF_OK);
        assert_string_equal(buf_cstr(&b), VECTORS[i].enc);
        assert_int_equal(base64_decode(span_cstr(VECTORS[i].enc), 64, &raw, &n), HAF_OK);
        assert_int_equal(n, strlen(VECTORS[i].raw));
        assert_memory_equal(raw, VECTORS[i].raw, n);
        free(raw);
        buf_clean_up(&b);
    }
}

static void
test_base64_decode_refuses(void **state)
{
    static const char *const bad[] = {"",         "Zg=",  "Zg",    "Z===", "Zh==", "Zm9=",
                                      "Zg==Zg==", "Zm 9", "Zm9\n", "Zm-v", "=Zm9", "Zm=v"};
    uint8_t *raw = (uint8_t *)"untouched";
    size_t n = 7;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (base64_decode(span_cstr(bad[i]), 64, &raw, &n) != HAF_EPARSE)
            fail_msg("'%s' was not refused as HAF_EPARSE", bad[i]);
    }
    assert_int_equal(base64_decode(span_make("Zm9v\0Zm9", 8), 64, &raw, &n), HAF_EPARSE);
    assert_int_equal(base64_decode(SPAN_LIT("Zm9vYmFy"), 5, &raw, &n), HAF_ETOOLONG);
    assert_int_equal(base64_decode(SPAN_LIT("Zm9vYg=="), 3, &raw, &n), HAF_ETOOLONG);
    assert_string_equal((const char *)raw, "untouched");
    assert_int_equal(n, 7);
    assert_int_equal(base64_decode(SPAN_LIT("Zm9vYg=="), 4, &raw, &n), HAF_OK);
    assert_int_equal(n, 4);
    free(raw);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_decode_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

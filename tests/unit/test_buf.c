/*
 * test_buf.c: the capped buffer: growth, the cap, formatting, and clean-up of zeroed structs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "haf/buf.h"

static void
test_buf_add_grows_and_terminates(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_add(&b, "abc", 3), HAF_OK);
    assert_int_equal(b.len, 3000);
    assert_int_equal(b.p[3000], '\0');
    assert_memory_equal(b.p + 2997, "abc", 3);
    buf_clean_up(&b);
    assert_null(b.p);
}

static void
test_buf_add_refuses_past_cap(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_add(&b, "12345678", 8), HAF_OK);
    assert_int_equal(buf_addc(&b, '9'), HAF_ETOOLONG);
    assert_int_equal(b.len, 8);
    assert_string_equal(buf_cstr(&b), "12345678");
    buf_clean_up(&b);
}

/* A hint stops the doubling where the buffer usually ends (a batch under its memory share), and
 * growth past it doubles from there; the cap bounds the block as well as the length. */
static void
test_buf_reserve_hint_and_cap_bound_the_block(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    buf_set_hint(&b, 36 * 1024);
    assert_int_equal(buf_reserve(&b, 33 * 1024), HAF_OK);
    assert_int_equal(b.cap, 36 * 1024); /* not 64 KiB */
    b.len = 36 * 1024 - 1;
    assert_int_equal(buf_reserve(&b, 10), HAF_OK);
    assert_int_equal(b.cap, 72 * 1024);
    buf_clean_up(&b);

    buf_init(&b, 40000);
    assert_int_equal(buf_reserve(&b, 33000), HAF_OK);
    assert_int_equal(b.cap, 40001); /* not 65536: the length can never pass 40000 */
    assert_int_equal(buf_reserve(&b, 40001), HAF_ETOOLONG);
    assert_int_equal(b.cap, 40001);
    buf_clean_up(&b);
}

static void
test_buf_addf_formats(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_addf(&b, "%s=%d", "x", 42), HAF_OK);
    assert_int_equal(buf_addf(&b, ";%05u", 7u), HAF_OK);
    assert_string_equal(buf_cstr(&b), "x=42;00007");
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
    buf_wipe(&b);
}

static void
test_buf_clean_up_accepts_zeroed_and_null(void **state)
{
    struct buf b = {0};

    (void)state;
    buf_clean_up(&b);
    buf_clean_up(NULL);
    buf_wipe(NULL);
    assert_string_equal(buf_cstr(&b), "");
}

static void
test_span_number_readers(void **state)
{
    uint64_t v = 1;

    (void)state;
    assert_true(span_to_u64_dec(SPAN_LIT("18446744073709551615"), &v));
    assert_true(v == UINT64_MAX);
    v = 1;
    assert_false(span_to_u64_dec(SPAN_LIT("18446744073709551616"), &v));
    assert_true(v == 1);
    assert_false(span_to_u64_dec(SPAN_LIT(""), &v));
    assert_false(span_to_u64_dec(SPAN_LIT("12a"), &v));
    assert_true(span_to_u64_hex(SPAN_LIT("ffffffffffffffff"), &v));
    assert_true(v == UINT64_MAX);
    assert_false(span_to_u64_hex(SPAN_LIT("10000000000000000"), &v));
    assert_true(span_to_u64_hex(SPAN_LIT("1aF"), &v));
    assert_true(v == 0x1af);
    assert_true(span_eq(span_trim(SPAN_LIT(" \t x y\r\n")), SPAN_LIT("x y")));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_add_grows_and_terminates),
        cmocka_unit_test(test_buf_add_refuses_past_cap),
        cmocka_unit_test(test_buf_reserve_hint_and_cap_bound_the_block),
        cmocka_unit_test(test_buf_addf_formats),
        cmocka_unit_test(test_buf_clean_up_accepts_zeroed_and_null),
        cmocka_unit_test(test_span_number_readers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

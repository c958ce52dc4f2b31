/*
 * test_streamname.c: the stream name template grammar: every problem streamname_check reports
 * (with its offset), expansion of each placeholder, ':' and '*' and bytes outside UTF-8 in values
 * replaced, and names over 512 bytes shortened deterministically at a character boundary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "haf/streamname.h"
#include "haf/utf8.h"

static void
check_fails(const char *t, bool has_hsm, enum streamname_problem_kind kind, size_t offset)
{
    struct streamname_problem pb;

    assert_int_equal(streamname_check(t, has_hsm, &pb), HAF_EINVAL);
    assert_int_equal(pb.kind, kind);
    assert_int_equal(pb.offset, offset);
}

static void
test_streamname_check_each_problem(void **state)
{
    struct streamname_problem pb;
    char big[600];

    (void)state;
    assert_int_equal(streamname_check("{hostname}/{file}", false, &pb), HAF_OK);
    assert_int_equal(streamname_check("{hsm_id}-{instance_id}", true, &pb), HAF_OK);
    assert_int_equal(streamname_check("plain", false, &pb), HAF_OK);
    check_fails("a:b", false, STREAMNAME_FORBIDDEN_CHAR, 1);
    check_fails("ab*", false, STREAMNAME_FORBIDDEN_CHAR, 2);
    check_fails("a}b", false, STREAMNAME_UNBALANCED_CLOSE, 1);
    check_fails("ab{file", false, STREAMNAME_UNTERMINATED, 2);
    check_fails("{hsm_id}", false, STREAMNAME_HSM_ID_UNSET, 0);
    check_fails("x{nope}", false, STREAMNAME_UNKNOWN, 1);
    assert_int_equal(streamname_check("x{nope}", false, &pb), HAF_EINVAL);
    assert_int_equal(pb.name.len, 4);
    assert_memory_equal(pb.name.p, "nope", 4);
    memset(big, 'a', sizeof(big));
    big[513] = '\0';
    check_fails(big, false, STREAMNAME_TOO_LONG, 0);
    big[512] = '\0';
    assert_int_equal(streamname_check(big, false, &pb), HAF_OK);
}

static void
test_streamname_expand_placeholders(void **state)
{
    struct streamname_values v = {.hostname = "h:1", .path = "/var/log/hsm/a*b.log"};
    struct buf out;

    (void)state;
    buf_init(&out, 4096);
    assert_int_equal(streamname_expand("{hostname}/{file}", &v, &out), HAF_OK);
    assert_string_equal(buf_cstr(&out), "h_1/a_b.log");
    assert_int_equal(streamname_expand("{instance_id}-{hsm_id}", &v, &out), HAF_OK);
    assert_string_equal(buf_cstr(&out), "unknown-instance-unknown-hsm");
    v.instance_id = "i-0abc";
    v.hsm_id = "hsm-x";
    assert_int_equal(streamname_expand("{instance_id}-{hsm_id}-{unknown}", &v, &out), HAF_OK);
    assert_string_equal(buf_cstr(&out), "i-0abc-hsm-x-{unknown}");
    buf_clean_up(&out);
}

/* Regression (issue 10 §5): a file name that is not UTF-8 made every CreateLogStream fail. */
static void
test_streamname_expand_invalid_utf8_replaced(void **state)
{
    struct streamname_values v = {.hostname = "h", .path = "/d/caf\xe9-\xc3\xa9-\xf0\x9f.log"};
    struct buf out;

    (void)state;
    buf_init(&out, 4096);
    assert_int_equal(streamname_expand("{file}", &v, &out), HAF_OK);
    assert_string_equal(buf_cstr(&out), "caf_-\xc3\xa9-__.log");
    buf_clean_up(&out);
}

static bool
valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        if ((unsigned char)s[i] >= 0x80 &&
            (k = utf8_seq_len((const unsigned char *)s + i, n - i)) == 0)
            return false;
        i += k;
    }
    return true;
}

/* Regression (issue 10 §5): names over 512 bytes were cut without moving the terminator. */
static void
test_streamname_expand_long_name_shortened_deterministically(void **state)
{
    char path[1200] = "/d/";
    struct streamname_values v = {.hostname = "h", .path = path};
    struct buf a, b;

    (void)state;
    buf_init(&a, 4096);
    buf_init(&b, 4096);
    for (size_t i = 3; i < 3 + 300; i++) /* 300 two-byte characters: 600 bytes */
        memcpy(path + 3 + 2 * (i - 3), "\xc3\xa9", 2);
    path[3 + 600] = '\0';
    assert_int_equal(streamname_expand("{hostname}/{file}", &v, &a), HAF_OK);
    assert_true(a.len <= STREAMNAME_MAX_BYTES);
    assert_int_equal(strlen(buf_cstr(&a)), a.len);
    assert_true(valid_utf8(a.p, a.len));
    assert_int_equal(a.p[a.len - 17], '~');
    /* The same input gives the same name; another tail gives another name. */
    assert_int_equal(streamname_expand("{hostname}/{file}", &v, &b), HAF_OK);
    assert_string_equal(buf_cstr(&a), buf_cstr(&b));
    path[3 + 598] = 'x';
    path[3 + 599] = 'y';
    assert_int_equal(streamname_expand("{hostname}/{file}", &v, &b), HAF_OK);
    assert_true(b.len <= STREAMNAME_MAX_BYTES);
    assert_string_not_equal(buf_cstr(&a), buf_cstr(&b));
    /* Exactly 512 bytes is kept as it is. */
    memset(path + 3, 'a', 510);
    path[3 + 510] = '\0';
    assert_int_equal(streamname_expand("h/{file}", &v, &b), HAF_OK);
    assert_int_equal(b.len, 512);
    assert_int_equal(b.p[511], 'a');
    buf_clean_up(&a);
    buf_clean_up(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streamname_check_each_problem),
        cmocka_unit_test(test_streamname_expand_placeholders),
        cmocka_unit_test(test_streamname_expand_invalid_utf8_replaced),
        cmocka_unit_test(test_streamname_expand_long_name_shortened_deterministically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

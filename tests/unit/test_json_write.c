/*
 * test_json_write.c: the one JSON string escaper. Every control character, quote and backslash
 * exactly; DEL and U+2028 unchanged; each invalid UTF-8 form (lone continuation, overlong,
 * surrogate, above U+10FFFF, truncated at the end, 0xF5..0xFF) as one U+FFFD per byte; the fast
 * path byte-identical to a byte-at-a-time reference on random text across chunk boundaries; the
 * exact path (a capped buffer) identical to the fast one, failing only when the text does not fit
 * and restoring the buffer; the plain test never true for text that needs escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "haf/json_write.h"
#include "haf/utf8.h"

/* The reference: the rules of json_write.h, one byte at a time. */
static void
reference_escape(struct buf *out, const unsigned char *s, size_t n, size_t *replaced)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;

    *replaced = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            assert_int_equal(buf_addc(out, '\\'), HAF_OK);
            assert_int_equal(buf_addc(out, (char)c), HAF_OK);
            i++;
        } else if (c < 0x20) {
            const char *sh = c == '\b'   ? "\\b"
                             : c == '\f' ? "\\f"
                             : c == '\n' ? "\\n"
                             : c == '\r' ? "\\r"
                             : c == '\t' ? "\\t"
                                         : NULL;
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            assert_int_equal(buf_adds(out, sh ? sh : u), HAF_OK);
            i++;
        } else if (c < 0x80) {
            assert_int_equal(buf_addc(out, (char)c), HAF_OK);
            i++;
        } else {
            size_t k = utf8_seq_len(s + i, n - i);
            if (k == 0) {
                assert_int_equal(buf_add(out, "\xEF\xBF\xBD", 3), HAF_OK);
                (*replaced)++;
                k = 1;
            } else {
                assert_int_equal(buf_add(out, s + i, k), HAF_OK);
            }
            i += k;
        }
    }
}

static void
check_escaped(const char *in, size_t n, const char *want, size_t want_replaced)
{
    struct buf b;
    size_t replaced = 99;

    buf_init(&b, 0);
    assert_int_equal(json_write_escaped(&b, span_make(in, n), &replaced), HAF_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(buf_cstr(&b), want, b.len);
    assert_int_equal(buf_cstr(&b)[b.len], '\0');
    assert_int_equal(replaced, want_replaced);
    buf_clean_up(&b);
}

static void
test_json_write_escaped_every_control_character(void **state)
{
    static const char *const want[0x20] = {
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
        "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
        "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
    };

    (void)state;
    for (unsigned c = 0; c < 0x20; c++) {
        char in = (char)c;
        check_escaped(&in, 1, want[c], 0);
    }
    check_escaped("\"", 1, "\\\"", 0);
    check_escaped("\\", 1, "\\\\", 0);
    check_escaped("a/b", 3, "a/b", 0);
    check_escaped("\x7f", 1, "\x7f", 0);
    check_escaped("\xe2\x80\xa8\xe2\x80\xa9", 6, "\xe2\x80\xa8\xe2\x80\xa9", 0);
    check_escaped("\xf0\x9f\x94\x91", 4, "\xf0\x9f\x94\x91", 0);
    check_escaped("", 0, "", 0);
}

static void
test_json_write_escaped_invalid_utf8_one_replacement_per_byte(void **state)
{
    (void)state;
    check_escaped("\x80", 1, "\xEF\xBF\xBD", 1);
    check_escaped("a\xc0\x80z", 4, "a\xEF\xBF\xBD\xEF\xBF\xBDz", 2);
    check_escaped("\xed\xa0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 3);
    check_escaped("\xf4\x90\x80\x80", 4,
                  "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 4);
    check_escaped("ok\xe2\x82", 4, "ok\xEF\xBF\xBD\xEF\xBF\xBD", 2);
    check_escaped("\xf5\xff\"", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\\\"", 2);
}

/* Random text biased to the interesting bytes, lengths around the 4096-byte chunk. */
static size_t
random_text(unsigned char *p, size_t max, unsigned *seed)
{
    static const unsigned char pool[] = {'"', '\\', '\n', 0, 0x1f, 0x7f, 0x80, 0xc3, 0xa9, 0xe2,
                                         0x82, 0xac, 0xf0, 0x9f, 0xed, 0xa0, 0xff, 'a', 'b'};
    size_t n = (size_t)rand_r(seed) % max;
    unsigned mode = (unsigned)rand_r(seed) % 4;

    for (size_t i = 0; i < n; i++) {
        unsigned r = (unsigned)rand_r(seed);
        if (mode == 0)
            p[i] = (unsigned char)r;
        else if (mode == 1 || r % 16 == 0)
            p[i] = pool[r % sizeof(pool)];
        else
            p[i] = (unsigned char)(' ' + r % 90);
    }
    return n;
}

static void
test_json_write_escaped_matches_reference_on_random_text(void **state)
{
    unsigned seed = 12345;
    unsigned char *in = malloc(9000);

    (void)state;
    assert_non_null(in);
    for (int round = 0; round < 3000; round++) {
        size_t n = random_text(in, 9000, &seed), r_fast, r_ref, r_exact;
        struct buf fast, ref, exact;

        buf_init(&fast, 0);
        buf_init(&ref, 0);
        assert_int_equal(buf_adds(&fast, "pre"), HAF_OK);
        assert_int_equal(json_write_escaped(&fast, span_make((const char *)in, n), &r_fast),
                         HAF_OK);
        reference_escape(&ref, in, n, &r_ref);
        assert_int_equal(fast.len, ref.len + 3);
        assert_memory_equal(fast.p + 3, ref.p, ref.len);
        assert_int_equal(r_fast, r_ref);
        /* A cap of exactly the escaped length takes the exact path and must fit. */
        buf_init(&exact, ref.len + 3);
        assert_int_equal(buf_adds(&exact, "pre"), HAF_OK);
        assert_int_equal(json_write_escaped(&exact, span_make((const char *)in, n), &r_exact),
                         HAF_OK);
        assert_int_equal(exact.len, fast.len);
        assert_memory_equal(exact.p, fast.p, fast.len);
        assert_int_equal(r_exact, r_ref);
        buf_clean_up(&fast);
        buf_clean_up(&ref);
        buf_clean_up(&exact);
    }
    free(in);
}

static void
test_json_write_escaped_capped_fails_only_when_too_long(void **state)
{
    struct buf b;
    size_t replaced = 7;

    (void)state;
    /* "a\"b" escapes to 4 bytes: a cap of 2 + 4 fits, 2 + 3 does not. */
    buf_init(&b, 6);
    assert_int_equal(buf_adds(&b, "xy"), HAF_OK);
    assert_int_equal(json_write_escaped(&b, SPAN_LIT("a\"b"), &replaced), HAF_OK);
    assert_string_equal(buf_cstr(&b), "xya\\\"b");
    assert_int_equal(replaced, 0);
    buf_clean_up(&b);
    buf_init(&b, 5);
    assert_int_equal(buf_adds(&b, "xy"), HAF_OK);
    replaced = 7;
    assert_int_equal(json_write_escaped(&b, SPAN_LIT("a\"\x80"), &replaced), HAF_ETOOLONG);
    assert_int_equal(b.len, 2);
    assert_string_equal(buf_cstr(&b), "xy");
    assert_int_equal(replaced, 0);
    assert_int_equal(json_write_string(&b, SPAN_LIT("abc")), HAF_ETOOLONG);
    assert_string_equal(buf_cstr(&b), "xy");
    buf_clean_up(&b);
}

static void
test_json_write_string_parses_back(void **state)
{
    unsigned char in[256];
    struct buf b;
    json_error_t jerr;
    json_t *v;

    (void)state;
    for (size_t i = 0; i < 128; i++)
        in[i] = (unsigned char)i;
    buf_init(&b, 0);
    assert_int_equal(json_write_string(&b, span_make((const char *)in, 128)), HAF_OK);
    v = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    assert_non_null(v);
    assert_int_equal(json_string_length(v), 128);
    assert_memory_equal(json_string_value(v), in, 128);
    json_decref(v);
    buf_clean_up(&b);
}

static void
test_json_write_plain_never_true_when_escaping_needed(void **state)
{
    unsigned seed = 777;
    unsigned char in[80];

    (void)state;
    for (int round = 0; round < 20000; round++) {
        size_t n = random_text(in, sizeof(in), &seed), r;
        struct buf ref;
        bool plain;

        buf_init(&ref, 0);
        reference_escape(&ref, in, n, &r);
        plain = ref.len == n && (n == 0 || memcmp(ref.p, in, n) == 0);
        for (size_t i = 0; i < n; i++)
            plain = plain && in[i] < 0x80;
        assert_int_equal(json_write_plain((const char *)in, n), plain);
        buf_clean_up(&ref);
    }
    assert_true(json_write_plain("0123456789abcdefghij", 20));
    assert_false(json_write_plain("0123456789abcdefghi\"", 20));
    assert_false(json_write_plain("\x01", 1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_write_escaped_every_control_character),
        cmocka_unit_test(test_json_write_escaped_invalid_utf8_one_replacement_per_byte),
        cmocka_unit_test(test_json_write_escaped_matches_reference_on_random_text),
        cmocka_unit_test(test_json_write_escaped_capped_fails_only_when_too_long),
        cmocka_unit_test(test_json_write_string_parses_back),
        cmocka_unit_test(test_json_write_plain_never_true_when_escaping_needed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_xml_scan.c: the bounded XML scanner (xml_scan.h): the first element's inner text, missing
 * or unterminated elements, NUL bytes, over-long tags; text decoding of the five predefined
 * entities, refusal of markup, other entities and NULs, the size cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haf/xml_scan.h"

static void
test_xml_scan_element_finds_first(void **state)
{
    static const char doc[] = "<R><Code>A</Code>\0<Message>m &amp; n</Message><Code>B</Code></R>";
    struct span s = span_make(doc, sizeof(doc) - 1), v = SPAN_NULL;
    char tag[80];

    (void)state;
    assert_true(xml_scan_element(s, "Code", &v));
    assert_int_equal(v.len, 1);
    assert_memory_equal(v.p, "A", 1);
    assert_true(xml_scan_element(s, "Message", &v)); /* past the NUL */
    assert_int_equal(v.len, 9);
    assert_true(xml_scan_element(span_cstr("<E></E>"), "E", &v));
    assert_int_equal(v.len, 0);
    v = SPAN_NULL;
    assert_false(xml_scan_element(s, "Missing", &v));
    assert_false(xml_scan_element(span_cstr("<Code>open"), "Code", &v));
    assert_false(xml_scan_element(span_cstr("<Code a=\"1\">x</Code>"), "Code", &v));
    assert_false(xml_scan_element(span_make(NULL, 0), "Code", &v));
    assert_null(v.p); /* untouched on failure */
    memset(tag, 'T', 70);
    tag[70] = '\0';
    assert_false(xml_scan_element(span_cstr("<x/>"), tag, &v));
}

static void
test_xml_scan_text_decodes(void **state)
{
    char *out = NULL;

    (void)state;
    assert_int_equal(xml_scan_text(span_cstr("  a&amp;b&lt;&gt;&quot;&apos;  "), 100, &out),
                     HAF_OK);
    assert_string_equal(out, "a&b<>\"'");
    free(out);
    out = NULL;
    assert_int_equal(xml_scan_text(span_cstr("a<b/>"), 100, &out), HAF_EPARSE);
    assert_int_equal(xml_scan_text(span_cstr("&nbsp;"), 100, &out), HAF_EPARSE);
    assert_int_equal(xml_scan_text(span_cstr("&amp"), 100, &out), HAF_EPARSE);
    assert_int_equal(xml_scan_text(span_make("a\0b", 3), 100, &out), HAF_EPARSE);
    assert_int_equal(xml_scan_text(span_cstr("abcdef"), 4, &out), HAF_ETOOLONG);
    assert_null(out);
    assert_int_equal(xml_scan_text(span_cstr(""), 4, &out), HAF_OK);
    assert_string_equal(out, "");
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_scan_element_finds_first),
        cmocka_unit_test(test_xml_scan_text_decodes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_cert_event.c: certificate-storage events. The documentation's four examples parse; handles
 * stay exact above 2^53 and at UINT64_MAX, one past is refused; every refusal names its reason;
 * JSON validity (escapes, control characters, numbers, nesting, trailing text); the brace tracker
 * over pretty-printed input and braces inside strings; the formatter's JSON for each case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "haf/audit.h"
#include "haf/cert_event.h"

static enum haf_err
parse(const char *s, struct haf_cert_event *c, const char **why)
{
    *why = NULL;
    return cert_event_parse(span_cstr(s), c, why);
}

static void
test_cert_event_parse_documented_examples(void **state)
{
    struct haf_cert_event c;
    const char *why;

    (void)state;
    assert_int_equal(parse("{\n    \"object_handle\": 463180677312929947,\n    \"op_code\": "
                           "\"CreateObject\",\n    \"response\": \"OK\",\n    \"attributes\": "
                           "null,\n    \"timestamp\": 1725482483671\n}",
                           &c, &why),
                     HAF_OK);
    assert_int_equal(c.object_handle, 463180677312929947ull);
    assert_false(c.object_handle_null);
    assert_true(span_eq(c.op_code, SPAN_LIT("CreateObject")));
    assert_true(span_eq(c.attributes, SPAN_LIT("null")));
    assert_int_equal(c.timestamp_ms, 1725482483671ll);
    assert_true(cert_event_success(&c));

    assert_int_equal(parse("{ \"object_handle\": 463180678453346687, \"op_code\": "
                           "\"SetAttributeValues\", \"response\": \"OK\", \"attributes\": [ "
                           "\"Label\" ], \"timestamp\": 1725482488004 }",
                           &c, &why),
                     HAF_OK);
    assert_true(span_eq(c.attributes, SPAN_LIT("[ \"Label\" ]")));

    assert_int_equal(parse("{\"object_handle\": null,\"op_code\": \"CreateObject\",\"response\": "
                           "\"MaxObjectsReached\",\"attributes\": null,\"timestamp\": "
                           "1726084937125}",
                           &c, &why),
                     HAF_OK);
    assert_true(c.object_handle_null);
    assert_false(cert_event_success(&c));
    assert_true(span_eq(c.response, SPAN_LIT("MaxObjectsReached")));
}

static void
test_cert_event_parse_handle_edges(void **state)
{
    struct haf_cert_event c;
    const char *why;

    (void)state;
    assert_int_equal(parse("{\"object_handle\":9007199254740993,\"op_code\":\"a\",\"response\":"
                           "\"OK\",\"timestamp\":0}",
                           &c, &why),
                     HAF_OK);
    assert_int_equal(c.object_handle, 9007199254740993ull); /* 2^53 + 1: a double would lose it */
    assert_int_equal(parse("{\"object_handle\":18446744073709551615,\"op_code\":\"a\","
                           "\"response\":\"OK\",\"timestamp\":0}",
                           &c, &why),
                     HAF_OK);
    assert_int_equal(c.object_handle, UINT64_MAX);
    static const char *const bad[] = {
        "18446744073709551616", "-1", "1.0", "1e3", "01", "\"5\"", "true"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char in[256];
        snprintf(in, sizeof(in),
                 "{\"object_handle\":%s,\"op_code\":\"a\",\"response\":\"OK\",\"timestamp\":0}",
                 bad[i]);
        assert_int_equal(parse(in, &c, &why), HAF_EPARSE);
        if (strcmp(bad[i], "01") == 0)
            assert_string_equal(why, "invalid JSON: ',' or '}' expected");
        else
            assert_string_equal(why, "object_handle is not an unsigned 64-bit integer");
    }
}

static void
test_cert_event_parse_every_refusal(void **state)
{
    static const struct {
        const char *in, *why;
    } cases[] = {
        {"", "not a JSON object"},
        {"[1]", "not a JSON object"},
        {"{\"response\":\"OK\",\"timestamp\":1}", "missing op_code"},
        {"{\"op_code\":\"a\",\"timestamp\":1}", "missing response"},
        {"{\"op_code\":\"a\",\"response\":\"OK\"}", "missing timestamp"},
        {"{\"op_code\":1,\"response\":\"OK\",\"timestamp\":1}", "op_code is not a string"},
        {"{\"op_code\":\"a\",\"response\":null,\"timestamp\":1}", "response is not a string"},
        {"{\"op_code\":\"a\",\"response\":\"OK\",\"timestamp\":-1}",
         "timestamp is not an integer of milliseconds"},
        {"{\"op_code\":\"a\",\"response\":\"OK\",\"timestamp\":9223372036854775808}",
         "timestamp is not an integer of milliseconds"},
        {"{\"op_code\":\"a\",\"op_code\":\"b\",\"response\":\"OK\",\"timestamp\":1}",
         "duplicate op_code"},
        {"{\"op_code\":\"a\",\"response\":\"OK\",\"timestamp\":1} x", "text after the JSON object"},
        {"{\"op_code\":\"a\x01\",\"response\":\"OK\",\"timestamp\":1}",
         "invalid JSON: control character in a string"},
        {"{\"op_code\":\"a\\x\",\"response\":\"OK\",\"timestamp\":1}", "invalid JSON: bad escape"},
        {"{\"op_code\":\"a\\u12g4\",\"response\":\"OK\",\"timestamp\":1}",
         "invalid JSON: bad \\u escape"},
        {"{\"op_code\":\"a", "invalid JSON: unterminated string"},
        {"{\"op_code\" \"a\"}", "invalid JSON: ':' expected"},
        {"{\"x\":[1,2,}", "invalid JSON: value expected"},
        {"{\"x\":1.}", "invalid JSON: bad number"},
        {"{\"x\":nul}", "invalid JSON"},
        {"{\"a\":1,\"a\":2}", "duplicate member"},
        {"{\"\\u0061\":1}", "unknown member name with escapes"},
        {"{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1}",
         "too many unknown members"},
    };
    struct haf_cert_event c;
    const char *why;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(cases[i].in, &c, &why), HAF_EPARSE);
        if (strcmp(why, cases[i].why) != 0)
            fail_msg("%s: got '%s', want '%s'", cases[i].in, why, cases[i].why);
    }
}

static void
test_cert_event_parse_nesting_bound_and_extras(void **state)
{
    char deep[400];
    size_t n = 0;
    struct haf_cert_event c;
    const char *why;

    (void)state;
    n += (size_t)snprintf(deep, sizeof(deep), "{\"x\":");
    for (int i = 0; i < 70; i++)
        deep[n++] = '[';
    for (int i = 0; i < 70; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    assert_int_equal(parse(deep, &c, &why), HAF_EPARSE);
    assert_string_equal(why, "JSON nested too deeply");
    assert_int_equal(parse("{\"op_code\":\"a\\\"b\",\"response\":\"OK\",\"timestamp\":1,"
                           "\"cluster\":{\"id\":[1,true,null]}}",
                           &c, &why),
                     HAF_OK);
    assert_true(span_eq(c.op_code, SPAN_LIT("a\\\"b")));
    assert_int_equal(c.n_extra, 1);
    assert_true(span_eq(c.extra[0].key, SPAN_LIT("cluster")));
    assert_true(span_eq(c.extra[0].value, SPAN_LIT("{\"id\":[1,true,null]}")));
}

static void
test_cert_json_track_lines(void **state)
{
    struct cert_json_track t;

    (void)state;
    cert_json_track_init(&t);
    cert_json_track_line(&t, "{", 1);
    assert_false(t.closed);
    cert_json_track_line(&t, "  \"a\": \"}}{\\\"}\",", 15);
    assert_false(t.closed);
    cert_json_track_line(&t, "  \"b\": [ {\"c\": 1} ]", 20);
    assert_false(t.closed);
    assert_int_equal(t.depth, 1);
    cert_json_track_line(&t, "}", 1);
    assert_true(t.closed);
    /* an unterminated string ends with its line */
    cert_json_track_init(&t);
    cert_json_track_line(&t, "{\"a\": \"open", 11);
    cert_json_track_line(&t, "}", 1);
    assert_true(t.closed);
}

static void
test_cert_event_format_json(void **state)
{
    static const char in[] =
        "{\n  \"object_handle\": 18446744073709551615,\n  \"op_code\": \"Set\\\"Attr\",\n"
        "  \"response\": \"OK\",\n  \"attributes\": [ \"Label\", \"a b\" ],\n"
        "  \"timestamp\": 1725482488004,\n  \"new\": { \"k\" : 1 }\n}";
    static const char want[] =
        "{\"kind\":\"certificate_storage\",\"time\":\"2024-09-04T20:41:28.004000Z\","
        "\"timestamp\":1725482488004,\"object_handle\":18446744073709551615,"
        "\"op_code\":\"Set\\\"Attr\",\"response\":\"OK\",\"success\":true,"
        "\"attributes\":[\"Label\",\"a b\"],\"extra\":{\"new\":{\"k\":1}},\"hsm_id\":\"c\"}";
    struct haf_entry e;
    struct buf out;
    const char *why = NULL;
    struct audit_format_ctx ctx = {.hsm_id = "c"};
    json_t *j;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.kind = HAF_KIND_CERT_STORAGE;
    e.raw = SPAN_LIT(in);
    assert_int_equal(cert_event_parse(e.raw, &e.cert, &why), HAF_OK);
    buf_init(&out, 0);
    assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, &ctx, &out), HAF_OK);
    assert_string_equal(buf_cstr(&out), want);
    j = json_loadb(out.p, out.len, JSON_DECODE_INT_AS_REAL, NULL);
    assert_non_null(j);
    json_decref(j);
    /* flagged: kind, parse_error, raw */
    buf_reset(&out);
    e.parse_error = "unterminated JSON object";
    assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, NULL, &out), HAF_OK);
    assert_true(strncmp(buf_cstr(&out),
                        "{\"kind\":\"certificate_storage\",\"parse_error\":\"unterminated JSON "
                        "object\",\"raw\":\"{\\n  \\\"object_handle\\\"",
                        90) == 0);
    j = json_loadb(out.p, out.len, JSON_DECODE_INT_AS_REAL, NULL);
    assert_non_null(j);
    json_decref(j);
    buf_clean_up(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cert_event_parse_documented_examples),
        cmocka_unit_test(test_cert_event_parse_handle_edges),
        cmocka_unit_test(test_cert_event_parse_every_refusal),
        cmocka_unit_test(test_cert_event_parse_nesting_bound_and_extras),
        cmocka_unit_test(test_cert_json_track_lines),
        cmocka_unit_test(test_cert_event_format_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_audit_format.c: entry to CloudWatch message. Golden JSON for the DESIGN.md example (byte for
 * byte) and for each log type; raw; escaping of every control character, quotes and backslashes;
 * invalid UTF-8 from the context; exact integers at UINT64_MAX; ISO times at the edges; extras
 * with repeated labels; a capped output buffer; and jansson agreeing that every output is valid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "haf/audit.h"
#include "testlib.h"

static const struct audit_format_ctx design_ctx = {
    .host = "client-1",
    .source = "/var/log/hsm/audit.log",
};

struct one {
    struct buf json, raw;
    size_t n;
    const struct audit_format_ctx *ctx;
};

static int
one_cb(void *ctx, const struct haf_entry *e)
{
    struct one *o = ctx;

    o->n++;
    assert_int_equal(audit_format(e, AUDIT_FORMAT_JSON, o->ctx, &o->json), HAF_OK);
    assert_int_equal(audit_format(e, AUDIT_FORMAT_RAW, o->ctx, &o->raw), HAF_OK);
    return 0;
}

/* Format the single entry of a data file. */
static void
format_file(const char *rel, const struct audit_format_ctx *ctx, struct one *o)
{
    size_t len;
    char path[256];
    char *data;

    snprintf(path, sizeof(path), "audit/%s", rel);
    data = testlib_read_data(path, &len);
    memset(o, 0, sizeof(*o));
    buf_init(&o->json, 0);
    buf_init(&o->raw, 0);
    o->ctx = ctx;
    assert_int_equal(audit_parse_text(data, len, one_cb, o), HAF_OK);
    assert_int_equal(o->n, 1);
    free(data);
}

static void
one_free(struct one *o)
{
    buf_clean_up(&o->json);
    buf_clean_up(&o->raw);
}

static void
assert_valid_json(const struct buf *b)
{
    json_error_t jerr;
    json_t *j = json_loadb(b->p, b->len, 0, &jerr);

    if (j == NULL)
        fail_msg("invalid JSON (%s): %s", jerr.text, buf_cstr(b));
    assert_true(json_is_object(j));
    json_decref(j);
}

static void
test_audit_format_design_example_exactly(void **state)
{
    struct one o;
    size_t len;
    char *want = testlib_read_data("audit/design_example.json", &len);

    (void)state;
    format_file("design_example.log", &design_ctx, &o);
    assert_string_equal(buf_cstr(&o.json), want);
    assert_int_equal(o.json.len, len);
    one_free(&o);
    free(want);
}

static void
test_audit_format_golden_per_log_type(void **state)
{
    static const struct {
        const char *file, *json;
    } golden[] = {
        {"s1_cn_init_token_0x0.log",
         "{\"time\":\"2017-12-19T21:01:16.962174Z\",\"usecs\":1513717276962174,\"sequence_no\":0,"
         "\"reboot_counter\":232,\"command_type\":{\"name\":\"CN_MGMT_CMD\",\"code\":0},"
         "\"opcode\":{\"name\":\"CN_INIT_TOKEN\",\"code\":1,\"category\":\"init_critical\"},"
         "\"session_handle\":16793601,"
         "\"response\":{\"code\":0,\"text\":\"HSM Return: SUCCESS\",\"success\":true},"
         "\"log_type\":{\"name\":\"MINIMAL_LOG_ENTRY\",\"code\":0},\"host\":\"client-1\","
         "\"source\":\"/var/log/hsm/audit.log\"}"},
        {"s1_cn_generate_key_pair_0x29.log",
         "{\"time\":\"2017-12-13T23:09:04.761594Z\",\"usecs\":1513206544761594,\"sequence_no\":41,"
         "\"reboot_counter\":232,\"command_type\":{\"name\":\"CN_MGMT_CMD\",\"code\":0},"
         "\"opcode\":{\"name\":\"CN_GENERATE_KEY_PAIR\",\"code\":25,\"category\":\"key_"
         "generation\"},\"session_handle\":33636356,"
         "\"response\":{\"code\":0,\"text\":\"HSM Return: SUCCESS\",\"success\":true},"
         "\"log_type\":{\"name\":\"MGMT_KEY_DETAILS_LOG\",\"code\":1},"
         "\"priv_secret_key_handle\":131079,\"public_key_handle\":131078,\"host\":\"client-1\","
         "\"source\":\"/var/log/hsm/audit.log\"}"},
        {"s1_cn_create_appliance_user_0x2.log",
         "{\"time\":\"2017-12-19T21:01:17.174902Z\",\"usecs\":1513717277174902,\"sequence_no\":2,"
         "\"reboot_counter\":232,\"command_type\":{\"name\":\"CN_MGMT_CMD\",\"code\":0},"
         "\"opcode\":{\"name\":\"CN_CREATE_APPLIANCE_USER\",\"code\":252,\"category\":\"user_"
         "management\"},"
         "\"session_handle\":16793601,"
         "\"response\":{\"code\":0,\"text\":\"HSM Return: SUCCESS\",\"success\":true},"
         "\"log_type\":{\"name\":\"MGMT_USER_DETAILS_LOG\",\"code\":2},\"user_name\":\"app_user\","
         "\"user_type\":{\"name\":\"CN_APPLIANCE_USER\",\"code\":5},\"host\":\"client-1\","
         "\"source\":\"/var/log/hsm/audit.log\"}"},
        {"s1_cn_share_object_0x3f.log",
         "{\"time\":\"2019-02-08T19:35:39.480168Z\",\"usecs\":1549654539480168,\"sequence_no\":63,"
         "\"reboot_counter\":56,\"command_type\":{\"name\":\"CN_MGMT_CMD\",\"code\":0},"
         "\"opcode\":{\"name\":\"CN_SHARE_OBJECT\",\"code\":18,\"category\":\"key_sharing\"},"
         "\"session_handle\":50413575,"
         "\"response\":{\"code\":0,\"text\":\"HSM Return: SUCCESS\",\"success\":true},"
         "\"log_type\":{\"name\":\"UNKNOWN_LOG_TYPE\",\"code\":5},\"host\":\"client-1\","
         "\"source\":\"/var/log/hsm/audit.log\"}"},
        {"s13_time_info_log.log",
         "{\"time\":\"2022-04-22T20:13:18.189504Z\",\"usecs\":1650658398189504,\"sequence_no\":58,"
         "\"reboot_counter\":56,\"command_type\":{\"name\":\"CN_MGMT_CMD\",\"code\":0},"
         "\"opcode\":{\"name\":\"CN_TIME_SYNC\",\"code\":43,\"category\":\"time\"},\"session_"
         "handle\":0,"
         "\"response\":{\"code\":0,\"text\":\"HSM Return: SUCCESS\",\"success\":true},"
         "\"log_type\":{\"name\":\"TIME_INFO_LOG\",\"code\":16},\"version_no\":\"1.0\","
         "\"local_time\":{\"time\":\"04/30/22 20:13:18.189504\",\"usecs\":1650658398189504},"
         "\"host_time\":{\"time\":\"04/30/22 20:13:18.191729\",\"usecs\":1650658398191729},"
         "\"propagation_delay\":{\"usecs\":39},\"host\":\"client-1\","
         "\"source\":\"/var/log/hsm/audit.log\"}"},
        {"s13_all_optional_fields.log",
         "{\"time\":\"2022-04-23T14:55:37.147946Z\",\"usecs\":1650725737147946,\"sequence_no\":16,"
         "\"reboot_counter\":56,\"command_type\":{\"name\":\"CN_MGMT_CMD\",\"code\":0},"
         "\"opcode\":{\"name\":\"CN_GENERATE_KEY\",\"code\":23,\"category\":\"key_generation\"},"
         "\"session_handle\":50413575,"
         "\"response\":{\"code\":0,\"text\":\"HSM Return: SUCCESS\",\"success\":true},"
         "\"log_type\":{\"name\":\"MGMT_KEY_DETAILS_LOG\",\"code\":1},\"user_id\":\"3\","
         "\"user_name\":\"kmsuser\",\"user_type\":{\"name\":\"CN_CRYPTO_USER\",\"code\":1},"
         "\"priv_secret_key_handle\":131079,\"public_key_handle\":0,\"key_handle\":2490398,"
         "\"mechanism\":4224,\"target_user_name\":\"bob\","
         "\"target_user_type\":{\"name\":\"CN_CRYPTO_USER\",\"code\":1},\"target_user_id\":\"7\","
         "\"mfa_enabled\":\"false\",\"operation\":{\"name\":\"CN_SET_M_VALUE\",\"code\":3},"
         "\"number_of_users\":2,\"user_ids\":\"5\","
         "\"extra\":{\"Priv/Secret Key Handle\":\"131080\",\"Firmware Flavor\":\"hsm2m\"},"
         "\"host\":\"client-1\",\"source\":\"/var/log/hsm/audit.log\"}"},
        {"time_info_no_opcode.log",
         "{\"time\":\"2022-04-22T20:13:18.189504Z\",\"usecs\":1650658398189504,\"sequence_no\":59,"
         "\"reboot_counter\":56,\"command_type\":{\"name\":\"TIME_INFO_CMD\",\"code\":61154},"
         "\"session_handle\":0,"
         "\"response\":{\"code\":0,\"text\":\"HSM Return: SUCCESS\",\"success\":true},"
         "\"log_type\":{\"name\":\"TIME_INFO_LOG\",\"code\":16},"
         "\"local_time\":{\"time\":\"04/22/22 20:13:18.189504\",\"usecs\":1650658398189504},"
         "\"host_time\":{\"time\":\"04/22/22 20:13:18.191729\",\"usecs\":1650658398191729},"
         "\"propagation_delay\":{\"usecs\":39},\"host\":\"client-1\","
         "\"source\":\"/var/log/hsm/audit.log\"}"},
        {"export_prefixed.log", NULL},
    };

    (void)state;
    for (size_t i = 0; golden[i].json; i++) {
        struct one o;
        format_file(golden[i].file, &design_ctx, &o);
        if (strcmp(buf_cstr(&o.json), golden[i].json) != 0)
            fail_msg("%s:\n got %s\nwant %s", golden[i].file, buf_cstr(&o.json), golden[i].json);
        assert_valid_json(&o.json);
        one_free(&o);
    }
}

static void
test_audit_format_raw_is_verbatim_without_final_newline(void **state)
{
    struct one o;
    size_t len;
    char *data = testlib_read_data("audit/s14tab_cn_login_0xd.log", &len);

    (void)state;
    format_file("s14tab_cn_login_0xd.log", NULL, &o);
    assert_int_equal(o.raw.len, len - 1);
    assert_memory_equal(o.raw.p, data, len - 1); /* tabs and all */
    assert_non_null(memchr(o.raw.p, '\t', o.raw.len));
    one_free(&o);
    free(data);
}

static void
test_audit_format_flagged_entry_has_parse_error_and_raw(void **state)
{
    static const char in[] = "not an entry \"quoted\" \\ back\tslash\x01\n"
                             "Time: 01/24/18 17:44:25.013218, usecs:1516815865013218\n"
                             "Sequence No : 0x10000000000000000\n";
    struct one o;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.ctx = &design_ctx;
    assert_int_equal(audit_parse_text(in, sizeof(in) - 1, one_cb, &o), HAF_OK);
    assert_int_equal(o.n, 2);
    assert_string_equal(
        buf_cstr(&o.json),
        "{\"parse_error\":\"text before first entry\",\"raw\":\"not an entry \\\"quoted\\\" \\\\ "
        "back\\tslash\\u0001\",\"host\":\"client-1\",\"source\":\"/var/log/hsm/audit.log\"}"
        "{\"time\":\"2018-01-24T17:44:25.013218Z\",\"usecs\":1516815865013218,"
        "\"parse_error\":\"bad Sequence No\",\"raw\":\"Time: 01/24/18 17:44:25.013218, "
        "usecs:1516815865013218\\nSequence No : 0x10000000000000000\",\"host\":\"client-1\","
        "\"source\":\"/var/log/hsm/audit.log\"}");
    one_free(&o);
}

static void
test_audit_format_escapes_every_control_character(void **state)
{
    char in[40];
    struct haf_entry e;
    struct buf b;
    json_t *j;
    json_error_t jerr;

    (void)state;
    for (int i = 0; i < 32; i++)
        in[i] = (char)i;
    memcpy(in + 32, "\"\\/\x7f", 4);
    memset(&e, 0, sizeof(e));
    e.present = HAF_F_USER_NAME;
    e.user_name = span_make(in, 36);
    buf_init(&b, 0);
    assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, NULL, &b), HAF_OK);
    assert_string_equal(buf_cstr(&b),
                        "{\"user_name\":\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
                        "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014"
                        "\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e"
                        "\\u001f\\\"\\\\/\x7f\"}");
    j = json_loadb(b.p, b.len, JSON_ALLOW_NUL, &jerr);
    assert_non_null(j);
    assert_int_equal(json_string_length(json_object_get(j, "user_name")), 36);
    assert_memory_equal(json_string_value(json_object_get(j, "user_name")), in, 36);
    json_decref(j);
    buf_clean_up(&b);
}

static void
test_audit_format_invalid_utf8_anywhere_becomes_replacement(void **state)
{
    struct haf_entry e;
    struct audit_format_ctx ctx = {
        .host = "h\xff", .source = "/logs/\xc0\xaf.log", .hsm_id = "hsm-\xe2\x82"};
    struct buf b;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.present = HAF_F_USER_NAME;
    e.user_name = SPAN_LIT("ok \xc3\xa9 \xed\xa0\x80");
    e.raw = SPAN_LIT("a\xff");
    buf_init(&b, 0);
    assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, &ctx, &b), HAF_OK);
    assert_string_equal(buf_cstr(&b), "{\"user_name\":\"ok \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef"
                                      "\xbf\xbd\",\"host\":\"h\xef\xbf\xbd\",\"source\":\"/logs/"
                                      "\xef\xbf\xbd\xef\xbf\xbd.log\",\"hsm_id\":\"hsm-\xef\xbf"
                                      "\xbd\xef\xbf\xbd\"}");
    assert_valid_json(&b);
    buf_reset(&b);
    assert_int_equal(audit_format(&e, AUDIT_FORMAT_RAW, &ctx, &b), HAF_OK);
    assert_string_equal(buf_cstr(&b), "a\xef\xbf\xbd");
    buf_clean_up(&b);
}

static void
test_audit_format_numbers_are_exact_past_2_pow_53(void **state)
{
    struct haf_entry e;
    struct buf b;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.present = HAF_F_SEQUENCE_NO | HAF_F_KEY_HANDLE | HAF_F_MECHANISM | HAF_F_NUMBER_OF_USERS;
    e.sequence_no = UINT64_MAX;
    e.key_handle = (1ull << 53) + 1;
    e.mechanism = 0;
    e.number_of_users = 463180677312929947ull;
    buf_init(&b, 0);
    assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, NULL, &b), HAF_OK);
    assert_string_equal(buf_cstr(&b),
                        "{\"sequence_no\":18446744073709551615,\"key_handle\":9007199254740993,"
                        "\"mechanism\":0,\"number_of_users\":463180677312929947}");
    buf_clean_up(&b);
}

static void
test_audit_format_iso_time_edges(void **state)
{
    static const struct {
        uint64_t usecs;
        const char *iso;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000000Z"},
        {1, "1970-01-01T00:00:00.000001Z"},
        {951782400000000, "2000-02-29T00:00:00.000000Z"},
        {1582977600123456, "2020-02-29T12:00:00.123456Z"},
        {4102444799999999, "2099-12-31T23:59:59.999999Z"},
        {253402300800000000, "10000-01-01T00:00:00.000000Z"},
        {UINT64_MAX, "586524-01-19T08:01:49.551615Z"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct haf_entry e;
        struct buf b;
        char want[128];
        memset(&e, 0, sizeof(e));
        e.present = HAF_F_TIME;
        e.usecs = cases[i].usecs;
        buf_init(&b, 0);
        assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, NULL, &b), HAF_OK);
        snprintf(want, sizeof(want), "{\"time\":\"%s\",\"usecs\":%llu}", cases[i].iso,
                 (unsigned long long)cases[i].usecs);
        assert_string_equal(buf_cstr(&b), want);
        assert_int_equal(audit_entry_time_ms(&e), (int64_t)(cases[i].usecs / 1000));
        buf_clean_up(&b);
    }
}

static void
test_audit_format_extra_repeated_labels_get_suffixes(void **state)
{
    struct haf_entry e;
    struct buf b;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.n_extra = 4;
    e.extra[0] = (struct haf_kv){SPAN_LIT("A"), SPAN_LIT("1")};
    e.extra[1] = (struct haf_kv){SPAN_LIT("B\""), SPAN_LIT("2")};
    e.extra[2] = (struct haf_kv){SPAN_LIT("A"), SPAN_LIT("3")};
    e.extra[3] = (struct haf_kv){SPAN_LIT("A"), SPAN_LIT("")};
    buf_init(&b, 0);
    assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, NULL, &b), HAF_OK);
    assert_string_equal(buf_cstr(&b),
                        "{\"extra\":{\"A\":\"1\",\"B\\\"\":\"2\",\"A#2\":\"3\",\"A#3\":\"\"}}");
    assert_valid_json(&b);
    buf_clean_up(&b);
}

static void
test_audit_format_ctx_hsm_id_and_reclocked(void **state)
{
    struct haf_entry e;
    struct audit_format_ctx ctx = {.hsm_id = "hsm-abc123", .reclocked = true};
    struct buf b;

    (void)state;
    memset(&e, 0, sizeof(e));
    buf_init(&b, 0);
    assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, &ctx, &b), HAF_OK);
    assert_string_equal(buf_cstr(&b), "{\"hsm_id\":\"hsm-abc123\",\"reclocked\":true}");
    buf_reset(&b);
    ctx.reclocked = false;
    assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, &ctx, &b), HAF_OK);
    assert_string_equal(buf_cstr(&b), "{\"hsm_id\":\"hsm-abc123\"}");
    buf_clean_up(&b);
}

/* A context rendered once (audit_format_ctx_render) gives the same messages as the members
 * written per entry, escaping included, for a plain and a flagged entry. */
static void
test_audit_format_ctx_rendered_equals_members(void **state)
{
    static const struct audit_format_ctx ctxs[] = {
        {.host = "h1", .source = "/var/log/cloudhsm/a.log", .hsm_id = "hsm-x", .reclocked = true},
        {.source = "/tmp/we\"ird\\path\x01\xff.log"},
        {.reclocked = true},
        {0},
    };
    struct haf_entry e;
    struct buf want, got, r;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.present = HAF_F_TIME;
    e.usecs = 1516815865013218;
    buf_init(&want, 0);
    buf_init(&got, 0);
    buf_init(&r, 0);
    for (size_t i = 0; i < sizeof(ctxs) / sizeof(ctxs[0]); i++) {
        for (int flagged = 0; flagged < 2; flagged++) {
            struct audit_format_ctx c = ctxs[i];
            e.parse_error = flagged ? "bad Opcode" : NULL;
            e.raw = SPAN_LIT("Time: x");
            buf_reset(&want);
            buf_reset(&got);
            buf_reset(&r);
            assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, &c, &want), HAF_OK);
            assert_int_equal(audit_format_ctx_render(&c, &r), HAF_OK);
            c.rendered = buf_span(&r);
            assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, &c, &got), HAF_OK);
            assert_string_equal(buf_cstr(&got), buf_cstr(&want));
            assert_valid_json(&got);
        }
    }
    buf_clean_up(&want);
    buf_clean_up(&got);
    buf_clean_up(&r);
}

static void
test_audit_format_time_mismatch_and_export_time(void **state)
{
    static const char in[] = "2023-04-27T18:33:55.150Z Time: 01/24/18 17:44:25.013219, "
                             "usecs:1516815865013218\n";
    struct one o;

    (void)state;
    memset(&o, 0, sizeof(o));
    assert_int_equal(audit_parse_text(in, sizeof(in) - 1, one_cb, &o), HAF_OK);
    assert_true(span_starts_with(buf_span(&o.json),
                                 SPAN_LIT("{\"time\":\"2018-01-24T17:44:25.013218Z\",\"usecs\":"
                                          "1516815865013218,\"time_mismatch\":true,"
                                          "\"export_time\":\"2023-04-27T18:33:55.150Z\",")));
    assert_string_equal(buf_cstr(&o.raw), "Time: 01/24/18 17:44:25.013219, usecs:1516815865013218");
    one_free(&o);
}

static void
test_audit_format_capped_buffer_fails_cleanly(void **state)
{
    struct one o;
    struct buf b;
    size_t need;

    (void)state;
    format_file("design_example.log", &design_ctx, &o);
    need = o.json.len;
    /* exactly enough fits; one byte less fails and leaves the buffer as it was */
    buf_init(&b, 5 + need);
    assert_int_equal(buf_add(&b, "head:", 5), HAF_OK);
    {
        struct one again;
        memset(&again, 0, sizeof(again));
        again.json = b;
        buf_init(&again.raw, 0);
        again.ctx = &design_ctx;
        size_t len;
        char *data = testlib_read_data("audit/design_example.log", &len);
        assert_int_equal(audit_parse_text(data, len, one_cb, &again), HAF_OK);
        assert_int_equal(again.json.len, 5 + need);
        b = again.json;
        buf_clean_up(&again.raw);
        free(data);
    }
    buf_clean_up(&b);

    /* one short: HAF_ETOOLONG, contents untouched */
    buf_init(&b, 5 + need - 1);
    assert_int_equal(buf_add(&b, "head:", 5), HAF_OK);
    {
        struct haf_entry e;
        memset(&e, 0, sizeof(e));
        e.present = HAF_F_USER_NAME;
        e.user_name = span_make(o.json.p, need); /* escaping only grows it */
        assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, NULL, &b), HAF_ETOOLONG);
        assert_int_equal(b.len, 5);
        assert_string_equal(buf_cstr(&b), "head:");
    }
    buf_clean_up(&b);
    one_free(&o);
}

/* Numbers below 100 take a shortcut that stores two bytes: a buffer capped at exactly the message
 * still takes it, one byte less still fails, for one and two digits, at the end of the message. */
static void
test_audit_format_capped_exact_fit_small_numbers(void **state)
{
    static const uint64_t values[] = {0, 5, 9, 10, 42, 99, 100, 12345};
    struct haf_entry e;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.present = HAF_F_SEQUENCE_NO;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char want[64];
        struct buf b;
        size_t need;

        e.sequence_no = values[i];
        need = (size_t)snprintf(want, sizeof(want), "{\"sequence_no\":%llu}",
                                (unsigned long long)values[i]);
        for (size_t max = need - 1; max <= need + 1; max++) {
            buf_init(&b, max);
            if (max < need) {
                assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, NULL, &b), HAF_ETOOLONG);
                assert_int_equal(b.len, 0);
            } else {
                assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, NULL, &b), HAF_OK);
                assert_string_equal(buf_cstr(&b), want);
            }
            buf_clean_up(&b);
        }
    }
}

static void
test_audit_format_never_empty_and_rejects_unknown_format(void **state)
{
    struct haf_entry e;
    struct buf b;

    (void)state;
    memset(&e, 0, sizeof(e));
    buf_init(&b, 0);
    assert_int_equal(audit_format(&e, AUDIT_FORMAT_RAW, NULL, &b), HAF_OK);
    assert_true(b.len > 0);
    buf_reset(&b);
    assert_int_equal(audit_format(&e, AUDIT_FORMAT_JSON, NULL, &b), HAF_OK);
    assert_string_equal(buf_cstr(&b), "{}");
    assert_int_equal(audit_format(&e, (enum audit_format)7, NULL, &b), HAF_EINVAL);
    assert_string_equal(buf_cstr(&b), "{}");
    buf_clean_up(&b);
}

/* Every data file: jansson reads back the same values we parsed. */
static int
check_cb(void *ctx, const struct haf_entry *e)
{
    struct buf b;
    json_t *j;
    json_error_t jerr;

    (void)ctx;
    buf_init(&b, 0);
    assert_int_equal(audit_format(e, AUDIT_FORMAT_JSON, &design_ctx, &b), HAF_OK);
    j = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL)
        fail_msg("%s: %s", jerr.text, buf_cstr(&b));
    if (e->present & HAF_F_SEQUENCE_NO)
        assert_int_equal((uint64_t)json_integer_value(json_object_get(j, "sequence_no")),
                         e->sequence_no);
    if (e->present & HAF_F_OPCODE)
        assert_int_equal(
            (uint64_t)json_integer_value(json_object_get(json_object_get(j, "opcode"), "code")),
            e->opcode.code);
    assert_int_equal(json_object_get(j, "parse_error") != NULL, e->parse_error != NULL);
    assert_int_equal(json_object_get(j, "raw") != NULL, e->parse_error != NULL);
    json_decref(j);
    buf_clean_up(&b);
    return 0;
}

static void
test_audit_format_all_data_files_are_valid_json(void **state)
{
    static const char *files[] = {"all_s1.log",
                                  "s13_time_info_log.log",
                                  "export_prefixed.log",
                                  "s13_all_optional_fields.log",
                                  "design_example.log",
                                  "s14_subscription_message.log",
                                  "s14tab_cn_login_0xd.log"};

    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[256];
        size_t len;
        char *data;
        snprintf(path, sizeof(path), "audit/%s", files[i]);
        data = testlib_read_data(path, &len);
        assert_int_equal(audit_parse_text(data, len, check_cb, NULL), HAF_OK);
        free(data);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_format_design_example_exactly),
        cmocka_unit_test(test_audit_format_golden_per_log_type),
        cmocka_unit_test(test_audit_format_raw_is_verbatim_without_final_newline),
        cmocka_unit_test(test_audit_format_flagged_entry_has_parse_error_and_raw),
        cmocka_unit_test(test_audit_format_escapes_every_control_character),
        cmocka_unit_test(test_audit_format_invalid_utf8_anywhere_becomes_replacement),
        cmocka_unit_test(test_audit_format_numbers_are_exact_past_2_pow_53),
        cmocka_unit_test(test_audit_format_iso_time_edges),
        cmocka_unit_test(test_audit_format_extra_repeated_labels_get_suffixes),
        cmocka_unit_test(test_audit_format_ctx_hsm_id_and_reclocked),
        cmocka_unit_test(test_audit_format_ctx_rendered_equals_members),
        cmocka_unit_test(test_audit_format_time_mismatch_and_export_time),
        cmocka_unit_test(test_audit_format_capped_buffer_fails_cleanly),
        cmocka_unit_test(test_audit_format_capped_exact_fit_small_numbers),
        cmocka_unit_test(test_audit_format_never_empty_and_rejects_unknown_format),
        cmocka_unit_test(test_audit_format_all_data_files_are_valid_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_batch.c: the PutLogEvents batcher. Exact body bytes; every limit at the boundary and one
 * past it (count, the byte formula with multi-byte UTF-8, message size, 24 h span, time order,
 * empty messages); JSON escaping of every control character checked by parsing the body back
 * with jansson; the invalid-UTF-8 defence; retain, sequence tokens, split points, reset reuse,
 * and a message of the largest allowed size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "haf/batch.h"

#define T0 1440938160000LL

static const struct batch_limits default_limits = {BATCH_MAX_EVENTS, BATCH_MAX_BYTES};

static enum haf_err
add_str(struct batch *b, int64_t ts, const char *msg)
{
    return batch_add(b, ts, span_cstr(msg), NULL);
}

/* Finish and parse the body; checks group and stream, returns the logEvents array's owner. */
static json_t *
finish_and_parse(struct batch *b, struct span *body_out)
{
    struct span body;
    json_error_t jerr;
    json_t *root;

    assert_int_equal(batch_finish(b, &body), HAF_OK);
    root = json_loadb(body.p, body.len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        fail_msg("body is not JSON: %s at %d: %.*s", jerr.text, jerr.position,
                 (int)(body.len > 200 ? 200 : body.len), body.p);
    assert_true(json_is_object(root));
    assert_string_equal(json_string_value(json_object_get(root, "logGroupName")), b->group);
    assert_string_equal(json_string_value(json_object_get(root, "logStreamName")), b->stream);
    assert_true(json_is_array(json_object_get(root, "logEvents")));
    assert_int_equal(json_array_size(json_object_get(root, "logEvents")), batch_count(b));
    if (body_out)
        *body_out = body;
    return root;
}

static json_t *
event_at(json_t *root, size_t i)
{
    return json_array_get(json_object_get(root, "logEvents"), i);
}

static void
assert_event(json_t *root, size_t i, int64_t ts, const char *msg, size_t len)
{
    json_t *ev = event_at(root, i);
    json_t *m = json_object_get(ev, "message");

    assert_non_null(ev);
    assert_int_equal(json_object_size(ev), 2);
    assert_true(json_integer_value(json_object_get(ev, "timestamp")) == ts);
    assert_true(json_is_string(m));
    assert_int_equal(json_string_length(m), len);
    assert_memory_equal(json_string_value(m), msg, len);
}

/* Each event's body_off/body_len must delimit exactly its own JSON object. */
static void
assert_offsets(const struct batch *b)
{
    for (size_t i = 0; i < b->n_ev; i++) {
        const struct batch_event *ev = &b->ev[i];
        json_error_t jerr;
        json_t *obj;

        assert_true(ev->body_off + ev->body_len <= b->body.len);
        assert_int_equal(b->body.p[ev->body_off], '{');
        assert_int_equal(b->body.p[ev->body_off + ev->body_len - 1], '}');
        obj = json_loadb(b->body.p + ev->body_off, ev->body_len, JSON_ALLOW_NUL, &jerr);
        assert_non_null(obj);
        assert_true(json_integer_value(json_object_get(obj, "timestamp")) == ev->timestamp_ms);
        assert_int_equal(json_string_length(json_object_get(obj, "message")), ev->msg_bytes);
        assert_true(batch_message_hash(json_string_value(json_object_get(obj, "message")),
                                       ev->msg_bytes) == ev->msg_hash);
        json_decref(obj);
    }
}

static void
test_batch_finish_exact_body(void **state)
{
    /* The derived vector of cwl-api.md section 1.4: 121 bytes. */
    static const char want1[] = "{\"logGroupName\":\"my-group\",\"logStreamName\":\"my-stream\","
                                "\"logEvents\":[{\"timestamp\":1440938160000,\"message\":\"hello "
                                "world\"}]}";
    static const char want2[] = "{\"logGroupName\":\"my-group\",\"logStreamName\":\"my-stream\","
                                "\"logEvents\":[{\"timestamp\":1440938160000,\"message\":\"hello "
                                "world\"},{\"timestamp\":1440938160001,\"message\":\"a\\\"b\"}]}";
    struct batch b;
    struct span body;
    json_t *root;

    (void)state;
    assert_int_equal(batch_init(&b, &default_limits, "my-group", "my-stream"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "hello world"), HAF_OK);
    assert_int_equal(batch_finish(&b, &body), HAF_OK);
    assert_int_equal(body.len, 121);
    assert_int_equal(body.len, sizeof(want1) - 1);
    assert_memory_equal(body.p, want1, body.len);
    /* Finishing twice returns the same body. */
    assert_int_equal(batch_finish(&b, &body), HAF_OK);
    assert_int_equal(body.len, sizeof(want1) - 1);

    batch_reset(&b);
    assert_int_equal(add_str(&b, T0, "hello world"), HAF_OK);
    assert_int_equal(add_str(&b, T0 + 1, "a\"b"), HAF_OK);
    root = finish_and_parse(&b, &body);
    assert_int_equal(body.len, sizeof(want2) - 1);
    assert_memory_equal(body.p, want2, body.len);
    assert_event(root, 0, T0, "hello world", 11);
    assert_event(root, 1, T0 + 1, "a\"b", 3);
    assert_int_equal(b.payload_bytes, 11 + 26 + 3 + 26);
    assert_int_equal(b.ev[0].msg_bytes, 11);
    assert_true(b.ev[0].msg_hash == batch_message_hash("hello world", 11));
    assert_offsets(&b);
    json_decref(root);
    batch_clean_up(&b);
}

static void
test_batch_finish_empty_batch(void **state)
{
    struct batch b;
    struct span body = SPAN_NULL;

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    assert_int_equal(batch_finish(&b, &body), HAF_EINVAL);
    assert_null(body.p);
    batch_clean_up(&b);
}

static void
test_batch_init_rejects_bad_arguments(void **state)
{
    struct batch_limits lim;
    struct batch b;
    char name[514];

    (void)state;
    lim = (struct batch_limits){0, 1000};
    assert_int_equal(batch_init(&b, &lim, "g", "s"), HAF_EINVAL);
    lim = (struct batch_limits){10001, 1000};
    assert_int_equal(batch_init(&b, &lim, "g", "s"), HAF_EINVAL);
    lim = (struct batch_limits){10, 26};
    assert_int_equal(batch_init(&b, &lim, "g", "s"), HAF_EINVAL);
    lim = (struct batch_limits){10, 1048577};
    assert_int_equal(batch_init(&b, &lim, "g", "s"), HAF_EINVAL);
    assert_int_equal(batch_init(&b, NULL, "", "s"), HAF_EINVAL);
    assert_int_equal(batch_init(&b, NULL, "g", ""), HAF_EINVAL);
    assert_int_equal(batch_init(&b, NULL, NULL, "s"), HAF_EINVAL);
    memset(name, 'x', 513);
    name[513] = '\0';
    assert_int_equal(batch_init(&b, NULL, name, "s"), HAF_EINVAL);
    assert_int_equal(batch_init(&b, NULL, "g", name), HAF_EINVAL);
    assert_null(b.body.p);
    name[512] = '\0';
    assert_int_equal(batch_init(&b, NULL, name, name), HAF_OK);
    assert_true(b.limits.max_events == BATCH_MAX_EVENTS);
    assert_true(b.limits.max_bytes == BATCH_MAX_BYTES);
    batch_clean_up(&b);
    lim = (struct batch_limits){1, 27};
    assert_int_equal(batch_init(&b, &lim, "g", "s"), HAF_OK);
    batch_clean_up(&b);
    /* Clean-up accepts NULL and zeroed structs. */
    batch_clean_up(NULL);
    memset(&b, 0, sizeof(b));
    batch_clean_up(&b);
}

static void
test_batch_check_count_limit(void **state)
{
    struct batch_limits lim = {3, BATCH_MAX_BYTES};
    struct batch b;
    json_t *root;

    (void)state;
    assert_int_equal(batch_init(&b, &lim, "g", "s"), HAF_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(batch_check(&b, T0, 1), BATCH_FITS);
        assert_int_equal(add_str(&b, T0, "x"), HAF_OK);
    }
    assert_int_equal(batch_check(&b, T0, 1), BATCH_FULL);
    assert_int_equal(add_str(&b, T0, "x"), HAF_EINVAL);
    assert_int_equal(batch_count(&b), 3);
    root = finish_and_parse(&b, NULL);
    json_decref(root);
    batch_clean_up(&b);
}

static void
test_batch_check_count_limit_default_10000(void **state)
{
    struct batch b;
    json_t *root;

    (void)state;
    assert_int_equal(batch_init(&b, &default_limits, "g", "s"), HAF_OK);
    for (int i = 0; i < BATCH_MAX_EVENTS; i++)
        assert_int_equal(add_str(&b, T0 + i / 100, "m"), HAF_OK);
    assert_int_equal(batch_count(&b), 10000);
    assert_int_equal(batch_check(&b, T0 + 100, 1), BATCH_FULL);
    assert_int_equal(add_str(&b, T0 + 100, "m"), HAF_EINVAL);
    assert_int_equal(b.payload_bytes, 10000 * 27);
    root = finish_and_parse(&b, NULL);
    assert_event(root, 9999, T0 + 99, "m", 1);
    json_decref(root);
    batch_clean_up(&b);
}

static void
test_batch_check_bytes_formula_boundary(void **state)
{
    struct batch_limits lim = {100, 27};
    struct batch b;

    (void)state;
    /* {max_bytes = 27}: one 1-byte message is exactly 27; a second is one event over. */
    assert_int_equal(batch_init(&b, &lim, "g", "s"), HAF_OK);
    assert_int_equal(batch_check(&b, T0, 1), BATCH_FITS);
    assert_int_equal(add_str(&b, T0, "a"), HAF_OK);
    assert_int_equal(b.payload_bytes, 27);
    assert_int_equal(batch_check(&b, T0, 1), BATCH_FULL);
    assert_int_equal(add_str(&b, T0, "b"), HAF_EINVAL);
    assert_int_equal(batch_check(&b, T0, 2), BATCH_TOO_BIG);
    batch_clean_up(&b);

    /* Multi-byte: the formula counts bytes. "\u20ac" is 3 bytes (one character) = 29 each. */
    lim = (struct batch_limits){100, 58};
    assert_int_equal(batch_init(&b, &lim, "g", "s"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "\xe2\x82\xac"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "\xe2\x82\xac"), HAF_OK);
    assert_int_equal(b.payload_bytes, 58);
    assert_int_equal(batch_check(&b, T0, 1), BATCH_FULL);
    batch_clean_up(&b);

    lim = (struct batch_limits){100, 57};
    assert_int_equal(batch_init(&b, &lim, "g", "s"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "\xe2\x82\xac"), HAF_OK);
    assert_int_equal(batch_check(&b, T0, 3), BATCH_FULL);
    assert_int_equal(add_str(&b, T0, "\xe2\x82\xac"), HAF_EINVAL);
    /* Two one-byte characters (2 bytes) still fit: 29 + 28 = 57. */
    assert_int_equal(add_str(&b, T0, "\xc3\xa9"), HAF_OK);
    assert_int_equal(b.payload_bytes, 57);
    batch_clean_up(&b);
}

static void
test_batch_check_bytes_formula_at_1mib(void **state)
{
    struct batch b;
    char *msg = malloc(BATCH_MAX_BYTES);
    size_t half = (BATCH_MAX_BYTES - 2 * 26) / 2; /* 524,262 */

    (void)state;
    assert_non_null(msg);
    memset(msg, 'q', BATCH_MAX_BYTES);
    assert_int_equal(batch_init(&b, &default_limits, "g", "s"), HAF_OK);
    assert_int_equal(batch_add(&b, T0, span_make(msg, half), NULL), HAF_OK);
    assert_int_equal(batch_check(&b, T0, half + 1), BATCH_FULL);
    assert_int_equal(batch_add(&b, T0, span_make(msg, half + 1), NULL), HAF_EINVAL);
    assert_int_equal(batch_add(&b, T0, span_make(msg, half), NULL), HAF_OK);
    assert_int_equal(b.payload_bytes, BATCH_MAX_BYTES);
    assert_int_equal(batch_check(&b, T0, 1), BATCH_FULL);
    batch_clean_up(&b);
    free(msg);
}

static void
test_batch_check_too_big(void **state)
{
    struct batch_limits lim = {10, 100};
    struct batch b;

    (void)state;
    assert_int_equal(batch_init(&b, &lim, "g", "s"), HAF_OK);
    assert_int_equal(batch_check(&b, T0, 74), BATCH_FITS);
    assert_int_equal(batch_check(&b, T0, 75), BATCH_TOO_BIG);
    batch_clean_up(&b);
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    assert_int_equal(batch_check(&b, T0, BATCH_MAX_MESSAGE_BYTES), BATCH_FITS);
    assert_int_equal(batch_check(&b, T0, BATCH_MAX_MESSAGE_BYTES + 1), BATCH_TOO_BIG);
    assert_int_equal(batch_check(&b, T0, SIZE_MAX), BATCH_TOO_BIG);
    /* Too big is reported even when the batch has events: it is about the message alone. */
    assert_int_equal(add_str(&b, T0, "x"), HAF_OK);
    assert_int_equal(batch_check(&b, T0, BATCH_MAX_MESSAGE_BYTES + 1), BATCH_TOO_BIG);
    assert_int_equal(batch_check(&b, T0, BATCH_MAX_MESSAGE_BYTES), BATCH_FULL);
    batch_clean_up(&b);
}

static void
test_batch_check_time_span(void **state)
{
    struct batch b;

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "first"), HAF_OK);
    assert_int_equal(batch_check(&b, T0 + BATCH_MAX_SPAN_MS, 1), BATCH_TIME_SPAN);
    assert_int_equal(add_str(&b, T0 + BATCH_MAX_SPAN_MS, "x"), HAF_EINVAL);
    assert_int_equal(batch_check(&b, T0 + 86400000LL - 1, 1), BATCH_FITS);
    assert_int_equal(add_str(&b, T0 + 86400000LL - 1, "last"), HAF_OK);
    /* The span is measured from the oldest event, not the previous one. */
    assert_int_equal(batch_check(&b, T0 + 86400000LL, 1), BATCH_TIME_SPAN);
    assert_int_equal(batch_check(&b, INT64_MAX, 1), BATCH_TIME_SPAN);
    assert_int_equal(batch_count(&b), 2);
    batch_clean_up(&b);
}

static void
test_batch_check_time_order(void **state)
{
    struct batch b;

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    /* Any first timestamp fits. */
    assert_int_equal(batch_check(&b, 0, 1), BATCH_FITS);
    assert_int_equal(add_str(&b, T0, "a"), HAF_OK);
    assert_int_equal(batch_check(&b, T0 - 1, 1), BATCH_TIME_ORDER);
    assert_int_equal(add_str(&b, T0 - 1, "b"), HAF_EINVAL);
    /* Equal timestamps are in order. */
    assert_int_equal(add_str(&b, T0, "c"), HAF_OK);
    assert_int_equal(add_str(&b, T0 + 5, "d"), HAF_OK);
    assert_int_equal(batch_check(&b, T0 + 4, 1), BATCH_TIME_ORDER);
    assert_int_equal(batch_check(&b, T0, 1), BATCH_TIME_ORDER);
    assert_int_equal(batch_count(&b), 3);
    batch_clean_up(&b);
}

static void
test_batch_add_empty_message(void **state)
{
    struct batch b;

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    assert_int_equal(batch_check(&b, T0, 0), BATCH_EMPTY_MESSAGE);
    assert_int_equal(batch_add(&b, T0, SPAN_NULL, NULL), HAF_EINVAL);
    assert_int_equal(batch_add(&b, T0, span_make("x", 0), NULL), HAF_EINVAL);
    assert_int_equal(add_str(&b, T0, "x"), HAF_OK);
    assert_int_equal(batch_check(&b, T0, 0), BATCH_EMPTY_MESSAGE);
    assert_int_equal(batch_count(&b), 1);
    batch_clean_up(&b);
}

static void
test_batch_add_refuses_negative_time_and_null(void **state)
{
    struct batch b;

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    assert_int_equal(add_str(&b, -1, "x"), HAF_EINVAL);
    assert_int_equal(batch_add(&b, T0, span_make(NULL, 3), NULL), HAF_EINVAL);
    assert_int_equal(batch_count(&b), 0);
    assert_int_equal(b.body.len, b.prefix_len);
    /* Zero is the epoch: allowed. */
    assert_int_equal(add_str(&b, 0, "x"), HAF_OK);
    batch_clean_up(&b);
}

static void
test_batch_add_escapes_every_control_char(void **state)
{
    char msg[64];
    size_t n = 0;
    struct batch b;
    struct span body;
    json_t *root;

    (void)state;
    for (int c = 0; c < 0x20; c++)
        msg[n++] = (char)c;
    memcpy(msg + n, "\"\\/\x7f\xe2\x80\xa8\xe2\x80\xa9", 10); /* DEL, U+2028, U+2029 */
    n += 10;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    assert_int_equal(batch_add(&b, T0, span_make(msg, n), NULL), HAF_OK);
    assert_int_equal(b.ev[0].msg_bytes, n);
    root = finish_and_parse(&b, &body);
    assert_event(root, 0, T0, msg, n);
    /* The exact escapes: short forms where JSON has them, \u00XX otherwise. */
    {
        static const char want[] =
            "\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r"
            "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
            "\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\\"\\\\/\x7f\xe2\x80\xa8\xe2"
            "\x80\xa9";
        const char *m = memmem(body.p, body.len, "\"message\":\"", 11);
        assert_non_null(m);
        assert_memory_equal(m + 11, want, sizeof(want) - 1);
        assert_memory_equal(m + 11 + sizeof(want) - 1, "\"}]}", 4);
    }
    assert_offsets(&b);
    json_decref(root);
    batch_clean_up(&b);
}

static void
test_batch_add_escapes_at_every_position(void **state)
{
    /* Specials before, inside and after the 8-byte fast path, at every offset. */
    static const char specials[] = {'"', '\\', '\n', '\x01', '\x1f', '\x7f'};
    struct batch b;
    char msg[40];

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    for (size_t k = 0; k < sizeof(specials); k++) {
        for (size_t pos = 0; pos < sizeof(msg); pos++) {
            json_t *root;
            memset(msg, 'a' + (int)(pos % 26), sizeof(msg));
            msg[pos] = specials[k];
            batch_reset(&b);
            assert_int_equal(batch_add(&b, T0, span_make(msg, sizeof(msg)), NULL), HAF_OK);
            assert_int_equal(batch_add(&b, T0, span_make(msg, pos + 1), NULL), HAF_OK);
            root = finish_and_parse(&b, NULL);
            assert_event(root, 0, T0, msg, sizeof(msg));
            assert_event(root, 1, T0, msg, pos + 1);
            json_decref(root);
        }
    }
    batch_clean_up(&b);
}

static void
test_batch_add_passes_valid_utf8(void **state)
{
    /* 2, 3 and 4 byte characters, at the edges of their ranges. */
    static const char msg[] = "\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"
                              "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf \xe6\x97\xa5\xe6\x9c\xac";
    struct batch b;
    struct span body;
    json_t *root;

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    assert_int_equal(batch_add(&b, T0, span_make(msg, sizeof(msg) - 1), NULL), HAF_OK);
    assert_int_equal(b.ev[0].msg_bytes, sizeof(msg) - 1);
    root = finish_and_parse(&b, &body);
    assert_event(root, 0, T0, msg, sizeof(msg) - 1);
    /* Passed through, not \u-escaped. */
    assert_non_null(memmem(body.p, body.len, msg, sizeof(msg) - 1));
    json_decref(root);
    batch_clean_up(&b);
}

static void
test_batch_add_replaces_invalid_utf8(void **state)
{
    static const struct {
        const char *in;
        size_t in_len;
        const char *want;
    } cases[] = {
        {"a\xff"
         "b",
         3,
         "a\xef\xbf\xbd"
         "b"},
        {"\xc3", 1, "\xef\xbf\xbd"},                                 /* truncated */
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong */
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"\xf4\x90\x80\x80", 4,
         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"ok\x80\"", 4, "ok\xef\xbf\xbd\""},                  /* lone continuation */
        {"\xe2\x82\xac\xe2\x82", 5, "\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd"},
    };
    struct batch b;

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t want_len = strlen(cases[i].want);
        json_t *root;

        batch_reset(&b);
        assert_int_equal(add_str(&b, T0, "before"), HAF_OK);
        assert_int_equal(batch_add(&b, T0, span_make(cases[i].in, cases[i].in_len), NULL), HAF_OK);
        /* Counted and hashed as CloudWatch will store it. */
        assert_int_equal(b.ev[1].msg_bytes, want_len);
        assert_true(b.ev[1].msg_hash == batch_message_hash(cases[i].want, want_len));
        assert_int_equal(b.payload_bytes, 6 + 26 + want_len + 26);
        root = finish_and_parse(&b, NULL);
        assert_event(root, 0, T0, "before", 6);
        assert_event(root, 1, T0, cases[i].want, want_len);
        assert_offsets(&b);
        json_decref(root);
    }
    batch_clean_up(&b);
}

static void
test_batch_add_invalid_utf8_growth_rechecked(void **state)
{
    /* 27 + 27 fits by the caller's count, but the replaced text of the second is 3 bytes. */
    struct batch_limits lim = {10, 55};
    struct batch b;

    (void)state;
    assert_int_equal(batch_init(&b, &lim, "g", "s"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "a"), HAF_OK);
    assert_int_equal(batch_check(&b, T0, 1), BATCH_FITS);
    assert_int_equal(batch_add(&b, T0, span_make("\xff", 1), NULL), HAF_EINVAL);
    assert_int_equal(batch_count(&b), 1);
    assert_int_equal(b.payload_bytes, 27);
    assert_int_equal(b.body.len, b.ev[0].body_off + b.ev[0].body_len);
    batch_clean_up(&b);
}

static void
test_batch_add_keeps_meta(void **state)
{
    struct batch_event meta = {0};
    struct batch b;

    (void)state;
    meta.source_id = 7;
    meta.src_end = 123456789012ULL;
    meta.has_seq = true;
    meta.reboot_counter = 263;
    meta.sequence_no = UINT64_MAX;
    meta.msg_hash = 1; /* overwritten */
    meta.body_off = 99;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    assert_int_equal(batch_add(&b, T0, SPAN_LIT("m"), &meta), HAF_OK);
    assert_int_equal(b.ev[0].source_id, 7);
    assert_true(b.ev[0].src_end == 123456789012ULL);
    assert_true(b.ev[0].has_seq);
    assert_true(b.ev[0].reboot_counter == 263);
    assert_true(b.ev[0].sequence_no == UINT64_MAX);
    assert_true(b.ev[0].timestamp_ms == T0);
    assert_true(b.ev[0].msg_hash == batch_message_hash("m", 1));
    assert_int_equal(b.ev[0].body_off, b.prefix_len);
    batch_clean_up(&b);
}

static void
test_batch_add_after_finish_refused(void **state)
{
    struct batch b;
    struct span body;

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "a"), HAF_OK);
    assert_int_equal(batch_finish(&b, &body), HAF_OK);
    assert_int_equal(add_str(&b, T0, "b"), HAF_EINVAL);
    assert_int_equal(batch_count(&b), 1);
    batch_reset(&b);
    assert_int_equal(add_str(&b, T0, "b"), HAF_OK);
    batch_clean_up(&b);
}

static void
test_batch_init_escapes_names(void **state)
{
    struct batch b;
    json_t *root;

    (void)state;
    /* Stream names may hold anything but ':' and '*'. */
    assert_int_equal(batch_init(&b, NULL, "/cloudhsm/audit", "host\"1\\x\t/\xc3\xa9"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "m"), HAF_OK);
    root = finish_and_parse(&b, NULL);
    json_decref(root);
    batch_clean_up(&b);
}

static void
test_batch_retain_keeps_selected(void **state)
{
    static const char *msgs[] = {"zero", "one\n", "two\"", "three", "\xe2\x82\xac four"};
    bool keep[] = {true, false, true, false, true};
    struct batch_event meta = {0};
    struct batch b;
    struct span body;
    json_t *root;

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    for (int i = 0; i < 5; i++) {
        meta.sequence_no = (uint64_t)i;
        assert_int_equal(batch_add(&b, T0 + i, span_cstr(msgs[i]), &meta), HAF_OK);
    }
    assert_int_equal(batch_finish(&b, &body), HAF_OK);
    assert_int_equal(batch_retain(&b, keep), HAF_OK);
    assert_int_equal(batch_count(&b), 3);
    assert_int_equal(b.payload_bytes, 4 + 4 + 8 + 3 * 26);
    assert_true(b.ev[0].sequence_no == 0);
    assert_true(b.ev[1].sequence_no == 2);
    assert_true(b.ev[2].sequence_no == 4);
    assert_offsets(&b);
    root = finish_and_parse(&b, NULL);
    assert_event(root, 0, T0, "zero", 4);
    assert_event(root, 1, T0 + 2, "two\"", 4);
    assert_event(root, 2, T0 + 4, "\xe2\x82\xac four", 8);
    json_decref(root);

    /* Re-opened: more can be added (in order), and retaining again works. */
    assert_int_equal(batch_retain(&b, (bool[]){false, true, true}), HAF_OK);
    assert_int_equal(add_str(&b, T0 + 5, "five"), HAF_OK);
    root = finish_and_parse(&b, NULL);
    assert_event(root, 0, T0 + 2, "two\"", 4);
    assert_event(root, 2, T0 + 5, "five", 4);
    assert_offsets(&b);
    json_decref(root);

    /* Keeping nothing leaves an empty batch, which has no body. */
    assert_int_equal(batch_retain(&b, (bool[]){false, false, false}), HAF_OK);
    assert_int_equal(batch_count(&b), 0);
    assert_int_equal(b.payload_bytes, 0);
    assert_int_equal(batch_finish(&b, &body), HAF_EINVAL);
    assert_int_equal(b.body.len, b.prefix_len);
    assert_int_equal(batch_retain(&b, NULL), HAF_OK);
    batch_clean_up(&b);
}

static void
test_batch_retain_all_is_identity(void **state)
{
    struct batch b;
    struct span body;
    char *before;
    size_t before_len;
    bool keep[3] = {true, true, true};

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "a"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "b"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "c"), HAF_OK);
    assert_int_equal(batch_finish(&b, &body), HAF_OK);
    before_len = body.len;
    before = malloc(before_len);
    assert_non_null(before);
    memcpy(before, body.p, before_len);
    assert_int_equal(batch_retain(&b, keep), HAF_OK);
    assert_int_equal(batch_finish(&b, &body), HAF_OK);
    assert_int_equal(body.len, before_len);
    assert_memory_equal(body.p, before, before_len);
    free(before);
    batch_clean_up(&b);
}

static void
test_batch_set_sequence_token_insert_and_remove(void **state)
{
    static const char want[] = "{\"logGroupName\":\"g\",\"logStreamName\":\"s\","
                               "\"sequenceToken\":\"4961309189710017466\",\"logEvents\":[{"
                               "\"timestamp\":1440938160000,\"message\":\"a\"}]}";
    struct batch b;
    struct span body;
    char *plain;
    size_t plain_len;
    json_t *root;

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "a"), HAF_OK);
    assert_int_equal(batch_finish(&b, &body), HAF_OK);
    plain_len = body.len;
    plain = malloc(plain_len);
    assert_non_null(plain);
    memcpy(plain, body.p, plain_len);

    /* On a finished batch: the body stays finished. */
    assert_int_equal(batch_set_sequence_token(&b, "4961309189710017466"), HAF_OK);
    assert_int_equal(batch_finish(&b, &body), HAF_OK);
    assert_int_equal(body.len, sizeof(want) - 1);
    assert_memory_equal(body.p, want, body.len);
    assert_offsets(&b);

    /* A token from a server is escaped; replacing one token with another. */
    assert_int_equal(batch_set_sequence_token(&b, "x\"y"), HAF_OK);
    root = finish_and_parse(&b, NULL);
    assert_string_equal(json_string_value(json_object_get(root, "sequenceToken")), "x\"y");
    json_decref(root);

    assert_int_equal(batch_set_sequence_token(&b, NULL), HAF_OK);
    assert_int_equal(batch_finish(&b, &body), HAF_OK);
    assert_int_equal(body.len, plain_len);
    assert_memory_equal(body.p, plain, plain_len);
    assert_offsets(&b);
    assert_int_equal(batch_set_sequence_token(&b, ""), HAF_EINVAL);
    free(plain);

    /* On an open batch; the token survives reset; events added after it are placed right. */
    batch_reset(&b);
    assert_int_equal(batch_set_sequence_token(&b, "tok"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "a"), HAF_OK);
    assert_int_equal(add_str(&b, T0, "b"), HAF_OK);
    assert_int_equal(batch_retain(&b, (bool[]){false, true}), HAF_OK);
    root = finish_and_parse(&b, NULL);
    assert_string_equal(json_string_value(json_object_get(root, "sequenceToken")), "tok");
    assert_event(root, 0, T0, "b", 1);
    assert_offsets(&b);
    json_decref(root);
    batch_reset(&b);
    assert_int_equal(add_str(&b, T0, "c"), HAF_OK);
    root = finish_and_parse(&b, NULL);
    assert_string_equal(json_string_value(json_object_get(root, "sequenceToken")), "tok");
    json_decref(root);
    batch_clean_up(&b);
}

static void
test_batch_split_point_multibyte(void **state)
{
    /* "a" + U+00E9 (2) + U+20AC (3) + U+1F600 (4) = 10 bytes */
    static const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    struct span m = span_make(s, 10);

    (void)state;
    assert_int_equal(batch_split_point(m, 100), 10);
    assert_int_equal(batch_split_point(m, 10), 10);
    assert_int_equal(batch_split_point(m, 9), 6);
    assert_int_equal(batch_split_point(m, 8), 6);
    assert_int_equal(batch_split_point(m, 7), 6);
    assert_int_equal(batch_split_point(m, 6), 6);
    assert_int_equal(batch_split_point(m, 5), 3);
    assert_int_equal(batch_split_point(m, 4), 3);
    assert_int_equal(batch_split_point(m, 3), 3);
    assert_int_equal(batch_split_point(m, 2), 1);
    assert_int_equal(batch_split_point(m, 1), 1);
    assert_int_equal(batch_split_point(m, 0), 0);
    /* A part never starts empty: a 4-byte character cut at 2 is cut inside it. */
    assert_int_equal(batch_split_point(span_make(s + 6, 4), 2), 2);
    /* Invalid runs of continuation bytes are cut at max. */
    assert_int_equal(batch_split_point(SPAN_LIT("a\x80\x80\x80\x80\x80"), 5), 5);
    assert_int_equal(batch_split_point(SPAN_LIT("abc"), 2), 2);
    assert_int_equal(batch_split_point(SPAN_NULL, 5), 0);
}

static void
test_batch_split_point_parts_are_valid(void **state)
{
    /* Splitting a long multi-byte message into parts gives parts that each fit and add. */
    size_t n = 3 * 1000 + 1, off = 0, parts = 0;
    char *msg = malloc(n);
    struct batch b;

    (void)state;
    assert_non_null(msg);
    msg[0] = 'x';
    for (size_t i = 1; i < n; i += 3)
        memcpy(msg + i, "\xe2\x82\xac", 3);
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    while (off < n) {
        struct span rest = span_make(msg + off, n - off);
        size_t k = batch_split_point(rest, 100);
        assert_true(k >= 1 && k <= 100);
        assert_int_equal(batch_add(&b, T0, span_make(rest.p, k), NULL), HAF_OK);
        /* Valid UTF-8 stays untouched: no replacement grew the count. */
        assert_int_equal(b.ev[parts].msg_bytes, k);
        off += k;
        parts++;
    }
    assert_int_equal(parts, 31);
    json_decref(finish_and_parse(&b, NULL));
    batch_clean_up(&b);
    free(msg);
}

static void
test_batch_release_gives_memory_back(void **state)
{
    struct batch b;
    struct span body;
    size_t used, mem;

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    used = batch_used_bytes(&b);
    assert_int_equal(used, b.prefix_len);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(add_str(&b, T0, "some message text of a reasonable size"), HAF_OK);
    assert_int_equal(batch_used_bytes(&b), b.body.len + 1000 * sizeof(struct batch_event));
    mem = batch_mem_bytes(&b);
    assert_true(mem >= batch_used_bytes(&b));
    /* A batch holding events keeps everything. */
    batch_release(&b);
    assert_int_equal(batch_mem_bytes(&b), mem);
    assert_int_equal(batch_count(&b), 1000);
    batch_reset(&b);
    batch_release(&b);
    assert_true(batch_mem_bytes(&b) <= 256 + 1);
    assert_null(b.ev);
    /* Still a working batch, prefix kept. */
    assert_int_equal(add_str(&b, T0, "after release"), HAF_OK);
    assert_int_equal(batch_finish(&b, &body), HAF_OK);
    assert_string_equal(body.p, "{\"logGroupName\":\"g\",\"logStreamName\":\"s\",\"logEvents\":[{"
                                "\"timestamp\":1440938160000,\"message\":\"after release\"}]}");
    batch_clean_up(&b);
}

static void
test_batch_reset_reuses_memory(void **state)
{
    struct batch b;
    char *body_p;
    struct batch_event *ev_p;
    size_t body_cap, ev_cap;
    json_t *root;

    (void)state;
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(add_str(&b, T0, "some message text of a reasonable size"), HAF_OK);
    body_p = b.body.p;
    body_cap = b.body.cap;
    ev_p = b.ev;
    ev_cap = b.cap_ev;
    batch_reset(&b);
    assert_int_equal(batch_count(&b), 0);
    assert_int_equal(b.payload_bytes, 0);
    assert_int_equal(b.body.len, b.prefix_len);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(add_str(&b, T0 - 1000, "some message text of a reasonable size"), HAF_OK);
    assert_ptr_equal(b.body.p, body_p);
    assert_int_equal(b.body.cap, body_cap);
    assert_ptr_equal(b.ev, ev_p);
    assert_int_equal(b.cap_ev, ev_cap);
    root = finish_and_parse(&b, NULL);
    assert_event(root, 999, T0 - 1000, "some message text of a reasonable size", 38);
    json_decref(root);
    batch_clean_up(&b);
}

static void
test_batch_add_one_megabyte_message(void **state)
{
    size_t n = BATCH_MAX_MESSAGE_BYTES;
    char *msg = malloc(n);
    struct batch b;
    json_t *root;

    (void)state;
    assert_non_null(msg);
    for (size_t i = 0; i < n; i++)
        msg[i] = (char)('a' + i % 26);
    msg[n / 2] = '\n';
    msg[n - 1] = '"';
    assert_int_equal(batch_init(&b, NULL, "g", "s"), HAF_OK);
    assert_int_equal(batch_add(&b, T0, span_make(msg, n), NULL), HAF_OK);
    assert_int_equal(b.payload_bytes, BATCH_MAX_BYTES);
    assert_int_equal(batch_check(&b, T0, 1), BATCH_FULL);
    root = finish_and_parse(&b, NULL);
    assert_event(root, 0, T0, msg, n);
    json_decref(root);

    /* The worst case for the serialized body: every byte a \u00XX escape, 6x. */
    memset(msg, '\x01', n);
    batch_reset(&b);
    assert_int_equal(batch_add(&b, T0, span_make(msg, n), NULL), HAF_OK);
    root = finish_and_parse(&b, NULL);
    assert_event(root, 0, T0, msg, n);
    assert_true(b.body.len > 6 * n);
    json_decref(root);
    batch_clean_up(&b);
    free(msg);
}

static void
test_batch_message_hash_distinguishes(void **state)
{
    enum { N = 200 };
    static uint64_t seen[N * 9 + 1];
    char buf[N];
    size_t k = 0;

    (void)state;
    for (size_t i = 0; i < N; i++)
        buf[i] = (char)('a' + (i * 7) % 26);
    /* Every length 0..N-1 and every single-bit flip of a byte: no collisions. */
    for (size_t len = 0; len < N; len++) {
        seen[k++] = batch_message_hash(buf, len);
        if (len > 0 && len % 25 == 0) {
            for (int bit = 0; bit < 8; bit++) {
                buf[len / 2] ^= (char)(1 << bit);
                seen[k++] = batch_message_hash(buf, len);
                buf[len / 2] ^= (char)(1 << bit);
            }
        }
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++)
            assert_true(seen[i] != seen[j]);
    /* Deterministic, and independent of alignment. */
    {
        char *a = malloc(N + 1);
        assert_non_null(a);
        memcpy(a + 1, buf, N);
        assert_true(batch_message_hash(a + 1, N) == batch_message_hash(buf, N));
        free(a);
    }
    assert_true(batch_message_hash("", 0) == batch_message_hash(NULL, 0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_finish_exact_body),
        cmocka_unit_test(test_batch_finish_empty_batch),
        cmocka_unit_test(test_batch_init_rejects_bad_arguments),
        cmocka_unit_test(test_batch_check_count_limit),
        cmocka_unit_test(test_batch_check_count_limit_default_10000),
        cmocka_unit_test(test_batch_check_bytes_formula_boundary),
        cmocka_unit_test(test_batch_check_bytes_formula_at_1mib),
        cmocka_unit_test(test_batch_check_too_big),
        cmocka_unit_test(test_batch_check_time_span),
        cmocka_unit_test(test_batch_check_time_order),
        cmocka_unit_test(test_batch_add_empty_message),
        cmocka_unit_test(test_batch_add_refuses_negative_time_and_null),
        cmocka_unit_test(test_batch_add_escapes_every_control_char),
        cmocka_unit_test(test_batch_add_escapes_at_every_position),
        cmocka_unit_test(test_batch_add_passes_valid_utf8),
        cmocka_unit_test(test_batch_add_replaces_invalid_utf8),
        cmocka_unit_test(test_batch_add_invalid_utf8_growth_rechecked),
        cmocka_unit_test(test_batch_add_keeps_meta),
        cmocka_unit_test(test_batch_add_after_finish_refused),
        cmocka_unit_test(test_batch_init_escapes_names),
        cmocka_unit_test(test_batch_retain_keeps_selected),
        cmocka_unit_test(test_batch_retain_all_is_identity),
        cmocka_unit_test(test_batch_set_sequence_token_insert_and_remove),
        cmocka_unit_test(test_batch_split_point_multibyte),
        cmocka_unit_test(test_batch_split_point_parts_are_valid),
        cmocka_unit_test(test_batch_reset_reuses_memory),
        cmocka_unit_test(test_batch_release_gives_memory_back),
        cmocka_unit_test(test_batch_add_one_megabyte_message),
        cmocka_unit_test(test_batch_message_hash_distinguishes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

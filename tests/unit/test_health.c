/*
 * test_health.c: the EMF health record. The exact bytes of one record; the same record read back
 * as JSON has the structure the EMF specification requires (the "_aws" metadata first, one
 * directive whose every metric names a numeric root member, every dimension a string root
 * member, at most 100 metrics and 30 dimensions); strings escaped by the one JSON writer;
 * HAF_EINVAL for an empty or over-long host or namespace; a capped buffer that cannot hold the
 * record restored with HAF_ETOOLONG; values at UINT64_MAX; health_is_record on records and on
 * other messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "haf/health.h"

static struct health_sample
sample(void)
{
    struct health_sample s = {.time_ms = 1765000000123,
                              .interval_s = 60,
                              .host_dimension = "hsm-host-1",
                              .metric_namespace = "HsmAuditForwarder"};

    for (size_t i = 0; i < HEALTH_N_METRICS; i++)
        s.values[i] = i + 1;
    return s;
}

static void
test_health_record_json_exact(void **state)
{
    struct health_sample s = sample();
    struct buf b;
    static const char want[] =
        "{\"_aws\":{\"Timestamp\":1765000000123,\"CloudWatchMetrics\":[{\"Namespace\":"
        "\"HsmAuditForwarder\",\"Dimensions\":[[\"Host\"]],\"Metrics\":["
        "{\"Name\":\"EntriesShipped\",\"Unit\":\"Count\"},"
        "{\"Name\":\"PendingBytes\",\"Unit\":\"Bytes\"},"
        "{\"Name\":\"OldestUnackedAgeSeconds\",\"Unit\":\"Seconds\"},"
        "{\"Name\":\"Retries\",\"Unit\":\"Count\"},"
        "{\"Name\":\"SequenceGaps\",\"Unit\":\"Count\"},"
        "{\"Name\":\"ParseErrors\",\"Unit\":\"Count\"},"
        "{\"Name\":\"FilesLost\",\"Unit\":\"Count\"},"
        "{\"Name\":\"DigestsShipped\",\"Unit\":\"Count\"},"
        "{\"Name\":\"HealthRecordsDropped\",\"Unit\":\"Count\"}]}]},"
        "\"Host\":\"hsm-host-1\",\"EntriesShipped\":1,\"PendingBytes\":2,"
        "\"OldestUnackedAgeSeconds\":3,\"Retries\":4,\"SequenceGaps\":5,\"ParseErrors\":6,"
        "\"FilesLost\":7,\"DigestsShipped\":8,\"HealthRecordsDropped\":9,\"IntervalSeconds\":60}";

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(health_record_json(&s, &b), HAF_OK);
    assert_string_equal(buf_cstr(&b), want);
    /* appends: what was there stays */
    buf_reset(&b);
    assert_int_equal(buf_adds(&b, "x"), HAF_OK);
    assert_int_equal(health_record_json(&s, &b), HAF_OK);
    assert_int_equal(b.len, 1 + strlen(want));
    assert_memory_equal(b.p + 1, want, strlen(want));
    buf_clean_up(&b);
}

/* The structure the EMF specification requires, checked on the parsed record. */
static void
test_health_record_json_is_emf(void **state)
{
    struct health_sample s = sample();
    json_t *root, *aws, *dirs, *dir, *metrics, *dims;
    json_error_t jerr;
    struct buf b;

    (void)state;
    s.values[HEALTH_PENDING_BYTES] = UINT64_MAX;
    buf_init(&b, 0);
    assert_int_equal(health_record_json(&s, &b), HAF_OK);
    assert_non_null(strstr(buf_cstr(&b), "\"PendingBytes\":18446744073709551615,"));
    root = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, &jerr);
    /* jansson refuses integers beyond INT64_MAX: check the rest with a smaller value */
    assert_null(root);
    s.values[HEALTH_PENDING_BYTES] = 2;
    buf_reset(&b);
    assert_int_equal(health_record_json(&s, &b), HAF_OK);
    root = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(root);
    aws = json_object_get(root, "_aws");
    assert_true(json_is_object(aws));
    assert_int_equal(json_object_size(aws), 2);
    assert_int_equal(json_integer_value(json_object_get(aws, "Timestamp")), 1765000000123);
    dirs = json_object_get(aws, "CloudWatchMetrics");
    assert_int_equal(json_array_size(dirs), 1);
    dir = json_array_get(dirs, 0);
    assert_string_equal(json_string_value(json_object_get(dir, "Namespace")), "HsmAuditForwarder");
    dims = json_object_get(dir, "Dimensions");
    assert_int_equal(json_array_size(dims), 1);
    assert_true(json_array_size(json_array_get(dims, 0)) <= 30);
    for (size_t i = 0; i < json_array_size(json_array_get(dims, 0)); i++) {
        const char *k = json_string_value(json_array_get(json_array_get(dims, 0), i));
        assert_non_null(k);
        assert_true(json_is_string(json_object_get(root, k)));
    }
    metrics = json_object_get(dir, "Metrics");
    assert_int_equal(json_array_size(metrics), HEALTH_N_METRICS);
    assert_true(json_array_size(metrics) <= 100);
    for (size_t i = 0; i < json_array_size(metrics); i++) {
        const json_t *m = json_array_get(metrics, i);
        const char *name = json_string_value(json_object_get(m, "Name"));

        assert_string_equal(name, health_metric_name((enum health_metric)i));
        assert_string_equal(json_string_value(json_object_get(m, "Unit")),
                            health_metric_unit((enum health_metric)i));
        assert_int_equal(json_integer_value(json_object_get(root, name)), (json_int_t)i + 1);
    }
    assert_int_equal(json_integer_value(json_object_get(root, "IntervalSeconds")), 60);
    json_decref(root);
    buf_clean_up(&b);
}

static void
test_health_record_json_escapes_strings(void **state)
{
    struct health_sample s = sample();
    struct buf b;
    json_t *root;

    (void)state;
    s.host_dimension = "h\"o\\st\n\xff";
    s.metric_namespace = "A/B \"c\"";
    buf_init(&b, 0);
    assert_int_equal(health_record_json(&s, &b), HAF_OK);
    assert_non_null(strstr(buf_cstr(&b), "\"Host\":\"h\\\"o\\\\st\\n\xef\xbf\xbd\""));
    assert_non_null(strstr(buf_cstr(&b), "\"Namespace\":\"A/B \\\"c\\\"\""));
    root = json_loadb(b.p, b.len, 0, NULL);
    assert_non_null(root);
    json_decref(root);
    buf_clean_up(&b);
}

static void
test_health_record_json_einval(void **state)
{
    struct health_sample s = sample();
    char big[1100];
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_adds(&b, "keep"), HAF_OK);
    s.host_dimension = "";
    assert_int_equal(health_record_json(&s, &b), HAF_EINVAL);
    s.host_dimension = NULL;
    assert_int_equal(health_record_json(&s, &b), HAF_EINVAL);
    memset(big, 'h', sizeof(big));
    big[1024] = '\0'; /* 1024: the largest dimension value */
    s.host_dimension = big;
    assert_int_equal(health_record_json(&s, &b), HAF_OK);
    b.len = 4;
    big[1024] = 'h';
    big[1025] = '\0';
    assert_int_equal(health_record_json(&s, &b), HAF_EINVAL);
    s = sample();
    s.metric_namespace = "";
    assert_int_equal(health_record_json(&s, &b), HAF_EINVAL);
    big[255] = '\0';
    s.metric_namespace = big;
    assert_int_equal(health_record_json(&s, &b), HAF_OK);
    b.len = 4;
    big[255] = 'h';
    big[256] = '\0';
    assert_int_equal(health_record_json(&s, &b), HAF_EINVAL);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.p, "keep", 4);
    buf_clean_up(&b);
}

/* A buffer capped below the record's size: refused, and left as it was. Each cap from 0 to the
 * full size (the record fails at a different member each time). */
static void
test_health_record_json_etoolong_restores(void **state)
{
    struct health_sample s = sample();
    struct buf full, b;

    (void)state;
    buf_init(&full, 0);
    assert_int_equal(health_record_json(&s, &full), HAF_OK);
    for (size_t cap = 8; cap <= full.len + 8; cap++) {
        enum haf_err e;

        buf_init(&b, cap);
        assert_int_equal(buf_adds(&b, "ab"), HAF_OK);
        e = health_record_json(&s, &b);
        if (e == HAF_OK) {
            assert_int_equal(b.len, 2 + full.len);
        } else {
            assert_int_equal(e, HAF_ETOOLONG);
            assert_int_equal(b.len, 2);
            assert_string_equal(buf_cstr(&b), "ab");
        }
        buf_clean_up(&b);
    }
    buf_clean_up(&full);
}

static void
test_health_is_record(void **state)
{
    struct health_sample s = sample();
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(health_record_json(&s, &b), HAF_OK);
    assert_true(health_is_record(buf_span(&b)));
    assert_false(health_is_record(span_cstr("{\"haf_digest\":1}")));
    assert_false(health_is_record(span_cstr("{\"event\":\"sequence_gap\"}")));
    assert_false(health_is_record(span_cstr("{\"_aws\"")));
    assert_false(health_is_record(span_cstr("")));
    assert_false(health_is_record(span_cstr(" {\"_aws\":{")));
    buf_clean_up(&b);
}

static void
test_health_metric_name_out_of_range(void **state)
{
    (void)state;
    assert_string_equal(health_metric_name(HEALTH_N_METRICS), "?");
    assert_string_equal(health_metric_unit((enum health_metric) - 1), "?");
    assert_string_equal(health_metric_name(HEALTH_OLDEST_UNACKED_AGE), "OldestUnackedAgeSeconds");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_record_json_exact),
        cmocka_unit_test(test_health_record_json_is_emf),
        cmocka_unit_test(test_health_record_json_escapes_strings),
        cmocka_unit_test(test_health_record_json_einval),
        cmocka_unit_test(test_health_record_json_etoolong_restores),
        cmocka_unit_test(test_health_is_record),
        cmocka_unit_test(test_health_metric_name_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

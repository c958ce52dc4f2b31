/*
 * test_logs_reader.c: the CloudWatch Logs event reader (src/logs_reader.c).
 *
 * Two layers:
 * - the page parser and event walk on hand-made answers (pure): NUL bytes kept with the length,
 *   the stream name from the event or the default, ingestionTime absent, the time window and the
 *   prefix enforced on our side, a stopping callback, every malformed shape refused as HAF_EPARSE;
 * - when HAF_LR_URL is set (tests/integration/logs_reader_moto.sh: moto_server with IAM auth on,
 *   behind tests/tools/throttle_front.py, which throttles the second FilterLogEvents and
 *   GetLogEvents request and answers 503 to the third DescribeLogStreams), the reader against it:
 *   FilterLogEvents by prefix and window over several pages, DescribeLogStreams + GetLogEvents per
 *   stream, each writing what it read to a file the script compares with the AWS CLI's view;
 *   a user without logs:FilterLogEvents (AccessDenied) and a missing group (ResourceNotFound)
 *   end as HAF_EREJECTED with the class. Without HAF_LR_URL these cases are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haf/creds.h"
#include "haf/cwl.h"
#include "haf/http.h"
#include "haf/logs_reader.h"
#include "logs_reader_internal.h"

/* ---- pure: pages ---- */

struct seen {
    size_t n;
    int stop_after; /* 0: never */
    char stream[8][32];
    int64_t ts[8];
    int64_t ing[8];
    size_t len[8];
    char msg[8][32];
};

static int
on_event(void *ctx, const struct logs_event *ev)
{
    struct seen *s = ctx;

    if (s->n < 8) {
        snprintf(s->stream[s->n], sizeof(s->stream[0]), "%.*s", (int)ev->stream.len,
                 ev->stream.p ? ev->stream.p : "");
        s->ts[s->n] = ev->timestamp_ms;
        s->ing[s->n] = ev->ingestion_ms;
        s->len[s->n] = ev->message.len;
        memcpy(s->msg[s->n], ev->message.p, ev->message.len < 32 ? ev->message.len : 32);
    }
    s->n++;
    return s->stop_after > 0 && (int)s->n >= s->stop_after;
}

static enum haf_err
walk(const char *body, const struct logs_window *w, struct seen *s, struct logs_progress *prog,
     bool *stop)
{
    struct logs_page page;
    enum haf_err e = logs_page_parse(span_cstr(body), "events", "nextToken", &page);

    if (e != HAF_OK)
        return e;
    e = logs_page_events(&page, SPAN_LIT("default"), w, on_event, s, prog, stop);
    logs_page_clean_up(&page);
    return e;
}

static void
test_logs_page_events_nul_and_stream(void **state)
{
    const char *body = "{\"events\":[{\"logStreamName\":\"hsm-1\",\"timestamp\":1000,"
                       "\"ingestionTime\":1005,\"message\":\"a\\u0000b\"},"
                       "{\"timestamp\":2000,\"message\":\"x\"}],\"nextToken\":\"T2\"}";
    struct logs_window w = {0};
    struct logs_progress prog = {0};
    struct seen s = {0};
    bool stop = false;

    (void)state;
    assert_int_equal(walk(body, &w, &s, &prog, &stop), HAF_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.stream[0], "hsm-1");
    assert_int_equal(s.ts[0], 1000);
    assert_int_equal(s.ing[0], 1005);
    assert_int_equal(s.len[0], 3);
    assert_memory_equal(s.msg[0], "a\0b", 3);
    assert_string_equal(s.stream[1], "default");
    assert_int_equal(s.ing[1], -1);
    assert_int_equal(prog.events, 2);
    assert_int_equal(prog.bytes, 4);
    assert_int_equal(prog.last_timestamp_ms, 2000);
    assert_false(stop);
}

static void
test_logs_page_events_window_and_prefix(void **state)
{
    const char *body = "{\"events\":["
                       "{\"logStreamName\":\"hsm-1\",\"timestamp\":999,\"message\":\"early\"},"
                       "{\"logStreamName\":\"hsm-1\",\"timestamp\":1000,\"message\":\"in\"},"
                       "{\"logStreamName\":\"other\",\"timestamp\":1500,\"message\":\"other\"},"
                       "{\"logStreamName\":\"hsm-2\",\"timestamp\":1999,\"message\":\"in2\"},"
                       "{\"logStreamName\":\"hsm-2\",\"timestamp\":2000,\"message\":\"end\"}]}";
    struct logs_window w = {.start_ms = 1000, .end_ms = 2000, .prefix = "hsm-"};
    struct logs_progress prog = {0};
    struct seen s = {0};
    bool stop = false;

    (void)state;
    assert_int_equal(walk(body, &w, &s, &prog, &stop), HAF_OK);
    assert_int_equal(s.n, 2);
    assert_memory_equal(s.msg[0], "in", 2);
    assert_memory_equal(s.msg[1], "in2", 3);
    assert_int_equal(prog.events, 2);
}

static void
test_logs_page_events_callback_stops(void **state)
{
    const char *body = "{\"events\":[{\"timestamp\":1,\"message\":\"a\"},"
                       "{\"timestamp\":2,\"message\":\"b\"},{\"timestamp\":3,\"message\":\"c\"}]}";
    struct logs_window w = {0};
    struct logs_progress prog = {0};
    struct seen s = {.stop_after = 2};
    bool stop = false;

    (void)state;
    assert_int_equal(walk(body, &w, &s, &prog, &stop), HAF_OK);
    assert_true(stop);
    assert_int_equal(s.n, 2);
}

static void
test_logs_page_parse_token(void **state)
{
    struct logs_page page;

    (void)state;
    assert_int_equal(logs_page_parse(SPAN_LIT("{\"events\":[],\"nextForwardToken\":\"f/1\"}"),
                                     "events", "nextForwardToken", &page),
                     HAF_OK);
    assert_string_equal(page.next, "f/1");
    logs_page_clean_up(&page);
    assert_int_equal(logs_page_parse(SPAN_LIT("{\"events\":[],\"nextToken\":null}"), "events",
                                     "nextToken", &page),
                     HAF_OK);
    assert_null(page.next);
    logs_page_clean_up(&page);
    logs_page_clean_up(NULL);
}

static void
test_logs_page_parse_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"events\":{}}",
        "{\"nextToken\":\"x\"}",
        "<html>busy</html>",
        "{\"events\":[",
        "{\"events\":[]}trailing",
    };
    struct logs_page page;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(logs_page_parse(span_cstr(bad[i]), "events", "nextToken", &page),
                         HAF_EPARSE);
        assert_null(page.root);
    }
}

static void
test_logs_page_events_malformed_event(void **state)
{
    static const char *const bad[] = {
        "{\"events\":[{\"timestamp\":1,\"message\":\"ok\"},{\"message\":\"no time\"}]}",
        "{\"events\":[{\"timestamp\":\"1\",\"message\":\"string time\"}]}",
        "{\"events\":[{\"timestamp\":1,\"message\":7}]}",
        "{\"events\":[{\"timestamp\":1.5,\"message\":\"float\"}]}",
        "{\"events\":[\"not an object\"]}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct logs_window w = {0};
        struct logs_progress prog = {0};
        struct seen s = {0};
        bool stop = false;
        assert_int_equal(walk(bad[i], &w, &s, &prog, &stop), HAF_EPARSE);
    }
}

static void
test_logs_reader_filter_invalid_args(void **state)
{
    struct http_client *h = http_client_new(NULL);
    struct cwl_opts o = {.endpoint = "http://127.0.0.1:9/", .region = "us-east-1"};
    struct cwl_client *c = cwl_client_new(&o, h, NULL);
    const char *names[] = {"a"};
    struct logs_filter both = {
        .group = "g", .stream_prefix = "p", .streams = names, .n_streams = 1};
    struct logs_filter nogroup = {0};
    struct logs_filter bad_utf8 = {.group = "g\xff"};
    struct logs_reader_opts big = {.page_limit = 10001};
    struct logs_filter ok = {.group = "g"};
    struct cwl_result res;
    struct seen s = {0};

    (void)state;
    assert_non_null(c);
    assert_int_equal(logs_reader_filter(c, &both, NULL, on_event, &s, &res), HAF_EINVAL);
    assert_int_equal(logs_reader_filter(c, &nogroup, NULL, on_event, &s, &res), HAF_EINVAL);
    assert_int_equal(logs_reader_filter(c, &bad_utf8, NULL, on_event, &s, &res), HAF_EINVAL);
    assert_int_equal(logs_reader_filter(c, &ok, &big, on_event, &s, &res), HAF_EINVAL);
    /* No credentials provider: nothing is sent. */
    assert_int_equal(logs_reader_filter(c, &ok, NULL, on_event, &s, &res), HAF_ECREDS);
    assert_int_equal(logs_reader_stream(c, "g", "s", 0, 0, &big, on_event, &s, &res), HAF_EINVAL);
    cwl_client_free(c);
    http_client_free(h);
}

/* ---- against moto behind throttle_front.py (HAF_LR_URL) ---- */

struct rig {
    struct http_client *http;
    struct creds_provider *creds;
    struct cwl_client *cwl;
};

static void
rig_open(struct rig *r, const char *akid, const char *secret)
{
    struct http_opts ho = {.verify = true, .connect_timeout_ms = 2000, .timeout_ms = 10000};
    struct creds_opts co = {.region = getenv("AWS_REGION")};
    struct cwl_opts o = {.endpoint = getenv("HAF_LR_URL"), .region = getenv("AWS_REGION")};

    setenv("AWS_ACCESS_KEY_ID", akid, 1);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    r->http = http_client_new(&ho);
    r->creds = creds_provider_new(&co, r->http);
    r->cwl = cwl_client_new(&o, r->http, r->creds);
    assert_non_null(r->cwl);
}

static void
rig_close(struct rig *r)
{
    cwl_client_free(r->cwl);
    creds_provider_free(r->creds);
    http_client_free(r->http);
}

/* One line per event: stream TAB timestamp TAB ingestion>0 TAB message with \ NUL LF escaped. */
static int
dump_event(void *ctx, const struct logs_event *ev)
{
    FILE *f = ctx;

    fprintf(f, "%.*s\t%lld\t%d\t", (int)ev->stream.len, ev->stream.p, (long long)ev->timestamp_ms,
            ev->ingestion_ms > 0);
    for (size_t i = 0; i < ev->message.len; i++) {
        char ch = ev->message.p[i];
        if (ch == '\\')
            fputs("\\\\", f);
        else if (ch == '\0')
            fputs("\\0", f);
        else if (ch == '\n')
            fputs("\\n", f);
        else
            fputc(ch, f);
    }
    fputc('\n', f);
    return 0;
}

static struct logs_progress last_progress;
static size_t progress_calls;

static void
on_progress(void *ctx, const struct logs_progress *p)
{
    (void)ctx;
    last_progress = *p;
    progress_calls++;
}

static int64_t
env_i64(const char *name)
{
    const char *v = getenv(name);
    return v ? strtoll(v, NULL, 10) : 0;
}

static void
test_logs_reader_moto_filter_pages(void **state)
{
    struct logs_reader_opts o = {.page_limit = 7, .backoff_base_ms = 50, .progress = on_progress};
    struct logs_filter f = {.group = getenv("HAF_LR_GROUP"),
                            .stream_prefix = "hsm-",
                            .start_ms = env_i64("HAF_LR_START"),
                            .end_ms = env_i64("HAF_LR_END")};
    struct cwl_result res;
    struct rig r;
    FILE *out;

    (void)state;
    if (getenv("HAF_LR_URL") == NULL)
        skip();
    out = fopen(getenv("HAF_LR_OUT_FILTER"), "w");
    assert_non_null(out);
    rig_open(&r, getenv("HAF_READER_KEY_ID"), getenv("HAF_READER_SECRET"));
    progress_calls = 0;
    assert_int_equal(logs_reader_filter(r.cwl, &f, &o, dump_event, out, &res), HAF_OK);
    fclose(out);
    assert_int_equal(res.cls, CWL_OK);
    /* 7 per page: several pages, one throttled request retried, progress after each request. */
    assert_true(last_progress.pages >= 3);
    assert_int_equal(last_progress.retries, 1);
    assert_int_equal(last_progress.requests, last_progress.pages + 1);
    assert_true(progress_calls >= last_progress.requests);
    rig_close(&r);
}

static int
save_name(void *ctx, struct span name)
{
    char(*names)[64] = ctx;
    for (size_t i = 0; i < 8; i++) {
        if (names[i][0] == '\0') {
            snprintf(names[i], 64, "%.*s", (int)name.len, name.p);
            return 0;
        }
    }
    return 1;
}

static void
test_logs_reader_moto_streams(void **state)
{
    struct logs_reader_opts o = {.page_limit = 5, .backoff_base_ms = 50, .progress = on_progress};
    struct logs_reader_opts lo = {.backoff_base_ms = 50};
    char names[8][64] = {{0}};
    uint64_t retries = 0, pages = 0;
    struct cwl_result res;
    struct rig r;
    FILE *out;

    (void)state;
    if (getenv("HAF_LR_URL") == NULL)
        skip();
    rig_open(&r, getenv("HAF_READER_KEY_ID"), getenv("HAF_READER_SECRET"));
    assert_int_equal(logs_reader_list_streams(r.cwl, getenv("HAF_LR_GROUP"), "hsm-", &lo, save_name,
                                              names, &res),
                     HAF_OK);
    assert_string_equal(names[0], "hsm-aaa");
    assert_string_equal(names[1], "hsm-bbb");
    assert_string_equal(names[2], "");
    out = fopen(getenv("HAF_LR_OUT_STREAMS"), "w");
    assert_non_null(out);
    for (size_t i = 0; names[i][0]; i++) {
        assert_int_equal(logs_reader_stream(r.cwl, getenv("HAF_LR_GROUP"), names[i],
                                            env_i64("HAF_LR_START"), env_i64("HAF_LR_END"), &o,
                                            dump_event, out, &res),
                         HAF_OK);
        retries += last_progress.retries;
        pages += last_progress.pages;
    }
    fclose(out);
    assert_int_equal(retries, 1);
    assert_true(pages >= 6);
    rig_close(&r);
}

static void
test_logs_reader_moto_denied_and_missing(void **state)
{
    struct logs_reader_opts o = {.backoff_base_ms = 50};
    struct logs_filter f = {.group = getenv("HAF_LR_GROUP")};
    struct logs_filter missing = {.group = "haf-no-such-group"};
    struct cwl_result res;
    struct seen s = {0};
    struct rig r;

    (void)state;
    if (getenv("HAF_LR_URL") == NULL)
        skip();
    /* The writer may put, not filter. */
    rig_open(&r, getenv("HAF_WRITER_KEY_ID"), getenv("HAF_WRITER_SECRET"));
    assert_int_equal(logs_reader_filter(r.cwl, &f, &o, on_event, &s, &res), HAF_EREJECTED);
    assert_int_equal(res.cls, CWL_ACCESS_DENIED);
    rig_close(&r);
    rig_open(&r, getenv("HAF_READER_KEY_ID"), getenv("HAF_READER_SECRET"));
    assert_int_equal(logs_reader_filter(r.cwl, &missing, &o, on_event, &s, &res), HAF_EREJECTED);
    assert_int_equal(res.cls, CWL_NOT_FOUND);
    assert_int_equal(s.n, 0);
    rig_close(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logs_page_events_nul_and_stream),
        cmocka_unit_test(test_logs_page_events_window_and_prefix),
        cmocka_unit_test(test_logs_page_events_callback_stops),
        cmocka_unit_test(test_logs_page_parse_token),
        cmocka_unit_test(test_logs_page_parse_malformed),
        cmocka_unit_test(test_logs_page_events_malformed_event),
        cmocka_unit_test(test_logs_reader_filter_invalid_args),
        cmocka_unit_test(test_logs_reader_moto_filter_pages),
        cmocka_unit_test(test_logs_reader_moto_streams),
        cmocka_unit_test(test_logs_reader_moto_denied_and_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

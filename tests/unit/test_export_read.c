/*
 * test_export_read.c: the export reader. Detection of every documented shape (plain audit text, a
 * certificate event, get-log-events and filter-log-events JSON, a bare event array, a
 * subscription payload, S3-export lines), also gzip-compressed and with a BOM; forcing a format;
 * events with their times and stream names (S3: the file's directory); S3 multi-line messages,
 * text before the first prefix, CRLF; concatenated JSON documents; gzip members concatenated,
 * trailing garbage ignored, truncated and corrupt gzip refused with their reasons; every error
 * path; a callback stop; ISO prefix times at the edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <zlib.h>

#include "haf/buf.h"
#include "haf/export_read.h"
#include "testlib.h"

static const char entry[] = "Time: 01/16/18 01:49:55.993404, usecs:1516067395993404\n"
                            "Sequence No : 0x2\nReboot counter : 0x107\n"
                            "Command Type(hex) : CN_MGMT_CMD (0x0)\nOpcode : CN_CREATE_CO (0x4)\n"
                            "Session Handle : 0x7014007\nResponse : 0:HSM Return: SUCCESS\n"
                            "Log type : MGMT_USER_DETAILS_LOG (2)\nUser Name : alice\n"
                            "User Type : CN_CRYPTO_OFFICER (2)";

static char *dir;

static int
mkdir_one(const char *path)
{
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = malloc(1 << 16);

    assert_non_null(f);
    assert_non_null(p);
    *len = fread(p, 1, 1 << 16, f);
    fclose(f);
    return p;
}

static int
setup(void **state)
{
    (void)state;
    dir = testlib_mkdtemp();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    testlib_rmtree(dir);
    free(dir);
    return 0;
}

/* Write data to dir/name (creating its subdirectories); gzip when asked. */
static char *
put(const char *name, const char *data, size_t len, bool gz)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    char *slash;

    assert_non_null(path);
    sprintf(path, "%s/%s", dir, name);
    for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        assert_int_equal(mkdir_one(path), 0);
        *slash = '/';
    }
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
    return path;
}

struct got {
    size_t n;
    int64_t ts[8];
    char *msg[8];
    char *stream[8];
    size_t stop_at; /* stop after this many (0: never) */
};

static int
got_cb(void *ctx, const struct export_event *ev)
{
    struct got *g = ctx;

    assert_true(g->n < 8);
    g->ts[g->n] = ev->timestamp_ms;
    g->msg[g->n] = strndup(ev->message.p, ev->message.len);
    g->stream[g->n] = ev->stream ? strdup(ev->stream) : NULL;
    g->n++;
    return g->stop_at && g->n == g->stop_at;
}

static void
got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->msg[i]);
        free(g->stream[i]);
    }
    memset(g, 0, sizeof(*g));
}

/* Open path as `want`, check the detected format, collect the events. */
static enum haf_err
events_of(const char *path, enum export_input want, enum export_input expect, struct got *g,
          const char **why)
{
    struct export_reader *r = NULL;
    enum haf_err err;

    assert_int_equal(export_open(path, want, &r, why), HAF_OK);
    assert_int_equal(export_input_of(r), expect);
    err = export_events(r, got_cb, g, why);
    export_close(r);
    return err;
}

static void
test_export_detects_every_shape(void **state)
{
    static const struct {
        const char *name, *data;
        enum export_input in;
    } cases[] = {
        {"a.log", entry, EXPORT_INPUT_AUDIT},
        {"c.log", "{\"object_handle\": 1, \"op_code\": \"CreateObject\"}", EXPORT_INPUT_AUDIT},
        {"g.json", "{\n  \"events\": []\n}", EXPORT_INPUT_CWL_JSON},
        {"f.json", "{\"searchedLogStreams\": [], \"events\": []}", EXPORT_INPUT_CWL_JSON},
        {"q.json", "  [ ]", EXPORT_INPUT_CWL_JSON},
        {"s.json", "{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[]}", EXPORT_INPUT_CWL_JSON},
        {"b.json", "\xEF\xBB\xBF{\"nextForwardToken\":\"x\",\"events\":[]}", EXPORT_INPUT_CWL_JSON},
        {"e.txt", "2023-04-27T18:33:55.150Z Time: 1\n", EXPORT_INPUT_S3},
        {"x.txt", "2023-04-27 18:33:55 Time: 1\n", EXPORT_INPUT_AUDIT},
        {"z.txt", "", EXPORT_INPUT_AUDIT},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int gz = 0; gz < 2; gz++) {
            char name[32];
            char *path;
            struct export_reader *r = NULL;
            const char *why = NULL;
            snprintf(name, sizeof(name), "%s%s", cases[i].name, gz ? ".gz" : "");
            path = put(name, cases[i].data, strlen(cases[i].data), gz);
            assert_int_equal(export_open(path, EXPORT_INPUT_AUTO, &r, &why), HAF_OK);
            if (export_input_of(r) != cases[i].in)
                fail_msg("%s: detected %s", name, export_input_name(export_input_of(r)));
            assert_int_equal(export_is_gzip(r), gz);
            export_close(r);
            free(path);
        }
    }
}

static void
test_export_read_returns_every_byte_after_lookahead(void **state)
{
    size_t big = 200000, got = 0;
    char *data = malloc(big), *back = malloc(big + 1);
    char *path;
    struct export_reader *r = NULL;
    const char *why;

    (void)state;
    for (size_t i = 0; i < big; i++)
        data[i] = (char)('a' + i % 26);
    data[0] = 'T';
    for (int gz = 0; gz < 2; gz++) {
        path = put(gz ? "big.gz" : "big", data, big, gz);
        assert_int_equal(export_open(path, EXPORT_INPUT_AUTO, &r, &why), HAF_OK);
        got = 0;
        for (;;) {
            size_t n;
            assert_int_equal(export_read(r, back + got, 777, &n, &why), HAF_OK);
            if (n == 0)
                break;
            got += n;
            assert_true(got <= big);
        }
        assert_int_equal(got, big);
        assert_memory_equal(back, data, big);
        export_close(r);
        free(path);
    }
    free(data);
    free(back);
}

static void
test_export_cwl_json_events_times_and_streams(void **state)
{
    struct buf b;
    struct got g = {0};
    const char *why;
    char *path;

    (void)state;
    buf_init(&b, 0);
    /* get-log-events, then filter-log-events, then a subscription payload: one file */
    assert_int_equal(buf_adds(&b, "{\"events\":[{\"timestamp\":1516067395993,\"message\":\"a\\nb\","
                                  "\"ingestionTime\":1}],\"nextForwardToken\":\"f\"}\n"
                                  "{\"events\":[{\"logStreamName\":\"hsm-abc\",\"timestamp\":7,"
                                  "\"message\":\"m\\u0000n\"}]}"
                                  "{\"logStream\":\"hsm-sub\",\"logEvents\":[{\"id\":\"1\","
                                  "\"timestamp\":9,\"message\":\"s\"},{\"message\":\"t\","
                                  "\"logStreamName\":\"own\"}]}"),
                     HAF_OK);
    path = put("cwl.json", b.p, b.len, true);
    assert_int_equal(events_of(path, EXPORT_INPUT_AUTO, EXPORT_INPUT_CWL_JSON, &g, &why), HAF_OK);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.ts[0], 1516067395993);
    assert_string_equal(g.msg[0], "a\nb");
    assert_null(g.stream[0]);
    assert_int_equal(g.ts[1], 7);
    assert_string_equal(g.stream[1], "hsm-abc");
    assert_int_equal(g.ts[2], 9);
    assert_string_equal(g.stream[2], "hsm-sub");
    assert_int_equal(g.ts[3], 0);
    assert_string_equal(g.stream[3], "own");
    got_free(&g);
    free(path);
    buf_clean_up(&b);
}

static void
test_export_cwl_json_errors(void **state)
{
    static const struct {
        const char *data, *why;
        size_t before;
    } cases[] = {
        {"{\"events\":[{\"message\":\"ok\"},{\"timestamp\":1}]}",
         "an event without a string \"message\"", 1},
        {"{\"events\":[{\"message\":\"ok\"}]} {\"events\":[", "invalid JSON", 1},
        {"{\"logGroup\":\"g\"}", "a JSON document without an \"events\" array", 0},
        {"[{\"message\":5}]", "an event without a string \"message\"", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct got g = {0};
        const char *why = NULL;
        char *path = put("bad.json", cases[i].data, strlen(cases[i].data), false);
        assert_int_equal(events_of(path, EXPORT_INPUT_CWL_JSON, EXPORT_INPUT_CWL_JSON, &g, &why),
                         HAF_EPARSE);
        assert_string_equal(why, cases[i].why);
        assert_int_equal(g.n, cases[i].before);
        got_free(&g);
        free(path);
    }
}

static void
test_export_s3_lines_multiline_and_stream_from_path(void **state)
{
    static const char data[] = "orphan before\r\n"
                               "2018-01-16T01:49:55.993Z Time: x\r\nSequence No : 0x2\r\n"
                               "2018-01-16T01:49:56Z {\"op_code\":\"a\"}\n"
                               "2018-01-16T01:49:57.5Z last\n"
                               "not a prefix 2018-01-16T01:49:57.5Z\n"
                               "2018-13-16T01:49:57.5Z bad month stays a line";
    struct got g = {0};
    const char *why;
    char *path = put("task-1/hsm-abc123defgh/000000.gz", data, sizeof(data) - 1, true);

    (void)state;
    assert_int_equal(events_of(path, EXPORT_INPUT_AUTO, EXPORT_INPUT_AUDIT, &g, &why), HAF_OK);
    got_free(&g);
    /* the first line has no prefix: detection says audit; forced, it reads as S3 */
    assert_int_equal(events_of(path, EXPORT_INPUT_S3, EXPORT_INPUT_S3, &g, &why), HAF_OK);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.ts[0], 0);
    assert_string_equal(g.msg[0], "orphan before");
    assert_int_equal(g.ts[1], 1516067395993);
    assert_string_equal(g.msg[1], "Time: x\nSequence No : 0x2");
    assert_int_equal(g.ts[2], 1516067396000);
    assert_string_equal(g.msg[2], "{\"op_code\":\"a\"}");
    assert_int_equal(g.ts[3], 1516067397500);
    assert_string_equal(g.msg[3], "last\nnot a prefix 2018-01-16T01:49:57.5Z\n"
                                  "2018-13-16T01:49:57.5Z bad month stays a line");
    assert_string_equal(g.stream[3], "hsm-abc123defgh");
    got_free(&g);
    free(path);
}

static void
test_export_audit_events_are_entries(void **state)
{
    struct buf b;
    struct got g = {0};
    const char *why;
    char *path;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_addf(&b,
                              "%s\n%s\n{\"op_code\":\"x\",\"response\":\"OK\",\"timestamp\":5}\n",
                              entry, entry),
                     HAF_OK);
    path = put("audit.log", b.p, b.len, false);
    g.stop_at = 2;
    assert_int_equal(events_of(path, EXPORT_INPUT_AUTO, EXPORT_INPUT_AUDIT, &g, &why), HAF_EAGAIN);
    assert_int_equal(g.n, 2);
    got_free(&g);
    assert_int_equal(events_of(path, EXPORT_INPUT_AUTO, EXPORT_INPUT_AUDIT, &g, &why), HAF_OK);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.ts[0], 1516067395993);
    assert_string_equal(g.msg[1], entry);
    assert_int_equal(g.ts[2], 5);
    got_free(&g);
    free(path);
    buf_clean_up(&b);
}

static void
test_export_gzip_members_garbage_truncated_corrupt(void **state)
{
    char *p1 = put("m1.gz", "Time: a\n", 8, true), *p2 = put("m2.gz", "Time: b\n", 8, true);
    size_t l1, l2;
    char *d1 = read_file(p1, &l1), *d2 = read_file(p2, &l2);
    struct buf b;
    char *path, out[64];
    struct export_reader *r;
    const char *why;
    size_t n, total;

    (void)state;
    buf_init(&b, 0);
    /* two members then trailing zeros: both members read, the zeros ignored */
    assert_int_equal(buf_add(&b, d1, l1), HAF_OK);
    assert_int_equal(buf_add(&b, d2, l2), HAF_OK);
    assert_int_equal(buf_add(&b, "\0\0\0\0", 4), HAF_OK);
    path = put("two.gz", b.p, b.len, false);
    assert_int_equal(export_open(path, EXPORT_INPUT_AUDIT, &r, &why), HAF_OK);
    total = 0;
    do {
        assert_int_equal(export_read(r, out + total, sizeof(out) - total, &n, &why), HAF_OK);
        total += n;
    } while (n > 0);
    assert_int_equal(total, 16);
    assert_memory_equal(out, "Time: a\nTime: b\n", 16);
    export_close(r);
    free(path);
    /* truncated */
    path = put("cut.gz", d1, l1 - 5, false);
    assert_int_equal(export_open(path, EXPORT_INPUT_AUDIT, &r, &why), HAF_OK);
    for (;;) {
        enum haf_err err = export_read(r, out, sizeof(out), &n, &why);
        if (err != HAF_OK) {
            assert_int_equal(err, HAF_EPARSE);
            assert_string_equal(why, "truncated gzip data");
            break;
        }
        assert_true(n > 0);
    }
    export_close(r);
    free(path);
    /* corrupt: AUTO reads ahead at open, so the error comes from export_open */
    buf_reset(&b);
    assert_int_equal(buf_add(&b, d1, l1), HAF_OK);
    b.p[12] ^= 0x55;
    b.p[13] ^= 0x55;
    path = put("bad.gz", b.p, b.len, false);
    r = NULL;
    assert_int_equal(export_open(path, EXPORT_INPUT_AUTO, &r, &why), HAF_EPARSE);
    assert_string_equal(why, "corrupt gzip data");
    assert_null(r);
    free(path);
    buf_clean_up(&b);
    free(d1);
    free(d2);
    free(p1);
    free(p2);
}

static void
test_export_open_missing_file(void **state)
{
    struct export_reader *r = NULL;
    const char *why = NULL;

    (void)state;
    assert_int_equal(export_open("/nonexistent/dir/x.gz", EXPORT_INPUT_AUTO, &r, &why), HAF_EIO);
    assert_string_equal(why, "cannot open");
    assert_null(r);
}

static void
test_export_iso_to_ms_edges(void **state)
{
    int64_t ms = -1;

    (void)state;
    assert_true(export_iso_to_ms(SPAN_LIT("1970-01-01T00:00:00Z"), &ms));
    assert_int_equal(ms, 0);
    assert_true(export_iso_to_ms(SPAN_LIT("2024-02-29T23:59:60.999Z"), &ms));
    assert_int_equal(ms, 1709251200999);
    assert_true(export_iso_to_ms(SPAN_LIT("2023-04-27T18:33:55.150123Z"), &ms));
    assert_int_equal(ms, 1682620435150);
    assert_false(export_iso_to_ms(SPAN_LIT("2023-02-29T00:00:00Z"), &ms));
    assert_false(export_iso_to_ms(SPAN_LIT("2023-04-27T18:33:55.Z"), &ms));
    assert_false(export_iso_to_ms(SPAN_LIT("2023-04-27T18:33:55"), &ms));
    assert_false(export_iso_to_ms(SPAN_LIT("2023-04-27T24:00:00Z"), &ms));
    assert_false(export_iso_to_ms(SPAN_LIT("2023-04-27T18:33:55+00:00"), &ms));
}

static void
test_export_input_names(void **state)
{
    enum export_input in = EXPORT_INPUT_AUTO;

    (void)state;
    assert_true(export_input_parse("s3-export", &in));
    assert_int_equal(in, EXPORT_INPUT_S3);
    assert_true(export_input_parse("cwl-json", &in));
    assert_int_equal(in, EXPORT_INPUT_CWL_JSON);
    assert_false(export_input_parse("S3", &in));
    assert_string_equal(export_input_name(EXPORT_INPUT_AUDIT), "audit");
    assert_string_equal(export_input_name((enum export_input)42), "?");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_detects_every_shape),
        cmocka_unit_test(test_export_read_returns_every_byte_after_lookahead),
        cmocka_unit_test(test_export_cwl_json_events_times_and_streams),
        cmocka_unit_test(test_export_cwl_json_errors),
        cmocka_unit_test(test_export_s3_lines_multiline_and_stream_from_path),
        cmocka_unit_test(test_export_audit_events_are_entries),
        cmocka_unit_test(test_export_gzip_members_garbage_truncated_corrupt),
        cmocka_unit_test(test_export_open_missing_file),
        cmocka_unit_test(test_export_iso_to_ms_edges),
        cmocka_unit_test(test_export_input_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * fuzz_report_input.c: the report's input layer and renderings over arbitrary bytes (what a
 * CloudWatch event or an input file may hold: raw audit text, our JSON events, markers,
 * certificate-storage events, anything). Byte 0 picks how: 0-127 one CloudWatch message, else the
 * bytes through a file feeder split at a point chosen by byte 1. Then all three renderings run.
 * Beyond "no crash, no leak, no UB": the JSON rendering parses as JSON, the HTML rendering holds
 * no "<script" (every value from the input is escaped), and, differentially, every message jansson
 * reads as one JSON object (nested at most 60 deep) is read by our event scanner too
 * (report_event_scan, src/report_event.c), so no event of ours falls back to text by mistake.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "haf/report.h"
#include "haf/report_input.h"
#include "report_internal.h"

static int
depth_of(const json_t *v)
{
    int d = 0, k;
    size_t i;
    const char *key;
    json_t *x;

    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, x) if ((k = depth_of(x)) > d) d = k;
        return d + 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, x) if ((k = depth_of(x)) > d) d = k;
        return d + 1;
    }
    return 0;
}

static void
check_scanner(struct span msg)
{
    json_error_t jerr;
    json_t *j = json_loadb(msg.p, msg.len, JSON_ALLOW_NUL, &jerr);
    struct report_event ev;
    struct buf scratch;

    buf_init(&scratch, 0);
    if (json_is_object(j) && depth_of(j) <= 60 && !report_event_scan(msg, &scratch, &ev))
        abort();
    buf_clean_up(&scratch);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct report *r;
    struct buf out;
    json_error_t jerr;
    json_t *doc;

    if (size < 2)
        return 0;
    r = report_new(NULL);
    if (r == NULL)
        return 0;
    if (data[0] < 128) {
        check_scanner(span_make((const char *)data + 2, size - 2));
        if (report_feed_message(r, SPAN_LIT("hsm-f"), 1764979200000,
                                span_make((const char *)data + 2, size - 2)) != HAF_OK)
            abort();
    } else {
        struct report_feeder *f = report_feeder_new(r, SPAN_LIT("file"));
        size_t cut = (size - 2) * data[1] / 255;
        if (f == NULL || report_feeder_add(f, (const char *)data + 2, cut) != HAF_OK ||
            report_feeder_add(f, (const char *)data + 2 + cut, size - 2 - cut) != HAF_OK ||
            report_feeder_end(f) != HAF_OK)
            abort();
    }
    report_finish(r);
    buf_init(&out, 0);
    if (report_render_text(r, &out) != HAF_OK)
        abort();
    buf_reset(&out);
    if (report_render_json(r, &out) != HAF_OK)
        abort();
    doc = json_loadb(out.p, out.len, 0, &jerr);
    if (doc == NULL)
        abort();
    json_decref(doc);
    buf_reset(&out);
    if (report_render_html(r, &out) != HAF_OK || strstr(buf_cstr(&out), "<script") != NULL)
        abort();
    buf_clean_up(&out);
    report_free(r);
    return 0;
}

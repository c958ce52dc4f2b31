/*
 * fuzz_logs_page.c: the page parser and event walk of src/logs_reader.c over arbitrary answer
 * bodies (what a CloudWatch endpoint, or whatever answers in its place, sends back). Byte 0
 * selects the document kind (FilterLogEvents / GetLogEvents / DescribeLogStreams) and a time
 * window; the rest is the body. Beyond "no crash, no leak, no UB": every event handed to the
 * callback lies inside the window and, with a prefix, in a stream that has it, and the message
 * span is readable to its full length (NULs included).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logs_reader_internal.h"

static const struct logs_window *cur;

static int
on_event(void *ctx, const struct logs_event *ev)
{
    volatile unsigned char sum = 0;

    (void)ctx;
    if (cur->start_ms > 0 && ev->timestamp_ms < cur->start_ms)
        abort();
    if (cur->end_ms > 0 && ev->timestamp_ms >= cur->end_ms)
        abort();
    if (cur->prefix && (ev->stream.len < 4 || memcmp(ev->stream.p, cur->prefix, 4) != 0))
        abort();
    for (size_t i = 0; i < ev->message.len; i++)
        sum += (unsigned char)ev->message.p[i];
    (void)sum;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const lists[] = {"events", "events", "logStreams"};
    static const char *const tokens[] = {"nextToken", "nextForwardToken", "nextToken"};
    struct logs_window w = {0};
    struct logs_progress prog = {0};
    struct logs_page page;
    unsigned kind;
    bool stop = false;

    if (size < 1)
        return 0;
    kind = data[0] % 3;
    if (data[0] & 0x10) {
        w.start_ms = 1000;
        w.end_ms = 2000;
    }
    if (data[0] & 0x20)
        w.prefix = "hsm-";
    cur = &w;
    if (logs_page_parse(span_make((const char *)data + 1, size - 1), lists[kind], tokens[kind],
                        &page) != HAF_OK)
        return 0;
    if (kind < 2 &&
        logs_page_events(&page, SPAN_LIT("default"), &w, on_event, NULL, &prog, &stop) == HAF_OK &&
        prog.events > json_array_size(page.list))
        abort();
    logs_page_clean_up(&page);
    return 0;
}

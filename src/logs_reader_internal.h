/*
 * logs_reader_internal.h: the page parser of src/logs_reader.c, exposed for unit tests and the
 * fuzz target (tests/fuzz/fuzz_logs_page.c). The body is untrusted (whatever answered at the
 * endpoint).
 */
#ifndef HAF_LOGS_READER_INTERNAL_H
#define HAF_LOGS_READER_INTERNAL_H

#include <jansson.h>

#include "haf/logs_reader.h"

struct logs_page {
    json_t *root;
    json_t *list;     /* borrowed: "events" or "logStreams" */
    const char *next; /* borrowed: the next-page token, NULL when absent */
};

/* What events are let through: [start_ms, end_ms) (0 open), stream name prefix (NULL: any). */
struct logs_window {
    int64_t start_ms;
    int64_t end_ms;
    const char *prefix;
};

/* Parse a 200 answer: a JSON object (NUL allowed in strings) whose `list_key` is an array;
 * `token_key`'s string, when present, becomes page->next. HAF_EPARSE otherwise (*page zeroed). */
HAF_MUST_USE enum haf_err logs_page_parse(struct span body, const char *list_key,
                                          const char *token_key, struct logs_page *page);
void logs_page_clean_up(struct logs_page *page);

/* Hand the page's events to cb in order. Each must be an object with an integer "timestamp" and
 * a string "message" (HAF_EPARSE otherwise; events before it were delivered); "logStreamName"
 * (a string) names the stream, else `stream`. Events outside `w` are skipped. Counts go into
 * *prog; *stop is set when cb returned non-zero. */
HAF_MUST_USE enum haf_err logs_page_events(const struct logs_page *page, struct span stream,
                                           const struct logs_window *w, logs_event_fn cb, void *ctx,
                                           struct logs_progress *prog, bool *stop);

#endif

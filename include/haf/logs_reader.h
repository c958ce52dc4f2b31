/*
 * logs_reader.h: reading CloudWatch Logs events back, blocking and paginated, with bounded memory
 * (used by `report` and `verify`).
 *
 * Three readers over one cwl_client (src/cwl.c signs and sends; this module builds the requests,
 * follows the pages and retries): FilterLogEvents over a log group (stream names or a stream name
 * prefix, a time window), GetLogEvents over one stream from its head (following
 * nextForwardToken until the token repeats, as the API reference asks), and DescribeLogStreams
 * (stream names by prefix). Events are handed to a callback one at a time while their page is
 * held; only one page is ever held, so memory is bounded by the HTTP client's response cap
 * (http_opts.max_response_bytes) and jansson's copy of one page, whatever the number of events.
 * Messages are passed with their length: CloudWatch messages may contain U+0000.
 *
 * Throttling, 5xx, connections not made and answers lost are retried (reads are idempotent) with
 * exponential backoff and full jitter; expired credentials and clock skew are retried at once
 * (cwl.c already refreshed or corrected). Anything else the service says ends the read with
 * HAF_EREJECTED and the classified answer in *res.
 */
#ifndef HAF_LOGS_READER_H
#define HAF_LOGS_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/cwl.h"
#include "haf/err.h"
#include "haf/span.h"

/* One event read back; every member is valid only during the callback. */
struct logs_event {
    struct span stream;   /* logStreamName (FilterLogEvents) or the stream being read */
    int64_t timestamp_ms; /* the event's CloudWatch timestamp */
    int64_t ingestion_ms; /* ingestionTime; -1 when the answer did not carry it */
    struct span message;  /* the message bytes (UTF-8 from the service; may contain NUL) */
};

/* A non-zero return stops the read (the reader then returns HAF_OK). */
typedef int (*logs_event_fn)(void *ctx, const struct logs_event *ev);

/* Counters since the read began, passed to the progress callback after every request. */
struct logs_progress {
    uint64_t requests;         /* HTTP requests sent, retries included */
    uint64_t pages;            /* pages accepted */
    uint64_t events;           /* events delivered to the callback */
    uint64_t bytes;            /* message bytes delivered */
    uint64_t retries;          /* requests that were retried (throttled, 5xx, lost) */
    int64_t last_timestamp_ms; /* of the last event delivered; 0 before the first */
};

typedef void (*logs_progress_fn)(void *ctx, const struct logs_progress *p);

#define LOGS_READER_DEFAULT_ATTEMPTS   10
#define LOGS_READER_DEFAULT_BACKOFF_MS 200
#define LOGS_READER_MAX_BACKOFF_MS     20000
#define LOGS_READER_DEFAULT_MAX_PAGES  1000000

/* Zero-initialised means defaults. */
struct logs_reader_opts {
    unsigned max_attempts;   /* per request; default 10 */
    int64_t backoff_base_ms; /* first retry waits up to this; doubles; default 200 */
    int64_t backoff_max_ms;  /* cap of one wait; default 20000 */
    uint32_t page_limit;     /* events per request (1..10000); 0: the service's default */
    size_t max_pages;        /* a server that never ends its pages; default 1,000,000 */
    logs_progress_fn progress;
    void *progress_ctx;
    /* Seam for tests: how to wait; NULL sleeps (nanosleep). */
    void (*sleep_ms)(void *ctx, int64_t ms);
    void *sleep_ctx;
};

/* What to read from a log group. Times are epoch ms over [start_ms, end_ms); 0 leaves a bound
 * open. Events outside the window or (with a prefix) from other streams are also dropped on our
 * side, so a service that ignores a parameter (moto ignores logStreamNamePrefix) cannot widen the
 * read. */
struct logs_filter {
    const char *group;
    const char *stream_prefix;  /* logStreamNamePrefix, or NULL */
    const char *const *streams; /* logStreamNames (1..100), or NULL; not with a prefix */
    size_t n_streams;
    int64_t start_ms;
    int64_t end_ms;
};

/*
 * FilterLogEvents over a group, following nextToken until the answer has none (or repeats it).
 * Returns HAF_OK when everything was read or the callback stopped; HAF_EREJECTED when the service
 * refused (res->cls, error_type and message say how: CWL_NOT_FOUND for a missing group,
 * CWL_ACCESS_DENIED without logs:FilterLogEvents); HAF_EAGAIN when a request was still throttled
 * or failing after max_attempts (res holds the last answer); HAF_ECREDS without credentials
 * (res->message says why); HAF_EPARSE when a 200 answer is not a FilterLogEvents document or an
 * event lacks its timestamp or message; HAF_ETOOLONG when an answer exceeded the HTTP client's
 * response cap or max_pages were read; HAF_EINVAL for a missing group, names that are not UTF-8,
 * both streams and a prefix, more than 100 streams or a page_limit over 10000; HAF_ENOMEM.
 */
HAF_MUST_USE enum haf_err logs_reader_filter(struct cwl_client *c, const struct logs_filter *f,
                                             const struct logs_reader_opts *opts, logs_event_fn cb,
                                             void *ctx, struct cwl_result *res);

/* GetLogEvents over one stream from its head, [start_ms, end_ms), following nextForwardToken
 * until it repeats (empty pages included). Same results as logs_reader_filter; ev->stream is
 * `stream`. Events come in the stream's stored order. */
HAF_MUST_USE enum haf_err logs_reader_stream(struct cwl_client *c, const char *group,
                                             const char *stream, int64_t start_ms, int64_t end_ms,
                                             const struct logs_reader_opts *opts, logs_event_fn cb,
                                             void *ctx, struct cwl_result *res);

/* Stream names of a group (DescribeLogStreams, by name, paginated), with a prefix or all; cb gets
 * each name (valid during the call; non-zero stops). Same results as logs_reader_filter. */
typedef int (*logs_stream_fn)(void *ctx, struct span name);
HAF_MUST_USE enum haf_err logs_reader_list_streams(struct cwl_client *c, const char *group,
                                                   const char *prefix,
                                                   const struct logs_reader_opts *opts,
                                                   logs_stream_fn cb, void *ctx,
                                                   struct cwl_result *res);

#endif

/*
 * logs_reader.c: FilterLogEvents, GetLogEvents and DescribeLogStreams, paginated and retried (see
 * logs_reader.h; API: ../shared/reference/cwl-api.md §1.3 and the CloudWatch Logs API reference).
 *
 * One request at a time: build the JSON body with jansson, hand it to cwl_call() (which signs,
 * sends and classifies), parse the page, give its events to the callback, then drop the page
 * before asking for the next one. Memory is therefore one page: at most the HTTP client's
 * response cap plus jansson's tree of it; the event count does not matter.
 *
 * Pagination rules, each from the API reference:
 * - FilterLogEvents: "nextToken: the token to use when requesting the next set of items. The
 *   token expires after 24 hours"; the last page has none. Pages may be empty while the service
 *   is still searching, so an empty page with a token is followed. A token equal to the one we
 *   sent ends the read too (a server that loops).
 * - GetLogEvents: "If you have reached the end of the stream, it returns the same token you
 *   passed in" (startFromHead=true, nextForwardToken). Empty pages are normal.
 * - DescribeLogStreams: nextToken until absent.
 * max_pages bounds all three against a server that never ends.
 *
 * Retries: reads are idempotent, so every outcome that may heal is sent again: CWL_RETRY
 * (throttling, 5xx, not sent) and CWL_AMBIGUOUS (timeout, cut answer) after a backoff doubling
 * from backoff_base_ms up to backoff_max_ms, the wait drawn uniformly from its upper half (jitter
 * keeps concurrent readers apart, the lower bound keeps a throttled service from seeing us
 * again at once); CWL_REFRESH_CREDS and CWL_CLOCK_SKEW at once (cwl.c invalidated the credentials
 * or corrected the clock). An answer over the response cap is not retried (it would be as large
 * again): HAF_ETOOLONG. The time window and the stream prefix are checked again on our side.
 */
#include "haf/json_write.h"
#include "haf/logs_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "haf/http.h"
#include "logs_reader_internal.h"

#define LOGS_MAX_PAGE_LIMIT   10000
#define LOGS_MAX_STREAM_NAMES 100

struct reader {
    struct cwl_client *c;
    struct logs_reader_opts o;
    struct logs_progress prog;
    uint64_t rng;
};

/* ---- pages (untrusted; fuzzed) ---- */

enum haf_err
logs_page_parse(struct span body, const char *list_key, const char *token_key,
                struct logs_page *page)
{
    json_error_t jerr;
    json_t *next;

    memset(page, 0, sizeof(*page));
    if (body.p == NULL || body.len == 0)
        return HAF_EPARSE;
    /* Messages may hold U+0000 ("\u0000" in the JSON): JSON_ALLOW_NUL keeps them, and every
     * string is then read with its length. */
    page->root = json_loadb(body.p, body.len, JSON_ALLOW_NUL, &jerr);
    page->list = json_object_get(page->root, list_key);
    if (!json_is_object(page->root) || !json_is_array(page->list)) {
        logs_page_clean_up(page);
        return HAF_EPARSE;
    }
    next = json_object_get(page->root, token_key);
    page->next = json_is_string(next) ? json_string_value(next) : NULL;
    return HAF_OK;
}

void
logs_page_clean_up(struct logs_page *page)
{
    if (page == NULL)
        return;
    json_decref(page->root);
    memset(page, 0, sizeof(*page));
}

static bool
window_admits(const struct logs_window *w, int64_t ts, struct span stream)
{
    if (w->start_ms > 0 && ts < w->start_ms)
        return false;
    if (w->end_ms > 0 && ts >= w->end_ms)
        return false;
    return w->prefix == NULL || span_starts_with(stream, span_cstr(w->prefix));
}

enum haf_err
logs_page_events(const struct logs_page *page, struct span stream, const struct logs_window *w,
                 logs_event_fn cb, void *ctx, struct logs_progress *prog, bool *stop)
{
    size_t i;
    json_t *ev;

    json_array_foreach(page->list, i, ev)
    {
        json_t *ts = json_object_get(ev, "timestamp");
        json_t *msg = json_object_get(ev, "message");
        json_t *name = json_object_get(ev, "logStreamName");
        json_t *ing = json_object_get(ev, "ingestionTime");
        struct logs_event le;

        if (!json_is_integer(ts) || !json_is_string(msg))
            return HAF_EPARSE;
        le.stream = stream;
        if (json_is_string(name))
            le.stream = span_make(json_string_value(name), json_string_length(name));
        le.timestamp_ms = (int64_t)json_integer_value(ts);
        le.ingestion_ms = json_is_integer(ing) ? (int64_t)json_integer_value(ing) : -1;
        le.message = span_make(json_string_value(msg), json_string_length(msg));
        if (!window_admits(w, le.timestamp_ms, le.stream))
            continue;
        prog->events++;
        prog->bytes += le.message.len;
        prog->last_timestamp_ms = le.timestamp_ms;
        if (cb(ctx, &le) != 0) {
            *stop = true;
            return HAF_OK;
        }
    }
    return HAF_OK;
}

/* ---- requests ---- */

static void
reader_init(struct reader *r, struct cwl_client *c, const struct logs_reader_opts *opts)
{
    struct timespec ts;

    memset(r, 0, sizeof(*r));
    r->c = c;
    if (opts)
        r->o = *opts;
    if (r->o.max_attempts == 0)
        r->o.max_attempts = LOGS_READER_DEFAULT_ATTEMPTS;
    if (r->o.backoff_base_ms <= 0)
        r->o.backoff_base_ms = LOGS_READER_DEFAULT_BACKOFF_MS;
    if (r->o.backoff_max_ms <= 0)
        r->o.backoff_max_ms = LOGS_READER_MAX_BACKOFF_MS;
    if (r->o.max_pages == 0)
        r->o.max_pages = LOGS_READER_DEFAULT_MAX_PAGES;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)getpid() ^ 0x9e3779b97f4a7c15u;
}

static void
reader_sleep(struct reader *r, int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    if (r->o.sleep_ms) {
        r->o.sleep_ms(r->o.sleep_ctx, ms);
        return;
    }
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The wait before retry number `attempt` (1-based): uniform in the upper half of
 * min(max, base * 2^(attempt-1)). */
static int64_t
reader_backoff_ms(struct reader *r, unsigned attempt)
{
    int64_t d = r->o.backoff_base_ms;

    for (unsigned i = 1; i < attempt && d < r->o.backoff_max_ms; i++)
        d *= 2;
    if (d > r->o.backoff_max_ms)
        d = r->o.backoff_max_ms;
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return d / 2 + (int64_t)(r->rng % (uint64_t)(d / 2 + 1));
}

static void
reader_report(struct reader *r)
{
    if (r->o.progress)
        r->o.progress(r->o.progress_ctx, &r->prog);
}

/* One page: send `req` (borrowed) until an answer is final, parse it. */
static enum haf_err
reader_page(struct reader *r, const char *op, const json_t *req, const char *list_key,
            const char *token_key, struct logs_page *page, struct cwl_result *res)
{
    struct http_response resp;
    char *body = json_dumps(req, JSON_COMPACT);
    enum haf_err e = HAF_EAGAIN;

    if (body == NULL)
        return HAF_ENOMEM;
    http_response_init(&resp);
    for (unsigned attempt = 1; attempt <= r->o.max_attempts; attempt++) {
        enum haf_err ce = cwl_call(r->c, op, span_cstr(body), &resp, res);

        r->prog.requests++;
        if (ce != HAF_OK) {
            e = ce;
            break;
        }
        if (resp.outcome == HTTP_TOO_LARGE) {
            e = HAF_ETOOLONG;
            break;
        }
        if (res->cls == CWL_OK) {
            e = logs_page_parse(buf_span(&resp.body), list_key, token_key, page);
            if (e == HAF_OK)
                r->prog.pages++;
            break;
        }
        if (res->cls != CWL_RETRY && res->cls != CWL_CONNECTION && res->cls != CWL_AMBIGUOUS &&
            res->cls != CWL_REFRESH_CREDS && res->cls != CWL_CLOCK_SKEW) {
            e = HAF_EREJECTED;
            break;
        }
        if (attempt == r->o.max_attempts)
            break; /* HAF_EAGAIN, res holds the last answer */
        r->prog.retries++;
        reader_report(r);
        if (res->cls == CWL_RETRY || res->cls == CWL_CONNECTION || res->cls == CWL_AMBIGUOUS)
            reader_sleep(r, reader_backoff_ms(r, attempt));
    }
    reader_report(r);
    http_response_clean_up(&resp);
    json_dump_free(body);
    return e;
}

/* json_string() refuses invalid UTF-8; the _new setters steal the value (also on failure). */
static bool
set_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, json_string(v)) == 0 && json_is_string(json_object_get(o, k));
}

static bool
set_int(json_t *o, const char *k, int64_t v)
{
    return json_object_set_new(o, k, json_integer((json_int_t)v)) == 0;
}

/* Shared loop: request, deliver, follow the token (sent back as "nextToken" by all three). */
static enum haf_err
reader_run(struct reader *r, const char *op, json_t *req, const char *list_key,
           const char *token_key, struct span stream, const struct logs_window *w,
           logs_event_fn ecb, logs_stream_fn scb, void *ctx, struct cwl_result *res)
{
    char *sent = NULL; /* the token in the request, to see it repeat */
    enum haf_err e = HAF_OK;
    bool stop = false;

    for (size_t pages = 0; !stop; pages++) {
        struct logs_page page;

        if (pages == r->o.max_pages) {
            e = HAF_ETOOLONG;
            break;
        }
        e = reader_page(r, op, req, list_key, token_key, &page, res);
        if (e != HAF_OK)
            break;
        if (ecb) {
            e = logs_page_events(&page, stream, w, ecb, ctx, &r->prog, &stop);
        } else {
            size_t i;
            json_t *s;
            json_array_foreach(page.list, i, s)
            {
                json_t *n = json_object_get(s, "logStreamName");
                if (!json_is_string(n)) {
                    e = HAF_EPARSE;
                    break;
                }
                if (scb(ctx, span_make(json_string_value(n), json_string_length(n))) != 0) {
                    stop = true;
                    break;
                }
            }
        }
        if (e == HAF_OK && !stop) {
            /* The end: no token, or (GetLogEvents, or a looping server) the token we sent. */
            if (page.next == NULL || (sent && strcmp(page.next, sent) == 0)) {
                stop = true;
            } else {
                free(sent);
                sent = strdup(page.next);
                if (sent == NULL || !set_str(req, "nextToken", page.next))
                    e = sent == NULL ? HAF_ENOMEM : HAF_EPARSE;
            }
        }
        logs_page_clean_up(&page);
        if (e != HAF_OK)
            break;
    }
    free(sent);
    return e;
}

enum haf_err
logs_reader_filter(struct cwl_client *c, const struct logs_filter *f,
                   const struct logs_reader_opts *opts, logs_event_fn cb, void *ctx,
                   struct cwl_result *res)
{
    struct reader r;
    struct logs_window w;
    json_t *req, *names;
    enum haf_err e = HAF_EINVAL;

    if (c == NULL || f == NULL || f->group == NULL || cb == NULL || res == NULL ||
        (f->stream_prefix && f->n_streams > 0) || f->n_streams > LOGS_MAX_STREAM_NAMES ||
        (opts && opts->page_limit > LOGS_MAX_PAGE_LIMIT))
        return HAF_EINVAL;
    reader_init(&r, c, opts);
    w = (struct logs_window){f->start_ms, f->end_ms, f->stream_prefix};
    req = json_object();
    if (req == NULL)
        return HAF_ENOMEM;
    if (!set_str(req, "logGroupName", f->group))
        goto out;
    if (f->stream_prefix && !set_str(req, "logStreamNamePrefix", f->stream_prefix))
        goto out;
    if (f->n_streams > 0) {
        names = json_array();
        if (json_object_set_new(req, "logStreamNames", names) != 0)
            goto out;
        for (size_t i = 0; i < f->n_streams; i++)
            if (json_array_append_new(names, json_string(f->streams[i])) != 0)
                goto out;
    }
    /* FilterLogEvents' endTime is inclusive ("events with a timestamp later than this time are
     * not returned"); ours is exclusive. */
    if ((f->start_ms > 0 && !set_int(req, "startTime", f->start_ms)) ||
        (f->end_ms > 0 && !set_int(req, "endTime", f->end_ms - 1)) ||
        (r.o.page_limit > 0 && !set_int(req, "limit", r.o.page_limit)))
        goto out;
    e = reader_run(&r, "FilterLogEvents", req, "events", "nextToken", SPAN_NULL, &w, cb, NULL, ctx,
                   res);
out:
    json_decref(req);
    return e;
}

enum haf_err
logs_reader_stream(struct cwl_client *c, const char *group, const char *stream, int64_t start_ms,
                   int64_t end_ms, const struct logs_reader_opts *opts, logs_event_fn cb, void *ctx,
                   struct cwl_result *res)
{
    struct reader r;
    struct logs_window w = {start_ms, end_ms, NULL};
    json_t *req;
    enum haf_err e = HAF_EINVAL;

    if (c == NULL || group == NULL || stream == NULL || cb == NULL || res == NULL ||
        (opts && opts->page_limit > LOGS_MAX_PAGE_LIMIT))
        return HAF_EINVAL;
    reader_init(&r, c, opts);
    req = json_object();
    if (req == NULL)
        return HAF_ENOMEM;
    if (!set_str(req, "logGroupName", group) || !set_str(req, "logStreamName", stream) ||
        json_object_set_new(req, "startFromHead", json_true()) != 0 ||
        (start_ms > 0 && !set_int(req, "startTime", start_ms)) ||
        (end_ms > 0 && !set_int(req, "endTime", end_ms)) ||
        (r.o.page_limit > 0 && !set_int(req, "limit", r.o.page_limit)))
        goto out;
    e = reader_run(&r, "GetLogEvents", req, "events", "nextForwardToken", span_cstr(stream), &w, cb,
                   NULL, ctx, res);
out:
    json_decref(req);
    return e;
}

enum haf_err
logs_reader_list_streams(struct cwl_client *c, const char *group, const char *prefix,
                         const struct logs_reader_opts *opts, logs_stream_fn cb, void *ctx,
                         struct cwl_result *res)
{
    struct reader r;
    json_t *req;
    enum haf_err e = HAF_EINVAL;

    if (c == NULL || group == NULL || cb == NULL || res == NULL)
        return HAF_EINVAL;
    reader_init(&r, c, opts);
    req = json_object();
    if (req == NULL)
        return HAF_ENOMEM;
    if (!set_str(req, "logGroupName", group) ||
        (prefix && prefix[0] != '\0' && !set_str(req, "logStreamNamePrefix", prefix)))
        goto out;
    e = reader_run(&r, "DescribeLogStreams", req, "logStreams", "nextToken", SPAN_NULL, NULL, NULL,
                   cb, ctx, res);
out:
    json_decref(req);
    return e;
}

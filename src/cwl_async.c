/*
 * cwl_async.c: the CloudWatch Logs operations the event loop runs besides PutLogEvents (creating
 * the log group and stream, the retention policy, reading a stream back page by page), and the
 * request bodies and GetLogEvents page parsing they share with the blocking calls of cwl_call.c.
 *
 * None of these blocks: each is signed and submitted on the HTTP client's multi handle
 * (cwl_call_submit in cwl.c) with its own timeout, and its answer is classified by cwl_classify
 * like any other, so the caller decides retries and backoff from the one table in cwl_rules.c. A
 * read-back is one request per page: the caller submits the next page from the done callback of
 * the last, so a stream being read back never holds up the loop between pages either.
 *
 * Bodies are built with jansson; json_string() refuses invalid UTF-8, which is reported as
 * HAF_EINVAL (the caller sanitises names before they get here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwl_internal.h"
#include "haf/json_write.h"

/* ---- bodies ---- */

/* Serialize `obj` (reference stolen) compactly into a fresh heap string. */
static enum haf_err
json_take_dump(json_t *obj, char **out, size_t *len)
{
    char *s;

    if (obj == NULL)
        return HAF_ENOMEM;
    s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (s == NULL)
        return HAF_ENOMEM;
    /* A copy the callers may free(3): jansson's own blocks go back through its free function
     * (secmem.h). */
    *len = strlen(s); /* our own serializer's output, NUL-terminated */
    *out = malloc(*len + 1);
    if (*out != NULL)
        memcpy(*out, s, *len + 1);
    json_dump_free(s);
    return *out != NULL ? HAF_OK : HAF_ENOMEM;
}

/* json_string() refuses invalid UTF-8 and NULL; a failed set is reported as false. The _new
 * setters steal the value reference (also on failure). */
static bool
obj_set_str(json_t *o, const char *k, const char *v)
{
    return v != NULL && json_object_set_new(o, k, json_string(v)) == 0 &&
           json_is_string(json_object_get(o, k));
}

/* Dump o when every field was set (ok), else drop it with HAF_EINVAL. */
static enum haf_err
dump_if(json_t *o, bool ok, char **out, size_t *len)
{
    if (o != NULL && !ok) {
        json_decref(o);
        return HAF_EINVAL;
    }
    return json_take_dump(o, out, len);
}

enum haf_err
cwl_body_create_group(const char *group, const char *kms_key_id, char **out, size_t *len)
{
    json_t *o = json_object();

    return dump_if(
        o,
        o && obj_set_str(o, "logGroupName", group) &&
            (kms_key_id == NULL || kms_key_id[0] == '\0' || obj_set_str(o, "kmsKeyId", kms_key_id)),
        out, len);
}

enum haf_err
cwl_body_create_stream(const char *group, const char *stream, char **out, size_t *len)
{
    json_t *o = json_object();

    return dump_if(
        o, o && obj_set_str(o, "logGroupName", group) && obj_set_str(o, "logStreamName", stream),
        out, len);
}

enum haf_err
cwl_body_retention(const char *group, int days, char **out, size_t *len)
{
    json_t *o = json_object();

    return dump_if(o,
                   o && obj_set_str(o, "logGroupName", group) &&
                       json_object_set_new(o, "retentionInDays", json_integer(days)) == 0,
                   out, len);
}

enum haf_err
cwl_body_get_events(const char *group, const char *stream, bool from_head, int64_t start_ms,
                    int64_t end_ms, size_t limit, const char *token, char **out, size_t *len)
{
    json_t *o = json_object();
    bool ok =
        o && obj_set_str(o, "logGroupName", group) && obj_set_str(o, "logStreamName", stream) &&
        json_object_set_new(o, "startFromHead", json_boolean(from_head)) == 0 &&
        (start_ms <= 0 || json_object_set_new(o, "startTime", json_integer(start_ms)) == 0) &&
        (end_ms <= 0 || json_object_set_new(o, "endTime", json_integer(end_ms)) == 0) &&
        (limit == 0 || json_object_set_new(o, "limit", json_integer((json_int_t)limit)) == 0) &&
        (token == NULL || obj_set_str(o, "nextToken", token));

    return dump_if(o, ok, out, len);
}

/* ---- GetLogEvents pages ---- */

enum haf_err
cwl_page_parse(const struct http_response *resp, bool from_head, struct cwl_page *page)
{
    json_error_t jerr;
    json_t *next;

    memset(page, 0, sizeof(*page));
    page->root =
        json_loadb(resp->body.p ? resp->body.p : "", resp->body.len, JSON_ALLOW_NUL, &jerr);
    page->events = json_object_get(page->root, "events");
    if (!json_is_object(page->root) || !json_is_array(page->events)) {
        json_decref(page->root);
        memset(page, 0, sizeof(*page));
        return HAF_EPARSE;
    }
    next = json_object_get(page->root, from_head ? "nextForwardToken" : "nextBackwardToken");
    page->next = json_is_string(next) ? json_string_value(next) : NULL;
    return HAF_OK;
}

enum haf_err
cwl_page_deliver(const struct cwl_page *page, cwl_event_cb cb, void *ctx, size_t max_events,
                 size_t *delivered, bool *stop)
{
    size_t i;
    json_t *ev;

    json_array_foreach(page->events, i, ev)
    {
        json_t *ts = json_object_get(ev, "timestamp");
        json_t *msg = json_object_get(ev, "message");
        struct cwl_read_event re;
        int rc;

        if (max_events > 0 && *delivered >= max_events) {
            *stop = true;
            return HAF_OK;
        }
        if (!json_is_integer(ts) || !json_is_string(msg))
            return HAF_EPARSE;
        re.timestamp_ms = (int64_t)json_integer_value(ts);
        re.message_len = json_string_length(msg);
        /* The message may hold U+0000 (another writer's event): copy by length, not strndup. */
        re.message = malloc(re.message_len + 1);
        if (re.message == NULL)
            return HAF_ENOMEM;
        memcpy(re.message, json_string_value(msg), re.message_len);
        re.message[re.message_len] = '\0';
        rc = cb(ctx, &re);
        free(re.message);
        (*delivered)++;
        if (rc != 0) {
            *stop = true;
            return HAF_OK;
        }
    }
    return HAF_OK;
}

/* ---- asynchronous operations ---- */

struct simple_ctx {
    cwl_done_fn done;
    void *arg;
};

static void
on_simple_answer(void *arg, const struct cwl_result *res, const struct http_response *resp)
{
    struct simple_ctx *s = arg;

    (void)resp;
    s->done(s->arg, res);
    free(s);
}

/* Submit a built body (freed here; the call keeps its own copy). */
static enum haf_err
simple_submit(struct cwl_client *c, const char *op, enum haf_err built, char *body, size_t len,
              long timeout_ms, cwl_done_fn done, void *arg, char *why, size_t why_len)
{
    struct simple_ctx *s = NULL;
    enum haf_err e = built;

    if (e == HAF_OK && (c == NULL || done == NULL))
        e = HAF_EINVAL;
    if (e == HAF_OK && (s = calloc(1, sizeof(*s))) == NULL)
        e = HAF_ENOMEM;
    if (e == HAF_OK) {
        s->done = done;
        s->arg = arg;
        e = cwl_call_submit(c, op, span_make(body, len), true, timeout_ms, on_simple_answer, s, why,
                            why_len);
    }
    if (e != HAF_OK)
        free(s);
    free(body);
    return e;
}

enum haf_err
cwl_create_log_group_submit(struct cwl_client *c, const char *group, const char *kms_key_id,
                            long timeout_ms, cwl_done_fn done, void *arg, char *why, size_t why_len)
{
    char *body = NULL;
    size_t len = 0;
    enum haf_err e = cwl_body_create_group(group, kms_key_id, &body, &len);

    return simple_submit(c, "CreateLogGroup", e, body, len, timeout_ms, done, arg, why, why_len);
}

enum haf_err
cwl_create_log_group_with_submit(struct cwl_client *c, const char *group,
                                 const struct cwl_group_opts *o, long timeout_ms, cwl_done_fn done,
                                 void *arg, char *why, size_t why_len)
{
    char *body = NULL;
    size_t len = 0;
    enum haf_err e = cwl_body_create_group_with(group, o, &body, &len);

    return simple_submit(c, "CreateLogGroup", e, body, len, timeout_ms, done, arg, why, why_len);
}

enum haf_err
cwl_create_log_stream_submit(struct cwl_client *c, const char *group, const char *stream,
                             long timeout_ms, cwl_done_fn done, void *arg, char *why,
                             size_t why_len)
{
    char *body = NULL;
    size_t len = 0;
    enum haf_err e = cwl_body_create_stream(group, stream, &body, &len);

    return simple_submit(c, "CreateLogStream", e, body, len, timeout_ms, done, arg, why, why_len);
}

enum haf_err
cwl_put_retention_policy_submit(struct cwl_client *c, const char *group, int days, long timeout_ms,
                                cwl_done_fn done, void *arg, char *why, size_t why_len)
{
    char *body = NULL;
    size_t len = 0;
    enum haf_err e = days > 0 ? cwl_body_retention(group, days, &body, &len) : HAF_EINVAL;

    return simple_submit(c, "PutRetentionPolicy", e, body, len, timeout_ms, done, arg, why,
                         why_len);
}

struct page_ctx {
    cwl_event_cb cb;
    cwl_page_done_fn done;
    void *arg;
    char *token; /* the token this page was asked with, or NULL */
};

static void
on_page_answer(void *arg, const struct cwl_result *res, const struct http_response *resp)
{
    struct page_ctx *pc = arg;
    struct cwl_page page = {0};
    enum haf_err e = HAF_OK;
    const char *next = NULL;

    if (resp->outcome == HTTP_TOO_LARGE) {
        e = HAF_ETOOLONG;
    } else if (res->cls == CWL_OK) {
        size_t delivered = 0;
        bool stop = false;

        e = cwl_page_parse(resp, true, &page);
        if (e == HAF_OK)
            e = cwl_page_deliver(&page, pc->cb, pc->arg, 0, &delivered, &stop);
        /* The callback's stop request ends the paging too: no next token. */
        if (e == HAF_OK && !stop && page.next != NULL &&
            (pc->token == NULL || strcmp(page.next, pc->token)))
            next = page.next;
    }
    pc->done(pc->arg, res, e, next);
    json_decref(page.root);
    free(pc->token);
    free(pc);
}

enum haf_err
cwl_get_log_events_page_submit(struct cwl_client *c, const char *group, const char *stream,
                               int64_t start_ms, int64_t end_ms, size_t limit, const char *token,
                               long timeout_ms, cwl_event_cb cb, cwl_page_done_fn done, void *arg,
                               char *why, size_t why_len)
{
    struct page_ctx *pc = NULL;
    char *body = NULL;
    size_t len = 0;
    enum haf_err e;

    if (c == NULL || cb == NULL || done == NULL)
        return HAF_EINVAL;
    e = cwl_body_get_events(group, stream, true, start_ms, end_ms, limit, token, &body, &len);
    if (e == HAF_OK && (pc = calloc(1, sizeof(*pc))) == NULL)
        e = HAF_ENOMEM;
    if (e == HAF_OK && token != NULL && (pc->token = strdup(token)) == NULL)
        e = HAF_ENOMEM;
    if (e == HAF_OK) {
        pc->cb = cb;
        pc->done = done;
        pc->arg = arg;
        e = cwl_call_submit(c, "GetLogEvents", span_make(body, len), true, timeout_ms,
                            on_page_answer, pc, why, why_len);
    }
    if (e != HAF_OK && pc != NULL) {
        free(pc->token);
        free(pc);
    }
    free(body);
    return e;
}

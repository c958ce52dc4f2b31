/*
 * cwl_call.c: the blocking CloudWatch Logs calls that tools and start-up use (cwl_call,
 * cwl_call_json, CreateLogGroup, CreateLogStream, PutRetentionPolicy) and the read-back pages of
 * GetLogEvents (cwl_get_log_events, cwl_get_newest_events). Each one signs through cwl.c at call
 * time, waits for the answer, and classifies it with cwl_classify as every call does, so the
 * client's repairs (fresh credentials, clock offset) apply here too. The event loop never calls
 * these: its asynchronous operations are cwl_async.c's. Page walks are bounded by
 * CWL_GET_MAX_PAGES so a server that keeps handing out tokens cannot hold us forever.
 */
#include "cwl_internal.h"

#include "haf/json_write.h"
#include "haf/printable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- blocking calls ---- */

/* Sign, send, classify (see cwl.h). */
enum haf_err
cwl_call(struct cwl_client *c, const char *op, struct span body, struct http_response *resp,
         struct cwl_result *res)
{
    return cwl_call_within(c, op, body, 0, resp, res);
}

enum haf_err
cwl_call_within(struct cwl_client *c, const char *op, struct span body, long timeout_ms,
                struct http_response *resp, struct cwl_result *res)
{
    struct signed_req sr;
    struct http_request req;
    enum haf_err e;

    result_init(res);
    memset(&sr, 0, sizeof(sr));
    e = sign_request(c, op, body, &sr, res);
    if (e != HAF_OK)
        return e;
    req = signed_req_post(c, &sr, body, timeout_ms);
    e = http_perform(c->http, &req, resp);
    signed_req_clean_up(&sr);
    if (e != HAF_OK)
        return e;
    cwl_classify(resp, res);
    client_learn(c, res);
    return HAF_OK;
}

enum haf_err
cwl_call_json(struct cwl_client *c, const char *op, json_t *obj, json_t **answer,
              struct cwl_result *res)
{
    struct http_response resp;
    struct buf body;
    enum haf_err e;

    if (answer)
        *answer = NULL;
    http_response_init(&resp);
    buf_init(&body, 0);
    e = obj == NULL ? HAF_EINVAL : json_write_tree(&body, obj, JSON_COMPACT);
    json_decref(obj); /* the reference was ours (NULL accepted) */
    if (e != HAF_OK)
        goto out;
    e = cwl_call(c, op, buf_span(&body), &resp, res);
    if (e == HAF_OK && answer && res->cls == CWL_OK) {
        *answer = json_loadb(resp.body.p ? resp.body.p : "", resp.body.len, 0, NULL);
        if (!json_is_object(*answer)) {
            json_decref(*answer);
            *answer = NULL;
            e = HAF_EPARSE;
        }
    }
out:
    buf_clean_up(&body);
    http_response_clean_up(&resp);
    return e;
}

/* Send a body built by cwl_async.c (freed here), classify the answer. */
static enum haf_err
simple_call(struct cwl_client *c, const char *op, enum haf_err built, char *body, size_t len,
            struct cwl_result *res)
{
    struct http_response resp;
    enum haf_err e = built;

    http_response_init(&resp);
    if (e == HAF_OK)
        e = cwl_call(c, op, span_make(body, len), &resp, res);
    free(body);
    http_response_clean_up(&resp);
    return e;
}

enum haf_err
cwl_create_log_group(struct cwl_client *c, const char *group, const char *kms_key_id,
                     struct cwl_result *res)
{
    char *body = NULL;
    size_t len = 0;
    enum haf_err built;

    if (c == NULL || res == NULL)
        return HAF_EINVAL;
    result_init(res);
    built = cwl_body_create_group(group, kms_key_id, &body, &len);
    return simple_call(c, "CreateLogGroup", built, body, len, res);
}

enum haf_err
cwl_create_log_stream(struct cwl_client *c, const char *group, const char *stream,
                      struct cwl_result *res)
{
    char *body = NULL;
    size_t len = 0;
    enum haf_err built;

    if (c == NULL || res == NULL)
        return HAF_EINVAL;
    result_init(res);
    built = cwl_body_create_stream(group, stream, &body, &len);
    return simple_call(c, "CreateLogStream", built, body, len, res);
}

enum haf_err
cwl_put_retention_policy(struct cwl_client *c, const char *group, int days, struct cwl_result *res)
{
    char *body = NULL;
    size_t len = 0;
    enum haf_err built;

    if (c == NULL || res == NULL || days <= 0)
        return HAF_EINVAL;
    result_init(res);
    built = cwl_body_retention(group, days, &body, &len);
    return simple_call(c, "PutRetentionPolicy", built, body, len, res);
}

/* ---- GetLogEvents ---- */

static enum haf_err
get_page(struct cwl_client *c, const char *group, const char *stream, bool from_head,
         int64_t start_ms, int64_t end_ms, size_t limit, const char *token, struct cwl_page *page,
         struct cwl_result *res)
{
    struct http_response resp;
    char *body = NULL;
    size_t len = 0;
    enum haf_err e;

    memset(page, 0, sizeof(*page));
    http_response_init(&resp);
    e = cwl_body_get_events(group, stream, from_head, start_ms, end_ms, limit, token, &body, &len);
    if (e != HAF_OK)
        goto out;
    e = cwl_call(c, "GetLogEvents", span_make(body, len), &resp, res);
    page->too_large = resp.outcome == HTTP_TOO_LARGE;
    if (e != HAF_OK || res->cls != CWL_OK)
        goto out;
    e = cwl_page_parse(&resp, from_head, page);
out:
    free(body);
    http_response_clean_up(&resp);
    return e;
}

enum haf_err
cwl_get_log_events(struct cwl_client *c, const char *group, const char *stream, int64_t start_ms,
                   int64_t end_ms, size_t max_events, cwl_event_cb cb, void *ctx,
                   struct cwl_result *res)
{
    char *token = NULL;
    size_t delivered = 0, page_cap = CWL_GET_MAX_LIMIT;
    bool stop = false;
    enum haf_err e = HAF_OK;

    if (c == NULL || cb == NULL || res == NULL)
        return HAF_EINVAL;
    result_init(res);
    /* "As long as the nextForwardToken returned is NOT equal to the nextToken that you passed
     * in, there might be more log events available" (docs/cloudwatch-limits.md section 1); pages
     * may be empty. */
    for (size_t pages = 0; !stop; pages++) {
        struct cwl_page page;
        size_t limit = page_cap < CWL_GET_MAX_LIMIT ? page_cap : 0;

        if (pages == CWL_GET_MAX_PAGES) {
            e = HAF_ETOOLONG; /* a server that never repeats its token */
            goto out;
        }
        if (max_events > 0) {
            size_t left = max_events - delivered;
            limit = left < page_cap ? left : page_cap;
        }
        e = get_page(c, group, stream, true, start_ms, end_ms, limit, token, &page, res);
        /* A page over the response cap (escaped control characters grow ~6x): the same page
         * again with a quarter of the events, down to one. */
        if (page.too_large && page_cap > 1) {
            page_cap = page_cap / 4 > 0 ? page_cap / 4 : 1;
            result_init(res);
            e = HAF_OK;
            continue;
        }
        if (e != HAF_OK || res->cls != CWL_OK)
            goto out;
        e = cwl_page_deliver(&page, cb, ctx, max_events, &delivered, &stop);
        if (e == HAF_OK && !stop) {
            if (page.next == NULL || (token && strcmp(page.next, token) == 0) ||
                (max_events > 0 && delivered >= max_events)) {
                stop = true;
            } else {
                char *t = strdup(page.next);
                if (t == NULL)
                    e = HAF_ENOMEM;
                free(token);
                token = t;
            }
        }
        json_decref(page.root);
        if (e != HAF_OK)
            goto out;
    }
out:
    free(token);
    return e;
}

enum haf_err
cwl_get_newest_events(struct cwl_client *c, const char *group, const char *stream, size_t limit,
                      cwl_event_cb cb, void *ctx, struct cwl_result *res)
{
    char *token = NULL;
    size_t delivered = 0;
    bool stop = false;
    enum haf_err e = HAF_OK;

    if (c == NULL || cb == NULL || res == NULL || limit == 0)
        return HAF_EINVAL;
    result_init(res);
    if (limit > CWL_GET_MAX_LIMIT)
        limit = CWL_GET_MAX_LIMIT;
    /* Newest first: the first non-empty page holds the newest events (in chronological order,
     * so newest last). Empty pages are followed backwards until the token repeats. */
    for (size_t pages = 0;; pages++) {
        struct cwl_page page;
        bool last;

        if (pages == CWL_GET_MAX_PAGES) {
            e = HAF_ETOOLONG;
            goto out;
        }
        e = get_page(c, group, stream, false, 0, 0, limit, token, &page, res);
        if (e != HAF_OK || res->cls != CWL_OK)
            goto out;
        if (json_array_size(page.events) > 0) {
            e = cwl_page_deliver(&page, cb, ctx, limit, &delivered, &stop);
            json_decref(page.root);
            goto out;
        }
        last = page.next == NULL || (token && strcmp(page.next, token) == 0);
        if (!last) {
            char *t = strdup(page.next);
            if (t == NULL)
                e = HAF_ENOMEM;
            free(token);
            token = t;
        }
        json_decref(page.root);
        if (e != HAF_OK || last)
            goto out;
    }
out:
    free(token);
    return e;
}

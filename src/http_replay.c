/*
 * http_replay.c: blocking-style HTTP call sequences run a call at a time on the multi handle
 * (see http_replay.h for the contract).
 *
 * A call is answered by the first recorded answer to the same request not yet used in this run, so
 * repeated identical calls (a token fetched again after a 401) get their answers in order, and a
 * run that skips a call the last one made (the code caches what an earlier run fetched, as the
 * IMDS token) still finds the answers after it. Requests are matched by a 64-bit FNV-1a hash of
 * method, URL and body. One call is in flight at most; its request (URL, headers) is copied by
 * http_submit and its body is kept here until it completes. Answers are forgotten when a run
 * completes.
 */
#include "haf/http_replay.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct replay_answer {
    uint64_t key;
    struct http_response resp;
};

struct replay_call {
    struct http_replay *r; /* NULL once the replay was freed */
    uint64_t key;
    char *body;
    size_t body_len;
};

struct http_replay {
    struct replay_answer ans[HTTP_REPLAY_MAX_CALLS];
    size_t n;
    bool used[HTTP_REPLAY_MAX_CALLS]; /* answered a call of this run */
    bool deferred;
    struct replay_call *inflight;
};

static uint64_t
fnv_add(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;

    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t
request_key(const struct http_request *req)
{
    uint64_t h = 14695981039346656037ULL;
    const char *m = req->method ? req->method : "";
    const char *u = req->url ? req->url : "";

    h = fnv_add(h, m, strlen(m) + 1);
    h = fnv_add(h, u, strlen(u) + 1);
    return req->body ? fnv_add(h, req->body, req->body_len) : h;
}

static void
answers_forget_from(struct http_replay *r, size_t k)
{
    for (size_t i = k; i < r->n; i++) {
        buf_wipe(&r->ans[i].resp.body);
        http_response_clean_up(&r->ans[i].resp);
    }
    if (k < r->n)
        r->n = k;
}

static enum haf_err
response_copy(const struct http_response *from, struct http_response *to)
{
    http_response_init(to);
    *to = *from;
    buf_init(&to->body, 0);
    if (from->body.len > 0 && buf_add(&to->body, from->body.p, from->body.len) != HAF_OK) {
        http_response_clean_up(to);
        return HAF_ENOMEM;
    }
    return HAF_OK;
}

static void
call_free(struct replay_call *call)
{
    if (call->body) {
        memset(call->body, 0, call->body_len);
        free(call->body);
    }
    free(call);
}

static void
on_answer(void *arg, const struct http_response *resp)
{
    struct replay_call *call = arg;
    struct http_replay *r = call->r;

    if (r != NULL) {
        r->inflight = NULL;
        if (r->n < HTTP_REPLAY_MAX_CALLS && response_copy(resp, &r->ans[r->n].resp) == HAF_OK)
            r->ans[r->n++].key = call->key;
    }
    call_free(call);
}

struct http_replay *
http_replay_new(void)
{
    return calloc(1, sizeof(struct http_replay));
}

void
http_replay_free(struct http_replay *r)
{
    if (r == NULL)
        return;
    if (r->inflight)
        r->inflight->r = NULL;
    answers_forget_from(r, 0);
    free(r);
}

void
http_replay_begin(struct http_replay *r, struct http_client *c)
{
    memset(r->used, 0, sizeof(r->used));
    r->deferred = false;
    http_client_set_replay(c, r);
}

bool
http_replay_end(struct http_replay *r, struct http_client *c)
{
    http_client_set_replay(c, NULL);
    if (r->deferred)
        return false;
    answers_forget_from(r, 0);
    return true;
}

bool
http_replay_busy(const struct http_replay *r)
{
    return r != NULL && r->inflight != NULL;
}

static void
not_sent(struct http_response *resp, const char *why)
{
    http_response_clean_up(resp);
    http_response_init(resp);
    resp->outcome = HTTP_NOT_SENT;
    strncpy(resp->error, why, sizeof(resp->error) - 1);
}

/* The first call without an answer: submit it (its body copied) and defer the run. When it
 * cannot be submitted, the call fails as not sent and the run goes on. */
static enum haf_err
defer_call(struct http_replay *r, struct http_client *c, const struct http_request *req,
           uint64_t key, struct http_response *resp)
{
    struct replay_call *call;
    struct http_request copy = *req;

    if (r->inflight != NULL || r->n >= HTTP_REPLAY_MAX_CALLS) {
        r->deferred = r->inflight != NULL;
        not_sent(resp, r->inflight ? "deferred" : "too many calls");
        return HAF_OK;
    }
    call = calloc(1, sizeof(*call));
    if (call == NULL)
        return HAF_ENOMEM;
    call->r = r;
    call->key = key;
    if (req->body_len > 0) {
        call->body = malloc(req->body_len);
        if (call->body == NULL) {
            free(call);
            return HAF_ENOMEM;
        }
        memcpy(call->body, req->body, req->body_len);
        call->body_len = req->body_len;
        copy.body = call->body;
    }
    http_client_set_replay(c, NULL);
    if (http_submit(c, &copy, on_answer, call) != HAF_OK) {
        http_client_set_replay(c, r);
        call_free(call);
        not_sent(resp, "could not be submitted");
        return HAF_OK;
    }
    http_client_set_replay(c, r);
    r->inflight = call;
    r->deferred = true;
    not_sent(resp, "deferred");
    return HAF_OK;
}

enum haf_err
http_replay_perform(struct http_replay *r, struct http_client *c, const struct http_request *req,
                    struct http_response *resp)
{
    uint64_t key = request_key(req);

    if (r->deferred) {
        not_sent(resp, "deferred");
        return HAF_OK;
    }
    for (size_t k = 0; k < r->n; k++) {
        if (!r->used[k] && r->ans[k].key == key) {
            r->used[k] = true;
            http_response_clean_up(resp);
            return response_copy(&r->ans[k].resp, resp);
        }
    }
    return defer_call(r, c, req, key, resp);
}

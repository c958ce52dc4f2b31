/*
 * cwl_internal.h: what the CloudWatch Logs client modules (cwl.c: signing, sending;
 * cwl_classify.c: classification; cwl_call.c: blocking calls and GetLogEvents pages; cwl_async.c:
 * request bodies and the asynchronous operations of the event loop; cwl_group.c: log group
 * settings) share beyond include/haf/cwl.h. Nothing else includes it except the unit tests.
 */
#ifndef HAF_CWL_INTERNAL_H
#define HAF_CWL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "haf/cwl.h"

/*
 * One blocking call of operation `op` with the JSON request `obj` (reference stolen, also on
 * failure): signed, sent and classified into *res as every cwl call is. When `answer` is not NULL
 * and the call succeeded (res->cls == CWL_OK), *answer receives the parsed JSON object of the
 * response (the caller owns it), or the call returns HAF_EPARSE when the body is not a JSON object.
 */
HAF_MUST_USE enum haf_err cwl_call_json(struct cwl_client *c, const char *op, json_t *obj,
                                        json_t **answer, struct cwl_result *res);

/* What a submitted call's owner hears: the classified result and the raw answer (for a body to
 * parse). Called exactly once per submitted call, from http_run() or http_client_free(), also
 * after cwl_client_free(). */
typedef void (*cwl_answer_fn)(void *arg, const struct cwl_result *res,
                              const struct http_response *resp);

/* Sign (credentials and clock at call time) and submit one awsJson1.1 call of operation `op`.
 * copy_body: the body is copied and owned by the call; otherwise it must stay valid until the
 * answer. timeout_ms 0: the HTTP client's default. HAF_ECREDS without credentials (res-like
 * message in `why`, >= 256 bytes, when not NULL), HAF_EAGAIN while they are being fetched (the
 * caller waits: nothing is signed with credentials the provider does not vouch for). */
HAF_MUST_USE enum haf_err cwl_call_submit(struct cwl_client *c, const char *op, struct span body,
                                          bool copy_body, long timeout_ms, cwl_answer_fn answer,
                                          void *arg, char *why, size_t why_len);

/* Request bodies (awsJson1.1): a fresh heap string in *out (caller frees). HAF_EINVAL for a name
 * that is not valid UTF-8, HAF_ENOMEM. */
HAF_MUST_USE enum haf_err cwl_body_create_group(const char *group, const char *kms_key_id,
                                                char **out, size_t *len);
/* CreateLogGroup with the settings of o (cwl_group.c). */
HAF_MUST_USE enum haf_err cwl_body_create_group_with(const char *group,
                                                     const struct cwl_group_opts *o, char **out,
                                                     size_t *len);
HAF_MUST_USE enum haf_err cwl_body_create_stream(const char *group, const char *stream, char **out,
                                                 size_t *len);
HAF_MUST_USE enum haf_err cwl_body_retention(const char *group, int days, char **out, size_t *len);
HAF_MUST_USE enum haf_err cwl_body_get_events(const char *group, const char *stream, bool from_head,
                                              int64_t start_ms, int64_t end_ms, size_t limit,
                                              const char *token, char **out, size_t *len);

/* One parsed GetLogEvents answer. */
struct cwl_page {
    json_t *root;
    json_t *events;   /* borrowed from root */
    const char *next; /* borrowed from root: nextForwardToken or nextBackwardToken */
    bool too_large;   /* the answer exceeded the response cap: ask for fewer events */
};
/* HAF_EPARSE when the body is not a GetLogEvents document (*page zeroed). Events written by other
 * writers may hold U+0000: it is accepted (cwl_page_deliver copies by length). */
HAF_MUST_USE enum haf_err cwl_page_parse(const struct http_response *resp, bool from_head,
                                         struct cwl_page *page);
/* Calls cb for each event of the page (at most max_events in all, 0: no limit); counts them in
 * *delivered; a non-zero return from cb, or the limit, sets *stop. HAF_EPARSE for a malformed
 * event. */
HAF_MUST_USE enum haf_err cwl_page_deliver(const struct cwl_page *page, cwl_event_cb cb, void *ctx,
                                           size_t max_events, size_t *delivered, bool *stop);

/* ---- shared by cwl.c, cwl_classify.c and cwl_call.c ---- */

#include "haf/buf.h"
#include "haf/http.h"

#define CWL_TARGET_PREFIX  "Logs_20140328."
#define CWL_CONTENT_TYPE   "application/x-amz-json-1.1"
#define CWL_SERVICE        "logs"
#define CWL_GET_MAX_LIMIT  10000
#define CWL_GET_MAX_PAGES  1000
#define CWL_REGION_MAX_LEN 64
#define CWL_WHY_LEN        256

struct call_ctx;

struct cwl_client {
    char *url;  /* the endpoint, in canonical form (url_format) */
    char *host; /* authority part, signed and sent as Host */
    char *path; /* "/" unless the endpoint names one */
    char *region;
    char *service;       /* SigV4 service name: "logs", or "kms" for kms.c */
    char *target_prefix; /* X-Amz-Target prefix: "Logs_20140328.", "TrentService." */
    struct http_client *http;
    struct creds_provider *creds;
    struct sigv4_signer *signer;
    int64_t clock_offset_ms;
    struct call_ctx *pending; /* submitted calls whose answer has not come */
};

/* A signed request: the header values live here until the HTTP layer copied them. */
struct signed_req {
    char target[64];
    char amz_date[17];
    struct buf authorization;
    char *token; /* copy of the session token, wiped */
    struct http_header headers[6];
    size_t n_headers;
};

/* A submitted call: who hears the answer (answer for cwl_call_submit, done for PutLogEvents). */
struct call_ctx {
    struct cwl_client *client; /* NULL once the client was freed */
    cwl_answer_fn answer;
    cwl_put_done_fn done;
    void *arg;
    char *body; /* owned copy, or NULL */
    struct call_ctx *next;
};

/* cwl.c */
void client_learn(struct cwl_client *c, const struct cwl_result *res);
void signed_req_clean_up(struct signed_req *s);
HAF_MUST_USE enum haf_err sign_request(struct cwl_client *c, const char *op, struct span body,
                                       struct signed_req *out, struct cwl_result *res);

struct http_request signed_req_post(const struct cwl_client *c, const struct signed_req *sr,
                                    struct span body, long timeout_ms);

/* cwl_classify.c */
void result_init(struct cwl_result *r);

#endif

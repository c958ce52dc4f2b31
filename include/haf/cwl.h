/*
 * cwl.h: the Amazon CloudWatch Logs client: requests (awsJson1.1 over HTTPS, SigV4 service
 * "logs"), responses, and the classification of every failure into what the caller should do.
 *
 * Reference: docs/cloudwatch-limits.md. Error types come from __type in the body or the
 * X-Amzn-Errortype header, sanitized per the Smithy awsJson1_1 rules (cut at ':', keep after '#').
 */
#ifndef HAF_CWL_H
#define HAF_CWL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/buf.h"
#include "haf/err.h"
#include "haf/http.h"

struct creds_provider;

enum cwl_class {
    CWL_OK,
    CWL_RETRY,          /* throttling, 5xx, connection not made: back off and resend */
    CWL_AMBIGUOUS,      /* sent, no answer: read back before resending */
    CWL_REFRESH_CREDS,  /* expired token: refresh credentials, resend */
    CWL_CLOCK_SKEW,     /* signature expired / not yet current: correct the clock, resend */
    CWL_NOT_FOUND,      /* ResourceNotFoundException: create group/stream, resend */
    CWL_ALREADY_EXISTS, /* ResourceAlreadyExistsException (success for Create*) */
    CWL_ACCESS_DENIED,  /* AccessDenied, UnrecognizedClient, bad signature: log loudly, retry slowly
                         */
    CWL_INVALID,        /* InvalidParameter, Serialization: a bug or a bad name; log loudly */
    CWL_INVALID_SEQUENCE_TOKEN, /* legacy: resend with expected_sequence_token */
    CWL_DATA_ALREADY_ACCEPTED,  /* legacy: delivered */
    CWL_CONNECTION, /* not sent: DNS, refused, timeout, TLS (message names which): back off and
                     * resend, counted apart from throttling and 5xx */
};

const char *cwl_class_str(enum cwl_class c);

struct cwl_result {
    enum cwl_class cls;
    long status;
    char error_type[128]; /* sanitized */
    char message[512];    /* the service's message, printable ASCII only */
    char request_id[80];
    char expected_sequence_token[160];
    int64_t server_time_ms; /* from Date; 0 when absent */
    /* PutLogEvents rejectedLogEventsInfo; -1 when absent */
    int64_t too_new_start;
    int64_t too_old_end;
    int64_t expired_end;
};

/* Classify a completed HTTP exchange (pure; fuzzed). Transport outcomes: HTTP_NOT_SENT is
 * CWL_RETRY, HTTP_AMBIGUOUS and HTTP_TOO_LARGE are CWL_AMBIGUOUS. A 2xx is CWL_OK only when its
 * body is empty or a JSON object; any other 2xx body is CWL_AMBIGUOUS (read back, don't trust it).
 * Errors: the X-Amzn-Errortype header, else "__type", else "code", else an XML <Code>, sanitized;
 * a known type decides, an unknown one falls back to the status (5xx/429 retry, 401/403 denied,
 * else invalid). LimitExceededException is CWL_INVALID (for CloudWatch Logs it means too many
 * resources). Strings in *out are NUL-terminated printable ASCII, truncated to fit. */
void cwl_classify(const struct http_response *resp, struct cwl_result *out);

struct cwl_opts {
    const char *endpoint; /* "https://logs.us-east-1.amazonaws.com" or an override */
    const char *region;
    /* Another awsJson1.1 service through the same signing and classification (kms.c): NULL for
     * CloudWatch Logs ("logs", "Logs_20140328."). */
    const char *service;
    const char *target_prefix;
};

struct cwl_client;

HAF_MUST_USE struct cwl_client *
cwl_client_new(const struct cwl_opts *opts, struct http_client *http, struct creds_provider *creds);
void cwl_client_free(struct cwl_client *c);

/* Default endpoint for a region (partition-aware: .amazonaws.com.cn etc.); caller frees. */
char *cwl_default_endpoint(const char *region);
/* The same for another service ("https://kms.<region>.<suffix>"); caller frees. */
char *cwl_service_endpoint(const char *service, const char *region);

/* The largest clock offset adopted from a clock-skew answer; a Date further off is ignored. */
#define CWL_CLOCK_OFFSET_MAX_MS (24LL * 3600 * 1000)

/* Correct our clock by the server's (after CWL_CLOCK_SKEW); applied to every later signature.
 * The client already does this itself when a CWL_CLOCK_SKEW answer carried a Date header (and
 * invalidates the provider's credentials after CWL_REFRESH_CREDS), so a plain resend works. */
void cwl_set_clock_offset_ms(struct cwl_client *c, int64_t offset_ms);
int64_t cwl_clock_offset_ms(const struct cwl_client *c);

/* ---- blocking operations (rare: setup and read-back) ----
 * HAF_OK whenever an outcome was classified into *res (check res->cls: CWL_ALREADY_EXISTS is
 * success for the Create calls); HAF_ECREDS when the provider has no credentials (res->message
 * says why); HAF_EINVAL for names that are not valid UTF-8; HAF_ENOMEM. */
HAF_MUST_USE enum haf_err cwl_create_log_group(struct cwl_client *c, const char *group,
                                               const char *kms_key_id, struct cwl_result *res);
HAF_MUST_USE enum haf_err cwl_create_log_stream(struct cwl_client *c, const char *group,
                                                const char *stream, struct cwl_result *res);
HAF_MUST_USE enum haf_err cwl_put_retention_policy(struct cwl_client *c, const char *group,
                                                   int days, struct cwl_result *res);

/* ---- log groups the daemon creates (src/cwl_group.c) ---- */

struct cwl_tag {
    const char *key;
    const char *value;
};

/* What CreateLogGroup sets beyond the name; NULL / false / 0 members are left out of the request.
 */
struct cwl_group_opts {
    const char *kms_key_id;      /* "kmsKeyId" */
    const char *log_group_class; /* "logGroupClass": STANDARD or INFREQUENT_ACCESS */
    bool deletion_protection;    /* "deletionProtectionEnabled": true */
    const struct cwl_tag *tags;  /* "tags": {key: value} */
    size_t n_tags;
};

/* CreateLogGroup with these settings; results as cwl_create_log_group. */
HAF_MUST_USE enum haf_err cwl_create_log_group_with(struct cwl_client *c, const char *group,
                                                    const struct cwl_group_opts *o,
                                                    struct cwl_result *res);

/* What DescribeLogGroups says about one group. */
struct cwl_group_info {
    bool found;
    bool has_deletion_protection; /* the answer has deletionProtectionEnabled */
    bool deletion_protection;
    char log_group_class[24]; /* "" when the answer has none */
    int retention_days;       /* 0 when none */
    bool has_kms_key;
};

/* DescribeLogGroups (logGroupNamePrefix = group) and the entry named exactly `group`. HAF_OK when
 * classified (res->cls); HAF_EPARSE for a 200 answer that is not a DescribeLogGroups document. */
HAF_MUST_USE enum haf_err cwl_describe_log_group(struct cwl_client *c, const char *group,
                                                 struct cwl_group_info *out,
                                                 struct cwl_result *res);

/* One signed awsJson1.1 exchange of operation `op` ("FilterLogEvents") with a complete JSON body:
 * sign with the current credentials and corrected clock, send (blocking), classify into *res, and
 * learn from the answer as every call does (clock offset, credential invalidation). *resp receives
 * the raw answer (body capped by the HTTP client's max_response_bytes: HTTP_TOO_LARGE). HAF_OK
 * whenever an outcome was classified; HAF_ECREDS without credentials; HAF_EINVAL, HAF_ENOMEM. For
 * readers of operations this file does not wrap (src/logs_reader.c). */
HAF_MUST_USE enum haf_err cwl_call(struct cwl_client *c, const char *op, struct span body,
                                   struct http_response *resp, struct cwl_result *res);
/* The same, the whole exchange bounded by timeout_ms (0: the HTTP client's default), for blocking
 * calls made from the event loop (kms:Sign), which must not hold it up for long. */
HAF_MUST_USE enum haf_err cwl_call_within(struct cwl_client *c, const char *op, struct span body,
                                          long timeout_ms, struct http_response *resp,
                                          struct cwl_result *res);

/* One read-back event. */
struct cwl_read_event {
    int64_t timestamp_ms;
    char *message;
    size_t message_len;
};

/* GetLogEvents from the head over [start_ms, end_ms), following nextForwardToken until the end or
 * max_events; calls cb per event (non-zero return stops). HAF_OK with res->cls == CWL_OK on
 * success; other classes (CWL_ACCESS_DENIED when logs:GetLogEvents is denied) are reported in res.
 * start_ms/end_ms <= 0 are left out of the request; max_events 0 means no limit. The message is
 * valid only during the callback. HAF_EPARSE when a 200 answer is not a GetLogEvents document,
 * HAF_ETOOLONG after 1000 pages without the token repeating, HAF_ECREDS without credentials. */
typedef int (*cwl_event_cb)(void *ctx, const struct cwl_read_event *ev);
HAF_MUST_USE enum haf_err cwl_get_log_events(struct cwl_client *c, const char *group,
                                             const char *stream, int64_t start_ms, int64_t end_ms,
                                             size_t max_events, cwl_event_cb cb, void *ctx,
                                             struct cwl_result *res);

/* The newest events of a stream (startFromHead=false), newest last, at most `limit`. */
HAF_MUST_USE enum haf_err cwl_get_newest_events(struct cwl_client *c, const char *group,
                                                const char *stream, size_t limit, cwl_event_cb cb,
                                                void *ctx, struct cwl_result *res);

/* ---- asynchronous PutLogEvents, for the event loop ---- */

typedef void (*cwl_put_done_fn)(void *arg, const struct cwl_result *res);

/*
 * Sign and submit a PutLogEvents request whose complete JSON body is `body` (built by batch.c;
 * must stay valid until done is called). Credentials are taken from the provider at call time,
 * and the request is signed with the current clock plus the clock offset. HAF_ECREDS when there
 * are none (nothing submitted, done not called). Once HAF_OK is returned, done is called exactly
 * once from http_run() (or from http_client_free(), as CWL_AMBIGUOUS), also after
 * cwl_client_free().
 */
HAF_MUST_USE enum haf_err cwl_put_log_events_submit(struct cwl_client *c, struct span body,
                                                    cwl_put_done_fn done, void *arg);

/* ---- asynchronous setup and read-back, for the event loop (cwl_async.c) ----
 * Each signs with the credentials and clock of the moment it is submitted and runs on the HTTP
 * client's multi handle with its own timeout (timeout_ms 0: the client's default). HAF_ECREDS
 * when there are no credentials, HAF_EAGAIN while the provider is fetching them (creds_set_async:
 * submit again once it is done), HAF_EINVAL for a name that is not valid UTF-8: in every such case
 * nothing was submitted and done will not be called. Once HAF_OK is returned, done is called
 * exactly once from http_run() (or from http_client_free(), as CWL_AMBIGUOUS), also after
 * cwl_client_free(). `why` (>= 256 bytes, may be NULL) says why nothing was submitted. */
typedef void (*cwl_done_fn)(void *arg, const struct cwl_result *res);
HAF_MUST_USE enum haf_err cwl_create_log_group_submit(struct cwl_client *c, const char *group,
                                                      const char *kms_key_id, long timeout_ms,
                                                      cwl_done_fn done, void *arg, char *why,
                                                      size_t why_len);
/* The same with the settings of o (cwl_group_opts: class, deletion protection, tags, KMS key). */
HAF_MUST_USE enum haf_err cwl_create_log_group_with_submit(struct cwl_client *c, const char *group,
                                                           const struct cwl_group_opts *o,
                                                           long timeout_ms, cwl_done_fn done,
                                                           void *arg, char *why, size_t why_len);

/* DescribeLogGroups for `group` on the loop's multi handle: fn hears the classified result and,
 * when res->cls is CWL_OK, what the answer says of the group (info->found false when it names
 * none). Called exactly once, also when the call is cancelled at teardown. */
typedef void (*cwl_group_info_fn)(void *arg, const struct cwl_result *res,
                                  const struct cwl_group_info *info);
HAF_MUST_USE enum haf_err cwl_describe_log_group_submit(struct cwl_client *c, const char *group,
                                                        long timeout_ms, cwl_group_info_fn fn,
                                                        void *arg, char *why, size_t why_len);
HAF_MUST_USE enum haf_err cwl_create_log_stream_submit(struct cwl_client *c, const char *group,
                                                       const char *stream, long timeout_ms,
                                                       cwl_done_fn done, void *arg, char *why,
                                                       size_t why_len);
HAF_MUST_USE enum haf_err cwl_put_retention_policy_submit(struct cwl_client *c, const char *group,
                                                          int days, long timeout_ms,
                                                          cwl_done_fn done, void *arg, char *why,
                                                          size_t why_len);

/* One page of GetLogEvents from the head over [start_ms, end_ms) (<= 0: left out), at most
 * `limit` events (0: the service's default), from `token` (NULL: the first page). When the answer
 * is a page, cb is called for each of its events (a non-zero return stops: no more events, and
 * no next token) and then done with err HAF_OK and the token of the next page, or NULL when this
 * was the last (absent, or the one passed in: docs/cloudwatch-limits.md section 1) or cb stopped;
 * the token is valid only during the call. A 200 answer that is not a GetLogEvents document gives
 * err HAF_EPARSE, an answer over the response cap err HAF_ETOOLONG (ask again with a smaller
 * limit); other answers give err HAF_OK and res->cls says what happened. */
typedef void (*cwl_page_done_fn)(void *arg, const struct cwl_result *res, enum haf_err err,
                                 const char *next_token);
HAF_MUST_USE enum haf_err cwl_get_log_events_page_submit(struct cwl_client *c, const char *group,
                                                         const char *stream, int64_t start_ms,
                                                         int64_t end_ms, size_t limit,
                                                         const char *token, long timeout_ms,
                                                         cwl_event_cb cb, cwl_page_done_fn done,
                                                         void *arg, char *why, size_t why_len);

#endif

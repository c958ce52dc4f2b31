/*
 * cwl.c: the Amazon CloudWatch Logs client (see cwl.h and docs/cloudwatch-limits.md).
 *
 * Every operation is the same awsJson1.1 exchange (docs/cloudwatch-limits.md section 1): POST to
 * the endpoint's path ("/"), Content-Type application/x-amz-json-1.1, X-Amz-Target
 * Logs_20140328.<Op>, a JSON body built with jansson, SigV4 for service "logs" signed just before
 * the request leaves, with the clock corrected by the offset learnt from the last clock-skew
 * answer. Credentials are fetched from the provider for every request, so a refresh is picked up at
 * once.
 *
 * cwl_classify() is pure and sees only untrusted input: status, the X-Amzn-Errortype header and the
 * body. The error type comes from the header, else the body's "__type", else its "code", sanitized
 * per Smithy (cut at the first ':', keep what follows the first '#'). Messages are copied as
 * printable ASCII only, bounded. Decisions a reader may question:
 * - A 2xx whose body is empty or a JSON object is CWL_OK. A 2xx with any other body (HTML from a
 *   captive proxy, a truncated object) is CWL_AMBIGUOUS: we cannot tell what happened to the
 *   events, so the caller reads back before resending rather than trusting it.
 * - LimitExceededException is in the SDKs' throttling list, but CloudWatch Logs uses it for "too
 *   many resources" (CreateLogGroup); retrying it fast helps nobody, so it is CWL_INVALID.
 * - A known error type wins over the status code; an unknown one falls back to the status: 5xx and
 *   429 retry, 401/403 are access denied, every other status is invalid.
 * - The client applies the repairs the table in cwl_rules.c gives it (fresh credentials after an
 *   expired token or an access denied, the server's clock after a clock-skew answer with a Date
 *   header) itself, for every operation, so a plain resend works; nobody else does.
 */
#include "haf/cwl.h"
#include "haf/json_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cwl_internal.h"
#include "haf/creds.h"
#include "haf/cwl_rules.h"
#include "haf/printable.h"
#include "haf/sigv4.h"
#include "haf/url.h"
#include "haf/xml_scan.h"
#include "cwl_internal.h"

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

const char *
cwl_class_str(enum cwl_class c)
{
    switch (c) {
    case CWL_OK:
        return "ok";
    case CWL_RETRY:
        return "retry";
    case CWL_AMBIGUOUS:
        return "ambiguous";
    case CWL_REFRESH_CREDS:
        return "refresh-credentials";
    case CWL_CLOCK_SKEW:
        return "clock-skew";
    case CWL_NOT_FOUND:
        return "not-found";
    case CWL_ALREADY_EXISTS:
        return "already-exists";
    case CWL_ACCESS_DENIED:
        return "access-denied";
    case CWL_INVALID:
        return "invalid";
    case CWL_INVALID_SEQUENCE_TOKEN:
        return "invalid-sequence-token";
    case CWL_DATA_ALREADY_ACCEPTED:
        return "data-already-accepted";
    case CWL_CONNECTION:
        return "connection";
    }
    return "unknown";
}

/* ---- classification (pure) ---- */

static void
result_init(struct cwl_result *r)
{
    memset(r, 0, sizeof(*r));
    r->cls = CWL_OK;
    r->too_new_start = -1;
    r->too_old_end = -1;
    r->expired_end = -1;
}

/* Smithy awsJson1_1 error type sanitizing (docs/cloudwatch-limits.md section 4), then printable
 * ASCII only. */
static void
sanitize_type(char *dst, size_t dst_len, struct span v)
{
    size_t i;
    struct span t;

    for (i = 0; i < v.len && v.p[i] != ':'; i++)
        ;
    v.len = i;
    for (i = 0; i < v.len && v.p[i] != '#'; i++)
        ;
    if (i < v.len) {
        v.p += i + 1;
        v.len -= i + 1;
    }
    t = span_trim(v);
    printable_copy(dst, dst_len, t);
}

static bool
type_is(const char *type, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(type, list[i]) == 0)
            return true;
    return false;
}

static bool
contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

static const char *const throttle_types[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailableException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
    "OperationAbortedException",
    NULL,
};

static const char *const refresh_types[] = {
    "ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired", "InvalidToken", NULL,
};

static const char *const signature_types[] = {
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "IncompleteSignatureException",
    NULL,
};

static const char *const denied_types[] = {
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "NotAuthorized",
    "InvalidAccessKeyId",
    "InvalidSecurity",
    NULL,
};

static enum cwl_class
class_for(const char *type, const char *message, long status)
{
    if (type[0] != '\0') {
        if (type_is(type, throttle_types))
            return CWL_RETRY;
        if (type_is(type, refresh_types))
            return CWL_REFRESH_CREDS;
        if (strcmp(type, "RequestExpired") == 0 || strcmp(type, "RequestTimeTooSkewed") == 0)
            return CWL_CLOCK_SKEW;
        /* "Signature expired: 20160504T004903Z is now earlier than ..." / "Signature not yet
         * current: ... is still later than ..." (docs/cloudwatch-limits.md section 4). */
        if (type_is(type, signature_types) &&
            (contains(message, "Signature expired") || contains(message, "not yet current")))
            return CWL_CLOCK_SKEW;
        if (type_is(type, denied_types))
            return CWL_ACCESS_DENIED;
        if (strcmp(type, "ResourceNotFoundException") == 0)
            return CWL_NOT_FOUND;
        if (strcmp(type, "ResourceAlreadyExistsException") == 0)
            return CWL_ALREADY_EXISTS;
        if (strcmp(type, "InvalidSequenceTokenException") == 0)
            return CWL_INVALID_SEQUENCE_TOKEN;
        if (strcmp(type, "DataAlreadyAcceptedException") == 0)
            return CWL_DATA_ALREADY_ACCEPTED;
        if (strcmp(type, "InvalidParameterException") == 0 ||
            strcmp(type, "SerializationException") == 0 ||
            strcmp(type, "LimitExceededException") == 0 || strcmp(type, "ValidationException") == 0)
            return CWL_INVALID;
    }
    if (status >= 500 || status == 429)
        return CWL_RETRY;
    if (status == 401 || status == 403)
        return CWL_ACCESS_DENIED;
    return CWL_INVALID;
}

static struct span
json_str_span(const json_t *v)
{
    if (!json_is_string(v))
        return SPAN_NULL;
    return span_make(json_string_value(v), json_string_length(v));
}

/* A non-negative JSON integer, or -1. */
static int64_t
json_index(const json_t *v)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    return (int64_t)json_integer_value(v);
}

static bool
body_is_blank(const struct buf *b)
{
    return span_trim(buf_span(b)).len == 0;
}

void
cwl_classify(const struct http_response *resp, struct cwl_result *out)
{
    json_t *root = NULL;
    json_error_t jerr;
    struct span type = SPAN_NULL;

    result_init(out);
    out->status = resp->status;
    printable_copy(
        out->request_id, sizeof(out->request_id),
        span_make(resp->request_id, strnlen(resp->request_id, sizeof(resp->request_id))));
    switch (resp->outcome) {
    case HTTP_ANSWERED:
        break;
    case HTTP_NOT_SENT:
        out->cls = CWL_CONNECTION;
        goto transport;
    case HTTP_TOO_LARGE:
    case HTTP_AMBIGUOUS:
    default:
        out->cls = CWL_AMBIGUOUS;
        goto transport;
    }
    {
        char date[sizeof(resp->date)];
        int64_t ms;
        printable_copy(date, sizeof(date),
                       span_make(resp->date, strnlen(resp->date, sizeof(resp->date))));
        if (http_parse_date(date, &ms))
            out->server_time_ms = ms;
    }
    if (resp->body.len > 0 && resp->body.p != NULL)
        root = json_loadb(resp->body.p, resp->body.len, JSON_ALLOW_NUL, &jerr);

    if (resp->status >= 200 && resp->status < 300) {
        if (json_is_object(root)) {
            json_t *rej = json_object_get(root, "rejectedLogEventsInfo");
            if (json_is_object(rej)) {
                out->too_new_start = json_index(json_object_get(rej, "tooNewLogEventStartIndex"));
                out->too_old_end = json_index(json_object_get(rej, "tooOldLogEventEndIndex"));
                out->expired_end = json_index(json_object_get(rej, "expiredLogEventEndIndex"));
            }
            out->cls = CWL_OK;
        } else if (root == NULL && body_is_blank(&resp->body)) {
            out->cls = CWL_OK;
        } else {
            out->cls = CWL_AMBIGUOUS;
            printable_copy(out->message, sizeof(out->message),
                           SPAN_LIT("2xx answer whose body is not a JSON object"));
        }
        goto out;
    }

    /* An error answer. The header, when present, names the type (Smithy; docs/cloudwatch-limits.md
     * section 4). */
    if (resp->error_type[0] != '\0')
        type = span_make(resp->error_type, strnlen(resp->error_type, sizeof(resp->error_type)));
    if (json_is_object(root)) {
        struct span msg = json_str_span(json_object_get(root, "message"));
        if (msg.p == NULL)
            msg = json_str_span(json_object_get(root, "Message"));
        if (type.p == NULL)
            type = json_str_span(json_object_get(root, "__type"));
        if (type.p == NULL)
            type = json_str_span(json_object_get(root, "code"));
        printable_copy(out->message, sizeof(out->message), msg);
        printable_copy(out->expected_sequence_token, sizeof(out->expected_sequence_token),
                       json_str_span(json_object_get(root, "expectedSequenceToken")));
    } else {
        /* Not JSON. An XML error document (query-protocol services, and moto's IAM layer) names
         * its <Code> and <Message>; anything else (a proxy's HTML) is the message, as botocore. */
        struct span msg = SPAN_NULL;
        (void)xml_scan_element(buf_span(&resp->body), "Message", &msg);
        if (type.p == NULL)
            (void)xml_scan_element(buf_span(&resp->body), "Code", &type);
        printable_copy(out->message, sizeof(out->message), msg.p ? msg : buf_span(&resp->body));
    }
    sanitize_type(out->error_type, sizeof(out->error_type), type);
    out->cls = class_for(out->error_type, out->message, resp->status);
    goto out;

transport:
    out->status = 0;
    if (resp->conn_error != HTTP_CONN_NONE) {
        /* "TLS certificate not trusted: SSL certificate problem: ..." */
        char named[sizeof(out->message)];

        snprintf(named, sizeof(named), "%s: %.*s", http_conn_error_str(resp->conn_error),
                 (int)strnlen(resp->error, sizeof(resp->error)), resp->error);
        printable_copy(out->message, sizeof(out->message), span_make(named, strlen(named)));
    } else {
        printable_copy(out->message, sizeof(out->message),
                       span_make(resp->error, strnlen(resp->error, sizeof(resp->error))));
    }
out:
    json_decref(root);
}

/* ---- endpoints ---- */

char *
cwl_default_endpoint(const char *region)
{
    return cwl_service_endpoint("logs", region);
}

char *
cwl_service_endpoint(const char *service, const char *region)
{
    /* Fluent Bit's prefix table (docs/cloudwatch-limits.md section 1): the first match wins, so
     * us-isob- precedes us-iso-. */
    static const struct {
        const char *prefix;
        const char *suffix;
    } partitions[] = {
        {"us-isob-", "sc2s.sgov.gov"},  {"us-isof-", "csp.hci.ic.gov"}, {"us-iso-", "c2s.ic.gov"},
        {"eu-isoe-", "cloud.adc-e.uk"}, {"eusc-", "amazonaws.eu"},      {"cn-", "amazonaws.com.cn"},
    };
    const char *suffix = "amazonaws.com";
    struct buf b;
    size_t n;

    if (region == NULL || service == NULL)
        return NULL;
    n = strnlen(region, CWL_REGION_MAX_LEN + 1);
    if (n == 0 || n > CWL_REGION_MAX_LEN || region[0] == '-' || region[n - 1] == '-')
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char ch = region[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
            return NULL;
    }
    for (size_t i = 0; i < sizeof(partitions) / sizeof(partitions[0]); i++) {
        if (strncmp(region, partitions[i].prefix, strlen(partitions[i].prefix)) == 0) {
            suffix = partitions[i].suffix;
            break;
        }
    }
    buf_init(&b, 0);
    if (buf_addf(&b, "https://%s.%s.%s", service, region, suffix) != HAF_OK) {
        buf_clean_up(&b);
        return NULL;
    }
    return b.p;
}

/* The endpoint under url.h's rule (http only on loopback, no userinfo, no query), stored in
 * canonical form (a lower-case scheme), with its authority (signed and sent as Host) and path. */
static enum haf_err
endpoint_split(const char *text, char **url, char **host, char **path)
{
    struct url u;
    struct buf canon;

    if (url_parse(span_cstr(text), &u, NULL) != HAF_OK || url_check_endpoint(&u, NULL) != HAF_OK)
        return HAF_ECONFIG;
    buf_init(&canon, 0);
    if (url_format(&u, &canon) != HAF_OK) {
        buf_clean_up(&canon);
        return HAF_ENOMEM;
    }
    *url = canon.p;
    *host = strndup(u.authority.p, u.authority.len);
    *path = u.path.len ? strndup(u.path.p, u.path.len) : strdup("/");
    if (*host == NULL || *path == NULL)
        return HAF_ENOMEM; /* the caller frees what was set */
    return HAF_OK;
}

struct cwl_client *
cwl_client_new(const struct cwl_opts *opts, struct http_client *http, struct creds_provider *creds)
{
    struct cwl_client *c;
    char *given = NULL;

    if (opts == NULL || opts->region == NULL || opts->region[0] == '\0' || http == NULL)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->http = http;
    c->creds = creds;
    c->service = strdup(opts->service ? opts->service : CWL_SERVICE);
    c->target_prefix = strdup(opts->target_prefix ? opts->target_prefix : CWL_TARGET_PREFIX);
    if (c->service == NULL || c->target_prefix == NULL)
        goto fail;
    given =
        opts->endpoint ? strdup(opts->endpoint) : cwl_service_endpoint(c->service, opts->region);
    c->region = strdup(opts->region);
    if (given == NULL || c->region == NULL)
        goto fail;
    if (endpoint_split(given, &c->url, &c->host, &c->path) != HAF_OK)
        goto fail;
    free(given);
    given = NULL; /* the fail path frees it */
    c->signer = sigv4_signer_new();
    if (c->signer == NULL)
        goto fail;
    return c;
fail:
    free(given);
    cwl_client_free(c);
    return NULL;
}

void
cwl_client_free(struct cwl_client *c)
{
    if (c == NULL)
        return;
    /* Requests still in flight complete through the HTTP client later (or when it is freed);
     * their contexts must not reach back into this client. */
    for (struct call_ctx *p = c->pending; p; p = p->next)
        p->client = NULL;
    sigv4_signer_free(c->signer);
    free(c->url);
    free(c->host);
    free(c->path);
    free(c->region);
    free(c->service);
    free(c->target_prefix);
    free(c);
}

void
cwl_set_clock_offset_ms(struct cwl_client *c, int64_t offset_ms)
{
    if (c)
        c->clock_offset_ms = offset_ms;
}

int64_t
cwl_clock_offset_ms(const struct cwl_client *c)
{
    return c ? c->clock_offset_ms : 0;
}

static int64_t
wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the client itself does about an answer: the repairs cwl_rules.c assigns to the client,
 * for every operation. The one place that reacts to an answer's credentials and clock. */
static void
client_learn(struct cwl_client *c, const struct cwl_result *res)
{
    const struct cwl_rule *rule = cwl_rule_of(res->cls);

    if (c->creds && rule->invalidate_creds)
        creds_invalidate(c->creds);
    if (rule->fix_clock && res->server_time_ms > 0) {
        int64_t offset = res->server_time_ms - wall_ms();

        /* One far-off Date (a broken proxy, a forged answer) must not move every later
         * signature out of the service's window: an offset beyond the bound is not adopted. */
        if (offset <= CWL_CLOCK_OFFSET_MAX_MS && offset >= -CWL_CLOCK_OFFSET_MAX_MS)
            c->clock_offset_ms = offset;
    }
}

/* ---- signing ---- */

static void
signed_req_clean_up(struct signed_req *s)
{
    buf_wipe(&s->authorization);
    if (s->token) {
        OPENSSL_cleanse(s->token, strlen(s->token));
        free(s->token);
        s->token = NULL;
    }
}

static enum haf_err
sign_request(struct cwl_client *c, const char *op, struct span body, struct signed_req *out,
             struct cwl_result *res)
{
    const struct aws_creds *ac = NULL;
    char why[CWL_WHY_LEN] = "";
    int64_t local_ms = wall_ms();
    int64_t now_ms = local_ms + c->clock_offset_ms; /* the service's time, for the signature */
    struct sigv4_header sh[3];
    struct sigv4_request sreq;
    struct sigv4_creds sc;
    struct sigv4_result sres;
    enum haf_err e;
    int n;

    memset(out, 0, sizeof(*out));
    buf_init(&out->authorization, 0);
    memset(&sres, 0, sizeof(sres));
    buf_init(&sres.authorization, 0);
    n = snprintf(out->target, sizeof(out->target), "%s%s", c->target_prefix, op);
    if (n < 0 || (size_t)n >= sizeof(out->target))
        return HAF_EINVAL;
    if (c->creds == NULL) {
        printable_copy(res->message, sizeof(res->message), SPAN_LIT("no credentials provider"));
        return HAF_ECREDS;
    }
    /* Expiry times come from our own credential sources (IMDS, STS, a process on this host):
     * compare them with the local clock, not the service's. */
    e = creds_get(c->creds, local_ms, &ac, why, sizeof(why));
    if (e != HAF_OK || ac == NULL) {
        printable_copy(res->message, sizeof(res->message),
                       span_make(why, strnlen(why, sizeof(why))));
        /* HAF_EAGAIN: a refresh is under way (creds_set_async) and nothing usable is at hand. */
        return e == HAF_EAGAIN ? HAF_EAGAIN : HAF_ECREDS;
    }
    sh[0] = (struct sigv4_header){"host", c->host};
    sh[1] = (struct sigv4_header){"content-type", CWL_CONTENT_TYPE};
    sh[2] = (struct sigv4_header){"x-amz-target", out->target};
    sreq = (struct sigv4_request){.method = "POST",
                                  .path = c->path,
                                  .query = NULL,
                                  .headers = sh,
                                  .n_headers = 3,
                                  .body = body.p,
                                  .body_len = body.len};
    sc = (struct sigv4_creds){ac->access_key_id, ac->secret_access_key, ac->session_token};
    e = sigv4_sign(c->signer, &sc, c->region, c->service, (time_t)(now_ms / 1000), &sreq, &sres);
    if (e != HAF_OK)
        goto out;
    memcpy(out->amz_date, sres.amz_date, sizeof(out->amz_date));
    out->amz_date[sizeof(out->amz_date) - 1] = '\0';
    e = buf_add(&out->authorization, sres.authorization.p, sres.authorization.len);
    if (e != HAF_OK)
        goto out;
    if (ac->session_token && ac->session_token[0] != '\0') {
        out->token = strdup(ac->session_token);
        if (out->token == NULL) {
            e = HAF_ENOMEM;
            goto out;
        }
    }
    out->headers[0] = (struct http_header){"Host", c->host};
    out->headers[1] = (struct http_header){"Content-Type", CWL_CONTENT_TYPE};
    out->headers[2] = (struct http_header){"X-Amz-Target", out->target};
    out->headers[3] = (struct http_header){"X-Amz-Date", out->amz_date};
    out->headers[4] = (struct http_header){"Authorization", buf_cstr(&out->authorization)};
    out->n_headers = 5;
    if (out->token)
        out->headers[out->n_headers++] = (struct http_header){"X-Amz-Security-Token", out->token};
out:
    sigv4_result_clean_up(&sres);
    if (e != HAF_OK)
        signed_req_clean_up(out);
    return e;
}

/* ---- blocking calls ---- */

/* Sign, send, classify (see cwl.h). */
enum haf_err
cwl_call(struct cwl_client *c, const char *op, struct span body, struct http_response *resp,
         struct cwl_result *res)
{
    struct signed_req sr;
    struct http_request req;
    enum haf_err e;

    result_init(res);
    memset(&sr, 0, sizeof(sr));
    e = sign_request(c, op, body, &sr, res);
    if (e != HAF_OK)
        return e;
    req = (struct http_request){.method = "POST",
                                .url = c->url,
                                .headers = sr.headers,
                                .n_headers = sr.n_headers,
                                .body = body.p,
                                .body_len = body.len};
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

/* ---- asynchronous calls ---- */

static void
pending_unlink(struct cwl_client *c, struct call_ctx *p)
{
    for (struct call_ctx **pp = &c->pending; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            return;
        }
    }
}

static void
on_call_done(void *arg, const struct http_response *resp)
{
    struct call_ctx *p = arg;
    struct cwl_result res;

    cwl_classify(resp, &res);
    if (p->client) {
        pending_unlink(p->client, p);
        client_learn(p->client, &res);
    }
    if (p->answer)
        p->answer(p->arg, &res, resp);
    else
        p->done(p->arg, &res);
    free(p->body);
    free(p);
}

static enum haf_err
call_submit(struct cwl_client *c, const char *op, struct span body, bool copy_body, long timeout_ms,
            struct call_ctx *p, char *why, size_t why_len)
{
    struct signed_req sr;
    struct http_request req;
    struct cwl_result res;
    enum haf_err e;

    result_init(&res);
    p->client = c;
    if (copy_body) {
        p->body = malloc(body.len ? body.len : 1);
        if (p->body == NULL)
            return HAF_ENOMEM;
        memcpy(p->body, body.p, body.len);
        body.p = p->body;
    }
    e = sign_request(c, op, body, &sr, &res);
    if (e != HAF_OK) {
        if (why != NULL && why_len > 0)
            snprintf(why, why_len, "%s", res.message);
        return e;
    }
    req = (struct http_request){.method = "POST",
                                .url = c->url,
                                .headers = sr.headers,
                                .n_headers = sr.n_headers,
                                .body = body.p,
                                .body_len = body.len,
                                .timeout_ms = timeout_ms};
    /* Headers and URL are copied by http_submit; the body is the caller's or p's. */
    e = http_submit(c->http, &req, on_call_done, p);
    signed_req_clean_up(&sr);
    if (e != HAF_OK)
        return e;
    p->next = c->pending;
    c->pending = p;
    return HAF_OK;
}

enum haf_err
cwl_call_submit(struct cwl_client *c, const char *op, struct span body, bool copy_body,
                long timeout_ms, cwl_answer_fn answer, void *arg, char *why, size_t why_len)
{
    struct call_ctx *p;
    enum haf_err e;

    if (c == NULL || op == NULL || answer == NULL || body.p == NULL)
        return HAF_EINVAL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return HAF_ENOMEM;
    p->answer = answer;
    p->arg = arg;
    e = call_submit(c, op, body, copy_body, timeout_ms, p, why, why_len);
    if (e != HAF_OK) {
        free(p->body);
        free(p);
    }
    return e;
}

enum haf_err
cwl_put_log_events_submit(struct cwl_client *c, struct span body, cwl_put_done_fn done, void *arg)
{
    struct call_ctx *p;
    enum haf_err e;

    if (c == NULL || done == NULL || body.p == NULL || body.len == 0)
        return HAF_EINVAL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return HAF_ENOMEM;
    p->done = done;
    p->arg = arg;
    e = call_submit(c, "PutLogEvents", body, false, 0, p, NULL, 0);
    if (e != HAF_OK)
        free(p);
    return e;
}

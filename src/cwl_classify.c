/*
 * cwl_classify.c: what a CloudWatch Logs answer means (cwl_classify), pure and fed only untrusted
 * input: the status, the X-Amzn-Errortype header and the body. The decisions a reader may question
 * are listed atop cwl.c; the per-class repairs the client applies are cwl_rules.c's. The error type
 * is sanitized per Smithy (cut at the first ':', keep what follows the first '#') and messages are
 * copied as printable ASCII only, bounded. Nothing here does I/O or logs.
 */
#include "cwl_internal.h"

#include "haf/printable.h"
#include "haf/xml_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

void
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

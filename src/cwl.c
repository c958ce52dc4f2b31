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
 * Classification lives in cwl_classify.c, the blocking calls and GetLogEvents pages in
 * cwl_call.c; this file keeps the client, endpoints, signing and submitting.
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
void
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

void
signed_req_clean_up(struct signed_req *s)
{
    buf_wipe(&s->authorization);
    if (s->token) {
        OPENSSL_cleanse(s->token, strlen(s->token));
        free(s->token);
        s->token = NULL;
    }
}

enum haf_err
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

/* The POST that carries a signed call: URL and headers borrowed from c and sr, the body from the
 * caller; timeout_ms 0 is the HTTP client's default. */
struct http_request
signed_req_post(const struct cwl_client *c, const struct signed_req *sr, struct span body,
                long timeout_ms)
{
    return (struct http_request){.method = "POST",
                                 .url = c->url,
                                 .headers = sr->headers,
                                 .n_headers = sr->n_headers,
                                 .body = body.p,
                                 .body_len = body.len,
                                 .timeout_ms = timeout_ms};
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
    req = signed_req_post(c, &sr, body, timeout_ms);
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

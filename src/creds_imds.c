/*
 * creds_imds.c: EC2 instance metadata (IMDSv2 only): the instance profile's credentials, and the
 * region and instance id for the daemon.
 *
 * A session token (PUT /latest/api/token) is cached in the provider until shortly before its TTL
 * and fetched again after a 401. IMDSv1 is not used: a token PUT that fails means no IMDS. The
 * endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT, else 169.254.169.254) never goes through a proxy,
 * and every call has a 1 s timeout so a missing IMDS cannot wedge the daemon.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds_internal.h"
#include "haf/url.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_TTL_S      21600
#define IMDS_TIMEOUT_MS       1000

/* ---- IMDSv2 ---- */

/* The endpoint without trailing slashes: AWS_EC2_METADATA_SERVICE_ENDPOINT under url.h's grammar
 * (http or https, no userinfo, fits in out), else the link-local default. */
static enum haf_err
imds_endpoint(char *out, size_t len, struct buf *why)
{
    const char *ep = creds_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    struct url u;
    size_t n;

    if (ep == NULL)
        ep = IMDS_DEFAULT_ENDPOINT;
    n = strlen(ep);
    if (n >= len || url_parse(span_make(ep, n), &u, NULL) != HAF_OK || u.has_userinfo ||
        !(url_scheme_is(&u, "http") || url_scheme_is(&u, "https"))) {
        creds_why(why, "imds: AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http(s) URL without "
                       "user information");
        return HAF_ECREDS;
    }
    memcpy(out, ep, n + 1);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    return HAF_OK;
}

static bool
imds_disabled(void)
{
    const char *v = getenv("AWS_EC2_METADATA_DISABLED");

    return v != NULL && creds_ascii_ieq(span_cstr(v), "true");
}

/* PUT /latest/api/token. */
static enum haf_err
imds_fetch_token(struct http_client *http, const char *ep, char **token, struct buf *why)
{
    char url[512];
    struct http_header h[] = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
    struct http_response resp;
    struct creds_call c = {.method = "PUT",
                           .url = url,
                           .headers = h,
                           .n_headers = 1,
                           .timeout_ms = IMDS_TIMEOUT_MS,
                           .no_proxy = true};
    struct span t;
    enum haf_err e;

    snprintf(url, sizeof(url), "%s/latest/api/token", ep);
    http_response_init(&resp);
    if ((e = creds_http_call(http, &c, &resp, why, "imds: token")) != HAF_OK)
        goto out;
    if (resp.status != 200) {
        creds_why(why, "imds: token request answered HTTP %ld", resp.status);
        e = HAF_ECREDS;
        goto out;
    }
    t = span_trim(buf_span(&resp.body));
    if (t.len == 0 || t.len > 4096) {
        creds_why(why, "imds: malformed token");
        e = HAF_ECREDS;
        goto out;
    }
    for (size_t i = 0; i < t.len; i++) {
        if ((unsigned char)t.p[i] <= 0x20 || (unsigned char)t.p[i] >= 0x7f) {
            creds_why(why, "imds: malformed token");
            e = HAF_ECREDS;
            goto out;
        }
    }
    *token = creds_dup_span(t);
    e = *token ? HAF_OK : HAF_ENOMEM;
out:
    creds_response_wipe(&resp);
    return e;
}

/* GET path with the token; HAF_EAGAIN on 401 (token no longer valid). */
static enum haf_err
imds_get(struct http_client *http, const char *ep, const char *token, const char *path,
         struct http_response *resp, struct buf *why)
{
    char url[1024];
    struct http_header h[] = {{"X-aws-ec2-metadata-token", token}};
    struct creds_call c = {.method = "GET",
                           .url = url,
                           .headers = h,
                           .n_headers = 1,
                           .timeout_ms = IMDS_TIMEOUT_MS,
                           .no_proxy = true};
    enum haf_err e;

    snprintf(url, sizeof(url), "%s%s", ep, path);
    if ((e = creds_http_call(http, &c, resp, why, "imds")) != HAF_OK)
        return e;
    if (resp->status == 401)
        return HAF_EAGAIN;
    if (resp->status == 404)
        return HAF_ENOTFOUND;
    if (resp->status != 200) {
        creds_why(why, "imds: %s answered HTTP %ld", path, resp->status);
        return HAF_ECREDS;
    }
    return HAF_OK;
}

/* A short IMDS text value (role name, region, instance id): first line, trimmed,
 * [A-Za-z0-9+=,.@_-]. */
static enum haf_err
imds_word(struct http_response *resp, char **out)
{
    struct span s = buf_span(&resp->body);
    const char *nl = s.len ? memchr(s.p, '\n', s.len) : NULL;

    if (nl)
        s.len = (size_t)(nl - s.p);
    s = span_trim(s);
    if (s.len == 0 || s.len > 128)
        return HAF_EPARSE;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!creds_is_alnum(c) && (c == 0 || !strchr("+=,.@_-", c)))
            return HAF_EPARSE;
    }
    *out = creds_dup_span(s);
    return *out ? HAF_OK : HAF_ENOMEM;
}

/*
 * GET an IMDS path, fetching a token first when we have none (or it expired), and once more
 * after a 401. token/expiry may be NULL (no cache: a fresh token for this call).
 */
static enum haf_err
imds_request(struct http_client *http, char **token_cache, int64_t *expiry_ms, int64_t now_ms,
             const char *path, struct http_response *resp, struct buf *why)
{
    char ep[256], *local = NULL, **token = token_cache ? token_cache : &local;
    enum haf_err e = HAF_ECREDS;

    if (imds_endpoint(ep, sizeof(ep), why) != HAF_OK)
        return HAF_ECREDS;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*token != NULL && expiry_ms && now_ms >= *expiry_ms) {
            creds_secret_free(*token);
            *token = NULL;
        }
        if (*token == NULL) {
            if ((e = imds_fetch_token(http, ep, token, why)) != HAF_OK)
                break;
            if (expiry_ms)
                *expiry_ms = now_ms + (IMDS_TOKEN_TTL_S - 60) * 1000LL;
        }
        creds_response_wipe(resp);
        e = imds_get(http, ep, *token, path, resp, why);
        if (e != HAF_EAGAIN)
            break;
        creds_secret_free(*token); /* 401: the token is no longer valid */
        *token = NULL;
        if (attempt == 1)
            creds_why(why, "imds: token refused twice");
    }
    if (e == HAF_EAGAIN)
        e = HAF_ECREDS;
    creds_secret_free(local);
    return e;
}

enum haf_err
creds_provider_imds(struct creds_provider *p, int64_t now_ms, struct aws_creds *out,
                    struct buf *why)
{
    struct http_response resp;
    struct creds_doc d = {0};
    char *role = NULL, path[256], jwhy[160] = "";
    enum haf_err e;

    if (imds_disabled()) {
        creds_why(why, "imds: disabled (AWS_EC2_METADATA_DISABLED)");
        return HAF_ENOTFOUND;
    }
    http_response_init(&resp);
    e = imds_request(p->http, &p->imds_token, &p->imds_token_expiry_ms, now_ms,
                     "/latest/meta-data/iam/security-credentials/", &resp, why);
    if (e == HAF_ENOTFOUND)
        creds_why(why, "imds: no instance profile");
    if (e != HAF_OK)
        goto out;
    if ((e = imds_word(&resp, &role)) != HAF_OK) {
        creds_why(why, "imds: malformed role name");
        goto out;
    }
    snprintf(path, sizeof(path), "/latest/meta-data/iam/security-credentials/%s", role);
    e = imds_request(p->http, &p->imds_token, &p->imds_token_expiry_ms, now_ms, path, &resp, why);
    if (e == HAF_ENOTFOUND)
        creds_why(why, "imds: role %s has no credentials", role);
    if (e != HAF_OK)
        goto out;
    if ((e = creds_parse_json(buf_span(&resp.body), &d, jwhy, sizeof(jwhy))) != HAF_OK) {
        creds_why(why, "imds: %s", jwhy);
        goto out;
    }
    creds_doc_take(&d, out, "imds");
out:
    free(role);
    creds_doc_clean_up(&d);
    creds_response_wipe(&resp);
    return e;
}

/* ---- region and instance id ---- */

static enum haf_err
imds_value(struct http_client *http, const char *path, char **value)
{
    struct http_response resp;
    struct buf why;
    enum haf_err e;

    if (imds_disabled())
        return HAF_ENOTFOUND;
    buf_init(&why, CREDS_WHY_MAX);
    http_response_init(&resp);
    e = imds_request(http, NULL, NULL, 0, path, &resp, &why);
    if (e == HAF_OK)
        e = imds_word(&resp, value);
    else if (e != HAF_ENOTFOUND && e != HAF_ENOMEM)
        e = HAF_EHTTP;
    creds_response_wipe(&resp);
    buf_clean_up(&why);
    return e;
}

enum haf_err
creds_resolve_region(struct http_client *http, char **region)
{
    const char *r = creds_env("AWS_REGION");

    if (region == NULL)
        return HAF_EINVAL;
    if (r == NULL)
        r = creds_env("AWS_DEFAULT_REGION");
    if (r != NULL) {
        *region = strdup(r);
        return *region ? HAF_OK : HAF_ENOMEM;
    }
    return imds_value(http, "/latest/meta-data/placement/region", region);
}

enum haf_err
creds_imds_instance_id(struct http_client *http, char **id)
{
    if (id == NULL)
        return HAF_EINVAL;
    return imds_value(http, "/latest/meta-data/instance-id", id);
}

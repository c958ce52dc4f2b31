/*
 * creds_sts.c: AWS STS: AssumeRoleWithWebIdentity (a web identity token file, unsigned request)
 * and AssumeRole on top of the chain's credentials (config role_arn, signed with them).
 *
 * The endpoint is the config's sts_endpoint, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, else the
 * regional one, held to url.h's endpoint rule (plain http only to loopback, which never goes
 * through a proxy). The token file is re-read at every refresh: orchestrators rotate it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds_internal.h"
#include "haf/sigv4.h"
#include "haf/url.h"

#define STS_TIMEOUT_MS 5000
#define STS_VERSION    "2011-06-15"

/* ---- STS ---- */

static const char *
sts_region(const struct creds_provider *p)
{
    const char *r = p->region ? p->region : creds_env("AWS_REGION");

    if (r == NULL)
        r = creds_env("AWS_DEFAULT_REGION");
    return r;
}

/* opts, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, else the regional (or global) STS endpoint. */
static enum haf_err
sts_endpoint(const struct creds_provider *p, struct buf *url)
{
    const char *ep = p->sts_endpoint;
    const char *region = sts_region(p);

    if (ep == NULL)
        ep = creds_env("AWS_ENDPOINT_URL_STS");
    if (ep == NULL)
        ep = creds_env("AWS_ENDPOINT_URL");
    if (ep != NULL)
        return buf_adds(url, ep);
    if (region != NULL)
        return buf_addf(url, "https://sts.%s.amazonaws.com/", region);
    return buf_adds(url, "https://sts.amazonaws.com/");
}

/* POST a form to STS (signed with `base` when not NULL) and parse the credentials. */
static enum haf_err
sts_call(struct creds_provider *p, const char *action, struct buf *form,
         const struct aws_creds *base, int64_t now_ms, struct creds_doc *out, struct buf *why)
{
    struct buf url, host;
    struct url u;
    const char *uwhy = NULL;
    struct http_header h[6];
    struct http_response resp;
    struct sigv4_signer *signer = NULL;
    struct sigv4_result sres;
    char code[96];
    const char *region = sts_region(p);
    struct creds_call c = {.method = "POST", .headers = h, .timeout_ms = STS_TIMEOUT_MS};
    size_t n = 0;
    enum haf_err e;

    memset(&sres, 0, sizeof(sres));
    buf_init(&url, 4096);
    buf_init(&host, 1024);
    http_response_init(&resp);
    if ((e = sts_endpoint(p, &url)) != HAF_OK)
        goto out;
    if (url_parse(buf_span(&url), &u, &uwhy) != HAF_OK || url_check_endpoint(&u, &uwhy) != HAF_OK) {
        creds_why(why, "%s: STS endpoint must be an https URL (http only for loopback): %s", action,
                  uwhy);
        e = HAF_ECONFIG;
        goto out;
    }
    if ((e = buf_add(&host, u.authority.p, u.authority.len)) != HAF_OK)
        goto out;
    h[n++] = (struct http_header){"Host", buf_cstr(&host)};
    h[n++] =
        (struct http_header){"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"};
    if (base != NULL) {
        struct sigv4_header sh[] = {{"Host", buf_cstr(&host)}, {"Content-Type", h[1].value}};
        struct sigv4_creds sc = {base->access_key_id, base->secret_access_key, base->session_token};
        struct buf path;
        buf_init(&path, 4096);
        if (u.path.len > 0)
            e = buf_add(&path, u.path.p, u.path.len);
        else
            e = buf_addc(&path, '/');
        if (e == HAF_OK) {
            struct sigv4_request sreq = {.method = "POST",
                                         .path = buf_cstr(&path),
                                         .headers = sh,
                                         .n_headers = 2,
                                         .body = form->p,
                                         .body_len = form->len};
            signer = sigv4_signer_new();
            e = signer ? sigv4_sign(signer, &sc, region ? region : "us-east-1", "sts",
                                    (time_t)(now_ms / 1000), &sreq, &sres)
                       : HAF_ENOMEM;
        }
        buf_clean_up(&path);
        if (e != HAF_OK) {
            creds_why(why, "%s: cannot sign the request (%s)", action, haf_err_str(e));
            goto out;
        }
        h[n++] = (struct http_header){"X-Amz-Date", sres.amz_date};
        h[n++] = (struct http_header){"Authorization", buf_cstr(&sres.authorization)};
        if (base->session_token && base->session_token[0])
            h[n++] = (struct http_header){"X-Amz-Security-Token", base->session_token};
    }
    c.url = buf_cstr(&url);
    c.n_headers = n;
    c.body = form->p;
    c.body_len = form->len;
    c.no_proxy = url_host_is_loopback(&u);
    if ((e = creds_http_call(p->http, &c, &resp, why, action)) != HAF_OK)
        goto out;
    e = creds_parse_sts_xml(buf_span(&resp.body), out, code, sizeof(code));
    if (e == HAF_EREJECTED) {
        creds_why(why, "%s: STS answered HTTP %ld %s", action, resp.status,
                  code[0] ? code : "(no error code)");
    } else if (e != HAF_OK || resp.status != 200) {
        creds_why(why, "%s: STS answered HTTP %ld with no usable credentials", action, resp.status);
        creds_doc_clean_up(out);
        if (e == HAF_OK)
            e = HAF_EREJECTED;
    }
out:
    sigv4_result_clean_up(&sres);
    sigv4_signer_free(signer);
    creds_response_wipe(&resp);
    buf_clean_up(&url);
    buf_clean_up(&host);
    return e;
}

/* Action, Version, RoleArn and RoleSessionName: how every STS form we send starts. */
static enum haf_err
sts_form_start(struct buf *form, const char *action, const char *role, const char *session)
{
    enum haf_err e = creds_form_add(form, "Action", action);

    if (e == HAF_OK)
        e = creds_form_add(form, "Version", STS_VERSION);
    if (e == HAF_OK)
        e = creds_form_add(form, "RoleArn", role);
    if (e == HAF_OK)
        e = creds_form_add(form, "RoleSessionName", session ? session : CREDS_DEFAULT_SESSION_NAME);
    return e;
}

/* sts_call, then the answer's credentials into *out as `source`; any failure is HAF_ECREDS. */
static enum haf_err
sts_fetch(struct creds_provider *p, const char *source, struct buf *form,
          const struct aws_creds *base, int64_t now_ms, struct aws_creds *out, struct buf *why)
{
    struct creds_doc d = {0};

    if (sts_call(p, source, form, base, now_ms, &d, why) != HAF_OK) {
        creds_doc_clean_up(&d);
        return HAF_ECREDS;
    }
    creds_doc_take(&d, out, source);
    return HAF_OK;
}

enum haf_err
creds_provider_web_identity(struct creds_provider *p, int64_t now_ms, struct aws_creds *out,
                            struct buf *why)
{
    const char *file = creds_env("AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *role = creds_env("AWS_ROLE_ARN");
    const char *session = creds_env("AWS_ROLE_SESSION_NAME");
    struct buf tok, form;
    const char *reason = NULL;
    enum haf_err e;

    if (file == NULL && role == NULL)
        return HAF_ENOTFOUND;
    if (file == NULL || role == NULL) {
        creds_why(why,
                  "web-identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN must both be set");
        return HAF_ECREDS;
    }
    buf_init(&form, 64u << 10);
    /* Re-read at every refresh: the orchestrator rotates the token file. */
    e = creds_read_file(file, CREDS_TOKEN_FILE_MAX_BYTES, &tok, &reason);
    if (e != HAF_OK) {
        creds_why(why, "web-identity: cannot read %s (%s)", file, reason ? reason : haf_err_str(e));
        e = HAF_ECREDS;
        goto out;
    }
    {
        struct span t = span_trim(buf_span(&tok));
        char *token = creds_dup_span(t);
        if (token == NULL || t.len == 0 || memchr(t.p, '\0', t.len)) {
            creds_secret_free(token);
            creds_why(why, "web-identity: token file %s is empty or malformed", file);
            e = HAF_ECREDS;
            buf_wipe(&tok);
            goto out;
        }
        e = sts_form_start(&form, "AssumeRoleWithWebIdentity", role, session);
        if (e == HAF_OK)
            e = creds_form_add(&form, "WebIdentityToken", token);
        creds_secret_free(token);
        buf_wipe(&tok);
        if (e != HAF_OK)
            goto out;
    }
    e = sts_fetch(p, "web-identity", &form, NULL, now_ms, out, why);
out:
    buf_wipe(&form);
    return e;
}

enum haf_err
creds_assume_role(struct creds_provider *p, const struct aws_creds *base, int64_t now_ms,
                  struct aws_creds *out, struct buf *why)
{
    struct buf form;
    enum haf_err e;

    buf_init(&form, 64u << 10);
    e = sts_form_start(&form, "AssumeRole", p->role_arn, p->session_name);
    if (e == HAF_OK && p->external_id)
        e = creds_form_add(&form, "ExternalId", p->external_id);
    if (e == HAF_OK)
        e = creds_form_add(&form, "DurationSeconds", "3600");
    if (e != HAF_OK)
        goto out;
    e = sts_fetch(p, "assume-role", &form, base, now_ms, out, why);
out:
    buf_clean_up(&form);
    return e;
}

/*
 * creds_container.c: container credentials: the ECS task role (AWS_CONTAINER_CREDENTIALS_
 * RELATIVE_URI on the agent's 169.254.170.2) and EKS Pod Identity or any full URI
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI) with an optional authorization token (file or variable).
 *
 * A full URI must be https, or plain http to a loopback host (url.h's rule) or one of the agents'
 * link-local addresses; plain http never goes through a proxy.
 */
#include <stdlib.h>
#include <string.h>

#include "creds_internal.h"
#include "haf/url.h"

#define CONTAINER_HOST       "http://169.254.170.2"
#define CONTAINER_TIMEOUT_MS 2000

/* ---- URLs ---- */

/* The ECS and EKS Pod Identity agents' link-local addresses: plain http to them is the design
 * of those services (and they never go through a proxy). */
static bool
container_host_is_agent(const struct url *u)
{
    return span_eq(u->host, SPAN_LIT("169.254.170.2")) ||
           span_eq(u->host, SPAN_LIT("169.254.170.23")) ||
           (u->ipv6 && span_eq(u->host, SPAN_LIT("fd00:ec2::23")));
}

bool
creds_container_url_allowed(const char *url)
{
    struct url u;

    if (url == NULL || url_parse(span_cstr(url), &u, NULL) != HAF_OK || u.has_userinfo)
        return false;
    if (url_scheme_is(&u, "https"))
        return true;
    return url_scheme_is(&u, "http") && (url_host_is_loopback(&u) || container_host_is_agent(&u));
}

/* ---- container (ECS, EKS Pod Identity) ---- */

enum haf_err
creds_provider_container(struct creds_provider *p, struct aws_creds *out, struct buf *why)
{
    const char *rel = creds_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = creds_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *tok_file = creds_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tok_env = creds_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    struct buf url, tok;
    const char *reason = NULL;
    struct http_response resp;
    struct http_header h[1];
    struct creds_doc d = {0};
    struct url u;
    char jwhy[160] = "";
    struct creds_call c = {.method = "GET", .headers = h, .timeout_ms = CONTAINER_TIMEOUT_MS};
    enum haf_err e = HAF_ENOTFOUND;

    buf_init(&url, 4096);
    buf_init(&tok, CREDS_TOKEN_FILE_MAX_BYTES);
    http_response_init(&resp);
    if (rel == NULL && full == NULL)
        goto out;
    if (rel != NULL) {
        if (rel[0] != '/' || buf_addf(&url, "%s%s", CONTAINER_HOST, rel) != HAF_OK) {
            creds_why(why, "container: malformed AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
            e = HAF_ECREDS;
            goto out;
        }
    } else if (!creds_container_url_allowed(full)) {
        creds_why(why, "container: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback, "
                       "169.254.170.2 or 169.254.170.23 address");
        e = HAF_ECREDS;
        goto out;
    } else if (buf_adds(&url, full) != HAF_OK) {
        e = HAF_ENOMEM;
        goto out;
    }
    if (url_parse(buf_span(&url), &u, NULL) != HAF_OK) {
        creds_why(why, "container: malformed credentials URI");
        e = HAF_ECREDS;
        goto out;
    }
    c.no_proxy = !url_scheme_is(&u, "https");
    if (tok_file != NULL) {
        e = creds_read_file(tok_file, CREDS_TOKEN_FILE_MAX_BYTES, &tok, &reason);
        if (e != HAF_OK) {
            creds_why(why, "container: cannot read %s (%s)", tok_file,
                      reason ? reason : haf_err_str(e));
            e = HAF_ECREDS;
            goto out;
        }
    } else if (tok_env != NULL && buf_adds(&tok, tok_env) != HAF_OK) {
        e = HAF_ENOMEM;
        goto out;
    }
    if (tok.len > 0) {
        struct span t = span_trim(buf_span(&tok));
        if (memchr(t.p, '\r', t.len) || memchr(t.p, '\n', t.len) || memchr(t.p, '\0', t.len)) {
            creds_why(why, "container: authorization token contains CR, LF or NUL");
            e = HAF_ECREDS;
            goto out;
        }
        memmove(tok.p, t.p, t.len);
        tok.len = t.len;
        tok.p[tok.len] = '\0';
        h[0] = (struct http_header){"Authorization", buf_cstr(&tok)};
        c.n_headers = 1;
    }
    c.url = buf_cstr(&url);
    if ((e = creds_http_call(p->http, &c, &resp, why, "container")) != HAF_OK) {
        e = HAF_ECREDS;
        goto out;
    }
    if (resp.status != 200) {
        creds_why(why, "container: endpoint answered HTTP %ld", resp.status);
        e = HAF_ECREDS;
        goto out;
    }
    if ((e = creds_parse_json(buf_span(&resp.body), &d, jwhy, sizeof(jwhy))) != HAF_OK) {
        creds_why(why, "container: %s", jwhy);
        e = HAF_ECREDS;
        goto out;
    }
    creds_doc_take(&d, out, "container");
out:
    creds_doc_clean_up(&d);
    creds_response_wipe(&resp);
    buf_clean_up(&url);
    buf_wipe(&tok);
    return e;
}

/*
 * endpoint.c: the CloudWatch Logs endpoint's sources in order, each held to url.h's rule.
 *
 * Before this file, the config file's endpoint was checked strictly while AWS_ENDPOINT_URL_LOGS
 * and AWS_ENDPOINT_URL were checked by prefix tests that took http://localhost.attacker.example/
 * for loopback, and a valid "HTTPS://" endpoint passed one parser and failed another without a
 * word. Now every source passes through url_parse and url_check_endpoint, the URL handed on is
 * the canonical form every later parser agrees on, and a refusal says which source was refused
 * and why, with the URL shown only through url_redact (no password from a userinfo reaches a
 * log).
 */
#include "haf/endpoint.h"

#include <stdlib.h>
#include <string.h>

#include "haf/cwl.h"
#include "haf/url.h"

static const char *
endpoint_env(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* url_parse and url_check_endpoint; a refusal is worded into why. */
static enum haf_err
endpoint_parse(const char *from, const char *text, struct url *u, struct buf *why)
{
    const char *reason = NULL;
    enum haf_err e = url_parse(span_cstr(text), u, &reason);

    if (e == HAF_OK)
        e = url_check_endpoint(u, &reason);
    if (e == HAF_OK)
        return HAF_OK;
    if ((e = buf_addf(why, "endpoint from %s (", from)) == HAF_OK &&
        (e = url_redact(span_cstr(text), why)) == HAF_OK)
        e = buf_addf(why, "): %s", reason);
    return e == HAF_OK ? HAF_ECONFIG : e;
}

enum haf_err
endpoint_check(const char *from, const char *text, struct buf *why)
{
    struct url u;

    return endpoint_parse(from, text, &u, why);
}

enum haf_err
endpoint_resolve(const char *configured, const char *region, char **out, const char **source,
                 struct buf *why)
{
    const char *text = configured, *from = "config";
    char *fallback = NULL;
    struct url u;
    struct buf canon;
    enum haf_err e;

    buf_init(&canon, 0);
    if (text == NULL && (text = endpoint_env("AWS_ENDPOINT_URL_LOGS")) != NULL)
        from = "AWS_ENDPOINT_URL_LOGS";
    else if (text == NULL && (text = endpoint_env("AWS_ENDPOINT_URL")) != NULL)
        from = "AWS_ENDPOINT_URL";
    if (text == NULL) {
        from = "region";
        if (region == NULL) {
            e = HAF_ENOTFOUND;
            goto out;
        }
        fallback = cwl_default_endpoint(region);
        if (fallback == NULL) {
            e = buf_adds(why, "no CloudWatch Logs endpoint for that region name");
            e = e == HAF_OK ? HAF_ECONFIG : e;
            goto out;
        }
        text = fallback;
    }
    e = endpoint_parse(from, text, &u, why);
    if (e != HAF_OK)
        goto out;
    e = url_format(&u, &canon);
    if (e != HAF_OK)
        goto out;
    *out = canon.p;
    canon.p = NULL;
    *source = from;
out:
    buf_clean_up(&canon);
    free(fallback);
    return e;
}

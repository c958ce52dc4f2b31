/*
 * creds.c: the AWS credential provider and its chain (see creds.h). One file per source, as in
 * aws-c-auth: creds_profile.c (environment, shared files), creds_sts.c (web identity, AssumeRole),
 * creds_container.c (ECS, EKS Pod Identity), creds_imds.c (EC2 IMDSv2); the pure document
 * parsers in creds_doc.c; the plumbing they share in creds_io.c.
 *
 * Order, first that yields credentials wins, re-run at every refresh so rotated files and new
 * environments are picked up: environment; shared config and credentials files (profile);
 * web identity (STS AssumeRoleWithWebIdentity, unsigned, the token file re-read every time);
 * container credentials (ECS task role, EKS Pod Identity); EC2 IMDSv2. With a role_arn, the
 * result is only the base for an STS AssumeRole signed with it (cross-account delivery).
 *
 * Invariants:
 * - The secret key, session token, IMDS token and container authorization token live in heap
 *   strings that are wiped (OPENSSL_cleanse) before they are freed, response bodies that carried
 *   them too. No secret reaches `why`: it names sources, files, HTTP statuses and the access key
 *   id at most. Low-level: this module never logs.
 * - Every network call has a short timeout (IMDS 1 s, container 2 s, STS 5 s) and link-local
 *   endpoints never go through a proxy, so creds_get cannot wedge the daemon for long.
 * - Refresh: temporary credentials are replaced CREDS_DEFAULT_MARGIN_MS (or opts margin) before
 *   they expire, or at half their remaining lifetime when that is sooner (60-second credentials
 *   refresh after ~30 s). A failed refresh keeps credentials that have not expired, and is
 *   retried after a pause (a quarter of the remaining lifetime, 1..60 s); creds_invalidate()
 *   forces the next creds_get to refresh at once.
 * - Documents are untrusted: JSON through jansson (bounded size), XML and INI through bounded
 *   scanners of our own on spans. No INI library: the AWS shared-file dialect is small
 *   (sections, key = value, comments, indented sub-keys we skip), the available libraries
 *   (inih and kin) use fixed line buffers that silently truncate or need callbacks on C strings
 *   that stop at a NUL, and none is packaged with the bounds we want. No XML library either: we
 *   read four leaf elements of a fixed STS answer, which a scanner does in a page.
 *
 * Trade-offs: IMDSv1 is not used (a token PUT that fails means no IMDS credentials); profile
 * role chaining (role_arn/source_profile inside the files), SSO and credential_process are not
 * supported: the config's role_arn covers the cross-account case.
 */
#include "haf/creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds_internal.h"
#include "haf/buf.h"
#include "haf/http_replay.h"

#define RETRY_MIN_MS        1000
#define RETRY_MAX_MS        60000
#define NO_CREDS_RETRY_MS   5000
#define CREDS_CLOCK_STEP_MS 2000 /* a clock that went back further than this stepped */

static void
copy_why(char *dst, size_t len, const char *src)
{
    if (dst == NULL || len == 0)
        return;
    snprintf(dst, len, "%s", src);
}

/* ---- refresh schedule ---- */

int64_t
creds_refresh_at(int64_t now_ms, int64_t expiration_ms, int64_t margin_ms)
{
    int64_t half;

    if (expiration_ms == 0)
        return INT64_MAX;
    if (margin_ms <= 0)
        margin_ms = CREDS_DEFAULT_MARGIN_MS;
    if (expiration_ms <= now_ms)
        return now_ms;
    half = (expiration_ms - now_ms) / 2;
    return expiration_ms - (half < margin_ms ? half : margin_ms);
}

/* ---- the chain ---- */

/* The base chain. HAF_OK with *out set, or HAF_ECREDS with why filled. */
static enum haf_err
chain_resolve(struct creds_provider *p, int64_t now_ms, struct aws_creds *out, struct buf *why)
{
    enum haf_err e;

    /* A profile named in our own config is a choice: environment keys must not override it. */
    if (p->profile == NULL) {
        e = creds_provider_env(out, now_ms, why);
        if (e != HAF_ENOTFOUND)
            return e == HAF_OK ? HAF_OK : HAF_ECREDS;
    }
    e = creds_provider_profile(p, out, why);
    if (e != HAF_ENOTFOUND)
        return e == HAF_OK ? HAF_OK : HAF_ECREDS;
    e = creds_provider_web_identity(p, now_ms, out, why);
    if (e != HAF_ENOTFOUND)
        return e == HAF_OK ? HAF_OK : HAF_ECREDS;
    /* ECS and IMDS are exclusive: a configured container endpoint is the answer, or the error. */
    e = creds_provider_container(p, out, why);
    if (e != HAF_ENOTFOUND)
        return e == HAF_OK ? HAF_OK : HAF_ECREDS;
    e = creds_provider_imds(p, now_ms, out, why);
    if (e == HAF_OK)
        return HAF_OK;
    if (why->len == 0)
        creds_why(why, "no credentials found");
    return HAF_ECREDS;
}

static enum haf_err
resolve(struct creds_provider *p, int64_t now_ms, struct aws_creds *out, struct buf *why)
{
    struct aws_creds base = {0};
    enum haf_err e = chain_resolve(p, now_ms, &base, why);

    if (e != HAF_OK || p->role_arn == NULL) {
        if (e == HAF_OK)
            *out = base;
        else
            aws_creds_clean_up(&base);
        return e;
    }
    e = creds_assume_role(p, &base, now_ms, out, why);
    if (e != HAF_OK)
        creds_why(why, "base credentials from %s (access key id %s)", base.source,
                  base.access_key_id);
    aws_creds_clean_up(&base);
    return e;
}

/* ---- the provider ---- */

struct creds_provider *
creds_provider_new(const struct creds_opts *opts, struct http_client *http)
{
    struct creds_provider *p = calloc(1, sizeof(*p));
    struct creds_opts none = {0};

    if (p == NULL)
        return NULL;
    if (opts == NULL)
        opts = &none;
    p->http = http;
    p->margin_ms = opts->refresh_margin_ms;
    p->profile = creds_dup_opt(opts->profile);
    p->role_arn = creds_dup_opt(opts->role_arn);
    p->external_id = creds_dup_opt(opts->external_id);
    p->session_name = creds_dup_opt(opts->session_name);
    p->sts_endpoint = creds_dup_opt(opts->sts_endpoint);
    p->region = creds_dup_opt(opts->region);
    if ((opts->profile && !p->profile) || (opts->role_arn && !p->role_arn) ||
        (opts->external_id && !p->external_id) || (opts->session_name && !p->session_name) ||
        (opts->sts_endpoint && !p->sts_endpoint) || (opts->region && !p->region)) {
        creds_provider_free(p);
        return NULL;
    }
    p->refresh_at_ms = INT64_MIN;
    return p;
}

void
creds_provider_free(struct creds_provider *p)
{
    if (p == NULL)
        return;
    aws_creds_clean_up(&p->cur);
    creds_secret_free(p->imds_token);
    http_replay_free(p->replay);
    free(p->profile);
    free(p->role_arn);
    free(p->external_id);
    free(p->session_name);
    free(p->sts_endpoint);
    free(p->region);
    free(p);
}

enum haf_err
creds_set_async(struct creds_provider *p, bool on)
{
    if (p == NULL)
        return HAF_EINVAL;
    if (on && p->replay == NULL && (p->replay = http_replay_new()) == NULL)
        return HAF_ENOMEM;
    if (!on) {
        http_replay_free(p->replay);
        p->replay = NULL;
    }
    return HAF_OK;
}

bool
creds_refreshing(const struct creds_provider *p)
{
    return p != NULL && http_replay_busy(p->replay);
}

/* The chain once; under creds_set_async its calls are replayed (http_replay.h): HAF_EAGAIN when
 * a call went out on the multi handle and the chain must run again once it is answered. */
static enum haf_err
resolve_step(struct creds_provider *p, int64_t now_ms, struct aws_creds *out, struct buf *why)
{
    enum haf_err e;

    if (p->replay == NULL)
        return resolve(p, now_ms, out, why);
    http_replay_begin(p->replay, p->http);
    e = resolve(p, now_ms, out, why);
    if (!http_replay_end(p->replay, p->http)) {
        aws_creds_clean_up(out);
        memset(out, 0, sizeof(*out));
        return HAF_EAGAIN;
    }
    return e;
}

/* While a fetch runs: what still works (not expired, not refused by the service), else wait. */
static enum haf_err
creds_while_fetching(struct creds_provider *p, bool usable, const struct aws_creds **out, char *why,
                     size_t why_len)
{
    if (usable && !p->invalidated) {
        *out = &p->cur;
        return HAF_OK;
    }
    copy_why(why, why_len, "credentials are being fetched");
    return HAF_EAGAIN;
}

void
creds_invalidate(struct creds_provider *p)
{
    if (p)
        p->invalidated = true;
}

int64_t
creds_next_refresh_ms(const struct creds_provider *p)
{
    if (p == NULL || !p->have)
        return p && p->retry_at_ms > 0 ? p->retry_at_ms : INT64_MAX;
    if (p->invalidated)
        return 0;
    return p->refresh_at_ms > p->retry_at_ms ? p->refresh_at_ms : p->retry_at_ms;
}

static int64_t
retry_delay_ms(const struct creds_provider *p, int64_t now_ms)
{
    int64_t d;

    if (!p->have)
        return NO_CREDS_RETRY_MS;
    if (p->cur.expiration_ms == 0)
        return RETRY_MAX_MS;
    d = (p->cur.expiration_ms - now_ms) / 4;
    return d < RETRY_MIN_MS ? RETRY_MIN_MS : d > RETRY_MAX_MS ? RETRY_MAX_MS : d;
}

enum haf_err
creds_get(struct creds_provider *p, int64_t now_ms, const struct aws_creds **out, char *why,
          size_t why_len)
{
    struct aws_creds fresh = {0};
    struct buf w;
    bool usable, due, was_invalidated;
    enum haf_err e;

    copy_why(why, why_len, "");
    if (p == NULL || out == NULL)
        return HAF_EINVAL;
    /* The refresh and retry times are wall-clock times (expiry comes as one). When the clock
     * steps back (an NTP correction), they would come that much late: a failed fetch would not be
     * tried again for an hour after an hour's step. Take a step back as "due now" instead. */
    if (now_ms + CREDS_CLOCK_STEP_MS < p->last_now_ms) {
        p->retry_at_ms = 0;
        p->refresh_at_ms = now_ms;
    }
    p->last_now_ms = now_ms;
    usable = p->have && (p->cur.expiration_ms == 0 || now_ms < p->cur.expiration_ms);
    due = p->invalidated || !p->have || now_ms >= p->refresh_at_ms;
    if (!due) {
        *out = &p->cur;
        return HAF_OK;
    }
    if (creds_refreshing(p))
        return creds_while_fetching(p, usable, out, why, why_len);
    if (!p->invalidated && now_ms < p->retry_at_ms) {
        /* A refresh failed a moment ago: do not hammer the endpoint. */
        if (usable) {
            *out = &p->cur;
            return HAF_OK;
        }
        copy_why(why, why_len, p->last_why);
        return HAF_ECREDS;
    }
    was_invalidated = p->invalidated;
    p->invalidated = false;
    buf_init(&w, CREDS_WHY_MAX - 1);
    e = resolve_step(p, now_ms, &fresh, &w);
    if (e == HAF_EAGAIN) {
        buf_clean_up(&w);
        p->invalidated = was_invalidated;
        return creds_while_fetching(p, usable, out, why, why_len);
    }
    if (e == HAF_OK && fresh.expiration_ms != 0 && fresh.expiration_ms <= now_ms) {
        creds_why(&w, "%s: credentials already expired", fresh.source);
        aws_creds_clean_up(&fresh);
        e = HAF_ECREDS;
    }
    if (e == HAF_OK) {
        aws_creds_clean_up(&p->cur);
        p->cur = fresh;
        p->have = true;
        p->refresh_at_ms = creds_refresh_at(now_ms, fresh.expiration_ms, p->margin_ms);
        p->retry_at_ms = 0;
        p->last_why[0] = '\0';
        *out = &p->cur;
        buf_clean_up(&w);
        return HAF_OK;
    }
    snprintf(p->last_why, sizeof(p->last_why), "%s", buf_cstr(&w));
    buf_clean_up(&w);
    p->retry_at_ms = now_ms + retry_delay_ms(p, now_ms);
    copy_why(why, why_len, p->last_why);
    if (usable) {
        /* Keep what still works; `why` tells the caller the refresh failed. */
        *out = &p->cur;
        return HAF_OK;
    }
    return HAF_ECREDS;
}

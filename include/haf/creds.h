/*
 * creds.h: the AWS credential chain, in the order the SDKs use:
 * environment, shared credentials/config files with profiles, web identity (STS, unsigned),
 * ECS/EKS container credentials, EC2 IMDSv2. Optionally STS AssumeRole on top (role_arn).
 *
 * Temporary credentials are refreshed ahead of their Expiration, and at once after
 * creds_invalidate() (ExpiredTokenException). The secret key and session token live only here and
 * are wiped when released; log lines name the access key id and the source at most.
 */
#ifndef HAF_CREDS_H
#define HAF_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/err.h"

struct http_client;

struct aws_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;   /* NULL for long-term keys */
    int64_t expiration_ms; /* 0: does not expire */
    const char *source;    /* "environment", "profile", "web-identity", "container", "imds",
                              "assume-role" */
};

struct creds_opts {
    const char *profile;  /* NULL: AWS_PROFILE, else "default" */
    const char *role_arn; /* NULL: no AssumeRole */
    const char *external_id;
    const char *session_name;  /* NULL: "hsm-audit-forwarder" */
    const char *sts_endpoint;  /* NULL: AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL / regional STS */
    const char *region;        /* for STS */
    int64_t refresh_margin_ms; /* 0: 10 minutes before expiry (or half the lifetime if shorter) */
};

struct creds_provider;

HAF_MUST_USE struct creds_provider *creds_provider_new(const struct creds_opts *opts,
                                                       struct http_client *http);
void creds_provider_free(struct creds_provider *p);

/*
 * Current credentials, fetching or refreshing them when needed (blocking; every network call has
 * a short timeout). *out stays valid until the next creds_get/creds_invalidate/free. When a
 * refresh fails but the old credentials have not expired yet, they are returned (HAF_OK) and
 * `why` says what failed (worth a warning); otherwise `why` is "" on HAF_OK. HAF_ECREDS when no
 * provider yields credentials; `why` (when not NULL, >= 256 bytes) says why. After a failed
 * attempt the chain is not asked again for a short while (1-60 s) unless creds_invalidate() is
 * called. `why` names sources, files, HTTP statuses and access key ids, never a secret.
 * now_ms is wall-clock epoch milliseconds (it is compared with Expiration and used to sign the
 * STS AssumeRole request).
 */
HAF_MUST_USE enum haf_err creds_get(struct creds_provider *p, int64_t now_ms,
                                    const struct aws_creds **out, char *why, size_t why_len);

/*
 * For the event loop: the chain's HTTP calls (IMDS, container, STS) run on the HTTP client's
 * multi handle instead of blocking (http_replay.h), one call per creds_get. While a fetch is
 * under way, creds_get returns the current credentials if they have not expired (and the service
 * has not refused them: creds_invalidate), else HAF_EAGAIN with `why` "credentials are being
 * fetched": the caller signs nothing and asks again once creds_refreshing() is false (the answer
 * wakes the loop). Each call keeps its own timeout (IMDS 1 s, container 2 s, STS 5 s); a failed
 * fetch is retried after the usual 1-60 s. HAF_ENOMEM.
 */
HAF_MUST_USE enum haf_err creds_set_async(struct creds_provider *p, bool on);
/* A call of the chain is in flight on the multi handle. */
bool creds_refreshing(const struct creds_provider *p);

/* Force a refresh at the next creds_get (expired token, unrecognised client). */
void creds_invalidate(struct creds_provider *p);

/* When creds_get should next be called to refresh ahead of expiry; INT64_MAX for never. */
int64_t creds_next_refresh_ms(const struct creds_provider *p);

/* Region from AWS_REGION, AWS_DEFAULT_REGION, else IMDS (placement/region). Caller frees. */
HAF_MUST_USE enum haf_err creds_resolve_region(struct http_client *http, char **region);

/* The EC2 instance id from IMDS (for {instance_id}); caller frees. */
HAF_MUST_USE enum haf_err creds_imds_instance_id(struct http_client *http, char **id);

#endif

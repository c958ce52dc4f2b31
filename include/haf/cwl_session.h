/*
 * cwl_session.h: a CloudWatch Logs client set up from the daemon's configuration (region,
 * endpoint, TLS, proxy, credential chain) for the one-shot commands that read CloudWatch
 * (`report`, `verify`). Resolution is the daemon's: config, then AWS_ENDPOINT_URL_LOGS /
 * AWS_ENDPOINT_URL / the regional default for the endpoint, then AWS_REGION / AWS_DEFAULT_REGION
 * / IMDS for the region. Plain http is refused off loopback (the session token would travel in
 * clear).
 */
#ifndef HAF_CWL_SESSION_H
#define HAF_CWL_SESSION_H

#include <stddef.h>

#include "haf/buf.h"
#include "haf/err.h"

struct haf_config;

struct cwl_session {
    struct http_client *http;
    struct creds_provider *creds;
    struct cwl_client *cwl;
    char *region;
    char *endpoint;
};

/* cfg NULL: environment defaults only. max_response_bytes 0: 16 MiB (a 1 MB page of events whose
 * bytes are all escaped is about 6 MB of JSON). HAF_ECONFIG (no region, a bad or plain-http
 * endpoint off loopback; `why` says which), HAF_ENOMEM. On failure *s is cleaned up. */
HAF_MUST_USE enum haf_err cwl_session_open(struct cwl_session *s, const struct haf_config *cfg,
                                           size_t max_response_bytes, struct buf *why);
/* Accepts a zeroed or already closed session. */
void cwl_session_close(struct cwl_session *s);

#endif

/*
 * endpoint.h: which CloudWatch Logs endpoint the daemon talks to, and the one rule it must pass.
 *
 * The endpoint comes from the first of: the config file's `endpoint`, AWS_ENDPOINT_URL_LOGS,
 * AWS_ENDPOINT_URL, or the region's default (cwl_default_endpoint). Whatever the source, it is
 * held to url_check_endpoint (http or https, no userinfo, plain http only for a loopback host)
 * so the environment cannot do what the config file may not. Pure apart from reading those two
 * environment variables; never logs.
 */
#ifndef HAF_ENDPOINT_H
#define HAF_ENDPOINT_H

#include "haf/buf.h"
#include "haf/err.h"

/*
 * Resolves the endpoint. On success *out is the URL in canonical form (lower-case scheme;
 * caller frees) and *source names where it came from ("config", "AWS_ENDPOINT_URL_LOGS",
 * "AWS_ENDPOINT_URL" or "region"). Returns HAF_ECONFIG with one line appended to why (the source,
 * the URL with any userinfo removed, the reason), HAF_ENOTFOUND when there is no override and
 * region is NULL, or HAF_ENOMEM. Out-params are written only on success.
 */
HAF_MUST_USE enum haf_err endpoint_resolve(const char *configured, const char *region, char **out,
                                           const char **source, struct buf *why);

/* The same rule for any other endpoint text (AWS_ENDPOINT_URL_STS for --check-config): HAF_OK, or
 * HAF_ECONFIG with "endpoint from <from> (<redacted URL>): <reason>" appended to why. */
HAF_MUST_USE enum haf_err endpoint_check(const char *from, const char *text, struct buf *why);

#endif

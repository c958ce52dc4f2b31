/*
 * creds_internal.h: what the credential files share, grouped by the file that defines it.
 *
 * The first part is pure and is also what the unit tests and the fuzz target use: the documents
 * the providers read (creds_doc.c: INI shared files, IMDS/ECS JSON, STS XML, ISO-8601), the
 * refresh schedule (creds.c) and the container URL check (creds_container.c). The second part is
 * the plumbing the providers share (creds_io.c) and the providers themselves, one file each, in
 * the order the chain (creds.c) asks them, as aws-c-auth lays them out.
 */
#ifndef HAF_CREDS_INTERNAL_H
#define HAF_CREDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/buf.h"
#include "haf/creds.h"
#include "haf/err.h"
#include "haf/http.h"
#include "haf/span.h"

#define CREDS_INI_MAX_BYTES        (1u << 20)
#define CREDS_INI_MAX_LINE         4096
#define CREDS_DOC_MAX_BYTES        (64u << 10)
#define CREDS_DEFAULT_MARGIN_MS    (10 * 60 * 1000)
#define CREDS_TOKEN_FILE_MAX_BYTES (16u << 10)
#define CREDS_WHY_MAX              1024
#define CREDS_DEFAULT_SESSION_NAME "hsm-audit-forwarder"

/* ---- creds_doc.c: the pure document parsers ---- */

/* Credentials read from one document; every string owned and wiped by creds_doc_clean_up. */
struct creds_doc {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;   /* NULL when none */
    int64_t expiration_ms; /* 0 when none */
};
void creds_doc_clean_up(struct creds_doc *d);

/* What the shared files say for one profile. */
struct creds_ini {
    bool found; /* a section for the profile exists */
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    char *region;
};
void creds_ini_clean_up(struct creds_ini *ini);

/*
 * Read the keys of `profile` from a shared credentials file (sections "[name]") or, when
 * config_file, a config file (sections "[profile name]", and "[default]" / bare "[name]").
 * Values found here replace those already in *out (so parse the config file first, then the
 * credentials file, whose values win). HAF_ETOOLONG past CREDS_INI_MAX_BYTES or
 * CREDS_INI_MAX_LINE, HAF_EPARSE for a NUL byte; *out keeps what was read before the error.
 */
HAF_MUST_USE enum haf_err creds_parse_ini(struct span file, const char *profile, bool config_file,
                                          struct creds_ini *out);

/*
 * IMDS and container credentials JSON: AccessKeyId, SecretAccessKey, Token, Expiration (all
 * required; a "Code" other than "Success" is a refusal). HAF_EPARSE for anything else; `why`
 * (may be NULL) names the problem, never a value.
 */
HAF_MUST_USE enum haf_err creds_parse_json(struct span body, struct creds_doc *out, char *why,
                                           size_t why_len);

/*
 * STS AssumeRole / AssumeRoleWithWebIdentity response XML: .../Credentials/{AccessKeyId,
 * SecretAccessKey, SessionToken, Expiration}. For an <ErrorResponse>, HAF_EREJECTED and the
 * error Code (letters, digits and '.' only) in `code`; HAF_EPARSE for anything else.
 */
HAF_MUST_USE enum haf_err creds_parse_sts_xml(struct span body, struct creds_doc *out, char *code,
                                              size_t code_len);

/* "2017-05-17T15:09:54Z", with optional fractional seconds and a Z or +hh:mm / -hh:mm offset. */
HAF_MUST_USE bool creds_parse_iso8601(struct span s, int64_t *ms);

/* ---- creds.c: the refresh schedule ---- */

/*
 * When credentials fetched at now_ms and expiring at expiration_ms should be refreshed: margin_ms
 * (0: CREDS_DEFAULT_MARGIN_MS) before expiry, or half the remaining lifetime when that is shorter.
 * INT64_MAX when expiration_ms is 0.
 */
int64_t creds_refresh_at(int64_t now_ms, int64_t expiration_ms, int64_t margin_ms);

/* ---- creds_container.c ---- */

/* A container credentials URL we may call: https, or http to a loopback address, 169.254.170.2 or
 * 169.254.170.23 (EKS Pod Identity), fd00:ec2::23. */
bool creds_container_url_allowed(const char *url);

/* ---- creds_doc.c: small helpers the providers use too ---- */

/* Wipes (OPENSSL_cleanse) and frees a secret string; accepts NULL. */
void creds_secret_free(char *s);
/* A NUL-terminated copy of s (which may hold NULs: callers that care check strlen). */
char *creds_dup_span(struct span s);
/* ASCII case-insensitive equality of a span and a C string. */
bool creds_ascii_ieq(struct span a, const char *b);
bool creds_is_alnum(unsigned char c);
/* A key id of 1..128 alphanumerics, a secret and a token of printable ASCII without spaces. */
bool creds_doc_valid(const struct creds_doc *d);

/* ---- creds_io.c: what the providers share (environment, files, HTTP, why) ---- */

struct creds_provider {
    struct http_client *http;
    char *profile, *role_arn, *external_id, *session_name, *sts_endpoint, *region;
    int64_t margin_ms;

    struct aws_creds cur;
    bool have;
    bool invalidated;
    int64_t refresh_at_ms;
    int64_t retry_at_ms;
    char last_why[CREDS_WHY_MAX];

    char *imds_token; /* creds_imds.c's cache */
    int64_t imds_token_expiry_ms;

    struct http_replay *replay; /* creds_set_async: the chain's calls run on the multi handle */
    int64_t last_now_ms;        /* the clock creds_get was last given, to notice it step back */
};

/* One blocking HTTP call of a provider. */
struct creds_call {
    const char *method, *url;
    const struct http_header *headers;
    size_t n_headers;
    const char *body;
    size_t body_len;
    long timeout_ms;
    bool no_proxy;
};

char *creds_dup_opt(const char *s);
/* The variable's value, or NULL when unset or empty. */
const char *creds_env(const char *name);
void aws_creds_clean_up(struct aws_creds *c);
/* Moves a document into aws_creds (the doc is left empty). */
void creds_doc_take(struct creds_doc *d, struct aws_creds *out, const char *source);
/* Appends "; " and a formatted text to why, a capped buffer of fixed texts that never takes a
 * secret; past the cap the text is cut short (it is advisory). */
void creds_why(struct buf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads a whole small regular file (at most max bytes) into out (initialised here) without ever
 * blocking on a FIFO or a device, which are refused; the null device reads as empty.
 * HAF_ENOTFOUND when absent; *reason (may be NULL) a static sentence for messages; see
 * creds_io.c. */
HAF_MUST_USE enum haf_err creds_read_file(const char *path, size_t max, struct buf *out,
                                          const char **reason);
/* $HOME/rel, or NULL without a HOME. Caller frees. */
char *creds_home_path(const char *rel);
/* One blocking call; describes a transport failure in why. resp must be initialised. */
HAF_MUST_USE enum haf_err creds_http_call(struct http_client *http, const struct creds_call *c,
                                          struct http_response *resp, struct buf *why,
                                          const char *what);
/* Wipes the body (it may hold credentials) and cleans the response up. */
void creds_response_wipe(struct http_response *r);
/* Appends name=value, percent-encoded, to an application/x-www-form-urlencoded body. */
HAF_MUST_USE enum haf_err creds_form_add(struct buf *b, const char *name, const char *value);

/*
 * ---- the providers ----
 * Each returns HAF_OK with *out filled, HAF_ENOTFOUND when it is not configured (the chain goes
 * on), or an error with why filled (the chain stops: a configured source that fails is the
 * answer).
 */

/* creds_profile.c: AWS_ACCESS_KEY_ID and friends; the shared config and credentials files. */
HAF_MUST_USE enum haf_err creds_provider_env(struct aws_creds *out, int64_t now_ms,
                                             struct buf *why);
HAF_MUST_USE enum haf_err creds_provider_profile(struct creds_provider *p, struct aws_creds *out,
                                                 struct buf *why);

/* creds_sts.c: STS AssumeRoleWithWebIdentity (unsigned) and AssumeRole (signed with base). */
HAF_MUST_USE enum haf_err creds_provider_web_identity(struct creds_provider *p, int64_t now_ms,
                                                      struct aws_creds *out, struct buf *why);
HAF_MUST_USE enum haf_err creds_assume_role(struct creds_provider *p, const struct aws_creds *base,
                                            int64_t now_ms, struct aws_creds *out, struct buf *why);

/* creds_container.c: ECS task roles and EKS Pod Identity. */
HAF_MUST_USE enum haf_err creds_provider_container(struct creds_provider *p, struct aws_creds *out,
                                                   struct buf *why);

/* creds_imds.c: EC2 IMDSv2 (the token is cached in p). */
HAF_MUST_USE enum haf_err creds_provider_imds(struct creds_provider *p, int64_t now_ms,
                                              struct aws_creds *out, struct buf *why);

#endif

/*
 * creds_internal.h: the pure parts of creds.c, exposed for the unit tests and the fuzz target
 * only: the documents the providers read (INI shared files, IMDS/ECS JSON, STS XML), the
 * ISO-8601 reader, the refresh schedule and the container URL check. Nothing here does I/O.
 */
#ifndef HAF_CREDS_INTERNAL_H
#define HAF_CREDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/err.h"
#include "haf/span.h"

#define CREDS_INI_MAX_BYTES     (1u << 20)
#define CREDS_INI_MAX_LINE      4096
#define CREDS_DOC_MAX_BYTES     (64u << 10)
#define CREDS_DEFAULT_MARGIN_MS (10 * 60 * 1000)

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

/*
 * When credentials fetched at now_ms and expiring at expiration_ms should be refreshed: margin_ms
 * (0: CREDS_DEFAULT_MARGIN_MS) before expiry, or half the remaining lifetime when that is shorter.
 * INT64_MAX when expiration_ms is 0.
 */
int64_t creds_refresh_at(int64_t now_ms, int64_t expiration_ms, int64_t margin_ms);

/* A container credentials URL we may call: https, or http to a loopback address, 169.254.170.2 or
 * 169.254.170.23 (EKS Pod Identity), fd00:ec2::23. */
bool creds_container_url_allowed(const char *url);

#endif

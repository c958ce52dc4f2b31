/*
 * sigv4.h: AWS Signature Version 4 (OpenSSL 3), in stages that can each be tested against golden
 * files: canonical request, string to sign, signing key, signature, Authorization header.
 *
 * Pure: no I/O, no logging; the clock is passed in. The derived signing key is cached per
 * (date, region, service, secret) in a struct sigv4_signer and wiped (OPENSSL_cleanse) when it is
 * replaced or released. Spec:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
#ifndef HAF_SIGV4_H
#define HAF_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "haf/buf.h"
#include "haf/err.h"

struct sigv4_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" for long-term keys */
};

struct sigv4_header {
    const char *name; /* any case; canonicalised to lower case */
    const char *value;
};

struct sigv4_request {
    const char *method; /* "POST" */
    const char *path;   /* "/": the path as sent (already URI-encoded); always normalised (dot
                           and empty segments removed) and encoded once more, as every service
                           but S3 expects */
    const char *query;  /* NULL or "" for none; "a=b&c=d" unsorted; raw or encoded pairs (each
                           name and value is percent-decoded, then encoded) */
    const struct sigv4_header *headers; /* must include host; x-amz-date is added by sigv4_sign;
                                           hop-by-hop headers (user-agent, connection, ...) are
                                           not signed; CR/LF in a value is HAF_EINVAL */
    size_t n_headers;
    const void *body;
    size_t body_len;
};

/* ---- stages (each testable alone) ---- */

/* "20150830T123600Z" from a UTC time. */
void sigv4_amz_date(time_t now, char out[17]);

/* Canonical request; signed_headers receives "a;b;c". Headers with the same name are joined with
 * commas in order; values are trimmed and inner runs of spaces folded. Both buffers are replaced
 * (reset, then written) on success and left as they were on failure. HAF_EINVAL for a missing host
 * header, a header name that is not an HTTP token, or CR/LF in a value. */
HAF_MUST_USE enum haf_err sigv4_canonical_request(const struct sigv4_request *req, struct buf *out,
                                                  struct buf *signed_headers);

HAF_MUST_USE enum haf_err sigv4_string_to_sign(const char *amz_date, const char *region,
                                               const char *service, struct span canonical_request,
                                               struct buf *out);

HAF_MUST_USE enum haf_err sigv4_signing_key(const char *secret, const char *date8,
                                            const char *region, const char *service,
                                            uint8_t key[32]);

HAF_MUST_USE enum haf_err sigv4_signature(const uint8_t key[32], struct span string_to_sign,
                                          char hex[65]);

/* ---- all in one ---- */

struct sigv4_signer;

HAF_MUST_USE struct sigv4_signer *sigv4_signer_new(void);
void sigv4_signer_free(struct sigv4_signer *s);

/* What the caller adds to the HTTP request: X-Amz-Date, X-Amz-Security-Token (when the creds
 * have one) and Authorization. */
struct sigv4_result {
    char amz_date[17];
    struct buf authorization;
};
void sigv4_result_clean_up(struct sigv4_result *r);

/*
 * Sign `req` as it will be sent at `now`. x-amz-date (and x-amz-security-token when present) are
 * signed in addition to req->headers, which must not carry X-Amz-Date, X-Amz-Security-Token or
 * Authorization themselves (HAF_EINVAL). Uses and refreshes the signer's key cache.
 * *out is treated as uninitialised and written only on success; release it with
 * sigv4_result_clean_up() (also before signing into it again).
 */
HAF_MUST_USE enum haf_err sigv4_sign(struct sigv4_signer *s, const struct sigv4_creds *creds,
                                     const char *region, const char *service, time_t now,
                                     const struct sigv4_request *req, struct sigv4_result *out);

/* Lower-case hex SHA-256 of data (65 bytes with the NUL). */
HAF_MUST_USE enum haf_err sigv4_sha256_hex(const void *data, size_t len, char hex[65]);

#endif

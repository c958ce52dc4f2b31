/*
 * kms.h: the two AWS KMS operations the digests need, over the awsJson1.1 client of cwl.h
 * (service "kms", target "TrentService.<Op>", the same credential chain and SigV4 signing):
 * Sign with MessageType RAW (the daemon; the private key never leaves KMS) and GetPublicKey (the
 * auditor's `verify --kms-key-id`, once, then everything is verified locally).
 *
 * Endpoint: the configured one, else AWS_ENDPOINT_URL_KMS, else AWS_ENDPOINT_URL, else
 * https://kms.<region>.<partition suffix>, as the SDKs resolve it.
 * API: https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html and
 * API_GetPublicKey.html.
 */
#ifndef HAF_KMS_H
#define HAF_KMS_H

#include <stddef.h>
#include <stdint.h>

#include "haf/buf.h"
#include "haf/cwl.h"
#include "haf/err.h"
#include "haf/span.h"

#define KMS_MAX_MESSAGE_BYTES 4096 /* MessageType RAW */

struct kms_client;
struct creds_provider;
struct http_client;

/* endpoint NULL: from the environment or the region (see above). NULL on a bad endpoint, region
 * or no memory. */
HAF_MUST_USE struct kms_client *kms_client_new(const char *endpoint, const char *region,
                                               struct http_client *http,
                                               struct creds_provider *creds);
void kms_client_free(struct kms_client *c);

/* The endpoint kms_client_new would use (caller frees); NULL when none can be formed. */
char *kms_endpoint(const char *configured, const char *region);

/*
 * Sign `msg` (at most KMS_MAX_MESSAGE_BYTES) with key_id (id, ARN or alias) and algorithm
 * ("ECDSA_SHA_256", "RSASSA_PSS_SHA_256", ...). The signature is appended to `sig`. HAF_OK with
 * res->cls == CWL_OK on success; HAF_EREJECTED when KMS answered with an error or the transport
 * failed (res says which: retryable classes are the caller's to retry); HAF_EPARSE when a 200
 * answer has no valid Signature; HAF_ECREDS; HAF_ETOOLONG for a message over the limit.
 */
HAF_MUST_USE enum haf_err kms_sign(struct kms_client *c, const char *key_id, const char *alg,
                                   struct span msg, struct buf *sig, struct cwl_result *res);

struct kms_public_key {
    uint8_t *der; /* SubjectPublicKeyInfo */
    size_t der_len;
    char *key_id;   /* the key's ARN as KMS names it */
    char *key_spec; /* "ECC_NIST_P256", "RSA_2048", ... */
};
void kms_public_key_clean_up(struct kms_public_key *k);

/* GetPublicKey; same codes as kms_sign. *out is written only on success. */
HAF_MUST_USE enum haf_err kms_get_public_key(struct kms_client *c, const char *key_id,
                                             struct kms_public_key *out, struct cwl_result *res);

#endif

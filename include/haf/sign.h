/*
 * sign.h: signing digest records (a local private key file, or a KMS key) and verifying them
 * with a public key (OpenSSL 3).
 *
 * Algorithms, named as KMS names them so one record format serves both:
 *   ED25519             a local Ed25519 key; pure EdDSA over the message (RFC 8032)
 *   ECDSA_SHA_256       a local P-256 key or a KMS ECC_NIST_P256 key; DER (r, s) over SHA-256
 *   RSASSA_PSS_SHA_256  a KMS RSA key; PSS with SHA-256 and MGF1-SHA-256 (AWS uses a 32-byte
 *                       salt; the verifier accepts any salt length, which PSS allows, because
 *                       moto signs with the maximum salt length)
 * A local key's id is "sha256:" and the hex SHA-256 of its SubjectPublicKeyInfo DER, so an
 * auditor can tell which public key a record claims; a KMS key's id is the configured id or ARN.
 */
#ifndef HAF_SIGN_H
#define HAF_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/buf.h"
#include "haf/err.h"
#include "haf/span.h"

#define SIGN_ALG_ED25519            "ED25519"
#define SIGN_ALG_ECDSA_SHA_256      "ECDSA_SHA_256"
#define SIGN_ALG_RSASSA_PSS_SHA_256 "RSASSA_PSS_SHA_256"
#define SIGN_MAX_KEY_FILE_BYTES     65536

struct signer;
struct kms_client;

/*
 * Load a PEM private key (PKCS#8 or traditional; Ed25519 or P-256, nothing else) from `path`.
 * The file must be a regular file owned by root or the effective uid, writable by neither group
 * nor others and not readable by others (a private key: chmod o-r is the fix). HAF_EPERM for
 * those, HAF_EIO when it cannot be read, HAF_EINVAL for another key type, HAF_EPARSE for a file
 * that holds no key; `err` (not NULL) gets one line naming the path and the fix.
 */
HAF_MUST_USE enum haf_err signer_open_file(const char *path, struct signer **out, struct buf *err);

/* Sign through KMS (the client stays the caller's and must outlive the signer). alg NULL:
 * ECDSA_SHA_256. */
HAF_MUST_USE enum haf_err signer_new_kms(struct kms_client *kms, const char *key_id,
                                         const char *alg, struct signer **out);

void signer_free(struct signer *s);
const char *signer_key_id(const struct signer *s);
const char *signer_alg(const struct signer *s);

/* Appends the signature of msg to `sig`. KMS failures are HAF_EREJECTED / HAF_ECREDS /
 * HAF_EPARSE (see kms_sign) with `err` saying what KMS answered. */
HAF_MUST_USE enum haf_err signer_sign(struct signer *s, struct span msg, struct buf *sig,
                                      struct buf *err);

/* ---- verification (pure) ---- */

struct sign_pubkey;

/* From PEM text ("PUBLIC KEY", or a private key whose public half is taken) or from
 * SubjectPublicKeyInfo DER (what KMS GetPublicKey returns). HAF_EPARSE when it holds no key,
 * HAF_EINVAL for an unsupported type. */
HAF_MUST_USE enum haf_err sign_pubkey_from_pem(struct span pem, struct sign_pubkey **out);
HAF_MUST_USE enum haf_err sign_pubkey_from_der(const uint8_t *der, size_t len,
                                               struct sign_pubkey **out);
void sign_pubkey_free(struct sign_pubkey *k);
/* "sha256:<hex of the SubjectPublicKeyInfo DER>" */
const char *sign_pubkey_id(const struct sign_pubkey *k);

/* HAF_OK: the signature is valid for msg under alg. HAF_EREJECTED: it is not. HAF_EINVAL: alg
 * is unknown or does not fit the key type. */
HAF_MUST_USE enum haf_err sign_verify(const struct sign_pubkey *k, const char *alg, struct span msg,
                                      const uint8_t *sig, size_t sig_len);

#endif

/*
 * sign.c: the digest signer (a local key file or KMS) and the verifier (see sign.h).
 *
 * The private key file is read once, checked like the configuration file (regular, owned by root
 * or us, not writable by group or others) and in addition not readable by others, since it is a
 * secret; its bytes are wiped after parsing. Encrypted PEM is refused (the daemon has nobody to
 * ask for a passphrase). Verification never trusts the record's own alg beyond choosing the
 * procedure: an alg that does not fit the key type is HAF_EINVAL, so a record cannot downgrade
 * what "valid" means. OpenSSL's error queue is cleared after every failed call so one bad record
 * cannot leak errors into the next (or into libcurl's TLS).
 */
#include "haf/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haf/cwl.h"
#include "haf/digest.h"
#include "haf/kms.h"

struct signer {
    EVP_PKEY *pkey;         /* local key, or NULL for KMS */
    struct kms_client *kms; /* borrowed */
    char *key_id;
    char *alg;
};

struct sign_pubkey {
    EVP_PKEY *pkey;
    char id[7 + 65];
};

static void __attribute__((format(printf, 2, 3))) sign_msgf(struct buf *err, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    if (buf_vaddf(err, fmt, ap) != HAF_OK)
        buf_reset(err); /* the code still says what happened */
    va_end(ap);
}

/* The algorithm a key type implies; NULL for a type we do not support. */
static const char *
key_alg(EVP_PKEY *k, bool for_signing)
{
    char group[64];

    switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_ED25519:
        return SIGN_ALG_ED25519;
    case EVP_PKEY_EC:
        if (EVP_PKEY_get_group_name(k, group, sizeof(group), NULL) == 1 &&
            strcmp(group, "prime256v1") == 0)
            return SIGN_ALG_ECDSA_SHA_256;
        return NULL;
    case EVP_PKEY_RSA:
        return for_signing ? NULL : SIGN_ALG_RSASSA_PSS_SHA_256;
    default:
        return NULL;
    }
}

/* "sha256:<hex>" of the SubjectPublicKeyInfo DER into out (72 bytes). */
static enum haf_err
key_fingerprint(EVP_PKEY *k, char out[7 + 65])
{
    unsigned char *der = NULL;
    uint8_t h[32];
    int len = i2d_PUBKEY(k, &der);
    enum haf_err e = HAF_ECRYPTO;

    if (len > 0 && EVP_Digest(der, (size_t)len, h, NULL, EVP_sha256(), NULL) == 1) {
        memcpy(out, "sha256:", 7);
        digest_hex(h, 32, out + 7);
        e = HAF_OK;
    }
    OPENSSL_free(der);
    ERR_clear_error();
    return e;
}

/* ---- the key file ---- */

static enum haf_err
key_file_check(int fd, const char *path, struct buf *err)
{
    struct stat st;
    uid_t me = geteuid();

    if (fstat(fd, &st) != 0) {
        sign_msgf(err, "%s: %s\n", path, strerror(errno));
        return HAF_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        sign_msgf(err, "%s: not a regular file\n", path);
        return HAF_EPERM;
    }
    if (st.st_uid != 0 && st.st_uid != me) {
        sign_msgf(err,
                  "%s: owned by uid %u, not by root or the running user (uid %u); fix: chown "
                  "root %s\n",
                  path, (unsigned)st.st_uid, (unsigned)me, path);
        return HAF_EPERM;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH | S_IROTH)) {
        sign_msgf(err,
                  "%s: a private key readable by others or writable by group or others (mode "
                  "%04o); fix: chmod go-w,o-r %s\n",
                  path, (unsigned)(st.st_mode & 07777), path);
        return HAF_EPERM;
    }
    return HAF_OK;
}

static enum haf_err
key_file_read(const char *path, struct buf *data, struct buf *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    enum haf_err e;

    if (fd < 0) {
        sign_msgf(err, "%s: cannot open: %s\n", path, strerror(errno));
        return HAF_EIO;
    }
    e = key_file_check(fd, path, err);
    while (e == HAF_OK) {
        char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            sign_msgf(err, "%s: read error: %s\n", path, strerror(errno));
            e = HAF_EIO;
        } else if (n == 0) {
            break;
        } else if ((e = buf_add(data, chunk, (size_t)n)) == HAF_ETOOLONG) {
            sign_msgf(err, "%s: larger than %d bytes\n", path, SIGN_MAX_KEY_FILE_BYTES);
        }
        OPENSSL_cleanse(chunk, sizeof(chunk));
    }
    close(fd);
    return e;
}

/* No passphrase prompt: an encrypted key fails to load. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

enum haf_err
signer_open_file(const char *path, struct signer **out, struct buf *err)
{
    struct buf data;
    struct signer *s = NULL;
    BIO *bio = NULL;
    EVP_PKEY *k = NULL;
    const char *alg;
    char id[7 + 65];
    enum haf_err e;

    buf_init(&data, SIGN_MAX_KEY_FILE_BYTES);
    e = key_file_read(path, &data, err);
    if (e != HAF_OK)
        goto out;
    e = HAF_ENOMEM;
    bio = BIO_new_mem_buf(data.p ? data.p : "", (int)data.len);
    if (!bio)
        goto out;
    k = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    if (!k) {
        sign_msgf(err, "%s: no unencrypted PEM private key in the file\n", path);
        e = HAF_EPARSE;
        goto out;
    }
    alg = key_alg(k, true);
    if (!alg) {
        sign_msgf(err, "%s: key type not supported for signing: use Ed25519 or ECDSA P-256\n",
                  path);
        e = HAF_EINVAL;
        goto out;
    }
    e = key_fingerprint(k, id);
    if (e != HAF_OK)
        goto out;
    e = HAF_ENOMEM;
    s = calloc(1, sizeof(*s));
    if (!s || !(s->key_id = strdup(id)) || !(s->alg = strdup(alg)))
        goto out;
    s->pkey = k;
    k = NULL;
    *out = s;
    s = NULL;
    e = HAF_OK;
out:
    ERR_clear_error();
    signer_free(s);
    EVP_PKEY_free(k);
    BIO_free(bio);
    buf_wipe(&data);
    return e;
}

enum haf_err
signer_new_kms(struct kms_client *kms, const char *key_id, const char *alg, struct signer **out)
{
    struct signer *s;

    if (!kms || !key_id || !*key_id)
        return HAF_EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return HAF_ENOMEM;
    s->kms = kms;
    s->key_id = strdup(key_id);
    s->alg = strdup(alg ? alg : SIGN_ALG_ECDSA_SHA_256);
    if (!s->key_id || !s->alg) {
        signer_free(s);
        return HAF_ENOMEM;
    }
    *out = s;
    return HAF_OK;
}

void
signer_free(struct signer *s)
{
    if (!s)
        return;
    EVP_PKEY_free(s->pkey);
    free(s->key_id);
    free(s->alg);
    free(s);
}

const char *
signer_key_id(const struct signer *s)
{
    return s->key_id;
}

const char *
signer_alg(const struct signer *s)
{
    return s->alg;
}

static enum haf_err
sign_local(EVP_PKEY *k, const char *alg, struct span msg, struct buf *sig)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = strcmp(alg, SIGN_ALG_ED25519) == 0 ? NULL : EVP_sha256();
    size_t len = 0;
    enum haf_err e = HAF_ECRYPTO;

    if (!ctx)
        return HAF_ENOMEM;
    if (EVP_DigestSignInit(ctx, NULL, md, NULL, k) != 1 ||
        EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)msg.p, msg.len) != 1)
        goto out;
    e = buf_reserve(sig, len + 1);
    if (e != HAF_OK)
        goto out;
    e = HAF_ECRYPTO;
    if (EVP_DigestSign(ctx, (unsigned char *)sig->p + sig->len, &len, (const unsigned char *)msg.p,
                       msg.len) != 1)
        goto out;
    sig->len += len;
    sig->p[sig->len] = '\0';
    e = HAF_OK;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    return e;
}

enum haf_err
signer_sign(struct signer *s, struct span msg, struct buf *sig, struct buf *err)
{
    struct cwl_result res;
    enum haf_err e;

    if (s->pkey)
        return sign_local(s->pkey, s->alg, msg, sig);
    e = kms_sign(s->kms, s->key_id, s->alg, msg, sig, &res);
    if (e != HAF_OK)
        sign_msgf(err, "kms:Sign %s: %s (%s %s: %s)\n", s->key_id, haf_err_str(e),
                  cwl_class_str(res.cls), res.error_type, res.message);
    return e;
}

/* ---- verification ---- */

static enum haf_err
pubkey_take(EVP_PKEY *k, struct sign_pubkey **out)
{
    struct sign_pubkey *p;
    enum haf_err e;

    if (!k)
        return HAF_EPARSE;
    if (!key_alg(k, false)) {
        EVP_PKEY_free(k);
        return HAF_EINVAL;
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        EVP_PKEY_free(k);
        return HAF_ENOMEM;
    }
    p->pkey = k;
    e = key_fingerprint(k, p->id);
    if (e != HAF_OK) {
        sign_pubkey_free(p);
        return e;
    }
    *out = p;
    return HAF_OK;
}

enum haf_err
sign_pubkey_from_pem(struct span pem, struct sign_pubkey **out)
{
    BIO *bio = BIO_new_mem_buf(pem.p ? pem.p : "", (int)pem.len);
    EVP_PKEY *k = NULL;
    enum haf_err e;

    if (!bio || pem.len > SIGN_MAX_KEY_FILE_BYTES) {
        BIO_free(bio);
        return bio ? HAF_ETOOLONG : HAF_ENOMEM;
    }
    k = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    if (!k && BIO_reset(bio) == 1)
        k = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    ERR_clear_error();
    e = pubkey_take(k, out);
    return e;
}

enum haf_err
sign_pubkey_from_der(const uint8_t *der, size_t len, struct sign_pubkey **out)
{
    const unsigned char *p = der;
    EVP_PKEY *k;

    if (len > SIGN_MAX_KEY_FILE_BYTES)
        return HAF_ETOOLONG;
    k = d2i_PUBKEY(NULL, &p, (long)len);
    ERR_clear_error();
    if (k && p != der + len) { /* trailing bytes: not one DER object */
        EVP_PKEY_free(k);
        return HAF_EPARSE;
    }
    return pubkey_take(k, out);
}

void
sign_pubkey_free(struct sign_pubkey *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

const char *
sign_pubkey_id(const struct sign_pubkey *k)
{
    return k->id;
}

enum haf_err
sign_verify(const struct sign_pubkey *k, const char *alg, struct span msg, const uint8_t *sig,
            size_t sig_len)
{
    const char *want = key_alg(k->pkey, false);
    EVP_MD_CTX *ctx;
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md;
    enum haf_err e = HAF_EREJECTED;

    if (!alg || !want || strcmp(alg, want) != 0)
        return HAF_EINVAL;
    md = strcmp(alg, SIGN_ALG_ED25519) == 0 ? NULL : EVP_sha256();
    ctx = EVP_MD_CTX_new();
    if (!ctx)
        return HAF_ENOMEM;
    if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, k->pkey) != 1)
        goto out;
    if (strcmp(alg, SIGN_ALG_RSASSA_PSS_SHA_256) == 0 &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1))
        goto out;
    if (EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)msg.p, msg.len) == 1)
        e = HAF_OK;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    return e;
}

/*
 * test_sign.c: local signing and verification. Ed25519 against RFC 8032 section 7.1 test 1 (a
 * known answer: EdDSA is deterministic), ECDSA P-256 sign/verify round trips, every rejection
 * (one byte of the message or signature changed, another key, an alg that does not fit the key),
 * and the key file rules with their exact codes (mode, type, content, encrypted keys, key types
 * we do not sign with).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "haf/digest.h"
#include "haf/sign.h"
#include "testlib.h"

static char *dir;

static int
setup(void **state)
{
    (void)state;
    dir = testlib_mkdtemp();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    testlib_rmtree(dir);
    free(dir);
    return 0;
}

static void
unhex(const char *h, uint8_t *out)
{
    for (size_t i = 0; h[2 * i]; i++)
        out[i] = (uint8_t)(span_hex_digit((unsigned char)h[2 * i]) << 4 |
                           span_hex_digit((unsigned char)h[2 * i + 1]));
}

/* Write k as PEM (private when priv; encrypted with "pw" when enc) to dir/name, chmod mode. */
static char *
write_key(EVP_PKEY *k, const char *name, bool priv, bool enc, mode_t mode)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    FILE *f;

    sprintf(path, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    if (priv)
        assert_int_equal(PEM_write_PrivateKey(f, k, enc ? EVP_aes_128_cbc() : NULL,
                                              enc ? (unsigned char *)"pw" : NULL, enc ? 2 : 0, NULL,
                                              NULL),
                         1);
    else
        assert_int_equal(PEM_write_PUBKEY(f, k), 1);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static EVP_PKEY *
gen_key(const char *type, const char *group)
{
    EVP_PKEY *k = group ? EVP_PKEY_Q_keygen(NULL, NULL, type, group)
                        : EVP_PKEY_Q_keygen(NULL, NULL, type, (size_t)2048);
    assert_non_null(k);
    return k;
}

static struct sign_pubkey *
pub_of(const char *path)
{
    struct sign_pubkey *p = NULL;
    size_t len;
    char *text;
    FILE *f = fopen(path, "r");
    static char data[65536];

    assert_non_null(f);
    len = fread(data, 1, sizeof(data), f);
    fclose(f);
    text = data;
    assert_int_equal(sign_pubkey_from_pem(span_make(text, len), &p), HAF_OK);
    return p;
}

static void
test_sign_ed25519_rfc8032_known_answer(void **state)
{
    uint8_t sk[32], sig_expected[64];
    EVP_PKEY *k;
    struct signer *s = NULL;
    struct sign_pubkey *p;
    struct buf sig, err;
    char *path, *pub_path;

    (void)state;
    unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", sk);
    unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
          "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
          sig_expected);
    k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32);
    assert_non_null(k);
    path = write_key(k, "ed.pem", true, false, 0600);
    pub_path = write_key(k, "ed.pub", false, false, 0644);
    buf_init(&sig, 0);
    buf_init(&err, 0);
    assert_int_equal(signer_open_file(path, &s, &err), HAF_OK);
    assert_string_equal(signer_alg(s), "ED25519");
    assert_int_equal(strncmp(signer_key_id(s), "sha256:", 7), 0);
    assert_int_equal(signer_sign(s, SPAN_NULL, &sig, &err), HAF_OK);
    assert_int_equal(sig.len, 64);
    assert_memory_equal(sig.p, sig_expected, 64);

    p = pub_of(pub_path);
    assert_string_equal(sign_pubkey_id(p), signer_key_id(s));
    assert_int_equal(sign_verify(p, "ED25519", SPAN_NULL, (uint8_t *)sig.p, sig.len), HAF_OK);
    sig.p[10] ^= 1;
    assert_int_equal(sign_verify(p, "ED25519", SPAN_NULL, (uint8_t *)sig.p, sig.len),
                     HAF_EREJECTED);
    assert_int_equal(sign_verify(p, "ECDSA_SHA_256", SPAN_NULL, (uint8_t *)sig.p, sig.len),
                     HAF_EINVAL);
    assert_int_equal(sign_verify(p, "NONE", SPAN_NULL, (uint8_t *)sig.p, sig.len), HAF_EINVAL);
    sign_pubkey_free(p);
    signer_free(s);
    EVP_PKEY_free(k);
    buf_clean_up(&sig);
    buf_clean_up(&err);
    free(path);
    free(pub_path);
}

static void
test_sign_ecdsa_p256_round_trip_and_rejections(void **state)
{
    EVP_PKEY *k = gen_key("EC", "P-256"), *other = gen_key("EC", "P-256");
    struct signer *s = NULL;
    struct sign_pubkey *p, *po;
    struct buf sig, err;
    char *path = write_key(k, "ec.pem", true, false, 0640);
    char *other_path = write_key(other, "other.pem", true, false, 0600);
    struct span msg = SPAN_LIT("{\"haf_digest\":1}");

    (void)state;
    buf_init(&sig, 0);
    buf_init(&err, 0);
    assert_int_equal(signer_open_file(path, &s, &err), HAF_OK);
    assert_string_equal(signer_alg(s), "ECDSA_SHA_256");
    assert_int_equal(signer_sign(s, msg, &sig, &err), HAF_OK);
    assert_true(sig.len >= 8 && sig.len <= 72);
    p = pub_of(path); /* the public half of a private key file */
    po = pub_of(other_path);
    assert_int_equal(sign_verify(p, "ECDSA_SHA_256", msg, (uint8_t *)sig.p, sig.len), HAF_OK);
    assert_int_equal(sign_verify(po, "ECDSA_SHA_256", msg, (uint8_t *)sig.p, sig.len),
                     HAF_EREJECTED);
    assert_int_equal(
        sign_verify(p, "ECDSA_SHA_256", SPAN_LIT("{\"haf_digest\":2}"), (uint8_t *)sig.p, sig.len),
        HAF_EREJECTED);
    assert_int_equal(sign_verify(p, "ECDSA_SHA_256", msg, (uint8_t *)sig.p, sig.len - 1),
                     HAF_EREJECTED);
    assert_int_equal(sign_verify(p, "ECDSA_SHA_256", msg, (uint8_t *)"", 0), HAF_EREJECTED);
    assert_int_equal(sign_verify(p, "ED25519", msg, (uint8_t *)sig.p, sig.len), HAF_EINVAL);
    sign_pubkey_free(p);
    sign_pubkey_free(po);
    signer_free(s);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
    buf_clean_up(&sig);
    buf_clean_up(&err);
    free(path);
    free(other_path);
}

static void
expect_open(const char *path, enum haf_err want, const char *why_part)
{
    struct signer *s = (struct signer *)0x1;
    struct buf err;

    buf_init(&err, 0);
    assert_int_equal(signer_open_file(path, &s, &err), want);
    assert_ptr_equal(s, (struct signer *)0x1);
    if (!strstr(buf_cstr(&err), why_part))
        fail_msg("%s: message '%s' lacks '%s'", path, buf_cstr(&err), why_part);
    buf_clean_up(&err);
}

static void
test_sign_key_file_refusals(void **state)
{
    EVP_PKEY *ec = gen_key("EC", "P-256"), *p384 = gen_key("EC", "P-384");
    EVP_PKEY *rsa = gen_key("RSA", NULL);
    char *p;
    char junk[512];
    FILE *f;

    (void)state;
    p = write_key(ec, "world.pem", true, false, 0604);
    expect_open(p, HAF_EPERM, "chmod go-w,o-r");
    free(p);
    p = write_key(ec, "gw.pem", true, false, 0620);
    expect_open(p, HAF_EPERM, "mode 0620");
    free(p);
    p = write_key(ec, "enc.pem", true, true, 0600);
    expect_open(p, HAF_EPARSE, "no unencrypted PEM private key");
    free(p);
    p = write_key(p384, "p384.pem", true, false, 0600);
    expect_open(p, HAF_EINVAL, "Ed25519 or ECDSA P-256");
    free(p);
    p = write_key(rsa, "rsa.pem", true, false, 0600);
    expect_open(p, HAF_EINVAL, "Ed25519 or ECDSA P-256");
    free(p);
    p = write_key(ec, "pub.pem", false, false, 0600);
    expect_open(p, HAF_EPARSE, "no unencrypted");
    free(p);
    expect_open(dir, HAF_EPERM, "not a regular file");
    snprintf(junk, sizeof(junk), "%s/missing.pem", dir);
    expect_open(junk, HAF_EIO, "cannot open");
    snprintf(junk, sizeof(junk), "%s/big.pem", dir);
    f = fopen(junk, "w");
    for (int i = 0; i < SIGN_MAX_KEY_FILE_BYTES / 16 + 1; i++)
        fputs("0123456789abcde\n", f);
    fclose(f);
    assert_int_equal(chmod(junk, 0600), 0);
    expect_open(junk, HAF_ETOOLONG, "larger than");
    EVP_PKEY_free(ec);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(rsa);
}

static void
test_sign_pubkey_parsers(void **state)
{
    EVP_PKEY *rsa = gen_key("RSA", NULL), *p384 = gen_key("EC", "P-384");
    struct sign_pubkey *p = (struct sign_pubkey *)0x1;
    unsigned char *der = NULL;
    int len;

    (void)state;
    assert_int_equal(sign_pubkey_from_pem(SPAN_LIT("not a key"), &p), HAF_EPARSE);
    assert_int_equal(sign_pubkey_from_der((const uint8_t *)"\x30\x00", 2, &p), HAF_EPARSE);
    len = i2d_PUBKEY(p384, &der);
    assert_true(len > 0);
    assert_int_equal(sign_pubkey_from_der(der, (size_t)len, &p), HAF_EINVAL);
    OPENSSL_free(der);
    der = NULL;
    assert_ptr_equal(p, (struct sign_pubkey *)0x1);
    len = i2d_PUBKEY(rsa, &der);
    assert_int_equal(sign_pubkey_from_der(der, (size_t)len + 0, &p), HAF_OK);
    sign_pubkey_free(p);
    {
        /* trailing garbage after the DER object */
        unsigned char *longer = malloc((size_t)len + 1);
        memcpy(longer, der, (size_t)len);
        longer[len] = 0;
        assert_int_equal(sign_pubkey_from_der(longer, (size_t)len + 1, &p), HAF_EPARSE);
        free(longer);
    }
    OPENSSL_free(der);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p384);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_ed25519_rfc8032_known_answer),
        cmocka_unit_test(test_sign_ecdsa_p256_round_trip_and_rejections),
        cmocka_unit_test(test_sign_key_file_refusals),
        cmocka_unit_test(test_sign_pubkey_parsers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

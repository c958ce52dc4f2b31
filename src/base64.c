/*
 * base64.c: RFC 4648 base64 through OpenSSL's block coder, with the strictness checks OpenSSL's
 * EVP_DecodeBlock lacks (it accepts whitespace and leaves padding bytes in its output count):
 * every character checked, '=' only as the last one or two, and the result re-encoded and
 * compared so a non-zero trailing bit is refused too.
 */
#include "haf/base64.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define BASE64_MAX_INPUT ((size_t)1 << 28) /* EVP_*Block take int lengths */

enum haf_err
base64_encode(const void *data, size_t len, struct buf *out)
{
    size_t n;
    enum haf_err e;

    if (len > BASE64_MAX_INPUT)
        return HAF_ETOOLONG;
    n = (len + 2) / 3 * 4;
    e = buf_reserve(out, n + 1);
    if (e != HAF_OK)
        return e;
    EVP_EncodeBlock((unsigned char *)out->p + out->len, data, (int)len);
    out->len += n;
    out->p[out->len] = '\0';
    return HAF_OK;
}

static bool
base64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

enum haf_err
base64_decode(struct span in, size_t max_len, uint8_t **out, size_t *out_len)
{
    size_t pad = 0, n;
    uint8_t *raw = NULL;
    char *again = NULL;
    enum haf_err e = HAF_EPARSE;
    int got;

    if (in.len == 0 || in.len % 4 != 0 || in.len > BASE64_MAX_INPUT)
        return HAF_EPARSE;
    if (in.len / 4 * 3 > max_len + 2)
        return HAF_ETOOLONG;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.p[i];

        if (c == '=' && i + 2 >= in.len && (i + 1 == in.len || in.p[in.len - 1] == '='))
            pad++;
        else if (!base64_char(c) || pad)
            return HAF_EPARSE;
    }
    n = in.len / 4 * 3 - pad;
    if (n == 0)
        return HAF_EPARSE;
    if (n > max_len)
        return HAF_ETOOLONG;
    raw = malloc(in.len / 4 * 3 + 1);
    again = malloc(in.len + 1);
    if (!raw || !again) {
        e = HAF_ENOMEM;
        goto out;
    }
    got = EVP_DecodeBlock(raw, (const unsigned char *)in.p, (int)in.len);
    if (got < 0 || (size_t)got != in.len / 4 * 3)
        goto out;
    EVP_EncodeBlock((unsigned char *)again, raw, (int)n);
    if (memcmp(again, in.p, in.len) != 0)
        goto out;
    *out = raw;
    *out_len = n;
    raw = NULL;
    e = HAF_OK;
out:
    free(raw);
    free(again);
    return e;
}

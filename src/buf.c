/*
 * buf.c: the capped growable buffer of buf.h. Capacity doubles (amortised O(1) appends) and every
 * size computation is checked for overflow before it is used.
 *
 * Buffers carry secrets (credential documents, canonical requests, header lines), and a buffer
 * does not know whether it does, so every buffer is wiped: growing copies into a new block and
 * wipes the old one (realloc would leave the old bytes in the heap), and release wipes the block.
 * That costs one memset per byte of capacity, amortised like the doubling itself.
 */
#include "haf/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void
buf_init(struct buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->hint = 0;
}

void
buf_clean_up(struct buf *b)
{
    if (b == NULL)
        return;
    if (b->p)
        OPENSSL_cleanse(b->p, b->cap);
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void
buf_wipe(struct buf *b)
{
    buf_clean_up(b);
}

enum haf_err
buf_reserve(struct buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > SIZE_MAX - b->len - 1)
        return HAF_ETOOLONG;
    need = b->len + extra;
    if (b->max != 0 && need > b->max)
        return HAF_ETOOLONG;
    if (need + 1 <= b->cap)
        return HAF_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need + 1) {
        if (cap > SIZE_MAX / 2) {
            cap = need + 1;
            break;
        }
        cap *= 2;
    }
    if (b->hint > b->cap && cap > b->hint && need + 1 <= b->hint)
        cap = b->hint;
    if (b->max != 0 && cap > b->max + 1 && need + 1 <= b->max + 1)
        cap = b->max + 1;
    /* Not realloc: the old block is wiped before it goes back to the heap. */
    p = malloc(cap);
    if (p == NULL)
        return HAF_ENOMEM;
    if (b->p != NULL) {
        memcpy(p, b->p, b->len + 1 <= b->cap ? b->len + 1 : b->cap);
        OPENSSL_cleanse(b->p, b->cap);
        free(b->p);
    }
    b->p = p; /* the old block is dead */
    b->cap = cap;
    return HAF_OK;
}

enum haf_err
buf_add(struct buf *b, const void *data, size_t len)
{
    enum haf_err e = buf_reserve(b, len);

    if (e != HAF_OK)
        return e;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return HAF_OK;
}

enum haf_err
buf_addc(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

enum haf_err
buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

enum haf_err
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    enum haf_err e;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return HAF_EINVAL;
    e = buf_reserve(b, (size_t)n);
    if (e != HAF_OK)
        return e;
    (void)vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return HAF_OK;
}

enum haf_err
buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    enum haf_err e;

    va_start(ap, fmt);
    e = buf_vaddf(b, fmt, ap);
    va_end(ap);
    return e;
}

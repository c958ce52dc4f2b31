/*
 * secmem.c: wiping allocators for the libraries, and the non-dumpable process (secmem.h).
 *
 * Each block carries its usable size in a header of SECMEM_HEADER_BYTES (16, so the block handed
 * out keeps malloc's alignment for every fundamental type), which free needs to know how much to
 * wipe: jansson's and libcurl's free callbacks get only the pointer. Sizes are checked for
 * overflow before the header is added.
 */
#include "haf/secmem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <jansson.h>
#include <openssl/crypto.h>

#define SECMEM_HEADER_BYTES 16

void *
secmem_malloc(size_t n)
{
    unsigned char *p;

    if (n > SIZE_MAX - SECMEM_HEADER_BYTES)
        return NULL;
    p = malloc(n + SECMEM_HEADER_BYTES);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof(n));
    return p + SECMEM_HEADER_BYTES;
}

void *
secmem_calloc(size_t count, size_t n)
{
    void *p;

    if (n != 0 && count > SIZE_MAX / n)
        return NULL;
    p = secmem_malloc(count * n);
    if (p != NULL)
        memset(p, 0, count * n);
    return p;
}

static size_t
secmem_size(const void *p)
{
    size_t n;

    memcpy(&n, (const unsigned char *)p - SECMEM_HEADER_BYTES, sizeof(n));
    return n;
}

void
secmem_free(void *p)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, secmem_size(p));
    free((unsigned char *)p - SECMEM_HEADER_BYTES);
}

void *
secmem_realloc(void *p, size_t n)
{
    void *np;
    size_t old;

    if (p == NULL)
        return secmem_malloc(n);
    old = secmem_size(p);
    np = secmem_malloc(n);
    if (np == NULL)
        return NULL; /* p stays valid, as with realloc */
    memcpy(np, p, old < n ? old : n);
    secmem_free(p);
    return np;
}

char *
secmem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = secmem_malloc(n);

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

/* OpenSSL's hooks carry the caller's file and line, which we do not need. */
static void *
ossl_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return secmem_malloc(n);
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return secmem_realloc(p, n);
}

static void
ossl_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    secmem_free(p);
}

int
secmem_init(void)
{
    json_set_alloc_funcs(secmem_malloc, secmem_free);
    /* Refused (returns 0) once OpenSSL has allocated anything: then its blocks stay plain. */
    (void)CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free);
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : -1;
}

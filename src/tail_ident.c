/*
 * tail_ident.c: how tail.c knows a followed file: a small (u64, u64) -> pointer
 * map (open addressing, linear probing, backward-shift deletion, so no
 * tombstones accumulate when files come and go for months) keyed by
 * (st_dev, st_ino) or by inotify watch descriptor, and the SHA-256 fingerprint
 * of a file's head that tells a rewrite in place from growth. See tail.c for
 * the design of identity as a whole; nothing here does anything but pread and
 * hash, and nothing logs.
 */
#include "tail_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

/* ---- a small (u64, u64) -> pointer map ---- */

static size_t
idmap_hash(uint64_t a, uint64_t b)
{
    uint64_t x = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL);

    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x;
}

void *
idmap_get(const struct idmap *m, uint64_t a, uint64_t b)
{
    size_t mask;

    if (m->cap == 0)
        return NULL;
    mask = m->cap - 1;
    for (size_t i = idmap_hash(a, b) & mask;; i = (i + 1) & mask) {
        if (m->slots[i].v == NULL)
            return NULL;
        if (m->slots[i].a == a && m->slots[i].b == b)
            return m->slots[i].v;
    }
}

static void
idmap_insert_slot(struct idmap_slot *slots, size_t cap, uint64_t a, uint64_t b, void *v)
{
    size_t mask = cap - 1;
    size_t i = idmap_hash(a, b) & mask;

    while (slots[i].v != NULL)
        i = (i + 1) & mask;
    slots[i] = (struct idmap_slot){.a = a, .b = b, .v = v};
}

/* The key must not be present. The load factor stays at or below one half. */
HAF_MUST_USE enum haf_err
idmap_put(struct idmap *m, uint64_t a, uint64_t b, void *v)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        struct idmap_slot *ns;

        if (ncap > SIZE_MAX / sizeof(*ns))
            return HAF_ENOMEM;
        ns = calloc(ncap, sizeof(*ns));
        if (ns == NULL)
            return HAF_ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].v != NULL)
                idmap_insert_slot(ns, ncap, m->slots[i].a, m->slots[i].b, m->slots[i].v);
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    idmap_insert_slot(m->slots, m->cap, a, b, v);
    m->n++;
    return HAF_OK;
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones.
 */
void
idmap_del(struct idmap *m, uint64_t a, uint64_t b)
{
    size_t mask, i, j;

    if (m->cap == 0)
        return;
    mask = m->cap - 1;
    for (i = idmap_hash(a, b) & mask;; i = (i + 1) & mask) {
        if (m->slots[i].v == NULL)
            return;
        if (m->slots[i].a == a && m->slots[i].b == b)
            break;
    }
    j = i;
    for (;;) {
        size_t home;

        j = (j + 1) & mask;
        if (m->slots[j].v == NULL)
            break;
        home = idmap_hash(m->slots[j].a, m->slots[j].b) & mask;
        /* Slot j may stay when its home lies cyclically in (i, j]. */
        if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
            continue;
        m->slots[i] = m->slots[j];
        i = j;
    }
    m->slots[i].v = NULL;
    m->n--;
}

void
idmap_clean_up(struct idmap *m)
{
    free(m->slots);
    *m = (struct idmap){0};
}

/* ---- fingerprints ---- */

/* SHA-256, fetched once: OpenSSL 3 looks the implementation up again on every EVP_sha256() digest,
 * which cost more than hashing the 1 KiB head itself, and a followed file's head is hashed again
 * each time it grows (file_check). The tail is single-threaded; the object lives until exit. */
static const EVP_MD *
fp_sha256(void)
{
    static EVP_MD *md;

    if (md == NULL)
        md = EVP_MD_fetch(NULL, "SHA256", NULL);
    return md != NULL ? md : EVP_sha256();
}

enum haf_err
tail_fingerprint_fd(int fd, uint32_t len, struct tail_fingerprint *out)
{
    uint8_t head[TAIL_FP_MAX_BYTES];
    struct tail_fingerprint fp;
    unsigned int mdlen = 0;
    size_t want, got = 0;

    if (len > TAIL_FP_MAX_BYTES)
        return HAF_EINVAL;
    if (len == 0) {
        struct stat st;

        if (fstat(fd, &st) != 0)
            return HAF_EIO;
        want = st.st_size < TAIL_FP_MAX_BYTES ? (size_t)st.st_size : TAIL_FP_MAX_BYTES;
    } else {
        want = len;
    }
    while (got < want) {
        ssize_t n = pread(fd, head + got, want - got, (off_t)got);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return HAF_EIO;
        }
        if (n == 0)
            break; /* shorter than asked: the caller's comparison fails on len */
        got += (size_t)n;
    }
    memset(&fp, 0, sizeof(fp));
    fp.len = (uint32_t)got;
    if (EVP_Digest(head, got, fp.hash, &mdlen, fp_sha256(), NULL) != 1 || mdlen != sizeof(fp.hash))
        return HAF_ECRYPTO;
    *out = fp;
    return HAF_OK;
}

enum haf_err
tail_file_fingerprint(const struct tail_file *pub, uint32_t len, struct tail_fingerprint *out)
{
    const struct tfile *f = (const struct tfile *)pub;

    return tail_fingerprint_fd(f->fd, len, out);
}

bool
tail_fingerprint_eq(const struct tail_fingerprint *a, const struct tail_fingerprint *b)
{
    return a->len == b->len && memcmp(a->hash, b->hash, sizeof(a->hash)) == 0;
}

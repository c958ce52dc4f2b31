/*
 * replay_ledger.c: a stream's replay ledger on disk (contract in replay_ledger.h, record format
 * and searches in ledger_search.c).
 *
 * Marks are queued in memory and written with pwrite at the offset their record count gives, so
 * a write retried after a failure (a full disk) rewrites the same bytes: nothing is appended twice
 * and a short write leaves at most a torn record past the count, overwritten by the next write or
 * cut at the next open. Both files are fdatasync'd, and the directory fsync'd after a file was
 * created, in replay_ledger_sync, before the state save that relies on them. Until the files are
 * open, a mark cannot be placed in sorted order and is queued for the side file, which is correct
 * in any order. Errors are returned with a message; this module never logs.
 */
#include "haf/replay_ledger.h"
#include "haf/checkpoint.h"
#include "haf/ledger_search.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ledger_file {
    const char *suffix;
    int fd;        /* -1: not open (or, read-only, absent) */
    uint64_t n;    /* whole records on disk */
    bool unsynced; /* written since its last fdatasync */
    struct replay_mark *pend;
    size_t n_pend;
    size_t cap_pend;
};

struct replay_ledger {
    char *dir;     /* <state_dir>/ledger */
    char name[33]; /* hex of SHA-256(group NUL stream), first 16 bytes */
    bool writable;
    bool opened;
    bool new_entry; /* a file was created since: fsync the directory */
    int dfd;
    struct ledger_file main, side;
    bool has_last;
    struct replay_mark last; /* the newest main record, written or pending */
    struct ledger_cursor cur;
    uint64_t dropped;
    uint64_t set_aside;
};

/* Appends to msg (may be NULL); a message that does not fit is cut short, never an error. */
static void __attribute__((format(printf, 2, 3))) ledger_msgf(struct buf *msg, const char *fmt, ...)
{
    va_list ap;

    if (msg == NULL || msg->len > 0) /* the first failure says the most */
        return;
    va_start(ap, fmt);
    if (buf_vaddf(msg, fmt, ap) != HAF_OK) {
        /* best effort */
    }
    va_end(ap);
}

struct replay_ledger *
replay_ledger_new(const char *state_dir, const char *group, const char *stream, bool writable)
{
    struct replay_ledger *l = calloc(1, sizeof(*l));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    size_t gl = strlen(group), sl = strlen(stream), dl = strlen(state_dir);
    unsigned char *key = malloc(gl + 1 + sl + 1);

    if (l == NULL || key == NULL)
        goto fail;
    memcpy(key, group, gl + 1);
    memcpy(key + gl + 1, stream, sl);
    if (EVP_Digest(key, gl + 1 + sl, md, &md_len, EVP_sha256(), NULL) != 1 || md_len < 16)
        goto fail;
    for (int i = 0; i < 16; i++)
        (void)snprintf(l->name + 2 * i, 3, "%02x", md[i]);
    l->dir = malloc(dl + sizeof("/" LEDGER_DIR_NAME));
    if (l->dir == NULL)
        goto fail;
    memcpy(l->dir, state_dir, dl);
    memcpy(l->dir + dl, "/" LEDGER_DIR_NAME, sizeof("/" LEDGER_DIR_NAME));
    l->writable = writable;
    l->dfd = l->main.fd = l->side.fd = -1;
    l->main.suffix = "main";
    l->side.suffix = "side";
    free(key);
    return l;
fail:
    free(key);
    replay_ledger_free(l);
    return NULL;
}

static void
ledger_close(struct replay_ledger *l)
{
    if (l->main.fd >= 0)
        close(l->main.fd);
    if (l->side.fd >= 0)
        close(l->side.fd);
    if (l->dfd >= 0)
        close(l->dfd);
    l->dfd = l->main.fd = l->side.fd = -1;
    l->opened = false;
}

void
replay_ledger_free(struct replay_ledger *l)
{
    if (l == NULL)
        return;
    ledger_close(l);
    free(l->main.pend);
    free(l->side.pend);
    free(l->dir);
    free(l);
}

/* ---------------------------------------------------------------- raw I/O */

static enum haf_err
pread_all(int fd, void *p, size_t len, uint64_t off)
{
    unsigned char *c = p;

    while (len > 0) {
        ssize_t n = pread(fd, c, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return HAF_EIO; /* an error, or the file is shorter than its count */
        c += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return HAF_OK;
}

static enum haf_err
pwrite_all(int fd, const void *p, size_t len, uint64_t off)
{
    const unsigned char *c = p;

    while (len > 0) {
        ssize_t n = pwrite(fd, c, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return HAF_EIO;
        c += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return HAF_OK;
}

/* The ledger_reader over one file. */
static enum haf_err
file_read(void *ctx, uint64_t first, size_t n, struct replay_mark *out)
{
    const struct ledger_file *lf = ctx;
    unsigned char raw[LEDGER_BLOCK_RECS * LEDGER_REC_BYTES];
    enum haf_err e;

    if (n > LEDGER_BLOCK_RECS || lf->fd < 0 || first > lf->n || n > lf->n - first)
        return HAF_EINVAL;
    e = pread_all(lf->fd, raw, n * LEDGER_REC_BYTES, LEDGER_HDR_BYTES + first * LEDGER_REC_BYTES);
    if (e != HAF_OK)
        return e;
    for (size_t i = 0; i < n; i++)
        ledger_rec_decode(raw + i * LEDGER_REC_BYTES, &out[i]);
    return HAF_OK;
}

static struct ledger_reader
file_reader(struct ledger_file *lf)
{
    return (struct ledger_reader){.read = file_read, .ctx = lf, .count = lf->fd < 0 ? 0 : lf->n};
}

/* ---------------------------------------------------------------- opening */

/* A file whose header is not ours is renamed aside (as a corrupt state file is). */
static enum haf_err
file_set_aside(struct replay_ledger *l, const char *fname, struct buf *msg)
{
    char aside[96];

    (void)snprintf(aside, sizeof(aside), "%s.corrupt-%lld", fname, (long long)time(NULL));
    if (renameat(l->dfd, fname, l->dfd, aside) != 0) {
        ledger_msgf(msg, "replay ledger %s/%s is corrupt and cannot be renamed: %s", l->dir, fname,
                    strerror(errno));
        return HAF_EIO;
    }
    l->set_aside++;
    ledger_msgf(msg,
                "replay ledger %s/%s was corrupt: renamed %s; copies of the entries it "
                "recorded will be shipped again",
                l->dir, fname, aside);
    return HAF_OK;
}

/* Records of zeros at the end are not marks (a mark's hash is never 0 but with odds of 2^-64):
 * they are what a power loss can leave of an append whose size reached the disk before its data.
 * They are dropped from the count, so the sorted file stays sorted. */
static enum haf_err
zero_tail_cut(struct ledger_file *lf)
{
    static const unsigned char zero[LEDGER_REC_BYTES];
    unsigned char raw[LEDGER_REC_BYTES];

    while (lf->n > 0) {
        if (pread_all(lf->fd, raw, sizeof(raw),
                      LEDGER_HDR_BYTES + (lf->n - 1) * LEDGER_REC_BYTES) != HAF_OK)
            return HAF_EIO;
        if (memcmp(raw, zero, sizeof(raw)) != 0)
            break;
        lf->n--;
    }
    return HAF_OK;
}

/* Checks an open file and takes its size: a new or torn header starts it afresh, a torn tail is
 * cut, as are records of zeros at its end. HAF_EAGAIN when it was set aside (the caller opens it
 * again). */
static enum haf_err
file_adopt(struct replay_ledger *l, struct ledger_file *lf, const char *fname, struct buf *msg)
{
    unsigned char hdr[LEDGER_HDR_BYTES];
    struct stat sb;
    uint64_t size, rem;
    enum haf_err e;

    if (fstat(lf->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        ledger_msgf(msg, "replay ledger %s/%s is not a regular file", l->dir, fname);
        return HAF_EPERM;
    }
    e = ckpt_check_owner_mode(&sb, "replay ledger", fname, msg);
    if (e != HAF_OK)
        return e;
    size = (uint64_t)sb.st_size;
    lf->n = 0;
    if (size < LEDGER_HDR_BYTES) {
        if (!l->writable)
            return HAF_OK;
        ledger_hdr_encode(hdr);
        if (ftruncate(lf->fd, 0) != 0 || pwrite_all(lf->fd, hdr, sizeof(hdr), 0) != HAF_OK)
            goto io;
        lf->unsynced = l->new_entry = true;
        return HAF_OK;
    }
    if (pread_all(lf->fd, hdr, sizeof(hdr), 0) != HAF_OK)
        goto io;
    e = ledger_hdr_check(hdr);
    if (e == HAF_EINVAL) {
        ledger_msgf(msg, "replay ledger %s/%s is of a newer format; refusing to use it", l->dir,
                    fname);
        return HAF_EINVAL;
    }
    if (e != HAF_OK) {
        if (!l->writable)
            return HAF_OK;
        e = file_set_aside(l, fname, msg);
        return e == HAF_OK ? HAF_EAGAIN : e;
    }
    rem = (size - LEDGER_HDR_BYTES) % LEDGER_REC_BYTES;
    lf->n = (size - LEDGER_HDR_BYTES) / LEDGER_REC_BYTES;
    e = zero_tail_cut(lf);
    if (e != HAF_OK)
        goto io;
    if ((rem != 0 || lf->n * LEDGER_REC_BYTES + LEDGER_HDR_BYTES != size - rem) && l->writable &&
        ftruncate(lf->fd, (off_t)(LEDGER_HDR_BYTES + lf->n * LEDGER_REC_BYTES)) != 0)
        goto io;
    return HAF_OK;
io:
    ledger_msgf(msg, "replay ledger %s/%s: %s", l->dir, fname, strerror(errno));
    return HAF_EIO;
}

static enum haf_err
file_open(struct replay_ledger *l, struct ledger_file *lf, struct buf *msg)
{
    char fname[48];
    int flags = (l->writable ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC;
    enum haf_err e = HAF_EAGAIN;

    (void)snprintf(fname, sizeof(fname), "%s.%s", l->name, lf->suffix);
    for (int attempt = 0; attempt < 2 && e == HAF_EAGAIN; attempt++) {
        lf->fd = openat(l->dfd, fname, flags, 0600);
        if (lf->fd < 0) {
            if (!l->writable && errno == ENOENT)
                return HAF_OK;
            ledger_msgf(msg, "replay ledger %s/%s: %s", l->dir, fname, strerror(errno));
            return errno == ELOOP ? HAF_EPERM : HAF_EIO;
        }
        e = file_adopt(l, lf, fname, msg);
        if (e != HAF_OK) {
            close(lf->fd);
            lf->fd = -1;
        }
    }
    return e == HAF_EAGAIN ? HAF_EIO : e;
}

/* Creates (writable) and opens the ledger directory, checked as the state directory is: *dfd, or
 * -1 when a read-only ledger has no directory yet. */
static enum haf_err
ledger_dir_open(const char *dir, bool writable, int *dfd, struct buf *msg)
{
    struct stat sb;
    enum haf_err e;
    int fd;

    *dfd = -1;
    if (writable && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        ledger_msgf(msg, "cannot create the replay ledger directory %s: %s", dir, strerror(errno));
        return HAF_EIO;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (!writable && errno == ENOENT)
            return HAF_OK; /* nothing recorded yet */
        ledger_msgf(msg, "replay ledger directory %s: %s", dir, strerror(errno));
        return errno == ELOOP || errno == ENOTDIR ? HAF_EPERM : HAF_EIO;
    }
    if (fstat(fd, &sb) != 0) {
        ledger_msgf(msg, "replay ledger directory %s: %s", dir, strerror(errno));
        close(fd);
        return HAF_EIO;
    }
    e = ckpt_check_owner_mode(&sb, "replay ledger directory", dir, msg);
    if (e != HAF_OK) {
        close(fd);
        return e;
    }
    *dfd = fd;
    return HAF_OK;
}

enum haf_err
replay_ledger_prepare(const char *state_dir, bool writable, struct buf *msg)
{
    char *dir = malloc(strlen(state_dir) + sizeof("/" LEDGER_DIR_NAME));
    enum haf_err e;
    int dfd = -1;

    if (dir == NULL)
        return HAF_ENOMEM;
    memcpy(dir, state_dir, strlen(state_dir));
    memcpy(dir + strlen(state_dir), "/" LEDGER_DIR_NAME, sizeof("/" LEDGER_DIR_NAME));
    e = ledger_dir_open(dir, writable, &dfd, msg);
    if (dfd >= 0)
        close(dfd);
    free(dir);
    return e;
}

static enum haf_err
ledger_open(struct replay_ledger *l, struct buf *msg)
{
    enum haf_err e;

    if (l->opened)
        return HAF_OK;
    e = ledger_dir_open(l->dir, l->writable, &l->dfd, msg);
    if (e != HAF_OK)
        return e;
    if (l->dfd < 0) {
        l->opened = true; /* read-only, nothing recorded yet */
        return HAF_OK;
    }
    e = file_open(l, &l->main, msg);
    if (e == HAF_OK)
        e = file_open(l, &l->side, msg);
    if (e == HAF_OK && l->main.fd >= 0 && l->main.n > 0) {
        struct ledger_reader r = file_reader(&l->main);
        e = r.read(r.ctx, l->main.n - 1, 1, &l->last);
        if (e == HAF_OK)
            l->has_last = true;
        else
            ledger_msgf(msg, "replay ledger %s/%s.main cannot be read", l->dir, l->name);
    }
    if (e != HAF_OK) {
        ledger_close(l);
        return e;
    }
    ledger_cursor_reset(&l->cur);
    l->opened = true;
    return HAF_OK;
}

/* ---------------------------------------------------------------- writing */

static enum haf_err
file_flush(struct replay_ledger *l, struct ledger_file *lf, struct buf *msg)
{
    unsigned char raw[LEDGER_BLOCK_RECS * LEDGER_REC_BYTES];
    size_t done = 0;
    enum haf_err e = HAF_OK;

    while (done < lf->n_pend) {
        size_t k = lf->n_pend - done < LEDGER_BLOCK_RECS ? lf->n_pend - done : LEDGER_BLOCK_RECS;

        for (size_t i = 0; i < k; i++)
            ledger_rec_encode(&lf->pend[done + i], raw + i * LEDGER_REC_BYTES);
        e = pwrite_all(lf->fd, raw, k * LEDGER_REC_BYTES,
                       LEDGER_HDR_BYTES + lf->n * LEDGER_REC_BYTES);
        if (e != HAF_OK) {
            ledger_msgf(msg, "cannot write the replay ledger %s/%s.%s: %s", l->dir, l->name,
                        lf->suffix, strerror(errno));
            break;
        }
        lf->n += k;
        done += k;
        lf->unsynced = true;
    }
    if (done > 0) {
        memmove(lf->pend, lf->pend + done, (lf->n_pend - done) * sizeof(lf->pend[0]));
        lf->n_pend -= done;
    }
    return e;
}

static enum haf_err
ledger_flush(struct replay_ledger *l, struct buf *msg)
{
    enum haf_err e = ledger_open(l, msg);

    if (e == HAF_OK)
        e = file_flush(l, &l->main, msg);
    if (e == HAF_OK)
        e = file_flush(l, &l->side, msg);
    return e;
}

static enum haf_err
pend_push(struct replay_ledger *l, struct ledger_file *lf, const struct replay_mark *m,
          struct buf *msg)
{
    if (l->main.n_pend + l->side.n_pend >= LEDGER_PENDING_MAX) {
        l->dropped++;
        ledger_msgf(msg,
                    "replay ledger %s/%s: %u marks wait to be written; one is dropped (a copy "
                    "of its entry would be shipped again)",
                    l->dir, l->name, LEDGER_PENDING_MAX);
        return HAF_ETOOLONG;
    }
    if (lf->n_pend == lf->cap_pend) {
        size_t cap = lf->cap_pend ? lf->cap_pend * 2 : 64;
        struct replay_mark *p = realloc(lf->pend, cap * sizeof(*p));
        if (p == NULL) {
            l->dropped++;
            return HAF_ENOMEM;
        }
        lf->pend = p; /* the old pointer is dead */
        lf->cap_pend = cap;
    }
    lf->pend[lf->n_pend++] = *m;
    return HAF_OK;
}

static bool
pair_le(const struct replay_mark *a, const struct replay_mark *b)
{
    return a->reboot < b->reboot || (a->reboot == b->reboot && a->seq <= b->seq);
}

enum haf_err
replay_ledger_add(struct replay_ledger *l, const struct replay_mark *m,
                  const struct replay_mark *ceiling, struct buf *msg)
{
    enum haf_err e;
    bool to_main;

    if (!l->writable)
        return HAF_OK;
    e = ledger_open(l, msg);
    if (e != HAF_OK) {
        enum haf_err pe = pend_push(l, &l->side, m, msg);
        return pe != HAF_OK ? pe : e;
    }
    if (l->has_last && ledger_mark_cmp(m, &l->last) == 0)
        return HAF_OK;
    to_main = (!l->has_last || ledger_mark_cmp(m, &l->last) > 0) && pair_le(m, ceiling);
    if (!to_main) {
        /* Out of order: maybe recorded already (a crash after the ledger was written and before
         * the state file was: the restored window forgets those marks a second time). */
        enum replay_verdict v;
        if (replay_ledger_lookup(l, m, &v, NULL) == HAF_OK && v == REPLAY_SAME)
            return HAF_OK;
    }
    e = pend_push(l, to_main ? &l->main : &l->side, m, msg);
    if (e != HAF_OK)
        return e;
    if (to_main) {
        l->last = *m;
        l->has_last = true;
    }
    if (l->main.n_pend + l->side.n_pend >= LEDGER_FLUSH_RECS)
        return ledger_flush(l, msg);
    return HAF_OK;
}

static enum haf_err
file_sync(struct replay_ledger *l, struct ledger_file *lf, struct buf *msg)
{
    if (!lf->unsynced)
        return HAF_OK;
    if (fdatasync(lf->fd) != 0) {
        ledger_msgf(msg, "cannot sync the replay ledger %s/%s.%s: %s", l->dir, l->name, lf->suffix,
                    strerror(errno));
        return HAF_EIO;
    }
    lf->unsynced = false;
    return HAF_OK;
}

enum haf_err
replay_ledger_sync(struct replay_ledger *l, struct buf *msg)
{
    enum haf_err e;

    if (!l->writable ||
        (l->main.n_pend + l->side.n_pend == 0 && !l->main.unsynced && !l->side.unsynced))
        return HAF_OK;
    e = ledger_flush(l, msg);
    if (e == HAF_OK)
        e = file_sync(l, &l->main, msg);
    if (e == HAF_OK)
        e = file_sync(l, &l->side, msg);
    if (e == HAF_OK && l->new_entry) {
        if (fsync(l->dfd) != 0) {
            ledger_msgf(msg, "cannot sync the replay ledger directory %s: %s", l->dir,
                        strerror(errno));
            return HAF_EIO;
        }
        l->new_entry = false;
    }
    return e;
}

/* ---------------------------------------------------------------- lookups */

static enum replay_verdict
pend_lookup(const struct ledger_file *lf, const struct replay_mark *m)
{
    enum replay_verdict v = REPLAY_UNKNOWN;

    for (size_t i = 0; i < lf->n_pend; i++) {
        const struct replay_mark *p = &lf->pend[i];
        if (p->reboot != m->reboot || p->seq != m->seq)
            continue;
        if (p->hash == m->hash)
            return REPLAY_SAME;
        v = REPLAY_DIFFERENT;
    }
    return v;
}

enum haf_err
replay_ledger_lookup(struct replay_ledger *l, const struct replay_mark *m, enum replay_verdict *v,
                     struct buf *msg)
{
    enum replay_verdict found, more;
    struct ledger_reader r;
    enum haf_err e = ledger_open(l, msg);

    if (e != HAF_OK)
        return e;
    found = ledger_verdict_merge(pend_lookup(&l->main, m), pend_lookup(&l->side, m));
    /* A pair after the newest main record cannot be in the main file (an entry still on its way,
     * or never delivered): no binary search for it. */
    if (found != REPLAY_SAME &&
        !(l->has_last &&
          (m->reboot > l->last.reboot || (m->reboot == l->last.reboot && m->seq > l->last.seq)))) {
        r = file_reader(&l->main);
        e = ledger_search_sorted(&r, &l->cur, m, &more);
        if (e != HAF_OK)
            goto out;
        found = ledger_verdict_merge(found, more);
    }
    if (found != REPLAY_SAME) {
        r = file_reader(&l->side);
        e = ledger_search_linear(&r, m, &more);
        if (e != HAF_OK)
            goto out;
        found = ledger_verdict_merge(found, more);
    }
    *v = found;
out:
    if (e != HAF_OK)
        ledger_msgf(msg, "cannot read the replay ledger %s/%s: %s", l->dir, l->name,
                    haf_err_str(e));
    return e;
}

void
replay_ledger_get_info(const struct replay_ledger *l, struct replay_ledger_info *out)
{
    out->main_recs = l->main.n;
    out->side_recs = l->side.n;
    out->pending = l->main.n_pend + l->side.n_pend;
    out->dropped = l->dropped;
    out->set_aside = l->set_aside;
}

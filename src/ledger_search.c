/*
 * ledger_search.c: the replay ledger's record format and its searches (contract in
 * ledger_search.h).
 *
 * The sorted search is a lower bound on the pair (one record read per probe: O(log n) reads),
 * then a forward scan over the records with that pair (several when the pair was acknowledged
 * with more than one text). The block read by that scan becomes the cursor: an entry whose pair
 * lies strictly inside the block's range is answered from memory, which is what a copy of a
 * delivered file read in order asks for. Every index is checked against the reader's count before
 * it is read, so an unsorted (corrupt) sequence gives a wrong answer at worst.
 */
#include "haf/ledger_search.h"

#include <string.h>

static void
put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_u64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void
ledger_rec_encode(const struct replay_mark *m, unsigned char out[LEDGER_REC_BYTES])
{
    put_u64(out, m->reboot);
    put_u64(out + 8, m->seq);
    put_u64(out + 16, m->hash);
}

void
ledger_rec_decode(const unsigned char in[LEDGER_REC_BYTES], struct replay_mark *m)
{
    m->reboot = get_u64(in);
    m->seq = get_u64(in + 8);
    m->hash = get_u64(in + 16);
}

void
ledger_hdr_encode(unsigned char out[LEDGER_HDR_BYTES])
{
    memset(out, 0, LEDGER_HDR_BYTES);
    memcpy(out, LEDGER_MAGIC, 8);
    put_u64(out + 8, LEDGER_VERSION);
}

enum haf_err
ledger_hdr_check(const unsigned char in[LEDGER_HDR_BYTES])
{
    if (memcmp(in, LEDGER_MAGIC, 8) != 0 || get_u64(in + 16) != 0)
        return HAF_EPARSE;
    if (get_u64(in + 8) != LEDGER_VERSION)
        return HAF_EINVAL;
    return HAF_OK;
}

static int
pair_cmp(const struct replay_mark *a, const struct replay_mark *b)
{
    if (a->reboot != b->reboot)
        return a->reboot < b->reboot ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return 0;
}

int
ledger_mark_cmp(const struct replay_mark *a, const struct replay_mark *b)
{
    int c = pair_cmp(a, b);

    if (c != 0)
        return c;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return 0;
}

enum replay_verdict
ledger_verdict_merge(enum replay_verdict a, enum replay_verdict b)
{
    if (a == REPLAY_SAME || b == REPLAY_SAME)
        return REPLAY_SAME;
    if (a == REPLAY_DIFFERENT || b == REPLAY_DIFFERENT)
        return REPLAY_DIFFERENT;
    return REPLAY_UNKNOWN;
}

void
ledger_cursor_reset(struct ledger_cursor *c)
{
    c->first = 0;
    c->n = 0;
}

/* Folds records rec[i..n) with m's pair into *v; true when a record with another pair ended the
 * run (nothing further can match). */
static bool
scan_run(const struct replay_mark *rec, size_t i, size_t n, const struct replay_mark *m,
         enum replay_verdict *v)
{
    for (; i < n; i++) {
        if (pair_cmp(&rec[i], m) != 0)
            return true;
        if (rec[i].hash == m->hash) {
            *v = REPLAY_SAME;
            return true;
        }
        *v = REPLAY_DIFFERENT;
    }
    return false;
}

/* The answer from the cursor's block, when every record with m's pair must be inside it. */
static bool
cursor_answer(const struct ledger_cursor *c, uint64_t count, const struct replay_mark *m,
              enum replay_verdict *v)
{
    size_t lo = 0, hi;

    if (c == NULL || c->n == 0 || c->first > count || c->n > count - c->first)
        return false;
    if (pair_cmp(&c->rec[0], m) >= 0 || pair_cmp(m, &c->rec[c->n - 1]) >= 0)
        return false;
    hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pair_cmp(&c->rec[mid], m) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *v = REPLAY_UNKNOWN;
    (void)scan_run(c->rec, lo, c->n, m, v);
    return true;
}

enum haf_err
ledger_search_sorted(const struct ledger_reader *r, struct ledger_cursor *c,
                     const struct replay_mark *m, enum replay_verdict *v)
{
    struct replay_mark blk[LEDGER_BLOCK_RECS];
    enum replay_verdict found = REPLAY_UNKNOWN;
    uint64_t lo = 0, hi = r->count, pos;
    enum haf_err e;

    if (cursor_answer(c, r->count, m, v))
        return HAF_OK;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        e = r->read(r->ctx, mid, 1, blk);
        if (e != HAF_OK)
            return e;
        if (pair_cmp(&blk[0], m) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (pos = lo; pos < r->count;) {
        size_t n =
            r->count - pos < LEDGER_BLOCK_RECS ? (size_t)(r->count - pos) : LEDGER_BLOCK_RECS;
        bool ended;

        e = r->read(r->ctx, pos, n, blk);
        if (e != HAF_OK)
            return e;
        if (c != NULL && pos == lo) {
            memcpy(c->rec, blk, n * sizeof(blk[0]));
            c->first = pos;
            c->n = n;
        }
        ended = scan_run(blk, 0, n, m, &found);
        pos += n;
        if (ended)
            break;
    }
    *v = found;
    return HAF_OK;
}

enum haf_err
ledger_search_linear(const struct ledger_reader *r, const struct replay_mark *m,
                     enum replay_verdict *v)
{
    struct replay_mark blk[LEDGER_BLOCK_RECS];
    enum replay_verdict found = REPLAY_UNKNOWN;

    for (uint64_t pos = 0; pos < r->count && found != REPLAY_SAME;) {
        size_t n =
            r->count - pos < LEDGER_BLOCK_RECS ? (size_t)(r->count - pos) : LEDGER_BLOCK_RECS;
        enum haf_err e = r->read(r->ctx, pos, n, blk);

        if (e != HAF_OK)
            return e;
        for (size_t i = 0; i < n; i++) {
            if (pair_cmp(&blk[i], m) != 0)
                continue;
            if (blk[i].hash == m->hash) {
                found = REPLAY_SAME;
                break;
            }
            found = REPLAY_DIFFERENT;
        }
        pos += n;
    }
    *v = found;
    return HAF_OK;
}

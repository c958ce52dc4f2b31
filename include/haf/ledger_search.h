/*
 * ledger_search.h: the replay ledger's records and how they are searched, apart from the files
 * (replay_ledger.h does the I/O).
 *
 * A record is one acknowledged entry's mark (replay.h): reboot counter, sequence number and the
 * 64-bit hash of its text, each a little-endian u64: LEDGER_REC_BYTES bytes, after a header of
 * the same size. A ledger is two record sequences: "main", strictly increasing in (reboot, seq,
 * hash), searched by binary search; and "side", in any order, scanned. Records are read through
 * an abstract reader (a callback reading records [first, first + n)), so unit tests and the
 * fuzzer search memory and the daemon searches a file with pread.
 *
 * Contract: a search answers REPLAY_SAME when some record holds the pair and the hash,
 * REPLAY_DIFFERENT when records hold the pair only with other hashes, REPLAY_UNKNOWN otherwise.
 * On a main sequence that is not sorted (a corrupt file) the answer may be wrong, never a crash or
 * a read outside [0, n): a wrong SAME needs a record equal to the entry's pair and hash, which
 * only a forged ledger can hold. Memory is bounded: the cursor's block, nothing per record.
 * Pure: no I/O, no logging, no allocation.
 */
#ifndef HAF_LEDGER_SEARCH_H
#define HAF_LEDGER_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/err.h"
#include "haf/replay.h"

#define LEDGER_REC_BYTES 24
#define LEDGER_HDR_BYTES 24
/* Records read at once: a 4 KiB block for the cursor and the side scan. */
#define LEDGER_BLOCK_RECS 170

/* The header: magic, then the format version (u64 little-endian), then zeros. */
#define LEDGER_MAGIC   "HAFLEDG1"
#define LEDGER_VERSION 1

struct ledger_reader {
    /* Reads records [first, first + n) into out; n <= LEDGER_BLOCK_RECS, first + n <= count. */
    HAF_MUST_USE enum haf_err (*read)(void *ctx, uint64_t first, size_t n, struct replay_mark *out);
    void *ctx;
    uint64_t count; /* records in the sequence */
};

/* The block of main records around the last hit, so a copy read in order costs one read per
 * LEDGER_BLOCK_RECS entries instead of a binary search each. Reset it whenever the sequence
 * changes in a way other than growing at its end (ledger_cursor_reset). */
struct ledger_cursor {
    uint64_t first;
    size_t n;
    struct replay_mark rec[LEDGER_BLOCK_RECS];
};

void ledger_rec_encode(const struct replay_mark *m, unsigned char out[LEDGER_REC_BYTES]);
void ledger_rec_decode(const unsigned char in[LEDGER_REC_BYTES], struct replay_mark *m);
void ledger_hdr_encode(unsigned char out[LEDGER_HDR_BYTES]);
/* HAF_EPARSE for another magic or a non-zero reserved field, HAF_EINVAL for another version. */
HAF_MUST_USE enum haf_err ledger_hdr_check(const unsigned char in[LEDGER_HDR_BYTES]);
/* <0, 0, >0 as a is before, equal to, after b in (reboot, seq, hash) order. */
int ledger_mark_cmp(const struct replay_mark *a, const struct replay_mark *b);

void ledger_cursor_reset(struct ledger_cursor *c);
/* Searches a sorted main sequence; c may be NULL. *v written on success only. */
HAF_MUST_USE enum haf_err ledger_search_sorted(const struct ledger_reader *r,
                                               struct ledger_cursor *c, const struct replay_mark *m,
                                               enum replay_verdict *v);
/* Scans an unsorted side sequence block by block. *v written on success only. */
HAF_MUST_USE enum haf_err ledger_search_linear(const struct ledger_reader *r,
                                               const struct replay_mark *m, enum replay_verdict *v);
/* Combines two answers: SAME wins, then DIFFERENT. */
enum replay_verdict ledger_verdict_merge(enum replay_verdict a, enum replay_verdict b);

#endif

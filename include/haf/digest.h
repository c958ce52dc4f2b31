/*
 * digest.h: the per-stream hash chain over what CloudWatch acknowledged, and the signed digest
 * record that commits to it (what `verify` checks). Pure: no I/O, no logging, no signing.
 *
 * What is hashed. An event is exactly what GetLogEvents gives back: its CloudWatch timestamp
 * (int64 epoch ms) and its message bytes. Its leaf is
 *     leaf = SHA-256("haf-leaf-v1" 0x00 || be64(timestamp) || be64(len) || message)
 * so the encoding is length-prefixed and no two (timestamp, message) pairs share an input.
 *
 * Which events a digest covers. Digest k covers the events acknowledged since digest k-1. Each
 * record carries `after_ms`, the largest timestamp covered by any earlier digest of the chain
 * (-1 before the first). An event with timestamp > after_ms is "in range": a reader finds it by
 * timestamp alone, because the in-range timestamps of successive digests are disjoint and
 * increasing ((after_k, last_k] and after_{k+1} = max(after_k, last_k)). An event acknowledged
 * with timestamp <= after_ms (an HSM clock stepped back, a backlog shipped late) is "late": the
 * record lists it as (timestamp, leaf), at most DIGEST_MAX_LATE per record, so a reader can find
 * it without scanning. The accumulator says when it is full; the daemon then seals early.
 *
 * Canonical order. Within a digest the covered events are sorted by (timestamp, leaf bytes), an
 * order a reader can reproduce from CloudWatch alone (GetLogEvents orders by timestamp only, and
 * acknowledgement order is not visible afterwards). Then
 *     events_sha256 = SHA-256("haf-events-v1" 0x00 || be64(count) || leaf_1 || ... || leaf_n)
 *     chain_sha256  = SHA-256("haf-chain-v1" 0x00 || prev chain_sha256 || events_sha256)
 * with 32 zero bytes as the chain before the first digest, and prev_sha256 the SHA-256 of the
 * previous record's canonical bytes (32 zero bytes for the first). A heartbeat is a digest of
 * zero events; a stop record is the last digest of a clean shutdown.
 *
 * The record. One compact JSON object with the keys in this fixed order:
 *   {"haf_digest":1,"kind":"digest|heartbeat|stop","stream":S,"seq":N,"time_ms":T,
 *    "interval_s":I,"after_ms":A,"first_ms":F,"last_ms":L,"count":C,
 *    "first":{"reboot_counter":R,"sequence_no":Q}|null,"last":{...}|null,
 *    "late":[[T,"hex leaf"],...],"events_sha256":"hex","chain_sha256":"hex",
 *    "prev_sha256":"hex","key_id":K,"alg":ALG,"sig":"base64"}
 * The canonical bytes (what is signed and what prev_sha256 hashes) are that object without the
 * "sig" member, serialized by digest_record_canonical(): a reader re-serializes the parsed values,
 * so formatting of the received text cannot matter, and the shipped text is always the canonical
 * bytes with ,"sig":"..." inserted before the final brace. first_ms/last_ms are 0 when count is 0.
 * Integers are limited to 0..INT64_MAX (after_ms may be -1) so every JSON reader agrees on them.
 */
#ifndef HAF_DIGEST_H
#define HAF_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/buf.h"
#include "haf/err.h"
#include "haf/span.h"

#define DIGEST_SCHEMA_VERSION     1
#define DIGEST_MAX_EVENTS         65536 /* per record: the accumulator's memory is 40 B each */
#define DIGEST_MAX_LATE           256   /* per record: ~80 B each in the JSON */
#define DIGEST_RECORD_MAX_BYTES   65536 /* parser cap; a full record is ~25 KB */
#define DIGEST_MAX_SIG_BYTES      1024  /* RSA-4096 is 512 */
#define DIGEST_MAX_STRING_BYTES   1024  /* stream, key id, alg */
#define DIGEST_DEFAULT_INTERVAL_S 300

enum digest_kind { DIGEST_KIND_DIGEST, DIGEST_KIND_HEARTBEAT, DIGEST_KIND_STOP };

const char *digest_kind_str(enum digest_kind k);

/* An HSM (reboot_counter, sequence_no) position; absent for events without one (gap markers). */
struct digest_pos {
    bool present;
    uint64_t reboot_counter;
    uint64_t sequence_no;
};

struct digest_late {
    int64_t ts_ms;
    uint8_t leaf[32];
};

/* One leaf as the canonical order sorts it. */
struct digest_leaf {
    int64_t ts_ms;
    uint8_t hash[32];
};

/* qsort/bsearch order of leaves: by ts_ms, then by hash bytes (the order digest_events_hash
 * hashes them in, and the one verify looks them up by). */
int digest_leaf_cmp(const void *a, const void *b);

struct digest_record {
    enum digest_kind kind;
    char *stream;
    uint64_t seq; /* 1 for the first record of a chain */
    int64_t time_ms;
    uint32_t interval_s;
    int64_t after_ms; /* -1: nothing covered before */
    int64_t first_ms;
    int64_t last_ms;
    uint64_t count;
    struct digest_pos first; /* in acknowledgement order, among events that had one */
    struct digest_pos last;
    struct digest_late *late;
    size_t n_late;
    uint8_t events_sha256[32];
    uint8_t chain_sha256[32];
    uint8_t prev_sha256[32];
    char *key_id;
    char *alg;
    uint8_t *sig; /* NULL until signed */
    size_t sig_len;
};

void digest_record_clean_up(struct digest_record *r);

/* The head of a chain after its last record: what the daemon persists. A zeroed head with
 * after_ms -1 is the start of a chain (digest_head_init). */
struct digest_head {
    uint64_t seq;
    uint8_t chain_sha256[32];
    uint8_t record_sha256[32];
    int64_t after_ms;
};

void digest_head_init(struct digest_head *h);

/* ---- hashing ---- */

/* A reusable SHA-256 context with the algorithm fetched once: OpenSSL 3 fetches the
 * implementation again on every EVP_sha256() init, which doubled the cost of a leaf. One per
 * thread; the accumulator and verify.c each keep one. */
struct digest_hasher;
HAF_MUST_USE struct digest_hasher *digest_hasher_new(void);
void digest_hasher_free(struct digest_hasher *h);

/* h NULL: a temporary context (slower; for one-off use). */
HAF_MUST_USE enum haf_err digest_leaf_with(struct digest_hasher *h, int64_t ts_ms,
                                           struct span message, uint8_t out[32]);
HAF_MUST_USE enum haf_err digest_leaf(int64_t ts_ms, struct span message, uint8_t out[32]);

/* Sorts `leaves` in place into the canonical order, then hashes them (n may be 0). */
HAF_MUST_USE enum haf_err digest_events_hash(struct digest_leaf *leaves, size_t n, uint8_t out[32]);

HAF_MUST_USE enum haf_err digest_chain_next(const uint8_t prev_chain[32],
                                            const uint8_t events_sha256[32], uint8_t out[32]);

/* ---- the record ---- */

/* The bytes that are signed (no "sig"); `out` is reset first. HAF_EINVAL for a record that could
 * not be parsed back (an integer over INT64_MAX, an empty or non-UTF-8 string, a count of 0 with
 * first/last positions). */
HAF_MUST_USE enum haf_err digest_record_canonical(const struct digest_record *r, struct buf *out);

/* SHA-256 of the canonical bytes (the next record's prev_sha256). */
HAF_MUST_USE enum haf_err digest_record_hash(const struct digest_record *r, uint8_t out[32]);

/* The shipped text: canonical bytes plus "sig"; HAF_EINVAL when the record is not signed. */
HAF_MUST_USE enum haf_err digest_record_json(const struct digest_record *r, struct buf *out);

/*
 * Parse a record read back from CloudWatch (untrusted). Every key must be present once, with its
 * type, and no other key may appear; hex fields are 64 lower-case hex digits; "sig" is
 * standard base64 of 1..DIGEST_MAX_SIG_BYTES bytes. On success *out is written (release it with
 * digest_record_clean_up); on failure it is untouched and `why` (when not NULL) says what was
 * wrong. HAF_ETOOLONG above DIGEST_RECORD_MAX_BYTES, HAF_EPARSE for anything else malformed,
 * HAF_ENOMEM.
 */
HAF_MUST_USE enum haf_err digest_record_parse(struct span text, struct digest_record *out,
                                              struct buf *why);

/* ---- the accumulator (daemon side) ---- */

struct digest_acc {
    struct digest_head head;
    struct digest_hasher *hasher; /* created at the first add */
    struct digest_leaf *leaves;
    size_t n;
    size_t cap;
    size_t n_late;
    int64_t min_ms;
    int64_t max_ms;
    struct digest_pos first;
    struct digest_pos last;
};

/* Starts after `head` (a fresh chain: digest_head_init). */
void digest_acc_init(struct digest_acc *a, const struct digest_head *head);
void digest_acc_clean_up(struct digest_acc *a);

/* One acknowledged event, in acknowledgement order. HAF_ETOOLONG when the accumulator is full
 * (seal first; nothing was added). pos may be NULL. */
HAF_MUST_USE enum haf_err digest_acc_add(struct digest_acc *a, int64_t ts_ms, struct span message,
                                         const struct digest_pos *pos);

/* The same with the leaf already computed (digest_leaf_with when the event was queued: a batch
 * keeps only the escaped request body, not the message bytes). */
HAF_MUST_USE enum haf_err digest_acc_add_leaf(struct digest_acc *a, int64_t ts_ms,
                                              const uint8_t leaf[32], const struct digest_pos *pos);

/* True when the next add could fail: seal now. */
bool digest_acc_full(const struct digest_acc *a);

static inline size_t
digest_acc_count(const struct digest_acc *a)
{
    return a->n;
}

/*
 * Build the next record from what was added (kind DIGEST_KIND_HEARTBEAT is chosen for you when
 * nothing was, unless `kind` is DIGEST_KIND_STOP) and start a new interval after it: the head
 * moves to this record. The record is unsigned (sig NULL); key_id and alg are copied. *out is
 * written only on success; on failure the accumulator is unchanged.
 */
HAF_MUST_USE enum haf_err digest_acc_seal(struct digest_acc *a, enum digest_kind kind,
                                          const char *stream, int64_t time_ms, uint32_t interval_s,
                                          const char *key_id, const char *alg,
                                          struct digest_record *out);

/* ---- small helpers shared with sign.c and verify.c ---- */

/* Lower-case hex of n bytes into out (2n + 1 bytes with the NUL). */
void digest_hex(const uint8_t *p, size_t n, char *out);

#endif

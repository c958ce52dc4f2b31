/*
 * batch.h: one PutLogEvents request being assembled for one (log group, log stream).
 *
 * The JSON body is built incrementally as events are added, so a batch costs one copy of each
 * message (escaped once) and one SHA-256 at signing time. Every PutLogEvents limit is enforced here
 * (docs/cloudwatch-limits.md section 2): 1..10,000 events; sum of (UTF-8 message bytes + 26)
 * <= 1,048,576; each message 1..1,048,550 bytes (larger ones are split by the caller via
 * batch_split_point); non-decreasing timestamps; newest - oldest < 24 h. An event that does not
 * fit is refused with a reason, and the caller sends the batch first.
 *
 * The byte limit is AWS's formula on unescaped UTF-8; the serialized body is larger (JSON framing,
 * escapes: up to ~6.3 MB in the all-control-characters worst case). See batch.c.
 *
 * Per event the batch keeps what delivery needs after the answer: its source and end offset (for
 * checkpoints), its HSM (reboot_counter, sequence_no) (for seqtrack), and a 64-bit hash of the
 * message (to match events read back after an ambiguous failure).
 *
 * Pure: no I/O, no logging, no clock.
 */
#ifndef HAF_BATCH_H
#define HAF_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/buf.h"
#include "haf/err.h"
#include "haf/span.h"

#define BATCH_MAX_EVENTS           10000
#define BATCH_MAX_BYTES            1048576
#define BATCH_EVENT_OVERHEAD_BYTES 26
#define BATCH_MAX_MESSAGE_BYTES    (BATCH_MAX_BYTES - BATCH_EVENT_OVERHEAD_BYTES)
#define BATCH_MAX_SPAN_MS          (24 * 3600 * 1000LL)

struct batch_limits {
    uint32_t max_events; /* 1..10000 */
    uint32_t max_bytes;  /* by the CloudWatch formula; 27..1048576 */
};

struct batch_event {
    int64_t timestamp_ms;
    uint32_t body_off; /* this event's {"timestamp":..,"message":".."} object within the body */
    uint32_t body_len;
    uint32_t msg_bytes; /* unescaped UTF-8 length */
    uint64_t msg_hash;  /* batch_message_hash() of the unescaped message */
    /* delivery bookkeeping, opaque to the batch */
    uint32_t source_id;
    uint64_t src_end;
    bool has_seq;
    uint64_t reboot_counter;
    uint64_t sequence_no;
    /* digest leaf of the message as queued (digest.h), when digests are on */
    bool has_leaf;
    uint8_t leaf[32];
    uint64_t entry_hash; /* replay_hash() of the entry's text, for the replay window */
};

struct batch {
    struct batch_limits limits;
    char *group;
    char *stream;
    struct buf body; /* {"logGroupName":..,"logStreamName":..,"logEvents":[ ... */
    size_t prefix_len;
    struct batch_event *ev;
    size_t n_ev;
    size_t cap_ev;
    size_t payload_bytes; /* sum of msg_bytes + 26 per event */
    bool finished;        /* "]}" appended */
};

enum batch_fit {
    BATCH_FITS,
    BATCH_FULL,          /* count or bytes: send this batch first */
    BATCH_TIME_SPAN,     /* would span 24 h or more: send first */
    BATCH_TIME_ORDER,    /* older than the newest event in the batch: send first */
    BATCH_TOO_BIG,       /* the message alone exceeds BATCH_MAX_MESSAGE_BYTES: split it */
    BATCH_EMPTY_MESSAGE, /* CloudWatch rejects empty messages */
};

/* lim NULL means the CloudWatch maxima. Names must be 1..512 bytes (the model's limit); they are
 * copied and JSON-escaped. HAF_EINVAL for limits or names out of range (b is left zeroed). */
HAF_MUST_USE enum haf_err batch_init(struct batch *b, const struct batch_limits *lim,
                                     const char *group, const char *stream);
void batch_clean_up(struct batch *b);
/* Empty the batch, keeping group, stream, a sequence token if one is set, and allocations. */
void batch_reset(struct batch *b);

/* The bytes this batch uses: its body so far and its event records. */
size_t batch_used_bytes(const struct batch *b);
/* The bytes it has allocated for them (by capacity), in use or kept for reuse. */
size_t batch_mem_bytes(const struct batch *b);
/* Give back the allocations of an empty batch (after batch_reset), keeping its names, token and a
 * small body; a no-op for a batch holding events. */
void batch_release(struct batch *b);

static inline size_t
batch_count(const struct batch *b)
{
    return b->n_ev;
}

/* Whether an event of this time and size could be added now. Reasons are checked in this order:
 * EMPTY_MESSAGE, TOO_BIG (also when msg_bytes + 26 exceeds limits.max_bytes: it could never fit),
 * then (non-empty batch only) TIME_ORDER, TIME_SPAN, FULL. */
enum batch_fit batch_check(const struct batch *b, int64_t timestamp_ms, size_t msg_bytes);

/*
 * Add one event. `message` must be valid UTF-8 (the formatter guarantees it); it is JSON-escaped
 * into the body. `meta` supplies source_id, src_end and the sequence fields; the rest is filled in.
 * HAF_EINVAL when batch_check would not say BATCH_FITS, when timestamp_ms < 0 (the model's
 * minimum is 0; the caller's age check reclocks or drops such entries first), or after
 * batch_finish; nothing is added then. If `message` is not valid UTF-8 after all, each invalid
 * byte is sent as U+FFFD, and msg_bytes/msg_hash describe that replaced text (what CloudWatch
 * stores); if the replacement no longer fits, HAF_EINVAL.
 */
HAF_MUST_USE enum haf_err batch_add(struct batch *b, int64_t timestamp_ms, struct span message,
                                    const struct batch_event *meta);

/* Close the JSON and return the request body; the batch is read-only until batch_reset (or
 * batch_retain). Idempotent. HAF_EINVAL for an empty batch (CloudWatch needs 1..10,000 events). */
HAF_MUST_USE enum haf_err batch_finish(struct batch *b, struct span *body);

/* Keep only the events with keep[i] true (after a read-back found the others delivered), and
 * re-open the batch for batch_finish (and batch_add). Order is preserved; compacted in place, no
 * allocation. Keeping none leaves an empty batch: check batch_count before batch_finish. */
HAF_MUST_USE enum haf_err batch_retain(struct batch *b, const bool *keep);

/* Legacy endpoints: resend with "sequenceToken" (NULL removes it). Works on open and finished
 * batches. HAF_EINVAL for an empty token or one over 4096 bytes. */
HAF_MUST_USE enum haf_err batch_set_sequence_token(struct batch *b, const char *token);

/* 64-bit hash used to match read-back messages with batch events: a wyhash-style multiply-mix
 * hash (not bit-compatible with wyhash), ~16 GB/s; not collision-resistant against an attacker. */
uint64_t batch_message_hash(const char *msg, size_t len);

/*
 * For messages over BATCH_MAX_MESSAGE_BYTES (or `max`): the byte length of the next part, cut at
 * a UTF-8 character boundary, at most `max` bytes. The caller numbers the parts. Returns
 * message.len when it fits; 0 only for max 0 or an empty message; never cuts to an empty part
 * (with max < 4 a character may be cut, which batch_add then sends as U+FFFD).
 */
size_t batch_split_point(struct span message, size_t max);

#endif

/*
 * seqtrack.h: per-stream tracking of the HSM's (reboot_counter, sequence_no).
 *
 * CloudHSM numbers every audit entry; within one reboot counter the sequence has no gaps
 * (docs/audit-format.md section 2). We remember the last *acknowledged*
 * pair per stream (persisted with the checkpoint) to suppress entries replayed after a restart or
 * re-read after rotation, and the last *seen* pair to detect gaps and reboot-counter changes as
 * entries arrive. Pure: no I/O, no logging.
 */
#ifndef HAF_SEQTRACK_H
#define HAF_SEQTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEQTRACK_RANGES 64

/* A run of sequence numbers read in this process, lo..hi inclusive. */
struct seq_range {
    uint64_t reboot;
    uint64_t lo;
    uint64_t hi;
};

struct seqtrack {
    bool has_acked;
    uint64_t acked_reboot;
    uint64_t acked_seq;
    bool has_seen;
    uint64_t seen_reboot;
    uint64_t seen_seq;
    /* counters */
    uint64_t gaps;
    uint64_t missing; /* sequence numbers missing in all gaps */
    uint64_t replays; /* entries suppressed as already delivered */
    uint64_t reboots;
    /* Every (reboot, seq) read in this process, as sorted, merged runs (usually one). A full table
     * forgets its lowest run: that can only let a repeat through, never hold back a new entry. */
    struct seq_range ranges[SEQTRACK_RANGES];
    size_t n_ranges;
};

enum seq_verdict {
    SEQ_NEXT,      /* the expected next entry (or the first ever seen) */
    SEQ_REPLAY,    /* at or before the last acknowledged entry: already delivered, skip it */
    SEQ_GAP,       /* new, but sequence numbers were skipped: mark the gap, then send it */
    SEQ_REBOOT,    /* a new reboot counter: note it, then send it */
    SEQ_BACKWARDS, /* after the last ack but not after the last seen one: the seen pair stays */
};

struct seq_gap {
    uint64_t reboot_counter;
    uint64_t expected;    /* first missing sequence number */
    uint64_t received;    /* the sequence number that arrived */
    uint64_t prev_reboot; /* for SEQ_REBOOT */
};

void seqtrack_init(struct seqtrack *t);
/* Restore the acknowledged pair from the state file. It also becomes the last seen pair, so the
 * first entry after a restart is checked for a gap against what was delivered before. */
void seqtrack_restore(struct seqtrack *t, uint64_t reboot, uint64_t seq);
/* Classify an arriving entry and, unless it is a replay, record it as seen. Decided in this
 * order: at or before the acknowledged pair (lexicographic) is SEQ_REPLAY; nothing seen yet is
 * SEQ_NEXT; another reboot counter than the last seen is SEQ_REBOOT (no gap across reboots);
 * then seq == seen + 1 SEQ_NEXT, seq > seen + 1 SEQ_GAP, else SEQ_BACKWARDS. `gap` (may be NULL)
 * is written only for SEQ_GAP (reboot_counter, expected, received) and SEQ_REBOOT
 * (reboot_counter, received, prev_reboot; expected 0). No overflow at UINT64_MAX; counters
 * saturate. */
enum seq_verdict seqtrack_check(struct seqtrack *t, uint64_t reboot, uint64_t seq,
                                struct seq_gap *gap);
/* Whether (reboot, seq) was read before in this process (a copy of a file we already read
 * repeats such entries; seqtrack_check records every entry that is not a replay). */
bool seqtrack_seen(const struct seqtrack *t, uint64_t reboot, uint64_t seq);

/* CloudWatch acknowledged an entry: raises the acknowledged pair, never lowers it. */
void seqtrack_ack(struct seqtrack *t, uint64_t reboot, uint64_t seq);

#endif

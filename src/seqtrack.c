/*
 * seqtrack.c: classifying each arriving audit entry against the stream's last acknowledged and
 * last seen (reboot_counter, sequence_no) pairs. Pure: no I/O, no logging, no allocation.
 *
 * Order of the checks matters and is the whole design:
 *   1. At or before the acknowledged pair (lexicographic on (reboot, seq)): a replay. It is counted
 *      and not recorded as seen, so a replayed prefix cannot disturb gap detection.
 *   2. Nothing seen yet (no restored acknowledgement either): the first entry ever, SEQ_NEXT.
 *   3. A reboot counter other than the last seen one: SEQ_REBOOT. A new reboot counter restarts
 *      the sequence, so no gap is reported across reboots.
 *   4. Same reboot counter: seq == seen + 1 is SEQ_NEXT, seq > seen + 1 is SEQ_GAP, and anything
 *      not after the last seen one (but after the acknowledged one) is SEQ_BACKWARDS.
 * seqtrack_restore() also sets the seen pair to the acknowledged one, so the first entry after a
 * restart is checked for a gap against what was delivered before (entries lost while we were down
 * are reported). Arithmetic never overflows: "seen + 1" is formed only when seq > seen, and the
 * counters saturate at UINT64_MAX.
 */
#include "haf/seqtrack.h"

#include <string.h>

static void
seqtrack_count(uint64_t *counter, uint64_t n)
{
    *counter = (*counter > UINT64_MAX - n) ? UINT64_MAX : *counter + n;
}

/* Lexicographic (reboot, seq) <= (r2, s2). */
static bool
seqtrack_le(uint64_t reboot, uint64_t seq, uint64_t r2, uint64_t s2)
{
    return reboot < r2 || (reboot == r2 && seq <= s2);
}

void
seqtrack_init(struct seqtrack *t)
{
    memset(t, 0, sizeof(*t));
}

void
seqtrack_restore(struct seqtrack *t, uint64_t reboot, uint64_t seq)
{
    t->has_acked = true;
    t->acked_reboot = reboot;
    t->acked_seq = seq;
    t->has_seen = true;
    t->seen_reboot = reboot;
    t->seen_seq = seq;
}

static void
seqtrack_see(struct seqtrack *t, uint64_t reboot, uint64_t seq)
{
    t->has_seen = true;
    t->seen_reboot = reboot;
    t->seen_seq = seq;
}

enum seq_verdict
seqtrack_check(struct seqtrack *t, uint64_t reboot, uint64_t seq, struct seq_gap *gap)
{
    enum seq_verdict v;

    if (t->has_acked && seqtrack_le(reboot, seq, t->acked_reboot, t->acked_seq)) {
        seqtrack_count(&t->replays, 1);
        return SEQ_REPLAY;
    }
    if (!t->has_seen) {
        v = SEQ_NEXT;
    } else if (reboot != t->seen_reboot) {
        seqtrack_count(&t->reboots, 1);
        if (gap) {
            gap->reboot_counter = reboot;
            gap->expected = 0;
            gap->received = seq;
            gap->prev_reboot = t->seen_reboot;
        }
        v = SEQ_REBOOT;
    } else if (seq > t->seen_seq) {
        /* seq > seen_seq, so seen_seq + 1 cannot overflow. */
        uint64_t expected = t->seen_seq + 1;
        if (seq == expected) {
            v = SEQ_NEXT;
        } else {
            seqtrack_count(&t->gaps, 1);
            seqtrack_count(&t->missing, seq - expected);
            if (gap) {
                gap->reboot_counter = reboot;
                gap->expected = expected;
                gap->received = seq;
                gap->prev_reboot = reboot;
            }
            v = SEQ_GAP;
        }
    } else {
        v = SEQ_BACKWARDS;
    }
    seqtrack_see(t, reboot, seq);
    return v;
}

void
seqtrack_ack(struct seqtrack *t, uint64_t reboot, uint64_t seq)
{
    if (t->has_acked && seqtrack_le(reboot, seq, t->acked_reboot, t->acked_seq))
        return;
    t->has_acked = true;
    t->acked_reboot = reboot;
    t->acked_seq = seq;
}

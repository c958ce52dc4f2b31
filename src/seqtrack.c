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

static bool
range_holds(const struct seq_range *r, uint64_t reboot, uint64_t seq)
{
    return r->reboot == reboot && r->lo <= seq && seq <= r->hi;
}

bool
seqtrack_seen(const struct seqtrack *t, uint64_t reboot, uint64_t seq)
{
    /* Newest runs are at the end and are the likely hits. */
    for (size_t i = t->n_ranges; i > 0; i--)
        if (range_holds(&t->ranges[i - 1], reboot, seq))
            return true;
    return false;
}

/* Order of runs: by reboot counter, then by first sequence number. */
static bool
range_before(uint64_t reboot, uint64_t seq, const struct seq_range *r)
{
    return reboot < r->reboot || (reboot == r->reboot && seq < r->lo);
}

static void
range_remove(struct seqtrack *t, size_t i)
{
    memmove(&t->ranges[i], &t->ranges[i + 1], (t->n_ranges - i - 1) * sizeof(t->ranges[0]));
    t->n_ranges--;
}

static void
seqtrack_note(struct seqtrack *t, uint64_t reboot, uint64_t seq)
{
    size_t i;

    /* The common case: the next entry of the newest run. */
    if (t->n_ranges > 0) {
        struct seq_range *last = &t->ranges[t->n_ranges - 1];
        if (last->reboot == reboot && last->hi != UINT64_MAX && last->hi + 1 == seq) {
            last->hi = seq;
            return;
        }
    }
    if (seqtrack_seen(t, reboot, seq))
        return;
    /* i: the first run that comes after seq. */
    for (i = 0; i < t->n_ranges && !range_before(reboot, seq, &t->ranges[i]); i++)
        ;
    if (i > 0) {
        struct seq_range *prev = &t->ranges[i - 1];
        if (prev->reboot == reboot && prev->hi != UINT64_MAX && prev->hi + 1 == seq) {
            prev->hi = seq;
            if (i < t->n_ranges && t->ranges[i].reboot == reboot && t->ranges[i].lo == seq + 1) {
                prev->hi = t->ranges[i].hi;
                range_remove(t, i);
            }
            return;
        }
    }
    if (i < t->n_ranges && t->ranges[i].reboot == reboot && seq != UINT64_MAX &&
        t->ranges[i].lo == seq + 1) {
        t->ranges[i].lo = seq;
        return;
    }
    if (t->n_ranges == SEQTRACK_RANGES) {
        if (i == 0)
            return; /* below every run we keep: not worth a slot */
        range_remove(t, 0);
        i--;
    }
    memmove(&t->ranges[i + 1], &t->ranges[i], (t->n_ranges - i) * sizeof(t->ranges[0]));
    t->ranges[i] = (struct seq_range){.reboot = reboot, .lo = seq, .hi = seq};
    t->n_ranges++;
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
        /* Keep the newest seen entry: moving it back would report a false gap at the next
         * entry of the live file. */
        seqtrack_note(t, reboot, seq);
        return SEQ_BACKWARDS;
    }
    seqtrack_note(t, reboot, seq);
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

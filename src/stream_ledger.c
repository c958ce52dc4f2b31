/*
 * stream_ledger.c: a stream's replay window and its on-disk ledger as one record of every
 * acknowledged entry (replay.h, replay_ledger.h), for the daemon.
 *
 * Three hooks: stream_replay_note for each acknowledged entry (the mark the window forgets goes to
 * the ledger), stream_ledgers_sync before each state save (the state file that drops marks from
 * the window is written only once they are on disk: a false return holds the save, as a state
 * file that cannot be written does), and stream_replay_lookup for replay decisions (the window,
 * then the entries queued or in flight, then the ledger). A ledger that cannot be written holds
 * deliveries (nothing lost, nothing duplicated, a warning until it can be written again); one that
 * cannot be read makes a lookup answer "cannot tell", and the caller ships (at-least-once for that
 * entry, never a loss).
 */
#include <inttypes.h>

#include "daemon_internal.h"
#include "haf/log.h"

/* Without a state directory (only the stream model's unit tests build a daemon without one) the
 * stream has no ledger: nothing is recorded beyond the window, nothing is found. */
void
stream_ledger_open(struct daemon *d, struct stream *st)
{
    if (d->cfg->state_dir == NULL)
        return;
    st->ledger = replay_ledger_new(d->cfg->state_dir, st->group, st->name, !d->opts->dry_run);
    if (st->ledger == NULL)
        fatal("out of memory");
}

/* Logs what the ledger reported, once per episode of failures (ok ends the episode). */
static void
ledger_report(struct stream *st, enum haf_err e, const struct buf *msg, uint64_t set_aside_before)
{
    struct replay_ledger_info info;

    replay_ledger_get_info(st->ledger, &info);
    if (info.set_aside != set_aside_before && msg->len > 0)
        log_warnx("%s/%s: %.*s", st->group, st->name, (int)msg->len, msg->p);
    if (e == HAF_OK) {
        if (st->ledger_failing)
            log_notice("%s/%s: replay ledger written again", st->group, st->name);
        st->ledger_failing = false;
        return;
    }
    if (e == HAF_ETOOLONG || e == HAF_ENOMEM)
        log_err("%s/%s: %.*s", st->group, st->name, (int)msg->len, msg->p);
    else if (!st->ledger_failing)
        log_warnx("%s/%s: %.*s; holding deliveries until it can be written (nothing is lost)",
                  st->group, st->name, (int)msg->len, msg->p);
    st->ledger_failing = true;
}

void
stream_replay_note(struct daemon *d, struct stream *st, uint64_t reboot, uint64_t seq,
                   uint64_t hash)
{
    if (st->replay.n == REPLAY_WINDOW && st->ledger != NULL) {
        /* The window is full: its oldest mark leaves it for the ledger. Only pairs up to the
         * stream's trusted acknowledged one may extend the sorted main file. */
        struct replay_mark ceiling = {.reboot = st->seq.acked_reboot, .seq = st->seq.acked_seq};
        struct replay_ledger_info info;
        struct buf msg;
        enum haf_err e;

        replay_ledger_get_info(st->ledger, &info);
        buf_init(&msg, 0);
        e = replay_ledger_add(st->ledger, replay_at(&st->replay, 0), &ceiling, &msg);
        if (e == HAF_ETOOLONG || e == HAF_ENOMEM)
            d->stats.ledger_dropped++;
        if (e != HAF_OK || msg.len > 0)
            ledger_report(st, e, &msg, info.set_aside);
        buf_clean_up(&msg);
    }
    replay_note(&st->replay, reboot, seq, hash);
}

bool
stream_ledgers_sync(struct daemon *d)
{
    bool ok = true;

    for (size_t i = 0; i < d->n_streams; i++) {
        struct stream *st = d->streams[i];
        struct replay_ledger_info info;
        struct buf msg;
        enum haf_err e;

        if (st->ledger == NULL)
            continue;
        replay_ledger_get_info(st->ledger, &info);
        buf_init(&msg, 0);
        e = replay_ledger_sync(st->ledger, &msg);
        if (e != HAF_OK || msg.len > 0 || st->ledger_failing)
            ledger_report(st, e, &msg, info.set_aside);
        buf_clean_up(&msg);
        if (e != HAF_OK)
            ok = false;
    }
    return ok;
}

static enum replay_verdict
mark_match(bool has_seq, uint64_t reboot, uint64_t seq, uint64_t hash, const struct replay_mark *m,
           enum replay_verdict v)
{
    if (!has_seq || reboot != m->reboot || seq != m->seq)
        return v;
    return hash == m->hash ? REPLAY_SAME : REPLAY_DIFFERENT;
}

/* The stream's entries queued or in flight, not acknowledged yet (their marks are not in the
 * window): its ring of batches and the acknowledgements waiting for the head batch. Bounded by
 * the ring (RING_BATCHES batches of at most batch.max_events). */
static enum replay_verdict
inflight_lookup(const struct stream *st, const struct replay_mark *m)
{
    enum replay_verdict v = REPLAY_UNKNOWN;

    for (size_t i = 0; i < st->n && v != REPLAY_SAME; i++) {
        const struct batch *b = &st->ring[(st->head + i) % st->cap];
        for (size_t j = 0; j < b->n_ev && v != REPLAY_SAME; j++) {
            const struct batch_event *ev = &b->ev[j];
            v = mark_match(ev->has_seq, ev->reboot_counter, ev->sequence_no, ev->entry_hash, m, v);
        }
    }
    for (size_t i = 0; i < st->n_late && v != REPLAY_SAME; i++) {
        const struct late_ack *la = &st->late[i];
        v = mark_match(la->has_seq, la->reboot_counter, la->sequence_no, la->entry_hash, m, v);
    }
    return v;
}

enum replay_verdict
stream_replay_lookup(struct stream *st, const struct replay_mark *m, bool queued_too,
                     bool *unreadable)
{
    enum replay_verdict v = replay_lookup(&st->replay, m->reboot, m->seq, m->hash);
    enum replay_verdict more;
    struct buf msg;

    *unreadable = false;
    if (v != REPLAY_SAME && st->ledger != NULL) {
        buf_init(&msg, 0);
        if (replay_ledger_lookup(st->ledger, m, &more, &msg) == HAF_OK) {
            v = ledger_verdict_merge(v, more);
            st->ledger_unreadable = false;
        } else {
            *unreadable = true;
            if (!st->ledger_unreadable)
                log_err("%s/%s: %.*s; entries that may be copies are shipped (counted: "
                        "replay_older)",
                        st->group, st->name, (int)msg.len, msg.p);
            st->ledger_unreadable = true;
        }
        buf_clean_up(&msg);
    }
    /* Last: the scan of the queued entries is the longest (the ring's events), and an entry
     * acknowledged already is answered before it. */
    if (v != REPLAY_SAME && queued_too)
        v = ledger_verdict_merge(v, inflight_lookup(st, m));
    return v;
}

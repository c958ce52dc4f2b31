/*
 * replay.c: the window of acknowledged entries' (pair, hash) marks (contract in replay.h).
 *
 * A fixed ring, so memory and the state file stay bounded whatever the input: noting is O(1) on
 * the delivery path (every acknowledged entry), looking up is a scan of at most REPLAY_WINDOW marks
 * and happens only for entries of files without a checkpoint whose pair is not after the
 * acknowledged one, newest first, where a replay's marks are. Marks are not deduplicated: an
 * entry acknowledged twice (a read-back found it) spends two slots, which only shortens the window.
 */
#include "haf/replay.h"

#include "haf/batch.h"

void
replay_init(struct replay_window *w)
{
    w->first = 0;
    w->n = 0;
}

uint64_t
replay_hash(struct span text)
{
    return batch_message_hash(text.p, text.len);
}

void
replay_note(struct replay_window *w, uint64_t reboot, uint64_t seq, uint64_t hash)
{
    struct replay_mark m = {.reboot = reboot, .seq = seq, .hash = hash};

    if (w->n < REPLAY_WINDOW) {
        w->mark[(w->first + w->n) % REPLAY_WINDOW] = m;
        w->n++;
        return;
    }
    w->mark[w->first] = m;
    w->first = (w->first + 1) % REPLAY_WINDOW;
}

const struct replay_mark *
replay_at(const struct replay_window *w, size_t i)
{
    return &w->mark[(w->first + i) % REPLAY_WINDOW];
}

enum replay_verdict
replay_lookup(const struct replay_window *w, uint64_t reboot, uint64_t seq, uint64_t hash)
{
    enum replay_verdict v = REPLAY_UNKNOWN;

    for (size_t i = w->n; i > 0; i--) {
        const struct replay_mark *m = replay_at(w, i - 1);
        if (m->reboot != reboot || m->seq != seq)
            continue;
        if (m->hash == hash)
            return REPLAY_SAME;
        v = REPLAY_DIFFERENT;
    }
    return v;
}

void
replay_restore(struct replay_window *w, const struct replay_mark *marks, size_t n)
{
    size_t skip = n > REPLAY_WINDOW ? n - REPLAY_WINDOW : 0;

    replay_init(w);
    for (size_t i = skip; i < n; i++)
        replay_note(w, marks[i].reboot, marks[i].seq, marks[i].hash);
}

/*
 * replay.h: per-stream record of what was acknowledged, by content, to tell a replayed audit entry
 * from a different entry that carries an already used (reboot_counter, sequence_no).
 *
 * A file without a checkpoint (a copytruncate copy, a file back under a new inode, a rotated-in
 * file) can repeat entries already delivered; the pair alone cannot say so, since one corrupted or
 * forged line, or an HSM that reuses a pair, would then make us drop an entry never delivered.
 * So each acknowledged entry leaves a mark (pair, 64-bit hash of its text) in a window of the last
 * REPLAY_WINDOW acknowledged entries, persisted with the stream's checkpoint, and an entry is a
 * replay only when its pair AND its hash are in the window. A pair in the window with another hash
 * is a different entry (shipped, and the caller warns). The marks the window forgets go to the
 * stream's replay ledger on disk (replay_ledger.h), so the window and the ledger together answer
 * for every acknowledged entry, however old (the daemon asks both: stream_ledger.c). The hash is
 * not cryptographic: finding a second text with the hash of a delivered one lets a writer of the
 * audit file have that text skipped, which it could as well achieve by not writing it.
 * Pure: no I/O, no logging, no allocation.
 */
#ifndef HAF_REPLAY_H
#define HAF_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "haf/span.h"

/* Acknowledged entries remembered per stream in the state file (about 30 KiB per stream); older
 * ones are in the replay ledger. */
#define REPLAY_WINDOW 1024

struct replay_mark {
    uint64_t reboot;
    uint64_t seq;
    uint64_t hash;
};

/* A ring: mark[(first + i) % REPLAY_WINDOW] for i < n, oldest first. */
struct replay_window {
    struct replay_mark mark[REPLAY_WINDOW];
    size_t first;
    size_t n;
};

enum replay_verdict {
    REPLAY_UNKNOWN,   /* the pair is not in the window: ship it */
    REPLAY_SAME,      /* pair and text acknowledged before: a replay, skip it */
    REPLAY_DIFFERENT, /* the pair was acknowledged with another text: ship it, and warn */
};

void replay_init(struct replay_window *w);
/* The 64-bit hash of an entry's text, as marks hold it. */
uint64_t replay_hash(struct span text);
/* An entry was acknowledged: remember it, forgetting the oldest mark when the window is full. */
void replay_note(struct replay_window *w, uint64_t reboot, uint64_t seq, uint64_t hash);
/* Whether an arriving entry was acknowledged before; SAME when any mark has its pair and hash. */
enum replay_verdict replay_lookup(const struct replay_window *w, uint64_t reboot, uint64_t seq,
                                  uint64_t hash);
/* The i-th mark, oldest first (i < w->n). */
const struct replay_mark *replay_at(const struct replay_window *w, size_t i);
/* Replace the window by marks (oldest first, from the state file); only the last REPLAY_WINDOW
 * are kept. */
void replay_restore(struct replay_window *w, const struct replay_mark *marks, size_t n);

#endif

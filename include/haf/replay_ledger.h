/*
 * replay_ledger.h: every acknowledged entry's mark that left a stream's replay window, on disk,
 * so that a copy of a delivered entry is recognised however old it is (replay.h has the window).
 *
 * The window (REPLAY_WINDOW marks, in the state file) and the ledger together hold every mark the
 * stream ever acknowledged: a mark is appended here when the window forgets it, and the state file
 * that no longer holds it is written only after the ledger is on disk (replay_ledger_sync, called
 * before each state save). A crash between the two leaves the mark in both, which is harmless.
 *
 * Files: <state_dir>/ledger/<32 hex digits of SHA-256(group NUL stream)>.main and .side, created
 * 0600 in a 0700 directory, opened with O_NOFOLLOW, owner and mode checked as the state file's
 * (ckpt_check_owner_mode). Format and searches: ledger_search.h. "main" is sorted and grows at its
 * end (the common case: marks are forgotten in sequence order); a mark that does not extend it
 * (an entry acknowledged out of order, a pair reused with another text, a pair beyond the
 * stream's trusted acknowledged one, as a forged line would carry) goes to "side", which is
 * scanned. A torn last record (a crash mid-append) and records of zeros at the end (a power loss)
 * are cut off at open; a file with a bad header is renamed <name>.corrupt-<epoch> and started
 * afresh (its marks are forgotten: copies of those entries would be shipped again, never dropped);
 * a file of a newer format is refused.
 *
 * Cost: 24 bytes on disk per acknowledged entry beyond the window (2.3 MiB per 100,000 entries),
 * never reclaimed. Memory: the pending marks (flushed every LEDGER_FLUSH_RECS, and at each sync;
 * while writes fail they are kept, up to LEDGER_PENDING_MAX, past which marks are dropped and
 * counted) and one 4 KiB cursor block. A lookup is O(log n) preads plus a scan of the side file
 * and the pending marks; a copy read in order is answered from the cursor.
 */
#ifndef HAF_REPLAY_LEDGER_H
#define HAF_REPLAY_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "haf/buf.h"
#include "haf/err.h"
#include "haf/replay.h"

#define LEDGER_DIR_NAME    "ledger"
#define LEDGER_FLUSH_RECS  512
#define LEDGER_PENDING_MAX (256u * 1024)

struct replay_ledger;

struct replay_ledger_info {
    uint64_t main_recs; /* records in the main file (written) */
    uint64_t side_recs; /* records in the side file (written) */
    uint64_t pending;   /* marks not written yet */
    uint64_t dropped;   /* marks dropped with LEDGER_PENDING_MAX reached */
    uint64_t set_aside; /* corrupt files renamed away */
};

/* A ledger for one stream; no I/O until it is used (files are opened at the first add, sync or
 * lookup, and again after a failure). A read-only ledger (--dry-run) never creates or writes
 * anything: add keeps nothing, lookups read what exists. NULL only when out of memory. */
struct replay_ledger *replay_ledger_new(const char *state_dir, const char *group,
                                        const char *stream, bool writable);
void replay_ledger_free(struct replay_ledger *l);
/* At start: creates (writable) and checks <state_dir>/ledger as the state directory is checked,
 * so an unsafe one stops the start with its fix in msg (HAF_EPERM) rather than holding deliveries
 * later. */
HAF_MUST_USE enum haf_err replay_ledger_prepare(const char *state_dir, bool writable,
                                                struct buf *msg);

/* A mark left the window. `ceiling` is the highest pair trusted for the main file (the stream's
 * acknowledged pair; its hash is ignored). A mark equal to one already recorded is not added
 * again. HAF_EIO/HAF_EPERM/HAF_EINVAL (message in msg) when a flush failed: the mark is kept
 * pending; HAF_ETOOLONG when LEDGER_PENDING_MAX marks were pending: this one is dropped. */
HAF_MUST_USE enum haf_err replay_ledger_add(struct replay_ledger *l, const struct replay_mark *m,
                                            const struct replay_mark *ceiling, struct buf *msg);
/* Every mark added so far is on disk (written and fdatasync'd, only when there was something new).
 * Must succeed before a state file that drops marks from the window is written. */
HAF_MUST_USE enum haf_err replay_ledger_sync(struct replay_ledger *l, struct buf *msg);
/* What the ledger knows of m (pair and hash). *v written on success only; an error (the files
 * cannot be read) means "cannot tell". */
HAF_MUST_USE enum haf_err replay_ledger_lookup(struct replay_ledger *l, const struct replay_mark *m,
                                               enum replay_verdict *v, struct buf *msg);
void replay_ledger_get_info(const struct replay_ledger *l, struct replay_ledger_info *out);

#endif

/*
 * checkpoint.h: the state file: per-file read offsets and per-stream last acknowledged HSM
 * sequence, in $state_dir/state.json.
 *
 * Written atomically (temp file, fsync, rename, fsync directory) so it survives kill -9 and power
 * loss at any instant: a reader sees the old state or the new one, never a mix. A file offset
 * advances only after CloudWatch acknowledged every entry before it. A state file that cannot be
 * read or parsed is set aside (renamed to state.json.corrupt-<epoch>) with a clear message, and
 * the daemon starts from an empty state rather than crashing. The state directory must be ours and
 * not writable by others; files are created 0600 with O_NOFOLLOW.
 */
#ifndef HAF_CHECKPOINT_H
#define HAF_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "haf/buf.h"
#include "haf/err.h"
#include "haf/replay.h"
#include "haf/tail.h"

struct ckpt_file {
    char *path;
    uint64_t dev;
    uint64_t ino;
    struct tail_fingerprint fp;
    uint64_t offset; /* every entry before it is acknowledged */
    int64_t updated_ms;
    bool done; /* released after its last byte was acknowledged: nothing of it is owed */
    /* Bytes of the file handed to a request whose fate this state leaves open (the stream's
     * in-flight marker): after a crash, entries ending at or before it may have arrived and are
     * read back before they are sent (readback.c). 0, or not above offset: none. */
    uint64_t sent_end;
};

struct ckpt_stream {
    char *group;
    char *stream;
    bool has_seq;
    uint64_t reboot_counter;
    uint64_t sequence_no;
    /* A PutLogEvents request was in flight when this state was written: after a crash its fate is
     * unknown, so the first batch after start is checked against a read-back. */
    bool inflight;
    /* What the in-flight marker covers, so a restart can find it (readback.c): the time range of
     * those events and how many there may be (an upper bound). inflight_events 0: not known (a
     * file written before these keys), only the first batch after start is read back. */
    int64_t inflight_from_ms;
    int64_t inflight_to_ms;
    uint64_t inflight_events;
    /* The stream's digest chain (digest_emit.c) as compact JSON text: a JSON object, stored as
     * such under "digest". Owned; NULL for none. ckpt_set_stream keeps the existing one; only
     * ckpt_set_stream_digest changes it. */
    char *digest;
    /* The digest text was one JSON object when it was set (checked once there, not at every
     * save); ckpt_serialize refuses a state holding one that was not. */
    bool digest_ok;
    /* The last acknowledged entries' (pair, hash) marks, oldest first, at most REPLAY_WINDOW
     * (replay.h); owned: ckpt_set_stream copies them. */
    struct replay_mark *marks;
    size_t n_marks;
};

struct ckpt_state {
    struct ckpt_file *files;
    size_t n_files;
    struct ckpt_stream *streams;
    size_t n_streams;
};

void ckpt_state_init(struct ckpt_state *s);
void ckpt_state_clean_up(struct ckpt_state *s);

/*
 * Load $dir/state.json into `out` (initialized with ckpt_state_init; its old contents are released
 * on success). A missing file is an empty state (HAF_OK). A corrupt one (bad JSON, wrong types,
 * truncated, unreadable) is renamed to state.json.corrupt-<epoch>[.N], an empty state is returned
 * (HAF_OK) and `msg` says what happened. HAF_EPERM when the directory or file is writable by group
 * or others or not owned by the effective uid, or state.json is a symlink or not a regular file;
 * HAF_EIO when the directory cannot be opened; HAF_EINVAL when the file was written by a newer
 * version (left in place: discarding it would re-send everything).
 */
HAF_MUST_USE enum haf_err ckpt_load(const char *dir, struct ckpt_state *out, struct buf *msg);

/* Write atomically. HAF_EIO (errno kept) on failure; the previous file is then intact and no
 * state.json.tmp is left behind. A leftover or planted state.json.tmp is removed, never written
 * through. The file is created 0600 whatever the umask. */
HAF_MUST_USE enum haf_err ckpt_save(const char *dir, const struct ckpt_state *s);
/* The same, serializing into the caller's `scratch` (reset first, kept for the next save): the
 * daemon saves before every request, and a fresh buffer of ~100 KiB per save cost a mapping, its
 * page faults and a wipe each time. The text is not secret (it is the file's content). */
HAF_MUST_USE enum haf_err ckpt_save_with(const char *dir, const struct ckpt_state *s,
                                         struct buf *scratch);

/* Create the directory 0700 if missing; HAF_EPERM if it exists with unsafe ownership/mode. */
HAF_MUST_USE enum haf_err ckpt_prepare_dir(const char *dir, struct buf *msg);
/* The check every file and directory of the state passes (the replay ledger's too): owned by the
 * effective uid, not writable by group or others. HAF_EPERM, with the fix in msg, otherwise;
 * `what` names it in the message ("state directory"). */
HAF_MUST_USE enum haf_err ckpt_check_owner_mode(const struct stat *st, const char *what,
                                                const char *path, struct buf *msg);

/* Find by (dev, ino) whose fingerprint matches `fp` on the stored length; NULL when none. The
 * caller passes the fingerprint of the file's first ckpt->fp.len bytes. */
struct ckpt_file *ckpt_find_file(struct ckpt_state *s, uint64_t dev, uint64_t ino);
/* Insert or update by (dev, ino). */
HAF_MUST_USE enum haf_err ckpt_set_file(struct ckpt_state *s, const struct ckpt_file *f);
void ckpt_remove_file(struct ckpt_state *s, uint64_t dev, uint64_t ino);

/* True when f was last updated more than age_ms before now_ms (a file gone that long is pruned).
 * Never overflows, whatever the values. */
bool ckpt_file_stale(const struct ckpt_file *f, int64_t now_ms, int64_t age_ms);

struct ckpt_stream *ckpt_find_stream(struct ckpt_state *s, const char *group, const char *stream);
HAF_MUST_USE enum haf_err ckpt_set_stream(struct ckpt_state *s, const struct ckpt_stream *st);
/* Replace the stream's digest text (a copy is kept; NULL removes it). HAF_EINVAL when the stream
 * has no entry yet. The text must be one JSON object: ckpt_save fails on anything else. */
HAF_MUST_USE enum haf_err ckpt_set_stream_digest(struct ckpt_state *s, const char *group,
                                                 const char *stream, const char *json);

/* Parse/serialize (for tests and the fuzzer). uint64 values are written as decimal strings (exact
 * up to UINT64_MAX; JSON integers are also accepted on input); names that are not UTF-8 are
 * written as "<key>_hex". ckpt_parse writes `out` only on success: HAF_EPARSE for anything
 * malformed, HAF_EINVAL for a newer version; `msg` says why. */
HAF_MUST_USE enum haf_err ckpt_parse(const char *data, size_t len, struct ckpt_state *out,
                                     struct buf *msg);
HAF_MUST_USE enum haf_err ckpt_serialize(const struct ckpt_state *s, struct buf *out);

#endif

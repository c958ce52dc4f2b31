/*
 * tail.h: following the audit files named by the sources' globs.
 *
 * Globs are expanded at start and re-checked when a watched directory changes (inotify; a polling
 * fallback when inotify is unavailable or out of watches), so new files are picked up. A file is
 * known by (dev, inode) plus a fingerprint of its first bytes, so a reused inode never inherits an
 * old offset. Rotation by rename: the old file is read to EOF before it is let go. Copytruncate and
 * truncation (size below our offset): reading restarts at 0. Deletion while open: drained, then
 * closed. Reading never interprets content; the caller owns parsing and decides when to read
 * (while a stream cannot deliver, its files simply are not read: the file is the buffer).
 */
#ifndef HAF_TAIL_H
#define HAF_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "haf/err.h"

#define TAIL_FP_MAX_BYTES 1024 /* fingerprint covers the first min(size, this) bytes */
#define TAIL_POLL_INTERVAL_MS 1000

struct tail_fingerprint {
    uint32_t len;     /* bytes covered; 0 for an empty file */
    uint8_t hash[32]; /* SHA-256 of those bytes */
};

struct tail_file {
    char *path;        /* the path it was found under (the last name seen) */
    size_t source_idx; /* which config source's glob matched */
    uint64_t dev;
    uint64_t ino;
    struct tail_fingerprint fp;
    uint64_t offset;   /* next byte to read */
    bool draining;     /* renamed away or deleted: read to EOF, then released */
    void *user;        /* the caller's per-file state */
};

/* Decisions and notices from the tail to its owner. */
struct tail_callbacks {
    /* A file was found for the first time in this process. Return the offset to start reading at
     * (from a matching checkpoint, else 0 or the size for start_position: end). */
    uint64_t (*on_open)(void *ctx, struct tail_file *f);
    /* The file was truncated or replaced in place (copytruncate): reading restarts at 0, and any
     * partial entry held for it is void. */
    void (*on_truncate)(void *ctx, struct tail_file *f);
    /* The file is being released (draining and at EOF, or gone). f->user must be freed here. */
    void (*on_close)(void *ctx, struct tail_file *f);
    void *ctx;
};

struct tail_opts {
    bool force_poll;         /* do not use inotify */
    int poll_interval_ms;    /* 0: TAIL_POLL_INTERVAL_MS */
    int rotate_wait_ms;      /* how long a renamed/deleted file is kept after EOF; 0: 5000 */
};

struct tail;

HAF_MUST_USE struct tail *tail_new(const struct tail_opts *opts, const struct tail_callbacks *cb);
/* Releases every file (on_close is called for each). */
void tail_free(struct tail *t);

HAF_MUST_USE enum haf_err tail_add_glob(struct tail *t, const char *glob, size_t source_idx);

/* The fd to poll for readability (inotify), or -1 in polling mode. */
int tail_fd(const struct tail *t);
/* Milliseconds until tail_process should run again without an fd event; -1 for never. */
int tail_timeout_ms(const struct tail *t, int64_t now_ms);

/* Handle pending inotify events and, when due, rescan globs and stat files: finds new files,
 * rotations, truncations and deletions, and calls the callbacks. Non-blocking. */
HAF_MUST_USE enum haf_err tail_process(struct tail *t, int64_t now_ms);

/* Files with unread bytes (offset < size), in a fair order; NULL when none. Iterate with prev =
 * NULL first, then the last returned file. */
struct tail_file *tail_next_readable(struct tail *t, struct tail_file *prev);

/* Read up to cap bytes at f->offset and advance it. 0 at EOF (a draining file at EOF is released
 * at the next tail_process); -1 with errno on error. */
ssize_t tail_read(struct tail *t, struct tail_file *f, void *buf, size_t cap);

/* Fingerprint of the first min(size, TAIL_FP_MAX_BYTES) bytes of an open fd, or of the first
 * `len` bytes when len > 0 (to compare with a stored fingerprint). */
HAF_MUST_USE enum haf_err tail_fingerprint_fd(int fd, uint32_t len, struct tail_fingerprint *out);

/* Number of files currently open. */
size_t tail_file_count(const struct tail *t);

#endif

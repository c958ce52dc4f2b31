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

#define TAIL_FP_MAX_BYTES     1024 /* fingerprint covers the first min(size, this) bytes */
#define TAIL_POLL_INTERVAL_MS 1000
#define TAIL_RESCAN_MS        10000 /* safety rescan period even with inotify (see tail.c) */
#define TAIL_ROTATE_WAIT_MS   5000
#define TAIL_MAX_OPEN         1024

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
    uint64_t offset; /* next byte to read */
    bool draining;   /* renamed away or deleted: read to EOF, then released */
    void *user;      /* the caller's per-file state */
};

/* Decisions and notices from the tail to its owner. Any callback may be NULL (on_open NULL: start
 * at 0). They run from tail_add_glob and tail_process (on_open, on_truncate, on_close), from
 * tail_read (on_truncate, before the bytes from offset 0 are returned) and from tail_free
 * (on_close). A callback must not call back into the tail. */
struct tail_callbacks {
    /* A file was found for the first time in this process. Return the offset to start reading at
     * (from a matching checkpoint, else 0 or the size for start_position: end). f->fp is filled
     * in (for a checkpoint with a shorter fp.len, hash that prefix: tail_file_fingerprint). An
     * offset beyond the file's size is treated as a truncation at the next check (on_truncate,
     * restart at 0), so a stale checkpoint never skips data; better not to return one. Files
     * that appear after start are new files: the owner should start those at 0 whatever
     * start_position says. */
    uint64_t (*on_open)(void *ctx, struct tail_file *f);
    /* The file was truncated or replaced in place (copytruncate): reading restarts at 0, and any
     * partial entry held for it is void. */
    void (*on_truncate)(void *ctx, struct tail_file *f);
    /* The file is being released (draining and at EOF, or gone). f->user must be freed here. */
    void (*on_close)(void *ctx, struct tail_file *f);
    /* A matching symlink was not followed (tail_add_glob_flags says when). Called at every
     * attempt (each rescan), so an owner that warns keeps track of what it warned about. */
    void (*on_link_refused)(void *ctx, const char *path);
    void *ctx;
};

struct tail_opts {
    bool force_poll;      /* do not use inotify */
    int poll_interval_ms; /* 0: TAIL_POLL_INTERVAL_MS */
    int rotate_wait_ms;   /* how long a renamed/deleted file is kept after EOF; 0: 5000 */
    size_t max_open;      /* open files at most; 0: TAIL_MAX_OPEN (more matches wait, pending) */
    size_t max_watches;   /* inotify watches on files at most; 0: no limit of ours (the kernel's
                           * fs.inotify.max_user_watches still applies); beyond it files are polled */
};

/* Counters and gauges for the owner to log (once, when they change) and export. The tail itself
 * never logs. */
struct tail_stats {
    size_t files_open;          /* gauge: files followed (each holds one fd) */
    size_t files_pending;       /* gauge, last rescan: matched but not opened (max_open reached) */
    size_t files_skipped;       /* gauge, last rescan: matches that are not regular files */
    uint64_t open_failures;     /* stat/open refused (EACCES, ELOOP...): counted at every attempt,
                                 * retried at each rescan; log when errno or path changes */
    int last_open_errno;        /* errno of the latest of those, 0 if none */
    const char *last_open_path; /* its path; valid until the next tail_* call; NULL if none */
    uint64_t links_refused;     /* symlinks not followed (see tail_add_glob): counted at every
                                 * attempt, retried at each rescan; log when the path changes */
    const char *last_refused_link; /* its path; valid until the next tail_* call; NULL if none */
    uint64_t watch_failures;       /* inotify_add_watch refused (ENOSPC...): that path is polled */
    uint64_t truncations;          /* on_truncate calls */
    uint64_t rotations;            /* files renamed out of their glob or deleted, then drained */
    uint64_t releases;             /* on_close calls, tail_free excluded */
    uint64_t rescans;              /* glob expansions */
    bool inotify;      /* inotify is in use (false: force_poll or inotify_init failed) */
    bool polling;      /* something is polled: no inotify, a missing or wildcard
                        * directory, or a file or directory without a watch */
    size_t unreadable; /* gauge, last rescan: distinct paths refused (see
                        * tail_access_problems) */
};

/* A file or directory a glob reaches but the process may not read (EACCES, ELOOP...), as the
 * latest rescan found it: the owner turns it into a message saying which user needs which group.
 * uid/gid/mode come from stat(2) of the path when have_owner (a path inside a directory we may
 * not search cannot be stat'ed). */
struct tail_access_problem {
    const char *path; /* valid until the next tail_* call */
    int err;          /* errno of the refusal */
    bool is_dir;      /* a directory the glob could not list */
    bool have_owner;
    uint32_t uid, gid, mode;
};
#define TAIL_MAX_ACCESS_PROBLEMS 64 /* distinct paths kept per rescan; the rest only counted */

struct tail;

HAF_MUST_USE struct tail *tail_new(const struct tail_opts *opts, const struct tail_callbacks *cb);
/* Releases every file (on_close is called for each). NULL is accepted. */
void tail_free(struct tail *t);

/*
 * Adds a glob(3) pattern and expands it at once (on_open runs for each new match). A file that two
 * globs match is one tail_file, with the source_idx of the glob added first. HAF_EINVAL for an
 * empty pattern, HAF_ENOMEM.
 *
 * A match that is a symbolic link is followed only when its target resolves to a file inside the
 * directory the glob names (the pattern up to its last '/'; the matched file's own directory when
 * that part has wildcards), at any depth, and that file has the directory's owner or group: a
 * writer of the audit directory cannot make us read, and ship, a file we can read and they cannot
 * (the service's credentials, a token). Refused links are counted in the stats. The flag
 * TAIL_FOLLOW_SYMLINKS (the source option follow_symlinks: true) follows every link.
 */
#define TAIL_FOLLOW_SYMLINKS 0x1u
HAF_MUST_USE enum haf_err tail_add_glob_flags(struct tail *t, const char *glob, size_t source_idx,
                                              unsigned flags);
/* tail_add_glob_flags with no flags. */
HAF_MUST_USE enum haf_err tail_add_glob(struct tail *t, const char *glob, size_t source_idx);

/* The owner is done with a file it read to its end (--once with more matches than max_open):
 * release it now (on_close runs) and never open it again in this tail, so that a pending match
 * gets its place at the next tail_process. HAF_EINVAL when f is not followed. */
HAF_MUST_USE enum haf_err tail_let_go(struct tail *t, struct tail_file *f);

/* Follow a file no glob matches (a file renamed out of the globs while the owner was not running,
 * found again by the owner): on_open is called as for any new file, and the file is draining at
 * once: read to its end, then released. HAF_OK also when it is followed already; HAF_ENOTFOUND when
 * it is not a regular file any more or cannot be opened now. */
HAF_MUST_USE enum haf_err tail_adopt(struct tail *t, const char *path, size_t source_idx);

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
 * by tail_process once it has stayed at EOF for rotate_wait_ms); -1 with errno on error. When the
 * file grew since it was last checked its head is verified first, so a copytruncate refilled past
 * our offset restarts at 0 (on_truncate) instead of yielding bytes from the middle of an entry. */
ssize_t tail_read(struct tail *t, struct tail_file *f, void *buf, size_t cap);

/* Fingerprint of the first min(size, TAIL_FP_MAX_BYTES) bytes of an open fd, or of the first
 * `len` bytes when len > 0 (to compare with a stored fingerprint). A file shorter than len gives
 * the fingerprint of what it has (out->len < len), which never equals the stored one: compare
 * with tail_fingerprint_eq. HAF_EINVAL when len > TAIL_FP_MAX_BYTES, HAF_EIO (errno kept) when
 * the fd cannot be read, HAF_ECRYPTO. */
HAF_MUST_USE enum haf_err tail_fingerprint_fd(int fd, uint32_t len, struct tail_fingerprint *out);
/* tail_fingerprint_fd on a followed file's own fd (the one we read), e.g. inside on_open to hash
 * the first ckpt->fp.len bytes and compare with a checkpoint taken when the file was shorter. */
HAF_MUST_USE enum haf_err tail_file_fingerprint(const struct tail_file *f, uint32_t len,
                                                struct tail_fingerprint *out);
/* Same length and same hash. */
bool tail_fingerprint_eq(const struct tail_fingerprint *a, const struct tail_fingerprint *b);

/* Number of files currently open. */
size_t tail_file_count(const struct tail *t);
/* The file's size at the last check (fstat): the bytes from offset on are not read yet. */
uint64_t tail_file_size(const struct tail_file *f);

/* Snapshot of the counters. */
void tail_get_stats(const struct tail *t, struct tail_stats *out);

/* The unreadable paths of the latest rescan (at most TAIL_MAX_ACCESS_PROBLEMS, each once); *out
 * points into the tail and is valid until the next tail_* call. */
size_t tail_access_problems(const struct tail *t, const struct tail_access_problem **out);
/* True when some path is polled rather than watched (the owner logs it once). */
bool tail_polling(const struct tail *t);

#endif

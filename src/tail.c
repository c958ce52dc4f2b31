/*
 * tail.c: following the files that the sources' globs match, through rotation,
 * truncation, deletion and inode reuse. See tail.h for the contract; this
 * paragraph is the design of the module, whose parts are tail.c (one followed
 * file: open, check, read, release; inotify events; the public calls),
 * tail_glob.c (globs, rescans, links, access problems) and tail_ident.c (the
 * identity maps and fingerprints), sharing tail_internal.h.
 *
 * Identity. A followed file is one open fd, known by (st_dev, st_ino) of that
 * fd plus a SHA-256 fingerprint of its first min(size, TAIL_FP_MAX_BYTES)
 * bytes. Globs follow symlinks (an audit path may legitimately be a link), but
 * identity is always the target's (dev, ino) as fstat(2) reports it on our fd,
 * so a link and its target, two hard links, or two globs matching the same file
 * are one tail_file; the glob added first supplies source_idx ("first source
 * wins"), and the path is the first name seen until that name stops resolving
 * to the file. Because we hold the fd, the kernel cannot reuse the inode of a
 * file we follow; once we release it, a file that later shows up with the same
 * (dev, ino) is simply new to us: on_open gets it with its fingerprint filled
 * in, and the owner compares that with its checkpoint (stored fp.len says which
 * prefix).
 *
 * Events. With inotify, each glob's directory (the pattern up to its last '/',
 * when that part has no wildcard) is watched for entries appearing, leaving and
 * changing mode, and each open file for writes, attribute changes (unlink
 * lowers st_nlink) and moves. The file watch is added through /proc/self/fd/N
 * so it lands on the inode we opened even if the name was replaced in between.
 * Anything not watched is polled every poll_interval_ms: everything when
 * inotify_init fails or force_poll is set; a glob whose directory does not
 * exist yet, has wildcards in it, or whose watch was refused (ENOSPC: the
 * per-user watch limit); a file whose watch was refused or is over
 * opts.max_watches. Nothing is logged: tail_get_stats()/tail_polling() say what
 * happened. Even with every watch in place a full rescan (glob + fstat of every
 * file) runs every TAIL_RESCAN_MS. inotify is not a complete record: the queue
 * can overflow, network and FUSE filesystems do not report remote changes, a
 * directory can be replaced between our glob and our watch, and bind or overlay
 * mounts hide events; a periodic rescan bounds the delay of any such miss to
 * seconds instead of "until the next event", which for a quiet audit log may be
 * never.
 *
 * Rotation. A rescan marks every followed file it matches. A file it no longer
 * matches under any glob, and whose recorded name no longer resolves to it, was
 * renamed away or deleted: it becomes draining (its new name, from
 * /proc/self/fd, replaces path) and stays readable until it has been at EOF
 * without growth for rotate_wait_ms, then on_close releases it. Renamed to a
 * name a glob still matches, it keeps being followed under the new name with
 * the same fd and offset. A new file created under the old name is a new
 * tail_file.
 *
 * Truncation. Size below our offset, or a head that no longer hashes to the
 * stored fingerprint while (dev, ino) stayed, means the file was truncated or
 * rewritten in place (copytruncate): offset 0, fresh fingerprint, on_truncate.
 * A copytruncate that is refilled past our offset before we look is visible
 * only through the head, so the head is re-hashed whenever the size changed
 * since the last check, both in tail_process and at the start of tail_read.
 * That costs one pread of at most TAIL_FP_MAX_BYTES plus one SHA-256 per read
 * of a growing file, which we accept for audit data; reading a backlog of a
 * file that does not change costs one check in total. What stays undetectable
 * is a rewrite that reproduces the same first bytes (fp.len of them) and grows
 * past our offset between two looks. While a file is shorter than
 * TAIL_FP_MAX_BYTES its fingerprint grows with it, so owners persist the latest
 * f->fp.
 *
 * Links. A match that is a symbolic link is followed only when its target
 * resolves (realpath) inside the directory the glob names and has that
 * directory's owner or group (tail.h says why), unless the glob was added with
 * TAIL_FOLLOW_SYMLINKS. The check is on names, so the fd we then open must be
 * the (dev, ino) the check approved, or the match is refused this time (a link
 * swapped in between). Refusals are counted and the last one named in the
 * stats, for the owner to warn about; nothing is logged here.
 *
 * Limits. At most max_open files are open; further matches are counted as
 * pending and opened by the rescan that follows a release (they are not read
 * meanwhile: the trade-off that keeps fds bounded with 10,000 matches).
 * Directories, FIFOs, devices and sockets that a glob matches are skipped by
 * stat(2) before any open, so a FIFO never blocks us and a device never sees an
 * open. stat/open failures other than ENOENT (EACCES, ELOOP) are counted and
 * retried at each rescan; so are directories glob(3) cannot list (its errfunc).
 * Each rescan rebuilds the list of such paths (tail_access_problems), one entry
 * per path with the owner, group and mode stat(2) reports, so the owner can
 * say once per cause who needs which group.
 *
 * Fairness. tail_next_readable walks the files as a ring whose starting point
 * advances on every new walk, so a file that is always busy cannot starve the
 * others when the caller stops early.
 */
#include "tail_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

/* ---- small helpers ---- */

static int
rotate_wait_ms(const struct tail *t)
{
    return t->opts.rotate_wait_ms > 0 ? t->opts.rotate_wait_ms : TAIL_ROTATE_WAIT_MS;
}

static bool
globs_polled(const struct tail *t)
{
    if (t->ifd < 0)
        return t->n_globs > 0;
    for (size_t i = 0; i < t->n_globs; i++)
        if (t->globs[i].wd < 0)
            return true;
    return false;
}

/* Something needs a timer rather than an inotify event. Draining files count:
 * their release is a matter of time passing without growth, which no event
 * announces. */
static bool
needs_poll(const struct tail *t)
{
    if (globs_polled(t) || t->n_file_watches < t->n_files)
        return true;
    for (size_t i = 0; i < t->n_files; i++)
        if (t->files[i]->pub.draining)
            return true;
    return false;
}

/* ---- one followed file ---- */

static void
file_watch(struct tail *t, struct tfile *f)
{
    char proc[64];
    int wd;

    if (t->ifd < 0)
        return;
    if (t->opts.max_watches > 0 && t->n_file_watches >= t->opts.max_watches) {
        t->st.watch_failures++;
        return;
    }
    (void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
    wd = inotify_add_watch(t->ifd, proc, FILE_MASK);
    if (wd < 0 && errno == ENOENT) /* no /proc: the name is the next best thing */
        wd = inotify_add_watch(t->ifd, f->pub.path, FILE_MASK);
    if (wd < 0) {
        t->st.watch_failures++;
        return;
    }
    if (idmap_get(&t->by_wd, (uint64_t)wd, 0) != NULL ||
        idmap_put(&t->by_wd, (uint64_t)wd, 0, f) != HAF_OK) {
        /* Already ours (cannot happen: one tfile per inode) or no memory: poll this
         * one. */
        t->st.watch_failures++;
        return;
    }
    f->wd = wd;
    t->n_file_watches++;
}

static void
file_unwatch(struct tail *t, struct tfile *f, bool kernel_removed)
{
    if (f->wd < 0)
        return;
    if (!kernel_removed)
        (void)inotify_rm_watch(t->ifd, f->wd);
    idmap_del(&t->by_wd, (uint64_t)f->wd, 0);
    f->wd = -1;
    t->n_file_watches--;
}

static void
file_release(struct tail *t, struct tfile *f)
{
    size_t i = f->idx;

    if (t->cb.on_close != NULL)
        t->cb.on_close(t->cb.ctx, &f->pub);
    file_unwatch(t, f, false);
    idmap_del(&t->by_id, f->pub.dev, f->pub.ino);
    (void)close(f->fd);
    t->files[i] = t->files[t->n_files - 1];
    t->files[i]->idx = i;
    t->n_files--;
    free(f->pub.path);
    free(f);
}

/*
 * Re-examine an open file: deletion (st_nlink 0), truncation or in-place
 * rewrite (size below the offset or below the hashed head, or a head that
 * hashes differently), and growth of a short fingerprint. verify_head forces
 * the head check even when the size did not change.
 */
HAF_MUST_USE static enum haf_err
file_check(struct tail *t, struct tfile *f, bool verify_head)
{
    struct tail_fingerprint cur;
    struct stat st;
    bool truncated = false;
    uint64_t size;
    enum haf_err err = HAF_OK;

    if (fstat(f->fd, &st) != 0) {
        err = HAF_EIO;
        goto out;
    }
    size = (uint64_t)st.st_size;
    f->size = size;
    if (st.st_nlink == 0 && !f->pub.draining) {
        f->pub.draining = true;
        f->eof_since_ms = -1;
        t->st.rotations++;
    }
    if (size < f->pub.offset || size < f->pub.fp.len) {
        truncated = true;
    } else if (f->pub.fp.len > 0 && (verify_head || size != f->checked_size)) {
        err = tail_fingerprint_fd(f->fd, f->pub.fp.len, &cur);
        if (err != HAF_OK)
            goto out;
        truncated = !tail_fingerprint_eq(&cur, &f->pub.fp);
    }
    if (truncated) {
        err = tail_fingerprint_fd(f->fd, 0, &cur);
        if (err != HAF_OK)
            goto out;
        f->pub.fp = cur;
        f->pub.offset = 0;
        f->checked_size = size;
        f->eof_since_ms = -1;
        t->st.truncations++;
        if (t->cb.on_truncate != NULL)
            t->cb.on_truncate(t->cb.ctx, &f->pub);
        goto out;
    }
    if (f->pub.fp.len < TAIL_FP_MAX_BYTES && size > f->pub.fp.len) {
        /* The head up to fp.len was verified just above (or the file was empty):
         * extend it. */
        err = tail_fingerprint_fd(f->fd, 0, &cur);
        if (err != HAF_OK)
            goto out;
        if (cur.len > f->pub.fp.len)
            f->pub.fp = cur;
    }
    f->checked_size = size;
out:
    return err;
}

/* A draining file is done when it has stayed at EOF, at one size, for
 * rotate_wait_ms. */
static bool
file_drained(struct tail *t, struct tfile *f, int64_t now_ms)
{
    struct stat st;
    uint64_t size;

    if (fstat(f->fd, &st) != 0)
        return true; /* an fd that cannot be stat'ed cannot be read either */
    size = (uint64_t)st.st_size;
    f->size = size;
    if (f->pub.offset < size) {
        f->eof_since_ms = -1;
        return false;
    }
    if (f->eof_since_ms < 0 || size != f->eof_size) {
        f->eof_since_ms = now_ms;
        f->eof_size = size;
        return false;
    }
    return now_ms - f->eof_since_ms >= rotate_wait_ms(t);
}

/* The file no longer answers to any glob: renamed away or deleted. Learn its
 * new name if it has one, so the owner's messages name it where it is now. */
void
file_lost(struct tail *t, struct tfile *f)
{
    struct stat st;
    char proc[64];
    char name[PATH_MAX];
    ssize_t n;

    if (f->pub.draining)
        return;
    if (stat(f->pub.path, &st) == 0 && (uint64_t)st.st_dev == f->pub.dev &&
        (uint64_t)st.st_ino == f->pub.ino)
        return; /* still there; its directory could not be listed this time */
    f->pub.draining = true;
    f->eof_since_ms = -1;
    f->dirty = true;
    t->st.rotations++;
    if (fstat(f->fd, &st) != 0 || st.st_nlink == 0)
        return;
    (void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
    n = readlink(proc, name, sizeof(name) - 1);
    if (n > 0 && name[0] == '/') {
        char *copy = strndup(name, (size_t)n);

        if (copy != NULL) {
            free(f->pub.path);
            f->pub.path = copy;
        }
    }
}

/* A rescan met a file we follow under `path`. */
HAF_MUST_USE enum haf_err
file_seen_at(struct tfile *f, const char *path)
{
    struct stat st;

    if (f->seen)
        return HAF_OK; /* another name or glob already matched it in this rescan */
    f->seen = true;
    if (f->pub.draining) {
        /* Renamed back to a name a glob matches (deleted files have no name to
         * match). */
        f->pub.draining = false;
        f->eof_since_ms = -1;
    }
    if (strcmp(f->pub.path, path) != 0) {
        char *copy;

        if (stat(f->pub.path, &st) == 0 && (uint64_t)st.st_dev == f->pub.dev &&
            (uint64_t)st.st_ino == f->pub.ino)
            return HAF_OK; /* a second name (link); keep the first */
        copy = strdup(path);
        if (copy == NULL)
            return HAF_ENOMEM;
        free(f->pub.path);
        f->pub.path = copy;
    }
    return HAF_OK;
}

/* Open and follow path. `approved` (may be NULL) is the stat of a link's target that
 * link_allowed approved: the fd must be that file. */
HAF_MUST_USE enum haf_err
file_open(struct tail *t, const struct tglob *g, const char *path, const struct stat *approved)
{
    struct tail_fingerprint fp;
    struct tfile *f = NULL;
    struct tfile *known;
    struct stat st;
    enum haf_err err = HAF_OK;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE)
            t->st.files_pending++;
        else if (errno != ENOENT)
            note_open_failure(t, path, errno);
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        note_open_failure(t, path, errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) { /* replaced since our stat */
        t->st.files_skipped++;
        goto out;
    }
    if (approved != NULL && (st.st_dev != approved->st_dev || st.st_ino != approved->st_ino)) {
        note_link_refused(t, path); /* the link changed since it was checked */
        goto out;
    }
    known = idmap_get(&t->by_id, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (known != NULL) { /* a followed file was renamed here since our stat */
        err = file_seen_at(known, path);
        goto out;
    }
    err = tail_fingerprint_fd(fd, 0, &fp);
    if (err == HAF_EIO) {
        note_open_failure(t, path, errno);
        err = HAF_OK;
        goto out;
    }
    if (err != HAF_OK)
        goto out;
    if (t->n_files == t->cap_files) {
        size_t ncap = t->cap_files ? t->cap_files * 2 : 16;
        struct tfile **nf;

        if (ncap > SIZE_MAX / sizeof(*nf)) {
            err = HAF_ENOMEM;
            goto out;
        }
        nf = realloc(t->files, ncap * sizeof(*nf));
        if (nf == NULL) {
            err = HAF_ENOMEM;
            goto out;
        }
        t->files = nf; /* the old pointer is dead */
        t->cap_files = ncap;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL || (f->pub.path = strdup(path)) == NULL) {
        err = HAF_ENOMEM;
        goto out;
    }
    f->pub.source_idx = g->source_idx;
    f->pub.dev = (uint64_t)st.st_dev;
    f->pub.ino = (uint64_t)st.st_ino;
    f->pub.fp = fp;
    f->fd = fd;
    f->wd = -1;
    f->size = (uint64_t)st.st_size;
    f->checked_size = f->size;
    f->eof_since_ms = -1;
    f->seen = true;
    err = idmap_put(&t->by_id, f->pub.dev, f->pub.ino, f);
    if (err != HAF_OK)
        goto out;
    f->idx = t->n_files;
    t->files[t->n_files++] = f;
    fd = -1; /* the tfile owns it now */
    file_watch(t, f);
    f->pub.offset = t->cb.on_open != NULL ? t->cb.on_open(t->cb.ctx, &f->pub) : 0;
    f = NULL;
out:
    if (f != NULL) {
        free(f->pub.path);
        free(f);
    }
    if (fd >= 0)
        (void)close(fd);
    return err;
}

/* ---- inotify ---- */

static void
event_handle(struct tail *t, const struct inotify_event *ev, bool *check_all)
{
    struct tfile *f;
    bool dir_hit = false;

    if (ev->mask & IN_Q_OVERFLOW) {
        t->rescan_due = true;
        *check_all = true;
        return;
    }
    f = idmap_get(&t->by_wd, (uint64_t)ev->wd, 0);
    if (f != NULL) {
        f->dirty = true;
        if (ev->mask & IN_IGNORED)
            file_unwatch(t, f, true); /* polled from now on */
        if (ev->mask & IN_MOVE_SELF)
            t->rescan_due = true; /* does a glob still match its new name? */
        return;
    }
    for (size_t i = 0; i < t->n_globs; i++) {
        struct tglob *g = &t->globs[i];

        if (g->wd != ev->wd)
            continue;
        dir_hit = true;
        /* The directory went away or moved: its watch is useless; poll until it is
         * back. */
        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
            g->wd = -1;
    }
    if (dir_hit) {
        if (ev->mask & IN_MOVE_SELF) /* the watch follows the moved directory: drop it */
            (void)inotify_rm_watch(t->ifd, ev->wd);
        t->rescan_due = true;
    }
}

HAF_MUST_USE static enum haf_err
inotify_drain(struct tail *t, bool *check_all)
{
    char buf[EVENT_BUF_SIZE] __attribute__((aligned(__alignof__(struct inotify_event))));

    for (int reads = 0; reads < EVENT_READS_MAX; reads++) {
        ssize_t n = read(t->ifd, buf, sizeof(buf));
        size_t pos = 0;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return HAF_OK;
            return HAF_EIO;
        }
        if (n == 0)
            return HAF_OK;
        while (pos + sizeof(struct inotify_event) <= (size_t)n) {
            struct inotify_event ev;

            memcpy(&ev, buf + pos, sizeof(ev));
            if (ev.len > (size_t)n - pos - sizeof(ev))
                break;
            event_handle(t, &ev, check_all);
            pos += sizeof(ev) + ev.len;
        }
    }
    return HAF_OK;
}

/* ---- public ---- */

struct tail *
tail_new(const struct tail_opts *opts, const struct tail_callbacks *cb)
{
    struct tail *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    if (opts != NULL)
        t->opts = *opts;
    if (t->opts.poll_interval_ms <= 0)
        t->opts.poll_interval_ms = TAIL_POLL_INTERVAL_MS;
    if (cb != NULL)
        t->cb = *cb;
    t->ifd = -1;
    if (!t->opts.force_poll)
        t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    t->st.inotify = t->ifd >= 0;
    t->next_poll_ms = INT64_MIN;
    t->next_rescan_ms = INT64_MIN;
    return t;
}

void
tail_free(struct tail *t)
{
    if (t == NULL)
        return;
    while (t->n_files > 0)
        file_release(t, t->files[t->n_files - 1]);
    for (size_t i = 0; i < t->n_globs; i++) {
        free(t->globs[i].pattern);
        free(t->globs[i].dir);
    }
    if (t->ifd >= 0)
        (void)close(t->ifd);
    idmap_clean_up(&t->by_id);
    idmap_clean_up(&t->by_wd);
    idmap_clean_up(&t->let_go);
    free(t->globs);
    free(t->files);
    free(t->last_open_path);
    free(t->last_refused_link);
    problems_clear(t);
    free(t);
}

enum haf_err
tail_adopt(struct tail *t, const char *path, size_t source_idx)
{
    struct tglob g = {.wd = -1, .source_idx = source_idx};
    struct stat st;
    struct tfile *f;
    enum haf_err err;

    if (t == NULL || path == NULL)
        return HAF_EINVAL;
    /* lstat: a link is never adopted (its target could be anything); the fd must be the file
     * stat'ed (file_open's `approved`), not one renamed into its place since. */
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return HAF_ENOTFOUND;
    if (idmap_get(&t->by_id, (uint64_t)st.st_dev, (uint64_t)st.st_ino) != NULL)
        return HAF_OK; /* followed already */
    err = file_open(t, &g, path, &st);
    if (err != HAF_OK)
        return err;
    f = idmap_get(&t->by_id, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (f == NULL)
        return HAF_ENOTFOUND; /* replaced since our stat, or no descriptor left */
    /* No glob matches it: read it to its end, then release it, as a file renamed away. */
    f->pub.draining = true;
    f->eof_since_ms = -1;
    f->dirty = true;
    return HAF_OK;
}

enum haf_err
tail_let_go(struct tail *t, struct tail_file *pub)
{
    struct tfile *f;
    enum haf_err err;

    if (t == NULL || pub == NULL)
        return HAF_EINVAL;
    f = idmap_get(&t->by_id, pub->dev, pub->ino);
    if (f == NULL || &f->pub != pub)
        return HAF_EINVAL;
    err = idmap_put(&t->let_go, pub->dev, pub->ino, t);
    if (err != HAF_OK)
        return err;
    file_release(t, f);
    t->st.releases++;
    if (t->st.files_pending > 0)
        t->rescan_due = true; /* room for a file that was waiting */
    return HAF_OK;
}

int
tail_fd(const struct tail *t)
{
    return t->ifd;
}

int
tail_timeout_ms(const struct tail *t, int64_t now_ms)
{
    int64_t next = INT64_MAX;

    if (t->rescan_due)
        return 0;
    if (t->ifd >= 0)
        next = t->next_rescan_ms;
    if (needs_poll(t) && t->next_poll_ms < next)
        next = t->next_poll_ms;
    for (size_t i = 0; i < t->n_files; i++) {
        const struct tfile *f = t->files[i];

        if (f->pub.draining && f->eof_since_ms >= 0 && f->eof_since_ms + rotate_wait_ms(t) < next)
            next = f->eof_since_ms + rotate_wait_ms(t);
    }
    if (next == INT64_MAX)
        return -1;
    if (next <= now_ms)
        return 0;
    return next - now_ms > INT_MAX ? INT_MAX : (int)(next - now_ms);
}

enum haf_err
tail_process(struct tail *t, int64_t now_ms)
{
    enum haf_err err = HAF_OK;
    bool check_all = false;
    bool poll_tick = false;
    bool released = false;

    if (t->ifd >= 0) {
        err = inotify_drain(t, &check_all);
        if (err != HAF_OK)
            goto out;
    }
    if (now_ms >= t->next_rescan_ms) {
        t->rescan_due = true;
        check_all = true;
        t->next_rescan_ms = now_ms + TAIL_RESCAN_MS;
    }
    if (needs_poll(t) && now_ms >= t->next_poll_ms) {
        poll_tick = true;
        t->next_poll_ms = now_ms + t->opts.poll_interval_ms;
        for (size_t i = 0; i < t->n_globs; i++)
            glob_watch(t, &t->globs[i]); /* a missing directory may exist now */
        if (globs_polled(t))
            t->rescan_due = true;
    }
    if (t->rescan_due) {
        err = tail_rescan(t);
        if (err != HAF_OK)
            goto out;
    }
    for (size_t i = 0; i < t->n_files; i++) {
        struct tfile *f = t->files[i];

        if (check_all || f->dirty || (poll_tick && (f->wd < 0 || f->pub.draining))) {
            enum haf_err e = file_check(t, f, check_all);

            f->dirty = false;
            if (e != HAF_OK && err == HAF_OK)
                err = e; /* keep going: one bad file must not stall the others */
        }
    }
    for (size_t i = 0; i < t->n_files;) {
        struct tfile *f = t->files[i];

        if (f->pub.draining && file_drained(t, f, now_ms)) {
            file_release(t, f); /* moves the last file into slot i */
            t->st.releases++;
            released = true;
            continue;
        }
        i++;
    }
    if (released && t->st.files_pending > 0) {
        enum haf_err e = tail_rescan(t); /* room for files that were waiting */

        if (e != HAF_OK && err == HAF_OK)
            err = e;
    }
out:
    return err;
}

static bool
file_readable(struct tfile *f)
{
    struct stat st;

    if (fstat(f->fd, &st) != 0)
        return false;
    f->size = (uint64_t)st.st_size;
    return f->size > f->pub.offset;
}

struct tail_file *
tail_next_readable(struct tail *t, struct tail_file *prev)
{
    size_t n = t->n_files;
    size_t k;

    if (n == 0)
        return NULL;
    if (prev == NULL) {
        t->it_start = t->rr++ % n;
        k = 0;
    } else {
        const struct tfile *p = (const struct tfile *)prev;

        if (p->idx >= n || t->files[p->idx] != p)
            return NULL;
        k = (p->idx + n - t->it_start % n) % n + 1;
    }
    for (; k < n; k++) {
        struct tfile *f = t->files[(t->it_start + k) % n];

        if (file_readable(f))
            return &f->pub;
    }
    return NULL;
}

ssize_t
tail_read(struct tail *t, struct tail_file *pub, void *buf, size_t cap)
{
    struct tfile *f = (struct tfile *)pub;
    struct stat st;
    ssize_t n;

    if (fstat(f->fd, &st) != 0)
        return -1;
    if ((uint64_t)st.st_size != f->checked_size || (uint64_t)st.st_size < f->pub.offset) {
        enum haf_err err = file_check(t, f, false);

        if (err != HAF_OK) {
            if (err != HAF_EIO)
                errno = EIO;
            return -1;
        }
    }
    if (cap > SSIZE_MAX)
        cap = SSIZE_MAX;
    do {
        n = pread(f->fd, buf, cap, (off_t)f->pub.offset);
    } while (n < 0 && errno == EINTR);
    if (n > 0)
        f->pub.offset += (uint64_t)n;
    return n;
}

size_t
tail_file_count(const struct tail *t)
{
    return t->n_files;
}

uint64_t
tail_file_size(const struct tail_file *f)
{
    return ((const struct tfile *)(const void *)f)->size;
}

void
tail_get_stats(const struct tail *t, struct tail_stats *out)
{
    *out = t->st;
    out->files_open = t->n_files;
    out->last_open_path = t->last_open_path;
    out->last_refused_link = t->last_refused_link;
    out->inotify = t->ifd >= 0;
    out->polling = tail_polling(t);
}

bool
tail_polling(const struct tail *t)
{
    return globs_polled(t) || t->n_file_watches < t->n_files;
}

/*
 * checkpoint_file.c: the state file on disk (checkpoint.c has its model, serializer and parser).
 *
 * Saving: unlink a leftover state.json.tmp, create it afresh with O_EXCL|O_NOFOLLOW (so a planted
 * symlink or a file with other permissions is never written through), write everything, fsync,
 * rename over state.json, fsync the directory. Any failure removes the temp file and leaves the
 * previous state.json as it was; errno is preserved for the caller's message. A reader therefore
 * sees the old state or the new one, never a mix, and never reads state.json.tmp.
 *
 * Loading: all file access is relative to an fd of the directory (openat), so the checks made on
 * the directory apply to the files opened in it. The directory and file must be owned by the
 * effective uid and not writable by group or others; state.json must not be a symlink. A file that
 * does not parse is renamed to state.json.corrupt-<epoch> and an empty state is returned, because
 * refusing to start would stop the audit trail for longer than re-sending a few entries costs;
 * a file from a newer version is not set aside but refused, since discarding it would re-send
 * everything.
 */
#include "haf/checkpoint.h"
#include "checkpoint_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- files ---- */

/* Owned by us and not writable by group or others (also the replay ledger's check: checkpoint.h).
 */
enum haf_err
ckpt_check_owner_mode(const struct stat *st, const char *what, const char *path, struct buf *msg)
{
    uid_t me = geteuid();

    if (st->st_uid != me) {
        ckpt_msgf(msg,
                  "%s %s is owned by uid %u, not by the running user (uid %u); fix: chown %u %s",
                  what, path, (unsigned)st->st_uid, (unsigned)me, (unsigned)me, path);
        return HAF_EPERM;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        ckpt_msgf(msg, "%s %s is writable by group or others (mode %04o); fix: chmod go-w %s", what,
                  path, (unsigned)(st->st_mode & 07777), path);
        return HAF_EPERM;
    }
    return HAF_OK;
}

/* Opens the state directory and checks it; *dfd on success. */
static enum haf_err
ckpt_open_dir(const char *dir, int *dfd, struct buf *msg)
{
    struct stat st;
    enum haf_err e;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        int saved = errno;
        ckpt_msgf(msg, "state directory %s: %s", dir, strerror(saved));
        errno = saved;
        return HAF_EIO;
    }
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        ckpt_msgf(msg, "state directory %s: %s", dir, strerror(saved));
        close(fd);
        errno = saved;
        return HAF_EIO;
    }
    e = ckpt_check_owner_mode(&st, "state directory", dir, msg);
    if (e != HAF_OK) {
        close(fd);
        return e;
    }
    *dfd = fd;
    return HAF_OK;
}

enum haf_err
ckpt_prepare_dir(const char *dir, struct buf *msg)
{
    int dfd = -1;
    enum haf_err e;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int saved = errno;
        ckpt_msgf(msg, "cannot create state directory %s: %s", dir, strerror(saved));
        errno = saved;
        return HAF_EIO;
    }
    e = ckpt_open_dir(dir, &dfd, msg);
    if (dfd >= 0)
        close(dfd);
    return e;
}

/* Read the whole of fd, up to CKPT_MAX_BYTES + 1 so that an oversized file is noticed. */
static enum haf_err
ckpt_read_all(int fd, struct buf *b)
{
    char chunk[65536];

    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return HAF_EIO;
        }
        if (n == 0)
            return HAF_OK;
        if (b->len > CKPT_MAX_BYTES)
            return HAF_OK;
        if (buf_add(b, chunk, (size_t)n) != HAF_OK)
            return HAF_ENOMEM;
    }
}

/* Renames state.json to state.json.corrupt-<epoch>[.N], never over an existing file. */
static void
ckpt_set_aside(int dfd, const char *dir, struct buf *msg)
{
    char name[96];
    long long now = (long long)time(NULL);

    for (int i = 0; i < 100; i++) {
        if (i == 0)
            snprintf(name, sizeof(name), CKPT_NAME ".corrupt-%lld", now);
        else
            snprintf(name, sizeof(name), CKPT_NAME ".corrupt-%lld.%d", now, i);
        if (renameat2(dfd, CKPT_NAME, dfd, name, RENAME_NOREPLACE) == 0) {
            ckpt_msgf(msg, "; set aside as %s/%s, starting from an empty state", dir, name);
            return;
        }
        if (errno == EINVAL || errno == ENOSYS) {
            /* The file system cannot refuse to replace: check first (we own the directory). */
            if (faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                continue;
            if (renameat(dfd, CKPT_NAME, dfd, name) == 0) {
                ckpt_msgf(msg, "; set aside as %s/%s, starting from an empty state", dir, name);
                return;
            }
        }
        if (errno != EEXIST)
            break;
    }
    ckpt_msgf(msg, "; could not set it aside (%s), starting from an empty state", strerror(errno));
}

enum haf_err
ckpt_load(const char *dir, struct ckpt_state *out, struct buf *msg)
{
    struct buf data;
    struct ckpt_state s;
    struct stat st;
    struct buf why;
    enum haf_err e;
    int dfd = -1, fd = -1;

    buf_init(&data, 0);
    buf_init(&why, 4096);
    ckpt_state_init(&s);
    e = ckpt_open_dir(dir, &dfd, msg);
    if (e != HAF_OK)
        goto out;
    fd = openat(dfd, CKPT_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int saved = errno;
        if (saved == ENOENT) {
            e = HAF_OK;
            goto done;
        }
        if (saved == ELOOP) {
            ckpt_msgf(msg, "%s/" CKPT_NAME " is a symbolic link; refusing to follow it", dir);
            e = HAF_EPERM;
        } else {
            ckpt_msgf(msg, "%s/" CKPT_NAME ": %s", dir, strerror(saved));
            e = HAF_EIO;
        }
        errno = saved;
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        ckpt_msgf(msg, "%s/" CKPT_NAME ": %s", dir, strerror(errno));
        e = HAF_EIO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ckpt_msgf(msg, "%s/" CKPT_NAME " is not a regular file", dir);
        e = HAF_EPERM;
        goto out;
    }
    if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/" CKPT_NAME, dir);
        e = ckpt_check_owner_mode(&st, "state file", path, msg);
        goto out;
    }
    e = ckpt_read_all(fd, &data);
    if (e == HAF_EIO) {
        int saved = errno;
        /* A read error (EIO from the device) is treated as corruption: the content is lost to us.
         */
        ckpt_msgf(&why, "read error: %s", strerror(saved));
    } else if (e != HAF_OK) {
        goto out;
    } else {
        e = ckpt_parse(data.p ? data.p : "", data.len, &s, &why);
        if (e == HAF_EINVAL) {
            ckpt_msgf(msg,
                      "%s/" CKPT_NAME ": %s; refusing to discard it (it was written by a newer "
                      "release: run that release or a newer one; moving the file away re-sends "
                      "everything it covers)",
                      dir, buf_cstr(&why));
            goto out;
        }
        if (e == HAF_ENOMEM)
            goto out;
    }
    if (e != HAF_OK) {
        ckpt_msgf(msg, "%s/" CKPT_NAME " is corrupt (%s)", dir, buf_cstr(&why));
        ckpt_set_aside(dfd, dir, msg);
        ckpt_state_clean_up(&s);
    }
done:
    ckpt_state_clean_up(out);
    *out = s;
    ckpt_state_init(&s);
    e = HAF_OK;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    ckpt_state_clean_up(&s);
    buf_clean_up(&data);
    buf_clean_up(&why);
    return e;
}

static int
ckpt_write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

enum haf_err
ckpt_save(const char *dir, const struct ckpt_state *s)
{
    struct buf text;
    enum haf_err e;

    buf_init(&text, 0);
    e = ckpt_save_with(dir, s, &text);
    buf_clean_up(&text);
    return e;
}

enum haf_err
ckpt_save_with(const char *dir, const struct ckpt_state *s, struct buf *scratch)
{
    struct buf text = *scratch;
    enum haf_err e;
    int dfd = -1, fd = -1, saved = 0;
    bool tmp_exists = false;

    buf_reset(&text);
    e = ckpt_serialize(s, &text);
    if (e != HAF_OK) {
        saved = ENOMEM;
        goto out;
    }
    e = HAF_EIO;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        saved = errno;
        goto out;
    }
    /* A leftover temp file (crash mid-write) or anything planted there is removed, so the file we
     * write is always new, 0600, and ours. */
    if (unlinkat(dfd, CKPT_TMP_NAME, 0) != 0 && errno != ENOENT) {
        saved = errno;
        goto out;
    }
    fd = openat(dfd, CKPT_TMP_NAME, O_CREAT | O_EXCL | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                0600);
    if (fd < 0) {
        saved = errno;
        goto out;
    }
    tmp_exists = true;
    if (fchmod(fd, 0600) != 0 || ckpt_write_all(fd, text.p, text.len) != 0 || fsync(fd) != 0) {
        saved = errno;
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        saved = errno;
        goto out;
    }
    fd = -1;
    if (renameat(dfd, CKPT_TMP_NAME, dfd, CKPT_NAME) != 0) {
        saved = errno;
        goto out;
    }
    tmp_exists = false;
    if (fsync(dfd) != 0) {
        saved = errno;
        goto out;
    }
    e = HAF_OK;
out:
    if (fd >= 0)
        close(fd);
    if (tmp_exists)
        (void)unlinkat(dfd, CKPT_TMP_NAME, 0);
    if (dfd >= 0)
        close(dfd);
    *scratch = text; /* it may have grown */
    if (e != HAF_OK)
        errno = saved;
    return e;
}

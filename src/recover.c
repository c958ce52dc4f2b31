/*
 * recover.c: the promises the state file holds for files that are not where they were.
 *
 * A checkpoint of a file that was not released as done (daemon_internal.h: its last byte
 * acknowledged after the tail let it go) is a promise: the file may hold bytes we never read. When
 * a restart (or a reload) finds no followed file with the checkpoint's (dev, inode), the file was
 * renamed out of the source's glob (logrotate's a.log -> a.log.1) or deleted while we were not
 * running. We look for it by (dev, inode, fingerprint) in the directory it was in and in the
 * directories of the sources' globs; found, it is followed under its new name (tail_adopt) from
 * its checkpoint, in the stream its old name gave, and released at its end: its entries come
 * before those of its successor (files are read oldest first). Not found, a
 * {"event":"file_lost",...} marker names it in its stream, it is logged at error and counted, and
 * --once exits non-zero: what it held after the checkpoint is gone, and the marker says so.
 *
 * Cost: one readdir and stat per directory entry for each missing checkpoint, at start and at
 * each reload only; bounded by RECOVER_MAX_DIRENTS per directory.
 */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_internal.h"
#include "haf/log.h"
#include "haf/streamname.h"

#define RECOVER_MAX_DIRENTS 100000

/* The source whose glob matches path (the file's name when it was checkpointed), or NULL. */
static const struct config_source *
source_for(struct daemon *d, const char *path, size_t *idx)
{
    for (size_t i = 0; i < d->cfg->n_sources; i++)
        if (fnmatch(d->cfg->sources[i].path, path, FNM_PATHNAME) == 0) {
            *idx = i;
            return &d->cfg->sources[i];
        }
    return NULL;
}

static bool
followed(const struct daemon *d, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < d->n_files; i++)
        if (d->files[i] != NULL && d->files[i]->dev == dev && d->files[i]->ino == ino &&
            !d->files[i]->superseded)
            return true;
    return false;
}

/* Whether the file is a compressed rotation (logrotate's compress, with or without delaycompress,
 * or a compressor that resets the mtime): by its name's suffix, or by the compression magic of its
 * first bytes. Such a file is not a plain-text continuation of the checkpointed one: its entries
 * were in a plain file read already (or lost with it), and its bytes are no audit entries. */
static bool
is_compressed(const char *path)
{
    static const char *const suffixes[] = {".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z"};
    static const struct {
        size_t len;
        uint8_t b[6];
    } magics[] = {
        {2, {0x1f, 0x8b}},                     /* gzip */
        {2, {0x1f, 0x9d}},                     /* compress (.Z) */
        {3, {'B', 'Z', 'h'}},                  /* bzip2 */
        {6, {0xfd, '7', 'z', 'X', 'Z', 0x00}}, /* xz */
        {4, {0x28, 0xb5, 0x2f, 0xfd}},         /* zstd */
        {4, {0x04, 0x22, 0x4d, 0x18}},         /* lz4 frame */
    };
    size_t len = strlen(path);
    uint8_t head[6];
    ssize_t got;
    int fd;

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t sl = strlen(suffixes[i]);
        if (len > sl && strcmp(path + len - sl, suffixes[i]) == 0)
            return true;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return false;
    got = read(fd, head, sizeof(head));
    (void)close(fd);
    for (size_t i = 0; got > 0 && i < sizeof(magics) / sizeof(magics[0]); i++)
        if ((size_t)got >= magics[i].len && memcmp(head, magics[i].b, magics[i].len) == 0)
            return true;
    return false;
}

/* Whether the regular file at path is the checkpoint's: same (dev, inode) and the same first
 * fp.len bytes. *size gets its size. An empty fingerprint (the file was empty when opened) proves
 * nothing: it identifies the file only when nothing of it was acknowledged (offset 0: adopting
 * whatever has the inode reads it whole and loses nothing); at a later offset (as an older binary
 * wrote it), adopting a file that reused the inode would skip its first bytes and hide the real
 * loss, so the file counts as not found and its loss is reported. Nor is a compressed file that
 * reused the inode the checkpoint's (its bytes are no continuation of an empty file). */
static bool
is_checkpointed_file(const char *path, const struct ckpt_file *cf, uint64_t *size)
{
    struct tail_fingerprint fp;
    struct stat st;
    bool same = false;
    int fd;

    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != cf->dev ||
        (uint64_t)st.st_ino != cf->ino)
        return false;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return false;
    if (tail_fingerprint_fd(fd, cf->fp.len, &fp) == HAF_OK)
        same = cf->fp.len == 0 ? cf->offset == 0 && !is_compressed(path)
                               : tail_fingerprint_eq(&fp, &cf->fp);
    (void)close(fd);
    *size = (uint64_t)st.st_size;
    return same;
}

/* Looks for the checkpoint's file in dir; its path into out. */
static bool
search_dir(const char *dir, const struct ckpt_file *cf, struct buf *out, uint64_t *size)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    bool found = false;

    if (dp == NULL)
        return false;
    while (!found && n++ < RECOVER_MAX_DIRENTS && (de = readdir(dp)) != NULL) {
        if (de->d_ino != cf->ino || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        buf_reset(out);
        if (buf_addf(out, "%s/%s", dir, de->d_name) != HAF_OK)
            continue;
        found = is_checkpointed_file(buf_cstr(out), cf, size);
    }
    (void)closedir(dp);
    return found;
}

/* The directory part of a path or glob (up to its last '/'), when it has no wildcard. */
static bool
dir_of(const char *path, struct buf *out)
{
    const char *slash = strrchr(path, '/');
    size_t len;

    buf_reset(out);
    if (slash == NULL)
        return false;
    len = slash == path ? 1 : (size_t)(slash - path);
    for (size_t i = 0; i < len; i++)
        if (path[i] == '*' || path[i] == '?' || path[i] == '[')
            return false;
    return buf_add(out, path, len) == HAF_OK;
}

/* Finds the checkpoint's file by identity: in the directory it was in, then in the directories of
 * the sources' globs. */
static bool
find_file(struct daemon *d, const struct ckpt_file *cf, struct buf *found, uint64_t *size)
{
    struct buf dir;
    bool ok = false;

    buf_init(&dir, 1 << 16);
    if (dir_of(cf->path, &dir))
        ok = search_dir(buf_cstr(&dir), cf, found, size);
    for (size_t i = 0; !ok && i < d->cfg->n_sources; i++)
        if (dir_of(d->cfg->sources[i].path, &dir))
            ok = search_dir(buf_cstr(&dir), cf, found, size);
    buf_clean_up(&dir);
    return ok;
}

/* The file is gone: a file_lost marker in its stream, through a file record without a tail file
 * whose checkpoint the marker's acknowledgement settles. */
static void
report_lost(struct daemon *d, const struct ckpt_file *cf, size_t src_idx)
{
    const struct config_source *src = &d->cfg->sources[src_idx];
    struct streamname_values names = {.hostname = d->hostname,
                                      .instance_id = d->instance_id,
                                      .path = cf->path,
                                      .hsm_id = src->hsm_id};
    struct tail_file tf = {
        .path = cf->path, .source_idx = src_idx, .dev = cf->dev, .ino = cf->ino, .fp = cf->fp};
    struct buf name;
    struct stream *st;
    struct file_rt *f;

    buf_init(&name, 1024);
    if (streamname_expand(src->log_stream, &names, &name) != HAF_OK)
        fatal("out of memory");
    digest_emit_data_name(d, src->log_group, cf->path, &name);
    st = stream_get(d, src->log_group, buf_cstr(&name), src->format);
    buf_clean_up(&name);
    log_err("%s: file lost: its checkpoint (inode %" PRIu64 ", byte %" PRIu64 ") was not done, "
            "and it is neither at its path nor in the sources' directories (deleted or moved to "
            "another file system while we were not running); entries written to it after that "
            "byte are lost. A file_lost marker goes to stream %s/%s",
            cf->path, cf->ino, cf->offset, st->group, st->name);
    d->stats.files_lost++;
    d->incomplete = true;
    f = file_new(d, &tf, src, st);
    f->tf = NULL;
    f->acked = f->processed = cf->offset;
    audit_parser_reset(f->parser, cf->offset);
    queue_file_lost(d, f, cf);
}

/* Rotated files of the same family that no checkpoint knows: created and rotated away while we
 * were not running (two rotations in one outage). In the found file's directory, a regular file
 * whose name starts with the checkpoint's base name, that no glob matches, that is neither
 * followed nor checkpointed, and that is not older than the found file, is adopted as well (from
 * its start: entries delivered already are recognised as replays), into the same stream; files
 * are read oldest first, so the stream keeps sequence order. A compressed rotation is no
 * continuation (is_compressed) and is left alone. */
static void
adopt_successors(struct daemon *d, const struct ckpt_file *cf, const char *found, size_t idx)
{
    const char *base = strrchr(cf->path, '/');
    const char *slash = strrchr(found, '/');
    struct stat fst;
    struct buf dir, path;
    DIR *dp;
    struct dirent *de;
    size_t n = 0, tmp;

    if (base == NULL || slash == NULL || stat(found, &fst) != 0)
        return;
    base++;
    buf_init(&dir, 1 << 16);
    buf_init(&path, 1 << 16);
    if (buf_add(&dir, found, slash == found ? 1 : (size_t)(slash - found)) != HAF_OK ||
        (dp = opendir(buf_cstr(&dir))) == NULL) {
        buf_clean_up(&dir);
        buf_clean_up(&path);
        return;
    }
    while (n++ < RECOVER_MAX_DIRENTS && (de = readdir(dp)) != NULL) {
        struct stat st;

        if (strncmp(de->d_name, base, strlen(base)) != 0)
            continue;
        buf_reset(&path);
        if (buf_addf(&path, "%s/%s", buf_cstr(&dir), de->d_name) != HAF_OK ||
            stat(buf_cstr(&path), &st) != 0 || !S_ISREG(st.st_mode) ||
            source_for(d, buf_cstr(&path), &tmp) != NULL ||
            followed(d, (uint64_t)st.st_dev, (uint64_t)st.st_ino) ||
            ckpt_find_file(&d->state, (uint64_t)st.st_dev, (uint64_t)st.st_ino) != NULL ||
            st.st_mtim.tv_sec < fst.st_mtim.tv_sec ||
            (st.st_mtim.tv_sec == fst.st_mtim.tv_sec && st.st_mtim.tv_nsec < fst.st_mtim.tv_nsec))
            continue;
        if (is_compressed(buf_cstr(&path))) {
            log_info("%s: a compressed rotation, not a continuation: not read (family of %s)",
                     buf_cstr(&path), cf->path);
            continue;
        }
        log_notice("%s: %s was created and rotated away while we were not running: reading it "
                   "into the same stream",
                   cf->path, buf_cstr(&path));
        d->adopt_origin = cf->path;
        if (tail_adopt(d->tail, buf_cstr(&path), idx) != HAF_OK)
            log_warnx("%s: cannot follow %s now", cf->path, buf_cstr(&path));
        d->adopt_origin = NULL;
    }
    (void)closedir(dp);
    buf_clean_up(&dir);
    buf_clean_up(&path);
}

void
recover_checkpoints(struct daemon *d)
{
    struct buf found;

    buf_init(&found, 1 << 16);
    for (size_t i = 0; i < d->state.n_files; i++) {
        /* A copy: adopting and reporting write checkpoints (the array may move). */
        struct ckpt_file cf = d->state.files[i];
        uint64_t size = 0;
        size_t idx = 0, found_idx;
        bool got;

        if (cf.done || followed(d, cf.dev, cf.ino) || source_for(d, cf.path, &idx) == NULL)
            continue;
        cf.path = xstrdup(cf.path);
        got = find_file(d, &cf, &found, &size);
        if (!got) {
            report_lost(d, &cf, idx);
        } else if (source_for(d, buf_cstr(&found), &found_idx) != NULL) {
            /* Still matched by a glob (waiting for a free descriptor, or renamed within the
             * glob): the tail follows it, now or when there is room. */
        } else if (size <= cf.offset) {
            /* Rotated away after its last byte was acknowledged: nothing is owed. */
            struct ckpt_file *cur = ckpt_find_file(&d->state, cf.dev, cf.ino);
            if (cur != NULL)
                cur->done = true;
            d->state_dirty = true;
        } else {
            log_notice("%s: rotated away while we were not running; found as %s: reading its "
                       "last %" PRIu64 " bytes into the same stream",
                       cf.path, buf_cstr(&found), size - cf.offset);
            d->adopt_origin = cf.path;
            if (tail_adopt(d->tail, buf_cstr(&found), idx) != HAF_OK)
                log_warnx("%s: cannot follow %s now; trying again at the next start", cf.path,
                          buf_cstr(&found));
            d->adopt_origin = NULL;
        }
        if (got && source_for(d, buf_cstr(&found), &found_idx) == NULL)
            adopt_successors(d, &cf, buf_cstr(&found), idx);
        free(cf.path);
    }
    buf_clean_up(&found);
}

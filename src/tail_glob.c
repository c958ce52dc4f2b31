/*
 * tail_glob.c: which files tail.c follows: expanding each source's glob,
 * watching the glob's directory, the periodic rescan that marks what still
 * matches and lets go of what does not, the symlink rule (a link is followed
 * only when its target stays in the glob's directory and has that directory's
 * owner or group, unless TAIL_FOLLOW_SYMLINKS), and the record of paths we
 * could not open or list (tail_access_problems). Opening, checking and
 * releasing one file stays in tail.c; this file decides which names to hand
 * it. See tail.c for the design as a whole; nothing here logs.
 */
#include "tail_internal.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

static void
note_problem(struct tail *t, const char *path, int err, bool is_dir)
{
    struct tail_access_problem *p;
    struct stat st;

    for (size_t i = 0; i < t->n_probs; i++)
        if (strcmp(t->probs[i].path, path) == 0)
            return;
    t->st.unreadable++;
    if (t->n_probs == TAIL_MAX_ACCESS_PROBLEMS)
        return;
    p = &t->probs[t->n_probs];
    *p = (struct tail_access_problem){.path = strdup(path), .err = err, .is_dir = is_dir};
    if (p->path == NULL)
        return;
    if (stat(path, &st) == 0)
        *p = (struct tail_access_problem){.path = p->path,
                                          .err = err,
                                          .is_dir = is_dir,
                                          .have_owner = true,
                                          .uid = (uint32_t)st.st_uid,
                                          .gid = (uint32_t)st.st_gid,
                                          .mode = (uint32_t)st.st_mode};
    t->n_probs++;
}

void
problems_clear(struct tail *t)
{
    for (size_t i = 0; i < t->n_probs; i++)
        free((char *)t->probs[i].path);
    t->n_probs = 0;
    t->st.unreadable = 0;
}

void
note_open_failure(struct tail *t, const char *path, int err)
{
    char *copy = strdup(path);

    t->st.open_failures++;
    t->st.last_open_errno = err;
    if (copy != NULL) {
        free(t->last_open_path);
        t->last_open_path = copy;
    }
    note_problem(t, path, err, false);
}

/* glob(3)'s errfunc has no context argument: the tail being expanded, set around each glob() call
 * (we are single-threaded). */
static struct tail *glob_owner;

static int
glob_error(const char *epath, int eerrno)
{
    /* ENOENT/ENOTDIR: a directory of the pattern is not there (yet), which polling covers. */
    if (glob_owner != NULL && eerrno != ENOENT && eerrno != ENOTDIR) {
        glob_owner->st.open_failures++;
        glob_owner->st.last_open_errno = eerrno;
        note_problem(glob_owner, epath, eerrno, true);
    }
    return 0; /* go on with the other directories */
}

/* A symlink that was not followed: counted, and its name kept for the owner's warning. */
void
note_link_refused(struct tail *t, const char *path)
{
    char *copy = strdup(path);

    t->st.links_refused++;
    if (copy != NULL) {
        free(t->last_refused_link);
        t->last_refused_link = copy;
    }
    if (t->cb.on_link_refused != NULL)
        t->cb.on_link_refused(t->cb.ctx, path);
}

/* Whether the symlink `path` of glob g, whose target stat(2) gave `target`, may be followed by
 * default: the target's real path lies below the real path of the glob's directory (the
 * matched file's own directory when the glob's has wildcards), and the target has that
 * directory's owner or group. */
static bool
link_allowed(const struct tglob *g, const char *path, const struct stat *target)
{
    char *dir_copy = NULL, *dir_real = NULL, *target_real = NULL;
    const char *dir = g->dir;
    struct stat dst;
    bool ok = false;
    size_t n;

    if (dir == NULL) {
        const char *slash = strrchr(path, '/');
        dir_copy =
            slash == NULL ? strdup(".") : strndup(path, slash == path ? 1 : (size_t)(slash - path));
        dir = dir_copy;
    }
    if (dir == NULL)
        goto out;
    dir_real = realpath(dir, NULL);
    target_real = realpath(path, NULL);
    if (dir_real == NULL || target_real == NULL || stat(dir_real, &dst) != 0)
        goto out;
    n = strlen(dir_real);
    if (n > 1 && (strncmp(target_real, dir_real, n) != 0 || target_real[n] != '/'))
        goto out;
    ok = target->st_uid == dst.st_uid || target->st_gid == dst.st_gid;
out:
    free(dir_copy);
    free(dir_real);
    free(target_real);
    return ok;
}

/* ---- globs ---- */

/* The directory to watch for a pattern: everything before its last '/', unless
 * that part has a wildcard (then *dir is NULL and the glob is polled). */
HAF_MUST_USE static enum haf_err
glob_dir(const char *pattern, char **dir)
{
    const char *slash = strrchr(pattern, '/');
    size_t len;

    *dir = NULL;
    if (slash == NULL) {
        *dir = strdup(".");
        return *dir != NULL ? HAF_OK : HAF_ENOMEM;
    }
    len = (size_t)(slash - pattern);
    for (size_t i = 0; i < len; i++)
        if (pattern[i] == '*' || pattern[i] == '?' || pattern[i] == '[' || pattern[i] == '\\')
            return HAF_OK;
    *dir = len == 0 ? strdup("/") : strndup(pattern, len);
    return *dir != NULL ? HAF_OK : HAF_ENOMEM;
}

void
glob_watch(struct tail *t, struct tglob *g)
{
    int wd;

    if (t->ifd < 0 || g->dir == NULL || g->wd >= 0)
        return;
    wd = inotify_add_watch(t->ifd, g->dir, DIR_MASK);
    if (wd >= 0) {
        g->wd = wd;
        t->rescan_due = true; /* entries may have appeared before the watch */
        return;
    }
    /* ENOENT/ENOTDIR: the directory is not there yet, which polling covers
     * without fuss. */
    if (errno != ENOENT && errno != ENOTDIR && !g->watch_failure_counted) {
        g->watch_failure_counted = true;
        t->st.watch_failures++;
    }
}

HAF_MUST_USE static enum haf_err
glob_consider(struct tail *t, const struct tglob *g, const char *path)
{
    struct tfile *f;
    struct stat st, lst;
    size_t max_open = t->opts.max_open > 0 ? t->opts.max_open : TAIL_MAX_OPEN;
    bool checked_link = false;

    if (lstat(path, &lst) != 0 || stat(path, &st) != 0) {
        if (errno != ENOENT) /* ENOENT: gone since glob listed it */
            note_open_failure(t, path, errno);
        return HAF_OK;
    }
    if (!S_ISREG(st.st_mode)) {
        t->st.files_skipped++;
        return HAF_OK;
    }
    if (S_ISLNK(lst.st_mode) && !g->follow_links) {
        if (!link_allowed(g, path, &st)) {
            note_link_refused(t, path);
            return HAF_OK;
        }
        checked_link = true;
    }
    f = idmap_get(&t->by_id, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (f != NULL)
        return file_seen_at(f, path);
    if (idmap_get(&t->let_go, (uint64_t)st.st_dev, (uint64_t)st.st_ino) != NULL)
        return HAF_OK;
    if (t->n_files >= max_open) {
        t->st.files_pending++;
        return HAF_OK;
    }
    return file_open(t, g, path, checked_link ? &st : NULL);
}

HAF_MUST_USE static enum haf_err
glob_expand(struct tail *t, const struct tglob *g)
{
    glob_t gl;
    enum haf_err err = HAF_OK;
    int rc;

    memset(&gl, 0, sizeof(gl));
    glob_owner = t;
    rc = glob(g->pattern, GLOB_NOSORT, glob_error, &gl);
    glob_owner = NULL;
    if (rc == GLOB_NOSPACE) {
        err = HAF_ENOMEM;
        goto out;
    }
    if (rc != 0) /* GLOB_NOMATCH, or GLOB_ABORTED on an unreadable directory */
        goto out;
    for (size_t i = 0; i < gl.gl_pathc && err == HAF_OK; i++)
        err = glob_consider(t, g, gl.gl_pathv[i]);
out:
    globfree(&gl);
    return err;
}

/* Expand every glob; files no glob matched any more start draining. */
HAF_MUST_USE enum haf_err
tail_rescan(struct tail *t)
{
    enum haf_err err = HAF_OK;

    t->rescan_due = false;
    t->st.rescans++;
    t->st.files_pending = 0;
    t->st.files_skipped = 0;
    problems_clear(t);
    for (size_t i = 0; i < t->n_files; i++)
        t->files[i]->seen = false;
    for (size_t i = 0; i < t->n_globs; i++) {
        err = glob_expand(t, &t->globs[i]);
        if (err != HAF_OK) {
            /* An incomplete rescan must not drain files it merely did not reach. */
            t->rescan_due = true;
            goto out;
        }
    }
    for (size_t i = 0; i < t->n_files; i++)
        if (!t->files[i]->seen)
            file_lost(t, t->files[i]);
out:
    return err;
}

enum haf_err
tail_add_glob(struct tail *t, const char *pattern, size_t source_idx)
{
    return tail_add_glob_flags(t, pattern, source_idx, 0);
}

enum haf_err
tail_add_glob_flags(struct tail *t, const char *pattern, size_t source_idx, unsigned flags)
{
    struct tglob g = {
        .wd = -1, .source_idx = source_idx, .follow_links = (flags & TAIL_FOLLOW_SYMLINKS) != 0};
    struct tglob *ng;
    enum haf_err err;

    if (t == NULL || pattern == NULL || pattern[0] == '\0')
        return HAF_EINVAL;
    if (t->n_globs >= SIZE_MAX / sizeof(*ng) - 1)
        return HAF_ENOMEM;
    err = glob_dir(pattern, &g.dir);
    if (err != HAF_OK)
        goto out;
    g.pattern = strdup(pattern);
    if (g.pattern == NULL) {
        err = HAF_ENOMEM;
        goto out;
    }
    ng = realloc(t->globs, (t->n_globs + 1) * sizeof(*ng));
    if (ng == NULL) {
        err = HAF_ENOMEM;
        goto out;
    }
    t->globs = ng; /* the old pointer is dead */
    t->globs[t->n_globs] = g;
    g = (struct tglob){0};
    /* Watch before listing, so nothing created in between goes unnoticed. */
    glob_watch(t, &t->globs[t->n_globs]);
    t->n_globs++;
    err = glob_expand(t, &t->globs[t->n_globs - 1]);
out:
    free(g.pattern);
    free(g.dir);
    return err;
}

size_t
tail_access_problems(const struct tail *t, const struct tail_access_problem **out)
{
    *out = t->probs;
    return t->n_probs;
}

/*
 * test_tail.c: following files through real filesystem changes in real temp directories, with a
 * fake clock. Every scenario runs twice, once driven by inotify (the clock advances 1 ms per step,
 * so no poll tick or safety rescan can hide a missed event) and once with force_poll (the clock
 * advances one poll interval per step). Each test asserts the exact bytes read from each file, in
 * order, with "|T|" marking where on_truncate was called, so a lost or doubled byte fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "haf/buf.h"
#include "haf/tail.h"
#include "testlib.h"

#define POLL_MS   100
#define ROTATE_MS 500

struct rec {
    char *open_path;
    struct tail_file *f; /* NULL once closed */
    uint64_t dev;
    uint64_t ino;
    size_t source_idx;
    struct tail_fingerprint fp_at_open;
    struct buf data;
    int truncs;
    bool closed;
};

struct fx {
    char *dir;
    struct tail *t;
    bool poll;
    int64_t now;
    int64_t step_ms;
    size_t max_open;
    size_t max_watches;
    uint64_t start_offset;
    size_t chunk;
    struct rec **recs;
    size_t n_recs;
    size_t cap_recs;
    int opens;
    int truncs;
    int closes;
};

/* ---- callbacks ---- */

static uint64_t
cb_open(void *ctx, struct tail_file *f)
{
    struct fx *fx = ctx;
    struct rec *r = calloc(1, sizeof(*r));
    struct tail_fingerprint same;

    assert_non_null(r);
    r->open_path = strdup(f->path);
    assert_non_null(r->open_path);
    r->f = f;
    r->dev = f->dev;
    r->ino = f->ino;
    r->source_idx = f->source_idx;
    r->fp_at_open = f->fp;
    /* What an owner does with a checkpoint: hash the same prefix through the file's own fd. */
    assert_int_equal(tail_file_fingerprint(f, f->fp.len, &same), HAF_OK);
    assert_true(tail_fingerprint_eq(&same, &f->fp));
    buf_init(&r->data, 0);
    if (fx->n_recs == fx->cap_recs) {
        fx->cap_recs = fx->cap_recs ? fx->cap_recs * 2 : 16;
        fx->recs = realloc(fx->recs, fx->cap_recs * sizeof(*fx->recs));
        assert_non_null(fx->recs);
    }
    fx->recs[fx->n_recs++] = r;
    f->user = r;
    fx->opens++;
    return fx->start_offset;
}

static void
cb_truncate(void *ctx, struct tail_file *f)
{
    struct fx *fx = ctx;
    struct rec *r = f->user;

    assert_int_equal(f->offset, 0);
    r->truncs++;
    fx->truncs++;
    assert_int_equal(buf_adds(&r->data, "|T|"), HAF_OK);
}

static void
cb_close(void *ctx, struct tail_file *f)
{
    struct fx *fx = ctx;
    struct rec *r = f->user;

    r->closed = true;
    r->f = NULL;
    f->user = NULL;
    fx->closes++;
}

/* ---- fixture ---- */

static int
fx_setup(void **state, bool poll)
{
    struct fx *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->dir = testlib_mkdtemp();
    fx->poll = poll;
    fx->now = 1000000;
    fx->step_ms = poll ? POLL_MS : 1;
    fx->chunk = 7;
    *state = fx;
    return 0;
}

static int
setup_inotify(void **state)
{
    return fx_setup(state, false);
}

static int
setup_poll(void **state)
{
    return fx_setup(state, true);
}

static int
teardown(void **state)
{
    struct fx *fx = *state;

    tail_free(fx->t);
    for (size_t i = 0; i < fx->n_recs; i++) {
        free(fx->recs[i]->open_path);
        buf_clean_up(&fx->recs[i]->data);
        free(fx->recs[i]);
    }
    free(fx->recs);
    testlib_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static void
fx_path(const struct fx *fx, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", fx->dir, name);

    assert_true(n > 0 && (size_t)n < cap);
}

static void
fx_new(struct fx *fx)
{
    struct tail_opts opts = {
        .force_poll = fx->poll,
        .poll_interval_ms = POLL_MS,
        .rotate_wait_ms = ROTATE_MS,
        .max_open = fx->max_open,
        .max_watches = fx->max_watches,
    };
    struct tail_callbacks cb = {
        .on_open = cb_open, .on_truncate = cb_truncate, .on_close = cb_close, .ctx = fx};

    fx->t = tail_new(&opts, &cb);
    assert_non_null(fx->t);
    if (fx->poll)
        assert_int_equal(tail_fd(fx->t), -1);
    else
        assert_true(tail_fd(fx->t) >= 0);
}

static void
fx_glob(struct fx *fx, const char *pattern, size_t source_idx)
{
    char p[4096];

    fx_path(fx, pattern, p, sizeof(p));
    assert_int_equal(tail_add_glob(fx->t, p, source_idx), HAF_OK);
}

/* New tail, one glob, and the first tail_process. */
static void
fx_start(struct fx *fx, const char *pattern)
{
    fx_new(fx);
    fx_glob(fx, pattern, 0);
    assert_int_equal(tail_process(fx->t, fx->now), HAF_OK);
}

static void
fx_step(struct fx *fx)
{
    fx->now += fx->step_ms;
    assert_int_equal(tail_process(fx->t, fx->now), HAF_OK);
}

/* Let a draining file at EOF be released: one step to notice EOF, then rotate_wait. */
static void
fx_wait_release(struct fx *fx)
{
    fx_step(fx);
    fx->now += ROTATE_MS;
    assert_int_equal(tail_process(fx->t, fx->now), HAF_OK);
}

/* Read everything readable, fx->chunk bytes per file per pass. Returns the bytes read. */
static size_t
fx_drain(struct fx *fx)
{
    char buf[65536];
    size_t total = 0;
    bool any = true;

    assert_true(fx->chunk <= sizeof(buf));
    while (any) {
        any = false;
        for (struct tail_file *f = tail_next_readable(fx->t, NULL); f != NULL;
             f = tail_next_readable(fx->t, f)) {
            struct rec *r = f->user;
            ssize_t n = tail_read(fx->t, f, buf, fx->chunk);

            assert_true(n >= 0);
            if (n == 0)
                continue;
            assert_int_equal(buf_add(&r->data, buf, (size_t)n), HAF_OK);
            total += (size_t)n;
            any = true;
        }
    }
    return total;
}

/* The latest file opened under a path ending in /name. */
static struct rec *
fx_rec(const struct fx *fx, const char *name)
{
    size_t nl = strlen(name);

    for (size_t i = fx->n_recs; i-- > 0;) {
        const char *p = fx->recs[i]->open_path;
        size_t pl = strlen(p);

        if (pl > nl && p[pl - nl - 1] == '/' && strcmp(p + pl - nl, name) == 0)
            return fx->recs[i];
    }
    fail_msg("no file opened as %s", name);
    return NULL;
}

static void
assert_data(const struct rec *r, const char *want)
{
    size_t wl = strlen(want);

    if (r->data.len != wl || memcmp(r->data.p, want, wl) != 0)
        fail_msg("%s: read \"%.*s\", want \"%s\"", r->open_path, (int)r->data.len,
                 r->data.p ? r->data.p : "", want);
}

static void
assert_ends_with(const char *s, const char *suffix)
{
    size_t sl = strlen(s), xl = strlen(suffix);

    if (sl < xl || strcmp(s + sl - xl, suffix) != 0)
        fail_msg("\"%s\" does not end with \"%s\"", s, suffix);
}

static void
file_write_mode(const struct fx *fx, const char *name, const void *data, size_t len, int flags)
{
    char p[4096];
    int fd;

    fx_path(fx, name, p, sizeof(p));
    fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void
file_put(const struct fx *fx, const char *name, const char *s)
{
    file_write_mode(fx, name, s, strlen(s), O_TRUNC);
}

static void
file_append(const struct fx *fx, const char *name, const char *s)
{
    file_write_mode(fx, name, s, strlen(s), O_APPEND);
}

static void
file_rename(const struct fx *fx, const char *from, const char *to)
{
    char a[4096], b[4096];

    fx_path(fx, from, a, sizeof(a));
    fx_path(fx, to, b, sizeof(b));
    assert_int_equal(rename(a, b), 0);
}

static void
file_unlink(const struct fx *fx, const char *name)
{
    char p[4096];

    fx_path(fx, name, p, sizeof(p));
    assert_int_equal(unlink(p), 0);
}

static void
file_truncate(const struct fx *fx, const char *name, off_t len)
{
    char p[4096];

    fx_path(fx, name, p, sizeof(p));
    assert_int_equal(truncate(p, len), 0);
}

static int
file_open_append(const struct fx *fx, const char *name)
{
    char p[4096];
    int fd;

    fx_path(fx, name, p, sizeof(p));
    fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

static struct stat
file_stat(const struct fx *fx, const char *name)
{
    char p[4096];
    struct stat st;

    fx_path(fx, name, p, sizeof(p));
    assert_int_equal(stat(p, &st), 0);
    return st;
}

static void
sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;

    assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
    assert_int_equal(n, 32);
}

static void
fd_write_all(int fd, const char *s)
{
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* ---- scenarios (each runs in both modes) ---- */

static void
scn_tail_add_glob_initial_match(struct fx *fx)
{
    char p[4096];
    struct tail_stats st;

    file_put(fx, "a.log", "alpha\n");
    file_put(fx, "b.log", "bravo\n\n");
    file_put(fx, "c.txt", "charlie\n");
    fx_path(fx, "d.log", p, sizeof(p));
    assert_int_equal(mkdir(p, 0700), 0); /* a directory the glob matches */
    fx_path(fx, "e.log", p, sizeof(p));
    assert_int_equal(mkfifo(p, 0600), 0); /* a FIFO: must be skipped, never opened */
    fx_start(fx, "*.log");
    assert_int_equal(fx->opens, 2);
    assert_int_equal(tail_file_count(fx->t), 2);
    tail_get_stats(fx->t, &st);
    assert_int_equal(st.files_open, 2);
    assert_int_equal(st.files_skipped, 2);
    assert_int_equal(st.files_pending, 0);
    assert_int_equal(st.open_failures, 0);
    assert_int_equal(st.inotify, !fx->poll);
    assert_int_equal(fx_drain(fx), 13);
    assert_data(fx_rec(fx, "a.log"), "alpha\n");
    assert_data(fx_rec(fx, "b.log"), "bravo\n\n");
    fx_step(fx);
    fx_step(fx);
    assert_int_equal(fx->opens, 2);
    assert_int_equal(fx_drain(fx), 0);
}

static void
scn_tail_process_new_file(struct fx *fx)
{
    fx_start(fx, "*.log");
    assert_int_equal(fx->opens, 0);
    assert_null(tail_next_readable(fx->t, NULL));
    file_put(fx, "n.log", "new\n");
    file_put(fx, "x.txt", "not matched\n");
    fx_step(fx);
    assert_int_equal(fx->opens, 1);
    assert_int_equal(fx_drain(fx), 4);
    assert_data(fx_rec(fx, "n.log"), "new\n");
    assert_int_equal(fx_rec(fx, "n.log")->fp_at_open.len, 4);
}

static void
scn_tail_read_appended(struct fx *fx)
{
    struct rec *r;

    file_put(fx, "a.log", "one\n");
    fx_start(fx, "a.log");
    assert_int_equal(fx_drain(fx), 4);
    file_append(fx, "a.log", "two\n");
    fx_step(fx);
    assert_int_equal(fx_drain(fx), 4);
    /* Growth is seen by tail_next_readable itself, with or without an event handled. */
    file_append(fx, "a.log", "three\n");
    assert_int_equal(fx_drain(fx), 6);
    r = fx_rec(fx, "a.log");
    assert_data(r, "one\ntwo\nthree\n");
    assert_int_equal(r->f->offset, 14);
    fx_step(fx);
    assert_int_equal(fx_drain(fx), 0);
    assert_int_equal(fx->truncs, 0);
}

static void
scn_tail_process_rotation_rename(struct fx *fx)
{
    struct rec *old, *cur;
    int writer;

    file_put(fx, "audit.log", "A1\n");
    fx_start(fx, "audit.log");
    assert_int_equal(fx_drain(fx), 3);
    file_append(fx, "audit.log", "A2\n"); /* not read yet when the rotation happens */
    writer = file_open_append(fx, "audit.log");
    file_rename(fx, "audit.log", "audit.log.1");
    fd_write_all(writer, "A3\n"); /* the writer still holds the old file */
    file_put(fx, "audit.log", "B1\n");
    fx_step(fx);
    assert_int_equal(fx->opens, 2);
    old = fx->recs[0];
    cur = fx->recs[1];
    assert_non_null(old->f);
    assert_true(old->f->draining);
    assert_ends_with(old->f->path, "/audit.log.1");
    assert_false(cur->f->draining);
    assert_int_not_equal(old->ino, cur->ino);
    assert_int_equal(fx_drain(fx), 9);
    assert_data(old, "A1\nA2\nA3\n");
    assert_data(cur, "B1\n");
    /* Late writes to the old file within rotate_wait are still read. */
    fd_write_all(writer, "A4\n");
    assert_int_equal(close(writer), 0);
    fx_step(fx);
    assert_int_equal(fx->closes, 0);
    assert_int_equal(fx_drain(fx), 3);
    fx_wait_release(fx);
    assert_int_equal(fx->closes, 1);
    assert_true(old->closed);
    assert_false(cur->closed);
    assert_int_equal(tail_file_count(fx->t), 1);
    file_append(fx, "audit.log", "B2\n");
    fx_step(fx);
    assert_int_equal(fx_drain(fx), 3);
    assert_data(old, "A1\nA2\nA3\nA4\n");
    assert_data(cur, "B1\nB2\n");
    assert_int_equal(fx->opens, 2);
    assert_int_equal(fx->truncs, 0);
}

static void
scn_tail_process_rename_within_glob(struct fx *fx)
{
    struct rec *r;

    file_put(fx, "a.log", "x\n");
    fx_start(fx, "*.log");
    assert_int_equal(fx_drain(fx), 2);
    file_rename(fx, "a.log", "b.log");
    fx_step(fx);
    r = fx->recs[0];
    assert_int_equal(fx->opens, 1);
    assert_ends_with(r->f->path, "/b.log");
    assert_false(r->f->draining);
    file_append(fx, "b.log", "y\n");
    file_put(fx, "a.log", "z\n");
    fx_step(fx);
    assert_int_equal(fx->opens, 2);
    assert_int_equal(fx_drain(fx), 4);
    assert_data(r, "x\ny\n");
    assert_data(fx_rec(fx, "a.log"), "z\n");
    fx->now += ROTATE_MS * 4;
    assert_int_equal(tail_process(fx->t, fx->now), HAF_OK);
    assert_int_equal(fx->closes, 0);
}

static void
scn_tail_process_renamed_back_before_release(struct fx *fx)
{
    struct rec *r;

    file_put(fx, "a.log", "1\n");
    fx_start(fx, "*.log");
    assert_int_equal(fx_drain(fx), 2);
    file_rename(fx, "a.log", "a.old");
    fx_step(fx);
    r = fx->recs[0];
    assert_true(r->f->draining);
    assert_ends_with(r->f->path, "/a.old");
    file_rename(fx, "a.old", "a.log");
    fx_step(fx);
    assert_false(r->f->draining);
    assert_ends_with(r->f->path, "/a.log");
    fx_wait_release(fx);
    assert_int_equal(fx->closes, 0);
    file_append(fx, "a.log", "2\n");
    fx_step(fx);
    assert_int_equal(fx_drain(fx), 2);
    assert_data(r, "1\n2\n");
    assert_int_equal(fx->opens, 1);
}

static void
scn_tail_process_copytruncate(struct fx *fx)
{
    struct rec *r;

    file_put(fx, "audit.log", "L1\nL2\n");
    fx_start(fx, "audit.log");
    assert_int_equal(fx_drain(fx), 6);
    file_put(fx, "audit.log.1", "L1\nL2\n"); /* the copy, which the glob does not match */
    file_truncate(fx, "audit.log", 0);
    fx_step(fx);
    r = fx->recs[0];
    assert_int_equal(fx->truncs, 1);
    assert_int_equal(r->f->offset, 0);
    assert_int_equal(r->f->fp.len, 0);
    file_append(fx, "audit.log", "N1\n");
    fx_step(fx);
    assert_int_equal(fx_drain(fx), 3);
    assert_data(r, "L1\nL2\n|T|N1\n");
    assert_int_equal(r->f->fp.len, 3);
    assert_int_equal(fx->opens, 1);
    assert_int_equal(fx->truncs, 1);
    assert_int_equal(fx->closes, 0);
}

static void
scn_tail_process_copytruncate_refilled_past_offset(struct fx *fx)
{
    const char *old = "old-entry-0001\nold-entry-0002\n";
    const char *neu = "new-entry-0001\nnew-entry-0002\nnew-entry-0003\nnew-entry-0004\n";
    struct tail_stats st;
    struct rec *r;
    char want[256];

    file_put(fx, "audit.log", old);
    fx_start(fx, "audit.log");
    assert_int_equal(fx_drain(fx), strlen(old));
    file_put(fx, "audit.log", neu); /* O_TRUNC and refilled past our offset before we look */
    fx_step(fx);
    r = fx->recs[0];
    assert_int_equal(fx->truncs, 1);
    assert_int_equal(fx_drain(fx), strlen(neu));
    snprintf(want, sizeof(want), "%s|T|%s", old, neu);
    assert_data(r, want);
    fx_step(fx);
    assert_int_equal(fx->truncs, 1);
    tail_get_stats(fx->t, &st);
    assert_int_equal(st.truncations, 1);
}

static void
scn_tail_read_detects_rewritten_head(struct fx *fx)
{
    const char *old = "first-0001\nfirst-0002\n";
    const char *neu = "second-0001\nsecond-0002\nsecond-0003\n";
    struct rec *r;
    char want[256];

    file_put(fx, "audit.log", old);
    fx_start(fx, "audit.log");
    assert_int_equal(fx_drain(fx), strlen(old));
    file_put(fx, "audit.log", neu);
    /* No tail_process in between: tail_read itself must notice the new head. */
    assert_int_equal(fx_drain(fx), strlen(neu));
    r = fx->recs[0];
    snprintf(want, sizeof(want), "%s|T|%s", old, neu);
    assert_data(r, want);
    fx_step(fx);
    fx_step(fx);
    assert_int_equal(fx->truncs, 1);
    assert_int_equal(fx_drain(fx), 0);
}

static void
scn_tail_process_truncation_below_offset(struct fx *fx)
{
    struct rec *r;

    file_put(fx, "a.log", "0123456789abcdef");
    fx_start(fx, "a.log");
    assert_int_equal(fx_drain(fx), 16);
    file_truncate(fx, "a.log", 10);
    fx_step(fx);
    r = fx->recs[0];
    assert_int_equal(r->truncs, 1);
    assert_int_equal(r->f->fp.len, 10);
    assert_int_equal(fx_drain(fx), 10);
    assert_data(r, "0123456789abcdef|T|0123456789");
}

static void
scn_tail_process_deleted_while_open(struct fx *fx)
{
    struct rec *r;
    int writer;

    file_put(fx, "a.log", "d1\n");
    fx_start(fx, "*.log");
    assert_int_equal(fx_drain(fx), 3);
    file_append(fx, "a.log", "d2\n");
    writer = file_open_append(fx, "a.log");
    file_unlink(fx, "a.log");
    fd_write_all(writer, "d3\n");
    fx_step(fx);
    r = fx->recs[0];
    assert_true(r->f->draining);
    assert_int_equal(fx->closes, 0);
    assert_int_equal(fx_drain(fx), 6);
    assert_data(r, "d1\nd2\nd3\n");
    fx_step(fx); /* at EOF since now */
    fx_step(fx);
    fx->now += ROTATE_MS - 2 * fx->step_ms;
    assert_int_equal(tail_process(fx->t, fx->now), HAF_OK);
    assert_int_equal(fx->closes, 0); /* not before rotate_wait without growth */
    fd_write_all(writer, "d4\n");
    assert_int_equal(close(writer), 0);
    assert_int_equal(fx_drain(fx), 3);
    fx_wait_release(fx);
    assert_int_equal(fx->closes, 1);
    assert_true(r->closed);
    assert_data(r, "d1\nd2\nd3\nd4\n");
    assert_int_equal(tail_file_count(fx->t), 0);
    assert_int_equal(fx->opens, 1);
}

static void
scn_tail_process_inode_reused_after_delete(struct fx *fx)
{
    struct rec *r1, *r2;
    struct stat st;
    uint8_t h[32];

    file_put(fx, "a.log", "first file contents\n");
    fx_start(fx, "*.log");
    assert_int_equal(fx_drain(fx), 20);
    r1 = fx->recs[0];
    file_unlink(fx, "a.log");
    fx_step(fx);
    fx_wait_release(fx);
    assert_true(r1->closed);
    file_put(fx, "a.log", "second\n");
    st = file_stat(fx, "a.log");
    fx_step(fx);
    assert_int_equal(fx->opens, 2);
    r2 = fx->recs[1];
    assert_int_equal(r2->ino, (uint64_t)st.st_ino);
    if (r2->ino == r1->ino && r2->dev == r1->dev)
        print_message("inode %llu was reused by the filesystem\n", (unsigned long long)r2->ino);
    sha256("second\n", 7, h);
    assert_int_equal(r2->fp_at_open.len, 7);
    assert_memory_equal(r2->fp_at_open.hash, h, 32);
    assert_false(tail_fingerprint_eq(&r1->fp_at_open, &r2->fp_at_open));
    assert_int_equal(fx_drain(fx), 7);
    assert_data(r2, "second\n");
    assert_data(r1, "first file contents\n");
}

static void
scn_tail_process_same_inode_new_fingerprint(struct fx *fx)
{
    struct rec *r1, *r2;
    uint8_t h[32];

    /* Force (dev, ino) reuse: the file leaves the glob, is released, is rewritten in place, and
     * comes back. To us it is a new file; the owner tells it apart by its fingerprint. */
    file_put(fx, "a.log", "AAAA\n");
    fx_start(fx, "*.log");
    assert_int_equal(fx_drain(fx), 5);
    r1 = fx->recs[0];
    file_rename(fx, "a.log", "a.old");
    fx_step(fx);
    fx_wait_release(fx);
    assert_true(r1->closed);
    file_put(fx, "a.old", "BBBBBB\n");
    file_rename(fx, "a.old", "a.log");
    fx_step(fx);
    assert_int_equal(fx->opens, 2);
    r2 = fx->recs[1];
    assert_int_equal(r2->dev, r1->dev);
    assert_int_equal(r2->ino, r1->ino);
    sha256("BBBBBB\n", 7, h);
    assert_int_equal(r2->fp_at_open.len, 7);
    assert_memory_equal(r2->fp_at_open.hash, h, 32);
    assert_false(tail_fingerprint_eq(&r1->fp_at_open, &r2->fp_at_open));
    assert_int_equal(fx_drain(fx), 7);
    assert_data(r2, "BBBBBB\n");
}

static void
scn_tail_process_fingerprint_grows(struct fx *fx)
{
    char data[1500];
    uint8_t h[32];
    struct rec *r, *e;
    char want[1501];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)('a' + i % 26);
    file_write_mode(fx, "a.log", data, 100, O_TRUNC);
    file_put(fx, "e.log", "");
    fx_start(fx, "*.log");
    r = fx_rec(fx, "a.log");
    e = fx_rec(fx, "e.log");
    sha256(data, 100, h);
    assert_int_equal(r->f->fp.len, 100);
    assert_memory_equal(r->f->fp.hash, h, 32);
    {
        struct tail_fingerprint p40;

        /* A checkpoint taken at 40 bytes is compared on its own prefix. */
        sha256(data, 40, h);
        assert_int_equal(tail_file_fingerprint(r->f, 40, &p40), HAF_OK);
        assert_int_equal(p40.len, 40);
        assert_memory_equal(p40.hash, h, 32);
        assert_int_equal(tail_file_fingerprint(r->f, TAIL_FP_MAX_BYTES + 1, &p40), HAF_EINVAL);
        sha256(data, 100, h);
    }
    assert_int_equal(e->f->fp.len, 0);
    sha256("", 0, h);
    assert_memory_equal(e->f->fp.hash, h, 32);
    file_write_mode(fx, "a.log", data + 100, sizeof(data) - 100, O_APPEND);
    file_put(fx, "e.log", "hi");
    fx_step(fx);
    sha256(data, TAIL_FP_MAX_BYTES, h);
    assert_int_equal(r->f->fp.len, TAIL_FP_MAX_BYTES);
    assert_memory_equal(r->f->fp.hash, h, 32);
    sha256("hi", 2, h);
    assert_int_equal(e->f->fp.len, 2);
    assert_memory_equal(e->f->fp.hash, h, 32);
    fx->chunk = 4096;
    assert_int_equal(fx_drain(fx), sizeof(data) + 2);
    memcpy(want, data, sizeof(data));
    want[sizeof(data)] = '\0';
    assert_data(r, want);
    assert_data(e, "hi");
    assert_int_equal(fx->truncs, 0);
}

static void
scn_tail_add_glob_start_offset(struct fx *fx)
{
    fx->start_offset = 5;
    file_put(fx, "a.log", "0123456789");
    fx_start(fx, "a.log");
    assert_int_equal(fx->recs[0]->f->offset, 5);
    assert_int_equal(fx_drain(fx), 5);
    assert_data(fx->recs[0], "56789");
    file_append(fx, "a.log", "X");
    fx_step(fx);
    assert_int_equal(fx_drain(fx), 1);
    assert_data(fx->recs[0], "56789X");
    assert_int_equal(fx->truncs, 0);
}

static void
scn_tail_process_thousands_of_files(struct fx *fx)
{
    enum { N = 3000 };
    char name[64], content[64];
    struct tail_stats st;
    size_t rounds = 0;

    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "f%04d.log", i);
        snprintf(content, sizeof(content), "file-%04d\n", i);
        file_put(fx, name, content);
    }
    fx->chunk = 4096;
    fx_start(fx, "*.log");
    assert_int_equal(tail_file_count(fx->t), TAIL_MAX_OPEN);
    tail_get_stats(fx->t, &st);
    assert_int_equal(st.files_pending, N - TAIL_MAX_OPEN);
    while (fx->closes < N) {
        size_t open_now = tail_file_count(fx->t);
        size_t unread = 0;

        assert_true(open_now > 0 && open_now <= TAIL_MAX_OPEN);
        for (size_t i = 0; i < fx->n_recs; i++)
            if (fx->recs[i]->f != NULL)
                unread += 10 - fx->recs[i]->data.len;
        assert_int_equal(fx_drain(fx), unread);
        /* Delete what was read (every other file in the first round, so lookups of the files
         * that stay run after removals); the released slots go to files that were waiting. */
        for (size_t i = 0; i < fx->n_recs; i++) {
            if (fx->recs[i]->f != NULL && !fx->recs[i]->f->draining && (rounds > 0 || i % 2 == 0))
                assert_int_equal(unlink(fx->recs[i]->f->path), 0);
        }
        fx_step(fx);
        fx_wait_release(fx);
        /* A full rescan must recognise every file still open: no second on_open. */
        fx->now += TAIL_RESCAN_MS;
        assert_int_equal(tail_process(fx->t, fx->now), HAF_OK);
        assert_int_equal((size_t)fx->opens, fx->closes + tail_file_count(fx->t));
        assert_true(++rounds <= 5);
    }
    assert_int_equal(fx->opens, N);
    assert_int_equal(fx->n_recs, N);
    for (size_t i = 0; i < fx->n_recs; i++) {
        const char *p = fx->recs[i]->open_path;
        int num = atoi(p + strlen(p) - 8);

        snprintf(content, sizeof(content), "file-%04d\n", num);
        assert_data(fx->recs[i], content);
        assert_true(fx->recs[i]->closed);
    }
    assert_int_equal(tail_file_count(fx->t), 0);
    tail_get_stats(fx->t, &st);
    assert_int_equal(st.files_pending, 0);
    assert_int_equal(st.releases, N);
}

static void
scn_tail_add_glob_two_globs_one_file(struct fx *fx)
{
    char p[4096], q[4096];
    struct stat st;

    assert_int_equal(mkdir((fx_path(fx, "other", p, sizeof(p)), p), 0700), 0);
    file_put(fx, "other/target.txt", "T\n");
    file_put(fx, "a.log", "A\n");
    fx_path(fx, "other/target.txt", p, sizeof(p));
    fx_path(fx, "t.log", q, sizeof(q));
    assert_int_equal(symlink(p, q), 0); /* a link to a file outside the directory */
    fx_path(fx, "a.log", p, sizeof(p));
    fx_path(fx, "link.log", q, sizeof(q));
    assert_int_equal(symlink(p, q), 0); /* a second name for a.log */
    fx_new(fx);
    fx_glob(fx, "*.log", 0);
    fx_glob(fx, "a.*", 1);
    assert_int_equal(tail_process(fx->t, fx->now), HAF_OK);
    assert_int_equal(fx->opens, 2);
    st = file_stat(fx, "other/target.txt");
    for (size_t i = 0; i < fx->n_recs; i++) {
        struct rec *r = fx->recs[i];

        assert_int_equal(r->source_idx, 0);
        if (r->ino == (uint64_t)st.st_ino)
            assert_ends_with(r->open_path, "/t.log");
    }
    assert_int_equal(fx_drain(fx), 4);
    fx_step(fx);
    fx_step(fx);
    assert_int_equal(fx->opens, 2);
    assert_int_equal(fx->closes, 0);
    assert_int_equal(fx_drain(fx), 0);
}

static void
scn_tail_process_missing_directory(struct fx *fx)
{
    char p[4096];
    struct tail_stats st;

    fx_start(fx, "sub/*.log");
    assert_int_equal(fx->opens, 0);
    assert_true(tail_polling(fx->t));
    fx_path(fx, "sub", p, sizeof(p));
    assert_int_equal(mkdir(p, 0700), 0);
    file_put(fx, "sub/a.log", "a\n");
    fx->now += POLL_MS;
    assert_int_equal(tail_process(fx->t, fx->now), HAF_OK);
    assert_int_equal(fx->opens, 1);
    tail_get_stats(fx->t, &st);
    assert_int_equal(st.polling, fx->poll);
    assert_int_equal(tail_polling(fx->t), fx->poll);
    /* Now watched (inotify mode): a new file shows up at the next step. */
    file_put(fx, "sub/b.log", "b\n");
    fx_step(fx);
    assert_int_equal(fx->opens, 2);
    assert_int_equal(fx_drain(fx), 4);
    assert_data(fx_rec(fx, "sub/a.log"), "a\n");
    assert_data(fx_rec(fx, "sub/b.log"), "b\n");
}

static void
scn_tail_process_symlink_loop_counted(struct fx *fx)
{
    char p[4096];
    struct tail_stats st;

    fx_path(fx, "loop.log", p, sizeof(p));
    assert_int_equal(symlink("loop.log", p), 0);
    file_put(fx, "ok.log", "ok\n");
    fx_start(fx, "*.log");
    assert_int_equal(fx->opens, 1);
    tail_get_stats(fx->t, &st);
    assert_true(st.open_failures >= 1);
    assert_int_equal(st.last_open_errno, ELOOP);
    assert_non_null(st.last_open_path);
    assert_ends_with(st.last_open_path, "/loop.log");
    assert_int_equal(fx_drain(fx), 3);
    assert_data(fx_rec(fx, "ok.log"), "ok\n");
}

/* A 0600 file dir/name holding s; its path in out. */
static void
write_secret(const char *dir, const char *name, const char *s, char *out, size_t cap)
{
    int fd, n = snprintf(out, cap, "%s/%s", dir, name);

    assert_true(n > 0 && (size_t)n < cap);
    fd = open(out, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
    assert_int_equal(close(fd), 0);
}

/* Issue 11, finding 3: a link in the audit directory to a secret outside it (the service user's
 * credentials file) is not followed, and is named in the stats for the owner's warning; a link to
 * a file inside the directory is followed; a link created after start is judged the same way. */
static void
scn_tail_process_symlink_outside_refused(struct fx *fx)
{
    char *outside = testlib_mkdtemp(), p[4096], q[4096];
    struct tail_stats st;

    write_secret(outside, "secret", "SECRET\n", p, sizeof(p));
    assert_int_equal(symlink(p, (fx_path(fx, "x.log", q, sizeof(q)), q)), 0);
    assert_int_equal(mkdir((fx_path(fx, "data", q, sizeof(q)), q), 0700), 0);
    file_put(fx, "data/in.txt", "in\n");
    assert_int_equal(symlink("data/in.txt", (fx_path(fx, "in.log", q, sizeof(q)), q)), 0);
    file_put(fx, "a.log", "a\n");
    fx_start(fx, "*.log");
    assert_int_equal(fx->opens, 2);
    tail_get_stats(fx->t, &st);
    assert_true(st.links_refused >= 1);
    assert_non_null(st.last_refused_link);
    assert_ends_with(st.last_refused_link, "/x.log");
    assert_int_equal(fx_drain(fx), 5);
    assert_data(fx_rec(fx, "a.log"), "a\n");
    assert_data(fx_rec(fx, "in.log"), "in\n");
    /* A link that appears later (an inotify event or the poll) is refused as well (x.log goes
     * first, so the one refused link left is y.log: glob order is not sorted). */
    file_unlink(fx, "x.log");
    assert_int_equal(symlink(p, (fx_path(fx, "y.log", q, sizeof(q)), q)), 0);
    fx_step(fx);
    fx_step(fx);
    assert_int_equal(fx->opens, 2);
    tail_get_stats(fx->t, &st);
    assert_ends_with(st.last_refused_link, "/y.log");
    assert_int_equal(fx_drain(fx), 0);
    testlib_rmtree(outside);
    free(outside);
}

static void
scn_tail_next_readable_round_robin(struct fx *fx)
{
    struct tail_file *first[3];

    file_put(fx, "a.log", "a");
    file_put(fx, "b.log", "b");
    file_put(fx, "c.log", "c");
    fx_start(fx, "*.log");
    for (int pass = 0; pass < 3; pass++) {
        struct tail_file *seen[3];
        int n = 0;

        for (struct tail_file *f = tail_next_readable(fx->t, NULL); f != NULL;
             f = tail_next_readable(fx->t, f)) {
            assert_true(n < 3);
            seen[n++] = f;
        }
        assert_int_equal(n, 3);
        assert_ptr_not_equal(seen[0], seen[1]);
        assert_ptr_not_equal(seen[0], seen[2]);
        assert_ptr_not_equal(seen[1], seen[2]);
        first[pass] = seen[0];
    }
    /* Each pass starts one file further, so every file gets to go first. */
    assert_ptr_not_equal(first[0], first[1]);
    assert_ptr_not_equal(first[0], first[2]);
    assert_ptr_not_equal(first[1], first[2]);
    assert_int_equal(fx_drain(fx), 3);
    assert_null(tail_next_readable(fx->t, NULL));
}

static void
scn_tail_timeout_ms_schedule(struct fx *fx)
{
    file_put(fx, "a.log", "a\n");
    fx_start(fx, "*.log");
    if (fx->poll) {
        assert_int_equal(tail_timeout_ms(fx->t, fx->now), POLL_MS);
        assert_int_equal(tail_timeout_ms(fx->t, fx->now + 40), POLL_MS - 40);
        assert_int_equal(tail_timeout_ms(fx->t, fx->now + POLL_MS + 5), 0);
        assert_true(tail_polling(fx->t));
    } else {
        /* Only the safety rescan is due. */
        assert_int_equal(tail_timeout_ms(fx->t, fx->now), TAIL_RESCAN_MS);
        assert_false(tail_polling(fx->t));
    }
    file_unlink(fx, "a.log");
    fx_step(fx);
    /* A draining file needs a timer in either mode. */
    assert_true(tail_timeout_ms(fx->t, fx->now) <= POLL_MS);
    assert_int_equal(fx_drain(fx), 2);
    fx_step(fx); /* sees EOF */
    assert_true(tail_timeout_ms(fx->t, fx->now) <= ROTATE_MS);
    fx->now += ROTATE_MS;
    assert_int_equal(tail_timeout_ms(fx->t, fx->now), 0);
    assert_int_equal(tail_process(fx->t, fx->now), HAF_OK);
    assert_int_equal(fx->closes, 1);
}

#define BOTH(name)                                                                                 \
    static void test_##name##_inotify(void **state)                                                \
    {                                                                                              \
        scn_##name(*state);                                                                        \
    }                                                                                              \
    static void test_##name##_poll(void **state)                                                   \
    {                                                                                              \
        scn_##name(*state);                                                                        \
    }

BOTH(tail_add_glob_initial_match)
BOTH(tail_process_new_file)
BOTH(tail_read_appended)
BOTH(tail_process_rotation_rename)
BOTH(tail_process_rename_within_glob)
BOTH(tail_process_renamed_back_before_release)
BOTH(tail_process_copytruncate)
BOTH(tail_process_copytruncate_refilled_past_offset)
BOTH(tail_read_detects_rewritten_head)
BOTH(tail_process_truncation_below_offset)
BOTH(tail_process_deleted_while_open)
BOTH(tail_process_inode_reused_after_delete)
BOTH(tail_process_same_inode_new_fingerprint)
BOTH(tail_process_fingerprint_grows)
BOTH(tail_add_glob_start_offset)
BOTH(tail_process_thousands_of_files)
BOTH(tail_add_glob_two_globs_one_file)
BOTH(tail_process_missing_directory)
BOTH(tail_process_symlink_loop_counted)
BOTH(tail_process_symlink_outside_refused)
BOTH(tail_next_readable_round_robin)
BOTH(tail_timeout_ms_schedule)

/* ---- single-mode tests ---- */

static void
test_tail_process_watch_limit_falls_back_to_polling(void **state)
{
    struct fx *fx = *state;
    struct tail_stats st;

    fx->max_watches = 1;
    file_put(fx, "a.log", "aaaa\n");
    file_put(fx, "b.log", "bbbb\n");
    fx_start(fx, "*.log");
    tail_get_stats(fx->t, &st);
    assert_true(st.inotify);
    assert_int_equal(st.watch_failures, 1);
    assert_true(st.polling);
    assert_true(tail_polling(fx->t));
    assert_int_equal(tail_timeout_ms(fx->t, fx->now), POLL_MS);
    assert_int_equal(fx_drain(fx), 10);
    /* Truncate both: the watched one is seen by its event, the other at the poll tick. */
    file_put(fx, "a.log", "A\n");
    file_put(fx, "b.log", "B\n");
    fx->now += POLL_MS;
    assert_int_equal(tail_process(fx->t, fx->now), HAF_OK);
    assert_int_equal(fx->truncs, 2);
    assert_int_equal(fx_drain(fx), 4);
    assert_data(fx_rec(fx, "a.log"), "aaaa\n|T|A\n");
    assert_data(fx_rec(fx, "b.log"), "bbbb\n|T|B\n");
}

static void
test_tail_process_max_open_small(void **state)
{
    struct fx *fx = *state;
    struct tail_stats st;

    fx->max_open = 2;
    file_put(fx, "a.log", "a\n");
    file_put(fx, "b.log", "b\n");
    file_put(fx, "c.log", "c\n");
    fx_start(fx, "*.log");
    assert_int_equal(tail_file_count(fx->t), 2);
    tail_get_stats(fx->t, &st);
    assert_int_equal(st.files_pending, 1);
    assert_int_equal(fx_drain(fx), 4);
    file_unlink(fx, fx->recs[0]->f->path + strlen(fx->dir) + 1);
    fx_step(fx);
    fx_wait_release(fx);
    assert_int_equal(fx->opens, 3);
    assert_int_equal(tail_file_count(fx->t), 2);
    assert_int_equal(fx_drain(fx), 2);
    tail_get_stats(fx->t, &st);
    assert_int_equal(st.files_pending, 0);
}

static void
test_tail_process_permission_denied_retried(void **state)
{
    struct fx *fx = *state;
    struct tail_stats st;
    char p[4096];

    if (geteuid() == 0)
        skip(); /* root opens anything: EACCES cannot be provoked */
    file_put(fx, "a.log", "secret\n");
    fx_path(fx, "a.log", p, sizeof(p));
    assert_int_equal(chmod(p, 0), 0);
    fx_start(fx, "*.log");
    tail_get_stats(fx->t, &st);
    assert_int_equal(fx->opens, 0);
    assert_true(st.open_failures >= 1);
    assert_int_equal(st.last_open_errno, EACCES);
    assert_int_equal(chmod(p, 0644), 0);
    fx->now += TAIL_RESCAN_MS;
    assert_int_equal(tail_process(fx->t, fx->now), HAF_OK);
    assert_int_equal(fx->opens, 1);
    assert_int_equal(fx_drain(fx), 7);
    assert_data(fx->recs[0], "secret\n");
}

static void
test_tail_fingerprint_fd_errors_and_prefixes(void **state)
{
    struct fx *fx = *state;
    struct tail_fingerprint fp, fp2;
    uint8_t h[32];
    char p[4096];
    int fd;

    file_put(fx, "a.bin", "abc");
    fx_path(fx, "a.bin", p, sizeof(p));
    fd = open(p, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(tail_fingerprint_fd(fd, TAIL_FP_MAX_BYTES + 1, &fp), HAF_EINVAL);
    assert_int_equal(tail_fingerprint_fd(-1, 0, &fp), HAF_EIO);
    assert_int_equal(tail_fingerprint_fd(-1, 3, &fp), HAF_EIO);
    assert_int_equal(tail_fingerprint_fd(fd, 0, &fp), HAF_OK);
    sha256("abc", 3, h);
    assert_int_equal(fp.len, 3);
    assert_memory_equal(fp.hash, h, 32);
    assert_int_equal(tail_fingerprint_fd(fd, 2, &fp2), HAF_OK);
    sha256("ab", 2, h);
    assert_int_equal(fp2.len, 2);
    assert_memory_equal(fp2.hash, h, 32);
    /* Asking for more than the file has: the fingerprint of what is there, len says so. */
    assert_int_equal(tail_fingerprint_fd(fd, 10, &fp2), HAF_OK);
    assert_int_equal(fp2.len, 3);
    assert_true(tail_fingerprint_eq(&fp, &fp2));
    fp2.hash[31] ^= 1;
    assert_false(tail_fingerprint_eq(&fp, &fp2));
    assert_int_equal(close(fd), 0);
}

static void
test_tail_add_glob_invalid(void **state)
{
    struct fx *fx = *state;

    fx_new(fx);
    assert_int_equal(tail_add_glob(fx->t, "", 0), HAF_EINVAL);
    assert_int_equal(tail_add_glob(fx->t, NULL, 0), HAF_EINVAL);
    assert_int_equal(tail_file_count(fx->t), 0);
    tail_free(NULL);
}

/* follow_symlinks: true (TAIL_FOLLOW_SYMLINKS) is the explicit opt-in: the same link is followed.
 */
static void
test_tail_add_glob_flags_follow_symlinks(void **state)
{
    struct fx *fx = *state;
    char *outside = testlib_mkdtemp(), p[4096], q[4096];
    struct tail_stats st;

    write_secret(outside, "elsewhere.txt", "E\n", p, sizeof(p));
    assert_int_equal(symlink(p, (fx_path(fx, "x.log", q, sizeof(q)), q)), 0);
    fx_new(fx);
    fx_path(fx, "*.log", q, sizeof(q));
    assert_int_equal(tail_add_glob_flags(fx->t, q, 0, TAIL_FOLLOW_SYMLINKS), HAF_OK);
    assert_int_equal(tail_process(fx->t, fx->now), HAF_OK);
    assert_int_equal(fx->opens, 1);
    tail_get_stats(fx->t, &st);
    assert_int_equal(st.links_refused, 0);
    assert_null(st.last_refused_link);
    assert_int_equal(fx_drain(fx), 2);
    assert_data(fx_rec(fx, "x.log"), "E\n");
    testlib_rmtree(outside);
    free(outside);
}

/* A link to a file inside the directory whose owner and group are not the directory's (planted
 * by another user) is refused too. Needs root to chown; skipped otherwise. */
static void
test_tail_process_symlink_foreign_owner_refused(void **state)
{
    struct fx *fx = *state;
    char p[4096], q[4096];
    struct tail_stats st;

    if (geteuid() != 0) {
        skip();
        return;
    }
    file_put(fx, "other.txt", "O\n");
    fx_path(fx, "other.txt", p, sizeof(p));
    assert_int_equal(chown(p, 65534, 65534), 0);
    assert_int_equal(symlink(p, (fx_path(fx, "o.log", q, sizeof(q)), q)), 0);
    file_put(fx, "mine.txt", "M\n");
    assert_int_equal(symlink("mine.txt", (fx_path(fx, "m.log", q, sizeof(q)), q)), 0);
    fx_start(fx, "*.log");
    assert_int_equal(fx->opens, 1);
    tail_get_stats(fx->t, &st);
    assert_ends_with(st.last_refused_link, "/o.log");
    assert_int_equal(fx_drain(fx), 2);
    assert_data(fx_rec(fx, "m.log"), "M\n");
}

static void
test_tail_free_closes_every_file(void **state)
{
    struct fx *fx = *state;

    file_put(fx, "a.log", "a");
    file_put(fx, "b.log", "b");
    fx_start(fx, "*.log");
    assert_int_equal(fx->opens, 2);
    tail_free(fx->t);
    fx->t = NULL;
    assert_int_equal(fx->closes, 2);
    assert_true(fx->recs[0]->closed);
    assert_true(fx->recs[1]->closed);
}

/* tail_adopt: a file no glob matches (renamed out while the owner was down) is followed, draining
 * at once: read to its end, then released; adopting a followed file is a no-op. */
static void
test_tail_adopt_out_of_glob_file(void **state)
{
    struct fx *fx = *state;
    char p[4096];
    struct rec *r;

    file_put(fx, "a.log", "new\n");
    file_put(fx, "a.log.1", "old1\nold2\n");
    fx_start(fx, "*.log");
    assert_int_equal(fx->opens, 1);
    fx_path(fx, "a.log.1", p, sizeof(p));
    assert_int_equal(tail_adopt(fx->t, p, 3), HAF_OK);
    assert_int_equal(fx->opens, 2);
    r = fx_rec(fx, "a.log.1");
    assert_true(r->f->draining);
    assert_int_equal(r->source_idx, 3);
    assert_int_equal(tail_adopt(fx->t, p, 3), HAF_OK); /* followed already */
    assert_int_equal(fx->opens, 2);
    fx_path(fx, "missing.log.2", p, sizeof(p));
    assert_int_equal(tail_adopt(fx->t, p, 0), HAF_ENOTFOUND);
    assert_int_equal(fx_drain(fx), 14);
    assert_data(r, "old1\nold2\n");
    fx_wait_release(fx);
    assert_true(r->closed);
    fx_step(fx);
    assert_int_equal(fx->opens, 2); /* not matched by the glob: not reopened */
}

/* tail_let_go: the owner closes a file it finished; a pending match takes its place, and the
 * released file is not reopened although the glob still matches it. */
static void
test_tail_let_go_makes_room(void **state)
{
    struct fx *fx = *state;
    struct tail_stats st;
    struct rec *first;

    fx->max_open = 1;
    file_put(fx, "a.log", "a\n");
    file_put(fx, "b.log", "b\n");
    fx_start(fx, "*.log");
    assert_int_equal(tail_file_count(fx->t), 1);
    assert_int_equal(fx_drain(fx), 2);
    first = fx->recs[0];
    assert_int_equal(tail_let_go(fx->t, first->f), HAF_OK);
    assert_true(first->closed);
    assert_int_equal(tail_file_count(fx->t), 0);
    fx_step(fx);
    assert_int_equal(fx->opens, 2);
    assert_int_equal(fx_drain(fx), 2);
    tail_get_stats(fx->t, &st);
    assert_int_equal(st.files_pending, 0);
    fx_step(fx);
    fx_step(fx);
    assert_int_equal(fx->opens, 2);
    assert_int_equal(tail_let_go(fx->t, NULL), HAF_EINVAL);
}

#define BOTH_TESTS(name)                                                                           \
    cmocka_unit_test_setup_teardown(test_##name##_inotify, setup_inotify, teardown),               \
        cmocka_unit_test_setup_teardown(test_##name##_poll, setup_poll, teardown)

/* Paths a glob reaches but may not read, as root meets them too: a file that is a symlink loop
 * (ELOOP at stat) and a pattern directory that is one (glob(3) cannot list it). Each is listed
 * once with its errno and whether it is a directory, across rescans, and counted in unreadable. */
static void
test_tail_access_problems_listed_once(void **state)
{
    struct fx *fx = *state;
    char file[4096], dir[4096];
    const struct tail_access_problem *probs;
    struct tail_stats ts;
    size_t n;
    bool saw_file = false, saw_dir = false;

    fx_path(fx, "loop.log", file, sizeof(file));
    assert_int_equal(symlink(file, file), 0);
    fx_path(fx, "sub", dir, sizeof(dir));
    assert_int_equal(symlink(dir, dir), 0);
    fx_new(fx);
    fx_glob(fx, "*.log", 0);
    fx_glob(fx, "sub/*.log", 1);
    for (int i = 0; i < 5; i++)
        fx_step(fx);
    n = tail_access_problems(fx->t, &probs);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(probs[i].err, ELOOP);
        if (strcmp(probs[i].path, file) == 0 && !probs[i].is_dir)
            saw_file = true;
        if (strcmp(probs[i].path, dir) == 0 && probs[i].is_dir)
            saw_dir = true;
    }
    assert_true(saw_file);
    assert_true(saw_dir);
    tail_get_stats(fx->t, &ts);
    assert_int_equal(ts.unreadable, 2);
    assert_int_equal(tail_file_count(fx->t), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH_TESTS(tail_add_glob_initial_match),
        BOTH_TESTS(tail_process_new_file),
        BOTH_TESTS(tail_read_appended),
        BOTH_TESTS(tail_process_rotation_rename),
        BOTH_TESTS(tail_process_rename_within_glob),
        BOTH_TESTS(tail_process_renamed_back_before_release),
        BOTH_TESTS(tail_process_copytruncate),
        BOTH_TESTS(tail_process_copytruncate_refilled_past_offset),
        BOTH_TESTS(tail_read_detects_rewritten_head),
        BOTH_TESTS(tail_process_truncation_below_offset),
        BOTH_TESTS(tail_process_deleted_while_open),
        BOTH_TESTS(tail_process_inode_reused_after_delete),
        BOTH_TESTS(tail_process_same_inode_new_fingerprint),
        BOTH_TESTS(tail_process_fingerprint_grows),
        BOTH_TESTS(tail_add_glob_start_offset),
        BOTH_TESTS(tail_process_thousands_of_files),
        BOTH_TESTS(tail_add_glob_two_globs_one_file),
        BOTH_TESTS(tail_process_missing_directory),
        BOTH_TESTS(tail_process_symlink_loop_counted),
        BOTH_TESTS(tail_process_symlink_outside_refused),
        cmocka_unit_test_setup_teardown(test_tail_add_glob_flags_follow_symlinks, setup_poll,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_process_symlink_foreign_owner_refused, setup_poll,
                                        teardown),
        BOTH_TESTS(tail_next_readable_round_robin),
        BOTH_TESTS(tail_timeout_ms_schedule),
        cmocka_unit_test_setup_teardown(test_tail_process_watch_limit_falls_back_to_polling,
                                        setup_inotify, teardown),
        cmocka_unit_test_setup_teardown(test_tail_process_max_open_small, setup_inotify, teardown),
        cmocka_unit_test_setup_teardown(test_tail_process_permission_denied_retried, setup_poll,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_fingerprint_fd_errors_and_prefixes, setup_poll,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_add_glob_invalid, setup_poll, teardown),
        cmocka_unit_test_setup_teardown(test_tail_free_closes_every_file, setup_inotify, teardown),
        cmocka_unit_test_setup_teardown(test_tail_access_problems_listed_once, setup_poll,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_adopt_out_of_glob_file, setup_inotify, teardown),
        cmocka_unit_test_setup_teardown(test_tail_let_go_makes_room, setup_poll, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_replay_ledger.c: the replay ledger on disk (replay_ledger.h) in a real temp directory:
 * marks survive a reopen (sorted main, side for the out-of-order and the untrusted), nothing is
 * recorded twice, a torn tail is cut, a corrupt file is set aside, a newer format is refused, a
 * symlink or a group-writable directory is refused with HAF_EPERM, a read-only ledger writes
 * nothing, and the files are 0600 in a 0700 directory.
 */
#include <dirent.h>
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

#include "haf/ledger_search.h"
#include "haf/replay_ledger.h"
#include "testlib.h"

static struct replay_mark
mk(uint64_t r, uint64_t s, uint64_t h)
{
    return (struct replay_mark){.reboot = r, .seq = s, .hash = h};
}

static const struct replay_mark CEIL = {.reboot = UINT32_MAX, .seq = UINT64_MAX};

static enum replay_verdict
look(struct replay_ledger *l, struct replay_mark m)
{
    enum replay_verdict v = (enum replay_verdict)99;

    assert_int_equal(replay_ledger_lookup(l, &m, &v, NULL), HAF_OK);
    return v;
}

static void
add(struct replay_ledger *l, struct replay_mark m, const struct replay_mark *ceiling)
{
    assert_int_equal(replay_ledger_add(l, &m, ceiling, NULL), HAF_OK);
}

/* The path of the ledger file with this suffix ("main", "side") in dir/ledger. */
static char *
ledger_path(const char *dir, const char *suffix)
{
    char ldir[512], *out = NULL;
    DIR *dh;
    struct dirent *de;

    (void)snprintf(ldir, sizeof(ldir), "%s/ledger", dir);
    dh = opendir(ldir);
    assert_non_null(dh);
    while ((de = readdir(dh)) != NULL) {
        const char *dot = strrchr(de->d_name, '.');
        if (dot != NULL && strcmp(dot + 1, suffix) == 0 &&
            strlen(de->d_name) == 33 + strlen(suffix)) {
            out = malloc(strlen(ldir) + strlen(de->d_name) + 2);
            assert_non_null(out);
            (void)sprintf(out, "%s/%s", ldir, de->d_name);
        }
    }
    closedir(dh);
    assert_non_null(out);
    return out;
}

static long long
file_size(const char *path)
{
    struct stat sb;

    assert_int_equal(stat(path, &sb), 0);
    return (long long)sb.st_size;
}

static void
test_replay_ledger_survives_reopen(void **state)
{
    char *dir = testlib_mkdtemp();
    struct replay_ledger *l = replay_ledger_new(dir, "/g", "s", true);
    struct replay_ledger_info info;
    struct stat sb;
    char *mainp, ldir[512];

    (void)state;
    assert_non_null(l);
    assert_int_equal(look(l, mk(1, 1, 1)), REPLAY_UNKNOWN); /* empty */
    for (uint64_t s = 0; s < 2000; s++)                     /* past LEDGER_FLUSH_RECS */
        add(l, mk(3, s, s * 11), &CEIL);
    add(l, mk(3, 10, 999), &CEIL);         /* out of order: a reused pair */
    add(l, mk(3, 10, 999), &CEIL);         /* again: not recorded twice */
    add(l, mk(3, 1999, 1999 * 11), &CEIL); /* the newest again */
    assert_int_equal(replay_ledger_sync(l, NULL), HAF_OK);
    replay_ledger_get_info(l, &info);
    assert_int_equal(info.main_recs, 2000);
    assert_int_equal(info.side_recs, 1);
    assert_int_equal(info.pending, 0);
    replay_ledger_free(l);

    mainp = ledger_path(dir, "main");
    assert_int_equal(file_size(mainp), LEDGER_HDR_BYTES + 2000 * LEDGER_REC_BYTES);
    assert_int_equal(stat(mainp, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    (void)snprintf(ldir, sizeof(ldir), "%s/ledger", dir);
    assert_int_equal(stat(ldir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);

    l = replay_ledger_new(dir, "/g", "s", true);
    assert_non_null(l);
    for (uint64_t s = 0; s < 2000; s += 37)
        assert_int_equal(look(l, mk(3, s, s * 11)), REPLAY_SAME);
    assert_int_equal(look(l, mk(3, 10, 999)), REPLAY_SAME);
    assert_int_equal(look(l, mk(3, 11, 999)), REPLAY_DIFFERENT);
    assert_int_equal(look(l, mk(3, 2000, 0)), REPLAY_UNKNOWN);
    /* Another stream has its own ledger. */
    {
        struct replay_ledger *other = replay_ledger_new(dir, "/g", "s2", true);
        assert_int_equal(look(other, mk(3, 5, 55)), REPLAY_UNKNOWN);
        replay_ledger_free(other);
    }
    /* Marks added after the reopen extend the same file; one already there is not re-added (a
     * crash between the ledger and the state file: the window forgets it a second time). */
    add(l, mk(3, 1500, 1500 * 11), &CEIL);
    add(l, mk(3, 2000, 2000 * 11), &CEIL);
    assert_int_equal(replay_ledger_sync(l, NULL), HAF_OK);
    replay_ledger_get_info(l, &info);
    assert_int_equal(info.main_recs, 2001);
    assert_int_equal(info.side_recs, 1);
    replay_ledger_free(l);
    free(mainp);
    testlib_rmtree(dir);
    free(dir);
}

/* A mark beyond the trusted pair (a forged Sequence No) goes to the side file, so it cannot
 * become the main file's last record and push every later mark out of the sorted file. */
static void
test_replay_ledger_ceiling_keeps_main_sorted(void **state)
{
    char *dir = testlib_mkdtemp();
    struct replay_ledger *l = replay_ledger_new(dir, "/g", "s", true);
    struct replay_mark ceil = mk(3, 100, 0);
    struct replay_ledger_info info;

    (void)state;
    add(l, mk(3, 1, 1), &ceil);
    add(l, mk(3, UINT64_MAX, 5), &ceil);
    add(l, mk(3, 2, 2), &ceil);
    add(l, mk(3, 100, 100), &ceil);
    assert_int_equal(replay_ledger_sync(l, NULL), HAF_OK);
    replay_ledger_get_info(l, &info);
    assert_int_equal(info.main_recs, 3);
    assert_int_equal(info.side_recs, 1);
    assert_int_equal(look(l, mk(3, UINT64_MAX, 5)), REPLAY_SAME);
    assert_int_equal(look(l, mk(3, 100, 100)), REPLAY_SAME);
    replay_ledger_free(l);
    testlib_rmtree(dir);
    free(dir);
}

static void
append_bytes(const char *path, const char *bytes, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, n), (ssize_t)n);
    close(fd);
}

static struct replay_ledger *
ledger_with(const char *dir, uint64_t n)
{
    struct replay_ledger *l = replay_ledger_new(dir, "/g", "s", true);

    for (uint64_t s = 0; s < n; s++)
        add(l, mk(1, s, s + 7), &CEIL);
    assert_int_equal(replay_ledger_sync(l, NULL), HAF_OK);
    return l;
}

static void
test_replay_ledger_torn_tail_cut(void **state)
{
    char *dir = testlib_mkdtemp();
    struct replay_ledger *l = ledger_with(dir, 10);
    char *mainp = ledger_path(dir, "main");
    struct replay_ledger_info info;

    (void)state;
    replay_ledger_free(l);
    {
        /* What a power loss can leave: records of zeros after the last one, then a torn one. */
        static const char zeros[3 * LEDGER_REC_BYTES];
        append_bytes(mainp, zeros, sizeof(zeros));
    }
    append_bytes(mainp, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a", 10);
    l = replay_ledger_new(dir, "/g", "s", true);
    assert_int_equal(look(l, mk(1, 9, 16)), REPLAY_SAME);
    replay_ledger_get_info(l, &info);
    assert_int_equal(info.main_recs, 10);
    assert_int_equal(file_size(mainp), LEDGER_HDR_BYTES + 10 * LEDGER_REC_BYTES);
    add(l, mk(1, 10, 17), &CEIL);
    assert_int_equal(replay_ledger_sync(l, NULL), HAF_OK);
    replay_ledger_free(l);
    l = replay_ledger_new(dir, "/g", "s", true);
    assert_int_equal(look(l, mk(1, 10, 17)), REPLAY_SAME);
    assert_int_equal(look(l, mk(1, 0, 7)), REPLAY_SAME);
    replay_ledger_free(l);
    free(mainp);
    testlib_rmtree(dir);
    free(dir);
}

static void
overwrite_at(const char *path, off_t off, const char *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);

    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

static void
test_replay_ledger_corrupt_set_aside_newer_refused(void **state)
{
    char *dir = testlib_mkdtemp();
    struct replay_ledger *l = ledger_with(dir, 10);
    char *mainp = ledger_path(dir, "main"), aside[600];
    struct replay_ledger_info info;
    struct replay_mark m = mk(1, 3, 10);
    enum replay_verdict v = (enum replay_verdict)99;
    struct buf msg;
    DIR *dh;
    struct dirent *de;
    int asides = 0;

    (void)state;
    replay_ledger_free(l);
    overwrite_at(mainp, 0, "NOTOURS!", 8);
    buf_init(&msg, 0);
    l = replay_ledger_new(dir, "/g", "s", true);
    assert_int_equal(replay_ledger_lookup(l, &m, &v, &msg), HAF_OK);
    assert_int_equal(v, REPLAY_UNKNOWN); /* forgotten: a copy would be shipped, never dropped */
    assert_non_null(strstr(buf_cstr(&msg), "corrupt"));
    replay_ledger_get_info(l, &info);
    assert_int_equal(info.set_aside, 1);
    replay_ledger_free(l);
    (void)snprintf(aside, sizeof(aside), "%s/ledger", dir);
    dh = opendir(aside);
    assert_non_null(dh);
    while ((de = readdir(dh)) != NULL)
        asides += strstr(de->d_name, ".main.corrupt-") != NULL;
    closedir(dh);
    assert_int_equal(asides, 1);

    /* A newer format: refused, not set aside. */
    overwrite_at(mainp, 8, "\x02", 1);
    l = replay_ledger_new(dir, "/g", "s", true);
    v = (enum replay_verdict)99;
    assert_int_equal(replay_ledger_lookup(l, &m, &v, NULL), HAF_EINVAL);
    assert_int_equal(v, 99);
    assert_int_equal(replay_ledger_sync(l, NULL), HAF_OK); /* nothing new: no I/O */
    assert_int_equal(replay_ledger_add(l, &m, &CEIL, NULL), HAF_EINVAL);
    assert_int_equal(replay_ledger_sync(l, NULL), HAF_EINVAL); /* the mark stays pending */
    replay_ledger_get_info(l, &info);
    assert_int_equal(info.pending, 1);
    replay_ledger_free(l);
    buf_clean_up(&msg);
    free(mainp);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_replay_ledger_unsafe_refused(void **state)
{
    char *dir = testlib_mkdtemp(), ldir[512], target[512], link[600];
    struct replay_ledger *l = ledger_with(dir, 3);
    char *mainp = ledger_path(dir, "main");
    struct replay_mark m = mk(1, 1, 8);
    enum replay_verdict v;

    (void)state;
    replay_ledger_free(l);
    /* main replaced by a symlink: never followed. */
    (void)snprintf(target, sizeof(target), "%s/elsewhere", dir);
    assert_int_equal(rename(mainp, target), 0);
    assert_int_equal(symlink(target, mainp), 0);
    l = replay_ledger_new(dir, "/g", "s", true);
    assert_int_equal(replay_ledger_lookup(l, &m, &v, NULL), HAF_EPERM);
    replay_ledger_free(l);
    assert_int_equal(unlink(mainp), 0);
    assert_int_equal(rename(target, mainp), 0);
    /* A group-writable ledger directory. */
    (void)snprintf(ldir, sizeof(ldir), "%s/ledger", dir);
    assert_int_equal(chmod(ldir, 0770), 0);
    l = replay_ledger_new(dir, "/g", "s", true);
    assert_int_equal(replay_ledger_lookup(l, &m, &v, NULL), HAF_EPERM);
    replay_ledger_free(l);
    assert_int_equal(chmod(ldir, 0700), 0);
    /* The ledger directory itself a symlink. */
    (void)snprintf(link, sizeof(link), "%s/ledger.real", dir);
    assert_int_equal(rename(ldir, link), 0);
    assert_int_equal(symlink(link, ldir), 0);
    l = replay_ledger_new(dir, "/g", "s", true);
    assert_int_not_equal(replay_ledger_lookup(l, &m, &v, NULL), HAF_OK);
    replay_ledger_free(l);
    free(mainp);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_replay_ledger_read_only_writes_nothing(void **state)
{
    char *dir = testlib_mkdtemp(), ldir[512];
    struct replay_ledger *l = replay_ledger_new(dir, "/g", "s", false);
    struct stat sb;

    (void)state;
    add(l, mk(1, 1, 1), &CEIL);
    assert_int_equal(replay_ledger_sync(l, NULL), HAF_OK);
    assert_int_equal(look(l, mk(1, 1, 1)), REPLAY_UNKNOWN);
    (void)snprintf(ldir, sizeof(ldir), "%s/ledger", dir);
    assert_int_not_equal(stat(ldir, &sb), 0);
    replay_ledger_free(l);
    /* It reads what a writable one recorded. */
    replay_ledger_free(ledger_with(dir, 5));
    l = replay_ledger_new(dir, "/g", "s", false);
    assert_int_equal(look(l, mk(1, 4, 11)), REPLAY_SAME);
    replay_ledger_free(l);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_replay_ledger_prepare_checks_the_directory(void **state)
{
    char *dir = testlib_mkdtemp(), ldir[512];
    struct stat sb;
    struct buf msg;

    (void)state;
    buf_init(&msg, 0);
    (void)snprintf(ldir, sizeof(ldir), "%s/ledger", dir);
    assert_int_equal(replay_ledger_prepare(dir, false, &msg), HAF_OK); /* --dry-run */
    assert_int_not_equal(stat(ldir, &sb), 0);
    assert_int_equal(replay_ledger_prepare(dir, true, &msg), HAF_OK);
    assert_int_equal(stat(ldir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(chmod(ldir, 0720), 0);
    assert_int_equal(replay_ledger_prepare(dir, true, &msg), HAF_EPERM);
    assert_non_null(strstr(buf_cstr(&msg), "chmod go-w"));
    assert_int_equal(chmod(ldir, 0700), 0);
    buf_clean_up(&msg);
    testlib_rmtree(dir);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_ledger_survives_reopen),
        cmocka_unit_test(test_replay_ledger_ceiling_keeps_main_sorted),
        cmocka_unit_test(test_replay_ledger_torn_tail_cut),
        cmocka_unit_test(test_replay_ledger_corrupt_set_aside_newer_refused),
        cmocka_unit_test(test_replay_ledger_unsafe_refused),
        cmocka_unit_test(test_replay_ledger_read_only_writes_nothing),
        cmocka_unit_test(test_replay_ledger_prepare_checks_the_directory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

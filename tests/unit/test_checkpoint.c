/*
 * test_checkpoint.c: the state file: serialize/parse round trips (UINT64_MAX, non-UTF-8 names),
 * every parse rejection, atomic save (a crash mid-write leaves a .tmp that is never read; the old
 * state survives; a planted symlink is never written through), a full disk (tiny tmpfs) and a
 * read-only file system (remount), corrupt files set aside, and refusal of unsafe directories,
 * files and symlinks. Mount-based cases need root and are skipped when mount(2) is not allowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haf/checkpoint.h"
#include "testlib.h"

static void
write_file(const char *dir, const char *name, const char *data, size_t len, mode_t mode)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static char *
read_file(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    FILE *f;
    char *p = calloc(1, 1 << 20);
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        free(p);
        return NULL;
    }
    n = fread(p, 1, (1 << 20) - 1, f);
    fclose(f);
    if (len)
        *len = n;
    return p;
}

static bool
exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

static int
lstat_in(const char *dir, const char *name, struct stat *st)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lstat(path, st);
}

/* Name of the first entry starting with prefix, or NULL; caller frees. */
static char *
find_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char *r = NULL;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 && r == NULL)
            r = strdup(de->d_name);
    closedir(d);
    return r;
}

static size_t
count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

static void
sample_state(struct ckpt_state *s)
{
    struct ckpt_file f = {0};
    struct ckpt_stream st = {0};

    ckpt_state_init(s);
    f.path = "/opt/cloudhsm/run/audit/audit.log";
    f.dev = 2049;
    f.ino = 131;
    f.fp.len = 1024;
    for (size_t i = 0; i < sizeof(f.fp.hash); i++)
        f.fp.hash[i] = (uint8_t)(i * 37 + 1);
    f.offset = 4096;
    f.updated_ms = 1700000000123;
    assert_int_equal(ckpt_set_file(s, &f), HAF_OK);
    f.path = "/opt/cloudhsm/run/audit/\xff\xfe-not-utf8.log";
    f.dev = UINT64_MAX;
    f.ino = UINT64_MAX;
    f.offset = UINT64_MAX;
    f.fp.len = 0;
    f.updated_ms = 253402300799999; /* the largest accepted (INT64_MIN is refused now) */
    assert_int_equal(ckpt_set_file(s, &f), HAF_OK);
    st.group = "/cloudhsm/audit";
    st.stream = "host-1/audit.log";
    st.has_seq = true;
    st.reboot_counter = 263;
    st.sequence_no = 5;
    st.inflight = true;
    assert_int_equal(ckpt_set_stream(s, &st), HAF_OK);
    st.stream = "host-1/\xc3\xa9t\xc3\xa9"; /* valid UTF-8 */
    st.reboot_counter = UINT64_MAX;
    st.sequence_no = UINT64_MAX;
    st.inflight = false;
    assert_int_equal(ckpt_set_stream(s, &st), HAF_OK);
}

static void
assert_same_state(const struct ckpt_state *a, const struct ckpt_state *b)
{
    assert_int_equal(a->n_files, b->n_files);
    assert_int_equal(a->n_streams, b->n_streams);
    for (size_t i = 0; i < a->n_files; i++) {
        assert_string_equal(a->files[i].path, b->files[i].path);
        assert_true(a->files[i].dev == b->files[i].dev);
        assert_true(a->files[i].ino == b->files[i].ino);
        assert_true(a->files[i].offset == b->files[i].offset);
        assert_true(a->files[i].updated_ms == b->files[i].updated_ms);
        assert_int_equal(a->files[i].fp.len, b->files[i].fp.len);
        assert_memory_equal(a->files[i].fp.hash, b->files[i].fp.hash, sizeof(a->files[i].fp.hash));
    }
    for (size_t i = 0; i < a->n_streams; i++) {
        assert_string_equal(a->streams[i].group, b->streams[i].group);
        assert_string_equal(a->streams[i].stream, b->streams[i].stream);
        assert_int_equal(a->streams[i].has_seq, b->streams[i].has_seq);
        assert_int_equal(a->streams[i].inflight, b->streams[i].inflight);
        assert_true(a->streams[i].reboot_counter == b->streams[i].reboot_counter);
        assert_true(a->streams[i].sequence_no == b->streams[i].sequence_no);
    }
}

static void
test_ckpt_serialize_parse_round_trip(void **state)
{
    struct ckpt_state s, r;
    struct buf text, msg;

    (void)state;
    sample_state(&s);
    ckpt_state_init(&r);
    buf_init(&text, 0);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_serialize(&s, &text), HAF_OK);
    /* uint64 values are strings, so UINT64_MAX is exact */
    assert_non_null(strstr(buf_cstr(&text), "\"18446744073709551615\""));
    assert_non_null(strstr(buf_cstr(&text), "\"path_hex\""));
    assert_int_equal(ckpt_parse(text.p, text.len, &r, &msg), HAF_OK);
    assert_same_state(&s, &r);
    assert_int_equal(msg.len, 0);
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&r);
    buf_clean_up(&text);
    buf_clean_up(&msg);
}

/* "done" (a file released after its last byte was acknowledged) round-trips, is written only when
 * set (state files of earlier versions read the same), and must be a boolean. */
static void
test_ckpt_done_round_trip_and_type(void **state)
{
    static const char not_bool[] =
        "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":\"1\",\"ino\":\"2\",\"fp_len\":0,"
        "\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":0,\"done\":1}],\"streams\":[]}";
    struct ckpt_state s, r;
    struct buf text, msg;

    (void)state;
    sample_state(&s);
    ckpt_state_init(&r);
    buf_init(&text, 0);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_serialize(&s, &text), HAF_OK);
    assert_null(strstr(buf_cstr(&text), "\"done\""));
    s.files[0].done = true;
    buf_reset(&text);
    assert_int_equal(ckpt_serialize(&s, &text), HAF_OK);
    assert_non_null(strstr(buf_cstr(&text), "\"done\""));
    assert_int_equal(ckpt_parse(text.p, text.len, &r, &msg), HAF_OK);
    assert_true(r.files[0].done);
    assert_false(r.n_files > 1 && r.files[1].done);
    ckpt_state_clean_up(&r);
    ckpt_state_init(&r);
    assert_int_equal(ckpt_parse(not_bool, sizeof(not_bool) - 1, &r, &msg), HAF_EPARSE);
    assert_non_null(strstr(buf_cstr(&msg), "done must be true or false"));
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&r);
    buf_clean_up(&text);
    buf_clean_up(&msg);
}

static void
test_ckpt_parse_uint64_limits(void **state)
{
    static const char max_ok[] =
        "{\"version\":1,\"files\":[],\"streams\":[{\"group\":\"g\",\"stream\":\"s\","
        "\"has_seq\":true,\"reboot_counter\":\"18446744073709551615\","
        "\"sequence_no\":\"18446744073709551615\",\"inflight\":false}]}";
    static const char one_past[] =
        "{\"version\":1,\"files\":[],\"streams\":[{\"group\":\"g\",\"stream\":\"s\","
        "\"has_seq\":true,\"reboot_counter\":\"18446744073709551616\","
        "\"sequence_no\":\"1\",\"inflight\":false}]}";
    static const char as_int[] =
        "{\"version\":1,\"files\":[],\"streams\":[{\"group\":\"g\",\"stream\":\"s\","
        "\"has_seq\":true,\"reboot_counter\":9223372036854775807,"
        "\"sequence_no\":0,\"inflight\":false}]}";
    static const char negative[] =
        "{\"version\":1,\"files\":[],\"streams\":[{\"group\":\"g\",\"stream\":\"s\","
        "\"has_seq\":true,\"reboot_counter\":-1,\"sequence_no\":0,\"inflight\":false}]}";
    static const char signed_str[] =
        "{\"version\":1,\"files\":[],\"streams\":[{\"group\":\"g\",\"stream\":\"s\","
        "\"has_seq\":true,\"reboot_counter\":\"+1\",\"sequence_no\":0,\"inflight\":false}]}";
    struct ckpt_state r;
    struct buf msg;

    (void)state;
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_parse(max_ok, sizeof(max_ok) - 1, &r, &msg), HAF_OK);
    assert_true(r.streams[0].reboot_counter == UINT64_MAX);
    assert_true(r.streams[0].sequence_no == UINT64_MAX);
    assert_int_equal(ckpt_parse(as_int, sizeof(as_int) - 1, &r, &msg), HAF_OK);
    assert_true(r.streams[0].reboot_counter == INT64_MAX);
    assert_int_equal(ckpt_parse(one_past, sizeof(one_past) - 1, &r, &msg), HAF_EPARSE);
    assert_non_null(strstr(buf_cstr(&msg), "streams[0]"));
    assert_int_equal(ckpt_parse(negative, sizeof(negative) - 1, &r, &msg), HAF_EPARSE);
    assert_int_equal(ckpt_parse(signed_str, sizeof(signed_str) - 1, &r, &msg), HAF_EPARSE);
    /* failed parses leave the previous result untouched */
    assert_int_equal(r.n_streams, 1);
    assert_true(r.streams[0].reboot_counter == INT64_MAX);
    ckpt_state_clean_up(&r);
    buf_clean_up(&msg);
}

static void
test_ckpt_parse_rejects_bad_documents(void **state)
{
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "null",
        "{\"version\":1}",
        "{\"version\":1,\"files\":{},\"streams\":[]}",
        "{\"version\":0,\"files\":[],\"streams\":[]}",
        "{\"version\":\"1\",\"files\":[],\"streams\":[]}",
        "{\"version\":1,\"files\":[],\"streams\":[],\"extra\":1}",
        "{\"version\":1,\"version\":1,\"files\":[],\"streams\":[]}",
        "{\"version\":1,\"files\":[1],\"streams\":[]}",
        "{\"version\":1,\"files\":[],\"streams\":[{}]}",
        /* a stream with a wrong type in each field */
        "{\"version\":1,\"files\":[],\"streams\":[{\"group\":1,\"stream\":\"s\",\"has_seq\":true,"
        "\"reboot_counter\":\"1\",\"sequence_no\":\"1\",\"inflight\":false}]}",
        "{\"version\":1,\"files\":[],\"streams\":[{\"group\":\"g\",\"stream\":\"s\",\"has_seq\":1,"
        "\"reboot_counter\":\"1\",\"sequence_no\":\"1\",\"inflight\":false}]}",
        "{\"version\":1,\"files\":[],\"streams\":[{\"group\":\"g\",\"stream\":\"s\",\"has_seq\":"
        "true,"
        "\"reboot_counter\":1.5,\"sequence_no\":\"1\",\"inflight\":false}]}",
        "{\"version\":1,\"files\":[],\"streams\":[{\"group\":\"\",\"stream\":\"s\",\"has_seq\":"
        "true,"
        "\"reboot_counter\":\"1\",\"sequence_no\":\"1\",\"inflight\":false}]}",
        "{\"version\":1,\"files\":[],\"streams\":[{\"group\":\"g\",\"group_hex\":\"67\","
        "\"stream\":\"s\",\"has_seq\":true,"
        "\"reboot_counter\":\"1\",\"sequence_no\":\"1\",\"inflight\":false}]}",
        /* duplicate streams */
        "{\"version\":1,\"files\":[],\"streams\":[{\"group\":\"g\",\"stream\":\"s\",\"has_seq\":"
        "true,"
        "\"reboot_counter\":\"1\",\"sequence_no\":\"1\",\"inflight\":false},{\"group\":\"g\","
        "\"stream\":\"s\",\"has_seq\":true,\"reboot_counter\":\"1\",\"sequence_no\":\"1\","
        "\"inflight\":false}]}",
        /* files: short fp, non-hex fp, fp_len too big, NUL in path, odd path_hex, dup */
        "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":\"1\",\"ino\":\"1\",\"fp_len\":1,"
        "\"fp\":\"00\",\"offset\":\"0\",\"updated_ms\":0}],\"streams\":[]}",
        "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":\"1\",\"ino\":\"1\",\"fp_len\":1,"
        "\"fp\":\"zz00000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":0}],\"streams\":[]}",
        "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":\"1\",\"ino\":\"1\",\"fp_len\":1025,"
        "\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":0}],\"streams\":[]}",
        "{\"version\":1,\"files\":[{\"path\":\"/a\\u0000b\",\"dev\":\"1\",\"ino\":\"1\","
        "\"fp_len\":1,\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":0}],\"streams\":[]}",
        "{\"version\":1,\"files\":[{\"path_hex\":\"2f6\",\"dev\":\"1\",\"ino\":\"1\","
        "\"fp_len\":1,\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":0}],\"streams\":[]}",
        "{\"version\":1,\"files\":[{\"path_hex\":\"2f00\",\"dev\":\"1\",\"ino\":\"1\","
        "\"fp_len\":1,\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":0}],\"streams\":[]}",
        "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":\"1\",\"ino\":\"1\",\"fp_len\":1,"
        "\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":0},{\"path\":\"/b\",\"dev\":\"1\",\"ino\":\"1\","
        "\"fp_len\":1,\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":0}],\"streams\":[]}",
        "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":\"1\",\"ino\":\"1\",\"fp_len\":1,"
        "\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":\"0\"}],\"streams\":[]}",
        /* updated_ms outside 0..9999-12-31 (a hostile value made the pruning overflow) */
        "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":\"1\",\"ino\":\"1\",\"fp_len\":1,"
        "\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":-1}],\"streams\":[]}",
        "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":\"1\",\"ino\":\"1\",\"fp_len\":1,"
        "\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":-9223372036854775808}],\"streams\":[]}",
        "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":\"1\",\"ino\":\"1\",\"fp_len\":1,"
        "\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":9223372036854775807}],\"streams\":[]}",
        "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":\"1\",\"ino\":\"1\",\"fp_len\":1,"
        "\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":253402300800000}],\"streams\":[]}",
        "{\"version\":1,\"files\":[],\"streams\":[]} trailing",
        "{\"version\":1,\"files\":[],\"streams\":[]}\xff",
    };
    struct ckpt_state r;
    struct buf msg;

    (void)state;
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buf_reset(&msg);
        if (ckpt_parse(bad[i], strlen(bad[i]), &r, &msg) != HAF_EPARSE)
            fail_msg("case %zu accepted: %s", i, bad[i]);
        assert_true(msg.len > 0);
        assert_int_equal(r.n_files + r.n_streams, 0);
    }
    ckpt_state_clean_up(&r);
    buf_clean_up(&msg);
}

static void
test_ckpt_parse_rejects_every_truncation(void **state)
{
    struct ckpt_state s, r;
    struct buf text, msg;

    (void)state;
    sample_state(&s);
    ckpt_state_init(&r);
    buf_init(&text, 0);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_serialize(&s, &text), HAF_OK);
    /* every proper prefix that ends before the closing brace is not a document */
    for (size_t n = 0; n + 2 < text.len; n++)
        assert_int_equal(ckpt_parse(text.p, n, &r, &msg), HAF_EPARSE);
    assert_int_equal(ckpt_parse(text.p, text.len, &r, &msg), HAF_OK);
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&r);
    buf_clean_up(&text);
    buf_clean_up(&msg);
}

static void
test_ckpt_parse_newer_version_is_einval(void **state)
{
    static const char doc[] = "{\"version\":3,\"files\":[],\"streams\":[],\"future\":true}";
    struct ckpt_state r;
    struct buf msg;

    (void)state;
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_parse(doc, sizeof(doc) - 1, &r, &msg), HAF_EINVAL);
    assert_string_equal(buf_cstr(&msg), "version 3 is newer than this program understands (2)");
    buf_clean_up(&msg);
}

/* Version 1 files are read: as the release before "acked" and "digest" wrote them, and with those
 * keys (written before the version was raised to 2). The next save writes version 2. */
static void
test_ckpt_load_previous_version_is_read(void **state)
{
    static const char v1_old[] =
        "{\"version\":1,\"files\":[{\"path\":\"/var/log/hsm.log\",\"dev\":\"2049\","
        "\"ino\":\"131\",\"fp_len\":0,"
        "\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"4096\",\"updated_ms\":1700000000000}],"
        "\"streams\":[{\"group\":\"g\",\"stream\":\"s\",\"has_seq\":true,"
        "\"reboot_counter\":\"263\",\"sequence_no\":\"5\",\"inflight\":false}]}";
    static const char v1_new_keys[] =
        "{\"version\":1,\"files\":[],\"streams\":[{\"group\":\"g\",\"stream\":\"s\","
        "\"has_seq\":true,\"reboot_counter\":\"263\",\"sequence_no\":\"5\",\"inflight\":true,"
        "\"digest\":{\"seq\":1},\"acked\":\"263:4:00000000000000ab 263:5:00000000000000cd\"}]}";
    char *dir = testlib_mkdtemp(), *text;
    struct ckpt_state r;
    struct buf msg;

    (void)state;
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    write_file(dir, "state.json", v1_old, sizeof(v1_old) - 1, 0600);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_int_equal(msg.len, 0);
    assert_int_equal(r.n_files, 1);
    assert_string_equal(r.files[0].path, "/var/log/hsm.log");
    assert_true(r.files[0].offset == 4096 && r.files[0].ino == 131);
    assert_int_equal(r.n_streams, 1);
    assert_true(r.streams[0].has_seq && r.streams[0].sequence_no == 5);
    assert_null(r.streams[0].digest);
    assert_int_equal(r.streams[0].n_marks, 0);
    assert_int_equal(ckpt_save(dir, &r), HAF_OK);
    text = read_file(dir, "state.json", NULL);
    assert_non_null(strstr(text, "\"version\": 2,"));
    free(text);

    write_file(dir, "state.json", v1_new_keys, sizeof(v1_new_keys) - 1, 0600);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_int_equal(msg.len, 0);
    assert_int_equal(r.n_streams, 1);
    assert_true(r.streams[0].inflight);
    assert_string_equal(r.streams[0].digest, "{\"seq\":1}");
    assert_int_equal(r.streams[0].n_marks, 2);
    assert_true(r.streams[0].marks[1].seq == 5 && r.streams[0].marks[1].hash == 0xcd);
    assert_int_equal(count_prefixed(dir, "state.json.corrupt-"), 0);
    ckpt_state_clean_up(&r);
    buf_clean_up(&msg);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_ckpt_save_load_round_trip(void **state)
{
    char *dir = testlib_mkdtemp();
    struct ckpt_state s, r;
    struct buf msg;
    struct stat st;
    char path[4096];
    mode_t old_umask = umask(0);

    (void)state;
    sample_state(&s);
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_prepare_dir(dir, &msg), HAF_OK);
    assert_int_equal(ckpt_save(dir, &s), HAF_OK);
    umask(old_umask);
    snprintf(path, sizeof(path), "%s/state.json", dir);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_false(exists(dir, "state.json.tmp"));
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_int_equal(msg.len, 0);
    assert_same_state(&s, &r);
    /* save again over it, with an update */
    s.streams[0].sequence_no = 6;
    assert_int_equal(ckpt_save(dir, &s), HAF_OK);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_true(r.streams[0].sequence_no == 6);
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&r);
    buf_clean_up(&msg);
    testlib_rmtree(dir);
    free(dir);
}

/* ckpt_save_with reuses the caller's buffer: it holds exactly the file's text after each save
 * (a bigger state first, then a smaller one: no bytes of the first are left in the second). */
static void
test_ckpt_save_with_reuses_scratch(void **state)
{
    char *dir = testlib_mkdtemp();
    struct ckpt_state s, r;
    struct buf msg, scratch;
    char *text;
    size_t len;

    (void)state;
    sample_state(&s);
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    buf_init(&scratch, 0);
    assert_int_equal(ckpt_prepare_dir(dir, &msg), HAF_OK);
    assert_int_equal(ckpt_save_with(dir, &s, &scratch), HAF_OK);
    text = read_file(dir, "state.json", &len);
    assert_int_equal(len, scratch.len);
    assert_memory_equal(text, scratch.p, len);
    free(text);
    ckpt_remove_file(&s, s.files[0].dev, s.files[0].ino);
    assert_int_equal(ckpt_save_with(dir, &s, &scratch), HAF_OK);
    text = read_file(dir, "state.json", &len);
    assert_int_equal(len, scratch.len);
    assert_memory_equal(text, scratch.p, len);
    free(text);
    assert_false(exists(dir, "state.json.tmp"));
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_same_state(&s, &r);
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&r);
    buf_clean_up(&msg);
    buf_clean_up(&scratch);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_ckpt_load_missing_is_empty(void **state)
{
    char *dir = testlib_mkdtemp();
    struct ckpt_state r;
    struct buf msg;

    (void)state;
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_int_equal(r.n_files, 0);
    assert_int_equal(r.n_streams, 0);
    assert_int_equal(msg.len, 0);
    buf_clean_up(&msg);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_ckpt_load_ignores_leftover_tmp(void **state)
{
    /* A crash mid-write leaves a partial state.json.tmp; the old state.json is what counts. */
    char *dir = testlib_mkdtemp();
    struct ckpt_state s, r;
    struct buf msg, text;
    struct stat st;
    char path[4096];

    (void)state;
    sample_state(&s);
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    buf_init(&text, 0);
    assert_int_equal(ckpt_save(dir, &s), HAF_OK);
    s.streams[0].sequence_no = 99;
    assert_int_equal(ckpt_serialize(&s, &text), HAF_OK);
    write_file(dir, "state.json.tmp", text.p, text.len / 2, 0600);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_int_equal(msg.len, 0);
    assert_true(r.streams[0].sequence_no == 5);
    assert_int_equal(count_prefixed(dir, "state.json.corrupt"), 0);
    /* the next save replaces the leftover */
    assert_int_equal(ckpt_save(dir, &s), HAF_OK);
    assert_false(exists(dir, "state.json.tmp"));
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_true(r.streams[0].sequence_no == 99);
    /* a leftover tmp with loose permissions is not reused: the new file is 0600 */
    write_file(dir, "state.json.tmp", "x", 1, 0666);
    assert_int_equal(ckpt_save(dir, &s), HAF_OK);
    snprintf(path, sizeof(path), "%s/state.json", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&r);
    buf_clean_up(&msg);
    buf_clean_up(&text);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_ckpt_save_never_follows_planted_symlink(void **state)
{
    char *dir = testlib_mkdtemp();
    char *victim_dir = testlib_mkdtemp();
    struct ckpt_state s;
    char target[4096], link[4096];
    char *content;
    struct stat st;

    (void)state;
    sample_state(&s);
    write_file(victim_dir, "victim", "precious", 8, 0644);
    snprintf(target, sizeof(target), "%s/victim", victim_dir);
    snprintf(link, sizeof(link), "%s/state.json.tmp", dir);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(ckpt_save(dir, &s), HAF_OK);
    content = read_file(victim_dir, "victim", NULL);
    assert_string_equal(content, "precious");
    free(content);
    snprintf(link, sizeof(link), "%s/state.json", dir);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    ckpt_state_clean_up(&s);
    testlib_rmtree(dir);
    testlib_rmtree(victim_dir);
    free(dir);
    free(victim_dir);
}

static void
test_ckpt_load_corrupt_is_set_aside(void **state)
{
    static const char garbage[] = "{\"version\":1,\"files\":[{\"pa";
    char *dir = testlib_mkdtemp();
    struct ckpt_state s, r;
    struct buf msg;
    char *aside, *content;
    size_t len;

    (void)state;
    sample_state(&s);
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    /* r holds something: a corrupt load must still hand back an empty state */
    assert_int_equal(ckpt_set_stream(&r, &s.streams[0]), HAF_OK);
    write_file(dir, "state.json", garbage, sizeof(garbage) - 1, 0600);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_int_equal(r.n_files, 0);
    assert_int_equal(r.n_streams, 0);
    assert_non_null(strstr(buf_cstr(&msg), "state.json is corrupt ("));
    assert_non_null(strstr(buf_cstr(&msg), "set aside as"));
    assert_non_null(strstr(buf_cstr(&msg), "starting from an empty state"));
    assert_false(exists(dir, "state.json"));
    aside = find_prefixed(dir, "state.json.corrupt-");
    assert_non_null(aside);
    assert_non_null(strstr(buf_cstr(&msg), aside));
    content = read_file(dir, aside, &len);
    assert_int_equal(len, sizeof(garbage) - 1);
    assert_memory_equal(content, garbage, len);
    free(content);
    free(aside);
    /* a second corrupt file in the same second does not replace the first one set aside */
    write_file(dir, "state.json", "[]", 2, 0600);
    buf_reset(&msg);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_int_equal(count_prefixed(dir, "state.json.corrupt-"), 2);
    /* wrong types are corruption too */
    write_file(dir, "state.json", "{\"version\":1,\"files\":[],\"streams\":7}",
               strlen("{\"version\":1,\"files\":[],\"streams\":7}"), 0600);
    buf_reset(&msg);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_non_null(strstr(buf_cstr(&msg), "files and streams must be arrays"));
    assert_int_equal(count_prefixed(dir, "state.json.corrupt-"), 3);
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&r);
    buf_clean_up(&msg);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_ckpt_load_newer_version_is_kept(void **state)
{
    static const char doc[] = "{\"version\":7,\"files\":[],\"streams\":[]}";
    char *dir = testlib_mkdtemp(), want[8192], *text;
    struct ckpt_state r;
    struct buf msg;
    size_t len;
    struct stat before, after;

    (void)state;
    ckpt_state_init(&r);
    buf_init(&msg, 0);

    write_file(dir, "state.json", doc, sizeof(doc) - 1, 0600);
    snprintf(want, sizeof(want),
             "%s/state.json: version 7 is newer than this program understands (2); refusing to "
             "discard it (it was written by a newer release: run that release or a newer one; "
             "moving the file away re-sends everything it covers)",
             dir);
    assert_int_equal(lstat_in(dir, "state.json", &before), 0);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_EINVAL);
    assert_string_equal(buf_cstr(&msg), want);
    /* Untouched: same inode, same bytes, nothing set aside. */
    assert_int_equal(lstat_in(dir, "state.json", &after), 0);
    assert_true(before.st_ino == after.st_ino && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec &&
                before.st_mtim.tv_sec == after.st_mtim.tv_sec);
    text = read_file(dir, "state.json", &len);
    assert_int_equal(len, sizeof(doc) - 1);
    assert_memory_equal(text, doc, len);
    free(text);
    assert_int_equal(count_prefixed(dir, "state.json.corrupt-"), 0);
    buf_clean_up(&msg);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_ckpt_load_refuses_writable_dir(void **state)
{
    char *dir = testlib_mkdtemp();
    struct ckpt_state r;
    struct buf msg;

    (void)state;
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_EPERM);
    assert_non_null(strstr(buf_cstr(&msg), "writable by group or others (mode 0777)"));
    assert_non_null(strstr(buf_cstr(&msg), "chmod go-w"));
    assert_int_equal(ckpt_prepare_dir(dir, &msg), HAF_EPERM);
    assert_int_equal(chmod(dir, 0770), 0);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_EPERM);
    /* not writable by others is fine, even when readable */
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    buf_clean_up(&msg);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_ckpt_load_refuses_writable_file(void **state)
{
    static const char doc[] = "{\"version\":1,\"files\":[],\"streams\":[]}";
    char *dir = testlib_mkdtemp();
    struct ckpt_state r;
    struct buf msg;

    (void)state;
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    write_file(dir, "state.json", doc, sizeof(doc) - 1, 0622);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_EPERM);
    assert_non_null(strstr(buf_cstr(&msg), "state.json is writable by group or others"));
    assert_true(exists(dir, "state.json"));
    buf_clean_up(&msg);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_ckpt_load_refuses_foreign_owner(void **state)
{
    static const char doc[] = "{\"version\":1,\"files\":[],\"streams\":[]}";
    char *dir = testlib_mkdtemp();
    struct ckpt_state r;
    struct buf msg;
    char path[4096];

    (void)state;
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    if (geteuid() != 0) {
        /* "/" belongs to root and is not writable by others: only the owner check can refuse */
        assert_int_equal(ckpt_load("/", &r, &msg), HAF_EPERM);
        assert_non_null(strstr(buf_cstr(&msg), "owned by uid 0"));
    } else {
        write_file(dir, "state.json", doc, sizeof(doc) - 1, 0600);
        snprintf(path, sizeof(path), "%s/state.json", dir);
        assert_int_equal(chown(path, 65534, 65534), 0);
        assert_int_equal(ckpt_load(dir, &r, &msg), HAF_EPERM);
        assert_non_null(strstr(buf_cstr(&msg), "state.json is owned by uid 65534"));
        assert_non_null(strstr(buf_cstr(&msg), "fix: chown 0"));
        assert_int_equal(chown(path, 0, 0), 0);
        assert_int_equal(chown(dir, 65534, 65534), 0);
        buf_reset(&msg);
        assert_int_equal(ckpt_load(dir, &r, &msg), HAF_EPERM);
        assert_non_null(strstr(buf_cstr(&msg), "state directory"));
        assert_non_null(strstr(buf_cstr(&msg), "owned by uid 65534"));
        assert_int_equal(ckpt_prepare_dir(dir, &msg), HAF_EPERM);
    }
    buf_clean_up(&msg);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_ckpt_load_refuses_symlink(void **state)
{
    char *dir = testlib_mkdtemp();
    struct ckpt_state s, r;
    struct buf msg;
    char target[4096], link[4096];

    (void)state;
    sample_state(&s);
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_save(dir, &s), HAF_OK);
    snprintf(target, sizeof(target), "%s/state.json", dir);
    snprintf(link, sizeof(link), "%s/real.json", dir);
    assert_int_equal(rename(target, link), 0);
    assert_int_equal(symlink("real.json", target), 0);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_EPERM);
    assert_non_null(strstr(buf_cstr(&msg), "symbolic link"));
    assert_int_equal(r.n_streams, 0);
    /* not set aside: it is refused, not corrupt */
    assert_true(exists(dir, "state.json"));
    ckpt_state_clean_up(&s);
    buf_clean_up(&msg);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_ckpt_load_refuses_non_regular(void **state)
{
    char *dir = testlib_mkdtemp();
    struct ckpt_state r;
    struct buf msg;
    char path[4096];

    (void)state;
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    snprintf(path, sizeof(path), "%s/state.json", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_EPERM);
    assert_non_null(strstr(buf_cstr(&msg), "not a regular file"));
    buf_clean_up(&msg);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_ckpt_load_missing_dir_is_eio(void **state)
{
    struct ckpt_state r;
    struct buf msg;

    (void)state;
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_load("/nonexistent/haf-state", &r, &msg), HAF_EIO);
    assert_non_null(strstr(buf_cstr(&msg), "No such file or directory"));
    buf_clean_up(&msg);
}

static void
test_ckpt_save_missing_dir_is_eio(void **state)
{
    struct ckpt_state s;

    (void)state;
    sample_state(&s);
    errno = 0;
    assert_int_equal(ckpt_save("/nonexistent/haf-state", &s), HAF_EIO);
    assert_int_equal(errno, ENOENT);
    ckpt_state_clean_up(&s);
}

static void
test_ckpt_prepare_dir_creates_0700(void **state)
{
    char *parent = testlib_mkdtemp();
    char dir[4096];
    struct buf msg;
    struct stat st;

    (void)state;
    buf_init(&msg, 0);
    snprintf(dir, sizeof(dir), "%s/state", parent);
    assert_int_equal(ckpt_prepare_dir(dir, &msg), HAF_OK);
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    /* idempotent */
    assert_int_equal(ckpt_prepare_dir(dir, &msg), HAF_OK);
    assert_int_equal(msg.len, 0);
    /* a missing parent is an I/O error, with the path in the message */
    snprintf(dir, sizeof(dir), "%s/no/such", parent);
    assert_int_equal(ckpt_prepare_dir(dir, &msg), HAF_EIO);
    assert_non_null(strstr(buf_cstr(&msg), "cannot create state directory"));
    buf_clean_up(&msg);
    testlib_rmtree(parent);
    free(parent);
}

/* Mount a tmpfs of `size` at a fresh directory; NULL (test skipped) when mount is not allowed. */
static char *
mount_tmpfs(const char *opts)
{
    char *dir = testlib_mkdtemp();

    if (mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
        testlib_rmtree(dir);
        free(dir);
        return NULL;
    }
    assert_int_equal(chmod(dir, 0700), 0);
    return dir;
}

static void
unmount_tmpfs(char *dir)
{
    assert_int_equal(umount(dir), 0);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_ckpt_save_disk_full_keeps_old_state(void **state)
{
    char *dir = mount_tmpfs("size=16k,mode=0700");
    struct ckpt_state s, big, r;
    struct buf msg;
    char path[256];
    char *before, *after;
    size_t blen, alen;

    (void)state;
    if (dir == NULL)
        skip();
    sample_state(&s);
    ckpt_state_init(&big);
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_save(dir, &s), HAF_OK);
    before = read_file(dir, "state.json", &blen);
    /* ~200 files with long paths: far more than 16 KiB */
    for (uint64_t i = 0; i < 200; i++) {
        struct ckpt_file f = {0};
        memset(path, 'a', sizeof(path) - 1);
        path[0] = '/';
        path[sizeof(path) - 1] = '\0';
        f.path = path;
        f.ino = i;
        assert_int_equal(ckpt_set_file(&big, &f), HAF_OK);
    }
    errno = 0;
    assert_int_equal(ckpt_save(dir, &big), HAF_EIO);
    assert_int_equal(errno, ENOSPC);
    assert_false(exists(dir, "state.json.tmp"));
    after = read_file(dir, "state.json", &alen);
    assert_int_equal(alen, blen);
    assert_memory_equal(after, before, blen);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_same_state(&s, &r);
    free(before);
    free(after);
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&big);
    ckpt_state_clean_up(&r);
    buf_clean_up(&msg);
    unmount_tmpfs(dir);
}

static void
test_ckpt_save_read_only_fs_keeps_old_state(void **state)
{
    char *dir = mount_tmpfs("size=64k,mode=0700");
    struct ckpt_state s, r;
    struct buf msg;

    (void)state;
    if (dir == NULL)
        skip();
    sample_state(&s);
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_save(dir, &s), HAF_OK);
    assert_int_equal(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, "size=64k,mode=0700"), 0);
    s.streams[0].sequence_no = 1000;
    errno = 0;
    assert_int_equal(ckpt_save(dir, &s), HAF_EIO);
    assert_int_equal(errno, EROFS);
    assert_int_equal(ckpt_load(dir, &r, &msg), HAF_OK);
    assert_true(r.streams[0].sequence_no == 5);
    assert_int_equal(mount(NULL, dir, NULL, MS_REMOUNT, "size=64k,mode=0700"), 0);
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&r);
    buf_clean_up(&msg);
    unmount_tmpfs(dir);
}

static void
test_ckpt_set_file_insert_update_remove(void **state)
{
    struct ckpt_state s;
    struct ckpt_file f = {0};
    struct ckpt_file *p;

    (void)state;
    ckpt_state_init(&s);
    assert_null(ckpt_find_file(&s, 1, 2));
    f.path = "/a";
    f.dev = 1;
    f.ino = 2;
    f.offset = 10;
    assert_int_equal(ckpt_set_file(&s, &f), HAF_OK);
    f.ino = 3;
    f.path = "/b";
    assert_int_equal(ckpt_set_file(&s, &f), HAF_OK);
    assert_int_equal(s.n_files, 2);
    f.ino = 2;
    f.path = "/a.1"; /* renamed: same identity, new name */
    f.offset = 20;
    assert_int_equal(ckpt_set_file(&s, &f), HAF_OK);
    assert_int_equal(s.n_files, 2);
    p = ckpt_find_file(&s, 1, 2);
    assert_non_null(p);
    assert_string_equal(p->path, "/a.1");
    assert_true(p->offset == 20);
    assert_true(p->path != f.path); /* copied */
    ckpt_remove_file(&s, 1, 2);
    ckpt_remove_file(&s, 9, 9);
    assert_int_equal(s.n_files, 1);
    assert_null(ckpt_find_file(&s, 1, 2));
    assert_string_equal(ckpt_find_file(&s, 1, 3)->path, "/b");
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(NULL);
}

static void
test_ckpt_set_stream_insert_update(void **state)
{
    struct ckpt_state s;
    struct ckpt_stream st = {0};
    struct ckpt_stream *p;

    (void)state;
    ckpt_state_init(&s);
    st.group = "g";
    st.stream = "s1";
    assert_int_equal(ckpt_set_stream(&s, &st), HAF_OK);
    st.stream = "s2";
    st.has_seq = true;
    st.sequence_no = 7;
    assert_int_equal(ckpt_set_stream(&s, &st), HAF_OK);
    st.sequence_no = 8;
    assert_int_equal(ckpt_set_stream(&s, &st), HAF_OK);
    assert_int_equal(s.n_streams, 2);
    p = ckpt_find_stream(&s, "g", "s2");
    assert_non_null(p);
    assert_true(p->sequence_no == 8);
    assert_null(ckpt_find_stream(&s, "g", "s3"));
    assert_null(ckpt_find_stream(&s, "h", "s1"));
    st.group = NULL;
    assert_int_equal(ckpt_set_stream(&s, &st), HAF_EINVAL);
    ckpt_state_clean_up(&s);
}

/* The digest chain of a stream (digest_emit.c): kept by ckpt_set_stream, replaced only by
 * ckpt_set_stream_digest, written as a JSON object and read back as the same compact text. */
static void
test_ckpt_set_stream_digest_round_trip(void **state)
{
    static const char chain[] = "{\"seq\":3,\"leaves\":[[17,\"ab\"]],\"pending\":[]}";
    struct ckpt_state s, back;
    struct ckpt_stream st = {.group = "g", .stream = "s"};
    struct buf out, msg;

    (void)state;
    ckpt_state_init(&s);
    ckpt_state_init(&back);
    buf_init(&out, 0);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_set_stream_digest(&s, "g", "s", chain), HAF_EINVAL); /* no entry */
    assert_int_equal(ckpt_set_stream(&s, &st), HAF_OK);
    assert_int_equal(ckpt_set_stream_digest(&s, "g", "s", chain), HAF_OK);
    st.inflight = true;
    assert_int_equal(ckpt_set_stream(&s, &st), HAF_OK); /* keeps the chain */
    assert_string_equal(ckpt_find_stream(&s, "g", "s")->digest, chain);
    assert_int_equal(ckpt_serialize(&s, &out), HAF_OK);
    assert_non_null(strstr(buf_cstr(&out), "\"digest\""));
    assert_int_equal(ckpt_parse(out.p, out.len, &back, &msg), HAF_OK);
    assert_string_equal(ckpt_find_stream(&back, "g", "s")->digest, chain);
    assert_true(ckpt_find_stream(&back, "g", "s")->inflight);
    assert_int_equal(ckpt_set_stream_digest(&s, "g", "s", NULL), HAF_OK);
    assert_null(ckpt_find_stream(&s, "g", "s")->digest);
    assert_int_equal(ckpt_set_stream_digest(&s, "g", "s", "not json"), HAF_OK);
    assert_int_not_equal(ckpt_serialize(&s, &out), HAF_OK); /* refused when written */
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&back);
    buf_clean_up(&out);
    buf_clean_up(&msg);
}

/* The serializer writes the digest text as it is, after a syntax check: every text that is not
 * exactly one JSON object is refused with HAF_EINVAL and leaves the output as it was, and valid
 * ones (escapes, numbers, nesting, whitespace) are written verbatim and parse back. */
static void
test_ckpt_serialize_digest_text_checked(void **state)
{
    static const char *const bad[] = {
        "",
        "{",
        "{]",
        "[]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":-}",
        "{\"a\":tru}",
        "{\"a\":\"\x01\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12g4\"}",
        "{\"a\":\"\xff\"}",
        "{} {}",
        "{}x",
        "{\"a\":[1 2]}",
        "{1:2}",
        "{\"a\":\"unterminated}",
    };
    static const char *const good[] = {
        "{}",
        " { \"a\" : [ 1 , -2.5e+3 , true , false , null , \"\\u00e9\\n\\\"\" ] } ",
        "{\"a\":{\"b\":{\"c\":[[]]}},\"\xc3\xa9\":0}",
    };
    char deep[300];
    struct ckpt_state s, back;
    struct ckpt_stream st = {.group = "g", .stream = "s"};
    struct buf out, msg;

    (void)state;
    ckpt_state_init(&s);
    buf_init(&out, 0);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_set_stream(&s, &st), HAF_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ckpt_set_stream_digest(&s, "g", "s", bad[i]), HAF_OK);
        assert_int_equal(buf_add(&out, "x", 1), HAF_OK);
        assert_int_equal(ckpt_serialize(&s, &out), HAF_EINVAL);
        assert_string_equal(buf_cstr(&out), "x"); /* left as it was */
        buf_reset(&out);
    }
    /* 100 levels of nesting: deeper than the check allows. */
    memset(deep, '[', 100);
    memcpy(deep, "{\"a\":", 5);
    memset(deep + 100, ']', 95);
    strcpy(deep + 195, "}");
    assert_int_equal(ckpt_set_stream_digest(&s, "g", "s", deep), HAF_OK);
    assert_int_equal(ckpt_serialize(&s, &out), HAF_EINVAL);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ckpt_state_init(&back);
        buf_reset(&out);
        assert_int_equal(ckpt_set_stream_digest(&s, "g", "s", good[i]), HAF_OK);
        assert_int_equal(ckpt_serialize(&s, &out), HAF_OK);
        assert_non_null(strstr(buf_cstr(&out), good[i]));
        assert_int_equal(ckpt_parse(out.p, out.len, &back, &msg), HAF_OK);
        ckpt_state_clean_up(&back);
    }
    ckpt_state_clean_up(&s);
    buf_clean_up(&out);
    buf_clean_up(&msg);
}

/* The layout is jansson's indented dump (what the file always looked like). */
static void
test_ckpt_serialize_layout(void **state)
{
    static const char want[] = "{\n \"version\": 2,\n \"files\": [\n  {\n   \"path\": \"/a\\\"\",\n"
                               "   \"dev\": \"1\",\n   \"ino\": \"2\",\n   \"fp_len\": 3,\n"
                               "   \"fp\": \"0000000000000000000000000000000000000000000000000000"
                               "000000000000\",\n   \"offset\": \"18446744073709551615\",\n"
                               "   \"updated_ms\": 5,\n   \"done\": true\n  }\n ],\n"
                               " \"streams\": [\n  {\n   \"group\": \"g\",\n   \"stream\": \"s\",\n"
                               "   \"has_seq\": true,\n   \"reboot_counter\": \"7\",\n"
                               "   \"sequence_no\": \"8\",\n   \"inflight\": true,\n"
                               "   \"acked\": \"7:8:00000000000000ff\"\n  }\n ]\n}\n";
    struct replay_mark m = {.reboot = 7, .seq = 8, .hash = 0xff};
    struct ckpt_file f = {
        .path = "/a\"", .dev = 1, .ino = 2, .offset = UINT64_MAX, .updated_ms = 5, .done = true};
    struct ckpt_stream st = {.group = "g",
                             .stream = "s",
                             .has_seq = true,
                             .reboot_counter = 7,
                             .sequence_no = 8,
                             .inflight = true,
                             .marks = &m,
                             .n_marks = 1};
    struct ckpt_state s;
    struct buf out;

    (void)state;
    f.fp.len = 3;
    ckpt_state_init(&s);
    buf_init(&out, 0);
    assert_int_equal(ckpt_serialize(&s, &out), HAF_OK);
    assert_string_equal(buf_cstr(&out),
                        "{\n \"version\": 2,\n \"files\": [],\n \"streams\": []\n}\n");
    buf_reset(&out);
    assert_int_equal(ckpt_set_file(&s, &f), HAF_OK);
    assert_int_equal(ckpt_set_stream(&s, &st), HAF_OK);
    assert_int_equal(ckpt_serialize(&s, &out), HAF_OK);
    assert_string_equal(buf_cstr(&out), want);
    ckpt_state_clean_up(&s);
    buf_clean_up(&out);
}

/* Regression (issue 11, finding 9): a state file with updated_ms at the int64 extremes made the
 * daemon's pruning (now - updated_ms) overflow, undefined behaviour that UBSan reports. Such a
 * file is refused on load, and the age test cannot overflow whatever it is given. */
static void
test_ckpt_file_stale_extremes_do_not_overflow(void **state)
{
    struct ckpt_file f = {0};
    const int64_t day = 24LL * 3600 * 1000;

    (void)state;
    f.updated_ms = INT64_MIN;
    assert_false(ckpt_file_stale(&f, INT64_MIN, day));
    assert_true(ckpt_file_stale(&f, INT64_MAX, day));
    f.updated_ms = INT64_MAX;
    assert_false(ckpt_file_stale(&f, INT64_MIN, day));
    assert_false(ckpt_file_stale(&f, INT64_MAX, day));
    f.updated_ms = 1000;
    assert_false(ckpt_file_stale(&f, 1000 + day, day));
    assert_true(ckpt_file_stale(&f, 1001 + day, day));
    assert_false(ckpt_file_stale(&f, 0, day));
}

static void
test_ckpt_parse_refuses_updated_ms_out_of_range(void **state)
{
    static const char fmt[] =
        "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":\"1\",\"ino\":\"1\",\"fp_len\":1,"
        "\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"0\",\"updated_ms\":%s}],\"streams\":[]}";
    static const char *const ok[] = {"0", "1700000000000", "253402300799999"};
    struct ckpt_state r;
    struct buf msg;
    char text[512];

    (void)state;
    ckpt_state_init(&r);
    buf_init(&msg, 0);
    snprintf(text, sizeof(text), fmt, "-9223372036854775808");
    assert_int_equal(ckpt_parse(text, strlen(text), &r, &msg), HAF_EPARSE);
    assert_non_null(strstr(buf_cstr(&msg), "updated_ms"));
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        buf_reset(&msg);
        snprintf(text, sizeof(text), fmt, ok[i]);
        assert_int_equal(ckpt_parse(text, strlen(text), &r, &msg), HAF_OK);
        assert_int_equal(r.n_files, 1);
    }
    ckpt_state_clean_up(&r);
    buf_clean_up(&msg);
}

/* The in-flight marker's extent (inflight_from_ms, inflight_to_ms, inflight_events): written only
 * with "inflight":true and a count, read back exactly; the three come together, only on a stream
 * in flight, with times 0..9999-12-31 in order and a count above 0. */
static void
test_ckpt_inflight_extent_round_trip_and_rules(void **state)
{
    static const char fmt[] =
        "{\"version\":2,\"files\":[],\"streams\":[{\"group\":\"g\",\"stream\":\"s\","
        "\"has_seq\":false,\"reboot_counter\":\"0\",\"sequence_no\":\"0\",\"inflight\":%s%s}]}";
    static const struct {
        const char *inflight, *extra;
        enum haf_err want;
    } cases[] = {
        {"true", "", HAF_OK},
        {"true", ",\"inflight_from_ms\":5,\"inflight_to_ms\":5,\"inflight_events\":\"1\"", HAF_OK},
        {"true",
         ",\"inflight_from_ms\":0,\"inflight_to_ms\":253402300799999,"
         "\"inflight_events\":\"18446744073709551615\"",
         HAF_OK},
        {"false", ",\"inflight_from_ms\":5,\"inflight_to_ms\":6,\"inflight_events\":\"1\"",
         HAF_EPARSE},
        {"true", ",\"inflight_from_ms\":5,\"inflight_to_ms\":6", HAF_EPARSE},
        {"true", ",\"inflight_events\":\"3\"", HAF_EPARSE},
        {"true", ",\"inflight_from_ms\":7,\"inflight_to_ms\":6,\"inflight_events\":\"1\"",
         HAF_EPARSE},
        {"true", ",\"inflight_from_ms\":-1,\"inflight_to_ms\":6,\"inflight_events\":\"1\"",
         HAF_EPARSE},
        {"true",
         ",\"inflight_from_ms\":1,\"inflight_to_ms\":253402300800000,"
         "\"inflight_events\":\"1\"",
         HAF_EPARSE},
        {"true", ",\"inflight_from_ms\":1,\"inflight_to_ms\":2,\"inflight_events\":\"0\"",
         HAF_EPARSE},
        {"true", ",\"inflight_from_ms\":\"1\",\"inflight_to_ms\":2,\"inflight_events\":\"1\"",
         HAF_EPARSE},
    };
    struct ckpt_state s, r;
    struct ckpt_stream rec = {.group = "g", .stream = "s", .inflight = true};
    struct buf text, msg;
    char doc[512];

    (void)state;
    ckpt_state_init(&s);
    ckpt_state_init(&r);
    buf_init(&text, 0);
    buf_init(&msg, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_reset(&msg);
        snprintf(doc, sizeof(doc), fmt, cases[i].inflight, cases[i].extra);
        assert_int_equal(ckpt_parse(doc, strlen(doc), &r, &msg), cases[i].want);
        if (cases[i].want != HAF_OK)
            assert_non_null(strstr(buf_cstr(&msg), "inflight_from_ms, inflight_to_ms and "
                                                   "inflight_events come together"));
    }
    /* A marker without an extent writes none; with one, it reads back as written. */
    assert_int_equal(ckpt_set_stream(&s, &rec), HAF_OK);
    assert_int_equal(ckpt_serialize(&s, &text), HAF_OK);
    assert_null(strstr(buf_cstr(&text), "inflight_"));
    rec.inflight_from_ms = 1700000000000;
    rec.inflight_to_ms = 1700000000999;
    rec.inflight_events = 500;
    assert_int_equal(ckpt_set_stream(&s, &rec), HAF_OK);
    buf_reset(&text);
    assert_int_equal(ckpt_serialize(&s, &text), HAF_OK);
    assert_int_equal(ckpt_parse(text.p, text.len, &r, &msg), HAF_OK);
    assert_int_equal(r.n_streams, 1);
    assert_true(r.streams[0].inflight);
    assert_int_equal(r.streams[0].inflight_from_ms, 1700000000000);
    assert_int_equal(r.streams[0].inflight_to_ms, 1700000000999);
    assert_int_equal(r.streams[0].inflight_events, 500);
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&r);
    buf_clean_up(&text);
    buf_clean_up(&msg);
}

/* A file's sent_end (how far its bytes went into the request in flight): written only above the
 * offset, read back exactly, an unsigned 64-bit integer. */
static void
test_ckpt_file_sent_end(void **state)
{
    static const char fmt[] =
        "{\"version\":2,\"files\":[{\"path\":\"/a\",\"dev\":\"1\",\"ino\":\"2\",\"fp_len\":0,"
        "\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"offset\":\"100\",\"updated_ms\":0%s}],\"streams\":[]}";
    struct ckpt_state s, r;
    struct ckpt_file f = {.path = "/a", .dev = 1, .ino = 2, .offset = 100, .sent_end = 100};
    struct buf text, msg;
    char doc[512];

    (void)state;
    ckpt_state_init(&s);
    ckpt_state_init(&r);
    buf_init(&text, 0);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_set_file(&s, &f), HAF_OK);
    assert_int_equal(ckpt_serialize(&s, &text), HAF_OK);
    assert_null(strstr(buf_cstr(&text), "sent_end")); /* not above the offset: nothing owed */
    f.sent_end = 8192;
    assert_int_equal(ckpt_set_file(&s, &f), HAF_OK);
    buf_reset(&text);
    assert_int_equal(ckpt_serialize(&s, &text), HAF_OK);
    assert_int_equal(ckpt_parse(text.p, text.len, &r, &msg), HAF_OK);
    assert_int_equal(r.n_files, 1);
    assert_int_equal(r.files[0].sent_end, 8192);
    snprintf(doc, sizeof(doc), fmt, ",\"sent_end\":\"18446744073709551615\"");
    assert_int_equal(ckpt_parse(doc, strlen(doc), &r, &msg), HAF_OK);
    assert_true(r.files[0].sent_end == UINT64_MAX);
    snprintf(doc, sizeof(doc), fmt, ",\"sent_end\":-1");
    assert_int_equal(ckpt_parse(doc, strlen(doc), &r, &msg), HAF_EPARSE);
    assert_non_null(
        strstr(buf_cstr(&msg), "files[0]: sent_end must be an unsigned 64-bit integer"));
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&r);
    buf_clean_up(&text);
    buf_clean_up(&msg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ckpt_file_stale_extremes_do_not_overflow),
        cmocka_unit_test(test_ckpt_parse_refuses_updated_ms_out_of_range),
        cmocka_unit_test(test_ckpt_inflight_extent_round_trip_and_rules),
        cmocka_unit_test(test_ckpt_file_sent_end),
        cmocka_unit_test(test_ckpt_serialize_parse_round_trip),
        cmocka_unit_test(test_ckpt_parse_uint64_limits),
        cmocka_unit_test(test_ckpt_done_round_trip_and_type),
        cmocka_unit_test(test_ckpt_parse_rejects_bad_documents),
        cmocka_unit_test(test_ckpt_parse_rejects_every_truncation),
        cmocka_unit_test(test_ckpt_parse_newer_version_is_einval),
        cmocka_unit_test(test_ckpt_load_previous_version_is_read),
        cmocka_unit_test(test_ckpt_save_load_round_trip),
        cmocka_unit_test(test_ckpt_save_with_reuses_scratch),
        cmocka_unit_test(test_ckpt_load_missing_is_empty),
        cmocka_unit_test(test_ckpt_load_ignores_leftover_tmp),
        cmocka_unit_test(test_ckpt_save_never_follows_planted_symlink),
        cmocka_unit_test(test_ckpt_load_corrupt_is_set_aside),
        cmocka_unit_test(test_ckpt_load_newer_version_is_kept),
        cmocka_unit_test(test_ckpt_load_refuses_writable_dir),
        cmocka_unit_test(test_ckpt_load_refuses_writable_file),
        cmocka_unit_test(test_ckpt_load_refuses_foreign_owner),
        cmocka_unit_test(test_ckpt_load_refuses_symlink),
        cmocka_unit_test(test_ckpt_load_refuses_non_regular),
        cmocka_unit_test(test_ckpt_load_missing_dir_is_eio),
        cmocka_unit_test(test_ckpt_save_missing_dir_is_eio),
        cmocka_unit_test(test_ckpt_prepare_dir_creates_0700),
        cmocka_unit_test(test_ckpt_save_disk_full_keeps_old_state),
        cmocka_unit_test(test_ckpt_save_read_only_fs_keeps_old_state),
        cmocka_unit_test(test_ckpt_set_file_insert_update_remove),
        cmocka_unit_test(test_ckpt_set_stream_insert_update),
        cmocka_unit_test(test_ckpt_set_stream_digest_round_trip),
        cmocka_unit_test(test_ckpt_serialize_digest_text_checked),
        cmocka_unit_test(test_ckpt_serialize_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

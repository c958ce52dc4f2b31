/*
 * checkpoint.c: the state file $state_dir/state.json (jansson), written atomically.
 *
 * Format (version 2):
 *   {"version":2,
 *    "files":[{"path":"...","dev":"2049","ino":"131","fp_len":1024,"fp":"<64 hex>",
 *              "offset":"4096","updated_ms":1700000000000[,"done":true][,"sent_end":"8192"]}],
 *    "streams":[{"group":"...","stream":"...","has_seq":true,"reboot_counter":"263",
 *                "sequence_no":"5","inflight":false[,"acked":"263:4:<16 hex> 263:5:<16 hex>"]}]}
 *                 [,"inflight_from_ms":1700000000000,"inflight_to_ms":1700000000999,
 *                   "inflight_events":"500"]
 * uint64 values (dev, ino, offset, reboot_counter, sequence_no) are written as decimal strings:
 * jansson's json_int_t is a signed 64-bit integer and JSON readers commonly stop being exact at
 * 2^53, so numbers could not carry UINT64_MAX. The reader also accepts a non-negative JSON integer
 * for them (hand-edited files). A path, group or stream that is not valid UTF-8 (file names are
 * bytes) is written as "<key>_hex" instead, since JSON strings must be UTF-8. "acked" holds the
 * stream's replay window (replay.h), oldest first, each mark "reboot_counter:sequence_no:hash" in
 * decimal, decimal and 16 hex digits, separated by one space; it is written only when not empty,
 * and at most REPLAY_WINDOW marks are kept (the newest). The three inflight_* keys come together,
 * only with "inflight":true: the time range and an upper bound of the count of the events whose
 * fate the marker leaves open; a file's "sent_end" (written only above its offset) says how far
 * its bytes went into such events.
 *
 * Versions: 1 had files and streams without "acked" and "digest"; 2 added them (a program that
 * knew only 1 sets a file with them aside as corrupt and re-sends everything, so they needed a new
 * number). The rule: a program reads every version up to CKPT_VERSION (an older file's missing
 * keys are empty; version-1 files that already hold the new keys, written before the number was
 * raised, read the same) and always writes CKPT_VERSION; a newer version is HAF_EINVAL, never
 * set aside (checkpoint_file.c refuses to start on it). A key added later raises the number again.
 *
 * Writing the text is checkpoint_write.c's (directly, without a jansson tree: it runs before every
 * request); saving and loading the file (atomic writes, ownership checks, setting a corrupt file
 * aside) are checkpoint_file.c's.
 */
#include "haf/checkpoint.h"
#include "checkpoint_internal.h"
#include "haf/json_write.h"
#include "haf/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define CKPT_MAX_ITEMS     1000000
#define CKPT_MAX_STR_BYTES 4096

void
ckpt_state_init(struct ckpt_state *s)
{
    memset(s, 0, sizeof(*s));
}

void
ckpt_state_clean_up(struct ckpt_state *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_files; i++)
        free(s->files[i].path);
    for (size_t i = 0; i < s->n_streams; i++) {
        free(s->streams[i].group);
        free(s->streams[i].stream);
        free(s->streams[i].digest);
        free(s->streams[i].marks);
    }
    free(s->files);
    free(s->streams);
    memset(s, 0, sizeof(*s));
}

/* ---- lookup and update ---- */

struct ckpt_file *
ckpt_find_file(struct ckpt_state *s, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < s->n_files; i++)
        if (s->files[i].dev == dev && s->files[i].ino == ino)
            return &s->files[i];
    return NULL;
}

static char *
ckpt_strdup(const char *p)
{
    return p ? strdup(p) : NULL;
}

/* Grow an array of `size`-byte elements to hold n + 1; the old pointer is dead on success. */
static enum haf_err
ckpt_grow(void **arr, size_t n, size_t size)
{
    void *p;

    if (n >= SIZE_MAX / size - 1)
        return HAF_ENOMEM;
    p = realloc(*arr, (n + 1) * size);
    if (p == NULL)
        return HAF_ENOMEM;
    *arr = p;
    return HAF_OK;
}

enum haf_err
ckpt_set_file(struct ckpt_state *s, const struct ckpt_file *f)
{
    struct ckpt_file *cur = ckpt_find_file(s, f->dev, f->ino);
    char *path = NULL;

    if (f->path) {
        path = strdup(f->path);
        if (path == NULL)
            return HAF_ENOMEM;
    }
    if (cur == NULL) {
        if (ckpt_grow((void **)&s->files, s->n_files, sizeof(*s->files)) != HAF_OK) {
            free(path);
            return HAF_ENOMEM;
        }
        cur = &s->files[s->n_files++];
    } else {
        free(cur->path);
    }
    *cur = *f;
    cur->path = path;
    return HAF_OK;
}

void
ckpt_remove_file(struct ckpt_state *s, uint64_t dev, uint64_t ino)
{
    struct ckpt_file *f = ckpt_find_file(s, dev, ino);
    size_t i;

    if (f == NULL)
        return;
    i = (size_t)(f - s->files);
    free(f->path);
    memmove(&s->files[i], &s->files[i + 1], (s->n_files - i - 1) * sizeof(*s->files));
    s->n_files--;
}

static bool
ckpt_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

struct ckpt_stream *
ckpt_find_stream(struct ckpt_state *s, const char *group, const char *stream)
{
    for (size_t i = 0; i < s->n_streams; i++)
        if (ckpt_str_eq(s->streams[i].group, group) && ckpt_str_eq(s->streams[i].stream, stream))
            return &s->streams[i];
    return NULL;
}

enum haf_err
ckpt_set_stream(struct ckpt_state *s, const struct ckpt_stream *st)
{
    struct ckpt_stream *cur = ckpt_find_stream(s, st->group, st->stream);
    char *group = NULL, *stream = NULL, *digest = NULL;
    bool digest_ok = false;
    struct replay_mark *marks = NULL;

    if (st->group == NULL || st->stream == NULL || st->n_marks > REPLAY_WINDOW)
        return HAF_EINVAL;
    group = ckpt_strdup(st->group);
    stream = ckpt_strdup(st->stream);
    if (group == NULL || stream == NULL)
        goto nomem;
    if (st->n_marks > 0) {
        marks = malloc(st->n_marks * sizeof(*marks)); /* n_marks <= REPLAY_WINDOW: no overflow */
        if (marks == NULL)
            goto nomem;
        memcpy(marks, st->marks, st->n_marks * sizeof(*marks));
    }
    if (cur == NULL) {
        if (ckpt_grow((void **)&s->streams, s->n_streams, sizeof(*s->streams)) != HAF_OK)
            goto nomem;
        cur = &s->streams[s->n_streams++];
    } else {
        free(cur->group);
        free(cur->stream);
        digest = cur->digest;
        digest_ok = cur->digest_ok;
        free(cur->marks);
    }
    *cur = *st;
    cur->group = group;
    cur->stream = stream;
    cur->digest = digest;
    cur->digest_ok = digest_ok;
    cur->marks = marks;
    return HAF_OK;
nomem:
    free(group);
    free(stream);
    free(marks);
    return HAF_ENOMEM;
}

enum haf_err
ckpt_set_stream_digest(struct ckpt_state *s, const char *group, const char *stream,
                       const char *json)
{
    struct ckpt_stream *cur = ckpt_find_stream(s, group, stream);
    char *copy = NULL;

    if (cur == NULL)
        return HAF_EINVAL;
    if (json != NULL && (copy = ckpt_strdup(json)) == NULL)
        return HAF_ENOMEM;
    free(cur->digest);
    cur->digest = copy;
    cur->digest_ok = copy != NULL && ckpt_json_object_valid(copy, strlen(copy));
    return HAF_OK;
}

bool
ckpt_file_stale(const struct ckpt_file *f, int64_t now_ms, int64_t age_ms)
{
    /* now >= updated, so the difference of the two as unsigned values is exact. */
    return age_ms >= 0 && now_ms >= f->updated_ms &&
           (uint64_t)now_ms - (uint64_t)f->updated_ms > (uint64_t)age_ms;
}

/* ---- serialization ---- */

/* 9999-12-31T23:59:59.999Z in epoch milliseconds: the largest updated_ms a state file may hold. */
#define CKPT_MAX_TIME_MS 253402300799999LL

/* ---- parsing ---- */

/* Appends to msg (may be NULL); a message that does not fit is cut short, never an error. */

void
ckpt_msgf(struct buf *msg, const char *fmt, ...)
{
    va_list ap;

    if (msg == NULL)
        return;
    va_start(ap, fmt);
    if (buf_vaddf(msg, fmt, ap) != HAF_OK) {
        /* best effort */
    }
    va_end(ap);
}

#define ckpt_fail(msg, ...) (ckpt_msgf((msg), __VA_ARGS__), HAF_EPARSE)

static bool
ckpt_get_u64(const json_t *o, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);

    if (json_is_string(v))
        return span_to_u64_dec(span_make(json_string_value(v), json_string_length(v)), out);
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    return false;
}

/* A time this program could have written: 1970..9999 (we write the wall clock there;
 * a value at the int64 extremes made the age arithmetic overflow). */
static bool
ckpt_get_time_ms(const json_t *o, const char *key, int64_t *out)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > CKPT_MAX_TIME_MS)
        return false;
    *out = json_integer_value(v);
    return true;
}

static bool
ckpt_get_bool(const json_t *o, const char *key, bool *out)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_boolean(v))
        return false;
    *out = json_is_true(v);
    return true;
}

/* Reads key (a UTF-8 string) or key_hex; exactly one of them must be there. NULL on error. */
static char *
ckpt_get_text(const json_t *o, const char *key, bool allow_empty)
{
    char hkey[64];
    const json_t *v = json_object_get(o, key), *h;
    const char *p;
    size_t len;
    char *r;

    snprintf(hkey, sizeof(hkey), "%s_hex", key);
    h = json_object_get(o, hkey);
    if ((v == NULL) == (h == NULL))
        return NULL;
    if (v) {
        if (!json_is_string(v))
            return NULL;
        p = json_string_value(v);
        len = json_string_length(v);
        if (len > CKPT_MAX_STR_BYTES || memchr(p, '\0', len) || (len == 0 && !allow_empty))
            return NULL;
        return strndup(p, len);
    }
    if (!json_is_string(h))
        return NULL;
    p = json_string_value(h);
    len = json_string_length(h);
    if (len % 2 != 0 || len == 0 || len / 2 > CKPT_MAX_STR_BYTES)
        return NULL;
    r = malloc(len / 2 + 1);
    if (r == NULL)
        return NULL;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = span_hex_digit((unsigned char)p[2 * i]),
            lo = span_hex_digit((unsigned char)p[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(r);
            return NULL;
        }
        r[i] = (char)(hi << 4 | lo);
    }
    r[len / 2] = '\0';
    return r;
}

/* Every key of o must be one of `allowed` (NULL-terminated). */
static const char *
ckpt_unknown_key(const json_t *o, const char *const *allowed)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)o, key, v)
    {
        bool ok = false;
        (void)v;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = true;
        if (!ok)
            return key;
    }
    return NULL;
}

static enum haf_err
ckpt_parse_file(const json_t *o, size_t i, struct ckpt_file *f, struct buf *msg)
{
    static const char *const keys[] = {"path",   "path_hex",   "dev",  "ino",      "fp_len", "fp",
                                       "offset", "updated_ms", "done", "sent_end", NULL};
    const json_t *v;
    const char *fp;
    json_int_t fp_len;

    memset(f, 0, sizeof(*f));
    if (!json_is_object(o))
        return ckpt_fail(msg, "files[%zu] is not an object", i);
    if (ckpt_unknown_key(o, keys))
        return ckpt_fail(msg, "files[%zu] has an unknown key", i);
    if (!ckpt_get_u64(o, "dev", &f->dev) || !ckpt_get_u64(o, "ino", &f->ino) ||
        !ckpt_get_u64(o, "offset", &f->offset))
        return ckpt_fail(msg, "files[%zu]: dev, ino and offset must be unsigned 64-bit integers",
                         i);
    v = json_object_get(o, "fp_len");
    if (!json_is_integer(v) || (fp_len = json_integer_value(v)) < 0 || fp_len > TAIL_FP_MAX_BYTES)
        return ckpt_fail(msg, "files[%zu]: fp_len must be an integer 0..%d", i, TAIL_FP_MAX_BYTES);
    f->fp.len = (uint32_t)fp_len;
    v = json_object_get(o, "fp");
    if (!json_is_string(v) || json_string_length(v) != 2 * sizeof(f->fp.hash))
        return ckpt_fail(msg, "files[%zu]: fp must be %zu hex digits", i, 2 * sizeof(f->fp.hash));
    fp = json_string_value(v);
    for (size_t k = 0; k < sizeof(f->fp.hash); k++) {
        int hi = span_hex_digit((unsigned char)fp[2 * k]),
            lo = span_hex_digit((unsigned char)fp[2 * k + 1]);
        if (hi < 0 || lo < 0)
            return ckpt_fail(msg, "files[%zu]: fp must be hex digits", i);
        f->fp.hash[k] = (uint8_t)(hi << 4 | lo);
    }
    if (!ckpt_get_time_ms(o, "updated_ms", &f->updated_ms))
        return ckpt_fail(msg, "files[%zu]: updated_ms must be an integer 0..%lld", i,
                         (long long)CKPT_MAX_TIME_MS);
    v = json_object_get(o, "done");
    if (v != NULL && !json_is_boolean(v))
        return ckpt_fail(msg, "files[%zu]: done must be true or false", i);
    f->done = json_is_true(v);
    if (json_object_get(o, "sent_end") != NULL && !ckpt_get_u64(o, "sent_end", &f->sent_end))
        return ckpt_fail(msg, "files[%zu]: sent_end must be an unsigned 64-bit integer", i);
    f->path = ckpt_get_text(o, "path", false);
    if (f->path == NULL)
        return ckpt_fail(msg, "files[%zu]: path must be a non-empty string without NUL", i);
    return HAF_OK;
}

/* A compact copy of v from malloc (NULL on failure). */
static char *
ckpt_dump_object(const json_t *v)
{
    struct buf b;
    char *s = NULL;

    buf_init(&b, 0);
    if (json_write_tree(&b, v, JSON_COMPACT) == HAF_OK)
        s = ckpt_strdup(buf_cstr(&b));
    buf_clean_up(&b);
    return s;
}

/* One "reboot:seq:hash" mark; false when malformed. */
static bool
ckpt_parse_mark(struct span s, struct replay_mark *m)
{
    struct span part[3];
    size_t k = 0, start = 0;

    for (size_t i = 0; i <= s.len; i++) {
        if (i < s.len && s.p[i] != ':')
            continue;
        if (k == 3)
            return false;
        part[k++] = span_make(s.p + start, i - start);
        start = i + 1;
    }
    return k == 3 && span_to_u64_dec(part[0], &m->reboot) && span_to_u64_dec(part[1], &m->seq) &&
           part[2].len == 16 && span_to_u64_hex(part[2], &m->hash);
}

/* The optional "acked" string: its newest REPLAY_WINDOW marks. HAF_EPARSE when malformed. */
static enum haf_err
ckpt_parse_marks(const json_t *o, struct ckpt_stream *st)
{
    const json_t *v = json_object_get(o, "acked");
    struct span s;
    size_t n = 0, skip, at = 0, i = 0;

    if (v == NULL)
        return HAF_OK;
    if (!json_is_string(v))
        return HAF_EPARSE;
    s = span_make(json_string_value(v), json_string_length(v));
    if (s.len == 0)
        return HAF_OK;
    for (size_t k = 0; k < s.len; k++)
        n += s.p[k] == ' ';
    n++; /* marks: one more than separators */
    skip = n > REPLAY_WINDOW ? n - REPLAY_WINDOW : 0;
    st->marks = calloc(n - skip, sizeof(*st->marks));
    if (st->marks == NULL)
        return HAF_ENOMEM;
    for (size_t k = 0; k <= s.len; k++) {
        struct replay_mark m;

        if (k < s.len && s.p[k] != ' ')
            continue;
        if (!ckpt_parse_mark(span_make(s.p + at, k - at), &m))
            return HAF_EPARSE;
        if (i >= skip)
            st->marks[i - skip] = m;
        i++;
        at = k + 1;
    }
    st->n_marks = n - skip;
    return HAF_OK;
}

/* The optional inflight_* keys: all three or none, only on a stream marked in flight. */
static bool
ckpt_parse_inflight_range(const json_t *o, struct ckpt_stream *st)
{
    bool any = json_object_get(o, "inflight_from_ms") || json_object_get(o, "inflight_to_ms") ||
               json_object_get(o, "inflight_events");

    if (!any)
        return true;
    return st->inflight && ckpt_get_time_ms(o, "inflight_from_ms", &st->inflight_from_ms) &&
           ckpt_get_time_ms(o, "inflight_to_ms", &st->inflight_to_ms) &&
           st->inflight_from_ms <= st->inflight_to_ms &&
           ckpt_get_u64(o, "inflight_events", &st->inflight_events) && st->inflight_events > 0;
}

static enum haf_err
ckpt_parse_stream(const json_t *o, size_t i, struct ckpt_stream *st, struct buf *msg)
{
    static const char *const keys[] = {"group",
                                       "group_hex",
                                       "stream",
                                       "stream_hex",
                                       "has_seq",
                                       "reboot_counter",
                                       "sequence_no",
                                       "inflight",
                                       "inflight_from_ms",
                                       "inflight_to_ms",
                                       "inflight_events",
                                       "digest",
                                       "acked",
                                       NULL};
    enum haf_err e;

    memset(st, 0, sizeof(*st));
    if (!json_is_object(o))
        return ckpt_fail(msg, "streams[%zu] is not an object", i);
    if (ckpt_unknown_key(o, keys))
        return ckpt_fail(msg, "streams[%zu] has an unknown key", i);
    if (!ckpt_get_bool(o, "has_seq", &st->has_seq) || !ckpt_get_bool(o, "inflight", &st->inflight))
        return ckpt_fail(msg, "streams[%zu]: has_seq and inflight must be booleans", i);
    if (!ckpt_get_u64(o, "reboot_counter", &st->reboot_counter) ||
        !ckpt_get_u64(o, "sequence_no", &st->sequence_no))
        return ckpt_fail(msg,
                         "streams[%zu]: reboot_counter and sequence_no must be unsigned 64-bit "
                         "integers",
                         i);
    if (!ckpt_parse_inflight_range(o, st))
        return ckpt_fail(msg,
                         "streams[%zu]: inflight_from_ms, inflight_to_ms and inflight_events "
                         "come together, with inflight true, as times 0..%lld in order and a "
                         "count above 0",
                         i, (long long)CKPT_MAX_TIME_MS);
    e = ckpt_parse_marks(o, st);
    if (e != HAF_OK) {
        free(st->marks);
        st->marks = NULL;
        if (e == HAF_ENOMEM)
            return e;
        return ckpt_fail(msg,
                         "streams[%zu]: acked must be \"reboot:seq:16 hex\" marks separated "
                         "by spaces",
                         i);
    }
    st->group = ckpt_get_text(o, "group", false);
    st->stream = ckpt_get_text(o, "stream", false);
    if (st->group == NULL || st->stream == NULL) {
        free(st->group);
        free(st->stream);
        free(st->marks);
        st->group = st->stream = NULL;
        st->marks = NULL;
        return ckpt_fail(msg, "streams[%zu]: group and stream must be non-empty strings", i);
    }
    /* The digest chain is checked by its owner (digest_emit.c) when it is restored. */
    if (json_is_object(json_object_get(o, "digest")) &&
        (st->digest = ckpt_dump_object(json_object_get(o, "digest"))) == NULL) {
        free(st->group);
        free(st->stream);
        free(st->marks);
        st->group = st->stream = NULL;
        st->marks = NULL;
        return ckpt_fail(msg, "streams[%zu]: out of memory", i);
    }
    st->digest_ok = st->digest != NULL; /* jansson's dump of an object */
    return HAF_OK;
}

enum haf_err
ckpt_parse(const char *data, size_t len, struct ckpt_state *out, struct buf *msg)
{
    static const char *const keys[] = {"version", "files", "streams", NULL};
    struct ckpt_state s;
    json_error_t jerr;
    json_t *root = NULL, *v, *files, *streams;
    enum haf_err e = HAF_EPARSE;

    ckpt_state_init(&s);
    if (len > CKPT_MAX_BYTES) {
        e = ckpt_fail(msg, "state file larger than %u bytes", CKPT_MAX_BYTES);
        goto out;
    }
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        e = ckpt_fail(msg, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        e = ckpt_fail(msg, "top level is not an object");
        goto out;
    }
    v = json_object_get(root, "version");
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        e = ckpt_fail(msg, "version missing or not a positive integer");
        goto out;
    }
    if (json_integer_value(v) > CKPT_VERSION) {
        (void)ckpt_fail(msg, "version %lld is newer than this program understands (%d)",
                        (long long)json_integer_value(v), CKPT_VERSION);
        e = HAF_EINVAL;
        goto out;
    }
    if (ckpt_unknown_key(root, keys)) {
        e = ckpt_fail(msg, "unknown top-level key");
        goto out;
    }
    files = json_object_get(root, "files");
    streams = json_object_get(root, "streams");
    if (!json_is_array(files) || !json_is_array(streams)) {
        e = ckpt_fail(msg, "files and streams must be arrays");
        goto out;
    }
    if (json_array_size(files) > CKPT_MAX_ITEMS || json_array_size(streams) > CKPT_MAX_ITEMS) {
        e = ckpt_fail(msg, "too many entries");
        goto out;
    }
    if (json_array_size(files)) {
        s.files = calloc(json_array_size(files), sizeof(*s.files));
        if (s.files == NULL) {
            e = HAF_ENOMEM;
            goto out;
        }
    }
    if (json_array_size(streams)) {
        s.streams = calloc(json_array_size(streams), sizeof(*s.streams));
        if (s.streams == NULL) {
            e = HAF_ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < json_array_size(files); i++) {
        struct ckpt_file f;
        e = ckpt_parse_file(json_array_get(files, i), i, &f, msg);
        if (e != HAF_OK) {
            free(f.path);
            goto out;
        }
        if (ckpt_find_file(&s, f.dev, f.ino)) {
            free(f.path);
            e = ckpt_fail(msg, "files[%zu]: duplicate (dev, ino)", i);
            goto out;
        }
        s.files[s.n_files++] = f;
    }
    for (size_t i = 0; i < json_array_size(streams); i++) {
        struct ckpt_stream st;
        e = ckpt_parse_stream(json_array_get(streams, i), i, &st, msg);
        if (e != HAF_OK)
            goto out;
        if (ckpt_find_stream(&s, st.group, st.stream)) {
            free(st.group);
            free(st.stream);
            free(st.marks);
            free(st.digest);
            e = ckpt_fail(msg, "streams[%zu]: duplicate (group, stream)", i);
            goto out;
        }
        s.streams[s.n_streams++] = st;
    }
    ckpt_state_clean_up(out);
    *out = s;
    ckpt_state_init(&s);
    e = HAF_OK;
out:
    ckpt_state_clean_up(&s);
    json_decref(root);
    return e;
}

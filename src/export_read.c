/*
 * export_read.c: audit input in the shapes users have on disk (contracts and detection rules in
 * export_read.h; the formats and their sources in docs/audit-format.md "Exports as input").
 *
 * Layers, bottom up: raw bytes from the fd; gzip inflation (zlib, gzip header only, members
 * concatenated as gzip(1) writes them with `cat a.gz b.gz`; anything after a member that is not
 * another member is ignored, as gzip(1) does with trailing garbage); a look-ahead buffer of the
 * first PEEK_BYTES decompressed bytes for detection, handed out first by export_read; then one
 * event splitter per format.
 *
 * Trade-offs: cwl-json goes through jansson and is read whole, because the CLI prints one document
 * (pages merged) and a streaming JSON reader would be a second parser to fuzz; its messages are
 * strings, so nothing is lost through jansson (timestamps are int64, which jansson holds). The
 * s3-export splitter streams with a bounded message buffer. This module does file I/O and
 * returns errors with a static reason; it never logs.
 */
#include "haf/export_read.h"
#include "haf/audit.h"
#include "haf/buf.h"
#include "haf/civil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define IN_BYTES    65536
#define PEEK_BYTES  65536
#define CHUNK_BYTES 65536

struct export_reader {
    int fd;
    bool own_fd;
    enum export_input in;
    char *stream_hint;

    unsigned char inbuf[IN_BYTES]; /* raw bytes read ahead (gzip input, or the first plain ones) */
    size_t in_pos, in_len;
    bool in_eof;

    bool gzip;
    bool z_ready;
    bool member_done;
    bool gz_over; /* past the last member */
    z_stream z;

    char peek[PEEK_BYTES]; /* decompressed look-ahead, handed out first */
    size_t peek_pos, peek_len;
};

/* ---- raw bytes and gzip ---- */

static enum haf_err
fill_in(struct export_reader *r, const char **why)
{
    for (;;) {
        ssize_t k = read(r->fd, r->inbuf, sizeof(r->inbuf));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            *why = "cannot read";
            return HAF_EIO;
        }
        r->in_pos = 0;
        r->in_len = (size_t)k;
        r->in_eof = k == 0;
        return HAF_OK;
    }
}

/* Up to cap inflated bytes; *n == 0 at the end of the last member. */
static enum haf_err
gz_read(struct export_reader *r, char *dst, size_t cap, size_t *n, const char **why)
{
    enum haf_err err;

    *n = 0;
    while (!r->gz_over) {
        int zr;
        size_t produced;

        if (r->in_pos == r->in_len && !r->in_eof && (err = fill_in(r, why)) != HAF_OK)
            return err;
        if (r->member_done) {
            if (r->in_pos == r->in_len) {
                if (r->in_eof)
                    r->gz_over = true;
                continue;
            }
            if (r->inbuf[r->in_pos] != 0x1f) { /* trailing garbage: ignored, as gzip does */
                r->gz_over = true;
                continue;
            }
            if (inflateReset(&r->z) != Z_OK) {
                *why = "corrupt gzip data";
                return HAF_EPARSE;
            }
            r->member_done = false;
        }
        r->z.next_in = r->inbuf + r->in_pos;
        r->z.avail_in = (uInt)(r->in_len - r->in_pos);
        r->z.next_out = (Bytef *)dst;
        r->z.avail_out = (uInt)cap;
        zr = inflate(&r->z, Z_NO_FLUSH);
        r->in_pos = r->in_len - r->z.avail_in;
        produced = cap - r->z.avail_out;
        if (zr == Z_STREAM_END) {
            r->member_done = true;
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            *why = "corrupt gzip data";
            return HAF_EPARSE;
        }
        if (produced > 0) {
            *n = produced;
            return HAF_OK;
        }
        if (!r->member_done && r->in_eof && r->in_pos == r->in_len) {
            *why = "truncated gzip data";
            return HAF_EPARSE;
        }
    }
    return HAF_OK;
}

/* Up to cap bytes after decompression, look-ahead not included. */
static enum haf_err
body_read(struct export_reader *r, char *dst, size_t cap, size_t *n, const char **why)
{
    if (r->gzip)
        return gz_read(r, dst, cap, n, why);
    if (r->in_pos < r->in_len) {
        *n = r->in_len - r->in_pos < cap ? r->in_len - r->in_pos : cap;
        memcpy(dst, r->inbuf + r->in_pos, *n);
        r->in_pos += *n;
        return HAF_OK;
    }
    /* Plain input past the read-ahead: straight into the caller's buffer, no copy. */
    *n = 0;
    while (!r->in_eof) {
        ssize_t k = read(r->fd, dst, cap);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            *why = "cannot read";
            return HAF_EIO;
        }
        r->in_eof = k == 0;
        *n = (size_t)k;
        break;
    }
    return HAF_OK;
}

/* ---- detection ---- */

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "YYYY-MM-DDTHH:MM:SS<non-blank>*" followed by one space: the length of the token, else 0. */
static size_t
s3_prefix_len(const char *s, size_t n)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t i;

    if (n < sizeof(shape))
        return 0;
    for (i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i])
            return 0;
    }
    while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
        i++;
    return i < n && s[i] == ' ' ? i : 0;
}

static enum export_input
detect(const char *p, size_t n)
{
    static const char *const cwl_keys[] = {
        "events",    "nextForwardToken",    "nextBackwardToken",
        "nextToken", "searchedLogStreams",  "logEvents",
        "logGroup",  "logStream",           "messageType",
        "owner",     "subscriptionFilters",
    };
    size_t i = 0;

    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    if (i < n && p[i] == '[')
        return EXPORT_INPUT_CWL_JSON;
    if (i < n && p[i] == '{') {
        size_t k, start;
        for (i++; i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r');)
            i++;
        if (i >= n || p[i] != '"')
            return EXPORT_INPUT_AUDIT;
        start = ++i;
        while (i < n && p[i] != '"')
            i++;
        for (k = 0; i < n && k < sizeof(cwl_keys) / sizeof(cwl_keys[0]); k++) {
            if (span_eq(span_make(p + start, i - start), span_cstr(cwl_keys[k])))
                return EXPORT_INPUT_CWL_JSON;
        }
        return EXPORT_INPUT_AUDIT;
    }
    if (i == 0 && s3_prefix_len(p, n) > 0)
        return EXPORT_INPUT_S3;
    return EXPORT_INPUT_AUDIT;
}

/* The directory name of an s3-export file ("<task>/<stream>/000000.gz"). */
static char *
stream_from_path(const char *path)
{
    size_t n = strlen(path), end, start;

    if (n < 4 || strcmp(path + n - 3, ".gz") != 0)
        return NULL;
    end = n;
    while (end > 0 && path[end - 1] != '/')
        end--;
    if (end < 2)
        return NULL;
    end--; /* the '/' before the file name */
    start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    return start < end ? strndup(path + start, end - start) : NULL;
}

/* ---- public: opening and bytes ---- */

enum haf_err
export_open(const char *path, enum export_input want, struct export_reader **out, const char **why)
{
    struct export_reader *r = calloc(1, sizeof(*r));
    enum haf_err err = HAF_OK;
    bool is_stdin = strcmp(path, "-") == 0;

    *why = NULL;
    if (r == NULL) {
        *why = "out of memory";
        return HAF_ENOMEM;
    }
    r->fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    r->own_fd = !is_stdin;
    if (r->fd < 0) {
        *why = "cannot open";
        r->own_fd = false;
        err = HAF_EIO;
        goto out;
    }
    /* At least two bytes (or the end) to see the gzip magic. */
    while (r->in_len < 2 && !r->in_eof) {
        ssize_t k = read(r->fd, r->inbuf + r->in_len, sizeof(r->inbuf) - r->in_len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            *why = "cannot read";
            err = HAF_EIO;
            goto out;
        }
        r->in_len += (size_t)k;
        r->in_eof = k == 0;
    }
    if (r->in_len >= 2 && r->inbuf[0] == 0x1f && r->inbuf[1] == 0x8b) {
        r->gzip = true;
        if (inflateInit2(&r->z, 15 + 16) != Z_OK) {
            *why = "out of memory";
            err = HAF_ENOMEM;
            goto out;
        }
        r->z_ready = true;
    }
    r->in = want;
    if (want == EXPORT_INPUT_AUTO) {
        while (r->peek_len < sizeof(r->peek)) {
            size_t k;
            err = body_read(r, r->peek + r->peek_len, sizeof(r->peek) - r->peek_len, &k, why);
            if (err != HAF_OK)
                goto out;
            if (k == 0)
                break;
            r->peek_len += k;
        }
        r->in = detect(r->peek, r->peek_len);
    }
    if (r->in == EXPORT_INPUT_S3 && !is_stdin)
        r->stream_hint = stream_from_path(path);
out:
    if (err != HAF_OK) {
        int e = errno;
        export_close(r);
        errno = e;
        return err;
    }
    *out = r;
    return HAF_OK;
}

void
export_close(struct export_reader *r)
{
    if (r == NULL)
        return;
    if (r->z_ready)
        inflateEnd(&r->z);
    if (r->own_fd)
        close(r->fd);
    free(r->stream_hint);
    free(r);
}

enum export_input
export_input_of(const struct export_reader *r)
{
    return r->in;
}

bool
export_is_gzip(const struct export_reader *r)
{
    return r->gzip;
}

const char *
export_stream_hint(const struct export_reader *r)
{
    return r->stream_hint;
}

enum haf_err
export_read(struct export_reader *r, char *dst, size_t cap, size_t *n, const char **why)
{
    if (r->peek_pos < r->peek_len) {
        size_t k = r->peek_len - r->peek_pos < cap ? r->peek_len - r->peek_pos : cap;
        memcpy(dst, r->peek + r->peek_pos, k);
        r->peek_pos += k;
        *n = k;
        return HAF_OK;
    }
    return body_read(r, dst, cap, n, why);
}

/* ---- events ---- */

bool
export_iso_to_ms(struct span s, int64_t *ms)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    unsigned v[6] = {0}, frac = 0, scale = 100;
    size_t i;
    static const unsigned at[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};

    if (s.len < sizeof(shape) || s.p[s.len - 1] != 'Z')
        return false;
    for (i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd' ? !is_digit(s.p[i]) : s.p[i] != shape[i])
            return false;
    }
    for (unsigned k = 0; k < 6; k++) {
        for (unsigned j = 0; j < len[k]; j++)
            v[k] = v[k] * 10 + (unsigned)(s.p[at[k] + j] - '0');
    }
    if (i < s.len - 1) {
        if (s.p[i] != '.' || i + 1 == s.len - 1)
            return false;
        for (i++; i < s.len - 1; i++) {
            if (!is_digit(s.p[i]))
                return false;
            frac += (unsigned)(s.p[i] - '0') * scale;
            scale /= 10;
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > civil_days_in_month(v[0], v[1]) || v[3] > 23 ||
        v[4] > 59 || v[5] > 60)
        return false;
    *ms =
        (civil_days_from(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5]) * 1000 + frac;
    return true;
}

struct split {
    struct export_reader *r;
    export_event_cb cb;
    void *ctx;
    struct buf msg;
    int64_t ts;
    bool have;
    int stop;
};

static enum haf_err
split_emit(struct split *sp)
{
    struct export_event ev = {sp->ts, buf_span(&sp->msg), sp->r->stream_hint};

    if (!sp->have)
        return HAF_OK;
    sp->have = false;
    sp->stop = sp->cb(sp->ctx, &ev);
    buf_reset(&sp->msg);
    return HAF_OK;
}

/* One line of an s3-export file (no '\n'; a trailing CR dropped). */
static enum haf_err
split_line(struct split *sp, const char *s, size_t n)
{
    size_t pfx;
    int64_t ts;
    enum haf_err err;

    if (n > 0 && s[n - 1] == '\r')
        n--;
    pfx = s3_prefix_len(s, n);
    if (pfx > 0 && export_iso_to_ms(span_make(s, pfx), &ts)) {
        if ((err = split_emit(sp)) != HAF_OK)
            return err;
        sp->ts = ts;
        sp->have = true;
        return buf_add(&sp->msg, s + pfx + 1, n - pfx - 1);
    }
    if (sp->have && sp->msg.len + 1 + n > EXPORT_MESSAGE_MAX_BYTES) {
        int64_t keep = sp->ts;
        if ((err = split_emit(sp)) != HAF_OK)
            return err;
        sp->ts = keep;
        sp->have = true;
        return buf_add(&sp->msg, s, n);
    }
    if (!sp->have) { /* text before the first prefixed line: an event without a time */
        sp->have = true;
        sp->ts = 0;
        return buf_add(&sp->msg, s, n);
    }
    if ((err = buf_addc(&sp->msg, '\n')) != HAF_OK)
        return err;
    return buf_add(&sp->msg, s, n);
}

static enum haf_err
events_s3(struct export_reader *r, export_event_cb cb, void *ctx, const char **why)
{
    struct split sp = {.r = r, .cb = cb, .ctx = ctx};
    struct buf line, chunk;
    enum haf_err err = HAF_OK;

    buf_init(&sp.msg, EXPORT_MESSAGE_MAX_BYTES + 1);
    buf_init(&line, EXPORT_MESSAGE_MAX_BYTES + 1);
    buf_init(&chunk, 0);
    if ((err = buf_reserve(&chunk, CHUNK_BYTES)) != HAF_OK)
        goto out;
    while (sp.stop == 0) {
        size_t n, pos = 0;
        if ((err = export_read(r, chunk.p, CHUNK_BYTES, &n, why)) != HAF_OK)
            goto out;
        if (n == 0)
            break;
        while (pos < n && sp.stop == 0) {
            const char *nl = memchr(chunk.p + pos, '\n', n - pos);
            size_t k = nl ? (size_t)(nl - (chunk.p + pos)) : n - pos;
            if (line.len + k > EXPORT_MESSAGE_MAX_BYTES) { /* an over-long line: passed in pieces */
                if ((err = split_line(&sp, line.p, line.len)) != HAF_OK)
                    goto out;
                buf_reset(&line);
            }
            if ((err = buf_add(&line, chunk.p + pos, k)) != HAF_OK)
                goto out;
            pos += k + (nl != NULL);
            if (nl) {
                err = split_line(&sp, line.p, line.len);
                buf_reset(&line);
                if (err != HAF_OK)
                    goto out;
            }
        }
    }
    if (sp.stop == 0 && line.len > 0 && (err = split_line(&sp, line.p, line.len)) != HAF_OK)
        goto out;
    if (sp.stop == 0)
        err = split_emit(&sp);
out:
    if (err == HAF_OK && sp.stop)
        err = HAF_EAGAIN;
    if (err != HAF_OK && err != HAF_EAGAIN && *why == NULL)
        *why = "out of memory";
    buf_clean_up(&sp.msg);
    buf_clean_up(&line);
    buf_clean_up(&chunk);
    return err;
}

struct audit_events {
    export_event_cb cb;
    void *ctx;
};

static int
audit_event_cb(void *ctx, const struct haf_entry *e)
{
    struct audit_events *a = ctx;
    struct export_event ev = {audit_entry_time_ms(e), e->raw, NULL};

    return a->cb(a->ctx, &ev);
}

static enum haf_err
events_audit(struct export_reader *r, export_event_cb cb, void *ctx, const char **why)
{
    struct audit_events a = {cb, ctx};
    struct audit_parser *p = audit_parser_new(NULL);
    char *chunk = malloc(CHUNK_BYTES);
    enum haf_err err = HAF_OK;

    if (p == NULL || chunk == NULL) {
        err = HAF_ENOMEM;
        *why = "out of memory";
        goto out;
    }
    for (;;) {
        size_t n;
        if ((err = export_read(r, chunk, CHUNK_BYTES, &n, why)) != HAF_OK)
            goto out;
        if (n == 0)
            break;
        if ((err = audit_parser_feed(p, chunk, n, NULL, audit_event_cb, &a)) != HAF_OK)
            goto out;
    }
    err = audit_parser_flush(p, audit_event_cb, &a);
out:
    if (err == HAF_ENOMEM)
        *why = "out of memory";
    audit_parser_free(p);
    free(chunk);
    return err;
}

/* The events of one JSON event object. */
static enum haf_err
json_event(json_t *ev, const char *stream, export_event_cb cb, void *ctx, const char **why)
{
    json_t *m = json_object_get(ev, "message"), *t = json_object_get(ev, "timestamp");
    json_t *s = json_object_get(ev, "logStreamName");
    struct export_event out;

    if (!json_is_string(m)) {
        *why = "an event without a string \"message\"";
        return HAF_EPARSE;
    }
    out.message = span_make(json_string_value(m), json_string_length(m));
    out.timestamp_ms = json_is_integer(t) ? (int64_t)json_integer_value(t) : 0;
    out.stream = json_is_string(s) ? json_string_value(s) : stream;
    return cb(ctx, &out) ? HAF_EAGAIN : HAF_OK;
}

static enum haf_err
json_doc(json_t *doc, export_event_cb cb, void *ctx, const char **why)
{
    json_t *events = doc, *ev;
    const char *stream = NULL;
    size_t i;
    enum haf_err err;

    if (json_is_object(doc)) {
        json_t *ls = json_object_get(doc, "logStream");
        events = json_object_get(doc, "events");
        if (events == NULL)
            events = json_object_get(doc, "logEvents");
        stream = json_is_string(ls) ? json_string_value(ls) : NULL;
    }
    if (!json_is_array(events)) {
        *why = "a JSON document without an \"events\" array";
        return HAF_EPARSE;
    }
    json_array_foreach(events, i, ev)
    {
        if ((err = json_event(ev, stream, cb, ctx, why)) != HAF_OK)
            return err;
    }
    return HAF_OK;
}

static enum haf_err
events_cwl_json(struct export_reader *r, export_event_cb cb, void *ctx, const char **why)
{
    struct buf all;
    enum haf_err err;
    size_t off = 0;

    buf_init(&all, EXPORT_JSON_MAX_BYTES);
    for (;;) {
        size_t n;
        if ((err = buf_reserve(&all, CHUNK_BYTES)) != HAF_OK) {
            *why = err == HAF_ETOOLONG ? "JSON document too large" : "out of memory";
            goto out;
        }
        if ((err = export_read(r, all.p + all.len, CHUNK_BYTES, &n, why)) != HAF_OK)
            goto out;
        if (n == 0)
            break;
        all.len += n;
    }
    /* One document after another (the CLI run several times into one file). */
    for (;;) {
        json_error_t jerr;
        json_t *doc;
        while (off < all.len && (all.p[off] == ' ' || all.p[off] == '\t' || all.p[off] == '\n' ||
                                 all.p[off] == '\r'))
            off++;
        if (off == all.len)
            break;
        doc =
            json_loadb(all.p + off, all.len - off, JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &jerr);
        if (doc == NULL) {
            *why = "invalid JSON";
            err = HAF_EPARSE;
            goto out;
        }
        off += (size_t)jerr.position;
        err = json_doc(doc, cb, ctx, why);
        json_decref(doc);
        if (err != HAF_OK)
            goto out;
    }
    err = HAF_OK;
out:
    buf_clean_up(&all);
    return err;
}

enum haf_err
export_events(struct export_reader *r, export_event_cb cb, void *ctx, const char **why)
{
    *why = NULL;
    switch (r->in) {
    case EXPORT_INPUT_CWL_JSON:
        return events_cwl_json(r, cb, ctx, why);
    case EXPORT_INPUT_S3:
        return events_s3(r, cb, ctx, why);
    case EXPORT_INPUT_AUDIT:
    case EXPORT_INPUT_AUTO:
        break;
    }
    return events_audit(r, cb, ctx, why);
}

static const char *const input_names[] = {
    [EXPORT_INPUT_AUTO] = "auto",
    [EXPORT_INPUT_AUDIT] = "audit",
    [EXPORT_INPUT_CWL_JSON] = "cwl-json",
    [EXPORT_INPUT_S3] = "s3-export",
};

const char *
export_input_name(enum export_input in)
{
    return (unsigned)in < sizeof(input_names) / sizeof(input_names[0]) ? input_names[in] : "?";
}

bool
export_input_parse(const char *s, enum export_input *out)
{
    for (unsigned i = 0; i < sizeof(input_names) / sizeof(input_names[0]); i++) {
        if (strcmp(s, input_names[i]) == 0) {
            *out = (enum export_input)i;
            return true;
        }
    }
    return false;
}

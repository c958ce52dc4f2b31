/*
 * checkpoint_write.c: the state as the text of state.json (format: checkpoint.c), written
 * directly into one buffer.
 *
 * The state is written before every PutLogEvents request (the in-flight marker), so this is on
 * the delivery path. It used to build a jansson tree and dump it: the replay window alone is a
 * ~40 KiB string per stream that jansson escaped byte by byte through a callback, every node and
 * string went through the wiping allocator, and a stream's digest chain (up to ~360 KiB) was
 * parsed back from its text and dumped again on each save; that was a fifth of the daemon's CPU
 * with three streams. Here every value is appended with the one escaper (json_write.h), the
 * output buffer is sized once, and the digest text is copied verbatim: its syntax is checked once
 * when it is set (ckpt_json_object_valid here, allocating nothing), not at every save.
 *
 * The layout is jansson's JSON_INDENT(1) with the keys in insertion order, byte for byte what
 * the tree dump gave (one space of indent per level, ": " between key and value), except that a
 * digest object is written compact, as it is held. Readers (ckpt_parse, the tests, people) do not
 * depend on the whitespace.
 */
#include "haf/checkpoint.h"
#include "checkpoint_internal.h"
#include "haf/json_write.h"
#include "haf/utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CKPT_JSON_MAX_DEPTH 64 /* deeper digest text is refused (ours is 3 deep) */

static const char ckpt_w_hex[] = "0123456789abcdef";

/* ---- a syntax check for the digest text ---- */

static void
jc_ws(const char *s, size_t n, size_t *i)
{
    while (*i < n && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r'))
        (*i)++;
}

static bool
jc_string(const char *s, size_t n, size_t *i)
{
    const char *q;
    size_t start;

    if (*i >= n || s[*i] != '"')
        return false;
    start = ++(*i);
    /* Fast path, the common case (hex digests, names): printable ASCII up to the closing quote. */
    q = memchr(s + start, '"', n - start);
    if (q != NULL && json_write_plain(s + start, (size_t)(q - s) - start)) {
        *i = (size_t)(q - s) + 1;
        return true;
    }
    while (*i < n && s[*i] != '"') {
        unsigned char c = (unsigned char)s[*i];
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (++(*i) >= n)
                return false;
            c = (unsigned char)s[*i];
            if (c == 'u') {
                for (int k = 0; k < 4; k++) {
                    unsigned char h = *i + 1 < n ? (unsigned char)s[++(*i)] : 0;
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
                          (h >= 'A' && h <= 'F')))
                        return false;
                }
            } else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
                return false;
            }
        }
        (*i)++;
    }
    if (*i >= n || !utf8_valid((const unsigned char *)s + start, *i - start))
        return false;
    (*i)++;
    return true;
}

static bool
jc_digits(const char *s, size_t n, size_t *i)
{
    size_t start = *i;

    while (*i < n && s[*i] >= '0' && s[*i] <= '9')
        (*i)++;
    return *i > start;
}

static bool
jc_number(const char *s, size_t n, size_t *i)
{
    if (*i < n && s[*i] == '-')
        (*i)++;
    if (*i < n && s[*i] == '0')
        (*i)++;
    else if (!jc_digits(s, n, i))
        return false;
    if (*i < n && s[*i] == '.') {
        (*i)++;
        if (!jc_digits(s, n, i))
            return false;
    }
    if (*i < n && (s[*i] == 'e' || s[*i] == 'E')) {
        (*i)++;
        if (*i < n && (s[*i] == '+' || s[*i] == '-'))
            (*i)++;
        if (!jc_digits(s, n, i))
            return false;
    }
    return true;
}

static bool
jc_literal(const char *s, size_t n, size_t *i, const char *lit)
{
    size_t k = strlen(lit);

    if (n - *i < k || memcmp(s + *i, lit, k) != 0)
        return false;
    *i += k;
    return true;
}

/* One JSON value at s[*i] (after whitespace), containers at most `depth` deep. */
static bool
jc_value(const char *s, size_t n, size_t *i, int depth)
{
    char open, close;

    jc_ws(s, n, i);
    if (*i >= n)
        return false;
    switch (s[*i]) {
    case '"':
        return jc_string(s, n, i);
    case 't':
        return jc_literal(s, n, i, "true");
    case 'f':
        return jc_literal(s, n, i, "false");
    case 'n':
        return jc_literal(s, n, i, "null");
    case '{':
    case '[':
        break;
    default:
        return jc_number(s, n, i);
    }
    if (depth <= 0)
        return false;
    open = s[(*i)++];
    close = open == '{' ? '}' : ']';
    jc_ws(s, n, i);
    if (*i < n && s[*i] == close) {
        (*i)++;
        return true;
    }
    for (;;) {
        if (open == '{') {
            jc_ws(s, n, i);
            if (!jc_string(s, n, i))
                return false;
            jc_ws(s, n, i);
            if (*i >= n || s[(*i)++] != ':')
                return false;
        }
        if (!jc_value(s, n, i, depth - 1))
            return false;
        jc_ws(s, n, i);
        if (*i >= n)
            return false;
        if (s[*i] == close) {
            (*i)++;
            return true;
        }
        if (s[(*i)++] != ',')
            return false;
    }
}

/* Whether s[0..n) is exactly one JSON object (RFC 8259 syntax; duplicate keys are not looked
 * for: ckpt_parse rejects them when the file is read, and our writers never make them). */
bool
ckpt_json_object_valid(const char *s, size_t n)
{
    size_t i = 0;

    jc_ws(s, n, &i);
    if (i >= n || s[i] != '{' || !jc_value(s, n, &i, CKPT_JSON_MAX_DEPTH))
        return false;
    jc_ws(s, n, &i);
    return i == n;
}

/* ---- the writer ---- */

struct ckpt_w {
    struct buf *out;
    enum haf_err e;
};

static void
w_raw(struct ckpt_w *w, const char *p, size_t n)
{
    if (w->e == HAF_OK)
        w->e = buf_add(w->out, p, n);
}

static void
w_str(struct ckpt_w *w, const char *p)
{
    w_raw(w, p, strlen(p));
}

/* ",\n" (unless first) and the indent of a member at `depth`, then "\"key\": ". */
static void
w_key(struct ckpt_w *w, int depth, bool first, const char *key)
{
    static const char spaces[] = "        ";

    if (!first)
        w_raw(w, ",", 1);
    w_raw(w, "\n", 1);
    w_raw(w, spaces, (size_t)depth < sizeof(spaces) - 1 ? (size_t)depth : sizeof(spaces) - 1);
    w_raw(w, "\"", 1);
    w_str(w, key);
    w_raw(w, "\": ", 3);
}

static void
w_close(struct ckpt_w *w, int depth, char c)
{
    static const char spaces[] = "        ";

    w_raw(w, "\n", 1);
    w_raw(w, spaces, (size_t)depth < sizeof(spaces) - 1 ? (size_t)depth : sizeof(spaces) - 1);
    w_raw(w, &c, 1);
}

static size_t
w_fmt_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

/* A JSON integer (jansson's json_integer: signed). */
static void
w_int(struct ckpt_w *w, int64_t v)
{
    char s[24];
    size_t n = 0;

    if (v < 0)
        s[n++] = '-';
    n += w_fmt_u64(s + n, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
    w_raw(w, s, n);
}

/* A uint64 as a decimal string (see checkpoint.c). */
static void
w_u64_string(struct ckpt_w *w, uint64_t v)
{
    char s[24];
    size_t n = 0;

    s[n++] = '"';
    n += w_fmt_u64(s + n, v);
    s[n++] = '"';
    w_raw(w, s, n);
}

static void
w_string(struct ckpt_w *w, const char *p, size_t n)
{
    if (w->e == HAF_OK)
        w->e = json_write_string(w->out, span_make(p, n));
}

/* key: "text" when it is UTF-8, else key_hex: "hex of the bytes". */
static void
w_text(struct ckpt_w *w, int depth, bool first, const char *key, const char *text)
{
    size_t len = strlen(text);
    char hkey[64];

    if (utf8_valid((const unsigned char *)text, len)) {
        w_key(w, depth, first, key);
        w_string(w, text, len);
        return;
    }
    snprintf(hkey, sizeof(hkey), "%s_hex", key);
    w_key(w, depth, first, hkey);
    w_raw(w, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        char h[2] = {ckpt_w_hex[(unsigned char)text[i] >> 4],
                     ckpt_w_hex[(unsigned char)text[i] & 0xf]};
        w_raw(w, h, 2);
    }
    w_raw(w, "\"", 1);
}

/* "acked": the replay window's marks in one string (checkpoint.c). */
static void
w_marks(struct ckpt_w *w, const struct ckpt_stream *st)
{
    if (st->n_marks == 0)
        return; /* written only when set: state files without it read as before */
    w_key(w, 3, false, "acked");
    w_raw(w, "\"", 1);
    for (size_t i = 0; i < st->n_marks; i++) {
        const struct replay_mark *m = &st->marks[i];
        char s[64];
        size_t n = 0;

        if (i > 0)
            s[n++] = ' ';
        n += w_fmt_u64(s + n, m->reboot);
        s[n++] = ':';
        n += w_fmt_u64(s + n, m->seq);
        s[n++] = ':';
        for (int k = 15; k >= 0; k--)
            s[n++] = ckpt_w_hex[(m->hash >> (4 * k)) & 0xf];
        w_raw(w, s, n);
    }
    w_raw(w, "\"", 1);
}

static void
w_file(struct ckpt_w *w, const struct ckpt_file *f)
{
    char fp[sizeof(f->fp.hash) * 2 + 2];

    fp[0] = '"';
    for (size_t k = 0; k < sizeof(f->fp.hash); k++) {
        fp[1 + 2 * k] = ckpt_w_hex[f->fp.hash[k] >> 4];
        fp[2 + 2 * k] = ckpt_w_hex[f->fp.hash[k] & 0xf];
    }
    fp[sizeof(fp) - 1] = '"';
    w_raw(w, "{", 1);
    w_text(w, 3, true, "path", f->path ? f->path : "");
    w_key(w, 3, false, "dev");
    w_u64_string(w, f->dev);
    w_key(w, 3, false, "ino");
    w_u64_string(w, f->ino);
    w_key(w, 3, false, "fp_len");
    w_int(w, (int64_t)f->fp.len);
    w_key(w, 3, false, "fp");
    w_raw(w, fp, sizeof(fp));
    w_key(w, 3, false, "offset");
    w_u64_string(w, f->offset);
    w_key(w, 3, false, "updated_ms");
    w_int(w, f->updated_ms);
    if (f->done) { /* written only when set: state files without it read as before */
        w_key(w, 3, false, "done");
        w_str(w, "true");
    }
    if (f->sent_end > f->offset) {
        w_key(w, 3, false, "sent_end");
        w_u64_string(w, f->sent_end);
    }
    w_close(w, 2, '}');
}

static void
w_stream(struct ckpt_w *w, const struct ckpt_stream *st)
{
    w_raw(w, "{", 1);
    w_text(w, 3, true, "group", st->group ? st->group : "");
    w_text(w, 3, false, "stream", st->stream ? st->stream : "");
    w_key(w, 3, false, "has_seq");
    w_str(w, st->has_seq ? "true" : "false");
    w_key(w, 3, false, "reboot_counter");
    w_u64_string(w, st->reboot_counter);
    w_key(w, 3, false, "sequence_no");
    w_u64_string(w, st->sequence_no);
    w_key(w, 3, false, "inflight");
    w_str(w, st->inflight ? "true" : "false");
    if (st->inflight && st->inflight_events > 0) {
        w_key(w, 3, false, "inflight_from_ms");
        w_int(w, st->inflight_from_ms);
        w_key(w, 3, false, "inflight_to_ms");
        w_int(w, st->inflight_to_ms);
        w_key(w, 3, false, "inflight_events");
        w_u64_string(w, st->inflight_events);
    }
    if (st->digest != NULL) {
        size_t n = strlen(st->digest);

        if (!st->digest_ok && w->e == HAF_OK)
            w->e = HAF_EINVAL; /* checked when it was set (ckpt_set_stream_digest) */
        w_key(w, 3, false, "digest");
        w_raw(w, st->digest, n);
    }
    w_marks(w, st);
    w_close(w, 2, '}');
}

/* An upper bound of the text's size for the common case, so the buffer grows once. */
static size_t
ckpt_size_hint(const struct ckpt_state *s)
{
    size_t n = 64;

    for (size_t i = 0; i < s->n_files; i++)
        n += 256 + (s->files[i].path ? 2 * strlen(s->files[i].path) : 0);
    for (size_t i = 0; i < s->n_streams; i++) {
        const struct ckpt_stream *st = &s->streams[i];
        n += 256 + st->n_marks * 60;
        n += st->group ? 2 * strlen(st->group) : 0;
        n += st->stream ? 2 * strlen(st->stream) : 0;
        n += st->digest ? strlen(st->digest) : 0;
    }
    return n;
}

enum haf_err
ckpt_serialize(const struct ckpt_state *s, struct buf *out)
{
    struct ckpt_w w = {.out = out, .e = HAF_OK};
    size_t mark = out->len;

    w.e = buf_reserve(out, ckpt_size_hint(s));
    w_str(&w, "{\n \"version\": ");
    w_int(&w, CKPT_VERSION);
    w_str(&w, ",\n \"files\": [");
    for (size_t i = 0; i < s->n_files; i++) {
        w_raw(&w, i ? ",\n  " : "\n  ", i ? 4 : 3);
        w_file(&w, &s->files[i]);
    }
    w_str(&w, s->n_files ? "\n ],\n \"streams\": [" : "],\n \"streams\": [");
    for (size_t i = 0; i < s->n_streams; i++) {
        w_raw(&w, i ? ",\n  " : "\n  ", i ? 4 : 3);
        w_stream(&w, &s->streams[i]);
    }
    w_str(&w, s->n_streams ? "\n ]\n}\n" : "]\n}\n");
    if (w.e != HAF_OK) {
        out->len = mark;
        if (out->p)
            out->p[mark] = '\0';
        /* HAF_EINVAL: a digest text that is not one JSON object; else out of memory. */
        return w.e == HAF_EINVAL ? HAF_EINVAL : HAF_ENOMEM;
    }
    return HAF_OK;
}

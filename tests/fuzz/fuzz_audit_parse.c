/*
 * fuzz_audit_parse.c: the audit parser and formatter on arbitrary bytes. The first byte picks the
 * bounds (defaults, or tiny ones so splitting and cutting are reached); the rest is the input.
 * Checked for every input (abort() on violation):
 *  - entries tile the input from 0, each non-empty; only blank bytes follow the last one;
 *  - raw is non-empty, valid UTF-8, NUL-free and within the entry bound;
 *  - the JSON message is valid UTF-8 and a JSON object by jansson (duplicate keys rejected), and
 *    the raw message is exactly e->raw;
 *  - resuming at one entry's src_end reproduces the following entries (checkpoint semantics).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "haf/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
    const char *in;
    size_t len;
    uint64_t at; /* expected src_start */
    size_t max_entry;
    size_t n;
    struct buf canon;
    uint64_t *ends; /* src_end of every entry */
};

static bool
utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else
            return false;
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if (s[i + k] < lo || s[i + k] > hi)
                return false;
            lo = 0x80;
            hi = 0xBF;
        }
        i += len;
    }
    return true;
}

static void
check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_audit_parse: %s\n", what);
        abort();
    }
}

static int
on_entry(void *ctx, const struct haf_entry *e)
{
    struct state *s = ctx;
    static const struct audit_format_ctx fctx = {.host = "h", .source = "/s", .hsm_id = "i"};
    struct buf b;
    json_t *j;
    json_error_t jerr;
    struct haf_entry g = *e;

    check(e->src_start == s->at, "ranges do not tile");
    check(e->src_end > e->src_start && e->src_end <= s->len, "bad range");
    s->at = e->src_end;
    check(e->raw.len > 0 && e->raw.len <= s->max_entry, "raw empty or over the bound");
    check(utf8_valid((const unsigned char *)e->raw.p, e->raw.len), "raw not UTF-8");
    check(memchr(e->raw.p, '\0', e->raw.len) == NULL, "NUL in raw");
    check(e->n_extra <= HAF_ENTRY_MAX_EXTRA, "n_extra");

    buf_init(&b, 0);
    check(audit_format(e, AUDIT_FORMAT_JSON, &fctx, &b) == HAF_OK, "format json");
    check(b.len > 0 && utf8_valid((const unsigned char *)b.p, b.len), "json not UTF-8");
    /* jansson cannot hold integers above INT64_MAX, which we print exactly: read them as reals. */
    j = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
    check(j != NULL && json_is_object(j), "json invalid");
    check((json_object_get(j, "raw") != NULL) == (e->parse_error != NULL), "raw iff flagged");
    json_decref(j);
    buf_reset(&b);
    check(audit_format(e, AUDIT_FORMAT_RAW, NULL, &b) == HAF_OK, "format raw");
    check(b.len == e->raw.len && memcmp(b.p, e->raw.p, b.len) == 0, "raw message differs");
    buf_clean_up(&b);

    /* Canonical form for the resume comparison: the wording of a reason may differ there. */
    if (g.parse_error)
        g.parse_error = "x";
    check(audit_format(&g, AUDIT_FORMAT_JSON, NULL, &s->canon) == HAF_OK, "canon");
    check(buf_addc(&s->canon, '\n') == HAF_OK, "canon");
    s->ends = realloc(s->ends, (s->n + 1) * sizeof(*s->ends));
    check(s->ends != NULL, "realloc");
    s->ends[s->n++] = e->src_end;
    return 0;
}

static void
run(struct state *s, const struct audit_parser_opts *o, uint64_t from)
{
    struct audit_parser *p = audit_parser_new(o);
    size_t used = 0;

    check(p != NULL, "new");
    audit_parser_reset(p, from);
    s->at = from;
    check(audit_parser_feed(p, s->in + from, s->len - from, &used, on_entry, s) == HAF_OK, "feed");
    check(used == s->len - from, "consumed");
    check(audit_parser_flush(p, on_entry, s) == HAF_OK, "flush");
    check(!audit_parser_pending(p), "pending after flush");
    check(audit_parser_offset(p) == s->len, "offset");
    audit_parser_free(p);
    for (uint64_t i = s->at; i < s->len; i++)
        check(s->in[i] == '\n' || s->in[i] == '\r' || s->in[i] == ' ' || s->in[i] == '\t',
              "non-blank bytes after the last entry");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct audit_parser_opts o = {0};
    struct state s = {0}, r = {0};
    const char *want;
    size_t k;

    if (size == 0)
        return 0;
    if (data[0] & 1) {
        o.max_line_bytes = 256;
        o.max_entry_bytes = 256 + 64 + (data[0] >> 1) * 8;
    }
    s.in = (const char *)data + 1;
    s.len = size - 1;
    s.max_entry = o.max_entry_bytes ? o.max_entry_bytes : 262144;
    buf_init(&s.canon, 0);
    run(&s, &o, 0);

    if (s.n > 1) {
        /* resume after entry k (chosen by the input), as a checkpoint at its src_end would */
        k = (size_t)data[size - 1] % (s.n - 1);
        want = buf_cstr(&s.canon);
        for (size_t i = 0; i <= k; i++)
            want = strchr(want, '\n') + 1;
        r.in = s.in;
        r.len = s.len;
        r.max_entry = s.max_entry;
        buf_init(&r.canon, 0);
        run(&r, &o, s.ends[k]);
        check(strcmp(want, buf_cstr(&r.canon)) == 0, "resume at src_end differs");
        buf_clean_up(&r.canon);
        free(r.ends);
    }
    buf_clean_up(&s.canon);
    free(s.ends);
    return 0;
}

/*
 * fuzz_audit_chunks.c: chunking invariance. The first two bytes seed a PRNG that cuts the rest of
 * the input into chunks of 1..N bytes and makes the callback stop the feed at random entries; the
 * caller resumes with the bytes not consumed, as the daemon does. The formatted output (JSON, raw
 * and range of every entry) must be byte-identical to a single whole feed: abort() otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haf/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
    struct buf b;
    uint32_t rng;
    int stop_odds; /* stop on 1 in stop_odds entries; 0: never */
};

static uint32_t
rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void
must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_audit_chunks: %s\n", what);
        abort();
    }
}

static int
on_entry(void *ctx, const struct haf_entry *e)
{
    struct out *o = ctx;

    must(audit_format(e, AUDIT_FORMAT_JSON, NULL, &o->b) == HAF_OK, "json");
    must(buf_addc(&o->b, '\t') == HAF_OK, "add");
    must(audit_format(e, AUDIT_FORMAT_RAW, NULL, &o->b) == HAF_OK, "raw");
    must(buf_addf(&o->b, "\t%llu-%llu\n", (unsigned long long)e->src_start,
                  (unsigned long long)e->src_end) == HAF_OK,
         "add");
    return o->stop_odds && rnd(&o->rng) % (uint32_t)o->stop_odds == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct audit_parser_opts opts = {0};
    struct audit_parser *p;
    struct out whole = {0}, parts = {0};
    const char *in;
    size_t len, off = 0, maxchunk;
    uint32_t seed;
    enum haf_err err;

    if (size < 2)
        return 0;
    seed = ((uint32_t)data[0] << 8 | data[1]) * 2654435761u + 1;
    maxchunk = (size_t)(data[0] % 64) + 1;
    if (data[1] & 1) {
        opts.max_line_bytes = 256;
        opts.max_entry_bytes = 400;
    }
    in = (const char *)data + 2;
    len = size - 2;

    buf_init(&whole.b, 0);
    p = audit_parser_new(&opts);
    must(p != NULL, "new");
    must(audit_parser_feed(p, in, len, NULL, on_entry, &whole) == HAF_OK, "feed");
    must(audit_parser_flush(p, on_entry, &whole) == HAF_OK, "flush");
    audit_parser_free(p);

    buf_init(&parts.b, 0);
    parts.rng = seed;
    parts.stop_odds = (data[1] >> 1) % 4;
    p = audit_parser_new(&opts);
    must(p != NULL, "new");
    while (off < len) {
        size_t n = rnd(&parts.rng) % maxchunk + 1, used = 0;
        if (n > len - off)
            n = len - off;
        err = audit_parser_feed(p, in + off, n, &used, on_entry, &parts);
        must(err == HAF_OK || err == HAF_EAGAIN, "feed error");
        must(used <= n && (err == HAF_EAGAIN || used == n), "consumed");
        off += used;
    }
    do
        err = audit_parser_flush(p, on_entry, &parts);
    while (err == HAF_EAGAIN);
    must(err == HAF_OK, "flush");
    audit_parser_free(p);

    must(whole.b.len == parts.b.len &&
             (whole.b.len == 0 || memcmp(whole.b.p, parts.b.p, whole.b.len) == 0),
         "chunked output differs from whole");
    buf_clean_up(&whole.b);
    buf_clean_up(&parts.b);
    return 0;
}

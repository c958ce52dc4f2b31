/*
 * report_input.c: messages and files into the report aggregation (see report_input.h).
 *
 * A JSON message (scanned by report_event_scan, src/report_event.c, without building a tree) is
 * classified by its members: "event" (our markers: sequence_gap, reboot_counter_change),
 * "op_code" (a certificate-storage event: CloudHSM writes "timestamp" in epoch ms and "response"
 * "OK" on success), otherwise an audit entry in the schema of audit_format.c (usecs, sequence_no,
 * reboot_counter, opcode{name,code}, response{code,text,success}, user_name, user_type{name,code},
 * target_user_*, key handles, parse_error, hsm_id). Only the members the aggregation reads are
 * restored; `present` bits say which were there, as the parser's would. A JSON object that
 * matches none of these is "unreadable" (counted); text that is not one JSON object is audit
 * text.
 *
 * Files are read with read(2) in 1 MiB chunks; audit text goes through the incremental parser
 * unchanged (the fast path: no copy), NDJSON line by line through the scanner.
 */
#include "haf/report_input.h"

#include "report_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INPUT_READ_BYTES (1u << 20)
#define INPUT_LINE_MAX   (4u << 20)

struct text_ctx {
    struct report *r;
    struct span hsm;
    int64_t event_ms;
};

static int
on_text_entry(void *ctx, const struct haf_entry *e)
{
    struct text_ctx *t = ctx;

    report_add_entry(t->r, e, t->hsm, t->event_ms);
    return 0;
}

/* ---- JSON messages ---- */

/* A scanned JSON object: a marker, a certificate-storage event, or one of our entries. */
static void
feed_event(struct report *r, struct report_event *ev, struct span hsm, int64_t event_ms)
{
    if (ev->hsm_id.len > 0)
        hsm = ev->hsm_id;
    if (ev->has_event) {
        if (span_eq(ev->event, SPAN_LIT("sequence_gap")))
            report_add_gap_marker(r, hsm);
        else if (span_eq(ev->event, SPAN_LIT("reboot_counter_change")))
            report_add_reboot_marker(r, hsm);
        else
            report_add_unreadable(r);
        return;
    }
    if (ev->has_op_code) {
        report_add_cert_event(r, hsm, ev->has_timestamp ? (int64_t)ev->timestamp_ms : event_ms,
                              ev->op_code.p ? ev->op_code : SPAN_LIT("(certificate event)"),
                              span_eq(ev->response_str, SPAN_LIT("OK")));
        return;
    }
    if (ev->entry.present != 0 || ev->entry.parse_error != NULL)
        report_add_entry(r, &ev->entry, hsm, event_ms);
    else
        report_add_unreadable(r);
}

static enum haf_err
feed_message(struct report *r, struct buf *scratch, struct span hsm, int64_t event_ms,
             struct span msg)
{
    struct span t = span_trim(msg);
    struct text_ctx tc = {r, hsm, event_ms};
    struct report_event ev;

    if (t.len > 0 && t.p[0] == '{' && report_event_scan(t, scratch, &ev)) {
        feed_event(r, &ev, hsm, event_ms);
        return HAF_OK;
    }
    if (t.len == 0) {
        report_add_unreadable(r);
        return HAF_OK;
    }
    return audit_parse_text(msg.p, msg.len, on_text_entry, &tc);
}

enum haf_err
report_feed_message(struct report *r, struct span hsm, int64_t event_ms, struct span msg)
{
    struct buf scratch;
    enum haf_err e;

    buf_init(&scratch, 0);
    e = feed_message(r, &scratch, hsm, event_ms, msg);
    buf_clean_up(&scratch);
    return e;
}

/* ---- files ---- */

struct ndjson {
    struct report *r;
    struct span hsm;
    struct buf line;
    struct buf scratch; /* for the JSON scanner, reused line after line */
    bool skipping;      /* inside an over-long line */
};

static void
ndjson_line(struct ndjson *n, struct span line)
{
    line = span_trim(line);
    if (line.len == 0)
        return;
    if (feed_message(n->r, &n->scratch, n->hsm, 0, line) != HAF_OK)
        report_add_unreadable(n->r);
}

static enum haf_err
ndjson_feed(struct ndjson *n, const char *p, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(p, '\n', len);
        size_t k = nl ? (size_t)(nl - p) : len;

        if (!n->skipping && n->line.len == 0 && nl) {
            ndjson_line(n, span_make(p, k)); /* the whole line is in the chunk: no copy */
        } else if (!n->skipping) {
            enum haf_err e = buf_add(&n->line, p, k);
            if (e == HAF_ETOOLONG) {
                n->skipping = true;
                buf_reset(&n->line);
                report_add_unreadable(n->r);
            } else if (e != HAF_OK) {
                return e;
            } else if (nl) {
                ndjson_line(n, buf_span(&n->line));
                buf_reset(&n->line);
            }
        }
        if (nl == NULL)
            break;
        n->skipping = false;
        p = nl + 1;
        len -= k + 1;
    }
    return HAF_OK;
}

static enum haf_err
read_some(int fd, char *buf, size_t cap, size_t *got)
{
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n >= 0) {
            *got = (size_t)n;
            return HAF_OK;
        }
        if (errno != EINTR)
            return HAF_EIO;
    }
}

struct report_feeder {
    struct report *r;
    char *hsm;
    struct text_ctx tc;
    struct ndjson nd;
    struct audit_parser *p;
    int mode; /* 0 undecided, 1 audit text, 2 NDJSON */
};

struct report_feeder *
report_feeder_new(struct report *r, struct span hsm)
{
    struct report_feeder *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return NULL;
    f->hsm = strndup(hsm.p ? hsm.p : "", hsm.len);
    if (f->hsm == NULL) {
        free(f);
        return NULL;
    }
    f->r = r;
    f->tc = (struct text_ctx){r, span_make(f->hsm, hsm.len), 0};
    f->nd = (struct ndjson){.r = r, .hsm = f->tc.hsm};
    buf_init(&f->nd.line, INPUT_LINE_MAX);
    buf_init(&f->nd.scratch, 0);
    return f;
}

enum haf_err
report_feeder_add(struct report_feeder *f, const char *p, size_t len)
{
    if (f->mode == 0) {
        struct span t = span_trim(span_make(p, len));
        if (t.len == 0)
            return HAF_OK;
        f->mode = t.p[0] == '{' ? 2 : 1;
        if (f->mode == 1 && (f->p = audit_parser_new(NULL)) == NULL)
            return HAF_ENOMEM;
    }
    if (f->mode == 2)
        return ndjson_feed(&f->nd, p, len);
    return audit_parser_feed(f->p, p, len, NULL, on_text_entry, &f->tc);
}

enum haf_err
report_feeder_end(struct report_feeder *f)
{
    enum haf_err e = HAF_OK;

    if (f == NULL)
        return HAF_OK;
    if (f->mode == 1)
        e = audit_parser_flush(f->p, on_text_entry, &f->tc);
    if (f->mode == 2 && f->nd.line.len > 0 && !f->nd.skipping)
        ndjson_line(&f->nd, buf_span(&f->nd.line));
    audit_parser_free(f->p);
    buf_clean_up(&f->nd.line);
    buf_clean_up(&f->nd.scratch);
    free(f->hsm);
    free(f);
    return e;
}

enum haf_err
report_feed_fd(struct report *r, int fd, struct span hsm)
{
    struct report_feeder *f = report_feeder_new(r, hsm);
    char *chunk = malloc(INPUT_READ_BYTES);
    enum haf_err e = HAF_OK, e2;
    size_t got = 0;

    if (f == NULL || chunk == NULL) {
        free(chunk);
        if (f != NULL && report_feeder_end(f) != HAF_OK)
            return HAF_ENOMEM; /* nothing was fed: ending cannot fail otherwise */
        return HAF_ENOMEM;
    }
    while ((e = read_some(fd, chunk, INPUT_READ_BYTES, &got)) == HAF_OK && got > 0)
        if ((e = report_feeder_add(f, chunk, got)) != HAF_OK)
            break;
    e2 = report_feeder_end(f);
    free(chunk);
    return e != HAF_OK ? e : e2;
}

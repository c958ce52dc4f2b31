/*
 * report_input.c: messages and files into the report aggregation (see report_input.h).
 *
 * A JSON message is classified by its members: "event" (our markers: sequence_gap,
 * reboot_counter_change), "op_code" (a certificate-storage event: CloudHSM writes "timestamp" in
 * epoch ms and "response" "OK" on success), otherwise an audit entry in the schema of
 * audit_format.c (time/usecs, sequence_no, reboot_counter, opcode{name,code}, response{code,text,
 * success}, user_name, user_type{name,code}, target_user_*, key handles, parse_error, hsm_id).
 * Only the members the aggregation reads are restored; `present` bits say which were there, as
 * the parser's would. A JSON object that matches none of these is "unreadable" (counted).
 *
 * Files are read with read(2) in 1 MiB chunks; audit text goes through the incremental parser
 * unchanged (the fast path: no copy, no JSON), NDJSON line by line through jansson.
 */
#include "haf/report_input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

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

/* ---- JSON members ---- */

static struct span
jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_string(v) ? span_make(json_string_value(v), json_string_length(v)) : SPAN_NULL;
}

static bool
ju64(const json_t *o, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool
jnamed(const json_t *o, const char *key, struct haf_named_code *out)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_object(v))
        return false;
    out->name = jstr(v, "name");
    if (!ju64(v, "code", &out->code))
        out->code = 0;
    return out->name.p != NULL || json_object_get(v, "code") != NULL;
}

static void
span_field(const json_t *o, const char *key, struct span *dst, uint32_t bit, uint32_t *present)
{
    struct span s = jstr(o, key);

    if (s.p) {
        *dst = s;
        *present |= bit;
    }
}

static void
u64_field(const json_t *o, const char *key, uint64_t *dst, uint32_t bit, uint32_t *present)
{
    if (ju64(o, key, dst))
        *present |= bit;
}

/* Our event object back into an entry; false when it has none of an entry's members. */
static bool
entry_from_json(const json_t *o, struct haf_entry *e)
{
    const json_t *resp = json_object_get(o, "response");

    memset(e, 0, sizeof(*e));
    u64_field(o, "usecs", &e->usecs, HAF_F_TIME, &e->present);
    u64_field(o, "sequence_no", &e->sequence_no, HAF_F_SEQUENCE_NO, &e->present);
    u64_field(o, "reboot_counter", &e->reboot_counter, HAF_F_REBOOT_COUNTER, &e->present);
    u64_field(o, "session_handle", &e->session_handle, HAF_F_SESSION_HANDLE, &e->present);
    if (jnamed(o, "command_type", &e->command_type))
        e->present |= HAF_F_COMMAND_TYPE;
    if (jnamed(o, "opcode", &e->opcode))
        e->present |= HAF_F_OPCODE;
    if (jnamed(o, "log_type", &e->log_type))
        e->present |= HAF_F_LOG_TYPE;
    if (jnamed(o, "user_type", &e->user_type))
        e->present |= HAF_F_USER_TYPE;
    if (jnamed(o, "target_user_type", &e->target_user_type))
        e->present |= HAF_F_TARGET_USER_TYPE;
    if (json_is_object(resp)) {
        e->present |= HAF_F_RESPONSE;
        (void)ju64(resp, "code", &e->response_code);
        e->response_text = jstr(resp, "text");
        e->response_success = json_is_true(json_object_get(resp, "success"));
    }
    span_field(o, "user_name", &e->user_name, HAF_F_USER_NAME, &e->present);
    span_field(o, "target_user_name", &e->target_user_name, HAF_F_TARGET_USER_NAME, &e->present);
    u64_field(o, "priv_secret_key_handle", &e->priv_secret_key_handle, HAF_F_PRIV_SECRET_KEY_HANDLE,
              &e->present);
    u64_field(o, "public_key_handle", &e->public_key_handle, HAF_F_PUBLIC_KEY_HANDLE, &e->present);
    u64_field(o, "key_handle", &e->key_handle, HAF_F_KEY_HANDLE, &e->present);
    if (json_is_string(json_object_get(o, "parse_error")))
        e->parse_error = json_string_value(json_object_get(o, "parse_error"));
    e->raw = jstr(o, "raw");
    return e->present != 0 || e->parse_error != NULL;
}

/* A parsed JSON object. */
static void
feed_json(struct report *r, const json_t *o, struct span hsm, int64_t event_ms)
{
    struct span kind = jstr(o, "event");
    struct span id = jstr(o, "hsm_id");
    struct haf_entry e;
    uint64_t ts = 0;

    if (id.p && id.len > 0)
        hsm = id;
    if (kind.p) {
        if (span_eq(kind, SPAN_LIT("sequence_gap")))
            report_add_gap_marker(r, hsm);
        else if (span_eq(kind, SPAN_LIT("reboot_counter_change")))
            report_add_reboot_marker(r, hsm);
        else
            report_add_unreadable(r);
        return;
    }
    if (json_object_get(o, "op_code") != NULL) {
        struct span op = jstr(o, "op_code");
        (void)ju64(o, "timestamp", &ts);
        report_add_cert_event(r, hsm, ts ? (int64_t)ts : event_ms,
                              op.p ? op : SPAN_LIT("(certificate event)"),
                              span_eq(jstr(o, "response"), SPAN_LIT("OK")));
        return;
    }
    if (entry_from_json(o, &e))
        report_add_entry(r, &e, hsm, event_ms);
    else
        report_add_unreadable(r);
}

enum haf_err
report_feed_message(struct report *r, struct span hsm, int64_t event_ms, struct span msg)
{
    struct span t = span_trim(msg);
    struct text_ctx tc = {r, hsm, event_ms};

    if (t.len > 0 && t.p[0] == '{') {
        json_error_t jerr;
        json_t *o = json_loadb(t.p, t.len, JSON_ALLOW_NUL, &jerr);
        if (json_is_object(o)) {
            feed_json(r, o, hsm, event_ms);
            json_decref(o);
            return HAF_OK;
        }
        json_decref(o);
    }
    if (t.len == 0) {
        report_add_unreadable(r);
        return HAF_OK;
    }
    return audit_parse_text(msg.p, msg.len, on_text_entry, &tc);
}

/* ---- files ---- */

struct ndjson {
    struct report *r;
    struct span hsm;
    struct buf line;
    bool skipping; /* inside an over-long line */
};

static void
ndjson_line(struct ndjson *n, struct span line)
{
    line = span_trim(line);
    if (line.len == 0)
        return;
    if (report_feed_message(n->r, n->hsm, 0, line) != HAF_OK)
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

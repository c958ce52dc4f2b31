/*
 * cert_event.c: certificate-storage events (contracts in cert_event.h; format and sources in
 * docs/audit-format.md).
 *
 * Why not jansson: jansson reads integers as json_int_t (int64) and refuses larger ones, and with
 * JSON_DECODE_INT_AS_REAL it rounds them through a double; object_handle values are 64-bit
 * handles (the documentation's own example is 463180677312929947 > 2^53). The objects are small
 * and flat, so a strict recursive-descent reader over a bounds-checked cursor is short: every
 * value is validated per RFC 8259 (strings: escapes and no raw control characters; numbers: the
 * grammar; nesting capped), and the members we need are taken as spans of the text.
 *
 * Input is already valid UTF-8 (the audit parser sanitised it), so strings are not re-checked
 * for encoding here; the fuzz target feeds raw bytes and relies only on memory safety.
 */
#include "haf/cert_event.h"

#define CERT_MAX_DEPTH 64

size_t
cert_json_string_end(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return n;
}

void
cert_json_track_line(struct cert_json_track *t, const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && !t->closed) {
        switch (s[i]) {
        case '"':
            i = cert_json_string_end(s, n, i);
            continue;
        case '{':
        case '[':
            t->opened = true;
            t->depth++;
            break;
        case '}':
        case ']':
            if (t->depth > 0)
                t->depth--;
            if (t->depth == 0 && t->opened)
                t->closed = true;
            break;
        default:
            break;
        }
        i++;
    }
}

/* ---- the reader ---- */

struct cur {
    const char *p, *end;
    const char *why;
};

static bool
fail(struct cur *c, const char *why)
{
    if (c->why == NULL)
        c->why = why;
    return false;
}

static void
skip_ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool
is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* A string at c->p ('"'); *body receives its contents (escapes kept). */
static bool
read_string(struct cur *c, struct span *body)
{
    const char *start;

    if (c->p >= c->end || *c->p != '"')
        return fail(c, "invalid JSON: string expected");
    start = ++c->p;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            *body = span_make(start, (size_t)(c->p - start));
            c->p++;
            return true;
        }
        if (ch < 0x20)
            return fail(c, "invalid JSON: control character in a string");
        if (ch == '\\') {
            if (c->end - c->p < 2)
                break;
            switch (c->p[1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                c->p += 2;
                continue;
            case 'u':
                if (c->end - c->p < 6 || !is_hex(c->p[2]) || !is_hex(c->p[3]) || !is_hex(c->p[4]) ||
                    !is_hex(c->p[5]))
                    return fail(c, "invalid JSON: bad \\u escape");
                c->p += 6;
                continue;
            default:
                return fail(c, "invalid JSON: bad escape");
            }
        }
        c->p++;
    }
    return fail(c, "invalid JSON: unterminated string");
}

static bool
is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* A number per the RFC 8259 grammar. */
static bool
read_number(struct cur *c)
{
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p >= c->end || !is_digit(*c->p))
        return fail(c, "invalid JSON: bad number");
    if (*c->p == '0')
        c->p++;
    else
        while (c->p < c->end && is_digit(*c->p))
            c->p++;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (c->p >= c->end || !is_digit(*c->p))
            return fail(c, "invalid JSON: bad number");
        while (c->p < c->end && is_digit(*c->p))
            c->p++;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (c->p >= c->end || !is_digit(*c->p))
            return fail(c, "invalid JSON: bad number");
        while (c->p < c->end && is_digit(*c->p))
            c->p++;
    }
    return true;
}

static bool
read_literal(struct cur *c, struct span lit)
{
    if ((size_t)(c->end - c->p) < lit.len || memcmp(c->p, lit.p, lit.len) != 0)
        return fail(c, "invalid JSON");
    c->p += lit.len;
    return true;
}

static bool read_value(struct cur *c, unsigned depth);

/* '[' or '{' already current. */
static bool
read_container(struct cur *c, unsigned depth)
{
    bool obj = *c->p == '{';
    char close = obj ? '}' : ']';

    if (depth >= CERT_MAX_DEPTH)
        return fail(c, "JSON nested too deeply");
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return true;
    }
    for (;;) {
        if (obj) {
            struct span key;
            if (!read_string(c, &key))
                return false;
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':')
                return fail(c, "invalid JSON: ':' expected");
            c->p++;
        }
        if (!read_value(c, depth + 1))
            return false;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            skip_ws(c);
            continue;
        }
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return true;
        }
        return fail(c, "invalid JSON: ',' or end of container expected");
    }
}

static bool
read_value(struct cur *c, unsigned depth)
{
    struct span s;

    skip_ws(c);
    if (c->p >= c->end)
        return fail(c, "invalid JSON: value expected");
    switch (*c->p) {
    case '"':
        return read_string(c, &s);
    case '{':
    case '[':
        return read_container(c, depth);
    case 't':
        return read_literal(c, SPAN_LIT("true"));
    case 'f':
        return read_literal(c, SPAN_LIT("false"));
    case 'n':
        return read_literal(c, SPAN_LIT("null"));
    default:
        if (*c->p != '-' && !is_digit(*c->p))
            return fail(c, "invalid JSON: value expected");
        return read_number(c);
    }
}

/* A value that must be a plain unsigned integer (no sign, fraction or exponent) up to max. */
static bool
unsigned_value(struct span v, uint64_t max, uint64_t *out)
{
    uint64_t n;

    if (v.len > 1 && v.p[0] == '0')
        return false;
    if (!span_to_u64_dec(v, &n) || n > max)
        return false;
    *out = n;
    return true;
}

/* One member of the top object: known keys into out, others into extra. */
static bool
take_member(struct cur *c, struct span key, struct span val, bool is_string, struct span body,
            struct haf_cert_event *out)
{
    uint32_t bit = 0;

    if (span_eq(key, SPAN_LIT("object_handle"))) {
        bit = CERT_F_OBJECT_HANDLE;
        if (out->present & bit)
            return fail(c, "duplicate object_handle");
        if (span_eq(val, SPAN_LIT("null")))
            out->object_handle_null = true;
        else if (!unsigned_value(val, UINT64_MAX, &out->object_handle))
            return fail(c, "object_handle is not an unsigned 64-bit integer");
    } else if (span_eq(key, SPAN_LIT("op_code")) || span_eq(key, SPAN_LIT("response"))) {
        bool op = key.p[0] == 'o';
        bit = op ? CERT_F_OP_CODE : CERT_F_RESPONSE;
        if (out->present & bit)
            return fail(c, op ? "duplicate op_code" : "duplicate response");
        if (!is_string)
            return fail(c, op ? "op_code is not a string" : "response is not a string");
        if (op)
            out->op_code = body;
        else
            out->response = body;
    } else if (span_eq(key, SPAN_LIT("attributes"))) {
        bit = CERT_F_ATTRIBUTES;
        if (out->present & bit)
            return fail(c, "duplicate attributes");
        out->attributes = val;
    } else if (span_eq(key, SPAN_LIT("timestamp"))) {
        bit = CERT_F_TIMESTAMP;
        if (out->present & bit)
            return fail(c, "duplicate timestamp");
        if (!unsigned_value(val, INT64_MAX, &out->timestamp_ms))
            return fail(c, "timestamp is not an integer of milliseconds");
    } else {
        /* Kept members go into one JSON object of ours: their names must be unique there, also
         * once decoded, so a name with escapes or a repeated name is refused (flagged, raw kept).
         */
        for (size_t i = 0; i < key.len; i++) {
            if (key.p[i] == '\\')
                return fail(c, "unknown member name with escapes");
        }
        for (size_t i = 0; i < out->n_extra; i++) {
            if (span_eq(out->extra[i].key, key))
                return fail(c, "duplicate member");
        }
        if (out->n_extra == CERT_EVENT_MAX_EXTRA)
            return fail(c, "too many unknown members");
        out->extra[out->n_extra].key = key;
        out->extra[out->n_extra].value = val;
        out->n_extra++;
        return true;
    }
    out->present |= bit;
    return true;
}

enum haf_err
cert_event_parse(struct span text, struct haf_cert_event *out, const char **why)
{
    struct cur c = {.p = text.p, .end = text.p + text.len, .why = NULL};

    memset(out, 0, sizeof(*out));
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{') {
        fail(&c, "not a JSON object");
        goto out;
    }
    c.p++;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
    } else {
        for (;;) {
            struct span key, val, body = SPAN_NULL;
            const char *vstart;
            bool is_string;

            if (!read_string(&c, &key))
                goto out;
            skip_ws(&c);
            if (c.p >= c.end || *c.p != ':') {
                fail(&c, "invalid JSON: ':' expected");
                goto out;
            }
            c.p++;
            skip_ws(&c);
            vstart = c.p;
            is_string = c.p < c.end && *c.p == '"';
            if (is_string ? !read_string(&c, &body) : !read_value(&c, 1))
                goto out;
            val = span_make(vstart, (size_t)(c.p - vstart));
            if (!take_member(&c, key, val, is_string, body, out))
                goto out;
            skip_ws(&c);
            if (c.p < c.end && *c.p == ',') {
                c.p++;
                skip_ws(&c);
                continue;
            }
            if (c.p < c.end && *c.p == '}') {
                c.p++;
                break;
            }
            fail(&c, "invalid JSON: ',' or '}' expected");
            goto out;
        }
    }
    skip_ws(&c);
    if (c.p != c.end)
        fail(&c, "text after the JSON object");
    else if (!(out->present & CERT_F_OP_CODE))
        fail(&c, "missing op_code");
    else if (!(out->present & CERT_F_RESPONSE))
        fail(&c, "missing response");
    else if (!(out->present & CERT_F_TIMESTAMP))
        fail(&c, "missing timestamp");
out:
    if (c.why != NULL) {
        *why = c.why;
        return HAF_EPARSE;
    }
    return HAF_OK;
}

/*
 * report_event.c: one JSON event message (ours, a marker, a certificate-storage event) read back
 * into what the report needs, without building a tree (see report_event.h).
 *
 * Why not jansson: a report over our own JSON events reads one object per entry, and jansson
 * builds a hash table per object and per nested object: about 90,000 events per CPU-second,
 * twenty times slower than the audit-text path. This scanner walks the text once, decodes only
 * the strings it keeps (into one scratch buffer reserved up front, so the spans into it never
 * move), and skips every other value. It accepts exactly RFC 8259 JSON (one value, whitespace
 * around it, nesting up to REPORT_EVENT_MAX_DEPTH); anything else is "not JSON" and the caller
 * falls back to audit text. A repeated member keeps its last value of the expected type. Numbers
 * are read from their digits: a member is an integer only when it is a non-negative integer literal
 * up to UINT64_MAX (a fraction, exponent or sign leaves the field absent). Strings: escapes are
 * decoded; \u0000 is kept (spans carry lengths); a lone surrogate becomes U+FFFD; raw bytes are
 * not re-validated here (the aggregation stores every name as valid UTF-8).
 */
#include "report_internal.h"

#include <string.h>

#include "haf/utf8.h"

#define REPORT_EVENT_MAX_DEPTH 64

/* An ASCII digit. Compared as a char: "(unsigned char)c - '0' <= 9" is int arithmetic, where
 * ',' is -4 and passes. */
static inline bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

struct scan {
    const char *p;
    const char *end;
    struct buf *scratch; /* reserved to the message length: appends never move it */
    int depth;
};

static void
ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool
lit(struct scan *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return false;
    s->p += n;
    return true;
}

static int
hex4(const char *p)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        int d = span_hex_digit((unsigned char)p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static void
put_utf8(struct buf *b, uint32_t cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    memcpy(b->p + b->len, u, n); /* room reserved: decoded text never outgrows the input */
    b->len += n;
}

/* A \uXXXX escape (and its low surrogate) at s->p (just past the backslash and 'u'). */
static bool
unicode_escape(struct scan *s, uint32_t *cp)
{
    int hi, lo;

    if (s->end - s->p < 4 || (hi = hex4(s->p)) < 0)
        return false;
    s->p += 4;
    *cp = (uint32_t)hi;
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        if (s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u' &&
            (lo = hex4(s->p + 2)) >= 0xDC00 && lo <= 0xDFFF) {
            s->p += 6;
            *cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
        } else {
            *cp = 0xFFFD;
        }
    } else if (hi >= 0xDC00 && hi <= 0xDFFF) {
        *cp = 0xFFFD;
    }
    return true;
}

/* A string at s->p ('"'). keep: decode it into the scratch buffer and return it in *out. */
static bool
string(struct scan *s, bool keep, struct span *out)
{
    size_t start = s->scratch->len;

    if (s->p >= s->end || *s->p != '"')
        return false;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        const char *run = s->p;
        if (c == '"') {
            s->p++;
            if (keep)
                *out = span_make(s->scratch->p + start, s->scratch->len - start);
            return true;
        }
        if (c < 0x20)
            return false;
        if (c != '\\') {
            while (s->p < s->end && *s->p != '"' && *s->p != '\\' && (unsigned char)*s->p >= 0x20)
                s->p++;
            if (keep) {
                memcpy(s->scratch->p + s->scratch->len, run, (size_t)(s->p - run));
                s->scratch->len += (size_t)(s->p - run);
            }
            continue;
        }
        if (++s->p >= s->end)
            return false;
        c = (unsigned char)*s->p++;
        uint32_t cp;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            cp = c;
            break;
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u':
            if (!unicode_escape(s, &cp))
                return false;
            break;
        default:
            return false;
        }
        if (keep)
            put_utf8(s->scratch, cp);
    }
    return false;
}

/* A number; *is_u64 when it is a non-negative integer literal that fits in 64 bits. */
static bool
number(struct scan *s, bool *is_u64, uint64_t *v)
{
    const char *start = s->p;
    bool integer = true;

    if (s->p < s->end && *s->p == '-') {
        s->p++;
        integer = false;
    }
    if (s->p >= s->end || !is_digit(*s->p))
        return false;
    if (*s->p == '0' && s->end - s->p > 1 && is_digit(s->p[1]))
        return false; /* no leading zeros */
    while (s->p < s->end && is_digit(*s->p))
        s->p++;
    if (s->p < s->end && *s->p == '.') {
        integer = false;
        if (++s->p >= s->end || !is_digit(*s->p))
            return false;
        while (s->p < s->end && is_digit(*s->p))
            s->p++;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        integer = false;
        if (++s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (s->p >= s->end || !is_digit(*s->p))
            return false;
        while (s->p < s->end && is_digit(*s->p))
            s->p++;
    }
    *is_u64 = integer && span_to_u64_dec(span_make(start, (size_t)(s->p - start)), v);
    return true;
}

static bool value(struct scan *s);

/* Walk an object at s->p ('{'), calling member() for each key with s->p at its value; member
 * must consume the value (or return false). */
typedef bool (*member_fn)(struct scan *s, struct span key, void *ctx);

static bool
object(struct scan *s, member_fn member, void *ctx)
{
    struct span key;

    if (++s->depth > REPORT_EVENT_MAX_DEPTH)
        return false;
    s->p++; /* '{' */
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        ws(s);
        if (!string(s, true, &key))
            return false;
        ws(s);
        if (s->p >= s->end || *s->p++ != ':')
            return false;
        ws(s);
        if (!(member ? member(s, key, ctx) : value(s)))
            return false;
        ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            s->depth--;
            return true;
        }
        return false;
    }
}

static bool
array(struct scan *s)
{
    if (++s->depth > REPORT_EVENT_MAX_DEPTH)
        return false;
    s->p++; /* '[' */
    ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        ws(s);
        if (!value(s))
            return false;
        ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            s->depth--;
            return true;
        }
        return false;
    }
}

/* Skip any value. */
static bool
value(struct scan *s)
{
    bool is_u64;
    uint64_t v;

    if (s->p >= s->end)
        return false;
    switch (*s->p) {
    case '{':
        return object(s, NULL, NULL);
    case '[':
        return array(s);
    case '"':
        return string(s, false, NULL);
    case 't':
        return lit(s, "true", 4);
    case 'f':
        return lit(s, "false", 5);
    case 'n':
        return lit(s, "null", 4);
    default:
        return number(s, &is_u64, &v);
    }
}

/* ---- the members we keep ---- */

static bool
key_is(struct span key, const char *name)
{
    return span_eq(key, span_cstr(name));
}

/* A string member: kept when it is a string, skipped (absent) otherwise. */
static bool
str_member(struct scan *s, struct span *dst, bool *present)
{
    if (s->p < s->end && *s->p == '"') {
        if (!string(s, true, dst))
            return false;
        if (present)
            *present = true;
        return true;
    }
    return value(s);
}

static bool
u64_member(struct scan *s, uint64_t *dst, uint32_t bit, uint32_t *present)
{
    bool is_u64 = false;
    uint64_t v;

    if (s->p < s->end && (*s->p == '-' || is_digit(*s->p))) {
        if (!number(s, &is_u64, &v))
            return false;
        if (is_u64) {
            *dst = v;
            *present |= bit;
        }
        return true;
    }
    return value(s);
}

struct named_ctx {
    struct haf_named_code *nc;
    bool any;
};

static bool
named_member(struct scan *s, struct span key, void *ctx)
{
    struct named_ctx *n = ctx;
    uint32_t dummy = 0;

    if (key_is(key, "name")) {
        n->any = true;
        n->nc->name = SPAN_NULL;
        return str_member(s, &n->nc->name, NULL);
    }
    if (key_is(key, "code")) {
        n->any = true;
        n->nc->code = 0;
        return u64_member(s, &n->nc->code, 1, &dummy);
    }
    return value(s);
}

/* {"name": "...", "code": n}: present when it is an object with either member. */
static bool
named(struct scan *s, struct haf_named_code *nc, uint32_t bit, uint32_t *present)
{
    struct named_ctx n = {nc, false};

    if (s->p >= s->end || *s->p != '{')
        return value(s);
    *nc = (struct haf_named_code){SPAN_NULL, 0};
    if (!object(s, named_member, &n))
        return false;
    if (n.any)
        *present |= bit;
    else
        *present &= ~bit;
    return true;
}

static bool
response_member(struct scan *s, struct span key, void *ctx)
{
    struct report_event *ev = ctx;
    uint32_t dummy = 0;

    if (key_is(key, "code"))
        return u64_member(s, &ev->entry.response_code, 1, &dummy);
    if (key_is(key, "text"))
        return str_member(s, &ev->entry.response_text, NULL);
    if (key_is(key, "success")) {
        ev->entry.response_success = lit(s, "true", 4);
        return ev->entry.response_success || value(s);
    }
    return value(s);
}

static bool
top_member(struct scan *s, struct span key, void *ctx)
{
    struct report_event *ev = ctx;
    struct haf_entry *e = &ev->entry;

    if (key.len == 0)
        return value(s);
    switch (key.p[0]) {
    case 'c':
        if (key_is(key, "command_type"))
            return named(s, &e->command_type, HAF_F_COMMAND_TYPE, &e->present);
        break;
    case 'e':
        if (key_is(key, "event"))
            return str_member(s, &ev->event, &ev->has_event);
        break;
    case 'h':
        if (key_is(key, "hsm_id"))
            return str_member(s, &ev->hsm_id, NULL);
        break;
    case 'k':
        if (key_is(key, "key_handle"))
            return u64_member(s, &e->key_handle, HAF_F_KEY_HANDLE, &e->present);
        break;
    case 'l':
        if (key_is(key, "log_type"))
            return named(s, &e->log_type, HAF_F_LOG_TYPE, &e->present);
        break;
    case 'o':
        if (key_is(key, "opcode"))
            return named(s, &e->opcode, HAF_F_OPCODE, &e->present);
        if (key_is(key, "op_code")) {
            ev->has_op_code = true;
            ev->op_code = SPAN_NULL;
            return str_member(s, &ev->op_code, NULL);
        }
        break;
    case 'p':
        if (key_is(key, "parse_error"))
            return str_member(s, &ev->parse_error, &ev->has_parse_error);
        if (key_is(key, "priv_secret_key_handle"))
            return u64_member(s, &e->priv_secret_key_handle, HAF_F_PRIV_SECRET_KEY_HANDLE,
                              &e->present);
        if (key_is(key, "public_key_handle"))
            return u64_member(s, &e->public_key_handle, HAF_F_PUBLIC_KEY_HANDLE, &e->present);
        break;
    case 'r':
        if (key_is(key, "reboot_counter"))
            return u64_member(s, &e->reboot_counter, HAF_F_REBOOT_COUNTER, &e->present);
        if (key_is(key, "raw"))
            return str_member(s, &e->raw, NULL);
        if (key_is(key, "response")) {
            if (s->p < s->end && *s->p == '{') {
                e->present |= HAF_F_RESPONSE;
                e->response_code = 0;
                e->response_text = SPAN_NULL;
                e->response_success = false;
                return object(s, response_member, ev);
            }
            ev->response_str = SPAN_NULL;
            e->present &= ~HAF_F_RESPONSE;
            return str_member(s, &ev->response_str, NULL);
        }
        break;
    case 's':
        if (key_is(key, "sequence_no"))
            return u64_member(s, &e->sequence_no, HAF_F_SEQUENCE_NO, &e->present);
        if (key_is(key, "session_handle"))
            return u64_member(s, &e->session_handle, HAF_F_SESSION_HANDLE, &e->present);
        break;
    case 't':
        if (key_is(key, "timestamp")) {
            uint32_t got = 0;
            bool ok = u64_member(s, &ev->timestamp_ms, 1, &got);
            ev->has_timestamp = got != 0;
            return ok;
        }
        if (key_is(key, "target_user_name"))
            return str_member(s, &e->target_user_name, NULL) &&
                   ((e->present |= e->target_user_name.p ? HAF_F_TARGET_USER_NAME : 0), true);
        if (key_is(key, "target_user_type"))
            return named(s, &e->target_user_type, HAF_F_TARGET_USER_TYPE, &e->present);
        break;
    case 'u':
        if (key_is(key, "usecs"))
            return u64_member(s, &e->usecs, HAF_F_TIME, &e->present);
        if (key_is(key, "user_name"))
            return str_member(s, &e->user_name, NULL) &&
                   ((e->present |= e->user_name.p ? HAF_F_USER_NAME : 0), true);
        if (key_is(key, "user_type"))
            return named(s, &e->user_type, HAF_F_USER_TYPE, &e->present);
        break;
    default:
        break;
    }
    return value(s);
}

bool
report_event_scan(struct span msg, struct buf *scratch, struct report_event *ev)
{
    struct scan s = {msg.p, msg.p + msg.len, scratch, 0};

    memset(ev, 0, sizeof(*ev));
    buf_reset(scratch);
    /* Keys and kept strings decode to at most the input's length; the parse_error copy to as much
     * again. */
    if (msg.len == 0 || buf_reserve(scratch, 2 * msg.len + 2) != HAF_OK)
        return false;
    ws(&s);
    if (s.p >= s.end || *s.p != '{' || !object(&s, top_member, ev))
        return false;
    ws(&s);
    if (s.p != s.end)
        return false;
    if (ev->has_parse_error) {
        /* parse_error is a C string for the aggregation: NUL-terminate a copy in the scratch. */
        if (memchr(ev->parse_error.p, '\0', ev->parse_error.len) != NULL)
            ev->entry.parse_error = "(parse error)";
        else if (scratch->len + ev->parse_error.len + 1 <= scratch->cap) {
            char *c = scratch->p + scratch->len;
            memcpy(c, ev->parse_error.p, ev->parse_error.len);
            c[ev->parse_error.len] = '\0';
            scratch->len += ev->parse_error.len + 1;
            ev->entry.parse_error = c;
        } else {
            ev->entry.parse_error = "(parse error)";
        }
    }
    return true;
}

/*
 * audit_format.c: one parsed audit entry to one CloudWatch event message, `json` or `raw`.
 *
 * json is the object of DESIGN.md "Event message", written in this order (optional members only
 * when the entry has them):
 *   time ("2018-01-24T17:44:25.013218Z", ISO-8601 UTC derived from usecs), usecs,
 *   time_mismatch (true when the human time disagrees with usecs), export_time (the CloudWatch
 *   export prefix, a string), sequence_no, reboot_counter, command_type {name,code}, opcode
 *   {name,code,category} (category from the opcode catalogue, opcodes.h), session_handle, response
 * {code,text,success}, log_type {name,code}, version_no (string), user_id (string), user_name
 * (string), user_type {name,code}, priv_secret_key_handle, public_key_handle, key_handle,
 *   local_time {"time":"04/30/22 20:13:18.189504","usecs":1650658398189504}, host_time (same
 *   shape: the human text verbatim, usec as a number), propagation_delay {"usecs":39},
 *   mechanism, target_user_name (string), target_user_type {name,code}, target_user_id (string),
 *   mfa_enabled (string, verbatim), operation {name,code}, number_of_users, user_ids (string),
 *   extra {label: value, ...} (a label repeated among the extras gets "#2", "#3"... appended so
 *   the object has unique keys and nothing is lost), parse_error and raw (only when flagged),
 *   host, source, hsm_id (from struct audit_format_ctx), reclocked (true, when the ctx says so).
 * Every number is a JSON integer printed exactly by us, so values above 2^53 are not rounded.
 *
 * Why hand-rolled instead of jansson: this runs once per shipped entry (over a million a second in
 * `parse`); building a json_t tree allocates per member and dumps through a generic path, several
 * times slower than appending into one struct buf. The output is checked with jansson in the fuzz
 * targets and unit tests instead.
 *
 * Invariants: output is always valid UTF-8 and valid JSON, whatever the entry holds (strings from
 * the ctx, such as a file path, may hold invalid UTF-8: it becomes U+FFFD); strings are escaped by
 * the one escaper of json_write.h (\b \f \n \r \t, others \u00XX); out grows only by exact amounts,
 * so a capped out fails only when the message really does not fit, and on failure out is restored
 * to its old length.
 */
#include "haf/audit.h"
#include "haf/json_write.h"
#include "haf/opcodes.h"
#include "haf/utf8.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/*
 * An appender over struct buf through a cursor: `o` is where the next byte goes and `end` is
 * b->p + b->cap, so a room check is one compare of two registers and a write is a store through
 * `o` (b->len is written back only when the buffer is handed to a function, and at the end).
 * `err` sticks at the first failure, which also empties the room (end = o), so call sites stay
 * flat and every later check takes the slow path that sees it.
 */
struct jw {
    struct buf *b;
    char *o;
    char *end;
    enum haf_err err;
};

/* (Re)loads the cursor from the buffer: at the start, and after a function appended to it. The
 * room ends at the capacity, or at the cap when the buffer has one below it (the capacity may
 * pass `max` by doubling), so a write past `max` always goes to buf_reserve, which refuses it. */
static inline void
jw_reload(struct jw *w)
{
    const struct buf *b = w->b;
    size_t lim = b->cap;

    if (b->max != 0 && b->max < SIZE_MAX && b->max + 1 < lim)
        lim = b->max + 1;
    w->o = b->p ? b->p + b->len : NULL;
    w->end = w->err == HAF_OK && b->p ? b->p + lim : w->o;
}

static inline void
jw_init(struct jw *w, struct buf *b)
{
    w->b = b;
    w->err = HAF_OK;
    jw_reload(w);
}

/* Writes the cursor back to b->len (before the buffer is used by anything else). */
static inline void
jw_sync(struct jw *w)
{
    if (w->o != NULL)
        w->b->len = (size_t)(w->o - w->b->p);
}

/* Bytes in the buffer, the cursor's included. */
static inline size_t
jw_len(const struct jw *w)
{
    return w->o != NULL ? (size_t)(w->o - w->b->p) : w->b->len;
}

/* Ends the writing: the buffer gets its length and NUL back, or on failure its old length. */
static enum haf_err
jw_finish(struct jw *w, size_t old_len)
{
    jw_sync(w);
    if (w->err != HAF_OK)
        w->b->len = old_len;
    if (w->b->p)
        w->b->p[w->b->len] = '\0';
    return w->err;
}

/* The slow side of jw_room: grows the buffer for n more bytes (buf_reserve: it may move), or
 * keeps the first error. Out of line so every inlined room check stays two instructions. */
static __attribute__((noinline)) bool
jw_grow(struct jw *w, size_t n)
{
    if (w->err != HAF_OK)
        return false;
    jw_sync(w);
    w->err = buf_reserve(w->b, n);
    jw_reload(w);
    return w->err == HAF_OK;
}

static inline bool
jw_room(struct jw *w, size_t n)
{
    /* cap counts the NUL, so '>' keeps room for it (the same test as cap - len > n); compared
     * as integers: o and end are both NULL before the buffer has memory (no room then). */
    if (__builtin_expect((uintptr_t)w->end - (uintptr_t)w->o > n, 1))
        return true;
    return jw_grow(w, n);
}

static inline __attribute__((always_inline)) void
jw_raw(struct jw *w, const char *s, size_t n)
{
    if (!jw_room(w, n))
        return;
    memcpy(w->o, s, n);
    w->o += n;
}

#define JW_LIT(w, lit) jw_raw((w), (lit), sizeof(lit) - 1)

static const char dec2[] = "00010203040506070809101112131415161718192021222324252627282930313233"
                           "34353637383940414243444546474849505152535455565758596061626364656667"
                           "6869707172737475767778798081828384858687888990919293949596979899";

/* Decimal digits of v (1 for 0): log2 from the bit length, one table compare to settle it. */
static inline unsigned
u64_digits(uint64_t v)
{
    static const uint64_t pow10[20] = {
        1ull,
        10ull,
        100ull,
        1000ull,
        10000ull,
        100000ull,
        1000000ull,
        10000000ull,
        100000000ull,
        1000000000ull,
        10000000000ull,
        100000000000ull,
        1000000000000ull,
        10000000000000ull,
        100000000000000ull,
        1000000000000000ull,
        10000000000000000ull,
        100000000000000000ull,
        1000000000000000000ull,
        10000000000000000000ull,
    };
    /* v | 1 has the digits of v (a power of ten is even) and a bit length >= 1. */
    unsigned t = ((64u - (unsigned)__builtin_clzll(v | 1)) * 1233u) >> 12;

    return t + ((v | 1) >= pow10[t]);
}

/* Write v's n digits ending at end (backwards): 8 digits per 64-bit division, then 32-bit pairs. */
static inline void
put_digits(char *end, uint64_t v)
{
    char *o = end;
    uint32_t x;

    while (v >= 100000000u) {
        uint32_t lo = (uint32_t)(v % 100000000u), hi4 = lo / 10000u, lo4 = lo % 10000u;
        v /= 100000000u;
        memcpy(o - 2, dec2 + 2 * (lo4 % 100u), 2);
        memcpy(o - 4, dec2 + 2 * (lo4 / 100u), 2);
        memcpy(o - 6, dec2 + 2 * (hi4 % 100u), 2);
        memcpy(o - 8, dec2 + 2 * (hi4 / 100u), 2);
        o -= 8;
    }
    x = (uint32_t)v;
    while (x >= 100u) {
        unsigned r = x % 100u;
        x /= 100u;
        o -= 2;
        memcpy(o, dec2 + 2 * r, 2);
    }
    if (x >= 10u)
        memcpy(o - 2, dec2 + 2 * x, 2);
    else
        o[-1] = (char)('0' + x);
}

/* pre, then v in decimal, then suf, with one room check (pre and suf are short literals). */
static inline __attribute__((always_inline)) void
jw_num(struct jw *w, const char *pre, size_t plen, uint64_t v, const char *suf, size_t slen)
{
    unsigned n;
    char *o;

    if (v < 100) {
        /* Codes and counters, most numbers of an entry: no digit count, no division loop. Two
         * bytes are stored for one digit too: room is checked for the bytes that count, and '>'
         * in jw_room leaves one more (the NUL's), which the spare byte uses until overwritten. */
        if (!jw_room(w, plen + 1 + (v >= 10) + slen))
            return;
        o = w->o;
        memcpy(o, pre, plen);
        o += plen;
        memcpy(o, dec2 + 2 * v + (v < 10), 2);
        o += 1 + (v >= 10);
        memcpy(o, suf, slen);
        w->o = o + slen;
        return;
    }
    n = u64_digits(v);
    if (!jw_room(w, plen + n + slen))
        return;
    o = w->o;
    memcpy(o, pre, plen);
    o += plen;
    put_digits(o + n, v);
    memcpy(o + n, suf, slen);
    w->o = o + n + slen;
}

static inline __attribute__((always_inline)) void
jw_u64(struct jw *w, uint64_t v)
{
    jw_num(w, "", 0, v, "", 0);
}

/* The body of a JSON string (no quotes), by the one escaper (json_write.h). */
static void
jw_escaped(struct jw *w, const char *s, size_t n)
{
    if (w->err != HAF_OK)
        return;
    jw_sync(w);
    w->err = json_write_escaped(w->b, span_make(s, n), NULL);
    jw_reload(w);
}

/* ,"key": from a literal written with its comma. Every member of the top object is written with
 * its comma; format_json turns the first one into the object's '{' (so key lengths stay constants
 * and the copies inline). */
static inline void
jw_key(struct jw *w, const char *ckey, size_t n)
{
    jw_raw(w, ckey, n);
}

#define JW_CKEY(lit)   (",\"" lit "\":")
#define JW_KEY(w, lit) jw_key((w), JW_CKEY(lit), sizeof(JW_CKEY(lit)) - 1)

/* jw_pstr for a string that needs escaping: out of line, so the common case stays short. */
static __attribute__((noinline)) void
jw_pstr_escaped(struct jw *w, const char *pre, size_t plen, struct span s)
{
    jw_raw(w, pre, plen);
    JW_LIT(w, "\"");
    jw_escaped(w, s.p, s.len);
    JW_LIT(w, "\"");
}

/* pre (a short literal, written as is) then s as a JSON string. Most values need no escaping: one
 * room check, one copy. */
static inline __attribute__((always_inline)) void
jw_pstr(struct jw *w, const char *pre, size_t plen, struct span s)
{
    if (json_write_plain(s.p, s.len)) {
        char *o;
        if (!jw_room(w, plen + s.len + 2))
            return;
        o = w->o;
        memcpy(o, pre, plen);
        o += plen;
        o[0] = '"';
        if (s.len)
            memcpy(o + 1, s.p, s.len);
        o[s.len + 1] = '"';
        w->o = o + s.len + 2;
        return;
    }
    jw_pstr_escaped(w, pre, plen, s);
}

/* "name"} of a category: quoted names with their lengths, made once from opcode_category_name
 * (one copy per entry instead of a call and a strlen). */
static struct {
    char s[40];
    unsigned char n;
} cat_json[OPCODE_CAT_MAX_];
static int cat_json_ready;
static pthread_once_t cat_json_once = PTHREAD_ONCE_INIT;

static void
cat_json_build(void)
{
    for (unsigned k = 0; k < OPCODE_CAT_MAX_; k++) {
        int n = snprintf(cat_json[k].s, sizeof(cat_json[k].s), "\"%s\"}",
                         opcode_category_name((enum opcode_category)k));
        cat_json[k].n = (unsigned char)(n > 0 && (size_t)n < sizeof(cat_json[k].s) ? n : 0);
    }
    __atomic_store_n(&cat_json_ready, 1, __ATOMIC_RELEASE);
}

static void
jw_category(struct jw *w, enum opcode_category c)
{
    unsigned i = (unsigned)c < OPCODE_CAT_MAX_ ? (unsigned)c : OPCODE_CAT_UNKNOWN;

    if (!__atomic_load_n(&cat_json_ready, __ATOMIC_ACQUIRE))
        (void)pthread_once(&cat_json_once, cat_json_build);
    if (!jw_room(w, cat_json[i].n))
        return;
    /* A fixed 32-byte copy when there is room (the entries are padded to 40): the compiler
     * inlines it, and no size-dependent branch is taken per entry. The length added is exact. */
    if (w->end - w->o > 32)
        memcpy(w->o, cat_json[i].s, 32);
    else
        memcpy(w->o, cat_json[i].s, cat_json[i].n);
    w->o += cat_json[i].n;
}

static inline __attribute__((always_inline)) void
jw_str(struct jw *w, struct span s)
{
    jw_pstr(w, "", 0, s);
}

static inline __attribute__((always_inline)) void
jw_kstr(struct jw *w, const char *key, size_t klen, struct span s)
{
    jw_pstr(w, key, klen, s);
}

static inline __attribute__((always_inline)) void
jw_ku64(struct jw *w, const char *key, size_t klen, uint64_t v)
{
    jw_num(w, key, klen, v, "", 0);
}

/* key is the member's key literal followed by {"name": */
static inline __attribute__((always_inline)) void
jw_knamed(struct jw *w, const char *key, size_t klen, const struct haf_named_code *nc)
{
    jw_pstr(w, key, klen, nc->name);
    jw_num(w, ",\"code\":", 8, nc->code, "}", 1);
}

/* key is the member's key literal followed by {"time": */
static inline __attribute__((always_inline)) void
jw_ktimeinfo(struct jw *w, const char *key, size_t klen, struct span human, uint64_t usecs)
{
    jw_pstr(w, key, klen, human);
    jw_num(w, ",\"usecs\":", 9, usecs, "}", 1);
}

#define KSTR(w, lit, s) jw_kstr((w), JW_CKEY(lit), sizeof(JW_CKEY(lit)) - 1, (s))
#define KU64(w, lit, v) jw_ku64((w), JW_CKEY(lit), sizeof(JW_CKEY(lit)) - 1, (v))
#define KNAMED(w, lit, n)                                                                          \
    jw_knamed((w), ",\"" lit "\":{\"name\":", sizeof(",\"" lit "\":{\"name\":") - 1, (n))
#define KTIMEINFO(w, lit, h, u)                                                                    \
    jw_ktimeinfo((w), ",\"" lit "\":{\"time\":", sizeof(",\"" lit "\":{\"time\":") - 1, (h), (u))

/* Howard Hinnant's civil_from_days (days since 1970-01-01 to a proleptic Gregorian date). */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Two digits of v < 100. */
static inline char *
put2(char *o, unsigned v)
{
    memcpy(o, dec2 + 2 * v, 2);
    return o + 2;
}

/* "YYYY-MM-DD" of a day since 1970-01-01 (years past 9999 get more digits, years before 1000
 * leading zeros) into o; returns the end. */
static char *
put_date(char *o, int64_t days)
{
    int64_t y;
    unsigned m, d;
    char ybuf[24];
    size_t yn = sizeof(ybuf);

    civil_from_days(days, &y, &m, &d);
    if (y >= 1000 && y <= 9999) {
        o = put2(o, (unsigned)(y / 100));
        o = put2(o, (unsigned)(y % 100));
    } else {
        do {
            ybuf[--yn] = (char)('0' + (uint64_t)y % 10);
            y /= 10;
        } while (y > 0);
        while (sizeof(ybuf) - yn < 4)
            ybuf[--yn] = '0';
        memcpy(o, ybuf + yn, sizeof(ybuf) - yn);
        o += sizeof(ybuf) - yn;
    }
    *o++ = '-';
    o = put2(o, m);
    *o++ = '-';
    return put2(o, d);
}

/*
 * The date part of the last time formatted by this thread: entries come in time order, so
 * consecutive ones nearly always share their day and the calendar arithmetic runs once a day.
 * Per thread, so formatters on several threads never share it.
 */
static _Thread_local struct {
    uint64_t days; /* UINT64_MAX: nothing cached yet */
    unsigned char n;
    char s[32];
} date_cache = {.days = UINT64_MAX};

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" from epoch microseconds (years past 9999 get more digits). */
static void
jw_iso_time(struct jw *w, uint64_t usecs)
{
    char *o;
    uint64_t secs = usecs / 1000000u, days = secs / 86400u;
    unsigned sod = (unsigned)(secs % 86400u), frac = (unsigned)(usecs % 1000000u);

    /* The date is under 32 bytes (a u64 of microseconds is a 6-digit year at most), copied as a
     * fixed 32; the rest is 19. */
    if (!jw_room(w, 1 + sizeof(date_cache.s) + 19))
        return;
    if (days != date_cache.days) {
        date_cache.n = (unsigned char)(put_date(date_cache.s, (int64_t)days) - date_cache.s);
        date_cache.days = days;
    }
    o = w->o;
    *o++ = '"';
    memcpy(o, date_cache.s, sizeof(date_cache.s));
    o += date_cache.n;
    *o++ = 'T';
    o = put2(o, sod / 3600);
    *o++ = ':';
    o = put2(o, sod / 60 % 60);
    *o++ = ':';
    o = put2(o, sod % 60);
    *o++ = '.';
    o = put2(o, frac / 10000);
    o = put2(o, frac / 100 % 100);
    o = put2(o, frac % 100);
    *o++ = 'Z';
    *o++ = '"';
    w->o = o;
}

/* How many earlier extras share extra[i]'s key (0 for the first). */
static unsigned
extra_repeat(const struct haf_entry *e, size_t i)
{
    unsigned n = 0;

    for (size_t j = 0; j < i; j++)
        n += span_eq(e->extra[j].key, e->extra[i].key);
    return n;
}

/* JSON text that the cert_event reader validated, without the whitespace outside strings (a
 * pretty-printed value becomes one line). */
static void
jw_json_compact(struct jw *w, struct span v)
{
    size_t run = 0, i = 0;

    while (i < v.len) {
        char c = v.p[i];
        if (c == '"') {
            i = cert_json_string_end(v.p, v.len, i);
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            jw_raw(w, v.p + run, i - run);
            run = i + 1;
        }
        i++;
    }
    jw_raw(w, v.p + run, v.len - run);
}

/* The members the context adds, written from its members. */
static void
format_ctx_members(const struct audit_format_ctx *ctx, struct jw *w)
{
    if (ctx->host)
        KSTR(w, "host", span_cstr(ctx->host));
    if (ctx->source)
        KSTR(w, "source", span_cstr(ctx->source));
    if (ctx->hsm_id)
        KSTR(w, "hsm_id", span_cstr(ctx->hsm_id));
    if (ctx->reclocked) {
        JW_KEY(w, "reclocked");
        JW_LIT(w, "true");
    }
}

/* The members every event ends with: parse_error and raw when flagged, then the context (its
 * rendered text when the caller made it, one copy per entry). */
static void
format_tail(const struct haf_entry *e, const struct audit_format_ctx *ctx, struct jw *w)
{
    if (e->parse_error) {
        KSTR(w, "parse_error", span_cstr(e->parse_error));
        KSTR(w, "raw", e->raw);
    }
    if (ctx == NULL)
        return;
    if (ctx->rendered.len > 0)
        jw_raw(w, ctx->rendered.p, ctx->rendered.len);
    else
        format_ctx_members(ctx, w);
}

/*
 * A certificate-storage event: kind, time (ISO, from timestamp), timestamp (ms), object_handle
 * (exact integer, or null), op_code, response, success (response is "OK"), attributes (the JSON
 * value, compacted), extra {member: value} for unknown members, export_time; a flagged one has
 * only kind, export_time, parse_error and raw before the context members.
 */
static void
format_cert_json(const struct haf_entry *e, const struct audit_format_ctx *ctx, struct jw *w)
{
    const struct haf_cert_event *c = &e->cert;

    JW_LIT(w, "{\"kind\":\"certificate_storage\"");
    if (e->parse_error == NULL) {
        if (c->timestamp_ms <= UINT64_MAX / 1000) {
            JW_KEY(w, "time");
            jw_iso_time(w, c->timestamp_ms * 1000);
        }
        KU64(w, "timestamp", c->timestamp_ms);
        if (c->present & CERT_F_OBJECT_HANDLE) {
            if (c->object_handle_null) {
                JW_KEY(w, "object_handle");
                JW_LIT(w, "null");
            } else {
                KU64(w, "object_handle", c->object_handle);
            }
        }
        /* op_code and response keep their JSON escapes: written between quotes as they are. */
        JW_KEY(w, "op_code");
        JW_LIT(w, "\"");
        jw_raw(w, c->op_code.p, c->op_code.len);
        JW_LIT(w, "\"");
        JW_KEY(w, "response");
        JW_LIT(w, "\"");
        jw_raw(w, c->response.p, c->response.len);
        JW_LIT(w, "\"");
        JW_KEY(w, "success");
        if (cert_event_success(c))
            JW_LIT(w, "true");
        else
            JW_LIT(w, "false");
        if (c->present & CERT_F_ATTRIBUTES) {
            JW_KEY(w, "attributes");
            jw_json_compact(w, c->attributes);
        }
        if (c->n_extra > 0) {
            JW_KEY(w, "extra");
            JW_LIT(w, "{");
            for (size_t i = 0; i < c->n_extra && i < CERT_EVENT_MAX_EXTRA; i++) {
                if (i > 0)
                    JW_LIT(w, ",");
                JW_LIT(w, "\"");
                jw_raw(w, c->extra[i].key.p, c->extra[i].key.len);
                JW_LIT(w, "\":");
                jw_json_compact(w, c->extra[i].value);
            }
            JW_LIT(w, "}");
        }
    }
    if (e->export_time.len)
        KSTR(w, "export_time", e->export_time);
    format_tail(e, ctx, w);
    JW_LIT(w, "}");
}

static void
format_json(const struct haf_entry *e, const struct audit_format_ctx *ctx, struct jw *w)
{
    uint32_t f = e->present;
    size_t obj = jw_len(w);

    if (e->kind == HAF_KIND_CERT_STORAGE) {
        format_cert_json(e, ctx, w);
        return;
    }

    if (f & HAF_F_TIME) {
        JW_KEY(w, "time");
        jw_iso_time(w, e->usecs);
        KU64(w, "usecs", e->usecs);
        if (e->time_mismatch) {
            JW_KEY(w, "time_mismatch");
            JW_LIT(w, "true");
        }
    }
    if (e->export_time.len)
        KSTR(w, "export_time", e->export_time);
    if (f & HAF_F_SEQUENCE_NO)
        KU64(w, "sequence_no", e->sequence_no);
    if (f & HAF_F_REBOOT_COUNTER)
        KU64(w, "reboot_counter", e->reboot_counter);
    if (f & HAF_F_COMMAND_TYPE)
        KNAMED(w, "command_type", &e->command_type);
    if (f & HAF_F_OPCODE) {
        /* {name,code,category}: the category from the opcode catalogue (opcodes.h). */
        static const char key[] = ",\"opcode\":{\"name\":";
        jw_pstr(w, key, sizeof(key) - 1, e->opcode.name);
        jw_num(w, ",\"code\":", 8, e->opcode.code, ",\"category\":", 12);
        jw_category(w, audit_entry_category(e));
    }
    if (f & HAF_F_SESSION_HANDLE)
        KU64(w, "session_handle", e->session_handle);
    if (f & HAF_F_RESPONSE) {
        static const char key[] = ",\"response\":{\"code\":";
        jw_num(w, key, sizeof(key) - 1, e->response_code, ",\"text\":", 8);
        jw_str(w, e->response_text);
        if (e->response_success)
            JW_LIT(w, ",\"success\":true}");
        else
            JW_LIT(w, ",\"success\":false}");
    }
    if (f & HAF_F_LOG_TYPE)
        KNAMED(w, "log_type", &e->log_type);
    if (f & HAF_F_VERSION_NO)
        KSTR(w, "version_no", e->version_no);
    if (f & HAF_F_USER_ID)
        KSTR(w, "user_id", e->user_id);
    if (f & HAF_F_USER_NAME)
        KSTR(w, "user_name", e->user_name);
    if (f & HAF_F_USER_TYPE)
        KNAMED(w, "user_type", &e->user_type);
    if (f & HAF_F_PRIV_SECRET_KEY_HANDLE)
        KU64(w, "priv_secret_key_handle", e->priv_secret_key_handle);
    if (f & HAF_F_PUBLIC_KEY_HANDLE)
        KU64(w, "public_key_handle", e->public_key_handle);
    if (f & HAF_F_KEY_HANDLE)
        KU64(w, "key_handle", e->key_handle);
    if (f & HAF_F_LOCAL_TIME)
        KTIMEINFO(w, "local_time", e->local_time, e->local_time_usec);
    if (f & HAF_F_HOST_TIME)
        KTIMEINFO(w, "host_time", e->host_time, e->host_time_usec);
    if (f & HAF_F_PROPAGATION_DELAY) {
        static const char key[] = ",\"propagation_delay\":{\"usecs\":";
        jw_num(w, key, sizeof(key) - 1, e->propagation_delay_usec, "}", 1);
    }
    if (f & HAF_F_MECHANISM)
        KU64(w, "mechanism", e->mechanism);
    if (f & HAF_F_TARGET_USER_NAME)
        KSTR(w, "target_user_name", e->target_user_name);
    if (f & HAF_F_TARGET_USER_TYPE)
        KNAMED(w, "target_user_type", &e->target_user_type);
    if (f & HAF_F_TARGET_USER_ID)
        KSTR(w, "target_user_id", e->target_user_id);
    if (f & HAF_F_MFA_ENABLED)
        KSTR(w, "mfa_enabled", e->mfa_enabled);
    if (f & HAF_F_OPERATION)
        KNAMED(w, "operation", &e->operation);
    if (f & HAF_F_NUMBER_OF_USERS)
        KU64(w, "number_of_users", e->number_of_users);
    if (f & HAF_F_USER_IDS)
        KSTR(w, "user_ids", e->user_ids);
    if (e->n_extra > 0) {
        size_t n = e->n_extra < HAF_ENTRY_MAX_EXTRA ? e->n_extra : HAF_ENTRY_MAX_EXTRA;
        JW_KEY(w, "extra");
        JW_LIT(w, "{");
        for (size_t i = 0; i < n; i++) {
            unsigned rep = extra_repeat(e, i);
            if (i > 0)
                JW_LIT(w, ",");
            JW_LIT(w, "\"");
            jw_escaped(w, e->extra[i].key.p, e->extra[i].key.len);
            if (rep > 0) {
                JW_LIT(w, "#");
                jw_u64(w, rep + 1);
            }
            JW_LIT(w, "\":");
            jw_str(w, e->extra[i].value);
        }
        JW_LIT(w, "}");
    }
    format_tail(e, ctx, w);
    /* Members were written each with its comma: the first comma becomes the '{'. */
    if (w->err != HAF_OK)
        return;
    if (jw_len(w) == obj) {
        JW_LIT(w, "{}");
        return;
    }
    w->b->p[obj] = '{';
    JW_LIT(w, "}");
}

enum haf_err
audit_format(const struct haf_entry *e, enum audit_format fmt, const struct audit_format_ctx *ctx,
             struct buf *out)
{
    struct jw w;
    size_t old_len = out->len;

    jw_init(&w, out);
    if (fmt == AUDIT_FORMAT_RAW) {
        /* raw is valid UTF-8 from the parser; an entry built elsewhere is sanitised here too. */
        size_t i = 0;
        const unsigned char *u = (const unsigned char *)e->raw.p;
        while (i < e->raw.len) {
            size_t run = i, k;
            while (run < e->raw.len && u[run] != 0 && u[run] < 0x80)
                run++;
            jw_raw(&w, e->raw.p + i, run - i);
            i = run;
            if (i == e->raw.len)
                break;
            k = u[i] ? utf8_seq_len(u + i, e->raw.len - i) : 0;
            if (k) {
                jw_raw(&w, e->raw.p + i, k);
                i += k;
            } else {
                jw_raw(&w, "\xEF\xBF\xBD", 3);
                i++;
            }
        }
        if (e->raw.len == 0)
            JW_LIT(&w, "(empty audit entry)");
    } else if (fmt == AUDIT_FORMAT_JSON) {
        format_json(e, ctx, &w);
    } else {
        return HAF_EINVAL;
    }
    return jw_finish(&w, old_len);
}

enum haf_err
audit_format_ctx_render(const struct audit_format_ctx *ctx, struct buf *out)
{
    struct jw w;
    size_t old_len = out->len;

    jw_init(&w, out);
    format_ctx_members(ctx, &w);
    return jw_finish(&w, old_len);
}

/*
 * batch.c: one PutLogEvents request body, built incrementally under every CloudWatch Logs limit.
 *
 * The body is
 *   {"logGroupName":"G","logStreamName":"S"[,"sequenceToken":"T"],"logEvents":[E,E,...]}
 * with each E = {"timestamp":<ms>,"message":"<escaped>"}. The prefix up to and including '[' is
 * written once at batch_init (prefix_len bytes); each batch_add appends ",E" (no comma before the
 * first) and records where E sits (body_off/body_len), so batch_retain can compact the kept
 * objects in place and batch_finish only has to append "]}". Nothing is allocated per event:
 * the body and the event array grow by doubling and keep their memory across batch_reset.
 *
 * Limits (docs/cloudwatch-limits.md section 2), all checked in batch_check before a byte
 * is written: 1..max_events events; sum of (UTF-8 message bytes + 26) <= max_bytes; a message of
 * 1..BATCH_MAX_MESSAGE_BYTES bytes (1,048,550: the largest one that the sum formula lets through
 * alone, which is below the 1 MB per-event cap); timestamps non-decreasing; newest - oldest
 * strictly below 24 h (Fluent Bit's "< 86400000", the safe reading of "cannot exceed 24 hours").
 *
 * The byte formula counts the *unescaped* message, and that is the rule CloudWatch documents and
 * applies, so it is the one we keep to exactly. The serialized body is larger: about 41 bytes of
 * JSON around each event plus whatever escaping adds. For our messages (the formatter's JSON,
 * where escaping mostly doubles quotes, or raw audit text with \n) that is some tens of percent;
 * the theoretical worst case (every byte a control character, \u00XX) is 6x, a body of about
 * 6.3 MB. Fluent Bit additionally caps the serialized payload at 1 MiB, which is stricter than
 * AWS's rule and would split valid batches; we do not, and the test front (tests/tools/
 * cwl_front.py) accepts bodies well past that. The body buffer is still capped (6 x max_bytes +
 * room for the names), so a logic error cannot grow it without bound.
 *
 * JSON escaping is a hand-rolled scanner: runs of plain bytes are found eight at a time with
 * SWAR tests and copied with memcpy; '"', '\\' and control characters become \" \\ \n \r \t \b
 * \f or \u00XX; valid UTF-8 (including DEL and U+2028/9, which JSON allows) passes unchanged.
 * The caller promises valid UTF-8, but if a message is not, every invalid byte is replaced by
 * U+FFFD (on a rare slow path with one temporary copy), and the event's byte count and hash are
 * those of the replaced text, which is what CloudWatch will store and return on read-back.
 *
 * Pure: no I/O, no logging, no clock.
 */
#include "haf/batch.h"
#include "haf/utf8.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define BATCH_NAME_MAX_BYTES  512 /* LogGroupName and LogStreamName, model max */
#define BATCH_TOKEN_MAX_BYTES 4096
#define BATCH_INITIAL_EVENTS  64
#define BATCH_INITIAL_BODY    4096
/* Room in the body cap for the prefix: two names and a token, each escaped at worst 6x. */
#define BATCH_PREFIX_ROOM (6 * (2 * BATCH_NAME_MAX_BYTES + BATCH_TOKEN_MAX_BYTES) + 128)
/* Per event, besides the escaped message: ,{"timestamp":<20 digits>,"message":""} */
#define BATCH_EVENT_JSON_MAX 64

static const char hex_digits[] = "0123456789abcdef";

/* ---- hashing ---- */

/*
 * A wyhash-style hash (Wang Yi's wyhash, public domain, is the model; this is not bit-compatible
 * with it): 16 input bytes per step folded through one 64x64->128 multiply, then a final mix with
 * the length. Several GB/s, good avalanche; it only has to tell read-back messages apart, not
 * resist an attacker choosing audit text.
 */
#define HASH_P0 0xa0761d6478bd642fULL
#define HASH_P1 0xe7037ed1a0b428dbULL
#define HASH_P2 0x8ebc6af09c88c6e3ULL
#define HASH_P3 0x589965cc75374cc3ULL

static inline uint64_t
hash_mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;

    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t
load64(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t
load32(const unsigned char *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

/* 1..3 bytes into one word, reading each byte once (wyhash's _wyr3). */
static inline uint64_t
load_small(const unsigned char *p, size_t k)
{
    return ((uint64_t)p[0] << 16) | ((uint64_t)p[k >> 1] << 8) | p[k - 1];
}

uint64_t
batch_message_hash(const char *msg, size_t len)
{
    const unsigned char *p = (const unsigned char *)msg;
    uint64_t seed = HASH_P0 ^ hash_mix(HASH_P0 ^ (uint64_t)len, HASH_P1);
    uint64_t a, b;
    size_t i = len;

    if (len <= 16) {
        if (len >= 4) {
            a = (load32(p) << 32) | load32(p + ((len >> 3) << 2));
            b = (load32(p + len - 4) << 32) | load32(p + len - 4 - ((len >> 3) << 2));
        } else if (len > 0) {
            a = load_small(p, len);
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        uint64_t s1 = seed, s2 = seed;

        while (i > 48) {
            seed = hash_mix(load64(p) ^ HASH_P1, load64(p + 8) ^ seed);
            s1 = hash_mix(load64(p + 16) ^ HASH_P2, load64(p + 24) ^ s1);
            s2 = hash_mix(load64(p + 32) ^ HASH_P3, load64(p + 40) ^ s2);
            p += 48;
            i -= 48;
        }
        seed ^= s1 ^ s2;
        while (i > 16) {
            seed = hash_mix(load64(p) ^ HASH_P1, load64(p + 8) ^ seed);
            p += 16;
            i -= 16;
        }
        /* The last 16 bytes of the input, overlapping what was already mixed if need be. */
        a = load64(p + i - 16);
        b = load64(p + i - 8);
    }
    a ^= HASH_P1;
    b ^= seed;
    {
        __uint128_t r = (__uint128_t)a * b;
        a = (uint64_t)r;
        b = (uint64_t)(r >> 64);
    }
    return hash_mix(a ^ HASH_P0 ^ (uint64_t)len, b ^ HASH_P1);
}

/* ---- UTF-8 ---- */

/* The message with every byte that is not part of a valid sequence replaced by U+FFFD. */
static HAF_MUST_USE enum haf_err
utf8_sanitize(struct span in, struct buf *out)
{
    const unsigned char *s = (const unsigned char *)in.p;
    enum haf_err e;
    size_t i = 0;

    /* Each input byte becomes at most 3 output bytes. */
    if (in.len > SIZE_MAX / 3 - 1)
        return HAF_ETOOLONG;
    e = buf_reserve(out, in.len * 3);
    if (e != HAF_OK)
        return e;
    while (i < in.len) {
        size_t k = s[i] < 0x80 ? 1 : utf8_seq_len(s + i, in.len - i);
        if (k == 0) {
            memcpy(out->p + out->len, "\xef\xbf\xbd", 3);
            out->len += 3;
            i++;
        } else {
            memcpy(out->p + out->len, s + i, k);
            out->len += k;
            i += k;
        }
    }
    out->p[out->len] = '\0';
    return HAF_OK;
}

/* ---- JSON escaping ---- */

/*
 * The bytes of an 8-byte word that need attention (control char, '"', '\\' or >= 0x80), as the high
 * bit of each byte. The classic "has byte less than n" tests can flag a byte falsely only through a
 * borrow from a real hit in a lower byte, so the lowest flagged byte (the first in memory on a
 * little-endian machine) is always a real one.
 */
static inline uint64_t
word_special(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL;
    const uint64_t highs = 0x8080808080808080ULL;
    uint64_t q = x ^ (ones * '"');
    uint64_t bs = x ^ (ones * '\\');

    return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((bs - ones) & ~bs) | x) & highs;
}

static inline bool
byte_is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Index of the first byte of p flagged by word_special (mask non-zero, p's 8 bytes loaded). On a
 * big-endian machine a borrow can flag an earlier byte falsely, so the bytes are tested there. */
static inline size_t
word_first_special(uint64_t mask, const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    (void)p;
    return (size_t)__builtin_ctzll(mask) >> 3;
#else
    size_t k = 0;

    (void)mask;
    while (k < 8 && byte_is_plain(p[k]))
        k++;
    return k;
#endif
}

/* The two-character escapes JSON has, by control character; 0 means \u00XX. */
static const char esc_short[0x20] = {
    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
};

#if defined(__SSE2__)
/*
 * The fast path for text whose only special bytes are '"' and '\\' (our formatter's JSON: a quote
 * every few bytes). 16 input bytes at a time; every quote or backslash of a block is handled from
 * one mask, each by a fixed 16-byte copy of the plain bytes before it (the extra bytes are
 * overwritten next) and the two-byte escape. Stops at a block holding a control character or a
 * byte >= 0x80 (the caller's general path takes those), and 32 bytes before `end`, so the fixed
 * copies never read past the input. The caller reserved room for the worst case.
 */
static inline void
escape_quotes_sse2(const unsigned char *s, size_t *pi, size_t end, char **po)
{
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    size_t i = *pi;
    char *o = *po;

    while (i + 32 <= end) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
        /* Signed compare: true for 0x00..0x1f and for 0x80..0xff. */
        unsigned other = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(v, space));
        unsigned pos = 0;

        if (other != 0)
            break;
        while (m != 0) {
            unsigned k = (unsigned)__builtin_ctz(m);

            memcpy(o, s + i + pos, 16);
            o += k - pos;
            o[0] = '\\';
            o[1] = (char)s[i + k];
            o += 2;
            pos = k + 1;
            m &= m - 1;
        }
        memcpy(o, s + i + pos, 16);
        o += 16 - pos;
        i += 16;
    }
    *pi = i;
    *po = o;
}
#endif

/* Input is escaped in chunks of this size, each with room reserved for its worst case (6x). */
#define ESCAPE_CHUNK 4096

/*
 * Append the JSON string contents (no quotes) for `in`. *invalid is set, and the append stopped
 * early, when `in` is not valid UTF-8; the caller rolls back and retries with a sanitized copy.
 *
 * Room for a whole chunk's worst case is reserved before it is scanned, so the inner loop writes
 * through a plain pointer with no capacity checks. A multi-byte character may run up to 3 bytes
 * past the chunk's end; the 8 spare bytes of the reservation cover that.
 */
static HAF_MUST_USE enum haf_err
escape_append(struct buf *b, struct span in, bool *invalid)
{
    const unsigned char *s = (const unsigned char *)in.p;
    size_t n = in.len, i = 0;
    enum haf_err e;

    *invalid = false;
    while (i < n) {
        size_t chunk_end = n - i > ESCAPE_CHUNK ? i + ESCAPE_CHUNK : n;
        char *o;

        e = buf_reserve(b, 6 * (chunk_end - i) + 8);
        if (e != HAF_OK)
            return e;
        o = b->p + b->len;
        while (i < chunk_end) {
            unsigned char c;

#if defined(__SSE2__)
            escape_quotes_sse2(s, &i, chunk_end, &o);
#endif
            /* Whole words are copied; on a special byte, only the plain bytes before it count
             * (the rest of the word is overwritten by what follows: the reservation has room). */
            for (;;) {
                uint64_t w, m;

                if (i + 8 > chunk_end) {
                    while (i < chunk_end && byte_is_plain(s[i]))
                        *o++ = (char)s[i++];
                    break;
                }
                w = load64(s + i);
                m = word_special(w);
                memcpy(o, &w, 8);
                if (m != 0) {
                    size_t k = word_first_special(m, s + i);
                    o += k;
                    i += k;
                    break;
                }
                o += 8;
                i += 8;
            }
            if (i == chunk_end)
                break;
            c = s[i];
            if (c >= 0x80) {
                size_t k = utf8_seq_len(s + i, n - i);
                if (k == 0) {
                    *invalid = true;
                    return HAF_OK;
                }
                memcpy(o, s + i, k);
                o += k;
                i += k;
                continue;
            }
            o[0] = '\\';
            if (c == '"' || c == '\\') {
                o[1] = (char)c;
                o += 2;
            } else if (esc_short[c]) {
                o[1] = esc_short[c];
                o += 2;
            } else {
                memcpy(o + 1, "u00", 3);
                o[4] = hex_digits[c >> 4];
                o[5] = hex_digits[c & 0xf];
                o += 6;
            }
            i++;
        }
        b->len = (size_t)(o - b->p);
    }
    if (b->p)
        b->p[b->len] = '\0';
    return HAF_OK;
}

/* A trusted or server-supplied string as a complete JSON string, quotes included. */
static HAF_MUST_USE enum haf_err
json_string_append(struct buf *b, struct span s)
{
    struct buf clean;
    bool invalid;
    size_t mark = b->len;
    enum haf_err e;

    e = buf_addc(b, '"');
    if (e != HAF_OK)
        return e;
    e = escape_append(b, s, &invalid);
    if (e == HAF_OK && invalid) {
        b->len = mark + 1;
        buf_init(&clean, 0);
        e = utf8_sanitize(s, &clean);
        if (e == HAF_OK)
            e = escape_append(b, buf_span(&clean), &invalid);
        buf_clean_up(&clean);
    }
    if (e == HAF_OK)
        e = buf_addc(b, '"');
    if (e != HAF_OK) {
        b->len = mark;
        if (b->p)
            b->p[mark] = '\0';
    }
    return e;
}

/* Decimal digits of a signed 64-bit value into out (at least 20 bytes); returns the length. */
static size_t
format_i64(char *out, int64_t v)
{
    char tmp[20];
    size_t n = 0, len = 0;
    uint64_t u;

    if (v < 0) {
        out[len++] = '-';
        u = (uint64_t)0 - (uint64_t)v;
    } else {
        u = (uint64_t)v;
    }
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    while (n > 0)
        out[len++] = tmp[--n];
    return len;
}

/* ---- the body ---- */

/* {"logGroupName":"G","logStreamName":"S"[,"sequenceToken":"T"],"logEvents":[ */
static HAF_MUST_USE enum haf_err
prefix_build(struct buf *out, const char *group, const char *stream, const char *token)
{
    enum haf_err e;

    e = buf_adds(out, "{\"logGroupName\":");
    if (e == HAF_OK)
        e = json_string_append(out, span_cstr(group));
    if (e == HAF_OK)
        e = buf_adds(out, ",\"logStreamName\":");
    if (e == HAF_OK)
        e = json_string_append(out, span_cstr(stream));
    if (e == HAF_OK && token != NULL) {
        e = buf_adds(out, ",\"sequenceToken\":");
        if (e == HAF_OK)
            e = json_string_append(out, span_cstr(token));
    }
    if (e == HAF_OK)
        e = buf_adds(out, ",\"logEvents\":[");
    return e;
}

static bool
limits_valid(const struct batch_limits *lim)
{
    return lim->max_events >= 1 && lim->max_events <= BATCH_MAX_EVENTS &&
           lim->max_bytes >= BATCH_EVENT_OVERHEAD_BYTES + 1 && lim->max_bytes <= BATCH_MAX_BYTES;
}

static bool
name_valid(const char *s)
{
    size_t n;

    if (s == NULL)
        return false;
    n = strlen(s);
    return n >= 1 && n <= BATCH_NAME_MAX_BYTES;
}

enum haf_err
batch_init(struct batch *b, const struct batch_limits *lim, const char *group, const char *stream)
{
    static const struct batch_limits defaults = {BATCH_MAX_EVENTS, BATCH_MAX_BYTES};
    enum haf_err e = HAF_OK;

    memset(b, 0, sizeof(*b));
    if (lim == NULL)
        lim = &defaults;
    if (!limits_valid(lim) || !name_valid(group) || !name_valid(stream)) {
        e = HAF_EINVAL;
        goto out;
    }
    b->limits = *lim;
    b->group = strdup(group);
    b->stream = strdup(stream);
    if (b->group == NULL || b->stream == NULL) {
        e = HAF_ENOMEM;
        goto out;
    }
    buf_init(&b->body, (size_t)6 * lim->max_bytes + (size_t)lim->max_events * BATCH_EVENT_JSON_MAX +
                           BATCH_PREFIX_ROOM);
    e = buf_reserve(&b->body, BATCH_INITIAL_BODY);
    if (e == HAF_OK)
        e = prefix_build(&b->body, group, stream, NULL);
    if (e != HAF_OK)
        goto out;
    b->prefix_len = b->body.len;
out:
    if (e != HAF_OK)
        batch_clean_up(b);
    return e;
}

void
batch_clean_up(struct batch *b)
{
    if (b == NULL)
        return;
    free(b->group);
    free(b->stream);
    buf_clean_up(&b->body);
    free(b->ev);
    memset(b, 0, sizeof(*b));
}

void
batch_reset(struct batch *b)
{
    b->body.len = b->prefix_len;
    if (b->body.p)
        b->body.p[b->prefix_len] = '\0';
    b->n_ev = 0;
    b->payload_bytes = 0;
    b->finished = false;
}

enum batch_fit
batch_check(const struct batch *b, int64_t timestamp_ms, size_t msg_bytes)
{
    if (msg_bytes == 0)
        return BATCH_EMPTY_MESSAGE;
    /* Too big for any batch under these limits, even an empty one: the caller must split. */
    if (msg_bytes > BATCH_MAX_MESSAGE_BYTES ||
        msg_bytes + BATCH_EVENT_OVERHEAD_BYTES > b->limits.max_bytes)
        return BATCH_TOO_BIG;
    if (b->n_ev == 0)
        return BATCH_FITS;
    if (timestamp_ms < b->ev[b->n_ev - 1].timestamp_ms)
        return BATCH_TIME_ORDER;
    /* Both are >= the oldest, so the unsigned difference is exact even across the sign. */
    if ((uint64_t)timestamp_ms - (uint64_t)b->ev[0].timestamp_ms >= (uint64_t)BATCH_MAX_SPAN_MS)
        return BATCH_TIME_SPAN;
    if (b->n_ev >= b->limits.max_events ||
        b->payload_bytes + msg_bytes + BATCH_EVENT_OVERHEAD_BYTES > b->limits.max_bytes)
        return BATCH_FULL;
    return BATCH_FITS;
}

static HAF_MUST_USE enum haf_err
events_reserve(struct batch *b)
{
    struct batch_event *ev;
    size_t cap;

    if (b->n_ev < b->cap_ev)
        return HAF_OK;
    cap = b->cap_ev ? b->cap_ev * 2 : BATCH_INITIAL_EVENTS;
    if (cap > b->limits.max_events)
        cap = b->limits.max_events;
    ev = realloc(b->ev, cap * sizeof(*ev));
    if (ev == NULL)
        return HAF_ENOMEM;
    b->ev = ev;
    b->cap_ev = cap;
    return HAF_OK;
}

/* Append ",{"timestamp":T,"message":"M"}" for a message that fits; roll back on failure. */
static HAF_MUST_USE enum haf_err
event_append(struct batch *b, int64_t timestamp_ms, struct span message, bool *invalid,
             size_t *obj_off)
{
    struct buf *body = &b->body;
    size_t mark = body->len;
    enum haf_err e;
    char *o;

    e = buf_reserve(body, BATCH_EVENT_JSON_MAX + message.len);
    if (e != HAF_OK)
        return e;
    o = body->p + body->len;
    if (b->n_ev > 0)
        *o++ = ',';
    *obj_off = (size_t)(o - body->p);
    memcpy(o, "{\"timestamp\":", 13);
    o += 13;
    o += format_i64(o, timestamp_ms);
    memcpy(o, ",\"message\":\"", 12);
    o += 12;
    body->len = (size_t)(o - body->p);
    e = escape_append(body, message, invalid);
    if (e == HAF_OK && !*invalid)
        e = buf_add(body, "\"}", 2);
    if (e != HAF_OK || *invalid) {
        body->len = mark;
        body->p[mark] = '\0';
    }
    return e;
}

enum haf_err
batch_add(struct batch *b, int64_t timestamp_ms, struct span message,
          const struct batch_event *meta)
{
    struct buf clean;
    struct batch_event *ev;
    bool invalid = false;
    size_t obj_off = 0;
    enum haf_err e;

    buf_init(&clean, 0);
    if (b->finished || timestamp_ms < 0 || (message.p == NULL && message.len != 0) ||
        batch_check(b, timestamp_ms, message.len) != BATCH_FITS) {
        e = HAF_EINVAL;
        goto out;
    }
    e = events_reserve(b);
    if (e != HAF_OK)
        goto out;
    e = event_append(b, timestamp_ms, message, &invalid, &obj_off);
    if (e != HAF_OK)
        goto out;
    if (invalid) {
        /* Slow path, for input that broke the caller's promise: CloudWatch will see (and
         * count, and return) U+FFFD for every bad byte, so that text is what we add. */
        e = utf8_sanitize(message, &clean);
        if (e != HAF_OK)
            goto out;
        message = buf_span(&clean);
        if (batch_check(b, timestamp_ms, message.len) != BATCH_FITS) {
            e = HAF_EINVAL;
            goto out;
        }
        e = event_append(b, timestamp_ms, message, &invalid, &obj_off);
        if (e != HAF_OK)
            goto out;
    }
    ev = &b->ev[b->n_ev];
    if (meta != NULL)
        *ev = *meta;
    else
        memset(ev, 0, sizeof(*ev));
    ev->timestamp_ms = timestamp_ms;
    ev->body_off = (uint32_t)obj_off;
    ev->body_len = (uint32_t)(b->body.len - obj_off);
    ev->msg_bytes = (uint32_t)message.len;
    ev->msg_hash = batch_message_hash(message.p, message.len);
    b->n_ev++;
    b->payload_bytes += message.len + BATCH_EVENT_OVERHEAD_BYTES;
out:
    buf_clean_up(&clean);
    return e;
}

enum haf_err
batch_finish(struct batch *b, struct span *body)
{
    enum haf_err e;

    if (b->n_ev == 0)
        return HAF_EINVAL;
    if (!b->finished) {
        e = buf_add(&b->body, "]}", 2);
        if (e != HAF_OK)
            return e;
        b->finished = true;
    }
    *body = buf_span(&b->body);
    return HAF_OK;
}

enum haf_err
batch_retain(struct batch *b, const bool *keep)
{
    char *p = b->body.p;
    size_t w = b->prefix_len, n = 0;

    if (keep == NULL && b->n_ev > 0)
        return HAF_EINVAL;
    /* Kept objects only move towards the front, so compacting in place is safe. */
    b->payload_bytes = 0;
    for (size_t i = 0; i < b->n_ev; i++) {
        struct batch_event ev = b->ev[i];
        if (!keep[i])
            continue;
        if (n > 0)
            p[w++] = ',';
        memmove(p + w, p + ev.body_off, ev.body_len);
        ev.body_off = (uint32_t)w;
        w += ev.body_len;
        b->payload_bytes += ev.msg_bytes + BATCH_EVENT_OVERHEAD_BYTES;
        b->ev[n++] = ev;
    }
    b->n_ev = n;
    b->body.len = w;
    if (p)
        p[w] = '\0';
    b->finished = false;
    return HAF_OK;
}

enum haf_err
batch_set_sequence_token(struct batch *b, const char *token)
{
    struct buf prefix;
    size_t old_len = b->prefix_len, tail;
    enum haf_err e;

    buf_init(&prefix, 0);
    if (token != NULL && (token[0] == '\0' || strlen(token) > BATCH_TOKEN_MAX_BYTES)) {
        e = HAF_EINVAL;
        goto out;
    }
    e = prefix_build(&prefix, b->group, b->stream, token);
    if (e != HAF_OK)
        goto out;
    tail = b->body.len - old_len;
    if (prefix.len > old_len) {
        e = buf_reserve(&b->body, prefix.len - old_len);
        if (e != HAF_OK)
            goto out;
    }
    memmove(b->body.p + prefix.len, b->body.p + old_len, tail);
    memcpy(b->body.p, prefix.p, prefix.len);
    b->body.len = prefix.len + tail;
    b->body.p[b->body.len] = '\0';
    b->prefix_len = prefix.len;
    for (size_t i = 0; i < b->n_ev; i++)
        b->ev[i].body_off = (uint32_t)(b->ev[i].body_off - old_len + prefix.len);
out:
    buf_clean_up(&prefix);
    return e;
}

size_t
batch_split_point(struct span message, size_t max)
{
    const unsigned char *s = (const unsigned char *)message.p;

    if (max >= message.len)
        return message.len;
    if (max == 0)
        return 0;
    /* s[max] is the first byte of the next part; back up over at most 3 continuation bytes to
     * the start of the character it belongs to. Invalid input (more continuation bytes than a
     * character has, or a part that would be empty) is cut at `max`: never an empty part. */
    for (size_t k = 0; k <= 3 && k < max; k++) {
        if ((s[max - k] & 0xc0) != 0x80)
            return max - k;
    }
    return max;
}

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
 * JSON escaping is the one escaper of json_write.h (its fast path is tuned for this loop: the
 * formatter's JSON, a quote every few bytes). The caller promises valid UTF-8, but if a message is
 * not, every invalid byte becomes U+FFFD, and the event's byte count and hash are those of the
 * replaced text (computed on a rare slow path with one temporary copy), which is what CloudWatch
 * will store and return on read-back.
 *
 * Pure: no I/O, no logging, no clock.
 */
#include "haf/batch.h"
#include "haf/json_write.h"
#include "haf/utf8.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_NAME_MAX_BYTES  512 /* LogGroupName and LogStreamName, model max */
#define BATCH_TOKEN_MAX_BYTES 4096
#define BATCH_INITIAL_EVENTS  64
#define BATCH_INITIAL_BODY    256 /* the prefix; a ring holds several batches per stream */
/* Room in the body cap for the prefix: two names and a token, each escaped at worst 6x. */
#define BATCH_PREFIX_ROOM (6 * (2 * BATCH_NAME_MAX_BYTES + BATCH_TOKEN_MAX_BYTES) + 128)
/* Per event, besides the escaped message: ,{"timestamp":<20 digits>,"message":""} */
#define BATCH_EVENT_JSON_MAX 64

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
        e = json_write_string(out, span_cstr(group));
    if (e == HAF_OK)
        e = buf_adds(out, ",\"logStreamName\":");
    if (e == HAF_OK)
        e = json_write_string(out, span_cstr(stream));
    if (e == HAF_OK && token != NULL) {
        e = buf_adds(out, ",\"sequenceToken\":");
        if (e == HAF_OK)
            e = json_write_string(out, span_cstr(token));
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

size_t
batch_mem_bytes(const struct batch *b)
{
    return b->body.cap + b->cap_ev * sizeof(*b->ev);
}

size_t
batch_used_bytes(const struct batch *b)
{
    return b->body.len + b->n_ev * sizeof(*b->ev);
}

void
batch_release(struct batch *b)
{
    size_t keep = b->prefix_len + 1 > BATCH_INITIAL_BODY ? b->prefix_len + 1 : BATCH_INITIAL_BODY;
    char *p;

    if (b->n_ev > 0)
        return;
    if (b->body.len + 1 > keep)
        keep = b->body.len + 1;
    free(b->ev);
    b->ev = NULL;
    b->cap_ev = 0;
    if (b->body.cap > keep) {
        /* Shrinking in place cannot fail in practice; if it does, the old block stays valid. */
        p = realloc(b->body.p, keep);
        if (p != NULL) {
            b->body.p = p;
            b->body.cap = keep;
        }
    }
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

/* Append ",{"timestamp":T,"message":"M"}" for a message that fits; roll back on failure. *invalid
 * says the message was not valid UTF-8 (its bad bytes were written as U+FFFD). */
static HAF_MUST_USE enum haf_err
event_append(struct batch *b, int64_t timestamp_ms, struct span message, bool *invalid,
             size_t *obj_off)
{
    struct buf *body = &b->body;
    size_t mark = body->len, replaced = 0;
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
    e = json_write_escaped(body, message, &replaced);
    *invalid = replaced > 0;
    if (e == HAF_OK)
        e = buf_add(body, "\"}", 2);
    if (e != HAF_OK) {
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
    size_t obj_off = 0, mark;
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
    mark = b->body.len;
    e = event_append(b, timestamp_ms, message, &invalid, &obj_off);
    if (e != HAF_OK)
        goto out;
    if (invalid) {
        /* Slow path, for input that broke the caller's promise: CloudWatch will see (and
         * count, and return) U+FFFD for every bad byte, which is what the escaper wrote; the
         * limits, byte count and hash are those of that text. */
        e = utf8_sanitize(message, &clean);
        if (e != HAF_OK || batch_check(b, timestamp_ms, clean.len) != BATCH_FITS) {
            e = e != HAF_OK ? e : HAF_EINVAL;
            b->body.len = mark;
            b->body.p[mark] = '\0';
            goto out;
        }
        message = buf_span(&clean);
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

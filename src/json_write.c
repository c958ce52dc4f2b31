/*
 * json_write.c: the JSON string escaper of json_write.h.
 *
 * Two paths over the same rules. The fast one reserves room for a chunk's worst case (every byte
 * a control character: 6 output bytes per input byte) before scanning it, so the inner loop
 * writes through a plain pointer with no capacity checks: runs of plain bytes are found 16 at a
 * time with SSE2 (the formatter's JSON, a quote every few bytes, stays on that loop) or 8 at a
 * time with SWAR tests and copied whole words at a time; the extra bytes of a word are
 * overwritten by what follows. When the worst-case reservation would pass the buffer's cap (a
 * capped formatter buffer near its limit), the rest of the text goes through the exact path,
 * which reserves each piece as it writes it, so a capped buffer fails only when the escaped text
 * really does not fit. Both paths produce the same bytes (the unit tests compare them).
 */
#include "haf/json_write.h"
#include "haf/utf8.h"

static const char hex_digits[] = "0123456789abcdef";

/* The two-character escapes JSON has, by control character; 0 means \u00XX. */
static const char esc_short[0x20] = {
    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
};

/* Input is escaped in chunks of this size, each with room reserved for its worst case (6x). */
#define JSON_WRITE_CHUNK 4096

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

/*
 * The escape for the special byte at s[i] (n bytes in all) into out (room for 6): returns how many
 * bytes it wrote and advances *i past what it consumed. *replaced counts bytes that became U+FFFD.
 */
static inline size_t
escape_one(const unsigned char *s, size_t *i, size_t n, char *out, size_t *replaced)
{
    unsigned char c = s[*i];

    if (c >= 0x80) {
        size_t k = utf8_seq_len(s + *i, n - *i);
        if (k == 0) {
            memcpy(out, "\xEF\xBF\xBD", 3);
            (*replaced)++;
            (*i)++;
            return 3;
        }
        memcpy(out, s + *i, k);
        *i += k;
        return k;
    }
    (*i)++;
    out[0] = '\\';
    if (c == '"' || c == '\\') {
        out[1] = (char)c;
        return 2;
    }
    if (esc_short[c]) {
        out[1] = esc_short[c];
        return 2;
    }
    memcpy(out + 1, "u00", 3);
    out[4] = hex_digits[c >> 4];
    out[5] = hex_digits[c & 0xf];
    return 6;
}

#if defined(__SSE2__)
/*
 * The fast path for text whose only special bytes are '"' and '\\' (our formatter's JSON: a quote
 * every few bytes). 16 input bytes at a time; every quote or backslash of a block is handled from
 * one mask, each by a fixed 16-byte copy of the plain bytes before it (the extra bytes are
 * overwritten next) and the two-byte escape. Stops at a block holding a control character or a
 * byte >= 0x80 (the general path takes those), and 32 bytes before `end`, so the fixed copies
 * never read past the input. The caller reserved room for the worst case.
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

/* One chunk s[i..end) of the n-byte input, into room the caller reserved (6 per byte + 8). A
 * multi-byte character may run up to 3 bytes past `end`; the 8 spare bytes cover that. Returns
 * the input position reached (>= end). */
static size_t
escape_chunk(const unsigned char *s, size_t i, size_t end, size_t n, char **po, size_t *replaced)
{
    char *o = *po;

    while (i < end) {
#if defined(__SSE2__)
        escape_quotes_sse2(s, &i, end, &o);
#endif
        /* Whole words are copied; on a special byte, only the plain bytes before it count. */
        for (;;) {
            uint64_t w, m;

            if (i + 8 > end) {
                while (i < end && byte_is_plain(s[i]))
                    *o++ = (char)s[i++];
                break;
            }
            memcpy(&w, s + i, 8);
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
        if (i >= end)
            break;
        o += escape_one(s, &i, n, o, replaced);
    }
    *po = o;
    return i;
}

/* The exact path: each run or escape reserved as it is written. */
static HAF_MUST_USE enum haf_err
escape_exact(struct buf *b, const unsigned char *s, size_t i, size_t n, size_t *replaced)
{
    enum haf_err e = HAF_OK;

    while (i < n && e == HAF_OK) {
        size_t run = i;
        char tmp[6];

        while (run < n && byte_is_plain(s[run]))
            run++;
        if (run > i) {
            e = buf_add(b, s + i, run - i);
            i = run;
            continue;
        }
        e = buf_add(b, tmp, escape_one(s, &i, n, tmp, replaced));
    }
    return e;
}

enum haf_err
json_write_escaped(struct buf *b, struct span s, size_t *replaced)
{
    const unsigned char *u = (const unsigned char *)s.p;
    size_t mark = b->len, i = 0, bad = 0;
    enum haf_err e = HAF_OK;

    while (i < s.len) {
        size_t end = s.len - i > JSON_WRITE_CHUNK ? i + JSON_WRITE_CHUNK : s.len;
        char *o;

        e = buf_reserve(b, 6 * (end - i) + 8);
        if (e == HAF_ETOOLONG && b->max != 0) {
            e = escape_exact(b, u, i, s.len, &bad);
            break;
        }
        if (e != HAF_OK)
            break;
        o = b->p + b->len;
        i = escape_chunk(u, i, end, s.len, &o, &bad);
        b->len = (size_t)(o - b->p);
    }
    if (e != HAF_OK) {
        b->len = mark;
        bad = 0;
    }
    if (b->p)
        b->p[b->len] = '\0';
    if (replaced != NULL)
        *replaced = bad;
    return e;
}

enum haf_err
json_write_string(struct buf *b, struct span s)
{
    size_t mark = b->len;
    enum haf_err e;

    e = buf_addc(b, '"');
    if (e == HAF_OK)
        e = json_write_escaped(b, s, NULL);
    if (e == HAF_OK)
        e = buf_addc(b, '"');
    if (e != HAF_OK) {
        b->len = mark;
        if (b->p)
            b->p[mark] = '\0';
    }
    return e;
}

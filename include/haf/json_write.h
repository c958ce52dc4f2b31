/*
 * json_write.h: the one JSON string escaper (RFC 8259 section 7) for everything we print or send.
 *
 * Output rules, the same for every caller (the formatter, the PutLogEvents batcher, the checkpoint
 * and `--dry-run` lines): '"' and '\\' get a backslash; the control characters U+0000..U+001F
 * become \b \f \n \r \t or \u00XX (lowercase hex); everything else that is valid UTF-8 by
 * utf8.h's RFC 3629 rules (DEL, U+2028/9 included, which JSON allows) is copied unchanged; each
 * byte that does not start a complete valid sequence becomes U+FFFD (EF BF BD), one per byte, so
 * the output is always valid UTF-8 and valid JSON whatever the input holds.
 *
 * The buffer grows by the exact amount the escaped text needs when it is capped near its limit:
 * json_write fails with HAF_ETOOLONG only when the text really does not fit, and on any failure
 * the buffer is restored to its old length. Pure: no I/O, no logging.
 */
#ifndef HAF_JSON_WRITE_H
#define HAF_JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "haf/buf.h"
#include "haf/err.h"
#include "haf/span.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Appends the body of a JSON string for s (no quotes). *replaced (may be NULL) receives how many
 * input bytes became U+FFFD (0 for valid UTF-8). */
HAF_MUST_USE enum haf_err json_write_escaped(struct buf *b, struct span s, size_t *replaced);
/* Appends s as a complete JSON string, quotes included. */
HAF_MUST_USE enum haf_err json_write_string(struct buf *b, struct span s);

/*
 * True when no byte of s[0..n) needs escaping (none below 0x20 or from 0x80, no '"' or '\\'): the
 * caller may then copy s verbatim between quotes. May say false for a clean string (the escaper
 * then copies it unchanged), never true for one that needs escaping. Inline because the formatter
 * calls it for every member of every entry. Blocks overlap at the end instead of finishing byte
 * by byte.
 */
static inline bool
json_write_plain(const char *s, size_t n)
{
#if defined(__SSE2__)
    if (n >= 16) {
        const __m128i quote = _mm_set1_epi8('"');
        const __m128i bslash = _mm_set1_epi8('\\');
        const __m128i space = _mm_set1_epi8(0x20);
        size_t i = 0;
        for (;;) {
            __m128i v;
            if (n - i < 16)
                i = n - 16;
            v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            /* signed compare: bytes from 0x80 are negative, so below 0x20 too */
            if (_mm_movemask_epi8(
                    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space))) != 0)
                return false;
            i += 16;
            if (i >= n)
                return true;
        }
    }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n >= 8) {
        const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
        size_t i = 0;
        for (;;) {
            uint64_t v, q, b;
            if (n - i < 8)
                i = n - 8;
            memcpy(&v, s + i, 8);
            q = v ^ (ones * '"');
            b = v ^ (ones * '\\');
            if (((v | ((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs) !=
                0)
                return false;
            i += 8;
            if (i >= n)
                return true;
        }
    }
#endif
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
            return false;
    }
    return true;
}

#endif

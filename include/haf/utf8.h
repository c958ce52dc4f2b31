/*
 * utf8.h: the one UTF-8 sequence check (RFC 3629 section 4: no overlongs, no surrogates, nothing
 * above U+10FFFF), shared by the parser (which replaces invalid input), the formatter and the
 * batcher (which must never emit invalid UTF-8: CloudWatch rejects a whole batch for it).
 */
#ifndef HAF_UTF8_H
#define HAF_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid sequence at s (n > 0 bytes, s[0] >= 0x80): 2..4; 0 when invalid; -1 when
 * s holds a valid but incomplete prefix of a sequence (more bytes may complete it). */
static inline int
utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    int len;

    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        if (s[i] < lo || s[i] > hi)
            return 0;
        lo = 0x80;
        hi = 0xBF;
    }
    return len;
}

/* Length of the complete, valid sequence at s (s[0] >= 0x80), else 0. */
static inline size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
    int k = utf8_seq(s, n);

    return k > 0 ? (size_t)k : 0;
}

/* The length of the longest prefix of p[0..len) of at most max bytes that does not end inside a
 * UTF-8 sequence (it backs off over continuation bytes). */
static inline size_t
utf8_cut(const char *p, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)p[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* True when s[0..n) is all valid UTF-8 (ASCII, NUL included, or complete valid sequences). */
static inline bool
utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t k = s[i] < 0x80 ? 1 : utf8_seq_len(s + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

#endif

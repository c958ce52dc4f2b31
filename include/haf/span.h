/*
 * span.h: a borrowed view of untrusted bytes, and the bounded readers we use on them.
 *
 * A span never owns memory and is never assumed to be NUL-terminated. Untrusted text (audit
 * files, HTTP bodies, IMDS answers, YAML scalars) is read only through these helpers: no strlen,
 * sscanf, strtol or locale-dependent <ctype.h> on input. Number readers check for overflow before
 * every multiply and fail without writing their out-parameter.
 */
#ifndef HAF_SPAN_H
#define HAF_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct span {
    const char *p;
    size_t len;
};

#define SPAN_LIT(s) ((struct span){.p = (s), .len = sizeof(s) - 1})
#define SPAN_NULL   ((struct span){.p = NULL, .len = 0})

static inline struct span
span_make(const char *p, size_t len)
{
    return (struct span){.p = p, .len = len};
}

/* Only for trusted, NUL-terminated strings (literals, our own config values). */
static inline struct span
span_cstr(const char *s)
{
    return (struct span){.p = s, .len = s ? strlen(s) : 0};
}

static inline bool
span_eq(struct span a, struct span b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool
span_starts_with(struct span s, struct span prefix)
{
    return s.len >= prefix.len && (prefix.len == 0 || memcmp(s.p, prefix.p, prefix.len) == 0);
}

static inline bool
span_is_blank_char(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static inline struct span
span_trim(struct span s)
{
    while (s.len > 0 && span_is_blank_char(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && span_is_blank_char(s.p[s.len - 1]))
        s.len--;
    return s;
}

/* Whole span must be 1..20 decimal digits that fit in uint64_t. */
static inline bool
span_to_u64_dec(struct span s, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9)
            return false;
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* The value of one hex digit, or -1. */
static inline int
span_hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Whole span must be hex digits (no prefix) that fit in uint64_t. */
static inline bool
span_to_u64_hex(struct span s, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        int d = span_hex_digit((unsigned char)s.p[i]);
        if (d < 0)
            return false;
        if (v > (UINT64_MAX >> 4))
            return false;
        v = (v << 4) | (unsigned)d;
    }
    *out = v;
    return true;
}

#endif

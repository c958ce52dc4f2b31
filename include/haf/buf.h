/*
 * buf.h: an owned, growable byte buffer with a hard cap fixed at creation (after curl's dynbuf).
 *
 * The length is the truth; a NUL is kept after the last byte so the contents can be handed to C
 * APIs, but the bytes may contain NULs of their own. Growing past `max` fails with HAF_ETOOLONG and
 * leaves the buffer as it was. Any call that grows the buffer may move it: pointers into b->p taken
 * before such a call are dead after it.
 */
#ifndef HAF_BUF_H
#define HAF_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "haf/err.h"
#include "haf/span.h"

struct buf {
    char *p;
    size_t len;
    size_t cap;
    size_t max;
    size_t hint; /* 0, or where doubling stops first (buf_set_hint) */
};

/* Zero-length, no allocation yet; a zeroed struct buf is also valid (max 0 means unlimited). */
void buf_init(struct buf *b, size_t max);
/* Overwrites the bytes, then frees them (any buffer may have held a secret; growth wipes too). */
void buf_clean_up(struct buf *b);
/* The same as buf_clean_up: says at the call site that the buffer held a secret. */
void buf_wipe(struct buf *b);
static inline void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}
HAF_MUST_USE enum haf_err buf_reserve(struct buf *b, size_t extra);
/* A buffer that usually stays under `hint` bytes (a batch under its share of a memory budget)
 * grows to exactly `hint` rather than doubling past it, when that is room enough; past the hint
 * it doubles from there. Doubling alone would round a 36 KiB share up to a 64 KiB block. 0: no
 * hint. Takes effect at the next growth; never shrinks the block. */
static inline void
buf_set_hint(struct buf *b, size_t hint)
{
    b->hint = hint;
}
HAF_MUST_USE enum haf_err buf_add(struct buf *b, const void *data, size_t len);
HAF_MUST_USE enum haf_err buf_addc(struct buf *b, char c);
HAF_MUST_USE enum haf_err buf_adds(struct buf *b, const char *s);
HAF_MUST_USE enum haf_err buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
HAF_MUST_USE enum haf_err buf_vaddf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* A NUL-terminated view; "" for an empty, never-grown buffer. */
static inline const char *
buf_cstr(const struct buf *b)
{
    return b->p ? b->p : "";
}
static inline struct span
buf_span(const struct buf *b)
{
    return span_make(b->p, b->len);
}

#endif

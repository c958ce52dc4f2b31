/*
 * audit_internal.h: what audit_parse.c (lines and entries) and audit_fields.c (the fields of one
 * entry) share. The helpers here are static inline because both files call them on the per-line or
 * per-field path; the interface of the parser is haf/audit.h.
 */
#ifndef HAF_AUDIT_INTERNAL_H
#define HAF_AUDIT_INTERNAL_H

#include "haf/audit.h"
#include "haf/span.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Space or tab. Most bytes tested are above ' ', so one compare settles them. */
static inline bool
is_sp(char c)
{
    return (unsigned char)c <= ' ' && (c == ' ' || c == '\t');
}

static inline unsigned
digit(char c)
{
    return (unsigned)(unsigned char)c - '0';
}

static inline void
entry_flag(struct haf_entry *e, const char *reason)
{
    if (e->parse_error == NULL)
        e->parse_error = reason;
}

/* audit_parse.c, for tests: bytes the parser holds in its buffers (their capacities). */
size_t audit_parser_buffer_bytes(const struct audit_parser *p);

/* Line starts remembered per entry, so the field pass needs no second newline search; lines past
 * this (only in odd entries) are found with a search. Fewer than this means every line's start is
 * known. */
#define AUDIT_LINE_STARTS_MAX 32

/* audit_fields.c */

/* Fill e's fields from the lines of a Time entry's text; starts[0..n_starts) are known line
 * starts. */
void entry_parse_fields(struct haf_entry *e, struct span text, const uint32_t *starts,
                        size_t n_starts);

#endif

/*
 * streamname.h: the log stream name template grammar, one owner for checking and expanding it.
 *
 * A template is literal text with placeholders: {hostname} {instance_id} {file} {hsm_id}.
 * CloudWatch stream names are 1..512 characters and may not contain ':' or '*'
 * (docs/cloudwatch-limits.md). config.c checks a template with streamname_check() when a
 * configuration is loaded; the daemon expands it with streamname_expand() for each followed file.
 * Pure: no I/O, no logging.
 */
#ifndef HAF_STREAMNAME_H
#define HAF_STREAMNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "haf/buf.h"
#include "haf/err.h"
#include "haf/span.h"

#define STREAMNAME_MAX_BYTES 512

enum streamname_problem_kind {
    STREAMNAME_OK,
    STREAMNAME_TOO_LONG,         /* the template is over STREAMNAME_MAX_BYTES */
    STREAMNAME_FORBIDDEN_CHAR,   /* ':' or '*' in the literal text */
    STREAMNAME_UNBALANCED_CLOSE, /* a '}' without its '{' (at offset) */
    STREAMNAME_UNTERMINATED,     /* a '{' without its '}' (at offset) */
    STREAMNAME_UNKNOWN,          /* an unknown placeholder (name) */
    STREAMNAME_HSM_ID_UNSET,     /* {hsm_id} used by a source that sets no hsm_id */
};

struct streamname_problem {
    enum streamname_problem_kind kind;
    size_t offset;    /* of the offending character */
    struct span name; /* STREAMNAME_UNKNOWN: the placeholder's name, inside the template */
};

/* Check a template. HAF_OK, or HAF_EINVAL with *out saying what is wrong (the first problem). */
HAF_MUST_USE enum haf_err streamname_check(const char *tmpl, bool has_hsm_id,
                                           struct streamname_problem *out);

/* The values placeholders expand to (NULL: a stand-in, "unknown-instance", "unknown-hsm"). */
struct streamname_values {
    const char *hostname;
    const char *instance_id;
    const char *path; /* {file} is its last component */
    const char *hsm_id;
};

/* Expand a checked template into out (reset first). ':' and '*' in values become '_'. The
 * result is at most STREAMNAME_MAX_BYTES, a longer one shortened deterministically (streamname.c).
 * Memory is bounded whatever the lengths of the values. HAF_ENOMEM when out cannot grow to 512. */
HAF_MUST_USE enum haf_err streamname_expand(const char *tmpl, const struct streamname_values *v,
                                            struct buf *out);

#endif

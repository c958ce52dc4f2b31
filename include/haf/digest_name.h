/*
 * digest_name.h: the names of digest streams (digest.log_stream, "P{stream}S") and the data
 * stream names that have their form.
 *
 * A data stream whose name has the form of a digest stream name, in the digest streams' log
 * group, could be the digest stream of another data stream: one stream would then get both
 * entries and digest records, and the daemon could not tell the acknowledgements apart. Such a
 * name is refused by the configuration check when it is static, and renamed deterministically
 * when it comes from a file (digest_name_unreserve). Pure: no I/O, no logging.
 */
#ifndef HAF_DIGEST_NAME_H
#define HAF_DIGEST_NAME_H

#include <stdbool.h>

#include "haf/buf.h"
#include "haf/err.h"

/* Whether name has the form of digest.log_stream tmpl (which contains "{stream}"): it starts
 * with the text before {stream}, ends with the text after it, and has at least one byte between
 * them. A tmpl without {stream} matches nothing. */
bool digest_name_match(const char *tmpl, const char *name);

/* When *name has the form of tmpl, rewrites it so that it has not, deterministically: ".data"
 * appended (or, when that still matches, ".data_"); when tmpl ends with {stream}, "data."
 * prepended (or "_data."). The result stays within STREAMNAME_MAX_BYTES (the
 * name is cut at a UTF-8 character boundary first). HAF_OK with *changed telling whether it was
 * rewritten; HAF_EINVAL when tmpl is "{stream}" (every name matches; config.c refuses it in the
 * data streams' group); HAF_ENOMEM. */
HAF_MUST_USE enum haf_err digest_name_unreserve(const char *tmpl, struct buf *name, bool *changed);

#endif

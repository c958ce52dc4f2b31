/*
 * checkpoint_internal.h: what checkpoint.c (the state model and its parser), checkpoint_write.c
 * (its serializer) and checkpoint_file.c (the file on disk: atomic save, checked load) share. Not
 * for other callers.
 */
#ifndef HAF_CHECKPOINT_INTERNAL_H
#define HAF_CHECKPOINT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "haf/buf.h"

#define CKPT_VERSION   2 /* of the format; a newer file is refused (checkpoint.c: the rule) */
#define CKPT_NAME      "state.json"
#define CKPT_TMP_NAME  "state.json.tmp"
#define CKPT_MAX_BYTES (64u * 1024 * 1024)

/* Whether s[0..n) is exactly one JSON object (checkpoint_write.c; allocates nothing). */
bool ckpt_json_object_valid(const char *s, size_t n);

/* Appends a formatted message to msg (NULL accepted); a failure to grow msg is ignored. */
void ckpt_msgf(struct buf *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

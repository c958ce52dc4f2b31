/*
 * printable.h: bounded, printable copies of untrusted short texts, for messages.
 *
 * Server error messages and types, transport error texts and error codes end up in log lines and
 * in `why` strings. These copies make them safe there: bounded by the destination, NUL-terminated,
 * never a control byte. One place, so the rule is the same wherever such a text is shown (there
 * were four helpers written differently). Pure, no allocation.
 */
#ifndef HAF_PRINTABLE_H
#define HAF_PRINTABLE_H

#include <stddef.h>

#include "haf/span.h"

/* Printable ASCII is kept; other control bytes (and DEL) become ' ', bytes 0x80 and up '?'. Cut
 * to dst_len - 1 bytes. Nothing is written when dst_len is 0. */
void printable_copy(char *dst, size_t dst_len, struct span v);

/* Only A-Z a-z 0-9 '.' '_' '-' are kept (error codes such as "InvalidClientTokenId"); every
 * other byte is dropped. Cut to dst_len - 1 bytes. Nothing is written when dst_len is 0. */
void printable_token(char *dst, size_t dst_len, struct span v);

#endif

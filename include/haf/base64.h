/*
 * base64.h: standard base64 (RFC 4648 section 4, with padding) for signatures and KMS blobs.
 *
 * The decoder is strict because its input is untrusted (digest records read back from
 * CloudWatch, KMS answers): padding required, no whitespace, and the trailing bits of the last
 * group must be zero, so every byte string has exactly one accepted encoding.
 */
#ifndef HAF_BASE64_H
#define HAF_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "haf/buf.h"
#include "haf/err.h"
#include "haf/span.h"

/* Appends the encoding of data to out. */
HAF_MUST_USE enum haf_err base64_encode(const void *data, size_t len, struct buf *out);

/* Decodes `in` into a fresh heap array (*out, *out_len; freed by the caller) of at most max_len
 * bytes. HAF_EPARSE for anything not canonical base64 (also the empty string), HAF_ETOOLONG over
 * max_len; *out is written only on success. */
HAF_MUST_USE enum haf_err base64_decode(struct span in, size_t max_len, uint8_t **out,
                                        size_t *out_len);

#endif

/*
 * fuzz_digest.c: digest_record_parse on arbitrary bytes (verify reads these records from
 * CloudWatch, where anyone allowed to write the digest stream could have put them). Whatever
 * parses must serialize, parse back, and serialize to the same bytes (a fixed point), and its
 * canonical hash must be computable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haf/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct digest_record r, again;
    struct buf why, out, out2;
    uint8_t h[32];

    buf_init(&why, 0);
    buf_init(&out, 0);
    buf_init(&out2, 0);
    if (digest_record_parse(span_make((const char *)data, size), &r, &why) == HAF_OK) {
        if (digest_record_json(&r, &out) != HAF_OK || digest_record_hash(&r, h) != HAF_OK)
            abort();
        if (digest_record_parse(buf_span(&out), &again, &why) != HAF_OK)
            abort();
        if (digest_record_json(&again, &out2) != HAF_OK)
            abort();
        if (out.len != out2.len || memcmp(out.p, out2.p, out.len) != 0)
            abort();
        digest_record_clean_up(&again);
        digest_record_clean_up(&r);
    }
    buf_clean_up(&why);
    buf_clean_up(&out);
    buf_clean_up(&out2);
    return 0;
}

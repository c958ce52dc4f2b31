/*
 * fuzz_json_write.c: the one JSON string escaper over arbitrary bytes. Beyond "no crash, no leak,
 * no UB", every input must give a JSON string that jansson parses back; valid UTF-8 input (NULs
 * included) must come back byte for byte; anything else must come back with one U+FFFD per
 * replaced byte, as many as json_write_escaped reported; the output must be valid UTF-8; and the
 * exact path (a buffer capped at the escaped length) must write the same bytes as the fast one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "haf/json_write.h"
#include "haf/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct span in = span_make((const char *)data, size);
    struct buf fast, exact;
    size_t replaced = 0, replaced_exact = 0;
    json_error_t jerr;
    json_t *v;

    buf_init(&fast, 0);
    if (buf_addc(&fast, '"') != HAF_OK || json_write_escaped(&fast, in, &replaced) != HAF_OK ||
        buf_addc(&fast, '"') != HAF_OK)
        abort();
    if (!utf8_valid((const unsigned char *)fast.p, fast.len))
        abort();
    v = json_loadb(fast.p, fast.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!json_is_string(v))
        abort();
    if (replaced == 0) {
        if (!utf8_valid(data, size) || json_string_length(v) != size ||
            (size > 0 && memcmp(json_string_value(v), data, size) != 0))
            abort();
    } else if (utf8_valid(data, size) || json_string_length(v) != size + 2 * replaced) {
        abort(); /* each replaced byte (1) became U+FFFD (3 bytes) */
    }
    json_decref(v);
    buf_init(&exact, fast.len);
    if (buf_addc(&exact, '"') != HAF_OK ||
        json_write_escaped(&exact, in, &replaced_exact) != HAF_OK ||
        buf_addc(&exact, '"') != HAF_OK || exact.len != fast.len ||
        memcmp(exact.p, fast.p, fast.len) != 0 || replaced_exact != replaced)
        abort();
    buf_clean_up(&exact);
    buf_clean_up(&fast);
    return 0;
}

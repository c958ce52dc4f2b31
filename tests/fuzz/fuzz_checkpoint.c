/*
 * fuzz_checkpoint.c: ckpt_parse on arbitrary bytes. Whatever parses must serialize, and the
 * serialization must parse back to a state that serializes identically (a fixed point).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haf/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ckpt_state s, again;
    struct buf msg, out, out2;

    ckpt_state_init(&s);
    ckpt_state_init(&again);
    buf_init(&msg, 0);
    buf_init(&out, 0);
    buf_init(&out2, 0);
    if (ckpt_parse((const char *)data, size, &s, &msg) == HAF_OK) {
        if (ckpt_serialize(&s, &out) != HAF_OK)
            abort();
        if (ckpt_parse(out.p, out.len, &again, &msg) != HAF_OK)
            abort();
        if (ckpt_serialize(&again, &out2) != HAF_OK)
            abort();
        if (out.len != out2.len || memcmp(out.p, out2.p, out.len) != 0)
            abort();
    }
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&again);
    buf_clean_up(&msg);
    buf_clean_up(&out);
    buf_clean_up(&out2);
    return 0;
}

/*
 * fuzz_config.c: config_load_buffer on arbitrary bytes, then config_dump on whatever loaded.
 * Must never crash, leak or read out of bounds; a config that loads must dump, and its dump must
 * load again (the dump is documented as a valid config).
 */
#include <stdint.h>
#include <stdlib.h>

#include "haf/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct haf_config *cfg = NULL, *again = NULL;
    struct buf err, out;

    buf_init(&err, 0);
    buf_init(&out, 0);
    if (config_load_buffer("fuzz.yaml", (const char *)data, size, &cfg, &err) == HAF_OK) {
        if (config_dump(cfg, &out) != HAF_OK)
            abort();
        if (config_load_buffer("dump.yaml", out.p, out.len, &again, &err) != HAF_OK)
            abort();
        config_free(again);
        config_free(cfg);
    }
    buf_clean_up(&err);
    buf_clean_up(&out);
    return 0;
}

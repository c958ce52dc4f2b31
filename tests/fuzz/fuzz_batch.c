/*
 * fuzz_batch.c: the batcher on arbitrary messages, timestamps and limits. Input: byte 0 picks the
 * limits (max_events 1..16, max_bytes 27..1050 or the CloudWatch maxima), then records
 * [1 byte time step][1 byte length][that many message bytes] until the input ends; a record's
 * step 0xff makes the timestamp go backwards by a little. Checked for every input (abort() on
 * violation):
 *  - batch_add succeeds exactly when batch_check said BATCH_FITS (modulo invalid UTF-8 growing
 *    the message past the limits), and a refused add changes nothing;
 *  - after every add: count <= max_events, the formula sum <= max_bytes, payload_bytes equals
 *    the sum of msg_bytes + 26, timestamps non-decreasing, span < 24 h;
 *  - every finished body is a JSON object by jansson with exactly the events added, each message
 *    of msg_bytes bytes whose hash is msg_hash; each event's body_off/body_len is its object;
 *  - retaining every other event leaves a body with exactly those events;
 *  - batch_split_point cuts within [1, max] and never before a continuation byte when it can.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "haf/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_batch: check failed: %s (line %d)\n", #c, __LINE__);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void
check_invariants(const struct batch *b)
{
    size_t sum = 0;

    CHECK(b->n_ev <= b->limits.max_events);
    for (size_t i = 0; i < b->n_ev; i++) {
        sum += b->ev[i].msg_bytes + BATCH_EVENT_OVERHEAD_BYTES;
        CHECK(b->ev[i].msg_bytes >= 1);
        if (i > 0)
            CHECK(b->ev[i].timestamp_ms >= b->ev[i - 1].timestamp_ms);
    }
    CHECK(sum == b->payload_bytes);
    CHECK(sum <= b->limits.max_bytes);
    if (b->n_ev > 0)
        CHECK(b->ev[b->n_ev - 1].timestamp_ms - b->ev[0].timestamp_ms < BATCH_MAX_SPAN_MS);
}

static void
check_body(struct batch *b)
{
    struct span body;
    json_error_t jerr;
    json_t *root, *evs;

    if (b->n_ev == 0) {
        CHECK(batch_finish(b, &body) == HAF_EINVAL);
        return;
    }
    CHECK(batch_finish(b, &body) == HAF_OK);
    root = json_loadb(body.p, body.len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    CHECK(root != NULL);
    evs = json_object_get(root, "logEvents");
    CHECK(json_array_size(evs) == b->n_ev);
    for (size_t i = 0; i < b->n_ev; i++) {
        json_t *e = json_array_get(evs, i);
        json_t *m = json_object_get(e, "message");
        json_t *obj;

        CHECK(json_integer_value(json_object_get(e, "timestamp")) == b->ev[i].timestamp_ms);
        CHECK(json_string_length(m) == b->ev[i].msg_bytes);
        CHECK(batch_message_hash(json_string_value(m), json_string_length(m)) == b->ev[i].msg_hash);
        obj = json_loadb(body.p + b->ev[i].body_off, b->ev[i].body_len, JSON_ALLOW_NUL, &jerr);
        CHECK(obj != NULL);
        CHECK(json_equal(obj, e));
        json_decref(obj);
    }
    json_decref(root);
}

static void
check_split(struct span m, size_t max)
{
    size_t k = batch_split_point(m, max);

    if (max >= m.len) {
        CHECK(k == m.len);
        return;
    }
    CHECK(k <= max);
    CHECK(max == 0 ? k == 0 : k >= 1);
    if (k < max)
        CHECK(((unsigned char)m.p[k] & 0xc0) != 0x80);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct batch_limits lim = {BATCH_MAX_EVENTS, BATCH_MAX_BYTES};
    struct batch b;
    int64_t ts = 1700000000000LL;
    size_t i = 1;
    bool *keep = NULL;

    if (size < 1)
        return 0;
    if (data[0] < 0xf0) {
        lim.max_events = 1 + data[0] % 16;
        lim.max_bytes = 27 + (uint32_t)(data[0] >> 4) * 70;
    }
    CHECK(batch_init(&b, &lim, "/fuzz/group", "stream \"1\"") == HAF_OK);
    while (i + 2 <= size) {
        uint8_t step = data[i], len = data[i + 1];
        struct span m;
        enum batch_fit fit;
        size_t before_len = b.body.len, before_n = b.n_ev;
        enum haf_err e;

        i += 2;
        if (len > size - i)
            len = (uint8_t)(size - i);
        m = span_make((const char *)data + i, len);
        i += len;
        ts = step == 0xff ? ts - 3 : ts + (int64_t)step * step * step * 40000LL;
        check_split(m, step % 8);
        fit = batch_check(&b, ts, m.len);
        e = batch_add(&b, ts, m, NULL);
        if (fit != BATCH_FITS) {
            CHECK(e == HAF_EINVAL);
        } else {
            CHECK(e == HAF_OK || e == HAF_EINVAL); /* EINVAL: U+FFFD grew it past a limit */
        }
        if (e != HAF_OK) {
            CHECK(b.n_ev == before_n && b.body.len == before_len);
        }
        check_invariants(&b);
        if (fit == BATCH_FULL || fit == BATCH_TIME_SPAN || fit == BATCH_TIME_ORDER) {
            check_body(&b);
            batch_reset(&b);
            if (batch_check(&b, ts, m.len) == BATCH_FITS) {
                e = batch_add(&b, ts, m, NULL);
                CHECK(e == HAF_OK || e == HAF_EINVAL);
            }
            check_invariants(&b);
        }
    }
    check_body(&b);
    if (b.n_ev > 0) {
        size_t n = b.n_ev, kept = 0;
        keep = calloc(n, sizeof(*keep));
        CHECK(keep != NULL);
        for (size_t k = 0; k < n; k += 2) {
            keep[k] = true;
            kept++;
        }
        CHECK(batch_retain(&b, keep) == HAF_OK);
        CHECK(b.n_ev == kept);
        check_invariants(&b);
        check_body(&b);
    }
    free(keep);
    batch_clean_up(&b);
    return 0;
}

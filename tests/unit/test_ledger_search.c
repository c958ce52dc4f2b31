/*
 * test_ledger_search.c: the replay ledger's records and searches (ledger_search.h) over records in
 * memory: encode/decode round trips at the extremes, the header check with its exact errors, the
 * sorted search (empty, one record, a pair acknowledged with several texts, runs across block
 * boundaries, the cursor on an in-order walk, a reader failing), the linear search, and an
 * unsorted "sorted" sequence answered without reading outside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haf/ledger_search.h"

struct mem {
    struct replay_mark *rec;
    uint64_t n;
    size_t reads;
    uint64_t fail_at; /* a read touching this index fails; UINT64_MAX for none */
};

static enum haf_err
mem_read(void *ctx, uint64_t first, size_t n, struct replay_mark *out)
{
    struct mem *m = ctx;

    assert_true(n >= 1 && n <= LEDGER_BLOCK_RECS);
    assert_true(first < m->n && n <= m->n - first); /* never outside the sequence */
    m->reads++;
    if (m->fail_at >= first && m->fail_at < first + n)
        return HAF_EIO;
    memcpy(out, m->rec + first, n * sizeof(*out));
    return HAF_OK;
}

static struct ledger_reader
reader_of(struct mem *m)
{
    return (struct ledger_reader){.read = mem_read, .ctx = m, .count = m->n};
}

static struct replay_mark
mk(uint64_t r, uint64_t s, uint64_t h)
{
    return (struct replay_mark){.reboot = r, .seq = s, .hash = h};
}

static enum replay_verdict
sorted(struct mem *m, struct ledger_cursor *c, struct replay_mark q)
{
    struct ledger_reader r = reader_of(m);
    enum replay_verdict v = (enum replay_verdict)99;

    assert_int_equal(ledger_search_sorted(&r, c, &q, &v), HAF_OK);
    return v;
}

static enum replay_verdict
linear(struct mem *m, struct replay_mark q)
{
    struct ledger_reader r = reader_of(m);
    enum replay_verdict v = (enum replay_verdict)99;

    assert_int_equal(ledger_search_linear(&r, &q, &v), HAF_OK);
    return v;
}

static void
test_ledger_rec_round_trip_extremes(void **state)
{
    struct replay_mark in[] = {mk(0, 0, 0), mk(UINT64_MAX, UINT64_MAX, UINT64_MAX),
                               mk(1, 0x0102030405060708ULL, 0x8000000000000001ULL)};
    unsigned char raw[LEDGER_REC_BYTES];
    struct replay_mark out;

    (void)state;
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        ledger_rec_encode(&in[i], raw);
        ledger_rec_decode(raw, &out);
        assert_int_equal(ledger_mark_cmp(&in[i], &out), 0);
    }
    /* Little-endian on disk, whatever the host. */
    ledger_rec_encode(&in[2], raw);
    assert_int_equal(raw[8], 0x08);
    assert_int_equal(raw[15], 0x01);
    assert_int_equal(raw[16], 0x01);
    assert_int_equal(raw[23], 0x80);
}

static void
test_ledger_hdr_check_errors(void **state)
{
    unsigned char h[LEDGER_HDR_BYTES];

    (void)state;
    ledger_hdr_encode(h);
    assert_int_equal(ledger_hdr_check(h), HAF_OK);
    h[0] = 'X';
    assert_int_equal(ledger_hdr_check(h), HAF_EPARSE);
    ledger_hdr_encode(h);
    h[23] = 1; /* reserved */
    assert_int_equal(ledger_hdr_check(h), HAF_EPARSE);
    ledger_hdr_encode(h);
    h[8] = 2; /* a newer format */
    assert_int_equal(ledger_hdr_check(h), HAF_EINVAL);
}

static void
test_ledger_mark_cmp_order(void **state)
{
    struct replay_mark a = mk(1, 5, 9), b = mk(1, 5, 10), c = mk(1, 6, 0), d = mk(2, 0, 0);

    (void)state;
    assert_true(ledger_mark_cmp(&a, &b) < 0);
    assert_true(ledger_mark_cmp(&b, &c) < 0);
    assert_true(ledger_mark_cmp(&c, &d) < 0);
    assert_true(ledger_mark_cmp(&d, &a) > 0);
    assert_int_equal(ledger_verdict_merge(REPLAY_UNKNOWN, REPLAY_DIFFERENT), REPLAY_DIFFERENT);
    assert_int_equal(ledger_verdict_merge(REPLAY_DIFFERENT, REPLAY_SAME), REPLAY_SAME);
    assert_int_equal(ledger_verdict_merge(REPLAY_UNKNOWN, REPLAY_UNKNOWN), REPLAY_UNKNOWN);
}

static void
test_ledger_search_sorted_empty_and_one(void **state)
{
    struct replay_mark one = mk(7, 3, 33);
    struct mem m = {.rec = &one, .n = 0, .fail_at = UINT64_MAX};

    (void)state;
    assert_int_equal(sorted(&m, NULL, mk(7, 3, 33)), REPLAY_UNKNOWN);
    assert_int_equal(m.reads, 0);
    m.n = 1;
    assert_int_equal(sorted(&m, NULL, mk(7, 3, 33)), REPLAY_SAME);
    assert_int_equal(sorted(&m, NULL, mk(7, 3, 34)), REPLAY_DIFFERENT);
    assert_int_equal(sorted(&m, NULL, mk(7, 2, 33)), REPLAY_UNKNOWN);
    assert_int_equal(sorted(&m, NULL, mk(7, 4, 33)), REPLAY_UNKNOWN);
    assert_int_equal(sorted(&m, NULL, mk(6, 3, 33)), REPLAY_UNKNOWN);
}

/* 10,000 records, sequence numbers 0..9999 (even ones acknowledged with two texts, hashes s and
 * s + 1), over reboot counters 1 and 2 (the first 4000 records on 1). */
static struct mem
big_ledger(void)
{
    struct mem m = {.n = 10000, .fail_at = UINT64_MAX};
    uint64_t k = 0;

    m.rec = calloc(m.n, sizeof(*m.rec));
    assert_non_null(m.rec);
    for (uint64_t s = 0; k < m.n; s++) {
        uint64_t r = k < 4000 ? 1 : 2;
        m.rec[k++] = mk(r, s, s * 3);
        if (s % 2 == 0 && k < m.n)
            m.rec[k++] = mk(r, s, s * 3 + 1);
    }
    for (uint64_t i = 1; i < m.n; i++)
        assert_true(ledger_mark_cmp(&m.rec[i - 1], &m.rec[i]) < 0);
    return m;
}

static void
test_ledger_search_sorted_every_record(void **state)
{
    struct mem m = big_ledger();

    (void)state;
    for (uint64_t i = 0; i < m.n; i++) {
        struct replay_mark q = m.rec[i];
        assert_int_equal(sorted(&m, NULL, q), REPLAY_SAME);
        q.hash += 1000003;
        assert_int_equal(sorted(&m, NULL, q), REPLAY_DIFFERENT);
    }
    assert_int_equal(sorted(&m, NULL, mk(1, 1000000, 0)), REPLAY_UNKNOWN);
    assert_int_equal(sorted(&m, NULL, mk(3, 0, 0)), REPLAY_UNKNOWN);
    assert_int_equal(sorted(&m, NULL, mk(0, UINT64_MAX, 0)), REPLAY_UNKNOWN);
    free(m.rec);
}

/* A copy read in order costs about one block read per LEDGER_BLOCK_RECS entries, not a binary
 * search each; the answers are the same as without the cursor. */
static void
test_ledger_search_sorted_cursor_walk(void **state)
{
    struct mem m = big_ledger();
    struct ledger_cursor *c = malloc(sizeof(*c));
    size_t lookups = 0;

    (void)state;
    assert_non_null(c);
    ledger_cursor_reset(c);
    for (uint64_t i = 0; i < m.n; i++) {
        assert_int_equal(sorted(&m, c, m.rec[i]), REPLAY_SAME);
        lookups++;
    }
    /* Without a cursor: ~14 probes + 1 block per lookup. With it: a few reads per block. */
    assert_true(m.reads < lookups / 4);
    /* A jump backwards and a miss inside the block stay right. */
    assert_int_equal(sorted(&m, c, m.rec[5]), REPLAY_SAME);
    assert_int_equal(sorted(&m, c, mk(m.rec[6].reboot, m.rec[6].seq, 424242)), REPLAY_DIFFERENT);
    assert_int_equal(sorted(&m, c, mk(1, 1, 3)), REPLAY_SAME);
    free(c);
    free(m.rec);
}

/* Many records with one pair (a pair acknowledged with many texts), spanning blocks. */
static void
test_ledger_search_sorted_run_across_blocks(void **state)
{
    struct mem m = {.n = 3 * LEDGER_BLOCK_RECS + 7, .fail_at = UINT64_MAX};
    struct ledger_cursor c;

    (void)state;
    m.rec = calloc(m.n, sizeof(*m.rec));
    assert_non_null(m.rec);
    m.rec[0] = mk(5, 1, 0);
    for (uint64_t i = 1; i < m.n - 1; i++)
        m.rec[i] = mk(5, 2, i);
    m.rec[m.n - 1] = mk(5, 3, 0);
    ledger_cursor_reset(&c);
    assert_int_equal(sorted(&m, &c, mk(5, 2, m.n - 2)), REPLAY_SAME);
    assert_int_equal(sorted(&m, &c, mk(5, 2, 1)), REPLAY_SAME);
    assert_int_equal(sorted(&m, &c, mk(5, 2, m.n + 5)), REPLAY_DIFFERENT);
    assert_int_equal(sorted(&m, &c, mk(5, 3, 0)), REPLAY_SAME);
    free(m.rec);
}

static void
test_ledger_search_reader_failure_is_returned(void **state)
{
    struct mem m = big_ledger();
    struct ledger_reader r = reader_of(&m);
    struct replay_mark q = m.rec[9000];
    enum replay_verdict v = (enum replay_verdict)99;

    (void)state;
    m.fail_at = 9000;
    assert_int_equal(ledger_search_sorted(&r, NULL, &q, &v), HAF_EIO);
    assert_int_equal(v, 99); /* not written */
    assert_int_equal(ledger_search_linear(&r, &q, &v), HAF_EIO);
    assert_int_equal(v, 99);
    free(m.rec);
}

static void
test_ledger_search_linear_any_order(void **state)
{
    struct replay_mark recs[400];
    struct mem m = {.rec = recs, .n = 400, .fail_at = UINT64_MAX};

    (void)state;
    for (uint64_t i = 0; i < 400; i++)
        recs[i] = mk(9, (i * 7919) % 400, i);
    assert_int_equal(linear(&m, recs[399]), REPLAY_SAME);
    assert_int_equal(linear(&m, mk(9, recs[0].seq, 1000)), REPLAY_DIFFERENT);
    assert_int_equal(linear(&m, mk(9, 400, 0)), REPLAY_UNKNOWN);
    m.n = 0;
    assert_int_equal(linear(&m, recs[0]), REPLAY_UNKNOWN);
}

/* A corrupt (unsorted) main sequence: answers may be wrong, but reads stay inside it (mem_read
 * asserts that) and the search ends. */
static void
test_ledger_search_sorted_unsorted_input_is_safe(void **state)
{
    struct replay_mark recs[1000];
    struct mem m = {.rec = recs, .n = 1000, .fail_at = UINT64_MAX};
    struct ledger_cursor c;

    (void)state;
    srand(7);
    for (size_t i = 0; i < 1000; i++)
        recs[i] = mk((uint64_t)rand() % 3, (uint64_t)rand() % 50, (uint64_t)rand() % 4);
    ledger_cursor_reset(&c);
    for (size_t i = 0; i < 2000; i++) {
        struct replay_mark q = mk((uint64_t)rand() % 3, (uint64_t)rand() % 50, 0);
        (void)sorted(&m, i % 2 ? &c : NULL, q);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_rec_round_trip_extremes),
        cmocka_unit_test(test_ledger_hdr_check_errors),
        cmocka_unit_test(test_ledger_mark_cmp_order),
        cmocka_unit_test(test_ledger_search_sorted_empty_and_one),
        cmocka_unit_test(test_ledger_search_sorted_every_record),
        cmocka_unit_test(test_ledger_search_sorted_cursor_walk),
        cmocka_unit_test(test_ledger_search_sorted_run_across_blocks),
        cmocka_unit_test(test_ledger_search_reader_failure_is_returned),
        cmocka_unit_test(test_ledger_search_linear_any_order),
        cmocka_unit_test(test_ledger_search_sorted_unsorted_input_is_safe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

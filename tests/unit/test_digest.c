/*
 * test_digest.c: known answers for the leaf, events hash and chain (computed independently with
 * Python's hashlib, see the comments), the canonical record bytes, the accumulator (heartbeats,
 * sequence numbers, prev hashes, late events, the full limit) and the untrusted record parser
 * (round trip and every kind of malformed record it must refuse, with the exact error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haf/digest.h"

static void
hex_of(const uint8_t *p, char out[65])
{
    digest_hex(p, 32, out);
}

/* python3: hashlib.sha256(b"haf-leaf-v1\0" + struct.pack(">qQ", ts, len(m)) + m).hexdigest() */
static void
test_digest_leaf_known_answer(void **state)
{
    uint8_t h[32];
    char hex[65];

    (void)state;
    assert_int_equal(digest_leaf(1516815865013, SPAN_LIT("hello"), h), HAF_OK);
    hex_of(h, hex);
    assert_string_equal(hex, "df7ca3c2360bc5e3131df83ef8b89ddc526ebeeceb552062e84e3965e6799be4");
    assert_int_equal(digest_leaf(5, SPAN_NULL, h), HAF_OK);
    hex_of(h, hex);
    assert_string_equal(hex, "b19ec7b5534f86a78fd74877a4d4e9625391127e2bc0fcd7a8e75e25ca8271a5");
}

/* The length prefix: ("ab" at t) and ("a" at t, then "b") can never collide; NUL bytes count. */
static void
test_digest_leaf_length_prefixed_and_binary(void **state)
{
    uint8_t a[32], b[32], c[32];

    (void)state;
    assert_int_equal(digest_leaf(1, span_make("a\0b", 3), a), HAF_OK);
    assert_int_equal(digest_leaf(1, span_make("a\0c", 3), b), HAF_OK);
    assert_int_equal(digest_leaf(1, span_make("a\0", 2), c), HAF_OK);
    assert_memory_not_equal(a, b, 32);
    assert_memory_not_equal(a, c, 32);
    assert_int_equal(digest_leaf(2, span_make("a\0b", 3), b), HAF_OK);
    assert_memory_not_equal(a, b, 32);
}

/* python3: sha256(b"haf-events-v1\0" + pack(">Q", n) + b"".join(sorted leaves by (ts, leaf))) */
static void
test_digest_events_hash_known_answer_any_order(void **state)
{
    struct digest_leaf l[3];
    uint8_t h[32], h2[32];
    char hex[65];

    (void)state;
    assert_int_equal(digest_events_hash(NULL, 0, h), HAF_OK);
    hex_of(h, hex);
    assert_string_equal(hex, "bd5e18dbafc21bef1a484c64252c7210db250b9aba340fbd3127a529400ce43b");

    l[0].ts_ms = 1516815865013;
    assert_int_equal(digest_leaf(l[0].ts_ms, SPAN_LIT("hello"), l[0].hash), HAF_OK);
    l[1].ts_ms = 1516815865013;
    assert_int_equal(digest_leaf(l[1].ts_ms, SPAN_LIT("world"), l[1].hash), HAF_OK);
    l[2].ts_ms = 5;
    assert_int_equal(digest_leaf(5, SPAN_NULL, l[2].hash), HAF_OK);
    assert_int_equal(digest_events_hash(l, 3, h), HAF_OK);
    hex_of(h, hex);
    assert_string_equal(hex, "91cc2b8bf3abc3ab870ad9a5c47baa9e44ae796a01b1ecb3edb87a5d7bd2537a");
    /* now sorted; reversed again gives the same hash */
    assert_true(l[0].ts_ms == 5);
    {
        struct digest_leaf t = l[0];
        l[0] = l[2];
        l[2] = t;
    }
    assert_int_equal(digest_events_hash(l, 3, h2), HAF_OK);
    assert_memory_equal(h, h2, 32);

    /* python3: sha256(b"haf-chain-v1\0" + bytes(32) + events) */
    {
        uint8_t zero[32] = {0}, c[32];

        assert_int_equal(digest_chain_next(zero, h, c), HAF_OK);
        hex_of(c, hex);
        assert_string_equal(hex,
                            "b105b4458dcc325beb8ebbbc3413dfce9869ffb3a284fcafbded31108c37da66");
    }
}

static void
fill_record(struct digest_record *r)
{
    memset(r, 0, sizeof(*r));
    r->kind = DIGEST_KIND_DIGEST;
    r->stream = strdup("host/audit.log");
    r->seq = 7;
    r->time_ms = 1700000000000;
    r->interval_s = 300;
    r->after_ms = 1699999999000;
    r->first_ms = 1699999999500;
    r->last_ms = 1699999999900;
    r->count = 3;
    r->first = (struct digest_pos){true, 263, 5};
    r->last = (struct digest_pos){true, 263, 8};
    r->late = calloc(1, sizeof(*r->late));
    r->n_late = 1;
    r->late[0].ts_ms = 17;
    memset(r->late[0].leaf, 0xab, 32);
    memset(r->events_sha256, 0x01, 32);
    memset(r->chain_sha256, 0x02, 32);
    memset(r->prev_sha256, 0x03, 32);
    r->key_id = strdup("alias/haf \"digest\"");
    r->alg = strdup("ECDSA_SHA_256");
}

#define H64(b) b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b

static const char CANONICAL[] =
    "{\"haf_digest\":1,\"kind\":\"digest\",\"stream\":\"host/audit.log\",\"seq\":7,"
    "\"time_ms\":1700000000000,\"interval_s\":300,\"after_ms\":1699999999000,"
    "\"first_ms\":1699999999500,\"last_ms\":1699999999900,\"count\":3,"
    "\"first\":{\"reboot_counter\":263,\"sequence_no\":5},"
    "\"last\":{\"reboot_counter\":263,\"sequence_no\":8},\"late\":[[17,\"" H64(
        "ab") "\"]],"
              "\"events_sha256\":\"" H64("01") "\",\"chain_sha256\":\"" H64(
                  "02") "\","
                        "\"prev_sha256\":\"" H64("03") "\",\"key_id\":\"alias/haf \\\"digest\\\"\","
                                                       "\"alg\":\"ECDSA_SHA_256\"}";

static void
test_digest_record_canonical_exact_bytes(void **state)
{
    struct digest_record r;
    struct buf b;

    (void)state;
    fill_record(&r);
    buf_init(&b, 0);
    assert_int_equal(digest_record_canonical(&r, &b), HAF_OK);
    assert_string_equal(buf_cstr(&b), CANONICAL);
    /* unsigned: no shipped form */
    assert_int_equal(digest_record_json(&r, &b), HAF_EINVAL);
    r.sig = malloc(4);
    memcpy(r.sig, "\x01\x02\x03\xff", 4);
    r.sig_len = 4;
    assert_int_equal(digest_record_json(&r, &b), HAF_OK);
    /* the shipped text is the canonical bytes with "sig" before the final brace */
    assert_int_equal(b.len, sizeof(CANONICAL) - 1 + strlen(",\"sig\":\"AQID/w==\""));
    assert_memory_equal(b.p, CANONICAL, sizeof(CANONICAL) - 2);
    assert_string_equal(b.p + sizeof(CANONICAL) - 2, ",\"sig\":\"AQID/w==\"}");
    buf_clean_up(&b);
    digest_record_clean_up(&r);
}

static void
test_digest_record_canonical_invalid(void **state)
{
    struct digest_record r;
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    fill_record(&r);
    r.seq = (uint64_t)INT64_MAX + 1;
    assert_int_equal(digest_record_canonical(&r, &b), HAF_EINVAL);
    r.seq = 1;
    free(r.stream);
    r.stream = strdup("bad\xff");
    assert_int_equal(digest_record_canonical(&r, &b), HAF_EINVAL);
    free(r.stream);
    r.stream = strdup("");
    assert_int_equal(digest_record_canonical(&r, &b), HAF_EINVAL);
    free(r.stream);
    r.stream = strdup("ok");
    r.count = 0; /* with positions and a late entry */
    assert_int_equal(digest_record_canonical(&r, &b), HAF_EINVAL);
    r.count = 3;
    r.after_ms = -2;
    assert_int_equal(digest_record_canonical(&r, &b), HAF_EINVAL);
    r.after_ms = -1;
    assert_int_equal(digest_record_canonical(&r, &b), HAF_OK);
    digest_record_clean_up(&r);
    buf_clean_up(&b);
}

static void
test_digest_record_parse_round_trip(void **state)
{
    struct digest_record r, p;
    struct buf b, b2, why;

    (void)state;
    fill_record(&r);
    r.sig = malloc(71);
    memset(r.sig, 0x5a, 71);
    r.sig_len = 71;
    buf_init(&b, 0);
    buf_init(&b2, 0);
    buf_init(&why, 0);
    assert_int_equal(digest_record_json(&r, &b), HAF_OK);
    assert_int_equal(digest_record_parse(buf_span(&b), &p, &why), HAF_OK);
    assert_int_equal(p.sig_len, 71);
    assert_memory_equal(p.sig, r.sig, 71);
    assert_true(p.late[0].ts_ms == 17 && p.n_late == 1);
    assert_true(p.first.present && p.first.sequence_no == 5 && p.last.sequence_no == 8);
    assert_int_equal(digest_record_json(&p, &b2), HAF_OK);
    assert_string_equal(buf_cstr(&b), buf_cstr(&b2));
    {
        uint8_t h1[32], h2[32];
        assert_int_equal(digest_record_hash(&r, h1), HAF_OK);
        assert_int_equal(digest_record_hash(&p, h2), HAF_OK);
        assert_memory_equal(h1, h2, 32);
    }
    digest_record_clean_up(&p);
    digest_record_clean_up(&r);
    buf_clean_up(&b);
    buf_clean_up(&b2);
    buf_clean_up(&why);
}

/* Replace the first occurrence of `from` in the signed JSON of the sample record by `to`. */
static enum haf_err
parse_edited(const char *from, const char *to, struct buf *why)
{
    struct digest_record r, p;
    struct buf b, e;
    enum haf_err rc;
    char *at;

    fill_record(&r);
    r.sig = malloc(3);
    memcpy(r.sig, "abc", 3);
    r.sig_len = 3;
    buf_init(&b, 0);
    buf_init(&e, 0);
    assert_int_equal(digest_record_json(&r, &b), HAF_OK);
    at = strstr(b.p, from);
    assert_non_null(at);
    assert_int_equal(buf_add(&e, b.p, (size_t)(at - b.p)), HAF_OK);
    assert_int_equal(buf_adds(&e, to), HAF_OK);
    assert_int_equal(buf_adds(&e, at + strlen(from)), HAF_OK);
    rc = digest_record_parse(buf_span(&e), &p, why);
    if (rc == HAF_OK)
        digest_record_clean_up(&p);
    digest_record_clean_up(&r);
    buf_clean_up(&b);
    buf_clean_up(&e);
    return rc;
}

static void
expect_refused(const char *from, const char *to, const char *why_part)
{
    struct buf why;

    buf_init(&why, 0);
    assert_int_equal(parse_edited(from, to, &why), HAF_EPARSE);
    if (!strstr(buf_cstr(&why), why_part))
        fail_msg("'%s' -> '%s': why is '%s', expected '%s'", from, to, buf_cstr(&why), why_part);
    buf_clean_up(&why);
}

/* Edits of the sample record's signed JSON that the parser must refuse, and why. */
static const struct {
    const char *from, *to, *why;
} REFUSED[] = {
    {"\"haf_digest\":1", "\"haf_digest\":2", "schema version 2"},
    {"\"haf_digest\":1", "\"haf_digest\":1.0", "haf_digest: not an integer"},
    {"\"kind\":\"digest\"", "\"kind\":\"Digest\"", "kind:"},
    {"\"seq\":7", "\"seq\":0", "seq: below 1"},
    {"\"seq\":7", "\"seq\":\"7\"", "seq: not an integer"},
    {"\"seq\":7", "\"seq\":9223372036854775808", "not a JSON object"},
    {"\"seq\":7,", "", "has 18 keys"},
    {"\"seq\":7", "\"seq\":7,\"extra\":1", "has 20 keys"},
    {"\"seq\":7", "\"sEq\":7", "seq: missing"},
    {"\"seq\":7", "\"seq\":7,\"seq\":8", "not a JSON object"},
    {"\"after_ms\":1699999999000", "\"after_ms\":-2", "after_ms: below -1"},
    {"\"stream\":\"host/audit.log\"", "\"stream\":\"\"", "stream: empty"},
    {"\"stream\":\"host/audit.log\"", "\"stream\":\"a\\u0000b\"", "not a JSON object"},
    {"\"stream\":\"host/audit.log\"", "\"stream\":\"\\ud800\"", "not a JSON object"},
    {"\"events_sha256\":\"01", "\"events_sha256\":\"0A", "events_sha256: not 64"},
    {"\"chain_sha256\":\"02", "\"chain_sha256\":\"2", "chain_sha256: not 64"},
    {"\"first\":{\"reboot_counter\":263,", "\"first\":{\"reboot_counter\":-1,", "first: not null"},
    {"\"late\":[[17,", "\"late\":[[-17,", "late[0]"},
    {"\"late\":[[17,", "\"late\":[[17,\"x\"],[17,", "late[0]"},
    {"\"count\":3", "\"count\":0", "inconsistent record"},
    {"\"first_ms\":1699999999500", "\"first_ms\":1699999999901", "first_ms after last_ms"},
    {"\"sig\":\"YWJj\"", "\"sig\":\"YWJ\"", "sig: not canonical"},
    {"\"sig\":\"YWJj\"", "\"sig\":\"YW=j\"", "sig: not canonical"},
    {"\"sig\":\"YWJj\"", "\"sig\":\"YR==\"", "sig: not canonical"},
    {"\"sig\":\"YWJj\"", "\"sig\":\"\"", "sig: not canonical"},
    {"\"sig\":\"YWJj\"", "\"sig\":\"====\"", "sig: not canonical"},
    {"{", "[", "not a JSON object"},
};

static void
test_digest_record_parse_refuses_malformed(void **state)
{
    struct buf why;

    (void)state;
    buf_init(&why, 0);
    assert_int_equal(parse_edited("\"seq\":7", "\"seq\":7", &why), HAF_OK); /* the baseline */
    for (size_t i = 0; i < sizeof(REFUSED) / sizeof(REFUSED[0]); i++)
        expect_refused(REFUSED[i].from, REFUSED[i].to, REFUSED[i].why);
    buf_clean_up(&why);
}

static void
test_digest_record_parse_limits(void **state)
{
    struct digest_record p;
    struct buf big, why;

    (void)state;
    buf_init(&big, 0);
    buf_init(&why, 0);
    for (size_t i = 0; i <= DIGEST_RECORD_MAX_BYTES; i++)
        assert_int_equal(buf_addc(&big, ' '), HAF_OK);
    assert_int_equal(digest_record_parse(buf_span(&big), &p, &why), HAF_ETOOLONG);
    assert_int_equal(digest_record_parse(SPAN_NULL, &p, NULL), HAF_EPARSE);
    assert_int_equal(digest_record_parse(SPAN_LIT("{\"haf_digest\":1}"), &p, NULL), HAF_EPARSE);
    buf_clean_up(&big);
    buf_clean_up(&why);
}

static void
test_digest_acc_heartbeat_then_digest_chains(void **state)
{
    struct digest_head h;
    struct digest_acc a;
    struct digest_record r1, r2, r3;
    struct digest_pos p1 = {true, 3, 10}, p2 = {true, 3, 11};
    uint8_t h1[32], zero[32] = {0}, ev[32], ch[32];

    (void)state;
    digest_head_init(&h);
    digest_acc_init(&a, &h);
    assert_int_equal(digest_acc_seal(&a, DIGEST_KIND_DIGEST, "s", 1000, 300, "k", "ED25519", &r1),
                     HAF_OK);
    assert_int_equal(r1.kind, DIGEST_KIND_HEARTBEAT);
    assert_true(r1.seq == 1 && r1.count == 0 && r1.after_ms == -1);
    assert_memory_equal(r1.prev_sha256, zero, 32);
    assert_int_equal(digest_events_hash(NULL, 0, ev), HAF_OK);
    assert_memory_equal(r1.events_sha256, ev, 32);
    assert_int_equal(digest_chain_next(zero, ev, ch), HAF_OK);
    assert_memory_equal(r1.chain_sha256, ch, 32);
    assert_int_equal(digest_record_hash(&r1, h1), HAF_OK);
    assert_memory_equal(a.head.record_sha256, h1, 32);

    assert_int_equal(digest_acc_add(&a, 2000, SPAN_LIT("b"), &p2), HAF_OK);
    assert_int_equal(digest_acc_add(&a, 1500, SPAN_LIT("a"), &p1), HAF_OK);
    assert_int_equal(digest_acc_add(&a, 1700, SPAN_LIT("marker"), NULL), HAF_OK);
    assert_int_equal(digest_acc_count(&a), 3);
    assert_int_equal(
        digest_acc_seal(&a, DIGEST_KIND_HEARTBEAT, "s", 2500, 300, "k", "ED25519", &r2), HAF_OK);
    assert_int_equal(r2.kind, DIGEST_KIND_DIGEST);
    assert_true(r2.seq == 2 && r2.count == 3 && r2.first_ms == 1500 && r2.last_ms == 2000);
    assert_true(r2.first.sequence_no == 11 && r2.last.sequence_no == 10); /* ack order */
    assert_true(r2.after_ms == -1 && r2.n_late == 0);
    assert_memory_equal(r2.prev_sha256, h1, 32);
    assert_int_equal(digest_chain_next(r1.chain_sha256, r2.events_sha256, ch), HAF_OK);
    assert_memory_equal(r2.chain_sha256, ch, 32);
    assert_true(a.head.after_ms == 2000 && a.head.seq == 2 && digest_acc_count(&a) == 0);

    /* a late event (ts <= 2000) is listed with its leaf; a stop record may carry events */
    assert_int_equal(digest_acc_add(&a, 2000, SPAN_LIT("late"), NULL), HAF_OK);
    assert_int_equal(digest_acc_add(&a, 2001, SPAN_LIT("new"), NULL), HAF_OK);
    assert_int_equal(digest_acc_seal(&a, DIGEST_KIND_STOP, "s", 3000, 300, "k", "ED25519", &r3),
                     HAF_OK);
    assert_int_equal(r3.kind, DIGEST_KIND_STOP);
    assert_true(r3.after_ms == 2000 && r3.n_late == 1 && r3.late[0].ts_ms == 2000);
    assert_int_equal(digest_leaf(2000, SPAN_LIT("late"), ev), HAF_OK);
    assert_memory_equal(r3.late[0].leaf, ev, 32);
    assert_true(a.head.after_ms == 2001);
    digest_record_clean_up(&r1);
    digest_record_clean_up(&r2);
    digest_record_clean_up(&r3);
    digest_acc_clean_up(&a);
}

static void
test_digest_acc_full_on_late_limit(void **state)
{
    struct digest_head h;
    struct digest_acc a;
    struct digest_record r;

    (void)state;
    digest_head_init(&h);
    h.after_ms = 100;
    digest_acc_init(&a, &h);
    assert_int_equal(digest_acc_add(&a, -1, SPAN_LIT("x"), NULL), HAF_EINVAL);
    for (int i = 0; i < DIGEST_MAX_LATE; i++) {
        assert_false(digest_acc_full(&a));
        assert_int_equal(digest_acc_add(&a, 50, SPAN_LIT("x"), NULL), HAF_OK);
    }
    assert_true(digest_acc_full(&a));
    assert_int_equal(digest_acc_add(&a, 500, SPAN_LIT("y"), NULL), HAF_ETOOLONG);
    assert_int_equal(digest_acc_count(&a), DIGEST_MAX_LATE);
    assert_int_equal(digest_acc_seal(&a, DIGEST_KIND_DIGEST, "s", 1, 1, "k", "a", &r), HAF_OK);
    assert_int_equal(r.n_late, DIGEST_MAX_LATE);
    assert_true(r.after_ms == 100 && a.head.after_ms == 100); /* late events do not move it */
    assert_false(digest_acc_full(&a));
    digest_record_clean_up(&r);
    digest_acc_clean_up(&a);
}

/* A leaf computed when the event was queued gives the same record as the message itself. */
static void
test_digest_acc_add_leaf_same_record(void **state)
{
    struct digest_head h;
    struct digest_acc a, b;
    struct digest_record ra, rb;
    struct digest_pos p = {true, 1, 9};
    uint8_t leaf[32];

    (void)state;
    digest_head_init(&h);
    digest_acc_init(&a, &h);
    digest_acc_init(&b, &h);
    assert_int_equal(digest_acc_add(&a, 42, SPAN_LIT("m"), &p), HAF_OK);
    assert_int_equal(digest_leaf(42, SPAN_LIT("m"), leaf), HAF_OK);
    assert_int_equal(digest_acc_add_leaf(&b, 42, leaf, &p), HAF_OK);
    assert_int_equal(digest_acc_add_leaf(&b, -1, leaf, &p), HAF_EINVAL);
    assert_int_equal(digest_acc_seal(&a, DIGEST_KIND_DIGEST, "s", 1, 300, "k", "a", &ra), HAF_OK);
    assert_int_equal(digest_acc_seal(&b, DIGEST_KIND_DIGEST, "s", 1, 300, "k", "a", &rb), HAF_OK);
    assert_memory_equal(ra.events_sha256, rb.events_sha256, 32);
    assert_memory_equal(ra.chain_sha256, rb.chain_sha256, 32);
    assert_true(rb.count == 1 && rb.first.sequence_no == 9);
    digest_record_clean_up(&ra);
    digest_record_clean_up(&rb);
    digest_acc_clean_up(&a);
    digest_acc_clean_up(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_leaf_known_answer),
        cmocka_unit_test(test_digest_leaf_length_prefixed_and_binary),
        cmocka_unit_test(test_digest_events_hash_known_answer_any_order),
        cmocka_unit_test(test_digest_record_canonical_exact_bytes),
        cmocka_unit_test(test_digest_record_canonical_invalid),
        cmocka_unit_test(test_digest_record_parse_round_trip),
        cmocka_unit_test(test_digest_record_parse_refuses_malformed),
        cmocka_unit_test(test_digest_record_parse_limits),
        cmocka_unit_test(test_digest_acc_heartbeat_then_digest_chains),
        cmocka_unit_test(test_digest_acc_full_on_late_limit),
        cmocka_unit_test(test_digest_acc_add_leaf_same_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_verify.c: the verification logic over in-memory streams. A small simulation of the daemon
 * (accumulate acknowledged events, seal a signed record every few events, one interval apart)
 * produces a clean stream, which must be proven; then each tamper case of issue 12 must be caught
 * and named: an injected event (inside a sealed range, and after the newest digest), a subset
 * re-created, a digest removed, a digest forged with another key, one byte altered, a heartbeat
 * gap (and none after a clean stop), a reclocked/late entry that must still verify, a duplicated
 * digest delivery that must be harmless, a record of another stream, a malformed record, HSM
 * sequence gaps and reboots in our JSON and in CloudHSM's raw text, and a stream without digests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "haf/digest.h"
#include "haf/sign.h"
#include "haf/verify.h"
#include "testlib.h"

#define MAX_EV  64
#define MAX_REC 16
#define T0      1700000000000LL
#define IVL_S   300

struct sim {
    int64_t ts[MAX_EV];
    char msg[MAX_EV][160];
    size_t n;
    char rec[MAX_REC][4096];
    int64_t rec_ts[MAX_REC];
    size_t nrec;
};

static char *dir;
static struct signer *key_a, *key_b;
static struct sign_pubkey *pub_a;

static struct signer *
make_signer(const char *name, struct sign_pubkey **pub)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    char path[512];
    struct signer *s = NULL;
    struct buf err;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    buf_init(&err, 0);
    assert_int_equal(signer_open_file(path, &s, &err), HAF_OK);
    if (pub) {
        unsigned char *der = NULL;
        int len = i2d_PUBKEY(k, &der);
        assert_int_equal(sign_pubkey_from_der(der, (size_t)len, pub), HAF_OK);
        OPENSSL_free(der);
    }
    buf_clean_up(&err);
    EVP_PKEY_free(k);
    return s;
}

static int
setup(void **state)
{
    (void)state;
    dir = testlib_mkdtemp();
    key_a = make_signer("a.pem", &pub_a);
    key_b = make_signer("b.pem", NULL);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    signer_free(key_a);
    signer_free(key_b);
    sign_pubkey_free(pub_a);
    testlib_rmtree(dir);
    free(dir);
    return 0;
}

/* A signed record of `kind` from the accumulator, as shipped; its CloudWatch time is time_ms. */
static void
seal(struct sim *sm, struct digest_acc *acc, enum digest_kind kind, int64_t time_ms,
     struct signer *key)
{
    struct digest_record r;
    struct buf canon, sig, out;

    buf_init(&canon, 0);
    buf_init(&sig, 0);
    buf_init(&out, 0);
    assert_int_equal(digest_acc_seal(acc, kind, "host/audit.log", time_ms, IVL_S,
                                     signer_key_id(key), signer_alg(key), &r),
                     HAF_OK);
    assert_int_equal(digest_record_canonical(&r, &canon), HAF_OK);
    assert_int_equal(signer_sign(key, buf_span(&canon), &sig, NULL), HAF_OK);
    r.sig = malloc(sig.len);
    memcpy(r.sig, sig.p, sig.len);
    r.sig_len = sig.len;
    assert_int_equal(digest_record_json(&r, &out), HAF_OK);
    assert_true(sm->nrec < MAX_REC && out.len < sizeof(sm->rec[0]));
    memcpy(sm->rec[sm->nrec], out.p, out.len + 1);
    sm->rec_ts[sm->nrec++] = time_ms;
    digest_record_clean_up(&r);
    buf_clean_up(&canon);
    buf_clean_up(&sig);
    buf_clean_up(&out);
}

static void
add_event(struct sim *sm, struct digest_acc *acc, int64_t ts, uint64_t seq)
{
    struct digest_pos pos = {true, 7, seq};

    assert_true(sm->n < MAX_EV);
    snprintf(sm->msg[sm->n], sizeof(sm->msg[0]),
             "{\"time\":\"t\",\"sequence_no\":%llu,\"reboot_counter\":7,\"opcode\":\"x\"}",
             (unsigned long long)seq);
    sm->ts[sm->n] = ts;
    assert_int_equal(digest_acc_add(acc, ts, span_cstr(sm->msg[sm->n]), &pos), HAF_OK);
    sm->n++;
}

/* An empty stream and a fresh chain. */
static void
sim_start(struct sim *sm, struct digest_acc *acc)
{
    struct digest_head h;

    memset(sm, 0, sizeof(*sm));
    digest_head_init(&h);
    digest_acc_init(acc, &h);
}

/* 12 events in 3 records of 4, one interval apart, then a stop record. */
static void
simulate(struct sim *sm)
{
    struct digest_acc acc;

    sim_start(sm, &acc);
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < 4; i++)
            add_event(sm, &acc, T0 + r * IVL_S * 1000 + i * 1000, (uint64_t)(r * 4 + i + 1));
        seal(sm, &acc, DIGEST_KIND_DIGEST, T0 + (r + 1) * IVL_S * 1000, key_a);
    }
    seal(sm, &acc, DIGEST_KIND_STOP, T0 + 3 * IVL_S * 1000 + 500, key_a);
    digest_acc_clean_up(&acc);
}

static void
run(const struct sim *sm, int64_t now_ms, struct verify_report *rep)
{
    struct verify_stream *vs = verify_stream_new("host/audit.log");
    struct verify_opts o = {.key = pub_a, .now_ms = now_ms, .from_start = true};

    assert_non_null(vs);
    for (size_t i = 0; i < sm->n; i++)
        assert_int_equal(verify_add_event(vs, sm->ts[i], span_cstr(sm->msg[i])), HAF_OK);
    for (size_t i = 0; i < sm->nrec; i++)
        assert_int_equal(verify_add_record(vs, sm->rec_ts[i], span_cstr(sm->rec[i])), HAF_OK);
    assert_int_equal(verify_stream_run(vs, &o, rep), HAF_OK);
    assert_int_equal(verify_stream_run(vs, &o, rep), HAF_EINVAL); /* once */
    verify_stream_free(vs);
}

static bool
has_finding(const struct verify_report *r, enum verify_what w, const char *part)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (r->findings[i].what == w && strstr(r->findings[i].text, part))
            return true;
    return false;
}

static void
dump(const struct verify_report *r)
{
    for (size_t i = 0; i < r->n_findings; i++)
        fprintf(stderr, "  %s: %s\n", verify_what_str(r->findings[i].what), r->findings[i].text);
}

static void
test_verify_clean_stream_is_proven(void **state)
{
    struct sim sm;
    struct verify_report r;

    (void)state;
    simulate(&sm);
    run(&sm, T0 + 100LL * IVL_S * 1000, &r); /* long after a clean stop: no gap */
    dump(&r);
    assert_true(r.proven && r.has_records && r.continuity);
    assert_int_equal(r.events, 12);
    assert_int_equal(r.covered, 12);
    assert_int_equal(r.records, 4);
    assert_true(r.injected == 0 && r.missing == 0 && r.altered == 0 && r.chain_breaks == 0 &&
                r.heartbeat_gaps == 0 && r.bad_records == 0 && r.pending == 0);
    verify_report_clean_up(&r);
}

static void
test_verify_injected_event_named(void **state)
{
    struct sim sm;
    struct verify_report r;

    (void)state;
    simulate(&sm);
    sm.ts[sm.n] = T0 + IVL_S * 1000 + 1500; /* inside record 2's range */
    strcpy(sm.msg[sm.n++], "{\"sequence_no\":5,\"reboot_counter\":7,\"opcode\":\"forged\"}");
    run(&sm, 0, &r);
    dump(&r);
    assert_false(r.proven);
    assert_int_equal(r.injected, 1);
    assert_int_equal(r.covered, 12);
    assert_true(r.missing == 0 && r.altered == 0 && r.chain_breaks == 0);
    assert_true(has_finding(&r, VERIFY_INJECTED, "2023-11-14T22:18:21.500Z"));
    verify_report_clean_up(&r);

    /* after the newest digest: pending, not proven */
    simulate(&sm);
    sm.ts[sm.n] = T0 + 10LL * IVL_S * 1000;
    strcpy(sm.msg[sm.n++], "later");
    run(&sm, 0, &r);
    assert_false(r.proven);
    assert_true(r.pending == 1 && r.injected == 0 && r.covered == 12);
    assert_true(has_finding(&r, VERIFY_PENDING, "after the newest digest"));
    verify_report_clean_up(&r);
}

static void
test_verify_subset_recreated_is_missing(void **state)
{
    struct sim sm;
    struct verify_report r;

    (void)state;
    simulate(&sm);
    /* the stream re-created without events 5 and 6 (record 2) */
    memmove(&sm.ts[5], &sm.ts[7], (sm.n - 7) * sizeof(sm.ts[0]));
    memmove(&sm.msg[5], &sm.msg[7], (sm.n - 7) * sizeof(sm.msg[0]));
    sm.n -= 2;
    run(&sm, 0, &r);
    dump(&r);
    assert_false(r.proven);
    assert_int_equal(r.missing, 2);
    assert_int_equal(r.covered, 8);
    assert_true(has_finding(&r, VERIFY_MISSING, "record seq 2 covers 4 events"));
    assert_int_equal(r.sequence_gaps, 1); /* and the HSM numbering shows it too */
    verify_report_clean_up(&r);
}

static void
test_verify_digest_removed_or_forged(void **state)
{
    struct sim sm;
    struct verify_report r;
    struct digest_acc acc;

    (void)state;
    simulate(&sm);
    memmove(&sm.rec[1], &sm.rec[2], (sm.nrec - 2) * sizeof(sm.rec[0]));
    memmove(&sm.rec_ts[1], &sm.rec_ts[2], (sm.nrec - 2) * sizeof(sm.rec_ts[0]));
    sm.nrec--;
    run(&sm, 0, &r);
    dump(&r);
    assert_false(r.proven);
    assert_int_equal(r.chain_breaks, 1);
    assert_true(has_finding(&r, VERIFY_CHAIN_BREAK, "records seq 2..2 missing"));
    assert_int_equal(r.injected, 4); /* its events are covered by nothing */
    verify_report_clean_up(&r);

    /* record 2 replaced by one signed with another key over the same events */
    simulate(&sm);
    {
        struct sim other;
        sim_start(&other, &acc);
        for (int i = 0; i < 4; i++)
            add_event(&other, &acc, sm.ts[i], (uint64_t)i + 1);
        seal(&other, &acc, DIGEST_KIND_DIGEST, sm.rec_ts[0], key_a);
        for (int i = 4; i < 8; i++)
            add_event(&other, &acc, sm.ts[i], (uint64_t)i + 1);
        seal(&other, &acc, DIGEST_KIND_DIGEST, sm.rec_ts[1], key_b);
        digest_acc_clean_up(&acc);
        strcpy(sm.rec[1], other.rec[1]);
    }
    run(&sm, 0, &r);
    dump(&r);
    assert_false(r.proven);
    assert_int_equal(r.bad_records, 1);
    assert_true(has_finding(&r, VERIFY_FORGED, "record seq 2"));
    assert_int_equal(r.chain_breaks, 1);
    verify_report_clean_up(&r);
}

static void
test_verify_one_byte_altered(void **state)
{
    struct sim sm;
    struct verify_report r;

    (void)state;
    simulate(&sm);
    sm.msg[9][strlen(sm.msg[9]) - 3] ^= 1; /* "opcode":"x" -> "y" in event 10 */
    run(&sm, 0, &r);
    dump(&r);
    assert_false(r.proven);
    assert_int_equal(r.altered, 1);
    assert_true(has_finding(&r, VERIFY_ALTERED, "record seq 3"));
    assert_int_equal(r.covered, 8);
    assert_true(r.missing == 0 && r.injected == 0 && r.sequence_gaps == 0);
    verify_report_clean_up(&r);

    /* one byte of a record's signed content (its count) */
    simulate(&sm);
    {
        char *c = strstr(sm.rec[0], "\"count\":4");
        assert_non_null(c);
        c[8] = '5';
    }
    run(&sm, 0, &r);
    assert_false(r.proven);
    assert_int_equal(r.bad_records, 1);
    assert_true(has_finding(&r, VERIFY_FORGED, "signature invalid"));
    verify_report_clean_up(&r);
}

static void
test_verify_heartbeat_gaps(void **state)
{
    struct sim sm;
    struct verify_report r;
    struct digest_acc acc;

    (void)state;
    sim_start(&sm, &acc);
    add_event(&sm, &acc, T0, 1);
    seal(&sm, &acc, DIGEST_KIND_DIGEST, T0 + 1000, key_a);
    seal(&sm, &acc, DIGEST_KIND_HEARTBEAT, T0 + 1000 + IVL_S * 1000, key_a);
    /* killed: nothing for 3 intervals, then the next start's first digest */
    add_event(&sm, &acc, T0 + 4LL * IVL_S * 1000, 2);
    seal(&sm, &acc, DIGEST_KIND_DIGEST, T0 + 4LL * IVL_S * 1000 + 2000, key_a);
    seal(&sm, &acc, DIGEST_KIND_STOP, T0 + 4LL * IVL_S * 1000 + 3000, key_a);
    /* a clean stop, then silence for 10 intervals: no gap */
    add_event(&sm, &acc, T0 + 14LL * IVL_S * 1000, 3);
    seal(&sm, &acc, DIGEST_KIND_DIGEST, T0 + 14LL * IVL_S * 1000 + 1000, key_a);
    digest_acc_clean_up(&acc);
    run(&sm, 0, &r);
    dump(&r);
    assert_int_equal(r.heartbeat_gaps, 1);
    assert_true(has_finding(&r, VERIFY_HEARTBEAT_GAP, "the forwarder was down"));
    assert_true(r.covered == 3 && r.chain_breaks == 0);
    assert_false(r.proven);
    verify_report_clean_up(&r);

    /* silence since the newest (not a stop) digest, up to now */
    run(&sm, T0 + 20LL * IVL_S * 1000, &r);
    assert_int_equal(r.heartbeat_gaps, 2);
    assert_true(has_finding(&r, VERIFY_HEARTBEAT_GAP, "(now)"));
    verify_report_clean_up(&r);
}

static void
test_verify_late_reclocked_and_duplicate_delivery(void **state)
{
    struct sim sm;
    struct verify_report r;
    struct digest_acc acc;

    (void)state;
    sim_start(&sm, &acc);
    add_event(&sm, &acc, T0 + 5000, 1);
    add_event(&sm, &acc, T0 + 6000, 2);
    seal(&sm, &acc, DIGEST_KIND_DIGEST, T0 + 10000, key_a);
    add_event(&sm, &acc, T0 + 5000, 3); /* same timestamp as an earlier, sealed one: late */
    add_event(&sm, &acc, T0 + 1000, 4); /* an old entry shipped late */
    add_event(&sm, &acc, T0 + 7000, 5);
    seal(&sm, &acc, DIGEST_KIND_DIGEST, T0 + 20000, key_a);
    digest_acc_clean_up(&acc);
    /* the second record delivered twice (a resend after a lost answer) */
    strcpy(sm.rec[2], sm.rec[1]);
    sm.rec_ts[2] = sm.rec_ts[1];
    sm.nrec = 3;
    assert_non_null(strstr(sm.rec[1], "\"late\":[[1700000001000,"));
    run(&sm, 0, &r);
    dump(&r);
    assert_true(r.proven);
    assert_int_equal(r.covered, 5);
    assert_int_equal(r.records, 2);
    verify_report_clean_up(&r);
}

static void
test_verify_bad_records(void **state)
{
    struct sim sm;
    struct verify_report r;
    struct verify_stream *vs = verify_stream_new("other/stream");
    struct verify_opts o = {.key = pub_a};

    (void)state;
    simulate(&sm);
    strcpy(sm.rec[sm.nrec], "{\"not\":\"a record\"}");
    sm.rec_ts[sm.nrec++] = T0;
    run(&sm, 0, &r);
    assert_int_equal(r.bad_records, 1);
    assert_true(has_finding(&r, VERIFY_FORGED, "not a digest record: has 1 keys"));
    assert_false(r.proven);
    verify_report_clean_up(&r);

    /* the records of another stream do not prove this one */
    for (size_t i = 0; i < sm.n; i++)
        assert_int_equal(verify_add_event(vs, sm.ts[i], span_cstr(sm.msg[i])), HAF_OK);
    for (size_t i = 0; i + 1 < sm.nrec; i++)
        assert_int_equal(verify_add_record(vs, sm.rec_ts[i], span_cstr(sm.rec[i])), HAF_OK);
    assert_int_equal(verify_stream_run(vs, &o, &r), HAF_OK);
    assert_int_equal(r.bad_records, 4);
    assert_true(has_finding(&r, VERIFY_FORGED, "names stream 'host/audit.log'"));
    assert_int_equal(r.injected, 12);
    assert_false(r.proven);
    verify_report_clean_up(&r);
    verify_stream_free(vs);

    /* no key: nothing can be valid */
    run(&sm, 0, &r);
    verify_report_clean_up(&r);
}

static void
test_verify_no_digests_continuity_only(void **state)
{
    static const char raw[] = "Time: 01/24/18 17:44:25.013218, usecs:1516815865013218\n"
                              "Sequence No : 0x%x\n"
                              "Reboot counter : 0x107\n"
                              "Command Type(hex) : CN_MGMT_CMD (0x0)\n"
                              "Opcode : CN_LOGIN (0xd)\n"
                              "Session Handle : 0x3008002\n"
                              "Response : 0:HSM Return: SUCCESS\n"
                              "Log type : MGMT_USER_DETAILS_LOG (2)\n"
                              "User Name : testuser\n"
                              "User Type : CN_CRYPTO_USER (1)";
    struct verify_stream *vs = verify_stream_new("i-0abc/cloudhsm");
    struct verify_opts o = {.key = NULL};
    struct verify_report r;
    unsigned seqs[] = {1, 2, 3, 6, 7};
    char m[1024];

    (void)state;
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        snprintf(m, sizeof(m), raw, seqs[i]);
        assert_int_equal(verify_add_event(vs, T0 + (int64_t)i, span_cstr(m)), HAF_OK);
    }
    assert_int_equal(verify_add_event(vs, T0 + 9,
                                      SPAN_LIT("{\"sequence_no\":1,"
                                               "\"reboot_counter\":264}")),
                     HAF_OK);
    assert_int_equal(verify_stream_run(vs, &o, &r), HAF_OK);
    dump(&r);
    assert_false(r.has_records);
    assert_false(r.proven);
    assert_false(r.continuity);
    assert_int_equal(r.sequence_gaps, 1);
    assert_int_equal(r.sequence_missing, 2);
    assert_int_equal(r.reboots, 1);
    assert_true(r.injected == 0 && r.pending == 0);
    assert_true(has_finding(&r, VERIFY_SEQUENCE_GAP, "2 missing after sequence_no 3"));
    verify_report_clean_up(&r);
    verify_stream_free(vs);
}

static void
test_verify_range_selects_records_and_events(void **state)
{
    struct sim sm;
    struct verify_report r;
    struct verify_stream *vs = verify_stream_new("host/audit.log");
    struct verify_opts o = {.key = pub_a, .from_start = false};
    int64_t lo = -5, hi = -5;

    (void)state;
    simulate(&sm);
    /* records 2 and 3 (sealed at T0+600 s and T0+900 s), not 1 nor the stop record */
    verify_set_range(vs, sm.rec_ts[1], sm.rec_ts[2] + 1);
    for (size_t i = 0; i < sm.nrec; i++)
        assert_int_equal(verify_add_record(vs, sm.rec_ts[i], span_cstr(sm.rec[i])), HAF_OK);
    verify_event_window(vs, &lo, &hi);
    assert_true(lo == T0 + 3000 + 1); /* just after record 1's last event */
    assert_true(hi == T0 + 2 * IVL_S * 1000 + 3000 +
                          1);         /* record 3's last event: a later record exists */
    for (size_t i = 0; i < sm.n; i++) /* all of them: those outside are ignored */
        assert_int_equal(verify_add_event(vs, sm.ts[i], span_cstr(sm.msg[i])), HAF_OK);
    assert_int_equal(verify_stream_run(vs, &o, &r), HAF_OK);
    dump(&r);
    assert_true(r.proven);
    assert_true(r.events == 8 && r.covered == 8 && r.records == 2);
    verify_report_clean_up(&r);
    verify_stream_free(vs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_clean_stream_is_proven),
        cmocka_unit_test(test_verify_injected_event_named),
        cmocka_unit_test(test_verify_subset_recreated_is_missing),
        cmocka_unit_test(test_verify_digest_removed_or_forged),
        cmocka_unit_test(test_verify_one_byte_altered),
        cmocka_unit_test(test_verify_heartbeat_gaps),
        cmocka_unit_test(test_verify_late_reclocked_and_duplicate_delivery),
        cmocka_unit_test(test_verify_bad_records),
        cmocka_unit_test(test_verify_no_digests_continuity_only),
        cmocka_unit_test(test_verify_range_selects_records_and_events),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

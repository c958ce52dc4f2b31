/*
 * test_seqtrack.c: every verdict of seqtrack_check, the order in which they are decided, the
 * counters, restore after restart, the acknowledged pair never moving backwards, and sequence
 * numbers and reboot counters at UINT64_MAX (no overflow in "seen + 1").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "haf/seqtrack.h"

static void
test_seqtrack_check_first_entry_is_next(void **state)
{
    struct seqtrack t;
    struct seq_gap g = {1, 2, 3, 4};

    (void)state;
    seqtrack_init(&t);
    assert_int_equal(seqtrack_check(&t, 263, 5, &g), SEQ_NEXT);
    assert_true(t.has_seen);
    assert_true(t.seen_reboot == 263 && t.seen_seq == 5);
    assert_false(t.has_acked);
    /* gap untouched for NEXT */
    assert_true(g.reboot_counter == 1 && g.expected == 2 && g.received == 3 && g.prev_reboot == 4);
    assert_true(t.gaps == 0 && t.missing == 0 && t.replays == 0 && t.reboots == 0);
}

static void
test_seqtrack_check_consecutive_is_next(void **state)
{
    struct seqtrack t;

    (void)state;
    seqtrack_init(&t);
    for (uint64_t s = 0; s < 100; s++)
        assert_int_equal(seqtrack_check(&t, 1, s, NULL), SEQ_NEXT);
    assert_true(t.seen_seq == 99);
    assert_true(t.gaps == 0 && t.missing == 0);
}

static void
test_seqtrack_check_gap_reports_expected_and_received(void **state)
{
    struct seqtrack t;
    struct seq_gap g;

    (void)state;
    seqtrack_init(&t);
    assert_int_equal(seqtrack_check(&t, 7, 10, NULL), SEQ_NEXT);
    memset(&g, 0xff, sizeof(g));
    assert_int_equal(seqtrack_check(&t, 7, 15, &g), SEQ_GAP);
    assert_true(g.reboot_counter == 7);
    assert_true(g.expected == 11);
    assert_true(g.received == 15);
    assert_true(t.gaps == 1);
    assert_true(t.missing == 4);
    /* the gap's entry is recorded as seen: the next one continues from it */
    assert_int_equal(seqtrack_check(&t, 7, 16, &g), SEQ_NEXT);
    assert_int_equal(seqtrack_check(&t, 7, 18, &g), SEQ_GAP);
    assert_true(g.expected == 17 && g.received == 18);
    assert_true(t.gaps == 2 && t.missing == 5);
}

static void
test_seqtrack_check_gap_null_out_param(void **state)
{
    struct seqtrack t;

    (void)state;
    seqtrack_init(&t);
    assert_int_equal(seqtrack_check(&t, 1, 1, NULL), SEQ_NEXT);
    assert_int_equal(seqtrack_check(&t, 1, 3, NULL), SEQ_GAP);
    assert_int_equal(seqtrack_check(&t, 2, 0, NULL), SEQ_REBOOT);
    assert_true(t.gaps == 1 && t.missing == 1 && t.reboots == 1);
}

static void
test_seqtrack_check_reboot_restarts_sequence(void **state)
{
    struct seqtrack t;
    struct seq_gap g;

    (void)state;
    seqtrack_init(&t);
    assert_int_equal(seqtrack_check(&t, 263, 500, NULL), SEQ_NEXT);
    memset(&g, 0, sizeof(g));
    assert_int_equal(seqtrack_check(&t, 264, 0, &g), SEQ_REBOOT);
    assert_true(g.prev_reboot == 263);
    assert_true(g.reboot_counter == 264);
    assert_true(g.received == 0);
    assert_true(t.reboots == 1);
    /* no gap across a reboot, and the new sequence continues from the new start */
    assert_true(t.gaps == 0 && t.missing == 0);
    assert_int_equal(seqtrack_check(&t, 264, 1, NULL), SEQ_NEXT);
    /* a reboot that starts at a high number is still a reboot, not a gap */
    assert_int_equal(seqtrack_check(&t, 265, 1000, &g), SEQ_REBOOT);
    assert_true(g.prev_reboot == 264);
    assert_true(t.gaps == 0 && t.reboots == 2);
}

static void
test_seqtrack_check_lower_reboot_counter_is_reboot(void **state)
{
    struct seqtrack t;
    struct seq_gap g;

    (void)state;
    seqtrack_init(&t);
    assert_int_equal(seqtrack_check(&t, 10, 1, NULL), SEQ_NEXT);
    assert_int_equal(seqtrack_check(&t, 9, 50, &g), SEQ_REBOOT);
    assert_true(g.prev_reboot == 10 && g.reboot_counter == 9);
}

static void
test_seqtrack_check_replay_at_or_before_ack(void **state)
{
    struct seqtrack t;
    struct seq_gap g = {0};

    (void)state;
    seqtrack_init(&t);
    for (uint64_t s = 1; s <= 10; s++)
        assert_int_equal(seqtrack_check(&t, 5, s, NULL), SEQ_NEXT);
    seqtrack_ack(&t, 5, 10);
    assert_int_equal(seqtrack_check(&t, 5, 10, &g), SEQ_REPLAY);
    assert_int_equal(seqtrack_check(&t, 5, 1, &g), SEQ_REPLAY);
    assert_int_equal(seqtrack_check(&t, 5, 0, &g), SEQ_REPLAY);
    /* an older reboot counter, any sequence number: before the ack */
    assert_int_equal(seqtrack_check(&t, 4, UINT64_MAX, &g), SEQ_REPLAY);
    assert_int_equal(seqtrack_check(&t, 0, 0, &g), SEQ_REPLAY);
    assert_true(t.replays == 5);
    /* replays are not recorded as seen */
    assert_true(t.seen_reboot == 5 && t.seen_seq == 10);
    assert_int_equal(seqtrack_check(&t, 5, 11, &g), SEQ_NEXT);
    assert_true(t.gaps == 0 && t.reboots == 0);
}

static void
test_seqtrack_check_backwards_after_ack(void **state)
{
    struct seqtrack t;

    (void)state;
    seqtrack_init(&t);
    for (uint64_t s = 1; s <= 10; s++)
        assert_int_equal(seqtrack_check(&t, 5, s, NULL), SEQ_NEXT);
    seqtrack_ack(&t, 5, 3);
    assert_int_equal(seqtrack_check(&t, 5, 7, NULL), SEQ_BACKWARDS);
    /* a backwards entry does not move the newest seen one back (no false gap after it) */
    assert_true(t.seen_seq == 10);
    assert_int_equal(seqtrack_check(&t, 5, 11, NULL), SEQ_NEXT);
    /* equal to the last seen one is backwards too (a duplicate not yet acknowledged) */
    assert_int_equal(seqtrack_check(&t, 5, 11, NULL), SEQ_BACKWARDS);
    assert_int_equal(seqtrack_check(&t, 5, 4, NULL), SEQ_BACKWARDS);
    assert_int_equal(seqtrack_check(&t, 5, 3, NULL), SEQ_REPLAY);
    assert_true(t.gaps == 0 && t.replays == 1);
}

static void
test_seqtrack_check_backwards_without_ack(void **state)
{
    struct seqtrack t;

    (void)state;
    seqtrack_init(&t);
    assert_int_equal(seqtrack_check(&t, 1, 100, NULL), SEQ_NEXT);
    assert_int_equal(seqtrack_check(&t, 1, 0, NULL), SEQ_BACKWARDS);
    assert_int_equal(seqtrack_check(&t, 1, 1, NULL), SEQ_BACKWARDS);
    assert_int_equal(seqtrack_check(&t, 1, 101, NULL), SEQ_NEXT);
}

static void
test_seqtrack_restore_checks_first_entry_against_ack(void **state)
{
    struct seqtrack t;
    struct seq_gap g;

    (void)state;
    seqtrack_init(&t);
    seqtrack_restore(&t, 263, 5);
    assert_true(t.has_acked && t.acked_reboot == 263 && t.acked_seq == 5);
    assert_int_equal(seqtrack_check(&t, 263, 4, &g), SEQ_REPLAY);
    assert_int_equal(seqtrack_check(&t, 263, 5, &g), SEQ_REPLAY);
    assert_int_equal(seqtrack_check(&t, 263, 6, &g), SEQ_NEXT);

    /* entries lost while we were down show as a gap after restart */
    seqtrack_init(&t);
    seqtrack_restore(&t, 263, 5);
    assert_int_equal(seqtrack_check(&t, 263, 9, &g), SEQ_GAP);
    assert_true(g.expected == 6 && g.received == 9);
    assert_true(t.missing == 3);

    /* the HSM rebooted while we were down */
    seqtrack_init(&t);
    seqtrack_restore(&t, 263, 5);
    assert_int_equal(seqtrack_check(&t, 264, 0, &g), SEQ_REBOOT);
    assert_true(g.prev_reboot == 263);
}

static void
test_seqtrack_ack_never_lowers(void **state)
{
    struct seqtrack t;

    (void)state;
    seqtrack_init(&t);
    seqtrack_ack(&t, 5, 10);
    assert_true(t.has_acked && t.acked_reboot == 5 && t.acked_seq == 10);
    seqtrack_ack(&t, 5, 9);
    assert_true(t.acked_reboot == 5 && t.acked_seq == 10);
    seqtrack_ack(&t, 4, 1000);
    assert_true(t.acked_reboot == 5 && t.acked_seq == 10);
    seqtrack_ack(&t, 5, 10);
    assert_true(t.acked_reboot == 5 && t.acked_seq == 10);
    seqtrack_ack(&t, 5, 11);
    assert_true(t.acked_reboot == 5 && t.acked_seq == 11);
    seqtrack_ack(&t, 6, 0);
    assert_true(t.acked_reboot == 6 && t.acked_seq == 0);
    /* ack does not touch what was seen */
    assert_false(t.has_seen);
}

static void
test_seqtrack_ack_first_is_zero_pair(void **state)
{
    struct seqtrack t;

    (void)state;
    seqtrack_init(&t);
    seqtrack_ack(&t, 0, 0);
    assert_true(t.has_acked && t.acked_reboot == 0 && t.acked_seq == 0);
    assert_int_equal(seqtrack_check(&t, 0, 0, NULL), SEQ_REPLAY);
    assert_int_equal(seqtrack_check(&t, 0, 1, NULL), SEQ_NEXT);
}

static void
test_seqtrack_check_uint64_max_sequence(void **state)
{
    struct seqtrack t;
    struct seq_gap g;

    (void)state;
    seqtrack_init(&t);
    assert_int_equal(seqtrack_check(&t, 1, UINT64_MAX - 1, NULL), SEQ_NEXT);
    assert_int_equal(seqtrack_check(&t, 1, UINT64_MAX, NULL), SEQ_NEXT);
    /* nothing is after UINT64_MAX: every other number is backwards, none is a gap */
    assert_int_equal(seqtrack_check(&t, 1, UINT64_MAX, NULL), SEQ_BACKWARDS);
    assert_int_equal(seqtrack_check(&t, 1, 0, NULL), SEQ_BACKWARDS);
    assert_true(t.gaps == 0);

    /* the widest gap there is */
    seqtrack_init(&t);
    assert_int_equal(seqtrack_check(&t, 1, 0, NULL), SEQ_NEXT);
    assert_int_equal(seqtrack_check(&t, 1, UINT64_MAX, &g), SEQ_GAP);
    assert_true(g.expected == 1 && g.received == UINT64_MAX);
    assert_true(t.missing == UINT64_MAX - 1);
    /* the missing counter saturates instead of wrapping */
    assert_int_equal(seqtrack_check(&t, 2, 0, NULL), SEQ_REBOOT);
    assert_int_equal(seqtrack_check(&t, 2, 3, NULL), SEQ_GAP);
    assert_true(t.missing == UINT64_MAX);
    assert_true(t.gaps == 2);
}

static void
test_seqtrack_ack_uint64_max(void **state)
{
    struct seqtrack t;

    (void)state;
    seqtrack_init(&t);
    seqtrack_restore(&t, UINT64_MAX, UINT64_MAX);
    assert_int_equal(seqtrack_check(&t, UINT64_MAX, UINT64_MAX, NULL), SEQ_REPLAY);
    assert_int_equal(seqtrack_check(&t, UINT64_MAX, 0, NULL), SEQ_REPLAY);
    assert_int_equal(seqtrack_check(&t, 0, UINT64_MAX, NULL), SEQ_REPLAY);
    seqtrack_ack(&t, 0, 0);
    assert_true(t.acked_reboot == UINT64_MAX && t.acked_seq == UINT64_MAX);
    assert_true(t.replays == 3);
}

static void
test_seqtrack_check_exhaustive_small_space(void **state)
{
    /* Every (ack, seen, arrival) combination over a small space against a reference model. */
    (void)state;
    for (int has_ack = 0; has_ack < 2; has_ack++)
        for (uint64_t ar = 0; ar < 3; ar++)
            for (uint64_t as = 0; as < 4; as++)
                for (int has_seen = 0; has_seen < 2; has_seen++)
                    for (uint64_t sr = 0; sr < 3; sr++)
                        for (uint64_t ss = 0; ss < 4; ss++)
                            for (uint64_t r = 0; r < 3; r++)
                                for (uint64_t s = 0; s < 6; s++) {
                                    struct seqtrack t;
                                    struct seq_gap g = {0};
                                    enum seq_verdict want, got;

                                    seqtrack_init(&t);
                                    t.has_acked = has_ack;
                                    t.acked_reboot = ar;
                                    t.acked_seq = as;
                                    t.has_seen = has_seen;
                                    t.seen_reboot = sr;
                                    t.seen_seq = ss;
                                    if (has_ack && (r < ar || (r == ar && s <= as)))
                                        want = SEQ_REPLAY;
                                    else if (!has_seen)
                                        want = SEQ_NEXT;
                                    else if (r != sr)
                                        want = SEQ_REBOOT;
                                    else if (s == ss + 1)
                                        want = SEQ_NEXT;
                                    else if (s > ss + 1)
                                        want = SEQ_GAP;
                                    else
                                        want = SEQ_BACKWARDS;
                                    got = seqtrack_check(&t, r, s, &g);
                                    assert_int_equal(got, want);
                                    if (want == SEQ_REPLAY) {
                                        assert_true(t.replays == 1);
                                        assert_true(t.has_seen == (bool)has_seen);
                                    } else if (want == SEQ_BACKWARDS) {
                                        assert_true(t.seen_reboot == sr && t.seen_seq == ss);
                                    } else {
                                        assert_true(t.has_seen);
                                        assert_true(t.seen_reboot == r && t.seen_seq == s);
                                    }
                                    if (want == SEQ_GAP) {
                                        assert_true(g.expected == ss + 1 && g.received == s);
                                        assert_true(t.missing == s - ss - 1);
                                    }
                                    if (want == SEQ_REBOOT)
                                        assert_true(g.prev_reboot == sr);
                                }
}

static void
test_seqtrack_seen_tracks_runs_read(void **state)
{
    struct seqtrack t;

    (void)state;
    seqtrack_init(&t);
    for (uint64_t s = 100; s < 200; s++)
        (void)seqtrack_check(&t, 7, s, NULL);
    assert_int_equal(t.n_ranges, 1);
    assert_true(seqtrack_seen(&t, 7, 100) && seqtrack_seen(&t, 7, 199));
    assert_false(seqtrack_seen(&t, 7, 99) || seqtrack_seen(&t, 7, 200));
    assert_false(seqtrack_seen(&t, 8, 150));
    /* entries that were never read (a copytruncate window) are not "seen" even though they are
     * below the newest one: they must be shipped */
    (void)seqtrack_check(&t, 7, 250, NULL); /* gap 200..249 */
    assert_false(seqtrack_seen(&t, 7, 220));
    assert_int_equal(seqtrack_check(&t, 7, 220, NULL), SEQ_BACKWARDS);
    assert_true(seqtrack_seen(&t, 7, 220));
    assert_int_equal(t.n_ranges, 3);
    /* filling the hole merges the runs */
    for (uint64_t s = 200; s < 250; s++)
        (void)seqtrack_check(&t, 7, s, NULL);
    assert_int_equal(t.n_ranges, 1);
    assert_true(t.ranges[0].lo == 100 && t.ranges[0].hi == 250);
    /* a new reboot counter starts its own run; UINT64_MAX does not wrap */
    (void)seqtrack_check(&t, 9, UINT64_MAX, NULL);
    (void)seqtrack_check(&t, 9, UINT64_MAX - 1, NULL);
    assert_int_equal(t.n_ranges, 2);
    assert_true(seqtrack_seen(&t, 9, UINT64_MAX) && seqtrack_seen(&t, 9, UINT64_MAX - 1));
    assert_false(seqtrack_seen(&t, 9, 0));
}

static void
test_seqtrack_seen_table_full_forgets_lowest_run(void **state)
{
    struct seqtrack t;

    (void)state;
    seqtrack_init(&t);
    /* every other number: no two runs merge */
    for (uint64_t s = 0; s < 2 * (SEQTRACK_RANGES + 5); s += 2)
        (void)seqtrack_check(&t, 1, s, NULL);
    assert_int_equal(t.n_ranges, SEQTRACK_RANGES);
    assert_false(seqtrack_seen(&t, 1, 0)); /* forgotten: may be repeated, never held back */
    assert_true(seqtrack_seen(&t, 1, 2 * (SEQTRACK_RANGES + 4)));
    for (size_t i = 1; i < t.n_ranges; i++)
        assert_true(t.ranges[i - 1].lo < t.ranges[i].lo);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seqtrack_seen_tracks_runs_read),
        cmocka_unit_test(test_seqtrack_seen_table_full_forgets_lowest_run),
        cmocka_unit_test(test_seqtrack_check_first_entry_is_next),
        cmocka_unit_test(test_seqtrack_check_consecutive_is_next),
        cmocka_unit_test(test_seqtrack_check_gap_reports_expected_and_received),
        cmocka_unit_test(test_seqtrack_check_gap_null_out_param),
        cmocka_unit_test(test_seqtrack_check_reboot_restarts_sequence),
        cmocka_unit_test(test_seqtrack_check_lower_reboot_counter_is_reboot),
        cmocka_unit_test(test_seqtrack_check_replay_at_or_before_ack),
        cmocka_unit_test(test_seqtrack_check_backwards_after_ack),
        cmocka_unit_test(test_seqtrack_check_backwards_without_ack),
        cmocka_unit_test(test_seqtrack_restore_checks_first_entry_against_ack),
        cmocka_unit_test(test_seqtrack_ack_never_lowers),
        cmocka_unit_test(test_seqtrack_ack_first_is_zero_pair),
        cmocka_unit_test(test_seqtrack_check_uint64_max_sequence),
        cmocka_unit_test(test_seqtrack_ack_uint64_max),
        cmocka_unit_test(test_seqtrack_check_exhaustive_small_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

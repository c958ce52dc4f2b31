/*
 * test_cwl_rules.c: the table of what to do about each CloudWatch answer class: delivered classes
 * never retry, every failure retries with a backoff (InvalidSequenceTokenException included: it
 * was resent with no delay, 137 requests in 6 s), and the repairs sit where they belong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "haf/cwl_rules.h"

static const enum cwl_class all_classes[] = {
    CWL_OK,
    CWL_RETRY,
    CWL_AMBIGUOUS,
    CWL_REFRESH_CREDS,
    CWL_CLOCK_SKEW,
    CWL_NOT_FOUND,
    CWL_ALREADY_EXISTS,
    CWL_ACCESS_DENIED,
    CWL_INVALID,
    CWL_INVALID_SEQUENCE_TOKEN,
    CWL_DATA_ALREADY_ACCEPTED,
};
#define N_CLASSES (sizeof(all_classes) / sizeof(all_classes[0]))

static void
test_cwl_rule_of_every_class_has_its_row(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CLASSES; i++) {
        const struct cwl_rule *r = cwl_rule_of(all_classes[i]);
        assert_non_null(r);
        assert_int_equal(r->cls, all_classes[i]);
    }
}

static void
test_cwl_rule_of_delivered_never_retries(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CLASSES; i++) {
        const struct cwl_rule *r = cwl_rule_of(all_classes[i]);
        if (r->delivered) {
            assert_false(r->retry);
            assert_int_equal(r->backoff, CWL_BACKOFF_NONE);
        } else {
            /* Every failure is retried, and never at once. */
            assert_true(r->retry);
            assert_int_not_equal(r->backoff, CWL_BACKOFF_NONE);
        }
    }
    assert_true(cwl_rule_of(CWL_OK)->delivered);
    assert_true(cwl_rule_of(CWL_DATA_ALREADY_ACCEPTED)->delivered);
}

/* Regression (issue 10 §5): InvalidSequenceTokenException was resent with no delay, for ever. */
static void
test_cwl_rule_of_invalid_sequence_token_backs_off(void **state)
{
    const struct cwl_rule *r = cwl_rule_of(CWL_INVALID_SEQUENCE_TOKEN);

    (void)state;
    assert_true(r->retry);
    assert_false(r->delivered);
    assert_int_equal(r->backoff, CWL_BACKOFF_SHORT);
    assert_false(r->read_back);
}

static void
test_cwl_rule_of_repairs(void **state)
{
    (void)state;
    assert_true(cwl_rule_of(CWL_REFRESH_CREDS)->invalidate_creds);
    assert_true(cwl_rule_of(CWL_ACCESS_DENIED)->invalidate_creds);
    assert_false(cwl_rule_of(CWL_RETRY)->invalidate_creds);
    assert_false(cwl_rule_of(CWL_CLOCK_SKEW)->invalidate_creds);
    assert_true(cwl_rule_of(CWL_CLOCK_SKEW)->fix_clock);
    for (size_t i = 0; i < N_CLASSES; i++)
        if (all_classes[i] != CWL_CLOCK_SKEW)
            assert_false(cwl_rule_of(all_classes[i])->fix_clock);
    assert_true(cwl_rule_of(CWL_AMBIGUOUS)->read_back);
    assert_int_equal(cwl_rule_of(CWL_AMBIGUOUS)->backoff, CWL_BACKOFF_READBACK);
    assert_true(cwl_rule_of(CWL_NOT_FOUND)->recreate);
    assert_true(cwl_rule_of(CWL_ACCESS_DENIED)->loud);
    assert_true(cwl_rule_of(CWL_INVALID)->loud);
    assert_int_equal(cwl_rule_of(CWL_INVALID)->backoff, CWL_BACKOFF_SLOW);
    assert_false(cwl_rule_of(CWL_RETRY)->loud);
    assert_int_equal(cwl_rule_of(CWL_RETRY)->backoff, CWL_BACKOFF_LONG);
}

static void
test_cwl_rule_of_unknown_class_is_retry(void **state)
{
    (void)state;
    assert_int_equal(cwl_rule_of((enum cwl_class)99)->cls, CWL_RETRY);
    assert_true(cwl_rule_of((enum cwl_class) - 1)->retry);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cwl_rule_of_every_class_has_its_row),
        cmocka_unit_test(test_cwl_rule_of_delivered_never_retries),
        cmocka_unit_test(test_cwl_rule_of_invalid_sequence_token_backs_off),
        cmocka_unit_test(test_cwl_rule_of_repairs),
        cmocka_unit_test(test_cwl_rule_of_unknown_class_is_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

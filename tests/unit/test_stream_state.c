/*
 * test_stream_state.c: the delivery state of a stream: the state each answer class leaves a
 * sending stream in, the one deadline per stream that the loop's timeout is the minimum of, and
 * the retry delays the answer table gives (InvalidSequenceTokenException backs off: a regression
 * test for the 137 requests in 6 s of issue 10).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon_internal.h"
#include "haf/log.h"

struct rig {
    struct daemon d;
    struct daemon_opts opts;
    struct haf_config cfg;
    struct stream *st;
};

static void
rig_open(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    r->cfg.batch.max_events = 10000;
    r->cfg.batch.max_bytes = 1048576;
    r->cfg.batch.flush_interval_ms = 5000;
    r->d.cfg = &r->cfg;
    r->d.opts = &r->opts;
    r->d.rng = 0x9e3779b97f4a7c15ULL;
    r->d.now_ms = 1000000;
    r->d.wall_ms = 1700000000000LL;
    r->st = stream_get(&r->d, "/haf/g", "s", AUDIT_FORMAT_JSON);
}

static void
rig_close(struct rig *r)
{
    for (size_t i = 0; i < r->d.n_streams; i++)
        stream_free(r->d.streams[i]);
    free(r->d.streams);
}

static void
add_event(struct rig *r, int64_t ts)
{
    struct batch_event meta = {0};

    assert_int_equal(batch_add(stream_open_batch(r->st), ts, SPAN_LIT("m"), &meta), HAF_OK);
}

static void
test_stream_get_starts_in_setup(void **state)
{
    struct rig r;

    (void)state;
    rig_open(&r);
    assert_int_equal(r.st->state, STREAM_SETUP);
    assert_false(stream_verify_pending(r.st));
    /* The same group and stream is the same stream. */
    assert_ptr_equal(stream_get(&r.d, "/haf/g", "s", AUDIT_FORMAT_JSON), r.st);
    assert_int_equal(r.d.n_streams, 1);
    rig_close(&r);
}

static void
test_stream_set_state_changes_only_the_state(void **state)
{
    struct rig r;

    (void)state;
    rig_open(&r);
    log_init(true, 2); /* the transition is logged at -vv */
    stream_set_state(r.st, STREAM_READY);
    assert_int_equal(r.st->state, STREAM_READY);
    stream_set_state(r.st, STREAM_READY); /* no transition */
    assert_int_equal(r.st->state, STREAM_READY);
    stream_set_state(r.st, STREAM_VERIFY);
    assert_true(stream_verify_pending(r.st));
    log_init(true, 0);
    assert_string_equal(stream_state_str(STREAM_SETUP), "SETUP");
    assert_string_equal(stream_state_str(STREAM_VERIFY), "VERIFY");
    assert_string_equal(stream_state_str(STREAM_READY), "READY");
    assert_string_equal(stream_state_str(STREAM_SENDING), "SENDING");
    assert_string_equal(stream_state_str((enum stream_state)42), "UNKNOWN");
    rig_close(&r);
}

static void
test_stream_state_after_answer_each_class(void **state)
{
    (void)state;
    assert_int_equal(stream_state_after_answer(CWL_OK), STREAM_READY);
    assert_int_equal(stream_state_after_answer(CWL_DATA_ALREADY_ACCEPTED), STREAM_READY);
    assert_int_equal(stream_state_after_answer(CWL_AMBIGUOUS), STREAM_VERIFY);
    assert_int_equal(stream_state_after_answer(CWL_NOT_FOUND), STREAM_SETUP);
    assert_int_equal(stream_state_after_answer(CWL_RETRY), STREAM_READY);
    assert_int_equal(stream_state_after_answer(CWL_REFRESH_CREDS), STREAM_READY);
    assert_int_equal(stream_state_after_answer(CWL_CLOCK_SKEW), STREAM_READY);
    assert_int_equal(stream_state_after_answer(CWL_ACCESS_DENIED), STREAM_READY);
    assert_int_equal(stream_state_after_answer(CWL_INVALID), STREAM_READY);
    assert_int_equal(stream_state_after_answer(CWL_INVALID_SEQUENCE_TOKEN), STREAM_READY);
    assert_int_equal(stream_state_after_answer(CWL_ALREADY_EXISTS), STREAM_READY);
}

static void
test_stream_deadline_empty_and_sending_never(void **state)
{
    struct rig r;

    (void)state;
    rig_open(&r);
    stream_set_state(r.st, STREAM_READY);
    assert_true(stream_deadline(r.st, r.d.now_ms, false) == DEADLINE_NEVER);
    assert_true(stream_deadline(r.st, r.d.now_ms, true) == DEADLINE_NEVER);
    add_event(&r, r.d.wall_ms);
    stream_set_state(r.st, STREAM_SENDING);
    assert_true(stream_deadline(r.st, r.d.now_ms, true) == DEADLINE_NEVER);
    rig_close(&r);
}

/* A stream with a request of its own in flight (create, read-back page, PutLogEvents) has no
 * deadline: the answer wakes the loop. */
static void
test_stream_deadline_busy_states_never(void **state)
{
    static const enum stream_state busy[] = {STREAM_CREATING_GROUP, STREAM_CREATING_STREAM,
                                             STREAM_READING_BACK, STREAM_SENDING};
    struct rig r;

    (void)state;
    rig_open(&r);
    add_event(&r, r.d.wall_ms);
    for (size_t i = 0; i < sizeof(busy) / sizeof(busy[0]); i++) {
        stream_set_state(r.st, busy[i]);
        assert_true(stream_busy(r.st));
        assert_true(stream_deadline(r.st, r.d.now_ms, true) == DEADLINE_NEVER);
        assert_string_not_equal(stream_state_str(busy[i]), "UNKNOWN");
    }
    stream_set_state(r.st, STREAM_VERIFY);
    assert_false(stream_busy(r.st));
    assert_true(stream_deadline(r.st, r.d.now_ms, true) == r.d.now_ms);
    rig_close(&r);
}

/* WAIT_CREDS goes back to where the stream was; a read-back still pending is remembered. */
static void
test_stream_wait_creds_resumes(void **state)
{
    struct rig r;

    (void)state;
    rig_open(&r);
    add_event(&r, r.d.wall_ms);
    stream_set_state(r.st, STREAM_VERIFY);
    stream_wait_creds(r.st);
    assert_int_equal(r.st->state, STREAM_WAIT_CREDS);
    assert_int_equal(r.st->resume, STREAM_VERIFY);
    assert_true(stream_verify_pending(r.st));
    assert_false(stream_busy(r.st));
    assert_string_equal(stream_state_str(STREAM_WAIT_CREDS), "WAIT_CREDS");
    /* No fetch running (no provider here): due as the stream would be. */
    assert_true(stream_deadline(r.st, r.d.now_ms, true) == r.d.now_ms);
    stream_wait_creds(r.st); /* again: still resumes VERIFY */
    assert_int_equal(r.st->resume, STREAM_VERIFY);
    stream_set_state(r.st, STREAM_SENDING);
    stream_wait_creds(r.st);
    assert_int_equal(r.st->resume, STREAM_READY);
    assert_false(stream_verify_pending(r.st));
    rig_close(&r);
}

static void
test_stream_deadline_open_batch_waits_flush_interval(void **state)
{
    struct rig r;

    (void)state;
    rig_open(&r);
    stream_set_state(r.st, STREAM_READY);
    add_event(&r, r.d.wall_ms);
    r.st->ring_first_ms[r.st->head] = r.d.now_ms - 1000;
    assert_true(stream_deadline(r.st, r.d.now_ms, false) == r.d.now_ms + 4000);
    /* Stopping or --once: now. */
    assert_true(stream_deadline(r.st, r.d.now_ms, true) == r.d.now_ms);
    /* A retry's backoff holds even a batch that is due. */
    r.st->next_ms = r.d.now_ms + 7000;
    assert_true(stream_deadline(r.st, r.d.now_ms, true) == r.d.now_ms + 7000);
    assert_true(stream_deadline(r.st, r.d.now_ms, false) == r.d.now_ms + 7000);
    rig_close(&r);
}

static void
test_stream_deadline_closed_batch_goes_at_once(void **state)
{
    struct rig r;

    (void)state;
    rig_open(&r);
    stream_set_state(r.st, STREAM_READY);
    add_event(&r, r.d.wall_ms);
    r.st->ring_first_ms[r.st->head] = r.d.now_ms;
    stream_rotate(r.st);
    assert_int_equal(r.st->n, 2);
    assert_true(stream_deadline(r.st, r.d.now_ms, false) == r.d.now_ms);
    rig_close(&r);
}

/* Regression (issue 10 §5): the retry after InvalidSequenceTokenException was scheduled at once. */
static void
test_deliver_retry_delay_invalid_sequence_token_backs_off(void **state)
{
    struct rig r;

    (void)state;
    rig_open(&r);
    for (int attempt = 0; attempt < 20; attempt++) {
        int64_t ms;
        r.st->attempts = attempt;
        ms = deliver_retry_delay_ms(&r.d, r.st, CWL_INVALID_SEQUENCE_TOKEN);
        assert_true(ms >= 1 && ms <= RETRY_SHORT_CAP_MS);
    }
    /* 137 answers in a row cannot fit in 6 s any more: the backoff grows to its cap. */
    {
        int64_t total = 0;
        for (int attempt = 0; attempt < 137; attempt++) {
            r.st->attempts = attempt;
            total += deliver_retry_delay_ms(&r.d, r.st, CWL_INVALID_SEQUENCE_TOKEN);
        }
        assert_true(total > 6000);
    }
    rig_close(&r);
}

static void
test_deliver_retry_delay_each_backoff(void **state)
{
    struct rig r;

    (void)state;
    rig_open(&r);
    assert_int_equal(deliver_retry_delay_ms(&r.d, r.st, CWL_OK), 0);
    assert_int_equal(deliver_retry_delay_ms(&r.d, r.st, CWL_AMBIGUOUS), READBACK_DELAY_MS);
    assert_int_equal(deliver_retry_delay_ms(&r.d, r.st, CWL_ACCESS_DENIED), RETRY_SLOW_MS);
    r.opts.once = true;
    assert_int_equal(deliver_retry_delay_ms(&r.d, r.st, CWL_INVALID), ONCE_SLOW_MS);
    r.opts.once = false;
    r.st->attempts = 30;
    for (int i = 0; i < 100; i++) {
        int64_t ms = deliver_retry_delay_ms(&r.d, r.st, CWL_RETRY);
        assert_true(ms >= 1 && ms <= RETRY_CAP_MS);
        ms = deliver_retry_delay_ms(&r.d, r.st, CWL_CLOCK_SKEW);
        assert_true(ms >= 1 && ms <= RETRY_SHORT_CAP_MS);
    }
    rig_close(&r);
}

static void
test_stream_schedule_retry_sets_the_deadline(void **state)
{
    struct rig r;

    (void)state;
    rig_open(&r);
    stream_set_state(r.st, STREAM_READY);
    add_event(&r, r.d.wall_ms);
    r.st->ring_first_ms[r.st->head] = r.d.now_ms - 10000;
    stream_schedule_retry(&r.d, r.st, 1500);
    assert_int_equal(r.st->attempts, 1);
    assert_true(r.st->next_ms == r.d.now_ms + 1500);
    assert_true(stream_deadline(r.st, r.d.now_ms, false) == r.d.now_ms + 1500);
    assert_int_equal(r.d.stats.retries, 1);
    assert_false(r.d.failed);
    rig_close(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_get_starts_in_setup),
        cmocka_unit_test(test_stream_set_state_changes_only_the_state),
        cmocka_unit_test(test_stream_state_after_answer_each_class),
        cmocka_unit_test(test_stream_deadline_empty_and_sending_never),
        cmocka_unit_test(test_stream_deadline_busy_states_never),
        cmocka_unit_test(test_stream_wait_creds_resumes),
        cmocka_unit_test(test_stream_deadline_open_batch_waits_flush_interval),
        cmocka_unit_test(test_stream_deadline_closed_batch_goes_at_once),
        cmocka_unit_test(test_deliver_retry_delay_invalid_sequence_token_backs_off),
        cmocka_unit_test(test_deliver_retry_delay_each_backoff),
        cmocka_unit_test(test_stream_schedule_retry_sets_the_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

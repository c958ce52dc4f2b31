/*
 * test_replay.c: the replay window (replay.h): an entry is a replay only when its pair and its
 * text were acknowledged; the same pair with another text, and a pair older than the window, are
 * not; the window survives a restart through the state file (ckpt_serialize / ckpt_parse), and a
 * malformed window in the state file is refused with HAF_EPARSE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haf/checkpoint.h"
#include "haf/replay.h"

static uint64_t
text_hash(const char *s)
{
    return replay_hash(span_cstr(s));
}

static struct replay_window *
window_new(void)
{
    struct replay_window *w = malloc(sizeof(*w));

    assert_non_null(w);
    replay_init(w);
    return w;
}

static void
test_replay_lookup_same_pair_same_text_is_replay(void **state)
{
    struct replay_window *w = window_new();

    (void)state;
    assert_int_equal(replay_lookup(w, 263, 5, text_hash("entry five")), REPLAY_UNKNOWN);
    replay_note(w, 263, 5, text_hash("entry five"));
    assert_int_equal(replay_lookup(w, 263, 5, text_hash("entry five")), REPLAY_SAME);
    free(w);
}

static void
test_replay_lookup_same_pair_other_text_is_different(void **state)
{
    struct replay_window *w = window_new();

    (void)state;
    replay_note(w, 263, 5, text_hash("entry five"));
    assert_int_equal(replay_lookup(w, 263, 5, text_hash("entry five, forged")), REPLAY_DIFFERENT);
    /* Another reboot counter or sequence number is another pair. */
    assert_int_equal(replay_lookup(w, 264, 5, text_hash("entry five")), REPLAY_UNKNOWN);
    assert_int_equal(replay_lookup(w, 263, 6, text_hash("entry five")), REPLAY_UNKNOWN);
    /* Once the second text is acknowledged too, a copy of either is a replay. */
    replay_note(w, 263, 5, text_hash("entry five, forged"));
    assert_int_equal(replay_lookup(w, 263, 5, text_hash("entry five")), REPLAY_SAME);
    assert_int_equal(replay_lookup(w, 263, 5, text_hash("entry five, forged")), REPLAY_SAME);
    free(w);
}

static void
test_replay_lookup_older_than_window_is_unknown(void **state)
{
    struct replay_window *w = window_new();

    (void)state;
    for (uint64_t s = 0; s < REPLAY_WINDOW + 10; s++)
        replay_note(w, 263, s, s * 7919);
    assert_int_equal(w->n, REPLAY_WINDOW);
    for (uint64_t s = 0; s < 10; s++)
        assert_int_equal(replay_lookup(w, 263, s, s * 7919), REPLAY_UNKNOWN);
    for (uint64_t s = 10; s < REPLAY_WINDOW + 10; s++)
        assert_int_equal(replay_lookup(w, 263, s, s * 7919), REPLAY_SAME);
    /* Oldest first. */
    assert_true(replay_at(w, 0)->seq == 10);
    assert_true(replay_at(w, REPLAY_WINDOW - 1)->seq == REPLAY_WINDOW + 9);
    free(w);
}

static void
test_replay_lookup_extremes(void **state)
{
    struct replay_window *w = window_new();

    (void)state;
    replay_note(w, UINT64_MAX, UINT64_MAX, UINT64_MAX);
    assert_int_equal(replay_lookup(w, UINT64_MAX, UINT64_MAX, UINT64_MAX), REPLAY_SAME);
    assert_int_equal(replay_lookup(w, UINT64_MAX, UINT64_MAX, 0), REPLAY_DIFFERENT);
    assert_int_equal(replay_hash(span_make("", 0)) == text_hash("a"), 0);
    free(w);
}

static void
test_replay_restore_keeps_newest(void **state)
{
    struct replay_window *w = window_new();
    struct replay_mark *m = calloc(REPLAY_WINDOW + 5, sizeof(*m));

    (void)state;
    assert_non_null(m);
    for (size_t i = 0; i < REPLAY_WINDOW + 5; i++)
        m[i] = (struct replay_mark){.reboot = 1, .seq = i, .hash = i + 100};
    replay_restore(w, m, REPLAY_WINDOW + 5);
    assert_int_equal(w->n, REPLAY_WINDOW);
    assert_int_equal(replay_lookup(w, 1, 4, 104), REPLAY_UNKNOWN);
    assert_int_equal(replay_lookup(w, 1, 5, 105), REPLAY_SAME);
    replay_restore(w, NULL, 0);
    assert_int_equal(w->n, 0);
    free(m);
    free(w);
}

/* A restart: the window goes into the state file with the stream and comes back from it. */
static void
test_replay_window_restored_from_state(void **state)
{
    struct replay_window *w = window_new(), *w2 = window_new();
    struct replay_mark *marks = calloc(REPLAY_WINDOW, sizeof(*marks));
    struct ckpt_state s, back;
    struct ckpt_stream rec = {.group = "/g",
                              .stream = "s",
                              .has_seq = true,
                              .reboot_counter = 263,
                              .sequence_no = REPLAY_WINDOW + 99};
    struct ckpt_stream *cs;
    struct buf out, msg;

    (void)state;
    assert_non_null(marks);
    for (uint64_t i = 0; i < REPLAY_WINDOW + 100; i++)
        replay_note(w, 263, i, i == REPLAY_WINDOW + 50 ? UINT64_MAX : i * 0x9e3779b97f4a7c15u);
    for (size_t i = 0; i < w->n; i++)
        marks[i] = *replay_at(w, i);
    rec.marks = marks;
    rec.n_marks = w->n;
    ckpt_state_init(&s);
    ckpt_state_init(&back);
    buf_init(&out, 0);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_set_stream(&s, &rec), HAF_OK);
    assert_int_equal(ckpt_serialize(&s, &out), HAF_OK);
    assert_int_equal(ckpt_parse(out.p, out.len, &back, &msg), HAF_OK);
    cs = ckpt_find_stream(&back, "/g", "s");
    assert_non_null(cs);
    assert_int_equal(cs->n_marks, REPLAY_WINDOW);
    replay_restore(w2, cs->marks, cs->n_marks);
    for (uint64_t i = 100; i < REPLAY_WINDOW + 100; i++) {
        uint64_t h = i == REPLAY_WINDOW + 50 ? UINT64_MAX : i * 0x9e3779b97f4a7c15u;
        assert_int_equal(replay_lookup(w2, 263, i, h), REPLAY_SAME);
        assert_int_equal(replay_lookup(w2, 263, i, h ^ 1), REPLAY_DIFFERENT);
    }
    assert_int_equal(replay_lookup(w2, 263, 99, 99 * 0x9e3779b97f4a7c15u), REPLAY_UNKNOWN);
    ckpt_state_clean_up(&s);
    ckpt_state_clean_up(&back);
    buf_clean_up(&out);
    buf_clean_up(&msg);
    free(marks);
    free(w);
    free(w2);
}

static void
parse_expect(const char *acked, enum haf_err want, size_t n_marks)
{
    char doc[512];
    struct ckpt_state s;
    struct buf msg;

    snprintf(doc, sizeof(doc),
             "{\"version\":1,\"files\":[],\"streams\":[{\"group\":\"g\",\"stream\":\"s\","
             "\"has_seq\":true,\"reboot_counter\":\"1\",\"sequence_no\":\"2\",\"inflight\":false"
             "%s}]}",
             acked);
    ckpt_state_init(&s);
    buf_init(&msg, 0);
    assert_int_equal(ckpt_parse(doc, strlen(doc), &s, &msg), want);
    if (want == HAF_OK) {
        assert_int_equal(s.n_streams, 1);
        assert_int_equal(s.streams[0].n_marks, n_marks);
    }
    ckpt_state_clean_up(&s);
    buf_clean_up(&msg);
}

static void
test_replay_state_file_marks_checked(void **state)
{
    (void)state;
    parse_expect("", HAF_OK, 0); /* state files from before the window */
    parse_expect(",\"acked\":\"\"", HAF_OK, 0);
    parse_expect(",\"acked\":\"1:2:00000000000000ff\"", HAF_OK, 1);
    parse_expect(",\"acked\":\"1:2:00000000000000ff 1:3:00000000000000FF\"", HAF_OK, 2);
    parse_expect(",\"acked\":\"18446744073709551615:18446744073709551615:ffffffffffffffff\"",
                 HAF_OK, 1);
    parse_expect(",\"acked\":\"18446744073709551616:2:00000000000000ff\"", HAF_EPARSE, 0);
    parse_expect(",\"acked\":\"1:2:ff\"", HAF_EPARSE, 0);
    parse_expect(",\"acked\":\"1:2:00000000000000ff:3\"", HAF_EPARSE, 0);
    parse_expect(",\"acked\":\"1:2\"", HAF_EPARSE, 0);
    parse_expect(",\"acked\":\"1::00000000000000ff\"", HAF_EPARSE, 0);
    parse_expect(",\"acked\":\"1:2:00000000000000fg\"", HAF_EPARSE, 0);
    parse_expect(",\"acked\":\"1:2:00000000000000ff \"", HAF_EPARSE, 0); /* trailing space */
    parse_expect(",\"acked\":\"1:2:00000000000000ff  1:3:00000000000000ff\"", HAF_EPARSE, 0);
    parse_expect(",\"acked\":[\"1:2:00000000000000ff\"]", HAF_EPARSE, 0);
    parse_expect(",\"acked\":12", HAF_EPARSE, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_lookup_same_pair_same_text_is_replay),
        cmocka_unit_test(test_replay_lookup_same_pair_other_text_is_different),
        cmocka_unit_test(test_replay_lookup_older_than_window_is_unknown),
        cmocka_unit_test(test_replay_lookup_extremes),
        cmocka_unit_test(test_replay_restore_keeps_newest),
        cmocka_unit_test(test_replay_window_restored_from_state),
        cmocka_unit_test(test_replay_state_file_marks_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

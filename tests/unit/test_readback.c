/*
 * test_readback.c: readback_match, the pure part of the read-back: which events of a batch are in
 * the stream already. By exact text, each read-back occurrence counting once; by
 * (reboot_counter, sequence_no) for audit entries whose text changed (a rotation renamed the file
 * between the send and the read-back); never by pair for markers or flagged entries; and
 * untrusted read-back messages (not JSON, NUL bytes, huge numbers, duplicate keys) do no harm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon_internal.h"

#define T0 1700000000000LL

static void
batch_open(struct batch *b)
{
    assert_int_equal(batch_init(b, NULL, "/haf/g", "s"), HAF_OK);
}

static void
add(struct batch *b, const char *msg, bool has_seq, uint64_t reboot, uint64_t seq)
{
    struct batch_event meta = {.source_id = 1,
                               .src_end = 10,
                               .has_seq = has_seq,
                               .reboot_counter = reboot,
                               .sequence_no = seq};

    assert_int_equal(batch_add(b, T0, span_cstr(msg), &meta), HAF_OK);
}

static struct readback_event
rb(const char *msg)
{
    struct readback_event e;

    readback_event_of(msg, strlen(msg), &e);
    return e;
}

static void
test_readback_match_nothing_read_back(void **state)
{
    struct batch b;
    bool keep[2] = {false, false};

    (void)state;
    batch_open(&b);
    add(&b, "a", false, 0, 0);
    add(&b, "b", false, 0, 0);
    assert_int_equal(readback_match(&b, NULL, 0, keep), 0);
    assert_true(keep[0] && keep[1]);
    batch_clean_up(&b);
}

static void
test_readback_match_by_text(void **state)
{
    struct batch b;
    bool keep[3];
    struct readback_event read[] = {rb("c"), rb("a"), rb("unrelated")};

    (void)state;
    batch_open(&b);
    add(&b, "a", false, 0, 0);
    add(&b, "b", false, 0, 0);
    add(&b, "c", false, 0, 0);
    assert_int_equal(readback_match(&b, read, 3, keep), 2);
    assert_false(keep[0]);
    assert_true(keep[1]);
    assert_false(keep[2]);
    batch_clean_up(&b);
}

/* Two identical messages in the batch, one arrived: exactly one is sent again. */
static void
test_readback_match_identical_messages_count_once_each(void **state)
{
    struct batch b;
    bool keep[3];
    struct readback_event one[] = {rb("same")};
    struct readback_event two[] = {rb("same"), rb("same")};

    (void)state;
    batch_open(&b);
    add(&b, "same", false, 0, 0);
    add(&b, "same", false, 0, 0);
    add(&b, "same", false, 0, 0);
    assert_int_equal(readback_match(&b, one, 1, keep), 1);
    assert_false(keep[0]);
    assert_true(keep[1] && keep[2]);
    assert_int_equal(readback_match(&b, two, 2, keep), 2);
    assert_false(keep[0] || keep[1]);
    assert_true(keep[2]);
    batch_clean_up(&b);
}

/* The same audit entry with another text (its source path changed): found by its pair. */
static void
test_readback_match_by_pair_when_text_differs(void **state)
{
    struct batch b;
    bool keep[2];
    struct readback_event read[] = {
        rb("{\"source\":\"/var/log/hsm/a.log\",\"reboot_counter\":3,\"sequence_no\":41}")};

    (void)state;
    batch_open(&b);
    add(&b, "{\"source\":\"/var/log/hsm/a.log.1\",\"reboot_counter\":3,\"sequence_no\":41}", true,
        3, 41);
    add(&b, "{\"source\":\"/var/log/hsm/a.log.1\",\"reboot_counter\":3,\"sequence_no\":42}", true,
        3, 42);
    assert_int_equal(readback_match(&b, read, 1, keep), 1);
    assert_false(keep[0]);
    assert_true(keep[1]);
    batch_clean_up(&b);
}

/* Markers and flagged entries carry no pair that could stand for an entry. */
static void
test_readback_event_of_markers_and_flagged_have_no_pair(void **state)
{
    struct readback_event e;

    (void)state;
    e = rb("{\"event\":\"sequence_gap\",\"reboot_counter\":3,\"sequence_no\":41}");
    assert_false(e.has_pair);
    e = rb("{\"parse_error\":\"x\",\"reboot_counter\":3,\"sequence_no\":41}");
    assert_false(e.has_pair);
    e = rb("{\"reboot_counter\":3,\"sequence_no\":41}");
    assert_true(e.has_pair);
    assert_true(e.reboot == 3 && e.seq == 41);
    assert_true(e.hash == batch_message_hash("{\"reboot_counter\":3,\"sequence_no\":41}", 37));
}

static void
test_readback_event_of_hostile_messages(void **state)
{
    static const char *const bad[] = {
        "",
        "not json",
        "{",
        "{\"reboot_counter\":-1,\"sequence_no\":1}",
        "{\"reboot_counter\":1,\"sequence_no\":-5}",
        "{\"reboot_counter\":\"1\",\"sequence_no\":2}",
        "{\"reboot_counter\":1,\"reboot_counter\":2,\"sequence_no\":2}",
        "{\"reboot_counter\":99999999999999999999999,\"sequence_no\":2}",
        "[1,2]",
    };
    struct readback_event e;
    char nul[] = "{\"reboot_counter\":1,\"sequence_no\":2,\"x\":\"a\0b\"}";

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e = rb(bad[i]);
        assert_false(e.has_pair);
    }
    /* A NUL byte inside: hashed over every byte, never read past. */
    readback_event_of(nul, sizeof(nul) - 1, &e);
    assert_true(e.hash == batch_message_hash(nul, sizeof(nul) - 1));
}

/* An event of the batch that is a marker is never matched by another event's pair. */
static void
test_readback_match_marker_needs_its_text(void **state)
{
    struct batch b;
    bool keep[1];
    struct readback_event read[] = {rb("{\"reboot_counter\":3,\"sequence_no\":41}")};

    (void)state;
    batch_open(&b);
    add(&b, "{\"event\":\"sequence_gap\",\"reboot_counter\":3}", false, 0, 0);
    assert_int_equal(readback_match(&b, read, 1, keep), 0);
    assert_true(keep[0]);
    batch_clean_up(&b);
}

static void
test_readback_match_many(void **state)
{
    struct batch b;
    bool *keep = calloc(2000, sizeof(*keep));
    struct readback_event *read = calloc(1000, sizeof(*read));
    char msg[64];
    size_t found;

    (void)state;
    assert_non_null(keep);
    assert_non_null(read);
    batch_open(&b);
    for (int i = 0; i < 2000; i++) {
        snprintf(msg, sizeof(msg), "entry %d", i);
        add(&b, msg, false, 0, 0);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(msg, sizeof(msg), "entry %d", 1999 - 2 * i);
        read[i] = rb(msg);
    }
    found = readback_match(&b, read, 1000, keep);
    assert_int_equal(found, 1000);
    for (int i = 0; i < 2000; i++)
        assert_true(keep[i] == (i % 2 == 0));
    batch_clean_up(&b);
    free(keep);
    free(read);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readback_match_nothing_read_back),
        cmocka_unit_test(test_readback_match_by_text),
        cmocka_unit_test(test_readback_match_identical_messages_count_once_each),
        cmocka_unit_test(test_readback_match_by_pair_when_text_differs),
        cmocka_unit_test(test_readback_event_of_markers_and_flagged_have_no_pair),
        cmocka_unit_test(test_readback_event_of_hostile_messages),
        cmocka_unit_test(test_readback_match_marker_needs_its_text),
        cmocka_unit_test(test_readback_match_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

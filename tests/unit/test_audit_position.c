/*
 * test_audit_position.c: audit_json_position, the (reboot_counter, sequence_no) of one of our JSON
 * entries read back from CloudWatch, shared by the read-back and verify. Markers and flagged
 * entries have none; hostile text (not JSON, duplicate keys, negative, huge or string numbers,
 * NUL bytes) gives none and leaves the out-parameters as they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "haf/audit.h"

static void
test_audit_json_position_entry(void **state)
{
    uint64_t reboot = 0, seq = 0;

    (void)state;
    assert_true(audit_json_position(
        span_cstr("{\"time\":\"x\",\"reboot_counter\":263,\"sequence_no\":18446744073709551}"),
        &reboot, &seq));
    assert_true(reboot == 263 && seq == 18446744073709551ULL);
}

static void
test_audit_json_position_none(void **state)
{
    static const char *const none[] = {
        "",
        " {\"reboot_counter\":1,\"sequence_no\":2}",
        "not json",
        "{",
        "[1,2]",
        "{\"event\":\"sequence_gap\",\"reboot_counter\":3,\"sequence_no\":41}",
        "{\"parse_error\":\"x\",\"reboot_counter\":3,\"sequence_no\":41}",
        "{\"reboot_counter\":-1,\"sequence_no\":1}",
        "{\"reboot_counter\":1,\"sequence_no\":-5}",
        "{\"reboot_counter\":\"1\",\"sequence_no\":2}",
        "{\"reboot_counter\":1,\"sequence_no\":2.0}",
        "{\"reboot_counter\":1,\"reboot_counter\":2,\"sequence_no\":2}",
        "{\"reboot_counter\":99999999999999999999999,\"sequence_no\":2}",
        "{\"sequence_no\":2}",
    };
    char nul[] = "{\"reboot_counter\":1,\"sequence_no\":2,\"x\":\"a\0b\"}";

    (void)state;
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        uint64_t reboot = 7, seq = 9;

        assert_false(audit_json_position(span_cstr(none[i]), &reboot, &seq));
        assert_true(reboot == 7 && seq == 9);
    }
    {
        uint64_t reboot = 7, seq = 9;

        assert_false(audit_json_position(span_make(nul, sizeof(nul) - 1), &reboot, &seq));
        assert_true(reboot == 7 && seq == 9);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_json_position_entry),
        cmocka_unit_test(test_audit_json_position_none),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

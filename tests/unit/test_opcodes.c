/*
 * test_opcodes.c: the opcode catalogue. The table is sorted by name with unique names and codes
 * (the binary search and the code index depend on it); every documented code and name finds its
 * row; a code whose printed name disagrees falls back to the name; unknown opcodes and codes at
 * the edges (255, 256, UINT64_MAX) are not found; time-synchronisation entries classify as time;
 * every category has a distinct name and out-of-range values read "unknown".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "haf/opcodes.h"

static void
test_opcode_table_sorted_unique(void **state)
{
    size_t n;
    const struct opcode_info *t = opcode_table(&n);

    (void)state;
    assert_true(n >= 48);
    for (size_t i = 0; i + 1 < n; i++) {
        if (strcmp(t[i].name, t[i + 1].name) >= 0)
            fail_msg("table not sorted at %s / %s", t[i].name, t[i + 1].name);
    }
    for (size_t i = 0; i < n; i++) {
        assert_true(t[i].category != OPCODE_CAT_UNKNOWN && t[i].category < OPCODE_CAT_MAX_);
        assert_non_null(t[i].description);
        assert_true(t[i].flags != 0);
        for (size_t j = i + 1; t[i].code != OPCODE_CODE_NONE && j < n; j++)
            assert_true(t[j].code != t[i].code);
    }
}

static void
test_opcode_by_code_documented(void **state)
{
    static const struct {
        uint32_t code;
        const char *name;
        enum opcode_category cat;
    } want[] = {
        {0x1, "CN_INIT_TOKEN", OPCODE_CAT_INIT_CRITICAL},
        {0x3, "CN_CREATE_USER", OPCODE_CAT_USER_MANAGEMENT},
        {0x4, "CN_CREATE_CO", OPCODE_CAT_USER_MANAGEMENT},
        {0x9, "CN_CHANGE_PSWD", OPCODE_CAT_PASSWORD_CHANGE},
        {0xd, "CN_LOGIN", OPCODE_CAT_LOGIN_LOGOUT},
        {0xe, "CN_LOGOUT", OPCODE_CAT_LOGIN_LOGOUT},
        {0x11, "CN_DESTROY_OBJECT", OPCODE_CAT_KEY_DELETION},
        {0x12, "CN_SHARE_OBJECT", OPCODE_CAT_KEY_SHARING},
        {0x17, "CN_GENERATE_KEY", OPCODE_CAT_KEY_GENERATION},
        {0x19, "CN_GENERATE_KEY_PAIR", OPCODE_CAT_KEY_GENERATION},
        {0x1a, "CN_WRAP_KEY", OPCODE_CAT_KEY_EXPORT},
        {0x1b, "CN_UNWRAP_KEY", OPCODE_CAT_KEY_IMPORT},
        {0x1d, "CN_GEN_PSWD_ENC_KEY", OPCODE_CAT_INIT_CRITICAL},
        {0x1e, "CN_NIST_AES_WRAP", OPCODE_CAT_KEY_EXPORT},
        {0x95, "CN_INIT_DONE", OPCODE_CAT_INIT_CRITICAL},
        {0xa1, "CN_DELETE_USER", OPCODE_CAT_USER_MANAGEMENT},
        {0xf0, "CN_EXTRACT_MASKED_OBJECT_USER", OPCODE_CAT_CLUSTER_SYNC},
        {0xf1, "CN_INSERT_MASKED_OBJECT_USER", OPCODE_CAT_CLUSTER_SYNC},
        {0xfc, "CN_CREATE_APPLIANCE_USER", OPCODE_CAT_USER_MANAGEMENT},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct opcode_info *o = opcode_by_code(want[i].code);
        assert_non_null(o);
        assert_string_equal(o->name, want[i].name);
        assert_int_equal(o->category, want[i].cat);
        assert_ptr_equal(opcode_by_name(span_cstr(want[i].name)), o);
        assert_ptr_equal(opcode_classify(span_cstr(want[i].name), want[i].code), o);
    }
}

static void
test_opcode_by_code_unknown_and_edges(void **state)
{
    (void)state;
    assert_null(opcode_by_code(0x0));
    assert_null(opcode_by_code(0x2b));
    assert_null(opcode_by_code(0xff));
    assert_null(opcode_by_code(0x100));
    assert_null(opcode_by_code(0xffff));
    assert_null(opcode_by_code(UINT64_MAX));
    /* 0x10d must not alias 0xd through the byte index */
    assert_null(opcode_by_code(0x10d));
}

static void
test_opcode_by_name_every_row_and_near_misses(void **state)
{
    size_t n;
    const struct opcode_info *t = opcode_table(&n);

    (void)state;
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(opcode_by_name(span_cstr(t[i].name)), &t[i]);
    assert_null(opcode_by_name(SPAN_LIT("")));
    assert_null(opcode_by_name(SPAN_LIT("CN_LOGI")));
    assert_null(opcode_by_name(SPAN_LIT("CN_LOGINX")));
    assert_null(opcode_by_name(SPAN_LIT("cn_login")));
    assert_null(opcode_by_name(SPAN_LIT("CN_LOGIN\0")));
    assert_null(opcode_by_name(SPAN_LIT("ZZZ")));
    assert_null(opcode_by_name(SPAN_LIT("A")));
}

static void
test_opcode_classify_name_wins_over_code(void **state)
{
    const struct opcode_info *o;

    (void)state;
    /* a documented name with an undocumented code: found by name */
    o = opcode_classify(SPAN_LIT("CN_TOMBSTONE_OBJECT"), 0x71);
    assert_non_null(o);
    assert_int_equal(o->category, OPCODE_CAT_KEY_DELETION);
    /* a documented code printed with another name: the name decides */
    o = opcode_classify(SPAN_LIT("CN_ZEROIZE"), 0xd);
    assert_non_null(o);
    assert_string_equal(o->name, "CN_ZEROIZE");
    /* a documented code with an unknown name: not guessed from the code */
    assert_null(opcode_classify(SPAN_LIT("CN_SOMETHING_NEW"), 0xd));
    assert_null(opcode_classify(SPAN_LIT("END_MARKER_OPCODE"), 0xffff));
}

static void
test_opcode_historical_and_current(void **state)
{
    const struct opcode_info *o;

    (void)state;
    o = opcode_by_name(SPAN_LIT("CN_CLONE_SOURCE_INIT"));
    assert_non_null(o);
    assert_true(o->flags & OPCODE_F_HISTORICAL);
    assert_int_equal(o->category, OPCODE_CAT_CLUSTER_SYNC);
    o = opcode_by_name(SPAN_LIT("CN_FIPS_RAND"));
    assert_non_null(o);
    assert_true(o->flags & OPCODE_F_CURRENT);
    o = opcode_by_name(SPAN_LIT("CN_SESSION_CLOSE"));
    assert_non_null(o);
    assert_int_equal(o->category, OPCODE_CAT_LOGIN_LOGOUT);
    assert_int_equal(opcode_by_name(SPAN_LIT("CN_RESTORE_END"))->category,
                     OPCODE_CAT_BACKUP_RESTORE);
    assert_int_equal(opcode_by_name(SPAN_LIT("CN_CERT_AUTH_STORE_CERT"))->category,
                     OPCODE_CAT_CERT_AUTH);
    assert_int_equal(opcode_by_name(SPAN_LIT("CN_GET_TOKEN"))->category, OPCODE_CAT_QUORUM_TOKEN);
}

static void
test_opcode_entry_category_time_and_unknown(void **state)
{
    (void)state;
    /* TIME_INFO entry without an Opcode line */
    assert_int_equal(opcode_entry_category(false, SPAN_NULL, 0, true, 0xeee2, true, 16),
                     OPCODE_CAT_TIME);
    /* log type alone */
    assert_int_equal(opcode_entry_category(true, SPAN_LIT("CN_TIME_SYNC"), 0x2b, true, 0, true, 16),
                     OPCODE_CAT_TIME);
    /* a known opcode keeps its category even in a TIME_INFO entry */
    assert_int_equal(opcode_entry_category(true, SPAN_LIT("CN_LOGIN"), 0xd, true, 0xeee2, true, 16),
                     OPCODE_CAT_LOGIN_LOGOUT);
    assert_int_equal(opcode_entry_category(true, SPAN_LIT("CN_NEW"), 0x77, true, 0, true, 0),
                     OPCODE_CAT_UNKNOWN);
    /* codes present but flagged absent do not count */
    assert_int_equal(opcode_entry_category(false, SPAN_NULL, 0, false, 0xeee2, false, 16),
                     OPCODE_CAT_UNKNOWN);
}

static void
test_opcode_category_names(void **state)
{
    (void)state;
    for (int i = 0; i < OPCODE_CAT_MAX_; i++) {
        const char *a = opcode_category_name((enum opcode_category)i);
        assert_non_null(a);
        for (int j = i + 1; j < OPCODE_CAT_MAX_; j++)
            assert_string_not_equal(a, opcode_category_name((enum opcode_category)j));
    }
    assert_string_equal(opcode_category_name(OPCODE_CAT_KEY_EXPORT), "key_export");
    assert_string_equal(opcode_category_name(OPCODE_CAT_MAX_), "unknown");
    assert_string_equal(opcode_category_name((enum opcode_category) - 1), "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opcode_table_sorted_unique),
        cmocka_unit_test(test_opcode_by_code_documented),
        cmocka_unit_test(test_opcode_by_code_unknown_and_edges),
        cmocka_unit_test(test_opcode_by_name_every_row_and_near_misses),
        cmocka_unit_test(test_opcode_classify_name_wins_over_code),
        cmocka_unit_test(test_opcode_historical_and_current),
        cmocka_unit_test(test_opcode_entry_category_time_and_unknown),
        cmocka_unit_test(test_opcode_category_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

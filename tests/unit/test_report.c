/*
 * test_report.c: the report aggregation (src/report_agg.c), its input layer (report_input.c),
 * time parsing (report_time.c), escaping (report_escape.c) and the three renderings, on
 * hand-made entries with known answers: login reasons, session actors, CO creation rules, key
 * lifecycle kinds, gaps and out-of-order entries, bursts, the time window and --hsm filter, every
 * capped table spilling into "(other)", the raw text and JSON of the same entry giving the same
 * counts, hostile names escaped in text and HTML, and the JSON document carrying the documented
 * keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "haf/report.h"
#include "haf/report_input.h"
#include "report_internal.h"

#define T0_MS 1764979200000LL /* 2025-12-06T00:00:00Z */

/* A hand-made entry: every required field, a user when `user` is not NULL. */
static struct haf_entry
mk(int64_t ms, uint64_t seq, const char *op, uint64_t session, uint64_t resp, const char *user,
   uint64_t utype)
{
    struct haf_entry e;

    memset(&e, 0, sizeof(e));
    e.present = HAF_F_REQUIRED;
    e.usecs = (uint64_t)ms * 1000;
    e.sequence_no = seq;
    e.reboot_counter = 0x107;
    e.opcode.name = span_cstr(op);
    e.session_handle = session;
    e.response_code = resp;
    e.response_success = resp == 0;
    e.response_text = resp == 0 ? SPAN_LIT("HSM Return: SUCCESS") : SPAN_LIT("HSM Error: x");
    if (user) {
        e.present |= HAF_F_USER_NAME | HAF_F_USER_TYPE;
        e.user_name = span_cstr(user);
        e.user_type.code = utype;
        e.user_type.name = utype == 2 ? SPAN_LIT("CN_CRYPTO_OFFICER") : SPAN_LIT("CN_CRYPTO_USER");
    }
    return e;
}

static void
add(struct report *r, struct haf_entry e, const char *hsm)
{
    report_add_entry(r, &e, span_cstr(hsm), 0);
}

static void
test_report_logins_reasons_and_actor(void **state)
{
    struct report *r = report_new(NULL);

    (void)state;
    assert_non_null(r);
    add(r, mk(T0_MS, 0, "CN_LOGIN", 7, 0, "alice", 1), "hsm-a");
    add(r, mk(T0_MS + 1, 1, "CN_LOGIN", 8, 157, "ghost", 1), "hsm-a");
    add(r, mk(T0_MS + 2, 2, "CN_LOGIN", 8, 206, "ghost", 1), "hsm-a");
    add(r, mk(T0_MS + 3, 3, "CN_LOGIN", 8, 163, "alice", 1), "hsm-a");
    add(r, mk(T0_MS + 4, 4, "CN_LOGIN", 8, 99, "bob", 2), "hsm-a");
    /* Session 7 is alice's: her key generation names her as the actor. */
    add(r, mk(T0_MS + 5, 5, "CN_GENERATE_KEY", 7, 0, NULL, 0), "hsm-a");
    /* After her logout the session is nobody's. */
    add(r, mk(T0_MS + 6, 6, "CN_LOGOUT", 7, 0, "alice", 1), "hsm-a");
    add(r, mk(T0_MS + 7, 7, "CN_GENERATE_KEY_PAIR", 7, 0, NULL, 0), "hsm-a");
    /* The same session handle on another HSM is another session. */
    add(r, mk(T0_MS + 8, 0, "CN_WRAP_KEY", 7, 0, NULL, 0), "hsm-b");

    assert_int_equal(r->logins.success, 1);
    assert_int_equal(r->logins.failed, 4);
    assert_int_equal(r->logins.unknown_user, 2);
    assert_int_equal(r->logins.wrong_password, 1);
    assert_int_equal(r->logins.other, 1);
    assert_int_equal(r->n_users, 3);
    assert_string_equal(r->users[0].name, "alice");
    assert_int_equal(r->users[0].login_success, 1);
    assert_int_equal(r->users[0].wrong_password, 1);
    assert_int_equal(r->users[1].unknown_user, 2);
    assert_string_equal(r->users[2].type, "CN_CRYPTO_OFFICER");
    assert_int_equal(r->key_rows.n, 3);
    assert_string_equal(r->key_rows.row[0].actor, "alice");
    assert_string_equal(r->key_rows.row[0].what, "generated (symmetric)");
    assert_string_equal(r->key_rows.row[1].actor, "");
    assert_string_equal(r->key_rows.row[1].what, "generated (asymmetric)");
    assert_string_equal(r->key_rows.row[2].actor, "");
    assert_int_equal(r->hsms[0].login_failed, 4);
    assert_int_equal(r->errors_total, 4);
    assert_int_equal(r->n_errors, 4); /* 157, 206, 163, 99 on CN_LOGIN */
    /* Rendering order: most failed logins first, errors by count then code. */
    add(r, mk(T0_MS + 9, 9, "CN_LOGIN", 9, 163, "bob", 2), "hsm-a");
    report_finish(r);
    assert_string_equal(r->users[0].name, "bob");
    assert_int_equal(r->users[0].login_failed, 2);
    assert_int_equal(r->errors[0].code, 163);
    assert_int_equal(r->errors[0].count, 2);
    assert_int_equal(r->errors[1].code, 99);
    assert_string_equal(r->opcodes[0].name, "CN_LOGIN");
    report_free(r);
}

static void
test_report_user_management_co_rules(void **state)
{
    struct report *r = report_new(NULL);
    struct haf_entry e;

    (void)state;
    add(r, mk(T0_MS, 0, "CN_CREATE_CO", 1, 0, "officer2", 2), "h");
    add(r, mk(T0_MS, 1, "CN_CREATE_USER", 1, 0, "cu1", 1), "h");
    add(r, mk(T0_MS, 2, "CN_CREATE_USER", 1, 0, "co-by-type", 2), "h");
    /* An admin (CO) creating a crypto user: the target type decides, not the actor's. */
    e = mk(T0_MS, 3, "CN_CREATE_USER", 1, 0, "admin", 2);
    e.present |= HAF_F_TARGET_USER_NAME | HAF_F_TARGET_USER_TYPE;
    e.target_user_name = SPAN_LIT("newcu");
    e.target_user_type.code = 1;
    add(r, e, "h");
    add(r, mk(T0_MS, 4, "CN_CREATE_USER", 1, 163, "failed", 2), "h"); /* failed: not counted */
    add(r, mk(T0_MS, 5, "CN_DELETE_USER", 1, 0, "cu1", 1), "h");
    add(r, mk(T0_MS, 6, "CN_CHANGE_PSWD", 1, 0, "cu2", 1), "h");
    add(r, mk(T0_MS, 7, "CN_SET_M_VALUE", 1, 0, "cu2", 1), "h");

    assert_int_equal(r->user_mgmt.created, 4);
    assert_int_equal(r->user_mgmt.crypto_officers_created, 2);
    assert_int_equal(r->user_mgmt.deleted, 1);
    assert_int_equal(r->user_mgmt.password_changes, 1);
    assert_int_equal(r->user_mgmt.quorum_changes, 1);
    assert_int_equal(r->critical.quorum_token, 1);
    assert_int_equal(r->user_rows.total, 8);
    assert_string_equal(r->user_rows.row[3].subject, "newcu");
    assert_string_equal(r->user_rows.row[3].what, "created");
    assert_false(r->user_rows.row[4].success);
    report_free(r);
}

static void
test_report_key_lifecycle_kinds(void **state)
{
    static const char *const ops[] = {
        "CN_GENERATE_KEY",
        "CN_GENERATE_KEY_PAIR",
        "CN_DERIVE_KEY",
        "CN_DESTROY_OBJECT",
        "CN_TOMBSTONE_OBJECT",
        "CN_WRAP_KEY",
        "CN_NIST_AES_WRAP",
        "CN_UNWRAP_KEY",
        "CN_CREATE_OBJECT",
        "CN_SHARE_OBJECT",
        "CN_EXTRACT_MASKED_OBJECT_USER",
        "CN_INSERT_MASKED_OBJECT_USER",
    };
    struct report *r = report_new(NULL);
    struct haf_entry e;

    (void)state;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        e = mk(T0_MS, i, ops[i], 1, 0, NULL, 0);
        e.present |= HAF_F_PRIV_SECRET_KEY_HANDLE;
        e.priv_secret_key_handle = 1000 + i;
        add(r, e, "h");
    }
    add(r, mk(T0_MS, 20, "CN_GENERATE_KEY", 1, 198, NULL, 0), "h"); /* failed */
    assert_int_equal(r->keys.generated, 3);
    assert_int_equal(r->keys.generated_symmetric, 2);
    assert_int_equal(r->keys.generated_asymmetric, 1);
    assert_int_equal(r->keys.deleted, 2);
    assert_int_equal(r->keys.deleted_session, 1);
    assert_int_equal(r->keys.deleted_token, 1);
    assert_int_equal(r->keys.exported, 2);
    assert_int_equal(r->keys.imported, 2);
    assert_int_equal(r->keys.shared, 1);
    assert_int_equal(r->keys.cluster_sync, 2);
    assert_int_equal(r->key_rows.total, 13);
    assert_int_equal(r->key_rows.row[4].handle, 1004);
    assert_string_equal(r->key_rows.row[4].what, "deleted (token key)");
    assert_string_equal(r->key_rows.row[10].what, "cluster sync (masked object)");
    assert_int_equal(r->hsms[0].gaps_total, 1); /* 11 -> 20 */
    assert_int_equal(r->hsms[0].missing_total, 8);
    report_free(r);
}

static void
test_report_sequence_gaps_reboots_out_of_order(void **state)
{
    struct report *r = report_new(NULL);
    struct haf_entry e;

    (void)state;
    add(r, mk(T0_MS, 0, "CN_LOGIN", 1, 0, "a", 1), "h");
    add(r, mk(T0_MS, 1, "CN_LOGIN", 1, 0, "a", 1), "h");
    add(r, mk(T0_MS, 5, "CN_LOGIN", 1, 0, "a", 1), "h"); /* 2..4 missing */
    add(r, mk(T0_MS, 3, "CN_LOGIN", 1, 0, "a", 1), "h"); /* backwards */
    e = mk(T0_MS, 0, "CN_LOGIN", 1, 0, "a", 1);
    e.reboot_counter = 0x108; /* a reboot starts again at 0: no gap */
    add(r, e, "h");
    e.sequence_no = 1;
    add(r, e, "h");
    report_add_gap_marker(r, SPAN_LIT("h"));
    assert_int_equal(r->hsms[0].gaps_total, 1);
    assert_int_equal(r->hsms[0].missing_total, 3);
    assert_int_equal(r->hsms[0].gaps[0].expected, 2);
    assert_int_equal(r->hsms[0].gaps[0].received, 5);
    assert_int_equal(r->hsms[0].out_of_order, 1);
    assert_int_equal(r->hsms[0].n_reboots, 2);
    assert_int_equal(r->hsms[0].reboots[1], 0x108);
    assert_int_equal(r->hsms[0].gap_markers, 1);
    report_free(r);
}

static void
test_report_burst_of_failures(void **state)
{
    struct report *r = report_new(NULL);

    (void)state;
    /* 4 failures, then a quiet hour: no burst. */
    for (int i = 0; i < 4; i++)
        add(r, mk(T0_MS + i * 1000, (uint64_t)i, "CN_LOGIN", 1, 163, "x", 1), "h");
    /* 7 failures 30 s apart: one burst of 7 (the quiet ones are outside its window). */
    for (int i = 0; i < 7; i++)
        add(r, mk(T0_MS + 3600000 + i * 30000, 4 + (uint64_t)i, "CN_LOGIN", 1, 163, "x", 1), "h");
    assert_int_equal(r->n_bursts, 1);
    assert_int_equal(r->bursts[0].failures, 7);
    assert_int_equal(r->bursts[0].start_ms, T0_MS + 3600000);
    assert_int_equal(r->bursts[0].end_ms, T0_MS + 3600000 + 6 * 30000);
    report_free(r);
}

static void
test_report_window_and_hsm_filter(void **state)
{
    const char *only[] = {"hsm-b"};
    struct report_opts o = {
        .since_ms = T0_MS, .until_ms = T0_MS + 3600000, .hsms = only, .n_hsms = 1};
    struct report *r = report_new(&o);
    struct haf_entry untimed = mk(0, 9, "CN_LOGIN", 1, 0, "u", 1);

    (void)state;
    add(r, mk(T0_MS - 1, 0, "CN_LOGIN", 1, 0, "u", 1), "hsm-b");
    add(r, mk(T0_MS, 1, "CN_LOGIN", 1, 0, "u", 1), "hsm-b");
    add(r, mk(T0_MS + 3599999, 2, "CN_LOGIN", 1, 0, "u", 1), "hsm-b");
    add(r, mk(T0_MS + 3600000, 3, "CN_LOGIN", 1, 0, "u", 1), "hsm-b");
    add(r, mk(T0_MS + 5, 0, "CN_LOGIN", 1, 0, "u", 1), "hsm-a");
    untimed.present &= ~HAF_F_TIME;
    report_add_entry(r, &untimed, SPAN_LIT("hsm-b"), T0_MS + 10); /* CloudWatch time used */
    report_add_entry(r, &untimed, SPAN_LIT("hsm-b"), 0);          /* no time at all: kept */
    assert_int_equal(r->entries, 4);
    assert_int_equal(r->outside_window, 2);
    assert_int_equal(r->other_hsm, 1);
    assert_int_equal(r->untimed, 1);
    assert_int_equal(r->n_hsms, 1);
    report_free(r);
}

static void
test_report_tables_capped_into_other(void **state)
{
    struct report *r = report_new(NULL);
    char name[32];

    (void)state;
    for (int i = 0; i < REPORT_MAX_USERS + 10; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        add(r, mk(T0_MS, (uint64_t)i, "CN_LOGIN", 1, 163, name, 1), "h");
    }
    for (int i = 0; i < REPORT_MAX_OPCODES + 5; i++) {
        snprintf(name, sizeof(name), "CN_MADE_UP_%d", i);
        add(r, mk(T0_MS, 1000 + (uint64_t)i, name, 1, 0, NULL, 0), "h");
    }
    for (int i = 0; i < REPORT_MAX_HSMS + 3; i++) {
        snprintf(name, sizeof(name), "hsm-%d", i);
        add(r, mk(T0_MS, 0, "CN_LOGOUT", 1, 0, NULL, 0), name);
    }
    for (int i = 0; i < REPORT_MAX_ROWS + 7; i++)
        add(r, mk(T0_MS, 5000 + (uint64_t)i, "CN_GENERATE_KEY", 1, 0, NULL, 0), "h");
    assert_int_equal(r->n_users, REPORT_MAX_USERS);
    assert_true(r->user_overflow);
    assert_int_equal(r->users[REPORT_MAX_USERS].login_failed, 10);
    assert_int_equal(r->logins.failed, REPORT_MAX_USERS + 10);
    assert_true(r->opcode_overflow);
    assert_int_equal(r->n_opcodes, REPORT_MAX_OPCODES);
    assert_true(r->hsm_overflow);
    assert_int_equal(r->hsms[REPORT_MAX_HSMS].entries, 4); /* "h" took the first slot */
    assert_int_equal(r->key_rows.n, REPORT_MAX_ROWS);
    assert_int_equal(r->key_rows.total, REPORT_MAX_ROWS + 7);
    report_free(r);
}

static const char raw_login[] = "Time: 12/06/25 10:00:00.000000, usecs:1765015200000000\n"
                                "Sequence No : 0x4\n"
                                "Reboot counter : 0x107\n"
                                "Command Type(hex) : CN_MGMT_CMD (0x0)\n"
                                "Opcode : CN_LOGIN (0xd)\n"
                                "Session Handle : 0xc008002\n"
                                "Response : 157:HSM Error: user isn't initialized or user with "
                                "this name doesn't exist\n"
                                "Log type : MGMT_USER_DETAILS_LOG (2)\n"
                                "User Name : Example<User>\n"
                                "User Type : CN_CRYPTO_USER (1)\n";

static void
test_report_feed_raw_and_json_agree(void **state)
{
    struct report *a = report_new(NULL), *b = report_new(NULL);
    struct buf json;

    (void)state;
    buf_init(&json, 0);
    assert_int_equal(report_feed_message(a, SPAN_LIT("hsm-x"), 5, span_cstr(raw_login)), HAF_OK);
    /* The formatter's JSON of the same entry (what `parse` prints for it). */
    assert_int_equal(
        buf_adds(&json,
                 "{\"time\":\"2025-12-06T10:00:00.000000Z\",\"usecs\":1765015200000000,"
                 "\"sequence_no\":4,\"reboot_counter\":263,\"command_type\":{\"name\":"
                 "\"CN_MGMT_CMD\",\"code\":0},\"opcode\":{\"name\":\"CN_LOGIN\",\"code\":13},"
                 "\"session_handle\":201359362,\"response\":{\"code\":157,\"text\":\"HSM Error: "
                 "user isn't initialized or user with this name doesn't exist\",\"success\":"
                 "false},\"log_type\":{\"name\":\"MGMT_USER_DETAILS_LOG\",\"code\":2},"
                 "\"user_name\":\"Example<User>\",\"user_type\":{\"name\":\"CN_CRYPTO_USER\","
                 "\"code\":1},\"host\":\"h\",\"source\":\"s\"}"),
        HAF_OK);
    assert_int_equal(report_feed_message(b, SPAN_LIT("hsm-x"), 5, buf_span(&json)), HAF_OK);
    assert_int_equal(a->entries, 1);
    assert_int_equal(b->entries, 1);
    assert_int_equal(a->logins.unknown_user, 1);
    assert_int_equal(b->logins.unknown_user, 1);
    assert_string_equal(a->users[0].name, "Example<User>");
    assert_string_equal(b->users[0].name, "Example<User>");
    assert_string_equal(a->users[0].type, b->users[0].type);
    assert_string_equal(a->errors[0].text, b->errors[0].text);
    assert_int_equal(a->hsms[0].reboots[0], b->hsms[0].reboots[0]);
    assert_int_equal(a->first_ms, b->first_ms);
    buf_clean_up(&json);
    report_free(a);
    report_free(b);
}

static void
test_report_feed_markers_cert_and_junk(void **state)
{
    struct report *r = report_new(NULL);

    (void)state;
    assert_int_equal(report_feed_message(r, SPAN_LIT("s"), 1,
                                         SPAN_LIT("{\"event\":\"sequence_gap\",\"missing\":3,"
                                                  "\"hsm_id\":\"hsm-m\"}")),
                     HAF_OK);
    assert_int_equal(
        report_feed_message(r, SPAN_LIT("s"), 1, SPAN_LIT("{\"event\":\"reboot_counter_change\"}")),
        HAF_OK);
    assert_int_equal(
        report_feed_message(r, SPAN_LIT("cluster-1"), 1,
                            SPAN_LIT("{\"object_handle\":463180677312929947,\"op_code\":"
                                     "\"DestroyObject\",\"response\":\"OK\",\"timestamp\":"
                                     "1764979200123}")),
        HAF_OK);
    assert_int_equal(report_feed_message(r, SPAN_LIT("s"), 1, SPAN_LIT("{\"unrelated\":1}")),
                     HAF_OK);
    assert_int_equal(report_feed_message(r, SPAN_LIT("s"), 1, SPAN_LIT("   ")), HAF_OK);
    /* Not an entry: the parser keeps it as one flagged entry. */
    assert_int_equal(report_feed_message(r, SPAN_LIT("s"), 1, SPAN_LIT("garbage\0bytes")), HAF_OK);
    assert_int_equal(r->hsms[0].gap_markers, 1);
    assert_string_equal(r->hsms[0].hsm, "hsm-m");
    assert_int_equal(r->hsms[1].reboot_markers, 1);
    assert_int_equal(r->cert_events, 1);
    assert_int_equal(r->critical.cert_storage, 1);
    assert_int_equal(r->critical_rows.row[0].time_ms, 1764979200123LL);
    assert_int_equal(r->unreadable, 2);
    assert_int_equal(r->flagged, 1);
    report_free(r);
}

static void
test_report_parse_time_forms(void **state)
{
    int64_t now = T0_MS + 86400000, v = 42;

    (void)state;
    assert_int_equal(report_parse_time("24h", now, &v), HAF_OK);
    assert_int_equal(v, T0_MS);
    assert_int_equal(report_parse_time("1d", now, &v), HAF_OK);
    assert_int_equal(v, T0_MS);
    assert_int_equal(report_parse_time("90s", now, &v), HAF_OK);
    assert_int_equal(v, now - 90000);
    assert_int_equal(report_parse_time("2w", now, &v), HAF_OK);
    assert_int_equal(report_parse_time("2025-12-06", now, &v), HAF_OK);
    assert_int_equal(v, T0_MS);
    assert_int_equal(report_parse_time("2025-12-06T01:02:03Z", now, &v), HAF_OK);
    assert_int_equal(v, T0_MS + 3723000);
    assert_int_equal(report_parse_time("2025-12-06 01:02:03.25", now, &v), HAF_OK);
    assert_int_equal(v, T0_MS + 3723250);
    assert_int_equal(report_parse_time("2024-02-29T00:00", now, &v), HAF_OK);
    v = 42;
    static const char *const bad[] = {"",
                                      "h",
                                      "24",
                                      "24x",
                                      "-5h",
                                      "2025-13-01",
                                      "2025-02-29",
                                      "2025-12-06T24:00",
                                      "2025-12-06Tx",
                                      "1969-12-31",
                                      "99999999999999999999h",
                                      "2025-12-06Z1",
                                      "2025-12-06T01:02:03.",
                                      "1000000d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(report_parse_time(bad[i], now, &v), HAF_EINVAL);
    assert_int_equal(v, 42);
}

static void
test_report_escape_hostile(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(report_escape(&b, "<script>\"x\"&'y'", true), HAF_OK);
    assert_string_equal(buf_cstr(&b), "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;");
    buf_reset(&b);
    assert_int_equal(report_escape(&b, "evil\xE2\x80\xAEgnp.exe\x1b[2J\xEF\xBF\xBD\xC3\xA9", true),
                     HAF_OK);
    assert_string_equal(buf_cstr(&b), "evil\\u202Egnp.exe\\u001B[2J\\uFFFD\xC3\xA9");
    buf_reset(&b);
    assert_int_equal(report_escape(&b, "a\xFF<b", false), HAF_OK);
    assert_string_equal(buf_cstr(&b), "a\\xFF<b");
    buf_clean_up(&b);
}

/* A report with hostile names, rendered three ways: nothing from the logs survives unescaped. */
static void
test_report_render_hostile_names(void **state)
{
    static const char *const names[] = {"<script>alert(1)</script>", "\"q' & <b>",
                                        "evil\xE2\x80\xAEresu", "bad\xFF\xFEutf8",
                                        "</bdi><img src=x>"};
    struct report *r = report_new(NULL);
    struct buf out;
    json_t *doc;
    json_error_t jerr;

    (void)state;
    buf_init(&out, 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        add(r, mk(T0_MS + (int64_t)i, i, "CN_LOGIN", 1, 163, names[i], 1), names[i]);
        add(r, mk(T0_MS + (int64_t)i, i + 1, "CN_CREATE_USER", 1, 0, names[i], 1), "h");
    }
    report_finish(r);
    assert_int_equal(report_render_html(r, &out), HAF_OK);
    assert_null(strstr(buf_cstr(&out), "<script"));
    assert_null(strstr(buf_cstr(&out), "<img"));
    assert_null(strstr(buf_cstr(&out), "<b>"));
    assert_null(strstr(buf_cstr(&out), "\xE2\x80\xAE"));
    assert_null(strstr(buf_cstr(&out), "\xFF"));
    assert_non_null(strstr(buf_cstr(&out), "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(buf_cstr(&out), "evil\\u202Eresu"));
    assert_non_null(strstr(buf_cstr(&out), "bad\\uFFFD\\uFFFDutf8"));
    assert_non_null(strstr(buf_cstr(&out), "&lt;/bdi&gt;&lt;img src=x&gt;"));
    buf_reset(&out);
    assert_int_equal(report_render_text(r, &out), HAF_OK);
    assert_null(strstr(buf_cstr(&out), "\xE2\x80\xAE"));
    assert_non_null(strstr(buf_cstr(&out), "<script>alert(1)</script>"));
    buf_reset(&out);
    assert_int_equal(report_render_json(r, &out), HAF_OK);
    doc = json_loadb(out.p, out.len, 0, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(doc, "logins"), "failed_by_user"),
                         "evil\xE2\x80\xAEresu")),
                     1);
    for (size_t i = 0; i < out.len; i++)
        assert_true((unsigned char)out.p[i] < 0x80); /* JSON_ENSURE_ASCII */
    json_decref(doc);
    buf_clean_up(&out);
    report_free(r);
}

static void
test_report_render_json_schema_keys(void **state)
{
    static const char *const top[] = {"schema", "period",  "sources", "entries", "flagged",
                                      "hsms",   "logins",  "users",   "keys",    "critical",
                                      "errors", "opcodes", "timeline"};
    struct report *r = report_new(NULL);
    struct buf out;
    json_t *doc, *h, *g, *l;
    json_error_t jerr;

    (void)state;
    buf_init(&out, 0);
    add(r, mk(T0_MS, 0, "CN_LOGIN", 1, 157, "u", 1), "hsm-a");
    add(r, mk(T0_MS + 3600000, 3, "CN_GENERATE_KEY", 1, 0, NULL, 0), "hsm-a");
    report_finish(r);
    assert_int_equal(report_render_json(r, &out), HAF_OK);
    doc = json_loadb(out.p, out.len, 0, &jerr);
    assert_non_null(doc);
    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
        assert_non_null(json_object_get(doc, top[i]));
    h = json_array_get(json_object_get(doc, "hsms"), 0);
    assert_string_equal(json_string_value(json_object_get(h, "hsm")), "hsm-a");
    assert_int_equal(json_integer_value(json_object_get(h, "entries")), 2);
    g = json_array_get(json_object_get(h, "gaps"), 0);
    assert_int_equal(json_integer_value(json_object_get(g, "expected")), 1);
    assert_int_equal(json_integer_value(json_object_get(g, "received")), 3);
    assert_int_equal(json_integer_value(json_object_get(g, "missing")), 2);
    assert_int_equal(json_integer_value(json_object_get(g, "reboot_counter")), 0x107);
    l = json_object_get(doc, "logins");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(l, "failed_by_reason"), "unknown_user")),
        1);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(doc, "opcodes"), "CN_GENERATE_KEY"), "success")),
        1);
    assert_int_equal(json_array_size(json_object_get(json_object_get(doc, "timeline"), "buckets")),
                     2);
    json_decref(doc);
    buf_clean_up(&out);
    report_free(r);
}

static void
test_report_event_scan_forms(void **state)
{
    struct report_event ev;
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    /* Numbers before and after other members; escapes, surrogates and U+0000 decoded. */
    assert_true(report_event_scan(
        SPAN_LIT(" {\"x\":3,\"usecs\":18446744073709551615,\"sequence_no\":1.5,"
                 "\"reboot_counter\":-1,\"session_handle\":1e3,\"key_handle\":7,"
                 "\"user_name\":\"a\\u0000\\\"\\ud83d\\ude00\\udc00\\n\",\"y\":[1,{\"z\":null}],"
                 "\"opcode\":{\"name\":\"CN_LOGIN\",\"code\":13},\"user_name\":\"b\"} "),
        &b, &ev));
    assert_true(ev.entry.present & HAF_F_TIME);
    assert_true(ev.entry.usecs == UINT64_MAX);
    assert_false(ev.entry.present &
                 (HAF_F_SEQUENCE_NO | HAF_F_REBOOT_COUNTER | HAF_F_SESSION_HANDLE));
    assert_int_equal(ev.entry.key_handle, 7);
    assert_true(span_eq(ev.entry.user_name, SPAN_LIT("b"))); /* the last one wins */
    assert_true(span_eq(ev.entry.opcode.name, SPAN_LIT("CN_LOGIN")));
    assert_int_equal(ev.entry.opcode.code, 13);
    assert_true(report_event_scan(
        SPAN_LIT("{\"user_name\":\"a\\u0000\\\"\\ud83d\\ude00\\udc00\\n\"}"), &b, &ev));
    assert_true(span_eq(ev.entry.user_name, SPAN_LIT("a\0\"\xF0\x9F\x98\x80\xEF\xBF\xBD\n")));
    /* Past UINT64_MAX: absent, not wrapped. */
    assert_true(report_event_scan(SPAN_LIT("{\"usecs\":18446744073709551616}"), &b, &ev));
    assert_false(ev.entry.present & HAF_F_TIME);
    /* Not exactly one JSON object. */
    static const char *const bad[] = {
        "{",
        "{\"a\":}",
        "{\"a\":1,}",
        "{\"a\":01}",
        "{\"a\":\"x}",
        "{\"a\":tru}",
        "{} {}",
        "[1]",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\x01\"}",
        "{\"a\":1.}",
        "{\"a\":-}",
        "{a:1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(report_event_scan(span_cstr(bad[i]), &b, &ev));
    /* Nesting: 64 levels (the object and 63 arrays) are read, 65 are refused. */
    for (int arrays = 63; arrays <= 64; arrays++) {
        char deep[200];
        size_t n = 0;
        memcpy(deep, "{\"a\":", 5);
        n = 5;
        for (int i = 0; i < arrays; i++)
            deep[n++] = '[';
        for (int i = 0; i < arrays; i++)
            deep[n++] = ']';
        deep[n++] = '}';
        assert_int_equal(report_event_scan(span_make(deep, n), &b, &ev), arrays == 63);
    }
    buf_clean_up(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_logins_reasons_and_actor),
        cmocka_unit_test(test_report_user_management_co_rules),
        cmocka_unit_test(test_report_key_lifecycle_kinds),
        cmocka_unit_test(test_report_sequence_gaps_reboots_out_of_order),
        cmocka_unit_test(test_report_burst_of_failures),
        cmocka_unit_test(test_report_window_and_hsm_filter),
        cmocka_unit_test(test_report_tables_capped_into_other),
        cmocka_unit_test(test_report_feed_raw_and_json_agree),
        cmocka_unit_test(test_report_feed_markers_cert_and_junk),
        cmocka_unit_test(test_report_parse_time_forms),
        cmocka_unit_test(test_report_event_scan_forms),
        cmocka_unit_test(test_report_escape_hostile),
        cmocka_unit_test(test_report_render_hostile_names),
        cmocka_unit_test(test_report_render_json_schema_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

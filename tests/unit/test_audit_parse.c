/*
 * test_audit_parse.c: the incremental audit parser. Every verbatim example of the reference
 * (tests/data/audit/, byte-exact) parses to the right values field by field; entries are identical
 * in any chunking (every split point, one byte at a time, stop-and-resume, resume at src_end);
 * offsets tile the input; and the adversarial cases: CRLF and stray CR, tabs, the export prefix,
 * unknown and duplicate labels, truncated entries, text outside entries, invalid UTF-8, NUL bytes,
 * a 10 MB line, garbage without newlines, numbers at UINT64_MAX and one past, the size bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit_internal.h"
#include "haf/audit.h"
#include "testlib.h"

/* ---- collecting entries: deep copies (spans rebased) and a canonical text form ---- */

struct ecopy {
    struct haf_entry e;
    char *mem;
};

struct coll {
    struct ecopy *v;
    size_t n, cap;
    struct buf canon;    /* per entry: json TAB start-end NL */
    size_t stop_after;   /* return non-zero from the callback every stop_after entries (0: never) */
    bool generic_errors; /* canon: any parse_error prints as "x" (resume comparisons) */
};

static void
rebase(struct span *s, const char *from, char *to)
{
    if (s->p != NULL && s->len > 0)
        s->p = to + (s->p - from);
}

static int
coll_cb(void *ctx, const struct haf_entry *e)
{
    struct coll *c = ctx;
    struct ecopy *x;
    const char *lo = e->raw.p;
    size_t n;
    struct haf_entry ce = *e;

    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = realloc(c->v, c->cap * sizeof(*c->v));
        assert_non_null(c->v);
    }
    x = &c->v[c->n++];
    x->e = *e;
    if (e->export_time.len)
        lo = e->export_time.p;
    n = (size_t)(e->raw.p + e->raw.len - lo);
    x->mem = malloc(n + 1);
    assert_non_null(x->mem);
    memcpy(x->mem, lo, n);
    x->mem[n] = '\0';
    struct span *spans[] = {&x->e.human_time,
                            &x->e.export_time,
                            &x->e.command_type.name,
                            &x->e.opcode.name,
                            &x->e.response_text,
                            &x->e.log_type.name,
                            &x->e.user_name,
                            &x->e.user_type.name,
                            &x->e.version_no,
                            &x->e.user_id,
                            &x->e.target_user_name,
                            &x->e.target_user_type.name,
                            &x->e.target_user_id,
                            &x->e.mfa_enabled,
                            &x->e.operation.name,
                            &x->e.user_ids,
                            &x->e.local_time,
                            &x->e.host_time,
                            &x->e.raw};
    for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++)
        rebase(spans[i], lo, x->mem);
    for (size_t i = 0; i < x->e.n_extra; i++) {
        rebase(&x->e.extra[i].key, lo, x->mem);
        rebase(&x->e.extra[i].value, lo, x->mem);
    }
    if (c->generic_errors && ce.parse_error)
        ce.parse_error = "x";
    assert_int_equal(audit_format(&ce, AUDIT_FORMAT_JSON, NULL, &c->canon), HAF_OK);
    assert_int_equal(buf_addf(&c->canon, "\t%llu-%llu\n", (unsigned long long)e->src_start,
                              (unsigned long long)e->src_end),
                     HAF_OK);
    if (c->stop_after && c->n % c->stop_after == 0)
        return 1;
    return 0;
}

static void
coll_init(struct coll *c)
{
    memset(c, 0, sizeof(*c));
    buf_init(&c->canon, 0);
}

static void
coll_free(struct coll *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].mem);
    free(c->v);
    buf_clean_up(&c->canon);
}

/* Feed data whole (or in chunks of `chunk` bytes), flush, collect. */
static struct audit_parser *
parse_chunked(struct coll *c, const char *data, size_t len, size_t chunk,
              const struct audit_parser_opts *opts)
{
    struct audit_parser *p = audit_parser_new(opts);
    size_t off = 0;

    assert_non_null(p);
    if (chunk == 0)
        chunk = len ? len : 1;
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk, used = 0;
        assert_int_equal(audit_parser_feed(p, data + off, n, &used, coll_cb, c), HAF_OK);
        assert_int_equal(used, n);
        off += n;
    }
    assert_int_equal(audit_parser_flush(p, coll_cb, c), HAF_OK);
    return p;
}

static void
parse_all(struct coll *c, const char *data, size_t len)
{
    audit_parser_free(parse_chunked(c, data, len, 0, NULL));
}

/* Consecutive entries tile [0, end) and anything after the last is blank. */
static void
assert_tiles(const struct coll *c, const char *data, size_t len)
{
    uint64_t at = 0;

    for (size_t i = 0; i < c->n; i++) {
        assert_int_equal(c->v[i].e.src_start, at);
        assert_true(c->v[i].e.src_end > c->v[i].e.src_start);
        at = c->v[i].e.src_end;
    }
    assert_true(at <= len);
    for (; at < len; at++)
        assert_true(data[at] == '\n' || data[at] == '\r' || data[at] == ' ' || data[at] == '\t');
}

static bool
span_is(struct span s, const char *lit)
{
    return span_eq(s, span_cstr(lit));
}

#define assert_span(s, lit)                                                                        \
    do {                                                                                           \
        if (!span_is((s), (lit)))                                                                  \
            fail_msg("span '%.*s' != '%s'", (int)(s).len, (s).p ? (s).p : "", (lit));              \
    } while (0)

/* ---- the reference examples, field by field ---- */

struct expect {
    const char *file;
    const char *human;
    uint64_t usecs, seq, reboot;
    const char *opcode;
    uint64_t opcode_code, session, resp_code;
    const char *resp_text;
    bool success;
    const char *log_type;
    uint64_t log_code;
    const char *user_name; /* NULL: no user fields */
    const char *user_type;
    uint64_t user_code;
    bool keys; /* key handles present */
    uint64_t priv, pub;
};

static const struct expect ref_examples[] = {
    {"s1_cn_init_token_0x0.log", "12/19/17 21:01:16.962174", 1513717276962174, 0x0, 0xe8,
     "CN_INIT_TOKEN", 0x1, 0x1004001, 0, "HSM Return: SUCCESS", true, "MINIMAL_LOG_ENTRY", 0, NULL,
     NULL, 0, false, 0, 0},
    {"s1_cn_gen_pswd_enc_key_0x1.log", "12/19/17 21:01:17.140812", 1513717277140812, 0x1, 0xe8,
     "CN_GEN_PSWD_ENC_KEY", 0x1d, 0x1004001, 0, "HSM Return: SUCCESS", true, "MINIMAL_LOG_ENTRY", 0,
     NULL, NULL, 0, false, 0, 0},
    {"s1_cn_init_done_0x3.log", "12/19/17 21:01:17.298914", 1513717277298914, 0x3, 0xe8,
     "CN_INIT_DONE", 0x95, 0x1004001, 0, "HSM Return: SUCCESS", true, "MINIMAL_LOG_ENTRY", 0, NULL,
     NULL, 0, false, 0, 0},
    {"s7console_cn_init_token_0x0.log", "12/19/17 21:01:16.962174", 1513717276962174, 0x0, 0xe8,
     "CN_INIT_TOKEN", 0x1, 0x1004001, 0, "HSM Return: SUCCESS", true, "MINIMAL_LOG_ENTRY", 0, NULL,
     NULL, 0, false, 0, 0},
    {"s1_cn_create_appliance_user_0x2.log", "12/19/17 21:01:17.174902", 1513717277174902, 0x2, 0xe8,
     "CN_CREATE_APPLIANCE_USER", 0xfc, 0x1004001, 0, "HSM Return: SUCCESS", true,
     "MGMT_USER_DETAILS_LOG", 2, "app_user", "CN_APPLIANCE_USER", 5, false, 0, 0},
    {"s1_cn_change_pswd_0x1d.log", "12/13/17 23:04:33.846554", 1513206273846554, 0x1d, 0xe8,
     "CN_CHANGE_PSWD", 0x9, 0x2010003, 0, "HSM Return: SUCCESS", true, "MGMT_USER_DETAILS_LOG", 2,
     "admin", "CN_CRYPTO_PRE_OFFICER", 6, false, 0, 0},
    {"s1_cn_login_0x0.log", "01/16/18 01:48:49.824999", 1516067329824999, 0x0, 0x107, "CN_LOGIN",
     0xd, 0x7014006, 0, "HSM Return: SUCCESS", true, "MGMT_USER_DETAILS_LOG", 2, "admin",
     "CN_CRYPTO_OFFICER", 2, false, 0, 0},
    {"s1_cn_logout_0x2.log", "01/16/18 01:49:55.993404", 1516067395993404, 0x2, 0x107, "CN_LOGOUT",
     0xe, 0x7014000, 0, "HSM Return: SUCCESS", true, "MGMT_USER_DETAILS_LOG", 2, "admin",
     "CN_CRYPTO_OFFICER", 2, false, 0, 0},
    {"s1_cn_login_0x4.log", "01/24/18 17:41:39.037255", 1516815699037255, 0x4, 0x107, "CN_LOGIN",
     0xd, 0xc008002, 157, "HSM Error: user isn't initialized or user with this name doesn't exist",
     false, "MGMT_USER_DETAILS_LOG", 2, "ExampleUser", "CN_CRYPTO_USER", 1, false, 0, 0},
    {"s1_cn_login_0x5.log", "01/24/18 17:44:25.013218", 1516815865013218, 0x5, 0x107, "CN_LOGIN",
     0xd, 0xc008002, 163, "HSM Error: RET_USER_LOGIN_FAILURE", false, "MGMT_USER_DETAILS_LOG", 2,
     "testuser", "CN_CRYPTO_USER", 1, false, 0, 0},
    {"s1_cn_create_user_0x1.log", "01/16/18 01:49:39.437708", 1516067379437708, 0x1, 0x107,
     "CN_CREATE_USER", 0x3, 0x7014006, 0, "HSM Return: SUCCESS", true, "MGMT_USER_DETAILS_LOG", 2,
     "bob", "CN_CRYPTO_USER", 1, false, 0, 0},
    {"s1_cn_create_co_0x2.log", "01/16/18 01:49:55.993404", 1516067395993404, 0x2, 0x107,
     "CN_CREATE_CO", 0x4, 0x7014007, 0, "HSM Return: SUCCESS", true, "MGMT_USER_DETAILS_LOG", 2,
     "alice", "CN_CRYPTO_OFFICER", 2, false, 0, 0},
    {"s1_cn_delete_user_0xb.log", "01/23/18 19:58:23.451420", 1516737503451420, 0xb, 0x107,
     "CN_DELETE_USER", 0xa1, 0x7014007, 0, "HSM Return: SUCCESS", true, "MGMT_USER_DETAILS_LOG", 2,
     "alice", "CN_CRYPTO_OFFICER", 2, false, 0, 0},
    {"s1_cn_create_user_0x13a.log", "12/20/17 00:04:53.635826", 1513728293635826, 0x13a, 0xe8,
     "CN_CREATE_USER", 0x3, 0x1014006, 0, "HSM Return: SUCCESS", true, "MGMT_USER_DETAILS_LOG", 2,
     "testuser", "CN_CRYPTO_USER", 1, false, 0, 0},
    {"s14tab_cn_login_0xd.log", "02/18/19 12:13:50.326973", 1550492030326973, 0xd, 0xd, "CN_LOGIN",
     0xd, 0x2010005, 206, "HSM Error: This user doesn't exist", false, "MGMT_USER_DETAILS_LOG", 2,
     "ahahah", "CN_CRYPTO_USER", 1, false, 0, 0},
    {"s1_cn_generate_key_pair_0x29.log", "12/13/17 23:09:04.761594", 1513206544761594, 0x29, 0xe8,
     "CN_GENERATE_KEY_PAIR", 0x19, 0x2014004, 0, "HSM Return: SUCCESS", true,
     "MGMT_KEY_DETAILS_LOG", 1, NULL, NULL, 0, true, 131079, 131078},
    {"s1_cn_destroy_object_0x2a.log", "12/13/17 23:09:04.813977", 1513206544813977, 0x2a, 0xe8,
     "CN_DESTROY_OBJECT", 0x11, 0x2014004, 0, "HSM Return: SUCCESS", true, "MGMT_KEY_DETAILS_LOG",
     1, NULL, NULL, 0, true, 131078, 0},
    {"s1_cn_destroy_object_0x2b.log", "12/13/17 23:09:04.815530", 1513206544815530, 0x2b, 0xe8,
     "CN_DESTROY_OBJECT", 0x11, 0x2014004, 0, "HSM Return: SUCCESS", true, "MGMT_KEY_DETAILS_LOG",
     1, NULL, NULL, 0, true, 131079, 0},
    {"s1_cn_generate_key_0x1.log", "01/24/18 00:39:30.328334", 1516754370328334, 0x1, 0x107,
     "CN_GENERATE_KEY", 0x17, 0xc008004, 0, "HSM Return: SUCCESS", true, "MGMT_KEY_DETAILS_LOG", 1,
     NULL, NULL, 0, true, 262152, 0},
    {"s1_cn_extract_masked_object_user_0x2.log", "01/24/18 00:39:30.330956", 1516754370330956, 0x2,
     0x107, "CN_EXTRACT_MASKED_OBJECT_USER", 0xf0, 0xc008004, 0, "HSM Return: SUCCESS", true,
     "MGMT_KEY_DETAILS_LOG", 1, NULL, NULL, 0, true, 262152, 0},
    {"s1_cn_insert_masked_object_user_0xe.log", "01/24/18 00:39:30.408950", 1516754370408950, 0xe,
     0x107, "CN_INSERT_MASKED_OBJECT_USER", 0xf1, 0x7004003, 0, "HSM Return: SUCCESS", true,
     "MGMT_KEY_DETAILS_LOG", 1, NULL, NULL, 0, true, 262152, 0},
    {"s1_cn_wrap_key_0x27.log", "01/24/18 19:51:12.860123", 1516823472860123, 0x27, 0x107,
     "CN_WRAP_KEY", 0x1a, 0x7004003, 0, "HSM Return: SUCCESS", true, "MGMT_KEY_DETAILS_LOG", 1,
     NULL, NULL, 0, true, 7, 0},
    {"s1_cn_nist_aes_wrap_0x28.log", "01/24/18 19:51:12.905257", 1516823472905257, 0x28, 0x107,
     "CN_NIST_AES_WRAP", 0x1e, 0x7004003, 0, "HSM Return: SUCCESS", true, "MGMT_KEY_DETAILS_LOG", 1,
     NULL, NULL, 0, true, 6, 0},
    {"s1_cn_unwrap_key_0x2a.log", "01/24/18 19:58:23.200711", 1516823903200711, 0x2a, 0x107,
     "CN_UNWRAP_KEY", 0x1b, 0x7004003, 0, "HSM Return: SUCCESS", true, "MGMT_KEY_DETAILS_LOG", 1,
     NULL, NULL, 0, true, 11, 0},
    {"s1_cn_share_object_0x3f.log", "02/08/19 19:35:39.480168", 1549654539480168, 0x3f, 0x38,
     "CN_SHARE_OBJECT", 0x12, 0x3014007, 0, "HSM Return: SUCCESS", true, "UNKNOWN_LOG_TYPE", 5,
     NULL, NULL, 0, false, 0, 0},
};

static void
check_expect(const struct haf_entry *e, const struct expect *x)
{
    uint32_t want = HAF_F_REQUIRED;

    if (x->user_name)
        want |= HAF_F_USER_NAME | HAF_F_USER_TYPE;
    if (x->keys)
        want |= HAF_F_PRIV_SECRET_KEY_HANDLE | HAF_F_PUBLIC_KEY_HANDLE;
    assert_null(e->parse_error);
    assert_int_equal(e->present, want);
    assert_span(e->human_time, x->human);
    assert_int_equal(e->usecs, x->usecs);
    assert_false(e->time_mismatch);
    assert_int_equal(e->export_time.len, 0);
    assert_int_equal(e->sequence_no, x->seq);
    assert_int_equal(e->reboot_counter, x->reboot);
    assert_span(e->command_type.name, "CN_MGMT_CMD");
    assert_int_equal(e->command_type.code, 0);
    assert_span(e->opcode.name, x->opcode);
    assert_int_equal(e->opcode.code, x->opcode_code);
    assert_int_equal(e->session_handle, x->session);
    assert_int_equal(e->response_code, x->resp_code);
    assert_span(e->response_text, x->resp_text);
    assert_int_equal(e->response_success, x->success);
    assert_span(e->log_type.name, x->log_type);
    assert_int_equal(e->log_type.code, x->log_code);
    if (x->user_name) {
        assert_span(e->user_name, x->user_name);
        assert_span(e->user_type.name, x->user_type);
        assert_int_equal(e->user_type.code, x->user_code);
    }
    if (x->keys) {
        assert_int_equal(e->priv_secret_key_handle, x->priv);
        assert_int_equal(e->public_key_handle, x->pub);
    }
    assert_int_equal(e->n_extra, 0);
    assert_int_equal(e->invalid_utf8, 0);
    assert_int_equal(e->nul_bytes, 0);
    assert_int_equal(e->cut_lines, 0);
}

static void
test_audit_parse_reference_examples(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ref_examples) / sizeof(ref_examples[0]); i++) {
        const struct expect *x = &ref_examples[i];
        struct coll c;
        size_t len;
        char *data;
        char path[256];
        snprintf(path, sizeof(path), "audit/%s", x->file);
        data = testlib_read_data(path, &len);
        coll_init(&c);
        parse_all(&c, data, len);
        if (c.n != 1)
            fail_msg("%s: %zu entries", x->file, c.n);
        check_expect(&c.v[0].e, x);
        /* raw is the file without its final newline; the range is the whole file. */
        assert_int_equal(c.v[0].e.raw.len, len - 1);
        assert_memory_equal(c.v[0].e.raw.p, data, len - 1);
        assert_int_equal(c.v[0].e.src_start, 0);
        assert_int_equal(c.v[0].e.src_end, len);
        coll_free(&c);
        free(data);
    }
}

static void
test_audit_parse_all_reference_examples_in_one_file(void **state)
{
    struct coll c;
    size_t len;
    char *data = testlib_read_data("audit/all_s1.log", &len);

    (void)state;
    coll_init(&c);
    parse_all(&c, data, len);
    assert_int_equal(c.n, sizeof(ref_examples) / sizeof(ref_examples[0]));
    for (size_t i = 0; i < c.n; i++)
        check_expect(&c.v[i].e, &ref_examples[i]);
    assert_tiles(&c, data, len);
    assert_int_equal(c.v[c.n - 1].e.src_end, len);
    coll_free(&c);
    free(data);
}

static void
test_audit_parse_text_s14_subscription_message(void **state)
{
    struct coll c;
    size_t len;
    char *data = testlib_read_data("audit/s14_subscription_message.log", &len);

    (void)state;
    assert_true(len > 0 && data[len - 1] != '\n'); /* the CloudWatch message has no final NL */
    coll_init(&c);
    assert_int_equal(audit_parse_text(data, len, coll_cb, &c), HAF_OK);
    assert_int_equal(c.n, 1);
    assert_null(c.v[0].e.parse_error);
    assert_int_equal(c.v[0].e.usecs, 1550743671146664);
    assert_int_equal(c.v[0].e.sequence_no, 0x23);
    assert_int_equal(c.v[0].e.response_code, 206);
    assert_false(c.v[0].e.response_success);
    assert_span(c.v[0].e.user_name, "test");
    assert_int_equal(c.v[0].e.raw.len, len);
    assert_int_equal(c.v[0].e.src_end, len);
    coll_free(&c);
    free(data);
}

static void
test_audit_parse_s13_time_info_log(void **state)
{
    struct coll c;
    size_t len;
    char *data = testlib_read_data("audit/s13_time_info_log.log", &len);
    const struct haf_entry *e;

    (void)state;
    coll_init(&c);
    parse_all(&c, data, len);
    assert_int_equal(c.n, 1);
    e = &c.v[0].e;
    assert_null(e->parse_error);
    assert_false(e->time_mismatch);
    assert_int_equal(e->present, HAF_F_REQUIRED | HAF_F_VERSION_NO | HAF_F_LOCAL_TIME |
                                     HAF_F_HOST_TIME | HAF_F_PROPAGATION_DELAY);
    assert_span(e->version_no, "1.0");
    assert_span(e->log_type.name, "TIME_INFO_LOG");
    assert_int_equal(e->log_type.code, 16);
    /* The reference's sample disagrees with itself (04/30 vs 04/22): kept as is, no cross-check. */
    assert_span(e->local_time, "04/30/22 20:13:18.189504");
    assert_int_equal(e->local_time_usec, 1650658398189504);
    assert_span(e->host_time, "04/30/22 20:13:18.191729");
    assert_int_equal(e->host_time_usec, 1650658398191729);
    assert_int_equal(e->propagation_delay_usec, 39);
    coll_free(&c);
    free(data);
}

/* A TIME_INFO entry (command type 0xeee2) without an Opcode line is complete, not flagged; its
 * host time line lacks the comma before usec:. The same entry under another command type is
 * still flagged "missing Opcode". */
static void
test_audit_parse_time_info_without_opcode(void **state)
{
    struct coll c;
    size_t len;
    char *data = testlib_read_data("audit/time_info_no_opcode.log", &len);
    char *other, *at;
    const struct haf_entry *e;

    (void)state;
    coll_init(&c);
    parse_all(&c, data, len);
    assert_int_equal(c.n, 1);
    e = &c.v[0].e;
    assert_null(e->parse_error);
    assert_int_equal(e->present, (HAF_F_REQUIRED & ~HAF_F_OPCODE) | HAF_F_LOCAL_TIME |
                                     HAF_F_HOST_TIME | HAF_F_PROPAGATION_DELAY);
    assert_span(e->command_type.name, "TIME_INFO_CMD");
    assert_int_equal(e->command_type.code, 0xeee2);
    assert_int_equal(e->log_type.code, 16);
    assert_span(e->local_time, "04/22/22 20:13:18.189504");
    assert_int_equal(e->local_time_usec, 1650658398189504);
    assert_span(e->host_time, "04/22/22 20:13:18.191729");
    assert_int_equal(e->host_time_usec, 1650658398191729);
    assert_int_equal(e->propagation_delay_usec, 39);
    assert_int_equal(audit_entry_category(e), OPCODE_CAT_TIME);
    coll_free(&c);

    other = strdup(data);
    assert_non_null(other);
    at = strstr(other, "(0xeee2)");
    assert_non_null(at);
    memcpy(at, "(0xeee3)", 8);
    coll_init(&c);
    parse_all(&c, other, len);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0].e.parse_error, "missing Opcode");
    coll_free(&c);
    free(other);
    free(data);
}

static void
test_audit_parse_s13_optional_fields_opcode_first_and_duplicates(void **state)
{
    struct coll c;
    size_t len;
    char *data = testlib_read_data("audit/s13_all_optional_fields.log", &len);
    const struct haf_entry *e;

    (void)state;
    coll_init(&c);
    parse_all(&c, data, len);
    assert_int_equal(c.n, 1);
    e = &c.v[0].e;
    assert_null(e->parse_error);
    assert_int_equal(e->present, HAF_F_REQUIRED | HAF_F_USER_ID | HAF_F_PRIV_SECRET_KEY_HANDLE |
                                     HAF_F_PUBLIC_KEY_HANDLE | HAF_F_KEY_HANDLE | HAF_F_USER_NAME |
                                     HAF_F_USER_TYPE | HAF_F_MECHANISM | HAF_F_TARGET_USER_NAME |
                                     HAF_F_TARGET_USER_TYPE | HAF_F_TARGET_USER_ID |
                                     HAF_F_MFA_ENABLED | HAF_F_OPERATION | HAF_F_NUMBER_OF_USERS |
                                     HAF_F_USER_IDS);
    assert_span(e->opcode.name, "CN_GENERATE_KEY");
    assert_int_equal(e->opcode.code, 0x17);
    assert_span(e->command_type.name, "CN_MGMT_CMD");
    assert_span(e->user_id, "3");
    assert_int_equal(e->priv_secret_key_handle, 131079); /* the first one */
    assert_int_equal(e->public_key_handle, 0);
    assert_int_equal(e->key_handle, 2490398);
    assert_span(e->user_name, "kmsuser"); /* tab before the colon */
    assert_span(e->user_type.name, "CN_CRYPTO_USER");
    assert_int_equal(e->mechanism, 4224);
    assert_span(e->target_user_name, "bob");
    assert_int_equal(e->target_user_type.code, 1);
    assert_span(e->target_user_id, "7");
    assert_span(e->mfa_enabled, "false");
    assert_span(e->operation.name, "CN_SET_M_VALUE");
    assert_int_equal(e->operation.code, 3);
    assert_int_equal(e->number_of_users, 2);
    assert_span(e->user_ids, "5");
    /* The repeated label and the unknown one are kept, in order. */
    assert_int_equal(e->n_extra, 2);
    assert_span(e->extra[0].key, "Priv/Secret Key Handle");
    assert_span(e->extra[0].value, "131080");
    assert_span(e->extra[1].key, "Firmware Flavor");
    assert_span(e->extra[1].value, "hsm2m");
    coll_free(&c);
    free(data);
}

/* ---- chunking invariance ---- */

/* Fed in two parts split at every byte, the entries equal `whole`'s. */
static void
check_every_split_point(const struct coll *whole, const char *data, size_t len)
{
    for (size_t k = 0; k <= len; k++) {
        struct coll s;
        struct audit_parser *p = audit_parser_new(NULL);
        coll_init(&s);
        assert_int_equal(audit_parser_feed(p, data, k, NULL, coll_cb, &s), HAF_OK);
        assert_int_equal(audit_parser_feed(p, data + k, len - k, NULL, coll_cb, &s), HAF_OK);
        assert_int_equal(audit_parser_flush(p, coll_cb, &s), HAF_OK);
        if (!span_eq(buf_span(&whole->canon), buf_span(&s.canon)))
            fail_msg("split at %zu differs", k);
        audit_parser_free(p);
        coll_free(&s);
    }
}

/* A parser reset to every entry's src_end and fed the rest reproduces the following entries. */
static void
check_resume_at_every_src_end(const char *data, size_t len)
{
    struct coll whole;

    coll_init(&whole);
    whole.generic_errors = true;
    parse_all(&whole, data, len);
    for (size_t k = 0; k < whole.n; k++) {
        uint64_t at = whole.v[k].e.src_end;
        struct coll rest;
        struct audit_parser *p = audit_parser_new(NULL);
        const char *want = buf_cstr(&whole.canon);
        coll_init(&rest);
        rest.generic_errors = true;
        audit_parser_reset(p, at);
        assert_int_equal(audit_parser_offset(p), at);
        assert_int_equal(audit_parser_feed(p, data + at, len - at, NULL, coll_cb, &rest), HAF_OK);
        assert_int_equal(audit_parser_flush(p, coll_cb, &rest), HAF_OK);
        for (size_t i = 0; i <= k; i++)
            want = strchr(want, '\n') + 1;
        assert_string_equal(want, buf_cstr(&rest.canon));
        audit_parser_free(p);
        coll_free(&rest);
    }
    coll_free(&whole);
}

static void
test_audit_parser_feed_every_split_point(void **state)
{
    struct coll whole, split;
    size_t len;
    char *data = testlib_read_data("audit/all_s1.log", &len);

    (void)state;
    coll_init(&whole);
    parse_all(&whole, data, len);
    for (size_t k = 0; k <= len; k++) {
        struct audit_parser *p = audit_parser_new(NULL);
        size_t used;
        coll_init(&split);
        assert_int_equal(audit_parser_feed(p, data, k, &used, coll_cb, &split), HAF_OK);
        assert_int_equal(used, k);
        assert_int_equal(audit_parser_feed(p, data + k, len - k, &used, coll_cb, &split), HAF_OK);
        assert_int_equal(used, len - k);
        assert_int_equal(audit_parser_flush(p, coll_cb, &split), HAF_OK);
        if (!span_eq(buf_span(&whole.canon), buf_span(&split.canon)))
            fail_msg("split at %zu differs", k);
        audit_parser_free(p);
        coll_free(&split);
    }
    coll_free(&whole);
    free(data);
}

/* A sample with every nasty thing at once, used by the chunking tests below. */
static char *
nasty_sample(size_t *len)
{
    struct buf b;
    size_t l1;
    char *e1 = testlib_read_data("audit/s14tab_cn_login_0xd.log", &l1);

    static const char head[] = "garbage before\r\nmore garbage \xff\x00 here\n";

    buf_init(&b, 0);
    assert_int_equal(buf_add(&b, head, sizeof(head) - 1), HAF_OK);
    assert_int_equal(buf_add(&b, e1, l1), HAF_OK);
    assert_int_equal(buf_adds(&b,
                              "\r\n  \t\r\n\n"
                              "orphan line after a blank\n"
                              "2023-04-27T18:33:55.150Z Time: 12/19/17 21:01:16.962174, "
                              "usecs:1513717276962174\r\n"
                              "Sequence No : 0x0\r\nReboot counter : 0xe8\r\n"
                              "Opcode : CN_INIT_TOKEN (0x1)\r\n"
                              "Command Type(hex)\t\t: CN_MGMT_CMD (0x0)\r\n"
                              "Session Handle: 0x1004001\r\nResponse : 0:HSM Return: SUCCESS\r\n"
                              "Log type : MINIMAL_LOG_ENTRY (0)\r\nUser Name : caf\xc3\xa9 "
                              "\xe2\x82\xac\xf0\x9f\x94\x91\r\r\n"
                              "Strange Label : with: colons\r\n"
                              "Time: 13/45/17 99:01:16.962174, usecs:18446744073709551616\n"
                              "Sequence No : 0x10000000000000000\n"
                              "no colon here\n"
                              "Time: 12/19/17 21:01:16.962174, usecs:1513717276962174\n"
                              "Sequence No : 0x0\nReboot counter : 0xe8\n"
                              "Command Type(hex) : CN_MGMT_CMD (0x0)\n"
                              "Opcode : CN_INIT_TOKEN (0x1)\nSession Handle : 0x1004001\n"
                              "Response : 0:HSM Return: SUCCESS\n"
                              "Log type : MINIMAL_LOG_ENTRY (0)\n"
                              "User Name : \xed\xa0\x80\xc0\xaf\xe2\x82\n"
                              "trailing partial line without newline \xe2\x82"),
                     HAF_OK);
    free(e1);
    *len = b.len;
    return b.p;
}

static void
test_audit_parser_feed_one_byte_at_a_time(void **state)
{
    const char *files[] = {"audit/all_s1.log", NULL};

    (void)state;
    for (int f = 0; f < 2; f++) {
        struct coll whole, bytes;
        size_t len;
        char *data = files[f] ? testlib_read_data(files[f], &len) : nasty_sample(&len);
        coll_init(&whole);
        coll_init(&bytes);
        parse_all(&whole, data, len);
        audit_parser_free(parse_chunked(&bytes, data, len, 1, NULL));
        assert_true(whole.n > 0);
        assert_int_equal(whole.n, bytes.n);
        assert_string_equal(buf_cstr(&whole.canon), buf_cstr(&bytes.canon));
        assert_tiles(&whole, data, len);
        coll_free(&whole);
        coll_free(&bytes);
        free(data);
    }
}

static void
test_audit_parser_feed_nasty_every_split_point_and_chunk_size(void **state)
{
    struct coll whole;
    size_t len;
    char *data = nasty_sample(&len);

    (void)state;
    coll_init(&whole);
    parse_all(&whole, data, len);
    assert_tiles(&whole, data, len);
    assert_int_equal(whole.v[whole.n - 1].e.src_end, len);
    check_every_split_point(&whole, data, len);
    for (size_t chunk = 2; chunk < 64; chunk++) {
        struct coll s;
        coll_init(&s);
        audit_parser_free(parse_chunked(&s, data, len, chunk, NULL));
        assert_string_equal(buf_cstr(&whole.canon), buf_cstr(&s.canon));
        coll_free(&s);
    }
    coll_free(&whole);
    free(data);
}

static void
test_audit_parser_feed_stop_and_resume(void **state)
{
    struct coll whole, stopped;
    size_t len, off = 0;
    char *data = nasty_sample(&len);
    struct audit_parser *p = audit_parser_new(NULL);
    int stops = 0;

    (void)state;
    coll_init(&whole);
    coll_init(&stopped);
    parse_all(&whole, data, len);
    stopped.stop_after = 1;
    while (off < len) {
        size_t used = 12345;
        enum haf_err err = audit_parser_feed(p, data + off, len - off, &used, coll_cb, &stopped);
        assert_true(err == HAF_OK || err == HAF_EAGAIN);
        assert_true(used <= len - off);
        if (err == HAF_EAGAIN) {
            stops++;
            /* consumed ends a line: the entry was decided there */
            assert_true(used > 0 && data[off + used - 1] == '\n');
        } else {
            assert_int_equal(used, len - off);
        }
        off += used;
    }
    for (;;) {
        enum haf_err err = audit_parser_flush(p, coll_cb, &stopped);
        if (err == HAF_OK)
            break;
        assert_int_equal(err, HAF_EAGAIN);
    }
    assert_int_equal(whole.n, 6);
    assert_int_equal(stops, 5); /* the last entry comes from the flush */
    assert_string_equal(buf_cstr(&whole.canon), buf_cstr(&stopped.canon));
    audit_parser_free(p);
    coll_free(&whole);
    coll_free(&stopped);
    free(data);
}

static void
test_audit_parser_reset_resume_at_every_src_end(void **state)
{
    size_t len;
    char *data = nasty_sample(&len);

    (void)state;
    check_resume_at_every_src_end(data, len);
    free(data);
}

/* ---- certificate-storage events mixed with text entries ---- */

/* cert_mixed.log: a pretty-printed event, a text entry, one-per-line events (one at UINT64_MAX, one
 * null handle), an export-prefixed event one past UINT64_MAX, an unterminated one at EOF. */
static void
test_audit_parse_cert_events_mixed_with_text(void **state)
{
    struct coll c;
    size_t len;
    char *data = testlib_read_data("audit/cert_mixed.log", &len);
    const struct haf_entry *e;

    (void)state;
    coll_init(&c);
    parse_all(&c, data, len);
    assert_int_equal(c.n, 6);
    assert_tiles(&c, data, len);
    e = &c.v[0].e;
    assert_int_equal(e->kind, HAF_KIND_CERT_STORAGE);
    assert_null(e->parse_error);
    assert_int_equal(e->cert.object_handle, 463180677312929947ull);
    assert_int_equal(audit_entry_time_ms(e), 1725482483671);
    assert_int_equal(c.v[1].e.kind, HAF_KIND_AUDIT);
    assert_null(c.v[1].e.parse_error);
    assert_int_equal(c.v[2].e.cert.object_handle, UINT64_MAX);
    assert_null(c.v[2].e.parse_error);
    assert_true(c.v[3].e.cert.object_handle_null);
    assert_false(cert_event_success(&c.v[3].e.cert));
    assert_string_equal(c.v[4].e.parse_error, "object_handle is not an unsigned 64-bit integer");
    assert_span(c.v[4].e.export_time, "2024-09-04T20:41:23.671Z");
    assert_int_equal(audit_entry_time_ms(&c.v[4].e), 0);
    assert_string_equal(c.v[5].e.parse_error, "unterminated JSON object");
    assert_int_equal(c.v[5].e.kind, HAF_KIND_CERT_STORAGE);
    coll_free(&c);
    free(data);
}

/* The same events in any chunking, with a stop after every entry, and resumed at every src_end. */
static void
test_audit_parse_cert_events_chunking_stop_and_resume(void **state)
{
    struct coll whole, s;
    size_t len, off = 0;
    char *data = testlib_read_data("audit/cert_mixed.log", &len);
    struct audit_parser *p = audit_parser_new(NULL);

    (void)state;
    coll_init(&whole);
    parse_all(&whole, data, len);
    check_every_split_point(&whole, data, len);
    coll_init(&s);
    s.stop_after = 1;
    while (off < len) {
        size_t used = 0;
        enum haf_err err = audit_parser_feed(p, data + off, len - off, &used, coll_cb, &s);
        assert_true(err == HAF_OK || err == HAF_EAGAIN);
        off += used;
    }
    while (audit_parser_flush(p, coll_cb, &s) == HAF_EAGAIN)
        ;
    assert_false(audit_parser_pending(p));
    assert_string_equal(buf_cstr(&whole.canon), buf_cstr(&s.canon));
    audit_parser_free(p);
    coll_free(&s);
    check_resume_at_every_src_end(data, len);
    coll_free(&whole);
    free(data);
}

/* A '{' line inside a text entry starts an event; a blank line ends an open object (flagged). */
static void
test_audit_parse_cert_event_boundaries(void **state)
{
    static const char in[] =
        "Time: 01/24/18 17:44:25.013218, usecs:1516815865013218\n"
        "Sequence No : 0x5\n"
        "{\"op_code\":\"CreateObject\",\"response\":\"OK\",\"timestamp\":5}\n"
        "{\"op_code\":\"CreateObject\",\n"
        "\n"
        "{\"a\":\"}\\\"{\",\"op_code\":\"x\",\"response\":\"OK\",\"timestamp\":6}"
        " trailing\n";
    struct coll c;

    (void)state;
    coll_init(&c);
    parse_all(&c, in, sizeof(in) - 1);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.v[0].e.parse_error, "missing Reboot counter");
    assert_null(c.v[1].e.parse_error);
    assert_int_equal(audit_entry_time_ms(&c.v[1].e), 5);
    assert_string_equal(c.v[2].e.parse_error, "unterminated JSON object");
    assert_string_equal(c.v[3].e.parse_error, "text after the JSON object");
    assert_tiles(&c, in, sizeof(in) - 1);
    coll_free(&c);
}

/* ---- layouts ---- */

static const char login_lf[] = "Time: 01/24/18 17:44:25.013218, usecs:1516815865013218\n"
                               "Sequence No : 0x5\n"
                               "Reboot counter : 0x107\n"
                               "Command Type(hex) : CN_MGMT_CMD (0x0)\n"
                               "Opcode : CN_LOGIN (0xd)\n"
                               "Session Handle : 0xc008002\n"
                               "Response : 163:HSM Error: RET_USER_LOGIN_FAILURE\n"
                               "Log type : MGMT_USER_DETAILS_LOG (2)\n"
                               "User Name : testuser\n"
                               "User Type : CN_CRYPTO_USER (1)\n";

static void
test_audit_parse_crlf_equals_lf(void **state)
{
    struct coll a, b;
    struct buf crlf;

    (void)state;
    buf_init(&crlf, 0);
    for (const char *s = login_lf; *s; s++) {
        if (*s == '\n')
            assert_int_equal(buf_adds(&crlf, "\r"), HAF_OK);
        assert_int_equal(buf_addc(&crlf, *s), HAF_OK);
    }
    coll_init(&a);
    coll_init(&b);
    parse_all(&a, login_lf, sizeof(login_lf) - 1);
    parse_all(&b, crlf.p, crlf.len);
    assert_int_equal(b.n, 1);
    assert_null(b.v[0].e.parse_error);
    assert_int_equal(b.v[0].e.src_end, crlf.len);
    assert_memory_equal(a.v[0].e.raw.p, b.v[0].e.raw.p, a.v[0].e.raw.len);
    assert_int_equal(a.v[0].e.raw.len, b.v[0].e.raw.len);
    /* identical JSON apart from the range */
    assert_int_equal(audit_format(&b.v[0].e, AUDIT_FORMAT_JSON, NULL, &crlf), HAF_OK);
    coll_free(&a);
    coll_free(&b);
    buf_clean_up(&crlf);
}

static void
test_audit_parse_stray_cr(void **state)
{
    static const char in[] = "Time: 01/24/18 17:44:25.013218, usecs:1516815865013218\r\r\n"
                             "Sequence No : 0x5\r\n"
                             "Reboot counter : 0x107\n"
                             "Command Type(hex) : CN_MGMT_CMD (0x0)\n"
                             "Opcode : CN_LOGIN (0xd)\n"
                             "Session Handle : 0xc008002\n"
                             "Response : 0:HSM Return: SUCCESS\n"
                             "Log type : MGMT_USER_DETAILS_LOG (2)\n"
                             "User Name : a\rb\n"
                             "\r\n"
                             "\r";
    struct coll c;

    (void)state;
    coll_init(&c);
    parse_all(&c, in, sizeof(in) - 1);
    assert_int_equal(c.n, 1);
    assert_null(c.v[0].e.parse_error);
    assert_span(c.v[0].e.user_name, "a\rb"); /* an interior CR is content, kept */
    /* the blank "\r\n" line ends the entry and belongs to it; the final lone CR to none */
    assert_int_equal(c.v[0].e.src_end, sizeof(in) - 2);
    coll_free(&c);
}

static void
test_audit_parse_separator_variants(void **state)
{
    static const char in[] = "Time: 01/24/18 17:44:25.013218, usecs:1516815865013218\n"
                             "Sequence No: 0x5\n"
                             "Reboot counter\t\t: 0x107\n"
                             "Command Type(hex) \t : CN_MGMT_CMD (0x0)\n"
                             "Opcode\t:\tCN_LOGIN (0xd)\n"
                             "Session Handle :    0xc008002   \n"
                             "Response\t\t\t: 0: HSM Return: SUCCESS\n"
                             "Log type : MGMT_USER_DETAILS_LOG (2)\n"
                             "User Name\t: user: with colon\n"
                             "User Type\t: CN_CRYPTO_USER (1)\n";
    struct coll c;
    const struct haf_entry *e;

    (void)state;
    coll_init(&c);
    parse_all(&c, in, sizeof(in) - 1);
    assert_int_equal(c.n, 1);
    e = &c.v[0].e;
    assert_null(e->parse_error);
    assert_int_equal(e->present, HAF_F_REQUIRED | HAF_F_USER_NAME | HAF_F_USER_TYPE);
    assert_int_equal(e->sequence_no, 5);
    assert_int_equal(e->reboot_counter, 0x107);
    assert_span(e->opcode.name, "CN_LOGIN");
    assert_int_equal(e->session_handle, 0xc008002);
    assert_int_equal(e->response_code, 0);
    assert_span(e->response_text, "HSM Return: SUCCESS"); /* the prose's "0: HSM Return" */
    assert_true(e->response_success);
    assert_span(e->user_name, "user: with colon"); /* split on the first colon only */
    coll_free(&c);
}

static void
test_audit_parse_export_prefix(void **state)
{
    struct coll c;
    size_t len;
    char *data = testlib_read_data("audit/export_prefixed.log", &len);

    (void)state;
    coll_init(&c);
    parse_all(&c, data, len);
    assert_int_equal(c.n, 2);
    assert_null(c.v[0].e.parse_error);
    assert_null(c.v[1].e.parse_error);
    assert_span(c.v[0].e.export_time, "2023-04-27T18:33:55.150Z");
    assert_span(c.v[1].e.export_time, "2023-04-27T18:33:56.001Z");
    assert_int_equal(c.v[0].e.usecs, 1516815865013218);
    assert_int_equal(c.v[1].e.sequence_no, 6);
    assert_true(span_starts_with(c.v[0].e.raw, SPAN_LIT("Time: 01/24/18 17:44:25.013218,")));
    assert_tiles(&c, data, len);
    assert_int_equal(c.v[1].e.src_end, len);
    coll_free(&c);
    free(data);
}

static void
test_audit_parse_unknown_opcode_and_types_pass_through(void **state)
{
    static const char in[] = "Time: 01/24/18 17:44:25.013218, usecs:1516815865013218\n"
                             "Sequence No : 0xffffffffffffffff\n"
                             "Reboot counter : 0x0\n"
                             "Command Type(hex) : SPECIAL (0xffff)\n"
                             "Opcode : END_MARKER_OPCODE (0xffff)\n"
                             "Session Handle : 0x0\n"
                             "Response : 4294967295:Something else entirely\n"
                             "Log type : GENERIC_LOG (99)\n"
                             "User Type : CN_NEW_ROLE (0x7)\n"
                             "Brand New Label : value (1)\n";
    struct coll c;
    const struct haf_entry *e;

    (void)state;
    coll_init(&c);
    parse_all(&c, in, sizeof(in) - 1);
    e = &c.v[0].e;
    assert_null(e->parse_error);
    assert_int_equal(e->sequence_no, UINT64_MAX);
    assert_span(e->command_type.name, "SPECIAL");
    assert_int_equal(e->command_type.code, 0xffff);
    assert_span(e->opcode.name, "END_MARKER_OPCODE");
    assert_int_equal(e->opcode.code, 0xffff);
    assert_int_equal(e->response_code, 4294967295u);
    assert_span(e->response_text, "Something else entirely");
    assert_false(e->response_success);
    assert_span(e->log_type.name, "GENERIC_LOG");
    assert_int_equal(e->log_type.code, 99);
    assert_int_equal(e->user_type.code, 7);
    assert_int_equal(e->n_extra, 1);
    assert_span(e->extra[0].key, "Brand New Label");
    assert_span(e->extra[0].value, "value (1)");
    coll_free(&c);
}

/* ---- damaged input ---- */

static void
test_audit_parse_truncated_entry_is_flagged_with_raw(void **state)
{
    static const char in[] = "Time: 01/24/18 17:44:25.013218, usecs:1516815865013218\n"
                             "Sequence No : 0x5\n"
                             "Reboot counter : 0x107\n"
                             "Command Type(hex) : CN_MGMT_CMD (0x0)\n"
                             "Opcode : CN_LO";
    struct coll c;
    struct audit_parser *p = audit_parser_new(NULL);

    (void)state;
    coll_init(&c);
    assert_int_equal(audit_parser_feed(p, in, sizeof(in) - 1, NULL, coll_cb, &c), HAF_OK);
    assert_int_equal(c.n, 0);
    assert_true(audit_parser_pending(p));
    assert_int_equal(audit_parser_offset(p), sizeof(in) - 1);
    assert_int_equal(audit_parser_flush(p, coll_cb, &c), HAF_OK);
    assert_false(audit_parser_pending(p));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0].e.parse_error, "bad Opcode");
    assert_int_equal(c.v[0].e.present,
                     HAF_F_TIME | HAF_F_SEQUENCE_NO | HAF_F_REBOOT_COUNTER | HAF_F_COMMAND_TYPE);
    assert_int_equal(c.v[0].e.raw.len, sizeof(in) - 1);
    assert_memory_equal(c.v[0].e.raw.p, in, sizeof(in) - 1);
    assert_int_equal(c.v[0].e.src_end, sizeof(in) - 1);
    /* a complete but short entry names the first missing field */
    coll_free(&c);
    coll_init(&c);
    parse_all(&c, in, (size_t)(strstr(in, "Opcode") - in));
    assert_string_equal(c.v[0].e.parse_error, "missing Opcode");
    coll_free(&c);
    audit_parser_free(p);
}

static void
test_audit_parse_text_before_first_entry_and_outside(void **state)
{
    static const char in[] = "leftover from a rotated file\n"
                             "second line\n"
                             "Time: 01/24/18 17:44:25.013218, usecs:1516815865013218\n"
                             "Sequence No : 0x5\n"
                             "\n"
                             "\n"
                             "stray text\n"
                             "\n";
    struct coll c;

    (void)state;
    coll_init(&c);
    parse_all(&c, in, sizeof(in) - 1);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0].e.parse_error, "text before first entry");
    assert_span(c.v[0].e.raw, "leftover from a rotated file\nsecond line");
    assert_int_equal(c.v[0].e.present, 0);
    assert_string_equal(c.v[1].e.parse_error, "missing Reboot counter");
    assert_int_equal(c.v[1].e.src_end, 29 + 12 + 55 + 18 + 1); /* through the first blank line */
    assert_string_equal(c.v[2].e.parse_error, "text outside an entry");
    assert_span(c.v[2].e.raw, "stray text");
    assert_int_equal(c.v[2].e.src_end, sizeof(in) - 1);
    assert_tiles(&c, in, sizeof(in) - 1);
    coll_free(&c);
}

static void
test_audit_parse_empty_and_blank_input(void **state)
{
    struct coll c;
    struct audit_parser *p;

    (void)state;
    coll_init(&c);
    parse_all(&c, "", 0);
    assert_int_equal(c.n, 0);
    p = parse_chunked(&c, "\n\r\n \t\n\n  ", 9, 1, NULL);
    assert_int_equal(c.n, 0);
    assert_false(audit_parser_pending(p));
    assert_int_equal(audit_parser_offset(p), 9);
    audit_parser_free(p);
    coll_free(&c);
}

static void
test_audit_parse_line_without_label(void **state)
{
    static const char in[] = "Time: 01/24/18 17:44:25.013218, usecs:1516815865013218\n"
                             "just words\n"
                             ": no label\n";
    struct coll c;

    (void)state;
    coll_init(&c);
    parse_all(&c, in, sizeof(in) - 1);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0].e.parse_error, "line without a label");
    assert_int_equal(c.v[0].e.raw.len, sizeof(in) - 2);
    coll_free(&c);
}

static void
test_audit_parse_too_many_extra_fields(void **state)
{
    struct buf b;
    struct coll c;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_add(&b, login_lf, sizeof(login_lf) - 1), HAF_OK);
    for (int i = 0; i < HAF_ENTRY_MAX_EXTRA + 3; i++)
        assert_int_equal(buf_addf(&b, "Extra %d : v%d\n", i, i), HAF_OK);
    coll_init(&c);
    parse_all(&c, b.p, b.len);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0].e.n_extra, HAF_ENTRY_MAX_EXTRA);
    assert_string_equal(c.v[0].e.parse_error, "too many extra fields");
    assert_span(c.v[0].e.extra[HAF_ENTRY_MAX_EXTRA - 1].value, "v31");
    /* nothing lost: the raw text has them all */
    assert_int_equal(c.v[0].e.raw.len, b.len - 1);
    coll_free(&c);
    buf_clean_up(&b);
}

static void
test_audit_parse_invalid_utf8_replaced_and_counted(void **state)
{
    /* lone continuation, overlong "/", surrogate, 5-byte lead, truncated 3-byte sequence */
    static const char in[] = "Time: 01/24/18 17:44:25.013218, usecs:1516815865013218\n"
                             "User Name : a\x80"
                             "b\xc0\xaf"
                             "c\xed\xa0\x80"
                             "d\xf8"
                             "e\xe2\x82\n"
                             "User Type : caf\xc3\xa9 \xf0\x9f\x94\x91 (1)\n";
    struct coll c;
    struct audit_parser_stats st;
    struct audit_parser *p;

    (void)state;
    coll_init(&c);
    p = parse_chunked(&c, in, sizeof(in) - 1, 0, NULL);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0].e.parse_error, "missing Sequence No");
    assert_int_equal(c.v[0].e.invalid_utf8, 9);
    assert_span(c.v[0].e.user_name, "a\xef\xbf\xbd"
                                    "b\xef\xbf\xbd\xef\xbf\xbd"
                                    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                    "d\xef\xbf\xbd"
                                    "e\xef\xbf\xbd\xef\xbf\xbd");
    /* valid multi-byte text is untouched */
    assert_span(c.v[0].e.user_type.name, "caf\xc3\xa9 \xf0\x9f\x94\x91");
    audit_parser_get_stats(p, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.flagged, 1);
    assert_int_equal(st.invalid_utf8, 9);
    assert_int_equal(st.nul_bytes, 0);
    audit_parser_free(p);
    coll_free(&c);

    /* a complete entry whose only problem is one bad byte is flagged for it */
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_add(&b, login_lf, sizeof(login_lf) - 1), HAF_OK);
    assert_int_equal(buf_adds(&b, "Note : \xff\n"), HAF_OK);
    coll_init(&c);
    parse_all(&c, b.p, b.len);
    assert_string_equal(c.v[0].e.parse_error, "invalid UTF-8 replaced");
    coll_free(&c);
    buf_clean_up(&b);
}

static void
test_audit_parse_nul_bytes_replaced_and_counted(void **state)
{
    struct buf b;
    struct coll c;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_add(&b, login_lf, sizeof(login_lf) - 1), HAF_OK);
    assert_int_equal(buf_add(&b, "Note : a\0\0b\n\0\n", 14), HAF_OK);
    coll_init(&c);
    parse_all(&c, b.p, b.len);
    /* the lone NUL line is not blank: it is content, kept in the same entry */
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0].e.nul_bytes, 3);
    assert_string_equal(c.v[0].e.parse_error, "line without a label");
    assert_span(c.v[0].e.extra[0].value, "a\xef\xbf\xbd\xef\xbf\xbd"
                                         "b");
    assert_null(memchr(c.v[0].e.raw.p, '\0', c.v[0].e.raw.len));
    coll_free(&c);
    buf_clean_up(&b);
}

static void
test_audit_parse_10mb_line_is_cut(void **state)
{
    const size_t big = 10u * 1024 * 1024;
    struct buf b;
    struct coll whole, chunked;
    struct audit_parser *p;
    struct audit_parser_stats st;
    char marker[64];

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_add(&b, login_lf, sizeof(login_lf) - 1), HAF_OK);
    assert_int_equal(buf_adds(&b, "Note : "), HAF_OK);
    assert_int_equal(buf_reserve(&b, big + 1024), HAF_OK);
    memset(b.p + b.len, 'x', big);
    b.len += big;
    assert_int_equal(buf_adds(&b, "\n"), HAF_OK);
    assert_int_equal(buf_add(&b, login_lf, sizeof(login_lf) - 1), HAF_OK);

    coll_init(&whole);
    coll_init(&chunked);
    parse_all(&whole, b.p, b.len);
    p = parse_chunked(&chunked, b.p, b.len, 4096, NULL);
    assert_int_equal(whole.n, 2);
    assert_string_equal(buf_cstr(&whole.canon), buf_cstr(&chunked.canon));
    assert_string_equal(whole.v[0].e.parse_error, "line cut at the size bound");
    assert_int_equal(whole.v[0].e.cut_lines, 1);
    assert_int_equal(whole.v[0].e.n_extra, 1);
    /* the line keeps 65536 bytes, then the marker counts what was dropped */
    snprintf(marker, sizeof(marker), "\xe2\x80\xa6[cut %zu bytes]", big + 7 - 65536);
    assert_int_equal(whole.v[0].e.extra[0].value.len, 65536 - 7 + strlen(marker));
    assert_memory_equal(whole.v[0].e.extra[0].value.p + 65536 - 7, marker, strlen(marker));
    assert_null(whole.v[1].e.parse_error);
    assert_tiles(&whole, b.p, b.len);
    audit_parser_get_stats(p, &st);
    assert_int_equal(st.cut_lines, 1);
    audit_parser_free(p);
    coll_free(&whole);
    coll_free(&chunked);
    buf_clean_up(&b);
}

static void
test_audit_parse_garbage_without_newlines_is_bounded(void **state)
{
    const size_t big = 3u * 1024 * 1024;
    char *g = malloc(big);
    struct coll c;
    struct audit_parser_opts o = {.max_line_bytes = 1000, .max_entry_bytes = 5000};
    uint32_t x = 2463534242u;

    (void)state;
    assert_non_null(g);
    for (size_t i = 0; i < big; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        g[i] = (char)(x & 0xff);
        if (g[i] == '\n')
            g[i] = 'n';
    }
    coll_init(&c);
    audit_parser_free(parse_chunked(&c, g, big, 65536, &o));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0].e.parse_error, "text before first entry");
    assert_true(c.v[0].e.raw.len <= 1000 + 48);
    assert_int_equal(c.v[0].e.src_end, big);
    coll_free(&c);

    /* now with newlines: many entries, none over the bound, ranges tile */
    for (size_t i = 0; i < big; i += 97)
        g[i] = '\n';
    coll_init(&c);
    audit_parser_free(parse_chunked(&c, g, big, 65536, &o));
    assert_true(c.n > 10);
    for (size_t i = 0; i < c.n; i++) {
        assert_non_null(c.v[i].e.parse_error);
        assert_true(c.v[i].e.raw.len <= 5000);
    }
    assert_tiles(&c, g, big);
    coll_free(&c);
    free(g);
}

static void
test_audit_parser_entry_bound_splits_and_flags(void **state)
{
    struct audit_parser_opts o = {.max_line_bytes = 256, .max_entry_bytes = 600};
    struct buf b;
    struct coll c;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_add(&b, login_lf, sizeof(login_lf) - 1), HAF_OK);
    for (int i = 0; i < 40; i++)
        assert_int_equal(buf_addf(&b, "Extra line %02d : some value here\n", i), HAF_OK);
    assert_int_equal(buf_add(&b, login_lf, sizeof(login_lf) - 1), HAF_OK);
    coll_init(&c);
    audit_parser_free(parse_chunked(&c, b.p, b.len, 7, &o));
    assert_true(c.n >= 4);
    assert_string_equal(c.v[0].e.parse_error, "entry split at the size bound");
    /* the first part still has every field it saw */
    assert_int_equal(c.v[0].e.present, HAF_F_REQUIRED | HAF_F_USER_NAME | HAF_F_USER_TYPE);
    /* a middle part is a continuation that is split again: the first reason wins */
    assert_string_equal(c.v[1].e.parse_error, "continuation of an oversized entry");
    assert_string_equal(c.v[c.n - 2].e.parse_error, "continuation of an oversized entry");
    assert_null(c.v[c.n - 1].e.parse_error);
    for (size_t i = 0; i < c.n; i++)
        assert_true(c.v[i].e.raw.len <= 600);
    assert_tiles(&c, b.p, b.len);
    assert_int_equal(c.v[c.n - 1].e.src_end, b.len);
    coll_free(&c);
    buf_clean_up(&b);
}

/* ---- numbers and time ---- */

static void
test_audit_parse_numbers_at_uint64_max_and_one_past(void **state)
{
    static const char ok[] = "Time: 01/24/18 17:44:25.013218, usecs:18446744073709551615\n"
                             "Sequence No : 0xffffffffffffffff\n"
                             "Reboot counter : 0xFFFFFFFFFFFFFFFF\n"
                             "Command Type(hex) : CN_MGMT_CMD (0xffffffffffffffff)\n"
                             "Opcode : CN_X (18446744073709551615)\n"
                             "Session Handle : 0x0000000000000000ffffffffffffffff\n"
                             "Response : 18446744073709551615:HSM Return: SUCCESS\n"
                             "Log type : MGMT_KEY_DETAILS_LOG (1)\n"
                             "Priv/Secret Key Handle : 18446744073709551615\n";
    static const char *const past[][2] = {
        {"Time: 01/24/18 17:44:25.013218, usecs:18446744073709551616\n", "bad Time"},
        {"Sequence No : 0x10000000000000000\n", "bad Sequence No"},
        {"Reboot counter : 0x1ffffffffffffffff\n", "bad Reboot counter"},
        {"Opcode : CN_X (18446744073709551616)\n", "bad Opcode"},
        {"Response : 18446744073709551616:HSM Return: SUCCESS\n", "bad Response"},
        {"Priv/Secret Key Handle : 18446744073709551616\n", "bad Priv/Secret Key Handle"},
        {"Public Key Handle : 99999999999999999999\n", "bad Public Key Handle"},
        {"Key Handle : -1\n", "bad Key Handle"},
        {"Session Handle : 0x\n", "bad Session Handle"},
        {"Sequence No : 5\n", "bad Sequence No"},
        {"Log type : MINIMAL_LOG_ENTRY\n", "bad Log type"},
        {"User Type : CN_CRYPTO_USER (0xg)\n", "bad User Type"},
        {"propagation delay : 39\n", "bad propagation delay"},
        {"local time : 04/30/22 20:13:18.189504\n", "bad local time"},
    };
    struct coll c;
    const struct haf_entry *e;

    (void)state;
    coll_init(&c);
    parse_all(&c, ok, sizeof(ok) - 1);
    e = &c.v[0].e;
    assert_null(e->parse_error);
    assert_int_equal(e->usecs, UINT64_MAX);
    assert_true(e->time_mismatch);
    assert_int_equal(e->sequence_no, UINT64_MAX);
    assert_int_equal(e->reboot_counter, UINT64_MAX);
    assert_int_equal(e->command_type.code, UINT64_MAX);
    assert_int_equal(e->opcode.code, UINT64_MAX);
    assert_int_equal(e->session_handle, UINT64_MAX);
    assert_int_equal(e->response_code, UINT64_MAX);
    assert_int_equal(e->priv_secret_key_handle, UINT64_MAX);
    coll_free(&c);

    for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
        struct buf b;
        buf_init(&b, 0);
        /* the Time line, then the line under test: its error is the first one found */
        if (i > 0)
            assert_int_equal(buf_add(&b, login_lf, (size_t)(strchr(login_lf, '\n') + 1 - login_lf)),
                             HAF_OK);
        assert_int_equal(buf_adds(&b, past[i][0]), HAF_OK);
        if (i == 0)
            assert_int_equal(buf_adds(&b, strchr(login_lf, '\n') + 1), HAF_OK);
        coll_init(&c);
        parse_all(&c, b.p, b.len);
        assert_int_equal(c.n, 1);
        assert_non_null(c.v[0].e.parse_error);
        if (strcmp(c.v[0].e.parse_error, past[i][1]) != 0)
            fail_msg("%s: got '%s'", past[i][0], c.v[0].e.parse_error);
        if (i == 0)
            assert_false(c.v[0].e.present & HAF_F_TIME);
        coll_free(&c);
        buf_clean_up(&b);
    }
}

/* Decimal fields are read 8 digits at a time: a non-digit at any position of a 16-digit value
 * (bytes just outside '0'..'9', and ones that pass a nibble test alone) flags the field, and
 * every digit counts. */
static void
test_audit_parse_decimal_bad_byte_at_every_position(void **state)
{
    static const char bad_bytes[] = {'/', ':', ' ', 'a', 0x1a, 0x1f, 0x7f, '0' - 1, '9' + 1};
    const char *rest = strchr(login_lf, '\n') + 1;
    struct coll c;

    (void)state;
    for (size_t pos = 0; pos < 16; pos++) {
        for (size_t k = 0; k < sizeof(bad_bytes); k++) {
            char line[64];
            struct buf b;
            snprintf(line, sizeof(line), "Key Handle : 1234567890123456\n");
            line[13 + pos] = bad_bytes[k];
            buf_init(&b, 0);
            assert_int_equal(buf_add(&b, login_lf, (size_t)(rest - login_lf)), HAF_OK);
            assert_int_equal(buf_adds(&b, line), HAF_OK);
            assert_int_equal(buf_adds(&b, rest), HAF_OK);
            coll_init(&c);
            parse_all(&c, b.p, b.len);
            assert_int_equal(c.n, 1);
            /* a space at the ends is trimmed: the value is then shorter, not bad */
            if (bad_bytes[k] == ' ' && (pos == 0 || pos == 15)) {
                assert_null(c.v[0].e.parse_error);
                assert_int_equal(c.v[0].e.key_handle,
                                 pos == 0 ? 234567890123456ull : 123456789012345ull);
            } else {
                assert_false(c.v[0].e.present & HAF_F_KEY_HANDLE);
                assert_string_equal(c.v[0].e.parse_error, "bad Key Handle");
            }
            coll_free(&c);
            buf_clean_up(&b);
        }
    }
    {
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(buf_add(&b, login_lf, (size_t)(rest - login_lf)), HAF_OK);
        assert_int_equal(buf_adds(&b, "Key Handle : 0987654321098765\n"
                                      "Public Key Handle : 98765432\n"
                                      "Priv/Secret Key Handle : 123456789\n"),
                         HAF_OK);
        assert_int_equal(buf_adds(&b, rest), HAF_OK);
        coll_init(&c);
        parse_all(&c, b.p, b.len);
        assert_int_equal(c.n, 1);
        assert_null(c.v[0].e.parse_error);
        assert_int_equal(c.v[0].e.key_handle, 987654321098765ull);
        assert_int_equal(c.v[0].e.public_key_handle, 98765432ull);
        assert_int_equal(c.v[0].e.priv_secret_key_handle, 123456789ull);
        coll_free(&c);
        buf_clean_up(&b);
    }
}

/* The entry buffer grows with what the entries hold, not to max_line_bytes up front (one parser
 * per tailed file: 64 KiB each was the largest per-stream cost); a long line still fits whole,
 * and is still cut at the bound. */
static void
test_audit_parser_buffers_start_small_and_grow(void **state)
{
    struct audit_parser *p = audit_parser_new(NULL);
    struct coll c;
    struct buf b;
    size_t consumed;

    (void)state;
    assert_non_null(p);
    coll_init(&c);
    for (int i = 0; i < 100; i++)
        assert_int_equal(
            audit_parser_feed(p, login_lf, sizeof(login_lf) - 1, &consumed, coll_cb, &c), HAF_OK);
    assert_int_equal(c.n, 99);
    assert_true(audit_parser_buffer_bytes(p) <= 2048);
    coll_free(&c);

    /* a 50,000-byte value: kept whole (under the 64 KiB line bound) */
    buf_init(&b, 0);
    assert_int_equal(buf_add(&b, login_lf, (size_t)(strchr(login_lf, '\n') + 1 - login_lf)),
                     HAF_OK);
    assert_int_equal(buf_adds(&b, "User Name : "), HAF_OK);
    for (int i = 0; i < 50000; i++)
        assert_int_equal(buf_addc(&b, (char)('a' + i % 26)), HAF_OK);
    assert_int_equal(buf_adds(&b, "\n"), HAF_OK);
    assert_int_equal(buf_adds(&b, strchr(login_lf, '\n') + 1), HAF_OK);
    coll_init(&c);
    assert_int_equal(audit_parser_flush(p, coll_cb, &c), HAF_OK);
    assert_int_equal(audit_parser_feed(p, b.p, b.len, &consumed, coll_cb, &c), HAF_OK);
    assert_int_equal(audit_parser_flush(p, coll_cb, &c), HAF_OK);
    assert_int_equal(c.n, 2);
    assert_null(c.v[1].e.parse_error);
    assert_int_equal(c.v[1].e.user_name.len, 50000);
    assert_true(audit_parser_buffer_bytes(p) >= 50000);
    coll_free(&c);
    buf_clean_up(&b);
    audit_parser_free(p);
}

static void
test_audit_parse_time_cross_check(void **state)
{
    static const struct {
        const char *line;
        uint64_t usecs;
        bool mismatch;
    } cases[] = {
        {"Time: 02/29/20 12:00:00.000000, usecs:1582977600000000\n", 1582977600000000, false},
        {"Time: 12/31/99 23:59:59.999999, usecs:4102444799999999\n", 4102444799999999, false},
        {"Time: 01/01/00 00:00:00.000000, usecs:946684800000000\n", 946684800000000, false},
        {"Time: 01/24/18 17:44:25.013218, usecs:1516815865013219\n", 1516815865013219, true},
        {"Time: 02/29/19 12:00:00.000000, usecs:1551441600000000\n", 1551441600000000, true},
        {"Time: 13/45/17 99:01:16.962174, usecs:1\n", 1, true},
        {"Time: garbage, usecs:7\n", 7, true},
        {"Time: 01/24/18 17:44:25.01321, usecs:1516815865013210\n", 1516815865013210, true},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        struct coll c;
        buf_init(&b, 0);
        assert_int_equal(buf_adds(&b, cases[i].line), HAF_OK);
        assert_int_equal(buf_adds(&b, strchr(login_lf, '\n') + 1), HAF_OK);
        coll_init(&c);
        parse_all(&c, b.p, b.len);
        assert_int_equal(c.n, 1);
        assert_null(c.v[0].e.parse_error); /* a mismatch is noted, not fatal */
        assert_int_equal(c.v[0].e.usecs, cases[i].usecs);
        if (c.v[0].e.time_mismatch != cases[i].mismatch)
            fail_msg("%s", cases[i].line);
        coll_free(&c);
        buf_clean_up(&b);
    }
}

static void
test_audit_parser_new_clamps_options(void **state)
{
    struct audit_parser_opts o = {.max_line_bytes = 1, .max_entry_bytes = 1};
    struct audit_parser *p = audit_parser_new(&o);
    struct coll c;

    (void)state;
    assert_non_null(p);
    coll_init(&c);
    /* a 300-byte line is cut at the 256-byte minimum, and still fits one entry */
    char line[301];
    memset(line, 'y', 300);
    line[300] = '\n';
    assert_int_equal(audit_parser_feed(p, line, sizeof(line), NULL, coll_cb, &c), HAF_OK);
    assert_int_equal(audit_parser_flush(p, coll_cb, &c), HAF_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0].e.cut_lines, 1);
    assert_true(span_starts_with(span_make(c.v[0].e.raw.p + 256, c.v[0].e.raw.len - 256),
                                 SPAN_LIT("\xe2\x80\xa6[cut 44 bytes]")));
    audit_parser_free(p);
    audit_parser_free(NULL);
    coll_free(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_parse_reference_examples),
        cmocka_unit_test(test_audit_parse_all_reference_examples_in_one_file),
        cmocka_unit_test(test_audit_parse_text_s14_subscription_message),
        cmocka_unit_test(test_audit_parse_s13_time_info_log),
        cmocka_unit_test(test_audit_parse_time_info_without_opcode),
        cmocka_unit_test(test_audit_parse_cert_events_mixed_with_text),
        cmocka_unit_test(test_audit_parse_cert_events_chunking_stop_and_resume),
        cmocka_unit_test(test_audit_parse_cert_event_boundaries),
        cmocka_unit_test(test_audit_parse_s13_optional_fields_opcode_first_and_duplicates),
        cmocka_unit_test(test_audit_parser_feed_every_split_point),
        cmocka_unit_test(test_audit_parser_feed_one_byte_at_a_time),
        cmocka_unit_test(test_audit_parser_feed_nasty_every_split_point_and_chunk_size),
        cmocka_unit_test(test_audit_parser_feed_stop_and_resume),
        cmocka_unit_test(test_audit_parser_reset_resume_at_every_src_end),
        cmocka_unit_test(test_audit_parse_crlf_equals_lf),
        cmocka_unit_test(test_audit_parse_stray_cr),
        cmocka_unit_test(test_audit_parse_separator_variants),
        cmocka_unit_test(test_audit_parse_export_prefix),
        cmocka_unit_test(test_audit_parse_unknown_opcode_and_types_pass_through),
        cmocka_unit_test(test_audit_parse_truncated_entry_is_flagged_with_raw),
        cmocka_unit_test(test_audit_parse_text_before_first_entry_and_outside),
        cmocka_unit_test(test_audit_parse_empty_and_blank_input),
        cmocka_unit_test(test_audit_parse_line_without_label),
        cmocka_unit_test(test_audit_parse_too_many_extra_fields),
        cmocka_unit_test(test_audit_parse_invalid_utf8_replaced_and_counted),
        cmocka_unit_test(test_audit_parse_nul_bytes_replaced_and_counted),
        cmocka_unit_test(test_audit_parse_10mb_line_is_cut),
        cmocka_unit_test(test_audit_parse_garbage_without_newlines_is_bounded),
        cmocka_unit_test(test_audit_parser_entry_bound_splits_and_flags),
        cmocka_unit_test(test_audit_parse_numbers_at_uint64_max_and_one_past),
        cmocka_unit_test(test_audit_parse_decimal_bad_byte_at_every_position),
        cmocka_unit_test(test_audit_parser_buffers_start_small_and_grow),
        cmocka_unit_test(test_audit_parse_time_cross_check),
        cmocka_unit_test(test_audit_parser_new_clamps_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

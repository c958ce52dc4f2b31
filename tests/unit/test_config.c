/*
 * test_config.c: loading and validating the YAML configuration: every key of the full example,
 * the defaults of the minimal one, every error kind with its exact "file:line:column: key:
 * message" line, YAML typing (booleans, integers, quoted strings, null), URL rules (plain http
 * only for loopback), globs, log group and stream names, refusal of anchors, aliases, tags,
 * duplicate keys and credentials, limits (depth, error count, size), the file permission checks,
 * and config_dump (every key, defaults shown, no secret, and its output loads back to the same).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haf/config.h"
#include "testlib.h"

/* Loads yaml from memory as "t.yaml"; on success frees the config. Errors land in err. */
static enum haf_err
load(const char *yaml, struct buf *err)
{
    struct haf_config *cfg = NULL;
    enum haf_err e;

    buf_reset(err);
    e = config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, err);
    if (e == HAF_OK) {
        assert_non_null(cfg);
        config_free(cfg);
    } else {
        assert_null(cfg);
    }
    return e;
}

#define SRC "sources:\n  - path: /var/log/a.log\n    log_group: g\n"

/* Expects exactly one error line, equal to want (without the newline). */
static void
expect_error(const char *yaml, const char *want)
{
    struct buf err;
    char line[1024];

    buf_init(&err, 0);
    if (load(yaml, &err) != HAF_ECONFIG)
        fail_msg("accepted:\n%s", yaml);
    snprintf(line, sizeof(line), "%s\n", want);
    if (strcmp(buf_cstr(&err), line) != 0)
        fail_msg("for:\n%s\nwant: %s\ngot:  %s", yaml, want, buf_cstr(&err));
    buf_clean_up(&err);
}

/* Expects failure with an error containing `part`. */
static void
expect_error_part(const char *yaml, const char *part)
{
    struct buf err;

    buf_init(&err, 0);
    if (load(yaml, &err) != HAF_ECONFIG)
        fail_msg("accepted:\n%s", yaml);
    if (strstr(buf_cstr(&err), part) == NULL)
        fail_msg("for:\n%s\nwant part: %s\ngot: %s", yaml, part, buf_cstr(&err));
    buf_clean_up(&err);
}

static void
expect_ok(const char *yaml)
{
    struct buf err;

    buf_init(&err, 0);
    if (load(yaml, &err) != HAF_OK)
        fail_msg("rejected:\n%s\n%s", yaml, buf_cstr(&err));
    buf_clean_up(&err);
}

/* Expects yaml to load, and its dump (config_dump: documented as a valid configuration) too. */
static void
expect_dump_loads(const char *yaml)
{
    struct haf_config *cfg = NULL, *again = NULL;
    struct buf err, out;

    buf_init(&err, 0);
    buf_init(&out, 0);
    if (config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, &err) != HAF_OK)
        fail_msg("rejected:\n%s\n%s", yaml, buf_cstr(&err));
    assert_int_equal(config_dump(cfg, &out), HAF_OK);
    if (config_load_buffer("dump.yaml", out.p, out.len, &again, &err) != HAF_OK)
        fail_msg("the dump of:\n%s\nis rejected:\n%s\n%s", yaml, buf_cstr(&out), buf_cstr(&err));
    config_free(again);
    config_free(cfg);
    buf_clean_up(&err);
    buf_clean_up(&out);
}

static void
test_config_load_buffer_full_example(void **state)
{
    size_t len;
    char *data = testlib_read_data("config/full.yaml", &len);
    struct haf_config *cfg = NULL;
    struct buf err;

    (void)state;
    buf_init(&err, 0);
    assert_int_equal(config_load_buffer("full.yaml", data, len, &cfg, &err), HAF_OK);
    assert_int_equal(err.len, 0);
    assert_string_equal(cfg->file, "full.yaml");
    assert_string_equal(cfg->region, "us-east-1");
    assert_string_equal(cfg->endpoint, "https://logs.us-east-1.amazonaws.com");
    assert_string_equal(cfg->credentials.profile, "audit");
    assert_string_equal(cfg->credentials.role_arn,
                        "arn:aws:iam::111122223333:role/HsmAuditShipper");
    assert_string_equal(cfg->credentials.external_id, "hsm-audit-ext-1");
    assert_string_equal(cfg->credentials.session_name, "hsm-audit-shipper");
    assert_string_equal(cfg->credentials.sts_endpoint, "https://sts.us-east-1.amazonaws.com");
    assert_string_equal(cfg->tls.ca_file, "/etc/pki/tls/certs/ca-bundle.crt");
    assert_true(cfg->tls.verify);
    assert_string_equal(cfg->proxy, "http://proxy.internal:3128");
    assert_string_equal(cfg->state_dir, "/var/lib/hsm-audit-forwarder-test");
    assert_false(cfg->create_log_group);
    assert_int_equal(cfg->retention_days, 365);
    assert_string_equal(
        cfg->kms_key_id,
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    assert_int_equal(cfg->batch.max_events, 5000);
    assert_int_equal(cfg->batch.max_bytes, 524288);
    assert_int_equal(cfg->batch.flush_interval_ms, 250);
    assert_int_equal(cfg->out_of_range, OUT_OF_RANGE_DROP);
    assert_int_equal(cfg->n_sources, 2);
    assert_string_equal(cfg->sources[0].path, "/opt/cloudhsm/run/audit/*.log");
    assert_string_equal(cfg->sources[0].log_group, "/cloudhsm/audit");
    assert_string_equal(cfg->sources[0].log_stream, "{hostname}/{hsm_id}/{file}");
    assert_int_equal(cfg->sources[0].format, AUDIT_FORMAT_RAW);
    assert_int_equal(cfg->sources[0].start_position, START_END);
    assert_string_equal(cfg->sources[0].hsm_id, "hsm-abc123");
    assert_string_equal(cfg->sources[1].path, "/var/log/hsm/audit-[0-9].log");
    assert_string_equal(cfg->sources[1].log_stream, "{hostname}/{file}");
    assert_int_equal(cfg->sources[1].format, AUDIT_FORMAT_JSON);
    assert_int_equal(cfg->sources[1].start_position, START_BEGINNING);
    assert_null(cfg->sources[1].hsm_id);
    config_free(cfg);
    buf_clean_up(&err);
    free(data);
}

/* follow_symlinks: off unless a source says true (issue 11, finding 3); a boolean only. */
static void
test_config_load_buffer_follow_symlinks(void **state)
{
    static const char yaml[] = "sources:\n  - {path: /a/*.log, log_group: g}\n"
                               "  - {path: /b/*.log, log_group: g, follow_symlinks: true}\n";
    struct haf_config *cfg = NULL;
    struct buf err;

    (void)state;
    buf_init(&err, 0);
    assert_int_equal(config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, &err), HAF_OK);
    assert_false(cfg->sources[0].follow_symlinks);
    assert_true(cfg->sources[1].follow_symlinks);
    config_free(cfg);
    buf_clean_up(&err);
    expect_error_part("sources:\n  - {path: /a, log_group: g, follow_symlinks: maybe}\n",
                      "sources[0].follow_symlinks");
}

static void
test_config_load_buffer_minimal_defaults(void **state)
{
    size_t len;
    char *data = testlib_read_data("config/minimal.yaml", &len);
    struct haf_config *cfg = NULL;
    struct buf err;

    (void)state;
    buf_init(&err, 0);
    assert_int_equal(config_load_buffer("minimal.yaml", data, len, &cfg, &err), HAF_OK);
    assert_null(cfg->region);
    assert_null(cfg->endpoint);
    assert_null(cfg->credentials.profile);
    assert_null(cfg->credentials.role_arn);
    assert_null(cfg->credentials.external_id);
    assert_string_equal(cfg->credentials.session_name, "hsm-audit-forwarder");
    assert_null(cfg->credentials.sts_endpoint);
    assert_null(cfg->tls.ca_file);
    assert_true(cfg->tls.verify);
    assert_null(cfg->proxy);
    assert_string_equal(cfg->state_dir, CONFIG_DEFAULT_STATE_DIR);
    assert_true(cfg->create_log_group);
    assert_int_equal(cfg->retention_days, 0);
    assert_null(cfg->kms_key_id);
    assert_int_equal(cfg->batch.max_events, 10000);
    assert_int_equal(cfg->batch.max_bytes, 1048576);
    assert_int_equal(cfg->batch.flush_interval_ms, 1000);
    assert_int_equal(cfg->batch.memory_budget_bytes, 2097152);
    assert_int_equal(cfg->out_of_range, OUT_OF_RANGE_RECLOCK);
    assert_int_equal(cfg->n_sources, 1);
    assert_string_equal(cfg->sources[0].log_stream, "{hostname}/{file}");
    assert_int_equal(cfg->sources[0].format, AUDIT_FORMAT_JSON);
    assert_int_equal(cfg->sources[0].start_position, START_BEGINNING);
    config_free(cfg);
    buf_clean_up(&err);
    free(data);
}

static void
test_config_load_buffer_reports_every_error(void **state)
{
    static const char want[] =
        "errors.yaml:2:1: regoin: unknown key (did you mean \"region\"?)\n"
        "errors.yaml:3:11: endpoint: plain http:// is allowed only for loopback hosts "
        "(127.0.0.0/8, ::1, localhost); use https://\n"
        "errors.yaml:5:3: credentials.aws_secret_access_key: credentials in the config file are "
        "not supported; use the environment, a shared credentials profile (credentials.profile) "
        "or an instance/task role\n"
        "errors.yaml:6:16: tls.verify: expected a boolean (true/false, yes/no, on/off), got "
        "\"maybe\"\n"
        "errors.yaml:7:17: retention_days: 42 is not a retention CloudWatch accepts (1, 3, 5, 7, "
        "14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, "
        "3653)\n"
        "errors.yaml:8:22: batch.max_events: 0 is out of range (1..10000)\n"
        "errors.yaml:8:36: batch.max_bytes: 2000000 is out of range (27..1048576)\n"
        "errors.yaml:8:64: batch.flush_interval_ms: expected an integer, got \"soon\"\n"
        "errors.yaml:9:15: out_of_range: \"keep\" is not one of reclock | drop\n"
        "errors.yaml:11:11: sources[0].path: must be an absolute path or glob\n"
        "errors.yaml:12:16: sources[0].log_group: log group names may only contain A-Z a-z 0-9 . "
        "- _ / #\n"
        "errors.yaml:13:17: sources[0].log_stream: unknown placeholder {host} (known: {hostname} "
        "{instance_id} {file} {hsm_id})\n"
        "errors.yaml:14:13: sources[0].format: \"xml\" is not one of json | raw\n"
        "errors.yaml:15:5: sources[1].path: missing (the audit file path or glob)\n"
        "errors.yaml:15:5: sources[1].log_group: missing (the CloudWatch Logs log group)\n"
        "errors.yaml:15:17: sources[1].log_stream: log stream names must not contain ':' or '*'\n";
    size_t len;
    char *data = testlib_read_data("config/errors.yaml", &len);
    struct haf_config *cfg = NULL;
    struct buf err;

    (void)state;
    buf_init(&err, 0);
    assert_int_equal(config_load_buffer("errors.yaml", data, len, &cfg, &err), HAF_ECONFIG);
    assert_null(cfg);
    assert_string_equal(buf_cstr(&err), want);
    /* the secret's value is never repeated */
    assert_null(strstr(buf_cstr(&err), "do-not-put-this-here"));
    buf_clean_up(&err);
    free(data);
}

static void
test_config_load_buffer_failure_leaves_out_untouched(void **state)
{
    struct haf_config sentinel;
    struct haf_config *cfg = &sentinel;

    (void)state;
    /* err may be NULL */
    assert_int_equal(config_load_buffer("t", "bogus: 1\n", 9, &cfg, NULL), HAF_ECONFIG);
    assert_ptr_equal(cfg, &sentinel);
}

static void
test_config_load_buffer_yaml_syntax_error(void **state)
{
    (void)state;
    expect_error("sources: [a, b\n",
                 "t.yaml:2:1: YAML syntax error: did not find expected ',' or ']' (while parsing a "
                 "flow sequence at line 1 column 10)");
    expect_error_part("a: b: c\n", "t.yaml:1:5: YAML syntax error: mapping values are not allowed");
    expect_error_part("a:\n\tb: 1\n", "YAML syntax error");
    /* a NUL byte in the input */
    {
        struct buf err;
        struct haf_config *cfg = NULL;
        buf_init(&err, 0);
        assert_int_equal(config_load_buffer("t.yaml", SRC "\0x", sizeof(SRC) + 1, &cfg, &err),
                         HAF_ECONFIG);
        assert_non_null(strstr(buf_cstr(&err), "YAML syntax error"));
        buf_clean_up(&err);
    }
    /* invalid UTF-8 */
    expect_error_part(SRC "region: \xff\xfe\n", "YAML syntax error");
}

static void
test_config_load_buffer_missing_or_empty_sources(void **state)
{
    (void)state;
    expect_error("", "t.yaml:1:1: sources: missing: at least one source is required");
    expect_error("# only a comment\n",
                 "t.yaml:1:1: sources: missing: at least one source is required");
    expect_error("---\n", "t.yaml:1:1: sources: missing: at least one source is required");
    expect_error("region: us-east-1\n",
                 "t.yaml:1:1: sources: missing: at least one source is required");
    expect_error("sources:\n", "t.yaml:1:9: sources: missing: at least one source is required");
    expect_error("sources: []\n", "t.yaml:1:10: sources: empty: at least one source is required");
    expect_error("sources: /var/log/a.log\n",
                 "t.yaml:1:10: sources: expected a sequence of sources, got a scalar");
    expect_error("sources:\n  - /var/log/a.log\n",
                 "t.yaml:2:5: sources[0]: expected a mapping, got a scalar");
    expect_error("- a\n",
                 "t.yaml:1:1: the configuration must be a mapping of keys, got a sequence");
}

static void
test_config_load_buffer_wrong_types(void **state)
{
    (void)state;
    expect_error(SRC "tls: yes\n", "t.yaml:4:6: tls: expected a mapping, got a scalar");
    expect_error(SRC "region: {a: 1}\n", "t.yaml:4:9: region: expected a string, got a mapping");
    expect_error(SRC "region: [a]\n", "t.yaml:4:9: region: expected a string, got a sequence");
    expect_error(SRC "retention_days: \"365\"\n",
                 "t.yaml:4:17: retention_days: expected an integer, got a quoted string \"365\"");
    expect_error(SRC "retention_days: 36.5\n",
                 "t.yaml:4:17: retention_days: expected an integer, got \"36.5\"");
    expect_error(SRC "retention_days: 0x10\n",
                 "t.yaml:4:17: retention_days: expected an integer, got \"0x10\"");
    expect_error(SRC "batch: {max_events: -5}\n",
                 "t.yaml:4:21: batch.max_events: must not be negative");
    expect_error(
        SRC "batch: {max_events: 18446744073709551616}\n",
        "t.yaml:4:21: batch.max_events: expected an integer, got \"18446744073709551616\"");
    expect_error(SRC "create_log_group: 1\n",
                 "t.yaml:4:19: create_log_group: expected a boolean (true/false, yes/no, on/off), "
                 "got \"1\"");
    expect_error(SRC "create_log_group: \"false\"\n",
                 "t.yaml:4:19: create_log_group: expected a boolean (true/false, yes/no, on/off), "
                 "got a quoted string \"false\"");
    expect_error(SRC "create_log_group: [true]\n",
                 "t.yaml:4:19: create_log_group: expected a boolean (true/false, yes/no, on/off), "
                 "got a sequence");
    expect_error(SRC "region: \"\"\n", "t.yaml:4:9: region: must not be empty");
    expect_error(SRC "region: \"us\\0east\"\n",
                 "t.yaml:4:9: region: contains a control or non-printable character (byte 2)");
    expect_error(SRC "region: \"us\\x85east\"\n",
                 "t.yaml:4:9: region: contains a control or non-printable character (byte 2)");
    expect_error(SRC "kms_key_id: \"arn:\\uFEFF\"\n",
                 "t.yaml:4:13: kms_key_id: contains a control or non-printable character (byte 4)");
    expect_error(SRC "? [a]\n: 1\n", "t.yaml:4:3: a key must be a plain string, got a sequence");
}

static void
test_config_load_buffer_booleans_yaml11(void **state)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    char yaml[256];
    struct haf_config *cfg;

    (void)state;
    for (size_t i = 0; i < 9; i++) {
        snprintf(yaml, sizeof(yaml), SRC "create_log_group: %s\ntls: {verify: %s}\n", no[i], no[i]);
        cfg = NULL;
        assert_int_equal(config_load_buffer("t", yaml, strlen(yaml), &cfg, NULL), HAF_OK);
        assert_false(cfg->create_log_group);
        assert_false(cfg->tls.verify);
        config_free(cfg);
        snprintf(yaml, sizeof(yaml), SRC "create_log_group: %s\ntls: {verify: %s}\n", yes[i],
                 yes[i]);
        cfg = NULL;
        assert_int_equal(config_load_buffer("t", yaml, strlen(yaml), &cfg, NULL), HAF_OK);
        assert_true(cfg->create_log_group);
        assert_true(cfg->tls.verify);
        config_free(cfg);
    }
    expect_error_part(SRC "create_log_group: tRue\n", "expected a boolean");
    expect_error_part(SRC "create_log_group: y\n", "expected a boolean");
}

static void
test_config_load_buffer_null_keeps_default(void **state)
{
    static const char yaml[] = SRC "region: ~\nendpoint: null\ntls:\nbatch: NULL\nstate_dir:\n"
                                   "retention_days: ~\n";
    struct haf_config *cfg = NULL;

    (void)state;
    assert_int_equal(config_load_buffer("t", yaml, sizeof(yaml) - 1, &cfg, NULL), HAF_OK);
    assert_null(cfg->region);
    assert_null(cfg->endpoint);
    assert_true(cfg->tls.verify);
    assert_int_equal(cfg->batch.max_events, 10000);
    assert_string_equal(cfg->state_dir, CONFIG_DEFAULT_STATE_DIR);
    config_free(cfg);
    /* a quoted "null" is a string, not null */
    expect_error(SRC "state_dir: \"null\"\n", "t.yaml:4:12: state_dir: must be an absolute path");
    /* a null source path is still missing */
    expect_error("sources:\n  - path: ~\n    log_group: g\n",
                 "t.yaml:2:5: sources[0].path: missing (the audit file path or glob)");
}

static void
test_config_load_buffer_unknown_and_duplicate_keys(void **state)
{
    (void)state;
    expect_error(SRC "retention: 30\n",
                 "t.yaml:4:1: retention: unknown key (did you mean \"retention_days\"?)");
    expect_error(SRC "regio: x\n", "t.yaml:4:1: regio: unknown key (did you mean \"region\"?)");
    expect_error(SRC "colour: blue\n", "t.yaml:4:1: colour: unknown key");
    expect_error(SRC "batch: {max_event: 5}\n",
                 "t.yaml:4:9: batch.max_event: unknown key (did you mean \"max_events\"?)");
    expect_error("sources:\n  - path: /a\n    log_group: g\n    fromat: raw\n",
                 "t.yaml:4:5: sources[0].fromat: unknown key (did you mean \"format\"?)");
    expect_error(SRC "region: a\nregion: b\n",
                 "t.yaml:5:1: region: duplicate key (first at line 4 column 1)");
    expect_error("sources:\n  - path: /a\n    path: /b\n    log_group: g\n",
                 "t.yaml:3:5: sources[0].path: duplicate key (first at line 2 column 5)");
    /* odd bytes in an unknown key are escaped in the message */
    expect_error(SRC "\"a\\tb\": 1\n", "t.yaml:4:1: a\\x09b: unknown key");
    /* merge keys are not special */
    expect_error_part(SRC "<<: {region: x}\n", "<<: unknown key");
}

static void
test_config_load_buffer_credentials_refused(void **state)
{
    static const char *const keys[] = {"aws_access_key_id", "aws_secret_access_key",
                                       "aws_session_token", "secret_key",
                                       "Secret-Access-Key", "password"};
    char yaml[256], want[512];

    (void)state;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(yaml, sizeof(yaml), SRC "credentials:\n  %s: AKIAEXAMPLESECRET\n", keys[i]);
        snprintf(want, sizeof(want),
                 "t.yaml:5:3: credentials.%s: credentials in the config file are not supported; "
                 "use the environment, a shared credentials profile (credentials.profile) or an "
                 "instance/task role",
                 keys[i]);
        expect_error(yaml, want);
        snprintf(yaml, sizeof(yaml), SRC "%s: AKIAEXAMPLESECRET\n", keys[i]);
        expect_error_part(yaml, "credentials in the config file are not supported");
    }
}

static void
test_config_load_buffer_credentials_values(void **state)
{
    (void)state;
    expect_ok(SRC "credentials: {profile: prod, role_arn: 'arn:aws-us-gov:iam::111122223333:role/"
                  "a/b', external_id: 'x+=,.@:/-y', session_name: 'a_b+=,.@-c'}\n");
    expect_error(SRC "credentials: {role_arn: 'arn:aws:iam::1:user/x'}\n",
                 "t.yaml:4:25: credentials.role_arn: must be an IAM role ARN "
                 "(arn:aws:iam::ACCOUNT:role/NAME)");
    expect_error(SRC "credentials: {session_name: 'has space'}\n",
                 "t.yaml:4:29: credentials.session_name: must be 2..64 characters of A-Z a-z 0-9 "
                 "_ + = , . @ -");
    expect_error(SRC "credentials: {external_id: x}\n",
                 "t.yaml:4:28: credentials.external_id: must be 2..1224 characters of A-Z a-z 0-9 "
                 "_ + = , . @ : / -");
    expect_error(SRC "credentials: {profile: '[x]'}\n",
                 "t.yaml:4:24: credentials.profile: must be at most 128 characters without '[' "
                 "or ']'");
    expect_error(SRC "credentials: {sts_endpoint: 'http://sts.example.com'}\n",
                 "t.yaml:4:29: credentials.sts_endpoint: plain http:// is allowed only for "
                 "loopback hosts (127.0.0.0/8, ::1, localhost); use https://");
}

static void
test_config_load_buffer_endpoint_urls(void **state)
{
    static const char *const ok[] = {"https://logs.us-east-1.amazonaws.com",
                                     "HTTPS://logs.example.com:8443/",
                                     "http://127.0.0.1:4566",
                                     "http://127.255.1.2/",
                                     "http://[::1]:8080",
                                     "http://[0:0:0:0:0:0:0:1]/",
                                     "http://localhost:1234",
                                     "http://LocalHost",
                                     "https://[2001:db8::1]:443/prefix/",
                                     "https://vpce-1.logs.us-east-1.vpce.amazonaws.com"};
    static const struct {
        const char *url, *msg;
    } bad[] = {
        {"http://localhost.evil.com", "plain http:// is allowed only for loopback hosts"},
        {"http://127.0.0.1.evil.com", "plain http:// is allowed only for loopback hosts"},
        {"http://128.0.0.1", "plain http:// is allowed only for loopback hosts"},
        {"http://1270.0.0.1", "plain http:// is allowed only for loopback hosts"},
        {"http://[::2]", "plain http:// is allowed only for loopback hosts"},
        {"http://0x7f.0.0.1", "plain http:// is allowed only for loopback hosts"},
        {"ftp://logs.example.com", "unsupported URL scheme \"ftp\" (use https)"},
        {"logs.example.com", "not a URL"},
        {"https://", "URL has no valid host"},
        {"https://:443", "URL has no valid host"},
        {"https://host:0", "invalid port in URL"},
        {"https://host:65536", "invalid port in URL"},
        {"https://host:44a", "URL must not have a query or fragment"},
        {"https://host?x=1", "URL must not have a query or fragment"},
        {"https://host/p?x=1", "URL path must not have"},
        {"https://host/a b", "URL path must not have"},
        {"https://ho st", "invalid character in URL host name"},
        {"https://[::1", "unterminated [IPv6 address]"},
        {"https://[zz]", "invalid IPv6 address"},
        {"https://user:hunter2@logs.example.com", "user information in the URL is not supported"},
    };
    char yaml[512];
    struct buf err;

    (void)state;
    buf_init(&err, 0);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(yaml, sizeof(yaml), SRC "endpoint: '%s'\n", ok[i]);
        expect_ok(yaml);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(yaml, sizeof(yaml), SRC "endpoint: '%s'\n", bad[i].url);
        if (load(yaml, &err) != HAF_ECONFIG)
            fail_msg("accepted %s", bad[i].url);
        if (strncmp(buf_cstr(&err), "t.yaml:4:11: endpoint: ", 23) != 0 ||
            strstr(buf_cstr(&err), bad[i].msg) == NULL)
            fail_msg("%s: got %s", bad[i].url, buf_cstr(&err));
        /* URLs are never echoed */
        assert_null(strstr(buf_cstr(&err), "hunter2"));
    }
    buf_clean_up(&err);
}

static void
test_config_load_buffer_proxy_urls(void **state)
{
    (void)state;
    expect_ok(SRC "proxy: http://proxy:3128\n");
    expect_ok(SRC "proxy: http://proxy.corp.example.com:3128/\n");
    expect_ok(SRC "proxy: socks5h://10.0.0.1:1080\n");
    expect_ok(SRC "proxy: https://[fd00::1]:3128\n");
    expect_error(SRC "proxy: http://user:secret@proxy:3128\n",
                 "t.yaml:4:8: proxy: user information in the URL is not supported (no credentials "
                 "in the config file; set HTTPS_PROXY in the environment instead)");
    expect_error(SRC "proxy: ftp://proxy:21\n",
                 "t.yaml:4:8: proxy: unsupported URL scheme \"ftp\" (use http, https, socks4, "
                 "socks4a, socks5 or socks5h)");
    expect_error(SRC "proxy: http://proxy:3128/path\n",
                 "t.yaml:4:8: proxy: a proxy URL has no path");
    expect_error(SRC "proxy: proxy:3128\n",
                 "t.yaml:4:8: proxy: not a URL (expected http://host:port or socks5://host:port)");
}

static void
test_config_load_buffer_globs(void **state)
{
    static const char *const ok[] = {
        "/var/log/*.log",   "/a/audit-[0-9].log",     "/a/[!x]y", "/a/[]]", "/a/[!]]",
        "/a/\\[literal\\]", "/opt/*/run/audit/?.log", "/a/b"};
    static const struct {
        const char *glob, *msg;
    } bad[] = {
        {"/a/[0-9.log", "unbalanced '[' at offset 3 in glob (escape it as \\[)"},
        {"/a/b]", "unbalanced ']' at offset 4 in glob (escape it as \\])"},
        {"/a/[/]b", "unbalanced '[' at offset 3 in glob (escape it as \\[)"},
        {"/a/b\\", "ends with an escaping backslash"},
        {"/a/**/b.log", "'**' is not supported: glob(3) does not match across directories"},
        {"/var/log/", "names a directory; add a file pattern such as *.log"},
        {"var/log/*.log", "must be an absolute path or glob"},
        {"~/audit.log", "must be an absolute path or glob"},
    };
    char yaml[512], want[512];

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(yaml, sizeof(yaml), "sources:\n  - path: '%s'\n    log_group: g\n", ok[i]);
        expect_ok(yaml);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(yaml, sizeof(yaml), "sources:\n  - path: '%s'\n    log_group: g\n", bad[i].glob);
        snprintf(want, sizeof(want), "t.yaml:2:11: sources[0].path: %s", bad[i].msg);
        expect_error(yaml, want);
    }
    expect_error("sources:\n  - {path: /a, log_group: g}\n  - {path: /a, log_group: h}\n",
                 "t.yaml:3:12: sources[1].path: same path as sources[0]");
}

static void
test_config_load_buffer_log_groups_and_streams(void **state)
{
    char yaml[2048], name[600];

    (void)state;
    expect_ok("sources:\n  - {path: /a, log_group: 'a.b-c_d/e#f09AZ'}\n");
    memset(name, 'g', 512);
    name[512] = '\0';
    snprintf(yaml, sizeof(yaml), "sources:\n  - {path: /a, log_group: %s}\n", name);
    expect_ok(yaml);
    name[512] = 'g';
    name[513] = '\0';
    snprintf(yaml, sizeof(yaml), "sources:\n  - {path: /a, log_group: %s}\n", name);
    expect_error(yaml,
                 "t.yaml:2:27: sources[0].log_group: log group names are at most 512 characters");
    expect_error("sources:\n  - {path: /a, log_group: aws/lambda/x}\n",
                 "t.yaml:2:27: sources[0].log_group: log group names starting with \"aws/\" are "
                 "reserved by AWS");
    expect_error(
        "sources:\n  - {path: /a, log_group: 'a:b'}\n",
        "t.yaml:2:27: sources[0].log_group: log group names may only contain A-Z a-z 0-9 . "
        "- _ / #");

    expect_ok("sources:\n  - {path: /a, log_group: g, log_stream: 'fixed-name'}\n");
    expect_ok(
        "sources:\n  - {path: /a, log_group: g, log_stream: '{instance_id}/{hostname}-{file}'}\n");
    expect_ok("sources:\n  - {path: /a, log_group: g, hsm_id: hsm-1, log_stream: '{hsm_id}'}\n");
    expect_error("sources:\n  - {path: /a, log_group: g, log_stream: '{hsm_id}/{file}'}\n",
                 "t.yaml:2:42: sources[0].log_stream: uses {hsm_id} but the source sets no hsm_id");
    expect_error("sources:\n  - {path: /a, log_group: g, log_stream: '{file'}\n",
                 "t.yaml:2:42: sources[0].log_stream: unterminated '{' at offset 0");
    expect_error("sources:\n  - {path: /a, log_group: g, log_stream: 'a}'}\n",
                 "t.yaml:2:42: sources[0].log_stream: unbalanced '}' at offset 1");
    expect_error(
        "sources:\n  - {path: /a, log_group: g, log_stream: 'a*'}\n",
        "t.yaml:2:42: sources[0].log_stream: log stream names must not contain ':' or '*'");
    expect_error("sources:\n  - {path: /a, log_group: g, log_stream: '{}'}\n",
                 "t.yaml:2:42: sources[0].log_stream: unknown placeholder {} (known: {hostname} "
                 "{instance_id} {file} {hsm_id})");
    memset(name, 's', 513);
    name[513] = '\0';
    snprintf(yaml, sizeof(yaml), "sources:\n  - {path: /a, log_group: g, log_stream: %s}\n", name);
    expect_error(yaml, "t.yaml:2:42: sources[0].log_stream: log stream names are at most 512 "
                       "characters");
    expect_error("sources:\n  - {path: /a, log_group: g, hsm_id: 'hsm 1'}\n",
                 "t.yaml:2:38: sources[0].hsm_id: must be 1..64 characters of A-Z a-z 0-9 . _ -");
    expect_error(
        "sources:\n  - {path: /a, log_group: g, start_position: middle}\n",
        "t.yaml:2:46: sources[0].start_position: \"middle\" is not one of beginning | end");
}

static void
test_config_load_buffer_batch_bounds(void **state)
{
    (void)state;
    expect_ok(SRC "batch: {max_events: 1, max_bytes: 27, flush_interval_ms: 1}\n");
    expect_ok(SRC "batch: {max_events: 10000, max_bytes: 1048576, flush_interval_ms: 3600000}\n");
    expect_error(SRC "batch: {max_events: 10001}\n",
                 "t.yaml:4:21: batch.max_events: 10001 is out of range (1..10000)");
    expect_error(SRC "batch: {max_bytes: 26}\n",
                 "t.yaml:4:20: batch.max_bytes: 26 is out of range (27..1048576)");
    expect_error(SRC "batch: {max_bytes: 1048577}\n",
                 "t.yaml:4:20: batch.max_bytes: 1048577 is out of range (27..1048576)");
    expect_error(SRC "batch: {flush_interval_ms: 0}\n",
                 "t.yaml:4:28: batch.flush_interval_ms: 0 is out of range (1..3600000)");
    expect_error(SRC "batch: {flush_interval_ms: 3600001}\n",
                 "t.yaml:4:28: batch.flush_interval_ms: 3600001 is out of range (1..3600000)");
    expect_ok(SRC "batch: {memory_budget_bytes: 65536}\n");
    expect_ok(SRC "batch: {memory_budget_bytes: 1073741824}\n");
    expect_error(
        SRC "batch: {memory_budget_bytes: 65535}\n",
        "t.yaml:4:30: batch.memory_budget_bytes: 65535 is out of range (65536..1073741824)");
    expect_error(
        SRC "batch: {memory_budget_bytes: 1073741825}\n",
        "t.yaml:4:30: batch.memory_budget_bytes: 1073741825 is out of range (65536..1073741824)");
}

static void
test_config_retention_valid_exact_set(void **state)
{
    static const int ok[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                             365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};
    size_t n_ok = 0;
    char yaml[256];

    (void)state;
    for (int d = -5; d <= 4000; d++)
        if (config_retention_valid(d))
            n_ok++;
    assert_int_equal(n_ok, sizeof(ok) / sizeof(ok[0]));
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_true(config_retention_valid(ok[i]));
        snprintf(yaml, sizeof(yaml), SRC "retention_days: %d\n", ok[i]);
        expect_ok(yaml);
    }
    assert_false(config_retention_valid(0));
    assert_false(config_retention_valid(-1));
    assert_false(config_retention_valid(366));
    expect_error_part(SRC "retention_days: 0\n", "0 is not a retention CloudWatch accepts");
    expect_error_part(SRC "retention_days: 4294967297\n",
                      "4294967297 is not a retention CloudWatch accepts");
}

static void
test_config_load_buffer_other_values(void **state)
{
    (void)state;
    expect_error(SRC "region: 'us east 1'\n",
                 "t.yaml:4:9: region: must be an AWS region name such as us-east-1");
    expect_error(SRC "region: 'us-east-1.evil.com/'\n",
                 "t.yaml:4:9: region: must be an AWS region name such as us-east-1");
    expect_error(SRC "state_dir: var/lib/x\n", "t.yaml:4:12: state_dir: must be an absolute path");
    expect_error(SRC "tls: {ca_file: ca.pem}\n",
                 "t.yaml:4:16: tls.ca_file: must be an absolute path");
    expect_error(SRC "kms_key_id: 1234abcd\n",
                 "t.yaml:4:13: kms_key_id: must be a KMS key ARN "
                 "(arn:aws:kms:REGION:ACCOUNT:key/ID), at most 256 characters");
    expect_ok(SRC "out_of_range: drop\ntls: {verify: false}\n");
}

/* The settings of the log groups the daemon creates: deletion protection, class, tags. */
static void
test_config_load_buffer_log_group_settings(void **state)
{
    static const char yaml[] = SRC "deletion_protection: true\nlog_group_class: STANDARD\n"
                                   "log_group_tags:\n  team: security\n  'cost center': '4711'\n"
                                   "  empty: ''\n";
    struct haf_config *cfg = NULL;
    struct buf err, dump;

    (void)state;
    buf_init(&err, 0);
    buf_init(&dump, 0);
    assert_int_equal(config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, &err), HAF_OK);
    assert_true(cfg->deletion_protection);
    assert_string_equal(cfg->log_group_class, "STANDARD");
    assert_int_equal(cfg->n_log_group_tags, 3);
    assert_string_equal(cfg->log_group_tags[1].key, "cost center");
    assert_string_equal(cfg->log_group_tags[1].value, "4711");
    assert_string_equal(cfg->log_group_tags[2].value, "");
    assert_int_equal(config_dump(cfg, &dump), HAF_OK);
    assert_non_null(strstr(buf_cstr(&dump),
                           "deletion_protection: true\nlog_group_class: \"STANDARD\"\n"
                           "log_group_tags:\n  \"team\": \"security\"\n"));
    config_free(cfg);
    /* defaults: nothing sent */
    cfg = NULL;
    assert_int_equal(config_load_buffer("t.yaml", SRC, strlen(SRC), &cfg, &err), HAF_OK);
    assert_false(cfg->deletion_protection);
    assert_null(cfg->log_group_class);
    assert_int_equal(cfg->n_log_group_tags, 0);
    config_free(cfg);
    expect_error(SRC "log_group_class: DELIVERY\n",
                 "t.yaml:4:18: log_group_class: \"DELIVERY\" is not one of STANDARD | "
                 "INFREQUENT_ACCESS");
    expect_error(
        SRC "deletion_protection: maybe\n",
        "t.yaml:4:22: deletion_protection: expected a boolean (true/false, yes/no, on/off), "
        "got \"maybe\"");
    expect_error(SRC "log_group_tags: [a]\n",
                 "t.yaml:4:17: log_group_tags: expected a mapping of 1 to 50 tags, got a sequence");
    expect_error(SRC "log_group_tags: {'aws:x': y}\n",
                 "t.yaml:4:18: log_group_tags: a tag key is 1 to 128 letters, digits, spaces or "
                 "_.:/=+-@, not starting with aws:");
    expect_error(SRC "log_group_tags: {k: 'a\\\\b'}\n",
                 "t.yaml:4:21: log_group_tags: a tag value is at most 256 letters, digits, spaces "
                 "or _.:/=+-@");
    buf_clean_up(&err);
    buf_clean_up(&dump);
}

static void
test_config_load_buffer_refuses_anchors_aliases_tags(void **state)
{
    (void)state;
    expect_error("base: &b {log_group: g}\n", "t.yaml:1:7: YAML anchors (&name) are not supported");
    expect_error_part("sources:\n  - path: /a\n    log_group: *g\n",
                      "t.yaml:3:16: YAML aliases (*name) are not supported");
    expect_error(SRC "region: !!python/object:os.system x\n", "t.yaml:4:9: unsupported YAML tag");
    expect_error(SRC "tls: !custom {}\n", "t.yaml:4:6: unsupported YAML tag");
    expect_ok(SRC "region: !!str us-east-1\n");
    /* !!str makes a string even of a plain word */
    expect_error(SRC "create_log_group: !!str true\n",
                 "t.yaml:4:19: create_log_group: expected a boolean (true/false, yes/no, on/off), "
                 "got a quoted string \"true\"");
    expect_error(SRC "---\nregion: x\n", "t.yaml:4:1: only one YAML document is allowed");
}

static void
test_config_load_buffer_limits(void **state)
{
    struct buf yaml, err;
    size_t lines = 0;

    (void)state;
    buf_init(&yaml, 0);
    buf_init(&err, 0);
    /* deep nesting is refused, not recursed into */
    for (int i = 0; i < 200; i++)
        assert_int_equal(buf_addc(&yaml, '['), HAF_OK);
    assert_int_equal(load(buf_cstr(&yaml), &err), HAF_ECONFIG);
    assert_string_equal(buf_cstr(&err), "t.yaml:1:34: nesting deeper than 32 levels\n");
    /* the error list is capped */
    buf_reset(&yaml);
    assert_int_equal(buf_adds(&yaml, SRC), HAF_OK);
    for (int i = 0; i < 200; i++)
        assert_int_equal(buf_addf(&yaml, "unknown_%d: 1\n", i), HAF_OK);
    assert_int_equal(load(buf_cstr(&yaml), &err), HAF_ECONFIG);
    for (size_t i = 0; i < err.len; i++)
        lines += err.p[i] == '\n';
    assert_int_equal(lines, 51);
    assert_non_null(strstr(buf_cstr(&err), "t.yaml: too many errors, stopping\n"));
    /* too many nodes */
    buf_reset(&yaml);
    assert_int_equal(buf_adds(&yaml, "x: ["), HAF_OK);
    for (int i = 0; i < 30000; i++)
        assert_int_equal(buf_adds(&yaml, "1,"), HAF_OK);
    assert_int_equal(buf_adds(&yaml, "1]\n"), HAF_OK);
    assert_int_equal(load(buf_cstr(&yaml), &err), HAF_ECONFIG);
    assert_non_null(strstr(buf_cstr(&err), "too many YAML nodes"));
    /* over the size cap */
    {
        char *big = malloc(1024 * 1024 + 2);
        struct haf_config *cfg = NULL;
        assert_non_null(big);
        memset(big, '#', 1024 * 1024 + 1);
        big[1024 * 1024 + 1] = '\0';
        buf_reset(&err);
        assert_int_equal(config_load_buffer("t.yaml", big, 1024 * 1024 + 1, &cfg, &err),
                         HAF_ECONFIG);
        assert_string_equal(buf_cstr(&err), "t.yaml:1:1: larger than 1048576 bytes\n");
        free(big);
    }
    buf_clean_up(&yaml);
    buf_clean_up(&err);
}

static void
test_config_dump_every_key_and_round_trip(void **state)
{
    size_t len;
    char *data = testlib_read_data("config/full.yaml", &len);
    struct haf_config *cfg = NULL, *again = NULL;
    struct buf out, out2, err;
    static const char *const keys[] = {"\nregion: ",
                                       "\nendpoint: ",
                                       "\ncredentials:\n",
                                       "\n  profile: ",
                                       "\n  role_arn: ",
                                       "\n  external_id: ",
                                       "\n  session_name: ",
                                       "\n  sts_endpoint: ",
                                       "\ntls:\n",
                                       "\n  ca_file: ",
                                       "\n  verify: ",
                                       "\nproxy: ",
                                       "\nstate_dir: ",
                                       "\ncreate_log_group: ",
                                       "\nretention_days: ",
                                       "\nkms_key_id: ",
                                       "\nbatch:\n",
                                       "\n  max_events: ",
                                       "\n  max_bytes: ",
                                       "\n  flush_interval_ms: ",
                                       "\nout_of_range: ",
                                       "\nsources:\n",
                                       "\n  - path: ",
                                       "\n    log_group: ",
                                       "\n    log_stream: ",
                                       "\n    format: ",
                                       "\n    start_position: ",
                                       "\n    hsm_id: "};

    (void)state;
    buf_init(&out, 0);
    buf_init(&out2, 0);
    buf_init(&err, 0);
    assert_int_equal(config_load_buffer("full.yaml", data, len, &cfg, &err), HAF_OK);
    assert_int_equal(config_dump(cfg, &out), HAF_OK);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strstr(buf_cstr(&out), keys[i]) == NULL)
            fail_msg("dump lacks %s", keys[i]);
    /* the external id is not a secret (AWS says so) and is shown */
    assert_non_null(strstr(buf_cstr(&out), "\n  external_id: \"hsm-audit-ext-1\"\n"));
    /* the dump is itself a valid config that loads to the same settings */
    assert_int_equal(config_load_buffer("full.yaml", out.p, out.len, &again, &err), HAF_OK);
    assert_int_equal(config_dump(again, &out2), HAF_OK);
    assert_string_equal(buf_cstr(&out), buf_cstr(&out2));
    config_free(cfg);
    config_free(again);
    buf_clean_up(&out);
    buf_clean_up(&out2);
    buf_clean_up(&err);
    free(data);
}

static void
test_config_dump_defaults_and_tls_warning(void **state)
{
    static const char yaml[] = "sources:\n  - path: '/a/\"q\"\\b'\n    log_group: g\n"
                               "tls: {verify: off}\n";
    struct haf_config *cfg = NULL, *again = NULL;
    struct buf out, err;

    (void)state;
    buf_init(&out, 0);
    buf_init(&err, 0);
    assert_int_equal(config_load_buffer("t.yaml", yaml, sizeof(yaml) - 1, &cfg, &err), HAF_OK);
    assert_int_equal(config_dump(cfg, &out), HAF_OK);
    assert_non_null(strstr(buf_cstr(&out), "\n  verify: false  # WARNING: TLS certificate "
                                           "verification is OFF\n"));
    assert_non_null(strstr(buf_cstr(&out), "\nstate_dir: \"/var/lib/hsm-audit-forwarder\"\n"));
    assert_non_null(strstr(buf_cstr(&out), "\nregion: ~  # from AWS_REGION"));
    assert_non_null(strstr(buf_cstr(&out), "\n    log_stream: \"{hostname}/{file}\"\n"));
    assert_non_null(strstr(buf_cstr(&out), "\n  - path: \"/a/\\\"q\\\"\\\\b\"\n"));
    assert_non_null(strstr(buf_cstr(&out), "\nbatch:\n  max_events: 10000\n  max_bytes: 1048576\n"
                                           "  flush_interval_ms: 1000\n"));
    /* escaping round-trips */
    assert_int_equal(config_load_buffer("t.yaml", out.p, out.len, &again, &err), HAF_OK);
    assert_string_equal(again->sources[0].path, "/a/\"q\"\\b");
    assert_false(again->tls.verify);
    config_free(cfg);
    config_free(again);
    buf_clean_up(&out);
    buf_clean_up(&err);
}

static char *
write_config(const char *dir, const char *name, mode_t mode)
{
    size_t len;
    char *data = testlib_read_data("config/minimal.yaml", &len);
    char *path = malloc(4096);
    int fd;

    assert_non_null(path);
    snprintf(path, 4096, "%s/%s", dir, name);
    fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
    free(data);
    return path;
}

static void
test_config_load_file_checks(void **state)
{
    char *dir = testlib_mkdtemp();
    char *good = write_config(dir, "good.yaml", 0644);
    char *gw = write_config(dir, "gw.yaml", 0664);
    char *ow = write_config(dir, "ow.yaml", 0606);
    struct haf_config *cfg = NULL;
    struct buf err;
    char want[8192], path[4096];

    (void)state;
    buf_init(&err, 0);
    assert_int_equal(config_load(good, &cfg, &err), HAF_OK);
    assert_string_equal(cfg->file, good);
    config_free(cfg);
    cfg = NULL;

    assert_int_equal(config_load(gw, &cfg, &err), HAF_EPERM);
    snprintf(want, sizeof(want),
             "%s: writable by group or others (mode 0664); fix: chmod go-w %s\n", gw, gw);
    assert_string_equal(buf_cstr(&err), want);
    assert_null(cfg);
    buf_reset(&err);
    assert_int_equal(config_load(ow, &cfg, &err), HAF_EPERM);
    assert_non_null(strstr(buf_cstr(&err), "(mode 0606)"));

    buf_reset(&err);
    snprintf(path, sizeof(path), "%s/missing.yaml", dir);
    assert_int_equal(config_load(path, &cfg, &err), HAF_EIO);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory\n", path);
    assert_string_equal(buf_cstr(&err), want);

    buf_reset(&err);
    assert_int_equal(config_load(dir, &cfg, &err), HAF_EPERM);
    assert_non_null(strstr(buf_cstr(&err), "not a regular file"));

    buf_reset(&err);
    snprintf(path, sizeof(path), "%s/fifo.yaml", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(config_load(path, &cfg, &err), HAF_EPERM);
    assert_non_null(strstr(buf_cstr(&err), "not a regular file"));

    /* a symlink to a good file is fine: the target is checked */
    snprintf(path, sizeof(path), "%s/link.yaml", dir);
    assert_int_equal(symlink(good, path), 0);
    assert_int_equal(config_load(path, &cfg, &err), HAF_OK);
    config_free(cfg);
    cfg = NULL;

    if (geteuid() == 0) {
        buf_reset(&err);
        assert_int_equal(chown(good, 65534, 65534), 0);
        assert_int_equal(config_load(good, &cfg, &err), HAF_EPERM);
        snprintf(want, sizeof(want),
                 "%s: owned by uid 65534, not by root or the running user (uid 0); fix: chown "
                 "root %s\n",
                 good, good);
        assert_string_equal(buf_cstr(&err), want);
    }
    /* config errors in a file name the file */
    {
        char *bad = write_config(dir, "bad.yaml", 0600);
        FILE *f = fopen(bad, "a");
        assert_non_null(f);
        fputs("colour: blue\n", f);
        fclose(f);
        buf_reset(&err);
        assert_int_equal(config_load(bad, &cfg, &err), HAF_ECONFIG);
        snprintf(want, sizeof(want), "%s:5:1: colour: unknown key\n", bad);
        assert_string_equal(buf_cstr(&err), want);
        free(bad);
    }
    buf_clean_up(&err);
    testlib_rmtree(dir);
    free(dir);
    free(good);
    free(gw);
    free(ow);
}

static void
test_config_free_accepts_null(void **state)
{
    (void)state;
    config_free(NULL);
}

static void
test_config_load_buffer_health_section(void **state)
{
    struct haf_config *cfg = NULL;
    struct buf err, dump;
    static const char yaml[] = SRC "health:\n  enabled: true\n  interval_s: 1\n"
                                   "  log_group: /hsm/health\n  log_stream: \"{instance_id}-h\"\n"
                                   "  namespace: \"Corp/HSM forwarder#1\"\n";

    (void)state;
    buf_init(&err, 0);
    buf_init(&dump, 0);
    assert_int_equal(config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, &err), HAF_OK);
    assert_true(cfg->health.enabled);
    assert_int_equal(cfg->health.interval_s, 1);
    assert_string_equal(cfg->health.log_group, "/hsm/health");
    assert_string_equal(cfg->health.log_stream, "{instance_id}-h");
    assert_string_equal(cfg->health.metric_namespace, "Corp/HSM forwarder#1");
    assert_int_equal(config_dump(cfg, &dump), HAF_OK);
    assert_non_null(strstr(buf_cstr(&dump), "health:\n  enabled: true\n  interval_s: 1\n"));
    config_free(cfg);
    cfg = NULL;
    /* defaults: off, 60 s, the first source's group, {hostname}.health, HsmAuditForwarder */
    assert_int_equal(config_load_buffer("t.yaml", SRC, strlen(SRC), &cfg, &err), HAF_OK);
    assert_false(cfg->health.enabled);
    assert_int_equal(cfg->health.interval_s, 60);
    assert_null(cfg->health.log_group);
    assert_string_equal(cfg->health.log_stream, "{hostname}.health");
    assert_string_equal(cfg->health.metric_namespace, "HsmAuditForwarder");
    config_free(cfg);
    buf_clean_up(&err);
    buf_clean_up(&dump);

    expect_error(SRC "health:\n  interval_s: 0\n",
                 "t.yaml:5:15: health.interval_s: 0 is out of range (1..86400)");
    expect_error(SRC "health:\n  interval_s: 86401\n",
                 "t.yaml:5:15: health.interval_s: 86401 is out of range (1..86400)");
    expect_error_part(SRC "health:\n  enabled: maybe\n", "health.enabled");
    expect_error_part(SRC "health:\n  colour: red\n", "colour");
    expect_error(SRC "health:\n  log_stream: \"{file}.h\"\n",
                 "t.yaml:5:15: health.log_stream: only {hostname} and {instance_id} apply (the "
                 "health stream has no file and no HSM)");
    expect_error(SRC "health:\n  log_stream: \"{hostname}:h\"\n",
                 "t.yaml:5:15: health.log_stream: log stream names must not contain ':' or '*'");
    expect_error_part(SRC "health:\n  log_stream: \"{nope}\"\n", "unknown placeholder {nope}");
    expect_error_part(SRC "health:\n  log_group: aws/x\n", "reserved by AWS");
    /* The default stream of a source is {hostname}/{file}; a health stream equal to a source's
     * stream in the same group is refused, in another group it is accepted. */
    expect_error("sources:\n  - path: /var/log/a.log\n    log_group: g\n"
                 "    log_stream: \"{hostname}.health\"\nhealth:\n  enabled: true\n",
                 "t.yaml:6:3: health.log_stream: is the stream of sources[0] in the same group: "
                 "health records must not go into an audit stream");
    expect_ok("sources:\n  - path: /var/log/a.log\n    log_group: g\n"
              "    log_stream: \"{hostname}.health\"\nhealth:\n  log_group: h\n");
    /* Off, health records name no stream: accepted, with the section written out or not (the
     * dump writes it; fuzz_config found the dump of a config that loaded refused). */
    expect_ok("sources:\n  - path: /var/log/a.log\n    log_group: g\n"
              "    log_stream: \"{hostname}.health\"\nhealth:\n  enabled: false\n");
    expect_dump_loads("sources:\n  - path: /var/log/a.log\n    log_group: g\n"
                      "    log_stream: \"{hostname}.health\"\nhealth:\n");
    expect_error(SRC "health:\n  namespace: \"AWS/Logs\"\n",
                 "t.yaml:5:14: health.namespace: must be 1..255 of letters, digits and . - _ / # : "
                 "or space, not starting with AWS/");
    expect_error_part(SRC "health:\n  namespace: \"a$b\"\n", "health.namespace: must be");
    expect_error_part(SRC "health:\n  namespace: \"   \"\n", "health.namespace: must be");
    expect_error_part(SRC "health:\n  namespace: \"\"\n", "health.namespace");
}

static void
test_config_load_buffer_digest_section(void **state)
{
    struct haf_config *cfg = NULL;
    struct buf err, dump;
    static const char yaml[] =
        SRC "digest:\n  enabled: false\n  interval_s: 60\n"
            "  kms_key_id: alias/haf-digests\n"
            "  signing_algorithm: RSASSA_PSS_SHA_256\n"
            "  log_group: /hsm/digests\n  log_stream: \"digests/{stream}\"\n";

    (void)state;
    buf_init(&err, 0);
    buf_init(&dump, 0);
    assert_int_equal(config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, &err), HAF_OK);
    assert_false(cfg->digest.enabled);
    assert_int_equal(cfg->digest.interval_s, 60);
    assert_string_equal(cfg->digest.kms_key_id, "alias/haf-digests");
    assert_string_equal(cfg->digest.signing_algorithm, "RSASSA_PSS_SHA_256");
    assert_string_equal(cfg->digest.log_group, "/hsm/digests");
    assert_string_equal(cfg->digest.log_stream, "digests/{stream}");
    assert_int_equal(config_dump(cfg, &dump), HAF_OK);
    assert_non_null(strstr(buf_cstr(&dump), "digest:\n  enabled: false\n  interval_s: 60\n"));
    config_free(cfg);
    cfg = NULL;
    /* defaults */
    assert_int_equal(config_load_buffer("t.yaml", SRC, strlen(SRC), &cfg, &err), HAF_OK);
    assert_false(cfg->digest.enabled);
    assert_int_equal(cfg->digest.interval_s, 300);
    assert_string_equal(cfg->digest.log_stream, "{stream}.digest");
    assert_null(cfg->digest.kms_key_id);
    assert_null(cfg->digest.log_group);
    config_free(cfg);
    buf_clean_up(&err);
    buf_clean_up(&dump);

    expect_error(SRC "digest:\n  interval_s: 0\n",
                 "t.yaml:5:15: digest.interval_s: 0 is out of range (1..86400)");
    expect_error_part(SRC "digest:\n  kms_key_id: k\n  key_file: /etc/k.pem\n",
                      "kms_key_id and key_file: choose one signer");
    expect_error_part(SRC "digest:\n  key_file: k.pem\n", "digest.key_file");
    expect_error_part(SRC "digest:\n  log_stream: x.digest\n", "must contain {stream}");
    expect_error_part(SRC "digest:\n  log_stream: \"{stream}:d\"\n", "without ':' or '*'");
    expect_error_part(SRC "digest:\n  log_group: aws/x\n", "reserved by AWS");
    expect_error_part(SRC "digest:\n  signing_algorithm: MD5\n", "is not one of ECDSA_SHA_256");
    expect_error_part(SRC "digest:\n  key_file: /etc/k.pem\n  signing_algorithm: ECDSA_SHA_256\n",
                      "applies to kms_key_id only");
    expect_error_part(SRC "digest:\n  kms_key_id: \"a b\"\n", "must be a KMS key id");
    expect_error_part(SRC "digest:\n  enabled: true\n", "needs kms_key_id or key_file");
    /* The daemon emits digests: enabled with a signer loads. */
    buf_init(&err, 4096);
    {
        static const char on[] = SRC "digest:\n  enabled: true\n  kms_key_id: k\n";
        assert_int_equal(config_load_buffer("t.yaml", on, strlen(on), &cfg, &err), HAF_OK);
    }
    assert_true(cfg->digest.enabled);
    config_free(cfg);
    buf_clean_up(&err);
    expect_error_part(SRC "digest:\n  intervals: 5\n", "digest.intervals");
}

/* A static data stream name with the form of a digest stream name in the digest streams' group
 * would be one stream with two roles (digest_name.h): refused. */
#define DIGEST_ON "digest:\n  enabled: true\n  kms_key_id: k\n"
static void
test_config_load_buffer_digest_stream_conflict(void **state)
{
    struct haf_config *cfg = NULL;
    struct buf err;

    (void)state;
    expect_error(SRC "    log_stream: a.log.digest\n" DIGEST_ON,
                 "t.yaml:4:17: sources[0].log_stream: \"a.log.digest\" has the form of a digest "
                 "stream name (digest.log_stream \"{stream}.digest\", in the same log group): "
                 "choose another name, digest.log_stream or digest.log_group");
    expect_error(SRC "    log_stream: digests/x\n" DIGEST_ON "  log_stream: \"digests/{stream}\"\n"
                     "  log_group: g\n",
                 "t.yaml:4:17: sources[0].log_stream: \"digests/x\" has the form of a digest "
                 "stream name (digest.log_stream \"digests/{stream}\", in the same log group): "
                 "choose another name, digest.log_stream or digest.log_group");
    expect_error(SRC DIGEST_ON "  log_stream: \"{stream}\"\n",
                 "t.yaml:7:15: digest.log_stream: \"{stream}\" names each digest stream like its "
                 "data stream: set digest.log_group to a group no source uses");
    expect_error(SRC DIGEST_ON "  log_stream: \"{stream}\"\n  log_group: g\n",
                 "t.yaml:7:15: digest.log_stream: \"{stream}\" names each digest stream like its "
                 "data stream: set digest.log_group to a group no source uses");
    /* Other groups, a name of another form, digests off: no conflict. */
    buf_init(&err, 4096);
    {
        static const char ok1[] =
            SRC "    log_stream: a.log.digest\n" DIGEST_ON "  log_group: /hsm/digests\n";
        static const char ok2[] = SRC "    log_stream: a.log\n" DIGEST_ON;
        static const char ok3[] = SRC "    log_stream: a.log.digest\n";
        static const char ok4[] = SRC DIGEST_ON "  log_stream: \"{stream}\"\n"
                                                "  log_group: /hsm/digests\n";
        assert_int_equal(config_load_buffer("t.yaml", ok1, strlen(ok1), &cfg, &err), HAF_OK);
        config_free(cfg);
        assert_int_equal(config_load_buffer("t.yaml", ok2, strlen(ok2), &cfg, &err), HAF_OK);
        config_free(cfg);
        assert_int_equal(config_load_buffer("t.yaml", ok3, strlen(ok3), &cfg, &err), HAF_OK);
        config_free(cfg);
        assert_int_equal(config_load_buffer("t.yaml", ok4, strlen(ok4), &cfg, &err), HAF_OK);
        config_free(cfg);
    }
    buf_clean_up(&err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_load_buffer_full_example),
        cmocka_unit_test(test_config_load_buffer_minimal_defaults),
        cmocka_unit_test(test_config_load_buffer_follow_symlinks),
        cmocka_unit_test(test_config_load_buffer_reports_every_error),
        cmocka_unit_test(test_config_load_buffer_failure_leaves_out_untouched),
        cmocka_unit_test(test_config_load_buffer_yaml_syntax_error),
        cmocka_unit_test(test_config_load_buffer_missing_or_empty_sources),
        cmocka_unit_test(test_config_load_buffer_wrong_types),
        cmocka_unit_test(test_config_load_buffer_booleans_yaml11),
        cmocka_unit_test(test_config_load_buffer_null_keeps_default),
        cmocka_unit_test(test_config_load_buffer_unknown_and_duplicate_keys),
        cmocka_unit_test(test_config_load_buffer_credentials_refused),
        cmocka_unit_test(test_config_load_buffer_credentials_values),
        cmocka_unit_test(test_config_load_buffer_endpoint_urls),
        cmocka_unit_test(test_config_load_buffer_proxy_urls),
        cmocka_unit_test(test_config_load_buffer_globs),
        cmocka_unit_test(test_config_load_buffer_log_groups_and_streams),
        cmocka_unit_test(test_config_load_buffer_batch_bounds),
        cmocka_unit_test(test_config_retention_valid_exact_set),
        cmocka_unit_test(test_config_load_buffer_other_values),
        cmocka_unit_test(test_config_load_buffer_log_group_settings),
        cmocka_unit_test(test_config_load_buffer_refuses_anchors_aliases_tags),
        cmocka_unit_test(test_config_load_buffer_limits),
        cmocka_unit_test(test_config_dump_every_key_and_round_trip),
        cmocka_unit_test(test_config_dump_defaults_and_tls_warning),
        cmocka_unit_test(test_config_load_file_checks),
        cmocka_unit_test(test_config_free_accepts_null),
        cmocka_unit_test(test_config_load_buffer_digest_section),
        cmocka_unit_test(test_config_load_buffer_health_section),
        cmocka_unit_test(test_config_load_buffer_digest_stream_conflict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

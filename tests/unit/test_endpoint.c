/*
 * test_endpoint.c: the CloudWatch Logs endpoint's sources and the rule each is held to
 * (issue 11 §1, §7, §10): the environment may not do what the config file may not, HTTPS://
 * is accepted and handed on in the form every later parser agrees on, and a refusal names its
 * source and reason without the userinfo of the URL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haf/endpoint.h"

static int
clear_env(void **state)
{
    (void)state;
    unsetenv("AWS_ENDPOINT_URL_LOGS");
    unsetenv("AWS_ENDPOINT_URL");
    return 0;
}

static void
expect_ok(const char *configured, const char *region, const char *want, const char *want_source)
{
    char *out = NULL;
    const char *source = NULL;
    struct buf why;

    buf_init(&why, 0);
    if (endpoint_resolve(configured, region, &out, &source, &why) != HAF_OK)
        fail_msg("refused: %s", buf_cstr(&why));
    assert_string_equal(out, want);
    assert_string_equal(source, want_source);
    assert_int_equal(why.len, 0);
    free(out);
    buf_clean_up(&why);
}

static void
expect_refused(const char *configured, const char *want_why)
{
    char *out = NULL;
    const char *source = NULL;
    struct buf why;

    buf_init(&why, 0);
    assert_int_equal(endpoint_resolve(configured, "us-east-1", &out, &source, &why), HAF_ECONFIG);
    assert_null(out);
    assert_null(source);
    assert_string_equal(buf_cstr(&why), want_why);
    buf_clean_up(&why);
}

static void
test_endpoint_resolve_sources_in_order(void **state)
{
    (void)state;
    expect_ok(NULL, "us-east-1", "https://logs.us-east-1.amazonaws.com/", "region");
    expect_ok(NULL, "cn-north-1", "https://logs.cn-north-1.amazonaws.com.cn/", "region");
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566", 1);
    expect_ok(NULL, "us-east-1", "http://127.0.0.1:4566/", "AWS_ENDPOINT_URL");
    setenv("AWS_ENDPOINT_URL_LOGS", "HTTPS://Logs.Example.com:8443/p", 1);
    expect_ok(NULL, NULL, "https://Logs.Example.com:8443/p", "AWS_ENDPOINT_URL_LOGS");
    expect_ok("http://[::1]:9", NULL, "http://[::1]:9/", "config");
    /* an empty variable is unset */
    setenv("AWS_ENDPOINT_URL_LOGS", "", 1);
    expect_ok(NULL, NULL, "http://127.0.0.1:4566/", "AWS_ENDPOINT_URL");
}

static void
test_endpoint_resolve_env_held_to_the_rule(void **state)
{
    static const char plain[] = "plain http:// is allowed only for loopback hosts (127.0.0.0/8, "
                                "::1, localhost); use https://";
    char want[512];

    (void)state;
    setenv("AWS_ENDPOINT_URL_LOGS", "http://localhost.attacker.example/", 1);
    snprintf(want, sizeof(want),
             "endpoint from AWS_ENDPOINT_URL_LOGS (http://localhost.attacker.example/): %s", plain);
    expect_refused(NULL, want);
    unsetenv("AWS_ENDPOINT_URL_LOGS");
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1.nip.io/", 1);
    snprintf(want, sizeof(want), "endpoint from AWS_ENDPOINT_URL (http://127.0.0.1.nip.io/): %s",
             plain);
    expect_refused(NULL, want);
    setenv("AWS_ENDPOINT_URL", "https://AKIAX:hunter2@logs.example.com/", 1);
    expect_refused(NULL, "endpoint from AWS_ENDPOINT_URL (https://***@logs.example.com/): user "
                         "information in the URL is not supported");
    setenv("AWS_ENDPOINT_URL", "https://host:70000", 1);
    expect_refused(NULL, "endpoint from AWS_ENDPOINT_URL (https://host:70000): invalid port in URL "
                         "(1..65535)");
    setenv("AWS_ENDPOINT_URL", "https://u:p@h\n<0>EMERG", 1);
    expect_refused(NULL, "endpoint from AWS_ENDPOINT_URL (https://***@h\\x0a<0>EMERG): invalid "
                         "character in URL host name");
    /* the config's value is held to the same rule (config.c refuses it first in practice) */
    expect_refused("http://logs.example.com",
                   "endpoint from config (http://logs.example.com): plain http:// is allowed only "
                   "for loopback hosts (127.0.0.0/8, ::1, localhost); use https://");
}

static void
test_endpoint_resolve_nothing(void **state)
{
    char *out = NULL;
    const char *source = NULL;
    struct buf why;

    (void)state;
    buf_init(&why, 0);
    assert_int_equal(endpoint_resolve(NULL, NULL, &out, &source, &why), HAF_ENOTFOUND);
    assert_int_equal(endpoint_resolve(NULL, "bad region!", &out, &source, &why), HAF_ECONFIG);
    assert_string_equal(buf_cstr(&why), "no CloudWatch Logs endpoint for that region name");
    assert_null(out);
    buf_clean_up(&why);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_endpoint_resolve_sources_in_order, clear_env),
        cmocka_unit_test_setup(test_endpoint_resolve_env_held_to_the_rule, clear_env),
        cmocka_unit_test_setup(test_endpoint_resolve_nothing, clear_env),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_url.c: the one URL parser and the one loopback rule (url.h).
 *
 * Accepted forms with every part asserted; every refusal with its exact sentence; the loopback
 * rule against the hosts that fooled the old prefix tests (localhost.attacker.example,
 * 127.0.0.1.nip.io, [::1]-lookalikes, hexadecimal and shortened IPv4); the endpoint rule; the
 * redaction of userinfo for logs; NUL bytes, control characters, non-ASCII bytes, huge inputs,
 * and the input cut at every byte boundary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haf/url.h"

static struct url
parse_ok(const char *s)
{
    struct url u;
    const char *why = NULL;

    if (url_parse(span_cstr(s), &u, &why) != HAF_OK)
        fail_msg("refused %s: %s", s, why);
    return u;
}

static void
assert_span(struct span s, const char *want)
{
    if (s.len != strlen(want) || (s.len && memcmp(s.p, want, s.len) != 0))
        fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

static void
expect_refused(struct span s, enum haf_err code, const char *msg)
{
    struct url u;
    const char *why = NULL;

    assert_int_equal(url_parse(s, &u, &why), code);
    assert_non_null(why);
    assert_string_equal(why, msg);
}

static void
test_url_parse_parts(void **state)
{
    struct url u;

    (void)state;
    u = parse_ok("https://logs.us-east-1.amazonaws.com");
    assert_string_equal(u.scheme, "https");
    assert_span(u.host, "logs.us-east-1.amazonaws.com");
    assert_span(u.authority, "logs.us-east-1.amazonaws.com");
    assert_int_equal(u.port, 0);
    assert_span(u.path, "");
    assert_false(u.has_userinfo);
    assert_false(u.ipv6);

    u = parse_ok("HTTPS://Logs.Example.com:8443/prefix/");
    assert_string_equal(u.scheme, "https");
    assert_true(url_scheme_is(&u, "https"));
    assert_span(u.host, "Logs.Example.com");
    assert_span(u.authority, "Logs.Example.com:8443");
    assert_int_equal(u.port, 8443);
    assert_span(u.path, "/prefix/");

    u = parse_ok("http://[::1]:65535/x");
    assert_true(u.ipv6);
    assert_span(u.host, "::1");
    assert_span(u.authority, "[::1]:65535");
    assert_int_equal(u.port, 65535);
    assert_span(u.path, "/x");

    u = parse_ok("socks5h://10.0.0.1:1");
    assert_string_equal(u.scheme, "socks5h");
    assert_int_equal(u.port, 1);
}

static void
test_url_parse_userinfo_detected(void **state)
{
    struct url u;

    (void)state;
    u = parse_ok("https://user:hunter2@logs.example.com/p");
    assert_true(u.has_userinfo);
    assert_span(u.userinfo, "user:hunter2");
    assert_span(u.host, "logs.example.com");
    assert_span(u.authority, "logs.example.com");
    /* the last '@' of the authority ends the userinfo */
    u = parse_ok("http://a@b:c@127.0.0.1:80");
    assert_span(u.userinfo, "a@b:c");
    assert_span(u.host, "127.0.0.1");
    /* an '@' in the path is not userinfo */
    u = parse_ok("https://host/a@b");
    assert_false(u.has_userinfo);
    u = parse_ok("http://@localhost");
    assert_true(u.has_userinfo);
    assert_span(u.userinfo, "");
}

static void
test_url_parse_refusals(void **state)
{
    static const struct {
        const char *url;
        const char *msg;
    } bad[] = {
        {"logs.example.com", URL_WHY_NOT_A_URL},
        {"", URL_WHY_NOT_A_URL},
        {"://host", URL_WHY_NOT_A_URL},
        {"https:/host", URL_WHY_NOT_A_URL},
        {"1http://host", URL_WHY_NOT_A_URL},
        {"h-t://host", URL_WHY_NOT_A_URL},
        {"abcdefghijklmnop://host", URL_WHY_NOT_A_URL}, /* a 16-letter scheme */
        {"https://", "URL has no valid host"},
        {"https://:443", "URL has no valid host"},
        {"https:///path", "URL has no valid host"},
        {"https://user@", "URL has no valid host"},
        {"https://host:0", "invalid port in URL (1..65535)"},
        {"https://host:65536", "invalid port in URL (1..65535)"},
        {"https://host:99999999999999999999", "invalid port in URL (1..65535)"},
        {"https://host:000443", "invalid port in URL (1..65535)"},
        {"https://host:", "invalid port in URL (1..65535)"},
        {"https://host:-1", "invalid port in URL (1..65535)"},
        {"https://host:44a", "URL must not have a query or fragment"},
        {"https://host?x=1", "URL must not have a query or fragment"},
        {"https://host#f", "URL must not have a query or fragment"},
        {"https://host/p?x=1", "URL path must not have a query, fragment, space, control "
                               "character or non-ASCII byte"},
        {"https://host/a b", "URL path must not have a query, fragment, space, control "
                             "character or non-ASCII byte"},
        {"https://host/a\tb", "URL path must not have a query, fragment, space, control "
                              "character or non-ASCII byte"},
        {"https://host/\xc3\xa9", "URL path must not have a query, fragment, space, control "
                                  "character or non-ASCII byte"},
        {"https://ho st", "invalid character in URL host name"},
        {"https://h\xc3\xa9st", "invalid character in URL host name"},
        {"https://host\r\nX-Evil: 1", "invalid character in URL host name"},
        {"https://[::1", "unterminated [IPv6 address] in URL"},
        {"https://[::1/]", "unterminated [IPv6 address] in URL"},
        {"https://[zz]", "invalid IPv6 address in URL"},
        {"https://[]", "invalid IPv6 address in URL"},
        {"https://[::1::2]", "invalid IPv6 address in URL"},
        {"https://[fe80::1%25eth0]", "invalid IPv6 address in URL"},
        {"https://[::1]x", "URL must not have a query or fragment"},
        {"https://us er@host", "invalid character in URL user information"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct url u;
        const char *why = NULL;
        if (url_parse(span_cstr(bad[i].url), &u, &why) != HAF_EPARSE)
            fail_msg("accepted %s", bad[i].url);
        if (why == NULL || strcmp(why, bad[i].msg) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", bad[i].url, why ? why : "(null)", bad[i].msg);
    }
}

static void
test_url_parse_nul_bytes(void **state)
{
    static const char host_nul[] = "http://127.0.0.1\0.attacker.example/";
    static const char path_nul[] = "https://host/a\0b";
    static const char user_nul[] = "https://u\0p@host/";

    (void)state;
    expect_refused(span_make(host_nul, sizeof(host_nul) - 1), HAF_EPARSE,
                   "invalid character in URL host name");
    expect_refused(span_make(path_nul, sizeof(path_nul) - 1), HAF_EPARSE,
                   "URL path must not have a query, fragment, space, control character or "
                   "non-ASCII byte");
    expect_refused(span_make(user_nul, sizeof(user_nul) - 1), HAF_EPARSE,
                   "invalid character in URL user information");
}

static void
test_url_parse_huge(void **state)
{
    size_t n = URL_MAX_BYTES + 1;
    char *s = malloc(n + 1);
    struct url u;

    (void)state;
    assert_non_null(s);
    memcpy(s, "https://h/", 10);
    memset(s + 10, 'a', n - 10);
    s[n] = '\0';
    expect_refused(span_make(s, n), HAF_ETOOLONG, "URL longer than 4096 bytes");
    /* exactly at the limit is fine */
    assert_int_equal(url_parse(span_make(s, URL_MAX_BYTES), &u, NULL), HAF_OK);
    assert_int_equal(u.path.len, URL_MAX_BYTES - 9);
    /* a host past 253 bytes */
    memset(s + 8, 'a', 254);
    s[8 + 254] = '\0';
    expect_refused(span_cstr(s), HAF_EPARSE, "URL has no valid host");
    s[8 + 253] = '\0';
    assert_int_equal(url_parse(span_cstr(s), &u, NULL), HAF_OK);
    free(s);
}

/* Every prefix of a valid URL either parses or is refused with a reason; never a crash. */
static void
test_url_parse_every_prefix(void **state)
{
    static const char s[] = "HTTPS://user:pw@[2001:db8::1]:8443/a/b";

    (void)state;
    for (size_t n = 0; n <= sizeof(s) - 1; n++) {
        struct url u;
        const char *why = NULL;
        enum haf_err e = url_parse(span_make(s, n), &u, &why);
        if (e != HAF_OK) {
            assert_non_null(why);
        } else if (n >= sizeof("HTTPS://user:pw@") - 1) {
            /* past the '@', only a complete [IPv6] literal makes a URL again */
            assert_true(n >= sizeof("HTTPS://user:pw@[2001:db8::1]") - 1);
            assert_true(u.has_userinfo);
            assert_true(u.ipv6);
        }
    }
}

static bool
loopback(const char *s)
{
    struct url u = parse_ok(s);
    return url_host_is_loopback(&u);
}

static void
test_url_host_is_loopback_exact(void **state)
{
    static const char *const yes[] = {
        "http://127.0.0.1",     "http://127.0.0.1:4566/",     "http://127.255.255.255",
        "http://127.1.2.3/",    "http://localhost",           "http://LocalHost:8080",
        "http://[::1]",         "http://[0:0:0:0:0:0:0:1]:1", "HTTP://LOCALHOST/x",
        "http://127.000.0.001",
    };
    static const char *const no[] = {
        "http://localhost.attacker.example/",
        "http://localhost.",
        "http://localhostx",
        "http://xlocalhost",
        "http://127.0.0.1.nip.io/",
        "http://127.0.0.1.attacker.example",
        "http://127.evil.com",
        "http://127.0.0",
        "http://127.0.0.1.1",
        "http://127.0.0.256",
        "http://1270.0.0.1",
        "http://0127.0.0.1",
        "http://128.0.0.1",
        "http://0x7f.0.0.1",
        "http://2130706433",
        "http://127.1",
        "http://[::2]",
        "http://[::ffff:127.0.0.1]",
        "http://[::]",
        "http://169.254.169.254",
        "http://10.0.0.1",
        "http://0.0.0.0",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!loopback(yes[i]))
            fail_msg("%s: not loopback", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (loopback(no[i]))
            fail_msg("%s: taken for loopback", no[i]);
}

static void
expect_endpoint(const char *s, enum haf_err code, const char *msg)
{
    struct url u = parse_ok(s);
    const char *why = NULL;

    assert_int_equal(url_check_endpoint(&u, &why), code);
    if (msg)
        assert_string_equal(why, msg);
}

static void
test_url_check_endpoint_rules(void **state)
{
    static const char plain[] = "plain http:// is allowed only for loopback hosts (127.0.0.0/8, "
                                "::1, localhost); use https://";

    (void)state;
    expect_endpoint("https://logs.us-east-1.amazonaws.com", HAF_OK, NULL);
    expect_endpoint("HTTPS://logs.us-east-1.amazonaws.com/", HAF_OK, NULL);
    expect_endpoint("http://127.0.0.1:4566", HAF_OK, NULL);
    expect_endpoint("Http://[::1]:4566", HAF_OK, NULL);
    expect_endpoint("http://localhost.attacker.example/", HAF_ECONFIG, plain);
    expect_endpoint("http://127.0.0.1.nip.io/", HAF_ECONFIG, plain);
    expect_endpoint("http://logs.example.com", HAF_ECONFIG, plain);
    expect_endpoint("ftp://logs.example.com", HAF_ECONFIG, "unsupported URL scheme (use https)");
    expect_endpoint("socks5://127.0.0.1:1080", HAF_ECONFIG, "unsupported URL scheme (use https)");
    expect_endpoint("https://AKIA:secret@logs.example.com", HAF_ECONFIG,
                    "user information in the URL is not supported");
    expect_endpoint("http://u:p@127.0.0.1:1", HAF_ECONFIG,
                    "user information in the URL is not supported");
}

static void
expect_redacted(struct span in, const char *want)
{
    struct buf out;

    buf_init(&out, 0);
    assert_int_equal(url_redact(in, &out), HAF_OK);
    assert_string_equal(buf_cstr(&out), want);
    buf_clean_up(&out);
}

static void
test_url_redact_userinfo(void **state)
{
    static const char nul[] = "http://u:p@h/\0x";

    (void)state;
    expect_redacted(span_cstr("https://AKIA:hunter2@logs.example.com/p"),
                    "https://***@logs.example.com/p");
    expect_redacted(span_cstr("http://a@b:c@127.0.0.1:1"), "http://***@127.0.0.1:1");
    expect_redacted(span_cstr("https://logs.example.com/a@b"), "https://logs.example.com/a@b");
    expect_redacted(span_cstr("https://logs.example.com"), "https://logs.example.com");
    /* malformed URLs are redacted all the same */
    expect_redacted(span_cstr("weird://us er:pw@host:abc?q"), "weird://***@host:abc?q");
    expect_redacted(span_cstr("no scheme user:pw@host"), "no scheme user:pw@host");
    expect_redacted(span_cstr("https://x:y@"), "https://***@");
    /* control characters, backslash and non-ASCII bytes are escaped */
    expect_redacted(span_cstr("http://h/\n<0>x\\\xff"), "http://h/\\x0a<0>x\\x5c\\xff");
    expect_redacted(span_make(nul, sizeof(nul) - 1), "http://***@h/\\x00x");
    expect_redacted(span_make(NULL, 0), "");
}

static void
test_url_redact_huge(void **state)
{
    size_t n = URL_MAX_BYTES * 2;
    char *s = malloc(n);
    struct buf out;

    (void)state;
    assert_non_null(s);
    memcpy(s, "https://", 8);
    memset(s + 8, 'u', n - 8);
    s[n - 10] = '@'; /* the userinfo runs past the cut: none of it is shown */
    buf_init(&out, 0);
    assert_int_equal(url_redact(span_make(s, n), &out), HAF_OK);
    assert_string_equal(buf_cstr(&out), "https://***@...");
    buf_reset(&out);
    s[n - 10] = 'u';
    assert_int_equal(url_redact(span_make(s, n), &out), HAF_OK);
    assert_int_equal(out.len, URL_MAX_BYTES + 3);
    assert_memory_equal(out.p + URL_MAX_BYTES, "...", 3);
    buf_clean_up(&out);
    free(s);
}

static void
test_url_format_canonical(void **state)
{
    struct url u;
    struct buf out;

    (void)state;
    buf_init(&out, 0);
    u = parse_ok("HTTPS://u:p@Logs.Example.com:8443");
    assert_int_equal(url_format(&u, &out), HAF_OK);
    assert_string_equal(buf_cstr(&out), "https://Logs.Example.com:8443/");
    buf_reset(&out);
    u = parse_ok("http://[::1]:1/a/b");
    assert_int_equal(url_format(&u, &out), HAF_OK);
    assert_string_equal(buf_cstr(&out), "http://[::1]:1/a/b");
    buf_clean_up(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse_parts),
        cmocka_unit_test(test_url_parse_userinfo_detected),
        cmocka_unit_test(test_url_parse_refusals),
        cmocka_unit_test(test_url_parse_nul_bytes),
        cmocka_unit_test(test_url_parse_huge),
        cmocka_unit_test(test_url_parse_every_prefix),
        cmocka_unit_test(test_url_host_is_loopback_exact),
        cmocka_unit_test(test_url_check_endpoint_rules),
        cmocka_unit_test(test_url_redact_userinfo),
        cmocka_unit_test(test_url_redact_huge),
        cmocka_unit_test(test_url_format_canonical),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_sigv4.c: AWS Signature V4, stage by stage against the classic AWS test suite
 * (tests/data/sigv4/, one cmocka test per case: canonical request, string to sign, signature and
 * Authorization checked separately, then the whole sigv4_sign), the derived CloudWatch Logs
 * vector, refusal of malformed input with exact codes, the key cache, and a byte-for-byte
 * comparison with botocore's SigV4Auth (tests/tools/sigv4_botocore.py, skipped without python3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "haf/sigv4.h"
#include "testlib.h"

#define AKID   "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

/* ---- the suite's .req format ---- */

struct raw_req {
    char *text; /* owned; the pieces below point into it */
    char method[16];
    char *path;
    char *query;
    struct sigv4_header headers[32];
    size_t n_headers;
    const char *body;
    size_t body_len;
};

/* "METHOD URI HTTP/1.1\nName:value\n...\n\nbody" (the URI may contain spaces: get-space). */
static void
raw_req_parse(const char *rel, struct raw_req *r)
{
    size_t len;
    char *p, *eol, *sp, *proto, *q;

    memset(r, 0, sizeof(*r));
    r->text = testlib_read_data(rel, &len);
    p = r->text;
    eol = strchr(p, '\n');
    assert_non_null(eol);
    *eol = '\0';
    sp = strchr(p, ' ');
    assert_non_null(sp);
    assert_true((size_t)(sp - p) < sizeof(r->method));
    memcpy(r->method, p, (size_t)(sp - p));
    proto = strstr(sp + 1, " HTTP/1.1");
    assert_non_null(proto);
    *proto = '\0';
    r->path = sp + 1;
    q = strchr(r->path, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }
    p = eol + 1;
    while (*p != '\0' && *p != '\n') {
        char *colon;
        eol = strchr(p, '\n');
        if (eol)
            *eol = '\0';
        colon = strchr(p, ':');
        assert_non_null(colon);
        *colon = '\0';
        assert_true(r->n_headers < 32);
        r->headers[r->n_headers].name = p;
        r->headers[r->n_headers].value = colon + 1;
        r->n_headers++;
        if (eol == NULL) {
            p = colon + 1 + strlen(colon + 1);
            break;
        }
        p = eol + 1;
    }
    if (*p == '\n') {
        r->body = p + 1;
        r->body_len = len - (size_t)(r->body - r->text);
    }
}

static struct sigv4_request
raw_req_view(const struct raw_req *r)
{
    return (struct sigv4_request){.method = r->method,
                                  .path = r->path,
                                  .query = r->query,
                                  .headers = r->headers,
                                  .n_headers = r->n_headers,
                                  .body = r->body,
                                  .body_len = r->body_len};
}

static char *
read_case_file(const char *name, const char *ext)
{
    char rel[512];
    const char *base = strrchr(name, '/');

    snprintf(rel, sizeof(rel), "sigv4/%s/%s.%s", name, base ? base + 1 : name, ext);
    return testlib_read_data(rel, NULL);
}

/* Line `n` (0-based) of a string, copied. */
static void
nth_line(const char *s, int n, char *out, size_t cap)
{
    const char *e;

    for (; n > 0; n--) {
        s = strchr(s, '\n');
        assert_non_null(s);
        s++;
    }
    e = strchr(s, '\n');
    if (e == NULL)
        e = s + strlen(s);
    assert_true((size_t)(e - s) < cap);
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = '\0';
}

static time_t
amz_date_to_time(const char *d)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    assert_int_equal(sscanf(d, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

/* ---- one test per suite case ---- */

static void
run_suite_case(void **state)
{
    const char *name = *state;
    struct raw_req r;
    struct sigv4_request req;
    struct buf creq, sh, sts;
    char *want_creq = read_case_file(name, "creq");
    char *want_sts = read_case_file(name, "sts");
    char *want_authz = read_case_file(name, "authz");
    char rel[512], amz_date[32], scope[128], region[64], service[64], hex[65], authz[1024];
    uint8_t key[32];
    const char *base = strrchr(name, '/');

    snprintf(rel, sizeof(rel), "sigv4/%s/%s.req", name, base ? base + 1 : name);
    raw_req_parse(rel, &r);
    req = raw_req_view(&r);
    buf_init(&creq, 0);
    buf_init(&sh, 0);
    buf_init(&sts, 0);

    /* Stage 1: the canonical request. */
    assert_int_equal(sigv4_canonical_request(&req, &creq, &sh), HAF_OK);
    assert_string_equal(buf_cstr(&creq), want_creq);

    /* Stage 2: the string to sign, with the date and scope the suite used. */
    nth_line(want_sts, 1, amz_date, sizeof(amz_date));
    nth_line(want_sts, 2, scope, sizeof(scope));
    assert_int_equal(sscanf(scope, "%*8[0-9]/%63[^/]/%63[^/]/aws4_request", region, service), 2);
    assert_int_equal(sigv4_string_to_sign(amz_date, region, service, buf_span(&creq), &sts),
                     HAF_OK);
    assert_string_equal(buf_cstr(&sts), want_sts);

    /* Stage 3 and 4: the signing key, the signature and the Authorization value. */
    scope[8] = '\0';
    assert_int_equal(sigv4_signing_key(SECRET, scope, region, service, key), HAF_OK);
    assert_int_equal(sigv4_signature(key, buf_span(&sts), hex), HAF_OK);
    snprintf(authz, sizeof(authz),
             "AWS4-HMAC-SHA256 Credential=" AKID "/%s/%s/%s/aws4_request, SignedHeaders=%s, "
             "Signature=%s",
             scope, region, service, buf_cstr(&sh), hex);
    assert_string_equal(authz, want_authz);

    /* All in one: sigv4_sign adds X-Amz-Date (and the token) itself. */
    {
        struct sigv4_header hs[32];
        struct sigv4_request req2 = req;
        struct sigv4_creds creds = {.access_key_id = AKID, .secret_access_key = SECRET};
        struct sigv4_signer *s = sigv4_signer_new();
        struct sigv4_result res;
        bool had_date = false;
        size_t n = 0;

        assert_non_null(s);
        for (size_t i = 0; i < r.n_headers; i++) {
            if (strcasecmp(r.headers[i].name, "X-Amz-Date") == 0)
                had_date = true;
            else if (strcasecmp(r.headers[i].name, "X-Amz-Security-Token") == 0)
                creds.session_token = r.headers[i].value;
            else
                hs[n++] = r.headers[i];
        }
        req2.headers = hs;
        req2.n_headers = n;
        if (had_date) {
            assert_int_equal(
                sigv4_sign(s, &creds, region, service, amz_date_to_time(amz_date), &req2, &res),
                HAF_OK);
            assert_string_equal(res.amz_date, amz_date);
            assert_string_equal(buf_cstr(&res.authorization), want_authz);
            sigv4_result_clean_up(&res);
        }
        sigv4_signer_free(s);
    }

    buf_clean_up(&creq);
    buf_clean_up(&sh);
    buf_clean_up(&sts);
    free(want_creq);
    free(want_sts);
    free(want_authz);
    free(r.text);
}

/* ---- single stages ---- */

static void
test_sigv4_amz_date_formats_utc(void **state)
{
    char d[17];

    (void)state;
    sigv4_amz_date(1440938160, d);
    assert_string_equal(d, "20150830T123600Z");
    sigv4_amz_date(0, d);
    assert_string_equal(d, "19700101T000000Z");
    sigv4_amz_date(951782400, d); /* 2000-02-29, a leap day */
    assert_string_equal(d, "20000229T000000Z");
    sigv4_amz_date(253402300799, d); /* the last second of year 9999 */
    assert_string_equal(d, "99991231T235959Z");
}

static void
test_sigv4_sha256_hex_empty_and_abc(void **state)
{
    char hex[65];

    (void)state;
    assert_int_equal(sigv4_sha256_hex("", 0, hex), HAF_OK);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(sigv4_sha256_hex("abc", 3, hex), HAF_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
hex32(const uint8_t k[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", k[i]);
}

static void
test_sigv4_signing_key_matches_reference(void **state)
{
    uint8_t k[32];
    char hex[65];

    (void)state;
    assert_int_equal(sigv4_signing_key(SECRET, "20150830", "us-east-1", "service", k), HAF_OK);
    hex32(k, hex);
    assert_string_equal(hex, "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75");
    assert_int_equal(sigv4_signing_key(SECRET, "20150830", "us-east-1", "logs", k), HAF_OK);
    hex32(k, hex);
    assert_string_equal(hex, "e331900b4b6563bb0198f704189816ba9712a0a77fbd01a6d6c3a2550a853794");
    /* The IAM guide's derivation example (iam, us-east-1, 20120215). */
    assert_int_equal(sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                       "us-east-1", "iam", k),
                     HAF_OK);
    hex32(k, hex);
    assert_string_equal(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

static void
test_sigv4_signing_key_rejects_bad_scope(void **state)
{
    uint8_t k[32];

    (void)state;
    assert_int_equal(sigv4_signing_key("", "20150830", "us-east-1", "logs", k), HAF_EINVAL);
    assert_int_equal(sigv4_signing_key(SECRET, "2015083", "us-east-1", "logs", k), HAF_EINVAL);
    assert_int_equal(sigv4_signing_key(SECRET, "2015083x", "us-east-1", "logs", k), HAF_EINVAL);
    assert_int_equal(sigv4_signing_key(SECRET, "20150830", "us/east", "logs", k), HAF_EINVAL);
    assert_int_equal(sigv4_signing_key(SECRET, "20150830", "", "logs", k), HAF_EINVAL);
    assert_int_equal(sigv4_signing_key(SECRET, "20150830", "us-east-1", "lo\ngs", k), HAF_EINVAL);
}

static void
test_sigv4_string_to_sign_rejects_bad_date(void **state)
{
    struct buf out;

    (void)state;
    buf_init(&out, 0);
    assert_int_equal(
        sigv4_string_to_sign("20150830T123600", "us-east-1", "logs", SPAN_LIT("x"), &out),
        HAF_EINVAL);
    assert_int_equal(
        sigv4_string_to_sign("20150830X123600Z", "us-east-1", "logs", SPAN_LIT("x"), &out),
        HAF_EINVAL);
    assert_int_equal(
        sigv4_string_to_sign("2015083aT123600Z", "us-east-1", "logs", SPAN_LIT("x"), &out),
        HAF_EINVAL);
    assert_int_equal(sigv4_string_to_sign(NULL, "us-east-1", "logs", SPAN_LIT("x"), &out),
                     HAF_EINVAL);
    assert_int_equal(out.len, 0);
    buf_clean_up(&out);
}

/* A one-header-set request against host h. */
static enum haf_err
creq_of(const struct sigv4_header *h, size_t n, const char *path, const char *query,
        struct buf *out, struct buf *sh)
{
    struct sigv4_request req = {
        .method = "GET", .path = path, .query = query, .headers = h, .n_headers = n};

    return sigv4_canonical_request(&req, out, sh);
}

static void
test_sigv4_canonical_request_refuses_crlf_in_value(void **state)
{
    struct sigv4_header h[] = {{"Host", "example.amazonaws.com"}, {"X-A", "ok\r\nX-B: evil"}};
    struct sigv4_header h2[] = {{"Host", "example.amazonaws.com"}, {"X-A", "ok\nmore"}};
    struct buf out, sh;

    (void)state;
    buf_init(&out, 0);
    buf_init(&sh, 0);
    assert_int_equal(buf_adds(&out, "keep"), HAF_OK);
    assert_int_equal(creq_of(h, 2, "/", NULL, &out, &sh), HAF_EINVAL);
    assert_int_equal(creq_of(h2, 2, "/", NULL, &out, &sh), HAF_EINVAL);
    assert_string_equal(buf_cstr(&out), "keep"); /* untouched on failure */
    buf_clean_up(&out);
    buf_clean_up(&sh);
}

static void
test_sigv4_canonical_request_refuses_bad_header_names(void **state)
{
    struct sigv4_header sp[] = {{"Host", "h"}, {"X A", "v"}};
    struct sigv4_header colon[] = {{"Host", "h"}, {"X:A", "v"}};
    struct sigv4_header empty[] = {{"Host", "h"}, {"", "v"}};
    struct sigv4_header utf8[] = {{"Host", "h"}, {"X-\xc3\xa9", "v"}};
    struct sigv4_header nohost[] = {{"X-A", "v"}};
    struct buf out, sh;

    (void)state;
    buf_init(&out, 0);
    buf_init(&sh, 0);
    assert_int_equal(creq_of(sp, 2, "/", NULL, &out, &sh), HAF_EINVAL);
    assert_int_equal(creq_of(colon, 2, "/", NULL, &out, &sh), HAF_EINVAL);
    assert_int_equal(creq_of(empty, 2, "/", NULL, &out, &sh), HAF_EINVAL);
    assert_int_equal(creq_of(utf8, 2, "/", NULL, &out, &sh), HAF_EINVAL);
    assert_int_equal(creq_of(nohost, 1, "/", NULL, &out, &sh), HAF_EINVAL);
    assert_int_equal(creq_of(NULL, 0, "/", NULL, &out, &sh), HAF_EINVAL);
    buf_clean_up(&out);
    buf_clean_up(&sh);
}

static void
test_sigv4_canonical_request_skips_hop_by_hop_headers(void **state)
{
    struct sigv4_header h[] = {{"User-Agent", "haf/1"},  {"Host", "h"},
                               {"Connection", "close"},  {"X-Amzn-Trace-Id", "t"},
                               {"Authorization", "old"}, {"Expect", "100-continue"},
                               {"X-Tab", "\ta\t\t b \t"}};
    struct buf out, sh;

    (void)state;
    buf_init(&out, 0);
    buf_init(&sh, 0);
    assert_int_equal(creq_of(h, 7, "", NULL, &out, &sh), HAF_OK);
    assert_string_equal(buf_cstr(&sh), "host;x-tab");
    assert_string_equal(buf_cstr(&out), "GET\n/\n\nhost:h\nx-tab:a b\n\nhost;x-tab\n"
                                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
                                        "7852b855");
    buf_clean_up(&out);
    buf_clean_up(&sh);
}

static void
test_sigv4_canonical_request_encodes_path_and_query(void **state)
{
    struct sigv4_header h[] = {{"Host", "h"}};
    struct buf out, sh;

    (void)state;
    buf_init(&out, 0);
    buf_init(&sh, 0);
    /* An already-encoded path is encoded again (not S3); dot segments go; '..' stops at root. */
    assert_int_equal(
        creq_of(h, 1, "/a%20b/../../c d/./e+f/", "b=2&a=%41%2x&&c&a=1+1&%E1%88%B4", &out, &sh),
        HAF_OK);
    assert_string_equal(buf_cstr(&out), "GET\n/c%20d/e%2Bf/\n%E1%88%B4=&a=1%2B1&a=A%252x&b=2&c=\n"
                                        "host:h\n\nhost\n"
                                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
                                        "7852b855");
    /* A name that is a prefix of another sorts first ("a" before "a-b"), by name then value. */
    assert_int_equal(creq_of(h, 1, "/", "a-b=0&a=1", &out, &sh), HAF_OK);
    assert_non_null(strstr(buf_cstr(&out), "\na=1&a-b=0\n"));
    /* Empty names and values are kept as pairs; empty pieces between '&' are dropped. */
    assert_int_equal(creq_of(h, 1, "/", "=&&=", &out, &sh), HAF_OK);
    assert_non_null(strstr(buf_cstr(&out), "\n/\n=&=\nhost:h\n"));
    buf_clean_up(&out);
    buf_clean_up(&sh);
}

static void
test_sigv4_canonical_request_refuses_too_many_segments(void **state)
{
    struct sigv4_header h[] = {{"Host", "h"}};
    struct buf out, sh;
    char *path = malloc(2 * 300 + 1);

    (void)state;
    for (int i = 0; i < 300; i++)
        memcpy(path + 2 * i, "/a", 2);
    path[600] = '\0';
    buf_init(&out, 0);
    buf_init(&sh, 0);
    assert_int_equal(creq_of(h, 1, path, NULL, &out, &sh), HAF_ETOOLONG);
    buf_clean_up(&out);
    buf_clean_up(&sh);
    free(path);
}

/* ---- sigv4_sign ---- */

static const char cwl_body[] = "{\"logGroupName\":\"my-group\",\"logStreamName\":\"my-stream\","
                               "\"logEvents\":[{\"timestamp\":1440938160000,\"message\":\"hello "
                               "world\"}]}";

static struct sigv4_request
cwl_request(const struct sigv4_header *h, size_t n)
{
    return (struct sigv4_request){.method = "POST",
                                  .path = "/",
                                  .headers = h,
                                  .n_headers = n,
                                  .body = cwl_body,
                                  .body_len = sizeof(cwl_body) - 1};
}

static const struct sigv4_header cwl_headers[] = {
    {"Content-Type", "application/x-amz-json-1.1"},
    {"Host", "logs.us-east-1.amazonaws.com"},
    {"X-Amz-Target", "Logs_20140328.PutLogEvents"},
};

static void
test_sigv4_sign_cwl_vector_with_and_without_token(void **state)
{
    struct sigv4_signer *s = sigv4_signer_new();
    struct sigv4_creds c = {.access_key_id = AKID, .secret_access_key = SECRET};
    struct sigv4_request req = cwl_request(cwl_headers, 3);
    struct sigv4_result r;

    (void)state;
    assert_int_equal(sigv4_sign(s, &c, "us-east-1", "logs", 1440938160, &req, &r), HAF_OK);
    assert_string_equal(
        buf_cstr(&r.authorization),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/logs/"
        "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
        "Signature=61fb50bdfb6dc8ecf8795b171fbad9d41d99a91cc3ef3724d0aaf42255dbccd7");
    sigv4_result_clean_up(&r);
    c.session_token = "";
    assert_int_equal(sigv4_sign(s, &c, "us-east-1", "logs", 1440938160, &req, &r), HAF_OK);
    assert_non_null(strstr(buf_cstr(&r.authorization), "Signature=61fb50bd"));
    sigv4_result_clean_up(&r);
    c.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    assert_int_equal(sigv4_sign(s, &c, "us-east-1", "logs", 1440938160, &req, &r), HAF_OK);
    assert_string_equal(r.amz_date, "20150830T123600Z");
    assert_string_equal(
        buf_cstr(&r.authorization),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/logs/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
        "Signature=13e81eb76bd3564f24280b5b8f09a18d7aa75981fb14cd9c3c9e3402aa4ccfba");
    sigv4_result_clean_up(&r);
    sigv4_result_clean_up(&r); /* idempotent */
    sigv4_signer_free(s);
}

/* The cache must follow every input of the key: day, region, service and secret. */
static void
test_sigv4_sign_key_cache_follows_inputs(void **state)
{
    struct sigv4_signer *s = sigv4_signer_new(), *fresh;
    struct sigv4_creds c = {.access_key_id = AKID, .secret_access_key = SECRET};
    struct sigv4_request req = cwl_request(cwl_headers, 3);
    struct {
        const char *secret, *region, *service;
        time_t t;
    } steps[] = {
        {SECRET, "us-east-1", "logs", 1440938160},
        {SECRET, "us-east-1", "logs", 1440938161},
        {SECRET, "us-east-1", "logs", 1440938160 + 86400},
        {SECRET, "eu-west-1", "logs", 1440938160},
        {SECRET, "eu-west-1", "sts", 1440938160},
        {"otherSecret", "eu-west-1", "sts", 1440938160},
        {SECRET, "eu-west-1", "sts", 1440938160},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct sigv4_result a, b;

        c.secret_access_key = steps[i].secret;
        fresh = sigv4_signer_new();
        assert_int_equal(sigv4_sign(s, &c, steps[i].region, steps[i].service, steps[i].t, &req, &a),
                         HAF_OK);
        assert_int_equal(
            sigv4_sign(fresh, &c, steps[i].region, steps[i].service, steps[i].t, &req, &b), HAF_OK);
        assert_string_equal(buf_cstr(&a.authorization), buf_cstr(&b.authorization));
        sigv4_result_clean_up(&a);
        sigv4_result_clean_up(&b);
        sigv4_signer_free(fresh);
    }
    sigv4_signer_free(s);
}

static void
test_sigv4_sign_refuses_bad_input(void **state)
{
    struct sigv4_signer *s = sigv4_signer_new();
    struct sigv4_creds c = {.access_key_id = AKID, .secret_access_key = SECRET};
    struct sigv4_header with_date[] = {{"Host", "h"}, {"x-amz-DATE", "20150830T123600Z"}};
    struct sigv4_header with_tok[] = {{"Host", "h"}, {"X-Amz-Security-Token", "t"}};
    struct sigv4_header with_auth[] = {{"Host", "h"}, {"authorization", "x"}};
    struct sigv4_request req = cwl_request(cwl_headers, 3);
    struct sigv4_result r;

    (void)state;
    req.headers = with_date;
    req.n_headers = 2;
    assert_int_equal(sigv4_sign(s, &c, "us-east-1", "logs", 0, &req, &r), HAF_EINVAL);
    req.headers = with_tok;
    assert_int_equal(sigv4_sign(s, &c, "us-east-1", "logs", 0, &req, &r), HAF_EINVAL);
    req.headers = with_auth;
    assert_int_equal(sigv4_sign(s, &c, "us-east-1", "logs", 0, &req, &r), HAF_EINVAL);
    req = cwl_request(cwl_headers, 3);
    c.access_key_id = "AKID/x";
    assert_int_equal(sigv4_sign(s, &c, "us-east-1", "logs", 0, &req, &r), HAF_EINVAL);
    c.access_key_id = "AKID, Signature=x";
    assert_int_equal(sigv4_sign(s, &c, "us-east-1", "logs", 0, &req, &r), HAF_EINVAL);
    c.access_key_id = "";
    assert_int_equal(sigv4_sign(s, &c, "us-east-1", "logs", 0, &req, &r), HAF_EINVAL);
    c.access_key_id = AKID;
    c.secret_access_key = "";
    assert_int_equal(sigv4_sign(s, &c, "us-east-1", "logs", 0, &req, &r), HAF_EINVAL);
    c.secret_access_key = SECRET;
    c.session_token = "tok\r\nX-Evil: 1";
    assert_int_equal(sigv4_sign(s, &c, "us-east-1", "logs", 0, &req, &r), HAF_EINVAL);
    c.session_token = NULL;
    assert_int_equal(sigv4_sign(s, &c, "us east 1", "logs", 0, &req, &r), HAF_EINVAL);
    assert_int_equal(sigv4_sign(s, &c, "us-east-1", NULL, 0, &req, &r), HAF_EINVAL);
    assert_int_equal(sigv4_sign(NULL, &c, "us-east-1", "logs", 0, &req, &r), HAF_EINVAL);
    sigv4_signer_free(s);
    sigv4_signer_free(NULL);
}

/* ---- botocore cross-check ---- */

struct xreq {
    const char *region, *service, *host, *target, *token, *query, *extra_name, *extra_value;
    const char *body;
    time_t t;
};

static void
test_sigv4_sign_matches_botocore(void **state)
{
    const char *src = getenv("HAF_SOURCE_DIR");
    char *dir, spec_path[4200], cmd[8800], line[2048];
    struct xreq xs[] = {
        {"us-east-1", "logs", "logs.us-east-1.amazonaws.com", "Logs_20140328.PutLogEvents", NULL,
         NULL, NULL, NULL,
         "{\"logGroupName\":\"/cloudhsm/audit\",\"logStreamName\":\"h\xc3\xb4te/\xe6\x97\xa5\xe6"
         "\x9c\xac\",\"logEvents\":[{\"timestamp\":1516815865013,\"message\":\"caf\xc3\xa9 \xe2"
         "\x9c\x93 \xf0\x9f\x94\x90 \\u0000 \\\"q\\\"\"}]}",
         1516815900},
        {"us-east-1", "logs", "logs.us-east-1.amazonaws.com", "Logs_20140328.PutLogEvents",
         "FwoGZXIvYXdzEJr//////////wEaDHhKb+/=tok\xc3\xa9n", NULL, NULL, NULL,
         "{\"logEvents\":[{\"message\":\"\xe2\x80\xa8line\\nsep\",\"timestamp\":1}]}", 1700000000},
        {"eu-west-1", "logs", "logs.eu-west-1.amazonaws.com", "Logs_20140328.CreateLogStream",
         "short", NULL, "User-Agent", "haf/0.1 curl", "{}", 1767225599},
        {"ap-southeast-2", "logs", "127.0.0.1:4566", "Logs_20140328.DescribeLogStreams", NULL,
         "b=2&a=1", "X-Custom", "  spaced   out  value ", "", 951782400},
        {"us-east-1", "sts", "sts.us-east-1.amazonaws.com", NULL, NULL, NULL, "Content-Type",
         "application/x-www-form-urlencoded; charset=utf-8",
         "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr", 86399},
    };
    size_t n = sizeof(xs) / sizeof(xs[0]);
    FILE *f, *p;
    int rc;

    (void)state;
    if (src == NULL)
        skip();
    dir = testlib_mkdtemp();
    snprintf(spec_path, sizeof(spec_path), "%s/spec.jsonl", dir);
    f = fopen(spec_path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object(), *hs = json_array();
        char url[512], *txt;

        snprintf(url, sizeof(url), "%s://%s/%s%s", xs[i].host[0] == '1' ? "http" : "https",
                 xs[i].host, xs[i].query ? "?" : "", xs[i].query ? xs[i].query : "");
        /* json_*_new setters steal the new references. */
        json_array_append_new(hs, json_pack("[ss]", "Host", xs[i].host));
        if (xs[i].target) {
            json_array_append_new(hs,
                                  json_pack("[ss]", "Content-Type", "application/x-amz-json-1.1"));
            json_array_append_new(hs, json_pack("[ss]", "X-Amz-Target", xs[i].target));
        }
        if (xs[i].extra_name)
            json_array_append_new(hs, json_pack("[ss]", xs[i].extra_name, xs[i].extra_value));
        json_object_set_new(o, "method", json_string("POST"));
        json_object_set_new(o, "url", json_string(url));
        json_object_set_new(o, "headers", hs);
        json_object_set_new(o, "body", json_string(xs[i].body));
        json_object_set_new(o, "access_key", json_string("ASIAEXAMPLE123"));
        json_object_set_new(o, "secret_key", json_string(SECRET));
        json_object_set_new(o, "token", xs[i].token ? json_string(xs[i].token) : json_null());
        json_object_set_new(o, "region", json_string(xs[i].region));
        json_object_set_new(o, "service", json_string(xs[i].service));
        json_object_set_new(o, "time", json_integer((json_int_t)xs[i].t));
        txt = json_dumps(o, JSON_COMPACT);
        assert_non_null(txt);
        fprintf(f, "%s\n", txt);
        free(txt);
        json_decref(o);
    }
    fclose(f);
    snprintf(cmd, sizeof(cmd), "python3 %s/tests/tools/sigv4_botocore.py < %s", src, spec_path);
    p = popen(cmd, "r");
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        struct sigv4_header h[4];
        size_t nh = 0;
        struct sigv4_creds c = {.access_key_id = "ASIAEXAMPLE123",
                                .secret_access_key = SECRET,
                                .session_token = xs[i].token};
        struct sigv4_request req = {.method = "POST",
                                    .path = "/",
                                    .query = xs[i].query,
                                    .body = xs[i].body,
                                    .body_len = strlen(xs[i].body)};
        struct sigv4_signer *s = sigv4_signer_new();
        struct sigv4_result r;
        char want[2048];

        if (fgets(line, sizeof(line), p) == NULL)
            break; /* python3 or botocore missing: checked below */
        line[strcspn(line, "\n")] = '\0';
        h[nh++] = (struct sigv4_header){"Host", xs[i].host};
        if (xs[i].target) {
            h[nh++] = (struct sigv4_header){"Content-Type", "application/x-amz-json-1.1"};
            h[nh++] = (struct sigv4_header){"X-Amz-Target", xs[i].target};
        }
        if (xs[i].extra_name)
            h[nh++] = (struct sigv4_header){xs[i].extra_name, xs[i].extra_value};
        req.headers = h;
        req.n_headers = nh;
        assert_int_equal(sigv4_sign(s, &c, xs[i].region, xs[i].service, xs[i].t, &req, &r), HAF_OK);
        snprintf(want, sizeof(want), "%s %s", r.amz_date, buf_cstr(&r.authorization));
        print_message("botocore: %s\n", line);
        assert_string_equal(want, line);
        sigv4_result_clean_up(&r);
        sigv4_signer_free(s);
    }
    rc = pclose(p);
    testlib_rmtree(dir);
    free(dir);
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77)
        skip();
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
}

/* ---- the suite table ---- */

static const char *const suite_cases[] = {
    "get-header-key-duplicate",
    "get-header-value-order",
    "get-header-value-trim",
    "get-unreserved",
    "get-vanilla",
    "get-vanilla-empty-query-key",
    "get-vanilla-query",
    "get-vanilla-query-order-key",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-order-value",
    "get-vanilla-query-unreserved",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "post-header-key-case",
    "post-header-key-sort",
    "post-header-value-case",
    "post-vanilla",
    "post-vanilla-empty-query-value",
    "post-vanilla-query",
    "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters",
    "normalize-path/get-relative",
    "normalize-path/get-relative-relative",
    "normalize-path/get-slash",
    "normalize-path/get-slash-dot-slash",
    "normalize-path/get-slash-pointless-dot",
    "normalize-path/get-slashes",
    "normalize-path/get-space",
    "post-sts-token/post-sts-header-after",
    "post-sts-token/post-sts-header-before",
    "legacy-2011/get-utf8",
    "cwl-putlogevents",
    "cwl-putlogevents-session-token",
};

#define N_SUITE (sizeof(suite_cases) / sizeof(suite_cases[0]))

int
main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_sigv4_amz_date_formats_utc),
        cmocka_unit_test(test_sigv4_sha256_hex_empty_and_abc),
        cmocka_unit_test(test_sigv4_signing_key_matches_reference),
        cmocka_unit_test(test_sigv4_signing_key_rejects_bad_scope),
        cmocka_unit_test(test_sigv4_string_to_sign_rejects_bad_date),
        cmocka_unit_test(test_sigv4_canonical_request_refuses_crlf_in_value),
        cmocka_unit_test(test_sigv4_canonical_request_refuses_bad_header_names),
        cmocka_unit_test(test_sigv4_canonical_request_skips_hop_by_hop_headers),
        cmocka_unit_test(test_sigv4_canonical_request_encodes_path_and_query),
        cmocka_unit_test(test_sigv4_canonical_request_refuses_too_many_segments),
        cmocka_unit_test(test_sigv4_sign_cwl_vector_with_and_without_token),
        cmocka_unit_test(test_sigv4_sign_key_cache_follows_inputs),
        cmocka_unit_test(test_sigv4_sign_refuses_bad_input),
        cmocka_unit_test(test_sigv4_sign_matches_botocore),
    };
    enum { N_FIXED = sizeof(fixed) / sizeof(fixed[0]) };
    struct CMUnitTest tests[N_FIXED + N_SUITE];
    static char names[N_SUITE][96];

    memcpy(tests, fixed, sizeof(fixed));
    for (size_t i = 0; i < N_SUITE; i++) {
        snprintf(names[i], sizeof(names[i]), "test_sigv4_suite_%s", suite_cases[i]);
        tests[N_FIXED + i] = (struct CMUnitTest){
            .name = names[i], .test_func = run_suite_case, .initial_state = (void *)suite_cases[i]};
    }
    return _cmocka_run_group_tests("sigv4", tests, N_FIXED + N_SUITE, NULL, NULL);
}

/*
 * test_creds.c: the credential chain.
 *
 * Pure parts (ISO-8601, refresh schedule, INI, IMDS/ECS JSON, STS XML, container URL check) with
 * exact values and exact error codes; provider selection and the refresh logic through the
 * environment and real temp files with an injected clock; IMDSv2 and container credentials
 * against a real local server (tests/tools/imds_server.py, started here on an ephemeral port and
 * stopped in teardown), including credentials that expire after 4 s refreshed for real over ~10 s.
 * STS (AssumeRole signed, AssumeRoleWithWebIdentity unsigned) runs against moto when
 * tests/integration/creds_sts.sh sets HAF_CREDS_MOTO_URL; otherwise those tests skip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "creds_internal.h"
#include "haf/creds.h"
#include "haf/http.h"
#include "testlib.h"

#define T0_MS 1700000000000LL /* 2023-11-14T22:13:20Z */

static int64_t
wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- environment isolation ---- */

static const char *const aws_env[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
};

struct env_fixture {
    char *dir; /* also $HOME, so no real ~/.aws is read */
    char *saved[sizeof(aws_env) / sizeof(aws_env[0])];
    char *saved_home;
};

static int
env_setup(void **state)
{
    struct env_fixture *f = calloc(1, sizeof(*f));

    for (size_t i = 0; i < sizeof(aws_env) / sizeof(aws_env[0]); i++) {
        const char *v = getenv(aws_env[i]);
        f->saved[i] = v ? strdup(v) : NULL;
        unsetenv(aws_env[i]);
    }
    f->saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    f->dir = testlib_mkdtemp();
    setenv("HOME", f->dir, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    *state = f;
    return 0;
}

static int
env_teardown(void **state)
{
    struct env_fixture *f = *state;

    for (size_t i = 0; i < sizeof(aws_env) / sizeof(aws_env[0]); i++) {
        if (f->saved[i])
            setenv(aws_env[i], f->saved[i], 1);
        else
            unsetenv(aws_env[i]);
        free(f->saved[i]);
    }
    if (f->saved_home)
        setenv("HOME", f->saved_home, 1);
    free(f->saved_home);
    testlib_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static char *
write_file(const struct env_fixture *f, const char *name, const char *text)
{
    char *path = malloc(4096);
    FILE *fp;

    snprintf(path, 4096, "%s/%s", f->dir, name);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

/* ---- ISO-8601 and the refresh schedule ---- */

static int64_t
iso(const char *s)
{
    int64_t ms = -42;

    assert_true(creds_parse_iso8601(span_cstr(s), &ms));
    return ms;
}

static void
test_creds_parse_iso8601_accepts_aws_forms(void **state)
{
    (void)state;
    assert_int_equal(iso("2017-05-17T15:09:54Z"), 1495033794000LL);
    assert_int_equal(iso("2017-05-17T15:09:54.123Z"), 1495033794123LL);
    assert_int_equal(iso("2017-05-17T15:09:54.1Z"), 1495033794100LL);
    assert_int_equal(iso("2017-05-17T15:09:54.123456789Z"), 1495033794123LL);
    assert_int_equal(iso("2017-05-17T15:09:54+00:00"), 1495033794000LL);
    assert_int_equal(iso("2017-05-17T17:09:54+02:00"), 1495033794000LL);
    assert_int_equal(iso("2017-05-17T13:39:54-0130"), 1495033794000LL);
    assert_int_equal(iso("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(iso("1969-12-31T23:59:59Z"), -1000);
    assert_int_equal(iso("2000-02-29T00:00:00Z"), 951782400000LL);
    assert_int_equal(iso("2016-12-31T23:59:60Z"), 1483228799000LL); /* leap second, clamped */
    assert_int_equal(iso("9999-12-31T23:59:59Z"), 253402300799000LL);
}

static void
test_creds_parse_iso8601_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "2017-05-17",
        "2017-05-17T15:09:54",
        "2017-05-17 15:09:54Z",
        "2017-05-17T15:09:54ZZ",
        "2017-05-17T15:09:54Z ",
        "2017-13-17T15:09:54Z",
        "2017-00-17T15:09:54Z",
        "2001-02-29T00:00:00Z",
        "2017-04-31T00:00:00Z",
        "2017-05-17T24:00:00Z",
        "2017-05-17T15:60:00Z",
        "2017-05-17T15:09:61Z",
        "2017-05-17T15:09:54.Z",
        "2017-05-17T15:09:54.1234567890Z",
        "2017-05-17T15:09:54+2:00",
        "2017-05-17T15:09:54+24:00",
        "2017-05-17T15:09:54+02:60",
        "2017-05-17T15:09:5aZ",
        "+017-05-17T15:09:54Z",
    };
    int64_t ms = 7;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (creds_parse_iso8601(span_cstr(bad[i]), &ms))
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_false(creds_parse_iso8601(span_make("2017-05-17T15:09:54Z\0", 21), &ms));
    assert_int_equal(ms, 7); /* untouched on failure */
}

static void
test_creds_refresh_at_margin_or_half_lifetime(void **state)
{
    (void)state;
    /* One hour: ten minutes before expiry. */
    assert_int_equal(creds_refresh_at(T0_MS, T0_MS + 3600000, 0), T0_MS + 3000000);
    /* 60 s: at half the lifetime. */
    assert_int_equal(creds_refresh_at(T0_MS, T0_MS + 60000, 0), T0_MS + 30000);
    /* Exactly 20 min: both rules agree. */
    assert_int_equal(creds_refresh_at(T0_MS, T0_MS + 1200000, 0), T0_MS + 600000);
    /* A custom margin. */
    assert_int_equal(creds_refresh_at(T0_MS, T0_MS + 3600000, 5 * 60000), T0_MS + 3300000);
    /* No expiry, and already expired. */
    assert_int_equal(creds_refresh_at(T0_MS, 0, 0), INT64_MAX);
    assert_int_equal(creds_refresh_at(T0_MS, T0_MS - 1, 0), T0_MS);
    assert_int_equal(creds_refresh_at(T0_MS, T0_MS, 0), T0_MS);
}

/* ---- INI ---- */

static void
test_creds_parse_ini_reads_profiles(void **state)
{
    static const char cred[] = "\xef\xbb\xbf# comment\r\n"
                               "[default]\r\n"
                               "aws_access_key_id = AKIADEFAULT\r\n"
                               "aws_secret_access_key=defaultSecret\r\n"
                               "\n"
                               "[prod]\n"
                               "  ; indented comment\n"
                               "AWS_ACCESS_KEY_ID: AKIAPROD\n"
                               "aws_secret_access_key =   prod/Secret+x  \n"
                               "aws_security_token = legacyTok\n"
                               "aws_session_token = newTok\n"
                               "[prodx]\n"
                               "aws_access_key_id = AKIAWRONG\n";
    struct creds_ini ini = {0};

    (void)state;
    assert_int_equal(creds_parse_ini(span_make(cred, sizeof(cred) - 1), "prod", false, &ini),
                     HAF_OK);
    assert_true(ini.found);
    assert_string_equal(ini.access_key_id, "AKIAPROD");
    assert_string_equal(ini.secret_access_key, "prod/Secret+x");
    assert_string_equal(ini.session_token, "newTok"); /* the later line wins */
    assert_null(ini.region);
    creds_ini_clean_up(&ini);
    assert_int_equal(creds_parse_ini(span_make(cred, sizeof(cred) - 1), "default", false, &ini),
                     HAF_OK);
    assert_string_equal(ini.access_key_id, "AKIADEFAULT");
    assert_string_equal(ini.secret_access_key, "defaultSecret");
    creds_ini_clean_up(&ini);
    assert_int_equal(creds_parse_ini(span_make(cred, sizeof(cred) - 1), "nope", false, &ini),
                     HAF_OK);
    assert_false(ini.found);
    assert_null(ini.access_key_id);
    creds_ini_clean_up(&ini);
}

static void
test_creds_parse_ini_config_sections_and_precedence(void **state)
{
    static const char cfg[] = "[default]\nregion = us-west-2\n"
                              "[profile prod]\nregion=eu-west-1\n"
                              "aws_access_key_id=AKIAFROMCONFIG\n"
                              "aws_secret_access_key=configSecret\n"
                              "s3 =\n  aws_access_key_id = AKIANESTED\n"
                              "[prod]\naws_secret_access_key=bareSecret\n"
                              "[profile\tother]\nregion=ap-south-1\n";
    static const char cred[] = "[prod]\naws_access_key_id=AKIAFROMCRED\n";
    struct creds_ini ini = {0};

    (void)state;
    assert_int_equal(creds_parse_ini(span_make(cfg, sizeof(cfg) - 1), "prod", true, &ini), HAF_OK);
    assert_true(ini.found);
    assert_string_equal(ini.region, "eu-west-1");
    assert_string_equal(ini.access_key_id, "AKIAFROMCONFIG"); /* the nested s3 key is skipped */
    assert_string_equal(ini.secret_access_key, "bareSecret");
    /* The credentials file is read second and wins. */
    assert_int_equal(creds_parse_ini(span_make(cred, sizeof(cred) - 1), "prod", false, &ini),
                     HAF_OK);
    assert_string_equal(ini.access_key_id, "AKIAFROMCRED");
    assert_string_equal(ini.region, "eu-west-1");
    creds_ini_clean_up(&ini);
    assert_int_equal(creds_parse_ini(span_make(cfg, sizeof(cfg) - 1), "other", true, &ini), HAF_OK);
    assert_string_equal(ini.region, "ap-south-1");
    creds_ini_clean_up(&ini);
    /* "[profile prod]" means nothing in the credentials file. */
    assert_int_equal(creds_parse_ini(span_make(cfg, sizeof(cfg) - 1), "default", false, &ini),
                     HAF_OK);
    assert_string_equal(ini.region, "us-west-2");
    creds_ini_clean_up(&ini);
}

static void
test_creds_parse_ini_refuses_oversize_and_nul(void **state)
{
    struct creds_ini ini = {0};
    size_t n = CREDS_INI_MAX_LINE + 10;
    char *big = malloc(CREDS_INI_MAX_BYTES + 2);
    static const char nul[] = "[default]\naws_access_key_id=AKIA\0X\n";
    static const char unterminated[] = "[default\naws_access_key_id=AKIAX\n[default]";

    (void)state;
    memset(big, 'a', n);
    assert_int_equal(creds_parse_ini(span_make(big, n), "default", false, &ini), HAF_ETOOLONG);
    memset(big, '\n', CREDS_INI_MAX_BYTES + 1);
    assert_int_equal(
        creds_parse_ini(span_make(big, CREDS_INI_MAX_BYTES + 1), "default", false, &ini),
        HAF_ETOOLONG);
    assert_int_equal(creds_parse_ini(span_make(big, CREDS_INI_MAX_BYTES), "default", false, &ini),
                     HAF_OK);
    assert_int_equal(creds_parse_ini(span_make(nul, sizeof(nul) - 1), "default", false, &ini),
                     HAF_EPARSE);
    creds_ini_clean_up(&ini);
    assert_int_equal(
        creds_parse_ini(span_make(unterminated, sizeof(unterminated) - 1), "default", false, &ini),
        HAF_OK);
    assert_true(ini.found);
    assert_null(ini.access_key_id); /* the key under the broken header belongs to nobody */
    creds_ini_clean_up(&ini);
    assert_int_equal(creds_parse_ini(span_make(NULL, 0), "default", false, &ini), HAF_OK);
    assert_false(ini.found);
    assert_int_equal(creds_parse_ini(span_make(NULL, 0), NULL, false, &ini), HAF_EINVAL);
    free(big);
}

/* ---- JSON ---- */

static const char imds_doc[] = "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : "
                               "\"2012-04-26T16:39:16Z\",\n  \"Type\" : \"AWS-HMAC\",\n"
                               "  \"AccessKeyId\" : \"ASIAEXAMPLE\",\n"
                               "  \"SecretAccessKey\" : \"wJalr/K7+EXAMPLEKEY\",\n"
                               "  \"Token\" : \"IQoJb3JpZ2luX2VjE//==\",\n"
                               "  \"Expiration\" : \"2017-05-17T15:09:54Z\"\n}";

static enum haf_err
parse_json(const char *s, struct creds_doc *d, char *why)
{
    return creds_parse_json(span_cstr(s), d, why, 160);
}

static void
test_creds_parse_json_reads_imds_and_ecs(void **state)
{
    struct creds_doc d = {0};
    char why[160] = "";

    (void)state;
    assert_int_equal(parse_json(imds_doc, &d, why), HAF_OK);
    assert_string_equal(d.access_key_id, "ASIAEXAMPLE");
    assert_string_equal(d.secret_access_key, "wJalr/K7+EXAMPLEKEY");
    assert_string_equal(d.session_token, "IQoJb3JpZ2luX2VjE//==");
    assert_int_equal(d.expiration_ms, 1495033794000LL);
    creds_doc_clean_up(&d);
    /* The ECS form: no Code, extra fields, fractional Expiration. */
    assert_int_equal(parse_json("{\"RoleArn\":\"arn:aws:iam::1:role/r\",\"AccessKeyId\":\"ASIA1\","
                                "\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":"
                                "\"2016-02-25T06:03:31.000+00:00\",\"AccountId\":\"1\"}",
                                &d, why),
                     HAF_OK);
    assert_int_equal(d.expiration_ms, 1456380211000LL);
    creds_doc_clean_up(&d);
}

static void
test_creds_parse_json_refuses_bad_documents(void **state)
{
    static const struct {
        const char *doc;
        enum haf_err want;
    } cases[] = {
        {"", HAF_EPARSE},
        {"[]", HAF_EPARSE},
        {"{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"no\"}", HAF_EREJECTED},
        {"{\"Code\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
         "\"Expiration\":\"2017-05-17T15:09:54Z\"}",
         HAF_EREJECTED},
        {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Expiration\":\"2017-05-17T15:09:"
         "54Z\"}",
         HAF_EPARSE},
        {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"t\"}", HAF_EPARSE},
        {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":"
         "\"tomorrow\"}",
         HAF_EPARSE},
        {"{\"AccessKeyId\":\"A B\",\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":"
         "\"2017-05-17T15:09:54Z\"}",
         HAF_EPARSE},
        {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"t\\r\\nX: y\","
         "\"Expiration\":\"2017-05-17T15:09:54Z\"}",
         HAF_EPARSE},
        {"{\"AccessKeyId\":\"A\\u0000B\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
         "\"Expiration\":\"2017-05-17T15:09:54Z\"}",
         HAF_EPARSE},
        {"{\"AccessKeyId\":\"A\",\"AccessKeyId\":\"B\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
         "\"Expiration\":\"2017-05-17T15:09:54Z\"}",
         HAF_EPARSE},
        {"{\"AccessKeyId\":7,\"SecretAccessKey\":\"s\",\"Token\":\"t\","
         "\"Expiration\":\"2017-05-17T15:09:54Z\"}",
         HAF_EPARSE},
    };
    struct creds_doc d = {0};
    char why[160];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        why[0] = '\0';
        if (parse_json(cases[i].doc, &d, why) != cases[i].want)
            fail_msg("case %zu: %s", i, cases[i].doc);
        assert_null(d.access_key_id);
        assert_true(why[0] != '\0');
        /* why never repeats a value from the document */
        assert_null(strstr(why, "\"s\""));
    }
    {
        size_t n = CREDS_DOC_MAX_BYTES + 1;
        char *big = malloc(n);
        memset(big, ' ', n);
        assert_int_equal(creds_parse_json(span_make(big, n), &d, why, sizeof(why)), HAF_ETOOLONG);
        free(big);
    }
}

/* ---- XML ---- */

static const char sts_ok[] =
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleResult>\n    <SourceIdentity>Alice</SourceIdentity>\n"
    "    <AssumedRoleUser>\n      <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>\n"
    "      <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>\n    </AssumedRoleUser>\n"
    "    <Credentials>\n      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
    "      <SessionToken>\n       AQoDYXdzEPT//////////wEXAMPLE&amp;x==\n      </SessionToken>\n"
    "      <Expiration>2019-11-09T13:34:41Z</Expiration>\n    </Credentials>\n"
    "  </AssumeRoleResult>\n</AssumeRoleResponse>";

static void
test_creds_parse_sts_xml_reads_credentials(void **state)
{
    struct creds_doc d = {0};
    char code[64];

    (void)state;
    assert_int_equal(creds_parse_sts_xml(span_cstr(sts_ok), &d, code, sizeof(code)), HAF_OK);
    assert_string_equal(d.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    assert_string_equal(d.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    assert_string_equal(d.session_token, "AQoDYXdzEPT//////////wEXAMPLE&x==");
    assert_int_equal(d.expiration_ms, 1573306481000LL);
    assert_string_equal(code, "");
    creds_doc_clean_up(&d);
}

static void
test_creds_parse_sts_xml_reports_errors(void **state)
{
    static const char err[] = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                              "<Error><Type>Sender</Type><Code>Invalid<Identity>Token!"
                              "</Code><Message>secret-ish text</Message></Error>"
                              "<RequestId>1</RequestId></ErrorResponse>";
    static const char *const bad[] = {
        "",
        "<AssumeRoleResponse></AssumeRoleResponse>",
        "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
        "<Expiration>2019-11-09T13:34:41Z</Expiration></Credentials>",
        "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
        "<SessionToken>t</SessionToken><Expiration>2019-11-09T13:34:41Z</Credentials>",
        "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>s<b/></SecretAccessKey>"
        "<SessionToken>t</SessionToken><Expiration>2019-11-09T13:34:41Z</Expiration></Credentials>",
        "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>s&nbsp;</SecretAccessKey>"
        "<SessionToken>t</SessionToken><Expiration>2019-11-09T13:34:41Z</Expiration></Credentials>",
        "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
        "<SessionToken>t u</SessionToken><Expiration>2019-11-09T13:34:41Z</Expiration>"
        "</Credentials>",
        "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
        "<SessionToken>t</SessionToken><Expiration>soon</Expiration></Credentials>",
        "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
        "<SessionToken>t</SessionToken><Expiration>2019-11-09T13:34:41Z</Expiration>",
    };
    struct creds_doc d = {0};
    char code[64];

    (void)state;
    assert_int_equal(creds_parse_sts_xml(span_cstr(err), &d, code, sizeof(code)), HAF_EREJECTED);
    /* Only the first element's text, sanitised: "Invalid<Identity>Token!" has markup inside. */
    assert_null(strchr(code, '<'));
    assert_null(strchr(code, '!'));
    assert_null(d.access_key_id);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (creds_parse_sts_xml(span_cstr(bad[i]), &d, code, sizeof(code)) != HAF_EPARSE)
            fail_msg("case %zu accepted: %s", i, bad[i]);
        assert_null(d.access_key_id);
    }
    assert_int_equal(creds_parse_sts_xml(span_cstr("<Error><Code>ExpiredTokenException</Code>"
                                                   "</Error>"),
                                         &d, code, sizeof(code)),
                     HAF_EREJECTED);
    assert_string_equal(code, "ExpiredTokenException");
}

static void
test_creds_container_url_allowed_hosts(void **state)
{
    static const char *const ok[] = {
        "https://example.com/creds",
        "http://127.0.0.1/creds",
        "http://127.0.0.1:8080/x",
        "http://127.1.2.3/x",
        "http://localhost:9/x",
        "http://[::1]:80/x",
        "http://169.254.170.2/v2/creds",
        "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1/credentials",
    };
    static const char *const no[] = {
        "http://example.com/creds",
        "http://169.254.169.254/latest",
        "http://127.0.0.1.evil.com/",
        "http://10.0.0.1/x",
        "ftp://127.0.0.1/x",
        "http://user@127.0.0.1/x",
        "http://127.0.0.256/x",
        "http://127.0.0/x",
        "http://127.0.0.1/x y",
        "http:///x",
        "",
        "http://[::1/x",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!creds_container_url_allowed(ok[i]))
            fail_msg("refused %s", ok[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (creds_container_url_allowed(no[i]))
            fail_msg("allowed %s", no[i]);
    assert_false(creds_container_url_allowed(NULL));
}

/* ---- providers without network ---- */

static struct creds_provider *
provider(const char *profile, struct http_client *http)
{
    struct creds_opts o = {.profile = profile};
    struct creds_provider *p = creds_provider_new(&o, http);

    assert_non_null(p);
    return p;
}

static void
test_creds_get_environment_first(void **state)
{
    struct env_fixture *f = *state;
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[256];
    char *cred = write_file(f, "credentials",
                            "[default]\naws_access_key_id=AKIAFILE\naws_secret_access_key=f\n");

    setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envSecret", 1);
    setenv("AWS_SECURITY_TOKEN", "legacyToken", 1);
    p = provider(NULL, NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(why, "");
    assert_string_equal(c->source, "environment");
    assert_string_equal(c->access_key_id, "AKIAENV");
    assert_string_equal(c->secret_access_key, "envSecret");
    assert_string_equal(c->session_token, "legacyToken");
    assert_int_equal(c->expiration_ms, 0);
    assert_int_equal(creds_next_refresh_ms(p), INT64_MAX);
    creds_provider_free(p);
    setenv("AWS_SESSION_TOKEN", "newToken", 1);
    p = provider(NULL, NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->session_token, "newToken");
    creds_provider_free(p);
    /* A profile chosen in our config is not overridden by the environment. */
    p = provider("default", NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->source, "profile");
    assert_string_equal(c->access_key_id, "AKIAFILE");
    assert_null(c->session_token);
    creds_provider_free(p);
    free(cred);
}

static void
test_creds_get_environment_half_set_is_an_error(void **state)
{
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512];

    (void)state;
    setenv("AWS_SECRET_ACCESS_KEY", "onlyTheSecret", 1);
    p = provider(NULL, NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "environment"));
    assert_null(strstr(why, "onlyTheSecret"));
    creds_provider_free(p);
    setenv("AWS_ACCESS_KEY_ID", "AKIA BAD", 1);
    p = provider(NULL, NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "malformed"));
    assert_null(strstr(why, "onlyTheSecret"));
    creds_provider_free(p);
}

static void
test_creds_get_profile_from_files(void **state)
{
    struct env_fixture *f = *state;
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512];
    char *cred = write_file(f, "creds", "[prod]\naws_access_key_id = AKIAPROD\n");
    char *cfg = write_file(f, "config",
                           "[profile prod]\naws_secret_access_key = prodSecret\n"
                           "aws_session_token = prodTok\n[profile cfgonly]\n"
                           "aws_access_key_id=AKIACFG\naws_secret_access_key=cfgSecret\n"
                           "[profile broken]\naws_access_key_id=AKIAB\n"
                           "aws_secret_access_key=has space\n");

    setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
    setenv("AWS_CONFIG_FILE", cfg, 1);
    p = provider("prod", NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->source, "profile");
    assert_string_equal(c->access_key_id, "AKIAPROD");
    assert_string_equal(c->secret_access_key, "prodSecret");
    assert_string_equal(c->session_token, "prodTok");
    creds_provider_free(p);
    setenv("AWS_PROFILE", "cfgonly", 1);
    p = provider(NULL, NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->access_key_id, "AKIACFG");
    creds_provider_free(p);
    /* A chosen profile that does not exist is an error, not a fall-through to IMDS. */
    p = provider("nope", NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "profile nope not found"));
    creds_provider_free(p);
    p = provider("broken", NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "malformed"));
    assert_null(strstr(why, "has space"));
    creds_provider_free(p);
    free(cred);
    free(cfg);
}

static void
test_creds_get_default_home_files(void **state)
{
    struct env_fixture *f = *state;
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512], dir[4200];

    snprintf(dir, sizeof(dir), "%s/.aws", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    free(write_file(f, ".aws/credentials",
                    "[default]\naws_access_key_id=AKIAHOME\naws_secret_access_key=h\n"));
    p = provider(NULL, NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->access_key_id, "AKIAHOME");
    creds_provider_free(p);
}

static void
test_creds_get_nothing_found_says_why(void **state)
{
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512], small[8];

    (void)state;
    p = provider(NULL, NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "imds: disabled"));
    /* Asked again at once: the chain is not re-run, the same answer comes back. */
    assert_int_equal(creds_get(p, T0_MS + 1, &c, small, sizeof(small)), HAF_ECREDS);
    assert_int_equal(strlen(small), 7);
    assert_int_equal(creds_next_refresh_ms(p), T0_MS + 5000);
    assert_int_equal(creds_get(p, T0_MS, NULL, why, sizeof(why)), HAF_EINVAL);
    assert_int_equal(creds_get(NULL, T0_MS, &c, why, sizeof(why)), HAF_EINVAL);
    creds_provider_free(p);
    creds_provider_free(NULL);
    creds_invalidate(NULL);
}

static void
set_env_creds(const char *id, int64_t exp_ms)
{
    char exp[64];
    time_t t = (time_t)(exp_ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    setenv("AWS_ACCESS_KEY_ID", id, 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t", 1);
    setenv("AWS_CREDENTIAL_EXPIRATION", exp, 1);
}

/* The refresh logic with an injected clock, through AWS_CREDENTIAL_EXPIRATION. */
static void
test_creds_get_refreshes_keeps_old_and_recovers(void **state)
{
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512];

    (void)state;
    set_env_creds("AKIAONE", T0_MS + 60000);
    p = provider(NULL, NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->access_key_id, "AKIAONE");
    assert_int_equal(c->expiration_ms, T0_MS + 60000);
    /* 60-second credentials refresh at half their life. */
    assert_int_equal(creds_next_refresh_ms(p), T0_MS + 30000);
    assert_int_equal(creds_get(p, T0_MS + 29999, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->access_key_id, "AKIAONE");

    /* The source goes away: the refresh at 31 s fails, the old credentials are kept. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_CREDENTIAL_EXPIRATION");
    assert_int_equal(creds_get(p, T0_MS + 31000, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->access_key_id, "AKIAONE");
    assert_non_null(strstr(why, "imds: disabled"));
    /* The next attempt waits a quarter of the remaining 29 s. */
    assert_int_equal(creds_next_refresh_ms(p), T0_MS + 31000 + 7250);
    assert_int_equal(creds_get(p, T0_MS + 32000, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(why, "");

    /* Expired and still no source: an error, with the reason. */
    assert_int_equal(creds_get(p, T0_MS + 60000, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "imds: disabled"));
    /* ... and no new attempt for 1 s unless invalidated. */
    set_env_creds("AKIATWO", T0_MS + 3600000);
    assert_int_equal(creds_get(p, T0_MS + 60500, &c, why, sizeof(why)), HAF_ECREDS);
    creds_invalidate(p);
    assert_int_equal(creds_next_refresh_ms(p), 0);
    assert_int_equal(creds_get(p, T0_MS + 60600, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->access_key_id, "AKIATWO");
    assert_int_equal(creds_next_refresh_ms(p), T0_MS + 3600000 - 600000);
    creds_provider_free(p);
}

static void
test_creds_invalidate_forces_refresh_of_static_keys(void **state)
{
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512];

    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIAOLD", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "old", 1);
    p = provider(NULL, NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_OK);
    setenv("AWS_ACCESS_KEY_ID", "AKIANEW", 1);
    assert_int_equal(creds_get(p, T0_MS + 86400000, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->access_key_id, "AKIAOLD"); /* static keys are never re-read... */
    creds_invalidate(p);
    assert_int_equal(creds_get(p, T0_MS + 86400001, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->access_key_id, "AKIANEW"); /* ...unless the service rejected them */
    creds_provider_free(p);
}

static void
test_creds_get_env_expired_is_refused(void **state)
{
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512];

    (void)state;
    set_env_creds("AKIAEXP", T0_MS - 1000);
    p = provider(NULL, NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "expired"));
    creds_provider_free(p);
    setenv("AWS_CREDENTIAL_EXPIRATION", "not a date", 1);
    p = provider(NULL, NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "AWS_CREDENTIAL_EXPIRATION"));
    creds_provider_free(p);
}

static void
test_creds_resolve_region_from_environment(void **state)
{
    char *r = NULL;

    (void)state;
    setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
    assert_int_equal(creds_resolve_region(NULL, &r), HAF_OK);
    assert_string_equal(r, "us-west-1");
    free(r);
    setenv("AWS_REGION", "eu-north-1", 1);
    assert_int_equal(creds_resolve_region(NULL, &r), HAF_OK);
    assert_string_equal(r, "eu-north-1");
    free(r);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    r = NULL;
    assert_int_equal(creds_resolve_region(NULL, &r), HAF_ENOTFOUND); /* IMDS disabled */
    assert_null(r);
    assert_int_equal(creds_imds_instance_id(NULL, &r), HAF_ENOTFOUND);
    assert_int_equal(creds_resolve_region(NULL, NULL), HAF_EINVAL);
}

/* ---- a real local IMDS / container server ---- */

struct server_fixture {
    struct env_fixture *env;
    pid_t pid;
    int stdin_fd;
    int port;
    char base[64];
    struct http_client *http;
};

static void
server_start(struct server_fixture *s, const char *const *args)
{
    const char *src = getenv("HAF_SOURCE_DIR");
    char script[4200], line[64];
    const char *argv[16];
    int in[2], out[2], n = 0;
    size_t len = 0;

    snprintf(script, sizeof(script), "%s/tests/tools/imds_server.py", src ? src : ".");
    argv[n++] = "python3";
    argv[n++] = script;
    argv[n++] = "--watch-stdin";
    for (; args && *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->stdin_fd = in[1];
    for (;;) {
        struct pollfd pfd = {.fd = out[0], .events = POLLIN};
        ssize_t r;
        assert_true(poll(&pfd, 1, 15000) == 1);
        r = read(out[0], line + len, 1);
        assert_true(r == 1);
        if (line[len] == '\n')
            break;
        assert_true(++len < sizeof(line) - 1);
    }
    line[len] = '\0';
    close(out[0]);
    assert_int_equal(sscanf(line, "PORT %d", &s->port), 1);
    snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
}

static int
server_setup_with(void **state, const char *const *args)
{
    struct server_fixture *s = calloc(1, sizeof(*s));
    struct http_opts o = {.verify = true, .connect_timeout_ms = 2000, .timeout_ms = 5000};

    env_setup((void **)&s->env);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    server_start(s, args);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", s->base, 1);
    s->http = http_client_new(&o);
    assert_non_null(s->http);
    *state = s;
    return 0;
}

static int
server_setup(void **state)
{
    static const char *const args[] = {"--lifetime", "3600", NULL};
    return server_setup_with(state, args);
}

static int
server_setup_short(void **state)
{
    static const char *const args[] = {"--lifetime", "4", NULL};
    return server_setup_with(state, args);
}

static int
server_setup_container(void **state)
{
    static const char *const args[] = {"--container-token", "Basic c2VjcmV0LXRvaw==", NULL};
    return server_setup_with(state, args);
}

static int
server_teardown(void **state)
{
    struct server_fixture *s = *state;
    int st;

    http_client_free(s->http);
    close(s->stdin_fd);
    kill(s->pid, SIGTERM);
    waitpid(s->pid, &st, 0);
    env_teardown((void **)&s->env);
    free(s);
    return 0;
}

/* GET a control path of the server; for /_stats, the counter `key`. */
static long
server_get(struct server_fixture *s, const char *path, const char *key)
{
    char url[256];
    struct http_request req = {.method = "GET", .url = url, .no_proxy = true};
    struct http_response resp;
    long v = -1;

    snprintf(url, sizeof(url), "%s%s", s->base, path);
    http_response_init(&resp);
    assert_int_equal(http_perform(s->http, &req, &resp), HAF_OK);
    assert_int_equal(resp.outcome, HTTP_ANSWERED);
    assert_int_equal(resp.status, 200);
    if (key) {
        json_t *j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
        assert_non_null(j);
        v = (long)json_integer_value(json_object_get(j, key));
        json_decref(j);
    }
    http_response_clean_up(&resp);
    return v;
}

static void
test_creds_get_imds_v2_flow(void **state)
{
    struct server_fixture *s = *state;
    struct creds_provider *p = provider(NULL, s->http);
    const struct aws_creds *c = NULL;
    char why[512];
    int64_t now = wall_ms();

    assert_int_equal(creds_get(p, now, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(why, "");
    assert_string_equal(c->source, "imds");
    assert_string_equal(c->access_key_id, "ASIATEST000000000001");
    assert_non_null(c->session_token);
    assert_true(c->expiration_ms > now + 3590000 && c->expiration_ms <= now + 3601000);
    assert_int_equal(creds_next_refresh_ms(p), c->expiration_ms - 600000);
    assert_int_equal(server_get(s, "/_stats", "token_puts"), 1);
    assert_int_equal(server_get(s, "/_stats", "role_gets"), 1);
    assert_int_equal(server_get(s, "/_stats", "creds_gets"), 1);
    /* Cached until the refresh time: no new request. */
    assert_int_equal(creds_get(p, now + 1000, &c, why, sizeof(why)), HAF_OK);
    assert_int_equal(server_get(s, "/_stats", "creds_gets"), 1);
    /* A refresh reuses the IMDS token. */
    creds_invalidate(p);
    assert_int_equal(creds_get(p, now + 2000, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->access_key_id, "ASIATEST000000000002");
    assert_int_equal(server_get(s, "/_stats", "token_puts"), 1);
    /* A token the server forgot: 401, a new token, and the request again. */
    server_get(s, "/_expire_tokens", NULL);
    creds_invalidate(p);
    assert_int_equal(creds_get(p, now + 3000, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->access_key_id, "ASIATEST000000000003");
    assert_int_equal(server_get(s, "/_stats", "token_puts"), 2);
    assert_int_equal(server_get(s, "/_stats", "unauthorized"), 1);
    /* Six hours later the token has expired: a new one is fetched before use (the credentials
     * the server hands out then expired at that fake time, and are refused as such). */
    creds_invalidate(p);
    assert_int_equal(creds_get(p, now + 21600000LL, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "imds: credentials already expired"));
    assert_int_equal(server_get(s, "/_stats", "token_puts"), 3);
    assert_int_equal(server_get(s, "/_stats", "unauthorized"), 1);
    creds_provider_free(p);
}

/* Issue 11 §5: a FIFO (or any non-regular file) at a credentials path must not block the daemon
 * in open() (a FIFO without a writer blocks for ever): each is refused at once with a reason. An
 * alarm turns a hang into a failure. */
static void
expect_fifo_refused(const char *path, const char *want)
{
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512];

    alarm(10);
    p = provider(NULL, NULL);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_ECREDS);
    alarm(0);
    if (strstr(why, want) == NULL || strstr(why, path) == NULL ||
        strstr(why, "a FIFO, not a regular file") == NULL)
        fail_msg("why: %s", why);
    creds_provider_free(p);
}

static void
test_creds_get_fifo_paths_refused_without_blocking(void **state)
{
    struct env_fixture *f = *state;
    char fifo[4096];

    snprintf(fifo, sizeof(fifo), "%s/fifo", f->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    setenv("AWS_SHARED_CREDENTIALS_FILE", fifo, 1);
    setenv("AWS_CONFIG_FILE", "/dev/null", 1);
    expect_fifo_refused(fifo, "profile: cannot read");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    setenv("AWS_CONFIG_FILE", fifo, 1);
    expect_fifo_refused(fifo, "profile: cannot read");
    setenv("AWS_CONFIG_FILE", "/dev/null", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", fifo, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", 1);
    expect_fifo_refused(fifo, "web-identity: cannot read");
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_ROLE_ARN");
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", fifo, 1);
    expect_fifo_refused(fifo, "container: cannot read");
    /* A directory is refused the same way, with its own reason. */
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", f->dir, 1);
    {
        struct creds_provider *p = provider(NULL, NULL);
        const struct aws_creds *c = NULL;
        char why[512];
        assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_ECREDS);
        if (strstr(why, "a directory, not a regular file") == NULL)
            fail_msg("why: %s", why);
        creds_provider_free(p);
    }
    unlink(fifo);
}

/* The IMDS endpoint from the environment goes through the one URL parser: userinfo, other schemes
 * and non-URLs are refused without a request (nothing listens on port 9 anyway). */
static void
test_creds_get_imds_endpoint_env_checked(void **state)
{
    static const char *const bad[] = {"http://user:pw@127.0.0.1:9", "ftp://127.0.0.1:9",
                                      "169.254.169.254", "http://127.0.0.1:9/a b"};
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512];

    (void)state;
    setenv("AWS_CONFIG_FILE", "/dev/null", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", bad[i], 1);
        p = provider(NULL, NULL);
        assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_ECREDS);
        if (strstr(why, "imds: AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http(s) URL") == NULL)
            fail_msg("%s: %s", bad[i], why);
        assert_null(strstr(why, "pw"));
        creds_provider_free(p);
    }
}

/* Regression (reliability_creds): AWS_CONFIG_FILE=/dev/null, the usual way to say "no shared
 * files", stopped the chain before IMDS; the null device must read as an empty file. */
static void
test_creds_get_dev_null_shared_files_reach_imds(void **state)
{
    struct server_fixture *s = *state;
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512];

    setenv("AWS_CONFIG_FILE", "/dev/null", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    p = provider(NULL, s->http);
    assert_int_equal(creds_get(p, wall_ms(), &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->source, "imds");
    assert_int_equal(server_get(s, "/_stats", "creds_gets"), 1);
    creds_provider_free(p);
}

static void
test_creds_get_imds_failed_refresh_keeps_old(void **state)
{
    struct server_fixture *s = *state;
    struct creds_provider *p = provider(NULL, s->http);
    const struct aws_creds *c = NULL;
    char why[512], *first;
    int64_t now = wall_ms();

    assert_int_equal(creds_get(p, now, &c, why, sizeof(why)), HAF_OK);
    first = strdup(c->access_key_id);
    server_get(s, "/_fail/1", NULL);
    creds_invalidate(p);
    assert_int_equal(creds_get(p, now + 1000, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->access_key_id, first);
    assert_non_null(strstr(why, "HTTP 500"));
    assert_null(strstr(why, c->secret_access_key));
    assert_int_equal(server_get(s, "/_stats", "failed"), 1);
    /* At the scheduled refresh the server answers again. */
    assert_int_equal(creds_get(p, c->expiration_ms - 600000, &c, why, sizeof(why)), HAF_OK);
    assert_string_not_equal(c->access_key_id, first);
    free(first);
    creds_provider_free(p);
}

/* A failed fetch is retried after a delay on the wall clock; a step of that clock back by an hour
 * (NTP) must not put the retry off by an hour (issue 10 section 4). */
static void
test_creds_get_wall_clock_step_back_retries_now(void **state)
{
    struct server_fixture *s = *state;
    struct creds_provider *p = provider(NULL, s->http);
    const struct aws_creds *c = NULL;
    char why[512];
    int64_t now = wall_ms();

    server_get(s, "/_fail/1", NULL);
    assert_int_equal(creds_get(p, now, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "HTTP 500"));
    /* Within the retry delay on the same clock: not asked again. */
    assert_int_equal(creds_get(p, now + 100, &c, why, sizeof(why)), HAF_ECREDS);
    assert_int_equal(server_get(s, "/_stats", "creds_gets"), 0);
    /* The clock steps back an hour: asked again at once. */
    assert_int_equal(creds_get(p, now - 3600000, &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->source, "imds");
    assert_int_equal(server_get(s, "/_stats", "creds_gets"), 1);
    creds_provider_free(p);
}

/* ---- creds_set_async: the chain's calls on the multi handle (http_replay.c) ---- */

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* creds_get under creds_set_async, timed: it must never wait for the network. */
static enum haf_err
get_nowait(struct creds_provider *p, int64_t now, const struct aws_creds **c, char *why)
{
    int64_t t = mono_ms();
    enum haf_err e = creds_get(p, now, c, why, 512);

    assert_true(mono_ms() - t < 200);
    return e;
}

/* Run the multi handle until the credential call in flight is answered (at most 10 s). */
static void
drive_until_answered(struct server_fixture *s, struct creds_provider *p)
{
    int64_t end = mono_ms() + 10000;

    while (creds_refreshing(p) && mono_ms() < end) {
        assert_int_equal(http_poll(s->http, NULL, 0, 100), HAF_OK);
        assert_int_equal(http_run(s->http), HAF_OK);
    }
    assert_false(creds_refreshing(p));
}

static void
test_creds_get_async_imds_one_call_per_turn(void **state)
{
    struct server_fixture *s = *state;
    struct creds_provider *p = provider(NULL, s->http);
    const struct aws_creds *c = NULL;
    char why[512];
    int64_t now = wall_ms();
    int turns = 0;
    enum haf_err e;

    assert_int_equal(creds_set_async(p, true), HAF_OK);
    /* Nothing yet: each creds_get starts one call (token, role, credentials) and says wait. */
    while ((e = get_nowait(p, now, &c, why)) == HAF_EAGAIN) {
        assert_string_equal(why, "credentials are being fetched");
        assert_true(creds_refreshing(p));
        assert_int_equal(http_in_flight(s->http), 1);
        drive_until_answered(s, p);
        assert_true(++turns <= 3);
    }
    assert_int_equal(e, HAF_OK);
    assert_int_equal(turns, 3);
    assert_string_equal(c->source, "imds");
    assert_string_equal(c->access_key_id, "ASIATEST000000000001");
    assert_int_equal(server_get(s, "/_stats", "token_puts"), 1);
    assert_int_equal(server_get(s, "/_stats", "role_gets"), 1);
    assert_int_equal(server_get(s, "/_stats", "creds_gets"), 1);
    /* At the scheduled refresh the old credentials keep signing while the fetch runs (the token
     * is cached: role and credentials, two calls). */
    now = creds_next_refresh_ms(p);
    for (turns = 0; strcmp(c->access_key_id, "ASIATEST000000000001") == 0; turns++) {
        assert_int_equal(get_nowait(p, now, &c, why), HAF_OK);
        if (creds_refreshing(p))
            drive_until_answered(s, p);
        assert_true(turns <= 3);
    }
    assert_int_equal(turns, 3);
    assert_string_equal(c->access_key_id, "ASIATEST000000000002");
    assert_int_equal(server_get(s, "/_stats", "token_puts"), 1);
    assert_int_equal(server_get(s, "/_stats", "creds_gets"), 2);
    creds_provider_free(p);
}

/* An IMDS that holds its answers: creds_get never waits; the old credentials sign until the
 * fetch times out (1 s) and the failure is reported; once the service refused them
 * (creds_invalidate), nothing is handed out until new ones came. */
static void
test_creds_get_async_stalled_imds_never_blocks(void **state)
{
    struct server_fixture *s = *state;
    struct creds_provider *p = provider(NULL, s->http);
    const struct aws_creds *c = NULL;
    char why[512], *first;
    int64_t now = wall_ms();

    assert_int_equal(creds_set_async(p, true), HAF_OK);
    while (get_nowait(p, now, &c, why) == HAF_EAGAIN)
        drive_until_answered(s, p);
    first = strdup(c->access_key_id);
    server_get(s, "/_stall/2", NULL);
    now = creds_next_refresh_ms(p);
    assert_int_equal(get_nowait(p, now, &c, why), HAF_OK);
    assert_string_equal(c->access_key_id, first);
    assert_true(creds_refreshing(p));
    assert_int_equal(get_nowait(p, now, &c, why), HAF_OK); /* still in flight: no second call */
    assert_int_equal(http_in_flight(s->http), 1);
    drive_until_answered(s, p); /* the IMDS timeout, 1 s */
    assert_int_equal(get_nowait(p, now + 1000, &c, why), HAF_OK);
    assert_string_equal(c->access_key_id, first);
    assert_non_null(strstr(why, "imds"));
    assert_false(creds_refreshing(p));
    /* Refused by the service (once the IMDS answers again): wait for new ones, signing
     * nothing. */
    sleep(2);
    creds_invalidate(p);
    assert_int_equal(get_nowait(p, now + 2000, &c, why), HAF_EAGAIN);
    assert_true(creds_refreshing(p));
    for (int i = 0; i < 10 && get_nowait(p, now + 2000, &c, why) != HAF_OK; i++) {
        assert_string_equal(why, "credentials are being fetched");
        drive_until_answered(s, p);
    }
    assert_int_equal(get_nowait(p, now + 2000, &c, why), HAF_OK);
    assert_string_not_equal(c->access_key_id, first);
    assert_true(server_get(s, "/_stats", "stalled") >= 1);
    free(first);
    creds_provider_free(p);
}

/* Credentials that live 4 s, asked for over ~10 s of real time: refreshed, never failing. */
static void
test_creds_get_imds_refreshes_short_lived_for_real(void **state)
{
    struct server_fixture *s = *state;
    struct creds_provider *p = provider(NULL, s->http);
    const struct aws_creds *c = NULL;
    char why[512], last[64] = "";
    int64_t start = wall_ms(), now;
    int distinct = 0, calls = 0;

    while ((now = wall_ms()) - start < 10000) {
        assert_int_equal(creds_get(p, now, &c, why, sizeof(why)), HAF_OK);
        assert_string_equal(why, "");
        assert_true(c->expiration_ms > now); /* never handed out expired */
        if (strcmp(last, c->access_key_id) != 0) {
            distinct++;
            snprintf(last, sizeof(last), "%s", c->access_key_id);
            /* refreshed at half the remaining life: ~2 s */
            assert_true(creds_next_refresh_ms(p) <= now + 2100);
        }
        calls++;
        usleep(100000);
    }
    print_message("%d calls, %d distinct credentials, %ld fetched\n", calls, distinct,
                  server_get(s, "/_stats", "creds_gets"));
    assert_true(distinct >= 4);
    assert_int_equal(server_get(s, "/_stats", "creds_gets"), distinct);
    assert_int_equal(server_get(s, "/_stats", "token_puts"), 1);
    creds_provider_free(p);
}

static void
test_creds_imds_region_and_instance_id(void **state)
{
    struct server_fixture *s = *state;
    char *v = NULL;

    assert_int_equal(creds_resolve_region(s->http, &v), HAF_OK);
    assert_string_equal(v, "eu-central-1");
    free(v);
    assert_int_equal(creds_imds_instance_id(s->http, &v), HAF_OK);
    assert_string_equal(v, "i-0123456789abcdef0");
    free(v);
    setenv("AWS_REGION", "sa-east-1", 1);
    assert_int_equal(creds_resolve_region(s->http, &v), HAF_OK);
    assert_string_equal(v, "sa-east-1");
    free(v);
}

static void
test_creds_get_imds_unreachable_is_bounded(void **state)
{
    struct server_fixture *s = *state;
    struct creds_provider *p = provider(NULL, s->http);
    const struct aws_creds *c = NULL;
    char why[512], *v = NULL;
    int64_t t0;

    /* A port nobody listens on: refused at once. */
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
    t0 = wall_ms();
    assert_int_equal(creds_get(p, t0, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "imds: token"));
    assert_true(wall_ms() - t0 < 3000);
    assert_int_equal(creds_imds_instance_id(s->http, &v), HAF_EHTTP);
    assert_null(v);
    creds_provider_free(p);
    /* Disabled (any case of "true"): not even tried. */
    setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
    p = provider(NULL, s->http);
    assert_int_equal(creds_get(p, t0, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "imds: disabled"));
    creds_provider_free(p);
}

static void
test_creds_get_container_full_uri(void **state)
{
    struct server_fixture *s = *state;
    struct env_fixture *f = s->env;
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512], url[128], *tokfile;

    snprintf(url, sizeof(url), "%s/ecs/creds", s->base);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic c2VjcmV0LXRvaw==", 1);
    p = provider(NULL, s->http);
    assert_int_equal(creds_get(p, wall_ms(), &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->source, "container");
    assert_string_equal(c->access_key_id, "ASIATEST000000000001");
    creds_provider_free(p);
    /* The token file wins over the variable, and is read with its trailing newline trimmed. */
    tokfile = write_file(f, "tok", "Basic c2VjcmV0LXRvaw==\n");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    p = provider(NULL, s->http);
    assert_int_equal(creds_get(p, wall_ms(), &c, why, sizeof(why)), HAF_OK);
    creds_provider_free(p);
    /* A wrong token: the server says 401, and the chain does not fall through to IMDS. */
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    p = provider(NULL, s->http);
    assert_int_equal(creds_get(p, wall_ms(), &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "container: endpoint answered HTTP 401"));
    assert_null(strstr(why, "wrong"));
    creds_provider_free(p);
    /* CR/LF in the token: refused before any request. */
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\r\nX-Injected: 1", 1);
    p = provider(NULL, s->http);
    assert_int_equal(creds_get(p, wall_ms(), &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "CR, LF"));
    creds_provider_free(p);
    assert_int_equal(server_get(s, "/_stats", "unauthorized"), 1);
    /* A full URI to an arbitrary http host is refused. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://198.51.100.7/creds", 1);
    p = provider(NULL, s->http);
    assert_int_equal(creds_get(p, wall_ms(), &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "must be https"));
    creds_provider_free(p);
    free(tokfile);
}

/* ---- STS against moto (run by tests/integration/creds_sts.sh) ---- */

static int
moto_setup(void **state)
{
    struct server_fixture *s = calloc(1, sizeof(*s));
    struct http_opts o = {.verify = true, .connect_timeout_ms = 2000, .timeout_ms = 10000};

    env_setup((void **)&s->env);
    s->http = http_client_new(&o);
    *state = s;
    return 0;
}

static int
moto_teardown(void **state)
{
    struct server_fixture *s = *state;

    http_client_free(s->http);
    env_teardown((void **)&s->env);
    free(s);
    return 0;
}

/* The base credentials and role come from the script, saved before env_setup cleared them. */
static const char *moto_url, *moto_key, *moto_secret, *moto_role, *moto_phase;

static void
test_creds_get_assume_role_via_moto(void **state)
{
    struct server_fixture *s = *state;
    struct creds_opts o = {.role_arn = moto_role,
                           .external_id = "ext-123",
                           .session_name = "haf-test",
                           .sts_endpoint = moto_url,
                           .region = "us-east-1"};
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512];

    if (moto_url == NULL)
        skip();
    setenv("AWS_ACCESS_KEY_ID", moto_key, 1);
    setenv("AWS_SECRET_ACCESS_KEY", moto_secret, 1);
    p = creds_provider_new(&o, s->http);
    assert_int_equal(creds_get(p, wall_ms(), &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->source, "assume-role");
    assert_string_not_equal(c->access_key_id, moto_key);
    assert_non_null(c->session_token);
    assert_true(c->expiration_ms > wall_ms() + 3000000);
    creds_provider_free(p);
    /* The endpoint can also come from AWS_ENDPOINT_URL_STS. */
    o.sts_endpoint = NULL;
    setenv("AWS_ENDPOINT_URL_STS", moto_url, 1);
    p = creds_provider_new(&o, s->http);
    assert_int_equal(creds_get(p, wall_ms(), &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->source, "assume-role");
    creds_provider_free(p);
    if (strcmp(moto_phase, "auth") == 0) {
        /* With IAM auth on, a wrong secret must be refused by the signature check. */
        setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-wrong-secret", 1);
        p = creds_provider_new(&o, s->http);
        assert_int_equal(creds_get(p, wall_ms(), &c, why, sizeof(why)), HAF_ECREDS);
        print_message("refused as expected: %s\n", why);
        assert_non_null(strstr(why, "assume-role: STS answered HTTP 403"));
        assert_non_null(strstr(why, moto_key));   /* the key id may be named... */
        assert_null(strstr(why, "wrong-secret")); /* ...the secret never */
        creds_provider_free(p);
    }
}

static void
test_creds_get_web_identity_via_moto(void **state)
{
    struct server_fixture *s = *state;
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512], *tok;

    if (moto_url == NULL || strcmp(moto_phase, "noauth") != 0)
        skip(); /* AssumeRoleWithWebIdentity is unsigned: moto with IAM auth on refuses it */
    tok = write_file(s->env, "token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2ln\n");
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tok, 1);
    setenv("AWS_ROLE_ARN", moto_role, 1);
    setenv("AWS_ROLE_SESSION_NAME", "haf-web", 1);
    setenv("AWS_ENDPOINT_URL", moto_url, 1);
    p = provider(NULL, s->http);
    assert_int_equal(creds_get(p, wall_ms(), &c, why, sizeof(why)), HAF_OK);
    assert_string_equal(c->source, "web-identity");
    assert_non_null(c->session_token);
    /* The token file is re-read at every refresh: a missing file fails the refresh. */
    unlink(tok);
    creds_invalidate(p);
    assert_int_equal(creds_get(p, wall_ms(), &c, why, sizeof(why)), HAF_OK); /* old kept */
    assert_non_null(strstr(why, "web-identity: cannot read"));
    creds_provider_free(p);
    /* Only one of the two variables: an error, not a fall-through. */
    unsetenv("AWS_ROLE_ARN");
    p = provider(NULL, s->http);
    assert_int_equal(creds_get(p, wall_ms(), &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "must both be set"));
    creds_provider_free(p);
    free(tok);
}

static void
test_creds_get_assume_role_refuses_plain_http_remote(void **state)
{
    struct server_fixture *s = *state;
    struct creds_opts o = {.role_arn = "arn:aws:iam::123456789012:role/x",
                           .sts_endpoint = "http://sts.example.com"};
    struct creds_provider *p;
    const struct aws_creds *c = NULL;
    char why[512];

    setenv("AWS_ACCESS_KEY_ID", "AKIABASE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "baseSecret", 1);
    p = creds_provider_new(&o, s->http);
    assert_int_equal(creds_get(p, T0_MS, &c, why, sizeof(why)), HAF_ECREDS);
    assert_non_null(strstr(why, "must be an https URL"));
    assert_non_null(strstr(why, "AKIABASE"));
    assert_null(strstr(why, "baseSecret"));
    creds_provider_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_creds_parse_iso8601_accepts_aws_forms),
        cmocka_unit_test(test_creds_parse_iso8601_rejects_malformed),
        cmocka_unit_test(test_creds_refresh_at_margin_or_half_lifetime),
        cmocka_unit_test(test_creds_parse_ini_reads_profiles),
        cmocka_unit_test(test_creds_parse_ini_config_sections_and_precedence),
        cmocka_unit_test(test_creds_parse_ini_refuses_oversize_and_nul),
        cmocka_unit_test(test_creds_parse_json_reads_imds_and_ecs),
        cmocka_unit_test(test_creds_parse_json_refuses_bad_documents),
        cmocka_unit_test(test_creds_parse_sts_xml_reads_credentials),
        cmocka_unit_test(test_creds_parse_sts_xml_reports_errors),
        cmocka_unit_test(test_creds_container_url_allowed_hosts),
        cmocka_unit_test_setup_teardown(test_creds_get_environment_first, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_fifo_paths_refused_without_blocking,
                                        env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_imds_endpoint_env_checked, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_environment_half_set_is_an_error, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_profile_from_files, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_default_home_files, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_nothing_found_says_why, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_refreshes_keeps_old_and_recovers, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_creds_invalidate_forces_refresh_of_static_keys,
                                        env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_env_expired_is_refused, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_creds_resolve_region_from_environment, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_imds_v2_flow, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_dev_null_shared_files_reach_imds,
                                        server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_imds_failed_refresh_keeps_old, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_wall_clock_step_back_retries_now,
                                        server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_async_imds_one_call_per_turn, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_async_stalled_imds_never_blocks,
                                        server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_imds_refreshes_short_lived_for_real,
                                        server_setup_short, server_teardown),
        cmocka_unit_test_setup_teardown(test_creds_imds_region_and_instance_id, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_imds_unreachable_is_bounded, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_container_full_uri, server_setup_container,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_assume_role_refuses_plain_http_remote,
                                        moto_setup, moto_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_assume_role_via_moto, moto_setup,
                                        moto_teardown),
        cmocka_unit_test_setup_teardown(test_creds_get_web_identity_via_moto, moto_setup,
                                        moto_teardown),
    };

    moto_url = getenv("HAF_CREDS_MOTO_URL");
    moto_key = getenv("HAF_CREDS_MOTO_KEY");
    moto_secret = getenv("HAF_CREDS_MOTO_SECRET");
    moto_role = getenv("HAF_CREDS_MOTO_ROLE");
    moto_phase = getenv("HAF_CREDS_MOTO_PHASE");
    if (!moto_url || !moto_key || !moto_secret || !moto_role || !moto_phase)
        moto_url = NULL;
    if (moto_url != NULL) {
        /* Under tests/integration/creds_sts.sh: only the tests that need moto. */
        const struct CMUnitTest sts[] = {
            cmocka_unit_test_setup_teardown(test_creds_get_assume_role_via_moto, moto_setup,
                                            moto_teardown),
            cmocka_unit_test_setup_teardown(test_creds_get_web_identity_via_moto, moto_setup,
                                            moto_teardown),
        };
        return cmocka_run_group_tests_name("creds_sts", sts, NULL, NULL);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_cwl.c: the CloudWatch Logs client.
 *
 * Three layers of cases:
 * - cwl_classify on hand-built answers (pure): every class, Smithy type sanitizing, the header
 *   winning over the body, XML errors, hostile messages, transport outcomes;
 * - the whole client against tests/tools/hostile_http.py on 127.0.0.1 (forked for the group) with
 *   environment credentials: request bodies and signed headers as sent, clock-skew learning,
 *   GetLogEvents pagination both ways, async PutLogEvents completion;
 * - when MOTO_URL is set (tests/integration/cwl_moto.sh sets it after tests/tools/moto.sh started
 *   moto_server with IAM auth on), the same client against moto: create / already exists /
 *   retention / put / read back, not found, wrong secret, unknown key, a user denied PutLogEvents.
 *   Without MOTO_URL those cases are skipped, and the integration test runs them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haf/creds.h"
#include "haf/cwl.h"
#include "haf/cwl_rules.h"
#include "haf/http.h"

#define TEST_AKID   "AKIDEXAMPLE"
#define TEST_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static pid_t srv_pid = -1;
static int srv_port;
/* moto's credentials, saved before the hostile cases overwrite the environment. */
static char *moto_url, *moto_akid, *moto_secret, *denied_akid, *denied_secret;

static char *
dup_env(const char *name)
{
    const char *v = getenv(name);

    return v && v[0] ? strdup(v) : NULL;
}

static int
group_setup(void **state)
{
    const char *src = getenv("HAF_SOURCE_DIR");
    char script[4096], line[64] = "";
    int fds[2];
    FILE *f;

    (void)state;
    moto_url = dup_env("MOTO_URL");
    moto_akid = dup_env("AWS_ACCESS_KEY_ID");
    moto_secret = dup_env("AWS_SECRET_ACCESS_KEY");
    denied_akid = dup_env("HAF_DENIED_KEY_ID");
    denied_secret = dup_env("HAF_DENIED_SECRET");
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("ALL_PROXY");
    unsetenv("all_proxy");
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    setenv("AWS_CONFIG_FILE", "/dev/null", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    snprintf(script, sizeof(script), "%s/tests/tools/hostile_http.py", src ? src : ".");
    if (pipe(fds) != 0)
        return -1;
    srv_pid = fork();
    if (srv_pid < 0)
        return -1;
    if (srv_pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("python3", "python3", script, "--max-seconds", "280", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL ||
        sscanf(line, "PORT %d", &srv_port) != 1)
        return -1;
    fclose(f);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    if (srv_pid > 0) {
        kill(srv_pid, SIGTERM);
        waitpid(srv_pid, NULL, 0);
    }
    free(moto_url);
    free(moto_akid);
    free(moto_secret);
    free(denied_akid);
    free(denied_secret);
    return 0;
}

/* ---- cwl_classify (pure) ---- */

static void
answer(struct http_response *r, long status, const char *etype, const char *date, const char *body)
{
    http_response_init(r);
    r->outcome = HTTP_ANSWERED;
    r->status = status;
    snprintf(r->error_type, sizeof(r->error_type), "%s", etype ? etype : "");
    snprintf(r->date, sizeof(r->date), "%s", date ? date : "");
    snprintf(r->request_id, sizeof(r->request_id), "%s", "req-1234");
    if (body)
        assert_int_equal(buf_adds(&r->body, body), HAF_OK);
}

static enum cwl_class
classify(long status, const char *etype, const char *body, struct cwl_result *res)
{
    struct http_response r;

    answer(&r, status, etype, NULL, body);
    cwl_classify(&r, res);
    http_response_clean_up(&r);
    return res->cls;
}

static void
test_cwl_classify_ok_empty_and_object(void **state)
{
    struct cwl_result res;

    (void)state;
    assert_int_equal(classify(200, NULL, "", &res), CWL_OK);
    assert_int_equal(res.too_new_start, -1);
    assert_int_equal(res.too_old_end, -1);
    assert_int_equal(res.expired_end, -1);
    assert_string_equal(res.request_id, "req-1234");
    assert_int_equal(res.status, 200);
    assert_int_equal(classify(200, NULL, " \r\n", &res), CWL_OK);
    assert_int_equal(classify(200, NULL, "{}", &res), CWL_OK);
    assert_int_equal(classify(200, NULL, "{\"nextSequenceToken\":\"4961\"}", &res), CWL_OK);
}

static void
test_cwl_classify_ok_rejected_indices(void **state)
{
    struct cwl_result res;

    (void)state;
    assert_int_equal(classify(200, NULL,
                              "{\"rejectedLogEventsInfo\":{\"tooNewLogEventStartIndex\":3,"
                              "\"tooOldLogEventEndIndex\":1,\"expiredLogEventEndIndex\":2}}",
                              &res),
                     CWL_OK);
    assert_int_equal(res.too_new_start, 3);
    assert_int_equal(res.too_old_end, 1);
    assert_int_equal(res.expired_end, 2);
    /* Hostile values: negative, huge real, string: all "absent". */
    assert_int_equal(
        classify(200, NULL,
                 "{\"rejectedLogEventsInfo\":{\"tooNewLogEventStartIndex\":-5,"
                 "\"tooOldLogEventEndIndex\":1e300,\"expiredLogEventEndIndex\":\"1\"}}",
                 &res),
        CWL_OK);
    assert_int_equal(res.too_new_start, -1);
    assert_int_equal(res.too_old_end, -1);
    assert_int_equal(res.expired_end, -1);
}

static void
test_cwl_classify_ok_with_unparsable_body_is_ambiguous(void **state)
{
    struct cwl_result res;

    (void)state;
    assert_int_equal(classify(200, NULL, "<html>captive portal</html>", &res), CWL_AMBIGUOUS);
    assert_int_equal(classify(200, NULL, "{\"rejectedLogEventsInfo\":{", &res), CWL_AMBIGUOUS);
    assert_int_equal(classify(200, NULL, "[1,2]", &res), CWL_AMBIGUOUS);
    assert_int_equal(classify(204, NULL, "\"x\"", &res), CWL_AMBIGUOUS);
}

static void
test_cwl_classify_throttling_retries(void **state)
{
    struct cwl_result res;

    (void)state;
    assert_int_equal(classify(400, NULL,
                              "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}",
                              &res),
                     CWL_RETRY);
    assert_string_equal(res.error_type, "ThrottlingException");
    assert_string_equal(res.message, "Rate exceeded");
    assert_int_equal(res.status, 400);
    assert_int_equal(classify(400, NULL, "{\"__type\":\"TooManyRequestsException\"}", &res),
                     CWL_RETRY);
    assert_int_equal(classify(400, NULL, "{\"__type\":\"OperationAbortedException\"}", &res),
                     CWL_RETRY);
    assert_int_equal(classify(500, NULL, "{\"__type\":\"ServiceUnavailableException\"}", &res),
                     CWL_RETRY);
}

static void
test_cwl_classify_status_fallbacks(void **state)
{
    struct cwl_result res;

    (void)state;
    assert_int_equal(classify(500, NULL, "", &res), CWL_RETRY);
    assert_int_equal(classify(503, NULL, "<html>Service Unavailable</html>", &res), CWL_RETRY);
    assert_string_equal(res.message, "<html>Service Unavailable</html>");
    assert_int_equal(classify(502, NULL, "{\"__type\":\"SomethingNew\"}", &res), CWL_RETRY);
    assert_int_equal(classify(429, NULL, "", &res), CWL_RETRY);
    assert_int_equal(classify(403, NULL, "", &res), CWL_ACCESS_DENIED);
    assert_int_equal(classify(401, NULL, "{}", &res), CWL_ACCESS_DENIED);
    assert_int_equal(classify(404, NULL, "", &res), CWL_INVALID);
    assert_int_equal(classify(400, NULL, "{\"__type\":\"SomethingNew\"}", &res), CWL_INVALID);
    assert_int_equal(classify(302, NULL, "", &res), CWL_INVALID);
    assert_int_equal(classify(0, NULL, "", &res), CWL_INVALID);
}

static void
test_cwl_classify_smithy_sanitizing(void **state)
{
    struct cwl_result res;

    (void)state;
    assert_int_equal(classify(400, NULL,
                              "{\"__type\":\"com.amazonaws.logs#ResourceNotFoundException:http://"
                              "internal.amazon.com/coral/\",\"message\":\"The specified log "
                              "stream does not exist.\"}",
                              &res),
                     CWL_NOT_FOUND);
    assert_string_equal(res.error_type, "ResourceNotFoundException");
    assert_string_equal(res.message, "The specified log stream does not exist.");
    assert_int_equal(
        classify(400, "ThrottlingException:http://internal.amazon.com/coral/", "", &res),
        CWL_RETRY);
    assert_string_equal(res.error_type, "ThrottlingException");
    assert_int_equal(
        classify(400, "aws.protocoltests.restjson#ResourceAlreadyExistsException", NULL, &res),
        CWL_ALREADY_EXISTS);
    assert_string_equal(res.error_type, "ResourceAlreadyExistsException");
    /* After the FIRST '#': "a#b#c" is "b#c", an unknown type, so the status decides. */
    assert_int_equal(classify(400, "a#ThrottlingException#x", NULL, &res), CWL_INVALID);
    assert_string_equal(res.error_type, "ThrottlingException#x");
    /* Cut at ':' first: nothing left. */
    assert_int_equal(classify(503, ":ThrottlingException", NULL, &res), CWL_RETRY);
    assert_string_equal(res.error_type, "");
}

static void
test_cwl_classify_header_wins_over_body(void **state)
{
    struct cwl_result res;

    (void)state;
    assert_int_equal(classify(400, "ThrottlingException",
                              "{\"__type\":\"InvalidParameterException\",\"message\":\"m\"}", &res),
                     CWL_RETRY);
    assert_string_equal(res.message, "m");
    /* "__type" before "code". */
    assert_int_equal(classify(400, NULL,
                              "{\"code\":\"AccessDeniedException\",\"__type\":"
                              "\"ResourceNotFoundException\"}",
                              &res),
                     CWL_NOT_FOUND);
    assert_int_equal(
        classify(400, NULL,
                 "{\"code\":\"AccessDeniedException\",\"Message\":\"not authorized: logs:Put\"}",
                 &res),
        CWL_ACCESS_DENIED);
    assert_string_equal(res.message, "not authorized: logs:Put");
}

static void
test_cwl_classify_clock_skew(void **state)
{
    struct http_response r;
    struct cwl_result res;

    (void)state;
    answer(&r, 400, NULL, "Wed, 04 May 2016 00:56:33 GMT",
           "{\"__type\":\"InvalidSignatureException\",\"message\":\"Signature expired: "
           "20160504T004903Z is now earlier than 20160504T005133Z (20160504T005633Z - 5 min.)\"}");
    cwl_classify(&r, &res);
    assert_int_equal(res.cls, CWL_CLOCK_SKEW);
    assert_int_equal(res.server_time_ms, 1462323393000LL);
    http_response_clean_up(&r);
    assert_int_equal(classify(400, NULL,
                              "{\"__type\":\"InvalidSignatureException\",\"message\":\"Signature "
                              "not yet current: 20160504T011133Z is still later than ...\"}",
                              &res),
                     CWL_CLOCK_SKEW);
    assert_int_equal(res.server_time_ms, 0);
    assert_int_equal(classify(400, NULL, "{\"__type\":\"RequestExpired\"}", &res), CWL_CLOCK_SKEW);
    /* Any other InvalidSignatureException is a signing problem, not the clock. */
    assert_int_equal(classify(400, NULL,
                              "{\"__type\":\"InvalidSignatureException\",\"message\":\"The "
                              "request signature we calculated does not match\"}",
                              &res),
                     CWL_ACCESS_DENIED);
}

static void
test_cwl_classify_refresh_creds(void **state)
{
    struct cwl_result res;

    (void)state;
    assert_int_equal(classify(403, NULL, "{\"__type\":\"ExpiredTokenException\"}", &res),
                     CWL_REFRESH_CREDS);
    assert_int_equal(classify(400, NULL, "{\"__type\":\"ExpiredToken\"}", &res), CWL_REFRESH_CREDS);
}

static void
test_cwl_classify_access_denied_family(void **state)
{
    static const char *types[] = {"AccessDenied",
                                  "AccessDeniedException",
                                  "UnrecognizedClientException",
                                  "SignatureDoesNotMatch",
                                  "IncompleteSignature",
                                  "InvalidClientTokenId",
                                  "MissingAuthenticationToken",
                                  "MissingAuthenticationTokenException"};
    struct cwl_result res;
    char body[256];

    (void)state;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        snprintf(body, sizeof(body), "{\"__type\":\"%s\"}", types[i]);
        assert_int_equal(classify(400, NULL, body, &res), CWL_ACCESS_DENIED);
        assert_string_equal(res.error_type, types[i]);
    }
}

static void
test_cwl_classify_invalid_family(void **state)
{
    struct cwl_result res;

    (void)state;
    assert_int_equal(
        classify(400, NULL,
                 "{\"__type\":\"InvalidParameterException\",\"message\":\"The batch of log "
                 "events in a single PutLogEvents request cannot span more than 24 hours.\"}",
                 &res),
        CWL_INVALID);
    assert_string_equal(res.message, "The batch of log events in a single PutLogEvents request "
                                     "cannot span more than 24 hours.");
    assert_int_equal(classify(400, NULL, "{\"__type\":\"SerializationException\"}", &res),
                     CWL_INVALID);
    /* CloudWatch's LimitExceeded means "too many resources": not a throttle. */
    assert_int_equal(classify(400, NULL, "{\"__type\":\"LimitExceededException\"}", &res),
                     CWL_INVALID);
}

static void
test_cwl_classify_legacy_sequence_answers(void **state)
{
    struct cwl_result res;

    (void)state;
    assert_int_equal(classify(400, NULL,
                              "{\"__type\":\"InvalidSequenceTokenException\",\"message\":\"The "
                              "given sequenceToken is invalid.\",\"expectedSequenceToken\":"
                              "\"49613091897100174663800395107016604379691865278635293858\"}",
                              &res),
                     CWL_INVALID_SEQUENCE_TOKEN);
    assert_string_equal(res.expected_sequence_token,
                        "49613091897100174663800395107016604379691865278635293858");
    assert_int_equal(classify(400, NULL,
                              "{\"__type\":\"DataAlreadyAcceptedException\","
                              "\"expectedSequenceToken\":\"4961\"}",
                              &res),
                     CWL_DATA_ALREADY_ACCEPTED);
    assert_string_equal(res.expected_sequence_token, "4961");
}

static void
test_cwl_classify_xml_error(void **state)
{
    struct cwl_result res;

    (void)state;
    assert_int_equal(
        classify(403, NULL,
                 "<?xml version=\"1.0\"?>\n<ErrorResponse><Errors><Error><Code>AccessDenied</Code>"
                 "<Message>User: arn:aws:iam::123456789012:user/haf-denied is not authorized to "
                 "perform: logs:PutLogEvents</Message></Error></Errors></ErrorResponse>",
                 &res),
        CWL_ACCESS_DENIED);
    assert_string_equal(res.error_type, "AccessDenied");
    assert_string_equal(res.message, "User: arn:aws:iam::123456789012:user/haf-denied is not "
                                     "authorized to perform: logs:PutLogEvents");
    /* SignatureDoesNotMatch is denied even with a 400. */
    assert_int_equal(classify(400, NULL, "<Error><Code>SignatureDoesNotMatch</Code></Error>", &res),
                     CWL_ACCESS_DENIED);
    /* An unclosed element is no type: the status decides, the raw body is the message. */
    assert_int_equal(classify(400, NULL, "<Error><Code>ThrottlingException", &res), CWL_INVALID);
    assert_string_equal(res.message, "<Error><Code>ThrottlingException");
}

static void
test_cwl_classify_hostile_message(void **state)
{
    struct http_response r;
    struct cwl_result res;
    static const char body[] = "{\"__type\":\"Invalid\\u0000ParameterException\",\"message\":"
                               "\"a\\u0000b\\u001bc\\u00e9\\n\"}";

    (void)state;
    http_response_init(&r);
    r.outcome = HTTP_ANSWERED;
    r.status = 400;
    assert_int_equal(buf_add(&r.body, body, sizeof(body) - 1), HAF_OK);
    cwl_classify(&r, &res);
    /* NUL and ESC become spaces, the two bytes of U+00E9 become '?': printable ASCII only. */
    assert_string_equal(res.message, "a b c?? ");
    assert_string_equal(res.error_type, "Invalid ParameterException");
    assert_int_equal(res.cls, CWL_INVALID);
    http_response_clean_up(&r);
}

static void
test_cwl_classify_long_message_truncated(void **state)
{
    struct http_response r;
    struct cwl_result res;

    (void)state;
    http_response_init(&r);
    r.outcome = HTTP_ANSWERED;
    r.status = 400;
    assert_int_equal(buf_adds(&r.body, "{\"__type\":\"ThrottlingException\",\"message\":\""),
                     HAF_OK);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(buf_addc(&r.body, 'm'), HAF_OK);
    assert_int_equal(buf_adds(&r.body, "\"}"), HAF_OK);
    cwl_classify(&r, &res);
    assert_int_equal(res.cls, CWL_RETRY);
    assert_int_equal(strlen(res.message), sizeof(res.message) - 1);
    http_response_clean_up(&r);
}

static void
test_cwl_classify_transport_outcomes(void **state)
{
    struct http_response r;
    struct cwl_result res;

    (void)state;
    http_response_init(&r);
    snprintf(r.error, sizeof(r.error), "Couldn't connect to server");
    r.outcome = HTTP_NOT_SENT;
    cwl_classify(&r, &res);
    /* Not sent: a connection error of its own class, not "retry" with throttling and 5xx. */
    assert_int_equal(res.cls, CWL_CONNECTION);
    assert_int_equal(res.status, 0);
    assert_string_equal(res.message, "Couldn't connect to server");
    r.conn_error = HTTP_CONN_REFUSED;
    cwl_classify(&r, &res);
    assert_int_equal(res.cls, CWL_CONNECTION);
    assert_string_equal(res.message, "connection refused: Couldn't connect to server");
    snprintf(r.error, sizeof(r.error), "SSL certificate problem: self-signed certificate");
    r.conn_error = HTTP_CONN_TLS_CERTIFICATE;
    cwl_classify(&r, &res);
    assert_string_equal(res.message,
                        "TLS certificate not trusted: SSL certificate problem: self-signed "
                        "certificate");
    assert_true(cwl_rule_of(CWL_CONNECTION)->retry);
    assert_string_equal(cwl_class_str(CWL_CONNECTION), "connection");
    r.conn_error = HTTP_CONN_NONE;
    r.outcome = HTTP_AMBIGUOUS;
    cwl_classify(&r, &res);
    assert_int_equal(res.cls, CWL_AMBIGUOUS);
    r.outcome = HTTP_TOO_LARGE;
    cwl_classify(&r, &res);
    assert_int_equal(res.cls, CWL_AMBIGUOUS);
    http_response_clean_up(&r);
}

static void
test_cwl_class_str_distinct(void **state)
{
    (void)state;
    for (int a = CWL_OK; a <= CWL_DATA_ALREADY_ACCEPTED; a++) {
        assert_string_not_equal(cwl_class_str((enum cwl_class)a), "unknown");
        for (int b = a + 1; b <= CWL_DATA_ALREADY_ACCEPTED; b++)
            assert_string_not_equal(cwl_class_str((enum cwl_class)a),
                                    cwl_class_str((enum cwl_class)b));
    }
    assert_string_equal(cwl_class_str((enum cwl_class)99), "unknown");
}

/* ---- endpoints ---- */

static void
expect_endpoint(const char *region, const char *want)
{
    char *got = cwl_default_endpoint(region);

    if (want == NULL) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void
test_cwl_default_endpoint_partitions(void **state)
{
    (void)state;
    expect_endpoint("us-east-1", "https://logs.us-east-1.amazonaws.com");
    expect_endpoint("eu-central-1", "https://logs.eu-central-1.amazonaws.com");
    expect_endpoint("cn-north-1", "https://logs.cn-north-1.amazonaws.com.cn");
    expect_endpoint("us-gov-west-1", "https://logs.us-gov-west-1.amazonaws.com");
    expect_endpoint("us-iso-east-1", "https://logs.us-iso-east-1.c2s.ic.gov");
    expect_endpoint("us-isob-east-1", "https://logs.us-isob-east-1.sc2s.sgov.gov");
    expect_endpoint("us-isof-south-1", "https://logs.us-isof-south-1.csp.hci.ic.gov");
    expect_endpoint("eu-isoe-west-1", "https://logs.eu-isoe-west-1.cloud.adc-e.uk");
    expect_endpoint("eusc-de-east-1", "https://logs.eusc-de-east-1.amazonaws.eu");
}

static void
test_cwl_default_endpoint_rejects_bad_regions(void **state)
{
    char long_region[80];

    (void)state;
    memset(long_region, 'a', sizeof(long_region) - 1);
    long_region[sizeof(long_region) - 1] = '\0';
    expect_endpoint(NULL, NULL);
    expect_endpoint("", NULL);
    expect_endpoint("US-EAST-1", NULL);
    expect_endpoint("us-east-1.evil.com/", NULL);
    expect_endpoint("us east", NULL);
    expect_endpoint("-us-east-1", NULL);
    expect_endpoint(long_region, NULL);
}

static void
test_cwl_client_new_rejects_bad_endpoints(void **state)
{
    static const char *bad[] = {"ftp://logs.example", "https://user:pw@logs.example/",
                                "https://",           "https://logs.example/?a=b",
                                "logs.example",       "https://logs example/"};
    struct http_client *h = http_client_new(NULL);

    (void)state;
    assert_non_null(h);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cwl_opts o = {.endpoint = bad[i], .region = "us-east-1"};
        assert_null(cwl_client_new(&o, h, NULL));
    }
    {
        struct cwl_opts o = {.endpoint = NULL, .region = NULL};
        assert_null(cwl_client_new(&o, h, NULL));
    }
    http_client_free(h);
}

/* ---- the client against the hostile server ---- */

struct rig {
    struct http_client *http;
    struct creds_provider *creds;
    struct cwl_client *cwl;
};

static void
rig_open_url(struct rig *r, const char *url, const char *akid, const char *secret,
             const char *token)
{
    struct http_opts ho = {.verify = true, .connect_timeout_ms = 2000, .timeout_ms = 5000};
    struct creds_opts co = {.region = "us-east-1"};
    struct cwl_opts o = {.endpoint = url, .region = "us-east-1"};

    setenv("AWS_ACCESS_KEY_ID", akid, 1);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    if (token)
        setenv("AWS_SESSION_TOKEN", token, 1);
    else
        unsetenv("AWS_SESSION_TOKEN");
    r->http = http_client_new(&ho);
    assert_non_null(r->http);
    r->creds = creds_provider_new(&co, r->http);
    assert_non_null(r->creds);
    r->cwl = cwl_client_new(&o, r->http, r->creds);
    assert_non_null(r->cwl);
}

static void
rig_open(struct rig *r, const char *mode)
{
    char url[256];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s", srv_port, mode);
    rig_open_url(r, url, TEST_AKID, TEST_SECRET, NULL);
}

static void
rig_close(struct rig *r)
{
    cwl_client_free(r->cwl);
    creds_provider_free(r->creds);
    http_client_free(r->http);
}

static void
test_cwl_create_log_group_sends_body(void **state)
{
    struct rig r;
    struct cwl_result res;

    (void)state;
    rig_open(&r, "reflect-body");
    assert_int_equal(
        cwl_create_log_group(r.cwl, "/haf/g", "arn:aws:kms:us-east-1:111122223333:key/k", &res),
        HAF_OK);
    assert_int_equal(res.cls, CWL_INVALID); /* the reflector answers 400 "Reflect" */
    assert_string_equal(res.message, "{\"logGroupName\":\"/haf/g\",\"kmsKeyId\":"
                                     "\"arn:aws:kms:us-east-1:111122223333:key/k\"}");
    assert_int_equal(cwl_create_log_group(r.cwl, "/haf/g", NULL, &res), HAF_OK);
    assert_string_equal(res.message, "{\"logGroupName\":\"/haf/g\"}");
    assert_int_equal(cwl_create_log_stream(r.cwl, "/haf/g", "host/\"quoted\"", &res), HAF_OK);
    assert_string_equal(res.message,
                        "{\"logGroupName\":\"/haf/g\",\"logStreamName\":\"host/\\\"quoted\\\"\"}");
    assert_int_equal(cwl_put_retention_policy(r.cwl, "/haf/g", 365, &res), HAF_OK);
    assert_string_equal(res.message, "{\"logGroupName\":\"/haf/g\",\"retentionInDays\":365}");
    /* Names that are not UTF-8, and nonsense, are refused before anything is sent. */
    assert_int_equal(cwl_create_log_group(r.cwl, "bad\xff", NULL, &res), HAF_EINVAL);
    assert_int_equal(cwl_create_log_stream(r.cwl, "/haf/g", NULL, &res), HAF_EINVAL);
    assert_int_equal(cwl_put_retention_policy(r.cwl, "/haf/g", 0, &res), HAF_EINVAL);
    rig_close(&r);
}

/* CreateLogGroup with every setting of an audit trail's log group; only what is set is sent. */
static void
test_cwl_create_log_group_with_sends_settings(void **state)
{
    static const struct cwl_tag tags[] = {{"team", "security"}, {"cost center", "4711"}};
    struct cwl_group_opts o = {.kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/k",
                               .log_group_class = "STANDARD",
                               .deletion_protection = true,
                               .tags = tags,
                               .n_tags = 2};
    struct cwl_group_opts none = {0},
                          bad_tag = {.tags = (const struct cwl_tag[]){{"k", "\xff"}}, .n_tags = 1};
    struct cwl_result res;
    struct rig r;

    (void)state;
    rig_open(&r, "reflect-body");
    assert_int_equal(cwl_create_log_group_with(r.cwl, "/haf/g", &o, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_INVALID);
    assert_string_equal(
        res.message,
        "{\"logGroupName\":\"/haf/g\",\"kmsKeyId\":\"arn:aws:kms:us-east-1:"
        "111122223333:key/k\",\"tags\":{\"team\":\"security\",\"cost center\":"
        "\"4711\"},\"logGroupClass\":\"STANDARD\",\"deletionProtectionEnabled\":true}");
    assert_int_equal(cwl_create_log_group_with(r.cwl, "/haf/g", &none, &res), HAF_OK);
    assert_string_equal(res.message, "{\"logGroupName\":\"/haf/g\"}");
    assert_int_equal(cwl_create_log_group_with(r.cwl, "/haf/g", &bad_tag, &res), HAF_EINVAL);
    assert_int_equal(cwl_create_log_group_with(r.cwl, "/haf/g", NULL, &res), HAF_EINVAL);
    /* DescribeLogGroups: the request, and a refused answer classified, not parsed */
    {
        struct cwl_group_info info;
        assert_int_equal(cwl_describe_log_group(r.cwl, "/haf/g", &info, &res), HAF_OK);
        assert_int_equal(res.cls, CWL_INVALID);
        assert_string_equal(res.message, "{\"logGroupNamePrefix\":\"/haf/g\",\"limit\":50}");
        assert_false(info.found);
    }
    rig_close(&r);
}

/* The reflected headers as a JSON object (the reflector's message). */
static json_t *
reflected_headers(struct rig *r)
{
    struct cwl_result res;
    json_t *doc;

    assert_int_equal(cwl_create_log_stream(r->cwl, "/haf/g", "s", &res), HAF_OK);
    assert_int_equal(res.cls, CWL_INVALID);
    doc = json_loads(res.message, 0, NULL);
    assert_non_null(doc);
    return doc;
}

static const char *
jstr(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));

    assert_non_null(v);
    return v;
}

static void
test_cwl_request_headers_signed(void **state)
{
    struct rig r;
    json_t *doc;
    char host[64], prefix[256];
    const char *auth, *date;
    time_t now = time(NULL);
    struct tm tm;

    (void)state;
    rig_open(&r, "reflect-headers");
    doc = reflected_headers(&r);
    snprintf(host, sizeof(host), "127.0.0.1:%d", srv_port);
    assert_string_equal(jstr(doc, "host"), host);
    assert_string_equal(jstr(doc, "content-type"), "application/x-amz-json-1.1");
    assert_string_equal(jstr(doc, "x-amz-target"), "Logs_20140328.CreateLogStream");
    assert_string_equal(jstr(doc, "user-agent"), "hsm-audit-forwarder/" HAF_VERSION);
    assert_null(json_object_get(doc, "x-amz-security-token"));
    date = jstr(doc, "x-amz-date");
    assert_int_equal(strlen(date), 16);
    gmtime_r(&now, &tm);
    snprintf(prefix, sizeof(prefix),
             "AWS4-HMAC-SHA256 Credential=" TEST_AKID "/%.8s/us-east-1/logs/aws4_request, "
             "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=",
             date);
    auth = jstr(doc, "authorization");
    assert_int_equal(strncmp(auth, prefix, strlen(prefix)), 0);
    assert_int_equal(strlen(auth), strlen(prefix) + 64);
    json_decref(doc);
    rig_close(&r);
}

static void
test_cwl_request_session_token_signed(void **state)
{
    struct rig r;
    json_t *doc;
    char url[256];

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/reflect-headers", srv_port);
    rig_open_url(&r, url, "ASIAEXAMPLE", TEST_SECRET, "tok-123");
    doc = reflected_headers(&r);
    assert_string_equal(jstr(doc, "x-amz-security-token"), "tok-123");
    assert_non_null(strstr(jstr(doc, "authorization"),
                           "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;"
                           "x-amz-target, Signature="));
    json_decref(doc);
    rig_close(&r);
    unsetenv("AWS_SESSION_TOKEN");
}

/* "20150830T123600Z" to epoch seconds. */
static int64_t
amz_date_seconds(const char *d)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    assert_int_equal(sscanf(d, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static void
test_cwl_clock_skew_learnt_and_applied(void **state)
{
    struct rig r;
    struct cwl_result res;
    int64_t now_ms = (int64_t)time(NULL) * 1000, off;
    json_t *doc;

    (void)state;
    rig_open(&r, "skew");
    assert_int_equal(cwl_clock_offset_ms(r.cwl), 0);
    assert_int_equal(cwl_create_log_stream(r.cwl, "/haf/g", "s", &res), HAF_OK);
    assert_int_equal(res.cls, CWL_CLOCK_SKEW);
    assert_true(res.server_time_ms > now_ms + 3590000 && res.server_time_ms < now_ms + 3610000);
    off = cwl_clock_offset_ms(r.cwl);
    assert_true(off > 3590000 && off < 3610000);
    rig_close(&r);

    /* The offset moves X-Amz-Date (and so the signature's scope). */
    rig_open(&r, "reflect-headers");
    cwl_set_clock_offset_ms(r.cwl, 3600000);
    doc = reflected_headers(&r);
    {
        int64_t sent = amz_date_seconds(jstr(doc, "x-amz-date"));
        int64_t want = (int64_t)time(NULL) + 3600;
        assert_true(sent > want - 10 && sent < want + 10);
    }
    json_decref(doc);
    rig_close(&r);
}

static void
test_cwl_errors_through_client(void **state)
{
    static const struct {
        const char *mode;
        enum cwl_class cls;
        const char *type;
    } cases[] = {
        {"cwl/ResourceNotFoundException", CWL_NOT_FOUND, "ResourceNotFoundException"},
        {"cwl/ResourceAlreadyExistsException", CWL_ALREADY_EXISTS,
         "ResourceAlreadyExistsException"},
        {"cwl/ExpiredTokenException", CWL_REFRESH_CREDS, "ExpiredTokenException"},
        {"cwl/ThrottlingException", CWL_RETRY, "ThrottlingException"},
        {"xml", CWL_ACCESS_DENIED, "AccessDenied"},
        {"500", CWL_RETRY, "InternalFailure"},
        {"truncated", CWL_AMBIGUOUS, ""},
        {"close", CWL_AMBIGUOUS, ""},
        {"nonjson", CWL_AMBIGUOUS, ""},
        {"json", CWL_OK, ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rig r;
        struct cwl_result res;
        rig_open(&r, cases[i].mode);
        assert_int_equal(cwl_create_log_group(r.cwl, "/haf/g", NULL, &res), HAF_OK);
        if (res.cls != cases[i].cls)
            fail_msg("%s: %s, want %s", cases[i].mode, cwl_class_str(res.cls),
                     cwl_class_str(cases[i].cls));
        assert_string_equal(res.error_type, cases[i].type);
        rig_close(&r);
    }
}

static void
test_cwl_connection_refused_retries(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    char url[128];
    struct rig r;
    struct cwl_result res;

    (void)state;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    rig_open_url(&r, url, TEST_AKID, TEST_SECRET, NULL);
    assert_int_equal(cwl_create_log_group(r.cwl, "/haf/g", NULL, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_CONNECTION);
    assert_int_equal(res.status, 0);
    assert_true(strncmp(res.message, "connection refused: ", 20) == 0);
    rig_close(&r);
}

struct collected {
    int n;
    int stop_after; /* 0: never stop */
    int64_t ts[16];
    char msg[16][16];
};

static int
collect(void *ctx, const struct cwl_read_event *ev)
{
    struct collected *c = ctx;

    assert_true(c->n < 16);
    assert_int_equal(strlen(ev->message), ev->message_len);
    c->ts[c->n] = ev->timestamp_ms;
    snprintf(c->msg[c->n], sizeof(c->msg[0]), "%s", ev->message);
    c->n++;
    return c->stop_after > 0 && c->n >= c->stop_after;
}

static void
test_cwl_get_log_events_follows_forward_tokens(void **state)
{
    struct rig r;
    struct cwl_result res;
    struct collected got = {0};

    (void)state;
    rig_open(&r, "pages");
    assert_int_equal(cwl_get_log_events(r.cwl, "/haf/g", "s", 0, 0, 0, collect, &got, &res),
                     HAF_OK);
    assert_int_equal(res.cls, CWL_OK);
    assert_int_equal(got.n, 6);
    for (int i = 0; i < 6; i++) {
        char want[8];
        snprintf(want, sizeof(want), "e%d", i + 1);
        assert_string_equal(got.msg[i], want);
        assert_int_equal(got.ts[i], 1000 * (i + 1));
    }
    /* max_events bounds the read; a non-zero callback return stops it. */
    memset(&got, 0, sizeof(got));
    assert_int_equal(cwl_get_log_events(r.cwl, "/haf/g", "s", 0, 0, 3, collect, &got, &res),
                     HAF_OK);
    assert_int_equal(got.n, 3);
    memset(&got, 0, sizeof(got));
    got.stop_after = 1;
    assert_int_equal(cwl_get_log_events(r.cwl, "/haf/g", "s", 1, 99999, 0, collect, &got, &res),
                     HAF_OK);
    assert_int_equal(got.n, 1);
    rig_close(&r);
}

static void
test_cwl_get_newest_events_skips_empty_pages(void **state)
{
    struct rig r;
    struct cwl_result res;
    struct collected got = {0};

    (void)state;
    rig_open(&r, "pages");
    assert_int_equal(cwl_get_newest_events(r.cwl, "/haf/g", "s", 2, collect, &got, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_OK);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.msg[0], "e5");
    assert_string_equal(got.msg[1], "e6");
    assert_int_equal(cwl_get_newest_events(r.cwl, "/haf/g", "s", 0, collect, &got, &res),
                     HAF_EINVAL);
    rig_close(&r);
}

static void
test_cwl_get_log_events_bounded_pages(void **state)
{
    struct rig r;
    struct cwl_result res;
    struct collected got = {0};

    (void)state;
    rig_open(&r, "pages-forever");
    assert_int_equal(cwl_get_log_events(r.cwl, "/haf/g", "s", 0, 0, 0, collect, &got, &res),
                     HAF_ETOOLONG);
    assert_int_equal(got.n, 0);
    rig_close(&r);
}

static void
test_cwl_get_log_events_errors(void **state)
{
    struct rig r;
    struct cwl_result res;
    struct collected got = {0};

    (void)state;
    rig_open(&r, "cwl/ResourceNotFoundException");
    assert_int_equal(cwl_get_log_events(r.cwl, "/haf/g", "s", 0, 0, 0, collect, &got, &res),
                     HAF_OK);
    assert_int_equal(res.cls, CWL_NOT_FOUND);
    assert_int_equal(cwl_get_newest_events(r.cwl, "/haf/g", "s", 5, collect, &got, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_NOT_FOUND);
    rig_close(&r);
    /* A 200 that is JSON but not a GetLogEvents answer. */
    rig_open(&r, "json");
    assert_int_equal(cwl_get_log_events(r.cwl, "/haf/g", "s", 0, 0, 0, collect, &got, &res),
                     HAF_EPARSE);
    rig_close(&r);
    assert_int_equal(got.n, 0);
}

struct put_rec {
    int calls;
    struct cwl_result res;
};

static void
on_put(void *arg, const struct cwl_result *res)
{
    struct put_rec *p = arg;

    p->calls++;
    p->res = *res;
}

static void
drive(struct http_client *h, int64_t limit_ms)
{
    time_t t0 = time(NULL);

    while (http_in_flight(h) > 0) {
        assert_true((int64_t)(time(NULL) - t0) * 1000 < limit_ms);
        assert_int_equal(http_poll(h, NULL, 0, 200), HAF_OK);
        assert_int_equal(http_run(h), HAF_OK);
    }
}

static const char PUT_BODY[] = "{\"logGroupName\":\"/haf/g\",\"logStreamName\":\"s\",\"logEvents\":"
                               "[{\"timestamp\":1440938160000,\"message\":\"hello world\"}]}";

static void
test_cwl_put_log_events_submit_completes(void **state)
{
    static const struct {
        const char *mode;
        enum cwl_class cls;
    } cases[] = {{"json", CWL_OK},
                 {"rejected", CWL_OK},
                 {"truncated", CWL_AMBIGUOUS},
                 {"cwl/ResourceNotFoundException", CWL_NOT_FOUND},
                 {"reflect-body", CWL_INVALID}};
    enum { N = sizeof(cases) / sizeof(cases[0]) };
    struct rig r[N];
    struct put_rec rec[N];

    (void)state;
    memset(rec, 0, sizeof(rec));
    for (size_t i = 0; i < N; i++) {
        rig_open(&r[i], cases[i].mode);
        assert_int_equal(cwl_put_log_events_submit(r[i].cwl, SPAN_LIT(PUT_BODY), on_put, &rec[i]),
                         HAF_OK);
    }
    for (size_t i = 0; i < N; i++)
        drive(r[i].http, 10000);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(rec[i].calls, 1);
        assert_int_equal(rec[i].res.cls, cases[i].cls);
        rig_close(&r[i]);
    }
    assert_int_equal(rec[1].res.too_new_start, 3);
    assert_int_equal(rec[1].res.too_old_end, 1);
    assert_int_equal(rec[1].res.expired_end, 1);
    assert_int_equal(rec[0].res.too_new_start, -1);
    assert_string_equal(rec[4].res.message, PUT_BODY); /* the body went out unchanged */
}

static void
test_cwl_put_log_events_submit_after_client_free(void **state)
{
    struct rig r;
    struct put_rec a = {0}, b = {0};

    (void)state;
    rig_open(&r, "json");
    assert_int_equal(cwl_put_log_events_submit(r.cwl, SPAN_LIT(PUT_BODY), on_put, &a), HAF_OK);
    assert_int_equal(cwl_put_log_events_submit(r.cwl, SPAN_LIT(PUT_BODY), on_put, &b), HAF_OK);
    assert_int_equal(http_in_flight(r.http), 2);
    /* The cwl client may go first: the done callbacks still run, exactly once each. */
    cwl_client_free(r.cwl);
    r.cwl = NULL;
    drive(r.http, 5000);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(a.res.cls, CWL_OK);
    rig_close(&r);
}

/* ---- asynchronous create and read-back (cwl_async.c) ---- */

struct page_rec {
    int calls;
    struct cwl_result res;
    enum haf_err err;
    char next[64];
    bool has_next;
};

static void
on_page(void *arg, const struct cwl_result *res, enum haf_err err, const char *next)
{
    struct page_rec *p = arg;

    p->calls++;
    p->res = *res;
    p->err = err;
    p->has_next = next != NULL;
    snprintf(p->next, sizeof(p->next), "%s", next ? next : "");
}

static void
test_cwl_create_submit_sends_body_without_blocking(void **state)
{
    struct rig r;
    struct put_rec a = {0}, b = {0}, c = {0};
    char why[256];

    (void)state;
    rig_open(&r, "reflect-body");
    assert_int_equal(
        cwl_create_log_group_submit(r.cwl, "/haf/g", NULL, 3000, on_put, &a, why, sizeof(why)),
        HAF_OK);
    assert_int_equal(
        cwl_create_log_stream_submit(r.cwl, "/haf/g", "s1", 3000, on_put, &b, why, sizeof(why)),
        HAF_OK);
    assert_int_equal(
        cwl_put_retention_policy_submit(r.cwl, "/haf/g", 30, 3000, on_put, &c, why, sizeof(why)),
        HAF_OK);
    /* Submitted, not answered: nothing waited for the server. */
    assert_int_equal(http_in_flight(r.http), 3);
    assert_int_equal(a.calls + b.calls + c.calls, 0);
    drive(r.http, 10000);
    assert_int_equal(a.calls, 1);
    assert_string_equal(a.res.message, "{\"logGroupName\":\"/haf/g\"}");
    assert_int_equal(b.calls, 1);
    assert_string_equal(b.res.message, "{\"logGroupName\":\"/haf/g\",\"logStreamName\":\"s1\"}");
    assert_int_equal(c.calls, 1);
    assert_string_equal(c.res.message, "{\"logGroupName\":\"/haf/g\",\"retentionInDays\":30}");
    /* Refused before anything is sent: done is not called. */
    assert_int_equal(
        cwl_create_log_stream_submit(r.cwl, "bad\xff", "s", 3000, on_put, &b, why, sizeof(why)),
        HAF_EINVAL);
    assert_int_equal(
        cwl_put_retention_policy_submit(r.cwl, "/haf/g", 0, 3000, on_put, &c, why, sizeof(why)),
        HAF_EINVAL);
    assert_int_equal(http_in_flight(r.http), 0);
    assert_int_equal(b.calls + c.calls, 2);
    rig_close(&r);
}

/* The events (first member: collect() sees a struct collected) and the page's outcome. */
struct page_read {
    struct collected got;
    struct page_rec pg;
};

static int
collect_page(void *ctx, const struct cwl_read_event *ev)
{
    return collect(&((struct page_read *)ctx)->got, ev);
}

static void
on_page_read(void *arg, const struct cwl_result *res, enum haf_err err, const char *next)
{
    on_page(&((struct page_read *)arg)->pg, res, err, next);
}

static void
test_cwl_get_log_events_page_submit_pages(void **state)
{
    struct rig r;
    struct page_read pr;
    char token[64] = "";
    int pages = 0;

    (void)state;
    memset(&pr, 0, sizeof(pr));
    rig_open(&r, "pages");
    /* Page after page, each asked for with the token of the answer to the last (readback.c),
     * until the token repeats or is absent. */
    do {
        pr.pg.calls = 0;
        assert_int_equal(cwl_get_log_events_page_submit(r.cwl, "/haf/g", "s", 0, 0, 0,
                                                        pages ? token : NULL, 3000, collect_page,
                                                        on_page_read, &pr, NULL, 0),
                         HAF_OK);
        drive(r.http, 10000);
        assert_int_equal(pr.pg.calls, 1);
        assert_int_equal(pr.pg.err, HAF_OK);
        assert_int_equal(pr.pg.res.cls, CWL_OK);
        snprintf(token, sizeof(token), "%s", pr.pg.next);
        assert_true(++pages < 20);
    } while (pr.pg.has_next);
    assert_int_equal(pr.got.n, 6);
    for (int i = 0; i < 6; i++) {
        char want[8];
        snprintf(want, sizeof(want), "e%d", i + 1);
        assert_string_equal(pr.got.msg[i], want);
    }
    rig_close(&r);
    /* The callback's stop request ends the paging: no token of a next page (before: the token was
     * passed on, and a caller following it read on after being told to stop). */
    memset(&pr, 0, sizeof(pr));
    pr.got.stop_after = 1;
    rig_open(&r, "pages");
    assert_int_equal(cwl_get_log_events_page_submit(r.cwl, "/haf/g", "s", 0, 0, 0, NULL, 3000,
                                                    collect_page, on_page_read, &pr, NULL, 0),
                     HAF_OK);
    drive(r.http, 10000);
    assert_int_equal(pr.pg.calls, 1);
    assert_int_equal(pr.pg.err, HAF_OK);
    assert_int_equal(pr.got.n, 1);
    assert_false(pr.pg.has_next);
    rig_close(&r);
    /* A 200 that is not a GetLogEvents document, and an error answer. */
    memset(&pr, 0, sizeof(pr));
    rig_open(&r, "json");
    assert_int_equal(cwl_get_log_events_page_submit(r.cwl, "/haf/g", "s", 0, 0, 0, NULL, 3000,
                                                    collect_page, on_page_read, &pr, NULL, 0),
                     HAF_OK);
    drive(r.http, 10000);
    assert_int_equal(pr.pg.err, HAF_EPARSE);
    assert_false(pr.pg.has_next);
    rig_close(&r);
    memset(&pr, 0, sizeof(pr));
    rig_open(&r, "cwl/ResourceNotFoundException");
    assert_int_equal(cwl_get_log_events_page_submit(r.cwl, "/haf/g", "s", 0, 0, 0, NULL, 3000,
                                                    collect_page, on_page_read, &pr, NULL, 0),
                     HAF_OK);
    drive(r.http, 10000);
    assert_int_equal(pr.pg.err, HAF_OK);
    assert_int_equal(pr.pg.res.cls, CWL_NOT_FOUND);
    assert_int_equal(pr.got.n, 0);
    rig_close(&r);
}

static void
test_cwl_put_log_events_submit_rejects_bad_args(void **state)
{
    struct rig r;
    struct put_rec a = {0};

    (void)state;
    rig_open(&r, "json");
    assert_int_equal(cwl_put_log_events_submit(r.cwl, SPAN_NULL, on_put, &a), HAF_EINVAL);
    assert_int_equal(cwl_put_log_events_submit(r.cwl, SPAN_LIT(PUT_BODY), NULL, &a), HAF_EINVAL);
    assert_int_equal(http_in_flight(r.http), 0);
    assert_int_equal(a.calls, 0);
    rig_close(&r);
}

/* ---- against moto with IAM auth (MOTO_URL set by tests/integration/cwl_moto.sh) ---- */

static void
moto_rig(struct rig *r, const char *akid, const char *secret)
{
    rig_open_url(r, moto_url, akid, secret, NULL);
}

static void
moto_names(char *group, size_t glen, char *stream, size_t slen)
{
    static int n;

    snprintf(group, glen, "/haf/it/%d-%ld-%d", (int)getpid(), (long)time(NULL), n++);
    snprintf(stream, slen, "host-1/audit.log");
}

static void
put_events_body(struct buf *b, const char *group, const char *stream, int n, int64_t ts)
{
    buf_init(b, 0);
    assert_int_equal(buf_addf(b,
                              "{\"logGroupName\":\"%s\",\"logStreamName\":\"%s\",\"logEvents\":[",
                              group, stream),
                     HAF_OK);
    for (int i = 1; i <= n; i++)
        assert_int_equal(buf_addf(b, "%s{\"timestamp\":%lld,\"message\":\"haf cwl event %d\"}",
                                  i > 1 ? "," : "", (long long)(ts + i), i),
                         HAF_OK);
    assert_int_equal(buf_adds(b, "]}"), HAF_OK);
}

static enum cwl_class
put_sync(struct rig *r, const struct buf *body, struct cwl_result *out)
{
    struct put_rec rec = {0};

    assert_int_equal(cwl_put_log_events_submit(r->cwl, buf_span(body), on_put, &rec), HAF_OK);
    drive(r->http, 20000);
    assert_int_equal(rec.calls, 1);
    if (out)
        *out = rec.res;
    return rec.res.cls;
}

static void
test_cwl_moto_happy_path(void **state)
{
    struct rig r;
    struct cwl_result res;
    struct collected got = {0};
    char group[128], stream[128];
    struct buf body;
    int64_t now = (int64_t)time(NULL) * 1000;
    const char *out = getenv("HAF_CWL_IT_OUT");

    (void)state;
    if (moto_url == NULL)
        skip();
    moto_names(group, sizeof(group), stream, sizeof(stream));
    moto_rig(&r, moto_akid, moto_secret);
    assert_int_equal(cwl_create_log_group(r.cwl, group, NULL, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_OK);
    assert_int_equal(cwl_create_log_group(r.cwl, group, NULL, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_ALREADY_EXISTS);
    assert_string_equal(res.error_type, "ResourceAlreadyExistsException");
    assert_int_equal(cwl_put_retention_policy(r.cwl, group, 365, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_OK);
    assert_int_equal(cwl_create_log_stream(r.cwl, group, stream, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_OK);
    assert_int_equal(cwl_create_log_stream(r.cwl, group, stream, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_ALREADY_EXISTS);

    put_events_body(&body, group, stream, 5, now - 10000);
    assert_int_equal(put_sync(&r, &body, &res), CWL_OK);
    assert_int_equal(res.too_new_start, -1);
    buf_clean_up(&body);

    assert_int_equal(cwl_get_log_events(r.cwl, group, stream, 0, 0, 0, collect, &got, &res),
                     HAF_OK);
    assert_int_equal(res.cls, CWL_OK);
    assert_int_equal(got.n, 5);
    for (int i = 0; i < 5; i++) {
        char want[32];
        snprintf(want, sizeof(want), "haf cwl event %d", i + 1);
        assert_string_equal(got.msg[i], want);
        assert_int_equal(got.ts[i], now - 10000 + i + 1);
    }
    memset(&got, 0, sizeof(got));
    assert_int_equal(cwl_get_newest_events(r.cwl, group, stream, 2, collect, &got, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_OK);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.msg[0], "haf cwl event 4");
    assert_string_equal(got.msg[1], "haf cwl event 5");
    rig_close(&r);
    /* The integration script reads the stream back with the AWS CLI and compares. */
    if (out) {
        FILE *f = fopen(out, "w");
        assert_non_null(f);
        fprintf(f, "%s\n%s\n", group, stream);
        fclose(f);
    }
}

static void
test_cwl_moto_not_found(void **state)
{
    struct rig r;
    struct cwl_result res;
    struct collected got = {0};
    char group[128], stream[128];
    struct buf body;

    (void)state;
    if (moto_url == NULL)
        skip();
    moto_names(group, sizeof(group), stream, sizeof(stream));
    moto_rig(&r, moto_akid, moto_secret);
    assert_int_equal(cwl_create_log_stream(r.cwl, group, stream, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_NOT_FOUND);
    assert_string_equal(res.error_type, "ResourceNotFoundException");
    assert_int_equal(cwl_create_log_group(r.cwl, group, NULL, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_OK);
    put_events_body(&body, group, "missing-stream", 1, (int64_t)time(NULL) * 1000);
    assert_int_equal(put_sync(&r, &body, &res), CWL_NOT_FOUND);
    buf_clean_up(&body);
    assert_int_equal(
        cwl_get_log_events(r.cwl, group, "missing-stream", 0, 0, 0, collect, &got, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_NOT_FOUND);
    assert_int_equal(got.n, 0);
    rig_close(&r);
}

static void
test_cwl_moto_wrong_secret_denied(void **state)
{
    struct rig r;
    struct cwl_result res;
    char group[128], stream[128];

    (void)state;
    if (moto_url == NULL)
        skip();
    moto_names(group, sizeof(group), stream, sizeof(stream));
    moto_rig(&r, moto_akid, "not-the-secret-not-the-secret-not-the-sec");
    assert_int_equal(cwl_create_log_group(r.cwl, group, NULL, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_ACCESS_DENIED);
    assert_string_equal(res.error_type, "SignatureDoesNotMatch");
    rig_close(&r);
}

static void
test_cwl_moto_unknown_key_denied(void **state)
{
    struct rig r;
    struct cwl_result res;
    char group[128], stream[128];

    (void)state;
    if (moto_url == NULL)
        skip();
    moto_names(group, sizeof(group), stream, sizeof(stream));
    moto_rig(&r, "AKIANOSUCHKEYNOSUCH0", "whatever-secret");
    assert_int_equal(cwl_create_log_group(r.cwl, group, NULL, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_ACCESS_DENIED);
    assert_string_equal(res.error_type, "InvalidClientTokenId");
    rig_close(&r);
}

static void
test_cwl_moto_policy_denies_put(void **state)
{
    struct rig r;
    struct cwl_result res;
    char group[128], stream[128];
    struct buf body;

    (void)state;
    if (moto_url == NULL || denied_akid == NULL)
        skip();
    moto_names(group, sizeof(group), stream, sizeof(stream));
    /* The restricted user may create the group and stream, but not put events. */
    moto_rig(&r, denied_akid, denied_secret);
    assert_int_equal(cwl_create_log_group(r.cwl, group, NULL, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_OK);
    assert_int_equal(cwl_create_log_stream(r.cwl, group, stream, &res), HAF_OK);
    assert_int_equal(res.cls, CWL_OK);
    put_events_body(&body, group, stream, 2, (int64_t)time(NULL) * 1000);
    assert_int_equal(put_sync(&r, &body, &res), CWL_ACCESS_DENIED);
    assert_string_equal(res.error_type, "AccessDenied");
    assert_non_null(strstr(res.message, "logs:PutLogEvents"));
    buf_clean_up(&body);
    rig_close(&r);
}

/* Regression (issue 10 §5): one far-future Date in a "Signature expired" answer was adopted as the
 * clock offset, and every later signature (and credential expiry check) used it. */
static void
test_cwl_clock_skew_far_future_not_adopted(void **state)
{
    struct rig r;
    struct cwl_result res;

    (void)state;
    rig_open(&r, "skew-far");
    assert_int_equal(cwl_create_log_stream(r.cwl, "/haf/g", "s", &res), HAF_OK);
    assert_int_equal(res.cls, CWL_CLOCK_SKEW);
    assert_true(res.server_time_ms > (int64_t)time(NULL) * 1000 + CWL_CLOCK_OFFSET_MAX_MS);
    assert_int_equal(cwl_clock_offset_ms(r.cwl), 0);
    rig_close(&r);
}

struct nul_read {
    int n;
    size_t len;
    char msg[8];
};

static int
collect_nul(void *ctx, const struct cwl_read_event *ev)
{
    struct nul_read *c = ctx;

    c->n++;
    c->len = ev->message_len;
    if (ev->message_len <= sizeof(c->msg))
        memcpy(c->msg, ev->message, ev->message_len);
    return 0;
}

/* Regression (issue 10 §5): an event holding U+0000 (another writer's) made every read-back of
 * the stream fail to parse, for ever. */
static void
test_cwl_get_log_events_nul_in_message(void **state)
{
    struct rig r;
    struct cwl_result res;
    struct nul_read got = {0};

    (void)state;
    rig_open(&r, "events-nul");
    assert_int_equal(cwl_get_log_events(r.cwl, "/haf/g", "s", 0, 0, 0, collect_nul, &got, &res),
                     HAF_OK);
    assert_int_equal(res.cls, CWL_OK);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.len, 3);
    assert_memory_equal(got.msg, "a\0b", 3);
    rig_close(&r);
}

/* Regression (issue 10 §5): a read-back page over the response cap (escaped control characters
 * grow ~6x) failed the same way at every attempt; smaller pages are asked for instead. */
static void
test_cwl_get_log_events_too_large_page_retried_smaller(void **state)
{
    struct rig r;
    struct cwl_result res;
    struct collected got = {0};

    (void)state;
    rig_open(&r, "too-large");
    assert_int_equal(cwl_get_log_events(r.cwl, "/haf/g", "s", 0, 0, 0, collect, &got, &res),
                     HAF_OK);
    assert_int_equal(res.cls, CWL_OK);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.msg[0], "small");
    rig_close(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cwl_classify_ok_empty_and_object),
        cmocka_unit_test(test_cwl_classify_ok_rejected_indices),
        cmocka_unit_test(test_cwl_classify_ok_with_unparsable_body_is_ambiguous),
        cmocka_unit_test(test_cwl_classify_throttling_retries),
        cmocka_unit_test(test_cwl_classify_status_fallbacks),
        cmocka_unit_test(test_cwl_classify_smithy_sanitizing),
        cmocka_unit_test(test_cwl_classify_header_wins_over_body),
        cmocka_unit_test(test_cwl_classify_clock_skew),
        cmocka_unit_test(test_cwl_classify_refresh_creds),
        cmocka_unit_test(test_cwl_classify_access_denied_family),
        cmocka_unit_test(test_cwl_classify_invalid_family),
        cmocka_unit_test(test_cwl_classify_legacy_sequence_answers),
        cmocka_unit_test(test_cwl_classify_xml_error),
        cmocka_unit_test(test_cwl_classify_hostile_message),
        cmocka_unit_test(test_cwl_classify_long_message_truncated),
        cmocka_unit_test(test_cwl_classify_transport_outcomes),
        cmocka_unit_test(test_cwl_class_str_distinct),
        cmocka_unit_test(test_cwl_default_endpoint_partitions),
        cmocka_unit_test(test_cwl_default_endpoint_rejects_bad_regions),
        cmocka_unit_test(test_cwl_client_new_rejects_bad_endpoints),
        cmocka_unit_test(test_cwl_create_log_group_sends_body),
        cmocka_unit_test(test_cwl_create_log_group_with_sends_settings),
        cmocka_unit_test(test_cwl_request_headers_signed),
        cmocka_unit_test(test_cwl_request_session_token_signed),
        cmocka_unit_test(test_cwl_clock_skew_learnt_and_applied),
        cmocka_unit_test(test_cwl_clock_skew_far_future_not_adopted),
        cmocka_unit_test(test_cwl_get_log_events_nul_in_message),
        cmocka_unit_test(test_cwl_get_log_events_too_large_page_retried_smaller),
        cmocka_unit_test(test_cwl_errors_through_client),
        cmocka_unit_test(test_cwl_connection_refused_retries),
        cmocka_unit_test(test_cwl_get_log_events_follows_forward_tokens),
        cmocka_unit_test(test_cwl_get_newest_events_skips_empty_pages),
        cmocka_unit_test(test_cwl_get_log_events_bounded_pages),
        cmocka_unit_test(test_cwl_get_log_events_errors),
        cmocka_unit_test(test_cwl_create_submit_sends_body_without_blocking),
        cmocka_unit_test(test_cwl_get_log_events_page_submit_pages),
        cmocka_unit_test(test_cwl_put_log_events_submit_completes),
        cmocka_unit_test(test_cwl_put_log_events_submit_after_client_free),
        cmocka_unit_test(test_cwl_put_log_events_submit_rejects_bad_args),
        cmocka_unit_test(test_cwl_moto_happy_path),
        cmocka_unit_test(test_cwl_moto_not_found),
        cmocka_unit_test(test_cwl_moto_wrong_secret_denied),
        cmocka_unit_test(test_cwl_moto_unknown_key_denied),
        cmocka_unit_test(test_cwl_moto_policy_denies_put),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

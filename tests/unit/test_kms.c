/*
 * test_kms.c: the KMS client against tests/tools/hostile_http.py on 127.0.0.1 (forked for the
 * group), with static credentials from the environment. The request: X-Amz-Target
 * TrentService.Sign / GetPublicKey, SigV4 for service "kms", a body with MessageType RAW, the
 * message in base64 and the algorithm. The answers, which are untrusted: a 200 without Signature
 * or PublicKey, a 200 that is not JSON, a KMS error type, a refused connection, each with its
 * exact code and class; messages over the RAW limit refused before sending. Endpoint resolution:
 * AWS_ENDPOINT_URL_KMS over AWS_ENDPOINT_URL over the region, and plain http off loopback refused.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "haf/creds.h"
#include "haf/http.h"
#include "haf/kms.h"

static pid_t srv_pid = -1;
static int srv_port;
static struct http_client *http;
static struct creds_provider *creds;

static int
group_setup(void **state)
{
    const char *src = getenv("HAF_SOURCE_DIR");
    struct creds_opts co = {.region = "us-east-1"};
    char script[1024], line[64];
    int fds[2];
    FILE *f;

    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_CONFIG_FILE", "/dev/null", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unsetenv("AWS_PROFILE");
    unsetenv("HTTP_PROXY");
    unsetenv("http_proxy");
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
        execlp("python3", "python3", script, "--max-seconds", "120", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL ||
        sscanf(line, "PORT %d", &srv_port) != 1)
        return -1;
    fclose(f);
    http = http_client_new(NULL);
    creds = http ? creds_provider_new(&co, http) : NULL;
    return creds ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void)state;
    creds_provider_free(creds);
    http_client_free(http);
    if (srv_pid > 0) {
        kill(srv_pid, SIGTERM);
        waitpid(srv_pid, NULL, 0);
    }
    return 0;
}

static struct kms_client *
client_at(const char *path)
{
    char url[128];
    struct kms_client *c;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", srv_port, path);
    c = kms_client_new(url, "us-east-1", http, creds);
    assert_non_null(c);
    return c;
}

static void
test_kms_sign_request_is_signed_for_kms(void **state)
{
    struct kms_client *c = client_at("/reflect-headers");
    struct cwl_result res;
    struct buf sig;

    (void)state;
    buf_init(&sig, 0);
    /* the server answers 400 with the request's headers as the message */
    assert_int_equal(kms_sign(c, "alias/k", "ECDSA_SHA_256", SPAN_LIT("hi"), &sig, &res),
                     HAF_EREJECTED);
    assert_non_null(strstr(res.message, "TrentService.Sign"));
    assert_non_null(strstr(res.message, "/us-east-1/kms/aws4_request"));
    assert_non_null(strstr(res.message, "application/x-amz-json-1.1"));
    assert_int_equal(sig.len, 0);
    kms_client_free(c);

    c = client_at("/reflect-body");
    assert_int_equal(kms_sign(c, "alias/k", "ECDSA_SHA_256", SPAN_LIT("hi"), &sig, &res),
                     HAF_EREJECTED);
    assert_non_null(strstr(res.message, "\"MessageType\":\"RAW\""));
    assert_non_null(strstr(res.message, "\"Message\":\"aGk=\""));
    assert_non_null(strstr(res.message, "\"SigningAlgorithm\":\"ECDSA_SHA_256\""));
    assert_non_null(strstr(res.message, "\"KeyId\":\"alias/k\""));
    buf_clean_up(&sig);
    kms_client_free(c);
}

static void
test_kms_untrusted_answers(void **state)
{
    struct kms_client *c;
    struct cwl_result res;
    struct kms_public_key pk;
    struct buf sig;
    char url[64];

    (void)state;
    buf_init(&sig, 0);
    c = client_at("/json"); /* 200, a JSON object without Signature / PublicKey */
    assert_int_equal(kms_sign(c, "k", "ECDSA_SHA_256", SPAN_LIT("m"), &sig, &res), HAF_EPARSE);
    assert_int_equal(kms_get_public_key(c, "k", &pk, &res), HAF_EPARSE);
    kms_client_free(c);
    c = client_at("/nonjson"); /* 200 HTML: not trusted */
    assert_int_equal(kms_sign(c, "k", "ECDSA_SHA_256", SPAN_LIT("m"), &sig, &res), HAF_EREJECTED);
    assert_int_equal(res.cls, CWL_AMBIGUOUS);
    kms_client_free(c);
    c = client_at("/cwl/NotFoundException");
    assert_int_equal(kms_sign(c, "k", "ECDSA_SHA_256", SPAN_LIT("m"), &sig, &res), HAF_EREJECTED);
    assert_string_equal(res.error_type, "NotFoundException");
    kms_client_free(c);
    c = client_at("/500");
    assert_int_equal(kms_get_public_key(c, "k", &pk, &res), HAF_EREJECTED);
    assert_int_equal(res.cls, CWL_RETRY);
    kms_client_free(c);
    /* nothing listens there */
    snprintf(url, sizeof(url), "http://127.0.0.1:1/");
    c = kms_client_new(url, "us-east-1", http, creds);
    assert_int_equal(kms_sign(c, "k", "ECDSA_SHA_256", SPAN_LIT("m"), &sig, &res), HAF_EREJECTED);
    assert_int_equal(res.cls, CWL_CONNECTION);
    /* RAW messages are at most 4096 bytes; nothing is sent */
    {
        static char big[KMS_MAX_MESSAGE_BYTES + 1];
        assert_int_equal(kms_sign(c, "k", "ECDSA_SHA_256", span_make(big, sizeof(big)), &sig, &res),
                         HAF_ETOOLONG);
        assert_int_equal(kms_sign(c, "k", "ECDSA_SHA_256", SPAN_NULL, &sig, &res), HAF_ETOOLONG);
    }
    assert_int_equal(sig.len, 0);
    kms_client_free(c);
    buf_clean_up(&sig);
}

static void
test_kms_endpoint_resolution(void **state)
{
    char *ep;

    (void)state;
    unsetenv("AWS_ENDPOINT_URL_KMS");
    unsetenv("AWS_ENDPOINT_URL");
    ep = kms_endpoint(NULL, "eu-west-1");
    assert_string_equal(ep, "https://kms.eu-west-1.amazonaws.com");
    free(ep);
    ep = kms_endpoint(NULL, "cn-north-1");
    assert_string_equal(ep, "https://kms.cn-north-1.amazonaws.com.cn");
    free(ep);
    setenv("AWS_ENDPOINT_URL", "https://all.example", 1);
    ep = kms_endpoint(NULL, "eu-west-1");
    assert_string_equal(ep, "https://all.example");
    free(ep);
    setenv("AWS_ENDPOINT_URL_KMS", "https://kms.example", 1);
    ep = kms_endpoint(NULL, "eu-west-1");
    assert_string_equal(ep, "https://kms.example");
    free(ep);
    ep = kms_endpoint("https://configured.example", "eu-west-1");
    assert_string_equal(ep, "https://configured.example");
    free(ep);
    /* plain http only to loopback: the session token would travel in clear */
    assert_null(kms_client_new("http://kms.example", "eu-west-1", http, creds));
    unsetenv("AWS_ENDPOINT_URL_KMS");
    unsetenv("AWS_ENDPOINT_URL");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kms_sign_request_is_signed_for_kms),
        cmocka_unit_test(test_kms_untrusted_answers),
        cmocka_unit_test(test_kms_endpoint_resolution),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * test_http.c: the libcurl layer against a real, misbehaving server on 127.0.0.1
 * (tests/tools/hostile_http.py, forked once for the group). Each hostile mode must end in the right
 * outcome class, within its time bound and with a bounded read; keep-alive must reuse one
 * connection; asynchronous requests must complete through http_poll/http_run, each exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stdbool.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haf/http.h"

static pid_t srv_pid = -1;
static int srv_port;

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fork tests/tools/hostile_http.py with extra arguments; its port from the first line it prints. */
static int
spawn_server(const char *tls_cert, const char *tls_key, pid_t *pid, int *port)
{
    const char *src = getenv("HAF_SOURCE_DIR");
    char script[4096], line[64] = "";
    int fds[2];
    FILE *f;

    snprintf(script, sizeof(script), "%s/tests/tools/hostile_http.py", src ? src : ".");
    if (pipe(fds) != 0)
        return -1;
    *pid = fork();
    if (*pid < 0)
        return -1;
    if (*pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (tls_cert)
            execlp("python3", "python3", script, "--max-seconds", "280", "--tls", tls_cert, tls_key,
                   (char *)NULL);
        else
            execlp("python3", "python3", script, "--max-seconds", "280", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL || sscanf(line, "PORT %d", port) != 1)
        return -1;
    fclose(f);
    return 0;
}

static int
server_start(void **state)
{
    (void)state;
    /* The tests talk to 127.0.0.1 only: no proxy from the environment may get in between. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("ALL_PROXY");
    unsetenv("all_proxy");
    unsetenv("NO_PROXY");
    unsetenv("no_proxy");
    return spawn_server(NULL, NULL, &srv_pid, &srv_port);
}

static int
server_stop(void **state)
{
    (void)state;
    if (srv_pid > 0) {
        kill(srv_pid, SIGTERM);
        waitpid(srv_pid, NULL, 0);
    }
    return 0;
}

static void
url_for(char *out, size_t len, const char *mode)
{
    snprintf(out, len, "http://127.0.0.1:%d/%s", srv_port, mode);
}

static struct http_client *
client_with(size_t max_response, long timeout_ms)
{
    struct http_opts o = {.verify = true,
                          .connect_timeout_ms = 2000,
                          .timeout_ms = timeout_ms,
                          .max_response_bytes = max_response};
    struct http_client *c = http_client_new(&o);

    assert_non_null(c);
    return c;
}

/* One blocking GET; returns the elapsed milliseconds. */
static int64_t
get(struct http_client *c, const char *mode, long timeout_ms, struct http_response *r)
{
    char url[256];
    struct http_request req = {.method = "GET", .url = url, .timeout_ms = timeout_ms};
    int64_t t0 = mono_ms();

    url_for(url, sizeof(url), mode);
    assert_int_equal(http_perform(c, &req, r), HAF_OK);
    return mono_ms() - t0;
}

static void
test_http_perform_json_answered(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_response r;
    int64_t ms = 0, now = (int64_t)time(NULL) * 1000;

    (void)state;
    http_response_init(&r);
    get(c, "json", 0, &r);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 200);
    assert_string_equal(buf_cstr(&r.body), "{\"ok\": true, \"path\": \"/json\"}");
    assert_string_equal(r.request_id, "0f2b6e5c-hostile-test-0001");
    assert_string_equal(r.error, "");
    assert_true(http_parse_date(r.date, &ms));
    assert_true(ms > now - 60000 && ms < now + 60000);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_echo_sends_our_headers(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_header h[] = {{"Content-Type", "application/x-amz-json-1.1"},
                              {"X-Amz-Target", "Logs_20140328.PutLogEvents"}};
    char url[256];
    /* A body over 1 KiB would make curl send "Expect: 100-continue" unless we stop it. */
    char body[4096];
    struct http_request req = {.method = "POST",
                               .url = url,
                               .headers = h,
                               .n_headers = 2,
                               .body = body,
                               .body_len = sizeof(body)};
    struct http_response r;
    json_t *doc, *hd;

    (void)state;
    memset(body, 'b', sizeof(body));
    url_for(url, sizeof(url), "echo");
    http_response_init(&r);
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 200);
    doc = json_loadb(r.body.p, r.body.len, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "method")), "POST");
    assert_int_equal(json_string_length(json_object_get(doc, "body")), sizeof(body));
    hd = json_object_get(doc, "headers");
    assert_string_equal(json_string_value(json_array_get(json_object_get(hd, "user-agent"), 0)),
                        "hsm-audit-forwarder/" HAF_VERSION);
    assert_string_equal(json_string_value(json_array_get(json_object_get(hd, "content-type"), 0)),
                        "application/x-amz-json-1.1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(hd, "x-amz-target"), 0)),
                        "Logs_20140328.PutLogEvents");
    assert_null(json_object_get(hd, "expect"));
    json_decref(doc);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_put_with_empty_body(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_header h[] = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
    char url[256];
    struct http_request req = {.method = "PUT", .url = url, .headers = h, .n_headers = 1};
    struct http_response r;
    json_t *doc;

    (void)state;
    url_for(url, sizeof(url), "echo");
    http_response_init(&r);
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.status, 200);
    doc = json_loadb(r.body.p, r.body.len, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "method")), "PUT");
    assert_string_equal(json_string_value(json_object_get(doc, "body")), "");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_object_get(doc, "headers"),
                                                         "x-aws-ec2-metadata-token-ttl-seconds"),
                                         0)),
        "21600");
    json_decref(doc);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_huge_is_too_large(void **state)
{
    struct http_client *c = client_with(65536, 10000);
    struct http_response r;
    int64_t ms;

    (void)state;
    http_response_init(&r);
    ms = get(c, "huge", 0, &r);
    assert_int_equal(r.outcome, HTTP_TOO_LARGE);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.body.len, 0);
    assert_true(ms < 5000);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_huge_chunked_is_too_large(void **state)
{
    struct http_client *c = client_with(65536, 10000);
    struct http_response r;
    int64_t ms;

    (void)state;
    http_response_init(&r);
    ms = get(c, "huge-chunked", 0, &r);
    assert_int_equal(r.outcome, HTTP_TOO_LARGE);
    assert_int_equal(r.body.len, 0);
    assert_true(r.body.cap <= 2 * (65536 + 1)); /* buf doubles, never past twice the cap */
    assert_true(ms < 5000);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_drip_times_out_ambiguous(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_response r;
    int64_t ms;

    (void)state;
    http_response_init(&r);
    ms = get(c, "drip", 700, &r); /* per-request override of the 5 s default */
    assert_int_equal(r.outcome, HTTP_AMBIGUOUS);
    assert_int_equal(r.status, 0);
    assert_true(ms >= 600 && ms < 3000);
    assert_true(r.body.len < 1000);
    assert_true(strlen(r.error) > 0);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_truncated_is_ambiguous(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_response r;

    (void)state;
    http_response_init(&r);
    get(c, "truncated", 0, &r);
    assert_int_equal(r.outcome, HTTP_AMBIGUOUS);
    assert_int_equal(r.status, 0);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_reset_is_ambiguous(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_response r;

    (void)state;
    http_response_init(&r);
    get(c, "reset", 0, &r);
    assert_int_equal(r.outcome, HTTP_AMBIGUOUS);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_close_without_answer_is_ambiguous(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_response r;

    (void)state;
    http_response_init(&r);
    get(c, "close", 0, &r);
    assert_int_equal(r.outcome, HTTP_AMBIGUOUS);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_hang_times_out_ambiguous(void **state)
{
    struct http_client *c = client_with(0, 600);
    struct http_response r;
    int64_t ms;

    (void)state;
    http_response_init(&r);
    ms = get(c, "hang", 0, &r);
    assert_int_equal(r.outcome, HTTP_AMBIGUOUS);
    assert_true(ms >= 500 && ms < 3000);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_nonjson_answered(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_response r;

    (void)state;
    http_response_init(&r);
    get(c, "nonjson", 0, &r);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 200);
    assert_string_equal(buf_cstr(&r.body), "<html><body>captive portal</body></html>");
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_xml_error_answered(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_response r;

    (void)state;
    http_response_init(&r);
    get(c, "xml", 0, &r);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(buf_cstr(&r.body), "<Code>AccessDenied</Code>"));
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_500_answered(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_response r;

    (void)state;
    http_response_init(&r);
    get(c, "500", 0, &r);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 500);
    assert_string_equal(buf_cstr(&r.body), "{\"__type\":\"InternalFailure\"}");
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_error_type_header_captured(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_response r;

    (void)state;
    http_response_init(&r);
    get(c, "cwl/ThrottlingException", 0, &r);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.error_type, "ThrottlingException");
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_redirect_not_followed(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_response r;

    (void)state;
    http_response_init(&r);
    get(c, "redirect", 0, &r);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 302);
    assert_int_equal(r.body.len, 0);
    http_response_clean_up(&r);
    http_client_free(c);
}

/* A port with nobody listening: bind, read the port, close. */
static int
dead_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM, 0), port;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(s);
    return port;
}

static void
test_http_perform_refused_is_not_sent(void **state)
{
    struct http_client *c = client_with(0, 5000);
    char url[128];
    struct http_request req = {.method = "POST", .url = url, .body = "{}", .body_len = 2};
    struct http_response r;

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", dead_port());
    http_response_init(&r);
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_NOT_SENT);
    assert_int_equal(r.status, 0);
    assert_true(strlen(r.error) > 0);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_unresolvable_is_not_sent(void **state)
{
    struct http_client *c = client_with(0, 3000);
    struct http_request req = {.method = "GET", .url = "http://haf-test.invalid/"};
    struct http_response r;

    (void)state;
    http_response_init(&r);
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_NOT_SENT);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_other_protocol_refused(void **state)
{
    struct http_client *c = client_with(0, 3000);
    struct http_request req = {.method = "GET", .url = "file:///etc/passwd"};
    struct http_response r;

    (void)state;
    http_response_init(&r);
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_NOT_SENT);
    assert_int_equal(r.body.len, 0);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_header_injection_einval(void **state)
{
    struct http_client *c = client_with(0, 3000);
    struct http_header bad_value[] = {{"X-Amz-Security-Token", "abc\r\nX-Evil: 1"}};
    struct http_header bad_name[] = {{"X Evil", "1"}};
    char url[256];
    struct http_request req = {.method = "GET", .url = url, .headers = bad_value, .n_headers = 1};
    struct http_response r;

    (void)state;
    url_for(url, sizeof(url), "json");
    http_response_init(&r);
    assert_int_equal(http_perform(c, &req, &r), HAF_EINVAL);
    req.headers = bad_name;
    assert_int_equal(http_perform(c, &req, &r), HAF_EINVAL);
    req.headers = NULL;
    req.n_headers = 0;
    req.url = "http://127.0.0.1/a b";
    assert_int_equal(http_perform(c, &req, &r), HAF_EINVAL);
    assert_int_equal(r.body.len, 0);
    http_response_clean_up(&r);
    http_client_free(c);
}

static long
stats_connections(struct http_client *c)
{
    struct http_response r;
    json_t *doc;
    long n;

    http_response_init(&r);
    get(c, "stats", 0, &r);
    assert_int_equal(r.status, 200);
    doc = json_loadb(r.body.p, r.body.len, 0, NULL);
    assert_non_null(doc);
    n = (long)json_integer_value(json_object_get(doc, "connections"));
    json_decref(doc);
    http_response_clean_up(&r);
    return n;
}

static void
test_http_perform_keepalive_reuses_connection(void **state)
{
    struct http_client *probe = client_with(0, 5000), *c = client_with(0, 5000);
    struct http_response r;
    long before, after;

    (void)state;
    before = stats_connections(probe);
    http_response_init(&r);
    get(c, "json", 0, &r);
    assert_int_equal(r.status, 200);
    get(c, "json", 0, &r); /* the previous response is freed and replaced */
    assert_int_equal(r.status, 200);
    after = stats_connections(c);
    assert_int_equal(after - before, 1);
    http_response_clean_up(&r);
    http_client_free(c);
    http_client_free(probe);
}

struct done_rec {
    int calls;
    enum http_outcome outcome;
    long status;
    size_t body_len;
};

static void
on_done(void *arg, const struct http_response *resp)
{
    struct done_rec *d = arg;

    d->calls++;
    d->outcome = resp->outcome;
    d->status = resp->status;
    d->body_len = resp->body.len;
}

static void
run_until_idle(struct http_client *c, int64_t limit_ms)
{
    int64_t t0 = mono_ms();

    while (http_in_flight(c) > 0) {
        assert_true(mono_ms() - t0 < limit_ms);
        assert_int_equal(http_poll(c, NULL, 0, 200), HAF_OK);
        assert_int_equal(http_run(c), HAF_OK);
    }
}

static void
test_http_submit_several_complete(void **state)
{
    static const char *modes[] = {"json", "500", "truncated", "close", "echo", "nonjson", "json"};
    enum { N = sizeof(modes) / sizeof(modes[0]) };
    struct http_client *c = client_with(0, 5000);
    struct done_rec rec[N];
    char url[256];

    (void)state;
    memset(rec, 0, sizeof(rec));
    for (size_t i = 0; i < N; i++) {
        struct http_request req = {.method = "POST", .url = url, .body = "{}", .body_len = 2};
        url_for(url, sizeof(url), modes[i]);
        assert_int_equal(http_submit(c, &req, on_done, &rec[i]), HAF_OK);
    }
    assert_int_equal(http_in_flight(c), N);
    run_until_idle(c, 10000);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(rec[i].calls, 1);
    assert_int_equal(rec[0].outcome, HTTP_ANSWERED);
    assert_int_equal(rec[0].status, 200);
    assert_int_equal(rec[1].status, 500);
    assert_int_equal(rec[2].outcome, HTTP_AMBIGUOUS);
    assert_int_equal(rec[3].outcome, HTTP_AMBIGUOUS);
    assert_int_equal(rec[4].status, 200);
    assert_true(rec[4].body_len > 0);
    assert_int_equal(rec[5].status, 200);
    assert_int_equal(rec[6].status, 200);
    http_client_free(c);
}

static void
test_http_submit_reuses_connections(void **state)
{
    struct http_client *probe = client_with(0, 5000), *c = client_with(0, 5000);
    struct done_rec rec[3];
    char url[256];
    long before, after;

    (void)state;
    memset(rec, 0, sizeof(rec));
    before = stats_connections(probe);
    url_for(url, sizeof(url), "json");
    /* Sequential async requests: the second and third find the first's connection idle. */
    for (size_t i = 0; i < 3; i++) {
        struct http_request req = {.method = "GET", .url = url};
        assert_int_equal(http_submit(c, &req, on_done, &rec[i]), HAF_OK);
        run_until_idle(c, 5000);
        assert_int_equal(rec[i].calls, 1);
        assert_int_equal(rec[i].status, 200);
    }
    after = stats_connections(probe);
    assert_int_equal(after - before, 1);
    http_client_free(c);
    http_client_free(probe);
}

static void
test_http_poll_returns_for_extra_fd(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct http_waitfd w;
    int p[2];
    int64_t t0;

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    w = (struct http_waitfd){.fd = p[0], .events = POLLIN};
    t0 = mono_ms();
    assert_int_equal(http_poll(c, &w, 1, 5000), HAF_OK);
    assert_true(mono_ms() - t0 < 1000);
    assert_true(w.revents & POLLIN);
    close(p[0]);
    close(p[1]);
    http_client_free(c);
}

static void
test_http_poll_timeout_and_wakeup(void **state)
{
    struct http_client *c = client_with(0, 5000);
    int64_t t0;

    (void)state;
    t0 = mono_ms();
    assert_int_equal(http_poll(c, NULL, 0, 100), HAF_OK);
    assert_true(mono_ms() - t0 >= 90);
    http_wakeup(c);
    t0 = mono_ms();
    assert_int_equal(http_poll(c, NULL, 0, 5000), HAF_OK);
    assert_true(mono_ms() - t0 < 1000);
    http_client_free(c);
}

static void
test_http_client_free_completes_pending(void **state)
{
    struct http_client *c = client_with(0, 30000);
    struct done_rec rec = {0};
    char url[256];
    struct http_request req = {.method = "GET", .url = url};

    (void)state;
    url_for(url, sizeof(url), "hang");
    assert_int_equal(http_submit(c, &req, on_done, &rec), HAF_OK);
    assert_int_equal(http_poll(c, NULL, 0, 100), HAF_OK);
    assert_int_equal(http_run(c), HAF_OK);
    assert_int_equal(rec.calls, 0);
    http_client_free(c);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.outcome, HTTP_AMBIGUOUS);
}

static void
test_http_submit_rejects_bad_request(void **state)
{
    struct http_client *c = client_with(0, 5000);
    struct done_rec rec = {0};
    struct http_request req = {.method = "GET", .url = NULL};

    (void)state;
    assert_int_equal(http_submit(c, &req, on_done, &rec), HAF_EINVAL);
    req.url = "http://127.0.0.1/";
    req.body_len = 5; /* a length without a body */
    assert_int_equal(http_submit(c, &req, on_done, &rec), HAF_EINVAL);
    assert_int_equal(http_in_flight(c), 0);
    http_client_free(c);
    assert_int_equal(rec.calls, 0);
}

/* ---- TLS (a self-signed certificate for 127.0.0.1, made fresh) ---- */

static pid_t tls_pid = -1;
static int tls_port;
static char tls_dir[] = "/tmp/haf-http-tls-XXXXXX";
static char tls_cert[128], tls_key[128], other_cert[128];

static int
tls_setup(void **state)
{
    char cmd[1024];

    (void)state;
    memcpy(tls_dir, "/tmp/haf-http-tls-XXXXXX", sizeof(tls_dir)); /* mkdtemp rewrote it */
    if (mkdtemp(tls_dir) == NULL)
        return -1;
    snprintf(tls_cert, sizeof(tls_cert), "%s/cert.pem", tls_dir);
    snprintf(tls_key, sizeof(tls_key), "%s/key.pem", tls_dir);
    snprintf(other_cert, sizeof(other_cert), "%s/other.pem", tls_dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s -out %s -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
             "-days 2 >/dev/null 2>&1 && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s/other.key -out %s -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -days 2 >/dev/null 2>&1",
             tls_key, tls_cert, tls_dir, other_cert);
    if (system(cmd) != 0)
        return -1;
    return spawn_server(tls_cert, tls_key, &tls_pid, &tls_port);
}

static int
tls_teardown(void **state)
{
    char cmd[256];

    (void)state;
    if (tls_pid > 0) {
        kill(tls_pid, SIGTERM);
        waitpid(tls_pid, NULL, 0);
        tls_pid = -1;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tls_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
tls_get(const char *ca_file, bool verify, struct http_response *r)
{
    struct http_opts o = {.verify = verify, .ca_file = ca_file, .timeout_ms = 5000};
    struct http_client *c = http_client_new(&o);
    char url[128];
    struct http_request req = {.method = "GET", .url = url};

    assert_non_null(c);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/json", tls_port);
    http_response_init(r);
    assert_int_equal(http_perform(c, &req, r), HAF_OK);
    http_client_free(c);
}

static void
test_http_perform_tls_untrusted_is_not_sent(void **state)
{
    struct http_response r;

    (void)state;
    tls_get(NULL, true, &r); /* system CAs do not know our certificate */
    assert_int_equal(r.outcome, HTTP_NOT_SENT);
    assert_int_equal(r.status, 0);
    http_response_clean_up(&r);
    tls_get(other_cert, true, &r); /* the wrong CA file */
    assert_int_equal(r.outcome, HTTP_NOT_SENT);
    http_response_clean_up(&r);
}

static void
test_http_perform_tls_ca_file_answered(void **state)
{
    struct http_response r;

    (void)state;
    tls_get(tls_cert, true, &r);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 200);
    assert_string_equal(buf_cstr(&r.body), "{\"ok\": true, \"path\": \"/json\"}");
    http_response_clean_up(&r);
}

static void
test_http_perform_tls_verify_off_answered(void **state)
{
    struct http_response r;

    (void)state;
    tls_get(NULL, false, &r);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 200);
    http_response_clean_up(&r);
}

/* ---- proxies ---- */

static void
test_http_perform_proxy_from_opts(void **state)
{
    char proxy[64];
    struct http_opts o = {.verify = true, .proxy = proxy, .timeout_ms = 5000};
    struct http_client *c;
    struct http_request req = {.method = "GET", .url = "http://haf-test.invalid/json"};
    struct http_response r;

    (void)state;
    /* The host cannot resolve: only an answer through the proxy can come back. */
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", srv_port);
    c = http_client_new(&o);
    assert_non_null(c);
    http_response_init(&r);
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 200);
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_no_proxy_bypasses_proxy(void **state)
{
    char proxy[64], url[128];
    struct http_opts o = {.verify = true, .proxy = proxy, .timeout_ms = 5000};
    struct http_client *c;
    struct http_request req = {.method = "GET", .url = "http://haf-test.invalid/json"};
    struct http_response r;

    (void)state;
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", dead_port());
    c = http_client_new(&o);
    assert_non_null(c);
    http_response_init(&r);
    /* Through the dead proxy: never reaches anything. */
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_NOT_SENT);
    /* no_proxy (metadata endpoints): straight to the server. */
    url_for(url, sizeof(url), "json");
    req.url = url;
    req.no_proxy = true;
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 200);
    http_response_clean_up(&r);
    http_client_free(c);
}

/* Issue 11 §2: a loopback URL never goes through a proxy, from the options or the environment,
 * even when the caller did not ask for no_proxy (the proxy here is dead: only a direct request
 * can be answered). A name that merely starts with "localhost" is not loopback. */
static void
test_http_perform_loopback_never_proxied(void **state)
{
    char proxy[64], url[128], port_url[128];
    struct http_opts o = {.verify = true, .proxy = proxy, .timeout_ms = 5000};
    struct http_client *c;
    struct http_request req = {.method = "GET", .url = url};
    struct http_response r;

    (void)state;
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", dead_port());
    url_for(url, sizeof(url), "json");
    c = http_client_new(&o);
    assert_non_null(c);
    http_response_init(&r);
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 200);
    snprintf(port_url, sizeof(port_url), "HTTP://LOCALHOST:%d/json", srv_port);
    req.url = port_url;
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    snprintf(port_url, sizeof(port_url), "http://localhost.haf-test.invalid:%d/json", srv_port);
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_NOT_SENT); /* to the dead proxy */
    http_client_free(c);
    /* The same with the proxy in the environment. */
    c = client_with(0, 5000);
    setenv("http_proxy", proxy, 1);
    req.url = url;
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 200);
    unsetenv("http_proxy");
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_perform_env_proxy_honoured(void **state)
{
    char proxy[64], url[128];
    struct http_client *c = client_with(0, 5000);
    struct http_request req = {.method = "GET", .url = "http://haf-test.invalid/json"};
    struct http_response r;

    (void)state;
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", srv_port);
    setenv("http_proxy", proxy, 1);
    http_response_init(&r);
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_ANSWERED);
    assert_int_equal(r.status, 200);
    /* NO_PROXY names the host: the proxy is skipped, and the name does not resolve. */
    setenv("NO_PROXY", "haf-test.invalid", 1);
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.outcome, HTTP_NOT_SENT);
    unsetenv("NO_PROXY");
    /* Loopback straight through no_proxy even with a proxy in the environment. */
    url_for(url, sizeof(url), "json");
    req.url = url;
    setenv("http_proxy", "http://127.0.0.1:1", 1);
    req.no_proxy = true;
    assert_int_equal(http_perform(c, &req, &r), HAF_OK);
    assert_int_equal(r.status, 200);
    unsetenv("http_proxy");
    http_response_clean_up(&r);
    http_client_free(c);
}

static void
test_http_parse_date_imf_fixdate(void **state)
{
    int64_t ms = 0;

    (void)state;
    assert_true(http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", &ms));
    assert_int_equal(ms, 784111777000LL);
    assert_true(http_parse_date("Mon, 04 May 2016 00:56:33 GMT", &ms));
    assert_int_equal(ms, 1462323393000LL);
}

static void
test_http_parse_date_rejects_garbage(void **state)
{
    int64_t ms = 42;

    (void)state;
    assert_false(http_parse_date(NULL, &ms));
    assert_false(http_parse_date("", &ms));
    assert_false(http_parse_date("not a date at all", &ms));
    assert_int_equal(ms, 42);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_perform_json_answered),
        cmocka_unit_test(test_http_perform_echo_sends_our_headers),
        cmocka_unit_test(test_http_perform_put_with_empty_body),
        cmocka_unit_test(test_http_perform_huge_is_too_large),
        cmocka_unit_test(test_http_perform_huge_chunked_is_too_large),
        cmocka_unit_test(test_http_perform_drip_times_out_ambiguous),
        cmocka_unit_test(test_http_perform_truncated_is_ambiguous),
        cmocka_unit_test(test_http_perform_reset_is_ambiguous),
        cmocka_unit_test(test_http_perform_close_without_answer_is_ambiguous),
        cmocka_unit_test(test_http_perform_hang_times_out_ambiguous),
        cmocka_unit_test(test_http_perform_nonjson_answered),
        cmocka_unit_test(test_http_perform_xml_error_answered),
        cmocka_unit_test(test_http_perform_500_answered),
        cmocka_unit_test(test_http_perform_error_type_header_captured),
        cmocka_unit_test(test_http_perform_redirect_not_followed),
        cmocka_unit_test(test_http_perform_refused_is_not_sent),
        cmocka_unit_test(test_http_perform_unresolvable_is_not_sent),
        cmocka_unit_test(test_http_perform_other_protocol_refused),
        cmocka_unit_test(test_http_perform_header_injection_einval),
        cmocka_unit_test(test_http_perform_keepalive_reuses_connection),
        cmocka_unit_test(test_http_submit_several_complete),
        cmocka_unit_test(test_http_submit_reuses_connections),
        cmocka_unit_test(test_http_poll_returns_for_extra_fd),
        cmocka_unit_test(test_http_poll_timeout_and_wakeup),
        cmocka_unit_test(test_http_client_free_completes_pending),
        cmocka_unit_test(test_http_submit_rejects_bad_request),
        cmocka_unit_test_setup_teardown(test_http_perform_tls_untrusted_is_not_sent, tls_setup,
                                        tls_teardown),
        cmocka_unit_test_setup_teardown(test_http_perform_tls_ca_file_answered, tls_setup,
                                        tls_teardown),
        cmocka_unit_test_setup_teardown(test_http_perform_tls_verify_off_answered, tls_setup,
                                        tls_teardown),
        cmocka_unit_test(test_http_perform_proxy_from_opts),
        cmocka_unit_test(test_http_perform_no_proxy_bypasses_proxy),
        cmocka_unit_test(test_http_perform_loopback_never_proxied),
        cmocka_unit_test(test_http_perform_env_proxy_honoured),
        cmocka_unit_test(test_http_parse_date_imf_fixdate),
        cmocka_unit_test(test_http_parse_date_rejects_garbage),
    };

    return cmocka_run_group_tests(tests, server_start, server_stop);
}

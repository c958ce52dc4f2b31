/*
 * test_sdnotify.c: the systemd notify protocol against a real AF_UNIX datagram socket.
 *
 * Each test binds a receiving socket (a path in a fresh temp directory, or an abstract name),
 * points $NOTIFY_SOCKET at it, runs sdnotify_init() and asserts the exact bytes of every datagram,
 * and that no extra datagram was sent. The watchdog tests set $WATCHDOG_USEC / $WATCHDOG_PID.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "haf/sdnotify.h"
#include "testlib.h"

struct receiver {
    int fd;
    char *dir;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void
clear_env(void)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

/* A receiving socket bound at a path in a temp directory; $NOTIFY_SOCKET names it. */
static void
receiver_open_path(struct receiver *r)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    r->dir = testlib_mkdtemp();
    snprintf(r->path, sizeof(r->path), "%s/notify", r->dir);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->path);
    r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(r->fd >= 0);
    assert_int_equal(bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(setenv("NOTIFY_SOCKET", r->path, 1), 0);
}

/* A receiving socket in the abstract namespace; $NOTIFY_SOCKET is "@name". */
static void
receiver_open_abstract(struct receiver *r)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n;

    r->dir = NULL;
    n = snprintf(r->path, sizeof(r->path), "@haf-test-sdnotify-%ld-%ld", (long)getpid(),
                 (long)time(NULL));
    memcpy(sa.sun_path, r->path, (size_t)n);
    sa.sun_path[0] = '\0';
    r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(r->fd >= 0);
    assert_int_equal(bind(r->fd, (struct sockaddr *)&sa,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
                     0);
    assert_int_equal(setenv("NOTIFY_SOCKET", r->path, 1), 0);
}

static void
receiver_close(struct receiver *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    if (r->dir) {
        testlib_rmtree(r->dir);
        free(r->dir);
        r->dir = NULL;
    }
    clear_env();
}

/* The next datagram, exactly; fails the test when none is waiting. */
static void
expect_datagram(struct receiver *r, const char *want)
{
    char got[SDNOTIFY_MAX_BYTES + 16];
    ssize_t n = recv(r->fd, got, sizeof(got), MSG_DONTWAIT);

    assert_true(n >= 0);
    assert_int_equal((size_t)n, strlen(want));
    assert_memory_equal(got, want, (size_t)n);
}

static void
expect_nothing(struct receiver *r)
{
    char got[16];

    assert_int_equal(recv(r->fd, got, sizeof(got), MSG_DONTWAIT), -1);
}

static uint64_t
monotonic_usec(void)
{
    struct timespec ts;

    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
test_sdnotify_init_unset_is_disabled(void **state)
{
    (void)state;
    clear_env();
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_false(sdnotify_enabled());
    assert_int_equal(sdnotify_ready(), HAF_OK);
    assert_int_equal(sdnotify_send("X=1"), HAF_OK);
    assert_int_equal(sdnotify_status("n=%d", 1), HAF_OK);
    assert_int_equal(sdnotify_reloading(), HAF_OK);
    assert_int_equal(sdnotify_watchdog(), HAF_OK);
    assert_int_equal(sdnotify_watchdog_interval_ms(), 0);
}

static void
test_sdnotify_init_rejects_bad_socket_names(void **state)
{
    char longpath[300];
    static const char *bad[] = {"", "@", "relative/notify", "notify", "/"};

    (void)state;
    clear_env();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(setenv("NOTIFY_SOCKET", bad[i], 1), 0);
        assert_int_equal(sdnotify_init(), HAF_EINVAL);
        assert_false(sdnotify_enabled());
        assert_int_equal(sdnotify_ready(), HAF_OK);
    }
    /* 108 bytes of path leave no room for the NUL: refused. 107 fit. */
    memset(longpath, 'a', sizeof(longpath));
    longpath[0] = '/';
    longpath[108] = '\0';
    assert_int_equal(setenv("NOTIFY_SOCKET", longpath, 1), 0);
    assert_int_equal(sdnotify_init(), HAF_EINVAL);
    longpath[107] = '\0';
    assert_int_equal(setenv("NOTIFY_SOCKET", longpath, 1), 0);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_true(sdnotify_enabled());
    /* An abstract name may use all 108 bytes (no NUL), not 109. */
    memset(longpath, 'b', sizeof(longpath));
    longpath[0] = '@';
    longpath[109] = '\0';
    assert_int_equal(setenv("NOTIFY_SOCKET", longpath, 1), 0);
    assert_int_equal(sdnotify_init(), HAF_EINVAL);
    longpath[108] = '\0';
    assert_int_equal(setenv("NOTIFY_SOCKET", longpath, 1), 0);
    assert_int_equal(sdnotify_init(), HAF_OK);
    clear_env();
    assert_int_equal(sdnotify_init(), HAF_OK);
}

static void
test_sdnotify_send_path_socket_exact_datagrams(void **state)
{
    struct receiver r;

    (void)state;
    clear_env();
    receiver_open_path(&r);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_true(sdnotify_enabled());
    /* The environment is read, not consumed. */
    assert_non_null(getenv("NOTIFY_SOCKET"));
    assert_int_equal(sdnotify_ready(), HAF_OK);
    expect_datagram(&r, "READY=1");
    assert_int_equal(sdnotify_stopping(), HAF_OK);
    expect_datagram(&r, "STOPPING=1");
    assert_int_equal(sdnotify_send("READY=1\nSTATUS=up"), HAF_OK);
    expect_datagram(&r, "READY=1\nSTATUS=up");
    assert_int_equal(sdnotify_extend_timeout_ms(5000), HAF_OK);
    expect_datagram(&r, "EXTEND_TIMEOUT_USEC=5000000");
    expect_nothing(&r);
    receiver_close(&r);
}

static void
test_sdnotify_send_abstract_socket(void **state)
{
    struct receiver r;

    (void)state;
    clear_env();
    receiver_open_abstract(&r);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_true(sdnotify_enabled());
    assert_int_equal(sdnotify_ready(), HAF_OK);
    expect_datagram(&r, "READY=1");
    assert_int_equal(sdnotify_status("shipping %u sources", 2u), HAF_OK);
    expect_datagram(&r, "STATUS=shipping 2 sources");
    expect_nothing(&r);
    receiver_close(&r);
}

static void
test_sdnotify_reloading_sends_monotonic_usec(void **state)
{
    static const char prefix[] = "RELOADING=1\nMONOTONIC_USEC=";
    struct receiver r;
    char got[128];
    uint64_t before, after, stamp = 0;
    ssize_t n;

    (void)state;
    clear_env();
    receiver_open_path(&r);
    assert_int_equal(sdnotify_init(), HAF_OK);
    before = monotonic_usec();
    assert_int_equal(sdnotify_reloading(), HAF_OK);
    after = monotonic_usec();
    n = recv(r.fd, got, sizeof(got) - 1, MSG_DONTWAIT);
    assert_true(n > (ssize_t)(sizeof(prefix) - 1));
    got[n] = '\0';
    assert_memory_equal(got, prefix, sizeof(prefix) - 1);
    for (const char *p = got + sizeof(prefix) - 1; *p; p++) {
        assert_true(*p >= '0' && *p <= '9');
        stamp = stamp * 10 + (uint64_t)(*p - '0');
    }
    assert_true(stamp >= before);
    assert_true(stamp <= after);
    expect_nothing(&r);
    receiver_close(&r);
}

static void
test_sdnotify_status_strips_newlines(void **state)
{
    struct receiver r;

    (void)state;
    clear_env();
    receiver_open_path(&r);
    assert_int_equal(sdnotify_init(), HAF_OK);
    /* A hostile file name must not smuggle in a second assignment. */
    assert_int_equal(sdnotify_status("reading %s", "/x\nREADY=1\n"), HAF_OK);
    expect_datagram(&r, "STATUS=reading /x READY=1 ");
    assert_int_equal(sdnotify_status("%s", ""), HAF_OK);
    expect_datagram(&r, "STATUS=");
    assert_int_equal(sdnotify_status("%c", '\0'), HAF_OK);
    expect_datagram(&r, "STATUS= ");
    expect_nothing(&r);
    receiver_close(&r);
}

static void
test_sdnotify_status_cuts_long_text(void **state)
{
    struct receiver r;
    char *big = malloc(10001);
    char *got = malloc(SDNOTIFY_MAX_BYTES + 64);
    ssize_t n;

    (void)state;
    assert_non_null(big);
    assert_non_null(got);
    memset(big, 'x', 10000);
    big[10000] = '\0';
    clear_env();
    receiver_open_path(&r);
    /* The default receive buffer may be smaller than the datagram on some systems. */
    int rcvbuf = 1 << 16;
    assert_int_equal(setsockopt(r.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_int_equal(sdnotify_status("%s", big), HAF_OK);
    n = recv(r.fd, got, SDNOTIFY_MAX_BYTES + 64, MSG_DONTWAIT);
    assert_int_equal(n, SDNOTIFY_MAX_BYTES);
    assert_memory_equal(got, "STATUS=xxxx", 11);
    assert_int_equal(got[SDNOTIFY_MAX_BYTES - 1], 'x');
    expect_nothing(&r);
    receiver_close(&r);
    free(big);
    free(got);
}

static void
test_sdnotify_send_rejects_bad_state(void **state)
{
    struct receiver r;
    char *big = malloc(SDNOTIFY_MAX_BYTES + 2);

    (void)state;
    assert_non_null(big);
    clear_env();
    receiver_open_path(&r);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_int_equal(sdnotify_send(NULL), HAF_EINVAL);
    assert_int_equal(sdnotify_send(""), HAF_EINVAL);
    memset(big, 'x', SDNOTIFY_MAX_BYTES + 1);
    big[SDNOTIFY_MAX_BYTES + 1] = '\0';
    assert_int_equal(sdnotify_send(big), HAF_EINVAL);
    assert_int_equal(sdnotify_extend_timeout_ms(UINT64_MAX), HAF_EINVAL);
    expect_nothing(&r);
    /* Exactly the cap is allowed. */
    int rcvbuf = 1 << 16;
    assert_int_equal(setsockopt(r.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
    big[SDNOTIFY_MAX_BYTES] = '\0';
    assert_int_equal(sdnotify_send(big), HAF_OK);
    expect_datagram(&r, big);
    receiver_close(&r);
    free(big);
}

static void
test_sdnotify_send_no_listener_is_eio(void **state)
{
    struct receiver r;

    (void)state;
    clear_env();
    receiver_open_path(&r);
    assert_int_equal(sdnotify_init(), HAF_OK);
    close(r.fd);
    r.fd = -1;
    assert_int_equal(unlink(r.path), 0);
    assert_int_equal(sdnotify_ready(), HAF_EIO);
    receiver_close(&r);
}

static void
test_sdnotify_send_full_queue_is_eagain(void **state)
{
    struct receiver r;
    enum haf_err rc = HAF_OK;
    int sent = 0;

    (void)state;
    clear_env();
    receiver_open_path(&r);
    assert_int_equal(sdnotify_init(), HAF_OK);
    /* Nobody reads: the queue fills and a send must fail fast instead of blocking the loop. */
    while (sent < 100000) {
        rc = sdnotify_send("WATCHDOG=1");
        if (rc != HAF_OK)
            break;
        sent++;
    }
    assert_int_equal(rc, HAF_EAGAIN);
    assert_true(sent > 0);
    expect_datagram(&r, "WATCHDOG=1");
    receiver_close(&r);
}

static void
test_sdnotify_watchdog_interval_ms_from_env(void **state)
{
    char pid[32];

    (void)state;
    clear_env();
    assert_int_equal(setenv("WATCHDOG_USEC", "60000000", 1), 0);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_int_equal(sdnotify_watchdog_interval_ms(), 60000);

    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    assert_int_equal(setenv("WATCHDOG_PID", pid, 1), 0);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_int_equal(sdnotify_watchdog_interval_ms(), 60000);

    /* Meant for another process (e.g. we are a child of the service's main process). */
    snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
    assert_int_equal(setenv("WATCHDOG_PID", pid, 1), 0);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_int_equal(sdnotify_watchdog_interval_ms(), 0);
    assert_int_equal(setenv("WATCHDOG_PID", "12x", 1), 0);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_int_equal(sdnotify_watchdog_interval_ms(), 0);
    unsetenv("WATCHDOG_PID");

    /* Below a millisecond still means "on". */
    assert_int_equal(setenv("WATCHDOG_USEC", "500", 1), 0);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_int_equal(sdnotify_watchdog_interval_ms(), 1);
    assert_int_equal(setenv("WATCHDOG_USEC", "18446744073709551615", 1), 0);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_int_equal(sdnotify_watchdog_interval_ms(), UINT64_C(18446744073709551));

    static const char *bad[] = {
        "0", "", "abc", "-5", "1.5", " 60", "18446744073709551616", "999999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(setenv("WATCHDOG_USEC", bad[i], 1), 0);
        assert_int_equal(sdnotify_init(), HAF_OK);
        assert_int_equal(sdnotify_watchdog_interval_ms(), 0);
    }
    clear_env();
}

static void
test_sdnotify_watchdog_sends_only_when_enabled(void **state)
{
    struct receiver r;

    (void)state;
    clear_env();
    receiver_open_path(&r);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_int_equal(sdnotify_watchdog(), HAF_OK);
    expect_nothing(&r);
    assert_int_equal(setenv("WATCHDOG_USEC", "30000000", 1), 0);
    assert_int_equal(sdnotify_init(), HAF_OK);
    assert_int_equal(sdnotify_watchdog(), HAF_OK);
    expect_datagram(&r, "WATCHDOG=1");
    expect_nothing(&r);
    receiver_close(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdnotify_init_unset_is_disabled),
        cmocka_unit_test(test_sdnotify_init_rejects_bad_socket_names),
        cmocka_unit_test(test_sdnotify_send_path_socket_exact_datagrams),
        cmocka_unit_test(test_sdnotify_send_abstract_socket),
        cmocka_unit_test(test_sdnotify_reloading_sends_monotonic_usec),
        cmocka_unit_test(test_sdnotify_status_strips_newlines),
        cmocka_unit_test(test_sdnotify_status_cuts_long_text),
        cmocka_unit_test(test_sdnotify_send_rejects_bad_state),
        cmocka_unit_test(test_sdnotify_send_no_listener_is_eio),
        cmocka_unit_test(test_sdnotify_send_full_queue_is_eagain),
        cmocka_unit_test(test_sdnotify_watchdog_interval_ms_from_env),
        cmocka_unit_test(test_sdnotify_watchdog_sends_only_when_enabled),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_reload.c: the reload request/answer protocol between real processes.
 *
 * A forked child plays the daemon: it receives SIGHUP through a signalfd (as the daemon does),
 * takes the requester with reload_requester() and answers with reload_reply(). The parent is the
 * client, reload_request(), and the tests assert its exit status: 0 once the answer says the new
 * configuration is in use, 1 when it is refused, when the daemon exits without answering, or
 * when nobody answers in time, 2 without a usable pid. reload_requester() refuses a plain SIGHUP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "haf/reload.h"

enum daemon_mode { ANSWER_DONE, ANSWER_REFUSED, EXIT_SILENTLY, STAY_SILENT };

/* The child "daemon": blocks SIGHUP into a signalfd, then acts on the first one as mode says.
 * Its exit status is 0 when the request was recognised as one. */
static pid_t
spawn_daemon(enum daemon_mode mode, int ready_pipe[2])
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        sigset_t mask;
        struct signalfd_siginfo si;
        int fd;
        pid_t from;

        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        fd = signalfd(-1, &mask, 0);
        close(ready_pipe[0]);
        (void)!write(ready_pipe[1], "r", 1);
        close(ready_pipe[1]);
        if (fd < 0 || read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
            _exit(3);
        from = reload_requester(&si);
        if (from != getppid())
            _exit(4);
        if (mode == ANSWER_DONE)
            reload_reply(from, RELOAD_REPLY_DONE);
        else if (mode == ANSWER_REFUSED)
            reload_reply(from, RELOAD_REPLY_REFUSED);
        else if (mode == STAY_SILENT)
            sleep(4);
        _exit(0);
    }
    return pid;
}

static int
run_client(enum daemon_mode mode, int wait_ms, int *child_status)
{
    int p[2];
    char c;
    char pidtext[32];
    pid_t child;
    int rc;

    assert_int_equal(pipe(p), 0);
    child = spawn_daemon(mode, p);
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    snprintf(pidtext, sizeof(pidtext), "%d", (int)child);
    rc = reload_request(pidtext, wait_ms);
    assert_int_equal(waitpid(child, child_status, 0), child);
    return rc;
}

static void
test_reload_request_done(void **state)
{
    int st;

    (void)state;
    assert_int_equal(run_client(ANSWER_DONE, 10000, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
test_reload_request_refused(void **state)
{
    int st;

    (void)state;
    assert_int_equal(run_client(ANSWER_REFUSED, 10000, &st), 1);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
test_reload_request_daemon_exits(void **state)
{
    int st;

    (void)state;
    /* The daemon is reaped only after the client returns, so it is a zombie meanwhile: kill(pid,
     * 0) still succeeds and the client waits out its 2 s. What counts: 1, not a hang. */
    assert_int_equal(run_client(EXIT_SILENTLY, 2000, &st), 1);
}

static void
test_reload_request_no_answer(void **state)
{
    int st;

    (void)state;
    assert_int_equal(run_client(STAY_SILENT, 2000, &st), 1);
}

static void
test_reload_request_bad_pid(void **state)
{
    (void)state;
    assert_int_equal(reload_request(NULL, 1000), 2);
    assert_int_equal(reload_request("", 1000), 2);
    assert_int_equal(reload_request("1", 1000), 2);
    assert_int_equal(reload_request("12a", 1000), 2);
    assert_int_equal(reload_request("-5", 1000), 2);
    assert_int_equal(reload_request("99999999999999999999", 1000), 2);
}

static void
test_reload_requester_plain_sighup(void **state)
{
    struct signalfd_siginfo si;

    (void)state;
    memset(&si, 0, sizeof(si));
    si.ssi_signo = SIGHUP;
    si.ssi_code = SI_USER;
    si.ssi_pid = 1234;
    si.ssi_uid = (uint32_t)getuid();
    assert_int_equal(reload_requester(&si), 0);
    si.ssi_code = SI_QUEUE;
    si.ssi_int = RELOAD_REQUEST_MAGIC + 1;
    assert_int_equal(reload_requester(&si), 0);
    si.ssi_int = RELOAD_REQUEST_MAGIC;
    assert_int_equal(reload_requester(&si), 1234);
    si.ssi_uid = (uint32_t)getuid() + 1;
    assert_int_equal(reload_requester(&si), 0);
    si.ssi_uid = (uint32_t)getuid();
    si.ssi_signo = SIGUSR1;
    assert_int_equal(reload_requester(&si), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reload_request_done),
        cmocka_unit_test(test_reload_request_refused),
        cmocka_unit_test(test_reload_request_daemon_exits),
        cmocka_unit_test(test_reload_request_no_answer),
        cmocka_unit_test(test_reload_request_bad_pid),
        cmocka_unit_test(test_reload_requester_plain_sighup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

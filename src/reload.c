/*
 * reload.c: see reload.h. The client blocks RELOAD_REPLY_SIGNAL before it sends its request, so
 * an answer that comes at once is not lost, then waits for it in one-second slices, checking
 * between them that the daemon still exists (a daemon that dies during a reload never answers).
 * Answers from any other process, or without a value we know, are ignored. The wait is bounded by
 * RELOAD_WAIT_MS, under systemd's own limit for ExecReload=.
 */
#include "haf/reload.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "haf/cmd.h"
#include "haf/log.h"

pid_t
reload_requester(const struct signalfd_siginfo *si)
{
    if (si->ssi_signo != SIGHUP || si->ssi_code != SI_QUEUE ||
        si->ssi_int != RELOAD_REQUEST_MAGIC || si->ssi_uid != (uint32_t)getuid() ||
        si->ssi_pid == 0 || si->ssi_pid > INT32_MAX)
        return 0;
    return (pid_t)si->ssi_pid;
}

void
reload_reply(pid_t pid, enum reload_reply r)
{
    if (pid > 0)
        (void)sigqueue(pid, RELOAD_REPLY_SIGNAL, (union sigval){.sival_int = (int)r});
}

/* A positive decimal pid, digits only, no overflow. */
static pid_t
parse_pid(const char *s)
{
    int64_t v = 0;

    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (*s - '0');
        if (v > INT32_MAX)
            return 0;
    }
    return (pid_t)v;
}

int
reload_request(const char *mainpid, int wait_ms)
{
    pid_t pid = parse_pid(mainpid);
    sigset_t set;
    siginfo_t info;
    const struct timespec slice = {.tv_sec = 1, .tv_nsec = 0};

    log_init(false, 0);
    if (pid <= 1) {
        log_err("--reload: MAINPID is \"%s\", not the daemon's pid (ExecReload= sets it; by hand: "
                "MAINPID="
                "$(systemctl show -p MainPID --value hsm-audit-forwarder) hsm-audit-forwarder "
                "--reload)",
                mainpid != NULL ? mainpid : "");
        return EXIT_USAGE;
    }
    sigemptyset(&set);
    sigaddset(&set, RELOAD_REPLY_SIGNAL);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        log_err("--reload: sigprocmask: %s", strerror(errno));
        return EXIT_RUNTIME;
    }
    if (sigqueue(pid, SIGHUP, (union sigval){.sival_int = RELOAD_REQUEST_MAGIC}) != 0) {
        log_err("--reload: cannot signal the daemon (pid %d): %s", (int)pid, strerror(errno));
        return EXIT_RUNTIME;
    }
    for (int waited = 0; waited < wait_ms; waited += 1000) {
        if (sigtimedwait(&set, &info, &slice) == RELOAD_REPLY_SIGNAL) {
            if (info.si_pid != pid || info.si_code != SI_QUEUE)
                continue;
            if (info.si_value.sival_int == RELOAD_REPLY_DONE)
                return 0;
            if (info.si_value.sival_int == RELOAD_REPLY_REFUSED) {
                log_err("reload refused: the configuration is invalid (the daemon's message "
                        "names the place); the running configuration is kept");
                return EXIT_RUNTIME;
            }
            continue;
        }
        if (kill(pid, 0) != 0 && errno == ESRCH) {
            log_err("reload: the daemon (pid %d) exited before the new configuration was in use",
                    (int)pid);
            return EXIT_RUNTIME;
        }
    }
    log_err("reload: no answer from the daemon (pid %d) within %d s", (int)pid, wait_ms / 1000);
    return EXIT_RUNTIME;
}

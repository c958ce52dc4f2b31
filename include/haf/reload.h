/*
 * reload.h: "systemctl reload" that returns only once the new configuration is in use.
 *
 * systemd 252 (Debian 12) has no Type=notify-reload, and with Type=notify it ends a reload when
 * ExecReload= exits, whatever RELOADING=1/READY=1 the daemon sends afterwards. So ExecReload= runs
 * `hsm-audit-forwarder --reload`, which asks the daemon ($MAINPID) and waits for its answer:
 *
 *   client -> daemon   SIGHUP queued with sigqueue(3), value RELOAD_REQUEST_MAGIC
 *   daemon -> client   RELOAD_REPLY_SIGNAL queued with a value of enum reload_reply, sent when
 *                      the new configuration runs (or at once when it is refused)
 *
 * A plain SIGHUP (kill -HUP, systemctl kill) still reloads, without an answer: the daemon answers
 * only a request carrying the magic value from a process of its own user, so no other process is
 * ever sent a signal it did not ask for. The client needs no /bin/kill (procps), and the signals
 * are within the unit's SystemCallFilter=@system-service.
 */
#ifndef HAF_RELOAD_H
#define HAF_RELOAD_H

#include <signal.h>
#include <stdbool.h>
#include <sys/signalfd.h>
#include <sys/types.h>

#define RELOAD_REQUEST_MAGIC 0x48414652 /* "HAFR" */
#define RELOAD_REPLY_SIGNAL  SIGUSR2
/* systemd's default TimeoutSec= for a reload is 90 s; answer (or give up) before it kills us. */
#define RELOAD_WAIT_MS 85000

enum reload_reply {
    RELOAD_REPLY_DONE = 0,    /* the new configuration is in use */
    RELOAD_REPLY_REFUSED = 1, /* it is invalid; the running one is kept */
};

/* The daemon side: the pid to answer when si is a reload request from a client of our own user,
 * 0 otherwise (a plain SIGHUP). */
pid_t reload_requester(const struct signalfd_siginfo *si);

/* The daemon side: queues the answer to pid (nothing when pid is 0). The result of sigqueue is
 * ignored on purpose: a client that gave up has nothing left to tell. */
void reload_reply(pid_t pid, enum reload_reply r);

/* The client (`--reload`): asks the daemon whose pid is the decimal text mainpid (systemd's
 * $MAINPID) and waits up to wait_ms. Returns the exit status: 0 done, 1 refused, no answer or
 * the daemon gone, 2 no usable pid. Messages go to stderr with sd-daemon priority prefixes. */
int reload_request(const char *mainpid, int wait_ms);

#endif

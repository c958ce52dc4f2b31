/*
 * sdnotify.h: the systemd service notification protocol, spoken directly (no libsystemd).
 *
 * The protocol is documented as stable in sd_notify(3): the service manager passes an AF_UNIX
 * datagram socket address in $NOTIFY_SOCKET (an absolute path, or "@name" for the Linux abstract
 * namespace) and the service sends newline-separated VAR=VALUE assignments as one datagram.
 * The watchdog interval comes from $WATCHDOG_USEC, addressed to the process in $WATCHDOG_PID.
 *
 * sdnotify_init() reads the environment once and unsets nothing, so a re-exec or a child started
 * for a test sees the same variables. Every sender is a no-op returning HAF_OK when the process
 * was not started with $NOTIFY_SOCKET (not under systemd, or Type= is not notify). Sends never
 * block the event loop: a full receive queue gives HAF_EAGAIN, and the caller may just try at the
 * next tick. Each send opens and closes its own socket, as libsystemd does, so no descriptor is
 * kept open (nothing to leak into children, nothing to re-open after the manager restarts).
 *
 * The state is process-wide (one service manager per process), kept in this module.
 */
#ifndef HAF_SDNOTIFY_H
#define HAF_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "haf/err.h"

/*
 * Read $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID. Calling it again re-reads them (tests).
 * HAF_EINVAL when $NOTIFY_SOCKET is set but is neither an absolute path nor "@name", or does not
 * fit a sockaddr_un; the module then stays disabled (every send a no-op) and the caller may log it.
 * A malformed $WATCHDOG_USEC, or a $WATCHDOG_PID naming another process, disables the watchdog
 * only (interval 0), as sd_watchdog_enabled(3) does.
 */
HAF_MUST_USE enum haf_err sdnotify_init(void);

/* Whether a notification socket was found by the last sdnotify_init(). */
bool sdnotify_enabled(void);

/*
 * Send `state` (one or more "VAR=VALUE" lines, separated by '\n') as one datagram.
 * HAF_OK when sent or when disabled; HAF_EINVAL for NULL or empty state, or one longer than
 * SDNOTIFY_MAX_BYTES; HAF_EAGAIN when the manager's queue is full; HAF_EIO for any other failure.
 */
#define SDNOTIFY_MAX_BYTES 4096
HAF_MUST_USE enum haf_err sdnotify_send(const char *state);

/* "READY=1": startup finished, or a reload finished (after sdnotify_reloading()). */
HAF_MUST_USE enum haf_err sdnotify_ready(void);

/*
 * "RELOADING=1\nMONOTONIC_USEC=<CLOCK_MONOTONIC in µs>": a reload (SIGHUP) began. Send
 * sdnotify_ready() when it is done, whatever its outcome. MONOTONIC_USEC is what systemd 253+
 * requires for Type=notify-reload, and older managers ignore it.
 */
HAF_MUST_USE enum haf_err sdnotify_reloading(void);

/* "STOPPING=1": graceful stop began. */
HAF_MUST_USE enum haf_err sdnotify_stopping(void);

/*
 * "STATUS=<text>", formatted printf-style; shown by systemctl status. Newlines in the text are
 * turned into spaces so a file name or an error text can never inject another assignment; a text
 * longer than the datagram cap is cut.
 */
HAF_MUST_USE enum haf_err sdnotify_status(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* "WATCHDOG=1": keep-alive. A no-op (HAF_OK) when the watchdog is not enabled for us. */
HAF_MUST_USE enum haf_err sdnotify_watchdog(void);

/*
 * "EXTEND_TIMEOUT_USEC=<ms * 1000>": ask for more time for the current start, reload or stop
 * (e.g. while a graceful stop still waits for CloudWatch to acknowledge the last batch).
 */
HAF_MUST_USE enum haf_err sdnotify_extend_timeout_ms(uint64_t ms);

/*
 * The watchdog interval from $WATCHDOG_USEC in milliseconds (rounded down, at least 1 when
 * enabled), or 0 when the watchdog is off for this process. Send sdnotify_watchdog() at half this
 * interval, as sd_watchdog_enabled(3) recommends.
 */
uint64_t sdnotify_watchdog_interval_ms(void);

#endif

/*
 * log.h: our own small logger (after OpenBSD's log.c).
 *
 * Two modes: in the foreground (-f), human lines on stderr with a timestamp and level; as a
 * service, one line per message with an sd-daemon priority prefix ("<3>...") so journald keeps
 * severity. errno is preserved across every call. Never pass a secret to these functions.
 */
#ifndef HAF_LOG_H
#define HAF_LOG_H

#include <stdbool.h>

enum log_level {
    LOG_LVL_ERR = 3,
    LOG_LVL_WARNING = 4,
    LOG_LVL_NOTICE = 5,
    LOG_LVL_INFO = 6,
    LOG_LVL_DEBUG = 7,
};

/* verbosity: 0 = info and above, 1 = -v (debug: batches, HTTP statuses), 2 = -vv (each entry). */
void log_init(bool foreground, int verbosity);
int log_verbosity(void);
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed at -v and above. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed at -vv. */
void log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Unrecoverable (out of memory, a broken invariant): logs at error, then abort()s, leaving a core
 * for the post-mortem; the service manager restarts us. Never for anything input can cause. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

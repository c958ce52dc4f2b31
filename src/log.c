/*
 * log.c: see log.h. One write(2)-sized fprintf per line so concurrent writers (there are none; we
 * are single-threaded) and journald see whole lines. The service mode prefixes "<N>" as documented
 * in sd-daemon(3); the foreground mode is for people reading a terminal.
 */
#include "haf/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool log_foreground = true;
static int log_verbose;

void
log_init(bool foreground, int verbosity)
{
    log_foreground = foreground;
    log_verbose = verbosity;
}

int
log_verbosity(void)
{
    return log_verbose;
}

static const char *
level_name(enum log_level lvl)
{
    switch (lvl) {
    case LOG_LVL_ERR:
        return "error";
    case LOG_LVL_WARNING:
        return "warning";
    case LOG_LVL_NOTICE:
        return "notice";
    case LOG_LVL_INFO:
        return "info";
    case LOG_LVL_DEBUG:
        return "debug";
    default:
        return "log";
    }
}

__attribute__((format(printf, 3, 0))) static void
log_vemit(enum log_level lvl, const char *suffix, const char *fmt, va_list ap)
{
    char msg[4096];
    int saved = errno;

    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    if (log_foreground) {
        struct timespec ts;
        struct tm tm;
        char when[32] = "";

        if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && gmtime_r(&ts.tv_sec, &tm) != NULL)
            (void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(stderr, "%s.%03ldZ %-7s %s%s%s\n", when, ts.tv_nsec / 1000000L, level_name(lvl),
                msg, suffix ? ": " : "", suffix ? suffix : "");
    } else {
        fprintf(stderr, "<%d>%s%s%s\n", (int)lvl, msg, suffix ? ": " : "", suffix ? suffix : "");
    }
    errno = saved;
}

#define LOG_FN_(name, lvl, min_verbose)                                                            \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        va_list ap;                                                                                \
        if (log_verbose < (min_verbose))                                                           \
            return;                                                                                \
        va_start(ap, fmt);                                                                         \
        log_vemit(lvl, NULL, fmt, ap);                                                             \
        va_end(ap);                                                                                \
    }

LOG_FN_(log_warnx, LOG_LVL_WARNING, 0)
LOG_FN_(log_err, LOG_LVL_ERR, 0)
LOG_FN_(log_info, LOG_LVL_INFO, 0)
LOG_FN_(log_notice, LOG_LVL_NOTICE, 0)
LOG_FN_(log_debug, LOG_LVL_DEBUG, 1)
LOG_FN_(log_trace, LOG_LVL_DEBUG, 2)

void
log_warn(const char *fmt, ...)
{
    va_list ap;
    const char *why = strerror(errno);

    va_start(ap, fmt);
    log_vemit(LOG_LVL_WARNING, why, fmt, ap);
    va_end(ap);
}

void
fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit(LOG_LVL_ERR, NULL, fmt, ap);
    va_end(ap);
    abort();
}

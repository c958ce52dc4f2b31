/*
 * log.c: see log.h. One write(2)-sized fprintf per line so concurrent writers (there are none; we
 * are single-threaded) and journald see whole lines. The service mode prefixes "<N>" as documented
 * in sd-daemon(3); the foreground mode is for people reading a terminal.
 *
 * Every message is escaped here, after formatting and before it is written, because messages carry
 * untrusted text (file names from the audit directory, stream names, answers from the network)
 * and journald starts a new entry, with whatever "<N>" priority it finds, at each newline. So a
 * line we write is always exactly one line: control bytes (C0, DEL, and the C1 controls and
 * U+2028/U+2029 in UTF-8, which terminals and some viewers treat as controls or line breaks)
 * become \n \r \t or \xNN, a backslash becomes \\ (so an escape in the output always means an
 * escaped byte), bytes that are not valid UTF-8 (utf8.h's rules) become \xNN, and valid UTF-8 is
 * kept. Multi-line text (a list of configuration errors) goes through log_lines, one line each.
 */
#include "haf/log.h"
#include "haf/utf8.h"

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

/* Room for a formatted message; the escaped form takes at most 4 bytes per byte. */
#define LOG_MSG_MAX_BYTES 4096

/* True for the UTF-8 sequence s[0..k) that is a C1 control (U+0080..U+009F) or U+2028/U+2029. */
static bool
seq_is_control(const unsigned char *s, size_t k)
{
    return (k == 2 && s[0] == 0xC2 && s[1] < 0xA0) ||
           (k == 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9));
}

/* The escaped form of src (NUL-terminated) into dst (4 * strlen(src) + 1 bytes at least). */
static void
log_escape(char *dst, const char *src)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)src;
    size_t n = strlen(src), i = 0, o = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t k = 1;

        if (c >= 0x80)
            k = utf8_seq_len(s + i, n - i);
        if (c >= 0x20 && c != 0x7f && c != '\\' && k > 0 && !seq_is_control(s + i, k)) {
            memcpy(dst + o, s + i, k);
            o += k;
            i += k;
            continue;
        }
        /* One escaped byte: the rest of an escaped sequence follows byte by byte. */
        dst[o++] = '\\';
        if (c == '\n' || c == '\r' || c == '\t' || c == '\\') {
            dst[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : '\\';
        } else {
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 0xf];
        }
        i++;
    }
    dst[o] = '\0';
}

__attribute__((format(printf, 3, 0))) static void
log_vemit(enum log_level lvl, const char *suffix, const char *fmt, va_list ap)
{
    char raw[LOG_MSG_MAX_BYTES], msg[4 * LOG_MSG_MAX_BYTES];
    int saved = errno;

    (void)vsnprintf(raw, sizeof(raw), fmt, ap);
    log_escape(msg, raw);
    if (log_foreground) {
        struct timespec ts;
        struct tm tm;
        char when[32] = "";

        if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && gmtime_r(&ts.tv_sec, &tm) != NULL)
            (void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(stderr, "%s.%03ldZ %-7s %s%s%s\n", when, ts.tv_nsec / 1000000L, level_name(lvl),
                msg, suffix ? ": " : "", suffix ? suffix : "");
    } else {
        /* journald reads the priority prefix per line: each line of a multi-line message (a
         * configuration error and its file:line:column details) carries it, so `journalctl -p
         * err` shows all of them. */
        char *line = msg;
        char *nl;

        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            fprintf(stderr, "<%d>%s\n", (int)lvl, line);
            line = nl + 1;
        }
        if (*line != '\0' || suffix != NULL || line == msg)
            fprintf(stderr, "<%d>%s%s%s\n", (int)lvl, line, suffix ? ": " : "",
                    suffix ? suffix : "");
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

__attribute__((format(printf, 2, 3))) static void
log_emitf(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit(lvl, NULL, fmt, ap);
    va_end(ap);
}

void
log_lines(enum log_level lvl, const char *head, const char *text)
{
    const char *p = text;

    if (lvl == LOG_LVL_DEBUG && log_verbose < 1)
        return;
    log_emitf(lvl, "%s", head);
    while (p != NULL && *p != '\0') {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);

        log_emitf(lvl, "  %.*s", len, p);
        p = nl ? nl + 1 : NULL;
    }
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

/*
 * report_time.c: the --since / --until values of `report`: an absolute ISO 8601 time in UTC
 * ("2026-12-06", "2026-12-06T08:00", "2026-12-06T08:00:00Z", "2026-12-06 08:00:00.250Z") or a
 * duration before now ("90s", "30m", "24h", "7d", "2w"). Untrusted command-line text: read with
 * span helpers and explicit range checks, no sscanf or strptime (locale, TZ). The clock is
 * passed in.
 */
#include "haf/report.h"

#include "haf/civil.h"

/* An ASCII digit. Compared as a char: "(unsigned char)c - '0' <= 9" is int arithmetic, where
 * ',' is -4 and passes. */
static inline bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* n digits at s[*i] into *v; false when they are not there. */
static bool
digits(struct span s, size_t *i, size_t n, unsigned *v)
{
    unsigned x = 0;

    if (*i + n > s.len)
        return false;
    for (size_t k = 0; k < n; k++) {
        unsigned d = (unsigned char)s.p[*i + k] - '0';
        if (d > 9)
            return false;
        x = x * 10 + d;
    }
    *i += n;
    *v = x;
    return true;
}

static bool
parse_relative(struct span s, int64_t now_ms, int64_t *out)
{
    uint64_t n;
    int64_t unit;

    if (s.len < 2)
        return false;
    switch (s.p[s.len - 1]) {
    case 's':
        unit = 1000;
        break;
    case 'm':
        unit = 60 * 1000;
        break;
    case 'h':
        unit = 3600 * 1000;
        break;
    case 'd':
        unit = 24 * 3600 * 1000;
        break;
    case 'w':
        unit = 7 * 24 * 3600 * 1000;
        break;
    default:
        return false;
    }
    if (!span_to_u64_dec(span_make(s.p, s.len - 1), &n) || n > (uint64_t)(now_ms / unit))
        return false;
    *out = now_ms - (int64_t)n * unit;
    return true;
}

static bool
parse_iso(struct span s, int64_t *out)
{
    unsigned y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    size_t i = 0;

    if (!digits(s, &i, 4, &y) || i >= s.len || s.p[i++] != '-' || !digits(s, &i, 2, &mo) ||
        i >= s.len || s.p[i++] != '-' || !digits(s, &i, 2, &d))
        return false;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > civil_days_in_month(y, mo))
        return false;
    if (i < s.len && (s.p[i] == 'T' || s.p[i] == ' ')) {
        i++;
        if (!digits(s, &i, 2, &h) || i >= s.len || s.p[i++] != ':' || !digits(s, &i, 2, &mi))
            return false;
        if (i < s.len && s.p[i] == ':') {
            i++;
            if (!digits(s, &i, 2, &sec))
                return false;
            if (i < s.len && s.p[i] == '.') {
                unsigned scale = 100;
                i++;
                if (i >= s.len || !is_digit(s.p[i]))
                    return false;
                for (; i < s.len && is_digit(s.p[i]); i++, scale /= 10)
                    ms += ((unsigned char)s.p[i] - '0') * scale;
            }
        }
        if (h > 23 || mi > 59 || sec > 59)
            return false;
    }
    if (i < s.len && s.p[i] == 'Z')
        i++;
    if (i != s.len)
        return false;
    *out = ((civil_days_from(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + ms;
    return true;
}

enum haf_err
report_parse_time(const char *text, int64_t now_ms, int64_t *out_ms)
{
    struct span s = span_cstr(text);
    int64_t v;

    if (parse_relative(s, now_ms, &v) || parse_iso(s, &v)) {
        *out_ms = v;
        return HAF_OK;
    }
    return HAF_EINVAL;
}

/*
 * civil.h: proleptic Gregorian calendar arithmetic for the timestamps we read (audit entries,
 * credential expirations). Our own, so no timegm, TZ or locale is involved.
 */
#ifndef HAF_CIVIL_H
#define HAF_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

static inline bool
civil_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* m is 1..12. */
static inline unsigned
civil_days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && civil_is_leap(y) ? 29 : dim[m - 1];
}

/* Days since 1970-01-01 (Howard Hinnant's days_from_civil); m 1..12, d 1..31. */
static inline int64_t
civil_days_from(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

#endif

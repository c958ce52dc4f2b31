/*
 * audit_parse.c: the incremental CloudHSM audit-entry parser (interface and rules in audit.h; the
 * format in docs/audit-format.md).
 *
 * How it works. Bytes are cut into lines at '\n'. A line that lies whole inside the fed chunk is
 * processed straight from the caller's memory; only a line split across feeds is copied into
 * `line` (its first max_line_bytes bytes; the rest is only counted). Each complete line is
 * sanitised (trailing CRs stripped, invalid UTF-8 and NUL replaced by U+FFFD, cut at the bound with
 * a marker) and appended to `ent`, the text of the open entry. The decision "this line starts an
 * entry / ends one" is taken on whole lines only, so the result is the same in any chunking. When
 * an entry is complete its fields are parsed in one pass over `ent` (spans point into it, stable
 * during the callback), which keeps the per-line work to a memchr, a sanitising check and a memcpy.
 *
 * Invariants:
 *  - off counts every byte taken; ent_start is the src_end of the last emitted entry (or the reset
 *    offset), so emitted ranges tile the input. Every src_end is a line boundary.
 *  - ent.len <= max_entry_bytes + max_line_bytes + CUT_MARKER_MAX + 1 and line.len <=
 *    max_line_bytes: memory is bounded whatever the input.
 *  - At most one entry is emitted per processed line, so a callback's stop is honoured at the end
 * of that line and *consumed is exact.
 *  - Untrusted bytes are read only through spans and the bounded readers below (no strtol, sscanf,
 *    strlen or ctype); numbers are checked for overflow and a value one past UINT64_MAX flags the
 *    entry instead of wrapping.
 *
 * Trade-offs: the second pass over the entry at emit time costs a few hundred bytes of re-reading
 * per entry, but it keeps field spans valid without relocation when `ent` grows, and keeps the line
 * path branch-light. The export prefix is kept out of `raw` (raw is the entry as CloudHSM delivered
 * it to CloudWatch) and is reported as export_time instead.
 */
#include "haf/audit.h"
#include "haf/civil.h"
#include "haf/utf8.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define AUDIT_DEFAULT_MAX_LINE_BYTES  65536
#define AUDIT_DEFAULT_MAX_ENTRY_BYTES 262144
#define AUDIT_MIN_LINE_BYTES          256
/* "\u2026[cut 18446744073709551615 bytes]" is 3 + 5 + 20 + 7 = 35 bytes. */
#define CUT_MARKER_MAX 48
/* The export prefix token ("2023-04-27T18:33:55.150Z") is short; anything longer is not one. */
#define EXPORT_PREFIX_MAX 64
/* Line starts remembered per entry, so the field pass needs no second newline search; lines past
 * this (only in odd entries) are found with memchr. */
#define LINE_STARTS_MAX 32
/* Offsets into an entry are uint32_t. */
#define AUDIT_MAX_ENTRY_LIMIT (1u << 30)

enum ent_kind {
    ENT_TIME,    /* starts with a Time: line */
    ENT_OUTSIDE, /* text before the first entry or after a blank line */
    ENT_CONT,    /* the rest of an entry split at max_entry_bytes */
};

struct audit_parser {
    size_t max_line;
    size_t max_entry;

    uint64_t off;       /* offset just past the last byte taken */
    uint64_t ent_start; /* src_start of the open entry = src_end of the previous one */

    /* The open entry: [export prefix][raw text], lines joined by '\n'. */
    struct buf ent;
    bool have_ent;
    enum ent_kind kind;
    size_t raw_off; /* length of the export prefix at the start of ent */
    bool split;     /* set on the part emitted when an entry is split */
    bool seen_time; /* a Time entry was emitted since the reset */
    uint32_t e_invalid, e_nul, e_cut;
    uint32_t starts[LINE_STARTS_MAX]; /* line starts, relative to the raw text */
    size_t n_starts;

    /* A line split across feeds. */
    struct buf line;      /* its first max_line bytes */
    uint64_t line_total;  /* bytes of it so far */
    uint64_t line_cr_run; /* trailing CRs so far */
    uint64_t line_start;  /* offset of its first byte */
    bool line_nonblank;

    struct audit_parser_stats stats;
};

/* ---- small bounded readers (static helpers beside include/haf/span.h) ---- */

static inline bool
is_sp(char c)
{
    return c == ' ' || c == '\t';
}

static struct span
trim_sp(struct span s)
{
    while (s.len > 0 && is_sp(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && is_sp(s.p[s.len - 1]))
        s.len--;
    return s;
}

/*
 * First c in [p, end), or end. Audit lines and labels are short (10..60 bytes), where a call to
 * memchr costs more than the search: this looks at 8 bytes per step (the classic "has zero byte"
 * test on x ^ c*0x01..01; the lowest flagged byte is always a true match on little-endian).
 */
static inline const char *
find_byte(const char *p, const char *end, char c)
{
#if defined(__SSE2__)
    const __m128i vc = _mm_set1_epi8(c);

    while (end - p >= 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), vc));
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const uint64_t pat = ones * (unsigned char)c;

    while (end - p >= 8) {
        uint64_t w, t;
        memcpy(&w, p, 8);
        w ^= pat;
        t = (w - ones) & ~w & highs;
        if (t)
            return p + (__builtin_ctzll(t) >> 3);
        p += 8;
    }
#endif
    while (p < end && *p != c)
        p++;
    return p;
}

/*
 * The '\n' in [p, end) (or end), and in *plain whether every byte before it is ASCII and not NUL:
 * the line reader's one pass over the bytes also spares the sanitiser its own.
 */
static inline const char *
find_newline(const char *p, const char *end, bool *plain)
{
    uint64_t bad = 0;
#if defined(__SSE2__)
    /* 16 bytes a step: the '\n' mask, and the high bits plus the NUL mask for *plain. */
    const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();

    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl));
        unsigned b = (unsigned)_mm_movemask_epi8(_mm_or_si128(v, _mm_cmpeq_epi8(v, zero)));
        if (m) {
            unsigned k = (unsigned)__builtin_ctz(m);
            bad |= b & ((1u << k) - 1);
            *plain = bad == 0;
            return p + k;
        }
        bad |= b;
        p += 16;
    }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const uint64_t pat = ones * '\n';

    while (end - p >= 8) {
        uint64_t w, x, t, b;
        memcpy(&w, p, 8);
        x = w ^ pat;
        t = (x - ones) & ~x & highs;
        /* high bit set, or a zero byte (a false positive only sits above a true zero) */
        b = (w & highs) | ((w - ones) & ~w & highs);
        if (t) {
            unsigned k = (unsigned)__builtin_ctzll(t) >> 3;
            if (k)
                bad |= b & (~0ull >> (64 - 8 * k));
            *plain = bad == 0;
            return p + k;
        }
        bad |= b;
        p += 8;
    }
#endif
    while (p < end && *p != '\n') {
        unsigned char c = (unsigned char)*p++;
        bad |= c == 0 || c >= 0x80;
    }
    *plain = bad == 0;
    return p;
}

static inline unsigned
digit(char c)
{
    return (unsigned)(unsigned char)c - '0';
}

/* Like span_to_u64_dec (digits only, leading zeros allowed, overflow refused), without a division
 * per digit; up to 19 digits cannot overflow, so only longer spans pay the check. */
static bool
read_dec(struct span s, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0)
        return false;
    if (s.len <= 19) {
        for (size_t i = 0; i < s.len; i++) {
            unsigned d = (unsigned)(unsigned char)s.p[i] - '0';
            if (d > 9)
                return false;
            v = v * 10 + d;
        }
        *out = v;
        return true;
    }
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned)(unsigned char)s.p[i] - '0';
        if (d > 9)
            return false;
        if (v >= UINT64_MAX / 10 && (v > UINT64_MAX / 10 || d > UINT64_MAX % 10))
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Exactly n decimal digits at s (n <= 6), into *out. */
static bool
read_fixed_dec(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned d = digit(s[i]);
        if (d > 9)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Hex digit value + 1, 0 for a byte that is not a hex digit. */
static const unsigned char hex1[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* "0x" or "0X" then 1..16 significant hex digits (leading zeros allowed), as span_to_u64_hex: up
 * to 16 digits cannot overflow, so only longer spans pay the check. */
static bool
read_hex0x(struct span s, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len < 3 || s.p[0] != '0' || (s.p[1] != 'x' && s.p[1] != 'X'))
        return false;
    if (s.len - 2 <= 16) {
        for (size_t i = 2; i < s.len; i++) {
            unsigned d = hex1[(unsigned char)s.p[i]];
            if (d == 0)
                return false;
            v = (v << 4) | (d - 1);
        }
        *out = v;
        return true;
    }
    return span_to_u64_hex(span_make(s.p + 2, s.len - 2), out);
}

/* Last occurrence of needle in s, or -1. */
static long
span_rfind(struct span s, struct span needle)
{
    if (needle.len == 0 || s.len < needle.len)
        return -1;
    for (size_t i = s.len - needle.len + 1; i-- > 0;) {
        if (s.p[i] == needle.p[0] && memcmp(s.p + i, needle.p, needle.len) == 0)
            return (long)i;
    }
    return -1;
}

/* "NAME (0xHEX)" or "NAME (DEC)": the code is inside the final parentheses. */
static bool
read_named(struct span v, struct haf_named_code *out)
{
    size_t lp;
    struct span inner;
    uint64_t code;

    if (v.len < 3 || v.p[v.len - 1] != ')')
        return false;
    lp = v.len - 1;
    while (lp > 0 && v.p[lp - 1] != '(')
        lp--;
    if (lp == 0)
        return false;
    inner = trim_sp(span_make(v.p + lp, v.len - 1 - lp));
    if (inner.len > 2 && inner.p[0] == '0' && (inner.p[1] == 'x' || inner.p[1] == 'X')) {
        if (!read_hex0x(inner, &code))
            return false;
    } else if (!read_dec(inner, &code)) {
        return false;
    }
    out->name = trim_sp(span_make(v.p, lp - 1));
    out->code = code;
    return true;
}

/* "<dec>:<text>"; success when the text starts "HSM Return" (docs/audit-format.md section 1). */
static bool
read_response(struct span v, struct haf_entry *e)
{
    size_t i = 0;
    uint64_t code;
    struct span text;

    while (i < v.len && v.p[i] != ':')
        i++;
    if (i == v.len || !read_dec(trim_sp(span_make(v.p, i)), &code))
        return false;
    text = trim_sp(span_make(v.p + i + 1, v.len - i - 1));
    e->response_code = code;
    e->response_text = text;
    e->response_success = span_starts_with(text, SPAN_LIT("HSM Return"));
    return true;
}

/* "MM/DD/YY HH:MM:SS.ffffff" (exactly) to epoch microseconds; years are 20YY. */
static bool
read_human_time(struct span s, uint64_t *usecs)
{
    unsigned mo, d, y, h, mi, sec, frac;
    int64_t days;

    if (s.len != 24 || s.p[2] != '/' || s.p[5] != '/' || s.p[8] != ' ' || s.p[11] != ':' ||
        s.p[14] != ':' || s.p[17] != '.')
        return false;
    if (!read_fixed_dec(s.p, 2, &mo) || !read_fixed_dec(s.p + 3, 2, &d) ||
        !read_fixed_dec(s.p + 6, 2, &y) || !read_fixed_dec(s.p + 9, 2, &h) ||
        !read_fixed_dec(s.p + 12, 2, &mi) || !read_fixed_dec(s.p + 15, 2, &sec) ||
        !read_fixed_dec(s.p + 18, 6, &frac))
        return false;
    y += 2000;
    if (mo < 1 || mo > 12 || d < 1 || d > civil_days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60)
        return false;
    days = civil_days_from(y, mo, d);
    *usecs = ((uint64_t)days * 86400u + h * 3600u + mi * 60u + sec) * 1000000u + frac;
    return true;
}

/* "<human>, usecs:<n>" (Time) or "<human>[,] usec:<n>" (TIME_INFO_LOG): split at the last marker;
 * the human part loses trailing spaces and one comma. */
static bool
read_time_pair(struct span v, struct span marker, struct span *human, uint64_t *n)
{
    long at;
    struct span h;

    /* The documented layout, "MM/DD/YY HH:MM:SS.ffffff, usecs:N", without a search: a number
     * after the marker at 26 holds no other marker, so that one is the last. */
    if (v.len > 26 + marker.len && v.p[24] == ',' && v.p[25] == ' ' &&
        memcmp(v.p + 26, marker.p, marker.len) == 0 &&
        read_dec(trim_sp(span_make(v.p + 26 + marker.len, v.len - 26 - marker.len)), n)) {
        h = trim_sp(span_make(v.p, 24));
        *human = h;
        return true;
    }
    at = span_rfind(v, marker);
    if (at < 0)
        return false;
    if (!read_dec(trim_sp(span_make(v.p + at + marker.len, v.len - (size_t)at - marker.len)), n))
        return false;
    h = trim_sp(span_make(v.p, (size_t)at));
    if (h.len > 0 && h.p[h.len - 1] == ',')
        h = trim_sp(span_make(h.p, h.len - 1));
    *human = h;
    return true;
}

/* ---- labels ---- */

enum field_id {
    FID_TIME,
    FID_SEQUENCE_NO,
    FID_REBOOT_COUNTER,
    FID_COMMAND_TYPE,
    FID_OPCODE,
    FID_SESSION_HANDLE,
    FID_RESPONSE,
    FID_LOG_TYPE,
    FID_USER_NAME,
    FID_USER_TYPE,
    FID_PRIV_SECRET_KEY_HANDLE,
    FID_PUBLIC_KEY_HANDLE,
    FID_KEY_HANDLE,
    FID_VERSION_NO,
    FID_USER_ID,
    FID_TARGET_USER_NAME,
    FID_TARGET_USER_TYPE,
    FID_TARGET_USER_ID,
    FID_MFA_ENABLED,
    FID_MECHANISM,
    FID_OPERATION,
    FID_NUMBER_OF_USERS,
    FID_USER_IDS,
    FID_LOCAL_TIME,
    FID_HOST_TIME,
    FID_PROPAGATION_DELAY,
    FID_UNKNOWN,
};

/* Bit i of haf_entry.present is field i (the enum haf_field order). */
_Static_assert((1u << FID_PROPAGATION_DELAY) == HAF_F_PROPAGATION_DELAY &&
                   (1u << FID_USER_NAME) == HAF_F_USER_NAME &&
                   (1u << FID_LOG_TYPE) == HAF_F_LOG_TYPE,
               "enum field_id must follow enum haf_field");
static const char *const field_bad[FID_UNKNOWN] = {
    "bad Time",
    "bad Sequence No",
    "bad Reboot counter",
    "bad Command Type(hex)",
    "bad Opcode",
    "bad Session Handle",
    "bad Response",
    "bad Log type",
    "bad User Name",
    "bad User Type",
    "bad Priv/Secret Key Handle",
    "bad Public Key Handle",
    "bad Key Handle",
    "bad Version No",
    "bad User id",
    "bad Target User Name",
    "bad Target User Type",
    "bad Target User id",
    "bad Mfa enabled",
    "bad Mechanism",
    "bad Operation",
    "bad Number of Users",
    "bad UserIDs",
    "bad local time",
    "bad host time",
    "bad propagation delay",
};

static const char *const field_missing[FID_USER_NAME] = {
    "missing Time",           "missing Sequence No",
    "missing Reboot counter", "missing Command Type(hex)",
    "missing Opcode",         "missing Session Handle",
    "missing Response",       "missing Log type",
};

/* a[0..n) == lit[0..n) for a literal lit, 4 <= n <= 24: two or three overlapping word compares
 * (the literal's words fold to constants), in place of a memcmp call. */
static inline bool
label_eq(const char *a, const char *lit, size_t n)
{
    if (n < 8) {
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, a, 4);
        memcpy(&y0, lit, 4);
        memcpy(&x1, a + n - 4, 4);
        memcpy(&y1, lit + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    } else {
        uint64_t x0, y0, x1, y1, x2 = 0, y2 = 0;
        memcpy(&x0, a, 8);
        memcpy(&y0, lit, 8);
        memcpy(&x1, a + n - 8, 8);
        memcpy(&y1, lit + n - 8, 8);
        if (n > 16) {
            memcpy(&x2, a + 8, 8);
            memcpy(&y2, lit + 8, 8);
        }
        return ((x0 ^ y0) | (x1 ^ y1) | (x2 ^ y2)) == 0;
    }
}

#define LABEL_IS(lit) (l.len == sizeof(lit) - 1 && label_eq(l.p, lit, sizeof(lit) - 1))

/* Exact, case-sensitive label match, dispatched on length first. */
static enum field_id
label_lookup(struct span l)
{
    switch (l.len) {
    case 4:
        return LABEL_IS("Time") ? FID_TIME : FID_UNKNOWN;
    case 6:
        return LABEL_IS("Opcode") ? FID_OPCODE : FID_UNKNOWN;
    case 7:
        if (LABEL_IS("User id"))
            return FID_USER_ID;
        return LABEL_IS("UserIDs") ? FID_USER_IDS : FID_UNKNOWN;
    case 8:
        if (LABEL_IS("Response"))
            return FID_RESPONSE;
        return LABEL_IS("Log type") ? FID_LOG_TYPE : FID_UNKNOWN;
    case 9:
        if (LABEL_IS("User Name"))
            return FID_USER_NAME;
        if (LABEL_IS("User Type"))
            return FID_USER_TYPE;
        if (LABEL_IS("host time"))
            return FID_HOST_TIME;
        if (LABEL_IS("Mechanism"))
            return FID_MECHANISM;
        return LABEL_IS("Operation") ? FID_OPERATION : FID_UNKNOWN;
    case 10:
        if (LABEL_IS("Key Handle"))
            return FID_KEY_HANDLE;
        if (LABEL_IS("Version No"))
            return FID_VERSION_NO;
        return LABEL_IS("local time") ? FID_LOCAL_TIME : FID_UNKNOWN;
    case 11:
        if (LABEL_IS("Sequence No"))
            return FID_SEQUENCE_NO;
        return LABEL_IS("Mfa enabled") ? FID_MFA_ENABLED : FID_UNKNOWN;
    case 14:
        if (LABEL_IS("Session Handle"))
            return FID_SESSION_HANDLE;
        if (LABEL_IS("Reboot counter"))
            return FID_REBOOT_COUNTER;
        return LABEL_IS("Target User id") ? FID_TARGET_USER_ID : FID_UNKNOWN;
    case 15:
        return LABEL_IS("Number of Users") ? FID_NUMBER_OF_USERS : FID_UNKNOWN;
    case 16:
        if (LABEL_IS("Target User Name"))
            return FID_TARGET_USER_NAME;
        return LABEL_IS("Target User Type") ? FID_TARGET_USER_TYPE : FID_UNKNOWN;
    case 17:
        if (LABEL_IS("Command Type(hex)"))
            return FID_COMMAND_TYPE;
        if (LABEL_IS("Public Key Handle"))
            return FID_PUBLIC_KEY_HANDLE;
        return LABEL_IS("propagation delay") ? FID_PROPAGATION_DELAY : FID_UNKNOWN;
    case 22:
        return LABEL_IS("Priv/Secret Key Handle") ? FID_PRIV_SECRET_KEY_HANDLE : FID_UNKNOWN;
    default:
        return FID_UNKNOWN;
    }
}

#undef LABEL_IS

/* Parse one known field's value into e; false when the value is malformed. */
static bool
field_read(enum field_id id, struct span v, struct haf_entry *e)
{
    switch (id) {
    case FID_TIME: {
        uint64_t human_usecs;
        if (!read_time_pair(v, SPAN_LIT("usecs:"), &e->human_time, &e->usecs))
            return false;
        e->time_mismatch = !read_human_time(e->human_time, &human_usecs) || human_usecs != e->usecs;
        return true;
    }
    case FID_SEQUENCE_NO:
        return read_hex0x(v, &e->sequence_no);
    case FID_REBOOT_COUNTER:
        return read_hex0x(v, &e->reboot_counter);
    case FID_COMMAND_TYPE:
        return read_named(v, &e->command_type);
    case FID_OPCODE:
        return read_named(v, &e->opcode);
    case FID_SESSION_HANDLE:
        return read_hex0x(v, &e->session_handle);
    case FID_RESPONSE:
        return read_response(v, e);
    case FID_LOG_TYPE:
        return read_named(v, &e->log_type);
    case FID_USER_NAME:
        e->user_name = v;
        return true;
    case FID_USER_TYPE:
        return read_named(v, &e->user_type);
    case FID_PRIV_SECRET_KEY_HANDLE:
        return read_dec(v, &e->priv_secret_key_handle);
    case FID_PUBLIC_KEY_HANDLE:
        return read_dec(v, &e->public_key_handle);
    case FID_KEY_HANDLE:
        return read_dec(v, &e->key_handle);
    case FID_VERSION_NO:
        e->version_no = v;
        return true;
    case FID_USER_ID:
        e->user_id = v;
        return true;
    case FID_TARGET_USER_NAME:
        e->target_user_name = v;
        return true;
    case FID_TARGET_USER_TYPE:
        return read_named(v, &e->target_user_type);
    case FID_TARGET_USER_ID:
        e->target_user_id = v;
        return true;
    case FID_MFA_ENABLED:
        e->mfa_enabled = v;
        return true;
    case FID_MECHANISM:
        return read_dec(v, &e->mechanism);
    case FID_OPERATION:
        return read_named(v, &e->operation);
    case FID_NUMBER_OF_USERS:
        return read_dec(v, &e->number_of_users);
    case FID_USER_IDS:
        e->user_ids = v;
        return true;
    case FID_LOCAL_TIME:
        return read_time_pair(v, SPAN_LIT("usec:"), &e->local_time, &e->local_time_usec);
    case FID_HOST_TIME:
        return read_time_pair(v, SPAN_LIT("usec:"), &e->host_time, &e->host_time_usec);
    case FID_PROPAGATION_DELAY:
        if (!span_starts_with(v, SPAN_LIT("usec:")))
            return false;
        return read_dec(trim_sp(span_make(v.p + 5, v.len - 5)), &e->propagation_delay_usec);
    case FID_UNKNOWN:
        break;
    }
    return false;
}

static void
entry_flag(struct haf_entry *e, const char *reason)
{
    if (e->parse_error == NULL)
        e->parse_error = reason;
}

/* Fill e's fields from the lines of a Time entry's text; starts[0..n_starts) are known line
 * starts. */
static void
entry_parse_fields(struct haf_entry *e, struct span text, const uint32_t *starts, size_t n_starts)
{
    const char *p = text.p, *end = text.p + text.len;
    size_t li = 0;

    while (p < end) {
        const char *le, *colon;
        struct span label, value;
        enum field_id id;

        le = ++li < n_starts ? text.p + starts[li] - 1 : find_byte(p, end, '\n');
        colon = find_byte(p, le, ':');
        if (colon == le) {
            entry_flag(e, "line without a label");
            goto next;
        }
        label = span_make(p, (size_t)(colon - p));
        while (label.len > 0 && is_sp(label.p[label.len - 1]))
            label.len--;
        if (label.len == 0) {
            entry_flag(e, "line without a label");
            goto next;
        }
        value = trim_sp(span_make(colon + 1, (size_t)(le - colon - 1)));
        id = label_lookup(label);
        if (id == FID_UNKNOWN || (e->present & (1u << id))) {
            /* Unknown labels, and the second of a repeated label, are kept verbatim. */
            if (e->n_extra == HAF_ENTRY_MAX_EXTRA) {
                entry_flag(e, "too many extra fields");
                goto next;
            }
            e->extra[e->n_extra].key = label;
            e->extra[e->n_extra].value = value;
            e->n_extra++;
        } else if (field_read(id, value, e)) {
            e->present |= 1u << id;
        } else {
            entry_flag(e, field_bad[id]);
        }
    next:
        p = le + 1;
    }
    for (unsigned i = 0; i < FID_USER_NAME; i++) {
        if (!(e->present & (1u << i))) {
            entry_flag(e, field_missing[i]);
            break;
        }
    }
}

/* ---- sanitising ---- */

/* True when all n bytes are ASCII and none is NUL (8 bytes at a time). */
static bool
plain_ascii(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if ((w & highs) || ((w - ones) & ~w & highs))
            return false;
    }
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0 || c >= 0x80)
            return false;
    }
    return true;
}

static size_t
put_u64(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0, i;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/*
 * Append the sanitised form of s[0..n) at out (room for cap + CUT_MARKER_MAX bytes), at most cap
 * bytes of text. `truncated`: s is the kept prefix of a longer line, so an incomplete sequence at
 * its end is cut, not invalid. `dropped`: bytes of the line already beyond s. Returns bytes
 * written.
 */
static inline __attribute__((always_inline)) size_t
sanitize(char *out, const char *s, size_t n, size_t cap, bool plain, bool truncated,
         uint64_t dropped, uint32_t *invalid, uint32_t *nul, uint32_t *cut)
{
    size_t i = 0, o = 0;
    uint64_t lost;

    if (n <= cap && (plain || plain_ascii(s, n))) {
        memcpy(out, s, n);
        i = o = n;
    }
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        int k;

        if (c != 0 && c < 0x80) {
            if (o + 1 > cap)
                break;
            out[o++] = (char)c;
            i++;
            continue;
        }
        k = c == 0 ? 0 : utf8_seq((const unsigned char *)s + i, n - i);
        if (k > 0) {
            if (o + (size_t)k > cap)
                break;
            memcpy(out + o, s + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
            continue;
        }
        if (k < 0 && truncated)
            break;
        if (o + 3 > cap)
            break;
        memcpy(out + o, "\xEF\xBF\xBD", 3);
        o += 3;
        i++;
        if (c == 0)
            (*nul)++;
        else
            (*invalid)++;
    }
    lost = (uint64_t)(n - i) + dropped;
    if (lost > 0) {
        memcpy(out + o, "\xE2\x80\xA6[cut ", 8);
        o += 8;
        o += put_u64(out + o, lost);
        memcpy(out + o, " bytes]", 7);
        o += 7;
        (*cut)++;
    }
    return o;
}

/* ---- entries ---- */

/* Emit ent[0..len) as an entry ending at src_end. Returns the callback's verdict. */
static int
entry_emit(struct audit_parser *p, size_t len, uint64_t src_end, audit_entry_cb cb, void *ctx)
{
    struct haf_entry e;
    int rc;

    memset(&e, 0, offsetof(struct haf_entry, extra));
    e.n_extra = 0;
    e.parse_error = NULL;
    e.raw = span_make(p->ent.p + p->raw_off, len - p->raw_off);
    e.invalid_utf8 = p->e_invalid;
    e.nul_bytes = p->e_nul;
    e.cut_lines = p->e_cut;
    e.src_start = p->ent_start;
    e.src_end = src_end;
    if (p->raw_off > 0)
        e.export_time = span_make(p->ent.p, p->raw_off);

    if (p->kind == ENT_OUTSIDE)
        entry_flag(&e, p->seen_time ? "text outside an entry" : "text before first entry");
    else if (p->kind == ENT_CONT)
        entry_flag(&e, "continuation of an oversized entry");
    if (p->split)
        entry_flag(&e, "entry split at the size bound");
    if (e.cut_lines)
        entry_flag(&e, "line cut at the size bound");
    if (p->kind == ENT_TIME)
        entry_parse_fields(&e, e.raw, p->starts, p->n_starts);
    if (e.invalid_utf8)
        entry_flag(&e, "invalid UTF-8 replaced");
    if (e.nul_bytes)
        entry_flag(&e, "NUL bytes replaced");

    p->stats.entries++;
    if (e.parse_error)
        p->stats.flagged++;
    if (p->kind == ENT_TIME)
        p->seen_time = true;
    p->ent_start = src_end;
    p->have_ent = false;
    p->split = false;
    rc = cb(ctx, &e);
    return rc;
}

static void
entry_start(struct audit_parser *p, enum ent_kind kind)
{
    buf_reset(&p->ent);
    p->have_ent = true;
    p->kind = kind;
    p->raw_off = 0;
    p->split = false;
    p->e_invalid = p->e_nul = p->e_cut = 0;
    p->n_starts = 0;
}

/* Does the line start an entry? *time_at: where "Time:" starts; *pfx_len: the export prefix. */
static bool
line_is_time(const char *s, size_t n, size_t *time_at, size_t *pfx_len)
{
    size_t i, tok;

    if (n >= 5 && memcmp(s, "Time:", 5) == 0) {
        *time_at = *pfx_len = 0;
        return true;
    }
    /* CloudWatch export: "YYYY-MM-DD<non-blank>... Time: ..." (docs/audit-format.md section 1). */
    if (n < 16 || digit(s[0]) > 9 || digit(s[1]) > 9 || digit(s[2]) > 9 || digit(s[3]) > 9 ||
        s[4] != '-' || digit(s[5]) > 9 || digit(s[6]) > 9 || s[7] != '-' || digit(s[8]) > 9 ||
        digit(s[9]) > 9)
        return false;
    for (i = 10; i < n && i < EXPORT_PREFIX_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            break;
    }
    tok = i;
    while (i < n && is_sp(s[i]))
        i++;
    if (i == tok || n - i < 5 || memcmp(s + i, "Time:", 5) != 0)
        return false;
    *time_at = i;
    *pfx_len = tok;
    return true;
}

/*
 * One complete line: s holds at least min(len, max_line) of its len bytes (trailing CRs already
 * excluded from len), nonblank says whether any byte is not a space, tab or CR. It spans
 * [lstart, lend) of the input, its '\n' included; plain: s[0..len) is known to be ASCII without
 * NUL. *stop receives the callback's verdict, if any.
 */
static inline __attribute__((always_inline)) enum haf_err
line_process(struct audit_parser *p, const char *s, uint64_t len, bool nonblank, bool plain,
             uint64_t lstart, uint64_t lend, audit_entry_cb cb, void *ctx, int *stop)
{
    size_t kept = len < p->max_line ? (size_t)len : p->max_line;
    size_t time_at = 0, pfx_len = 0, old_len, need, n;
    bool is_time, first;
    uint32_t inv = 0, nul = 0, cut = 0;
    enum haf_err err;

    if (!nonblank) {
        /* A blank line ends the open entry and belongs to its range. */
        if (p->have_ent)
            *stop = entry_emit(p, p->ent.len, lend, cb, ctx);
        return HAF_OK;
    }
    is_time = line_is_time(s, kept, &time_at, &pfx_len);
    if (is_time && p->have_ent)
        *stop = entry_emit(p, p->ent.len, lstart, cb, ctx);
    first = !p->have_ent;
    if (first)
        entry_start(p, is_time ? ENT_TIME : ENT_OUTSIDE);

    need = pfx_len + 1 + p->max_line + CUT_MARKER_MAX;
    if (p->ent.cap - p->ent.len <= need) {
        err = buf_reserve(&p->ent, need);
        if (err != HAF_OK)
            return err;
    }
    old_len = p->ent.len;
    if (first && pfx_len > 0) {
        /* The prefix is printable ASCII (line_is_time checked it): copied as is. */
        memcpy(p->ent.p, s, pfx_len);
        p->raw_off = pfx_len;
        p->ent.len = pfx_len;
    }
    if (!first)
        p->ent.p[p->ent.len++] = '\n';
    if (p->n_starts < LINE_STARTS_MAX)
        p->starts[p->n_starts++] = (uint32_t)(p->ent.len - p->raw_off);
    n = sanitize(p->ent.p + p->ent.len, s + time_at, kept - time_at, p->max_line, plain, kept < len,
                 len - kept, &inv, &nul, &cut);
    p->ent.len += n;
    p->ent.p[p->ent.len] = '\0';

    if (!first && p->ent.len > p->max_entry) {
        /* The entry would cross its bound: emit it without this line, which then starts a
         * flagged continuation. */
        p->split = true;
        *stop = entry_emit(p, old_len, lstart, cb, ctx);
        entry_start(p, ENT_CONT);
        p->starts[p->n_starts++] = 0;
        memmove(p->ent.p, p->ent.p + old_len + 1, n);
        p->ent.len = n;
        p->ent.p[n] = '\0';
    }
    if ((inv | nul | cut) != 0) {
        p->e_invalid += inv;
        p->e_nul += nul;
        p->e_cut += cut;
        p->stats.invalid_utf8 += inv;
        p->stats.nul_bytes += nul;
        p->stats.cut_lines += cut;
    }
    return HAF_OK;
}

/* Add bytes (no '\n' among them) to the line split across feeds. */
static enum haf_err
line_add(struct audit_parser *p, const char *s, size_t n)
{
    size_t k;

    if (n == 0)
        return HAF_OK;
    if (p->line_total == 0)
        p->line_start = p->off;
    if (p->line.len < p->max_line) {
        size_t take = p->max_line - p->line.len;
        enum haf_err err;
        if (take > n)
            take = n;
        err = buf_add(&p->line, s, take);
        if (err != HAF_OK)
            return err;
    }
    for (size_t i = 0; !p->line_nonblank && i < n; i++)
        p->line_nonblank = !(is_sp(s[i]) || s[i] == '\r');
    k = n;
    while (k > 0 && s[k - 1] == '\r')
        k--;
    p->line_cr_run = k == 0 ? p->line_cr_run + n : n - k;
    p->line_total += n;
    p->off += n;
    return HAF_OK;
}

/* The split line is complete (its '\n' already counted in off when it had one). */
static enum haf_err
line_finish(struct audit_parser *p, audit_entry_cb cb, void *ctx, int *stop)
{
    enum haf_err err;

    err = line_process(p, p->line.p, p->line_total - p->line_cr_run, p->line_nonblank, false,
                       p->line_start, p->off, cb, ctx, stop);
    buf_reset(&p->line);
    p->line_total = 0;
    p->line_cr_run = 0;
    p->line_nonblank = false;
    return err;
}

/* ---- public ---- */

struct audit_parser *
audit_parser_new(const struct audit_parser_opts *opts)
{
    struct audit_parser *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->max_line = AUDIT_DEFAULT_MAX_LINE_BYTES;
    p->max_entry = AUDIT_DEFAULT_MAX_ENTRY_BYTES;
    if (opts && opts->max_line_bytes)
        p->max_line = opts->max_line_bytes;
    if (opts && opts->max_entry_bytes)
        p->max_entry = opts->max_entry_bytes;
    if (p->max_line < AUDIT_MIN_LINE_BYTES)
        p->max_line = AUDIT_MIN_LINE_BYTES;
    if (p->max_line > AUDIT_MAX_ENTRY_LIMIT / 2)
        p->max_line = AUDIT_MAX_ENTRY_LIMIT / 2;
    if (p->max_entry > AUDIT_MAX_ENTRY_LIMIT)
        p->max_entry = AUDIT_MAX_ENTRY_LIMIT;
    if (p->max_entry < p->max_line + 64)
        p->max_entry = p->max_line + 64;
    buf_init(&p->ent, 0);
    buf_init(&p->line, 0);
    return p;
}

void
audit_parser_free(struct audit_parser *p)
{
    if (p == NULL)
        return;
    buf_clean_up(&p->ent);
    buf_clean_up(&p->line);
    free(p);
}

void
audit_parser_reset(struct audit_parser *p, uint64_t offset)
{
    p->off = offset;
    p->ent_start = offset;
    buf_reset(&p->ent);
    p->have_ent = false;
    p->split = false;
    p->seen_time = false;
    buf_reset(&p->line);
    p->line_total = 0;
    p->line_cr_run = 0;
    p->line_nonblank = false;
}

enum haf_err
audit_parser_feed(struct audit_parser *p, const char *data, size_t len, size_t *consumed,
                  audit_entry_cb cb, void *ctx)
{
    size_t pos = 0;
    enum haf_err err = HAF_OK;

    while (pos < len) {
        bool plain;
        const char *nl = find_newline(data + pos, data + len, &plain);
        int stop = 0;

        if (nl == data + len) {
            err = line_add(p, data + pos, len - pos);
            if (err == HAF_OK)
                pos = len;
            break;
        }
        if (p->line_total == 0) {
            /* The common case: the whole line is in this chunk; no copy. */
            size_t n = (size_t)(nl - (data + pos)), l = n;
            const char *s = data + pos;
            bool nonblank = false;
            uint64_t lstart = p->off;

            while (l > 0 && s[l - 1] == '\r')
                l--;
            for (size_t i = 0; i < l; i++) {
                if (!(is_sp(s[i]) || s[i] == '\r')) {
                    nonblank = true;
                    break;
                }
            }
            p->off += n + 1;
            err = line_process(p, s, l, nonblank, plain, lstart, p->off, cb, ctx, &stop);
        } else {
            err = line_add(p, data + pos, (size_t)(nl - (data + pos)));
            if (err == HAF_OK) {
                p->off++;
                err = line_finish(p, cb, ctx, &stop);
            }
        }
        if (err != HAF_OK)
            break;
        pos = (size_t)(nl - data) + 1;
        if (stop) {
            err = HAF_EAGAIN;
            break;
        }
    }
    if (consumed)
        *consumed = pos;
    return err;
}

enum haf_err
audit_parser_flush(struct audit_parser *p, audit_entry_cb cb, void *ctx)
{
    int stop = 0;

    if (p->line_total > 0) {
        enum haf_err err = line_finish(p, cb, ctx, &stop);
        if (err != HAF_OK)
            return err;
        if (stop)
            return HAF_EAGAIN;
    }
    if (p->have_ent && entry_emit(p, p->ent.len, p->off, cb, ctx))
        return HAF_EAGAIN;
    return HAF_OK;
}

bool
audit_parser_pending(const struct audit_parser *p)
{
    return p->have_ent || p->line_nonblank;
}

uint64_t
audit_parser_offset(const struct audit_parser *p)
{
    return p->off;
}

void
audit_parser_get_stats(const struct audit_parser *p, struct audit_parser_stats *out)
{
    *out = p->stats;
}

enum haf_err
audit_parse_text(const char *data, size_t len, audit_entry_cb cb, void *ctx)
{
    struct audit_parser *p = audit_parser_new(NULL);
    enum haf_err err;

    if (p == NULL)
        return HAF_ENOMEM;
    err = audit_parser_feed(p, data, len, NULL, cb, ctx);
    if (err == HAF_OK)
        err = audit_parser_flush(p, cb, ctx);
    audit_parser_free(p);
    return err;
}

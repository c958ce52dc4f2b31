/*
 * audit_fields.c: the second pass of the audit parser: reading the fields of one complete Time
 * entry (labels, decimal and hex numbers, named codes, the response, the human and numeric time
 * pair) into a struct haf_entry. audit_parse.c cuts the input into lines and entries and calls
 * entry_parse_fields once per entry, with line starts it already knows; nothing here sees a chunk
 * boundary. Untrusted bytes are read only through spans and the bounded readers below (no strtol,
 * sscanf, strlen or ctype); numbers are checked for overflow and a value one past UINT64_MAX
 * flags the entry instead of wrapping. A bad or missing field flags the entry (the first reason
 * wins) and never stops the parse. The split costs one call per entry, not per line: the per-line
 * path (line reader, sanitiser, classifier) stays in audit_parse.c where the compiler can inline
 * it.
 */
#include "audit_internal.h"

#include "haf/civil.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* The 8 decimal digits at s as a number, or false when one of them is not a digit: all 8 at once
 * (SWAR: a digit check on every byte, then pairs, quads and the octet folded by three multiplies).
 */
static inline bool
read_dec8(const char *s, uint32_t *out)
{
    uint64_t v;

    memcpy(&v, s, 8);
    /* each byte 0x30..0x39: high nibble 3, and adding 6 leaves it 3 (no carry crosses a byte
     * once the first test holds) */
    if ((v & 0xF0F0F0F0F0F0F0F0ull) != 0x3030303030303030ull ||
        ((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) != 0x3030303030303030ull)
        return false;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = ((v & 0x0F0F0F0F0F0F0F0Full) * 2561) >> 8;
    v = ((v & 0x00FF00FF00FF00FFull) * 6553601) >> 16;
    *out = (uint32_t)(((v & 0x0000FFFF0000FFFFull) * 42949672960001ull) >> 32);
#else
    {
        uint32_t r = 0;
        for (unsigned i = 0; i < 8; i++)
            r = r * 10 + (unsigned)(unsigned char)s[i] - '0';
        *out = r;
    }
#endif
    return true;
}

/* Like span_to_u64_dec (digits only, leading zeros allowed, overflow refused), without a division
 * per digit; up to 19 digits cannot overflow, so only longer spans pay the check. Runs of 8 digits
 * (the 16 of a usecs timestamp) are read 8 at a time. */
static inline __attribute__((always_inline)) bool
read_dec(struct span s, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0)
        return false;
    if (s.len <= 19) {
        size_t i = 0;
        for (; i + 8 <= s.len; i += 8) {
            uint32_t d8;
            if (!read_dec8(s.p + i, &d8))
                return false;
            v = v * 100000000u + d8;
        }
        for (; i < s.len; i++) {
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
static inline __attribute__((always_inline)) bool
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
static inline __attribute__((always_inline)) bool
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

/* Opcode is optional where the command type says so: CloudHSM's time-synchronisation entries
 * (Command Type(hex) : TIME_INFO_CMD (0xeee2), Log type : TIME_INFO_LOG (16)) carry none
 * (docs/audit-format.md "TIME_INFO entries"). Decided on the code, as every field is. */
static bool
opcode_optional(const struct haf_entry *e)
{
    return (e->present & HAF_F_COMMAND_TYPE) &&
           e->command_type.code == AUDIT_COMMAND_TYPE_TIME_INFO;
}

/* Fill e's fields from the lines of a Time entry's text; starts[0..n_starts) are known line
 * starts. */
void
entry_parse_fields(struct haf_entry *e, struct span text, const uint32_t *starts, size_t n_starts)
{
    const char *p = text.p, *end = text.p + text.len;
    size_t li = 0;

    while (p < end) {
        const char *le, *colon;
        struct span label, value;
        enum field_id id;

        /* the last line ends at the end of the text when every start is known */
        if (++li < n_starts)
            le = text.p + starts[li] - 1;
        else
            le = n_starts > 0 && n_starts < AUDIT_LINE_STARTS_MAX ? end : find_byte(p, end, '\n');
        colon = find_byte(p, le, ':');
        if (colon == le) {
            entry_flag(e, "line without a label");
            goto next;
        }
        /* "Label : value", as CloudHSM writes it, is told by a few compares (one space each side of
         * the colon, no blank at the end); anything else goes through the trimming loops. */
        label = span_make(p, (size_t)(colon - p));
        if (label.len >= 2 && label.p[label.len - 1] == ' ' && !is_sp(label.p[label.len - 2])) {
            label.len--;
        } else {
            while (label.len > 0 && is_sp(label.p[label.len - 1]))
                label.len--;
            if (label.len == 0) {
                entry_flag(e, "line without a label");
                goto next;
            }
        }
        if (le - colon >= 3 && colon[1] == ' ' && !is_sp(colon[2]) && !is_sp(le[-1]))
            value = span_make(colon + 2, (size_t)(le - colon - 2));
        else
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
    if ((e->present & HAF_F_REQUIRED) == HAF_F_REQUIRED)
        return;
    for (unsigned i = 0; i < FID_USER_NAME; i++) {
        if (!(e->present & (1u << i)) && !(i == FID_OPCODE && opcode_optional(e))) {
            entry_flag(e, field_missing[i]);
            break;
        }
    }
}

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
 *  - ent grows only as the lines it takes need (it starts empty, not at max_line_bytes), and
 *    ent.len <= max_entry_bytes + max_line_bytes + CUT_MARKER_MAX + 1 and line.len <=
 *    max_line_bytes: memory is bounded whatever the input.
 *  - At most one entry is emitted per processed line, so a callback's stop is honoured at the end
 * of that line and *consumed is exact.
 *  - Untrusted bytes are read only through spans and the bounded readers of audit_fields.c (no
 * strtol, sscanf, strlen or ctype); numbers are checked for overflow and a value one past
 * UINT64_MAX flags the entry instead of wrapping.
 *
 * Trade-offs: the second pass over the entry at emit time costs a few hundred bytes of re-reading
 * per entry, but it keeps field spans valid without relocation when `ent` grows, and keeps the line
 * path branch-light. The export prefix is kept out of `raw` (raw is the entry as CloudHSM delivered
 * it to CloudWatch) and is reported as export_time instead.
 */
#include "audit_internal.h"
#include "haf/cert_event.h"
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
/* Offsets into an entry are uint32_t. */
#define AUDIT_MAX_ENTRY_LIMIT (1u << 30)

enum ent_kind {
    ENT_TIME,    /* starts with a Time: line */
    ENT_OUTSIDE, /* text before the first entry or after a blank line */
    ENT_CONT,    /* the rest of an entry split at max_entry_bytes */
    ENT_JSON,    /* starts with a '{' line: a certificate-storage event */
};

/* What a line starts. */
enum line_start { LS_NONE, LS_TIME, LS_JSON };

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
    uint32_t starts[AUDIT_LINE_STARTS_MAX]; /* line starts, relative to the raw text */
    size_t n_starts;
    struct cert_json_track jt; /* ENT_JSON: where the object ends */
    uint32_t in_json;          /* 1 while the open entry is ENT_JSON */
    /* An ENT_JSON entry completed on a line after the callback had already asked to stop: it is
     * emitted (ending at json_end) before anything else happens. */
    bool json_pending;
    uint64_t json_end;

    /* A line split across feeds. */
    struct buf line;      /* its first max_line bytes */
    uint64_t line_total;  /* bytes of it so far */
    uint64_t line_cr_run; /* trailing CRs so far */
    uint64_t line_start;  /* offset of its first byte */
    bool line_nonblank;

    struct audit_parser_stats stats;
};

/* ---- the line reader ---- */

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

/* A certificate-storage entry: closed braces and a valid event, or flagged with the reason. */
static void
entry_json(const struct audit_parser *p, struct haf_entry *e)
{
    const char *why = NULL;

    e->kind = HAF_KIND_CERT_STORAGE;
    memset(&e->cert, 0, sizeof(e->cert));
    if (!p->jt.closed) {
        entry_flag(e, "unterminated JSON object");
        return;
    }
    if (cert_event_parse(e->raw, &e->cert, &why) != HAF_OK) {
        memset(&e->cert, 0, sizeof(e->cert));
        entry_flag(e, why);
    }
}

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
    else if (p->kind == ENT_JSON)
        entry_json(p, &e);
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
    if (p->kind == ENT_TIME || p->kind == ENT_JSON)
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
    cert_json_track_init(&p->jt);
    p->in_json = kind == ENT_JSON;
    p->have_ent = true;
    p->kind = kind;
    p->raw_off = 0;
    p->split = false;
    p->e_invalid = p->e_nul = p->e_cut = 0;
    p->n_starts = 0;
}

/* Emit the ENT_JSON entry completed on an earlier line (see json_pending). */
static void
json_emit_pending(struct audit_parser *p, audit_entry_cb cb, void *ctx, int *stop)
{
    int rc;

    p->json_pending = false;
    rc = entry_emit(p, p->ent.len, p->json_end, cb, ctx);
    if (rc)
        *stop = rc;
}

/* Does the line start an entry? *time_at: where "Time:" or "{" starts; *pfx_len: the export
 * prefix. */
static enum line_start
line_start(const char *s, size_t n, size_t *time_at, size_t *pfx_len)
{
    size_t i, tok;

    if (n >= 5 && memcmp(s, "Time:", 5) == 0) {
        *time_at = *pfx_len = 0;
        return LS_TIME;
    }
    if (n >= 1 && s[0] == '{') {
        *time_at = *pfx_len = 0;
        return LS_JSON;
    }
    /* CloudWatch export: "YYYY-MM-DD<non-blank>... Time: ..." or "... {" (docs/audit-format.md
     * section 1). */
    if (n < 12 || digit(s[0]) > 9 || digit(s[1]) > 9 || digit(s[2]) > 9 || digit(s[3]) > 9 ||
        s[4] != '-' || digit(s[5]) > 9 || digit(s[6]) > 9 || s[7] != '-' || digit(s[8]) > 9 ||
        digit(s[9]) > 9)
        return LS_NONE;
    for (i = 10; i < n && i < EXPORT_PREFIX_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            break;
    }
    tok = i;
    while (i < n && is_sp(s[i]))
        i++;
    if (i == tok || i == n)
        return LS_NONE;
    if (s[i] == '{') {
        *time_at = i;
        *pfx_len = tok;
        return LS_JSON;
    }
    if (n - i < 5 || memcmp(s + i, "Time:", 5) != 0)
        return LS_NONE;
    *time_at = i;
    *pfx_len = tok;
    return LS_TIME;
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
    size_t time_at = 0, pfx_len = 0, old_len, need, n, text_max;
    enum line_start ls;
    bool first;
    uint32_t inv = 0, nul = 0, cut = 0;
    enum haf_err err;

    if (!nonblank) {
        /* A blank line ends the open entry and belongs to its range. */
        if (p->have_ent)
            *stop = entry_emit(p, p->ent.len, lend, cb, ctx);
        return HAF_OK;
    }
    ls = line_start(s, kept, &time_at, &pfx_len);
    if (ls != LS_NONE && p->have_ent)
        *stop = entry_emit(p, p->ent.len, lstart, cb, ctx);
    first = !p->have_ent;
    if (first)
        entry_start(p, ls == LS_TIME ? ENT_TIME : ls == LS_JSON ? ENT_JSON : ENT_OUTSIDE);

    /* Room for this line only, so the buffer starts small and grows with what the entries really
     * hold (a file of ordinary entries keeps well under 1 KiB instead of max_line up front): the
     * sanitised text is at most 3 bytes per input byte (U+FFFD for one) and at most max_line. */
    text_max = kept - time_at;
    text_max = text_max <= p->max_line / 3 ? 3 * text_max : p->max_line;
    need = pfx_len + 1 + text_max + CUT_MARKER_MAX;
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
    if (p->n_starts < AUDIT_LINE_STARTS_MAX)
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
    /* One test for the rare cases: replaced or cut bytes, and an open certificate event (kind
     * ENT_JSON sets `in_json`), so a plain text line pays a single branch. */
    if (__builtin_expect((inv | nul | cut | p->in_json) != 0, 0)) {
        p->e_invalid += inv;
        p->e_nul += nul;
        p->e_cut += cut;
        p->stats.invalid_utf8 += inv;
        p->stats.nul_bytes += nul;
        p->stats.cut_lines += cut;
        if (p->in_json && p->kind == ENT_JSON) {
            cert_json_track_line(&p->jt, p->ent.p + p->ent.len - n, n);
            if (p->jt.closed) {
                /* The object ends on this line. One callback per line once it asked to stop: an
                 * entry completed after that waits for the next feed or the flush. */
                if (*stop) {
                    p->json_pending = true;
                    p->json_end = lend;
                } else {
                    *stop = entry_emit(p, p->ent.len, lend, cb, ctx);
                }
            }
        }
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

/* What a plain line's first byte (ASCII) says to lines_fast, as a digit: 0 the line may start an
 * entry or be blank (a control byte, space, '{', or a digit of an export prefix), 2 it may start
 * "Time:", 1 it continues the entry. */
static const char cont_start[129] = "0000000000000000"  /* 0x00 */
                                    "0000000000000000"  /* 0x10 */
                                    "0111111111111111"  /* 0x20: ' ' */
                                    "0000000000111111"  /* 0x30: '0'..'9' */
                                    "1111111111111111"  /* 0x40 */
                                    "1111211111111111"  /* 0x50: 'T' */
                                    "1111111111111111"  /* 0x60 */
                                    "1111111111101111"; /* 0x70: '{' */

/*
 * The fast path for the bulk of the input: continuation lines of an open entry that need none of
 * line_process's decisions. A line qualifies when it lies whole in the chunk, is plain ASCII
 * without NUL or CR at its end, starts with a byte that is neither blank nor the start of an entry
 * ("Time:", '{', or the digit of an export prefix), is shorter than max_line and keeps the entry
 * within max_entry and the buffer's room; its sanitised form is then the line itself, so it is
 * appended with a '\n' and a copy, with the entry's state held in locals. Takes lines from
 * data[pos] on and returns where it stopped: the first line it does not take goes through
 * line_process, which gives the same result for any line (this is only a shortcut).
 */
static size_t
lines_fast(struct audit_parser *p, const char *data, size_t pos, size_t len)
{
    char *ent = p->ent.p;
    size_t el = p->ent.len, cap = p->ent.cap, ns = p->n_starts;
    const size_t max_line = p->max_line, raw_off = p->raw_off;
    const char *const end = data + len;
    const size_t pos0 = pos;
    /* The entry bound and the room in one: a line of n bytes is taken when el + 1 + n <= lim
     * (room for '\n', the line, the 16-byte copy's spill and the NUL: cap - el > n + 17). */
    const size_t lim = cap < 17 ? 0 : p->max_entry < cap - 17 ? p->max_entry : cap - 17;

    if (ent == NULL)
        return pos;
    while (pos < len) {
        const char *s = data + pos, *nl, *src;
        char *dst;
        bool plain;
        size_t n;
        unsigned c0;

        nl = find_newline(s, end, &plain);
        n = (size_t)(nl - s);
        /* n - 1 < max_line - 1: neither empty nor at the line bound */
        if (nl == end || !plain || n - 1 >= max_line - 1 || s[n - 1] == '\r')
            break;
        c0 = (unsigned)(cont_start[(unsigned char)s[0] & 0x7f] - '0'); /* plain: s[0] < 0x80 */
        if (c0 == 0 || (c0 == 2 && n >= 5 && memcmp(s, "Time:", 5) == 0) || el + 1 + n > lim)
            break;
        ent[el++] = '\n';
        if (ns < AUDIT_LINE_STARTS_MAX)
            p->starts[ns++] = (uint32_t)(el - raw_off);
        dst = ent + el;
        src = s;
        if ((size_t)(end - s) >= n + 16) {
            /* 16 bytes a step: the source reads stop inside the chunk (the '\n' and more follow),
             * and the spill past the line is overwritten next or lies in the room checked above. */
            for (size_t i = 0; i < n; i += 16)
                memcpy(dst + i, src + i, 16);
        } else {
            memcpy(dst, src, n);
        }
        el += n;
        pos += n + 1;
    }
    ent[el] = '\0';
    p->off += pos - pos0;
    p->ent.len = el;
    p->n_starts = ns;
    return pos;
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
    p->json_pending = false;
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

    /* A certificate event completed after the callback asked to stop (json_pending) goes first;
     * a stop then returns before any byte is taken. */
    if (__builtin_expect(p->json_pending, 0)) {
        int stop = 0;
        json_emit_pending(p, cb, ctx, &stop);
        if (stop) {
            if (consumed)
                *consumed = 0;
            return HAF_EAGAIN;
        }
    }
    while (pos < len) {
        bool plain;
        const char *nl;
        int stop = 0;

        if (p->have_ent && p->kind != ENT_JSON && p->line_total == 0) {
            pos = lines_fast(p, data, pos, len);
            if (pos == len)
                break;
        }
        nl = find_newline(data + pos, data + len, &plain);
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

    if (p->json_pending) {
        json_emit_pending(p, cb, ctx, &stop);
        if (stop)
            return HAF_EAGAIN;
    }
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
    return p->have_ent || p->line_nonblank || p->json_pending;
}

uint64_t
audit_parser_offset(const struct audit_parser *p)
{
    return p->off;
}

size_t
audit_parser_buffer_bytes(const struct audit_parser *p)
{
    return p->ent.cap + p->line.cap;
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

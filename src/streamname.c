/*
 * streamname.c: the log stream name template grammar (see streamname.h): the one place that knows
 * the placeholders, checks a template and expands it.
 *
 * Expanded names must be valid for CloudWatch whatever the file system hands us
 * (docs/cloudwatch-limits.md):
 * - ':' and '*' in a value become '_'; so does each byte of a value that is not part of a valid
 *   UTF-8 sequence (a file name in another encoding), so the request body stays valid JSON.
 * - A name over 512 bytes is shortened deterministically: its first bytes, cut at a character
 *   boundary, then '~' and 16 hex digits of the FNV-1a 64 hash of the whole expanded name. The same
 *   file always maps to the same stream, and two long names that differ only after the cut map to
 *   different streams. Static templates over the limit are refused by streamname_check().
 */
#include "haf/streamname.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "haf/utf8.h"

static const char *const placeholders[] = {"hostname", "instance_id", "file", "hsm_id"};
#define N_PLACEHOLDERS    (sizeof(placeholders) / sizeof(placeholders[0]))
#define HASH_SUFFIX_BYTES 17 /* "~" and 16 hex digits */

enum haf_err
streamname_check(const char *tmpl, bool has_hsm_id, struct streamname_problem *out)
{
    size_t n = strlen(tmpl);

    memset(out, 0, sizeof(*out));
    if (n > STREAMNAME_MAX_BYTES) {
        out->kind = STREAMNAME_TOO_LONG;
        return HAF_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *close;
        struct span name;
        bool known = false;

        out->offset = i;
        if (tmpl[i] == ':' || tmpl[i] == '*') {
            out->kind = STREAMNAME_FORBIDDEN_CHAR;
            return HAF_EINVAL;
        }
        if (tmpl[i] == '}') {
            out->kind = STREAMNAME_UNBALANCED_CLOSE;
            return HAF_EINVAL;
        }
        if (tmpl[i] != '{')
            continue;
        close = strchr(tmpl + i + 1, '}');
        if (close == NULL) {
            out->kind = STREAMNAME_UNTERMINATED;
            return HAF_EINVAL;
        }
        name = span_make(tmpl + i + 1, (size_t)(close - tmpl) - i - 1);
        for (size_t k = 0; k < N_PLACEHOLDERS; k++)
            known = known || span_eq(name, span_cstr(placeholders[k]));
        if (!known) {
            out->kind = STREAMNAME_UNKNOWN;
            out->name = name;
            return HAF_EINVAL;
        }
        if (span_eq(name, SPAN_LIT("hsm_id")) && !has_hsm_id) {
            out->kind = STREAMNAME_HSM_ID_UNSET;
            return HAF_EINVAL;
        }
        i = (size_t)(close - tmpl);
    }
    out->offset = 0;
    return HAF_OK;
}

/* The expanded name as it is produced: appended only while it fits STREAMNAME_MAX_BYTES (whole
 * characters only), hashed whole, so a name of any length costs bounded memory and shortens
 * deterministically. */
struct emitter {
    struct buf *out;
    uint64_t hash; /* FNV-1a 64 of every byte produced */
    size_t total;  /* bytes produced */
    bool full;     /* a character did not fit: nothing more is appended */
};

static enum haf_err
emit(struct emitter *em, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        em->hash ^= (unsigned char)p[i];
        em->hash *= 1099511628211ULL;
    }
    em->total += n;
    if (em->full || em->out->len + n > STREAMNAME_MAX_BYTES) {
        em->full = true;
        return HAF_OK;
    }
    return buf_add(em->out, p, n);
}

/* A value, with ':' '*' and bytes outside valid UTF-8 sequences replaced by '_'. */
static enum haf_err
emit_value(struct emitter *em, const char *v)
{
    const unsigned char *s = (const unsigned char *)v;
    size_t n = strlen(v);
    enum haf_err e = HAF_OK;

    for (size_t i = 0; i < n && e == HAF_OK;) {
        size_t k = 1;

        if (s[i] >= 0x80 && (k = utf8_seq_len(s + i, n - i)) == 0) {
            e = emit(em, "_", 1);
            i++;
            continue;
        }
        if (k == 1 && (s[i] == ':' || s[i] == '*'))
            e = emit(em, "_", 1);
        else
            e = emit(em, v + i, k);
        i += k;
    }
    return e;
}

static enum haf_err
shorten(struct emitter *em)
{
    char suffix[HASH_SUFFIX_BYTES + 1];
    struct buf *out = em->out;
    size_t keep = utf8_cut(out->p, out->len, STREAMNAME_MAX_BYTES - HASH_SUFFIX_BYTES);

    (void)snprintf(suffix, sizeof(suffix), "~%016" PRIx64, em->hash);
    out->len = keep;
    out->p[keep] = '\0';
    return buf_add(out, suffix, HASH_SUFFIX_BYTES);
}

enum haf_err
streamname_expand(const char *tmpl, const struct streamname_values *v, struct buf *out)
{
    const char *base = v->path ? strrchr(v->path, '/') : NULL;
    struct emitter em = {.out = out, .hash = 14695981039346656037ULL};
    enum haf_err e = HAF_OK;

    base = base ? base + 1 : (v->path ? v->path : "");
    buf_reset(out);
    while (*tmpl && e == HAF_OK) {
        const char *val = NULL;
        size_t skip = 0;

        if (strncmp(tmpl, "{hostname}", 10) == 0) {
            val = v->hostname ? v->hostname : "localhost";
            skip = 10;
        } else if (strncmp(tmpl, "{instance_id}", 13) == 0) {
            val = v->instance_id ? v->instance_id : "unknown-instance";
            skip = 13;
        } else if (strncmp(tmpl, "{file}", 6) == 0) {
            val = base;
            skip = 6;
        } else if (strncmp(tmpl, "{hsm_id}", 8) == 0) {
            val = v->hsm_id ? v->hsm_id : "unknown-hsm";
            skip = 8;
        }
        if (val != NULL) {
            e = emit_value(&em, val);
            tmpl += skip;
        } else {
            e = emit(&em, tmpl, 1);
            tmpl++;
        }
    }
    if (e == HAF_OK && em.total > STREAMNAME_MAX_BYTES)
        e = shorten(&em);
    return e;
}

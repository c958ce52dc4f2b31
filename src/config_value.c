/*
 * config_value.c: reading one typed value out of the configuration tree, and saying what is wrong
 * with it. Every reader takes the map, the dotted prefix and the key, applies the YAML 1.1 typing
 * rules described in config.c (booleans, plain decimal integers, null keeps the default, a quoted
 * scalar is always a string), and on a problem appends one "file:line:column: key: message" line
 * to the context and leaves the default in place, so the walk goes on and reports every problem at
 * once. Values that could be sensitive are never echoed; enum values are, escaped and cut short.
 * cfg_check_map refuses unknown keys (suggesting the nearest known one) and keys that look like
 * credentials. Nothing here allocates a config or does I/O.
 */
#include "config_internal.h"

#include "haf/json_write.h"
#include "haf/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One "file:line:column: key: message" line. key may be NULL. */
__attribute__((format(printf, 5, 0))) static void
cfg_errorv(struct cfg_ctx *c, size_t line, size_t col, const char *key, const char *fmt, va_list ap)
{
    c->n_errors++;
    if (c->err == NULL)
        return;
    if (c->n_errors > CFG_MAX_ERRORS) {
        if (c->n_errors == CFG_MAX_ERRORS + 1 &&
            buf_addf(c->err, "%s: too many errors, stopping\n", c->name) != HAF_OK)
            c->nomem = true;
        return;
    }
    if (buf_addf(c->err, "%s:%zu:%zu: ", c->name, line, col) != HAF_OK ||
        (key && buf_addf(c->err, "%s: ", key) != HAF_OK) || buf_vaddf(c->err, fmt, ap) != HAF_OK ||
        buf_addc(c->err, '\n') != HAF_OK)
        c->nomem = true;
}

void
cfg_error(struct cfg_ctx *c, const struct ynode *at, const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_errorv(c, at ? at->line : 1, at ? at->col : 1, key, fmt, ap);
    va_end(ap);
}

void
cfg_report(struct cfg_ctx *c, size_t line, size_t col, const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_errorv(c, line, col, key, fmt, ap);
    va_end(ap);
}

/* A short, printable rendering of untrusted bytes for a message. */
void
cfg_quote(struct span s, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < s.len && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (i >= 48) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
            out[o++] = (char)ch;
        } else {
            snprintf(out + o, cap - o, "\\x%02x", ch);
            o += 4;
        }
    }
    out[o] = '\0';
}

/* What a value is, for "expected X, got Y": the (escaped, shortened) scalar itself, or its kind.
 * Only used for keys whose values are not sensitive (booleans, integers). */
static const char *
cfg_got(const struct ynode *n, char *tmp, size_t cap)
{
    char q[64];

    if (n->type != YN_SCALAR || ytree_is_null(n))
        return ytree_kind(n);
    cfg_quote(span_make(n->val, n->len), q, sizeof(q));
    snprintf(tmp, cap, "%s\"%s\"", n->plain ? "" : "a quoted string ", q);
    return tmp;
}

void
cfg_path(char *out, size_t cap, const char *prefix, const char *key)
{
    if (prefix && prefix[0])
        snprintf(out, cap, "%s.%s", prefix, key);
    else
        snprintf(out, cap, "%s", key);
}

/*
 * Every code point printable in YAML's sense (what libyaml accepts unescaped), without line
 * breaks: so no value holds a control character, and config_dump can write any value back in a
 * double-quoted scalar that loads again. libyaml hands us valid UTF-8; a malformed sequence is
 * refused all the same. *bad is the offending byte offset.
 */
static bool
cfg_printable(struct span s, size_t *bad)
{
    for (size_t i = 0; i < s.len;) {
        const unsigned char *u = (const unsigned char *)s.p + i;
        size_t n = u[0] < 0x80 ? 1 : utf8_seq_len(u, s.len - i);
        uint32_t cp = u[0];

        /* Decode what utf8_seq_len validated (RFC 3629: no overlongs or surrogates). */
        for (size_t k = 1; k < n; k++)
            cp = (k == 1 ? cp & (0xffu >> (n + 1)) : cp) << 6 | (u[k] & 0x3fu);
        if (n == 0 || !((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) ||
                        (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) ||
                        (cp >= 0x10000 && cp <= 0x10ffff))) {
            *bad = i;
            return false;
        }
        i += n;
    }
    return true;
}

/* A string value: dup'd into *out (freeing what was there). Absent or null leaves *out. */
bool
cfg_str(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key, char **out)
{
    const struct ynode *n = ytree_get(map, key);
    char path[128];
    size_t bad;
    char *s;

    if (n == NULL)
        return false;
    cfg_path(path, sizeof(path), prefix, key);
    if (n->type != YN_SCALAR) {
        cfg_error(c, n, path, "expected a string, got %s", ytree_kind(n));
        return false;
    }
    if (n->len > CFG_MAX_STR_BYTES) {
        cfg_error(c, n, path, "longer than %d bytes", CFG_MAX_STR_BYTES);
        return false;
    }
    if (!cfg_printable(span_make(n->val, n->len), &bad)) {
        cfg_error(c, n, path, "contains a control or non-printable character (byte %zu)", bad);
        return false;
    }
    if (n->len == 0) {
        cfg_error(c, n, path, "must not be empty");
        return false;
    }
    s = strdup(n->val);
    if (s == NULL) {
        c->nomem = true;
        return false;
    }
    free(*out);
    *out = s;
    return true;
}

void
cfg_bool(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    const struct ynode *n = ytree_get(map, key);
    char path[128], got[96];

    if (n == NULL)
        return;
    cfg_path(path, sizeof(path), prefix, key);
    if (n->type == YN_SCALAR && n->plain) {
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
            if (ytree_scalar_is(n, yes[i])) {
                *out = true;
                return;
            }
            if (ytree_scalar_is(n, no[i])) {
                *out = false;
                return;
            }
        }
    }
    cfg_error(c, n, path, "expected a boolean (true/false, yes/no, on/off), got %s",
              cfg_got(n, got, sizeof(got)));
}

/* An unsigned integer in [lo, hi]; returns whether it was set and valid. */
bool
cfg_uint(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key,
         uint64_t lo, uint64_t hi, uint64_t *out)
{
    const struct ynode *n = ytree_get(map, key);
    char path[128], got[96];
    uint64_t v;

    if (n == NULL)
        return false;
    cfg_path(path, sizeof(path), prefix, key);
    if (n->type != YN_SCALAR || !n->plain || !span_to_u64_dec(span_make(n->val, n->len), &v)) {
        if (n->type == YN_SCALAR && n->plain && n->len > 0 && n->val[0] == '-')
            cfg_error(c, n, path, "must not be negative");
        else
            cfg_error(c, n, path, "expected an integer, got %s", cfg_got(n, got, sizeof(got)));
        return false;
    }
    if (v < lo || v > hi) {
        cfg_error(c, n, path, "%llu is out of range (%llu..%llu)", (unsigned long long)v,
                  (unsigned long long)lo, (unsigned long long)hi);
        return false;
    }
    *out = v;
    return true;
}

/* One of `names`; returns the index or -1 (absent, null, or invalid: error reported). */
int
cfg_enum(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key,
         const char *const *names, size_t n_names)
{
    const struct ynode *n = ytree_get(map, key);
    char path[128], q[64];

    if (n == NULL)
        return -1;
    cfg_path(path, sizeof(path), prefix, key);
    if (n->type == YN_SCALAR) {
        for (size_t i = 0; i < n_names; i++)
            if (ytree_scalar_is(n, names[i]))
                return (int)i;
        cfg_quote(span_make(n->val, n->len), q, sizeof(q));
        cfg_error(c, n, path, "\"%s\" is not one of %s%s%s", q, names[0], n_names > 1 ? " | " : "",
                  n_names > 1 ? names[1] : "");
    } else {
        cfg_error(c, n, path, "expected one of %s | %s, got %s", names[0], names[1], ytree_kind(n));
    }
    return -1;
}

/* ---- keys ---- */

static size_t
cfg_edit_distance(struct span a, const char *b)
{
    size_t bl = strlen(b), row[64], prev, tmp;

    if (a.len >= 63 || bl >= 63)
        return 99;
    for (size_t j = 0; j <= bl; j++)
        row[j] = j;
    for (size_t i = 1; i <= a.len; i++) {
        prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= bl; j++) {
            size_t best = prev + (a.p[i - 1] == b[j - 1] ? 0 : 1);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            tmp = row[j];
            row[j] = best;
            prev = tmp;
        }
    }
    return row[bl];
}

static bool
cfg_is_secret_key(struct span k)
{
    static const char *const secret[] = {"aws_access_key_id",
                                         "aws_secret_access_key",
                                         "aws_session_token",
                                         "access_key_id",
                                         "secret_access_key",
                                         "session_token",
                                         "access_key",
                                         "secret_key",
                                         "secret",
                                         "password",
                                         "token",
                                         "aws_security_token"};

    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
        size_t l = strlen(secret[i]);
        bool eq = k.len == l;
        for (size_t j = 0; eq && j < l; j++) {
            char ch = k.p[j];
            if (ch >= 'A' && ch <= 'Z')
                ch = (char)(ch - 'A' + 'a');
            if (ch == '-')
                ch = '_';
            eq = ch == secret[i][j];
        }
        if (eq)
            return true;
    }
    return false;
}

/* Checks that `n` is a mapping with scalar, known, unique keys; reports every problem. */
bool
cfg_check_map(struct cfg_ctx *c, const struct ynode *n, const char *path, const char *const *known)
{
    bool ok = true;

    if (n->type != YN_MAP) {
        cfg_error(c, n, path[0] ? path : NULL, "expected a mapping, got %s", ytree_kind(n));
        return false;
    }
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        const struct ynode *k = n->kids[i];
        struct span ks;
        char q[64], kp[128];
        const char *hint = NULL;
        size_t best = 3;

        if (k->type != YN_SCALAR) {
            cfg_error(c, k, path[0] ? path : NULL, "a key must be a plain string, got %s",
                      ytree_kind(k));
            ok = false;
            continue;
        }
        ks = span_make(k->val, k->len);
        cfg_quote(ks, q, sizeof(q));
        cfg_path(kp, sizeof(kp), path, q);
        for (size_t j = 0; j < i; j += 2)
            if (n->kids[j]->type == YN_SCALAR &&
                span_eq(span_make(n->kids[j]->val, n->kids[j]->len), ks)) {
                cfg_error(c, k, kp, "duplicate key (first at line %zu column %zu)",
                          n->kids[j]->line, n->kids[j]->col);
                ok = false;
                break;
            }
        bool found = false;
        for (size_t j = 0; known[j]; j++)
            if (span_eq(ks, span_cstr(known[j])))
                found = true;
        if (found)
            continue;
        ok = false;
        if (cfg_is_secret_key(ks)) {
            cfg_error(c, k, kp,
                      "credentials in the config file are not supported; use the environment, "
                      "a shared credentials profile (credentials.profile) or an instance/task "
                      "role");
            continue;
        }
        for (size_t j = 0; known[j]; j++) {
            size_t d = cfg_edit_distance(ks, known[j]);
            if (d < best) {
                best = d;
                hint = known[j];
            }
        }
        /* "retention" for "retention_days": a known key that starts with what was typed */
        for (size_t j = 0; known[j] && hint == NULL; j++)
            if (ks.len >= 4 && span_starts_with(span_cstr(known[j]), ks))
                hint = known[j];
        if (hint)
            cfg_error(c, k, kp, "unknown key (did you mean \"%s\"?)", hint);
        else
            cfg_error(c, k, kp, "unknown key");
    }
    return ok;
}

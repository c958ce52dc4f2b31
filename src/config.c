/*
 * config.c: the YAML configuration file (libyaml) into a validated struct haf_config.
 *
 * Two passes. First, yaml_tree.c turns libyaml's events into a small tree of our own (struct
 * ynode) that keeps every node's line and column, the scalar's style (plain or quoted) and
 * refuses what we do not support: anchors and aliases (they add nothing to a flat config and
 * invite "billion laughs" inputs), more than one document, unknown tags, and nesting or node
 * counts past fixed limits. Second, this file's schema walk over that tree fills a freshly
 * allocated struct haf_config, applies the defaults and validates every value, collecting every
 * problem it finds as one line "file:line:column: key: message" so a user fixes them all in one go.
 * Only when there are none is the new config handed out; otherwise it is freed and the caller's old
 * one stays.
 *
 * Typing follows YAML 1.1 for plain scalars: booleans are true/false/yes/no/on/off (also
 * Capitalized and UPPER case), integers are plain decimal digits, and ~, null or nothing is null
 * (an optional key set to null keeps its default). A quoted scalar is always a string, so
 * `verify: "false"` is an error rather than a surprise. Values are never echoed back when they
 * could hold something sensitive (URLs, unknown keys' values); enum values are, escaped and cut
 * short. Keys that look like credentials are refused with a message saying credentials in the
 * file are not supported. Reading the file from disk and writing a config back out (config_load,
 * config_dump) are config_file.c's.
 */
#include "haf/config.h"
#include "haf/json_write.h"
#include "haf/streamname.h"
#include "haf/url.h"
#include "haf/utf8.h"
#include "haf/yaml_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_MAX_ERRORS      50
#define CFG_MAX_STR_BYTES   4096
#define CFG_MAX_SOURCES     1000
#define CFG_DEFAULT_STREAM  "{hostname}/{file}"
#define CFG_DEFAULT_SESSION "hsm-audit-forwarder"

struct cfg_ctx {
    const char *name;
    struct buf *err;
    size_t n_errors;
    bool nomem;
};

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

static void cfg_error(struct cfg_ctx *c, const struct ynode *at, const char *key, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void
cfg_error(struct cfg_ctx *c, const struct ynode *at, const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_errorv(c, at ? at->line : 1, at ? at->col : 1, key, fmt, ap);
    va_end(ap);
}

static void cfg_report(struct cfg_ctx *c, size_t line, size_t col, const char *key, const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));

static void
cfg_report(struct cfg_ctx *c, size_t line, size_t col, const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_errorv(c, line, col, key, fmt, ap);
    va_end(ap);
}

/* A short, printable rendering of untrusted bytes for a message. */
static void
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

static void
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
static bool
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

static void
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
static bool
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
static int
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
static bool
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

/* ---- value syntax ---- */

static bool
cfg_abs_path(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key,
             const char *v)
{
    char path[128];

    if (v == NULL || v[0] == '/')
        return true;
    cfg_path(path, sizeof(path), prefix, key);
    cfg_error(c, ytree_get(map, key), path, "must be an absolute path");
    return false;
}

static bool
cfg_charset(const char *s, const char *extra)
{
    for (; *s; s++) {
        char ch = *s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
            continue;
        if (strchr(extra, ch) == NULL)
            return false;
    }
    return true;
}

enum cfg_url_kind { CFG_URL_ENDPOINT, CFG_URL_PROXY };

/* Validates an endpoint or proxy URL with url.h's grammar and rules; the value is never echoed
 * (it could hold a secret). */
static void
cfg_url(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key,
        const char *url, enum cfg_url_kind kind)
{
    static const char *const proxy_schemes[] = {"http",    "https",  "socks4",
                                                "socks4a", "socks5", "socks5h"};
    const struct ynode *at = ytree_get(map, key);
    const char *why = NULL;
    char path[128];
    struct url u;
    bool ok_scheme = false;

    if (url == NULL)
        return;
    cfg_path(path, sizeof(path), prefix, key);
    if (url_parse(span_cstr(url), &u, &why) != HAF_OK) {
        if (strcmp(why, URL_WHY_NOT_A_URL) == 0)
            cfg_error(c, at, path, "not a URL (expected %s)",
                      kind == CFG_URL_ENDPOINT ? "https://host[:port][/path]"
                                               : "http://host:port or socks5://host:port");
        else
            cfg_error(c, at, path, "%s", why);
        return;
    }
    if (kind == CFG_URL_ENDPOINT) {
        ok_scheme = url_scheme_is(&u, "https") || url_scheme_is(&u, "http");
    } else {
        for (size_t k = 0; k < sizeof(proxy_schemes) / sizeof(proxy_schemes[0]); k++)
            ok_scheme = ok_scheme || url_scheme_is(&u, proxy_schemes[k]);
    }
    if (!ok_scheme) {
        cfg_error(c, at, path, "unsupported URL scheme \"%s\" (use %s)", u.scheme,
                  kind == CFG_URL_ENDPOINT ? "https"
                                           : "http, https, socks4, socks4a, socks5 or socks5h");
        return;
    }
    if (u.has_userinfo) {
        cfg_error(c, at, path,
                  "user information in the URL is not supported (no credentials in the "
                  "config file%s)",
                  kind == CFG_URL_PROXY ? "; set HTTPS_PROXY in the environment instead" : "");
        return;
    }
    if (kind == CFG_URL_PROXY && u.path.len > 1) {
        cfg_error(c, at, path, "a proxy URL has no path");
        return;
    }
    if (kind == CFG_URL_ENDPOINT && url_check_endpoint(&u, &why) != HAF_OK)
        cfg_error(c, at, path, "%s", why);
}

/* glob(3) pattern syntax: balanced [ ], no trailing backslash, absolute. */
static void
cfg_glob(struct cfg_ctx *c, const struct ynode *at, const char *path, const char *g)
{
    size_t n = strlen(g);

    if (g[0] != '/') {
        cfg_error(c, at, path, "must be an absolute path or glob");
        return;
    }
    if (g[n - 1] == '/') {
        cfg_error(c, at, path, "names a directory; add a file pattern such as *.log");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (g[i] == '\\') {
            if (i + 1 >= n) {
                cfg_error(c, at, path, "ends with an escaping backslash");
                return;
            }
            i++;
        } else if (g[i] == '[') {
            size_t j = i + 1;
            if (j < n && (g[j] == '!' || g[j] == '^'))
                j++;
            if (j < n && g[j] == ']')
                j++;
            while (j < n && g[j] != ']' && g[j] != '/')
                j++;
            if (j >= n || g[j] != ']') {
                cfg_error(c, at, path, "unbalanced '[' at offset %zu in glob (escape it as \\[)",
                          i);
                return;
            }
            if (j == i + 1 || (j == i + 2 && (g[i + 1] == '!' || g[i + 1] == '^'))) {
                cfg_error(c, at, path, "empty [] in glob at offset %zu", i);
                return;
            }
            i = j;
        } else if (g[i] == ']') {
            cfg_error(c, at, path, "unbalanced ']' at offset %zu in glob (escape it as \\])", i);
            return;
        } else if (g[i] == '*' && i + 1 < n && g[i + 1] == '*') {
            cfg_error(c, at, path,
                      "'**' is not supported: glob(3) does not match across directories");
            return;
        }
    }
}

static void
cfg_log_group(struct cfg_ctx *c, const struct ynode *at, const char *path, const char *g)
{
    size_t n = strlen(g);

    if (n > 512)
        cfg_error(c, at, path, "log group names are at most 512 characters");
    else if (!cfg_charset(g, "._-/#"))
        cfg_error(c, at, path, "log group names may only contain A-Z a-z 0-9 . - _ / #");
    else if (strncmp(g, "aws/", 4) == 0)
        cfg_error(c, at, path, "log group names starting with \"aws/\" are reserved by AWS");
}

/* The grammar is streamname.c's; only the wording of the errors is config's. */
static void
cfg_stream_template(struct cfg_ctx *c, const struct ynode *at, const char *path, const char *t,
                    bool has_hsm_id)
{
    struct streamname_problem pb;
    char q[64];

    if (streamname_check(t, has_hsm_id, &pb) == HAF_OK)
        return;
    switch (pb.kind) {
    case STREAMNAME_TOO_LONG:
        cfg_error(c, at, path, "log stream names are at most 512 characters");
        break;
    case STREAMNAME_FORBIDDEN_CHAR:
        cfg_error(c, at, path, "log stream names must not contain ':' or '*'");
        break;
    case STREAMNAME_UNBALANCED_CLOSE:
        cfg_error(c, at, path, "unbalanced '}' at offset %zu", pb.offset);
        break;
    case STREAMNAME_UNTERMINATED:
        cfg_error(c, at, path, "unterminated '{' at offset %zu", pb.offset);
        break;
    case STREAMNAME_UNKNOWN:
        cfg_quote(pb.name, q, sizeof(q));
        cfg_error(c, at, path,
                  "unknown placeholder {%s} (known: {hostname} {instance_id} {file} {hsm_id})", q);
        break;
    case STREAMNAME_HSM_ID_UNSET:
    case STREAMNAME_OK:
    default:
        cfg_error(c, at, path, "uses {hsm_id} but the source sets no hsm_id");
        break;
    }
}

bool
config_retention_valid(int days)
{
    static const int ok[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                             365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (ok[i] == days)
            return true;
    return false;
}

/* ---- the schema walk ---- */

static void
cfg_credentials(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg)
{
    static const char *const keys[] = {"profile",      "role_arn",     "external_id",
                                       "session_name", "sts_endpoint", NULL};
    const char *p = "credentials";

    if (!cfg_check_map(c, n, p, keys) && n->type != YN_MAP)
        return;
    if (cfg_str(c, n, p, "profile", &cfg->credentials.profile) &&
        (strlen(cfg->credentials.profile) > 128 || strpbrk(cfg->credentials.profile, "[]")))
        cfg_error(c, ytree_get(n, "profile"), "credentials.profile",
                  "must be at most 128 characters without '[' or ']'");
    if (cfg_str(c, n, p, "role_arn", &cfg->credentials.role_arn) &&
        (strncmp(cfg->credentials.role_arn, "arn:", 4) != 0 ||
         strstr(cfg->credentials.role_arn, ":role/") == NULL ||
         strlen(cfg->credentials.role_arn) > 2048 || strchr(cfg->credentials.role_arn, ' ')))
        cfg_error(c, ytree_get(n, "role_arn"), "credentials.role_arn",
                  "must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
    if (cfg_str(c, n, p, "external_id", &cfg->credentials.external_id) &&
        (strlen(cfg->credentials.external_id) < 2 || strlen(cfg->credentials.external_id) > 1224 ||
         !cfg_charset(cfg->credentials.external_id, "_+=,.@:/-")))
        cfg_error(c, ytree_get(n, "external_id"), "credentials.external_id",
                  "must be 2..1224 characters of A-Z a-z 0-9 _ + = , . @ : / -");
    if (cfg_str(c, n, p, "session_name", &cfg->credentials.session_name) &&
        (strlen(cfg->credentials.session_name) < 2 || strlen(cfg->credentials.session_name) > 64 ||
         !cfg_charset(cfg->credentials.session_name, "_+=,.@-")))
        cfg_error(c, ytree_get(n, "session_name"), "credentials.session_name",
                  "must be 2..64 characters of A-Z a-z 0-9 _ + = , . @ -");
    if (cfg_str(c, n, p, "sts_endpoint", &cfg->credentials.sts_endpoint))
        cfg_url(c, n, p, "sts_endpoint", cfg->credentials.sts_endpoint, CFG_URL_ENDPOINT);
}

static void
cfg_tls(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg)
{
    static const char *const keys[] = {"ca_file", "verify", NULL};

    if (!cfg_check_map(c, n, "tls", keys) && n->type != YN_MAP)
        return;
    if (cfg_str(c, n, "tls", "ca_file", &cfg->tls.ca_file))
        (void)cfg_abs_path(c, n, "tls", "ca_file", cfg->tls.ca_file);
    cfg_bool(c, n, "tls", "verify", &cfg->tls.verify);
}

static void
cfg_batch(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg)
{
    static const char *const keys[] = {"max_events", "max_bytes", "flush_interval_ms",
                                       "memory_budget_bytes", NULL};
    uint64_t v;

    if (!cfg_check_map(c, n, "batch", keys) && n->type != YN_MAP)
        return;
    if (cfg_uint(c, n, "batch", "max_events", 1, 10000, &v))
        cfg->batch.max_events = (uint32_t)v;
    if (cfg_uint(c, n, "batch", "max_bytes", 27, 1048576, &v))
        cfg->batch.max_bytes = (uint32_t)v;
    if (cfg_uint(c, n, "batch", "flush_interval_ms", 1, 3600000, &v))
        cfg->batch.flush_interval_ms = (uint32_t)v;
    if (cfg_uint(c, n, "batch", "memory_budget_bytes", 65536, 1073741824, &v))
        cfg->batch.memory_budget_bytes = (uint32_t)v;
}

/* digest: {enabled, interval_s, kms_key_id | key_file, signing_algorithm, log_group,
 * log_stream}. Exactly one key source when enabled; the stream template must name {stream}. */
static void
cfg_digest(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg)
{
    static const char *const keys[] = {"enabled",  "interval_s", "kms_key_id", "signing_algorithm",
                                       "key_file", "log_group",  "log_stream", NULL};
    static const char *const algs[] = {"ECDSA_SHA_256", "RSASSA_PSS_SHA_256"};
    const char *p = "digest";
    uint64_t v;
    int a;

    if (!cfg_check_map(c, n, p, keys) && n->type != YN_MAP)
        return;
    cfg_bool(c, n, p, "enabled", &cfg->digest.enabled);
    if (cfg_uint(c, n, p, "interval_s", 1, 86400, &v))
        cfg->digest.interval_s = (uint32_t)v;
    if (cfg_str(c, n, p, "kms_key_id", &cfg->digest.kms_key_id) &&
        (strlen(cfg->digest.kms_key_id) > 2048 || !cfg_charset(cfg->digest.kms_key_id, ":/_-")))
        cfg_error(c, ytree_get(n, "kms_key_id"), "digest.kms_key_id",
                  "must be a KMS key id, key ARN, alias name or alias ARN");
    a = cfg_enum(c, n, p, "signing_algorithm", algs, 2);
    if (a >= 0 && (cfg->digest.signing_algorithm = strdup(algs[a])) == NULL)
        c->nomem = true;
    if (cfg_str(c, n, p, "key_file", &cfg->digest.key_file))
        (void)cfg_abs_path(c, n, p, "key_file", cfg->digest.key_file);
    if (cfg_str(c, n, p, "log_group", &cfg->digest.log_group))
        cfg_log_group(c, ytree_get(n, "log_group"), "digest.log_group", cfg->digest.log_group);
    if (cfg_str(c, n, p, "log_stream", &cfg->digest.log_stream)) {
        if (!strstr(cfg->digest.log_stream, "{stream}"))
            cfg_error(c, ytree_get(n, "log_stream"), "digest.log_stream",
                      "must contain {stream} (the data stream's name)");
        else if (strlen(cfg->digest.log_stream) > 256 || strpbrk(cfg->digest.log_stream, ":*"))
            cfg_error(c, ytree_get(n, "log_stream"), "digest.log_stream",
                      "at most 256 characters, without ':' or '*'");
    }
    /* The daemon's side (sealing, signing and delivering records) is wired when daemon.c is
     * split; until then `enabled: true` must not be silently ignored. verify reads the rest. */
    if (cfg->digest.kms_key_id && cfg->digest.key_file)
        cfg_error(c, n, "digest", "kms_key_id and key_file: choose one signer");
    else if (cfg->digest.enabled && !cfg->digest.kms_key_id && !cfg->digest.key_file)
        cfg_error(c, n, "digest", "enabled: needs kms_key_id or key_file to sign with");
    if (cfg->digest.signing_algorithm && cfg->digest.key_file)
        cfg_error(c, n, "digest.signing_algorithm",
                  "applies to kms_key_id only (a key file's type decides its algorithm)");
}

static void
cfg_source(struct cfg_ctx *c, const struct ynode *n, size_t idx, struct config_source *src)
{
    static const char *const keys[] = {"path",           "log_group", "log_stream",      "format",
                                       "start_position", "hsm_id",    "follow_symlinks", NULL};
    static const char *const formats[] = {"json", "raw"};
    static const char *const starts[] = {"beginning", "end"};
    char p[64], kp[96];
    int v;

    snprintf(p, sizeof(p), "sources[%zu]", idx);
    src->format = AUDIT_FORMAT_JSON;
    src->start_position = START_BEGINNING;
    if (!cfg_check_map(c, n, p, keys) && n->type != YN_MAP)
        return;
    cfg_path(kp, sizeof(kp), p, "path");
    if (cfg_str(c, n, p, "path", &src->path))
        cfg_glob(c, ytree_get(n, "path"), kp, src->path);
    else if (ytree_get(n, "path") == NULL)
        cfg_error(c, n, kp, "missing (the audit file path or glob)");
    cfg_path(kp, sizeof(kp), p, "log_group");
    if (cfg_str(c, n, p, "log_group", &src->log_group))
        cfg_log_group(c, ytree_get(n, "log_group"), kp, src->log_group);
    else if (ytree_get(n, "log_group") == NULL)
        cfg_error(c, n, kp, "missing (the CloudWatch Logs log group)");
    cfg_path(kp, sizeof(kp), p, "hsm_id");
    if (cfg_str(c, n, p, "hsm_id", &src->hsm_id) &&
        (strlen(src->hsm_id) > 64 || !cfg_charset(src->hsm_id, "._-")))
        cfg_error(c, ytree_get(n, "hsm_id"), kp, "must be 1..64 characters of A-Z a-z 0-9 . _ -");
    cfg_path(kp, sizeof(kp), p, "log_stream");
    if (cfg_str(c, n, p, "log_stream", &src->log_stream))
        cfg_stream_template(c, ytree_get(n, "log_stream"), kp, src->log_stream,
                            src->hsm_id != NULL);
    v = cfg_enum(c, n, p, "format", formats, 2);
    if (v >= 0)
        src->format = v == 0 ? AUDIT_FORMAT_JSON : AUDIT_FORMAT_RAW;
    v = cfg_enum(c, n, p, "start_position", starts, 2);
    if (v >= 0)
        src->start_position = v == 0 ? START_BEGINNING : START_END;
    cfg_bool(c, n, p, "follow_symlinks", &src->follow_symlinks);
}

static void
cfg_sources(struct cfg_ctx *c, const struct ynode *root, struct haf_config *cfg)
{
    const struct ynode *n = ytree_get(root, "sources");

    if (n == NULL) {
        const struct ynode *at = NULL;
        (void)ytree_lookup(root, "sources", &at);
        cfg_error(c, at ? at : root, "sources", "missing: at least one source is required");
        return;
    }
    if (n->type != YN_SEQ) {
        cfg_error(c, n, "sources", "expected a sequence of sources, got %s", ytree_kind(n));
        return;
    }
    if (n->n == 0) {
        cfg_error(c, n, "sources", "empty: at least one source is required");
        return;
    }
    if (n->n > CFG_MAX_SOURCES) {
        cfg_error(c, n, "sources", "more than %d sources", CFG_MAX_SOURCES);
        return;
    }
    cfg->sources = calloc(n->n, sizeof(*cfg->sources));
    if (cfg->sources == NULL) {
        c->nomem = true;
        return;
    }
    cfg->n_sources = n->n;
    for (size_t i = 0; i < n->n; i++) {
        struct config_source *s = &cfg->sources[i];
        cfg_source(c, n->kids[i], i, s);
        if (s->log_stream == NULL && !c->nomem) {
            s->log_stream = strdup(CFG_DEFAULT_STREAM);
            if (s->log_stream == NULL)
                c->nomem = true;
        }
        /* The same file twice would be two writers of one stream (peers.md 8.3). */
        for (size_t j = 0; j < i && s->path; j++)
            if (cfg->sources[j].path && strcmp(cfg->sources[j].path, s->path) == 0) {
                char kp[64];
                snprintf(kp, sizeof(kp), "sources[%zu].path", i);
                cfg_error(c, ytree_get(n->kids[i], "path"), kp, "same path as sources[%zu]", j);
                break;
            }
    }
}

/*
 * log_group_tags: a mapping of 1..50 tags for the log groups the daemon creates, as CreateLogGroup
 * takes them: keys 1..128 characters, values 0..256, of letters, digits, spaces and _.:/=+-@ (the
 * API's pattern, restricted to ASCII), keys not starting with the reserved "aws:".
 */
static void
cfg_tags(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg)
{
    const char *const extra = " _.:/=+-@";

    if (n->type != YN_MAP || n->n == 0 || n->n / 2 > 50) {
        cfg_error(c, n, "log_group_tags", "expected a mapping of 1 to 50 tags, got %s",
                  n->type == YN_MAP ? "another number" : ytree_kind(n));
        return;
    }
    cfg->log_group_tags = calloc(n->n / 2, sizeof(*cfg->log_group_tags));
    if (cfg->log_group_tags == NULL) {
        c->nomem = true;
        return;
    }
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        const struct ynode *k = n->kids[i], *v = n->kids[i + 1];
        struct config_tag *t = &cfg->log_group_tags[cfg->n_log_group_tags];
        if (k->type != YN_SCALAR || k->len == 0 || k->len > 128 || strlen(k->val) != k->len ||
            !cfg_charset(k->val, extra) || strncmp(k->val, "aws:", 4) == 0) {
            cfg_error(c, k, "log_group_tags",
                      "a tag key is 1 to 128 letters, digits, spaces or _.:/=+-@, not starting "
                      "with aws:");
            continue;
        }
        if (v->type != YN_SCALAR || v->len > 256 || strlen(v->val) != v->len ||
            !cfg_charset(v->val, extra)) {
            cfg_error(c, v, "log_group_tags",
                      "a tag value is at most 256 letters, digits, spaces or _.:/=+-@");
            continue;
        }
        t->key = strdup(k->val);
        t->value = strdup(v->val);
        cfg->n_log_group_tags++;
        if (t->key == NULL || t->value == NULL)
            c->nomem = true;
    }
}

static void
cfg_walk(struct cfg_ctx *c, const struct ynode *root, struct haf_config *cfg)
{
    static const char *const keys[] = {"region",
                                       "endpoint",
                                       "credentials",
                                       "tls",
                                       "proxy",
                                       "state_dir",
                                       "create_log_group",
                                       "retention_days",
                                       "kms_key_id",
                                       "batch",
                                       "out_of_range",
                                       "sources",
                                       "deletion_protection",
                                       "log_group_class",
                                       "log_group_tags",
                                       "digest",
                                       NULL};
    static const char *const classes[] = {"STANDARD", "INFREQUENT_ACCESS"};
    static const char *const oor[] = {"reclock", "drop"};
    const struct ynode *n;
    uint64_t v;
    int e;

    if (root->type != YN_MAP) {
        cfg_error(c, root, NULL, "the configuration must be a mapping of keys, got %s",
                  ytree_kind(root));
        return;
    }
    (void)cfg_check_map(c, root, "", keys);
    if (cfg_str(c, root, "", "region", &cfg->region) &&
        (strlen(cfg->region) > 32 || !cfg_charset(cfg->region, "-")))
        cfg_error(c, ytree_get(root, "region"), "region",
                  "must be an AWS region name such as us-east-1");
    if (cfg_str(c, root, "", "endpoint", &cfg->endpoint))
        cfg_url(c, root, "", "endpoint", cfg->endpoint, CFG_URL_ENDPOINT);
    if ((n = ytree_get(root, "credentials")) != NULL)
        cfg_credentials(c, n, cfg);
    if ((n = ytree_get(root, "tls")) != NULL)
        cfg_tls(c, n, cfg);
    if (cfg_str(c, root, "", "proxy", &cfg->proxy))
        cfg_url(c, root, "", "proxy", cfg->proxy, CFG_URL_PROXY);
    if (cfg_str(c, root, "", "state_dir", &cfg->state_dir))
        (void)cfg_abs_path(c, root, "", "state_dir", cfg->state_dir);
    cfg_bool(c, root, "", "create_log_group", &cfg->create_log_group);
    cfg_bool(c, root, "", "deletion_protection", &cfg->deletion_protection);
    if ((e = cfg_enum(c, root, "", "log_group_class", classes, 2)) >= 0)
        cfg->log_group_class = classes[e];
    if ((n = ytree_get(root, "log_group_tags")) != NULL)
        cfg_tags(c, n, cfg);
    if (cfg_uint(c, root, "", "retention_days", 0, UINT64_MAX, &v)) {
        if (v > 3653 || !config_retention_valid((int)v))
            cfg_error(c, ytree_get(root, "retention_days"), "retention_days",
                      "%llu is not a retention CloudWatch accepts (1, 3, 5, 7, 14, 30, 60, 90, "
                      "120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, "
                      "3653)",
                      (unsigned long long)v);
        else
            cfg->retention_days = (int)v;
    }
    if (cfg_str(c, root, "", "kms_key_id", &cfg->kms_key_id) &&
        (strncmp(cfg->kms_key_id, "arn:", 4) != 0 || strlen(cfg->kms_key_id) > 256 ||
         strchr(cfg->kms_key_id, ' ')))
        cfg_error(c, ytree_get(root, "kms_key_id"), "kms_key_id",
                  "must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), at most 256 "
                  "characters");
    if ((n = ytree_get(root, "batch")) != NULL)
        cfg_batch(c, n, cfg);
    if ((n = ytree_get(root, "digest")) != NULL)
        cfg_digest(c, n, cfg);
    e = cfg_enum(c, root, "", "out_of_range", oor, 2);
    if (e >= 0)
        cfg->out_of_range = e == 0 ? OUT_OF_RANGE_RECLOCK : OUT_OF_RANGE_DROP;
    cfg_sources(c, root, cfg);
}

void
config_free(struct haf_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->file);
    free(cfg->region);
    free(cfg->endpoint);
    free(cfg->credentials.profile);
    free(cfg->credentials.role_arn);
    free(cfg->credentials.external_id);
    free(cfg->credentials.session_name);
    free(cfg->credentials.sts_endpoint);
    free(cfg->tls.ca_file);
    free(cfg->digest.kms_key_id);
    free(cfg->digest.signing_algorithm);
    free(cfg->digest.key_file);
    free(cfg->digest.log_group);
    free(cfg->digest.log_stream);
    free(cfg->proxy);
    free(cfg->state_dir);
    free(cfg->kms_key_id);
    for (size_t i = 0; i < cfg->n_log_group_tags; i++) {
        free(cfg->log_group_tags[i].key);
        free(cfg->log_group_tags[i].value);
    }
    free(cfg->log_group_tags);
    for (size_t i = 0; i < cfg->n_sources; i++) {
        free(cfg->sources[i].path);
        free(cfg->sources[i].log_group);
        free(cfg->sources[i].log_stream);
        free(cfg->sources[i].hsm_id);
    }
    free(cfg->sources);
    free(cfg);
}

enum haf_err
config_load_buffer(const char *name, const char *data, size_t len, struct haf_config **out,
                   struct buf *err)
{
    struct cfg_ctx c = {.name = name ? name : "<config>", .err = err};
    struct ynode *root = NULL, empty = {.type = YN_MAP, .line = 1, .col = 1};
    struct haf_config *cfg = NULL;
    struct ytree_error yerr;
    enum haf_err e;

    if (len > CONFIG_MAX_FILE_BYTES) {
        cfg_error(&c, NULL, NULL, "larger than %u bytes", CONFIG_MAX_FILE_BYTES);
        e = HAF_ECONFIG;
        goto out;
    }
    e = ytree_load(data, len, &root, &yerr);
    if (e == HAF_ECONFIG)
        cfg_report(&c, yerr.line, yerr.col, NULL, "%s", yerr.msg);
    if (e != HAF_OK)
        goto out;
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL) {
        e = HAF_ENOMEM;
        goto out;
    }
    cfg->tls.verify = true;
    cfg->create_log_group = true;
    cfg->batch.max_events = CONFIG_DEFAULT_BATCH_MAX_EVENTS;
    cfg->batch.max_bytes = CONFIG_DEFAULT_BATCH_MAX_BYTES;
    cfg->batch.flush_interval_ms = CONFIG_DEFAULT_FLUSH_INTERVAL_MS;
    cfg->batch.memory_budget_bytes = CONFIG_DEFAULT_BATCH_MEMORY_BUDGET_BYTES;
    cfg->out_of_range = OUT_OF_RANGE_RECLOCK;
    cfg->digest.interval_s = CONFIG_DEFAULT_DIGEST_INTERVAL_S;
    /* An empty file or document is an empty mapping (and then "sources" is missing). */
    cfg_walk(&c, root && !ytree_is_null(root) ? root : &empty, cfg);
    if (c.nomem) {
        e = HAF_ENOMEM;
        goto out;
    }
    if (c.n_errors > 0) {
        e = HAF_ECONFIG;
        goto out;
    }
    cfg->file = strdup(c.name);
    if (cfg->state_dir == NULL)
        cfg->state_dir = strdup(CONFIG_DEFAULT_STATE_DIR);
    if (cfg->credentials.session_name == NULL)
        cfg->credentials.session_name = strdup(CFG_DEFAULT_SESSION);
    if (cfg->digest.log_stream == NULL)
        cfg->digest.log_stream = strdup(CONFIG_DEFAULT_DIGEST_STREAM);
    if (cfg->file == NULL || cfg->state_dir == NULL || cfg->credentials.session_name == NULL ||
        cfg->digest.log_stream == NULL) {
        e = HAF_ENOMEM;
        goto out;
    }
    *out = cfg;
    cfg = NULL;
    e = HAF_OK;
out:
    if (c.nomem && e == HAF_OK)
        e = HAF_ENOMEM;
    if (e == HAF_OK && c.n_errors > 0)
        e = HAF_ECONFIG;
    ytree_free(root);
    config_free(cfg);
    return e;
}

/*
 * creds.c: the AWS credential chain (see creds.h and reference/cwl-api.md section 5).
 *
 * Order, first that yields credentials wins, re-run at every refresh so rotated files and new
 * environments are picked up: environment; shared config and credentials files (profile);
 * web identity (STS AssumeRoleWithWebIdentity, unsigned, the token file re-read every time);
 * container credentials (ECS task role, EKS Pod Identity); EC2 IMDSv2. With a role_arn, the
 * result is only the base for an STS AssumeRole signed with it (cross-account delivery).
 *
 * Invariants:
 * - The secret key, session token, IMDS token and container authorization token live in heap
 *   strings that are wiped (OPENSSL_cleanse) before they are freed, response bodies that carried
 *   them too. No secret reaches `why`: it names sources, files, HTTP statuses and the access key
 *   id at most. Low-level: this module never logs.
 * - Every network call has a short timeout (IMDS 1 s, container 2 s, STS 5 s) and link-local
 *   endpoints never go through a proxy, so creds_get cannot wedge the daemon for long.
 * - Refresh: temporary credentials are replaced CREDS_DEFAULT_MARGIN_MS (or opts margin) before
 *   they expire, or at half their remaining lifetime when that is sooner (60-second credentials
 *   refresh after ~30 s). A failed refresh keeps credentials that have not expired, and is
 *   retried after a pause (a quarter of the remaining lifetime, 1..60 s); creds_invalidate()
 *   forces the next creds_get to refresh at once.
 * - Documents are untrusted: JSON through jansson (bounded size), XML and INI through bounded
 *   scanners of our own on spans. No INI library: the AWS shared-file dialect is small
 *   (sections, key = value, comments, indented sub-keys we skip), the available libraries
 *   (inih and kin) use fixed line buffers that silently truncate or need callbacks on C strings
 *   that stop at a NUL, and none is packaged with the bounds we want. No XML library either: we
 *   read four leaf elements of a fixed STS answer, which a scanner does in a page.
 *
 * Trade-offs: IMDSv1 is not used (a token PUT that fails means no IMDS credentials); profile
 * role chaining (role_arn/source_profile inside the files), SSO and credential_process are not
 * supported: the config's role_arn covers the cross-account case.
 */
#include "haf/creds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "creds_internal.h"
#include "haf/buf.h"
#include "haf/civil.h"
#include "haf/http.h"
#include "haf/http_replay.h"
#include "haf/sigv4.h"
#include "haf/url.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_TTL_S      21600
#define IMDS_TIMEOUT_MS       1000
#define CONTAINER_HOST        "http://169.254.170.2"
#define CONTAINER_TIMEOUT_MS  2000
#define STS_TIMEOUT_MS        5000
#define STS_VERSION           "2011-06-15"
#define DEFAULT_SESSION_NAME  "hsm-audit-forwarder"
#define TOKEN_FILE_MAX_BYTES  (16u << 10)
#define WHY_MAX               1024
#define RETRY_MIN_MS          1000
#define RETRY_MAX_MS          60000
#define NO_CREDS_RETRY_MS     5000

struct creds_provider {
    struct http_client *http;
    char *profile, *role_arn, *external_id, *session_name, *sts_endpoint, *region;
    int64_t margin_ms;

    struct aws_creds cur;
    bool have;
    bool invalidated;
    int64_t refresh_at_ms;
    int64_t retry_at_ms;
    char last_why[WHY_MAX];

    char *imds_token;
    int64_t imds_token_expiry_ms;

    struct http_replay *replay; /* creds_set_async: the chain's calls run on the multi handle */
};

/* ---- small helpers ---- */

static void
secret_free(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

static char *
dup_span(struct span s)
{
    char *p = malloc(s.len + 1);

    if (p == NULL)
        return NULL;
    if (s.len)
        memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    return p;
}

static char *
dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

static const char *
env_nonempty(const char *name)
{
    const char *v = getenv(name);

    return (v && v[0] != '\0') ? v : NULL;
}

static bool
ascii_ieq(struct span a, const char *b)
{
    size_t n = strlen(b);

    if (a.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char x = a.p[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

static bool
is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Access key ids are upper-case letters and digits; allow any alphanumerics, 1..128. */
static bool
valid_key_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum((unsigned char)s[i]))
            return false;
    return true;
}

/* Secrets and tokens travel in HTTP headers and HMAC keys: printable ASCII, no spaces. */
static bool
valid_secret(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

static bool
doc_valid(const struct creds_doc *d)
{
    return valid_key_id(d->access_key_id) && valid_secret(d->secret_access_key, 1024) &&
           (d->session_token == NULL || valid_secret(d->session_token, 16384));
}

void
creds_doc_clean_up(struct creds_doc *d)
{
    if (d == NULL)
        return;
    secret_free(d->access_key_id);
    secret_free(d->secret_access_key);
    secret_free(d->session_token);
    memset(d, 0, sizeof(*d));
}

void
creds_ini_clean_up(struct creds_ini *ini)
{
    if (ini == NULL)
        return;
    secret_free(ini->access_key_id);
    secret_free(ini->secret_access_key);
    secret_free(ini->session_token);
    free(ini->region);
    memset(ini, 0, sizeof(*ini));
}

static void
aws_creds_clean_up(struct aws_creds *c)
{
    secret_free(c->access_key_id);
    secret_free(c->secret_access_key);
    secret_free(c->session_token);
    memset(c, 0, sizeof(*c));
}

/* Move a document into aws_creds (the doc is left empty). */
static void
doc_take(struct creds_doc *d, struct aws_creds *out, const char *source)
{
    out->access_key_id = d->access_key_id;
    out->secret_access_key = d->secret_access_key;
    out->session_token = d->session_token;
    out->expiration_ms = d->expiration_ms;
    out->source = source;
    memset(d, 0, sizeof(*d));
}

/* why is a capped buffer of fixed texts; it never takes a secret. */
static void why_add(struct buf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
why_add(struct buf *why, const char *fmt, ...)
{
    va_list ap;

    if (why->len > 0 && buf_adds(why, "; ") != HAF_OK)
        return;
    va_start(ap, fmt);
    if (buf_vaddf(why, fmt, ap) != HAF_OK) {
        /* Past the cap the explanation is cut short; it is advisory text only. */
    }
    va_end(ap);
}

static void
copy_why(char *dst, size_t len, const char *src)
{
    if (dst == NULL || len == 0)
        return;
    snprintf(dst, len, "%s", src);
}

/* A bounded, printable copy of an untrusted short text (error codes) for `why`. */
static void
sanitize_code(struct span s, char *out, size_t len)
{
    size_t n = 0;

    if (len == 0)
        return;
    for (size_t i = 0; i < s.len && n + 1 < len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (is_alnum(c) || c == '.' || c == '-' || c == '_')
            out[n++] = (char)c;
    }
    out[n] = '\0';
}

/* A bounded copy of a transport error text: printable ASCII, the rest as '?'. */
static void
sanitize_text(struct span s, char *out, size_t len)
{
    size_t n = 0;

    if (len == 0)
        return;
    for (size_t i = 0; i < s.len && n + 1 < len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[n] = '\0';
}

/* ---- ISO-8601 ---- */

static bool
digits(struct span s, size_t at, size_t n, int *out)
{
    int v = 0;

    if (at + n > s.len)
        return false;
    for (size_t i = at; i < at + n; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9)
            return false;
        v = v * 10 + (int)d;
    }
    *out = v;
    return true;
}

bool
creds_parse_iso8601(struct span s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign = 0;
    size_t i = 19;
    int64_t v;

    if (s.len < 20 || !digits(s, 0, 4, &y) || s.p[4] != '-' || !digits(s, 5, 2, &mo) ||
        s.p[7] != '-' || !digits(s, 8, 2, &d) || (s.p[10] != 'T' && s.p[10] != 't') ||
        !digits(s, 11, 2, &h) || s.p[13] != ':' || !digits(s, 14, 2, &mi) || s.p[16] != ':' ||
        !digits(s, 17, 2, &sec))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > civil_days_in_month(y, (unsigned)mo) ||
        h > 23 || mi > 59 || sec > 60)
        return false;
    if (sec == 60)
        sec = 59; /* a leap second: a second early is the safe side for an expiry */
    if (s.p[i] == '.') {
        size_t n = 0;
        i++;
        while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9') {
            if (n < 3)
                frac = frac * 10 + (s.p[i] - '0');
            n++;
            i++;
        }
        if (n == 0 || n > 9)
            return false;
        for (; n < 3; n++)
            frac *= 10;
    }
    if (i < s.len && (s.p[i] == 'Z' || s.p[i] == 'z')) {
        i++;
    } else if (i < s.len && (s.p[i] == '+' || s.p[i] == '-')) {
        sign = s.p[i] == '-' ? -1 : 1;
        if (!digits(s, i + 1, 2, &oh))
            return false;
        i += 3;
        if (i < s.len && s.p[i] == ':')
            i++;
        if (!digits(s, i, 2, &om) || oh > 23 || om > 59)
            return false;
        i += 2;
    } else {
        return false;
    }
    if (i != s.len)
        return false;
    v = civil_days_from(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
    v -= sign * (oh * 3600 + om * 60);
    *ms = v * 1000 + frac;
    return true;
}

/* ---- refresh schedule ---- */

int64_t
creds_refresh_at(int64_t now_ms, int64_t expiration_ms, int64_t margin_ms)
{
    int64_t half;

    if (expiration_ms == 0)
        return INT64_MAX;
    if (margin_ms <= 0)
        margin_ms = CREDS_DEFAULT_MARGIN_MS;
    if (expiration_ms <= now_ms)
        return now_ms;
    half = (expiration_ms - now_ms) / 2;
    return expiration_ms - (half < margin_ms ? half : margin_ms);
}

/* ---- INI (shared config and credentials files) ---- */

static bool
is_hspace(char c)
{
    return c == ' ' || c == '\t';
}

/* Does section name `sec` (trimmed) select `profile`? */
static bool
section_matches(struct span sec, const char *profile, bool config_file)
{
    struct span want = span_cstr(profile);

    if (!config_file)
        return span_eq(sec, want);
    if (span_starts_with(sec, SPAN_LIT("profile")) && sec.len > 7 && is_hspace(sec.p[7])) {
        struct span rest = span_trim(span_make(sec.p + 7, sec.len - 7));
        return span_eq(rest, want);
    }
    /* "[default]", and the bare "[name]" form botocore also accepts in the config file. */
    return span_eq(sec, want);
}

static enum haf_err
ini_set(char **slot, struct span v)
{
    char *p = dup_span(v);

    if (p == NULL)
        return HAF_ENOMEM;
    secret_free(*slot);
    *slot = p;
    return HAF_OK;
}

enum haf_err
creds_parse_ini(struct span file, const char *profile, bool config_file, struct creds_ini *out)
{
    size_t i = 0;
    bool in_section = false;
    enum haf_err e = HAF_OK;

    if (profile == NULL || out == NULL || (file.p == NULL && file.len > 0))
        return HAF_EINVAL;
    if (file.len > CREDS_INI_MAX_BYTES)
        return HAF_ETOOLONG;
    if (file.len >= 3 && memcmp(file.p, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < file.len && e == HAF_OK) {
        size_t start = i, end;
        struct span line, t;

        while (i < file.len && file.p[i] != '\n')
            i++;
        end = i;
        i++; /* the '\n' */
        if (end - start > CREDS_INI_MAX_LINE)
            return HAF_ETOOLONG;
        line = span_make(file.p + start, end - start);
        if (line.len > 0 && memchr(line.p, '\0', line.len) != NULL)
            return HAF_EPARSE;
        t = span_trim(line);
        if (t.len == 0 || t.p[0] == '#' || t.p[0] == ';')
            continue;
        if (t.p[0] == '[') {
            const char *close = memchr(t.p, ']', t.len);
            if (close == NULL) {
                in_section = false; /* malformed header: its keys belong to no profile */
                continue;
            }
            in_section = section_matches(span_trim(span_make(t.p + 1, (size_t)(close - t.p - 1))),
                                         profile, config_file);
            if (in_section)
                out->found = true;
            continue;
        }
        /* Indented lines continue the previous value or hold sub-keys ("s3 =\n  x = y"). */
        if (!in_section || is_hspace(line.p[0]))
            continue;
        {
            size_t k = 0;
            struct span key, value;
            while (k < t.len && t.p[k] != '=' && t.p[k] != ':')
                k++;
            if (k == t.len)
                continue; /* no delimiter: not a key line */
            key = span_trim(span_make(t.p, k));
            value = span_trim(span_make(t.p + k + 1, t.len - k - 1));
            if (ascii_ieq(key, "aws_access_key_id"))
                e = ini_set(&out->access_key_id, value);
            else if (ascii_ieq(key, "aws_secret_access_key"))
                e = ini_set(&out->secret_access_key, value);
            else if (ascii_ieq(key, "aws_session_token") || ascii_ieq(key, "aws_security_token"))
                e = ini_set(&out->session_token, value);
            else if (ascii_ieq(key, "region"))
                e = ini_set(&out->region, value);
        }
    }
    return e;
}

/* ---- JSON (IMDS, container) ---- */

static void
set_why(char *why, size_t len, const char *text)
{
    if (why && len)
        snprintf(why, len, "%s", text);
}

static enum haf_err
json_take_string(json_t *o, const char *key, char **out)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        return HAF_EPARSE;
    *out = dup_span(span_make(json_string_value(v), json_string_length(v)));
    if (*out == NULL)
        return HAF_ENOMEM;
    if (strlen(*out) != json_string_length(v))
        return HAF_EPARSE; /* an embedded NUL */
    return HAF_OK;
}

enum haf_err
creds_parse_json(struct span body, struct creds_doc *out, char *why, size_t why_len)
{
    struct creds_doc d = {0};
    json_t *root = NULL, *code;
    json_error_t jerr;
    char *exp = NULL;
    enum haf_err e = HAF_EPARSE;

    if (out == NULL || (body.p == NULL && body.len > 0))
        return HAF_EINVAL;
    if (body.len > CREDS_DOC_MAX_BYTES) {
        set_why(why, why_len, "credentials document too large");
        return HAF_ETOOLONG;
    }
    root = json_loadb(body.p ? body.p : "", body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        set_why(why, why_len, "credentials document is not a JSON object");
        goto out;
    }
    code = json_object_get(root, "Code");
    if (code != NULL && (!json_is_string(code) || strcmp(json_string_value(code), "Success"))) {
        set_why(why, why_len, "credentials document has an error Code");
        e = HAF_EREJECTED;
        goto out;
    }
    if ((e = json_take_string(root, "AccessKeyId", &d.access_key_id)) != HAF_OK ||
        (e = json_take_string(root, "SecretAccessKey", &d.secret_access_key)) != HAF_OK ||
        (e = json_take_string(root, "Token", &d.session_token)) != HAF_OK ||
        (e = json_take_string(root, "Expiration", &exp)) != HAF_OK) {
        if (e == HAF_EPARSE)
            set_why(why, why_len,
                    "credentials document lacks AccessKeyId, SecretAccessKey, Token or Expiration");
        goto out;
    }
    if (!creds_parse_iso8601(span_cstr(exp), &d.expiration_ms)) {
        set_why(why, why_len, "credentials document has a malformed Expiration");
        e = HAF_EPARSE;
        goto out;
    }
    if (!doc_valid(&d)) {
        set_why(why, why_len, "credentials document has malformed key id, secret or token");
        e = HAF_EPARSE;
        goto out;
    }
    *out = d;
    memset(&d, 0, sizeof(d));
    e = HAF_OK;
out:
    free(exp);
    creds_doc_clean_up(&d);
    json_decref(root);
    return e;
}

/* ---- XML (STS) ---- */

/* The inner text of the first <tag>...</tag> in s (tag without attributes). */
static bool
xml_element(struct span s, const char *tag, struct span *inner)
{
    char open[64], close[64];
    int no = snprintf(open, sizeof(open), "<%s>", tag);
    int nc = snprintf(close, sizeof(close), "</%s>", tag);
    const char *a, *b;

    if (no <= 0 || (size_t)no >= sizeof(open) || nc <= 0 || (size_t)nc >= sizeof(close))
        return false;
    a = s.len ? memmem(s.p, s.len, open, (size_t)no) : NULL;
    if (a == NULL)
        return false;
    a += no;
    b = memmem(a, s.len - (size_t)(a - s.p), close, (size_t)nc);
    if (b == NULL)
        return false;
    *inner = span_make(a, (size_t)(b - a));
    return true;
}

/* Text content with the five predefined entities decoded; other markup refused. */
static enum haf_err
xml_text(struct span s, char **out)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    struct buf b;
    enum haf_err e = HAF_OK;

    buf_init(&b, CREDS_DOC_MAX_BYTES);
    s = span_trim(s);
    for (size_t i = 0; i < s.len && e == HAF_OK; i++) {
        char c = s.p[i];
        if (c == '<' || c == '\0') {
            e = HAF_EPARSE;
        } else if (c == '&') {
            size_t k;
            for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
                size_t n = strlen(ents[k].ent);
                if (s.len - i >= n && memcmp(s.p + i, ents[k].ent, n) == 0) {
                    e = buf_addc(&b, ents[k].c);
                    i += n - 1;
                    break;
                }
            }
            if (k == sizeof(ents) / sizeof(ents[0]))
                e = HAF_EPARSE;
        } else {
            e = buf_addc(&b, c);
        }
    }
    if (e == HAF_OK) {
        *out = dup_span(buf_span(&b));
        if (*out == NULL)
            e = HAF_ENOMEM;
    }
    buf_wipe(&b);
    return e;
}

enum haf_err
creds_parse_sts_xml(struct span body, struct creds_doc *out, char *code, size_t code_len)
{
    struct creds_doc d = {0};
    struct span cr, v;
    char *exp = NULL;
    enum haf_err e = HAF_EPARSE;

    if (code && code_len)
        code[0] = '\0';
    if (out == NULL || (body.p == NULL && body.len > 0))
        return HAF_EINVAL;
    if (body.len > CREDS_DOC_MAX_BYTES)
        return HAF_ETOOLONG;
    if (xml_element(body, "Error", &cr)) {
        if (xml_element(cr, "Code", &v) && code)
            sanitize_code(span_trim(v), code, code_len);
        return HAF_EREJECTED;
    }
    if (!xml_element(body, "Credentials", &cr))
        goto out;
    if (!xml_element(cr, "AccessKeyId", &v) || (e = xml_text(v, &d.access_key_id)) != HAF_OK ||
        !xml_element(cr, "SecretAccessKey", &v) ||
        (e = xml_text(v, &d.secret_access_key)) != HAF_OK || !xml_element(cr, "SessionToken", &v) ||
        (e = xml_text(v, &d.session_token)) != HAF_OK || !xml_element(cr, "Expiration", &v) ||
        (e = xml_text(v, &exp)) != HAF_OK) {
        if (e == HAF_OK)
            e = HAF_EPARSE;
        goto out;
    }
    if (!creds_parse_iso8601(span_cstr(exp), &d.expiration_ms) || !doc_valid(&d)) {
        e = HAF_EPARSE;
        goto out;
    }
    *out = d;
    memset(&d, 0, sizeof(d));
    e = HAF_OK;
out:
    free(exp);
    creds_doc_clean_up(&d);
    return e;
}

/* ---- URLs ---- */

/* The ECS and EKS Pod Identity agents' link-local addresses: plain http to them is the design
 * of those services (and they never go through a proxy). */
static bool
container_host_is_agent(const struct url *u)
{
    return span_eq(u->host, SPAN_LIT("169.254.170.2")) ||
           span_eq(u->host, SPAN_LIT("169.254.170.23")) ||
           (u->ipv6 && span_eq(u->host, SPAN_LIT("fd00:ec2::23")));
}

bool
creds_container_url_allowed(const char *url)
{
    struct url u;

    if (url == NULL || url_parse(span_cstr(url), &u, NULL) != HAF_OK || u.has_userinfo)
        return false;
    if (url_scheme_is(&u, "https"))
        return true;
    return url_scheme_is(&u, "http") && (url_host_is_loopback(&u) || container_host_is_agent(&u));
}

/* ---- files ---- */

/* Read a whole small file (regular file, at most max bytes). HAF_ENOTFOUND when absent. The null
 * device reads as an empty file: AWS_CONFIG_FILE=/dev/null is the usual way to say "no shared
 * files" (the AWS CLI and SDKs accept it), and must let the chain go on to IMDS. */
static enum haf_err
read_file(const char *path, size_t max, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    enum haf_err e = HAF_OK;
    char chunk[4096];

    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? HAF_ENOTFOUND : HAF_EIO;
    if (fstat(fd, &st) != 0) {
        e = HAF_EIO;
        goto out;
    }
    buf_init(out, max);
    if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
        goto out; /* /dev/null */
    if (!S_ISREG(st.st_mode)) {
        e = HAF_EIO;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = HAF_EIO;
            break;
        }
        if (n == 0)
            break;
        if ((e = buf_add(out, chunk, (size_t)n)) != HAF_OK)
            break;
    }
    OPENSSL_cleanse(chunk, sizeof(chunk));
    if (e != HAF_OK)
        buf_wipe(out);
out:
    close(fd);
    return e;
}

static char *
home_path(const char *rel)
{
    const char *home = getenv("HOME");
    struct buf b;

    if (home == NULL || home[0] == '\0')
        return NULL;
    buf_init(&b, 4096);
    if (buf_addf(&b, "%s/%s", home, rel) != HAF_OK) {
        buf_clean_up(&b);
        return NULL;
    }
    return b.p;
}

/* ---- HTTP ---- */

struct call {
    const char *method, *url;
    const struct http_header *headers;
    size_t n_headers;
    const char *body;
    size_t body_len;
    long timeout_ms;
    bool no_proxy;
};

/* One blocking call; describes a transport failure in why. resp must be initialised. */
static enum haf_err
do_call(struct http_client *http, const struct call *c, struct http_response *resp, struct buf *why,
        const char *what)
{
    struct http_request req = {.method = c->method,
                               .url = c->url,
                               .headers = c->headers,
                               .n_headers = c->n_headers,
                               .body = c->body,
                               .body_len = c->body_len,
                               .timeout_ms = c->timeout_ms,
                               .no_proxy = c->no_proxy};
    enum haf_err e;

    if (http == NULL) {
        why_add(why, "%s: no HTTP client", what);
        return HAF_EHTTP;
    }
    e = http_perform(http, &req, resp);
    if (e != HAF_OK) {
        why_add(why, "%s: %s", what, haf_err_str(e));
        return e;
    }
    if (resp->outcome != HTTP_ANSWERED) {
        char err[128];
        sanitize_text(span_make(resp->error, strnlen(resp->error, sizeof(resp->error))), err,
                      sizeof(err));
        why_add(why, "%s: %s%s%s", what,
                resp->outcome == HTTP_TOO_LARGE  ? "answer too large"
                : resp->outcome == HTTP_NOT_SENT ? "not reachable"
                                                 : "timeout or connection lost",
                err[0] ? ": " : "", err);
        return HAF_EHTTP;
    }
    return HAF_OK;
}

static void
response_wipe(struct http_response *r)
{
    buf_wipe(&r->body);
    http_response_clean_up(r);
}

static enum haf_err
form_add(struct buf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    enum haf_err e = HAF_OK;

    if (b->len > 0)
        e = buf_addc(b, '&');
    if (e == HAF_OK)
        e = buf_adds(b, name);
    if (e == HAF_OK)
        e = buf_addc(b, '=');
    for (const unsigned char *p = (const unsigned char *)value; *p && e == HAF_OK; p++) {
        if (is_alnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            e = buf_addc(b, (char)*p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 0xf]};
            e = buf_add(b, esc, 3);
        }
    }
    return e;
}

/* ---- IMDSv2 ---- */

static void
imds_endpoint(char *out, size_t len)
{
    const char *ep = env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    size_t n;

    snprintf(out, len, "%s", ep ? ep : IMDS_DEFAULT_ENDPOINT);
    n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
}

static bool
imds_disabled(void)
{
    const char *v = getenv("AWS_EC2_METADATA_DISABLED");

    return v != NULL && ascii_ieq(span_cstr(v), "true");
}

/* PUT /latest/api/token. */
static enum haf_err
imds_fetch_token(struct http_client *http, const char *ep, char **token, struct buf *why)
{
    char url[512];
    struct http_header h[] = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
    struct http_response resp;
    struct call c = {.method = "PUT",
                     .url = url,
                     .headers = h,
                     .n_headers = 1,
                     .timeout_ms = IMDS_TIMEOUT_MS,
                     .no_proxy = true};
    struct span t;
    enum haf_err e;

    snprintf(url, sizeof(url), "%s/latest/api/token", ep);
    http_response_init(&resp);
    if ((e = do_call(http, &c, &resp, why, "imds: token")) != HAF_OK)
        goto out;
    if (resp.status != 200) {
        why_add(why, "imds: token request answered HTTP %ld", resp.status);
        e = HAF_ECREDS;
        goto out;
    }
    t = span_trim(buf_span(&resp.body));
    if (t.len == 0 || t.len > 4096) {
        why_add(why, "imds: malformed token");
        e = HAF_ECREDS;
        goto out;
    }
    for (size_t i = 0; i < t.len; i++) {
        if ((unsigned char)t.p[i] <= 0x20 || (unsigned char)t.p[i] >= 0x7f) {
            why_add(why, "imds: malformed token");
            e = HAF_ECREDS;
            goto out;
        }
    }
    *token = dup_span(t);
    e = *token ? HAF_OK : HAF_ENOMEM;
out:
    response_wipe(&resp);
    return e;
}

/* GET path with the token; HAF_EAGAIN on 401 (token no longer valid). */
static enum haf_err
imds_get(struct http_client *http, const char *ep, const char *token, const char *path,
         struct http_response *resp, struct buf *why)
{
    char url[1024];
    struct http_header h[] = {{"X-aws-ec2-metadata-token", token}};
    struct call c = {.method = "GET",
                     .url = url,
                     .headers = h,
                     .n_headers = 1,
                     .timeout_ms = IMDS_TIMEOUT_MS,
                     .no_proxy = true};
    enum haf_err e;

    snprintf(url, sizeof(url), "%s%s", ep, path);
    if ((e = do_call(http, &c, resp, why, "imds")) != HAF_OK)
        return e;
    if (resp->status == 401)
        return HAF_EAGAIN;
    if (resp->status == 404)
        return HAF_ENOTFOUND;
    if (resp->status != 200) {
        why_add(why, "imds: %s answered HTTP %ld", path, resp->status);
        return HAF_ECREDS;
    }
    return HAF_OK;
}

/* A short IMDS text value (role name, region, instance id): first line, trimmed,
 * [A-Za-z0-9+=,.@_-]. */
static enum haf_err
imds_word(struct http_response *resp, char **out)
{
    struct span s = buf_span(&resp->body);
    const char *nl = s.len ? memchr(s.p, '\n', s.len) : NULL;

    if (nl)
        s.len = (size_t)(nl - s.p);
    s = span_trim(s);
    if (s.len == 0 || s.len > 128)
        return HAF_EPARSE;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!is_alnum(c) && (c == 0 || !strchr("+=,.@_-", c)))
            return HAF_EPARSE;
    }
    *out = dup_span(s);
    return *out ? HAF_OK : HAF_ENOMEM;
}

/*
 * GET an IMDS path, fetching a token first when we have none (or it expired), and once more
 * after a 401. token/expiry may be NULL (no cache: a fresh token for this call).
 */
static enum haf_err
imds_request(struct http_client *http, char **token_cache, int64_t *expiry_ms, int64_t now_ms,
             const char *path, struct http_response *resp, struct buf *why)
{
    char ep[512], *local = NULL, **token = token_cache ? token_cache : &local;
    enum haf_err e = HAF_ECREDS;

    imds_endpoint(ep, sizeof(ep));
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*token != NULL && expiry_ms && now_ms >= *expiry_ms) {
            secret_free(*token);
            *token = NULL;
        }
        if (*token == NULL) {
            if ((e = imds_fetch_token(http, ep, token, why)) != HAF_OK)
                break;
            if (expiry_ms)
                *expiry_ms = now_ms + (IMDS_TOKEN_TTL_S - 60) * 1000LL;
        }
        response_wipe(resp);
        e = imds_get(http, ep, *token, path, resp, why);
        if (e != HAF_EAGAIN)
            break;
        secret_free(*token); /* 401: the token is no longer valid */
        *token = NULL;
        if (attempt == 1)
            why_add(why, "imds: token refused twice");
    }
    if (e == HAF_EAGAIN)
        e = HAF_ECREDS;
    secret_free(local);
    return e;
}

static enum haf_err
provider_imds(struct creds_provider *p, int64_t now_ms, struct aws_creds *out, struct buf *why)
{
    struct http_response resp;
    struct creds_doc d = {0};
    char *role = NULL, path[256], jwhy[160] = "";
    enum haf_err e;

    if (imds_disabled()) {
        why_add(why, "imds: disabled (AWS_EC2_METADATA_DISABLED)");
        return HAF_ENOTFOUND;
    }
    http_response_init(&resp);
    e = imds_request(p->http, &p->imds_token, &p->imds_token_expiry_ms, now_ms,
                     "/latest/meta-data/iam/security-credentials/", &resp, why);
    if (e == HAF_ENOTFOUND)
        why_add(why, "imds: no instance profile");
    if (e != HAF_OK)
        goto out;
    if ((e = imds_word(&resp, &role)) != HAF_OK) {
        why_add(why, "imds: malformed role name");
        goto out;
    }
    snprintf(path, sizeof(path), "/latest/meta-data/iam/security-credentials/%s", role);
    e = imds_request(p->http, &p->imds_token, &p->imds_token_expiry_ms, now_ms, path, &resp, why);
    if (e == HAF_ENOTFOUND)
        why_add(why, "imds: role %s has no credentials", role);
    if (e != HAF_OK)
        goto out;
    if ((e = creds_parse_json(buf_span(&resp.body), &d, jwhy, sizeof(jwhy))) != HAF_OK) {
        why_add(why, "imds: %s", jwhy);
        goto out;
    }
    doc_take(&d, out, "imds");
out:
    free(role);
    creds_doc_clean_up(&d);
    response_wipe(&resp);
    return e;
}

/* ---- container (ECS, EKS Pod Identity) ---- */

static enum haf_err
provider_container(struct creds_provider *p, struct aws_creds *out, struct buf *why)
{
    const char *rel = env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *tok_file = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tok_env = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    struct buf url, tok;
    struct http_response resp;
    struct http_header h[1];
    struct creds_doc d = {0};
    struct url u;
    char jwhy[160] = "";
    struct call c = {.method = "GET", .headers = h, .timeout_ms = CONTAINER_TIMEOUT_MS};
    enum haf_err e = HAF_ENOTFOUND;

    buf_init(&url, 4096);
    buf_init(&tok, TOKEN_FILE_MAX_BYTES);
    http_response_init(&resp);
    if (rel == NULL && full == NULL)
        goto out;
    if (rel != NULL) {
        if (rel[0] != '/' || buf_addf(&url, "%s%s", CONTAINER_HOST, rel) != HAF_OK) {
            why_add(why, "container: malformed AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
            e = HAF_ECREDS;
            goto out;
        }
    } else if (!creds_container_url_allowed(full)) {
        why_add(why, "container: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback, "
                     "169.254.170.2 or 169.254.170.23 address");
        e = HAF_ECREDS;
        goto out;
    } else if (buf_adds(&url, full) != HAF_OK) {
        e = HAF_ENOMEM;
        goto out;
    }
    if (url_parse(buf_span(&url), &u, NULL) != HAF_OK) {
        why_add(why, "container: malformed credentials URI");
        e = HAF_ECREDS;
        goto out;
    }
    c.no_proxy = !url_scheme_is(&u, "https");
    if (tok_file != NULL) {
        e = read_file(tok_file, TOKEN_FILE_MAX_BYTES, &tok);
        if (e != HAF_OK) {
            why_add(why, "container: cannot read %s (%s)", tok_file, haf_err_str(e));
            e = HAF_ECREDS;
            goto out;
        }
    } else if (tok_env != NULL && buf_adds(&tok, tok_env) != HAF_OK) {
        e = HAF_ENOMEM;
        goto out;
    }
    if (tok.len > 0) {
        struct span t = span_trim(buf_span(&tok));
        if (memchr(t.p, '\r', t.len) || memchr(t.p, '\n', t.len) || memchr(t.p, '\0', t.len)) {
            why_add(why, "container: authorization token contains CR, LF or NUL");
            e = HAF_ECREDS;
            goto out;
        }
        memmove(tok.p, t.p, t.len);
        tok.len = t.len;
        tok.p[tok.len] = '\0';
        h[0] = (struct http_header){"Authorization", buf_cstr(&tok)};
        c.n_headers = 1;
    }
    c.url = buf_cstr(&url);
    if ((e = do_call(p->http, &c, &resp, why, "container")) != HAF_OK) {
        e = HAF_ECREDS;
        goto out;
    }
    if (resp.status != 200) {
        why_add(why, "container: endpoint answered HTTP %ld", resp.status);
        e = HAF_ECREDS;
        goto out;
    }
    if ((e = creds_parse_json(buf_span(&resp.body), &d, jwhy, sizeof(jwhy))) != HAF_OK) {
        why_add(why, "container: %s", jwhy);
        e = HAF_ECREDS;
        goto out;
    }
    doc_take(&d, out, "container");
out:
    creds_doc_clean_up(&d);
    response_wipe(&resp);
    buf_clean_up(&url);
    buf_wipe(&tok);
    return e;
}

/* ---- STS ---- */

static const char *
sts_region(const struct creds_provider *p)
{
    const char *r = p->region ? p->region : env_nonempty("AWS_REGION");

    if (r == NULL)
        r = env_nonempty("AWS_DEFAULT_REGION");
    return r;
}

/* opts, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, else the regional (or global) STS endpoint. */
static enum haf_err
sts_endpoint(const struct creds_provider *p, struct buf *url)
{
    const char *ep = p->sts_endpoint;
    const char *region = sts_region(p);

    if (ep == NULL)
        ep = env_nonempty("AWS_ENDPOINT_URL_STS");
    if (ep == NULL)
        ep = env_nonempty("AWS_ENDPOINT_URL");
    if (ep != NULL)
        return buf_adds(url, ep);
    if (region != NULL)
        return buf_addf(url, "https://sts.%s.amazonaws.com/", region);
    return buf_adds(url, "https://sts.amazonaws.com/");
}

/* POST a form to STS (signed with `base` when not NULL) and parse the credentials. */
static enum haf_err
sts_call(struct creds_provider *p, const char *action, struct buf *form,
         const struct aws_creds *base, int64_t now_ms, struct creds_doc *out, struct buf *why)
{
    struct buf url, host;
    struct url u;
    const char *uwhy = NULL;
    struct http_header h[6];
    struct http_response resp;
    struct sigv4_signer *signer = NULL;
    struct sigv4_result sres;
    char code[96];
    const char *region = sts_region(p);
    struct call c = {.method = "POST", .headers = h, .timeout_ms = STS_TIMEOUT_MS};
    size_t n = 0;
    enum haf_err e;

    memset(&sres, 0, sizeof(sres));
    buf_init(&url, 4096);
    buf_init(&host, 1024);
    http_response_init(&resp);
    if ((e = sts_endpoint(p, &url)) != HAF_OK)
        goto out;
    if (url_parse(buf_span(&url), &u, &uwhy) != HAF_OK || url_check_endpoint(&u, &uwhy) != HAF_OK) {
        why_add(why, "%s: STS endpoint must be an https URL (http only for loopback): %s", action,
                uwhy);
        e = HAF_ECONFIG;
        goto out;
    }
    if ((e = buf_add(&host, u.authority.p, u.authority.len)) != HAF_OK)
        goto out;
    h[n++] = (struct http_header){"Host", buf_cstr(&host)};
    h[n++] =
        (struct http_header){"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"};
    if (base != NULL) {
        struct sigv4_header sh[] = {{"Host", buf_cstr(&host)}, {"Content-Type", h[1].value}};
        struct sigv4_creds sc = {base->access_key_id, base->secret_access_key, base->session_token};
        struct buf path;
        buf_init(&path, 4096);
        if (u.path.len > 0)
            e = buf_add(&path, u.path.p, u.path.len);
        else
            e = buf_addc(&path, '/');
        if (e == HAF_OK) {
            struct sigv4_request sreq = {.method = "POST",
                                         .path = buf_cstr(&path),
                                         .headers = sh,
                                         .n_headers = 2,
                                         .body = form->p,
                                         .body_len = form->len};
            signer = sigv4_signer_new();
            e = signer ? sigv4_sign(signer, &sc, region ? region : "us-east-1", "sts",
                                    (time_t)(now_ms / 1000), &sreq, &sres)
                       : HAF_ENOMEM;
        }
        buf_clean_up(&path);
        if (e != HAF_OK) {
            why_add(why, "%s: cannot sign the request (%s)", action, haf_err_str(e));
            goto out;
        }
        h[n++] = (struct http_header){"X-Amz-Date", sres.amz_date};
        h[n++] = (struct http_header){"Authorization", buf_cstr(&sres.authorization)};
        if (base->session_token && base->session_token[0])
            h[n++] = (struct http_header){"X-Amz-Security-Token", base->session_token};
    }
    c.url = buf_cstr(&url);
    c.n_headers = n;
    c.body = form->p;
    c.body_len = form->len;
    c.no_proxy = url_host_is_loopback(&u);
    if ((e = do_call(p->http, &c, &resp, why, action)) != HAF_OK)
        goto out;
    e = creds_parse_sts_xml(buf_span(&resp.body), out, code, sizeof(code));
    if (e == HAF_EREJECTED) {
        why_add(why, "%s: STS answered HTTP %ld %s", action, resp.status,
                code[0] ? code : "(no error code)");
    } else if (e != HAF_OK || resp.status != 200) {
        why_add(why, "%s: STS answered HTTP %ld with no usable credentials", action, resp.status);
        creds_doc_clean_up(out);
        if (e == HAF_OK)
            e = HAF_EREJECTED;
    }
out:
    sigv4_result_clean_up(&sres);
    sigv4_signer_free(signer);
    response_wipe(&resp);
    buf_clean_up(&url);
    buf_clean_up(&host);
    return e;
}

static enum haf_err
provider_web_identity(struct creds_provider *p, int64_t now_ms, struct aws_creds *out,
                      struct buf *why)
{
    const char *file = env_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *role = env_nonempty("AWS_ROLE_ARN");
    const char *session = env_nonempty("AWS_ROLE_SESSION_NAME");
    struct buf tok, form;
    struct creds_doc d = {0};
    enum haf_err e;

    if (file == NULL && role == NULL)
        return HAF_ENOTFOUND;
    if (file == NULL || role == NULL) {
        why_add(why, "web-identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN must both be set");
        return HAF_ECREDS;
    }
    buf_init(&form, 64u << 10);
    /* Re-read at every refresh: the orchestrator rotates the token file. */
    e = read_file(file, TOKEN_FILE_MAX_BYTES, &tok);
    if (e != HAF_OK) {
        why_add(why, "web-identity: cannot read %s (%s)", file, haf_err_str(e));
        e = HAF_ECREDS;
        goto out;
    }
    {
        struct span t = span_trim(buf_span(&tok));
        char *token = dup_span(t);
        if (token == NULL || t.len == 0 || memchr(t.p, '\0', t.len)) {
            secret_free(token);
            why_add(why, "web-identity: token file %s is empty or malformed", file);
            e = HAF_ECREDS;
            buf_wipe(&tok);
            goto out;
        }
        e = form_add(&form, "Action", "AssumeRoleWithWebIdentity");
        if (e == HAF_OK)
            e = form_add(&form, "Version", STS_VERSION);
        if (e == HAF_OK)
            e = form_add(&form, "RoleArn", role);
        if (e == HAF_OK)
            e = form_add(&form, "RoleSessionName", session ? session : DEFAULT_SESSION_NAME);
        if (e == HAF_OK)
            e = form_add(&form, "WebIdentityToken", token);
        secret_free(token);
        buf_wipe(&tok);
        if (e != HAF_OK)
            goto out;
    }
    if ((e = sts_call(p, "web-identity", &form, NULL, now_ms, &d, why)) != HAF_OK) {
        e = HAF_ECREDS;
        goto out;
    }
    doc_take(&d, out, "web-identity");
out:
    creds_doc_clean_up(&d);
    buf_wipe(&form);
    return e;
}

/* ---- environment and shared files ---- */

static enum haf_err
provider_env(struct aws_creds *out, int64_t now_ms, struct buf *why)
{
    const char *id = env_nonempty("AWS_ACCESS_KEY_ID");
    const char *secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
    const char *token = env_nonempty("AWS_SESSION_TOKEN");
    const char *exp = env_nonempty("AWS_CREDENTIAL_EXPIRATION");
    struct creds_doc d = {0};

    if (token == NULL)
        token = env_nonempty("AWS_SECURITY_TOKEN");
    if (id == NULL && secret == NULL)
        return HAF_ENOTFOUND;
    if (id == NULL || secret == NULL) {
        why_add(why, "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set");
        return HAF_ECREDS;
    }
    if (exp != NULL && !creds_parse_iso8601(span_cstr(exp), &d.expiration_ms)) {
        why_add(why, "environment: malformed AWS_CREDENTIAL_EXPIRATION");
        return HAF_ECREDS;
    }
    if (d.expiration_ms != 0 && d.expiration_ms <= now_ms) {
        why_add(why, "environment: credentials expired (AWS_CREDENTIAL_EXPIRATION)");
        return HAF_ECREDS;
    }
    d.access_key_id = strdup(id);
    d.secret_access_key = strdup(secret);
    d.session_token = dup_opt(token);
    if (d.access_key_id == NULL || d.secret_access_key == NULL || (token && !d.session_token)) {
        creds_doc_clean_up(&d);
        return HAF_ENOMEM;
    }
    if (!doc_valid(&d)) {
        why_add(why, "environment: malformed access key id, secret or session token");
        creds_doc_clean_up(&d);
        return HAF_ECREDS;
    }
    doc_take(&d, out, "environment");
    return HAF_OK;
}

static enum haf_err
ini_read(const char *path, const char *profile, bool config_file, struct creds_ini *ini,
         struct buf *why)
{
    struct buf b;
    enum haf_err e = read_file(path, CREDS_INI_MAX_BYTES, &b);

    if (e == HAF_ENOTFOUND)
        return HAF_OK;
    if (e != HAF_OK) {
        why_add(why, "profile: cannot read %s (%s)", path, haf_err_str(e));
        return e;
    }
    e = creds_parse_ini(buf_span(&b), profile, config_file, ini);
    if (e != HAF_OK)
        why_add(why, "profile: %s: %s", path, haf_err_str(e));
    buf_wipe(&b);
    return e;
}

/* The profile in use and whether someone chose it (a chosen profile must exist). */
static const char *
profile_name(const struct creds_provider *p, bool *explicit)
{
    const char *name = p->profile;

    if (name == NULL)
        name = env_nonempty("AWS_PROFILE");
    if (name == NULL)
        name = env_nonempty("AWS_DEFAULT_PROFILE");
    *explicit = name != NULL;
    return name ? name : "default";
}

static enum haf_err
provider_profile(struct creds_provider *p, struct aws_creds *out, struct buf *why)
{
    bool explicit;
    const char *profile = profile_name(p, &explicit);
    const char *cfg_env = env_nonempty("AWS_CONFIG_FILE");
    const char *cred_env = env_nonempty("AWS_SHARED_CREDENTIALS_FILE");
    char *cfg = cfg_env ? strdup(cfg_env) : home_path(".aws/config");
    char *cred = cred_env ? strdup(cred_env) : home_path(".aws/credentials");
    struct creds_ini ini = {0};
    struct creds_doc d = {0};
    enum haf_err e = HAF_OK;

    if (cfg != NULL)
        e = ini_read(cfg, profile, true, &ini, why);
    if (e == HAF_OK && cred != NULL)
        e = ini_read(cred, profile, false, &ini, why);
    if (e != HAF_OK) {
        e = HAF_ECREDS;
        goto out;
    }
    if (!ini.found) {
        if (explicit) {
            why_add(why, "profile: profile %s not found in %s or %s", profile,
                    cred ? cred : "(no credentials file)", cfg ? cfg : "(no config file)");
            e = HAF_ECREDS;
        } else {
            e = HAF_ENOTFOUND;
        }
        goto out;
    }
    if (ini.access_key_id == NULL || ini.secret_access_key == NULL) {
        why_add(why, "profile: profile %s has no aws_access_key_id and aws_secret_access_key",
                profile);
        e = explicit ? HAF_ECREDS : HAF_ENOTFOUND;
        goto out;
    }
    d.access_key_id = ini.access_key_id;
    d.secret_access_key = ini.secret_access_key;
    d.session_token = ini.session_token;
    ini.access_key_id = ini.secret_access_key = ini.session_token = NULL;
    if (!doc_valid(&d)) {
        why_add(why, "profile: profile %s has a malformed key id, secret or token", profile);
        e = HAF_ECREDS;
        goto out;
    }
    doc_take(&d, out, "profile");
out:
    creds_doc_clean_up(&d);
    creds_ini_clean_up(&ini);
    free(cfg);
    free(cred);
    return e;
}

/* ---- the chain ---- */

/* The base chain. HAF_OK with *out set, or HAF_ECREDS with why filled. */
static enum haf_err
chain_resolve(struct creds_provider *p, int64_t now_ms, struct aws_creds *out, struct buf *why)
{
    enum haf_err e;

    /* A profile named in our own config is a choice: environment keys must not override it. */
    if (p->profile == NULL) {
        e = provider_env(out, now_ms, why);
        if (e != HAF_ENOTFOUND)
            return e == HAF_OK ? HAF_OK : HAF_ECREDS;
    }
    e = provider_profile(p, out, why);
    if (e != HAF_ENOTFOUND)
        return e == HAF_OK ? HAF_OK : HAF_ECREDS;
    e = provider_web_identity(p, now_ms, out, why);
    if (e != HAF_ENOTFOUND)
        return e == HAF_OK ? HAF_OK : HAF_ECREDS;
    /* ECS and IMDS are exclusive: a configured container endpoint is the answer, or the error. */
    e = provider_container(p, out, why);
    if (e != HAF_ENOTFOUND)
        return e == HAF_OK ? HAF_OK : HAF_ECREDS;
    e = provider_imds(p, now_ms, out, why);
    if (e == HAF_OK)
        return HAF_OK;
    if (why->len == 0)
        why_add(why, "no credentials found");
    return HAF_ECREDS;
}

static enum haf_err
assume_role(struct creds_provider *p, const struct aws_creds *base, int64_t now_ms,
            struct aws_creds *out, struct buf *why)
{
    struct buf form;
    struct creds_doc d = {0};
    enum haf_err e;

    buf_init(&form, 64u << 10);
    e = form_add(&form, "Action", "AssumeRole");
    if (e == HAF_OK)
        e = form_add(&form, "Version", STS_VERSION);
    if (e == HAF_OK)
        e = form_add(&form, "RoleArn", p->role_arn);
    if (e == HAF_OK)
        e = form_add(&form, "RoleSessionName",
                     p->session_name ? p->session_name : DEFAULT_SESSION_NAME);
    if (e == HAF_OK && p->external_id)
        e = form_add(&form, "ExternalId", p->external_id);
    if (e == HAF_OK)
        e = form_add(&form, "DurationSeconds", "3600");
    if (e != HAF_OK)
        goto out;
    if ((e = sts_call(p, "assume-role", &form, base, now_ms, &d, why)) != HAF_OK) {
        e = HAF_ECREDS;
        goto out;
    }
    doc_take(&d, out, "assume-role");
out:
    creds_doc_clean_up(&d);
    buf_clean_up(&form);
    return e;
}

static enum haf_err
resolve(struct creds_provider *p, int64_t now_ms, struct aws_creds *out, struct buf *why)
{
    struct aws_creds base = {0};
    enum haf_err e = chain_resolve(p, now_ms, &base, why);

    if (e != HAF_OK || p->role_arn == NULL) {
        if (e == HAF_OK)
            *out = base;
        else
            aws_creds_clean_up(&base);
        return e;
    }
    e = assume_role(p, &base, now_ms, out, why);
    if (e != HAF_OK)
        why_add(why, "base credentials from %s (access key id %s)", base.source,
                base.access_key_id);
    aws_creds_clean_up(&base);
    return e;
}

/* ---- the provider ---- */

struct creds_provider *
creds_provider_new(const struct creds_opts *opts, struct http_client *http)
{
    struct creds_provider *p = calloc(1, sizeof(*p));
    struct creds_opts none = {0};

    if (p == NULL)
        return NULL;
    if (opts == NULL)
        opts = &none;
    p->http = http;
    p->margin_ms = opts->refresh_margin_ms;
    p->profile = dup_opt(opts->profile);
    p->role_arn = dup_opt(opts->role_arn);
    p->external_id = dup_opt(opts->external_id);
    p->session_name = dup_opt(opts->session_name);
    p->sts_endpoint = dup_opt(opts->sts_endpoint);
    p->region = dup_opt(opts->region);
    if ((opts->profile && !p->profile) || (opts->role_arn && !p->role_arn) ||
        (opts->external_id && !p->external_id) || (opts->session_name && !p->session_name) ||
        (opts->sts_endpoint && !p->sts_endpoint) || (opts->region && !p->region)) {
        creds_provider_free(p);
        return NULL;
    }
    p->refresh_at_ms = INT64_MIN;
    return p;
}

void
creds_provider_free(struct creds_provider *p)
{
    if (p == NULL)
        return;
    aws_creds_clean_up(&p->cur);
    secret_free(p->imds_token);
    http_replay_free(p->replay);
    free(p->profile);
    free(p->role_arn);
    free(p->external_id);
    free(p->session_name);
    free(p->sts_endpoint);
    free(p->region);
    free(p);
}

enum haf_err
creds_set_async(struct creds_provider *p, bool on)
{
    if (p == NULL)
        return HAF_EINVAL;
    if (on && p->replay == NULL && (p->replay = http_replay_new()) == NULL)
        return HAF_ENOMEM;
    if (!on) {
        http_replay_free(p->replay);
        p->replay = NULL;
    }
    return HAF_OK;
}

bool
creds_refreshing(const struct creds_provider *p)
{
    return p != NULL && http_replay_busy(p->replay);
}

/* The chain once; under creds_set_async its calls are replayed (http_replay.h): HAF_EAGAIN when
 * a call went out on the multi handle and the chain must run again once it is answered. */
static enum haf_err
resolve_step(struct creds_provider *p, int64_t now_ms, struct aws_creds *out, struct buf *why)
{
    enum haf_err e;

    if (p->replay == NULL)
        return resolve(p, now_ms, out, why);
    http_replay_begin(p->replay, p->http);
    e = resolve(p, now_ms, out, why);
    if (!http_replay_end(p->replay, p->http)) {
        aws_creds_clean_up(out);
        memset(out, 0, sizeof(*out));
        return HAF_EAGAIN;
    }
    return e;
}

void
creds_invalidate(struct creds_provider *p)
{
    if (p)
        p->invalidated = true;
}

int64_t
creds_next_refresh_ms(const struct creds_provider *p)
{
    if (p == NULL || !p->have)
        return p && p->retry_at_ms > 0 ? p->retry_at_ms : INT64_MAX;
    if (p->invalidated)
        return 0;
    return p->refresh_at_ms > p->retry_at_ms ? p->refresh_at_ms : p->retry_at_ms;
}

static int64_t
retry_delay_ms(const struct creds_provider *p, int64_t now_ms)
{
    int64_t d;

    if (!p->have)
        return NO_CREDS_RETRY_MS;
    if (p->cur.expiration_ms == 0)
        return RETRY_MAX_MS;
    d = (p->cur.expiration_ms - now_ms) / 4;
    return d < RETRY_MIN_MS ? RETRY_MIN_MS : d > RETRY_MAX_MS ? RETRY_MAX_MS : d;
}

enum haf_err
creds_get(struct creds_provider *p, int64_t now_ms, const struct aws_creds **out, char *why,
          size_t why_len)
{
    struct aws_creds fresh = {0};
    struct buf w;
    bool usable, due, was_invalidated;
    enum haf_err e;

    copy_why(why, why_len, "");
    if (p == NULL || out == NULL)
        return HAF_EINVAL;
    usable = p->have && (p->cur.expiration_ms == 0 || now_ms < p->cur.expiration_ms);
    due = p->invalidated || !p->have || now_ms >= p->refresh_at_ms;
    if (!due) {
        *out = &p->cur;
        return HAF_OK;
    }
    if (creds_refreshing(p)) {
        /* A fetch is under way: keep signing with what still works (unless the service said it
         * does not); otherwise the caller waits for the fetch, signing nothing. */
        if (usable && !p->invalidated) {
            *out = &p->cur;
            return HAF_OK;
        }
        copy_why(why, why_len, "credentials are being fetched");
        return HAF_EAGAIN;
    }
    if (!p->invalidated && now_ms < p->retry_at_ms) {
        /* A refresh failed a moment ago: do not hammer the endpoint. */
        if (usable) {
            *out = &p->cur;
            return HAF_OK;
        }
        copy_why(why, why_len, p->last_why);
        return HAF_ECREDS;
    }
    was_invalidated = p->invalidated;
    p->invalidated = false;
    buf_init(&w, WHY_MAX - 1);
    e = resolve_step(p, now_ms, &fresh, &w);
    if (e == HAF_EAGAIN) {
        buf_clean_up(&w);
        p->invalidated = was_invalidated;
        if (usable && !was_invalidated) {
            *out = &p->cur;
            return HAF_OK;
        }
        copy_why(why, why_len, "credentials are being fetched");
        return HAF_EAGAIN;
    }
    if (e == HAF_OK && fresh.expiration_ms != 0 && fresh.expiration_ms <= now_ms) {
        why_add(&w, "%s: credentials already expired", fresh.source);
        aws_creds_clean_up(&fresh);
        e = HAF_ECREDS;
    }
    if (e == HAF_OK) {
        aws_creds_clean_up(&p->cur);
        p->cur = fresh;
        p->have = true;
        p->refresh_at_ms = creds_refresh_at(now_ms, fresh.expiration_ms, p->margin_ms);
        p->retry_at_ms = 0;
        p->last_why[0] = '\0';
        *out = &p->cur;
        buf_clean_up(&w);
        return HAF_OK;
    }
    snprintf(p->last_why, sizeof(p->last_why), "%s", buf_cstr(&w));
    buf_clean_up(&w);
    p->retry_at_ms = now_ms + retry_delay_ms(p, now_ms);
    copy_why(why, why_len, p->last_why);
    if (usable) {
        /* Keep what still works; `why` tells the caller the refresh failed. */
        *out = &p->cur;
        return HAF_OK;
    }
    return HAF_ECREDS;
}

/* ---- region and instance id ---- */

static enum haf_err
imds_value(struct http_client *http, const char *path, char **value)
{
    struct http_response resp;
    struct buf why;
    enum haf_err e;

    if (imds_disabled())
        return HAF_ENOTFOUND;
    buf_init(&why, WHY_MAX);
    http_response_init(&resp);
    e = imds_request(http, NULL, NULL, 0, path, &resp, &why);
    if (e == HAF_OK)
        e = imds_word(&resp, value);
    else if (e != HAF_ENOTFOUND && e != HAF_ENOMEM)
        e = HAF_EHTTP;
    response_wipe(&resp);
    buf_clean_up(&why);
    return e;
}

enum haf_err
creds_resolve_region(struct http_client *http, char **region)
{
    const char *r = env_nonempty("AWS_REGION");

    if (region == NULL)
        return HAF_EINVAL;
    if (r == NULL)
        r = env_nonempty("AWS_DEFAULT_REGION");
    if (r != NULL) {
        *region = strdup(r);
        return *region ? HAF_OK : HAF_ENOMEM;
    }
    return imds_value(http, "/latest/meta-data/placement/region", region);
}

enum haf_err
creds_imds_instance_id(struct http_client *http, char **id)
{
    if (id == NULL)
        return HAF_EINVAL;
    return imds_value(http, "/latest/meta-data/instance-id", id);
}

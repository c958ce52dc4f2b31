/*
 * creds_doc.c: the credential documents, parsed from untrusted bytes (creds_internal.h).
 *
 * Pure: no I/O, no logging, no clock. What the providers fetch or read arrives here as a span:
 * the AWS shared files (INI dialect: sections, key = value, comments, indented sub-keys we skip),
 * the IMDS and container JSON documents (jansson, bounded size, duplicate keys refused), the STS
 * XML answers (xml_scan.h: four leaf elements of a fixed answer) and their ISO-8601 expiry
 * times. Every string that could hold a secret is wiped when released, and a document is handed
 * out only when its key id, secret and token are safe to put in an HTTP header. No INI or XML
 * library: the available INI readers use fixed line buffers that silently truncate, or need C
 * strings that stop at a NUL, and none comes with the bounds we want; an XML library would bring
 * entity expansion and DTDs we must not have. tests/fuzz/fuzz_creds.c targets this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "creds_internal.h"
#include "haf/buf.h"
#include "haf/civil.h"
#include "haf/printable.h"
#include "haf/xml_scan.h"

void
creds_secret_free(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

char *
creds_dup_span(struct span s)
{
    char *p = malloc(s.len + 1);

    if (p == NULL)
        return NULL;
    if (s.len)
        memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    return p;
}

bool
creds_ascii_ieq(struct span a, const char *b)
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

bool
creds_is_alnum(unsigned char c)
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
        if (!creds_is_alnum((unsigned char)s[i]))
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

bool
creds_doc_valid(const struct creds_doc *d)
{
    return valid_key_id(d->access_key_id) && valid_secret(d->secret_access_key, 1024) &&
           (d->session_token == NULL || valid_secret(d->session_token, 16384));
}

void
creds_doc_clean_up(struct creds_doc *d)
{
    if (d == NULL)
        return;
    creds_secret_free(d->access_key_id);
    creds_secret_free(d->secret_access_key);
    creds_secret_free(d->session_token);
    memset(d, 0, sizeof(*d));
}

void
creds_ini_clean_up(struct creds_ini *ini)
{
    if (ini == NULL)
        return;
    creds_secret_free(ini->access_key_id);
    creds_secret_free(ini->secret_access_key);
    creds_secret_free(ini->session_token);
    free(ini->region);
    memset(ini, 0, sizeof(*ini));
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
    char *p = creds_dup_span(v);

    if (p == NULL)
        return HAF_ENOMEM;
    creds_secret_free(*slot);
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
            if (creds_ascii_ieq(key, "aws_access_key_id"))
                e = ini_set(&out->access_key_id, value);
            else if (creds_ascii_ieq(key, "aws_secret_access_key"))
                e = ini_set(&out->secret_access_key, value);
            else if (creds_ascii_ieq(key, "aws_session_token") ||
                     creds_ascii_ieq(key, "aws_security_token"))
                e = ini_set(&out->session_token, value);
            else if (creds_ascii_ieq(key, "region"))
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
    *out = creds_dup_span(span_make(json_string_value(v), json_string_length(v)));
    if (*out == NULL)
        return HAF_ENOMEM;
    if (strlen(*out) != json_string_length(v))
        return HAF_EPARSE; /* an embedded NUL */
    return HAF_OK;
}

/* The last step of every document: its Expiration read, its strings checked, then moved to *out
 * (d left empty). HAF_EPARSE with *problem (when not NULL) saying which check failed. */
static enum haf_err
doc_finish(struct creds_doc *d, const char *exp, struct creds_doc *out, const char **problem)
{
    const char *dummy;

    if (problem == NULL)
        problem = &dummy;
    if (!creds_parse_iso8601(span_cstr(exp), &d->expiration_ms)) {
        *problem = "credentials document has a malformed Expiration";
        return HAF_EPARSE;
    }
    if (!creds_doc_valid(d)) {
        *problem = "credentials document has malformed key id, secret or token";
        return HAF_EPARSE;
    }
    *out = *d;
    memset(d, 0, sizeof(*d));
    return HAF_OK;
}

enum haf_err
creds_parse_json(struct span body, struct creds_doc *out, char *why, size_t why_len)
{
    struct creds_doc d = {0};
    json_t *root = NULL, *code;
    json_error_t jerr;
    const char *problem = NULL;
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
    e = doc_finish(&d, exp, out, &problem);
    if (e != HAF_OK)
        set_why(why, why_len, problem);
out:
    free(exp);
    creds_doc_clean_up(&d);
    json_decref(root);
    return e;
}

/* ---- XML (STS) ---- */

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
    if (xml_scan_element(body, "Error", &cr)) {
        if (xml_scan_element(cr, "Code", &v) && code)
            printable_token(code, code_len, span_trim(v));
        return HAF_EREJECTED;
    }
    if (!xml_scan_element(body, "Credentials", &cr))
        goto out;
    if (!xml_scan_element(cr, "AccessKeyId", &v) ||
        (e = xml_scan_text(v, CREDS_DOC_MAX_BYTES, &d.access_key_id)) != HAF_OK ||
        !xml_scan_element(cr, "SecretAccessKey", &v) ||
        (e = xml_scan_text(v, CREDS_DOC_MAX_BYTES, &d.secret_access_key)) != HAF_OK ||
        !xml_scan_element(cr, "SessionToken", &v) ||
        (e = xml_scan_text(v, CREDS_DOC_MAX_BYTES, &d.session_token)) != HAF_OK ||
        !xml_scan_element(cr, "Expiration", &v) ||
        (e = xml_scan_text(v, CREDS_DOC_MAX_BYTES, &exp)) != HAF_OK) {
        if (e == HAF_OK)
            e = HAF_EPARSE;
        goto out;
    }
    e = doc_finish(&d, exp, out, NULL);
out:
    free(exp);
    creds_doc_clean_up(&d);
    return e;
}

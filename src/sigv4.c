/*
 * sigv4.c: AWS Signature Version 4, in the stages of sigv4.h.
 *
 * Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 * (see also docs/cloudwatch-limits.md section 1). Checked stage by stage against the classic AWS
 * test suite in tests/data/sigv4/ and byte for byte against botocore's SigV4Auth.
 *
 * Invariants and choices:
 * - Pure: no I/O, no logging, the clock is passed in. Everything is built in capped struct bufs.
 * - The canonical URI is the request path with dot segments and empty segments removed (a
 *   trailing slash kept), each segment URI-encoded once more. The path we are given is the path as
 *   sent on the wire (already encoded), so this is the "double encoding" every service but S3
 *   expects. We never sign for S3, so normalisation is always on.
 * - The canonical query string percent-decodes each name and value and encodes them again, so a
 *   caller may pass raw or encoded pairs; pairs are sorted by encoded name, then encoded value.
 * - Header names are lower-cased; values are trimmed and runs of spaces and tabs folded to one
 *   space (botocore's ' '.join(v.split())); headers with the same name are joined by commas in the
 *   order given. Hop-by-hop headers (botocore's SIGNED_HEADERS_BLACKLIST) and any Authorization
 *   header are not signed. A CR or LF in a value, or a name that is not an HTTP token, is refused
 *   (HAF_EINVAL): it would be header injection, and we will not sign what we would not send.
 * - Key material ("AWS4"+secret, the intermediate HMAC keys, the derived key) is wiped with
 *   OPENSSL_cleanse. The signer caches one derived key per (date, region, service, SHA-256 of the
 *   secret); the secret itself is never copied into the cache.
 */
#include "haf/sigv4.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SIGV4_ALGORITHM        "AWS4-HMAC-SHA256"
#define SIGV4_MAX_CANONICAL    (1u << 20)
#define SIGV4_MAX_HEADERS      256
#define SIGV4_MAX_QUERY_PARAMS 1024
#define SIGV4_MAX_SCOPE_PART   128

struct sigv4_signer {
    bool valid;
    char date8[9];
    char region[SIGV4_MAX_SCOPE_PART + 1];
    char service[SIGV4_MAX_SCOPE_PART + 1];
    uint8_t secret_hash[32];
    uint8_t key[32];
};

/* ---- small helpers ---- */

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

static void
hex_encode(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_lower[in[i] >> 4];
        out[2 * i + 1] = hex_lower[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static bool
is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static char
ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* RFC 7230 tchar. */
static bool
is_token_char(unsigned char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* URI-encode every byte but the unreserved ones (and '/' when keep_slash). */
static enum haf_err
uri_encode(struct buf *out, const char *p, size_t n, bool keep_slash)
{
    enum haf_err e = HAF_OK;

    for (size_t i = 0; i < n && e == HAF_OK; i++) {
        unsigned char c = (unsigned char)p[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            e = buf_addc(out, (char)c);
        } else {
            char esc[3] = {'%', hex_upper[c >> 4], hex_upper[c & 0xf]};
            e = buf_add(out, esc, 3);
        }
    }
    return e;
}

/* Percent-decode into out; a '%' not followed by two hex digits stays literal. */
static enum haf_err
uri_decode(struct buf *out, const char *p, size_t n)
{
    enum haf_err e = HAF_OK;

    for (size_t i = 0; i < n && e == HAF_OK; i++) {
        int hi, lo;
        if (p[i] == '%' && i + 2 < n && (hi = span_hex_digit((unsigned char)p[i + 1])) >= 0 &&
            (lo = span_hex_digit((unsigned char)p[i + 2])) >= 0) {
            e = buf_addc(out, (char)((hi << 4) | lo));
            i += 2;
        } else {
            e = buf_addc(out, p[i]);
        }
    }
    return e;
}

static bool
hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[32])
{
    unsigned int out_len = 0;

    if (key_len > (size_t)INT32_MAX)
        return false;
    return HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) != NULL && out_len == 32;
}

static bool
sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int out_len = 0;

    return EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) == 1 && out_len == 32;
}

enum haf_err
sigv4_sha256_hex(const void *data, size_t len, char hex[65])
{
    uint8_t md[32];

    if (!sha256(data, len, md))
        return HAF_ECRYPTO;
    hex_encode(md, sizeof(md), hex);
    return HAF_OK;
}

void
sigv4_amz_date(time_t now, char out[17])
{
    struct tm tm;

    if (gmtime_r(&now, &tm) == NULL || tm.tm_year < 0 || tm.tm_year > 9999 - 1900 ||
        strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        memcpy(out, "19700101T000000Z", 17);
}

/* ---- canonical URI ---- */

/*
 * Remove empty and "." segments, let ".." drop the previous segment (never above the root), keep a
 * trailing slash, then URI-encode each segment. An empty path is "/".
 */
static enum haf_err
canonical_uri(struct buf *out, const char *path)
{
    struct span seg[256];
    size_t nseg = 0, len = strlen(path), i = 0;
    bool trailing = len > 0 && path[len - 1] == '/';
    enum haf_err e;

    while (i < len) {
        size_t start, n;
        while (i < len && path[i] == '/')
            i++;
        start = i;
        while (i < len && path[i] != '/')
            i++;
        n = i - start;
        if (n == 0 || (n == 1 && path[start] == '.'))
            continue;
        if (n == 2 && path[start] == '.' && path[start + 1] == '.') {
            if (nseg > 0)
                nseg--;
            continue;
        }
        if (nseg == sizeof(seg) / sizeof(seg[0]))
            return HAF_ETOOLONG;
        seg[nseg++] = span_make(path + start, n);
    }
    if ((e = buf_addc(out, '/')) != HAF_OK)
        return e;
    for (size_t k = 0; k < nseg; k++) {
        if (k > 0 && (e = buf_addc(out, '/')) != HAF_OK)
            return e;
        if ((e = uri_encode(out, seg[k].p, seg[k].len, false)) != HAF_OK)
            return e;
    }
    if (trailing && nseg > 0 && (e = buf_addc(out, '/')) != HAF_OK)
        return e;
    return HAF_OK;
}

/* ---- canonical query ---- */

struct qparam {
    size_t name_off, name_len; /* into the scratch buffer, encoded */
    size_t value_off, value_len;
    const char *name, *value; /* set once the scratch buffer stops moving, for sorting */
};

static int
span_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;

    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int
qparam_cmp(const void *va, const void *vb)
{
    const struct qparam *a = va, *b = vb;
    int c = span_cmp(a->name, a->name_len, b->name, b->name_len);

    if (c != 0)
        return c;
    return span_cmp(a->value, a->value_len, b->value, b->value_len);
}

static enum haf_err
encode_component(struct buf *scratch, struct buf *tmp, const char *p, size_t n, size_t *off,
                 size_t *len)
{
    enum haf_err e;

    buf_reset(tmp);
    if ((e = uri_decode(tmp, p, n)) != HAF_OK)
        return e;
    *off = scratch->len;
    if ((e = uri_encode(scratch, tmp->p ? tmp->p : "", tmp->len, false)) != HAF_OK)
        return e;
    *len = scratch->len - *off;
    return HAF_OK;
}

static enum haf_err
canonical_query(struct buf *out, const char *query)
{
    struct qparam *params = NULL;
    struct buf scratch, tmp;
    size_t n = 0, len, i = 0;
    enum haf_err e = HAF_OK;

    buf_init(&scratch, SIGV4_MAX_CANONICAL);
    buf_init(&tmp, SIGV4_MAX_CANONICAL);
    if (query == NULL || query[0] == '\0')
        goto out;
    len = strlen(query);
    params = calloc(SIGV4_MAX_QUERY_PARAMS, sizeof(*params));
    if (params == NULL) {
        e = HAF_ENOMEM;
        goto out;
    }
    while (i < len) {
        size_t start = i, eq;
        while (i < len && query[i] != '&')
            i++;
        if (i > start) {
            if (n == SIGV4_MAX_QUERY_PARAMS) {
                e = HAF_ETOOLONG;
                goto out;
            }
            for (eq = start; eq < i && query[eq] != '='; eq++)
                ;
            e = encode_component(&scratch, &tmp, query + start, eq - start, &params[n].name_off,
                                 &params[n].name_len);
            if (e == HAF_OK)
                e = encode_component(&scratch, &tmp, query + (eq < i ? eq + 1 : i),
                                     eq < i ? i - eq - 1 : 0, &params[n].value_off,
                                     &params[n].value_len);
            if (e != HAF_OK)
                goto out;
            n++;
        }
        i++; /* the '&' */
    }
    for (size_t k = 0; k < n; k++) {
        /* All-empty pairs ("=&=") never grow the scratch buffer: no pointer arithmetic on NULL. */
        params[k].name = scratch.p ? scratch.p + params[k].name_off : "";
        params[k].value = scratch.p ? scratch.p + params[k].value_off : "";
    }
    qsort(params, n, sizeof(*params), qparam_cmp);
    for (size_t k = 0; k < n && e == HAF_OK; k++) {
        if (k > 0)
            e = buf_addc(out, '&');
        if (e == HAF_OK)
            e = buf_add(out, params[k].name, params[k].name_len);
        if (e == HAF_OK)
            e = buf_addc(out, '=');
        if (e == HAF_OK)
            e = buf_add(out, params[k].value, params[k].value_len);
    }
out:
    free(params);
    buf_clean_up(&scratch);
    buf_clean_up(&tmp);
    return e;
}

/* ---- canonical headers ---- */

struct hdr {
    char name[128]; /* lower-cased */
    size_t name_len;
    const char *value;
    size_t index;
};

static int
hdr_cmp(const void *va, const void *vb)
{
    const struct hdr *a = va, *b = vb;
    int c = span_cmp(a->name, a->name_len, b->name, b->name_len);

    if (c != 0)
        return c;
    return a->index < b->index ? -1 : a->index > b->index ? 1 : 0;
}

/* Not signed: botocore's SIGNED_HEADERS_BLACKLIST, plus authorization (the result itself). */
static bool
header_is_unsigned(const char *lname)
{
    static const char *const skip[] = {
        "authorization",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    };

    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (strcmp(lname, skip[i]) == 0)
            return true;
    return false;
}

static enum haf_err
add_folded_value(struct buf *out, const char *v)
{
    size_t len = strlen(v), a = 0, b = len;
    bool in_space = false;
    enum haf_err e = HAF_OK;

    while (a < b && (v[a] == ' ' || v[a] == '\t'))
        a++;
    while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
        b--;
    for (size_t i = a; i < b && e == HAF_OK; i++) {
        if (v[i] == ' ' || v[i] == '\t') {
            in_space = true;
            continue;
        }
        if (in_space)
            e = buf_addc(out, ' ');
        in_space = false;
        if (e == HAF_OK)
            e = buf_addc(out, v[i]);
    }
    return e;
}

static enum haf_err
collect_headers(const struct sigv4_request *req, struct hdr *h, size_t *n_out)
{
    size_t n = 0;
    bool have_host = false;

    if (req->n_headers > SIGV4_MAX_HEADERS || (req->n_headers > 0 && req->headers == NULL))
        return HAF_EINVAL;
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *name = req->headers[i].name, *value = req->headers[i].value;
        size_t len;

        if (name == NULL || value == NULL)
            return HAF_EINVAL;
        len = strlen(name);
        if (len == 0 || len >= sizeof(h[n].name))
            return HAF_EINVAL;
        for (size_t k = 0; k < len; k++) {
            if (!is_token_char((unsigned char)name[k]))
                return HAF_EINVAL;
            h[n].name[k] = ascii_lower(name[k]);
        }
        h[n].name[len] = '\0';
        if (strpbrk(value, "\r\n") != NULL)
            return HAF_EINVAL;
        if (header_is_unsigned(h[n].name))
            continue;
        if (strcmp(h[n].name, "host") == 0)
            have_host = true;
        h[n].name_len = len;
        h[n].value = value;
        h[n].index = i;
        n++;
    }
    if (!have_host)
        return HAF_EINVAL;
    qsort(h, n, sizeof(*h), hdr_cmp);
    *n_out = n;
    return HAF_OK;
}

static enum haf_err
canonical_headers(struct buf *out, struct buf *signed_headers, const struct hdr *h, size_t n)
{
    enum haf_err e = HAF_OK;

    for (size_t i = 0; i < n && e == HAF_OK; i++) {
        bool same = i > 0 && span_eq(span_make(h[i].name, h[i].name_len),
                                     span_make(h[i - 1].name, h[i - 1].name_len));
        if (same) {
            e = buf_addc(out, ',');
        } else {
            if (i > 0)
                e = buf_addc(out, '\n');
            if (e == HAF_OK)
                e = buf_add(out, h[i].name, h[i].name_len);
            if (e == HAF_OK)
                e = buf_addc(out, ':');
            if (e == HAF_OK && signed_headers->len > 0)
                e = buf_addc(signed_headers, ';');
            if (e == HAF_OK)
                e = buf_add(signed_headers, h[i].name, h[i].name_len);
        }
        if (e == HAF_OK)
            e = add_folded_value(out, h[i].value);
    }
    if (e == HAF_OK && n > 0)
        e = buf_addc(out, '\n');
    return e;
}

static bool
is_method(const char *m)
{
    size_t n = m ? strlen(m) : 0;

    if (n == 0 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_token_char((unsigned char)m[i]))
            return false;
    return true;
}

enum haf_err
sigv4_canonical_request(const struct sigv4_request *req, struct buf *out,
                        struct buf *signed_headers)
{
    struct hdr *h = NULL;
    struct buf creq, sh;
    size_t n = 0;
    char payload_hex[65];
    enum haf_err e;

    buf_init(&creq, SIGV4_MAX_CANONICAL);
    buf_init(&sh, SIGV4_MAX_CANONICAL);
    if (req == NULL || out == NULL || signed_headers == NULL || !is_method(req->method) ||
        req->path == NULL || (req->body == NULL && req->body_len > 0)) {
        e = HAF_EINVAL;
        goto out;
    }
    h = calloc(req->n_headers ? req->n_headers : 1, sizeof(*h));
    if (h == NULL) {
        e = HAF_ENOMEM;
        goto out;
    }
    if ((e = collect_headers(req, h, &n)) != HAF_OK)
        goto out;
    if ((e = sigv4_sha256_hex(req->body ? req->body : "", req->body_len, payload_hex)) != HAF_OK)
        goto out;
    if ((e = buf_adds(&creq, req->method)) != HAF_OK || (e = buf_addc(&creq, '\n')) != HAF_OK ||
        (e = canonical_uri(&creq, req->path)) != HAF_OK || (e = buf_addc(&creq, '\n')) != HAF_OK ||
        (e = canonical_query(&creq, req->query)) != HAF_OK ||
        (e = buf_addc(&creq, '\n')) != HAF_OK ||
        (e = canonical_headers(&creq, &sh, h, n)) != HAF_OK ||
        (e = buf_addc(&creq, '\n')) != HAF_OK || (e = buf_add(&creq, sh.p, sh.len)) != HAF_OK ||
        (e = buf_addc(&creq, '\n')) != HAF_OK || (e = buf_add(&creq, payload_hex, 64)) != HAF_OK)
        goto out;
    buf_reset(out);
    buf_reset(signed_headers);
    if ((e = buf_add(out, creq.p, creq.len)) != HAF_OK ||
        (e = buf_add(signed_headers, sh.p, sh.len)) != HAF_OK)
        goto out;
out:
    free(h);
    buf_wipe(&creq); /* the canonical request holds the session token */
    buf_clean_up(&sh);
    return e;
}

/* ---- string to sign, key, signature ---- */

static bool
is_amz_date(const char *d)
{
    if (d == NULL || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return false;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (d[i] < '0' || d[i] > '9'))
            return false;
    return true;
}

/* A credential scope part: non-empty, at most SIGV4_MAX_SCOPE_PART, [a-z0-9-] and a few more. */
static bool
is_scope_part(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > SIGV4_MAX_SCOPE_PART)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_unreserved(c))
            return false;
    }
    return true;
}

static bool
is_date8(const char *d)
{
    if (d == NULL || strlen(d) != 8)
        return false;
    for (int i = 0; i < 8; i++)
        if (d[i] < '0' || d[i] > '9')
            return false;
    return true;
}

enum haf_err
sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
                     struct span canonical_request, struct buf *out)
{
    char hex[65];
    enum haf_err e;

    if (!is_amz_date(amz_date) || !is_scope_part(region) || !is_scope_part(service) ||
        out == NULL || (canonical_request.p == NULL && canonical_request.len > 0))
        return HAF_EINVAL;
    if ((e = sigv4_sha256_hex(canonical_request.p ? canonical_request.p : "", canonical_request.len,
                              hex)) != HAF_OK)
        return e;
    buf_reset(out);
    return buf_addf(out, SIGV4_ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", amz_date, amz_date,
                    region, service, hex);
}

enum haf_err
sigv4_signing_key(const char *secret, const char *date8, const char *region, const char *service,
                  uint8_t key[32])
{
    uint8_t k1[32], k2[32];
    char *ksecret = NULL;
    size_t slen;
    enum haf_err e = HAF_ECRYPTO;

    if (secret == NULL || secret[0] == '\0' || !is_date8(date8) || !is_scope_part(region) ||
        !is_scope_part(service) || key == NULL)
        return HAF_EINVAL;
    slen = strlen(secret);
    if (slen > 4096)
        return HAF_EINVAL;
    ksecret = malloc(slen + 4);
    if (ksecret == NULL)
        return HAF_ENOMEM;
    memcpy(ksecret, "AWS4", 4);
    memcpy(ksecret + 4, secret, slen);
    if (!hmac_sha256(ksecret, slen + 4, date8, 8, k1) ||
        !hmac_sha256(k1, 32, region, strlen(region), k2) ||
        !hmac_sha256(k2, 32, service, strlen(service), k1) ||
        !hmac_sha256(k1, 32, "aws4_request", 12, k2))
        goto out;
    memcpy(key, k2, 32);
    e = HAF_OK;
out:
    OPENSSL_cleanse(ksecret, slen + 4);
    free(ksecret);
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k2, sizeof(k2));
    return e;
}

enum haf_err
sigv4_signature(const uint8_t key[32], struct span string_to_sign, char hex[65])
{
    uint8_t mac[32];

    if (key == NULL || hex == NULL || (string_to_sign.p == NULL && string_to_sign.len > 0))
        return HAF_EINVAL;
    if (!hmac_sha256(key, 32, string_to_sign.p ? string_to_sign.p : "", string_to_sign.len, mac))
        return HAF_ECRYPTO;
    hex_encode(mac, sizeof(mac), hex);
    OPENSSL_cleanse(mac, sizeof(mac));
    return HAF_OK;
}

/* ---- the signer ---- */

struct sigv4_signer *
sigv4_signer_new(void)
{
    return calloc(1, sizeof(struct sigv4_signer));
}

void
sigv4_signer_free(struct sigv4_signer *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

void
sigv4_result_clean_up(struct sigv4_result *r)
{
    if (r == NULL)
        return;
    buf_clean_up(&r->authorization);
    memset(r->amz_date, 0, sizeof(r->amz_date));
}

/* The cached key for (date8, region, service, secret), deriving it when any of them changed. */
static enum haf_err
signer_key(struct sigv4_signer *s, const char *secret, const char *date8, const char *region,
           const char *service, const uint8_t **key)
{
    uint8_t secret_hash[32];
    enum haf_err e;

    if (secret == NULL || !sha256(secret, strlen(secret), secret_hash))
        return secret == NULL ? HAF_EINVAL : HAF_ECRYPTO;
    if (s->valid && strcmp(s->date8, date8) == 0 && strcmp(s->region, region) == 0 &&
        strcmp(s->service, service) == 0 &&
        CRYPTO_memcmp(s->secret_hash, secret_hash, sizeof(secret_hash)) == 0) {
        OPENSSL_cleanse(secret_hash, sizeof(secret_hash));
        *key = s->key;
        return HAF_OK;
    }
    OPENSSL_cleanse(s->key, sizeof(s->key));
    s->valid = false;
    e = sigv4_signing_key(secret, date8, region, service, s->key);
    if (e == HAF_OK) {
        memcpy(s->date8, date8, 9);
        memcpy(s->region, region, strlen(region) + 1);
        memcpy(s->service, service, strlen(service) + 1);
        memcpy(s->secret_hash, secret_hash, sizeof(secret_hash));
        s->valid = true;
        *key = s->key;
    }
    OPENSSL_cleanse(secret_hash, sizeof(secret_hash));
    return e;
}

static bool
is_access_key_id(const char *a)
{
    size_t n = a ? strlen(a) : 0;

    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_unreserved((unsigned char)a[i]))
            return false;
    return true;
}

static bool
ascii_case_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (ascii_lower(*a) != ascii_lower(*b))
            return false;
    return *a == *b;
}

/* Headers sigv4_sign adds itself: a caller's copy would be signed twice or contradict ours. */
static bool
is_reserved_header(const char *name)
{
    return ascii_case_eq(name, "x-amz-date") || ascii_case_eq(name, "x-amz-security-token") ||
           ascii_case_eq(name, "authorization");
}

enum haf_err
sigv4_sign(struct sigv4_signer *s, const struct sigv4_creds *creds, const char *region,
           const char *service, time_t now, const struct sigv4_request *req,
           struct sigv4_result *out)
{
    struct sigv4_header *all = NULL;
    struct sigv4_request full;
    struct buf creq, sh, sts, authz;
    char amz_date[17], date8[9], sig[65];
    const uint8_t *key = NULL;
    bool token;
    size_t n;
    enum haf_err e;

    buf_init(&creq, SIGV4_MAX_CANONICAL);
    buf_init(&sh, SIGV4_MAX_CANONICAL);
    buf_init(&sts, 4096);
    buf_init(&authz, SIGV4_MAX_CANONICAL);
    if (s == NULL || creds == NULL || req == NULL || out == NULL ||
        !is_access_key_id(creds->access_key_id) || creds->secret_access_key == NULL ||
        creds->secret_access_key[0] == '\0' || !is_scope_part(region) || !is_scope_part(service) ||
        req->n_headers > SIGV4_MAX_HEADERS || (req->n_headers > 0 && req->headers == NULL)) {
        e = HAF_EINVAL;
        goto out;
    }
    token = creds->session_token != NULL && creds->session_token[0] != '\0';
    n = req->n_headers;
    all = calloc(n + 2, sizeof(*all));
    if (all == NULL) {
        e = HAF_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (req->headers[i].name == NULL || is_reserved_header(req->headers[i].name)) {
            e = HAF_EINVAL;
            goto out;
        }
        all[i] = req->headers[i];
    }
    sigv4_amz_date(now, amz_date);
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';
    all[n++] = (struct sigv4_header){.name = "x-amz-date", .value = amz_date};
    if (token)
        all[n++] =
            (struct sigv4_header){.name = "x-amz-security-token", .value = creds->session_token};
    full = *req;
    full.headers = all;
    full.n_headers = n;
    if ((e = sigv4_canonical_request(&full, &creq, &sh)) != HAF_OK ||
        (e = sigv4_string_to_sign(amz_date, region, service, buf_span(&creq), &sts)) != HAF_OK ||
        (e = signer_key(s, creds->secret_access_key, date8, region, service, &key)) != HAF_OK ||
        (e = sigv4_signature(key, buf_span(&sts), sig)) != HAF_OK)
        goto out;
    e = buf_addf(&authz,
                 SIGV4_ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                                 "Signature=%s",
                 creds->access_key_id, date8, region, service, buf_cstr(&sh), sig);
    if (e != HAF_OK)
        goto out;
    memcpy(out->amz_date, amz_date, sizeof(amz_date));
    out->authorization = authz;
    buf_init(&authz, 0);
out:
    free(all);
    buf_wipe(&creq); /* the canonical request holds the session token */
    buf_clean_up(&sh);
    buf_clean_up(&sts);
    buf_wipe(&authz);
    return e;
}

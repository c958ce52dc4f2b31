/*
 * url.c: the URL grammar and the loopback rule of url.h.
 *
 * The parser walks the text once with an index that only moves forward over bytes it has
 * checked: scheme, "://", the authority up to the first '/', '?' or '#' (userinfo is what stands
 * before its last '@'), then the path. Every byte of the input lands in exactly one of those
 * parts and each part has its own allowed set, so a NUL, a control character, a space or a
 * non-ASCII byte anywhere is refused. IPv6 literals are checked with inet_pton(3), which is
 * locale-independent and accepts exactly the RFC 4291 text forms.
 *
 * The loopback rule is deliberately narrower than what resolvers accept: no names other than
 * "localhost", no shortened, hexadecimal or octal IPv4 forms whose meaning depends on the
 * resolver, and no IPv4-mapped IPv6. A host that is refused as loopback is not blocked: it is
 * only held to https.
 */
#include "haf/url.h"

#include <arpa/inet.h>
#include <string.h>

static bool
url_is_alnum(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool
url_is_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Printable ASCII other than space: what userinfo and path bytes may be. */
static bool
url_is_graphic(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f;
}

static unsigned char
url_lower(unsigned char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

/* An IPv6 literal (without brackets) in any RFC 4291 text form; *addr is its 16 bytes. */
static bool
url_ipv6_parse(struct span h, struct in6_addr *addr)
{
    char tmp[64];

    if (h.len == 0 || h.len >= sizeof(tmp))
        return false;
    for (size_t i = 0; i < h.len; i++) {
        unsigned char ch = (unsigned char)h.p[i];
        if (!(url_is_digit(ch) || (url_lower(ch) >= 'a' && url_lower(ch) <= 'f') || ch == ':' ||
              ch == '.'))
            return false;
    }
    memcpy(tmp, h.p, h.len);
    tmp[h.len] = '\0';
    return inet_pton(AF_INET6, tmp, addr) == 1;
}

/* The host part of an authority: [IPv6] or a registered name. *end is where it stopped. */
static enum haf_err
url_parse_host(struct span a, struct url *u, size_t *end, const char **why)
{
    struct in6_addr addr;
    size_t i = 0;

    if (a.len > 0 && a.p[0] == '[') {
        const char *rb = memchr(a.p, ']', a.len);
        if (rb == NULL) {
            *why = "unterminated [IPv6 address] in URL";
            return HAF_EPARSE;
        }
        u->host = span_make(a.p + 1, (size_t)(rb - a.p) - 1);
        u->ipv6 = true;
        if (!url_ipv6_parse(u->host, &addr)) {
            *why = "invalid IPv6 address in URL";
            return HAF_EPARSE;
        }
        *end = (size_t)(rb - a.p) + 1;
        return HAF_OK;
    }
    while (i < a.len && a.p[i] != ':') {
        unsigned char ch = (unsigned char)a.p[i];
        if (!(url_is_alnum(ch) || ch == '-' || ch == '.' || ch == '_')) {
            *why = "invalid character in URL host name";
            return HAF_EPARSE;
        }
        i++;
    }
    u->host = span_make(a.p, i);
    *end = i;
    return HAF_OK;
}

/* ":port" at a.p[*i], if any: 1..65535, at most five digits. */
static enum haf_err
url_parse_port(struct span a, size_t *i, struct url *u, const char **why)
{
    size_t start;
    uint64_t port;

    if (*i >= a.len || a.p[*i] != ':')
        return HAF_OK;
    start = ++*i;
    while (*i < a.len && url_is_digit((unsigned char)a.p[*i]))
        ++*i;
    if (*i - start > 5 || !span_to_u64_dec(span_make(a.p + start, *i - start), &port) ||
        port == 0 || port > 65535) {
        *why = "invalid port in URL (1..65535)";
        return HAF_EPARSE;
    }
    u->port = (uint16_t)port;
    return HAF_OK;
}

static enum haf_err
url_parse_authority(struct span a, struct url *u, const char **why)
{
    const char *at = NULL;
    size_t i = 0;
    enum haf_err e;

    for (size_t j = 0; j < a.len; j++)
        if (a.p[j] == '@')
            at = a.p + j;
    if (at != NULL) {
        u->has_userinfo = true;
        u->userinfo = span_make(a.p, (size_t)(at - a.p));
        for (size_t j = 0; j < u->userinfo.len; j++)
            if (!url_is_graphic((unsigned char)u->userinfo.p[j])) {
                *why = "invalid character in URL user information";
                return HAF_EPARSE;
            }
        a = span_make(at + 1, a.len - u->userinfo.len - 1);
    }
    e = url_parse_host(a, u, &i, why);
    if (e != HAF_OK)
        return e;
    if (u->host.len == 0 || u->host.len > URL_HOST_MAX_LEN) {
        *why = "URL has no valid host";
        return HAF_EPARSE;
    }
    e = url_parse_port(a, &i, u, why);
    if (e != HAF_OK)
        return e;
    if (i != a.len) {
        /* Junk after the port ("host:44a"): whatever it is, it is not part of an authority. */
        *why = "URL must not have a query or fragment";
        return HAF_EPARSE;
    }
    u->authority = a;
    return HAF_OK;
}

enum haf_err
url_parse(struct span s, struct url *out, const char **why)
{
    struct url u;
    const char *dummy;
    size_t i = 0, a_end;
    enum haf_err e;

    if (why == NULL)
        why = &dummy;
    memset(&u, 0, sizeof(u));
    if (s.len > URL_MAX_BYTES) {
        *why = "URL longer than 4096 bytes";
        return HAF_ETOOLONG;
    }
    while (i < s.len && i < URL_SCHEME_MAX_LEN && url_is_alnum((unsigned char)s.p[i])) {
        u.scheme[i] = (char)url_lower((unsigned char)s.p[i]);
        i++;
    }
    if (i == 0 || url_is_digit((unsigned char)s.p[0]) || s.len - i < 3 ||
        memcmp(s.p + i, "://", 3) != 0) {
        *why = URL_WHY_NOT_A_URL;
        return HAF_EPARSE;
    }
    i += 3;
    for (a_end = i; a_end < s.len; a_end++)
        if (s.p[a_end] == '/' || s.p[a_end] == '?' || s.p[a_end] == '#')
            break;
    e = url_parse_authority(span_make(s.p + i, a_end - i), &u, why);
    if (e != HAF_OK)
        return e;
    if (a_end < s.len && s.p[a_end] != '/') {
        *why = "URL must not have a query or fragment";
        return HAF_EPARSE;
    }
    u.path = span_make(s.p + a_end, s.len - a_end);
    for (size_t j = 0; j < u.path.len; j++) {
        unsigned char ch = (unsigned char)u.path.p[j];
        if (!url_is_graphic(ch) || ch == '?' || ch == '#') {
            *why = "URL path must not have a query, fragment, space, control character or "
                   "non-ASCII byte";
            return HAF_EPARSE;
        }
    }
    *out = u;
    return HAF_OK;
}

bool
url_scheme_is(const struct url *u, const char *scheme)
{
    return strcmp(u->scheme, scheme) == 0;
}

/* Four decimal octets of one to three digits each, 0..255, the first 127. */
static bool
url_ipv4_is_loopback(struct span h)
{
    unsigned octet[4];
    size_t i = 0;

    for (size_t k = 0; k < 4; k++) {
        unsigned v = 0;
        size_t digits = 0;
        if (k > 0) {
            if (i >= h.len || h.p[i] != '.')
                return false;
            i++;
        }
        while (i < h.len && url_is_digit((unsigned char)h.p[i]) && digits < 4) {
            v = v * 10 + (unsigned)(h.p[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255)
            return false;
        octet[k] = v;
    }
    return i == h.len && octet[0] == 127;
}

bool
url_host_is_loopback(const struct url *u)
{
    static const char localhost[] = "localhost";
    struct in6_addr addr;

    if (u->ipv6)
        return url_ipv6_parse(u->host, &addr) && memcmp(&addr, &in6addr_loopback, 16) == 0;
    if (u->host.len == sizeof(localhost) - 1) {
        bool eq = true;
        for (size_t i = 0; i < u->host.len; i++)
            eq = eq && url_lower((unsigned char)u->host.p[i]) == (unsigned char)localhost[i];
        if (eq)
            return true;
    }
    return url_ipv4_is_loopback(u->host);
}

enum haf_err
url_check_endpoint(const struct url *u, const char **why)
{
    const char *dummy;

    if (why == NULL)
        why = &dummy;
    if (!url_scheme_is(u, "https") && !url_scheme_is(u, "http")) {
        *why = "unsupported URL scheme (use https)";
        return HAF_ECONFIG;
    }
    if (u->has_userinfo) {
        *why = "user information in the URL is not supported";
        return HAF_ECONFIG;
    }
    if (url_scheme_is(u, "http") && !url_host_is_loopback(u)) {
        *why = "plain http:// is allowed only for loopback hosts (127.0.0.0/8, ::1, localhost); "
               "use https://";
        return HAF_ECONFIG;
    }
    return HAF_OK;
}

enum haf_err
url_redact(struct span s, struct buf *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = s.len > URL_MAX_BYTES ? URL_MAX_BYTES : s.len, a_start = 0, at = 0;
    bool cut = false;
    enum haf_err e = HAF_OK;

    /* The authority starts after the first "://" and ends at the first '/', '?' or '#'. */
    for (size_t i = 0; i + 2 < n; i++)
        if (s.p[i] == ':' && s.p[i + 1] == '/' && s.p[i + 2] == '/') {
            a_start = i + 3;
            break;
        }
    if (a_start > 0) {
        for (size_t i = a_start; i < s.len && s.p[i] != '/' && s.p[i] != '?' && s.p[i] != '#'; i++)
            if (s.p[i] == '@')
                at = i + 1;
    }
    for (size_t i = 0; i < n && e == HAF_OK; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (at > 0 && i == a_start) {
            e = buf_adds(out, "***@");
            i = at - 1;
            if (at > n)
                cut = true;
            continue;
        }
        if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
            e = buf_addc(out, (char)ch);
        } else {
            char esc[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
            e = buf_add(out, esc, sizeof(esc));
        }
    }
    if (e == HAF_OK && (s.len > n || cut))
        e = buf_adds(out, "...");
    return e;
}

enum haf_err
url_format(const struct url *u, struct buf *out)
{
    enum haf_err e = buf_addf(out, "%s://", u->scheme);

    if (e == HAF_OK)
        e = buf_add(out, u->authority.p, u->authority.len);
    if (e == HAF_OK)
        e = u->path.len ? buf_add(out, u->path.p, u->path.len) : buf_addc(out, '/');
    return e;
}

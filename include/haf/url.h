/*
 * url.h: the one URL parser and the one loopback rule.
 *
 * Every URL the daemon is given (the config's endpoint and proxy, AWS_ENDPOINT_URL_LOGS,
 * AWS_ENDPOINT_URL, the STS endpoint, the container credentials URLs) goes through url_parse,
 * and every "is this host loopback?" question through url_host_is_loopback, so the rules cannot
 * drift apart again (there were four parsers and three loopback tests that disagreed: one let
 * http://localhost.attacker.example/ through as "loopback").
 *
 * The grammar is the subset of RFC 3986 we need, strictly: scheme "://" [userinfo "@"] host
 * [":" port] [path]. The scheme is ASCII letters and digits, compared case-insensitively and
 * handed out lower case. The host is a registered name of A-Z a-z 0-9 - . _ or an [IPv6
 * literal]. A port is 1..65535. A path starts with '/' and holds printable ASCII without space,
 * '?' or '#': none of our endpoints has a query or fragment, so any is refused. Userinfo is
 * parsed only to be detected (callers refuse it; url_redact hides it). The module does no I/O,
 * never logs, and reports a failure as a static, value-free sentence: a URL may hold a secret,
 * so messages never echo it.
 */
#ifndef HAF_URL_H
#define HAF_URL_H

#include <stdbool.h>
#include <stdint.h>

#include "haf/buf.h"
#include "haf/err.h"
#include "haf/span.h"

#define URL_MAX_BYTES      4096
#define URL_SCHEME_MAX_LEN 15
#define URL_HOST_MAX_LEN   253

/* The sentence url_parse gives when the text has no "scheme://" at all (callers add what they
 * expected). */
#define URL_WHY_NOT_A_URL "not a URL"

/* A parsed URL. The spans borrow from the parsed text: they live as long as it does. */
struct url {
    char scheme[URL_SCHEME_MAX_LEN + 1]; /* lower case */
    bool has_userinfo;
    struct span userinfo;  /* "user:password" without the '@'; empty when none */
    struct span host;      /* without the brackets of an IPv6 literal */
    bool ipv6;             /* the host was a [bracketed] literal */
    struct span authority; /* host[:port] as written, without userinfo: the Host header */
    uint16_t port;         /* 0 when none was given */
    struct span path;      /* from the first '/' after the authority; empty when none */
};

/*
 * Parses s. On success fills *out and returns HAF_OK. Otherwise returns HAF_EPARSE (HAF_ETOOLONG
 * past URL_MAX_BYTES) and, when why is not NULL, points *why at a static sentence saying what is
 * wrong ("invalid port in URL (1..65535)"), never quoting the URL. *out is written only on
 * success.
 */
HAF_MUST_USE enum haf_err url_parse(struct span s, struct url *out, const char **why);

/* Whether the scheme is exactly `scheme` (lower case). */
bool url_scheme_is(const struct url *u, const char *scheme);

/*
 * The loopback rule, exactly: an IPv4 dotted quad of four decimal octets (0..255, at most three
 * digits each) in 127.0.0.0/8, the IPv6 literal ::1 (any spelling of it), or the name
 * "localhost" in any case. Nothing else: not localhost.example, not 127.0.0.1.nip.io, not
 * 0x7f.0.0.1, not a bare 2130706433.
 */
bool url_host_is_loopback(const struct url *u);

/*
 * The rule for a service endpoint (CloudWatch Logs, STS): http or https, no userinfo, and
 * plain http only for a loopback host. Returns HAF_OK or HAF_ECONFIG with *why (when not NULL)
 * at a static sentence. The URL must have been parsed by url_parse.
 */
HAF_MUST_USE enum haf_err url_check_endpoint(const struct url *u, const char **why);

/*
 * Appends to out a rendering of the (untrusted, possibly malformed) text s that is safe to log:
 * any "userinfo@" of the authority is replaced by "***@", bytes outside printable ASCII become
 * \xNN, and the result is cut at URL_MAX_BYTES with "...". Works on any bytes, parsed or not.
 */
HAF_MUST_USE enum haf_err url_redact(struct span s, struct buf *out);

/*
 * Appends the URL in canonical form: lower-case scheme, "://", authority as written, path (or
 * "/" when none). Userinfo is never written.
 */
HAF_MUST_USE enum haf_err url_format(const struct url *u, struct buf *out);

#endif

/*
 * fuzz_url.c: url_parse, url_check_endpoint, url_host_is_loopback and url_redact on arbitrary
 * bytes. Must never crash or read out of bounds, and must keep these invariants: a parsed URL's
 * spans lie inside the input; its canonical form parses again to the same parts; a loopback host
 * is never reached by a name that merely starts with "localhost" or "127."; and the redacted
 * rendering never contains the userinfo of a URL that had one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haf/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_inside(struct span part, const char *p, size_t size)
{
    if (part.len > 0 && (part.p < p || part.p + part.len > p + size))
        abort();
}

/* The redaction of a URL with userinfo is the redaction of the same URL without it, with "***@"
 * where the userinfo stood: so no byte of the userinfo survives. */
static void
check_redacted(const char *p, const struct url *u, const struct buf *out)
{
    size_t prefix = (size_t)(u->userinfo.p - p);
    struct buf bare, want;

    buf_init(&bare, 0);
    buf_init(&want, 0);
    if (buf_add(&bare, p, prefix) != HAF_OK ||
        buf_add(&bare, u->authority.p, u->authority.len) != HAF_OK ||
        buf_add(&bare, u->path.p, u->path.len) != HAF_OK ||
        url_redact(buf_span(&bare), &want) != HAF_OK)
        abort();
    if (out->len != want.len + 4 || memcmp(out->p, want.p, prefix) != 0 ||
        memcmp(out->p + prefix, "***@", 4) != 0 ||
        memcmp(out->p + prefix + 4, want.p + prefix, want.len - prefix) != 0)
        abort();
    buf_clean_up(&bare);
    buf_clean_up(&want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *why = NULL;
    struct url u, again;
    struct buf out, canon;

    buf_init(&out, 0);
    buf_init(&canon, 0);
    if (url_redact(span_make(p, size), &out) != HAF_OK)
        abort();
    if (url_parse(span_make(p, size), &u, &why) == HAF_OK) {
        check_inside(u.host, p, size);
        check_inside(u.userinfo, p, size);
        check_inside(u.authority, p, size);
        check_inside(u.path, p, size);
        if (u.host.len == 0)
            abort();
        if (url_host_is_loopback(&u) && !u.ipv6 && u.host.len > 9 &&
            (u.host.p[0] == 'l' || u.host.p[0] == 'L'))
            abort(); /* "localhost" is exactly nine letters */
        if (u.has_userinfo)
            check_redacted(p, &u, &out);
        if (url_check_endpoint(&u, &why) == HAF_OK && url_scheme_is(&u, "http") &&
            !url_host_is_loopback(&u))
            abort();
        if (url_format(&u, &canon) != HAF_OK)
            abort();
        if (url_parse(buf_span(&canon), &again, &why) != HAF_OK ||
            strcmp(again.scheme, u.scheme) != 0 || !span_eq(again.host, u.host) ||
            again.port != u.port || again.ipv6 != u.ipv6 || again.has_userinfo ||
            url_host_is_loopback(&again) != url_host_is_loopback(&u))
            abort();
    } else if (why == NULL) {
        abort();
    }
    buf_clean_up(&out);
    buf_clean_up(&canon);
    return 0;
}
